// twamp-ping's request builder and reply reader: octets checked against the layouts of
// RFC 5357 §4.1.2/§4.2.1, RFC 8762 §4.2.1/§4.3.1 and RFC 8972 §3/§4.1 written out by hand, and
// a round trip through the project's own reflection transform (proto::reflect).
#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "twamp/proto/reflect.hpp"
#include "twamp/sender/packet.hpp"

namespace {

using namespace twamp::sender;
using twamp::proto::error_estimate;
using bytes = std::vector<uint8_t>;

TEST(SenderPacket, RequestSizes) {
    EXPECT_FALSE(valid_request_size(mode::light, 13));
    EXPECT_TRUE(valid_request_size(mode::light, 14)); // RFC 5357 §4.1.2 without padding
    EXPECT_TRUE(valid_request_size(mode::light, 41));
    EXPECT_TRUE(valid_request_size(mode::light, 1472));
    EXPECT_FALSE(valid_request_size(mode::stamp, 43));
    EXPECT_TRUE(valid_request_size(mode::stamp, 44));  // RFC 8762 §4.2.1
    EXPECT_FALSE(valid_request_size(mode::stamp, 45)); // no room for a TLV header + value
    EXPECT_FALSE(valid_request_size(mode::stamp, 47));
    EXPECT_TRUE(valid_request_size(mode::stamp, 48)); // Extra Padding TLV with 0 octets
    EXPECT_EQ(min_reply_size(mode::light), 41u);
    EXPECT_EQ(min_reply_size(mode::stamp), 44u);
}

TEST(SenderPacket, TwampLightRequestOctets) {
    bytes p(41, 0xee);
    init_request(p, mode::light, 77); // the SSID has no place in TWAMP Light
    // S=1 Z=0 Scale=2 Multiplier=5: 0x8205
    stamp_request(p, 0x01020304, 0x1122334455667788ULL, error_estimate{true, false, 2, 5});
    bytes want(41, 0);
    const uint8_t head[] = {0x01, 0x02, 0x03, 0x04,                         // Sequence Number
                            0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, // Timestamp
                            0x82, 0x05};                                    // Error Estimate
    std::copy(std::begin(head), std::end(head), want.begin());
    EXPECT_EQ(p, want);
}

TEST(SenderPacket, StampRequestOctets) {
    bytes p(44, 0xee);
    init_request(p, mode::stamp, 0xbeef);
    // Z=1 (PTP), unsynchronized, Scale 0, Multiplier 1: 0x4001
    stamp_request(p, 7, 0x0102030405060708ULL, error_estimate{false, true, 0, 1});
    bytes want(44, 0); // MBZ after the SSID (RFC 8762 §4.2.1: 28 octets)
    const uint8_t head[] = {0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8, 0x40, 0x01, 0xbe, 0xef};
    std::copy(std::begin(head), std::end(head), want.begin());
    EXPECT_EQ(p, want);
}

TEST(SenderPacket, StampPaddingIsOneExtraPaddingTlv) {
    bytes p(60, 0xee);
    init_request(p, mode::stamp, 1);
    // RFC 8972 §4.1: Flags U (a Session-Sender sets U on every TLV it sends, §4; issue 16
    // changed this from 0), Type 1, Length 12 (60 - 44 - 4), value zeros.
    EXPECT_EQ(p[44], 0x80);
    EXPECT_EQ(p[45], 0x01);
    EXPECT_EQ(p[46], 0x00);
    EXPECT_EQ(p[47], 0x0c);
    for (std::size_t i = 48; i < 60; ++i) {
        EXPECT_EQ(p[i], 0) << "octet " << i;
    }
    bytes q(48, 0xee);
    init_request(q, mode::stamp, 1);
    EXPECT_EQ(q[45], 0x01);
    EXPECT_EQ(q[46], 0x00);
    EXPECT_EQ(q[47], 0x00); // empty value
}

// A reflector reply written out field by field (RFC 5357 §4.2.1 / RFC 8762 §4.3.1).
bytes reply_octets(std::size_t len, uint16_t ee, uint16_t ssid_or_mbz) {
    bytes r(len, 0);
    const uint8_t fields[] = {
            0x00,
            0x00,
            0x01,
            0x00, // 0 Sequence Number 256
            0xe9,
            0x3c,
            0x8b,
            0x00,
            0x80,
            0x00,
            0x00,
            0x00, // 4 Timestamp T3
            static_cast<uint8_t>(ee >> 8),
            static_cast<uint8_t>(ee), // 12 Error Estimate
            static_cast<uint8_t>(ssid_or_mbz >> 8),
            static_cast<uint8_t>(ssid_or_mbz), // 14
            0xe9,
            0x3c,
            0x8b,
            0x00,
            0x40,
            0x00,
            0x00,
            0x00, // 16 Receive Timestamp T2
            0x00,
            0x00,
            0x00,
            0x2a, // 24 Sender Sequence Number 42
            0x01,
            0x02,
            0x03,
            0x04,
            0x05,
            0x06,
            0x07,
            0x08, // 28 Sender Timestamp
            0x00,
            0x01, // 36 Sender Error Estimate
            0x00,
            0x00, // 38 MBZ
            0xfd, // 40 Sender TTL 253
    };
    std::copy(std::begin(fields), std::end(fields), r.begin());
    return r;
}

TEST(SenderPacket, ParseTwampReplyNtp) {
    bytes r = reply_octets(41, 0x8105, 0); // S=1, Z=0, Scale 1, Multiplier 5
    auto p = parse_reply(r, mode::light);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->seq, 256u);
    EXPECT_EQ(p->sender_seq, 42u);
    EXPECT_EQ(p->sender_timestamp, 0x0102030405060708ULL);
    EXPECT_EQ(p->sender_error, 0x0001);
    EXPECT_EQ(p->sender_ttl, 253);
    EXPECT_TRUE(p->error.synchronized);
    EXPECT_FALSE(p->error.ptp);
    EXPECT_EQ(p->error.scale, 1);
    EXPECT_EQ(p->error.multiplier, 5);
    EXPECT_EQ(p->length, 41u);
    // NTP 0xe93c8b00 s = 3913059072 - 2208988800 = 1704070272 s after 1970; fraction 0x80000000
    // = 0.5 s (T3), 0x40000000 = 0.25 s (T2).
    EXPECT_EQ(p->t3_ns(37), 1'704'070'272'500'000'000LL);
    EXPECT_EQ(p->t2_ns(37), 1'704'070'272'250'000'000LL);
}

