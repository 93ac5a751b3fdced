#!/usr/bin/python3
"""Controlled load on dpdk-twamp through net_memif (issue 15): zero-loss throughput and residence.

Run through perf/load.sh (root: a network namespace for dpdk-twamp's TAP and metrics, DPDK).
Two DPDK processes joined by one net_memif link (a socket file in the work directory):
  dpdk-twamp     -l 0-1 (slow path on CPU 0, its one worker on CPU 1), memif server, one
                 reflector of the chosen mode on UDP 862, in its own network namespace;
  twamp-loadgen  (perf/loadgen.cpp) on CPU 0 (taskset and -l 0: never on the worker's CPU),
                 memif client, driven run by run over its stdin (--serve).
Both run --no-huge; memif needs DPDK's multi-process IPC, so neither runs --no-shconf (each has
its own --file-prefix, whose runtime directory is removed at the end).

1. Probe: one trial flat out (rate 0): what the pair moves at most (sent_pps).
2. RFC 2544-style throughput: a trial at that rate, then a binary search between 0 and it;
   each trial is --trial-seconds at a TSC-paced rate. A trial passes when nothing is lost
   (loss = sent - received: packets the reflector took and did not answer), no reply is invalid,
   the generator offered the whole rate (attempted >= 99.9 % of rate x time; else it is
   generator-limited) and rte_eth_tx_burst refused nothing (tx_refused, reported apart from
   loss: on memif a refusal means the reflector's RX ring was full, which is how a reflector
   falling behind shows on a link that has no wire to drop on). The found rate is confirmed by
   --confirm more trials (stepping down 5 % on a failure, at most 3 times).
3. At 80 % of it for --final-seconds: the residence T3 - T2 from every reply (the generator's
   histogram: p50/p99/p99.9/max), from the reflector's own Prometheus histogram
   (twamp_reflector_residence_time_seconds, scraped before and after: bucket upper bounds), the
   reflector's busy TSC cycles per packet (/twamp/stats), and each thread's on-CPU share
   (utime + stime from /proc/PID/task/TID/stat over the run): the reflector's worker, its main
   thread, the generator.
4. With --sweep RATES: the replies' residence at each of those rates (one trial each; above the
   zero-loss rate too), to see how it depends on the load.
Prints a line per trial and the results; the last line is one JSON object with everything.
"""
import argparse
import json
import os
import re
import select
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (Cleanup, Telemetry, scrape_residence, quantile_bound, worker_thread)

GEN_MAC = "02:00:00:00:00:01"
REFL_MAC = "02:00:00:00:00:02"
EAL_NOTICE = "--log-level=lib.eal:notice"


def log(*a):
    print(*a, flush=True)


def thread_ticks(pid, tid):
    """utime + stime of one thread, in clock ticks (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, TypeError):
        return None


def write_conf(path, a, sock):
    mode = "stamp" if a.mode.startswith("stamp") else "twamp-light"
    acl = '"2001:2::/48"' if a.mode.endswith("6") else '"198.18.0.0/15"'
    dev = (f"net_memif0,role=server,id=0,socket={sock},socket-abstract=no,"
           f"rsize={a.rsize},mac={REFL_MAC}")
    with open(path, "w") as f:
        f.write(f"""# perf/load.sh: dpdk-twamp on the server end of a net_memif link
ports = ( {{ name = "memif0"; device = "{dev}";
            addresses = [ "198.18.0.2/24", "2001:2::2/64" ];
            hw-timestamps = "off";
            exception = {{ iface = "{a.tap}"; }}; }} );
reflectors = ( {{ name = "load"; port = "memif0"; mode = "{mode}"; udp-ports = [ 862 ];
                 prefixes = [ {acl} ];
                 stateful = {'true' if a.stateful else 'false'}; max-sessions = 65536;
                 source-session-rate = 0; refused-source-ports = []; }} );
