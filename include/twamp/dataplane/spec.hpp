// What the dataplane is asked to do, in plain values: built from the config by the app (and
// directly by the DPDK tests). Keeps src/dataplane independent of the config file format.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "twamp/net/address.hpp"
#include "twamp/proto/reflect.hpp"

namespace twamp::dataplane {

// An address with a prefix length: the project's one prefix type. The dataplane keys every
// address in its 16-octet form (address.mapped(): IPv4-mapped for IPv4).
using ip_prefix = net::prefix;

enum class hw_ts_mode : uint8_t { off, auto_, on };
// The config's t3 before it meets the device (port.cpp resolves it to a t3_method).
enum class t3_request : uint8_t { automatic, scheduled, device_clock, software };

struct vlan_spec {
    uint16_t id = 0;
    std::vector<ip_prefix> addresses;
};

// A route on the exception path's kernel side: `ip route replace to via via dev <TAP or its VLAN
// sub-interface>` (config: ports[].exception.routes).
struct route_spec {
    ip_prefix to;
    net::address via;
    uint16_t vlan = 0; // 0: on the TAP itself
};

struct port_spec {
    std::string name;
    std::string device; // PCI address or vdev devargs
    std::vector<ip_prefix> addresses;
    std::vector<vlan_spec> vlans;
    hw_ts_mode hw_timestamps = hw_ts_mode::auto_;
    // For a device whose clock rte_eth_read_clock() cannot read: what its RX timestamps mean.
    bool hw_clock_stated = false;
    uint64_t hw_clock_ns_per_unit = 1; // 1000 for microseconds
    bool hw_clock_epoch_tai = false;   // false: Unix epoch UTC
    t3_request t3 = t3_request::automatic;
    uint32_t t3_lead_ns = 10'000; // scheduled T3: departure this long after T2
    bool tx_timestamps = true;    // sample IEEE 1588 TX timestamps for Follow-Up Telemetry
    std::string exception_iface;  // TAP interface name; empty: no exception path
    uint32_t exception_rate_limit_pps = 20000;
    // TWAMP-Control TCP to/from this port (0: no control server) and its own bucket.
    uint16_t exception_control_port = 0;
    uint32_t exception_control_rate_limit_pps = 10000;
    uint32_t exception_neighbor_rate_limit_pps = 1000; // ARP and IPv6 ND, their own bucket
    std::vector<route_spec> exception_routes;
};

struct context_spec {
    std::string name;
    // Stable index of this reflector for the process' lifetime (counters, sessions): a reload
    // keeps a reflector's slot; a new reflector gets a slot never used before.
    uint16_t slot = 0;
    uint16_t port = 0;                // index into ports
    uint16_t vlan = 0;                // 0: untagged
    std::vector<ip_prefix> addresses; // local addresses it answers on (full length)
    proto::reflect_policy policy{};
    std::vector<uint16_t> udp_ports;
    std::vector<ip_prefix> prefixes; // empty: accept nothing
    bool stateful = true;
    uint32_t inactivity_timeout_s = 100;
    uint32_t max_sessions = 65536;
    // STAMP HMAC keys (config key-id, ssid-keys; the secrets from the key file), prepared by
    // snapshot::build into the policy's keys. policy.auth says whether the base packet is
    // authenticated; a key without it serves the HMAC TLV.
    bool has_key = false;
    std::vector<uint8_t> key;                                         // key-id's secret
    std::vector<std::pair<uint16_t, std::vector<uint8_t>>> ssid_keys; // sorted by SSID
    // Limits (README "Limits"); every rate per second for the whole box (the snapshot splits
    // it over the workers), 0 = none. The spec's defaults are "no limit" (the config's are
    // not: app::spec_from_config).
    enum class guard : uint8_t { off, reflector_ports, listed };
    guard loop_guard = guard::off;                            // refused UDP source ports
    std::vector<std::pair<uint16_t, uint16_t>> refused_ports; // guard::listed: [lo, hi] ranges
    uint32_t rate_limit_pps = 0;
    uint32_t source_rate_limit_pps = 0;
    uint32_t source_session_rate = 0;
    struct prefix_rule {
        ip_prefix prefix; // inside `prefixes`
        uint32_t rate_limit_pps = 0;
        uint32_t max_sessions = 0;
    };
    std::vector<prefix_rule> prefix_limits; // at most max_prefix_rules
    bool drop_over_capacity = false;        // a new flow past max-sessions: dropped (session_cap)
};

inline constexpr std::size_t max_prefix_rules = 64; // per reflector

struct dataplane_spec {
    std::vector<port_spec> ports;
    std::vector<context_spec> contexts;
    uint16_t burst = 32;
    uint16_t rx_desc = 1024;
    uint16_t tx_desc = 1024;
    // The loop guard's default set (guard::reflector_ports) also holds these (the control
    // server's receiver ports when it runs; min > max: none).
    uint16_t guard_min = 1, guard_max = 0;
};

} // namespace twamp::dataplane
