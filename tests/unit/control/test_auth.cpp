// TWAMP-Control in authenticated, encrypted and mixed modes (RFC 4656 §3.1-3.2, RFC 5357 §3,
// RFC 5618): server and client against known answers from an independent implementation
// (auth_vectors.hpp, made by make_auth_vectors.py with Python's hashlib/hmac and the
// `cryptography` package), against each other in every mode, and every failure path: unknown
// KeyID, wrong secret, tampered ciphertext and HMAC, a replayed message, the derivation limiter.
#include <algorithm>
#include <cstddef>
#include <deque>
#include <memory>
#include <new>

#include <gtest/gtest.h>

#include "auth_vectors.hpp"
#include "helpers.hpp"

#include "twamp/control/cipher.hpp"
#include "twamp/control/client.hpp"
#include "twamp/control/keys.hpp"
#include "twamp/control/server.hpp"
#include "twamp/proto/bytes.hpp"

using namespace twamp::control;
using namespace twamp::control::test;

namespace {

constexpr uint64_t s = 1'000'000'000ULL;
constexpr uint64_t t0 = 1'700'000'000ULL * s;

std::array<uint8_t, 16> seq16(uint8_t start) {
    std::array<uint8_t, 16> a{};
    for (std::size_t i = 0; i < a.size(); ++i) {
        a[i] = static_cast<uint8_t>(start + i);
    }
    return a;
}
std::array<uint8_t, 32> seq32(uint8_t start) {
    std::array<uint8_t, 32> a{};
    for (std::size_t i = 0; i < a.size(); ++i) {
        a[i] = static_cast<uint8_t>(start + i);
    }
    return a;
}
const std::vector<uint8_t> secret{'s', 'e', 'c', 'r', 'e', 't'};

// Hands out the given octet strings in order (each call takes the next one, whole).
struct scripted_random {
    std::shared_ptr<std::deque<std::vector<uint8_t>>> q =
            std::make_shared<std::deque<std::vector<uint8_t>>>();
    void operator()(std::span<uint8_t> out) const {
        ASSERT_FALSE(q->empty()) << "random asked for more than the script";
        ASSERT_EQ(q->front().size(), out.size());
        std::copy(q->front().begin(), q->front().end(), out.begin());
        q->pop_front();
    }
    template<std::size_t N>
    void push(const std::array<uint8_t, N>& a) {
        q->emplace_back(a.begin(), a.end());
    }
};

template<std::size_t N>
std::vector<uint8_t> vec(const std::array<uint8_t, N>& a) {
    return {a.begin(), a.end()};
}

std::shared_ptr<const key_store> alice_keys() {
    auto k = std::make_shared<key_store>();
    k->add({"alice", secret});
    k->add({"bob", {'o', 't', 'h', 'e', 'r'}});
    return k;
}

const connection_addresses addrs{v4(198, 18, 0, 2), v4(198, 18, 0, 1)};

server_policy policy(uint32_t modes) {
    server_policy p;
    p.modes = modes;
    p.local_addresses = {addrs.local};
    p.count = 1024;
    p.keys = alice_keys();
    return p;
}

template<class T, class R>
std::vector<T> all_of(const R& r) {
    std::vector<T> v;
    for (const auto& a : r) {
        if (const T* x = std::get_if<T>(&a)) {
            v.push_back(*x);
        }
    }
    return v;
}

} // namespace

// ---- Known answers ----------------------------------------------------------------------------

TEST(auth_vectors, derivation_and_token) {
    std::array<uint8_t, 16> k{};
    ASSERT_TRUE(derive_key(secret, seq16(0x10), 1024, k));
    EXPECT_EQ(k, vectors::derived_key);
    session_keys keys{seq16(0x20), seq32(0x40)};
    EXPECT_EQ(encrypt_token(k, seq16(0x00), keys), vectors::token);
    token_contents t = decrypt_token(k, vectors::token);
    EXPECT_EQ(t.challenge, seq16(0x00));
    EXPECT_EQ(t.keys.aes, keys.aes);
    EXPECT_EQ(t.keys.hmac, keys.hmac);
}

