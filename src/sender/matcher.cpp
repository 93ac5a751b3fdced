#include "twamp/sender/matcher.hpp"

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
    }
    sent_.push_back(r);
}

match_result reply_matcher::invalid_reply(match_result m, const char* why) noexcept {
    ++invalid_;
    m.verdict = reply_verdict::invalid;
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
    reply_error err{};
    auto r = parse_reply(payload, mode_, &err);
    if (!r) {
        return invalid_reply(m, mode_ == mode::stamp ? "shorter than a STAMP reply (44 octets)"
                                                     : "shorter than a TWAMP reply (41 octets)");
    }
    m.r = *r;
    if (mode_ == mode::stamp && r->ssid != ssid_) {
        return invalid_reply(m, "SSID differs from ours");
    }
    if (r->sender_seq >= sent_.size()) {
        return invalid_reply(m, "Sender Sequence Number never sent");
    }
    sent_rec& rec = sent_[r->sender_seq];
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
    if (stats_.add(m.s) == reply_kind::duplicate) {
        m.verdict = reply_verdict::duplicate;
        return m;
    }
    rec.state = rec_state::replied;
    if (r->tlvs_unrecognized || r->tlvs_malformed) {
        ++tlv_flagged_;
    }
    if (r->tlvs != 0) {
        tlvs_.add(decode_tlvs(payload.subspan(proto::stamp_tlv_offset)));
    }
    m.verdict = reply_verdict::fresh;
    return m;
}

} // namespace twamp::sender
