// What the running box is made of, shared by the slow path's readers (metrics exporter thread,
// DPDK telemetry thread, periodic stats, exit summary).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../dataplane/clock.hpp"
#include "../dataplane/counters.hpp"
#include "../dataplane/port.hpp"
#include "../dataplane/sessions.hpp"
#include "../slowpath/control_server.hpp"
#include "twamp/metrics/stats.hpp"

namespace twamp::app {

struct reflector_info {
    std::string name;
    std::string mode;
    uint16_t slot = 0; // index of its counters in every worker's block
};

// The reflector list as readers see it: an immutable snapshot. The slow path edits it (start-up,
// reload) holding runtime::mu; every edit publishes a new list (copy-on-write) and never
// changes one a reader may hold. Readers copy the pointer under runtime::mu
// (runtime::reflector_snapshot) and read the list without any lock.
class reflector_list {
public:
    using list = std::vector<reflector_info>;

    // Slow path, holding runtime::mu.
    void push_back(reflector_info r) {
        auto next = std::make_shared<list>(*cur_);
        next->push_back(std::move(r));
        cur_ = std::move(next);
    }
    void clear() { cur_ = std::make_shared<const list>(); }
    // Holding runtime::mu.
    std::shared_ptr<const list> get() const noexcept { return cur_; }

private:
    std::shared_ptr<const list> cur_ = std::make_shared<const list>();
};

// Who owns what: "slow path" is main()'s loop on the first lcore; "readers" are the metrics
// exporter's threads (prometheus-cpp), the DPDK telemetry thread, and the slow path itself
// (warnings, --stats-period, exit summary), all through gather().
struct runtime {
    // Set by the slow path before any reader or worker starts, constant afterwards (the
    // pointees' own fields say who writes them: counters.hpp, port.hpp, clock.hpp).
    std::vector<dataplane::worker_counters*> workers; // one per worker, then the slow path's
    unsigned n_workers = 0;
    std::vector<std::unique_ptr<dataplane::port_runtime>> ports;
    const dataplane::sw_clock* clock = nullptr;
    const slowpath::control_server* control = nullptr;              // null: no control server
    std::vector<std::unique_ptr<dataplane::session_query>> queries; // one per worker
    std::mutex query_mu; // one telemetry "sessions" request at a time

    // Written by the slow path (reload), read by readers (atomics).
    std::atomic<uint64_t> reloads_ok{0};
    std::atomic<uint64_t> reloads_failed{0};  // the new file had errors
    std::atomic<uint64_t> reloads_refused{0}; // it changed restart-only keys

    // Guards `reflectors`' pointer: the slow path holds it while it edits the list, readers
    // only while they copy the pointer (reflector_snapshot).
    mutable std::mutex mu;
    reflector_list reflectors;

    // Any thread: the current reflector list, immutable.
    std::shared_ptr<const reflector_list::list> reflector_snapshot() const {
        std::lock_guard<std::mutex> lock(mu);
        return reflectors.get();
    }
};

// Sums the workers' counters and reads the NIC counters: safe from any thread. It reads only
// atomics and snapshots and writes nothing shared: each worker's busy ratio is over the time
// since the calling thread's previous gather (each reader thread keeps its own previous
// sample, so one reader never changes what another sees).
metrics::box_stats gather(const runtime& rt);

// One --stats-period block: a "stats: time" line (UTC) with the period, a line per reflector of
// `cur` (matched to `prev` by name), a total line. unix_ns: the time of `cur`.
std::string stats_block(const metrics::box_stats& cur, const metrics::box_stats& prev, double secs,
                        int64_t unix_ns);

// DPDK telemetry commands /twamp/... (dpdk-telemetry.py); `rt` must outlive the process' EAL.
// Returns "" or what could not be registered.
std::string register_telemetry(runtime& rt);

} // namespace twamp::app