TEST(auth_vectors, server_matches_the_independent_implementation) {
    server_counters counters;
    port_pool pool({64364, 64373}, 16);
    scripted_random rnd;
    rnd.push(seq16(0x00)); // Challenge
    rnd.push(seq16(0x10)); // Salt
    rnd.push(seq16(0x70)); // Server-IV
    server_connection c(
            policy(mode_unauthenticated | mode_authenticated | mode_encrypted | mode_mixed), pool,
            addrs, rnd, &counters);
    auto g = c.greeting(t0).output;
    ASSERT_EQ(g.size(), server_greeting_size);
    EXPECT_EQ(twamp::proto::load_be32(&g[12]), 0x0fU) << "all four security modes offered";
    EXPECT_EQ(slice(g, 16, 16), vec(seq16(0x00)));
    EXPECT_EQ(slice(g, 32, 16), vec(seq16(0x10)));
    EXPECT_EQ(twamp::proto::load_be32(&g[48]), 1024U);

    auto r = c.feed(vectors::setup_response, t0);
    EXPECT_EQ(r.output, vec(vectors::server_start)) << "32 octets clear, the last block encrypted";
    ASSERT_EQ(c.state(), server_state::ready);
    EXPECT_EQ(c.security_mode(), mode_authenticated);
    EXPECT_EQ(counters.key_derivations_done.load(), 1U);

    // Start-Sessions without a session: Start-Ack Accept 1 (sealed, chained), then close.
    r = c.feed(vectors::start_sessions, t0);
    EXPECT_EQ(r.output, vec(vectors::start_ack_failure));
    ASSERT_NE(r.closed(), nullptr);
    EXPECT_EQ(r.closed()->reason, close_reason::no_sessions);
}

TEST(auth_vectors, client_matches_the_independent_implementation) {
    scripted_random rnd;
    rnd.push(seq16(0x20)); // AES Session-key
    rnd.push(seq32(0x40)); // HMAC Session-key
    rnd.push(seq16(0x60)); // Client-IV
    client_connection c(
            {.security = mode_authenticated, .key_id = "alice", .secret = secret, .random = rnd});
    auto greeting =
            bytes{}.zeros(12).u32(0x0f).raw(seq16(0x00)).raw(seq16(0x10)).u32(1024).zeros(12);
    auto r = c.feed(greeting);
    EXPECT_EQ(r.output, vec(vectors::setup_response));
    EXPECT_FALSE(c.negotiated_keys()) << "not before Server-Start";
    // In pieces: the clear part and the encrypted block arrive apart.
    r = c.feed(std::span<const uint8_t>(vectors::server_start).first(20));
    EXPECT_TRUE(r.events.empty());
    r = c.feed(std::span<const uint8_t>(vectors::server_start).subspan(20));
    ASSERT_EQ(all_of<server_started>(r.events).size(), 1U);
    ASSERT_EQ(c.state(), client_state::ready);
    ASSERT_TRUE(c.negotiated_keys());
    EXPECT_EQ(c.negotiated_keys()->aes, seq16(0x20));
    EXPECT_EQ(c.negotiated_keys()->hmac, seq32(0x40));
    EXPECT_EQ(c.start_sessions(), vec(vectors::start_sessions));
    r = c.feed(vectors::start_ack_ok);
    auto acks = all_of<start_acked>(r.events);
    ASSERT_EQ(acks.size(), 1U);
    EXPECT_EQ(acks[0].accept, 0);
}

// ---- Server and client against each other -----------------------------------------------------

namespace {

struct secured_pair {
    port_pool pool{{64364, 64373}, 1024};
    server_counters counters;
    server_connection server;
    client_connection client;
    std::vector<action> server_actions;
    std::vector<client_event> client_events;
    std::size_t chunk = 0; // 0: whole outputs; else the server is fed this many octets at a time

    secured_pair(uint32_t server_modes, client_options o, server_policy p = policy(0))
        : server(with_modes(std::move(p), server_modes), pool, addrs, os_random, &counters),
          client(std::move(o)) {}
    static server_policy with_modes(server_policy p, uint32_t m) {
        p.modes = m;
        return p;
    }
    void feed_server(std::span<const uint8_t> b) {
        std::vector<uint8_t> out;
        const std::size_t step = chunk == 0 ? b.size() : chunk;
        for (std::size_t i = 0; i < b.size(); i += step) {
            auto sr = server.feed(b.subspan(i, std::min(step, b.size() - i)), t0);
            server_actions.insert(server_actions.end(), sr.actions.begin(), sr.actions.end());
            out.insert(out.end(), sr.output.begin(), sr.output.end());
        }
        to_client(out);
    }
    void to_client(const std::vector<uint8_t>& b) {
        if (b.empty()) {
            return;
        }
        auto cr = client.feed(b);
        client_events.insert(client_events.end(), cr.events.begin(), cr.events.end());
        if (!cr.output.empty()) {
            feed_server(cr.output);
        }
    }
    void open() { to_client(server.greeting(t0).output); }
};

client_options alice(uint32_t security) {
    return {.security = security, .key_id = "alice", .secret = secret};
}

session_request request() {
    session_request q;
    q.sender_port = 40000;
    q.timeout_ns = 2 * s;
    q.padding_length = 100;
    return q;
}

} // namespace

