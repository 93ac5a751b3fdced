// The STAMP TLV handlers of RFC 8972 §4.2-§4.7 and RFC 9503 §3, §4 (issue 16): one table per
// TLV, request TLV octets -> reply TLV octets, Flags and what the TLV asks of the reply
// (tlv_result), each row citing its section; then whole frames through reflect(), whose IPv4
// header and UDP checksums are recomputed from scratch (reply_check.hpp).
#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
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

// A sub-TLV (RFC 8972 §4.2.1, RFC 9503 §4.1): the same header as a TLV.
bytes sub(uint8_t flags, uint8_t type, const bytes& value, int length = -1) {
    return tlv(flags, type, value, length);
}

bytes z(std::size_t n) {
    return bytes(n, 0);
}

// The request as received, for the context (frame_spec's defaults: 198.18.0.1:50000 ->
// 198.18.0.2:862, sender MAC 02:00:00:00:00:01; IPv6 2001:2::1 -> 2001:2::2).
const bytes v4_src = {198, 18, 0, 1};
const bytes v4_dst = {198, 18, 0, 2};
const bytes v4_other = {198, 18, 0, 9};  // one of ours, not the request's destination
const bytes v4_return = {198, 18, 7, 7}; // a Return Address the ACL admits
const bytes v6_src = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const bytes v6_dst = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
const bytes v6_other = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
const bytes v6_return = {0x20, 0x01, 0, 2, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
const bytes mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr uint16_t sport = 50000; // 0xc350
constexpr uint16_t dport = 862;   // 0x035e

// The address hooks (tlv_address_policy): "ours" is v4_other / v6_other, a reply may go to
// v4_return / v6_return and to the special-purpose addresses (reflect_tlvs must refuse those
// itself), never elsewhere.
struct addr_book {
    bool own_answer = true;    // is_own for v*_other
    bool return_answer = true; // may_return_to for v*_return and special-purpose ones
    mutable int own_calls = 0;
};
bool is_own(const void* self, uint8_t ver, const uint8_t* a) noexcept {
    const auto* b = static_cast<const addr_book*>(self);
    ++b->own_calls;
    const bytes& o = ver == 4 ? v4_other : v6_other;
    return b->own_answer && std::equal(o.begin(), o.end(), a);
}
bool may_return_to(const void* self, uint8_t ver, const uint8_t* a) noexcept {
    const auto* b = static_cast<const addr_book*>(self);
    const bytes& r = ver == 4 ? v4_return : v6_return;
    const bool special =
            ver == 4 ? (a[0] == 127 || a[0] == 0 || a[0] >= 224)
                     : (a[0] == 0xff || std::all_of(a, a + 15, [](uint8_t c) { return c == 0; }));
    return b->return_answer && (special || std::equal(r.begin(), r.end(), a));
}

struct ctx_holder {
    tlv_reply_info info;
    addr_book book;
    tlv_address_policy pol;
    tlv_reply_ctx ctx;
    explicit ctx_holder(int ver = 4) {
        info.stateful = true;
        info.rx_count = 7;
        info.tx_count = 8;
        pol.self = &book;
        pol.is_own = is_own;
        pol.may_return_to = may_return_to;
        ctx.info = &info;
        ctx.stateful = true;
        ctx.ip_version = static_cast<uint8_t>(ver);
        ctx.src_addr = ver == 4 ? v4_src.data() : v6_src.data();
        ctx.dst_addr = ver == 4 ? v4_dst.data() : v6_dst.data();
        ctx.src_mac = mac.data();
        ctx.src_port = sport;
        ctx.dst_port = dport;
        ctx.received_ds = (10 << 2) | 1; // AF11, ECT(1)
        ctx.addresses = &pol;
        ctx.return_address = true; // the rows test the rest of the rule
    }
    ctx_holder(const ctx_holder&) = delete;
};

struct effects {
    int reply_dscp = -1;
    bool no_reply = false;
    uint16_t return_address_at = 0;
    uint16_t reply_source_at = 0;
    uint16_t unrecognized = 0;
    bool malformed = false;
};

struct row {
    std::string name;
    std::string rfc;
    bytes in;
    bytes out;
    effects want{};
    std::function<void(ctx_holder&)> setup{};
    int ip_version = 4;
};

std::ostream& operator<<(std::ostream& os, const row& r) {
    return os << r.name << " [" << r.rfc << "]";
}

std::string row_name(const ::testing::TestParamInfo<row>& i) {
    return i.param.name;
}

// reflect_tlvs() on the bare area in a faulting buffer: octets, Flags, effects, and the sums
// that patch the UDP checksum.
void run(const row& r) {
    ctx_holder h(r.ip_version);
    if (r.setup) {
        r.setup(h);
    }
    guarded_buffer g(r.in);
    const tlv_result res = reflect_tlvs(g.span(), h.ctx);
    const bytes got = g.copy(g.size());
    EXPECT_EQ(hex(got), hex(r.out));
    EXPECT_TRUE(
            ones_eq(csum_add(csum_sub(ref_sum(r.in), res.sum_before), res.sum_after), ref_sum(got)))
            << "sum_before/sum_after";
    EXPECT_EQ(res.reply_dscp, r.want.reply_dscp) << "reply_dscp";
    EXPECT_EQ(res.no_reply, r.want.no_reply) << "no_reply";
    EXPECT_EQ(res.return_address_at, r.want.return_address_at) << "return_address_at";
    EXPECT_EQ(res.reply_source_at, r.want.reply_source_at) << "reply_source_at";
    EXPECT_EQ(res.unrecognized, r.want.unrecognized) << "unrecognized";
    EXPECT_EQ(res.malformed, r.want.malformed) << "malformed";
    EXPECT_EQ(res.integrity, 0);
}

class tlv_handler_rows : public ::testing::TestWithParam<row> {};
TEST_P(tlv_handler_rows, area) {
    run(GetParam());
}

// ---- Location (RFC 8972 §4.2, sub-TLVs §4.2.1, answers §4.2.2) -------------------------------

const bytes ports = {0x03, 0x5e, 0xc3, 0x50}; // Destination Port 862 (ours), Source Port 50000
const bytes mac_answer = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00};

