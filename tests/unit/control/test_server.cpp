// server_connection as byte exchanges: every message of RFC 5357 §3 (unauthenticated), RFC 5938
// and RFC 6038 that the Server sees or sends, and every way a connection ends. Requests are
// hand-built field by field (helpers.hpp); answers are checked octet by octet at the offsets
// of the RFC figures.
#include <memory>
#include <set>

#include <gtest/gtest.h>

#include "helpers.hpp"

#include "twamp/control/policy_from_config.hpp"
#include "twamp/control/server.hpp"
#include "twamp/proto/bytes.hpp"

using namespace twamp::control;
using namespace twamp::control::test;
using twamp::proto::load_be16;
using twamp::proto::load_be32;
using twamp::proto::load_be64;

namespace {

constexpr uint64_t s = 1'000'000'000ULL;
// 2023-11-14 22:13:20 UTC: whole seconds, so the NTP value is easy to state by hand.
constexpr uint64_t t0 = 1'700'000'000ULL * s;
constexpr uint64_t ntp_t0 = (1'700'000'000ULL + 2'208'988'800ULL) << 32;
constexpr uint64_t server_started_ns = 1'699'999'000ULL * s;
constexpr uint64_t ntp_server_started = (1'699'999'000ULL + 2'208'988'800ULL) << 32;

template<class T>
std::vector<T> all(const result& r) {
    std::vector<T> v;
    for (const auto& a : r.actions) {
        if (const T* x = std::get_if<T>(&a)) {
            v.push_back(*x);
        }
    }
    return v;
}

// A session_allocator that answers what it is told to and records what it was asked.
struct scripted_allocator : session_allocator {
    allocation answer{accept_code::ok, 4000};
    std::vector<session_info> asked;
    allocation allocate(const session_info& proposed) override {
        asked.push_back(proposed);
        return answer;
    }
};

class server : public ::testing::Test {
protected:
    port_pool pool{{64364, 64373}, 1024};
    server_counters counters;
    server_policy policy;
    connection_addresses addrs{v4(198, 18, 0, 2), v4(198, 18, 0, 1)};
    uint8_t next_random = 0x11;
    std::unique_ptr<server_connection> conn;

    void make(uint32_t modes = mode_unauthenticated, session_allocator* alloc = nullptr) {
        policy.modes = modes;
        policy.servwait_ns = 900 * s;
        policy.start_time_ns = server_started_ns;
        if (policy.local_addresses.empty()) { // the lab's box: untagged and VLAN 100
            policy.local_addresses = {v4(198, 18, 0, 2), v6("2001:2::2"), v4(198, 19, 0, 2),
                                      v6("2001:2:0:100::2")};
        }
        conn = std::make_unique<server_connection>(
                policy, alloc != nullptr ? *alloc : pool, addrs,
                [this](std::span<uint8_t> out) {
                    for (auto& b : out) {
                        b = next_random++;
                    }
                },
                &counters);
    }
    result greet(uint64_t now = t0) { return conn->greeting(now); }
    result feed(const bytes& b, uint64_t now = t0) { return conn->feed(b.v, now); }
    // Greeting + Set-Up-Response accepted.
    void setup(uint32_t modes = mode_unauthenticated, uint32_t mode = mode_unauthenticated) {
        make(modes);
        greet();
        auto r = feed(setup_response_bytes(mode));
        ASSERT_EQ(r.output.size(), server_start_size);
        ASSERT_EQ(r.output[15], 0) << "Server-Start Accept";
        ASSERT_EQ(conn->state(), server_state::ready);
    }
    session_info accept_one(request_fields f = {}) {
        auto r = feed(request_bytes(f));
        auto acc = all<session_accepted>(r);
        EXPECT_EQ(acc.size(), 1U);
        EXPECT_EQ(r.output.size(), accept_session_size);
        return acc.empty() ? session_info{} : acc[0].session;
    }
    uint64_t closed_count(close_reason r) const {
        return counters.closed[static_cast<std::size_t>(r)].load();
    }
};

// ---- Server-Greeting (RFC 4656 §3.1, RFC 5357 §3.1) -------------------------------------------

TEST_F(server, greeting_layout) {
    // Offered modes: what the config asks for, minus what we cannot serve (authenticated).
    make(mode_unauthenticated | mode_authenticated | mode_individual_session_control |
         mode_reflect_octets | mode_symmetrical_size);
    auto r = greet();
    ASSERT_EQ(r.output.size(), 64U);
    EXPECT_TRUE(all_zero(slice(r.output, 0, 12))) << "Unused";
    EXPECT_EQ(load_be32(&r.output[12]), 0x71U) << "Modes: 1|16|32|64";
    for (std::size_t i = 0; i < 32; ++i) {
        EXPECT_EQ(r.output[16 + i], 0x11 + i) << "Challenge then Salt, from the random source";
    }
    EXPECT_EQ(load_be32(&r.output[48]), 1024U) << "Count";
    EXPECT_TRUE(all_zero(slice(r.output, 52, 12))) << "MBZ";
    EXPECT_TRUE(r.actions.empty());
    EXPECT_EQ(conn->state(), server_state::wait_setup_response);
    EXPECT_EQ(conn->offered_modes(), 0x71U);
    EXPECT_TRUE(greet().output.empty()) << "only once";
}

TEST_F(server, greeting_count_is_a_power_of_two_at_least_1024) {
    policy.count = 1000;
    make();
    EXPECT_EQ(load_be32(&greet().output[48]), 1024U);
    policy.count = 1536;
    make();
    EXPECT_EQ(load_be32(&greet().output[48]), 1024U);
    policy.count = 4096;
    make();
    EXPECT_EQ(load_be32(&greet().output[48]), 4096U);
}

TEST_F(server, refusing_connection_says_modes_zero_and_closes) {
    for (uint32_t modes : {0U, mode_authenticated, mode_encrypted | mode_reflect_octets}) {
        make(modes);
        auto r = greet();
        ASSERT_EQ(r.output.size(), 64U);
        EXPECT_EQ(load_be32(&r.output[12]), 0U) << modes;
        ASSERT_TRUE(r.closed());
        EXPECT_EQ(r.closed()->reason, close_reason::no_modes);
        EXPECT_TRUE(conn->is_closed());
        EXPECT_TRUE(feed(setup_response_bytes(1)).output.empty()) << "nothing after close";
    }
    EXPECT_EQ(closed_count(close_reason::no_modes), 3U);
}

// ---- Set-Up-Response -> Server-Start ----------------------------------------------------------

TEST_F(server, server_start_layout) {
    make();
    greet();
    next_random = 0x80;
    auto r = feed(setup_response_bytes(mode_unauthenticated), t0 + 3 * s);
    ASSERT_EQ(r.output.size(), 48U);
    EXPECT_TRUE(all_zero(slice(r.output, 0, 15))) << "MBZ";
    EXPECT_EQ(r.output[15], 0) << "Accept";
    for (std::size_t i = 0; i < 16; ++i) {
        EXPECT_EQ(r.output[16 + i], 0x80 + i) << "Server-IV";
    }
    EXPECT_EQ(load_be64(&r.output[32]), ntp_server_started) << "Start-Time: when the server began";
    EXPECT_TRUE(all_zero(slice(r.output, 40, 8))) << "MBZ";
    EXPECT_EQ(conn->state(), server_state::ready);
    EXPECT_EQ(conn->mode(), mode_unauthenticated);
    EXPECT_TRUE(r.actions.empty());
}

TEST_F(server, set_up_response_in_one_octet_chunks) {
    make();
    greet();
    auto in = setup_response_bytes(1);
    for (std::size_t i = 0; i + 1 < in.size(); ++i) {
        auto r = conn->feed(std::span<const uint8_t>(&in.v[i], 1), t0);
        EXPECT_TRUE(r.output.empty());
        EXPECT_EQ(conn->buffered(), i + 1);
    }
    auto r = conn->feed(std::span<const uint8_t>(&in.v.back(), 1), t0);
    EXPECT_EQ(r.output.size(), 48U);
    EXPECT_EQ(conn->buffered(), 0U);
}

TEST_F(server, key_id_token_and_iv_are_ignored_in_unauthenticated_mode) {
    make();
    greet();
    auto r = feed(bytes{}.u32(1).fill(80, 0xaa).fill(64, 0xbb).fill(16, 0xcc));
    ASSERT_EQ(r.output.size(), 48U);
    EXPECT_EQ(r.output[15], 0);
}

TEST_F(server, mode_zero_means_the_client_gives_up) {
    make();
    greet();
    auto r = feed(setup_response_bytes(0));
    EXPECT_TRUE(r.output.empty());
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, close_reason::client_refused);
}

