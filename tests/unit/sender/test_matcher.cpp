// twamp-ping's reply matching (reply_matcher): which datagrams are replies to packets we sent,
// in the order of checks README states (source, length, SSID, Sender Sequence Number, Sender
// Timestamp), and how fresh, duplicate, late and lost packets are counted.
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "twamp/sender/matcher.hpp"

namespace {

using namespace twamp::sender;
using bytes = std::vector<uint8_t>;

void put(bytes& b, std::size_t at, uint64_t v, int octets) {
    for (int i = octets - 1; i >= 0; --i) {
        b[at + static_cast<std::size_t>(i)] = static_cast<uint8_t>(v);
        v >>= 8;
    }
}

// NTP timestamp (RFC 5905) of Unix time `ns`: what proto::encode_timestamp writes for ntp.
uint64_t ntp(int64_t ns) {
    const uint64_t sec = static_cast<uint64_t>(ns / 1'000'000'000) + 2'208'988'800ULL;
    const uint64_t frac = (static_cast<uint64_t>(ns % 1'000'000'000) << 32) / 1'000'000'000;
    return sec << 32 | frac;
}

constexpr int64_t t0 = 1'800'000'000'000'000'000; // a Unix time in ns

// A reflector's reply (RFC 5357 §4.2.1 / RFC 8762 §4.3.1) to our packet `sseq` sent with
// Timestamp `sts`, reflected as the reflector's packet `rseq` with T2/T3 in NTP format.
bytes reply_to(uint32_t sseq, uint64_t sts, uint32_t rseq, int64_t t2, int64_t t3,
               std::size_t len = 41, uint16_t ssid = 0) {
    bytes b(len, 0);
    put(b, 0, rseq, 4);
    put(b, 4, ntp(t3), 8);
    put(b, 12, 0x8001, 2); // S=1, Z=0, Multiplier 1
    put(b, 14, ssid, 2);
    put(b, 16, ntp(t2), 8);
    put(b, 24, sseq, 4);
    put(b, 28, sts, 8);
    b[40] = 255;
    return b;
}

// Packets 0..n-1 sent 1 ms apart (monotonic 1000 + k ms, T1 = t0 + k ms), Timestamp 100 + k.
reply_matcher sent(std::size_t n, enum mode m = mode::light, uint16_t ssid = 1) {
    reply_matcher b(m, ssid);
    for (std::size_t k = 0; k < n; ++k) {
        const auto ki = static_cast<int64_t>(k);
        b.record_send(1'000'000'000 + ki * 1'000'000, t0 + ki * 1'000'000, 100 + k,
                      static_cast<uint32_t>(10 + k), false);
    }
    return b;
}

TEST(SenderMatcher, FreshReplyGivesTheSample) {
    auto b = sent(3);
    EXPECT_EQ(b.next_seq(), 3u);
    const int64_t t2 = t0 + 1'000'000 + 40'000, t3 = t2 + 10'000, t4 = t3 + 30'000;
    auto m = b.match(reply_to(1, 101, 7, t2, t3), true, t4, 37);
    ASSERT_EQ(m.verdict, reply_verdict::fresh);
    EXPECT_EQ(m.global, 11u);
    EXPECT_EQ(m.s.sender_seq, 1u);
    EXPECT_EQ(m.s.reflector_seq, 7u);
    EXPECT_EQ(m.s.t1, t0 + 1'000'000);
    EXPECT_NEAR(static_cast<double>(m.s.t2), static_cast<double>(t2), 1); // NTP fractions
    EXPECT_NEAR(static_cast<double>(m.s.t3), static_cast<double>(t3), 1);
    EXPECT_EQ(m.s.t4, t4);
    EXPECT_TRUE(m.s.reflector_synchronized);
    EXPECT_EQ(m.r.sender_ttl, 255);
    EXPECT_EQ(b.stats().received(), 1u);
    EXPECT_EQ(b.invalid(), 0u);
}

TEST(SenderMatcher, InvalidRepliesInTheOrderChecked) {
    auto b = sent(2);
    const bytes good = reply_to(0, 100, 0, t0, t0);
    struct row {
        bytes payload;
        bool from_peer;
        const char* why;
    };
    bytes short_one(good.begin(), good.begin() + 40);
    const row rows[] = {
            // The source is checked first, even for a good reply.
            {good, false, "from another address or port"},
            {short_one, true, "shorter than a TWAMP reply (41 octets)"},
            {reply_to(2, 100, 0, t0, t0), true, "Sender Sequence Number never sent"},
            {reply_to(0, 101, 0, t0, t0), true,
             "Sender Timestamp differs from the one sent with that sequence number"},
    };
    for (const row& w : rows) {
        auto m = b.match(w.payload, w.from_peer, t0, 37);
        EXPECT_EQ(m.verdict, reply_verdict::invalid) << w.why;
        ASSERT_NE(m.why, nullptr) << w.why;
        EXPECT_STREQ(m.why, w.why);
    }
    EXPECT_EQ(b.invalid(), 4u);
    EXPECT_EQ(b.stats().received(), 0u);
    b.count_invalid(); // a truncated datagram
    EXPECT_EQ(b.invalid(), 5u);
    // None of them used up packet 0: its real reply still counts.
    EXPECT_EQ(b.match(good, true, t0, 37).verdict, reply_verdict::fresh);
}

TEST(SenderMatcher, StampChecksLengthAndSsid) {
    auto b = sent(1, mode::stamp, 0x1234);
    auto m = b.match(reply_to(0, 100, 0, t0, t0, 43, 0x1234), true, t0, 37);
    EXPECT_STREQ(m.why, "shorter than a STAMP reply (44 octets)");
    m = b.match(reply_to(0, 100, 0, t0, t0, 44, 0x1235), true, t0, 37);
    EXPECT_STREQ(m.why, "SSID differs from ours");
    EXPECT_EQ(b.match(reply_to(0, 100, 0, t0, t0, 44, 0x1234), true, t0, 37).verdict,
              reply_verdict::fresh);
}

TEST(SenderMatcher, DuplicatesCountedOnce) {
    auto b = sent(2);
    const bytes r = reply_to(1, 101, 0, t0, t0);
    EXPECT_EQ(b.match(r, true, t0, 37).verdict, reply_verdict::fresh);
    auto m = b.match(r, true, t0 + 5, 37);
    EXPECT_EQ(m.verdict, reply_verdict::duplicate);
    EXPECT_EQ(m.s.sender_seq, 1u);
    EXPECT_EQ(m.s.t4, t0 + 5);
    EXPECT_EQ(b.stats().received(), 1u);
    EXPECT_EQ(b.stats().summarize(2, true).duplicates, 1u);
}

TEST(SenderMatcher, ExpiryInSequenceOrderThenLate) {
    auto b = sent(4); // monotonic 1000, 1001, 1002, 1003 ms
    const int64_t timeout = 500'000'000;
    // Packet 1 answered; at 1501.5 ms packets 0 and 1 are due, 0 is lost, 1 settled.
    EXPECT_EQ(b.match(reply_to(1, 101, 0, t0, t0), true, t0, 37).verdict, reply_verdict::fresh);
    EXPECT_EQ(b.next_expiry(timeout), 1'500'000'000);
    std::vector<uint32_t> lost;
    b.expire(1'501'500'000, timeout, [&](uint32_t seq) { lost.push_back(seq); });
    EXPECT_EQ(lost, std::vector<uint32_t>{0});
    EXPECT_FALSE(b.settled());
    EXPECT_EQ(b.next_expiry(timeout), 1'502'000'000); // packet 2
    // A reply for packet 0 now is late: counted, not received.
    auto m = b.match(reply_to(0, 100, 0, t0 + 10, t0 + 20), true, t0 + 1000, 37);
    EXPECT_EQ(m.verdict, reply_verdict::late);
    EXPECT_EQ(m.s.sender_seq, 0u);
    EXPECT_EQ(statistics::round_trip(m.s), 1000 - 10);
    EXPECT_EQ(b.stats().received(), 1u);
    // The end of the run: everything outstanding is lost, whatever the time.
    b.expire(INT64_MAX, timeout, [&](uint32_t seq) { lost.push_back(seq); });
    EXPECT_EQ(lost, (std::vector<uint32_t>{0, 2, 3}));
    EXPECT_TRUE(b.settled());
    EXPECT_EQ(b.next_expiry(timeout), INT64_MAX);
    const summary s = b.stats().summarize(b.sent(), true);
    EXPECT_EQ(s.sent, 4u);
    EXPECT_EQ(s.received, 1u);
    EXPECT_EQ(s.lost, 3u);
    EXPECT_EQ(s.late, 1u);
}

TEST(SenderMatcher, FailedSendIsLostAtOnceAndNeverExpiresAgain) {
    reply_matcher b(mode::light, 1);
    b.record_send(0, t0, 100, 0, true);
    b.record_send(1, t0 + 1, 101, 1, false);
    EXPECT_EQ(b.send_errors(), 1u);
    std::vector<uint32_t> lost;
    b.expire(INT64_MAX, 1, [&](uint32_t seq) { lost.push_back(seq); });
    EXPECT_EQ(lost, std::vector<uint32_t>{1}); // 0 was never outstanding: no "lost" line
}

TEST(SenderMatcher, TlvFlagsCountedOnFreshRepliesOnly) {
    auto b = sent(1, mode::stamp, 1);
    bytes r = reply_to(0, 100, 0, t0, t0, 48, 1);
    // RFC 8972 §4: one TLV, U flag set (0x80), unknown type 0xfe, no value.
    r[44] = 0x80;
    r[45] = 0xfe;
    auto m = b.match(r, true, t0, 37);
    ASSERT_EQ(m.verdict, reply_verdict::fresh);
    EXPECT_EQ(m.r.tlvs_unrecognized, 1u);
    EXPECT_EQ(b.match(r, true, t0, 37).verdict, reply_verdict::duplicate);
    EXPECT_EQ(b.tlv_flagged(), 1u);
}

// Issue 19: the records are a window. A reply to a packet older than the last `history`
// settled ones is invalid (it cannot be told duplicate or late any more), one within it is
// still a duplicate; the outstanding count follows replies and expiry.
TEST(SenderMatcher, WindowOfRecords) {
    const std::size_t n = reply_matcher::history + 100;
    reply_matcher b = sent(n);
    EXPECT_EQ(b.outstanding(), n);
    auto r = b.match(reply_to(n - 1, 100 + (n - 1), 0, t0 + 1, t0 + 2), true, t0 + 3, 0);
    EXPECT_EQ(r.verdict, reply_verdict::fresh);
    EXPECT_EQ(b.outstanding(), n - 1);
    b.expire(INT64_MAX, 0, [](uint32_t) {});
    EXPECT_EQ(b.outstanding(), 0u);
    EXPECT_EQ(b.records(), reply_matcher::history);
    r = b.match(reply_to(50, 150, 1, t0 + 1, t0 + 2), true, t0 + 3, 0);
    EXPECT_EQ(r.verdict, reply_verdict::invalid);
    EXPECT_STREQ(r.why, "Sender Sequence Number older than the packets remembered");
    r = b.match(reply_to(n - 1, 100 + (n - 1), 2, t0 + 1, t0 + 2), true, t0 + 3, 0);
    EXPECT_EQ(r.verdict, reply_verdict::duplicate);
    r = b.match(reply_to(n - 2, 100 + (n - 2), 3, t0 + 1, t0 + 2), true, t0 + 3, 0);
    EXPECT_EQ(r.verdict, reply_verdict::late);
    r = b.match(reply_to(n, 100 + n, 3, t0 + 1, t0 + 2), true, t0 + 3, 0);
    EXPECT_STREQ(r.why, "Sender Sequence Number never sent");
    EXPECT_EQ(b.stats().summarize(b.sent(), false).duplicates, 1u);
}

} // namespace
