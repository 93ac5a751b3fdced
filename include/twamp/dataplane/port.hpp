// Bringing up a wire port: probe the device (PCI address or vdev devargs), configure one
// RX/TX queue pair per worker, RSS over addresses and UDP ports, checksum and timestamp
// offloads where offered, and the port's time (port_time.hpp): which clock T2 and T3 come
// from, and its mapping to UTC, refreshed by the slow path.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rte_ether.h>
#include <rte_mempool.h>

#include "twamp/dataplane/clock.hpp"
#include "twamp/dataplane/clock_fit.hpp"
#include "twamp/dataplane/device.hpp"
#include "twamp/dataplane/port_time.hpp"
#include "twamp/dataplane/spec.hpp"

namespace twamp::dataplane {

// The device's port id, probing it when EAL has not already (--vdev / -a).
bool probe_device(const std::string& devargs, uint16_t& port_id, std::string& error);

// Owner: the slow path. setup_port fills every field before the workers and reader threads
// start; afterwards readers (gather, telemetry, the start-up summary) read only fields that
// never change again, and the atomics. `time->map` is published by the slow path
// (refresh_port_time) and read by the workers every burst (seqlocked).
// A fault a port cannot recover from at runtime (the box says so and exits for a restart).
enum class port_fault : uint8_t {
    none,
    removed,    // RTE_ETH_EVENT_INTR_RMV: the device was removed (hot-unplug)
    reset,      // RTE_ETH_EVENT_INTR_RESET: the device needs a reset (e.g. its PF reset a VF)
    iface_gone, // net_af_packet: the kernel interface it is bound to was deleted
};
const char* to_string(port_fault f) noexcept;

struct port_runtime {
    uint16_t port_id = 0;
    std::string name;   // constant after set-up; read by gather
    std::string driver; // constant after set-up
    rte_ether_addr mac{};
    bool rss = false;
    bool rx_cksum_offload = false;
    bool tx_cksum_offload = false; // replies' UDP checksums by the device
    const device_ops* ops = nullptr;
    device_caps caps{};
    // The port's time; null: software T2 and T3 (no device timestamps used).
    std::unique_ptr<port_time> time;
    // IEEE 1588 transmit timestamps sampled for Follow-Up Telemetry: one frame in flight per
    // port (port_time.hpp, tx_ts_mailbox; the slow path reads the latch: poll_tx_timestamp).
    bool tx_timestamps = false;
    alignas(64) tx_ts_mailbox tx_ts;
    uint64_t tx_ts_last_raw = 0; // the slow path's: the last latch value taken

    // The slow path's own mapping state (refresh_port_time).
    std::unique_ptr<clock_fit> fit; // null: a stated clock (or software)
    bool read_via_timesync = false; // rte_eth_timesync_read_time rather than rte_eth_read_clock
    uint64_t stated_ns_per_unit = 0;
    int64_t stated_base_ns = 0;
    uint32_t lead_ns = 0;
    uint32_t granularity_ns = 0;
    // Read by gather (relaxed): the mapping's last measured error, steps seen.
    std::atomic<uint64_t> clock_error_ns{0};
    std::atomic<uint64_t> clock_steps{0};
    std::atomic<uint64_t> clock_read_failures{0}; // refreshes the device did not answer
    std::atomic<bool> clock_settled{false};
    // net_af_packet: the PMD's sockets (found by their interface at set-up) and what their
    // kernel rings dropped when full (PACKET_STATISTICS tp_drops), which DPDK 22.11's PMD does
    // not report. The slow path reads them (poll_kernel_drops); gather adds them to rx_missed.
    std::vector<int> packet_sockets;
    int packet_ifindex = 0; // the interface they are bound to
    std::atomic<uint64_t> kernel_ring_drops{0};
    // Issue 19: the link as rte_eth_link_get_nowait last said it (poll_port_health, slow path,
    // every ~100 ms); read by gather, the events and the telemetry (relaxed).
    // link_state: link_down, link_up, or link_unknown before the first poll that succeeded
    // (a device whose rte_eth_link_get_nowait always fails stays unknown: no port_link_up).
    static constexpr uint8_t link_down = 0, link_up = 1, link_unknown = 2;
    std::atomic<uint8_t> link_state{link_unknown};
    std::atomic<uint32_t> link_speed_mbps{0}; // 0: unknown (RTE_ETH_SPEED_NUM_UNKNOWN/NONE)
    std::atomic<uint64_t> link_changes{0};    // up <-> down transitions seen after the first poll
    // Set by the ethdev event callback (interrupt thread) or by poll_port_health (slow path).
    std::atomic<port_fault> fault{port_fault::none};
    // The device declares removal interrupts (RTE_ETH_DEV_INTR_RMV) and the port asked for
    // them (rte_eth_conf.intr_conf.rmv): a removal reaches `fault` through the event callback.
    bool rmv_interrupt = false;

    t3_method method() const noexcept { return time ? time->method : t3_method::software; }
    const char* ts_source() const noexcept { return time ? "hw" : "sw"; }
};

bool setup_port(port_runtime& pr, const port_spec& spec, unsigned n_workers, uint16_t rx_desc,
                uint16_t tx_desc, rte_mempool* pool, std::string& error,
                const device_ops& ops = ethdev_ops());

// The slow path, every refresh (~100 ms): reads the device clock (bracketed), refits it and
// publishes the port's mapping composed with the system clock's `sys` (read after its own
// recalibration). Returns true when the fit saw the device clock step.
bool refresh_port_time(port_runtime& pr, const clock_map& sys) noexcept;

// The slow path, every round: the port's IEEE 1588 TX timestamp in flight, if any (see
// tx_ts_mailbox). Returns true when it moved (read or given up).
bool poll_tx_timestamp(port_runtime& pr) noexcept;

// The slow path, every refresh, and box::stop once after the workers stop (before the scrapes
// and the telemetry end and the ports close): what the kernel rings of a net_af_packet port
// dropped since the last call (reading clears the kernel's count; a PMD that reads it too
// reports its share as imissed: the sum is exact). Returns the frames added.
uint64_t poll_kernel_drops(port_runtime& pr) noexcept;

// The slow path, every refresh: poll_kernel_drops, then whether the port failed for good
// (an ethdev removal or reset event; a net_af_packet socket whose interface was deleted: the
// kernel unbinds it and a new interface of that name would not be the one it was bound to).
port_fault poll_port_health(port_runtime& pr) noexcept;

void stop_port(uint16_t port_id) noexcept;

} // namespace twamp::dataplane
