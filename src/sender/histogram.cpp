#include "twamp/sender/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace twamp::sender {

namespace {
constexpr int sub_bits = 6; // log2(sub_buckets)
static_assert(histogram::sub_buckets == 1 << sub_bits);
} // namespace

uint64_t nearest_rank(uint64_t n, unsigned per_mille) noexcept {
    // ceil(per_mille * n / 1000) in integers: a double's 99.9 / 100 * 1000 is 999.0000000000001,
    // one rank too high. n * per_mille fits: n < 2^54 for any run that ends.
    const uint64_t pm = std::min(per_mille, 1000u);
    const uint64_t rank = (pm * n + 999) / 1000;
    return std::clamp<uint64_t>(rank, 1, std::max<uint64_t>(n, 1));
}

std::size_t histogram::index(uint64_t magnitude) noexcept {
    const uint64_t q = std::min(magnitude, max_magnitude - 1) / unit_ns;
    if (q < sub_buckets) {
        return static_cast<std::size_t>(q);
    }
    const int k = static_cast<int>(std::bit_width(q)) - 1 - sub_bits; // q in [64, 128) * 2^k
    const uint64_t sub = (q >> k) - sub_buckets;
    return static_cast<std::size_t>(sub_buckets + k * sub_buckets) + static_cast<std::size_t>(sub);
}

uint64_t histogram::midpoint(std::size_t index) noexcept {
    if (index < sub_buckets) {
        return index * unit_ns + unit_ns / 2;
    }
    const std::size_t k = (index - sub_buckets) / sub_buckets;
    const uint64_t sub = (index - sub_buckets) % sub_buckets;
    const uint64_t lower = (sub_buckets + sub) << k; // in units
    const uint64_t width = uint64_t{1} << k;
    return lower * unit_ns + width * unit_ns / 2;
}

std::size_t histogram::max_buckets() noexcept {
    return index(max_magnitude - 1) + 1;
}

void histogram::add(int64_t v) {
    const bool negative = v < 0;
    const uint64_t m = negative ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
    std::vector<uint64_t>& side = negative ? neg_ : pos_;
    const std::size_t i = index(m);
    if (i >= side.size()) {
        // Grow by at least a power of two of buckets: a few reallocations per run, never more
        // than max_buckets() counters.
        side.resize(std::min(max_buckets(), std::max(i + 1, side.size() + sub_buckets)), 0);
    }
    ++side[i];
    ++n_;
}

void histogram::clear() noexcept {
    pos_.clear();
    neg_.clear();
    n_ = 0;
}

int64_t histogram::percentile(unsigned per_mille, int64_t lo, int64_t hi) const noexcept {
    const uint64_t rank = nearest_rank(n_, per_mille);
    uint64_t seen = 0;
    int64_t v = hi;
    bool found = false;
    // The most negative first (the largest magnitude of neg_), then 0 upwards.
    for (std::size_t i = neg_.size(); i-- > 0 && !found;) {
        seen += neg_[i];
        if (seen >= rank) {
            v = -static_cast<int64_t>(midpoint(i));
            found = true;
        }
    }
    for (std::size_t i = 0; i < pos_.size() && !found; ++i) {
        seen += pos_[i];
        if (seen >= rank) {
            v = static_cast<int64_t>(midpoint(i));
            found = true;
        }
    }
    return std::clamp(v, lo, hi);
}

} // namespace twamp::sender
