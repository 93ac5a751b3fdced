// The 16-octet key form (IPv4-mapped, RFC 4291 §2.5.5.2), its hot-path loader, sockaddr
// conversions, the mode-bit names and port ranges.
#include <cstring>

#include <arpa/inet.h>

#include <gtest/gtest.h>

#include "twamp/net/address.hpp"
#include "twamp/net/modes.hpp"
#include "twamp/net/port_range.hpp"
#include "twamp/net/sockaddr.hpp"

using namespace twamp::net;

namespace {

address v6(const char* text) {
    return *address::parse(text);
}

std::array<uint8_t, 16> raw6(const char* text) {
    std::array<uint8_t, 16> b{};
    EXPECT_EQ(inet_pton(AF_INET6, text, b.data()), 1) << text;
    return b;
}

} // namespace

TEST(address_mapped, ipv4_is_ffff_prefixed_ipv6_as_is) {
    EXPECT_EQ(address::v4(198, 18, 0, 2).mapped(), raw6("::ffff:198.18.0.2"));
    EXPECT_EQ(v6("2001:2::2").mapped(), raw6("2001:2::2"));
    EXPECT_EQ(address::v4(0, 0, 0, 0).mapped(), raw6("::ffff:0.0.0.0"));
}

TEST(address_mapped, from_mapped_is_the_inverse) {
    for (const char* t : {"198.18.0.2", "0.0.0.0", "255.255.255.255", "2001:2::2", "::", "::1",
                          "::fffe:1.2.3.4", "0:0:0:0:1:ffff:102:304"}) {
        const address a = *address::parse(t);
        const auto m = a.mapped();
        EXPECT_EQ(address::from_mapped(m.data()), a) << t;
        EXPECT_EQ(mapped_to_string(m.data()), a.to_string()) << t;
    }
    // An IPv4-mapped IPv6 address reads back as IPv4 (the config refuses to state one).
    const auto m = raw6("::ffff:10.0.0.1");
    EXPECT_EQ(address::from_mapped(m.data()), address::v4(10, 0, 0, 1));
    EXPECT_EQ(mapped_to_string(m.data()), "10.0.0.1");
}

TEST(address_mapped, is_v4_mapped_only_for_ipv6_in_ffff_96) {
    EXPECT_TRUE(v6("::ffff:1.2.3.4").is_v4_mapped());
    EXPECT_TRUE(v6("::ffff:0:0").is_v4_mapped());
    EXPECT_FALSE(v6("::fffe:1.2.3.4").is_v4_mapped());
    EXPECT_FALSE(v6("::1.2.3.4").is_v4_mapped()); // IPv4-compatible, not mapped
    EXPECT_FALSE(v6("1::ffff:1.2.3.4").is_v4_mapped());
    EXPECT_FALSE(address::v4(0, 0, 0xff, 0xff).is_v4_mapped());
}

