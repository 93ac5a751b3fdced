#include "twamp/sender/control.hpp"

#include <cmath>
#include <cstdio>
#include <utility>

namespace twamp::sender {

namespace tc = twamp::control;

std::string_view accept_meaning(uint8_t accept) noexcept {
    switch (accept) {
    case 0:
        return "OK";
    case 1:
        return "failure, reason unspecified";
    case 2:
        return "internal error";
    case 3:
        return "some aspect of the request is not supported";
    case 4:
        return "cannot perform the request due to permanent resource limitations";
    case 5:
        return "cannot perform the request due to temporary resource limitations";
    }
    return "unknown Accept value";
}

std::string modes_to_string(uint32_t modes) {
    std::string s;
    uint32_t rest = modes;
    for (const auto& m : net::mode_names) {
        if ((modes & m.bit) != 0 && !m.ping_name.empty()) {
            s += s.empty() ? "" : ", ";
            s += m.ping_name;
            rest &= ~m.bit;
        }
    }
    if (rest != 0) {
        char hex[16];
        std::snprintf(hex, sizeof hex, "0x%x", rest);
        s += s.empty() ? "" : ", ";
        s += "unknown bits ";
        s += hex;
    }
    return s.empty() ? "none" : s;
}

uint32_t padding_for_payload(std::size_t payload, bool auth) noexcept {
    // RFC 5357 §4.1.2: 14 octets unauthenticated, 48 authenticated or encrypted.
    const std::size_t sender_base = auth ? twamp_auth_min_size : light_min_size;
    return payload > sender_base ? static_cast<uint32_t>(payload - sender_base) : 0;
}

tc::session_request build_session_request(const options& o, std::size_t index,
                                          const config::ip_address& local, uint16_t local_port,
                                          const config::ip_address& server) {
    tc::session_request r;
    r.family = server.family;
    r.sender = local;
    r.sender_port = local_port;
    r.receiver = server;
    r.receiver_port =
            o.receiver_port_given ? static_cast<uint16_t>(o.receiver_port + index) : uint16_t{0};
    r.padding_length = padding_for_payload(o.payload_size(), o.auth_layout());
    r.start_time = 0;
    r.timeout_ns = static_cast<uint64_t>(std::llround(o.session_timeout_s * 1e9));
    r.dscp = o.dscp;
    return r;
}

control_client::control_client(control_transport& transport, std::string server, double timeout_s,
                               tc::client_options options)
    : transport_(&transport), server_(std::move(server)), asked_(options.security),
      client_(std::move(options)), timeout_s_(timeout_s) {}

bool control_client::fail(std::string message) {
    error_ = std::move(message);
    return false;
}

bool control_client::fail_closed(tc::client_close_reason reason, std::string_view what) {
    switch (reason) {
    case tc::client_close_reason::unexpected_data:
        return fail("TWAMP-Control server " + server_ + " sent octets nobody asked for (around " +
                    std::string(what) + "): not a TWAMP server, or a broken one");
    case tc::client_close_reason::bad_message:
        return fail("TWAMP-Control server " + server_ + " sent a malformed " + std::string(what));
    case tc::client_close_reason::bad_count:
        return fail("TWAMP-Control server " + server_ +
                    " asks for a key-derivation Count below 1024 or above 2^24 (RFC 4656 §3.1)");
    case tc::client_close_reason::no_key:
        return fail("TWAMP-Control connection to " + server_ +
                    ": no usable key for the requested mode (--key-file, --key-id)");
    case tc::client_close_reason::bad_hmac:
        return fail("TWAMP-Control server " + server_ + " sent a " + std::string(what) +
                    " whose HMAC does not verify: wrong key, or the connection was tampered with");
    case tc::client_close_reason::no_modes:
    case tc::client_close_reason::server_refused:
        break; // open() words these itself, from the event before the close
    }
    return fail("TWAMP-Control connection to " + server_ + " ended (" +
                std::string(tc::to_string(reason)) + ")");
}

bool control_client::closed_before(std::string_view what) {
    if (client_.state() != tc::client_state::closed) {
        return false;
    }
    for (const auto& ev : events_) {
        if (const auto* c = std::get_if<tc::client_closed>(&ev)) {
            fail_closed(c->reason, what);
            return true;
        }
    }
    fail("TWAMP-Control connection to " + server_ + " is already closed");
    return true;
}

bool control_client::send(std::span<const uint8_t> bytes, std::string_view what) {
    switch (transport_->send(bytes)) {
    case io_status::ok:
        return true;
    case io_status::closed:
        return fail("TWAMP-Control server " + server_ + " closed the connection before our " +
                    std::string(what));
    case io_status::timeout:
        return fail("could not send " + std::string(what) + " to TWAMP-Control server " + server_ +
                    " (timed out)");
    case io_status::error:
        break;
    }
    return fail("could not send " + std::string(what) + " to TWAMP-Control server " + server_ +
                ": " + transport_->error_text());
}

std::optional<tc::client_event> control_client::await(std::string_view what) {
    std::vector<uint8_t> in;
    while (events_.empty()) {
        in.clear();
        char secs[32];
        std::snprintf(secs, sizeof secs, "%.6g", timeout_s_);
        switch (transport_->receive(in)) {
        case io_status::ok:
            break;
        case io_status::closed:
            fail("TWAMP-Control server " + server_ + " closed the connection while we waited for " +
                 "its " + std::string(what));
            return std::nullopt;
        case io_status::timeout:
            fail("no " + std::string(what) + " from TWAMP-Control server " + server_ + " within " +
                 secs + " s");
            return std::nullopt;
        case io_status::error:
            fail("TWAMP-Control connection to " + server_ + " failed while we waited for its " +
                 std::string(what) + ": " + transport_->error_text());
            return std::nullopt;
        }
        tc::client_result r = client_.feed(in);
        out_.insert(out_.end(), r.output.begin(), r.output.end());
        events_.insert(events_.end(), std::make_move_iterator(r.events.begin()),
                       std::make_move_iterator(r.events.end()));
    }
    tc::client_event ev = std::move(events_.front());
    events_.erase(events_.begin());
    if (const auto* c = std::get_if<tc::client_closed>(&ev)) {
        fail_closed(c->reason, what);
        return std::nullopt;
    }
    return ev;
}

bool control_client::open() {
    auto ev = await("Server-Greeting");
    if (!ev) {
        return false;
    }
    const auto& g = std::get<tc::greeting_received>(*ev); // the only first event
    if (g.modes == 0) {
        // RFC 4656 §3.1: Modes 0 = the server does not wish to talk to us; the client closes
        // without a Set-Up-Response.
        return fail("TWAMP-Control server " + server_ +
                    " refused the connection: its Server-Greeting offers no mode (Modes 0: it "
                    "does not wish to communicate, e.g. we are outside its allowed prefixes or "
                    "it has too many connections)");
    }
    if (g.selected == 0) {
        // Set-Up-Response with Mode 0 says we do not continue (best effort: we close anyway).
        send(out_, "Set-Up-Response");
        return fail("TWAMP-Control server " + server_ + " offers modes " +
                    modes_to_string(g.modes) + " but not " + modes_to_string(asked_) + " (--auth)");
    }
    if (!send(out_, "Set-Up-Response")) {
        return false;
    }
    out_.clear();
    ev = await("Server-Start");
    if (!ev) {
        return false;
    }
    const auto& s = std::get<tc::server_started>(*ev);
    if (s.accept != 0) {
        return fail("TWAMP-Control server " + server_ + " refused the connection: Server-Start " +
                    "Accept " + std::to_string(s.accept) + " (" +
                    std::string(accept_meaning(s.accept)) + ")");
    }
    start_time_ = s.start_time;
    return !closed_before("Server-Start");
}

std::optional<negotiated_session> control_client::request(const tc::session_request& r) {
    const std::size_t n = ++requests_;
    const std::string what = "Accept-Session for session " + std::to_string(n);
    if (closed_before(what)) {
        return std::nullopt;
    }
    auto bytes = client_.request_session(r);
    if (bytes.empty() || !send(bytes, "Request-TW-Session")) {
        if (bytes.empty()) {
            fail("TWAMP-Control connection to " + server_ + " is not ready for a request");
        }
        return std::nullopt;
    }
    auto ev = await(what);
    if (!ev) {
        return std::nullopt;
    }
    const tc::accept_session& a = std::get<tc::session_answer>(*ev).answer;
    if (a.accept != 0) {
        fail("TWAMP-Control server " + server_ + " refused session " + std::to_string(n) +
             (r.receiver_port != 0 ? " (receiver port " + std::to_string(r.receiver_port) + ")"
                                   : std::string()) +
             ": Accept-Session Accept " + std::to_string(a.accept) + " (" +
             std::string(accept_meaning(a.accept)) + ")");
        return std::nullopt;
    }
    if (a.port == 0) {
        fail("TWAMP-Control server " + server_ + " sent a malformed Accept-Session for session " +
             std::to_string(n) + ": Accept 0 with receiver port 0");
        return std::nullopt;
    }
    return negotiated_session{a.port, a.sid};
}

bool control_client::start() {
    if (closed_before("Start-Ack")) {
        return false;
    }
    auto bytes = client_.start_sessions();
    if (bytes.empty()) {
        return fail("TWAMP-Control connection to " + server_ + " is not ready for Start-Sessions");
    }
    if (!send(bytes, "Start-Sessions")) {
        return false;
    }
    auto ev = await("Start-Ack");
    if (!ev) {
        return false;
    }
    const auto& s = std::get<tc::start_acked>(*ev);
    if (s.accept != 0) {
        return fail("TWAMP-Control server " + server_ + " refused Start-Sessions: Start-Ack " +
                    "Accept " + std::to_string(s.accept) + " (" +
                    std::string(accept_meaning(s.accept)) + ")");
    }
    return true;
}

bool control_client::stop() {
    if (closed_before("Stop-Sessions")) {
        return false;
    }
    auto bytes = client_.stop_sessions();
    if (bytes.empty()) {
        return fail("TWAMP-Control connection to " + server_ + " is not ready for Stop-Sessions");
    }
    return send(bytes, "Stop-Sessions");
}

std::string control_client::unexpected(std::span<const uint8_t> bytes) {
    if (bytes.empty()) {
        return "TWAMP-Control server " + server_ +
               " closed the connection during the test: its sessions are over";
    }
    tc::client_result r = client_.feed(bytes);
    std::string s = "TWAMP-Control server " + server_ + " sent " + std::to_string(bytes.size()) +
                    " octets during the test, when it has nothing to say";
    if (const auto* c = r.closed()) {
        s += " (";
        s += tc::to_string(c->reason);
        s += ")";
    }
    return s + ": control connection closed";
}

} // namespace twamp::sender
