// twamp-ping's sending schedule: when each packet is due (no I/O, no clocks: unit-tested).
//   fixed    packet k at start + k * interval (-i, --rate): no drift.
//   poisson  --poisson: the gaps are independent and exponentially distributed with mean
//            `interval` (RFC 2330 §11.1.1, "Poisson sampling"; RFC 3432 §4 contrasts it with
//            periodic streams), drawn from a 64-bit Mersenne Twister seeded with --seed, so a
//            seed gives the same schedule on every machine: gap = -mean * ln(1 - u), u uniform
//            in [0, 1) from the generator's top 53 bits. Gaps are not truncated (that would
//            change the distribution); a gap under the schedule's resolution (1 ns) is 0.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace twamp::sender {

class send_schedule {
public:
    send_schedule(int64_t start_ns, double interval_s, bool poisson, uint64_t seed)
        : start_(start_ns), interval_s_(interval_s), poisson_(poisson), rng_(seed), due_(start_ns) {
    }

    // When the next packet is due.
    int64_t due() const noexcept { return due_; }
    // The packet that was due has been sent: the next one's time.
    void advance() noexcept {
        ++k_;
        if (poisson_) {
            due_ += gap_ns();
        } else {
            due_ = start_ + static_cast<int64_t>(static_cast<double>(k_) * interval_s_ * 1e9 + 0.5);
        }
    }
    // One exponential gap (ns), from the generator (exposed for the tests).
    int64_t gap_ns() noexcept {
        const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53; // [0, 1)
        return static_cast<int64_t>(-interval_s_ * 1e9 * std::log1p(-u) + 0.5);
    }

private:
    int64_t start_;
    double interval_s_;
    bool poisson_;
    std::mt19937_64 rng_;
    uint64_t k_ = 0;
    int64_t due_;
};

} // namespace twamp::sender
