#!/usr/bin/python3
"""twamp-ping as users expect of ping (issue 19): -w, -I/--source, -t, -D, --summary-every,
--poisson, run against the real dpdk-twamp in the namespace lab.

    tests/integration/ping_tests.py --binary build/src/app/dpdk-twamp \\
        --ping build/src/sender/twamp-ping --source-root . [--case NAME]... [--list]

The lab, the harness and its conventions are lab_tests.py's (imported): GoogleTest-style lines
and report, every case SKIPPED when not root, the lab always removed. twamp-ping runs in the
sender namespace against the shared dpdk-twamp (lab.conf.in's reflectors); what a case checks
comes from the wire (tshark in the sender namespace), from the box's answers (the reply's
Sender TTL is the TTL the box received) and from twamp-ping's own output. Every run is bounded
by -c or -w, and waited for as a process end. Addresses only from 198.18.0.0/15 and 2001:2::/48.
"""
import json
import os
import re
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab_tests as L  # noqa: E402  (the shared harness, beside this file)
from lab_tests import B4, S4, V4B, Failure, check, eq  # noqa: E402

LIGHT, DENYALL, STAMP = L.LIGHT, L.DENYALL, L.STAMP
VLAN_STAMP = 862  # lab.conf.in's vlan100 reflector (STAMP) on 198.19.0.2
EXTRA_SRC = "198.18.0.3"  # a second sender address the source cases add

CASES = []


def case(fn):
    CASES.append((fn.__name__, fn))
    return fn


def ping_text(lab, target, *opts, timeout=60):
    """twamp-ping OPTS TARGET (text output) to its end: (exit status, stdout, stderr)."""
    check(os.access(lab.ping, os.X_OK), f"no twamp-ping at {lab.ping}")
    p = L.run([lab.ping] + [str(o) for o in opts] + [target], timeout=timeout, check_rc=False)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def ping_json(lab, target, *opts, timeout=60):
    """twamp-ping --json: (exit status, every object in order, stderr)."""
    rc, out, err = ping_text(lab, target, "--json", *opts, timeout=timeout)
    objs = []
    for ln in out.splitlines():
        try:
            objs.append(json.loads(ln))
        except ValueError:
            raise Failure(f"twamp-ping --json printed a line that is not JSON: {ln!r}") from None
    return rc, objs, err


class Capture(L.ControlCapture):
    """tshark on the sender's interface, UDP to `port` (and the probe port), printing `fields`
    after udp.dstport: lab_tests' ControlCapture (entering waits until tshark shows a probe
    datagram, so the capture really runs; leaving stops it) with another filter."""

    def __init__(self, lab, port, fields, probe_port=9, bpf=None):
        self.probe_port = probe_port
        self.fields = ["udp.dstport"] + list(fields)
        flt = bpf or f"udp dst port {port}"
        self.cmd = ["tshark", "-l", "-n", "-i", lab.siface, "-f",
                    f"({flt}) or udp dst port {probe_port}", "-T", "fields"]
        for f in self.fields:
            self.cmd += ["-e", f]
        self.all_rows, self.errs = [], []

    def rows(self, n):
        """The first n rows of the test port (waits for them: tshark prints as it decodes)."""
        self.wait(f"tshark to show {n} test packets",
                  lambda: len([r for r in self.all_rows if r[0] != str(self.probe_port)]) >= n,
                  60)
        return [r[1:] for r in self.all_rows if r[0] != str(self.probe_port)][:n]


