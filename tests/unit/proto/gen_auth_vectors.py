#!/usr/bin/python3
"""Known answers for the authenticated and encrypted test packets, from an implementation
independent of src/proto and src/crypto: python3 `cryptography` (AES) and hmac/hashlib.

    /usr/bin/python3 tests/unit/proto/gen_auth_vectors.py > tests/unit/proto/auth_vectors.hpp

writes the C++ header test_auth.cpp includes (checked in; regenerate and diff to check it).

What it encodes (see include/twamp/proto/auth.hpp for the sources):
- TWAMP test session keys (RFC 4656 §4.1.2 as perfSONAR owamp/endpoint.c _prepare_to_run does
  it): AES key = AES-ECB(key = SID, AES Session-key); HMAC key = AES-CBC(key = SID, IV = 0,
  HMAC Session-key); HMAC-SHA-1 truncated to 16 octets.
- TWAMP-Test, authenticated: block 0 ECB, HMAC over block 0's plaintext; encrypted: CBC (IV 0)
  over 32 octets (request) / 96 octets (reply), HMAC over their plaintext (perfSONAR
  run_reflector). Reply layout RFC 5357 §4.2.1 (112 octets + padding re-used from octet 48).
- STAMP authenticated (RFC 8762 §4.2.2, §4.3.2): HMAC-SHA-256/128 over the first 96 octets,
  the key is the key file's secret as it is. HMAC TLV (RFC 8972 §4.8): over the packet's
  Sequence Number and the TLVs before it.
The reflector's fields: stateless (Sequence Number copied), T2 and T3 whole seconds (NTP),
Error Estimate 0x8001 (S, multiplier 1), the request's TTL 64.
"""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

NTP_UNIX = 2208988800
T2_UNIX_S = 1700000000
T3_UNIX_S = 1700000001
T2 = (T2_UNIX_S + NTP_UNIX) << 32
T3 = (T3_UNIX_S + NTP_UNIX) << 32
OUR_ERR = 0x8001
TTL = 64
SENDER_TS = 0xE8A1B2C3_12345678
SENDER_ERR = 0x8102


def ecb_enc(key, data):
    e = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return e.update(data) + e.finalize()


def cbc_enc(key, data):
    e = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
    return e.update(data) + e.finalize()


def hmac1(key, data):
    return hmac.new(key, data, hashlib.sha1).digest()[:16]


