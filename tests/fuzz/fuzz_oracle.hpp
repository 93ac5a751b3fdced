// Independent oracles for the fuzz targets: a textbook RFC 1071 checksum (byte pairs summed in a
// wide accumulator, no word tricks) and a minimal frame locator written from the RFCs, so the
// invariants do not check the code under test against itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

// An invariant: __builtin_trap() is what libFuzzer reports as a crash and, unlike assert(), it
// cannot be compiled away. The message names the check, since the optimiser may merge traps.
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);     \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)

namespace twamp::fuzz {

// memcmp() == 0 without its UB for null pointers (an empty std::vector's data()).
inline bool same(const uint8_t* a, const uint8_t* b, std::size_t n) {
    return n == 0 || std::memcmp(a, b, n) == 0;
}

inline uint16_t be16(const uint8_t* p) {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

inline uint32_t be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

inline uint64_t be64(const uint8_t* p) {
    return (uint64_t{be32(p)} << 32) | be32(p + 4);
}

// RFC 1071 §4.1, byte by byte: the unfolded sum of the 16-bit big-endian words of p[0..n),
// an odd last octet padded with zero. Add several with +, fold once with ref_fold().
inline uint64_t ref_sum(const uint8_t* p, std::size_t n) {
    uint64_t s = 0;
    for (std::size_t i = 0; i + 1 < n; i += 2) {
        s += static_cast<uint64_t>((p[i] << 8) | p[i + 1]);
    }
    if (n & 1) {
        s += static_cast<uint64_t>(p[n - 1]) << 8;
    }
    return s;
}

inline uint16_t ref_fold(uint64_t s) {
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    return static_cast<uint16_t>(s);
}

// One's-complement equality: 0x0000 and 0xffff are both zero.
inline bool ones_equal(uint16_t a, uint16_t b) {
    return a == b || ((a == 0 || a == 0xffff) && (b == 0 || b == 0xffff));
}

// Where the layers of an Ethernet / up to two 802.1Q or 802.1ad tags / IPv4 or IPv6 / UDP
// frame are; ok only when the UDP datagram fills the IP payload exactly (RFC 768 length ==
// IPv4 Total Length - IHL*4, RFC 791; == IPv6 Payload Length, RFC 8200) and IPv4 is not a
// fragment.
struct layout {
    bool ok = false;
    int version = 0;
    std::size_t l3 = 0;     // IP header
    std::size_t l3_hdr = 0; // its length
    std::size_t l3_end = 0; // end of the IP datagram
    std::size_t l4 = 0;     // UDP header
    std::size_t payload() const { return l4 + 8; }
    std::size_t payload_len() const { return l3_end - l4 - 8; }
};

inline layout locate(const uint8_t* f, std::size_t n) {
    layout l;
    if (n < 14) {
        return l;
    }
    std::size_t off = 12;
    uint16_t et = be16(f + off);
    for (int tags = 0; et == 0x8100 || et == 0x88a8; ++tags) {
        if (tags == 2 || n < off + 6) {
            return l;
        }
        off += 4;
        et = be16(f + off);
    }
    off += 2;
    l.l3 = off;
    if (et == 0x0800) {
        if (n < off + 20 || (f[off] >> 4) != 4) {
            return l;
        }
        std::size_t ihl = (f[off] & 0x0fu) * 4u;
        std::size_t total = be16(f + off + 2);
        if (ihl < 20 || total < ihl || n < off + total || f[off + 9] != 17 ||
            (be16(f + off + 6) & 0x3fff) != 0) {
            return l;
        }
        l.version = 4;
        l.l3_hdr = ihl;
        l.l3_end = off + total;
    } else if (et == 0x86dd) {
        if (n < off + 40 || (f[off] >> 4) != 6 || f[off + 6] != 17) {
            return l;
        }
        std::size_t plen = be16(f + off + 4);
        if (n < off + 40 + plen) {
            return l;
        }
        l.version = 6;
        l.l3_hdr = 40;
        l.l3_end = off + 40 + plen;
    } else {
        return l;
    }
    l.l4 = l.l3 + l.l3_hdr;
    if (l.l3_end - l.l4 < 8 || be16(f + l.l4 + 4) != l.l3_end - l.l4) {
        return l;
    }
    l.ok = true;
    return l;
}

// Unfolded pseudo-header sum (RFC 768 for IPv4, RFC 8200 §8.1 for IPv6) of a located frame.
inline uint64_t ref_pseudo_sum(const uint8_t* f, const layout& l) {
    std::size_t ulen = l.l3_end - l.l4;
    if (l.version == 4) {
        return ref_sum(f + l.l3 + 12, 8) + 17 + ulen;
    }
    return ref_sum(f + l.l3 + 8, 32) + 17 + (ulen >> 16) + (ulen & 0xffff);
}

inline bool ref_ipv4_header_ok(const uint8_t* f, const layout& l) {
    return l.version != 4 || ref_fold(ref_sum(f + l.l3, l.l3_hdr)) == 0xffff;
}

// The UDP checksum field verifies (a zero field, "no checksum", does not count as verifying).
inline bool ref_udp_ok(const uint8_t* f, const layout& l) {
    return be16(f + l.l4 + 6) != 0 &&
           ref_fold(ref_pseudo_sum(f, l) + ref_sum(f + l.l4, l.l3_end - l.l4)) == 0xffff;
}

// Writes correct checksums, the way an honest sender would have.
inline void ref_fix_ipv4_header(uint8_t* f, const layout& l) {
    uint8_t* c = f + l.l3 + 10;
    c[0] = 0;
    c[1] = 0;
    uint16_t v = static_cast<uint16_t>(~ref_fold(ref_sum(f + l.l3, l.l3_hdr)));
    c[0] = static_cast<uint8_t>(v >> 8);
    c[1] = static_cast<uint8_t>(v);
}

inline void ref_fix_udp(uint8_t* f, const layout& l) {
    uint8_t* c = f + l.l4 + 6;
    c[0] = 0;
    c[1] = 0;
    uint16_t v = static_cast<uint16_t>(
            ~ref_fold(ref_pseudo_sum(f, l) + ref_sum(f + l.l4, l.l3_end - l.l4)));
    if (v == 0) {
        v = 0xffff; // RFC 768: a computed zero is sent as all ones
    }
    c[0] = static_cast<uint8_t>(v >> 8);
    c[1] = static_cast<uint8_t>(v);
}

} // namespace twamp::fuzz
