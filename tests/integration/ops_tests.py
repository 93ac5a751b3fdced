#!/usr/bin/python3
"""Integration tests of what operators use: Prometheus metrics, DPDK telemetry, periodic stats,
dpdk-dumpcap capture and live reload (SIGHUP), on the real dpdk-twamp in the namespace lab.

    tests/integration/ops_tests.py --binary build/src/app/dpdk-twamp --source-root .
        [--case NAME]... [--keep] [--list] [--gtest_output=json:PATH|xml:PATH]

The lab, the harness and its conventions are lab_tests.py's (imported): GoogleTest-style
lines and report, every case SKIPPED when not root, the lab always removed. Every case starts a
dpdk-twamp of its own with the config below (metrics on 127.0.0.1:9862 inside the reflector
namespace, label site="lab1"), so every counter it reads is exactly the case's own traffic.
Expected values come from what the case sent (frame lengths computed from the requests), never
from the box's own output. Addresses only from 198.18.0.0/15 and 2001:2::/48.

The capture case reserves 2 MiB hugepages itself (and restores the previous count and removes
its hugepage files afterwards); when it cannot, it is SKIPPED.
"""
import calendar
import glob
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab_tests as L  # noqa: E402  (the shared harness, beside this file)
from lab_tests import B4, B6, S4, S6, Failure, Peer, check, eq, wait_for  # noqa: E402

# Reflector UDP ports of the config below.
ALPHA, BETA, DENYALL, FLIP_A, FLIP_B, GONE = 862, 64365, 64367, 64370, 64371, 64372
NEWBIE = 64374  # a reflector only a reload adds
NO_REFLECTOR_PORT = 40999
ALLOW = '"198.18.0.0/24", "2001:2::/64"'
DENY = '"198.18.1.0/24", "2001:2:0:1::/64"'  # the sender's addresses are outside
REFLECTORS = ["alpha", "beta", "denyall", "flip", "gone"]
METRICS_URL = "http://127.0.0.1:9862/metrics"
SITE = {"site": "lab1"}

# Frame lengths: Ethernet 14 + IPv4 20 / IPv6 40 + UDP 8 + payload.
def frame_len(v6, payload):
    return 14 + (40 if v6 else 20) + 8 + payload


def ops_conf(lab, *, flip_admit=True, flip_port=FLIP_A, gone=True, alpha_ports=(ALPHA,),
             alpha_dscp=None, device_extra="", listen="127.0.0.1:9862", gone_name="gone",
             order=None, exc_pps=20000, flip_extra=""):
    """order: the reflectors' names in the order to write them (a subset: the others left out;
    a name not among them: a twamp-light reflector on UDP NEWBIE)."""
    """The config text, as a list of lines (cases that break it need line numbers)."""
    alpha_extra = f" dscp = {alpha_dscp};" if alpha_dscp is not None else ""
    refl = [
        ['  { name = "alpha"; port = "wire0"; mode = "twamp-light"; '
         f'udp-ports = [ {", ".join(map(str, alpha_ports))} ];',
         f'    prefixes = [ {ALLOW} ]; inactivity-timeout = 600;{alpha_extra} }}'],
        [f'  {{ name = "beta"; port = "wire0"; mode = "stamp"; udp-ports = [ {BETA} ];',
         f'    prefixes = [ {ALLOW} ]; inactivity-timeout = 600; }}'],
        [f'  {{ name = "denyall"; port = "wire0"; mode = "twamp-light"; udp-ports = [ {DENYALL} ];',
         f'    prefixes = [ {DENY} ]; }}'],
        [f'  {{ name = "flip"; port = "wire0"; mode = "twamp-light"; udp-ports = [ {flip_port} ];',
         f'    prefixes = [ {ALLOW if flip_admit else DENY} ]; inactivity-timeout = 600;'
         f'{flip_extra} }}'],
    ]
    if gone:
        refl.append([f'  {{ name = "{gone_name}"; port = "wire0"; mode = "twamp-light"; '
                     f'udp-ports = [ {GONE} ];',
                     f'    prefixes = [ {ALLOW} ]; inactivity-timeout = 600; }}'])
    if order is not None:
        by_name = {re.search(r'name = "([^"]+)"', r[0])[1]: r for r in refl}
        refl = [by_name.get(n) or
                [f'  {{ name = "{n}"; port = "wire0"; mode = "twamp-light"; '
                 f'udp-ports = [ {NEWBIE} ];', f'    prefixes = [ {ALLOW} ]; }}']
                for n in order]
    lines = [f"# ops_tests.py, lab {lab.name}",
             "ports = (",
             f'  {{ name = "wire0"; device = "net_af_packet0,iface={lab.name}r0{device_extra}";',
             '    addresses = [ "198.18.0.2/24", "2001:2::2/64" ];',
             f'    exception = {{ iface = "{lab.name}tap0"; rate-limit-pps = {exc_pps}; }}; }}',
             ");",
             "reflectors = ("]
    for i, r in enumerate(refl):
        lines += r[:-1] + [r[-1] + ("," if i + 1 < len(refl) else "")]
    lines += [");",
              f'metrics = {{ listen = "{listen}"; labels = {{ site = "lab1"; }}; }};']
    return lines


def write_file(path, lines):
    """Replace the file at once (rename): a SIGHUP never reads half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def start(lab, lines=None, **kw):
    """A dpdk-twamp of the case's own with the ops config (or `lines`)."""
    path = os.path.join(lab.workdir, f"ops-{lab.instances + 1}.conf")
    lines = lines or ops_conf(lab)
    write_file(path, lines)
    n = sum(1 for ln in lines if re.match(r'\s*\{ name = "[A-Za-z0-9_.-]+"; port = ', ln))
    return lab.fresh(conf=path, n_reflectors=n, **kw)


# ---------------------------------------------------------------------------------------------
# Prometheus text format (0.0.4), parsed independently of prometheus-cpp.

SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$")
LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)')


class Metrics:
    def __init__(self, text):
        self.text = text
        self.help, self.type, self.samples = {}, {}, []
        self.family_of = {}  # sample name -> family
        for ln in text.splitlines():
            if not ln.strip():
                continue
            if ln.startswith("# HELP "):
                name, _, h = ln[7:].partition(" ")
                check(name not in self.help, f"two HELP lines for {name}")
                self.help[name] = h
                continue
            if ln.startswith("# TYPE "):
                name, _, t = ln[7:].partition(" ")
                check(name not in self.type, f"two TYPE lines for {name}")
                check(t in ("counter", "gauge", "histogram", "summary", "untyped"),
                      f"TYPE {t!r} of {name}")
                self.type[name] = t
                continue
            if ln.startswith("#"):
                continue
            m = SAMPLE_RE.match(ln)
            check(m, f"metrics line not in the text format: {ln!r}")
            labels, pos, raw = {}, 0, m[2] or ""
            while pos < len(raw):
                lm = LABEL_RE.match(raw, pos)
                check(lm and lm.end() > pos, f"labels not understood in {ln!r}")
                check(lm[1] not in labels, f"label {lm[1]} twice in {ln!r}")
                labels[lm[1]] = lm[2]
                pos = lm.end()
            try:
                v = float(m[3])
            except ValueError:
                raise Failure(f"value {m[3]!r} of {ln!r} is not a number") from None
            self.samples.append((m[1], labels, v))

    def family(self, name):
        """The family a sample belongs to (histogram/summary suffixes stripped)."""
        if name in self.type:
            return name
        for suf in ("_bucket", "_sum", "_count"):
            if name.endswith(suf) and self.type.get(name[:-len(suf)]) in ("histogram",
                                                                           "summary"):
                return name[:-len(suf)]
        return None

    def find(self, name, **labels):
        return [(lb, v) for n, lb, v in self.samples
                if n == name and all(lb.get(k) == str(x) for k, x in labels.items())]

    def val(self, name, **labels):
        got = self.find(name, **labels)
        check(len(got) == 1, f"metrics: {len(got)} series {name}{labels or ''}, want 1")
        return got[0][1]

    def by(self, name, label):
        """{label value: value} over a family's series."""
        return {lb[label]: v for lb, v in self.find(name)}


def scrape(lab):
    # Generous caps: on a loaded machine the box's HTTP thread may wait for a CPU a while.
    p = L.run(["ip", "netns", "exec", lab.rns, "curl", "-sS", "--max-time", "60", METRICS_URL],
              check_rc=False, timeout=90)
    check(p.returncode == 0, f"curl {METRICS_URL} in {lab.rns}: exit {p.returncode}: "
                             f"{p.stderr.decode(errors='replace')}")
    return Metrics(p.stdout.decode(errors="replace"))


# ---------------------------------------------------------------------------------------------
# DPDK telemetry through DPDK's own client.

TELEMETRY = "/usr/bin/dpdk-telemetry.py"


