// The running box: one owner for everything the reflector is made of (EAL, mempool, rings,
// ports, RCU state, counters, session tables, what the workers see, the metrics exposer, the
// TWAMP-Control server, the exception path), built by create() and torn down by the destructor
// in the one right order.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "runtime.hpp"
#include "spec_from_config.hpp"

#include "twamp/config/config.hpp"
#include "twamp/dataplane/clock.hpp"
#include "twamp/dataplane/control_table.hpp"
#include "twamp/dataplane/sessions.hpp"
#include "twamp/dataplane/snapshot.hpp"
#include "twamp/dataplane/spec.hpp"
#include "twamp/dataplane/view.hpp"
#include "twamp/dataplane/worker.hpp"
#include "twamp/log/events.hpp"
#include "twamp/slowpath/control_server.hpp"
#include "twamp/slowpath/exception.hpp"

namespace twamp::metrics {
class collector;
class http_exporter;
} // namespace twamp::metrics

namespace twamp::app {

class box {
public:
    // Initialises EAL with `eal_argv` (argc entries, null-terminated) and builds the box for
    // `cfg` (already turned into `spec` with `slots`). Null and `error` set (the message after
    // "dpdk-twamp: ") when anything fails; what was built is torn down again.
    // `origin`: where the config came from and when the process started (runtime's
    // config_path, config_source, start_unix_ns), set before any reader starts.
    struct origin {
        std::string config_path;
        std::string config_source;
        int64_t start_unix_ns = 0;
    };
    static std::unique_ptr<box> create(int eal_argc, char** eal_argv, const config::config& cfg,
                                       const dataplane::dataplane_spec& spec, slot_map slots,
                                       std::atomic<bool>* stop, const origin& from,
                                       std::string& error);
    ~box();
    box(const box&) = delete;
    box& operator=(const box&) = delete;

    // Starts a worker on every worker lcore.
    void launch_workers();

    // What a reload changes beside the snapshot: the config, the spec and the slots the
    // snapshot was built from.
    struct reloaded {
        const config::config& cfg;
        const dataplane::dataplane_spec& spec;
        const slot_map& slots;
    };
    // What changed: a reload's new snapshot (with `reload`) and/or the control server's new
    // table; null parts stay as they are.
    struct change {
        std::shared_ptr<const dataplane::snapshot> snap;
        std::shared_ptr<const dataplane::control_table> control;
        const reloaded* reload = nullptr;
    };
    // The one way to change what the workers see (SIGHUP reload and TWAMP-Control alike): a new
    // view from the current one plus the change, published without waiting for the workers
    // (the old view is freed by reclaim() once they all passed a quiescent point). With a
    // reload, the exception rate limits, the reflector list and the control server follow the
    // new config. Returns the publication's token for seen_by_workers().
    uint64_t apply(change c);
    // Whether every worker has passed a quiescent point since apply() returned `token` (none
    // can still reflect by an older view). Never waits.
    bool seen_by_workers(uint64_t token) const noexcept { return views_.seen(token); }
    // Frees the retired views no worker can still see (every slow-path round). Never waits.
    unsigned reclaim() noexcept { return views_.reclaim(); }

    // End of the run: the control server closes its sessions, the workers stop, the rings are
    // drained (counted), the metrics stop, the ports close. Returns the mbufs still in use (a
    // leak shows here).
    unsigned stop();

    // What the slow path works with.
    runtime& rt() noexcept { return rt_; }
    const runtime& rt() const noexcept { return rt_; }
    slowpath::exception_path& exceptions() noexcept { return exc_; }
    const slowpath::exception_path& exceptions() const noexcept { return exc_; }
    const std::vector<rte_ring*>& exception_rings() const noexcept { return exc_rings_; }
    dataplane::worker_counters& slow_path_counters() noexcept { return *rt_.workers[n_workers_]; }
    slowpath::control_server* control() noexcept { return control_.get(); }
    const slowpath::control_server* control() const noexcept { return control_.get(); }
    dataplane::sw_clock& clock() noexcept { return clock_; }
    // The slow path's events (issue 19): rate-limited per kind, to journald under systemd,
    // stderr otherwise. The control server emits through it too. Slow path only.
    log::logger& events() noexcept { return events_; }
    unsigned n_workers() const noexcept { return n_workers_; }
    const config::config& running() const noexcept { return running_; }
    const slot_map& slots() const noexcept { return slots_; }
    const dataplane::dataplane_spec& spec() const noexcept { return spec_; }
    bool metrics_served() const noexcept { return exposer_ != nullptr; }
    bool capture_ready() const noexcept { return pdump_ok_; }
    const std::string& telemetry_error() const noexcept { return telemetry_error_; }

private:
    box(const config::config& cfg, const dataplane::dataplane_spec& spec, slot_map slots);
    bool build(int eal_argc, char** eal_argv, std::atomic<bool>* stop, std::string& error);
    void set_reflectors(const dataplane::dataplane_spec& spec);

    config::config running_;         // the config the box runs (a reload replaces it)
    dataplane::dataplane_spec spec_; // the spec it was started with (ports: restart-only)
    slot_map slots_;
    bool eal_up_ = false;
    std::atomic<bool>* stop_ = nullptr; // the workers' stop flag (main's g_stop)
    bool workers_running_ = false;      // launched and not joined yet
    bool pdump_ok_ = false;
    unsigned n_workers_ = 0;
    std::string telemetry_error_;

    rte_mempool* pool_ = nullptr;
    std::vector<rte_ring*> exc_rings_, wire_rings_;
    rte_rcu_qsbr* qsv_ = nullptr;
    dataplane::sw_clock clock_;
    slowpath::exception_path exc_;
    runtime rt_; // ports and counters live here (the readers' view of the box)
    std::vector<std::unique_ptr<dataplane::session_table>> sessions_;
    std::vector<dataplane::worker_args> wargs_;

    dataplane::view_publisher views_; // what the workers see, and the views they may still see

    // Before control_, which emits into it until it is destroyed.
    log::logger events_{log::make_sink(log::default_sink_kind())};

    std::unique_ptr<metrics::http_exporter> exposer_; // the /metrics endpoint
    std::shared_ptr<metrics::collector> collector_;
    std::unique_ptr<slowpath::control_server> control_;
};

} // namespace twamp::app
