#!/usr/bin/python3
"""Integration tests of what an operator's systemd and log see (issue 19 items 1 and 3), on the
real dpdk-twamp in the namespace lab:

- the service notification protocol (Type=notify) through a test-owned NOTIFY_SOCKET (this
  machine's PID 1 is not systemd): READY=1 only once the box reflects (a test packet sent right
  after it is answered), RELOADING=1 then READY=1 with STATUS= the reload's outcome (applied,
  rejected), STOPPING=1 on SIGTERM; and without an EAL --log-level, none of EAL's and the TAP
  driver's start-up noise;
- the event lines on stderr (not under systemd: JOURNAL_STREAM unset): a refused TWAMP-Control
  connection with its Accept code, reason and peer (address:port as the client's socket has
  it), a flood of refusals giving a bounded number of lines plus a "log.suppressed" line whose
  count makes up the rest exactly, each reload's outcome, the wire's link down and up;
- under systemd's convention (JOURNAL_STREAM naming stderr) the same events at journald's socket
  (a stand-in the test binds, mounted in the box's own mount namespace) with PRIORITY,
  SYSLOG_IDENTIFIER, TWAMP_EVENT and the fields, and not on stderr; DPDK's own lines on stderr
  with journald's "<N>" priority prefix (the box's rte_openlog_stream, not EAL's syslog one);
- DPDK's lines never reach syslog(3) (strace: no connect(2) to /dev/log per line);
- a log nobody reads (stderr to a full pipe) never stops the slow path: a flood of refusals is
  still served, ping answered, SIGTERM obeyed, the lines dropped said in a log.dropped line;
- the box confined as the unit confines it where that works without systemd: its
  CapabilityBoundingSet= and no_new_privs (setpriv), its SystemCallFilter= (expanded by
  systemd-analyze, loaded with libseccomp) and MemoryDenyWriteExecute= (PR_SET_MDWE).

    tests/integration/systemd_tests.py --binary build/src/app/dpdk-twamp --source-root .
        [--case NAME]... [--keep] [--list] [--gtest_output=json:PATH|xml:PATH]

The lab and the harness are lab_tests.py's, the configs ops_tests.py's and control_tests.py's
(imported). Tests wait for events (a datagram, a log line), never for wall-clock budgets.
Addresses only from 198.18.0.0/15 and 2001:2::/48.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import control_tests as C  # noqa: E402
import lab_tests as L  # noqa: E402
import ops_tests as O  # noqa: E402
from lab_tests import B4, S4, Failure, Peer, check, eq, wait_for  # noqa: E402

CASES = []


def case(fn):
    CASES.append((fn.__name__, fn))
    return fn


class Notify:
    """An AF_UNIX datagram socket standing in for systemd's notification socket."""

    def __init__(self, lab):
        self.path = os.path.join(lab.workdir, f"notify-{lab.instances + 1}.sock")
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(self.path)
        self.got = []  # every message, as {VAR: value}

    def next(self, what, proc, timeout=60.0):
        """The next message (a dict); fails if none comes within `timeout` or `proc` exits."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.s.settimeout(0.2)
            try:
                data = self.s.recv(4096)
            except socket.timeout:
                if proc.poll() is not None:
                    raise Failure(f"{what}: dpdk-twamp exited ({proc.returncode}) first")
                continue
            msg = dict(ln.split("=", 1) for ln in data.decode().splitlines() if "=" in ln)
            self.got.append(msg)
            return msg
        raise Failure(f"{what}: no notification within {timeout} s (so far {self.got})")

    def close(self):
        self.s.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def events(text, kind, level=None):
    """The event lines of `kind` (stderr format: 'dpdk-twamp: LEVEL: KIND ...')."""
    lv = re.escape(level) if level else r"\w+"
    return re.findall(rf"^dpdk-twamp: {lv}: {re.escape(kind)}(?: .*)?$", text, re.M)


def field(line, key):
    m = re.search(rf" {re.escape(key)}=(\"(?:[^\"\\\\]|\\\\.)*\"|[^ :]+(?::\d+)?)", line)
    return m[1] if m else None


def stop_shared_dut(lab):
    """The case starts a dpdk-twamp of its own: the shared one (if any) stops first."""
    if lab.dut is not None:
        old, lab.dut = lab.dut, None
        old.stop_checked()


def own_ops_dut(lab):
    """A dpdk-twamp of the case's own (not started) on ops_tests' config."""
    stop_shared_dut(lab)
    path = os.path.join(lab.workdir, f"ops-{lab.instances + 1}.conf")
    O.write_file(path, O.ops_conf(lab))
    return L.Dut(lab, conf=path, n_reflectors=len(O.REFLECTORS))


@case
def systemd_notify(lab):
    """NOTIFY_SOCKET set: READY=1 (STATUS= 'running: ...') after the ports are up and the
    workers run: a test packet sent right after it is reflected. A good SIGHUP: RELOADING=1,
    then READY=1 with STATUS 'reload applied: 1 change'; a file with an error: RELOADING=1,
    READY=1 with STATUS 'reload rejected: FILE:LINE: ...'; a `reload` event line for each
    (notice / err). SIGTERM: STOPPING=1. No EAL --log-level given: EAL's info lines and the TAP
    driver's notes are not shown."""
    d = own_ops_dut(lab)
    path = d.conf
    d.cmd = [a for a in d.cmd if not a.startswith("--log-level")]
    n = Notify(lab)
    try:
        env = dict(os.environ, NOTIFY_SOCKET=n.path)
        env.pop("JOURNAL_STREAM", None)
        d.logf = open(d.log_path, "w")
        d.proc = subprocess.Popen(d.cmd, stdin=subprocess.DEVNULL, stdout=d.logf,
                                  stderr=subprocess.STDOUT, preexec_fn=L.pdeathsig, env=env)
        lab.record_pid()
        lab.dut = d
        msg = n.next("READY=1 at start\n" + d.tail(), d.proc)
        eq(msg.get("READY"), "1", f"first notification {msg}")
        check(msg.get("STATUS", "").startswith("running: 1 worker, 1 port, 5 reflectors"),
              f"READY's STATUS: {msg}")
        with Peer(False, lab.port()) as p:
            data, *_ = p.exchange(L.twamp_request(0), O.ALPHA, "right after READY=1")
            eq(L.parse_reply(data).seq, 0, "reflector seq of the first packet after READY")
            log = d.log()
            check(re.search(r"^dpdk-twamp \S+: 1 worker", log, re.M),
                  "the start-up summary is there\n" + d.tail())
            for noise in (r"^EAL: Detected", r"Disabling rte flow support", r"tap_mp_req_on_rxtx",
                          r"Failed to send start req"):
                check(not re.search(noise, log, re.M),
                      f"start-up noise /{noise}/ shown without --log-level\n" + d.tail())

            # A good reload (alpha gains a port).
            O.write_file(path, O.ops_conf(lab, alpha_ports=(O.ALPHA, 64380)))
            os.kill(d.proc.pid, signal.SIGHUP)
            msg = n.next("RELOADING=1 for a good file\n" + d.tail(), d.proc)
            eq(msg.get("RELOADING"), "1", f"notification after SIGHUP: {msg}")
            check(msg.get("MONOTONIC_USEC", "").isdigit(), f"RELOADING's MONOTONIC_USEC: {msg}")
            msg = n.next("READY=1 after the good reload\n" + d.tail(), d.proc)
            eq(msg.get("READY"), "1", f"notification after the reload: {msg}")
            eq(msg.get("STATUS"), "reload applied: 1 change", "STATUS of the good reload")
            # Applied means every worker sees it: the new port answers now.
            data, *_ = p.exchange(L.twamp_request(0), 64380, "the reload's new port")
            wait_for("the reload event line\n" + d.tail(),
                     lambda: events(d.log(), "reload", "notice"), 10)
            ln = events(d.log(), "reload", "notice")[0]
            eq(field(ln, "result"), "applied", f"reload event {ln!r}")
            eq(field(ln, "seq"), "1", f"reload event {ln!r}")

            # A file with an error: rejected, said in STATUS and as an err event.
            bad = O.ops_conf(lab)
            bad.insert(7, '  { name = = "broken"; },')
            O.write_file(path, bad)
            os.kill(d.proc.pid, signal.SIGHUP)
            msg = n.next("RELOADING=1 for a bad file\n" + d.tail(), d.proc)
            eq(msg.get("RELOADING"), "1", f"notification after the second SIGHUP: {msg}")
            msg = n.next("READY=1 after the rejected reload\n" + d.tail(), d.proc)
            eq(msg.get("READY"), "1", f"notification after the rejected reload: {msg}")
            check(msg.get("STATUS", "").startswith(f"reload rejected: {path}:8:"),
                  f"STATUS of the rejected reload names {path}:8: {msg}")
            wait_for("the rejected reload's err event line\n" + d.tail(),
                     lambda: events(d.log(), "reload", "err"), 10)
            ln = events(d.log(), "reload", "err")[0]
            eq(field(ln, "result"), "rejected", f"reload event {ln!r}")
            check(f"reload rejected: {path}:8:" in ln, f"reload event names the line: {ln!r}")
            # Still serving the running config.
            data, *_ = p.exchange(L.twamp_request(1), O.ALPHA, "after the rejected reload")
            eq(L.parse_reply(data).seq, 1, "reflector seq after the rejected reload")
        lab.dut = None
        d.proc.send_signal(signal.SIGTERM)
        msg = n.next("STOPPING=1 on SIGTERM\n" + d.tail(), d.proc)
        eq(msg.get("STOPPING"), "1", f"notification after SIGTERM: {msg}")
        rc, s = d.stop()
        eq(rc, 0, "exit status after SIGTERM\n" + d.tail())
        check(s is not None and s["mbufs_in_use"] == 0, "exit summary, no mbuf leaked")
        eq([sorted(m) for m in n.got],
           [["READY", "STATUS"], ["MONOTONIC_USEC", "RELOADING", "STATUS"], ["READY", "STATUS"],
            ["MONOTONIC_USEC", "RELOADING", "STATUS"], ["READY", "STATUS"],
            ["STATUS", "STOPPING"]], "every notification, in order")
    finally:
        n.close()


