// The exception path: per wire port a DPDK net_tap interface with the port's MAC and addresses,
// so the kernel answers ARP/ND/ICMP and TCP (TWAMP-Control) for the box. Wire -> kernel frames
// arrive from the workers' exception rings; kernel -> wire frames go to the port's first
// worker through a ring, which sends them on its own TX queue (works on every device, including
// net_af_packet whose queues are RX/TX socket pairs). Both directions rate-limited.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "twamp/dataplane/counters.hpp"
#include "twamp/dataplane/spec.hpp"
#include "twamp/proto/drop_reason.hpp"
#include "twamp/slowpath/tap_watch.hpp"

namespace twamp::slowpath {

struct token_bucket {
    uint64_t rate_pps = 0;
    uint64_t tokens = 0;
    uint64_t capacity = 0;
    uint64_t last_tsc = 0;
    uint64_t hz = 1;

    void init(uint64_t pps, uint64_t tsc_hz, uint64_t now) noexcept;
    // How many of `want` may pass now.
    unsigned take(unsigned want, uint64_t now) noexcept;
};

struct tap_port {
    std::string iface;
    uint16_t wire_port_id = 0;
    uint16_t tap_port_id = 0;
    rte_ring* to_wire = nullptr;
    token_bucket to_kernel_limit{};
    token_bucket to_wire_limit{};
    // TWAMP-Control TCP (to/from control_port; 0: none) has buckets of its own (issue 18):
    // other frames cannot take its share (exception.control-rate-limit-pps). A segment with
    // SYN set also takes a SYN bucket at half that rate: SYNs never take more than half.
    uint16_t control_port = 0;
    token_bucket control_to_kernel_limit{};
    token_bucket control_to_wire_limit{};
    token_bucket syn_to_kernel_limit{};
    token_bucket syn_to_wire_limit{};
    // ARP and IPv6 ND (exception.neighbor-rate-limit-pps): an ICMP flood cannot starve them.
    token_bucket neighbor_to_kernel_limit{};
    token_bucket neighbor_to_wire_limit{};
    uint64_t rx_nombuf = 0; // the TAP's ethdev rx_nombuf counted so far (to_wire_drop::no_mbuf)
};

class exception_path {
public:
    // Creates the TAP for a wire port and configures the kernel side (link up, MAC, addresses,
    // VLAN sub-interfaces). `to_wire` is the ring the port's first worker drains.
    bool add_port(const dataplane::port_spec& spec, uint16_t wire_port_id, const uint8_t mac[6],
                  rte_mempool* pool, rte_ring* to_wire, std::string& error);

    // One pass: drain the workers' exception rings to the TAPs and the TAPs to the wire rings.
    // Returns the number of frames moved. Every frame from a worker ends counted exactly once:
    // exception_to_kernel (the TAP took it) or one drop reason; frames from the kernel end as
    // exception_to_wire (counted by the worker that sends them) or one to_wire_drops reason.
    unsigned poll(const std::vector<rte_ring*>& from_workers,
                  dataplane::worker_counters& counters) noexcept;

    // At exit, workers stopped: the frames still in the workers' exception rings go to the
    // kernel (or are counted as dropped) so the exit summary balances.
    void drain_to_kernel(const std::vector<rte_ring*>& from_workers,
                         dataplane::worker_counters& counters) noexcept;

    // The TAPs' link and addresses (netlink): logs changes, restores the configured addresses
    // when a TAP comes back up or loses one. Cheap when nothing happened. True if it did work.
    // Reads netlink at most every 10 ms.
    bool watch() noexcept;

    // Reload: a new exception.rate-limit-pps, control-rate-limit-pps and
    // neighbor-rate-limit-pps for the TAP of a wire port (the buckets start full).
    void set_rate_limit(uint16_t wire_port_id, uint32_t pps, uint32_t control_pps,
                        uint32_t neighbor_pps) noexcept;

    void close() noexcept;
    const std::vector<tap_port>& taps() const noexcept { return taps_; }
    // Problems that did not stop the start (printed by the app).
    const std::vector<std::string>& warnings() const noexcept { return warnings_; }

private:
    // The frame's bucket (proto::classify_exception) takes a token; false: refused, and
    // `why` says by which (wire -> kernel drop reasons).
    static bool admit(tap_port& t, const rte_mbuf* m, bool from_kernel, uint64_t now,
                      proto::drop_reason& why) noexcept;
    unsigned to_kernel(const std::vector<rte_ring*>& from_workers,
                       dataplane::worker_counters& c) noexcept;

    std::vector<tap_port> taps_;
    std::vector<int> by_wire_port_; // wire port id -> index in taps_, -1 none
    std::vector<std::string> warnings_;
    tap_watch watch_;
    uint64_t last_watch_tsc_ = 0;
    bool stale_rules_cleared_ = false;
    bool rules_added_ = false; // policy rules of route_table to delete at close()
};

// Runs a command without a shell; returns its exit status (or -1). Output goes to the log.
int run_command(const std::vector<std::string>& argv, std::string* output = nullptr);

// `ip addr replace ADDR dev DEV` (IPv6 with nodad): the kernel adds the prefix route with it.
bool add_address(const std::string& dev, const dataplane::ip_prefix& a, std::string& error);

// The routing table (and the priority of its policy rules) that holds ports[].exception.routes:
// never the host's main table, so a box's route never replaces or shadows one of the host's.
// `ip rule add from ADDR lookup 8620 priority 8620` for each of the port's addresses sends only
// the kernel's traffic from the box's addresses there.
inline constexpr unsigned route_table = 8620;

// `ip route replace TO via VIA dev DEV proto static table 8620` (ports[].exception.routes).
bool add_route(const std::string& dev, const dataplane::route_spec& r, std::string& error);

// The box's table first gets each address's subnet as an on-link route (so a default route
// there does not take the neighbours' traffic), then `routes`.
bool add_table_routes(const std::string& dev, const std::vector<dataplane::ip_prefix>& addresses,
                      const std::vector<dataplane::route_spec>& routes, std::string& error);

// Deletes every policy rule that looks up route_table (IPv4 and IPv6): a stopped box's, or a
// crashed run's. Bounded; returns how many were deleted.
unsigned remove_table_rules();

} // namespace twamp::slowpath
