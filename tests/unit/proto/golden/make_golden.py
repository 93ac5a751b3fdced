#!/usr/bin/python3
"""Golden TWAMP Light / STAMP frames for the packet core's tests, built with scapy.

For each case this builds
  - the request frame a Session-Sender would send (scapy layers: Ether, Dot1Q/Dot1AD, IP/IPv6,
    UDP, and scapy.contrib.stamp's STAMPSessionSenderTestUnauthenticated for STAMP; for TWAMP
    Light the 14-octet RFC 5357 §4.1.2 sender fields + padding packed by hand), and
  - the reply an RFC-correct Session-Reflector must send for it, written from RFC 5357 §4.2.1,
    RFC 8762 §4.3, RFC 8972 §3-4 and DESIGN.md "Reflection, exactly" (addresses/ports/MACs
    swapped, TTL 255, DS field per policy, reflector fields, TLV flags), with scapy computing
    lengths and the IPv4 header and UDP checksums,
and writes both as byte arrays into golden_frames.hpp (checked in: the unit tests need no
Python). verify_golden.py imports this module for the same cases, checks that the header is
current, and decodes the replies our reflector produces with tshark and scapy.

Usage: make_golden.py [OUT.hpp]   (default: golden_frames.hpp beside this script)
"""
import os
import struct
import sys
from fractions import Fraction

from scapy.all import IP, UDP, Dot1Q, Ether, IPOption_NOP, IPv6, Padding, Raw, raw
from scapy.contrib.stamp import ErrorEstimate, STAMPSessionSenderTestUnauthenticated
from scapy.layers.l2 import Dot1AD

NTP_UNIX_OFFSET = 2208988800
SENDER_MAC = "02:00:00:00:00:01"
REFLECTOR_PORT_MAC = "02:00:00:00:00:02"  # the request's destination
OUR_MAC = "02:42:ac:11:00:02"  # the reflector port's MAC (reply source)


# ---- timestamps, from the RFCs ----------------------------------------------------------------

def ntp(unix_ns):
    """RFC 5905 §6: seconds since 1900, 2^-32 s fraction rounded to nearest (half up)."""
    sec, ns = divmod(unix_ns, 10**9)
    frac = (ns * 2**32 * 2 + 10**9) // (2 * 10**9)
    return (sec + NTP_UNIX_OFFSET) << 32 | frac


def ptp(unix_ns, tai_utc):
    """RFC 8186 §2.3: PTPv2 truncated, TAI seconds since 1970 (32 bits) + nanoseconds."""
    sec, ns = divmod(unix_ns, 10**9)
    return ((sec + tai_utc) & 0xffffffff) << 32 | ns


def err_word(s, z, scale, mult):
    """RFC 4656 §4.1.2 Error Estimate: S(1) Z(1) Scale(6) Multiplier(8)."""
    return (s << 15) | (z << 14) | (scale << 8) | mult


# ---- request payloads -------------------------------------------------------------------------

def stamp_sender(seq, ts_raw, err, ssid, tlvs=b""):
    """RFC 8762 §4.2.1 + RFC 8972 §3 sender packet via scapy.contrib.stamp, TLVs appended."""
    ee = ErrorEstimate(S=err >> 15, Z=(err >> 14) & 1, scale=(err >> 8) & 0x3f,
                       multiplier=err & 0xff)
    p = STAMPSessionSenderTestUnauthenticated(seq=seq, err_estimate=ee, ssid=ssid)
    # Set after err_estimate: the field type (NTP fixed point or raw 64-bit) depends on Z.
    # An exact Fraction keeps every bit of the NTP value.
    p.ts = ts_raw if (err >> 14) & 1 else Fraction(ts_raw, 2**32)
    b = raw(p) + tlvs
    assert len(b) == 44 + len(tlvs) and struct.unpack("!IQHH", b[:16]) == (seq, ts_raw, err, ssid)
    return b


def twamp_sender(seq, ts_raw, err, length):
    """RFC 5357 §4.1.2 unauthenticated sender packet: Sequence Number, Timestamp, Error
    Estimate, then padding (a pattern, so the test can see it returned)."""
    pad = bytes((0x30 + 7 * i) & 0xff for i in range(max(0, length - 14)))
    return (struct.pack("!IQH", seq, ts_raw, err) + pad)[:length]


