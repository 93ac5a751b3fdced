#!/usr/bin/python3
"""A bounded soak of dpdk-twamp in the namespace lab (issue 18 item 5).

Run through perf/soak.sh DURATION (root); tests/integration/soak_test.py runs a short one.
The lab is tests/integration/lab_tests.py's (scripts/lab.sh: namespaces joined by a veth pair,
dpdk-twamp on net_af_packet with its TAP), with TWAMP-Control and the metrics enabled. For
DURATION, all at once and each bounded in count and time:
  steady     twamp-ping sessions at known rates: TWAMP Light IPv4 (862) and IPv6 (64364)
             (reflector "light"), STAMP (64365, "stamp"), stateless TWAMP Light (64366,
             "stateless"), STEADY_PPS each, from the start to the end;
  spoofed    a raw-socket sender (AF_PACKET on the sender's veth): UDP test packets with random
             sources inside 198.18.0.0/15 and random source ports, FLOOD_PPS in windows of
             FLOOD_ON s every FLOOD_ON + FLOOD_OFF s, all aimed away from the steady sessions'
             reflectors: half from 198.18.0.3-254 to FLOOD_PORT (reflector "flood", stateful,
             the soak's own: new sessions, the table filling), the rest from outside its ACL
             to FLOOD_PORT (denied) or to UDP ports no reflector serves (no_reflector);
  reloads    SIGHUP every RELOAD_EVERY s, the config rewritten in between (the denyall
             reflector's prefix toggled: a real change, applied every time);
  control    full TWAMP (twamp-ping --mode twamp, 2 sessions, 10 packets each) one run after
             another: control connections and sessions coming and going;
  exception  ping -f to the box (bounded by -c and -w), one after another: the TAP path busy;
  scraper    the Prometheus metrics every SCRAPE_EVERY s, the process' RSS (VmRSS) with them.
Checks at the end (each one line; any failure: exit status 1):
  - steady sessions, per reflector (the flood reaches none of theirs, so each one's own
    counters, received_packets_total and reflected_packets_total, count only its sessions):
    received <= sent; sent - received (lost before the reflector) at most what the port's
    rx_missed + rx_errors + rx_nombuf moved; received - reflected (lost in the box) at most
    what tx_full moved (the TX queue every reflector shares; the limits and other drop
    reasons are a reflector's own verdicts and explain nothing of another's);
    reflected - answered (lost on the way back, or late) at most what the port's tx_errors
    and the sender kernel's UDP receive errors (Udp/Udp6 InErrors, RcvbufErrors) and its
    veth's RX drops moved. With none of those counters moved, a steady session loses 0; the
    losses of all reflectors together are bounded by the same counters once. No duplicate,
    no invalid reply;
  - control: every full-TWAMP run succeeded (exit 0, every packet answered, or its loss at
    most what the same loss counters, box and sender kernel, moved during that run);
  - reloads: config_reloads_total{result="ok"} == SIGHUPs sent, none failed;
  - no counter went backwards between two scrapes (every counter family, histogram buckets);
  - RSS flat (rss_verdict): p1, p2, p3 the largest samples of the first, middle and last
    third of the run, d2 = p2 - p1 and d3 = p3 - p2 the growth over the middle and the last
    third. Flat: d3 at most RSS_SLACK_MB, or the tail of a warm-up: d3 at most twice that, at
    most a third of d2 and still slowing down within the last third (its second half grew at
    most two thirds as fast as its first); and in either case the last third's least-squares slope at most
    RSS_SLOPE_CAP MiB/min, so a short run is not looser than its thirds make it (4 MiB in 25 s
    is 9.6 MiB/min). Warm-up: memory touched for the first time as
    the load reaches it (with --no-huge, presumably EAL heap pages such as the session table's
    as the floods create sessions in random buckets; buffers grown), fast at first and
    slowing; in a 75 s run it is still going in the middle third (d2 ~6 MiB, d3 ~1.5-2). A
    leak grows at the rate of the load, the same in both thirds: more than RSS_SLACK_MB a third
    fails unless the middle third grew three times as much and the growth slows down within
    the last third (a leak does not), more than twice that fails always. The thirds read the
    same for 75 s and for 30 minutes (thirds of 10 minutes); the slope cap binds the short run
    (the recorded clean 75 s run: +3.7 MiB/min over its last third), not the long one;
  - mbufs: twamp_reflector_mbufs_in_use after the traffic (idle) at most MBUF_SLACK above the
    idle count before it, and the exit summary's "mbufs in use" 0 (exact: after shutdown);
  - the exit summary: rx == reflected + dropped + to-kernel, exit status 0.
Prints what each part did, the checks, and a last line with one JSON object.
"""
import argparse
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import lab_tests as L  # noqa: E402  (the namespace lab and dpdk-twamp harness)
import ops_tests as O  # noqa: E402  (Metrics: the Prometheus text format, parsed and checked)