TEST_F(server, a_mode_not_offered_gets_accept_3_and_a_close) {
    // Offered: 1|16|32. Chosen: authenticated; two security modes; a feature not offered;
    // an unknown bit (RFC 7717's 128).
    for (uint32_t mode : {2U, 3U, 1U | 64U, 1U | 128U, 16U}) {
        make(mode_unauthenticated | mode_individual_session_control | mode_reflect_octets);
        greet();
        auto r = feed(setup_response_bytes(mode));
        ASSERT_EQ(r.output.size(), 48U) << mode;
        EXPECT_EQ(r.output[15], 3) << "Accept: not supported, mode " << mode;
        ASSERT_TRUE(r.closed());
        EXPECT_EQ(r.closed()->reason, close_reason::mode_not_offered);
    }
    EXPECT_EQ(closed_count(close_reason::mode_not_offered), 5U);
}

TEST_F(server, feature_bits_offered_are_accepted) {
    setup(0x71, 0x71);
    EXPECT_EQ(conn->mode(), 0x71U);
}

TEST_F(server, ptpv2_timestamps_only_when_offered_and_chosen) {
    // RFC 8186 §2.3: Modes bit position 9 (value 512). Offered only when configured...
    make(mode_unauthenticated);
    EXPECT_EQ(load_be32(&greet().output[12]), 1U) << "not configured: not offered";
    make(mode_unauthenticated | mode_ptpv2_timestamps);
    EXPECT_EQ(load_be32(&greet().output[12]), 0x201U);
    // ... chosen by the client: the sessions carry it in their mode (the driver then lets the
    // request's Z bit pick PTPv2; without it every reply is NTP).
    setup(0x201, 0x201);
    EXPECT_EQ(accept_one().mode & mode_ptpv2_timestamps, mode_ptpv2_timestamps);
    setup(0x201, 0x1);
    EXPECT_EQ(accept_one().mode & mode_ptpv2_timestamps, 0U);
    // ... and not accepted when not offered.
    make(mode_unauthenticated);
    greet();
    auto r = feed(setup_response_bytes(0x201));
    EXPECT_EQ(r.output[15], 3) << "Server-Start Accept";
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, close_reason::mode_not_offered);
}

// ---- Request-TW-Session -> Accept-Session (RFC 5357 §3.5) -------------------------------------

