// libFuzzer target: arbitrary frames through twamp::proto::reflect() (the whole hot chain:
// parse_frame, check_test_packet, reflect_prepare, reflect_finish), then reflect_set_ts_out on
// the reply (the Timestamp Out octet rewritten to the low 2 bits of octet 7) and finish again.
//
// Input: an 8-octet control header, then the frame.
//   0  bit 0 STAMP mode (else TWAMP Light)      bit 4 l4_checksum_verified (NIC flag)
//      bit 1 fixed DSCP (else copy)              bit 5 stateful
//      bit 2 allow IPv6 zero UDP checksum        bit 6 buffer capacity == frame length exactly
//      bit 3 ipv4_checksum_verified (NIC flag)   bit 7 no port MAC (reply from the request's dst)
//   1  bits 0-5 fixed DSCP value, bits 6-7 timestamp policy (0 auto, 1 ntp, 2 ptp, 3 auto)
//   2  extra buffer capacity past the frame (when bit 6 of octet 0 is clear)
//   3  bit 0 rewrite the IPv4 header checksum correctly first, bit 1 the UDP checksum (unless
//      zero): random frames almost never carry valid sums, so without this the fuzzer would
//      rarely get past verification. Bit 2: S bit of our Error Estimate. Bits 3-7: its Scale.
//   4  our Error Estimate Multiplier (zero included: reflect must never send it); also the STAMP
//      TLV policy: bits 0-1 cos_allowed (0 all, 1 none, 2 even DSCPs, 3 DSCPs < 32), bits 2-4
//      location_report, bit 5 return_address, bit 6 tlv_addresses hooks given, bit 7 the hooks'
//      answers (with it: is_own when the address's last octet is odd, may_return_to when its
//      last octet has bit 1 set; without it: both always yes)
//   5  reflector sequence number (low octet; the rest fixed); bit 6 also symmetrical size, bit 7
//      reflect_params::tlv_out given
//   6-7 T2 and T3 jitter; bit 0 of octet 6 also: reflect_params::tlv_info given (a fixed
//      tlv_reply_info), so the STAMP TLV handlers write values the checksum must follow; bit 0
//      of octet 7 also: TX UDP checksum offload (the reply leaves the pseudo-header sum, the
//      oracle then completes the checksum as a NIC would)
//
// Invariants (each a __builtin_trap() via FUZZ_CHECK), with checksums and layout recomputed by
// the independent oracles of fuzz_oracle.hpp:
//   - a drop carries a reason, reflect/to_kernel none; anything but reflect leaves the buffer as
//     it was; a software-verified good checksum is never the drop reason;
//   - a reply is never longer than max(request IP datagram, request grown to the 41-octet
//     TWAMP base) and never changes an octet at or past reply.len;
//   - the reply is a well-formed frame whose IPv4 header checksum and UDP checksum verify when
//     the request's did (a NIC flag claiming otherwise is a lie the reflector may believe);
//   - L2-L4 turned around (MACs, addresses, ports swapped, TTL 255, DS per policy) and the
//     TWAMP/STAMP reflector fields as RFC 5357 §4.2.1 / RFC 8762 §4.3 lay them out; what STAMP
//     TLVs change instead (issue 16, RFC 8972 §4.4, RFC 9503 §3, §4.1) only as they allow it:
//     the reply's DSCP only a Class of Service TLV's DSCP1 the policy permits, its source only
//     a Destination Node Address the hooks call ours, its destination only a Return Address
//     the policy and hooks admit that is not special-purpose; no reply only for a Return Path
//     Control Code (the one drop that may leave the buffer rewritten);
//   - STAMP TLV area: same length; each TLV's Type and Length octets as received and Flags
//     octets with no bit but U and M, up to where the walk stops.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_oracle.hpp"

#include "twamp/proto/reflect.hpp"
#include "twamp/proto/source_address.hpp"
#include "twamp/proto/test_packet.hpp"
#include "twamp/proto/timestamp.hpp"

