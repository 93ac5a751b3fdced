// The fused fast path (issue 15 item 2): the common test frame parsed, checked and rewritten
// in one pass, the reply's UDP checksum summed from the values held in registers. Header-only
// so that it inlines into the worker (no LTO in this build).
//
// The chain it replaces, for the frames it accepts:
//
//   parse_frame -> check_test_packet -> [session] -> reflect_prepare_into -> reflect_finish(T3)
//   fast_parse  -> fast_reflect      -> [session] -> fast_set_seq (stateful) -> reflect_finish
//
// with the same results octet for octet (tests/fuzz/fuzz_fast.cpp compares the two on every
// input). Whatever the fast path does not take goes through the general path, untouched:
//   - fast_parse() returning false: run parse_frame() (the fast path never decides a drop at
//     parse time);
//   - fast_reflect() returning fast_general: run check_test_packet() and reflect_prepare_into().
//
// The common shape: Ethernet, untagged or one 802.1Q tag; IPv4 with IHL 5, not a fragment, or
// IPv6 with Next Header UDP (no extension headers); UDP filling the IP payload; then
//   - TWAMP Light: a payload of 41 octets or more (the reply base: no growth); the sender's
//     padding comes back as reflect.cpp returns it (moved to octet 41, or in place with RFC
//     6038 symmetrical size);
//   - STAMP: exactly the 44-octet base (no TLVs, not a short TWAMP Light request).
//
// One contract differs from the general path's in what it tolerates, not in what it answers:
// reflect_params::l4_checksum_verified means the UDP checksum IS good (the NIC's word). The
// general path carries a received checksum over incrementally, so a frame a NIC wrongly passed
// comes back with the error in it; here a 41-octet or STAMP reply's checksum is summed afresh
// from the reply's own octets (correct), while a longer TWAMP Light request's padding sum is
// derived from the received checksum, so its reply carries the error as the general path's
// does. For every frame whose checksum verifies the two replies are identical.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#include "twamp/proto/bytes.hpp"
#include "twamp/proto/checksum.hpp"
#include "twamp/proto/drop_reason.hpp"
#include "twamp/proto/packet.hpp"
#include "twamp/proto/reflect.hpp"
#include "twamp/proto/source_address.hpp"
#include "twamp/proto/test_packet.hpp"
#include "twamp/proto/timestamp.hpp"