TEST_F(server, request_with_zero_addresses_uses_the_control_connection) {
    setup();
    request_fields f;
    f.sender_port = 40000;
    f.receiver_port = 64366;
    f.padding = 100;
    f.start_time = ntp_t0 + (5ULL << 32);
    f.timeout = (3ULL << 32) | 0x80000000U; // 3.5 s
    f.type_p = 46U << 24;                   // EF
    auto r = feed(request_bytes(f), t0 + 2 * s);
    ASSERT_EQ(r.output.size(), 48U);
    // Accept-Session: Accept 0, MBZ, Port, SID, MBZ(12), HMAC(16).
    EXPECT_EQ(r.output[0], 0);
    EXPECT_EQ(r.output[1], 0);
    EXPECT_EQ(load_be16(&r.output[2]), 64366);
    // SID (RFC 4656 §3.5): receiver IPv4 address, NTP timestamp of now, 4 random octets.
    EXPECT_EQ(slice(r.output, 4, 4), (std::vector<uint8_t>{198, 18, 0, 2}));
    EXPECT_EQ(load_be64(&r.output[8]), ntp_t0 + (2ULL << 32));
    EXPECT_EQ(slice(r.output, 16, 4), (std::vector<uint8_t>{0x41, 0x42, 0x43, 0x44}))
            << "random octets after Challenge, Salt and Server-IV (0x11..0x40)";
    EXPECT_TRUE(all_zero(slice(r.output, 20, 28)));

    auto acc = all<session_accepted>(r);
    ASSERT_EQ(acc.size(), 1U);
    const session_info& si = acc[0].session;
    EXPECT_EQ(si.sid,
              (sid_t{198, 18, 0, 2, 0xe8, 0xfe, 0x6f, 0x82, 0, 0, 0, 0, 0x41, 0x42, 0x43, 0x44}))
            << "ntp(1700000002 s) = 0xe8fe6f82 (1700000002 + 2208988800) seconds";
    EXPECT_EQ(si.sender, v4(198, 18, 0, 1)) << "peer address";
    EXPECT_EQ(si.receiver, v4(198, 18, 0, 2)) << "local address";
    EXPECT_EQ(si.sender_port, 40000);
    EXPECT_EQ(si.receiver_port, 64366);
    EXPECT_EQ(si.dscp, 46);
    EXPECT_EQ(si.padding_length, 100U);
    EXPECT_EQ(si.start_time, ntp_t0 + (5ULL << 32));
    EXPECT_EQ(si.timeout_ns, 3'500'000'000ULL);
    EXPECT_EQ(si.mode, mode_unauthenticated);
    EXPECT_FALSE(si.reflect_octets());
    EXPECT_TRUE(pool.is_used(64366));
    EXPECT_EQ(counters.session_attempts.load(), 1U);
    EXPECT_EQ(counters.session_accepted.load(), 1U);
    ASSERT_EQ(conn->sessions().size(), 1U);
    EXPECT_FALSE(conn->sessions()[0].started);
}

TEST_F(server, request_with_explicit_addresses) {
    setup();
    request_fields f;
    // The client's own address, and another of the box's (its VLAN 100 address).
    f.sender_addr = {198, 18, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    f.receiver_addr = {198, 19, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    auto si = accept_one(f);
    EXPECT_EQ(si.sender, v4(198, 18, 0, 1));
    EXPECT_EQ(si.receiver, v4(198, 19, 0, 2));
    EXPECT_EQ(slice(std::vector<uint8_t>(si.sid.begin(), si.sid.end()), 0, 4),
              (std::vector<uint8_t>{198, 19, 0, 2}));
}

TEST_F(server, ipv6_request) {
    addrs = {v6("2001:2::2"), v6("2001:2::1")};
    setup();
    request_fields f;
    f.ipvn = 6;
    auto si = accept_one(f);
    EXPECT_EQ(si.sender, v6("2001:2::1"));
    EXPECT_EQ(si.receiver, v6("2001:2::2"));
    // 2001:0002:0000:0000:0000:0000:0000:0002 folded: 0x20010002 ^ 0 ^ 0 ^ 0x00000002.
    EXPECT_EQ(si.sid[0], 0x20);
    EXPECT_EQ(si.sid[1], 0x01);
    EXPECT_EQ(si.sid[2], 0x00);
    EXPECT_EQ(si.sid[3], 0x00);
}

// ---- Whom the box sends to and from (issue 12 item 5) --------------------------------------

// An Accept-Session refusing with Accept 3 (RFC 4656 §3.3 "Some aspect of request is not
// supported"): no port, no SID, nothing reserved.
void expect_refused_3(const result& r, std::string_view why, const port_pool& pool,
                      std::size_t in_use = 0) {
    ASSERT_EQ(r.output.size(), accept_session_size);
    EXPECT_EQ(r.output[0], 3) << why;
    EXPECT_EQ(load_be16(&r.output[2]), 0) << why;
    EXPECT_TRUE(all_zero(slice(r.output, 4, 16))) << why << ": no SID";
    auto ref = all<session_refused>(r);
    ASSERT_EQ(ref.size(), 1U) << why;
    EXPECT_EQ(ref[0].accept, accept_code::not_supported);
    EXPECT_EQ(ref[0].why, why);
    EXPECT_TRUE(all<session_accepted>(r).empty());
    EXPECT_FALSE(r.closed()) << "answered, not closed";
    EXPECT_EQ(pool.in_use(), in_use) << why << ": nothing reserved";
}

std::vector<uint8_t> wire4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    std::vector<uint8_t> v(16, 0);
    v[0] = a;
    v[1] = b;
    v[2] = c;
    v[3] = d;
    return v;
}
std::vector<uint8_t> wire6(const char* text) {
    auto a = v6(text);
    return {a.bytes.begin(), a.bytes.end()};
}

TEST_F(server, a_receiver_address_not_the_boxs_is_refused) {
    setup();
    request_fields f;
    // 198.18.0.99: on the box's subnet, not its address (the workers would send replies from
    // it); 198.18.0.1: the client's own; 198.51.100.7: anywhere.
    for (auto addr : {wire4(198, 18, 0, 99), wire4(198, 18, 0, 1), wire4(198, 51, 100, 7)}) {
        f.receiver_addr = addr;
        expect_refused_3(feed(request_bytes(f)), "receiver address", pool);
    }
    EXPECT_EQ(counters.session_refused[3].load(), 3U);
    EXPECT_EQ(counters.session_accepted.load(), 0U);
    // The box's own, explicitly or as zero: accepted.
    f.receiver_addr = wire4(198, 18, 0, 2);
    EXPECT_EQ(accept_one(f).receiver, v4(198, 18, 0, 2));
    f.receiver_addr = wire4(0, 0, 0, 0);
    EXPECT_EQ(accept_one(f).receiver, v4(198, 18, 0, 2));
}

TEST_F(server, a_zero_receiver_address_is_refused_when_the_connection_is_not_to_the_box) {
    addrs.local = v4(198, 18, 0, 77); // e.g. a listener on an address no port has
    setup();
    expect_refused_3(feed(request_bytes({})), "receiver address", pool);
}

TEST_F(server, ipv6_receiver_address_not_the_boxs_is_refused) {
    addrs = {v6("2001:2::2"), v6("2001:2::1")};
    setup();
    request_fields f;
    f.ipvn = 6;
    f.receiver_addr = wire6("2001:2::99");
    expect_refused_3(feed(request_bytes(f)), "receiver address", pool);
    f.receiver_addr = wire6("2001:2:0:100::2"); // the box's, on VLAN 100
    EXPECT_EQ(accept_one(f).receiver, v6("2001:2:0:100::2"));
}

TEST_F(server, a_sender_address_not_the_clients_is_refused_by_default) {
    setup();
    request_fields f;
    // Inside control.prefixes or not: the replies would go to a host that did not ask.
    for (auto addr : {wire4(198, 18, 5, 5), wire4(198, 51, 100, 7), wire4(198, 18, 0, 2)}) {
        f.sender_addr = addr;
        expect_refused_3(feed(request_bytes(f)), "sender address", pool);
    }
    addrs = {v6("2001:2::2"), v6("2001:2::1")};
    setup();
    f.ipvn = 6;
    f.sender_addr = wire6("2001:2::5");
    expect_refused_3(feed(request_bytes(f)), "sender address", pool);
    f.sender_addr = wire6("2001:2::1"); // the client's own, explicitly
    EXPECT_EQ(accept_one(f).sender, v6("2001:2::1"));
}

TEST_F(server, third_party_senders_when_allowed_only_inside_the_prefixes) {
    policy.allow_third_party_senders = true;
    policy.sender_prefixes = {*twamp::config::ip_prefix::parse("198.18.0.0/16")};
    setup();
    request_fields f;
    f.sender_addr = wire4(198, 18, 5, 5);
    EXPECT_EQ(accept_one(f).sender, v4(198, 18, 5, 5));
    f.sender_addr = wire4(198, 19, 5, 5);
    expect_refused_3(feed(request_bytes(f)), "sender address", pool, 1);
}

// The loop guard for TWAMP-Control sessions: a Sender Port in the refused set (a reflector's or
// an echo-style service's port) would have the box's replies answered back: Accept 3, for a
// third-party sender and for the client's own address alike.
TEST_F(server, a_sender_port_in_the_loop_guard_set_is_refused) {
    policy.allow_third_party_senders = true;
    policy.sender_prefixes = {*twamp::config::ip_prefix::parse("198.18.0.0/16")};
    policy.refused_sender_ports = {{862, 862}, {64364, 64373}, {7, 7}};
    setup();
    request_fields f;
    f.sender_addr = wire4(198, 18, 5, 5); // a third party's reflector
    for (uint16_t port : std::initializer_list<uint16_t>{862, 64364, 64373, 7}) {
        f.sender_port = port;
        expect_refused_3(feed(request_bytes(f)), "sender port", pool);
    }
    f.sender_addr = std::vector<uint8_t>(16, 0); // the client's own address
    f.sender_port = 862;
    expect_refused_3(feed(request_bytes(f)), "sender port", pool);
    f.sender_port = 64374;
    EXPECT_EQ(accept_one(f).sender_port, 64374);
    f.sender_addr = wire4(198, 18, 5, 5);
    f.sender_port = 8;
    EXPECT_EQ(accept_one(f).sender_port, 8);
}

// Changed with the second review: the box's own reflector and control receiver ports are
// refused only for a Sender Address of the box's own (a loop needs the replies to come back to
// it); before, for any Sender Address. Changed again with the third review: under
// "reflector-ports" (the default) they are refused for every Sender Address, as the
// dataplane's guard refuses them for every source (the same word means the same set); without
// it (`[]`, a list) only for the box's own addresses.
TEST(server_policy_ports, policy_from_config_refuses_the_loop_guard_set) {
    twamp::config::config c;
    twamp::config::port_config pc;
    pc.addresses = {*twamp::config::ip_prefix::parse("198.18.0.2/24")};
    c.ports.push_back(pc);
    twamp::config::reflector_config r;
    r.udp_ports = {862, 5000};
    c.reflectors.push_back(r);
    c.control.receiver_ports = {64400, 64409};
    const auto p = policy_from_config(c, 0);
    const auto box = v4(198, 18, 0, 2), other = v4(198, 18, 0, 5);
    for (uint16_t port : std::initializer_list<uint16_t>{862, 64364, 64373, 7, 13, 17, 19, 37}) {
        EXPECT_TRUE(p.sender_port_refused(port)) << port;
        EXPECT_TRUE(p.sender_refused(other, port)) << port;
    }
    for (uint16_t port : std::initializer_list<uint16_t>{5000, 64400, 64409}) {
        EXPECT_TRUE(p.sender_refused(box, port)) << port << ": the box's own";
        EXPECT_TRUE(p.sender_refused(other, port)) << port << ": reflector-ports, any sender";
    }
    for (uint16_t port : std::initializer_list<uint16_t>{1, 8, 863, 4999, 40000, 64374, 64410}) {
        EXPECT_FALSE(p.sender_refused(box, port)) << port;
        EXPECT_FALSE(p.sender_refused(other, port)) << port;
    }
}

// The guard follows the reflectors' refused-source-ports: `[]` on every reflector turns it off
// (the box's own ports stay refused for its own addresses), a list refuses itself, the default
// the well-known set; no reflector: the default.
TEST(server_policy_ports, policy_from_config_follows_refused_source_ports) {
    twamp::config::config c;
    twamp::config::port_config pc;
    pc.addresses = {*twamp::config::ip_prefix::parse("198.18.0.2/24")};
    c.ports.push_back(pc);
    const auto box = v4(198, 18, 0, 2), other = v4(198, 18, 0, 5);
    EXPECT_TRUE(policy_from_config(c, 0).sender_refused(other, 862)) << "no reflector";
    twamp::config::reflector_config off;
    off.udp_ports = {5000};
    off.refused_source_ports.reflector_ports = false; // []
    c.reflectors = {off, off};
    auto p = policy_from_config(c, 0);
    for (uint16_t port : std::initializer_list<uint16_t>{862, 64364, 7, 19, 5000}) {
        EXPECT_FALSE(p.sender_refused(other, port)) << port << ": guard off";
    }
    EXPECT_TRUE(p.sender_refused(box, 5000)) << "the box's own port, to the box";
    EXPECT_TRUE(p.sender_refused(box, 64364)) << "control.receiver-ports, to the box";
    EXPECT_FALSE(p.sender_refused(box, 862)) << "not the box's port, guard off";
    // Third review: the box's IPv4 address written IPv4-mapped is the box all the same.
    const auto box_mapped = *twamp::config::ip_address::parse("::ffff:198.18.0.2");
    EXPECT_TRUE(p.sender_refused(box_mapped, 5000)) << "::ffff:198.18.0.2 is the box";
    EXPECT_TRUE(p.sender_refused(box_mapped, 64364));
    EXPECT_FALSE(p.sender_refused(*twamp::config::ip_address::parse("::ffff:198.18.0.5"), 5000));
    twamp::config::reflector_config listed = off;
    listed.refused_source_ports.ranges = {{1000, 1010}};
    c.reflectors = {off, listed};
    p = policy_from_config(c, 0);
    EXPECT_TRUE(p.sender_refused(other, 1000));
    EXPECT_TRUE(p.sender_refused(other, 1010));
    EXPECT_FALSE(p.sender_refused(other, 1011));
    EXPECT_FALSE(p.sender_refused(other, 862)) << "a list replaces the default";
    twamp::config::reflector_config deflt;
    deflt.udp_ports = {6000};
    c.reflectors = {listed, deflt};
    p = policy_from_config(c, 0);
    EXPECT_TRUE(p.sender_refused(other, 1005)) << "the union";
    EXPECT_TRUE(p.sender_refused(other, 862));
    EXPECT_TRUE(p.sender_refused(other, 37));
    // Third review: one reflector on "reflector-ports" puts every reflector's own ports (and
    // control.receiver-ports) in the guard for every Sender Address.
    EXPECT_TRUE(p.sender_refused(other, 6000));
    EXPECT_TRUE(p.sender_refused(other, 5000)) << "the listed reflector's udp-ports too";
    EXPECT_TRUE(p.sender_refused(other, 64364)) << "control.receiver-ports";
    EXPECT_TRUE(p.sender_refused(box, 6000));
}

// On the wire: a request whose Sender Address is the box's own and whose Sender Port is one of
// its own ports is refused; the same port at another host is served.
TEST_F(server, the_box_own_ports_are_refused_only_for_its_own_addresses) {
    policy.allow_third_party_senders = true;
    policy.sender_prefixes = {*twamp::config::ip_prefix::parse("198.18.0.0/16")};
    policy.own_sender_ports = {{5000, 5000}};
    setup();
    request_fields f;
    f.sender_port = 5000;
    f.sender_addr = wire4(198, 18, 0, 2); // the box
    expect_refused_3(feed(request_bytes(f)), "sender port", pool);
    f.sender_addr = wire4(198, 18, 5, 5); // a third party
    EXPECT_EQ(accept_one(f).sender_port, 5000);
    f.sender_addr = std::vector<uint8_t>(16, 0); // the client's own
    EXPECT_EQ(accept_one(f).sender_port, 5000);
}

TEST_F(server, family_mismatch_is_not_supported) {
    setup(); // IPv4 control connection
    request_fields f;
    f.ipvn = 6; // zero addresses: the IPv4 control addresses cannot stand in
    auto r = feed(request_bytes(f));
    ASSERT_EQ(r.output.size(), 48U);
    EXPECT_EQ(r.output[0], 3);
    EXPECT_EQ(load_be16(&r.output[2]), 0);
    EXPECT_TRUE(all_zero(slice(r.output, 4, 16))) << "no SID";
    auto ref = all<session_refused>(r);
    ASSERT_EQ(ref.size(), 1U);
    EXPECT_EQ(ref[0].accept, accept_code::not_supported);
    EXPECT_EQ(ref[0].why, "address family");
    EXPECT_EQ(ref[0].requested_port, 64364);
    EXPECT_EQ(pool.in_use(), 0U);
    EXPECT_EQ(conn->state(), server_state::ready);
}

TEST_F(server, unsupported_requests_are_answered_not_closed) {
    setup();
    std::vector<request_fields> cases(7);
    cases[0].conf_sender = 1;     // RFC 5357 §3.5: both MUST be 0
    cases[1].conf_receiver = 1;   //
    cases[2].slots = 1;           // no schedule slots in TWAMP
    cases[3].type_p = 0x40000000; // PHB ID, not a DSCP
    cases[4].ipvn = 5;            // no such IP version
    cases[5].padding = 70'000;    // no UDP datagram carries it
    cases[6].type_p = 0x00b80000; // bits after the DSCP field
    const char* why[] = {"conf-sender/conf-receiver",
                         "conf-sender/conf-receiver",
                         "schedule slots",
                         "type-p",
                         "ipvn",
                         "padding length",
                         "type-p"};
    for (std::size_t i = 0; i < cases.size(); ++i) {
        auto r = feed(request_bytes(cases[i]));
        ASSERT_EQ(r.output.size(), 48U);
        EXPECT_EQ(r.output[0], 3) << "Accept: not supported";
        EXPECT_FALSE(r.closed());
        EXPECT_EQ(all<session_refused>(r).at(0).why, why[i]);
    }
    EXPECT_EQ(counters.session_attempts.load(), 7U);
    EXPECT_EQ(counters.session_refused[3].load(), 7U);
    EXPECT_EQ(pool.in_use(), 0U);
    // Number of Packets and a non-zero SID from the client are ignored (the reflector does not
    // use them; the Server makes the SID).
    request_fields ok;
    ok.packets = 1000;
    auto in = request_bytes(ok);
    in.v[48] = 0xff;
    auto r = feed(in);
    ASSERT_EQ(r.output.size(), 48U);
    EXPECT_EQ(r.output[0], 0);
    EXPECT_EQ(r.output[4], 198) << "our SID, not theirs";
}

TEST_F(server, requested_port_outside_the_range_or_taken_gets_another) {
    setup();
    request_fields f;
    f.receiver_port = 862;
    EXPECT_EQ(accept_one(f).receiver_port, 64364);
    f.receiver_port = 0;
    EXPECT_EQ(accept_one(f).receiver_port, 64365);
    f.receiver_port = 64370;
    EXPECT_EQ(accept_one(f).receiver_port, 64370);
    auto dup = accept_one(f);
    EXPECT_NE(dup.receiver_port, 64370) << "duplicate requested port";
    EXPECT_TRUE(pool.range().contains(dup.receiver_port));
    EXPECT_EQ(pool.in_use(), 4U);
    // Four distinct SIDs.
    auto refs = conn->sessions();
    for (std::size_t i = 0; i < refs.size(); ++i) {
        for (std::size_t k = i + 1; k < refs.size(); ++k) {
            EXPECT_NE(refs[i].sid, refs[k].sid);
        }
    }
}

TEST_F(server, max_sessions_answers_accept_5) {
    pool.reconfigure({64364, 64373}, 2);
    setup();
    accept_one();
    accept_one();
    auto r = feed(request_bytes({}));
    ASSERT_EQ(r.output.size(), 48U);
    EXPECT_EQ(r.output[0], 5) << "temporary resource limitation";
    EXPECT_EQ(load_be16(&r.output[2]), 0);
    EXPECT_FALSE(r.closed());
    EXPECT_EQ(counters.session_refused[5].load(), 1U);
    EXPECT_EQ(counters.session_attempts.load(), 3U);
    EXPECT_EQ(conn->sessions().size(), 2U);
}

TEST_F(server, port_range_exhaustion_answers_accept_5) {
    pool.reconfigure({64364, 64365}, 1024);
    setup();
    accept_one();
    accept_one();
    auto r = feed(request_bytes({}));
    EXPECT_EQ(r.output[0], 5);
    EXPECT_EQ(all<session_refused>(r).size(), 1U);
}

TEST_F(server, allocator_refusals_pass_their_code_through) {
    scripted_allocator alloc;
    make(mode_unauthenticated, &alloc);
    greet();
    feed(setup_response_bytes(1));
    alloc.answer = {accept_code::permanent_limit, 0};
    EXPECT_EQ(feed(request_bytes({})).output[0], 4);
    alloc.answer = {accept_code::failure, 0};
    EXPECT_EQ(feed(request_bytes({})).output[0], 1);
    alloc.answer = {accept_code::ok, 0}; // a broken allocator: OK without a port
    EXPECT_EQ(feed(request_bytes({})).output[0], 2) << "internal error";
    ASSERT_EQ(alloc.asked.size(), 3U);
    EXPECT_EQ(alloc.asked[0].receiver_port, 64364) << "the requested port is proposed";
    EXPECT_EQ(alloc.asked[0].sender, v4(198, 18, 0, 1));
    alloc.answer = {accept_code::ok, 4000};
    auto r = feed(request_bytes({}));
    EXPECT_EQ(load_be16(&r.output[2]), 4000);
}

TEST_F(server, request_mbz_nibble_closes) {
    setup();
    request_fields f;
    f.mbz_high_nibble = 1;
    auto r = feed(request_bytes(f));
    EXPECT_TRUE(r.output.empty());
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, close_reason::mbz_nonzero);
    EXPECT_EQ(counters.session_attempts.load(), 1U);
}

// ---- RFC 6038 --------------------------------------------------------------------------------

TEST_F(server, reflect_octets_are_echoed_when_negotiated) {
    setup(0x61, mode_unauthenticated | mode_reflect_octets | mode_symmetrical_size);
    request_fields f;
    f.padding = 27;
    f.octets_to_reflect = 0xbeef;
    f.padding_to_reflect = 10;
    auto r = feed(request_bytes(f));
    ASSERT_EQ(r.output.size(), 48U);
    EXPECT_EQ(r.output[0], 0);
    EXPECT_EQ(load_be16(&r.output[20]), 0xbeef) << "Reflected octets";
    EXPECT_EQ(load_be16(&r.output[22]), 0) << "Server octets: none needed";
    EXPECT_TRUE(all_zero(slice(r.output, 24, 24)));
    auto si = all<session_accepted>(r).at(0).session;
    EXPECT_TRUE(si.reflect_octets());
    EXPECT_TRUE(si.symmetrical_size());
    EXPECT_EQ(si.octets_to_reflect, 0xbeef);
    EXPECT_EQ(si.padding_to_reflect, 10);
    // More padding to reflect than the sender sends: not supported.
    f.padding_to_reflect = 28;
    EXPECT_EQ(feed(request_bytes(f)).output[0], 3);
}

TEST_F(server, reflect_octet_fields_are_ignored_without_the_mode) {
    setup();
    request_fields f;
    f.octets_to_reflect = 0xbeef;
    f.padding_to_reflect = 500; // more than the padding: irrelevant without the mode
    auto r = feed(request_bytes(f));
    ASSERT_EQ(r.output.size(), 48U);
    EXPECT_EQ(r.output[0], 0);
    EXPECT_TRUE(all_zero(slice(r.output, 20, 28)));
    auto si = all<session_accepted>(r).at(0).session;
    EXPECT_EQ(si.octets_to_reflect, 0);
    EXPECT_EQ(si.padding_to_reflect, 0);
}

// ---- Start-Sessions / Start-Ack / Stop-Sessions -----------------------------------------------

TEST_F(server, start_sessions_starts_every_accepted_session) {
    setup();
    auto a = accept_one();
    auto b = accept_one();
    auto r = feed(start_sessions_bytes());
    EXPECT_EQ(r.output, bytes{}.u8(0).zeros(31).v) << "Start-Ack: Accept 0, MBZ, HMAC";
    auto st = all<sessions_started>(r);
    ASSERT_EQ(st.size(), 1U);
    EXPECT_EQ(st[0].sids, (std::vector<sid_t>{a.sid, b.sid}));
    EXPECT_FALSE(st[0].individual);
    EXPECT_EQ(conn->state(), server_state::running);
    EXPECT_EQ(counters.session_started.load(), 2U);
    EXPECT_FALSE(conn->next_deadline()) << "SERVWAIT suspended while the test runs";
}

TEST_F(server, start_sessions_without_sessions_is_refused_and_closes) {
    setup();
    auto r = feed(start_sessions_bytes());
    EXPECT_EQ(r.output, bytes{}.u8(1).zeros(31).v) << "Start-Ack Accept 1";
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, close_reason::no_sessions);
}

