#include "twamp/sender/packet.hpp"

#include <algorithm>

#include "twamp/proto/bytes.hpp"
#include "twamp/proto/test_packet.hpp"
#include "twamp/proto/tlv.hpp"
#include "twamp/sender/auth.hpp"

namespace twamp::sender {

using namespace twamp::proto;

bool valid_request_size(enum mode m, std::size_t size, bool auth) noexcept {
    if (m == mode::stamp) {
        const std::size_t base = auth ? stamp_auth_size : stamp_min_size;
        return size == base || (size >= base + tlv_hdr_len && size <= max_size_ipv6);
    }
    return size >= (auth ? twamp_auth_min_size : light_min_size) && size <= max_size_ipv6;
}

std::size_t min_reply_size(enum mode m, bool auth) noexcept {
    if (auth) {
        return auth_reply_size;
    }
    return m == mode::stamp ? reflector::stamp_len : reflector::twamp_len;
}

std::size_t init_request(std::span<uint8_t> out, enum mode m, uint16_t ssid,
                         std::span<const tlv_spec> tlvs, bool auth) noexcept {
    std::fill(out.begin(), out.end(), uint8_t{0});
    if (m != mode::stamp) {
        return 0; // TWAMP: MBZ-free padding, all zeros (RFC 5357 §4.1.2 allows any)
    }
    store_be16(out.data() + (auth ? auth_off::ssid : proto::sender::ssid), ssid);
    const std::size_t base = auth ? stamp_auth_size : stamp_tlv_offset;
    std::size_t hmac_at = 0;
    std::size_t at = base;
    for (const tlv_spec& t : tlvs) {
        if (t.hmac) {
            hmac_at = at;
        }
        at += write_tlvs(out.subspan(at), std::span<const tlv_spec>(&t, 1));
    }
    if (out.size() >= at + tlv_hdr_len) {
        uint8_t* t = out.data() + at;
        t[0] = tlv_flag_u; // RFC 8972 §4: the Session-Sender sets U; the reflector rewrites it
        t[1] = static_cast<uint8_t>(tlv_type::extra_padding);
        store_be16(t + 2, static_cast<uint16_t>(out.size() - at - tlv_hdr_len));
    }
    return hmac_at;
}

void stamp_request(std::span<uint8_t> out, uint32_t seq, uint64_t t1_wire, proto::error_estimate ee,
                   bool auth) noexcept {
    store_be32(out.data() + (auth ? auth_off::seq : proto::sender::seq), seq);
    store_be64(out.data() + (auth ? auth_off::timestamp : proto::sender::timestamp), t1_wire);
    store_be16(out.data() + (auth ? auth_off::error_estimate : proto::sender::error_estimate),
               ee.encode());
}

int64_t reply::t2_ns(int32_t tai_utc_offset_s) const noexcept {
    return static_cast<int64_t>(decode_timestamp(error.ptp ? ts_format::ptp : ts_format::ntp,
                                                 t2_wire, tai_utc_offset_s));
}

int64_t reply::t3_ns(int32_t tai_utc_offset_s) const noexcept {
    return static_cast<int64_t>(decode_timestamp(error.ptp ? ts_format::ptp : ts_format::ntp,
                                                 t3_wire, tai_utc_offset_s));
}

std::optional<reply> parse_reply(std::span<const uint8_t> payload, enum mode m, reply_error* err,
                                 bool auth) noexcept {
    if (payload.size() < min_reply_size(m, auth)) {
        if (err) {
            *err = reply_error::too_short;
        }
        return std::nullopt;
    }
    const uint8_t* p = payload.data();
    reply r;
    r.length = payload.size();
    if (auth) {
        r.seq = load_be32(p + auth_off::seq);
        r.t3_wire = load_be64(p + auth_off::timestamp);
        r.error = error_estimate::decode(load_be16(p + auth_off::error_estimate));
        r.t2_wire = load_be64(p + auth_off::receive_timestamp);
        r.sender_seq = load_be32(p + auth_off::sender_seq);
        r.sender_timestamp = load_be64(p + auth_off::sender_timestamp);
        r.sender_error = load_be16(p + auth_off::sender_error_estimate);
        r.sender_ttl = p[auth_off::sender_ttl];
    } else {
        r.seq = load_be32(p + reflector::seq);
        r.t3_wire = load_be64(p + reflector::timestamp);
        r.error = error_estimate::decode(load_be16(p + reflector::error_estimate));
        r.t2_wire = load_be64(p + reflector::receive_timestamp);
        r.sender_seq = load_be32(p + reflector::sender_seq);
        r.sender_timestamp = load_be64(p + reflector::sender_timestamp);
        r.sender_error = load_be16(p + reflector::sender_error_estimate);
        r.sender_ttl = p[reflector::sender_ttl];
    }
    if (m == mode::stamp) {
        r.ssid = load_be16(p + (auth ? auth_off::ssid : reflector::ssid));
        tlv_walker w(payload.subspan(auth ? auth_off::len : stamp_tlv_offset));
        tlv_view t;
        while (w.next(t)) {
            ++r.tlvs;
            if (t.flags & tlv_flag_u) {
                ++r.tlvs_unrecognized;
            }
            if (t.flags & tlv_flag_m) {
                r.tlvs_malformed = true;
            }
        }
        if (w.malformed()) {
            ++r.tlvs;
            r.tlvs_malformed = true;
        }
    }
    if (err) {
        *err = reply_error::none;
    }
    return r;
}

} // namespace twamp::sender
