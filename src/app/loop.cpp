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
#include "twamp/log/events.hpp"
#include "twamp/log/notify.hpp"
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

uint64_t monotonic_usec() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000 + uint64_t(ts.tv_nsec) / 1000;
}

// A reload's outcome, decided: recorded (runtime::last_reload), said as a `reload` event (err
// when rejected or refused) and told to systemd (READY=1, STATUS= the line).
void decided(box& b, reload_result result, std::string line) {
    runtime& rt = b.rt();
    rt.record_reload(result, line, unix_now_ns());
    const reload_outcome o = rt.last_reload();
    log::event e;
    e.lvl = result == reload_result::rejected || result == reload_result::refused
                    ? log::level::err
                    : log::level::notice;
    e.kind = "reload";
    e.message = "reload " + o.line;
    e.with("result", name_of(result)).with("seq", o.seq);
    if (!rt.config_path.empty()) {
        e.with("config", rt.config_path);
    }
    b.events().emit(std::move(e));
    log::notify(log::ready_state("reload " + o.line));
}

void finish(box& b, pending_reload& p) {
    for (const auto& c : p.changes) {
        TWAMP_LOG(INFO, "reload: %s", c.c_str());
    }
    b.rt().reloads_ok.fetch_add(1);
    decided(b, reload_result::applied,
            "applied: " + std::to_string(p.changes.size()) +
                    (p.changes.size() == 1 ? " change" : " changes"));
    p = {};
}