def journal_fields(data):
    """The fields of one datagram of journald's native protocol (KEY=value lines, or KEY, a
    newline, a 64-bit little-endian length and the value for values with a newline)."""
    out, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            out[k.decode()] = v.decode(errors="replace")
            i = nl + 1
        else:
            n = int.from_bytes(data[nl + 1:nl + 9], "little")
            out[line.decode()] = data[nl + 9:nl + 9 + n].decode(errors="replace")
            i = nl + 9 + n + 1
    return out


@case
def events_to_journald(lab):
    """Under systemd's convention (JOURNAL_STREAM naming the box's stderr, device:inode) the
    events go to journald's socket, not to stderr: a stand-in journal socket the test binds,
    mounted at /run/systemd/journal/socket in a mount namespace of the box's own, receives the
    first link reading (PRIORITY=6, SYSLOG_IDENTIFIER=dpdk-twamp, TWAMP_EVENT=link.up,
    TWAMP_PORT=wire0) and a rejected reload (PRIORITY=3, TWAMP_EVENT=reload,
    TWAMP_RESULT=rejected, MESSAGE naming FILE:LINE); stderr has neither line."""
    d = own_ops_dut(lab)
    path = d.conf
    jdir = os.path.join(lab.workdir, f"journal-{lab.instances}")
    os.makedirs(jdir)
    js = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    js.bind(os.path.join(jdir, "socket"))
    got = []

    def datagrams():
        js.setblocking(False)
        while True:
            try:
                got.append(journal_fields(js.recv(65536)))
            except BlockingIOError:
                return got

    def find(**want):
        return [m for m in datagrams() if all(m.get(k) == v for k, v in want.items())]
    try:
        # The box's own mount namespace: journald's socket directory is the test's.
        d.cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                 'mount -t tmpfs none /run/systemd && mkdir /run/systemd/journal && '
                 'mount --bind "$0" /run/systemd/journal && exec "$@"', jdir] + d.cmd
        d.logf = open(d.log_path, "w")
        st = os.fstat(d.logf.fileno())
        env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
        env.pop("NOTIFY_SOCKET", None)
        d.proc = subprocess.Popen(d.cmd, stdin=subprocess.DEVNULL, stdout=d.logf,
                                  stderr=subprocess.STDOUT, preexec_fn=L.pdeathsig, env=env)
        lab.record_pid()
        lab.dut = d
        wait_for("the first link.up event at the journal socket\n" + d.tail(),
                 lambda: find(TWAMP_EVENT="link.up"), 60)
        m = find(TWAMP_EVENT="link.up")[0]
        eq(m.get("PRIORITY"), "6", f"link.up's PRIORITY: {m}")
        eq(m.get("SYSLOG_IDENTIFIER"), "dpdk-twamp", f"link.up's SYSLOG_IDENTIFIER: {m}")
        eq(m.get("TWAMP_PORT"), "wire0", f"link.up's TWAMP_PORT: {m}")
        eq(m.get("TWAMP_CHANGES"), "0", f"link.up's TWAMP_CHANGES: {m}")
        eq(m.get("MESSAGE"), "port wire0: link up", f"link.up's MESSAGE: {m}")
        bad = O.ops_conf(lab)
        bad.insert(7, '  { name = = "broken"; },')
        O.write_file(path, bad)
        os.kill(d.proc.pid, signal.SIGHUP)
        wait_for("the rejected reload's event at the journal socket\n" + d.tail(),
                 lambda: find(TWAMP_EVENT="reload"), 30)
        m = find(TWAMP_EVENT="reload")[0]
        eq(m.get("PRIORITY"), "3", f"reload's PRIORITY: {m}")
        eq(m.get("TWAMP_RESULT"), "rejected", f"reload's TWAMP_RESULT: {m}")
        check(m.get("MESSAGE", "").startswith(f"reload rejected: {path}:8:"),
              f"reload's MESSAGE names {path}:8: {m}")
        log = d.log()
        check(not events(log, "link.up") and not events(log, "reload"),
              "event lines on stderr although it is the journal's stream\n" + d.tail())
        # DPDK's own lines through the box's stream (rte_openlog_stream), not EAL's default
        # (stdout and syslog(3)): once, on stderr, with journald's "<N>" priority prefix.
        check(re.search(r"^<[34]>TWAMP: reload rejected, running config kept", log, re.M),
              "DPDK's log line of the reload not on stderr with a <3>/<4> prefix\n" + d.tail())
        check(not re.search(r"^TWAMP: ", log, re.M),
              "a DPDK log line without its priority prefix under JOURNAL_STREAM\n" + d.tail())
        with Peer(False, lab.port()) as p:
            data, *_ = p.exchange(L.twamp_request(0), O.ALPHA, "after the rejected reload")
    finally:
        js.close()
    lab.release()


