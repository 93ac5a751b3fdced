#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time (DESIGN.md "Testing, in tiers", tier 4).
#   scripts/fuzz.sh [SECONDS] [--totals FILE]
# SECONDS per target (default 60). Configures and builds build-fuzz (clang, ASan+UBSan) when
# needed. Targets are found, not listed: every executable meson builds under tests/fuzz named
# fuzz_*, and every tests/fuzz/fuzz_*.cpp (one without a built executable is a failure, so a
# target cannot be forgotten in meson.build). Each runs on a temporary copy of its checked-in
# corpus (tests/fuzz/corpus/<target>/ is never written); findings go to build-fuzz/artifacts/.
# Prints one line per target starting with two spaces, writes "PASSED FAILED" (targets clean,
# targets with findings) to the --totals file and exits non-zero when anything was found.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

seconds=60
totals=
while [[ $# -gt 0 ]]; do
    case $1 in
    --totals)
        totals=${2:?--totals needs a file}
        shift 2
        ;;
    --totals=*)
        totals=${1#--totals=}
        shift
        ;;
    -h | --help)
        sed -n '2,10p' "$0"
        exit 0
        ;;
    *)
        if [[ $1 =~ ^[0-9]+$ ]]; then
            seconds=$1
            shift
        else
            echo "usage: scripts/fuzz.sh [SECONDS] [--totals FILE]" >&2
            exit 2
        fi
        ;;
    esac
done

BUILD=${FUZZ_BUILD:-build-fuzz}
artifacts=$top/$BUILD/artifacts
log=$top/$BUILD/fuzz.log
passed=0
failed=0

write_totals() {
    if [[ -n $totals ]]; then
        echo "$passed $failed" >"$totals"
    fi
}
# Counts as one failed target and stops: nothing could be fuzzed.
give_up() {
    echo "  fuzz: FAIL ($1, see $log)"
    failed=$((failed + 1))
    write_totals
    exit 1
}

mkdir -p "$BUILD"
: >"$log"
if [[ ! -f $BUILD/build.ninja ]]; then
    rm -rf "$BUILD/meson-private" "$BUILD/meson-info" "$BUILD/meson-logs"
    CXX=${FUZZ_CXX:-clang++} meson setup "$BUILD" -Dfuzz=true -Dtests=false -Dperf=false \
        -Ddataplane=disabled -Dbuildtype=debugoptimized >>"$log" 2>&1 ||
        give_up "meson setup $BUILD"
fi
# Build everything; a target that does not compile fails alone below, the others still run.
if ! ninja -C "$BUILD" >>"$log" 2>&1; then
    echo "(build of $BUILD failed; building the targets one by one)" >>"$log"
    [[ -f $BUILD/build.ninja ]] || give_up "configure $BUILD"
fi

# Targets: meson's executables named fuzz_* from tests/fuzz, plus the sources that should be.
declare -A target_path=()
while IFS=$'\t' read -r name path; do
    [[ -n $name ]] && target_path[$name]=$path
done < <(meson introspect --targets "$BUILD" 2>>"$log" | /usr/bin/python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if t["type"] == "executable" and t["name"].startswith("fuzz_") \
            and t["defined_in"].endswith("tests/fuzz/meson.build"):
        print(t["name"], t["filename"][0], sep="\t")
')
for src in tests/fuzz/fuzz_*.cpp; do
    [[ -f $src ]] || continue
    name=$(basename "$src" .cpp)
    [[ -n ${target_path[$name]+x} ]] || target_path[$name]=
done
if [[ ${#target_path[@]} -eq 0 ]]; then
    give_up "no fuzz targets found"
fi

mkdir -p "$artifacts"
work=$(mktemp -d "${TMPDIR:-/tmp}/twamp-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

for name in $(printf '%s\n' "${!target_path[@]}" | sort); do
    exe=${target_path[$name]}
    if [[ -z $exe ]]; then
        echo "  $name: FAIL (tests/fuzz/$name.cpp has no executable: add it to tests/fuzz/meson.build)"
        failed=$((failed + 1))
        continue
    fi
    # Up to date or not built at all: never fuzz a stale binary of a target that broke.
    if ! ninja -C "$BUILD" "$(realpath --relative-to="$BUILD" "$exe")" >>"$log" 2>&1 || [[ ! -x $exe ]]; then
        echo "  $name: FAIL (does not build, see $log)"
        failed=$((failed + 1))
        continue
    fi
    corpus=$work/$name
    mkdir -p "$corpus"
    if [[ -d tests/fuzz/corpus/$name ]]; then
        cp -r "tests/fuzz/corpus/$name/." "$corpus/"
    fi
    mkdir -p "$artifacts/$name"
    out=$artifacts/$name/fuzz.log
    stamp=$work/$name.start
    touch "$stamp"
    start=$(date +%s)
    # One process, one job: the machine is shared. -max_total_time bounds the run;
    # -timeout/-rss_limit_mb turn hangs and memory blow-ups into findings.
    "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/$name/" "$corpus" >"$out" 2>&1
    rc=$?
    elapsed=$(($(date +%s) - start))
    cat "$out" >>"$log"
    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$out" | tail -n 1)
    # Findings: crash-*, leak-*, timeout-*, oom-*, slow-unit-* files written by this run.
    new_artifacts=$(find "$artifacts/$name" -maxdepth 1 -type f ! -name fuzz.log -newer "$stamp" \
        -printf '%f\n' | sort | head -n 3 | tr '\n' ' ')
    if [[ $rc -eq 0 && -z $new_artifacts ]]; then
        echo "  $name: ok, ${execs:-0} execs in $elapsed s"
        passed=$((passed + 1))
    else
        what=${new_artifacts:-exit code $rc}
        echo "  $name: FAIL (${what% }, see $out)"
        failed=$((failed + 1))
    fi
done

write_totals
[[ $failed -eq 0 ]]
