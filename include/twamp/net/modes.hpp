// TWAMP-Control Modes bits (RFC 5357 §3.1, RFC 5618, RFC 5938, RFC 6038, RFC 8186): the values
// a Server-Greeting carries, and their names as the config file writes them. The one
// definition both the config (control.modes) and the control state machine use.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace twamp::net {
// An inline namespace so that a module can take all of them in one line
// (`using namespace net::modes;`, as the config and the control state machine do).
inline namespace modes {

inline constexpr uint32_t mode_unauthenticated = 1;
inline constexpr uint32_t mode_authenticated = 2;
inline constexpr uint32_t mode_encrypted = 4;
inline constexpr uint32_t mode_mixed = 8;
inline constexpr uint32_t mode_individual_session_control = 16; // RFC 5938
inline constexpr uint32_t mode_reflect_octets = 32;             // RFC 6038
inline constexpr uint32_t mode_symmetrical_size = 64;           // RFC 6038
// RFC 8186 §2.3: PTPv2 timestamps in TWAMP-Test (IANA TWAMP-Modes bit position 9).
inline constexpr uint32_t mode_ptpv2_timestamps = 512;

// Every bit above with its name, in bit order.
inline constexpr std::pair<uint32_t, std::string_view> mode_names[] = {
        {mode_unauthenticated, "unauthenticated"},
        {mode_authenticated, "authenticated"},
        {mode_encrypted, "encrypted"},
        {mode_mixed, "mixed"},
        {mode_individual_session_control, "individual-session-control"},
        {mode_reflect_octets, "reflect-octets"},
        {mode_symmetrical_size, "symmetrical-size"},
        {mode_ptpv2_timestamps, "ptpv2-timestamps"},
};

// Space-separated names of the known bits set in `modes`, e.g. "unauthenticated reflect-octets".
inline std::string modes_to_string(uint32_t modes) {
    std::string r;
    for (const auto& [bit, name] : mode_names) {
        if (modes & bit) {
            r += (r.empty() ? "" : " ") + std::string(name);
        }
    }
    return r;
}

} // namespace modes
} // namespace twamp::net
