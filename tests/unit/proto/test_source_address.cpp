// proto/source_address.hpp: the sources no reply may go to, one row per entry of the IANA
// IPv4 and IPv6 Special-Purpose Address Registries (and the multicast and deprecated blocks
// beside them), inside and at both edges of each block, and the entries left out on purpose.
#include <array>
#include <cstdint>
#include <string>

#include <arpa/inet.h>

#include <gtest/gtest.h>

#include "twamp/proto/source_address.hpp"

using namespace twamp::proto;

namespace {

std::array<uint8_t, 4> v4(const char* s) {
    std::array<uint8_t, 4> a{};
    EXPECT_EQ(inet_pton(AF_INET, s, a.data()), 1) << s;
    return a;
}
std::array<uint8_t, 16> v6(const char* s) {
    std::array<uint8_t, 16> a{};
    EXPECT_EQ(inet_pton(AF_INET6, s, a.data()), 1) << s;
    return a;
}
// The dataplane's 16-octet form of an IPv4 address (IPv4-mapped).
std::array<uint8_t, 16> mapped(const char* s) {
    std::array<uint8_t, 16> a{};
    a[10] = a[11] = 0xff;
    const auto b = v4(s);
    std::copy(b.begin(), b.end(), a.begin() + 12);
    return a;
}

struct row {
    const char* addr;
    bool dropped;
    const char* entry; // the registry entry (or RFC) the row checks
};

TEST(source_address, ipv4_registry) {
    const row rows[] = {
            {"0.0.0.0", true, "0.0.0.0/32 this host (Destination False)"},
            {"0.1.2.3", true, "0.0.0.0/8 this network (Destination False)"},
            {"0.255.255.255", true, "0.0.0.0/8, last"},
            {"1.0.0.0", false, "just past 0.0.0.0/8"},
            {"126.255.255.255", false, "just before 127.0.0.0/8"},
            {"127.0.0.1", true, "127.0.0.0/8 loopback (Destination False)"},
            {"127.255.255.255", true, "127.0.0.0/8, last"},
            {"128.0.0.0", false, "just past 127.0.0.0/8"},
            {"10.0.0.1", false, "10.0.0.0/8 private-use (Destination True)"},
            {"100.64.0.1", false, "100.64.0.0/10 shared (Destination True)"},
            {"169.254.1.1", false, "169.254.0.0/16 link-local (on the link)"},
            {"172.16.0.1", false, "172.16.0.0/12 private-use"},
            {"192.0.0.1", false, "192.0.0.0/29 service continuity (Destination True)"},
            {"192.0.0.7", false, "192.0.0.0/29, last"},
            {"192.0.0.8", true, "192.0.0.8/32 IPv4 dummy address (Destination False)"},
            {"192.0.0.9", false, "192.0.0.9/32 PCP anycast (Destination True)"},
            {"192.0.0.10", false, "192.0.0.10/32 TURN anycast (Destination True)"},
            {"192.0.0.11", false, "192.0.0.0/24 remainder: left out (see the header)"},
            {"192.0.0.169", false, "192.0.0.0/24 remainder, before .170"},
            {"192.0.0.170", true, "192.0.0.170/32 NAT64/DNS64 discovery (Destination False)"},
            {"192.0.0.171", true, "192.0.0.171/32 NAT64/DNS64 discovery (Destination False)"},
            {"192.0.0.172", false, "192.0.0.0/24 remainder, after .171"},
            {"192.0.1.255", false, "just before 192.0.2.0/24"},
            {"192.0.2.0", true, "192.0.2.0/24 TEST-NET-1 (Destination False)"},
            {"192.0.2.255", true, "192.0.2.0/24, last"},
            {"192.0.3.0", false, "just past 192.0.2.0/24"},
            {"192.31.196.1", false, "192.31.196.0/24 AS112-v4 (Destination True)"},
            {"192.52.193.1", false, "192.52.193.0/24 AMT (Destination True)"},
            {"192.88.99.2", false, "192.88.99.0/24 deprecated 6to4 relay anycast / 6a44"},
            {"192.168.1.1", false, "192.168.0.0/16 private-use"},
            {"192.175.48.1", false, "192.175.48.0/24 AS112 direct delegation"},
            {"198.18.0.1", false, "198.18.0.0/15 benchmarking (Destination True)"},
            {"198.19.255.255", false, "198.18.0.0/15, last"},
            {"198.51.99.255", false, "just before 198.51.100.0/24"},
            {"198.51.100.0", true, "198.51.100.0/24 TEST-NET-2 (Destination False)"},
            {"198.51.100.255", true, "198.51.100.0/24, last"},
            {"198.51.101.0", false, "just past 198.51.100.0/24"},
            {"203.0.112.255", false, "just before 203.0.113.0/24"},
            {"203.0.113.0", true, "203.0.113.0/24 TEST-NET-3 (Destination False)"},
            {"203.0.113.255", true, "203.0.113.0/24, last"},
            {"203.0.114.0", false, "just past 203.0.113.0/24"},
            {"223.255.255.255", false, "just before 224.0.0.0/4"},
            {"224.0.0.1", true, "224.0.0.0/4 multicast (RFC 1112 §4)"},
            {"239.255.255.250", true, "224.0.0.0/4 multicast"},
            {"240.0.0.1", true, "240.0.0.0/4 reserved (Destination False)"},
            {"255.255.255.254", true, "240.0.0.0/4, last but one"},
            {"255.255.255.255", true, "255.255.255.255/32 limited broadcast"},
            {"8.8.8.8", false, "global unicast"},
    };
    for (const row& r : rows) {
        EXPECT_EQ(unanswerable_ipv4_source(v4(r.addr).data()), r.dropped)
                << r.addr << ": " << r.entry;
    }
}

TEST(source_address, ipv6_registry) {
    const row rows[] = {
            {"::", true, "::/128 unspecified (Destination False)"},
            {"::1", true, "::1/128 loopback (Destination False)"},
            {"::2", true, "::/96 IPv4-compatible (RFC 4291 §2.5.5.1, deprecated)"},
            {"::198.18.0.2", true, "::/96 IPv4-compatible"},
            {"::ffff:ffff", true, "::/96, last"},
            {"::1:0:0", false, "just past ::/96 (not a special block)"},
            {"::ffff:127.0.0.1", true, "::ffff:0:0/96 IPv4-mapped (Destination False)"},
            {"::ffff:198.18.0.1", true, "::ffff:0:0/96 IPv4-mapped"},
            {"::ffff:0:198.18.0.1", false, "::ffff:0:0:0/96 SIIT (not in the registry)"},
            {"64:ff9b::198.18.0.1", false, "64:ff9b::/96 translation (Destination True)"},
            {"64:ff9b:1::1", false, "64:ff9b:1::/48 local translation (Destination True)"},
            {"100::1", false, "100::/64 discard-only (Destination True)"},
            {"100:0:0:1::1", true, "100:0:0:1::/64 dummy prefix (Destination False)"},
            {"100:0:0:1:ffff:ffff:ffff:ffff", true, "100:0:0:1::/64, last"},
            {"100:0:0:2::", false, "just past 100:0:0:1::/64"},
            {"2001::1", false, "2001::/32 Teredo (Destination True)"},
            {"2001:1::1", false, "2001:1::1/128 PCP anycast"},
            {"2001:1::3", false, "2001:1::3/128 DNS-SD SRP anycast"},
            {"2001:2::1", false, "2001:2::/48 benchmarking (Destination True)"},
            {"2001:3::1", false, "2001:3::/32 AMT"},
            {"2001:4:112::1", false, "2001:4:112::/48 AS112-v6"},
            {"2001:f::1", false, "2001::/23 remainder: left out (see the header)"},
            {"2001:10::1", true, "2001:10::/28 deprecated ORCHID (Destination False)"},
            {"2001:1f:ffff::1", true, "2001:10::/28, last /48"},
            {"2001:20::1", false, "2001:20::/28 ORCHIDv2 (Destination True)"},
            {"2001:30::1", false, "2001:30::/28 DRIP DETs (Destination True)"},
            {"2001:db7:ffff::1", false, "just before 2001:db8::/32"},
            {"2001:db8::1", true, "2001:db8::/32 documentation (Destination False)"},
            {"2001:db8:ffff:ffff::1", true, "2001:db8::/32, last /64"},
            {"2001:db9::1", false, "just past 2001:db8::/32"},
            {"2002:c612:1::1", false, "2002::/16 6to4"},
            {"2620:4f:8000::1", false, "2620:4f:8000::/48 AS112 direct delegation"},
            {"3ffe:ffff::1", false, "just before 3fff::/20"},
            {"3fff::1", true, "3fff::/20 documentation (RFC 9637, Destination False)"},
            {"3fff:fff::1", true, "3fff::/20, last"},
            {"3fff:1000::1", false, "just past 3fff::/20"},
            {"5f00::1", false, "5f00::/16 SRv6 SIDs (Destination True)"},
            {"fc00::1", false, "fc00::/7 unique-local"},
            {"fd12:3456::1", false, "fc00::/7 unique-local"},
            {"fe80::1", false, "fe80::/10 link-local (on the link)"},
            {"fec0::1", false, "fec0::/10 deprecated site-local (not in the registry)"},
            {"feff:ffff::1", false, "just before ff00::/8"},
            {"ff02::1", true, "ff00::/8 multicast (RFC 4291 §2.7)"},
            {"ff0e::101", true, "ff00::/8 multicast"},
            {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true, "ff00::/8, last"},
            {"2a00:1450::1", false, "global unicast"},
    };
    for (const row& r : rows) {
        EXPECT_EQ(unanswerable_ipv6_source(v6(r.addr).data()), r.dropped)
                << r.addr << ": " << r.entry;
    }
}

TEST(source_address, ethernet_source) {
    struct mac_row {
        std::array<uint8_t, 6> mac;
        bool dropped;
        const char* what;
    };
    const mac_row rows[] = {
            {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, true, "broadcast"},
            {{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}, true, "IPv4 multicast"},
            {{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}, true, "IPv6 multicast"},
            {{0x01, 0x80, 0xc2, 0x00, 0x00, 0x00}, true, "IEEE 802.1D group"},
            {{0x03, 0x00, 0x00, 0x00, 0x00, 0x00}, true, "group bit with the local bit"},
            {{0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, true, "all zeros"},
            {{0x00, 0x00, 0x00, 0x00, 0x00, 0x01}, false, "individual, last octet only"},
            {{0x00, 0x00, 0x00, 0x00, 0x01, 0x00}, false, "individual, fifth octet only"},
            {{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}, false, "locally administered individual"},
            {{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff}, false, "individual, all else ones"},
            {{0x00, 0x1b, 0x21, 0x3a, 0x4b, 0x5c}, false, "universal individual"},
    };
    for (const mac_row& r : rows) {
        EXPECT_EQ(bad_source_mac(r.mac.data()), r.dropped) << r.what;
    }
}

// RFC 4291 Appendix A: 00:1b:21:3a:4b:5c -> 021b:21ff:fe3a:4b5c (universal/local bit flipped).
TEST(source_address, eui64_interface_id) {
    const uint8_t mac[6] = {0x00, 0x1b, 0x21, 0x3a, 0x4b, 0x5c};
    const std::array<uint8_t, 8> want{0x02, 0x1b, 0x21, 0xff, 0xfe, 0x3a, 0x4b, 0x5c};
    EXPECT_EQ(eui64_interface_id(mac), want);
    const uint8_t local[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
    const std::array<uint8_t, 8> want_local{0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x02};
    EXPECT_EQ(eui64_interface_id(local), want_local);
}

TEST(source_address, subnet_addresses) {
    // IPv4 /24: network and directed broadcast.
    subnet_addresses s = unanswerable_subnet_addresses(mapped("198.18.0.2"), false, 24);
    ASSERT_EQ(s.n, 2u);
    EXPECT_EQ(s.addr[0], mapped("198.18.0.0"));
    EXPECT_EQ(s.addr[1], mapped("198.18.0.255"));
    // An odd length: /15 from an address in the upper half.
    s = unanswerable_subnet_addresses(mapped("198.19.7.9"), false, 15);
    ASSERT_EQ(s.n, 2u);
    EXPECT_EQ(s.addr[0], mapped("198.18.0.0"));
    EXPECT_EQ(s.addr[1], mapped("198.19.255.255"));
    // /30: still both (RFC 3021 changes only /31).
    s = unanswerable_subnet_addresses(mapped("198.18.0.5"), false, 30);
    ASSERT_EQ(s.n, 2u);
    EXPECT_EQ(s.addr[0], mapped("198.18.0.4"));
    EXPECT_EQ(s.addr[1], mapped("198.18.0.7"));
    // /31 and /32: none (RFC 3021).
    EXPECT_EQ(unanswerable_subnet_addresses(mapped("198.18.0.4"), false, 31).n, 0u);
    EXPECT_EQ(unanswerable_subnet_addresses(mapped("198.18.0.4"), false, 32).n, 0u);
    // IPv6 /64: the Subnet-Router anycast address (RFC 4291 §2.6.1).
    s = unanswerable_subnet_addresses(v6("2001:2::2"), true, 64);
    ASSERT_EQ(s.n, 1u);
    EXPECT_EQ(s.addr[0], v6("2001:2::"));
    s = unanswerable_subnet_addresses(v6("2001:2:0:100::2"), true, 48);
    ASSERT_EQ(s.n, 1u);
    EXPECT_EQ(s.addr[0], v6("2001:2::"));
    s = unanswerable_subnet_addresses(v6("2001:2::5"), true, 126);
    ASSERT_EQ(s.n, 1u);
    EXPECT_EQ(s.addr[0], v6("2001:2::4"));
    // /127 and /128: none (RFC 6164 §6).
    EXPECT_EQ(unanswerable_subnet_addresses(v6("2001:2::5"), true, 127).n, 0u);
    EXPECT_EQ(unanswerable_subnet_addresses(v6("2001:2::5"), true, 128).n, 0u);
}

} // namespace
