// Test scaffolding for the packet core: a frame builder, a reference Internet checksum, a
// reply checker and a buffer that faults on any access past its end.
//
// Everything here is written from the RFCs, separately from src/proto, on purpose: the builder
// and the checker must not share code (or bugs) with what they test. Byte order is done by
// hand, checksums by the textbook RFC 1071 loop (one byte pair at a time, end-around carry).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

namespace twamp::test {

using bytes = std::vector<uint8_t>;

// The parts one after the other.
inline bytes cat(std::initializer_list<bytes> parts) {
    bytes out;
    for (const auto& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

// ---- big-endian access, by hand ------------------------------------------------------------

inline uint16_t rd16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t rd32(const uint8_t* p) {
    return uint32_t{rd16(p)} << 16 | rd16(p + 2);
}
inline uint64_t rd64(const uint8_t* p) {
    return uint64_t{rd32(p)} << 32 | rd32(p + 4);
}
inline void wr16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v & 0xff);
}
inline void wr32(uint8_t* p, uint32_t v) {
    wr16(p, static_cast<uint16_t>(v >> 16));
    wr16(p + 2, static_cast<uint16_t>(v & 0xffff));
}
inline void wr64(uint8_t* p, uint64_t v) {
    wr32(p, static_cast<uint32_t>(v >> 32));
    wr32(p + 4, static_cast<uint32_t>(v & 0xffffffff));
}
inline void append16(bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v & 0xff));
}
inline void append32(bytes& b, uint32_t v) {
    append16(b, static_cast<uint16_t>(v >> 16));
    append16(b, static_cast<uint16_t>(v & 0xffff));
}
inline void append64(bytes& b, uint64_t v) {
    append32(b, static_cast<uint32_t>(v >> 32));
    append32(b, static_cast<uint32_t>(v & 0xffffffff));
}

// ---- reference Internet checksum (RFC 1071 §1, the plain algorithm) -------------------------

// Folded one's-complement sum of `data`, adjacent octets paired as [A,B], an odd last octet
// paired with zero. Folding after every addition keeps it obviously right.
inline uint16_t ref_sum(std::span<const uint8_t> data, uint16_t start = 0) {
    uint32_t s = start;
    for (std::size_t i = 0; i < data.size(); i += 2) {
        uint32_t hi = data[i];
        uint32_t lo = i + 1 < data.size() ? data[i + 1] : 0;
        s += hi << 8 | lo;
        s = (s & 0xffff) + (s >> 16);
    }
    return static_cast<uint16_t>(s);
}

// Equality of one's-complement values: 0x0000 and 0xffff are both zero (+0 and -0).
inline bool ones_eq(uint16_t a, uint16_t b) {
    return a % 0xffff == b % 0xffff;
}

// IPv4 header checksum field value, computed over the header with the field taken as zero.
inline uint16_t ref_ipv4_header_checksum(const uint8_t* ip, std::size_t ihl_bytes) {
    // Octets 10-11 (the field) left out: same as summing them as zero.
    uint16_t s = ref_sum({ip, 10});
    s = ref_sum({ip + 12, ihl_bytes - 12}, s);
    return static_cast<uint16_t>(~s & 0xffff);
}

// UDP checksum field value (RFC 768 for IPv4, RFC 8200 §8.1 for IPv6): the pseudo header is
// built as real octets and summed with the datagram whose checksum field is taken as zero; a
// computed zero is sent as 0xffff.
inline uint16_t ref_udp_checksum(int ip_version, const uint8_t* ip, const uint8_t* udp,
                                 std::size_t udp_len) {
    bytes pseudo;
    if (ip_version == 4) {
        pseudo.insert(pseudo.end(), ip + 12, ip + 20); // source, destination
        pseudo.push_back(0);
        pseudo.push_back(17);
        append16(pseudo, static_cast<uint16_t>(udp_len));
    } else {
        pseudo.insert(pseudo.end(), ip + 8, ip + 40);
        append32(pseudo, static_cast<uint32_t>(udp_len));
        pseudo.insert(pseudo.end(), {0, 0, 0, 17});
    }
    pseudo.insert(pseudo.end(), udp, udp + udp_len);
    pseudo[pseudo.size() - udp_len + 6] = 0;
    pseudo[pseudo.size() - udp_len + 7] = 0;
    uint16_t c = static_cast<uint16_t>(~ref_sum(pseudo) & 0xffff);
    return c == 0 ? 0xffff : c;
}

