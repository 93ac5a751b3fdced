// A NIC for tier-2 tests, built from public APIs only (issue 14 item 4): this machine has no
// NIC and Debian's DPDK ships no driver SDK headers, so the model sits on a net_ring port as RX
// and TX callbacks (rte_eth_add_rx_callback / rte_eth_add_tx_callback on every queue) and
// presents a dataplane::device_ops table (device_model::ops()) whose entries find the port's
// model by port id (a registry: function pointers carry no context).
//
// What it does, each piece switched by its bit in the model's device_caps:
// - A device clock: CLOCK_REALTIME plus an offset, running fast or slow by a drift (ppm), in
//   ns or coarser units (unit_ns = 1000: microseconds). ops.read_clock returns it in units
//   (clock_readable and config.read_clock), ops.read_time as a timespec in ns (timesync). A
//   test steps it (step()) and asks for the true device time of any CLOCK_REALTIME instant
//   (device_at) and back (realtime_at). read_delay_ns spins around each read (half before,
//   half after the sample) to widen the reader's TSC bracket.
// - RX (rx_timestamp): each frame's timestamp dynamic field gets the device time at the RX
//   callback, with the RX timestamp dynflag. (rx_cksum): the IPv4 header and UDP checksums
//   are verified in software and RTE_MBUF_F_RX_IP_CKSUM_GOOD/BAD and _L4_CKSUM_GOOD/BAD set
//   (UNKNOWN for IPv6's header, a zero IPv4 UDP checksum, fragments and non-UDP frames).
// - TX checksums (tx_ipv4_cksum, tx_udp_cksum): frames flagged RTE_MBUF_F_TX_IP_CKSUM /
//   RTE_MBUF_F_TX_UDP_CKSUM (with l2_len, l3_len, RTE_MBUF_F_TX_IPV4/IPV6 and the UDP field
//   pre-set to the pseudo-header sum, as DPDK requires) get the checksums a NIC would write.
//   A flag the model does not offer is ignored, as by a NIC not configured for it (counted).
// - Send on timestamp (send_on_timestamp): a frame with the TX timestamp dynflag leaves at
//   max(now, its time) in device units; a time already past is ignored (leaves now, counted);
//   a time more than max_future_ns ahead is ignored too (mlx5's "too distant future"); frames
//   of a queue never overtake each other. schedule_first_only: only a burst's first frame's
//   time counts (cnxk). The model records departures; it never waits.
// - Transmit timestamps (tx_timestamp, after ops.timesync_enable): a frame flagged
//   RTE_MBUF_F_TX_IEEE1588_TMST latches its departure, one latch per port; a flagged frame
//   while the latch is full is not stamped (counted). ops.read_tx_timestamp returns the latch
//   once, then -EINVAL.
// - Records: per frame received, its device stamp and bytes; per frame sent, its departure,
//   whether it was scheduled, its requested time and a copy of its bytes as they left (after
//   checksum offload). Callbacks never keep an mbuf. Given the port's TX rings, the TX callback
//   shrinks a burst to what the rings will take, so records are what really left.
//
// The constructor attaches to the queues configured so far; attach() adds any configured
// later (the callbacks need configured queues). Destroy it once nothing polls the port. One model
// per port; callbacks and test calls may run on different threads (a mutex, tests only).
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <vector>

#include <rte_ethdev.h>
#include <rte_ring.h>

#include "twamp/dataplane/device.hpp"

namespace twamp::test {

struct device_model_config {
    // What ops.caps reports and what the callbacks do (ethdev_rx/tx_offloads are replaced by
    // what ethdev_caps finds on the underlying port: the model asks ethdev for nothing).
    dataplane::device_caps caps;
    // ops.read_clock answers (when caps.clock_readable); false: an IEEE 1588 device whose
    // clock is read by ops.read_time only (ice, i40e, ...).
    bool read_clock = true;
    int64_t offset_ns = 0; // device clock minus CLOCK_REALTIME at construction
    double drift_ppm = 0;  // device clock rate minus one, in ppm (+25: 25 us per s fast)
    uint32_t unit_ns = 1;  // one device unit in ns (1000: a microsecond clock)
    uint64_t read_delay_ns = 0;
    uint64_t max_future_ns = 1'000'000'000;
    // A scheduled frame leaves at the next multiple of caps.schedule_granularity_ns (in device
    // units) at or after its time, as mlx5's clock queue slots do; off: exactly at its time.
    bool quantize_schedule = false;
    bool record_rx = true;
    bool record_tx = true;
};

// A device with everything on: a nanosecond clock readable both ways, RX stamps and checksum
// flags, send on timestamp (500 ns granularity), TX timestamps, TX checksums.
device_model_config full_device(int64_t offset_ns = 3'700'000, double drift_ppm = 25);

struct rx_record {
    uint16_t queue = 0;
    uint64_t stamp = 0;    // device units (0 when rx_timestamp is off)
    uint64_t ol_flags = 0; // after the callback
    std::vector<uint8_t> frame;
};

struct tx_record {
    uint16_t queue = 0;
    uint64_t departure = 0; // device units
    // Left at the time it asked for (send_on_timestamp honoured it; quantize_schedule: at the
    // slot the time falls in), not held back behind an earlier frame of its queue.
    bool scheduled = false;
    bool requested = false; // carried the TX timestamp dynflag
    uint64_t request = 0;   // the TX timestamp field, when requested
    bool latched = false;   // its departure went into the IEEE 1588 TX latch
    uint64_t ol_flags = 0;  // as given to rte_eth_tx_burst
    std::vector<uint8_t> frame;
};

struct device_model_counters {
    uint64_t rx_stamped = 0;
    uint64_t rx_cksum_checked = 0; // frames given checksum flags
    uint64_t tx_frames = 0;
    uint64_t tx_ip_cksum = 0;      // IPv4 header checksums computed
    uint64_t tx_udp_cksum = 0;     // UDP checksums computed
    uint64_t tx_cksum_ignored = 0; // flagged but the offload is off or the flags are malformed
    uint64_t tx_scheduled = 0;     // left at their requested time
    uint64_t tx_sched_past = 0;    // requested a time already past: left now
    uint64_t tx_sched_future = 0;  // requested beyond max_future_ns: left now
    uint64_t tx_sched_ignored = 0; // flagged but send_on_timestamp off, or not first (cnxk)
    uint64_t tx_latched = 0;       // 1588 TX timestamps latched
    uint64_t tx_latch_busy = 0;    // flagged while the latch was full: not stamped
    uint64_t tx_shrunk = 0;        // frames left out of a burst: the TX ring was full
};

class device_model {
public:
    // Attaches to every configured RX/TX queue of `port_id`. `tx_rings`: the net_ring port's
    // TX rings by queue (optional, see above).
    device_model(uint16_t port_id, const device_model_config& config,
                 std::vector<rte_ring*> tx_rings = {});
    ~device_model();
    // Adds the callbacks to queues configured since (the dataplane's port set-up asks
    // ops.caps before it configures the port: make the model first, attach() after set-up).
    void attach();
    device_model(const device_model&) = delete;
    device_model& operator=(const device_model&) = delete;

