#!/usr/bin/env python3
"""Runs the meson tests of a build directory, suite by suite, and counts results.

GoogleTest executables (protocol 'gtest') count one result per test case, read from their JSON
report; every other meson test counts as one result by its exit code. Prints a line per
failure, a line per suite and writes the totals to --totals (passed failed skipped).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def run_one(t, log):
    env = os.environ.copy()
    env.update(t.get("env") or {})
    cmd = list(t["cmd"])
    report = None
    if t.get("protocol") == "gtest":
        fd, report = tempfile.mkstemp(suffix=".json", prefix="gtest-")
        os.close(fd)
        cmd.append(f"--gtest_output=json:{report}")
    timeout = t.get("timeout") or 600
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=t.get("workdir") or None, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        out, rc = p.stdout.decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode(errors="replace") + f"\nTIMEOUT after {timeout}s\n", -1
    except OSError as e:  # e.g. the executable was not built
        out, rc = f"cannot run {cmd[0]}: {e}\n", -1
    log.write(f"==== {t['name']} ({' '.join(cmd)}) rc={rc} "
              f"{time.monotonic() - start:.1f}s\n{out}\n")
    log.flush()
    passed, failed, skipped, failures = 0, 0, 0, []
    if report:
        try:
            with open(report) as f:
                data = json.load(f)
            for suite in data.get("testsuites", []):
                for case in suite.get("testsuite", []):
                    name = f"{suite['name']}.{case['name']}"
                    if case.get("result") == "SKIPPED" or case.get("status") == "NOTRUN":
                        skipped += 1
                    elif case.get("failures"):
                        failed += 1
                        failures.append(name)
                    else:
                        passed += 1
        except (OSError, ValueError):
            pass
        finally:
            os.unlink(report)
        if rc != 0 and failed == 0:
            failed += 1  # crashed or died before writing its report
            failures.append(f"{t['name']} (exit {rc})")
    elif rc == 77:
        skipped += 1
    elif rc == 0:
        passed += 1
    else:
        failed += 1
        failures.append(t["name"])
    return passed, failed, skipped, failures, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("builddir")
    ap.add_argument("--suite", action="append", default=[])
    ap.add_argument("--log", required=True)
    ap.add_argument("--totals", required=True)
    a = ap.parse_args()
    tests = json.loads(subprocess.check_output(["meson", "introspect", a.builddir, "--tests"]))
    totals = [0, 0, 0]
    with open(a.log, "a") as log:
        for suite in a.suite:
            sp = sf = ss = 0
            for t in tests:
                if suite not in t.get("suite", []) and f"dpdk-twamp:{suite}" not in t.get("suite", []):
                    continue
                p, f, s, failures, out = run_one(t, log)
                sp, sf, ss = sp + p, sf + f, ss + s
                for name in failures:
                    print(f"  FAIL {suite}: {name}")
                if f:
                    tail = "\n".join(out.strip().splitlines()[-15:])
                    print("    " + tail.replace("\n", "\n    "))
            print(f"  {suite}: {sp} passed, {sf} failed, {ss} skipped")
            totals = [totals[0] + sp, totals[1] + sf, totals[2] + ss]
    with open(a.totals, "w") as f:
        f.write(" ".join(map(str, totals)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