// ---- frame builder --------------------------------------------------------------------------

struct vlan_tag {
    uint16_t tpid = 0x8100;
    uint16_t tci = 0;
};

enum class udp_csum { good, zero, bad };

// One Ethernet frame with IPv4 or IPv6 and (by default) UDP. Defaults are the benchmarking
// addresses of DESIGN.md's lab.
struct frame_spec {
    std::array<uint8_t, 6> dst_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}; // the reflector
    std::array<uint8_t, 6> src_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}; // the sender
    std::vector<vlan_tag> vlans;
    int ip_version = 4;
    std::array<uint8_t, 16> src_ip{198, 18, 0, 1};
    std::array<uint8_t, 16> dst_ip{198, 18, 0, 2};
    uint8_t tos = 0;  // IPv4 DS field / IPv6 Traffic Class
    uint8_t ttl = 64; // TTL / Hop Limit
    uint16_t ip_id = 0x1234;
    uint16_t frag = 0x4000; // IPv4 flags + fragment offset; DF by default
    uint32_t flow_label = 0x12345;
    bytes ip_options; // IPv4, a multiple of 4 octets
    uint8_t l4_proto = 17;
    uint16_t sport = 50000;
    uint16_t dport = 862;
    bytes payload;
    udp_csum csum = udp_csum::good;
    bool ipv4_csum_good = true;
    std::size_t min_frame = 60; // zero padding up to the Ethernet minimum (no FCS)
};

inline std::array<uint8_t, 16> v6addr(std::initializer_list<uint16_t> groups_then_last) {
    // {a, b, ..., last}: leading groups, zeros, then the last group (like a::last).
    std::array<uint8_t, 16> a{};
    std::vector<uint16_t> g(groups_then_last);
    for (std::size_t i = 0; i + 1 < g.size(); ++i) {
        wr16(a.data() + 2 * i, g[i]);
    }
    wr16(a.data() + 14, g.back());
    return a;
}

inline frame_spec v4_spec() {
    return frame_spec{};
}

inline frame_spec v6_spec() {
    frame_spec s;
    s.ip_version = 6;
    s.src_ip = v6addr({0x2001, 0x0002, 0x0001}); // 2001:2::1
    s.dst_ip = v6addr({0x2001, 0x0002, 0x0002}); // 2001:2::2
    return s;
}