def hmac256(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()[:16]


AES_SK = bytes(range(0x00, 0x10))
HMAC_SK = bytes(range(0x20, 0x40))
SID = bytes(range(0x40, 0x50))
TEST_AES = ecb_enc(SID, AES_SK)
TEST_HMAC = cbc_enc(SID, HMAC_SK)
STAMP_KEY = b"stamp-secret-0123456789"


def pattern(n, seed):
    return bytes(((seed + 31 * i) ^ (i >> 3)) & 0xFF for i in range(n))


def twamp_request(mode, seq, padding):
    blk0 = struct.pack(">I", seq) + bytes(12)
    blk1 = struct.pack(">QH", SENDER_TS, SENDER_ERR) + bytes(6)
    clear = blk0 + blk1
    if mode == "auth":
        mac = hmac1(TEST_HMAC, blk0)
        wire = ecb_enc(TEST_AES, blk0) + blk1
    else:
        mac = hmac1(TEST_HMAC, clear)
        wire = cbc_enc(TEST_AES, clear)
    return wire + mac + padding


def reflector_base(seq, ssid=None):
    b = bytearray(112)
    struct.pack_into(">I", b, 0, seq)
    struct.pack_into(">QH", b, 16, T3, OUR_ERR)
    if ssid is not None:
        struct.pack_into(">H", b, 26, ssid)
    struct.pack_into(">Q", b, 32, T2)
    struct.pack_into(">I", b, 48, seq)
    struct.pack_into(">QH", b, 64, SENDER_TS, SENDER_ERR)
    b[80] = TTL
    return bytes(b)


def twamp_reply(mode, seq, req_len, req_padding):
    clear = reflector_base(seq)[:96]
    if mode == "auth":
        mac = hmac1(TEST_HMAC, clear[:16])
        wire = ecb_enc(TEST_AES, clear[:16]) + clear[16:96]
    else:
        mac = hmac1(TEST_HMAC, clear)
        wire = cbc_enc(TEST_AES, clear)
    out = wire + mac
    n = max(req_len, 112)
    # RFC 5357 §4.2.1: the sender's padding (octet 48 on) re-used from octet 112, truncated.
    out += req_padding[: n - 112]
    return out + bytes(n - len(out))


def stamp_request(seq, ssid, tlvs=b"", key=STAMP_KEY, hmac_tlv=None):
    b = bytearray(96)
    struct.pack_into(">I", b, 0, seq)
    struct.pack_into(">QHH", b, 16, SENDER_TS, SENDER_ERR, ssid)
    p = bytes(b) + hmac256(key, bytes(b))
    if hmac_tlv == "good":
        mac = hmac256(key, struct.pack(">I", seq) + tlvs)
        tlvs = tlvs + struct.pack(">BBH", 0x80, 8, 16) + mac
    elif hmac_tlv == "bad":
        tlvs = tlvs + struct.pack(">BBH", 0x80, 8, 16) + bytes(16)
    return p + tlvs


def stamp_reply(seq, ssid, reply_tlvs=b"", hmac_tlv=False):
    base = reflector_base(seq, ssid)[:96]
    out = base + hmac256(STAMP_KEY, base)
    if hmac_tlv:
        mac = hmac256(STAMP_KEY, struct.pack(">I", seq) + reply_tlvs)
        reply_tlvs = reply_tlvs + struct.pack(">BBH", 0, 8, 16) + mac
    return out + reply_tlvs


def unauth_stamp_request(seq, ssid, tlvs, hmac_tlv_good=True):
    b = bytearray(44)
    struct.pack_into(">IQHH", b, 0, seq, SENDER_TS, SENDER_ERR, ssid)
    mac = hmac256(STAMP_KEY, struct.pack(">I", seq) + tlvs) if hmac_tlv_good else bytes(16)
    return bytes(b) + tlvs + struct.pack(">BBH", 0x80, 8, 16) + mac


def unauth_stamp_reply(seq, ssid, reply_tlvs):
    b = bytearray(44)
    struct.pack_into(">IQHH", b, 0, seq, T3, OUR_ERR, ssid)
    struct.pack_into(">QIQH", b, 16, T2, seq, SENDER_TS, SENDER_ERR)
    b[40] = TTL
    mac = hmac256(STAMP_KEY, struct.pack(">I", seq) + reply_tlvs)
    return bytes(b) + reply_tlvs + struct.pack(">BBH", 0, 8, 16) + mac


def arr(name, data):
    body = ", ".join("0x%02x" % x for x in data)
    lines = []
    line = "    "
    for tok in body.split(" "):
        if len(line) + len(tok) + 1 > 99:
            lines.append(line.rstrip())
            line = "    "
        line += tok + " "
    lines.append(line.rstrip())
    return "inline constexpr uint8_t %s[] = {\n%s\n};\n" % (name, "\n".join(lines))


def main():
    out = []
    out.append("// clang-format off\n// Generated by: /usr/bin/python3 tests/unit/proto/gen_auth_vectors.py > "
               "tests/unit/proto/auth_vectors.hpp\n// (python3 cryptography + hmac/hashlib, "
               "independent of src/crypto and src/proto). Do not edit.\n#pragma once\n\n"
               "#include <cstdint>\n\nnamespace auth_vectors {\n\n")
    out.append("inline constexpr uint64_t t2_unix_s = %d;\ninline constexpr uint64_t t3_unix_s = "
               "%d;\ninline constexpr uint8_t ttl = %d;\n\n" % (T2_UNIX_S, T3_UNIX_S, TTL))
    out.append(arr("aes_session_key", AES_SK))
    out.append(arr("hmac_session_key", HMAC_SK))
    out.append(arr("sid", SID))
    out.append(arr("test_aes_key", TEST_AES))
    out.append(arr("test_hmac_key", TEST_HMAC))
    out.append(arr("stamp_key", STAMP_KEY))
    # TWAMP authenticated: 16 octets of padding (reply 112), and 152 (reply 200, padding moved).
    for mode in ("auth", "enc"):
        for plen in (0, 16, 152):
            pad = pattern(plen, 0x11 + plen)
            req = twamp_request(mode, 7, pad)
            out.append(arr("twamp_%s_req_%d" % (mode, plen), req))
            out.append(arr("twamp_%s_reply_%d" % (mode, plen), twamp_reply(mode, 7, len(req), pad)))
    # STAMP authenticated, no TLVs.
    out.append(arr("stamp_req", stamp_request(9, 0x1234)))
    out.append(arr("stamp_reply", stamp_reply(9, 0x1234)))
    # With Extra Padding (U set by the sender) and a good HMAC TLV.
    pad_tlv_req = struct.pack(">BBH", 0x80, 1, 4) + b"\xa1\xa2\xa3\xa4"
    pad_tlv_reply = struct.pack(">BBH", 0x00, 1, 4) + b"\xa1\xa2\xa3\xa4"
    out.append(arr("stamp_hmac_tlv_req", stamp_request(10, 0x1234, pad_tlv_req, hmac_tlv="good")))
    out.append(arr("stamp_hmac_tlv_reply", stamp_reply(10, 0x1234, pad_tlv_reply, hmac_tlv=True)))
    # A bad HMAC TLV: every TLV back with I (0x20), as received otherwise.
    bad = stamp_request(11, 0x1234, pad_tlv_req, hmac_tlv="bad")
    out.append(arr("stamp_bad_hmac_tlv_req", bad))
    flagged = bytearray(bad[112:])
    flagged[0] = 0x20
    flagged[8] = 0x20
    base = reflector_base(11, 0x1234)[:96]
    out.append(arr("stamp_bad_hmac_tlv_reply", base + hmac256(STAMP_KEY, base) + bytes(flagged)))
    # Unauthenticated STAMP with a key: Extra Padding then an HMAC TLV.
    out.append(arr("unauth_stamp_hmac_tlv_req", unauth_stamp_request(12, 0x0042, pad_tlv_req)))
    out.append(arr("unauth_stamp_hmac_tlv_reply", unauth_stamp_reply(12, 0x0042, pad_tlv_reply)))
    out.append("\n} // namespace auth_vectors\n// clang-format on\n")
    print("".join(out), end="")


if __name__ == "__main__":
    main()