def tlv(flags, typ, value, length=None):
    """RFC 8972 §4: Flags, Type, Length, Value."""
    return struct.pack("!BBH", flags, typ, len(value) if length is None else length) + value


# ---- the cases --------------------------------------------------------------------------------

T2 = 1_700_000_000_123_456_789  # 2023-11-14T22:13:20.123456789Z
SENDER_T = T2 - 1_234_567


def case(name, **kw):
    c = dict(name=name, timestamps="auto", dscp=-1, allow_v6_zero=False, symmetrical=False,
             stateful=True,
             reflector_seq=1000, t2_ns=T2, t3_ns=T2 + 25_000, our_err=(1, 3, 17),
             tai_utc=37, tlv_info=None)
    c.update(kw)
    return c


def cases():
    out = []

    # STAMP over IPv4, untagged, NTP timestamps, stateful (RFC 8762 §4.3.1), SSID copied.
    err = err_word(1, 0, 1, 3)
    out.append(case(
        "stamp_v4_ntp_stateful", mode="stamp", sender_seq=7, sender_ts=ntp(SENDER_T),
        sender_err=err, ssid=0x1234, ttl=64, tos=0x00,
        frame=Ether(src=SENDER_MAC, dst=REFLECTOR_PORT_MAC)
        / IP(src="198.18.0.1", dst="198.18.0.2", ttl=64, id=0x4242, flags="DF")
        / UDP(sport=50001, dport=862)
        / Raw(stamp_sender(7, ntp(SENDER_T), err, 0x1234))))

    # STAMP over IPv6 in a C-tag, PTP (Z=1), stateless, Extra Padding + an unknown TLV.
    err = err_word(0, 1, 10, 200)
    tlvs = tlv(0, 1, bytes(range(20))) + tlv(0, 250, b"\xde\xad\xbe\xef")
    out.append(case(
        "stamp_v6_ptp_ctag_tlvs", mode="stamp", stateful=False, sender_seq=0x01020304,
        sender_ts=ptp(SENDER_T, 37), sender_err=err, ssid=0xbeef, ttl=61, tos=0xb8,
        tlvs_in=tlvs, tlvs_out=tlv(0, 1, bytes(range(20))) + tlv(0x80, 250, b"\xde\xad\xbe\xef"),
        frame=Ether(src=SENDER_MAC, dst=REFLECTOR_PORT_MAC)
        / Dot1Q(vlan=100, prio=5)
        / IPv6(src="2001:2::1", dst="2001:2::2", hlim=61, tc=0xb8, fl=0xabcde)
        / UDP(sport=40000, dport=862)
        / Raw(stamp_sender(0x01020304, ptp(SENDER_T, 37), err, 0xbeef, tlvs))))

    # STAMP over IPv4 in QinQ; the second TLV's Length runs past the end: M=1, walk stops.
    err = err_word(1, 0, 0, 1)
    tlvs = tlv(0, 1, b"\x11" * 8) + tlv(0, 1, b"\x22" * 6, length=64)
    out.append(case(
        "stamp_v4_qinq_malformed_tlv", mode="stamp", sender_seq=0xfffffffe,
        sender_ts=ntp(SENDER_T), sender_err=err, ssid=0x0001, ttl=3, tos=0x00,
        reflector_seq=0xffffffff,
        tlvs_in=tlvs, tlvs_out=tlv(0, 1, b"\x11" * 8) + tlv(0x40, 1, b"\x22" * 6, length=64),
        frame=Ether(src=SENDER_MAC, dst=REFLECTOR_PORT_MAC)
        / Dot1AD(vlan=10) / Dot1Q(vlan=20)
        / IP(src="198.19.0.1", dst="198.19.0.2", ttl=3, id=1)
        / UDP(sport=862, dport=862)
        / Raw(stamp_sender(0xfffffffe, ntp(SENDER_T), err, 0x0001, tlvs))))

    # STAMP, no UDP checksum (RFC 768 allows it over IPv4): the reply still carries one.
    # Context forces PTP although Z=0, and a fixed DSCP (AF41) keeping the ECN bits.
    err = err_word(0, 0, 0, 1)
    out.append(case(
        "stamp_v4_no_checksum_forced_ptp_dscp34", mode="stamp", timestamps="ptp", dscp=34,
        sender_seq=99, sender_ts=ntp(SENDER_T), sender_err=err, ssid=7, ttl=250, tos=0x01,
        frame=Ether(src=SENDER_MAC, dst=REFLECTOR_PORT_MAC)
        / IP(src="198.18.1.1", dst="198.18.0.2", ttl=250, tos=0x01, id=7)
        / UDP(sport=33000, dport=862, chksum=0)
        / Raw(stamp_sender(99, ntp(SENDER_T), err, 7))))

    # TWAMP Light, the 14-octet minimum (RFC 5357 §4.1.2) in a padded 60-octet frame: the
    # reply grows to the 41-octet base and no further.
    err = err_word(1, 0, 2, 9)
    out.append(case(
        "twamp_v4_min14_grows_to_41", mode="twamp", sender_seq=1, sender_ts=ntp(SENDER_T),
        sender_err=err, ssid=0, ttl=255, tos=0x00, reflector_seq=0,
        frame=Ether(src=SENDER_MAC, dst=REFLECTOR_PORT_MAC)
        / IP(src="198.18.0.1", dst="198.18.0.2", ttl=255, id=0x1111)
        / UDP(sport=5000, dport=862)
        / Raw(twamp_sender(1, ntp(SENDER_T), err, 14))
        / Padding(b"\x00" * 4)))

    # TWAMP Light with IPv4 options (IHL 6) and padding, to the receiver port 64364,
    # stateless, context forces NTP although the sender uses PTP.
    err = err_word(0, 1, 5, 50)
    out.append(case(
        "twamp_v4_options_padding_forced_ntp", mode="twamp", timestamps="ntp", stateful=False,
        sender_seq=123456, sender_ts=ptp(SENDER_T, 37), sender_err=err, ssid=0, ttl=17,
        tos=0x28,
        frame=Ether(src=SENDER_MAC, dst=REFLECTOR_PORT_MAC)
        / IP(src="198.18.0.9", dst="198.18.0.2", ttl=17, tos=0x28, id=0x2222,
             options=[IPOption_NOP()] * 4)
        / UDP(sport=40001, dport=64364)
        / Raw(twamp_sender(123456, ptp(SENDER_T, 37), err, 100))))

    # TWAMP Light over IPv6 in QinQ, PTP by the Z bit, Hop Limit 1 reported as Sender TTL.
    err = err_word(1, 1, 0, 200)
    out.append(case(
        "twamp_v6_qinq_ptp", mode="twamp", sender_seq=0x7fffffff, sender_ts=ptp(SENDER_T, 37),
        sender_err=err, ssid=0, ttl=1, tos=0x00, reflector_seq=0xfffffffe,
        frame=Ether(src=SENDER_MAC, dst=REFLECTOR_PORT_MAC)
        / Dot1AD(vlan=300) / Dot1Q(vlan=400, prio=3)
        / IPv6(src="2001:2:0:1::5", dst="2001:2::2", hlim=1)
        / UDP(sport=6000, dport=862)
        / Raw(twamp_sender(0x7fffffff, ptp(SENDER_T, 37), err, 64))))

    # TWAMP Light over IPv6 with a zero UDP checksum, allowed by the context (RFC 6936).
    err = err_word(0, 0, 0, 1)
    out.append(case(
        "twamp_v6_zero_checksum_allowed", mode="twamp", allow_v6_zero=True, sender_seq=42,
        sender_ts=ntp(SENDER_T), sender_err=err, ssid=0, ttl=64, tos=0x2a,
        frame=Ether(src=SENDER_MAC, dst=REFLECTOR_PORT_MAC)
        / IPv6(src="2001:2::1", dst="2001:2::2", hlim=64, tc=0x2a)
        / UDP(sport=7000, dport=862, chksum=0)
        / Raw(twamp_sender(42, ntp(SENDER_T), err, 41))))

    # TWAMP Light, 1,400 octets of padding pattern: RFC 5357 §4.2.1, the sender's padding
    # re-used, its highest-numbered 27 octets discarded (reply octet 41+i = request 14+i).
    err = err_word(1, 0, 1, 3)
    out.append(case(
        "twamp_v4_padding_truncated_1400", mode="twamp", sender_seq=77, sender_ts=ntp(SENDER_T),
        sender_err=err, ssid=0, ttl=60, tos=0x00,
        frame=Ether(src=SENDER_MAC, dst=REFLECTOR_PORT_MAC)
        / IP(src="198.18.0.1", dst="198.18.0.2", ttl=60, id=0x3333)
        / UDP(sport=5001, dport=862)
        / Raw(twamp_sender(77, ntp(SENDER_T), err, 1400))))

    # TWAMP with RFC 6038 symmetrical size (+ reflect octets): the sender's packet carries 27
    # MBZ octets after its Error Estimate and its padding from octet 41, where it stays.
    # A CE mark on the request (EF + CE, DS copied) comes back as ECT(0): RFC 3168 §5.
    err = err_word(1, 0, 1, 3)
    sym = twamp_sender(5, ntp(SENDER_T), err, 14) + b"\x00" * 27 + bytes(
        (0xc0 + 5 * i) & 0xff for i in range(79))
    out.append(case(
        "twamp_v6_symmetrical_size_ce", mode="twamp", symmetrical=True, sender_seq=5,
        sender_ts=ntp(SENDER_T), sender_err=err, ssid=0, ttl=64, tos=0xbb,
        frame=Ether(src=SENDER_MAC, dst=REFLECTOR_PORT_MAC)
        / IPv6(src="2001:2::1", dst="2001:2::2", hlim=64, tc=0xbb)
        / UDP(sport=5002, dport=64364)
        / Raw(sym)))

    # A TWAMP Light sender (14 octets, Z=1) at a STAMP reflector: RFC 8762 §4.6, the 44-octet
    # base packet in the default NTP format, no SSID; CE with a fixed DSCP -> ECT(0).
    err = err_word(0, 1, 0, 1)
    out.append(case(
        "stamp_v4_short_twamp_sender", mode="stamp", dscp=46, sender_seq=3,
        sender_ts=ptp(SENDER_T, 37), sender_err=err, ssid=0, ttl=64, tos=0x03,
        frame=Ether(src=SENDER_MAC, dst=REFLECTOR_PORT_MAC)
        / IP(src="198.18.0.1", dst="198.18.0.2", ttl=64, tos=0x03, id=0x4444)
        / UDP(sport=5003, dport=862)
        / Raw(twamp_sender(3, ptp(SENDER_T, 37), err, 14))
        / Padding(b"\x00" * 4)))

    # STAMP base + 24 zero octets: padding, returned as it came (RFC 8762 §4.6 remainder
    # copied; no U-flagged Type-0 TLVs), after one Extra Padding TLV.
    err = err_word(1, 0, 1, 3)
    out.append(case(
        "stamp_v4_tlv_then_zero_tail", mode="stamp", sender_seq=8, sender_ts=ntp(SENDER_T),
        sender_err=err, ssid=0x0808, ttl=64, tos=0x00,
        tlvs_in=tlv(0x80, 1, b"\x5a" * 8) + b"\x00" * 24,
        tlvs_out=tlv(0, 1, b"\x5a" * 8) + b"\x00" * 24,
        frame=Ether(src=SENDER_MAC, dst=REFLECTOR_PORT_MAC)
        / IP(src="198.18.0.1", dst="198.18.0.2", ttl=64, id=0x5555)
        / UDP(sport=5004, dport=862)
        / Raw(stamp_sender(8, ntp(SENDER_T), err, 0x0808,
                           tlv(0x80, 1, b"\x5a" * 8) + b"\x00" * 24))))
    # STAMP with Timestamp Information (RFC 8972 §4.3) and Follow-Up Telemetry (§4.7) among
    # Extra Padding, an unknown type and HMAC (not implemented: U), what the dataplane knows
    # passed as tlv_reply_info: NTP over IPv4 stateful, PTP over IPv6 in a C-tag stateful,
    # PTP over IPv4 stateless (Follow-Up zeroed, §4.7).
    for name, z, stateful, v6 in (("stamp_v4_ntp_tsinfo_followup", 0, True, False),
                                  ("stamp_v6_ptp_tsinfo_followup", 1, True, True),
                                  ("stamp_v4_ptp_tsinfo_followup_stateless", 1, False, False)):
        err = err_word(1, z, 2, 9)
        sts = ptp(SENDER_T, 37) if z else ntp(SENDER_T)
        info = dict(sync_in=2, m_in=1, sync_out=5, m_out=2, stateful=True, fu_seq=999,
                    fu_ns=T2 - 10_000_000 + 4321, fu_mode=1)
        c = case(name, mode="stamp", stateful=stateful, sender_seq=0x4000 + z, sender_ts=sts,
                 sender_err=err, ssid=0x0c0c, ttl=61, tos=0x00, tlv_info=info)
        tlvs = (tlv(0x80, 1, b"\x11" * 5) + tlv(0x80, 3, b"\x00" * 4)
                + tlv(0x80, 201, b"\x77" * 6) + tlv(0x80, 8, b"\x31" * 16)
                + tlv(0x80, 7, b"\x00" * 16))
        c["tlvs_in"] = tlvs
        ip = (IPv6(src="2001:2::1", dst="2001:2::2", hlim=61) if v6 else
              IP(src="198.18.0.1", dst="198.18.0.2", ttl=61, id=0x0c0c))
        l2 = Ether(src=SENDER_MAC, dst=REFLECTOR_PORT_MAC)
        if v6:
            l2 = l2 / Dot1Q(vlan=300)
        c["frame"] = (l2 / ip / UDP(sport=5010 + z, dport=862)
                      / Raw(stamp_sender(0x4000 + z, sts, err, 0x0c0c, tlvs)))
        c["tlvs_out"] = (tlv(0, 1, b"\x11" * 5) + tlv(0, 3, bytes([2, 1, 5, 2]))
                         + tlv(0x80, 201, b"\x77" * 6) + tlv(0x80, 8, b"\x31" * 16)
                         + tlv(0, 7, follow_up_value(c)))
        out.append(c)
    return out


