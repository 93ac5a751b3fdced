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
    bool active = false; // false: a slot whose reflector was removed (or never used)
    uint16_t index = 0;
    uint16_t port = 0;
    bool stateful = true;
    uint64_t inactivity_tsc = 0;
    uint32_t max_sessions_per_worker = 0;
};

// Which contexts a longest-matching ACL rule admits: one bit per context.
struct context_set {
    uint64_t bits[max_contexts / 64] = {};
    void set(std::size_t i) noexcept { bits[i / 64] |= uint64_t{1} << (i % 64); }
    bool test(std::size_t i) const noexcept { return (bits[i / 64] >> (i % 64)) & 1; }
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

    // Hot path: the source address is inside the context's prefixes. One LPM lookup per
    // packet whatever the number of contexts: every distinct prefix of every context is a rule
    // whose next hop names the set of contexts admitting it (prefixes that contain a common
    // address are nested, so the longest match decides for all of them).
    bool allowed(const context_rt& c, bool v6, const uint8_t* src) const noexcept {
        uint32_t nh;
        if (!v6) {
            uint32_t a = (uint32_t{src[0]} << 24) | (uint32_t{src[1]} << 16) |
                         (uint32_t{src[2]} << 8) | src[3];
            return acl4_ && rte_lpm_lookup(acl4_, a, &nh) == 0 && sets4_[nh].test(c.index);
        }
        return acl6_ && rte_lpm6_lookup(acl6_, src, &nh) == 0 && sets6_[nh].test(c.index);
    }

    const std::vector<context_rt>& contexts() const noexcept { return contexts_; }
    uint32_t session_capacity_per_worker() const noexcept { return session_capacity_; }

private:
    snapshot() = default;
    bool build_acls(const dataplane_spec& spec, uint64_t generation, std::string& error);
    rte_hash* table_ = nullptr;
    rte_lpm* acl4_ = nullptr;  // null: no IPv4 prefix anywhere, every IPv4 source denied
    rte_lpm6* acl6_ = nullptr; // null: no IPv6 prefix anywhere
    std::vector<context_set> sets4_, sets6_;
    std::vector<context_rt> contexts_;
    uint32_t session_capacity_ = 0;
};

} // namespace twamp::dataplane
