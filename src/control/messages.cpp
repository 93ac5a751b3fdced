// TWAMP-Control wire formats: see include/twamp/control/messages.hpp for the layouts.
#include "twamp/control/messages.hpp"

#include <algorithm>
#include <cstring>

#include "twamp/proto/bytes.hpp"

namespace twamp::control {

using proto::load_be16;
using proto::load_be32;
using proto::load_be64;
using proto::store_be16;
using proto::store_be32;
using proto::store_be64;

std::string_view to_string(accept_code a) noexcept {
    switch (a) {
    case accept_code::ok:
        return "ok";
    case accept_code::failure:
        return "failure";
    case accept_code::internal_error:
        return "internal_error";
    case accept_code::not_supported:
        return "not_supported";
    case accept_code::permanent_limit:
        return "permanent_limit";
    case accept_code::temporary_limit:
        return "temporary_limit";
    }
    return "unknown";
}

std::string sid_to_string(const sid_t& sid) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string s;
    s.reserve(32);
    for (uint8_t b : sid) {
        s += hex[b >> 4];
        s += hex[b & 0xf];
    }
    return s;
}

bool all_zero(std::span<const uint8_t> b) noexcept {
    return std::all_of(b.begin(), b.end(), [](uint8_t v) { return v == 0; });
}

std::array<uint8_t, server_greeting_size> encode(const server_greeting& m) noexcept {
    std::array<uint8_t, server_greeting_size> b{};
    store_be32(&b[12], m.modes);
    std::memcpy(&b[16], m.challenge.data(), 16);
    std::memcpy(&b[32], m.salt.data(), 16);
    store_be32(&b[48], m.count);
    return b;
}

std::optional<server_greeting> decode_server_greeting(std::span<const uint8_t> b) noexcept {
    if (b.size() != server_greeting_size) {
        return std::nullopt;
    }
    server_greeting m;
    m.modes = load_be32(&b[12]);
    std::memcpy(m.challenge.data(), &b[16], 16);
    std::memcpy(m.salt.data(), &b[32], 16);
    m.count = load_be32(&b[48]);
    return m;
}

std::array<uint8_t, setup_response_size> encode(const setup_response& m) noexcept {
    std::array<uint8_t, setup_response_size> b{};
    store_be32(&b[0], m.mode);
    std::memcpy(&b[4], m.key_id.data(), 80);
    std::memcpy(&b[84], m.token.data(), 64);
    std::memcpy(&b[148], m.client_iv.data(), 16);
    return b;
}

std::optional<setup_response> decode_setup_response(std::span<const uint8_t> b) noexcept {
    if (b.size() != setup_response_size) {
        return std::nullopt;
    }
    setup_response m;
    m.mode = load_be32(&b[0]);
    std::memcpy(m.key_id.data(), &b[4], 80);
    std::memcpy(m.token.data(), &b[84], 64);
    std::memcpy(m.client_iv.data(), &b[148], 16);
    return m;
}

std::array<uint8_t, server_start_size> encode(const server_start& m) noexcept {
    std::array<uint8_t, server_start_size> b{};
    b[15] = m.accept;
    std::memcpy(&b[16], m.server_iv.data(), 16);
    store_be64(&b[32], m.start_time);
    return b;
}

std::optional<server_start> decode_server_start(std::span<const uint8_t> b) noexcept {
    if (b.size() != server_start_size) {
        return std::nullopt;
    }
    server_start m;
    m.accept = b[15];
    std::memcpy(m.server_iv.data(), &b[16], 16);
    m.start_time = load_be64(&b[32]);
    return m;
}

std::array<uint8_t, request_tw_session_size> encode(const request_tw_session& m) noexcept {
    std::array<uint8_t, request_tw_session_size> b{};
    b[0] = static_cast<uint8_t>(command::request_tw_session);
    b[1] = static_cast<uint8_t>(((m.mbz_ipvn & 0xf) << 4) | (m.ipvn & 0xf));
    b[2] = m.conf_sender;
    b[3] = m.conf_receiver;
    store_be32(&b[4], m.schedule_slots);
    store_be32(&b[8], m.packets);
    store_be16(&b[12], m.sender_port);
    store_be16(&b[14], m.receiver_port);
    std::memcpy(&b[16], m.sender_address.data(), 16);
    std::memcpy(&b[32], m.receiver_address.data(), 16);
    std::memcpy(&b[48], m.sid.data(), 16);
    store_be32(&b[64], m.padding_length);
    store_be64(&b[68], m.start_time);
    store_be64(&b[76], m.timeout);
    store_be32(&b[84], m.type_p);
    store_be16(&b[88], m.octets_to_reflect);
    store_be16(&b[90], m.padding_to_reflect);
    std::memcpy(&b[92], m.mbz.data(), 4);
    return b;
}

std::optional<request_tw_session> decode_request_tw_session(std::span<const uint8_t> b) noexcept {
    if (b.size() != request_tw_session_size ||
        b[0] != static_cast<uint8_t>(command::request_tw_session)) {
        return std::nullopt;
    }
    request_tw_session m;
    m.mbz_ipvn = static_cast<uint8_t>(b[1] >> 4);
    m.ipvn = static_cast<uint8_t>(b[1] & 0xf);
    m.conf_sender = b[2];
    m.conf_receiver = b[3];
    m.schedule_slots = load_be32(&b[4]);
    m.packets = load_be32(&b[8]);
    m.sender_port = load_be16(&b[12]);
    m.receiver_port = load_be16(&b[14]);
    std::memcpy(m.sender_address.data(), &b[16], 16);
    std::memcpy(m.receiver_address.data(), &b[32], 16);
    std::memcpy(m.sid.data(), &b[48], 16);
    m.padding_length = load_be32(&b[64]);
    m.start_time = load_be64(&b[68]);
    m.timeout = load_be64(&b[76]);
    m.type_p = load_be32(&b[84]);
    m.octets_to_reflect = load_be16(&b[88]);
    m.padding_to_reflect = load_be16(&b[90]);
    std::memcpy(m.mbz.data(), &b[92], 4);
    return m;
}

