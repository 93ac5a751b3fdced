// The one IP address and prefix type of the project: what the config states ("198.18.0.2",
// "2001:2::/48"), what TWAMP-Control carries, what the dataplane keys on. Plain values with
// parse/format helpers; standard library only (no DPDK, no config, no exceptions).
//
// The 16-octet key form: the dataplane keys every address as 16 octets, IPv4 as IPv4-mapped
// (::ffff:a.b.c.d, RFC 4291 §2.5.5.2). mapped() / from_mapped() convert; mapped_words() loads
// it straight from a packet into two registers for the hot path.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace twamp::net {

enum class ip_family : uint8_t { ipv4 = 4, ipv6 = 6 };

// The first 12 octets of an IPv4-mapped IPv6 address.
inline constexpr std::array<uint8_t, 12> v4_mapped_head{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

struct address {
    ip_family family = ip_family::ipv4;
    // Network byte order. IPv4 uses bytes[0..3]; the rest stays zero so == compares values
    // (and the TWAMP-Control wire fields have this layout: RFC 5357 §3.5).
    std::array<uint8_t, 16> bytes{};

    bool is_v4() const noexcept { return family == ip_family::ipv4; }
    bool is_v6() const noexcept { return family == ip_family::ipv6; }
    // Bits in an address of this family: 32 or 128.
    uint8_t bits() const noexcept { return is_v4() ? 32 : 128; }
    // IPv4 address in host byte order, what rte_lpm takes. Only meaningful for IPv4.
    uint32_t v4_host_order() const noexcept;

    bool is_unspecified() const noexcept; // 0.0.0.0, ::
    bool is_loopback() const noexcept;    // 127.0.0.0/8, ::1
    bool is_multicast() const noexcept;   // 224.0.0.0/4, ff00::/8
    // An IPv6 address in ::ffff:0:0/96, the IPv4-mapped form (RFC 4291 §2.5.5.2).
    bool is_v4_mapped() const noexcept {
        return is_v6() && std::memcmp(bytes.data(), v4_mapped_head.data(), 12) == 0;
    }

    // Accepts dotted-quad IPv4 or any RFC 4291 text form of IPv6 (inet_pton rules). No
    // prefix length, no zone index, no surrounding spaces.
    static std::optional<address> parse(std::string_view text) noexcept;
    static address v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) noexcept;
    // From `family`'s octets in network order (4 for IPv4, 16 for IPv6).
    static address from_octets(ip_family family, const uint8_t* octets) noexcept;

    // The 16-octet key form: IPv6 as is, IPv4 as ::ffff:a.b.c.d.
    std::array<uint8_t, 16> mapped() const noexcept;
    // The inverse: an IPv4-mapped address is IPv4, anything else IPv6.
    static address from_mapped(const uint8_t* octets16) noexcept;

    // Canonical text (inet_ntop: RFC 5952 form for IPv6).
    std::string to_string() const;

    friend bool operator==(const address&, const address&) = default;
};

// `a`:`port` as text: "198.18.0.2:862", "[2001:2::2]:862".
std::string endpoint_to_string(const address& a, uint16_t port);

// Text of a 16-octet key-form address (IPv4-mapped shown as IPv4).
std::string mapped_to_string(const uint8_t* octets16);

// `bytes` with every bit from bit `length` on (counted from the first octet's most significant)
// cleared, or set when `ones`: the network of a prefix of that length, or the top of its range
// (a directed broadcast in the 16-octet key form, with `length` + 96 for IPv4). Header-only:
// src/proto uses it too.
constexpr std::array<uint8_t, 16> with_host_bits(std::array<uint8_t, 16> bytes, unsigned length,
                                                 bool ones) noexcept {
    for (unsigned i = 0; i < bytes.size(); ++i) {
        const unsigned first_bit = i * 8;
        if (first_bit >= length) {
            bytes[i] = ones ? 0xff : 0;
        } else if (length - first_bit < 8) {
            const auto host = static_cast<uint8_t>(0xff >> (length - first_bit));
            bytes[i] = static_cast<uint8_t>(ones ? bytes[i] | host : bytes[i] & ~host);
        }
    }
    return bytes;
}

// An address with a prefix length. The same type serves two purposes:
//  - an ACL prefix: host bits are zero (the config loader rejects anything else);
//  - an interface address: the host's own address plus its subnet's length.
struct prefix {
    net::address address;
    uint8_t length = 0; // 0..32 for IPv4, 0..128 for IPv6

    // "addr/len". With allow_bare, a lone address means a host prefix (/32 or /128).
    // Rejects lengths past the family's size, signs, leading zeros and spaces.
    static std::optional<prefix> parse(std::string_view text, bool allow_bare = false) noexcept;
    // The host prefix of `a` (/32 or /128).
    static prefix host(const net::address& a) noexcept { return {a, a.bits()}; }

    // "addr/len", the address as stored (host bits kept for an interface address).
    std::string to_string() const;

    // The prefix with its host bits cleared.
    prefix network() const noexcept;
    bool host_bits_zero() const noexcept { return network().address == address; }

    // True when `a` is inside this prefix (same family, first `length` bits equal).
    bool contains(const net::address& a) const noexcept;
    // True when the whole of `p` is inside this prefix.
    bool contains(const prefix& p) const noexcept;
    // True when the two share at least one address.
    bool overlaps(const prefix& p) const noexcept;

    friend bool operator==(const prefix&, const prefix&) = default;
};

// A 16-octet key-form address as two 64-bit words (memory order), for compares and hashes
// on the hot path.
struct address_words {
    uint64_t lo, hi;

    static address_words of(const uint8_t* octets16) noexcept {
        address_words w;
        std::memcpy(&w.lo, octets16, 8);
        std::memcpy(&w.hi, octets16 + 8, 8);
        return w;
    }
    void to_bytes(uint8_t out[16]) const noexcept {
        std::memcpy(out, &lo, 8);
        std::memcpy(out + 8, &hi, 8);
    }
    bool operator==(const uint8_t a[16]) const noexcept {
        const address_words x = of(a);
        return lo == x.lo && hi == x.hi;
    }
};

// The key form of the address at `ip` (4 octets when !v6, else 16), straight from a packet
// into registers: no copy through memory for IPv4.
inline address_words mapped_words(const uint8_t* ip, bool v6) noexcept {
    static_assert(std::endian::native == std::endian::little, "key words assume little-endian");
    address_words w;
    if (v6) {
        std::memcpy(&w.lo, ip, 8);
        std::memcpy(&w.hi, ip + 8, 8);
    } else {
        uint32_t a4;
        std::memcpy(&a4, ip, 4);
        w.lo = 0;
        // Octets 8..15 are 00 00 ff ff a b c d: as a little-endian load, 0xffff0000 | a4 << 32.
        w.hi = 0xffff0000ULL | (uint64_t{a4} << 32);
    }
    return w;
}

} // namespace twamp::net