TEST(SenderPacket, ParseStampReplyPtp) {
    bytes r = reply_octets(44, 0x4001, 0xbeef); // Z=1: PTPv2 truncated, TAI
    // T2 = 1700000037 s TAI + 5 ns, T3 = + 999999999 ns
    const uint8_t t2[] = {0x65, 0x53, 0xf1, 0x25, 0x00, 0x00, 0x00, 0x05};
    const uint8_t t3[] = {0x65, 0x53, 0xf1, 0x25, 0x3b, 0x9a, 0xc9, 0xff};
    std::copy(std::begin(t2), std::end(t2), r.begin() + 16);
    std::copy(std::begin(t3), std::end(t3), r.begin() + 4);
    auto p = parse_reply(r, mode::stamp);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->ssid, 0xbeef);
    EXPECT_TRUE(p->error.ptp);
    EXPECT_EQ(p->t2_ns(37), 1'700'000'000'000'000'005LL);
    EXPECT_EQ(p->t3_ns(37), 1'700'000'000'999'999'999LL);
    EXPECT_EQ(p->tlvs, 0u);
}

TEST(SenderPacket, ShortRepliesAreRejected) {
    reply_error err{};
    EXPECT_FALSE(parse_reply(bytes(40, 0), mode::light, &err).has_value());
    EXPECT_EQ(err, reply_error::too_short);
    EXPECT_TRUE(parse_reply(bytes(41, 0), mode::light, &err).has_value());
    EXPECT_EQ(err, reply_error::none);
    EXPECT_FALSE(parse_reply(bytes(43, 0), mode::stamp, &err).has_value());
    EXPECT_EQ(err, reply_error::too_short);
    EXPECT_FALSE(parse_reply(bytes(0), mode::light).has_value());
}

TEST(SenderPacket, StampReplyTlvFlags) {
    bytes r = reply_octets(44 + 8 + 4 + 4, 0, 1);
    // TLV 1: U set (type 200, 4 octets of value); TLV 2: M set, empty; then 4 octets that
    // claim 100 octets of value: malformed area.
    const uint8_t tlvs[] = {0x80, 200, 0, 4, 1, 2, 3, 4, 0x40, 1, 0, 0, 0, 1, 0, 100};
    std::copy(std::begin(tlvs), std::end(tlvs), r.begin() + 44);
    auto p = parse_reply(r, mode::stamp);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->tlvs, 3u);
    EXPECT_EQ(p->tlvs_unrecognized, 1u);
    EXPECT_TRUE(p->tlvs_malformed);
}

// ---- Round trip through the project's reflector transform -----------------------------------

using frame_buf = std::array<uint8_t, 2048>;

void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

uint16_t fold(uint32_t s) {
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    return static_cast<uint16_t>(s);
}

uint32_t sum16(const uint8_t* p, std::size_t n) {
    uint32_t s = 0;
    for (std::size_t i = 0; i + 1 < n; i += 2) {
        s += static_cast<uint32_t>((p[i] << 8) | p[i + 1]);
    }
    if (n & 1) {
        s += static_cast<uint32_t>(p[n - 1] << 8);
    }
    return s;
}

