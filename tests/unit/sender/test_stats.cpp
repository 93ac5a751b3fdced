// twamp-ping's statistics on synthetic reply sequences. Expected values are worked out by hand
// from the definitions in stats.hpp (RFC 3550 §6.4.1 jitter, RFC 5357 §4.2.1 reflector
// numbering), not taken from the code's output.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "twamp/sender/stats.hpp"

namespace {

using twamp::sender::percentile;
using twamp::sender::reply_kind;
using twamp::sender::sample;
using twamp::sender::statistics;
using twamp::sender::summary;

constexpr int64_t base_ns = 1'700'000'000'000'000'000;

// A reply for sender number s, reflector number r: sent at base + s ms, forward transit fwd,
// residence res, backward transit bwd (ns).
sample mk(uint32_t s, uint32_t r, int64_t fwd = 50'000, int64_t res = 5'000, int64_t bwd = 40'000,
          bool sync = false) {
    sample x;
    x.sender_seq = s;
    x.reflector_seq = r;
    x.t1 = base_ns + int64_t{s} * 1'000'000;
    x.t2 = x.t1 + fwd;
    x.t3 = x.t2 + res;
    x.t4 = x.t3 + bwd;
    x.reflector_synchronized = sync;
    return x;
}

TEST(SenderStats, NoLossRoundTripFigures) {
    statistics st;
    // RTT = fwd + bwd (residence taken out): 90, 100, 110, 120 us.
    const int64_t fwds[] = {50'000, 60'000, 70'000, 80'000};
    for (uint32_t i = 0; i < 4; ++i) {
        EXPECT_EQ(st.add(mk(i, i, fwds[i], 7'000, 40'000)), reply_kind::fresh);
    }
    summary s = st.summarize(4, false);
    EXPECT_EQ(s.sent, 4u);
    EXPECT_EQ(s.received, 4u);
    EXPECT_EQ(s.lost, 0u);
    EXPECT_DOUBLE_EQ(s.loss_pct, 0.0);
    ASSERT_TRUE(s.lost_forward && s.lost_backward);
    EXPECT_EQ(*s.lost_forward, 0u);
    EXPECT_EQ(*s.lost_backward, 0u);
    EXPECT_EQ(s.rtt.n, 4u);
    EXPECT_EQ(s.rtt.min, 90'000);
    EXPECT_EQ(s.rtt.max, 120'000);
    EXPECT_DOUBLE_EQ(s.rtt.avg, 105'000.0);
    // population stddev of {90,100,110,120} us: sqrt((225+25+25+225)/4) = sqrt(125) us
    EXPECT_NEAR(s.rtt.stddev, std::sqrt(125.0) * 1000.0, 1e-6);
    EXPECT_EQ(s.rtt.p50, 100'000); // nearest rank: ceil(0.5*4) = 2nd
    EXPECT_EQ(s.rtt.p99, 120'000); // ceil(0.99*4) = 4th
    EXPECT_EQ(s.residence.min, 7'000);
    EXPECT_EQ(s.residence.max, 7'000);
    EXPECT_EQ(s.forward.min, 50'000);
    EXPECT_EQ(s.forward.max, 80'000);
    EXPECT_DOUBLE_EQ(s.backward.avg, 40'000.0);
    EXPECT_FALSE(s.clocks_synchronized);
}

TEST(SenderStats, StddevTextbookExample) {
    // {2,4,4,4,5,5,7,9}: mean 5, population standard deviation exactly 2.
    statistics st;
    const int64_t rtts[] = {2, 4, 4, 4, 5, 5, 7, 9};
    for (uint32_t i = 0; i < 8; ++i) {
        st.add(mk(i, i, rtts[i] * 1000, 0, 0));
    }
    summary s = st.summarize(8, false);
    EXPECT_DOUBLE_EQ(s.rtt.avg, 5000.0);
    EXPECT_NEAR(s.rtt.stddev, 2000.0, 1e-9);
}

TEST(SenderStats, PercentilesNearestRank) {
    std::vector<int64_t> v;
    for (int64_t i = 1; i <= 100; ++i) {
        v.push_back(i);
    }
    // Percentiles in tenths of a percent: 500 is p50, 999 p99.9.
    EXPECT_EQ(percentile(v, 500), 50);
    EXPECT_EQ(percentile(v, 990), 99);
    EXPECT_EQ(percentile(v, 1000), 100);
    std::vector<int64_t> ten = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    EXPECT_EQ(percentile(ten, 500), 5);
    EXPECT_EQ(percentile(ten, 990), 10); // ceil(9.9) = 10th
    EXPECT_EQ(percentile(std::vector<int64_t>{42}, 500), 42);
    EXPECT_EQ(percentile(std::vector<int64_t>{42}, 990), 42);
}

// ceil(pm * n / 1000), worked out by hand. p99.9 of a multiple of 1000 values is exactly
// 0.999 * n, which a double computes as 999.0000000000001 for n = 1000 (one rank too high).
TEST(SenderStats, NearestRankInIntegers) {
    using twamp::sender::nearest_rank;
    EXPECT_EQ(nearest_rank(1000, 999), 999u);
    EXPECT_EQ(nearest_rank(2000, 999), 1998u);
    EXPECT_EQ(nearest_rank(10000, 999), 9990u);
    EXPECT_EQ(nearest_rank(1'000'000, 999), 999'000u);
    EXPECT_EQ(nearest_rank(1001, 999), 1000u); // 999.999
    EXPECT_EQ(nearest_rank(4096, 999), 4092u); // 4091.904
    EXPECT_EQ(nearest_rank(100, 990), 99u);
    EXPECT_EQ(nearest_rank(10, 990), 10u); // 9.9
    EXPECT_EQ(nearest_rank(1000, 950), 950u);
    EXPECT_EQ(nearest_rank(1000, 900), 900u);
    EXPECT_EQ(nearest_rank(1000, 500), 500u);
    EXPECT_EQ(nearest_rank(1001, 500), 501u); // 500.5
    EXPECT_EQ(nearest_rank(1, 999), 1u);
    EXPECT_EQ(nearest_rank(3, 1), 1u); // 0.003: at least the first
    EXPECT_EQ(nearest_rank(1000, 1000), 1000u);

    // The exact path: 1,000 values, the 1,000th an outlier; p99.9 is the 999th.
    twamp::sender::accumulator a;
    for (int64_t i = 1; i <= 1000; ++i) {
        a.add(i == 1000 ? 500'000'000 : 1'000'000 + i);
    }
    EXPECT_EQ(a.describe().p999, 1'000'999);
    // The histogram path: 10,000 values, 10 outliers (ranks 9,991..10,000): p99.9 is rank
    // 9,990, a 1 ms value (its bucket's midpoint, within 1 %), not an outlier.
    twamp::sender::accumulator b;
    for (int i = 1; i <= 10'000; ++i) {
        b.add(i > 9990 ? 500'000'000 : 1'000'000);
    }
    const auto d = b.describe();
    EXPECT_FALSE(d.exact);
    EXPECT_NEAR(static_cast<double>(d.p999), 1e6, 1e4);
    EXPECT_NEAR(static_cast<double>(d.pdv_p999), 0, 1e4);
}

TEST(SenderStats, PercentilesOfAnUnsortedRun) {
    statistics st;
    // 200 replies, RTT k us for k = 200..1 (arriving in descending RTT order).
    for (uint32_t i = 0; i < 200; ++i) {
        st.add(mk(i, i, int64_t{200 - i} * 1000, 0, 0));
    }
    summary s = st.summarize(200, false);
    EXPECT_EQ(s.rtt.p50, 100'000);
    EXPECT_EQ(s.rtt.p99, 198'000);
    EXPECT_EQ(s.rtt.min, 1'000);
    EXPECT_EQ(s.rtt.max, 200'000);
}

TEST(SenderStats, LossSplitFreshStatefulSession) {
    // Sent 0..9. 3 and 6 never reach the reflector (forward); it numbers what it sees:
    // 0->0 1->1 2->2 4->3 5->4 7->5 8->6 9->7. The reply of 8 (r 6) is lost on the way back.
    statistics st;
    const uint32_t pairs[][2] = {{0, 0}, {1, 1}, {2, 2}, {4, 3}, {5, 4}, {7, 5}, {9, 7}};
    for (auto& p : pairs) {
        st.add(mk(p[0], p[1]));
    }
    summary s = st.summarize(10, false);
    EXPECT_EQ(s.lost, 3u);
    EXPECT_DOUBLE_EQ(s.loss_pct, 30.0);
    EXPECT_TRUE(s.reflector_numbering_own);
    ASSERT_TRUE(s.lost_forward.has_value());
    ASSERT_TRUE(s.lost_backward.has_value());
    EXPECT_EQ(*s.lost_forward, 2u);
    EXPECT_EQ(*s.lost_backward, 1u);
}

TEST(SenderStats, LossSplitFirstReplyLostBackward) {
    // Fresh session: reply 0 (r 0) lost backward, 2 lost forward. Seen: 1->1 3->2 4->3.
    // The lowest reflector number (1) is not above its sender number (1): numbering from 0,
    // so r 0 is a backward loss.
    statistics st;
    st.add(mk(1, 1));
    st.add(mk(3, 2));
    st.add(mk(4, 3));
    summary s = st.summarize(5, false);
    ASSERT_TRUE(s.lost_forward && s.lost_backward);
    EXPECT_EQ(*s.lost_forward, 1u);
    EXPECT_EQ(*s.lost_backward, 1u);
}

TEST(SenderStats, LossSplitSessionTheReflectorAlreadyKnew) {
    // The reflector's counter is at 100 from an earlier run on the same ports: 0..4 -> 100..104,
    // reply of 2 lost backward.
    statistics st;
    st.add(mk(0, 100));
    st.add(mk(1, 101));
    st.add(mk(3, 103));
    st.add(mk(4, 104));
    summary s = st.summarize(5, false);
    ASSERT_TRUE(s.lost_forward && s.lost_backward);
    EXPECT_EQ(*s.lost_forward, 0u);
    EXPECT_EQ(*s.lost_backward, 1u);
}

TEST(SenderStats, LossSplitTrailingLossCountsForward) {
    // 0..7 back with their own numbers offset by a forward loss of 2 early on; 8 and 9 never
    // come back: nothing after the last reply tells the direction, so they count forward.
    statistics st;
    const uint32_t pairs[][2] = {{0, 0}, {1, 1}, {3, 2}, {4, 3}, {5, 4}, {6, 5}, {7, 6}};
    for (auto& p : pairs) {
        st.add(mk(p[0], p[1]));
    }
    summary s = st.summarize(10, false);
    EXPECT_EQ(s.lost, 3u);
    ASSERT_TRUE(s.lost_forward && s.lost_backward);
    EXPECT_EQ(*s.lost_forward, 3u);
    EXPECT_EQ(*s.lost_backward, 0u);
}

TEST(SenderStats, LossSplitUnknownWhenReflectorEchoesSenderNumbers) {
    // A stateless reflector copies the sender's number (RFC 8762 §4.3.1): 0 1 3 4 back, 2
    // lost somewhere. Nothing says where.
    statistics st;
    for (uint32_t s : {0u, 1u, 3u, 4u}) {
        st.add(mk(s, s));
    }
    summary s = st.summarize(5, false);
    EXPECT_EQ(s.lost, 1u);
    EXPECT_FALSE(s.reflector_numbering_own);
    EXPECT_FALSE(s.lost_forward.has_value());
    EXPECT_FALSE(s.lost_backward.has_value());
}

TEST(SenderStats, NothingBackNothingKnown) {
    statistics st;
    summary s = st.summarize(5, true);
    EXPECT_EQ(s.received, 0u);
    EXPECT_EQ(s.lost, 5u);
    EXPECT_DOUBLE_EQ(s.loss_pct, 100.0);
    EXPECT_FALSE(s.lost_forward.has_value());
    EXPECT_EQ(s.rtt.n, 0u);
    EXPECT_FALSE(s.clocks_synchronized); // no reply: no reflector S bit to trust
}

TEST(SenderStats, DuplicatesCountOnceAndChangeNothingElse) {
    statistics st;
    EXPECT_EQ(st.add(mk(0, 0)), reply_kind::fresh);
    EXPECT_EQ(st.add(mk(1, 1)), reply_kind::fresh);
    EXPECT_EQ(st.add(mk(1, 1, 900'000)), reply_kind::duplicate); // slower copy: not an RTT
    EXPECT_EQ(st.add(mk(0, 0)), reply_kind::duplicate);
    EXPECT_EQ(st.add(mk(2, 2)), reply_kind::fresh);
    summary s = st.summarize(3, false);
    EXPECT_EQ(s.received, 3u);
    EXPECT_EQ(s.duplicates, 2u);
    EXPECT_EQ(s.lost, 0u);
    EXPECT_EQ(s.reordered, 0u); // a duplicate of an old number is not a reordering
    EXPECT_EQ(s.rtt.max, 90'000);
}

TEST(SenderStats, Reordering) {
    {
        statistics st;
        for (uint32_t s : {0u, 1u, 3u, 2u, 4u}) {
            st.add(mk(s, s));
        }
        EXPECT_EQ(st.summarize(5, false).reordered, 1u); // 2 after 3
    }
    {
        statistics st;
        for (uint32_t s : {0u, 3u, 1u, 2u, 4u}) {
            st.add(mk(s, s));
        }
        EXPECT_EQ(st.summarize(5, false).reordered, 2u); // 1 and 2 after 3
    }
    {
        statistics st;
        for (uint32_t s : {4u, 3u, 2u, 1u, 0u}) {
            st.add(mk(s, s));
        }
        EXPECT_EQ(st.summarize(5, false).reordered, 4u);
    }
}

// Sender and reflector numbers wrap after 2^32 packets: replies in order across the wrap are
// neither reordered nor duplicates, and the loss split still counts the gaps.
TEST(SenderStats, SequenceNumbersAcrossTheWrap) {
    {
        statistics st;
        uint32_t seq = 0xFFFF'FFF0u;
        for (int i = 0; i < 40; ++i, ++seq) {
            EXPECT_EQ(st.add(mk(seq, seq)), reply_kind::fresh) << i;
        }
        const summary s = st.summarize(40, false);
        EXPECT_EQ(s.received, 40u);
        EXPECT_EQ(s.reordered, 0u);
        EXPECT_EQ(s.duplicates, 0u);
        EXPECT_EQ(s.lost, 0u);
    }
    {
        // Reordered across the wrap: 0 arrives before 0xFFFFFFFF; a repeat of 0xFFFFFFFE after
        // the wrap is a duplicate.
        statistics st;
        for (uint32_t s : {0xFFFF'FFFDu, 0xFFFF'FFFEu, 0u, 0xFFFF'FFFFu, 1u}) {
            st.add(mk(s, s));
        }
        EXPECT_EQ(st.add(mk(0xFFFF'FFFEu, 0xFFFF'FFFEu)), reply_kind::duplicate);
        const summary s = st.summarize(5, false);
        EXPECT_EQ(s.reordered, 1u);
        EXPECT_EQ(s.duplicates, 1u);
    }
    {
        // A stateful reflector numbering its own way across the wrap (sender 0.. of a session
        // it already knew at 0xFFFFFFF0): 20 sent, sender 5 lost forward (the reflector's
        // numbers close up) and sender 12's reply lost backward (a gap in them).
        statistics st;
        uint32_t r = 0xFFFF'FFF0u;
        for (uint32_t s = 0; s < 20; ++s) {
            if (s == 5) {
                continue; // never reached the reflector: no number used
            }
            if (s != 12) {
                st.add(mk(s, r));
            }
            ++r;
        }
        const summary s = st.summarize(20, false);
        EXPECT_EQ(s.received, 18u);
        EXPECT_EQ(s.reordered, 0u);
        ASSERT_TRUE(s.lost_backward.has_value());
        EXPECT_EQ(*s.lost_backward, 1u);
        EXPECT_EQ(*s.lost_forward, 1u);
    }
}

TEST(SenderStats, JitterRfc3550Recursion) {
    // Forward transit alternates 100, 110, 100, ... us: |D| = 10 us every step, so after n
    // steps J_n = 10 us * (1 - (15/16)^n) (J_0 = 0, J_n = J_{n-1} + (10 - J_{n-1}) / 16).
    // Backward transit constant: jitter 0.
    statistics st;
    const int n = 40;
    for (int i = 0; i <= n; ++i) {
        st.add(mk(static_cast<uint32_t>(i), static_cast<uint32_t>(i), i % 2 ? 110'000 : 100'000,
                  3'000, 70'000));
    }
    summary s = st.summarize(n + 1, false);
    EXPECT_NEAR(s.jitter_forward, 10'000.0 * (1.0 - std::pow(15.0 / 16.0, n)), 1e-6);
    EXPECT_DOUBLE_EQ(s.jitter_backward, 0.0);
}

TEST(SenderStats, JitterUsesArrivalOrder) {
    // RFC 3550 compares each packet with the one that arrived before it. Transits 100 (seq 0),
    // 130 (seq 2), 100 (seq 1): D = 30 then 30; J = 30/16, then J + (30 - J)/16.
    statistics st;
    st.add(mk(0, 0, 100'000));
    st.add(mk(2, 2, 130'000));
    st.add(mk(1, 1, 100'000));
    const double j1 = 30'000.0 / 16.0;
    const double j2 = j1 + (30'000.0 - j1) / 16.0;
    EXPECT_NEAR(st.summarize(3, false).jitter_forward, j2, 1e-9);
}

TEST(SenderStats, ClockOffsetMovesOneWayButNotRttOrJitter) {
    // The reflector's clock 7 ms ahead: T2 and T3 read 7 ms late.
    const int64_t off = 7'000'000;
    statistics a, b;
    const int64_t fwds[] = {50'000, 61'000, 48'000, 70'000};
    for (uint32_t i = 0; i < 4; ++i) {
        sample x = mk(i, i, fwds[i], 4'000, 30'000 + 1000 * i);
        a.add(x);
        x.t2 += off;
        x.t3 += off;
        b.add(x);
    }
    summary sa = a.summarize(4, false), sb = b.summarize(4, false);
    EXPECT_EQ(sa.rtt.min, sb.rtt.min);
    EXPECT_EQ(sa.rtt.max, sb.rtt.max);
    EXPECT_DOUBLE_EQ(sa.rtt.avg, sb.rtt.avg);
    EXPECT_EQ(sb.forward.min, sa.forward.min + off);
    EXPECT_EQ(sb.backward.max, sa.backward.max - off);
    EXPECT_EQ(sa.residence.min, sb.residence.min);
    EXPECT_NEAR(sa.jitter_forward, sb.jitter_forward, 1e-6);
    EXPECT_NEAR(sa.jitter_backward, sb.jitter_backward, 1e-6);
    EXPECT_GT(sa.jitter_forward, 0.0);
}

TEST(SenderStats, SynchronizedOnlyWhenBothClocksSayS) {
    {
        statistics st;
        st.add(mk(0, 0, 1, 1, 1, true));
        st.add(mk(1, 1, 1, 1, 1, true));
        EXPECT_TRUE(st.summarize(2, true).clocks_synchronized);
        EXPECT_FALSE(st.summarize(2, false).clocks_synchronized); // ours unsynchronized
    }
    {
        statistics st;
        st.add(mk(0, 0, 1, 1, 1, true));
        st.add(mk(1, 1, 1, 1, 1, false)); // the reflector lost sync midway
        EXPECT_FALSE(st.summarize(2, true).clocks_synchronized);
    }
}

TEST(SenderStats, LateRepliesCountAsLost) {
    statistics st;
    st.add(mk(0, 0));
    st.add_late();
    summary s = st.summarize(2, false);
    EXPECT_EQ(s.late, 1u);
    EXPECT_EQ(s.received, 1u);
    EXPECT_EQ(s.lost, 1u);
}

// --mode twamp --sessions N: the run's own loss and delays, the sessions' sums for the rest.
TEST(SenderStats, MergeSessionsSumsWhatNumberingPerSessionTells) {
    summary run;
    run.sent = 10;
    run.received = 7;
    run.lost = 3;
    run.duplicates = 99; // the run's global numbering knows nothing of these: replaced
    run.reordered = 99;
    run.late = 99;
    summary a, b;
    a.lost_forward = 1;
    a.lost_backward = 1;
    a.duplicates = 2;
    a.reordered = 1;
    a.late = 1;
    b.lost_forward = 1;
    b.lost_backward = 0;
    b.duplicates = 1;
    const std::vector<summary> both{a, b};
    summary m = twamp::sender::merge_sessions(run, both);
    EXPECT_EQ(m.sent, 10u);
    EXPECT_EQ(m.received, 7u);
    EXPECT_EQ(m.lost, 3u);
    EXPECT_EQ(m.lost_forward, 2u);
    EXPECT_EQ(m.lost_backward, 1u);
    EXPECT_EQ(m.duplicates, 3u);
    EXPECT_EQ(m.reordered, 1u);
    EXPECT_EQ(m.late, 1u);
    // One session whose split is unknown makes the run's unknown.
    b.lost_forward.reset();
    b.lost_backward.reset();
    const std::vector<summary> unknown{a, b};
    m = twamp::sender::merge_sessions(run, unknown);
    EXPECT_FALSE(m.lost_forward);
    EXPECT_FALSE(m.lost_backward);
}

} // namespace
