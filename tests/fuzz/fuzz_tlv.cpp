// libFuzzer target: STAMP TLV areas (RFC 8972 §4) through tlv_walker and reflect_tlvs().
//
// The whole input is the TLV area (what follows the 44-octet STAMP base). Invariants, each a
// __builtin_trap() via FUZZ_CHECK, against an independent walk written from RFC 8972 §4.2:
//   - tlv_walker terminates within area.size()/4 + 1 calls of next(), yields exactly the
//     TLVs of the reference walk (offsets, flags, types, lengths, values inside the area) and
//     reports the malformed one where the reference walk finds it;
//   - reflect_tlvs() writes only inside the area (ASan: the area is a heap block of exactly its
//     size), the Flags octets whole (U for the types not implemented, i.e. HMAC and the
//     unassigned ones, and for Access Report / Destination Node Address / Return Path by their
//     Values; M, I and reserved bits cleared) and the Values of the implemented types: with
//     the default context (nothing known) exactly as an independent model of RFC 8972
//     §4.2-§4.7 and RFC 9503 §3, §4 (sub-TLVs included) says, with tlv_reply_info the
//     dataplane's values; a malformed TLV (cut off, past the end, or an implemented type with
//     a Length its section does not allow) gets M set and everything after its Flags octet
//     stays as it was (but erratum 8339's zeroing of a Follow-Up Telemetry TLV);
//   - a third run with a context driven by the input (first octet: the first TLV's Flags,
//     which the reflector overwrites anyway; last octet): family, Class of Service policy,
//     Location fields reported, Return Address policy, the tlv_address_policy hooks and their
//     answers, stateful or not. Invariants: Type and Length octets never change, Flags carry
//     only U/M, octets a TLV's definition does not let the reflector write are unchanged
//     (sub-TLV walks included), and every effect (reply_dscp, reply_source_at,
//     return_address_at, no_reply) comes from a TLV that permits it under that policy;
//   - its counts agree with the reference walk;
//   - its checksum deltas are consistent: csum(after) == csum(before) - sum_before + sum_after
//     in one's complement (the reflector patches the UDP checksum with them).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_oracle.hpp"

#include "twamp/proto/source_address.hpp"
#include "twamp/proto/test_packet.hpp"
#include "twamp/proto/timestamp.hpp"
#include "twamp/proto/tlv.hpp"