def follow_up_value(c):
    """RFC 8972 §4.7 Follow-Up Telemetry Value: Sequence Number (4), Follow-up Timestamp (8) in
    the reply's format (the Z flag of its Error Estimate), Timestamp Mode (1), Reserved (3).
    A stateless reflector zeroes Sequence Number and Timestamp (and says no mode)."""
    i = c["tlv_info"]
    if not (c["stateful"] and i["stateful"] and i["fu_ns"]):
        return b"\x00" * 16
    ts = ptp(i["fu_ns"], c["tai_utc"]) if expected_fields(c)["ptp"] else ntp(i["fu_ns"])
    return struct.pack("!IQB3x", i["fu_seq"], ts, i["fu_mode"])


# ---- the reply, as the RFCs say it must be ----------------------------------------------------

def request_payload(c):
    """The request's UDP payload (Ethernet padding excluded)."""
    u = Ether(raw(c["frame"]))[UDP]
    return raw(u.payload)[:u.len - 8]


def stamp_short(c):
    """RFC 8762 §4.6: a STAMP reflector's request shorter than the 44-octet base (a TWAMP
    Light sender's) is answered with the base packet, default (NTP) timestamps, no SSID."""
    return c["mode"] == "stamp" and len(request_payload(c)) < 44


def reply_ds(c):
    """RFC 2474 DSCP copied or fixed; RFC 3168 §5 ECN kept except CE (a router's mark, never
    originated by a sender): CE -> ECT(0)."""
    ecn = c["tos"] & 3
    ecn = 2 if ecn == 3 else ecn
    return (c["tos"] & 0xfc if c["dscp"] < 0 else c["dscp"] << 2) | ecn


