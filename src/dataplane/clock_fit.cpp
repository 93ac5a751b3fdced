// A device clock against the TSC: the narrowest bracketed read of each refresh is a sample, a
// least-squares line over the window of samples is the map, and the map's error is measured
// from the brackets and the residuals. Plain arithmetic (no DPDK): unit tested without EAL.
//
// Precision: a TSC is ~1e13 cycles and a PHC in Unix time ~1.7e18 ns, so the fit works in
// differences from the newest sample (signed, so an unsigned device clock may wrap), in long
// double; the published map is Q32 fixed point like sw_clock's, and the residuals are taken
// against that published (rounded) line, so its rounding is measured with the rest.
//
// The error bound, in device units, for a tsc from the window's oldest sample up to
// params.horizon_s past the newest (error_ns() converts it to ns):
//   - at each sample i: |fit(tsc_i) - device(tsc_i)| <= |residual_i| + half bracket_i + 1
//     unit (the read happened somewhere in the bracket, the fit takes its midpoint; an
//     integer clock reads up to one unit below its true time). The maximum over the window
//     holds between samples too (two lines: their gap is largest at an end), plus one unit
//     for raw_at()'s own rounding to an integer;
//   - past the newest sample, the fit's rate error times the horizon. The rate's uncertainty
//     is the larger of: the worst-case slope error of a least-squares line whose points are
//     each within the error above of a straight device clock (error * sum|x - mean| / Sxx,
//     the window's span does the rest), and the rate of the last interval measured against
//     the fit (|r_n - r_n-1| + both half brackets + a unit, over the interval), so that a rate that
//     just changed (a disciplined PHC, a warming crystal) is covered as soon as one sample shows
//     it; plus the Q32 rounding of the rate.
//   - while settling after a step, the step's size (timestamps from around the step may be on
//     either side of it).
// With a single sample the rate is the previous fit's (after a step) with its uncertainty, or
// the nominal raw_hz / tsc_hz with nominal_rate_tolerance: nothing measured yet, settling says
// so.
#include "twamp/dataplane/clock_fit.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace twamp::dataplane {

namespace {

__extension__ typedef unsigned __int128 u128;

// The nominal rates are the TSC's calibrated frequency and the device's stated one: until two
// samples measure the ratio, assume it within 1000 ppm.
constexpr double nominal_rate_tolerance = 1e-3;
constexpr long double two32 = 4294967296.0L;

int64_t sdiff(uint64_t a, uint64_t b) noexcept {
    return static_cast<int64_t>(a - b);
}

uint64_t to_q32(long double rate) noexcept {
    if (!(rate > 0)) {
        return 0;
    }
    long double q = std::nearbyint(rate * two32);
    if (q >= 18446744073709551615.0L) {
        return std::numeric_limits<uint64_t>::max();
    }
    return static_cast<uint64_t>(q);
}

uint64_t ceil_ns(double ns) noexcept {
    if (!(ns > 0)) {
        return 0;
    }
    if (ns >= 1.8e19) {
        return std::numeric_limits<uint64_t>::max();
    }
    return static_cast<uint64_t>(std::ceil(ns));
}

uint64_t sat_add(uint64_t a, uint64_t b) noexcept {
    return a + b < a ? std::numeric_limits<uint64_t>::max() : a + b;
}

} // namespace

clock_fit::clock_fit(const clock_fit_params& p) noexcept
    : p_(p), cap_(std::clamp<std::size_t>(p.window, 2, max_window)),
      ns_per_raw_(p.raw_hz > 0 ? 1e9 / p.raw_hz : 1.0),
      horizon_cycles_(std::max(0.0, p.horizon_s) * p.tsc_hz) {}

const clock_fit::sample& clock_fit::at(std::size_t i) const noexcept {
    return win_[(head_ + i) % cap_];
}

void clock_fit::push(const sample& s) noexcept {
    if (n_ < cap_) {
        win_[(head_ + n_) % cap_] = s;
        ++n_;
        return;
    }
    win_[head_] = s;
    head_ = (head_ + 1) % cap_;
}

clock_fit::event clock_fit::add(const clock_read* reads, std::size_t n) noexcept {
    if (reads == nullptr || n == 0 || !(p_.tsc_hz > 0)) {
        return event::none;
    }
    const clock_read* best = &reads[0];
    for (std::size_t i = 1; i < n; ++i) {
        if (reads[i].tsc_after - reads[i].tsc_before < best->tsc_after - best->tsc_before) {
            best = &reads[i];
        }
    }
    uint64_t width = best->tsc_after - best->tsc_before;
    if (static_cast<int64_t>(width) < 0) {
        return event::none; // tsc_after before tsc_before: not a bracket
    }
    // The midpoint is rounded down: half a cycle more of uncertainty.
    sample s{best->tsc_before + width / 2, best->raw, static_cast<double>(width + 1) / 2.0};

    if (n_ == 0) {
        head_ = 0;
        push(s);
        q_ = to_q32(static_cast<long double>(p_.raw_hz) / static_cast<long double>(p_.tsc_hz));
        rate_err_ = nominal_rate_tolerance * p_.raw_hz / p_.tsc_hz;
        since_start_ = 1;
        refit();
        return event::started;
    }
    int64_t since_base = sdiff(s.tsc, base_tsc_);
    if (since_base <= 0) {
        return event::none; // not after the newest sample: nothing to learn
    }

    // Where the fit puts this sample, and how far off the fit may be there.
    int64_t off = sdiff(s.raw, raw_at(s.tsc));
    double rate = static_cast<double>(q_) / static_cast<double>(two32);
    double allowed_raw = point_err_raw_ +
                         rate_err_ * std::max(static_cast<double>(since_base), horizon_cycles_) +
                         s.half_cycles * rate + 1.0;
    double off_ns = raw_to_ns(static_cast<double>(off));
    // With a single sample in the window the rate is not this window's own (nominal, or kept
    // over a step): a sample off the line may say the rate is wrong rather than the clock
    // stepped, so it is taken into the fit, which measures the rate. A second step right
    // after a first is then absorbed (the fit is still settling, its error says the first
    // step's size) and seen on a later sample against the two-sample line.
    if (n_ >= 2 && std::fabs(off_ns) > static_cast<double>(p_.step_ns) + raw_to_ns(allowed_raw)) {
        // A step: restart the window from this sample, keeping the rate and its uncertainty.
        ++steps_;
        last_step_ns_ = static_cast<int64_t>(std::llround(off_ns));
        head_ = 0;
        n_ = 0;
        push(s);
        since_start_ = 1;
        refit();
        return event::stepped;
    }
    push(s);
    if (since_start_ < std::numeric_limits<unsigned>::max()) {
        ++since_start_;
    }
    refit();
    return event::none;
}