namespace {

namespace tp = twamp::proto;
using twamp::fuzz::be16;
using twamp::fuzz::be32;
using twamp::fuzz::be64;
using twamp::fuzz::layout;
using twamp::fuzz::same;

constexpr std::size_t header_len = 8;
// Not the seeds' destination MAC, so a reply from the wrong one shows.
constexpr uint8_t port_mac[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0xfe};
constexpr uint64_t base_time_ns = 1'700'000'000'123'456'789ULL;

// What a dataplane would pass for a stateful session with a previous departure (tlv.hpp).
const tp::tlv_reply_info fuzz_tlv_info = [] {
    tp::tlv_reply_info i;
    i.sync_src_in = tp::sync_source::ptp;
    i.ts_method_in = tp::ts_method::hw_assist;
    i.sync_src_out = tp::sync_source::ntp;
    i.ts_method_out = tp::ts_method::sw_local;
    i.stateful = true;
    i.follow_up_seq = 0x5a5a5900;
    i.follow_up_ns = base_time_ns - 1'000'001;
    i.follow_up_mode = tp::ts_method::hw_assist;
    return i;
}();

// The tlv_address_policy hooks: answers from the fuzz input (config bit) and the address.
struct hook_answers {
    bool by_address = false;
};
bool fuzz_is_own(const void* self, uint8_t, const uint8_t* a) noexcept {
    const auto* h = static_cast<const hook_answers*>(self);
    return !h->by_address || (a[0] ^ a[1]) & 1;
}
bool fuzz_may_return_to(const void* self, uint8_t, const uint8_t* a) noexcept {
    const auto* h = static_cast<const hook_answers*>(self);
    return !h->by_address || (a[0] ^ a[1]) & 2;
}
hook_answers hooks_fixed{false};
hook_answers hooks_by_address{true};
const tp::tlv_address_policy addr_fixed{&hooks_fixed, fuzz_is_own, fuzz_may_return_to};
const tp::tlv_address_policy addr_by_address{&hooks_by_address, fuzz_is_own, fuzz_may_return_to};
tp::tlv_result tlv_out_storage;

struct config {
    tp::reflect_policy policy;
    tp::reflect_params params;
    bool exact_capacity = false;
    std::size_t extra = 0;
    bool fix_ipv4 = false;
    bool fix_udp = false;
    uint64_t t3_ns = 0;
};

config decode(const uint8_t* h) {
    config c;
    c.policy.mode = (h[0] & 0x01) ? tp::test_mode::stamp : tp::test_mode::twamp_light;
    c.policy.dscp = (h[0] & 0x02) ? static_cast<int8_t>(h[1] & 0x3f) : tp::dscp_copy;
    c.policy.allow_ipv6_zero_checksum = (h[0] & 0x04) != 0;
    c.params.ipv4_checksum_verified = (h[0] & 0x08) != 0;
    c.params.l4_checksum_verified = (h[0] & 0x10) != 0;
    c.params.stateful = (h[0] & 0x20) != 0;
    c.exact_capacity = (h[0] & 0x40) != 0;
    c.params.our_mac = (h[0] & 0x80) ? nullptr : port_mac;
    switch (h[1] >> 6) {
    case 1:
        c.policy.timestamps = tp::ts_policy::ntp;
        break;
    case 2:
        c.policy.timestamps = tp::ts_policy::ptp;
        break;
    default:
        c.policy.timestamps = tp::ts_policy::auto_z;
        break;
    }
    c.extra = h[2];
    c.fix_ipv4 = (h[3] & 0x01) != 0;
    c.fix_udp = (h[3] & 0x02) != 0;
    c.params.our_error.synchronized = (h[3] & 0x04) != 0;
    c.params.our_error.scale = static_cast<uint8_t>(h[3] >> 3);
    c.params.our_error.multiplier = h[4];
    switch (h[4] & 3) {
    case 1:
        c.policy.cos_allowed = 0;
        break;
    case 2:
        c.policy.cos_allowed = 0x5555555555555555ULL;
        break;
    case 3:
        c.policy.cos_allowed = 0xffffffffULL;
        break;
    default:
        break;
    }
    c.policy.location_report = static_cast<uint8_t>((h[4] >> 2) & 7);
    c.policy.return_address = (h[4] & 0x20) != 0;
    if (h[4] & 0x40) {
        c.params.tlv_addresses = (h[4] & 0x80) ? &addr_by_address : &addr_fixed;
    }
    if (h[5] & 0x80) {
        tlv_out_storage = tp::tlv_result{};
        c.params.tlv_out = &tlv_out_storage;
    }
    c.params.reflector_seq = 0x5a5a5a00u | h[5];
    c.policy.symmetrical_size = (h[5] & 0x40) != 0;
    c.params.t2_ns = base_time_ns + uint64_t{h[6]} * 999'999'937ULL;
    c.params.tai_utc_offset_s = 37;
    c.params.tlv_info = (h[6] & 0x01) ? &fuzz_tlv_info : nullptr;
    c.t3_ns = c.params.t2_ns + uint64_t{h[7]} * 1'000'003ULL;
    c.params.l4_cksum_offload = (h[7] & 0x01) != 0;
    return c;
}

// Checks a reflected reply against the request it came from (`req`, the buffer before).
// STAMP TLVs' effects on the reply's IP header (RFC 8972 §4.4, RFC 9503 §3, §4.1.2), found in
// the request's TLV area: which TLV values the reply's DSCP, source and destination may come
// from. Independent of tlv.cpp: only the walk and the rules the effects must obey.
struct tlv_allow {
    std::vector<unsigned> dscp;               // permitted DSCP1 values of CoS TLVs
    std::vector<const uint8_t*> sources;      // Destination Node Address values of our family
    std::vector<const uint8_t*> destinations; // Return Address values of the first Return Path
};

bool special(int ver, const uint8_t* a) {
    return ver == 4 ? tp::unanswerable_ipv4_source(a) : tp::unanswerable_ipv6_source(a);
}

tlv_allow allowed_effects(const config& c, int ver, const uint8_t* area, std::size_t n,
                          uint16_t sport, uint16_t dport) {
    tlv_allow out;
    // RFC 9503 §4.1.2 here: no Return Address to a well-known port or the reflector's own.
    const bool port_ok = sport >= 1024 && sport != dport;
    const std::size_t alen = ver == 4 ? 4 : 16;
    bool first_rp = true;
    for (std::size_t pos = 0; pos + 4 <= n;) {
        const uint8_t type = area[pos + 1];
        const std::size_t len = be16(area + pos + 2);
        if (len > n - pos - 4) {
            break;
        }
        const uint8_t* v = area + pos + 4;
        if (type == 4 && len == 4 && ((c.policy.cos_allowed >> (v[0] >> 2)) & 1)) {
            out.dscp.push_back(v[0] >> 2);
        }
        if (type == 9 && len == alen) {
            out.sources.push_back(v);
        }
        if (type == 10 && first_rp && len >= 4) {
            first_rp = false;
            for (std::size_t s = 0; s + 4 <= len;) {
                const std::size_t sl = be16(v + s + 2);
                if (sl > len - s - 4) {
                    break;
                }
                if (v[s + 1] == 2 && sl == alen && c.policy.return_address && port_ok &&
                    c.params.tlv_addresses && !special(ver, v + s + 4) &&
                    c.params.tlv_addresses->may_return_to(c.params.tlv_addresses->self,
                                                          static_cast<uint8_t>(ver), v + s + 4)) {
                    out.destinations.push_back(v + s + 4);
                }
                s += 4 + sl;
            }
        }
        pos += 4 + len;
    }
    return out;
}

bool one_of(const std::vector<const uint8_t*>& v, const uint8_t* a, std::size_t n) {
    return std::any_of(v.begin(), v.end(), [&](const uint8_t* x) { return same(x, a, n); });
}

void check_reply(const config& c, const uint8_t* req, const uint8_t* rep, std::size_t cap,
                 const tp::reflect_result& res) {
    const bool stamp = c.policy.mode == tp::test_mode::stamp;
    const layout q = twamp::fuzz::locate(req, cap);
    FUZZ_CHECK(q.ok); // reflect accepted only a well-formed UDP frame
    const std::size_t q_len = q.payload_len();
    FUZZ_CHECK(q_len >= tp::sender::twamp_min_len); // both modes (RFC 8762 §4.6 for STAMP)
    // RFC 8762 §4.6: a STAMP request under the 44-octet base gets the base packet.
    const bool stamp_short = stamp && q_len < tp::sender::stamp_len;
    FUZZ_CHECK(res.reply.stamp_short == stamp_short);
    const std::size_t base = stamp ? tp::reflector::stamp_len : tp::reflector::twamp_len;

    // No amplification (RFC 6038 symmetric size, DESIGN.md "Size").
    const std::size_t len = res.reply.len;
    FUZZ_CHECK(len <= std::max(q.l3_end, q.payload() + base));
    FUZZ_CHECK(len <= cap);
    // Nothing at or past the reply's end changed (Ethernet padding, spare capacity).
    FUZZ_CHECK(same(req + len, rep + len, cap - len));

    const layout r = twamp::fuzz::locate(rep, len);
    FUZZ_CHECK(r.ok);
    FUZZ_CHECK(r.l3_end == len);
    // IPv4 options are never returned: the reply's header is 20 octets.
    FUZZ_CHECK(r.version == q.version && r.l3 == q.l3 && r.l4 == q.l3 + (q.version == 4 ? 20 : 40));
    const std::size_t r_len = r.payload_len();
    FUZZ_CHECK(r_len == std::max(q_len, base));

    // Checksums, recomputed independently. A lying NIC flag on a bad request excuses a bad
    // reply sum (the reflector updates incrementally from what it was told is right).
    if (r.version == 4 && twamp::fuzz::ref_ipv4_header_ok(req, q)) {
        FUZZ_CHECK(twamp::fuzz::ref_ipv4_header_ok(rep, r));
    }
    const uint16_t q_csum = be16(req + q.l4 + 6);
    FUZZ_CHECK(res.reply.offloaded == c.params.l4_cksum_offload);
    if (c.params.l4_cksum_offload) {
        // The field holds the pseudo-header sum (not complemented); a NIC sums the datagram
        // over it and writes the complement. Then the reply verifies like any other.
        FUZZ_CHECK(be16(rep + r.l4 + 6) % 0xffff ==
                   twamp::fuzz::ref_fold(twamp::fuzz::ref_pseudo_sum(rep, r)) % 0xffff);
        std::vector<uint8_t> dev(rep, rep + len);
        const uint16_t s = static_cast<uint16_t>(
                ~twamp::fuzz::ref_fold(twamp::fuzz::ref_sum(dev.data() + r.l4, r.l3_end - r.l4)));
        dev[r.l4 + 6] = static_cast<uint8_t>((s == 0 ? 0xffff : s) >> 8);
        dev[r.l4 + 7] = static_cast<uint8_t>(s == 0 ? 0xff : s);
        FUZZ_CHECK(twamp::fuzz::ref_udp_ok(dev.data(), r));
    } else if (q_csum == 0 || twamp::fuzz::ref_udp_ok(req, q)) {
        FUZZ_CHECK(twamp::fuzz::ref_udp_ok(rep, r)); // also: never zero, IPv4 or IPv6
    }

    // L2: back to the sender, from our port (or the address it was sent to); tags kept.
    FUZZ_CHECK(same(rep, req + 6, 6));
    FUZZ_CHECK(same(rep + 6, c.params.our_mac ? c.params.our_mac : req, 6));
    FUZZ_CHECK(same(rep + 12, req + 12, q.l3 - 12));

    // L3: addresses swapped, TTL/Hop Limit 255, DS field per policy, ECN kept.
    const uint8_t* qi = req + q.l3;
    const uint8_t* ri = rep + r.l3;
    uint8_t q_tos, r_tos, q_ttl;
    const std::size_t alen = r.version == 4 ? 4 : 16;
    const uint8_t* q_src = qi + (r.version == 4 ? 12 : 8);
    const uint8_t* q_dst = q_src + alen;
    const uint8_t* r_src = ri + (r.version == 4 ? 12 : 8);
    const uint8_t* r_dst = r_src + alen;
    tlv_allow allow;
    if (stamp && q_len > tp::stamp_tlv_offset) {
        allow = allowed_effects(c, r.version, req + q.payload() + tp::stamp_tlv_offset,
                                q_len - tp::stamp_tlv_offset, be16(req + q.l4),
                                be16(req + q.l4 + 2));
    }
    // The reply's source: the request's destination, or a Destination Node Address the hooks
    // call ours (RFC 9503 §3); its destination: the request's source or a Return Address.
    if (!same(r_src, q_dst, alen)) {
        FUZZ_CHECK(one_of(allow.sources, r_src, alen));
        FUZZ_CHECK(c.params.tlv_addresses &&
                   c.params.tlv_addresses->is_own(c.params.tlv_addresses->self,
                                                  static_cast<uint8_t>(r.version), r_src));
    }
    if (!same(r_dst, q_src, alen)) {
        FUZZ_CHECK(one_of(allow.destinations, r_dst, alen));
    }
    if (c.params.tlv_out) {
        // What reflect_tlvs() reported is what was applied: Values at those area offsets
        // (handlers leave Destination Node Address and Return Address Values as received).
        const tp::tlv_result& t = *c.params.tlv_out;
        const uint8_t* q_area = req + q.payload() + tp::stamp_tlv_offset;
        FUZZ_CHECK(same(r_src, t.reply_source_at ? q_area + t.reply_source_at - 1 : q_dst, alen));
        FUZZ_CHECK(
                same(r_dst, t.return_address_at ? q_area + t.return_address_at - 1 : q_src, alen));
        FUZZ_CHECK(!t.no_reply);
    }
    if (r.version == 4) {
        FUZZ_CHECK(ri[8] == 255 && ri[9] == 17);
        FUZZ_CHECK(ri[0] == 0x45 && be32(ri + 4) == be32(qi + 4)); // IHL 5: no options
        // Source routing is never answered (RFC 791 LSRR 131, SSRR 137).
        for (std::size_t i = 20; i < q.l3_hdr;) {
            const uint8_t t = qi[i];
            if (t == 0) {
                break;
            }
            FUZZ_CHECK(t != 131 && t != 137);
            if (t == 1) {
                ++i;
                continue;
            }
            // A list that does not parse is dropped (ipv4_bad_options), never answered.
            FUZZ_CHECK(i + 1 < q.l3_hdr && qi[i + 1] >= 2 && qi[i + 1] <= q.l3_hdr - i);
            i += qi[i + 1];
        }
        q_tos = qi[1];
        r_tos = ri[1];
        q_ttl = qi[8];
    } else {
        FUZZ_CHECK(ri[7] == 255 && ri[6] == 17);
        FUZZ_CHECK((ri[0] >> 4) == 6 && (be32(ri) & 0x000fffff) == (be32(qi) & 0x000fffff));
        q_tos = static_cast<uint8_t>(be16(qi) >> 4);
        r_tos = static_cast<uint8_t>(be16(ri) >> 4);
        q_ttl = qi[7];
    }
    // ECN as received except CE, which comes back as ECT(0) (RFC 3168 §5).
    const unsigned ecn = (q_tos & 3u) == 3u ? 2u : (q_tos & 3u);
    FUZZ_CHECK((r_tos & 3u) == ecn);
    const unsigned r_dscp = r_tos >> 2;
    if (c.params.tlv_out && c.params.tlv_out->reply_dscp >= 0) {
        // A Class of Service TLV's DSCP1 the policy permits (RFC 8972 §4.4).
        FUZZ_CHECK(r_dscp == static_cast<unsigned>(c.params.tlv_out->reply_dscp));
        FUZZ_CHECK(std::find(allow.dscp.begin(), allow.dscp.end(), r_dscp) != allow.dscp.end());
    } else if (std::find(allow.dscp.begin(), allow.dscp.end(), r_dscp) != allow.dscp.end() &&
               !c.params.tlv_out) {
        // Maybe from a CoS TLV; nothing more to check without tlv_out.
    } else if (c.policy.dscp == tp::dscp_copy) {
        FUZZ_CHECK(r_tos == ((q_tos & 0xfcu) | ecn));
    } else {
        FUZZ_CHECK(r_tos == ((static_cast<unsigned>(c.policy.dscp) << 2) | ecn));
    }

    // L4: ports swapped.
    FUZZ_CHECK(be16(rep + r.l4) == be16(req + q.l4 + 2) &&
               be16(rep + r.l4 + 2) == be16(req + q.l4));

    // The test packet (RFC 5357 §4.2.1, RFC 8762 §4.3.1).
    const uint8_t* qp = req + q.payload();
    const uint8_t* rp = rep + r.payload();
    const uint16_t q_err = be16(qp + tp::sender::error_estimate);
    const bool ptp =
            c.policy.timestamps == tp::ts_policy::ptp ||
            (c.policy.timestamps == tp::ts_policy::auto_z && (q_err & 0x4000) && !stamp_short);
    const auto fmt = ptp ? tp::ts_format::ptp : tp::ts_format::ntp;
    FUZZ_CHECK(be32(rp) == (c.params.stateful ? c.params.reflector_seq : be32(qp)));
    FUZZ_CHECK(be64(rp + 4) == tp::encode_timestamp(fmt, c.t3_ns, c.params.tai_utc_offset_s));
    const uint16_t r_err = be16(rp + 12);
    FUZZ_CHECK(((r_err & 0x4000) != 0) == ptp);
    FUZZ_CHECK(((r_err & 0x8000) != 0) == c.params.our_error.synchronized);
    FUZZ_CHECK((r_err & 0xff) != 0); // Multiplier: zero is invalid (RFC 4656 §4.1.2)
    FUZZ_CHECK(be16(rp + 14) == (stamp && !stamp_short ? be16(qp + 14) : 0)); // SSID / MBZ
    FUZZ_CHECK(be64(rp + 16) == tp::encode_timestamp(fmt, c.params.t2_ns, 37));
    FUZZ_CHECK(same(rp + 24, qp, 14)); // sender seq, timestamp, error estimate
    FUZZ_CHECK(be16(rp + 38) == 0 && rp[40] == q_ttl);
    if (stamp) {
        FUZZ_CHECK(rp[41] == 0 && rp[42] == 0 && rp[43] == 0);
        // TLVs (fuzz_tlv checks them in depth): the handlers rewrite Flags and Values only, so
        // every TLV's Type and Length octets stay, up to where the walk stops, and the Flags
        // octets carry no bit but U and M (I = 0 and the reserved bits zero on transmit).
        FUZZ_CHECK(r_len == q_len || stamp_short);
        if (!stamp_short) {
            for (std::size_t pos = tp::stamp_tlv_offset; pos + 4 <= q_len;) {
                FUZZ_CHECK(same(rp + pos + 1, qp + pos + 1, 3));
                const std::size_t l = be16(qp + pos + 2);
                if (l > q_len - pos - 4) {
                    break;
                }
                FUZZ_CHECK((rp[pos] & ~(tp::tlv_flag_u | tp::tlv_flag_m)) == 0 ||
                           same(rp + pos, qp + pos, 1)); // after a malformed one: as received
                pos += 4 + l;
            }
        }
    } else if (q_len >= tp::reflector::twamp_len) {
        // RFC 5357 §4.2.1: the sender's padding (from 14) re-used, its highest-numbered 27
        // octets discarded; RFC 6038 symmetrical size: the sender's padding starts at 41 and
        // stays. Reflected octets are the padding's first ones either way.
        FUZZ_CHECK(same(rp + 41, qp + (c.policy.symmetrical_size ? 41 : 14), q_len - 41));
    } // else: grown to the 41-octet base, every octet of which is checked above.
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < header_len) {
        return 0;
    }
    const config c = decode(data);
    const std::size_t frame_len = size - header_len;
    const std::size_t cap = frame_len + (c.exact_capacity ? 0 : c.extra);

