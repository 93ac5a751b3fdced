#!/usr/bin/python3
"""An independent reference of the TWAMP/STAMP security modes (issue 17), for tests.

Written from the RFC text and, where the text leaves a choice open, from what perfSONAR's
owamp/twamp does (the interoperability target), never from this project's C++. It uses only
Debian's python3-cryptography (AES) and the standard library (hashlib, hmac), so the C++ unit
tests can take known-answer vectors from it (auth_ref_vectors.py prints them) and the
integration tests (auth_tests.py) can talk to the box with it.

What it covers, and where each fact comes from (/work/wt/AUTH-FACTS.md has the same list):

- Key derivation (RFC 4656 §3.1): K = PBKDF2-HMAC-SHA1(shared secret, Salt, Count), 16 octets.
  The shared secret is the octets of the pfstore passphrase (the hex of the key file decoded).
- Token (RFC 4656 §3.1): AES-CBC(K, IV = 0) of Challenge 16 | AES Session-key 16 |
  HMAC Session-key 32 (perfSONAR owamp/capi.c _OWPClientConnect, io.c OWPEncryptToken).
- Control stream (RFC 4656 §3.2, §3.4; perfSONAR owamp/io.c, protocol.c): after
  Set-Up-Response, in authenticated, encrypted and mixed modes (RFC 5618: mixed = encrypted
  control) each direction is one AES-CBC stream keyed with the AES Session-key, IV = Client-IV
  (client to server) or Server-IV (server to client), chained across messages. Server-Start's
  first 32 octets (MBZ, Accept, Server-IV) are in clear; its last block (Start-Time, MBZ) is the
  first block of the server's stream. Every message's HMAC is HMAC-SHA1 with the HMAC
  Session-key, truncated to 16 octets, over the message's plaintext blocks before the HMAC; the
  HMAC block itself is encrypted with the rest. The running HMAC is reset after each HMAC sent
  (or checked), and Server-Start's last block, which has no HMAC of its own, is counted into the
  server's next HMAC, the first Accept-Session's (protocol.c _OWPWriteServerStart: "this block
  gets include as part of the text for the next digest").
- Test session keys (RFC 4656 §4.1.2; perfSONAR owamp/endpoint.c _prepare_to_run): with the SID
  as the AES key, test AES key = AES-ECB(key = SID, AES Session-key) and test HMAC key =
  AES-CBC(key = SID, IV = 0, HMAC Session-key) (32 octets). Both directions of a TWAMP session
  use the same two keys.
- TWAMP-Test (RFC 4656 §4.1.2, RFC 5357 §4.1.2, §4.2.1; endpoint.c run_tw_test, run_reflector):
  sender 48 octets + padding, reflector 112 + padding. Authenticated: only the first block is
  encrypted (AES-ECB with the test AES key) and the HMAC covers only that first block's
  plaintext; the rest is in clear. Encrypted: AES-CBC with IV = 0 over every block before the
  HMAC (sender 2 blocks, reflector 6) and the HMAC over their plaintext. HMAC-SHA1/128 with the
  test HMAC key, computed over plaintext; the HMAC field and the padding are never encrypted.
  Mixed: test packets as in unauthenticated mode.
- STAMP (RFC 8762 §4.2.2, §4.3.2, §4.4; SSID of RFC 8972 §3): 112-octet sender and reflector
  base packets, HMAC-SHA-256 truncated to 16 octets over the 96 octets before the HMAC field,
  with the key from the key file as it is (no derivation: RFC 8762 §4.4 leaves key
  management out of scope).
- HMAC TLV (RFC 8972 §4.8): Flags, Type 8, Length 16, HMAC-SHA-256/128 with the same key over
  the base packet's Sequence Number (4 octets) followed by every TLV before the HMAC TLV, as
  they are on the wire (Flags, Type, Length, Value).
"""
import hashlib
import hmac as _hmac
import os
import socket
import struct
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes as cmodes

BLOCK = 16
MODE_OPEN, MODE_AUTHENTICATED, MODE_ENCRYPTED, MODE_MIXED = 1, 2, 4, 8
MODE_NAMES = {"open": MODE_OPEN, "unauthenticated": MODE_OPEN,
              "authenticated": MODE_AUTHENTICATED, "encrypted": MODE_ENCRYPTED,
              "mixed": MODE_MIXED}
