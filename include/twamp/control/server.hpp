// TWAMP-Control Server (RFC 5357 §3 in unauthenticated, authenticated and encrypted modes,
// RFC 5618 mixed mode; RFC 5938 individual session control; RFC 6038 reflect octets and
// symmetrical size) as a pure state machine: bytes in, bytes out and actions. No sockets, no
// clock reads, no DPDK: the slow path's epoll driver owns the TCP connection, the timers and the
// session table, and does what the actions say.
//
// Security modes (RFC 4656 §3.1): the greeting carries a random Challenge and Salt and the
// policy's Count. A Set-Up-Response in authenticated, encrypted or mixed mode is answered after
// asking policy.limiter for a derivation (refused: Server-Start Accept 5, close
// derivation_refused), looking its KeyID up in policy.keys, deriving the key (PBKDF2, the
// salt and Count) and decrypting the Token: an unknown KeyID or a Challenge that is not ours is
// answered with Server-Start Accept 1 and closed (unknown_key_id, bad_token). An unknown KeyID
// is derived with a stand-in secret all the same, as perfSONAR's sapi.c does, so the answer's
// timing does not tell which KeyIDs exist. Then every message both ways goes through a
// control_stream (cipher.hpp): a client command whose HMAC fails closes the connection
// (bad_hmac). Each failure is counted in server_counters::auth_failures. Mixed mode is
// encrypted mode for TWAMP-Control; its test packets are unauthenticated (session keys stay
// zero in session_info).
//
// Driver contract, per accepted TCP connection:
//   1. construct a server_connection; send greeting(now).output;
//   2. on readable: send feed(bytes, now).output, then apply its actions in order;
//   3. arm a timer for next_deadline(); when it fires, on_timer(now) (may close);
//   4. on EOF / error / shutdown: abort(reason) and apply its actions;
//   5. a result whose closed() is true: send its output (best effort), then close the socket.
//      Nothing more comes out of the connection after that.
//   6. release each session's receiver port (port_pool::release) when it ends: after its
//      timeout_ns once stopped, or when connection_closed hands it back;
//   7. a started session it ends on its own (REFWAIT: no test packet for that long): tell the
//      connection with sessions_ended(), and apply the result like feed()'s.
// Output is bounded: a connection never writes more than server_greeting_size + the number
// of octets it was fed, so a client that does not read cannot make the server buffer more than
// it sent (a driver whose send queue is full simply stops reading). Input is consumed whole: at
// most one message is buffered (its length is known from its first octets, and capped: see
// too_many_sids).
//
// Strictness: a message that cannot be framed or is out of order ends the connection (with a
// close_reason, counted). MBZ octets of command headers are checked (non-zero: mbz_nonzero);
// fields the RFCs leave unused in unauthenticated mode (KeyID, Token, IVs, HMACs) and the
// Request-TW-Session SID, Number of Packets (which the Session-Reflector does not use) and its
// RFC 6038 octets when that mode is not negotiated are ignored. A request the server cannot serve
// is answered with an Accept code, never by closing.
//
// Whom the box sends to, and from which address (issue 12: an admitted client must not aim the
// reflector at a third party nor make it spoof): a request's Receiver Address must be one of the
// box's own addresses (policy.local_addresses; zero = the connection's local address, RFC 5357
// §3.5), its Sender Address the control client's own (zero = it), or, only with
// policy.allow_third_party_senders, an address inside policy.sender_prefixes (control.prefixes).
// Anything else is refused with Accept 3, "Some aspect of request is not supported" (RFC 4656
// §3.3): the request is well formed, and this server does not support it; Accept 1 ("Failure,
// reason unspecified") would hide why. The Timeout is clamped to policy.max_timeout_ns: the
// client is not told (Accept-Session has no field for it), and only test packets arriving more
// than max_timeout after Stop-Sessions go unanswered, which any sender counts as lost anyway.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "twamp/control/cipher.hpp"
#include "twamp/control/keys.hpp"
#include "twamp/control/messages.hpp"
#include "twamp/control/session.hpp"
#include "twamp/net/address.hpp"