STEADY_PPS = 20
FLOOD_PPS = 1500
FLOOD_ON, FLOOD_OFF = 4.0, 4.0
RELOAD_EVERY = 3.0
SCRAPE_EVERY = 2.0
RSS_SLACK_MB = 4
RSS_SLOPE_CAP = 6.0  # MiB/min over the last third (the clean 75 s run: +3.7)
MBUF_SLACK = 64
METRICS_URL = "http://127.0.0.1:9862/metrics"
FLOOD_PORT = 64369  # the "flood" reflector's, no steady session's
# twamp-ping's -W: a reply later than this counts as lost, which no counter of the box would
# explain (it was reflected): generous, so a loaded machine's late reply is not a "loss".
REPLY_WAIT = 10
PREFIX = "twamp_reflector_"
# What may explain a steady session's loss, by where it happens. On the way in: the port's
# counters (the kernel ring or NIC full, erroneous frames, no mbuf to receive into). In the box:
# the TX queue full (tx_full, port-wide: every reflector's replies share it). The other drop
# reasons are a reflector's own verdicts (ACL, malformed, limits: the steady reflectors have
# none a 20 pps session reaches) and never explain a valid steady request's loss; a flood's
# limit drops on its own reflector say nothing about the steady ones. On the way out: the
# port's tx_errors (and, in sender_errors, the sender kernel's).
RX_LOSS = ("port_rx_missed_packets_total", "port_rx_errors_total", "port_rx_nombuf_total")
BOX_LOSS = ("tx_full",)
TX_LOSS = ("port_tx_errors_total",)
# (what, twamp-ping options, target, reflector)
STEADY = (("light4", ("--mode", "light"), f"{L.B4}:{L.LIGHT}", "light"),
          ("light6", ("--mode", "light"), f"[{L.B6}]:{L.LIGHT2}", "light"),
          ("stamp4", ("--mode", "stamp"), f"{L.B4}:{L.STAMP}", "stamp"),
          ("stateless4", ("--mode", "light"), f"{L.B4}:{L.STATELESS}", "stateless"))
STEADY_REFLECTORS = ("light", "stamp", "stateless")


def log(*a):
    print(*a, flush=True)


