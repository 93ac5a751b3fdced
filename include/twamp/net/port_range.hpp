// An inclusive range of UDP/TCP ports (control.receiver-ports).
#pragma once

#include <cstdint>

namespace twamp::net {

struct port_range {
    uint16_t min = 0;
    uint16_t max = 0;
    bool contains(uint16_t p) const noexcept { return p >= min && p <= max; }
    friend bool operator==(const port_range&, const port_range&) = default;
};

} // namespace twamp::net
