// The immutable picture workers reflect by: reflector contexts keyed by (port, VLAN, local
// address, UDP port) and each context's source-prefix ACL. Built on the slow path, published by
// pointer, freed after an RCU grace period (DESIGN.md "Changing what workers see").
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <rte_lpm.h>
#include <rte_lpm6.h>

#include "twamp/crypto/crypto.hpp"
#include "twamp/dataplane/counters.hpp"
#include "twamp/dataplane/spec.hpp"
#include "twamp/proto/reflect.hpp"

namespace twamp::dataplane {

struct context_key {
    uint16_t port = 0;
    uint16_t udp_port = 0;
    uint32_t vlan = 0;     // 0 untagged, VID for one tag, (outer << 16 | inner) for two
    uint8_t addr[16] = {}; // IPv4-mapped for IPv4
};
static_assert(sizeof(context_key) == 24);
static_assert(sizeof(context_key) == 3 * sizeof(uint64_t));
// snapshot::words() builds the key words arithmetically in context_key's memory layout.
static_assert(std::endian::native == std::endian::little);

// The GCRA token bucket: `tat` the bucket's theoretical arrival time. True (and charged) when a
// request may pass at `now`. A `burst` of 0 (with a non-zero cost) admits nothing.
inline bool bucket_take(uint64_t& tat, uint64_t now, uint64_t cost, uint64_t burst) noexcept {
    const uint64_t next = (tat > now ? tat : now) + cost;
    if (next - now > burst) {
        return false;
    }
    tat = next;
    return true;
}

// A rate (per second) split over N workers so that the shares add up to it exactly: workers
// 0 .. extra-1 get rate/N + 1 ([1]), the others rate/N ([0]; 0 when the rate is below N:
// such a worker admits nothing, cost 1 and burst 0). A share's bucket: cost = ceil(hz /
// share) TSC cycles a request, burst = share requests (one second). cost[0] 0: no limit.
struct split_rate {
    uint64_t cost[2] = {0, 0};
    uint64_t burst[2] = {0, 0};
    uint32_t extra = 0;
    bool on() const noexcept { return cost[0] != 0; }
    bool take(uint64_t& tat, uint64_t now, unsigned worker) const noexcept {
        const unsigned j = worker < extra;
        return bucket_take(tat, now, cost[j], burst[j]);
    }
    // Requests per second the worker may answer (tests, documentation).
    uint64_t share(unsigned worker, uint64_t hz) const noexcept {
        const unsigned j = worker < extra;
        return burst[j] == 0 ? 0 : (hz + cost[j] - 1) / cost[j];
    }
};

struct context_rt {
    proto::reflect_policy policy{};
    bool active = false; // false: a slot whose reflector was removed (or never used)
    uint16_t index = 0;
    uint16_t port = 0;
    bool stateful = true;
    uint64_t inactivity_tsc = 0;
    // max-sessions, each worker's share as prefix_rule_rt's: workers below `sessions_extra`
    // keep max_sessions[1], the others max_sessions[0] (maybe 0: none). The shares add up to
    // the configured max-sessions exactly: the box never keeps more.
    uint32_t max_sessions[2] = {0, 0};
    uint32_t sessions_extra = 0;
    uint32_t max_sessions_for(unsigned worker) const noexcept {
        return max_sessions[worker < sessions_extra];
    }
    // Limits (README "Limits"), each worker's share (split_rate). A rate is a cost in TSC
    // cycles per request in a worker's token bucket (GCRA: a theoretical arrival time per
    // bucket) that holds `burst` cycles: one second of the worker's share.
    const uint64_t* refused_ports = nullptr; // the loop guard's bitmap (65,536 bits); null: off
    bool checks = false;                     // the loop guard or `limited`: classify's one flag
    bool limited = false;      // a per-request limit: rate, source rate or a prefix rule's rate
    bool session_gate = false; // new sessions checked: source-session-rate, prefix max-sessions
    bool drop_over_capacity = false;
    uint8_t n_prefix_rules = 0;
    uint32_t prefix_base = 0; // its first rule in snapshot::prefix_rules()
    // Identifies which sessions each capped prefix rule counts (a hash of the rules' prefixes
    // in order and whether each caps sessions; 0: no capped rule). A worker that finds it
    // changed recounts the context's per-rule sessions (worker::recount_prefix_sessions).
    uint64_t rules_gen = 0;
    split_rate rate;    // rate-limit-pps
    split_rate source;  // source-rate-limit-pps
    split_rate session; // source-session-rate
};

// A reflector's prefix rule (prefix-limits), split over the workers.
struct prefix_rule_rt {
    split_rate rate; // rate-limit-pps
    // max-sessions: `capped` (a limit) and each worker's share, as split_rate's: workers
    // below `sessions_extra` may keep max_sessions[1], the others max_sessions[0] (maybe 0:
    // none). The shares add up to the configured max-sessions exactly.
    bool capped = false;
    uint32_t max_sessions[2] = {0, 0};
    uint32_t sessions_extra = 0;
    uint16_t ctx = 0;  // the reflector's slot
    uint8_t index = 0; // in the reflector's prefix-limits
    uint32_t max_for(unsigned worker) const noexcept {
        return max_sessions[worker < sessions_extra];
    }
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

