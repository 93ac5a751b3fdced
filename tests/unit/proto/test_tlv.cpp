// STAMP TLVs (RFC 8972 §4): the bounded walk (tlv_walker), the reflector's flag rewrite
// (reflect_tlvs) and both inside whole reflected frames, whose UDP checksum must still be
// right after the flag changes (checked from scratch by reply_check.hpp).
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "reflect_runner.hpp"
#include "test_util.hpp"

#include "twamp/proto/checksum.hpp"
#include "twamp/proto/tlv.hpp"

using namespace twamp::proto;
using namespace twamp::test;

namespace {

// Reference walk (RFC 8972 §4: Flags, Type, Length(2), Value): the offsets of the well-formed
// TLVs, and where the walk had to stop (== size when it did not).
struct ref_walk {
    std::vector<std::size_t> offsets;
    std::size_t stop = 0;
    bool malformed = false;
    std::size_t padding = 0; // trailing zeros left alone (reflector walk only)
};

// The Lengths RFC 8972 allows the types this reflector implements: Timestamp Information
// (§4.3) four octets and optional sub-TLVs, Follow-Up Telemetry (§4.7) exactly 16. Another
// Length makes the TLV malformed for the reflector.
bool ref_length_ok(uint8_t type, std::size_t len) {
    switch (type) {
    case 2:  // Location §4.2: ports, then sub-TLVs
    case 3:  // Timestamp Information §4.3
    case 10: // Return Path, RFC 9503 §4: at least one sub-TLV header
        return len >= 4;
    case 4: // Class of Service §4.4
    case 6: // Access Report §4.6
        return len == 4;
    case 5: // Direct Measurement §4.5
        return len == 12;
    case 7: // Follow-Up Telemetry §4.7
    case 8: // HMAC §4.8
        return len == 16;
    case 9: // Destination Node Address, RFC 9503 §3
        return len == 4 || len == 16;
    default:
        return true;
    }
}

// The types this reflector implements: RFC 8972 §4.1-§4.8 and RFC 9503 §3, §4.
bool ref_recognized(uint8_t type) {
    return type >= 1 && type <= 10; // 8: HMAC (RFC 8972 §4.8), issue 17
}

// Implemented types whose U depends on the Value and the context (Access Report with another
// Access ID, a Destination Node Address not ours, a Return Path not usable, an HMAC with no
// key to check it): RFC 8972 §4.6, §4.8, RFC 9503 §3, §4. The others are U = 0 exactly when
// implemented.
bool ref_u_by_value(uint8_t type) {
    return type == 6 || type == 8 || type == 9 || type == 10;
}

// The TLV chain of RFC 8972 §4. With `reflector`, as the reflector reads it: where nothing
// but zero octets is left, that rest is padding (RFC 8762 §4.6 remainder, tlv.hpp), and an
// implemented type with a Length its definition does not allow is malformed.
ref_walk walk(const bytes& a, bool reflector = false) {
    const bool zero_tail = reflector;
    ref_walk w;
    std::size_t off = 0;
    for (;;) {
        if (zero_tail && off < a.size() &&
            std::all_of(a.begin() + static_cast<std::ptrdiff_t>(off), a.end(),
                        [](uint8_t c) { return c == 0; })) {
            w.padding = a.size() - off;
            w.stop = a.size();
            return w;
        }
        if (!(off + 4 <= a.size() && off + 4 + rd16(&a[off + 2]) <= a.size())) {
            break;
        }
        if (reflector && !ref_length_ok(a[off + 1], rd16(&a[off + 2]))) {
            w.stop = off;
            w.malformed = true;
            return w;
        }
        w.offsets.push_back(off);
        off += 4 + rd16(&a[off + 2]);
    }
    w.stop = off;
    w.malformed = off != a.size();
    return w;
}

struct tlv_row {
    std::string name;
    std::string rfc;
    bytes in;  // the TLV area of the request (after the 44-octet base)
    bytes out; // the TLV area of the reply
};

std::ostream& operator<<(std::ostream& os, const tlv_row& r) {
    return os << r.name << " [" << r.rfc << "]";
}

bytes zero_first(bytes b, std::size_t n) {
    std::fill(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(std::min(n, b.size())), 0);
    return b;
}

std::vector<tlv_row> tlv_rows() {
    const bytes p16 = pattern(16, 0x31);
    const bytes p8 = pattern(8, 0x77);
    // Octets that look like a TLV header with Flags 0 and an unknown Type: if the walk went
    // on over them they would come back with U set.
    const bytes fake = tlv(0x00, 200, pattern(4, 0x10));
    std::vector<tlv_row> v = {
            {"extra_padding_echoed", "RFC 8972 §4.1 Extra Padding: U=0, value as sent",
             tlv(0, 1, p16), tlv(0, 1, p16)},
            {"extra_padding_empty", "RFC 8972 §4.1 Length 0", tlv(0, 1, {}), tlv(0, 1, {})},
            {"extra_padding_sender_u_cleared", "RFC 8972 §4: U=0 for an understood TLV",
             tlv(0x80, 1, p16), tlv(0x00, 1, p16)},
            {"extra_padding_stale_m_cleared", "RFC 8972 §4: M=0 for a well-formed TLV",
             tlv(0x40, 1, p8), tlv(0x00, 1, p8)},
            {"extra_padding_u_and_m_cleared", "RFC 8972 §4", tlv(0xc0, 1, p8), tlv(0x00, 1, p8)},
            {"unknown_type_200_gets_u", "RFC 8972 §4: U=1, TLV returned as received",
             tlv(0, 200, p8), tlv(0x80, 200, p8)},
            {"unknown_type_255_gets_u", "RFC 8972 §4", tlv(0, 255, p16), tlv(0x80, 255, p16)},
            {"reserved_type_0_gets_u", "RFC 8972 §6.2 type 0 reserved", tlv(0, 0, p8),
             tlv(0x80, 0, p8)},
            {"unknown_with_sender_u_keeps_u", "RFC 8972 §4", tlv(0x80, 200, p8),
             tlv(0x80, 200, p8)},
            {"unknown_stale_m_cleared", "RFC 8972 §4: M=0 for a well-formed TLV",
             tlv(0x40, 200, p8), tlv(0x80, 200, p8)},
            {"padding_then_unknown", "RFC 8972 §4: each TLV on its own",
             cat({tlv(0, 1, p8), tlv(0, 200, p16)}), cat({tlv(0, 1, p8), tlv(0x80, 200, p16)})},
            {"unknown_then_padding_then_empty_unknown", "RFC 8972 §4",
             cat({tlv(0, 99, p8), tlv(0x80, 1, p16), tlv(0, 42, {})}),
             cat({tlv(0x80, 99, p8), tlv(0, 1, p16), tlv(0x80, 42, {})})},
            {"length_past_end_gets_m", "RFC 8972 §4: M=1 when the TLV overruns the packet",
             tlv(0, 1, p8, 100), tlv(0x40, 1, p8, 100)},
            {"length_past_end_by_one", "RFC 8972 §4", tlv(0, 1, p8, 9), tlv(0x40, 1, p8, 9)},
            {"malformed_after_valid_stops_walk",
             "RFC 8972 §4: processing stops, later octets untouched",
             cat({tlv(0, 1, p8), tlv(0, 1, fake, 200)}),
             cat({tlv(0, 1, p8), tlv(0x40, 1, fake, 200)})},
            {"malformed_then_fake_tlv_untouched", "RFC 8972 §4: nothing after is processed",
             cat({tlv(0x00, 1, {}, 12), fake}), cat({tlv(0x40, 1, {}, 12), fake})},
            {"leftover_1_octet", "RFC 8972 §4: a header cut off is malformed",
             cat({tlv(0, 1, p8), {0x80}}), cat({tlv(0, 1, p8), {0x40}})},
            {"leftover_2_octets", "RFC 8972 §4", cat({tlv(0, 1, p8), {0x00, 0x01}}),
             cat({tlv(0, 1, p8), {0x40, 0x01}})},
            {"leftover_3_octets", "RFC 8972 §4", cat({tlv(0, 1, p8), {0x00, 0x01, 0x00}}),
             cat({tlv(0, 1, p8), {0x40, 0x01, 0x00}})},
            {"only_1_octet", "RFC 8972 §4", {0x80}, {0x40}},
            // Zeros where TLVs could be: padding, returned as it came (RFC 8762 §4.6: the
            // remainder of a longer request is copied; tlv.hpp), not U-flagged Type-0 TLVs.
            {"zero_tail_1_octet", "RFC 8762 §4.6 remainder copied", {0x00}, {0x00}},
            {"zero_tail_4_octets", "RFC 8762 §4.6", bytes(4, 0), bytes(4, 0)},
            {"zero_tail_31_octets", "RFC 8762 §4.6", bytes(31, 0), bytes(31, 0)},
            {"tlv_then_zero_tail", "RFC 8972 §4 chain, then padding",
             cat({tlv(0x80, 1, p8), bytes(9, 0)}), cat({tlv(0, 1, p8), bytes(9, 0)})},
            {"tlv_then_1_zero", "RFC 8972 §4 chain, then padding", cat({tlv(0x80, 1, p8), {0x00}}),
             cat({tlv(0, 1, p8), {0x00}})},
            {"zeros_then_data_are_tlvs", "RFC 8972 §4: not all zero, so a chain",
             cat({bytes(4, 0), tlv(0, 1, p8)}), cat({{0x80, 0, 0, 0}, tlv(0, 1, p8)})},
            {"zero_type_tlv_with_length",
             "RFC 8972 §4: Type 0 with a Length is a TLV",
             {0x00, 0x00, 0x00, 0x02, 0x00, 0x00},
             {0x80, 0x00, 0x00, 0x02, 0x00, 0x00}},
            {"only_2_octets", "RFC 8972 §4", {0x00, 0x01}, {0x40, 0x01}},
            {"only_3_octets", "RFC 8972 §4", {0x00, 0x01, 0x00}, {0x40, 0x01, 0x00}},
            {"no_tlvs", "RFC 8762 §4.2.1 base packet only", {}, {}},
    };
    // Timestamp Information (RFC 8972 §4.3) and Follow-Up Telemetry (§4.7) without
    // tlv_reply_info: understood (U = 0), values zero ("not stated": 0 is Reserved in the
    // Synchronization Source and Timestamping Method registries, §5.4, §5.5).
    const bytes z4(4, 0);
    const bytes z16(16, 0);
    v.insert(
            v.end(),
            {
                    {"timestamp_information_no_info", "RFC 8972 §4.3: U=0, four octets 0",
                     tlv(0x80, 3, pattern(4, 0x41)), tlv(0, 3, z4)},
                    {"timestamp_information_subtlv_octets_kept",
                     "RFC 8972 §4.3: Length 4 + optional sub-TLVs, those returned as received",
                     tlv(0x80, 3, cat({pattern(4, 0x41), p8})), tlv(0, 3, cat({z4, p8}))},
                    {"timestamp_information_length_3_gets_m",
                     "RFC 8972 §4.3 Length < 4: malformed (§4 M=1), processing stops",
                     cat({tlv(0x80, 3, pattern(3, 0x41)), tlv(0, 200, p8)}),
                     cat({tlv(0x40, 3, pattern(3, 0x41)), tlv(0, 200, p8)})},
                    {"timestamp_information_length_0_gets_m", "RFC 8972 §4.3 Length < 4",
                     tlv(0, 3, {}), tlv(0x40, 3, {})},
                    {"follow_up_no_info", "RFC 8972 §4.7: U=0, all 16 octets 0",
                     tlv(0x80, 7, pattern(16, 0x52)), tlv(0, 7, z16)},
                    // Erratum 8339 to RFC 8972 §4.7: with an invalid Length the Sequence
                    // Number and Follow-up Timestamp octets present (the first 12) are zeroed,
                    // M = 1, processing stops.
                    {"follow_up_length_15_gets_m", "RFC 8972 §4.7 + erratum 8339: M=1, stop",
                     cat({tlv(0x80, 7, pattern(15, 0x52)), tlv(0, 1, p8)}),
                     cat({tlv(0x40, 7, zero_first(pattern(15, 0x52), 12)), tlv(0, 1, p8)})},
                    {"follow_up_length_17_gets_m", "RFC 8972 §4.7 + erratum 8339",
                     tlv(0, 7, pattern(17, 0x52)), tlv(0x40, 7, zero_first(pattern(17, 0x52), 12))},
                    {"follow_up_length_8_gets_m", "RFC 8972 §4.7 + erratum 8339: all 8 zeroed",
                     tlv(0, 7, p8), tlv(0x40, 7, bytes(8, 0))},
                    {"follow_up_length_0_gets_m", "RFC 8972 §4.7 + erratum 8339: nothing to zero",
                     tlv(0, 7, {}), tlv(0x40, 7, {})},
                    {"chain_padding_tsinfo_unknown_hmac_followup",
                     "RFC 8972 §4.1, §4.3, §4, §4.8, §4.7",
                     cat({tlv(0x80, 1, pattern(5, 0x11)), tlv(0x80, 3, pattern(4, 0x41)),
                          tlv(0x80, 200, p8), tlv(0x80, 8, p16), tlv(0x80, 7, pattern(16, 0x52))}),
                     cat({tlv(0, 1, pattern(5, 0x11)), tlv(0, 3, z4), tlv(0x80, 200, p8),
                          tlv(0x80, 8, p16), tlv(0, 7, z16)})},
            });
    // HMAC (RFC 8972 §4.8, issue 17): 16 octets; with no key in the context it cannot be
    // checked: U, the Value echoed (test_auth.cpp: with keys). Another Length: malformed.
    v.push_back({"hmac_without_key_gets_u", "RFC 8972 §4.8: understood, not checked",
                 tlv(0, 8, p16), tlv(0x80, 8, p16)});
    v.push_back({"hmac_length_8_gets_m", "RFC 8972 §4.8: 16 octets", tlv(0x80, 8, p8),
                 tlv(0x40, 8, p8)});
    // Unassigned types: returned with U set (RFC 8972 §4).
    for (int type : {11, 12}) {
        v.push_back({"not_implemented_type_" + std::to_string(type),
                     "RFC 8972 §4, IANA STAMP TLV Types: not processed here",
                     tlv(0, static_cast<uint8_t>(type), p8),
                     tlv(0x80, static_cast<uint8_t>(type), p8)});
    }
    return v;
}

std::string row_name(const ::testing::TestParamInfo<tlv_row>& i) {
    return i.param.name;
}

class stamp_tlvs : public ::testing::TestWithParam<tlv_row> {};

// reflect_tlvs() on the bare area.
TEST_P(stamp_tlvs, area) {
    const tlv_row& r = GetParam();
    guarded_buffer g(r.in);
    const tlv_result res = reflect_tlvs(g.span());
    EXPECT_EQ(hex({g.data(), g.size()}), hex(r.out));
    // The sums it reports let the UDP checksum follow the flag changes.
    EXPECT_TRUE(ones_eq(csum_add(csum_sub(ref_sum(r.in), res.sum_before), res.sum_after),
                        ref_sum(r.out)))
            << "sum_before/sum_after";
    const ref_walk w = walk(r.in, true);
    EXPECT_EQ(res.malformed, w.malformed);
    EXPECT_EQ(res.count, w.offsets.size() + (w.malformed ? 1 : 0));
    EXPECT_EQ(res.padding, w.padding);
}

// The same areas inside whole STAMP frames: IPv4 with a checksum, IPv4 without one (the
// reflector then computes it from scratch), IPv6.
TEST_P(stamp_tlvs, in_reflected_frame) {
    const tlv_row& r = GetParam();
    for (int variant = 0; variant < 3; ++variant) {
        reflect_row row;
        row.name = r.name;
        row.rfc = r.rfc;
        row.spec = variant == 2 ? v6_spec() : v4_spec();
        row.spec.csum = variant == 1 ? udp_csum::zero : udp_csum::good;
        row.spec.payload = stamp_request(sender_seq, sender_ts(false), 0x8001, ssid, r.in);
        row.policy.mode = test_mode::stamp;
        row.tlv_area = r.out;
        run_row(row);
    }
}

INSTANTIATE_TEST_SUITE_P(rows, stamp_tlvs, ::testing::ValuesIn(tlv_rows()), row_name);

// tlv_walker: offsets, lengths and value spans of each TLV; a cut header or an overrun stops it
// with malformed() and the position of the bad TLV.
TEST(tlv_walker, walks_and_stops) {
    const bytes area = cat(
            {tlv(0x80, 1, pattern(3, 1)), tlv(0, 7, {}), tlv(0, 9, pattern(5, 2)), {0xaa, 0xbb}});
    tlv_walker w(area);
    tlv_view t;
    ASSERT_TRUE(w.next(t));
    EXPECT_EQ(t.offset, 0);
    EXPECT_EQ(t.flags, 0x80);
    EXPECT_EQ(t.type, 1);
    EXPECT_EQ(t.length, 3);
    EXPECT_EQ(t.value.data(), area.data() + 4);
    EXPECT_EQ(t.value.size(), 3u);
    ASSERT_TRUE(w.next(t));
    EXPECT_EQ(t.offset, 7);
    EXPECT_EQ(t.type, 7);
    EXPECT_EQ(t.length, 0);
    EXPECT_TRUE(t.value.empty());
    ASSERT_TRUE(w.next(t));
    EXPECT_EQ(t.offset, 11);
    EXPECT_EQ(t.length, 5);
    EXPECT_EQ(t.value.data(), area.data() + 15);
    EXPECT_FALSE(w.next(t));
    EXPECT_TRUE(w.malformed());
    EXPECT_EQ(w.position(), 20u);
    EXPECT_FALSE(w.next(t)) << "stays done";

    tlv_walker empty(std::span<const uint8_t>{});
    EXPECT_FALSE(empty.next(t));
    EXPECT_FALSE(empty.malformed());

    const bytes exact = tlv(0, 1, pattern(10, 3));
    tlv_walker e(exact);
    EXPECT_TRUE(e.next(t));
    EXPECT_FALSE(e.next(t));
    EXPECT_FALSE(e.malformed()) << "a TLV ending exactly at the end is well-formed";
}

// Random areas in faulting buffers: the walk never reads past the end, takes at most
// size/4 + 1 steps, and reflect_tlvs() only ever changes Flags octets and the values of the
// types it implements, with sums that keep the checksum arithmetic right.
TEST(tlv_walker, random_areas_bounded) {
    std::mt19937 rng(8972);
    for (int i = 0; i < 20000; ++i) {
        bytes a(rng() % 64);
        for (auto& c : a) {
            c = static_cast<uint8_t>(rng());
        }
        if (i % 3 == 1 && !a.empty()) {
            // A zero tail from some point on: padding, or TLVs before it.
            std::fill(a.begin() + static_cast<std::ptrdiff_t>(rng() % a.size()), a.end(), 0);
        }
        if (i % 2 == 0) {
            // Mostly short Lengths so the walk gets somewhere; some TLVs of the implemented
            // types with their right Lengths.
            for (std::size_t k = 2; k + 1 < a.size(); k += 4 + a[k + 1]) {
                a[k] = 0;
                a[k + 1] = static_cast<uint8_t>(a[k + 1] % 8);
                if (i % 4 == 0 && k >= 1) {
                    const uint8_t pick = static_cast<uint8_t>(rng() % 4);
                    if (pick == 1) {
                        a[k - 1] = 3;
                        a[k + 1] = static_cast<uint8_t>(4 + a[k + 1] % 4);
                    } else if (pick == 2) {
                        a[k - 1] = 7;
                        a[k + 1] = 16;
                    }
                }
            }
        }
        guarded_buffer g(a);
        tlv_walker w(std::span<const uint8_t>(g.data(), g.size()));
        tlv_view t;
        std::size_t steps = 0;
        std::size_t end = 0;
        while (w.next(t)) {
            ++steps;
            ASSERT_EQ(t.offset, end);
            end = t.offset + 4u + t.length;
            ASSERT_LE(end, a.size());
        }
        ASSERT_LE(steps, a.size() / 4 + 1);
        ASSERT_EQ(w.malformed(), end != a.size());

        guarded_buffer g2(a);
        const tlv_result r = reflect_tlvs(g2.span());
        const bytes out = g2.copy(g2.size());
        ASSERT_EQ(walk(a).stop, end);
        const ref_walk rw = walk(a, true);
        ASSERT_EQ(r.malformed, rw.malformed);
        ASSERT_EQ(r.padding, rw.padding);
        std::vector<bool> is_flags(a.size(), false);
        for (std::size_t off : rw.offsets) {
            is_flags[off] = true;
            // U exactly for the types not implemented (for the rest, by Value), M clear, I and
            // the reserved bits clear.
            const uint8_t type = a[off + 1];
            if (!ref_u_by_value(type)) {
                ASSERT_EQ((out[off] & tlv_flag_u) != 0, !ref_recognized(type)) << "U at " << off;
            } else {
                ASSERT_TRUE(ref_recognized(type));
            }
            ASSERT_EQ(out[off] & ~tlv_flag_u, 0) << "flags at " << off;
            // Values the handlers write without tlv_reply_info: zeros (RFC 8972 §4.3: the
            // first four octets; §4.7: all 16). Other handlers' Values: tested on their own
            // (test_tlv_handlers.cpp); here they may change.
            const std::size_t len = rd16(&a[off + 2]);
            const std::size_t vlen = type == 3 ? 4 : type == 7 ? 16 : 0;
            for (std::size_t k = 0; k < vlen; ++k) {
                is_flags[off + 4 + k] = true;
                ASSERT_EQ(out[off + 4 + k], 0) << "value octet " << off + 4 + k;
            }
            if (type == 2 || type == 4 || type == 5 || type == 6 || type == 10) {
                for (std::size_t k = 0; k < len; ++k) {
                    is_flags[off + 4 + k] = true;
                }
            }
        }
        if (rw.malformed) {
            is_flags[rw.stop] = true;
            ASSERT_NE(out[rw.stop] & tlv_flag_m, 0) << "M on the malformed TLV";
            // Erratum 8339: a Follow-Up Telemetry TLV with a wrong Length has the first
            // min(Length, 12) Value octets zeroed (when it fits: a Length past the end is
            // malformed as such, RFC 8972 §4).
            if (rw.stop + 4 <= a.size() && a[rw.stop + 1] == 7 &&
                rw.stop + 4 + rd16(&a[rw.stop + 2]) <= a.size()) {
                const std::size_t n = std::min<std::size_t>(rd16(&a[rw.stop + 2]), 12);
                for (std::size_t k = 0; k < n && rw.stop + 4 + k < a.size(); ++k) {
                    is_flags[rw.stop + 4 + k] = true;
                    ASSERT_EQ(out[rw.stop + 4 + k], 0) << "erratum 8339 octet " << k;
                }
            }
        }
        for (std::size_t k = 0; k < a.size(); ++k) {
            if (!is_flags[k]) {
                ASSERT_EQ(out[k], a[k]) << "non-Flags octet " << k << " changed";
            }
        }
        ASSERT_TRUE(
                ones_eq(csum_add(csum_sub(ref_sum(a), r.sum_before), r.sum_after), ref_sum(out)));
    }
}

} // namespace

