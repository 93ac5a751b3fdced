#!/usr/bin/env bash
# The namespace lab of DESIGN.md: two test hosts joined by a veth pair, nothing else.
#
#   scripts/lab.sh up   [NAME]   create  (NAME, default "tw", prefixes every object: <=6 chars)
#   scripts/lab.sh down [NAME]   remove everything "up" created (idempotent)
#
#   ${NAME}r  reflector side: dpdk-twamp runs here with net_af_packet on ${NAME}r0, which has
#             no address and ARP off, so every reply provably comes through DPDK.
#   ${NAME}s  sender side: ${NAME}s0 with 198.18.0.1/24 and 2001:2::1/64, VLAN 100 on it
#             when the kernel has 8021q (${NAME}s0.100, 198.19.0.1/24, 2001:2:0:100::1/64).
#             No default route.
# The box's own addresses (in dpdk-twamp's config, served through its TAP): 198.18.0.2/24,
# 2001:2::2/64, VLAN 100: 198.19.0.2/24, 2001:2:0:100::2/64. Addresses only from the
# benchmarking ranges 198.18.0.0/15 and 2001:2::/48.
set -euo pipefail
cmd=${1:-}
N=${2:-tw}
if [[ ${#N} -gt 6 ]]; then
    echo "lab.sh: name '$N' too long (at most 6 characters)" >&2
    exit 2
fi
R=${N}r
S=${N}s

down() {
    ip netns del "$R" 2>/dev/null || true
    ip netns del "$S" 2>/dev/null || true
}

up() {
    down
    ip netns add "$R"
    ip netns add "$S"
    ip link add "${R}0" netns "$R" type veth peer name "${S}0" netns "$S"
    ip -n "$R" link set lo up
    ip -n "$S" link set lo up
    # Reflector end: no address, no ARP, no IPv6 autoconf: the kernel must not answer here.
    ip netns exec "$R" sysctl -qw "net.ipv6.conf.${R}0.disable_ipv6=1"
    # The veth end carries the same MAC as dpdk-twamp's TAP, so the kernel would take the test
    # packets it sees there for its own (its addresses live on the TAP, same namespace) and
    # answer "port unreachable". Strict reverse-path filtering drops them: their sources are
    # routed via the TAP, not this interface. (A NIC bound to vfio-pci has no such twin.)
    ip netns exec "$R" sysctl -qw net.ipv4.conf.all.rp_filter=1
    ip netns exec "$R" sysctl -qw "net.ipv4.conf.${R}0.rp_filter=1"
    ip -n "$R" link set "${R}0" arp off up
    # Sender end. veth would leave UDP/TCP checksums to "hardware" that never runs: a real
    # wire carries complete checksums, and the reflector verifies them.
    ip netns exec "$S" ethtool -K "${S}0" tx off >/dev/null
    ip -n "$S" link set "${S}0" up
    ip -n "$S" addr add 198.18.0.1/24 dev "${S}0"
    ip -n "$S" addr add 2001:2::1/64 dev "${S}0" nodad
    # VLAN 100 needs the kernel's 8021q support, which some sandboxes lack: tests that need
    # it send tagged frames with scapy on ${S}0 instead.
    if ip -n "$S" link add link "${S}0" name "${S}0.100" type vlan id 100 2>/dev/null; then
        ip netns exec "$S" ethtool -K "${S}0.100" tx off >/dev/null 2>&1 || true
        ip -n "$S" link set "${S}0.100" up
        ip -n "$S" addr add 198.19.0.1/24 dev "${S}0.100"
        ip -n "$S" addr add 2001:2:0:100::1/64 dev "${S}0.100" nodad
    fi
}

case "$cmd" in
up) up ;;
down) down ;;
*)
    echo "usage: lab.sh up|down [NAME]" >&2
    exit 2
    ;;
esac
