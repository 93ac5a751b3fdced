// The TCP ports of a frame, for the exception path's classification of TWAMP-Control (issue
// 18: its own token bucket). Bounds checked like parse_frame; nothing is written.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "twamp/proto/bytes.hpp"
#include "twamp/proto/packet.hpp"

namespace twamp::proto {

inline constexpr uint8_t ipproto_tcp = 6;

struct tcp_ports {
    uint16_t src = 0;
    uint16_t dst = 0;
};

// A TCP segment over IPv4 or IPv6 (TCP right after the fixed header: no IPv6 extension
// header), not a fragment, with its ports inside the IP datagram: its ports; nullopt otherwise.
inline std::optional<tcp_ports> tcp_ports_of(std::span<const uint8_t> frame) noexcept {
    const parsed_frame pf = parse_frame(frame);
    if (pf.kind != frame_kind::ip_other || pf.l4_proto != ipproto_tcp || pf.fragment) {
        return std::nullopt;
    }
    const std::size_t l4 = std::size_t{pf.l3_off} + pf.l3_hdr_len;
    if (l4 + 4 > pf.l3_end() || l4 + 4 > frame.size()) {
        return std::nullopt;
    }
    return tcp_ports{load_be16(frame.data() + l4), load_be16(frame.data() + l4 + 2)};
}

} // namespace twamp::proto