// SIGHUP: re-read the file; apply what may change live through a new snapshot.
void reload(box& b, const std::string& path, uint64_t& generation, pending_reload& pending) {
    runtime& rt = b.rt();
    log::notify(log::reloading_state(monotonic_usec(), "reloading " + path));
    config::load_result nl = config::load_file(path);
    if (!nl.ok()) {
        for (const auto& e : nl.errors) {
            TWAMP_LOG(ERR, "reload rejected, running config kept: %s",
                      config::to_string(e).c_str());
        }
        rt.reloads_failed.fetch_add(1);
        decided(b, reload_result::rejected,
                "rejected: " +
                        (nl.errors.empty() ? std::string("errors")
                                           : config::to_string(nl.errors.front())) +
                        (nl.errors.size() > 1
                                 ? " (and " + std::to_string(nl.errors.size() - 1) + " more)"
                                 : std::string()));
        return;
    }
    const auto changes = config::diff(b.running(), *nl.cfg);
    if (changes.empty()) {
        TWAMP_LOG(INFO, "reload: no change");
        rt.reloads_ok.fetch_add(1);
        decided(b, reload_result::unchanged, "unchanged: no change");
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
        decided(b, reload_result::refused, "refused: " + first);
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
        decided(b, reload_result::rejected, "rejected: " + err);
        return;
    }
    slot_map trial = b.slots();
    const dataplane::dataplane_spec nspec = spec_from_config(*nl.cfg, trial);
    auto nsnap = dataplane::snapshot::build(nspec, b.n_workers(), ++generation, err);
    if (!nsnap) {
        TWAMP_LOG(ERR, "reload rejected, running config kept: %s", err.c_str());
        rt.reloads_failed.fetch_add(1);
        decided(b, reload_result::rejected, "rejected: " + err);
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

// Limits reached since `prev` (a second ago), one event per kind: what a limit or a full queue
// dropped, flows the session table could not hold.
void warn(log::logger& ev, const metrics::box_stats& cur, const metrics::box_stats& prev) {
    using dr = proto::drop_reason;
    struct limit {
        dr reason;
        const char* kind;
    };
    static constexpr limit limits[] = {
            {dr::exception_rate_limit, "limit.rate"},
            {dr::exception_control_rate_limit, "limit.rate"},
            {dr::exception_neighbor_rate_limit, "limit.rate"},
            {dr::rate_limit_reflector, "limit.rate"},
            {dr::rate_limit_prefix, "limit.rate"},
            {dr::rate_limit_source, "limit.rate"},
            {dr::session_rate_limit, "limit.rate"},
            {dr::session_cap, "limit.session_cap"},
            {dr::exception_ring_full, "limit.exception_ring"},
            {dr::tx_full, "limit.tx_queue"},
            {dr::no_tailroom, "limit.tailroom"},
    };
    for (const auto& l : limits) {
        const auto i = static_cast<std::size_t>(l.reason);
        if (cur.drops[i] > prev.drops[i]) {
            const std::string name(proto::drop_reason_names[i]);
            log::event e;
            e.lvl = log::level::warning;
            e.kind = l.kind;
            e.message = std::to_string(cur.drops[i] - prev.drops[i]) + " packets dropped (" + name +
                        ") in the last second";
            e.with("reason", name).with("dropped", cur.drops[i] - prev.drops[i]);
            ev.emit(std::move(e));
        }
    }
    if (cur.to_wire_dropped() > prev.to_wire_dropped()) {
        log::event e;
        e.lvl = log::level::warning;
        e.kind = "limit.to_wire";
        e.message = std::to_string(cur.to_wire_dropped() - prev.to_wire_dropped()) +
                    " frames from the kernel not sent in the last second";
        e.with("dropped", cur.to_wire_dropped() - prev.to_wire_dropped());
        ev.emit(std::move(e));
    }
    if (cur.sessions_table_full > prev.sessions_table_full) {
        log::event e;
        e.lvl = log::level::warning;
        e.kind = "limit.session_table";
        e.message = "session table full: " +
                    std::to_string(cur.sessions_table_full - prev.sessions_table_full) +
                    " new flows reflected statelessly in the last second";
        e.with("flows", cur.sessions_table_full - prev.sessions_table_full);
        ev.emit(std::move(e));
    }
}

// A port's link as poll_port_health last read it: link.down (warning) / link.up (notice) on
// each transition, and its first reading (link.up at info, or link.down).
void link_events(log::logger& ev, const dataplane::port_runtime& p, uint8_t& seen) {
    const uint8_t now = p.link_state.load(std::memory_order_relaxed);
    if (now == seen || now == dataplane::port_runtime::link_unknown) {
        return;
    }
    const bool first = seen == dataplane::port_runtime::link_unknown;
    seen = now;
    log::event e;
    const bool up = now == dataplane::port_runtime::link_up;
    // The first reading too (info when up): the link's state from the start.
    e.lvl = up ? (first ? log::level::info : log::level::notice) : log::level::warning;
    e.kind = up ? "link.up" : "link.down";
    e.message = "port " + p.name + ": link " + (up ? "up" : "down");
    e.with("port", p.name);
    if (up) {
        e.with("speed_mbps", p.link_speed_mbps.load(std::memory_order_relaxed));
    }
    e.with("changes", p.link_changes.load(std::memory_order_relaxed));
    ev.emit(std::move(e));
}

// The clock's synchronization (the kernel's discipline, as /twamp/clock says it): an event on
// each change, and at start when it is not synchronized.
void clock_events(log::logger& ev, const dataplane::clock_map& m, int& seen) {
    const int now = m.synchronized ? 1 : 0;
    if (now == seen) {
        return;
    }
    const bool first = seen < 0;
    seen = now;
    if (first && now == 1) {
        return;
    }
    log::event e;
    e.lvl = now ? log::level::notice : log::level::warning;
    e.kind = now ? "clock.synchronized" : "clock.unsynchronized";
    e.message = now ? "the system clock is synchronized (timestamps say so again)"
                    : "the system clock is not synchronized (replies' Error Estimate say so)";
    e.with("error_ns", m.error_ns);
    ev.emit(std::move(e));
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
    log::logger& ev = b.events();
    std::vector<uint8_t> link_seen(rt.ports.size(), dataplane::port_runtime::link_unknown);
    int clock_seen = -1; // not read yet
    {
        // A TSC without constant_tsc/nonstop_tsc does not map to real time: said at start
        // (EAL says it at its warning level only, which the quiet start-up hides).
        std::string cpuinfo;
        if (std::FILE* f = std::fopen("/proc/cpuinfo", "r")) {
            char buf[4096];
            for (std::size_t n;
                 (n = std::fread(buf, 1, sizeof buf, f)) > 0 && cpuinfo.size() < (1u << 22);) {
                cpuinfo.append(buf, n);
            }
            std::fclose(f);
        }
        for (auto& e : log::tsc_events(cpuinfo)) {
            e.with("tsc_hz", hz);
            ev.emit(std::move(e));
        }
    }
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
            clock_events(ev, sys, clock_seen);
            for (std::size_t pi = 0; pi < rt.ports.size(); ++pi) {
                auto& p = rt.ports[pi];
                const dataplane::port_fault f = dataplane::poll_port_health(*p);
                link_events(ev, *p, link_seen[pi]);
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
            finish(b, pending);
        }
        if (!pending.active && sig.reload->exchange(false, std::memory_order_relaxed)) {
            rt.reloads_started.fetch_add(1, std::memory_order_relaxed); // decided as seq N
            reload(b, sig.config_path, generation, pending);
        }
        if (now - last_warn > hz) {
            // Trouble worth a warning, at most one line per kind per second.
            metrics::box_stats cur = gather(rt);
            warn(ev, cur, prev_warn);
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
        ev.tick(); // "suppressed" for kinds whose flood is over
        if (!moved) {
            // Nothing to move: let the CPU breathe (the slow path may share a core).
            timespec ts{0, 100'000};
            nanosleep(&ts, nullptr);
        }
    }
    if (pending.active) {
        finish(b, pending); // applied: say so, even if a stop came first
    }
    return status;
}

} // namespace twamp::app
