// The exception path's classification of a frame (issue 18): which token bucket of its TAP it
// takes. ARP and IPv6 Neighbor Discovery have a bucket of their own, so a flood of other
// frames to the box (ICMP, ...) cannot starve the neighbour entries the reflector's peers and
// the control server depend on; TWAMP-Control TCP has its own, in which a segment with SYN
// set (a SYN, or the kernel's SYN-ACK) also takes a SYN sub-bucket at half the rate, so a SYN
// flood at the control port cannot take the share of established connections. Bounds
// checked like parse_frame; nothing is written. No DPDK.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>

#include "twamp/proto/bytes.hpp"
#include "twamp/proto/packet.hpp"
#include "twamp/proto/tcp_ports.hpp"

namespace twamp::proto {

inline constexpr uint8_t ipproto_icmpv6 = 58;
inline constexpr uint8_t tcp_flag_syn = 0x02;

enum class exception_class : uint8_t {
    other,       // everything else: exception.rate-limit-pps
    neighbor,    // ARP, or ICMPv6 133..137 (RFC 4861 Router/Neighbor Solicitation and
                 // Advertisement, Redirect): exception.neighbor-rate-limit-pps
    control,     // TCP to (wire -> kernel) or from (kernel -> wire) control.port, SYN clear:
                 // exception.control-rate-limit-pps
    control_syn, // the same with SYN set: the control bucket and a SYN bucket at half its rate
};

// `control_port` 0: no control server (no frame is control). `from_kernel`: the kernel ->
// wire direction (the control port is the source port), else wire -> kernel (destination).
inline exception_class classify_exception(std::span<const uint8_t> frame, uint16_t control_port,
                                          bool from_kernel) noexcept {
    const parsed_frame pf = parse_frame(frame);
    if (pf.kind == frame_kind::non_ip) {
        return pf.ethertype == ethertype_arp ? exception_class::neighbor : exception_class::other;
    }
    if (pf.kind != frame_kind::ip_other || pf.fragment) {
        return exception_class::other;
    }
    const std::size_t l4 = std::size_t{pf.l3_off} + pf.l3_hdr_len;
    const std::size_t end = std::min<std::size_t>(pf.l3_end(), frame.size());
    if (pf.ip_version == 6 && pf.l4_proto == ipproto_icmpv6) {
        if (l4 + 1 > end) {
            return exception_class::other;
        }
        const uint8_t type = frame[l4];
        return type >= 133 && type <= 137 ? exception_class::neighbor : exception_class::other;
    }
    if (control_port == 0 || pf.l4_proto != ipproto_tcp || l4 + 14 > end) {
        return exception_class::other; // the flags are octet 13 of the TCP header
    }
    const uint16_t port = load_be16(frame.data() + l4 + (from_kernel ? 0 : 2));
    if (port != control_port) {
        return exception_class::other;
    }
    return frame[l4 + 13] & tcp_flag_syn ? exception_class::control_syn : exception_class::control;
}

} // namespace twamp::proto
