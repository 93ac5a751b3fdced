// One table row of a reflect() test and the code that runs it: the request frame, the
// context's policy, the per-packet parameters, what must come out, and the RFC it checks.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "reply_check.hpp"
#include "test_util.hpp"

#include "twamp/proto/reflect.hpp"

namespace twamp::test {

inline constexpr uint8_t our_mac[6] = {0x02, 0x42, 0xac, 0x11, 0x00, 0x02};
inline constexpr uint64_t t2_ns = 1'700'000'000'123'456'789ULL;
inline constexpr uint64_t t3_ns = t2_ns + 12'345;
inline constexpr uint32_t sender_seq = 0x01020304;
inline constexpr uint32_t reflector_seq = 0xa0b0c0d0;
inline constexpr uint16_t ssid = 0xbeef;

// A sender's timestamp in the format its Error Estimate announces.
inline uint64_t sender_ts(bool ptp) {
    return ptp ? ref_ptp(t2_ns - 1'000'000, 37) : ref_ntp(t2_ns - 1'000'000);
}

inline proto::reflect_params default_params() {
    proto::reflect_params p;
    p.our_mac = our_mac;
    p.stateful = true;
    p.reflector_seq = reflector_seq;
    p.t2_ns = t2_ns;
    p.our_error = {true, false, 3, 17}; // S=1, 17 * 2^(3-32) s
    p.tai_utc_offset_s = 37;
    return p;
}

struct reflect_row {
    std::string name; // gtest name: letters, digits, underscores
    std::string rfc;  // what the row checks
    frame_spec spec;
    std::function<void(bytes&)> mutate; // applied to the built frame, e.g. trailing garbage
    proto::reflect_policy policy{};
    proto::reflect_params params = default_params();
    std::size_t capacity = 0; // buffer size; 0: 2048 or the frame, whichever is larger
    proto::verdict want = proto::verdict::reflect;
    proto::drop_reason reason = proto::drop_reason::none;
    std::optional<bytes> tlv_area; // STAMP: expected octets after the base (default: as sent)
    // STAMP TLVs that change the reply's IP header (RFC 8972 §4.4, RFC 9503 §3, §4.1.2): the
    // DSCP the reply must carry (default: the policy's rule), its source and destination
    // addresses (default: the request's swapped).
    std::optional<int> reply_dscp;
    std::optional<bytes> reply_src;
    std::optional<bytes> reply_dst;

