// libFuzzer target: TWAMP-Control state machines (src/control) fed arbitrary bytes.
//
// Input: 3 header octets, then the byte stream a client sends.
//   [0] modes offered: bit 0 individual session control, bit 1 reflect octets, bit 2
//       symmetrical size, bit 3 IPv6 control connection; bits 4..7: max sessions - 1
//   [1] seed of the chunking and the clock
//   [2] receiver port range size - 1 (low 4 bits); bit 4: third-party senders allowed; bit 5:
//       PTPv2 timestamps offered (RFC 8186); bit 6: secured (issue 17): the server also offers
//       authenticated, encrypted and mixed with a key store, a scripted client opens the
//       connection in authenticated (bit 7 clear) or encrypted mode, and the stream is cut into
//       messages (length from their command octet, as the server frames them) that are sealed
//       in the client's CBC stream with a valid HMAC, one in 64 then corrupted (bad_hmac); the
//       harness decrypts the server's output to check it. A secured client_connection also
//       reads the raw stream.
// The stream goes to a server_connection in pseudo-random chunks (1..256 octets) with on_timer()
// calls in between while a clock advances; the harness plays the driver: it releases the port of
// every stopped or closed session at once, and now and then ends a started session itself
// (REFWAIT: sessions_ended). The same stream also goes to a client_connection that
// asks for two sessions, a start and (if negotiated) Start-N/Stop-N.
//
// Invariants (FUZZ_CHECK traps):
//   - output is bounded: never more than the 64-octet greeting plus the octets fed;
//   - at most one connection_closed, always the last action, and nothing after it;
//   - at most one message buffered (<= 164 octets or one RFC 5938 message for the sessions held);
//   - every session_accepted has a fresh SID and a free receiver port inside the range, an
//     Accept-Session with that port and SID in the same output, and the pool never holds more
//     than max sessions; started/stopped/closed SIDs are sessions the connection holds, each
//     started once; the connection's own session list equals the harness's;
//   - every accepted session's Receiver Address is one of the box's, its Sender Address the
//     client's (or, when allowed, inside the prefixes), its Timeout at most the cap;
//   - the counters agree with the actions.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <variant>
#include <vector>

#include "fuzz_oracle.hpp"

#include "twamp/control/cipher.hpp"
#include "twamp/control/client.hpp"
#include "twamp/control/server.hpp"

namespace {

namespace tc = twamp::control;
using ip_address = twamp::net::address;

struct rng {
    uint32_t x;
    uint32_t next() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        return x;
    }
};

struct live_session {
    uint16_t port = 0;
    bool started = false;
};

struct harness {
    tc::port_pool& pool;
    const tc::server_connection& conn;
    uint32_t max_sessions;
    std::map<tc::sid_t, live_session> live;
    bool closed = false;
    uint64_t accepted = 0;
    uint64_t refused = 0;
    uint64_t started = 0;
    const tc::server_policy* policy = nullptr;
    const tc::connection_addresses* addrs = nullptr;

    void end(const tc::sid_t& sid, uint16_t port) {
        auto it = live.find(sid);
        FUZZ_CHECK(it != live.end());
        FUZZ_CHECK(it->second.port == port);
        pool.release(port);
        live.erase(it);
    }

    static bool has_accept(const std::vector<uint8_t>& out, uint16_t port, const tc::sid_t& sid) {
        // Accept-Session: Accept 0, MBZ 0, Port, SID (RFC 5357 §3.5), at a 16-octet boundary
        // (every message the server writes is a multiple of 16 octets).
        for (std::size_t at = 0; at + tc::accept_session_size <= out.size(); at += 16) {
            if (out[at] == 0 && out[at + 1] == 0 && twamp::fuzz::be16(&out[at + 2]) == port &&
                twamp::fuzz::same(&out[at + 4], sid.data(), 16)) {
                return true;
            }
        }
        return false;
    }

