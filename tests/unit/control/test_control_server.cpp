// slowpath::control_server, the TWAMP-Control driver, without sockets (fake_control_io): the
// issue 18 limits (max-connections-per-source, max-pending, setup-timeout), a client that does
// not read (not polled for input while its output is backed up, closed after SERVWAIT), a
// client trickling octets, and that the server makes no work while clients only wait.
#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "fake_control_io.hpp"
#include "helpers.hpp"

#include "twamp/control/messages.hpp"
#include "twamp/proto/bytes.hpp"
#include "twamp/slowpath/control_server.hpp"

using namespace twamp;
using namespace twamp::control::test;
using twamp::control::close_reason;
using twamp::slowpath::control_server;

namespace {

constexpr uint64_t s = 1'000'000'000ULL;
constexpr uint64_t t0 = 1'700'000'000ULL * s;

class driver : public ::testing::Test {
protected:
    config::config cfg;
    fake_control_io* io = nullptr; // owned by the server
    std::unique_ptr<control_server> server;
    std::size_t tables = 0;
    std::size_t last_table_size = 0;
    uint64_t tsc = 1;
    const net::address box = v4(198, 18, 0, 2);
    const net::address alice = v4(198, 18, 0, 1);
    const net::address bob = v4(198, 18, 0, 3);
    slowpath::control_env defaults; // max_out and activity for make()

    // 2001:db8:0:SUB::LAST: an address in /64 number SUB of 2001:db8::/48.
    static net::address a6(uint8_t sub, uint8_t last) {
        std::array<uint8_t, 16> b{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, sub, 0, 0, 0, 0, 0, 0, 0, last};
        return net::address::from_octets(net::ip_family::ipv6, b.data());
    }
    std::vector<log::event> events; // what the server emitted (control_env::events)

