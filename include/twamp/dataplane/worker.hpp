// The worker lcore: DESIGN.md's burst loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include <rte_ether.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "twamp/dataplane/clock.hpp"
#include "twamp/dataplane/control_table.hpp"
#include "twamp/dataplane/counters.hpp"
#include "twamp/dataplane/seqlocked.hpp"
#include "twamp/dataplane/sessions.hpp"
#include "twamp/dataplane/snapshot.hpp"
#include "twamp/dataplane/view.hpp"
#include "twamp/proto/drop_reason.hpp"
#include "twamp/proto/packet.hpp"
#include "twamp/proto/reflect.hpp"

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

// One worker lcore's state and its burst loop, in stages (DESIGN.md "The hot path"): every
// received burst goes through classify -> lookup -> rewrite -> dispatch -> transmit ->
// to_slow_path, each a short loop over the burst; every packet gets one verdict (`next`, plus a
// drop reason) that dispatch acts on once. After all ports: drain_to_wire (the slow path's
// kernel -> wire frames) and housekeeping (RCU quiescent state, aging, gauges, session
// queries). worker_main() runs poll_once() until stop; tests call it directly.
class worker {
public:
    // A packet's verdict after the burst's stages (VPP's next[]).
    enum class next : uint8_t {
        reflect,          // a reply without a session record (stateless reflector)
        reflect_stateful, // a reply with its session looked up (a full table: stateless)
        to_kernel,        // to the slow path's TAP through the exception ring
        drop,             // freed and counted under its drop_reason
    };
    static constexpr uint16_t max_burst = 64;

    // Registers the worker's RCU thread id (args.qsv) and brings it online. `args` must
    // outlive the worker.
    explicit worker(const worker_args& args) noexcept;
    // RCU offline and unregistered; the active-session gauge written a last time.
    ~worker();
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;

    // One round: one RX burst per port through the stages, the kernel -> wire rings, then
    // housekeeping. Returns the packets received. No allocation, locks, logging or exceptions.
    unsigned poll_once() noexcept;

    // The last received burst's verdicts and drop reasons, in packet order (for tests).
    std::span<const next> last_verdicts() const noexcept { return {next_, last_n_}; }
    proto::drop_reason last_reason(std::size_t i) const noexcept { return why_[i]; }

private:
    struct burst; // one burst's locals (worker.cpp)

    // A packet that classify found to deserve a reply, waiting for its session (lookup) and
    // reply (rewrite).
    struct candidate {
        rte_mbuf* m;
        const context_rt* ctx;
        const proto::reflect_policy* policy;
        int16_t key;               // index into the burst's session keys, -1: stateless
        uint16_t pkt;              // index in the burst (its verdict)
        proto::verified_sums sums; // what the check summed that the rewrite reuses
        proto::parsed_frame pf;
    };
    // A reply waiting for T3.
    struct pending {
        rte_mbuf* m;
        proto::pending_reply r;
        uint64_t t2_ns;
        uint16_t ctx;
    };

    unsigned poll_port(const worker_port& wp) noexcept;
    void classify(burst& b) noexcept;
    next classify_one(burst& b, uint16_t i) noexcept;
    next classify_udp(burst& b, uint16_t i, rte_mbuf* m, const uint8_t* data, uint16_t len,
                      candidate& c) noexcept;
    void lookup(burst& b) noexcept;
    void rewrite(burst& b) noexcept;
    void dispatch(burst& b) noexcept;
    void transmit(burst& b) noexcept;
    void to_slow_path(burst& b) noexcept;
    void count(burst& b) noexcept;
    void drain_to_wire() noexcept;
    void housekeeping() noexcept;
    void housekeeping_slice() noexcept;
    next drop(uint16_t i, proto::drop_reason why) noexcept {
        why_[i] = why;
        return next::drop;
    }

    const worker_args& a_;
    worker_counters& wc_;
    const uint16_t burst_;
    unsigned pass_ = 0;
    uint64_t iids_[RTE_MAX_ETHPORTS] = {}; // the ports' IPv6 interface identifiers (EUI-64)
    unsigned n_iids_ = 0;
    // What this round reads, loaded once at its start (acquire).
    const snapshot* snap_ = nullptr;
    const control_table* control_ = nullptr;

    // The burst: received mbufs, verdicts, candidates, session keys, replies, exceptions.
    uint16_t last_n_ = 0;
    rte_mbuf* rx_[max_burst];
    next next_[max_burst];
    proto::drop_reason why_[max_burst];
    candidate cands_[max_burst];
    session_key keys_[max_burst];
    const session_key* key_ptrs_[max_burst];
    uint32_t key_limit_[max_burst];
    int32_t slots_[max_burst];
    pending tx_[max_burst];
    rte_mbuf* tx_mbufs_[max_burst];
    rte_mbuf* exc_[max_burst];
};

// rte_eal_remote_launch() entry point; arg is a worker_args*. Runs a worker until *stop.
int worker_main(void* arg);

} // namespace twamp::dataplane
