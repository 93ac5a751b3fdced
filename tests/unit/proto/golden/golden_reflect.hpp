// Runs one golden case through reflect() with the policy and parameters the generator chose.
// Shared by the unit test (test_golden.cpp) and the pcap writer (golden_replies.cpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "golden_frames.hpp"

#include "twamp/proto/reflect.hpp"

namespace twamp::golden {

struct golden_run {
    proto::reflect_result result;
    std::vector<uint8_t> reply; // the reply frame (result.reply.len octets), empty unless reflected
};

inline proto::reflect_policy policy_of(const golden_case& c) {
    proto::reflect_policy p;
    p.mode = c.mode;
    p.dscp = c.dscp;
    p.timestamps = c.timestamps;
    p.allow_ipv6_zero_checksum = c.allow_ipv6_zero_checksum;
    p.symmetrical_size = c.symmetrical_size;
    return p;
}

inline proto::reflect_params params_of(const golden_case& c) {
    proto::reflect_params p;
    p.our_mac = c.our_mac;
    p.stateful = c.stateful;
    p.reflector_seq = c.reflector_seq;
    p.t2_ns = c.t2_ns;
    p.our_error = {c.our_synchronized, false, c.our_scale, c.our_multiplier};
    p.tai_utc_offset_s = c.tai_utc_offset_s;
    p.tlv_info = c.has_tlv_info ? &c.tlv_info : nullptr;
    return p;
}

inline golden_run run_golden(const golden_case& c) {
    // As an mbuf would be: the frame at the start, room after it (filled with garbage).
    std::vector<uint8_t> buf(2048, 0xee);
    std::copy(c.request, c.request + c.request_len, buf.begin());
    golden_run r;
    r.result = proto::reflect(buf, c.request_len, policy_of(c), params_of(c), c.t3_ns);
    if (r.result.v == proto::verdict::reflect) {
        r.reply.assign(buf.begin(), buf.begin() + r.result.reply.len);
    }
    return r;
}

} // namespace twamp::golden