@case
def ping_deadline_no_reflector(lab):
    """-w 1.5 against a reflector that answers nothing (denyall's prefixes): the run ends at
    the deadline, exit status 1, every packet lost and said to be awaited at the deadline, and
    the JSON summary has null (never 0) for every figure that needs a reply."""
    lab.running()
    t0 = time.monotonic()
    rc, objs, err = ping_json(lab, f"{B4}:{DENYALL}", "-w", 1.5, "-i", 0.2)
    took = time.monotonic() - t0
    eq(rc, 1, f"exit status (no reply): {err}")
    summ = objs[-1]
    eq(summ["type"], "summary", "last object")
    check(summ["sent"] >= 5, f"sent {summ['sent']} in 1.5 s at 0.2 s intervals")
    eq((summ["received"], summ["lost"], summ["loss_pct"]), (0, summ["sent"], 100.0),
       "received, lost, loss_pct")
    eq(summ["deadline_reached"], True, "deadline_reached")
    # -W is 2 s > -w: every packet was still awaited when the deadline came.
    eq(summ["deadline_lost"], summ["sent"], "deadline_lost")
    lost = [o for o in objs if o["type"] == "lost"]
    eq(len(lost), summ["sent"], "lost objects")
    check(all(o.get("at_deadline") is True for o in lost), f"lost objects: {lost}")
    for k in ("rtt_ns", "residence_ns", "forward_ns", "backward_ns", "jitter_forward_ns",
              "jitter_backward_ns", "lost_forward", "lost_backward"):
        check(summ[k] is None, f"summary {k} = {summ[k]!r}, want null")
    for k in ("rtt", "forward", "backward"):
        check(summ["pdv_ns"][k] is None and summ["ipdv_ns"][k] is None,
              f"pdv/ipdv {k}: {summ['pdv_ns']}, {summ['ipdv_ns']}")
    # It stopped at the deadline, not after -W more (1.5 + 2 s).
    check(1.5 <= summ["duration_ns"] / 1e9 < 3.0 and took < 10,
          f"duration {summ['duration_ns'] / 1e9:.3f} s (process {took:.1f} s)")
    # Text: the lost lines and the summary say why.
    rc, out, _ = ping_text(lab, f"{B4}:{DENYALL}", "-w", 0.5, "-i", 0.2)
    eq(rc, 1, "text run exit status")
    check(re.search(r"no reply for seq=0 by the -w deadline \(0.5 s\), counted as lost", out)
          and re.search(r"-w deadline 0.5 s reached: \d+ replies still awaited, counted as lost",
                        out), f"text output:\n{out}")


@case
def ping_deadline_with_count(lab):
    """-c 5 -w 30 against the light reflector: as ping, it stops once 5 replies came back
    (long before the deadline), exit status 0."""
    lab.running()
    rc, objs, err = ping_json(lab, B4, "-c", 5, "-w", 30, "-i", 0.05, "--src-port", lab.port())
    eq(rc, 0, f"exit status: {err}")
    summ = objs[-1]
    check(summ["received"] >= 5, f"received {summ['received']}")
    eq(summ["deadline_reached"], False, "deadline_reached")
    check(summ["duration_ns"] < 20e9, f"duration {summ['duration_ns']}")


@case
def ping_source_address(lab):
    """--source 198.18.0.3 (an address added to the sender's interface): the box answers that
    address (a connected socket bound to it gets the replies), and tshark on the wire shows it
    as every request's source; -I 198.18.0.3 does the same."""
    lab.running()
    L.run(["ip", "addr", "add", f"{EXTRA_SRC}/24", "dev", lab.siface])
    try:
        for opt in ("--source", "-I"):
            port = lab.port()
            with Capture(lab, LIGHT, ["ip.src", "udp.srcport"]) as cap:
                rc, objs, err = ping_json(lab, B4, opt, EXTRA_SRC, "-c", 3, "-i", 0.05,
                                          "--src-port", port)
                eq(rc, 0, f"{opt}: exit status: {err}")
                eq(objs[-1]["received"], 3, f"{opt}: replies")
                rows = cap.rows(3)
            eq(rows, [[EXTRA_SRC, str(port)]] * 3, f"{opt}: source of the requests on the wire")
    finally:
        L.run(["ip", "addr", "del", f"{EXTRA_SRC}/24", "dev", lab.siface], check_rc=False)


@case
def ping_source_unconnected(lab):
    """--source 198.18.0.3 with a TLV that leaves the test socket unconnected (return-path=
    that address, dna= the box's): the requests on the wire still come from 198.18.0.3 and its
    port, the header names it as the source, and the box's replies (to the Return Address) all
    come back."""
    lab.running()
    L.run(["ip", "addr", "add", f"{EXTRA_SRC}/24", "dev", lab.siface])
    try:
        for tlv in (f"return-path={EXTRA_SRC}", f"dna={B4}"):
            port = lab.port()
            with Capture(lab, STAMP, ["ip.src", "udp.srcport"]) as cap:
                rc, out, err = ping_text(lab, f"{B4}:{STAMP}", "--mode", "stamp", "--source",
                                         EXTRA_SRC, "--tlv", tlv, "-c", 3, "-i", 0.05,
                                         "--src-port", port)
                rows = cap.rows(3)
            eq(rows, [[EXTRA_SRC, str(port)]] * 3, f"{tlv}: source of the requests on the wire")
            check(f"from {EXTRA_SRC}:{port}:" in out.splitlines()[0],
                  f"{tlv}: header {out.splitlines()[0]!r}")
            eq(rc, 0, f"{tlv}: exit status: {err}")
            check(re.search(r"^3 sent, 3 received, 0(\.0+)?% loss", out, re.M),
                  f"{tlv}: summary:\n{out}")
        # Without --src-port (the kernel's port, released on disconnect and bound again).
        with Capture(lab, STAMP, ["ip.src"]) as cap:
            rc, out, err = ping_text(lab, f"{B4}:{STAMP}", "--mode", "stamp", "-I", EXTRA_SRC,
                                     "--tlv", f"return-path={EXTRA_SRC}", "-c", 2, "-i", 0.05)
            rows = cap.rows(2)
        eq(rows, [[EXTRA_SRC]] * 2, "-I ADDR, any port: source of the requests on the wire")
        eq(rc, 0, f"-I ADDR, any port: exit status: {err}")
    finally:
        L.run(["ip", "addr", "del", f"{EXTRA_SRC}/24", "dev", lab.siface], check_rc=False)


