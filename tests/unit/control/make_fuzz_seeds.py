#!/usr/bin/python3
"""Writes the seed corpus of tests/fuzz/fuzz_control.cpp (tests/fuzz/corpus/fuzz_control/).

Each seed: 3 header octets (modes/limits, chunking seed, port range size), then a byte stream:
client conversations built field by field from RFC 5357 §3 / RFC 5938 / RFC 6038, server
answers for the client-side path, and a little garbage.
  make_fuzz_seeds.py [OUTDIR]
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    HERE, "..", "..", "fuzz", "corpus", "fuzz_control")


def setup(mode):
    return struct.pack("!I", mode) + bytes(80 + 64 + 16)


def request(ipvn=4, port=64364, padding=27, dscp=0, timeout_s=2, reflect=(0, 0),
            sender=b"", receiver=b""):
    b = struct.pack("!BBBBIIHH", 5, ipvn, 0, 0, 0, 0, 40000, port)
    b += sender.ljust(16, b"\0") + receiver.ljust(16, b"\0") + bytes(16)
    b += struct.pack("!IQQI", padding, 0, timeout_s << 32, dscp << 24)
    b += struct.pack("!HH", *reflect) + bytes(4) + bytes(16)
    assert len(b) == 112
    return b


def start():
    return bytes([2]) + bytes(31)


def stop(accept=0, n=1):
    return struct.pack("!BBHI", 3, accept, 0, n) + bytes(24)


def n_cmd(cmd, sids, accept=0):
    return struct.pack("!BB", cmd, accept) + bytes(10) + struct.pack("!I", len(sids)) + \
        b"".join(sids) + bytes(16)


def greeting(modes):
    return bytes(12) + struct.pack("!I", modes) + bytes(32) + struct.pack("!I", 1024) + bytes(12)


def server_start(accept=0):
    return bytes(15) + bytes([accept]) + bytes(16) + struct.pack("!Q", 0xe8f0000000000000) + \
        bytes(8)


def accept_session(accept, port, sid):
    return struct.pack("!BBH", accept, 0, port) + sid + bytes(28)


SEEDS = {
    "base_v4": bytes([0x30, 1, 3]) + setup(1) + request() + request(port=0) + start() + stop(),
    "base_two_rounds": bytes([0x10, 2, 9]) + setup(1) + request(dscp=46) + start() + stop(n=1) +
    request(port=64366) + start() + stop(accept=1),
    "limits": bytes([0x00, 3, 0]) + setup(1) + request() + request() + request() + start(),
    "v6": bytes([0x08 | 0x20, 4, 5]) + setup(1) + request(ipvn=6) +
    request(ipvn=6, receiver=bytes.fromhex("20010002000000000000000000000002")) + start() + stop(),
    "isc_reflect_sym": bytes([0x77, 5, 7]) + setup(0x71) + request(reflect=(0xbeef, 8)) +
    request() + n_cmd(7, [bytes(16)]) + start() + n_cmd(9, [bytes(16)], 2) + stop(),
    "isc_empty_n": bytes([0x31, 6, 3]) + setup(0x11) + n_cmd(7, []) + n_cmd(9, []) + request() +
    n_cmd(7, [bytes(16)]),
    "unsupported": bytes([0x30, 7, 3]) + setup(1) + request(ipvn=5) + request(dscp=0x40) +
    request(padding=70000) + stop(),
    "mode_refused": bytes([0x00, 8, 0]) + setup(0),
    "mode_not_offered": bytes([0x00, 9, 0]) + setup(2),
    "garbage_http": bytes([0x00, 10, 0]) + setup(1) + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "client_side": bytes([0x01, 11, 1]) + greeting(0x71) + server_start(0) +
    accept_session(0, 64364, bytes(range(16))) + accept_session(5, 0, bytes(16)) + bytes(32) +
    n_cmd(8, [bytes(range(16))]),
    "client_refused": bytes([0x00, 12, 0]) + greeting(1) + server_start(3),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(SEEDS), OUT))


if __name__ == "__main__":
    main()