def parse_duration(text):
    """'90', '90s', '30m', '1h' -> seconds."""
    m = re.fullmatch(r"(\d+)([smh]?)", text.strip())
    if not m:
        raise ValueError(f"duration {text!r}: expected seconds, or N s/m/h (e.g. 30m)")
    return int(m[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[m[2]]


def write_conf(lab, path, toggle):
    """lab.conf.in with TWAMP-Control and metrics; `toggle` picks the denyall prefix."""
    text = lab.conf_in.replace("@LAB@", lab.name).replace("@QPAIRS@", "")
    # The spoofed flood's own reflector: the steady sessions' reflectors see none of it.
    text = text.replace('  { name = "denyall";',
                        f'  {{ name = "flood"; port = "wire0"; mode = "twamp-light"; '
                        f'udp-ports = [ {FLOOD_PORT} ];\n'
                        f'    prefixes = [ "198.18.0.0/24" ]; stateful = true; }},\n'
                        f'  {{ name = "denyall";')
    text = text.replace('prefixes = [ "198.18.1.0/24" ]',
                        f'prefixes = [ "198.18.{1 + toggle}.0/24" ]')
    text += """
control = { listen = "::"; port = 862; prefixes = [ "198.18.0.0/24", "2001:2::/64" ];
            max-connections = 64; max-sessions = 128;
            receiver-ports = { min = 64400; max = 64463; }; };
metrics = { listen = "127.0.0.1:9862"; };
"""
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)  # a reload never reads half a file


def scrape(lab):
    p = L.run(["ip", "netns", "exec", lab.rns, "curl", "-sS", "--max-time", "30", METRICS_URL],
              check_rc=False, timeout=60)
    if p.returncode != 0:
        raise L.Failure(f"curl {METRICS_URL}: exit {p.returncode}: "
                        f"{p.stderr.decode(errors='replace')}")
    return O.Metrics(p.stdout.decode(errors="replace"))


def counters_of(m):
    """{(name, labels): value} of every counter-like series (counters, histogram parts)."""
    out = {}
    for name, labels, v in m.samples:
        fam = m.family(name)
        t = m.type.get(fam)
        # A summary's quantiles go up and down; its _sum and _count only up.
        if t in ("counter", "histogram") or (t == "summary" and name != fam):
            out[(name, tuple(sorted(labels.items())))] = v
    return out


def sum_of(m, name, label=None, values=None):
    return sum(v for lb, v in m.find(name) if label is None or lb.get(label) in values)


def mbufs(m):
    """twamp_reflector_mbufs_in_use, checked against the pool's size."""
    used, total = m.val(PREFIX + "mbufs_in_use"), m.val(PREFIX + "mbufs_total")
    L.check(0 <= used <= total and total > 0, f"mbufs_in_use {used} of mbufs_total {total}")
    return used


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1])
    except OSError:
        pass
    return None


