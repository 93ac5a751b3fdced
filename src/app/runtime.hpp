// What the running box is made of, shared by the slow path's readers (metrics exporter thread,
// DPDK telemetry thread, periodic stats, exit summary).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "spec_from_config.hpp"

#include "twamp/dataplane/clock.hpp"
#include "twamp/dataplane/counters.hpp"
#include "twamp/dataplane/port.hpp"
#include "twamp/dataplane/sessions.hpp"
#include "twamp/metrics/stats.hpp"
#include "twamp/slowpath/control_server.hpp"

struct rte_mempool;

namespace twamp::app {

// The outcome of one SIGHUP (issue 19). `applied`: the new file runs (every worker has seen it);
// `unchanged`: it changed nothing; `rejected`: it had errors (or could not be applied);
// `refused`: it changed restart-only keys. Nothing of a rejected or refused file is applied.
enum class reload_result : uint8_t { none, applied, unchanged, rejected, refused };
inline const char* name_of(reload_result r) noexcept {
    switch (r) {
    case reload_result::applied:
        return "applied";
    case reload_result::unchanged:
        return "unchanged";
    case reload_result::rejected:
        return "rejected";
    case reload_result::refused:
        return "refused";
    case reload_result::none:
        break;
    }
    return "none";
}
struct reload_outcome {
    reload_result result = reload_result::none; // none: no reload yet
    int64_t unix_ns = 0;                        // when it was decided (CLOCK_REALTIME)
    uint64_t seq = 0;                           // reloads decided so far
    std::string line;                           // one line, e.g. "rejected: twamp.conf:12: ..."
};

// Who owns what: "slow path" is app::run_slow_path (loop.cpp) on the first lcore; "readers" are the
// metrics exporter's threads (prometheus-cpp), the DPDK telemetry thread, and the slow path itself
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
    std::timed_mutex query_mu;         // one telemetry "sessions" request at a time
    const rte_mempool* pool = nullptr; // the packet buffers (gather: mbufs in use)

    // Written by the slow path (reload), read by readers (atomics).
    std::atomic<uint64_t> reloads_ok{0};
    std::atomic<uint64_t> reloads_failed{0};  // the new file had errors
    std::atomic<uint64_t> reloads_refused{0}; // it changed restart-only keys
    // Reloads started (a SIGHUP taken: loop.cpp), one at a time, each decided later with the
    // next `reload_outcome::seq`: reload number N's outcome has seq N. `dpdk-twamp-ctl reload`
    // reads it before it signals and waits for seq > it (its own reload, or a pending SIGHUP's
    // it merged into, which reads the file after the ctl's signal), never one already under way.
    std::atomic<uint64_t> reloads_started{0};

    // Issue 19: what the box is and where its config came from. Set by main/box::create before
    // any reader starts, constant afterwards.
    int64_t start_unix_ns = 0; // when the process started (CLOCK_REALTIME)
    std::string config_path;   // the file given with -c ("" for an embedded default)
    std::string config_source; // e.g. "file /etc/dpdk-twamp/twamp.conf", "embedded demo"

    // Issue 19: the last reload's outcome (one line, as logged), for the telemetry status, the
    // metrics (last reload time and result) and `dpdk-twamp-ctl reload`, which waits for `seq`
    // to move. Written by the slow path (record_reload), read by any thread (last_reload()).
    void record_reload(reload_result result, std::string line, int64_t unix_ns) {
        std::lock_guard<std::mutex> lock(reload_mu_);
        reload_ = {result, unix_ns, reload_.seq + 1, std::move(line)};
    }
    reload_outcome last_reload() const {
        std::lock_guard<std::mutex> lock(reload_mu_);
        return reload_;
    }

    // The reflector list as readers see it: an immutable snapshot. The slow path replaces it
    // whole (start-up, reload: box::set_reflectors) holding `mu`; readers hold `mu` only to copy
    // the pointer (reflector_snapshot) and read the list without any lock.
    mutable std::mutex mu;
    std::shared_ptr<const std::vector<reflector_info>> reflectors =
            std::make_shared<const std::vector<reflector_info>>();

    // Any thread: the current reflector list, immutable.
    std::shared_ptr<const std::vector<reflector_info>> reflector_snapshot() const {
        std::lock_guard<std::mutex> lock(mu);
        return reflectors;
    }

private:
    mutable std::mutex reload_mu_;
    reload_outcome reload_;
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
// The box is stopping (box::stop, ~box: first thing, before the control server shuts and the
// workers stop): from then on every command answers an error at once, and one in progress
// stops waiting for a worker or the control snapshot. Any thread.
void stop_telemetry();
// From then on the commands answer an error instead of reading `rt` (the telemetry thread
// outlives the box); waits for a command in progress (stop_telemetry first: it does).
void unregister_telemetry();

} // namespace twamp::app
