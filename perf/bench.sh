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
. perf/lib.sh
perf_start bench.sh dpdk-testpmd curl taskset ip
/usr/bin/python3 -c 'import scapy' 2>/dev/null || {
    echo "bench.sh: /usr/bin/python3 lacks scapy (apt-get install python3-scapy)" >&2
    exit 1
}
ninja -C "$build" src/app/dpdk-twamp >/dev/null
# reflect_bench for the report (absent with -Dperf=false: the report then leaves it out).
ninja -C "$build" perf/reflect_bench >/dev/null 2>&1 || true

perf_workdir twamp-bench

cp "$build/src/app/dpdk-twamp" "$work/dpdk-twamp"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src include 2>/dev/null || commit+="+local changes"
buildtype=$(meson introspect "$build" --buildoptions 2>/dev/null |
    /usr/bin/python3 -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; print(o["buildtype"], "-O" + str(o["optimization"]))' 2>/dev/null || echo "?")
perf_run /usr/bin/python3 perf/bench.py --twamp "$work/dpdk-twamp" --work "$work" \
    --commit "$commit" --build "$build" \
    --build-info "meson buildtype $buildtype, $(c++ --version | head -1)" "$@"