    // The table to give the dataplane for this (and every other modelled) port.
    static const dataplane::device_ops& ops() noexcept;
    // The model attached to `port_id`, or nullptr.
    static device_model* find(uint16_t port_id) noexcept;

    uint16_t port_id() const noexcept { return port_; }

    // Capabilities, switchable at any time (ops.caps reports them from then on).
    dataplane::device_caps caps() const;
    void set_caps(const dataplane::device_caps& c);
    void set_read_clock(bool on);

    // The clock. Units are config.unit_ns.
    uint64_t now() const;                          // device units now
    uint64_t device_at(int64_t realtime_ns) const; // true device time (units) at that instant
    // The first CLOCK_REALTIME instant (ns) at which the device clock reads `device` or more.
    int64_t realtime_at(uint64_t device) const;
    uint64_t device_ns_at(int64_t realtime_ns) const; // the same in ns (read_time's domain)
    int64_t realtime_at_ns(uint64_t device_ns) const;
    void step(int64_t ns);          // the device clock jumps by ns (also backwards)
    void set_drift_ppm(double ppm); // from now on (continuous at the change)
    uint32_t unit_ns() const noexcept { return unit_ns_; }

    // Mbuf dynamic field and flags (registered by the model).
    int ts_offset() const noexcept { return ts_off_; }
    uint64_t rx_ts_flag() const noexcept { return rx_flag_; }
    uint64_t tx_ts_flag() const noexcept { return tx_flag_; }

    // Records since the last take, oldest first.
    std::vector<rx_record> take_rx();
    std::vector<tx_record> take_tx();
    device_model_counters counters() const;
    bool timesync_enabled() const;
    bool tx_latch_full() const;

private:
    static uint16_t rx_cb(uint16_t port, uint16_t queue, rte_mbuf* pkts[], uint16_t n, uint16_t max,
                          void* self);
    static uint16_t tx_cb(uint16_t port, uint16_t queue, rte_mbuf* pkts[], uint16_t n, void* self);
    static dataplane::device_caps ops_caps(uint16_t port_id, const rte_eth_dev_info& info);
    static int ops_read_clock(uint16_t port_id, uint64_t* raw);
    static int ops_timesync_enable(uint16_t port_id);
    static int ops_read_time(uint16_t port_id, timespec* ts);
    static int ops_read_tx_timestamp(uint16_t port_id, timespec* ts);

    uint64_t now_ns_locked() const;
    uint64_t ns_at_locked(int64_t realtime_ns) const;
    int64_t realtime_at_ns_locked(uint64_t device_ns) const;
    void spin(uint64_t ns) const;
    void rx_cksum(rte_mbuf* m);
    void tx_cksum(rte_mbuf* m);
    void detach() noexcept;

    uint16_t port_;
    uint32_t unit_ns_;
    mutable std::mutex mu_;
    device_model_config cfg_;
    // Clock: device_ns(rt) = base_dev_ns_ + (rt - base_rt_) * (1 + drift_ppt_ / 1e12).
    int64_t base_rt_ = 0;
    int64_t base_dev_ns_ = 0;
    int64_t drift_ppt_ = 0;
    int ts_off_ = -1;
    uint64_t rx_flag_ = 0;
    uint64_t tx_flag_ = 0;
    bool timesync_on_ = false;
    bool latched_ = false;
    uint64_t latch_ns_ = 0;
    std::vector<uint64_t> last_departure_; // per TX queue, device units
    std::vector<rte_ring*> tx_rings_;
    std::vector<const rte_eth_rxtx_callback*> rx_cbs_;
    std::vector<const rte_eth_rxtx_callback*> tx_cbs_;
    std::vector<rx_record> rx_;
    std::vector<tx_record> tx_;
    device_model_counters n_;
};

} // namespace twamp::test
