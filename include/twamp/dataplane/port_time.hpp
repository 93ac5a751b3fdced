// A port's time: one mapping from its device clock to UTC for T2, T3 and the Error Estimate of
// every reply that carries a device RX timestamp. The slow path builds it (port.cpp,
// refresh_port_time) from bracketed reads of the device clock fitted against the TSC
// (clock_fit.hpp) composed with the system clock's TSC -> CLOCK_REALTIME map (clock.hpp), and
// publishes it seqlocked; the workers read it once per burst.
//
// Composition makes the two timestamps one clock: a device timestamp `raw` maps to the UTC
// instant of the TSC reading the fit pairs with it, and T3 read "from the device clock" at
// transmit is the same line evaluated at the transmit TSC. T3 - T2 is then the residence the
// device clock measured, whatever the offset between the device and the system clock, and the
// Error Estimate is the system clock's error plus the measured error of the fit.
#pragma once

#include <atomic>
#include <cstdint>

#include "twamp/dataplane/seqlocked.hpp"
#include "twamp/proto/timestamp.hpp"

namespace twamp::dataplane {

// Where a port's T3 comes from (config "t3" resolved against the device at set-up).
enum class t3_method : uint8_t {
    software,     // T2 and T3 from the software clock (device RX timestamps unused)
    device_clock, // T2 the device RX timestamp, T3 the device clock at transmit (one mapping)
    scheduled,    // T2 as device_clock, T3 the send-on-timestamp departure (T2 + lead)
};
const char* to_string(t3_method m) noexcept;

struct port_time_map {
    // Device units -> UTC ns since the Unix epoch: base_ns + (raw - base_raw) * ns_per_raw / 2^32.
    uint64_t base_raw = 0;
    int64_t base_ns = 0;
    uint64_t ns_per_raw_q32 = uint64_t{1} << 32;
    // The same mapping read at a TSC instant (T3 from the device clock at transmit):
    // base_ns + (tsc - base_tsc) * ns_per_tsc / 2^32. Zero `ns_per_tsc_q32`: a stated clock
    // (hw-clock: unit and epoch given, the clock itself unreadable), whose T3 is T2 plus the
    // residence the TSC measured since the burst was received.
    uint64_t base_tsc = 0;
    uint64_t ns_per_tsc_q32 = 0;
    // Scheduled T3: the lead (t3-lead-ns) in device units.
    uint64_t lead_raw = 0;
    // The Error Estimate of a reply stamped with this mapping: the system clock's error, the
    // fit's measured error and, for scheduled T3, the device's scheduling granularity. S only
    // when the system clock is synchronized and the fit has settled.
    uint64_t error_ns = 0;
    proto::error_estimate error{};
    int32_t tai_utc_offset_s = 37;
    bool mapped = false; // false: not fitted yet (device RX timestamps not used meanwhile)
    // The fit's own error (device clock against the TSC, ns): how early a scheduled time must
    // be to be sure it is still ahead of the device (worker: with the transmit path).
    uint64_t fit_error_ns = 0;
    // Until base_tsc + valid_tsc the error holds; a map that old (the slow path stalled, or the
    // device stopped answering) is not used: software T2 and T3 until the next refit.
    uint64_t valid_tsc = UINT64_MAX;
    // The link's time per octet on the wire, ns in Q16 (frames queued behind a scheduled one
    // leave one after another).
    uint32_t wire_ns_per_octet_q16 = 8u << 16; // 1 Gb/s until the link says otherwise

    uint64_t to_ns(uint64_t raw) const noexcept {
        const int64_t d = static_cast<int64_t>(raw - base_raw);
        const proto::i128 v =
                static_cast<proto::i128>(d) * static_cast<proto::i128>(ns_per_raw_q32);
        return static_cast<uint64_t>(base_ns + static_cast<int64_t>(v >> 32));
    }
    uint64_t tsc_to_ns(uint64_t tsc) const noexcept {
        const int64_t d = static_cast<int64_t>(tsc - base_tsc);
        const proto::i128 v =
                static_cast<proto::i128>(d) * static_cast<proto::i128>(ns_per_tsc_q32);
        return static_cast<uint64_t>(base_ns + static_cast<int64_t>(v >> 32));
    }
};

// One IEEE 1588 TX timestamp in flight per port (Follow-Up Telemetry). Only the slow path calls
// the device (ethdev's timesync calls are not thread-safe, and it also reads the clock): a
// worker claims the mailbox (idle -> claimed), flags one reply, and once rte_eth_tx_burst took
// it fills in what it sent and posts it (flagged, release); the slow path reads the latch
// until a plausible value comes (read) or 10 ms pass (missed); the worker applies the result
// to its session record and frees the mailbox (idle).
struct tx_ts_mailbox {
    enum : uint8_t { idle, claimed, flagged, read, missed };
    std::atomic<uint8_t> state{idle};
    // The worker's, before `flagged`:
    uint64_t since_tsc = 0; // when the reply was handed to the device
    uint64_t t3_ns = 0;     // the T3 it was sent with
    // The slow path's, before `read`: the latched departure, UTC ns (the port's mapping).
    uint64_t ns = 0;
};

// Shared between the slow path (writes `map`) and the workers (read it every burst). `method`
// and the flags are set before the workers start, then constant.
struct port_time {
    t3_method method = t3_method::software;
    bool schedule_first_only = false; // the device schedules a burst's first frame only
    int tx_ts_offset = -1;            // the TX timestamp dynamic field (scheduled)
    uint64_t tx_ts_flag = 0;          // its flag
    seqlocked<port_time_map> map;

    port_time_map read() const noexcept { return map.read(); }
    void publish(const port_time_map& m) noexcept { map.publish(m); }
};

} // namespace twamp::dataplane