class every_mode : public ::testing::TestWithParam<uint32_t> {};

TEST_P(every_mode, a_whole_conversation) {
    const uint32_t mode = GetParam();
    for (std::size_t chunk : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
        client_options o = alice(mode);
        o.wanted_modes = mode_individual_session_control;
        secured_pair p(0x0f | mode_individual_session_control, o);
        p.chunk = chunk;
        p.open();
        ASSERT_EQ(p.client.state(), client_state::ready) << "chunk " << chunk;
        EXPECT_EQ(p.server.security_mode(), mode);
        EXPECT_EQ(p.server.mode(), mode | mode_individual_session_control);
        EXPECT_EQ(p.client.mode(), mode | mode_individual_session_control);
        p.feed_server(p.client.request_session(request()));
        p.feed_server(p.client.request_session(request()));
        auto accepted = all_of<session_accepted>(p.server_actions);
        auto answers = all_of<session_answer>(p.client_events);
        ASSERT_EQ(accepted.size(), 2U);
        ASSERT_EQ(answers.size(), 2U);
        for (std::size_t i = 0; i < 2; ++i) {
            EXPECT_EQ(answers[i].answer.accept, 0);
            EXPECT_EQ(answers[i].answer.sid, accepted[i].session.sid);
            EXPECT_EQ(answers[i].answer.port, accepted[i].session.receiver_port);
            const auto& info = accepted[i].session;
            const bool keyed = mode == mode_authenticated || mode == mode_encrypted;
            if (keyed) {
                ASSERT_TRUE(p.client.negotiated_keys());
                EXPECT_EQ(info.aes_session_key, p.client.negotiated_keys()->aes);
                EXPECT_EQ(info.hmac_session_key, p.client.negotiated_keys()->hmac);
                EXPECT_NE(info.aes_session_key, (std::array<uint8_t, 16>{}));
            } else {
                EXPECT_EQ(info.aes_session_key, (std::array<uint8_t, 16>{}))
                        << "mixed and open sessions' test packets are unauthenticated";
                EXPECT_EQ(info.hmac_session_key, (std::array<uint8_t, 32>{}));
            }
        }
        EXPECT_EQ(p.client.negotiated_keys().has_value(), mode != mode_unauthenticated);
        std::vector<sid_t> sids{accepted[0].session.sid};
        p.feed_server(p.client.start_n_sessions(sids));
        ASSERT_EQ(all_of<n_acked>(p.client_events).size(), 1U);
        p.feed_server(p.client.start_sessions());
        ASSERT_EQ(all_of<start_acked>(p.client_events).size(), 1U);
        EXPECT_EQ(all_of<start_acked>(p.client_events)[0].accept, 0);
        p.feed_server(p.client.stop_sessions());
        auto stopped = all_of<sessions_stopped>(p.server_actions);
        ASSERT_EQ(stopped.size(), 1U);
        EXPECT_EQ(stopped[0].sessions.size(), 2U);
        EXPECT_FALSE(p.server.is_closed());
        EXPECT_EQ(p.client.state(), client_state::ready);
        EXPECT_EQ(p.counters.key_derivations_done.load(), mode == mode_unauthenticated ? 0U : 1U);
        for (const auto& f : p.counters.auth_failures) {
            EXPECT_EQ(f.load(), 0U);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(auth, every_mode,
                         ::testing::Values(mode_unauthenticated, mode_authenticated, mode_encrypted,
                                           mode_mixed));

TEST(auth, a_server_without_keys_offers_no_keyed_mode) {
    server_policy p = policy(0x0f);
    p.keys = nullptr;
    port_pool pool({64364, 64373}, 16);
    server_connection c(p, pool, addrs, os_random);
    EXPECT_EQ(c.offered_modes(), mode_unauthenticated);
    p.modes = mode_encrypted;
    server_connection d(p, pool, addrs, os_random);
    EXPECT_EQ(d.offered_modes(), 0U);
    EXPECT_NE(d.greeting(t0).closed(), nullptr);
}

TEST(auth, the_client_wants_its_mode_or_nothing) {
    secured_pair p(mode_authenticated, alice(mode_encrypted));
    p.open();
    auto closed = all_of<client_closed>(p.client_events);
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].reason, client_close_reason::no_modes);
    EXPECT_EQ(p.server.state(), server_state::closed) << "Mode 0: the client does not continue";
}

// ---- Failures ---------------------------------------------------------------------------------

TEST(auth, unknown_key_id) {
    client_options o = alice(mode_encrypted);
    o.key_id = "mallory";
    secured_pair p(0x0f, o);
    p.open();
    auto closed = all_of<connection_closed>(p.server_actions);
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].reason, close_reason::unknown_key_id);
    auto started = all_of<server_started>(p.client_events);
    ASSERT_EQ(started.size(), 1U);
    EXPECT_EQ(started[0].accept, 1) << "Server-Start Accept 1 (failure)";
    EXPECT_EQ(p.client.state(), client_state::closed);
    EXPECT_EQ(p.counters.auth_failures[static_cast<std::size_t>(auth_failure::unknown_key_id)], 1U);
    EXPECT_EQ(p.counters.key_derivations_done.load(), 1U)
            << "derived all the same: the timing does not tell which KeyIDs exist";
    EXPECT_EQ(p.counters.closed[static_cast<std::size_t>(close_reason::unknown_key_id)], 1U);
}

