// TWAMP-Control wire formats (RFC 5357 §3, unauthenticated mode), as plain structs with
// encode/decode over byte spans. Layouts, octet offsets from the start of each message:
//
//   Server-Greeting (64, RFC 4656 §3.1): Unused 0..11, Modes 12..15, Challenge 16..31,
//     Salt 32..47, Count 48..51, MBZ 52..63.
//   Set-Up-Response (164, RFC 4656 §3.1): Mode 0..3, KeyID 4..83, Token 84..147,
//     Client-IV 148..163.
//   Server-Start (48, RFC 4656 §3.1, RFC 5357 §3.1): MBZ 0..14, Accept 15, Server-IV 16..31,
//     Start-Time 32..39, MBZ 40..47.
//   Request-TW-Session (112, RFC 5357 §3.5): 5, MBZ(4 bits)|IPVN(4 bits), Conf-Sender,
//     Conf-Receiver, Number of Schedule Slots 4..7, Number of Packets 8..11, Sender Port 12..13,
//     Receiver Port 14..15, Sender Address 16..31, Receiver Address 32..47, SID 48..63,
//     Padding Length 64..67, Start Time 68..75, Timeout 76..83, Type-P Descriptor 84..87,
//     MBZ 88..95 (RFC 6038 reflect octets: Octets to be reflected 88..89, Length of padding to
//     reflect 90..91, MBZ 92..95), HMAC 96..111.
//   Accept-Session (48, RFC 5357 §3.5): Accept 0, MBZ 1, Port 2..3, SID 4..19, MBZ 20..31
//     (RFC 6038: Reflected octets 20..21, Server octets 22..23, MBZ 24..31), HMAC 32..47.
//   Start-Sessions (32, RFC 4656 §3.7): 2, MBZ 1..15, HMAC 16..31.
//   Start-Ack (32, RFC 4656 §3.7): Accept 0, MBZ 1..15, HMAC 16..31.
//   Stop-Sessions (32, RFC 5357 §3.8): 3, Accept 1, MBZ 2..3, Number of Sessions 4..7,
//     MBZ 8..15, HMAC 16..31 (TWAMP: no session descriptions follow).
//   RFC 5938 individual session control, 32 + 16 * N octets: command (7 Start-N-Sessions,
//     8 Start-N-Ack, 9 Stop-N-Sessions, 10 Stop-N-Ack), Accept 1 (MBZ in Start-N-Sessions),
//     MBZ 2..11, Number of Sessions 12..15, N SIDs of 16 octets, HMAC (16).
//
// Multi-octet fields are big-endian. Timestamps are NTP 64-bit (RFC 5905): use
// twamp/proto/timestamp.hpp. Unauthenticated mode: every HMAC, KeyID, Token and IV is unused
// (written as zero, ignored on receipt).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "twamp/net/modes.hpp"

