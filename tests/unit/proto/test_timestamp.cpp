// Timestamps and the Error Estimate (include/twamp/proto/timestamp.hpp).
//
// Known values were computed independently with Python's exact fractions:
//   ntp(ns) = (ns // 10**9 + 2208988800) << 32 | round_half_up((ns % 10**9) * 2**32 / 10**9)
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "test_util.hpp"

#include "twamp/proto/timestamp.hpp"

using namespace twamp::proto;

namespace {

struct ntp_row {
    const char* what;
    const char* rfc;
    uint64_t unix_ns;
    uint64_t ntp;
};

const ntp_row ntp_rows[] = {
        {"Unix epoch is NTP second 2208988800", "RFC 5905 §6, RFC 868", 0, 2208988800ULL << 32},
        {"1 ns is 4.29 units of 2^-32 s, rounds to 4", "RFC 5905 §6", 1, 0x83aa7e8000000004ULL},
        {"half a second is fraction 2^31", "RFC 5905 §6", 500'000'000, 0x83aa7e8080000000ULL},
        {"last ns of a second stays in it", "RFC 5905 §6", 999'999'999, 0x83aa7e80fffffffcULL},
        {"2023-01-01T00:00:00Z", "RFC 5905 §6", 1'672'531'200'000'000'000ULL,
         0xe75b4b8000000000ULL},
        {"2023-11-14T22:13:20.123456789Z", "RFC 5905 §6", 1'700'000'000'123'456'789ULL,
         0xe8fe6f801f9add37ULL},
};

} // namespace

TEST(timestamp, ntp_known_values) {
    for (const auto& r : ntp_rows) {
        SCOPED_TRACE(std::string(r.what) + " [" + r.rfc + "]");
        EXPECT_EQ(ntp_from_unix_ns(r.unix_ns), r.ntp);
        EXPECT_EQ(unix_ns_from_ntp(r.ntp), r.unix_ns);
        EXPECT_EQ(encode_timestamp(ts_format::ntp, r.unix_ns, 37), r.ntp);
        EXPECT_EQ(decode_timestamp(ts_format::ntp, r.ntp, 37), r.unix_ns);
        EXPECT_EQ(twamp::test::ref_ntp(r.unix_ns), r.ntp); // the tests' own encoder, pinned
    }
}

// RFC 5905 §6: a 2^-32 s fraction (0.23 ns) resolves every nanosecond, so ns -> NTP -> ns is
// exact across NTP era 0 (until 2036-02-07).
TEST(timestamp, ntp_round_trip_exact) {
    std::mt19937_64 rng(5905);
    const uint64_t era0_end_ns = ((uint64_t{1} << 32) - ntp_unix_offset_s) * ns_per_s;
    for (int i = 0; i < 200000; ++i) {
        uint64_t ns = rng() % era0_end_ns;
        if (i < 2000) {
            ns = ns / ns_per_s * ns_per_s + static_cast<uint64_t>(i % 1000) +
                 (i >= 1000 ? ns_per_s - 1000 : 0); // both ends of a second
        }
        ASSERT_EQ(unix_ns_from_ntp(ntp_from_unix_ns(ns)), ns) << ns;
        ASSERT_EQ(ntp_from_unix_ns(ns), twamp::test::ref_ntp(ns)) << ns;
    }
}

