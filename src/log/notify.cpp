#include "twamp/log/notify.hpp"

#ifdef TWAMP_HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace twamp::log {

namespace {

std::string one_line(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? '?' : c;
    }
    return out;
}

} // namespace

bool notify(const std::string& state) noexcept {
#ifdef TWAMP_HAVE_LIBSYSTEMD
    // unset_environment 0: NOTIFY_SOCKET stays for the next notification.
    return sd_notify(0, state.c_str()) > 0;
#else
    (void)state;
    return false;
#endif
}

std::string ready_state(const std::string& status) {
    return "READY=1\nSTATUS=" + one_line(status);
}

std::string reloading_state(uint64_t monotonic_usec, const std::string& status) {
    return "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec) +
           "\nSTATUS=" + one_line(status);
}

std::string stopping_state(const std::string& status) {
    return "STOPPING=1\nSTATUS=" + one_line(status);
}

} // namespace twamp::log
