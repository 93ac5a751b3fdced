// What a reload would change, key by key, and whether the running process can apply it.
//
// The rule (conf/twamp.conf says the same per key): anything that shapes devices, queues, the
// kernel interfaces and their addresses, or a listening socket needs a restart; reflectors,
// ACLs, limits and timers go into the next RCU snapshot and are reloadable. Each key's rule is
// its `reloadable` in the key table (twamp/config/keys.hpp), and so is each change's path.
#include <algorithm>
#include <string>

#include "twamp/config/config.hpp"
#include "twamp/config/keys.hpp"

namespace twamp::config {

namespace {

std::string quoted(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

std::string fmt(const std::string& v) {
    return quoted(v);
}
std::string fmt(bool v) {
    return v ? "true" : "false";
}
std::string fmt(uint16_t v) {
    return std::to_string(v);
}
std::string fmt(uint32_t v) {
    return std::to_string(v);
}
std::string fmt(const ip_address& v) {
    return quoted(v.to_string());
}
std::string fmt(const ip_prefix& v) {
    return quoted(v.to_string());
}
std::string fmt(hw_timestamps v) {
    return quoted(to_string(v));
}
std::string fmt(t3_method v) {
    return quoted(to_string(v));
}
std::string fmt(tx_timestamps v) {
    return quoted(to_string(v));
}
std::string fmt(reflector_mode v) {
    return quoted(to_string(v));
}
std::string fmt(timestamp_format v) {
    return quoted(to_string(v));
}
std::string fmt(const dscp_config& v) {
    return to_string(v);
}
std::string fmt(const dscp_set& v) {
    return to_string(v);
}
std::string fmt(const location_fields& v) {
    return to_string(v);
}
std::string fmt(const reflector_config::ssid_key& v) {
    return "{ ssid = " + std::to_string(v.ssid) + "; key-id = " + quoted(v.key_id) + "; }";
}
std::string fmt(const source_port_set& v) {
    return to_string(v);
}
std::string fmt(over_capacity v) {
    return quoted(to_string(v));
}
std::string fmt(const prefix_limit& v) {
    return "{ prefix = " + quoted(v.prefix.to_string()) +
           "; rate-limit-pps = " + std::to_string(v.rate_limit_pps) +
           "; max-sessions = " + std::to_string(v.max_sessions) + "; }";
}
std::string fmt(const route_config& v) {
    return "{ to = " + quoted(v.to.to_string()) + "; via = " + quoted(v.via.to_string()) + "; }";
}
std::string fmt(const port_range& v) {
    return "{ min = " + std::to_string(v.min) + "; max = " + std::to_string(v.max) + "; }";
}
std::string fmt(const std::optional<hw_clock_config>& v) {
    if (!v) {
        return "(none)";
    }
    return "{ unit = " + quoted(to_string(v->unit)) + "; epoch = " + quoted(to_string(v->epoch)) +
           "; }";
}
std::string fmt(const std::vector<std::pair<std::string, std::string>>& v) {
    std::string r = "{";
    for (const auto& [k, val] : v) {
        r += " " + k + " = " + quoted(val) + ";";
    }
    return r + " }";
}
template<class T>
std::string fmt(const std::vector<T>& v) {
    std::string r = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
        r += (i ? ", " : " ") + fmt(v[i]);
    }
    return r + (v.empty() ? "]" : " ]");
}

std::string named(std::string_view list, std::string_view name) {
    return std::string(list) + "[" + quoted(name) + "]";
}

// The path of key `k` in the list element `at` (`ports["wire0"]`, `ports["wire0"].vlans[id=1]`):
// `ports["wire0"].exception.iface`. Outside lists (`at` empty), the key's own path.
std::string path_of(const std::string& at, const key_info& k) {
    if (at.empty()) {
        return std::string(k.path);
    }
    return at + std::string(k.path.substr(k.path.rfind("[]") + 2));
}

class differ {
public:
    // Key `k` of the element `at` (or of no list: "") from `from` to `to`.
    template<class T>
    void field(const std::string& at, const key_info& k, const T& from, const T& to) {
        if (!(from == to)) {
            out.push_back(
                    {path_of(at, k), change_kind::modified, k.reloadable, fmt(from), fmt(to)});
        }
    }

    // The element `at` of the list `k` added or removed.
    void whole(const std::string& at, const key_info& k, change_kind kind) {
        out.push_back({at, kind, k.reloadable, "", ""});
    }

