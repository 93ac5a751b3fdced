#!/usr/bin/python3
"""Integration tests of the security modes (issue 17) on the real dpdk-twamp in the namespace
lab: TWAMP-Control in authenticated, encrypted and mixed modes with their test packets, and
authenticated STAMP with the HMAC TLV.

    tests/integration/auth_tests.py --binary build/src/app/dpdk-twamp --ping
        build/src/sender/twamp-ping --source-root . [--case NAME]... [--keep] [--list]

Two independent sides talk to the box: twamp-ping (the project's C++ sender) and a raw client
built on auth_ref.py (Debian's python3-cryptography and hashlib/hmac, written from the RFCs and
perfSONAR's owamp, not from this project's C++), which does the control conversation over a
TCP socket and sends and verifies the test packets itself. tshark decodes a captured control
connection. The lab and the runner are lab_tests.py's (imported). Addresses only from
198.18.0.0/15 and 2001:2::/48.
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import auth_ref as A  # noqa: E402  (the independent reference, beside this file)
import lab_tests as L  # noqa: E402
from lab_tests import B4, B6, Failure, check, eq  # noqa: E402

RECEIVER_MIN, RECEIVER_MAX = 64400, 64409
STAMP_AUTH, STAMP_OPEN = 64380, 64381
SSID_BOB = 7
SECRETS = {"alice": b"alice's twamp secret", "bob": b"bob-\x00\xffbinary"}
WRONG = {"alice": b"not alice's secret"}
MODES_ALL = A.MODE_OPEN | A.MODE_AUTHENTICATED | A.MODE_ENCRYPTED | A.MODE_MIXED
METRICS_URL = "http://127.0.0.1:9862/metrics"


def key_file(lab, name, secrets):
    path = os.path.join(lab.workdir, name)
    with open(path, "w") as f:
        f.write("# auth_tests.py\n")
        for ident, secret in secrets.items():
            f.write(A.key_file_line(ident, secret))
    os.chmod(path, 0o600)
    return path


def conf_text(lab, stamp_auth):
    """The box's config: the keys, every control mode, a plain STAMP reflector and (stamp_auth)
    the authenticated one."""
    keys = key_file(lab, "keys.pfs", SECRETS)
    lines = [f"# auth_tests.py, lab {lab.name}",
             f'keys = "{keys}";',
             "ports = (",
             f'  {{ name = "wire0"; device = "net_af_packet0,iface={lab.name}r0";',
             '    addresses = [ "198.18.0.2/24", "2001:2::2/64" ];',
             f'    exception = {{ iface = "{lab.name}tap0"; rate-limit-pps = 20000; }}; }}',
             ");",
             "reflectors = ("]
    if stamp_auth:
        lines.append(
            f'  {{ name = "stampauth"; port = "wire0"; mode = "stamp"; udp-ports = [ {STAMP_AUTH} ];'
            ' prefixes = [ "198.18.0.0/24", "2001:2::/64" ]; stateful = true;'
            ' authentication = "authenticated"; key-id = "alice";'
            f' ssid-keys = ( {{ ssid = {SSID_BOB}; key-id = "bob"; }} ); }},')
    lines += [f'  {{ name = "stampopen"; port = "wire0"; mode = "stamp"; udp-ports = [ {STAMP_OPEN} ];'
             ' prefixes = [ "198.18.0.0/24", "2001:2::/64" ]; stateful = true; }',
             ");",
             'control = { listen = "::"; port = 862; prefixes = [ "198.18.0.0/15", "2001:2::/48" ];',
             '            modes = [ "unauthenticated", "authenticated", "encrypted", "mixed" ];',
             f"            receiver-ports = {{ min = {RECEIVER_MIN}; max = {RECEIVER_MAX}; }}; }};",
             'metrics = { listen = "127.0.0.1:9862"; };']
    path = os.path.join(lab.workdir, f"auth-{lab.instances + 1}.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def start(lab, stamp_auth=False):
    return lab.fresh(conf=conf_text(lab, stamp_auth), n_reflectors=2 if stamp_auth else 1)


def metric(lab, name, **labels):
    """The sum of a metric's samples whose labels include `labels` (0 when none)."""
    from ops_tests import scrape  # noqa: E402  (the Prometheus text parsed independently)
    return sum(v for _, v in scrape(lab).find(name, **labels))


