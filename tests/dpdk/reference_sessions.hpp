// The rte_hash-based per-worker session table that src/dataplane/sessions.cpp replaced (issue 15
// item 1), kept as the reference for the differential test (test_sessions.cpp) and the
// benchmark (perf/session_bench.cpp). Its logic is the former session_table's, unchanged; only
// the record moved: the former `session` carried `ctx` and `in_use`, which the new record drops
// (the new table keeps the key next to the record and a signature per slot), so here they sit
// beside it in reference_record.
#pragma once

#include <cstdint>
#include <string>

#include <rte_hash.h>

#include "twamp/dataplane/sessions.hpp"

namespace twamp::testref {

using dataplane::control_table;
using dataplane::session;
using dataplane::session_key;
using dataplane::session_query;
using dataplane::snapshot;

struct reference_record {
    session s;
    uint16_t ctx = 0;
    uint8_t in_use = 0;
};

class reference_session_table {
public:
    static constexpr uint32_t bulk_max = RTE_HASH_LOOKUP_BULK_MAX;

    bool init(unsigned worker, uint32_t capacity, std::string& error);
    ~reference_session_table();

    int32_t find_or_create(const session_key& k, uint32_t max_for_ctx, uint64_t now_tsc,
                           bool& created) noexcept;
    void find_or_create_bulk(const session_key* const keys[], uint32_t n,
                             const uint32_t max_for_ctx[], uint64_t now_tsc, int32_t slots[],
                             uint32_t& created, uint32_t& table_full) noexcept;

    session& at(int32_t slot) noexcept { return entries_[slot].s; }
    const session& at(int32_t slot) const noexcept { return entries_[slot].s; }
    bool live(int32_t slot) const noexcept { return entries_[slot].in_use != 0; }

    uint32_t age(const snapshot& snap, uint64_t now_tsc, uint32_t budget,
                 const control_table* control = nullptr, uint16_t control_ctx = 0) noexcept;
    bool scan(session_query& q, uint32_t budget) noexcept;

    uint32_t active() const noexcept { return active_; }
    uint32_t active_in(uint16_t ctx) const noexcept {
        return ctx < dataplane::max_contexts ? per_ctx_[ctx] : 0;
    }
    uint32_t capacity() const noexcept { return capacity_; }
    uint32_t slots() const noexcept { return slots_; }
    rte_hash* hash() const noexcept { return hash_; }
    // Bytes allocated: rte_hash's (DPDK 22.11 sizing, as perf/bench.py's former model) + records.
    uint64_t memory_bytes() const noexcept;

private:
    int32_t create(const session_key& k, uint64_t now_tsc, bool& created) noexcept;
    void remove(uint32_t slot) noexcept;

    rte_hash* hash_ = nullptr;
    reference_record* entries_ = nullptr;
    uint32_t capacity_ = 0;
    uint32_t slots_ = 0;
    uint32_t active_ = 0;
    uint32_t iter_ = 0;
    uint32_t per_ctx_[dataplane::max_contexts] = {};
};

} // namespace twamp::testref
