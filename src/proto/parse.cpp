#include "twamp/proto/bytes.hpp"
#include "twamp/proto/packet.hpp"

namespace twamp::proto {

namespace {

// Fills `pf` in place and returns why the frame is dropped (none: pf.kind says what it is).
// parse_frame() then returns its one named object, so the result is built directly in the
// caller's storage (NRVO) instead of being copied out on each of the many exits.
drop_reason parse_into(parsed_frame& pf, std::span<const uint8_t> frame) noexcept {
    const uint8_t* p = frame.data();
    const std::size_t n = frame.size();
    if (n < eth_hdr_len) {
        return drop_reason::l2_truncated;
    }
    std::size_t off = 12;
    uint16_t et = load_be16(p + off);
    while (et == ethertype_vlan || et == ethertype_qinq) {
        if (pf.vlan_count == max_vlan_tags) {
            return drop_reason::l2_too_many_vlans;
        }
        if (n < off + 2 + vlan_tag_len) {
            return drop_reason::l2_truncated;
        }
        pf.vlan_id[pf.vlan_count++] = load_be16(p + off + 2) & 0x0fff;
        off += vlan_tag_len;
        et = load_be16(p + off);
    }
    off += 2;
    pf.ethertype = et;
    pf.l3_off = static_cast<uint16_t>(off);

    if (et == ethertype_ipv4) {
        if (n < off + ipv4_min_hdr_len) {
            return drop_reason::ipv4_truncated;
        }
        const uint8_t* ip = p + off;
        pf.ip_version = 4;
        if ((ip[0] >> 4) != 4) {
            return drop_reason::ip_bad_version;
        }
        std::size_t ihl = (ip[0] & 0x0fu) * 4u;
        if (ihl < ipv4_min_hdr_len) {
            return drop_reason::ipv4_bad_ihl;
        }
        if (n < off + ihl) {
            return drop_reason::ipv4_truncated;
        }
        std::size_t total = load_be16(ip + 2);
        if (total < ihl || n < off + total) {
            return drop_reason::ipv4_bad_length;
        }
        pf.l3_hdr_len = static_cast<uint16_t>(ihl);
        pf.l3_len = static_cast<uint16_t>(total);
        pf.ttl = ip[8];
        pf.l4_proto = ip[9];
        uint16_t frag = load_be16(ip + 6);
        pf.fragment = (frag & 0x3fff) != 0; // MF or a non-zero offset
        if (pf.l4_proto != ipproto_udp) {
            pf.kind = frame_kind::ip_other;
            return drop_reason::none;
        }
        if (pf.fragment) {
            return drop_reason::ipv4_fragment;
        }
        off += ihl;
    } else if (et == ethertype_ipv6) {
        if (n < off + ipv6_hdr_len) {
            return drop_reason::ipv6_truncated;
        }
        const uint8_t* ip = p + off;
        pf.ip_version = 6;
        if ((ip[0] >> 4) != 6) {
            return drop_reason::ip_bad_version;
        }
        std::size_t plen = load_be16(ip + 4);
        if (n < off + ipv6_hdr_len + plen) {
            return drop_reason::ipv6_bad_length;
        }
        pf.l3_hdr_len = ipv6_hdr_len;
        pf.l3_len = static_cast<uint16_t>(ipv6_hdr_len + plen);
        pf.l4_proto = ip[6];
        pf.ttl = ip[7];
        if (pf.l4_proto != ipproto_udp) {
            // Extension headers, ICMPv6 (ND), TCP...: reported, not guessed at.
            pf.kind = frame_kind::ip_other;
            return drop_reason::none;
        }
        off += ipv6_hdr_len;
    } else {
        pf.kind = frame_kind::non_ip;
        return drop_reason::none;
    }

    pf.l4_off = static_cast<uint16_t>(off);
    std::size_t l4_avail = pf.l3_end() - off;
    if (l4_avail < udp_hdr_len) {
        return drop_reason::udp_truncated;
    }
    const uint8_t* udp = p + off;
    pf.src_port = load_be16(udp);
    pf.dst_port = load_be16(udp + 2);
    std::size_t ulen = load_be16(udp + 4);
    // The UDP datagram fills the IP payload exactly: anything else is malformed or trailing
    // data we would not know how to reflect symmetrically.
    if (ulen < udp_hdr_len || ulen != l4_avail) {
        return drop_reason::udp_bad_length;
    }
    pf.udp_len = static_cast<uint16_t>(ulen);
    pf.kind = frame_kind::udp;
    return drop_reason::none;
}

} // namespace

parsed_frame parse_frame(std::span<const uint8_t> frame) noexcept {
    parsed_frame pf;
    const drop_reason r = parse_into(pf, frame);
    if (r != drop_reason::none) {
        pf.kind = frame_kind::drop;
        pf.reason = r;
    }
    return pf;
}

} // namespace twamp::proto
