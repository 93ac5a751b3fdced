// TWAMP-Control Modes bits (RFC 5357 §3.1, RFC 5618, RFC 5938, RFC 6038, RFC 8186): the values
// a Server-Greeting carries, and their names as the config file writes them. The one
// definition both the config (control.modes) and the control state machine use.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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

// One row per bit above, in bit order: the one table of mode names.
//   name       as the config file (control.modes) and the config's messages write it;
//   ping_name  as twamp-ping prints a server's offered modes; empty: twamp-ping does not name
//              the bit (it prints it among "unknown bits 0x...", as it always has);
//   supported  this implementation can serve it (control.modes accepts it, the server offers
//              it); a known but unsupported mode is refused by name.
struct mode_name {
    uint32_t bit;
    std::string_view name;
    std::string_view ping_name;
    bool supported;
};
inline constexpr mode_name mode_names[] = {
        {mode_unauthenticated, "unauthenticated", "unauthenticated", true},
        {mode_authenticated, "authenticated", "authenticated", true},
        {mode_encrypted, "encrypted", "encrypted", true},
        {mode_mixed, "mixed", "mixed", true},
        {mode_individual_session_control, "individual-session-control",
         "individual session control", true},
        {mode_reflect_octets, "reflect-octets", "reflect octets", true},
        {mode_symmetrical_size, "symmetrical-size", "symmetrical size", true},
        {mode_ptpv2_timestamps, "ptpv2-timestamps", "", true},
};

// The bits of the rows with `supported`: every security mode plus the feature bits.
inline constexpr uint32_t supported_modes = [] {
    uint32_t r = 0;
    for (const auto& m : mode_names) {
        r |= m.supported ? m.bit : 0;
    }
    return r;
}();

// The row of the mode named `name` (config spelling), or nullptr.
constexpr const mode_name* find_mode(std::string_view name) noexcept {
    for (const auto& m : mode_names) {
        if (m.name == name) {
            return &m;
        }
    }
    return nullptr;
}

// Space-separated names of the known bits set in `modes`, e.g. "unauthenticated reflect-octets".
inline std::string modes_to_string(uint32_t modes) {
    std::string r;
    for (const auto& m : mode_names) {
        if (modes & m.bit) {
            r += (r.empty() ? "" : " ") + std::string(m.name);
        }
    }
    return r;
}

} // namespace modes
} // namespace twamp::net
