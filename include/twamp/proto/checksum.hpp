// Internet checksum (RFC 1071), incremental update (RFC 1624) and the UDP pseudo-header sums
// for IPv4 (RFC 768) and IPv6 (RFC 8200 §8.1).
//
// Convention: every 16-bit value here is numeric, i.e. what load_be16() reads from the wire and
// store_be16() writes. Partial sums are one's-complement sums folded to 16 bits (not yet
// complemented); combine them with csum_add(). Inline because the reflector's hot path uses them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <bit>
#include <cstring>
#include <span>

namespace twamp::proto {

// One's-complement addition of two folded partial sums.
constexpr uint16_t csum_add(uint16_t a, uint16_t b) noexcept {
    uint32_t s = uint32_t{a} + b;
    return static_cast<uint16_t>((s & 0xffff) + (s >> 16));
}

// One's-complement subtraction: a - b == a + ~b.
constexpr uint16_t csum_sub(uint16_t a, uint16_t b) noexcept {
    return csum_add(a, static_cast<uint16_t>(~b));
}

constexpr uint16_t csum_fold64(uint64_t s) noexcept {
    s = (s & 0xffffffff) + (s >> 32);
    s = (s & 0xffffffff) + (s >> 32);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(s);
}

// Folded one's-complement sum of n bytes starting at p; p is taken to start a 16-bit word (an
// odd final byte is the high half of a word padded with zero, as RFC 1071 says). Sums 32-bit
// host-order words and swaps once at the end: the one's-complement sum commutes with byte swap.
inline uint16_t csum_bytes(const uint8_t* p, std::size_t n) noexcept {
    uint64_t s = 0;
    while (n >= 16) {
        uint32_t w[4];
        std::memcpy(w, p, 16);
        s += uint64_t{w[0]} + w[1] + w[2] + w[3];
        p += 16;
        n -= 16;
    }
    while (n >= 4) {
        uint32_t w;
        std::memcpy(&w, p, 4);
        s += w;
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        uint16_t w;
        std::memcpy(&w, p, 2);
        s += w;
        p += 2;
        n -= 2;
    }
    if (n) {
        uint8_t last[2] = {p[0], 0};
        uint16_t w;
        std::memcpy(&w, last, 2);
        s += w;
    }
    uint16_t host = csum_fold64(s);
    if constexpr (std::endian::native == std::endian::little) {
        return __builtin_bswap16(host);
    } else {
        return host;
    }
}

inline uint16_t csum_bytes(std::span<const uint8_t> b) noexcept {
    return csum_bytes(b.data(), b.size());
}

// The value to put in a checksum field: the complement of the sum over the covered bytes (with
// the field itself zero).
inline uint16_t internet_checksum(std::span<const uint8_t> b) noexcept {
    return static_cast<uint16_t>(~csum_bytes(b));
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for a 16-bit field changed from m to m'.
constexpr uint16_t csum_replace16(uint16_t hc, uint16_t old_v, uint16_t new_v) noexcept {
    return static_cast<uint16_t>(~csum_add(csum_sub(static_cast<uint16_t>(~hc), old_v), new_v));
}

constexpr uint16_t csum_replace32(uint16_t hc, uint32_t old_v, uint32_t new_v) noexcept {
    hc = csum_replace16(hc, static_cast<uint16_t>(old_v >> 16), static_cast<uint16_t>(new_v >> 16));
    return csum_replace16(hc, static_cast<uint16_t>(old_v), static_cast<uint16_t>(new_v));
}

// Pseudo-header sums (folded, not complemented). `ip` points at the IP header.
inline uint16_t udp_pseudo_sum_v4(const uint8_t* ip, uint16_t udp_len) noexcept {
    return csum_add(csum_bytes(ip + 12, 8), csum_add(17, udp_len));
}

inline uint16_t udp_pseudo_sum_v6(const uint8_t* ip, uint32_t udp_len) noexcept {
    uint16_t len = csum_add(static_cast<uint16_t>(udp_len >> 16), static_cast<uint16_t>(udp_len));
    return csum_add(csum_bytes(ip + 8, 32), csum_add(17, len));
}

// The UDP checksum field value for a datagram (header with checksum zero or not: the field is
// skipped), zero mapped to 0xffff as RFC 768 requires.
inline uint16_t udp_checksum(uint16_t pseudo_sum, const uint8_t* udp, std::size_t udp_len) noexcept {
    uint16_t s = csum_add(pseudo_sum, csum_bytes(udp, 6));
    if (udp_len > 8) {
        s = csum_add(s, csum_bytes(udp + 8, udp_len - 8));
    }
    uint16_t c = static_cast<uint16_t>(~s);
    return c == 0 ? 0xffff : c;
}

// True when the checksum over the covered bytes, field included, verifies.
inline bool udp_checksum_ok(uint16_t pseudo_sum, const uint8_t* udp, std::size_t udp_len) noexcept {
    return csum_add(pseudo_sum, csum_bytes(udp, udp_len)) == 0xffff;
}

inline bool ipv4_header_checksum_ok(const uint8_t* ip, std::size_t ihl_bytes) noexcept {
    return csum_bytes(ip, ihl_bytes) == 0xffff;
}

} // namespace twamp::proto
