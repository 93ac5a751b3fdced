#include "twamp/dataplane/sessions.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <sys/random.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_random.h>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace twamp::dataplane {

namespace {

static_assert(session_table::ways == 8, "one 16-octet signature vector per bucket");

// The ways of a bucket whose signature is `sig` (0: the empty ways), one bit per way.
__rte_always_inline uint32_t match(const uint16_t* bucket_sigs, uint16_t sig) noexcept {
#if defined(__SSE2__)
    const __m128i v = _mm_load_si128(reinterpret_cast<const __m128i*>(bucket_sigs));
    const __m128i eq = _mm_cmpeq_epi16(v, _mm_set1_epi16(static_cast<short>(sig)));
    return static_cast<uint32_t>(_mm_movemask_epi8(_mm_packs_epi16(eq, _mm_setzero_si128())));
#else
    uint32_t m = 0;
    for (uint32_t w = 0; w < session_table::ways; ++w) {
        m |= uint32_t{bucket_sigs[w] == sig} << w;
    }
    return m;
#endif
}

// Word i (0-4) of a key, loaded straight into a register (no copy through the stack).
__rte_always_inline uint64_t word(const session_key& k, unsigned i) noexcept {
    uint64_t w;
    std::memcpy(&w, reinterpret_cast<const unsigned char*>(&k) + 8 * i, 8);
    return w;
}

// Five 8-octet words, XORed and ORed: no memcmp call, no early exit to mispredict.
__rte_always_inline bool same_key(const session_key& a, const session_key& b) noexcept {
    return ((word(a, 0) ^ word(b, 0)) | (word(a, 1) ^ word(b, 1)) | (word(a, 2) ^ word(b, 2)) |
            (word(a, 3) ^ word(b, 3)) | (word(a, 4) ^ word(b, 4))) == 0;
}

// An entry is 88 octets: depending on where it starts it touches two or three cache lines.
// Probes 43-44 octets apart touch every one of them.
__rte_always_inline void prefetch_entry(const session_entry* e) noexcept {
    const char* p = reinterpret_cast<const char*>(e);
    rte_prefetch0(p);
    rte_prefetch0(p + sizeof(session_entry) / 2);
    rte_prefetch0(p + sizeof(session_entry) - 1);
}

__rte_always_inline uint32_t hash_key(const session_key& k) noexcept {
    return keyed_hash::of(word(k, 0), word(k, 1), word(k, 2), word(k, 3), word(k, 4));
}

// The slot of key `k` among bucket `b`'s ways whose signature matched (`mask`), or -1.
__rte_always_inline int32_t find_among(const session_entry* entries, uint32_t b, uint32_t mask,
                                       const session_key& k) noexcept {
    for (; mask != 0; mask &= mask - 1) {
        const uint32_t slot = b * session_table::ways + static_cast<uint32_t>(__builtin_ctz(mask));
        if (same_key(entries[slot].key, k)) {
            return static_cast<int32_t>(slot);
        }
    }
    return -1;
}

} // namespace

uint32_t session_table::hash_of(const session_key& k) noexcept {
    return hash_key(k);
}