TEST_F(server, start_sessions_mbz_is_checked_hmac_is_not) {
    setup();
    accept_one();
    auto in = start_sessions_bytes();
    in.v[20] = 0x5a; // HMAC: unused in unauthenticated mode
    auto r = feed(in);
    EXPECT_EQ(r.output.size(), 32U);
    EXPECT_FALSE(r.closed());

    setup();
    accept_one();
    in = start_sessions_bytes();
    in.v[7] = 1; // MBZ
    r = feed(in);
    EXPECT_TRUE(r.output.empty());
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, close_reason::mbz_nonzero);
    ASSERT_EQ(r.closed()->sessions.size(), 1U) << "the session it held is handed back";
}

TEST_F(server, stop_sessions_stops_everything_with_its_timeout) {
    setup();
    request_fields f;
    f.timeout = 7ULL << 32;
    auto a = accept_one(f);
    auto b = accept_one();
    feed(start_sessions_bytes());
    auto r = feed(stop_sessions_bytes(0, 99), t0 + 60 * s); // Number of Sessions: informative
    EXPECT_TRUE(r.output.empty()) << "no answer to Stop-Sessions";
    auto st = all<sessions_stopped>(r);
    ASSERT_EQ(st.size(), 1U);
    ASSERT_EQ(st[0].sessions.size(), 2U);
    EXPECT_EQ(st[0].sessions[0], (session_ref{a.sid, a.receiver_port, true, 7 * s}));
    EXPECT_EQ(st[0].sessions[1], (session_ref{b.sid, b.receiver_port, true, 5 * s}));
    EXPECT_EQ(st[0].accept, 0);
    EXPECT_EQ(conn->state(), server_state::ready);
    EXPECT_TRUE(conn->sessions().empty());
    EXPECT_EQ(conn->next_deadline(), t0 + 60 * s + 900 * s) << "SERVWAIT resumes";
    EXPECT_EQ(counters.session_stopped.load(), 2U);
    EXPECT_EQ(pool.in_use(), 2U) << "ports stay held until the driver releases them";
    // A new round on the same connection.
    accept_one();
    EXPECT_EQ(feed(start_sessions_bytes()).output.size(), 32U);
}

