// The validated configuration: what a libconfig file says, as plain structs.
//
// load_file()/load_string() turn text into a `config` or a list of errors, each with file:line,
// the key path (e.g. `reflectors[1].udp-ports[0]`) and what was expected. diff() compares two
// configs and says which changes a reload may apply and which need a restart.
// conf/twamp.conf documents every key: default, range, reloadable or restart-only.
//
// No DPDK, and no exception escapes these functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "twamp/config/ip.hpp"
#include "twamp/control/keys.hpp"
#include "twamp/net/modes.hpp"
#include "twamp/net/port_range.hpp"

namespace twamp::config {

enum class hw_timestamps : uint8_t {
    automatic, // "auto": use RX timestamps when packets carry them
    on,        // required: a port that delivers none is a start-up error
    off,       // never: software clock only
};

// Where T3 comes from on a port (T2 and the Error Estimate always come from the same clock).
enum class t3_method : uint8_t {
    automatic,    // "auto": the best the device offers (scheduled > device-clock > software)
    scheduled,    // send-on-timestamp: T3 = the departure the device is told (T2 + t3-lead-ns)
    device_clock, // the device clock, extrapolated at transmit through its mapping
    software,     // the TSC mapped to CLOCK_REALTIME, for T2 as well (device RX stamps unused)
};

// IEEE 1588 transmit timestamps for the Follow-Up Telemetry TLV.
enum class tx_timestamps : uint8_t { automatic, off };

// Unit and epoch of a device clock that rte_eth_read_clock cannot read (net_pcap: us, unix).
enum class clock_unit : uint8_t { ns, us };
enum class clock_epoch : uint8_t { unix_time, tai };

struct hw_clock_config {
    clock_unit unit = clock_unit::ns;
    clock_epoch epoch = clock_epoch::unix_time;
    friend bool operator==(const hw_clock_config&, const hw_clock_config&) = default;
};

// A route the box installs on its kernel (TAP) side, so that the kernel's answers (ping,
// TWAMP-Control) reach senders outside the port's subnets: `ip route replace <to> via <via>
// dev <the TAP, or the VLAN sub-interface whose subnet holds via>`.
struct route_config {
    ip_prefix to;      // destination, host bits zero (0.0.0.0/0, ::/0: a default route)
    ip_address via;    // gateway, inside one of the port's (or one VLAN's) subnets
    uint16_t vlan = 0; // resolved by the loader: the VLAN whose subnet holds `via` (0: untagged)
    friend bool operator==(const route_config&, const route_config&) = default;
};

struct exception_config {
    std::string iface;                // kernel (TAP) interface name; default: the port's name
    uint32_t rate_limit_pps = 20'000; // wire -> kernel packets per second, 0 = no limit
    // TWAMP-Control TCP (to or from control.port) has a bucket of its own (issue 18), so a
    // flood of other frames to the kernel cannot starve the control server.
    uint32_t control_rate_limit_pps = 10'000;
    // ARP and IPv6 ND (ICMPv6 133..137) have one too: a flood of ICMP or other frames cannot
    // starve the neighbour entries of the box's peers.
    uint32_t neighbor_rate_limit_pps = 1'000;
    std::vector<route_config> routes; // at most 64 per port
    friend bool operator==(const exception_config&, const exception_config&) = default;
};

struct vlan_config {
    uint16_t id = 0;                  // 1..4094, the innermost tag
    std::vector<ip_prefix> addresses; // interface addresses (host address + subnet length)
    friend bool operator==(const vlan_config&, const vlan_config&) = default;
};

enum class device_kind : uint8_t {
    pci,  // "0000:3b:00.0[,devargs]"
    vdev, // "net_af_packet0[,iface=veth1,...]"
};

struct port_config {
    std::string name;
    std::string device; // as written, devargs included
    device_kind kind = device_kind::pci;
    std::string device_name;          // PCI address as DDDD:BB:DD.F (lower case), or the vdev name
    std::string device_args;          // after the first ',' ("" when none)
    std::vector<ip_prefix> addresses; // untagged interface addresses
    std::vector<vlan_config> vlans;
    hw_timestamps timestamps = hw_timestamps::automatic;
    std::optional<hw_clock_config> hw_clock;
    t3_method t3 = t3_method::automatic;
    uint32_t t3_lead_ns = 10'000; // scheduled T3: how long after T2 the reply leaves
    tx_timestamps tx_ts = tx_timestamps::automatic;
    exception_config exception;

