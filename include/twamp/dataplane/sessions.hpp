// Stateful reflection (RFC 8762 §4.2, RFC 8972 §3): one table per worker (RSS keeps a flow on
// one queue, so no locks), keyed by (context, SSID, ports, addresses). The reflector's own
// sequence number per session starts at 0; idle sessions age out; a full table falls back to
// stateless reflection for the new flow.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <rte_hash.h>

#include "twamp/dataplane/control_table.hpp"
#include "twamp/dataplane/counters.hpp"
#include "twamp/dataplane/snapshot.hpp"

namespace twamp::dataplane {

struct session_key {
    uint16_t ctx = 0;
    uint16_t ssid = 0;
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    uint8_t src[16] = {};
    uint8_t dst[16] = {};
};
static_assert(sizeof(session_key) == 40);

// A TSC value kept as 32 bits of TSC >> Shift (the session record must stay small: 1,000,000
// sessions per worker at <= 128 B each, issue 7). Comparisons are modular, so they stay right
// across the 32-bit wrap as long as the two instants are less than 2^(31 + Shift) cycles apart.
// Assigning a full TSC stores it, so `s.last_seen_tsc = now_tsc;` keeps working.
template<unsigned Shift>
struct coarse_tsc {
    static constexpr unsigned shift = Shift;
    static_assert(Shift <= 32);
    uint32_t units = 0;

    static constexpr uint32_t to_units(uint64_t tsc) noexcept {
        return static_cast<uint32_t>(tsc >> Shift);
    }
    // Cycles covered by `cycles`, rounded up to whole units (so that "more than N units
    // ago" means "more than `cycles` ago" however the two stamps fall within their units).
    static constexpr uint32_t ceil_units(uint64_t cycles) noexcept {
        uint64_t u = (cycles >> Shift) + ((cycles & ((uint64_t{1} << Shift) - 1)) != 0);
        return u > INT32_MAX ? uint32_t{INT32_MAX} : static_cast<uint32_t>(u);
    }
    coarse_tsc& operator=(uint64_t tsc) noexcept {
        units = to_units(tsc);
        return *this;
    }
    // Whole units from the stamp to `now_tsc`; negative when the stamp is later.
    int32_t units_before(uint64_t now_tsc) const noexcept {
        return static_cast<int32_t>(to_units(now_tsc) - units);
    }
    // The stamp as a full TSC (the start of its unit, so at most 2^Shift - 1 cycles early),
    // rebuilt from a later `now_tsc`.
    uint64_t tsc(uint64_t now_tsc) const noexcept {
        int64_t u = static_cast<int64_t>(now_tsc >> Shift) - units_before(now_tsc);
        return static_cast<uint64_t>(u) << Shift;
    }
};

// One session, 56 octets (see session_table::prefetch).
// The key (ctx, ssid, ports, addresses) lives in rte_hash's key store, not here.
struct session {
    uint64_t packets = 0;
    uint32_t next_seq = 0; // the reflector's Sequence Number for the next reply
    uint32_t last_sender_seq = 0;
    // TSC >> 20: 0.35 ms units at 3 GHz (0.21 ms at 5 GHz); modular, right while the
    // session is idle for less than 2^51 cycles (8.7 days at 3 GHz, 5.2 days at 5 GHz), far
    // beyond the longest inactivity timeout (1 day) plus one aging pass.
    coarse_tsc<20> last_seen_tsc;
    // TSC >> 32: 1.4 s units at 3 GHz; the top half of the TSC, so it never wraps however old
    // the session gets (it is only ever reported, never compared on the fast path).
    coarse_tsc<32> created_tsc;
    uint32_t gaps = 0; // sender sequence jumped forward (lost on the forward path)
    uint32_t duplicates = 0;
    uint32_t reorders = 0; // sender sequence went backwards
    // Also in the key, but aging needs it for every live slot it walks, and reading the key
    // store for that would cost a hash lookup per slot; these 4 octets are free (40 B either way).
    uint16_t ctx = 0;
    uint8_t in_use = 0; // the slot holds a live session (aging/scan walk slots, not the hash)
    // Follow-Up Telemetry (RFC 8972 §4.7): the latest reply whose departure is known, its
    // Sequence Number and time (UTC ns; 0: none yet) and the Timestamping Method that gave it
    // (T3 as sent, or the device's IEEE 1588 TX timestamp when one came back for it).
    uint8_t follow_up_mode = 0;
    uint32_t follow_up_seq = 0;
    uint64_t follow_up_ns = 0;