namespace twamp::control {

// Why a control connection ended. The names (to_string) are metric label values.
enum class close_reason : uint8_t {
    no_modes,         // the policy offers no mode (refused connection: Modes = 0 greeting)
    client_refused,   // Set-Up-Response with Mode 0
    mode_not_offered, // a Mode we did not offer (answered with Server-Start Accept 3)
    servwait,         // no control message for SERVWAIT seconds outside a test
    unknown_command,  // a command number we do not serve (or not in the negotiated mode)
    out_of_order,     // a message the state does not allow (e.g. data before Set-Up-Response)
    mbz_nonzero,      // a Must-Be-Zero header field was not zero
    too_many_sids,    // an RFC 5938 command naming more SIDs than the connection has sessions
    no_sessions,      // Start-Sessions with no session (answered with Start-Ack Accept 1)
    peer_closed,      // abort(): the client closed the TCP connection
    io_error,         // abort(): socket error
    shutdown,         // abort(): server stopping or the connection is no longer allowed
    refwait,          // sessions_ended() left no started session (REFWAIT ended the test)
    // Authenticated, encrypted and mixed modes (each also counted in auth_failures):
    unknown_key_id,     // Set-Up-Response KeyID not in the key store (Server-Start Accept 1)
    bad_token,          // the Token's Challenge is not ours: wrong secret (Server-Start Accept 1)
    bad_hmac,           // a client command whose HMAC does not verify (tampered, replayed)
    derivation_refused, // the key-derivation limiter said no (Server-Start Accept 5)
    internal_error,     // the key derivation failed (libcrypto) (Server-Start Accept 2)
    // Issue 18 (slow clients):
    setup_timeout, // no complete Set-Up-Response within policy.setup_timeout_ns of the greeting
    send_stalled,  // abort(): the driver's output to a client that does not read stayed backed
                   // up for SERVWAIT
    evicted,       // abort(): a pending connection (greeting phase) closed to admit a newer one
                   // while control.max-pending were pending
    idle_timeout,  // past Server-Start with no session for policy.idle_timeout_ns
    evicted_idle,  // abort(): a session-less connection closed to admit a newer one while
                   // control.max-connections were open
};
inline constexpr std::size_t close_reason_count = 23;
std::string_view to_string(close_reason r) noexcept;

// Why an authenticated/encrypted/mixed connection failed (metric label values, AUTH-SPEC).
enum class auth_failure : uint8_t {
    unknown_key_id,
    bad_token,
    bad_hmac,
    derivation_refused,
};
inline constexpr std::size_t auth_failure_count = 4;
std::string_view to_string(auth_failure f) noexcept;

// Box totals, shared by every connection of a server (single writer: the slow path; relaxed
// atomics so the metrics thread can read them). session_attempts and session_started keep the
// meaning of Gufo Agent's twamp_reflector counters.
struct server_counters {
    std::atomic<uint64_t> session_attempts{0}; // Request-TW-Session received
    std::atomic<uint64_t> session_accepted{0}; // Accept-Session with Accept 0
    std::atomic<uint64_t> session_started{0};  // sessions moved to started
    std::atomic<uint64_t> session_stopped{0};  // sessions stopped (Stop-Sessions, Stop-N)
    // Accept-Session refusals by Accept code (index = code, 1..5 used).
    std::array<std::atomic<uint64_t>, 6> session_refused{};
    std::array<std::atomic<uint64_t>, close_reason_count> closed{}; // by close_reason
    // PBKDF2 key derivations (RFC 4656 §3.1) performed, and refused by the limiter.
    std::atomic<uint64_t> key_derivations_done{0};
    std::atomic<uint64_t> key_derivations_refused{0};
    // Their time on the slow path, in ns: the driver's derive_fn adds it (the state machine
    // reads no clock; zero under a policy whose derive does not time itself).
    std::atomic<uint64_t> key_derivation_ns{0};
    std::array<std::atomic<uint64_t>, auth_failure_count> auth_failures{}; // by auth_failure
    // Issue 18 review: accepted sessions released because they were not started within
    // policy.unstarted_timeout_ns.
    std::atomic<uint64_t> session_unstarted_expired{0};
    // Key derivations refused because the client's source had used its share
    // (derivation_limiter::source_rate); also counted in key_derivations_refused.
    std::atomic<uint64_t> key_derivations_refused_source{0};
};

// Bounds the PBKDF2 derivations a server performs (control.max-key-derivations): a token
// bucket of `per_second` tokens refilled continuously, burst = the rate, full at start. One per
// server (the driver owns it). Its clock is its own, given by the owner: a clock that does not
// step (the driver's CLOCK_MONOTONIC; a test's variable), not the connections' now_ns (Unix
// time, which NTP may step back). Should it go back all the same, the bucket restarts from
// there: no refill for the step, and no stall after it.
class derivation_limiter {
public:
    using clock_fn = std::function<uint64_t()>;
    derivation_limiter(uint32_t per_second, clock_fn clock) noexcept;
    // Takes a token if there is one, at clock().
    bool try_acquire() noexcept { return try_acquire(clock_()); }
    // The same at a given time (on the limiter's clock).
    bool try_acquire(uint64_t now_ns) noexcept;
    // Issue 18 review: one source (IPv4 address, IPv6 /64) may take at most source_rate() of
    // the tokens a second (burst the same), so one address flooding handshakes cannot starve
    // every other client. Its bucket is one of source_slots, picked by a keyed hash of the
    // source (set_seed): sources sharing a slot share its bucket (conservative).
    enum class verdict { ok, source_limit, global_limit };
    verdict try_acquire_from(const net::address& source) noexcept {
        return try_acquire_from(source, clock_());
    }
    verdict try_acquire_from(const net::address& source, uint64_t now_ns) noexcept;
    void set_seed(uint64_t seed) noexcept { seed_ = seed; }
    // A quarter of the rate, at least 4 (or the whole rate when smaller).
    uint32_t source_rate() const noexcept {
        return std::max(rate_ / 4, std::min<uint32_t>(rate_, 4));
    }
    static constexpr std::size_t source_slots = 256;
    // Reload: a new rate (the level is kept, capped at the new burst).
    void set_rate(uint32_t per_second) noexcept;
    uint32_t rate() const noexcept { return rate_; }

private:
    struct bucket {
        uint64_t level = 0; // tokens * unit
        uint64_t last_ns = 0;
        bool started = false;
    };
    static void refill(bucket& b, uint32_t rate, uint64_t now_ns) noexcept;
    static constexpr uint64_t unit = 1'000'000'000ULL; // one token, in token-nanoseconds
    uint32_t rate_;
    bucket global_;
    std::array<bucket, source_slots> sources_{};
    uint64_t seed_ = 0x9e3779b97f4a7c15ULL;
    clock_fn clock_;
};

// The RFC 4656 §3.1 derivation (PBKDF2-HMAC-SHA1, 16 octets): control::derive_key, or a
// test's own.
using derive_fn =
        std::function<bool(std::span<const uint8_t> secret, std::span<const uint8_t, 16> salt,
                           uint32_t count, std::array<uint8_t, 16>& out)>;

struct server_policy {
    // Modes offered in the Server-Greeting, masked with supported_modes. Without
    // mode_unauthenticated nothing can be served: the greeting says Modes = 0 (RFC 4656 §3.1:
    // the server does not wish to communicate) and the connection closes (no_modes). A driver
    // refusing a connection (max-connections, prefix ACL) uses modes = 0 to say so properly.
    uint32_t modes = mode_unauthenticated;
    // SERVWAIT counts from the last COMPLETE command (or the greeting): bytes that do not finish
    // a message do not restart it, so a client trickling a byte at a time is still closed.
    uint64_t servwait_ns = 900'000'000'000ULL; // 0 = no SERVWAIT
    // A complete Set-Up-Response must arrive this long after the greeting (control.setup-timeout)
    // or the connection closes (setup_timeout): a connection holds a pending slot only so long.
    // 0 = none (SERVWAIT alone).
    uint64_t setup_timeout_ns = 10'000'000'000ULL;
    uint64_t start_time_ns = 0;     // Server-Start Start-Time: server start, Unix ns
    uint32_t count = default_count; // Server-Greeting Count (>= 1024, power of 2)
    // The box's own addresses (every port and VLAN, both families): the only Receiver Addresses
    // a session may have. Empty: every request is refused ("receiver address").
    std::vector<net::address> local_addresses;
    // A Sender Address other than the client's own: refused unless this is set, and then only
    // inside sender_prefixes (control.allow-third-party-senders, control.prefixes).
    bool allow_third_party_senders = false;
    std::vector<net::prefix> sender_prefixes;
    // Sender Ports a session may not have (the loop guard, README "Limits"): the box's replies
    // go to the Sender Port, so a session aimed at a reflector or an echo-style service port
    // would start a reply loop. Such a request gets Accept 3 (not supported, "sender port").
    // policy_from_config builds it from the reflectors' refused-source-ports: the default
    // "reflector-ports" adds 862, 64364-64373, 7, 13, 17, 19, 37 and (as in the dataplane)
    // own_sender_ports, a list adds itself, `[]` nothing (no reflector at all: the well-known
    // set). Empty: none.
    std::vector<net::port_range> refused_sender_ports;
    // Refused only when the Sender Address is one of local_addresses (the replies would come
    // back to the box itself: a loop through its own reflector or control ports, whatever
    // refused_sender_ports says). policy_from_config: every reflector's udp-ports and
    // control.receiver-ports.
    std::vector<net::port_range> own_sender_ports;
    static bool in(const std::vector<net::port_range>& v, uint16_t port) noexcept {
        for (const auto& r : v) {
            if (port >= r.min && port <= r.max) {
                return true;
            }
        }
        return false;
    }
    bool sender_port_refused(uint16_t port) const noexcept {
        return in(refused_sender_ports, port);
    }
    // The whole check for a request's Sender Address and Port. Addresses compare in their
    // IPv4-mapped form: an IPv6 Sender ::ffff:a.b.c.d is the box's IPv4 a.b.c.d.
    bool sender_refused(const net::address& sender, uint16_t port) const noexcept {
        return sender_port_refused(port) ||
               (in(own_sender_ports, port) &&
                std::any_of(
                        local_addresses.begin(), local_addresses.end(),
                        [m = sender.mapped()](const net::address& a) { return a.mapped() == m; }));
    }
    uint64_t max_timeout_ns = 60'000'000'000ULL; // Request-TW-Session Timeout clamped to this
    // Authenticated, encrypted and mixed modes (RFC 4656 §3.1, RFC 5618): the shared secrets
    // by KeyID (the top-level `keys`). Without keys (null or empty) those modes are not offered.
    std::shared_ptr<const key_store> keys;
    // Asked before every derivation (null: unbounded). Owned by the driver, outlives the
    // connections it is given to.
    derivation_limiter* limiter = nullptr;
    derive_fn derive; // empty: control::derive_key
    // Issue 18 review: sessions one connection may hold at once (control.max-sessions-per-
    // connection, at most max-sessions); more get Accept 5 (temporary resource limitation,
    // RFC 4656 §3.3). 0 = no cap of its own.
    uint32_t max_sessions_per_connection = 0;
    // An accepted session not started within this long is released (its receiver port freed,
    // counted session_unstarted_expired): accepted-but-never-started sessions cannot hold the
    // ports while the client keeps SERVWAIT alive. 0 = never.
    uint64_t unstarted_timeout_ns = 0;
    // Issue 18 review: a connection past Server-Start that holds no session (none requested
    // yet, or all stopped, released or expired) is closed (idle_timeout) this long after it
    // last held one (or after Server-Start), whatever commands it sends (a refused request is
    // no session): admitted connections that never test cannot hold max-connections
    // (control.idle-timeout). SERVWAIT still applies on top; a connection with sessions is
    // not affected. 0 = never.
    uint64_t idle_timeout_ns = 0;
};

// The control connection's own addresses: they replace zero addresses in Request-TW-Session.
struct connection_addresses {
    net::address local;
    net::address peer;
};

// A session of this connection as actions report it.
struct session_ref {
    sid_t sid{};
    uint16_t receiver_port = 0;
    bool started = false;
    uint64_t timeout_ns = 0; // its Timeout (reflect this long after a stop)
    friend bool operator==(const session_ref&, const session_ref&) = default;
};

// Actions, in the order they happened.
// Accept-Session with Accept 0 was written: the allocator reserved session.receiver_port.
struct session_accepted {
    session_info session;
};
// Accept-Session with a non-zero Accept was written (nothing reserved).
struct session_refused {
    accept_code accept = accept_code::failure;
    uint16_t requested_port = 0;
    // For the log line: "ipvn", "conf-sender/conf-receiver", "schedule slots", "type-p",
    // "padding length", "padding to reflect", "address family", "receiver address", "sender
    // address" or "allocator" (its Accept code says why: a limit or a policy refusal). A static
    // string.
    std::string_view why;
};
// Start-Sessions (all not yet started sessions) or Start-N-Sessions: reflect them now.
struct sessions_started {
    std::vector<sid_t> sids;
    bool individual = false; // true: Start-N-Sessions (RFC 5938)
};
// Stop-Sessions (every session of the connection) or Stop-N-Sessions: keep reflecting each
// for its timeout_ns, then remove it and release its port. The connection forgets them.
struct sessions_stopped {
    std::vector<session_ref> sessions;
    uint8_t accept = 0;      // Stop-Sessions Accept: non-zero = the client reports a failure
    bool individual = false; // true: Stop-N-Sessions (RFC 5938)
};
// The connection is over: send the output, close the socket. `sessions` are those it still
// held (accepted or started, not stopped): remove them and release their ports.
struct connection_closed {
    close_reason reason = close_reason::peer_closed;
    std::vector<session_ref> sessions;
};
using action = std::variant<session_accepted, session_refused, sessions_started, sessions_stopped,
                            connection_closed>;

struct result {
    std::vector<uint8_t> output; // to send, in order
    std::vector<action> actions;
    // The connection_closed action, when there is one (always the last action).
    const connection_closed* closed() const noexcept;
};

enum class server_state : uint8_t {
    initial,             // greeting() not called yet
    wait_setup_response, // Server-Greeting sent
    ready,               // Server-Start sent: requests, Start, Stop
    running,             // after Start-Sessions (without RFC 5938: only Stop-Sessions now)
    closed,
};
std::string_view to_string(server_state s) noexcept;

// Fills its argument with unpredictable octets (Challenge, Salt, Server-IV, SID).
using random_fn = std::function<void(std::span<uint8_t>)>;
// getrandom(2); for the driver (tests inject their own).
void os_random(std::span<uint8_t> out) noexcept;

class server_connection {
public:
    // `allocator` and `counters` (optional) must outlive the connection.
    server_connection(const server_policy& policy, session_allocator& allocator,
                      connection_addresses addresses, random_fn random,
                      server_counters* counters = nullptr);