std::vector<row> location_rows() {
    const auto loc = [](uint8_t flags, const bytes& v) { return tlv(flags, 2, v); };
    std::vector<row> v = {
            {"loc_ports_only", "RFC 8972 §4.2: Destination Port, Source Port as received",
             loc(0x80, pattern(4, 0x11)), loc(0, ports)},
            {"loc_source_mac_request", "§4.2.1 type 1 -> §4.2.2 Source EUI-48 (2)",
             loc(0x80, cat({z(4), sub(0x80, 1, z(8))})),
             loc(0, cat({ports, sub(0, 2, mac_answer)}))},
            {"loc_source_eui48_request", "§4.2.2 type 2 asked: answered as type 2",
             loc(0, cat({z(4), sub(0x80, 2, pattern(8, 3))})),
             loc(0, cat({ports, sub(0, 2, mac_answer)}))},
            {"loc_source_eui64_request", "§4.2.2 type 3 asked: answered as type 2",
             loc(0, cat({z(4), sub(0xff, 3, pattern(8, 3))})),
             loc(0, cat({ports, sub(0, 2, mac_answer)}))},
            {"loc_destination_ip_v4", "§4.2.1 type 4 -> Destination IPv4 (5): 4 + 12 MBZ",
             loc(0x80, cat({z(4), sub(0x80, 4, z(16))})),
             loc(0, cat({ports, sub(0, 5, cat({v4_dst, z(12)}))}))},
            {"loc_destination_ipv4_asked", "§4.2.2 type 5 asked",
             loc(0x80, cat({z(4), sub(0x80, 5, pattern(16, 9))})),
             loc(0, cat({ports, sub(0, 5, cat({v4_dst, z(12)}))}))},
            {"loc_destination_ipv6_asked_v4_packet", "§4.2.2 type 6 asked of an IPv4 packet: 5",
             loc(0x80, cat({z(4), sub(0x80, 6, pattern(16, 9))})),
             loc(0, cat({ports, sub(0, 5, cat({v4_dst, z(12)}))}))},
            {"loc_source_ip_v4", "§4.2.1 type 7 -> Source IPv4 (8)",
             loc(0x80, cat({z(4), sub(0x80, 7, z(16))})),
             loc(0, cat({ports, sub(0, 8, cat({v4_src, z(12)}))}))},
            {"loc_source_ipv4_asked", "§4.2.2 type 8 asked",
             loc(0x80, cat({z(4), sub(0x80, 8, z(16))})),
             loc(0, cat({ports, sub(0, 8, cat({v4_src, z(12)}))}))},
            {"loc_source_ipv6_asked_v4_packet", "§4.2.2 type 9 asked of an IPv4 packet: 8",
             loc(0x80, cat({z(4), sub(0x80, 9, z(16))})),
             loc(0, cat({ports, sub(0, 8, cat({v4_src, z(12)}))}))},
            {"loc_all_three", "§4.2.1: MAC, destination, source in one TLV",
             loc(0x80, cat({z(4), sub(0x80, 1, z(8)), sub(0x80, 4, z(16)), sub(0x80, 7, z(16))})),
             loc(0, cat({ports, sub(0, 2, mac_answer), sub(0, 5, cat({v4_dst, z(12)})),
                         sub(0, 8, cat({v4_src, z(12)}))}))},
            {"loc_unknown_subtype_u_walk_goes_on", "§4.2.1 + RFC 8972 §4: unknown sub-TLV U",
             loc(0x80, cat({z(4), sub(0x00, 10, pattern(3, 5)), sub(0x80, 7, z(16))})),
             loc(0, cat({ports, sub(0x80, 10, pattern(3, 5)), sub(0, 8, cat({v4_src, z(12)}))}))},
            {"loc_subtype_0_u", "§5.3 sub-type 0 reserved: U",
             loc(0x80, cat({z(4), sub(0x00, 0, z(0))})), loc(0, cat({ports, sub(0x80, 0, z(0))}))},
            {"loc_mac_wrong_length_m_stops", "§4.2.1 Length 8 for types 1-3: M, walk stops",
             loc(0x80, cat({z(4), sub(0x80, 1, z(16)), sub(0x80, 7, z(16))})),
             loc(0, cat({ports, sub(0x40, 1, z(16)), sub(0x80, 7, z(16))}))},
            {"loc_ip_wrong_length_m_stops", "§4.2.1 Length 16 for types 4-9: M, walk stops",
             loc(0x80, cat({z(4), sub(0x80, 7, z(8)), sub(0x80, 1, z(8))})),
             loc(0, cat({ports, sub(0x40, 7, z(8)), sub(0x80, 1, z(8))}))},
            {"loc_sub_length_past_value_m", "§4.2.1: sub-TLV past its parent's Value: M",
             loc(0x80, cat({z(4), sub(0x80, 1, z(4), 8)})),
             loc(0, cat({ports, sub(0x40, 1, z(4), 8)}))},
            {"loc_sub_unknown_past_value_u_m", "§4.2.1: unknown type and past the end: U and M",
             loc(0x80, cat({z(4), sub(0x00, 77, z(2), 9)})),
             loc(0, cat({ports, sub(0xc0, 77, z(2), 9)}))},
            {"loc_sub_header_cut_1", "§4.2.1: 1 octet of a sub-TLV header: M",
             loc(0x80, cat({z(4), sub(0x80, 1, z(8)), {0x80}})),
             loc(0, cat({ports, sub(0, 2, mac_answer), {0x40}}))},
            {"loc_sub_header_cut_3", "§4.2.1: 3 octets of a sub-TLV header: M (Type known)",
             loc(0x80, cat({z(4), {0x80, 0x07, 0x00}})), loc(0, cat({ports, {0x40, 0x07, 0x00}}))},
            {"loc_length_3_m",
             "§4.2: Length < 4 malformed, processing stops",
             cat({tlv(0x80, 2, z(3)), tlv(0x80, 1, z(2))}),
             cat({tlv(0x40, 2, z(3)), tlv(0x80, 1, z(2))}),
             {.malformed = true}},
    };
    // Policy (§4.2.2 "MAY leave some fields unreported by filling them with zeroes").
    const bytes all_in =
            loc(0x80, cat({z(4), sub(0x80, 1, z(8)), sub(0x80, 4, z(16)), sub(0x80, 7, z(16))}));
    v.push_back({"loc_report_nothing",
                 "§4.2.2: unreported fields zeros; MAC as zeroed EUI-64",
                 all_in,
                 loc(0, cat({z(4), sub(0, 3, z(8)), sub(0, 5, z(16)), sub(0, 8, z(16))})),
                 {},
                 [](ctx_holder& h) { h.ctx.location_report = 0; }});
    v.push_back({"loc_report_ports_only",
                 "§4.2.2 location = [\"ports\"]",
                 all_in,
                 loc(0, cat({ports, sub(0, 3, z(8)), sub(0, 5, z(16)), sub(0, 8, z(16))})),
                 {},
                 [](ctx_holder& h) { h.ctx.location_report = location_report::ports; }});
    v.push_back({"loc_report_mac_addresses",
                 "§4.2.2 location = [\"addresses\", \"mac\"]",
                 all_in,
                 loc(0, cat({z(4), sub(0, 2, mac_answer), sub(0, 5, cat({v4_dst, z(12)})),
                             sub(0, 8, cat({v4_src, z(12)}))})),
                 {},
                 [](ctx_holder& h) {
                     h.ctx.location_report = location_report::addresses | location_report::mac;
                 }});
    v.push_back({"loc_no_mac_known",
                 "§4.2.2: no Source MAC: zeroed Source EUI-64 (3)",
                 loc(0x80, cat({z(4), sub(0x80, 1, z(8))})),
                 loc(0, cat({ports, sub(0, 3, z(8))})),
                 {},
                 [](ctx_holder& h) { h.ctx.src_mac = nullptr; }});
    v.push_back({"loc_v6_destination_and_source",
                 "§4.2.2: Destination IPv6 (6), Source IPv6 (9)",
                 loc(0x80, cat({z(4), sub(0x80, 4, z(16)), sub(0x80, 8, z(16))})),
                 loc(0, cat({ports, sub(0, 6, v6_dst), sub(0, 9, v6_src)})),
                 {},
                 {},
                 6});
    v.push_back({"loc_v6_addresses_unreported",
                 "§4.2.2: zeros with the family's types",
                 loc(0x80, cat({z(4), sub(0x80, 4, pattern(16, 1)), sub(0x80, 7, pattern(16, 2))})),
                 loc(0, cat({ports, sub(0, 6, z(16)), sub(0, 9, z(16))})),
                 {},
                 [](ctx_holder& h) { h.ctx.location_report = location_report::ports; },
                 6});
    return v;
}
INSTANTIATE_TEST_SUITE_P(location, tlv_handler_rows, ::testing::ValuesIn(location_rows()),
                         row_name);