    uint64_t last_seen(uint64_t now_tsc) const noexcept { return last_seen_tsc.tsc(now_tsc); }
    uint64_t created(uint64_t now_tsc) const noexcept { return created_tsc.tsc(now_tsc); }
};
// 40 octets before Follow-Up Telemetry (issue 14) added its 16; the key is another 40.
static_assert(sizeof(session) <= 56);

// A request from the slow path (telemetry) for a worker's busiest sessions, answered by the
// worker a slice at a time so that a big table never stalls reflection.
struct session_query {
    static constexpr unsigned max_top = 32;
    static constexpr int idle = 0, requested = 1, scanning = 2, done = 3;
    struct entry {
        session_key key;
        session s;
    };
    std::atomic<int> state{idle};
    uint32_t iter = 0;
    unsigned count = 0;
    uint64_t scanned = 0;
    entry top[max_top];
};

// Memory for max-sessions 1,000,000 per worker (DPDK 22.11 rte_cuckoo_hash.c sizing, single
// writer, no extendable buckets; perf/bench.py session_memory() computes the same):
//   rte_hash entries  E = 1,000,000 + 1/8 + 8 = 1,125,008 (the headroom caps bucket load at
//                     8/9, so the cuckoo insert does not fail before the per-context limits do)
//   buckets           rte_align32pow2(E) / 8 = 262,144 x 64 B  = 16.8 MB  (16.8 B/session)
//   key store         (E + 1) x (8 + 40 B)   = 54.0 MB                    (54.0 B/session)
//   free-slot ring    rte_align32pow2(E + 1) x 4 B = 8.4 MB               ( 8.4 B/session)
//   session records   (E + 1) x 40 B        = 45.0 MB                     (45.0 B/session)
//   total                                     124.2 MB                   (124.2 B/session)
// (133.2 B with the former 48-B records). Any capacity: at most 126 B/session (the worst is
// when E lands just past a power of two). What rte_hash fixes: 48 B per key slot (its 8-B data
// pointer plus our 40-B key, 16-B aligned) and the power-of-two buckets and ring; only the record
// and the headroom are ours. Without headroom (E = capacity) it would be 100.6 B at 95 % bucket
// load, where a cuckoo insert may fail while the limits still allow the session.
class session_table {
public:
    static constexpr uint32_t bulk_max = RTE_HASH_LOOKUP_BULK_MAX; // keys per find_or_create_bulk

    bool init(unsigned worker, uint32_t capacity, std::string& error);
    ~session_table();

    // The session's slot, creating it when new. Returns -1 when no slot is free (the caller
    // reflects statelessly); `created` tells whether it was new.
    int32_t find_or_create(const session_key& k, uint32_t max_for_ctx, uint64_t now_tsc,
                           bool& created) noexcept;

    // find_or_create for a burst: n <= bulk_max keys, max_for_ctx[i] the limit for keys[i]'s
    // context. slots[i] is keys[i]'s slot, or -1 where the context limit or a full table
    // refused a new session. A key repeated within the burst gets the same slot each time and
    // is created once. `created` = sessions created by this call, `table_full` = keys refused
    // (both set, not added to). Existing sessions are found with one pipelined bulk lookup;
    // their records are prefetched on return, so write them after doing other work if you can.
    // Records of sessions created here are already in cache. Nothing in the records is
    // written for existing sessions: the caller updates last_seen_tsc/track_sender_seq.
    void find_or_create_bulk(const session_key* const keys[], uint32_t n,
                             const uint32_t max_for_ctx[], uint64_t now_tsc, int32_t slots[],
                             uint32_t& created, uint32_t& table_full) noexcept;

    session& at(int32_t slot) noexcept { return entries_[slot]; }
    const session& at(int32_t slot) const noexcept { return entries_[slot]; }

    // Walks at most `budget` record slots (live or not) from where the last call stopped,
    // wrapping, and removes the sessions idle for longer than their context's inactivity
    // timeout or whose context is gone; returns how many were removed. The cost per call is
    // bounded by `budget` (~5-11 cycles a slot) however sparse the table; a full pass takes
    // slots() / budget calls, which must stay well inside the 2^51-cycle wrap of last_seen.
    // With `control` (the workers' current table), records of the TWAMP-Control context
    // `control_ctx` also end as soon as their control session has ended (control_table::holds).
    uint32_t age(const snapshot& snap, uint64_t now_tsc, uint32_t budget,
                 const control_table* control = nullptr, uint16_t control_ctx = 0) noexcept;

    // One slice of a session_query (at most `budget` record slots); true when complete.
    bool scan(session_query& q, uint32_t budget) noexcept;

    uint32_t active() const noexcept { return active_; }
    uint32_t active_in(uint16_t ctx) const noexcept {
        return ctx < max_contexts ? per_ctx_[ctx] : 0;
    }
    uint32_t capacity() const noexcept { return capacity_; }
    // Record slots (rte_hash entries): what one full aging pass walks.
    uint32_t slots() const noexcept { return slots_; }
    rte_hash* hash() const noexcept { return hash_; }

private:
    int32_t create(const session_key& k, uint64_t now_tsc, bool& created) noexcept;
    void remove(uint32_t slot) noexcept;

    rte_hash* hash_ = nullptr;
    session* entries_ = nullptr;
    uint32_t capacity_ = 0;
    uint32_t slots_ = 0;
    uint32_t active_ = 0;
    uint32_t iter_ = 0;
    uint32_t per_ctx_[max_contexts] = {};
};

// Per-session sender-sequence bookkeeping.
inline void track_sender_seq(session& s, uint32_t seq) noexcept {
    if (s.packets != 0) {
        uint32_t expect = s.last_sender_seq + 1;
        if (seq == s.last_sender_seq) {
            ++s.duplicates;
        } else if (static_cast<int32_t>(seq - expect) > 0) {
            ++s.gaps;
        } else if (static_cast<int32_t>(seq - expect) < 0) {
            ++s.reorders;
        }
    }
    if (s.packets == 0 || static_cast<int32_t>(seq - s.last_sender_seq) > 0) {
        s.last_sender_seq = seq;
    }
    ++s.packets;
}

} // namespace twamp::dataplane
