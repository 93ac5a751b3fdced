#!/usr/bin/python3
"""Integration tests of the STAMP TLVs (issue 16; RFC 8972 §4, RFC 9503) on the real dpdk-twamp
in the namespace lab.

    tests/integration/stamp_tlv_tests.py --binary build/src/app/dpdk-twamp --source-root .
        [--case NAME]... [--keep] [--list] [--gtest_output=json:PATH|xml:PATH]

The lab, the harness and its conventions are lab_tests.py's (imported). Every request is built
here from the RFC layouts (struct), sent from a kernel UDP socket in the sender namespace, and
its reply decoded from its octets here (scapy 2.5's STAMP TLV dissection is broken; Debian's
tshark 4.0 has no STAMP dissector: its TWAMP-Test one decodes the base packet and hands the
rest over as `twamp.test.padding`, which the tshark case decodes with the same code), then
checked field by field against TLV-SPEC.md (the lead's decisions for issue 16). Cases share one
dpdk-twamp with the config below (metrics on 127.0.0.1:9862 inside the reflector namespace);
the metrics case starts its own, so its counters are exactly what it sent. Addresses only from
198.18.0.0/15 and 2001:2::/48.
"""
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab_tests as L  # noqa: E402  (the shared harness, beside this file)
from lab_tests import (B4, B6, S4, S6, Failure, Peer, check, eq,  # noqa: E402
                       stamp_request)
from ops_tests import scrape  # noqa: E402  (Prometheus text parsed independently)

# Reflector UDP ports of the config below.
STAMP, STATELESS, COS, NORETURN, PORTS_ONLY = 64365, 64366, 64368, 64369, 64370
B4_2 = "198.18.0.3"        # a second address of the box (Destination Node Address "ours")
S4_2 = "198.18.0.5"        # a second address of the sender (Return Address inside the ACL)
S6_2 = "2001:2::5"
OUTSIDE4 = "198.18.1.5"    # outside every reflector's ACL
FOREIGN4 = "198.18.0.99"   # not the box's
COS_ALLOWED = (0, 10, 46)  # the "cos" reflector's cos-allowed-dscp

U, M, I = 0x80, 0x40, 0x20
T_PAD, T_LOC, T_TSI, T_COS, T_DM, T_ACC, T_FU, T_HMAC, T_DNA, T_RP = range(1, 11)

REFLECTORS = [
    # name, port, extra settings
    ("stamp", STAMP, "stateful = true; return-address = true;"),
    ("stateless", STATELESS, "stateful = false;"),
    ("cos", COS, "stateful = true; cos-allowed-dscp = [ %s ];"
     % ", ".join(map(str, COS_ALLOWED))),
    ("noreturn", NORETURN, "return-address = false;"),
    ("portsonly", PORTS_ONLY, 'location = [ "ports" ];'),
]


