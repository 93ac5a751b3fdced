#include "twamp/proto/tlv.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "twamp/crypto/crypto.hpp"
#include "twamp/proto/bytes.hpp"
#include "twamp/proto/checksum.hpp"
#include "twamp/proto/source_address.hpp"

namespace twamp::proto {

namespace {

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

// The Values handlers rewrite, summed before and after in the area's 16-bit lanes: unfolded
// accumulators, one for Values at even offsets and one for odd ones (csum_partial() takes its
// first octet as a word's high half: an odd start sums byte-swapped, RFC 1071 §2(B)), folded
// once into tlv_result's sums when the walk ends. A fold and a swap per Value cost ~40
// instructions on the reflect_bench TLV mix.
struct value_sums {
    uint64_t before[2] = {0, 0};
    uint64_t after[2] = {0, 0};

    static uint16_t lanes(const uint64_t (&acc)[2]) noexcept {
        const uint16_t odd = csum_fold_native(acc[1]);
        return csum_add(csum_fold_native(acc[0]), static_cast<uint16_t>((odd << 8) | (odd >> 8)));
    }
    void into(tlv_result& r) const noexcept {
        r.sum_before = csum_add(r.sum_before, lanes(before));
        r.sum_after = csum_add(r.sum_after, lanes(after));
    }
};

// ---- handlers, one per implemented type (tlv_handlers[] below) ------------------------------

// Sub-TLVs (RFC 8972 §4.2.1, RFC 9503 §4.1): Flags, Type, Length(2), Value, inside the parent's
// Value, Flags rewritten whole as for TLVs (U by recognition, M when malformed, I = 0, the
// reserved bits 0).
struct sub_tlv {
    std::size_t off = 0; // of the header, in the parent's Value
    uint8_t type = 0;
    uint16_t length = 0;
};

// The sub-TLVs of a parent Value from `from` on, walked by tlv_walker (the same bounds as
// TLVs: at most (size - from)/4 + 1 steps). next() yields a sub-TLV whose Value lies inside
// the parent; a header cut off or a Length past the parent's end gets M (and U unless `known`
// says its Type is one the parent defines) and stops the walk.
class sub_walker {
public:
    sub_walker(std::span<uint8_t> v, std::size_t from) noexcept
        : v_(v), from_(from), w_(v.subspan(from)) {}

    template<class Known>
    bool next(sub_tlv& s, Known known) noexcept {
        tlv_view t;
        if (done_ || !w_.next(t)) {
            if (!done_ && w_.malformed()) {
                const std::size_t at = from_ + w_.position();
                uint8_t f = tlv_flag_m;
                if (v_.size() - at >= 2 && !known(v_[at + 1])) {
                    f |= tlv_flag_u;
                }
                v_[at] = f;
            }
            done_ = true;
            return false;
        }
        s.off = from_ + t.offset;
        s.type = t.type;
        s.length = t.length;
        return true;
    }

