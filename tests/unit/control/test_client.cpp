// client_connection (the Control-Client twamp-ping --mode twamp speaks) against hand-built
// Server messages, and full conversations through both state machines.
#include <gtest/gtest.h>

#include "helpers.hpp"

#include "twamp/control/client.hpp"
#include "twamp/control/server.hpp"
#include "twamp/proto/bytes.hpp"

using namespace twamp::control;
using namespace twamp::control::test;
using twamp::proto::load_be32;

namespace {

constexpr uint64_t s = 1'000'000'000ULL;
constexpr uint64_t t0 = 1'700'000'000ULL * s;

// RFC 4656 §3.1 Server-Greeting.
bytes greeting_bytes(uint32_t modes, uint32_t count = 1024) {
    return bytes{}.zeros(12).u32(modes).fill(16, 0xc1).fill(16, 0x5a).u32(count).zeros(12);
}
bytes server_start_bytes(uint8_t accept, uint64_t start_time = 0xe8f0000000000000ULL) {
    return bytes{}.zeros(15).u8(accept).zeros(16).u64(start_time).zeros(8);
}
bytes accept_bytes(uint8_t accept, uint16_t port, const sid_t& sid, uint16_t reflected = 0,
                   uint16_t server_octets = 0) {
    return bytes{}.u8(accept).u8(0).u16(port).raw(sid).u16(reflected).u16(server_octets).zeros(24);
}

template<class T>
std::vector<T> events(const client_result& r) {
    std::vector<T> v;
    for (const auto& e : r.events) {
        if (const T* x = std::get_if<T>(&e)) {
            v.push_back(*x);
        }
    }
    return v;
}

client_connection ready_client(uint32_t server_modes, uint32_t wanted = 0) {
    client_connection c({.wanted_modes = wanted});
    c.feed(greeting_bytes(server_modes).v);
    c.feed(server_start_bytes(0).v);
    EXPECT_EQ(c.state(), client_state::ready);
    return c;
}

sid_t sid_of(uint8_t x) {
    sid_t sid{};
    sid.fill(x);
    return sid;
}

} // namespace

TEST(client, answers_the_greeting_with_the_modes_it_wants_and_the_server_offers) {
    client_connection c({.wanted_modes = mode_reflect_octets | mode_individual_session_control});
    // Offered: unauthenticated, authenticated, reflect octets, symmetrical size.
    auto r = c.feed(greeting_bytes(1 | 2 | 32 | 64).v);
    EXPECT_EQ(r.output, setup_response_bytes(1 | 32).v)
            << "Mode 0x21: individual control not offered, symmetrical size not wanted";
    auto g = events<greeting_received>(r);
    ASSERT_EQ(g.size(), 1U);
    EXPECT_EQ(g[0].modes, 0x63U);
    EXPECT_EQ(g[0].count, 1024U);
    EXPECT_EQ(g[0].selected, 0x21U);
    EXPECT_EQ(c.state(), client_state::wait_server_start);
    EXPECT_EQ(c.mode(), 0x21U);
    EXPECT_EQ(c.server_modes(), 0x63U);
}

TEST(client, no_unauthenticated_mode_means_mode_zero_and_close) {
    client_connection c;
    auto r = c.feed(greeting_bytes(2 | 4).v);
    EXPECT_EQ(r.output, setup_response_bytes(0).v);
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, client_close_reason::no_modes);
    // The Modes = 0 greeting of a refusing server too.
    client_connection c2;
    r = c2.feed(greeting_bytes(0).v);
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(load_be32(r.output.data()), 0U);
}

TEST(client, server_start) {
    client_connection c;
    c.feed(greeting_bytes(1).v);
    EXPECT_TRUE(c.request_session({}).empty()) << "not before Server-Start";
    auto in = server_start_bytes(0, 0xe8f1000012345678ULL);
    // In two pieces.
    auto r = c.feed(std::span<const uint8_t>(in.v).first(20));
    EXPECT_TRUE(r.events.empty());
    r = c.feed(std::span<const uint8_t>(in.v).subspan(20));
    auto st = events<server_started>(r);
    ASSERT_EQ(st.size(), 1U);
    EXPECT_EQ(st[0].accept, 0);
    EXPECT_EQ(st[0].start_time, 0xe8f1000012345678ULL);
    EXPECT_EQ(c.state(), client_state::ready);

    client_connection refused;
    refused.feed(greeting_bytes(1).v);
    r = refused.feed(server_start_bytes(3).v);
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, client_close_reason::server_refused);
    EXPECT_EQ(events<server_started>(r).at(0).accept, 3);
}