    void ports(const std::vector<port_config>& from, const std::vector<port_config>& to) {
        // Port order decides DPDK port and queue numbering: a move needs a restart.
        bool moved = false;
        for (std::size_t i = 0; i < from.size(); ++i) {
            for (std::size_t j = 0; j < to.size(); ++j) {
                if (from[i].name == to[j].name && i != j) {
                    moved = true;
                }
            }
        }
        if (moved) {
            std::vector<std::string> a;
            std::vector<std::string> b;
            for (const auto& p : from) {
                a.push_back(p.name);
            }
            for (const auto& p : to) {
                b.push_back(p.name);
            }
            field("", key("ports"), a, b);
        }
        for (const auto& p : from) {
            if (!find(to, p.name)) {
                whole(named("ports", p.name), key("ports"), change_kind::removed);
            }
        }
        for (const auto& n : to) {
            const port_config* p = find(from, n.name);
            if (!p) {
                whole(named("ports", n.name), key("ports"), change_kind::added);
                continue;
            }
            std::string path = named("ports", n.name);
            field(path, key("ports[].device"), p->device, n.device);
            field(path, key("ports[].addresses"), p->addresses, n.addresses);
            vlans(path_of(path, key("ports[].vlans")), p->vlans, n.vlans);
            field(path, key("ports[].hw-timestamps"), p->timestamps, n.timestamps);
            field(path, key("ports[].hw-clock"), p->hw_clock, n.hw_clock);
            field(path, key("ports[].t3"), p->t3, n.t3);
            field(path, key("ports[].t3-lead-ns"), p->t3_lead_ns, n.t3_lead_ns);
            field(path, key("ports[].tx-timestamps"), p->tx_ts, n.tx_ts);
            field(path, key("ports[].exception.iface"), p->exception.iface, n.exception.iface);
            field(path, key("ports[].exception.rate-limit-pps"), p->exception.rate_limit_pps,
                  n.exception.rate_limit_pps);
            field(path, key("ports[].exception.control-rate-limit-pps"),
                  p->exception.control_rate_limit_pps, n.exception.control_rate_limit_pps);
            field(path, key("ports[].exception.neighbor-rate-limit-pps"),
                  p->exception.neighbor_rate_limit_pps, n.exception.neighbor_rate_limit_pps);
            field(path, key("ports[].exception.routes"), p->exception.routes, n.exception.routes);
        }
    }

    void vlans(const std::string& path, const std::vector<vlan_config>& from,
               const std::vector<vlan_config>& to) {
        auto id_path = [&](uint16_t id) { return path + "[id=" + std::to_string(id) + "]"; };
        auto find_id = [](const std::vector<vlan_config>& list, uint16_t id) -> const vlan_config* {
            auto it = std::find_if(list.begin(), list.end(),
                                   [&](const vlan_config& v) { return v.id == id; });
            return it == list.end() ? nullptr : &*it;
        };
        for (const auto& v : from) {
            if (!find_id(to, v.id)) {
                whole(id_path(v.id), key("ports[].vlans"), change_kind::removed);
            }
        }
        for (const auto& v : to) {
            const vlan_config* old = find_id(from, v.id);
            if (!old) {
                whole(id_path(v.id), key("ports[].vlans"), change_kind::added);
            } else {
                field(id_path(v.id), key("ports[].vlans[].addresses"), old->addresses, v.addresses);
            }
        }
    }