    // The Server-Greeting. Call once, first.
    result greeting(uint64_t now_ns);
    // Bytes received from the client, in any chunking.
    result feed(std::span<const uint8_t> bytes, uint64_t now_ns);
    // Timers: releases sessions not started within policy.unstarted_timeout_ns (reported as
    // sessions_stopped with timeout_ns 0), closes the connection (setup_timeout, idle_timeout,
    // servwait) when its deadline has passed.
    result on_timer(uint64_t now_ns);
    // When on_timer() must run next; nullopt: no timer (closed, SERVWAIT off, or suspended
    // while a test runs: RFC 5357 §3.1).
    std::optional<uint64_t> next_deadline() const noexcept;
    // A close the driver decides (peer_closed, io_error, shutdown). No-op when closed.
    result abort(close_reason reason);
    // The driver ended these sessions of the connection itself (REFWAIT, RFC 5357 §4.2): the
    // connection forgets them (their ports are the driver's to release; unknown SIDs are
    // ignored). When no started session is left, the test is over and nothing but a new
    // request could follow: the connection closes (refwait), handing back the sessions it still
    // held, rather than stay `running` with SERVWAIT suspended for a client that may be gone.
    result sessions_ended(std::span<const sid_t> sids);

    server_state state() const noexcept { return state_; }
    bool is_closed() const noexcept { return state_ == server_state::closed; }
    uint32_t mode() const noexcept { return mode_; }                  // 0 before Set-Up-Response
    uint32_t offered_modes() const noexcept { return offered_; }      // what the greeting said
    std::vector<session_ref> sessions() const;                        // current sessions
    std::size_t buffered() const noexcept { return pending_.size(); } // partial message octets
    // The security mode chosen (mode_unauthenticated, _authenticated, _encrypted, _mixed), 0
    // before Set-Up-Response.
    uint32_t security_mode() const noexcept { return mode_ & security_modes; }
    // Past Server-Start and holding no session: since when (now_ns of Server-Start or of the
    // last session leaving it); nullopt otherwise (the driver's eviction at max-connections).
    std::optional<uint64_t> sessionless_since() const noexcept {
        if (state_ == server_state::ready && sessions_.empty()) {
            return sessionless_since_ns_;
        }
        return std::nullopt;
    }

private:
    struct entry {
        session_info info;
        bool started = false;
        uint64_t accepted_ns = 0; // Accept-Session sent (policy.unstarted_timeout_ns)
    };
    std::optional<uint64_t> close_deadline() const noexcept;

