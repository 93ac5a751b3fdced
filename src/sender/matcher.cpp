#include "twamp/sender/matcher.hpp"

#include <array>

#include "twamp/proto/test_packet.hpp"

namespace twamp::sender {

void reply_matcher::record_send(int64_t t_mono, int64_t t1, uint64_t t1_wire, uint32_t global,
                                bool failed) {
    sent_rec r;
    r.t_mono = t_mono;
    r.t1 = t1;
    r.t1_wire = t1_wire;
    r.global = global;
    if (failed) {
        ++send_errors_;
        r.state = rec_state::lost;
    } else {
        ++outstanding_;
    }
    sent_.push_back(r);
    ++sent_total_;
    trim();
}

void reply_matcher::trim() {
    // Settled records beyond the history go; outstanding ones (at or after expire_idx_) stay.
    while (!sent_.empty() && base_ < expire_idx_ && expire_idx_ - base_ > history) {
        sent_.pop_front();
        ++base_;
    }
}

match_result reply_matcher::invalid_reply(match_result m, const char* why) noexcept {
    ++invalid_;
    m.verdict = reply_verdict::invalid;
    m.why = why;
    return m;
}

match_result reply_matcher::integrity_failure(match_result m, const char* why) noexcept {
    ++integrity_failures_;
    m.verdict = reply_verdict::integrity;
    m.why = why;
    return m;
}

match_result reply_matcher::match(std::span<const uint8_t> payload, bool from_peer, int64_t t4,
                                  int32_t tai_utc_offset_s) {
    match_result m;
    // The socket is connected, so the kernel already filtered the source; checked again so a
    // reply can never be credited to the wrong peer.
    if (!from_peer) {
        return invalid_reply(m, "from another address or port");
    }
    const bool auth = auth_.layout();
    std::array<uint8_t, auth_off::len> plain{};
    std::span<const uint8_t> fields = payload;
    if (auth) {
        if (payload.size() < auth_off::len) {
            return invalid_reply(m, "shorter than an authenticated reply (112 octets)");
        }
        if (auth_.twamp != nullptr) {
            if (!open_twamp_reply(payload, auth_.encrypted, *auth_.twamp, plain)) {
                return integrity_failure(m, "HMAC does not verify");
            }
            fields = plain;
        } else if (!verify_stamp(payload, *auth_.stamp)) {
            return integrity_failure(m, "HMAC does not verify");
        }
    }
    if (auth_.hmac_tlv && mode_ == mode::stamp && auth_.stamp != nullptr) {
        const std::size_t base = auth ? auth_off::len : proto::stamp_tlv_offset;
        switch (check_hmac_tlv(payload, base, *auth_.stamp)) {
        case hmac_tlv_check::absent:
            return integrity_failure(m, "no HMAC TLV (one was sent)");
        case hmac_tlv_check::failed:
            return integrity_failure(m, "HMAC TLV does not verify");
        case hmac_tlv_check::flagged: // the reflector does not know it: the U/M tally says so
        case hmac_tlv_check::ok:
            break;
        }
    }
    reply_error err{};
    auto r = parse_reply(fields, mode_, &err, auth);
    if (!r) {
        return invalid_reply(m, mode_ == mode::stamp ? "shorter than a STAMP reply (44 octets)"
                                                     : "shorter than a TWAMP reply (41 octets)");
    }
    r->length = payload.size();
    m.r = *r;
    if (mode_ == mode::stamp && r->ssid != ssid_) {
        return invalid_reply(m, "SSID differs from ours");
    }
    // The 32-bit number to the packet's index: the one in [base_, base_ + 2^32) (a run of more
    // than 2^32 packets wraps).
    const uint64_t idx =
            base_ + static_cast<uint32_t>(r->sender_seq - static_cast<uint32_t>(base_));
    if (idx >= sent_total_) {
        return invalid_reply(m, r->sender_seq < static_cast<uint32_t>(base_) &&
                                                sent_total_ <= (uint64_t{1} << 32)
                                        ? "Sender Sequence Number older than the packets "
                                          "remembered"
                                        : "Sender Sequence Number never sent");
    }
    sent_rec& rec = this->rec(idx);
    if (r->sender_timestamp != rec.t1_wire) {
        return invalid_reply(
                m, "Sender Timestamp differs from the one sent with that sequence number");
    }
    m.global = rec.global;
    m.s.sender_seq = r->sender_seq;
    m.s.reflector_seq = r->seq;
    m.s.t1 = rec.t1;
    m.s.t2 = r->t2_ns(tai_utc_offset_s);
    m.s.t3 = r->t3_ns(tai_utc_offset_s);
    m.s.t4 = t4;
    m.s.reflector_synchronized = r->error.synchronized;
    if (rec.state == rec_state::lost) {
        stats_.add_late();
        m.verdict = reply_verdict::late;
        return m;
    }
    if (rec.state == rec_state::replied) {
        stats_.add_duplicate();
        m.verdict = reply_verdict::duplicate;
        return m;
    }
    if (stats_.add(m.s) == reply_kind::duplicate) {
        m.verdict = reply_verdict::duplicate;
        return m;
    }
    rec.state = rec_state::replied;
    --outstanding_;
    if (r->tlvs_unrecognized || r->tlvs_malformed) {
        ++tlv_flagged_;
    }
    if (r->tlvs != 0) {
        tlvs_.add(decode_tlvs(payload.subspan(auth ? auth_off::len : proto::stamp_tlv_offset)));
    }
    m.verdict = reply_verdict::fresh;
    return m;
}

} // namespace twamp::sender
