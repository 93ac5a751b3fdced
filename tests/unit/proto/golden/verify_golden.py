#!/usr/bin/python3
"""Decodes our reflector's replies to the golden requests with tshark and with scapy, and checks
that the decoded values are what the test put in (make_golden.py's cases).

  verify_golden.py --tool BUILD/tests/unit/proto/golden_replies --header golden_frames.hpp

1. The checked-in golden_frames.hpp must be what make_golden.py generates now (else: rerun it).
2. golden_replies writes our replies (one per case, in order) to a pcap in a temporary dir.
3. tshark (TWAMP-Test dissector via -d udp.port==...,twamp.test, IPv4/UDP checksum validation
   on) must find: MACs, VLAN IDs, addresses, ports swapped, TTL/Hop Limit 255, DS field,
   good checksums, and in the test packet Sequence Number, T3, Error Estimate, SSID/MBZ, T2,
   Sender Sequence Number, Sender Timestamp, Sender Error Estimate, MBZ, Sender TTL, padding.
4. scapy must find the same L2-L4 facts, recompute the same IPv4 and UDP checksums, and for
   STAMP decode the reply with scapy.contrib.stamp's STAMPSessionReflectorTestUnauthenticated
   (seq, timestamps, error estimates, SSID, sender fields, TTL, MBZ, TLV flags).
Exit status: 0 all good, 1 a mismatch, 77 tshark not installed (meson: skipped).
"""
import argparse
import calendar
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TEST_PORTS = (862, 64364)  # the UDP ports the golden requests are sent to

failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
    return cond


def eq(got, want, what):
    return check(got == want, "%s: got %r, want %r" % (what, got, want))


# ---- time values as tshark prints them --------------------------------------------------------

MONTHS = {m: i for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)}


def tshark_time_ns(s):
    """'Nov 14, 2023 22:13:20.123481788 UTC' -> ns since the Unix epoch."""
    m = re.fullmatch(r"(\w{3})\s+(\d+), (\d{4}) (\d\d):(\d\d):(\d\d)\.(\d{9}) UTC", s.strip())
    if not m:
        raise ValueError("unexpected tshark time %r" % s)
    mon, day, year, hh, mm, ss, frac = m.groups()
    sec = calendar.timegm((int(year), MONTHS[mon], int(day), int(hh), int(mm), int(ss)))
    return sec * 10**9 + int(frac)


def ntp_wire_to_unix_ns(wire):
    """How a decoder reads an NTP timestamp: RFC 4330 §3 era rule (MSB clear = era 1), the
    fraction truncated to ns."""
    sec, frac = wire >> 32, wire & 0xffffffff
    if not sec & 0x80000000:
        sec += 1 << 32
    return (sec - 2208988800) * 10**9 + frac * 10**9 // 2**32


def ptp_wire_as_utc_ns(wire):
    """tshark shows PTP (TAI) seconds as if they were UTC."""
    return (wire >> 32) * 10**9 + (wire & 0xffffffff)


def near(got_ns, want_ns, what, tol=1):
    return check(abs(got_ns - want_ns) <= tol, "%s: got %d ns, want %d ns (+-%d)"
                 % (what, got_ns, want_ns, tol))


# ---- tshark -----------------------------------------------------------------------------------

FIELDS = [
    "frame.number", "eth.src", "eth.dst", "ieee8021ad.id", "vlan.id",
    "ip.src", "ip.dst", "ip.ttl", "ip.dsfield", "ip.id", "ip.checksum.status", "ip.hdr_len",
    "ipv6.src", "ipv6.dst", "ipv6.hlim", "ipv6.tclass", "ipv6.flow",
    "udp.srcport", "udp.dstport", "udp.length", "udp.checksum.status",
    "twamp.test.seq_number", "twamp.test.timestamp", "twamp.test.error_estimate",
    "twamp.test.mbz1", "twamp.test.receive_timestamp", "twamp.test.sender_seq_number",
    "twamp.test.sender_timestamp", "twamp.test.sender_error_estimate", "twamp.test.mbz2",
    "twamp.test.sender_ttl", "twamp.test.padding",
]


