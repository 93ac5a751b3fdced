#include "twamp/proto/tlv.hpp"

#include <cstring>

#include "twamp/proto/checksum.hpp"

namespace twamp::proto {

namespace {

// Types this reflector implements. Extra Padding only, for now: the others are returned with
// U set until they are filled in, which is what RFC 8972 §4.2 asks of a reflector that does
// not process them.
constexpr bool recognized(uint8_t type) noexcept {
    return type == static_cast<uint8_t>(tlv_type::extra_padding);
}

// A single octet's contribution to a one's-complement sum, by its lane.
constexpr uint16_t lane(std::size_t offset, uint8_t v) noexcept {
    return (offset & 1) ? v : static_cast<uint16_t>(v << 8);
}

void set_flags(std::span<uint8_t> area, std::size_t off, uint8_t flags, tlv_result& r) noexcept {
    uint8_t old = area[off];
    if (old != flags) {
        area[off] = flags;
        r.sum_before = csum_add(r.sum_before, lane(off, old));
        r.sum_after = csum_add(r.sum_after, lane(off, flags));
    }
}

// Offset just past the last non-zero octet of the area (0 when all are zero). From the end, 64
// octets a step as four 16-octet vectors OR-ed (GCC/clang vector extension: SSE2 on x86-64,
// NEON on Arm), then 8: called at most once per area, and only when a TLV header of four
// zero octets (or a zero tail shorter than a header) is met. On a 1,356-octet zero tail
// (callgrind, reflect_bench "stamp ipv4 1400 zeros"): reflect_tlvs() ~700 instructions 32
// octets a step in 64-bit words, ~530 this way; walking it as 339 Type-0 TLVs took ~10,900.
std::size_t nonzero_end(std::span<const uint8_t> area) noexcept {
    typedef uint64_t u64x2 __attribute__((vector_size(16)));
    const uint8_t* p = area.data();
    std::size_t n = area.size();
    while (n >= 64) {
        u64x2 v[4];
        std::memcpy(v, p + n - 64, 64);
        const u64x2 o = (v[0] | v[1]) | (v[2] | v[3]);
        if ((o[0] | o[1]) != 0) {
            break;
        }
        n -= 64;
    }
    while (n >= 8) {
        uint64_t w;
        std::memcpy(&w, p + n - 8, 8);
        if (w != 0) {
            break;
        }
        n -= 8;
    }
    while (n > 0 && area[n - 1] == 0) {
        --n;
    }
    return n;
}

} // namespace

tlv_result reflect_tlvs(std::span<uint8_t> area) noexcept {
    tlv_result r;
    tlv_walker w(area);
    tlv_view t;
    // The reflector writes the whole Flags octet (RFC 8972 §4): U says whether it understood
    // the Type, M whether the TLV was malformed, I = 0 (no HMAC check failed here: it does not
    // do them) and the reserved bits are zeroed on transmission. Nothing the sender put there
    // survives: a sender sets U = 1 on every TLV it sends, so echoing it would be a lie.
    std::size_t zero_tail = area.size() + 1; // not computed yet
    for (;;) {
        const std::size_t at = w.position();
        if (at < area.size() && area[at] == 0 && (area.size() - at < 2 || area[at + 1] == 0)) {
            // Flags and Type zero: padding if nothing but zeros follows.
            if (zero_tail > area.size()) {
                zero_tail = nonzero_end(area);
            }
            if (at >= zero_tail) {
                r.padding = static_cast<uint16_t>(area.size() - at);
                return r;
            }
        }
        if (!w.next(t)) {
            break;
        }
        ++r.count;
        uint8_t flags = 0;
        if (!recognized(t.type)) {
            flags = tlv_flag_u;
            ++r.unrecognized;
        }
        set_flags(area, t.offset, flags, r);
    }
    if (w.malformed()) {
        // The header may itself be cut off; its Flags octet is still there (the walk only
        // stops with octets left), so M can always be set. U as for any TLV when its Type
        // octet made it.
        const std::size_t at = w.position();
        uint8_t flags = tlv_flag_m;
        if (area.size() - at >= 2 && !recognized(area[at + 1])) {
            flags |= tlv_flag_u;
            ++r.unrecognized;
        }
        ++r.count;
        r.malformed = true;
        set_flags(area, at, flags, r);
    }
    return r;
}

} // namespace twamp::proto
