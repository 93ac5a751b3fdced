// The one list of reasons a received frame is dropped. The names are stable: they are the
// `reason` label values of the drop metrics, so never rename one, only add.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace twamp::proto {

enum class drop_reason : uint8_t {
    none = 0,              // not a drop (verdict reflect or to-kernel)
    l2_truncated,          // shorter than an Ethernet header, or a VLAN tag cut off
    l2_too_many_vlans,     // more than two VLAN tags
    l2_not_for_us,         // unicast to another MAC address
    ip_bad_version,        // EtherType says IPv4/IPv6, version nibble disagrees
    ipv4_truncated,        // fewer than 20 octets, or fewer than IHL*4
    ipv4_bad_ihl,          // IHL < 5
    ipv4_bad_length,       // Total Length < IHL*4 or past the end of the frame
    ipv4_bad_checksum,     // header checksum does not verify
    ipv4_fragment,         // UDP in a fragment (MF set or offset != 0)
    ipv6_truncated,        // fewer than 40 octets
    ipv6_bad_length,       // Payload Length past the end of the frame
    bad_source_address,    // no reply may go to the source (proto/source_address.hpp)
    udp_truncated,         // fewer than 8 octets of UDP header
    udp_bad_length,        // UDP Length < 8 or disagreeing with the IP length
    udp_bad_checksum,      // UDP checksum does not verify
    udp_zero_checksum,     // IPv6 UDP checksum zero and the context does not allow it
    udp_bad_port,          // source port zero: no way to reply
    test_truncated,        // payload shorter than the 14-octet sender header (RFC 5357 §4.1.2),
                           // TWAMP Light and STAMP alike
    stamp_truncated,       // no longer produced: a STAMP request of 14..43 octets is answered
                           // with the 44-octet base (RFC 8762 §4.6); kept, names are stable
    no_tailroom,           // a short request cannot be extended to its reply base (41 octets
                           // TWAMP, 44 STAMP) in place
    no_reflector,          // UDP to no configured (port, VLAN, address, UDP port)
    acl_denied,            // source outside the reflector's prefixes
    no_session,            // TWAMP-Control receiver port without an accepted session
    exception_ring_full,   // slow path did not keep up with wire -> kernel traffic
    exception_rate_limit,  // over exception.rate-limit-pps
    tx_full,               // the NIC did not accept the reply
    own_source_address,    // source is one of the box's own addresses (a reply would loop)
    bad_source_mac,        // Ethernet source is a group (broadcast, multicast) or all zeros
    ipv4_source_route,     // IPv4 options carry LSRR/SSRR (types 131/137): never answered, as
                           // Linux with accept_source_route=0
    ipv4_bad_options,      // IPv4 options malformed (RFC 791 §3.1: length < 2 or past IHL)
    exception_iface_down,  // for the kernel, but the TAP is down or was deleted
    no_reply_requested,    // not an error: a STAMP Return Path TLV's Control Code says "No Reply
                           // Requested" (RFC 9503 §4.1.1); a stateful session still counts it
    auth_truncated,        // shorter than the authenticated layout its session or reflector uses
                           // (RFC 5357 §4.1.2: 48 octets; RFC 8762 §4.2.2: 112 octets)
    hmac_failed,           // the test packet's HMAC does not verify (RFC 4656 §4.1.2, RFC 8762
                           // §4.4: a packet failing the check is discarded)
    no_key,                // authenticated STAMP reflector with no key for the packet's SSID
    reflector_source_port, // UDP source port is a reflector port (reflectors[].refused-source-
                           // ports): the reply would go to another reflector, which would
                           // answer it, and the two would play ping-pong (RFC 8762 §6)
    rate_limit_reflector,  // over reflectors[].rate-limit-pps (the reflector, all sources)
    rate_limit_prefix,     // over a reflectors[].prefix-limits rule's rate-limit-pps
    rate_limit_source,     // over reflectors[].source-rate-limit-pps (one source address)
    session_rate_limit,    // a new session over reflectors[].source-session-rate (per source)
    session_cap,           // a new flow past max-sessions (reflector or prefix rule) with
                           // over-capacity = "drop"
    exception_control_rate_limit,  // TWAMP-Control TCP for the kernel over its own share of the
                                   // exception path (exception.control-rate-limit-pps)
    exception_neighbor_rate_limit, // ARP / IPv6 ND for the kernel over their own share of the
                                   // exception path (exception.neighbor-rate-limit-pps)
    count_                         // number of values, not a reason
};

inline constexpr std::size_t drop_reason_count = static_cast<std::size_t>(drop_reason::count_);

inline constexpr std::array<std::string_view, drop_reason_count> drop_reason_names = {
        "none",
        "l2_truncated",
        "l2_too_many_vlans",
        "l2_not_for_us",
        "ip_bad_version",
        "ipv4_truncated",
        "ipv4_bad_ihl",
        "ipv4_bad_length",
        "ipv4_bad_checksum",
        "ipv4_fragment",
        "ipv6_truncated",
        "ipv6_bad_length",
        "bad_source_address",
        "udp_truncated",
        "udp_bad_length",
        "udp_bad_checksum",
        "udp_zero_checksum",
        "udp_bad_port",
        "test_truncated",
        "stamp_truncated",
        "no_tailroom",
        "no_reflector",
        "acl_denied",
        "no_session",
        "exception_ring_full",
        "exception_rate_limit",
        "tx_full",
        "own_source_address",
        "bad_source_mac",
        "ipv4_source_route",
        "ipv4_bad_options",
        "exception_iface_down",
        "no_reply_requested",
        "auth_truncated",
        "hmac_failed",
        "no_key",
        "reflector_source_port",
        "rate_limit_reflector",
        "rate_limit_prefix",
        "rate_limit_source",
        "session_rate_limit",
        "session_cap",
        "exception_control_rate_limit",
        "exception_neighbor_rate_limit",
};

constexpr std::string_view to_string(drop_reason r) noexcept {
    auto i = static_cast<std::size_t>(r);
    return i < drop_reason_count ? drop_reason_names[i] : std::string_view("invalid");
}

} // namespace twamp::proto
