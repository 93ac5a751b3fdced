#!/usr/bin/python3
"""Known-answer vectors of the security modes (issue 17) from the independent reference
(auth_ref.py: Debian's python3-cryptography and hashlib/hmac), for the C++ unit tests to paste
as constants. Fixed keys and inputs -> octets, printed as `name = hex` lines:

    /usr/bin/python3 tests/integration/auth_ref_vectors.py [--cpp]

--cpp prints each as a C++ `constexpr std::string_view name = "hex";` line instead. Before
printing, it checks the reference against published vectors (RFC 6070 PBKDF2-HMAC-SHA1,
FIPS-197 AES-128, RFC 2202 / RFC 4231 HMAC) and its own round trips, and exits 1 if any fails.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import auth_ref as A  # noqa: E402


def seq(start, n):
    return bytes((start + i) & 0xFF for i in range(n))


# The fixed inputs (every C++ test that pastes a vector names these).
SECRET = b"twamp-interop-secret"        # the key file's passphrase octets (hex in the file)
KEY_ID = b"alice"
SALT = seq(0x00, 16)
COUNT = 1024
CHALLENGE = seq(0x10, 16)
AES_SESSION = seq(0x20, 16)
HMAC_SESSION = seq(0x30, 32)
CLIENT_IV = seq(0x50, 16)
SERVER_IV = seq(0x60, 16)
SID = seq(0x70, 16)
START_TIME = bytes.fromhex("e8e4a1b2" "80000000")   # Server-Start's Start-Time
REQ_START = bytes.fromhex("e8e4a1b4" "00000000")    # Request-TW-Session Start Time
REQ_TIMEOUT = bytes.fromhex("00000002" "00000000")  # 2 s
SENDER_ADDR = bytes([198, 18, 0, 1])
RECEIVER_ADDR = bytes([198, 18, 0, 2])
TS1 = bytes.fromhex("e8e4a1b5" "40000000")  # sender timestamp
TS2 = bytes.fromhex("e8e4a1b5" "40100000")  # reflector receive timestamp
TS3 = bytes.fromhex("e8e4a1b5" "40200000")  # reflector transmit timestamp
ERREST = 0x8001                              # S = 1, scale 0, multiplier 1
STAMP_KEY = b"stamp-hmac-key-0123456789abcdef"  # 31 octets, as a key file may hold


def self_test():
    ok = True

    def want(name, got, hexwant):
        nonlocal ok
        if got.hex() != hexwant:
            print(f"SELF-TEST FAILED {name}: {got.hex()} != {hexwant}", file=sys.stderr)
            ok = False

    # RFC 6070 (PBKDF2-HMAC-SHA1), first 16 octets of tests 1 and 2
    want("pbkdf2 c=1", A.derive_key(b"password", b"salt", 1), "0c60c80f961f0e71f3a9b524af601206")
    want("pbkdf2 c=2", A.derive_key(b"password", b"salt", 2), "ea6c014dc72d6f8ccd1ed92ace1d41f0")
    # FIPS-197 C.1 AES-128
    want("aes fips197", A.aes_ecb_encrypt(seq(0, 16), bytes.fromhex(
        "00112233445566778899aabbccddeeff")), "69c4e0d86a7b0430d8cdb78070b4c55a")
    # RFC 2202 test 2 (HMAC-SHA1 "Jefe"), RFC 4231 test 2 (HMAC-SHA-256), truncated
    want("hmac-sha1", A.hmac_sha1_128(b"Jefe", b"what do ya want for nothing?"),
         "effcdf6ae5eb2fa2d27416d5f184df9c")
    want("hmac-sha256", A.hmac_sha256_128(b"Jefe", b"what do ya want for nothing?"),
         "5bdcc146bf60754e6a042426089575c7")
    # round trips
    k = A.derive_key(SECRET, SALT, COUNT)
    tok = A.make_token(k, CHALLENGE, AES_SESSION, HMAC_SESSION)
    if A.open_token(k, tok) != (CHALLENGE, AES_SESSION, HMAC_SESSION):
        print("SELF-TEST FAILED token round trip", file=sys.stderr)
        ok = False
    c2s = A.Direction(A.MODE_ENCRYPTED, AES_SESSION, HMAC_SESSION, CLIENT_IV, sending=True)
    rd = A.Direction(A.MODE_ENCRYPTED, AES_SESSION, HMAC_SESSION, CLIENT_IV, sending=False)
    for msg in (A.start_sessions(), A.stop_sessions(0, 1)):
        if rd.open(c2s.seal(msg)) != msg:
            print("SELF-TEST FAILED control round trip", file=sys.stderr)
            ok = False
    ak, hk = A.test_keys(AES_SESSION, HMAC_SESSION, SID)
    for mode in (A.MODE_AUTHENTICATED, A.MODE_ENCRYPTED):
        p = A.twamp_sender_packet(mode, ak, hk, 7, TS1, ERREST, bytes(5))
        f = A.open_twamp_sender(mode, ak, hk, p)
        if (f["seq"], f["ts"], f["errest"]) != (7, TS1, ERREST):
            print(f"SELF-TEST FAILED sender round trip mode {mode}", file=sys.stderr)
            ok = False
        bad = bytearray(p)
        bad[0] ^= 1
        try:
            A.open_twamp_sender(mode, ak, hk, bytes(bad))
            print(f"SELF-TEST FAILED tampered sender packet verified (mode {mode})",
                  file=sys.stderr)
            ok = False
        except A.IntegrityError:
            pass
        r = A.twamp_reflector_packet(mode, ak, hk, 5, TS3, ERREST, TS2, 7, TS1, ERREST, 64)
        f = A.open_twamp_reflector(mode, ak, hk, r)
        if (f["seq"], f["sender_seq"], f["rx_ts"], f["sender_ttl"]) != (5, 7, TS2, 64):
            print(f"SELF-TEST FAILED reflector round trip mode {mode}", file=sys.stderr)
            ok = False
    return ok


def vectors():
    out = []

    def put(name, octets):
        out.append((name, octets))

    k = A.derive_key(SECRET, SALT, COUNT)
    put("secret", SECRET)
    put("key_id", KEY_ID)
    put("salt", SALT)
    put("challenge", CHALLENGE)
    put("aes_session_key", AES_SESSION)
    put("hmac_session_key", HMAC_SESSION)
    put("client_iv", CLIENT_IV)
    put("server_iv", SERVER_IV)
    put("sid", SID)
    put("derived_key_count1024", k)
    put("server_greeting_all_modes", A.server_greeting(
        A.MODE_OPEN | A.MODE_AUTHENTICATED | A.MODE_ENCRYPTED | A.MODE_MIXED,
        CHALLENGE, SALT, COUNT))
    token = A.make_token(k, CHALLENGE, AES_SESSION, HMAC_SESSION)
    put("token", token)
    for name, mode in (("auth", A.MODE_AUTHENTICATED), ("enc", A.MODE_ENCRYPTED),
                       ("mixed", A.MODE_MIXED)):
        put(f"setup_response_{name}", A.setup_response(mode, KEY_ID, token, CLIENT_IV))

    # The conversation's octets on the wire after Set-Up-Response, in order; the same in the
    # three modes (authenticated, encrypted and mixed all encrypt the control stream). The
    # client's and the server's directions are two independent CBC streams, each with its own
    # running HMAC (Server-Start's last block counts into the Accept-Session's HMAC).
    mode = A.MODE_AUTHENTICATED
    c2s = A.Direction(mode, AES_SESSION, HMAC_SESSION, CLIENT_IV, sending=True)
    s2c = A.Direction(mode, AES_SESSION, HMAC_SESSION, SERVER_IV, sending=True)
    put("server_start", A.server_start_clear(0, SERVER_IV)
        + s2c.seal(A.server_start_last(START_TIME), with_hmac=False))
    req = A.request_tw_session(4, 40000, 40001, SENDER_ADDR, RECEIVER_ADDR, 64,
                               REQ_START, REQ_TIMEOUT, 0)
    put("request_tw_session_plain", req)
    put("request_tw_session", c2s.seal(req))
    put("accept_session", s2c.seal(A.accept_session(0, 40001, SID)))
    put("start_sessions", c2s.seal(A.start_sessions()))
    put("start_ack", s2c.seal(A.start_ack(0)))
    put("stop_sessions", c2s.seal(A.stop_sessions(0, 1)))

    ak, hk = A.test_keys(AES_SESSION, HMAC_SESSION, SID)
    put("test_aes_key", ak)
    put("test_hmac_key", hk)
    for name, mode in (("auth", A.MODE_AUTHENTICATED), ("enc", A.MODE_ENCRYPTED)):
        put(f"twamp_sender_{name}", A.twamp_sender_packet(mode, ak, hk, 1, TS1, ERREST))
        put(f"twamp_sender_{name}_pad8", A.twamp_sender_packet(
            mode, ak, hk, 2, TS1, ERREST, bytes(8)))
        put(f"twamp_reflector_{name}", A.twamp_reflector_packet(
            mode, ak, hk, 5, TS3, ERREST, TS2, 1, TS1, ERREST, 255))
    put("twamp_sender_mixed_pad27", A.twamp_sender_packet(A.MODE_MIXED, None, None, 1, TS1,
                                                          ERREST, bytes(27)))

    put("stamp_key", STAMP_KEY)
    sender = A.stamp_sender_auth(STAMP_KEY, 1, TS1, ERREST, ssid=0x1234)
    put("stamp_sender_auth", sender)
    put("stamp_reflector_auth", A.stamp_reflector_auth(
        STAMP_KEY, 9, TS3, ERREST, 0x1234, TS2, 1, TS1, ERREST, 255))
    # An HMAC TLV after a Class of Service TLV (type 4, 4 octets: DSCP1 46 << 2), then Extra
    # Padding (type 1, 8 zero octets), which may follow it.
    cos = A.tlv(4, bytes([46 << 2, 0, 0, 0]))
    hm = A.hmac_tlv(STAMP_KEY, sender[:4], cos)
    put("stamp_tlv_cos", cos)
    put("stamp_hmac_tlv", hm)
    put("stamp_sender_auth_cos_hmac_pad", sender + cos + hm + A.tlv(1, bytes(8)))
    # As twamp-ping sends `--auth authenticated --ssid 4660 --tlv cos=46 --tlv hmac -s 152`:
    # every TLV with U set (RFC 8972 §4: a Session-Sender sets U), the HMAC TLV over the CoS
    # TLV with its U flag, then the Extra Padding TLV that -s adds (8 zero octets).
    cos_u = A.tlv(4, bytes([46 << 2, 0, 0, 0]), flags=0x80)
    put("stamp_sender_auth_cos_hmac_pad_u", sender + cos_u
        + A.hmac_tlv(STAMP_KEY, sender[:4], cos_u, flags=0x80) + A.tlv(1, bytes(8), flags=0x80))
    # The same TLVs on an unauthenticated 44-octet STAMP base (Seq 1, TS1, ERREST, SSID 0x1234)
    base44 = struct.pack("!I", 1) + TS1 + struct.pack("!HH", ERREST, 0x1234) + bytes(28)
    put("stamp_sender_open_cos_hmac", base44 + cos + A.hmac_tlv(STAMP_KEY, base44[:4], cos))
    return out


def main():
    if not self_test():
        return 1
    cpp = "--cpp" in sys.argv[1:]
    for name, octets in vectors():
        if cpp:
            print(f'constexpr std::string_view {name} = "{octets.hex()}";')
        else:
            print(f"{name} = {octets.hex()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
