// Internet checksum helpers (include/twamp/proto/checksum.hpp) against the RFCs' own examples
// and against the plain reference loop of test_util.hpp.
#include <array>
#include <cstdint>
#include <random>

#include <gtest/gtest.h>

#include "test_util.hpp"

#include "twamp/proto/checksum.hpp"

using namespace twamp::proto;
using namespace twamp::test;

namespace {

bytes random_bytes(std::mt19937& rng, std::size_t n) {
    bytes b(n);
    for (auto& c : b) {
        c = static_cast<uint8_t>(rng());
    }
    return b;
}

} // namespace

// RFC 1071 §3 numerical example: the sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2.
TEST(checksum, rfc1071_example) {
    const std::array<uint8_t, 8> b{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(csum_bytes(b), 0xddf2);
    EXPECT_EQ(internet_checksum(b), 0x220d);
    EXPECT_EQ(ref_sum(b), 0xddf2); // the reference loop agrees with the RFC too
}

// RFC 791 §3.1 header checksum, the widely quoted worked example
// 4500 0030 4422 4000 8006 [0000] 8c7c 19ac ae24 1e2b -> 442e.
TEST(checksum, rfc791_ipv4_header_example) {
    const std::array<uint8_t, 20> h{0x45, 0x00, 0x00, 0x30, 0x44, 0x22, 0x40, 0x00, 0x80, 0x06,
                                    0x00, 0x00, 0x8c, 0x7c, 0x19, 0xac, 0xae, 0x24, 0x1e, 0x2b};
    EXPECT_EQ(internet_checksum(h), 0x442e);
    auto with = h;
    with[10] = 0x44;
    with[11] = 0x2e;
    EXPECT_TRUE(ipv4_header_checksum_ok(with.data(), with.size()));
    with[11] ^= 1;
    EXPECT_FALSE(ipv4_header_checksum_ok(with.data(), with.size()));
}

// RFC 1071 §2(B): odd final octet is the high half of a word padded with zero. Every length
// 0..300 (the 16/4/2/1-octet loops of csum_bytes and all their tails) against the reference.
TEST(checksum, csum_bytes_matches_reference_every_length) {
    std::mt19937 rng(1071);
    for (std::size_t n = 0; n <= 300; ++n) {
        for (int rep = 0; rep < 4; ++rep) {
            bytes b = random_bytes(rng, n);
            if (rep == 3) {
                std::fill(b.begin(), b.end(), 0xff); // maximal carries
            }
            ASSERT_EQ(csum_bytes(b), ref_sum(b)) << "n=" << n << " rep=" << rep;
        }
    }
}

// RFC 1071 §2(A)/(C): the sum can be split at any even boundary and recombined with csum_add.
TEST(checksum, split_sums_combine) {
    std::mt19937 rng(2);
    for (int i = 0; i < 500; ++i) {
        bytes b = random_bytes(rng, 2 + rng() % 200);
        std::size_t cut = (rng() % b.size()) & ~std::size_t{1};
        uint16_t a = csum_bytes(b.data(), cut);
        uint16_t c = csum_bytes(b.data() + cut, b.size() - cut);
        EXPECT_TRUE(ones_eq(csum_add(a, c), ref_sum(b))) << "i=" << i;
        EXPECT_TRUE(ones_eq(csum_sub(ref_sum(b), c), a)) << "i=" << i;
    }
}

// RFC 1624 §4 example: m 0x5555 -> 0x3285 with HC 0xdd2f. From scratch the new checksum is
// 0x0000; eqn. 2 (RFC 1141) would give 0xffff, eqn. 3 must give 0x0000.
TEST(checksum, rfc1624_example) {
    EXPECT_EQ(csum_replace16(0xdd2f, 0x5555, 0x3285), 0x0000);
    // The same case with the header written out: other words sum to 0xcd7a.
    bytes h{0xcd, 0x7a, 0x55, 0x55};
    EXPECT_EQ(static_cast<uint16_t>(~ref_sum(h)), 0xdd2f);
    h[2] = 0x32;
    h[3] = 0x85;
    EXPECT_EQ(static_cast<uint16_t>(~ref_sum(h)), 0x0000);
}

// RFC 1624 eqn. 3: incremental update of one 16-bit word equals recomputing from scratch.
TEST(checksum, replace16_matches_full_recompute) {
    std::mt19937 rng(1624);
    for (int i = 0; i < 20000; ++i) {
        bytes b = random_bytes(rng, 2 * (1 + rng() % 40));
        uint16_t hc = static_cast<uint16_t>(~ref_sum(b));
        std::size_t w = 2 * (rng() % (b.size() / 2));
        uint16_t old_v = rd16(&b[w]);
        uint16_t new_v = static_cast<uint16_t>(i % 7 == 0 ? ~old_v : rng());
        wr16(&b[w], new_v);
        if (ref_sum(b) == 0) {
            continue; // all-zero data: +0, which no header with a version nibble can have
        }
        ASSERT_EQ(csum_replace16(hc, old_v, new_v), static_cast<uint16_t>(~ref_sum(b)))
                << "i=" << i;
    }
}

// The same for 32-bit fields (addresses, timestamps halves) at any even offset.
TEST(checksum, replace32_matches_full_recompute) {
    std::mt19937 rng(3232);
    for (int i = 0; i < 20000; ++i) {
        bytes b = random_bytes(rng, 4 + 2 * (rng() % 40));
        uint16_t hc = static_cast<uint16_t>(~ref_sum(b));
        std::size_t w = 2 * (rng() % ((b.size() - 2) / 2));
        uint32_t old_v = rd32(&b[w]);
        uint32_t new_v = static_cast<uint32_t>(rng());
        wr32(&b[w], new_v);
        if (ref_sum(b) == 0) {
            continue;
        }
        ASSERT_EQ(csum_replace32(hc, old_v, new_v), static_cast<uint16_t>(~ref_sum(b)))
                << "i=" << i;
    }
}

// RFC 768 (IPv4 pseudo header) and RFC 8200 §8.1 (IPv6 pseudo header): udp_checksum() over
// random datagrams of every length 0..120 equals the reference built from real pseudo-header
// octets, and udp_checksum_ok() accepts exactly the good ones.
TEST(checksum, udp_pseudo_header_v4_and_v6) {
    std::mt19937 rng(768);
    for (int ipv : {4, 6}) {
        for (std::size_t n = 0; n <= 120; ++n) {
            frame_spec s = ipv == 4 ? v4_spec() : v6_spec();
            s.payload = random_bytes(rng, n);
            s.src_ip[3] = static_cast<uint8_t>(rng());
            s.dst_ip[15] = static_cast<uint8_t>(rng());
            bytes f = build(s);
            const layers l = locate(f.data());
            const uint8_t* ip = f.data() + l.l3;
            uint8_t* udp = f.data() + l.l4;
            uint16_t ps = ipv == 4 ? udp_pseudo_sum_v4(ip, static_cast<uint16_t>(l.udp_len))
                                   : udp_pseudo_sum_v6(ip, static_cast<uint32_t>(l.udp_len));
            uint16_t want = ref_udp_checksum(ipv, ip, udp, l.udp_len);
            ASSERT_EQ(rd16(udp + 6), want);
            ASSERT_EQ(udp_checksum(ps, udp, l.udp_len), want) << "ipv" << ipv << " n=" << n;
            ASSERT_TRUE(udp_checksum_ok(ps, udp, l.udp_len));
            // One flipped bit always changes a one's-complement sum.
            udp[n ? 8 + rng() % n : 0] ^= 0x10;
            ASSERT_FALSE(udp_checksum_ok(ps, udp, l.udp_len)) << "ipv" << ipv << " n=" << n;
        }
    }
}

// RFC 768: "If the computed checksum is zero, it is transmitted as all ones".
TEST(checksum, udp_zero_result_sent_as_ffff) {
    for (int ipv : {4, 6}) {
        frame_spec s = ipv == 4 ? v4_spec() : v6_spec();
        s.payload = {0, 0};
        s.csum = udp_csum::zero;
        bytes f = build(s);
        const layers l = locate(f.data());
        uint8_t* udp = f.data() + l.l4;
        // Choose the payload word that makes the one's-complement sum all ones.
        uint16_t c = ref_udp_checksum(ipv, f.data() + l.l3, udp, l.udp_len);
        wr16(udp + 8, c == 0xffff ? 0 : c);
        ASSERT_EQ(ref_udp_checksum(ipv, f.data() + l.l3, udp, l.udp_len), 0xffff);
        uint16_t ps = ipv == 4 ? udp_pseudo_sum_v4(f.data() + l.l3, 10)
                               : udp_pseudo_sum_v6(f.data() + l.l3, 10);
        EXPECT_EQ(udp_checksum(ps, udp, l.udp_len), 0xffff) << "ipv" << ipv;
        wr16(udp + 6, 0xffff);
        EXPECT_TRUE(udp_checksum_ok(ps, udp, l.udp_len)) << "ipv" << ipv;
    }
}