TEST(auth, wrong_secret_is_a_bad_token) {
    client_options o = alice(mode_authenticated);
    o.secret = {'w', 'r', 'o', 'n', 'g'};
    secured_pair p(0x0f, o);
    p.open();
    auto closed = all_of<connection_closed>(p.server_actions);
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].reason, close_reason::bad_token);
    auto started = all_of<server_started>(p.client_events);
    ASSERT_EQ(started.size(), 1U);
    EXPECT_EQ(started[0].accept, 1);
    EXPECT_EQ(p.counters.auth_failures[static_cast<std::size_t>(auth_failure::bad_token)], 1U);
    // The other key of the store does not open alice's connection either.
    client_options b = alice(mode_authenticated);
    b.key_id = "bob";
    secured_pair q(0x0f, b);
    q.open();
    ASSERT_EQ(all_of<connection_closed>(q.server_actions).size(), 1U);
    EXPECT_EQ(all_of<connection_closed>(q.server_actions)[0].reason, close_reason::bad_token);
}

TEST(auth, tampered_ciphertext_closes_with_bad_hmac) {
    for (std::size_t bit : {0U, 8U * 20U, 8U * 100U + 3U}) {
        secured_pair p(0x0f, alice(mode_encrypted));
        p.open();
        ASSERT_EQ(p.client.state(), client_state::ready);
        auto msg = p.client.request_session(request());
        msg[bit / 8] ^= static_cast<uint8_t>(1U << (bit % 8));
        auto r = p.server.feed(msg, t0);
        ASSERT_NE(r.closed(), nullptr) << "bit " << bit;
        EXPECT_TRUE(all_of<session_accepted>(r.actions).empty());
        EXPECT_TRUE(r.output.empty()) << "nothing answered";
        if (bit != 0) { // the command octet itself may frame as another command
            EXPECT_EQ(r.closed()->reason, close_reason::bad_hmac) << "bit " << bit;
            EXPECT_EQ(p.counters.auth_failures[static_cast<std::size_t>(auth_failure::bad_hmac)],
                      1U);
        }
    }
}

TEST(auth, tampered_server_answer_closes_the_client) {
    secured_pair p(0x0f, alice(mode_authenticated));
    p.open();
    auto r = p.server.feed(p.client.request_session(request()), t0);
    ASSERT_EQ(r.output.size(), accept_session_size);
    r.output[40] ^= 0x80; // in the HMAC block
    auto cr = p.client.feed(r.output);
    ASSERT_NE(cr.closed(), nullptr);
    EXPECT_EQ(cr.closed()->reason, client_close_reason::bad_hmac);
    EXPECT_TRUE(all_of<session_answer>(cr.events).empty());
}

