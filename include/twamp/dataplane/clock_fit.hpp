// A device clock against the TSC, from bracketed reads: every refresh the slow path reads the
// device clock a few times, each read between two TSC reads, and keeps the narrowest bracket;
// a line fitted over a window of such samples follows the device's drift. The fit says how far
// off it can be (measured: the bracket and the residuals), notices a step of the device clock
// and re-anchors, saying so until it has settled again. Plain arithmetic, no DPDK: the slow
// path feeds it, port.cpp composes it with the system clock's map (clock.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace twamp::dataplane {

// One read of the device clock (device units) between two TSC reads.
struct clock_read {
    uint64_t tsc_before = 0;
    uint64_t raw = 0;
    uint64_t tsc_after = 0;
};

struct clock_fit_params {
    double tsc_hz = 0;    // TSC frequency (rte_get_tsc_hz)
    double raw_hz = 1e9;  // nominal device units per second (1e9: a nanosecond clock)
    unsigned window = 64; // samples in the fit (at the slow path's ~100 ms: ~6 s)
    // A sample further than this (in ns) from where the fit puts it, beyond the fit's own
    // error, is a step of the device clock: the window restarts from it, keeping the rate.
    // Tested once the window holds two samples (before that the rate is nominal or kept, and
    // a sample off the line may say the rate is wrong: the second sample measures it).
    uint64_t step_ns = 20'000;
    unsigned settle = 4; // samples after a (re)start before the fit is trusted (settling())
    // How far past the newest sample error_ns() holds: one refresh interval of the slow path.
    double horizon_s = 0.1;
};

class clock_fit {
public:
    explicit clock_fit(const clock_fit_params& p) noexcept;

    enum class event : uint8_t { none, started, stepped };
    // One refresh: the narrowest of `n` reads is the sample (n >= 1).
    event add(const clock_read* reads, std::size_t n) noexcept;

    bool ready() const noexcept;    // at least one sample
    bool settling() const noexcept; // fewer than params.settle samples since (re)start

    // The fit: raw(tsc) = base_raw + (tsc - base_tsc) * raw_per_tsc_q32 / 2^32 (signed
    // difference; base is the latest sample's point on the line).
    uint64_t base_tsc() const noexcept;
    uint64_t base_raw() const noexcept;
    uint64_t raw_per_tsc_q32() const noexcept;
    uint64_t raw_at(uint64_t tsc) const noexcept;

    // How far raw_at() can be from the device clock, in ns, for a tsc from the window's oldest
    // sample to params.horizon_s past base_tsc, measured: the largest of a window sample's
    // |residual| from the published line plus its half bracket, plus the device's resolution
    // and raw_at()'s rounding (a unit each), plus the rate's uncertainty (from the residuals,
    // the brackets and the window's span, and the last interval's rate) over the horizon, plus,
    // while settling after a step, the step's size. clock_fit.cpp says how.
    uint64_t error_ns() const noexcept;

    uint64_t steps() const noexcept;       // steps seen since construction
    int64_t last_step_ns() const noexcept; // the last step's size (device clock minus fit)
    std::size_t samples() const noexcept;  // in the window now

    // The window holds at most this many samples (params.window is clamped to 2..max_window).
    static constexpr std::size_t max_window = 256;

private:
    struct sample {
        uint64_t tsc = 0;       // the bracket's midpoint
        uint64_t raw = 0;       // the device clock's reading
        double half_cycles = 0; // half the bracket (plus the midpoint's rounding), TSC cycles
    };

    const sample& at(std::size_t i) const noexcept; // 0: oldest, samples() - 1: newest
    void push(const sample& s) noexcept;
    void refit() noexcept;
    double raw_to_ns(double raw) const noexcept { return raw * ns_per_raw_; }

    clock_fit_params p_;
    std::size_t cap_;
    double ns_per_raw_;
    double horizon_cycles_;
    std::array<sample, max_window> win_{}; // a ring: oldest at head_
    std::size_t head_ = 0;
    std::size_t n_ = 0;

    uint64_t base_tsc_ = 0;
    uint64_t base_raw_ = 0;
    uint64_t q_ = 0; // raw per tsc, Q32
    // The fit's measured error at the window's samples (raw units, device resolution included)
    // and its rate's uncertainty (raw units per TSC cycle): error_ns() is their sum over the
    // horizon, plus the last step while settling.
    double point_err_raw_ = 0;
    double rate_err_ = 0;
    uint64_t error_ns_ = 0;

    unsigned since_start_ = 0;
    uint64_t steps_ = 0;
    int64_t last_step_ns_ = 0;
};

} // namespace twamp::dataplane
