#include "twamp/sender/stats.hpp"

#include <algorithm>
#include <cmath>

namespace twamp::sender {

namespace {

// A 32-bit sequence number as a 64-bit one: the value nearest to `max` (the highest so far,
// already extended) with those low 32 bits (serial-number arithmetic, RFC 1982: at most 2^31
// away either way). The first number of a run is put at 2^32 + seq, so a number just before
// it (a reply reordered across the start) stays positive.
uint64_t extend(uint64_t max, bool first, uint32_t seq) {
    if (first) {
        return (uint64_t{1} << 32) + seq;
    }
    const auto d = static_cast<int32_t>(seq - static_cast<uint32_t>(max));
    return max + static_cast<uint64_t>(static_cast<int64_t>(d));
}

// Marks `seq` (extended) in a window bitmap of the numbers in (max - window, max], moving the
// window when seq is a new maximum (the numbers it passes over are cleared). Returns whether
// seq was marked already; a number older than the window counts as not marked.
bool mark(std::vector<bool>& bits, uint64_t& max, bool first, uint64_t seq) {
    const uint64_t w = statistics::seq_window;
    if (first) {
        bits[seq % w] = true;
        max = seq;
        return false;
    }
    if (seq > max) {
        if (seq - max >= w) {
            std::fill(bits.begin(), bits.end(), false);
        } else {
            for (uint64_t s = max + 1; s != seq; ++s) {
                bits[s % w] = false;
            }
        }
        bits[seq % w] = true;
        max = seq;
        return false;
    }
    if (max - seq >= w) {
        return false; // older than the window
    }
    const bool was = bits[seq % w];
    bits[seq % w] = true;
    return was;
}

} // namespace

statistics::statistics() : seen_(seq_window, false), rseen_(seq_window, false) {}

reply_kind statistics::add(const sample& s) {
    const bool first = received_ == 0;
    const uint64_t old_max = max_sender_seq_;
    const uint64_t seq = extend(max_sender_seq_, first, s.sender_seq);
    if (mark(seen_, max_sender_seq_, first, seq)) {
        ++duplicates_;
        return reply_kind::duplicate;
    }
    if (!first && seq < old_max) {
        ++reordered_;
    }
    ++received_;
    rtt_.add(round_trip(s));
    res_.add(s.t3 - s.t2);
    fwd_.add(s.t2 - s.t1);
    bwd_.add(s.t4 - s.t3);
    all_sync_ = all_sync_ && s.reflector_synchronized;
    if (has_prev_) {
        // RFC 3550 §6.4.1 / A.8, with the transit times of this and the previous arrival.
        const sample& p = prev_;
        const double df = static_cast<double>((s.t2 - s.t1) - (p.t2 - p.t1));
        const double db = static_cast<double>((s.t4 - s.t3) - (p.t4 - p.t3));
        jf_ += (std::fabs(df) - jf_) / 16.0;
        jb_ += (std::fabs(db) - jb_) / 16.0;
    }
    prev_ = s;
    has_prev_ = true;

    numbering_own_ = numbering_own_ || s.reflector_seq != s.sender_seq;
    const uint64_t rseq = extend(max_rseq_, first, s.reflector_seq);
    if (first || rseq < lowest_rseq_) {
        lowest_rseq_ = rseq;
        lowest_rseq_sender_ = s.sender_seq;
    }
    if (!mark(rseen_, max_rseq_, first, rseq)) {
        ++distinct_rseq_;
    }
    return reply_kind::fresh;
}

void not_requested(summary& s) noexcept {
    s.not_requested = s.lost;
    s.lost = 0;
    s.loss_pct = 0;
    s.lost_forward = 0;
    s.lost_backward = 0;
}

int64_t percentile(const std::vector<int64_t>& sorted, unsigned per_mille) noexcept {
    // Nearest rank: the smallest value with at least per_mille / 10 % of the values at or below.
    return sorted[nearest_rank(sorted.size(), per_mille) - 1];
}

void accumulator::add(int64_t v) {
    ++n_;
    if (n_ == 1) {
        min_ = max_ = v;
    } else {
        min_ = std::min(min_, v);
        max_ = std::max(max_, v);
        const int64_t d = v - prev_;
        const int64_t mag = d < 0 ? -d : d;
        ipdv_sum_ += static_cast<double>(mag);
        ipdv_max_ = std::max(ipdv_max_, mag);
    }
    prev_ = v;
    // Welford: no catastrophic cancellation when the values are large (one-way "delays" with
    // an unsynchronized clock can be seconds while their spread is microseconds).
    const double dx = static_cast<double>(v) - mean_;
    mean_ += dx / static_cast<double>(n_);
    m2_ += dx * (static_cast<double>(v) - mean_);
    hist_.add(v);
    if (n_ <= exact_limit) {
        if (exact_.capacity() == 0) {
            exact_.reserve(64);
        }
        exact_.push_back(v);
    } else if (!exact_.empty()) {
        std::vector<int64_t>().swap(exact_); // from here on the histogram
    }
}

distribution accumulator::describe() const {
    distribution d;
    d.n = n_;
    if (n_ == 0) {
        return d;
    }
    d.min = min_;
    d.max = max_;
    d.avg = mean_;
    d.stddev = std::sqrt(std::max(0.0, m2_ / static_cast<double>(n_)));
    static constexpr unsigned ps[] = {500, 900, 950, 990, 999}; // tenths of a percent
    int64_t* out[] = {&d.p50, &d.p90, &d.p95, &d.p99, &d.p999};
    int64_t* pdv[] = {&d.pdv_p50, &d.pdv_p90, &d.pdv_p95, &d.pdv_p99, &d.pdv_p999};
    d.exact = n_ <= exact_limit;
    if (d.exact) {
        std::vector<int64_t> v = exact_;
        std::sort(v.begin(), v.end());
        for (std::size_t i = 0; i < 5; ++i) {
            *out[i] = percentile(v, ps[i]);
            *pdv[i] = *out[i] - min_;
        }
    } else {
        for (std::size_t i = 0; i < 5; ++i) {
            *out[i] = hist_.percentile(ps[i], min_, max_);
            // PDV = value - min: the same rank's value less the exact minimum, so within the
            // value's precision (1 % of the value, not of the PDV, or 1 us) whatever the minimum
            // did during the run.
            *pdv[i] = *out[i] - min_;
        }
    }
    d.pdv_max = max_ - min_;
    d.ipdv_n = n_ - 1;
    d.ipdv_mean = n_ > 1 ? ipdv_sum_ / static_cast<double>(n_ - 1) : 0;
    d.ipdv_max = ipdv_max_;
    return d;
}

summary statistics::summarize(uint64_t sent, bool local_synchronized) const {
    summary r;
    r.sent = sent;
    r.received = received_;
    r.lost = sent > r.received ? sent - r.received : 0;
    r.loss_pct = sent ? 100.0 * static_cast<double>(r.lost) / static_cast<double>(sent) : 0;
    r.duplicates = duplicates_;
    r.reordered = reordered_;
    r.late = late_;
    r.rtt = rtt_.describe();
    r.residence = res_.describe();
    r.forward = fwd_.describe();
    r.backward = bwd_.describe();
    r.jitter_forward = jf_;
    r.jitter_backward = jb_;
    r.clocks_synchronized = local_synchronized && received_ > 0 && all_sync_;

    // Loss split from the reflector's numbering.
    r.reflector_numbering_own = numbering_own_;
    if (r.lost == 0) {
        r.lost_forward = 0;
        r.lost_backward = 0;
    } else if (received_ == 0) {
        // Nothing came back: no reflector number tells where the packets died.
    } else if (r.reflector_numbering_own) {
        // The numbering's start: max(0, r - s) for the lowest reflector number r (sender number
        // s, near the run's start, so below 2^31: compared as they are): r is that start plus s
        // (r > s) or plus r (the start is 0), which places the start among the extended numbers.
        const auto low32 = static_cast<uint32_t>(lowest_rseq_);
        const uint64_t offset = low32 > lowest_rseq_sender_ ? lowest_rseq_sender_ : low32;
        const uint64_t base = lowest_rseq_ - std::min(offset, lowest_rseq_);
        const uint64_t reflected = max_rseq_ - base + 1; // numbers the reflector used
        uint64_t back = reflected > distinct_rseq_ ? reflected - distinct_rseq_ : 0;
        back = std::min(back, r.lost); // a reflector numbering beyond what we sent: cap
        r.lost_backward = back;
        r.lost_forward = r.lost - back;
    }
    return r;
}

summary merge_sessions(summary run, std::span<const summary> sessions) noexcept {
    uint64_t fwd = 0, bwd = 0;
    bool split = true;
    run.duplicates = run.reordered = run.late = 0;
    for (const summary& p : sessions) {
        split = split && p.lost_forward && p.lost_backward;
        fwd += p.lost_forward.value_or(0);
        bwd += p.lost_backward.value_or(0);
        run.duplicates += p.duplicates;
        run.reordered += p.reordered;
        run.late += p.late;
    }
    run.lost_forward = split ? std::optional<uint64_t>(fwd) : std::nullopt;
    run.lost_backward = split ? std::optional<uint64_t>(bwd) : std::nullopt;
    return run;
}

} // namespace twamp::sender
