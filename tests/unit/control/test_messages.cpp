// Wire formats (messages.hpp) against hand-built byte vectors laid out field by field from the
// RFC figures: RFC 4656 §3.1 (Server-Greeting, Set-Up-Response, Server-Start), RFC 5357 §3.5
// (Request-TW-Session, Accept-Session), RFC 4656 §3.7 / RFC 5357 §3.8 (Start-Sessions,
// Start-Ack, Stop-Sessions), RFC 5938 §3 (Start-N/Stop-N), RFC 6038 §4 (reflect octets).
#include <gtest/gtest.h>

#include "helpers.hpp"

#include "twamp/control/messages.hpp"

using namespace twamp::control;
using twamp::control::test::bytes;

namespace {

std::array<uint8_t, 16> seq16(uint8_t first) {
    std::array<uint8_t, 16> a{};
    for (std::size_t i = 0; i < 16; ++i) {
        a[i] = static_cast<uint8_t>(first + i);
    }
    return a;
}

template<std::size_t N>
std::vector<uint8_t> vec(const std::array<uint8_t, N>& a) {
    return {a.begin(), a.end()};
}

} // namespace

TEST(control_messages, sizes_match_the_rfc_figures) {
    EXPECT_EQ(server_greeting_size, 64U);     // 12 + 4 + 16 + 16 + 4 + 12
    EXPECT_EQ(setup_response_size, 164U);     // 4 + 80 + 64 + 16
    EXPECT_EQ(server_start_size, 48U);        // 15 + 1 + 16 + 8 + 8
    EXPECT_EQ(request_tw_session_size, 112U); // RFC 5357 §3.5
    EXPECT_EQ(accept_session_size, 48U);
    EXPECT_EQ(start_sessions_size, 32U);
    EXPECT_EQ(start_ack_size, 32U);
    EXPECT_EQ(stop_sessions_size, 32U);
    EXPECT_EQ(n_sessions_size(0), 32U);
    EXPECT_EQ(n_sessions_size(3), 80U);
}

TEST(control_messages, server_greeting) {
    server_greeting g;
    g.modes = 0x71;
    g.challenge = seq16(0x20);
    g.salt = seq16(0x40);
    g.count = 1024;
    auto want = bytes{}.zeros(12).u32(0x71).raw(seq16(0x20)).raw(seq16(0x40)).u32(1024).zeros(12);
    EXPECT_EQ(vec(encode(g)), want.v);

    // Decoding ignores Unused and MBZ (RFC 4656: unused / must be zero on transmission).
    auto in = bytes{}.fill(12, 0xee).u32(5).raw(seq16(1)).raw(seq16(2)).u32(2048).fill(12, 0xff);
    auto d = decode_server_greeting(in);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->modes, 5U);
    EXPECT_EQ(d->challenge, seq16(1));
    EXPECT_EQ(d->salt, seq16(2));
    EXPECT_EQ(d->count, 2048U);
    EXPECT_FALSE(decode_server_greeting(std::span<const uint8_t>(in.v).first(63)));
}

TEST(control_messages, setup_response) {
    setup_response s;
    s.mode = 1;
    EXPECT_EQ(vec(encode(s)), bytes{}.u32(1).zeros(160).v);
    auto in = bytes{}.u32(0x21).fill(80, 0xaa).fill(64, 0xbb).fill(16, 0xcc);
    auto d = decode_setup_response(in);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->mode, 0x21U);
    EXPECT_EQ(d->key_id[79], 0xaa);
    EXPECT_EQ(d->token[0], 0xbb);
    EXPECT_EQ(d->client_iv[15], 0xcc);
    in.u8(0);
    EXPECT_FALSE(decode_setup_response(in));
}

TEST(control_messages, server_start) {
    server_start s;
    s.accept = 3;
    s.server_iv = seq16(0x90);
    s.start_time = 0xe8f1234512345678ULL;
    auto want = bytes{}.zeros(15).u8(3).raw(seq16(0x90)).u64(0xe8f1234512345678ULL).zeros(8);
    EXPECT_EQ(vec(encode(s)), want.v);
    auto d = decode_server_start(want);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->accept, 3);
    EXPECT_EQ(d->server_iv, seq16(0x90));
    EXPECT_EQ(d->start_time, 0xe8f1234512345678ULL);
}