NTP_OFFSET = 2208988800  # 1900 -> 1970


class IntegrityError(Exception):
    """An HMAC did not verify (or a Token's Challenge did not match)."""


# ---------------------------------------------------------------------------------------------
# primitives
# ---------------------------------------------------------------------------------------------

def derive_key(secret, salt, count):
    """RFC 4656 §3.1: PBKDF2 (RFC 2898) with HMAC-SHA1, 16 octets."""
    return hashlib.pbkdf2_hmac("sha1", secret, salt, count, 16)


def _blocks(data):
    if len(data) % BLOCK:
        raise ValueError(f"{len(data)} octets is not a whole number of AES blocks")


def aes_ecb_encrypt(key, data):
    _blocks(data)
    e = Cipher(algorithms.AES(key), cmodes.ECB()).encryptor()
    return e.update(data) + e.finalize()


def aes_ecb_decrypt(key, data):
    _blocks(data)
    d = Cipher(algorithms.AES(key), cmodes.ECB()).decryptor()
    return d.update(data) + d.finalize()


def aes_cbc_encrypt(key, iv, data):
    """Returns (ciphertext, the IV that chains on: the last ciphertext block)."""
    _blocks(data)
    if not data:
        return b"", iv
    e = Cipher(algorithms.AES(key), cmodes.CBC(iv)).encryptor()
    out = e.update(data) + e.finalize()
    return out, out[-BLOCK:]


def aes_cbc_decrypt(key, iv, data):
    """Returns (plaintext, the IV that chains on: the last ciphertext block)."""
    _blocks(data)
    if not data:
        return b"", iv
    d = Cipher(algorithms.AES(key), cmodes.CBC(iv)).decryptor()
    return d.update(data) + d.finalize(), data[-BLOCK:]


def hmac_sha1_128(key, *parts):
    return _hmac.new(key, b"".join(parts), hashlib.sha1).digest()[:16]


def hmac_sha256_128(key, *parts):
    return _hmac.new(key, b"".join(parts), hashlib.sha256).digest()[:16]


def ntp_bytes(t=None):
    """A 64-bit NTP timestamp (RFC 5905) for Unix time t (now if None)."""
    if t is None:
        t = time.time()
    sec = int(t)
    frac = int((t - sec) * (1 << 32)) & 0xFFFFFFFF
    return struct.pack("!II", (sec + NTP_OFFSET) & 0xFFFFFFFF, frac)


def ntp_to_unix(raw8):
    sec, frac = struct.unpack("!II", raw8)
    return sec - NTP_OFFSET + frac / (1 << 32)


def parse_key_file(text):
    """perfSONAR pfstore's format: `identity<white space>hex(passphrase)` per line, `#`
    comments. Returns {identity: secret octets}."""
    keys = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        ident, hexpass = line.split(None, 1)
        keys[ident] = bytes.fromhex(hexpass.strip())
    return keys


def key_file_line(ident, secret):
    return f"{ident}\t{secret.hex()}\n"


# ---------------------------------------------------------------------------------------------
# TWAMP-Control (RFC 4656 §3, RFC 5357 §3)
# ---------------------------------------------------------------------------------------------

def server_greeting(modes, challenge, salt, count):
    assert len(challenge) == 16 and len(salt) == 16
    return bytes(12) + struct.pack("!I", modes) + challenge + salt + struct.pack("!I", count) \
        + bytes(12)


def parse_server_greeting(b):
    assert len(b) == 64
    return {"modes": struct.unpack_from("!I", b, 12)[0], "challenge": b[16:32],
            "salt": b[32:48], "count": struct.unpack_from("!I", b, 48)[0]}


def make_token(k, challenge, aes_session_key, hmac_session_key):
    """RFC 4656 §3.1: AES-CBC(K, IV 0) of Challenge | AES Session-key | HMAC Session-key."""
    assert len(challenge) == 16 and len(aes_session_key) == 16 and len(hmac_session_key) == 32
    return aes_cbc_encrypt(k, bytes(16), challenge + aes_session_key + hmac_session_key)[0]


def open_token(k, token):
    """Returns (challenge, aes_session_key, hmac_session_key)."""
    plain = aes_cbc_decrypt(k, bytes(16), token)[0]
    return plain[:16], plain[16:32], plain[32:64]


