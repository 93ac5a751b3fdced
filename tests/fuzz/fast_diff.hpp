// The differential check of the fused fast path (include/twamp/proto/fast.hpp) against the
// general chain, shared by tests/fuzz/fuzz_fast.cpp and tests/unit/proto/test_fast.cpp.
//
// One frame, two copies of its buffer:
//   general: parse_frame, check_test_packet, reflect_prepare_into, reflect_finish
//   fast:    fast_parse, fast_reflect, [fast_set_seq], reflect_finish
// and what must hold:
//   - fast_parse accepted => its parsed_frame equals parse_frame's field by field (when it did
//     not but parse_frame found UDP, fast_reflect runs on parse_frame's result);
//   - fast_reflect returned fast_general or a drop => its buffer is untouched;
//   - otherwise the reason is the general path's, and for a reply every octet of the buffer,
//     every pending_reply field and the request's sequence number and SSID are equal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_oracle.hpp"

#include "twamp/proto/fast.hpp"
#include "twamp/proto/packet.hpp"
#include "twamp/proto/reflect.hpp"

namespace twamp::fuzz {

struct fast_diff {
    bool parsed = false;                                   // fast_parse accepted the frame
    proto::drop_reason general = proto::drop_reason::none; // none: a reply (or not UDP)
    bool general_udp = false;                              // parse_frame said UDP
    proto::drop_reason fast = proto::fast_general;         // fast_reflect's answer
    const char* mismatch = nullptr;                        // the first difference, if any
};

inline bool same_pf(const proto::parsed_frame& a, const proto::parsed_frame& b) {
    return a.kind == b.kind && a.reason == b.reason && a.vlan_count == b.vlan_count &&
           a.ip_version == b.ip_version && a.l4_proto == b.l4_proto && a.ttl == b.ttl &&
           a.fragment == b.fragment && a.ethertype == b.ethertype && a.vlan_id[0] == b.vlan_id[0] &&
           a.vlan_id[1] == b.vlan_id[1] && a.l3_off == b.l3_off && a.l3_hdr_len == b.l3_hdr_len &&
           a.l3_len == b.l3_len && a.l4_off == b.l4_off && a.udp_len == b.udp_len &&
           a.src_port == b.src_port && a.dst_port == b.dst_port;
}

inline bool same_reply(const proto::pending_reply& a, const proto::pending_reply& b) {
    return a.len == b.len && a.t3_off == b.t3_off && a.csum_off == b.csum_off &&
           a.partial == b.partial && a.format == b.format && a.stamp_short == b.stamp_short &&
           a.offloaded == b.offloaded && a.ts_out_off == b.ts_out_off;
}

// `buf`: the buffer as received (its size is the capacity), the frame its first `frame_len`
// octets. `params` as the general path gets them; with `set_seq_after` (and params.stateful)
// the fast path prepares a stateless reply and sets params.reflector_seq with fast_set_seq.
// `t3` given: reflect_finish with the encoded T3, else with t3_ns.
inline fast_diff run_fast_diff(const std::vector<uint8_t>& buf, std::size_t frame_len,
                               const proto::reflect_policy& policy,
                               const proto::reflect_params& params, bool set_seq_after,
                               uint64_t t3_ns, const proto::encoded_time* t3 = nullptr) {
    namespace tp = proto;
    fast_diff d;
    std::vector<uint8_t> g = buf;
    std::vector<uint8_t> f = buf;
    const std::size_t cap = buf.size();
    frame_len = frame_len < cap ? frame_len : cap;
    const std::span<const uint8_t> gframe(g.data(), frame_len);

    // General path.
    const tp::parsed_frame pf_g = tp::parse_frame(gframe);
    d.general_udp = pf_g.kind == tp::frame_kind::udp;
    tp::pending_reply out_g;
    uint32_t seq_g = 0;
    uint16_t ssid_g = 0;
    if (pf_g.kind == tp::frame_kind::drop) {
        d.general = pf_g.reason;
    } else if (d.general_udp) {
        tp::verified_sums sums;
        d.general = tp::check_test_packet(gframe, pf_g, policy, params.ipv4_checksum_verified,
                                          params.l4_checksum_verified, &sums);
        if (d.general == tp::drop_reason::none) {
            seq_g = tp::test_packet_sender_seq(gframe, pf_g);
            ssid_g = tp::test_packet_ssid(gframe, pf_g, policy.mode);
            tp::reflect_params p = params;
            p.verified_region_sum = sums.region_known ? &sums.region : nullptr;
            d.general = tp::reflect_prepare_into(std::span<uint8_t>(g.data(), cap), pf_g, policy, p,
                                                 out_g);
            if (d.general == tp::drop_reason::none) {
                if (t3) {
                    tp::reflect_finish(g.data(), out_g, *t3);
                } else {
                    tp::reflect_finish(g.data(), out_g, t3_ns, params.tai_utc_offset_s);
                }
            }
        }
    }

    // Fast path.
    tp::parsed_frame pf_f;
    pf_f.kind = tp::frame_kind::ip_other; // garbage it must overwrite
    pf_f.reason = tp::drop_reason::tx_full;
    pf_f.vlan_id[1] = 0x777;
    d.parsed =
            frame_len <= 0xffff && tp::fast_parse(f.data(), static_cast<uint16_t>(frame_len), pf_f);
    if (!d.parsed) {
        // fast_reflect takes any UDP frame parse_frame parsed too (two tags, 802.1ad, ...):
        // the same comparison on those.
        if (!d.general_udp || frame_len > 0xffff) {
            return d;
        }
        pf_f = pf_g;
    } else if (!same_pf(pf_f, pf_g)) {
        d.mismatch = "fast_parse: parsed_frame differs from parse_frame's";
        return d;
    }
    tp::reflect_params pfast = params;
    const bool later = set_seq_after && params.stateful;
    if (later) {
        pfast.stateful = false;
        pfast.reflector_seq = 0xdeadbeef;
    }
    tp::pending_reply out_f;
    tp::fast_info info;
    d.fast = tp::fast_reflect(f.data(), static_cast<uint16_t>(cap > 0xffff ? 0xffff : cap), pf_f,
                              policy, pfast, out_f, info);
    if (d.fast == tp::fast_general || d.fast != tp::drop_reason::none) {
        if (!same(f.data(), buf.data(), cap)) {
            d.mismatch = "fast_reflect: frame touched without a reply";
            return d;
        }
        if (d.fast != tp::fast_general && d.fast != d.general) {
            d.mismatch = "fast_reflect: drop reason differs";
        }
        return d;
    }
    if (d.general != tp::drop_reason::none) {
        d.mismatch = "fast_reflect: reply where the general path drops";
        return d;
    }
    if (later) {
        tp::fast_set_seq(f.data(), out_f, params.reflector_seq);
    }
    if (t3) {
        tp::reflect_finish(f.data(), out_f, *t3);
    } else {
        tp::reflect_finish(f.data(), out_f, t3_ns, params.tai_utc_offset_s);
    }
    if (info.sender_seq != seq_g || info.ssid != ssid_g) {
        d.mismatch = "fast_info differs from test_packet_sender_seq / test_packet_ssid";
    } else if (!same_reply(out_f, out_g)) {
        d.mismatch = "pending_reply differs";
    } else if (!same(f.data(), g.data(), cap)) {
        d.mismatch = "reply octets differ";
    }
    return d;
}

} // namespace twamp::fuzz