def unit_capabilities():
    """The unit's CapabilityBoundingSet=, read from conf/dpdk-twamp.service.in."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf",
                       "dpdk-twamp.service.in")
    with open(src) as f:
        m = re.search(r"^CapabilityBoundingSet=(.*)$", f.read(), re.M)
    check(m, "the unit sets no CapabilityBoundingSet=")
    return [c.strip().lower().removeprefix("cap_") for c in m[1].split()]


def syscall_group(name, memo={}):
    """The system calls of a systemd syscall group (systemd-analyze syscall-filter), nested
    groups expanded."""
    if name not in memo:
        out = L.run(["systemd-analyze", "syscall-filter", name]).stdout.decode()
        calls = set()
        for ln in out.splitlines()[1:]:
            t = ln.strip()
            if not t or t.startswith("#"):
                continue
            calls |= syscall_group(t) if t.startswith("@") else {t}
        memo[name] = calls
    return memo[name]


def unit_syscalls():
    """The allow list the unit's SystemCallFilter= lines make, in systemd's order: the first
    positive list is the allow list, a '~' line removes, a later positive line adds."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf",
                       "dpdk-twamp.service.in")
    with open(src) as f:
        lines = re.findall(r"^SystemCallFilter=(.*)$", f.read(), re.M)
    check(lines and not lines[0].startswith("~"), "the unit has no SystemCallFilter= allow list")
    allow = set()
    for v in lines:
        deny = v.startswith("~")
        for t in v.lstrip("~").split():
            calls = syscall_group(t) if t.startswith("@") else {t}
            allow = allow - calls if deny else allow | calls
    return allow