namespace {

// RFC 8972 §4.2: the Session-Reflector writes the whole Flags octet. U = 1 only when it did
// not understand the Type, M = 1 only for the malformed TLV, I = 0 (no HMAC check failed), the
// reserved bits zero on transmission: whatever the sender had put there does not survive.
TEST(tlv_flags, reflector_rewrites_the_whole_flags_octet) {
    bytes a = cat({tlv(0xff, 1, bytes(4, 0xaa)),   // Extra Padding, every flag set by the sender
                   tlv(0x3f, 200, bytes(2, 0xbb)), // unknown type, U clear, I and reserved set
                   bytes{0xff, 1, 0x00, 0x09, 1, 2}}); // Extra Padding whose Length runs past
    reflect_tlvs(a);
    EXPECT_EQ(a[0], 0x00);        // understood, well formed
    EXPECT_EQ(a[8], tlv_flag_u);  // not understood
    EXPECT_EQ(a[14], tlv_flag_m); // malformed (Type understood: U = 0)
    EXPECT_EQ(rd16(&a[2]), 4u);   // nothing else touched
    EXPECT_EQ(a[4], 0xaa);
}

TEST(tlv_flags, malformed_unknown_type_gets_u_and_m) {
    bytes a = {0x00, 77, 0x00, 0x10, 1, 2, 3}; // unknown Type, Length 16 with 3 octets left
    tlv_result r = reflect_tlvs(a);
    EXPECT_TRUE(r.malformed);
    EXPECT_EQ(r.unrecognized, 1u);
    EXPECT_EQ(a[0], tlv_flag_u | tlv_flag_m);
}

} // namespace

