// The fused fast path (include/twamp/proto/fast.hpp) against the general chain, case by case:
// each mode, IPv4 / IPv6 / 802.1Q, software and NIC checksums, TX offload, stateful through
// fast_set_seq, every drop the fast path decides and every shape it leaves to the general
// path. The comparison itself (every octet, pending_reply, fast_info) is tests/fuzz/
// fast_diff.hpp, shared with the fuzzer.
#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../../fuzz/fast_diff.hpp"
#include "test_util.hpp"

#include "twamp/proto/fast.hpp"
#include "twamp/proto/reflect.hpp"

namespace {

namespace tp = twamp::proto;
using namespace twamp::test;
using tp::drop_reason;

constexpr uint8_t port_mac[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0xfe};
constexpr uint64_t t2_ns = 1'700'000'000'123'456'789ULL;

struct fast_case {
    std::string name;
    frame_spec spec;
    tp::reflect_policy policy{};
    bool nic_ipv4 = false;
    bool nic_l4 = false;
    bool offload = false;
    bool stateful = false;
    bool set_seq_after = false;
    bool t2_encoded = true;
    bool our_mac = true;
    std::size_t extra_cap = 64;
    std::size_t trailer = 0; // octets after the datagram (Ethernet padding)
    drop_reason expect_fast = drop_reason::none;
    drop_reason expect_general = drop_reason::none;
    bool expect_parsed = true;
};

void PrintTo(const fast_case& c, std::ostream* os) {
    *os << c.name;
}

twamp::fuzz::fast_diff run(const fast_case& c) {
    bytes f = build(c.spec);
    f.resize(f.size() + c.trailer, 0);
    const std::size_t n = f.size();
    std::vector<uint8_t> buf(f.begin(), f.end());
    buf.resize(n + c.extra_cap);
    for (std::size_t i = n; i < buf.size(); ++i) {
        buf[i] = static_cast<uint8_t>(0x5a ^ i);
    }
    tp::reflect_params p;
    p.our_mac = c.our_mac ? port_mac : nullptr;
    p.stateful = c.stateful;
    p.reflector_seq = 0x01020304;
    p.t2_ns = t2_ns;
    const tp::encoded_time t2(t2_ns, p.tai_utc_offset_s);
    p.t2_encoded = c.t2_encoded ? &t2 : nullptr;
    p.our_error = {true, false, 10, 3};
    p.ipv4_checksum_verified = c.nic_ipv4;
    p.l4_checksum_verified = c.nic_l4;
    p.l4_cksum_offload = c.offload;
    return twamp::fuzz::run_fast_diff(buf, n, c.policy, p, c.set_seq_after, t2_ns + 2500);
}

frame_spec twamp41(int v, uint16_t err = 0x0001) {
    frame_spec s = v == 4 ? v4_spec() : v6_spec();
    s.payload = twamp_request(0xa1b2c3d4, 0xe9a1b2c380000000ULL, err, 41);
    return s;
}

frame_spec stamp44(int v, uint16_t err = 0x0001) {
    frame_spec s = v == 4 ? v4_spec() : v6_spec();
    s.payload = stamp_request(0x11223344, 0xe9a1b2c380000000ULL, err, 0xbeef);
    return s;
}

tp::reflect_policy stamp_policy() {
    tp::reflect_policy p;
    p.mode = tp::test_mode::stamp;
    return p;
}

std::vector<fast_case> cases() {
    std::vector<fast_case> cs;
    // Replies, each mode, IP version and tagging, sw and NIC checksums, offload, stateful.
    for (int v : {4, 6}) {
        for (int vl : {0, 1}) {
            for (int mode : {0, 1}) {
                for (int ck : {0, 1, 2}) { // sw, nic, nic + TX offload
                    fast_case c;
                    c.spec = mode ? stamp44(v) : twamp41(v);
                    if (vl) {
                        c.spec.vlans.push_back({0x8100, 0x2064});
                    }
                    if (mode) {
                        c.policy = stamp_policy();
                    }
                    c.nic_ipv4 = c.nic_l4 = ck > 0;
                    c.offload = ck == 2;
                    c.name = std::string(mode ? "stamp" : "twamp") + "_v" + std::to_string(v) +
                             (vl ? "_vlan" : "") +
                             (ck == 0   ? "_sw"
                              : ck == 1 ? "_nic"
                                        : "_off");
                    cs.push_back(c);
                    c.stateful = true;
                    c.name += "_stateful";
                    cs.push_back(c);
                    c.set_seq_after = true;
                    c.name += "_set_seq";
                    cs.push_back(c);
                }
            }
        }
    }
    auto add = [&](std::string name, fast_case c) {
        c.name = std::move(name);
        cs.push_back(std::move(c));
    };
    fast_case c;
    // Timestamp formats, DSCP / ECN, no port MAC, T2 not pre-encoded, zero checksums.
    c = {};
    c.spec = twamp41(4, 0x4001); // Z: PTP
    add("twamp_v4_z_ptp", c);
    c.policy.timestamps = tp::ts_policy::ntp;
    add("twamp_v4_z_forced_ntp", c);
    c = {};
    c.spec = stamp44(6);
    c.policy = stamp_policy();
    c.policy.timestamps = tp::ts_policy::ptp;
    c.t2_encoded = false;
    add("stamp_v6_ptp_t2_per_packet", c);
    c = {};
    c.spec = twamp41(4);
    c.spec.tos = 0xbb; // DSCP 46, CE
    add("twamp_v4_ce_copied", c);
    c.policy.dscp = 10;
    add("twamp_v4_ce_fixed_dscp", c);
    c = {};
    c.spec = twamp41(6);
    c.spec.tos = 0x03;
    c.policy.dscp = 63;
    c.our_mac = false;
    add("twamp_v6_ce_fixed_dscp_no_mac", c);
    c = {};
    c.spec = twamp41(4);
    c.spec.csum = udp_csum::zero;
    add("twamp_v4_udp_csum_zero", c);
    c.offload = true;
    add("twamp_v4_udp_csum_zero_offload", c);
    c = {};
    c.spec = stamp44(6);
    c.policy = stamp_policy();
    c.policy.allow_ipv6_zero_checksum = true;
    c.spec.csum = udp_csum::zero;
    add("stamp_v6_udp_csum_zero_allowed", c);
    c = {};
    c.spec = twamp41(4);
    c.spec.payload = twamp_request(7, 0xe9a1b2c380000000ULL, 1, 300);
    c.policy.symmetrical_size = true;
    add("twamp_v4_symmetrical_300", c);
    c.nic_l4 = true;
    add("twamp_v4_symmetrical_300_nic", c);
    c.offload = true;
    add("twamp_v4_symmetrical_300_offload", c);
    c.offload = false;
    c.nic_l4 = false;
    c.spec.csum = udp_csum::zero;
    add("twamp_v4_symmetrical_300_csum0", c);
    c.spec.ip_version = 6;
    c.spec.src_ip = v6_spec().src_ip;
    c.spec.dst_ip = v6_spec().dst_ip;
    c.spec.csum = udp_csum::good;
    c.spec.payload = twamp_request(7, 0xe9a1b2c380000000ULL, 1, 301);
    c.nic_l4 = true;
    add("twamp_v6_symmetrical_301_nic", c);
    c = {};
    c.spec = twamp41(6);
    c.spec.payload = twamp_request(7, 0xe9a1b2c380000000ULL, 1, 42);
    c.policy.symmetrical_size = true;
    add("twamp_v6_symmetrical_42", c);
    c = {};
    c.spec = twamp41(4);
    c.extra_cap = 0;
    add("twamp_v4_exact_capacity", c);
    // Longer TWAMP requests without symmetrical size: the padding moved to octet 41 (odd and
    // even lengths: the dropped 27 octets start in either half of a lane), the checksum
    // verified in software, by the NIC (no loop over the padding), absent, or offloaded.
    for (std::size_t n : {42u, 43u, 68u, 69u, 100u, 1400u, 1401u}) {
        for (int ck = 0; ck < 4; ++ck) {
            c = {};
            c.spec = twamp41(n % 2 ? 6 : 4);
            c.spec.payload = twamp_request(9, 0xe9a1b2c380000000ULL, 1, n);
            c.nic_l4 = ck == 1;
            c.spec.csum = ck == 2 ? udp_csum::zero : udp_csum::good;
            c.policy.allow_ipv6_zero_checksum = true;
            c.offload = ck == 3;
            c.stateful = c.set_seq_after = n == 100;
            add("twamp_padding_moved_" + std::to_string(n) + "_" +
                        (ck == 0   ? "sw"
                         : ck == 1 ? "nic"
                         : ck == 2 ? "csum0"
                                   : "offload"),
                c);
        }
    }

    // Drops the fast path decides, with the general path's reason.
    c = {};
    c.spec = twamp41(4);
    c.spec.ipv4_csum_good = false;
    c.expect_fast = c.expect_general = drop_reason::ipv4_bad_checksum;
    add("drop_ipv4_bad_checksum", c);
    c = {};
    c.spec = twamp41(4);
    c.spec.src_ip = {127, 0, 0, 1};
    c.expect_fast = c.expect_general = drop_reason::bad_source_address;
    add("drop_ipv4_loopback_source", c);
    c = {};
    c.spec = stamp44(6);
    c.policy = stamp_policy();
    c.spec.src_ip = v6addr({0xff02, 0x0001});
    c.expect_fast = c.expect_general = drop_reason::bad_source_address;
    add("drop_ipv6_multicast_source", c);
    c = {};
    c.spec = twamp41(6);
    c.spec.sport = 0;
    c.expect_fast = c.expect_general = drop_reason::udp_bad_port;
    add("drop_source_port_zero", c);
    c = {};
    c.spec = twamp41(6);
    c.spec.csum = udp_csum::zero;
    c.expect_fast = c.expect_general = drop_reason::udp_zero_checksum;
    add("drop_ipv6_zero_checksum", c);
    c = {};
    c.spec = stamp44(4);
    c.policy = stamp_policy();
    c.spec.csum = udp_csum::bad;
    c.expect_fast = c.expect_general = drop_reason::udp_bad_checksum;
    add("drop_udp_bad_checksum", c);
    c.nic_ipv4 = true;
    c.spec.ipv4_csum_good = false;
    add("drop_udp_bad_checksum_ipv4_nic_verified", c);

    // Left to the general path: by fast_reflect (parsed, not the shape) ...
    const drop_reason general = tp::fast_general;
    c = {};
    c.spec = twamp41(4);
    c.spec.payload = twamp_request(7, 0, 1, 14);
    c.expect_fast = general;
    add("general_twamp_short_grows", c);
    c.spec.payload = twamp_request(7, 0, 1, 10);
    c.expect_general = drop_reason::test_truncated;
    add("general_test_truncated", c);
    c = {};
    c.spec = stamp44(4);
    c.policy = stamp_policy();
    c.spec.payload = stamp_request(1, 0, 1, 2, tlv(0, 1, bytes(8)));
    c.expect_fast = general;
    add("general_stamp_tlvs", c);
    c.spec.payload = twamp_request(7, 0, 1, 41);
    add("general_stamp_short", c);
    c.spec.csum = udp_csum::bad;
    c.expect_general = drop_reason::udp_bad_checksum;
    add("general_stamp_short_bad_checksum", c);
    c = {};
    c.spec = twamp41(4);
    c.extra_cap = 0;
    c.trailer = 0;
    // ... or by fast_parse (not the shape at all).
    const auto not_parsed = [&](std::string name, fast_case k, drop_reason g = drop_reason::none) {
        k.expect_parsed = false;
        k.expect_fast = general;
        k.expect_general = g;
        add(std::move(name), std::move(k));
    };
    c = {};
    c.spec = twamp41(4);
    c.spec.ip_options = {1, 1, 1, 1};
    not_parsed("parse_ipv4_options", c);
    c = {};
    c.spec = twamp41(4);
    c.spec.vlans = {{0x88a8, 10}, {0x8100, 20}};
    not_parsed("parse_two_tags", c);
    c = {};
    c.spec = twamp41(6);
    c.spec.vlans = {{0x88a8, 10}};
    not_parsed("parse_one_8021ad_tag", c);
    c = {};
    c.spec = twamp41(4);
    c.spec.frag = 0x2000; // MF
    not_parsed("parse_fragment", c, drop_reason::ipv4_fragment);
    c = {};
    c.spec = twamp41(4);
    c.spec.l4_proto = 6;
    not_parsed("parse_tcp", c);
    c = {};
    c.spec = twamp41(6);
    c.spec.l4_proto = 0; // Hop-by-Hop extension header
    not_parsed("parse_ipv6_extension_header", c);
    return cs;
}

class fast_vs_general : public ::testing::TestWithParam<fast_case> {};

TEST_P(fast_vs_general, same_result) {
    const fast_case& c = GetParam();
    const twamp::fuzz::fast_diff d = run(c);
    EXPECT_EQ(d.mismatch, nullptr) << d.mismatch;
    EXPECT_EQ(d.parsed, c.expect_parsed);
    EXPECT_EQ(d.general, c.expect_general) << tp::to_string(d.general);
    if (c.expect_parsed) {
        EXPECT_EQ(static_cast<int>(d.fast), static_cast<int>(c.expect_fast))
                << tp::to_string(d.fast);
    }
}

INSTANTIATE_TEST_SUITE_P(cases, fast_vs_general, ::testing::ValuesIn(cases()),
                         [](const auto& p) { return p.param.name; });

// Ethernet padding after the datagram (a 41-octet IPv6 TWAMP reply is 103 octets, an IPv4
// one with a short payload is padded to 60): fast_parse takes it, the reply drops it.
TEST(fast_parse, ethernet_padding_trimmed_in_reply) {
    fast_case c;
    c.spec = twamp41(4);
    c.trailer = 17;
    const twamp::fuzz::fast_diff d = run(c);
    EXPECT_EQ(d.mismatch, nullptr) << d.mismatch;
    EXPECT_TRUE(d.parsed);
    EXPECT_EQ(d.fast, drop_reason::none);
}

// fast_reflect on parse_frame's result for what fast_parse leaves alone: two tags are only L2
// (the reply is the same, octet for octet), IPv4 options are the general path's.
TEST(fast_reflect, on_parse_frame_results) {
    fast_case c;
    c.spec = twamp41(4);
    c.spec.vlans = {{0x88a8, 10}, {0x8100, 20}};
    twamp::fuzz::fast_diff d = run(c);
    EXPECT_EQ(d.mismatch, nullptr) << d.mismatch;
    EXPECT_FALSE(d.parsed);
    EXPECT_EQ(d.fast, drop_reason::none);
    c.spec = stamp44(4);
    c.policy = stamp_policy();
    c.spec.ip_options = {1, 1, 1, 1};
    d = run(c);
    EXPECT_EQ(d.mismatch, nullptr) << d.mismatch;
    EXPECT_FALSE(d.parsed);
    EXPECT_EQ(d.general, drop_reason::none);
    EXPECT_EQ(d.fast, tp::fast_general);
}

// Every field of parsed_frame, for each accepted shape, as parse_frame fills it.
TEST(fast_parse, fields_as_parse_frame) {
    for (int v : {4, 6}) {
        for (int vl : {0, 1}) {
            frame_spec s = twamp41(v);
            if (vl) {
                s.vlans.push_back({0x8100, 0xf123});
            }
            const bytes f = build(s);
            tp::parsed_frame fast;
            ASSERT_TRUE(tp::fast_parse(f.data(), static_cast<uint16_t>(f.size()), fast));
            const tp::parsed_frame gen = tp::parse_frame(f);
            EXPECT_TRUE(twamp::fuzz::same_pf(fast, gen));
            EXPECT_EQ(fast.vlan(), vl ? 0x123 : 0);
            EXPECT_EQ(fast.udp_len, 49);
            EXPECT_EQ(fast.ttl, 64);
            // Every truncation of the frame: never accepted where parse_frame sees no UDP.
            for (std::size_t n = 0; n < f.size(); ++n) {
                tp::parsed_frame p;
                const bool ok = tp::fast_parse(f.data(), static_cast<uint16_t>(n), p);
                const tp::parsed_frame g = tp::parse_frame(std::span<const uint8_t>(f.data(), n));
                if (ok) {
                    EXPECT_TRUE(twamp::fuzz::same_pf(p, g)) << n;
                }
            }
        }
    }
}

// fast_set_seq on its own: the partial sum follows the new number (and is left alone for an
// offloaded reply, whose field has no payload in it).
TEST(fast_set_seq, partial_follows) {
    for (bool off : {false, true}) {
        fast_case c;
        c.spec = stamp44(4);
        c.policy = stamp_policy();
        c.offload = off;
        c.nic_ipv4 = c.nic_l4 = off;
        for (uint32_t seq : {0u, 1u, 0xffffffffu, 0x8000ffffu}) {
            c.stateful = true;
            c.set_seq_after = true;
            bytes f = build(c.spec);
            const twamp::fuzz::fast_diff d = run(c);
            EXPECT_EQ(d.mismatch, nullptr) << d.mismatch;
            (void)seq;
        }
    }
}

// Random frames near the fast shape (valid requests with octets flipped, checksums fixed or
// not): the same invariants over many inputs, deterministic.
TEST(fast_vs_general, mutated_frames) {
    std::mt19937 rng(15);
    int handled = 0;
    for (int i = 0; i < 20000; ++i) {
        fast_case c;
        const int v = (rng() & 1) ? 4 : 6;
        const bool st = rng() & 1;
        c.spec = st ? stamp44(v) : twamp41(v);
        if (!st && rng() % 3 == 0) {
            c.spec.payload = twamp_request(3, 4, 5, 41 + rng() % 200);
            c.policy.symmetrical_size = rng() & 1;
        }
        if (st) {
            c.policy = stamp_policy();
        }
        if (rng() % 4 == 0) {
            c.spec.vlans.push_back({0x8100, static_cast<uint16_t>(rng())});
        }
        c.spec.tos = static_cast<uint8_t>(rng());
        c.policy.dscp = (rng() & 1) ? tp::dscp_copy : static_cast<int8_t>(rng() % 64);
        c.policy.timestamps = static_cast<tp::ts_policy>(rng() % 3);
        c.policy.allow_ipv6_zero_checksum = rng() & 1;
        c.nic_ipv4 = rng() & 1;
        c.offload = rng() % 3 == 0;
        c.stateful = rng() & 1;
        c.set_seq_after = rng() & 1;
        c.t2_encoded = rng() & 1;
        c.our_mac = rng() & 1;
        c.extra_cap = rng() % 3 == 0 ? 0 : 32;
        const int what = static_cast<int>(rng() % 4);
        if (what == 1) {
            c.spec.csum = udp_csum::zero;
        } else if (what == 2) {
            c.spec.csum = udp_csum::bad;
        } else {
            c.nic_l4 = rng() & 1; // only where the checksum is good: the NIC's promise
        }
        if (rng() % 8 == 0) {
            c.spec.sport = 0;
        }
        if (rng() % 8 == 0) {
            c.spec.ipv4_csum_good = false;
        }
        for (auto& o : c.spec.payload) {
            if (rng() % 4 == 0) {
                o = static_cast<uint8_t>(rng());
            }
        }
        const twamp::fuzz::fast_diff d = run(c);
        ASSERT_EQ(d.mismatch, nullptr) << d.mismatch << " at " << i;
        handled += d.fast == drop_reason::none;
    }
    EXPECT_GT(handled, 5000); // the fast path did most of the work
}

} // namespace
