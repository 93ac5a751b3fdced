// Stateful reflection (RFC 8762 §4.2, RFC 8972 §3): one table per worker (RSS keeps a flow on
// one queue, so no locks), keyed by (context, SSID, ports, addresses). The reflector's own
// sequence number per session starts at 0; idle sessions age out; a full table falls back to
// stateless reflection for the new flow.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "twamp/dataplane/control_table.hpp"
#include "twamp/dataplane/counters.hpp"
#include "twamp/dataplane/snapshot.hpp"
#include "twamp/proto/drop_reason.hpp"

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

// One session, 48 octets. Its key (ctx, ssid, ports, addresses) sits right before it in the
// table's entry (session_entry), so the context is key.ctx; whether the slot is live is the
// table's signature array (session_table::live).
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
    // Follow-Up Telemetry (RFC 8972 §4.7): the latest reply whose departure is known, its
    // Sequence Number and time (UTC ns; 0: none yet) and the Timestamping Method that gave it
    // (T3 as sent, or the device's IEEE 1588 TX timestamp when one came back for it).
    uint32_t follow_up_seq = 0;

    // The time and the method share one word: UTC ns stay below 2^62 until the year 2116, and
    // the methods (proto::ts_method) are 0-3.
    static constexpr unsigned follow_up_mode_shift = 62;
    static constexpr uint64_t follow_up_ns_mask = (uint64_t{1} << follow_up_mode_shift) - 1;
    void follow_up(uint64_t ns, uint8_t mode) noexcept {
        follow_up_ = (ns & follow_up_ns_mask) | (uint64_t{mode} << follow_up_mode_shift);
    }
    uint64_t follow_up_ns() const noexcept { return follow_up_ & follow_up_ns_mask; }
    uint8_t follow_up_mode() const noexcept {
        return static_cast<uint8_t>(follow_up_ >> follow_up_mode_shift);
    }

    uint64_t last_seen(uint64_t now_tsc) const noexcept { return last_seen_tsc.tsc(now_tsc); }
    uint64_t created(uint64_t now_tsc) const noexcept { return created_tsc.tsc(now_tsc); }

private:
    uint64_t follow_up_ = 0; // follow_up_ns | follow_up_mode << 62
};
// 40 octets before Follow-Up Telemetry (issue 14) added its 12 (then 16 with the context and
// in-use octets, which issue 15 dropped); the key is another 40.
static_assert(sizeof(session) == 48);
static_assert(alignof(session) == 8);

// A slot of the table: the key and its record together (one miss for both after the
// signature line; session_table).
struct session_entry {
    session_key key;
    session s;
};
static_assert(sizeof(session_entry) == 88);

// The session hash (issue 18): keyed and non-linear, so that colliding keys cannot be computed
// offline (CRC32C, the hash before, is linear: collisions found for one seed stay collisions
// under any). Multiply-fold (wyhash's "mum"): the key's five 8-octet words XORed with words of
// a per-process random key, multiplied in pairs to 128 bits and folded to 64 (high XOR low),
// three multiplies in a tree; the bucket (high bits of the 32-bit result) and the signature
// (its low bits) both depend on every input bit. A first version, NH (UMAC's inner hash: five
// 32x32 multiplies of key-added halves, then a mix) cost 9 instructions a stateful packet
// more (perf/RESULTS.md "Issue 18: limits").
struct keyed_hash {
    // Random once per process (getrandom(2); the session table's and the worker's source
    // table's hashes both use it): session_table::init
    // calls seed(), before any worker runs. Until then a fixed key (tests that hash before).
    static inline uint64_t key[5] = {0x9e3779b97f4a7c15ULL, 0xc2b2ae3d27d4eb4fULL,
                                     0x165667b19e3779f9ULL, 0x27d4eb2f165667c5ULL,
                                     0xff51afd7ed558ccdULL};
    static inline bool seeded = false;
    static void seed() noexcept;
    // The 128-bit product of two keyed words folded to 64 (wyhash's "mum"): non-linear in
    // both, one mulx.
    static uint64_t mum(uint64_t a, uint64_t b) noexcept {
        __extension__ using u128 = unsigned __int128;
        const u128 r = static_cast<u128>(a) * b;
        return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
    }
    static uint64_t of64(uint64_t w0, uint64_t w1, uint64_t w2, uint64_t w3, uint64_t w4) noexcept {
        return mum(mum(w0 ^ key[0], w1 ^ key[1]) ^ w4, mum(w2 ^ key[2], w3 ^ key[3]) ^ key[4]);
    }
    static uint64_t of64(uint64_t w0, uint64_t w1, uint64_t w2) noexcept {
        return mum(mum(w0 ^ key[0], w1 ^ key[1]) ^ w2, key[4]);
    }
    static uint32_t of(uint64_t w0, uint64_t w1, uint64_t w2, uint64_t w3, uint64_t w4) noexcept {
        return static_cast<uint32_t>(of64(w0, w1, w2, w3, w4) >> 32);
    }
};