namespace {

namespace tp = twamp::proto;
using twamp::fuzz::be16;
using twamp::fuzz::be32;
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

// The Lengths the reflector accepts for the types it implements: RFC 8972 §4.2-§4.7, RFC 9503
// §3, §4.
bool length_ok(uint8_t type, std::size_t len) {
    switch (type) {
    case 2:
    case 3:
    case 10:
        return len >= 4;
    case 4:
    case 6:
        return len == 4;
    case 5:
        return len == 12;
    case 7:
    case 8: // HMAC, §4.8 (issue 17)
        return len == 16;
    case 9:
        return len == 4 || len == 16;
    default:
        return true;
    }
}

bool implemented(uint8_t type) {
    return type >= 1 && type <= 10;
}

// A sub-TLV walk (RFC 8972 §4.2.1, RFC 9503 §4.1) over v[from, n): calls f(pos, type, len) for
// each sub-TLV inside; returns the offset of a malformed one (header cut off or Length past
// the end), or n.
template<class F>
std::size_t sub_walk(const uint8_t* v, std::size_t n, std::size_t from, F f) {
    std::size_t pos = from;
    while (pos < n) {
        if (n - pos < 4 || be16(v + pos + 2) > n - pos - 4) {
            return pos;
        }
        if (!f(pos, v[pos + 1], be16(v + pos + 2))) {
            return n + 1; // the callback stopped the walk (a wrong Length: M written)
        }
        pos += 4 + be16(v + pos + 2);
    }
    return n;
}

// The cut-off sub-TLV's Flags: M, and U when its Type octet is there and not known.
void mark_cut(uint8_t* v, std::size_t n, std::size_t at, bool (*known)(uint8_t)) {
    if (at < n) {
        v[at] = static_cast<uint8_t>(tp::tlv_flag_m |
                                     (n - at >= 2 && !known(v[at + 1]) ? tp::tlv_flag_u : 0));
    }
}

bool location_known(uint8_t t) {
    return t >= 1 && t <= 9;
}
bool return_path_known(uint8_t t) {
    return t >= 1 && t <= 4;
}

// Location (RFC 8972 §4.2) with nothing known (default tlv_reply_ctx: ports 0, no MAC, no
// addresses, IPv4): ports zeros, MAC as zeroed EUI-64 (3), addresses as zeroed IPv4 types (5, 8).
void model_location(uint8_t* v, std::size_t n) {
    std::memset(v, 0, 4);
    const std::size_t cut = sub_walk(v, n, 4, [&](std::size_t pos, uint8_t t, std::size_t l) {
        if (!location_known(t)) {
            v[pos] = tp::tlv_flag_u;
            return true;
        }
        if (l != (t <= 3 ? 8u : 16u)) {
            v[pos] = tp::tlv_flag_m;
            return false;
        }
        v[pos] = 0;
        v[pos + 1] = t <= 3 ? 3 : t <= 6 ? 5 : 8;
        std::memset(v + pos + 4, 0, l);
        return true;
    });
    mark_cut(v, n, cut, location_known);
}

// Return Path (RFC 9503 §4) with no hooks: a Return Address is never honoured. Returns the TLV's
// Flags; sets no_reply.
uint8_t model_return_path(uint8_t* v, std::size_t n, bool& no_reply) {
    std::size_t cc = 0;
    bool ra = false;
    bool sr = false;
    const std::size_t cut = sub_walk(v, n, 0, [&](std::size_t pos, uint8_t t, std::size_t l) {
        if ((t == 1 && l != 4) || (t == 2 && l != 4 && l != 16)) {
            v[pos] = tp::tlv_flag_m;
            return false;
        }
        v[pos] = return_path_known(t) && t <= 2 ? 0 : tp::tlv_flag_u;
        if (t == 1 && !cc) {
            cc = pos + 4 + 1;
        }
        ra = ra || t == 2;
        sr = sr || t == 3 || t == 4;
        return true;
    });
    mark_cut(v, n, cut, return_path_known);
    if (cc) {
        no_reply = (v[cc - 1 + 3] & 1) == 0;
        return 0;
    }
    return ra || sr ? tp::tlv_flag_u : 0;
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

// ---- run 3: a context driven by the input -----------------------------------------------------

const uint8_t addr_src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const uint8_t addr_dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
const uint8_t addr4_src[4] = {198, 18, 0, 1};
const uint8_t addr4_dst[4] = {198, 18, 0, 2};
const uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, 1};

struct hooks {
    bool by_address = false;
};
bool is_own(const void* self, uint8_t, const uint8_t* a) noexcept {
    return !static_cast<const hooks*>(self)->by_address || (a[0] & 1);
}
bool may_return_to(const void* self, uint8_t, const uint8_t* a) noexcept {
    return !static_cast<const hooks*>(self)->by_address || (a[0] & 2);
}

void policy_run(const uint8_t* data, std::size_t size, const ref_walk& ref, std::size_t padding) {
    if (size == 0) {
        return;
    }
    const uint8_t b0 = data[0];
    const uint8_t b1 = data[size - 1];
    hooks h{(b0 & 0x20) != 0};
    const tp::tlv_address_policy pol{&h, is_own, may_return_to};
    tp::tlv_reply_info info;
    info.stateful = (b1 & 0x10) != 0;
    info.rx_count = 5;
    info.tx_count = 6;
    tp::tlv_reply_ctx ctx;
    ctx.info = (b1 & 0x08) ? &info : nullptr;
    ctx.stateful = (b0 & 0x80) != 0;
    const bool v6 = (b0 & 1) != 0;
    ctx.ip_version = v6 ? 6 : 4;
    ctx.src_addr = v6 ? addr_src : addr4_src;
    ctx.dst_addr = v6 ? addr_dst : addr4_dst;
    ctx.src_mac = (b1 & 0x20) ? src_mac : nullptr;
    // The ports decide whether a Return Address may be honoured (RFC 9503 §4.1.2 here: not to
    // a well-known port nor the reflector's own): an ephemeral one, 862, or the reflector's.
    ctx.dst_port = (b0 & 0x40) && (b1 & 0x40) ? 5000 : 862;
    ctx.src_port = (b0 & 0x40) ? ((b1 & 0x40) ? ctx.dst_port : 862) : 50000;
    ctx.received_ds = static_cast<uint8_t>(b1 ^ 0x5a);
    static constexpr uint64_t masks[4] = {~uint64_t{0}, 0, 0x5555555555555555ULL, 0xffffffffULL};
    ctx.cos_allowed = masks[(b0 >> 1) & 3];
    ctx.return_address = (b0 & 0x08) != 0;
    ctx.addresses = (b0 & 0x10) ? &pol : nullptr;
    ctx.location_report = static_cast<uint8_t>(b1 & 7);
    const std::size_t alen = v6 ? 16 : 4;

    std::unique_ptr<uint8_t[]> a(new uint8_t[size]);
    std::memcpy(a.get(), data, size);
    const tp::tlv_result r = tp::reflect_tlvs(std::span<uint8_t>(a.get(), size), ctx);
    const uint8_t* o = a.get();
    FUZZ_CHECK(r.count == ref.tlvs.size() + (ref.malformed ? 1 : 0));
    FUZZ_CHECK(r.malformed == ref.malformed && r.padding == padding);
    // may[i]: octet i may differ from the input (and then only as said below).
    std::vector<uint8_t> may(size, 0);
    uint16_t unrecognized = 0;
    std::vector<std::size_t> cos_values, dna_values, ra_values; // area offsets of Values
    const uint8_t* dna_first = nullptr; // the Destination Node Address the dataplane was asked
    bool dna_first_own = false;
    std::size_t cc_value = 0; // 1 + of the first RP's first CC
    bool first_rp = true;
    for (const ref_tlv& t : ref.tlvs) {
        const std::size_t vo = t.offset + 4;
        const uint8_t f = o[t.offset];
        FUZZ_CHECK(f == 0 || f == tp::tlv_flag_u);
        unrecognized = static_cast<uint16_t>(unrecognized + (f != 0));
        may[t.offset] = 1;
        if (!implemented(t.type)) {
            FUZZ_CHECK(f == tp::tlv_flag_u);
            continue;
        }
        const uint8_t* in = data + vo;
        const uint8_t* out = o + vo;
        switch (t.type) {
        case 1:
        case 3:
        case 5:
        case 7:
        case 2:
        case 4:
            FUZZ_CHECK(f == 0);
            break;
        default:
            break;
        }
        switch (t.type) {
        case 2: { // RFC 8972 §4.2: ports; sub-TLVs answered in place, others U; walk bounded
            const bool ports = ctx.location_report & tp::location_report::ports;
            FUZZ_CHECK(be16(out) == (ports ? ctx.dst_port : 0) &&
                       be16(out + 2) == (ports ? ctx.src_port : 0));
            for (std::size_t k = 0; k < 4; ++k) {
                may[vo + k] = 1;
            }
            const std::size_t cut =
                    sub_walk(in, t.length, 4, [&](std::size_t pos, uint8_t st, std::size_t l) {
                        may[vo + pos] = 1;
                        const uint8_t sf = out[pos];
                        if (!location_known(st)) {
                            FUZZ_CHECK(sf == tp::tlv_flag_u);
                            return true;
                        }
                        if (l != (st <= 3 ? 8u : 16u)) {
                            FUZZ_CHECK(sf == tp::tlv_flag_m);
                            return false;
                        }
                        FUZZ_CHECK(sf == 0);
                        const uint8_t nt = out[pos + 1];
                        may[vo + pos + 1] = 1;
                        for (std::size_t k = 0; k < l; ++k) {
                            may[vo + pos + 4 + k] = 1;
                        }
                        if (st <= 3) {
                            FUZZ_CHECK(nt == 2 || nt == 3);
                            FUZZ_CHECK(nt == 3 ? std::all_of(out + pos + 4, out + pos + 12,
                                                             [](uint8_t c) { return c == 0; })
                                               : same(out + pos + 4, src_mac, 6) &&
                                                         out[pos + 10] == 0 && out[pos + 11] == 0);
                        } else {
                            const bool dst = st <= 6;
                            FUZZ_CHECK(nt == (dst ? (v6 ? 6 : 5) : (v6 ? 9 : 8)));
                            const bool rep = ctx.location_report & tp::location_report::addresses;
                            const uint8_t* want = dst ? ctx.dst_addr : ctx.src_addr;
                            for (std::size_t k = 0; k < 16; ++k) {
                                FUZZ_CHECK(out[pos + 4 + k] == (rep && k < alen ? want[k] : 0));
                            }
                        }
                        return true;
                    });
            // A cut-off sub-TLV gets M on its Flags octet; the octets after it stay.
            if (cut < t.length) {
                may[vo + cut] = 1;
                FUZZ_CHECK(out[cut] & tp::tlv_flag_m);
                FUZZ_CHECK((out[cut] & ~(tp::tlv_flag_u | tp::tlv_flag_m)) == 0);
            }
            break;
        }
        case 3:
            for (std::size_t k = 0; k < 4; ++k) {
                may[vo + k] = 1;
            }
            break;
        case 4: // §4.4: DSCP1 kept, DSCP2/ECN received, RP 0 or 1 by policy, Reserved 0
        {
            const unsigned d1 = in[0] >> 2;
            const bool permitted = (ctx.cos_allowed >> d1) & 1;
            // The first permitted one is applied; a later one asking another DSCP gets RP 1.
            const bool ok = permitted && (cos_values.empty() || cos_values.front() == d1);
            const unsigned w = be16(out);
            FUZZ_CHECK((w >> 10) == d1 && ((w >> 4) & 0x3f) == (ctx.received_ds >> 2u) &&
                       ((w >> 2) & 3) == (ctx.received_ds & 3u) && (w & 3) == (ok ? 0u : 1u));
            FUZZ_CHECK(out[2] == 0 && out[3] == 0);
            if (permitted) {
                cos_values.push_back(d1);
            }
            for (std::size_t k = 1; k < 4; ++k) {
                may[vo + k] = 1;
            }
            may[vo] = 1;
            break;
        }
        case 5: { // §4.5: S_TxC kept; counters only for a stateful reply
            const bool st = ctx.info && ctx.stateful && info.stateful;
            FUZZ_CHECK(be32(out + 4) == (st ? 5u : 0u) && be32(out + 8) == (st ? 6u : 0u));
            for (std::size_t k = 4; k < 12; ++k) {
                may[vo + k] = 1;
            }
            break;
        }
        case 6: { // §4.6
            const unsigned id = in[0] >> 4;
            FUZZ_CHECK((f != 0) == (id != 1 && id != 2));
            if (!f) {
                FUZZ_CHECK(out[0] == (in[0] & 0xf0) && out[1] == in[1] && out[2] == 0 &&
                           out[3] == 0);
                may[vo] = may[vo + 2] = may[vo + 3] = 1;
            }
            break;
        }
        case 7:
            for (std::size_t k = 0; k < 16; ++k) {
                may[vo + k] = 1;
            }
            break;
        case 9: { // RFC 9503 §3: one lookup per request, the same address the same answer
            const bool fam = t.length == alen;
            const bool is_dst = fam && same(in, ctx.dst_addr, alen);
            bool ok = false;
            if (!fam) {
                ok = false;
            } else if (is_dst) {
                ok = true;
            } else if (!dna_first) {
                dna_first = in;
                const bool special = ctx.ip_version == 4 ? tp::unanswerable_ipv4_source(in)
                                                         : tp::unanswerable_ipv6_source(in);
                dna_first_own = !special && ctx.addresses && is_own(&h, ctx.ip_version, in);
                ok = dna_first_own;
                if (ok) {
                    dna_values.push_back(vo);
                }
            } else {
                ok = dna_first_own && same(in, dna_first, alen);
            }
            FUZZ_CHECK((f == 0) == ok);
            break;
        }
        case 10: { // RFC 9503 §4: only sub-TLV Flags change, first TLV only
            if (!first_rp) {
                FUZZ_CHECK(f == 0);
                break;
            }
            first_rp = false;
            bool ra_ok = false, sr = false, ra_seen = false;
            const std::size_t cut =
                    sub_walk(in, t.length, 0, [&](std::size_t pos, uint8_t st, std::size_t l) {
                        may[vo + pos] = 1;
                        const uint8_t sf = out[pos];
                        if ((st == 1 && l != 4) || (st == 2 && l != 4 && l != 16)) {
                            FUZZ_CHECK(sf == tp::tlv_flag_m);
                            return false;
                        }
                        FUZZ_CHECK(sf == (st == 1 || st == 2 ? 0 : tp::tlv_flag_u));
                        if (st == 1 && !cc_value) {
                            cc_value = vo + pos + 4 + 1;
                        }
                        if (st == 2 && !ra_seen) {
                            ra_seen = true;
                            const uint8_t* ad = in + pos + 4;
                            ra_ok = l == alen && ctx.return_address && ctx.addresses &&
                                    ctx.src_port >= 1024 && ctx.src_port != ctx.dst_port &&
                                    !(v6 ? tp::unanswerable_ipv6_source(ad)
                                         : tp::unanswerable_ipv4_source(ad)) &&
                                    may_return_to(&h, ctx.ip_version, ad);
                            if (ra_ok) {
                                ra_values.push_back(vo + pos + 4);
                            }
                        }
                        sr = sr || st == 3 || st == 4;
                        return true;
                    });
            if (cut < t.length) {
                may[vo + cut] = 1;
                FUZZ_CHECK(out[cut] & tp::tlv_flag_m);
            }
            if (cc_value) {
                FUZZ_CHECK(f == 0);
            } else {
                FUZZ_CHECK((f != 0) == ((ra_seen && !ra_ok) || (!ra_seen && sr)));
            }
            break;
        }
        default:
            break;
        }
    }
    if (ref.malformed) {
        const std::size_t at = ref.malformed_at;
        FUZZ_CHECK(o[at] & tp::tlv_flag_m);
        FUZZ_CHECK((o[at] & ~(tp::tlv_flag_u | tp::tlv_flag_m)) == 0);
        unrecognized = static_cast<uint16_t>(unrecognized + ((o[at] & tp::tlv_flag_u) != 0));
        may[at] = 1;
        if (size - at >= 4 && data[at + 1] == 7 && be16(data + at + 2) <= size - at - 4) {
            for (std::size_t k = 0; k < std::min<std::size_t>(be16(data + at + 2), 12); ++k) {
                FUZZ_CHECK(o[at + 4 + k] == 0); // erratum 8339
                may[at + 4 + k] = 1;
            }
        }
    }
    // Nothing else changed: Type and Length octets, Values the definitions leave alone, the
    // octets after a malformed TLV, trailing padding.
    for (std::size_t k = 0; k < size; ++k) {
        FUZZ_CHECK(may[k] || o[k] == data[k]);
    }
    FUZZ_CHECK(r.unrecognized == unrecognized);
    // Effects only from TLVs that permit them.
    if (r.reply_dscp >= 0) {
        FUZZ_CHECK(!cos_values.empty() &&
                   cos_values.front() == static_cast<unsigned>(r.reply_dscp));
    } else {
        FUZZ_CHECK(cos_values.empty());
    }
    if (r.reply_source_at) {
        FUZZ_CHECK(!dna_values.empty() && dna_values.front() + 1 == r.reply_source_at);
    } else {
        FUZZ_CHECK(dna_values.empty());
    }
    FUZZ_CHECK(r.no_reply == (cc_value && !(data[cc_value - 1 + 3] & 1)));
    if (r.return_address_at) {
        FUZZ_CHECK(!cc_value && ra_values.size() == 1 && ra_values[0] + 1 == r.return_address_at);
    } else {
        FUZZ_CHECK(cc_value || ra_values.empty());
    }
    const uint16_t before = ref_fold(ref_sum(data, size));
    const uint16_t after = ref_fold(ref_sum(o, size));
    FUZZ_CHECK(ones_equal(after, sub_add(before, r.sum_before, r.sum_after)));
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
    info.rx_count = 0x01020304;
    info.tx_count = 0xfffffffe;
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
    // malformed, I = 0, reserved bits zero. Nothing the sender set survives. The Values by the
    // model of each TLV with nothing known (run 1); run 2 differs in what tlv_reply_info says.
    const uint64_t fu_ts = tp::ptp_from_unix_ns(info.follow_up_ns, 37);
    bool no_reply = false;
    int reply_dscp = -1;
    bool first_rp = true;
    for (const ref_tlv& r : ref.tlvs) {
        uint8_t f = implemented(r.type) ? 0 : tp::tlv_flag_u;
        uint8_t* v = expect.data() + r.offset + 4;
        switch (r.type) {
        case 2:
            model_location(v, r.length);
            break;
        case 3: // §4.3
            std::memset(v, 0, 4);
            break;
        case 4: // §4.4: every DSCP permitted by default; DSCP2, ECN of a DS field 0
            if (reply_dscp < 0) {
                reply_dscp = v[0] >> 2;
            }
            v[1] = reply_dscp == v[0] >> 2 ? 0 : 1; // RP 1: another DSCP was applied
            v[0] &= 0xfc;
            v[2] = 0;
            v[3] = 0;
            break;
        case 5: // §4.5: counters zero
            std::memset(v + 4, 0, 8);
            break;
        case 6: // §4.6
            if ((v[0] >> 4) == 1 || (v[0] >> 4) == 2) {
                v[0] &= 0xf0;
                v[2] = 0;
                v[3] = 0;
            } else {
                f = tp::tlv_flag_u;
            }
            break;
        case 7: // §4.7
            std::memset(v, 0, 16);
            break;
        case 8: // §4.8: no key in the context: not checked, U, echoed (fuzz_auth: with keys)
            f = tp::tlv_flag_u;
            break;
        case 9: // RFC 9503 §3: no destination known, no hooks: never ours
            f = tp::tlv_flag_u;
            break;
        case 10: // RFC 9503 §4: the first one only
            if (first_rp) {
                first_rp = false;
                f = model_return_path(v, r.length, no_reply);
            }
            break;
        default:
            break;
        }
        unrecognized = static_cast<uint16_t>(unrecognized + (f != 0));
        expect[r.offset] = f;
    }
    std::vector<uint8_t> expect2 = expect;
    for (const ref_tlv& r : ref.tlvs) {
        uint8_t* v2 = expect2.data() + r.offset + 4;
        if (r.type == 3) { // RFC 8972 §4.3
            const uint8_t ts[4] = {info.sync_src_in, info.ts_method_in, info.sync_src_out,
                                   info.ts_method_out};
            std::memcpy(v2, ts, 4);
        } else if (r.type == 5) { // §4.5, stateful
            for (int k = 0; k < 4; ++k) {
                v2[4 + k] = static_cast<uint8_t>(info.rx_count >> (24 - 8 * k));
                v2[8 + k] = static_cast<uint8_t>(info.tx_count >> (24 - 8 * k));
            }
        } else if (r.type == 7) { // RFC 8972 §4.7
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
        const std::size_t at = ref.malformed_at;
        uint8_t f = tp::tlv_flag_m;
        if (size - at >= 2 && !implemented(data[at + 1])) {
            f |= tp::tlv_flag_u;
            ++unrecognized;
        }
        expect[at] = f;
        expect2[at] = f;
        // Erratum 8339: a Follow-Up Telemetry TLV of a wrong Length (not cut off).
        if (size - at >= 4 && data[at + 1] == 7 && be16(data + at + 2) <= size - at - 4) {
            const std::size_t k = std::min<std::size_t>(be16(data + at + 2), 12);
            std::memset(expect.data() + at + 4, 0, k);
            std::memset(expect2.data() + at + 4, 0, k);
        }
    }
    FUZZ_CHECK(same(expect.data(), area.get(), size));
    FUZZ_CHECK(same(expect2.data(), area2.get(), size));
    FUZZ_CHECK(res2.count == res.count && res2.unrecognized == res.unrecognized &&
               res2.malformed == res.malformed && res2.padding == res.padding);
    FUZZ_CHECK(res.count == ref.tlvs.size() + (ref.malformed ? 1 : 0));
    FUZZ_CHECK(res.unrecognized == unrecognized);
    FUZZ_CHECK(res.malformed == ref.malformed);
    FUZZ_CHECK(res.padding == padding);
    FUZZ_CHECK(res.no_reply == no_reply && res2.no_reply == no_reply);
    FUZZ_CHECK(res.reply_dscp == reply_dscp && res2.reply_dscp == reply_dscp);
    FUZZ_CHECK(res.reply_source_at == 0 && res.return_address_at == 0);
    FUZZ_CHECK(res.integrity == 0);
    {
        unsigned seen = 0;
        for (uint16_t c : res.seen) {
            seen += c;
        }
        FUZZ_CHECK(seen == res.count);
    }
    policy_run(data, size, ref, padding);

    // The deltas patch a checksum exactly: lanes relative to the area start.
    const uint16_t before = ref_fold(ref_sum(data, size));
    const uint16_t after = ref_fold(ref_sum(area.get(), size));
    FUZZ_CHECK(ones_equal(after, sub_add(before, res.sum_before, res.sum_after)));
    const uint16_t after2 = ref_fold(ref_sum(area2.get(), size));
    FUZZ_CHECK(ones_equal(after2, sub_add(before, res2.sum_before, res2.sum_after)));
    return 0;
}