TEST(client, request_tw_session_layout) {
    auto c = ready_client(1);
    session_request q;
    q.sender = v4(198, 18, 0, 1);
    q.receiver = v4(198, 18, 0, 2);
    q.sender_port = 40000;
    q.receiver_port = 64364;
    q.padding_length = 100;
    q.start_time = 0xe8f0000100000000ULL;
    q.timeout_ns = 2'500'000'000ULL;
    q.dscp = 46;
    q.octets_to_reflect = 0x1234; // not negotiated: not sent
    request_fields f;
    f.sender_port = 40000;
    f.receiver_port = 64364;
    f.sender_addr = {198, 18, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    f.receiver_addr = {198, 18, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    f.padding = 100;
    f.start_time = 0xe8f0000100000000ULL;
    f.timeout = (2ULL << 32) | 0x80000000U;
    f.type_p = 0x2e000000;
    EXPECT_EQ(c.request_session(q), request_bytes(f).v);
    EXPECT_EQ(c.awaiting(), 1U);
}

TEST(client, ipv6_and_reflect_octets_request) {
    auto c = ready_client(1 | 32, mode_reflect_octets);
    session_request q;
    q.family = twamp::net::ip_family::ipv6;
    q.receiver = v6("2001:2::2");
    q.receiver_port = 64364;
    q.padding_length = 27;
    q.octets_to_reflect = 0xbeef;
    q.padding_to_reflect = 8;
    auto out = c.request_session(q);
    ASSERT_EQ(out.size(), 112U);
    EXPECT_EQ(out[1], 6) << "IPVN";
    EXPECT_TRUE(all_zero(slice(out, 16, 16))) << "sender address: zero = control connection's";
    EXPECT_EQ(slice(out, 32, 16),
              (std::vector<uint8_t>{0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}));
    EXPECT_EQ(out[88], 0xbe);
    EXPECT_EQ(out[89], 0xef);
    EXPECT_EQ(out[91], 8);
}

TEST(client, accept_session_start_and_stop) {
    auto c = ready_client(1);
    c.request_session({});
    c.request_session({});
    auto in = accept_bytes(0, 64364, sid_of(0xa1));
    in.raw(accept_bytes(5, 0, sid_t{}).v);
    auto r = c.feed(in.v);
    auto a = events<session_answer>(r);
    ASSERT_EQ(a.size(), 2U);
    EXPECT_EQ(a[0].request_index, 0U);
    EXPECT_EQ(a[0].answer.accept, 0);
    EXPECT_EQ(a[0].answer.port, 64364);
    EXPECT_EQ(a[0].answer.sid, sid_of(0xa1));
    EXPECT_EQ(a[1].request_index, 1U);
    EXPECT_EQ(a[1].answer.accept, 5);
    EXPECT_EQ(c.start_sessions(), start_sessions_bytes().v);
    r = c.feed(bytes{}.u8(0).zeros(31).v);
    ASSERT_EQ(events<start_acked>(r).size(), 1U);
    EXPECT_EQ(events<start_acked>(r)[0].accept, 0);
    // Number of Sessions: the one accepted session.
    EXPECT_EQ(c.stop_sessions(), stop_sessions_bytes(0, 1).v);
    EXPECT_EQ(c.stop_sessions(2, 7), stop_sessions_bytes(2, 7).v);
    EXPECT_EQ(c.awaiting(), 0U) << "Stop-Sessions has no answer";
}

TEST(client, unexpected_octets_close) {
    auto c = ready_client(1);
    auto r = c.feed(bytes{}.u8(0).v);
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, client_close_reason::unexpected_data);
    EXPECT_TRUE(c.start_sessions().empty()) << "closed";
    EXPECT_TRUE(c.feed(bytes{}.zeros(32).v).events.empty());
}

TEST(client, individual_session_control) {
    auto plain = ready_client(1 | 16); // offered, not wanted
    EXPECT_TRUE(plain.start_n_sessions(std::vector<sid_t>{sid_of(1)}).empty());

    auto c = ready_client(1 | 16, mode_individual_session_control);
    std::vector<sid_t> sids{sid_of(1), sid_of(2)};
    EXPECT_EQ(c.start_n_sessions(sids), n_bytes(7, 0, sids).v);
    EXPECT_EQ(c.stop_n_sessions({sids.data(), 1}, 3), n_bytes(9, 3, {sids[0]}).v);
    auto r = c.feed(n_bytes(8, 0, sids).v);
    auto acks = events<n_acked>(r);
    ASSERT_EQ(acks.size(), 1U);
    EXPECT_EQ(acks[0].cmd, command::start_n_ack);
    EXPECT_EQ(acks[0].sids, sids);
    // The Stop-N-Ack must not name more SIDs than were asked about, and must be a Stop-N-Ack.
    r = c.feed(n_bytes(8, 0, {sids[0]}).v);
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, client_close_reason::bad_message);

    auto c2 = ready_client(1 | 16, mode_individual_session_control);
    c2.stop_n_sessions({sids.data(), 1});
    r = c2.feed(n_bytes(10, 0, sids).v);
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, client_close_reason::bad_message);
}

