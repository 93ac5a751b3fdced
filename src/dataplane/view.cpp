// rte_rcu_qsbr_dq_* are experimental in DPDK 22.11: the library is built with
// -DALLOW_EXPERIMENTAL_API (meson.build).
#include "twamp/dataplane/view.hpp"

#include <rte_errno.h>

namespace twamp::dataplane {

namespace {
// Retired views waiting at most: a view is retired per reload or control-session change and
// freed within a pass of every worker (microseconds), so this is never near full.
constexpr uint32_t defer_queue_size = 1024;
} // namespace

bool view_publisher::init(rte_rcu_qsbr* qsv, const char* name, std::string& error) {
    rte_rcu_qsbr_dq_parameters p{};
    p.name = name;
    p.flags = RTE_RCU_QSBR_DQ_MT_UNSAFE; // the slow path alone publishes and reclaims
    p.size = defer_queue_size;
    p.esize = sizeof(const view*);
    p.trigger_reclaim_limit = 0; // every enqueue frees what it can first
    p.max_reclaim_size = defer_queue_size;
    p.free_fn = free_view;
    p.p = this;
    p.v = qsv;
    dq_ = rte_rcu_qsbr_dq_create(&p);
    if (!dq_) {
        error = std::string("cannot create the RCU defer queue: ") + rte_strerror(rte_errno);
        return false;
    }
    qsv_ = qsv;
    return true;
}

void view_publisher::free_view(void* self, void* e, unsigned n) {
    auto* pub = static_cast<view_publisher*>(self);
    auto* views = static_cast<const view**>(e);
    for (unsigned i = 0; i < n; ++i) {
        delete views[i];
        ++pub->freed_;
    }
}

uint64_t view_publisher::publish(std::shared_ptr<const snapshot> snap,
                                 std::shared_ptr<const control_table> control) {
    const view* old = ptr_.load(std::memory_order_relaxed);
    auto* v = new view;
    v->snap = snap ? std::move(snap) : old ? old->snap : nullptr;
    v->control = control ? std::move(control) : old ? old->control : nullptr;
    v->generation = old ? old->generation + 1 : 1;
    ptr_.store(v, std::memory_order_release);
    const uint64_t token = qsv_ ? rte_rcu_qsbr_start(qsv_) : 0;
    if (!old) {
        return token;
    }
    ++retired_;
    if (rte_rcu_qsbr_dq_enqueue(dq_, &old) != 0) {
        // Full (workers stalled for a thousand changes): wait out a grace period instead.
        rte_rcu_qsbr_synchronize(qsv_, RTE_QSBR_THRID_INVALID);
        const view* one[] = {old};
        free_view(this, one, 1);
    }
    return token;
}

unsigned view_publisher::reclaim() noexcept {
    if (!dq_) {
        return 0;
    }
    unsigned freed = 0, pending = 0, available = 0;
    rte_rcu_qsbr_dq_reclaim(dq_, defer_queue_size, &freed, &pending, &available);
    return freed;
}

void view_publisher::close() noexcept {
    if (dq_) {
        // Frees every retired view (the workers have stopped and unregistered). Should a worker
        // still be registered, the queue is gone anyway: its views leak rather than being freed
        // twice or touched after the RCU variable is.
        rte_rcu_qsbr_dq_delete(dq_);
        dq_ = nullptr;
    }
    delete ptr_.exchange(nullptr, std::memory_order_relaxed);
}

} // namespace twamp::dataplane
