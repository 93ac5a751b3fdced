#include "twamp/net/address.hpp"

#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "twamp/net/sockaddr.hpp"

namespace twamp::net {

namespace {

// Clears every bit of `bytes` after the first `length`.
bool prefix_equal(const address& a, const address& b, unsigned length) noexcept {
    if (a.family != b.family) {
        return false;
    }
    return with_host_bits(a.bytes, length, false) == with_host_bits(b.bytes, length, false);
}

} // namespace

uint32_t address::v4_host_order() const noexcept {
    return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
           uint32_t{bytes[3]};
}

bool address::is_unspecified() const noexcept {
    for (auto b : bytes) {
        if (b != 0) {
            return false;
        }
    }
    return true;
}

bool address::is_loopback() const noexcept {
    if (is_v4()) {
        return bytes[0] == 127;
    }
    for (std::size_t i = 0; i < 15; ++i) {
        if (bytes[i] != 0) {
            return false;
        }
    }
    return bytes[15] == 1;
}

bool address::is_multicast() const noexcept {
    return is_v4() ? (bytes[0] & 0xf0) == 0xe0 : bytes[0] == 0xff;
}

address address::v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) noexcept {
    address r;
    r.family = ip_family::ipv4;
    r.bytes[0] = a;
    r.bytes[1] = b;
    r.bytes[2] = c;
    r.bytes[3] = d;
    return r;
}

address address::from_octets(ip_family family, const uint8_t* octets) noexcept {
    address r;
    r.family = family;
    std::memcpy(r.bytes.data(), octets, family == ip_family::ipv4 ? 4 : 16);
    return r;
}

std::array<uint8_t, 16> address::mapped() const noexcept {
    if (is_v6()) {
        return bytes;
    }
    std::array<uint8_t, 16> m{};
    std::memcpy(m.data(), v4_mapped_head.data(), 12);
    std::memcpy(m.data() + 12, bytes.data(), 4);
    return m;
}

address address::from_mapped(const uint8_t* octets16) noexcept {
    if (std::memcmp(octets16, v4_mapped_head.data(), 12) == 0) {
        return from_octets(ip_family::ipv4, octets16 + 12);
    }
    return from_octets(ip_family::ipv6, octets16);
}

std::string mapped_to_string(const uint8_t* octets16) {
    return address::from_mapped(octets16).to_string();
}

address from_sockaddr(const sockaddr_storage& ss, uint16_t& port, v4_mapped mapped) noexcept {
    if (ss.ss_family == AF_INET6) {
        const auto* s6 = reinterpret_cast<const sockaddr_in6*>(&ss);
        port = ntohs(s6->sin6_port);
        return mapped == v4_mapped::as_ipv4
                       ? address::from_mapped(s6->sin6_addr.s6_addr)
                       : address::from_octets(ip_family::ipv6, s6->sin6_addr.s6_addr);
    }
    const auto* s4 = reinterpret_cast<const sockaddr_in*>(&ss);
    port = ntohs(s4->sin_port);
    return address::from_octets(ip_family::ipv4, reinterpret_cast<const uint8_t*>(&s4->sin_addr));
}

socklen_t to_sockaddr(const address& a, uint16_t port, sockaddr_storage& ss) noexcept {
    ss = sockaddr_storage{};
    if (a.is_v6()) {
        auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        std::memcpy(s6->sin6_addr.s6_addr, a.bytes.data(), 16);
        return sizeof(sockaddr_in6);
    }
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    std::memcpy(&s4->sin_addr, a.bytes.data(), 4);
    return sizeof(sockaddr_in);
}

std::optional<address> address::parse(std::string_view text) noexcept {
    // inet_pton wants a C string; INET6_ADDRSTRLEN bounds every valid form.
    char buf[INET6_ADDRSTRLEN + 1];
    if (text.empty() || text.size() >= sizeof(buf) || text.find('\0') != text.npos) {
        return std::nullopt;
    }
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    address r;
    if (text.find(':') != text.npos) {
        r.family = ip_family::ipv6;
        if (inet_pton(AF_INET6, buf, r.bytes.data()) != 1) {
            return std::nullopt;
        }
    } else {
        r.family = ip_family::ipv4;
        if (inet_pton(AF_INET, buf, r.bytes.data()) != 1) {
            return std::nullopt;
        }
    }
    return r;
}

std::string address::to_string() const {
    char buf[INET6_ADDRSTRLEN];
    const char* s = inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes.data(), buf, sizeof(buf));
    return s ? std::string(s) : std::string("?");
}

std::optional<prefix> prefix::parse(std::string_view text, bool allow_bare) noexcept {
    auto slash = text.find('/');
    prefix r;
    auto addr = address::parse(text.substr(0, slash));
    if (!addr) {
        return std::nullopt;
    }
    r.address = *addr;
    if (slash == text.npos) {
        if (!allow_bare) {
            return std::nullopt;
        }
        r.length = r.address.bits();
        return r;
    }
    auto len = text.substr(slash + 1);
    if (len.empty() || len.size() > 3 || (len.size() > 1 && len[0] == '0')) {
        return std::nullopt;
    }
    unsigned v = 0;
    for (char c : len) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > r.address.bits()) {
        return std::nullopt;
    }
    r.length = static_cast<uint8_t>(v);
    return r;
}

std::string endpoint_to_string(const address& a, uint16_t port) {
    const std::string p = ":" + std::to_string(port);
    return a.is_v4() ? a.to_string() + p : "[" + a.to_string() + "]" + p;
}

std::string prefix::to_string() const {
    return address.to_string() + "/" + std::to_string(length);
}

prefix prefix::network() const noexcept {
    prefix r = *this;
    r.address.bytes = with_host_bits(r.address.bytes, length, false);
    return r;
}

bool prefix::contains(const net::address& a) const noexcept {
    return prefix_equal(address, a, length);
}

bool prefix::contains(const prefix& p) const noexcept {
    return p.length >= length && prefix_equal(address, p.address, length);
}

bool prefix::overlaps(const prefix& p) const noexcept {
    // Two prefixes overlap exactly when the shorter one contains the longer one.
    return prefix_equal(address, p.address, length < p.length ? length : p.length);
}

} // namespace twamp::net
