#!/usr/bin/python3
"""Integration tests of faults (issue 18 item 4) on the real dpdk-twamp in the namespace lab:
the TAP interface deleted, the wire interface down and up, the whole process stalled (SIGSTOP
for seconds, then SIGCONT), the config file gone before a SIGHUP. The workers keep reflecting
what they can, every loss is counted under a reason, and the box recovers by itself (the TAP
down/up case is control_tests.py's control_tap_down_up). Where it cannot (the wire interface
deleted, too little memory at start-up) it says so and exits with the status README documents.

    tests/integration/fault_tests.py --binary build/src/app/dpdk-twamp --source-root .
        [--case NAME]... [--keep] [--list] [--gtest_output=json:PATH|xml:PATH]

The lab, the harness and the config are lab_tests.py's and ops_tests.py's (imported): every
case starts a dpdk-twamp of its own, so every counter it reads is the case's own traffic.
Tests wait for events (log lines, counters reaching values), never for wall-clock budgets.
Addresses only from 198.18.0.0/15 and 2001:2::/48.
"""
import json
import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab_tests as L  # noqa: E402
import ops_tests as O  # noqa: E402
from lab_tests import B4, Peer, check, eq, wait_for  # noqa: E402

MISSED = "twamp_reflector_port_rx_missed_packets_total"
SO_RCVBUFFORCE = 33

CASES = []


def case(fn):
    CASES.append((fn.__name__, fn))
    return fn


def accounted(m):
    """rx == reflected + dropped + to-kernel in one scrape (nothing in flight)."""
    rx = m.val("twamp_reflector_rx_frames_total")
    refl = m.val("twamp_reflector_reflected_pkt")
    drops = sum(v for _, v in m.find("twamp_reflector_dropped_packets_total"))
    to_kernel = m.val("twamp_reflector_exception_packets_total", direction="to_kernel")
    return rx, refl, drops, to_kernel


def settled(lab, what, cond=lambda m: True, timeout=60):
    """The first scrape in which every received frame is accounted for and `cond` holds."""
    got = [None]

    def ok():
        m = O.scrape(lab)
        rx, refl, drops, to_kernel = accounted(m)
        if rx == refl + drops + to_kernel and cond(m):
            got[0] = m
            return True
        return False
    wait_for(what, ok, timeout, step=0.2)
    return got[0]


def drops_by_reason(m):
    return {lb["reason"]: v for lb, v in m.find("twamp_reflector_dropped_packets_total")}


def exchange_seq(p, dport, seq, what, timeout=10.0):
    data, *_ = p.exchange(L.twamp_request(seq), dport, what, timeout=timeout)
    return L.parse_reply(data)


def start_pinned(lab):
    """A dpdk-twamp of the case's own, its MAC pinned in the sender's neighbour table (the
    sender knows the box's MAC: no ARP through the TAP needed)."""
    d = O.start(lab)
    L.run(["ip", "neigh", "replace", B4, "lladdr", d.mac, "dev", lab.siface, "nud",
           "permanent"])
    return d


def reflect_first(p, n=3):
    """Requests 0..n-1 to ALPHA from `p`, each answered in order in one session."""
    for i in range(n):
        eq(exchange_seq(p, O.ALPHA, i, f"before #{i}").seq, i, f"reflector seq {i}")


