// What a port's device offers for time and checksums, and the few calls the dataplane makes
// for them. The seam is a table of plain function pointers with ethdev's own signatures:
// production uses ethdev_ops() (straight to rte_eth_*), tests/dpdk's device model presents a
// device clock with a chosen offset and drift over a net_ring port (RX/TX callbacks). Only the
// slow path (set-up, recalibration) and a worker's housekeeping (one TX timestamp read per
// round while one is in flight) call through it; the per-packet path reads only the
// capabilities, copied into worker_port, and mbuf fields.
#pragma once

#include <cstdint>
#include <ctime>

#include <rte_ethdev.h>

namespace twamp::dataplane {

struct device_caps {
    // RX timestamps in the mbuf timestamp dynamic field (RTE_ETH_RX_OFFLOAD_TIMESTAMP, or a
    // driver that stamps unasked: net_pcap's capture record time).
    bool rx_timestamp = false;
    // The device clock can be read: read_clock (rte_eth_read_clock: mlx5, cnxk) or, for IEEE
    // 1588 devices (ice, i40e, ixgbe, igb, bnxt, ...), read_time (rte_eth_timesync_read_time).
    bool clock_readable = false;
    bool read_clock = false; // rte_eth_read_clock answers (else the clock is read as 1588 time)
    bool timesync = false;   // the IEEE 1588 calls work (read_time, read_tx_timestamp)
    // RTE_ETH_TX_OFFLOAD_SEND_ON_TIMESTAMP: a frame can be told when to leave (mlx5 with tx_pp,
    // cnxk). `schedule_first_only`: the time applies to a burst's first packet only (cnxk).
    bool send_on_timestamp = false;
    bool schedule_first_only = false;
    uint32_t schedule_granularity_ns = 0; // how exactly a scheduled frame leaves
    // Transmit timestamps for frames flagged RTE_MBUF_F_TX_IEEE1588_TMST, latched one at a
    // time per port (read_tx_timestamp).
    bool tx_timestamp = false;
    // Checksum offloads: RX good/bad flags; TX IPv4 header and UDP checksums.
    bool rx_cksum = false;
    bool tx_ipv4_cksum = false;
    bool tx_udp_cksum = false;
    // What to ask ethdev for in rte_eth_conf (a device model asks for nothing: its callbacks do
    // the work on a port that has none of these offloads).
    uint64_t ethdev_rx_offloads = 0;
    uint64_t ethdev_tx_offloads = 0;
};

struct device_ops {
    // The capabilities of a probed port, from its rte_eth_dev_info.
    device_caps (*caps)(uint16_t port_id, const rte_eth_dev_info& info) = nullptr;
    int (*read_clock)(uint16_t port_id, uint64_t* raw) = nullptr; // device units
    int (*timesync_enable)(uint16_t port_id) = nullptr;
    int (*read_time)(uint16_t port_id, timespec* ts) = nullptr; // device (PHC) time
    int (*read_tx_timestamp)(uint16_t port_id, timespec* ts) = nullptr;
};

// The production table: rte_eth_read_clock, rte_eth_timesync_*, capabilities from dev_info.
const device_ops& ethdev_ops() noexcept;

// The capabilities ethdev_ops() reports for a device (also for models that start from them).
device_caps ethdev_caps(uint16_t port_id, const rte_eth_dev_info& info) noexcept;

// mlx5's send-scheduling granularity from its devargs ("...,tx_pp=N,..."): |N| ns, never less
// than the driver's 500 ns floor (also what a device without tx_pp, ConnectX-7, gets).
uint32_t mlx5_tx_pp_granularity_ns(const char* devargs) noexcept;

} // namespace twamp::dataplane