# ---------------------------------------------------------------------------------------------
# The raw client: auth_ref.py's control conversation and test packets over sockets.

class Session:
    """One TWAMP session negotiated by auth_ref.ControlClient, its UDP socket, its keys."""

    def __init__(self, mode, secret=None, key_id="alice", host=B4, padding=64):
        self.mode = mode
        self.v6 = ":" in host
        fam = socket.AF_INET6 if self.v6 else socket.AF_INET
        self.u = socket.socket(fam, socket.SOCK_DGRAM)
        self.u.bind(("", 0))
        # RFC 5357 §4.1.2: TTL / Hop Limit 255, so the reflector's Sender TTL shows the path.
        if self.v6:
            self.u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
        else:
            self.u.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
        self.c = A.ControlClient(mode, key_id.encode(),
                                 SECRETS[key_id] if secret is None else secret)
        self.accept = self.c.connect(host, 862, timeout=60, family=fam)
        self.host = host
        self.padding = padding

    def request(self):
        acc = self.c.request_session(
            ipvn=6 if self.v6 else 4, sender_port=self.u.getsockname()[1], receiver_port=0,
            sender_addr=b"", receiver_addr=b"", padding_length=self.padding,
            start_time8=bytes(8), timeout8=struct.pack("!II", 1, 0))
        eq(acc["accept"], 0, f"{self.mode}: Accept-Session Accept")
        check(RECEIVER_MIN <= acc["port"] <= RECEIVER_MAX,
              f"receiver port {acc['port']} outside control.receiver-ports")
        self.port, self.sid = acc["port"], acc["sid"]
        if self.mode in (A.MODE_AUTHENTICATED, A.MODE_ENCRYPTED):
            self.aes, self.hk = A.test_keys(self.c.aes_key, self.c.hmac_key, self.sid)
        else:
            self.aes = self.hk = None
        return acc

    def packet(self, seq, ts8=None, errest=0x0001):
        ts8 = ts8 or A.ntp_bytes()
        base = 48 if self.mode in (A.MODE_AUTHENTICATED, A.MODE_ENCRYPTED) else 14
        return A.twamp_sender_packet(self.mode, self.aes, self.hk, seq, ts8, errest,
                                     bytes(self.padding)), ts8, base + self.padding

    def exchange(self, seq, timeout=10.0, wire=None):
        """Sends test packet `seq` (or `wire` as it is); returns (reply octets, sent ts) or
        (None, ts) when nothing came back within `timeout`."""
        pkt, ts8, _ = self.packet(seq)
        self.u.sendto(wire if wire is not None else pkt, (self.host, self.port))
        self.u.settimeout(timeout)
        try:
            data, _ = self.u.recvfrom(4096)
        except socket.timeout:
            return None, ts8
        return data, ts8

    def close(self):
        try:
            self.c.stop()
        except OSError:
            pass
        self.c.close()
        self.u.close()


def check_reply(s, data, seq, ts8, what):
    check(data is not None, f"{what}: no reply to test packet {seq}")
    # The reply has the request's size, at least its layout's base (RFC 5357 §4.2.1: 41, 112
    # authenticated; perfSONAR's reflector likewise).
    auth = s.mode in (A.MODE_AUTHENTICATED, A.MODE_ENCRYPTED)
    request_len = (48 if auth else 14) + s.padding
    eq(len(data), max(request_len, 112 if auth else 41), f"{what}: reply length")
    try:
        r = A.open_twamp_reflector(s.mode, s.aes, s.hk, data)
    except A.IntegrityError:
        raise Failure(f"{what}: the reply's HMAC does not verify (auth_ref.py): {data.hex()}")
    eq(r["sender_seq"], seq, f"{what}: Sender Sequence Number")
    eq(r["seq"], seq, f"{what}: the session's own Sequence Number")
    eq(r["sender_ts"], ts8, f"{what}: Sender Timestamp")
    eq(r["sender_ttl"], 255, f"{what}: Sender TTL")
    t1, t2, t3 = A.ntp_to_unix(ts8), A.ntp_to_unix(r["rx_ts"]), A.ntp_to_unix(r["ts"])
    check(t1 - 0.01 <= t2 <= t3 <= time.time() + 0.01,
          f"{what}: T1 {t1:.6f} <= T2 {t2:.6f} <= T3 {t3:.6f} <= now")
    if s.mode == A.MODE_ENCRYPTED:
        # The whole 96 octets went encrypted: the Sender Timestamp is not in clear.
        check(ts8 not in data[:96], f"{what}: the Sender Timestamp is in clear in an encrypted "
                                    "reply")
    if s.mode == A.MODE_AUTHENTICATED:
        eq(data[64:72], ts8, f"{what}: authenticated replies carry the Sender Timestamp in clear")
    return r


