// The worker lcore: DESIGN.md's burst loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include <rte_ether.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "clock.hpp"
#include "seqlocked.hpp"
#include "control_table.hpp"
#include "counters.hpp"
#include "sessions.hpp"
#include "snapshot.hpp"
#include "view.hpp"

namespace twamp::dataplane {

// How a port's RX timestamps (mbuf dynamic field, device units) map to UTC nanoseconds:
// ns = base_ns + (raw - base_raw) * mult_q32 / 2^32. A stated unit/epoch is base 0, a
// calibrated device clock (rte_eth_read_clock) is a fit the slow path refreshes.
struct rx_ts_map {
    uint64_t base_raw = 0;
    int64_t base_ns = 0;
    uint64_t mult_q32 = uint64_t{1} << 32;

    uint64_t to_ns(uint64_t raw) const noexcept {
        int64_t d = static_cast<int64_t>(raw - base_raw);
        __extension__ __int128 v = static_cast<__int128>(d) * static_cast<__int128>(mult_q32);
        return static_cast<uint64_t>(base_ns + static_cast<int64_t>(v >> 32));
    }
};

// A port's RX timestamp map: published by the slow path (port set-up, recalibration), read by
// the workers every burst (seqlocked).
struct rx_ts_clock {
    bool enabled = false; // set before the workers start, then constant
    seqlocked<rx_ts_map> map;

    rx_ts_map read() const noexcept { return map.read(); }
    void publish(const rx_ts_map& m) noexcept { map.publish(m); }
};

struct worker_port {
    uint16_t port_id = 0;    // DPDK port
    uint16_t port_index = 0; // index in the spec
    uint16_t queue = 0;
    rte_ether_addr mac{};
    const rx_ts_clock* ts = nullptr; // null: no device timestamps on this port
    rte_ring* to_wire = nullptr;     // kernel -> wire frames this worker sends for the slow path
};

struct worker_args {
    unsigned index = 0; // worker number, also its RCU thread id
    uint16_t burst = 32;
    std::vector<worker_port> ports;
    rte_ring* exception_ring = nullptr; // wire -> kernel, to the slow path
    rte_rcu_qsbr* qsv = nullptr;
    const std::atomic<const dataplane::view*>* view =
            nullptr;                   // what to reflect: snapshot, control table
    port_activity* activity = nullptr; // control sessions' receiver ports (null: no server)
    uint16_t control_slot = 0;         // the control context's slot (counters, session table)
    const sw_clock* clock = nullptr;
    session_table* sessions = nullptr;
    worker_counters* counters = nullptr;
    const std::atomic<bool>* stop = nullptr;
    session_query* query = nullptr; // telemetry's "top sessions" mailbox (may be null)
    int ts_dynfield_offset = -1;
    uint64_t ts_dynflag = 0;
};

// rte_eal_remote_launch() entry point; arg is a worker_args*.
int worker_main(void* arg);

} // namespace twamp::dataplane