TEST_F(server, the_timeout_is_clamped_to_the_policys_cap) {
    // Issue 12 item 6: Timeout 2^32 - 1 s would keep a stopped session, and its slot under
    // control.max-sessions, for 136 years.
    policy.max_timeout_ns = 60 * s;
    setup();
    request_fields f;
    f.timeout = 0xffffffffULL << 32;
    auto a = accept_one(f);
    EXPECT_EQ(a.timeout_ns, 60 * s);
    f.timeout = ~0ULL;
    EXPECT_EQ(accept_one(f).timeout_ns, 60 * s);
    f.timeout = (60ULL << 32) | 1; // a hair over: clamped too
    EXPECT_EQ(accept_one(f).timeout_ns, 60 * s);
    f.timeout = 59ULL << 32; // under the cap: as asked
    EXPECT_EQ(accept_one(f).timeout_ns, 59 * s);
    feed(start_sessions_bytes());
    auto st = all<sessions_stopped>(feed(stop_sessions_bytes(0, 4)));
    ASSERT_EQ(st.size(), 1U);
    ASSERT_EQ(st[0].sessions.size(), 4U);
    EXPECT_EQ(st[0].sessions[0], (session_ref{a.sid, a.receiver_port, true, 60 * s}))
            << "the driver frees the slot 60 s after the stop";
    EXPECT_EQ(st[0].sessions[3].timeout_ns, 59 * s);
}

