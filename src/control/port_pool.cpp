// Receiver ports and the session limit (control.receiver-ports, control.max-sessions).
#include "twamp/control/session.hpp"

namespace twamp::control {

port_pool::port_pool(net::port_range range, uint32_t max_sessions) noexcept
    : range_(range), max_sessions_(max_sessions), next_(range.min) {}

void port_pool::reconfigure(net::port_range range, uint32_t max_sessions) noexcept {
    range_ = range;
    max_sessions_ = max_sessions;
    if (!range_.contains(next_)) {
        next_ = range_.min;
    }
}

allocation port_pool::allocate(const session_info& proposed) {
    if (range_.min == 0 || range_.min > range_.max || max_sessions_ == 0) {
        return {accept_code::permanent_limit, 0};
    }
    if (used_.size() >= max_sessions_) {
        return {accept_code::temporary_limit, 0};
    }
    uint16_t want = proposed.receiver_port;
    uint16_t port = 0;
    if (want != 0 && range_.contains(want) && !is_used(want)) {
        port = want;
    } else {
        // Round robin from next_: at most one pass over the range.
        uint32_t size = static_cast<uint32_t>(range_.max) - range_.min + 1;
        uint16_t p = range_.contains(next_) ? next_ : range_.min;
        for (uint32_t i = 0; i < size; ++i) {
            if (!is_used(p)) {
                port = p;
                break;
            }
            p = p == range_.max ? range_.min : static_cast<uint16_t>(p + 1);
        }
        if (port == 0) {
            return {accept_code::temporary_limit, 0};
        }
        next_ = port == range_.max ? range_.min : static_cast<uint16_t>(port + 1);
    }
    used_.insert(port);
    return {accept_code::ok, port};
}

void port_pool::release(uint16_t port) noexcept {
    used_.erase(port);
}

} // namespace twamp::control