// ---- Client <-> Server ------------------------------------------------------------------------

namespace {

struct pair_run {
    port_pool pool{{64364, 64373}, 1024};
    server_counters counters;
    server_connection server;
    client_connection client;
    std::vector<action> server_actions;
    std::vector<client_event> client_events;

    pair_run(uint32_t server_modes, uint32_t wanted, connection_addresses a)
        : server(make_policy(server_modes, a), pool, a, os_random, &counters),
          client({.wanted_modes = wanted}) {}

    static server_policy make_policy(uint32_t modes, const connection_addresses& a) {
        server_policy p;
        p.modes = modes;
        p.local_addresses = {a.local};
        p.start_time_ns = t0 - 3600 * s;
        return p;
    }
    // Server output to the client, client output to the server, until quiet.
    void to_client(std::vector<uint8_t> bytes) {
        while (!bytes.empty()) {
            auto cr = client.feed(bytes);
            client_events.insert(client_events.end(), cr.events.begin(), cr.events.end());
            bytes.clear();
            if (!cr.output.empty()) {
                auto sr = server.feed(cr.output, t0);
                server_actions.insert(server_actions.end(), sr.actions.begin(), sr.actions.end());
                bytes = sr.output;
            }
        }
    }
    void to_server(const std::vector<uint8_t>& bytes) {
        auto sr = server.feed(bytes, t0);
        server_actions.insert(server_actions.end(), sr.actions.begin(), sr.actions.end());
        to_client(sr.output);
    }
    template<class T>
    std::vector<T> server_all() const {
        std::vector<T> v;
        for (const auto& a : server_actions) {
            if (const T* x = std::get_if<T>(&a)) {
                v.push_back(*x);
            }
        }
        return v;
    }
    template<class T>
    std::vector<T> client_all() const {
        std::vector<T> v;
        for (const auto& e : client_events) {
            if (const T* x = std::get_if<T>(&e)) {
                v.push_back(*x);
            }
        }
        return v;
    }
};

} // namespace

