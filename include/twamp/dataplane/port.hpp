// Bringing up a wire port: probe the device (PCI address or vdev devargs), configure one
// RX/TX queue pair per worker, RSS over addresses and UDP ports, checksum and timestamp
// offloads where offered.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <rte_ether.h>
#include <rte_mempool.h>

#include "twamp/dataplane/spec.hpp"
#include "twamp/dataplane/worker.hpp"

namespace twamp::dataplane {

// The device's port id, probing it when EAL has not already (--vdev / -a).
bool probe_device(const std::string& devargs, uint16_t& port_id, std::string& error);

// Owner: the slow path. setup_port fills every field before the workers and reader threads
// start; afterwards readers (gather: name, ts_source) read only fields that never change
// again. The exception is the timestamp map inside `ts`: the slow path publishes it
// (recalibrate_port_clock), the workers read it every burst (seqlocked).
struct port_runtime {
    uint16_t port_id = 0;
    std::string name;   // constant after set-up; read by gather
    std::string driver; // constant after set-up
    rte_ether_addr mac{};
    bool rss = false;
    bool rx_cksum_offload = false;
    // Set when the port's RX timestamps are used for T2. The pointer is constant after set-up
    // (read by gather: ts_source); the map it holds is seqlocked (slow path -> workers).
    std::unique_ptr<rx_ts_clock> ts;
    bool ts_calibrated = false; // mapped by rte_eth_read_clock calibration (else stated)
    // The calibration baseline: the slow path's alone (recalibrate_port_clock).
    uint64_t ts_cal_raw = 0;
    uint64_t ts_cal_ns = 0;
    const char* ts_source() const noexcept { return ts ? "hw" : "sw"; }
};

bool setup_port(port_runtime& pr, const port_spec& spec, unsigned n_workers, uint16_t rx_desc,
                uint16_t tx_desc, rte_mempool* pool, std::string& error);

// Refits a calibrated device clock against CLOCK_REALTIME (slow path).
void recalibrate_port_clock(port_runtime& pr) noexcept;

void stop_port(uint16_t port_id) noexcept;

} // namespace twamp::dataplane