    void check(const tc::result& r) {
        FUZZ_CHECK(!closed || (r.output.empty() && r.actions.empty()));
        FUZZ_CHECK(r.output.size() % 16 == 0);
        for (std::size_t i = 0; i < r.actions.size(); ++i) {
            const auto& a = r.actions[i];
            if (const auto* acc = std::get_if<tc::session_accepted>(&a)) {
                const auto& s = acc->session;
                FUZZ_CHECK(pool.range().contains(s.receiver_port));
                FUZZ_CHECK(live.count(s.sid) == 0);
                for (const auto& [sid, l] : live) {
                    FUZZ_CHECK(l.port != s.receiver_port);
                }
                FUZZ_CHECK(has_accept(r.output, s.receiver_port, s.sid));
                FUZZ_CHECK(s.dscp < 64);
                const auto& local = policy->local_addresses;
                FUZZ_CHECK(std::find(local.begin(), local.end(), s.receiver) != local.end());
                FUZZ_CHECK(
                        s.sender == addrs->peer ||
                        (policy->allow_third_party_senders &&
                         std::any_of(policy->sender_prefixes.begin(), policy->sender_prefixes.end(),
                                     [&](const auto& p) { return p.contains(s.sender); })));
                FUZZ_CHECK(s.timeout_ns <= policy->max_timeout_ns);
                live[s.sid] = {s.receiver_port, false};
                ++accepted;
            } else if (std::holds_alternative<tc::session_refused>(a)) {
                ++refused;
            } else if (const auto* st = std::get_if<tc::sessions_started>(&a)) {
                FUZZ_CHECK(!st->sids.empty());
                for (const auto& sid : st->sids) {
                    auto it = live.find(sid);
                    FUZZ_CHECK(it != live.end());
                    FUZZ_CHECK(!it->second.started);
                    it->second.started = true;
                    ++started;
                }
            } else if (const auto* sp = std::get_if<tc::sessions_stopped>(&a)) {
                FUZZ_CHECK(!sp->sessions.empty());
                for (const auto& ref : sp->sessions) {
                    FUZZ_CHECK(live.count(ref.sid) == 1);
                    FUZZ_CHECK(live[ref.sid].started == ref.started);
                    end(ref.sid, ref.receiver_port);
                }
            } else if (const auto* cl = std::get_if<tc::connection_closed>(&a)) {
                FUZZ_CHECK(i + 1 == r.actions.size());
                FUZZ_CHECK(r.closed() == cl);
                FUZZ_CHECK(cl->sessions.size() == live.size());
                for (const auto& ref : cl->sessions) {
                    end(ref.sid, ref.receiver_port);
                }
                closed = true;
            }
        }
        FUZZ_CHECK(closed == conn.is_closed());
        FUZZ_CHECK(pool.in_use() == live.size());
        FUZZ_CHECK(live.size() <= max_sessions);
        auto refs = conn.sessions();
        FUZZ_CHECK(refs.size() == live.size());
        for (const auto& ref : refs) {
            auto it = live.find(ref.sid);
            FUZZ_CHECK(it != live.end());
            FUZZ_CHECK(it->second.port == ref.receiver_port);
            FUZZ_CHECK(it->second.started == ref.started);
        }
        FUZZ_CHECK(conn.buffered() <= std::max<std::size_t>(tc::setup_response_size,
                                                            tc::n_sessions_size(live.size())));
    }
};

// PBKDF2 stand-in: a cheap deterministic function of the secret and salt (the derivation itself
// is libcrypto's and tested by known answers; here only the paths around it matter).
bool fake_derive(std::span<const uint8_t> secret, std::span<const uint8_t, 16> salt, uint32_t,
                 std::array<uint8_t, 16>& out) {
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i] = static_cast<uint8_t>(salt[i] ^ (secret.empty() ? 0 : secret[i % secret.size()]));
    }
    return true;
}

const std::vector<uint8_t> fuzz_secret{'s', 'e', 'c', 'r', 'e', 't'};

