// dpdk-twamp <EAL args> -- -c FILE [--check] [--stats-period N] [--help] [--version]
//
// The first lcore is the slow path (exception path, clock calibration, TWAMP-Control server,
// reload and metrics); every other lcore is a worker with its own RX/TX queue on every port.
#include <signal.h>

#include <rte_version.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

#include "args.hpp"
#include "box.hpp"
#include "log.hpp"
#include "spec_from_config.hpp"
#include "../dataplane/port.hpp"
#include <rte_cycles.h>
#include <time.h>
#include "summary.hpp"
#include "twamp/config/config.hpp"

#ifndef DPDK_TWAMP_VERSION
#define DPDK_TWAMP_VERSION "unknown"
#endif

using namespace twamp;

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

void on_signal(int) {
    g_stop.store(true, std::memory_order_relaxed);
}

void on_hup(int) {
    g_reload.store(true, std::memory_order_relaxed);
}

int fail(const std::string& msg) {
    std::fprintf(stderr, "dpdk-twamp: %s\n", msg.c_str());
    return 1;
}

} // namespace

namespace twamp::app {
namespace {
struct loop_settings {
    const std::atomic<bool>* stop = nullptr; // set by SIGINT/SIGTERM: end the loop
    std::atomic<bool>* reload = nullptr;     // set by SIGHUP: re-read config_path
    std::string config_path;
    unsigned stats_period = 0; // seconds between stats blocks on stdout, 0 = none
};

// SIGHUP: re-read the file; apply what may change live through a new snapshot.
void reload(box& b, const std::string& path, uint64_t& generation) {
    runtime& rt = b.rt();
    config::load_result nl = config::load_file(path);
    if (!nl.ok()) {
        for (const auto& e : nl.errors) {
            TWAMP_LOG(ERR, "reload rejected, running config kept: %s",
                      config::to_string(e).c_str());
        }
        rt.reloads_failed.fetch_add(1);
        return;
    }
    const auto changes = config::diff(b.running(), *nl.cfg);
    if (changes.empty()) {
        TWAMP_LOG(INFO, "reload: no change");
        rt.reloads_ok.fetch_add(1);
        return;
    }
    if (config::needs_restart(changes)) {
        for (const auto& c : changes) {
            if (!c.reloadable) {
                TWAMP_LOG(ERR, "reload refused, running config kept: %s",
                          config::to_string(c).c_str());
            }
        }
        rt.reloads_refused.fetch_add(1);
        return;
    }
    slot_map trial = b.slots();
    const dataplane::dataplane_spec nspec = spec_from_config(*nl.cfg, trial);
    std::string err;
    auto nsnap = dataplane::snapshot::build(nspec, b.n_workers(), ++generation, err);
    if (!nsnap) {
        TWAMP_LOG(ERR, "reload rejected, running config kept: %s", err.c_str());
        rt.reloads_failed.fetch_add(1);
        return;
    }
    b.apply_reload(std::move(nsnap), *nl.cfg, nspec, trial);
    for (const auto& c : changes) {
        TWAMP_LOG(INFO, "reload: %s", config::to_string(c).c_str());
    }
    rt.reloads_ok.fetch_add(1);
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

// The slow path's rounds until `*sig.stop`: exception path, TWAMP-Control, clock calibration,
// reload, warnings, stats lines.
void run_slow_path(box& b, const loop_settings& sig) {
    runtime& rt = b.rt();
    slowpath::exception_path& exc = b.exceptions();
    slowpath::control_server* control = b.control();
    uint64_t last_cal = rte_rdtsc();
    uint64_t generation = 0;
    const uint64_t hz = rte_get_tsc_hz();
    uint64_t last_warn = last_cal, last_stats = last_cal;
    metrics::box_stats prev_warn = gather(rt), prev_stats = prev_warn;
    while (!sig.stop->load(std::memory_order_relaxed)) {
        unsigned moved = exc.poll(b.exception_rings(), b.slow_path_counters());
        moved += exc.watch() ? 1 : 0; // the TAPs' link and addresses
        if (control && control->poll(dataplane::realtime_ns())) {
            ++moved;
        }
        uint64_t now = rte_rdtsc();
        if (now - last_cal > hz / 10) {
            b.clock().recalibrate();
            for (auto& p : rt.ports) {
                dataplane::recalibrate_port_clock(*p);
            }
            last_cal = now;
        }
        if (sig.reload->exchange(false, std::memory_order_relaxed)) {
            reload(b, sig.config_path, generation);
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
}

} // namespace
} // namespace twamp::app

int main(int argc, char** argv) {
    // Signals first: a SIGHUP (systemctl reload) or SIGTERM that arrives while the config is
    // read or EAL initialises (~0.5 s) would otherwise take the default action and end the
    // process (exit 129). Both only set a flag: a stop ends the run as soon as the slow path
    // starts, a reload is done by the slow path's first round (re-reading the file then).
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_hup);

    const app::split_args sp = app::split_command_line(argc, argv);
    if (!sp.error.empty()) {
        std::fputs(app::usage_text, stderr);
        return fail(sp.error);
    }
    const app::app_args a = app::parse_app_args(sp.ours);
    if (a.help) {
        std::fputs(app::usage_text, stdout);
        return 0;
    }
    if (a.version) {
        std::printf("%s\n", app::version_text(DPDK_TWAMP_VERSION, rte_version()).c_str());
        return 0;
    }
    if (!a.error.empty()) {
        std::fputs(app::usage_text, stderr);
        return fail(a.error);
    }

    config::load_result lr = config::load_file(a.config);
    if (!lr.ok()) {
        std::fprintf(stderr, "%s", config::to_string(lr.errors).c_str());
        return fail(a.config + ": configuration rejected (" + std::to_string(lr.errors.size()) +
                    " error" + (lr.errors.size() == 1 ? "" : "s") + ")");
    }
    const config::config& cfg = *lr.cfg;
    if (a.check) {
        std::printf("%s: configuration OK (%zu port%s, %zu reflector%s)\n", a.config.c_str(),
                    cfg.ports.size(), cfg.ports.size() == 1 ? "" : "s", cfg.reflectors.size(),
                    cfg.reflectors.size() == 1 ? "" : "s");
        return 0;
    }
    app::slot_map slots;
    const dataplane::dataplane_spec spec = app::spec_from_config(cfg, slots);

    std::vector<char*> eal_argv(argv, argv + sp.eal_argc);
    eal_argv.push_back(nullptr);
    std::string error;
    auto box = app::box::create(sp.eal_argc, eal_argv.data(), cfg, spec, slots, &g_stop, error);
    if (!box) {
        return fail(error);
    }
    app::print_startup(*box, DPDK_TWAMP_VERSION);
    box->launch_workers();
    app::run_slow_path(*box, {&g_stop, &g_reload, a.config, a.stats_period});
    const unsigned in_use = box->stop();
    app::print_stopped(app::gather(box->rt()), in_use);
    return 0;
}
