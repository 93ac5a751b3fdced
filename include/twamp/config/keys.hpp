// Every key of the config, in one table: its place, type, default, whether a reload may change
// it, and a line of help.
//
// The table drives the loader's unknown-key checks (a group accepts exactly the keys the table
// lists under it, and names them in this order when it refuses one) and diff() (each change
// takes its path and its reload rule from its key's entry, so needs_restart() follows the
// table). A unit test holds it against conf/twamp.conf: every key here is documented there,
// with the same default and reload rule where the file states them, and every key there is
// here. A new key is added here first, then read by its section in src/config/, compared in
// diff.cpp and documented in conf/twamp.conf.
#pragma once

#include <cstdint>
#include <string_view>

namespace twamp::config {

enum class key_type : uint8_t {
    group,             // { ... }
    group_list,        // ( { ... }, { ... } )
    string,            // "..."
    integer,           // 862, 0x35e
    boolean,           // true | false
    string_list,       // [ "...", ... ]
    integer_list,      // [ 862, 863 ]
    string_or_integer, // "copy" or 46 (dscp)
    labels,            // { name = "value"; ... }: the names are the user's
    port_set,          // "reflector-ports" or [ 862, "64364-64373" ]
};

constexpr std::string_view to_string(key_type t) noexcept {
    switch (t) {
    case key_type::group:
        return "group";
    case key_type::group_list:
        return "list of groups";
    case key_type::string:
        return "string";
    case key_type::integer:
        return "integer";
    case key_type::boolean:
        return "boolean";
    case key_type::string_list:
        return "list of strings";
    case key_type::integer_list:
        return "list of integers";
    case key_type::string_or_integer:
        return "string or integer";
    case key_type::labels:
        return "labels";
    case key_type::port_set:
        return "\"reflector-ports\" or a list of ports and \"lo-hi\" ranges";
    }
    return "?";
}

struct key_info {
    // Dotted from the top, "[]" after a list of groups: "ports[].exception.rate-limit-pps".
    std::string_view path;
    key_type type = key_type::string;
    // As libconfig text ("20000", "\"auto\"", "[ 862 ]"), what an absent key means; "" for a
    // required key, an optional group, or a default that is no literal (help says it).
    std::string_view default_value;
    // true: SIGHUP applies a change; false: a reload that changes it is refused (restart).
    bool reloadable = false;
    std::string_view help;