    // The interface addresses of VLAN `vlan` (0 = untagged), nullptr for an unknown VLAN.
    const std::vector<ip_prefix>* addresses_of(uint16_t vlan) const noexcept;

    friend bool operator==(const port_config&, const port_config&) = default;
};

// Kernel name of the VLAN sub-interface of a port's exception interface: "<iface>.<id>".
// The loader guarantees it fits IFNAMSIZ.
std::string vlan_iface_name(const port_config& port, uint16_t vlan);

enum class reflector_mode : uint8_t { twamp_light, stamp };
enum class timestamp_format : uint8_t {
    automatic, // "auto": the Z bit of the request chooses
    ntp,
    ptp,
};

struct dscp_config {
    bool copy = true;  // reply with the request's DSCP
    uint8_t value = 0; // 0..63 when !copy
    friend bool operator==(const dscp_config&, const dscp_config&) = default;
};

// STAMP Class of Service TLV (RFC 8972 §4.4): the DSCP values its DSCP1 may set in a reply, bit
// n for DSCP n; an empty set refuses every one (RP = 1). Not stated (the key absent): every DSCP
// with dscp "copy", only the fixed value otherwise (effective(): a sender can mark its request
// with any DSCP and have it copied anyway, but must not override an operator's fixed marking).
struct dscp_set {
    uint64_t bits = ~uint64_t{0};
    bool stated = false; // cos-allowed-dscp was given
    bool has(uint8_t dscp) const noexcept { return dscp < 64 && ((bits >> dscp) & 1); }
    uint64_t effective(const dscp_config& d) const noexcept {
        return stated || d.copy ? bits : uint64_t{1} << d.value;
    }
    friend bool operator==(const dscp_set&, const dscp_set&) = default;
};

// STAMP Location TLV (RFC 8972 §4.2.2): the fields a reflector reports (the others zeros).
struct location_fields {
    static constexpr uint8_t ports = 0x1;
    static constexpr uint8_t addresses = 0x2;
    static constexpr uint8_t mac = 0x4;
    static constexpr uint8_t all = ports | addresses | mac;
    uint8_t bits = all;
    friend bool operator==(const location_fields&, const location_fields&) = default;
};

// A reflector's refused UDP source ports (the loop guard): the default set ("reflector-ports")
// or exactly the listed ports and ranges (empty: the guard off).
struct source_port_set {
    bool reflector_ports = true; // "reflector-ports": the box's reflector ports (README "Limits")
    std::vector<net::port_range> ranges; // when !reflector_ports
    friend bool operator==(const source_port_set&, const source_port_set&) = default;
};

// A reflector's limit for the sources inside one prefix (prefix-limits; 0 = no limit).
struct prefix_limit {
    ip_prefix prefix;
    uint32_t rate_limit_pps = 0;
    uint32_t max_sessions = 0;
    friend bool operator==(const prefix_limit&, const prefix_limit&) = default;
};

// What a new flow past max-sessions (the reflector's or a prefix rule's) gets.
enum class over_capacity : uint8_t { stateless, drop };

struct reflector_config {
    std::string name;
    std::string port;           // a port's name
    std::size_t port_index = 0; // index of that port in config::ports
    uint16_t vlan = 0;          // 0 = untagged
    // The local addresses it answers on, resolved: the `addresses` key when given, else every
    // address of the port/VLAN.
    std::vector<ip_address> addresses;
    reflector_mode mode = reflector_mode::twamp_light;
    std::vector<uint16_t> udp_ports{862};
    std::vector<ip_prefix> prefixes; // allowed sources; empty accepts nothing
    bool stateful = true;
    uint32_t inactivity_timeout = 100; // seconds, 1..86400
    uint32_t max_sessions = 65'536;    // 1..16777216
    dscp_config dscp;
    timestamp_format ts_format = timestamp_format::automatic;
    bool allow_ipv6_udp_checksum_zero = false;
    // STAMP TLV local policy (mode "stamp"; RFC 8972 §4.2.2, §4.4, RFC 9503 §4.1.2).
    dscp_set cos_allowed_dscp;
    location_fields location;
    // Honour a Return Path TLV's Return Address inside `prefixes` (off by default: RFC 9503
    // §4.1.2 lets a sender aim replies at another host).
    bool return_address = false;
    // Authenticated STAMP (RFC 8762 §4.2.2, §4.4) and the HMAC TLV (RFC 8972 §4.8): KeyIDs of
    // the top-level `keys` file, checked against it; the secret is the HMAC-SHA-256 key.
    bool authenticated = false;
    std::string key_id; // empty: none
    struct ssid_key {
        uint16_t ssid = 0;
        std::string key_id;
        friend bool operator==(const ssid_key&, const ssid_key&) = default;
    };
    std::vector<ssid_key> ssid_keys; // sorted by ssid
    // Limits (README "Limits"): the loop guard, request rates, new-session rate, prefix rules.
    source_port_set refused_source_ports;
    uint32_t rate_limit_pps = 0;             // all sources together; 0 = none
    uint32_t source_rate_limit_pps = 0;      // per source address; 0 = none
    uint32_t source_session_rate = 100;      // new sessions per second per source address; 0 = none
    std::vector<prefix_limit> prefix_limits; // at most 64, each inside `prefixes`
    over_capacity over_capacity_action = over_capacity::stateless;

