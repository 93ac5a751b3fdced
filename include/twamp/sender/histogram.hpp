// twamp-ping's delay histogram: bounded memory whatever the run length, percentiles to a stated
// precision (unit-tested against exact percentiles).
//
// Buckets are log-linear on the magnitude |v| (nanoseconds), mirrored for negative values (a
// one-way "delay" with an unsynchronized clock can be negative):
//   |v| < 64 us:            64 linear buckets 1 us wide;
//   64 us * 2^k <= |v| < 64 us * 2^(k+1), k = 0, 1, ...: 64 linear buckets 2^k us wide.
// A value is reported as its bucket's midpoint, so it is off by at most half a bucket:
// 0.5 us below 64 us, at most 1/128 (0.79 %) of the value above. In short: within 1 % or 1 us,
// whichever is larger. Magnitudes from 2^50 ns (13 days) on share the last bucket.
// At most 2 x 2,242 counters (35 KiB), allocated as far as the largest value needs (delays up
// to 1 s: 955 counters per sign in use, 7.5 KiB).
#pragma once

#include <cstdint>
#include <vector>

namespace twamp::sender {

// The nearest rank of a percentile given in tenths of a percent (per_mille in (0, 1000], 999 is
// p99.9) among n values: ceil(per_mille * n / 1000), computed in integers, at least 1 and at
// most n (1 when n is 0).
uint64_t nearest_rank(uint64_t n, unsigned per_mille) noexcept;

class histogram {
public:
    static constexpr int64_t unit_ns = 1000;                     // the linear buckets' width
    static constexpr int sub_buckets = 64;                       // per power of two
    static constexpr uint64_t max_magnitude = uint64_t{1} << 50; // from here: the last bucket
    static std::size_t max_buckets() noexcept;                   // per sign

    void add(int64_t v);
    uint64_t count() const noexcept { return n_; }
    // Counters allocated (both signs): bounded by 2 * max_buckets() whatever count() is.
    std::size_t buckets() const noexcept { return pos_.size() + neg_.size(); }
    // Nearest-rank percentile, per_mille in (0, 1000] (tenths of a percent: 999 is p99.9): the
    // midpoint of the bucket that holds the nearest_rank(n, per_mille)-th smallest value, clamped
    // to [lo, hi] (the exact minimum and maximum, which the caller tracks). count() must not be 0.
    int64_t percentile(unsigned per_mille, int64_t lo, int64_t hi) const noexcept;
    void clear() noexcept;

    // The bucket of a magnitude, and the midpoint of a bucket (exposed for the tests).
    static std::size_t index(uint64_t magnitude) noexcept;
    static uint64_t midpoint(std::size_t index) noexcept;

private:
    std::vector<uint64_t> pos_; // v >= 0
    std::vector<uint64_t> neg_; // v < 0, by |v|
    uint64_t n_ = 0;
};

} // namespace twamp::sender
