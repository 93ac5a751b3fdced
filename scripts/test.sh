#!/usr/bin/env bash
# The test command: set-up, build, every test tier, and one summary line.
#   sudo scripts/test.sh            everything (what .ci/run does)
#   FUZZ_SECONDS=10 scripts/test.sh shorter fuzzing
# Ends with the plain line "N passed, N failed[, N skipped]"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
LOG=$top/$BUILD-test.log

passed=0
failed=0
skipped=0
count() { # count <passed> <failed> [skipped]
    passed=$((passed + $1))
    failed=$((failed + $2))
    skipped=$((skipped + ${3:-0}))
}
finish() {
    echo
    echo "details: $LOG"
    if [[ $skipped -gt 0 ]]; then
        echo "$passed passed, $failed failed, $skipped skipped"
    else
        echo "$passed passed, $failed failed"
    fi
    [[ $failed -eq 0 ]]
    exit $?
}

echo "== set-up"
if ! scripts/setup.sh >/tmp/dpdk-twamp-setup.log 2>&1; then
    cat /tmp/dpdk-twamp-setup.log
    echo "set-up failed"
    count 0 1
    finish
fi
tail -n 1 /tmp/dpdk-twamp-setup.log
: >"$LOG"

echo "== format (clang-format, .clang-format)"
mapfile -t sources < <(git ls-files '*.cpp' '*.hpp' '*.h' 2>/dev/null)
bad=()
for f in "${sources[@]}"; do
    [[ -f $f ]] || continue
    clang-format --dry-run --Werror "$f" >>"$LOG" 2>&1 || bad+=("$f")
done
if [[ ${#bad[@]} -eq 0 ]]; then
    echo "  ${#sources[@]} files formatted"
    count 1 0
else
    echo "  FAIL format: ${bad[*]} (run: clang-format -i <file>)"
    count 0 1
fi

echo "== build ($BUILD, debugoptimized)"
if [[ ! -f $BUILD/build.ninja ]]; then
    meson setup "$BUILD" >>"$LOG" 2>&1 || { tail -n 30 "$LOG"; count 0 1; finish; }
fi
if ! ninja -C "$BUILD" >>"$LOG" 2>&1; then
    grep -E 'error|FAILED' "$LOG" | head -n 30
    echo "  FAIL build"
    count 0 1
    finish
fi
echo "  built"

echo "== tests"
totals=$(mktemp)
scripts/run_tests.py "$BUILD" --suite unit --suite dpdk --suite integration \
    --log "$LOG" --totals "$totals"
read -r p f s <"$totals"
rm -f "$totals"
count "$p" "$f" "$s"

echo "== fuzz (${FUZZ_SECONDS}s per target)"
if [[ $FUZZ_SECONDS -gt 0 ]]; then
    totals=$(mktemp)
    scripts/fuzz.sh "$FUZZ_SECONDS" --totals "$totals" 2>&1 | tee -a "$LOG" | grep -E '^  '
    read -r p f <"$totals" || { p=0; f=1; }
    rm -f "$totals"
    count "$p" "$f"
fi

finish