def telemetry(dut, cmd):
    client = shutil.which("dpdk-telemetry.py") or TELEMETRY
    p = subprocess.run([L.SYSTEM_PYTHON, client, "-f", dut.prefix], input=(cmd + "\n").encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    out = p.stdout.decode(errors="replace")
    eq(p.returncode, 0, f"dpdk-telemetry.py {cmd}: exit status ({p.stderr.decode()!r})")
    docs = [ln for ln in out.splitlines() if ln.startswith("{")]
    check(docs, f"dpdk-telemetry.py {cmd}: no JSON in its output {out!r}")
    try:
        doc = json.loads(docs[-1])
    except ValueError as e:
        raise Failure(f"dpdk-telemetry.py {cmd}: not valid JSON ({e}): {docs[-1]!r}") from None
    check(isinstance(doc, dict) and list(doc) == [cmd],
          f"dpdk-telemetry.py {cmd}: answer not keyed by the command: {docs[-1][:300]!r}")
    check(isinstance(doc[cmd], dict), f"{cmd}: answer is not an object: {doc[cmd]!r}")
    return doc[cmd]


# ---------------------------------------------------------------------------------------------
# Traffic helpers.

def exchange_n(p, dport, n, make, what):
    """n requests through Peer p, each answered; returns the parsed replies."""
    out = []
    for i in range(n):
        req = make(i)
        data, *_ = p.exchange(req, dport, f"{what} #{i}")
        eq(len(data), max(len(req), L.TWAMP_BASE), f"{what} #{i}: reply length")
        out.append((req, data))
    return out


def sendp_all(lab, frames):
    for f in frames:
        L.scapy.sendp(L.scapy.Ether(f), iface=lab.siface)


def reload_and_wait(d, pattern, n_before, timeout=60):
    """SIGHUP; wait until the log holds n_before + 1 lines matching `pattern` (the reload's
    own log line, written once the new snapshot is published and every worker has passed a
    quiescent point). Returns the new matching line."""
    t0 = time.monotonic()
    os.kill(d.proc.pid, signal.SIGHUP)

    def done():
        found = re.findall(pattern, d.log(), re.M)
        return found[n_before] if len(found) > n_before else None
    line = wait_for(f"reload log line /{pattern}/ #{n_before + 1}\n" + d.tail(), done, timeout,
                    step=0.002)
    RELOAD_TIMES.append(time.monotonic() - t0)
    return line


RELOAD_TIMES = []  # SIGHUP -> log line, seconds (reported by the flip case)


CASES = []


def case(fn):
    CASES.append((fn.__name__, fn))
    return fn


# ---------------------------------------------------------------------------------------------
# 1. Prometheus: exact values.

GUFO = [  # seeds/gufo-twamp-reflector.md, "Sample Output": name, HELP text, TYPE
    ("twamp_reflector_reflected_octets", "Total amount of the reflected octets", "counter"),
    ("twamp_reflector_reflected_pkt", "Total amount of the reflected packets", "counter"),
    ("twamp_reflector_session_attempts", "Total amount of the attempted sessions", "counter"),
    ("twamp_reflector_session_started", "Total amount of the started sessions", "counter"),
]


def malformed_frames(lab, mac):
    """(frame bytes, reflector it is addressed to or None, drop reason): broken test packets
    whose L2-L4 headers still select a reflector are received for it and dropped there."""
    sc = L.scapy
    e = sc.Ether(dst=mac, src=lab.smac)
    req = L.twamp_request(1)
    out = []
    for _ in range(2):
        good = bytearray(bytes(e / sc.IP(src=S4, dst=B4) / sc.UDP(sport=lab.port(), dport=ALPHA)
                               / sc.Raw(req)))
        ck = int.from_bytes(good[40:42], "big")
        good[40:42] = (ck ^ 0x5555 if ck ^ 0x5555 not in (0, 0xFFFF) else ck ^ 0x0F0F).to_bytes(
            2, "big")
        out.append((bytes(good), "alpha", "udp_bad_checksum"))
    out.append((bytes(e / sc.IP(src=S4, dst=B4, chksum=0x1234) /
                      sc.UDP(sport=lab.port(), dport=ALPHA) / sc.Raw(req)),
                "alpha", "ipv4_bad_checksum"))
    out.append((bytes(e / sc.IP(src=S4, dst=B4) / sc.UDP(sport=lab.port(), dport=ALPHA) /
                      sc.Raw(req[:13])), "alpha", "test_truncated"))
    out.append((bytes(e / sc.IPv6(src=S6, dst=B6) / sc.UDP(sport=lab.port(), dport=BETA) /
                      sc.Raw(L.stamp_request(1, 1)[:13])), "beta", "test_truncated"))
    for _ in range(3):
        out.append((bytes(e / sc.IP(src=S4, dst=B4) /
                          sc.UDP(sport=lab.port(), dport=NO_REFLECTOR_PORT) / sc.Raw(req)),
                    None, "no_reflector"))
    for _ in range(2):
        out.append((bytes(sc.Ether(dst="02:00:5e:10:00:99", src=lab.smac) /
                          sc.IP(src=S4, dst=B4) / sc.UDP(sport=lab.port(), dport=ALPHA) /
                          sc.Raw(req)), None, "l2_not_for_us"))
    return out


class Expect:
    """What the box must have counted, per reflector and per drop reason."""

    def __init__(self):
        self.r = {n: dict(rx=0, rx_octets=0, reflected=0, reflected_octets=0, denied=0,
                          gufo_octets=0)
                  for n in REFLECTORS}
        self.drops = {}
        self.sessions = 0

    def reflected(self, name, v6, req_len, rep_len):
        x = self.r[name]
        x["rx"] += 1
        x["rx_octets"] += frame_len(v6, req_len)
        x["reflected"] += 1
        x["reflected_octets"] += frame_len(v6, rep_len)
        x["gufo_octets"] += rep_len + 28  # Gufo Agent: UDP payload + 20 + 8, any IP version

    def denied(self, name, v6, req_len):
        x = self.r[name]
        x["rx"] += 1
        x["rx_octets"] += frame_len(v6, req_len)
        x["denied"] += 1
        self.drop("acl_denied")

    def drop(self, reason, n=1):
        self.drops[reason] = self.drops.get(reason, 0) + n

    def total(self, key):
        return sum(x[key] for x in self.r.values())


def send_known_traffic(lab, d, exp):
    """K packets to each of alpha (TWAMP Light) and beta (STAMP) over IPv4 and IPv6, M to
    denyall (denied), malformed frames; everything recorded in `exp`."""
    plan = [  # (reflector, port, v6, packets, request builder)
        ("alpha", ALPHA, False, 7, lambda i: L.twamp_request(i, size=60)),
        ("alpha", ALPHA, False, 2, lambda i: L.twamp_request(i, size=20)),  # grows to 41
        ("alpha", ALPHA, True, 5, lambda i: L.twamp_request(i, size=41)),
        ("beta", BETA, False, 6, lambda i: L.stamp_request(i, 77)),
        ("beta", BETA, True, 4, lambda i: L.stamp_request(i, 78, tlvs=L.extra_padding_tlv(20))),
    ]
    for name, port, v6, n, make in plan:
        with Peer(v6, lab.port()) as p:
            for i, (req, data) in enumerate(exchange_n(p, port, n, make, f"{name} v6={v6}")):
                r = L.parse_reply(data, stamp=port == BETA)
                eq(r.seq, i, f"{name} v6={v6} #{i}: reflector seq")
                exp.reflected(name, v6, len(req), len(data))
        exp.sessions += 1
    for v6, n in ((False, 4), (True, 2)):
        with Peer(v6, lab.port()) as p:
            for i in range(n):
                req = L.twamp_request(i)
                p.send(req, DENYALL)
                exp.denied("denyall", v6, len(req))
            got = p.expect_silence(0.2)
            check(got is None, f"reply from a denied source: {got!r}")
    frames = malformed_frames(lab, d.mac)
    sendp_all(lab, [f for f, _, _ in frames])
    for f, name, reason in frames:
        if name:
            exp.r[name]["rx"] += 1
            exp.r[name]["rx_octets"] += len(f)
        exp.drop(reason)
    # Counters are written at the end of each burst: wait until the last frames are counted
    # (every expected drop reached), not for a fixed moment.
    want = sum(exp.drops.values())
    wait_for(f"{want} drops counted",
             lambda: sum(scrape(lab).by("twamp_reflector_dropped_packets_total",
                                        "reason").values()) >= want, 60, step=0.1)


def check_families(m):
    """HELP and TYPE for every family, the configured label on every series of ours."""
    problems = []
    for name, labels, _ in m.samples:
        fam = m.family(name)
        if fam is None:
            problems.append(f"{name}: no TYPE line")
            continue
        if not m.help.get(fam, "").strip():
            problems.append(f"{fam}: no HELP text")
        if name.startswith("twamp_reflector_") and {k: labels.get(k) for k in SITE} != SITE:
            problems.append(f"{name}{labels}: configured label site=\"lab1\" missing")
    for fam in m.type:
        check(fam in m.help, f"{fam}: TYPE without HELP")
    check(not problems, "metric families:\n  " + "\n  ".join(sorted(set(problems))[:30]))


def check_last_reload(m, result, t_first):
    """The last-reload series after a reload whose outcome is `result`, decided after
    t_first (Unix time)."""
    want = {r: 0.0 for r in ("applied", "unchanged", "rejected", "refused", "none")}
    want[result] = 1.0
    eq(m.by("twamp_reflector_config_last_reload_result", "result"), want,
       f"config_last_reload_result after a reload {result}")
    eq(m.val("twamp_reflector_config_last_reload_successful"),
       0.0 if result in ("rejected", "refused") else 1.0,
       f"config_last_reload_successful after a reload {result}")
    ts = m.val("twamp_reflector_config_last_reload_timestamp_seconds")
    check(t_first - 1 <= ts <= time.time(),
          f"config_last_reload_timestamp_seconds {ts}: not between {t_first} and now")


@case
def metrics_exact(lab):
    """Prometheus endpoint after known traffic (K packets to each of two reflectors over IPv4
    and IPv6, M denied, malformed frames): Gufo Agent's four counters with its exact HELP/TYPE
    lines as box totals without _total; per-reflector received/reflected packets and octets
    (frame lengths computed from the requests), denied, every drop reason, sessions,
    residence-time histograms, reload and control counters exact; HELP and TYPE on every
    family, site="lab1" on every series. The exit summary agrees."""
    t_before = time.time()
    d = start(lab)
    m = re.search(r"^  capture: (.*)$", d.log(), re.M)
    check(m and m[1].startswith("unavailable"),
          "start-up says capture is possible in a --no-huge --no-shconf instance: "
          f"{m[0] if m else 'no capture line'!r}")
    before = scrape(lab)
    exp = Expect()
    send_known_traffic(lab, d, exp)
    m = scrape(lab)
    check_families(m)

    # Gufo's four: exact HELP and TYPE lines, box totals (only the configured label).
    lines = m.text.splitlines()
    for name, help_text, typ in GUFO:
        for want in (f"# HELP {name} {help_text}", f"# TYPE {name} {typ}"):
            check(want in lines, f"metrics lack the line {want!r}")
        got = m.find(name)
        eq([lb for lb, _ in got], [SITE], f"{name}: series labels (a box total)")
        check(not m.find(name + "_total"), f"{name}_total present: Gufo's name has no _total")
    want_refl = exp.total("reflected")
    eq(want_refl, 24, "reflected packets the case itself counted")
    eq(m.val("twamp_reflector_reflected_pkt"), want_refl, "twamp_reflector_reflected_pkt")
    eq(m.val("twamp_reflector_reflected_octets"), exp.total("reflected_octets"),
       "twamp_reflector_reflected_octets")
    eq(m.val("twamp_reflector_session_attempts"), 0, "session_attempts (no TWAMP-Control)")
    eq(m.val("twamp_reflector_session_started"), 0, "session_started (no TWAMP-Control)")
    # Gufo Agent's definition of the octets (README "What the octet counters count").
    eq(m.val("twamp_reflector_gufo_reflected_octets_total"), exp.total("gufo_octets"),
       "twamp_reflector_gufo_reflected_octets_total (UDP payload + 28 a reply)")
    eq(m.type["twamp_reflector_gufo_reflected_octets_total"], "counter", "TYPE of gufo octets")

    # Prometheus' own linter on the live exposition: only Gufo's four names (kept exactly,
    # without _total) and mbufs_total (a gauge named before this check, an external name
    # perf/soak.sh and the telemetry share) may draw a remark.
    promtool = shutil.which("promtool")
    check(promtool, "promtool not installed (scripts/setup.sh: Debian's prometheus)")
    p = subprocess.run([promtool, "check", "metrics"], input=m.text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    remarks = [ln for ln in p.stdout.decode(errors="replace").splitlines() if ln.strip()]
    known = {name for name, _, _ in GUFO} | {"twamp_reflector_mbufs_total"}
    eq([r for r in remarks if r.split(" ", 1)[0] not in known], [],
       "promtool check metrics remarks on the scrape (other than the known names)")
    print(f"[ figures  ] promtool check metrics: {len(remarks)} remarks: {remarks}")

    # Our own endpoint: nothing but our families (no prometheus-cpp exposer_* series).
    others = sorted({n for n, _, _ in m.samples if not n.startswith("twamp_reflector_")})
    eq(others, [], "series not ours in the scrape (exposer_* served away)")
    check("exposer_" not in m.text, "exposer_ appears in the scrape")
    # What runs, since when; no reload yet; the link; sessions per reflector.
    v = subprocess.run([lab.binary, "--version"], stdout=subprocess.PIPE, timeout=20)
    vm = re.fullmatch(r"dpdk-twamp (\S+) \(DPDK (\S+)\)\n", v.stdout.decode())
    check(vm, f"--version: {v.stdout!r}")
    bi = m.find("twamp_reflector_build_info")
    eq([(lb.get("version"), lb.get("dpdk_version"), val) for lb, val in bi],
       [(vm[1], vm[2], 1.0)], "build_info (versions as --version prints them)")
    eq(m.type["twamp_reflector_build_info"], "gauge", "TYPE of build_info")
    st = m.val("twamp_reflector_start_time_seconds")
    check(t_before - 1 <= st <= time.time(),
          f"start_time_seconds {st} not within the case's start ({t_before}) and now")
    eq(m.val("twamp_reflector_config_last_reload_timestamp_seconds"), 0,
       "config_last_reload_timestamp_seconds (no reload yet)")
    eq(m.val("twamp_reflector_config_last_reload_successful"), 1,
       "config_last_reload_successful (no reload yet)")
    eq(m.by("twamp_reflector_config_last_reload_result", "result"),
       {"applied": 0.0, "unchanged": 0.0, "rejected": 0.0, "refused": 0.0, "none": 1.0},
       "config_last_reload_result")
    eq(m.by("twamp_reflector_port_link_up", "port"), {"wire0": 1.0},
       "port_link_up (the veth is up)")
    eq(m.by("twamp_reflector_port_link_changes_total", "port"), {"wire0": 0.0},
       "port_link_changes_total")
    check(set(m.by("twamp_reflector_port_link_speed_bytes_per_second", "port")) == {"wire0"},
          "port_link_speed_bytes_per_second has a series for wire0")

    # Per reflector.
    for fam, key in (("received_packets_total", "rx"), ("received_bytes_total", "rx_octets"),
                     ("reflected_packets_total", "reflected"),
                     ("reflected_bytes_total", "reflected_octets"),
                     ("denied_packets_total", "denied")):
        got = m.by("twamp_reflector_" + fam, "reflector")
        want = {n: float(x[key]) for n, x in exp.r.items()}
        eq(got, want, f"twamp_reflector_{fam} by reflector")
        eq(m.type["twamp_reflector_" + fam], "counter", f"TYPE of {fam}")
    for name in REFLECTORS:
        x = exp.r[name]
        h = "twamp_reflector_residence_time_seconds"
        eq(m.type[h], "histogram", "TYPE of residence_time_seconds")
        n = m.val(h + "_count", reflector=name)
        eq(n, x["reflected"], f"residence histogram count of {name} (= its replies)")
        buckets = sorted(((float(lb["le"]), v) for lb, v in m.find(h + "_bucket",
                                                                   reflector=name)))
        check(len(buckets) >= 5 and buckets[-1][0] == float("inf"),
              f"{name}: residence buckets {buckets}")
        eq(buckets[-1][1], n, f"{name}: +Inf bucket == count")
        check(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])),
              f"{name}: cumulative buckets decrease: {buckets}")
        for le in ("0.001", "0.002", "0.005", "0.01"):
            check(m.find(h + "_bucket", reflector=name, le=le), f"{name}: no bucket le={le}")
        s = m.val(h + "_sum", reflector=name)
        check(0 <= s <= n * L.MAX_RESIDENCE_NS / 1e9 and (n == 0 or s > 0),
              f"{name}: residence sum {s} s for {n} replies")

    # Drops: every reason present, each exactly as sent.
    drops = m.by("twamp_reflector_dropped_packets_total", "reason")
    check(len(drops) >= 20 and "none" not in drops, f"drop reasons listed: {sorted(drops)}")
    for reason in exp.drops:
        check(reason in drops, f"drop reason {reason} not among the series")
    eq({k: v for k, v in drops.items() if v}, {k: float(v) for k, v in exp.drops.items()},
       "non-zero drop counters")

    # Sessions, reloads, control, clock, ports, workers.
    eq(m.val("twamp_reflector_sessions_created_total"), exp.sessions, "sessions_created_total")
    eq(m.val("twamp_reflector_sessions_active"), exp.sessions, "sessions_active")
    per = m.by("twamp_reflector_reflector_sessions_active", "reflector")
    eq(set(per), set(REFLECTORS), "reflector_sessions_active: one series per reflector")
    eq(sum(per.values()), exp.sessions, "reflector_sessions_active summed == sessions_active")
    eq(m.type["twamp_reflector_sessions_active"], "gauge", "TYPE of sessions_active")
    eq(m.val("twamp_reflector_sessions_aged_total"), 0, "sessions_aged_total")
    eq(m.val("twamp_reflector_sessions_table_full_total"), 0, "sessions_table_full_total")
    eq(m.by("twamp_reflector_config_reloads_total", "result"),
       {"ok": 0.0, "failed": 0.0, "refused": 0.0}, "config_reloads_total")
    eq(m.val("twamp_reflector_control_connections_open"), 0, "control_connections_open")
    check(m.val("twamp_reflector_clock_synchronized") in (0, 1), "clock_synchronized not 0/1")
    check(m.val("twamp_reflector_clock_error_seconds") > 0, "clock_error_seconds not > 0")
    eq([(lb.get("port"), lb.get("source"), v) for lb, v in
        m.find("twamp_reflector_timestamp_source")], [("wire0", "sw", 1.0)],
       "timestamp_source (net_af_packet has no device clock)")
    busy = m.by("twamp_reflector_worker_busy_ratio", "worker")
    check(list(busy) == ["0"] and 0 <= busy["0"] <= 1, f"worker_busy_ratio {busy}")
    # Every frame sent reached the port (those to no reflector or another MAC too).
    n_frames = exp.total("rx") + exp.drops["no_reflector"] + exp.drops["l2_not_for_us"]
    grew = (m.val("twamp_reflector_port_rx_packets_total", port="wire0") -
            before.val("twamp_reflector_port_rx_packets_total", port="wire0"))
    check(grew >= n_frames, f"port_rx_packets_total grew by {grew}, {n_frames} frames sent")
    check(m.val("twamp_reflector_port_tx_packets_total", port="wire0") >= want_refl,
          "port_tx_packets_total < replies")
    exc = m.by("twamp_reflector_exception_packets_total", "direction")
    check(exc.get("to_kernel", 0) >= 1 and exc.get("to_wire", 0) >= 1,
          f"exception_packets_total {exc} (the start-up ping went through the TAP)")

    s = lab.release()
    eq(s["reflected"], want_refl, "reflected in the exit summary")
    eq(s["reflected_octets"], exp.total("reflected_octets"), "octets in the exit summary")
    eq(s["drops"], exp.drops, "drops in the exit summary")