TEST_F(server, stop_sessions_reports_the_clients_accept) {
    setup();
    accept_one();
    auto r = feed(stop_sessions_bytes(2));
    auto st = all<sessions_stopped>(r);
    ASSERT_EQ(st.size(), 1U);
    EXPECT_EQ(st[0].accept, 2);
    EXPECT_FALSE(st[0].sessions[0].started) << "stopped before it started";
    // Nothing to stop: no action, still open.
    r = feed(stop_sessions_bytes());
    EXPECT_TRUE(r.actions.empty());
    EXPECT_FALSE(conn->is_closed());
}

TEST_F(server, stop_sessions_mbz_closes) {
    for (std::size_t at : {2U, 3U, 8U, 15U}) {
        setup();
        auto in = stop_sessions_bytes();
        in.v[at] = 0x80;
        auto r = feed(in);
        ASSERT_TRUE(r.closed()) << at;
        EXPECT_EQ(r.closed()->reason, close_reason::mbz_nonzero);
    }
}

// ---- Out of order, unknown, malformed ---------------------------------------------------------

TEST_F(server, request_before_set_up_response_is_framed_as_one) {
    // Until Set-Up-Response there is no command octet: the request's 112 octets are the start of
    // a 164-octet Set-Up-Response whose Mode (0x05040000) we never offered.
    make();
    greet();
    auto r = feed(request_bytes({}));
    EXPECT_TRUE(r.output.empty());
    EXPECT_EQ(conn->buffered(), 112U);
    r = feed(bytes{}.zeros(52));
    ASSERT_EQ(r.output.size(), 48U);
    EXPECT_EQ(r.output[15], 3);
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, close_reason::mode_not_offered);
}

TEST_F(server, commands_while_the_test_runs_are_out_of_order) {
    for (const bytes& in : {request_bytes({}), start_sessions_bytes()}) {
        setup();
        accept_one();
        feed(start_sessions_bytes());
        // Refused on its first octet, without waiting for the rest.
        auto r = conn->feed(std::span<const uint8_t>(in.v).first(1), t0);
        ASSERT_TRUE(r.closed());
        EXPECT_EQ(r.closed()->reason, close_reason::out_of_order);
        ASSERT_EQ(r.closed()->sessions.size(), 1U);
        EXPECT_TRUE(r.closed()->sessions[0].started);
    }
}

TEST_F(server, unknown_commands_close) {
    // 0 Reserved, 1 Forbidden, 4 Reserved, 6 Experimentation, 8/10 are the Server's own acks,
    // 7/9 need individual session control, the rest are unassigned.
    for (int cmd : {0, 1, 4, 6, 7, 8, 9, 10, 11, 0x80, 0xff}) {
        setup();
        auto r = feed(bytes{}.u8(static_cast<uint8_t>(cmd)));
        ASSERT_TRUE(r.closed()) << cmd;
        EXPECT_EQ(r.closed()->reason, close_reason::unknown_command) << cmd;
        EXPECT_TRUE(r.output.empty());
    }
    EXPECT_EQ(closed_count(close_reason::unknown_command), 11U);
}

TEST_F(server, truncated_messages_wait_and_garbage_closes) {
    setup();
    auto in = request_bytes({});
    auto r = conn->feed(std::span<const uint8_t>(in.v).first(111), t0);
    EXPECT_TRUE(r.output.empty());
    EXPECT_EQ(conn->buffered(), 111U);
    r = conn->feed(std::span<const uint8_t>(in.v).last(1), t0);
    EXPECT_EQ(r.output.size(), 48U);
    // Garbage: "GET / HTTP/1.1" is command 0x47.
    std::string http = "GET / HTTP/1.1\r\n\r\n";
    r = conn->feed({reinterpret_cast<const uint8_t*>(http.data()), http.size()}, t0);
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, close_reason::unknown_command);
    EXPECT_EQ(conn->buffered(), 0U);
}

TEST_F(server, pipelined_messages_in_one_read) {
    make();
    bytes all_in;
    all_in.raw(setup_response_bytes(1).v);
    for (uint16_t p : {uint16_t{64364}, uint16_t{64365}, uint16_t{64366}}) {
        request_fields f;
        f.receiver_port = p;
        all_in.raw(request_bytes(f).v);
    }
    all_in.raw(start_sessions_bytes().v);
    all_in.raw(stop_sessions_bytes().v);
    all_in.raw(request_bytes({}).v).raw(std::span<const uint8_t>(request_bytes({}).v).first(50));
    greet();
    auto r = feed(all_in);
    EXPECT_EQ(r.output.size(), 48U + 3 * 48 + 32 + 48);
    EXPECT_EQ(all<session_accepted>(r).size(), 4U);
    EXPECT_EQ(all<sessions_started>(r).size(), 1U);
    EXPECT_EQ(all<sessions_stopped>(r).size(), 1U);
    EXPECT_EQ(conn->buffered(), 50U) << "only the partial last message is kept";
}

TEST_F(server, every_chunking_gives_the_same_exchange) {
    bytes in;
    in.raw(setup_response_bytes(mode_unauthenticated | mode_individual_session_control).v);
    in.raw(request_bytes({}).v);
    in.raw(start_sessions_bytes().v);
    in.raw(stop_sessions_bytes().v);
    in.raw(request_bytes({}).v);
    make(0x11);
    greet();
    auto whole = feed(in);
    ASSERT_FALSE(whole.closed());
    const std::size_t released = pool.in_use();
    for (std::size_t chunk = 1; chunk <= 37; chunk += 3) {
        port_pool fresh({64364, 64373}, 1024);
        next_random = 0x11;
        server_connection c(policy, fresh, addrs, [this](std::span<uint8_t> out) {
            for (auto& b : out) {
                b = next_random++;
            }
        });
        c.greeting(t0);
        std::vector<uint8_t> out;
        std::size_t actions = 0;
        for (std::size_t i = 0; i < in.size(); i += chunk) {
            auto r = c.feed(
                    std::span<const uint8_t>(in.v).subspan(i, std::min(chunk, in.size() - i)), t0);
            out.insert(out.end(), r.output.begin(), r.output.end());
            actions += r.actions.size();
        }
        EXPECT_EQ(out, whole.output) << "chunk " << chunk;
        EXPECT_EQ(actions, whole.actions.size()) << "chunk " << chunk;
        EXPECT_EQ(fresh.in_use(), released);
    }
}

// ---- RFC 5938 individual session control -----------------------------------------------------

class server_isc : public server {
protected:
    std::vector<session_info> ss;
    void SetUp() override {
        setup(0x11, 0x11);
        for (int i = 0; i < 3; ++i) {
            ss.push_back(accept_one());
        }
    }
};

TEST_F(server_isc, start_n_sessions_starts_only_those) {
    auto r = feed(n_bytes(7, 0, {ss[0].sid, ss[2].sid}));
    // Start-N-Ack: 8, Accept, MBZ(10), Number of Sessions, SIDs, HMAC.
    auto want = bytes{}.u8(8).u8(0).zeros(10).u32(2).raw(ss[0].sid).raw(ss[2].sid).zeros(16);
    EXPECT_EQ(r.output, want.v);
    auto st = all<sessions_started>(r);
    ASSERT_EQ(st.size(), 1U);
    EXPECT_TRUE(st[0].individual);
    EXPECT_EQ(st[0].sids, (std::vector<sid_t>{ss[0].sid, ss[2].sid}));
    EXPECT_EQ(conn->state(), server_state::running);
    EXPECT_EQ(counters.session_started.load(), 2U);
    // In this mode new requests and starts are fine while sessions run.
    auto more = accept_one();
    r = feed(n_bytes(7, 0, {ss[0].sid, more.sid}));
    EXPECT_EQ(r.output[1], 0);
    EXPECT_EQ(all<sessions_started>(r).at(0).sids, (std::vector<sid_t>{more.sid}))
            << "ss[0] was already running";
    EXPECT_EQ(counters.session_started.load(), 3U);
}

