// dpdk-twamp <EAL args> -- -c FILE [--check] [--stats-period N] [--help] [--version]
//
// The first lcore is the slow path (exception path, clock calibration, TWAMP-Control server,
// reload and metrics); every other lcore is a worker with its own RX/TX queue on every port.
#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

#include <sched.h>
#include <signal.h>
#include <time.h>

#include <rte_log.h>
#include <rte_version.h>

#include "args.hpp"
#include "box.hpp"
#include "exit_summary.hpp"
#include "loop.hpp"
#include "summary.hpp"

#include "twamp/config/config.hpp"
#include "twamp/config/warnings.hpp"
#include "twamp/log/events.hpp"
#include "twamp/log/notify.hpp"

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
    return app::exit_start_failed;
}

} // namespace

int main(int argc, char** argv) {
    timespec start_ts{};
    clock_gettime(CLOCK_REALTIME, &start_ts);
    const int64_t start_unix_ns = int64_t(start_ts.tv_sec) * 1'000'000'000 + start_ts.tv_nsec;
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
        // The workers the EAL options name (-l/--lcores/-c), else every CPU but one, as EAL.
        unsigned workers = app::eal_worker_count(sp.eal_argc, argv);
        if (workers == 0 && sp.eal_argc <= 1) {
            cpu_set_t cpus;
            if (sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) > 1) {
                workers = static_cast<unsigned>(CPU_COUNT(&cpus)) - 1;
            }
        }
        for (const auto& w : config::worker_share_warnings(cfg, workers)) {
            std::printf("%s: warning: %s\n", a.config.c_str(), w.c_str());
        }
        return 0;
    }
    app::slot_map slots;
    const dataplane::dataplane_spec spec = app::spec_from_config(cfg, slots);

    std::vector<char*> eal_argv(argv, argv + sp.eal_argc);
    // Quieter EAL and driver logs unless the user chose levels (default_eal_log_args).
    std::vector<std::string> quiet = app::default_eal_log_args(sp.eal_argc, argv);
    for (auto& q : quiet) {
        eal_argv.push_back(q.data());
    }
    const int eal_argc = static_cast<int>(eal_argv.size());
    eal_argv.push_back(nullptr);
    // DPDK's log (EAL, drivers, TWAMP_LOG): our own stream, before EAL's default one (which
    // writes each line to stderr and to syslog(3), both blocking, so the journal had it twice):
    // stderr only, never blocking (log::line_writer), "<N>" priorities for the journal.
    if (std::FILE* s = log::open_rte_stream(log::stderr_writer(), log::stderr_is_journal(),
                                            [] { return rte_log_cur_msg_loglevel(); })) {
        rte_openlog_stream(s);
    }
    std::string error;
    app::box::origin from;
    from.config_path = a.config;
    from.config_source = "file " + a.config;
    from.start_unix_ns = start_unix_ns;
    auto box = app::box::create(eal_argc, eal_argv.data(), cfg, spec, slots, &g_stop, from, error);
    if (!box) {
        return fail(error);
    }
    app::print_startup(*box, DPDK_TWAMP_VERSION);
    for (const auto& w : config::worker_share_warnings(cfg, box->n_workers())) {
        std::printf("  warning: %s\n", w.c_str());
    }
    box->launch_workers();
    // systemd (Type=notify): ready once the ports are up and the workers run.
    log::notify(log::ready_state(app::ready_status(*box)));
    const int status = app::run_slow_path(*box, {&g_stop, &g_reload, a.config, a.stats_period});
    log::notify(log::stopping_state("stopping"));
    const unsigned in_use = box->stop();
    box->events().flush(); // what the stop's own events had limited: counted in the log
    app::print_summary(app::gather(box->rt()), in_use);
    return status;
}
