#include "twamp/dataplane/snapshot.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <tuple>

#include <rte_cycles.h>
#include <rte_errno.h>

#include "twamp/proto/source_address.hpp"

namespace twamp::dataplane {

namespace {

void add_keys(std::vector<context_key>& keys, uint16_t port, uint32_t vlan, uint16_t udp_port,
              const std::vector<ip_prefix>& addrs) {
    for (const auto& a : addrs) {
        context_key k;
        k.port = port;
        k.vlan = vlan;
        k.udp_port = udp_port;
        const std::array<uint8_t, 16> m = a.address.mapped();
        std::memcpy(k.addr, m.data(), 16);
        keys.push_back(k);
    }
}

} // namespace

bool snapshot::build_acls(const dataplane_spec& spec, uint64_t generation, std::string& error) {
    std::vector<ip_prefix> rules4, rules6;
    for (const auto& cs : spec.contexts) {
        for (const auto& p0 : cs.prefixes) {
            const ip_prefix p = p0.network();
            auto& rules = p.address.is_v6() ? rules6 : rules4;
            bool dup = false;
            for (const auto& r : rules) {
                dup = dup || r == p;
            }
            if (!dup) {
                rules.push_back(p);
            }
        }
        // Every prefix rule is an ACL rule too (inside the reflector's prefixes: the same
        // contexts admit it), so the one lookup also finds the rule (allowed()).
        for (const auto& pl : cs.prefix_limits) {
            const ip_prefix p = pl.prefix.network();
            auto& rules = p.address.is_v6() ? rules6 : rules4;
            if (std::find(rules.begin(), rules.end(), p) == rules.end()) {
                rules.push_back(p);
            }
        }
    }
    auto sets_for = [&](const std::vector<ip_prefix>& rules, std::vector<context_set>& sets) {
        sets.assign(rules.size(), context_set{});
        for (std::size_t r = 0; r < rules.size(); ++r) {
            for (std::size_t c = 0; c < spec.contexts.size(); ++c) {
                for (const auto& q : spec.contexts[c].prefixes) {
                    if (q.contains(rules[r])) {
                        sets[r].set(spec.contexts[c].slot);
                        break;
                    }
                }
            }
        }
    };
    // rte_lpm and rte_lpm6 take no depth 0: a default route (0.0.0.0/0, ::/0, "accept
    // everything") becomes its two /1 halves. Their sets come out right by containment: the /0
    // contains both, and an explicit /1 of some other reflector merges into the same rule.
    auto split_default = [](std::vector<ip_prefix>& rules) {
        std::vector<ip_prefix> out;
        auto add = [&out](const ip_prefix& p) {
            for (const auto& r : out) {
                if (r == p) {
                    return;
                }
            }
            out.push_back(p);
        };
        for (const auto& r : rules) {
            if (r.length != 0) {
                add(r);
                continue;
            }
            ip_prefix half = r;
            half.length = 1;
            add(half); // 0.0.0.0/1 or ::/1 (the address bits are zero in a /0)
            half.address.bytes[0] |= 0x80;
            add(half); // 128.0.0.0/1 or 8000::/1
        }
        rules = std::move(out);
    };
    split_default(rules4);
    split_default(rules6);
    rules4_ = rules4;
    rules6_ = rules6;
    sets_for(rules4, sets4_);
    sets_for(rules6, sets6_);

    char name[RTE_LPM_NAMESIZE];
    if (!rules4.empty()) {
        std::snprintf(name, sizeof name, "acl4_%lu", static_cast<unsigned long>(generation));
        rte_lpm_config c{};
        c.max_rules = static_cast<uint32_t>(rules4.size());
        c.number_tbl8s = static_cast<uint32_t>(rules4.size()) + 16; // one per prefix past /24
        acl4_ = rte_lpm_create(name, SOCKET_ID_ANY, &c);
        if (!acl4_) {
            error = std::string("IPv4 ACL: rte_lpm_create: ") + rte_strerror(rte_errno) +
                    " (it needs about 64 MiB: give EAL more memory with -m)";
            return false;
        }
        for (std::size_t r = 0; r < rules4.size(); ++r) {
            if (rte_lpm_add(acl4_, rules4[r].address.v4_host_order(), rules4[r].length,
                            static_cast<uint32_t>(r)) < 0) {
                error = "IPv4 ACL: rte_lpm_add failed";
                return false;
            }
        }
    }
    if (!rules6.empty()) {
        std::snprintf(name, sizeof name, "acl6_%lu", static_cast<unsigned long>(generation));
        rte_lpm6_config c{};
        c.max_rules = static_cast<uint32_t>(rules6.size());
        c.number_tbl8s = static_cast<uint32_t>(rules6.size()) * 14 + 16; // /128 needs 13
        acl6_ = rte_lpm6_create(name, SOCKET_ID_ANY, &c);
        if (!acl6_) {
            error = std::string("IPv6 ACL: rte_lpm6_create: ") + rte_strerror(rte_errno) +
                    " (it needs about 64 MiB: give EAL more memory with -m)";
            return false;
        }
        for (std::size_t r = 0; r < rules6.size(); ++r) {
            if (rte_lpm6_add(acl6_, rules6[r].address.bytes.data(), rules6[r].length,
                             static_cast<uint32_t>(r)) < 0) {
                error = "IPv6 ACL: rte_lpm6_add failed";
                return false;
            }
        }
    }
    return true;
}

void snapshot::build_sources(const dataplane_spec& spec) {
    // Every address of every port and VLAN, and every reflector's (each one of the former once
    // the config is valid; a spec built by hand may differ).
    std::vector<const ip_prefix*> own, subnets;
    for (const auto& p : spec.ports) {
        for (const auto& a : p.addresses) {
            own.push_back(&a);
            subnets.push_back(&a);
        }
        for (const auto& v : p.vlans) {
            for (const auto& a : v.addresses) {
                own.push_back(&a);
                subnets.push_back(&a);
            }
        }
    }
    for (const auto& c : spec.contexts) {
        for (const auto& a : c.addresses) {
            own.push_back(&a);
        }
    }
    // Power of two, at least twice the entries (an empty slot ends every probe).
    const std::size_t most = own.size() + 2 * subnets.size();
    uint32_t size = 8;
    unsigned bits = 3;
    while (size < most * 2) {
        size *= 2;
        ++bits;
    }
    src_.assign(size, src_entry{});
    src_mask_ = size - 1;
    src_shift_ = 64 - bits;
    auto add = [this](const std::array<uint8_t, 16>& a, proto::drop_reason why) {
        const auto [lo, hi] = net::address_words::of(a.data());
        uint32_t i = src_slot(lo, hi);
        for (; src_[i].why != proto::drop_reason::none; i = (i + 1) & src_mask_) {
            if (src_[i].lo == lo && src_[i].hi == hi) {
                return; // the first reason stays: the own addresses go in first
            }
        }
        src_[i] = src_entry{lo, hi, why};
    };
    for (const ip_prefix* a : own) {
        add(a->address.mapped(), proto::drop_reason::own_source_address);
    }
    for (const ip_prefix* a : subnets) {
        const proto::subnet_addresses sa = proto::unanswerable_subnet_addresses(
                a->address.mapped(), a->address.is_v6(), a->length);
        for (unsigned i = 0; i < sa.n; ++i) {
            add(sa.addr[i], proto::drop_reason::bad_source_address);
        }
    }
}

namespace {

// `rate` per second split over `n` workers (split_rate): the shares add up to `rate` exactly.
split_rate bucket_of(uint32_t rate, unsigned n, uint64_t hz) {
    split_rate r;
    if (rate == 0) {
        return r;
    }
    n = std::max(1u, n);
    r.extra = rate % n;
    for (unsigned j = 0; j < 2; ++j) {
        const uint64_t share = rate / n + j;
        if (share == 0) {
            r.cost[j] = 1; // admits nothing
            r.burst[j] = 0;
        } else {
            r.cost[j] = (hz + share - 1) / share;
            r.burst[j] = r.cost[j] * share;
        }
    }
    return r;
}

void set_bits(uint64_t* bits, uint32_t lo, uint32_t hi) {
    for (uint32_t p = lo; p <= hi && p <= 65535; ++p) {
        bits[p / 64] |= uint64_t{1} << (p % 64);
    }
}

} // namespace

void snapshot::build_limits(const dataplane_spec& spec, unsigned n_workers) {
    const uint64_t hz = rte_get_tsc_hz();
    uint64_t* deflt = nullptr;
    for (const auto& cs : spec.contexts) {
        context_rt& rt = contexts_[cs.slot];
        using guard = context_spec::guard;
        if (cs.loop_guard == guard::reflector_ports) {
            if (!deflt) {
                // 862, RFC 5357's/Nokia's TWAMP Light reflector range, the UDP echo-style
                // services, every reflector port of the box and the control server's receiver
                // ports: one bitmap for all.
                guards_.push_back(std::make_unique<uint64_t[]>(65536 / 64));
                deflt = guards_.back().get();
                set_bits(deflt, 862, 862);
                set_bits(deflt, 64364, 64373);
                // The UDP services that answer anything (RFC 862 echo, 867 daytime, 865
                // quote of the day, 864 chargen, 868 time): a reply sent to one comes back as
                // a new request (the reflector does not check MBZ octets), without end.
                for (uint32_t p : {7u, 13u, 17u, 19u, 37u}) {
                    set_bits(deflt, p, p);
                }
                for (std::size_t w = 0; w < 65536 / 64; ++w) {
                    deflt[w] |= reflector_ports_[w];
                }
                if (spec.guard_min <= spec.guard_max) {
                    set_bits(deflt, spec.guard_min, spec.guard_max);
                }
            }
            rt.refused_ports = deflt;
        } else if (cs.loop_guard == guard::listed) {
            guards_.push_back(std::make_unique<uint64_t[]>(65536 / 64));
            for (const auto& [lo, hi] : cs.refused_ports) {
                set_bits(guards_.back().get(), lo, hi);
            }
            rt.refused_ports = guards_.back().get();
        }
        rt.rate = bucket_of(cs.rate_limit_pps, n_workers, hz);
        rt.source = bucket_of(cs.source_rate_limit_pps, n_workers, hz);
        if (cs.stateful) {
            rt.session = bucket_of(cs.source_session_rate, n_workers, hz);
        }
        rt.drop_over_capacity = cs.drop_over_capacity;
        rt.prefix_base = static_cast<uint32_t>(prules_.size());
        rt.n_prefix_rules =
                static_cast<uint8_t>(std::min(cs.prefix_limits.size(), max_prefix_rules));
        bool prefix_rate = false, prefix_sessions = false;
        for (std::size_t k = 0; k < rt.n_prefix_rules; ++k) {
            const auto& pl = cs.prefix_limits[k];
            prefix_rule_rt r;
            r.rate = bucket_of(pl.rate_limit_pps, n_workers, hz);
            if (pl.max_sessions != 0 && cs.stateful) {
                // Floored per worker, the remainder to the first workers: the shares add up
                // to max-sessions exactly (a worker's may be 0: it creates none).
                const unsigned n = std::max(1u, n_workers);
                r.capped = true;
                r.max_sessions[0] = pl.max_sessions / n;
                r.max_sessions[1] = pl.max_sessions / n + 1;
                r.sessions_extra = pl.max_sessions % n;
            }
            r.ctx = cs.slot;
            r.index = static_cast<uint8_t>(k);
            prefix_rate = prefix_rate || r.rate.on();
            prefix_sessions = prefix_sessions || r.capped;
            prules_.push_back(r);
        }
        if (prefix_sessions) {
            // FNV-1a over (prefix, length, capped) of each rule, in order (never 0).
            uint64_t g = 0xcbf29ce484222325ULL;
            auto mix = [&g](uint8_t v) {
                g ^= v;
                g *= 0x100000001b3ULL;
            };
            for (std::size_t k = 0; k < rt.n_prefix_rules; ++k) {
                const ip_prefix& p = cs.prefix_limits[k].prefix;
                for (uint8_t o : p.address.mapped()) {
                    mix(o);
                }
                mix(p.length);
                mix(p.address.is_v6());
                mix(prules_[rt.prefix_base + k].capped);
            }
            rt.rules_gen = g | 1;
        }
        rt.limited = rt.rate.on() || rt.source.on() || prefix_rate;
        rt.session_gate = rt.session.on() || prefix_sessions;
        rt.checks = rt.limited || rt.refused_ports;
    }
    // Per ACL rule, the (reflector, its longest prefix rule containing the ACL rule) pairs: the
    // longest match of a source is the longest ACL rule containing it, and every prefix rule
    // containing the source is an ACL rule too, so it contains that one.
    auto pairs = [&](const std::vector<ip_prefix>& rules, std::vector<uint32_t>& off) {
        off.assign(1, static_cast<uint32_t>(lim_.size()));
        for (const auto& r : rules) {
            for (const auto& cs : spec.contexts) {
                const context_rt& rt = contexts_[cs.slot];
                int best = -1;
                for (std::size_t k = 0; k < rt.n_prefix_rules; ++k) {
                    const ip_prefix& p = cs.prefix_limits[k].prefix;
                    if (p.contains(r) &&
                        (best < 0 || p.length > cs.prefix_limits[best].prefix.length)) {
                        best = static_cast<int>(k);
                    }
                }
                if (best >= 0) {
                    lim_.push_back({cs.slot, static_cast<uint16_t>(rt.prefix_base + best)});
                }
            }
            off.push_back(static_cast<uint32_t>(lim_.size()));
        }
    };
    pairs(rules4_, lim_off4_);
    pairs(rules6_, lim_off6_);
}

snapshot::~snapshot() {
    if (acl4_) {
        rte_lpm_free(acl4_);
    }
    if (acl6_) {
        rte_lpm6_free(acl6_);
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
    std::size_t n_slots = 0;
    for (const auto& cs : spec.contexts) {
        if (cs.slot >= max_contexts) {
            error = "reflector " + cs.name + ": no counter slot left (at most " +
                    std::to_string(max_contexts) + " reflectors over the process' life)";
            return nullptr;
        }
        n_slots = std::max<std::size_t>(n_slots, cs.slot + 1u);
    }
    s->contexts_.resize(n_slots);
    for (std::size_t i = 0; i < n_slots; ++i) {
        s->contexts_[i].index = static_cast<uint16_t>(i);
    }
    for (std::size_t i = 0; i < spec.contexts.size(); ++i) {
        const context_spec& cs = spec.contexts[i];
        if (s->contexts_[cs.slot].active) {
            error = "reflector " + cs.name + ": slot " + std::to_string(cs.slot) + " used twice";
            return nullptr;
        }
        for (uint16_t up : cs.udp_ports) {
            add_keys(keys, cs.port, cs.vlan, up, cs.addresses);
            s->reflector_ports_[up / 64] |= uint64_t{1} << (up % 64);
        }
        owner.resize(keys.size(), cs.slot);

        context_rt rt;
        rt.active = true;
        rt.policy = cs.policy;
        rt.index = cs.slot;
        rt.port = cs.port;
        rt.stateful = cs.stateful;
        rt.inactivity_tsc = uint64_t{cs.inactivity_timeout_s} * hz;
        if (cs.stateful) {
            // Floored per worker, the remainder to the first workers (as the prefix rules and
            // the rates): the shares add up to max-sessions exactly, never more (a worker's
            // may be 0: past it new flows get over-capacity). The tables are sized for the
            // largest share.
            const unsigned n = std::max(1u, n_workers);
            rt.max_sessions[0] = cs.max_sessions / n;
            rt.max_sessions[1] = cs.max_sessions / n + 1;
            rt.sessions_extra = cs.max_sessions % n;
            s->session_capacity_ += rt.sessions_extra ? rt.max_sessions[1] : rt.max_sessions[0];
        }
        if (cs.has_key || !cs.ssid_keys.empty()) {
            // HMAC-SHA-256 with the key file's secret (RFC 8762 §4.4, RFC 8972 §4.8): the
            // inner and outer states computed once here, never per packet.
            auto c = std::make_unique<stamp_crypto>();
            c->keys.reserve(cs.ssid_keys.size() + 1);
            if (cs.has_key) {
                c->keys.emplace_back(crypto::hash::sha256, cs.key);
            }
            for (const auto& [ssid, secret] : cs.ssid_keys) {
                c->keys.emplace_back(crypto::hash::sha256, secret);
                c->ssid.push_back({ssid, &c->keys.back()});
            }
            c->view.hmac = cs.has_key ? &c->keys.front() : nullptr;
            c->view.ssid_keys = c->ssid.data();
            c->view.n_ssid_keys = static_cast<uint32_t>(c->ssid.size());
            rt.policy.keys = &c->view;
            s->crypto_.push_back(std::move(c));
        } else {
            rt.policy.keys = nullptr;
        }

        s->contexts_[cs.slot] = rt;
    }

    if (!s->build_acls(spec, generation, error)) {
        return nullptr;
    }
    s->build_limits(spec, std::max(1u, n_workers));
    s->build_sources(spec);

    // Power of two, at most half full: a lookup probes one or two slots.
    uint32_t size = 16;
    unsigned bits = 4;
    while (size < keys.size() * 2) {
        size *= 2;
        ++bits;
    }
    s->entries_.assign(size, ctx_entry{});
    s->mask_ = size - 1;
    s->shift_ = 64 - bits;
    for (std::size_t k = 0; k < keys.size(); ++k) {
        if (s->find(keys[k])) {
            error = "reflectors overlap on (port, VLAN, address, UDP port " +
                    std::to_string(keys[k].udp_port) + ")";
            return nullptr;
        }
        const key_words w = words(keys[k]);
        uint32_t i = s->slot_of(w);
        while (s->entries_[i].ctx != no_ctx) {
            i = (i + 1) & s->mask_;
        }
        s->entries_[i].w = w;
        s->entries_[i].ctx = owner[k];
    }
    return s;
}

} // namespace twamp::dataplane