// ---- Class of Service (RFC 8972 §4.4 + verified erratum 8199) --------------------------------
// DSCP1(6) DSCP2(6) ECN(2) RP(2) Reserved(16). Received DS: AF11 (10) with ECT(1).

bytes cos_value(unsigned dscp1, unsigned dscp2, unsigned ecn, unsigned rp, uint16_t reserved) {
    const unsigned w = dscp1 << 10 | dscp2 << 4 | ecn << 2 | rp;
    return {static_cast<uint8_t>(w >> 8), static_cast<uint8_t>(w),
            static_cast<uint8_t>(reserved >> 8), static_cast<uint8_t>(reserved)};
}

std::vector<row> cos_rows() {
    const auto cos = [](uint8_t f, const bytes& v) { return tlv(f, 4, v); };
    return {
            {"cos_permitted",
             "§4.4: DSCP1 permitted -> reply DSCP, RP 0, DSCP2/ECN received",
             cos(0x80, cos_value(46, 63, 3, 3, 0xffff)),
             cos(0, cos_value(46, 10, 1, 0, 0)),
             {.reply_dscp = 46}},
            {"cos_refused",
             "§4.4: DSCP1 not permitted -> RP 1, DS rule of the context",
             cos(0x80, cos_value(46, 0, 0, 0, 0)),
             cos(0, cos_value(46, 10, 1, 1, 0)),
             {},
             [](ctx_holder& h) { h.ctx.cos_allowed = ~(uint64_t{1} << 46); }},
            {"cos_none_allowed",
             "§4.4 cos-allowed-dscp = []: RP 1 always",
             cos(0x80, cos_value(0, 0, 0, 0, 0x1234)),
             cos(0, cos_value(0, 10, 1, 1, 0)),
             {},
             [](ctx_holder& h) { h.ctx.cos_allowed = 0; }},
            {"cos_only_63_allowed",
             "§4.4: bit 63 of cos_allowed is DSCP 63",
             cos(0x80, cos_value(63, 1, 2, 2, 1)),
             cos(0, cos_value(63, 10, 1, 0, 0)),
             {.reply_dscp = 63},
             [](ctx_holder& h) { h.ctx.cos_allowed = uint64_t{1} << 63; }},
            {"cos_ce_received_copied",
             "erratum 8199: ECN field = the received ECN, CE too",
             cos(0x80, cos_value(8, 0, 0, 0, 0)),
             cos(0, cos_value(8, 40, 3, 0, 0)),
             {.reply_dscp = 8},
             [](ctx_holder& h) { h.ctx.received_ds = (40 << 2) | 3; }},
            {"cos_two_first_permitted_decides",
             "§4.4: the first permitted CoS TLV decides; a later one asking for another DSCP "
             "did not get it: RP 1",
             cat({cos(0x80, cos_value(5, 0, 0, 0, 0)), cos(0x80, cos_value(7, 0, 0, 0, 0)),
                  cos(0x80, cos_value(9, 0, 0, 0, 0)), cos(0x80, cos_value(7, 0, 0, 0, 0))}),
             cat({cos(0, cos_value(5, 10, 1, 1, 0)), cos(0, cos_value(7, 10, 1, 0, 0)),
                  cos(0, cos_value(9, 10, 1, 1, 0)), cos(0, cos_value(7, 10, 1, 0, 0))}),
             {.reply_dscp = 7},
             [](ctx_holder& h) { h.ctx.cos_allowed = ~(uint64_t{1} << 5); }},
            {"cos_length_5_m",
             "§4.4: Length 4 only, else malformed",
             cos(0x80, z(5)),
             cos(0x40, z(5)),
             {.malformed = true}},
            {"cos_length_0_m", "§4.4", cos(0x80, z(0)), cos(0x40, z(0)), {.malformed = true}},
    };
}
INSTANTIATE_TEST_SUITE_P(class_of_service, tlv_handler_rows, ::testing::ValuesIn(cos_rows()),
                         row_name);