std::array<uint8_t, accept_session_size> encode(const accept_session& m) noexcept {
    std::array<uint8_t, accept_session_size> b{};
    b[0] = m.accept;
    store_be16(&b[2], m.port);
    std::memcpy(&b[4], m.sid.data(), 16);
    store_be16(&b[20], m.reflected_octets);
    store_be16(&b[22], m.server_octets);
    return b;
}

std::optional<accept_session> decode_accept_session(std::span<const uint8_t> b) noexcept {
    if (b.size() != accept_session_size) {
        return std::nullopt;
    }
    accept_session m;
    m.accept = b[0];
    m.port = load_be16(&b[2]);
    std::memcpy(m.sid.data(), &b[4], 16);
    m.reflected_octets = load_be16(&b[20]);
    m.server_octets = load_be16(&b[22]);
    return m;
}

std::array<uint8_t, start_sessions_size> encode_start_sessions() noexcept {
    std::array<uint8_t, start_sessions_size> b{};
    b[0] = static_cast<uint8_t>(command::start_sessions);
    return b;
}

std::array<uint8_t, start_ack_size> encode_start_ack(uint8_t accept) noexcept {
    std::array<uint8_t, start_ack_size> b{};
    b[0] = accept;
    return b;
}

std::optional<uint8_t> decode_start_ack(std::span<const uint8_t> b) noexcept {
    if (b.size() != start_ack_size) {
        return std::nullopt;
    }
    return b[0];
}

std::array<uint8_t, stop_sessions_size> encode(const stop_sessions& m) noexcept {
    std::array<uint8_t, stop_sessions_size> b{};
    b[0] = static_cast<uint8_t>(command::stop_sessions);
    b[1] = m.accept;
    store_be32(&b[4], m.sessions);
    return b;
}

std::optional<stop_sessions> decode_stop_sessions(std::span<const uint8_t> b) noexcept {
    if (b.size() != stop_sessions_size || b[0] != static_cast<uint8_t>(command::stop_sessions)) {
        return std::nullopt;
    }
    return stop_sessions{b[1], load_be32(&b[4])};
}

std::vector<uint8_t> encode(const n_sessions& m) {
    std::vector<uint8_t> b(n_sessions_size(m.sids.size()), 0); // HMAC stays zero: unused
    uint8_t* p = b.data();
    if (p == nullptr) { // never (the size is at least 32); tells GCC's -Wnull-dereference
        return b;
    }
    p[0] = static_cast<uint8_t>(m.cmd);
    if (m.cmd != command::start_n_sessions) {
        p[1] = m.accept;
    }
    store_be32(p + 12, static_cast<uint32_t>(m.sids.size()));
    for (std::size_t i = 0; i < m.sids.size(); ++i) {
        std::memcpy(p + n_sessions_header_size + 16 * i, m.sids[i].data(), 16);
    }
    return b;
}

uint32_t n_sessions_count(std::span<const uint8_t> header) noexcept {
    return header.size() >= n_sessions_header_size ? load_be32(&header[12]) : 0;
}

std::optional<n_sessions> decode_n_sessions(std::span<const uint8_t> b) {
    if (b.size() < n_sessions_size(0)) {
        return std::nullopt;
    }
    auto cmd = static_cast<command>(b[0]);
    if (cmd != command::start_n_sessions && cmd != command::start_n_ack &&
        cmd != command::stop_n_sessions && cmd != command::stop_n_ack) {
        return std::nullopt;
    }
    uint64_t n = n_sessions_count(b);
    if ((b.size() - n_sessions_size(0)) / 16 != n || (b.size() - n_sessions_size(0)) % 16 != 0) {
        return std::nullopt;
    }
    n_sessions m;
    m.cmd = cmd;
    m.accept = cmd == command::start_n_sessions ? 0 : b[1];
    m.sids.resize(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < m.sids.size(); ++i) {
        std::memcpy(m.sids[i].data(), &b[n_sessions_header_size + 16 * i], 16);
    }
    return m;
}

std::optional<uint8_t> dscp_from_type_p(uint32_t type_p) noexcept {
    if ((type_p & ~0x3f000000U) != 0) {
        return std::nullopt;
    }
    return static_cast<uint8_t>(type_p >> 24);
}

uint64_t ntp_duration_to_ns(uint64_t wire) noexcept {
    uint64_t sec = wire >> 32;
    uint64_t frac = wire & 0xffffffffULL;
    return sec * 1'000'000'000ULL + ((frac * 1'000'000'000ULL + (1ULL << 31)) >> 32);
}

uint64_t ns_to_ntp_duration(uint64_t ns) noexcept {
    uint64_t sec = ns / 1'000'000'000ULL;
    uint64_t rem = ns % 1'000'000'000ULL;
    uint64_t frac = ((rem << 32) + 500'000'000ULL) / 1'000'000'000ULL;
    if (frac >> 32) {
        frac = 0;
        ++sec;
    }
    if (sec > 0xffffffffULL) { // saturate: about 136 years
        return ~0ULL;
    }
    return (sec << 32) | frac;
}

} // namespace twamp::control
