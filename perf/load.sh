#!/usr/bin/env bash
# Controlled load on dpdk-twamp (issue 15): twamp-loadgen (perf/loadgen.cpp), a second DPDK
# process, sends valid test packets to dpdk-twamp over a net_memif link at TSC-paced rates;
# an RFC 2544-style binary search finds the zero-loss throughput (the generator's own TX
# refusals reported apart from loss), then a run at 80 % of it reports the residence T3 - T2
# from the replies and from the reflector's own histogram, its busy cycles per packet and each
# thread's on-CPU share. Details in perf/load.py; results in perf/RESULTS.md.
#
#   sudo perf/load.sh [--quick] [--mode light4|light6|stamp4|stamp6] [--sessions N]
#                     [--stateful] [--trial-seconds S] [--steps N] [--confirm N]
#                     [--final-seconds S] [--rsize LOG2] [--sweep PPS,PPS,...] [--budget S]
#
# --quick: 2 s trials, 6 steps, 1 confirmation, 5 s at 80 % (about 30 s; 4 min at worst);
# default: 4 s trials, 8 steps, 2 confirmations, 10 s at 80 % (about 1.5 min). The search stops
# after --budget seconds (200) wherever it is; 600 s end everything. CPUs:
# dpdk-twamp -l 0-1 (its worker on CPU 1), the generator on CPU 0. Needs root, curl, taskset,
# ip. Builds dpdk-twamp and twamp-loadgen in build/ (BUILD=dir for another build directory)
# and runs copies, so a rebuild during the run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
. perf/lib.sh
perf_start load.sh curl taskset ip
ninja -C "$build" src/app/dpdk-twamp perf/twamp-loadgen >/dev/null

perf_workdir twamp-load

cp "$build/src/app/dpdk-twamp" "$build/perf/twamp-loadgen" "$work/"
perf_run timeout -s TERM 600 /usr/bin/python3 perf/load.py --twamp "$work/dpdk-twamp" \
    --loadgen "$work/twamp-loadgen" --work "$work" "$@"