    friend bool operator==(const reflector_config&, const reflector_config&) = default;
};

// TWAMP-Control Modes bits: one definition, twamp/net/modes.hpp.
using namespace net::modes;

using port_range = net::port_range;

struct control_config {
    // No `control` group: no server. A `control` group: enabled unless `enabled = false`.
    bool enabled = false;
    ip_address listen{}; // default 0.0.0.0
    uint16_t port = 862; // TCP
    uint32_t modes = mode_unauthenticated;
    std::vector<ip_prefix> prefixes; // allowed clients; empty accepts nothing
    uint32_t max_connections = 64;
    uint32_t max_sessions = 1024;
    uint32_t servwait = 900; // seconds
    uint32_t refwait = 900;  // seconds
    port_range receiver_ports{64364, 64373};
    // The longest Request-TW-Session Timeout honoured (seconds): a longer one is clamped to it.
    uint32_t max_timeout = 60;
    // false: a session's Sender Address must be the control client's own; true: any address
    // inside `prefixes` too.
    bool allow_third_party_senders = false;
    // RFC 4656 §3.1 Count in the Server-Greeting (PBKDF2 iterations): 1024..2^24, a power of 2.
    uint32_t kdf_count = 2048;
    // PBKDF2 derivations per second the server performs (token bucket, burst = the rate).
    uint32_t max_key_derivations = 100;
    // Issue 18: connections from one client address at once; connections still in the greeting
    // phase (no Server-Start sent yet) at once; seconds to send a complete Set-Up-Response.
    uint32_t max_connections_per_source = 8;
    uint32_t max_pending = 16;
    uint32_t setup_timeout = 10;
    // Issue 18 review: connections from one source (IPv4 address, IPv6 /64) in the greeting
    // phase at once; sessions one connection may hold (effective: at most max_sessions).
    uint32_t max_pending_per_source = 2;
    uint32_t max_sessions_per_connection = 16;
    // Issue 18 third review: sessions (unstarted and started) one client address may hold at
    // once, 4 times it for an IPv6 /64 (effective: at most max_sessions).
    uint32_t max_sessions_per_source = 4;
    // Issue 18 review: seconds a connection past Server-Start may hold no session (none
    // requested, or all ended) before it is closed; 0 = only SERVWAIT.
    uint32_t idle_timeout = 60;