def rss_verdict(rss, duration):
    """The RSS check on (t s, kB) samples of a run of `duration` s: (ok, detail)."""
    third = duration / 3
    p = [0.0, 0.0, 0.0]
    for t, kb in rss:  # (a sample taken at `duration` or after: the last third's)
        k = min(int(t // third), 2)
        p[k] = max(p[k], kb / 1024)
    if not all(p):
        return False, f"a third without an RSS sample ({len(rss)} samples)"
    d2, d3 = p[1] - p[0], p[2] - p[1]
    # Within the last third (its samples, as a running maximum): the growth rate over its first
    # half (first to last sample there) and over its second (to the last sample). Slowing:
    # the second at most two thirds of the first (a leak grows evenly; too few samples: not
    # known to slow down).
    run, top = [], 0.0
    for t, kb in sorted(rss):
        top = max(top, kb / 1024)
        if t >= 2 * third:
            run.append((t, top))
    first = [s for s in run if s[0] < 2.5 * third]
    r1 = r2 = 0.0
    slowing = False
    if len(first) >= 2 and len(run) > len(first) and first[-1][0] > first[0][0]:
        (ta, ma), (tb, mb), (tc, mc) = first[0], first[-1], run[-1]
        r1 = 60 * (mb - ma) / (tb - ta)
        r2 = 60 * (mc - mb) / (tc - tb)
        slowing = r2 <= r1 * 2 / 3
    # The last third's least-squares slope (MiB/min).
    last = [(t, kb / 1024) for t, kb in rss if t >= 2 * third]
    slope = None
    if len(last) >= 3:
        mt = sum(t for t, _ in last) / len(last)
        mm = sum(m for _, m in last) / len(last)
        var = sum((t - mt) ** 2 for t, _ in last)
        if var > 0:
            slope = 60 * sum((t - mt) * (m - mm) for t, m in last) / var
    slope_ok = slope is None or slope <= RSS_SLOPE_CAP
    steady = d3 <= RSS_SLACK_MB
    tail = d3 <= 2 * RSS_SLACK_MB and d3 <= d2 / 3 and slowing
    ok = (steady or tail) and slope_ok
    return ok, (
        f"max {p[0]:.1f} / {p[1]:.1f} / {p[2]:.1f} MiB in the thirds: +{d2:.1f} over the middle "
        f"one, +{d3:.1f} over the last ({r1:+.2f} then {r2:+.2f} MiB/min in its halves; allowed "
        f"+{RSS_SLACK_MB}, or up to +{2 * RSS_SLACK_MB} at most a third of the middle's and "
        f"slowing within the last: a warm-up's tail)"
        + (f"; last third {slope:+.2f} MiB/min (at most {RSS_SLOPE_CAP})"
           if slope is not None else "")
        + f", {len(rss)} samples" + ("" if steady or not tail else "; passed as a warm-up tail")
        + ("" if slope_ok else "; the last third grows too fast"))


def sender_errors(lab):
    """The sender kernel's UDP receive errors and its veth's RX drops (this namespace)."""
    n = 0
    with open("/proc/thread-self/net/snmp") as f:
        rows = [ln.split() for ln in f if ln.startswith("Udp:")]
    if len(rows) == 2:
        d = dict(zip(rows[0][1:], rows[1][1:]))
        n += int(d.get("InErrors", 0)) + int(d.get("RcvbufErrors", 0))
    with open("/proc/thread-self/net/snmp6") as f:
        for ln in f:
            k, _, v = ln.partition(" ")
            if k in ("Udp6InErrors", "Udp6RcvbufErrors"):
                n += int(v.split()[0])
    info = json.loads(L.run(["ip", "-j", "-s", "link", "show", "dev", lab.siface]).stdout)
    n += int(info[0]["stats64"]["rx"]["dropped"])
    return n


def ip_sum(b):
    return struct.pack("!H", L.inet_checksum(b))


class Spoofer:
    """Random-source UDP test packets from a raw socket on the sender's veth."""

    def __init__(self, lab, box_mac, rng):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.sock.bind((lab.siface, 0))
        self.eth = bytes.fromhex(box_mac.replace(":", "")) + \
            bytes.fromhex(lab.smac.replace(":", "")) + b"\x08\x00"
        self.dst = socket.inet_aton(L.B4)
        self.rng = rng
        self.sent = 0
        self.kinds = {"session": 0, "denied": 0, "other_port": 0}

    def frame(self):
        r = self.rng
        x = r.random()
        if x < 0.5:  # inside the stateful reflector's ACL (198.18.0.0/24), not .0-.2
            src = bytes([198, 18, 0, r.randint(3, 254)])
            dport, kind = FLOOD_PORT, "session"
        elif x < 0.85:  # elsewhere in 198.18.0.0/15: the ACL says no
            while True:
                v = (198 << 24) | (18 << 16) | r.randrange(1 << 17)
                if (v >> 8) != ((198 << 16) | (18 << 8)):
                    break
            src = struct.pack("!I", v)
            dport, kind = FLOOD_PORT, "denied"
        else:  # a port no reflector serves on the box's address (no_reflector)
            src = bytes([198, 18, 0, r.randint(3, 254)])
            dport, kind = r.randint(1024, 60000), "other_port"
            while dport in (L.LIGHT, L.LIGHT2, L.STAMP, L.STATELESS, L.DENYALL, FLOOD_PORT):
                dport = r.randint(1024, 60000)
        sport = r.randint(1024, 65535)
        payload = struct.pack("!IQH", self.sent, 0, 0x0001) + bytes(27)
        ulen = 8 + len(payload)
        pseudo = src + self.dst + struct.pack("!BBH", 0, 17, ulen)
        udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
        csum = L.inet_checksum(pseudo + udp) or 0xffff
        udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, self.sent & 0xffff, 0, 64, 17, 0,
                          src, self.dst)
        hdr = hdr[:10] + ip_sum(hdr) + hdr[12:]
        self.kinds[kind] += 1
        return self.eth + hdr + udp

    def run(self, stop, end):
        period = FLOOD_ON + FLOOD_OFF
        t0 = time.monotonic()
        batch = 50
        while not stop.is_set() and time.monotonic() < end:
            phase = (time.monotonic() - t0) % period
            if phase >= FLOOD_ON:
                stop.wait(min(period - phase, end - time.monotonic()))
                continue
            w0 = time.monotonic()
            for _ in range(batch):
                self.sock.send(self.frame())
                self.sent += 1
            # Paced: `batch` frames per batch / FLOOD_PPS seconds.
            left = batch / FLOOD_PPS - (time.monotonic() - w0)
            if left > 0:
                stop.wait(left)

    def close(self):
        self.sock.close()


class Soak:
    def __init__(self, lab, duration, seed=None):
        self.lab = lab
        self.duration = duration
        self.seed = seed if seed is not None else random.randrange(1 << 30)
        self.rng = random.Random(self.seed)
        self.stop = threading.Event()
        self.errors = []  # a workload's own failure (exception): a failed check
        self.lock = threading.Lock()
        self.results = {}
        self.scrapes = []  # (t, counters, gauges dict, rss kB)
        self.backwards = []
        self.hups = 0
        self.control_runs = []
        self.ping_runs = []

    # -- workloads (each in a thread; everything bounded by self.end and counts)
    def guarded(self, name, fn):
        def body():
            try:
                fn()
            except BaseException as e:  # noqa: BLE001  (reported as a failed check)
                with self.lock:
                    self.errors.append(f"{name}: {type(e).__name__}: {e}")
                self.stop.set()
        t = threading.Thread(target=body, name=name, daemon=True)
        t.start()
        return t

    def steady(self, what, opts, target, count):
        cmd = L.ping_cmd(self.lab, target, *opts, "-c", count, "--rate", STEADY_PPS,
                         "-W", REPLY_WAIT)
        p = L.run(cmd, timeout=self.duration + 60, check_rc=False)
        replies, others, summ = L.parse_ping_output(p.stdout.decode(errors="replace"))
        if summ is None:
            raise L.Failure(f"twamp-ping {what} printed no summary (exit {p.returncode}): "
                            f"{p.stderr.decode(errors='replace')[-500:]}")
        with self.lock:
            self.results[what] = {"rc": p.returncode, "summary": summ}

    def control(self):
        while not self.stop.is_set() and time.monotonic() < self.end - 8:
            cmd = L.ping_cmd(self.lab, L.B4, "--mode", "twamp", "--sessions", 2, "-c", 20,
                             "--rate", 20, "-W", REPLY_WAIT)
            a0 = self.allowance()
            p = L.run(cmd, timeout=60, check_rc=False)
            a1 = self.allowance()
            _, _, summ = L.parse_ping_output(p.stdout.decode(errors="replace"))
            # Every packet answered, or the loss at most what the loss counters (box and
            # sender kernel) moved during the run.
            ok = p.returncode == 0 and summ is not None and \
                summ["received"] + summ["lost"] == 20 and summ["lost"] <= a1 - a0
            with self.lock:
                self.control_runs.append({"ok": ok, "rc": p.returncode,
                                          "lost": summ["lost"] if summ else None,
                                          "allowed": a1 - a0,
                                          "err": "" if ok else
                                          p.stderr.decode(errors="replace")[-300:]})
            self.stop.wait(1.0)

    def exception(self):
        while not self.stop.is_set() and time.monotonic() < self.end - 5:
            w = int(max(1, min(8, self.end - 5 - time.monotonic())))
            p = L.run(["ping", "-f", "-q", "-c", "4000", "-w", str(w), L.B4],
                      timeout=w + 10, check_rc=False)
            m = re.search(rb"(\d+) packets transmitted, (\d+) received", p.stdout)
            with self.lock:
                self.ping_runs.append((int(m[1]), int(m[2])) if m else (0, 0))
            self.stop.wait(1.0)

    def reloads(self):
        while not self.stop.is_set() and time.monotonic() < self.end - 5:
            self.stop.wait(RELOAD_EVERY)
            if self.stop.is_set():
                break
            write_conf(self.lab, self.conf, (self.hups + 1) % 2)
            self.dut.proc.send_signal(signal.SIGHUP)
            with self.lock:
                self.hups += 1
            # The next SIGHUP only once this one is counted (ok, failed or refused): signals
            # coalesce, and a busy machine can hold the slow path past RELOAD_EVERY, so two
            # SIGHUPs sent back to back may be one reload. Waiting keeps "every SIGHUP applied"
            # exact.
            while not self.stop.is_set() and sum_of(
                    scrape(self.lab), PREFIX + "config_reloads_total", "result",
                    ("ok", "failed", "refused")) < self.hups:
                self.stop.wait(0.2)

    def scraper(self):
        prev = None
        while not self.stop.is_set():
            m = scrape(self.lab)
            c = counters_of(m)
            g = {"mbufs_in_use": mbufs(m)}
            t = time.monotonic() - self.t0
            if prev is not None:
                for k, v in c.items():
                    if k in prev and v < prev[k]:
                        self.backwards.append(f"{k[0]}{dict(k[1])}: {prev[k]} -> {v} at {t:.0f} s")
            prev = c
            with self.lock:
                self.scrapes.append((t, m, g, rss_kb(self.dut.proc.pid)))
            if time.monotonic() >= self.end:
                break
            self.stop.wait(SCRAPE_EVERY)

    # -- the run
    @staticmethod
    def loss_counters(m):
        """The box's counters of lost test frames: (on the way in, in the box, on the way
        out): RX_LOSS, BOX_LOSS, TX_LOSS."""
        return (sum(sum_of(m, PREFIX + n) for n in RX_LOSS),
                sum_of(m, PREFIX + "dropped_packets_total", "reason", BOX_LOSS),
                sum(sum_of(m, PREFIX + n) for n in TX_LOSS))

    def allowance(self):
        """Every loss counter, box and sender kernel, summed: what may explain a loss."""
        return sum(self.loss_counters(scrape(self.lab))) + sender_errors(self.lab)

    def run(self):
        lab = self.lab
        self.conf = os.path.join(lab.workdir, "soak.conf")
        write_conf(lab, self.conf, 0)
        self.dut = lab.fresh(conf=self.conf, n_reflectors=L.N_REFLECTORS + 1)  # + "flood"
        log(f"soak: {self.duration} s, seed {self.seed}, dpdk-twamp pid {self.dut.proc.pid}, "
            f"lab {lab.name}")
        time.sleep(1.0)
        idle0 = scrape(lab)
        mbufs_idle0 = mbufs(idle0)
        loss0, snd0 = self.loss_counters(idle0), sender_errors(lab)
        self.t0 = time.monotonic()
        self.end = self.t0 + self.duration
        count = max(10, int(STEADY_PPS * (self.duration - 4)))
        spoofer = Spoofer(lab, self.dut.mac, self.rng)
        threads = [self.guarded(w, lambda w=w, o=o, t=t: self.steady(w, o, t, count))
                   for w, o, t, _ in STEADY]
        threads += [self.guarded("spoofed", lambda: spoofer.run(self.stop, self.end)),
                    self.guarded("control", self.control),
                    self.guarded("exception", self.exception),
                    self.guarded("reloads", self.reloads),
                    self.guarded("scraper", self.scraper)]
        try:
            for t in threads:
                t.join(max(1.0, self.end + 90 - time.monotonic()))
        finally:
            self.stop.set()
            spoofer.close()
        hung = [t.name for t in threads if t.is_alive()]

        # Quiet again: the reloads applied, the pool back to idle.
        L.wait_for("every SIGHUP applied", lambda: sum_of(
            scrape(lab), PREFIX + "config_reloads_total", "result", ("ok", "failed", "refused"))
            >= self.hups, timeout=30, step=0.5)
        time.sleep(2.0)
        final = scrape(lab)
        mbufs_idle1 = mbufs(final)
        loss1, snd1 = self.loss_counters(final), sender_errors(lab)
        summary = lab.release()  # stop_checked: exit 0, a summary, mbufs in use 0

        checks = []

        def add(name, ok, detail):
            checks.append((name, bool(ok), detail))

        add("workloads", not self.errors and not hung,
            "; ".join(self.errors + [f"{h} did not end" for h in hung]) or "all ended")
        sent = recv = lost = 0
        bad = []
        for what, _, _, _ in STEADY:
            r = self.results.get(what)
            if r is None:
                bad.append(f"{what}: no result")
                continue
            s = r["summary"]
            sent, recv, lost = sent + s["sent"], recv + s["received"], lost + s["lost"]
            for k in ("duplicates", "invalid", "send_errors"):
                if s[k]:
                    bad.append(f"{what}: {k} {s[k]}")
            if s["sent"] != count or s["received"] + s["lost"] != s["sent"]:
                bad.append(f"{what}: sent {s['sent']} received {s['received']} lost {s['lost']}")
        # What each stage's loss counters moved: in (port RX), box (capacity drops), out (port
        # TX, the sender kernel).
        moved = {"in": loss1[0] - loss0[0], "box": loss1[1] - loss0[1],
                 "out": loss1[2] - loss0[2] + snd1 - snd0}
        per, total = [], {"in": 0, "box": 0, "out": 0}
        for refl in STEADY_REFLECTORS:
            rs = [self.results[w]["summary"] for w, _, _, r in STEADY
                  if r == refl and w in self.results]
            g_sent = sum(s["sent"] for s in rs)
            g_recv = sum(s["received"] for s in rs)

            def delta(name, refl=refl):
                return sum_of(final, PREFIX + name, "reflector", (refl,)) - \
                    sum_of(idle0, PREFIX + name, "reflector", (refl,))
            rx, refd = delta("received_packets_total"), delta("reflected_packets_total")
            part = {"in": g_sent - rx, "box": rx - refd, "out": refd - g_recv}
            for k, v in part.items():
                total[k] += v
            over = [f"{k} {v:.0f} > {moved[k]:.0f}" for k, v in part.items()
                    if v < 0 or v > moved[k]]
            if over:
                bad.append(f"{refl}: sent {g_sent}, reflector received {rx:.0f}, reflected "
                           f"{refd:.0f}, answered {g_recv}: lost " + ", ".join(over))
            per.append(f"{refl} {g_sent}/{rx:.0f}/{refd:.0f}/{g_recv}")
        over = [f"{k} {v:.0f} > {moved[k]:.0f}" for k, v in total.items() if v > moved[k]]
        if over:
            bad.append("all reflectors: lost " + ", ".join(over))
        explained = sum(moved.values())
        add("steady sessions", not bad,
            f"{len(STEADY)} sessions at {STEADY_PPS} pps: sent {sent}, received {recv}, lost "
            f"{lost}; per reflector sent/received/reflected/answered: {', '.join(per)}; loss "
            f"counters moved: in {moved['in']:.0f}, box {moved['box']:.0f}, out "
            f"{moved['out']:.0f} (sender kernel {snd1 - snd0})" + (f"; {bad}" if bad else ""))
        failed = [r for r in self.control_runs if not r["ok"]]
        add("control", self.control_runs and not failed,
            f"{len(self.control_runs)} full-TWAMP runs (2 sessions, 20 packets), "
            f"{len(failed)} failed" + (f": {failed[:3]}" if failed else ""))
        ok_reloads = sum_of(final, PREFIX + "config_reloads_total", "result", ("ok",))
        bad_reloads = sum_of(final, PREFIX + "config_reloads_total", "result",
                             ("failed", "refused"))
        add("reloads", ok_reloads == self.hups and bad_reloads == 0 and self.hups > 0,
            f"{self.hups} SIGHUPs, {ok_reloads:.0f} applied, {bad_reloads:.0f} failed/refused")
        add("counters monotonic", not self.backwards,
            f"{len(self.scrapes)} scrapes, {len(counters_of(final))} counter series"
            + (f"; backwards: {self.backwards[:5]}" if self.backwards else ""))
        rss = [(t, kb) for t, _, _, kb in self.scrapes if kb]
        add("RSS flat", *rss_verdict(rss, self.duration))
        busy = [g["mbufs_in_use"] for _, _, g, _ in self.scrapes]
        add("mbufs", mbufs_idle1 <= mbufs_idle0 + MBUF_SLACK and summary["mbufs_in_use"] == 0,
            f"in use idle {mbufs_idle0:.0f} before, {mbufs_idle1:.0f} after (allowed "
            f"+{MBUF_SLACK}), max {max(busy, default=0):.0f} under load, "
            f"{summary['mbufs_in_use']} at exit")
        add("exit summary", summary["rx"] == summary["reflected"] + summary["dropped"] +
            summary["to_kernel"],
            f"rx {summary['rx']} = reflected {summary['reflected']} + dropped "
            f"{summary['dropped']} + to-kernel {summary['to_kernel']}; drops {summary['drops']}")

        pings = [sum(x) for x in zip(*self.ping_runs)] or [0, 0]
        log(f"soak: spoofed {spoofer.sent} frames ({spoofer.kinds}), {len(self.ping_runs)} ping "
            f"floods ({pings[0]} echo requests, {pings[1]} answered), {self.hups} reloads, "
            f"{len(self.control_runs)} control runs, sessions created "
            f"{summary['sessions_created']} table-full {summary['table_full']}")
        for name, ok, detail in checks:
            log(f"  {'ok  ' if ok else 'FAIL'} {name}: {detail}")
        result = {
            "duration_s": self.duration, "seed": self.seed,
            "ok": all(ok for _, ok, _ in checks),
            "checks": {n: {"ok": ok, "detail": d} for n, ok, d in checks},
            "steady": {"sent": sent, "received": recv, "lost": lost, "explained": explained,
                       "moved": moved, "lost_by_stage": total},
            "spoofed": spoofer.sent, "spoofed_kinds": spoofer.kinds, "reloads": self.hups,
            "control_runs": len(self.control_runs), "ping_floods": len(self.ping_runs),
            "rss_kb": [kb for _, kb in rss], "mbufs_in_use": busy,
            "exit_summary": summary,
        }
        log(json.dumps(result))
        return result


def run_soak(lab, duration, seed=None):
    """For soak_test.py: runs in an up lab (the sender namespace entered). Returns the result."""
    return Soak(lab, duration, seed).run()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("duration", help="seconds, or N s/m/h (e.g. 30m)")
    ap.add_argument("--binary", default="build/src/app/dpdk-twamp")
    ap.add_argument("--ping", default=None)
    ap.add_argument("--source-root", default=os.path.join(HERE, ".."))
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    duration = parse_duration(args.duration)
    if duration < 30:
        ap.error("duration: at least 30 s (the RSS check compares thirds)")

    def on_signal(signum, _frame):
        raise L.Interrupted(f"signal {signum}")
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    lab = L.Lab(args)
    try:
        lab.up()
        result = run_soak(lab, duration, args.seed)
        return 0 if result["ok"] else 1
    except (L.Failure, L.Interrupted) as e:
        log(f"soak: FAIL: {e}")
        return 1
    finally:
        lab.down()


if __name__ == "__main__":
    sys.exit(main())
