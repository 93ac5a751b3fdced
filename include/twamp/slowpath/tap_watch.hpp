// Watches the exception path's kernel interfaces (the TAPs and their VLAN sub-interfaces)
// through rtnetlink and puts back what the kernel or an operator took away. The kernel drops
// every IPv6 address of an interface that goes down (IPv4 addresses and, on the way back up,
// their routes survive), so after `ip link set TAP down; ... up` the box had no IPv6 address:
// no ND, no ping, no TWAMP-Control over IPv6 until a restart. Here: one non-blocking
// NETLINK_ROUTE socket subscribed to the link and address groups, read from the slow path's
// loop; link down/up, deleted addresses and deleted interfaces are logged, and the configured
// addresses (with their prefix routes) and its configured routes (ports[].exception.routes) are
// restored once the interface is up again. A deleted
// TAP cannot come back without re-probing the DPDK device: its exception path stays dead until
// a restart, and the frames for it are counted as exception_iface_down drops.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "twamp/dataplane/spec.hpp"

namespace twamp::slowpath {

class tap_watch {
public:
    tap_watch() = default;
    ~tap_watch();
    tap_watch(const tap_watch&) = delete;
    tap_watch& operator=(const tap_watch&) = delete;

    // Opens the socket (before the interfaces are configured, so no event is missed). False
    // with `error` when netlink is unavailable: the box runs, unwatched.
    bool open(std::string& error);
    bool is_open() const noexcept { return fd_ >= 0; }

    // An interface to watch, configured with `addresses` and up. `tap` marks a TAP itself (its
    // state gates the wire -> kernel direction), as opposed to a VLAN sub-interface.
    // `routes` (ports[].exception.routes through it) are put back after the addresses whenever
    // the interface comes up again, an address was restored (the kernel drops a gateway's
    // routes with the link or with the address whose subnet holds the gateway), or one of them
    // was deleted from the main table (RTM_DELROUTE).
    void add(const std::string& name, const std::vector<dataplane::ip_prefix>& addresses,
             uint16_t wire_port_id, bool tap, const std::vector<dataplane::route_spec>& routes = {},
             bool in_table = false);

    // Reads what is pending, logs it, restores missing addresses of interfaces that are up.
    // Never blocks on the socket (an `ip` command runs for each restored address). Returns
    // true when it did anything.
    bool poll(uint64_t now_ns);

    // False while the TAP of `wire_port_id` is down or deleted: the kernel takes no frames.
    bool tap_usable(uint16_t wire_port_id) const noexcept;

    void close() noexcept;

private:
    struct watched {
        std::string name;
        int index = 0;
        uint16_t wire_port_id = 0;
        bool tap = false;
        bool up = true;
        bool gone = false;
        std::vector<dataplane::ip_prefix> addresses;
        std::vector<bool> missing; // per address: deleted and not restored yet
        std::vector<dataplane::route_spec> routes;
        bool in_table = false;    // its port has routes: subnets and routes in route_table
        bool routes_due = false;  // put the routes back (after the addresses)
        bool resync = false;      // restore every address (events were lost)
        uint64_t retry_at_ns = 0; // after a failed restore
        bool failed_logged = false;
    };
    void on_link(int index, const std::string& name, unsigned flags, bool deleted);
    void on_addr(int index, bool deleted, bool v6, const uint8_t* addr, unsigned len);
    void on_route_deleted(int index, bool v6, const uint8_t* dst, unsigned dst_len,
                          const uint8_t* gateway);
    bool restore(watched& w, uint64_t now_ns);

    int fd_ = -1;
    bool resync_pending_ = false; // events were lost (ENOBUFS): re-check every interface
    bool resynced_ = false;
    uint64_t last_resync_ns_ = 0; // at most one re-check a second
    std::vector<watched> ifaces_;
};

} // namespace twamp::slowpath
