// libFuzzer target: STAMP TLV areas (RFC 8972 §4) through tlv_walker and reflect_tlvs().
//
// The whole input is the TLV area (what follows the 44-octet STAMP base). Invariants, each a
// __builtin_trap() via FUZZ_CHECK, against an independent walk written from RFC 8972 §4.2:
//   - tlv_walker terminates within area.size()/4 + 1 calls of next(), yields exactly the
//     TLVs of the reference walk (offsets, flags, types, lengths, values inside the area) and
//     reports the malformed one where the reference walk finds it;
//   - reflect_tlvs() writes only inside the area (ASan: the area is a heap block of exactly its
//     size), the Flags octets whole (U for the types not implemented, i.e. all but Extra
//     Padding, Timestamp Information and Follow-Up Telemetry; M, I and reserved bits cleared)
//     and the values of the implemented types (RFC 8972 §4.3: the first four octets; §4.7: all
//     16), zeros without tlv_reply_info, the dataplane's values with it; a malformed TLV (cut
//     off, past the end, or an implemented type with a Length its section does not allow) gets
//     M set and everything after its Flags octet stays as it was;
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
#include "twamp/proto/timestamp.hpp"
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

// RFC 8972 §4.3 (Timestamp Information: four octets, then optional sub-TLVs) and §4.7
// (Follow-Up Telemetry: 16 octets): the Lengths the reflector accepts for the types it
// implements.
bool length_ok(uint8_t type, std::size_t len) {
    return type == 3 ? len >= 4 : type == 7 ? len == 16 : true;
}

// `reflector`: as the reflector reads the chain, an implemented type with a wrong Length is
// malformed too.
ref_walk walk(const uint8_t* a, std::size_t n, bool reflector) {
    ref_walk w;
    std::size_t pos = 0;
    while (pos < n) {
        if (n - pos < 4 || be16(a + pos + 2) > n - pos - 4 ||
            (reflector && !length_ok(a[pos + 1], be16(a + pos + 2)))) {
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
    const ref_walk structural = walk(data, size, false);
    ref_walk ref = walk(data, size, true);

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
            FUZZ_CHECK(i < structural.tlvs.size());
            const ref_tlv& r = structural.tlvs[i++];
            FUZZ_CHECK(t.offset == r.offset && t.flags == r.flags && t.type == r.type &&
                       t.length == r.length);
            FUZZ_CHECK(t.value.data() == data + r.offset + 4 && t.value.size() == r.length);
        }
        FUZZ_CHECK(i == structural.tlvs.size());
        FUZZ_CHECK(w.malformed() == structural.malformed);
        if (structural.malformed) {
            FUZZ_CHECK(w.position() == structural.malformed_at);
        }
        FUZZ_CHECK(!w.next(t)); // stays done
    }

    // reflect_tlvs() on a heap copy of exactly the area's size.
    std::unique_ptr<uint8_t[]> area(new uint8_t[size > 0 ? size : 1]);
    if (size > 0) {
        std::memcpy(area.get(), data, size);
    }
    const tp::tlv_result res = tp::reflect_tlvs(std::span<uint8_t>(area.get(), size));
    // Again with what a dataplane knows (stateful, a previous departure, PTP format).
    tp::tlv_reply_info info;
    info.sync_src_in = tp::sync_source::ptp;
    info.ts_method_in = tp::ts_method::hw_assist;
    info.sync_src_out = tp::sync_source::local_free_running;
    info.ts_method_out = tp::ts_method::sw_local;
    info.stateful = true;
    info.follow_up_seq = 0xa1b2c3d4;
    info.follow_up_ns = 1'700'000'000'987'654'321ULL;
    info.follow_up_mode = tp::ts_method::control_plane;
    const tp::tlv_reply_ctx ctx{&info, tp::ts_format::ptp, 37, true};
    std::unique_ptr<uint8_t[]> area2(new uint8_t[size > 0 ? size : 1]);
    if (size > 0) {
        std::memcpy(area2.get(), data, size);
    }
    const tp::tlv_result res2 = tp::reflect_tlvs(std::span<uint8_t>(area2.get(), size), ctx);

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
    const auto known = [](uint8_t type) { return type == 1 || type == 3 || type == 7; };
    std::vector<uint8_t> expect2;
    const uint64_t fu_ts = tp::ptp_from_unix_ns(info.follow_up_ns, 37);
    for (const ref_tlv& r : ref.tlvs) {
        uint8_t f = 0;
        if (!known(r.type)) {
            f = tp::tlv_flag_u;
            ++unrecognized;
        }
        expect[r.offset] = f;
    }
    expect2 = expect;
    for (const ref_tlv& r : ref.tlvs) {
        uint8_t* v = expect.data() + r.offset + 4;
        uint8_t* v2 = expect2.data() + r.offset + 4;
        if (r.type == 3) { // RFC 8972 §4.3
            std::memset(v, 0, 4);
            const uint8_t ts[4] = {info.sync_src_in, info.ts_method_in, info.sync_src_out,
                                   info.ts_method_out};
            std::memcpy(v2, ts, 4);
        } else if (r.type == 7) { // RFC 8972 §4.7
            std::memset(v, 0, 16);
            std::memset(v2, 0, 16);
            for (int k = 0; k < 4; ++k) {
                v2[k] = static_cast<uint8_t>(info.follow_up_seq >> (24 - 8 * k));
            }
            for (int k = 0; k < 8; ++k) {
                v2[4 + k] = static_cast<uint8_t>(fu_ts >> (56 - 8 * k));
            }
            v2[12] = info.follow_up_mode;
        }
    }
    if (ref.malformed) {
        uint8_t f = tp::tlv_flag_m;
        if (size - ref.malformed_at >= 2 && !known(data[ref.malformed_at + 1])) {
            f |= tp::tlv_flag_u;
            ++unrecognized;
        }
        expect[ref.malformed_at] = f;
        expect2[ref.malformed_at] = f;
    }
    FUZZ_CHECK(same(expect.data(), area.get(), size));
    FUZZ_CHECK(same(expect2.data(), area2.get(), size));
    FUZZ_CHECK(res2.count == res.count && res2.unrecognized == res.unrecognized &&
               res2.malformed == res.malformed && res2.padding == res.padding);
    FUZZ_CHECK(res.count == ref.tlvs.size() + (ref.malformed ? 1 : 0));
    FUZZ_CHECK(res.unrecognized == unrecognized);
    FUZZ_CHECK(res.malformed == ref.malformed);
    FUZZ_CHECK(res.padding == padding);

    // The deltas patch a checksum exactly: lanes relative to the area start.
    const uint16_t before = ref_fold(ref_sum(data, size));
    const uint16_t after = ref_fold(ref_sum(area.get(), size));
    FUZZ_CHECK(ones_equal(after, sub_add(before, res.sum_before, res.sum_after)));
    const uint16_t after2 = ref_fold(ref_sum(area2.get(), size));
    FUZZ_CHECK(ones_equal(after2, sub_add(before, res2.sum_before, res2.sum_after)));
    return 0;
}