def key_id_field(ident):
    raw = ident.encode() if isinstance(ident, str) else ident
    assert len(raw) <= 80
    return raw + bytes(80 - len(raw))


def setup_response(mode, key_id=b"", token=bytes(64), client_iv=bytes(16)):
    """Mode 4, KeyID 80 (NUL-padded), Token 64, Client-IV 16: 164 octets."""
    return struct.pack("!I", mode) + key_id_field(key_id) + token + client_iv


def parse_setup_response(b):
    assert len(b) == 164
    return {"mode": struct.unpack_from("!I", b, 0)[0], "key_id": b[4:84].rstrip(b"\0"),
            "token": b[84:148], "client_iv": b[148:164]}


class Direction:
    """One direction of a control connection after Set-Up-Response, as one endpoint sees it:
    `sending` True for the endpoint that writes it (encrypts), False for the one that reads it.
    In open mode it passes the octets through and no HMAC exists."""

    def __init__(self, mode, aes_key=None, hmac_key=None, iv=None, sending=True):
        self.cipher = mode in (MODE_AUTHENTICATED, MODE_ENCRYPTED, MODE_MIXED)
        self.aes_key, self.hmac_key, self.iv, self.sending = aes_key, hmac_key, iv, sending
        self.pending = b""  # plaintext counted into the next HMAC

    def _crypt(self, data):
        if not self.cipher:
            return data
        if self.sending:
            out, self.iv = aes_cbc_encrypt(self.aes_key, self.iv, data)
        else:
            out, self.iv = aes_cbc_decrypt(self.aes_key, self.iv, data)
        return out

    # the writer's side
    def seal(self, plain, with_hmac=True):
        """plain: the message's blocks before its HMAC. Returns the octets on the wire (the
        HMAC block appended when with_hmac and the mode has one)."""
        _blocks(plain)
        if not self.cipher:
            return plain + (bytes(16) if with_hmac else b"")
        self.pending += plain
        if with_hmac:
            mac = hmac_sha1_128(self.hmac_key, self.pending)
            self.pending = b""
            plain = plain + mac
        return self._crypt(plain)

    # the reader's side
    def open(self, wire, with_hmac=True):
        """wire: the message's octets (HMAC block included when with_hmac). Returns the
        plaintext without the HMAC block; raises IntegrityError on a bad HMAC."""
        plain = self._crypt(wire)
        if not self.cipher:
            return plain[:-16] if with_hmac else plain
        body = plain[:-16] if with_hmac else plain
        self.pending += body
        if with_hmac:
            want = hmac_sha1_128(self.hmac_key, self.pending)
            self.pending = b""
            if not _hmac.compare_digest(want, plain[-16:]):
                raise IntegrityError("control message HMAC")
        return body


def server_start_clear(accept, server_iv):
    """Server-Start's first 32 octets, always in clear: MBZ 15, Accept 1, Server-IV 16."""
    return bytes(15) + bytes([accept]) + server_iv


def server_start_last(start_time8):
    """Server-Start's last block (Start-Time 8, MBZ 8): the first block of the server's
    stream, sealed without an HMAC of its own (Direction.seal(..., with_hmac=False))."""
    return start_time8 + bytes(8)


def request_tw_session(ipvn, sender_port, receiver_port, sender_addr, receiver_addr,
                       padding_length, start_time8, timeout8, type_p=0, sid=bytes(16)):
    """Request-TW-Session (RFC 5357 §3.5) without its HMAC: 96 octets. Addresses as 4 or 16
    raw octets."""
    b = bytearray(96)
    b[0] = 5
    b[1] = ipvn & 0x0F
    struct.pack_into("!HH", b, 12, sender_port, receiver_port)
    b[16:16 + len(sender_addr)] = sender_addr
    b[32:32 + len(receiver_addr)] = receiver_addr
    b[48:64] = sid
    struct.pack_into("!I", b, 64, padding_length)
    b[68:76] = start_time8
    b[76:84] = timeout8
    struct.pack_into("!I", b, 84, type_p)
    return bytes(b)


def accept_session(accept, port, sid):
    """Accept-Session without its HMAC: 32 octets."""
    return bytes([accept, 0]) + struct.pack("!H", port) + sid + bytes(12)


