// A value one thread publishes and others read without locking: rte_seqlock around a plain
// copy. The writer (one thread at a time) never waits for readers; a reader retries while a
// publish is under way, so it always gets one whole published value, never a torn mix.
// For small trivially copyable values read often and written rarely (the clock fits the slow
// path refreshes every ~100 ms, read by the workers every burst).
#pragma once

#include <type_traits>

#include <rte_seqlock.h>

namespace twamp::dataplane {

template<typename T>
requires std::is_trivially_copyable_v<T>
class seqlocked {
public:
    seqlocked() = default;
    explicit seqlocked(const T& v) noexcept : value_(v) {}
    seqlocked(const seqlocked&) = delete;
    seqlocked& operator=(const seqlocked&) = delete;

    // Any thread: the last published value.
    T read() const noexcept {
        T v;
        uint32_t sn;
        do {
            sn = rte_seqlock_read_begin(&lock_);
            v = value_;
        } while (rte_seqlock_read_retry(&lock_, sn));
        return v;
    }

    // The writer: replaces the value (writers are serialised by the seqlock's spinlock).
    void publish(const T& v) noexcept {
        rte_seqlock_write_lock(&lock_);
        value_ = v;
        rte_seqlock_write_unlock(&lock_);
    }

private:
    mutable rte_seqlock_t lock_ = RTE_SEQLOCK_INITIALIZER;
    T value_{};
};

} // namespace twamp::dataplane
