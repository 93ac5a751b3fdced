// Wall-clock time for T2/T3 on the workers without a system call: the TSC mapped to
// CLOCK_REALTIME by a linear fit the slow path refreshes every ~100 ms, published with a
// seqlock. Also the Error Estimate of that clock (S from the kernel's sync state).
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>

#include <rte_cycles.h>

#include "twamp/dataplane/seqlocked.hpp"
#include "twamp/proto/timestamp.hpp"

namespace twamp::dataplane {

struct clock_map {
    uint64_t base_tsc = 0;
    uint64_t base_ns = 0;    // UTC ns since the Unix epoch at base_tsc
    uint64_t ns_per_tsc = 0; // Q32 fixed point
    proto::error_estimate error{};
    int32_t tai_utc_offset_s = 37;
    bool synchronized = false;
    uint64_t error_ns = 0;
};

class sw_clock {
public:
    // Calibrates for `settle_ms` (blocking: start-up only).
    void init(unsigned settle_ms = 50) noexcept;
    // Slow path, every ~100 ms.
    void recalibrate() noexcept;

    // Any thread (the workers every burst): the last published fit.
    clock_map read() const noexcept { return map_.read(); }

    static uint64_t to_ns(const clock_map& m, uint64_t tsc) noexcept {
        int64_t d = static_cast<int64_t>(tsc - m.base_tsc);
        if (d >= 0) {
            return m.base_ns +
                   static_cast<uint64_t>((static_cast<proto::u128>(d) * m.ns_per_tsc) >> 32);
        }
        return m.base_ns -
               static_cast<uint64_t>((static_cast<proto::u128>(-d) * m.ns_per_tsc) >> 32);
    }

    uint64_t now_ns() const noexcept { return to_ns(read(), rte_rdtsc()); }

private:
    // Written by the slow path (init, recalibrate), read by workers and any reader thread.
    seqlocked<clock_map> map_;
    // The slow path's own fit state: only it reads or writes these.
    uint64_t start_tsc_ = 0;
    uint64_t start_ns_ = 0;
};

uint64_t realtime_ns() noexcept;

// A timespec (CLOCK_REALTIME, or a device's IEEE 1588 time) as ns since its epoch.
inline uint64_t timespec_ns(const timespec& ts) noexcept {
    return static_cast<uint64_t>(ts.tv_sec) * proto::ns_per_s + static_cast<uint64_t>(ts.tv_nsec);
}

// Kernel clock discipline (adjtimex): synchronized, estimated error, TAI-UTC offset.
struct kernel_sync {
    bool synchronized = false;
    uint64_t error_ns = 0;
    int32_t tai_utc_offset_s = 37; // kernel's value when set, else the 2017 offset
};
kernel_sync read_kernel_sync() noexcept;

} // namespace twamp::dataplane