def reply_padding(c, req_payload):
    """TWAMP octets after the 41-octet base: RFC 5357 §4.2.1 re-uses the sender's padding
    (from octet 14), discarding its highest-numbered 27 octets; with RFC 6038 symmetrical
    size the sender's padding starts at 41 and stays in place."""
    if c["symmetrical"]:
        return req_payload[41:]
    return req_payload[14:len(req_payload) - 27] if len(req_payload) > 41 else b""


def expected_fields(c):
    """Reflector packet fields for case c (RFC 5357 §4.2.1, RFC 8762 §4.3.1, RFC 8186 §2.3)."""
    z = (c["sender_err"] >> 14) & 1
    use_ptp = c["timestamps"] == "ptp" or (c["timestamps"] == "auto" and z == 1
                                           and not stamp_short(c))
    ts = (lambda ns: ptp(ns, c["tai_utc"])) if use_ptp else ntp
    s, scale, mult = c["our_err"]
    return dict(
        seq=c["reflector_seq"] if c["stateful"] else c["sender_seq"],
        t3=ts(c["t3_ns"]), t2=ts(c["t2_ns"]), ptp=use_ptp,
        err=err_word(s, 1 if use_ptp else 0, scale, mult or 1),
        mbz1_or_ssid=c["ssid"] if c["mode"] == "stamp" else 0)


