// Per-worker counters. Owner: every field of a worker's block is written by that worker alone
// (bump: a relaxed load + store, no read-modify-write), read by any thread through
// app::gather (the metrics exporter, telemetry, the slow path's stats and exit summary:
// relaxed loads). The last block (runtime::workers.back()) is the slow path's, written by it
// alone (exception_to_kernel, to_wire_drops). Cache-aligned blocks; the worker accumulates per
// burst in locals and adds once, so the hot path pays one store per counter per burst at most.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "twamp/metrics/names.hpp"
#include "twamp/proto/drop_reason.hpp"
#include "twamp/proto/tlv.hpp"

namespace twamp::dataplane {

inline constexpr std::size_t max_contexts = 256;

// Residence time T3 - T2 histogram: the one table of bounds, twamp/metrics/names.hpp.
using metrics::residence_bounds_ns;
using metrics::residence_buckets;

inline std::size_t residence_bucket(uint64_t ns) noexcept {
    std::size_t b = 0;
    while (b < residence_bounds_ns.size() && ns > residence_bounds_ns[b]) {
        ++b;
    }
    return b;
}

using counter = std::atomic<uint64_t>;

// Frames from the kernel that never reached the wire, by why: twamp/metrics/names.hpp.
using metrics::to_wire_drop;
using metrics::to_wire_drop_count;

// The limits' drop reasons, contiguous in proto::drop_reason: context_counters::limit_drops.
inline constexpr std::size_t limit_reasons = 6;
static_assert(static_cast<std::size_t>(proto::drop_reason::session_cap) -
                      static_cast<std::size_t>(proto::drop_reason::reflector_source_port) + 1 ==
              limit_reasons);
inline constexpr std::size_t limit_index(proto::drop_reason r) noexcept {
    return static_cast<std::size_t>(r) -
           static_cast<std::size_t>(proto::drop_reason::reflector_source_port);
}

inline void bump(counter& c, uint64_t n) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// Written by the worker that owns the block (sessions_active: by its aging slice), read by
// gather (relaxed atomics).
struct alignas(64) context_counters {
    counter rx_pkts{0};
    counter rx_octets{0};
    counter reflected_pkts{0};
    counter reflected_octets{0};
    counter acl_denied{0};
    counter stamp_short{
            0}; // STAMP requests of 14..43 octets answered with the base (RFC 8762 §4.6)
    std::array<counter, residence_buckets> residence{}; // per bucket, not cumulative
    counter residence_sum_ns{0};
    counter sessions_active{0}; // gauge, refreshed every aging slice
    // STAMP TLVs of the requests answered or refused by their TLVs (RFC 8972 §4; the
    // worker's rewrite, from proto::tlv_result): by Type (index = Type for 1..10, 0 for every
    // other Type: proto::tlv_seen_slots; metrics::stamp_tlv_type_names), and the TLVs returned
    // with U (unrecognized), M (malformed, at most one a request) or I (integrity) set.
    std::array<counter, proto::tlv_seen_slots> tlv_seen{};
    counter tlv_unrecognized{0};
    counter tlv_malformed{0};
    counter tlv_integrity{0};
    counter hmac_tlv_failures{0}; // requests whose HMAC TLV check failed (RFC 8972 §4.8)
    // Limits (README "Limits"): what each limit refused, by drop reason from
    // reflector_source_port to session_cap (limit_index), and per prefix rule (by its index
    // in the reflector's prefix-limits: its rate and its max-sessions with "drop").
    std::array<counter, limit_reasons> limit_drops{};
    std::array<counter, 64> prefix_drops{};
};
static_assert(metrics::stamp_tlv_type_names.size() == proto::tlv_seen_slots);

// Written by its worker (or, for the last block, the slow path), read by gather (relaxed).
struct alignas(64) worker_counters {
    counter rx_pkts{0};
    counter rx_octets{0};
    counter reflected_pkts{0};
    counter reflected_octets{0};      // the replies' frames, Ethernet header to UDP payload's end
    counter reflected_gufo_octets{0}; // Gufo Agent's figure: UDP payload + 28 a reply
    counter exception_to_kernel{0};   // wire -> kernel, taken by the TAP (the slow path's block)
    counter exception_to_wire{0};     // kernel -> wire, sent by this worker for the slow path
    counter sessions_created{0};
    counter sessions_aged{0};
    counter sessions_table_full{0}; // new flows reflected statelessly because the table was full
    counter sessions_active{0};     // gauge
    counter polls{0};
    counter idle_polls{0};
    counter busy_cycles{0}; // TSC cycles spent on bursts that carried packets
    counter busy_pkts{0};   // packets in those bursts (cycles/packet = busy_cycles / busy_pkts)
    // Hardware time (port_time.hpp). Replies of a "scheduled" port stamped from the device
    // clock instead: their departure time had passed when they were queued.
    counter t3_fallback{0};
    // Replies whose T3 read below their device T2 (the mapping was off: a device clock step
    // not yet refitted): sent with T3 = T2 and the Error Estimate widened by the difference.
    counter t3_clamped{0};
    // Device T2s later than the device clock when the worker took the frame (a forward step
    // not yet refitted): the reply's Error Estimate widened by the difference, S = 0.
    counter t2_ahead{0};
    // IEEE 1588 TX timestamps for Follow-Up Telemetry: replies flagged, latches read, and
    // flagged replies whose timestamp never came (10 ms).
    counter tx_ts_requested{0};
    counter tx_ts_read{0};
    counter tx_ts_missed{0};
    std::array<counter, proto::drop_reason_count> drops{};
    std::array<counter, to_wire_drop_count> to_wire_drops{};
    std::array<context_counters, max_contexts> contexts{};
    // The source table (limits): requests whose source found its entry held by another live
    // source and shared it.
    counter source_collisions{0};
};

} // namespace twamp::dataplane
