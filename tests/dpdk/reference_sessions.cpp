// The former session_table (src/dataplane/sessions.cpp before issue 15), as a reference.
#include "reference_sessions.hpp"

#include <cstdio>
#include <cstring>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

namespace twamp::testref {

using dataplane::max_contexts;

namespace {

// A 40-octet record straddles two cache lines at half of the slots: fetch both.
inline void prefetch_record(const reference_record* s) noexcept {
    const char* p = reinterpret_cast<const char*>(s);
    rte_prefetch0(p);
    rte_prefetch0(p + sizeof(reference_record) - 1);
}

} // namespace

bool reference_session_table::init(unsigned worker, uint32_t capacity, std::string& error) {
    capacity_ = capacity;
    if (capacity == 0) {
        return true;
    }
    char name[RTE_HASH_NAMESIZE];
    std::snprintf(name, sizeof name, "refsess_w%u", worker);
    rte_hash_parameters hp{};
    hp.name = name;
    // rte_hash (cuckoo, 8-way buckets) may refuse an insert somewhat before it is full: 1/8
    // headroom keeps the bucket load at most 8/9 so the per-context limits are what stops
    // growth (the memory this costs: sessions.hpp).
    hp.entries = capacity + capacity / 8 + 8;
    hp.key_len = sizeof(session_key);
    hp.hash_func = rte_hash_crc;
    hp.socket_id = SOCKET_ID_ANY;
    hash_ = rte_hash_create(&hp);
    if (!hash_) {
        error = std::string("session table: rte_hash_create: ") + rte_strerror(rte_errno);
        return false;
    }
    // No custom key compare (rte_hash_set_cmp_func): rte_hash has no vector compare for 40
    // octets and calls libc memcmp, but an inline 5 x 8-octet compare measured the same (within
    // noise, in cache and at 1,000,000 sessions): the compare is not where the time goes.
    // rte_hash positions run from 0 to entries - 1.
    slots_ = hp.entries;
    entries_ = static_cast<reference_record*>(rte_zmalloc(
            "ref_sessions", sizeof(reference_record) * (hp.entries + 1), RTE_CACHE_LINE_SIZE));
    if (!entries_) {
        error = "session table: out of memory for " + std::to_string(hp.entries) + " sessions";
        return false;
    }
    return true;
}

reference_session_table::~reference_session_table() {
    if (hash_) {
        rte_hash_free(hash_);
    }
    rte_free(entries_);
}

// A new session for a key the caller found missing; the caller checked the context and its
// limit. rte_hash_add_key returns the existing position when the key is already in the table
// (added earlier in the same burst), so `in_use` tells a new slot from an old one.
int32_t reference_session_table::create(const session_key& k, uint64_t now_tsc,
                                        bool& created) noexcept {
    created = false;
    int32_t slot = rte_hash_add_key(hash_, &k);
    if (slot < 0) {
        return -1; // no free key slot, or the cuckoo displacement failed
    }
    reference_record& r = entries_[slot];
    if (r.in_use) {
        return slot;
    }
    r = reference_record{};
    r.ctx = k.ctx;
    r.in_use = 1;
    r.s.created_tsc = now_tsc;
    r.s.last_seen_tsc = now_tsc;
    ++per_ctx_[k.ctx];
    ++active_;
    created = true;
    return slot;
}

int32_t reference_session_table::find_or_create(const session_key& k, uint32_t max_for_ctx,
                                                uint64_t now_tsc, bool& created) noexcept {
    created = false;
    if (!hash_) {
        return -1;
    }
    int32_t slot = rte_hash_lookup(hash_, &k);
    if (slot >= 0) {
        return slot;
    }
    if (k.ctx >= max_contexts || per_ctx_[k.ctx] >= max_for_ctx) {
        return -1;
    }
    return create(k, now_tsc, created);
}

void reference_session_table::find_or_create_bulk(const session_key* const keys[], uint32_t n,
                                                  const uint32_t max_for_ctx[], uint64_t now_tsc,
                                                  int32_t slots[], uint32_t& created,
                                                  uint32_t& table_full) noexcept {
    created = 0;
    table_full = 0;
    if (!hash_) {
        for (uint32_t i = 0; i < n; ++i) {
            slots[i] = -1;
        }
        table_full = n;
        return;
    }
    // More than bulk_max keys: in chunks (the API promises n <= bulk_max, but be safe).
    for (uint32_t base = 0; base < n; base += bulk_max) {
        const uint32_t m = n - base < bulk_max ? n - base : bulk_max;
        const void* kp[bulk_max];
        for (uint32_t i = 0; i < m; ++i) {
            kp[i] = keys[base + i];
        }
        int32_t* out = slots + base;
        // Pipelined: the buckets of all m keys are prefetched, then their key slots, before
        // any compare, so the cache misses overlap instead of following each other.
        rte_hash_lookup_bulk(hash_, kp, m, out);
        for (uint32_t i = 0; i < m; ++i) {
            if (out[i] >= 0) {
                prefetch_record(&entries_[out[i]]);
            }
        }
        for (uint32_t i = 0; i < m; ++i) {
            if (out[i] >= 0) {
                continue;
            }
            const session_key& k = *keys[base + i];
            int32_t slot = -1;
            if (k.ctx < max_contexts) {
                if (per_ctx_[k.ctx] < max_for_ctx[base + i]) {
                    bool fresh = false;
                    slot = create(k, now_tsc, fresh);
                    created += fresh;
                } else if (created != 0) {
                    // At the limit, but the session may be one this burst created. When
                    // nothing was created the bulk lookup's miss stands: a flood of new flows
                    // into a full context costs no second lookup.
                    slot = rte_hash_lookup(hash_, &k);
                }
            }
            if (slot < 0) {
                out[i] = -1;
                ++table_full;
            } else {
                out[i] = slot;
            }
        }
    }
}

void reference_session_table::remove(uint32_t slot) noexcept {
    void* key = nullptr;
    if (rte_hash_get_key_with_position(hash_, static_cast<int32_t>(slot), &key) != 0) {
        return;
    }
    session_key k;
    std::memcpy(&k, key, sizeof k);
    if (rte_hash_del_key(hash_, &k) < 0) {
        return;
    }
    reference_record& s = entries_[slot];
    if (s.ctx < max_contexts && per_ctx_[s.ctx]) {
        --per_ctx_[s.ctx];
    }
    s.in_use = 0;
    --active_;
}

uint32_t reference_session_table::age(const snapshot& snap, uint64_t now_tsc, uint32_t budget,
                                      const control_table* control, uint16_t control_ctx) noexcept {
    if (!hash_ || active_ == 0) {
        return 0;
    }
    const auto& ctxs = snap.contexts();
    uint32_t removed = 0;
    if (budget > slots_) {
        budget = slots_;
    }
    // Slots, not entries: the walk costs the same however sparse the table, and the records
    // are read in address order (the hardware prefetcher follows).
    uint32_t i = iter_;
    for (uint32_t n = 0; n < budget; ++n, ++i) {
        if (i >= slots_) {
            i = 0;
        }
        const reference_record& s = entries_[i];
        if (!s.in_use) {
            continue;
        }
        // A session whose context is gone (reload) ends at once. Otherwise: idle for more
        // than the timeout in whole units, rounded up, so never early and at most two units
        // (~0.7 ms) late.
        bool expired = s.ctx >= ctxs.size() || !ctxs[s.ctx].active;
        if (!expired) {
            using stamp = decltype(session::last_seen_tsc);
            const auto limit = static_cast<int32_t>(stamp::ceil_units(ctxs[s.ctx].inactivity_tsc));
            expired = s.s.last_seen_tsc.units_before(now_tsc) > limit;
        }
        if (!expired && control != nullptr && s.ctx == control_ctx) {
            // A TWAMP-Control session's record lives as long as the session (issue 12 item 8).
            void* key = nullptr;
            if (rte_hash_get_key_with_position(hash_, static_cast<int32_t>(i), &key) == 0) {
                const auto* k = static_cast<const session_key*>(key);
                expired = !control->holds(k->ssid, k->src, k->src_port, k->dst, k->dst_port);
            }
        }
        if (expired) {
            uint32_t before = active_;
            remove(i);
            removed += before - active_;
        }
    }
    iter_ = i >= slots_ ? 0 : i;
    return removed;
}

bool reference_session_table::scan(session_query& q, uint32_t budget) noexcept {
    if (!hash_) {
        return true;
    }
    for (uint32_t n = 0; n < budget; ++n, ++q.iter) {
        if (q.iter >= slots_) {
            return true;
        }
        const session& s = entries_[q.iter].s;
        if (!entries_[q.iter].in_use) {
            continue;
        }
        ++q.scanned;
        // Keep the top max_top by packets: insertion into a small sorted array.
        unsigned pos = q.count;
        while (pos > 0 && q.top[pos - 1].s.packets < s.packets) {
            --pos;
        }
        if (pos >= session_query::max_top) {
            continue;
        }
        void* key = nullptr;
        if (rte_hash_get_key_with_position(hash_, static_cast<int32_t>(q.iter), &key) != 0) {
            continue;
        }
        unsigned last = q.count < session_query::max_top ? q.count : session_query::max_top - 1;
        for (unsigned k = last; k > pos; --k) {
            q.top[k] = q.top[k - 1];
        }
        std::memcpy(&q.top[pos].key, key, sizeof(session_key));
        q.top[pos].s = s;
        if (q.count < session_query::max_top) {
            ++q.count;
        }
    }
    return q.iter >= slots_;
}

} // namespace twamp::testref

namespace twamp::testref {

uint64_t reference_session_table::memory_bytes() const noexcept {
    if (!hash_) {
        return 0;
    }
    const uint64_t e = slots_; // rte_hash entries
    const uint64_t buckets = rte_align32pow2(static_cast<uint32_t>(e)) / 8;
    const uint64_t ring = rte_align32pow2(static_cast<uint32_t>(e + 1));
    return buckets * 64 + (e + 1) * 48 + ring * 4 + (e + 1) * sizeof(reference_record);
}

} // namespace twamp::testref