// RFC 8186 §2.3 / IEEE 1588: PTPv2 truncated = TAI seconds since 1970 (32 bits) + ns (32 bits).
TEST(timestamp, ptp_known_values) {
    struct row {
        const char* what;
        uint64_t unix_ns;
        int32_t tai_utc;
        uint64_t ptp;
    };
    const row rows[] = {
            {"Unix epoch, TAI-UTC 37 s", 0, 37, uint64_t{37} << 32},
            {"1.5 s, TAI-UTC 37 s", 1'500'000'000, 37, uint64_t{38} << 32 | 500'000'000},
            {"TAI-UTC 0", 1'500'000'000, 0, uint64_t{1} << 32 | 500'000'000},
            {"2023-11-14T22:13:20.123456789Z", 1'700'000'000'123'456'789ULL, 37,
             uint64_t{1'700'000'037} << 32 | 123'456'789},
            {"last ns of a second", 999'999'999, 37, uint64_t{37} << 32 | 999'999'999},
    };
    for (const auto& r : rows) {
        SCOPED_TRACE(std::string(r.what) + " [RFC 8186 §2.3]");
        EXPECT_EQ(ptp_from_unix_ns(r.unix_ns, r.tai_utc), r.ptp);
        EXPECT_EQ(unix_ns_from_ptp(r.ptp, r.tai_utc), r.unix_ns);
        EXPECT_EQ(encode_timestamp(ts_format::ptp, r.unix_ns, r.tai_utc), r.ptp);
        EXPECT_EQ(decode_timestamp(ts_format::ptp, r.ptp, r.tai_utc), r.unix_ns);
        EXPECT_EQ(twamp::test::ref_ptp(r.unix_ns, r.tai_utc), r.ptp);
        EXPECT_LT(r.ptp & 0xffffffff, ns_per_s) << "nanoseconds field must stay below 1e9";
    }
}

TEST(timestamp, ptp_round_trip_exact) {
    std::mt19937_64 rng(8186);
    for (int i = 0; i < 200000; ++i) {
        uint64_t ns = rng() % (uint64_t{4'000'000'000} * ns_per_s);
        int32_t off = static_cast<int32_t>(rng() % 40);
        ASSERT_EQ(unix_ns_from_ptp(ptp_from_unix_ns(ns, off), off), ns);
    }
}

// RFC 4656 §4.1.2 (with Z from RFC 8186 §2.3): S(1) Z(1) Scale(6) Multiplier(8).
TEST(error_estimate, encode_decode_layout) {
    struct row {
        error_estimate e;
        uint16_t wire;
    };
    const row rows[] = {
            {{false, false, 0, 1}, 0x0001},     {{true, false, 0, 1}, 0x8001},
            {{false, true, 0, 1}, 0x4001},      {{true, true, 0, 1}, 0xc001},
            {{true, false, 1, 3}, 0x8103},      {{false, false, 63, 255}, 0x3fff},
            {{true, true, 0x2a, 0x55}, 0xea55},
    };
    for (const auto& r : rows) {
        EXPECT_EQ(r.e.encode(), r.wire);
        EXPECT_EQ(error_estimate::decode(r.wire), r.e);
    }
    // Every 16-bit value survives decode -> encode, and S/Z land where the RFCs put them.
    for (uint32_t v = 0; v <= 0xffff; ++v) {
        auto e = error_estimate::decode(static_cast<uint16_t>(v));
        ASSERT_EQ(e.encode(), v);
        ASSERT_EQ(e.synchronized, (v & 0x8000) != 0);
        ASSERT_EQ(e.ptp, (v & 0x4000) != 0);
        ASSERT_EQ(e.scale, (v >> 8) & 0x3f);
        ASSERT_EQ(e.multiplier, v & 0xff);
    }
}

// RFC 4656 §4.1.2: error = Multiplier * 2^(Scale - 32) s, stated in ns rounded up.
TEST(error_estimate, error_ns_known_values) {
    EXPECT_EQ((error_estimate{false, false, 32, 1}.error_ns()), 1'000'000'000u); // 1 s
    EXPECT_EQ((error_estimate{false, false, 0, 1}.error_ns()), 1u);        // 0.23 ns rounds up
    EXPECT_EQ((error_estimate{false, false, 22, 1}.error_ns()), 976'563u); // 2^-10 s
    EXPECT_EQ((error_estimate{false, false, 25, 128}.error_ns()), 1'000'000'000u);
    EXPECT_EQ((error_estimate{false, false, 0, 255}.error_ns()), 60u); // 59.37 ns
    // 255 * 2^31 s does not fit in 64 bits of ns: saturates instead of wrapping.
    EXPECT_EQ((error_estimate{false, false, 63, 255}.error_ns()),
              std::numeric_limits<uint64_t>::max());
}

// make_error_estimate: Multiplier never 0 (RFC 4656 says 0 is invalid), never states less
// error than asked (error_ns() >= requested), smallest Scale that fits (so Multiplier >= 128
// whenever Scale > 0), and at most 1/128 + 2 ns above the request.
TEST(error_estimate, make_never_zero_never_understates) {
    std::vector<uint64_t> asks;
    for (uint64_t v = 0; v < 5000; ++v) {
        asks.push_back(v);
    }
    for (int b = 0; b < 64; ++b) {
        uint64_t p = uint64_t{1} << b;
        asks.insert(asks.end(), {p - 1, p, p + 1});
    }
    for (uint64_t p = 1; p <= 10'000'000'000'000'000'000ULL / 10; p *= 10) {
        asks.insert(asks.end(), {p - 1, p, p + 1, p * 10 - 1});
    }
    asks.push_back(std::numeric_limits<uint64_t>::max());
    std::mt19937_64 rng(4656);
    for (int i = 0; i < 20000; ++i) {
        asks.push_back(rng() >> (rng() % 64));
    }
    for (uint64_t ask : asks) {
        for (int flags = 0; flags < 4; ++flags) {
            const bool s = flags & 1;
            const bool z = flags & 2;
            error_estimate e = make_error_estimate(ask, s, z);
            ASSERT_NE(e.multiplier, 0) << ask;
            ASSERT_LE(e.scale, 63) << ask;
            ASSERT_GE(e.error_ns(), ask) << ask;
            if (e.scale > 0) {
                ASSERT_GE(e.multiplier, 128) << "not the smallest Scale for " << ask;
            }
            if (ask < std::numeric_limits<uint64_t>::max() / 2) {
                ASSERT_LE(e.error_ns(), ask + ask / 127 + 2) << ask;
            }
            ASSERT_EQ(e.synchronized, s);
            ASSERT_EQ(e.ptp, z);
            ASSERT_EQ(e.encode() & 0x8000, s ? 0x8000 : 0) << "S bit";
            ASSERT_EQ(e.encode() & 0x4000, z ? 0x4000 : 0) << "Z bit";
        }
    }
    EXPECT_EQ(make_error_estimate(0, false, false), (error_estimate{false, false, 0, 1}));
    EXPECT_EQ(make_error_estimate(1'000'000'000, true, false),
              (error_estimate{true, false, 25, 128}));
}