    // Exactly `cap` octets on the heap: ASan reports the first octet read or written past it.
    std::unique_ptr<uint8_t[]> buf(new uint8_t[cap > 0 ? cap : 1]);
    std::memcpy(buf.get(), data + header_len, frame_len);
    for (std::size_t i = frame_len; i < cap; ++i) {
        buf[i] = static_cast<uint8_t>(0xa5 ^ i); // spare capacity must come back untouched
    }
    const layout q = twamp::fuzz::locate(buf.get(), frame_len);
    if (q.ok && q.version == 4 && c.fix_ipv4) {
        twamp::fuzz::ref_fix_ipv4_header(buf.get(), q);
    }
    if (q.ok && c.fix_udp && be16(buf.get() + q.l4 + 6) != 0) {
        twamp::fuzz::ref_fix_udp(buf.get(), q);
    }
    const std::vector<uint8_t> before(buf.get(), buf.get() + cap);

    const tp::reflect_result res =
            tp::reflect(std::span<uint8_t>(buf.get(), cap), frame_len, c.policy, c.params, c.t3_ns);

    switch (res.v) {
    case tp::verdict::reflect:
        FUZZ_CHECK(res.reason == tp::drop_reason::none);
        check_reply(c, before.data(), buf.get(), cap, res);
        {
            // The worker's late correction of a STAMP reply's Timestamp Out (a scheduled T3
            // that fell back): at most that one octet changes and the checksum follows.
            const std::vector<uint8_t> first(buf.get(), buf.get() + cap);
            tp::pending_reply again = res.reply;
            tp::reflect_set_ts_out(buf.get(), again, data[7] & 3);
            tp::reflect_finish(buf.get(), again, c.t3_ns, c.params.tai_utc_offset_s);
            std::size_t changed = 0;
            for (std::size_t i = 0; i < cap; ++i) {
                changed += first[i] != buf[i];
                FUZZ_CHECK(first[i] == buf[i] || i < res.reply.len);
            }
            FUZZ_CHECK(changed <= 3); // the octet and the UDP checksum field
            const layout r1 = twamp::fuzz::locate(first.data(), res.reply.len);
            const layout r2 = twamp::fuzz::locate(buf.get(), res.reply.len);
            // An offloaded reply's field is the pseudo-header sum for the device to complete (it
            // may verify by chance); the device sums what it sends, so there is nothing to
            // follow.
            if (!res.reply.offloaded && r1.ok && twamp::fuzz::ref_udp_ok(first.data(), r1)) {
                FUZZ_CHECK(r2.ok && twamp::fuzz::ref_udp_ok(buf.get(), r2));
            }
        }
        break;
    case tp::verdict::to_kernel:
        FUZZ_CHECK(res.reason == tp::drop_reason::none);
        FUZZ_CHECK(same(before.data(), buf.get(), cap));
        break;
    case tp::verdict::drop:
        FUZZ_CHECK(res.reason != tp::drop_reason::none);
        FUZZ_CHECK(res.reason < tp::drop_reason::count_);
        if (res.reason == tp::drop_reason::no_reply_requested) {
            // RFC 9503 §4.1.1: only STAMP, and the buffer (to be freed) may be rewritten.
            FUZZ_CHECK(c.policy.mode == tp::test_mode::stamp);
            FUZZ_CHECK(!c.params.tlv_out || c.params.tlv_out->no_reply);
            break;
        }
        FUZZ_CHECK(same(before.data(), buf.get(), cap));
        // Never a false alarm: a sum that verifies is not the reason for a drop.
        if (q.ok) {
            if (res.reason == tp::drop_reason::ipv4_bad_checksum) {
                FUZZ_CHECK(!twamp::fuzz::ref_ipv4_header_ok(before.data(), q));
            }
            if (res.reason == tp::drop_reason::udp_bad_checksum) {
                FUZZ_CHECK(!twamp::fuzz::ref_udp_ok(before.data(), q));
            }
        }
        break;
    }
    return 0;
}