    friend bool operator==(const control_config&, const control_config&) = default;
};

struct metrics_config {
    bool enabled = true;
    ip_address address = ip_address::v4(127, 0, 0, 1);
    uint16_t port = 9862;
    std::string listen = "127.0.0.1:9862"; // normalized "addr:port" / "[v6]:port" for an Exposer
    // Constant labels on every family, in file order.
    std::vector<std::pair<std::string, std::string>> labels;

    friend bool operator==(const metrics_config&, const metrics_config&) = default;
};

// Label names the exporter uses itself; a configured label may not take one of them.
inline constexpr std::string_view reserved_label_names[] = {"reflector", "port", "reason", "le",
                                                            "quantile"};

struct config {
    std::vector<port_config> ports;           // at least one
    std::vector<reflector_config> reflectors; // may be empty (control-only box)
    control_config control;
    metrics_config metrics;
    // The top-level `keys`: the key file's path as written ("" = none) and what it held when the
    // config was loaded (the shared secrets of the TWAMP-Control security modes and of
    // authenticated STAMP). A reload reads the file again; the secrets never appear in errors,
    // logs or diff() (which says how many keys, not which octets).
    std::string keys_file;
    control::key_store keys;

    const port_config* find_port(std::string_view name) const noexcept;
    const reflector_config* find_reflector(std::string_view name) const noexcept;

    friend bool operator==(const config&, const config&) = default;
};

// One problem found in a config. Printed as "file:line: path: message".
struct error {
    std::string file;  // the file the key is in (after @include), or load_string's name
    unsigned line = 0; // 1-based; 0 when there is none (a required top-level key missing)
    std::string path;  // key path, e.g. reflectors[1].udp-ports[0]; "" for a syntax error
    std::string message;
};
std::string to_string(const error& e);
// Every error on its own line.
std::string to_string(const std::vector<error>& errors);

struct load_result {
    std::optional<config> cfg; // set exactly when errors is empty
    std::vector<error> errors; // in file order, at most max_errors of them
    bool ok() const noexcept { return errors.empty(); }
};

// More than this many errors: the rest are summarized in one last error.
inline constexpr std::size_t max_errors = 50;

// Reads and validates a file. `@include "x"` is resolved relative to the file's directory.
load_result load_file(const std::string& path) noexcept;
// Validates text; `name` stands for the file name in errors. `@include` is refused here (the
// text has no directory, and a fuzzer must not open files).
load_result load_string(std::string_view text, std::string_view name = "<string>") noexcept;

// What a reload would change. Paths name things by name, not index: ports["wire0"].device,
// reflectors["base"].udp-ports, control.prefixes.
enum class change_kind : uint8_t { added, removed, modified };
struct change {
    std::string path;
    change_kind kind = change_kind::modified;
    bool reloadable = false; // false: the running process must be restarted to apply it
    std::string from;        // old value as text ("" for added)
    std::string to;          // new value as text ("" for removed)
};
// Changes from `from` to `to`, ports first, then reflectors, control, metrics.
std::vector<change> diff(const config& from, const config& to);
bool needs_restart(const std::vector<change>& changes) noexcept;
// e.g. `ports["wire0"].device: "0000:3b:00.0" -> "0000:3b:00.1" (restart required)`
std::string to_string(const change& c);

std::string_view to_string(hw_timestamps v) noexcept;
std::string_view to_string(t3_method v) noexcept;
std::string_view to_string(tx_timestamps v) noexcept;
std::string_view to_string(clock_unit v) noexcept;
std::string_view to_string(clock_epoch v) noexcept;
std::string_view to_string(reflector_mode v) noexcept;
std::string_view to_string(timestamp_format v) noexcept;
std::string to_string(const dscp_config& v);
// "[ 0, 46 ]", "[]"; every DSCP: "(all)".
std::string to_string(const dscp_set& v);
// "[ \"ports\", \"mac\" ]", "[]"
std::string to_string(const location_fields& v);
// "\"reflector-ports\"", "( 862, \"64364-64373\" )", "[]"
std::string to_string(const source_port_set& v);
std::string_view to_string(over_capacity v) noexcept;
// modes_to_string (space-separated mode names, e.g. "unauthenticated reflect-octets"): from
// twamp/net/modes.hpp, above.

} // namespace twamp::config