def conf_text(lab):
    lines = [f"# stamp_tlv_tests.py, lab {lab.name}",
             "ports = (",
             f'  {{ name = "wire0"; device = "net_af_packet0,iface={lab.name}r0";',
             f'    addresses = [ "198.18.0.2/24", "{B4_2}/24", "2001:2::2/64" ];',
             f'    exception = {{ iface = "{lab.name}tap0"; rate-limit-pps = 20000; }}; }}',
             ");",
             "reflectors = ("]
    for i, (name, port, extra) in enumerate(REFLECTORS):
        lines.append(f'  {{ name = "{name}"; port = "wire0"; mode = "stamp"; '
                     f'udp-ports = [ {port} ]; prefixes = [ "198.18.0.0/24", "2001:2::/64" ]; '
                     f'{extra} }}' + ("," if i + 1 < len(REFLECTORS) else ""))
    lines += [");", 'metrics = { listen = "127.0.0.1:9862"; };']
    path = os.path.join(lab.workdir, f"tlv-{lab.instances + 1}.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def box(lab):
    """The cases' shared dpdk-twamp with the TLV config (started by the first case)."""
    d = lab.dut
    if d is not None and getattr(d, "tlv_conf", False) and d.running():
        return d
    if d is not None:
        lab.dut = None
        d.stop()
    d = L.Dut(lab, shared=True, conf=conf_text(lab), n_reflectors=len(REFLECTORS))
    d.tlv_conf = True
    lab.dut = d
    d.start()
    return d


# ---------------------------------------------------------------------------------------------
# TLVs as RFC 8972 §4 lays them out: Flags (U M I, 5 reserved bits), Type, Length, Value.

def tlv(typ, value=b"", flags=U):
    """A TLV as a Session-Sender sends it: U = 1 (RFC 8972 §4)."""
    return struct.pack("!BBH", flags, typ, len(value)) + bytes(value)


def sub(typ, value=b"", flags=U):
    return tlv(typ, value, flags)


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def ip6(a):
    import socket
    return socket.inet_pton(socket.AF_INET6, a)


def location_req(mac=True, dst=True, src=True):
    """§4.2: Destination Port, Source Port (zeros), sub-TLV requests of §4.2.1: Source MAC (1,
    Length 8), Destination IP (4, Length 16), Source IP (7, Length 16)."""
    v = bytes(4)
    if mac:
        v += sub(1, bytes(8))
    if dst:
        v += sub(4, bytes(16))
    if src:
        v += sub(7, bytes(16))
    return tlv(T_LOC, v)


def cos_req(dscp1):
    """§4.4 (erratum 8199): DSCP1(6) DSCP2(6) ECN(2) RP(2) Reserved(16); a sender sets DSCP1."""
    return tlv(T_COS, struct.pack("!HH", dscp1 << 10, 0))


def decode_tlvs(area):
    """Every TLV of a TLV area: dicts with flags, type, length, value, offset; the last one
    `truncated` when the area does not walk to its end."""
    out, pos = [], 0
    while pos < len(area):
        left = len(area) - pos
        if left < 4:
            out.append({"flags": area[pos], "type": None, "length": None,
                        "value": area[pos:], "offset": pos, "truncated": True})
            break
        flags, typ, length = struct.unpack_from("!BBH", area, pos)
        value = area[pos + 4:pos + 4 + length]
        t = {"flags": flags, "type": typ, "length": length, "value": value, "offset": pos,
             "truncated": length > left - 4}
        out.append(t)
        if t["truncated"]:
            break
        pos += 4 + length
    return out


def reply_tlvs(data):
    return decode_tlvs(data[44:])


def flags(t):
    return "".join(f for f, b in (("U", U), ("M", M), ("I", I)) if t["flags"] & b) or "-"


def check_flags(t, want, what):
    """The whole Flags octet: the reflector rewrites it (reserved bits 0)."""
    eq(t["flags"], want, f"{what}: Flags octet ({flags(t)})")


def exchange(lab, payload, dport, what, v6=False, tos=0, sport=None):
    """One request through a fresh socket (a new session), its reply: (data, tos, sport)."""
    sport = sport or lab.port()
    with Peer(v6, sport, ttl=64, tos=tos) as p:
        data, _ttl, rtos, _t0, _t1 = p.exchange(payload, dport, what)
    eq(len(data), len(payload), f"{what}: reply length (answered in place)")
    return data, rtos, sport


def open_socket(addr, port, v6=False):
    import socket
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.setblocking(False)
    return s


def recv_from(s, timeout):
    import select
    r, _, _ = select.select([s], [], [], timeout)
    if not r:
        return None
    return s.recvfrom(65535)


CASES = []


def case(fn):
    CASES.append((fn.__name__, fn))
    return fn


# ---------------------------------------------------------------------------------------------
# The cases.

@case
def tlv_location(lab):
    """Location (RFC 8972 §4.2, §4.2.1/§4.2.2), IPv4 and IPv6: the ports as received (the
    reflector's UDP port, the sender's), the Source MAC request answered as Source EUI-48 (type
    2) with the sender's MAC, the Destination/Source IP requests answered as IPv4 (5/8) or IPv6
    (6/9) with the addresses as received; every flag 0, the TLV at the sender's length. A
    reflector with location = [ "ports" ] answers the sub-TLVs with zeros (EUI-64 type 3 for
    the MAC); a sub-TLV of a wrong Length gets M and stops the sub-walk, the TLV keeps U = M =
    0; an unknown sub-type gets U."""
    d = box(lab)
    for v6 in (False, True):
        fam = "IPv6" if v6 else "IPv4"
        req = stamp_request(1, 7, tlvs=location_req())
        data, _, sport = exchange(lab, req, STAMP, f"Location {fam}", v6=v6)
        t = reply_tlvs(data)
        eq(len(t), 1, f"Location {fam}: TLVs in the reply")
        loc = t[0]
        check_flags(loc, 0, f"Location {fam}")
        eq((loc["type"], loc["length"]), (T_LOC, 56), f"Location {fam}: type, length")
        v = loc["value"]
        eq(struct.unpack_from("!HH", v), (STAMP, sport), f"Location {fam}: dst/src port")
        subs = decode_tlvs(v[4:])
        eq([(s["type"], s["length"], s["flags"]) for s in subs],
           [(2, 8, 0), (6 if v6 else 5, 16, 0), (9 if v6 else 8, 16, 0)],
           f"Location {fam}: answered sub-TLVs (type, length, flags)")
        eq(subs[0]["value"], bytes.fromhex(lab.smac.replace(":", "")) + bytes(2),
           f"Location {fam}: Source EUI-48 = the sender's MAC + 2 zero octets")
        if v6:
            eq(subs[1]["value"], ip6(B6), f"Location {fam}: Destination IPv6")
            eq(subs[2]["value"], ip6(S6), f"Location {fam}: Source IPv6")
        else:
            eq(subs[1]["value"], ip4(B4) + bytes(12), f"Location {fam}: Destination IPv4")
            eq(subs[2]["value"], ip4(S4) + bytes(12), f"Location {fam}: Source IPv4")

    # location = [ "ports" ]: addresses and MAC unreported (zeros, the family's types; the MAC
    # as a zeroed Source EUI-64).
    data, _, sport = exchange(lab, stamp_request(2, 7, tlvs=location_req()), PORTS_ONLY,
                              "Location, ports only")
    loc = reply_tlvs(data)[0]
    check_flags(loc, 0, "Location, ports only")
    eq(struct.unpack_from("!HH", loc["value"]), (PORTS_ONLY, sport), "ports only: the ports")
    subs = decode_tlvs(loc["value"][4:])
    eq([(s["type"], s["flags"], s["value"]) for s in subs],
       [(3, 0, bytes(8)), (5, 0, bytes(16)), (8, 0, bytes(16))],
       "ports only: sub-TLVs zeroed (EUI-64, IPv4 dst, IPv4 src)")

    # An unknown sub-type (200) gets U and is skipped; then a Source IP request with Length 4
    # (wrong) gets M and stops the walk: the Destination IP request after it comes back as sent.
    v = (bytes(4) + sub(200, b"\x01\x02\x03\x04") + sub(7, bytes(4)) + sub(4, bytes(16)))
    req = stamp_request(3, 7, tlvs=tlv(T_LOC, v))
    data, _, _ = exchange(lab, req, STAMP, "Location, bad sub-TLVs")
    loc = reply_tlvs(data)[0]
    check_flags(loc, 0, "Location with a malformed sub-TLV (the TLV itself understood)")
    subs = decode_tlvs(loc["value"][4:])
    eq([(s["type"], s["flags"]) for s in subs], [(200, U), (7, M), (4, U)],
       "Location: unknown sub-TLV U, wrong-length sub-TLV M, the rest as received")
    eq(subs[0]["value"], b"\x01\x02\x03\x04", "Location: the unknown sub-TLV's value echoed")
    eq(subs[2]["value"], bytes(16), "Location: the sub-TLV after the malformed one as sent")
    _ = d


@case
def tlv_class_of_service(lab):
    """Class of Service (RFC 8972 §4.4 with erratum 8199), on a reflector with cos-allowed-dscp
    = [ 0, 10, 46 ]: DSCP1 46 permitted: the reply's IP DSCP is 46, RP 0; DSCP1 34 not
    permitted: RP 1 and the reply's DSCP the received one (dscp copy). Always: DSCP1 left as
    sent, DSCP2 = the received DSCP, ECN = the received ECN, Reserved zeroed (IPv4 and IPv6).
    A CoS TLV of Length 3 is malformed: M, and the TLV after it comes back as sent."""
    box(lab)
    for v6 in (False, True):
        fam = "IPv6" if v6 else "IPv4"
        tos = (10 << 2) | 2  # DSCP 10, ECT(0)
        for dscp1, allowed in ((46, True), (34, False)):
            w = f"CoS {fam} DSCP1 {dscp1}"
            body = struct.pack("!HH", dscp1 << 10, 0xFFFF)  # Reserved set: must come back 0
            req = stamp_request(1, 9, tlvs=tlv(T_COS, body))
            data, rtos, _ = exchange(lab, req, COS, w, v6=v6, tos=tos)
            t = reply_tlvs(data)
            eq(len(t), 1, f"{w}: TLVs")
            check_flags(t[0], 0, w)
            word, reserved = struct.unpack("!HH", t[0]["value"])
            got = {"dscp1": word >> 10, "dscp2": (word >> 4) & 0x3F, "ecn": (word >> 2) & 3,
                   "rp": word & 3, "reserved": reserved}
            eq(got, {"dscp1": dscp1, "dscp2": 10, "ecn": 2, "rp": 0 if allowed else 1,
                     "reserved": 0}, f"{w}: CoS fields")
            eq(rtos >> 2, dscp1 if allowed else 10, f"{w}: the reply's IP DSCP")
            eq(rtos & 3, 2, f"{w}: the reply's ECN (ECT(0) as received)")
    bad = tlv(T_COS, b"\x00\x00\x00") + tlv(T_DM, bytes(12))
    data, _, _ = exchange(lab, stamp_request(2, 9, tlvs=bad), COS, "CoS with Length 3")
    t = reply_tlvs(data)
    check_flags(t[0], M, "CoS Length 3")
    eq((t[1]["flags"], t[1]["value"]), (U, bytes(12)),
       "CoS Length 3: the TLV after the malformed one returned as received")


@case
def tlv_direct_measurement(lab):
    """Direct Measurement (RFC 8972 §4.5): a stateful session of 3 requests: S_TxC kept as
    sent, R_RxC = R_TxC = 1, 2, 3 (this request and reply included); a stateless reflector
    answers R_RxC = R_TxC = 0; Length 8 is malformed (M)."""
    box(lab)
    sport = lab.port()
    with Peer(False, sport) as p:
        for i in range(3):
            req = stamp_request(i, 3, tlvs=tlv(T_DM, struct.pack("!III", 1000 + i, 77, 88)))
            data, *_ = p.exchange(req, STAMP, f"DM stateful #{i}")
            t = reply_tlvs(data)
            check_flags(t[0], 0, f"DM stateful #{i}")
            eq(struct.unpack("!III", t[0]["value"]), (1000 + i, i + 1, i + 1),
               f"DM stateful #{i}: S_TxC, R_RxC, R_TxC")
    with Peer(False, lab.port()) as p:
        for i in range(2):
            req = stamp_request(i, 3, tlvs=tlv(T_DM, struct.pack("!III", 5 + i, 77, 88)))
            data, *_ = p.exchange(req, STATELESS, f"DM stateless #{i}")
            t = reply_tlvs(data)
            check_flags(t[0], 0, f"DM stateless #{i}")
            eq(struct.unpack("!III", t[0]["value"]), (5 + i, 0, 0),
               f"DM stateless #{i}: S_TxC kept, R_RxC = R_TxC = 0")
    data, _, _ = exchange(lab, stamp_request(9, 3, tlvs=tlv(T_DM, bytes(8))), STAMP,
                          "DM Length 8")
    check_flags(reply_tlvs(data)[0], M, "DM Length 8")


@case
def tlv_access_report(lab):
    """Access Report (RFC 8972 §4.6): ID 1 (3GPP) and 2 (non-3GPP) answered: ID and Return Code
    echoed, Resv and Reserved zeroed, U 0; ID 3 returned with U = 1 (not acted on); Length 5 M."""
    box(lab)
    for aid, code, want_flags in ((1, 1, 0), (2, 7, 0), (3, 1, U)):
        w = f"Access Report ID {aid}"
        body = bytes([(aid << 4) | 0x0F, code, 0xFF, 0xFF])
        data, _, _ = exchange(lab, stamp_request(1, 5, tlvs=tlv(T_ACC, body)), STAMP, w)
        t = reply_tlvs(data)[0]
        check_flags(t, want_flags, w)
        if want_flags == 0:
            eq(t["value"], bytes([aid << 4, code, 0, 0]), f"{w}: ID, Return Code; Resv zeroed")
        else:
            eq(t["value"][0] >> 4, aid, f"{w}: ID as sent")
    data, _, _ = exchange(lab, stamp_request(2, 5, tlvs=tlv(T_ACC, bytes([0x10, 1, 0, 0, 0]))),
                          STAMP, "Access Report Length 5")
    check_flags(reply_tlvs(data)[0], M, "Access Report Length 5")


def ntp_ns(raw8):
    sec, frac = struct.unpack("!II", raw8)
    return (sec - L.NTP_UNIX_OFFSET) * 10**9 + (frac * 10**9 >> 32)


@case
def tlv_follow_up_and_timestamp_info(lab):
    """Follow-Up Telemetry (RFC 8972 §4.7) in a stateful session of 3: the first reply's fields
    zero; each later one names the reply before it (Sequence Number = its reflector Sequence
    Number; a Follow-up Timestamp, when stated, within 1 s of that reply's T3, with a
    Timestamp Mode 1..3). Timestamp Information (§4.3) in the same packets: U 0, Timestamp
    In/Out methods stated (1..3). Follow-Up with Length 12 (erratum 8339): M, the Sequence
    Number and Timestamp octets present zeroed."""
    box(lab)
    prev = None
    with Peer(False, lab.port()) as p:
        for i in range(3):
            req = stamp_request(i, 11, tlvs=tlv(T_FU, bytes([0xEE]) * 16) +
                                tlv(T_TSI, bytes(4)))
            data, *_ = p.exchange(req, STAMP, f"Follow-Up #{i}")
            fu, tsi = reply_tlvs(data)
            check_flags(fu, 0, f"Follow-Up #{i}")
            check_flags(tsi, 0, f"Timestamp Information #{i}")
            seq, ts, mode = struct.unpack_from("!I8sB", fu["value"])
            eq(fu["value"][13:16], bytes(3), f"Follow-Up #{i}: Reserved zeroed")
            rseq = struct.unpack_from("!I", data)[0]
            if prev is None:
                eq((seq, ts, mode), (0, bytes(8), 0), "Follow-Up #0: nothing before it: zeros")
            else:
                eq(seq, prev[0], f"Follow-Up #{i}: the previous reply's Sequence Number")
                if ts != bytes(8):
                    check(abs(ntp_ns(ts) - prev[1]) < 10**9,
                          f"Follow-Up #{i}: timestamp {ntp_ns(ts)} not within 1 s of the "
                          f"previous reply's T3 {prev[1]}")
                    check(mode in (1, 2, 3), f"Follow-Up #{i}: Timestamp Mode {mode}")
            prev = (rseq, ntp_ns(data[4:12]))
            sync_in, m_in, sync_out, m_out = tsi["value"][:4]
            check(m_in in (1, 2, 3) and m_out in (1, 2, 3),
                  f"Timestamp Information #{i}: methods in {m_in} out {m_out} (want 1..3)")
    body = bytes([0xEE]) * 12
    data, _, _ = exchange(lab, stamp_request(5, 11, tlvs=tlv(T_FU, body)), STAMP,
                          "Follow-Up Length 12")
    t = reply_tlvs(data)[0]
    check_flags(t, M, "Follow-Up Length 12")
    eq(t["value"], bytes(12), "Follow-Up Length 12: Sequence Number and Timestamp zeroed")


@case
def tlv_destination_node_address(lab):
    """Destination Node Address (RFC 9503 §3): the request's destination (IPv4, IPv6): U 0,
    reply from it; another of the box's addresses (198.18.0.3): U 0 and the reply comes from
    it; a foreign address or the other family: U 1; Length 5: M."""
    import socket
    box(lab)
    cases = [(False, ip4(B4), 0, B4), (True, ip6(B6), 0, B6), (False, ip4(B4_2), 0, B4_2),
             (False, ip4(FOREIGN4), U, B4), (False, ip6(B6), U, B4), (True, ip4(B4), U, B6)]
    for v6, addr, want, src in cases:
        fam = socket.AF_INET6 if len(addr) == 16 else socket.AF_INET
        w = f"DNA {socket.inet_ntop(fam, addr)} in {'IPv6' if v6 else 'IPv4'}"
        sport = lab.port()
        s = open_socket(S6 if v6 else S4, sport, v6)
        try:
            req = stamp_request(1, 13, tlvs=tlv(T_DNA, addr))
            s.sendto(req, (B6 if v6 else B4, STAMP))
            end = time.monotonic() + 10
            got = None
            while got is None and time.monotonic() < end:
                got = recv_from(s, end - time.monotonic())
            check(got is not None, f"{w}: no reply within 10 s")
            data, frm = got
            eq(frm[0], src, f"{w}: reply source address")
            eq(frm[1], STAMP, f"{w}: reply source port")
            t = reply_tlvs(data)[0]
            check_flags(t, want, w)
            eq(t["value"], addr, f"{w}: address echoed")
        finally:
            s.close()
    data, _, _ = exchange(lab, stamp_request(2, 13, tlvs=tlv(T_DNA, bytes(5))), STAMP,
                          "DNA Length 5")
    check_flags(reply_tlvs(data)[0], M, "DNA Length 5")


def drops(lab, reason):
    return sum(v for _, v in scrape(lab).find("twamp_reflector_dropped_packets_total",
                                              reason=reason))


@case
def tlv_return_path(lab):
    """Return Path (RFC 9503 §4): Control Code "no reply requested": nothing comes back and the
    drop counter no_reply_requested moves by one; "same link": answered, U 0. Return Address
    inside the ACL (a second address of the sender): the reply arrives there, not at the source;
    outside the ACL, or on a reflector with return-address = false: U 1, reply to the source.
    SR-MPLS Label Stack alone: the sub-TLV and the TLV U 1. Only the first Return Path TLV is
    acted on: a second comes back with flags 0."""
    box(lab)
    # No reply requested.
    before = drops(lab, "no_reply_requested")
    sport = lab.port()
    with Peer(False, sport) as p:
        p.send(stamp_request(1, 17, tlvs=tlv(T_RP, sub(1, struct.pack("!I", 0)))), STAMP)
        end = time.monotonic() + 60
        while drops(lab, "no_reply_requested") < before + 1:
            got = p.recv(0.2)
            check(got is None, f"no-reply: a reply came back: {got!r}")
            check(time.monotonic() < end, "no-reply: the no_reply_requested drop counter did "
                  "not move within 60 s")
        eq(drops(lab, "no_reply_requested"), before + 1, "no_reply_requested drops")
        # The drop is counted where the reply would have been sent: nothing is in flight.
        got = p.recv(0.2)
        check(got is None, f"no-reply: a reply came back: {got!r}")
    # Same link.
    data, _, _ = exchange(lab, stamp_request(2, 17, tlvs=tlv(T_RP, sub(1, struct.pack("!I", 1)))),
                          STAMP, "Return Path same link")
    t = reply_tlvs(data)[0]
    check_flags(t, 0, "Return Path same link")
    eq(decode_tlvs(t["value"])[0]["flags"], 0, "Control Code sub-TLV flags")

    # Return Address inside the ACL (IPv4, IPv6): the reply goes there, with checksums the
    # sender's kernel accepts (it drops a datagram whose UDP checksum is wrong).
    for v6, addr, raw, plen in ((False, S4_2, ip4(S4_2), 24), (True, S6_2, ip6(S6_2), 64)):
        w = f"Return Address {addr}"
        L.run(["ip", "addr", "add", f"{addr}/{plen}", "dev", lab.siface, "nodad"],
              check_rc=False)
        try:
            sport = lab.port()
            other = open_socket(addr, sport, v6)
            try:
                with Peer(v6, sport) as p:
                    p.send(stamp_request(3, 17, tlvs=tlv(T_RP, sub(2, raw))), STAMP)
                    end = time.monotonic() + 10
                    got = None
                    while got is None and time.monotonic() < end:
                        got = recv_from(other, end - time.monotonic())
                    check(got is not None, f"{w}: no reply there within 10 s")
                    data, frm = got
                    eq(frm[:2], (B6 if v6 else B4, STAMP), f"{w}: reply from")
                    t = reply_tlvs(data)[0]
                    check_flags(t, 0, f"{w} (inside the ACL)")
                    eq(decode_tlvs(t["value"])[0]["value"], raw, f"{w}: echoed")
                    check(p.recv(0.2) is None, f"{w}: a reply came to the source too")
            finally:
                other.close()
        finally:
            L.run(["ip", "addr", "del", f"{addr}/{plen}", "dev", lab.siface], check_rc=False)

    # Outside the ACL, and a reflector that does not honour Return Addresses: U, to the source.
    for port, addr, w in ((STAMP, OUTSIDE4, "outside the ACL"),
                          (NORETURN, S4_2, "return-address = false")):
        data, _, _ = exchange(lab, stamp_request(4, 17, tlvs=tlv(T_RP, sub(2, ip4(addr)))),
                              port, f"Return Address {w}")
        check_flags(reply_tlvs(data)[0], U, f"Return Address {w}")
    # SR-MPLS Label Stack sub-TLV alone: not supported.
    data, _, _ = exchange(lab, stamp_request(5, 17, tlvs=tlv(T_RP, sub(3, bytes(4)))), STAMP,
                          "Return Path SR-MPLS")
    t = reply_tlvs(data)[0]
    check_flags(t, U, "Return Path with only an SR-MPLS Label Stack")
    check_flags(decode_tlvs(t["value"])[0], U, "SR-MPLS Label Stack sub-TLV")
    # Two Return Path TLVs: the first acted on (same link), the second returned with flags 0.
    two = tlv(T_RP, sub(1, struct.pack("!I", 1))) + tlv(T_RP, sub(1, struct.pack("!I", 0)))
    data, _, _ = exchange(lab, stamp_request(6, 17, tlvs=two), STAMP, "two Return Paths")
    a, b = reply_tlvs(data)
    check_flags(a, 0, "first Return Path")
    check_flags(b, 0, "second Return Path (ignored)")


@case
def tlv_unknown_and_malformed(lab):
    """RFC 8972 §4: an unknown type (200) comes back with U = 1 and its value as sent; a TLV
    whose Length passes the end of the packet gets M; the Flags octet is rewritten whole (a
    known TLV sent with U M I and reserved bits set comes back 0)."""
    box(lab)
    body = tlv(200, b"\xde\xad\xbe\xef") + tlv(T_PAD, bytes(4), flags=0xFF)
    data, _, _ = exchange(lab, stamp_request(1, 19, tlvs=body), STAMP, "unknown type")
    a, b = reply_tlvs(data)
    check_flags(a, U, "type 200")
    eq(a["value"], b"\xde\xad\xbe\xef", "type 200: value echoed")
    check_flags(b, 0, "Extra Padding sent with every flag bit set")
    cut = struct.pack("!BBH", U, T_DM, 40) + bytes(8)  # Length 40, 8 octets there
    data, _, _ = exchange(lab, stamp_request(2, 19, tlvs=tlv(T_PAD, bytes(4)) + cut), STAMP,
                          "Length past the end")
    t = reply_tlvs(data)
    check_flags(t[0], 0, "Extra Padding before the cut-off TLV")
    check_flags(t[1], M, "the TLV whose Length passes the end (a known type: U 0)")
    eq(data[44 + 8 + 1:], cut[1:], "the cut-off TLV's octets after Flags as received")


@case
def tlv_tshark(lab):
    """A reply carrying Location, CoS, Direct Measurement and Follow-Up captured on the sender's
    veth and read by tshark: Debian's tshark 4.0 has no STAMP dissector (`tshark -G protocols`
    lists TWAMP-Test and TWAMP-Control only), so its TWAMP-Test dissector decodes the base
    packet (sequence numbers, Sender TTL) and gives the rest as twamp.test.padding (octet 41
    on): those octets decode here to the same TLVs as the socket's copy."""
    import scapy.all as sa
    box(lab)
    protos = L.run(["tshark", "-G", "protocols"]).stdout.decode(errors="replace")
    check("twamp.test" in protos, "tshark has no TWAMP-Test dissector")
    sport = lab.port()
    body = location_req() + cos_req(0) + tlv(T_DM, struct.pack("!III", 1, 0, 0)) + \
        tlv(T_FU, bytes(16))

    def mine(pk):
        return sa.UDP in pk and pk[sa.UDP].sport == STAMP and pk[sa.UDP].dport == sport
    with L.Sniffer(lab, mine) as sn:
        with Peer(False, sport, ttl=77) as p:
            data, *_ = p.exchange(stamp_request(42, 21, tlvs=body), STAMP, "tshark case")
        frames = sn.wait(1, 30)
    eq(len(frames), 1, "captured replies")
    pcap = os.path.join(lab.workdir, "tlv.pcap")
    sa.wrpcap(pcap, frames)
    fields = ["twamp.test.seq_number", "twamp.test.sender_seq_number", "twamp.test.sender_ttl",
              "twamp.test.padding"]
    cmd = ["tshark", "-n", "-r", pcap, "-d", f"udp.port=={STAMP},twamp.test", "-T", "fields",
           "-E", "separator=|"]
    for f in fields:
        cmd += ["-e", f]
    env = dict(os.environ, HOME=lab.workdir)
    out = L.run(cmd, env=env).stdout.decode(errors="replace").strip()
    row = out.split("|")
    eq(len(row), len(fields), f"tshark fields: {out!r}")
    eq(int(row[0]), 0, "tshark twamp.test.seq_number")
    eq(int(row[1]), 42, "tshark twamp.test.sender_seq_number")
    eq(int(row[2]), 77, "tshark twamp.test.sender_ttl")
    rest = bytes.fromhex(row[3].replace(":", ""))
    eq(rest, data[41:], "tshark's twamp.test.padding = the reply from octet 41")
    t = decode_tlvs(rest[3:])
    eq([(x["type"], x["flags"]) for x in t], [(T_LOC, 0), (T_COS, 0), (T_DM, 0), (T_FU, 0)],
       "TLVs decoded from tshark's octets (type, flags)")
    eq(struct.unpack_from("!HH", t[0]["value"]), (STAMP, sport), "Location ports (tshark)")


@case
def tlv_twamp_ping(lab):
    """twamp-ping --tlv ... --json end to end (IPv4): 3 requests with Timestamp Information,
    Location, CoS 46, Direct Measurement and Follow-Up: every reply's decoded TLVs as
    TLV-SPEC.md says (U/M 0, Location's ports, MAC and addresses, CoS DSCP2 = the --dscp, DM
    R_RxC/R_TxC counting, Follow-Up naming the previous reply), the summary's per-type counts;
    then return-path=no-reply: nothing lost, 3 not requested, exit 0; then dna= a second
    address of the box: the replies come from it and are all received."""
    box(lab)
    sport = lab.port()
    tlvs = ["--tlv", "timestamp-info", "--tlv", "location", "--tlv", "cos=46", "--tlv",
            "direct-measurement", "--tlv", "follow-up"]
    rc, replies, others, summ = L.twamp_ping(lab, f"{B4}:{COS}", "--mode", "stamp", "-c", 3,
                                             "-i", 0.05, "-W", 5, "--dscp", 10, "--src-port",
                                             sport, *tlvs)
    eq(rc, 0, "twamp-ping exit status")
    check(not others, f"twamp-ping reported {others[:5]}")
    size = 44 + 8 + 60 + 8 + 16 + 20
    eq((summ["sent"], summ["received"], summ["lost"], summ["octets"]), (3, 3, 0, size),
       "twamp-ping summary")
    for i, r in enumerate(replies):
        w = f"twamp-ping reply {i}"
        t = r["tlvs"]
        eq([x["name"] for x in t], ["timestamp_information", "location", "class_of_service",
                                    "direct_measurement", "follow_up_telemetry"], f"{w}: TLVs")
        for x in t:
            eq((x["u"], x["m"], x["i"]), (False, False, False), f"{w}: {x['name']} flags")
        tsi, loc, cos, dm, fu = t
        check(tsi["timestamp_in"] in (1, 2, 3), f"{w}: timestamp_in {tsi['timestamp_in']}")
        eq((loc["dst_port"], loc["src_port"]), (COS, sport), f"{w}: Location ports")
        eq([(s["name"], s.get("mac") or s.get("address")) for s in loc["sub_tlvs"]],
           [("source_eui48", lab.smac), ("destination_ipv4", B4), ("source_ipv4", S4)],
           f"{w}: Location sub-TLVs")
        eq((cos["dscp1"], cos["dscp2"], cos["ecn"], cos["rp"]), (46, 10, 0, 0), f"{w}: CoS")
        eq((dm["s_txc"], dm["r_rxc"], dm["r_txc"]), (i + 1, i + 1, i + 1), f"{w}: DM")
        # The last reply sent before this request was taken (RFC 8972 §4.7): the previous one,
        # unless both requests came in one burst on a busy machine (the previous reply's T3
        # then after this request's T2: software timestamps, one TSC), when it is the one
        # before that; none (sequence and timestamp 0) before the session's first reply left.
        sent = [r2 for r2 in replies[:i] if r2["t3_ns"] <= r["t2_ns"]]
        eq((fu["sequence"], fu["timestamp_ns"]),
           (sent[-1]["reflector_seq"], sent[-1]["t3_ns"]) if sent else (0, 0),
           f"{w}: Follow-Up sequence and timestamp")
    for name in ("timestamp_information", "location", "class_of_service", "direct_measurement",
                 "follow_up_telemetry"):
        eq(summ["tlvs"][name], {"type": summ["tlvs"][name]["type"], "seen": 3, "u": 0, "m": 0,
                                "i": 0}, f"summary tlvs {name}")

    rc, replies, others, summ = L.twamp_ping(lab, f"{B4}:{STAMP}", "--mode", "stamp", "-c", 3,
                                             "-i", 0.05, "-W", 0.5, "--tlv",
                                             "return-path=no-reply")
    eq(rc, 0, "twamp-ping return-path=no-reply exit status")
    eq((summ["sent"], summ["received"], summ["lost"], summ["not_requested"]), (3, 0, 0, 3),
       "no-reply summary: sent, received, lost, not_requested")
    eq(sorted(o["seq"] for o in others if o["type"] == "not_requested"), [0, 1, 2],
       "no-reply: a not_requested object per packet")
    check(not [o for o in others if o["type"] == "lost"], "no-reply: packets reported lost")

    # dna= another of the box's addresses: the replies come from that address (RFC 9503 §3),
    # which a socket connected to B4 would drop; twamp-ping takes them (unconnected).
    rc, replies, others, summ = L.twamp_ping(lab, f"{B4}:{STAMP}", "--mode", "stamp", "-c", 3,
                                             "-i", 0.05, "-W", 5, "--tlv", f"dna={B4_2}")
    eq(rc, 0, "twamp-ping dna= exit status")
    eq((summ["sent"], summ["received"], summ["lost"]), (3, 3, 0), "dna= summary")
    for i, r in enumerate(replies):
        eq([(x["name"], x["u"]) for x in r["tlvs"]], [("destination_node_address", False)],
           f"dna= reply {i}: TLVs")


@case
def tlv_metrics(lab):
    """Per-reflector TLV counters from Prometheus, on a dpdk-twamp of the case's own:
    twamp_reflector_stamp_tlvs_total{reflector, type} counts every TLV of every request by
    type (other: every type beyond 10), twamp_reflector_stamp_tlv_flags_total{reflector, flag}
    the U and M flags set in the replies, exactly what was sent."""
    d = lab.fresh(conf=conf_text(lab), n_reflectors=len(REFLECTORS))
    n = 4
    body = (tlv(T_PAD, bytes(4)) + location_req() + tlv(T_TSI, bytes(4)) + cos_req(0) +
            tlv(T_DM, bytes(12)) + tlv(T_ACC, bytes([0x30, 1, 0, 0])) + tlv(T_FU, bytes(16)) +
            tlv(T_DNA, ip4(FOREIGN4)) + tlv(T_RP, sub(1, struct.pack("!I", 1))) +
            tlv(200, b"xy") + tlv(T_COS, bytes(3)))  # the last one malformed: M, walk ends
    with Peer(False, lab.port()) as p:
        for i in range(n):
            p.exchange(stamp_request(i, 23, tlvs=body), STAMP, f"metrics #{i}")

    def counts():
        m = scrape(lab)
        return ({lb["type"]: v for lb, v in m.find("twamp_reflector_stamp_tlvs_total",
                                                   reflector="stamp")},
                {lb["flag"]: v for lb, v in m.find("twamp_reflector_stamp_tlv_flags_total",
                                                   reflector="stamp")})
    want_types = {"extra_padding": n, "location": n, "timestamp_information": n,
                  "class_of_service": 2 * n, "direct_measurement": n, "access_report": n,
                  "follow_up_telemetry": n, "destination_node_address": n, "return_path": n,
                  "other": n}
    # U: access_report (ID 3), DNA (foreign), type 200; M: the CoS of Length 3.
    want_flags = {"u": 3 * n, "m": n, "i": 0}
    # The counters are the workers', summed at scrape time: poll until they reach what was
    # sent (a generous cap), then compare exactly.
    end = time.monotonic() + 60
    while True:
        types, fl = counts()
        if all(types.get(k, 0) >= v for k, v in want_types.items()):
            break
        if time.monotonic() > end:
            raise Failure(f"TLV counters did not reach what was sent within 60 s: types "
                          f"{types}, flags {fl}; want {want_types}, {want_flags}")
        time.sleep(0.2)
    eq({k: int(v) for k, v in types.items() if v}, want_types,
       "twamp_reflector_stamp_tlvs_total{reflector=stamp}")
    eq({k: int(fl.get(k, 0)) for k in want_flags}, want_flags,
       "twamp_reflector_stamp_tlv_flags_total{reflector=stamp}")
    check(all(v == 0 for lb, v in scrape(lab).find("twamp_reflector_stamp_tlvs_total",
                                                   reflector="stateless")),
          "the stateless reflector counted TLVs it never saw")
    _ = d
    lab.release()


if __name__ == "__main__":
    sys.exit(L.main(CASES, suite="stamp_tlv", doc=__doc__))