TEST_F(server_isc, stop_n_sessions_stops_only_those) {
    feed(start_sessions_bytes());
    auto r = feed(n_bytes(9, 0, {ss[1].sid}), t0 + 30 * s);
    auto want = bytes{}.u8(10).u8(0).zeros(10).u32(1).raw(ss[1].sid).zeros(16);
    EXPECT_EQ(r.output, want.v);
    auto st = all<sessions_stopped>(r);
    ASSERT_EQ(st.size(), 1U);
    EXPECT_TRUE(st[0].individual);
    ASSERT_EQ(st[0].sessions.size(), 1U);
    EXPECT_EQ(st[0].sessions[0].sid, ss[1].sid);
    EXPECT_EQ(conn->sessions().size(), 2U);
    EXPECT_EQ(conn->state(), server_state::running);
    // Stop the rest: SERVWAIT resumes.
    r = feed(n_bytes(9, 0, {ss[0].sid, ss[2].sid}), t0 + 40 * s);
    EXPECT_EQ(all<sessions_stopped>(r).at(0).sessions.size(), 2U);
    EXPECT_EQ(conn->state(), server_state::ready);
    EXPECT_EQ(conn->next_deadline(), t0 + 940 * s);
}

TEST_F(server_isc, an_unknown_sid_refuses_the_whole_command) {
    sid_t unknown{};
    unknown[0] = 9;
    auto r = feed(n_bytes(7, 0, {ss[0].sid, unknown}));
    ASSERT_EQ(r.output.size(), n_sessions_size(2));
    EXPECT_EQ(r.output[0], 8);
    EXPECT_EQ(r.output[1], 1) << "Accept: failure";
    EXPECT_TRUE(r.actions.empty()) << "nothing started";
    EXPECT_EQ(counters.session_started.load(), 0U);
    r = feed(n_bytes(9, 0, {unknown}));
    EXPECT_EQ(r.output[0], 10);
    EXPECT_EQ(r.output[1], 1);
    EXPECT_EQ(conn->sessions().size(), 3U);
}

TEST_F(server_isc, more_sids_than_sessions_closes_before_buffering) {
    // Number of Sessions 0x10000000 would be 4 GiB of SIDs.
    auto r = feed(bytes{}.u8(7).zeros(11).u32(0x10000000));
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, close_reason::too_many_sids);
    EXPECT_EQ(r.closed()->sessions.size(), 3U);
}

TEST_F(server_isc, mbz_of_n_commands) {
    auto in = n_bytes(7, 1, {ss[0].sid}); // octet 1 is MBZ in Start-N-Sessions
    auto r = feed(in);
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, close_reason::mbz_nonzero);
}

TEST_F(server_isc, stop_n_carries_the_clients_accept) {
    auto r = feed(n_bytes(9, 4, {ss[0].sid}));
    EXPECT_EQ(all<sessions_stopped>(r).at(0).accept, 4);
}

// ---- SERVWAIT, abort --------------------------------------------------------------------------

TEST_F(server, servwait_closes_an_idle_connection) {
    policy.setup_timeout_ns = 0; // SERVWAIT alone (setup_timeout_* below)
    make();
    greet(t0);
    EXPECT_EQ(conn->next_deadline(), t0 + 900 * s);
    EXPECT_FALSE(conn->on_timer(t0 + 900 * s - 1).closed());
    // A partial message is not activity (a client trickling octets cannot hold the slot).
    feed(bytes{}.zeros(100), t0 + 5 * s);
    EXPECT_EQ(conn->next_deadline(), t0 + 900 * s);
    auto r = conn->on_timer(t0 + 900 * s);
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, close_reason::servwait);
    EXPECT_FALSE(conn->next_deadline());
    EXPECT_EQ(closed_count(close_reason::servwait), 1U);
}

TEST_F(server, servwait_counts_from_the_last_message_and_pauses_during_tests) {
    setup();
    accept_one(); // at t0
    feed(request_bytes({}), t0 + 100 * s);
    EXPECT_EQ(conn->next_deadline(), t0 + 1000 * s);
    EXPECT_FALSE(conn->on_timer(t0 + 999 * s).closed());
    feed(start_sessions_bytes(), t0 + 200 * s);
    EXPECT_FALSE(conn->next_deadline());
    EXPECT_FALSE(conn->on_timer(t0 + 100'000 * s).closed()) << "a day-long test is fine";
    feed(stop_sessions_bytes(), t0 + 100'000 * s);
    auto r = conn->on_timer(t0 + 100'900 * s);
    ASSERT_TRUE(r.closed());
    EXPECT_TRUE(r.closed()->sessions.empty());
}

// Second review: control.idle-timeout. Past Server-Start a connection without sessions closes
// idle_timeout after it last held one (refused requests and other commands do not extend it);
// with sessions it does not apply; SERVWAIT keeps its name when both fall due at once.
TEST_F(server, idle_timeout_counts_while_the_connection_holds_no_session) {
    policy.idle_timeout_ns = 60 * s;
    setup(); // at t0
    EXPECT_EQ(conn->sessionless_since(), t0);
    EXPECT_EQ(conn->next_deadline(), t0 + 60 * s);
    request_fields bad;
    bad.sender_addr = wire4(198, 18, 5, 5); // refused: no session
    ASSERT_EQ(all<session_refused>(feed(request_bytes(bad), t0 + 30 * s)).size(), 1U);
    EXPECT_EQ(conn->next_deadline(), t0 + 60 * s) << "a refused request does not extend it";
    auto r = feed(request_bytes({}), t0 + 40 * s);
    ASSERT_EQ(all<session_accepted>(r).size(), 1U);
    EXPECT_EQ(conn->sessionless_since(), std::nullopt);
    EXPECT_EQ(conn->next_deadline(), t0 + 940 * s) << "SERVWAIT only";
    EXPECT_FALSE(conn->on_timer(t0 + 100 * s).closed());
    feed(stop_sessions_bytes(), t0 + 100 * s);
    EXPECT_EQ(conn->sessionless_since(), t0 + 100 * s);
    EXPECT_EQ(conn->next_deadline(), t0 + 160 * s);
    EXPECT_FALSE(conn->on_timer(t0 + 160 * s - 1).closed());
    auto c = conn->on_timer(t0 + 160 * s);
    ASSERT_NE(c.closed(), nullptr);
    EXPECT_EQ(c.closed()->reason, close_reason::idle_timeout);
    EXPECT_EQ(closed_count(close_reason::idle_timeout), 1U);
}

TEST_F(server, idle_timeout_equal_to_servwait_closes_as_servwait) {
    policy.idle_timeout_ns = 900 * s; // make() sets SERVWAIT 900 s
    setup();
    auto c = conn->on_timer(t0 + 900 * s);
    ASSERT_NE(c.closed(), nullptr);
    EXPECT_EQ(c.closed()->reason, close_reason::servwait);
}

TEST_F(server, servwait_zero_disables_it) {
    policy.servwait_ns = 0;
    policy.setup_timeout_ns = 0;
    conn = std::make_unique<server_connection>(policy, pool, addrs, os_random);
    conn->greeting(t0);
    EXPECT_FALSE(conn->next_deadline());
    EXPECT_FALSE(conn->on_timer(~0ULL).closed());
}

TEST_F(server, setup_timeout_closes_a_connection_without_a_complete_setup_response) {
    policy.setup_timeout_ns = 10 * s;
    make();
    greet(t0);
    EXPECT_EQ(conn->next_deadline(), t0 + 10 * s) << "the shorter of setup-timeout and SERVWAIT";
    // Octets of a Set-Up-Response that never completes do not move it.
    feed(bytes{}.zeros(163), t0 + 9 * s);
    EXPECT_EQ(conn->next_deadline(), t0 + 10 * s);
    EXPECT_FALSE(conn->on_timer(t0 + 10 * s - 1).closed());
    auto r = conn->on_timer(t0 + 10 * s);
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, close_reason::setup_timeout);
    EXPECT_EQ(closed_count(close_reason::setup_timeout), 1U);
    EXPECT_EQ(closed_count(close_reason::servwait), 0U);
}

TEST_F(server, setup_timeout_ends_with_server_start) {
    policy.setup_timeout_ns = 10 * s;
    make();
    greet(t0);
    feed(setup_response_bytes(mode_unauthenticated), t0 + 9 * s);
    ASSERT_EQ(conn->state(), server_state::ready);
    EXPECT_EQ(conn->next_deadline(), t0 + 9 * s + 900 * s) << "SERVWAIT from Set-Up-Response";
    EXPECT_FALSE(conn->on_timer(t0 + 100 * s).closed());
}

TEST_F(server, setup_timeout_longer_than_servwait_leaves_servwait) {
    policy.setup_timeout_ns = 10 * s;
    make();
    policy.servwait_ns = 5 * s;
    conn = std::make_unique<server_connection>(policy, pool, addrs, os_random, &counters);
    conn->greeting(t0);
    EXPECT_EQ(conn->next_deadline(), t0 + 5 * s);
    auto r = conn->on_timer(t0 + 5 * s);
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, close_reason::servwait);
}

TEST_F(server, abort_hands_back_the_sessions) {
    setup();
    auto a = accept_one();
    auto b = accept_one();
    feed(start_sessions_bytes());
    auto r = conn->abort(close_reason::peer_closed);
    EXPECT_TRUE(r.output.empty());
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, close_reason::peer_closed);
    EXPECT_EQ(r.closed()->sessions,
              (std::vector<session_ref>{{a.sid, a.receiver_port, true, 5 * s},
                                        {b.sid, b.receiver_port, true, 5 * s}}));
    EXPECT_TRUE(conn->abort(close_reason::io_error).actions.empty()) << "once";
    EXPECT_EQ(closed_count(close_reason::peer_closed), 1U);
    EXPECT_EQ(closed_count(close_reason::io_error), 0U);
}

// ---- Sessions the driver ends (REFWAIT, issue 12 item 7) --------------------------------------

TEST_F(server, refwait_ending_the_last_started_session_closes_the_connection) {
    setup();
    auto a = accept_one();
    auto b = accept_one();
    feed(start_sessions_bytes());
    ASSERT_EQ(conn->next_deadline(), std::nullopt) << "SERVWAIT suspended while the test runs";
    auto r = conn->sessions_ended(std::vector<sid_t>{a.sid});
    EXPECT_TRUE(r.actions.empty()) << "b still runs";
    EXPECT_EQ(conn->state(), server_state::running);
    EXPECT_EQ(conn->sessions().size(), 1U);
    r = conn->sessions_ended(std::vector<sid_t>{b.sid});
    EXPECT_TRUE(r.output.empty());
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, close_reason::refwait);
    EXPECT_TRUE(r.closed()->sessions.empty()) << "the driver already ended a and b";
    EXPECT_TRUE(conn->is_closed());
    EXPECT_EQ(closed_count(close_reason::refwait), 1U);
    EXPECT_TRUE(conn->sessions_ended(std::vector<sid_t>{b.sid}).actions.empty()) << "closed";
}

