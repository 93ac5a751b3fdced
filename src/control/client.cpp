// TWAMP-Control Control-Client state machine: see include/twamp/control/client.hpp.
#include "twamp/control/client.hpp"

#include <algorithm>
#include <bit>

namespace twamp::control {

namespace {

template<std::size_t N>
std::vector<uint8_t> to_vector(const std::array<uint8_t, N>& b) {
    return {b.begin(), b.end()};
}

} // namespace

std::string_view to_string(client_close_reason r) noexcept {
    switch (r) {
    case client_close_reason::no_modes:
        return "no_modes";
    case client_close_reason::server_refused:
        return "server_refused";
    case client_close_reason::unexpected_data:
        return "unexpected_data";
    case client_close_reason::bad_message:
        return "bad_message";
    case client_close_reason::bad_count:
        return "bad_count";
    case client_close_reason::no_key:
        return "no_key";
    case client_close_reason::bad_hmac:
        return "bad_hmac";
    }
    return "unknown";
}

const client_closed* client_result::closed() const noexcept {
    if (events.empty()) {
        return nullptr;
    }
    return std::get_if<client_closed>(&events.back());
}

client_connection::client_connection(client_options options) : options_(std::move(options)) {
    if (!options_.random) {
        options_.random = os_random;
    }
    if (!options_.derive) {
        options_.derive = derive_key;
    }
}

std::optional<session_keys> client_connection::negotiated_keys() const {
    if (state_ != client_state::ready || !send_) {
        return std::nullopt;
    }
    return keys_;
}

std::vector<uint8_t> client_connection::seal(std::vector<uint8_t> msg) {
    if (send_ && !msg.empty()) {
        send_->seal(msg, true);
    }
    return msg;
}

client_result client_connection::feed(std::span<const uint8_t> bytes) {
    client_result r;
    if (state_ == client_state::closed) {
        return r;
    }
    while (!bytes.empty() || !pending_.empty() || reader_.has_plain()) {
        if (expected_.empty()) {
            close(r, client_close_reason::unexpected_data);
            break;
        }
        const frame_length f = framed_length(r);
        if (state_ == client_state::closed) {
            break;
        }
        if (f.known && pending_.size() == f.length) {
            handle(pending_, r);
            pending_.clear();
            if (state_ == client_state::closed) {
                break;
            }
            continue;
        }
        if (bytes.empty() && !reader_.has_plain()) {
            break;
        }
        reader_.take(pending_, bytes, f.length, recv_.get());
    }
    return r;
}

frame_length client_connection::framed_length(client_result& r) {
    const pending_answer& head = expected_.front();
    switch (head.what) {
    case expect::greeting:
        return {server_greeting_size, true};
    case expect::server_start:
        // perfSONAR's owamp/protocol.c _OWPReadServerStart: 32 octets in clear (Accept,
        // Server-IV), then, when accepted in a secured mode, one block of the server's CBC
        // stream.
        if (pending_.size() < 32) {
            return {32, false};
        }
        if (send_ && !recv_ && pending_[15] == 0) {
            std::array<uint8_t, 16> iv{};
            std::copy(pending_.begin() + 16, pending_.begin() + 32, iv.begin());
            recv_ = std::make_unique<control_stream>(keys_, iv);
        }
        return {server_start_size, true};
    case expect::accept_session:
        return {accept_session_size, true};
    case expect::start_ack:
        return {start_ack_size, true};
    case expect::start_n_ack:
    case expect::stop_n_ack: {
        if (pending_.size() < n_sessions_header_size) {
            return {n_sessions_header_size, false};
        }
        uint32_t n = n_sessions_count(pending_);
        if (n > head.sids) { // an ack names the SIDs it was asked about, no more
            close(r, client_close_reason::bad_message);
            return {};
        }
        return {n_sessions_size(n), true};
    }
    }
    return {};
}

void client_connection::handle(std::span<const uint8_t> msg, client_result& r) {
    pending_answer head = expected_.front();
    expected_.pop_front();
    // After Server-Start every server message ends in its HMAC (RFC 4656 §3.2).
    if (head.what != expect::greeting && head.what != expect::server_start && recv_ &&
        !recv_->verify(msg, true)) {
        close(r, client_close_reason::bad_hmac);
        return;
    }
    switch (head.what) {
    case expect::greeting:
        on_greeting(*decode_server_greeting(msg), r);
        break;
    case expect::server_start: {
        auto s = decode_server_start(msg);
        if (s->accept != 0) {
            r.events.emplace_back(server_started{s->accept, s->start_time});
            close(r, client_close_reason::server_refused);
            return;
        }
        if (recv_) {
            // The encrypted block joins the HMAC of the server's next message.
            recv_->verify(msg.subspan(32), false);
        }
        r.events.emplace_back(server_started{s->accept, s->start_time});
        state_ = client_state::ready;
        break;
    }
    case expect::accept_session: {
        auto a = decode_accept_session(msg);
        if (a->accept == 0) {
            ++accepted_;
        }
        r.events.emplace_back(session_answer{answers_seen_++, *a});
        break;
    }
    case expect::start_ack:
        r.events.emplace_back(start_acked{*decode_start_ack(msg)});
        break;
    case expect::start_n_ack:
    case expect::stop_n_ack: {
        auto m = decode_n_sessions(msg);
        command want =
                head.what == expect::start_n_ack ? command::start_n_ack : command::stop_n_ack;
        if (!m || m->cmd != want) {
            close(r, client_close_reason::bad_message);
            return;
        }
        r.events.emplace_back(n_acked{m->cmd, m->accept, std::move(m->sids)});
        break;
    }
    }
}

void client_connection::on_greeting(const server_greeting& g, client_result& r) {
    offered_ = g.modes;
    greeting_received ev{g.modes, g.count, 0};
    setup_response s;
    constexpr uint32_t features =
            mode_individual_session_control | mode_reflect_octets | mode_symmetrical_size;
    const uint32_t security = options_.security & security_modes;
    client_close_reason fail = client_close_reason::no_modes;
    if (std::popcount(security) == 1 && (g.modes & security) != 0) {
        const uint32_t mode = security | (options_.wanted_modes & features & g.modes);
        if (security == mode_unauthenticated) {
            s.mode = mode;
        } else if (options_.key_id.empty() || options_.key_id.size() > key_id_max) {
            fail = client_close_reason::no_key;
        } else if (g.count < 1024 || g.count > options_.max_count) {
            fail = client_close_reason::bad_count;
        } else {
            std::array<uint8_t, 16> derived{};
            if (!options_.derive(options_.secret, g.salt, g.count, derived)) {
                fail = client_close_reason::no_key;
            } else {
                options_.random(keys_.aes);
                options_.random(keys_.hmac);
                s.key_id = key_id_field(std::span<const uint8_t>(
                        reinterpret_cast<const uint8_t*>(options_.key_id.data()),
                        options_.key_id.size()));
                s.token = encrypt_token(derived, g.challenge, keys_);
                wipe(derived); // K is needed for the Token only
                options_.random(s.client_iv);
                send_ = std::make_unique<control_stream>(keys_, s.client_iv);
                s.mode = mode;
            }
        }
    }
    mode_ = s.mode;
    ev.selected = s.mode;
    auto b = encode(s);
    r.output.insert(r.output.end(), b.begin(), b.end());
    r.events.emplace_back(ev);
    if (s.mode == 0) {
        // RFC 4656 §3.1: Mode 0 tells the server we do not continue.
        close(r, fail);
        return;
    }
    state_ = client_state::wait_server_start;
    expected_.push_back({expect::server_start});
}

void client_connection::close(client_result& r, client_close_reason reason) {
    state_ = client_state::closed;
    expected_.clear();
    pending_.clear();
    send_.reset();
    recv_.reset();
    keys_ = {};
    reader_.clear();
    r.events.emplace_back(client_closed{reason});
}

std::vector<uint8_t> client_connection::request_session(const session_request& q) {
    if (state_ != client_state::ready) {
        return {};
    }
    request_tw_session m;
    m.ipvn = q.family == net::ip_family::ipv6 ? 6 : 4;
    m.sender_port = q.sender_port;
    m.receiver_port = q.receiver_port;
    // ip_address keeps the unused octets of an IPv4 address zero: the 16 octets are the field.
    if (!q.sender.is_unspecified()) {
        m.sender_address = q.sender.bytes;
    }
    if (!q.receiver.is_unspecified()) {
        m.receiver_address = q.receiver.bytes;
    }
    m.padding_length = q.padding_length;
    m.start_time = q.start_time;
    m.timeout = ns_to_ntp_duration(q.timeout_ns);
    m.type_p = type_p_from_dscp(q.dscp);
    if ((mode_ & mode_reflect_octets) != 0) {
        m.octets_to_reflect = q.octets_to_reflect;
        m.padding_to_reflect = q.padding_to_reflect;
    }
    expected_.push_back({expect::accept_session});
    return seal(to_vector(encode(m)));
}

std::vector<uint8_t> client_connection::start_sessions() {
    if (state_ != client_state::ready) {
        return {};
    }
    expected_.push_back({expect::start_ack});
    return seal(to_vector(encode_start_sessions()));
}

std::vector<uint8_t> client_connection::stop_sessions(uint8_t accept,
                                                      std::optional<uint32_t> number_of_sessions) {
    if (state_ != client_state::ready) {
        return {};
    }
    control::stop_sessions m{accept, number_of_sessions.value_or(accepted_)};
    accepted_ = 0;
    return seal(to_vector(encode(m)));
}

std::vector<uint8_t> client_connection::start_n_sessions(std::span<const sid_t> sids) {
    if (state_ != client_state::ready || (mode_ & mode_individual_session_control) == 0) {
        return {};
    }
    expected_.push_back({expect::start_n_ack, static_cast<uint32_t>(sids.size())});
    return seal(encode(n_sessions{command::start_n_sessions, 0, {sids.begin(), sids.end()}}));
}

std::vector<uint8_t> client_connection::stop_n_sessions(std::span<const sid_t> sids,
                                                        uint8_t accept) {
    if (state_ != client_state::ready || (mode_ & mode_individual_session_control) == 0) {
        return {};
    }
    expected_.push_back({expect::stop_n_ack, static_cast<uint32_t>(sids.size())});
    return seal(encode(n_sessions{command::stop_n_sessions, accept, {sids.begin(), sids.end()}}));
}

} // namespace twamp::control
