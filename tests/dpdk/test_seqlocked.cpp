// seqlocked<T> (include/twamp/dataplane/seqlocked.hpp): a reader always gets one whole published
// value, never a mix of two, while a writer publishes as fast as it can. No EAL needed: rte_seqlock
// is header-only.
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "twamp/dataplane/seqlocked.hpp"

using twamp::dataplane::seqlocked;

namespace {

// Every field derived from `n`: a torn read shows as fields that disagree.
struct wide {
    uint64_t n = 0;
    uint64_t a[7] = {};
    static wide of(uint64_t n) {
        wide w;
        w.n = n;
        for (uint64_t i = 0; i < 7; ++i) {
            w.a[i] = n * (i + 2) + i;
        }
        return w;
    }
    bool consistent() const {
        for (uint64_t i = 0; i < 7; ++i) {
            if (a[i] != n * (i + 2) + i) {
                return false;
            }
        }
        return true;
    }
};

} // namespace

TEST(seqlocked, reads_what_was_published) {
    seqlocked<wide> s;
    EXPECT_EQ(s.read().n, 0U); // value-initialised until the first publish
    EXPECT_EQ(s.read().a[6], 0U);
    s.publish(wide::of(42));
    EXPECT_EQ(s.read().n, 42U);
    EXPECT_TRUE(s.read().consistent());
    seqlocked<wide> t(wide::of(7));
    EXPECT_EQ(t.read().n, 7U);
}

TEST(seqlocked, readers_never_see_a_torn_value) {
    seqlocked<wide> s(wide::of(1));
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> torn{0}, backwards{0}, reads{0};
    std::vector<std::thread> readers;
    for (int r = 0; r < 2; ++r) {
        readers.emplace_back([&] {
            uint64_t last = 0, n = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                const wide w = s.read();
                torn += w.consistent() ? 0 : 1;
                backwards += w.n < last ? 1 : 0; // one writer: values only grow
                last = w.n;
                ++n;
            }
            reads += n;
        });
    }
    for (uint64_t n = 2; n < 2'000'000; ++n) {
        s.publish(wide::of(n));
    }
    stop = true;
    for (auto& t : readers) {
        t.join();
    }
    EXPECT_EQ(torn.load(), 0U);
    EXPECT_EQ(backwards.load(), 0U);
    EXPECT_GT(reads.load(), 0U);
    EXPECT_EQ(s.read().n, 1'999'999U);
}