def parse_accept_session(plain):
    return {"accept": plain[0], "port": struct.unpack_from("!H", plain, 2)[0],
            "sid": plain[4:20]}


def start_sessions():
    return bytes([2]) + bytes(15)


def start_ack(accept):
    return bytes([accept]) + bytes(15)


def stop_sessions(accept=0, nsessions=1):
    return bytes([3, accept, 0, 0]) + struct.pack("!I", nsessions) + bytes(8)


# ---------------------------------------------------------------------------------------------
# TWAMP-Test (RFC 4656 §4.1.2, RFC 5357 §4.1.2, §4.2.1)
# ---------------------------------------------------------------------------------------------

def test_keys(aes_session_key, hmac_session_key, sid):
    """(test AES key 16, test HMAC key 32): the SID is the AES key (endpoint.c
    _prepare_to_run)."""
    aes = aes_ecb_encrypt(sid, aes_session_key)
    hk = aes_cbc_encrypt(sid, bytes(16), hmac_session_key)[0]
    return aes, hk


def _test_seal(mode, aes_key, hmac_key, plain, nblocks):
    """plain: the blocks before the HMAC (nblocks of them). Returns them as sent + HMAC."""
    if mode == MODE_AUTHENTICATED:
        mac = hmac_sha1_128(hmac_key, plain[:16])
        return aes_ecb_encrypt(aes_key, plain[:16]) + plain[16:nblocks * 16] + mac
    if mode == MODE_ENCRYPTED:
        mac = hmac_sha1_128(hmac_key, plain[:nblocks * 16])
        return aes_cbc_encrypt(aes_key, bytes(16), plain[:nblocks * 16])[0] + mac
    raise ValueError("authenticated or encrypted only")


def _test_open(mode, aes_key, hmac_key, wire, nblocks):
    """Returns the plaintext of the blocks before the HMAC; raises IntegrityError."""
    n = nblocks * 16
    if len(wire) < n + 16:
        raise ValueError(f"{len(wire)} octets: too short for {n + 16}")
    if mode == MODE_AUTHENTICATED:
        plain = aes_ecb_decrypt(aes_key, wire[:16]) + wire[16:n]
        covered = plain[:16]
    elif mode == MODE_ENCRYPTED:
        plain = aes_cbc_decrypt(aes_key, bytes(16), wire[:n])[0]
        covered = plain
    else:
        raise ValueError("authenticated or encrypted only")
    if not _hmac.compare_digest(hmac_sha1_128(hmac_key, covered), wire[n:n + 16]):
        raise IntegrityError("test packet HMAC")
    return plain


def twamp_sender_packet(mode, aes_key, hmac_key, seq, ts8, errest, padding=b""):
    """Session-Sender packet: unauthenticated/mixed 14 + padding; authenticated/encrypted
    48 + padding (Seq 4, MBZ 12, Timestamp 8, Error Estimate 2, MBZ 6, HMAC 16)."""
    if mode in (MODE_OPEN, MODE_MIXED):
        return struct.pack("!I", seq) + ts8 + struct.pack("!H", errest) + padding
    plain = struct.pack("!I", seq) + bytes(12) + ts8 + struct.pack("!H", errest) + bytes(6)
    return _test_seal(mode, aes_key, hmac_key, plain, 2) + padding


def open_twamp_sender(mode, aes_key, hmac_key, wire):
    if mode in (MODE_OPEN, MODE_MIXED):
        return {"seq": struct.unpack_from("!I", wire, 0)[0], "ts": wire[4:12],
                "errest": struct.unpack_from("!H", wire, 12)[0]}
    p = _test_open(mode, aes_key, hmac_key, wire, 2)
    return {"seq": struct.unpack_from("!I", p, 0)[0], "ts": p[16:24],
            "errest": struct.unpack_from("!H", p, 24)[0], "mbz": p[4:16] + p[26:32]}