@case
def ping_no_reply_deadline(lab):
    """--tlv return-path=no-reply with -c 3 -w 30: -c counts packets sent (no replies to
    count), so 3 go and the run ends after -W, exit status 0, none lost; -w alone: the deadline
    line says the replies were not requested, never "still awaited, counted as lost"."""
    lab.running()
    rc, objs, err = ping_json(lab, f"{B4}:{STAMP}", "--mode", "stamp", "--tlv",
                              "return-path=no-reply", "-c", 3, "-w", 30, "-i", 0.05, "-W", 0.3)
    eq(rc, 0, f"-c 3 -w 30: exit status: {err}")
    summ = objs[-1]
    eq((summ["sent"], summ["received"], summ["lost"], summ["not_requested"]), (3, 0, 0, 3),
       "-c 3 -w 30: sent, received, lost, not_requested")
    eq((summ["deadline_reached"], summ["deadline_lost"]), (False, 0), "-c 3 -w 30: deadline")
    check(summ["duration_ns"] < 10e9, f"-c 3 -w 30: duration {summ['duration_ns']}")
    rc, out, err = ping_text(lab, f"{B4}:{STAMP}", "--mode", "stamp", "--tlv",
                             "return-path=no-reply", "-w", 0.5, "-i", 0.1)
    eq(rc, 0, f"-w 0.5: exit status: {err}")
    check(re.search(r"^-w deadline 0.5 s reached: replies not requested", out, re.M)
          and "still awaited" not in out and ", counted as lost" not in out,
          f"-w 0.5: text output:\n{out}")
    rc, objs, err = ping_json(lab, f"{B4}:{STAMP}", "--mode", "stamp", "--tlv",
                              "return-path=no-reply", "-w", 0.5, "-i", 0.1)
    eq(rc, 0, f"-w 0.5 --json: exit status: {err}")
    summ = objs[-1]
    eq((summ["deadline_reached"], summ["deadline_lost"], summ["lost"]), (True, 0, 0),
       "-w 0.5 --json: deadline_reached, deadline_lost, lost")
    check(summ["not_requested"] == summ["sent"] > 0, f"-w 0.5 --json: {summ}")


def tx_packets(ifname):
    info = json.loads(L.run(["ip", "-j", "-s", "link", "show", "dev", ifname]).stdout)
    return info[0]["stats64"]["tx"]["packets"]


@case
def ping_interface(lab):
    """-I IFACE binds the socket to the interface (SO_BINDTODEVICE): -I the lab interface gets
    every reply; -I a second interface (a veth pair of the case's own, no route to the box)
    sends out of that one instead (Linux takes the destination as on-link there: its transmit
    counter moves with the ARP requests for 198.18.0.2) and gets no reply, exit status 1, while
    the same run unbound would have been answered."""
    lab.running()
    rc, objs, err = ping_json(lab, B4, "-I", lab.siface, "-c", 3, "-i", 0.05, "--src-port",
                              lab.port())
    eq(rc, 0, f"-I {lab.siface}: exit status: {err}")
    eq(objs[-1]["received"], 3, f"-I {lab.siface}: replies")
    x0, x1 = lab.name + "x0", lab.name + "x1"
    L.run(["ip", "link", "add", x0, "type", "veth", "peer", "name", x1])
    try:
        L.run(["ip", "addr", "add", "198.18.7.1/24", "dev", x0])
        L.run(["ip", "link", "set", x0, "up"])
        L.run(["ip", "link", "set", x1, "up"])
        before = tx_packets(x0)
        rc, objs, err = ping_json(lab, B4, "-I", x0, "-c", 3, "-i", 0.05, "-W", 0.5)
        eq(rc, 1, f"-I {x0}: exit status (no reply): {err}")
        eq(objs[-1]["received"], 0, f"-I {x0}: replies")
        check(tx_packets(x0) > before, f"-I {x0}: nothing left through {x0}")
    finally:
        L.run(["ip", "link", "del", x0], check_rc=False)