// What find_or_create_bulk asks before creating key i's session (the worker's limits), only
// when the context has room for it: `check` returns none to let it be created (charging
// nothing yet), anything else refuses it (slot session_table::refused, not counted as
// table_full); `created` follows each create that succeeded (the gate charges then).
struct create_gate {
    void* self = nullptr;
    proto::drop_reason (*check)(void* self, uint32_t i) noexcept = nullptr;
    void (*created)(void* self, uint32_t i) noexcept = nullptr;
};

// A request from the slow path (telemetry) to a worker, answered by the worker a slice at a
// time so that a big table never stalls reflection. Two kinds:
//   top    its busiest max_top sessions (by packets), in `top`;
//   batch  one batch of the full listing (issue 19, dpdk-twamp-ctl sessions): the
//          `batch_size` first sessions in listing order after the cursor (`after_*`) that
//          match the filter, in `batch` (`overflow`: more come after them). The worker keeps
//          them as a max-heap while it walks; the requester sorts them (finish_batch) and
//          hands them out a telemetry page (page_max) at a time.
// Listing order: (session_table::order_of(key), key octets), a strict total order that never
// changes while a session lives (the keyed hash of its key, fixed for the process). A batch is
// chosen by one full walk of the table; a session a create's cuckoo search moves from a slot the
// walk has not reached to one it has passed is offered to the batch as it moves (session_table::
// make_room), so every session alive throughout a walk is seen by it at least once (twice is
// harmless: finish_batch keeps distinct keys). Hence a listing that follows next cursors from
// the start shows every session alive throughout the listing exactly once, in listing order;
// sessions created or aged meanwhile may or may not appear (once at most).
// The requester writes the request fields, then `state = requested` (release); the worker
// writes the answer, then `state = done` (release).
struct session_query {
    static constexpr unsigned max_top = 32;
    // Sessions a telemetry reply holds (16 KiB) with room to spare: an entry is at most ~440
    // octets of JSON plus its reflector name (two full IPv6 addresses, every counter at its
    // widest), so 24 of them stay under 12 KiB with names up to 32 characters.
    static constexpr unsigned page_max = 24;
    // Sessions one walk chooses (~96 KiB of answer per worker): a table of a million sessions
    // is listed in ~1,000 walks instead of ~42,000.
    static constexpr unsigned batch_max = 1024;
    static constexpr int idle = 0, requested = 1, scanning = 2, done = 3;
    enum class kind : uint8_t { top, batch };
    struct entry {
        session_key key;
        session s;
    };
    struct listed {
        uint64_t order; // session_table::order_of(key)
        session_key key;
        session s;
    };
    // Which sessions a batch lists (all by default).
    struct filter {
        int32_t ctx = -1;      // the reflector's context slot (-1: any)
        uint8_t src[16] = {};  // the sender's address (IPv4-mapped for IPv4) ...
        uint8_t src_bits = 0;  // ... its prefix length over the 16 octets (0: any)
        uint32_t udp_port = 0; // sender or reflector UDP port (0: any)
        uint32_t ssid = ~0u;   // the SSID (~0: any)
        bool matches(const session_key& k) const noexcept;
    };
    std::atomic<int> state{idle};
    kind what = kind::top;
    // batch: the cursor (has_after false: from the start), the filter, how many.
    bool has_after = false;
    uint64_t after_order = 0;
    session_key after_key{};
    filter where{};
    unsigned batch_size = batch_max; // 1..batch_max
    // The answer: top[0..count), or batch[0..count) (a max-heap in listing order until
    // finish_batch) and overflow.
    uint32_t iter = 0;
    unsigned count = 0;
    uint64_t scanned = 0;
    bool overflow = false; // batch: a session after the cursor was left out (the listing goes on)
    entry top[max_top];
    listed batch[batch_max];

    // batch (the worker): offers a live session (the walk, a moved entry). O(log batch_size);
    // true when it entered the batch.
    bool offer(uint64_t ord, const session_entry& e) noexcept;
    // Sessions that may enter the batch in one slice of the walk (each ~log2(batch_max) moves
    // of an entry): a slice stops early past it, bounding its heap work (the walk meets
    // sessions nearly in listing order, since a session's bucket comes from the same hash:
    // without the cap the first slices would take up to 1,024 each as a new top). A slice of a
    // full table costs ~16 us on average (perf: README "dpdk-twamp-ctl", "Paging").
    static constexpr unsigned entries_per_slice = 128;
    // batch (the requester, once `done`): sorts batch[0..count) in listing order, drops
    // repeats (an entry offered twice), returns the new count.
    unsigned finish_batch() noexcept;
};

