// What the workers see: one immutable view (the snapshot of contexts and ACLs, the
// TWAMP-Control sessions' table), published by the slow path through one atomic pointer and
// retired through an RCU defer queue, so publishing never waits for the workers.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <rte_rcu_qsbr.h>

#include "twamp/dataplane/control_table.hpp"
#include "twamp/dataplane/snapshot.hpp"

namespace twamp::dataplane {

struct view {
    std::shared_ptr<const snapshot> snap;
    std::shared_ptr<const control_table> control; // null: no TWAMP-Control server
    uint64_t generation = 0;                      // 1 for the first view, +1 per publish
};

// The slow path's side: the current view, its pointer for the workers (load it once per pass,
// acquire), and the retired views until every worker passed a quiescent point.
class view_publisher {
public:
    view_publisher() = default;
    ~view_publisher() { close(); }
    view_publisher(const view_publisher&) = delete;
    view_publisher& operator=(const view_publisher&) = delete;

    // The defer queue on `qsv` (the workers' RCU variable); `name` unique in the process.
    bool init(rte_rcu_qsbr* qsv, const char* name, std::string& error);

    // A new view: the current one with the parts given replaced (null: kept), published
    // (release); the old one is retired, never waited for. Returns the publication's RCU token
    // for seen().
    uint64_t publish(std::shared_ptr<const snapshot> snap,
                     std::shared_ptr<const control_table> control);

    // Whether every worker has passed a quiescent point since the publish that returned
    // `token`: none can still see an older view. Never waits.
    bool seen(uint64_t token) const noexcept {
        return qsv_ == nullptr || rte_rcu_qsbr_check(qsv_, token, false) == 1;
    }

    // Frees the retired views no worker can still hold (the slow path calls it every round).
    // Returns how many it freed.
    unsigned reclaim() noexcept;

    // Frees everything: call only once no worker reads the pointer any more (stopped, or
    // offline on the RCU variable).
    void close() noexcept;

    const std::atomic<const view*>* pointer() const noexcept { return &ptr_; }
    const view* current() const noexcept { return ptr_.load(std::memory_order_relaxed); }
    // Retired views not freed yet.
    uint64_t retired() const noexcept { return retired_ - freed_; }

private:
    static void free_view(void* self, void* e, unsigned n);

    rte_rcu_qsbr* qsv_ = nullptr;
    rte_rcu_qsbr_dq* dq_ = nullptr;
    std::atomic<const view*> ptr_{nullptr};
    uint64_t retired_ = 0;
    uint64_t freed_ = 0;
};

} // namespace twamp::dataplane