// ---- Direct Measurement (RFC 8972 §4.5) ------------------------------------------------------

std::vector<row> dm_rows() {
    const bytes in = {0x01, 0x02, 0x03, 0x04, 0xaa, 0xbb, 0xcc, 0xdd, 0x11, 0x22, 0x33, 0x44};
    const bytes stateful = {0x01, 0x02, 0x03, 0x04, 0, 0, 0, 7, 0, 0, 0, 8};
    const bytes zeros = {0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0, 0, 0, 0, 0};
    return {
            {"dm_stateful", "§4.5: S_TxC kept, R_RxC/R_TxC the session's counts", tlv(0x80, 5, in),
             tlv(0, 5, stateful)},
            {"dm_stateless_reply",
             "§4.5 + conf: stateless: zeros",
             tlv(0x80, 5, in),
             tlv(0, 5, zeros),
             {},
             [](ctx_holder& h) { h.ctx.stateful = false; }},
            {"dm_stateless_info",
             "§4.5: the dataplane says stateless: zeros",
             tlv(0x80, 5, in),
             tlv(0, 5, zeros),
             {},
             [](ctx_holder& h) { h.info.stateful = false; }},
            {"dm_no_info",
             "§4.5: nothing known: zeros",
             tlv(0x80, 5, in),
             tlv(0, 5, zeros),
             {},
             [](ctx_holder& h) { h.ctx.info = nullptr; }},
            {"dm_length_8_m",
             "§4.5: Length 12 only",
             tlv(0x80, 5, z(8)),
             tlv(0x40, 5, z(8)),
             {.malformed = true}},
    };
}
INSTANTIATE_TEST_SUITE_P(direct_measurement, tlv_handler_rows, ::testing::ValuesIn(dm_rows()),
                         row_name);

// ---- Access Report (RFC 8972 §4.6) -------------------------------------------------------------

std::vector<row> ar_rows() {
    const auto ar = [](uint8_t f, const bytes& v) { return tlv(f, 6, v); };
    return {
            {"ar_id_1_3gpp", "§4.6: ID 1 and Return Code echoed, Resv/Reserved zeroed",
             ar(0x80, {0x1f, 0x05, 0xaa, 0xbb}), ar(0, {0x10, 0x05, 0x00, 0x00})},
            {"ar_id_2_non_3gpp", "§4.6: ID 2", ar(0x80, {0x2a, 0xff, 0x01, 0x00}),
             ar(0, {0x20, 0xff, 0x00, 0x00})},
            {"ar_id_0_u",
             "§4.6: another ID is invalid: returned as received with U",
             ar(0x00, {0x0f, 0x05, 0xaa, 0xbb}),
             ar(0x80, {0x0f, 0x05, 0xaa, 0xbb}),
             {.unrecognized = 1}},
            {"ar_id_3_u",
             "§4.6",
             ar(0x00, {0x30, 0x00, 0x00, 0x00}),
             ar(0x80, {0x30, 0x00, 0x00, 0x00}),
             {.unrecognized = 1}},
            {"ar_id_15_u",
             "§4.6",
             ar(0x40, {0xf1, 0x02, 0x03, 0x04}),
             ar(0x80, {0xf1, 0x02, 0x03, 0x04}),
             {.unrecognized = 1}},
            {"ar_length_5_m",
             "§4.6: Length 4 only",
             ar(0x80, z(5)),
             ar(0x40, z(5)),
             {.malformed = true}},
    };
}
INSTANTIATE_TEST_SUITE_P(access_report, tlv_handler_rows, ::testing::ValuesIn(ar_rows()), row_name);

// ---- Destination Node Address (RFC 9503 §3)
// ------------------------------------------------------

std::vector<row> dna_rows() {
    const auto dna = [](uint8_t f, const bytes& v) { return tlv(f, 9, v); };
    return {
            {"dna_v4_request_destination", "RFC 9503 §3: the request's destination: U 0",
             dna(0x80, v4_dst), dna(0, v4_dst)},
            {"dna_v4_own_other",
             "RFC 9503 §3: ours, not the destination: reply from it",
             dna(0x80, v4_other),
             dna(0, v4_other),
             {.reply_source_at = 4 + 1}},
            {"dna_v4_own_at_odd_offset",
             "RFC 9503 §3: offset after an odd Extra Padding",
             cat({tlv(0x80, 1, {0x55}), dna(0x80, v4_other)}),
             cat({tlv(0, 1, {0x55}), dna(0, v4_other)}),
             {.reply_source_at = 5 + 4 + 1}},
            {"dna_v4_not_ours",
             "RFC 9503 §3: not the intended destination: U",
             dna(0x80, v4_return),
             dna(0x80, v4_return),
             {.unrecognized = 1}},
            {"dna_v4_is_own_says_no",
             "RFC 9503 §3: tlv_address_policy::is_own false",
             dna(0x80, v4_other),
             dna(0x80, v4_other),
             {.unrecognized = 1},
             [](ctx_holder& h) { h.book.own_answer = false; }},
            {"dna_v4_no_policy",
             "RFC 9503 §3: no hooks: only the destination is ours",
             dna(0x80, v4_other),
             dna(0x80, v4_other),
             {.unrecognized = 1},
             [](ctx_holder& h) { h.ctx.addresses = nullptr; }},
            {"dna_v6_on_v4_u",
             "RFC 9503 §3: the other family: U",
             dna(0x80, v6_dst),
             dna(0x80, v6_dst),
             {.unrecognized = 1}},
            {"dna_v6_destination", "RFC 9503 §3", dna(0x80, v6_dst), dna(0, v6_dst), {}, {}, 6},
            {"dna_v6_own_other",
             "RFC 9503 §3",
             dna(0x80, v6_other),
             dna(0, v6_other),
             {.reply_source_at = 5},
             {},
             6},
            {"dna_v4_on_v6_u",
             "RFC 9503 §3",
             dna(0x80, v4_dst),
             dna(0x80, v4_dst),
             {.unrecognized = 1},
             {},
             6},
            {"dna_two_first_own_decides",
             "RFC 9503 §3: the first one ours and not the dst",
             cat({dna(0x80, v4_dst), dna(0x80, v4_other), dna(0x80, v4_other)}),
             cat({dna(0, v4_dst), dna(0, v4_other), dna(0, v4_other)}),
             {.reply_source_at = 8 + 4 + 1}},
            {"dna_length_8_m",
             "RFC 9503 §3: Length 4 or 16",
             dna(0x80, z(8)),
             dna(0x40, z(8)),
             {.malformed = true}},
            {"dna_length_0_m",
             "RFC 9503 §3",
             dna(0x80, z(0)),
             dna(0x40, z(0)),
             {.malformed = true}},
    };
}
INSTANTIATE_TEST_SUITE_P(destination_node_address, tlv_handler_rows,
                         ::testing::ValuesIn(dna_rows()), row_name);