@case
def fault_tap_deleted(lab):
    """The TAP deleted under the box: it says so (logged as an error), test packets are still
    reflected (the dataplane needs no TAP: the sender knows the box's MAC), and from then on
    every frame for the kernel is counted exception_iface_down and nothing reaches the kernel:
    exactly the received frames that were not reflected, no other reason. The box still exits
    cleanly with every mbuf back."""
    d = start_pinned(lab)
    with Peer(False, lab.port()) as p:
        reflect_first(p)
        before = settled(lab, "counters settled before the deletion")
        L.run(["ip", "netns", "exec", lab.rns, "ip", "link", "del", "dev", lab.tap])
        wait_for("deleted TAP logged\n" + d.tail(),
                 lambda: re.search(rf"^TWAMP: exception interface {lab.tap} deleted: .*until "
                                   r"dpdk-twamp is restarted", d.log(), re.M), 30)
        base = settled(lab, "counters settled after the deletion")
        n_echo = 10
        for i in range(n_echo):
            check(not L.icmp_echo(B4, False, 100 + i, timeout=0.05),
                  "an echo reply came back from a box without its TAP")
        for i in range(3, 13):
            eq(exchange_seq(p, O.ALPHA, i, f"after #{i}").seq, i,
               f"reflector seq {i} after the deletion")

        def down_counted(m):
            return (drops_by_reason(m)["exception_iface_down"] -
                    drops_by_reason(base)["exception_iface_down"] >= n_echo)
        after = settled(lab, "the echoes counted exception_iface_down", down_counted)
    rx0, refl0, _, tk0 = accounted(base)
    rx1, refl1, _, tk1 = accounted(after)
    db, da = drops_by_reason(base), drops_by_reason(after)
    moved = {k: da[k] - db[k] for k in da if da[k] != db[k]}
    eq(refl1 - refl0, 10, "reflected after the deletion")
    eq(tk1 - tk0, 0, "frames delivered to the deleted TAP")
    eq(list(moved), ["exception_iface_down"], "drop reasons that moved after the deletion")
    eq(moved["exception_iface_down"], rx1 - rx0 - (refl1 - refl0),
       "exception_iface_down vs received and not reflected since the deletion")
    check(accounted(before)[3] > 0, "nothing reached the kernel before the deletion")
    s = lab.release()
    eq(s["rx"], s["reflected"] + s["dropped"] + s["to_kernel"],
       "exit summary: rx vs reflected + dropped + to-kernel")
    check(s["drops"].get("exception_iface_down", 0) >= n_echo,
          f"exit summary drops {s['drops']}: exception_iface_down below {n_echo}")


