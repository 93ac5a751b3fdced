// Golden frames (golden/golden_frames.hpp, built by golden/make_golden.py with scapy): our
// reflector's reply to each request must equal, octet for octet, the reply scapy built from
// the RFCs; the reply checker of this suite must agree too. verify_golden.py additionally
// decodes our replies with tshark and scapy.
#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include "golden/golden_reflect.hpp"
#include "reply_check.hpp"
#include "test_util.hpp"

using namespace twamp;
using namespace twamp::test;

namespace {

class golden_frames : public ::testing::TestWithParam<golden::golden_case> {};

TEST_P(golden_frames, reply_equals_scapy_reply) {
    const auto& c = GetParam();
    const auto run = golden::run_golden(c);
    ASSERT_EQ(run.result.v, proto::verdict::reflect) << proto::to_string(run.result.reason);
    EXPECT_EQ(hex(run.reply), hex({c.reply, c.reply_len}));

    // The same reply through this suite's own field-by-field checker.
    const bytes req(c.request, c.request + c.request_len);
    const layers q = locate(req.data());
    reply_expect e;
    e.stamp = c.mode == proto::test_mode::stamp;
    e.stateful = c.stateful;
    e.reflector_seq = c.reflector_seq;
    e.t2_ns = c.t2_ns;
    e.t3_ns = c.t3_ns;
    e.tai_utc_offset_s = c.tai_utc_offset_s;
    // RFC 8762 §4.6: a short STAMP request (a TWAMP Light sender) gets NTP whatever its Z.
    const bool stamp_short = e.stamp && q.udp_len - 8 < 44;
    e.ptp = c.timestamps == proto::ts_policy::ptp ||
            (c.timestamps == proto::ts_policy::auto_z && (c.sender_err & 0x4000) && !stamp_short);
    e.symmetrical = c.symmetrical_size;
    e.our_error = static_cast<uint16_t>((c.our_synchronized ? 0x8000 : 0) | c.our_scale << 8 |
                                        c.our_multiplier);
    e.dscp = c.dscp;
    e.our_mac = c.our_mac;
    e.payload_len = std::max<std::size_t>(q.udp_len - 8, e.stamp ? 44 : 41);
    // STAMP: the TLV area as scapy's reply has it (flags per RFC 8972 §4 set by the generator).
    const std::size_t tlv_len = e.stamp ? e.payload_len - 44 : 0;
    const bytes golden_tlvs(c.reply + c.reply_len - tlv_len, c.reply + c.reply_len);
    e.tlv_area = e.stamp ? &golden_tlvs : nullptr;
    check_reply(req, run.reply, e);

    // What the sender put in (per the generator) is where RFC 5357 §4.2.1 puts it.
    const uint8_t* p = run.reply.data() + locate(run.reply.data()).payload();
    EXPECT_EQ(rd32(p + 24), c.sender_seq);
    EXPECT_EQ(rd64(p + 28), c.sender_ts);
    EXPECT_EQ(rd16(p + 36), c.sender_err);
    EXPECT_EQ(p[40], c.sender_ttl);
    if (e.stamp) {
        EXPECT_EQ(rd16(p + 14), c.ssid);
    }
}

std::string name(const ::testing::TestParamInfo<golden::golden_case>& i) {
    return i.param.name;
}

INSTANTIATE_TEST_SUITE_P(scapy, golden_frames, ::testing::ValuesIn(golden::cases), name);

} // namespace