inline bytes build(const frame_spec& s) {
    bytes f;
    f.insert(f.end(), s.dst_mac.begin(), s.dst_mac.end());
    f.insert(f.end(), s.src_mac.begin(), s.src_mac.end());
    for (const auto& v : s.vlans) {
        append16(f, v.tpid);
        append16(f, v.tci);
    }
    append16(f, s.ip_version == 4 ? 0x0800 : 0x86dd);
    const std::size_t l3 = f.size();
    const std::size_t l4_len = 8 + s.payload.size();
    std::size_t l4;
    if (s.ip_version == 4) {
        const std::size_t ihl = 20 + s.ip_options.size();
        f.push_back(static_cast<uint8_t>(0x40 | (ihl / 4)));
        f.push_back(s.tos);
        append16(f, static_cast<uint16_t>(ihl + l4_len));
        append16(f, s.ip_id);
        append16(f, s.frag);
        f.push_back(s.ttl);
        f.push_back(s.l4_proto);
        append16(f, 0);
        f.insert(f.end(), s.src_ip.begin(), s.src_ip.begin() + 4);
        f.insert(f.end(), s.dst_ip.begin(), s.dst_ip.begin() + 4);
        f.insert(f.end(), s.ip_options.begin(), s.ip_options.end());
        uint16_t hc = ref_ipv4_header_checksum(f.data() + l3, ihl);
        wr16(f.data() + l3 + 10, s.ipv4_csum_good ? hc : static_cast<uint16_t>(hc ^ 0x0101));
    } else {
        append32(f, 0x60000000u | uint32_t{s.tos} << 20 | (s.flow_label & 0xfffff));
        append16(f, static_cast<uint16_t>(l4_len));
        f.push_back(s.l4_proto);
        f.push_back(s.ttl);
        f.insert(f.end(), s.src_ip.begin(), s.src_ip.end());
        f.insert(f.end(), s.dst_ip.begin(), s.dst_ip.end());
    }
    l4 = f.size();
    append16(f, s.sport);
    append16(f, s.dport);
    append16(f, static_cast<uint16_t>(l4_len));
    append16(f, 0);
    f.insert(f.end(), s.payload.begin(), s.payload.end());
    if (s.csum != udp_csum::zero) {
        uint16_t c = ref_udp_checksum(s.ip_version, f.data() + l3, f.data() + l4, l4_len);
        if (s.csum == udp_csum::bad) {
            c = static_cast<uint16_t>(c == 0x1234 ? 0x4321 : 0x1234);
        }
        wr16(f.data() + l4 + 6, c);
    }
    if (f.size() < s.min_frame) {
        f.resize(s.min_frame, 0);
    }
    return f;
}

// ---- test payloads --------------------------------------------------------------------------

// TWAMP-Test Session-Sender packet, unauthenticated (RFC 5357 §4.1.2): Sequence Number,
// Timestamp, Error Estimate, then padding up to `len` octets. The padding is a non-zero
// pattern so a test can tell it was carried over untouched.
inline bytes twamp_request(uint32_t seq, uint64_t ts, uint16_t err, std::size_t len) {
    bytes p;
    append32(p, seq);
    append64(p, ts);
    append16(p, err);
    for (std::size_t i = p.size(); i < len; ++i) {
        p.push_back(static_cast<uint8_t>(0xa0 ^ (i * 7)));
    }
    p.resize(len);
    return p;
}

// STAMP Session-Sender packet, unauthenticated (RFC 8762 §4.2.1 with the SSID of RFC 8972
// §3): Sequence Number, Timestamp, Error Estimate, SSID, 28 MBZ octets, then TLVs.
inline bytes stamp_request(uint32_t seq, uint64_t ts, uint16_t err, uint16_t ssid,
                           const bytes& tlvs = {}) {
    bytes p;
    append32(p, seq);
    append64(p, ts);
    append16(p, err);
    append16(p, ssid);
    p.resize(44, 0);
    p.insert(p.end(), tlvs.begin(), tlvs.end());
    return p;
}

// One STAMP TLV (RFC 8972 §4): Flags, Type, Length, Value. `length` overrides the Length
// field (to build malformed TLVs); by default it is value.size().
inline bytes tlv(uint8_t flags, uint8_t type, const bytes& value, int length = -1) {
    bytes t{flags, type};
    append16(t,
             static_cast<uint16_t>(length < 0 ? value.size() : static_cast<std::size_t>(length)));
    t.insert(t.end(), value.begin(), value.end());
    return t;
}

inline bytes pattern(std::size_t n, uint8_t seed) {
    bytes b(n);
    for (std::size_t i = 0; i < n; ++i) {
        b[i] = static_cast<uint8_t>(seed + i * 13);
    }
    return b;
}

// ---- locating the layers of a well-formed frame (for checking replies) ----------------------

struct layers {
    std::size_t vlan_count = 0;
    std::size_t l3 = 0;
    int ip_version = 0;
    std::size_t ihl = 0;
    std::size_t l4 = 0;
    std::size_t udp_len = 0;
    std::size_t l3_end = 0;
    std::size_t payload() const { return l4 + 8; }
};