    void reflectors(const std::vector<reflector_config>& from,
                    const std::vector<reflector_config>& to) {
        for (const auto& r : from) {
            if (!find(to, r.name)) {
                whole(named("reflectors", r.name), key("reflectors"), change_kind::removed);
            }
        }
        for (const auto& n : to) {
            const reflector_config* r = find(from, n.name);
            if (!r) {
                whole(named("reflectors", n.name), key("reflectors"), change_kind::added);
                continue;
            }
            std::string path = named("reflectors", n.name);
            field(path, key("reflectors[].port"), r->port, n.port);
            field(path, key("reflectors[].vlan"), r->vlan, n.vlan);
            field(path, key("reflectors[].addresses"), r->addresses, n.addresses);
            field(path, key("reflectors[].mode"), r->mode, n.mode);
            field(path, key("reflectors[].udp-ports"), r->udp_ports, n.udp_ports);
            field(path, key("reflectors[].prefixes"), r->prefixes, n.prefixes);
            field(path, key("reflectors[].stateful"), r->stateful, n.stateful);
            field(path, key("reflectors[].inactivity-timeout"), r->inactivity_timeout,
                  n.inactivity_timeout);
            field(path, key("reflectors[].max-sessions"), r->max_sessions, n.max_sessions);
            field(path, key("reflectors[].dscp"), r->dscp, n.dscp);
            field(path, key("reflectors[].timestamp-format"), r->ts_format, n.ts_format);
            field(path, key("reflectors[].allow-ipv6-udp-checksum-zero"),
                  r->allow_ipv6_udp_checksum_zero, n.allow_ipv6_udp_checksum_zero);
            field(path, key("reflectors[].cos-allowed-dscp"), r->cos_allowed_dscp,
                  n.cos_allowed_dscp);
            field(path, key("reflectors[].location"), r->location, n.location);
            field(path, key("reflectors[].return-address"), r->return_address, n.return_address);
            field(path, key("reflectors[].authentication"), r->authenticated, n.authenticated);
            field(path, key("reflectors[].key-id"), r->key_id, n.key_id);
            field(path, key("reflectors[].ssid-keys"), r->ssid_keys, n.ssid_keys);
            field(path, key("reflectors[].refused-source-ports"), r->refused_source_ports,
                  n.refused_source_ports);
            field(path, key("reflectors[].rate-limit-pps"), r->rate_limit_pps, n.rate_limit_pps);
            field(path, key("reflectors[].source-rate-limit-pps"), r->source_rate_limit_pps,
                  n.source_rate_limit_pps);
            field(path, key("reflectors[].source-session-rate"), r->source_session_rate,
                  n.source_session_rate);
            field(path, key("reflectors[].prefix-limits"), r->prefix_limits, n.prefix_limits);
            field(path, key("reflectors[].over-capacity"), r->over_capacity_action,
                  n.over_capacity_action);
        }
    }

    void control(const control_config& a, const control_config& b) {
        field("", key("control.enabled"), a.enabled, b.enabled);
        field("", key("control.listen"), a.listen, b.listen);
        field("", key("control.port"), a.port, b.port);
        if (a.modes != b.modes) {
            out.push_back({"control.modes", change_kind::modified, key("control.modes").reloadable,
                           "[ " + modes_to_string(a.modes) + " ]",
                           "[ " + modes_to_string(b.modes) + " ]"});
        }
        field("", key("control.prefixes"), a.prefixes, b.prefixes);
        field("", key("control.max-connections"), a.max_connections, b.max_connections);
        field("", key("control.max-sessions"), a.max_sessions, b.max_sessions);
        field("", key("control.servwait"), a.servwait, b.servwait);
        field("", key("control.refwait"), a.refwait, b.refwait);
        field("", key("control.receiver-ports"), a.receiver_ports, b.receiver_ports);
        field("", key("control.max-timeout"), a.max_timeout, b.max_timeout);
        field("", key("control.allow-third-party-senders"), a.allow_third_party_senders,
              b.allow_third_party_senders);
        field("", key("control.kdf-count"), a.kdf_count, b.kdf_count);
        field("", key("control.max-key-derivations"), a.max_key_derivations, b.max_key_derivations);
        field("", key("control.max-connections-per-source"), a.max_connections_per_source,
              b.max_connections_per_source);
        field("", key("control.max-pending"), a.max_pending, b.max_pending);
        field("", key("control.setup-timeout"), a.setup_timeout, b.setup_timeout);
        field("", key("control.idle-timeout"), a.idle_timeout, b.idle_timeout);
        field("", key("control.max-pending-per-source"), a.max_pending_per_source,
              b.max_pending_per_source);
        field("", key("control.max-sessions-per-connection"), a.max_sessions_per_connection,
              b.max_sessions_per_connection);
        field("", key("control.max-sessions-per-source"), a.max_sessions_per_source,
              b.max_sessions_per_source);
    }

    void metrics(const metrics_config& a, const metrics_config& b) {
        field("", key("metrics.enabled"), a.enabled, b.enabled);
        field("", key("metrics.listen"), a.listen, b.listen);
        // Constant labels are baked into the metric families when they are registered.
        field("", key("metrics.labels"), a.labels, b.labels);
    }

    // The key file: its path, or what it holds. The change says how many keys, never a secret.
    void keys(const config& a, const config& b) {
        if (a.keys_file != b.keys_file || !(a.keys == b.keys)) {
            const auto count = [](const config& c) {
                return c.keys_file.empty()
                               ? std::string("none")
                               : quoted(c.keys_file) + " (" + std::to_string(c.keys.size()) +
                                         (c.keys.size() == 1 ? " key)" : " keys)");
            };
            std::string to = count(b);
            if (a.keys_file == b.keys_file) {
                to += ", contents changed";
            }
            out.push_back({"keys", change_kind::modified, key("keys").reloadable, count(a), to});
        }
    }