@case
def fault_wire_down_up(lab):
    """The wire interface (the veth end dpdk-twamp's af_packet port uses) goes down and comes
    back: nothing to restart, reflection resumes by itself in the same sessions (reflector
    sequence numbers go on; a gap is a reply the port's still-full transmit ring refused,
    counted tx_full one for one), ARP and ICMP through the TAP too, and a
    new twamp-ping run is answered in full. The box's kernel sends 600 frames while the wire
    is down (more than the port's transmit ring holds): no worker hangs, and every frame the
    kernel sent (the TAP's TX count) is sent or counted as a from-kernel drop (tx_full)."""
    # The sender knows the box's MAC: its requests go out the moment the carrier is back.
    d = start_pinned(lab)
    wire = lab.name + "r0"

    def ns(*cmd):
        return L.run(["ip", "netns", "exec", lab.rns] + list(cmd)).stdout.decode()

    def carrier(up):
        out = L.run(["ip", "link", "show", "dev", lab.siface]).stdout.decode()
        return ("NO-CARRIER" not in out) == up

    with Peer(False, lab.port()) as p:
        reflect_first(p)
        ns("ip", "link", "set", "dev", wire, "down")
        wait_for("the sender's veth end without carrier", lambda: carrier(False), 20)
        # The box's kernel keeps sending while the wire is down: more frames than the port's
        # transmit ring holds (af_packet: 512), each to go out through a worker.
        ns("ip", "neigh", "replace", L.S4, "lladdr", lab.smac, "dev", lab.tap, "nud",
           "permanent")
        p_ = L.run(["ip", "netns", "exec", lab.rns, "ping", "-q", "-i", "0", "-c", "600", "-W",
                    "1", L.S4], check_rc=False, timeout=120)  # no answer: the wire is down
        check("600 packets transmitted" in p_.stdout.decode(),
              f"ping from the box's kernel: {p_.stdout.decode()} {p_.stderr.decode()}")
        ns("ip", "link", "set", "dev", wire, "up")
        wait_for("the sender's veth end with carrier again", lambda: carrier(True), 20)
        # The first request may meet the kernel's neighbour state still settling: retried
        # until answered; every answer counts in the session.
        got = []
        tries = [0]
        base = settled(lab, "counters settled before the retries")

        def answered():
            p.send(L.twamp_request(3), O.ALPHA)
            tries[0] += 1
            r = p.recv(0.5)
            if r is not None:
                got.append(L.parse_reply(r[0]))
            return bool(got)
        wait_for("a reply after the wire came back\n" + d.tail(), answered, 60, step=0)

        # Every retry is accounted for by the box: reflected, refused by the port's still-full
        # transmit ring (tx_full) or lost by the port (rx_missed). Then as many replies as it
        # reflected are collected, however late they come (the wait bounds a failure only).
        def delta(m, name, **lb):
            return m.val(name, **lb) - base.val(name, **lb)

        def tx_full(m):
            return drops_by_reason(m)["tx_full"] - drops_by_reason(base)["tx_full"]

        def retries_counted(m):
            return (delta(m, "twamp_reflector_reflected_pkt") + tx_full(m) +
                    delta(m, MISSED, port="wire0")) == tries[0]
        m = settled(lab, "every retry reflected or counted", retries_counted)
        reflected, refused = delta(m, "twamp_reflector_reflected_pkt"), tx_full(m)
        while len(got) < reflected and (r := p.recv(30)) is not None:
            got.append(L.parse_reply(r[0]))
        eq(len(got), reflected, f"replies to the {tries[0]} retries vs reflected")
        check(p.recv(0) is None, "a reply more than the box reflected")
        # The session goes on: reflector seq increasing from 3, one number for every retry
        # the reflector took. A gap (anywhere, the last ones too) is a reply the box made but
        # the port refused (its transmit ring still full of what the kernel sent during the
        # outage): counted tx_full, one for one.
        nxt = 3 + int(reflected + refused)
        seqs = [g.seq for g in got]
        check(seqs and seqs[0] >= 3 and seqs[-1] < nxt and
              all(b > a for a, b in zip(seqs, seqs[1:])),
              f"reflector seq across the outage: {seqs}, {refused} tx_full")
        eq(drops_by_reason(m)["tx_full"], refused,
           f"tx_full: the retries' refused replies and no other (seqs {seqs})")
        for i in range(nxt, nxt + 5):
            eq(exchange_seq(p, O.ALPHA, i, f"after #{i}").seq, i, f"reflector seq {i}")
    wait_for("ICMP through the TAP after the outage", lambda: L.icmp_echo(B4, False, 7), 30)
    run = L.twamp_ping(lab, B4, "-c", 20, "-i", 0.01, "-s", 60, "-W", 2)
    L.check_ping_run("twamp-ping after the outage", run, count=20, size=60)
    # Every frame the box's kernel sent (the TAP's TX count) reached the wire or is counted
    # as a from-kernel drop by reason, the outage's included.
    def tap_tx():
        j = json.loads(ns("ip", "-j", "-s", "link", "show", "dev", lab.tap))
        return j[0]["stats64"]["tx"]["packets"]

    def from_kernel_counted(m):
        sent = m.val("twamp_reflector_exception_packets_total", direction="to_wire")
        dropped = sum(v for _, v in m.find("twamp_reflector_exception_to_wire_dropped_total"))
        return sent + dropped == tap_tx()
    m = settled(lab, "counters settled, every frame of the kernel's sent or counted",
                from_kernel_counted)
    check(m.val("twamp_reflector_exception_to_wire_dropped_total", reason="tx_full") > 0,
          "the outage never filled the port's transmit ring: not a test of it")
    eq(accounted(m)[1], 3 + len(got) + 5 + 20,
       "reflected: the session before, its answered retries and after, twamp-ping's 20")
    s = lab.release()
    eq(s["rx"], s["reflected"] + s["dropped"] + s["to_kernel"],
       "exit summary: rx vs reflected + dropped + to-kernel")


@case
def fault_memory_too_small_exits_1(lab):
    """Too little memory for the mbuf pool (sized at start-up for every queue full at once):
    the start ends with exit status 1 and a message that names the pool and the remedy,
    before any worker runs; nothing is left running."""
    conf = lab.write_conf("small-memory.conf")
    prefix = f"{lab.name}-small"
    lab.prefixes.append(prefix)
    p = L.run(["ip", "netns", "exec", lab.rns, lab.binary, "-l", "0-1", "--no-huge", "-m", "24",
               "--no-pci", "--no-shconf", "--file-prefix", prefix, "--", "-c", conf],
              check_rc=False, timeout=120)
    err = p.stderr.decode(errors="replace")
    eq(p.returncode, 1, f"exit status with -m 24\n{err[-2000:]}")
    check(re.search(r"^dpdk-twamp: cannot create a pool of \d+ mbufs: .* \(give EAL more "
                    r"memory: -m MB or more hugepages\)$", err, re.M),
          f"no message naming the pool and the remedy:\n{err[-2000:]}")
    check("stopped:" not in p.stdout.decode(errors="replace"), "an exit summary from a box that "
          "never started")