TEST(control_messages, request_tw_session) {
    // IPv6 request with every field distinct.
    auto want = bytes{}.u8(5)
                        .u8(0x06)
                        .u8(0)
                        .u8(0)
                        .u32(0)
                        .u32(77) // Number of Packets
                        .u16(40001)
                        .u16(64365)
                        .raw(seq16(0x20)) // sender address
                        .raw(seq16(0x30)) // receiver address
                        .zeros(16)        // SID
                        .u32(1000)        // Padding Length
                        .u64(0xe8f0000100000000ULL)
                        .u64((10ULL << 32) | 0x80000000U) // Timeout 10.5 s
                        .u32(46U << 24)                   // DSCP EF
                        .u16(0xabcd)                      // Octets to be reflected
                        .u16(12)                          // Length of padding to reflect
                        .zeros(4)
                        .zeros(16);
    ASSERT_EQ(want.size(), 112U);
    auto d = decode_request_tw_session(want);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->ipvn, 6);
    EXPECT_EQ(d->mbz_ipvn, 0);
    EXPECT_EQ(d->packets, 77U);
    EXPECT_EQ(d->sender_port, 40001);
    EXPECT_EQ(d->receiver_port, 64365);
    EXPECT_EQ(d->sender_address, seq16(0x20));
    EXPECT_EQ(d->receiver_address, seq16(0x30));
    EXPECT_EQ(d->padding_length, 1000U);
    EXPECT_EQ(d->start_time, 0xe8f0000100000000ULL);
    EXPECT_EQ(ntp_duration_to_ns(d->timeout), 10'500'000'000ULL);
    EXPECT_EQ(dscp_from_type_p(d->type_p), 46);
    EXPECT_EQ(d->octets_to_reflect, 0xabcd);
    EXPECT_EQ(d->padding_to_reflect, 12);
    // And back, octet for octet.
    EXPECT_EQ(vec(encode(*d)), want.v);

    // Wrong command or length: not a Request-TW-Session.
    auto bad = want;
    bad.v[0] = 6;
    EXPECT_FALSE(decode_request_tw_session(bad));
    EXPECT_FALSE(decode_request_tw_session(std::span<const uint8_t>(want.v).first(111)));
    // The high nibble of octet 1 is reported (MBZ), IPVN is the low nibble.
    bad = want;
    bad.v[1] = 0x54;
    EXPECT_EQ(decode_request_tw_session(bad)->mbz_ipvn, 5);
    EXPECT_EQ(decode_request_tw_session(bad)->ipvn, 4);
}

TEST(control_messages, accept_session) {
    accept_session a;
    a.accept = 0;
    a.port = 64370;
    a.sid = seq16(0x70);
    a.reflected_octets = 0x1234;
    a.server_octets = 0;
    auto want =
            bytes{}.u8(0).u8(0).u16(64370).raw(seq16(0x70)).u16(0x1234).u16(0).zeros(8).zeros(16);
    EXPECT_EQ(vec(encode(a)), want.v);
    auto d = decode_accept_session(want);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->port, 64370);
    EXPECT_EQ(d->sid, seq16(0x70));
    EXPECT_EQ(d->reflected_octets, 0x1234);
}

TEST(control_messages, start_stop_and_ack) {
    EXPECT_EQ(vec(encode_start_sessions()), bytes{}.u8(2).zeros(31).v);
    EXPECT_EQ(vec(encode_start_ack(5)), bytes{}.u8(5).zeros(31).v);
    EXPECT_EQ(decode_start_ack(bytes{}.u8(4).zeros(31)), 4);
    EXPECT_FALSE(decode_start_ack(bytes{}.u8(4).zeros(30)));
    auto stop = bytes{}.u8(3).u8(1).zeros(2).u32(7).zeros(8).zeros(16);
    EXPECT_EQ(vec(encode(stop_sessions{1, 7})), stop.v);
    auto d = decode_stop_sessions(stop);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->accept, 1);
    EXPECT_EQ(d->sessions, 7U);
}

