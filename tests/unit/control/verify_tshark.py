#!/usr/bin/python3
"""Checks our TWAMP-Control bytes with an independent decoder: tshark's TWAMP-Control dissector.

  verify_tshark.py --tool BUILD/tests/unit/control/control_dump

For each case, control_dump runs one conversation through client_connection and
server_connection and prints its messages; this script puts each message in a TCP segment of
a synthesized connection (scapy: handshake, data, FIN; client port -> 862), writes a pcap, and
reads it back with tshark. The dissector follows the RFC 5357 sequence (Server-Greeting,
Set-Up-Response, Server-Start, Request-TW-Session, Accept-Session, Start-Sessions, Start-Ack,
Stop-Sessions), so the Info column must name each message in order and the decoded fields must
be the values the case asked for (modes, mode, accept, ports, IP version, padding, Type-P,
timeout, number of sessions, Server-Start time).
Exit status: 0 all good, 1 a mismatch, 77 tshark or scapy not installed (meson: skipped).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

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


FIELDS = [
    "frame.number", "tcp.srcport", "_ws.col.Info", "twamp.control.command",
    "twamp.control.modes", "twamp.control.mode", "twamp.control.count", "twamp.control.accept",
    "twamp.control.sender_port", "twamp.control.receiver_port", "twamp.control.ipvn",
    "twamp.control.padding_length", "twamp.control.type-p", "twamp.control.timeout",
    "twamp.control.numsessions", "twamp.control.server_uptime", "twamp.control.sender_ipv4",
    "twamp.control.receiver_ipv4", "twamp.control.sender_ipv6", "twamp.control.receiver_ipv6",
]


def dump(tool, args):
    out = subprocess.run([tool] + args, check=True, stdout=subprocess.PIPE).stdout.decode()
    msgs = []
    for line in out.splitlines():
        who, hexdata = line.split()
        msgs.append((who, bytes.fromhex(hexdata)))
    return msgs


def write_pcap(msgs, v6, path):
    from scapy.all import IP, IPv6, TCP, Ether, Raw, wrpcap
    cli, srv = ("2001:2::1", "2001:2::2") if v6 else ("198.18.0.1", "198.18.0.2")
    l3 = IPv6 if v6 else IP
    cmac, smac = "02:00:00:00:00:01", "02:00:00:00:00:02"
    cport, sport = 40862, 862
    cseq, sseq = 1000, 5000
    t = 1700000000.0
    pkts = []

    def add(src_is_client, flags, payload=b""):
        nonlocal cseq, sseq, t
        if src_is_client:
            ip = l3(src=cli, dst=srv)
            tcp = TCP(sport=cport, dport=sport, flags=flags, seq=cseq,
                      ack=sseq if "A" in flags else 0)
            p = Ether(src=cmac, dst=smac) / ip / tcp
        else:
            ip = l3(src=srv, dst=cli)
            tcp = TCP(sport=sport, dport=cport, flags=flags, seq=sseq, ack=cseq)
            p = Ether(src=smac, dst=cmac) / ip / tcp
        if payload:
            p = p / Raw(payload)
        p.time = t
        t += 0.001
        pkts.append(p)
        n = len(payload) + (1 if ("S" in flags or "F" in flags) else 0)
        if src_is_client:
            cseq += n
        else:
            sseq += n

    add(True, "S")
    cseq_syn = cseq
    add(False, "SA")
    add(True, "A")
    assert cseq_syn == cseq
    for who, data in msgs:
        add(who == "C", "PA", data)
    add(True, "FA")
    add(False, "FA")
    add(True, "A")
    wrpcap(path, pkts)


def decode(path):
    cmd = ["tshark", "-n", "-r", path, "-Y", "tcp.len > 0", "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=f"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout.decode()
    rows = []
    for line in out.splitlines():
        vals = line.split("\t")
        rows.append(dict(zip(FIELDS, vals + [""] * (len(FIELDS) - len(vals)))))
    return rows


INFO = ["Server Greeting", "Setup Response", "Server Start", "Request Session",
        "Accept Session", "Start Sessions", "Start Sessions ACK", "Stop Session"]


def run_case(tool, tmp, name, args, expect):
    msgs = dump(tool, args)
    if len(msgs) > 3:
        expect["request"] = msgs[3][1]
    path = os.path.join(tmp, name + ".pcap")
    write_pcap(msgs, "--v6" in args, path)
    rows = decode(path)
    if not eq(len(rows), len(expect["info"]), name + ": messages decoded"):
        return
    for i, (row, info) in enumerate(zip(rows, expect["info"])):
        check(row["_ws.col.Info"].startswith(info),
              "%s: message %d Info %r, want %r" % (name, i, row["_ws.col.Info"], info))
        eq(row["tcp.srcport"], "862" if i % 2 == 0 else "40862", "%s: message %d direction"
           % (name, i))
    g = rows[0]
    eq(g["twamp.control.modes"], str(expect["modes"]), name + ": Server-Greeting Modes")
    eq(g["twamp.control.count"], "1024", name + ": Server-Greeting Count")
    eq(rows[1]["twamp.control.mode"], str(expect["mode"]), name + ": Set-Up-Response Mode")
    if len(rows) < 4:
        return
    eq(rows[2]["twamp.control.accept"], "0", name + ": Server-Start Accept")
    # Server start time: one hour before the conversation's "now" (1700000000 s).
    check("2023" in rows[2]["twamp.control.server_uptime"],
          "%s: Server-Start time %r" % (name, rows[2]["twamp.control.server_uptime"]))
    r = rows[3]
    eq(r["twamp.control.command"], "5", name + ": Request-TW-Session command")
    eq(r["twamp.control.ipvn"], expect["ipvn"], name + ": IPVN")
    eq(r["twamp.control.sender_port"], expect["sender_port"], name + ": Sender Port")
    eq(r["twamp.control.receiver_port"], expect["requested_port"], name + ": Receiver Port")
    eq(r["twamp.control.padding_length"], expect["padding"], name + ": Padding Length")
    eq(r["twamp.control.type-p"], expect["type_p"], name + ": Type-P Descriptor")
    # Wireshark 4.0 turns the Timeout fraction into nanoseconds by dividing by 4294.967296
    # (that gives microseconds): compare with what that formula makes of the NTP value we
    # meant, and check the raw field (octets 76..83) against the NTP value itself.
    sec, frac = expect["timeout_ntp"] >> 32, expect["timeout_ntp"] & 0xffffffff
    eq(r["twamp.control.timeout"], "%d.%09d" % (sec, int(frac / 4294.967296)),
       name + ": Timeout as Wireshark decodes it")
    eq(int.from_bytes(expect["request"][76:84], "big"), expect["timeout_ntp"],
       name + ": Timeout octets (NTP seconds.fraction)")
    if expect["ipvn"] == "6":
        eq(r["twamp.control.sender_ipv6"], "::", name + ": sender address (zero: control's)")
    else:
        eq(r["twamp.control.sender_ipv4"], "0.0.0.0", name + ": sender address (zero)")
    a = rows[4]
    eq(a["twamp.control.accept"], expect["accept"], name + ": Accept-Session Accept")
    eq(a["twamp.control.receiver_port"], expect["port"], name + ": Accept-Session Port")
    eq(rows[5]["twamp.control.command"], "2", name + ": Start-Sessions command")
    eq(rows[6]["twamp.control.accept"], expect["start_accept"], name + ": Start-Ack Accept")
    if len(rows) > 7:
        eq(rows[7]["twamp.control.command"], "3", name + ": Stop-Sessions command")
        eq(rows[7]["twamp.control.numsessions"], "1", name + ": Stop-Sessions Number of Sessions")
        eq(rows[7]["twamp.control.accept"], "0", name + ": Stop-Sessions Accept")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    args = ap.parse_args()
    if shutil.which("tshark") is None:
        print("tshark not found: skipped")
        return 77
    try:
        import scapy.all  # noqa: F401
    except ImportError:
        print("scapy not found: skipped")
        return 77
    cases = [
        # Every feature offered, the client wants none: Mode 1. The requested port is free.
        ("ipv4_requested_port",
         ["--modes", "0x71", "--sender-port", "40000", "--receiver-port", "64366", "--dscp", "46",
          "--padding", "100", "--timeout-ms", "2500"],
         dict(info=INFO, modes=0x71, mode=1, ipvn="4", sender_port="40000",
              requested_port="64366", padding="100", type_p="0x2e000000",
              timeout_ntp=(2 << 32) | 0x80000000, accept="0", port="64366", start_accept="0")),
        # IPv6, reflect octets negotiated, a requested port outside receiver-ports: the first
        # of the range.
        ("ipv6_port_from_range",
         ["--v6", "--modes", "0x21", "--want", "0x20", "--sender-port", "50001",
          "--receiver-port", "862", "--padding", "27", "--timeout-ms", "1000"],
         dict(info=INFO, modes=0x21, mode=0x21, ipvn="6", sender_port="50001",
              requested_port="862", padding="27", type_p="0x00000000",
              timeout_ntp=1 << 32, accept="0", port="64364", start_accept="0")),
        # No session allowed: Accept-Session 4 (permanent limitation), then Start-Sessions
        # without a session: Start-Ack 1 and the server closes.
        ("refused_session",
         ["--max-sessions", "0", "--receiver-port", "64364", "--padding", "0"],
         dict(info=INFO[:7], modes=1, mode=1, ipvn="4", sender_port="40000",
              requested_port="64364", padding="0", type_p="0x00000000",
              timeout_ntp=2 << 32, accept="4", port="0", start_accept="1")),
        # A server refusing the connection: Modes 0, and the client's Mode 0.
        ("refused_connection", ["--modes", "0"],
         dict(info=INFO[:2], modes=0, mode=0)),
    ]
    with tempfile.TemporaryDirectory(prefix="twamp-control-") as tmp:
        for name, cargs, expect in cases:
            run_case(args.tool, tmp, name, cargs, expect)
    for f in failures:
        print("FAIL:", f)
    print("%d checks, %d failed" % (checks, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