    void SetUp() override {
        cfg.control.enabled = true;
        cfg.control.prefixes = {*config::ip_prefix::parse("198.18.0.0/15")};
        cfg.control.servwait = 900;
        config::port_config p;
        p.name = "p0";
        p.addresses = {*config::ip_prefix::parse("198.18.0.2/24")};
        cfg.ports.push_back(p);
    }
    void make() {
        auto fake = std::make_unique<fake_control_io>();
        io = fake.get();
        slowpath::control_env env;
        env.io = std::move(fake);
        env.tsc = [this] { return tsc; };
        env.tsc_hz = 1'000'000'000ULL;
        env.start_ns = t0;
        env.monotonic_ns = [] { return uint64_t{1}; };
        env.random = counting_random{};
        env.max_out = defaults.max_out;
        env.activity = defaults.activity;
        env.events = [this](log::event&& e) { events.push_back(std::move(e)); };
        server = std::make_unique<control_server>(
                cfg,
                [this](std::unique_ptr<dataplane::control_table> t) {
                    ++tables;
                    last_table_size = t->size();
                },
                std::move(env));
        std::string error;
        ASSERT_TRUE(server->start(error)) << error;
    }
    // Polls until a round does no work (at most 1000 rounds).
    void settle(uint64_t now) {
        for (int i = 0; i < 1000 && server->poll(now); ++i) {
        }
    }
    int connect(const net::address& from, uint64_t now = t0) {
        const int fd = io->connect(from, box);
        settle(now);
        return fd;
    }
    // The Modes field of the greeting a connection got.
    uint32_t greeting_modes(int fd) {
        const auto& out = io->peers.at(fd).from_server;
        EXPECT_GE(out.size(), control::server_greeting_size);
        return out.size() >= 16 ? proto::load_be32(&out[12]) : ~0U;
    }
    // Greeting read, Set-Up-Response sent (unauthenticated), Server-Start read.
    int ready_client(const net::address& from, uint64_t now = t0) {
        const int fd = connect(from, now);
        EXPECT_EQ(greeting_modes(fd), control::mode_unauthenticated);
        io->take(fd);
        io->send_to_server(fd, setup_response_bytes(control::mode_unauthenticated));
        settle(now);
        auto ss = io->take(fd);
        EXPECT_EQ(ss.size(), control::server_start_size);
        EXPECT_EQ(ss.size() > 15 ? ss[15] : 0xff, 0) << "Server-Start Accept";
        return fd;
    }
    // The events of `kind`, in order.
    std::vector<log::event> of(const std::string& kind) const {
        std::vector<log::event> v;
        for (const auto& e : events) {
            if (e.kind == kind) {
                v.push_back(e);
            }
        }
        return v;
    }
    uint64_t closed(close_reason r) const {
        return server->counters().closed[static_cast<std::size_t>(r)].load();
    }
};

TEST_F(driver, per_source_cap_refuses_with_modes_zero) {
    cfg.control.max_connections_per_source = 2;
    make();
    const int a1 = connect(alice), a2 = connect(alice), a3 = connect(alice);
    EXPECT_EQ(greeting_modes(a1), control::mode_unauthenticated);
    EXPECT_EQ(greeting_modes(a2), control::mode_unauthenticated);
    EXPECT_EQ(greeting_modes(a3), 0U) << "third connection from one address";
    EXPECT_TRUE(io->peers.at(a3).closed);
    EXPECT_EQ(server->refusals().per_source.load(), 1U);
    EXPECT_EQ(server->refusals().max_connections.load(), 0U);
    const int b1 = connect(bob);
    EXPECT_EQ(greeting_modes(b1), control::mode_unauthenticated) << "another address is served";
    // alice closes one: she may connect again.
    io->client_close(a1);
    settle(t0);
    EXPECT_TRUE(io->peers.at(a1).closed);
    const int a4 = connect(alice);
    EXPECT_EQ(greeting_modes(a4), control::mode_unauthenticated);
    EXPECT_EQ(server->refusals().per_source.load(), 1U);
    EXPECT_EQ(server->connections_open(), 3U); // a2, b1, a4
}

// Issue 18 review: max-pending full no longer refuses the newcomer (two sources could hold the
// greeting phase forever). Second review: evicting the OLDEST pending connection let a flood
// evict a slow healthy client, so a random pending connection of the address holding the most
// is evicted (closed_evicted), never one younger than evict_grace_ns. Changed with the third
// review (a flood recycling its connections faster than that locked every newcomer out): the
// grace applies only to a newcomer whose source holds as many pending connections as the
// heaviest (a tie); a lighter newcomer takes one of the heaviest source's whatever its age.
// One address has at most max-pending-per-source pending connections (refused "pending").
TEST_F(driver, pending_full_grace_applies_only_to_a_newcomer_as_heavy_as_the_heaviest) {
    cfg.control.max_pending = 2;
    make();
    const int a1 = connect(alice, t0), b1 = connect(bob, t0);
    EXPECT_EQ(server->pending(), 2U);
    const uint64_t young = t0 + control_server::evict_grace_ns - 1;
    EXPECT_EQ(greeting_modes(connect(alice, young)), 0U)
            << "alice holds as many as anyone: only one past the grace time, and none is";
    EXPECT_EQ(server->refusals().pending_full.load(), 1U);
    EXPECT_FALSE(io->peers.at(a1).closed);
    EXPECT_FALSE(io->peers.at(b1).closed);
    const uint64_t old = t0 + control_server::evict_grace_ns;
    const int a2 = connect(alice, old);
    EXPECT_EQ(greeting_modes(a2), control::mode_unauthenticated) << "a tie, one old enough";
    EXPECT_NE(io->peers.at(a1).closed, io->peers.at(b1).closed) << "exactly one made room";
    EXPECT_EQ(closed(close_reason::evicted), 1U);
    EXPECT_EQ(server->refusals().pending.load(), 0U);
    EXPECT_EQ(server->pending(), 2U);
    // The survivor sets up: no longer pending, never evicted.
    const int survivor = io->peers.at(a1).closed ? b1 : a1;
    io->take(survivor);
    io->send_to_server(survivor, setup_response_bytes(control::mode_unauthenticated));
    settle(old);
    EXPECT_EQ(server->pending(), 1U);
    const int d1 = connect(v4(198, 18, 0, 5), old);
    EXPECT_EQ(greeting_modes(d1), control::mode_unauthenticated) << "a free slot";
    // a2 and d1 are young, one each. Changed with the fourth review (it asserted that a
    // newcomer from a source holding none was lighter and evicted one of them at age 0): the
    // newcomer is counted in its own group, 0 + 1 is as many as theirs, a tie: it waits for
    // the grace time.
    EXPECT_EQ(greeting_modes(connect(v4(198, 18, 0, 6), old)), 0U) << "a tie, both young";
    EXPECT_FALSE(io->peers.at(a2).closed);
    EXPECT_FALSE(io->peers.at(d1).closed);
    EXPECT_EQ(server->refusals().pending_full.load(), 2U);
    const uint64_t later = old + control_server::evict_grace_ns;
    const int d2 = connect(v4(198, 18, 0, 6), later);
    EXPECT_EQ(greeting_modes(d2), control::mode_unauthenticated) << "a tie, both old enough";
    EXPECT_NE(io->peers.at(a2).closed, io->peers.at(d1).closed) << "exactly one made room";
    EXPECT_FALSE(io->peers.at(survivor).closed) << "past the greeting phase";
    EXPECT_EQ(closed(close_reason::evicted), 2U);
    // d2's source now holds one (1 + 1 is not fewer than 1: a tie): its second takes the old
    // one left, never d2 (young).
    const int left = io->peers.at(a2).closed ? d1 : a2;
    EXPECT_EQ(greeting_modes(connect(v4(198, 18, 0, 6), later)), control::mode_unauthenticated);
    EXPECT_TRUE(io->peers.at(left).closed);
    EXPECT_FALSE(io->peers.at(d2).closed);
    EXPECT_EQ(closed(close_reason::evicted), 3U);
    EXPECT_EQ(server->refusals().pending_full.load(), 2U);
    // Now d2's source holds two, both young: a newcomer holding none is lighter (0 + 1 < 2)
    // and takes one of them whatever its age.
    EXPECT_EQ(greeting_modes(connect(v4(198, 18, 0, 7), later)), control::mode_unauthenticated);
    EXPECT_EQ(closed(close_reason::evicted), 4U);
    EXPECT_EQ(server->refusals().pending_full.load(), 2U);
}

// The address holding the most pending connections is the one evicted from.
TEST_F(driver, the_flooding_address_loses_its_own_connections) {
    cfg.control.max_pending = 4;
    cfg.control.max_pending_per_source = 3;
    make();
    const net::address flooder = v4(198, 18, 1, 1);
    const int a = connect(alice, t0);
    std::vector<int> f = {connect(flooder, t0), connect(flooder, t0), connect(flooder, t0)};
    for (int i = 0; i < 2; ++i) {
        const uint64_t now = t0 + (2 + static_cast<uint64_t>(i)) * s;
        const int n = connect(v4(198, 18, 0, static_cast<uint8_t>(10 + i)), now);
        EXPECT_EQ(greeting_modes(n), control::mode_unauthenticated) << i;
        EXPECT_FALSE(io->peers.at(a).closed) << "alice holds one, the flooder more: " << i;
    }
    EXPECT_EQ(closed(close_reason::evicted), 2U);
    EXPECT_EQ(std::count_if(f.begin(), f.end(), [&](int fd) { return io->peers.at(fd).closed; }), 2)
            << "two of the flooder's three";
    EXPECT_EQ(server->pending(), 4U);
}

// The second review's case: 8 addresses opening connections at 800 a second (each held, never
// set up) while a healthy client on a slow link takes 0.5 s to send its Set-Up-Response. With
// the oldest evicted, every flooder's eviction made it reconnect and evict the next oldest:
// the healthy client was gone within 16 rounds (~0.1 s).
TEST_F(driver, a_flood_cannot_evict_a_slow_healthy_client) {
    make();
    std::vector<int> flood;
    const uint64_t step = 1'250'000ULL; // 800 connections a second
    const uint64_t healthy_at = t0 + 2 * s;
    int b = -1;
    bool set_up = false, requested = false;
    for (uint64_t now = t0, i = 0; now < t0 + 4 * s; now += step, ++i) {
        if (b < 0 && now >= healthy_at) {
            b = connect(bob, now);
            ASSERT_EQ(greeting_modes(b), control::mode_unauthenticated) << "bob admitted";
            io->take(b);
        }
        if (b >= 0 && !set_up && now >= healthy_at + s / 2) {
            ASSERT_FALSE(io->peers.at(b).closed) << "bob evicted before his Set-Up-Response";
            io->send_to_server(b, setup_response_bytes(control::mode_unauthenticated));
            settle(now);
            auto ss = io->take(b);
            ASSERT_EQ(ss.size(), control::server_start_size);
            EXPECT_EQ(ss[15], 0) << "Server-Start Accept";
            set_up = true;
        }
        if (set_up && !requested && now >= healthy_at + s * 6 / 10) {
            io->send_to_server(b, request_bytes({}));
            settle(now);
            auto acc = io->take(b);
            ASSERT_EQ(acc.size(), control::accept_session_size);
            EXPECT_EQ(acc[0], 0) << "Accept-Session Accept";
            requested = true;
        }
        flood.push_back(connect(v4(198, 18, 1, static_cast<uint8_t>(10 + i % 8)), now));
    }
    EXPECT_TRUE(requested);
    EXPECT_FALSE(io->peers.at(b).closed);
    // bob (holding none: 0 + 1 < 2, lighter) evicts one flooder's at any age; then each
    // flooder reconnecting with one pending is counted with its own group, 1 + 1 = 2, a tie
    // with the others' two: it takes only connections past evict_grace_ns (changed with the
    // fourth review; the third had it lighter, evicting young ones at every reconnect). So
    // bob's eviction plus the flood's 16 old ones (15 or 16: the one last evicted from may
    // keep an old one out of reach), then pending_full until bob sets up and all hold two.
    // bob, holding one, is never the heaviest: 15 slots over 8 addresses.
    EXPECT_GE(closed(close_reason::evicted), 15U);
    EXPECT_LE(closed(close_reason::evicted), 16U) << "never a young one by a tie";
    EXPECT_GT(server->refusals().pending_full.load(), 0U) << "a flooder at one: a tie";
    EXPECT_EQ(server->pending(), 16U);
    EXPECT_EQ(server->sessions(), 1U);
}

TEST_F(driver, a_greeting_phase_flood_cannot_keep_a_healthy_client_out) {
    // Default caps: max-pending 16, 2 pending per source. Eight flooding addresses hold every
    // pending slot, eight more evict them (once past evict_grace_ns), and so on; bob still
    // sets up and gets a session (changed with the second review: each round and bob come a
    // grace time later, connections younger than it are not evicted).
    make();
    std::vector<int> flood;
    uint64_t now = t0;
    for (int round = 0; round < 3; ++round, now += 2 * s) {
        // Fresh sources each round (the old ones are at max-pending-per-source).
        for (uint8_t h = static_cast<uint8_t>(10 + 8 * round); h < 18 + 8 * round; ++h) {
            flood.push_back(connect(v4(198, 18, 1, h), now));
            flood.push_back(connect(v4(198, 18, 1, h), now));
            EXPECT_EQ(greeting_modes(connect(v4(198, 18, 1, h), now)), 0U) << "third pending";
        }
        EXPECT_EQ(server->pending(), 16U);
    }
    // Changed with the fourth review (it asserted 24 refused "pending" and 32 evicted): a
    // fresh source's second connection counts its first (1 + 1), a tie with sources holding
    // two; when those are all this round's (young) it is refused pending_full, and its third
    // then too instead of "pending". Each attempt of rounds 1 and 2 (48) evicts one or is
    // refused; round 0 refused 8 "pending".
    const uint64_t pending_full = server->refusals().pending_full.load();
    EXPECT_EQ(closed(close_reason::evicted) + server->refusals().pending.load() + pending_full,
              56U);
    EXPECT_GE(closed(close_reason::evicted), 16U) << "each fresh source's first: lighter";
    const int b = ready_client(bob, now);
    io->send_to_server(b, request_bytes({}));
    settle(now);
    auto acc = io->take(b);
    ASSERT_EQ(acc.size(), control::accept_session_size);
    EXPECT_EQ(acc[0], 0) << "Accept-Session Accept";
    EXPECT_EQ(server->pending(), 15U);
    EXPECT_EQ(server->refusals().pending_full.load(), pending_full) << "bob never waited";
}

// Second review: grouping IPv6 by /64 let one host lock its /64 neighbours out. Now the caps
// are per address, with prefix_cap_factor (4) times them for the whole /64.
TEST_F(driver, ipv6_sources_are_counted_per_address_and_per_64) {
    cfg.control.prefixes.push_back(*config::ip_prefix::parse("2001:db8::/32"));
    cfg.control.max_connections_per_source = 3;
    config::port_config& p = cfg.ports[0];
    p.addresses.push_back(*config::ip_prefix::parse("2001:db8::2/64"));
    make();
    const auto a = [](uint8_t last, uint8_t sub) {
        std::array<uint8_t, 16> b{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, sub, 0, 0, 0, 0, 0, 0, 0, last};
        return net::address::from_octets(net::ip_family::ipv6, b.data());
    };
    const net::address box6 = a(2, 0);
    auto conn6 = [&](const net::address& from) {
        const int fd = io->connect(from, box6);
        settle(t0);
        return fd;
    };
    EXPECT_EQ(greeting_modes(conn6(a(1, 1))), control::mode_unauthenticated);
    EXPECT_EQ(greeting_modes(conn6(a(1, 1))), control::mode_unauthenticated);
    EXPECT_EQ(greeting_modes(conn6(a(1, 1))), 0U) << "third pending from one address";
    EXPECT_EQ(server->refusals().pending.load(), 1U);
    EXPECT_EQ(greeting_modes(conn6(a(9, 1))), control::mode_unauthenticated)
            << "a neighbour in the /64 still gets in";
    EXPECT_EQ(greeting_modes(conn6(a(9, 1))), control::mode_unauthenticated);
    EXPECT_EQ(greeting_modes(conn6(a(10, 1))), control::mode_unauthenticated);
    EXPECT_EQ(greeting_modes(conn6(a(10, 1))), control::mode_unauthenticated);
    EXPECT_EQ(greeting_modes(conn6(a(11, 1))), control::mode_unauthenticated);
    EXPECT_EQ(greeting_modes(conn6(a(11, 1))), control::mode_unauthenticated);
    EXPECT_EQ(server->pending(), 8U) << "4 x max-pending-per-source in the /64";
    EXPECT_EQ(greeting_modes(conn6(a(12, 1))), 0U) << "the /64 is at 4 x its pending cap";
    EXPECT_EQ(server->refusals().pending.load(), 2U);
    EXPECT_EQ(greeting_modes(conn6(a(7, 2))), control::mode_unauthenticated) << "another /64";
}

// The /64 cap of connections (4 x max-connections-per-source), past the greeting phase.
TEST_F(driver, ipv6_connections_per_64_are_capped_at_four_times_the_address_cap) {
    cfg.control.prefixes.push_back(*config::ip_prefix::parse("2001:db8::/32"));
    cfg.control.max_connections_per_source = 1;
    config::port_config& p = cfg.ports[0];
    p.addresses.push_back(*config::ip_prefix::parse("2001:db8::2/64"));
    make();
    const auto a = [](uint8_t last) {
        std::array<uint8_t, 16> b{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, last};
        return net::address::from_octets(net::ip_family::ipv6, b.data());
    };
    for (uint8_t h = 1; h <= 5; ++h) {
        const int fd = io->connect(a(h), a(2));
        settle(t0);
        EXPECT_EQ(greeting_modes(fd), h <= 4 ? control::mode_unauthenticated : 0U) << int{h};
        if (h <= 4) {
            io->take(fd);
            io->send_to_server(fd, setup_response_bytes(control::mode_unauthenticated));
            settle(t0);
        }
    }
    EXPECT_EQ(server->pending(), 0U);
    EXPECT_EQ(server->refusals().per_source.load(), 1U);
}

// Second review: admitted connections that never request a session held max-connections
// forever (SERVWAIT restarts with every command). Now control.idle-timeout closes them.
TEST_F(driver, idle_timeout_closes_connections_without_sessions) {
    cfg.control.idle_timeout = 60;
    make();
    const int a = ready_client(alice, t0);
    const int b = ready_client(bob, t0);
    const int c = ready_client(v4(198, 18, 0, 4), t0);
    // carol's requests are refused (a loop-guard port): no session, no extension.
    request_fields bad;
    bad.sender_port = 7;
    io->send_to_server(c, request_bytes(bad));
    settle(t0 + 30 * s);
    ASSERT_EQ(io->take(c).at(0), 3);
    // bob holds a session and runs a test.
    io->send_to_server(b, request_bytes({}));
    settle(t0 + 1 * s);
    ASSERT_EQ(io->take(b).at(0), 0);
    io->send_to_server(b, start_sessions_bytes());
    settle(t0 + 1 * s);
    io->take(b);
    settle(t0 + 60 * s - 1);
    EXPECT_FALSE(io->peers.at(a).closed);
    EXPECT_FALSE(io->peers.at(c).closed);
    settle(t0 + 60 * s);
    EXPECT_TRUE(io->peers.at(a).closed);
    EXPECT_TRUE(io->peers.at(c).closed) << "refused requests are no session";
    EXPECT_EQ(closed(close_reason::idle_timeout), 2U);
    EXPECT_EQ(closed(close_reason::servwait), 0U);
    tsc = 100 * s; // (REFWAIT is 900 s by default: not reached)
    settle(t0 + 100 * s);
    EXPECT_FALSE(io->peers.at(b).closed) << "sessions running";
    // Stop-Sessions: bob holds none now; 60 s later he is closed.
    io->send_to_server(b, stop_sessions_bytes());
    settle(t0 + 100 * s);
    settle(t0 + 160 * s - 1);
    EXPECT_FALSE(io->peers.at(b).closed);
    settle(t0 + 160 * s);
    EXPECT_TRUE(io->peers.at(b).closed);
    EXPECT_EQ(closed(close_reason::idle_timeout), 3U);
}

// ... and when max-connections are open, a newcomer evicts a connection without sessions; a
// connection holding sessions is never evicted. Changed with the third review (it was the one
// session-less the longest, at least evict_grace_ns): as at max-pending, a random one of the
// source holding the most session-less connections, whatever its age for a newcomer whose
// source holds fewer, at least evict_grace_ns session-less for one holding as many (a tie).
TEST_F(driver, max_connections_full_evicts_a_connection_without_sessions) {
    cfg.control.max_connections = 3;
    cfg.control.idle_timeout = 0; // only the eviction
    make();
    const int a = ready_client(alice, t0);
    const int b = ready_client(bob, t0);
    io->send_to_server(b, request_bytes({}));
    settle(t0);
    ASSERT_EQ(io->take(b).at(0), 0);
    const int c = ready_client(v4(198, 18, 0, 4), t0 + s / 2);
    EXPECT_EQ(greeting_modes(connect(alice, t0 + s / 2)), 0U)
            << "alice holds one session-less, as many as anyone: nobody idle for 1 s yet";
    EXPECT_EQ(server->refusals().max_connections.load(), 1U);
    const int a2 = connect(alice, t0 + s);
    EXPECT_EQ(greeting_modes(a2), control::mode_unauthenticated) << "a tie: a, idle 1 s";
    EXPECT_TRUE(io->peers.at(a).closed) << "the only one idle for 1 s";
    EXPECT_FALSE(io->peers.at(c).closed);
    EXPECT_EQ(closed(close_reason::evicted_idle), 1U);
    // dave holds none; counted with his own, 0 + 1 is as many as c's source: a tie, c (idle
    // only 0.5 s) stays and a2 (pending, young) too: refused. Changed with the fourth review
    // (it asserted that dave, holding none, was lighter and evicted c at 0.5 s).
    const net::address dave = v4(198, 18, 0, 5);
    EXPECT_EQ(greeting_modes(connect(dave, t0 + s)), 0U);
    EXPECT_FALSE(io->peers.at(c).closed);
    EXPECT_EQ(server->refusals().max_connections.load(), 2U);
    const int d = connect(dave, t0 + s * 3 / 2);
    EXPECT_EQ(greeting_modes(d), control::mode_unauthenticated) << "c idle for 1 s";
    EXPECT_TRUE(io->peers.at(c).closed);
    EXPECT_FALSE(io->peers.at(b).closed) << "holds a session";
    EXPECT_FALSE(io->peers.at(a2).closed) << "pending: not session-less";
    EXPECT_EQ(closed(close_reason::evicted_idle), 2U);
    EXPECT_EQ(server->connections_open(), 3U);
    // Only b (a session) and two pending ones (a2 0.5 s old, d new): dave's second and
    // another source's are ties at max-pending's rule (one pending each): refused until a2 is
    // 1 s old, then a2 goes, never d.
    EXPECT_EQ(greeting_modes(connect(dave, t0 + s * 3 / 2)), 0U);
    EXPECT_EQ(greeting_modes(connect(v4(198, 18, 0, 6), t0 + s * 3 / 2)), 0U);
    EXPECT_EQ(server->refusals().max_connections.load(), 4U);
    const int e = connect(v4(198, 18, 0, 6), t0 + 2 * s);
    EXPECT_EQ(greeting_modes(e), control::mode_unauthenticated);
    EXPECT_TRUE(io->peers.at(a2).closed);
    EXPECT_FALSE(io->peers.at(d).closed);
    EXPECT_EQ(closed(close_reason::evicted), 1U);
    EXPECT_FALSE(io->peers.at(b).closed);
}

// Issue 18 review: refused connections took max-connections slots until the end of the poll.
TEST_F(driver, refused_connections_take_no_slot) {
    cfg.control.max_connections = 1;
    cfg.control.prefixes = {*config::ip_prefix::parse("198.18.0.0/24")};
    make();
    const int evil = io->connect(v4(198, 19, 0, 1), box); // outside control.prefixes
    const int good = io->connect(alice, box);
    settle(t0); // both accepted in one round
    EXPECT_EQ(greeting_modes(evil), 0U);
    EXPECT_TRUE(io->peers.at(evil).closed);
    EXPECT_EQ(greeting_modes(good), control::mode_unauthenticated);
    EXPECT_FALSE(io->peers.at(good).closed);
    EXPECT_EQ(server->refusals().acl.load(), 1U);
    EXPECT_EQ(server->refusals().max_connections.load(), 0U);
    EXPECT_EQ(server->connections_open(), 1U);
}

TEST_F(driver, setup_timeout_closes_and_frees_the_slots) {
    cfg.control.setup_timeout = 10;
    cfg.control.max_pending = 1;
    make();
    const int a1 = connect(alice, t0);
    // A Set-Up-Response trickled a few octets at a time never completes.
    for (int i = 1; i < 10; ++i) {
        io->send_to_server(a1, std::vector<uint8_t>(3, 0));
        settle(t0 + static_cast<uint64_t>(i) * s);
        ASSERT_FALSE(io->peers.at(a1).closed) << i << " s";
    }
    settle(t0 + 10 * s);
    EXPECT_TRUE(io->peers.at(a1).closed);
    EXPECT_EQ(closed(close_reason::setup_timeout), 1U);
    EXPECT_EQ(closed(close_reason::servwait), 0U);
    EXPECT_EQ(server->pending(), 0U);
    EXPECT_EQ(server->connections_open(), 0U);
    const int a2 = connect(alice, t0 + 11 * s);
    EXPECT_EQ(greeting_modes(a2), control::mode_unauthenticated);
}

TEST_F(driver, servwait_counts_from_the_last_complete_command) {
    cfg.control.servwait = 30;
    make();
    const int a = ready_client(alice, t0);
    // A Request-TW-Session trickled a byte every 10 s: never complete within SERVWAIT.
    auto req = request_bytes({});
    for (int i = 1; i <= 3; ++i) {
        const uint8_t one = req.v[static_cast<std::size_t>(i - 1)];
        io->send_to_server(a, std::span<const uint8_t>(&one, 1));
        settle(t0 + static_cast<uint64_t>(i) * 10 * s - 1);
        if (i < 3) {
            ASSERT_FALSE(io->peers.at(a).closed);
        }
    }
    settle(t0 + 30 * s);
    EXPECT_TRUE(io->peers.at(a).closed);
    EXPECT_EQ(closed(close_reason::servwait), 1U);
}

// Many refused requests (IPv6 from an IPv4 client: Accept-Session, 48 octets each).
std::vector<uint8_t> requests(std::size_t n) {
    request_fields f;
    f.ipvn = 6;
    auto one = request_bytes(f).v;
    std::vector<uint8_t> v;
    for (std::size_t i = 0; i < n; ++i) {
        v.insert(v.end(), one.begin(), one.end());
    }
    return v;
}

TEST_F(driver, a_client_that_does_not_read_is_not_polled_for_input) {
    make();
    const int a = ready_client(alice, t0);
    io->set_window(a, 0); // alice stops reading
    // 4000 requests: 448,000 octets in, 192,000 out if all were answered.
    io->send_to_server(a, requests(4000));
    settle(t0);
    const auto& p = io->peers.at(a);
    EXPECT_FALSE(p.read) << "not polled for input while its output is backed up";
    EXPECT_TRUE(p.write);
    EXPECT_EQ(server->backed_up(), 1U);
    EXPECT_FALSE(p.to_server.empty()) << "its input stays in the kernel";
    const uint64_t attempts = server->counters().session_attempts.load();
    EXPECT_LT(attempts, 4000U);
    EXPECT_GE(attempts, 64U * 1024 / 48) << "read until 64 KiB were queued";
    // Nothing to do now: polls make no work and no syscalls on it.
    const uint64_t busy = server->busy_polls(), recvs = io->recv_calls, sends = io->send_calls;
    for (int i = 0; i < 1000; ++i) {
        EXPECT_FALSE(server->poll(t0 + 1 * s));
    }
    EXPECT_EQ(server->busy_polls(), busy);
    EXPECT_EQ(io->recv_calls, recvs);
    EXPECT_EQ(io->send_calls, sends);
    // It reads again: the queue drains, input is polled again, every request is answered.
    io->set_window(a, 1'000'000'000);
    std::size_t answered = 0;
    for (int i = 0; i < 100 && answered < 4000 * control::accept_session_size; ++i) {
        settle(t0 + 2 * s);
        answered += io->take(a).size();
    }
    EXPECT_EQ(answered, 4000 * control::accept_session_size);
    EXPECT_EQ(server->counters().session_attempts.load(), 4000U);
    EXPECT_TRUE(io->peers.at(a).read);
    EXPECT_FALSE(io->peers.at(a).write);
    EXPECT_EQ(server->backed_up(), 0U);
    EXPECT_FALSE(io->peers.at(a).closed);
}

TEST_F(driver, output_that_cannot_drain_for_servwait_closes_even_during_a_test) {
    cfg.control.servwait = 60;
    cfg.control.modes = control::mode_unauthenticated | control::mode_individual_session_control;
    make();
    const int a = connect(alice, t0);
    io->take(a);
    io->send_to_server(a, setup_response_bytes(control::mode_unauthenticated |
                                               control::mode_individual_session_control));
    settle(t0);
    io->take(a);
    io->send_to_server(a, request_bytes({}));
    settle(t0);
    auto acc = io->take(a);
    ASSERT_EQ(acc.size(), control::accept_session_size);
    ASSERT_EQ(acc[0], 0) << "Accept-Session Accept";
    control::sid_t sid{};
    std::copy_n(acc.begin() + 4, 16, sid.begin());
    EXPECT_EQ(server->sessions(), 1U);
    // Start-N-Sessions: running, SERVWAIT suspended.
    io->send_to_server(a, n_bytes(7, 0, {sid}));
    settle(t0);
    io->take(a);
    // Now alice stops reading and sends Start-N-Sessions over and over (each answered with an
    // ack of the same size).
    io->set_window(a, 0);
    auto start_n = n_bytes(7, 0, {sid}).v;
    for (int i = 0; i < 3000; ++i) {
        io->send_to_server(a, start_n);
    }
    settle(t0 + 1 * s);
    EXPECT_EQ(server->backed_up(), 1U);
    settle(t0 + 60 * s);
    EXPECT_FALSE(io->peers.at(a).closed) << "stalled for 59 s";
    settle(t0 + 61 * s);
    EXPECT_TRUE(io->peers.at(a).closed);
    EXPECT_EQ(closed(close_reason::send_stalled), 1U);
    EXPECT_EQ(server->sessions(), 0U) << "its session ended with it";
    EXPECT_EQ(server->connections_open(), 0U);
    EXPECT_EQ(last_table_size, 0U);
}

TEST_F(driver, a_reset_connection_is_closed_and_its_sessions_end) {
    make();
    const int a = ready_client(alice, t0);
    io->send_to_server(a, request_bytes({}));
    settle(t0);
    EXPECT_EQ(server->sessions(), 1U);
    io->client_reset(a);
    settle(t0);
    EXPECT_TRUE(io->peers.at(a).closed);
    EXPECT_EQ(server->sessions(), 0U);
    EXPECT_EQ(closed(close_reason::io_error), 1U);
}

TEST_F(driver, reload_changes_the_limits_for_new_connections) {
    cfg.control.max_connections_per_source = 1;
    make();
    connect(alice);
    EXPECT_EQ(greeting_modes(connect(alice)), 0U);
    cfg.control.max_connections_per_source = 2;
    server->reconfigure(cfg);
    EXPECT_EQ(greeting_modes(connect(alice)), control::mode_unauthenticated);
    EXPECT_EQ(server->refusals().per_source.load(), 1U);
}

// Issue 18 review: one connection took every receiver port (10 of 10) within every cap.
TEST_F(driver, one_connection_cannot_take_every_port) {
    cfg.control.receiver_ports = {64364, 64373}; // 10 ports
    cfg.control.max_sessions_per_connection = 4;
    make();
    const int a = ready_client(alice, t0);
    std::vector<uint8_t> codes;
    for (int i = 0; i < 6; ++i) {
        io->send_to_server(a, request_bytes({}));
        settle(t0);
        auto acc = io->take(a);
        ASSERT_EQ(acc.size(), control::accept_session_size);
        codes.push_back(acc[0]);
    }
    EXPECT_EQ(codes, (std::vector<uint8_t>{0, 0, 0, 0, 5, 5})) << "Accept 5 past 4";
    EXPECT_EQ(server->sessions(), 4U);
    const int b = ready_client(bob, t0);
    io->send_to_server(b, request_bytes({}));
    settle(t0);
    auto acc = io->take(b);
    ASSERT_EQ(acc.size(), control::accept_session_size);
    EXPECT_EQ(acc[0], 0) << "bob still gets a port";
}

TEST_F(driver, sessions_not_started_within_servwait_are_released) {
    cfg.control.receiver_ports = {64364, 64365}; // 2 ports
    cfg.control.setup_timeout = 10;
    cfg.control.servwait = 30;
    make();
    const int a = ready_client(alice, t0);
    for (int i = 0; i < 2; ++i) {
        io->send_to_server(a, request_bytes({}));
        settle(t0);
        ASSERT_EQ(io->take(a).at(0), 0);
    }
    EXPECT_EQ(server->sessions(), 2U);
    const int b = ready_client(bob, t0 + 1 * s);
    io->send_to_server(b, request_bytes({}));
    settle(t0 + 1 * s);
    EXPECT_EQ(io->take(b).at(0), 5) << "no free port";
    // Not released at setup-timeout (an RFC 5938 client may start them later) ...
    settle(t0 + 11 * s);
    EXPECT_EQ(server->sessions(), 2U);
    // ... and Alice's commands keep her connection alive but do not extend her sessions.
    io->send_to_server(a, request_bytes({}));
    settle(t0 + 20 * s);
    EXPECT_EQ(io->take(a).at(0), 5) << "her third request: no free port";
    settle(t0 + 30 * s - 1);
    EXPECT_EQ(server->sessions(), 2U);
    settle(t0 + 30 * s);
    EXPECT_EQ(server->sessions(), 0U);
    EXPECT_EQ(last_table_size, 0U);
    EXPECT_EQ(server->counters().session_unstarted_expired.load(), 2U);
    EXPECT_FALSE(io->peers.at(a).closed) << "the connection stays (SERVWAIT decides)";
    io->send_to_server(b, request_bytes({}));
    settle(t0 + 30 * s);
    EXPECT_EQ(io->take(b).at(0), 0) << "bob gets a port now";
    // Started sessions are never released by it.
    io->send_to_server(b, start_sessions_bytes());
    settle(t0 + 31 * s);
    io->take(b);
    settle(t0 + 200 * s);
    EXPECT_EQ(server->sessions(), 1U);
    EXPECT_EQ(server->counters().session_unstarted_expired.load(), 2U);
}

// Issue 18 review: accept() failing with EMFILE left the listener readable (level-triggered):
// the slow path spun. Now the listener is not polled for 100 ms, counted.
TEST_F(driver, out_of_file_descriptors_pauses_the_listener) {
    make();
    io->accept_failures = 1'000'000; // until the test says otherwise
    const int a = io->connect(alice, box);
    EXPECT_TRUE(server->poll(t0));
    EXPECT_EQ(server->refusals().fd_exhausted.load(), 1U);
    EXPECT_FALSE(io->listener_polled);
    const uint64_t calls = io->accept_calls;
    for (int i = 0; i < 1000; ++i) {
        EXPECT_FALSE(server->poll(t0 + 99'999'999ULL)) << "no spinning while paused";
    }
    EXPECT_EQ(io->accept_calls, calls);
    io->accept_failures = 0; // descriptors were freed
    settle(t0 + 100'000'000ULL);
    EXPECT_TRUE(io->listener_polled);
    EXPECT_EQ(greeting_modes(a), control::mode_unauthenticated) << "accepted after the pause";
    EXPECT_EQ(server->refusals().fd_exhausted.load(), 1U);
}

// Second review: the RLIMIT_NOFILE check counted no descriptor already open and ran once, at
// start. It now counts /proc/self/fd (the reload that raises max-connections runs it again).
TEST(fd_limit, counts_open_descriptors_and_refuses_what_the_hard_limit_cannot_hold) {
    const std::size_t before = slowpath::open_fds();
    ASSERT_GT(before, 2U) << "stdin, stdout, stderr at least";
    int fds[5];
    for (int& fd : fds) {
        fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        ASSERT_GE(fd, 0);
    }
    EXPECT_EQ(slowpath::open_fds(), before + 5);
    for (int fd : fds) {
        ::close(fd);
    }
    EXPECT_EQ(slowpath::open_fds(), before);
    rlimit saved{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
    std::string error;
    EXPECT_TRUE(slowpath::ensure_fd_limit(1, 0, error)) << error;
    if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 1'000'000) {
        // max-connections the hard limit holds only without the descriptors open now.
        const auto max = static_cast<uint32_t>(saved.rlim_max - 64 - 256);
        error.clear();
        EXPECT_TRUE(slowpath::ensure_fd_limit(max, 0, error)) << "before: " << error;
        rlimit now{};
        getrlimit(RLIMIT_NOFILE, &now);
        EXPECT_EQ(now.rlim_cur, saved.rlim_max) << "soft limit raised to the hard one";
        // Hold 300 descriptors: the process' own now need more than 256 + 64 headroom.
        std::vector<int> held;
        for (int i = 0; i < 300; ++i) {
            held.push_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        }
        error.clear();
        EXPECT_FALSE(slowpath::ensure_fd_limit(max, 0, error));
        EXPECT_NE(error.find("control.max-connections"), std::string::npos) << error;
        error.clear();
        EXPECT_TRUE(slowpath::ensure_fd_limit(max, 300 + before, error))
                << "they are control connections: " << error;
        for (int fd : held) {
            ::close(fd);
        }
        setrlimit(RLIMIT_NOFILE, &saved);
    }
}

// control_env::max_out and ::activity (the fuzz harness's): with 2 KiB, 100 requests to a
// client that does not read (4,800 octets of answers) back it up after about 43 answers (at
// the default 64 KiB they would not); a port_activity given is the one the server hands out.
TEST_F(driver, env_max_out_and_activity) {
    auto act = std::make_unique<dataplane::port_activity>();
    defaults.max_out = 2048;
    defaults.activity = act.get();
    make();
    EXPECT_EQ(server->activity(), act.get());
    const int a = ready_client(alice, t0);
    io->set_window(a, 0);
    io->send_to_server(a, requests(100));
    settle(t0);
    EXPECT_EQ(server->backed_up(), 1U);
    EXPECT_FALSE(io->peers.at(a).read);
    const uint64_t attempts = server->counters().session_attempts.load();
    EXPECT_GE(attempts, 2048U / control::accept_session_size);
    EXPECT_LT(attempts, 100U);
    io->set_window(a, 1'000'000'000);
    std::size_t answered = 0;
    for (int i = 0; i < 100 && answered < 100 * control::accept_session_size; ++i) {
        settle(t0 + 1 * s);
        answered += io->take(a).size();
    }
    EXPECT_EQ(answered, 100 * control::accept_session_size);
    EXPECT_EQ(server->backed_up(), 0U);
}

} // namespace

// Issue 18 third review, item 1: 8 addresses each hold 2 pending connections (max-pending 16
// full) and close and reopen each at 0.9 s, before evict_grace_ns. Every newcomer was refused
// pending_full (bob 0 of 100): now a newcomer from a source holding fewer than the heaviest
// evicts one of the heaviest's whatever its age.
TEST_F(driver, a_recycling_flood_cannot_lock_newcomers_out_of_max_pending) {
    make();
    std::vector<std::pair<int, uint64_t>> flood; // fd, opened
    uint64_t now = t0;
    for (uint8_t h = 0; h < 8; ++h) {
        for (int k = 0; k < 2; ++k) {
            flood.push_back({connect(v4(198, 18, 1, h), now), now});
        }
    }
    int admitted = 0, tries = 0;
    const uint64_t step = 10'000'000ULL; // 10 ms
    for (int i = 0; i < 1000; ++i) {     // 10 s
        now += step;
        for (std::size_t j = 0; j < flood.size(); ++j) {
            if (now - flood[j].second >= 900'000'000ULL) {
                io->client_close(flood[j].first);
                settle(now);
                flood[j] = {connect(v4(198, 18, 1, static_cast<uint8_t>(j / 2)), now), now};
            }
        }
        if (i % 10 == 5) { // bob retries every 100 ms
            ++tries;
            const int b = connect(bob, now);
            if (greeting_modes(b) != 0U) {
                ++admitted;
                io->client_close(b);
                settle(now);
            }
        }
    }
    EXPECT_EQ(admitted, tries) << "pending_full " << server->refusals().pending_full.load();
    EXPECT_EQ(tries, 100);
}

// The same from two IPv6 /64s, each holding 8 pending (4 addresses at 2: the /64's cap): the
// victims are picked per /64, so bob (one address, none pending) is lighter than either.
TEST_F(driver, a_recycling_flood_from_two_64s_cannot_lock_newcomers_out) {
    cfg.control.prefixes.push_back(*config::ip_prefix::parse("2001:db8::/32"));
    make();
    auto conn6 = [&](const net::address& from, uint64_t now) {
        const int fd = io->connect(from, box);
        settle(now);
        return fd;
    };
    std::vector<std::pair<int, uint64_t>> flood;
    uint64_t now = t0;
    for (std::size_t j = 0; j < 16; ++j) {
        const int fd =
                conn6(a6(static_cast<uint8_t>(j / 8), static_cast<uint8_t>(10 + j % 8 / 2)), now);
        ASSERT_EQ(greeting_modes(fd), control::mode_unauthenticated) << j;
        flood.push_back({fd, now});
    }
    EXPECT_EQ(server->pending(), 16U);
    int admitted = 0, tries = 0;
    for (int i = 0; i < 500; ++i) {
        now += 10'000'000ULL;
        for (std::size_t j = 0; j < flood.size(); ++j) {
            if (now - flood[j].second >= 900'000'000ULL) {
                io->client_close(flood[j].first);
                settle(now);
                flood[j] = {
                        conn6(a6(static_cast<uint8_t>(j / 8), static_cast<uint8_t>(10 + j % 8 / 2)),
                              now),
                        now};
            }
        }
        if (i % 10 == 5) {
            ++tries;
            const int b = connect(bob, now);
            if (greeting_modes(b) != 0U) {
                ++admitted;
                io->client_close(b);
                settle(now);
            }
        }
    }
    EXPECT_EQ(admitted, tries) << "pending_full " << server->refusals().pending_full.load();
}

// Item 1 at max-connections (64): 8 addresses x 8 set-up, session-less connections, each
// recycled at 0.9 s. bob holds none: he is lighter, and is admitted every time.
TEST_F(driver, a_recycling_flood_cannot_lock_newcomers_out_of_max_connections) {
    make();
    std::vector<std::pair<int, uint64_t>> flood;
    uint64_t now = t0;
    for (uint8_t h = 0; h < 8; ++h) {
        for (int k = 0; k < 8; ++k) {
            flood.push_back({ready_client(v4(198, 18, 1, h), now), now});
            now += 1'000'000ULL;
        }
    }
    int admitted = 0, tries = 0;
    for (int i = 0; i < 1000; ++i) {
        now += 10'000'000ULL;
        for (std::size_t j = 0; j < flood.size(); ++j) {
            if (now - flood[j].second >= 900'000'000ULL) {
                io->client_close(flood[j].first);
                settle(now);
                flood[j] = {ready_client(v4(198, 18, 1, static_cast<uint8_t>(j / 8)), now), now};
            }
        }
        if (i % 10 == 5) {
            ++tries;
            const int b = connect(bob, now);
            if (greeting_modes(b) != 0U) {
                ++admitted;
                io->client_close(b);
                settle(now);
            }
        }
    }
    EXPECT_EQ(admitted, tries) << "max_connections refusals "
                               << server->refusals().max_connections.load();
    EXPECT_GT(closed(close_reason::evicted_idle), 0U);
}

// Item 3: bob's single pending connection (a slow KDF, a long RTT: older than 1 s) is not the
// victim while heavier addresses hold only young ones: the heaviest source gives one up.
TEST_F(driver, a_light_old_client_is_not_evicted_before_a_heavy_young_flood) {
    make();
    uint64_t now = t0;
    const int b = connect(bob, now);
    now += 1'100'000'000ULL;
    std::vector<int> flood;
    for (uint8_t h = 0; h < 7; ++h) {
        flood.push_back(connect(v4(198, 18, 1, h), now));
        flood.push_back(connect(v4(198, 18, 1, h), now));
    }
    flood.push_back(connect(v4(198, 18, 1, 7), now)); // 15 + bob = 16
    const int n = connect(v4(198, 18, 1, 8), now);
    EXPECT_EQ(greeting_modes(n), control::mode_unauthenticated);
    EXPECT_FALSE(io->peers.at(b).closed) << "bob (1 pending) evicted, flooders hold 2 each";
    EXPECT_EQ(std::count_if(flood.begin(), flood.end(),
                            [&](int fd) { return io->peers.at(fd).closed; }),
              1);
    // A newcomer from an address holding one (as many as bob): counted with it, two, a tie
    // with the heaviest (all young): refused, and never bob's instead. Changed with the fourth
    // review (it asserted that one was lighter and evicted a young heavy one's).
    EXPECT_EQ(greeting_modes(connect(v4(198, 18, 1, 7), now)), 0U);
    EXPECT_EQ(server->refusals().pending_full.load(), 1U);
    EXPECT_FALSE(io->peers.at(b).closed);
    EXPECT_EQ(closed(close_reason::evicted), 1U);
}

// ... and a newcomer whose source is as heavy as the heaviest (a tie) takes only a connection
// of the heaviest sources past the grace time: with all theirs young it is refused, and a
// lighter source's old connection (bob's) is not taken instead.
TEST_F(driver, a_tie_takes_only_old_connections_of_the_heaviest_sources) {
    cfg.control.max_pending = 5;
    cfg.control.max_pending_per_source = 3;
    make();
    const int b = connect(bob, t0); // old by then
    const uint64_t now = t0 + 2 * s;
    const net::address x = v4(198, 18, 1, 1), y = v4(198, 18, 1, 2);
    std::vector<int> heavy = {connect(x, now), connect(x, now), connect(y, now), connect(y, now)};
    EXPECT_EQ(server->pending(), 5U);
    EXPECT_EQ(greeting_modes(connect(y, now)), 0U) << "a tie, the heaviest's all young";
    EXPECT_EQ(server->refusals().pending_full.load(), 1U);
    EXPECT_FALSE(io->peers.at(b).closed) << "bob's (old, lighter) taken instead";
    EXPECT_EQ(greeting_modes(connect(y, now + control_server::evict_grace_ns)),
              control::mode_unauthenticated);
    EXPECT_FALSE(io->peers.at(b).closed);
    EXPECT_EQ(std::count_if(heavy.begin(), heavy.end(),
                            [&](int fd) { return io->peers.at(fd).closed; }),
              1);
    EXPECT_EQ(closed(close_reason::evicted), 1U);
}

// Item 2: one unauthenticated client took every receiver port (default 10) over one or more
// connections; others got Accept 5. control.max-sessions-per-source (default 4) caps what one
// address holds; another address still gets Accept 0.
TEST_F(driver, one_source_cannot_take_every_receiver_port) {
    make();
    ASSERT_EQ(cfg.control.max_sessions_per_source, 4U) << "the default";
    const int a1 = ready_client(v4(198, 18, 1, 1), t0);
    const int a2 = ready_client(v4(198, 18, 1, 1), t0);
    // (Each request at its own time: the test's random source repeats itself on every
    // connection, so two connections' SIDs differ by their timestamps only.)
    uint64_t now = t0;
    std::vector<uint8_t> codes;
    for (int i = 0; i < 6; ++i) {
        const int a = i % 2 == 0 ? a1 : a2;
        io->send_to_server(a, request_bytes({}));
        settle(now += 1000);
        auto acc = io->take(a);
        ASSERT_EQ(acc.size(), control::accept_session_size);
        codes.push_back(acc[0]);
    }
    EXPECT_EQ(codes, (std::vector<uint8_t>{0, 0, 0, 0, 5, 5})) << "over both connections";
    EXPECT_EQ(server->sessions(), 4U);
    EXPECT_EQ(server->refusals().sessions_per_source.load(), 2U);
    EXPECT_EQ(server->counters().session_refused[5].load(), 2U);
    now = t0 + s;
    const int b = ready_client(bob, now);
    io->send_to_server(b, request_bytes({}));
    settle(now += 1000);
    EXPECT_EQ(io->take(b).at(0), 0) << "bob's Accept-Session";
    // a1 closes: its two sessions end, the address may hold two more.
    io->client_close(a1);
    settle(now += 1000);
    for (int i = 0; i < 3; ++i) {
        io->send_to_server(a2, request_bytes({}));
        settle(now += 1000);
        EXPECT_EQ(io->take(a2).at(0), i < 2 ? 0 : 5) << i;
    }
    EXPECT_EQ(server->refusals().sessions_per_source.load(), 3U);
    // A reload lowers it: new requests only (held sessions stay).
    cfg.control.max_sessions_per_source = 1;
    server->reconfigure(cfg);
    io->send_to_server(b, request_bytes({}));
    settle(now += 1000);
    EXPECT_EQ(io->take(b).at(0), 5) << "bob holds one already";
    EXPECT_EQ(server->sessions(), 5U);
}

// ... and an IPv6 /64 holds at most 4 times it (the connections' factor), one address its own.
TEST_F(driver, sessions_per_64_are_capped_at_four_times_the_address_cap) {
    cfg.control.prefixes.push_back(*config::ip_prefix::parse("2001:db8::/32"));
    cfg.control.max_sessions_per_source = 1;
    cfg.control.receiver_ports = {64364, 64383}; // 20 ports
    config::port_config& p = cfg.ports[0];
    p.addresses.push_back(*config::ip_prefix::parse("2001:db8::2/64"));
    make();
    uint64_t now = t0; // (distinct SIDs: see one_source_cannot_take_every_receiver_port)
    control::test::request_fields f;
    f.ipvn = 6;
    auto session6 = [&](const net::address& from) {
        const int fd = io->connect(from, a6(0, 2));
        settle(now += 1000);
        io->take(fd);
        io->send_to_server(fd, setup_response_bytes(control::mode_unauthenticated));
        settle(now += 1000);
        io->take(fd);
        io->send_to_server(fd, request_bytes(f));
        settle(now += 1000);
        auto first = io->take(fd).at(0);
        io->send_to_server(fd, request_bytes(f));
        settle(now += 1000);
        return std::pair{first, io->take(fd).at(0)};
    };
    for (uint8_t h = 1; h <= 4; ++h) {
        EXPECT_EQ(session6(a6(1, h)), (std::pair<uint8_t, uint8_t>{0, 5})) << int{h};
    }
    EXPECT_EQ(session6(a6(1, 9)).first, 5) << "the /64 holds 4";
    EXPECT_EQ(session6(a6(2, 1)).first, 0) << "another /64";
    EXPECT_EQ(server->sessions(), 5U);
}

// Fourth review: max-pending (16) full at ONE pending connection per source (15 attacker
// addresses and /64s, and bob): each newcomer from a fresh source counted as lighter (0 < 1)
// and evicted a random pending connection at age 0, so bob was gone within milliseconds on
// every retry. Counted with its own group (0 + 1), a newcomer ties: nobody younger than
// evict_grace_ns goes, and bob completes his Set-Up-Response sent 0.5 s after his greeting.
TEST_F(driver, one_pending_per_source_everywhere_keeps_a_healthy_clients_grace) {
    cfg.control.prefixes.push_back(*config::ip_prefix::parse("2001:db8::/32"));
    config::port_config& p = cfg.ports[0];
    p.addresses.push_back(*config::ip_prefix::parse("2001:db8::2/64"));
    make();
    ASSERT_EQ(cfg.control.max_pending, 16U) << "the default";
    const auto a6 = [](uint16_t sub, uint8_t last) {
        std::array<uint8_t, 16> b{0x20,
                                  0x01,
                                  0x0d,
                                  0xb8,
                                  0,
                                  0,
                                  static_cast<uint8_t>(sub >> 8),
                                  static_cast<uint8_t>(sub),
                                  0,
                                  0,
                                  0,
                                  0,
                                  0,
                                  0,
                                  0,
                                  last};
        return net::address::from_octets(net::ip_family::ipv6, b.data());
    };
    const net::address box6 = a6(0, 2);
    auto conn6 = [&](const net::address& from, uint64_t now) {
        const int fd = io->connect(from, box6);
        settle(now);
        return fd;
    };
    std::vector<int> held;
    for (uint8_t h = 0; h < 15; ++h) { // 8 IPv4 addresses, 7 /64s: one pending each
        held.push_back(h < 8 ? connect(v4(198, 18, 1, h), t0) : conn6(a6(h, 1), t0));
        EXPECT_EQ(greeting_modes(held.back()), control::mode_unauthenticated) << int{h};
    }
    const int b = connect(bob, t0);
    ASSERT_EQ(greeting_modes(b), control::mode_unauthenticated);
    io->take(b);
    EXPECT_EQ(server->pending(), 16U);
    // Fresh sources (an IPv4 address, a /64) at 2000 a second until bob's Set-Up-Response.
    const uint64_t step = 500'000ULL;
    uint64_t tries = 0;
    for (uint64_t now = t0 + step, i = 0; now < t0 + s / 2; now += step, ++i, ++tries) {
        const int n = i % 2 == 0 ? connect(v4(198, 19, static_cast<uint8_t>(i >> 8),
                                              static_cast<uint8_t>(i)),
                                           now)
                                 : conn6(a6(static_cast<uint16_t>(0x100 + i), 1), now);
        EXPECT_EQ(greeting_modes(n), 0U) << "a tie, all younger than the grace: " << i;
        ASSERT_FALSE(io->peers.at(b).closed) << "bob evicted at " << (now - t0) / 1000 << " us";
    }
    EXPECT_EQ(server->refusals().pending_full.load(), tries);
    EXPECT_EQ(closed(close_reason::evicted), 0U);
    EXPECT_EQ(std::count_if(held.begin(), held.end(),
                            [&](int fd) { return io->peers.at(fd).closed; }),
              0);
    io->send_to_server(b, setup_response_bytes(control::mode_unauthenticated));
    settle(t0 + s / 2);
    auto ss = io->take(b);
    ASSERT_EQ(ss.size(), control::server_start_size);
    EXPECT_EQ(ss[15], 0) << "Server-Start Accept";
    EXPECT_EQ(server->pending(), 15U);
    // Past the grace the tie takes old ones again: a fresh source gets in.
    EXPECT_EQ(greeting_modes(connect(v4(198, 19, 255, 1), t0 + s)), control::mode_unauthenticated);
    EXPECT_EQ(greeting_modes(connect(v4(198, 19, 255, 2), t0 + s)), control::mode_unauthenticated);
    EXPECT_EQ(closed(close_reason::evicted), 1U);
    EXPECT_FALSE(io->peers.at(b).closed);
}

// Fourth review: the /64 cap (4 x max-sessions-per-source: 16) was over the 10 default
// receiver ports, so one host using several addresses of its /64 took every port. Now at most
// half the sessions the pool can hold (never below the per-address cap): 5 of 10.
TEST_F(driver, one_host_with_many_addresses_in_its_64_takes_at_most_half_the_ports) {
    cfg.control.prefixes.push_back(*config::ip_prefix::parse("2001:db8::/32"));
    cfg.control.receiver_ports = {64364, 64373}; // 10 ports
    config::port_config& p = cfg.ports[0];
    p.addresses.push_back(*config::ip_prefix::parse("2001:db8::2/64"));
    make();
    ASSERT_EQ(cfg.control.max_sessions_per_source, 4U) << "the default";
    uint64_t now = t0; // (distinct SIDs: see one_source_cannot_take_every_receiver_port)
    control::test::request_fields f;
    f.ipvn = 6;
    auto ready6 = [&](const net::address& from) {
        const int fd = io->connect(from, a6(0, 2));
        settle(now += 1000);
        EXPECT_EQ(greeting_modes(fd), control::mode_unauthenticated);
        io->take(fd);
        io->send_to_server(fd, setup_response_bytes(control::mode_unauthenticated));
        settle(now += 1000);
        io->take(fd);
        return fd;
    };
    std::vector<uint8_t> codes;
    for (uint8_t h = 1; h <= 3; ++h) { // one host, three addresses of 2001:db8:0:1::/64
        const int fd = ready6(a6(1, h));
        for (int i = 0; i < 4; ++i) {
            io->send_to_server(fd, request_bytes(f));
            settle(now += 1000);
            auto acc = io->take(fd);
            ASSERT_EQ(acc.size(), control::accept_session_size);
            codes.push_back(acc[0]);
        }
    }
    EXPECT_EQ(codes, (std::vector<uint8_t>{0, 0, 0, 0, 0, 5, 5, 5, 5, 5, 5, 5}))
            << "4 for the first address, 1 more for the /64";
    EXPECT_EQ(server->sessions(), 5U);
    EXPECT_EQ(server->refusals().sessions_per_source.load(), 7U);
    // Another source (another /64, an IPv4 address) still gets Accept 0.
    const int o = ready6(a6(2, 1));
    io->send_to_server(o, request_bytes(f));
    settle(now += 1000);
    EXPECT_EQ(io->take(o).at(0), 0) << "another /64's Accept-Session";
    const int b = ready_client(bob, now);
    io->send_to_server(b, request_bytes({}));
    settle(now += 1000);
    EXPECT_EQ(io->take(b).at(0), 0) << "bob's Accept-Session";
    EXPECT_EQ(server->sessions(), 7U);
}

// The cost of the fourth review's tie at one per source, as README.md and conf/twamp.conf
// state it: max-pending (16) distinct sources each holding ONE pending connection, each
// recycled faster than evict_grace_ns, keep a newcomer from a fresh source waiting
// (pending_full: 0 + 1 is as many as theirs, all young); recycled slower than that, the
// newcomer gets in.
TEST_F(driver, max_pending_sources_at_one_each_recycling_keep_a_newcomer_waiting) {
    make();
    for (const uint64_t period : {900'000'000ULL, 1'100'000'000ULL}) {
        std::vector<std::pair<int, uint64_t>> flood;
        uint64_t now = t0 + (period == 900'000'000ULL ? 0 : 100 * s);
        for (uint8_t h = 0; h < 16; ++h) {
            flood.push_back({connect(v4(198, 18, period == 900'000'000ULL ? 1 : 2, h), now), now});
            ASSERT_EQ(greeting_modes(flood.back().first), control::mode_unauthenticated) << int{h};
        }
        EXPECT_EQ(server->pending(), 16U);
        int admitted = 0, tries = 0;
        for (int i = 0; i < 500; ++i) { // 5 s
            now += 10'000'000ULL;
            for (std::size_t j = 0; j < flood.size(); ++j) {
                if (!io->peers.at(flood[j].first).closed && now - flood[j].second >= period) {
                    io->client_close(flood[j].first);
                    settle(now);
                }
                if (io->peers.at(flood[j].first).closed) {
                    const uint8_t c = period == 900'000'000ULL ? 1 : 2;
                    flood[j] = {connect(v4(198, 18, c, static_cast<uint8_t>(j)), now), now};
                }
            }
            if (i % 10 == 5) {
                ++tries;
                const int b = connect(bob, now);
                if (greeting_modes(b) != 0U) {
                    ++admitted;
                    io->client_close(b);
                    settle(now);
                }
            }
        }
        if (period == 900'000'000ULL) {
            EXPECT_EQ(admitted, 0) << "kept waiting: a tie, all younger than 1 s";
            EXPECT_EQ(server->refusals().pending_full.load(), static_cast<uint64_t>(tries));
        } else {
            EXPECT_GT(admitted, 0) << "past 1 s the tie takes one";
        }
        for (auto& [fd, opened] : flood) {
            if (!io->peers.at(fd).closed) {
                io->client_close(fd);
            }
        }
        settle(now);
        EXPECT_EQ(server->pending(), 0U);
    }
}

// Issue 19: the events an operator reads, with level, peer (address:port) and why.
TEST_F(driver, events_accept_refuse_close) {
    cfg.control.max_connections_per_source = 1;
    cfg.control.prefixes = {*config::ip_prefix::parse("198.18.0.0/24")};
    make();
    const int a1 = connect(alice);
    const int a2 = connect(alice);
    const int out = connect(v4(198, 19, 0, 1)); // outside control.prefixes
    EXPECT_EQ(greeting_modes(a2), 0U);
    EXPECT_EQ(greeting_modes(out), 0U);
    const auto acc = of("control.accepted");
    ASSERT_EQ(acc.size(), 1U);
    EXPECT_EQ(acc[0].lvl, log::level::info);
    EXPECT_EQ(acc[0].peer, "198.18.0.1:" + std::to_string(40000 + a1));
    const auto ref = of("control.refused");
    ASSERT_EQ(ref.size(), 2U);
    EXPECT_EQ(ref[0].lvl, log::level::warning);
    EXPECT_EQ(ref[0].peer, "198.18.0.1:" + std::to_string(40000 + a2));
    EXPECT_EQ(ref[0].get("accept"), "5");
    EXPECT_EQ(ref[0].get("reason"), "max_connections_per_source");
    EXPECT_EQ(ref[1].peer, "198.19.0.1:" + std::to_string(40000 + out));
    EXPECT_EQ(ref[1].get("accept"), "1");
    EXPECT_EQ(ref[1].get("reason"), "acl");
    EXPECT_TRUE(of("control.closed").empty()) << "a refusal is said once, as a refusal";
    io->client_close(a1);
    settle(t0);
    const auto cl = of("control.closed");
    ASSERT_EQ(cl.size(), 1U);
    EXPECT_EQ(cl[0].peer, "198.18.0.1:" + std::to_string(40000 + a1));
    EXPECT_EQ(cl[0].get("reason"), "peer_closed");
    EXPECT_EQ(cl[0].get("sessions"), "0");
    EXPECT_EQ(cl[0].lvl, log::level::info);
}

TEST_F(driver, events_server_start_refusal_has_its_accept_code) {
    make();
    const int a = connect(alice);
    io->take(a);
    io->send_to_server(a, setup_response_bytes(control::mode_authenticated)); // not offered
    settle(t0);
    const auto ref = of("control.refused");
    ASSERT_EQ(ref.size(), 1U);
    EXPECT_EQ(ref[0].get("accept"), "3");
    EXPECT_EQ(ref[0].get("reason"), "mode_not_offered");
    EXPECT_TRUE(of("control.closed").empty());
}

TEST_F(driver, events_sessions_started_stopped_timed_out) {
    cfg.control.refwait = 10;
    make();
    const int b = ready_client(bob, t0);
    io->send_to_server(b, request_bytes({}));
    settle(t0);
    ASSERT_EQ(io->take(b).at(0), 0);
    io->send_to_server(b, start_sessions_bytes());
    settle(t0);
    io->take(b);
    const auto st = of("session.started");
    ASSERT_EQ(st.size(), 1U);
    EXPECT_EQ(st[0].peer, "198.18.0.3:50000"); // the test packets' sender
    EXPECT_EQ(st[0].get("sid").size(), 32U);
    EXPECT_EQ(st[0].get("receiver_port"), "64364");
    io->send_to_server(b, stop_sessions_bytes());
    settle(t0 + s);
    const auto sp = of("session.stopped");
    ASSERT_EQ(sp.size(), 1U);
    EXPECT_EQ(sp[0].get("sid"), st[0].get("sid"));
    EXPECT_EQ(sp[0].get("reason"), "stop_sessions");
    // A second session, started, then silent past REFWAIT.
    io->send_to_server(b, request_bytes({}));
    settle(t0 + 2 * s);
    ASSERT_EQ(io->take(b).at(0), 0);
    io->send_to_server(b, start_sessions_bytes());
    settle(t0 + 2 * s);
    tsc += 11 * s;
    settle(t0 + 13 * s);
    const auto to = of("session.timed_out");
    ASSERT_EQ(to.size(), 1U);
    EXPECT_EQ(to[0].lvl, log::level::notice);
    EXPECT_EQ(to[0].get("reason"), "refwait");
    EXPECT_EQ(to[0].peer, "198.18.0.3:50000");
    EXPECT_NE(to[0].get("sid"), st[0].get("sid"));
    // Its connection closes (no started session left): control.closed says refwait.
    const auto cl = of("control.closed");
    ASSERT_EQ(cl.size(), 1U);
    EXPECT_EQ(cl[0].get("reason"), "refwait");
}

TEST_F(driver, events_sessions_end_with_their_connection) {
    make();
    const int b = ready_client(bob, t0);
    io->send_to_server(b, request_bytes({}));
    settle(t0);
    io->send_to_server(b, start_sessions_bytes());
    settle(t0);
    io->client_reset(b);
    settle(t0);
    const auto sp = of("session.stopped");
    ASSERT_EQ(sp.size(), 1U);
    EXPECT_EQ(sp[0].get("reason"), "io_error");
    const auto cl = of("control.closed");
    ASSERT_EQ(cl.size(), 1U);
    EXPECT_EQ(cl[0].get("reason"), "io_error");
    EXPECT_EQ(cl[0].get("sessions"), "1");
    EXPECT_EQ(cl[0].lvl, log::level::notice);
}

namespace {

// A reader waiting for a snapshot nobody builds (the slow path stopped polling: the box is
// stopping) returns at once when its cancel flag is set, not after its wait (10 minutes here:
// the test would hang without the flag).
TEST_F(driver, snapshot_wait_ends_when_cancelled) {
    make();
    std::atomic<bool> cancel{true};
    EXPECT_EQ(server->snapshot(600'000, &cancel), nullptr) << "cancelled before: at once";
    cancel = false;
    std::atomic<bool> returned{false};
    std::shared_ptr<const slowpath::control_snapshot> snap;
    std::thread reader([&] {
        snap = server->snapshot(600'000, &cancel);
        returned = true;
    });
    for (int i = 0; i < 1000 && !returned; ++i) {
        std::this_thread::yield(); // the reader waits: nobody polls
    }
    EXPECT_FALSE(returned);
    cancel = true;
    reader.join();
    EXPECT_EQ(snap, nullptr);
}

// Issue 19: dpdk-twamp-ctl control's snapshot: asked from another thread (the telemetry
// thread), built by the slow path's next poll(), never read from the server's maps directly.
TEST_F(driver, snapshot_is_built_by_poll_for_another_thread) {
    make();
    EXPECT_EQ(server->snapshot(1), nullptr) << "nobody polled: no snapshot";
    const int a = ready_client(alice, t0);
    io->send_to_server(a, request_bytes({}));
    settle(t0);
    ASSERT_EQ(server->sessions(), 1U);
    connect(bob, t0 + s); // pending: greeting sent, no Set-Up-Response yet
    std::shared_ptr<const slowpath::control_snapshot> snap;
    std::atomic<bool> asked_done{false};
    std::thread reader([&] {
        snap = server->snapshot(10'000);
        asked_done = true;
    });
    for (int i = 0; i < 1'000'000 && !asked_done; ++i) {
        server->poll(t0 + 3 * s);
        std::this_thread::yield();
    }
    reader.join();
    ASSERT_NE(snap, nullptr);
    EXPECT_EQ(snap->built_ns, t0 + 3 * s);
    ASSERT_EQ(snap->connections.size(), 2U);
    const auto& ca = snap->connections[0];
    const auto& cb = snap->connections[1];
    EXPECT_LT(ca.id, cb.id);
    EXPECT_EQ(ca.client_ip, alice);
    EXPECT_EQ(ca.server_ip, box);
    EXPECT_EQ(ca.state, "ready");
    EXPECT_EQ(ca.selected_mode, control::mode_unauthenticated);
    EXPECT_TRUE(ca.admitted);
    EXPECT_EQ(ca.accepted_ns, t0);
    EXPECT_EQ(cb.client_ip, bob);
    EXPECT_EQ(cb.state, "wait_setup_response");
    EXPECT_EQ(cb.selected_mode, 0U);
    EXPECT_EQ(cb.accepted_ns, t0 + s);
    ASSERT_EQ(snap->sessions.size(), 1U);
    const auto& t = snap->sessions[0];
    EXPECT_EQ(t.connection, ca.id);
    EXPECT_EQ(t.state, "accepted");
    EXPECT_EQ(t.accepted_ns, t0);
    EXPECT_NE(t.reflector_udp_port, 0);
    EXPECT_EQ(t.mode, control::mode_unauthenticated);
    // A later snapshot sees the change (the connection reset, its session gone).
    io->client_reset(a);
    settle(t0 + 4 * s);
    asked_done = false;
    std::thread again([&] {
        snap = server->snapshot(10'000);
        asked_done = true;
    });
    for (int i = 0; i < 1'000'000 && !asked_done; ++i) {
        server->poll(t0 + 5 * s);
        std::this_thread::yield();
    }
    again.join();
    ASSERT_NE(snap, nullptr);
    EXPECT_EQ(snap->connections.size(), 1U);
    EXPECT_TRUE(snap->sessions.empty());
}

} // namespace

// Issue 19: authentication failures are a kind of their own (their own rate-limit bucket), so
// a flood of refusals from outside the ACL cannot hide key guessing behind log.suppressed.
TEST_F(driver, events_auth_failures_are_their_own_kind) {
    cfg.control.modes = control::mode_unauthenticated | control::mode_authenticated;
    cfg.keys.add({"alice", {'s', 'e', 'c', 'r', 'e', 't'}});
    make();
    const int a = connect(alice);
    ASSERT_NE(greeting_modes(a) & control::mode_authenticated, 0U);
    io->take(a);
    // KeyID empty (zeros): not a known key.
    io->send_to_server(a, setup_response_bytes(control::mode_authenticated));
    settle(t0);
    const auto af = of("control.auth_failed");
    ASSERT_EQ(af.size(), 1U);
    EXPECT_EQ(af[0].lvl, log::level::warning);
    EXPECT_EQ(af[0].peer, "198.18.0.1:" + std::to_string(40000 + a));
    EXPECT_EQ(af[0].get("accept"), "1");
    EXPECT_EQ(af[0].get("reason"), "unknown_key_id");
    EXPECT_TRUE(of("control.refused").empty());
    EXPECT_TRUE(of("control.closed").empty());

    // Through the box's logger: a flood of ACL refusals spends control.refused's bucket, the
    // authentication failure still gets out, and log.suppressed says what was dropped per reason
    // and from whom.
    uint64_t now = 1'000'000'000;
    auto mem = std::make_unique<log::memory_sink>();
    log::memory_sink* m = mem.get();
    log::logger lg(std::move(mem), [&] { return now; });
    for (int i = 0; i < 500; ++i) {
        log::event r;
        r.lvl = log::level::warning;
        r.kind = "control.refused";
        r.peer = "198.19.0." + std::to_string(i % 200) + ":40000";
        r.with("accept", 1).with("reason", i < 400 ? "acl" : "max_connections_per_source");
        lg.emit(std::move(r));
    }
    lg.emit(log::event(af[0]));
    EXPECT_EQ(m->events.back().kind, "control.auth_failed");
    now += 2'000'000'000ULL;
    lg.tick();
    const log::event& s = m->events.back();
    ASSERT_EQ(s.kind, "log.suppressed");
    EXPECT_EQ(s.get("kind"), "control.refused");
    EXPECT_EQ(s.get("suppressed"), "480");
    EXPECT_EQ(s.get("reasons"), "acl:380,max_connections_per_source:100");
    EXPECT_EQ(s.get("last_peer"), "198.19.0.99:40000");
}

TEST_F(driver, events_unstarted_sessions_are_released_not_stopped) {
    make();
    const int b = ready_client(bob, t0);
    io->send_to_server(b, request_bytes({}));
    settle(t0);
    ASSERT_EQ(io->take(b).at(0), 0); // accepted, never started
    io->client_close(b);
    settle(t0);
    EXPECT_TRUE(of("session.stopped").empty());
    const auto rel = of("session.released");
    ASSERT_EQ(rel.size(), 1U);
    EXPECT_EQ(rel[0].get("reason"), "peer_closed");
    EXPECT_EQ(rel[0].get("receiver_port"), "64364");
    EXPECT_EQ(rel[0].peer, "198.18.0.3:50000");
}
