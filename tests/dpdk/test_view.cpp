// Tier 2: what the workers see (src/dataplane/view.*): one view published through one
// pointer, retired views freed through the RCU defer queue only once every worker reported a
// quiescent state. The test thread plays the worker on the RCU variable (register, online,
// quiescent), so no thread and no sleep: each step is an event the test makes happen.
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <gtest/gtest.h>

#include "twamp/dataplane/view.hpp"

using namespace twamp;

namespace {

class eal_env : public ::testing::Environment {
public:
    void SetUp() override {
        std::string prefix = "--file-prefix=dpv" + std::to_string(getpid());
        const char* argv[] = {"dpdk_view_tests",    "-l",          "0",
                              "--no-huge",          "-m",          "256",
                              "--no-pci",           "--no-shconf", prefix.c_str(),
                              "--log-level=*:error"};
        int argc = static_cast<int>(std::size(argv));
        ASSERT_GE(rte_eal_init(argc, const_cast<char**>(argv)), 0) << "EAL init failed";
    }
};

std::shared_ptr<const dataplane::snapshot> snap() {
    dataplane::dataplane_spec spec;
    spec.ports.resize(1);
    spec.ports[0].name = "none";
    std::string err;
    static uint64_t generation = 0; // names the snapshot's LPM tables
    std::shared_ptr<const dataplane::snapshot> s =
            dataplane::snapshot::build(spec, 1, ++generation, err);
    EXPECT_NE(s, nullptr) << err;
    return s;
}

std::shared_ptr<const dataplane::control_table> table(uint16_t port) {
    dataplane::control_session_rt r;
    r.receiver_port = port;
    return std::make_shared<const dataplane::control_table>(
            std::vector<dataplane::control_session_rt>{r}, 64400, 64409);
}

// One RCU variable with `workers` reader threads, the test thread being thread 0 (online).
struct rcu {
    explicit rcu(unsigned workers) {
        qsv = static_cast<rte_rcu_qsbr*>(
                rte_zmalloc("rcu", rte_rcu_qsbr_get_memsize(workers), RTE_CACHE_LINE_SIZE));
        EXPECT_NE(qsv, nullptr);
        EXPECT_EQ(rte_rcu_qsbr_init(qsv, workers), 0);
        EXPECT_EQ(rte_rcu_qsbr_thread_register(qsv, 0), 0);
        rte_rcu_qsbr_thread_online(qsv, 0);
    }
    ~rcu() { rte_free(qsv); }
    void worker_stops() {
        rte_rcu_qsbr_thread_offline(qsv, 0);
        rte_rcu_qsbr_thread_unregister(qsv, 0);
    }
    rte_rcu_qsbr* qsv = nullptr;
};

std::string unique_name() {
    static int n = 0;
    return "views" + std::to_string(n++);
}

// A retired view (and the snapshot only it held) lives until the worker reports quiescent,
// however often the slow path reclaims; then one reclaim frees it. Publishing never waits.
TEST(view, retired_view_freed_only_after_worker_quiescent) {
    rcu r(1);
    dataplane::view_publisher pub;
    std::string err;
    ASSERT_TRUE(pub.init(r.qsv, unique_name().c_str(), err)) << err;

    auto s1 = snap();
    const dataplane::snapshot* s1_raw = s1.get();
    std::weak_ptr<const dataplane::snapshot> w1 = s1;
    pub.publish(std::move(s1), nullptr);
    const dataplane::view* seen = pub.pointer()->load(std::memory_order_acquire); // the worker
    ASSERT_NE(seen, nullptr);
    EXPECT_EQ(seen->generation, 1u);
    EXPECT_EQ(seen->snap.get(), s1_raw);

    // A reload: returns although the worker holds the old view.
    const uint64_t token = pub.publish(snap(), nullptr);
    EXPECT_FALSE(pub.seen(token));
    EXPECT_EQ(pub.retired(), 1u);
    EXPECT_EQ(pub.reclaim(), 0u);
    EXPECT_EQ(pub.reclaim(), 0u);
    EXPECT_FALSE(w1.expired()) << "the worker may still read it";
    EXPECT_EQ(seen->snap.get(), s1_raw);

    rte_rcu_qsbr_quiescent(r.qsv, 0); // the worker's end of pass: it holds no view any more
    EXPECT_TRUE(pub.seen(token));
    EXPECT_EQ(pub.reclaim(), 1u);
    EXPECT_TRUE(w1.expired());
    EXPECT_EQ(pub.retired(), 0u);
    seen = pub.pointer()->load(std::memory_order_acquire);
    EXPECT_EQ(seen->generation, 2u);

    // A quiescent report from before a view was retired does not free it.
    std::weak_ptr<const dataplane::snapshot> w2 = seen->snap;
    pub.publish(snap(), nullptr);
    EXPECT_EQ(pub.reclaim(), 0u);
    EXPECT_FALSE(w2.expired());
    rte_rcu_qsbr_quiescent(r.qsv, 0);
    EXPECT_EQ(pub.reclaim(), 1u);
    EXPECT_TRUE(w2.expired());

    // Shutdown: once the worker stopped, everything goes, the current view too.
    std::weak_ptr<const dataplane::snapshot> w3 = pub.current()->snap;
    pub.publish(snap(), nullptr); // retired, never reported quiescent
    r.worker_stops();
    pub.close();
    EXPECT_TRUE(w3.expired());
    EXPECT_EQ(pub.current(), nullptr);
    EXPECT_EQ(pub.retired(), 0u);
}

// A reload and TWAMP-Control changes, interleaved, go through the same publish: every view has
// both parts, the latest of each; a part another view still holds outlives its first view.
TEST(view, reload_and_control_change_leave_one_consistent_view) {
    rcu r(1);
    dataplane::view_publisher pub;
    std::string err;
    ASSERT_TRUE(pub.init(r.qsv, unique_name().c_str(), err)) << err;

    auto s1 = snap(), s2 = snap();
    auto t1 = table(64400), t2 = table(64401);
    std::weak_ptr<const dataplane::snapshot> ws1 = s1;
    std::weak_ptr<const dataplane::control_table> wt1 = t1;
    pub.publish(s1, nullptr); // start-up
    pub.publish(nullptr, t1); // the control server's first table
    const dataplane::view* v = pub.pointer()->load(std::memory_order_acquire);
    EXPECT_EQ(v->snap, s1);
    EXPECT_EQ(v->control, t1);
    EXPECT_EQ(v->generation, 2u);

    pub.publish(s2, nullptr); // a reload keeps the control sessions
    v = pub.pointer()->load(std::memory_order_acquire);
    EXPECT_EQ(v->snap, s2);
    EXPECT_EQ(v->control, t1);
    pub.publish(nullptr, t2); // a control change keeps the reloaded snapshot
    v = pub.pointer()->load(std::memory_order_acquire);
    EXPECT_EQ(v->snap, s2);
    EXPECT_EQ(v->control, t2);
    EXPECT_EQ(v->generation, 4u);
    EXPECT_EQ(v, pub.current());

    s1.reset();
    t1.reset();
    rte_rcu_qsbr_quiescent(r.qsv, 0);
    EXPECT_EQ(pub.reclaim(), 3u);
    EXPECT_TRUE(ws1.expired());
    EXPECT_TRUE(wt1.expired());
    EXPECT_EQ(pub.current()->snap, s2);
    EXPECT_EQ(pub.current()->control, t2);
    r.worker_stops();
}

} // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new eal_env());
    return RUN_ALL_TESTS();
}