namespace {

// ---- Timestamp Information (RFC 8972 §4.3) and Follow-Up Telemetry (§4.7) with what the
// dataplane knows (tlv_reply_info). Expected octets written from the RFC layouts. ----------

// RFC 8972 §5.4 "Synchronization Source" and §5.5 "Timestamping Method" (IANA).
TEST(tlv_registries, iana_values) {
    EXPECT_EQ(sync_source::not_stated, 0); // Reserved
    EXPECT_EQ(sync_source::ntp, 1);
    EXPECT_EQ(sync_source::ptp, 2);
    EXPECT_EQ(sync_source::ssu_bits, 3);
    EXPECT_EQ(sync_source::gnss, 4); // GPS/GLONASS/LORAN-C/BDS/Galileo
    EXPECT_EQ(sync_source::local_free_running, 5);
    EXPECT_EQ(ts_method::not_stated, 0); // Reserved
    EXPECT_EQ(ts_method::hw_assist, 1);
    EXPECT_EQ(ts_method::sw_local, 2);
    EXPECT_EQ(ts_method::control_plane, 3);
    // The table (tlv.hpp): every RFC 8972 and RFC 9503 type but HMAC (issue 17), with the
    // Lengths their definitions allow.
    struct want {
        int type;
        uint16_t len;
        tlv_len_rule rule;
    };
    for (const want w : {want{1, 0, tlv_len_rule::at_least}, want{2, 4, tlv_len_rule::at_least},
                         want{3, 4, tlv_len_rule::at_least}, want{4, 4, tlv_len_rule::exactly},
                         want{5, 12, tlv_len_rule::exactly}, want{6, 4, tlv_len_rule::exactly},
                         want{7, 16, tlv_len_rule::exactly}, want{10, 4, tlv_len_rule::at_least}}) {
        const tlv_handler* h = find_tlv_handler(static_cast<uint8_t>(w.type));
        ASSERT_NE(h, nullptr) << w.type;
        EXPECT_EQ(h->len, w.len) << w.type;
        EXPECT_EQ(h->rule, w.rule) << w.type;
    }
    ASSERT_NE(find_tlv_handler(9), nullptr);
    EXPECT_EQ(find_tlv_handler(9)->rule, tlv_len_rule::ip_address);
    EXPECT_NE(find_tlv_handler(7)->bad_length, nullptr) << "erratum 8339";
    // HMAC (RFC 8972 §4.8): exactly 16 octets (issue 17; without a key its handler says U).
    ASSERT_NE(find_tlv_handler(8), nullptr);
    EXPECT_EQ(find_tlv_handler(8)->len, 16);
    EXPECT_EQ(find_tlv_handler(8)->rule, tlv_len_rule::exactly);
    for (int t : {0, 11, 200, 255}) {
        EXPECT_EQ(find_tlv_handler(static_cast<uint8_t>(t)), nullptr) << t;
    }
}

// reflect_tlvs() on an area with a context; the sums it reports must patch a checksum exactly.
bytes reflect_area(const bytes& in, const tlv_reply_ctx& ctx, tlv_result* out = nullptr) {
    guarded_buffer g(in);
    const tlv_result r = reflect_tlvs(g.span(), ctx);
    const bytes got = g.copy(g.size());
    EXPECT_TRUE(ones_eq(csum_add(csum_sub(ref_sum(in), r.sum_before), r.sum_after), ref_sum(got)))
            << "sum_before/sum_after";
    if (out) {
        *out = r;
    }
    return got;
}

// 2023-11-14 22:13:20.5 UTC: NTP seconds 1,700,000,000 + 2,208,988,800 = 0xe8fe6f80, fraction
// 0.5 = 0x80000000 (RFC 5905 §6); PTP seconds + 37 (TAI) = 0x6553f125, ns 500,000,000 =
// 0x1dcd6500 (RFC 8186 §2.3).
constexpr uint64_t follow_ns = 1'700'000'000'500'000'000ULL;

tlv_reply_info hw_info() {
    tlv_reply_info i;
    i.sync_src_in = sync_source::ptp;
    i.ts_method_in = ts_method::hw_assist;
    i.sync_src_out = sync_source::ptp;
    i.ts_method_out = ts_method::hw_assist;
    i.stateful = true;
    i.follow_up_seq = 0x11223344;
    i.follow_up_ns = follow_ns;
    i.follow_up_mode = ts_method::hw_assist;
    return i;
}

TEST(tlv_timestamp_information, each_method) {
    struct row {
        uint8_t si, mi, so, mo;
    };
    for (const row r : {row{2, 1, 2, 1}, row{1, 2, 1, 2}, row{5, 3, 5, 3}, row{3, 1, 4, 2}}) {
        tlv_reply_info info;
        info.sync_src_in = r.si;
        info.ts_method_in = r.mi;
        info.sync_src_out = r.so;
        info.ts_method_out = r.mo;
        const tlv_reply_ctx ctx{&info, ts_format::ntp, 37, true};
        // Flags (U=1 from the sender), Type 3, Length 4, Sync Src In, Timestamp In, Sync Src
        // Out, Timestamp Out.
        const bytes out = reflect_area({0x80, 0x03, 0x00, 0x04, 0, 0, 0, 0}, ctx);
        EXPECT_EQ(hex(out), hex(bytes{0x00, 0x03, 0x00, 0x04, r.si, r.mi, r.so, r.mo}));
    }
}

TEST(tlv_timestamp_information, at_odd_offset_and_subtlvs) {
    const tlv_reply_info info = hw_info();
    const tlv_reply_ctx ctx{&info, ts_format::ntp, 37, true};
    tlv_result r;
    // Extra Padding with 3 octets puts Timestamp Information at offset 7 (odd lanes); its
    // Length 6: four octets and two of sub-TLVs, returned as they came.
    const bytes out = reflect_area({0x80, 0x01, 0x00, 0x03, 0xaa, 0xbb, 0xcc, 0x80, 0x03, 0x00,
                                    0x06, 0x09, 0x09, 0x09, 0x09, 0x5a, 0xa5},
                                   ctx, &r);
    EXPECT_EQ(hex(out), hex(bytes{0x00, 0x01, 0x00, 0x03, 0xaa, 0xbb, 0xcc, 0x00, 0x03, 0x00, 0x06,
                                  0x02, 0x01, 0x02, 0x01, 0x5a, 0xa5}));
    EXPECT_EQ(r.count, 2);
    EXPECT_EQ(r.unrecognized, 0);
    EXPECT_FALSE(r.malformed);
}

TEST(tlv_follow_up, stateful_ntp) {
    const tlv_reply_info info = hw_info();
    const tlv_reply_ctx ctx{&info, ts_format::ntp, 37, true};
    // The sender's Value (and Reserved) is overwritten: Sequence Number, Follow-up Timestamp,
    // Timestamp Mode, Reserved zero.
    const bytes in = tlv(0x80, 7, pattern(16, 0x52));
    EXPECT_EQ(hex(reflect_area(in, ctx)),
              hex(bytes{0x00, 0x07, 0x00, 0x10, 0x11, 0x22, 0x33, 0x44, 0xe8, 0xfe,
                        0x6f, 0x80, 0x80, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00}));
}

TEST(tlv_follow_up, stateful_ptp) {
    tlv_reply_info info = hw_info();
    info.follow_up_mode = ts_method::sw_local;
    const tlv_reply_ctx ctx{&info, ts_format::ptp, 37, true};
    const bytes in = tlv(0x00, 7, bytes(16, 0));
    EXPECT_EQ(hex(reflect_area(in, ctx)),
              hex(bytes{0x00, 0x07, 0x00, 0x10, 0x11, 0x22, 0x33, 0x44, 0x65, 0x53,
                        0xf1, 0x25, 0x1d, 0xcd, 0x65, 0x00, 0x02, 0x00, 0x00, 0x00}));
}

// RFC 8972 §4.7: a stateless Session-Reflector zeroes Sequence Number and Follow-up Timestamp;
// so does one that knows no earlier departure (Timestamp Mode then 0 too).
TEST(tlv_follow_up, zeros_when_stateless_or_unknown) {
    const bytes in = tlv(0x80, 7, pattern(16, 0x52));
    const bytes zeros = {0x00, 0x07, 0x00, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    tlv_reply_info info = hw_info();
    info.stateful = false; // the dataplane says stateless
    EXPECT_EQ(hex(reflect_area(in, {&info, ts_format::ntp, 37, true})), hex(zeros));
    info = hw_info();
    // The reply itself stateless (reflect_params::stateful false, e.g. a full session table).
    EXPECT_EQ(hex(reflect_area(in, {&info, ts_format::ntp, 37, false})), hex(zeros));
    info.follow_up_ns = 0; // first reply of the session
    EXPECT_EQ(hex(reflect_area(in, {&info, ts_format::ptp, 37, true})), hex(zeros));
    EXPECT_EQ(hex(reflect_area(in, {nullptr, ts_format::ntp, 37, true})), hex(zeros));
}

// Follow-Up at an odd offset: its 16 octets straddle lanes; the sums still patch the checksum.
TEST(tlv_follow_up, at_odd_offset) {
    const tlv_reply_info info = hw_info();
    const bytes in = cat({tlv(0x80, 1, {0x77}), tlv(0x80, 7, pattern(16, 0x52))});
    const bytes out = reflect_area(in, {&info, ts_format::ntp, 37, true});
    EXPECT_EQ(hex(out), hex(bytes{0x00, 0x01, 0x00, 0x01, 0x77, 0x00, 0x07, 0x00, 0x10,
                                  0x11, 0x22, 0x33, 0x44, 0xe8, 0xfe, 0x6f, 0x80, 0x80,
                                  0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00}));
}

// Whole STAMP frames with tlv_info: Extra Padding + Timestamp Information + an unknown type +
// HMAC (not implemented here: U) + Follow-Up, in NTP and PTP replies, stateful and stateless;
// IPv4 with a checksum (patched with the sums), IPv4 without one (computed whole), IPv6. The
// reply's UDP checksum is recomputed from scratch by reply_check.hpp.
TEST(tlv_in_frame, chain_with_reply_info) {
    static const tlv_reply_info info = hw_info();
    const bytes chain_in = cat({tlv(0x80, 1, pattern(5, 0x11)), tlv(0x80, 3, bytes(4, 0)),
                                tlv(0x80, 200, pattern(8, 0x77)), tlv(0x80, 8, pattern(16, 0x31)),
                                tlv(0x80, 7, bytes(16, 0))});
    const bytes head = cat({tlv(0, 1, pattern(5, 0x11)), tlv(0, 3, {0x02, 0x01, 0x02, 0x01}),
                            tlv(0x80, 200, pattern(8, 0x77)), tlv(0x80, 8, pattern(16, 0x31))});
    const bytes fu_ntp = {0x00, 0x07, 0x00, 0x10, 0x11, 0x22, 0x33, 0x44, 0xe8, 0xfe,
                          0x6f, 0x80, 0x80, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00};
    const bytes fu_ptp = {0x00, 0x07, 0x00, 0x10, 0x11, 0x22, 0x33, 0x44, 0x65, 0x53,
                          0xf1, 0x25, 0x1d, 0xcd, 0x65, 0x00, 0x01, 0x00, 0x00, 0x00};
    bytes fu_zero(20, 0);
    fu_zero[1] = 0x07;
    fu_zero[3] = 0x10;
    for (int ptp = 0; ptp < 2; ++ptp) {
        for (int stateful = 0; stateful < 2; ++stateful) {
            for (int variant = 0; variant < 3; ++variant) {
                reflect_row row;
                row.name =
                        std::string(ptp ? "ptp" : "ntp") + (stateful ? "_stateful" : "_stateless");
                row.rfc = "RFC 8972 §4.3, §4.7";
                row.spec = variant == 2 ? v6_spec() : v4_spec();
                row.spec.csum = variant == 1 ? udp_csum::zero : udp_csum::good;
                row.spec.payload = stamp_request(sender_seq, sender_ts(ptp != 0),
                                                 ptp ? 0xc001 : 0x8001, ssid, chain_in);
                row.policy.mode = test_mode::stamp;
                row.params.stateful = stateful != 0;
                row.params.tlv_info = &info;
                row.tlv_area = cat({head, stateful ? (ptp ? fu_ptp : fu_ntp) : fu_zero});
                run_row(row);
            }
        }
    }
}

} // namespace