def run_tshark(pcap):
    cmd = ["tshark", "-n", "-r", pcap, "-o", "ip.check_checksum:TRUE",
           "-o", "udp.check_checksum:TRUE"]
    for port in TEST_PORTS:
        cmd += ["-d", "udp.port==%d,twamp.test" % port]
    cmd += ["-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True).stdout
    rows = []
    for line in out.splitlines():
        vals = line.split("|")
        if len(vals) == len(FIELDS):
            rows.append(dict(zip(FIELDS, vals)))
    return rows


def ints(s):
    return [int(x, 0) for x in s.split(",")] if s else []


def check_tshark(i, c, row, exp, req):
    from scapy.all import IP, Dot1Q, Ether, IPv6
    from scapy.layers.l2 import Dot1AD
    n = c["name"] + " (tshark)"
    import make_golden as mg
    eq(row["eth.src"], mg.OUR_MAC, n + " eth.src")
    eq(row["eth.dst"], req[Ether].src, n + " eth.dst")
    stags, ctags = [], []
    layer = req
    while layer:
        if type(layer) is Dot1AD:
            stags.append(layer.vlan)
        elif type(layer) is Dot1Q:
            ctags.append(layer.vlan)
        layer = layer.payload
    eq(ints(row["ieee8021ad.id"]), stags, n + " S-tag VIDs")
    eq(ints(row["vlan.id"]), ctags, n + " C-tag VIDs")
    ds = mg.reply_ds(c)  # DSCP per policy, ECN as received but CE -> ECT(0) (RFC 3168 §5)
    if IP in req:
        eq(int(row["ip.hdr_len"]), 20, n + " ip.hdr_len: IPv4 options not echoed")
        eq(row["ip.src"], req[IP].dst, n + " ip.src")
        eq(row["ip.dst"], req[IP].src, n + " ip.dst")
        eq(int(row["ip.ttl"]), 255, n + " ip.ttl")
        eq(int(row["ip.dsfield"], 0), ds, n + " ip.dsfield")
        eq(int(row["ip.id"], 0), req[IP].id, n + " ip.id")
        eq(row["ip.checksum.status"], "1", n + " IPv4 header checksum good")
    else:
        eq(row["ipv6.src"], req[IPv6].dst, n + " ipv6.src")
        eq(row["ipv6.dst"], req[IPv6].src, n + " ipv6.dst")
        eq(int(row["ipv6.hlim"]), 255, n + " ipv6.hlim")
        eq(int(row["ipv6.tclass"], 0), ds, n + " ipv6.tclass")
        eq(int(row["ipv6.flow"], 0), req[IPv6].fl, n + " ipv6.flow")
    udp = req["UDP"]
    eq(int(row["udp.srcport"]), udp.dport, n + " udp.srcport")
    eq(int(row["udp.dstport"]), udp.sport, n + " udp.dstport")
    plen = max(udp.len - 8, 44 if c["mode"] == "stamp" else 41)
    eq(int(row["udp.length"]), 8 + plen, n + " udp.length")
    eq(row["udp.checksum.status"], "1", n + " UDP checksum good")

    # The test packet (RFC 5357 §4.2.1 layout; STAMP shares the first 41 octets).
    eq(int(row["twamp.test.seq_number"]), exp["seq"], n + " Sequence Number")
    t3 = tshark_time_ns(row["twamp.test.timestamp"])
    t2 = tshark_time_ns(row["twamp.test.receive_timestamp"])
    if exp["ptp"]:
        near(t3, ptp_wire_as_utc_ns(exp["t3"]), n + " Timestamp T3 (PTP)", 0)
        near(t2, ptp_wire_as_utc_ns(exp["t2"]), n + " Receive Timestamp T2 (PTP)", 0)
        near(t3, c["t3_ns"] + c["tai_utc"] * 10**9, n + " T3 is the test's t3 + TAI-UTC", 0)
    else:
        near(t3, c["t3_ns"], n + " Timestamp T3 (NTP) is the test's t3")
        near(t2, c["t2_ns"], n + " Receive Timestamp T2 (NTP) is the test's t2")
    eq(int(row["twamp.test.error_estimate"]), exp["err"], n + " Error Estimate")
    eq(int(row["twamp.test.mbz1"]), exp["mbz1_or_ssid"], n + " MBZ / SSID")
    eq(int(row["twamp.test.sender_seq_number"]), c["sender_seq"], n + " Sender Sequence Number")
    # tshark 4.0 reads the Sender Timestamp as NTP whatever its Z bit says.
    near(tshark_time_ns(row["twamp.test.sender_timestamp"]), ntp_wire_to_unix_ns(c["sender_ts"]),
         n + " Sender Timestamp")
    if not (c["sender_err"] >> 14) & 1:
        near(tshark_time_ns(row["twamp.test.sender_timestamp"]), mg.SENDER_T,
             n + " Sender Timestamp is the sender's time")
    eq(int(row["twamp.test.sender_error_estimate"]), c["sender_err"],
       n + " Sender Error Estimate")
    eq(int(row["twamp.test.mbz2"]), 0, n + " MBZ")
    eq(int(row["twamp.test.sender_ttl"]), c["ttl"], n + " Sender TTL")
    req_payload = bytes(udp.payload)[:udp.len - 8]
    if c["mode"] == "stamp":
        want_pad = b"\x00" * 3 + c.get("tlvs_out", req_payload[44:])
    else:
        # RFC 5357 §4.2.1: highest-numbered 27 padding octets discarded; RFC 6038
        # symmetrical size: the padding from 41 stays in place.
        want_pad = (req_payload[41:] if c["symmetrical"] else
                    req_payload[14:len(req_payload) - 27] if len(req_payload) > 41 else b"")
    eq(row.get("twamp.test.padding", ""), want_pad.hex(), n + " padding / STAMP MBZ + TLVs")


# ---- scapy ------------------------------------------------------------------------------------

def check_scapy(i, c, frame, exp, req):
    from scapy.all import IP, UDP, Dot1Q, Ether, IPv6, raw, split_layers
    from scapy.contrib import stamp
    from scapy.layers.l2 import Dot1AD
    import make_golden as mg
    n = c["name"] + " (scapy)"
    # Dissect the UDP payload ourselves (below): port 862 is bound to the STAMP layers, which
    # would otherwise also claim the TWAMP replies.
    for cls, kw in ((stamp.STAMPSessionSenderTestUnauthenticated, {"dport": 862}),
                    (stamp.STAMPSessionReflectorTestUnauthenticated, {"sport": 862})):
        try:
            split_layers(UDP, cls, **kw)
        except ValueError:
            pass  # already split
    p = Ether(frame)
    eq(p[Ether].src, mg.OUR_MAC, n + " Ether.src")
    eq(p[Ether].dst, req[Ether].src, n + " Ether.dst")

    def tags(pkt):
        out, l = [], pkt
        while l:
            if isinstance(l, (Dot1Q, Dot1AD)):
                out.append((type(l).__name__, l.vlan, l.prio))
            l = l.payload
        return out
    eq(tags(p), tags(req), n + " VLAN tags kept")
    ds = mg.reply_ds(c)
    if IP in req:
        eq((p[IP].src, p[IP].dst), (req[IP].dst, req[IP].src), n + " IP addresses swapped")
        eq((p[IP].ttl, p[IP].tos, p[IP].id, p[IP].flags, p[IP].frag),
           (255, ds, req[IP].id, req[IP].flags, req[IP].frag), n + " IP ttl/tos/id/flags/frag")
        eq((p[IP].ihl, p[IP].options), (5, []), n + " IPv4 options not echoed (IHL 5)")
    else:
        eq((p[IPv6].src, p[IPv6].dst), (req[IPv6].dst, req[IPv6].src), n + " IPv6 swapped")
        eq((p[IPv6].hlim, p[IPv6].tc, p[IPv6].fl), (255, ds, req[IPv6].fl),
           n + " IPv6 hlim/tc/fl")
    eq((p[UDP].sport, p[UDP].dport), (req[UDP].dport, req[UDP].sport), n + " ports swapped")
    # Checksums recomputed by scapy from scratch.
    q = p.copy()
    if IP in q:
        del q[IP].chksum
    del q[UDP].chksum
    q = Ether(raw(q))
    if IP in p:
        eq(p[IP].chksum, q[IP].chksum, n + " IPv4 header checksum")
    eq(p[UDP].chksum, q[UDP].chksum, n + " UDP checksum")
    check(p[UDP].chksum != 0, n + " reply carries a UDP checksum")
    eq(len(frame), len(raw(p)), n + " no trailing octets")

    payload = raw(p[UDP].payload)[:p[UDP].len - 8]
    if c["mode"] != "stamp":
        # scapy has no TWAMP-Test layer: the RFC 5357 §4.2.1 fields by struct.
        f = struct.unpack("!IQHHQIQHHB", payload[:41])
        eq(f, (exp["seq"], exp["t3"], exp["err"], 0, exp["t2"], c["sender_seq"], c["sender_ts"],
               c["sender_err"], 0, c["ttl"]), n + " TWAMP reflector fields")
        return
    # scapy 2.5's STAMP layers size their TLV list from the parent UDP header: give it one.
    r = stamp.STAMPSessionReflectorTestUnauthenticated(payload, _parent=p[UDP])

    def fv(name):
        return r.getfield_and_val(name)[1]  # the raw 64-bit value, NTP or PTP alike
    eq(r.seq, exp["seq"], n + " seq")
    eq(fv("ts"), exp["t3"], n + " ts (T3)")
    ee = r.err_estimate
    eq((ee.S, ee.Z, ee.scale, ee.multiplier),
       (exp["err"] >> 15, (exp["err"] >> 14) & 1, (exp["err"] >> 8) & 0x3f, exp["err"] & 0xff),
       n + " err_estimate S/Z/scale/multiplier")
    eq(r.ssid, c["ssid"], n + " ssid")
    eq(fv("ts_rx"), exp["t2"], n + " ts_rx (T2)")
    eq(r.seq_sender, c["sender_seq"], n + " seq_sender")
    eq(fv("ts_sender"), c["sender_ts"], n + " ts_sender")
    es = r.err_estimate_sender
    eq((es.S, es.Z, es.scale, es.multiplier),
       (c["sender_err"] >> 15, (c["sender_err"] >> 14) & 1, (c["sender_err"] >> 8) & 0x3f,
        c["sender_err"] & 0xff), n + " err_estimate_sender")
    eq(r.mbz1, 0, n + " mbz1")
    eq(r.ttl_sender, c["ttl"], n + " ttl_sender")
    eq(r.mbz2, 0, n + " mbz2")
    want_tlvs = c.get("tlvs_out", b"")
    got = [(int(t.flags), t.type, t.len) for t in r.tlv_objects]
    want, off = [], 0
    while off + 4 <= len(want_tlvs):  # RFC 8972 §4 walk of the expected area
        fl, ty, ln = struct.unpack("!BBH", want_tlvs[off:off + 4])
        want.append((fl, ty, ln))
        off += 4 + ln
    eq(got, want, n + " TLVs (flags, type, length)")
    eq(b"".join(raw(t) for t in r.tlv_objects), want_tlvs, n + " TLV octets")
    info = c.get("tlv_info")
    if info:
        check_tlv_values(n, c, exp, info, r.tlv_objects)


def check_tlv_values(n, c, exp, info, tlvs):
    """The values of RFC 8972's Timestamp Information (§4.3) and Follow-Up Telemetry (§4.7)
    TLVs, decoded from scapy's generic TLVs (scapy 2.5 has no class for either) by the RFC
    layouts, against what the case gave the reflector (tlv_reply_info)."""
    seen = set()
    for t in tlvs:
        v = bytes(t.value)
        if t.type == 3:
            seen.add(3)
            # Sync Src In, Timestamp In, Sync Src Out, Timestamp Out (IANA §5.4, §5.5).
            eq(tuple(v[:4]), (info["sync_in"], info["m_in"], info["sync_out"], info["m_out"]),
               n + " Timestamp Information")
            eq(int(t.flags), 0, n + " Timestamp Information flags (understood)")
        elif t.type == 7:
            seen.add(7)
            eq(len(v), 16, n + " Follow-Up Telemetry Length")
            seq, ts, mode, r1, r2, r3 = struct.unpack("!IQBBBB", v)
            eq((r1, r2, r3), (0, 0, 0), n + " Follow-Up Reserved")
            eq(int(t.flags), 0, n + " Follow-Up flags (understood)")
            if not (c["stateful"] and info["stateful"]):
                # §4.7: a stateless reflector zeroes Sequence Number and Timestamp.
                eq((seq, ts, mode), (0, 0, 0), n + " Follow-Up zeroed (stateless)")
                continue
            eq(seq, info["fu_seq"], n + " Follow-Up Sequence Number")
            eq(mode, info["fu_mode"], n + " Follow-Up Timestamp Mode")
            if exp["ptp"]:  # the reply's format (Z): TAI seconds + ns
                sec, ns = ts >> 32, ts & 0xffffffff
                eq((sec - c["tai_utc"]) * 10**9 + ns, info["fu_ns"],
                   n + " Follow-up Timestamp (PTP)")
            else:
                near(ntp_wire_to_unix_ns(ts), info["fu_ns"], n + " Follow-up Timestamp (NTP)")
    eq(seen, {3, 7}, n + " Timestamp Information and Follow-Up TLVs present")


# ---- main -------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True, help="the golden_replies executable")
    ap.add_argument("--header", required=True, help="the checked-in golden_frames.hpp")
    args = ap.parse_args()

    if not shutil.which("tshark"):
        print("tshark not found: skipped")
        return 77
    try:
        import scapy  # noqa: F401
    except ImportError:
        print("FAIL: scapy is not importable by %s (Debian: python3-scapy)" % sys.executable)
        return 1
    sys.path.insert(0, HERE)
    import make_golden as mg
    from scapy.all import Ether

    with open(args.header) as f:
        if f.read() != mg.render():
            print("FAIL: %s is out of date: run %s" % (args.header,
                                                     os.path.join(HERE, "make_golden.py")))
            return 1
    cases = mg.cases()

    with tempfile.TemporaryDirectory(prefix="twamp-golden-") as tmp:
        pcap = os.path.join(tmp, "replies.pcap")
        r = subprocess.run([args.tool, pcap], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        print(r.stdout.strip())
        if r.returncode != 0:
            print("FAIL: %s exited %d" % (args.tool, r.returncode))
            return 1
        rows = run_tshark(pcap)
        from scapy.all import rdpcap
        frames = [bytes(p) for p in rdpcap(pcap)]

    eq(len(rows), len(cases), "tshark rows")
    eq(len(frames), len(cases), "pcap frames")
    for i, c in enumerate(cases):
        req = Ether(bytes(c["frame"]))
        exp = mg.expected_fields(c)
        for decoder, ok, run in (
                ("tshark", i < len(rows), lambda: check_tshark(i, c, rows[i], exp, req)),
                ("scapy", i < len(frames), lambda: check_scapy(i, c, frames[i], exp, req))):
            if not ok:
                continue
            try:
                run()
            except Exception as e:  # a field the decoder could not find is a failure too
                check(False, "%s (%s): %s: %s" % (c["name"], decoder, type(e).__name__, e))

    for f in failures:
        print("FAIL:", f)
    print("%d cases, %d replies decoded by tshark and scapy, %d checks, %d mismatches"
          % (len(cases), len(frames), checks, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