    // A sub-TLV of a known Type with a Length its definition does not allow: M, walk stops.
    void malformed(const sub_tlv& s) noexcept {
        v_[s.off] = tlv_flag_m;
        done_ = true;
    }
    void flags(const sub_tlv& s, uint8_t f) noexcept { v_[s.off] = f; }
    uint8_t* value(const sub_tlv& s) noexcept { return v_.data() + s.off + tlv_hdr_len; }

private:
    std::span<uint8_t> v_;
    std::size_t from_;
    tlv_walker w_;
    bool done_ = false;
};

constexpr std::size_t addr_len(uint8_t ip_version) noexcept {
    return ip_version == 4 ? 4 : 16;
}

// Location TLV (RFC 8972 §4.2): Destination Port, Source Port of the request as received (the
// UDP destination port is ours, the source port the sender's), then sub-TLVs (§4.2.1) asking
// for the request's Source MAC, Destination IP and Source IP, each answered in place with the
// specific sub-type (§4.2.2): Source EUI-48 (2), Destination IPv4/IPv6 (5/6), Source IPv4/IPv6
// (8/9) by the packet's family. Fields the policy does not report (location_report) are zeros
// (§4.2.2 "MAY leave some fields unreported by filling them with zeroes"); a MAC not reported
// or not known is a zeroed Source EUI-64 (3), as for a packet that "does not have the Source
// MAC Address". Other sub-types: U, skipped. A wrong Length: M, the walk stops.
uint8_t reflect_location(std::span<uint8_t> v, uint16_t, const tlv_reply_ctx& ctx,
                         tlv_result&) noexcept {
    const bool ports = (ctx.location_report & location_report::ports) != 0;
    store_be16(v.data(), ports ? ctx.dst_port : 0);
    store_be16(v.data() + 2, ports ? ctx.src_port : 0);
    const bool addrs = (ctx.location_report & location_report::addresses) != 0;
    const bool v4 = ctx.ip_version == 4;
    const auto known = [](uint8_t t) {
        return t >= location_sub::source_mac && t <= location_sub::source_ipv6;
    };
    sub_walker w(v, 4);
    sub_tlv s;
    while (w.next(s, known)) {
        if (!known(s.type)) {
            w.flags(s, tlv_flag_u);
            continue;
        }
        const bool mac = s.type <= location_sub::source_eui64;
        if (s.length != (mac ? 8 : 16)) {
            w.malformed(s);
            break;
        }
        uint8_t* p = w.value(s);
        w.flags(s, 0);
        if (mac) {
            if ((ctx.location_report & location_report::mac) && ctx.src_mac) {
                v[s.off + 1] = location_sub::source_eui48;
                std::memcpy(p, ctx.src_mac, 6);
                p[6] = 0;
                p[7] = 0;
            } else {
                v[s.off + 1] = location_sub::source_eui64;
                std::memset(p, 0, 8);
            }
            continue;
        }
        const bool dst = s.type <= location_sub::destination_ipv6;
        if (dst) {
            v[s.off + 1] = v4 ? location_sub::destination_ipv4 : location_sub::destination_ipv6;
        } else {
            v[s.off + 1] = v4 ? location_sub::source_ipv4 : location_sub::source_ipv6;
        }
        std::memset(p, 0, 16);
        const uint8_t* a = dst ? ctx.dst_addr : ctx.src_addr;
        if (addrs && a) {
            std::memcpy(p, a, addr_len(ctx.ip_version));
        }
    }
    return 0;
}

// Timestamp Information TLV (RFC 8972 §4.3): Sync Src In, Timestamp In, Sync Src Out, Timestamp
// Out, one octet each (IANA registries of §5.4 and §5.5), then optional sub-TLVs. The four
// octets say how T2 and T3 of this reply were taken; without tlv_reply_info they are 0
// (Reserved in both registries: "not stated"). Sub-TLVs: none is defined for this TLV, so the
// octets after the first four come back as they came. The first one's Timestamp Out is
// reported (ts_out_at) for reflect_set_ts_out().
uint8_t reflect_timestamp_information(std::span<uint8_t> v, uint16_t value_at,
                                      const tlv_reply_ctx& ctx, tlv_result& r) noexcept {
    const tlv_reply_info* i = ctx.info;
    v[0] = i ? i->sync_src_in : sync_source::not_stated;
    v[1] = i ? i->ts_method_in : ts_method::not_stated;
    v[2] = i ? i->sync_src_out : sync_source::not_stated;
    v[3] = i ? i->ts_method_out : ts_method::not_stated;
    if (!r.ts_out_at) {
        r.ts_out_at = static_cast<uint16_t>(value_at + 3 + 1); // Sync In, TS In, Sync Out
    }
    return 0;
}

// Class of Service TLV (RFC 8972 §4.4, with verified erratum 8199): DSCP1 (6 bits), DSCP2 (6),
// ECN (2), RP (2), Reserved (16). DSCP1 is what the sender asks the reply to carry: permitted
// by the policy (cos_allowed), the reply's DSCP (reply_dscp; the first such TLV decides) and RP
// = 0; refused (or a later TLV asking for another DSCP than the one applied), RP = 1 and the
// context's DS rule. DSCP2 and ECN are the request's as received
// (erratum 8199). DSCP1 stays as received; Reserved is zeroed.
uint8_t reflect_class_of_service(std::span<uint8_t> v, uint16_t, const tlv_reply_ctx& ctx,
                                 tlv_result& r) noexcept {
    const uint8_t dscp1 = static_cast<uint8_t>(v[0] >> 2);
    bool allowed = (ctx.cos_allowed >> dscp1) & 1;
    if (allowed && r.reply_dscp < 0) {
        r.reply_dscp = static_cast<int8_t>(dscp1);
    }
    // A later Class of Service TLV asking for another DSCP than the one applied did not get it.
    allowed = allowed && r.reply_dscp == static_cast<int8_t>(dscp1);
    const uint16_t w = static_cast<uint16_t>(
            uint16_t{dscp1} << 10 | uint16_t{static_cast<uint8_t>(ctx.received_ds >> 2)} << 4 |
            (ctx.received_ds & 0x3) << 2 | (allowed ? 0 : 1));
    store_be16(v.data(), w);
    v[2] = 0;
    v[3] = 0;
    return 0;
}

// Direct Measurement TLV (RFC 8972 §4.5): Session-Sender Tx counter (kept), Session-Reflector
// Rx and Tx counters: a stateful session's in-profile packets received and replies sent (this
// one included); zeros otherwise (the RFC defines nothing for a stateless reflector, and
// per-context counters would mix senders: conf/twamp.conf).
uint8_t reflect_direct_measurement(std::span<uint8_t> v, uint16_t, const tlv_reply_ctx& ctx,
                                   tlv_result&) noexcept {
    const tlv_reply_info* i = ctx.info;
    const bool st = i && ctx.stateful && i->stateful;
    store_be32(v.data() + 4, st ? i->rx_count : 0);
    store_be32(v.data() + 8, st ? i->tx_count : 0);
    return 0;
}

// Access Report TLV (RFC 8972 §4.6): Access ID (4 bits), Resv (4 bits), Return Code (1),
// Reserved (2). ID and Return Code echoed, Resv and Reserved zeroed on transmission. An Access
// ID other than 3GPP (1) or Non-3GPP (2) makes the TLV invalid ("MUST be discarded"); the
// reply cannot drop it (its length), so it comes back as received with U = 1: not acted on.
uint8_t reflect_access_report(std::span<uint8_t> v, uint16_t, const tlv_reply_ctx&,
                              tlv_result&) noexcept {
    const uint8_t id = static_cast<uint8_t>(v[0] >> 4);
    if (id != access_id::threegpp && id != access_id::non_threegpp) {
        return tlv_flag_u;
    }
    v[0] = static_cast<uint8_t>(id << 4);
    v[2] = 0;
    v[3] = 0;
    return 0;
}

// Follow-Up Telemetry TLV (RFC 8972 §4.7): Sequence Number (4), Follow-up Timestamp (8),
// Timestamp Mode (1), Reserved (3, zero). The Session-Reflector's Sequence Number of the reply
// it sent before this one in the same session and that reply's departure time, in this
// reply's timestamp format (the Z flag of its Error Estimate), with the Timestamping Method
// (§5.5) that produced it. A stateless reflector zeroes Sequence Number and Follow-up
// Timestamp (§4.7); so does this one when it knows no earlier departure (follow_up_ns 0: the
// session's first reply, or no tlv_reply_info), and the Timestamp Mode is then 0 too.
uint8_t reflect_follow_up(std::span<uint8_t> v, uint16_t, const tlv_reply_ctx& ctx,
                          tlv_result&) noexcept {
    const tlv_reply_info* i = ctx.info;
    std::memset(v.data(), 0, 16);
    if (i && ctx.stateful && i->stateful && i->follow_up_ns != 0) {
        store_be32(v.data(), i->follow_up_seq);
        store_be64(v.data() + 4,
                   encode_timestamp(ctx.format, i->follow_up_ns, ctx.tai_utc_offset_s));
        v[12] = i->follow_up_mode;
    }
    return 0;
}

// Erratum 8339 to RFC 8972 §4.7: a Follow-Up Telemetry TLV with an invalid Length has its
// Sequence Number and Follow-up Timestamp zeroed (as far as its Value holds them) and M set.
void follow_up_bad_length(std::span<uint8_t> v) noexcept {
    std::memset(v.data(), 0, std::min<std::size_t>(v.size(), 12));
}

// Destination Node Address TLV (RFC 9503 §3): the address the sender meant to reach. Ours (the
// request's destination, or one tlv_address_policy::is_own knows, of the packet's family):
// understood; when it is not the request's destination the reply SHOULD come from it
// (reply_source_at). Not ours, or the other family: U = 1 ("not the intended destination").
// The Value is returned as received. The dataplane is asked (is_own: a function call and a set
// lookup) once per request: a request carrying hundreds of these TLVs must not cost hundreds of
// lookups; a later one is ours when it is the request's destination or the address asked
// about, found ours. An address no reply may come from (proto/source_address.hpp: multicast,
// unspecified, loopback, documentation, ...) is never used as the reply's source.
uint8_t reflect_destination_node_address(std::span<uint8_t> v, uint16_t value_at,
                                         const tlv_reply_ctx& ctx, tlv_result& r) noexcept {
    const uint8_t ver = v.size() == 4 ? 4 : 6;
    if (ver != ctx.ip_version) {
        return tlv_flag_u;
    }
    if (ctx.dst_addr && std::memcmp(v.data(), ctx.dst_addr, v.size()) == 0) {
        return 0;
    }
    const uint8_t* p = v.data();
    if (r.dna_checked_at) {
        // Asked once already: the same address gets the same answer, any other U, no lookup.
        const uint8_t* area = p - value_at;
        const bool same = std::memcmp(p, area + r.dna_checked_at - 1, v.size()) == 0;
        return same && r.reply_source_at == r.dna_checked_at ? 0 : tlv_flag_u;
    }
    r.dna_checked_at = static_cast<uint16_t>(value_at + 1);
    const tlv_address_policy* a = ctx.addresses;
    if (!(ver == 4 ? unanswerable_ipv4_source(p) : unanswerable_ipv6_source(p)) && a && a->is_own &&
        a->is_own(a->self, ver, p)) {
        r.reply_source_at = static_cast<uint16_t>(value_at + 1);
        return 0;
    }
    return tlv_flag_u;
}

// Return Path TLV (RFC 9503 §4): sub-TLVs (§4.1). Only the first Return Path TLV of a packet is
// processed; later ones come back with flags 0 and their Values as received. Sub-TLVs:
// - Control Code (1, Length 4, §4.1.1): the first one decides: Reply Requested on the Same
//   Link clear: no reply (no_reply); set: the reply goes back on the same link, as always.
//   With a Control Code, the other sub-TLVs are not acted on (flags by recognition).
// - Return Address (2, Length 4 or 16, §4.1.2): without a Control Code, the first one is
//   honoured when the policy allows it (return_address), it is of the packet's family, not an
//   address no reply may go to (source_address.hpp), the request's source port (the reply's
//   destination port) is 1024 or above and not the reflector's own, and
//   tlv_address_policy::may_return_to admits it: return_address_at. Otherwise the Return Path TLV
//   gets U = 1 and the reply goes to the source.
// - SR-MPLS Label Stack (3), SRv6 Segment List (4) (§4.1.3): not supported: U on the sub-TLV,
//   and U on the Return Path TLV unless a Return Address is honoured.
// - Other types: U on the sub-TLV. A wrong Length for a known type, or a sub-TLV past the
//   Value's end: M on it, the walk stops (what came before it still counts); the Return Path
//   TLV itself stays understood.
uint8_t reflect_return_path(std::span<uint8_t> v, uint16_t value_at, const tlv_reply_ctx& ctx,
                            tlv_result& r) noexcept {
    if (r.seen[static_cast<uint8_t>(tlv_type::return_path)] > 1) {
        return 0; // not the first
    }
    const auto known = [](uint8_t t) {
        return t >= return_path_sub::control_code && t <= return_path_sub::srv6_segment_list;
    };
    sub_walker w(v, 0);
    sub_tlv s;
    std::size_t cc = 0; // 1 + offset of the first Control Code's Value
    std::size_t ra = 0; // 1 + offset of the first Return Address's Value
    uint16_t ra_len = 0;
    bool sr = false;
    while (w.next(s, known)) {
        switch (s.type) {
        case return_path_sub::control_code:
            if (s.length != 4) {
                w.malformed(s);
                break;
            }
            w.flags(s, 0);
            if (!cc) {
                cc = s.off + tlv_hdr_len + 1;
            }
            continue;
        case return_path_sub::return_address:
            if (s.length != 4 && s.length != 16) {
                w.malformed(s);
                break;
            }
            w.flags(s, 0);
            if (!ra) {
                ra = s.off + tlv_hdr_len + 1;
                ra_len = s.length;
            }
            continue;
        case return_path_sub::sr_mpls_label_stack:
        case return_path_sub::srv6_segment_list:
            sr = true;
            w.flags(s, tlv_flag_u);
            continue;
        default:
            w.flags(s, tlv_flag_u);
            continue;
        }
        break; // malformed
    }
    if (cc) {
        if (!(load_be32(&v[cc - 1]) & return_path_sub::reply_requested)) {
            r.no_reply = true;
        }
        return 0;
    }
    if (ra) {
        const uint8_t* a = &v[ra - 1];
        const uint8_t ver = ctx.ip_version;
        const tlv_address_policy* p = ctx.addresses;
        // The reply's destination port is the request's source port: a well-known one (below
        // 1024, TWAMP's 862 among them) or the reflector's own could be another reflector's,
        // which would answer the reply, and the two would play ping-pong with the Return Path
        // TLV echoed each time (no spoofing needed): refused.
        const bool port_ok = ctx.src_port >= 1024 && ctx.src_port != ctx.dst_port;
        const bool ok = ctx.return_address && port_ok && ra_len == addr_len(ver) &&
                        !(ver == 4 ? unanswerable_ipv4_source(a) : unanswerable_ipv6_source(a)) &&
                        p && p->may_return_to && p->may_return_to(p->self, ver, a);
        if (!ok) {
            return tlv_flag_u;
        }
        r.return_address_at = static_cast<uint16_t>(value_at + ra);
        return 0;
    }
    return sr ? tlv_flag_u : 0;
}

// RFC 8972 §4.8 HMAC TLV: checked before any handler runs (hmac_check_failed()); here the
// Value is zeroed and its place recorded: the reply's HMAC covers the reply's Sequence Number and
// the TLVs before it as sent, so it is computed last (auth_finish). Without a key the reflector
// cannot check or produce it: U (understood, not acted on), the Value echoed.
uint8_t reflect_hmac(std::span<uint8_t> value, uint16_t value_at, const tlv_reply_ctx& ctx,
                     tlv_result& r) noexcept {
    if (!ctx.hmac_key) {
        return tlv_flag_u;
    }
    if (!r.hmac_at) {
        r.hmac_at = static_cast<uint16_t>(value_at - tlv_hdr_len + 1);
        std::memset(value.data(), 0, value.size());
    }
    return 0;
}

// The types this reflector implements: one entry each. Every other Type is returned with U = 1
// (RFC 8972 §4). Lengths from each TLV's definition: a Length it does not allow makes the TLV
// malformed (M = 1, reflect_tlvs()).
constexpr tlv_handler tlv_handlers[] = {
        // RFC 8972 §4.1: any Length, Value echoed.
        {tlv_type::extra_padding, 0, tlv_len_rule::at_least, nullptr},
        // RFC 8972 §4.2: Destination Port, Source Port, then sub-TLVs.
        {tlv_type::location, 4, tlv_len_rule::at_least, reflect_location},
        // RFC 8972 §4.3: four octets, then optional sub-TLVs.
        {tlv_type::timestamp_information, 4, tlv_len_rule::at_least, reflect_timestamp_information},
        // RFC 8972 §4.4: four octets.
        {tlv_type::class_of_service, 4, tlv_len_rule::exactly, reflect_class_of_service},
        // RFC 8972 §4.5: three 4-octet counters.
        {tlv_type::direct_measurement, 12, tlv_len_rule::exactly, reflect_direct_measurement},
        // RFC 8972 §4.6: four octets.
        {tlv_type::access_report, 4, tlv_len_rule::exactly, reflect_access_report},
        // RFC 8972 §4.7: 16 octets; erratum 8339 for another Length.
        {tlv_type::follow_up_telemetry, 16, tlv_len_rule::exactly, reflect_follow_up,
         follow_up_bad_length},
        // RFC 8972 §4.8: a 16-octet HMAC.
        {tlv_type::hmac, crypto::mac_len, tlv_len_rule::exactly, reflect_hmac},
        // RFC 9503 §3: an IPv4 or IPv6 address.
        {tlv_type::destination_node_address, 0, tlv_len_rule::ip_address,
         reflect_destination_node_address},
        // RFC 9503 §4: at least one sub-TLV header.
        {tlv_type::return_path, 4, tlv_len_rule::at_least, reflect_return_path},
};

constexpr bool one_entry_per_type() {
    for (std::size_t a = 0; a < std::size(tlv_handlers); ++a) {
        for (std::size_t b = a + 1; b < std::size(tlv_handlers); ++b) {
            if (tlv_handlers[a].type == tlv_handlers[b].type) {
                return false;
            }
        }
    }
    return true;
}
static_assert(one_entry_per_type(), "two tlv_handlers entries for one type");
static_assert(std::size(tlv_handlers) < 255);

// Type -> 1 + index in tlv_handlers[] (0: not implemented): one load per TLV.
constexpr std::array<uint8_t, 256> make_handler_index() {
    std::array<uint8_t, 256> idx{};
    for (std::size_t k = 0; k < std::size(tlv_handlers); ++k) {
        idx[static_cast<uint8_t>(tlv_handlers[k].type)] = static_cast<uint8_t>(k + 1);
    }
    return idx;
}
constexpr std::array<uint8_t, 256> handler_index = make_handler_index();

constexpr bool recognized(uint8_t type) noexcept {
    return handler_index[type] != 0;
}

constexpr bool length_ok(const tlv_handler& h, uint16_t len) noexcept {
    switch (h.rule) {
    case tlv_len_rule::exactly:
        return len == h.len;
    case tlv_len_rule::ip_address:
        return len == 4 || len == 16;
    case tlv_len_rule::at_least:
        break;
    }
    return len >= h.len;
}

void count_seen(tlv_result& r, uint8_t type) noexcept {
    uint16_t& c = r.seen[type < tlv_seen_slots ? type : 0];
    c = static_cast<uint16_t>(c + (c != UINT16_MAX));
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

// The HMAC TLV rules (RFC 8972 §4.8, issue 17 item 3), on the request as received, before any
// handler rewrites a TLV the HMAC covers: true when the check fails, i.e. an HMAC TLV whose
// HMAC (HMAC-SHA-256/128 over the request's Sequence Number and every octet of the TLVs before
// it) does not verify, one that is not the last TLV (only Extra Padding may follow it), or none
// where it is required (authenticated mode with TLVs other than Extra Padding). Only called
// with a key or where the HMAC TLV is required, so an HMAC TLV that cannot be checked fails
// too: one of the wrong Length, or one cut off by the end of the packet (else the TLVs before
// it would be acted on unauthenticated). A TLV cut off by the end whose Type is not Extra
// Padding counts as another TLV (in authenticated mode nothing is processed without a good
// HMAC TLV). Trailing zeros are not TLVs.
bool hmac_check_failed(std::span<const uint8_t> area, const tlv_reply_ctx& ctx) noexcept {
    tlv_walker w(area);
    tlv_view t;
    std::size_t zero_tail = area.size() + 1;
    bool others = false; // TLVs other than Extra Padding (and the HMAC TLV)
    int hmac_off = -1;
    uint16_t hmac_len = 0;
    bool not_last = false;
    for (;;) {
        const std::size_t at = w.position();
        if (at + 1 < area.size() && area[at] == 0 && area[at + 1] == 0) {
            if (zero_tail > area.size()) {
                zero_tail = nonzero_end(area);
            }
            if (at >= zero_tail) {
                break;
            }
        }
        if (!w.next(t)) {
            break;
        }
        if (t.type == static_cast<uint8_t>(tlv_type::extra_padding)) {
            continue;
        }
        if (t.type == static_cast<uint8_t>(tlv_type::hmac) && hmac_off < 0) {
            hmac_off = t.offset;
            hmac_len = t.length;
            continue;
        }
        others = true;
        if (hmac_off >= 0) {
            not_last = true;
        }
    }
    if (w.malformed()) {
        const std::size_t at = w.position();
        const int type = area.size() - at >= 2 ? area[at + 1] : -1;
        if (type == static_cast<uint8_t>(tlv_type::hmac)) {
            return true; // cut off: cannot be checked
        }
        if (type != static_cast<uint8_t>(tlv_type::extra_padding)) {
            others = true;
            not_last = not_last || hmac_off >= 0;
        }
    }
    if (hmac_off < 0) {
        return ctx.hmac_required && others;
    }
    if (not_last || !ctx.hmac_key) {
        return not_last || ctx.hmac_required;
    }
    if (hmac_len != crypto::mac_len) {
        return true; // cannot be checked: failed (flag_all_integrity adds M)
    }
    uint8_t seq[4];
    store_be32(seq, ctx.request_seq);
    const auto mac = ctx.hmac_key->mac128(
            {std::span<const uint8_t>(seq, 4), area.first(static_cast<std::size_t>(hmac_off))});
    return !crypto::equal(mac.data(), area.data() + hmac_off + tlv_hdr_len, crypto::mac_len);
}

// A failed HMAC TLV check: every TLV is returned as received with I set (U too for a Type this
// reflector does not implement; M and a stop for a malformed one), no handler runs.
void flag_all_integrity(std::span<uint8_t> area, tlv_result& r) noexcept {
    tlv_walker w(area);
    tlv_view t;
    while (w.next(t)) {
        ++r.count;
        count_seen(r, t.type);
        uint8_t flags = tlv_flag_i;
        if (!recognized(t.type)) {
            flags |= tlv_flag_u;
            ++r.unrecognized;
        } else if (t.type == static_cast<uint8_t>(tlv_type::hmac) && t.length != crypto::mac_len) {
            flags |= tlv_flag_m; // RFC 8972 §4.8: Length 16
            r.malformed = true;
        }
        set_flags(area, t.offset, flags, r);
        ++r.integrity;
    }
    if (w.malformed()) {
        const std::size_t at = w.position();
        uint8_t flags = tlv_flag_m | tlv_flag_i;
        if (area.size() - at >= 2) {
            count_seen(r, area[at + 1]);
            if (!recognized(area[at + 1])) {
                flags |= tlv_flag_u;
                ++r.unrecognized;
            }
        } else {
            count_seen(r, 0);
        }
        ++r.count;
        ++r.integrity;
        r.malformed = true;
        set_flags(area, at, flags, r);
    }
    r.hmac_failed = true;
}

} // namespace

const tlv_handler* find_tlv_handler(uint8_t type) noexcept {
    const uint8_t i = handler_index[type];
    return i ? &tlv_handlers[i - 1] : nullptr;
}

tlv_result reflect_tlvs(std::span<uint8_t> area, const tlv_reply_ctx& ctx) noexcept {
    tlv_result r;
    value_sums vs;
    tlv_walker w(area);
    tlv_view t;
    // The reflector writes the whole Flags octet (RFC 8972 §4): U says whether it understood
    // the Type, M whether the TLV was malformed, I = 0 (no HMAC check failed here: it does not
    // do them) and the reserved bits are zeroed on transmission. Nothing the sender put there
    // survives: a sender sets U = 1 on every TLV it sends, so echoing it would be a lie.
    std::size_t zero_tail = area.size() + 1; // not computed yet
    if ((ctx.hmac_key || ctx.hmac_required) && hmac_check_failed(area, ctx)) [[unlikely]] {
        flag_all_integrity(area, r);
        return r; // flags only: their sums are in r
    }
    for (;;) {
        const std::size_t at = w.position();
        if (at < area.size() && area[at] == 0 && (area.size() - at < 2 || area[at + 1] == 0)) {
            // Flags and Type zero: padding if nothing but zeros follows.
            if (zero_tail > area.size()) {
                zero_tail = nonzero_end(area);
            }
            if (at >= zero_tail) {
                r.padding = static_cast<uint16_t>(area.size() - at);
                vs.into(r);
                return r;
            }
        }
        if (!w.next(t)) {
            break;
        }
        ++r.count;
        count_seen(r, t.type);
        const uint8_t hi = handler_index[t.type];
        const tlv_handler* h = hi ? &tlv_handlers[hi - 1] : nullptr;
        if (!h) {
            set_flags(area, t.offset, tlv_flag_u, r);
            ++r.unrecognized;
            continue;
        }
        const std::size_t voff = t.offset + tlv_hdr_len;
        const std::span<uint8_t> value = area.subspan(voff, t.length);
        if (!length_ok(*h, t.length)) {
            // A Type this reflector implements with a Length its definition does not allow
            // (RFC 8972 §4.3-§4.7, RFC 9503 §3, §4): the TLV cannot be read as that type, i.e.
            // it is malformed (§4: M = 1), and, as for a Length past the end, processing stops
            // there: the Value (but what bad_length rewrites) and the TLVs after it are returned
            // as received.
            if (h->bad_length) {
                vs.before[voff & 1] = csum_partial(value.data(), t.length, vs.before[voff & 1]);
                h->bad_length(value);
                vs.after[voff & 1] = csum_partial(value.data(), t.length, vs.after[voff & 1]);
            }
            set_flags(area, t.offset, tlv_flag_m, r);
            r.malformed = true;
            vs.into(r);
            return r;
        }
        uint8_t flags = 0;
        if (h->reflect) {
            vs.before[voff & 1] = csum_partial(value.data(), t.length, vs.before[voff & 1]);
            flags = h->reflect(value, static_cast<uint16_t>(voff), ctx, r);
            vs.after[voff & 1] = csum_partial(value.data(), t.length, vs.after[voff & 1]);
        }
        set_flags(area, t.offset, flags, r);
        if (flags & tlv_flag_u) {
            ++r.unrecognized;
        }
    }
    if (w.malformed()) {
        // The header may itself be cut off; its Flags octet is still there (the walk only
        // stops with octets left), so M can always be set. U as for any TLV when its Type
        // octet made it.
        const std::size_t at = w.position();
        uint8_t flags = tlv_flag_m;
        if (area.size() - at >= 2) {
            count_seen(r, area[at + 1]);
            if (!recognized(area[at + 1])) {
                flags |= tlv_flag_u;
                ++r.unrecognized;
            }
        } else {
            count_seen(r, 0);
        }
        ++r.count;
        r.malformed = true;
        set_flags(area, at, flags, r);
    }
    vs.into(r);
    return r;
}

} // namespace twamp::proto
