// Internet checksum (RFC 1071), incremental update (RFC 1624) and the UDP pseudo-header sums
// for IPv4 (RFC 768) and IPv6 (RFC 8200 §8.1).
//
// Convention: every 16-bit value here is numeric, i.e. what load_be16() reads from the wire and
// store_be16() writes. Partial sums are one's-complement sums folded to 16 bits (not yet
// complemented); combine them with csum_add(). Inline because the reflector's hot path uses them.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
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

// Folds a sum of numeric values (any mix of 16- and 32-bit words that fits in 64 bits) to 16
// bits with end-around carry. Adding a word to its own rotation leaves the end-around-carry sum
// of its two halves in the upper half: 64 -> 32 -> 16 bits in two such steps.
constexpr uint16_t csum_fold64(uint64_t s) noexcept {
    const uint32_t x = static_cast<uint32_t>((s + std::rotr(s, 32)) >> 32);
    return static_cast<uint16_t>((x + std::rotr(x, 16)) >> 16);
}

// Unfolded sums: the reflector's hot path adds several byte ranges and constants and folds once.
// An unfolded sum is a 64-bit one's-complement accumulator of native-order words (RFC 1071 §2:
// the sum may be taken on any word size with end-around carry, and in either byte order if the
// folded result is swapped back). Only csum_fold_native() turns it into a numeric value.

// Adds v to an unfolded sum with end-around carry.
constexpr uint64_t csum_acc(uint64_t acc, uint64_t v) noexcept {
    acc += v;
    return acc + (acc < v);
}

// A numeric 16-bit value (as load_be16() reads it) in the unfolded, native-order form.
constexpr uint64_t csum_native16(uint16_t v) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
        return __builtin_bswap16(v);
    } else {
        return v;
    }
}

// Adds the n bytes at p to an unfolded sum; p is taken to start a 16-bit word (an odd final
// byte is the high half of a word padded with zero, as RFC 1071 says). 8-byte loads with
// end-around carry: one add and one add-with-carry per 8 octets.
inline uint64_t csum_partial(const uint8_t* p, std::size_t n, uint64_t acc = 0) noexcept {
    while (n >= 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        acc = csum_acc(acc, w);
        p += 8;
        n -= 8;
    }
    if (n & 4) {
        uint32_t w;
        std::memcpy(&w, p, 4);
        acc = csum_acc(acc, w);
        p += 4;
    }
    if (n & 2) {
        uint16_t w;
        std::memcpy(&w, p, 2);
        acc = csum_acc(acc, w);
        p += 2;
    }
    if (n & 1) {
        acc = csum_acc(acc, csum_native16(static_cast<uint16_t>(p[0] << 8)));
    }
    return acc;
}

// Folds an unfolded sum to the numeric folded 16-bit sum.
constexpr uint16_t csum_fold_native(uint64_t acc) noexcept {
    const uint16_t h = csum_fold64(acc);
    if constexpr (std::endian::native == std::endian::little) {
        return __builtin_bswap16(h);
    } else {
        return h;
    }
}

// Folded one's-complement sum of n bytes starting at p (see csum_partial()).
inline uint16_t csum_bytes(const uint8_t* p, std::size_t n) noexcept {
    return csum_fold_native(csum_partial(p, n));
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
inline uint16_t udp_checksum(uint16_t pseudo_sum, const uint8_t* udp,
                             std::size_t udp_len) noexcept {
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
