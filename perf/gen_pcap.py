#!/usr/bin/python3
"""Pcaps of valid TWAMP Light / STAMP test packets for perf/bench.sh.

    gen_pcap.py --kind light4|light6|stamp4|stamp6|stamp6tlv --sessions N [--packets M] --mac MAC
                --out FILE
    gen_pcap.py --replay PCAP --out FIFO   (PCAP's records over and over, for net_pcap
                                            without infinite_rx; until the reader goes)

Every frame is a request a Session-Sender would send: unicast to the reflector port's MAC,
from a source inside the bench config's prefixes to the reflector's address on UDP port 862,
correct IPv4 header and UDP checksums, TTL 64, Error Estimate S=1 Z=0 (NTP), a sender
timestamp, and the unauthenticated base length (TWAMP Light 41 octets, STAMP 44 with SSID 0).
stamp6tlv: the STAMP IPv6 base followed by a typical TLV mix (TLV_MIX below: Timestamp
Information, Location with its three sub-TLV requests, Class of Service, Direct Measurement,
Follow-Up Telemetry; RFC 8972 §4.2-§4.7, U = 1 as a Session-Sender sends them), 156 octets.

Sessions differ by source port (1024..61023) and then by source address, so N sessions need
ceil(N / 60000) addresses from 198.19.0.1 or 2001:2:0:1::1 up. Packet j belongs to session j % N
and carries sender sequence j // N. At least `--packets` frames, rounded up to whole laps of
the N sessions.

A million frames are ~100 MB: rather than a million scapy objects, a raw pcap writer builds the
frames with struct and computes the IPv4 header and UDP checksums itself. scapy (Debian's python3-scapy, /usr/bin/python3) cross-checks the first
and last frames of every file: each must be octet-for-octet what scapy builds from the same
fields with checksums left for scapy to compute.
"""
import argparse
import os
import signal
import struct
import sys

SPORT0 = 1024
PORTS_PER_ADDR = 60000
DPORT = 862
SRC_MAC = bytes.fromhex("020000000001")
V4_DST = bytes([198, 18, 0, 2])
V6_DST = bytes.fromhex("20010002000000000000000000000002")  # 2001:2::2
SENDER_TS = 0xE8F0A1B2_12345678  # some NTP time; the reflector copies it back
ERR_EST = 0x8001  # S=1 (synchronized), Z=0 (NTP), Scale 0, Multiplier 1
V6_KINDS = ("light6", "stamp6", "stamp6tlv")
STAMP_KINDS = ("stamp4", "stamp6", "stamp6tlv")


def tlv(typ, value):
    """RFC 8972 §4: Flags (U = 1: a Session-Sender sets it), Type, Length, Value."""
    return struct.pack("!BBH", 0x80, typ, len(value)) + value


# What a router's STAMP probe typically carries (issue 16's benchmark case): Timestamp
# Information (3, §4.3), Location (2, §4.2) asking for Source MAC (1), Destination IP (4) and
# Source IP (7), Class of Service (4, §4.4) asking for DSCP1 0, Direct Measurement (5, §4.5)
# with S_TxC 1, Follow-Up Telemetry (7, §4.7).
TLV_MIX = (tlv(3, bytes(4)) +
           tlv(2, bytes(4) + tlv(1, bytes(8)) + tlv(4, bytes(16)) + tlv(7, bytes(16))) +
           tlv(4, bytes(4)) + tlv(5, struct.pack("!III", 1, 0, 0)) + tlv(7, bytes(16)))


def src_addr(kind, a):
    """The a-th source address (a < 65535), never a subnet's all-zeros host."""
    a += 1
    if kind in V6_KINDS:
        return bytes.fromhex("20010002000000010000000000") + bytes([0, a >> 8, a & 0xFF])
    return bytes([198, 19, a >> 8, (a & 0xFF)])