TEST(control_messages, individual_session_control) {
    std::vector<sid_t> sids{seq16(1), seq16(0x81)};
    auto start = bytes{}.u8(7).zeros(11).u32(2).raw(seq16(1)).raw(seq16(0x81)).zeros(16);
    EXPECT_EQ(encode(n_sessions{command::start_n_sessions, 9, sids}), start.v)
            << "Start-N-Sessions has no Accept: octet 1 is MBZ";
    auto ack = bytes{}.u8(10).u8(3).zeros(10).u32(2).raw(seq16(1)).raw(seq16(0x81)).zeros(16);
    EXPECT_EQ(encode(n_sessions{command::stop_n_ack, 3, sids}), ack.v);
    auto d = decode_n_sessions(ack);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->cmd, command::stop_n_ack);
    EXPECT_EQ(d->accept, 3);
    EXPECT_EQ(d->sids, sids);
    EXPECT_EQ(n_sessions_count(ack), 2U);
    // Number of Sessions disagreeing with the length, or another command: rejected.
    auto bad = ack;
    bad.v[15] = 3;
    EXPECT_FALSE(decode_n_sessions(bad));
    bad = ack;
    bad.v[0] = 5;
    EXPECT_FALSE(decode_n_sessions(bad));
    EXPECT_FALSE(decode_n_sessions(bytes{}.u8(8).zeros(30)));
}

TEST(control_messages, type_p_descriptor) {
    // RFC 4656 §3.5: first two bits 00, the next six are the DSCP.
    EXPECT_EQ(dscp_from_type_p(0), 0);
    EXPECT_EQ(dscp_from_type_p(0x2e000000), 46);
    EXPECT_EQ(dscp_from_type_p(0x3f000000), 63);
    EXPECT_EQ(type_p_from_dscp(46), 0x2e000000U);
    EXPECT_EQ(type_p_from_dscp(0xff), 0x3f000000U);
    // 01 = PHB ID (RFC 2836), 10/11 reserved: not supported.
    EXPECT_FALSE(dscp_from_type_p(0x40000000));
    EXPECT_FALSE(dscp_from_type_p(0x80000000));
    EXPECT_FALSE(dscp_from_type_p(0xc0000000));
    // Bits after the DSCP: not a DSCP-only descriptor (perfSONAR refuses them too).
    EXPECT_FALSE(dscp_from_type_p(0x00b80000));
    EXPECT_FALSE(dscp_from_type_p(0x2e000001));
}

TEST(control_messages, ntp_durations) {
    EXPECT_EQ(ntp_duration_to_ns(0), 0U);
    EXPECT_EQ(ntp_duration_to_ns(1ULL << 32), 1'000'000'000U);
    EXPECT_EQ(ntp_duration_to_ns((2ULL << 32) | 0x40000000U), 2'250'000'000U);
    EXPECT_EQ(ns_to_ntp_duration(2'250'000'000U), (2ULL << 32) | 0x40000000U);
    // 1 ns = 4.294967296 units of 2^-32 s: rounds to 4, which reads back as 1 ns.
    EXPECT_EQ(ns_to_ntp_duration(1), 4U);
    EXPECT_EQ(ntp_duration_to_ns(4), 1U);
    // 0.999999999 s = 4294967291.7 units: rounds to ...292, still inside the second.
    EXPECT_EQ(ns_to_ntp_duration(1'999'999'999ULL), (1ULL << 32) | 4294967292U);
    for (uint64_t ns : {1ULL, 999ULL, 123'456'789ULL, 900'000'000'000ULL, 4'000'000'000'000ULL}) {
        uint64_t back = ntp_duration_to_ns(ns_to_ntp_duration(ns));
        EXPECT_LE(back > ns ? back - ns : ns - back, 1U) << ns;
    }
    EXPECT_EQ(ns_to_ntp_duration(~0ULL), ~0ULL) << "saturates past 2^32 s";
}

TEST(control_messages, names) {
    sid_t s = seq16(0xf0);
    EXPECT_EQ(sid_to_string(s), "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
    EXPECT_EQ(to_string(accept_code::temporary_limit), "temporary_limit");
    EXPECT_TRUE(all_zero(bytes{}.zeros(5)));
    EXPECT_FALSE(all_zero(bytes{}.zeros(5).u8(1)));
}