// The table (issue 15 item 1): a bucketised cuckoo hash of our own. Each key has two candidate
// buckets of 8 ways. A separate array holds a 16-bit signature per slot (8 per bucket: 16 octets,
// 4 buckets per cache line; 0 marks an empty slot, so no in-use flag and no free-slot ring), and
// the entries array holds key + record per slot (slot = bucket * 8 + way). A lookup reads the
// signature lines of its two buckets, then the one entry whose signature matches: one miss
// for key and record together (rte_hash took three: bucket, key store, record).
//
// The hash is keyed_hash of the key's five 8-octet words (issue 18; CRC32C before); the bucket is
// fastrange(h, buckets) (the bucket count need not be a power of two), the signature the low 16
// bits of h (0 -> 1), and the alternate bucket of bucket b, (fastrange(sig * 0x9E3779B1, buckets) -
// b) mod buckets, an involution that needs neither the key nor a power-of-two count, so that an
// entry can be moved to its other bucket knowing only its slot and signature.
//
// Memory for max-sessions 1,000,000 per worker (perf/bench.py session_memory() computes the
// same): buckets = ceil(capacity / 0.95 / 8) = 131,579 (95 % load when full), 1,052,632 slots
//   signatures  1,052,632 x  2 B =  2.1 MB   ( 2.1 B/session)
//   entries     1,052,632 x 88 B = 92.6 MB   (92.6 B/session: key 40 + record 48)
//   total                          94.7 MB   (94.7 B/session)
// Any capacity: 90 B x capacity / 0.95 = 94.7 B/session, plus at most one bucket (720 B) of
// rounding. rte_hash took 142.2 B/session for the same (its buckets, 48-B key slots, free-slot
// ring and 1/8 headroom, plus our 56-B records: tests/dpdk/reference_sessions.hpp).
//
// A slot number is stable only until the next create: a new session may displace existing
// ones to their alternate buckets (a bounded cuckoo search, at most a few moves), and aging
// frees slots. find_or_create_bulk returns slots valid on return for the whole burst; whoever
// keeps a slot longer (the worker's Follow-Up reader) must check that the record is still the
// one it means (live() and the record's contents).
class session_table {
public:
    static constexpr uint32_t bulk_max = 64; // keys per pipelined stage of find_or_create_bulk
    static constexpr uint32_t ways = 8;      // slots per bucket

    bool init(unsigned worker, uint32_t capacity, std::string& error);
    session_table() = default;
    session_table(const session_table&) = delete;
    session_table& operator=(const session_table&) = delete;
    ~session_table();

    // The session's slot, creating it when new. Returns -1 when no slot is free (the caller
    // reflects statelessly); `created` tells whether it was new.
    int32_t find_or_create(const session_key& k, uint32_t max_for_ctx, uint64_t now_tsc,
                           bool& created) noexcept;

    // find_or_create for a burst: max_for_ctx[i] the limit for keys[i]'s context. slots[i] is
    // keys[i]'s slot, or -1 where the context limit or a full table refused a new session. A
    // key repeated within the burst gets the same slot each time and is created once.
    // `created` = sessions created by this call, `table_full` = keys refused (both set, not
    // added to). Existing sessions are found in a pipeline of up to bulk_max keys (all hashed
    // and their signature lines prefetched, then all signatures compared and the matching
    // entries prefetched, then all keys compared), so the misses of a burst overlap; their
    // records are in flight on return, so write them after doing other work if you can.
    // New sessions are created after all lookups, in key order; their records are in cache.
    // All slots are valid on return even when a create moved other entries. Nothing in the
    // records is written for existing sessions: the caller updates last_seen_tsc/track_sender_seq.
    void find_or_create_bulk(const session_key* const keys[], uint32_t n,
                             const uint32_t max_for_ctx[], uint64_t now_tsc, int32_t slots[],
                             uint32_t& created, uint32_t& table_full,
                             const create_gate* gate = nullptr) noexcept;
    static constexpr int32_t refused = -2; // a slot the gate refused

    // Called with each session's key as aging removes it (the worker's per-prefix counts).
    void set_remove_hook(void (*fn)(void*, const session_key&), void* self) noexcept {
        remove_hook_ = fn;
        remove_self_ = self;
    }

    // Called with each session's key, old and new slot as a create's cuckoo search moves it
    // (rare: both buckets of the new key full; the worker's sliced prefix recount).
    void set_move_hook(void (*fn)(void*, const session_key&, uint32_t, uint32_t),
                       void* self) noexcept {
        move_hook_ = fn;
        move_self_ = self;
    }