def payload(kind, seq):
    if kind in STAMP_KINDS:
        # Seq, Timestamp, Error Estimate, SSID 0, 28 MBZ: RFC 8762 §4.2.1 unauthenticated.
        base = struct.pack("!IQHH", seq, SENDER_TS, ERR_EST, 0) + bytes(28)
        return base + (TLV_MIX if kind == "stamp6tlv" else b"")
    # Seq, Timestamp, Error Estimate, 27 octets of padding: RFC 5357 §4.1.2, 41 octets in all
    # so that the reply (the 41-octet reflector base) is the same size (RFC 6038 symmetric).
    return struct.pack("!IQH", seq, SENDER_TS, ERR_EST) + bytes(27)


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def words(b):
    if len(b) % 2:
        b += b"\0"
    return sum(struct.unpack("!%dH" % (len(b) // 2), b))


def frame(kind, dst_mac, sess, seq):
    a, p = divmod(sess, PORTS_PER_ADDR)
    src, sport = src_addr(kind, a), SPORT0 + p
    pl = payload(kind, seq)
    ulen = 8 + len(pl)
    v6 = kind in V6_KINDS
    dst = V6_DST if v6 else V4_DST
    # UDP checksum over the pseudo header, the UDP header and the payload.
    s = words(src) + words(dst) + 17 + ulen + sport + DPORT + ulen + words(pl)
    ck = 0xFFFF - fold(s)
    udp = struct.pack("!HHHH", sport, DPORT, ulen, ck or 0xFFFF) + pl
    if v6:
        ip = struct.pack("!IHBB", 6 << 28, ulen, 17, 64) + src + dst
        eth_type = 0x86DD
    else:
        hdr = struct.pack("!BBHHHBBH", 0x45, 0, 20 + ulen, 0, 0x4000, 64, 17, 0) + src + dst
        ipck = 0xFFFF - fold(words(hdr))
        ip = hdr[:10] + struct.pack("!H", ipck) + hdr[12:]
        eth_type = 0x0800
    return dst_mac + SRC_MAC + struct.pack("!H", eth_type) + ip + udp


def scapy_frame(kind, dst_mac, sess, seq):
    from scapy.all import IP, UDP, Ether, IPv6, Raw

    a, p = divmod(sess, PORTS_PER_ADDR)
    mac = ":".join("%02x" % x for x in dst_mac)
    eth = Ether(src="02:00:00:00:00:01", dst=mac)
    udp = UDP(sport=SPORT0 + p, dport=DPORT) / Raw(payload(kind, seq))
    if kind in V6_KINDS:
        import ipaddress

        l3 = IPv6(src=str(ipaddress.IPv6Address(src_addr(kind, a))), dst="2001:2::2", hlim=64)
    else:
        l3 = IP(src=".".join(map(str, src_addr(kind, a))), dst="198.18.0.2", ttl=64, flags="DF",
                id=0)
    return bytes(eth / l3 / udp)


def record(data, i):
    # Record times 1 µs apart; with hw-timestamps "off" nobody reads them.
    return struct.pack("<IIII", 1_700_000_000 + i // 1_000_000, i % 1_000_000, len(data),
                       len(data)) + data


def lap(kind, dst_mac, sessions, packets):
    laps = max(1, -(-packets // sessions))
    out = bytearray()
    for j in range(sessions * laps):
        out += record(frame(kind, dst_mac, j % sessions, j // sessions), j)
    return bytes(out), sessions * laps


def cross_check(kind, dst_mac, sessions, total):
    for j in sorted({0, min(1, total - 1), total - 1}):
        ours = frame(kind, dst_mac, j % sessions, j // sessions)
        ref = scapy_frame(kind, dst_mac, j % sessions, j // sessions)
        if ours != ref:
            sys.exit(f"gen_pcap: frame {j} differs from scapy's:\n ours  {ours.hex()}\n"
                     f" scapy {ref.hex()}")


PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def replay(src, fifo):
    """Streams src's header once, then its records forever, into fifo. The sequence numbers
    repeat every lap: to the reflector, senders that restart their sessions."""
    import fcntl

    with open(src, "rb") as f:
        data = f.read()
    hdr, recs = memoryview(data)[:len(PCAP_HEADER)], memoryview(data)[len(PCAP_HEADER):]
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    fd = os.open(fifo, os.O_WRONLY)  # blocks until net_pcap opens it
    try:
        fcntl.fcntl(fd, 1031, 1 << 20)  # F_SETPIPE_SZ 1 MiB: fewer wake-ups on both sides
    except OSError:
        pass
    try:
        os.write(fd, hdr)
        while True:
            buf = recs
            while len(buf):
                buf = buf[os.write(fd, buf[:1 << 20]):]
    except OSError:  # the reader closed: done
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", choices=["light4", "light6", "stamp4", "stamp6", "stamp6tlv"])
    ap.add_argument("--sessions", type=int)
    ap.add_argument("--packets", type=int, default=1)
    ap.add_argument("--mac")
    ap.add_argument("--out", required=True)
    ap.add_argument("--replay", metavar="PCAP")
    a = ap.parse_args()
    if a.replay:
        return replay(a.replay, a.out)
    if not (a.kind and a.sessions and a.mac):
        ap.error("--kind, --sessions and --mac are required")
    if not 1 <= a.sessions <= PORTS_PER_ADDR * 65535:
        sys.exit("gen_pcap: --sessions out of range")
    dst_mac = bytes.fromhex(a.mac.replace(":", ""))
    data, total = lap(a.kind, dst_mac, a.sessions, a.packets)
    cross_check(a.kind, dst_mac, a.sessions, total)
    with open(a.out, "wb") as f:
        f.write(PCAP_HEADER + data)
    print(f"gen_pcap: {a.out}: {total} frames, {a.sessions} sessions, "
          f"{len(data) // total - 16} octets each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
