#!/usr/bin/env python3
"""The hardware-timestamp path, checked with net_pcap (DESIGN.md tier 2/3, issue 3 §6).

net_pcap stamps every received mbuf with the capture record's time through the same mbuf
dynamic field NICs use (microseconds since the Unix epoch in DPDK 22.11). The config states that
unit and epoch (hw-clock), so the reflector must take T2 from the record times: every reply's
Receive Timestamp has to equal its request's record time, to the microsecond, in NTP (Z=0) and
PTP (Z=1) format. Runs the real dpdk-twamp in a private network namespace (its TAP lives there).

Behaves like a GoogleTest binary for scripts/run_tests.py (--gtest_output=json:PATH).
Exit 77 (skipped) when not root.
"""
import argparse
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time

NTP_OFFSET = 2208988800
TAI_UTC = 37  # the default the box uses when the kernel has no TAI offset set


def log(*a):
    print(*a, flush=True)


def make_requests(path, mac, base_us, count):
    from scapy.all import Ether, IP, UDP, Raw, wrpcap
    pkts = []
    for i in range(count):
        z = i % 2  # alternate NTP (Z=0) and PTP (Z=1) requests
        payload = (i.to_bytes(4, "big") + (0).to_bytes(8, "big") +
                   (0x4001 if z else 0x0001).to_bytes(2, "big") + bytes(27))
        p = (Ether(src="02:00:00:00:00:01", dst=mac) /
             IP(src="198.18.0.1", dst="198.18.0.2", ttl=64) /
             UDP(sport=40000, dport=862) / Raw(payload))
        us = base_us + i * 1234
        p.time = us / 1e6
        pkts.append((p, us))
    # scapy keeps float times; write records with exact microseconds through the pcap writer.
    from scapy.utils import PcapWriter
    w = PcapWriter(path, sync=True, linktype=1)
    w.write_header(pkts[0][0])
    for p, us in pkts:
        w.write_packet(bytes(p), sec=us // 1_000_000, usec=us % 1_000_000)
    w.close()
    return [us for _, us in pkts]


def run_box(binary, netns, conf, prefix, want_reflected=0, timeout=60):
    """Start the box, wait for events (its start-up summary; then, when asked, its metrics
    showing `want_reflected` replies: net_pcap reads its file once, right after start), stop
    it. Generous caps, no fixed budget: a loaded machine is only slower."""
    cmd = ["ip", "netns", "exec", netns, binary, "-l", "0-1", "--no-huge", "-m", "1024",
           "--no-pci", "--no-shconf", f"--file-prefix={prefix}", "--log-level=lib.eal:notice",
           "--", "-c", conf]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(p.stdout), daemon=True)
    reader.start()

    def wait(cond):
        end = time.monotonic() + timeout
        while p.poll() is None and time.monotonic() < end and not cond():
            time.sleep(0.1)

    wait(lambda: any(ln.startswith("  reflector ") for ln in lines))

    def reflected():
        r = subprocess.run(["ip", "netns", "exec", netns, "curl", "-sS", "--max-time", "5",
                            "http://127.0.0.1:9862/metrics"], capture_output=True, text=True,
                           timeout=15)
        m = re.search(r"^twamp_reflector_reflected_pkt (\S+)$", r.stdout, re.M)
        return m is not None and float(m[1]) >= want_reflected
    if want_reflected:
        wait(reflected)
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    reader.join(10)
    return p.returncode, "".join(lines)


def write_conf(path, rx, tx, tap):
    with open(path, "w") as f:
        f.write(f"""
ports = ( {{ name = "pcap0"; device = "net_pcap0,rx_pcap={rx},tx_pcap={tx}";
            addresses = [ "198.18.0.2/24" ];
            hw-timestamps = "on"; hw-clock = {{ unit = "us"; epoch = "unix"; }};
            exception = {{ iface = "{tap}"; }}; }} );
reflectors = ( {{ name = "light"; port = "pcap0"; mode = "twamp-light"; udp-ports = [ 862 ];
                 prefixes = [ "198.18.0.0/24" ]; }} );
metrics = {{ listen = "127.0.0.1:9862"; }};
""")