TEST(address_octets, from_octets_takes_four_or_sixteen) {
    const uint8_t b[16] = {198, 18, 0, 2, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
    EXPECT_EQ(address::from_octets(ip_family::ipv4, b), address::v4(198, 18, 0, 2));
    const address a = address::from_octets(ip_family::ipv6, b);
    EXPECT_TRUE(a.is_v6());
    EXPECT_EQ(std::memcmp(a.bytes.data(), b, 16), 0);
}

TEST(address_words, mapped_words_load_the_key_form) {
    // From a packet's address octets: the same 16 octets mapped() gives.
    const uint8_t ip4[4] = {198, 18, 0, 2};
    const auto k4 = address::v4(198, 18, 0, 2).mapped();
    const address_words w4 = mapped_words(ip4, false);
    EXPECT_TRUE(w4 == k4.data());
    uint8_t out[16];
    w4.to_bytes(out);
    EXPECT_EQ(std::memcmp(out, k4.data(), 16), 0);

    const auto k6 = raw6("2001:2::1:2");
    const address_words w6 = mapped_words(k6.data(), true);
    EXPECT_TRUE(w6 == k6.data());
    // ::ffff:a.b.c.d over IPv6 has the same key words as a.b.c.d: callers tell them apart by
    // family (the worker's memo keeps v6 beside the words).
    const auto km = raw6("::ffff:198.18.0.2");
    EXPECT_TRUE(mapped_words(km.data(), true) == k4.data());
    EXPECT_FALSE(mapped_words(ip4, false) == k6.data());
}

TEST(address_sockaddr, round_trips_both_families) {
    for (const char* t : {"198.18.0.2", "2001:2::2"}) {
        const address a = *address::parse(t);
        sockaddr_storage ss;
        const socklen_t len = to_sockaddr(a, 862, ss);
        EXPECT_EQ(len, a.is_v4() ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
        EXPECT_EQ(ss.ss_family, a.is_v4() ? AF_INET : AF_INET6);
        uint16_t port = 0;
        EXPECT_EQ(from_sockaddr(ss, port), a) << t;
        EXPECT_EQ(port, 862);
    }
}

TEST(address_sockaddr, dual_stack_peer_reads_as_ipv4) {
    sockaddr_storage ss{};
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(4000);
    ASSERT_EQ(inet_pton(AF_INET6, "::ffff:198.18.0.7", &s6->sin6_addr), 1);
    uint16_t port = 0;
    EXPECT_EQ(from_sockaddr(ss, port), address::v4(198, 18, 0, 7));
    EXPECT_EQ(port, 4000);
    port = 0;
    const address kept = from_sockaddr(ss, port, v4_mapped::as_ipv6);
    EXPECT_TRUE(kept.is_v6());
    EXPECT_EQ(kept.to_string(), "::ffff:198.18.0.7");
    EXPECT_EQ(port, 4000);
    EXPECT_EQ(from_sockaddr(ss, port, v4_mapped::as_ipv4), address::v4(198, 18, 0, 7));
}

TEST(address_sockaddr, endpoint_text) {
    EXPECT_EQ(endpoint_to_string(address::v4(198, 18, 0, 2), 862), "198.18.0.2:862");
    EXPECT_EQ(endpoint_to_string(*address::parse("2001:2::2"), 862), "[2001:2::2]:862");
    EXPECT_EQ(endpoint_to_string(*address::parse("::ffff:198.18.0.7"), 1), "[::ffff:198.18.0.7]:1");
}

TEST(prefix_host, is_full_length) {
    EXPECT_EQ(prefix::host(address::v4(1, 2, 3, 4)).to_string(), "1.2.3.4/32");
    EXPECT_EQ(prefix::host(v6("2001:2::2")).to_string(), "2001:2::2/128");
}

TEST(with_host_bits, clears_or_sets_from_the_length_on) {
    const std::array<uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8, 0xab, 0xcd, 0, 0,
                                    0,    0,    0,    0,    0,    0,    0, 1};
    const std::array<uint8_t, 16> n{0x20, 0x01, 0x0d, 0xb8, 0xa8};
    EXPECT_EQ(with_host_bits(a, 37, false), n);
    std::array<uint8_t, 16> top{0x20, 0x01, 0x0d, 0xb8, 0xaf};
    for (unsigned i = 5; i < 16; ++i) {
        top[i] = 0xff;
    }
    EXPECT_EQ(with_host_bits(a, 37, true), top);
    EXPECT_EQ(with_host_bits(a, 128, false), a);
    EXPECT_EQ(with_host_bits(a, 128, true), a);
    EXPECT_EQ(with_host_bits(a, 0, false), (std::array<uint8_t, 16>{}));
    EXPECT_EQ(with_host_bits(a, 40, false)[4], 0xab); // an octet boundary keeps the whole octet
    static_assert(with_host_bits({0xff}, 4, false)[0] == 0xf0);
}

TEST(modes, names_and_values_are_the_rfc_bits) {
    EXPECT_EQ(mode_unauthenticated, 1U);
    EXPECT_EQ(mode_individual_session_control, 16U); // RFC 5938
    EXPECT_EQ(mode_reflect_octets, 32U);             // RFC 6038
    EXPECT_EQ(mode_symmetrical_size, 64U);           // RFC 6038
    EXPECT_EQ(mode_ptpv2_timestamps, 512U);          // RFC 8186: bit position 9
    EXPECT_EQ(modes_to_string(mode_unauthenticated | mode_reflect_octets | 0x80000000U),
              "unauthenticated reflect-octets");
    EXPECT_EQ(modes_to_string(0), "");
    uint32_t all = 0;
    for (const auto& m : mode_names) {
        EXPECT_EQ(all & m.bit, 0U) << m.name;
        all |= m.bit;
    }
    EXPECT_EQ(modes_to_string(all),
              "unauthenticated authenticated encrypted mixed individual-session-control "
              "reflect-octets symmetrical-size ptpv2-timestamps");
    // Issue 17: the three security modes with keys are served too.
    EXPECT_EQ(supported_modes, mode_unauthenticated | mode_authenticated | mode_encrypted |
                                       mode_mixed | mode_individual_session_control |
                                       mode_reflect_octets | mode_symmetrical_size |
                                       mode_ptpv2_timestamps);
    ASSERT_NE(find_mode("reflect-octets"), nullptr);
    EXPECT_EQ(find_mode("reflect-octets")->bit, mode_reflect_octets);
    EXPECT_EQ(find_mode("reflect octets"), nullptr);
}

TEST(port_range, contains_is_inclusive) {
    const port_range r{5000, 5002};
    EXPECT_FALSE(r.contains(4999));
    EXPECT_TRUE(r.contains(5000));
    EXPECT_TRUE(r.contains(5002));
    EXPECT_FALSE(r.contains(5003));
}