    // Hot path: the context for a key, or null. An open-addressing table of its own, at most
    // half full: a multiplicative hash over the key's three 64-bit words and a compare of the
    // same three words, ~10 cycles. rte_hash (CRC over 24 octets, then libc memcmp through a
    // function pointer: 24 is not one of its vector compare sizes) took ~40 cycles per packet,
    // ~17 % of the stateless worker's time (perf/RESULTS.md).
    const context_rt* find(const context_key& k) const noexcept { return find(words(k)); }
    // The same from the key's words built in registers (context_key's memory layout: port,
    // UDP port and VLAN in the first word, the address in the other two). A key assembled on
    // the stack from 2- and 4-octet stores and read back as 8-octet words would stall on
    // store-to-load forwarding.
    struct key_words {
        uint64_t a, b, c;
    };
    static key_words words(uint16_t port, uint16_t udp_port, uint32_t vlan, uint64_t addr_lo,
                           uint64_t addr_hi) noexcept {
        return {port | (uint64_t{udp_port} << 16) | (uint64_t{vlan} << 32), addr_lo, addr_hi};
    }
    const context_rt* find(const key_words& w) const noexcept {
        for (uint32_t i = slot_of(w);; i = (i + 1) & mask_) {
            const ctx_entry& e = entries_[i];
            if (e.ctx == no_ctx) {
                return nullptr;
            }
            if (e.w.a == w.a && e.w.b == w.b && e.w.c == w.c) {
                return &contexts_[e.ctx];
            }
        }
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

    // The same lookup, also giving the reflector's prefix rule for the source (its index in
    // prefix_rules(), -1: none): the longest of its rules containing the source, read from the
    // longest-matching ACL rule (every prefix rule is an ACL rule too: no second lookup).
    bool allowed(const context_rt& c, bool v6, const uint8_t* src, int32_t& rule) const noexcept {
        uint32_t nh;
        rule = -1;
        bool ok;
        const std::vector<uint32_t>* off;
        if (!v6) {
            uint32_t a = (uint32_t{src[0]} << 24) | (uint32_t{src[1]} << 16) |
                         (uint32_t{src[2]} << 8) | src[3];
            ok = acl4_ && rte_lpm_lookup(acl4_, a, &nh) == 0 && sets4_[nh].test(c.index);
            off = &lim_off4_;
        } else {
            ok = acl6_ && rte_lpm6_lookup(acl6_, src, &nh) == 0 && sets6_[nh].test(c.index);
            off = &lim_off6_;
        }
        if (ok && c.n_prefix_rules) {
            const uint32_t* o = off->data();
            for (uint32_t k = o[nh]; k < o[nh + 1]; ++k) {
                if (lim_[k].ctx == c.index) {
                    rule = static_cast<int32_t>(lim_[k].rule);
                    break;
                }
            }
        }
        return ok;
    }
    const std::vector<prefix_rule_rt>& prefix_rules() const noexcept { return prules_; }

    // Hot path: a source (key form, IPv4-mapped for IPv4) that is one of the box's own
    // addresses gives own_source_address (every port's and VLAN's addresses and every
    // reflector's: a reply to it comes back to the box, which answers it again, without end);
    // one of the box's subnets' network, broadcast or Subnet-Router anycast addresses gives
    // bad_source_address (proto::unanswerable_subnet_addresses); any other none. Checked
    // before the ACL, whatever it admits. A handful of addresses in an open-addressing table
    // at most half full, like the contexts': a multiply, a load and a compare of two words.
    proto::drop_reason source_verdict(uint64_t lo, uint64_t hi) const noexcept {
        for (uint32_t i = src_slot(lo, hi);; i = (i + 1) & src_mask_) {
            const src_entry& e = src_[i];
            if (e.why == proto::drop_reason::none) {
                return proto::drop_reason::none;
            }
            if (e.lo == lo && e.hi == hi) {
                return e.why;
            }
        }
    }

    const std::vector<context_rt>& contexts() const noexcept { return contexts_; }
    // Any reflector of the box listens on this UDP port (for the STAMP Return Address rule: a
    // reply must not go to a port another reflector may listen on, worker.cpp).
    bool is_reflector_port(uint16_t p) const noexcept {
        return (reflector_ports_[p / 64] >> (p % 64)) & 1;
    }
    uint32_t session_capacity_per_worker() const noexcept { return session_capacity_; }

private:
    snapshot() = default;
    bool build_acls(const dataplane_spec& spec, uint64_t generation, std::string& error);
    struct ctx_entry {
        key_words w{};
        uint32_t ctx = no_ctx;
    };
    static constexpr uint32_t no_ctx = ~uint32_t{0};
    static key_words words(const context_key& k) noexcept {
        key_words w;
        std::memcpy(&w, &k, sizeof w);
        return w;
    }
    uint32_t slot_of(const key_words& w) const noexcept {
        // The UDP port, VLAN and the address' low bits vary between contexts; the multiply
        // spreads them into the top bits, which pick the slot.
        const uint64_t h = (w.a * 0x9e3779b97f4a7c15ULL) ^ (w.b * 0xc2b2ae3d27d4eb4fULL) ^
                           (w.c * 0x165667b19e3779f9ULL);
        return static_cast<uint32_t>(h >> shift_);
    }
    struct src_entry {
        uint64_t lo = 0, hi = 0;
        proto::drop_reason why = proto::drop_reason::none; // none: an empty slot
    };
    uint32_t src_slot(uint64_t lo, uint64_t hi) const noexcept {
        const uint64_t h = (lo * 0x9e3779b97f4a7c15ULL) ^ (hi * 0xc2b2ae3d27d4eb4fULL);
        return static_cast<uint32_t>(h >> src_shift_);
    }
    void build_sources(const dataplane_spec& spec);
    std::vector<src_entry> src_;
    uint32_t src_mask_ = 0;
    unsigned src_shift_ = 64;
    std::vector<ctx_entry> entries_;
    uint32_t mask_ = 0;
    unsigned shift_ = 64;
    rte_lpm* acl4_ = nullptr;  // null: no IPv4 prefix anywhere, every IPv4 source denied
    rte_lpm6* acl6_ = nullptr; // null: no IPv6 prefix anywhere
    std::vector<context_set> sets4_, sets6_;
    std::vector<context_rt> contexts_;
    // The STAMP reflectors' prepared HMAC keys (context_rt::policy.keys points into them):
    // built with the snapshot, immutable, freed with it (RCU).
    struct stamp_crypto {
        std::vector<crypto::hmac_key> keys;      // reserved up front: never reallocated
        std::vector<proto::stamp_ssid_key> ssid; // into keys
        proto::auth_keys view;
    };
    std::vector<std::unique_ptr<stamp_crypto>> crypto_;
    uint32_t session_capacity_ = 0;
    uint64_t reflector_ports_[65536 / 64] = {}; // is_reflector_port: 8 KiB, one bit a port
    // Limits: the loop guard's bitmaps (the default set once, a listed set per reflector),
    // the prefix rules, and per ACL rule the (reflector, prefix rule) pairs it selects.
    void build_limits(const dataplane_spec& spec, unsigned n_workers);
    std::vector<std::unique_ptr<uint64_t[]>> guards_;
    std::vector<prefix_rule_rt> prules_;
    struct rule_limit {
        uint16_t ctx;
        uint16_t rule; // into prules_
    };
    std::vector<rule_limit> lim_;
    std::vector<uint32_t> lim_off4_, lim_off6_; // per ACL rule, its pairs: [off[r], off[r + 1])
    std::vector<ip_prefix> rules4_, rules6_;    // the ACL rules (build)
};

} // namespace twamp::dataplane