# Runs argv[2:] under a seccomp filter allowing only the system calls listed in argv[1] (others
# fail with EPERM, as SystemCallErrorNumber=EPERM) and with memory that cannot become writable
# and executable (PR_SET_MDWE, Linux 6.3: MemoryDenyWriteExecute=; said and left out on older
# kernels).
SANDBOX = """
import ctypes, errno, os, sys, seccomp
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:
    if ctypes.get_errno() != errno.EINVAL:
        sys.exit("prctl(PR_SET_MDWE): errno %d" % ctypes.get_errno())
    print("sandbox: no PR_SET_MDWE before Linux 6.3: MemoryDenyWriteExecute not emulated",
          file=sys.stderr, flush=True)
f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(errno.EPERM))
for name in open(sys.argv[1]).read().split():
    try:
        f.add_rule(seccomp.ALLOW, name)
    except (ValueError, RuntimeError):
        pass  # not a system call of this architecture
f.load()
os.execv(sys.argv[2], sys.argv[2:])
"""


@case
def unit_sandbox_suffices(lab):
    """The box confined as the unit confines it, where that works without systemd: only the
    unit's CapabilityBoundingSet= (setpriv) with no_new_privs, its SystemCallFilter= (the
    groups expanded by systemd-analyze, loaded with libseccomp; other calls fail with EPERM)
    and MemoryDenyWriteExecute= (PR_SET_MDWE). It starts (af_packet port, TAP, the TWAMP-Control
    listener on 862, metrics), reflects, answers ping through the TAP and TWAMP-Control,
    reloads and stops cleanly. (The lab runs EAL without hugepages and PCI devices: VFIO is not
    exercised; the unit's device policy, read-only system and namespaces need systemd.)"""
    try:
        import seccomp  # noqa: F401  (python3-seccomp, in the box's sandbox below)
    except ImportError:
        raise Failure("python3-seccomp is not installed (scripts/setup.sh)") from None
    caps = unit_capabilities()
    allow = unit_syscalls()
    check("adjtimex" in allow and "capset" not in allow and "mount" not in allow,
          "the expanded filter is not the unit's (adjtimex in, capset and mount out)")
    allow_file = os.path.join(lab.workdir, "syscalls.txt")
    with open(allow_file, "w") as f:
        f.write("\n".join(sorted(allow)) + "\n")
    conf = C.control_conf(lab)
    d = L.Dut(lab, conf=conf)
    # After `ip netns exec` (which needs CAP_SYS_ADMIN and mount to enter the namespace).
    i = d.cmd.index(lab.binary)
    d.cmd = (d.cmd[:i] + ["setpriv", "--no-new-privs", "--bounding-set",
                          "-all," + ",".join("+" + c for c in caps), "--",
                          L.SYSTEM_PYTHON, "-c", SANDBOX, allow_file] + d.cmd[i:])
    stop_shared_dut(lab)
    lab.dut = d.start()
    with open(f"/proc/{d.proc.pid}/status") as f:
        st = f.read()
    bnd = int(re.search(r"^CapBnd:\s*([0-9a-f]+)$", st, re.M)[1], 16)
    eff = int(re.search(r"^CapEff:\s*([0-9a-f]+)$", st, re.M)[1], 16)
    eq(bin(bnd).count("1"), len(caps), f"the box's bounding set {bnd:#x} ({caps})")
    check(eff & ~bnd == 0, f"effective capabilities {eff:#x} beyond the bounding set {bnd:#x}")
    eq(re.search(r"^Seccomp:\s*(\d+)$", st, re.M)[1], "2", "the box runs under a seccomp filter")
    eq(re.search(r"^NoNewPrivs:\s*(\d+)$", st, re.M)[1], "1", "no_new_privs")
    with Peer(False, lab.port()) as p:
        p.exchange(L.twamp_request(0), 862, "TWAMP Light in the unit's sandbox")
    s, _ = control_connect()
    eq(greeting_modes(s), 1, "TWAMP-Control greeting in the unit's sandbox")
    s.close()
    os.kill(d.proc.pid, signal.SIGHUP)
    wait_for("the reload done\n" + d.tail(), lambda: events(d.log(), "reload", "notice"), 30)
    lab.release()


