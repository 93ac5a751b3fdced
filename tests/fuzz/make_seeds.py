#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets: tests/fuzz/corpus/<target>/<name>.

Frames are built with scapy (its checksums are the independent ones: a seed that reflects
proves the reflector verifies what another stack computed); STAMP payloads and TLVs with
scapy.contrib.stamp (RFC 8762 / RFC 8972), TWAMP Light payloads by hand (RFC 5357 §4.1.2).
Deterministic: rerunning it rewrites the same files. Run: /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import os
import shutil
import struct
import sys

from scapy.all import ARP, ICMP, Dot1AD, Dot1Q, Ether, IP, IPv6, UDP, conf  # noqa: E402
from scapy.contrib.stamp import STAMPSessionSenderTestUnauthenticated, STAMPTestTLV

conf.verb = 0
HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

SENDER_MAC = "02:00:5e:00:00:0a"
OUR_MAC = "02:00:5e:10:00:01"
V4_SENDER, V4_OURS = "198.18.0.10", "198.18.0.2"
V6_SENDER, V6_OURS = "2001:2::10", "2001:2::2"
NTP_TS = 0xE9A1B2C3_80000000  # some NTP time, seconds since 1900 + fraction

# fuzz_reflect control header (see the comment at the top of fuzz_reflect.cpp).
STAMP, FIXED_DSCP, ALLOW_ZERO, V4_VERIFIED, L4_VERIFIED, STATEFUL, EXACT, NO_MAC = (
    1 << i for i in range(8))
TS_NTP, TS_PTP = 1 << 6, 2 << 6
FIX_IPV4, FIX_UDP, SYNC = 1, 2, 4


def header(flags=0, dscp_ts=0, extra=64, fix=0, mult=1, seq=0, j2=0, j3=0):
    return bytes([flags, dscp_ts, extra, fix, mult, seq, j2, j3])


def twamp_payload(seq, length=41, z=False):
    """Session-Sender test packet, unauthenticated (RFC 5357 §4.1.2), zero padding."""
    err = 0x0001 | (0x4000 if z else 0)  # S=0, Z, Scale 0, Multiplier 1
    body = struct.pack("!IQH", seq, NTP_TS, err)
    return body + bytes(max(0, length - len(body)))


def stamp_payload(seq, ssid, tlvs=b""):
    return bytes(STAMPSessionSenderTestUnauthenticated(seq=seq, ts=NTP_TS, ssid=ssid)) + tlvs


def tlv(type_, value, flags=0):
    return bytes(STAMPTestTLV(flags=flags, type=type_, len=len(value), value=value))


def v4(payload, tos=0, ttl=64, sport=50000, dport=862, **ip):
    return Ether(src=SENDER_MAC, dst=OUR_MAC) / IP(
        src=V4_SENDER, dst=V4_OURS, tos=tos, ttl=ttl, **ip) / UDP(
        sport=sport, dport=dport) / payload


def v6(payload, tc=0, hlim=64, sport=50000, dport=862):
    return Ether(src=SENDER_MAC, dst=OUR_MAC) / IPv6(
        src=V6_SENDER, dst=V6_OURS, tc=tc, hlim=hlim) / UDP(sport=sport, dport=dport) / payload


def vlan(pkt, *vids, outer_ad=False):
    """Re-tags an untagged Ether() frame with 802.1Q (or an 802.1ad outer tag for two)."""
    inner = pkt.payload
    tags = None
    for i, vid in enumerate(vids):
        tag = Dot1AD(vlan=vid) if (outer_ad and i == 0 and len(vids) > 1) else Dot1Q(vlan=vid)
        tags = tag if tags is None else tags / tag
    return Ether(src=pkt.src, dst=pkt.dst) / tags / inner


def zero_udp_checksum(pkt):
    pkt[UDP].chksum = 0
    return pkt


