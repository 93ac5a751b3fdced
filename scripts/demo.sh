#!/usr/bin/env bash
# The demo: dpdk-twamp reflecting TWAMP Light and STAMP over IPv4 and IPv6, no NIC needed.
#
#   sudo scripts/demo.sh          set up, build, run, print the results, remove everything
#   sudo scripts/demo.sh --keep   leave the lab and the reflector running, print how to reach it
#   sudo scripts/demo.sh --down   remove what a --keep run left behind
#
# Steps: scripts/setup.sh (Debian packages, idempotent), build (meson setup build when missing,
# ninja -C build for dpdk-twamp and twamp-ping), the namespace lab of DESIGN.md
# (scripts/lab.sh up twdemo), dpdk-twamp in namespace twdemor on net_af_packet with
# conf/demo.conf, then twamp-ping from namespace twdemos against the four reflector endpoints
# (TWAMP Light, STAMP and full TWAMP, IPv4 and IPv6), then the reflector's own counters.
# Exit 0 only when every run got replies. Everything it creates is removed on exit, also on
# Ctrl-C or failure (unless --keep).
set -euo pipefail

LAB=twdemo             # scripts/lab.sh name: namespaces twdemor/twdemos (<= 6 characters)
NS_R=${LAB}r
NS_S=${LAB}s
PREFIX=$LAB            # EAL --file-prefix
STATE=/run/dpdk-twamp-demo
COUNT=${DEMO_COUNT:-30}       # packets per run
INTERVAL=${DEMO_INTERVAL:-0.1} # seconds between them
# The box's addresses and ports, as in conf/demo.conf and scripts/lab.sh.
BOX4=198.18.0.2
BOX6=2001:2::2
LIGHT_PORT=862
STAMP_PORT=64365

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
REFLECTOR=build/src/app/dpdk-twamp
PING=build/src/sender/twamp-ping
CONF=conf/demo.conf

usage() {
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
}

keep=0
down_only=0
for a in "$@"; do
    case "$a" in
    --keep) keep=1 ;;
    --down) down_only=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        echo "demo.sh: unknown argument \"$a\"" >&2
        usage >&2
        exit 2
        ;;
    esac
done

if [[ $(id -u) -ne 0 ]]; then
    echo "demo.sh: run as root (namespaces, DPDK, package set-up): sudo scripts/demo.sh" >&2
    exit 2
fi

say() { printf '\n== %s\n' "$*"; }

# Stops the reflector this script (or an earlier --keep run) started: its pid is in $STATE.
stop_reflector() {
    local pid
    pid=$(cat "$STATE/reflector.pid" 2>/dev/null || true)
    [[ -n $pid ]] || return 0
    # Only a dpdk-twamp we started: the pid file may be stale after a reboot.
    if [[ -d /proc/$pid ]] && grep -q dpdk-twamp "/proc/$pid/cmdline" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do
            [[ -d /proc/$pid ]] || break
            sleep 0.1
        done
        if [[ -d /proc/$pid ]]; then
            echo "demo.sh: dpdk-twamp (pid $pid) ignored SIGTERM for 10 s: SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$STATE/reflector.pid"
}

remove_all() {
    stop_reflector
    scripts/lab.sh down "$LAB"
    rm -rf "/var/run/dpdk/$PREFIX"
    rm -rf "$STATE"
}

if ((down_only)); then
    remove_all
    echo "demo.sh: lab $LAB and its reflector removed"
    exit 0
fi

