#include "twamp/sender/stats.hpp"

#include <algorithm>
#include <cmath>

namespace twamp::sender {

reply_kind statistics::add(const sample& s) {
    // The caller only passes sender numbers it sent, so the bitmap stays as long as the run.
    if (s.sender_seq >= seen_.size()) {
        seen_.resize(static_cast<std::size_t>(s.sender_seq) + 1, false);
    }
    if (seen_[s.sender_seq]) {
        ++duplicates_;
        return reply_kind::duplicate;
    }
    seen_[s.sender_seq] = true;
    if (!samples_.empty() && s.sender_seq < max_sender_seq_) {
        ++reordered_;
    }
    max_sender_seq_ = std::max(max_sender_seq_, s.sender_seq);
    samples_.push_back(s);
    return reply_kind::fresh;
}

void not_requested(summary& s) noexcept {
    s.not_requested = s.lost;
    s.lost = 0;
    s.loss_pct = 0;
    s.lost_forward = 0;
    s.lost_backward = 0;
}

int64_t percentile(const std::vector<int64_t>& sorted, double p) noexcept {
    // Nearest rank: the smallest value with at least p% of the values at or below it.
    const double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
    std::size_t i = rank < 1 ? 0 : static_cast<std::size_t>(rank) - 1;
    return sorted[std::min(i, sorted.size() - 1)];
}

namespace {

distribution describe(std::vector<int64_t> v) {
    distribution d;
    d.n = v.size();
    if (v.empty()) {
        return d;
    }
    std::sort(v.begin(), v.end());
    d.min = v.front();
    d.max = v.back();
    // Welford: no catastrophic cancellation when the values are large (one-way "delays" with
    // an unsynchronized clock can be seconds while their spread is microseconds).
    double mean = 0, m2 = 0;
    uint64_t k = 0;
    for (int64_t x : v) {
        ++k;
        const double dx = static_cast<double>(x) - mean;
        mean += dx / static_cast<double>(k);
        m2 += dx * (static_cast<double>(x) - mean);
    }
    d.avg = mean;
    d.stddev = std::sqrt(m2 / static_cast<double>(k));
    d.p50 = percentile(v, 50);
    d.p99 = percentile(v, 99);
    return d;
}

} // namespace

summary statistics::summarize(uint64_t sent, bool local_synchronized) const {
    summary r;
    r.sent = sent;
    r.received = samples_.size();
    r.lost = sent > r.received ? sent - r.received : 0;
    r.loss_pct = sent ? 100.0 * static_cast<double>(r.lost) / static_cast<double>(sent) : 0;
    r.duplicates = duplicates_;
    r.reordered = reordered_;
    r.late = late_;

    std::vector<int64_t> rtt, res, fwd, bwd;
    rtt.reserve(samples_.size());
    res.reserve(samples_.size());
    fwd.reserve(samples_.size());
    bwd.reserve(samples_.size());
    bool all_sync = local_synchronized && !samples_.empty();
    double jf = 0, jb = 0;
    for (std::size_t i = 0; i < samples_.size(); ++i) {
        const sample& s = samples_[i];
        rtt.push_back(round_trip(s));
        res.push_back(s.t3 - s.t2);
        fwd.push_back(s.t2 - s.t1);
        bwd.push_back(s.t4 - s.t3);
        all_sync = all_sync && s.reflector_synchronized;
        if (i > 0) {
            // RFC 3550 §6.4.1 / A.8, with the transit times of this and the previous arrival.
            const sample& p = samples_[i - 1];
            const double df = static_cast<double>((s.t2 - s.t1) - (p.t2 - p.t1));
            const double db = static_cast<double>((s.t4 - s.t3) - (p.t4 - p.t3));
            jf += (std::fabs(df) - jf) / 16.0;
            jb += (std::fabs(db) - jb) / 16.0;
        }
    }
    r.rtt = describe(std::move(rtt));
    r.residence = describe(std::move(res));
    r.forward = describe(std::move(fwd));
    r.backward = describe(std::move(bwd));
    r.jitter_forward = jf;
    r.jitter_backward = jb;
    r.clocks_synchronized = all_sync;

    // Loss split from the reflector's numbering.
    for (const sample& s : samples_) {
        if (s.reflector_seq != s.sender_seq) {
            r.reflector_numbering_own = true;
            break;
        }
    }
    if (r.lost == 0) {
        r.lost_forward = 0;
        r.lost_backward = 0;
    } else if (samples_.empty()) {
        // Nothing came back: no reflector number tells where the packets died.
    } else if (r.reflector_numbering_own) {
        const auto lowest = std::min_element(
                samples_.begin(), samples_.end(),
                [](const sample& a, const sample& b) { return a.reflector_seq < b.reflector_seq; });
        const uint32_t base = lowest->reflector_seq > lowest->sender_seq
                                      ? lowest->reflector_seq - lowest->sender_seq
                                      : 0;
        std::vector<uint32_t> rs;
        rs.reserve(samples_.size());
        for (const sample& s : samples_) {
            rs.push_back(s.reflector_seq);
        }
        std::sort(rs.begin(), rs.end());
        const uint64_t distinct =
                static_cast<uint64_t>(std::unique(rs.begin(), rs.end()) - rs.begin());
        const uint64_t reflected = uint64_t{rs.back()} - base + 1; // numbers the reflector used
        uint64_t back = reflected > distinct ? reflected - distinct : 0;
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