@case
def ping_ttl(lab):
    """-t 7 / --ttl 200: the TTL of the requests on the wire (tshark) and the Sender TTL the
    box reports it received; IPv6 -t sets the Hop Limit; the default stays 255."""
    lab.running()
    for opts, want in ((["-t", 7], 7), (["--ttl", 200], 200), ([], 255)):
        with Capture(lab, LIGHT, ["ip.ttl"]) as cap:
            rc, objs, err = ping_json(lab, B4, *opts, "-c", 3, "-i", 0.05, "--src-port",
                                      lab.port())
            eq(rc, 0, f"{opts}: exit status: {err}")
            rows = cap.rows(3)
        eq(rows, [[str(want)]] * 3, f"{opts}: IPv4 TTL on the wire")
        replies = [o for o in objs if o["type"] == "reply"]
        eq([r["sender_ttl"] for r in replies], [want] * 3, f"{opts}: Sender TTL the box saw")
    with Capture(lab, LIGHT, ["ipv6.hlim"]) as cap:
        rc, objs, err = ping_json(lab, f"[{L.B6}]:{LIGHT}", "-t", 9, "-c", 2, "-i", 0.05)
        eq(rc, 0, f"IPv6 -t 9: {err}")
        rows = cap.rows(2)
    eq(rows, [["9"]] * 2, "IPv6 Hop Limit on the wire")
    eq([o["sender_ttl"] for o in objs if o["type"] == "reply"], [9, 9], "IPv6 Sender TTL")


@case
def ping_family(lab):
    """-4 / -6 force the family HOST resolves to: -4 with the box's IPv4 address works, -6
    with it finds no IPv6 address (exit status 2, said so), as getaddrinfo with AF_INET6."""
    lab.running()
    rc, objs, err = ping_json(lab, B4, "-4", "-c", 1)
    eq(rc, 0, f"-4 {B4}: {err}")
    rc, out, err = ping_text(lab, B4, "-6", "-c", 1)
    eq(rc, 2, f"-6 {B4}: exit status")
    check("cannot resolve" in err and "IPv6" in err, f"-6 {B4}: {err!r}")


@case
def ping_timestamps(lab):
    """-D: every reply line starts with [SECONDS.MICROSECONDS], the Unix time it was printed
    (between the run's start and end), as ping -D; the header and summary lines do not."""
    lab.running()
    t0 = time.time()
    rc, out, err = ping_text(lab, B4, "-D", "-c", 5, "-i", 0.05, "--src-port", lab.port())
    t1 = time.time()
    eq(rc, 0, f"exit status: {err}")
    lines = [ln for ln in out.splitlines() if "octets from" in ln]
    eq(len(lines), 5, f"reply lines:\n{out}")
    for ln in lines:
        m = re.match(r"\[(\d+)\.(\d{6})\] 41 octets from 198\.18\.0\.2:862: seq=\d+ ", ln)
        check(m is not None, f"line without a -D prefix: {ln!r}")
        t = int(m[1]) + int(m[2]) / 1e6
        check(t0 - 0.01 <= t <= t1 + 0.01, f"-D time {t} outside the run [{t0}, {t1}]")
    check(out.startswith("twamp-ping "), f"header: {out.splitlines()[0]!r}")


