// Frame parsing: Ethernet with up to two VLAN tags, IPv4, IPv6, UDP. Every access is bounds
// checked against the span; nothing is written.
#pragma once

#include <cstdint>
#include <span>

#include "twamp/proto/drop_reason.hpp"

namespace twamp::proto {

inline constexpr uint16_t ethertype_ipv4 = 0x0800;
inline constexpr uint16_t ethertype_arp = 0x0806;
inline constexpr uint16_t ethertype_ipv6 = 0x86dd;
inline constexpr uint16_t ethertype_vlan = 0x8100; // IEEE 802.1Q C-tag
inline constexpr uint16_t ethertype_qinq = 0x88a8; // IEEE 802.1ad S-tag
inline constexpr uint8_t ipproto_udp = 17;
inline constexpr std::size_t eth_hdr_len = 14;
inline constexpr std::size_t vlan_tag_len = 4;
inline constexpr std::size_t ipv4_min_hdr_len = 20;
inline constexpr std::size_t ipv6_hdr_len = 40;
inline constexpr std::size_t udp_hdr_len = 8;
inline constexpr std::size_t max_vlan_tags = 2;

enum class frame_kind : uint8_t {
    drop,     // malformed: see parsed_frame::reason
    non_ip,   // ARP, LLDP, ...: the kernel's business
    ip_other, // IPv4/IPv6 but not UDP here (ICMP, TCP, IPv6 extension headers, ...)
    udp,      // UDP over IPv4 or IPv6: a reflection candidate
};

struct parsed_frame {
    frame_kind kind = frame_kind::drop;
    drop_reason reason = drop_reason::none;
    uint8_t vlan_count = 0;
    uint8_t ip_version = 0; // 4 or 6, 0 for non-IP
    uint8_t l4_proto = 0;   // IPv4 Protocol / IPv6 Next Header (reported, not guessed)
    uint8_t ttl = 0;        // IPv4 TTL / IPv6 Hop Limit
    bool fragment = false;  // IPv4 MF set or fragment offset non-zero
    uint16_t ethertype = 0; // inner EtherType after the VLAN tags
    uint16_t vlan_id[max_vlan_tags] = {}; // outermost first, 12-bit VIDs
    uint16_t l3_off = 0;                  // offset of the IP header
    uint16_t l3_hdr_len = 0;              // IHL*4 or 40
    uint16_t l3_len = 0;                  // IPv4 Total Length / 40 + IPv6 Payload Length
    uint16_t l4_off = 0;                  // offset of the UDP header
    uint16_t udp_len = 0;                 // UDP Length field (validated against the IP length)
    uint16_t src_port = 0;
    uint16_t dst_port = 0;

    // The innermost VLAN ID, 0 when untagged (what a reflector context is keyed on).
    constexpr uint16_t vlan() const noexcept { return vlan_count ? vlan_id[vlan_count - 1] : 0; }
    constexpr uint16_t payload_off() const noexcept { return static_cast<uint16_t>(l4_off + 8); }
    constexpr uint16_t payload_len() const noexcept { return static_cast<uint16_t>(udp_len - 8); }
    // End of the IP datagram: anything after it is Ethernet padding.
    constexpr uint16_t l3_end() const noexcept { return static_cast<uint16_t>(l3_off + l3_len); }
};

// Parses L2-L4 structure. Checksums are not verified here (reflect_prepare() does that for
// the packets it turns around; the kernel verifies what goes to it).
parsed_frame parse_frame(std::span<const uint8_t> frame) noexcept;

} // namespace twamp::proto
