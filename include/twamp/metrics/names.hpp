// One table per fact that more than one printer shows: the residence-time buckets, why a frame
// from the kernel did not reach the wire, and the two exception-path directions. The workers
// count by these tables (include/twamp/dataplane/counters.hpp); the exit summary, the
// --stats-period lines, the DPDK telemetry commands and the Prometheus exposition print from them.
// Drop reasons have theirs in twamp/proto/drop_reason.hpp. Plain values: no DPDK.
//
// The printed names are external contracts: Prometheus metric and label values and telemetry
// JSON keys (README, tests/integration), and the exit summary's words (lab_tests.py parses
// them). Append; never rename or reorder.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace twamp::metrics {

// Residence time T3 - T2 histogram: bucket upper bounds in nanoseconds (then +Inf). The
// workers bucket by them; Prometheus prints them in seconds (residence_bounds_s). Ascending
// (a bound may be inserted, never removed: a removed `le` breaks stored queries); 2 and 5 ms
// since issue 19, so that quantiles between 1 and 10 ms are not one linear guess.
inline constexpr std::array<uint64_t, 13> residence_bounds_ns = {
        1'000,   2'000,   5'000,     10'000,    20'000,    50'000,    100'000,
        200'000, 500'000, 1'000'000, 2'000'000, 5'000'000, 10'000'000};
inline constexpr std::size_t residence_buckets = residence_bounds_ns.size() + 1;

// The same bounds in seconds: ns / 1e9 is the correctly rounded quotient of two exact
// doubles, so each is the double the literal (1e-6, 2e-6, ...) would give.
inline constexpr std::array<double, residence_bounds_ns.size()> residence_bounds_s = [] {
    std::array<double, residence_bounds_ns.size()> s{};
    for (std::size_t i = 0; i < s.size(); ++i) {
        s[i] = static_cast<double>(residence_bounds_ns[i]) / 1e9;
    }
    return s;
}();

// Frames from the kernel (the TAP's output) that never reached the wire, by why. Not drop
// reasons: drops count received frames only, so that rx == reflected + dropped + to-kernel.
// no_mbuf: the TAP could not receive a frame of the kernel's for want of an mbuf (pool empty).
enum class to_wire_drop : uint8_t { rate_limit, ring_full, tx_full, shutdown, no_mbuf, count_ };
inline constexpr std::size_t to_wire_drop_count = static_cast<std::size_t>(to_wire_drop::count_);
// The `reason` label of exception_to_wire_dropped_total and the exit summary's words after
// "from-kernel dropped", in to_wire_drop order.
inline constexpr std::array<std::string_view, to_wire_drop_count> to_wire_drop_names = {
        "rate_limit", "ring_full", "tx_full", "shutdown", "no_mbuf"};

// Frames passed between the wire and the kernel (TAP), by direction: the `direction` label of
// exception_packets_total and the /twamp/stats key are one word; the exit summary says it from
// the kernel's side.
enum class exception_direction : uint8_t { to_kernel, to_wire, count_ };
struct direction_name {
    std::string_view key;     // Prometheus label value, telemetry key
    std::string_view summary; // exit summary
};
inline constexpr std::array<direction_name, 2> exception_direction_names = {{
        {"to_kernel", "to-kernel"},
        {"to_wire", "from-kernel"},
}};
inline constexpr std::string_view name_of(exception_direction d) noexcept {
    return exception_direction_names[static_cast<std::size_t>(d)].key;
}
inline constexpr std::string_view summary_name_of(exception_direction d) noexcept {
    return exception_direction_names[static_cast<std::size_t>(d)].summary;
}

// STAMP TLVs (RFC 8972 §4, RFC 9503), the `type` label of stamp_tlvs_total and the telemetry
// keys: index = the TLV Type for 1..10 (proto::tlv_type), 0 for every other Type
// (proto::tlv_seen_slots, the per-reflector counters' index).
inline constexpr std::array<std::string_view, 11> stamp_tlv_type_names = {
        "other",
        "extra_padding",
        "location",
        "timestamp_information",
        "class_of_service",
        "direct_measurement",
        "access_report",
        "follow_up_telemetry",
        "hmac",
        "destination_node_address",
        "return_path",
};
// The Flags a reflector sets on the TLVs it returns (RFC 8972 §4): the `flag` label of
// stamp_tlv_flags_total, in this order: U (unrecognized), M (malformed), I (integrity).
inline constexpr std::array<std::string_view, 3> stamp_tlv_flag_names = {"u", "m", "i"};

} // namespace twamp::metrics
