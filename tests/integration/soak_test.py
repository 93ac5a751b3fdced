#!/usr/bin/python3
"""Integration test: the short soak (perf/soak.py, issue 18 item 5) in the namespace lab.

    tests/integration/soak_test.py --binary build/src/app/dpdk-twamp --source-root .
        [--case soak_short] [--keep] [--list] [--gtest_output=json:PATH|xml:PATH]

One case: perf/soak.py for SOAK_SECONDS (75) with every part of the long soak (steady
twamp-ping sessions, spoofed floods, SIGHUP reloads, full-TWAMP control runs, ping floods,
scrapes) and the same checks; any failed check fails the case. The lab and the runner are
lab_tests.py's. perf/soak.sh DURATION runs the long one.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "perf"))
import lab_tests as L  # noqa: E402  (the shared harness, beside this file)
import soak  # noqa: E402  (perf/soak.py)

SOAK_SECONDS = 75
CASES = []


def soak_short(lab):
    """perf/soak.py for 75 s: steady sessions lose nothing a counter does not explain, every
    control run and reload succeeds, no counter goes backwards, RSS and mbufs flat, the exit
    summary balanced."""
    result = soak.run_soak(lab, SOAK_SECONDS)
    failed = [f"{n}: {c['detail']}" for n, c in result["checks"].items() if not c["ok"]]
    L.check(not failed, "soak checks failed:\n  " + "\n  ".join(failed))


CASES.append(("soak_short", soak_short))

if __name__ == "__main__":
    sys.exit(L.main(CASES, suite="soak", doc=__doc__))