void keyed_hash::seed() noexcept {
    if (seeded) {
        return;
    }
    // getrandom(2) (the kernel's CSPRNG; the control server's nonces use it too): rte_rand is
    // seeded from rdseed, or from the TSC on a CPU without it, which a sender could guess.
    uint8_t buf[sizeof(key)] = {}; // a short read leaves zeros, never indeterminate octets
    std::size_t done = 0;
    while (done < sizeof(buf)) {
        const ssize_t n = getrandom(buf + done, sizeof(buf) - done, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    std::memcpy(key, buf, sizeof(key));
    if (done < sizeof(buf)) { // no getrandom (seccomp, old kernel): the EAL's generator
        for (auto& w : key) {
            w ^= rte_rand();
        }
    }
    seeded = true;
}

bool session_table::init(unsigned worker, uint32_t capacity, std::string& error) {
    (void)worker;       // rte_zmalloc needs no unique name
    keyed_hash::seed(); // once per process, before any worker runs
    capacity_ = capacity;
    if (capacity == 0) {
        return true;
    }
    // 95 % of the slots when the table holds `capacity` sessions: with 8-way buckets and two
    // choices a bounded cuckoo search still finds room there (tested to capacity), and the
    // per-context limits, not the table, are what stops growth.
    uint64_t nb = (uint64_t{capacity} * 20 + 19 * ways - 1) / (19 * ways);
    if (nb < 2) {
        nb = 2;
    }
    if (nb * ways > uint64_t{INT32_MAX}) {
        error = "session table: " + std::to_string(capacity) + " sessions is too many";
        return false;
    }
    buckets_ = static_cast<uint32_t>(nb);
    slots_ = static_cast<uint32_t>(nb * ways);
    // Both from the EAL heap (hugepages when there are any), zeroed: every signature 0, empty.
    sigs_ = static_cast<uint16_t*>(
            rte_zmalloc("session_sigs", sizeof(uint16_t) * slots_, RTE_CACHE_LINE_SIZE));
    entries_ = static_cast<session_entry*>(
            rte_zmalloc("sessions", sizeof(session_entry) * slots_, RTE_CACHE_LINE_SIZE));
    if (!sigs_ || !entries_) {
        rte_free(sigs_);
        rte_free(entries_);
        sigs_ = nullptr;
        entries_ = nullptr;
        error = "session table: out of memory for " + std::to_string(slots_) + " sessions";
        return false;
    }
    return true;
}

session_table::~session_table() {
    rte_free(sigs_);
    rte_free(entries_);
}

int32_t session_table::find_in(uint32_t bucket, uint16_t sig, const session_key& k) const noexcept {
    return find_among(entries_, bucket, match(sigs_ + bucket * ways, sig), k);
}

int32_t session_table::find_hashed(const session_key& k, uint32_t h) const noexcept {
    const uint16_t sig = signature_of(h);
    const uint32_t b1 = bucket_of(h);
    const int32_t slot = find_in(b1, sig, k);
    return slot >= 0 ? slot : find_in(alt_bucket(b1, sig), sig, k);
}

int32_t session_table::find(const session_key& k) const noexcept {
    return sigs_ ? find_hashed(k, hash_key(k)) : -1;
}

// Room in bucket b1 or b2 (both full) by moving entries to their alternate buckets: a
// breadth-first search over the entries reachable from b1 and b2, at most max_nodes buckets
// (so a few moves at most: the path is as short as the search could find), no bucket twice on
// one path. Returns the freed slot (in b1 or b2), or -1 with nothing moved. The bound is what a
// refused create costs when the table is full (64 buckets expanded, 512 signature lines
// read); filling to capacity (95 %) never needed more than 16 (perf/session_bench fills
// 1,000,000 with 16 as with 256: the same 74,295 entries moved).
int32_t session_table::make_room(uint32_t b1, uint32_t b2) noexcept {
    constexpr int max_nodes = 64;
    struct node {
        uint32_t bucket;
        int16_t parent; // -1: b1 or b2
        uint8_t way;    // the way of the parent's bucket whose entry would move here
    };
    node q[max_nodes];
    int tail = 0;
    q[tail++] = {b1, -1, 0};
    if (b2 != b1) {
        q[tail++] = {b2, -1, 0};
    }
    for (int head = 0; head < tail; ++head) {
        const uint32_t b = q[head].bucket;
        for (uint32_t w = 0; w < ways; ++w) {
            const uint32_t slot = b * ways + w;
            const uint32_t alt = alt_bucket(b, sigs_[slot]);
            bool on_path = alt == b;
            for (int j = head; !on_path && j >= 0; j = q[j].parent) {
                on_path = q[j].bucket == alt;
            }
            if (on_path) {
                continue;
            }
            const uint32_t empty = match(sigs_ + alt * ways, 0);
            if (empty == 0) {
                if (tail < max_nodes) {
                    q[tail++] = {alt, static_cast<int16_t>(head), static_cast<uint8_t>(w)};
                }
                continue;
            }
            // Found: move this entry to the empty way, then each entry up the path into the
            // slot its child vacated, ending with a free slot in b1 or b2.
            uint32_t to = alt * ways + static_cast<uint32_t>(__builtin_ctz(empty));
            uint32_t from = slot;
            for (int j = head;; j = q[j].parent) {
                sigs_[to] = sigs_[from];
                entries_[to] = entries_[from];
                sigs_[from] = 0;
                ++displaced_;
                // A page walk in progress sees an entry moved behind its position now.
                if (paging_ && from >= paging_->iter && to < paging_->iter) {
                    if (paging_->where.matches(entries_[to].key)) { // before the hash
                        paging_->offer(order_of(entries_[to].key), entries_[to]);
                    }
                }
                if (move_hook_) {
                    move_hook_(move_self_, entries_[to].key, from, to);
                }
                to = from;
                if (q[j].parent < 0) {
                    break;
                }
                from = q[q[j].parent].bucket * ways + q[j].way;
            }
            return static_cast<int32_t>(to);
        }
    }
    return -1;
}

// A new session for a key the caller found missing; the caller checked the context and its
// limit. `moved` is set when other entries were displaced to make room.
int32_t session_table::insert(const session_key& k, uint32_t h, uint64_t now_tsc,
                              bool& moved) noexcept {
    if (unlikely(active_ >= slots_)) {
        return -1; // no search can find room
    }
    const uint16_t sig = signature_of(h);
    const uint32_t b1 = bucket_of(h);
    int32_t slot = -1;
    if (uint32_t e = match(sigs_ + b1 * ways, 0); e != 0) {
        slot = static_cast<int32_t>(b1 * ways + static_cast<uint32_t>(__builtin_ctz(e)));
    } else {
        const uint32_t b2 = alt_bucket(b1, sig);
        if (uint32_t e2 = match(sigs_ + b2 * ways, 0); e2 != 0) {
            slot = static_cast<int32_t>(b2 * ways + static_cast<uint32_t>(__builtin_ctz(e2)));
        } else {
            const uint64_t before = displaced_;
            slot = make_room(b1, b2);
            if (slot < 0) {
                return -1;
            }
            moved |= displaced_ != before;
        }
    }
    sigs_[slot] = sig;
    session_entry& e = entries_[slot];
    e.key = k;
    e.s = session{};
    e.s.created_tsc = now_tsc;
    e.s.last_seen_tsc = now_tsc;
    ++per_ctx_[k.ctx];
    ++active_;
    return slot;
}

int32_t session_table::find_or_create(const session_key& k, uint32_t max_for_ctx, uint64_t now_tsc,
                                      bool& created) noexcept {
    created = false;
    if (!sigs_) {
        return -1;
    }
    const uint32_t h = hash_key(k);
    int32_t slot = find_hashed(k, h);
    if (slot >= 0) {
        return slot;
    }
    if (k.ctx >= max_contexts || per_ctx_[k.ctx] >= max_for_ctx) {
        return -1;
    }
    bool moved = false;
    slot = insert(k, h, now_tsc, moved);
    created = slot >= 0;
    return slot;
}

void session_table::find_or_create_bulk(const session_key* const keys[], uint32_t n,
                                        const uint32_t max_for_ctx[], uint64_t now_tsc,
                                        int32_t slots[], uint32_t& created, uint32_t& table_full,
                                        const create_gate* gate) noexcept {
    created = 0;
    table_full = 0;
    if (!sigs_) {
        for (uint32_t i = 0; i < n; ++i) {
            slots[i] = -1;
        }
        table_full = n;
        return;
    }
    bool moved = false;
    for (uint32_t base = 0; base < n; base += bulk_max) {
        const uint32_t m = n - base < bulk_max ? n - base : bulk_max;
        const session_key* const* ks = keys + base;
        int32_t* out = slots + base;
        uint32_t hs[bulk_max];
        uint32_t b1[bulk_max];
        uint32_t b2[bulk_max];
        // Stage 1: hash every key, prefetch the signature lines of both its buckets.
        for (uint32_t i = 0; i < m; ++i) {
            const uint32_t h = hash_key(*ks[i]);
            hs[i] = h;
            b1[i] = bucket_of(h);
            b2[i] = alt_bucket(b1[i], signature_of(h));
            rte_prefetch0(sigs_ + b1[i] * ways);
            rte_prefetch0(sigs_ + b2[i] * ways);
        }
        // Stage 2: compare signatures (the alternate bucket only when the primary has no
        // match) and prefetch the matching entries (almost always one: a false match is 1 in
        // 65,535 per way).
        uint32_t cand[bulk_max]; // the bucket whose matches stage 3 compares
        uint32_t masks[bulk_max];
        for (uint32_t i = 0; i < m; ++i) {
            const uint16_t sig = signature_of(hs[i]);
            uint32_t mk = match(sigs_ + b1[i] * ways, sig);
            uint32_t b = b1[i];
            if (mk == 0) {
                b = b2[i];
                mk = match(sigs_ + b * ways, sig);
            }
            cand[i] = b;
            masks[i] = mk;
            uint32_t x = mk;
            if (mk == 0) {
                // Most likely a new session: the way it will take in its primary bucket, if
                // there is room there (the create writes key and record after all lookups).
                const uint32_t empty = match(sigs_ + b1[i] * ways, 0);
                x = empty & (0u - empty); // the lowest empty way, as insert() takes it
                b = b1[i];
            }
            for (; x != 0; x &= x - 1) {
                prefetch_entry(&entries_[b * ways + static_cast<uint32_t>(__builtin_ctz(x))]);
            }
        }
        // Stage 3: compare the keys. (A false signature match in the primary bucket costs
        // an unprefetched look at the alternate one.)
        for (uint32_t i = 0; i < m; ++i) {
            int32_t slot = find_among(entries_, cand[i], masks[i], *ks[i]);
            if (unlikely(slot < 0) && cand[i] == b1[i] && b2[i] != b1[i]) {
                slot = find_in(b2[i], signature_of(hs[i]), *ks[i]);
            }
            out[i] = slot;
        }
        // Then the new sessions, in key order.
        for (uint32_t i = 0; i < m; ++i) {
            if (out[i] >= 0) {
                continue;
            }
            const session_key& k = *ks[i];
            int32_t slot = -1;
            if (k.ctx < max_contexts) {
                if (created != 0) {
                    // The session may be one this call created (a key repeated in the burst).
                    // When nothing was created the lookup's miss stands: a flood of new flows
                    // into a full context costs no second lookup.
                    slot = find_hashed(k, hs[i]);
                }
                if (slot < 0 && per_ctx_[k.ctx] < max_for_ctx[base + i]) {
                    // The gate only where a session would be created: a flow past the
                    // context's share is over capacity, not charged to a limit.
                    if (gate && gate->check(gate->self, base + i) != proto::drop_reason::none) {
                        out[i] = refused; // the gate's: not counted here
                        continue;
                    }
                    slot = insert(k, hs[i], now_tsc, moved);
                    created += slot >= 0;
                    if (gate && slot >= 0) {
                        gate->created(gate->self, base + i);
                    }
                }
            }
            if (slot < 0) {
                ++table_full;
            }
            out[i] = slot;
        }
    }
    if (moved) {
        // A create displaced entries: slots found or created earlier in this call may have
        // moved. Rare (only when both buckets of a new key are full): look them up again.
        for (uint32_t i = 0; i < n; ++i) {
            if (slots[i] >= 0) {
                slots[i] = find(*keys[i]);
            }
        }
    }
}

void session_table::remove(uint32_t slot) noexcept {
    const uint16_t ctx = entries_[slot].key.ctx;
    if (remove_hook_) {
        remove_hook_(remove_self_, entries_[slot].key);
    }
    if (ctx < max_contexts && per_ctx_[ctx]) {
        --per_ctx_[ctx];
    }
    sigs_[slot] = 0;
    --active_;
}

uint32_t session_table::age(const snapshot& snap, uint64_t now_tsc, uint32_t budget,
                            const control_table* control, uint16_t control_ctx) noexcept {
    if (!sigs_ || active_ == 0) {
        return 0;
    }
    const auto& ctxs = snap.contexts();
    uint32_t removed = 0;
    if (budget > slots_) {
        budget = slots_;
    }
    // Slots, not sessions: the walk costs the same however sparse the table, and the
    // signatures and entries are read in address order (the hardware prefetcher follows).
    uint32_t i = iter_;
    for (uint32_t n = 0; n < budget; ++n, ++i) {
        if (i >= slots_) {
            i = 0;
        }
        if (sigs_[i] == 0) {
            continue;
        }
        const session_entry& e = entries_[i];
        const uint16_t ctx = e.key.ctx;
        // A session whose context is gone (reload) ends at once. Otherwise: idle for more
        // than the timeout in whole units, rounded up, so never early and at most two units
        // (~0.7 ms) late.
        bool expired = ctx >= ctxs.size() || !ctxs[ctx].active;
        if (!expired) {
            using stamp = decltype(session::last_seen_tsc);
            const auto limit = static_cast<int32_t>(stamp::ceil_units(ctxs[ctx].inactivity_tsc));
            expired = e.s.last_seen_tsc.units_before(now_tsc) > limit;
        }
        if (!expired && control != nullptr && ctx == control_ctx) {
            // A TWAMP-Control session's record lives as long as the session (issue 12 item 8).
            const session_key& k = e.key;
            expired = !control->holds(k.ssid, k.src, k.src_port, k.dst, k.dst_port);
        }
        if (expired) {
            remove(i);
            ++removed;
        }
    }
    iter_ = i >= slots_ ? 0 : i;
    return removed;
}

uint64_t session_table::order_of(const session_key& k) noexcept {
    return keyed_hash::of64(word(k, 0), word(k, 1), word(k, 2), word(k, 3), word(k, 4));
}

bool session_query::filter::matches(const session_key& k) const noexcept {
    if (ctx >= 0 && k.ctx != ctx) {
        return false;
    }
    if (ssid != ~0u && k.ssid != ssid) {
        return false;
    }
    if (udp_port != 0 && k.src_port != udp_port && k.dst_port != udp_port) {
        return false;
    }
    const unsigned bits = src_bits > 128 ? 128 : src_bits;
    const unsigned whole = bits / 8, rest = bits % 8;
    if (std::memcmp(k.src, src, whole) != 0) {
        return false;
    }
    if (rest != 0) {
        const auto mask = static_cast<uint8_t>(0xff00u >> rest);
        if ((k.src[whole] ^ src[whole]) & mask) {
            return false;
        }
    }
    return true;
}

namespace {
// (a_order, a) against (b_order, b) in listing order: < 0, 0 (equal), > 0.
int listing_cmp(uint64_t ao, const session_key& a, uint64_t bo, const session_key& b) noexcept {
    if (ao != bo) {
        return ao < bo ? -1 : 1;
    }
    return std::memcmp(&a, &b, sizeof(session_key));
}
bool listed_less(const session_query::listed& a, const session_query::listed& b) noexcept {
    return listing_cmp(a.order, a.key, b.order, b.key) < 0;
}
} // namespace

bool session_query::offer(uint64_t ord, const session_entry& e) noexcept {
    if (!where.matches(e.key)) {
        return false;
    }
    if (has_after && listing_cmp(ord, e.key, after_order, after_key) <= 0) {
        return false;
    }
    const unsigned cap = batch_size == 0 || batch_size > batch_max ? batch_max : batch_size;
    // A max-heap of the first `cap` (the last of them on top): in, or in place of the top.
    if (count < cap) {
        batch[count] = {ord, e.key, e.s};
        ++count;
        std::push_heap(batch, batch + count, listed_less);
        return true;
    }
    overflow = true;
    if (listing_cmp(ord, e.key, batch[0].order, batch[0].key) >= 0) {
        return false;
    }
    std::pop_heap(batch, batch + count, listed_less);
    batch[count - 1] = {ord, e.key, e.s};
    std::push_heap(batch, batch + count, listed_less);
    return true;
}

unsigned session_query::finish_batch() noexcept {
    std::sort_heap(batch, batch + count, listed_less);
    auto* end = std::unique(batch, batch + count, [](const listed& a, const listed& b) {
        return listing_cmp(a.order, a.key, b.order, b.key) == 0;
    });
    count = static_cast<unsigned>(end - batch);
    return count;
}

bool session_table::scan(session_query& q, uint32_t budget) noexcept {
    if (!sigs_) {
        return true;
    }
    if (q.what == session_query::kind::batch) {
        paging_ = &q;
        unsigned entered = 0;
        for (uint32_t n = 0;
             n < budget && q.iter < slots_ && entered < session_query::entries_per_slice;
             ++n, ++q.iter) {
            if (sigs_[q.iter] != 0) {
                ++q.scanned;
                const session_entry& e = entries_[q.iter];
                // The filter first: a few compares, where order_of is a keyed hash.
                if (q.where.matches(e.key)) {
                    entered += q.offer(order_of(e.key), e);
                }
            }
        }
        if (q.iter >= slots_) {
            paging_ = nullptr;
            return true;
        }
        return false;
    }
    for (uint32_t n = 0; n < budget; ++n, ++q.iter) {
        if (q.iter >= slots_) {
            return true;
        }
        if (sigs_[q.iter] == 0) {
            continue;
        }
        const session_entry& e = entries_[q.iter];
        ++q.scanned;
        // Keep the top max_top by packets: insertion into a small sorted array.
        unsigned pos = q.count;
        while (pos > 0 && q.top[pos - 1].s.packets < e.s.packets) {
            --pos;
        }
        if (pos >= session_query::max_top) {
            continue;
        }
        unsigned last = q.count < session_query::max_top ? q.count : session_query::max_top - 1;
        for (unsigned k = last; k > pos; --k) {
            q.top[k] = q.top[k - 1];
        }
        q.top[pos].key = e.key;
        q.top[pos].s = e.s;
        if (q.count < session_query::max_top) {
            ++q.count;
        }
    }
    return q.iter >= slots_;
}

} // namespace twamp::dataplane