// The length of the message a stream's next octets start (as the server frames it): the
// Number of Sessions of an RFC 5938 command is taken modulo 4.
std::size_t message_length(std::span<const uint8_t> rest) {
    switch (rest[0]) {
    case 5:
        return tc::request_tw_session_size;
    case 2:
    case 3:
        return 32;
    case 7:
    case 9: {
        const uint32_t n = rest.size() >= 16 ? twamp::fuzz::be16(&rest[14]) % 4U : 0U;
        return tc::n_sessions_size(n);
    }
    default:
        return 16;
    }
}

void fuzz_client(std::span<const uint8_t> stream, tc::client_options o, rng& r) {
    tc::client_connection c(std::move(o));
    std::size_t out = 0;
    bool asked = false;
    std::vector<tc::sid_t> sids;
    while (!stream.empty() && c.state() != tc::client_state::closed) {
        std::size_t n = std::min<std::size_t>(1 + r.next() % 256, stream.size());
        auto res = c.feed(stream.first(n));
        stream = stream.subspan(n);
        out += res.output.size();
        for (const auto& e : res.events) {
            if (const auto* a = std::get_if<tc::session_answer>(&e)) {
                sids.push_back(a->answer.sid);
            }
        }
        if (c.state() == tc::client_state::ready && !asked) {
            asked = true;
            FUZZ_CHECK(c.request_session({}).size() == tc::request_tw_session_size);
            FUZZ_CHECK(c.request_session({}).size() == tc::request_tw_session_size);
            FUZZ_CHECK(c.start_sessions().size() == tc::start_sessions_size);
        }
        if (c.state() == tc::client_state::ready && sids.size() == 2 &&
            (c.mode() & tc::mode_individual_session_control) != 0) {
            FUZZ_CHECK(c.start_n_sessions(sids).size() == tc::n_sessions_size(2));
            FUZZ_CHECK(c.stop_n_sessions(std::span(sids).first(1)).size() ==
                       tc::n_sessions_size(1));
            sids.clear();
        }
    }
    // The client writes only its Set-Up-Response in answer to what it reads.
    FUZZ_CHECK(out <= tc::setup_response_size);
}

// Seals the plaintext octets of the server's output the harness checks (secured mode).
struct decryptor {
    std::unique_ptr<tc::control_stream> rx;
    std::size_t seen = 0; // octets of output so far (the greeting included)
    void operator()(std::vector<uint8_t>& out, const tc::session_keys* keys) {
        std::size_t from = 0;
        if (!rx && keys != nullptr && seen + out.size() >= tc::server_greeting_size + 48) {
            // Server-Start: 32 octets clear (Server-IV at 16), then the stream.
            const std::size_t at = tc::server_greeting_size - seen;
            std::array<uint8_t, 16> iv{};
            std::copy(out.begin() + static_cast<long>(at + 16),
                      out.begin() + static_cast<long>(at + 32), iv.begin());
            if (out[at + 15] == 0) {
                rx = std::make_unique<tc::control_stream>(*keys, iv);
            }
            from = at + 32;
        } else if (!rx) {
            from = out.size();
        }
        seen += out.size();
        if (rx && from < out.size()) {
            rx->decrypt(std::span<uint8_t>(out).subspan(from));
        }
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 3) {
        return 0;
    }
    const uint8_t opts = data[0];
    uint32_t modes = tc::mode_unauthenticated;
    modes |= (opts & 1) ? tc::mode_individual_session_control : 0;
    modes |= (opts & 2) ? tc::mode_reflect_octets : 0;
    modes |= (opts & 4) ? tc::mode_symmetrical_size : 0;
    modes |= (data[2] & 0x20) ? tc::mode_ptpv2_timestamps : 0;
    const bool v6 = (opts & 8) != 0;
    const uint32_t max_sessions = 1U + (opts >> 4);
    rng r{0x9e3779b9U ^ data[1]};
    const auto range_size = static_cast<uint16_t>(1 + (data[2] & 0xf));
    std::span<const uint8_t> stream(data + 3, size - 3);