@case
def ping_summary_every(lab):
    """--summary-every 0.3 over a 1.5 s run: periodic objects (--json) before the summary,
    cumulative (sent never decreasing), with "outstanding", the summary's keys and the same
    figures' types; text: "[N s] ..." lines."""
    lab.running()
    rc, objs, err = ping_json(lab, B4, "-c", 30, "-i", 0.05, "--summary-every", 0.3,
                              "--src-port", lab.port())
    eq(rc, 0, f"exit status: {err}")
    per = [o for o in objs if o["type"] == "periodic"]
    check(len(per) >= 3, f"{len(per)} periodic objects in 1.5 s at 0.3 s")
    check(objs[-1]["type"] == "summary" and all(o["type"] != "summary" for o in objs[:-1]),
          "one summary, last")
    sents = [o["sent"] for o in per]
    eq(sents, sorted(sents), "periodic sent is cumulative")
    for o in per:
        eq(o["received"] + o["lost"] + o["outstanding"], o["sent"],
           f"periodic: received + lost + outstanding = sent ({o})")
        check(o["rtt_ns"] is None or o["rtt_ns"]["p99_9"] >= o["rtt_ns"]["min"], f"{o}")
    keys = set(objs[-1]) - {"deadline_reached", "deadline_lost"}
    check(keys <= set(per[-1]), f"periodic lacks {keys - set(per[-1])}")
    rc, out, err = ping_text(lab, B4, "-c", 12, "-i", 0.05, "--summary-every", 0.2, "-q",
                             "--src-port", lab.port())
    eq(rc, 0, f"text: {err}")
    lines = re.findall(r"^\[\d+\.\d s\] \d+ sent, \d+ received, \d+ lost.*$", out, re.M)
    check(len(lines) >= 2, f"text periodic lines:\n{out}")


@case
def ping_poisson(lab):
    """--poisson --seed 7 at 100 packets/s: all answered; the gaps between the requests' T1
    vary as an exponential's do (many under half the mean, where the fixed schedule keeps its
    10 ms median), and the summary names the seed (the unit tests check that a seed repeats)."""
    lab.running()

    def gaps(opts):
        rc, objs, err = ping_json(lab, B4, "-c", 60, "--rate", 100, *opts, "--src-port",
                                  lab.port())
        eq(rc, 0, f"{opts}: exit status: {err}")
        t1 = sorted(o["t1_ns"] for o in objs if o["type"] == "reply")
        eq(len(t1), 60, f"{opts}: replies")
        return [(b - a) / 1e9 for a, b in zip(t1, t1[1:])], objs[-1]

    g, summ = gaps(["--poisson", "--seed", 7])
    eq(summ["poisson_seed"], "7", "poisson_seed")
    # Rank-based, so a stall of this (maybe busy) machine cannot decide it: an exponential gap
    # is below half its mean 39 % of the time (1 - e^-0.5); the fixed schedule's only when it
    # catches up after a stall. Its median gap stays the interval (10 ms) either way.
    mean = statistics.mean(g)
    short = sum(1 for x in g if x < mean / 2) / len(g)
    check(short > 0.2, f"--poisson: {short:.0%} of the gaps under half the mean (want ~39 %)")
    check(0.004 < mean < 0.02, f"--poisson: mean gap {mean:.4f} s")
    fixed, _ = gaps([])
    med = statistics.median(fixed)
    check(0.007 < med < 0.013, f"fixed schedule: median gap {med * 1e3:.1f} ms (want 10)")


@case
def ping_twamp_source(lab):
    """--mode twamp --source 198.18.0.3: the TWAMP-Control connection (its SYN on the wire)
    and the test packets both come from that address, the session the box accepted names it as
    the sender, and every reply comes back. (Last: it runs a box of its own, with the
    TWAMP-Control server of control_tests.py's config, and stops it.)"""
    import control_tests as C
    C.start(lab)
    L.run(["ip", "addr", "add", f"{EXTRA_SRC}/24", "dev", lab.siface])
    try:
        bpf = "(tcp dst port 862 and tcp[tcpflags] & tcp-syn != 0) or udp dst portrange 64400-64403"
        with Capture(lab, None, ["ip.src", "tcp.dstport"], bpf=bpf) as cap:
            rc, objs, err = ping_json(lab, B4, "--mode", "twamp", "--source", EXTRA_SRC,
                                      "-c", 3, "-i", 0.05, "--session-timeout", 0)
            eq(rc, 0, f"exit status: {err}")
            rows = cap.rows(4)
        sess = [o for o in objs if o["type"] == "session"]
        eq(len(sess), 1, "sessions")
        check(sess[0]["sender"].startswith(EXTRA_SRC + ":"), f"session sender {sess[0]}")
        eq(objs[-1]["received"], 3, "replies")
        eq(rows[0], [EXTRA_SRC, "862"], "the TWAMP-Control SYN's source")
        eq([r[0] for r in rows[1:]], [EXTRA_SRC] * 3, "the test packets' source")
    finally:
        L.run(["ip", "addr", "del", f"{EXTRA_SRC}/24", "dev", lab.siface], check_rc=False)
    lab.release()


if __name__ == "__main__":
    sys.exit(L.main(CASES, suite="ping", doc=__doc__))
