#include "sessions.hpp"

#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include <cstdio>
#include <cstring>

namespace twamp::dataplane {

bool session_table::init(unsigned worker, uint32_t capacity, std::string& error) {
    capacity_ = capacity;
    if (capacity == 0) {
        return true;
    }
    char name[RTE_HASH_NAMESIZE];
    std::snprintf(name, sizeof name, "sess_w%u", worker);
    rte_hash_parameters hp{};
    hp.name = name;
    // rte_hash (cuckoo, 8-way buckets) may refuse an insert somewhat before it is full: leave
    // 1/8 headroom so the per-context limits are what stops growth.
    hp.entries = capacity + capacity / 8 + 8;
    hp.key_len = sizeof(session_key);
    hp.hash_func = rte_hash_crc;
    hp.socket_id = SOCKET_ID_ANY;
    hash_ = rte_hash_create(&hp);
    if (!hash_) {
        error = std::string("session table: rte_hash_create: ") + rte_strerror(rte_errno);
        return false;
    }
    entries_ = static_cast<session*>(
            rte_zmalloc("sessions", sizeof(session) * (hp.entries + 1), RTE_CACHE_LINE_SIZE));
    if (!entries_) {
        error = "session table: out of memory for " + std::to_string(hp.entries) + " sessions";
        return false;
    }
    return true;
}

session_table::~session_table() {
    if (hash_) {
        rte_hash_free(hash_);
    }
    rte_free(entries_);
}

int32_t session_table::find_or_create(const session_key& k, uint32_t max_for_ctx, uint64_t now_tsc,
                                      bool& created) noexcept {
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
    slot = rte_hash_add_key(hash_, &k);
    if (slot < 0) {
        return -1;
    }
    session& s = entries_[slot];
    s = session{};
    s.ctx = k.ctx;
    s.created_tsc = now_tsc;
    s.last_seen_tsc = now_tsc;
    ++per_ctx_[k.ctx];
    ++active_;
    created = true;
    return slot;
}

uint32_t session_table::age(const snapshot& snap, uint64_t now_tsc, uint32_t budget) noexcept {
    if (!hash_ || active_ == 0) {
        return 0;
    }
    const auto& ctxs = snap.contexts();
    uint32_t removed = 0;
    const void* key;
    void* data;
    for (uint32_t i = 0; i < budget; ++i) {
        int32_t slot = rte_hash_iterate(hash_, &key, &data, &iter_);
        if (slot < 0) {
            iter_ = 0; // wrapped: start over on the next slice
            break;
        }
        session& s = entries_[slot];
        // A session whose context is gone (reload) ends at once.
        bool gone = s.ctx >= ctxs.size() || !ctxs[s.ctx].active;
        uint64_t timeout = gone ? 0 : ctxs[s.ctx].inactivity_tsc;
        if (gone || now_tsc - s.last_seen_tsc > timeout) {
            session_key k;
            std::memcpy(&k, key, sizeof k);
            if (rte_hash_del_key(hash_, &k) >= 0) {
                if (k.ctx < max_contexts && per_ctx_[k.ctx]) {
                    --per_ctx_[k.ctx];
                }
                --active_;
                ++removed;
            }
        }
    }
    return removed;
}

bool session_table::scan(session_query& q, uint32_t budget) noexcept {
    if (!hash_) {
        return true;
    }
    const void* key;
    void* data;
    for (uint32_t i = 0; i < budget; ++i) {
        int32_t slot = rte_hash_iterate(hash_, &key, &data, &q.iter);
        if (slot < 0) {
            return true;
        }
        ++q.scanned;
        const session& s = entries_[slot];
        // Keep the top max_top by packets: insertion into a small sorted array.
        unsigned pos = q.count;
        while (pos > 0 && q.top[pos - 1].s.packets < s.packets) {
            --pos;
        }
        if (pos >= session_query::max_top) {
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
    return false;
}

} // namespace twamp::dataplane