def raw_session(lab, mode, what):
    """A whole raw-client session in `mode`: greeting (all four modes offered), Token accepted,
    three test packets answered and verified, a tampered one (authenticated/encrypted) dropped
    as hmac_failed."""
    s = Session(mode)
    try:
        eq(s.c.greeting["modes"] & MODES_ALL, MODES_ALL,
           "Server-Greeting offers unauthenticated, authenticated, encrypted and mixed")
        check(1024 <= s.c.greeting["count"] <= 1 << 24, f"Count {s.c.greeting['count']}")
        eq(s.accept, 0, f"{what}: Server-Start Accept")
        st = A.ntp_to_unix(s.c.start_time)
        check(abs(st - time.time()) < 3600 * 24 * 365 * 60, f"{what}: Server-Start Start-Time")
        s.request()
        eq(s.c.start(), 0, f"{what}: Start-Ack Accept")
        for seq in range(3):
            data, ts8 = s.exchange(seq)
            check_reply(s, data, seq, ts8, f"{what} packet {seq}")
        tampered = 0
        if s.aes is not None:
            pkt, ts8, _ = s.packet(3)
            bad = bytearray(pkt)
            bad[40] ^= 0x01  # the HMAC
            data, _ = s.exchange(3, timeout=1.0, wire=bytes(bad))
            check(data is None, f"{what}: a reply to a test packet with a bad HMAC")
            tampered = 1
            # The session goes on: the next good packet is answered (seq 3: the reflector did
            # not count the dropped one).
            data, ts8 = s.exchange(3)
            r = check_reply_seq(s, data, ts8, f"{what} after the tampered one")
            eq(r["seq"], 3, f"{what}: reflector Sequence Number after a dropped packet")
        s.c.stop()
        return tampered
    finally:
        s.close()


def check_reply_seq(s, data, ts8, what):
    check(data is not None, f"{what}: no reply")
    try:
        return A.open_twamp_reflector(s.mode, s.aes, s.hk, data)
    except A.IntegrityError:
        raise Failure(f"{what}: the reply's HMAC does not verify")


@L.case
def auth_raw_client_authenticated(lab):
    """auth_ref.py's client in authenticated mode: Set-Up-Response with KeyID alice and a
    Token under PBKDF2(secret, Salt, Count); Server-Start, Accept-Session and Start-Ack decrypt
    and their HMACs verify (the Server-Start block counted into Accept-Session's); test packets
    of 112 octets (48 + 64 padding) are answered with 112-octet replies whose first block
    decrypts (AES-ECB, test key from the SID) and whose HMAC verifies; a packet with a bad HMAC
    gets no reply and counts as hmac_failed."""
    start(lab)
    n = raw_session(lab, A.MODE_AUTHENTICATED, "authenticated")
    s = lab.release()
    eq(s["drops"].get("hmac_failed", 0), n, "hmac_failed drops in the exit summary")


@L.case
def auth_raw_client_encrypted(lab):
    """The same in encrypted mode: the replies' 96 octets AES-CBC (IV 0) with the test key,
    the HMAC over their plaintext; a bad HMAC is dropped as hmac_failed. Over IPv6 too."""
    start(lab)
    n = raw_session(lab, A.MODE_ENCRYPTED, "encrypted")
    s = Session(A.MODE_ENCRYPTED, host=B6)
    try:
        s.request()
        eq(s.c.start(), 0, "encrypted IPv6: Start-Ack")
        data, ts8 = s.exchange(0)
        check_reply(s, data, 0, ts8, "encrypted IPv6")
    finally:
        s.close()
    s = lab.release()
    eq(s["drops"].get("hmac_failed", 0), n, "hmac_failed drops in the exit summary")