// Ethernet + IPv4 (RFC 791 header checksum) + UDP (RFC 768 checksum with pseudo-header)
// around a payload, 198.18.0.1:40000 -> 198.18.0.2:862, written into `f`; returns its length.
// (A fixed buffer: GCC's -Wnull-dereference misfires on std::vector here.)
std::size_t ipv4_frame(frame_buf& f, const bytes& payload) {
    const std::size_t udp_len = 8 + payload.size();
    f.fill(0);
    uint8_t* eth = f.data();
    const uint8_t macs[] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
    std::memcpy(eth, macs, sizeof macs);
    put16(eth + 12, 0x0800);
    uint8_t* ip = eth + 14;
    ip[0] = 0x45;
    put16(ip + 2, static_cast<uint16_t>(20 + udp_len));
    ip[8] = 255;
    ip[9] = 17;
    const uint8_t addrs[] = {198, 18, 0, 1, 198, 18, 0, 2};
    std::memcpy(ip + 12, addrs, sizeof addrs);
    put16(ip + 10, static_cast<uint16_t>(~fold(sum16(ip, 20))));
    uint8_t* udp = ip + 20;
    put16(udp, 40000);
    put16(udp + 2, 862);
    put16(udp + 4, static_cast<uint16_t>(udp_len));
    std::memcpy(udp + 8, payload.data(), payload.size());
    uint32_t s = sum16(ip + 12, 8) + 17 + static_cast<uint32_t>(udp_len) + sum16(udp, udp_len);
    uint16_t c = static_cast<uint16_t>(~fold(s));
    put16(udp + 6, c ? c : 0xffff);
    return 14 + 20 + udp_len;
}

struct round_trip_case {
    enum mode m;
    std::size_t size;
    bool ptp;
};

class SenderRoundTrip : public ::testing::TestWithParam<round_trip_case> {};

TEST_P(SenderRoundTrip, ProjectReflectorReplyReadsBack) {
    const auto c = GetParam();
    const uint64_t t1 = 1'700'000'000'100'000'000ULL;
    const uint64_t t2 = t1 + 123'456;
    const uint64_t t3 = t2 + 7'890;
    bytes req(c.size);
    init_request(req, c.m, 0x1234);
    const auto fmt = c.ptp ? twamp::proto::ts_format::ptp : twamp::proto::ts_format::ntp;
    const uint64_t t1_wire = twamp::proto::encode_timestamp(fmt, t1, 37);
    stamp_request(req, 9, t1_wire, error_estimate{false, c.ptp, 10, 200});

    frame_buf buf{}; // larger than the frame: room for a short TWAMP request to grow to 41
    const std::size_t frame_len = ipv4_frame(buf, req);
    twamp::proto::reflect_policy pol;
    pol.mode = c.m == mode::stamp ? twamp::proto::test_mode::stamp
                                  : twamp::proto::test_mode::twamp_light;
    twamp::proto::reflect_params par;
    par.stateful = true;
    par.reflector_seq = 5;
    par.t2_ns = t2;
    par.our_error = {true, false, 1, 3};
    par.tai_utc_offset_s = 37;
    auto res = twamp::proto::reflect(buf, frame_len, pol, par, t3);
    ASSERT_EQ(res.v, twamp::proto::verdict::reflect)
            << twamp::proto::drop_reason_names[static_cast<std::size_t>(res.reason)];

    const std::size_t payload_len = res.reply.len - 14 - 20 - 8;
    EXPECT_EQ(payload_len, std::max(c.size, min_reply_size(c.m)));
    auto p = parse_reply(std::span<const uint8_t>(buf.data() + 42, payload_len), c.m);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->seq, 5u);
    EXPECT_EQ(p->sender_seq, 9u);
    EXPECT_EQ(p->sender_timestamp, t1_wire);
    EXPECT_EQ(p->sender_ttl, 255);
    EXPECT_EQ(p->error.ptp, c.ptp); // the reply's format follows our Z bit
    EXPECT_TRUE(p->error.synchronized);
    // NTP fractions are 2^-32 s: the decoded value is within a nanosecond.
    EXPECT_NEAR(static_cast<double>(p->t2_ns(37)), static_cast<double>(t2), 1.0);
    EXPECT_NEAR(static_cast<double>(p->t3_ns(37)), static_cast<double>(t3), 1.0);
    if (c.m == mode::stamp) {
        EXPECT_EQ(p->ssid, 0x1234);
        EXPECT_EQ(p->tlvs, c.size > 44 ? 1u : 0u);
        EXPECT_EQ(p->tlvs_unrecognized, 0u); // Extra Padding is known to the reflector
        EXPECT_FALSE(p->tlvs_malformed);
    }
}

INSTANTIATE_TEST_SUITE_P(Modes, SenderRoundTrip,
                         ::testing::Values(round_trip_case{mode::light, 14, false},
                                           round_trip_case{mode::light, 41, false},
                                           round_trip_case{mode::light, 41, true},
                                           round_trip_case{mode::light, 200, false},
                                           round_trip_case{mode::stamp, 44, false},
                                           round_trip_case{mode::stamp, 44, true},
                                           round_trip_case{mode::stamp, 100, false}));

} // namespace
