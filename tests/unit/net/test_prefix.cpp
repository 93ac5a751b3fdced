// ip_address / ip_prefix: parsing, formatting and containment, checked against inet_pton and
// hand-computed values.
#include <type_traits>

#include <arpa/inet.h>

#include <gtest/gtest.h>

#include "twamp/config/ip.hpp"
#include "twamp/net/address.hpp"

using namespace twamp::net;
using ip_address = address;
using ip_prefix = prefix;

// The config keeps its names for the one type.
static_assert(std::is_same_v<twamp::config::ip_address, address>);
static_assert(std::is_same_v<twamp::config::ip_prefix, prefix>);

namespace {

ip_address v6(const char* text) {
    ip_address a;
    a.family = ip_family::ipv6;
    EXPECT_EQ(inet_pton(AF_INET6, text, a.bytes.data()), 1) << text;
    return a;
}

} // namespace

TEST(ip_address, parses_ipv4) {
    auto a = ip_address::parse("198.18.0.2");
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->is_v4());
    EXPECT_EQ(a->bits(), 32);
    EXPECT_EQ(*a, ip_address::v4(198, 18, 0, 2));
    EXPECT_EQ(a->v4_host_order(), 0xc6120002U);
    EXPECT_EQ(a->to_string(), "198.18.0.2");
}

TEST(ip_address, parses_ipv6_and_prints_rfc5952) {
    auto a = ip_address::parse("2001:0002:0000:0000:0000:0000:0000:0002");
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->is_v6());
    EXPECT_EQ(a->bits(), 128);
    EXPECT_EQ(*a, v6("2001:2::2"));
    EXPECT_EQ(a->to_string(), "2001:2::2");
    EXPECT_EQ(ip_address::parse("2001:2::A")->to_string(), "2001:2::a");
}

TEST(ip_address, rejects_malformed) {
    for (const char* bad :
         {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4/24",
          "2001:2::2%eth0", "2001:::2", "host.example", "::g", "1.2.3.-4"}) {
        EXPECT_FALSE(ip_address::parse(bad)) << bad;
    }
    // Embedded NUL must not truncate the text into something valid.
    EXPECT_FALSE(ip_address::parse(std::string_view("1.2.3.4\0x", 9)));
}

TEST(ip_address, classifies) {
    EXPECT_TRUE(ip_address::parse("0.0.0.0")->is_unspecified());
    EXPECT_TRUE(ip_address::parse("::")->is_unspecified());
    EXPECT_TRUE(ip_address::parse("127.1.2.3")->is_loopback());
    EXPECT_TRUE(ip_address::parse("::1")->is_loopback());
    EXPECT_FALSE(ip_address::parse("::2")->is_loopback());
    EXPECT_TRUE(ip_address::parse("239.1.1.1")->is_multicast());
    EXPECT_TRUE(ip_address::parse("ff02::1")->is_multicast());
    EXPECT_FALSE(ip_address::parse("198.18.0.1")->is_multicast());
}

TEST(ip_prefix, parses_and_formats) {
    auto p = ip_prefix::parse("198.18.0.0/15");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->length, 15);
    EXPECT_EQ(p->address, ip_address::v4(198, 18, 0, 0));
    EXPECT_EQ(p->to_string(), "198.18.0.0/15");
    auto q = ip_prefix::parse("2001:2::/48");
    ASSERT_TRUE(q);
    EXPECT_EQ(q->length, 48);
    EXPECT_EQ(q->to_string(), "2001:2::/48");
    EXPECT_EQ(ip_prefix::parse("0.0.0.0/0")->length, 0);
    EXPECT_EQ(ip_prefix::parse("::/0")->length, 0);
    EXPECT_EQ(ip_prefix::parse("::/128")->length, 128);
}

TEST(ip_prefix, bare_address_only_when_allowed) {
    EXPECT_FALSE(ip_prefix::parse("198.18.0.9"));
    auto h = ip_prefix::parse("198.18.0.9", true);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->length, 32);
    EXPECT_EQ(ip_prefix::parse("2001:2::9", true)->length, 128);
}

TEST(ip_prefix, rejects_bad_lengths) {
    for (const char* bad :
         {"1.2.3.4/33", "::/129", "1.2.3.4/", "1.2.3.4/+5", "1.2.3.4/-1", "1.2.3.4/024",
          "1.2.3.4/ 24", "1.2.3.4/24 ", "1.2.3.4/2x", "1.2.3.4/1000", "/24", "1.2.3.4//24"}) {
        EXPECT_FALSE(ip_prefix::parse(bad, true)) << bad;
    }
}

TEST(ip_prefix, network_and_host_bits) {
    auto p = *ip_prefix::parse("198.18.7.200/22");
    EXPECT_FALSE(p.host_bits_zero());
    // 198.18.7.200 & 255.255.252.0 = 198.18.4.0
    EXPECT_EQ(p.network().to_string(), "198.18.4.0/22");
    EXPECT_TRUE(p.network().host_bits_zero());
    auto q = *ip_prefix::parse("2001:2:0:ffff::1/49");
    // 0xffff masked to its first bit (49 - 48) keeps 0x8000.
    EXPECT_EQ(q.network().to_string(), "2001:2:0:8000::/49");
    EXPECT_TRUE(ip_prefix::parse("0.0.0.0/0")->host_bits_zero());
    EXPECT_FALSE(ip_prefix::parse("1.0.0.0/0")->host_bits_zero());
}

TEST(ip_prefix, contains_and_overlaps) {
    auto p = *ip_prefix::parse("198.18.0.0/15");
    EXPECT_TRUE(p.contains(*ip_address::parse("198.19.255.255")));
    EXPECT_TRUE(p.contains(*ip_address::parse("198.18.0.0")));
    EXPECT_FALSE(p.contains(*ip_address::parse("198.20.0.0")));
    EXPECT_FALSE(p.contains(*ip_address::parse("198.17.255.255")));
    EXPECT_FALSE(p.contains(*ip_address::parse("::ffff:198.18.0.1"))); // other family
    EXPECT_TRUE(p.contains(*ip_prefix::parse("198.19.0.0/16")));
    EXPECT_FALSE(p.contains(*ip_prefix::parse("198.16.0.0/14")));
    EXPECT_TRUE(p.overlaps(*ip_prefix::parse("198.16.0.0/14")));
    EXPECT_TRUE(ip_prefix::parse("198.16.0.0/14")->overlaps(p));
    EXPECT_FALSE(p.overlaps(*ip_prefix::parse("198.20.0.0/14")));
    auto all6 = *ip_prefix::parse("::/0");
    EXPECT_TRUE(all6.contains(*ip_address::parse("2001:2::1")));
    EXPECT_FALSE(all6.contains(*ip_address::parse("1.2.3.4")));
    auto six = *ip_prefix::parse("2001:2::/48");
    EXPECT_TRUE(six.contains(*ip_address::parse("2001:2:0:ffff::1")));
    EXPECT_FALSE(six.contains(*ip_address::parse("2001:2:1::1")));
}