def reply_payload(c, req_payload):
    f = expected_fields(c)
    base = struct.pack("!IQHHQIQHHB", f["seq"], f["t3"], f["err"], f["mbz1_or_ssid"], f["t2"],
                       c["sender_seq"], c["sender_ts"], c["sender_err"], 0, c["ttl"])
    assert len(base) == 41
    if c["mode"] == "stamp":
        return base + b"\x00" * 3 + c.get("tlvs_out", req_payload[44:])
    # TWAMP: the sender's padding after the base (reply_padding); a short request grows to 41.
    return base + reply_padding(c, req_payload)


def reply_frame(c):
    req = Ether(raw(c["frame"]))  # as received: every length and checksum filled in
    rep = c["frame"].copy()
    rep[Ether].src, rep[Ether].dst = OUR_MAC, req[Ether].src
    ip = rep[IP] if IP in rep else rep[IPv6]
    ip.src, ip.dst = ip.dst, ip.src
    ds = reply_ds(c)
    if IP in rep:
        ip.ttl, ip.tos = 255, ds
        ip.options = []  # never echoed: they could steer the reply (IHL 5)
        del ip.ihl, ip.len, ip.chksum
    else:
        ip.hlim, ip.tc = 255, ds
        del ip.plen
    udp = rep[UDP]
    udp.sport, udp.dport = req[UDP].dport, req[UDP].sport
    del udp.len, udp.chksum  # the reply always carries a checksum (DESIGN.md)
    payload = reply_payload(c, raw(req[UDP].payload)[:req[UDP].len - 8])
    udp.remove_payload()  # drops Ethernet padding too
    udp.add_payload(Raw(payload))
    return rep


