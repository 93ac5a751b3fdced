// The immutable picture workers reflect by: reflector contexts keyed by (port, VLAN, local
// address, UDP port) and each context's source-prefix ACL. Built on the slow path, published by
// pointer, freed after an RCU grace period (DESIGN.md "Changing what workers see").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rte_hash.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>

#include "twamp/dataplane/spec.hpp"
#include "counters.hpp"
#include "twamp/proto/reflect.hpp"

namespace twamp::dataplane {

struct context_key {
    uint16_t port = 0;
    uint16_t udp_port = 0;
    uint32_t vlan = 0;     // 0 untagged, VID for one tag, (outer << 16 | inner) for two
    uint8_t addr[16] = {}; // IPv4-mapped for IPv4
};
static_assert(sizeof(context_key) == 24);

struct context_rt {
    proto::reflect_policy policy{};
    uint16_t index = 0;
    uint16_t port = 0;
    bool stateful = true;
    uint64_t inactivity_tsc = 0;
    uint32_t max_sessions_per_worker = 0;
    rte_lpm* acl4 = nullptr;  // null: no IPv4 prefix, every IPv4 source denied
    rte_lpm6* acl6 = nullptr; // null: no IPv6 prefix
};

class snapshot {
public:
    // Builds the lookup tables; on failure returns null and sets `error`.
    static std::unique_ptr<snapshot> build(const dataplane_spec& spec, unsigned n_workers,
                                           uint64_t generation, std::string& error);
    ~snapshot();
    snapshot(const snapshot&) = delete;
    snapshot& operator=(const snapshot&) = delete;

    // Hot path: the context for a key, or null.
    const context_rt* find(const context_key& k) const noexcept {
        void* data = nullptr;
        if (rte_hash_lookup_data(table_, &k, &data) < 0) {
            return nullptr;
        }
        return &contexts_[reinterpret_cast<uintptr_t>(data)];
    }

    // Hot path: the source address is inside the context's prefixes.
    static bool allowed(const context_rt& c, bool v6, const uint8_t* src) noexcept {
        uint32_t nh4;
        if (!v6) {
            uint32_t a = (uint32_t{src[0]} << 24) | (uint32_t{src[1]} << 16) |
                         (uint32_t{src[2]} << 8) | src[3];
            return c.acl4 && rte_lpm_lookup(c.acl4, a, &nh4) == 0;
        }
        uint32_t nh6;
        return c.acl6 && rte_lpm6_lookup(c.acl6, src, &nh6) == 0;
    }

    const std::vector<context_rt>& contexts() const noexcept { return contexts_; }
    uint32_t session_capacity_per_worker() const noexcept { return session_capacity_; }

private:
    snapshot() = default;
    rte_hash* table_ = nullptr;
    std::vector<context_rt> contexts_;
    uint32_t session_capacity_ = 0;
};

} // namespace twamp::dataplane
