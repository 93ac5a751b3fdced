// clock_fit against synthetic clocks: a perfect TSC at 2.6 GHz is real time, the device clock
// runs at +3.7 ms and +25 ppm from it (ns, us, a PHC in Unix-epoch ns, one that wraps past 2^64),
// read five times per ~100 ms refresh between two TSC reads 50..2000 cycles apart, the read
// instant uniform in its bracket. raw_at() is checked against the device's true time over the
// whole window and up to 100 ms past the newest sample, always within error_ns().
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <limits>
#include <ostream>
#include <random>

#include <gtest/gtest.h>

#include "twamp/dataplane/clock_fit.hpp"

using twamp::dataplane::clock_fit;
using twamp::dataplane::clock_fit_params;
using twamp::dataplane::clock_read;
using ld = long double;

namespace {

constexpr ld tsc_per_ns = 2.6L;
constexpr uint64_t tsc0 = 10'000'000'000'000ULL; // ~an hour of uptime
constexpr ld ms = 1e6L;
constexpr ld infinity = std::numeric_limits<ld>::infinity();

// The device clock as a function of real time t (ns since the test's zero).
struct device_model {
    uint64_t raw0 = 0; // the device's reading at t = 0 before the offset
    ld unit_ns = 1;    // ns per device unit
    ld offset_ns = 3.7e6L;
    ld drift = 25e-6L;  // until ramp_from
    ld drift2 = 25e-6L; // from ramp_to (linear in between; equal times: an abrupt change)
    ld ramp_from = infinity;
    ld ramp_to = infinity;
    ld step_at = infinity;
    ld step_ns = 0;

    ld drift_integral(ld t) const {
        if (t <= ramp_from) {
            return drift * t;
        }
        ld at_from = drift * ramp_from;
        if (t <= ramp_to) {
            ld d = t - ramp_from;
            return at_from + drift * d + (drift2 - drift) * d * d / (2 * (ramp_to - ramp_from));
        }
        ld at_to = at_from + (drift + drift2) / 2 * (ramp_to - ramp_from);
        return at_to + drift2 * (t - ramp_to);
    }
    // True device time since raw0, in device units (continuous).
    ld units(ld t) const {
        ld ns = offset_ns + t + drift_integral(t) + (t >= step_at ? step_ns : 0);
        return ns / unit_ns;
    }
    // What a read at t returns: the integer clock, truncated.
    uint64_t read(ld t) const {
        return raw0 + static_cast<uint64_t>(static_cast<int64_t>(std::floor(units(t))));
    }
};

ld t_of(ld tsc) {
    return (tsc - static_cast<ld>(tsc0)) / tsc_per_ns;
}
uint64_t tsc_of(ld t) {
    return tsc0 + static_cast<uint64_t>(std::floor(t * tsc_per_ns));
}

struct rig {
    device_model dev;
    clock_fit_params params;
    clock_fit fit;
    std::mt19937_64 rng;
    ld now = 0;                  // real time of the next refresh
    std::deque<uint64_t> window; // the midpoints of the fit's samples, as the test sees them
    ld worst_seen_ns = 0;        // the largest |raw_at - truth| any check found

    static clock_fit_params make(const device_model& d, unsigned samples) {
        clock_fit_params p;
        p.tsc_hz = 2.6e9;
        p.raw_hz = static_cast<double>(1e9L / d.unit_ns);
        p.window = samples;
        return p;
    }
    rig(const device_model& d, uint64_t seed, unsigned samples = 64)
        : dev(d), params(make(d, samples)), fit(params), rng(seed) {}

