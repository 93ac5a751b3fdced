#include "snapshot.hpp"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>

#include <cstdio>
#include <cstring>

namespace twamp::dataplane {

namespace {

void add_keys(std::vector<context_key>& keys, uint16_t port, uint32_t vlan, uint16_t udp_port,
              const std::vector<ip_prefix>& addrs) {
    for (const auto& a : addrs) {
        context_key k;
        k.port = port;
        k.vlan = vlan;
        k.udp_port = udp_port;
        std::memcpy(k.addr, a.addr.data(), 16);
        keys.push_back(k);
    }
}

} // namespace

snapshot::~snapshot() {
    if (table_) {
        rte_hash_free(table_);
    }
    for (auto& c : contexts_) {
        if (c.acl4) {
            rte_lpm_free(c.acl4);
        }
        if (c.acl6) {
            rte_lpm6_free(c.acl6);
        }
    }
}

std::unique_ptr<snapshot> snapshot::build(const dataplane_spec& spec, unsigned n_workers,
                                          uint64_t generation, std::string& error) {
    std::unique_ptr<snapshot> s(new snapshot());
    if (spec.contexts.size() > max_contexts) {
        error = "too many reflectors (at most " + std::to_string(max_contexts) + ")";
        return nullptr;
    }
    std::vector<context_key> keys;
    std::vector<uint32_t> owner;
    const uint64_t hz = rte_get_tsc_hz();
    for (std::size_t i = 0; i < spec.contexts.size(); ++i) {
        const context_spec& cs = spec.contexts[i];
        for (uint16_t up : cs.udp_ports) {
            add_keys(keys, cs.port, cs.vlan, up, cs.addresses);
        }
        owner.resize(keys.size(), static_cast<uint32_t>(i));

        context_rt rt;
        rt.policy = cs.policy;
        rt.index = static_cast<uint16_t>(i);
        rt.port = cs.port;
        rt.stateful = cs.stateful;
        rt.inactivity_tsc = uint64_t{cs.inactivity_timeout_s} * hz;
        rt.max_sessions_per_worker =
                cs.stateful ? std::max<uint32_t>(1, (cs.max_sessions + n_workers - 1) / n_workers)
                            : 0;
        s->session_capacity_ += rt.max_sessions_per_worker;

        // ACLs: next hop = rule index (for per-rule counters later).
        uint32_t n4 = 0, n6 = 0;
        for (const auto& p : cs.prefixes) {
            (p.v6 ? n6 : n4)++;
        }
        char name[RTE_HASH_NAMESIZE];
        if (n4) {
            std::snprintf(name, sizeof name, "acl4_%lu_%zu", static_cast<unsigned long>(generation),
                          i);
            rte_lpm_config c{};
            c.max_rules = n4;
            c.number_tbl8s = std::max<uint32_t>(n4, 16);
            rt.acl4 = rte_lpm_create(name, SOCKET_ID_ANY, &c);
            if (!rt.acl4) {
                error = std::string("rte_lpm_create: ") + rte_strerror(rte_errno);
                s->contexts_.push_back(rt);
                return nullptr;
            }
        }
        if (n6) {
            std::snprintf(name, sizeof name, "acl6_%lu_%zu", static_cast<unsigned long>(generation),
                          i);
            rte_lpm6_config c{};
            c.max_rules = n6;
            c.number_tbl8s = std::max<uint32_t>(n6 * 16, 64);
            rt.acl6 = rte_lpm6_create(name, SOCKET_ID_ANY, &c);
            if (!rt.acl6) {
                error = std::string("rte_lpm6_create: ") + rte_strerror(rte_errno);
                s->contexts_.push_back(rt);
                return nullptr;
            }
        }
        uint32_t rule = 0;
        for (const auto& p : cs.prefixes) {
            int rc;
            if (!p.v6) {
                const uint8_t* a = p.v4();
                uint32_t ip = (uint32_t{a[0]} << 24) | (uint32_t{a[1]} << 16) |
                              (uint32_t{a[2]} << 8) | a[3];
                rc = rte_lpm_add(rt.acl4, ip, p.len, rule);
            } else {
                rc = rte_lpm6_add(rt.acl6, p.addr.data(), p.len, rule);
            }
            if (rc < 0) {
                error = "reflector " + cs.name + ": adding a prefix to its ACL failed";
                s->contexts_.push_back(rt);
                return nullptr;
            }
            ++rule;
        }
        s->contexts_.push_back(rt);
    }

    char name[RTE_HASH_NAMESIZE];
    std::snprintf(name, sizeof name, "ctx_%lu", static_cast<unsigned long>(generation));
    rte_hash_parameters hp{};
    hp.name = name;
    hp.entries = std::max<uint32_t>(64, static_cast<uint32_t>(keys.size() * 2));
    hp.key_len = sizeof(context_key);
    hp.hash_func = rte_hash_crc;
    hp.socket_id = SOCKET_ID_ANY;
    s->table_ = rte_hash_create(&hp);
    if (!s->table_) {
        error = std::string("rte_hash_create: ") + rte_strerror(rte_errno);
        return nullptr;
    }
    for (std::size_t k = 0; k < keys.size(); ++k) {
        if (rte_hash_lookup(s->table_, &keys[k]) >= 0) {
            error = "reflectors overlap on (port, VLAN, address, UDP port " +
                    std::to_string(keys[k].udp_port) + ")";
            return nullptr;
        }
        if (rte_hash_add_key_data(s->table_, &keys[k],
                                  reinterpret_cast<void*>(uintptr_t{owner[k]})) < 0) {
            error = "context table full";
            return nullptr;
        }
    }
    return s;
}

} // namespace twamp::dataplane
