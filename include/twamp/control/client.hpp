// TWAMP-Control Control-Client (RFC 5357 §3 in unauthenticated, authenticated and encrypted
// modes, RFC 5618 mixed mode), the side twamp-ping --mode twamp speaks, as a pure state
// machine in the style of server_connection: the caller owns the TCP socket, feeds what it
// reads and sends what comes out.
//
// Security modes (RFC 4656 §3.1): the client answers the greeting with its KeyID, a Token
// (the greeting's Challenge and two random session keys, encrypted under the key derived from
// the shared secret with the greeting's Salt and Count) and a random Client-IV; after that
// every message both ways goes through a control_stream (cipher.hpp), and a server message
// whose HMAC fails ends the connection (bad_hmac). negotiated_keys() gives the session keys
// to the test-packet side.
//
//   client_connection c({.wanted_modes = mode_reflect_octets});
//   feed(greeting)      -> event greeting_received, output Set-Up-Response
//   feed(Server-Start)  -> event server_started (Accept 0: state ready)
//   request_session(..) -> bytes to send; later feed(..) -> event session_answer
//   start_sessions()    -> bytes; feed(..) -> event start_acked
//   stop_sessions()     -> bytes (no answer: RFC 5357 §3.8)
//   start_n_sessions / stop_n_sessions (RFC 5938, when negotiated) -> n_acked
// The server never speaks unprompted after Server-Start: every octet it sends answers a request
// in order, so the client knows each answer's length before it arrives.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "twamp/control/cipher.hpp"
#include "twamp/control/messages.hpp"
#include "twamp/control/server.hpp"
#include "twamp/net/address.hpp"

namespace twamp::control {

struct client_options {
    // Feature bits wanted on top of unauthenticated (mode_individual_session_control,
    // mode_reflect_octets, mode_symmetrical_size); each is used only if the server offers it.
    uint32_t wanted_modes = 0;
    // The security mode to use: mode_unauthenticated (open), mode_authenticated,
    // mode_encrypted or mode_mixed. The others need key_id and secret.
    uint32_t security = mode_unauthenticated;
    std::string key_id{};          // the KeyID (1..80 octets)
    std::vector<uint8_t> secret{}; // the shared secret
    random_fn random{};            // Client-IV, session keys; empty: os_random
    derive_fn derive{};            // empty: control::derive_key
    // A greeting asking for more PBKDF2 iterations than this is refused (bad_count): a server
    // must not make the client spin. perfSONAR's default is 2048; config allows up to 2^24.
    uint32_t max_count = 1U << 24;
};

// What a Request-TW-Session asks for.
struct session_request {
    net::ip_family family = net::ip_family::ipv4; // IPVN
    // Zero (the default) = "the control connection's address" (RFC 5357 §3.5).
    net::address sender{};
    net::address receiver{};
    uint16_t sender_port = 0;
    uint16_t receiver_port = 0; // requested; the server may choose another
    uint32_t padding_length = 0;
    uint64_t start_time = 0; // NTP wire value, 0 = now
    uint64_t timeout_ns = 0;
    uint8_t dscp = 0;
    // RFC 6038, sent only when mode_reflect_octets was negotiated.
    uint16_t octets_to_reflect = 0;
    uint16_t padding_to_reflect = 0;
};

enum class client_close_reason : uint8_t {
    no_modes,        // greeting offered no mode we speak (Set-Up-Response Mode 0 sent)
    server_refused,  // Server-Start Accept != 0
    unexpected_data, // octets from the server nobody asked for
    bad_message,     // a message that does not parse (wrong command, MBZ, SID count)
    bad_count,       // the greeting's Count is below 1024 or above max_count
    no_key,          // a security mode without key_id/secret, or the derivation failed
    bad_hmac,        // a server message whose HMAC does not verify
};
std::string_view to_string(client_close_reason r) noexcept;

// Events, in order.
struct greeting_received {
    uint32_t modes = 0; // offered
    uint32_t count = 0;
    uint32_t selected = 0; // the Mode sent back (0: refused)
};
struct server_started {
    uint8_t accept = 0;
    uint64_t start_time = 0; // NTP wire value
};
struct session_answer {
    std::size_t request_index = 0; // 0-based, in request_session() order
    accept_session answer;
};
struct start_acked {
    uint8_t accept = 0;
};
struct n_acked {
    command cmd = command::start_n_ack; // start_n_ack or stop_n_ack
    uint8_t accept = 0;
    std::vector<sid_t> sids;
};
struct client_closed {
    client_close_reason reason = client_close_reason::unexpected_data;
};
using client_event = std::variant<greeting_received, server_started, session_answer, start_acked,
                                  n_acked, client_closed>;

struct client_result {
    std::vector<uint8_t> output;
    std::vector<client_event> events;
    const client_closed* closed() const noexcept;
};

enum class client_state : uint8_t {
    wait_greeting,
    wait_server_start,
    ready, // requests may be sent
    closed,
};

class client_connection {
public:
    explicit client_connection(client_options options = {});

    client_result feed(std::span<const uint8_t> bytes);

    // Requests; each returns the octets to send, or an empty vector when the state does not
    // allow it (before Server-Start, after close; the RFC 5938 commands without that mode).
    std::vector<uint8_t> request_session(const session_request& r);
    std::vector<uint8_t> start_sessions();
    // Number of Sessions: the sessions accepted since the last Stop-Sessions unless given.
    std::vector<uint8_t> stop_sessions(uint8_t accept = 0,
                                       std::optional<uint32_t> number_of_sessions = {});
    std::vector<uint8_t> start_n_sessions(std::span<const sid_t> sids);
    std::vector<uint8_t> stop_n_sessions(std::span<const sid_t> sids, uint8_t accept = 0);

    client_state state() const noexcept { return state_; }
    uint32_t mode() const noexcept { return mode_; }            // negotiated Mode
    uint32_t server_modes() const noexcept { return offered_; } // from the greeting
    std::size_t awaiting() const noexcept { return expected_.size(); }
    // The session keys of an authenticated, encrypted or mixed connection once Server-Start
    // accepted it (the test packets of authenticated and encrypted sessions use them;
    // mixed mode's test packets are unauthenticated). nullopt otherwise.
    std::optional<session_keys> negotiated_keys() const;

private:
    enum class expect : uint8_t {
        greeting,
        server_start,
        accept_session,
        start_ack,
        start_n_ack,
        stop_n_ack,
    };
    struct pending_answer {
        expect what;
        uint32_t sids = 0; // RFC 5938 acks: the number of SIDs asked about
    };
    // The length of the answer at the head of the queue, or of the part that tells it.
    frame_length framed_length(client_result& r);
    void handle(std::span<const uint8_t> msg, client_result& r);
    void close(client_result& r, client_close_reason reason);
    void on_greeting(const server_greeting& g, client_result& r);
    // Seals a request once the stream is secured (every request ends in its HMAC field).
    std::vector<uint8_t> seal(std::vector<uint8_t> msg);

    client_options options_;
    client_state state_ = client_state::wait_greeting;
    uint32_t offered_ = 0;
    uint32_t mode_ = 0;
    std::size_t answers_seen_ = 0;
    uint32_t accepted_ = 0; // sessions accepted since the last Stop-Sessions
    std::deque<pending_answer> expected_{{expect::greeting}};
    std::vector<uint8_t> pending_;
    session_keys keys_{};
    std::unique_ptr<control_stream> send_; // client -> server (Client-IV)
    std::unique_ptr<control_stream> recv_; // server -> client (Server-IV)
    block_reader reader_;
};

} // namespace twamp::control
