// Everything the box counts, summed over workers at one instant: what the Prometheus endpoint,
// the DPDK telemetry commands, the periodic stats lines and the exit summary all print. Plain
// values: no DPDK, so the exposition can be unit tested.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "twamp/metrics/names.hpp"
#include "twamp/proto/drop_reason.hpp"

namespace twamp::metrics {

struct histogram {
    std::array<uint64_t, residence_buckets> buckets{}; // per bucket, not cumulative
    double sum_s = 0;
    uint64_t count() const noexcept {
        uint64_t n = 0;
        for (auto b : buckets) {
            n += b;
        }
        return n;
    }
};

struct reflector_stats {
    std::string name;
    std::string mode; // twamp-light | stamp
    uint64_t rx_pkts = 0;
    uint64_t rx_octets = 0;
    uint64_t reflected_pkts = 0;
    uint64_t reflected_octets = 0;
    uint64_t acl_denied = 0;
    uint64_t stamp_short = 0; // short STAMP requests answered with the base (RFC 8762 §4.6)
    uint64_t stamp_hmac_tlv_failures = 0; // HMAC TLV checks failed: TLVs returned with I
    uint64_t sessions_active = 0;
    histogram residence;
    // STAMP TLVs in its requests, by type (stamp_tlv_type_names' order: index = Type for
    // 1..10, 0 for the others), and those returned with a flag set (stamp_tlv_flag_names'
    // order: U, M, I).
    std::array<uint64_t, stamp_tlv_type_names.size()> stamp_tlvs{};
    std::array<uint64_t, stamp_tlv_flag_names.size()> stamp_tlv_flags{};
    // Limits (README "Limits"): what each limit refused, by drop reason from
    // reflector_source_port to session_cap (limit_reason(i)), and per prefix rule.
    std::array<uint64_t, 6> limit_drops{};
    std::vector<std::pair<std::string, uint64_t>> prefix_drops; // prefix, drops
};
// The drop reason of reflector_stats::limit_drops[i].
constexpr proto::drop_reason limit_reason(std::size_t i) noexcept {
    return static_cast<proto::drop_reason>(
            static_cast<std::size_t>(proto::drop_reason::reflector_source_port) + i);
}

struct port_stats {
    std::string name;
    std::string timestamp_source;     // "hw" | "sw"
    std::string t3_method;            // "software" | "device-clock" | "scheduled"
    double clock_error_s = 0;         // the device clock mapping's Error Estimate (0: software)
    uint64_t clock_steps = 0;         // device clock steps the fit saw
    uint64_t clock_read_failures = 0; // refreshes the device clock did not answer
    bool nic_ok = false;              // the ethdev counters below were read
    uint64_t rx_packets = 0;
    uint64_t tx_packets = 0;
    uint64_t rx_missed = 0;
    uint64_t rx_errors = 0;
    uint64_t tx_errors = 0;
    uint64_t rx_nombuf = 0; // frames the device lost for want of an mbuf (pool empty)
    // Issue 19: the link as the slow path last polled it (port_runtime::link_state).
    // "up" | "down" | "unknown" (before the first poll, or the device's link query fails:
    // then no port_link_up sample is exported)
    std::string link_state = "unknown";
    uint64_t link_speed_mbps = 0; // 0: unknown
    uint64_t link_changes = 0;    // up <-> down transitions seen after the first poll
};

struct worker_stats {
    uint64_t polls = 0;
    uint64_t idle_polls = 0;
    uint64_t busy_cycles = 0;
    uint64_t busy_pkts = 0;
    double busy_ratio = 0; // busy cycles / elapsed cycles since the previous gather
};

struct control_stats {
    uint64_t session_attempts = 0; // Request-TW-Session received (Gufo Agent's meaning)
    uint64_t session_started = 0;  // sessions moved to started
    uint64_t connections_open = 0;
    uint64_t sessions_refwait = 0; // started sessions ended after REFWAIT without test packets
    std::vector<std::pair<std::string, uint64_t>> refused; // by reason
    // Security modes (issue 17): PBKDF2 derivations done / refused by the limiter, and the
    // authentication failures by reason (unknown_key_id, bad_token, bad_hmac,
    // derivation_refused). Counts only: never a key or a KeyID.
    uint64_t key_derivations_done = 0;
    uint64_t key_derivations_refused = 0;
    uint64_t key_derivation_ns = 0; // the derivations' time on the slow path
    std::vector<std::pair<std::string, uint64_t>> auth_failures;
    // Issue 18: slow-path rounds in which the control server had work (events, timers, closes).
    uint64_t busy_polls = 0;
    uint64_t connections_backed_up = 0; // output backed up: not read until it drains
};

struct box_stats {
    uint64_t rx_pkts = 0;
    uint64_t rx_octets = 0;
    uint64_t reflected_pkts = 0;
    uint64_t reflected_octets = 0;      // the replies' Ethernet frames (header to payload, no FCS)
    uint64_t reflected_gufo_octets = 0; // Gufo Agent's figure: UDP payload + 28 a reply
    std::array<uint64_t, proto::drop_reason_count> drops{};
    uint64_t to_kernel = 0; // frames the TAP took (rx == reflected + dropped() + to_kernel)
    uint64_t to_wire = 0;   // frames from the kernel sent on the wire
    std::array<uint64_t, to_wire_drop_names.size()> to_wire_drops{}; // from the kernel, not sent
    uint64_t sessions_active = 0;
    uint64_t sessions_created = 0;
    uint64_t sessions_aged = 0;
    uint64_t sessions_table_full = 0;
    uint64_t reloads_ok = 0;
    uint64_t reloads_failed = 0;
    uint64_t reloads_refused = 0;
    bool clock_synchronized = false;
    double clock_error_s = 0;
    uint64_t t3_fallback = 0;     // scheduled ports: replies stamped from the device clock instead
    uint64_t t3_clamped = 0;      // device T3 below T2: sent as T2, the error widened
    uint64_t t2_ahead = 0;        // device T2 after the worker took the frame: error widened
    uint64_t tx_ts_requested = 0; // IEEE 1588 TX timestamps: replies flagged
    uint64_t tx_ts_read = 0;      // latches read
    uint64_t tx_ts_missed = 0;    // none came within 10 ms
    uint64_t source_collisions = 0; // limits: requests that shared another source's entry
    control_stats control;
    std::vector<reflector_stats> reflectors;
    std::vector<port_stats> ports;
    std::vector<worker_stats> workers;
    // The packet buffer pool: mbufs taken (RX descriptors, rings, in flight; read while the
    // workers run, so approximate to a burst) and its size. A count that climbs under a steady
    // load is a leak (perf/soak.sh checks it).
    uint64_t mbufs_in_use = 0;
    uint64_t mbufs_total = 0;
    // Issue 19: what is running and since when (app::runtime), and the last SIGHUP's outcome.
    std::string version;      // dpdk-twamp's, e.g. "0.19.0"
    std::string dpdk_version; // rte_version() without "DPDK ", e.g. "22.11.1"
    int64_t start_unix_ns = 0;
    std::string last_reload_result = "none"; // applied | unchanged | rejected | refused | none
    int64_t last_reload_unix_ns = 0;         // 0: no reload yet

