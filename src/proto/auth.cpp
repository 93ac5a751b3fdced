// The authenticated and encrypted layouts (auth.hpp): the rewrite and the finishing step.
// Off the fused fast path; allocation-free, the keys prepared on the slow path.
#include "twamp/proto/auth.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "reflect_detail.hpp"

#include "twamp/crypto/crypto.hpp"
#include "twamp/proto/bytes.hpp"
#include "twamp/proto/checksum.hpp"
#include "twamp/proto/reflect.hpp"
#include "twamp/proto/test_packet.hpp"

namespace twamp::proto {

namespace {

constexpr std::size_t block = crypto::aes_block;

// The UDP pseudo-header's unfolded sum (RFC 768; RFC 8200 §8.1).
uint64_t pseudo_sum(const uint8_t* ip, uint8_t version, uint16_t udp_len) noexcept {
    const uint64_t acc = csum_native16(ipproto_udp) + csum_native16(udp_len);
    return version == 4 ? csum_partial(ip + 12, 8, acc) : csum_partial(ip + 8, 32, acc);
}

// L2-L4 turned around for the reply (as reflect_prepare does for the unauthenticated layouts):
// MACs, addresses and ports swapped, TTL / Hop Limit 255, the DS field per the policy with CE
// never originated, the lengths grown by `grow`, the IPv4 header checksum recomputed. Returns
// the received DS field.
uint8_t turn_around(uint8_t* f, const parsed_frame& pf, const reflect_policy& policy,
                    const reflect_params& params, std::size_t grow) noexcept {
    uint8_t mac[6];
    std::memcpy(mac, f, 6);
    std::memcpy(f, f + 6, 6);
    std::memcpy(f + 6, params.our_mac ? params.our_mac : mac, 6);
    uint8_t* ip = f + pf.l3_off;
    uint8_t received_ds;
    if (pf.ip_version == 4) {
        received_ds = ip[1];
        ip[1] = reply_ds_field(policy.dscp, received_ds);
        ip[8] = 255;
        store_be16(ip + 2, static_cast<uint16_t>(load_be16(ip + 2) + grow));
        uint8_t a[4];
        std::memcpy(a, ip + 12, 4);
        std::memcpy(ip + 12, ip + 16, 4);
        std::memcpy(ip + 16, a, 4);
        store_be16(ip + 10, 0);
        store_be16(ip + 10, internet_checksum(std::span<const uint8_t>(ip, ipv4_min_hdr_len)));
    } else {
        uint32_t w0 = load_be32(ip);
        received_ds = static_cast<uint8_t>(w0 >> 20);
        const uint8_t tc = reply_ds_field(policy.dscp, received_ds);
        store_be32(ip, (w0 & 0xf00fffffu) | (uint32_t{tc} << 20));
        ip[7] = 255;
        store_be16(ip + 4, static_cast<uint16_t>(load_be16(ip + 4) + grow));
        uint8_t a[16];
        std::memcpy(a, ip + 8, 16);
        std::memcpy(ip + 8, ip + 24, 16);
        std::memcpy(ip + 24, a, 16);
    }
    uint8_t* udp = f + pf.l4_off;
    uint8_t ports[4];
    std::memcpy(ports, udp, 4);
    std::memcpy(udp, ports + 2, 2);
    std::memcpy(udp + 2, ports, 2);
    store_be16(udp + 4, static_cast<uint16_t>(pf.udp_len + grow));
    return received_ds;
}

struct request_keys {
    const crypto::aes128* aes = nullptr;
    const crypto::hmac_key* key = nullptr;
    uint16_t ssid = 0;
};

// The request's keys (STAMP: its SSID's); no_key when there are none.
drop_reason keys_of(const uint8_t* pl, const reflect_policy& policy, request_keys& k) noexcept {
    if (policy.auth == auth_mode::stamp_authenticated) {
        k.ssid = load_be16(pl + auth_sender::ssid);
        k.key = policy.keys ? policy.keys->for_ssid(k.ssid) : nullptr;
        return k.key ? drop_reason::none : drop_reason::no_key;
    }
    k.aes = policy.keys ? policy.keys->aes : nullptr;
    k.key = policy.keys ? policy.keys->hmac : nullptr;
    return k.aes && k.key ? drop_reason::none : drop_reason::no_key;
}

// Verifies the request (length checked by the caller); `clear` holds its first two blocks as
// received and gets their plaintext.
drop_reason open(const uint8_t* pl, const reflect_policy& policy, const request_keys& k,
                 uint8_t* clear) noexcept {
    if (policy.auth == auth_mode::stamp_authenticated) {
        return k.key->verify128(std::span<const uint8_t>(pl, auth_sender::stamp_hmac),
                                pl + auth_sender::stamp_hmac)
                       ? drop_reason::none
                       : drop_reason::hmac_failed;
    }
    // perfSONAR owamp/endpoint.c run_reflector: authenticated, block 0 ECB and the HMAC
    // over its plaintext; encrypted, blocks 0..1 CBC with IV = 0 and the HMAC over both.
    std::size_t covered = block;
    if (policy.auth == auth_mode::twamp_encrypted) {
        std::array<uint8_t, 16> iv{};
        k.aes->cbc_decrypt(iv, clear, 2);
        covered = 2 * block;
    } else {
        k.aes->ecb_decrypt(clear, 1);
    }
    return k.key->verify128(std::span<const uint8_t>(clear, covered), pl + auth_sender::twamp_hmac)
                   ? drop_reason::none
                   : drop_reason::hmac_failed;
}

} // namespace

drop_reason auth_open_request(std::span<uint8_t> frame, const parsed_frame& pf,
                              const reflect_policy& policy) noexcept {
    const std::size_t len = pf.payload_len();
    if (len < (policy.auth == auth_mode::stamp_authenticated ? auth_sender::stamp_len
                                                             : auth_sender::twamp_len) ||
        pf.payload_off() + len > frame.size()) {
        return drop_reason::auth_truncated;
    }
    uint8_t* pl = frame.data() + pf.payload_off();
    request_keys k;
    drop_reason why = keys_of(pl, policy, k);
    if (why != drop_reason::none) {
        return why;
    }
    uint8_t clear[2 * block];
    std::memcpy(clear, pl, sizeof(clear));
    why = open(pl, policy, k, clear);
    if (why == drop_reason::none && policy.auth != auth_mode::stamp_authenticated) {
        std::memcpy(pl, clear, sizeof(clear));
    }
    return why;
}

drop_reason auth_prepare_into(std::span<uint8_t> buf, const parsed_frame& pf,
                              const reflect_policy& policy, const reflect_params& params,
                              pending_reply& out) noexcept {
    const bool stamp = policy.auth == auth_mode::stamp_authenticated;
    const bool encrypted = policy.auth == auth_mode::twamp_encrypted;
    const std::size_t len = pf.payload_len();
    if (len < (stamp ? auth_sender::stamp_len : auth_sender::twamp_len)) {
        return drop_reason::auth_truncated;
    }
    uint8_t* f = buf.data();
    uint8_t* pl = f + pf.payload_off();

    // The request's fields, decrypted and verified before any is used (RFC 4656 §4.1.2; RFC
    // 8762 §4.4: a packet that fails is discarded). `clear`: its first two blocks in plaintext
    // (already so when auth_open_request() opened it in place).
    uint8_t clear[2 * block];
    std::memcpy(clear, pl, sizeof(clear));
    request_keys k;
    drop_reason why = keys_of(pl, policy, k);
    if (why != drop_reason::none || !params.auth_out) {
        return drop_reason::no_key;
    }
    if (!params.auth_opened) {
        why = open(pl, policy, k, clear);
        if (why != drop_reason::none) {
            return why;
        }
    }
    const crypto::aes128* aes = k.aes;
    const crypto::hmac_key* key = k.key;
    const uint16_t ssid = k.ssid;
    const uint32_t sender_seq = load_be32(clear + auth_sender::seq);
    uint8_t sender_ts[8];
    std::memcpy(sender_ts, (encrypted ? clear : pl) + auth_sender::timestamp, 8);
    const uint16_t sender_err = load_be16((encrypted ? clear : pl) + auth_sender::error_estimate);

    // The reply's length: STAMP as long as the request (its TLVs after the 112-octet base stay
    // where they are); TWAMP at least the 112-octet base, the sender's padding (from octet 48)
    // re-used from octet 112 on and truncated by its highest-numbered 64 octets (RFC 5357
    // §4.2.1), as perfSONAR does; with RFC 6038 symmetrical size the padding stays in place.
    const std::size_t new_len = std::max(len, auth_reflector::len);
    const std::size_t grow = new_len - len;
    if (pf.l3_end() + grow > buf.size()) {
        return drop_reason::no_tailroom;
    }
    if (!stamp && !policy.symmetrical_size && len > auth_reflector::len) {
        std::memmove(pl + auth_reflector::len, pl + auth_sender::twamp_len,
                     len - auth_reflector::len);
    }
    const uint8_t received_ds = turn_around(f, pf, policy, params, grow);
    if (grow) {
        std::memset(pl + len, 0, grow);
    }

    ts_format fmt = ts_format::ntp;
    if (policy.timestamps == ts_policy::ptp ||
        (policy.timestamps == ts_policy::auto_z && (sender_err & error_estimate_z_bit))) {
        fmt = ts_format::ptp;
    }
    error_estimate ours = params.our_error;
    ours.ptp = fmt == ts_format::ptp;
    if (ours.multiplier == 0) {
        ours.multiplier = 1; // RFC 4656 §4.1.2: zero is invalid
    }
    const uint64_t t2 = params.t2_encoded && params.t2_encoded->ns == params.t2_ns
                                ? params.t2_encoded->get(fmt)
                                : encode_timestamp(fmt, params.t2_ns, params.tai_utc_offset_s);

    // The 112-octet base in plaintext: MBZ everywhere but the fields.
    std::memset(pl, 0, auth_reflector::len);
    store_be32(pl + auth_reflector::seq, params.stateful ? params.reflector_seq : sender_seq);
    store_be16(pl + auth_reflector::error_estimate, ours.encode()); // T3: reflect_finish()
    if (stamp) {
        store_be16(pl + auth_reflector::ssid, ssid); // RFC 8972 §3
    }
    store_be64(pl + auth_reflector::receive_timestamp, t2);
    store_be32(pl + auth_reflector::sender_seq, sender_seq);
    std::memcpy(pl + auth_reflector::sender_timestamp, sender_ts, 8);
    store_be16(pl + auth_reflector::sender_error_estimate, sender_err);
    pl[auth_reflector::sender_ttl] = pf.ttl;

    uint16_t ts_out_at = 0;
    out.auth = 0;
    if (stamp && len > auth_sender::stamp_len) {
        uint64_t unused = 0; // the checksum is summed whole below
        const drop_reason r =
                detail::stamp_tlvs(f, f + pf.l3_off, pl, len, auth_sender::stamp_len, pf, fmt,
                                   received_ds, policy, params, unused, ts_out_at, out);
        if (r != drop_reason::none) {
            return r;
        }
    }

    out.len = static_cast<uint16_t>(pf.l3_end() + grow);
    out.t3_off = static_cast<uint16_t>(pf.payload_off() + auth_reflector::timestamp);
    out.csum_off = static_cast<uint16_t>(pf.l4_off + 6);
    out.format = fmt;
    out.stamp_short = false;
    out.ts_out_off = ts_out_at ? static_cast<uint16_t>(pf.payload_off() + auth_sender::stamp_len +
                                                       ts_out_at - 1)
                               : 0;
    out.auth |= stamp ? auth_todo::stamp_hmac
                      : (encrypted ? auth_todo::twamp_cbc : auth_todo::twamp_ecb);
    params.auth_out->aes = aes;
    params.auth_out->hmac = key;

    uint8_t* ip = f + pf.l3_off;
    uint8_t* udp = f + pf.l4_off;
    const uint16_t ulen = static_cast<uint16_t>(udp_hdr_len + new_len);
    if (params.l4_cksum_offload) {
        store_be16(udp + 6, csum_fold_native(pseudo_sum(ip, pf.ip_version, ulen)));
        out.partial = 0;
        out.offloaded = true;
        return drop_reason::none;
    }
    // Everything but T3 (zero for now), in plaintext: reflect_finish adds T3, auth_finish the
    // difference its HMACs and encryption make.
    uint64_t acc = pseudo_sum(ip, pf.ip_version, ulen);
    acc = csum_partial(udp, 6, acc);
    acc = csum_partial(pl, new_len, acc);
    out.partial = csum_fold_native(acc);
    out.offloaded = false;
    return drop_reason::none;
}

void auth_finish(uint8_t* frame, const pending_reply& r, const auth_finish_keys& keys) noexcept {
    uint8_t* pl = frame + r.csum_off + 2; // the payload: after the checksum's 2 octets
    uint8_t* const hmac_tlv = (r.auth & auth_todo::hmac_tlv) ? frame + keys.hmac_tlv_off : nullptr;
    const bool base =
            (r.auth & (auth_todo::twamp_ecb | auth_todo::twamp_cbc | auth_todo::stamp_hmac)) != 0;
    // The checksum's change: the octets about to change, summed before and after. The base
    // starts at an even offset of the datagram; the HMAC TLV's Value may not (a TLV before it
    // of odd Length): its sum then goes in the other lanes (RFC 1071 §2(B)).
    uint64_t before = 0, after = 0;
    const bool csum = !r.offloaded;
    const std::size_t tlv_lane =
            hmac_tlv ? ((keys.hmac_tlv_off + tlv_hdr_len - (r.csum_off - 6)) & 1) : 0;
    const auto lane_sum = [](const uint8_t* p, std::size_t n, std::size_t odd) {
        const uint64_t s = csum_partial(p, n);
        if (!odd) {
            return s;
        }
        const uint16_t f16 = csum_fold_native(s);
        return csum_native16(static_cast<uint16_t>((f16 << 8) | (f16 >> 8)));
    };
    if (csum) {
        if (base) {
            before = csum_partial(pl, auth_reflector::len);
        }
        if (hmac_tlv) {
            before = csum_acc(before, lane_sum(hmac_tlv + tlv_hdr_len, crypto::mac_len, tlv_lane));
        }
    }
    if (hmac_tlv && keys.hmac) {
        // RFC 8972 §4.8: over the reply's Sequence Number and the TLVs before this one, as sent
        // (the first four octets of the payload are in plaintext here: STAMP only).
        const uint8_t* area = pl + auth_sender::stamp_len;
        if (!(r.auth & auth_todo::stamp_hmac)) {
            area = pl + stamp_tlv_offset;
        }
        const auto mac = keys.hmac->mac128(
                {std::span<const uint8_t>(pl, 4),
                 std::span<const uint8_t>(area, static_cast<std::size_t>(hmac_tlv - area))});
        std::memcpy(hmac_tlv + tlv_hdr_len, mac.data(), crypto::mac_len);
    }
    if (r.auth & auth_todo::stamp_hmac) {
        const auto mac = keys.hmac->mac128(std::span<const uint8_t>(pl, auth_reflector::hmac));
        std::memcpy(pl + auth_reflector::hmac, mac.data(), crypto::mac_len);
    } else if (r.auth & auth_todo::twamp_cbc) {
        const auto mac = keys.hmac->mac128(std::span<const uint8_t>(pl, auth_reflector::hmac));
        std::memcpy(pl + auth_reflector::hmac, mac.data(), crypto::mac_len);
        std::array<uint8_t, 16> iv{};
        keys.aes->cbc_encrypt(iv, pl, auth_reflector::hmac / block);
    } else if (r.auth & auth_todo::twamp_ecb) {
        const auto mac = keys.hmac->mac128(std::span<const uint8_t>(pl, block));
        std::memcpy(pl + auth_reflector::hmac, mac.data(), crypto::mac_len);
        keys.aes->ecb_encrypt(pl, 1);
    }
    if (!csum) {
        return;
    }
    if (base) {
        after = csum_partial(pl, auth_reflector::len);
    }
    if (hmac_tlv) {
        after = csum_acc(after, lane_sum(hmac_tlv + tlv_hdr_len, crypto::mac_len, tlv_lane));
    }
    uint8_t* c = frame + r.csum_off;
    const uint16_t old = load_be16(c);
    // ~new = ~old - before + after (one's complement); 0 is sent as 0xffff (RFC 768).
    const uint64_t s =
            csum_acc(csum_acc(csum_native16(static_cast<uint16_t>(~old)), ~before), after);
    const uint16_t n = static_cast<uint16_t>(~csum_fold_native(s));
    store_be16(c, n == 0 ? 0xffff : n);
}

} // namespace twamp::proto