@L.case
def auth_raw_client_mixed(lab):
    """Mixed mode (RFC 5618): the control conversation is encrypted as in encrypted mode, the
    test packets are the unauthenticated 14-octet + padding ones, answered with the 41-octet
    layout in clear."""
    start(lab)
    s = Session(A.MODE_MIXED, padding=27)
    try:
        eq(s.accept, 0, "mixed: Server-Start Accept")
        s.request()
        eq(s.c.start(), 0, "mixed: Start-Ack")
        for seq in range(3):
            data, ts8 = s.exchange(seq)
            check_reply(s, data, seq, ts8, f"mixed packet {seq}")
    finally:
        s.close()
    lab.release()


@L.case
def auth_raw_client_refused(lab):
    """A Token made with the wrong secret (encrypted mode), and a KeyID the key file does not
    have (authenticated mode), are refused: Server-Start Accept is not 0 (or the server closes
    without one), no session; the control auth-failure metric counts them (bad_token,
    unknown_key_id)."""
    start(lab)
    for what, mode, key_id, secret in (
            ("wrong secret", A.MODE_ENCRYPTED, b"alice", WRONG["alice"]),
            ("unknown KeyID", A.MODE_AUTHENTICATED, b"mallory", SECRETS["alice"])):
        c = A.ControlClient(mode, key_id, secret)
        try:
            acc = c.connect(B4, 862, timeout=60)
            check(acc != 0, f"{what}: Server-Start Accept {acc}, expected a refusal")
        except (ConnectionError, OSError):
            pass  # closed without a Server-Start: also a refusal
        finally:
            c.close()
    eq(metric(lab, "twamp_reflector_control_auth_failures_total", reason="bad_token"), 1,
       "auth failures bad_token")
    eq(metric(lab, "twamp_reflector_control_auth_failures_total", reason="unknown_key_id"), 1,
       "auth failures unknown_key_id")
    lab.release()


# ---------------------------------------------------------------------------------------------
# twamp-ping against the box.

@L.case
def auth_twamp_ping_modes(lab):
    """twamp-ping --mode twamp --auth open / authenticated / encrypted / mixed against the box:
    every request answered, no integrity failure; the replies are 112 octets in authenticated
    and encrypted modes (the default -s 112), 41 in open and mixed."""
    start(lab)
    keys = key_file(lab, "ping.pfs", SECRETS)
    for auth, size in (("open", 41), ("mixed", 41), ("authenticated", 112),
                       ("encrypted", 112)):
        opts = ["--mode", "twamp", "-c", 5, "-i", 0.05, "--auth", auth]
        if auth != "open":
            opts += ["--key-file", keys, "--key-id", "alice"]
        rc, replies, others, summ = L.twamp_ping(lab, B4, *opts)
        eq(rc, 0, f"--auth {auth}: exit status ({others})")
        eq(summ["received"], 5, f"--auth {auth}: replies")
        eq(len(replies), 5, f"--auth {auth}: reply lines")
        for r in replies:
            eq(r["octets"], size, f"--auth {auth}: reply octets")
        if auth != "open":
            eq(summ.get("integrity_failures"), 0, f"--auth {auth}: integrity failures")
            eq(summ.get("auth"), auth, f"--auth {auth}: summary auth")
    lab.release()


@L.case
def auth_twamp_ping_wrong_key(lab):
    """twamp-ping --auth encrypted with the wrong secret: the server refuses the Token, exit 1
    with a message naming the refusal; nothing is sent."""
    start(lab)
    keys = key_file(lab, "wrong.pfs", WRONG)
    p = L.run(L.ping_cmd(lab, B4, "--mode", "twamp", "-c", 2, "--auth", "encrypted",
                         "--key-file", keys, "--key-id", "alice"), check_rc=False, timeout=60)
    eq(p.returncode, 1, f"exit status (stderr {p.stderr.decode(errors='replace')!r})")
    lab.release()


# ---------------------------------------------------------------------------------------------
# Authenticated STAMP.