def twamp_reflector_packet(mode, aes_key, hmac_key, seq, ts8, errest, rx_ts8, sender_seq,
                           sender_ts8, sender_errest, sender_ttl, padding=b""):
    """Session-Reflector packet: unauthenticated/mixed 41 + padding; authenticated/encrypted
    112 + padding."""
    if mode in (MODE_OPEN, MODE_MIXED):
        return (struct.pack("!I", seq) + ts8 + struct.pack("!H", errest) + bytes(2) + rx_ts8
                + struct.pack("!I", sender_seq) + sender_ts8 + struct.pack("!H", sender_errest)
                + bytes(2) + bytes([sender_ttl]) + padding)
    plain = (struct.pack("!I", seq) + bytes(12) + ts8 + struct.pack("!H", errest) + bytes(6)
             + rx_ts8 + bytes(8) + struct.pack("!I", sender_seq) + bytes(12) + sender_ts8
             + struct.pack("!H", sender_errest) + bytes(6) + bytes([sender_ttl]) + bytes(15))
    assert len(plain) == 96
    return _test_seal(mode, aes_key, hmac_key, plain, 6) + padding


def open_twamp_reflector(mode, aes_key, hmac_key, wire):
    """The reply's fields (raw timestamps); raises IntegrityError on a bad HMAC."""
    if mode in (MODE_OPEN, MODE_MIXED):
        w = wire
        return {"seq": struct.unpack_from("!I", w, 0)[0], "ts": w[4:12],
                "errest": struct.unpack_from("!H", w, 12)[0], "rx_ts": w[16:24],
                "sender_seq": struct.unpack_from("!I", w, 24)[0], "sender_ts": w[28:36],
                "sender_errest": struct.unpack_from("!H", w, 36)[0], "sender_ttl": w[40]}
    p = _test_open(mode, aes_key, hmac_key, wire, 6)
    return {"seq": struct.unpack_from("!I", p, 0)[0], "ts": p[16:24],
            "errest": struct.unpack_from("!H", p, 24)[0], "rx_ts": p[32:40],
            "sender_seq": struct.unpack_from("!I", p, 48)[0], "sender_ts": p[64:72],
            "sender_errest": struct.unpack_from("!H", p, 72)[0], "sender_ttl": p[80],
            "plain": p}


# ---------------------------------------------------------------------------------------------
# STAMP (RFC 8762 §4.2.2, §4.3.2, §4.4; RFC 8972 §3, §4.8)
# ---------------------------------------------------------------------------------------------

STAMP_AUTH_LEN = 112
TLV_HMAC = 8


def stamp_sender_auth(key, seq, ts8, errest, ssid=0, tlvs=b""):
    """112-octet authenticated Session-Sender base packet (+ TLVs as given)."""
    plain = (struct.pack("!I", seq) + bytes(12) + ts8 + struct.pack("!HH", errest, ssid)
             + bytes(68))
    assert len(plain) == 96
    return plain + hmac_sha256_128(key, plain) + tlvs


def stamp_reflector_auth(key, seq, ts8, errest, ssid, rx_ts8, sender_seq, sender_ts8,
                         sender_errest, sender_ttl, tlvs=b""):
    plain = (struct.pack("!I", seq) + bytes(12) + ts8 + struct.pack("!HH", errest, ssid)
             + bytes(4) + rx_ts8 + bytes(8) + struct.pack("!I", sender_seq) + bytes(12)
             + sender_ts8 + struct.pack("!H", sender_errest) + bytes(6) + bytes([sender_ttl])
             + bytes(15))
    assert len(plain) == 96
    return plain + hmac_sha256_128(key, plain) + tlvs


def verify_stamp_auth(key, wire):
    """Whether the base packet's HMAC (octets 96..111) verifies."""
    if len(wire) < STAMP_AUTH_LEN:
        return False
    return _hmac.compare_digest(hmac_sha256_128(key, wire[:96]), wire[96:112])


def parse_stamp_sender_auth(wire):
    return {"seq": struct.unpack_from("!I", wire, 0)[0], "ts": wire[16:24],
            "errest": struct.unpack_from("!H", wire, 24)[0],
            "ssid": struct.unpack_from("!H", wire, 26)[0]}


def parse_stamp_reflector_auth(wire):
    return {"seq": struct.unpack_from("!I", wire, 0)[0], "ts": wire[16:24],
            "errest": struct.unpack_from("!H", wire, 24)[0],
            "ssid": struct.unpack_from("!H", wire, 26)[0], "rx_ts": wire[32:40],
            "sender_seq": struct.unpack_from("!I", wire, 48)[0], "sender_ts": wire[64:72],
            "sender_errest": struct.unpack_from("!H", wire, 72)[0], "sender_ttl": wire[80]}


