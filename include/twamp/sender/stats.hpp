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
//   percentiles  nearest rank (the smallest value with at least p % of the values at or below
//                it): exact while a figure has at most exact_limit values, then from a
//                histogram (histogram.hpp: within 1 % or 1 us, whichever is larger). min, max,
//                avg and stddev are always exact. Memory is bounded whatever the run length.
//   PDV          packet delay variation, RFC 5481 §4.2: each value minus the minimum of the
//                run (round trip, forward, backward), reported as percentiles and max. A
//                constant clock offset cancels, so the one-way PDV is meaningful without
//                synchronized clocks. Exact up to exact_limit values, then the delay
//                percentile (from the histogram) less the exact minimum: within 1 % of the
//                delay value itself (not of the PDV) or 1 us, whichever is larger (e.g. 10 ms
//                delays: PDV percentiles within 100 us). pdv_max is always exact.
//   IPDV         RFC 5481 §4.1 / RFC 3393: the difference between the values of two
//                consecutive replies in arrival order; the mean and the maximum of its magnitude.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "twamp/sender/histogram.hpp"

namespace twamp::sender {

struct sample {
    uint32_t sender_seq = 0;
    uint32_t reflector_seq = 0;
    int64_t t1 = 0, t2 = 0, t3 = 0, t4 = 0; // Unix ns
    bool reflector_synchronized = false;    // S bit of the reply's Error Estimate
};

// min/avg/max/stddev (population, as ping's mdev) and nearest-rank percentiles; the PDV and
// IPDV of the values (see above). All 0 when n == 0 (the reports print none of them then).
struct distribution {
    uint64_t n = 0;
    int64_t min = 0, max = 0;
    double avg = 0, stddev = 0;
    int64_t p50 = 0, p90 = 0, p95 = 0, p99 = 0, p999 = 0;
    bool exact = true; // percentiles exact (n <= exact_limit), else from the histogram
    // PDV (value - min) percentiles; pdv_max = max - min exactly.
    int64_t pdv_p50 = 0, pdv_p90 = 0, pdv_p95 = 0, pdv_p99 = 0, pdv_p999 = 0, pdv_max = 0;
    // IPDV over the n - 1 consecutive pairs (none when n < 2).
    uint64_t ipdv_n = 0;
    double ipdv_mean = 0; // mean of |difference|
    int64_t ipdv_max = 0; // largest |difference|
};

// One figure's values, in arrival order, in bounded memory: exact extremes and moments, the
// first exact_limit values kept (exact percentiles), a histogram for the rest.
class accumulator {
public:
    static constexpr std::size_t exact_limit = 4096;

    void add(int64_t v);
    uint64_t count() const noexcept { return n_; }
    distribution describe() const;
    // Memory held, for the bounded-memory test and benchmark: counters and kept values.
    std::size_t footprint() const noexcept {
        return hist_.buckets() * sizeof(uint64_t) + exact_.capacity() * sizeof(int64_t);
    }

private:
    uint64_t n_ = 0;
    int64_t min_ = 0, max_ = 0;
    double mean_ = 0, m2_ = 0;
    std::vector<int64_t> exact_; // the values while n_ <= exact_limit
    histogram hist_;             // every value from the first on (PDV: its percentiles - min)
    int64_t prev_ = 0;
    double ipdv_sum_ = 0;
    int64_t ipdv_max_ = 0;
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
    // Summaries during the run (--summary-every): packets still awaited within -W (in sent, not
    // in lost; loss_pct is of sent - outstanding). 0 at the end.
    uint64_t outstanding = 0;
    bool clocks_synchronized = false; // ours and every reply's S bit
};

enum class reply_kind : uint8_t { fresh, duplicate };

// Everything it keeps is bounded whatever the run length: accumulators, and windows of
// `seq_window` sequence numbers for duplicates (behind the highest sender number seen) and for
// the reflector's numbers (behind its highest). A sender number older than the window is taken
// as fresh: the caller (reply_matcher) has already told duplicates apart by its own record.
class statistics {
public:
    static constexpr uint32_t seq_window = 1u << 16;

    statistics();
    // One reply, in arrival order. Duplicates count and change nothing else.
    reply_kind add(const sample& s);
    // A reply that came after the timeout.
    void add_late() noexcept { ++late_; }
    // A duplicate the caller recognized itself (reply_matcher's record of the packet).
    void add_duplicate() noexcept { ++duplicates_; }

    uint64_t received() const noexcept { return received_; }
    std::size_t footprint() const noexcept {
        return rtt_.footprint() + res_.footprint() + fwd_.footprint() + bwd_.footprint() +
               (seen_.capacity() + rseen_.capacity()) / 8;
    }
    // Round-trip time of a sample, as summarize() computes it.
    static int64_t round_trip(const sample& s) noexcept { return (s.t4 - s.t1) - (s.t3 - s.t2); }

    // `sent`: packets sent; `local_synchronized`: our clock's sync state (S of our requests).
    summary summarize(uint64_t sent, bool local_synchronized) const;

private:
    uint64_t received_ = 0;
    accumulator rtt_, res_, fwd_, bwd_;
    bool has_prev_ = false;
    sample prev_{};
    double jf_ = 0, jb_ = 0;
    bool all_sync_ = true;
    // Sender numbers: duplicates within the window, reordering.
    // Sequence numbers are kept extended to 64 bits (serial-number arithmetic on the 32-bit
    // ones, stats.cpp's extend()): a run past 2^32 packets wraps them.
    std::vector<bool> seen_; // seq % seq_window, valid for (max_sender_seq_ - window, max]
    uint64_t max_sender_seq_ = 0;
    // The reflector's numbers (loss split): own numbering seen, the reply with the lowest, the
    // highest, and how many distinct ones.
    bool numbering_own_ = false;
    uint64_t lowest_rseq_ = 0, max_rseq_ = 0; // extended
    uint32_t lowest_rseq_sender_ = 0;
    std::vector<bool> rseen_; // rseq % seq_window, valid for (max_rseq_ - window, max]
    uint64_t distinct_rseq_ = 0;
    uint64_t duplicates_ = 0, reordered_ = 0, late_ = 0;
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

// Nearest-rank percentile (per_mille in (0, 1000], tenths of a percent: 999 is p99.9) of a
// sorted, non-empty vector: its nearest_rank(size, per_mille)-th value.
int64_t percentile(const std::vector<int64_t>& sorted, unsigned per_mille) noexcept;

} // namespace twamp::sender
