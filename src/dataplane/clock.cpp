#include "twamp/dataplane/clock.hpp"

#include <algorithm>

#include <sys/timex.h>
#include <time.h>

namespace twamp::dataplane {

uint64_t realtime_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return timespec_ns(ts);
}

kernel_sync read_kernel_sync() noexcept {
    kernel_sync k;
    timex tx{};
    int state = adjtimex(&tx);
    k.synchronized = state >= 0 && state != TIME_ERROR && !(tx.status & STA_UNSYNC);
    // esterror/maxerror are in microseconds. Unsynchronized: the kernel's maximum error is the
    // honest figure (it grows by 500 ppm while nobody disciplines the clock).
    long us = k.synchronized ? tx.esterror : tx.maxerror;
    k.error_ns = static_cast<uint64_t>(std::max(us, 1L)) * 1000;
    if (tx.tai > 0) {
        k.tai_utc_offset_s = tx.tai;
    }
    return k;
}

namespace {

// One (TSC, CLOCK_REALTIME) pair, taking the read with the shortest TSC bracket.
void sample(uint64_t& tsc, uint64_t& ns) noexcept {
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 5; ++i) {
        uint64_t a = rte_rdtsc();
        uint64_t t = realtime_ns();
        uint64_t b = rte_rdtsc();
        if (b - a < best) {
            best = b - a;
            tsc = a + (b - a) / 2;
            ns = t;
        }
    }
}

} // namespace

void sw_clock::init(unsigned settle_ms) noexcept {
    sample(start_tsc_, start_ns_);
    timespec d{0, static_cast<long>(settle_ms) * 1'000'000L};
    nanosleep(&d, nullptr);
    recalibrate();
}

void sw_clock::recalibrate() noexcept {
    uint64_t tsc = 0, ns = 0;
    sample(tsc, ns);
    clock_map m;
    // The rate over everything since start: the longer the baseline, the smaller the error.
    uint64_t dtsc = tsc - start_tsc_;
    uint64_t dns = ns - start_ns_;
    if (dtsc == 0 || ns <= start_ns_) {
        // The wall clock stepped back: start the fit again.
        start_tsc_ = tsc;
        start_ns_ = ns;
        const uint64_t prev = map_.read().ns_per_tsc;
        m.ns_per_tsc =
                prev ? prev : (proto::ns_per_s << 32) / std::max<uint64_t>(rte_get_tsc_hz(), 1);
    } else {
        m.ns_per_tsc = static_cast<uint64_t>((static_cast<proto::u128>(dns) << 32) / dtsc);
    }
    m.base_tsc = tsc;
    m.base_ns = ns;
    kernel_sync k = read_kernel_sync();
    m.synchronized = k.synchronized;
    m.tai_utc_offset_s = k.tai_utc_offset_s;
    // Interpolating 100 ms with the fitted rate adds well under a microsecond; the kernel's
    // own error dominates. Count 1 us for the interpolation and the read bracket.
    m.error_ns = k.error_ns + 1000;
    m.error = proto::make_error_estimate(m.error_ns, m.synchronized, false);
    map_.publish(m);
}

} // namespace twamp::dataplane