    // One refresh: the narrowest of five bracketed reads. `extra` is added to every reading
    // (device units): a jittered read.
    clock_fit::event refresh(int64_t extra = 0) {
        std::uniform_int_distribution<uint64_t> width(50, 2000);
        std::uniform_real_distribution<double> inside(0.0, 1.0);
        clock_read reads[5];
        ld t = now;
        for (auto& r : reads) {
            r.tsc_before = tsc_of(t);
            r.tsc_after = r.tsc_before + width(rng);
            ld at = static_cast<ld>(r.tsc_before) +
                    static_cast<ld>(inside(rng)) * static_cast<ld>(r.tsc_after - r.tsc_before);
            r.raw = dev.read(t_of(at)) + static_cast<uint64_t>(extra);
            t = t_of(static_cast<ld>(r.tsc_after)) + 30; // the next read starts 30 ns later
        }
        auto e = fit.add(reads, 5);
        if (e == clock_fit::event::stepped) {
            window.clear();
        }
        window.push_back(fit.base_tsc());
        while (window.size() > fit.samples()) {
            window.pop_front();
        }
        std::uniform_real_distribution<double> jitter(-5e6, 5e6);
        now += 100 * ms + static_cast<ld>(jitter(rng));
        return e;
    }

    // |raw_at(tsc) - true device time| in ns.
    ld miss_ns(uint64_t tsc) const {
        ld mapped = static_cast<ld>(static_cast<int64_t>(fit.raw_at(tsc) - dev.raw0));
        return std::fabs(mapped - dev.units(t_of(static_cast<ld>(tsc)))) * dev.unit_ns;
    }

    // raw_at() within error_ns() at every window sample, between them, and up to 100 ms past
    // the newest (not past `until`: a step or a change of rate the fit cannot have seen yet).
    void check(ld until = infinity) {
        ASSERT_TRUE(fit.ready());
        ld bound = static_cast<ld>(fit.error_ns());
        auto one = [&](uint64_t tsc) {
            if (t_of(static_cast<ld>(tsc)) >= until) {
                return;
            }
            ld miss = miss_ns(tsc);
            worst_seen_ns = std::max(worst_seen_ns, miss);
            ASSERT_LE(miss, bound) << "t=" << static_cast<double>(t_of(static_cast<ld>(tsc)))
                                   << " ns, samples " << fit.samples();
        };
        for (std::size_t i = 0; i < window.size(); ++i) {
            one(window[i]);
            if (i + 1 < window.size()) {
                for (uint64_t k = 1; k < 8; ++k) {
                    one(window[i] + (window[i + 1] - window[i]) * k / 8);
                }
            }
        }
        for (uint64_t k = 1; k <= 20; ++k) {
            one(fit.base_tsc() + static_cast<uint64_t>(100 * ms * tsc_per_ns) * k / 20);
        }
    }

    double rate_ppm() const {
        double rate = static_cast<double>(fit.raw_per_tsc_q32()) / 4294967296.0;
        return (rate * params.tsc_hz / params.raw_hz - 1) * 1e6;
    }
};

struct clock_kind {
    const char* name;
    uint64_t raw0;
    double unit_ns;
    uint64_t max_error_ns; // steady state, with these brackets
};

void PrintTo(const clock_kind& k, std::ostream* os) {
    *os << k.name;
}

class clock_fit_kinds : public testing::TestWithParam<clock_kind> {};

} // namespace