TEST(auth, a_replayed_message_is_refused) {
    secured_pair p(0x0f, alice(mode_encrypted));
    p.open();
    auto msg = p.client.request_session(request());
    auto r = p.server.feed(msg, t0);
    ASSERT_EQ(all_of<session_accepted>(r.actions).size(), 1U);
    // The same ciphertext again: in the chained stream its first block decrypts to other
    // octets, and the HMAC (or the command octet) gives it away.
    r = p.server.feed(msg, t0);
    ASSERT_NE(r.closed(), nullptr);
    EXPECT_TRUE(all_of<session_accepted>(r.actions).empty());
    EXPECT_TRUE(r.closed()->reason == close_reason::bad_hmac ||
                r.closed()->reason == close_reason::unknown_command)
            << to_string(r.closed()->reason);
    // A Set-Up-Response replayed from another connection: its Token hides that connection's
    // Challenge, not this one's.
    secured_pair first(0x0f, alice(mode_authenticated));
    std::vector<uint8_t> setup;
    {
        auto g = first.server.greeting(t0).output;
        setup = first.client.feed(g).output;
    }
    secured_pair second(0x0f, alice(mode_authenticated));
    second.server.greeting(t0);
    auto r2 = second.server.feed(setup, t0);
    ASSERT_NE(r2.closed(), nullptr);
    EXPECT_EQ(r2.closed()->reason, close_reason::bad_token);
}

TEST(auth, limiter_refuses_derivations_over_the_rate) {
    uint64_t mono = 5 * s; // the limiter's own clock (the driver's CLOCK_MONOTONIC)
    derivation_limiter limiter(2, [&] { return mono; });
    int derivations = 0;
    server_policy pol = policy(0x0f);
    pol.limiter = &limiter;
    pol.derive = [&](std::span<const uint8_t> sec, std::span<const uint8_t, 16> salt, uint32_t n,
                     std::array<uint8_t, 16>& out) {
        ++derivations;
        return derive_key(sec, salt, n, out);
    };
    server_counters counters;
    port_pool pool({64364, 64373}, 16);
    auto connect = [&](uint64_t now) {
        server_connection c(pol, pool, addrs, os_random, &counters);
        client_connection cl(alice(mode_authenticated));
        auto setup = cl.feed(c.greeting(now).output).output;
        auto r = c.feed(setup, now);
        return std::make_pair(r, cl.feed(r.output));
    };
    EXPECT_EQ(connect(t0).first.closed(), nullptr);
    EXPECT_EQ(connect(t0).first.closed(), nullptr);
    mono += 1000;
    auto [r, cr] = connect(t0 + 1000);
    ASSERT_NE(r.closed(), nullptr);
    EXPECT_EQ(r.closed()->reason, close_reason::derivation_refused);
    ASSERT_EQ(r.output.size(), server_start_size);
    EXPECT_EQ(r.output[15], 5) << "Server-Start Accept 5: temporary resource limitation";
    EXPECT_EQ(derivations, 2) << "refused without deriving";
    EXPECT_EQ(counters.key_derivations_done.load(), 2U);
    EXPECT_EQ(counters.key_derivations_refused.load(), 1U);
    EXPECT_EQ(counters.auth_failures[static_cast<std::size_t>(auth_failure::derivation_refused)],
              1U);
    ASSERT_NE(cr.closed(), nullptr);
    EXPECT_EQ(cr.closed()->reason, client_close_reason::server_refused);
    // Half a second later one token is back (2 per second).
    mono += s / 2;
    EXPECT_EQ(connect(t0 + s / 2 + 1000).first.closed(), nullptr);
    mono += 1000;
    EXPECT_NE(connect(t0 + s / 2 + 2000).first.closed(), nullptr);
    EXPECT_EQ(derivations, 3);
    // The connections' time (Unix time) stepping back an hour changes nothing: the limiter
    // reads its own clock. Half a second later on it, one more token.
    mono += s / 2;
    EXPECT_EQ(connect(t0 - 3600 * s).first.closed(), nullptr);
    EXPECT_NE(connect(t0 - 3600 * s).first.closed(), nullptr);
    EXPECT_EQ(derivations, 4);
}