namespace twamp::control {

inline constexpr std::size_t server_greeting_size = 64;
inline constexpr std::size_t setup_response_size = 164;
inline constexpr std::size_t server_start_size = 48;
inline constexpr std::size_t request_tw_session_size = 112;
inline constexpr std::size_t accept_session_size = 48;
inline constexpr std::size_t start_sessions_size = 32;
inline constexpr std::size_t start_ack_size = 32;
inline constexpr std::size_t stop_sessions_size = 32;
// RFC 5938 messages: a 16-octet header, N SIDs, a 16-octet HMAC.
inline constexpr std::size_t n_sessions_header_size = 16;
inline constexpr std::size_t n_sessions_size(std::size_t n) noexcept {
    return n_sessions_header_size + 16 * n + 16;
}

// Modes bits: one definition, twamp/net/modes.hpp (the config's control.modes uses it too).
using namespace net::modes;
// The security modes: exactly one of them is chosen in Set-Up-Response.
inline constexpr uint32_t security_modes =
        mode_unauthenticated | mode_authenticated | mode_encrypted | mode_mixed;
// What this implementation can serve (supported_modes): from the table in twamp/net/modes.hpp.

// The first octet of a command sent by the Control-Client (RFC 4656 §3.3, RFC 5357 §8.4,
// RFC 5938 §5). 0 Reserved, 1 Forbidden, 4 Reserved, 6 Experimentation are never accepted.
enum class command : uint8_t {
    start_sessions = 2,
    stop_sessions = 3,
    request_tw_session = 5,
    start_n_sessions = 7,
    start_n_ack = 8,
    stop_n_sessions = 9,
    stop_n_ack = 10,
};

// Accept values (RFC 4656 §3.3).
enum class accept_code : uint8_t {
    ok = 0,
    failure = 1,         // reason unspecified (catch-all)
    internal_error = 2,  //
    not_supported = 3,   // some aspect of the request is not supported
    permanent_limit = 4, // cannot perform request due to permanent resource limitations
    temporary_limit = 5, // cannot perform request due to temporary resource limitations
};
std::string_view to_string(accept_code a) noexcept;

using sid_t = std::array<uint8_t, 16>;
// 32 lower-case hex digits, for logs.
std::string sid_to_string(const sid_t& sid);

// RFC 4656 §3.1: Count MUST be a power of 2 and at least 1024.
inline constexpr uint32_t default_count = 1024;

struct server_greeting {
    uint32_t modes = 0;
    std::array<uint8_t, 16> challenge{};
    std::array<uint8_t, 16> salt{};
    uint32_t count = default_count;
};
std::array<uint8_t, server_greeting_size> encode(const server_greeting& m) noexcept;
// Needs exactly server_greeting_size octets; Unused and MBZ are ignored.
std::optional<server_greeting> decode_server_greeting(std::span<const uint8_t> b) noexcept;

struct setup_response {
    uint32_t mode = 0;
    // KeyID, Token and Client-IV are meaningless in unauthenticated mode: kept only so a
    // decoder can show them.
    std::array<uint8_t, 80> key_id{};
    std::array<uint8_t, 64> token{};
    std::array<uint8_t, 16> client_iv{};
};
std::array<uint8_t, setup_response_size> encode(const setup_response& m) noexcept;
std::optional<setup_response> decode_setup_response(std::span<const uint8_t> b) noexcept;

struct server_start {
    uint8_t accept = 0;
    std::array<uint8_t, 16> server_iv{};
    uint64_t start_time = 0; // NTP wire value
};
std::array<uint8_t, server_start_size> encode(const server_start& m) noexcept;
std::optional<server_start> decode_server_start(std::span<const uint8_t> b) noexcept;

struct request_tw_session {
    uint8_t mbz_ipvn = 0; // the high 4 bits of octet 1 (MUST be zero)
    uint8_t ipvn = 4;     // 4 or 6
    uint8_t conf_sender = 0;
    uint8_t conf_receiver = 0;
    uint32_t schedule_slots = 0;
    uint32_t packets = 0;
    uint16_t sender_port = 0;
    uint16_t receiver_port = 0;
    std::array<uint8_t, 16> sender_address{};   // IPv4: octets 0..3
    std::array<uint8_t, 16> receiver_address{}; // IPv4: octets 0..3
    sid_t sid{};
    uint32_t padding_length = 0;
    uint64_t start_time = 0; // NTP wire value
    uint64_t timeout = 0;    // NTP-format duration: seconds << 32 | 2^-32 fractions
    uint32_t type_p = 0;
    uint16_t octets_to_reflect = 0;  // RFC 6038, else part of MBZ
    uint16_t padding_to_reflect = 0; // RFC 6038, else part of MBZ
    std::array<uint8_t, 4> mbz{};    // octets 92..95
};
std::array<uint8_t, request_tw_session_size> encode(const request_tw_session& m) noexcept;
// Needs exactly request_tw_session_size octets whose first is 5.
std::optional<request_tw_session> decode_request_tw_session(std::span<const uint8_t> b) noexcept;

struct accept_session {
    uint8_t accept = 0;
    uint16_t port = 0;
    sid_t sid{};
    uint16_t reflected_octets = 0; // RFC 6038, else MBZ
    uint16_t server_octets = 0;    // RFC 6038, else MBZ
};
std::array<uint8_t, accept_session_size> encode(const accept_session& m) noexcept;
std::optional<accept_session> decode_accept_session(std::span<const uint8_t> b) noexcept;

std::array<uint8_t, start_sessions_size> encode_start_sessions() noexcept;
std::array<uint8_t, start_ack_size> encode_start_ack(uint8_t accept) noexcept;
// Accept of a Start-Ack (exactly start_ack_size octets).
std::optional<uint8_t> decode_start_ack(std::span<const uint8_t> b) noexcept;

struct stop_sessions {
    uint8_t accept = 0;
    uint32_t sessions = 0; // Number of Sessions
};
std::array<uint8_t, stop_sessions_size> encode(const stop_sessions& m) noexcept;
std::optional<stop_sessions> decode_stop_sessions(std::span<const uint8_t> b) noexcept;

// Start-N-Sessions, Start-N-Ack, Stop-N-Sessions, Stop-N-Ack (RFC 5938).
struct n_sessions {
    command cmd = command::start_n_sessions;
    uint8_t accept = 0; // always 0 in Start-N-Sessions (its octet 1 is MBZ)
    std::vector<sid_t> sids;
};
std::vector<uint8_t> encode(const n_sessions& m);
// Number of Sessions from a 16-octet header (no validation).
uint32_t n_sessions_count(std::span<const uint8_t> header) noexcept;
// Needs exactly n_sessions_size(N) octets with one of the four commands.
std::optional<n_sessions> decode_n_sessions(std::span<const uint8_t> b);

// RFC 4656 §3.5 / RFC 5357 §3.5 Type-P Descriptor: the first two bits 00 mean the next six
// are a DSCP. Only that form is supported, with the other 24 bits zero (as perfSONAR's
// owamp/twamp reads it): anything else yields nullopt (-> Accept "not supported").
std::optional<uint8_t> dscp_from_type_p(uint32_t type_p) noexcept;
inline constexpr uint32_t type_p_from_dscp(uint8_t dscp) noexcept {
    return static_cast<uint32_t>(dscp & 0x3f) << 24;
}

// NTP-format durations (Timeout): seconds.fraction <-> nanoseconds, rounded to nearest.
uint64_t ntp_duration_to_ns(uint64_t wire) noexcept;
uint64_t ns_to_ntp_duration(uint64_t ns) noexcept;

// True when every octet is zero.
bool all_zero(std::span<const uint8_t> b) noexcept;

// Reassembly of a TCP byte stream into messages, shared by client and server: the length of
// the message at the head of the stream (known), or how many octets are needed to learn it
// (!known).
struct frame_length {
    std::size_t length = 0;
    bool known = false;
};

// Moves from `bytes` into `pending` what a message of `length` octets still lacks, never more:
// the rest is the next message's.
inline void take_message_octets(std::vector<uint8_t>& pending, std::span<const uint8_t>& bytes,
                                std::size_t length) {
    const std::size_t need = length - pending.size(); // length >= pending.size() by framing
    const std::size_t take = need < bytes.size() ? need : bytes.size();
    pending.insert(pending.end(), bytes.begin(), bytes.begin() + static_cast<long>(take));
    bytes = bytes.subspan(take);
}

} // namespace twamp::control