def control_connect(timeout=30.0):
    """A TCP connection to the box's TWAMP-Control port; (socket, its local port)."""
    s = socket.create_connection((B4, 862), timeout=timeout)
    return s, s.getsockname()[1]


def greeting_modes(s):
    g = b""
    while len(g) < 64:
        d = s.recv(64 - len(g))
        if not d:
            raise Failure(f"control connection closed after {len(g)} octets of the greeting")
        g += d
    return int.from_bytes(g[12:16], "big")


def wait_closed(s, what):
    s.settimeout(30)
    try:
        while s.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        raise Failure(f"{what}: not closed by the box within 30 s") from None


@case
def events_control_refused_flood(lab):
    """control.max-connections-per-source = 1: a first connection is accepted (a
    control.accepted line naming its peer), a second refused: 'dpdk-twamp: warning:
    control.refused peer=198.18.0.1:PORT accept=5 reason=max_connections_per_source: ...' with
    the client's own port. Then 300 more refused one after another: at most 20 (the burst) + 10
    a second (+1) control.refused lines and 'log.suppressed kind=control.refused suppressed=N'
    lines (once the kind is quiet for a second), the lines plus the Ns exactly the 301
    refusals. Closing the first
    gives control.closed reason=peer_closed."""
    d = C.start(lab, extra_keys=" max-connections-per-source = 1;")
    first, first_port = control_connect()
    eq(greeting_modes(first), 1, "the first connection's greeting Modes")
    wait_for("control.accepted line\n" + d.tail(),
             lambda: any(field(ln, "peer") == f"{S4}:{first_port}"
                         for ln in events(d.log(), "control.accepted", "info")), 10)
    s, port = control_connect()
    eq(greeting_modes(s), 0, "the second connection's greeting Modes (refused)")
    wait_closed(s, "the refused connection")
    s.close()
    wait_for("control.refused line\n" + d.tail(),
             lambda: events(d.log(), "control.refused", "warning"), 10)
    ln = events(d.log(), "control.refused", "warning")[0]
    eq(field(ln, "peer"), f"{S4}:{port}", f"refused line's peer {ln!r}")
    eq(field(ln, "accept"), "5", f"refused line's Accept code {ln!r}")
    eq(field(ln, "reason"), "max_connections_per_source", f"refused line's reason {ln!r}")

    flood = 300
    t0 = time.monotonic()
    for i in range(flood):
        s, _ = control_connect()
        eq(greeting_modes(s), 0, f"flood connection #{i}: greeting Modes")
        wait_closed(s, f"flood connection #{i}")
        s.close()
    secs = time.monotonic() - t0

    def suppressed():
        m = re.findall(r"^dpdk-twamp: warning: log\.suppressed kind=control\.refused "
                       r"suppressed=(\d+)[ :].*$", d.log(), re.M)
        return m
    def said():
        return len(events(d.log(), "control.refused")) + sum(int(x) for x in suppressed())
    # Every refusal said, as a line or in a count (the count comes once the kind has been quiet
    # for a second; a pause in the flood, e.g. a SYN retransmitted, may split it).
    wait_for(f"control.refused lines + log.suppressed counts reaching {flood + 1}\n" + d.tail(),
             lambda: said() >= flood + 1, 30)
    lines = events(d.log(), "control.refused")
    check(suppressed(), "no log.suppressed line for control.refused\n" + d.tail())
    eq(said(), flood + 1, f"refused lines ({len(lines)}) + suppressed {suppressed()}")
    bound = 20 + 10 * (secs + 1) + 1
    check(len(lines) <= bound, f"{len(lines)} control.refused lines for {flood + 1} refusals in "
                               f"{secs:.2f} s (bound {bound:.0f}: burst 20, 10/s)")
    first.close()
    wait_for("control.closed line\n" + d.tail(),
             lambda: [ln for ln in events(d.log(), "control.closed")
                      if field(ln, "peer") == f"{S4}:{first_port}"], 30)
    ln = [ln for ln in events(d.log(), "control.closed")
          if field(ln, "peer") == f"{S4}:{first_port}"][0]
    eq(field(ln, "reason"), "peer_closed", f"closed line {ln!r}")
    lab.release()


