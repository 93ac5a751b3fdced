// twamp-ping's statistics: replies in, summary out. No I/O, no clocks (unit-tested on
// synthetic sequences).
//
// Definitions (all times in nanoseconds, T1..T4 as in RFC 5357: T1 sent, T2 received by the
// reflector, T3 sent back, T4 received back):
//   round trip   (T4 - T1) - (T3 - T2): the reflector's residence time taken out
//   residence    T3 - T2
//   forward      T2 - T1, backward T4 - T3: one-way delays; they include the offset between
//                the two clocks, so they mean something only when both clocks are synchronized
//                (the S bit of both Error Estimates); otherwise they are reported as offsets.
//   jitter       RFC 3550 §6.4.1 interarrival jitter J += (|D| - J) / 16, where D is the change
//                of the one-way transit time (forward: T2 - T1, backward: T4 - T3) between two
//                consecutive replies in arrival order. A constant clock offset cancels in D, so
//                jitter is meaningful without synchronized clocks.
//   loss         sent - received (distinct sender sequence numbers back within the timeout).
//                Split with the reflector's Sequence Numbers: a stateful reflector numbers the
//                packets it reflects in a session 0, 1, 2, ... (RFC 5357 §4.2.1), so a reflector
//                number missing between the lowest and highest seen is a reply lost on the way
//                back (backward); the rest of the loss did not reach the reflector (forward).
//                The numbering is taken to start at max(0, r - s) for the reply with the lowest
//                reflector number r (sender number s): 0 for a fresh session, and the offset of
//                a session the reflector already knew (same ports reused within its timeout).
//                Replies lost after the last one received cannot be told apart and count as
//                forward. When every reply carries the sender's own number (a stateless
//                reflector, RFC 8762 §4.3.1, or a stateful one that saw no forward loss) the
//                split is known only if nothing was lost.
//   duplicates   replies for a sender sequence number already received.
//   reordered    replies whose sender sequence number is lower than one received before
//                (RFC 4737's reordered packet, seen at the sender, both directions together).
//   late         replies that came after the timeout: counted here and as lost, nothing else.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace twamp::sender {

struct sample {
    uint32_t sender_seq = 0;
    uint32_t reflector_seq = 0;
    int64_t t1 = 0, t2 = 0, t3 = 0, t4 = 0; // Unix ns
    bool reflector_synchronized = false;    // S bit of the reply's Error Estimate
};

// min/avg/max/stddev (population, as ping's mdev) and nearest-rank percentiles.
struct distribution {
    uint64_t n = 0;
    int64_t min = 0, max = 0;
    double avg = 0, stddev = 0;
    int64_t p50 = 0, p99 = 0;
};

struct summary {
    uint64_t sent = 0;
    uint64_t received = 0; // distinct sender sequence numbers, within the timeout
    uint64_t lost = 0;
    double loss_pct = 0;
    // Loss split; nullopt when the reflector's numbering cannot tell (see above).
    std::optional<uint64_t> lost_forward, lost_backward;
    bool reflector_numbering_own = false; // some reply carried a number other than the sender's
    uint64_t duplicates = 0, reordered = 0, late = 0;
    // A run that asked for no replies (--tlv return-path=no-reply, RFC 9503 §4.1.1): the
    // packets not answered, taken out of `lost` (the caller moves them: not_requested()).
    uint64_t not_requested = 0;
    distribution rtt, residence, forward, backward;
    double jitter_forward = 0, jitter_backward = 0; // ns; 0 with fewer than two replies
    bool clocks_synchronized = false;               // ours and every reply's S bit
};

enum class reply_kind : uint8_t { fresh, duplicate };

class statistics {
public:
    // One reply, in arrival order. Duplicates count and change nothing else.
    reply_kind add(const sample& s);
    // A reply that came after the timeout.
    void add_late() noexcept { ++late_; }

    uint64_t received() const noexcept { return samples_.size(); }
    // Round-trip time of a sample, as summarize() computes it.
    static int64_t round_trip(const sample& s) noexcept { return (s.t4 - s.t1) - (s.t3 - s.t2); }

    // `sent`: packets sent; `local_synchronized`: our clock's sync state (S of our requests).
    summary summarize(uint64_t sent, bool local_synchronized) const;

private:
    std::vector<sample> samples_; // fresh ones, in arrival order
    std::vector<bool> seen_;      // by sender sequence number
    uint64_t duplicates_ = 0, reordered_ = 0, late_ = 0;
    uint32_t max_sender_seq_ = 0;
};

// A run over several sessions (--mode twamp --sessions N): `run` summarizes every session's
// fresh replies numbered by their index in the whole run, so its loss and delay figures cover
// every session; its loss split, duplicates, reordering and late replies become the sums of
// `sessions` (each session has its own numbering). The split stays unknown unless every
// session's is known.
summary merge_sessions(summary run, std::span<const summary> sessions) noexcept;

// A run whose requests asked for no reply: every packet without one counts as not requested,
// none as lost (the loss split then says 0 each way).
void not_requested(summary& s) noexcept;

// Nearest-rank percentile (p in (0, 100]) of a sorted, non-empty vector.
int64_t percentile(const std::vector<int64_t>& sorted, double p) noexcept;

} // namespace twamp::sender