metrics = {{ listen = "{bench.METRICS}"; }};
""")
    return dev


class Generator:
    """twamp-loadgen --serve: one line "RATE SECONDS" in, one JSON line out."""

    def __init__(self, p):
        self.p = p
        self.buf = b""

    def line(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.p.poll() is not None:
                raise RuntimeError("twamp-loadgen: no answer (see its log)")
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk:
                    raise RuntimeError("twamp-loadgen ended (see its log)")
                self.buf += chunk
        ln, self.buf = self.buf.split(b"\n", 1)
        return json.loads(ln)

    def run(self, rate, seconds):
        self.p.stdin.write(f"{rate:.0f} {seconds}\n".encode())
        self.p.stdin.flush()
        return self.line(seconds + 30)


def passes(r, rate, seconds):
    """(passed, why not)"""
    if r["loss"]:
        return False, f"loss {r['loss']}"
    if r["invalid"]:
        return False, f"{r['invalid']} invalid replies"
    if r["tx_refused"]:
        return False, f"tx refused {r['tx_refused']}"
    if r["attempted"] < 0.999 * rate * seconds:
        return False, f"generator-limited (offered {r['attempted']} of {rate * seconds:.0f})"
    return True, ""


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--twamp", required=True)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--mode", default="light4", choices=["light4", "light6", "stamp4", "stamp6"])
    ap.add_argument("--sessions", type=int, default=1)
    ap.add_argument("--stateful", action="store_true")
    ap.add_argument("--quick", action="store_true",
                    help="2 s trials, 6 search steps, 1 confirmation, 5 s at 80 %%")
    ap.add_argument("--trial-seconds", type=float)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--confirm", type=int)
    ap.add_argument("--final-seconds", type=float)
    ap.add_argument("--rsize", type=int, default=12, help="memif log2 ring size (default 12)")
    ap.add_argument("--sweep", default="",
                    help="after the 80 %% run, the residence at these rates too (pps, "
                         "comma-separated, --trial-seconds each), e.g. 1000,10000,100000")
    ap.add_argument("--budget", type=float, default=200,
                    help="seconds for the search; then it stops where it is (default 200)")
    a = ap.parse_args()
    a.trial_seconds = a.trial_seconds or (2 if a.quick else 4)
    a.steps = a.steps if a.steps is not None else (6 if a.quick else 8)
    a.confirm = a.confirm if a.confirm is not None else (1 if a.quick else 2)
    a.final_seconds = a.final_seconds or (5 if a.quick else 10)
    t_start = time.monotonic()
    tag = f"{os.getpid() % 100000}"
    a.tap = f"tlt{tag}"[:15]
    netns = f"tl{tag}"
    refl_prefix = f"tlr{tag}"
    gen_prefix = f"tlg{tag}"
    sock = os.path.join(a.work, "memif.sock")
    conf = os.path.join(a.work, "load.conf")
    dev = write_conf(conf, a, sock)

    cl = bench.Cleanup(a.work)
    stopping = []

    def on_signal(signum, _frame):
        stopping.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    refl = gen = None
    refl_log = os.path.join(a.work, "dpdk-twamp.log")
    gen_log = os.path.join(a.work, "loadgen.log")
    result = {"tool": "perf/load.sh", "mode": a.mode, "sessions": a.sessions,
              "stateful": a.stateful, "memif_rsize": a.rsize, "trial_seconds": a.trial_seconds,
              "trials": []}
    try:
        subprocess.run(["ip", "netns", "add", netns], check=True)
        cl.add_netns(netns)
        subprocess.run(["ip", "netns", "exec", netns, "ip", "link", "set", "lo", "up"],
                       check=True)
        refl = subprocess.Popen(
            ["ip", "netns", "exec", netns, a.twamp, "-l", "0-1", "--no-huge", "-m", "1024",
             "--no-pci", f"--file-prefix={refl_prefix}", EAL_NOTICE, "--", "-c", conf],
            stdout=open(refl_log, "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        cl.add_proc(refl)
        deadline = time.monotonic() + 60
        while not os.path.exists(sock) or "metrics:" not in open(refl_log).read():
            if refl.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dpdk-twamp did not start (see {refl_log})")
            time.sleep(0.1)
        tel = bench.Telemetry(refl_prefix, time.monotonic() + 30)
        gen_cmd = ["taskset", "-c", "0", a.loadgen, "-l", "0", "--no-huge", "-m", "256",
                   "--no-pci", f"--file-prefix={gen_prefix}", EAL_NOTICE, "--vdev",
                   f"net_memif0,role=client,id=0,socket={sock},socket-abstract=no,"
                   f"rsize={a.rsize},mac={GEN_MAC}",
                   "--", "--dst-mac", REFL_MAC, "--mode", a.mode, "--sessions", str(a.sessions),
                   "--serve"]
        gen = subprocess.Popen(gen_cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=open(gen_log, "w"), start_new_session=True)
        cl.add_proc(gen)
        g = Generator(gen)
        ready = g.line(30)
        if not ready.get("ready"):
            raise RuntimeError(f"twamp-loadgen: {ready}")
        wtid = bench.worker_thread(refl.pid)
        result["commands"] = {
            "dpdk-twamp": f"ip netns exec NS dpdk-twamp -l 0-1 --no-huge -m 1024 --no-pci "
                          f"--file-prefix=P -- -c load.conf  (device \"{dev}\")",
            "twamp-loadgen": " ".join(gen_cmd[:1] + ["-c", "0", "twamp-loadgen"] + gen_cmd[4:])}

        def trial(rate, what):
            st0 = tel("/twamp/stats")
            r = g.run(rate, a.trial_seconds)
            st1 = tel("/twamp/stats")
            # The reflector's side of the same trial: what it received, and the replies it
            # could not send because the generator's RX ring was full (tx_full).
            r["reflector_rx"] = st1["rx_packets"] - st0["rx_packets"]
            r["reflector_tx_full"] = st1["drops"]["tx_full"] - st0["drops"]["tx_full"]
            r["reflector_dropped"] = st1["dropped_packets"] - st0["dropped_packets"]
            ok, why = passes(r, rate, a.trial_seconds) if rate else (None, "")
            r["passed"], r["why"], r["what"] = ok, why, what
            result["trials"].append({k: r[k] for k in (
                "what", "rate_pps", "attempted", "sent", "tx_refused", "received", "loss",
                "invalid", "sent_pps", "reflector_rx", "reflector_tx_full", "reflector_dropped",
                "passed", "why")})
            log(f"  {what:<8} {rate / 1e6:7.4f} Mpps: sent {r['sent']:>9} "
                f"({r['sent_pps'] / 1e6:.4f} Mpps) tx-refused {r['tx_refused']:>8} "
                f"received {r['received']:>9} loss {r['loss']:>4} "
                f"(reflector tx_full {r['reflector_tx_full']})"
                + ("" if ok is None else ("  pass" if ok else f"  FAIL: {why}")))
            return ok, r

        log(f"load.sh: {a.mode}, {a.sessions} session(s){', stateful' if a.stateful else ''}, "
            f"net_memif rsize {a.rsize}, trials of {a.trial_seconds} s")
        _, probe = trial(0, "flat-out")
        top = probe["sent_pps"]
        result["flat_out_pps"] = top
        found = 0.0
        ok, _ = trial(top, "at max")
        if ok:
            found = top
        else:
            lo, hi = 0.0, top
            for i in range(a.steps):
                if time.monotonic() - t_start > a.budget:
                    log("  (search budget spent)")
                    break
                mid = (lo + hi) / 2
                ok, _ = trial(mid, f"step {i + 1}")
                if ok:
                    lo = mid
                else:
                    hi = mid
            found = lo
        confirmed = False
        for attempt in range(4):
            if found <= 0 or all(trial(found, "confirm")[0] for _ in range(a.confirm)):
                confirmed = found > 0
                break
            if attempt < 3:
                found *= 0.95
        result["zero_loss_pps"] = found
        result["zero_loss_confirmed"] = confirmed
        if found <= 0:
            raise RuntimeError(f"no trial passed down to {result['trials'][-1]['rate_pps']} pps "
                               f"(flat out: {top / 1e6:.4f} Mpps sent): no zero-loss rate")
        log(f"zero-loss throughput: {found / 1e6:.4f} Mpps"
            f"{'' if confirmed else ' (NOT confirmed: its last confirmation failed)'} "
            f"(flat out: {top / 1e6:.4f} Mpps sent)")

        # At 80 %: replies' residence, the reflector's histogram and busy cycles, CPU shares.
        rate = 0.8 * found
        threads = {"reflector_worker": (refl.pid, wtid), "reflector_main": (refl.pid, refl.pid),
                   "generator": (gen.pid, gen.pid)}
        res0 = bench.scrape_residence(netns)
        st0 = tel("/twamp/stats")
        ticks0 = {k: thread_ticks(*v) for k, v in threads.items()}
        w0 = time.monotonic()
        r = g.run(rate, a.final_seconds)
        wall = time.monotonic() - w0
        ticks1 = {k: thread_ticks(*v) for k, v in threads.items()}
        st1 = tel("/twamp/stats")
        res1 = bench.scrape_residence(netns)
        tel.close()
        hz_ticks = os.sysconf("SC_CLK_TCK")
        share = {k: (ticks1[k] - ticks0[k]) / hz_ticks / wall
                 if ticks0[k] is not None and ticks1[k] is not None else None for k in threads}
        refl_q = {}
        for q, name in ((0.5, "p50"), (0.99, "p99"), (0.999, "p99.9")):
            b, n = bench.quantile_bound(res0, res1, q)
            refl_q[name] = None if b is None else b * 1e9
            refl_q["count"] = n
        bp = st1["busy_packets"] - st0["busy_packets"]
        ok, why = passes(r, rate, a.final_seconds)
        result["at_80"] = {
            "rate_pps": rate, "seconds": a.final_seconds, "sent": r["sent"],
            "received": r["received"], "loss": r["loss"], "tx_refused": r["tx_refused"],
            "invalid": r["invalid"], "passed": ok, "why": why,
            "reflector_rx": st1["rx_packets"] - st0["rx_packets"],
            "reflector_tx_full": st1["drops"]["tx_full"] - st0["drops"]["tx_full"],
            "residence_replies_ns": r["residence_ns"], "rtt_replies_ns": r["rtt_ns"],
            "residence_reflector_ns_bucket_bounds": refl_q,
            "reflector_busy_cycles_per_packet":
                (st1["busy_cycles"] - st0["busy_cycles"]) / bp if bp else None,
            "tsc_hz": st1.get("tsc_hz"),
            "on_cpu_share": share}
        if refl_q["count"] != r["received"] + r["loss"]:
            result.setdefault("check_failures", []).append(
                f"at 80 %: the reflector's histogram counted {refl_q['count']:.0f} replies, the "
                f"generator received {r['received']} and lost {r['loss']}")
        rr = r["residence_ns"]
        log(f"at 80 % ({rate / 1e6:.4f} Mpps, {a.final_seconds} s): sent {r['sent']} received "
            f"{r['received']} loss {r['loss']} tx-refused {r['tx_refused']}")
        log(f"  residence T3-T2 from the replies: p50 {rr['p50']} ns, p99 {rr['p99']} ns, "
            f"p99.9 {rr['p99.9']} ns, max {rr['max']} ns ({rr['count']} replies)")

        def fb(x):
            return "-" if x is None else ("+Inf" if x == float("inf") else f"<= {x:.0f} ns")
        log(f"  residence from the reflector's histogram (bucket bounds): p50 "
            f"{fb(refl_q['p50'])}, p99 {fb(refl_q['p99'])}, p99.9 {fb(refl_q['p99.9'])} "
            f"({refl_q['count']:.0f} observations)")
        cpp = result["at_80"]["reflector_busy_cycles_per_packet"]
        log(f"  reflector busy TSC cycles/packet: {cpp:.1f}" if cpp else "  busy cycles: -")
        log("  on-CPU share: " + ", ".join(
            f"{k} {v:.2f}" if v is not None else f"{k} -" for k, v in share.items()))
        if a.sweep:
            # Residence against the rate: how a burst's cost depends on how often it comes.
            result["sweep"] = []
            log("residence by rate (replies' T3 - T2, ns):")
            for rate_s in a.sweep.split(","):
                sw_rate = float(rate_s)
                sr = g.run(sw_rate, a.trial_seconds)
                q = sr["residence_ns"]
                result["sweep"].append({"rate_pps": sw_rate, "sent": sr["sent"],
                                        "tx_refused": sr["tx_refused"], "loss": sr["loss"],
                                        "residence_ns": q})
                log(f"  {sw_rate / 1e6:8.4f} Mpps: sent {sr['sent']:>9} tx-refused "
                    f"{sr['tx_refused']:>8} loss {sr['loss']:>4}: p50 {q['p50']}, p99 "
                    f"{q['p99']}, p99.9 {q['p99.9']}, max {q['max']}")
    except KeyboardInterrupt:
        log("load.sh: interrupted")
        result["error"] = "interrupted"
    except (RuntimeError, OSError, subprocess.CalledProcessError, KeyError,
            json.JSONDecodeError) as e:
        log(f"load.sh: {e}")
        result["error"] = str(e)
    finally:
        if gen is not None:
            try:
                gen.stdin.close()
            except OSError:
                pass
            try:
                gen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            cl.stop(gen, signal.SIGINT, 5)
        if refl is not None:
            t_stop = time.monotonic()
            cl.stop(refl, signal.SIGINT, 30)
            result["reflector_stop_s"] = round(time.monotonic() - t_stop, 1)
            result["reflector_exit_code"] = refl.returncode
            text = open(refl_log, errors="replace").read()
            m = re.search(r"^dpdk-twamp: stopped: .*$", text, re.M)
            result["reflector_exit"] = m.group(0) if m else None
            if m:
                log(m.group(0))
                # Every frame the generator sent is a valid test packet: the reflector may only
                # have failed to send replies into a full generator RX ring (tx_full).
                e = re.search(r"rx (\d+), reflected (\d+) .*?, dropped (\d+)(?: \(([^)]*)\))?, "
                              r"to-kernel (\d+)", m.group(0))
                if e:
                    rx, refl_n, dropped, reasons, tok = e.groups()
                    other = [x for x in (reasons or "").split()
                             if x and not x.startswith("tx_full=")]
                    if other or int(tok) or int(rx) != int(refl_n) + int(dropped):
                        result.setdefault("check_failures", []).append(
                            f"reflector exit summary: {m.group(0)}: expected every frame "
                            f"reflected or dropped as tx_full only, none to the kernel")
            elif "error" not in result:
                result.setdefault("check_failures", []).append(
                    f"no reflector exit summary (exit code {refl.returncode} after "
                    f"{result['reflector_stop_s']} s; log: {text[-300:]!r})")
        cl.all()
        for p in (refl_prefix, gen_prefix):
            subprocess.run(["rm", "-rf", f"/var/run/dpdk/{p}"], check=False)
        result["elapsed_s"] = round(time.monotonic() - t_start, 1)
        for f in result.get("check_failures", []):
            log(f"load.sh: CHECK FAILED: {f}")
    print(json.dumps(result), flush=True)
    return 1 if "error" in result or "check_failures" in result else 0


if __name__ == "__main__":
    sys.exit(main())