@case
def events_unread_stderr_never_blocks(lab):
    """The log nobody reads cannot stop the box, whatever a peer makes it log: stderr to a pipe
    (4 KiB) the test does not read, control.max-connections-per-source = 1, one connection kept
    and 300 more refused one after another (each a control.refused event, the rate limit's
    burst alone fills the pipe). Every refused connection still gets its greeting (Modes 0)
    and is closed, a new client is served once the first leaves, ping is answered (ARP and
    ICMP through the slow path), and once the pipe is read again the next line is preceded by
    'log.dropped lines=N'. SIGTERM ends it (exit 0). Blocking writes stop the slow path after
    a few dozen lines: the greetings stop coming."""
    import fcntl
    stop_shared_dut(lab)
    conf = C.control_conf(lab, extra_keys=" max-connections-per-source = 1;")
    d = L.Dut(lab, conf=conf)
    r, w = os.pipe()
    try:
        fcntl.fcntl(w, getattr(fcntl, "F_SETPIPE_SZ", 1031), 4096)
        d.logf = open(d.log_path, "w")
        d.proc = subprocess.Popen(d.cmd, stdin=subprocess.DEVNULL, stdout=d.logf, stderr=w,
                                  preexec_fn=L.pdeathsig)
        os.close(w)
        w = -1
        lab.record_pid()
        lab.dut = d
        wait_for("the start-up summary on stdout\n" + d.tail(),
                 lambda: d.proc.poll() is not None or
                 len(re.findall(r"^  reflector ", d.log(), re.M)) >= d.n_reflectors, 120)
        check(d.proc.poll() is None, f"dpdk-twamp exited ({d.proc.returncode})\n" + d.tail())
        d.wait_ready()
        first, _ = control_connect()
        eq(greeting_modes(first), 1, "the first connection's greeting Modes")
        flood = 300
        for i in range(flood):
            s, _ = control_connect()
            eq(greeting_modes(s), 0, f"refused connection #{i} (stderr not read): greeting Modes")
            wait_closed(s, f"refused connection #{i}")
            s.close()
        # The pipe is full (the events of the flood alone are ~20 x 150 octets at once).
        os.set_blocking(r, False)
        check(fcntl.ioctl(r, 0x541B, b"\0\0\0\0") and  # FIONREAD
              int.from_bytes(fcntl.ioctl(r, 0x541B, b"\0\0\0\0"), "little") >= 3000,
              "stderr's pipe is not full: the test did not test a blocked log")
        check(L.icmp_echo(B4, False, 1, timeout=10.0),
              "no ping answer while stderr's pipe is full\n" + d.tail())
        first.close()
        # The slot is free again: a new client is served.
        wait_for("a new TWAMP-Control client served while stderr's pipe is full",
                 lambda: greeting_modes(control_connect()[0]) == 1, 30)
        # Read the pipe: the next event line is preceded by the count of those dropped.
        text = b""
        while True:
            try:
                chunk = os.read(r, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            text += chunk
        s, _ = control_connect()  # refused (the last client still holds the slot): an event

        def dropped():
            nonlocal text
            try:
                text += os.read(r, 65536)
            except BlockingIOError:
                pass
            return re.search(rb"^dpdk-twamp: warning: log\.dropped lines=(\d+): ", text, re.M)
        wait_for("a log.dropped line once stderr is read again", dropped, 30)
        check(int(dropped()[1]) > 0, f"log.dropped line: {dropped()[0]!r}")
        s.close()
        lab.dut = None
        d.proc.send_signal(signal.SIGTERM)
        try:
            rc = d.proc.wait(60)
        except subprocess.TimeoutExpired:
            d.proc.kill()
            d.proc.wait(10)
            raise Failure("SIGTERM did not end dpdk-twamp within 60 s (stderr full)\n"
                          + d.tail()) from None
        d.logf.close()
        eq(rc, 0, "exit status after SIGTERM\n" + d.tail())
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


@case
def dpdk_log_not_syslog(lab):
    """DPDK's own lines (EAL's, the TAP driver's, TWAMP:) go through the box's stream
    (rte_openlog_stream before EAL starts), on stderr only: under strace, connect(2) to
    /dev/log happens at most once (EAL's openlog at start) although DPDK logs a line per
    rejected reload; EAL's default stream calls syslog(3) for every line (a journal under
    systemd had each twice, and a blocking path besides). This machine has no /dev/log: each
    syslog(3) call tries to connect again, so every line would show."""
    import shutil
    strace = shutil.which("strace")
    if not strace:
        raise L.Skip("strace not installed")
    d = own_ops_dut(lab)
    path = d.conf
    trace = os.path.join(lab.workdir, f"strace-{d.index}.txt")
    i = d.cmd.index(lab.binary)
    d.cmd = d.cmd[:i] + [strace, "-f", "-qq", "-e", "trace=connect", "-o", trace] + d.cmd[i:]

    def box_pid():
        # strace's child: the box (signals go to it; strace ends with it).
        with open(f"/proc/{d.proc.pid}/task/{d.proc.pid}/children") as f:
            kids = f.read().split()
        check(kids, "strace has no child")
        return int(kids[0])
    d.start()
    lab.dut = d
    bad = O.ops_conf(lab)
    bad.insert(7, '  { name = = "broken"; },')
    O.write_file(path, bad)
    for n in (1, 2, 3):
        os.kill(box_pid(), signal.SIGHUP)
        wait_for(f"rejected reload #{n}'s TWAMP line\n" + d.tail(),
                 lambda: len(re.findall(r"TWAMP: reload rejected", d.log())) >= n, 30)
    with open(trace) as f:
        connects = [ln for ln in f if '"/dev/log"' in ln]
    check(len(connects) <= 1, f"{len(connects)} connect(2)s to /dev/log: DPDK's lines went to "
                              "syslog(3)\n" + "".join(connects[:5]))
    lab.dut = None
    os.kill(box_pid(), signal.SIGTERM)
    try:
        d.proc.wait(60)
    except subprocess.TimeoutExpired:
        d.proc.kill()
        raise Failure("SIGTERM did not end dpdk-twamp under strace\n" + d.tail()) from None
    d.logf.close()


@case
def events_link_down_up(lab):
    """The box's first reading of its link ('link.up port=wire0 ... changes=0', info); the
    wire's veth end set down, then up: 'link.down port=wire0' (warning), then 'link.up
    port=wire0' (notice), each once, with the port's link change count."""
    d = O.start(lab)
    wire = lab.name + "r0"
    # The box's first reading of the link (within ~100 ms of its start).
    wait_for("the first link.up line\n" + d.tail(),
             lambda: events(d.log(), "link.up", "info"), 30)
    first = events(d.log(), "link.up", "info")
    eq(field(first[0], "changes"), "0", f"first link.up line {first[0]!r}")
    L.run(["ip", "netns", "exec", lab.rns, "ip", "link", "set", "dev", wire, "down"])
    wait_for("link.down line\n" + d.tail(),
             lambda: events(d.log(), "link.down", "warning"), 30)
    L.run(["ip", "netns", "exec", lab.rns, "ip", "link", "set", "dev", wire, "up"])
    wait_for("link.up line\n" + d.tail(), lambda: events(d.log(), "link.up", "notice"), 30)
    down = events(d.log(), "link.down", "warning")
    up = events(d.log(), "link.up", "notice")
    eq(len(down), 1, f"link.down lines {down}")
    eq(len(up), 1, f"link.up lines {up}")
    eq(field(down[0], "port"), "wire0", f"link.down line {down[0]!r}")
    eq(field(up[0], "port"), "wire0", f"link.up line {up[0]!r}")
    eq(field(down[0], "changes"), "1", f"link.down line {down[0]!r}")
    eq(field(up[0], "changes"), "2", f"link.up line {up[0]!r}")
    with Peer(False, lab.port()) as p:
        L.wait_for("reflection after the link came back",
                   lambda: _answers(p), 30, step=0.2)
    lab.release()


def _answers(p):
    p.send(L.twamp_request(0), O.ALPHA)
    got = p.recv(0.5)
    return got is not None


if __name__ == "__main__":
    sys.exit(L.main(CASES, suite="systemd", doc=__doc__))