void clock_fit::refit() noexcept {
    const sample& newest = at(n_ - 1);
    long double a = 0; // the line at the newest sample, raw units relative to its reading
    if (n_ >= 2) {
        long double sx = 0;
        long double sy = 0;
        for (std::size_t i = 0; i < n_; ++i) {
            sx += static_cast<long double>(sdiff(at(i).tsc, newest.tsc));
            sy += static_cast<long double>(sdiff(at(i).raw, newest.raw));
        }
        long double mx = sx / static_cast<long double>(n_);
        long double my = sy / static_cast<long double>(n_);
        long double sxx = 0;
        long double sxy = 0;
        for (std::size_t i = 0; i < n_; ++i) {
            long double dx = static_cast<long double>(sdiff(at(i).tsc, newest.tsc)) - mx;
            long double dy = static_cast<long double>(sdiff(at(i).raw, newest.raw)) - my;
            sxx += dx * dx;
            sxy += dx * dy;
        }
        if (sxx > 0) {
            q_ = to_q32(sxy / sxx);
        }
        a = my - static_cast<long double>(q_) / two32 * mx;
    }
    base_tsc_ = newest.tsc;
    base_raw_ = newest.raw + static_cast<uint64_t>(static_cast<int64_t>(std::llround(a)));

    // Residuals against the published line (rounded base, Q32 rate).
    const long double rate = static_cast<long double>(q_) / two32;
    const long double base = static_cast<long double>(sdiff(base_raw_, newest.raw));
    auto residual = [&](const sample& s) {
        long double x = static_cast<long double>(sdiff(s.tsc, newest.tsc));
        return static_cast<long double>(sdiff(s.raw, newest.raw)) - (base + x * rate);
    };
    long double worst = 0;
    for (std::size_t i = 0; i < n_; ++i) {
        worst = std::max(worst, std::fabs(residual(at(i))) +
                                        static_cast<long double>(at(i).half_cycles) * rate);
    }
    worst += 1; // the clock's resolution: a reading is up to one unit below the true time
    point_err_raw_ = static_cast<double>(worst) + 1.0; // raw_at()'s own rounding

    if (n_ >= 2) {
        long double sx = 0;
        for (std::size_t i = 0; i < n_; ++i) {
            sx += static_cast<long double>(sdiff(at(i).tsc, newest.tsc));
        }
        long double mx = sx / static_cast<long double>(n_);
        long double sxx = 0;
        long double sabs = 0;
        for (std::size_t i = 0; i < n_; ++i) {
            long double dx = static_cast<long double>(sdiff(at(i).tsc, newest.tsc)) - mx;
            sxx += dx * dx;
            sabs += std::fabs(dx);
        }
        long double window_rate = sxx > 0 ? worst * sabs / sxx : 0;
        const sample& prev = at(n_ - 2);
        long double interval = static_cast<long double>(sdiff(newest.tsc, prev.tsc));
        long double last_rate =
                (std::fabs(residual(newest) - residual(prev)) +
                 (static_cast<long double>(newest.half_cycles + prev.half_cycles)) * rate + 1) /
                interval;
        rate_err_ = static_cast<double>(std::max(window_rate, last_rate) + 0.5L / two32);
    }
    uint64_t err = ceil_ns(raw_to_ns(point_err_raw_ + rate_err_ * horizon_cycles_));
    if (settling()) {
        err = sat_add(err,
                      static_cast<uint64_t>(last_step_ns_ < 0 ? -last_step_ns_ : last_step_ns_));
    }
    error_ns_ = err;
}

bool clock_fit::ready() const noexcept {
    return n_ > 0;
}

bool clock_fit::settling() const noexcept {
    return since_start_ < p_.settle;
}

uint64_t clock_fit::base_tsc() const noexcept {
    return base_tsc_;
}

uint64_t clock_fit::base_raw() const noexcept {
    return base_raw_;
}

uint64_t clock_fit::raw_per_tsc_q32() const noexcept {
    return q_;
}

uint64_t clock_fit::raw_at(uint64_t tsc) const noexcept {
    int64_t d = sdiff(tsc, base_tsc_);
    if (d >= 0) {
        return base_raw_ + static_cast<uint64_t>((static_cast<u128>(d) * q_) >> 32);
    }
    uint64_t back = 0 - static_cast<uint64_t>(d);
    return base_raw_ - static_cast<uint64_t>((static_cast<u128>(back) * q_) >> 32);
}

uint64_t clock_fit::error_ns() const noexcept {
    return error_ns_;
}

uint64_t clock_fit::steps() const noexcept {
    return steps_;
}

int64_t clock_fit::last_step_ns() const noexcept {
    return last_step_ns_;
}

std::size_t clock_fit::samples() const noexcept {
    return n_;
}

} // namespace twamp::dataplane
