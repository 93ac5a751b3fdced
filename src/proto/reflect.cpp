#include "twamp/proto/reflect.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "reflect_detail.hpp"

#include "twamp/proto/bytes.hpp"
#include "twamp/proto/checksum.hpp"
#include "twamp/proto/source_address.hpp"
#include "twamp/proto/test_packet.hpp"
#include "twamp/proto/tlv.hpp"

namespace twamp::proto {

namespace {

// Unfolded UDP pseudo-header sum (RFC 768; RFC 8200 §8.1, whose 32-bit length has a zero upper
// half here): kept unfolded so the datagram's sum adds on and one fold serves both.
uint64_t pseudo_partial(const uint8_t* ip, uint8_t version, uint16_t udp_len) noexcept {
    const uint64_t acc = csum_native16(ipproto_udp) + csum_native16(udp_len);
    return version == 4 ? csum_partial(ip + 12, 8, acc) : csum_partial(ip + 8, 32, acc);
}

constexpr std::size_t base_len(test_mode m) noexcept {
    return m == test_mode::stamp ? reflector::stamp_len : reflector::twamp_len;
}

// The rewritten region, rounded to whole 16-bit words for the checksum bookkeeping.
constexpr std::size_t base_words_len(test_mode m) noexcept {
    return (base_len(m) + 1) & ~std::size_t{1};
}

// IPv4 options (RFC 791 §3.1) of a request: loose or strict source routing (types 131, 137) is
// refused, as Linux does with net.ipv4.conf.*.accept_source_route=0; a list that does not parse
// is refused too. Anything else is fine: the reply carries no options at all.
drop_reason check_ipv4_options(const uint8_t* o, std::size_t n) noexcept {
    std::size_t i = 0;
    while (i < n) {
        const uint8_t type = o[i];
        if (type == 0) { // End of Option List: the rest is padding
            break;
        }
        if (type == 1) { // No Operation
            ++i;
            continue;
        }
        if (n - i < 2 || o[i + 1] < 2 || o[i + 1] > n - i) {
            return drop_reason::ipv4_bad_options;
        }
        if (type == 131 || type == 137) { // LSRR, SSRR
            return drop_reason::ipv4_source_route;
        }
        i += o[i + 1];
    }
    return drop_reason::none;
}

// Removes the IPv4 options of a checked request in place: the UDP datagram moves down to the
// end of a 20-octet header (IHL 5), Total Length shrinks, the header checksum is recomputed.
// The UDP checksum stays valid: options are not in the pseudo-header. Rare packets: the memmove
// and the full header sum are off the common path. `out` describes the frame afterwards.
void strip_ipv4_options(uint8_t* f, const parsed_frame& in, parsed_frame& out) noexcept {
    uint8_t* ip = f + in.l3_off;
    const uint16_t opt = static_cast<uint16_t>(in.l3_hdr_len - ipv4_min_hdr_len);
    std::memmove(ip + ipv4_min_hdr_len, ip + in.l3_hdr_len, in.udp_len);
    ip[0] = 0x45;
    store_be16(ip + 2, static_cast<uint16_t>(in.l3_len - opt));
    store_be16(ip + 10, 0);
    store_be16(ip + 10, internet_checksum(std::span<const uint8_t>(ip, ipv4_min_hdr_len)));
    out = in;
    out.l3_hdr_len = ipv4_min_hdr_len;
    out.l3_len = static_cast<uint16_t>(in.l3_len - opt);
    out.l4_off = static_cast<uint16_t>(in.l4_off - opt);
}

// A request with IPv4 options (checked: no source route, well formed): the options are not
// returned (they could steer the reply), so the UDP datagram moves down to a 20-octet header
// first and the reply is built from that. Out of line: the common frame pays one compare.
[[gnu::noinline, gnu::cold]] drop_reason prepare_without_options(std::span<uint8_t> buf,
                                                                 const parsed_frame& pf_in,
                                                                 const reflect_policy& policy,
                                                                 const reflect_params& params,
                                                                 pending_reply& out) noexcept {
    const std::size_t len = pf_in.payload_len();
    const std::size_t opt = pf_in.l3_hdr_len - ipv4_min_hdr_len;
    const bool auth = policy.auth != auth_mode::none;
    const std::size_t base = auth ? auth_reflector::len : base_len(policy.mode);
    const std::size_t grow = std::max(len, base) - len;
    if (pf_in.l3_end() - opt + grow > buf.size()) {
        return drop_reason::no_tailroom; // before anything is touched
    }
    if (auth && !params.auth_opened) {
        // Verified before the options are stripped: a request that fails is dropped untouched.
        if (!params.auth_out) {
            return drop_reason::no_key;
        }
        const drop_reason r = auth_open_request(buf, pf_in, policy);
        if (r != drop_reason::none) {
            return r;
        }
        reflect_params opened = params;
        opened.auth_opened = true;
        parsed_frame pf;
        strip_ipv4_options(buf.data(), pf_in, pf);
        return reflect_prepare_into(buf, pf, policy, opened, out);
    }
    parsed_frame pf;
    strip_ipv4_options(buf.data(), pf_in, pf);
    return reflect_prepare_into(buf, pf, policy, params, out);
}

reflect_result drop(drop_reason r) noexcept {
    return {verdict::drop, r, {}};
}

// What the STAMP TLVs ask of the reply's IP header (tlv_result): the DSCP of a permitted Class
// of Service TLV (RFC 8972 §4.4; ECN by reply_ds_field()), the source address named by a
// Destination Node Address TLV (RFC 9503 §3) and the destination named by a Return Address
// (RFC 9503 §4.1.2), both of the packet's family (the handlers checked it). The IPv4 header
// checksum is updated here (RFC 1624); the returned unfolded sum is the pseudo-header's
// change, for a UDP checksum patched from the received one. Rare: out of line.
[[gnu::noinline, gnu::cold]] uint64_t apply_tlv_effects(uint8_t* ip, bool v4, uint8_t received_ds,
                                                        const tlv_result& t,
                                                        const uint8_t* area) noexcept {
    const std::size_t alen = v4 ? 4 : 16;
    uint64_t delta = 0;
    uint16_t hsum = 0; // IPv4 header: folded sum of the new words minus the old ones
    const auto replace = [&](uint8_t* at, const uint8_t* with) {
        const uint64_t old_sum = csum_partial(at, alen);
        const uint64_t new_sum = csum_partial(with, alen);
        std::memmove(at, with, alen);
        delta = csum_acc(csum_acc(delta, ~old_sum), new_sum);
    };
    if (t.reply_source_at) {
        replace(ip + (v4 ? 12 : 8), area + t.reply_source_at - 1);
    }
    if (t.return_address_at) {
        replace(ip + (v4 ? 16 : 24), area + t.return_address_at - 1);
    }
    if (v4) {
        hsum = csum_fold_native(delta);
        if (t.reply_dscp >= 0) {
            const uint16_t w_old = load_be16(ip);
            ip[1] = reply_ds_field(t.reply_dscp, received_ds);
            hsum = csum_add(hsum, csum_sub(load_be16(ip), w_old));
        }
        const uint16_t hc = load_be16(ip + 10);
        store_be16(ip + 10, static_cast<uint16_t>(~csum_add(static_cast<uint16_t>(~hc), hsum)));
    } else if (t.reply_dscp >= 0) {
        uint32_t w0 = load_be32(ip);
        const uint8_t tc = reply_ds_field(t.reply_dscp, received_ds);
        w0 = (w0 & 0xf00fffffu) | (uint32_t{tc} << 20);
        store_be32(ip, w0);
    }
    return delta;
}

// The STAMP TLV area of a request being turned into its reply (after the L2-L4 swaps: the
// request's source address, port and MAC are where the reply's destination ones go, and the
// other way round): reflect_tlvs() with the request as received and the policy, then what the
// TLVs ask of the IP header. `delta` gets the unfolded change of the UDP checksum's sum (TLV
// octets and pseudo-header), `ts_out_at` 1 + the area offset of the Timestamp Out octet (0:
// none). True: no reply (RFC 9503 §4.1.1). Out of line: a packet without TLVs keeps no
// tlv_result on its stack (+15 instructions per STAMP packet inline, callgrind).
} // namespace

namespace detail {
[[gnu::noinline]] drop_reason stamp_tlvs(uint8_t* f, uint8_t* ip, uint8_t* pl, std::size_t len,
                                         std::size_t tlv_off, const parsed_frame& pf, ts_format fmt,
                                         uint8_t received_ds, const reflect_policy& policy,
                                         const reflect_params& params, uint64_t& delta,
                                         uint16_t& ts_out_at, pending_reply& out) noexcept {
    const bool v4 = pf.ip_version == 4;
    tlv_reply_ctx ctx;
    ctx.info = params.tlv_info;
    ctx.format = fmt;
    ctx.tai_utc_offset_s = params.tai_utc_offset_s;
    ctx.stateful = params.stateful;
    ctx.ip_version = pf.ip_version;
    ctx.src_addr = ip + (v4 ? 16 : 24);
    ctx.dst_addr = ip + (v4 ? 12 : 8);
    ctx.src_mac = f;
    ctx.src_port = pf.src_port;
    ctx.dst_port = pf.dst_port;
    ctx.received_ds = received_ds;
    ctx.cos_allowed = policy.cos_allowed;
    ctx.location_report = policy.location_report;
    ctx.return_address = policy.return_address;
    ctx.addresses = params.tlv_addresses;
    // The HMAC TLV (RFC 8972 §4.8): the key of the packet's SSID, in authenticated mode
    // required whenever other TLVs than Extra Padding are present.
    // Both layouts have moved the sender's fields to the reflector's positions by now.
    const bool auth_layout = tlv_off != stamp_tlv_offset;
    ctx.hmac_required = policy.auth == auth_mode::stamp_authenticated;
    ctx.request_seq =
            load_be32(pl + (auth_layout ? auth_reflector::sender_seq : reflector::sender_seq));
    if (policy.keys) {
        ctx.hmac_key = policy.keys->for_ssid(
                load_be16(pl + (auth_layout ? auth_reflector::ssid : reflector::ssid)));
    }
    uint8_t* area = pl + tlv_off;
    const tlv_result t = reflect_tlvs(std::span<uint8_t>(area, len - tlv_off), ctx);
    if (params.tlv_out) {
        *params.tlv_out = t;
    }
    if (t.no_reply) {
        return drop_reason::no_reply_requested;
    }
    if (t.hmac_at) [[unlikely]] {
        // The reply's HMAC TLV (RFC 8972 §4.8): over the reply's Sequence Number and the TLVs
        // before it, after T3 (a late Timestamp Out may still change a TLV before it), with the
        // key the request's was checked with.
        if (!params.auth_out) {
            return drop_reason::no_key; // a caller that cannot finish such a reply
        }
        out.auth |= auth_todo::hmac_tlv;
        params.auth_out->hmac_tlv_off =
                static_cast<uint16_t>(pf.payload_off() + tlv_off + t.hmac_at - 1);
        params.auth_out->aes = nullptr;
        params.auth_out->hmac = ctx.hmac_key;
    }
    uint64_t addr = 0;
    if (t.reply_dscp >= 0 || t.reply_source_at || t.return_address_at) [[unlikely]] {
        addr = apply_tlv_effects(ip, v4, received_ds, t, area);
    }
    delta = csum_acc(csum_acc(csum_native16(static_cast<uint16_t>(~t.sum_before)),
                              csum_native16(t.sum_after)),
                     addr);
    ts_out_at = t.ts_out_at;
    return drop_reason::none;
}
} // namespace detail

namespace {
using detail::stamp_tlvs;
} // namespace

drop_reason check_test_packet(std::span<const uint8_t> frame, const parsed_frame& pf,
                              const reflect_policy& policy, bool ipv4_checksum_verified,
                              bool l4_checksum_verified, verified_sums* sums) noexcept {
    if (sums) {
        sums->region_known = false;
    }
    if (pf.kind != frame_kind::udp || pf.l3_end() > frame.size()) {
        // Precondition: a UDP frame from parse_frame() of this very frame.
        return pf.reason != drop_reason::none ? pf.reason : drop_reason::udp_truncated;
    }
    const uint8_t* ip = frame.data() + pf.l3_off;
    const uint8_t* udp = frame.data() + pf.l4_off;
    if (pf.ip_version == 4) {
        if (!ipv4_checksum_verified && !ipv4_header_checksum_ok(ip, pf.l3_hdr_len)) {
            return drop_reason::ipv4_bad_checksum;
        }
        if (unanswerable_ipv4_source(ip + 12)) {
            return drop_reason::bad_source_address;
        }
        if (pf.l3_hdr_len > ipv4_min_hdr_len) [[unlikely]] {
            const drop_reason r =
                    check_ipv4_options(ip + ipv4_min_hdr_len, pf.l3_hdr_len - ipv4_min_hdr_len);
            if (r != drop_reason::none) {
                return r;
            }
        }
    } else if (unanswerable_ipv6_source(ip + 8)) {
        return drop_reason::bad_source_address;
    }
    if (pf.src_port == 0) {
        return drop_reason::udp_bad_port;
    }
    uint16_t c = load_be16(udp + 6);
    if (c == 0) {
        // RFC 768 lets IPv4 senders omit the checksum; RFC 8200 §8.1 forbids it for IPv6
        // unless the context allows it (RFC 6935/6936 tunnels, timestamping after checksum).
        if (pf.ip_version == 6 && !policy.allow_ipv6_zero_checksum) {
            return drop_reason::udp_zero_checksum;
        }
    } else if (!l4_checksum_verified) {
        // Pseudo header and UDP header, the region reflect_prepare() rewrites (kept for it),
        // the rest of the payload. The region starts the payload and has an even length unless
        // it ends the datagram, so the three sums' 16-bit lanes line up.
        const std::size_t plen = pf.payload_len();
        const std::size_t words = std::min(plen, base_words_len(policy.mode));
        const uint64_t region = csum_partial(udp + udp_hdr_len, words);
        uint64_t acc =
                csum_partial(udp, udp_hdr_len, pseudo_partial(ip, pf.ip_version, pf.udp_len));
        acc = csum_partial(udp + udp_hdr_len + words, plen - words, csum_acc(acc, region));
        if (csum_fold_native(acc) != 0xffff) {
            return drop_reason::udp_bad_checksum;
        }
        if (sums) {
            sums->region_known = true;
            sums->region = region;
        }
    }
    // Both modes need the 14-octet sender header (RFC 5357 §4.1.2): a STAMP request shorter
    // than its 44-octet base comes from a TWAMP Light sender and is answered with the base
    // (RFC 8762 §4.6, reflect_prepare()).
    if (pf.payload_len() < sender::twamp_min_len) {
        return drop_reason::test_truncated;
    }
    return drop_reason::none;
}

uint16_t test_packet_ssid(std::span<const uint8_t> frame, const parsed_frame& pf, test_mode mode,
                          auth_mode auth) noexcept {
    const bool a = auth == auth_mode::stamp_authenticated;
    const std::size_t need = a ? auth_sender::stamp_len : sender::stamp_len;
    if (mode != test_mode::stamp || pf.payload_len() < need ||
        pf.payload_off() + need > frame.size()) {
        return 0;
    }
    return load_be16(frame.data() + pf.payload_off() + (a ? auth_sender::ssid : sender::ssid));
}

uint32_t test_packet_sender_seq(std::span<const uint8_t> frame, const parsed_frame& pf) noexcept {
    if (pf.payload_len() < 4 || pf.payload_off() + 4u > frame.size()) {
        return 0;
    }
    return load_be32(frame.data() + pf.payload_off());
}

// Hot path. Last measured (perf/RESULTS.md "reflect_bench", 2026-11-23 evening, commit 0adc493,
// AMD EPYC Zen 4 KVM guest, TSC 2.6 GHz, g++ 12 -O2): the whole chain parse_frame +
// check_test_packet + reflect_prepare + reflect_finish takes ~123 on-CPU TSC cycles (722
// instructions) per IPv4 TWAMP Light packet with software checksum verification, ~112 (629)
// with NIC-verified checksums; STAMP IPv4 ~126 (732). The RFC wire fixes of 2026-12-03
// (perf/RESULTS.md "Wire conformance") added 5..18 instructions on these frames and no
// measurable cycles; re-using a 1,400-octet request's padding costs ~50 cycles (the memmove).
drop_reason reflect_prepare_into(std::span<uint8_t> buf, const parsed_frame& pf_in,
                                 const reflect_policy& policy, const reflect_params& params,
                                 pending_reply& out) noexcept {
    const bool stamp = policy.mode == test_mode::stamp;
    const std::size_t len = pf_in.payload_len();
    if (pf_in.kind != frame_kind::udp || pf_in.l3_end() > buf.size()) {
        return pf_in.reason != drop_reason::none ? pf_in.reason : drop_reason::udp_truncated;
    }
    if (len < sender::twamp_min_len) {
        return drop_reason::test_truncated;
    }
    if (pf_in.ip_version == 4 && pf_in.l3_hdr_len != ipv4_min_hdr_len) [[unlikely]] {
        return prepare_without_options(buf, pf_in, policy, params, out);
    }
    if (policy.auth != auth_mode::none) [[unlikely]] {
        return auth_prepare_into(buf, pf_in, policy, params, out); // auth.cpp
    }
    const parsed_frame& pf = pf_in;
    // A STAMP request shorter than the 44-octet base comes from a TWAMP Light sender: RFC 8762
    // §4.6 answers it with the base packet, in the default (NTP) timestamp format.
    const bool stamp_short = stamp && len < sender::stamp_len;
    // Symmetric size (RFC 6038): the reply is as long as the request, except that a request
    // shorter than the reflector's base (41 octets TWAMP, 44 STAMP) grows to exactly that.
    // Never more.
    const std::size_t new_len = std::max(len, base_len(policy.mode));
    const std::size_t grow = new_len - len;
    const std::size_t frame_len = pf.l3_end() + grow;
    if (frame_len > buf.size()) {
        return drop_reason::no_tailroom;
    }

    uint8_t* f = buf.data();
    uint8_t* ip = f + pf.l3_off;
    uint8_t* udp = f + pf.l4_off;
    uint8_t* pl = udp + udp_hdr_len;

    bool octets_moved = false;
    if (len > reflector::twamp_len && !stamp && !policy.symmetrical_size) {
        octets_moved = true;
        // RFC 5357 §4.2.1: the reflector "MAY re-use the Sender's Packet Padding ... and in
        // this case ... SHOULD truncate the padding such that the highest-number octets are
        // discarded": the sender's padding (octets 14..) comes back from octet 41 on, its
        // last 27 octets dropped. RFC 6038 reflected octets (the padding's first octets) land
        // at 41.. with it. Without symmetrical size only: with it the sender's padding already
        // starts at 41 (after 27 MBZ octets) and stays where it is.
        //
        // The received checksum is patched (RFC 1624) so the bookkeeping below sees a
        // consistent datagram, without summing the padding: the checksum verified, so the
        // padding's sum T (octets 14..len) is the complement of everything else's, the
        // pseudo-header, the UDP header and octets 0..13. The moved octets 14..len-27 sum to
        // M = T - tail (octets len-27..len); moved by 27, an odd count, their sum lands
        // byte-swapped (RFC 1071 §2(B)); the octets they replace (41..len) summed to
        // O = T - (octets 14..40).
        const uint16_t c = load_be16(udp + 6);
        if (c != 0) {
            uint64_t a = pseudo_partial(ip, pf.ip_version, pf.udp_len);
            a = csum_partial(udp, udp_hdr_len, a);
            a = csum_partial(pl, sender::twamp_min_len, a);
            const uint64_t t = ~a; // unfolded: -A
            const std::size_t tail_at = len - 27;
            uint64_t tail;
            if (tail_at & 1) {
                tail = csum_partial(pl + tail_at - 1, 28);
                tail = csum_acc(tail, ~csum_native16(static_cast<uint16_t>(pl[tail_at - 1] << 8)));
            } else {
                tail = csum_partial(pl + tail_at, 27);
            }
            const uint16_t m = csum_fold_native(csum_acc(t, ~tail));
            const uint16_t o = csum_fold_native(
                    csum_acc(t, ~csum_partial(pl + sender::twamp_min_len,
                                              reflector::twamp_len - sender::twamp_min_len)));
            const uint16_t m_swapped = static_cast<uint16_t>((m << 8) | (m >> 8));
            const uint16_t nc = csum_sub(csum_add(c, o), m_swapped);
            store_be16(udp + 6, nc == 0 ? 0xffff : nc);
        }
        std::memmove(pl + reflector::twamp_len, pl + sender::twamp_min_len,
                     len - reflector::twamp_len);
    }

    // Checksum bookkeeping before anything moves: the sum over the octets about to be rewritten,
    // and apart from it the sum of the sender's first 14 octets, which move to octets 24..37
    // (the same 16-bit lanes) unchanged. The new region's sum is then built from that and from
    // the values written, held in registers: reading back octets just stored one at a time
    // would miss store-to-load forwarding and stall.
    const uint16_t csum_in = load_be16(udp + 6);
    const std::size_t words_old = std::min(len, base_words_len(policy.mode));
    const std::size_t words_new = std::min(new_len, base_words_len(policy.mode));
    // Sequence Number, Timestamp, Error Estimate: octets 0..13, which move to 24..37 (the
    // same lanes). Two 8-octet loads (the second overlapping the first by two octets), held
    // for the stores below and summed from the registers: bytes 8..13 are the second word's
    // upper six (little-endian), the first word's lanes the rest.
    uint64_t sf_lo, sf_hi;
    std::memcpy(&sf_lo, pl, 8);
    std::memcpy(&sf_hi, pl + 6, 8);
    uint64_t head = 0;
    uint64_t region_old = 0;
    if (csum_in != 0) {
        if constexpr (std::endian::native == std::endian::little) {
            head = csum_acc(sf_lo, sf_hi >> 16);
        } else {
            head = csum_partial(pl, sender::ssid);
        }
        // The padding move (above) changed octet 41 after check_test_packet() summed it.
        region_old = params.verified_region_sum && !octets_moved
                             ? *params.verified_region_sum
                             : csum_partial(pl + sender::ssid, words_old - sender::ssid, head);
    }
    const uint32_t sender_seq = load_be32(pl + sender::seq);
    // Octet 41 stays in a TWAMP reply of 42 octets or more (padding); STAMP zeroes it.
    const uint8_t octet41 =
            !stamp && words_new > reflector::twamp_len ? pl[reflector::twamp_len] : 0;

    // L2: back to the sender, from us; VLAN tags stay.
    uint8_t dst_mac[6];
    std::memcpy(dst_mac, f, 6);
    std::memcpy(f, f + 6, 6);
    std::memcpy(f + 6, params.our_mac ? params.our_mac : dst_mac, 6);

    // L3: swap addresses, TTL/Hop Limit 255, DS field per context. The received DS field is
    // kept for the STAMP TLVs (Class of Service, RFC 8972 §4.4).
    uint8_t received_ds;
    if (pf.ip_version == 4) {
        const uint16_t hc = load_be16(ip + 10);
        const uint16_t w0 = load_be16(ip);
        const uint16_t w2 = load_be16(ip + 2);
        const uint16_t w8 = load_be16(ip + 8);
        // The new words in registers (no read-back, see above).
        received_ds = static_cast<uint8_t>(w0);
        const uint8_t ds = reply_ds_field(policy.dscp, received_ds);
        const uint16_t n0 = static_cast<uint16_t>((w0 & 0xff00) | ds);
        const uint16_t n2 = static_cast<uint16_t>(w2 + grow);
        const uint16_t n8 = static_cast<uint16_t>(0xff00 | (w8 & 0x00ff));
        ip[1] = ds;
        ip[8] = 255;
        if (grow) {
            store_be16(ip + 2, n2);
        }
        uint8_t a[4];
        std::memcpy(a, ip + 12, 4);
        std::memcpy(ip + 12, ip + 16, 4);
        std::memcpy(ip + 16, a, 4);
        // RFC 1624 eqn. 3 incremental update, the three changed words in one fold; the swap
        // leaves the sum alone.
        const uint64_t d = uint64_t{static_cast<uint16_t>(~hc)} + static_cast<uint16_t>(~w0) + n0 +
                           static_cast<uint16_t>(~w2) + n2 + static_cast<uint16_t>(~w8) + n8;
        store_be16(ip + 10, static_cast<uint16_t>(~csum_fold64(d)));
    } else {
        uint32_t w0 = load_be32(ip);
        received_ds = static_cast<uint8_t>(w0 >> 20);
        const uint8_t tc = reply_ds_field(policy.dscp, received_ds);
        w0 = (w0 & 0xf00fffffu) | (uint32_t{tc} << 20);
        store_be32(ip, w0);
        ip[7] = 255;
        if (grow) {
            store_be16(ip + 4, static_cast<uint16_t>(load_be16(ip + 4) + grow));
        }
        uint8_t a[16];
        std::memcpy(a, ip + 8, 16);
        std::memcpy(ip + 8, ip + 24, 16);
        std::memcpy(ip + 24, a, 16);
    }

    // L4: swap ports.
    uint8_t ports[4];
    std::memcpy(ports, udp, 4);
    std::memcpy(udp, ports + 2, 2);
    std::memcpy(udp + 2, ports, 2);
    if (grow) {
        store_be16(udp + 4, static_cast<uint16_t>(udp_hdr_len + new_len));
        std::memset(pl + len, 0, grow);
    }

    // Test packet: the sender's fields move to their reflector positions, ours go in front.
    // The sender's 14 octets from the registers loaded above: a 14-octet stack buffer was
    // written as two overlapping 8-octet stores and read back across both, which
    // store-to-load forwarding cannot serve (perf: ~20 % of this function's samples).
    const uint16_t sender_err = load_be16(pl + sender::error_estimate);
    ts_format fmt = ts_format::ntp;
    // A short STAMP request (TWAMP Light sender, RFC 8762 §4.6) gets the default NTP format
    // whatever its Z bit says; a context that forces PTP is the operator's explicit choice.
    if (policy.timestamps == ts_policy::ptp ||
        (policy.timestamps == ts_policy::auto_z && !stamp_short &&
         (sender_err & error_estimate_z_bit))) {
        fmt = ts_format::ptp;
    }
    std::memcpy(pl + reflector::sender_seq, &sf_lo, 8);
    std::memcpy(pl + reflector::sender_seq + 6, &sf_hi, 8);
    pl[reflector::mbz2] = 0;
    pl[reflector::mbz2 + 1] = 0;
    pl[reflector::sender_ttl] = pf.ttl;
    // Stateless: the sender's Sequence Number stays where it is (RFC 8762 §4.3.1).
    const uint32_t seq = params.stateful ? params.reflector_seq : sender_seq;
    if (params.stateful) {
        store_be32(pl + reflector::seq, seq);
    }
    std::memset(pl + reflector::timestamp, 0, 8); // T3: reflect_finish()
    error_estimate ours = params.our_error;
    ours.ptp = fmt == ts_format::ptp;
    if (ours.multiplier == 0) {
        ours.multiplier = 1; // RFC 4656 §4.1.2: zero is invalid
    }
    const uint16_t err = ours.encode();
    store_be16(pl + reflector::error_estimate, err);
    uint16_t ssid = 0;
    if (stamp && !stamp_short) {
        ssid = load_be16(pl + reflector::ssid); // stays (RFC 8972 §3)
    } else {
        // TWAMP: MBZ. Short STAMP: the octets are the TWAMP sender's padding, not an SSID
        // (RFC 8762 §4.2.1 has them MBZ, RFC 8972 §3 SSID only from a STAMP sender).
        pl[reflector::mbz1] = 0;
        pl[reflector::mbz1 + 1] = 0;
    }
    const uint64_t t2 = params.t2_encoded && params.t2_encoded->ns == params.t2_ns
                                ? params.t2_encoded->get(fmt)
                                : encode_timestamp(fmt, params.t2_ns, params.tai_utc_offset_s);
    store_be64(pl + reflector::receive_timestamp, t2);

    // STAMP TLVs, out of line (stamp_tlvs()): what they change of the UDP checksum (unfolded),
    // and 1 + the area offset of the Timestamp Out octet.
    uint64_t tlv_delta = 0;
    uint16_t ts_out_at = 0;
    out.auth = 0; // an HMAC TLV (stamp_tlvs) is the only thing left to auth_finish here
    if (stamp) {
        std::memset(pl + reflector::stamp_mbz3, 0, 3);
        if (len > stamp_tlv_offset) { // most STAMP packets carry none: no call (perf: 7 %)
            const drop_reason r = stamp_tlvs(f, ip, pl, len, stamp_tlv_offset, pf, fmt, received_ds,
                                             policy, params, tlv_delta, ts_out_at, out);
            if (r != drop_reason::none) {
                // RFC 9503 §4.1.1 "No Reply Requested" (or no_key). The buffer is the reply
                // half-built: the caller frees it.
                return r;
            }
        }
    }

    out.ts_out_off =
            ts_out_at ? static_cast<uint16_t>(pf.payload_off() + stamp_tlv_offset + ts_out_at - 1)
                      : 0;
    out.len = static_cast<uint16_t>(frame_len);
    out.t3_off = static_cast<uint16_t>(pf.payload_off() + reflector::timestamp);
    out.csum_off = static_cast<uint16_t>(pf.l4_off + 6);
    out.format = fmt;
    out.stamp_short = stamp_short;
    if (params.l4_cksum_offload) {
        // The device sums the datagram: the checksum field holds the pseudo-header's sum (not
        // complemented), as DPDK's TX checksum offload wants it (rte_ipv4_phdr_cksum).
        store_be16(udp + 6,
                   csum_fold_native(pseudo_partial(ip, pf.ip_version,
                                                   static_cast<uint16_t>(udp_hdr_len + new_len))));
        out.partial = 0;
        out.offloaded = true;
        return drop_reason::none;
    }
    out.offloaded = false;

    // UDP checksum of everything but T3. Sums stay unfolded and are folded once; a difference
    // is the addition of a complement.
    uint64_t acc;
    if (csum_in != 0) {
        // Verified before (software or NIC): the received checksum carries the sum of all that
        // did not change. The swaps leave pseudo-header and header sums alone; only the length
        // (counted twice, pseudo-header and header), the rewritten region and the TLV octets
        // reflect_tlvs() changed (flags, handlers' values: its sums) differ.
        // The new region, word by word as written above: Sequence Number, T3 (zero for now),
        // Error Estimate, SSID or MBZ, T2, the sender's 14 octets (head), MBZ, Sender TTL and,
        // in the odd lane, octet 41. 32-bit fields count as 32-bit numbers: the fold makes
        // them the sum of their 16-bit halves.
        const uint64_t fields = uint64_t{seq} + err + ssid + (t2 >> 32) + (t2 & 0xffffffffULL) +
                                (uint32_t{pf.ttl} << 8) + octet41;
        acc = csum_acc(head, csum_native16(csum_fold64(fields)));
        acc = csum_acc(acc, ~region_old);
        acc = csum_acc(acc, csum_native16(static_cast<uint16_t>(~csum_in)));
        if (grow) {
            const uint16_t old_ulen = static_cast<uint16_t>(udp_hdr_len + len);
            const uint16_t new_ulen = static_cast<uint16_t>(udp_hdr_len + new_len);
            acc = csum_acc(acc, 2 * csum_native16(static_cast<uint16_t>(~old_ulen)));
            acc = csum_acc(acc, 2 * csum_native16(new_ulen));
        }
        acc = csum_acc(acc, tlv_delta);
    } else {
        // No checksum received: the whole datagram, as rewritten (T3 still zero, TLV flags
        // already final).
        acc = pseudo_partial(ip, pf.ip_version, static_cast<uint16_t>(udp_hdr_len + new_len));
        acc = csum_partial(udp, 6, acc);
        acc = csum_partial(pl, new_len, acc);
    }
    out.partial = csum_fold_native(acc);
    return drop_reason::none;
}

reflect_result reflect_prepare(std::span<uint8_t> buf, const parsed_frame& pf,
                               const reflect_policy& policy,
                               const reflect_params& params) noexcept {
    reflect_result res;
    res.reason = reflect_prepare_into(buf, pf, policy, params, res.reply);
    res.v = res.reason == drop_reason::none ? verdict::reflect : verdict::drop;
    return res; // a drop leaves res.reply as initialised, empty
}

void reflect_finish(uint8_t* frame, const pending_reply& r, uint64_t t3_ns,
                    int32_t tai_utc_offset_s) noexcept {
    detail::finish_with(frame, r, encode_timestamp(r.format, t3_ns, tai_utc_offset_s));
}

void reflect_set_ts_out(uint8_t* frame, pending_reply& r, uint8_t method) noexcept {
    if (r.ts_out_off == 0) {
        return;
    }
    uint8_t& o = frame[r.ts_out_off];
    // Its lane in the UDP datagram's 16-bit words (the datagram starts at csum_off - 6).
    const bool high = ((r.ts_out_off - (r.csum_off - 6)) & 1) == 0;
    const auto lane = [high](uint8_t v) { return static_cast<uint16_t>(high ? v << 8 : v); };
    if (!r.offloaded) {
        r.partial = csum_add(csum_sub(r.partial, lane(o)), lane(method));
    }
    o = method;
}

void reflect_finish(uint8_t* frame, const pending_reply& r, uint64_t t3_ns,
                    int32_t tai_utc_offset_s, error_estimate error) noexcept {
    // The Error Estimate follows T3 in both reply layouts (RFC 5357 §4.2.1, RFC 8762 §4.3).
    uint8_t* e = frame + r.t3_off + 8;
    const uint16_t old_err = load_be16(e);
    error.ptp = (old_err & 0x4000) != 0; // Z as reflect_prepare chose it
    if (error.multiplier == 0) {
        error.multiplier = 1;
    }
    const uint16_t new_err = error.encode();
    store_be16(e, new_err);
    if (r.offloaded) {
        detail::finish_with(frame, r, encode_timestamp(r.format, t3_ns, tai_utc_offset_s));
        return;
    }
    pending_reply q = r;
    // The partial sum counted the old value: take it out, count the new one.
    q.partial = csum_fold64(uint64_t{r.partial} + static_cast<uint16_t>(~old_err) + new_err);
    detail::finish_with(frame, q, encode_timestamp(r.format, t3_ns, tai_utc_offset_s));
}

reflect_result reflect(std::span<uint8_t> buf, std::size_t frame_len, const reflect_policy& policy,
                       const reflect_params& params, uint64_t t3_ns) noexcept {
    frame_len = std::min(frame_len, buf.size());
    std::span<const uint8_t> frame(buf.data(), frame_len);
    parsed_frame pf = parse_frame(frame);
    switch (pf.kind) {
    case frame_kind::drop:
        return drop(pf.reason);
    case frame_kind::non_ip:
    case frame_kind::ip_other:
        return {verdict::to_kernel, drop_reason::none, {}};
    case frame_kind::udp:
        break;
    }
    verified_sums sums;
    drop_reason r = check_test_packet(frame, pf, policy, params.ipv4_checksum_verified,
                                      params.l4_checksum_verified, &sums);
    if (r != drop_reason::none) {
        return drop(r);
    }
    reflect_params p = params;
    p.verified_region_sum = sums.region_known ? &sums.region : nullptr;
    auth_finish_keys keys;
    p.auth_out = &keys;
    reflect_result res = reflect_prepare(buf, pf, policy, p);
    if (res.v == verdict::reflect) {
        reflect_finish(buf.data(), res.reply, t3_ns, params.tai_utc_offset_s);
        if (res.reply.auth) {
            auth_finish(buf.data(), res.reply, keys);
        }
    }
    return res;
}

} // namespace twamp::proto