@case
def fault_sigstop_sigcont(lab):
    """The whole process stalled (SIGSTOP: workers and slow path) for seconds while requests
    arrive, then SIGCONT: the requests the wire port held are answered in order in the same
    session, with sane times (T1 <= T2 <= T3 <= T4: the clock map survives the stall); ICMP
    held for the slow path is answered too; what the port could not hold is counted by the
    port (rx_missed) and nothing else is lost: sent = answered + rx_missed."""
    d = start_pinned(lab)
    with Peer(False, lab.port()) as p:
        reflect_first(p)
        base = settled(lab, "counters settled before the stall")
        os.kill(d.proc.pid, signal.SIGSTOP)
        wait_for("dpdk-twamp stopped",
                 lambda: open(f"/proc/{d.proc.pid}/stat").read().split(") ")[1][0] == "T", 10)
        n = 40
        t1 = []
        for i in range(3, 3 + n):
            t1.append(time.time_ns())
            p.send(L.twamp_request(i), O.ALPHA)
        L.icmp_echo(B4, False, 77, timeout=0)  # held for the slow path
        stalled_until = time.time_ns()
        # The stall lasts until the requests have sat in the port a while: a loaded
        # machine's scheduler decides how long the sends took; the box sees seconds.
        time.sleep(2)
        os.kill(d.proc.pid, signal.SIGCONT)
        got = []
        while len(got) < n:
            r = p.recv(30)
            if r is None:
                break
            got.append((L.parse_reply(r[0]), time.time_ns()))
        m = settled(lab, "counters settled after the stall")
        missed = m.val("twamp_reflector_port_rx_missed_packets_total", port="wire0") - \
            base.val("twamp_reflector_port_rx_missed_packets_total", port="wire0")
        eq(len(got) + missed, n, f"answered ({len(got)}) + rx_missed ({missed}) vs sent")
        eq(missed, 0, "requests the wire port lost during a 2 s stall (its ring holds them)")
        for k, (r, t4) in enumerate(got):
            eq(r.seq, 3 + k, f"reflector seq of held request {k}")
            eq(r.sender_seq, 3 + k, f"sender seq of held request {k}")
            t2 = int(L.ts_decode(r.t2_raw, r.z) * 1e9)
            t3 = int(L.ts_decode(r.t3_raw, r.z) * 1e9)
            check(t2 <= t3, f"held request {k}: T2 {t2} after T3 {t3}")
            check(t1[k] - L.CLOCK_SLACK_NS <= t2 and t3 <= t4 + L.CLOCK_SLACK_NS,
                  f"held request {k}: T1 {t1[k]} T2 {t2} T3 {t3} T4 {t4} out of order")
            check(t2 >= stalled_until - L.CLOCK_SLACK_NS,
                  f"held request {k}: T2 {t2} before the process was continued")
        for i in range(3 + n, 3 + n + 3):
            eq(exchange_seq(p, O.ALPHA, i, f"after #{i}").seq, i, f"reflector seq {i}")
        # A second stall with more requests than the port's kernel ring holds: every one is
        # either received (and answered) or counted as the port's rx_missed.
        p.s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)  # the replies' burst
        base = settled(lab, "counters settled before the second stall")
        os.kill(d.proc.pid, signal.SIGSTOP)
        wait_for("dpdk-twamp stopped again",
                 lambda: open(f"/proc/{d.proc.pid}/stat").read().split(") ")[1][0] == "T", 10)
        n2, first = 3000, 3 + n + 3
        for i in range(first, first + n2):
            p.send(L.twamp_request(i), O.ALPHA)
        os.kill(d.proc.pid, signal.SIGCONT)

        def delta(m, name, **lb):
            return m.val(name, **lb) - base.val(name, **lb)

        def all_counted(m):
            return delta(m, "twamp_reflector_reflected_pkt") + \
                delta(m, MISSED, port="wire0") >= n2
        m = settled(lab, "every request of the second stall received or counted missed",
                    all_counted)
        refl, missed = delta(m, "twamp_reflector_reflected_pkt"), delta(m, MISSED, port="wire0")
        check(missed > 0, f"the second stall lost nothing ({refl} reflected): not a test of it")
        eq(refl + missed, n2, "requests reflected + rx_missed vs sent during the second stall")
        eq(drops_by_reason(m), drops_by_reason(base), "drop reasons during the second stall")
        got2 = []
        while len(got2) < refl and (r := p.recv(10)) is not None:
            got2.append(L.parse_reply(r[0]))
        eq(len(got2), refl, "replies the sender got vs reflected")
        seqs = [g.seq for g in got2]
        eq(seqs, list(range(first, first + len(got2))),
           "reflector seq of the second stall's replies (the missed ones never reached it)")
    wait_for("ICMP after the stall", lambda: L.icmp_echo(B4, False, 78), 30)
    s = lab.release()
    eq(s["rx"], s["reflected"] + s["dropped"] + s["to_kernel"],
       "exit summary: rx vs reflected + dropped + to-kernel")