def tlv(typ, value=b"", flags=0):
    """A STAMP TLV (RFC 8972 §4): Flags 1, Type 1, Length 2, Value."""
    return bytes([flags, typ]) + struct.pack("!H", len(value)) + value


def hmac_tlv_value(key, seq_field4, preceding_tlvs):
    """RFC 8972 §4.8: HMAC-SHA-256/128 over the Sequence Number field and the TLVs before."""
    return hmac_sha256_128(key, seq_field4, preceding_tlvs)


def hmac_tlv(key, seq_field4, preceding_tlvs, flags=0):
    return tlv(TLV_HMAC, hmac_tlv_value(key, seq_field4, preceding_tlvs), flags)


def split_tlvs(area):
    """[(offset, flags, type, value)] of a TLV area (stops at a truncated TLV)."""
    out, off = [], 0
    while off + 4 <= len(area):
        flags, typ, ln = area[off], area[off + 1], struct.unpack_from("!H", area, off + 2)[0]
        if off + 4 + ln > len(area):
            break
        out.append((off, flags, typ, area[off + 4:off + 4 + ln]))
        off += 4 + ln
    return out


def verify_hmac_tlv(key, packet, base_len):
    """The HMAC TLV of `packet` (TLVs after base_len octets): True/False, None if absent."""
    area = packet[base_len:]
    for off, _flags, typ, value in split_tlvs(area):
        if typ == TLV_HMAC:
            want = hmac_tlv_value(key, packet[:4], area[:off])
            return len(value) == 16 and _hmac.compare_digest(want, value)
    return None


# ---------------------------------------------------------------------------------------------
# A raw TWAMP-Control client (for the integration tests): socket I/O over the pieces above.
# ---------------------------------------------------------------------------------------------

def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} octets")
        buf += chunk
    return buf


class ControlClient:
    """A TWAMP-Control client conversation (RFC 5357 §3) in any mode. After `connect`, the
    attributes hold what the conversation settled (keys, IVs, the greeting)."""

    def __init__(self, mode, key_id=b"", secret=b"", rand=os.urandom):
        self.mode, self.key_id, self.secret, self.rand = mode, key_id, secret, rand
        self.sock = None
        self.accept = None

    def connect(self, addr, port=862, timeout=5.0, family=socket.AF_INET):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect((addr, port))
        self.sock = s
        self.greeting = parse_server_greeting(_recv_exact(s, 64))
        m = self.mode
        if m & MODE_OPEN:
            self.aes_key, self.hmac_key, self.client_iv = None, None, bytes(16)
            s.sendall(setup_response(m))
        else:
            k = derive_key(self.secret, self.greeting["salt"], self.greeting["count"])
            self.aes_key, self.hmac_key = self.rand(16), self.rand(32)
            self.client_iv = self.rand(16)
            token = make_token(k, self.greeting["challenge"], self.aes_key, self.hmac_key)
            s.sendall(setup_response(m, self.key_id, token, self.client_iv))
        self.tx = Direction(m, self.aes_key, self.hmac_key, self.client_iv, sending=True)
        clear = _recv_exact(s, 32)
        self.accept = clear[15]
        self.server_iv = clear[16:32]
        if self.accept != 0:
            # perfSONAR protocol.c _OWPWriteServerStart: a refusal sends its last block in
            # clear (the mode falls back to open); the server then closes.
            self.rx = Direction(MODE_OPEN)
            try:
                self.start_time = _recv_exact(s, 16)[:8]
            except (ConnectionError, OSError):
                self.start_time = None
            return self.accept
        self.rx = Direction(m, self.aes_key, self.hmac_key, self.server_iv, sending=False)
        self.start_time = self.rx.open(_recv_exact(s, 16), with_hmac=False)[:8]
        return self.accept

    def request_session(self, **kw):
        self.sock.sendall(self.tx.seal(request_tw_session(**kw)))
        return parse_accept_session(self.rx.open(_recv_exact(self.sock, 48)))

    def start(self):
        self.sock.sendall(self.tx.seal(start_sessions()))
        return self.rx.open(_recv_exact(self.sock, 32))[0]

    def stop(self, accept=0, nsessions=1):
        self.sock.sendall(self.tx.seal(stop_sessions(accept, nsessions)))

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
