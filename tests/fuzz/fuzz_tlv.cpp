// libFuzzer target: STAMP TLV areas (RFC 8972 §4) through tlv_walker and reflect_tlvs().
//
// The whole input is the TLV area (what follows the 44-octet STAMP base). Invariants, each a
// __builtin_trap() via FUZZ_CHECK, against an independent walk written from RFC 8972 §4.2:
//   - tlv_walker terminates within area.size()/4 + 1 calls of next(), yields exactly the
//     TLVs of the reference walk (offsets, flags, types, lengths, values inside the area) and
//     reports the malformed one where the reference walk finds it;
//   - reflect_tlvs() writes only inside the area (ASan: the area is a heap block of exactly its
//     size) and only Flags octets: U set for the unrecognized types (all but Extra Padding), U
//     cleared for the recognized ones, M cleared, other flag bits kept; a malformed TLV gets M
//     set and everything after its Flags octet stays as it was;
//   - its counts agree with the reference walk;
//   - its checksum deltas are consistent: csum(after) == csum(before) - sum_before + sum_after
//     in one's complement (the reflector patches the UDP checksum with them).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_oracle.hpp"

#include "twamp/proto/test_packet.hpp"
#include "twamp/proto/tlv.hpp"

namespace {

namespace tp = twamp::proto;
using twamp::fuzz::be16;
using twamp::fuzz::ones_equal;
using twamp::fuzz::ref_fold;
using twamp::fuzz::ref_sum;
using twamp::fuzz::same;

struct ref_tlv {
    std::size_t offset;
    uint8_t flags;
    uint8_t type;
    uint16_t length;
};

struct ref_walk {
    std::vector<ref_tlv> tlvs;
    bool malformed = false;
    std::size_t malformed_at = 0;
};

ref_walk walk(const uint8_t* a, std::size_t n) {
    ref_walk w;
    std::size_t pos = 0;
    while (pos < n) {
        if (n - pos < 4 || be16(a + pos + 2) > n - pos - 4) {
            w.malformed = true;
            w.malformed_at = pos;
            break;
        }
        w.tlvs.push_back({pos, a[pos], a[pos + 1], be16(a + pos + 2)});
        pos += 4 + be16(a + pos + 2);
    }
    return w;
}

// One's-complement a - b + c.
uint16_t sub_add(uint16_t a, uint16_t b, uint16_t c) {
    return ref_fold(uint64_t{a} + static_cast<uint16_t>(~b) + c);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    // reflect_tlvs() sees at most a UDP payload's worth (under 64 KiB); tlv_view offsets are
    // 16-bit. libFuzzer's default -max_len is far below, this only keeps the contract explicit.
    if (size > 65535 - 8 - tp::stamp_tlv_offset) {
        return 0;
    }
    ref_walk ref = walk(data, size);

    // The walker on a read-only view of the input.
    {
        tp::tlv_walker w(std::span<const uint8_t>(data, size));
        tp::tlv_view t;
        std::size_t calls = 0;
        std::size_t i = 0;
        for (;;) {
            ++calls;
            FUZZ_CHECK(calls <= size / 4 + 1);
            if (!w.next(t)) {
                break;
            }
            FUZZ_CHECK(i < ref.tlvs.size());
            const ref_tlv& r = ref.tlvs[i++];
            FUZZ_CHECK(t.offset == r.offset && t.flags == r.flags && t.type == r.type &&
                       t.length == r.length);
            FUZZ_CHECK(t.value.data() == data + r.offset + 4 && t.value.size() == r.length);
        }
        FUZZ_CHECK(i == ref.tlvs.size());
        FUZZ_CHECK(w.malformed() == ref.malformed);
        if (ref.malformed) {
            FUZZ_CHECK(w.position() == ref.malformed_at);
        }
        FUZZ_CHECK(!w.next(t)); // stays done
    }

    // reflect_tlvs() on a heap copy of exactly the area's size.
    std::unique_ptr<uint8_t[]> area(new uint8_t[size > 0 ? size : 1]);
    if (size > 0) {
        std::memcpy(area.get(), data, size);
    }
    const tp::tlv_result res = tp::reflect_tlvs(std::span<uint8_t>(area.get(), size));

    std::vector<uint8_t> expect(data, data + size);
    uint16_t unrecognized = 0;
    // Where nothing but zero octets is left, at a TLV boundary, the rest is padding returned as
    // it came (RFC 8762 §4.6; tlv.hpp): the reflector's walk is the reference walk cut there.
    std::size_t nz_end = size;
    while (nz_end > 0 && data[nz_end - 1] == 0) {
        --nz_end;
    }
    std::size_t padding = 0;
    std::size_t kept = 0;
    for (const ref_tlv& r : ref.tlvs) {
        if (r.offset >= nz_end) {
            padding = size - r.offset;
            break;
        }
        ++kept;
    }
    ref.tlvs.resize(kept);
    if (ref.malformed && (padding != 0 || ref.malformed_at >= nz_end)) {
        if (padding == 0) {
            padding = size - ref.malformed_at;
        }
        ref.malformed = false;
    }
    // RFC 8972 §4.2: the reflector writes the whole Flags octet: U = not understood, M =
    // malformed, I = 0, reserved bits zero. Nothing the sender set survives.
    const auto known = [](uint8_t type) {
        return type == static_cast<uint8_t>(tp::tlv_type::extra_padding);
    };
    for (const ref_tlv& r : ref.tlvs) {
        uint8_t f = 0;
        if (!known(r.type)) {
            f = tp::tlv_flag_u;
            ++unrecognized;
        }
        expect[r.offset] = f;
    }
    if (ref.malformed) {
        uint8_t f = tp::tlv_flag_m;
        if (size - ref.malformed_at >= 2 && !known(data[ref.malformed_at + 1])) {
            f |= tp::tlv_flag_u;
            ++unrecognized;
        }
        expect[ref.malformed_at] = f;
    }
    FUZZ_CHECK(same(expect.data(), area.get(), size));
    FUZZ_CHECK(res.count == ref.tlvs.size() + (ref.malformed ? 1 : 0));
    FUZZ_CHECK(res.unrecognized == unrecognized);
    FUZZ_CHECK(res.malformed == ref.malformed);
    FUZZ_CHECK(res.padding == padding);

    // The deltas patch a checksum exactly: lanes relative to the area start.
    const uint16_t before = ref_fold(ref_sum(data, size));
    const uint16_t after = ref_fold(ref_sum(area.get(), size));
    FUZZ_CHECK(ones_equal(after, sub_add(before, res.sum_before, res.sum_after)));
    return 0;
}
