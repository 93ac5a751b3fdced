// Test helpers: a byte-vector builder for hand-made messages (fields appended big-endian in
// RFC order, independent of the encoders under test), a deterministic random source and a
// server fixture.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include "twamp/control/server.hpp"
#include "twamp/net/address.hpp"

namespace twamp::control::test {

// Appends fields in wire order: b.u8(5).u8(4).u16(862).zeros(12)...
struct bytes {
    std::vector<uint8_t> v;

    bytes& u8(uint8_t x) {
        v.push_back(x);
        return *this;
    }
    bytes& u16(uint16_t x) { return u8(static_cast<uint8_t>(x >> 8)).u8(static_cast<uint8_t>(x)); }
    bytes& u32(uint32_t x) {
        return u16(static_cast<uint16_t>(x >> 16)).u16(static_cast<uint16_t>(x));
    }
    bytes& u64(uint64_t x) {
        return u32(static_cast<uint32_t>(x >> 32)).u32(static_cast<uint32_t>(x));
    }
    bytes& zeros(std::size_t n) { return fill(n, 0); }
    bytes& fill(std::size_t n, uint8_t x) {
        v.insert(v.end(), n, x);
        return *this;
    }
    bytes& raw(std::span<const uint8_t> b) {
        v.insert(v.end(), b.begin(), b.end());
        return *this;
    }
    bytes& raw(std::initializer_list<uint8_t> b) {
        v.insert(v.end(), b.begin(), b.end());
        return *this;
    }
    operator std::span<const uint8_t>() const { return v; }
    std::size_t size() const { return v.size(); }
};

// Fills with 0x11, 0x12, ... continuing across calls: every random field is distinct and
// predictable.
struct counting_random {
    uint8_t next = 0x11;
    void operator()(std::span<uint8_t> out) {
        for (auto& b : out) {
            b = next++;
        }
    }
};

inline net::address v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return net::address::v4(a, b, c, d);
}
inline net::address v6(const char* text) {
    return *net::address::parse(text);
}

// RFC 4656 §3.1 Set-Up-Response: Mode, KeyID(80), Token(64), Client-IV(16).
inline bytes setup_response_bytes(uint32_t mode) {
    return bytes{}.u32(mode).zeros(80).zeros(64).zeros(16);
}

// RFC 5357 §3.5 Request-TW-Session, field by field.
struct request_fields {
    uint8_t ipvn = 4;
    uint8_t conf_sender = 0;
    uint8_t conf_receiver = 0;
    uint32_t slots = 0;
    uint32_t packets = 0;
    uint16_t sender_port = 50000;
    uint16_t receiver_port = 64364;
    std::vector<uint8_t> sender_addr = std::vector<uint8_t>(16, 0);
    std::vector<uint8_t> receiver_addr = std::vector<uint8_t>(16, 0);
    uint32_t padding = 27;
    uint64_t start_time = 0;
    uint64_t timeout = 5ULL << 32; // 5 s
    uint32_t type_p = 0;
    uint16_t octets_to_reflect = 0;
    uint16_t padding_to_reflect = 0;
    uint8_t mbz_high_nibble = 0;
};
inline bytes request_bytes(const request_fields& f) {
    bytes b;
    b.u8(5).u8(static_cast<uint8_t>((f.mbz_high_nibble << 4) | f.ipvn));
    b.u8(f.conf_sender).u8(f.conf_receiver).u32(f.slots).u32(f.packets);
    b.u16(f.sender_port).u16(f.receiver_port);
    b.raw(f.sender_addr).raw(f.receiver_addr);
    b.zeros(16); // SID
    b.u32(f.padding).u64(f.start_time).u64(f.timeout).u32(f.type_p);
    b.u16(f.octets_to_reflect).u16(f.padding_to_reflect).zeros(4); // MBZ (RFC 6038 fields)
    b.zeros(16);                                                   // HMAC
    return b;
}

inline bytes start_sessions_bytes() {
    return bytes{}.u8(2).zeros(15).zeros(16);
}
inline bytes stop_sessions_bytes(uint8_t accept = 0, uint32_t n = 1) {
    return bytes{}.u8(3).u8(accept).zeros(2).u32(n).zeros(8).zeros(16);
}
// RFC 5938: command, Accept (MBZ for 7), MBZ(10), Number of Sessions, SIDs, HMAC.
inline bytes n_bytes(uint8_t cmd, uint8_t accept, const std::vector<sid_t>& sids) {
    bytes b;
    b.u8(cmd).u8(accept).zeros(10).u32(static_cast<uint32_t>(sids.size()));
    for (const auto& s : sids) {
        b.raw(s);
    }
    return b.zeros(16);
}

inline std::vector<uint8_t> slice(const std::vector<uint8_t>& v, std::size_t off, std::size_t n) {
    return {v.begin() + static_cast<long>(off), v.begin() + static_cast<long>(off + n)};
}

} // namespace twamp::control::test