def reflect_seeds():
    tlvs = (tlv(1, bytes(16)) + tlv(3, bytes(4)) + tlv(200, b"\x01\x02"))
    return {
        # TWAMP Light, the 41-octet symmetric size most senders use.
        "twamp_v4_41": header() + bytes(v4(twamp_payload(1))),
        "twamp_v6_41_ptp": header(extra=0) + bytes(v6(twamp_payload(2, z=True))),
        "twamp_v4_vlan": header(STATEFUL, seq=7) + bytes(vlan(v4(twamp_payload(3)), 100)),
        "twamp_v6_qinq": header(FIXED_DSCP, dscp_ts=46 | TS_NTP)
        + bytes(vlan(v6(twamp_payload(4, length=100)), 10, 20, outer_ad=True)),
        # 14-octet request: grows to 41 with spare capacity, no_tailroom without.
        "twamp_v4_short_grow": header(extra=40) + bytes(v4(twamp_payload(5, length=14))),
        "twamp_v4_short_exact": header(EXACT) + bytes(v4(twamp_payload(6, length=14))),
        "twamp_v6_short_grow": header(extra=27) + bytes(v6(twamp_payload(7, length=20))),
        # IPv4 options (IHL 6) and Ethernet padding after the datagram.
        "twamp_v4_options_pad": header(NO_MAC)
        + bytes(v4(twamp_payload(8, length=14), options=b"\x01\x01\x01\x01")) + bytes(8),
        # Zero UDP checksums: allowed for IPv4 (RFC 768), for IPv6 only when the policy says so.
        "twamp_v4_csum0": header() + bytes(zero_udp_checksum(v4(twamp_payload(9)))),
        "twamp_v6_csum0_allowed": header(ALLOW_ZERO)
        + bytes(zero_udp_checksum(v6(twamp_payload(10)))),
        # NIC offload flags, fixed DSCP with ECN bits.
        "twamp_v4_offload": header(V4_VERIFIED | L4_VERIFIED | FIXED_DSCP, dscp_ts=10 | TS_PTP,
                                   fix=SYNC | (6 << 3), mult=0)
        + bytes(v4(twamp_payload(11), tos=0xb9)),
        # STAMP (RFC 8762 §4.2.1) with the SSID (RFC 8972 §3), and with TLVs.
        "stamp_v4": header(STAMP | STATEFUL, seq=1) + bytes(v4(stamp_payload(12, 0x1234))),
        "stamp_v6_tlvs": header(STAMP) + bytes(v6(stamp_payload(13, 0x4321, tlvs))),
        "stamp_v4_vlan_tlvs": header(STAMP | L4_VERIFIED)
        + bytes(vlan(v4(stamp_payload(14, 1, tlvs + b"\x00\x01\x00")), 200)),
        # Not for reflection: ARP goes to the kernel; a bad checksum is dropped.
        "arp": header() + bytes(Ether(src=SENDER_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(
            psrc=V4_SENDER, pdst=V4_OURS, hwsrc=SENDER_MAC)),
        "twamp_v4_fix_sums": header(fix=FIX_IPV4 | FIX_UDP)
        + bytes(v4(twamp_payload(15), chksum=0x1234)),
        # RFC 5357 §4.2.1 padding re-used (moved by 27 octets), and RFC 6038 symmetrical size
        # (header octet 5 bit 6) with reflect octets (bit 7, count in octet 6).
        "twamp_v4_padding_1400": header() + bytes(v4(twamp_payload(16, length=1400))),
        "twamp_v6_symmetrical": header(seq=0xc0, j2=16) + bytes(v6(twamp_payload(17, 300))),
        # RFC 8762 §4.6: a TWAMP Light sender at a STAMP reflector (14..43 octets), CE marked.
        "stamp_v4_short": header(STAMP) + bytes(v4(twamp_payload(18, length=20, z=True),
                                                   tos=0xbb)),
        # STAMP with a TLV and then a zero remainder (padding, RFC 8762 §4.6).
        "stamp_v4_zero_tail": header(STAMP)
        + bytes(v4(stamp_payload(19, 7, tlv(1, bytes(8), flags=0x80) + bytes(20)))),
        # Timestamp Information (RFC 8972 §4.3) and Follow-Up Telemetry (§4.7) after an
        # odd-length Extra Padding (odd lanes), with tlv_info (header octet 6 bit 0), NTP and
        # PTP, stateful.
        "stamp_v4_tsinfo_followup": header(STAMP | STATEFUL, seq=3, j2=1)
        + bytes(v4(stamp_payload(21, 9, tlv(1, bytes(3), flags=0x80) + tlv(3, bytes(4))
                                 + tlv(7, bytes(16), flags=0x80)))),
        "stamp_v6_tsinfo_followup_ptp": header(STAMP | STATEFUL, dscp_ts=TS_PTP, seq=4, j2=3)
        + bytes(v6(stamp_payload(22, 10, tlv(7, bytes(16)) + tlv(3, bytes(6))))),
        # Issue 16: a typical TLV mix with the TLV policy of header octet 4 (0x40 hooks, 0x20
        # return-address; cos-allowed all) and tlv_out (octet 5 bit 7): DSCP, source and
        # destination rewritten; and a Return Path "No Reply Requested".
        "stamp_v4_tlv_mix": header(STAMP | STATEFUL, mult=0x7c, seq=0x81, j2=1)
        + bytes(v4(stamp_payload(23, 11, tlv(3, bytes(4)) + tlv(2, bytes(4) + tlv(1, bytes(8))
                                                  + tlv(4, bytes(16)) + tlv(7, bytes(16)))
                                 + tlv(4, b"\xb8\x00\x00\x00") + tlv(5, bytes(12))
                                 + tlv(7, bytes(16)) + tlv(9, bytes([198, 18, 0, 9]))
                                 + tlv(10, tlv(2, bytes([198, 18, 7, 7])))), tos=0x29)),
        "stamp_v6_tlv_mix_offload": header(STAMP | V4_VERIFIED | L4_VERIFIED, mult=0x60,
                                           seq=0x80, j3=1)
        + bytes(v6(stamp_payload(24, 12, tlv(4, b"\x28\x00\x00\x00")
                                 + tlv(9, bytes(15) + b"\x09")
                                 + tlv(10, tlv(2, bytes([0x20, 1, 0, 2] + [0] * 11 + [7])))))),
        "stamp_v4_no_reply": header(STAMP, seq=0x80)
        + bytes(v4(stamp_payload(25, 13, tlv(10, tlv(1, bytes(4)), flags=0x80)))),
        # IPv4 loose source route (RFC 791 option 131): dropped (ipv4_source_route).
        "twamp_v4_lsrr": header()
        + bytes(v4(twamp_payload(20), options=b"\x83\x07\x04\xc6\x12\x00\x0a\x00")),
    }


def tlv_seeds():
    return {
        "empty": b"",
        "padding": tlv(1, bytes(32)),
        "unknown": tlv(250, b"abc"),
        "mixed": tlv(1, bytes(8)) + tlv(3, bytes(4)) + tlv(7, bytes(12), flags=0x80)
        + tlv(1, b"", flags=0xe0),
        "cut_header": tlv(1, bytes(4)) + b"\x00\x01",
        "length_past_end": tlv(1, bytes(2)) + b"\x20\x05\x00\x40" + bytes(10),
        "odd_length": tlv(4, b"\x01") + tlv(200, b"\x02\x03\x04"),
        "zero_tail": tlv(1, bytes(4), flags=0x80) + bytes(13),
        # RFC 8972 §4.3 / §4.7 at odd offsets, then the wrong Lengths (M, walk stops).
        "tsinfo_followup": tlv(1, bytes(1)) + tlv(3, bytes(5), flags=0x80)
        + tlv(7, bytes(16), flags=0x80) + tlv(200, b"x"),
        "followup_bad_length": tlv(3, bytes(4)) + tlv(7, bytes(15)) + tlv(1, bytes(2)),
        "tsinfo_short": tlv(3, bytes(3)) + tlv(7, bytes(16)),
        "all_zero": bytes(24),
        # Issue 16: every handler. Location (RFC 8972 §4.2) with its three requests, an unknown
        # and a cut sub-TLV; Class of Service, Direct Measurement, Access Report (§4.4-§4.6).
        "location": tlv(2, bytes(4) + tlv(1, bytes(8)) + tlv(4, bytes(16)) + tlv(7, bytes(16))
                        + tlv(12, b"ab") + b"\x80\x01", flags=0x80),
        "cos_dm_ar": tlv(4, b"\xb8\x00\x00\x00", flags=0x80) + tlv(5, bytes(range(12)))
        + tlv(6, b"\x1f\x05\xaa\xbb") + tlv(6, b"\x3f\x00\x00\x00"),
        # RFC 9503 §3 Destination Node Address (IPv4, IPv6) and §4 Return Path: Control Code,
        # Return Address, SRv6 Segment List; a second Return Path.
        "dna_return_path": tlv(9, bytes([198, 18, 0, 2])) + tlv(9, bytes(15) + b"\x02")
        + tlv(10, tlv(2, bytes([198, 18, 7, 7])) + tlv(4, bytes(16)))
        + tlv(10, tlv(1, bytes(4))),
        "return_path_no_reply": tlv(10, tlv(1, bytes(4)) + tlv(2, bytes(16)), flags=0x80),
        "followup_length_13": tlv(7, bytes(range(1, 14))),
    }


# fuzz_fast control header (see the comment at the top of fuzz_fast.cpp): octets 0-5 as
# fuzz_reflect's, octet 6 its own.
T2_ENC, T2_DEVICE, OFFLOAD, SYMM, SET_SEQ, T3_ENC = (1 << i for i in range(6))


def fast_header(flags=0, dscp_ts=0, extra=64, fix=0, mult=1, seq=0, f6=T2_ENC, j3=0):
    return bytes([flags, dscp_ts, extra, fix, mult, seq, f6, j3])


def fast_seeds():
    return {
        # The fast shape: TWAMP Light 41, STAMP 44; IPv4, IPv6, one 802.1Q tag.
        "twamp_v4_41": fast_header() + bytes(v4(twamp_payload(1))),
        "twamp_v4_41_stateful_set_seq": fast_header(STATEFUL, seq=9, f6=T2_ENC | SET_SEQ)
        + bytes(v4(twamp_payload(2))),
        "twamp_v6_41_ptp_nic": fast_header(L4_VERIFIED, extra=0, f6=T3_ENC)
        + bytes(v6(twamp_payload(3, z=True))),
        "twamp_v4_vlan_offload": fast_header(V4_VERIFIED | L4_VERIFIED | STATEFUL, seq=7,
                                             f6=T2_ENC | OFFLOAD)
        + bytes(vlan(v4(twamp_payload(4), tos=0xbb), 100)),
        "twamp_v4_csum0_dscp": fast_header(FIXED_DSCP, dscp_ts=46 | TS_NTP, f6=T2_DEVICE | T2_ENC)
        + bytes(zero_udp_checksum(v4(twamp_payload(5), tos=0x03))),
        "twamp_v6_csum0_allowed": fast_header(ALLOW_ZERO) + bytes(zero_udp_checksum(
            v6(twamp_payload(6)))),
        "twamp_v6_csum0_refused": fast_header() + bytes(zero_udp_checksum(v6(twamp_payload(7)))),
        "twamp_v4_symmetrical_300": fast_header(NO_MAC, f6=SYMM | T2_ENC)
        + bytes(v4(twamp_payload(8, length=300))),
        "stamp_v4_44": fast_header(STAMP | STATEFUL, seq=1, f6=SET_SEQ)
        + bytes(v4(stamp_payload(9, 0x1234))),
        "stamp_v6_44_ptp": fast_header(STAMP, dscp_ts=TS_PTP, fix=SYNC | (6 << 3), mult=0)
        + bytes(vlan(v6(stamp_payload(10, 0x4321)), 200)),
        # Drops the fast path decides: bad IPv4 header checksum, bad UDP checksum, an
        # unanswerable source, source port zero.
        "twamp_v4_bad_ipv4_csum": fast_header() + bytes(v4(twamp_payload(11), chksum=0x1234)),
        "twamp_v4_bad_udp_csum": fast_header() + bytes(v4(twamp_payload(12)))[:-1] + b"\x01",
        "stamp_v4_bad_source": fast_header(STAMP) + bytes(Ether(src=SENDER_MAC, dst=OUR_MAC) / IP(
            src="127.0.0.1", dst=V4_OURS) / UDP(sport=50000, dport=862) / stamp_payload(13, 1)),
        "twamp_v6_port_zero": fast_header() + bytes(v6(twamp_payload(14), sport=0)),
        # Not the fast shape: growth, TLVs, options, two tags, Ethernet padding.
        "twamp_v4_short": fast_header() + bytes(v4(twamp_payload(15, length=14))),
        # Longer TWAMP Light: the padding moved to octet 41 (fast path too), checksum checked in
        # software, by the NIC, absent, or offloaded on TX.
        "twamp_v4_padding_100": fast_header() + bytes(v4(twamp_payload(16, length=100))),
        "twamp_v6_padding_69_nic": fast_header(L4_VERIFIED) + bytes(v6(twamp_payload(21, 69))),
        "twamp_v4_padding_1400_csum0": fast_header(STATEFUL, f6=SET_SEQ)
        + bytes(zero_udp_checksum(v4(twamp_payload(22, length=1400)))),
        "twamp_v4_padding_43_offload": fast_header(V4_VERIFIED | L4_VERIFIED, f6=OFFLOAD)
        + bytes(vlan(v4(twamp_payload(23, length=43)), 7)),
        "stamp_v4_tlvs": fast_header(STAMP) + bytes(v4(stamp_payload(17, 2, tlv(1, bytes(8))))),
        "twamp_v4_options": fast_header()
        + bytes(v4(twamp_payload(18), options=b"\x01\x01\x01\x01")),
        "twamp_v4_qinq": fast_header()
        + bytes(vlan(v4(twamp_payload(19)), 10, 20, outer_ad=True)),
        "twamp_v4_eth_padding": fast_header() + bytes(v4(twamp_payload(20))) + bytes(12),
    }


# fuzz_worker records (see the comment at the top of fuzz_worker.cpp): flags, length, frame.
W_FIX4, W_FIXUDP, W_MAC, W_POLL, W_CHAIN, W_TX_FULL, W_EXC_FULL, W_ROOM3 = (
    1 << i for i in range(8))


def rec(pkt, flags=W_MAC, reload=False, age=False, wire=False):
    """reload, age: before the poll this record ends; wire: on the kernel->wire ring."""
    b = bytes(pkt)
    bits = (0x8000 if reload else 0) | (0x7000 if wire else 0x6000 if age else 0)
    return bytes([flags]) + struct.pack("!H", len(b) | bits) + b


def auth_vector(name):
    """A payload of tests/unit/proto/auth_vectors.hpp (generated from RFC 4656/5357/8762)."""
    path = os.path.join(HERE, "..", "unit", "proto", "auth_vectors.hpp")
    with open(path) as f:
        text = f.read()
    body = text.split(f" {name}[] = {{", 1)[1].split("};", 1)[0]
    return bytes(int(x, 16) for x in body.replace(",", " ").split())


def control_v4(payload, dport):
    return Ether(src=SENDER_MAC, dst=OUR_MAC) / IP(src="198.18.0.1", dst=V4_OURS) / UDP(
        sport=50000, dport=dport) / payload


def worker_seeds():
    light = [v4(twamp_payload(i)) for i in range(3)]
    return {
        # One stateful session, three requests in one burst; IPv6 after it in a second burst.
        "light_session": b"".join(rec(p) for p in light)
        + rec(v6(twamp_payload(7)), W_MAC | W_POLL) + rec(v6(twamp_payload(8))),
        # STAMP (863) with SSIDs and TLVs; a source outside the TWAMP Light ACL (denied).
        "stamp_tlvs": rec(v4(stamp_payload(1, 7, tlv(1, bytes(8)) + tlv(3, bytes(4))), dport=863))
        + rec(v4(stamp_payload(2, 9), dport=863))
        + rec(Ether(src=SENDER_MAC, dst=OUR_MAC) / IP(src="198.19.5.5", dst=V4_OURS)
              / UDP(sport=50000, dport=862) / twamp_payload(3)),
        # VLAN 100, stateless; a chained (two-segment) request; an empty frame.
        "vlan_chain_bad_sum": rec(vlan(Ether(src=SENDER_MAC, dst=OUR_MAC) / IP(
            src="198.19.0.10", dst="198.19.0.2") / UDP(sport=50001, dport=862)
            / twamp_payload(4), 100))
        + rec(v4(twamp_payload(5)), W_MAC | W_CHAIN)
        + rec(v4(twamp_payload(6)), W_MAC | W_POLL) + bytes([W_MAC]) + b"\x00\x00",
        # Authenticated STAMP (864), and the TWAMP-Control sessions' test packets: unauthenticated
        # (64400), authenticated (64401), encrypted (64402).
        "auth_and_control": rec(v4(auth_vector("stamp_req"), dport=864))
        + rec(control_v4(twamp_payload(1), 64400))
        + rec(control_v4(auth_vector("twamp_auth_req_16"), 64401))
        + rec(control_v4(auth_vector("twamp_enc_req_16"), 64402)),
        # To the kernel: ARP, ICMP echo to the box; not ours: another MAC, another address.
        "kernel_and_others": rec(Ether(src=SENDER_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(
            psrc=V4_SENDER, pdst=V4_OURS, hwsrc=SENDER_MAC), 0)
        + rec(Ether(src=SENDER_MAC, dst=OUR_MAC) / IP(src=V4_SENDER, dst=V4_OURS) / ICMP())
        + rec(v4(twamp_payload(9)), 0)
        + rec(Ether(src=SENDER_MAC, dst=OUR_MAC) / IP(src=V4_SENDER, dst="198.18.0.77")
              / UDP(sport=50000, dport=862) / twamp_payload(10)),
        # Full rings: replies and frames for the kernel past the room left are dropped
        # (tx_full, exception_ring_full); then with room for 3.
        "rings_full": b"".join(rec(v4(twamp_payload(i), sport=41000 + i)) for i in range(4))
        + rec(Ether(src=SENDER_MAC, dst=OUR_MAC) / IP(src=V4_SENDER, dst=V4_OURS) / ICMP())
        + rec(v4(twamp_payload(5)), W_MAC | W_POLL | W_TX_FULL | W_EXC_FULL)
        + b"".join(rec(v4(twamp_payload(i), sport=42000 + i)) for i in range(5))
        + rec(Ether(src=SENDER_MAC, dst=OUR_MAC) / IP(src=V4_SENDER, dst=V4_OURS) / ICMP(), W_MAC
              | W_TX_FULL | W_EXC_FULL | W_ROOM3),
        # Sessions on 862 and 863, a reload (863 now stateless "stamp2", 862 only from
        # 198.18.0.0/25), the same flows again, a reload back, again.
        "reloads": rec(v4(twamp_payload(1))) + rec(v4(stamp_payload(1, 5), dport=863), W_MAC
                                                   | W_POLL)
        + rec(v4(twamp_payload(2))) + rec(v4(stamp_payload(2, 5), dport=863), W_MAC | W_POLL,
                                           reload=True)
        + rec(v4(twamp_payload(3))) + rec(v4(stamp_payload(3, 5), dport=863), reload=True),
        # A full burst of new flows: more than the table's 8 sessions a reflector (stateless).
        "many_flows": b"".join(rec(v4(twamp_payload(i), sport=40000 + i)) for i in range(40)),
        # Sessions on 862 (ages after 1 s) and 863 (100 s); an aging pass 2 s ahead: 862's
        # ends, 863's stays; the same flows again (862's created again, its seq from 0); a
        # reload and a pass (863's "stamp" gone: its session ends too).
        "aging": rec(v4(twamp_payload(1))) + rec(v4(stamp_payload(1, 5), dport=863), W_MAC
                                                 | W_POLL)
        + rec(v4(twamp_payload(2))) + rec(v4(stamp_payload(2, 5), dport=863), W_MAC | W_POLL,
                                           age=True)
        + rec(v4(twamp_payload(3))) + rec(v4(stamp_payload(3, 5), dport=863), reload=True,
                                           age=True),
        # Frames from the box's kernel (an ARP reply, an ICMP echo) on the kernel->wire ring,
        # beside a request; then with the TX ring full (to_wire_drops tx_full).
        "to_wire": rec(Ether(src=OUR_MAC, dst=SENDER_MAC) / ARP(
            op=2, psrc=V4_OURS, pdst=V4_SENDER, hwsrc=OUR_MAC, hwdst=SENDER_MAC), 0, wire=True)
        + rec(Ether(src=OUR_MAC, dst=SENDER_MAC) / IP(src=V4_OURS, dst=V4_SENDER) / ICMP(), 0,
              wire=True)
        + rec(v4(twamp_payload(1)), W_MAC | W_POLL)
        + rec(Ether(src=OUR_MAC, dst=SENDER_MAC) / IP(src=V4_OURS, dst=V4_SENDER) / ICMP(), 0,
              wire=True)
        + rec(v4(twamp_payload(2)), W_MAC | W_POLL | W_TX_FULL | W_ROOM3)
        + b"".join(rec(Ether(src=OUR_MAC, dst=SENDER_MAC) / IP(src=V4_OURS, dst=V4_SENDER)
                       / ICMP(seq=i), 0, wire=True) for i in range(5))
        + rec(v4(twamp_payload(3)), W_MAC | W_POLL | W_TX_FULL | W_ROOM3),
    }


def write(target, seeds):
    d = os.path.join(CORPUS, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    return sum(len(v) for v in seeds.values())


def main():
    total = (write("fuzz_reflect", reflect_seeds()) + write("fuzz_tlv", tlv_seeds()) +
             write("fuzz_fast", fast_seeds()) + write("fuzz_worker", worker_seeds()))
    print(f"wrote {total} octets of seeds under {os.path.relpath(CORPUS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