    // The session's slot, or -1 (no create).
    int32_t find(const session_key& k) const noexcept;

    session& at(int32_t slot) noexcept { return entries_[slot].s; }
    const session& at(int32_t slot) const noexcept { return entries_[slot].s; }
    const session_key& key_at(int32_t slot) const noexcept { return entries_[slot].key; }
    // The slot holds a session (any: a slot kept across creates may hold another by now).
    bool live(int32_t slot) const noexcept { return sigs_[slot] != 0; }

    // Walks at most `budget` slots (live or not) from where the last call stopped, wrapping,
    // and removes the sessions idle for longer than their context's inactivity timeout or
    // whose context is gone; returns how many were removed. The cost per call is bounded by
    // `budget` however sparse the table (the signatures are read in order, the entries only
    // of live slots); a full pass takes slots() / budget calls, which must stay well inside
    // the 2^51-cycle wrap of last_seen. With `control` (the workers' current table), records of
    // the TWAMP-Control context `control_ctx` also end as soon as their control session has
    // ended (control_table::holds). An entry displaced by a create during a pass may be
    // walked twice or not at all in that pass (the next pass sees it).
    uint32_t age(const snapshot& snap, uint64_t now_tsc, uint32_t budget,
                 const control_table* control = nullptr, uint16_t control_ctx = 0) noexcept;

    // One slice of a session_query (at most `budget` slots); true when complete. A top query:
    // like aging, a session displaced between slices may be missed or seen twice. A page query
    // (q.what == page): from its first slice to its last, the table offers every entry a
    // create moves across the walk's position to the page (session_query's guarantee); the
    // caller runs one query at a time to completion (or cancel_scan()).
    bool scan(session_query& q, uint32_t budget) noexcept;
    // Forgets a page query in progress (its requester gave up).
    void cancel_scan() noexcept { paging_ = nullptr; }

    // A session's place in the page listing (session_query): the keyed hash of its key, 64
    // bits, fixed for the process.
    static uint64_t order_of(const session_key& k) noexcept;

    uint32_t active() const noexcept { return active_; }
    uint32_t active_in(uint16_t ctx) const noexcept {
        return ctx < max_contexts ? per_ctx_[ctx] : 0;
    }
    uint32_t capacity() const noexcept { return capacity_; }
    // Slots (buckets x ways): what one full aging pass walks.
    uint32_t slots() const noexcept { return slots_; }
    uint32_t buckets() const noexcept { return buckets_; }
    // Bytes allocated (signatures + entries).
    uint64_t memory_bytes() const noexcept {
        return uint64_t{slots_} * (sizeof(uint16_t) + sizeof(session_entry));
    }
    // Entries moved by cuckoo displacement since init (for tests and benchmarks).
    uint64_t displaced() const noexcept { return displaced_; }

    // The hash and where it puts a key (public for tests that force collisions).
    static uint32_t hash_of(const session_key& k) noexcept;
    static uint16_t signature_of(uint32_t h) noexcept {
        const auto s = static_cast<uint16_t>(h);
        return s != 0 ? s : uint16_t{1};
    }
    uint32_t bucket_of(uint32_t h) const noexcept {
        return static_cast<uint32_t>((uint64_t{h} * buckets_) >> 32);
    }
    uint32_t alt_bucket(uint32_t b, uint16_t sig) const noexcept {
        const uint32_t t = static_cast<uint32_t>(
                (uint64_t{static_cast<uint32_t>(sig * 0x9E3779B1u)} * buckets_) >> 32);
        return t >= b ? t - b : t + buckets_ - b;
    }

private:
    int32_t find_in(uint32_t bucket, uint16_t sig, const session_key& k) const noexcept;
    int32_t find_hashed(const session_key& k, uint32_t h) const noexcept;
    int32_t insert(const session_key& k, uint32_t h, uint64_t now_tsc, bool& moved) noexcept;
    int32_t make_room(uint32_t b1, uint32_t b2) noexcept;
    void remove(uint32_t slot) noexcept;

    uint16_t* sigs_ = nullptr;
    session_entry* entries_ = nullptr;
    uint32_t buckets_ = 0;
    uint32_t capacity_ = 0;
    uint32_t slots_ = 0;
    uint32_t active_ = 0;
    uint32_t iter_ = 0;
    uint64_t displaced_ = 0;
    uint32_t per_ctx_[max_contexts] = {};
    void (*remove_hook_)(void*, const session_key&) = nullptr;
    void* remove_self_ = nullptr;
    void (*move_hook_)(void*, const session_key&, uint32_t, uint32_t) = nullptr;
    void* move_self_ = nullptr;
    session_query* paging_ = nullptr; // a page query being walked (scan), null: none
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
