#include "twamp/control/policy_from_config.hpp"

#include <algorithm>

#include "twamp/proto/timestamp.hpp"

namespace twamp::control {

server_policy policy_from_config(const config::control_config& c, uint64_t server_start_ns) {
    server_policy p;
    p.modes = c.modes;
    p.servwait_ns = static_cast<uint64_t>(c.servwait) * proto::ns_per_s;
    p.setup_timeout_ns = static_cast<uint64_t>(c.setup_timeout) * proto::ns_per_s;
    p.start_time_ns = server_start_ns;
    p.allow_third_party_senders = c.allow_third_party_senders;
    p.sender_prefixes = c.prefixes;
    p.max_timeout_ns = static_cast<uint64_t>(c.max_timeout) * proto::ns_per_s;
    p.count = c.kdf_count;
    p.max_sessions_per_connection = std::min(c.max_sessions_per_connection, c.max_sessions);
    // SERVWAIT from the Accept-Session, not setup-timeout: an RFC 5938 client may start its
    // sessions one by one later (Start-N-Sessions), and a client that requests sessions one
    // round trip at a time must not lose the first ones; commands do not extend it, so a
    // connection kept alive cannot hold a port it never uses for longer than SERVWAIT.
    p.unstarted_timeout_ns = p.servwait_ns;
    p.idle_timeout_ns = static_cast<uint64_t>(c.idle_timeout) * proto::ns_per_s;
    return p;
}

server_policy policy_from_config(const config::config& full, uint64_t server_start_ns) {
    server_policy p = policy_from_config(full.control, server_start_ns);
    p.keys = std::make_shared<const key_store>(full.keys);
    p.local_addresses = local_addresses_of(full);
    // The loop guard as the reflectors configure it (refused-source-ports, README "Limits"):
    // the default "reflector-ports" adds the well-known reflector and echo-style ports, a list
    // itself, `[]` nothing; the union over the reflectors (none: the default).
    bool well_known = full.reflectors.empty();
    for (const auto& rc : full.reflectors) {
        if (rc.refused_source_ports.reflector_ports) {
            well_known = true;
        } else {
            p.refused_sender_ports.insert(p.refused_sender_ports.end(),
                                          rc.refused_source_ports.ranges.begin(),
                                          rc.refused_source_ports.ranges.end());
        }
    }
    if (well_known) {
        p.refused_sender_ports.insert(
                p.refused_sender_ports.end(),
                {{862, 862}, {64364, 64373}, {7, 7}, {13, 13}, {17, 17}, {19, 19}, {37, 37}});
    }
    // The box's own reflector and control receiver ports: a loop only when the replies go to
    // the box itself (Sender Address one of its own addresses), then always refused.
    for (const auto& rc : full.reflectors) {
        for (uint16_t u : rc.udp_ports) {
            p.own_sender_ports.push_back({u, u});
        }
    }
    p.own_sender_ports.push_back(full.control.receiver_ports);
    // "reflector-ports" means what it means in the dataplane's guard (README "Limits"): the
    // well-known set AND the box's own udp-ports and receiver-ports, whatever the source, so
    // a session may not aim the box at another box's reflector on those ports either.
    if (std::any_of(full.reflectors.begin(), full.reflectors.end(),
                    [](const auto& rc) { return rc.refused_source_ports.reflector_ports; })) {
        p.refused_sender_ports.insert(p.refused_sender_ports.end(), p.own_sender_ports.begin(),
                                      p.own_sender_ports.end());
    }
    return p;
}

std::vector<net::address> local_addresses_of(const config::config& c) {
    std::vector<net::address> v;
    for (const auto& port : c.ports) {
        for (const auto& a : port.addresses) {
            v.push_back(a.address);
        }
        for (const auto& vlan : port.vlans) {
            for (const auto& a : vlan.addresses) {
                v.push_back(a.address);
            }
        }
    }
    return v;
}

} // namespace twamp::control