// ---- Return Path (RFC 9503 §4, sub-TLVs §4.1) --------------------------------------------------

const bytes no_reply = {0, 0, 0, 0};  // §4.1.1 Control Code: 0x1 clear
const bytes same_link = {0, 0, 0, 1}; // 0x1 set
const bytes no_reply_rsv = {0xff, 0xff, 0xff, 0xfe};

std::vector<row> rp_rows() {
    const auto rp = [](uint8_t f, const bytes& v) { return tlv(f, 10, v); };
    // Return Address sub-TLV Value offset in a Return Path TLV that starts the area: TLV header
    // 4 + sub-TLV header 4.
    constexpr uint16_t ra_at = 8 + 1;
    const auto v4_refused = [rp](const bytes& a, std::function<void(ctx_holder&)> setup = {}) {
        return row{"",   "", rp(0x80, sub(0x80, 2, a)), rp(0x80, sub(0, 2, a)), {.unrecognized = 1},
                   setup};
    };
    std::vector<row> v = {
            {"rp_no_reply",
             "§4.1.1: Reply Requested clear: no reply",
             rp(0x80, sub(0x80, 1, no_reply)),
             rp(0, sub(0, 1, no_reply)),
             {.no_reply = true}},
            {"rp_no_reply_reserved_bits",
             "§4.1.1: reserved bits ignored",
             rp(0x80, sub(0x80, 1, no_reply_rsv)),
             rp(0, sub(0, 1, no_reply_rsv)),
             {.no_reply = true}},
            {"rp_same_link", "§4.1.1: Reply Requested on the Same Link: as always",
             rp(0x80, sub(0x80, 1, same_link)), rp(0, sub(0, 1, same_link))},
            {"rp_two_control_codes_first_same_link", "§4.1.1: the first Control Code wins",
             rp(0x80, cat({sub(0x80, 1, same_link), sub(0x80, 1, no_reply)})),
             rp(0, cat({sub(0, 1, same_link), sub(0, 1, no_reply)}))},
            {"rp_two_control_codes_first_no_reply",
             "§4.1.1: the first Control Code wins",
             rp(0x80, cat({sub(0x80, 1, no_reply), sub(0x80, 1, same_link)})),
             rp(0, cat({sub(0, 1, no_reply), sub(0, 1, same_link)})),
             {.no_reply = true}},
            {"rp_control_code_and_return_address", "§4.1: with a Control Code the rest ignored",
             rp(0x80, cat({sub(0x80, 2, v4_return), sub(0x80, 1, same_link)})),
             rp(0, cat({sub(0, 2, v4_return), sub(0, 1, same_link)}))},
            {"rp_control_code_wrong_length_m", "§4.1.1: Length 4 only: M on the sub-TLV",
             rp(0x80, cat({sub(0x80, 1, z(8)), sub(0x80, 1, no_reply)})),
             rp(0, cat({sub(0x40, 1, z(8)), sub(0x80, 1, no_reply)}))},
            {"rp_return_address_permitted",
             "§4.1.2: the reply goes to the Return Address",
             rp(0x80, sub(0x80, 2, v4_return)),
             rp(0, sub(0, 2, v4_return)),
             {.return_address_at = ra_at}},
            {"rp_return_address_v6_permitted",
             "§4.1.2",
             rp(0x80, sub(0x80, 2, v6_return)),
             rp(0, sub(0, 2, v6_return)),
             {.return_address_at = ra_at},
             {},
             6},
            {"rp_two_return_addresses_first",
             "§4.1.2: the first Return Address",
             rp(0x80, cat({sub(0x80, 2, v4_return), sub(0x80, 2, v4_other)})),
             rp(0, cat({sub(0, 2, v4_return), sub(0, 2, v4_other)})),
             {.return_address_at = ra_at}},
            {"rp_return_address_wrong_length_m", "§4.1.2: Length 4 or 16: M, nothing done",
             rp(0x80, sub(0x80, 2, z(8))), rp(0, sub(0x40, 2, z(8)))},
            {"rp_sr_mpls_alone_u",
             "§4.1.3: SR-MPLS Label Stack not supported: U and U",
             rp(0x80, sub(0x00, 3, pattern(8, 1))),
             rp(0x80, sub(0x80, 3, pattern(8, 1))),
             {.unrecognized = 1}},
            {"rp_srv6_alone_u",
             "§4.1.3: SRv6 Segment List not supported: U and U",
             rp(0x80, sub(0x00, 4, pattern(16, 1))),
             rp(0x80, sub(0x80, 4, pattern(16, 1))),
             {.unrecognized = 1}},
            {"rp_srv6_with_return_address",
             "§4.1.3 + §4.1.2: usable Return Address: TLV U 0",
             rp(0x80, cat({sub(0x00, 4, pattern(16, 1)), sub(0x80, 2, v4_return)})),
             rp(0, cat({sub(0x80, 4, pattern(16, 1)), sub(0, 2, v4_return)})),
             {.return_address_at = 4 + 20 + 4 + 1}},
            {"rp_sr_mpls_with_refused_return_address",
             "§4.1.3 + §4.1.2: refused: U",
             rp(0x80, cat({sub(0x80, 2, v4_other), sub(0x00, 3, pattern(4, 1))})),
             rp(0x80, cat({sub(0, 2, v4_other), sub(0x80, 3, pattern(4, 1))})),
             {.unrecognized = 1}},
            {"rp_unknown_subtype_u", "§4.1 + RFC 8972 §4: unknown sub-TLV U, TLV understood",
             rp(0x80, sub(0x00, 9, z(2))), rp(0, sub(0x80, 9, z(2)))},
            {"rp_sub_past_end_m",
             "§4.1: sub-TLV past the Value: M",
             rp(0x80, cat({sub(0x80, 1, no_reply), sub(0x80, 2, z(2), 4)})),
             rp(0, cat({sub(0, 1, no_reply), sub(0x40, 2, z(2), 4)})),
             {.no_reply = true}},
            {"rp_sub_header_cut",
             "§4.1: sub-TLV header cut off: M",
             rp(0x80, cat({sub(0x80, 2, v4_return), {0x80, 0x01}})),
             rp(0, cat({sub(0, 2, v4_return), {0x40, 0x01}})),
             {.return_address_at = ra_at}},
            {"rp_length_3_m",
             "§4: at least one sub-TLV header",
             rp(0x80, z(3)),
             rp(0x40, z(3)),
             {.malformed = true}},
            {"rp_two_tlvs_only_first",
             "§4: only the first Return Path TLV is processed",
             cat({rp(0x80, sub(0x80, 2, v4_return)), rp(0x80, sub(0x80, 1, no_reply))}),
             cat({rp(0, sub(0, 2, v4_return)), rp(0, sub(0x80, 1, no_reply))}),
             {.return_address_at = ra_at}},
            {"rp_two_tlvs_first_refused",
             "§4: the second is not looked at",
             cat({rp(0x80, sub(0x80, 3, z(4))), rp(0x80, sub(0x80, 2, v4_return))}),
             cat({rp(0x80, sub(0x80, 3, z(4))), rp(0, sub(0x80, 2, v4_return))}),
             {.unrecognized = 1}},
    };
    const struct {
        const char* name;
        bytes in;
        std::function<void(ctx_holder&)> setup;
        int ver;
    } refused[] = {
            {"rp_return_address_acl_refused", v4_return,
             [](ctx_holder& h) { h.book.return_answer = false; }, 4},
            {"rp_return_address_not_in_acl", v4_other, {}, 4},
            {"rp_return_address_policy_off", v4_return,
             [](ctx_holder& h) { h.ctx.return_address = false; }, 4},
            {"rp_return_address_no_hooks", v4_return,
             [](ctx_holder& h) { h.ctx.addresses = nullptr; }, 4},
            {"rp_return_address_other_family_v6_on_v4", v6_return, {}, 4},
            {"rp_return_address_other_family_v4_on_v6", v4_return, {}, 6},
            {"rp_return_address_loopback", {127, 0, 0, 1}, {}, 4},
            {"rp_return_address_unspecified", {0, 0, 0, 0}, {}, 4},
            {"rp_return_address_broadcast", {255, 255, 255, 255}, {}, 4},
            {"rp_return_address_multicast", {224, 0, 0, 1}, {}, 4},
            {"rp_return_address_v6_loopback",
             {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
             {},
             6},
            {"rp_return_address_v6_multicast",
             {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
             {},
             6},
            // The reply's destination port is the request's source port: a well-known one or
            // the reflector's own could be another reflector's (a ping-pong loop).
            {"rp_return_address_source_port_862", v4_return,
             [](ctx_holder& h) { h.ctx.src_port = 862; }, 4},
            {"rp_return_address_source_port_1023", v4_return,
             [](ctx_holder& h) { h.ctx.src_port = 1023; }, 4},
            {"rp_return_address_source_port_is_ours", v4_return,
             [](ctx_holder& h) {
                 h.ctx.src_port = 5000;
                 h.ctx.dst_port = 5000;
             },
             4},
    };
    for (const auto& r : refused) {
        row x = v4_refused(r.in, r.setup);
        x.name = r.name;
        x.rfc = "RFC 9503 §4.1.2: refused (policy, family, special-purpose): TLV U, reply to "
                "source";
        x.ip_version = r.ver;
        v.push_back(x);
    }
    return v;
}
INSTANTIATE_TEST_SUITE_P(return_path, tlv_handler_rows, ::testing::ValuesIn(rp_rows()), row_name);

// RFC 9503 §3: the dataplane is asked about one Destination Node Address per request, however
// many the request carries (each lookup is a call and a set probe: a 1,500-octet request holds
// ~185 of these TLVs). The one asked about, found ours, sets the reply's source; the same
// address again is ours, any other U.
TEST(destination_node_address, one_lookup_per_request) {
    const auto dna = [](uint8_t f, const bytes& v) { return tlv(f, 9, v); };
    ctx_holder h;
    const bytes foreign = {198, 18, 0, 77};
    bytes a = cat({dna(0x80, v4_other), dna(0x80, v4_dst)});
    for (int i = 0; i < 100; ++i) {
        a = cat({a, dna(0x80, foreign), dna(0x80, v4_other)});
    }
    guarded_buffer g(a);
    const tlv_result r = reflect_tlvs(g.span(), h.ctx);
    EXPECT_EQ(h.book.own_calls, 1);
    EXPECT_EQ(r.reply_source_at, 4 + 1);
    EXPECT_EQ(r.unrecognized, 100); // the foreign ones
    const bytes got = g.copy(g.size());
    for (std::size_t off = 0, k = 0; off < got.size(); off += 8, ++k) {
        const bool is_foreign = k >= 2 && k % 2 == 0;
        EXPECT_EQ(got[off], is_foreign ? 0x80 : 0x00) << "TLV " << k;
    }
    // A first one that is not ours: asked once, then every other one is U without a lookup.
    ctx_holder h2;
    bytes b;
    for (int i = 0; i < 50; ++i) {
        b = cat({b, dna(0x80, foreign), dna(0x80, v4_other)});
    }
    guarded_buffer g2(b);
    const tlv_result r2 = reflect_tlvs(g2.span(), h2.ctx);
    EXPECT_EQ(h2.book.own_calls, 1);
    EXPECT_EQ(r2.reply_source_at, 0);
    EXPECT_EQ(r2.unrecognized, 100);
}

// ---- counts (tlv_result) ----------------------------------------------------------------------

TEST(tlv_counts, seen_by_type_and_flags) {
    ctx_holder h;
    // Every type once, HMAC (8) twice, an unassigned type (11) and a high one (200), then a
    // malformed Direct Measurement.
    bytes a;
    for (int t = 1; t <= 10; ++t) {
        const uint16_t len = t == 4 || t == 6 || t == 9 ? 4
                             : t == 5                   ? 12
                             : t == 7 || t == 8         ? 16
                             : t == 2 || t == 3         ? 4
                                                        : 8;
        bytes val(len, 0);
        if (t == 6) {
            val[0] = 0x10;
        }
        if (t == 9) {
            val = v4_dst;
        }
        if (t == 10) {
            val = sub(0, 1, same_link);
        }
        a = cat({a, tlv(0x80, static_cast<uint8_t>(t), val)});
    }
    a = cat({a, tlv(0x80, 8, z(16)), tlv(0, 11, z(1)), tlv(0, 200, {}), tlv(0, 5, z(3))});
    guarded_buffer g(a);
    const tlv_result r = reflect_tlvs(g.span(), h.ctx);
    EXPECT_EQ(r.count, 14);
    const std::array<uint16_t, tlv_seen_slots> want = {2, 1, 1, 1, 1, 2, 1, 1, 2, 1, 1};
    for (std::size_t i = 0; i < tlv_seen_slots; ++i) {
        EXPECT_EQ(r.seen[i], want[i]) << "seen[" << i << "]";
    }
    EXPECT_EQ(r.unrecognized, 4) << "HMAC twice (no key: U), 11, 200";
    EXPECT_TRUE(r.malformed);
    EXPECT_EQ(r.integrity, 0);
}

TEST(tlv_counts, cut_header_counted_by_type) {
    bytes a = {0x80, 0x09, 0x00}; // a Destination Node Address header cut off
    tlv_result r = reflect_tlvs(a);
    EXPECT_EQ(r.seen[9], 1);
    EXPECT_EQ(r.unrecognized, 0);
    EXPECT_EQ(a[0], tlv_flag_m);
    bytes b = {0x80};
    r = reflect_tlvs(b);
    EXPECT_EQ(r.seen[0], 1);
}

TEST(tlv_counts, seen_saturates) {
    // 70,000 Extra Padding TLVs of Length 0: seen[1] stops at 65535.
    bytes a;
    for (int i = 0; i < 70000; ++i) {
        a.insert(a.end(), {0x80, 1, 0, 0});
    }
    const tlv_result r = reflect_tlvs(a);
    EXPECT_EQ(r.seen[1], 65535);
}

// ---- whole frames through reflect() ----------------------------------------------------------

// A typical request: Timestamp Information, Location (MAC, destination, source), Class of
// Service, Direct Measurement, Follow-Up Telemetry, Destination Node Address, Return Path.
struct frame_case {
    std::string name;
    int ver = 4;
    udp_csum csum = udp_csum::good;
};

bytes request_tlvs(int ver, const bytes& dna, const bytes& return_address) {
    return cat({tlv(0x80, 3, z(4)),
                tlv(0x80, 2,
                    cat({z(4), sub(0x80, 1, z(8)), sub(0x80, 4, z(16)), sub(0x80, 7, z(16))})),
                tlv(0x80, 4, cos_value(46, 0, 0, 0, 0)), tlv(0x80, 5, pattern(12, 1)),
                tlv(0x80, 7, z(16)), tlv(0x80, 9, dna), tlv(0x80, 10, sub(0x80, 2, return_address)),
                tlv(0x80, 1, pattern(ver == 4 ? 3 : 1, 9))});
}

bytes reply_tlvs(int ver, const bytes& dna, const bytes& return_address, uint8_t received_ds,
                 bool dscp_permitted) {
    const bool v4 = ver == 4;
    const bytes ports_ = {0x03, 0x5e, 0xc3, 0x50};
    const bytes src = v4 ? cat({v4_src, z(12)}) : v6_src;
    const bytes dst = v4 ? cat({v4_dst, z(12)}) : v6_dst;
    const bytes p12 = pattern(12, 1);
    const bytes dm = cat({bytes(p12.begin(), p12.begin() + 4), {0, 0, 0, 7, 0, 0, 0, 8}});
    return cat(
            {tlv(0, 3, z(4)),
             tlv(0, 2,
                 cat({ports_, sub(0, 2, mac_answer), sub(0, v4 ? 5 : 6, dst),
                      sub(0, v4 ? 8 : 9, src)})),
             tlv(0, 4, cos_value(46, received_ds >> 2, received_ds & 3, dscp_permitted ? 0 : 1, 0)),
             tlv(0, 5, dm), tlv(0, 7, z(16)), tlv(0, 9, dna), tlv(0, 10, sub(0, 2, return_address)),
             tlv(0, 1, pattern(v4 ? 3 : 1, 9))});
}

void frame_rows(int ver, udp_csum csum, bool permit) {
    SCOPED_TRACE("ip" + std::to_string(ver) + (csum == udp_csum::zero ? " zero" : " csum") +
                 (permit ? " permitted" : " refused"));
    static tlv_reply_info info;
    info.stateful = true;
    info.rx_count = 7;
    info.tx_count = 8;
    static addr_book book;
    static tlv_address_policy pol{&book, is_own, may_return_to};
    const bool v4 = ver == 4;
    const bytes& other = v4 ? v4_other : v6_other;
    const bytes& ret = v4 ? v4_return : v6_return;
    reflect_row row;
    row.name = "typical_mix";
    row.rfc = "RFC 8972 §4.2-§4.7, RFC 9503 §3, §4";
    row.spec = v4 ? v4_spec() : v6_spec();
    row.spec.tos = (26 << 2) | 3; // AF31, CE: never originated
    row.spec.csum = csum;
    row.spec.payload = stamp_request(sender_seq, sender_ts(false), 0x8001, ssid,
                                     request_tlvs(ver, other, ret));
    row.policy.mode = test_mode::stamp;
    row.policy.dscp = 12; // a fixed DSCP: kept when the CoS DSCP1 is refused
    row.policy.return_address = true;
    row.policy.allow_ipv6_zero_checksum = true;
    if (!permit) {
        row.policy.cos_allowed = 0;
        row.policy.return_address = false;
        book.own_answer = false;
    } else {
        book.own_answer = true;
    }
    row.params.tlv_info = &info;
    row.params.tlv_addresses = &pol;
    tlv_result out;
    row.params.tlv_out = &out;
    bytes want = reply_tlvs(ver, other, ret, row.spec.tos, permit);
    if (!permit) {
        // Destination Node Address not ours, Return Path refused: U on both.
        // Timestamp Information 8, Location 60, CoS 8, DM 16, Follow-Up 20.
        const std::size_t dna_off = 8 + 60 + 8 + 16 + 20;
        want[dna_off] = 0x80;
        want[dna_off + 4 + other.size()] = 0x80;
        row.reply_dscp = 12;
    } else {
        row.reply_dscp = 46;
        row.reply_src = other;
        row.reply_dst = ret;
    }
    row.tlv_area = want;
    run_row(row);
    EXPECT_EQ(out.count, 8);
    EXPECT_EQ(out.unrecognized, permit ? 0 : 2);
    EXPECT_EQ(out.seen[10], 1);
    EXPECT_EQ(out.reply_dscp, permit ? 46 : -1);
}

TEST(tlv_in_frame, typical_mix_ipv4_checksum) {
    frame_rows(4, udp_csum::good, true);
    frame_rows(4, udp_csum::good, false);
}
TEST(tlv_in_frame, typical_mix_ipv4_zero_checksum) {
    frame_rows(4, udp_csum::zero, true);
    frame_rows(4, udp_csum::zero, false);
}
TEST(tlv_in_frame, typical_mix_ipv6_checksum) {
    frame_rows(6, udp_csum::good, true);
    frame_rows(6, udp_csum::good, false);
}
TEST(tlv_in_frame, typical_mix_ipv6_zero_checksum_allowed) {
    frame_rows(6, udp_csum::zero, true);
}

// TX checksum offload (reflect_params::l4_cksum_offload): the field holds the pseudo-header
// sum of the reply's addresses, the ones the TLVs set; the device's sum then verifies.
TEST(tlv_in_frame, offload_pseudo_header_of_rewritten_addresses) {
    for (int ver : {4, 6}) {
        SCOPED_TRACE(ver);
        static addr_book book;
        static tlv_address_policy pol{&book, is_own, may_return_to};
        const bool v4 = ver == 4;
        frame_spec s = v4 ? v4_spec() : v6_spec();
        s.payload = stamp_request(
                sender_seq, sender_ts(false), 0x8001, ssid,
                request_tlvs(ver, v4 ? v4_other : v6_other, v4 ? v4_return : v6_return));
        const bytes req = build(s);
        guarded_buffer b(2048);
        std::copy(req.begin(), req.end(), b.data());
        reflect_policy pol_;
        pol_.mode = test_mode::stamp;
        pol_.return_address = true;
        reflect_params p = default_params();
        p.tlv_addresses = &pol;
        p.l4_cksum_offload = true;
        const auto pf = parse_frame(std::span<const uint8_t>(b.data(), req.size()));
        auto res = reflect_prepare(b.span(), pf, pol_, p);
        ASSERT_EQ(res.v, verdict::reflect);
        EXPECT_TRUE(res.reply.offloaded);
        reflect_finish(b.data(), res.reply, t3_ns, 37);
        const layers l = locate(b.data());
        uint8_t* ip = b.data() + l.l3;
        uint8_t* udp = b.data() + l.l4;
        EXPECT_EQ(hex({ip + (v4 ? 12 : 8), v4 ? 4u : 16u}), hex(v4 ? v4_other : v6_other));
        EXPECT_EQ(hex({ip + (v4 ? 16 : 24), v4 ? 4u : 16u}), hex(v4 ? v4_return : v6_return));
        if (v4) {
            EXPECT_EQ(rd16(ip + 10), ref_ipv4_header_checksum(ip, 20));
        }
        // What the device does: the sum over the datagram with the field as left, complemented.
        const uint16_t ph = v4 ? udp_pseudo_sum_v4(ip, static_cast<uint16_t>(l.udp_len))
                               : udp_pseudo_sum_v6(ip, static_cast<uint32_t>(l.udp_len));
        EXPECT_EQ(rd16(udp + 6), ph) << "pseudo-header sum of the reply's addresses";
        uint16_t dev = static_cast<uint16_t>(~csum_bytes(udp, l.udp_len));
        dev = dev == 0 ? 0xffff : dev;
        EXPECT_EQ(dev, ref_udp_checksum(ver, ip, udp, l.udp_len));
    }
}

// RFC 9503 §4.1.1: no reply. reflect() gives drop_reason::no_reply_requested; tlv_out still
// gets the counts.
TEST(tlv_in_frame, no_reply_requested) {
    for (int ver : {4, 6}) {
        frame_spec s = ver == 4 ? v4_spec() : v6_spec();
        s.payload = stamp_request(sender_seq, sender_ts(false), 0x8001, ssid,
                                  cat({tlv(0x80, 4, cos_value(46, 0, 0, 0, 0)),
                                       tlv(0x80, 10, sub(0x80, 1, no_reply))}));
        const bytes req = build(s);
        guarded_buffer b(2048);
        std::copy(req.begin(), req.end(), b.data());
        reflect_policy pol;
        pol.mode = test_mode::stamp;
        reflect_params p = default_params();
        tlv_result out;
        p.tlv_out = &out;
        auto res = reflect(b.span(), req.size(), pol, p, t3_ns);
        EXPECT_EQ(res.v, verdict::drop);
        EXPECT_EQ(to_string(res.reason), "no_reply_requested");
        EXPECT_TRUE(out.no_reply);
        EXPECT_EQ(out.count, 2);
        EXPECT_EQ(out.seen[10], 1);
        // Same link: a reply.
        s.payload = stamp_request(sender_seq, sender_ts(false), 0x8001, ssid,
                                  tlv(0x80, 10, sub(0x80, 1, same_link)));
        const bytes req2 = build(s);
        std::copy(req2.begin(), req2.end(), b.data());
        res = reflect(b.span(), req2.size(), pol, p, t3_ns);
        EXPECT_EQ(res.v, verdict::reflect);
    }
}

// The plain TWAMP Light context ignores what looks like TLVs; a STAMP reply with TLVs is never
// longer than the request (run_row checks every reply against max(request, base)).
TEST(tlv_in_frame, twamp_context_does_not_read_tlvs) {
    frame_spec s = v4_spec();
    s.payload = stamp_request(sender_seq, sender_ts(false), 0x8001, ssid,
                              tlv(0x80, 10, sub(0x80, 1, no_reply)));
    const bytes req = build(s);
    guarded_buffer b(2048);
    std::copy(req.begin(), req.end(), b.data());
    reflect_policy pol; // TWAMP Light
    tlv_result out;
    out.count = 77;
    reflect_params p = default_params();
    p.tlv_out = &out;
    auto res = reflect(b.span(), req.size(), pol, p, t3_ns);
    EXPECT_EQ(res.v, verdict::reflect);
    EXPECT_EQ(out.count, 77) << "tlv_out untouched";
}

} // namespace
