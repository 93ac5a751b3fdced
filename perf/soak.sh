#!/usr/bin/env bash
# A bounded soak of dpdk-twamp (issue 18 item 5): steady twamp-ping sessions, spoofed floods,
# SIGHUP reloads, full-TWAMP control sessions and a busy exception path at once in the
# namespace lab, then checks (loss explained by counters, RSS flat, no mbuf leak, no counter
# going backwards, the exit summary balanced). Details in perf/soak.py; results in
# perf/RESULTS.md.
#
#   sudo perf/soak.sh DURATION [--seed N] [--keep]
#
# DURATION: seconds, or N s/m/h (30m). Needs root, curl, ip, ping. Builds dpdk-twamp and
# twamp-ping in build/ (BUILD=dir for another build directory); the lab runs copies. Exits 1
# when a check fails. Everything ends at DURATION + 5 minutes at the latest.
set -euo pipefail
cd "$(dirname "$0")/.."
. perf/lib.sh
[[ $# -ge 1 && $1 != -h && $1 != --help ]] || {
    sed -n '2,12p' "$0"
    exit 2
}
duration=$1
shift
seconds=$(/usr/bin/python3 -c 'import sys; sys.path.insert(0, "perf"); import soak
print(soak.parse_duration(sys.argv[1]))' "$duration") || exit 2
perf_start soak.sh curl ip ping
ninja -C "$build" src/app/dpdk-twamp src/sender/twamp-ping >/dev/null

perf_workdir twamp-soak
perf_run timeout -s TERM $((seconds + 300)) /usr/bin/python3 perf/soak.py \
    --binary "$build/src/app/dpdk-twamp" --ping "$build/src/sender/twamp-ping" \
    --source-root . "$seconds" "$@"