    tc::port_pool pool({64364, static_cast<uint16_t>(64364 + range_size - 1)}, max_sessions);
    tc::server_counters counters;
    tc::server_policy policy;
    policy.modes = modes;
    policy.servwait_ns = 50'000'000'000ULL;
    policy.start_time_ns = 1'600'000'000'000'000'000ULL;
    tc::connection_addresses addrs{ip_address::v4(198, 18, 0, 2), ip_address::v4(198, 18, 0, 1)};
    if (v6) {
        addrs = {*ip_address::parse("2001:2::2"), *ip_address::parse("2001:2::1")};
    }
    // The box's addresses: the connection's own and one more of each family (a request naming
    // one of them explicitly is accepted; any other Receiver Address is refused).
    policy.local_addresses = {addrs.local, ip_address::v4(198, 19, 0, 2),
                              *ip_address::parse("2001:2:0:100::2")};
    policy.allow_third_party_senders = (data[2] & 0x10) != 0;
    policy.sender_prefixes = {*twamp::net::prefix::parse("198.18.0.0/15"),
                              *twamp::net::prefix::parse("2001:2::/48")};
    policy.max_timeout_ns = 30'000'000'000ULL;
    const bool secured = (data[2] & 0x40) != 0;
    const uint32_t security = (data[2] & 0x80) != 0 ? tc::mode_encrypted : tc::mode_authenticated;
    if (secured) {
        policy.modes |= tc::mode_authenticated | tc::mode_encrypted | tc::mode_mixed;
        auto keys = std::make_shared<tc::key_store>();
        keys->add({"fuzz", fuzz_secret});
        policy.keys = keys;
        policy.count = 1024;
        policy.derive = fake_derive;
    }
    uint32_t random_state = 1;
    tc::server_connection conn(
            policy, pool, addrs,
            [&random_state](std::span<uint8_t> out) {
                for (auto& b : out) {
                    random_state = random_state * 1103515245U + 12345U;
                    b = static_cast<uint8_t>(random_state >> 16);
                }
            },
            &counters);
    harness h{pool, conn, max_sessions, {}, false, 0, 0, 0};
    h.policy = &policy;
    h.addrs = &addrs;