    uint64_t to_wire_dropped() const noexcept {
        uint64_t n = 0;
        for (auto v : to_wire_drops) {
            n += v;
        }
        return n;
    }

    uint64_t dropped() const noexcept {
        uint64_t n = 0;
        for (std::size_t r = 1; r < drops.size(); ++r) {
            n += drops[r];
        }
        return n;
    }
};

// A reflector's counters, one row each, in the order the printers show them: the Prometheus
// family (after the twamp_reflector_ prefix, label reflector="name") with its HELP text, and
// the key in DPDK telemetry /twamp/reflectors (empty: not shown there). External contracts.
struct reflector_counter_name {
    uint64_t reflector_stats::*field;
    std::string_view metric;
    std::string_view help;
    std::string_view key;
};
inline constexpr std::array<reflector_counter_name, 7> reflector_counters = {{
        {&reflector_stats::rx_pkts, "received_packets_total",
         "Test packets received for a reflector (before the ACL)", "rx_packets"},
        {&reflector_stats::rx_octets, "received_bytes_total",
         "Octets of test packets received for a reflector", "rx_octets"},
        {&reflector_stats::reflected_pkts, "reflected_packets_total", "Replies a reflector sent",
         "reflected_packets"},
        {&reflector_stats::reflected_octets, "reflected_bytes_total",
         "Octets of the replies a reflector sent", "reflected_octets"},
        {&reflector_stats::acl_denied, "denied_packets_total",
         "Test packets whose source is outside the reflector's prefixes", "denied_packets"},
        {&reflector_stats::stamp_short, "stamp_short_requests_total",
         "STAMP requests shorter than the 44-octet base (TWAMP Light senders) answered with the "
         "base packet, RFC 8762 section 4.6",
         ""},
        {&reflector_stats::stamp_hmac_tlv_failures, "stamp_hmac_tlv_failures_total",
         "STAMP requests whose HMAC TLV check failed (wrong HMAC, not the last TLV, or missing "
         "in authenticated mode): answered with the I flag on every TLV, RFC 8972 section 4.8",
         "stamp_hmac_tlv_failures"},
}};

// The session-table totals, one row each, in the order every printer shows them: the exit
// summary ("sessions created N aged N table-full N"), DPDK telemetry /twamp/stats and the
// Prometheus exposition. The names are external contracts (see names.hpp).
struct session_total_name {
    uint64_t box_stats::*field;
    std::string_view key;     // /twamp/stats key
    std::string_view metric;  // Prometheus family, after the twamp_reflector_ prefix
    std::string_view help;    // its HELP text
    std::string_view summary; // the exit summary's word
};
inline constexpr std::array<session_total_name, 3> session_totals = {{
        {&box_stats::sessions_created, "sessions_created", "sessions_created_total",
         "Stateful sessions created", "created"},
        {&box_stats::sessions_aged, "sessions_aged", "sessions_aged_total",
         "Stateful sessions removed after their inactivity timeout", "aged"},
        {&box_stats::sessions_table_full, "sessions_table_full", "sessions_table_full_total",
         "New flows reflected statelessly because the session table was full", "table-full"},
}};

} // namespace twamp::metrics
