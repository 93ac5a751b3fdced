#include "twamp/config/ip.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace twamp::config {

namespace {

// Clears every bit of `bytes` after the first `length`.
void mask(std::array<uint8_t, 16>& bytes, unsigned length) noexcept {
    for (unsigned i = 0; i < bytes.size(); ++i) {
        unsigned first_bit = i * 8;
        if (first_bit >= length) {
            bytes[i] = 0;
        } else if (length - first_bit < 8) {
            bytes[i] = static_cast<uint8_t>(bytes[i] & (0xff << (8 - (length - first_bit))));
        }
    }
}

bool prefix_equal(const ip_address& a, const ip_address& b, unsigned length) noexcept {
    if (a.family != b.family) {
        return false;
    }
    auto x = a.bytes;
    auto y = b.bytes;
    mask(x, length);
    mask(y, length);
    return x == y;
}

} // namespace

uint32_t ip_address::v4_host_order() const noexcept {
    return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
           uint32_t{bytes[3]};
}

bool ip_address::is_unspecified() const noexcept {
    for (auto b : bytes) {
        if (b != 0) {
            return false;
        }
    }
    return true;
}

bool ip_address::is_loopback() const noexcept {
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

bool ip_address::is_multicast() const noexcept {
    return is_v4() ? (bytes[0] & 0xf0) == 0xe0 : bytes[0] == 0xff;
}

ip_address ip_address::v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) noexcept {
    ip_address r;
    r.family = ip_family::ipv4;
    r.bytes[0] = a;
    r.bytes[1] = b;
    r.bytes[2] = c;
    r.bytes[3] = d;
    return r;
}

std::optional<ip_address> ip_address::parse(std::string_view text) noexcept {
    // inet_pton wants a C string; INET6_ADDRSTRLEN bounds every valid form.
    char buf[INET6_ADDRSTRLEN + 1];
    if (text.empty() || text.size() >= sizeof(buf) || text.find('\0') != text.npos) {
        return std::nullopt;
    }
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    ip_address r;
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

std::string ip_address::to_string() const {
    char buf[INET6_ADDRSTRLEN];
    const char* s = inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes.data(), buf, sizeof(buf));
    return s ? std::string(s) : std::string("?");
}

std::optional<ip_prefix> ip_prefix::parse(std::string_view text, bool allow_bare) noexcept {
    auto slash = text.find('/');
    ip_prefix r;
    auto addr = ip_address::parse(text.substr(0, slash));
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

std::string ip_prefix::to_string() const {
    return address.to_string() + "/" + std::to_string(length);
}

ip_prefix ip_prefix::network() const noexcept {
    ip_prefix r = *this;
    mask(r.address.bytes, length);
    return r;
}

bool ip_prefix::contains(const ip_address& a) const noexcept {
    return prefix_equal(address, a, length);
}

bool ip_prefix::contains(const ip_prefix& p) const noexcept {
    return p.length >= length && prefix_equal(address, p.address, length);
}

bool ip_prefix::overlaps(const ip_prefix& p) const noexcept {
    // Two prefixes overlap exactly when the shorter one contains the longer one.
    return prefix_equal(address, p.address, length < p.length ? length : p.length);
}

} // namespace twamp::config