# ---- C++ header -------------------------------------------------------------------------------

def c_bytes(b, indent="        "):
    lines = []
    for i in range(0, len(b), 16):
        lines.append(indent + ", ".join("0x%02x" % x for x in b[i:i + 16]) + ",")
    return "\n".join(lines)


def how(c):
    """The scapy expression that built the request, its payload named instead of dumped."""
    layers = []
    p = c["frame"]
    while p:
        if isinstance(p, Raw) and not isinstance(p, Padding):
            if c["mode"] == "stamp":
                pl = ("STAMPSessionSenderTestUnauthenticated(seq=%d, ts=0x%016x, "
                      "err_estimate=0x%04x, ssid=0x%04x)" % (c["sender_seq"], c["sender_ts"],
                                                             c["sender_err"], c["ssid"]))
                if c.get("tlvs_in"):
                    pl += " + TLVs %s" % c["tlvs_in"].hex()
            else:
                pl = ("TWAMP-Test sender packet (RFC 5357 4.1.2: seq=%d, ts=0x%016x, "
                      "err=0x%04x) + padding, %d octets"
                      % (c["sender_seq"], c["sender_ts"], c["sender_err"], len(p.load)))
            layers.append(pl)
        else:
            layers.append(_layer_command(p))
        p = p.payload
    return " / ".join(layers)


def _layer_command(p):
    q = p.copy()
    q.remove_payload()
    return q.command()


def c_tlv_info(i):
    if i is None:
        return "false, {}"
    return "true, {%u, %u, %u, %u, %s, %uu, %uull, %u}" % (
        i["sync_in"], i["m_in"], i["sync_out"], i["m_out"], str(i["stateful"]).lower(),
        i["fu_seq"], i["fu_ns"], i["fu_mode"])