inline layers locate(const uint8_t* f) {
    layers l;
    std::size_t off = 12;
    while (rd16(f + off) == 0x8100 || rd16(f + off) == 0x88a8) {
        ++l.vlan_count;
        off += 4;
    }
    l.l3 = off + 2;
    const uint8_t* ip = f + l.l3;
    if (rd16(f + off) == 0x0800) {
        l.ip_version = 4;
        l.ihl = std::size_t{ip[0] & 0x0fu} * 4;
        l.l3_end = l.l3 + rd16(ip + 2);
    } else {
        l.ip_version = 6;
        l.ihl = 40;
        l.l3_end = l.l3 + 40 + rd16(ip + 4);
    }
    l.l4 = l.l3 + l.ihl;
    l.udp_len = rd16(f + l.l4 + 4);
    return l;
}

// ---- a buffer whose end is the end of readable memory ---------------------------------------

// `n` octets placed flush against a PROT_NONE page: any read or write past the end faults at
// once, without sanitizers. The octets before the buffer are a readable canary region.
class guarded_buffer {
public:
    explicit guarded_buffer(std::size_t n) : n_(n) {
        const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        data_pages_ = (n + page - 1) / page * page + page; // at least one page before
        map_len_ = data_pages_ + page;
        void* m =
                mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            throw std::runtime_error("mmap");
        }
        base_ = static_cast<uint8_t*>(m);
        if (mprotect(base_ + data_pages_, page, PROT_NONE) != 0) {
            throw std::runtime_error("mprotect");
        }
        data_ = base_ + data_pages_ - n;
    }
    guarded_buffer(const bytes& content) : guarded_buffer(content.size()) {
        if (!content.empty()) {
            std::memcpy(data_, content.data(), content.size());
        }
    }
    guarded_buffer(const guarded_buffer&) = delete;
    guarded_buffer& operator=(const guarded_buffer&) = delete;
    ~guarded_buffer() { munmap(base_, map_len_); }

    uint8_t* data() { return data_; }
    std::size_t size() const { return n_; }
    std::span<uint8_t> span() { return {data_, n_}; }
    bytes copy(std::size_t len) const { return bytes(data_, data_ + len); }

private:
    std::size_t n_;
    std::size_t data_pages_ = 0;
    std::size_t map_len_ = 0;
    uint8_t* base_ = nullptr;
    uint8_t* data_ = nullptr;
};

// A TWAMP/STAMP reply's own Sequence Number, and the Sender Sequence Number it echoes (the
// unauthenticated layouts: RFC 5357 §4.2.1, RFC 8762 §4.3.1).
inline uint32_t reply_seq(const bytes& f) {
    layers l = locate(f.data());
    return rd32(f.data() + l.payload());
}
inline uint32_t reply_sender_seq(const bytes& f) {
    layers l = locate(f.data());
    return rd32(f.data() + l.payload() + 24);
}

// Reference timestamp encodings (RFC 5905 §6 NTP, RFC 8186 §2.3 PTPv2 truncated), written
// out here independently of src/proto; the timestamp tests pin both to known values.
inline uint64_t ref_ntp(uint64_t unix_ns) {
    uint64_t sec = unix_ns / 1000000000u + 2208988800u;
    uint64_t rem = unix_ns % 1000000000u;
    uint64_t frac = (rem * 4294967296u + 500000000u) / 1000000000u; // nearest 2^-32 s
    return sec << 32 | frac;
}
inline uint64_t ref_ptp(uint64_t unix_ns, int32_t tai_utc_offset_s) {
    int64_t sec = static_cast<int64_t>(unix_ns / 1000000000u) + tai_utc_offset_s;
    return static_cast<uint64_t>(sec) << 32 | unix_ns % 1000000000u;
}

inline std::string hex(std::span<const uint8_t> b) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (uint8_t c : b) {
        s.push_back(digits[c >> 4]);
        s.push_back(digits[c & 15]);
    }
    return s;
}

} // namespace twamp::test
