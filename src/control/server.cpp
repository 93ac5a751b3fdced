// TWAMP-Control Server state machine: see include/twamp/control/server.hpp.
#include "twamp/control/server.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <random>

#include <sys/random.h>

#include "twamp/proto/bytes.hpp"
#include "twamp/proto/timestamp.hpp"

namespace twamp::control {

namespace {

// Largest Padding Length whose test packets still fit a UDP datagram over IPv4 (65507 octets
// of payload) with the 41-octet reflector / symmetrical-size sender base in front of it.
constexpr uint32_t max_padding_length = 65507 - 41;

void bump(server_counters* c, std::atomic<uint64_t> server_counters::*field, uint64_t n = 1) {
    if (c != nullptr && n != 0) {
        (c->*field).fetch_add(n, std::memory_order_relaxed);
    }
}

template<typename Bytes>
void append(std::vector<uint8_t>& out, const Bytes& b) {
    out.insert(out.end(), b.begin(), b.end());
}

// Count MUST be a power of 2 and at least 1024 (RFC 4656 §3.1).
uint32_t valid_count(uint32_t c) noexcept {
    return c >= 1024 && (c & (c - 1)) == 0 ? c : default_count;
}

net::address from_wire(uint8_t ipvn, const std::array<uint8_t, 16>& b) noexcept {
    return net::address::from_octets(ipvn == 6 ? net::ip_family::ipv6 : net::ip_family::ipv4,
                                     b.data());
}

} // namespace

std::string_view to_string(close_reason r) noexcept {
    switch (r) {
    case close_reason::no_modes:
        return "no_modes";
    case close_reason::client_refused:
        return "client_refused";
    case close_reason::mode_not_offered:
        return "mode_not_offered";
    case close_reason::servwait:
        return "servwait";
    case close_reason::unknown_command:
        return "unknown_command";
    case close_reason::out_of_order:
        return "out_of_order";
    case close_reason::mbz_nonzero:
        return "mbz_nonzero";
    case close_reason::too_many_sids:
        return "too_many_sids";
    case close_reason::no_sessions:
        return "no_sessions";
    case close_reason::peer_closed:
        return "peer_closed";
    case close_reason::io_error:
        return "io_error";
    case close_reason::shutdown:
        return "shutdown";
    case close_reason::refwait:
        return "refwait";
    case close_reason::unknown_key_id:
        return "unknown_key_id";
    case close_reason::bad_token:
        return "bad_token";
    case close_reason::bad_hmac:
        return "bad_hmac";
    case close_reason::derivation_refused:
        return "derivation_refused";
    case close_reason::internal_error:
        return "internal_error";
    case close_reason::setup_timeout:
        return "setup_timeout";
    case close_reason::send_stalled:
        return "send_stalled";
    case close_reason::evicted:
        return "evicted";
    case close_reason::idle_timeout:
        return "idle_timeout";
    case close_reason::evicted_idle:
        return "evicted_idle";
    }
    return "unknown";
}

std::string_view to_string(auth_failure f) noexcept {
    switch (f) {
    case auth_failure::unknown_key_id:
        return "unknown_key_id";
    case auth_failure::bad_token:
        return "bad_token";
    case auth_failure::bad_hmac:
        return "bad_hmac";
    case auth_failure::derivation_refused:
        return "derivation_refused";
    }
    return "unknown";
}

derivation_limiter::derivation_limiter(uint32_t per_second, clock_fn clock) noexcept
    : rate_(per_second == 0 ? 1 : per_second), clock_(std::move(clock)) {
    global_.level = static_cast<uint64_t>(rate_) * unit;
}

void derivation_limiter::refill(bucket& b, uint32_t rate, uint64_t now_ns) noexcept {
    uint64_t& level_ = b.level;
    uint64_t& last_ns_ = b.last_ns;
    const uint32_t rate_ = rate;
    if (!b.started) {
        b.started = true;
        last_ns_ = now_ns;
        level_ = static_cast<uint64_t>(rate_) * unit; // full at start
        return;
    }
    if (now_ns <= last_ns_) {
        // The clock did not move: nothing to add. It went back (a clock that steps): restart
        // from here, adding nothing for the step; keeping the old reference would refill
        // nothing until the clock caught up with it again (a stall as long as the step).
        last_ns_ = now_ns;
        return;
    }
    // A full bucket takes one second to refill: longer gaps add no more (and cannot overflow).
    const uint64_t elapsed = std::min<uint64_t>(now_ns - last_ns_, unit);
    last_ns_ = now_ns;
    const uint64_t cap = static_cast<uint64_t>(rate_) * unit;
    level_ = std::min(cap, level_ + elapsed * rate_);
}

bool derivation_limiter::try_acquire(uint64_t now_ns) noexcept {
    refill(global_, rate_, now_ns);
    if (global_.level < unit) {
        return false;
    }
    global_.level -= unit;
    return true;
}

derivation_limiter::verdict derivation_limiter::try_acquire_from(const net::address& source,
                                                                 uint64_t now_ns) noexcept {
    // IPv6 by /64 (a host usually holds a whole /64), IPv4 by address.
    auto k = source.mapped();
    if (source.is_v6() && !source.is_v4_mapped()) {
        std::fill(k.begin() + 8, k.end(), uint8_t{0});
    }
    uint64_t w[2];
    std::memcpy(w, k.data(), 16);
    uint64_t h = seed_;
    for (uint64_t x : w) { // keyed multiply-xorshift: the slot is not predictable offline
        h = (h ^ x) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
        h *= 0x94d049bb133111ebULL;
        h ^= h >> 29;
    }
    bucket& b = sources_[h % source_slots];
    const uint32_t share = source_rate();
    refill(b, share, now_ns);
    refill(global_, rate_, now_ns);
    if (b.level < unit) {
        return verdict::source_limit;
    }
    if (global_.level < unit) {
        return verdict::global_limit;
    }
    b.level -= unit;
    global_.level -= unit;
    return verdict::ok;
}

void derivation_limiter::set_rate(uint32_t per_second) noexcept {
    rate_ = per_second == 0 ? 1 : per_second;
    global_.level = std::min(global_.level, static_cast<uint64_t>(rate_) * unit);
    for (auto& b : sources_) {
        b.level = std::min(b.level, static_cast<uint64_t>(source_rate()) * unit);
    }
}

std::string_view to_string(server_state s) noexcept {
    switch (s) {
    case server_state::initial:
        return "initial";
    case server_state::wait_setup_response:
        return "wait_setup_response";
    case server_state::ready:
        return "ready";
    case server_state::running:
        return "running";
    case server_state::closed:
        return "closed";
    }
    return "unknown";
}

void os_random(std::span<uint8_t> out) noexcept {
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    if (done < out.size()) { // no getrandom (old kernel, seccomp): still never predictable zeros
        try {
            std::random_device rd;
            for (; done < out.size(); ++done) {
                out[done] = static_cast<uint8_t>(rd());
            }
        } catch (...) {
            for (; done < out.size(); ++done) {
                out[done] = static_cast<uint8_t>(reinterpret_cast<uintptr_t>(&out) >> (done % 8));
            }
        }
    }
}

const connection_closed* result::closed() const noexcept {
    if (actions.empty()) {
        return nullptr;
    }
    return std::get_if<connection_closed>(&actions.back());
}

server_connection::server_connection(const server_policy& policy, session_allocator& allocator,
                                     connection_addresses addresses, random_fn random,
                                     server_counters* counters)
    : policy_(policy), allocator_(&allocator), addresses_(addresses), random_(std::move(random)),
      counters_(counters) {
    offered_ = policy_.modes & supported_modes;
    if (policy_.keys == nullptr || policy_.keys->size() == 0) {
        // Modes needing a shared secret cannot be served without one (the config refuses
        // this; a policy built by hand may still say so).
        offered_ &= ~(mode_authenticated | mode_encrypted | mode_mixed);
    }
    if ((offered_ & security_modes) == 0) {
        offered_ = 0; // the feature bits alone cannot be served
    }
    if (!policy_.derive) {
        policy_.derive = derive_key;
    }
}

result server_connection::greeting(uint64_t now_ns) {
    result r;
    if (state_ != server_state::initial) {
        return r;
    }
    server_greeting g;
    g.modes = offered_;
    random_(g.challenge);
    random_(g.salt);
    g.count = valid_count(policy_.count);
    challenge_ = g.challenge;
    salt_ = g.salt;
    count_ = g.count;
    append(r.output, encode(g));
    last_activity_ns_ = now_ns;
    if (offered_ == 0) {
        close(r, close_reason::no_modes);
        return r;
    }
    state_ = server_state::wait_setup_response;
    return r;
}

result server_connection::feed(std::span<const uint8_t> bytes, uint64_t now_ns) {
    result r;
    if (state_ == server_state::closed || bytes.empty()) {
        return r;
    }
    if (state_ == server_state::initial) {
        close(r, close_reason::out_of_order); // the driver did not send the greeting
        return r;
    }
    for (;;) {
        const frame_length f = framed_length(r);
        if (state_ == server_state::closed) {
            break;
        }
        if (f.known && pending_.size() == f.length) {
            handle(pending_, r, now_ns);
            pending_.clear();
            if (state_ == server_state::closed) {
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

void server_connection::emit(result& r, std::span<const uint8_t> msg) {
    const std::size_t at = r.output.size();
    r.output.insert(r.output.end(), msg.begin(), msg.end());
    if (send_) {
        // Every message the server sends after Server-Start ends in its HMAC field.
        send_->seal(std::span<uint8_t>(r.output).subspan(at), true);
    }
}

void server_connection::fail_auth(result& r, auth_failure why, close_reason reason) {
    if (counters_ != nullptr) {
        counters_->auth_failures[static_cast<std::size_t>(why)].fetch_add(
                1, std::memory_order_relaxed);
    }
    close(r, reason);
}

frame_length server_connection::framed_length(result& r) {
    if (state_ == server_state::wait_setup_response) {
        return {setup_response_size, true};
    }
    if (pending_.empty()) {
        return {1, false}; // the command octet tells the rest
    }
    const bool individual = (mode_ & mode_individual_session_control) != 0;
    // Without RFC 5938, Start-Sessions runs the test and only Stop-Sessions may follow.
    const bool test_running = state_ == server_state::running && !individual;
    auto cmd = static_cast<command>(pending_[0]);
    switch (cmd) {
    case command::start_sessions:
    case command::request_tw_session:
        if (test_running) {
            close(r, close_reason::out_of_order);
            return {};
        }
        return {cmd == command::start_sessions ? start_sessions_size : request_tw_session_size,
                true};
    case command::stop_sessions:
        return {stop_sessions_size, true};
    case command::start_n_sessions:
    case command::stop_n_sessions: {
        if (!individual) {
            close(r, close_reason::unknown_command);
            return {};
        }
        if (pending_.size() < n_sessions_header_size) {
            return {n_sessions_header_size, false}; // Number of Sessions is in octets 12..15
        }
        uint32_t n = n_sessions_count(pending_);
        // A client names only its own sessions (duplicates aside): more SIDs than it has is
        // not a request to serve, and would make us buffer up to 64 GiB.
        if (n > sessions_.size()) {
            close(r, close_reason::too_many_sids);
            return {};
        }
        return {n_sessions_size(n), true};
    }
    default:
        close(r, close_reason::unknown_command);
        return {};
    }
}

void server_connection::handle(std::span<const uint8_t> msg, result& r, uint64_t now_ns) {
    if (state_ == server_state::wait_setup_response) {
        last_activity_ns_ = now_ns;
        on_setup_response(msg, r);
        return;
    }
    // Every client command ends in its HMAC (RFC 4656 §3.2): nothing of a message is acted
    // on, nor counts as activity, before it verifies.
    if (recv_ && !recv_->verify(msg, true)) {
        fail_auth(r, auth_failure::bad_hmac, close_reason::bad_hmac);
        return;
    }
    last_activity_ns_ = now_ns;
    switch (static_cast<command>(msg[0])) {
    case command::request_tw_session:
        on_request(msg, r, now_ns);
        break;
    case command::start_sessions:
        on_start(msg, r);
        break;
    case command::stop_sessions:
        on_stop(msg, r, now_ns);
        break;
    case command::start_n_sessions:
        on_start_n(msg, r);
        break;
    case command::stop_n_sessions:
        on_stop_n(msg, r, now_ns);
        break;
    default: // framed_length() let only the above through
        close(r, close_reason::unknown_command);
        break;
    }
}

void server_connection::on_setup_response(std::span<const uint8_t> msg, result& r) {
    auto m = decode_setup_response(msg);
    if (m->mode == 0) {
        // RFC 4656 §3.1: the client does not wish to continue.
        close(r, close_reason::client_refused);
        return;
    }
    server_start s;
    s.start_time = policy_.start_time_ns != 0 ? proto::ntp_from_unix_ns(policy_.start_time_ns) : 0;
    // Exactly one security mode, and only bits we offered.
    const uint32_t security = m->mode & security_modes;
    if (std::popcount(security) != 1 || (m->mode & ~offered_) != 0) {
        random_(s.server_iv);
        s.accept = static_cast<uint8_t>(accept_code::not_supported);
        append(r.output, encode(s));
        close(r, close_reason::mode_not_offered);
        return;
    }
    if (security != mode_unauthenticated) {
        secure_setup(*m, r, s);
        if (state_ == server_state::closed) {
            return;
        }
    } else {
        random_(s.server_iv);
    }
    mode_ = m->mode;
    s.accept = static_cast<uint8_t>(accept_code::ok);
    auto b = encode(s);
    const std::size_t at = r.output.size();
    append(r.output, b);
    if (send_) {
        // perfSONAR's owamp/protocol.c _OWPWriteServerStart: the first 32 octets (MBZ, Accept,
        // Server-IV) go in clear, the last block (Start-Time, MBZ) is the first of the
        // server's CBC stream and joins the HMAC of the next message (it has no HMAC field).
        send_->seal(std::span<uint8_t>(r.output).subspan(at + 32, 16), false);
    }
    state_ = server_state::ready;
    sessionless_since_ns_ = last_activity_ns_; // handle() set it to now
}

void server_connection::secure_setup(const setup_response& m, result& r, server_start& s) {
    auto refuse_start = [&](accept_code a) {
        // A refused Server-Start is all clear, its last block zero (perfSONAR: the mode falls
        // back to open before the block is written).
        server_start no;
        random_(no.server_iv);
        no.accept = static_cast<uint8_t>(a);
        append(r.output, encode(no));
    };
    auto verdict = derivation_limiter::verdict::ok;
    if (policy_.limiter != nullptr) {
        verdict = policy_.limiter->try_acquire_from(addresses_.peer);
    }
    if (verdict != derivation_limiter::verdict::ok) {
        bump(counters_, &server_counters::key_derivations_refused);
        if (verdict == derivation_limiter::verdict::source_limit) {
            bump(counters_, &server_counters::key_derivations_refused_source);
        }
        refuse_start(accept_code::temporary_limit);
        fail_auth(r, auth_failure::derivation_refused, close_reason::derivation_refused);
        return;
    }
    const auto nul = std::find(m.key_id.begin(), m.key_id.end(), uint8_t{0});
    const std::string_view id(reinterpret_cast<const char*>(m.key_id.data()),
                              static_cast<std::size_t>(nul - m.key_id.begin()));
    const key_entry* key = id.empty() ? nullptr : policy_.keys->find(id);
    // An unknown KeyID goes through the same derivation (sapi.c does the same): the answer
    // takes as long either way.
    static constexpr std::array<uint8_t, 16> stand_in{};
    std::span<const uint8_t> secret = key != nullptr ? std::span<const uint8_t>(key->secret)
                                                     : std::span<const uint8_t>(stand_in);
    std::array<uint8_t, 16> derived{};
    const bool derived_ok = policy_.derive(secret, salt_, count_, derived);
    bump(counters_, &server_counters::key_derivations_done);
    if (!derived_ok) {
        wipe(derived);
        refuse_start(accept_code::internal_error);
        close(r, close_reason::internal_error);
        return;
    }
    token_contents t = decrypt_token(derived, m.token);
    wipe(derived); // K is needed for the Token only
    if (key == nullptr) {
        refuse_start(accept_code::failure);
        fail_auth(r, auth_failure::unknown_key_id, close_reason::unknown_key_id);
        return;
    }
    if (!crypto::equal(t.challenge.data(), challenge_.data(), challenge_.size())) {
        refuse_start(accept_code::failure);
        fail_auth(r, auth_failure::bad_token, close_reason::bad_token);
        return;
    }
    keys_ = t.keys; // t's copy wipes itself (session_keys)
    random_(s.server_iv);
    recv_ = std::make_unique<control_stream>(keys_, m.client_iv);
    send_ = std::make_unique<control_stream>(keys_, s.server_iv);
}

void server_connection::refuse(result& r, accept_code a, uint16_t requested_port,
                               std::string_view why) {
    accept_session m;
    m.accept = static_cast<uint8_t>(a);
    emit(r, encode(m));
    r.actions.emplace_back(session_refused{a, requested_port, why});
    if (counters_ != nullptr) {
        counters_->session_refused[static_cast<std::size_t>(a) % 6].fetch_add(
                1, std::memory_order_relaxed);
    }
}

void server_connection::on_request(std::span<const uint8_t> msg, result& r, uint64_t now_ns) {
    bump(counters_, &server_counters::session_attempts);
    auto m = decode_request_tw_session(msg);
    if (m->mbz_ipvn != 0) {
        close(r, close_reason::mbz_nonzero);
        return;
    }
    const bool reflect = (mode_ & mode_reflect_octets) != 0;
    auto dscp = dscp_from_type_p(m->type_p);
    // RFC 5357 §3.5: Conf-Sender and Conf-Receiver are 0 (the reflector both receives and
    // sends) and there are no schedule slots. Anything else is an OWAMP-style request we do not
    // serve; slots would also be followed by slot descriptions we do not read.
    std::string_view unsupported;
    if (m->ipvn != 4 && m->ipvn != 6) {
        unsupported = "ipvn";
    } else if (m->conf_sender != 0 || m->conf_receiver != 0) {
        unsupported = "conf-sender/conf-receiver";
    } else if (m->schedule_slots != 0) {
        unsupported = "schedule slots";
    } else if (!dscp) {
        unsupported = "type-p";
    } else if (m->padding_length > max_padding_length) {
        unsupported = "padding length";
    } else if (reflect && m->padding_to_reflect > m->padding_length) {
        unsupported = "padding to reflect";
    }
    if (!unsupported.empty()) {
        refuse(r, accept_code::not_supported, m->receiver_port, unsupported);
        return;
    }
    session_info info;
    info.sender = from_wire(m->ipvn, m->sender_address);
    info.receiver = from_wire(m->ipvn, m->receiver_address);
    // Zero addresses: the control connection's (RFC 5357 §3.5). They must be of the family
    // the request names.
    if (info.sender.is_unspecified()) {
        info.sender = addresses_.peer;
    }
    if (info.receiver.is_unspecified()) {
        info.receiver = addresses_.local;
    }
    auto family = m->ipvn == 6 ? net::ip_family::ipv6 : net::ip_family::ipv4;
    if (info.sender.family != family || info.receiver.family != family) {
        refuse(r, accept_code::not_supported, m->receiver_port, "address family");
        return;
    }
    // The workers send the replies from the Receiver Address to the Sender Address: the first
    // must be the box's own, the second the client's own unless the operator allows others
    // (see the header).
    const auto& local = policy_.local_addresses;
    if (std::find(local.begin(), local.end(), info.receiver) == local.end()) {
        refuse(r, accept_code::not_supported, m->receiver_port, "receiver address");
        return;
    }
    if (info.sender != addresses_.peer &&
        !(policy_.allow_third_party_senders &&
          std::any_of(policy_.sender_prefixes.begin(), policy_.sender_prefixes.end(),
                      [&](const net::prefix& p) { return p.contains(info.sender); }))) {
        refuse(r, accept_code::not_supported, m->receiver_port, "sender address");
        return;
    }
    if (policy_.sender_refused(info.sender, m->sender_port)) {
        // The replies would go to a reflector's or an echo service's port: a loop.
        refuse(r, accept_code::not_supported, m->receiver_port, "sender port");
        return;
    }
    info.sender_port = m->sender_port;
    info.receiver_port = m->receiver_port;
    info.dscp = *dscp;
    info.padding_length = m->padding_length;
    info.start_time = m->start_time;
    info.timeout_ns = std::min(ntp_duration_to_ns(m->timeout), policy_.max_timeout_ns);
    info.mode = mode_;
    // The test packets of authenticated and encrypted sessions use the connection's keys
    // (RFC 4656 §4.1.2, RFC 5357 §4.1.2); mixed mode's are unauthenticated (RFC 5618).
    if ((mode_ & (mode_authenticated | mode_encrypted)) != 0) {
        info.aes_session_key = keys_.aes;
        info.hmac_session_key = keys_.hmac;
    }
    if (reflect) {
        info.octets_to_reflect = m->octets_to_reflect;
        info.padding_to_reflect = m->padding_to_reflect;
    }
    if (policy_.max_sessions_per_connection != 0 &&
        sessions_.size() >= policy_.max_sessions_per_connection) {
        refuse(r, accept_code::temporary_limit, m->receiver_port, "sessions per connection");
        return;
    }
    allocation a = allocator_->allocate(info);
    if (a.accept != accept_code::ok || a.port == 0) {
        refuse(r, a.accept == accept_code::ok ? accept_code::internal_error : a.accept,
               m->receiver_port, "allocator");
        return;
    }
    info.receiver_port = a.port;
    info.sid = make_sid(info.receiver, now_ns);
    sessions_.push_back({info, false, now_ns});

    accept_session out;
    out.accept = static_cast<uint8_t>(accept_code::ok);
    out.port = a.port;
    out.sid = info.sid;
    out.reflected_octets = info.octets_to_reflect; // 0 without reflect octets
    emit(r, encode(out));
    r.actions.emplace_back(session_accepted{info});
    bump(counters_, &server_counters::session_accepted);
}

void server_connection::on_start(std::span<const uint8_t> msg, result& r) {
    if (!all_zero(msg.subspan(1, 15))) {
        close(r, close_reason::mbz_nonzero);
        return;
    }
    if (sessions_.empty()) {
        emit(r, encode_start_ack(static_cast<uint8_t>(accept_code::failure)));
        close(r, close_reason::no_sessions);
        return;
    }
    sessions_started started;
    for (auto& e : sessions_) {
        if (!e.started) {
            e.started = true;
            started.sids.push_back(e.info.sid);
        }
    }
    emit(r, encode_start_ack(static_cast<uint8_t>(accept_code::ok)));
    state_ = server_state::running;
    bump(counters_, &server_counters::session_started, started.sids.size());
    if (!started.sids.empty()) {
        r.actions.emplace_back(std::move(started));
    }
}

void server_connection::on_stop(std::span<const uint8_t> msg, result& r, uint64_t now_ns) {
    if (!all_zero(msg.subspan(2, 2)) || !all_zero(msg.subspan(8, 8))) {
        close(r, close_reason::mbz_nonzero);
        return;
    }
    auto m = decode_stop_sessions(msg);
    // Number of Sessions is informative in TWAMP (no session descriptions follow): every
    // session of the connection stops.
    sessions_stopped stopped;
    stopped.accept = m->accept;
    for (const auto& e : sessions_) {
        stopped.sessions.push_back(ref(e));
    }
    sessions_.clear();
    state_ = server_state::ready;
    last_activity_ns_ = now_ns; // SERVWAIT monitoring resumes (RFC 5357 §3.1)
    sessionless_since_ns_ = now_ns;
    bump(counters_, &server_counters::session_stopped, stopped.sessions.size());
    if (!stopped.sessions.empty()) {
        r.actions.emplace_back(std::move(stopped));
    }
}

// RFC 5938 commands are all or nothing: one SID the connection does not hold refuses the whole
// command with Accept 1 (the ack names the SIDs as asked) and changes nothing.
bool server_connection::refused_unknown_sids(n_sessions& ack, result& r) {
    const bool known = std::all_of(ack.sids.begin(), ack.sids.end(),
                                   [this](const sid_t& s) { return find(s) != nullptr; });
    if (known) {
        return false;
    }
    ack.accept = static_cast<uint8_t>(accept_code::failure);
    emit(r, encode(ack));
    return true;
}

void server_connection::on_start_n(std::span<const uint8_t> msg, result& r) {
    if (!all_zero(msg.subspan(1, 11))) {
        close(r, close_reason::mbz_nonzero);
        return;
    }
    auto m = decode_n_sessions(msg);
    n_sessions ack;
    ack.cmd = command::start_n_ack;
    ack.sids = m->sids;
    if (refused_unknown_sids(ack, r)) {
        return;
    }
    sessions_started started;
    started.individual = true;
    for (const auto& s : m->sids) {
        entry* e = find(s);
        if (!e->started) {
            e->started = true;
            started.sids.push_back(s);
        }
    }
    emit(r, encode(ack));
    if (any_started()) {
        state_ = server_state::running;
    }
    bump(counters_, &server_counters::session_started, started.sids.size());
    if (!started.sids.empty()) {
        r.actions.emplace_back(std::move(started));
    }
}

void server_connection::on_stop_n(std::span<const uint8_t> msg, result& r, uint64_t now_ns) {
    if (!all_zero(msg.subspan(2, 10))) {
        close(r, close_reason::mbz_nonzero);
        return;
    }
    auto m = decode_n_sessions(msg);
    n_sessions ack;
    ack.cmd = command::stop_n_ack;
    ack.sids = m->sids;
    if (refused_unknown_sids(ack, r)) {
        return;
    }
    sessions_stopped stopped;
    stopped.accept = m->accept;
    stopped.individual = true;
    for (const auto& s : m->sids) {
        auto it = std::find_if(sessions_.begin(), sessions_.end(),
                               [&s](const entry& e) { return e.info.sid == s; });
        if (it != sessions_.end()) { // a duplicate SID was already removed
            stopped.sessions.push_back(ref(*it));
            sessions_.erase(it);
        }
    }
    emit(r, encode(ack));
    if (!any_started() && state_ == server_state::running) {
        state_ = server_state::ready;
        last_activity_ns_ = now_ns;
    }
    if (sessions_.empty()) {
        sessionless_since_ns_ = now_ns;
    }
    bump(counters_, &server_counters::session_stopped, stopped.sessions.size());
    if (!stopped.sessions.empty()) {
        r.actions.emplace_back(std::move(stopped));
    }
}

result server_connection::on_timer(uint64_t now_ns) {
    result r;
    if (state_ != server_state::closed && policy_.unstarted_timeout_ns != 0) {
        sessions_stopped expired;
        std::erase_if(sessions_, [&](const entry& e) {
            if (e.started || now_ns < e.accepted_ns + policy_.unstarted_timeout_ns) {
                return false;
            }
            session_ref s = ref(e);
            s.timeout_ns = 0; // never reflected: its port is free now
            expired.sessions.push_back(s);
            return true;
        });
        if (!expired.sessions.empty()) {
            if (sessions_.empty()) {
                sessionless_since_ns_ = now_ns;
            }
            bump(counters_, &server_counters::session_unstarted_expired, expired.sessions.size());
            r.actions.emplace_back(std::move(expired));
        }
    }
    auto deadline = close_deadline();
    if (deadline && now_ns >= *deadline) {
        const bool setup =
                state_ == server_state::wait_setup_response && policy_.setup_timeout_ns != 0 &&
                (policy_.servwait_ns == 0 || policy_.setup_timeout_ns <= policy_.servwait_ns);
        // SERVWAIT's name when both fall due at once (the RFC's timer).
        const auto idle = idle_deadline();
        const bool idle_first =
                idle && now_ns >= *idle &&
                (policy_.servwait_ns == 0 || *idle < last_activity_ns_ + policy_.servwait_ns);
        close(r, setup        ? close_reason::setup_timeout
                 : idle_first ? close_reason::idle_timeout
                              : close_reason::servwait);
    }
    return r;
}

std::optional<uint64_t> server_connection::idle_deadline() const noexcept {
    auto since = sessionless_since();
    if (!since || policy_.idle_timeout_ns == 0) {
        return std::nullopt;
    }
    return *since + policy_.idle_timeout_ns;
}

std::optional<uint64_t> server_connection::next_deadline() const noexcept {
    auto d = close_deadline();
    if (state_ != server_state::closed && policy_.unstarted_timeout_ns != 0) {
        for (const auto& e : sessions_) {
            if (!e.started) {
                const uint64_t x = e.accepted_ns + policy_.unstarted_timeout_ns;
                d = d ? std::min(*d, x) : x;
            }
        }
    }
    return d;
}

std::optional<uint64_t> server_connection::close_deadline() const noexcept {
    if (state_ == server_state::closed || state_ == server_state::initial || servwait_suspended()) {
        return std::nullopt;
    }
    std::optional<uint64_t> d;
    if (policy_.servwait_ns != 0) {
        d = last_activity_ns_ + policy_.servwait_ns;
    }
    // In wait_setup_response last_activity_ns_ is the greeting's time.
    if (state_ == server_state::wait_setup_response && policy_.setup_timeout_ns != 0) {
        const uint64_t s = last_activity_ns_ + policy_.setup_timeout_ns;
        d = d ? std::min(*d, s) : s;
    }
    if (auto idle = idle_deadline()) {
        d = d ? std::min(*d, *idle) : *idle;
    }
    return d;
}

result server_connection::sessions_ended(std::span<const sid_t> sids) {
    result r;
    if (state_ == server_state::closed) {
        return r;
    }
    std::size_t before = sessions_.size();
    for (const auto& sid : sids) {
        std::erase_if(sessions_, [&sid](const entry& e) { return e.info.sid == sid; });
    }
    if (sessions_.size() != before && !any_started()) {
        close(r, close_reason::refwait);
    }
    return r;
}

result server_connection::abort(close_reason reason) {
    result r;
    if (state_ != server_state::closed) {
        close(r, reason);
    }
    return r;
}

void server_connection::close(result& r, close_reason reason) {
    connection_closed c;
    c.reason = reason;
    for (const auto& e : sessions_) {
        c.sessions.push_back(ref(e));
    }
    sessions_.clear();
    pending_.clear();
    pending_.shrink_to_fit();
    send_.reset();
    recv_.reset();
    keys_ = {};
    reader_.clear();
    state_ = server_state::closed;
    if (counters_ != nullptr) {
        counters_->closed[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
    }
    r.actions.emplace_back(std::move(c));
}

std::vector<session_ref> server_connection::sessions() const {
    std::vector<session_ref> v;
    v.reserve(sessions_.size());
    for (const auto& e : sessions_) {
        v.push_back(ref(e));
    }
    return v;
}

sid_t server_connection::make_sid(const net::address& receiver, uint64_t now_ns) {
    // RFC 4656 §3.5: the receiver's IPv4 address, an NTP timestamp, 4 random octets. An IPv6
    // receiver has no 4-octet address: its four 32-bit words XOR-folded stand in.
    sid_t s{};
    for (std::size_t i = 0; i < (receiver.is_v4() ? 4U : 16U); ++i) {
        s[i % 4] ^= receiver.bytes[i];
    }
    proto::store_be64(&s[4], proto::ntp_from_unix_ns(now_ns));
    random_(std::span<uint8_t>(&s[12], 4));
    // Unique within the connection (a poor random source, two requests in one tick).
    while (find(s) != nullptr) {
        uint32_t tail = proto::load_be32(&s[12]);
        proto::store_be32(&s[12], tail + 1);
    }
    return s;
}

bool server_connection::any_started() const noexcept {
    return std::any_of(sessions_.begin(), sessions_.end(),
                       [](const entry& e) { return e.started; });
}

bool server_connection::servwait_suspended() const noexcept {
    // RFC 5357 §3.1: SERVWAIT monitoring is suspended while test sessions run.
    return state_ == server_state::running;
}

session_ref server_connection::ref(const entry& e) const noexcept {
    return {e.info.sid, e.info.receiver_port, e.started, e.info.timeout_ns};
}

server_connection::entry* server_connection::find(const sid_t& sid) noexcept {
    auto it = std::find_if(sessions_.begin(), sessions_.end(),
                           [&sid](const entry& e) { return e.info.sid == sid; });
    return it == sessions_.end() ? nullptr : &*it;
}

} // namespace twamp::control
