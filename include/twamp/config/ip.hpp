// IP addresses and prefixes as the config states them ("198.18.0.2", "2001:2::/48").
// Plain values with parse/format helpers; no DPDK, no exceptions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace twamp::config {

enum class ip_family : uint8_t { ipv4 = 4, ipv6 = 6 };

struct ip_address {
    ip_family family = ip_family::ipv4;
    // Network byte order. IPv4 uses bytes[0..3]; the rest stays zero so == compares values.
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

    // Accepts dotted-quad IPv4 or any RFC 4291 text form of IPv6 (inet_pton rules). No
    // prefix length, no zone index, no surrounding spaces.
    static std::optional<ip_address> parse(std::string_view text) noexcept;
    static ip_address v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) noexcept;

    // Canonical text (inet_ntop: RFC 5952 form for IPv6).
    std::string to_string() const;

    friend bool operator==(const ip_address&, const ip_address&) = default;
};

// An address with a prefix length. The same type serves two purposes:
//  - an ACL prefix (`prefixes`): host bits are zero (the loader rejects anything else);
//  - an interface address (`addresses`): the host's own address plus its subnet's length.
struct ip_prefix {
    ip_address address;
    uint8_t length = 0;

    // "addr/len". With allow_bare, a lone address means a host prefix (/32 or /128).
    // Rejects lengths past the family's size, signs, leading zeros and spaces.
    static std::optional<ip_prefix> parse(std::string_view text, bool allow_bare = false) noexcept;

    // "addr/len", the address as stored (host bits kept for an interface address).
    std::string to_string() const;

    // The prefix with its host bits cleared.
    ip_prefix network() const noexcept;
    bool host_bits_zero() const noexcept { return network().address == address; }

    // True when `a` is inside this prefix (same family, first `length` bits equal).
    bool contains(const ip_address& a) const noexcept;
    // True when the whole of `p` is inside this prefix.
    bool contains(const ip_prefix& p) const noexcept;
    // True when the two share at least one address.
    bool overlaps(const ip_prefix& p) const noexcept;

    friend bool operator==(const ip_prefix&, const ip_prefix&) = default;
};

} // namespace twamp::config
