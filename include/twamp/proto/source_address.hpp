// Sources a reflector must never answer, whatever its ACL says: a reply to them loops, floods
// or goes nowhere (issue 12, "the dataplane as a weapon"). Pure and DPDK-free; the per-packet
// checks are inline (the worker and check_test_packet call them on every test packet), the
// start-up helpers are in src/proto/source_address.cpp. Unit tests:
// tests/unit/proto/test_source_address.cpp, one row per registry entry.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

#include "twamp/proto/bytes.hpp"

namespace twamp::proto {

// An Ethernet source address no reply may go to: a group address (the I/G bit, the lowest bit
// of the first octet: IEEE 802 says a source address is always an individual one; this takes
// ff:ff:ff:ff:ff:ff, 01:00:5e:.. and 33:33:.. alike) or all zeros (no station). The reply goes
// to the request's Ethernet source: to a group it floods the segment.
inline bool bad_source_mac(const uint8_t* mac) noexcept {
    uint32_t a;
    uint16_t b;
    std::memcpy(&a, mac, 4);
    std::memcpy(&b, mac + 4, 2);
    return (mac[0] & 1) != 0 || (a | b) == 0;
}

// The IANA IPv4 Special-Purpose Address Registry (RFC 6890, RFC 8190), read by its columns:
// an entry is IN (the source is dropped) when a reply cannot be sent to it (Destination
// False), or when it is not an individual address at all. An entry that a reply can reach is
// OUT, whatever its Forwardable / Globally Reachable columns say: the sender is on a path
// where it is reachable, or it could not have sent the request.
//
//   IN  0.0.0.0/8 "this network" (and 0.0.0.0/32): Destination False (RFC 1122 §3.2.1.3)
//   IN  127.0.0.0/8 loopback: Source and Destination False; a reply would stay in the sender
//   IN  192.0.0.8/32 IPv4 dummy address (RFC 7600): Destination False
//   IN  192.0.0.170/32, 192.0.0.171/32 NAT64/DNS64 discovery (RFC 8880): Destination False
//   IN  192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 documentation (RFC 5737): Destination
//       False
//   IN  240.0.0.0/4 reserved: Destination False; with it
//   IN  255.255.255.255/32 limited broadcast (Destination True, but a broadcast: a reply
//       floods the link; RFC 1122 §3.2.1.3 forbids it as a source)
//   IN  224.0.0.0/4 multicast (its own registry; RFC 1112 §4, RFC 1122 §3.2.1.3: never a
//       source)
//   OUT 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 private-use, 100.64.0.0/10 shared,
//       198.18.0.0/15 benchmarking, 169.254.0.0/16 link-local (the reply stays on the link it
//       came from), 192.0.0.0/29 service continuity, 192.0.0.9/32 PCP and 192.0.0.10/32
//       TURN anycast, 192.31.196.0/24 and 192.175.48.0/24 AS112, 192.52.193.0/24 AMT,
//       192.88.99.0/24 (deprecated 6to4 relay anycast, RFC 7526: Destination N/A; 192.88.99.2
//       6a44 relay is Destination True): all Destination True.
//   OUT the rest of 192.0.0.0/24 "IETF protocol assignments": its row says Destination False
//       only for what has no more specific assignment, and IANA keeps assigning from it; a
//       reply to an unassigned address reaches no one (no loop, no flood), while dropping it
//       would silently drop the users of a later assignment.
// `s`: the source address, 4 octets in network order.
inline bool unanswerable_ipv4_source(const uint8_t* s) noexcept {
    const uint32_t a = load_be32(s);
    const uint32_t n24 = a >> 8;
    // By the first octet: most sources take two or three compares and one branch.
    switch (a >> 24) {
    case 192:
        return n24 == 0xc00002 ||              // 192.0.2.0/24 TEST-NET-1
               a == 0xc0000008 ||              // 192.0.0.8
               (a >> 1) == (0xc00000aau >> 1); // 192.0.0.170/31
    case 198:
        return n24 == 0xc63364; // 198.51.100.0/24 TEST-NET-2
    case 203:
        return n24 == 0xcb0071; // 203.0.113.0/24 TEST-NET-3
    default:
        // 0/8, 127/8, 224/4 multicast, 240/4 with 255.255.255.255
        return (a >> 24) == 0 || (a >> 24) == 127 || (a >> 24) >= 224;
    }
}

// The IANA IPv6 Special-Purpose Address Registry, read as the IPv4 one above:
//
//   IN  ::/128 unspecified (Source True, Destination False) and ::1/128 loopback (both
//       False), within
//   IN  ::/96 IPv4-compatible (RFC 4291 §2.5.5.1, deprecated; not in the registry: no node
//       has such an address, and ::198.18.0.2 names an IPv4 node that IPv6 cannot reach)
//   IN  ::ffff:0:0/96 IPv4-mapped: Source and Destination False (an API form, never on the
//       wire, RFC 4291 §2.5.5.2)
//   IN  100:0:0:1::/64 dummy prefix (RFC 9780): Destination False
//   IN  2001:10::/28 deprecated ORCHID (RFC 4843): Destination False
//   IN  2001:db8::/32 (RFC 3849) and 3fff::/20 (RFC 9637) documentation: Destination False
//   IN  ff00::/8 multicast (its own registry; RFC 4291 §2.7: never a source)
//   OUT 64:ff9b::/96, 64:ff9b:1::/48 translation, 100::/64 discard-only (Destination True: a
//       reply is discarded on its way, no harm), 2001::/32 Teredo, 2001:1::1..3 anycast,
//       2001:2::/48 benchmarking, 2001:3::/32 AMT, 2001:4:112::/48 AS112, 2001:20::/28
//       ORCHIDv2, 2001:30::/28 DRIP, 2002::/16 6to4, 2620:4f:8000::/48 AS112, 5f00::/16 SRv6
//       SIDs, fc00::/7 unique-local, fe80::/10 link-local (on the link it came from): all
//       Destination True.
//   OUT the rest of 2001::/23, for the reason given for 192.0.0.0/24 above (2001:30::/28
//       was assigned in 2022, 2001:1::3/128 in 2024).
// `s`: the source address, 16 octets.
inline bool unanswerable_ipv6_source(const uint8_t* s) noexcept {
    const uint64_t hi = load_be64(s);
    if ((hi >> 56) == 0xff) {
        return true; // ff00::/8
    }
    if (hi == 0) {
        const uint64_t top = load_be64(s + 8) >> 32;
        return top == 0 || top == 0xffff; // ::/96 (with :: and ::1), ::ffff:0:0/96
    }
    return (hi >> 32) == 0x20010db8 || // 2001:db8::/32
           (hi >> 44) == 0x3fff0 ||    // 3fff::/20
           (hi >> 36) == 0x2001001 ||  // 2001:10::/28
           hi == 0x0100000000000001;   // 100:0:0:1::/64
}

// The modified EUI-64 interface identifier of a MAC address (RFC 4291 §2.5.1, Appendix A:
// the MAC with ff:fe in the middle and the universal/local bit inverted). The kernel's default
// address generation gives the exception TAP (which has the port's MAC) the link-local address
// fe80::/64 with this identifier, and any address it autoconfigures from a Router
// Advertisement (SLAAC) the same: the box answers from all of them.
std::array<uint8_t, 8> eui64_interface_id(const uint8_t* mac) noexcept;

// The addresses of one of the box's subnets that no reply may go to, 16 octets each in the
// dataplane's form (IPv4-mapped for IPv4). `addr` is an address in the subnet, `len` its
// prefix length (0..32 for IPv4, 0..128 for IPv6).
//   IPv4 /0../30: the network address (all host bits zero: historically a broadcast, RFC
//     1122 §3.2.1.3 forbids it as a source) and the directed broadcast (all ones, RFC 922;
//     a reply to it floods the subnet, or is forwarded there). /31 and /32 have neither
//     (RFC 3021: both addresses of a /31 are hosts).
//   IPv6 /0../126: the Subnet-Router anycast address (the prefix with a zero interface
//     identifier, RFC 4291 §2.6.1): it belongs to every router on the link, a reply to it
//     goes to whichever router takes it, not to a sender. /127 and /128 have none (RFC 6164
//     §6: on a /127 link both addresses are the two ends). The RFC 2526 reserved anycast
//     identifiers are not taken: they are assigned per protocol and may be answered.
struct subnet_addresses {
    std::array<std::array<uint8_t, 16>, 2> addr{};
    unsigned n = 0;
};
subnet_addresses unanswerable_subnet_addresses(const std::array<uint8_t, 16>& addr, bool v6,
                                               unsigned len) noexcept;

} // namespace twamp::proto