// Issue 18 review: one address at the whole rate starved every authenticated client. A source
// gets a quarter of the rate (at least 4); another source is still served.
TEST(auth, limiter_gives_one_source_a_share_only) {
    derivation_limiter l(100, [] { return uint64_t{0}; });
    EXPECT_EQ(l.source_rate(), 25U);
    const auto flood = v4(203, 0, 113, 9), healthy = v4(198, 18, 0, 1);
    using v = derivation_limiter::verdict;
    for (int i = 0; i < 25; ++i) {
        ASSERT_EQ(l.try_acquire_from(flood, 5 * s), v::ok) << i;
    }
    EXPECT_EQ(l.try_acquire_from(flood, 5 * s), v::source_limit);
    EXPECT_EQ(l.try_acquire_from(flood, 5 * s), v::source_limit);
    EXPECT_EQ(l.try_acquire_from(healthy, 5 * s), v::ok) << "another client still derives";
    // Refusals by the source bucket take no global token: 100 - 26 left.
    int ok = 0;
    for (uint8_t h = 1; h < 200 && ok < 100; ++h) {
        ok += l.try_acquire_from(v4(192, 0, 2, h), 5 * s) == v::ok ? 1 : 0;
    }
    EXPECT_EQ(ok, 74);
    EXPECT_EQ(l.try_acquire_from(v4(192, 0, 2, 250), 5 * s), v::global_limit);
    // One IPv6 /64 is one source.
    derivation_limiter l6(8, [] { return uint64_t{0}; });
    EXPECT_EQ(l6.source_rate(), 4U);
    auto a6 = [](uint8_t last) {
        std::array<uint8_t, 16> b{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, last};
        return twamp::net::address::from_octets(twamp::net::ip_family::ipv6, b.data());
    };
    for (uint8_t i = 1; i <= 4; ++i) {
        EXPECT_EQ(l6.try_acquire_from(a6(i), 0), v::ok);
    }
    EXPECT_EQ(l6.try_acquire_from(a6(77), 0), v::source_limit);
    // A slow rate: the whole rate for one source.
    derivation_limiter l2(2, [] { return uint64_t{0}; });
    EXPECT_EQ(l2.source_rate(), 2U);
}

TEST(auth, a_derivation_flood_from_one_source_is_counted_and_others_served) {
    uint64_t mono = 5 * s;
    derivation_limiter limiter(8, [&] { return mono; }); // 4 a second for one source
    server_policy pol = policy(0x0f);
    pol.limiter = &limiter;
    server_counters counters;
    port_pool pool({64364, 64373}, 16);
    auto connect = [&](const connection_addresses& a) {
        server_connection c(pol, pool, a, os_random, &counters);
        client_connection cl(alice(mode_authenticated));
        auto setup = cl.feed(c.greeting(t0).output).output;
        return c.feed(setup, t0).closed() == nullptr;
    };
    const connection_addresses evil{v4(198, 18, 0, 2), v4(198, 18, 0, 66)};
    for (int i = 0; i < 4; ++i) {
        EXPECT_TRUE(connect(evil)) << i;
    }
    EXPECT_FALSE(connect(evil));
    EXPECT_FALSE(connect(evil));
    EXPECT_TRUE(connect(addrs)) << "the healthy client is served";
    EXPECT_EQ(counters.key_derivations_refused.load(), 2U);
    EXPECT_EQ(counters.key_derivations_refused_source.load(), 2U);
    EXPECT_EQ(counters.key_derivations_done.load(), 5U);
}

TEST(auth, limiter_survives_a_clock_stepping_back) {
    derivation_limiter l(2, [] { return uint64_t{0}; });
    EXPECT_TRUE(l.try_acquire(t0));
    EXPECT_TRUE(l.try_acquire(t0));
    EXPECT_FALSE(l.try_acquire(t0)) << "drained";
    // The clock steps back 100 s: no refill for the step...
    const uint64_t back = t0 - 100 * s;
    EXPECT_FALSE(l.try_acquire(back));
    // ...and no stall either: refilling restarts from the new time (2 per second).
    EXPECT_FALSE(l.try_acquire(back + s / 2 - 10));
    EXPECT_TRUE(l.try_acquire(back + s / 2 + 10)) << "a token half a second after the step";
    EXPECT_FALSE(l.try_acquire(back + s / 2 + 20));
    EXPECT_TRUE(l.try_acquire(back + 2 * s));
    EXPECT_TRUE(l.try_acquire(back + 2 * s)) << "full again";
    EXPECT_FALSE(l.try_acquire(back + 2 * s));
    // A second step back, while a fraction of a token is in the bucket: nothing lost, nothing
    // added.
    EXPECT_FALSE(l.try_acquire(back + 2 * s + s / 4));
    EXPECT_FALSE(l.try_acquire(back - s));
    EXPECT_TRUE(l.try_acquire(back - s + s / 4 + 10)) << "the quarter before plus a quarter after";
}