    std::vector<change> out;

private:
    template<class T>
    static const T* find(const std::vector<T>& list, const std::string& name) {
        auto it =
                std::find_if(list.begin(), list.end(), [&](const T& x) { return x.name == name; });
        return it == list.end() ? nullptr : &*it;
    }
};

} // namespace

std::vector<change> diff(const config& from, const config& to) {
    differ d;
    d.ports(from.ports, to.ports);
    d.reflectors(from.reflectors, to.reflectors);
    d.control(from.control, to.control);
    d.metrics(from.metrics, to.metrics);
    d.keys(from, to);
    return std::move(d.out);
}

bool needs_restart(const std::vector<change>& changes) noexcept {
    return std::any_of(changes.begin(), changes.end(),
                       [](const change& c) { return !c.reloadable; });
}

std::string to_string(const change& c) {
    std::string r = c.path;
    switch (c.kind) {
    case change_kind::added:
        r += " added";
        break;
    case change_kind::removed:
        r += " removed";
        break;
    case change_kind::modified:
        r += ": " + c.from + " -> " + c.to;
        break;
    }
    return r + (c.reloadable ? " (reloadable)" : " (restart required)");
}

std::string_view to_string(t3_method v) noexcept {
    switch (v) {
    case t3_method::automatic:
        return "auto";
    case t3_method::scheduled:
        return "scheduled";
    case t3_method::device_clock:
        return "device-clock";
    case t3_method::software:
        return "software";
    }
    return "?";
}

std::string_view to_string(tx_timestamps v) noexcept {
    return v == tx_timestamps::off ? "off" : "auto";
}

std::string_view to_string(hw_timestamps v) noexcept {
    switch (v) {
    case hw_timestamps::automatic:
        return "auto";
    case hw_timestamps::on:
        return "on";
    case hw_timestamps::off:
        return "off";
    }
    return "?";
}

std::string_view to_string(clock_unit v) noexcept {
    return v == clock_unit::ns ? "ns" : "us";
}

std::string_view to_string(clock_epoch v) noexcept {
    return v == clock_epoch::unix_time ? "unix" : "tai";
}

std::string_view to_string(reflector_mode v) noexcept {
    return v == reflector_mode::twamp_light ? "twamp-light" : "stamp";
}

std::string_view to_string(timestamp_format v) noexcept {
    switch (v) {
    case timestamp_format::automatic:
        return "auto";
    case timestamp_format::ntp:
        return "ntp";
    case timestamp_format::ptp:
        return "ptp";
    }
    return "?";
}

std::string to_string(const dscp_config& v) {
    return v.copy ? "\"copy\"" : std::to_string(v.value);
}

std::string to_string(const dscp_set& v) {
    if (!v.stated) {
        return "(default)";
    }
    if (v.bits == ~uint64_t{0}) {
        return "(all)";
    }
    std::string r = "[";
    for (uint8_t d = 0; d < 64; ++d) {
        if (v.has(d)) {
            r += (r.size() > 1 ? ", " : " ") + std::to_string(d);
        }
    }
    return r + (r.size() > 1 ? " ]" : "]");
}

std::string to_string(const location_fields& v) {
    std::string r = "[";
    for (auto [bit, name] : {std::pair{location_fields::ports, "ports"},
                             std::pair{location_fields::addresses, "addresses"},
                             std::pair{location_fields::mac, "mac"}}) {
        if (v.bits & bit) {
            r += (r.size() > 1 ? ", " : " ") + quoted(name);
        }
    }
    return r + (r.size() > 1 ? " ]" : "]");
}

std::string to_string(const source_port_set& v) {
    if (v.reflector_ports) {
        return quoted("reflector-ports");
    }
    if (v.ranges.empty()) {
        return "[]";
    }
    std::string r = "("; // a list: ports and ranges mixed (an array holds one type)
    for (std::size_t i = 0; i < v.ranges.size(); ++i) {
        const port_range& p = v.ranges[i];
        r += (i ? ", " : " ") +
             (p.min == p.max ? std::to_string(p.min)
                             : quoted(std::to_string(p.min) + "-" + std::to_string(p.max)));
    }
    return r + " )";
}

std::string_view to_string(over_capacity v) noexcept {
    return v == over_capacity::drop ? "drop" : "stateless";
}

} // namespace twamp::config