TEST_F(server, refwait_with_unknown_sids_changes_nothing) {
    setup();
    accept_one();
    feed(start_sessions_bytes());
    sid_t other{};
    other[0] = 7;
    EXPECT_TRUE(conn->sessions_ended(std::vector<sid_t>{other}).actions.empty());
    EXPECT_EQ(conn->state(), server_state::running);
}

TEST_F(server_isc, refwait_hands_back_the_sessions_not_started) {
    feed(n_bytes(7, 0, {ss[0].sid}));
    auto r = conn->sessions_ended(std::vector<sid_t>{ss[0].sid});
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, close_reason::refwait);
    ASSERT_EQ(r.closed()->sessions.size(), 2U) << "ss[1] and ss[2], accepted, never started";
    EXPECT_EQ(r.closed()->sessions[0].sid, ss[1].sid);
    EXPECT_FALSE(r.closed()->sessions[0].started);
}

TEST_F(server, feeding_before_the_greeting_is_a_driver_bug) {
    make();
    auto r = feed(setup_response_bytes(1));
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, close_reason::out_of_order);
}

TEST_F(server, output_never_exceeds_greeting_plus_input) {
    make(0x71);
    std::size_t in_total = 0;
    std::size_t out_total = greet().output.size();
    auto go = [&](const bytes& b) {
        in_total += b.size();
        out_total += feed(b).output.size();
    };
    go(setup_response_bytes(0x71));
    std::vector<sid_t> sids;
    for (int i = 0; i < 5; ++i) {
        auto r = feed(request_bytes({}));
        in_total += 112;
        out_total += r.output.size();
        sids.push_back(all<session_accepted>(r).at(0).session.sid);
    }
    go(n_bytes(7, 0, sids));
    go(n_bytes(9, 0, sids));
    EXPECT_LE(out_total, server_greeting_size + in_total);
}

TEST_F(server, policy_from_config) {
    twamp::config::control_config c;
    c.modes = 0x31;
    c.servwait = 10;
    c.prefixes = {*twamp::config::ip_prefix::parse("198.18.0.0/15")};
    auto p = policy_from_config(c, 42);
    EXPECT_EQ(p.modes, 0x31U);
    EXPECT_EQ(p.servwait_ns, 10 * s);
    EXPECT_EQ(p.setup_timeout_ns, 10 * s) << "control.setup-timeout default";
    EXPECT_EQ(p.start_time_ns, 42U);
    EXPECT_EQ(p.count, 2048U) << "control.kdf-count default (perfSONAR's)";
    EXPECT_EQ(p.max_timeout_ns, 60 * s) << "control.max-timeout default";
    EXPECT_FALSE(p.allow_third_party_senders);
    EXPECT_EQ(p.sender_prefixes, c.prefixes);
    c.max_timeout = 5;
    c.allow_third_party_senders = true;
    p = policy_from_config(c, 42);
    EXPECT_EQ(p.max_timeout_ns, 5 * s);
    EXPECT_TRUE(p.allow_third_party_senders);
}

TEST(server_local_addresses, every_port_and_vlan_address_without_length) {
    twamp::config::config c;
    c.ports.resize(2);
    c.ports[0].addresses = {*twamp::config::ip_prefix::parse("198.18.0.2/24"),
                            *twamp::config::ip_prefix::parse("2001:2::2/64")};
    c.ports[0].vlans.push_back({100, {*twamp::config::ip_prefix::parse("198.19.0.2/24")}});
    c.ports[1].vlans.push_back({7, {*twamp::config::ip_prefix::parse("2001:2:0:7::2/64")}});
    EXPECT_EQ(local_addresses_of(c),
              (std::vector<twamp::config::ip_address>{v4(198, 18, 0, 2), v6("2001:2::2"),
                                                      v4(198, 19, 0, 2), v6("2001:2:0:7::2")}));
}

TEST(server_names, close_reasons_are_distinct_label_values) {
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < close_reason_count; ++i) {
        auto n = to_string(static_cast<close_reason>(i));
        EXPECT_NE(n, "unknown");
        names.insert(n);
    }
    EXPECT_EQ(names.size(), close_reason_count);
    EXPECT_EQ(to_string(server_state::running), "running");
}

TEST(server_random, os_random_fills) {
    std::array<uint8_t, 64> a{};
    std::array<uint8_t, 64> b{};
    os_random(a);
    os_random(b);
    EXPECT_NE(a, b);
}

} // namespace
