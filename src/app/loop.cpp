#include "loop.hpp"

#include <cstdio>
#include <string>
#include <vector>

#include <time.h>

#include <rte_cycles.h>

#include "spec_from_config.hpp"

#include "twamp/config/config.hpp"
#include "twamp/config/warnings.hpp"
#include "twamp/dataplane/port.hpp"
#include "twamp/log.hpp"
#include "twamp/slowpath/control_server.hpp"

namespace twamp::app {

namespace {

// A reload published but not yet seen by every worker. Its "reload: ..." lines and its count
// wait for that (without blocking the loop): a probe sent after the line meets the new config.
struct pending_reload {
    bool active = false;
    uint64_t token = 0; // box::apply's
    std::vector<std::string> changes;
};

int64_t unix_now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void finish(runtime& rt, pending_reload& p) {
    for (const auto& c : p.changes) {
        TWAMP_LOG(INFO, "reload: %s", c.c_str());
    }
    rt.reloads_ok.fetch_add(1);
    rt.record_reload(reload_result::applied,
                     "applied: " + std::to_string(p.changes.size()) +
                             (p.changes.size() == 1 ? " change" : " changes"),
                     unix_now_ns());
    p = {};
}

// SIGHUP: re-read the file; apply what may change live through a new snapshot.
void reload(box& b, const std::string& path, uint64_t& generation, pending_reload& pending) {
    runtime& rt = b.rt();
    config::load_result nl = config::load_file(path);
    if (!nl.ok()) {
        for (const auto& e : nl.errors) {
            TWAMP_LOG(ERR, "reload rejected, running config kept: %s",
                      config::to_string(e).c_str());
        }
        rt.reloads_failed.fetch_add(1);
        rt.record_reload(
                reload_result::rejected,
                "rejected: " +
                        (nl.errors.empty() ? std::string("errors")
                                           : config::to_string(nl.errors.front())) +
                        (nl.errors.size() > 1
                                 ? " (and " + std::to_string(nl.errors.size() - 1) + " more)"
                                 : std::string()),
                unix_now_ns());
        return;
    }
    const auto changes = config::diff(b.running(), *nl.cfg);
    if (changes.empty()) {
        TWAMP_LOG(INFO, "reload: no change");
        rt.reloads_ok.fetch_add(1);
        rt.record_reload(reload_result::unchanged, "unchanged: no change", unix_now_ns());
        return;
    }
    if (config::needs_restart(changes)) {
        std::string first;
        for (const auto& c : changes) {
            if (!c.reloadable) {
                TWAMP_LOG(ERR, "reload refused, running config kept: %s",
                          config::to_string(c).c_str());
                if (first.empty()) {
                    first = config::to_string(c);
                }
            }
        }
        rt.reloads_refused.fetch_add(1);
        rt.record_reload(reload_result::refused, "refused: " + first, unix_now_ns());
        return;
    }
    std::string err;
    // A larger control.max-connections needs the file descriptors for it, beside those open now.
    if (b.control() != nullptr &&
        nl.cfg->control.max_connections != b.running().control.max_connections &&
        !slowpath::ensure_fd_limit(nl.cfg->control.max_connections, b.control()->connections_open(),
                                   err)) {
        TWAMP_LOG(ERR, "reload rejected, running config kept: %s", err.c_str());
        rt.reloads_failed.fetch_add(1);
        rt.record_reload(reload_result::rejected, "rejected: " + err, unix_now_ns());
        return;
    }
    slot_map trial = b.slots();
    const dataplane::dataplane_spec nspec = spec_from_config(*nl.cfg, trial);
    auto nsnap = dataplane::snapshot::build(nspec, b.n_workers(), ++generation, err);
    if (!nsnap) {
        TWAMP_LOG(ERR, "reload rejected, running config kept: %s", err.c_str());
        rt.reloads_failed.fetch_add(1);
        rt.record_reload(reload_result::rejected, "rejected: " + err, unix_now_ns());
        return;
    }
    // Applied, but said: a limit below the number of workers (a share of 0 for some).
    for (const auto& w : config::worker_share_warnings(*nl.cfg, b.n_workers())) {
        TWAMP_LOG(WARNING, "reload: %s", w.c_str());
    }
    const box::reloaded r{*nl.cfg, nspec, trial};
    pending.active = true;
    pending.token = b.apply({std::move(nsnap), nullptr, &r});
    for (const auto& c : changes) {
        pending.changes.push_back(config::to_string(c));
    }
}

// Trouble worth a warning since `prev`, one line per kind.
void warn(const metrics::box_stats& cur, const metrics::box_stats& prev) {
    for (auto r :
         {proto::drop_reason::exception_rate_limit, proto::drop_reason::exception_ring_full,
          proto::drop_reason::tx_full, proto::drop_reason::no_tailroom}) {
        const auto i = static_cast<std::size_t>(r);
        if (cur.drops[i] > prev.drops[i]) {
            TWAMP_LOG(WARNING, "%lu packets dropped (%s) in the last second",
                      cur.drops[i] - prev.drops[i],
                      std::string(proto::drop_reason_names[i]).c_str());
        }
    }
    if (cur.to_wire_dropped() > prev.to_wire_dropped()) {
        TWAMP_LOG(WARNING, "%lu frames from the kernel not sent in the last second",
                  cur.to_wire_dropped() - prev.to_wire_dropped());
    }
    if (cur.sessions_table_full > prev.sessions_table_full) {
        TWAMP_LOG(WARNING, "session table full: %lu new flows reflected statelessly",
                  cur.sessions_table_full - prev.sessions_table_full);
    }
}

} // namespace

// The slow path's rounds until `*sig.stop`: exception path, TWAMP-Control, clock calibration,
// reload, warnings, stats lines.
int run_slow_path(box& b, const loop_settings& sig) {
    runtime& rt = b.rt();
    slowpath::exception_path& exc = b.exceptions();
    slowpath::control_server* control = b.control();
    uint64_t last_cal = rte_rdtsc();
    uint64_t generation = 0;
    pending_reload pending;
    int status = exit_ok;
    const uint64_t hz = rte_get_tsc_hz();
    uint64_t last_warn = last_cal, last_stats = last_cal;
    metrics::box_stats prev_warn = gather(rt), prev_stats = prev_warn;
    while (status == exit_ok && !sig.stop->load(std::memory_order_relaxed)) {
        unsigned moved = exc.poll(b.exception_rings(), b.slow_path_counters());
        moved += exc.watch() ? 1 : 0; // the TAPs' link and addresses
        if (control && control->poll(dataplane::realtime_ns())) {
            ++moved;
        }
        b.reclaim(); // the views no worker sees any more
        for (auto& p : rt.ports) {
            if (p->tx_timestamps && dataplane::poll_tx_timestamp(*p)) {
                ++moved; // a follow-up TX timestamp read or given up
            }
        }
        uint64_t now = rte_rdtsc();
        if (now - last_cal > hz / 10) {
            b.clock().recalibrate();
            const dataplane::clock_map sys = b.clock().read();
            for (auto& p : rt.ports) {
                const dataplane::port_fault f = dataplane::poll_port_health(*p);
                if (f != dataplane::port_fault::none) {
                    // Its queues are gone: nothing here brings them back, a restart does.
                    TWAMP_LOG(ERR,
                              "port %s: %s: it cannot recover while dpdk-twamp runs; stopping "
                              "(exit status %d) to be restarted",
                              p->name.c_str(), dataplane::to_string(f), exit_runtime_fault);
                    status = exit_runtime_fault;
                }
                if (dataplane::refresh_port_time(*p, sys)) {
                    TWAMP_LOG(WARNING,
                              "port %s: the device clock stepped by %lld ns; its mapping restarts "
                              "(replies say so in their Error Estimate until it has settled)",
                              p->name.c_str(), static_cast<long long>(p->fit->last_step_ns()));
                }
            }
            last_cal = now;
        }
        if (pending.active && b.seen_by_workers(pending.token)) {
            finish(rt, pending);
        }
        if (!pending.active && sig.reload->exchange(false, std::memory_order_relaxed)) {
            reload(b, sig.config_path, generation, pending);
        }
        if (now - last_warn > hz) {
            // Trouble worth a warning, at most one line per kind per second.
            metrics::box_stats cur = gather(rt);
            warn(cur, prev_warn);
            prev_warn = std::move(cur);
            last_warn = now;
        }
        if (sig.stats_period && now - last_stats >= sig.stats_period * hz) {
            metrics::box_stats cur = gather(rt);
            const double secs = static_cast<double>(now - last_stats) / static_cast<double>(hz);
            std::fputs(stats_block(cur, prev_stats, secs,
                                   static_cast<int64_t>(dataplane::realtime_ns()))
                               .c_str(),
                       stdout);
            std::fflush(stdout);
            prev_stats = std::move(cur);
            last_stats = now;
        }
        if (!moved) {
            // Nothing to move: let the CPU breathe (the slow path may share a core).
            timespec ts{0, 100'000};
            nanosleep(&ts, nullptr);
        }
    }
    if (pending.active) {
        finish(rt, pending); // applied: say so, even if a stop came first
    }
    return status;
}

} // namespace twamp::app
