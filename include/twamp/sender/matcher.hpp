// twamp-ping: one stream of test packets (a UDP socket to one reflector port) as bookkeeping:
// what was sent under which Sender Sequence Number and Timestamp, which replies match a packet
// sent, which packets are overdue, and the stream's statistics. No I/O, no clocks: the caller
// passes the times (unit-tested).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "twamp/sender/auth.hpp"
#include "twamp/sender/options.hpp"
#include "twamp/sender/packet.hpp"
#include "twamp/sender/stats.hpp"
#include "twamp/sender/tlv.hpp"

namespace twamp::sender {

enum class rec_state : uint8_t { outstanding, replied, lost };

struct sent_rec {
    int64_t t1 = 0;       // CLOCK_REALTIME ns
    int64_t t_mono = 0;   // CLOCK_MONOTONIC ns, for the timeout
    uint64_t t1_wire = 0; // as sent: the reply must carry it back
    uint32_t global = 0;  // index among every packet of the run (all sessions)
    rec_state state = rec_state::outstanding;
};

enum class reply_verdict : uint8_t {
    fresh,     // the first reply for a packet, within the timeout
    duplicate, // another reply for a packet already answered
    late,      // a reply for a packet already counted as lost
    invalid,   // not a reply to a packet we sent: `why` says what is wrong
    integrity, // an HMAC (the packet's or its HMAC TLV's) does not verify: `why` says which;
               // nothing of it is used (issue 17)
};

// How a stream's replies are protected (issue 17). The keys belong to the caller and outlive
// the matcher.
struct reply_auth {
    // TWAMP authenticated or encrypted: the session's test keys (the reply is 112 octets and
    // more, its first block or blocks encrypted).
    const twamp_test_keys* twamp = nullptr;
    bool encrypted = false;
    // Authenticated STAMP (base HMAC) and --tlv hmac (HMAC TLV): the HMAC-SHA-256 key.
    const crypto::hmac_key* stamp = nullptr;
    bool stamp_base = false; // the 112-octet authenticated STAMP layout
    bool hmac_tlv = false;   // we send an HMAC TLV: the reply's must verify
    bool layout() const noexcept { return twamp != nullptr || stamp_base; }
};

struct match_result {
    reply_verdict verdict = reply_verdict::invalid;
    const char* why = nullptr; // invalid: the reason, for the user
    reply r{};                 // the parsed reply (all but a too-short one)
    sample s{};                // fresh, duplicate, late: both numbers and T1..T4
    uint32_t global = 0;       // fresh, duplicate, late: the packet's index in the whole run
};

class reply_matcher {
public:
    reply_matcher(enum mode m, uint16_t ssid) noexcept : mode_(m), ssid_(ssid) {}

    // The replies' protection (default: none).
    void set_auth(const reply_auth& a) noexcept { auth_ = a; }

    // The records kept: every packet not yet settled (replied or lost), and the last `history`
    // settled ones (to tell a duplicate or a late reply from a packet never sent). Older
    // records are dropped, so memory is bounded by the packets in flight (rate x -W), not by
    // the run's length; a reply to an older one is invalid ("older than the packets
    // remembered").
    static constexpr std::size_t history = 1u << 16;

    // The Sender Sequence Number of the next packet: the packets sent so far.
    uint32_t next_seq() const noexcept { return static_cast<uint32_t>(sent_total_); }
    std::size_t sent() const noexcept { return sent_total_; }
    // Packets neither replied nor lost yet.
    uint64_t outstanding() const noexcept { return outstanding_; }
    std::size_t records() const noexcept { return sent_.size(); }

    // Packet next_seq(): sent at `t_mono` (CLOCK_MONOTONIC) with T1 `t1` (Unix ns), `t1_wire`
    // its Timestamp field, `global` its index in the run. `failed`: send() failed, the packet
    // is lost at once and counted as a send error.
    void record_send(int64_t t_mono, int64_t t1, uint64_t t1_wire, uint32_t global, bool failed);

    // One datagram from the stream's socket, received at `t4` (Unix ns). `from_peer`: it came
    // from the address and port the requests go to. Checks, in order: the source, the length
    // (41 TWAMP / 44 STAMP), the SSID (STAMP), a Sender Sequence Number sent, the Sender
    // Timestamp sent with it; then a packet already lost makes it late, else the statistics
    // take it as fresh or duplicate. Invalid and late ones are counted too. With set_auth(),
    // before the SSID: the length (112), then the HMAC (TWAMP: after decryption) and the
    // reply's HMAC TLV; a failure is an integrity verdict, counted apart.
    match_result match(std::span<const uint8_t> payload, bool from_peer, int64_t t4,
                       int32_t tai_utc_offset_s);
    // A datagram the socket could not deliver whole.
    void count_invalid() noexcept { ++invalid_; }

    // Every outstanding packet sent `timeout_ns` or longer before `now_mono` (INT64_MAX: every
    // outstanding one) becomes lost, in sequence order: on_lost(seq) for each.
    template<class OnLost>
    void expire(int64_t now_mono, int64_t timeout_ns, OnLost&& on_lost);
    // Nothing left to expire: every packet replied or lost.
    bool settled() const noexcept { return expire_idx_ >= sent_total_; }
    // When the next packet not yet settled times out (CLOCK_MONOTONIC); INT64_MAX when none.
    int64_t next_expiry(int64_t timeout_ns) const noexcept {
        return settled() ? INT64_MAX : rec(expire_idx_).t_mono + timeout_ns;
    }

    const statistics& stats() const noexcept { return stats_; }
    uint64_t invalid() const noexcept { return invalid_; }
    uint64_t integrity_failures() const noexcept { return integrity_failures_; }
    uint64_t send_errors() const noexcept { return send_errors_; }
    uint64_t tlv_flagged() const noexcept { return tlv_flagged_; } // fresh replies, U or M set
    // The TLVs of fresh STAMP replies by type, with their U/M/I flags.
    const tlv_tally& tlvs() const noexcept { return tlvs_; }

private:
    match_result invalid_reply(match_result m, const char* why) noexcept;
    match_result integrity_failure(match_result m, const char* why) noexcept;
    sent_rec& rec(uint64_t seq) noexcept { return sent_[static_cast<std::size_t>(seq - base_)]; }
    const sent_rec& rec(uint64_t seq) const noexcept {
        return sent_[static_cast<std::size_t>(seq - base_)];
    }
    void trim();

    enum mode mode_;
    uint16_t ssid_;
    std::deque<sent_rec> sent_; // by Sender Sequence Number, from base_
    uint64_t base_ = 0;         // the sequence number of sent_.front()
    uint64_t sent_total_ = 0;
    uint64_t outstanding_ = 0;
    uint64_t expire_idx_ = 0; // every packet before it is replied or lost
    statistics stats_;
    uint64_t invalid_ = 0, send_errors_ = 0, tlv_flagged_ = 0, integrity_failures_ = 0;
    reply_auth auth_;
    tlv_tally tlvs_;
};

template<class OnLost>
void reply_matcher::expire(int64_t now_mono, int64_t timeout_ns, OnLost&& on_lost) {
    while (expire_idx_ < sent_total_) {
        sent_rec& r = rec(expire_idx_);
        if (r.state == rec_state::outstanding) {
            if (now_mono != INT64_MAX && r.t_mono + timeout_ns > now_mono) {
                break;
            }
            r.state = rec_state::lost;
            --outstanding_;
            on_lost(static_cast<uint32_t>(expire_idx_));
        }
        ++expire_idx_;
    }
    trim();
}

} // namespace twamp::sender
