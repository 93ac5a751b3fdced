#!/bin/sh
# twamp-ping's memory over a long run (issue 19): feeds 10^8 replies through its reply
# bookkeeping and statistics (perf/ping_memory_bench.cpp) and prints RSS at 10 checkpoints.
# A bounded design shows the same RSS from the first checkpoint to the last.
#   perf/ping_memory.sh [BUILD_DIR] [SAMPLES]      (default build, 100000000)
set -eu
build=${1:-build}
samples=${2:-100000000}
nice ninja -C "$build" perf/ping_memory_bench >/dev/null
/usr/bin/time -v "$build/perf/ping_memory_bench" "$samples" 10 2>"${TMPDIR:-/tmp}/ping_memory.time"
grep -E "Maximum resident|Elapsed" "${TMPDIR:-/tmp}/ping_memory.time"