def stamp_exchange(payload, port=STAMP_AUTH, timeout=5.0, host=B4):
    u = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("", 0))
        u.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
        u.sendto(payload, (host, port))
        u.settimeout(timeout)
        try:
            return u.recvfrom(4096)[0]
        except socket.timeout:
            return None
    finally:
        u.close()


@L.case
def auth_stamp_python(lab):
    """112-octet authenticated STAMP packets built by auth_ref.py: with alice's key (the
    reflector's key-id) the reply is 112 octets, its HMAC-SHA-256/128 verifies with that key and
    its fields are ours; with bob's key under SSID 7 (ssid-keys) likewise; with the wrong key
    there is no reply and hmac_failed moves; a 44-octet packet is dropped as auth_truncated."""
    start(lab, stamp_auth=True)
    key = SECRETS["alice"]
    for seq in range(3):
        ts8 = A.ntp_bytes()
        data = stamp_exchange(A.stamp_sender_auth(key, seq, ts8, 0x0001, ssid=1))
        check(data is not None, f"no reply to authenticated STAMP packet {seq}")
        eq(len(data), 112, "authenticated STAMP reply length")
        check(A.verify_stamp_auth(key, data), f"the reply's HMAC does not verify: {data.hex()}")
        r = A.parse_stamp_reflector_auth(data)
        eq((r["sender_seq"], r["sender_ts"], r["ssid"], r["sender_ttl"]), (seq, ts8, 1, 255),
           "sender seq, timestamp, SSID, TTL")
    ts8 = A.ntp_bytes()
    data = stamp_exchange(A.stamp_sender_auth(SECRETS["bob"], 0, ts8, 0x0001, ssid=SSID_BOB))
    check(data is not None and A.verify_stamp_auth(SECRETS["bob"], data),
          "SSID 7 with bob's key (ssid-keys): no verified reply")
    bad = stamp_exchange(A.stamp_sender_auth(WRONG["alice"], 9, A.ntp_bytes(), 1, ssid=1),
                         timeout=1.0)
    check(bad is None, "a reply to a packet with the wrong key")
    bad = stamp_exchange(A.stamp_sender_auth(key, 9, A.ntp_bytes(), 1, ssid=SSID_BOB),
                         timeout=1.0)
    check(bad is None, "a reply to SSID 7 under alice's key (bob's is that SSID's)")
    short = struct.pack("!I", 0) + A.ntp_bytes() + struct.pack("!HH", 1, 1) + bytes(28)
    check(stamp_exchange(short, timeout=1.0) is None, "a reply to a 44-octet packet")
    s = lab.release()
    eq(s["drops"].get("hmac_failed", 0), 2, "hmac_failed drops")
    eq(s["drops"].get("auth_truncated", 0), 1, "auth_truncated drops")


@L.case
def auth_stamp_hmac_tlv(lab):
    """The HMAC TLV (RFC 8972 §4.8) on the authenticated reflector: with a good one after a
    Class of Service TLV, the reply carries an HMAC TLV that verifies over its Sequence Number
    and TLVs, no I flag; with a bad one the reply still comes (its base HMAC verifying), every
    TLV flagged I; and the HMAC TLV failure metric moves by one."""
    start(lab, stamp_auth=True)
    key = SECRETS["alice"]
    cos = A.tlv(4, bytes([0, 0, 0, 0]), flags=0x80)

    def request(seq, good=True):
        base = A.stamp_sender_auth(key, seq, A.ntp_bytes(), 1, ssid=1)
        h = A.hmac_tlv(key, base[:4], cos, flags=0x80)
        if not good:
            h = h[:-1] + bytes([h[-1] ^ 1])
        return base + cos + h

    data = stamp_exchange(request(0))
    check(data is not None, "no reply to a request with a good HMAC TLV")
    check(A.verify_stamp_auth(key, data), "reply base HMAC")
    eq(A.verify_hmac_tlv(key, data, 112), True, "the reply's HMAC TLV verifies")
    tl = A.split_tlvs(data[112:])
    eq([t[2] for t in tl], [4, 8], "reply TLV types")
    check(all(not (t[1] & 0x20) for t in tl), f"I flag on a good request: {tl}")
    data = stamp_exchange(request(1, good=False))
    check(data is not None, "no reply to a request with a bad HMAC TLV (it must still come)")
    check(A.verify_stamp_auth(key, data), "reply base HMAC (bad HMAC TLV)")
    tl = A.split_tlvs(data[112:])
    check(tl and all(t[1] & 0x20 for t in tl), f"not every TLV flagged I: {tl}")
    eq(metric(lab, "twamp_reflector_stamp_hmac_tlv_failures_total", reflector="stampauth"), 1,
       "HMAC TLV failures")
    lab.release()


