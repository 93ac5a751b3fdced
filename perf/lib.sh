# Shared by perf/bench.sh and perf/load.sh (sourced, not run): the root and tool checks, the
# build, a work directory whose processes and namespaces are ended whatever happens, and the
# Python driver run so that a signal reaches the trap at once.
#   perf_start NAME TOOL...     root, the tools, $build (BUILD or build/) set up
#   perf_workdir PREFIX         $work, the EXIT/INT/TERM traps (ends what $work/state lists)
#   perf_run CMD...             CMD in the background, waited for; exits with its status

perf_start() {
    perf_name=$1
    shift
    [[ $(id -u) == 0 ]] || {
        echo "$perf_name: needs root (network namespaces, DPDK): sudo $0" >&2
        exit 1
    }
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || {
            echo "$perf_name: $tool not found" >&2
            exit 1
        }
    done
    build=${BUILD:-build}
    if [[ ! -f $build/build.ninja ]]; then
        meson setup "$build"
    fi
}

# Whatever happens, end what the run started (by PID) and remove its namespaces and files.
perf_cleanup() {
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

perf_on_signal() {
    if [[ -n ${perf_py:-} ]]; then
        kill -TERM "$perf_py" 2>/dev/null || true
        wait "$perf_py" 2>/dev/null || true
    fi
    exit 130
}

perf_workdir() {
    work=$(mktemp -d "/tmp/$1.XXXXXX")
    perf_py=""
    trap perf_cleanup EXIT
    trap perf_on_signal INT TERM
}

# In the background so that a signal reaches the trap at once (bash runs traps only between
# foreground commands).
perf_run() {
    "$@" &
    perf_py=$!
    local rc=0
    wait "$perf_py" || rc=$?
    perf_py=""
    exit "$rc"
}