@case
def dashboard_names_in_scrape(lab):
    """Every twamp_reflector_* name conf/grafana/dpdk-twamp.json and
    conf/prometheus/twamp-alerts.yml use is a family of a live scrape (histograms: its
    _bucket, _sum, _count), so no panel or alert waits on a series the box never sends."""
    sys.path.insert(0, os.path.join(lab.src, "tests", "unit", "conf"))
    import check_conf  # noqa: E402 (the offline check's own parser of the two files)
    used = check_conf.used_names(lab.src)
    check(len(used) >= 15, f"names used by the dashboard and alerts: {sorted(used)}")
    start(lab)
    m = scrape(lab)
    missing = sorted(f"{n} ({where})" for n, where in used.items() if m.family(n) is None)
    eq(missing, [], "dashboard/alert names that are no family of the live scrape")
    lab.release()


@case
def metrics_concurrent_scrapes(lab):
    """Review of issue 19: 8 scrapes at once, right after traffic, three rounds. The box gathers
    one scrape at a time (src/metrics/http.cpp; the unit test
    http_exporter.concurrent_scrapes_never_collect_at_once proves no two gathers overlap),
    every scrape is answered in full, and each one's counters are exact for the traffic sent
    before it: a scrape never gets a body gathered before it arrived."""
    d = start(lab)
    # The slow path's first link poll (~100 ms after start): until then wire0 has no
    # port_link_up sample (its state is unknown), and scrapes on either side of it would differ.
    wait_for("port_link_up for wire0", lambda: scrape(lab).find("twamp_reflector_port_link_up"),
             60, step=0.05)
    total = 0
    with Peer(False, lab.port()) as p:
        for rnd in range(3):
            exchange_n(p, ALPHA, 3, lambda i: L.twamp_request(rnd * 3 + i, size=41),
                       f"round {rnd}")
            total += 3
            got, errors = [None] * 8, []

            def one(k):
                try:
                    got[k] = scrape(lab)
                except Exception as e:  # noqa: BLE001 (reported, the case fails on it)
                    errors.append(f"scrape {k}: {e}")
            threads = [threading.Thread(target=one, args=(k,)) for k in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            eq(errors, [], f"round {rnd}: concurrent scrapes")
            check(all(got), f"round {rnd}: a scrape thread did not finish")
            eq([m.val("twamp_reflector_reflected_pkt") for m in got], [float(total)] * 8,
               f"round {rnd}: reflected_pkt in each of 8 concurrent scrapes after {total} "
               "replies")
            eq([m.val("twamp_reflector_reflected_packets_total", reflector="alpha")
                for m in got], [float(total)] * 8, f"round {rnd}: alpha's reflected packets")
            names = [sorted({n for n, _, _ in m.samples}) for m in got]
            check(all(n == names[0] for n in names),
                  f"round {rnd}: concurrent scrapes with different series: "
                  f"{[sorted(set(n) ^ set(names[0])) for n in names]}")
    check(d.proc.poll() is None, "the box exited during concurrent scrapes\n" + d.tail())
    lab.release()


# ---------------------------------------------------------------------------------------------
# 2. DPDK telemetry.

ODD_NAME = "core-1.lab"  # valid in the config, not as a DPDK telemetry dictionary name
# limit_drops_total's reasons (metrics::limit_reason).
LIMIT_REASONS = ("reflector_source_port", "rate_limit_reflector", "rate_limit_prefix",
                 "rate_limit_source", "session_rate_limit", "session_cap")


def telemetry_key(name):
    """The dictionary key /twamp/reflectors uses for a name (README, "DPDK telemetry")."""
    return re.sub(r"[^A-Za-z0-9_/]", "_", name)


@case
def telemetry_json(lab):
    """dpdk-telemetry.py: /twamp/stats, /twamp/reflectors, /twamp/sessions, /twamp/clock and
    /twamp/control answer valid JSON; stats equal the Prometheus scrape; sessions lists exactly
    the sessions made (source port, packets, reflector_sequence, last_sender_sequence, and one
    gap, one duplicate, one reorder where they were sent); per-reflector counts exact. One
    reflector is named "core-1.lab": '-' and '.' are refused in telemetry dictionary names, and
    it must still appear (key "core_1_lab", its exact name in "name"). Each reflector's limit
    drops (limit_drops_<reason>, prefix_limit_drops_<prefix>) equal the scrape's: "flip"
    (stateless, a prefix rule of 1 request a second) refuses 2 of 3 requests sent at once."""
    d = start(lab, lines=ops_conf(lab, gone_name=ODD_NAME, flip_extra=(
        ' stateful = false; prefix-limits = ( { prefix = "198.18.0.0/25"; rate-limit-pps = 1; }'
        ' );')))
    sessions = {}  # source port -> expectation
    with Peer(False, lab.port()) as a, Peer(True, lab.port()) as b, \
            Peer(False, lab.port()) as c:
        # Sender seq 0,1,3,3,2,4: a gap (2 skipped), a duplicate (3), a reorder (2 late).
        for i, seq in enumerate((0, 1, 3, 3, 2, 4)):
            data, *_ = a.exchange(L.twamp_request(seq, size=50), ALPHA, f"session A #{i}")
            eq(L.parse_reply(data).seq, i, f"session A #{i}: reflector seq")
        sessions[a.sport] = dict(reflector="alpha", source=S4, destination=B4,
                                 destination_port=ALPHA, ssid=0, packets=6,
                                 reflector_sequence=6, last_sender_sequence=4, gaps=1,
                                 duplicates=1, reorders=1)
        for seq in (10, 11, 12):
            b.exchange(L.twamp_request(seq), ALPHA, f"session B seq {seq}")
        sessions[b.sport] = dict(reflector="alpha", source=S6, destination=B6,
                                 destination_port=ALPHA, ssid=0, packets=3,
                                 reflector_sequence=3, last_sender_sequence=12, gaps=0,
                                 duplicates=0, reorders=0)
        for seq in range(4):
            c.exchange(L.stamp_request(seq, 0x4242), BETA, f"session C seq {seq}")
        sessions[c.sport] = dict(reflector="beta", source=S4, destination=B4,
                                 destination_port=BETA, ssid=0x4242, packets=4,
                                 reflector_sequence=4, last_sender_sequence=3, gaps=0,
                                 duplicates=0, reorders=0)
        for i in range(3):
            c.send(L.twamp_request(i), DENYALL)
        for i in range(3):  # at once: the rule's bucket holds one
            a.send(L.twamp_request(i), FLIP_A)
    wait_for("flip's prefix rule refused 2 of 3", lambda: scrape(lab).val(
        "twamp_reflector_prefix_limit_drops_total", reflector="flip",
        prefix="198.18.0.0/25") >= 2, 60, step=0.1)
    wait_for("the 3 denied requests counted",
             lambda: scrape(lab).val("twamp_reflector_denied_packets_total",
                                     reflector="denyall") >= 3, 60, step=0.1)
    want_refl = {  # reflector -> (rx, rx octets, reflected, reflected octets, denied, active)
        "alpha": (9, 6 * frame_len(False, 50) + 3 * frame_len(True, 41),
                  9, 6 * frame_len(False, 50) + 3 * frame_len(True, 41), 0, 2),
        "beta": (4, 4 * frame_len(False, 44), 4, 4 * frame_len(False, 44), 0, 1),
        "denyall": (3, 3 * frame_len(False, 41), 0, 0, 3, 0),
        "flip": (3, 3 * frame_len(False, 41), 1, frame_len(False, 41), 0, 0),
        ODD_NAME: (0, 0, 0, 0, 0, 0),
    }

    m1 = scrape(lab)
    docs = {c: telemetry(d, c) for c in ("/twamp/stats", "/twamp/reflectors", "/twamp/sessions",
                                         "/twamp/clock", "/twamp/control")}
    m2 = scrape(lab)

    st = docs["/twamp/stats"]
    for k, name in (("reflected_packets", "twamp_reflector_reflected_pkt"),
                    ("reflected_octets", "twamp_reflector_reflected_octets"),
                    ("sessions_active", "twamp_reflector_sessions_active"),
                    ("sessions_created", "twamp_reflector_sessions_created_total"),
                    ("sessions_aged", "twamp_reflector_sessions_aged_total"),
                    ("sessions_table_full", "twamp_reflector_sessions_table_full_total")):
        eq(st[k], m1.val(name), f"/twamp/stats {k} vs {name}")
        eq(m1.val(name), m2.val(name), f"{name} moved between two scrapes")
    eq(st["reflected_packets"], 14, "/twamp/stats reflected_packets (the case's 14 replies)")
    eq(st["sessions_created"], 3, "/twamp/stats sessions_created")
    drops = m1.by("twamp_reflector_dropped_packets_total", "reason")
    eq({k: float(v) for k, v in st["drops"].items()}, drops, "/twamp/stats drops vs scrape")
    eq(st["dropped_packets"], sum(drops.values()), "/twamp/stats dropped_packets")
    eq(st["drops"]["acl_denied"], 3, "/twamp/stats drops.acl_denied")
    exc1 = m1.by("twamp_reflector_exception_packets_total", "direction")
    exc2 = m2.by("twamp_reflector_exception_packets_total", "direction")
    for k in ("to_kernel", "to_wire"):
        check(exc1[k] <= st[k] <= exc2[k],
              f"/twamp/stats {k} {st[k]} not between the scrapes' {exc1[k]}..{exc2[k]}")
    test_rx = sum(v[0] for v in want_refl.values())
    check(st["rx_packets"] >= test_rx + st["to_kernel"],
          f"/twamp/stats rx_packets {st['rx_packets']} < test packets {test_rx} + to_kernel")
    # The mbuf pool: the same size both ways, in use within it (idle: what RX holds).
    eq(st["mbufs_total"], m1.val("twamp_reflector_mbufs_total"), "/twamp/stats mbufs_total")
    check(0 < st["mbufs_in_use"] <= st["mbufs_total"],
          f"/twamp/stats mbufs_in_use {st['mbufs_in_use']} of {st['mbufs_total']}")

    rf = docs["/twamp/reflectors"]
    names = ["alpha", "beta", "denyall", "flip", ODD_NAME]
    eq(sorted(rf), sorted(telemetry_key(n) for n in names), "/twamp/reflectors keys")
    for key, x in rf.items():
        check(isinstance(x, dict) and "name" in x, f"/twamp/reflectors {key}: no name: {x!r}")
        eq(telemetry_key(x["name"]), key, f"/twamp/reflectors {key}: key of name {x['name']!r}")
    by_name = {x["name"]: x for x in rf.values()}
    eq(sorted(by_name), sorted(names), "/twamp/reflectors names")
    for name, w in want_refl.items():
        x = by_name[name]
        got = (x["rx_packets"], x["rx_octets"], x["reflected_packets"], x["reflected_octets"],
               x["denied_packets"], x["sessions_active"])
        eq(got, w, f"/twamp/reflectors {name} (rx, rx octets, reflected, octets, denied, "
                   "sessions)")
        eq(x["mode"], "stamp" if name == "beta" else "twamp-light", f"{name} mode")
        eq(x["reflected_packets"],
           m1.val("twamp_reflector_reflected_packets_total", reflector=name),
           f"/twamp/reflectors {name} reflected vs the scrape")
        for reason in LIMIT_REASONS:
            eq(x[f"limit_drops_{reason}"],
               m1.val("twamp_reflector_limit_drops_total", reflector=name, reason=reason),
               f"/twamp/reflectors {name} limit_drops_{reason} vs the scrape")
        prefix_drops = {k: v for k, v in x.items() if k.startswith("prefix_limit_drops_")}
        eq(prefix_drops, {"prefix_limit_drops_198_18_0_0/25": 2} if name == "flip" else {},
           f"/twamp/reflectors {name} prefix_limit_drops_*")
    eq(by_name["flip"]["limit_drops_rate_limit_prefix"], 2, "flip's rate_limit_prefix drops")
    eq(m1.val("twamp_reflector_prefix_limit_drops_total", reflector="flip",
              prefix="198.18.0.0/25"), 2, "prefix_limit_drops_total of flip's rule")

    ss = docs["/twamp/sessions"]
    got = {}
    for key, x in ss.items():
        check(re.fullmatch(r"w\d+_\d+", key), f"/twamp/sessions key {key!r}")
        got[x["source_port"]] = x
    eq(sorted(got), sorted(sessions), "/twamp/sessions source ports")
    for sport, w in sessions.items():
        x = got[sport]
        eq({k: x[k] for k in w}, w, f"/twamp/sessions entry of source port {sport}")
        eq(x["worker"], 0, f"/twamp/sessions {sport}: worker")

    ck = docs["/twamp/clock"]
    eq(ck["synchronized"], m1.val("twamp_reflector_clock_synchronized"),
       "/twamp/clock synchronized vs the scrape")
    eq(ck["timestamp_source"], {"wire0": "sw"}, "/twamp/clock timestamp_source")
    eq(ck["tai_utc_offset_s"], L.tai_utc_offset(), "/twamp/clock tai_utc_offset_s")
    check(ck["error_ns"] > 0 and ck["tsc_hz"] > 10**8, f"/twamp/clock {ck}")
    eq(docs["/twamp/control"], {"session_attempts": 0, "session_started": 0,
                                "connections_open": 0, "key_derivations_done": 0,
                                "key_derivations_refused": 0, "key_derivation_ns": 0,
                                "connections_backed_up": 0, "busy_polls": 0},
       "/twamp/control")
    lab.release()


# ---------------------------------------------------------------------------------------------
# 3. --stats-period.

STATS_RE = re.compile(r"^stats: (\S+)\s+rx\s+(\d+) pps\s+tx\s+(\d+) pps\s+(denied|dropped)\s+"
                      r"(\d+)\s+sessions (\d+)$", re.M)


def stats_blocks(text):
    """[{name: (rx pps, tx pps, denied-or-dropped, sessions)}], one dict per period."""
    blocks, cur = [], {}
    for m in STATS_RE.finditer(text):
        cur[m[1]] = (int(m[2]), int(m[3]), int(m[5]), int(m[6]))
        if m[1] == "total":
            blocks.append(cur)
            cur = {}
    return blocks


@case
def stats_period(lab):
    """--stats-period 1: every second a block: a time line (UTC, the period), one line per
    reflector, a total line; while twamp-ping sends 400 pps to alpha and 200 pps to beta, the
    periods' rx pps x period add up to what was sent (tx as rx), denied packets appear once in
    denyall's and the total's columns, and the sessions column counts each run's session. Then
    a reload removes "gone", adds "newbie" in front and reorders the rest: the rows follow the
    new config by name, and 400 packets to alpha show as alpha's, none elsewhere (rows were
    matched by index: rx 1839544713687342336 pps)."""
    d = start(lab, app_args=["--stats-period", "1"])
    wait_for("first stats block", lambda: stats_blocks(d.log()), 30)
    n0 = len(stats_blocks(d.log()))
    runs = [("alpha", 400, [B4, "--rate", 400, "-c", 1200]),
            ("beta", 200, [f"{B4}:{BETA}", "--mode", "stamp", "--rate", 200, "-c", 600])]
    procs = []
    for name, _, a in runs:
        procs.append(subprocess.Popen(L.ping_cmd(lab, a[0], *a[1:]), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, preexec_fn=L.pdeathsig))
    with Peer(False, lab.port()) as p:
        for i in range(5):
            p.send(L.twamp_request(i), DENYALL)
    outs = []
    for pr in procs:
        try:
            out, err = pr.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            pr.kill()
            raise Failure("twamp-ping did not finish within 20 s") from None
        outs.append(L.parse_ping_output(out.decode()) + (pr.returncode,))
    for (name, rate, a), (replies, others, summ, rc) in zip(runs, outs):
        check_count = a[-1]
        L.check_ping_run(f"twamp-ping to {name}", (rc, replies, others, summ),
                         count=check_count, size=44 if name == "beta" else 41)
    # Two more periods: the last one that saw traffic is printed.
    n1 = len(stats_blocks(d.log()))
    wait_for("two more stats blocks", lambda: len(stats_blocks(d.log())) >= n1 + 2, 30)
    blocks = stats_blocks(d.log())
    for i, b in enumerate(blocks):
        eq(list(b), REFLECTORS + ["total"], f"stats block {i}: lines")
    check(all(b["alpha"][0] == 0 for b in blocks[:n0]), "alpha rx pps before any traffic")
    during = blocks[n0:]
    check_stats_times(d.log())
    periods = stats_periods(d.log())[n0:]
    for name, rate, a in runs:
        count = a[-1]
        rx = [b[name][0] for b in during]
        tx = [b[name][1] for b in during]
        # pps x the block's own period: a loaded machine stretches periods and makes the
        # sender bursty, so no single period need show the nominal rate; the packets must add
        # up.
        got = sum(x * per for x, per in zip(rx, periods))
        check(0.95 * count <= got <= 1.05 * count,
              f"{name}: the periods' rx pps x period add up to {got:.0f}, sent {count}: "
              f"{list(zip(rx, periods))}")
        # Over the periods, not each one: a gather may fall between a burst's receipt and its
        # transmission.
        sent = sum(x * per for x, per in zip(tx, periods))
        check(abs(got - sent) <= 0.01 * got + 2,
              f"{name}: tx pps differs from rx pps: rx {rx}, tx {tx}")
        eq(blocks[-1][name][3], 1, f"{name}: sessions column after one twamp-ping run")
    eq(sum(b["denyall"][2] for b in blocks), 5, "denyall: denied column over all periods")
    eq(sum(b["total"][2] for b in blocks), 5, "total: dropped column over all periods")
    eq(sum(b["alpha"][2] + b["beta"][2] for b in blocks), 0, "alpha/beta denied columns")
    eq(blocks[-1]["total"][3], 2, "total: sessions column")
    check_stats_times(d.log())

    # A reload that removes "gone", adds "newbie" in front and reorders the rest: rows follow
    # names, not positions (alpha's 1,200 packets must not show up as another row's, nor
    # another row's smaller count be subtracted from alpha's).
    order = ["newbie", "flip", "denyall", "alpha", "beta"]
    write_file(d.conf, ops_conf(lab, order=order))
    # A generous cap: a loaded machine delays the slow path's round.
    reload_and_wait(d, r"^TWAMP: reload: reflectors\[\"newbie\"\] added.*$", 0, timeout=30)
    at = d.log().index('reflectors["newbie"] added')
    after_lines = lambda: stats_blocks(d.log()[at:])  # noqa: E731
    wait_for("a stats block after the reload", after_lines, 15)
    ping = subprocess.run(L.ping_cmd(lab, B4, "--rate", 200, "-c", 400), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=30)
    replies, others, summ = L.parse_ping_output(ping.stdout.decode())
    # Only the count matters here (the run's timing is lab_tests' check_ping_run's business).
    eq((ping.returncode, len(replies), sorted(r["seq"] for r in replies)),
       (0, 400, list(range(400))), "twamp-ping to alpha after the reload: exit, replies, seqs")
    n2 = len(after_lines())
    wait_for("two more stats blocks after the reload", lambda: len(after_lines()) >= n2 + 2,
             15)
    after = after_lines()
    for i, b in enumerate(after):
        eq(list(b), order + ["total"], f"stats block {i} after the reload: lines in config order")
        for name, (rx, tx, den, sess) in b.items():
            check(rx <= 2000 and tx <= 2000 and den <= 10 and sess <= 10,
                  f"stats block {i} after the reload: {name} rx {rx} tx {tx} pps, "
                  f"denied/dropped {den}, sessions {sess}: not what was sent (400 packets)")
    rx = [b["alpha"][0] for b in after]
    periods = stats_periods(d.log()[at:])
    got = sum(x * per for x, per in zip(rx, periods))
    check(0.95 * 400 <= got <= 1.05 * 400,
          f"alpha after the reload: rx pps x period add up to {got:.0f}, sent 400: "
          f"{list(zip(rx, periods))}")
    eq(sum(b["newbie"][0] + b["flip"][0] + b["beta"][0] for b in after), 0,
       "rx of the reflectors that got no traffic after the reload")
    eq(sum(b["denyall"][2] for b in after), 0, "denyall: denied after the reload")
    check_stats_times(d.log())
    lab.release()


STATS_TIME_RE = re.compile(r"^stats: time (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z period "
                           r"(\d+\.\d{3}) s$", re.M)


def stats_periods(text):
    """The period (s) of each block, from its time line."""
    return [float(m[2]) for m in STATS_TIME_RE.finditer(text)]


def check_stats_times(text):
    """Every block starts with "stats: time <UTC> period <s> s": times increasing, each the
    period after the one before, the last within a minute of this machine's clock."""
    lines = [m for m in re.finditer(r"^stats: (time|total) .*$", text, re.M)]
    kinds = [m[1] for m in lines]
    check(kinds and kinds[0] == "time" and all(a != b for a, b in zip(kinds, kinds[1:])),
          f"stats: not one time line before each block's lines: {kinds}")
    times = []
    for m in STATS_TIME_RE.finditer(text):
        t = calendar.timegm(time.strptime(m[1][:19], "%Y-%m-%dT%H:%M:%S"))
        times.append((t + float(m[1][20:]) / 1000, float(m[2])))
    eq(len(times), kinds.count("time"), "stats time lines in the expected form")
    for (t0, _), (t1, period) in zip(times, times[1:]):
        # No upper bound: a loaded machine (or a reload's table building) may delay a block;
        # its period then says so, and must match the time lines.
        check(period >= 0.5 and abs((t1 - t0) - period) <= 0.5,
              f"stats: block at {t1} (period {period}) after one at {t0}")
    check(abs(times[-1][0] - time.time()) < 60, f"stats: last block's time {times[-1][0]} is "
          f"not this machine's ({time.time()})")


# ---------------------------------------------------------------------------------------------
# 4. dpdk-dumpcap.

HUGE_DIR = "/sys/kernel/mm/hugepages/hugepages-2048kB"


class Hugepages:
    """Reserve `need` free 2 MiB pages (raising nr_hugepages by what is missing), mount
    hugetlbfs when nothing is mounted; undo both on exit, and remove the hugepage files of the
    EAL prefixes given to cleanup() (EAL leaves them behind for secondaries)."""

    def __init__(self, need):
        self.need = need
        self.prev = None
        self.mounted = None
        self.mount = None

    @staticmethod
    def _read(name):
        with open(os.path.join(HUGE_DIR, name)) as f:
            return int(f.read())

    @staticmethod
    def _write(n):
        with open(os.path.join(HUGE_DIR, "nr_hugepages"), "w") as f:
            f.write(f"{n}\n")

    def __enter__(self):
        if not os.path.isdir(HUGE_DIR):
            raise L.Skip("no 2 MiB hugepage support in this kernel")
        with open("/proc/mounts") as f:
            mounts = [ln.split()[1] for ln in f if ln.split()[2:3] == ["hugetlbfs"]]
        if mounts:
            self.mount = mounts[0]
        else:
            os.makedirs("/dev/hugepages", exist_ok=True)
            if subprocess.run(["mount", "-t", "hugetlbfs", "nodev", "/dev/hugepages"],
                              stderr=subprocess.PIPE).returncode != 0:
                raise L.Skip("cannot mount hugetlbfs on /dev/hugepages")
            self.mount = self.mounted = "/dev/hugepages"
        try:
            self.prev = self._read("nr_hugepages")
            free = self._read("free_hugepages")
            if free < self.need:
                self._write(self.prev + self.need - free)
                free = self._read("free_hugepages")
        except OSError as e:
            self.__exit__()
            raise L.Skip(f"cannot reserve hugepages: {e}") from None
        if free < self.need:
            self.__exit__()
            raise L.Skip(f"only {free} of {self.need} 2 MiB hugepages could be reserved")
        return self

    def cleanup(self, prefixes):
        for p in prefixes:
            for f in glob.glob(os.path.join(self.mount, f"{p}map_*")):
                try:
                    os.unlink(f)
                except OSError:
                    pass

    def __exit__(self, *exc):
        if self.prev is not None:
            try:
                self._write(self.prev)
            except OSError:
                pass
            self.prev = None
        if self.mounted:
            subprocess.run(["umount", self.mounted], stderr=subprocess.DEVNULL)
            self.mounted = None


def tshark_rows(pcap, fields, display_filter):
    cmd = ["tshark", "-n", "-r", pcap, "-d", f"udp.port=={ALPHA},twamp.test", "-d",
           f"udp.port=={BETA},twamp.test", "-Y", display_filter, "-T", "fields", "-E",
           "separator=|"]
    for f in fields:
        cmd += ["-e", f]
    out = L.run(cmd, env=dict(os.environ, LC_ALL="C")).stdout.decode(errors="replace")
    return [ln.split("|") for ln in out.splitlines() if ln.strip()]


@case
def dumpcap_capture(lab):
    """dpdk-dumpcap (a DPDK secondary process) captures on net_af_packet0 while dpdk-twamp runs
    with hugepages and shared config (reserved by the case, restored after): the pcapng holds
    exactly the requests and the reflected TWAMP-Test/STAMP replies of two twamp-ping runs
    (tshark: addresses, ports, lengths, reflector and sender seq), and the denied requests
    without replies. SKIPPED when hugepages cannot be reserved."""
    if not shutil.which("dpdk-dumpcap"):
        raise Failure("dpdk-dumpcap not installed (Debian package dpdk)")
    pcap = os.path.join(lab.workdir, "dumpcap.pcapng")
    with Hugepages(512) as hp:
        d = None
        cap = None
        try:
            d = start(lab, huge=True, mem_mb=1024)
            m = re.search(r"^  capture: (.*)$", d.log(), re.M)
            check(m and m[1] == "dpdk-dumpcap ready",
                  f"start-up capture line with hugepages: {m[0] if m else None!r}")
            caplog = open(os.path.join(lab.workdir, "dumpcap.log"), "w+")
            cap = subprocess.Popen(
                ["ip", "netns", "exec", lab.rns, "timeout", "600", "stdbuf", "-oL",
                 "dpdk-dumpcap", f"--file-prefix={d.prefix}", "-i", "net_af_packet0", "-w",
                 pcap, "-q"], stdin=subprocess.DEVNULL, stdout=caplog, stderr=subprocess.STDOUT,
                preexec_fn=L.pdeathsig)

            def capturing():
                caplog.seek(0)
                text = caplog.read()
                check(cap.poll() is None, f"dpdk-dumpcap exited {cap.returncode}: {text}")
                return "Capturing on 'net_af_packet0'" in text
            wait_for("dpdk-dumpcap 'Capturing on'", capturing, 60)
            s4, s6 = lab.port(), lab.port()
            L.check_ping_run("captured light IPv4",
                             L.twamp_ping(lab, B4, "-c", 8, "-i", 0.01, "--src-port", s4),
                             count=8, size=41)
            L.check_ping_run("captured STAMP IPv6",
                             L.twamp_ping(lab, f"[{B6}]:{BETA}", "--mode", "stamp", "-c", 5,
                                          "-i", 0.01, "--src-port", s6, "-s", 60),
                             count=5, size=60)
            with Peer(False, lab.port()) as p:
                sd = p.sport
                for i in range(3):
                    p.send(L.twamp_request(i), DENYALL)

            # dpdk-dumpcap writes each packet straight to the file: stop it once the last
            # ones (the denied requests) are there, not after a fixed moment.
            def denied_captured():
                cmd = ["tshark", "-n", "-r", pcap, "-Y",
                       f"udp.srcport=={sd} && udp.dstport=={DENYALL}", "-T", "fields", "-e",
                       "frame.number"]
                out = L.run(cmd, check_rc=False).stdout.decode(errors="replace")
                return len(out.split()) >= 3
            wait_for("the denied requests in the capture file", denied_captured, 60, step=0.2)
            cap.send_signal(signal.SIGINT)  # timeout passes it on to dpdk-dumpcap
            try:
                cap.wait(10)
            except subprocess.TimeoutExpired:
                cap.kill()
                raise Failure("dpdk-dumpcap did not stop on SIGINT within 10 s") from None
            caplog.seek(0)
            text = caplog.read()
            check(os.path.exists(pcap), f"no capture file; dpdk-dumpcap said:\n{text}")
            s = lab.release()
            eq(s["reflected"], 13, "reflected in the exit summary")
        finally:
            if cap is not None and cap.poll() is None:
                cap.kill()
                cap.wait(5)
            if lab.dut is not None:
                lab.dut.stop()
                lab.dut = None
            hp.cleanup([d.prefix] if d else [])

    fields = ["frame.interface_name", "ip.src", "ipv6.src", "udp.srcport", "udp.dstport",
              "udp.length", "twamp.test.seq_number", "twamp.test.sender_seq_number"]
    for what, filt, n, src, sport, ulen, rseq in (
            ("IPv4 requests", f"udp.srcport=={s4} && udp.dstport=={ALPHA}", 8, S4, s4, 49, None),
            ("IPv4 replies", f"udp.srcport=={ALPHA} && udp.dstport=={s4}", 8, B4, ALPHA, 49,
             True),
            ("IPv6 STAMP requests", f"udp.srcport=={s6} && udp.dstport=={BETA}", 5, S6, s6, 68,
             None),
            ("IPv6 STAMP replies", f"udp.srcport=={BETA} && udp.dstport=={s6}", 5, B6, BETA, 68,
             True),
            ("denied requests", f"udp.srcport=={sd} && udp.dstport=={DENYALL}", 3, S4, sd, 49,
             None),
            ("replies to denied requests", f"udp.srcport=={DENYALL}", 0, None, None, None, None)):
        rows = tshark_rows(pcap, fields, filt)
        eq(len(rows), n, f"captured {what}")
        for i, r in enumerate(rows):
            # dpdk-dumpcap names the interface after the kernel's (the veth) when it has one.
            check(r[0] in ("net_af_packet0", f"{lab.name}r0"),
                  f"{what} #{i}: pcapng interface name {r[0]!r}")
            eq(r[1] or r[2], src, f"{what} #{i}: source address")
            eq((int(r[3]), int(r[5])), (sport, ulen), f"{what} #{i}: source port, UDP length")
            if rseq:
                eq((int(r[6]), int(r[7])), (i, i), f"{what} #{i}: reflector and sender seq")


# ---------------------------------------------------------------------------------------------
# 5. Live reload (SIGHUP).

FLIP_LINE = r'^TWAMP: reload: reflectors\["flip"\]\.udp-ports: .*$'


@case
def reload_flip_under_load(lab):
    """50 SIGHUPs, each flipping reflector 'flip' between (UDP 64370, sender admitted) and
    (UDP 64371, sender denied), while twamp-ping streams 2000 pps to the unaffected reflector
    alpha from before the first reload until after the last (it is interrupted once the
    reloads are done, however long they took): not one of its packets lost, its reflector seq
    never restarts (the session survives every reload). After each reload is logged, probes
    behave per the new config (64370 answered / silent, the flip session's seq continuing
    across states);
    totals exact: flip received 50 = 25 reflected + 25 denied, no_reflector 50, reloads ok 50."""
    # A deep receive ring (8192 frames, 4 s of the stream): on a loaded machine the worker
    # thread can go without CPU for a while, and the default 512 frames (a quarter of a
    # second at 2000 pps) then overflow in the kernel before the box sees them. That would be
    # loss the reloads did not cause.
    ring = ",framecnt=8192"
    d = start(lab, ops_conf(lab, device_extra=ring))
    path = d.conf
    # The stream's -c is only a cap (10 minutes): it runs until the reloads are done.
    n_reloads, rate, cap = 50, 2000, 2000 * 600
    out_path = os.path.join(lab.workdir, "stream.json")
    with open(out_path, "w") as out, Peer(False, lab.port()) as pa, \
            Peer(False, lab.port()) as pb:
        stream = subprocess.Popen(L.ping_cmd(lab, B4, "--rate", rate, "-c", cap, "-W", 30),
                                  stdout=out, stderr=subprocess.PIPE, preexec_fn=L.pdeathsig)
        try:
            # Under load before the first reload: alpha has reflected some of the stream.
            def died(when):
                if stream.poll() is not None:
                    raise Failure(f"the stream ended {when} (exit {stream.returncode}): "
                                  f"{stream.stderr.read().decode(errors='replace')}")

            def streaming():
                died("before the reloads")
                return scrape(lab).val("twamp_reflector_reflected_packets_total",
                                       reflector="alpha") >= 200
            wait_for("the stream to alpha to flow", streaming, 60, step=0.05)
            t_start = time.monotonic()
            del RELOAD_TIMES[:]
            a_probes = 0
            for i in range(1, n_reloads + 1):
                admit = i % 2 == 0  # the file starts admitting on 64370; reload 1 flips it
                port = FLIP_A if admit else FLIP_B
                write_file(path, ops_conf(lab, flip_admit=admit, flip_port=port,
                                          device_extra=ring))
                line = reload_and_wait(d, FLIP_LINE, i - 1)
                old = FLIP_B if admit else FLIP_A
                eq(line, f'TWAMP: reload: reflectors["flip"].udp-ports: [ {old} ] -> '
                         f'[ {port} ] (reloadable)', f"reload {i}: log line")
                if admit:
                    # Admitted on 64370; 64371 is nobody's now.
                    data, *_ = pa.exchange(L.twamp_request(i), FLIP_A, f"after reload {i}")
                    eq(L.parse_reply(data).seq, a_probes,
                       f"after reload {i}: flip session's reflector seq (continues)")
                    a_probes += 1
                    pb.send(L.twamp_request(i), FLIP_B)
                else:
                    # 64371 is flip's but the sender is denied; 64370 is nobody's.
                    pb.send(L.twamp_request(i), FLIP_B)
                    pa.send(L.twamp_request(i), FLIP_A)
                # Every probe of this step must have reached the dataplane before the next
                # reload: on a loaded machine a datagram can sit in the kernel for a while, and
                # one handled after the next flip would be judged by that config (each step
                # sends exactly two flip-port probes; every one ends as flip received or as a
                # no_reflector drop).
                def probes_seen():
                    m = scrape(lab)
                    got = (m.val("twamp_reflector_received_packets_total", reflector="flip") +
                           m.val("twamp_reflector_dropped_packets_total", reason="no_reflector"))
                    return got if got >= 2 * i else None
                wait_for(f"the dataplane to see step {i}'s probes", probes_seen, 60, step=0.01)
                # Spread the reloads over the stream: one every 0.25 s.
                time.sleep(max(0.0, t_start + 0.25 * i - time.monotonic()))
            died("during the reloads")
            # Still under load after the last reload (the dataplane saw its probes): a last
            # stretch of the stream, then stop it; it waits for its replies in flight.
            n_before = scrape(lab).val("twamp_reflector_reflected_packets_total",
                                       reflector="alpha")
            wait_for("the stream to go on after the last reload",
                     lambda: scrape(lab).val("twamp_reflector_reflected_packets_total",
                                             reflector="alpha") >= n_before + 200, 60,
                     step=0.05)
            t_reloads = time.monotonic() - t_start
            stream.send_signal(signal.SIGINT)
            try:
                _, err = stream.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                stream.kill()
                raise Failure("twamp-ping stream did not end within 60 s of SIGINT") from None
        finally:
            if stream.poll() is None:
                stream.kill()
                stream.wait(5)
        time.sleep(0.2)
        extra_a = pa.expect_silence(0.2)
        extra_b = pb.expect_silence(0.0)
    check(extra_a is None, f"an unexpected reply on 64370: {extra_a!r}")
    check(extra_b is None, f"a reply on 64371, where flip was either absent or denying: "
                           f"{extra_b!r}")
    eq(a_probes, n_reloads // 2, "probes answered")
    with open(out_path) as f:
        res = L.parse_ping_output(f.read())
    check(res[2] is not None, f"the stream printed no summary: {err.decode(errors='replace')}")
    count = res[2]["sent"]
    check(count < cap, f"the stream sent its whole cap of {cap}: it was never interrupted")
    # Zero loss, reflector seq == sender seq throughout: no session reset by any reload. (-W
    # 30: a reply late because a loaded machine starved a thread is late, not lost.)
    missed = scrape(lab).val("twamp_reflector_port_rx_missed_packets_total", port="wire0")
    check(res[2]["lost"] == 0 or missed == 0,
          f"{res[2]['lost']} of the stream's packets lost, {missed} of them missed by the "
          "port's receive ring (the worker had no CPU for longer than the ring lasts)")
    L.check_ping_run(f"stream to alpha during 50 reloads ({count} packets)",
                     (stream.returncode,) + res, count=count, size=41)
    m = scrape(lab)
    eq(m.by("twamp_reflector_config_reloads_total", "result"),
       {"ok": float(n_reloads), "failed": 0.0, "refused": 0.0}, "config_reloads_total")
    want = {"received_packets_total": n_reloads, "reflected_packets_total": n_reloads // 2,
            "denied_packets_total": n_reloads // 2}
    got = {k: m.val("twamp_reflector_" + k, reflector="flip") for k in want}
    eq(got, {k: float(v) for k, v in want.items()}, "flip's counters")
    eq(m.val("twamp_reflector_reflected_packets_total", reflector="alpha"), count,
       "alpha reflected")
    eq(m.val("twamp_reflector_received_packets_total", reflector="alpha"), count,
       "alpha received")
    drops = {k: v for k, v in m.by("twamp_reflector_dropped_packets_total", "reason").items()
             if v}
    eq(drops, {"no_reflector": float(n_reloads), "acl_denied": n_reloads / 2}, "drops")
    eq(m.val("twamp_reflector_sessions_created_total"), 2,
       "sessions created (the stream's and the flip probe's, each once)")
    eq(m.val("twamp_reflector_sessions_aged_total"), 0, "sessions aged")
    lab.release()
    print(f"    {n_reloads} reloads in {t_reloads:.1f} s during the stream (SIGHUP to log line: "
          f"max {max(RELOAD_TIMES) * 1000:.1f} ms, mean "
          f"{sum(RELOAD_TIMES) / len(RELOAD_TIMES) * 1000:.1f} ms); {count} packets, none lost",
          flush=True)


RELOAD_RESULT = r"^TWAMP: reload (?:rejected|refused)[^\n]*$"


@case
def reload_rejected(lab):
    """A file with a syntax error, then one with a bad prefix: each rejected with its
    file:line in the log, config_reloads_total{result="failed"} counts them, the running
    config keeps serving (alpha's session continues, the bad files' other change is not
    applied); a good file afterwards is applied."""
    d = start(lab)
    path = d.conf
    with Peer(False, lab.port()) as p:
        data, *_ = p.exchange(L.twamp_request(0), ALPHA, "before the bad files")
        eq(L.parse_reply(data).seq, 0, "reflector seq before")
        good = ops_conf(lab, alpha_ports=(ALPHA, 64380))
        bad1 = list(good)
        bad1.insert(7, '  { name = = "broken"; },')  # after "reflectors = (" (line 7)
        bad2 = [ln.replace('"198.18.0.0/24", "2001:2::/64" ]; inactivity-timeout = 600; }',
                           '"198.18.0.0/33" ]; inactivity-timeout = 600; }', 1)
                if '"beta"' in prev else ln for prev, ln in zip([""] + good, good)]
        line2 = next(i + 1 for i, ln in enumerate(bad2) if "198.18.0.0/33" in ln)
        t_first = time.time()
        for n, (lines, line_no, word) in enumerate(((bad1, 8, None),
                                                     (bad2, line2, "198.18.0.0/33"))):
            write_file(path, lines)
            msg = reload_and_wait(d, RELOAD_RESULT, n)
            check(msg.startswith(f"TWAMP: reload rejected, running config kept: {path}:{line_no}:"),
                  f"bad file {n + 1}: log line {msg!r} does not name {path}:{line_no}")
            if word:
                check(word in msg, f"bad file {n + 1}: log line {msg!r} lacks {word!r}")
            data, *_ = p.exchange(L.twamp_request(n + 1), ALPHA, f"after bad file {n + 1}")
            eq(L.parse_reply(data).seq, n + 1, f"reflector seq after bad file {n + 1}")
            p.send(L.twamp_request(0), 64380)  # the bad file's own change: not applied
            check(p.expect_silence(0.2) is None, f"port 64380 answered after bad file {n + 1}")
        m = scrape(lab)
        eq(m.by("twamp_reflector_config_reloads_total", "result"),
           {"ok": 0.0, "failed": 2.0, "refused": 0.0}, "config_reloads_total after two bad")
        check_last_reload(m, "rejected", t_first)
        eq(m.val("twamp_reflector_dropped_packets_total", reason="no_reflector"), 2,
           "no_reflector drops (64380 while the bad files were refused)")
        write_file(path, good)
        line = reload_and_wait(d, r"^TWAMP: reload: .*$", 0)
        eq(line, 'TWAMP: reload: reflectors["alpha"].udp-ports: [ 862 ] -> [ 862, 64380 ] '
                 '(reloadable)', "log line of the good reload")
        data, *_ = p.exchange(L.twamp_request(9), 64380, "the good file's new port")
        eq(L.parse_reply(data).seq, 0, "reflector seq of the new port's session")
        data, *_ = p.exchange(L.twamp_request(3), ALPHA, "after the good reload")
        eq(L.parse_reply(data).seq, 3, "reflector seq of the first session after the reloads")
    m = scrape(lab)
    eq(m.by("twamp_reflector_config_reloads_total", "result"),
       {"ok": 1.0, "failed": 2.0, "refused": 0.0}, "config_reloads_total at the end")
    check_last_reload(m, "applied", t_first)
    # The same file again: "unchanged", a success.
    reload_and_wait(d, r"^TWAMP: reload: no change$", 0)
    m = scrape(lab)
    check_last_reload(m, "unchanged", t_first)
    eq(m.val("twamp_reflector_config_reloads_total", result="ok"), 2,
       "config_reloads_total{result=\"ok\"} after the unchanged reload")
    lab.release()


@case
def reload_refused(lab):
    """A restart-only change (the port's device string, then metrics.listen) refuses the
    whole reload by name: log 'reload refused ... (restart required)', counter
    result="refused", and the reloadable change in the same file (alpha dscp 46) is not
    applied; the same dscp change alone is then applied."""
    d = start(lab)
    path = d.conf
    with Peer(False, lab.port(), tos=0x28) as p:
        def dscp():
            _, _, tos, *_ = p.exchange(L.twamp_request(0), ALPHA, "DSCP probe")
            return tos >> 2
        eq(dscp(), 10, "reply DSCP before (dscp = copy)")
        t_first = time.time()
        dev = f"net_af_packet0,iface={lab.name}r0"
        for n, (kw, key, frm, to) in enumerate((
                (dict(device_extra=",qpairs=1"), 'ports["wire0"].device', f'"{dev}"',
                 f'"{dev},qpairs=1"'),
                (dict(listen="127.0.0.1:9863"), "metrics.listen", '"127.0.0.1:9862"',
                 '"127.0.0.1:9863"'))):
            write_file(path, ops_conf(lab, alpha_dscp=46, **kw))
            msg = reload_and_wait(d, RELOAD_RESULT, n)
            eq(msg, f"TWAMP: reload refused, running config kept: {key}: {frm} -> {to} "
                    "(restart required)", f"refused reload {n + 1}: log line")
            eq(dscp(), 10, f"reply DSCP after refused reload {n + 1} (its dscp 46 not applied)")
        m = scrape(lab)
        eq(m.by("twamp_reflector_config_reloads_total", "result"),
           {"ok": 0.0, "failed": 0.0, "refused": 2.0}, "config_reloads_total")
        check_last_reload(m, "refused", t_first)
        write_file(path, ops_conf(lab, alpha_dscp=46))
        line = reload_and_wait(d, r"^TWAMP: reload: .*$", 0)
        eq(line, 'TWAMP: reload: reflectors["alpha"].dscp: "copy" -> 46 (reloadable)',
           "log line of the dscp reload")
        eq(dscp(), 46, "reply DSCP after the dscp reload")
    eq(scrape(lab).by("twamp_reflector_config_reloads_total", "result"),
       {"ok": 1.0, "failed": 0.0, "refused": 2.0}, "config_reloads_total at the end")
    lab.release()


@case
def reload_remove_reflector(lab):
    """Removing reflector 'gone' while it has 3 active sessions: they end at once
    (sessions_aged_total +3, sessions_active 4 -> 1, /twamp/sessions lists only alpha's), its
    port stops answering (no_reflector drops exact), it leaves the metrics and
    /twamp/reflectors; alpha's session continues. Added back, it starts new sessions (seq 0)."""
    d = start(lab)
    path = d.conf
    peers = [Peer(i == 2, lab.port()) for i in range(3)]
    try:
        with Peer(False, lab.port()) as a:
            a.exchange(L.twamp_request(0), ALPHA, "alpha before")
            for p in peers:
                for i in range(2):
                    data, *_ = p.exchange(L.twamp_request(i), GONE, f"gone {p.sport} #{i}")
                    eq(L.parse_reply(data).seq, i, f"gone {p.sport} #{i}: reflector seq")
            # sessions_active is a gauge the worker refreshes every aging slice: wait for it.
            wait_for("gone's 3 sessions in /twamp/reflectors",
                     lambda: telemetry(d, "/twamp/reflectors")["gone"]["sessions_active"] == 3,
                     60, step=0.1)
            m = scrape(lab)
            eq(m.val("twamp_reflector_sessions_active"), 4, "sessions_active before")
            write_file(path, ops_conf(lab, gone=False))
            line = reload_and_wait(d, r"^TWAMP: reload: .*$", 0)
            eq(line, 'TWAMP: reload: reflectors["gone"] removed (reloadable)', "log line")

            def aged():
                m = scrape(lab)
                return m if m.val("twamp_reflector_sessions_aged_total") >= 3 else None
            m = wait_for("gone's sessions end", aged, 60, step=0.1)
            eq(m.val("twamp_reflector_sessions_aged_total"), 3, "sessions_aged_total")
            eq(m.val("twamp_reflector_sessions_active"), 1, "sessions_active after")
            check(not [lb for n, lb, _ in m.samples if lb.get("reflector") == "gone"],
                  "series with reflector=\"gone\" after its removal")
            eq(sorted(telemetry(d, "/twamp/reflectors")), sorted(set(REFLECTORS) - {"gone"}),
               "/twamp/reflectors after the removal")
            ss = telemetry(d, "/twamp/sessions")
            eq([(x["reflector"], x["source_port"]) for x in ss.values()], [("alpha", a.sport)],
               "/twamp/sessions after the removal")
            for p in peers:
                p.send(L.twamp_request(5), GONE)
            for p in peers:
                got = p.expect_silence(0.2)
                check(got is None, f"the removed reflector's port answered {p.sport}: {got!r}")
            data, *_ = a.exchange(L.twamp_request(1), ALPHA, "alpha after")
            eq(L.parse_reply(data).seq, 1, "alpha's session continues")
            m = scrape(lab)
            eq(m.val("twamp_reflector_dropped_packets_total", reason="no_reflector"), 3,
               "no_reflector drops to the removed reflector's port")
            # Back again: a fresh session (the old ones ended), same counters slot.
            write_file(path, ops_conf(lab, gone=True))
            line = reload_and_wait(d, r"^TWAMP: reload: .*$", 1)
            eq(line, 'TWAMP: reload: reflectors["gone"] added (reloadable)', "log line")
            data, *_ = peers[0].exchange(L.twamp_request(7), GONE, "gone added back")
            eq(L.parse_reply(data).seq, 0, "reflector seq of gone's session after re-adding")
            m = scrape(lab)
            eq(m.val("twamp_reflector_reflected_packets_total", reflector="gone"), 7,
               "gone's reflected counter (6 before the removal, 1 after)")
            eq(m.by("twamp_reflector_config_reloads_total", "result"),
               {"ok": 2.0, "failed": 0.0, "refused": 0.0}, "config_reloads_total")
    finally:
        for p in peers:
            p.close()
    lab.release()


@case
def reload_receiver_ports_overlap(lab):
    """A reload that moves a static reflector's UDP port into control.receiver-ports (listen
    "::": every address) is rejected, naming the key, the reflector, its UDP port and the
    address, and the running config is kept: alpha still answers on its old port, the new one
    stays a TWAMP-Control receiver port (a test packet there without a session is dropped as
    no_session, not reflected by alpha)."""
    control = ['control = { listen = "::"; port = 862; prefixes = [ "198.18.0.0/24" ];',
               f'            receiver-ports = {{ min = {RECV_MIN}; max = {RECV_MIN + 3}; }}; }};']
    d = start(lab, lines=ops_conf(lab) + control)
    lines = ops_conf(lab, alpha_ports=(ALPHA, RECV_MIN + 1)) + control
    write_file(d.conf, lines)
    line = reload_and_wait(d, r"^TWAMP: reload rejected, running config kept: .*$", 0,
                           timeout=30)
    want_line = 1 + next(i for i, ln in enumerate(lines) if "receiver-ports" in ln)
    check(line.startswith(f"TWAMP: reload rejected, running config kept: {d.conf}:{want_line}: "
                          "control.receiver-ports: "), f"log line {line!r}")
    for frag in (f"contains UDP port {RECV_MIN + 1} of reflector \"alpha\"", "198.18.0.2"):
        check(frag in line, f"log line {line!r} lacks {frag!r}")
    eq(scrape(lab).by("twamp_reflector_config_reloads_total", "result"),
       {"ok": 0.0, "failed": 1.0, "refused": 0.0}, "config_reloads_total")
    with Peer(False, lab.port()) as p:
        p.exchange(L.twamp_request(0), ALPHA, "alpha on its old port")
        p.send(L.twamp_request(1), RECV_MIN + 1)
        got = p.expect_silence(0.3)
        check(got is None, f"a reply from {RECV_MIN + 1}, a receiver port: {got!r}")
    wait_for("the no_session drop", lambda: scrape(lab).val(
        "twamp_reflector_dropped_packets_total", reason="no_session") == 1, 5, step=0.05)
    # --check says the same of the file.
    p = subprocess.run([lab.binary, "-c", d.conf, "--check"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=20)
    eq(p.returncode, 1, "--check of the overlapping file: exit status")
    check(f"{d.conf}:{want_line}: control.receiver-ports: " in p.stderr.decode(),
          f"--check: {p.stderr.decode()!r}")
    lab.release()


RECV_MIN = 64400  # control.receiver-ports of the case above: clear of the ops reflectors

# ---------------------------------------------------------------------------------------------
# 6. Start-up: version, a metrics port taken, an early SIGHUP.

@case
def version_flags(lab):
    """--version, -v and -V (as twamp-ping has it), with or without "--", print one line
    "dpdk-twamp VERSION (DPDK x.y.z)": DPDK named once, its version the installed library's."""
    want = None
    pc = L.run(["pkg-config", "--modversion", "libdpdk"], check_rc=False)
    if pc.returncode == 0:
        want = pc.stdout.decode().strip()
    for argv in (["--version"], ["-V"], ["-v"], ["--", "-V"], ["--", "--version"]):
        p = subprocess.run([lab.binary] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=20)
        out = p.stdout.decode(errors="replace")
        eq(p.returncode, 0, f"dpdk-twamp {' '.join(argv)}: exit status ({p.stderr!r})")
        m = re.fullmatch(r"dpdk-twamp (\S+) \(DPDK (\d+\.\d+(?:\.\d+)?)\)\n", out)
        check(m, f"dpdk-twamp {' '.join(argv)}: {out!r} is not 'dpdk-twamp V (DPDK x.y.z)'")
        eq(out.count("DPDK"), 1, f"dpdk-twamp {' '.join(argv)}: 'DPDK' in {out!r}")
        if want:
            eq(m[2], want, f"dpdk-twamp {' '.join(argv)}: DPDK version vs pkg-config")


def spawn_in_ns(ns, code):
    """A python3 in namespace `ns` running `code`; returns once it printed 'ready'."""
    p = subprocess.Popen(["ip", "netns", "exec", ns, L.SYSTEM_PYTHON, "-c", code],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=L.pdeathsig)
    line = p.stdout.readline().decode()
    if line.strip() != "ready":
        p.kill()
        raise Failure(f"helper in {ns}: {line!r} {p.stderr.read().decode()!r}")
    return p


@case
def metrics_port_in_use(lab):
    """metrics.listen's port held by another process: dpdk-twamp exits non-zero and says which
    address:port could not be bound and why ("Address already in use"), not prometheus-cpp's
    "null context when constructing CivetServer"."""
    if lab.dut is not None:  # a box of an earlier case would hold the port itself
        old, lab.dut = lab.dut, None
        old.stop_checked()
    # SO_REUSEADDR: a scrape's TIME_WAIT left by an earlier case must not stop the holder;
    # a listening socket still keeps every other bind off the port.
    holder = spawn_in_ns(lab.rns, "import socket, time\n"
                                  "s = socket.socket()\n"
                                  "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                                  "s.bind(('127.0.0.1', 9862)); s.listen(1)\n"
                                  "print('ready', flush=True); time.sleep(600)")
    try:
        path = os.path.join(lab.workdir, f"ops-{lab.instances + 1}.conf")
        write_file(path, ops_conf(lab))
        d = L.Dut(lab, conf=path, n_reflectors=len(REFLECTORS))
        with open(d.log_path, "w") as logf:
            p = subprocess.run(d.cmd, stdin=subprocess.DEVNULL, stdout=logf,
                               stderr=subprocess.STDOUT, timeout=60)
        out = d.log()
        check(p.returncode != 0, f"dpdk-twamp started with its metrics port taken (exit "
                                 f"{p.returncode})\n" + d.tail())
        m = re.search(r"^dpdk-twamp: metrics\.listen .*$", out, re.M)
        check(m, "no metrics.listen error line\n" + d.tail())
        check("127.0.0.1:9862" in m[0] and "in use" in m[0],
              f"the error does not name 127.0.0.1:9862 and 'in use': {m[0]!r}")
        check("null context" not in out, "prometheus-cpp's message still shown\n" + d.tail())
    finally:
        holder.kill()
        holder.wait(10)


@case
def early_sighup(lab):
    """SIGHUP as soon as dpdk-twamp can take it (its SIGHUP handler installed, or EAL's runtime
    directory made: EAL initialisation under way), before the start-up summary: the process
    keeps running (once it ended with 129: the handlers came after EAL's ~0.5 s), then serves,
    and the early reload is done once it runs (the log says "reload: no change")."""
    path = os.path.join(lab.workdir, f"ops-{lab.instances + 1}.conf")
    write_file(path, ops_conf(lab))
    if lab.dut is not None:
        old, lab.dut = lab.dut, None
        old.stop_checked()
    d = L.Dut(lab, conf=path, n_reflectors=len(REFLECTORS))
    run_dir = os.path.join("/var/run/dpdk", d.prefix)
    sent = {}

    def sighup_early():
        end = time.monotonic() + 30
        while time.monotonic() < end and not sent:
            proc = d.proc
            if proc is None or proc.poll() is not None:
                time.sleep(0.0005)
                continue
            try:
                with open(f"/proc/{proc.pid}/comm") as f:
                    comm = f.read().strip()
                with open(f"/proc/{proc.pid}/status") as f:
                    cgt = int(re.search(r"^SigCgt:\s*([0-9a-f]+)$", f.read(), re.M)[1], 16)
            except (OSError, TypeError):
                time.sleep(0.0005)
                continue
            handler = bool(cgt & (1 << (signal.SIGHUP - 1)))
            if comm == "dpdk-twamp" and (handler or os.path.isdir(run_dir)):
                os.kill(proc.pid, signal.SIGHUP)
                sent.update(handler=handler, log=d.log())
                return
            time.sleep(0.0005)

    t = threading.Thread(target=sighup_early, daemon=True)
    t.start()
    lab.dut = d
    try:
        d.start()
    except Failure as e:
        raise Failure(f"after an early SIGHUP ({sent}): {e}") from None
    t.join(5)
    check(sent, "the SIGHUP was never sent\n" + d.tail())
    check(not re.search(r"^dpdk-twamp \S+: \d+ worker", sent["log"], re.M),
          "the SIGHUP came after the start-up summary: not early\n" + d.tail())
    wait_for("the early reload done (log 'reload: no change')\n" + d.tail(),
             lambda: "TWAMP: reload: no change" in d.log(), 10)
    check(d.running(), f"dpdk-twamp ended after an early SIGHUP (exit {d.proc.returncode})")
    with Peer(False, lab.port()) as p:
        data, *_ = p.exchange(L.twamp_request(0), ALPHA, "alpha after an early SIGHUP")
        eq(L.parse_reply(data).seq, 0, "alpha reflector seq")
    lab.release()


# ---------------------------------------------------------------------------------------------
# 5. Every frame counted exactly once.

@case
def exception_balance(lab):
    """A mixed flood (reflected, ACL-denied, malformed, and ICMP for the kernel well over a
    low exception.rate-limit-pps of 50): every frame the workers received is counted exactly
    once, as reflected, dropped (by reason) or to-kernel, in the metrics
    (port rx == rx_frames_total == reflected_pkt + sum of dropped_packets_total +
    exception_packets_total{direction="to_kernel"}) and in the exit summary; rate-limited
    frames are drops only; the known parts are exact (10 reflected, 6 denied, every malformed
    reason); the kernel's frames that were not sent are counted apart."""
    d = start(lab, ops_conf(lab, exc_pps=50))
    exp = Expect()
    with Peer(False, lab.port()) as p:
        for req, data in exchange_n(p, ALPHA, 10, lambda i: L.twamp_request(i), "alpha"):
            exp.reflected("alpha", False, len(req), len(data))
        for i in range(6):
            req = L.twamp_request(i)
            p.send(req, DENYALL)
            exp.denied("denyall", False, len(req))
    frames = malformed_frames(lab, d.mac)
    for _, _, reason in frames:
        exp.drop(reason)
    # For the kernel: ICMP echo requests to the box, IPv4 and IPv6, far more than the TAP's
    # bucket (max(50 / 10, 64) = 64 frames) plus 50 per second of sending lets through.
    sc = L.scapy
    e = sc.Ether(dst=d.mac, src=lab.smac)
    n_icmp = 600
    icmp = []
    for i in range(n_icmp // 2):
        icmp.append(e / sc.IP(src=S4, dst=B4) / sc.ICMP(id=0x77, seq=i))
        icmp.append(e / sc.IPv6(src=S6, dst=B6) / sc.ICMPv6EchoRequest(id=0x77, seq=i))
    def seen(m):
        # What reached the port: received, or lost in its ring (af_packet: the kernel's).
        return (m.val("twamp_reflector_port_rx_packets_total", port="wire0") +
                m.val("twamp_reflector_port_rx_missed_packets_total", port="wire0"))

    # The ICMP in chunks, each seen by the port before the next: on a busy machine the
    # worker may not run while 600 frames arrive at once, and what the port's ring then loses
    # (rx_missed) would have no reason among the exact counts below.
    t0 = time.monotonic()
    base = seen(scrape(lab))
    for k in range(0, n_icmp, 100):
        sc.sendp(icmp[k:k + 100], iface=lab.siface, verbose=False)
        wait_for(f"the port to see {k + 100} ICMP frames",
                 lambda: seen(scrape(lab)) >= base + min(k + 100, n_icmp), 30, step=0.05)
    sc.sendp([sc.Ether(f) for f, _, _ in frames], iface=lab.siface, verbose=False)
    sent_for = time.monotonic() - t0
    # Frames whose reflector the case knows are in exp's rx; the others (no reflector, another
    # MAC) only in its drops.
    n_sent = exp.total("rx") + sum(1 for _, n, _ in frames if n is None) + n_icmp

    def parts(m):
        # rx: the ethdev's own count of what the port received (the worker polls it all).
        drops = m.by("twamp_reflector_dropped_packets_total", "reason")
        exc = m.by("twamp_reflector_exception_packets_total", "direction")
        return (m.val("twamp_reflector_port_rx_packets_total", port="wire0"),
                m.val("twamp_reflector_reflected_pkt"), sum(drops.values()),
                exc["to_kernel"], drops)

    def settled():
        # Quiet: every frame sent has been received and the balance holds (a frame between a
        # worker and the TAP is in no column for a moment).
        m = scrape(lab)
        rx, refl, dropped, to_kernel, _ = parts(m)
        missed = m.val("twamp_reflector_port_rx_missed_packets_total", port="wire0")
        if rx + missed >= n_sent and rx == refl + dropped + to_kernel:
            return m
        return None
    try:
        m = wait_for("the counters to balance after the flood", settled, 30, step=0.1)
    except Failure:
        m = scrape(lab)
        rx, refl, dropped, to_kernel, drops = parts(m)
        raise Failure(f"after the flood: port rx {rx} != reflected {refl} + dropped {dropped} "
                      f"+ to_kernel {to_kernel} (= {refl + dropped + to_kernel}); {n_sent} "
                      f"frames sent; drops {({k: v for k, v in drops.items() if v})}") from None
    rx, refl, dropped, to_kernel, drops = parts(m)
    eq(m.val("twamp_reflector_rx_frames_total"), rx,
       "rx_frames_total (the workers' count) vs the port's rx")
    eq(refl, exp.total("reflected"), "reflected_pkt")
    for reason, n in exp.drops.items():
        eq(drops.get(reason, 0), n, f"dropped_packets_total{{reason={reason!r}}}")
    limited = drops.get("exception_rate_limit", 0)
    missed = m.val("twamp_reflector_port_rx_missed_packets_total", port="wire0")
    check(limited >= n_icmp - missed - 64 - 50 * (sent_for + 30),
          f"exception_rate_limit {limited}: the limit of 50 pps did not bite on {n_icmp} ICMP "
          f"frames sent in {sent_for:.1f} s")
    # Everything else received went to the kernel or was refused on the way there.
    kernel_bound = rx - refl - sum(exp.drops.values())
    eq(kernel_bound, to_kernel + limited + drops.get("exception_ring_full", 0) +
       drops.get("exception_iface_down", 0),
       "frames for the kernel: to_kernel + those refused on the way (nothing else dropped)")
    check(kernel_bound >= n_icmp, f"{kernel_bound} frames for the kernel, {n_icmp} ICMP sent")
    wire_drops = m.by("twamp_reflector_exception_to_wire_dropped_total", "reason")
    eq(sorted(wire_drops), ["no_mbuf", "rate_limit", "ring_full", "shutdown", "tx_full"],
       "exception_to_wire_dropped_total reasons")

    s = lab.release()
    eq(s["rx"], s["reflected"] + s["dropped"] + s["to_kernel"],
       f"exit summary: rx vs reflected + dropped + to-kernel ({s})")
    check(s["rx"] >= rx and s["to_kernel"] >= to_kernel and
          s["drops"].get("exception_rate_limit", 0) >= limited,
          f"exit summary {s} behind the last scrape (rx {rx}, to_kernel {to_kernel})")
    eq(s["reflected"], exp.total("reflected"), "reflected in the exit summary")
    check(s["from_kernel_dropped"] is not None, "exit summary lacks 'from-kernel dropped'")
    print(f"    rx {s['rx']} = reflected {s['reflected']} + dropped {s['dropped']} + to-kernel "
          f"{s['to_kernel']} (rate-limited {s['drops'].get('exception_rate_limit', 0)}); "
          f"from-kernel {s['from_kernel']}, not sent {s['from_kernel_dropped']}", flush=True)


# ---------------------------------------------------------------------------------------------
# dpdk-twamp-ctl (issue 19).

@case
def ctl_sessions_status_reload(lab):
    """dpdk-twamp-ctl against a real box of two workers: 300 reflector sessions (UDP sockets,
    a quarter IPv6, 20 of them STAMP with SSID 7 to "beta") are listed completely and exactly
    once by `--json sessions` (more than 32 on each worker, many 16 KiB pages), with their
    5-tuple, SSID and packet counts; the filters (--reflector, --source, --port, --ssid,
    --limit) select exactly what they name; the text table has a row each. `status` shows the
    version, pid, config path and source, the port's link up, both workers and the reflectors;
    `reload` of an edited file prints "applied" and exits 0, of the same file "unchanged" (0),
    of a broken file "rejected" and exits 1, and `status` then shows that outcome; a prefix
    with no box exits 2 naming the socket. SIGTERM while ctl loops list sessions and control
    connections: the box exits 0 with its summary, the clients end with 0 or 2."""
    d = start(lab, lines=ops_conf(lab, device_extra=",qpairs=2"), workers=2)
    conf = d.conf
    n_light, n_stamp = 280, 20
    peers = [(Peer(i % 4 == 3, lab.port()), False) for i in range(n_light)]
    peers += [(Peer(i % 4 == 3, lab.port()), True) for i in range(n_stamp)]
    try:
        # Two packets each (sender seq 0 and 2: one gap), every one answered; ten sessions at
        # a time (a burst of 300 overruns af_packet's rings on this shared machine). A packet
        # unanswered in 2 s is sent again (that session's counts are then not checked exactly).
        resent = set()
        for i in range(0, len(peers), 10):
            group = peers[i:i + 10]
            for seq in (0, 2):
                pending = {p.sport: (p, stamp) for p, stamp in group}
                for attempt in range(5):
                    for p, stamp in pending.values():
                        p.send(L.stamp_request(seq, 7) if stamp else L.twamp_request(seq),
                               BETA if stamp else ALPHA)
                        if attempt:
                            resent.add(p.sport)
                    end = time.monotonic() + 2
                    while pending and time.monotonic() < end:
                        r, _, _ = select.select([p for p, _ in pending.values()], [], [], 0.5)
                        for p in r:
                            if p.recv(0) is not None:
                                pending.pop(p.sport, None)
                    if not pending:
                        break
                check(not pending, f"seq {seq}: sessions {sorted(pending)} unanswered after 5 "
                                   "tries\n" + d.tail())
        want = {}
        for p, stamp in peers:
            want[(S6 if p.v6 else S4, p.sport)] = ("beta" if stamp else "alpha", stamp)

        t_list = time.monotonic()
        doc = L.ctl_json(lab, d.prefix, "sessions")
        t_list = time.monotonic() - t_list
        got = doc["sessions"]
        check(doc["complete"] is True, "sessions: complete")
        print(f"    dpdk-twamp-ctl --json sessions: {len(got)} sessions, {doc['pages']} pages, "
              f"{t_list:.3f} s end to end")
        check(doc["pages"] > 2, f"sessions: {doc['pages']} pages for 300 sessions")
        keys = [(x["sender_ip"], x["sender_udp_port"]) for x in got]
        eq(len(keys), len(set(keys)), "sessions: a session listed twice")
        eq(sorted(keys), sorted(want), "sessions: exactly the sessions made")
        per_worker = {}
        for x in got:
            per_worker[x["worker"]] = per_worker.get(x["worker"], 0) + 1
            name, stamp = want[(x["sender_ip"], x["sender_udp_port"])]
            eq(x["reflector"], name, f"session {x['sender_udp_port']}: reflector")
            eq(x["reflector_ip"], B6 if ":" in x["sender_ip"] else B4, "reflector_ip")
            eq(x["reflector_udp_port"], BETA if stamp else ALPHA, "reflector_udp_port")
            eq(x["sender_ssid"], 7 if stamp else 0, "sender_ssid")
            if x["sender_udp_port"] not in resent:
                eq((x["rcv_packets"], x["sent_packets"], x["last_rcv_seq"], x["gaps"],
                    x["duplicates"], x["reorders"]), (2, 2, 2, 1, 0, 0),
                   f"session {x['sender_udp_port']}: packets, seqs, gaps, duplicates, reorders")
            check(x["last_seen_ms"] < 600_000, f"last_seen_ms {x['last_seen_ms']}")
        eq(sorted(per_worker), [0, 1], "sessions on both workers")
        check(all(n > 32 for n in per_worker.values()),
              f"sessions per worker {per_worker}: more than the busiest 32 each")

        def listed(*args):
            return sorted((x["sender_ip"], x["sender_udp_port"])
                          for x in L.ctl_json(lab, d.prefix, "sessions", *args)["sessions"])
        eq(listed("--reflector", "beta"), sorted(k for k, v in want.items() if v[0] == "beta"),
           "--reflector beta")
        eq(listed("--ssid", "7"), sorted(k for k, v in want.items() if v[1]), "--ssid 7")
        eq(listed("--port", str(BETA)), sorted(k for k, v in want.items() if v[1]),
           f"--port {BETA}")
        eq(listed("--source", "2001:2::/64"), sorted(k for k in want if k[0] == S6),
           "--source 2001:2::/64")
        eq(listed("--source", S4), sorted(k for k in want if k[0] == S4), f"--source {S4}")
        one = sorted(want)[0]
        eq(listed("--port", str(one[1])), [one], f"--port {one[1]} (sender side)")
        eq(listed("--reflector", "nosuch"), [], "--reflector nosuch")
        lim = L.ctl_json(lab, d.prefix, "sessions", "--limit", "50")
        eq((len(lim["sessions"]), lim["complete"]), (50, False), "--limit 50")
        text = L.ctl(lab, d.prefix, "sessions", "--reflector", "beta").stdout.splitlines()
        eq(len(text), 1 + n_stamp + 1, f"text table: header, {n_stamp} rows, total\n" +
           "\n".join(text[:5]))
        check(text[0].split()[:3] == ["REFLECTOR", "SENDER", "REFLECTOR-ADDR"],
              f"text header {text[0]!r}")
        eq(text[-1], f"{n_stamp} sessions", "text total line")
    finally:
        for p, _ in peers:
            p.close()

    st = L.ctl_json(lab, d.prefix, "status")
    eq(st["config"]["path"], conf, "status config.path")
    check(conf in st["config"]["source"], f"status config.source {st['config']['source']!r}")
    eq(st["last_reload"]["result"], "none", "status last_reload before any")
    eq(st["pid"], d.proc.pid, "status pid (ip netns exec runs the box in its own process)")
    eq(st["workers"], 2, "status workers")
    eq([p["link_state"] for p in st["ports"]], ["up"], "status ports' link state")
    eq(sorted(r["name"] for r in st["reflectors"]), sorted(REFLECTORS), "status reflectors")
    check(isinstance(st["clock"]["synchronized"], bool), "status clock.synchronized")
    text = L.ctl(lab, d.prefix, "status").stdout
    check(f"pid {d.proc.pid}" in text and conf in text and "wire0" in text,
          f"status text lacks pid, config or port:\n{text}")
    ck = L.ctl_json(lab, d.prefix, "clock")
    eq([(p["port"], p["timestamp_source"], p["t3_method"]) for p in ck["ports"]],
       [("wire0", "sw", "software")], "clock: the port's timestamps and T3 method")
    eq([p["t3_method"] for p in st["clock"]["ports"]], ["software"], "status' clock")
    text = L.ctl(lab, d.prefix, "clock").stdout
    check(text.startswith("clock: ") and "wire0" in text, f"clock text:\n{text}")

    # reload: an edited file (alpha's DSCP), the same file again, a broken file.
    write_file(conf, ops_conf(lab, device_extra=",qpairs=2", alpha_dscp=10))
    p = L.ctl(lab, d.prefix, "reload", rc=0)
    check(re.match(r"reload #1: applied", p.stdout), f"reload of an edit: {p.stdout!r}")
    p = L.ctl(lab, d.prefix, "reload", rc=0)
    check(re.match(r"reload #2: unchanged", p.stdout), f"reload of the same: {p.stdout!r}")
    with open(conf, "a") as f:
        f.write("this is not a config\n")
    r = L.ctl_json(lab, d.prefix, "reload", "--timeout", "60", rc=1)
    eq((r["result"], r["seq"]), ("rejected", 3), "reload of a broken file")
    check(r["line"].startswith("rejected"), f"reload line {r['line']!r}")
    st = L.ctl_json(lab, d.prefix, "status")
    eq((st["last_reload"]["result"], st["last_reload"]["seq"], st["last_reload"]["line"]),
       ("rejected", 3, r["line"]), "status after the rejected reload")
    eq(st["last_reload"]["started"], 3, "status: reloads started (each decided as its seq)")
    write_file(conf, ops_conf(lab, device_extra=",qpairs=2", alpha_dscp=10))

    p = L.ctl(lab, "no-such-box", "status", rc=2)
    check("/var/run/dpdk/no-such-box/dpdk_telemetry.v2" in p.stderr,
          f"no box: the message names the socket: {p.stderr!r}")

    # SIGTERM while clients keep listing sessions and control connections: the box stops
    # (stop_telemetry first: their waits give up, new requests answer an error at once) and
    # prints its summary; each client ends with 0 (listed) or 2 (the box stopping or gone).
    stop_clients = threading.Event()
    calls = {"sessions": [], "control": []}

    def client(cmd):
        for _ in range(10_000):  # bounded; ends at the stop
            if stop_clients.is_set():
                return
            p = L.ctl(lab, d.prefix, "--json", cmd, rc=None, timeout=60)
            calls[cmd].append(p.returncode)
            if p.returncode == 2:
                return

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in calls]
    for t in threads:
        t.start()
    wait_for("each ctl loop has listed once", lambda: all(calls[c] for c in calls))
    s = lab.release()  # SIGTERM; checks exit status 0, the summary and every mbuf back
    stop_clients.set()
    for t in threads:
        t.join(70)
        check(not t.is_alive(), "a ctl loop still running after the box stopped")
    for c, rcs in calls.items():
        check(set(rcs) <= {0, 2}, f"ctl {c} while the box stopped: exit statuses {rcs}")
        check(rcs[0] == 0, f"ctl {c}: the first listing failed: {rcs}")
    print(f"    stopped with ctl loops running: {len(calls['sessions'])} sessions and "
          f"{len(calls['control'])} control listings, summary rx {s['rx']}")


if __name__ == "__main__":
    sys.exit(L.main(CASES, suite="ops", doc=__doc__))