// Key material hygiene: every copy of the session keys (the connection's, the Token's,
// session_info's in actions and the driver's table) is wiped when it dies.
TEST(auth, session_keys_are_wiped_when_they_die) {
    alignas(session_keys) unsigned char kb[sizeof(session_keys)];
    auto* k = new (kb) session_keys;
    k->aes.fill(0xa5);
    k->hmac.fill(0x5a);
    const session_keys copy = *k;
    EXPECT_EQ(copy.aes[3], 0xa5);
    k->~session_keys();
    // The storage outlives the object; the compiler must read it as it is now, not assume
    // the dead object's octets are undefined.
    asm volatile("" : : "r"(kb) : "memory");
    EXPECT_EQ(std::count(kb, kb + sizeof kb, 0), static_cast<std::ptrdiff_t>(sizeof kb));

    alignas(session_info) unsigned char ib[sizeof(session_info)];
    auto* i = new (ib) session_info;
    i->aes_session_key.fill(0xa5);
    i->hmac_session_key.fill(0x5a);
    const std::size_t a = offsetof(session_info, aes_session_key);
    const std::size_t h = offsetof(session_info, hmac_session_key);
    const session_info icopy = *i;
    EXPECT_EQ(icopy.hmac_session_key[31], 0x5a);
    i->~session_info();
    asm volatile("" : : "r"(ib) : "memory");
    EXPECT_EQ(std::count(ib + a, ib + a + 16, 0), 16);
    EXPECT_EQ(std::count(ib + h, ib + h + 32, 0), 32);
}

TEST(auth, limiter_is_a_token_bucket) {
    derivation_limiter l(3, [] { return uint64_t{0}; });
    EXPECT_TRUE(l.try_acquire(t0));
    EXPECT_TRUE(l.try_acquire(t0));
    EXPECT_TRUE(l.try_acquire(t0));
    EXPECT_FALSE(l.try_acquire(t0)) << "burst = the rate";
    EXPECT_FALSE(l.try_acquire(t0 + s / 3 - 10));
    EXPECT_TRUE(l.try_acquire(t0 + s / 3 + 10));
    EXPECT_FALSE(l.try_acquire(t0 + s / 3 + 20));
    EXPECT_TRUE(l.try_acquire(t0 + 100 * s)) << "a long gap refills, no more than the burst";
    EXPECT_TRUE(l.try_acquire(t0 + 100 * s));
    EXPECT_TRUE(l.try_acquire(t0 + 100 * s));
    EXPECT_FALSE(l.try_acquire(t0 + 100 * s));
    l.set_rate(1);
    EXPECT_TRUE(l.try_acquire(t0 + 102 * s));
    EXPECT_FALSE(l.try_acquire(t0 + 102 * s)) << "the new burst";
}

TEST(auth, the_client_refuses_an_unreasonable_count) {
    for (uint32_t count : {512U, 1U << 25}) {
        client_connection c(alice(mode_authenticated));
        auto g = bytes{}.zeros(12).u32(0x0f).zeros(32).u32(count).zeros(12);
        auto r = c.feed(g);
        ASSERT_NE(r.closed(), nullptr) << count;
        EXPECT_EQ(r.closed()->reason, client_close_reason::bad_count);
        ASSERT_EQ(r.output.size(), setup_response_size);
        EXPECT_EQ(twamp::proto::load_be32(r.output.data()), 0U) << "Mode 0";
    }
    client_options o = alice(mode_authenticated);
    o.key_id.clear();
    client_connection c(o);
    auto r = c.feed(bytes{}.zeros(12).u32(0x0f).zeros(32).u32(1024).zeros(12));
    ASSERT_NE(r.closed(), nullptr);
    EXPECT_EQ(r.closed()->reason, client_close_reason::no_key);
}
