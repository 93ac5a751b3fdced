#!/usr/bin/env bash
# Instructions per packet of every reflect_bench case, counted by valgrind's callgrind: exact
# and repeatable where cycle counts on a shared machine are not. Each case runs twice with
# different lengths (reflect_bench warms up with bursts/10+1 bursts first) and the difference
# is divided by the packets in between, so start-up and warm-up cancel out.
#   perf/instructions.sh [BENCH]      (default build/perf/reflect_bench)
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${1:-build/perf/reflect_bench}
command -v valgrind >/dev/null || {
    echo "valgrind is not installed" >&2
    exit 1
}
count() { # count <bursts> <case>
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bench" --runs 1 --bursts "$1" \
        --case "$2" 2>&1 | sed -n 's/.*Collected : //p'
}
cases=("twamp-light ipv4 41" "twamp-light ipv6 41" "twamp-light ipv4+vlan 41" "stamp ipv4 44"
    "stamp ipv6 44")
# The fused fast path (proto/fast.hpp) on the same shapes, where the bench has it.
if grep -q "fused" "$bench" 2>/dev/null; then
    for c in "${cases[@]}"; do
        cases+=("$c fused")
    done
fi
echo "| case | instructions/pkt, sw csum | instructions/pkt, nic csum |"
echo "|---|---:|---:|"
for c in "${cases[@]}"; do
    row="| $c"
    for v in "sw csum" "nic csum"; do
        long=$(count 3000 "$c, $v")  # 301 + 3000 bursts
        short=$(count 1000 "$c, $v") # 101 + 1000 bursts
        row+=" | $(((long - short) / (2200 * 32)))"
    done
    echo "$row |"
done
