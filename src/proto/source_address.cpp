#include "twamp/proto/source_address.hpp"

#include "twamp/net/address.hpp"

namespace twamp::proto {

std::array<uint8_t, 8> eui64_interface_id(const uint8_t* mac) noexcept {
    return {static_cast<uint8_t>(mac[0] ^ 0x02),
            mac[1],
            mac[2],
            0xff,
            0xfe,
            mac[3],
            mac[4],
            mac[5]};
}

subnet_addresses unanswerable_subnet_addresses(const std::array<uint8_t, 16>& addr, bool v6,
                                               unsigned len) noexcept {
    subnet_addresses out;
    const unsigned base = v6 ? 0 : 96; // an IPv4 address lives in the last 32 bits
    const unsigned bits = base + len;  // bits of the prefix, counted from the first octet
    if ((v6 && len > 126) || (!v6 && len > 30)) {
        return out;
    }
    // IPv4 network address, IPv6 Subnet-Router anycast; IPv4 directed broadcast.
    out.addr[out.n++] = net::with_host_bits(addr, bits, false);
    if (!v6) {
        out.addr[out.n++] = net::with_host_bits(addr, bits, true);
    }
    return out;
}

} // namespace twamp::proto