TEST(conversation, base_mode_ipv4) {
    pair_run p(0x71, 0, {v4(198, 18, 0, 2), v4(198, 18, 0, 1)});
    p.to_client(p.server.greeting(t0).output);
    ASSERT_EQ(p.client.state(), client_state::ready);
    EXPECT_EQ(p.client.mode(), mode_unauthenticated);
    EXPECT_EQ(p.server.mode(), mode_unauthenticated);

    session_request q;
    q.sender_port = 40000;
    q.receiver_port = 64368;
    q.dscp = 34;
    q.timeout_ns = 3 * s;
    q.padding_length = 64;
    p.to_server(p.client.request_session(q));
    q.sender_port = 40001; // same receiver port asked again
    p.to_server(p.client.request_session(q));
    auto answers = p.client_all<session_answer>();
    auto accepted = p.server_all<session_accepted>();
    ASSERT_EQ(answers.size(), 2U);
    ASSERT_EQ(accepted.size(), 2U);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(answers[i].answer.accept, 0);
        EXPECT_EQ(answers[i].answer.port, accepted[i].session.receiver_port);
        EXPECT_EQ(answers[i].answer.sid, accepted[i].session.sid);
        EXPECT_EQ(accepted[i].session.dscp, 34);
        EXPECT_EQ(accepted[i].session.timeout_ns, 3 * s);
        EXPECT_EQ(accepted[i].session.padding_length, 64U);
        EXPECT_EQ(accepted[i].session.sender, v4(198, 18, 0, 1));
        EXPECT_EQ(accepted[i].session.receiver, v4(198, 18, 0, 2));
    }
    EXPECT_EQ(answers[0].answer.port, 64368);
    EXPECT_NE(answers[1].answer.port, 64368);

    p.to_server(p.client.start_sessions());
    ASSERT_EQ(p.client_all<start_acked>().size(), 1U);
    EXPECT_EQ(p.client_all<start_acked>()[0].accept, 0);
    EXPECT_EQ(p.server_all<sessions_started>().at(0).sids.size(), 2U);
    EXPECT_EQ(p.counters.session_started.load(), 2U);

    p.to_server(p.client.stop_sessions());
    auto stopped = p.server_all<sessions_stopped>();
    ASSERT_EQ(stopped.size(), 1U);
    EXPECT_EQ(stopped[0].sessions.size(), 2U);
    EXPECT_EQ(p.counters.session_attempts.load(), 2U);
    EXPECT_FALSE(p.server.is_closed());
    EXPECT_EQ(p.client.state(), client_state::ready);
}

TEST(conversation, individual_control_reflect_octets_symmetrical_ipv6) {
    pair_run p(0x71, 0x70, {v6("2001:2::2"), v6("2001:2::1")});
    p.to_client(p.server.greeting(t0).output);
    EXPECT_EQ(p.server.mode(), 0x71U);
    session_request q;
    q.family = twamp::net::ip_family::ipv6;
    q.padding_length = 100;
    q.octets_to_reflect = 0x5151;
    q.padding_to_reflect = 16;
    for (int i = 0; i < 3; ++i) {
        p.to_server(p.client.request_session(q));
    }
    auto answers = p.client_all<session_answer>();
    ASSERT_EQ(answers.size(), 3U);
    for (const auto& a : answers) {
        EXPECT_EQ(a.answer.accept, 0);
        EXPECT_EQ(a.answer.reflected_octets, 0x5151);
    }
    auto accepted = p.server_all<session_accepted>();
    EXPECT_EQ(accepted.at(0).session.padding_to_reflect, 16);
    EXPECT_TRUE(accepted.at(0).session.symmetrical_size());
    EXPECT_EQ(accepted.at(0).session.receiver, v6("2001:2::2"));

    std::vector<sid_t> first_two{answers[0].answer.sid, answers[1].answer.sid};
    p.to_server(p.client.start_n_sessions(first_two));
    auto acks = p.client_all<n_acked>();
    ASSERT_EQ(acks.size(), 1U);
    EXPECT_EQ(acks[0].accept, 0);
    EXPECT_EQ(acks[0].sids, first_two);
    EXPECT_EQ(p.server_all<sessions_started>().at(0).sids, first_two);

    std::vector<sid_t> one{answers[0].answer.sid};
    p.to_server(p.client.stop_n_sessions(one));
    acks = p.client_all<n_acked>();
    ASSERT_EQ(acks.size(), 2U);
    EXPECT_EQ(acks[1].cmd, command::stop_n_ack);
    EXPECT_EQ(p.server_all<sessions_stopped>().at(0).sessions.at(0).sid, one[0]);
    EXPECT_EQ(p.server.sessions().size(), 2U);
    auto closed = p.server.abort(close_reason::peer_closed);
    EXPECT_EQ(closed.closed()->sessions.size(), 2U);
}

TEST(conversation, refused_connection) {
    pair_run p(0, 0, {v4(198, 18, 0, 2), v4(198, 18, 0, 1)});
    auto g = p.server.greeting(t0);
    EXPECT_TRUE(g.closed());
    auto r = p.client.feed(g.output);
    ASSERT_TRUE(r.closed());
    EXPECT_EQ(r.closed()->reason, client_close_reason::no_modes);
}