def render():
    ts_names = {"auto": "auto_z", "ntp": "ntp", "ptp": "ptp"}
    out = [
        "// Generated by tests/unit/proto/golden/make_golden.py with scapy. Do not edit: change",
        "// the script and run it again. verify_golden.py fails when this file is out of date.",
        "//",
        "// Each request was built by scapy as shown above its array; each reply is what an",
        "// RFC-correct Session-Reflector sends for it, also built by scapy (lengths, IPv4 header",
        "// and UDP checksums computed by scapy) from the fields RFC 5357 §4.2.1 / RFC 8762 §4.3",
        "// / RFC 8972 §4 prescribe; see make_golden.py.",
        "#pragma once",
        "",
        "#include <cstddef>",
        "#include <cstdint>",
        "",
        '#include "twamp/proto/reflect.hpp"',
        "",
        "namespace twamp::golden {",
        "",
        "struct golden_case {",
        "    const char* name;",
        "    proto::test_mode mode;",
        "    proto::ts_policy timestamps;",
        "    int8_t dscp;",
        "    bool allow_ipv6_zero_checksum;",
        "    bool symmetrical_size;",
        "    bool stateful;",
        "    uint32_t reflector_seq;",
        "    uint64_t t2_ns;",
        "    uint64_t t3_ns;",
        "    bool our_synchronized;",
        "    uint8_t our_scale;",
        "    uint8_t our_multiplier;",
        "    int32_t tai_utc_offset_s;",
        "    uint8_t our_mac[6];",
        "    const uint8_t* request;",
        "    std::size_t request_len;",
        "    const uint8_t* reply;",
        "    std::size_t reply_len;",
        "    // What the sender put in, for decoders to find in the reply.",
        "    uint32_t sender_seq;",
        "    uint64_t sender_ts;",
        "    uint16_t sender_err;",
        "    uint16_t ssid;",
        "    uint8_t sender_ttl;",
        "    // STAMP TLV handlers: reflect_params::tlv_info (null unless has_tlv_info).",
        "    bool has_tlv_info;",
        "    proto::tlv_reply_info tlv_info;",
        "};",
        "",
        "// clang-format off",
    ]
    rows = []
    for c in cases():
        req = raw(c["frame"])
        rep = raw(reply_frame(c))
        out.append("")
        out.append("// %s request: %s" % (c["name"], how(c)))
        out.append("inline constexpr uint8_t %s_request[] = {" % c["name"])
        out.append(c_bytes(req))
        out.append("};")
        out.append("// %s reply (%d octets)" % (c["name"], len(rep)))
        out.append("inline constexpr uint8_t %s_reply[] = {" % c["name"])
        out.append(c_bytes(rep))
        out.append("};")
        s, scale, mult = c["our_err"]
        mac = ", ".join("0x" + x for x in OUR_MAC.split(":"))
        rows.append(
            "    {\"%s\", proto::test_mode::%s, proto::ts_policy::%s, %d, %s, %s, %s, %uu, %uull, "
            "%uull, %s, %u, %u, %d, {%s}, %s_request, sizeof %s_request, %s_reply, "
            "sizeof %s_reply, %uu, 0x%016xull, 0x%04x, 0x%04x, %u, %s},"
            % (c["name"], "stamp" if c["mode"] == "stamp" else "twamp_light",
               ts_names[c["timestamps"]], c["dscp"], str(c["allow_v6_zero"]).lower(),
               str(c["symmetrical"]).lower(),
               str(c["stateful"]).lower(), c["reflector_seq"], c["t2_ns"], c["t3_ns"],
               str(bool(s)).lower(), scale, mult, c["tai_utc"], mac, c["name"], c["name"],
               c["name"], c["name"], c["sender_seq"], c["sender_ts"], c["sender_err"],
               c["ssid"], c["ttl"], c_tlv_info(c["tlv_info"])))
    out.append("")
    out.append("inline constexpr golden_case cases[] = {")
    out.extend(rows)
    out.append("};")
    out.append("// clang-format on")
    out.append("")
    out.append("} // namespace twamp::golden")
    return "\n".join(out) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "golden_frames.hpp")
    with open(path, "w") as f:
        f.write(render())
    print("wrote %s (%d cases)" % (path, len(cases())))


if __name__ == "__main__":
    main()