    bytes request() const {
        bytes f = build(spec);
        if (mutate) {
            mutate(f);
        }
        return f;
    }
};

inline std::ostream& operator<<(std::ostream& os, const reflect_row& r) {
    return os << r.name << " [" << r.rfc << "]";
}

// What the reply must look like for a row, from the row alone.
inline reply_expect expectation(const reflect_row& r, const bytes& req) {
    const layers q = locate(req.data());
    const uint8_t* qp = req.data() + q.payload();
    reply_expect e;
    e.stamp = r.policy.mode == proto::test_mode::stamp;
    e.stateful = r.params.stateful;
    e.reflector_seq = r.params.reflector_seq;
    e.t2_ns = r.params.t2_ns;
    e.t3_ns = t3_ns;
    e.tai_utc_offset_s = r.params.tai_utc_offset_s;
    const bool z = (rd16(qp + 12) & 0x4000) != 0;
    // RFC 8762 §4.6: a short STAMP request (a TWAMP Light sender) gets NTP whatever its Z.
    const bool stamp_short = e.stamp && q.udp_len - 8 < 44;
    e.ptp = r.policy.timestamps == proto::ts_policy::ptp ||
            (r.policy.timestamps == proto::ts_policy::auto_z && z && !stamp_short);
    e.symmetrical = r.policy.symmetrical_size;
    const auto& oe = r.params.our_error;
    e.our_error = static_cast<uint16_t>((oe.synchronized ? 0x8000u : 0u) |
                                        static_cast<unsigned>(oe.scale & 0x3f) << 8 |
                                        (oe.multiplier ? oe.multiplier : 1u));
    e.dscp = r.reply_dscp.value_or(r.policy.dscp);
    e.src_addr = r.reply_src ? r.reply_src->data() : nullptr;
    e.dst_addr = r.reply_dst ? r.reply_dst->data() : nullptr;
    e.our_mac = r.params.our_mac;
    e.payload_len = std::max<std::size_t>(q.udp_len - 8, e.stamp ? 44 : 41);
    e.tlv_area = r.tlv_area ? &*r.tlv_area : nullptr;
    return e;
}

// Runs a row through reflect() in a buffer that faults past its end, then checks the verdict,
// the reason, an untouched buffer for anything but reflect, and every reply field. The same
// frame then goes through the other ways in: checksums verified by the "NIC", and the split
// check_test_packet() / reflect_prepare() / reflect_finish() chain; all must give the same
// octets.
inline void run_row(const reflect_row& r) {
    SCOPED_TRACE(r.name + " [" + r.rfc + "]");
    const bytes req = r.request();
    const std::size_t cap = r.capacity ? r.capacity : std::max<std::size_t>(2048, req.size());
    // Room after the frame holds garbage, as a reused mbuf would: nothing of it may leak
    // into a reply that grows.
    guarded_buffer buf(cap);
    std::fill(buf.data(), buf.data() + cap, 0xee);
    std::copy(req.begin(), req.end(), buf.data());
    const bytes before = buf.copy(cap);

    const auto res = proto::reflect(buf.span(), req.size(), r.policy, r.params, t3_ns);
    ASSERT_EQ(proto::to_string(res.reason), proto::to_string(r.reason));
    ASSERT_EQ(static_cast<int>(res.v), static_cast<int>(r.want));
    if (res.v != proto::verdict::reflect) {
        EXPECT_EQ(hex(buf.copy(cap)), hex(before)) << "a frame not reflected must not be touched";
        // The steps on their own give the same reason: check_test_packet() for what it
        // validates, and reflect_prepare() on its own for the lengths it re-checks.
        std::span<const uint8_t> frame(buf.data(), req.size());
        const auto pf = proto::parse_frame(frame);
        if (pf.kind == proto::frame_kind::udp && r.reason != proto::drop_reason::no_tailroom) {
            EXPECT_EQ(proto::to_string(proto::check_test_packet(frame, pf, r.policy, false, false)),
                      proto::to_string(r.reason));
        }
        if (r.reason == proto::drop_reason::test_truncated ||
            r.reason == proto::drop_reason::no_tailroom) {
            auto prep = proto::reflect_prepare(buf.span(), pf, r.policy, r.params);
            EXPECT_EQ(static_cast<int>(prep.v), static_cast<int>(proto::verdict::drop));
            EXPECT_EQ(proto::to_string(prep.reason), proto::to_string(r.reason));
            EXPECT_EQ(hex(buf.copy(cap)), hex(before)) << "reflect_prepare() touched a drop";
        }
        return;
    }
    ASSERT_LE(res.reply.len, cap);
    const bytes reply = buf.copy(res.reply.len);
    const reply_expect e = expectation(r, req);
    check_reply(req, reply, e);
    // Never an amplifier: no longer than max(request datagram, base) (DESIGN.md, RFC 8762 §4).
    const layers q = locate(req.data());
    EXPECT_LE(res.reply.len, q.payload() + std::max<std::size_t>(q.udp_len - 8, e.stamp ? 44 : 41));
    EXPECT_EQ(res.reply.stamp_short, e.stamp && q.udp_len - 8 < 44) << "stamp_short flag";

    // The NIC verified both checksums: same reply.
    {
        guarded_buffer b2(cap);
        std::fill(b2.data(), b2.data() + cap, 0x5a);
        std::copy(req.begin(), req.end(), b2.data());
        auto p = r.params;
        p.ipv4_checksum_verified = true;
        p.l4_checksum_verified = true;
        auto res2 = proto::reflect(b2.span(), req.size(), r.policy, p, t3_ns);
        ASSERT_EQ(static_cast<int>(res2.v), static_cast<int>(proto::verdict::reflect));
        EXPECT_EQ(hex(b2.copy(res2.reply.len)), hex(reply)) << "with NIC-verified checksums";
    }
    // The dataplane's split path: same reply, and the pending offsets point where they should.
    {
        guarded_buffer b3(cap);
        std::copy(req.begin(), req.end(), b3.data());
        std::span<const uint8_t> frame(b3.data(), req.size());
        auto pf = proto::parse_frame(frame);
        ASSERT_EQ(proto::check_test_packet(frame, pf, r.policy, false, false),
                  proto::drop_reason::none);
        auto prep = proto::reflect_prepare(b3.span(), pf, r.policy, r.params);
        ASSERT_EQ(static_cast<int>(prep.v), static_cast<int>(proto::verdict::reflect));
        const layers rl = locate(reply.data()); // IPv4 options removed: offsets move down
        EXPECT_EQ(prep.reply.t3_off, rl.payload() + 4);
        EXPECT_EQ(prep.reply.csum_off, rl.l4 + 6);
        EXPECT_EQ(prep.reply.format == proto::ts_format::ptp, e.ptp);
        proto::reflect_finish(b3.data(), prep.reply, t3_ns, r.params.tai_utc_offset_s);
        EXPECT_EQ(hex(b3.copy(prep.reply.len)), hex(reply)) << "split path";
    }
}

} // namespace twamp::test