    // The last part of the path: "rate-limit-pps".
    constexpr std::string_view name() const noexcept {
        auto dot = path.rfind('.');
        return dot == path.npos ? path : path.substr(dot + 1);
    }
    // The group it is in: "ports[].exception"; "" at the top.
    constexpr std::string_view parent() const noexcept {
        auto dot = path.rfind('.');
        return dot == path.npos ? std::string_view{} : path.substr(0, dot);
    }
};

// Keys in the order of the contract (DESIGN.md) and of the loader's "expected one of" lists.
inline constexpr key_info keys[] = {
        {"ports", key_type::group_list, "", false, "the wire ports; required, at least one"},
        {"ports[].name", key_type::string, "", false,
         "required; 1..32 of [A-Za-z0-9_.-]; unique; label `port`"},
        {"ports[].device", key_type::string, "", false,
         "required; PCI address or vdev devargs, optionally \",key=value,...\"; unique"},
        {"ports[].addresses", key_type::string_list, "[]", false,
         "untagged interface addresses \"address/length\""},
        {"ports[].vlans", key_type::group_list, "()", false, "802.1Q VLANs on the port"},
        {"ports[].vlans[].id", key_type::integer, "", false, "required; 1..4094; unique per port"},
        {"ports[].vlans[].addresses", key_type::string_list, "", false,
         "required; the VLAN's interface addresses, at least one"},
        {"ports[].hw-timestamps", key_type::string, "\"auto\"", false,
         "hardware RX timestamps: \"auto\" | \"on\" | \"off\""},
        {"ports[].hw-clock", key_type::group, "", false,
         "unit and epoch of a device clock rte_eth_read_clock cannot read; default none"},
        {"ports[].hw-clock.unit", key_type::string, "", false, "required: \"ns\" | \"us\""},
        {"ports[].hw-clock.epoch", key_type::string, "", false, "required: \"unix\" | \"tai\""},
        {"ports[].t3", key_type::string, "\"auto\"", false,
         "where T3 comes from: \"auto\" | \"scheduled\" | \"device-clock\" | \"software\""},
        {"ports[].t3-lead-ns", key_type::integer, "10000", false,
         "scheduled T3: departure this long after T2; 1000..10000000"},
        {"ports[].tx-timestamps", key_type::string, "\"auto\"", false,
         "IEEE 1588 transmit timestamps for Follow-Up Telemetry: \"auto\" | \"off\""},
        {"ports[].exception", key_type::group, "", false, "the TAP interface to the kernel"},
        {"ports[].exception.iface", key_type::string, "", false,
         "kernel interface name, 1..15 characters; default: the port's name"},
        {"ports[].exception.rate-limit-pps", key_type::integer, "20000", true,
         "wire <-> kernel packets per second; 0..100000000, 0 = no limit"},
        {"ports[].exception.control-rate-limit-pps", key_type::integer, "10000", true,
         "TWAMP-Control TCP (control.port) wire <-> kernel packets per second, apart from "
         "rate-limit-pps; 0..100000000, 0 = no limit"},
        {"ports[].exception.neighbor-rate-limit-pps", key_type::integer, "1000", true,
         "ARP and IPv6 Neighbor Discovery wire <-> kernel packets per second, apart from "
         "rate-limit-pps; 0..100000000, 0 = no limit"},
        {"ports[].exception.routes", key_type::group_list, "()", false,
         "routes the box installs on the kernel interface, for senders off the port's subnets"},
        {"ports[].exception.routes[].to", key_type::string, "", false,
         "required; destination prefix, host bits zero; \"0.0.0.0/0\" or \"::/0\": default"},
        {"ports[].exception.routes[].via", key_type::string, "", false,
         "required; gateway address, same family, inside the port's or a VLAN's subnet"},

        {"reflectors", key_type::group_list, "()", true,
         "TWAMP Light / STAMP reflectors; none: a control-only box"},
        {"reflectors[].name", key_type::string, "", true,
         "required; as ports[].name; unique; label `reflector`"},
        {"reflectors[].port", key_type::string, "", true, "required; a ports[].name"},
        {"reflectors[].vlan", key_type::integer, "0", true,
         "0 = untagged, else one of the port's vlans[].id"},
        {"reflectors[].addresses", key_type::string_list, "", true,
         "local addresses it answers on; default: every address of the port/VLAN"},
        {"reflectors[].mode", key_type::string, "\"twamp-light\"", true,
         "\"twamp-light\" | \"stamp\""},
        {"reflectors[].udp-ports", key_type::integer_list, "[ 862 ]", true,
         "UDP destination ports, 1..65535, at least one"},
        {"reflectors[].prefixes", key_type::string_list, "", true,
         "required; sources allowed to send; [] accepts nothing"},
        {"reflectors[].stateful", key_type::boolean, "true", true,
         "keep sessions and number replies; false: copy the sender's sequence number"},
        {"reflectors[].inactivity-timeout", key_type::integer, "100", true,
         "seconds until an idle session is forgotten; 1..86400"},
        {"reflectors[].max-sessions", key_type::integer, "65536", true,
         "sessions kept, split over the workers; 1..16777216"},
        {"reflectors[].dscp", key_type::string_or_integer, "\"copy\"", true,
         "DS field of replies: \"copy\", 0..63 or a name (\"ef\", \"af41\", ...)"},
        {"reflectors[].timestamp-format", key_type::string, "\"auto\"", true,
         "T2/T3 format: \"auto\" (Z bit) | \"ntp\" | \"ptp\""},
        {"reflectors[].allow-ipv6-udp-checksum-zero", key_type::boolean, "false", true,
         "accept IPv6 test packets with UDP checksum zero"},
        {"reflectors[].cos-allowed-dscp", key_type::integer_list, "", true,
         "STAMP Class of Service TLV: DSCP values (0..63 or names) its DSCP1 may set in the "
         "reply; "
         "absent: all with dscp \"copy\", only the fixed dscp otherwise; [] none"},
        {"reflectors[].location", key_type::string_list, "[ \"ports\", \"addresses\", \"mac\" ]",
         true, "STAMP Location TLV: the fields reported, of \"ports\", \"addresses\", \"mac\""},
        {"reflectors[].return-address", key_type::boolean, "false", true,
         "STAMP Return Path TLV: honour a Return Address inside prefixes (never the box's own)"},
        {"reflectors[].authentication", key_type::string, "\"none\"", true,
         "STAMP test packets: \"none\" | \"authenticated\" (RFC 8762 §4.2.2; not twamp-light)"},
        {"reflectors[].key-id", key_type::string, "", true,
         "a KeyID of `keys`: the STAMP HMAC key; required when authenticated, else for the HMAC "
         "TLV only"},
        {"reflectors[].ssid-keys", key_type::group_list, "()", true,
         "per-SSID STAMP keys overriding key-id: ( { ssid = N; key-id = \"ID\"; }, ... )"},
        {"reflectors[].ssid-keys[].ssid", key_type::integer, "", true,
         "required; 0..65535, unique"},
        {"reflectors[].ssid-keys[].key-id", key_type::string, "", true,
         "required; a KeyID of `keys`"},
        {"reflectors[].refused-source-ports", key_type::port_set, "\"reflector-ports\"", true,
         "loop guard: requests from these UDP source ports are dropped; \"reflector-ports\" "
         "or a list ( 862, \"1000-1010\" ) of ports and \"lo-hi\" ranges, [] = none"},
        {"reflectors[].rate-limit-pps", key_type::integer, "0", true,
         "requests answered per second, all sources together; 0..100000000, 0 = no limit"},
        {"reflectors[].source-rate-limit-pps", key_type::integer, "0", true,
         "requests answered per second from one source address; 0..100000000, 0 = no limit"},
        {"reflectors[].source-session-rate", key_type::integer, "100", true,
         "new sessions per second one source address may create; 0..100000000, 0 = no limit"},
        {"reflectors[].prefix-limits", key_type::group_list, "()", true,
         "per-prefix limits, the longest matching rule applies; at most 64"},
        {"reflectors[].prefix-limits[].prefix", key_type::string, "", true,
         "required; inside one of prefixes, unique"},
        {"reflectors[].prefix-limits[].rate-limit-pps", key_type::integer, "", true,
         "requests per second from the prefix; 0..100000000, absent or 0 = no limit"},
        {"reflectors[].prefix-limits[].max-sessions", key_type::integer, "", true,
         "sessions kept for sources in the prefix; 0..16777216, absent or 0 = no limit"},
        {"reflectors[].over-capacity", key_type::string, "\"stateless\"", true,
         "a new flow past max-sessions: \"stateless\" (reflected, counted) | \"drop\""},

        {"control", key_type::group, "", false, "the TWAMP-Control server; absent: no server"},
        {"control.enabled", key_type::boolean, "true", false, "serve when the group is present"},
        {"control.listen", key_type::string, "\"0.0.0.0\"", false,
         "address to listen on (\"::\" also takes IPv4)"},
        {"control.port", key_type::integer, "862", false, "TCP port, 1..65535"},
        {"control.modes", key_type::string_list, "[ \"unauthenticated\" ]", true,
         "modes offered in the Server-Greeting; at least one security mode; authenticated, "
         "encrypted and mixed need `keys`"},
        {"control.prefixes", key_type::string_list, "", true,
         "clients allowed to connect; required when enabled; [] accepts nothing"},
        {"control.max-connections", key_type::integer, "64", true,
         "simultaneous control connections, 1..65535"},
        {"control.max-sessions", key_type::integer, "1024", true,
         "test sessions over all connections, 1..1048576"},
        {"control.servwait", key_type::integer, "900", true,
         "SERVWAIT: idle seconds of a control connection, 1..604800"},
        {"control.refwait", key_type::integer, "900", true,
         "REFWAIT: seconds a test session may go without a packet, 1..604800"},
        {"control.receiver-ports", key_type::group, "{ min = 64364; max = 64373; }", true,
         "UDP receiver ports handed out in Accept-Session"},
        {"control.receiver-ports.min", key_type::integer, "64364", true, "1..65535, <= max"},
        {"control.receiver-ports.max", key_type::integer, "64373", true, "1..65535, >= min"},
        {"control.max-timeout", key_type::integer, "60", true,
         "longest Request-TW-Session Timeout honoured (seconds), 1..86400"},
        {"control.allow-third-party-senders", key_type::boolean, "false", true,
         "accept a Sender Address inside prefixes, not only the client's own"},
        {"control.kdf-count", key_type::integer, "2048", true,
         "Server-Greeting Count (PBKDF2 iterations), 1024..65536, a power of 2"},
        {"control.max-key-derivations", key_type::integer, "100", true,
         "PBKDF2 key derivations per second (burst = the rate), 1..100000, "
         "kdf-count x max-key-derivations <= 1048576"},
        {"control.max-connections-per-source", key_type::integer, "8", true,
         "simultaneous control connections from one client address, 1..65535"},
        {"control.max-pending", key_type::integer, "16", true,
         "connections not yet past Server-Start (greeting phase), 1..65535"},
        {"control.setup-timeout", key_type::integer, "10", true,
         "seconds a connection has to send a complete Set-Up-Response, 1..600"},
        {"control.idle-timeout", key_type::integer, "60", true,
         "seconds a connection past Server-Start may hold no session, 0 (none)..86400 "
         "(reload: new connections)"},
        {"control.max-pending-per-source", key_type::integer, "2", true,
         "greeting-phase connections from one client address (4x for an IPv6 /64), 1..65535"},
        {"control.max-sessions-per-connection", key_type::integer, "16", true,
         "sessions one connection may hold (at most max-sessions), 1..65535"},
        {"control.max-sessions-per-source", key_type::integer, "4", true,
         "sessions one client address may hold (4x for an IPv6 /64; at most max-sessions), "
         "1..65535"},

        {"metrics", key_type::group, "", false, "the Prometheus exporter; absent: none"},
        {"metrics.enabled", key_type::boolean, "true", false, "serve when the group is present"},
        {"metrics.listen", key_type::string, "\"127.0.0.1:9862\"", false,
         "\"address:port\" or \"[IPv6 address]:port\""},
        {"metrics.labels", key_type::labels, "{}", false,
         "constant labels on every metric: name = \"value\""},

        {"keys", key_type::string, "", true,
         "key file (identity<TAB>hex(secret) lines, perfSONAR pfstore's format); absent: none"},
};

// The key at `path`, or nullptr.
constexpr const key_info* find_key(std::string_view path) noexcept {
    for (const auto& k : keys) {
        if (k.path == path) {
            return &k;
        }
    }
    return nullptr;
}

// The key at `path` in a constant expression: a path the table lacks does not compile.
consteval const key_info& key(std::string_view path) {
    const key_info* k = find_key(path);
    if (!k) {
        throw "no such key in twamp::config::keys"; // a compile-time error
    }
    return *k;
}

} // namespace twamp::config
