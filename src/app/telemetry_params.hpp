// The parameters of the paged DPDK telemetry commands (/twamp/session_list,
// /twamp/control_list) and their cursors, DPDK-free so that they are unit tested: every
// request's text is hostile (any client of the telemetry socket may send it).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "twamp/net/address.hpp"

namespace twamp::app {

// /twamp/session_list's parameters: "key=value" pairs joined by ','. Keys: cursor, reflector,
// source (ADDR or ADDR/LEN), port (1-65535), ssid (0-65535), page (1..page_max). A key twice,
// an unknown key, a value out of range or more than 512 octets of text: false.
struct session_list_params {
    // cursor: "W" (worker W from its start) or "W:ORDER:KEY", ORDER 16 and KEY 80 lowercase
    // hex digits (after the session of that listing order and key, on worker W).
    unsigned worker = 0;
    bool has_after = false;
    uint64_t after_order = 0;
    std::array<uint8_t, 40> after_key{}; // a dataplane::session_key's octets
    std::optional<std::string> reflector;
    std::optional<net::prefix> source; // its network (host bits cleared)
    uint32_t port = 0;                 // 0: any
    uint32_t ssid = ~0u;               // ~0: any
    unsigned page = 0;                 // 0: the default (page_max)
};
bool parse_session_list_params(const char* params, unsigned workers, unsigned page_max,
                               session_list_params& out);
// The cursor after the session of `order` and `key` (40 octets) on worker `w`.
std::string session_cursor(unsigned w, uint64_t order, const uint8_t* key);

// /twamp/control_list's: cursor = "c:ID" (after connection ID), "s" (the sessions from their
// start), "s:SID" (after session SID, 32 lowercase hex digits); none or "": the start.
struct control_list_params {
    uint64_t after_id = 0;
    bool in_sessions = false;
    bool has_sid = false;
    std::array<uint8_t, 16> after_sid{};
};
bool parse_control_list_params(const char* params, control_list_params& out);

std::string to_hex(const uint8_t* p, std::size_t n);

} // namespace twamp::app