    // The message at the head of pending_: its total length (known), or how many octets are
    // needed to learn it (!known). Closes the connection when the head is already refusable.
    frame_length framed_length(result& r);
    void handle(std::span<const uint8_t> msg, result& r, uint64_t now_ns);
    void on_setup_response(std::span<const uint8_t> msg, result& r);
    void on_request(std::span<const uint8_t> msg, result& r, uint64_t now_ns);
    void on_start(std::span<const uint8_t> msg, result& r);
    void on_stop(std::span<const uint8_t> msg, result& r, uint64_t now_ns);
    void on_start_n(std::span<const uint8_t> msg, result& r);
    void on_stop_n(std::span<const uint8_t> msg, result& r, uint64_t now_ns);
    bool refused_unknown_sids(n_sessions& ack, result& r);
    void refuse(result& r, accept_code a, uint16_t requested_port, std::string_view why);
    void close(result& r, close_reason reason);
    sid_t make_sid(const net::address& receiver, uint64_t now_ns);
    bool any_started() const noexcept;
    bool servwait_suspended() const noexcept;
    session_ref ref(const entry& e) const noexcept;
    entry* find(const sid_t& sid) noexcept;
    // Appends a message to the output, sealed (HMAC, CBC) once the control stream is secured.
    void emit(result& r, std::span<const uint8_t> msg);
    void secure_setup(const setup_response& m, result& r, server_start& s);
    void fail_auth(result& r, auth_failure why, close_reason reason);

    server_policy policy_;
    session_allocator* allocator_;
    connection_addresses addresses_;
    random_fn random_;
    server_counters* counters_;
    uint32_t offered_ = 0;
    uint32_t mode_ = 0;
    server_state state_ = server_state::initial;
    uint64_t last_activity_ns_ = 0;
    uint64_t sessionless_since_ns_ = 0; // see sessionless_since()
    std::optional<uint64_t> idle_deadline() const noexcept;
    std::vector<uint8_t> pending_;
    std::vector<entry> sessions_;
    // Security modes: the greeting's values, the Token's keys, one stream per direction.
    std::array<uint8_t, 16> challenge_{};
    std::array<uint8_t, 16> salt_{};
    uint32_t count_ = 0;
    session_keys keys_{};
    std::unique_ptr<control_stream> send_; // server -> client (Server-IV)
    std::unique_ptr<control_stream> recv_; // client -> server (Client-IV)
    block_reader reader_;
};

} // namespace twamp::control