    uint64_t now = 1'700'000'000'000'000'000ULL;
    std::size_t in_total = 0;
    std::size_t out_total = 0;
    auto account = [&](const tc::result& res) {
        out_total += res.output.size();
        h.check(res);
        FUZZ_CHECK(out_total <= tc::server_greeting_size + in_total);
    };
    decryptor plain;
    tc::session_keys keys{};
    std::unique_ptr<tc::control_stream> tx; // the scripted client's stream (secured)
    auto greeting = conn.greeting(now);
    account(greeting);
    plain.seen = greeting.output.size();
    if (secured) {
        uint8_t k = 0x40;
        tc::client_connection cl({.wanted_modes = modes,
                                  .security = security,
                                  .key_id = "fuzz",
                                  .secret = fuzz_secret,
                                  .random =
                                          [&k](std::span<uint8_t> out) {
                                              for (auto& b : out) {
                                                  b = k++;
                                              }
                                          },
                                  .derive = fake_derive});
        auto setup = cl.feed(greeting.output).output;
        FUZZ_CHECK(setup.size() == tc::setup_response_size);
        in_total += setup.size();
        auto res = conn.feed(setup, now);
        FUZZ_CHECK(res.output.size() == tc::server_start_size);
        auto copy = res.output;
        FUZZ_CHECK(!cl.feed(copy).closed());
        FUZZ_CHECK(cl.negotiated_keys().has_value());
        keys = *cl.negotiated_keys();
        FUZZ_CHECK(conn.security_mode() == security);
        plain(res.output, &keys);
        account(res);
        std::array<uint8_t, 16> client_iv{};
        std::copy(setup.begin() + 148, setup.end(), client_iv.begin());
        tx = std::make_unique<tc::control_stream>(keys, client_iv);
    }
    uint64_t corrupted = 0;
    std::span<const uint8_t> rest = stream;
    while (!rest.empty()) {
        tc::result res;
        if (tx) {
            // One whole message, sealed; fed in two pieces.
            std::vector<uint8_t> msg(message_length(rest), 0);
            const std::size_t n = std::min(msg.size(), rest.size());
            std::copy(rest.begin(), rest.begin() + static_cast<long>(n), msg.begin());
            if (msg[0] == 7 || msg[0] == 9) { // RFC 5938: the Number of Sessions framed
                msg[12] = msg[13] = msg[14] = 0;
                msg[15] = static_cast<uint8_t>((msg.size() - 32) / 16);
            }
            rest = rest.subspan(n);
            tx->seal(msg, true);
            if ((r.next() & 63) == 0) {
                msg[r.next() % msg.size()] ^= 0x10;
                ++corrupted;
            }
            in_total += msg.size();
            const std::size_t cut = r.next() % msg.size();
            res = conn.feed(std::span<const uint8_t>(msg).first(cut), now);
            plain(res.output, &keys);
            account(res);
            res = conn.feed(std::span<const uint8_t>(msg).subspan(cut), now);
            plain(res.output, &keys);
        } else {
            std::size_t n = std::min<std::size_t>(1 + r.next() % 256, rest.size());
            in_total += n;
            res = conn.feed(rest.first(n), now);
            rest = rest.subspan(n);
        }
        account(res);
        uint32_t step = r.next();
        now += static_cast<uint64_t>(step % 16) * 1'000'000'000ULL;
        if (step & 0x100) {
            auto deadline = conn.next_deadline();
            account(conn.on_timer(now));
            if (deadline && now >= *deadline) {
                FUZZ_CHECK(conn.is_closed());
            }
        }
        if ((step & 0x600) == 0x600) { // REFWAIT: the driver ends a started session itself
            auto it = std::find_if(h.live.begin(), h.live.end(),
                                   [](const auto& kv) { return kv.second.started; });
            if (it != h.live.end()) {
                const tc::sid_t sid = it->first;
                h.end(sid, it->second.port);
                const bool others = std::any_of(h.live.begin(), h.live.end(),
                                                [](const auto& kv) { return kv.second.started; });
                account(conn.sessions_ended(std::span<const tc::sid_t>(&sid, 1)));
                FUZZ_CHECK(conn.is_closed() == !others);
            }
        }
    }
    account(conn.abort(tc::close_reason::peer_closed));
    FUZZ_CHECK(conn.is_closed());
    FUZZ_CHECK(pool.in_use() == 0);
    FUZZ_CHECK(counters.session_accepted.load() == h.accepted);
    FUZZ_CHECK(counters.session_started.load() == h.started);
    uint64_t refused = 0;
    for (const auto& c : counters.session_refused) {
        refused += c.load();
    }
    FUZZ_CHECK(refused == h.refused);
    FUZZ_CHECK(counters.session_attempts.load() >= h.accepted + h.refused);
    uint64_t closes = 0;
    for (const auto& c : counters.closed) {
        closes += c.load();
    }
    FUZZ_CHECK(closes == 1);
    const auto bad_hmac =
            counters.auth_failures[static_cast<std::size_t>(tc::auth_failure::bad_hmac)].load();
    FUZZ_CHECK(bad_hmac <= corrupted);
    FUZZ_CHECK(counters.key_derivations_done.load() == (secured ? 1U : 0U));

    fuzz_client(stream, {.wanted_modes = modes}, r);
    if (secured) {
        fuzz_client(stream,
                    {.wanted_modes = modes,
                     .security = security,
                     .key_id = "fuzz",
                     .secret = fuzz_secret,
                     .derive = fake_derive},
                    r);
    }
    return 0;
}