namespace twamp::proto {

// fast_reflect()'s "not handled here": the frame is outside the fast shape for this policy and
// untouched; run the general path (check_test_packet, reflect_prepare_into). Not a drop reason
// (it is drop_reason::count_, never counted).
inline constexpr drop_reason fast_general = drop_reason::count_;

// What the worker needs from the request, read once by fast_reflect() (valid when it returns
// drop_reason::none): what test_packet_sender_seq() and test_packet_ssid() would return.
struct fast_info {
    uint32_t sender_seq = 0; // the request's Sequence Number
    uint16_t ssid = 0;       // STAMP SSID (RFC 8972 §3); 0 for TWAMP Light
};

// Parses a frame of the common shape (above) into `pf`, exactly as parse_frame() would (every
// field; kind udp), and returns true; anything else returns false with `pf` unspecified.
[[gnu::always_inline]] inline bool fast_parse(const uint8_t* frame, uint16_t len,
                                              parsed_frame& pf) noexcept;

// For a frame fast_parse() accepted, or any UDP frame parse_frame() parsed (`cap`: the buffer's
// capacity, at least the frame): checks it as check_test_packet() does (the params' checksum
// flags: the NIC verified) and rewrites it into the reply as reflect_prepare_into() does,
// leaving T3 and the final checksum fold to reflect_finish() (the same pending_reply in `out`, TX
// checksum offload included). Returns
//   drop_reason::none  the reply is prepared; `info` holds the request's fields;
//   a drop reason      the one the general path gives; the frame is untouched;
//   fast_general       outside the fast shape; the frame is untouched.
// The reply's Sequence Number is params.reflector_seq when params.stateful, else the
// sender's; a stateful worker that learns its number only after the session lookup calls
// fast_set_seq() afterwards.
[[gnu::always_inline]] inline drop_reason
fast_reflect(uint8_t* frame, uint16_t cap, const parsed_frame& pf, const reflect_policy& policy,
             const reflect_params& params, pending_reply& out, fast_info& info) noexcept;

// Rewrites a prepared reply's Sequence Number (before reflect_finish) and keeps r.partial
// right (an offloaded reply's field holds the pseudo-header sum only: nothing to correct).
// fast_reflect(stateless) then fast_set_seq(s) == the general path with stateful seq s.
inline void fast_set_seq(uint8_t* frame, pending_reply& r, uint32_t seq) noexcept;

// ---------------------------------------------------------------------------------------------
// Implementation.

namespace fast_detail {

// Native-order access: a native load of octets that hold the big-endian value v returns
// nat(v), and the unfolded checksum sums native loads (checksum.hpp). Writing nat(v) with
// memcpy stores v big-endian; the same value then counts in the sum without a fold of its own.
constexpr uint16_t nat16(uint16_t v) noexcept {
    return std::endian::native == std::endian::little ? __builtin_bswap16(v) : v;
}
constexpr uint32_t nat32(uint32_t v) noexcept {
    return std::endian::native == std::endian::little ? __builtin_bswap32(v) : v;
}
constexpr uint64_t nat64(uint64_t v) noexcept {
    return std::endian::native == std::endian::little ? __builtin_bswap64(v) : v;
}
// The native value of the two octets [hi, lo] (a 16-bit lane), as a native load returns it.
constexpr uint16_t nat_pair(uint8_t hi, uint8_t lo) noexcept {
    return std::endian::native == std::endian::little ? static_cast<uint16_t>(hi | (lo << 8))
                                                      : static_cast<uint16_t>((hi << 8) | lo);
}

} // namespace fast_detail

[[gnu::always_inline]] inline bool fast_parse(const uint8_t* frame, uint16_t len,
                                              parsed_frame& pf) noexcept {
    if (len < eth_hdr_len + ipv4_min_hdr_len + udp_hdr_len) {
        return false;
    }
    uint16_t et = load_be16(frame + 12);
    uint8_t vlans = 0;
    uint16_t vid = 0;
    uint16_t off = eth_hdr_len;
    if (et == ethertype_vlan) {
        vid = load_be16(frame + 14) & 0x0fff;
        et = load_be16(frame + 16);
        vlans = 1;
        off = eth_hdr_len + vlan_tag_len;
    }
    const uint8_t* ip = frame + off;
    uint16_t l3_len;
    uint16_t hdr;
    uint8_t ttl;
    if (et == ethertype_ipv4) {
        // Version 4, IHL 5; not a fragment; UDP; the datagram within the frame.
        if (len < off + ipv4_min_hdr_len + udp_hdr_len || ip[0] != 0x45 ||
            (load_be16(ip + 6) & 0x3fff) != 0 || ip[9] != ipproto_udp) {
            return false;
        }
        l3_len = load_be16(ip + 2);
        hdr = ipv4_min_hdr_len;
        ttl = ip[8];
        pf.ip_version = 4;
    } else if (et == ethertype_ipv6) {
        if (len < off + ipv6_hdr_len + udp_hdr_len || (ip[0] >> 4) != 6 || ip[6] != ipproto_udp) {
            return false;
        }
        l3_len = static_cast<uint16_t>(ipv6_hdr_len + load_be16(ip + 4));
        if (l3_len < ipv6_hdr_len) {
            return false; // wrapped: a Payload Length past any frame this can take
        }
        hdr = ipv6_hdr_len;
        ttl = ip[7];
        pf.ip_version = 6;
    } else {
        return false;
    }
    // The UDP datagram fills the IP payload exactly and the IP datagram fits in the frame.
    const uint8_t* udp = ip + hdr;
    const uint16_t ulen = load_be16(udp + 4);
    if (l3_len < hdr + udp_hdr_len || off + l3_len > len || ulen != l3_len - hdr) {
        return false;
    }
    pf.kind = frame_kind::udp;
    pf.reason = drop_reason::none;
    pf.vlan_count = vlans;
    pf.l4_proto = ipproto_udp;
    pf.ttl = ttl;
    pf.fragment = false;
    pf.ethertype = et;
    pf.vlan_id[0] = vid;
    pf.vlan_id[1] = 0;
    pf.l3_off = off;
    pf.l3_hdr_len = hdr;
    pf.l3_len = l3_len;
    pf.l4_off = static_cast<uint16_t>(off + hdr);
    pf.udp_len = ulen;
    pf.src_port = load_be16(udp);
    pf.dst_port = load_be16(udp + 2);
    return true;
}

[[gnu::always_inline]] inline drop_reason
fast_reflect(uint8_t* frame, uint16_t cap, const parsed_frame& pf, const reflect_policy& policy,
             const reflect_params& params, pending_reply& out, fast_info& info) noexcept {
    const bool stamp = policy.mode == test_mode::stamp;
    const uint16_t len = pf.payload_len();
    // The shape: no growth, no TLVs (see the top of this file).
    if (stamp ? len != sender::stamp_len : len < reflector::twamp_len) {
        return fast_general;
    }
    // Also safe on any parse_frame() result: IPv4 options (removed in the reply) are the
    // general path's, and so are the authenticated layouts (proto/auth.hpp).
    if (pf.kind != frame_kind::udp || pf.l3_end() > cap ||
        (pf.ip_version == 4 && pf.l3_hdr_len != ipv4_min_hdr_len) ||
        policy.auth != auth_mode::none) {
        return fast_general;
    }
    uint8_t* ip = frame + pf.l3_off;
    uint8_t* udp = frame + pf.l4_off;
    uint8_t* pl = udp + udp_hdr_len;
    const bool v4 = pf.ip_version == 4;

    // Checks, in check_test_packet()'s order; nothing is written before they pass.
    // The addresses, loaded once: the source check, the pseudo-header sum and the swap.
    uint64_t a0, a1, a2 = 0, a3 = 0;
    uint64_t acc; // unfolded pseudo-header sum (RFC 768, RFC 8200 §8.1)
    if (v4) {
        if (!params.ipv4_checksum_verified && csum_fold_native(csum_partial(ip, 20)) != 0xffff) {
            return drop_reason::ipv4_bad_checksum;
        }
        if (unanswerable_ipv4_source(ip + 12)) {
            return drop_reason::bad_source_address;
        }
        std::memcpy(&a0, ip + 12, 8);
        a1 = 0;
        acc = a0;
    } else {
        if (unanswerable_ipv6_source(ip + 8)) {
            return drop_reason::bad_source_address;
        }
        std::memcpy(&a0, ip + 8, 8);
        std::memcpy(&a1, ip + 16, 8);
        std::memcpy(&a2, ip + 24, 8);
        std::memcpy(&a3, ip + 32, 8);
        acc = csum_acc(csum_acc(csum_acc(a0, a1), a2), a3);
    }
    if (pf.src_port == 0) {
        return drop_reason::udp_bad_port;
    }
    acc = csum_acc(acc, csum_native16(ipproto_udp) + csum_native16(pf.udp_len));
    const uint64_t pseudo = acc;
    // UDP header: ports and length (the swap leaves their sum alone), then the checksum.
    uint32_t ports;
    std::memcpy(&ports, udp, 4);
    uint16_t ulen_raw, csum_raw;
    std::memcpy(&ulen_raw, udp + 4, 2);
    std::memcpy(&csum_raw, udp + 6, 2);
    acc = csum_acc(acc, uint64_t{ports} + ulen_raw);
    // The sender's Sequence Number, Timestamp and Error Estimate (octets 0..13): two 8-octet
    // loads (the second overlapping the first by two octets) that are stored at 24..37 and
    // summed from the registers (the same 16-bit lanes there).
    uint64_t sf_lo, sf_hi;
    std::memcpy(&sf_lo, pl, 8);
    std::memcpy(&sf_hi, pl + 6, 8);
    uint64_t head;
    if constexpr (std::endian::native == std::endian::little) {
        head = csum_acc(sf_lo, sf_hi >> 16);
    } else {
        head = csum_partial(pl, sender::ssid);
    }
    acc = csum_acc(acc, head);
    // The rest of the payload, octets 14.., as received: only a software check reads it all.
    // What stays in the reply: STAMP's SSID (14..15) and, in a symmetrical-size TWAMP reply,
    // octet 41 and the padding after it.
    uint16_t ssid_n = 0; // native
    if (stamp) {
        std::memcpy(&ssid_n, pl + sender::ssid, 2);
    }
    // A TWAMP request longer than the 41-octet base: with RFC 6038 symmetrical size its padding
    // (from octet 41) stays; without, RFC 5357 §4.2.1 re-uses the sender's padding (octets
    // 14..) from octet 41 on, its last 27 octets dropped: a move by 27 octets (reflect.cpp).
    const bool longer = !stamp && len > reflector::twamp_len;
    const bool move = longer && !policy.symmetrical_size;
    const uint8_t octet41 = longer && !move ? pl[reflector::twamp_len] : 0;
    // Symmetrical size: the sum of octets 42..len-1, unchanged in the reply, when needed.
    const bool has_tail = longer && !move && len > reflector::twamp_len + 1;
    uint64_t tail = 0;
    const auto tail_sum = [&]() noexcept {
        return csum_partial(pl + reflector::twamp_len + 1, len - reflector::twamp_len - 1);
    };
    // Padding moved: `moved` sums the octets that move (14..len-28, from an even offset),
    // `cut` the 27 that are dropped (len-27..len-1, in their lanes), when needed.
    uint64_t moved = 0;
    const auto cut_sum = [&]() noexcept {
        const std::size_t at = len - 27u;
        const uint64_t c = csum_partial(pl + at, 27);
        // From an odd offset the octets sit in the other half of their lanes (RFC 1071 §2(B)).
        return (at & 1) ? uint64_t{__builtin_bswap16(csum_fold64(c))} : c;
    };
    if (csum_raw == 0) {
        // RFC 768 lets IPv4 senders omit the checksum; IPv6 only where the context allows it.
        if (!v4 && !policy.allow_ipv6_zero_checksum) {
            return drop_reason::udp_zero_checksum;
        }
        if (move && !params.l4_cksum_offload) [[unlikely]] {
            moved = csum_partial(pl + sender::ssid, len - reflector::twamp_len);
        }
        if (has_tail && !params.l4_cksum_offload) [[unlikely]] {
            tail = tail_sum();
        }
    } else if (!params.l4_checksum_verified) {
        uint64_t v = csum_acc(acc, csum_raw);
        if (stamp) {
            v = csum_partial(pl + sender::ssid, sender::stamp_len - sender::ssid, v);
        } else if (len == reflector::twamp_len) {
            v = csum_partial(pl + sender::ssid, reflector::twamp_len - sender::ssid, v);
        } else if (!move) {
            v = csum_partial(pl + sender::ssid, reflector::twamp_len + 1 - sender::ssid, v);
            if (has_tail) {
                tail = tail_sum();
                v = csum_acc(v, tail);
            }
        } else {
            moved = csum_partial(pl + sender::ssid, len - reflector::twamp_len);
            v = csum_acc(csum_acc(v, moved), cut_sum());
        }
        if (csum_fold_native(v) != 0xffff) {
            return drop_reason::udp_bad_checksum;
        }
    } else if (move && !params.l4_cksum_offload) {
        // Verified by the NIC: the whole datagram sums to zero, so the padding (14..len-1) is
        // minus everything else, and what moves is that minus the dropped octets: no loop
        // over the padding. (~x is -x in the unfolded one's-complement sum.)
        moved = ~csum_acc(csum_acc(acc, csum_raw), cut_sum());
    } else if (has_tail && !params.l4_cksum_offload) {
        // The same for the padding that stays: minus everything else (octets 14..41 summed).
        tail = ~csum_acc(csum_acc(acc, csum_raw),
                         csum_partial(pl + sender::ssid, reflector::twamp_len + 1 - sender::ssid));
    }
    // (test_truncated cannot happen: the shape has 41 octets or more.)

    // The reply. Timestamp format and our Error Estimate.
    const uint16_t sender_err = load_be16(pl + sender::error_estimate);
    const ts_format fmt =
            policy.timestamps == ts_policy::ptp || (policy.timestamps == ts_policy::auto_z &&
                                                    (sender_err & error_estimate_z_bit))
                    ? ts_format::ptp
                    : ts_format::ntp;
    error_estimate ours = params.our_error;
    ours.ptp = fmt == ts_format::ptp;
    if (ours.multiplier == 0) {
        ours.multiplier = 1; // RFC 4656 §4.1.2: zero is invalid
    }
    const uint16_t err = ours.encode();
    const uint64_t t2 = params.t2_encoded && params.t2_encoded->ns == params.t2_ns
                                ? params.t2_encoded->get(fmt)
                                : encode_timestamp(fmt, params.t2_ns, params.tai_utc_offset_s);
    uint32_t sender_seq_n; // native
    std::memcpy(&sender_seq_n, pl + sender::seq, 4);
    const uint32_t seq_n =
            params.stateful ? fast_detail::nat32(params.reflector_seq) : sender_seq_n;
    // Everything still needed from the arguments, read before the first store into the frame:
    // a store through uint8_t* may alias anything, and would make the compiler read them again.
    const uint8_t* const our_mac = params.our_mac;
    const int8_t dscp = policy.dscp;
    const bool offload = params.l4_cksum_offload;
    const bool stateful = params.stateful;
    const uint8_t ttl = pf.ttl;
    pending_reply r;
    r.len = pf.l3_end();
    r.t3_off = static_cast<uint16_t>(pf.payload_off() + reflector::timestamp);
    r.csum_off = static_cast<uint16_t>(pf.l4_off + 6);
    r.format = fmt;
    r.stamp_short = false;
    r.ts_out_off = 0;
    r.offloaded = offload;
    r.partial = 0;

    // L2: back to the sender, from us; the tag stays.
    uint8_t src_mac[6];
    std::memcpy(src_mac, frame + 6, 6);
    std::memcpy(frame + 6, our_mac ? our_mac : frame, 6); // no overlap
    std::memcpy(frame, src_mac, 6);

    // L3: addresses swapped, TTL / Hop Limit 255, DS field per context.
    if (v4) {
        const uint16_t hc = load_be16(ip + 10);
        const uint8_t tos = ip[1];
        const uint8_t ds = reply_ds_field(dscp, tos);
        ip[1] = ds;
        ip[8] = 255;
        const uint64_t sw = std::rotr(a0, 32);
        std::memcpy(ip + 12, &sw, 8);
        // RFC 1624 eqn. 3, the sum reflect_prepare_into() folds, term for term equal: its words
        // 0 (version/IHL 0x45, DS), 2 (Total Length, unchanged: ~w2 + w2 = 0xffff) and 8 (TTL
        // to 255, Protocol kept: ~w8 + n8 = 0xffff + 0xff00 - TTL * 256).
        const uint64_t d = uint64_t{static_cast<uint16_t>(~hc)} + (0xffffu - tos) + ds + 0xffffu +
                           (0xffffu + 0xff00u - (uint32_t{ttl} << 8));
        store_be16(ip + 10, static_cast<uint16_t>(~csum_fold64(d)));
    } else {
        uint32_t w0 = load_be32(ip);
        const uint8_t tc = reply_ds_field(dscp, static_cast<uint8_t>(w0 >> 20));
        w0 = (w0 & 0xf00fffffu) | (uint32_t{tc} << 20);
        store_be32(ip, w0);
        ip[7] = 255;
        std::memcpy(ip + 8, &a2, 8);
        std::memcpy(ip + 16, &a3, 8);
        std::memcpy(ip + 24, &a0, 8);
        std::memcpy(ip + 32, &a1, 8);
    }

    // L4: ports swapped.
    const uint32_t sp = std::endian::native == std::endian::little ? std::rotr(ports, 16)
                                                                   : std::rotl(ports, 16);
    std::memcpy(udp, &sp, 4);

    // Test packet: the sender's padding to octet 41 first (its octets 14.. are rewritten
    // below), then ours in front, the sender's 14 octets at 24..37.
    if (move) {
        std::memmove(pl + reflector::twamp_len, pl + sender::ssid, len - reflector::twamp_len);
    }
    if (stateful) {
        std::memcpy(pl + reflector::seq, &seq_n, 4);
    }
    std::memset(pl + reflector::timestamp, 0, 8); // T3: reflect_finish()
    const uint16_t err_n = fast_detail::nat16(err);
    std::memcpy(pl + reflector::error_estimate, &err_n, 2);
    if (!stamp) {
        std::memset(pl + reflector::mbz1, 0, 2); // STAMP: the SSID stays
    }
    const uint64_t t2_n = fast_detail::nat64(t2);
    std::memcpy(pl + reflector::receive_timestamp, &t2_n, 8);
    std::memcpy(pl + reflector::sender_seq, &sf_lo, 8);
    std::memcpy(pl + reflector::sender_seq + 6, &sf_hi, 8);
    pl[reflector::mbz2] = 0;
    pl[reflector::mbz2 + 1] = 0;
    pl[reflector::sender_ttl] = ttl;
    if (stamp) {
        std::memset(pl + reflector::stamp_mbz3, 0, 3);
    }

    info.sender_seq = fast_detail::nat32(sender_seq_n);
    info.ssid = fast_detail::nat16(ssid_n);
    if (offload) {
        // The device sums the datagram: the field holds the pseudo-header's sum.
        store_be16(udp + 6, csum_fold_native(pseudo));
        std::memcpy(&out, &r, sizeof r); // whole words, not field by field
        return drop_reason::none;
    }
    // The reply's sum but T3, from registers: pseudo-header, UDP header but its checksum, the
    // sender's 14 octets, and our fields and what stays, as the native values just stored.
    acc = csum_acc(acc, t2_n);
    acc = csum_acc(acc, uint64_t{seq_n} + err_n + ssid_n + fast_detail::nat_pair(ttl, octet41));
    acc = csum_acc(acc, tail);
    // The moved padding, 27 octets on (an odd count): in the other half of its lanes.
    acc = csum_acc(acc, move ? __builtin_bswap16(csum_fold64(moved)) : 0);
    r.partial = csum_fold_native(acc);
    std::memcpy(&out, &r, sizeof r); // whole words, not field by field
    return drop_reason::none;
}

inline void fast_set_seq(uint8_t* frame, pending_reply& r, uint32_t seq) noexcept {
    uint8_t* p = frame + r.t3_off - reflector::timestamp;
    uint32_t old;
    std::memcpy(&old, p, 4);
    old = fast_detail::nat32(old);
    const uint32_t seq_n = fast_detail::nat32(seq);
    std::memcpy(p, &seq_n, 4);
    if (!r.offloaded) {
        // 32-bit numbers: the fold makes them the sums of their 16-bit halves.
        r.partial = csum_fold64(uint64_t{r.partial} + static_cast<uint32_t>(~old) + seq);
    }
}

} // namespace twamp::proto