def check(binary):
    from scapy.all import rdpcap, UDP
    failures = []
    tag = secrets.token_hex(2)
    netns = f"pc{tag}"
    d = tempfile.mkdtemp(prefix="twamp-pcap-")
    subprocess.run(["ip", "netns", "add", netns], check=True)
    subprocess.run(["ip", "-n", netns, "link", "set", "lo", "up"], check=True)  # metrics
    try:
        conf, rx, tx = os.path.join(d, "box.conf"), os.path.join(d, "in.pcap"), os.path.join(d, "out.pcap")
        # Pass 1: learn the port's MAC (net_pcap makes one up) from the start-up summary.
        make_requests(rx, "ff:ff:ff:ff:ff:ff", 1_700_000_000_000_000, 1)
        write_conf(conf, rx, tx, f"pt{tag}")
        rc, out = run_box(binary, netns, conf, f"pc{tag}a")
        m = re.search(r"mac ([0-9a-f:]{17}), timestamps (\w+)[^\n]*, t3 ([a-z-]+)", out)
        if rc != 0 or not m:
            return [f"first run failed (exit {rc}):\n{out[-2000:]}"]
        mac, source, t3_method = m.group(1), m.group(2), m.group(3)
        if source != "hw":
            failures.append(f"port timestamps are {source!r}, expected 'hw' for net_pcap with hw-clock")
        if t3_method != "device-clock":
            failures.append(f"port t3 method {t3_method!r}, expected 'device-clock' (one clock "
                            "with the stated hw-clock)")
        # Pass 2: the real requests.
        base_us = 1_700_000_000_123_456
        times = make_requests(rx, mac, base_us, 20)
        rc, out = run_box(binary, netns, conf, f"pc{tag}b", want_reflected=len(times))
        if rc != 0:
            return failures + [f"second run failed (exit {rc}):\n{out[-2000:]}"]
        replies = [p for p in rdpcap(tx) if UDP in p and p[UDP].sport == 862]
        if len(replies) != len(times):
            failures.append(f"{len(replies)} replies for {len(times)} requests:\n{out[-1500:]}")
        for p in replies:
            b = bytes(p[UDP].payload)
            sseq = int.from_bytes(b[24:28], "big")
            t2 = int.from_bytes(b[16:24], "big")
            t3 = int.from_bytes(b[4:12], "big")
            ee = int.from_bytes(b[12:14], "big")
            want_us = times[sseq]
            z = sseq % 2
            if bool(ee & 0x4000) != bool(z):
                failures.append(f"seq {sseq}: Z bit {bool(ee & 0x4000)} in our Error Estimate, request Z={z}")
            def ns_of(ts):
                if z:
                    return ((ts >> 32) - TAI_UTC) * 10**9 + (ts & 0xffffffff)
                return ((ts >> 32) - NTP_OFFSET) * 10**9 + (((ts & 0xffffffff) * 10**9) >> 32)
            got_ns = ns_of(t2)
            if abs(got_ns - want_us * 1000) > 1000:
                failures.append(f"seq {sseq}: T2 {got_ns} ns, record time {want_us} us")
            if t3 == 0:
                failures.append(f"seq {sseq}: T3 not written")
            # One clock per reply: T3 is the capture's clock too (T2 plus the residence the
            # TSC measured), so T3 - T2 is the reflector's residence, never the capture's age
            # (these records are from 2023), and never negative. A second is far above any
            # residence (a loaded machine included) and far below the age.
            residence = ns_of(t3) - got_ns
            if not 0 <= residence < 10**9:
                failures.append(f"seq {sseq}: T3 - T2 = {residence} ns, expected the residence")
            if ee & 0x8000:
                failures.append(f"seq {sseq}: S set for a stated clock (never measured)")
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False)
        subprocess.run(["rm", "-rf", d], check=False)
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--gtest_output", default="")
    a = ap.parse_args()
    if os.geteuid() != 0:
        log("pcap_ts_test: needs root (network namespace, DPDK); skipped")
        return 77
    start = time.monotonic()
    try:
        failures = check(a.binary)
    except Exception as e:  # a harness error is a failure, with its reason
        failures = [f"harness error: {e!r}"]
    case = {"name": "hw_timestamps_from_pcap_record_times", "result": "COMPLETED",
            "time": f"{time.monotonic() - start:.1f}s"}
    if failures:
        case["failures"] = [{"failure": f} for f in failures]
    for f in failures:
        log("FAIL:", f)
    log(f"pcap_ts_test: {'FAILED' if failures else 'ok'}")
    if a.gtest_output.startswith("json:"):
        with open(a.gtest_output[5:], "w") as f:
            json.dump({"testsuites": [{"name": "pcap", "testsuite": [case]}]}, f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
