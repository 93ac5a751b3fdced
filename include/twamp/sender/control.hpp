// twamp-ping --mode twamp: the TWAMP-Control client conversation (RFC 5357 §3, unauthenticated),
// one blocking step at a time, over a transport the caller provides: main.cpp gives it a TCP
// socket with poll() deadlines, the unit tests an in-process server_connection or a script of
// octets. The wire work is twamp::control::client_connection; this layer waits for each answer,
// checks what the state machine leaves to its user (Accept codes, a port of 0) and turns every
// way the conversation can fail into one sentence for the user.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "twamp/config/ip.hpp"
#include "twamp/control/client.hpp"
#include "twamp/control/messages.hpp"
#include "twamp/sender/options.hpp"

namespace twamp::sender {

enum class io_status : uint8_t {
    ok,
    closed,  // the peer closed the connection (EOF)
    timeout, // nothing within the control timeout
    error,   // a socket error: error_text() says which
};

class control_transport {
public:
    virtual ~control_transport() = default;
    // Sends every octet (ok) or fails.
    virtual io_status send(std::span<const uint8_t> bytes) = 0;
    // Waits up to the control timeout for at least one octet and appends what arrived to
    // `out` (ok), or fails.
    virtual io_status receive(std::vector<uint8_t>& out) = 0;
    // For io_status::error: the reason (strerror text).
    virtual std::string error_text() const = 0;
};

// RFC 4656 §3.3 (the Accept values TWAMP uses, RFC 5357 §3.1): "0 OK, 1 failure, reason
// unspecified", ... as the text the user reads; "unknown Accept value" beyond 5.
std::string_view accept_meaning(uint8_t accept) noexcept;

// Modes bits as words, for messages: "unauthenticated, authenticated, ...", the ping_name
// column of net::mode_names; bits without one as "unknown bits 0x...".
std::string modes_to_string(uint32_t modes);

// Octets of padding the Request-TW-Session asks for so that a test request has `payload`
// octets: the unauthenticated TWAMP-Test sender packet is 14 octets before its padding (RFC 5357
// §4.1.2). The reflector's packet is 41 octets before the padding it returns, which RFC 5357
// §4.2.1 shortens by 27 octets, so a payload of 41 or more comes back at its own size and a
// smaller one as 41. `auth` (authenticated or encrypted test packets): the sender packet is 48
// octets before its padding and the reply 112 (perfSONAR's reflector answers with the larger
// of the request and 112 octets, owamp/endpoint.c run_reflector).
uint32_t padding_for_payload(std::size_t payload, bool auth = false) noexcept;

// Request-TW-Session for session `index` (0-based) of a run: Sender Address and Port = our UDP
// socket's local endpoint, Receiver Address = the server's address (both explicit: a zero
// address means "the control connection's", which is the same thing on a plain path but not
// through a NAT or a multi-homed host), Receiver Port = --receiver-port + index (or 0: the
// server chooses), padding from -s, Type-P = --dscp, Timeout = --session-timeout, Start Time 0
// (now: the Start-Sessions message starts the test).
control::session_request build_session_request(const options& o, std::size_t index,
                                               const config::ip_address& local, uint16_t local_port,
                                               const config::ip_address& server);

// One negotiated session.
struct negotiated_session {
    uint16_t port = 0; // the receiver port the server accepted
    control::sid_t sid{};
};

class control_client {
public:
    // `server` names the peer in messages ("198.18.0.2:862"), `timeout_s` is the transport's
    // receive limit (for messages).
    // `options`: the security mode and its key (--auth, --key-file, --key-id; default
    // unauthenticated).
    control_client(control_transport& transport, std::string server, double timeout_s,
                   control::client_options options = {});

    // Server-Greeting -> Set-Up-Response -> Server-Start. False (error() set) when the server
    // refused us (Modes 0), offers no unauthenticated mode, answered Server-Start Accept != 0,
    // or the connection failed.
    bool open();
    // Request-TW-Session -> Accept-Session. nullopt (error() set) on a refusal (Accept != 0:
    // the Accept code and its meaning), an Accept-Session with port 0, or a failure.
    std::optional<negotiated_session> request(const control::session_request& r);
    // Start-Sessions -> Start-Ack (Accept 0 or false with error()).
    bool start();
    // Stop-Sessions with Accept 0 for every session accepted (RFC 5357 §3.8: no answer).
    bool stop();
    // While the test runs the server has nothing to say: octets from it, or its close, end
    // the conversation. Feeds them to the state machine and returns the message for the user.
    std::string unexpected(std::span<const uint8_t> bytes);

    const std::string& error() const noexcept { return error_; }
    uint32_t server_modes() const noexcept { return client_.server_modes(); }
    uint32_t mode() const noexcept { return client_.mode(); }
    uint64_t server_start_time() const noexcept { return start_time_; } // NTP wire value
    // The session keys of an authenticated, encrypted or mixed connection after open().
    std::optional<control::session_keys> negotiated_keys() const {
        return client_.negotiated_keys();
    }
    control::client_state state() const noexcept { return client_.state(); }

private:
    // Sends; false (error_ set) on failure. `what` names the message for the error text.
    bool send(std::span<const uint8_t> bytes, std::string_view what);
    // Receives and feeds until the state machine reports an event; nullopt (error_ set) on a
    // failure. `what` names the awaited message.
    std::optional<control::client_event> await(std::string_view what);
    bool fail(std::string message);
    // The message for a client_closed event, or for a closed state machine.
    bool fail_closed(control::client_close_reason reason, std::string_view what);
    // True when the state machine already closed (octets nobody asked for): error_ set.
    bool closed_before(std::string_view what);

    control_transport* transport_;
    std::string server_;
    uint32_t asked_; // the security mode asked for (--auth), for messages
    control::client_connection client_;
    std::vector<control::client_event> events_; // reported, not yet consumed
    std::vector<uint8_t> out_; // what the state machine asked to send (Set-Up-Response)
    double timeout_s_;
    uint64_t start_time_ = 0;
    std::size_t requests_ = 0;
    std::string error_;
};

} // namespace twamp::sender
