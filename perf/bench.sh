#!/usr/bin/env bash
# dpdk-twamp against dpdk-testpmd --forward-mode=5tswap on the same net_pcap device, per case
# (TWAMP Light IPv4 1 session / 1,000 sessions with ACL / 1,000,000 sessions, STAMP, IPv6):
# packets/s of both, the ratio, dpdk-twamp's cycles/packet, residence time and peak RSS; checks
# that dpdk-twamp reflected every packet. Details in perf/bench.py; results in perf/RESULTS.md.
#
#   sudo perf/bench.sh [--quick] [--rounds N] [--seconds S] [--cases a,b] [--no-record]
#                      [--no-load] [--no-chain]
#
# After the cases: perf/load.sh --quick (zero-loss rate over net_memif and the residence at 80 %
# of it; --no-load skips it) and reflect_bench (the protocol chain and the fused fast path
# alone; --no-chain skips it), in the same report.
# --quick: 1 round of 4 s per program and case, without the extra stateless 1M case (~3 min);
# default: 3 alternating rounds of 8 s (~10 min). Needs root (network namespaces for
# dpdk-twamp's TAP, DPDK), dpdk-testpmd, /usr/bin/python3 with scapy, curl. Builds dpdk-twamp in
# build/ when it is not there (BUILD=dir to use another build directory) and benchmarks a copy
# of the binary, so a rebuild during the run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || {
    echo "bench.sh: needs root (network namespaces, DPDK): sudo $0 $*" >&2
    exit 1
}
for tool in dpdk-testpmd curl taskset ip; do
    command -v "$tool" >/dev/null || {
        echo "bench.sh: $tool not found" >&2
        exit 1
    }
done
/usr/bin/python3 -c 'import scapy' 2>/dev/null || {
    echo "bench.sh: /usr/bin/python3 lacks scapy (apt-get install python3-scapy)" >&2
    exit 1
}
build=${BUILD:-build}
if [[ ! -f $build/build.ninja ]]; then
    meson setup "$build"
fi
ninja -C "$build" src/app/dpdk-twamp >/dev/null
# reflect_bench for the report (absent with -Dperf=false: the report then leaves it out).
ninja -C "$build" perf/reflect_bench >/dev/null 2>&1 || true

work=$(mktemp -d /tmp/twamp-bench.XXXXXX)
# Whatever happens, end what the run started (by PID) and remove its namespaces and files.
cleanup() {
    if [[ -f $work/state ]]; then
        while read -r kind what; do
            case $kind in
                pid) kill -KILL "$what" 2>/dev/null || true ;;
                netns) ip netns del "$what" 2>/dev/null || true ;;
            esac
        done <"$work/state"
    fi
    rm -rf "$work"
}
py=""
on_signal() {
    if [[ -n $py ]]; then
        kill -TERM "$py" 2>/dev/null || true
        wait "$py" 2>/dev/null || true
    fi
    exit 130
}
trap cleanup EXIT
trap on_signal INT TERM

cp "$build/src/app/dpdk-twamp" "$work/dpdk-twamp"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src include 2>/dev/null || commit+="+local changes"
buildtype=$(meson introspect "$build" --buildoptions 2>/dev/null |
    /usr/bin/python3 -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; print(o["buildtype"], "-O" + str(o["optimization"]))' 2>/dev/null || echo "?")
# In the background so that a signal reaches the trap at once (bash runs traps only between
# foreground commands).
/usr/bin/python3 perf/bench.py --twamp "$work/dpdk-twamp" --work "$work" --commit "$commit" \
    --build "$build" --build-info "meson buildtype $buildtype, $(c++ --version | head -1)" "$@" &
py=$!
rc=0
wait "$py" || rc=$?
py=""
exit "$rc"
