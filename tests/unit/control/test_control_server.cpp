// slowpath::control_server, the TWAMP-Control driver, without sockets (fake_control_io): the
// issue 18 limits (max-connections-per-source, max-pending, setup-timeout), a client that does
// not read (not polled for input while its output is backed up, closed after SERVWAIT), a
// client trickling octets, and that the server makes no work while clients only wait.
#include <memory>

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
// greeting phase forever): the OLDEST pending connection is evicted (closed_evicted) instead.
// One source has at most max-pending-per-source pending connections (refused "pending").
TEST_F(driver, pending_full_evicts_the_oldest_pending_connection) {
    cfg.control.max_pending = 2;
    make();
    const int a1 = connect(alice), b1 = connect(bob);
    EXPECT_EQ(server->pending(), 2U);
    const int c1 = connect(v4(198, 18, 0, 4));
    EXPECT_EQ(greeting_modes(c1), control::mode_unauthenticated) << "admitted";
    EXPECT_TRUE(io->peers.at(a1).closed) << "the oldest pending connection made room";
    EXPECT_FALSE(io->peers.at(b1).closed);
    EXPECT_EQ(closed(close_reason::evicted), 1U);
    EXPECT_EQ(server->refusals().pending.load(), 0U);
    EXPECT_EQ(server->pending(), 2U);
    // b1 sets up: no longer pending, never evicted.
    io->take(b1);
    io->send_to_server(b1, setup_response_bytes(control::mode_unauthenticated));
    settle(t0);
    EXPECT_EQ(server->pending(), 1U);
    const int a3 = connect(alice), a4 = connect(alice);
    EXPECT_EQ(greeting_modes(a3), control::mode_unauthenticated);
    EXPECT_EQ(greeting_modes(a4), control::mode_unauthenticated);
    EXPECT_TRUE(io->peers.at(c1).closed);
    EXPECT_FALSE(io->peers.at(b1).closed) << "past the greeting phase";
    EXPECT_EQ(closed(close_reason::evicted), 2U);
    EXPECT_EQ(server->pending(), 2U);
}

TEST_F(driver, a_greeting_phase_flood_cannot_keep_a_healthy_client_out) {
    // Default caps: max-pending 16, 2 pending per source. Eight flooding addresses hold every
    // pending slot, eight more evict them, and so on; bob still sets up and gets a session.
    make();
    std::vector<int> flood;
    for (int round = 0; round < 3; ++round) {
        // Fresh sources each round (the old ones are at max-pending-per-source).
        for (uint8_t h = static_cast<uint8_t>(10 + 8 * round); h < 18 + 8 * round; ++h) {
            flood.push_back(connect(v4(198, 18, 1, h)));
            flood.push_back(connect(v4(198, 18, 1, h)));
            EXPECT_EQ(greeting_modes(connect(v4(198, 18, 1, h))), 0U) << "third pending";
        }
        EXPECT_EQ(server->pending(), 16U);
    }
    EXPECT_EQ(server->refusals().pending.load(), 24U);
    EXPECT_EQ(closed(close_reason::evicted), 32U);
    const int b = ready_client(bob, t0);
    io->send_to_server(b, request_bytes({}));
    settle(t0);
    auto acc = io->take(b);
    ASSERT_EQ(acc.size(), control::accept_session_size);
    EXPECT_EQ(acc[0], 0) << "Accept-Session Accept";
    EXPECT_EQ(server->pending(), 15U);
}

TEST_F(driver, ipv6_sources_are_counted_per_64) {
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
    EXPECT_EQ(greeting_modes(conn6(a(9, 1))), control::mode_unauthenticated);
    EXPECT_EQ(greeting_modes(conn6(a(7, 1))), 0U) << "third pending from one /64";
    EXPECT_EQ(server->refusals().pending.load(), 1U);
    EXPECT_EQ(greeting_modes(conn6(a(7, 2))), control::mode_unauthenticated) << "another /64";
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