cleanup_needed=0
cleanup() {
    local rc=$?
    if ((cleanup_needed)); then
        remove_all
    elif [[ ! -f $STATE/reflector.pid ]]; then
        rm -rf "$STATE" # only logs of this run; a --keep run's reflector keeps its pid file
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "demo.sh: interrupted" >&2; exit 130' INT TERM

# ---- 1. set-up and build ----------------------------------------------------------------------
say "set-up (scripts/setup.sh: Debian packages)"
scripts/setup.sh

say "build (build/: dpdk-twamp and twamp-ping)"
mkdir -p "$STATE"
if [[ ! -f build/build.ninja ]]; then
    meson setup build >"$STATE/meson-setup.log" 2>&1 || {
        cat "$STATE/meson-setup.log" >&2
        echo "demo.sh: meson setup build failed" >&2
        exit 1
    }
fi
if ! ninja -C build src/app/dpdk-twamp src/sender/twamp-ping >"$STATE/build.log" 2>&1; then
    tail -40 "$STATE/build.log" >&2
    echo "demo.sh: build failed (full log: $STATE/build.log)" >&2
    exit 1
fi
echo "built $REFLECTOR and $PING"
"$REFLECTOR" -- -c "$CONF" --check

# ---- 2. the lab and the reflector ---------------------------------------------------------------
say "lab: namespaces $NS_R (reflector) and $NS_S (sender), veth ${NS_R}0 <-> ${NS_S}0"
stop_reflector # one a previous --keep run left running
cleanup_needed=1
scripts/lab.sh up "$LAB"
echo "sender ${NS_S}0: 198.18.0.1/24, 2001:2::1/64; box (dpdk-twamp): $BOX4/24, $BOX6/64"

say "reflector: dpdk-twamp in $NS_R with $CONF"
REFLECTOR_CMD=(ip netns exec "$NS_R" "$REFLECTOR" -l 0-1 --no-huge -m 1024 --no-pci --no-shconf
    --file-prefix "$PREFIX" -- -c "$CONF")
echo "${REFLECTOR_CMD[*]}"
"${REFLECTOR_CMD[@]}" >"$STATE/reflector.log" 2>&1 </dev/null &
rpid=$!
echo "$rpid" >"$STATE/reflector.pid"
ready=0
for _ in $(seq 300); do
    if ! kill -0 "$rpid" 2>/dev/null; then
        cat "$STATE/reflector.log" >&2
        echo "demo.sh: dpdk-twamp exited during start-up" >&2
        exit 1
    fi
    if grep -q "^  reflector stamp:" "$STATE/reflector.log"; then
        ready=1
        break
    fi
    sleep 0.1
done
if ((!ready)); then
    cat "$STATE/reflector.log" >&2
    echo "demo.sh: dpdk-twamp did not report its start-up within 30 s" >&2
    exit 1
fi
grep -E '^(dpdk-twamp|  )' "$STATE/reflector.log"
METRICS_URL=$(sed -n 's/^  metrics: \(http[^ ]*\).*/\1/p' "$STATE/reflector.log" | head -1)

# The box's kernel answers ARP/ND and ICMP through the TAP: wait until both families do (IPv6
# duplicate address detection on the TAP takes a moment).
for addr in $BOX4 $BOX6; do
    ok=0
    for _ in $(seq 20); do
        if ip netns exec "$NS_S" ping -c 1 -W 1 "$addr" >/dev/null 2>&1; then
            ok=1
            break
        fi
        sleep 0.5
    done
    if ((ok)); then
        echo "ping $addr: answered (ICMP through the exception path)"
    else
        echo "ping $addr: no answer yet (twamp-ping will tell)" >&2
    fi
done

# ---- 3. twamp-ping against each endpoint --------------------------------------------------------
runs=(
    "TWAMP Light, IPv4|--mode light $BOX4"
    "TWAMP Light, IPv6|--mode light [$BOX6]:$LIGHT_PORT"
    "STAMP, IPv4|--mode stamp $BOX4:$STAMP_PORT"
    "STAMP, IPv6|--mode stamp [$BOX6]:$STAMP_PORT"
    "full TWAMP (TWAMP-Control), IPv4|--mode twamp $BOX4"
    "full TWAMP (TWAMP-Control), IPv6|--mode twamp [$BOX6]"
)
failed=0
for r in "${runs[@]}"; do
    title=${r%%|*}
    read -r -a args <<<"${r#*|}"
    say "$title: twamp-ping -q -c $COUNT -i $INTERVAL ${args[*]}"
    # In the background and waited for: like ping, twamp-ping ends on Ctrl-C with its summary
    # and a normal exit status, and bash does not run its INT trap for a foreground child that
    # caught the signal itself; an interrupted `wait` does run it.
    ip netns exec "$NS_S" "$PING" -q -c "$COUNT" -i "$INTERVAL" "${args[@]}" &
    if ! wait $!; then
        echo "demo.sh: $title: no replies" >&2
        failed=$((failed + 1))
    fi
done

if ((keep)); then
    cleanup_needed=0
    say "kept running"
    echo "The lab and dpdk-twamp (pid $rpid, log $STATE/reflector.log) keep running. From $ROOT:"
    line() { printf '  %-84s # %s\n' "$1" "$2"; }
    line "sudo ip netns exec $NS_S $PING $BOX4" "TWAMP Light, IPv4"
    line "sudo ip netns exec $NS_S $PING [$BOX6]:$LIGHT_PORT" "TWAMP Light, IPv6"
    line "sudo ip netns exec $NS_S $PING --mode stamp $BOX4:$STAMP_PORT" "STAMP, IPv4"
    line "sudo ip netns exec $NS_S $PING --mode stamp [$BOX6]:$STAMP_PORT" "STAMP, IPv6"
    line "sudo ip netns exec $NS_S $PING --mode twamp $BOX4" "full TWAMP, IPv4"
    line "sudo ip netns exec $NS_S $PING --mode twamp [$BOX6]" "full TWAMP, IPv6"
    line "sudo ip netns exec $NS_S ping $BOX4" "the box's kernel, through the TAP"
    if [[ -n $METRICS_URL ]]; then
        line "sudo ip netns exec $NS_R curl -s $METRICS_URL" "Prometheus metrics"
    fi
    echo "Sender namespace $NS_S: ${NS_S}0 with 198.18.0.1/24 and 2001:2::1/64. The box: $BOX4 and"
    echo "$BOX6, TWAMP Light on UDP $LIGHT_PORT, STAMP on UDP $STAMP_PORT; its kernel side is TAP ${LAB}0 in $NS_R."
    echo "Remove it all: sudo scripts/demo.sh --down"
    exit $((failed > 0))
fi

# ---- 4. the reflector's counters ----------------------------------------------------------------
say "reflector counters"
if [[ -n $METRICS_URL ]]; then
    echo "from $METRICS_URL (in $NS_R), Gufo Agent's four counters:"
    ip netns exec "$NS_R" curl -s --max-time 5 "$METRICS_URL" |
        grep -E '^twamp_reflector_(session_attempts|session_started|reflected_pkt|reflected_octets)[ {]' ||
        echo "(metrics endpoint did not answer)"
fi
echo "dpdk-twamp's exit summary after SIGTERM:"
stop_reflector
grep "stopped:" "$STATE/reflector.log" || {
    tail -20 "$STATE/reflector.log"
    echo "demo.sh: no exit summary from dpdk-twamp" >&2
    failed=$((failed + 1))
}

say "result"
if ((failed)); then
    echo "reflector log (last lines):"
    tail -20 "$STATE/reflector.log"
    echo "FAIL: $failed problem(s): see above"
    exit 1
fi
echo "PASS: ${#runs[@]} of ${#runs[@]} runs got their replies (TWAMP Light, STAMP and full TWAMP, IPv4 and IPv6)"
