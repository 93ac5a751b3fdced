// Stateful reflection (RFC 8762 §4.2, RFC 8972 §3): one table per worker (RSS keeps a flow on
// one queue, so no locks), keyed by (context, SSID, ports, addresses). The reflector's own
// sequence number per session starts at 0; idle sessions age out; a full table falls back to
// stateless reflection for the new flow.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <rte_hash.h>

#include "counters.hpp"
#include "snapshot.hpp"

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

struct session {
    uint32_t next_seq = 0; // the reflector's Sequence Number for the next reply
    uint32_t last_sender_seq = 0;
    uint64_t last_seen_tsc = 0;
    uint64_t created_tsc = 0;
    uint64_t packets = 0;
    uint32_t gaps = 0; // sender sequence jumped forward (lost on the forward path)
    uint32_t duplicates = 0;
    uint32_t reorders = 0; // sender sequence went backwards
    uint16_t ctx = 0;
    uint16_t pad = 0;
};
static_assert(sizeof(session) <= 64);

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

class session_table {
public:
    bool init(unsigned worker, uint32_t capacity, std::string& error);
    ~session_table();

    // The session's slot, creating it when new. Returns -1 when no slot is free (the caller
    // reflects statelessly); `created` tells whether it was new.
    int32_t find_or_create(const session_key& k, uint32_t max_for_ctx, uint64_t now_tsc,
                           bool& created) noexcept;
    session& at(int32_t slot) noexcept { return entries_[slot]; }

    // Ages at most `budget` entries; returns how many were removed.
    uint32_t age(const snapshot& snap, uint64_t now_tsc, uint32_t budget) noexcept;

    // One slice of a session_query; true when the scan is complete.
    bool scan(session_query& q, uint32_t budget) noexcept;

    uint32_t active() const noexcept { return active_; }
    uint32_t active_in(uint16_t ctx) const noexcept {
        return ctx < max_contexts ? per_ctx_[ctx] : 0;
    }
    uint32_t capacity() const noexcept { return capacity_; }
    rte_hash* hash() const noexcept { return hash_; }

private:
    rte_hash* hash_ = nullptr;
    session* entries_ = nullptr;
    uint32_t capacity_ = 0;
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