@case
def fault_config_removed_before_sighup(lab):
    """The config file disappears, then SIGHUP: the reload is rejected (logged with the path
    and why, config_reloads_total{result="failed"} 1), the running config keeps reflecting in
    the same session; with the file back, the next SIGHUP is a reload without change."""
    d = O.start(lab)
    path = d.conf
    with Peer(False, lab.port()) as p:
        eq(exchange_seq(p, O.ALPHA, 0, "before").seq, 0, "reflector seq before")
        os.rename(path, path + ".away")
        line = O.reload_and_wait(d, O.RELOAD_RESULT, 0)
        eq(line, f"TWAMP: reload rejected, running config kept: {path}: cannot open: "
                 "No such file or directory", "log line of the reload without a file")
        eq(exchange_seq(p, O.ALPHA, 1, "after the failed reload").seq, 1,
           "reflector seq after the failed reload")
        eq(O.scrape(lab).by("twamp_reflector_config_reloads_total", "result"),
           {"ok": 0.0, "failed": 1.0, "refused": 0.0}, "config_reloads_total")
        os.rename(path + ".away", path)
        O.reload_and_wait(d, r"^TWAMP: reload: no change$", 0)
        eq(exchange_seq(p, O.ALPHA, 2, "after the file came back").seq, 2,
           "reflector seq after the file came back")
    eq(O.scrape(lab).by("twamp_reflector_config_reloads_total", "result"),
       {"ok": 1.0, "failed": 1.0, "refused": 0.0}, "config_reloads_total at the end")
    lab.release()



@case
def fault_wire_deleted_exits_for_restart(lab):
    """The wire interface deleted under the box (a port failing for good at runtime: the
    af_packet sockets are unbound, and an interface made again with the name would not be the
    one they were bound to): the box says so (the port, why, that it cannot recover) and exits
    by itself with status 3, the restart-worthy status README documents, after its usual stop
    (exit summary, every received frame accounted for, every mbuf back). It takes the lab's
    wire away: the last case."""
    d = O.start(lab)
    with Peer(False, lab.port()) as p:
        reflect_first(p)
    L.run(["ip", "netns", "exec", lab.rns, "ip", "link", "del", "dev", lab.name + "r0"])
    wait_for("dpdk-twamp exiting by itself\n" + d.tail(), lambda: d.proc.poll() is not None, 60)
    rc, s = d.stop()
    lab.dut = None
    eq(rc, 3, "exit status after the wire interface was deleted\n" + d.tail())
    check(re.search(r"^TWAMP: port wire0: its kernel interface was deleted: it cannot recover "
                    r"while dpdk-twamp runs; stopping \(exit status 3\) to be restarted$",
                    d.log(), re.M), "no log line saying why it stopped\n" + d.tail())
    check(s is not None, "no exit summary\n" + d.tail())
    eq(s["mbufs_in_use"], 0, "mbufs in use at exit")
    eq(s["rx"], s["reflected"] + s["dropped"] + s["to_kernel"],
       "exit summary: rx vs reflected + dropped + to-kernel")
    check(s["reflected"] >= 3, f"exit summary: reflected {s['reflected']}")

if __name__ == "__main__":
    sys.exit(L.main(CASES, suite="fault", doc=__doc__))