TEST(clock_fit, first_sample_starts_at_the_narrowest_read_with_the_nominal_rate) {
    clock_fit_params p;
    p.tsc_hz = 2e9;
    p.raw_hz = 1e9;
    clock_fit fit(p);
    EXPECT_FALSE(fit.ready());
    clock_read reads[3] = {{1000, 5000, 1400}, {2000, 6000, 2100}, {3000, 7000, 3300}};
    EXPECT_EQ(fit.add(reads, 3), clock_fit::event::started);
    EXPECT_TRUE(fit.ready());
    EXPECT_TRUE(fit.settling());
    EXPECT_EQ(fit.samples(), 1u);
    EXPECT_EQ(fit.base_tsc(), 2050u);
    EXPECT_EQ(fit.base_raw(), 6000u);
    EXPECT_EQ(fit.raw_per_tsc_q32(), 1ULL << 31); // 0.5 ns per cycle
    EXPECT_EQ(fit.raw_at(2050 + 1000), 6500u);
    EXPECT_EQ(fit.raw_at(2050 - 1000), 5500u);
    // Half the 100-cycle bracket (25 ns) plus a unit each for the clock's and raw_at()'s
    // resolution, plus 100 ms at the nominal rate's 1000 ppm.
    EXPECT_GE(fit.error_ns(), 25u + 100'000u);
    EXPECT_LE(fit.error_ns(), 25u + 100'000u + 4u);
    EXPECT_EQ(fit.steps(), 0u);
    // A sample that is not after the newest teaches nothing.
    clock_read old{1000, 5000, 1010};
    EXPECT_EQ(fit.add(&old, 1), clock_fit::event::none);
    EXPECT_EQ(fit.samples(), 1u);
    EXPECT_EQ(fit.add(nullptr, 0), clock_fit::event::none);
}

TEST(clock_fit, settles_after_settle_samples) {
    device_model d;
    rig r(d, 1);
    EXPECT_EQ(r.refresh(), clock_fit::event::started);
    for (int i = 1; i < 4; ++i) {
        EXPECT_TRUE(r.fit.settling()) << i;
        EXPECT_EQ(r.refresh(), clock_fit::event::none);
    }
    EXPECT_FALSE(r.fit.settling());
    EXPECT_EQ(r.fit.samples(), 4u);
}

// The nominal rate is only a start: a TSC frequency 3000 ppm off what the fit was told (or a
// device's stated rate that far off) is measured by the second sample, not taken for steps.
TEST(clock_fit, a_wrong_nominal_rate_is_measured_not_taken_for_steps) {
    for (double wrong : {1.003, 0.997}) {
        device_model d;
        rig r(d, 81);
        r.params.tsc_hz *= wrong;
        r.fit = clock_fit(r.params);
        for (int i = 0; i < 100; ++i) {
            r.refresh();
            if (i >= 1) {
                r.check();
            }
        }
        EXPECT_EQ(r.fit.steps(), 0u) << wrong;
        // The map is right; only the rate as read against the stated tsc_hz looks off.
        EXPECT_NEAR(r.rate_ppm(), (1.000025 * wrong - 1) * 1e6, 0.05) << wrong;
        EXPECT_LT(r.fit.error_ns(), 5'000u) << wrong;
    }
}

TEST_P(clock_fit_kinds, maps_within_its_error_and_finds_the_rate) {
    const clock_kind& k = GetParam();
    device_model d;
    d.raw0 = k.raw0;
    d.unit_ns = static_cast<ld>(k.unit_ns);
    for (uint64_t seed : {11u, 12u, 13u}) {
        rig r(d, seed);
        uint64_t steady_max = 0;
        uint64_t steady_min = std::numeric_limits<uint64_t>::max();
        for (int i = 0; i < 200; ++i) {
            auto e = r.refresh();
            EXPECT_EQ(e, i == 0 ? clock_fit::event::started : clock_fit::event::none);
            r.check();
            if (i == 19) {
                EXPECT_NEAR(r.rate_ppm(), 25.0, 1.0) << k.name << " after 20 samples";
            }
            if (i == 63) {
                r.worst_seen_ns = 0; // from here on: the steady state
            }
            if (i >= 64) {
                steady_max = std::max(steady_max, r.fit.error_ns());
                steady_min = std::min(steady_min, r.fit.error_ns());
            }
        }
        EXPECT_EQ(r.fit.samples(), 64u);
        EXPECT_EQ(r.fit.steps(), 0u);
        EXPECT_NEAR(r.rate_ppm(), 25.0, k.unit_ns > 1 ? 0.5 : 0.01) << k.name;
        EXPECT_LT(steady_max, k.max_error_ns) << k.name;
        std::printf("%s seed %llu: steady error_ns %llu..%llu, largest miss %.0f ns, rate %+.4f "
                    "ppm (truth +25)\n",
                    k.name, static_cast<unsigned long long>(seed),
                    static_cast<unsigned long long>(steady_min),
                    static_cast<unsigned long long>(steady_max),
                    static_cast<double>(r.worst_seen_ns), r.rate_ppm());
    }
}

INSTANTIATE_TEST_SUITE_P(clock_fit, clock_fit_kinds,
                         testing::Values(clock_kind{"ns", 5'000'000'000ULL, 1, 5'000},
                                         clock_kind{"us", 5'000'000ULL, 1000, 10'000},
                                         clock_kind{"phc", 1'700'000'000'000'000'000ULL, 1, 5'000},
                                         // Wraps past 2^64 two seconds in.
                                         clock_kind{"wrap", 0ULL - 2'000'000'000ULL - 3'700'000ULL,
                                                    1, 5'000}),
                         [](const testing::TestParamInfo<clock_kind>& i) { return i.param.name; });

TEST(clock_fit, wraps_around_2_64) {
    device_model d;
    d.raw0 = 0ULL - 2'000'000'000ULL - 3'700'000ULL;
    rig r(d, 21);
    bool before = false;
    bool after = false;
    for (int i = 0; i < 60; ++i) {
        r.refresh();
        r.check();
        (r.fit.base_raw() > (1ULL << 63) ? before : after) = true;
    }
    EXPECT_TRUE(before);
    EXPECT_TRUE(after);
    EXPECT_EQ(r.fit.steps(), 0u);
    EXPECT_NEAR(r.rate_ppm(), 25.0, 0.05);
}

// A rate that changes over two seconds (a crystal warming up): followed once the window has
// turned over, and the map within its error all the way.
TEST(clock_fit, follows_a_drift_that_changes) {
    device_model d;
    d.raw0 = 1'700'000'000'000'000'000ULL;
    d.drift2 = 30e-6L;
    d.ramp_from = 10'000 * ms;
    d.ramp_to = 12'000 * ms;
    rig r(d, 31);
    uint64_t worst = 0;
    bool steady = false;
    while (r.now < 12'000 * ms + 6'700 * ms) {
        bool first = !r.fit.ready();
        EXPECT_EQ(r.refresh(), first ? clock_fit::event::started : clock_fit::event::none);
        if (r.now > 7'000 * ms && !steady) { // the start's nominal rate has left the window
            steady = true;
            r.worst_seen_ns = 0;
        }
        r.check();
        if (steady) {
            worst = std::max(worst, r.fit.error_ns());
        }
    }
    EXPECT_EQ(r.fit.steps(), 0u);
    EXPECT_NEAR(r.rate_ppm(), 30.0, 0.05);
    EXPECT_LT(r.fit.error_ns(), 5'000u);
    std::printf("ramp 25->30 ppm over 2 s: error_ns at most %llu during the change, %llu after, "
                "largest miss (from 7 s) %.0f ns\n",
                static_cast<unsigned long long>(worst),
                static_cast<unsigned long long>(r.fit.error_ns()),
                static_cast<double>(r.worst_seen_ns));
}

// An abrupt change of rate (a disciplined PHC's servo): covered as soon as a sample shows it
// (the check stops at the change while no sample has seen it).
TEST(clock_fit, an_abrupt_change_of_rate_is_covered_once_seen) {
    device_model d;
    d.drift2 = 30e-6L;
    d.ramp_from = d.ramp_to = 10'050 * ms;
    rig r(d, 41);
    uint64_t worst = 0;
    bool steady = false;
    while (r.now < 10'050 * ms + 6'700 * ms) {
        r.refresh();
        if (r.now > 7'000 * ms && !steady) {
            steady = true;
            r.worst_seen_ns = 0;
        }
        bool seen = t_of(static_cast<ld>(r.fit.base_tsc())) > d.ramp_from;
        r.check(seen ? infinity : d.ramp_from);
        if (steady) {
            worst = std::max(worst, r.fit.error_ns());
        }
    }
    EXPECT_EQ(r.fit.steps(), 0u);
    EXPECT_NEAR(r.rate_ppm(), 30.0, 0.05);
    EXPECT_LT(r.fit.error_ns(), 5'000u);
    std::printf("abrupt 25->30 ppm: error_ns at most %llu during the change, %llu after, largest "
                "miss (from 7 s) %.0f ns\n",
                static_cast<unsigned long long>(worst),
                static_cast<unsigned long long>(r.fit.error_ns()),
                static_cast<double>(r.worst_seen_ns));
}

class clock_fit_steps : public testing::TestWithParam<int> {};

TEST_P(clock_fit_steps, a_step_is_seen_on_the_next_sample_and_settles) {
    const ld step = GetParam() * ms;
    device_model d;
    d.raw0 = 1'700'000'000'000'000'000ULL;
    d.step_at = 10'050 * ms;
    d.step_ns = step;
    rig r(d, 51);
    while (r.now < d.step_at) {
        r.refresh();
        r.check(d.step_at);
    }
    ASSERT_FALSE(r.fit.settling());
    uint64_t before = r.fit.error_ns();
    ASSERT_EQ(r.refresh(), clock_fit::event::stepped);
    EXPECT_EQ(r.fit.steps(), 1u);
    EXPECT_NEAR(static_cast<double>(r.fit.last_step_ns()), static_cast<double>(step),
                static_cast<double>(before) + 20);
    EXPECT_EQ(r.fit.samples(), 1u);
    EXPECT_TRUE(r.fit.settling());
    // While settling the error says the step's size, and the map is already right.
    EXPECT_GE(r.fit.error_ns(), static_cast<uint64_t>(std::fabs(step)));
    r.check();
    // settle samples since the step (that one included): settling until the last of them.
    for (unsigned i = 1; i < r.params.settle; ++i) {
        EXPECT_EQ(r.refresh(), clock_fit::event::none);
        if (i + 1 < r.params.settle) {
            EXPECT_TRUE(r.fit.settling());
            EXPECT_GE(r.fit.error_ns(), static_cast<uint64_t>(std::fabs(step)));
        }
        r.check();
    }
    EXPECT_FALSE(r.fit.settling());
    EXPECT_LT(r.fit.error_ns(), 5'000u);
    std::printf("step %+.0f ns: seen as %+lld ns, error_ns %llu after settling (%u samples)\n",
                static_cast<double>(step), static_cast<long long>(r.fit.last_step_ns()),
                static_cast<unsigned long long>(r.fit.error_ns()), r.params.settle);
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(r.refresh(), clock_fit::event::none);
        r.check();
        EXPECT_LT(r.fit.error_ns(), 5'000u);
    }
    EXPECT_NEAR(r.rate_ppm(), 25.0, 0.05);
    EXPECT_EQ(r.fit.steps(), 1u);
}

INSTANTIATE_TEST_SUITE_P(clock_fit, clock_fit_steps, testing::Values(1, -1),
                         [](const testing::TestParamInfo<int>& i) {
                             return i.param > 0 ? std::string("plus_1ms")
                                                : std::string("minus_1ms");
                         });

// One read 5 us off (a read delayed inside the device) is not a step: the fit keeps going and
// its error grows to cover the outlier for as long as it is in the window.
TEST(clock_fit, a_5us_jitter_is_not_a_step) {
    device_model d;
    rig r(d, 61);
    for (int i = 0; i < 80; ++i) {
        r.refresh();
    }
    ASSERT_LT(r.fit.error_ns(), 5'000u);
    EXPECT_EQ(r.refresh(5'000), clock_fit::event::none);
    EXPECT_EQ(r.fit.steps(), 0u);
    EXPECT_GE(r.fit.error_ns(), 5'000u);
    r.check();
    for (int i = 0; i < 70; ++i) {
        EXPECT_EQ(r.refresh(), clock_fit::event::none);
        r.check();
    }
    EXPECT_LT(r.fit.error_ns(), 5'000u); // out of the window again
    EXPECT_NEAR(r.rate_ppm(), 25.0, 0.01);
}

// A step just above step_ns (20 us) plus the error is one; one just below is not.
TEST(clock_fit, the_step_threshold_is_step_ns_beyond_the_error) {
    device_model d;
    for (int64_t off : {30'000, -30'000}) {
        rig r(d, 71);
        for (int i = 0; i < 80; ++i) {
            r.refresh();
        }
        ASSERT_LT(r.fit.error_ns(), 5'000u);
        EXPECT_EQ(r.refresh(off), clock_fit::event::stepped) << off;
        EXPECT_NEAR(static_cast<double>(r.fit.last_step_ns()), static_cast<double>(off), 5'000);
    }
    for (int64_t off : {12'000, -12'000}) {
        rig r(d, 72);
        for (int i = 0; i < 80; ++i) {
            r.refresh();
        }
        EXPECT_EQ(r.refresh(off), clock_fit::event::none) << off;
        EXPECT_EQ(r.fit.steps(), 0u);
    }
}
