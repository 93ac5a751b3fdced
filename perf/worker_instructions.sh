#!/usr/bin/env bash
# Instructions per packet of the whole worker (worker::poll_once and everything it calls:
# net_ring RX/TX, classify, session lookup, rewrite, transmit), counted by valgrind's callgrind
# over perf/worker_icount: exact and repeatable where cycle counts on a shared machine are not.
# Each case runs with 300 and 100 bursts of 32 and the difference is divided by the 6,400
# packets in between, so start-up cancels out.
#   perf/worker_instructions.sh [ICOUNT]      (default build/perf/worker_icount)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/perf/worker_icount}
command -v valgrind >/dev/null || {
    echo "valgrind is not installed" >&2
    exit 1
}
count() { # count <case> <bursts>
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        '--toggle-collect=twamp::dataplane::worker::poll_once*' "$bin" "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : //p'
}
echo "| case | instructions/pkt |"
echo "|---|---:|"
for c in light stateful mixed stamp device defaults limited; do
    long=$(count "$c" 300)
    short=$(count "$c" 100)
    echo "| $c | $(((long - short) / 6400)) |"
done