@L.case
def auth_stamp_twamp_ping(lab):
    """twamp-ping --mode stamp --auth authenticated: every request answered and verified;
    with --tlv cos=0 --tlv hmac too (the reply's HMAC TLV verified); with the wrong secret no
    reply comes (exit 1) and nothing counts as received."""
    start(lab, stamp_auth=True)
    keys = key_file(lab, "ping.pfs", SECRETS)
    base = ["--mode", "stamp", "-c", 4, "-i", 0.05, "--auth", "authenticated",
            "--key-file", keys, "--key-id", "alice"]
    rc, replies, others, summ = L.twamp_ping(lab, f"{B4}:{STAMP_AUTH}", *base)
    eq((rc, summ["received"], summ["integrity_failures"]), (0, 4, 0),
       f"--auth authenticated: exit, received, integrity failures ({others})")
    check(all(r["octets"] == 112 for r in replies), "reply octets 112")
    rc, replies, others, summ = L.twamp_ping(lab, f"{B4}:{STAMP_AUTH}", *base,
                                             "--tlv", "cos=0", "--tlv", "hmac")
    eq((rc, summ["received"], summ["integrity_failures"]), (0, 4, 0),
       f"--tlv hmac: exit, received, integrity failures ({others})")
    tl = summ.get("tlvs", {})
    eq(tl.get("hmac", {}).get("i"), 0, f"HMAC TLV returned without I: {tl}")
    wrong = key_file(lab, "wrong.pfs", WRONG)
    rc, replies, others, summ = L.twamp_ping(
        lab, f"{B4}:{STAMP_AUTH}", "--mode", "stamp", "-c", 2, "-i", 0.05, "-W", 0.5,
        "--auth", "authenticated", "--key-file", wrong, "--key-id", "alice")
    eq((rc, summ["received"]), (1, 0), "wrong key: exit status, received")
    s = lab.release()
    eq(s["drops"].get("hmac_failed", 0), 2, "hmac_failed drops (the wrong key's two packets)")


# ---------------------------------------------------------------------------------------------
# tshark

@L.case
def auth_tshark_modes(lab):
    """tshark decodes the control connection of an authenticated session (auth_ref.py's
    client): the Server-Greeting's Modes (15: all four), the Set-Up-Response's Mode (2, the one
    chosen) and the Server-Start's Accept 0; what follows is encrypted."""
    start(lab)
    fields = ["twamp.control.modes", "twamp.control.mode", "twamp.control.accept"]
    with L.ControlCapture(lab, fields) as cap:
        s = Session(A.MODE_AUTHENTICATED)
        eq(s.accept, 0, "Server-Start Accept")
        s.close()

        def decoded():
            cr = cap.rows()
            return any(r[0] for r in cr) and any(r[1] for r in cr) and any(r[2] for r in cr)
        try:
            cap.wait("tshark to decode the greeting, Set-Up-Response and Server-Start", decoded,
                     60)
        except Failure:
            pass  # reported below
    cr = cap.rows()
    out = "\n".join("\t".join(r) for r in cr)

    def num(v):
        return int(v, 0) if v else None
    check([num(r[0]) for r in cr if r[0]] == [MODES_ALL],
          f"Server-Greeting Modes not {MODES_ALL}:\n{out}")
    check([num(r[1]) for r in cr if r[1]] == [A.MODE_AUTHENTICATED],
          f"Set-Up-Response Mode not {A.MODE_AUTHENTICATED}:\n{out}")
    check(any(r[2] == "0" for r in cr), f"no Server-Start Accept 0 decoded:\n{out}")
    lab.release()


if __name__ == "__main__":
    sys.exit(L.main([c for c in L.CASES if c[0].startswith("auth_")],
                    suite="auth", doc=__doc__))
