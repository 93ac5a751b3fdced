// dpdk-twamp <EAL args> -- -c FILE [--check] [--stats-period N] [--help] [--version]
//
// The first lcore is the slow path (exception path, clock calibration, TWAMP-Control server,
// reload and metrics); every other lcore is a worker with its own RX/TX queue on every port.
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_version.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_pdump.h>
#include <rte_rcu_qsbr.h>

#include <prometheus/exposer.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../dataplane/clock.hpp"
#include "../dataplane/counters.hpp"
#include "../dataplane/port.hpp"
#include "../dataplane/sessions.hpp"
#include "../dataplane/snapshot.hpp"
#include "../dataplane/worker.hpp"
#include "../slowpath/exception.hpp"
#include "args.hpp"
#include "log.hpp"
#include "runtime.hpp"
#include "spec_from_config.hpp"
#include "summary.hpp"
#include "twamp/metrics/prometheus.hpp"
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

int mp_probe(const rte_mp_msg*, const void*) {
    return 0;
}

// dpdk-dumpcap is a secondary process: it needs EAL's multi-process channel and our memory in
// hugepage files it can map. rte_pdump_init() also succeeds when the channel is off
// (--no-shconf, --in-memory: it ignores ENOTSUP, measured with DPDK 22.11), so ask EAL itself.
bool capture_possible() {
    if (!rte_eal_has_hugepages() || rte_mp_action_register("twamp_mp_probe", mp_probe) != 0) {
        return false;
    }
    rte_mp_action_unregister("twamp_mp_probe");
    return true;
}

int fail(const std::string& msg) {
    std::fprintf(stderr, "dpdk-twamp: %s\n", msg.c_str());
    return 1;
}

} // namespace

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
    config::config running = cfg;

    const int eal_argc = sp.eal_argc;
    std::vector<char*> eal_argv(argv, argv + eal_argc);
    eal_argv.push_back(nullptr);
    if (rte_eal_init(eal_argc, eal_argv.data()) < 0) {
        std::string why = rte_strerror(rte_errno);
        return fail("EAL initialisation failed: " + why +
                    " (no hugepages reserved? reserve some, or add --no-huge -m 1024 for a lab; "
                    "see the EAL messages above)");
    }

    app::init_log();
    // Capture with dpdk-dumpcap (a secondary process): needs EAL's multi-process support.
    const bool pdump_ok = rte_pdump_init() == 0 && capture_possible();

    const unsigned n_workers = rte_lcore_count() - 1;
    if (n_workers == 0) {
        rte_eal_cleanup();
        return fail("not enough lcores: give at least two with -l/--lcores (the first is the "
                    "slow path, the others are workers)");
    }
    if (n_workers >= RTE_MAX_LCORE) {
        rte_eal_cleanup();
        return fail("too many lcores");
    }

    int ts_off = -1;
    uint64_t ts_flag = 0;
    rte_mbuf_dyn_rx_timestamp_register(&ts_off, &ts_flag);

    // Mempool: every RX descriptor of every queue full, every TX descriptor in flight, the
    // rings between workers and the slow path, the TAP queues, plus per-lcore caches.
    const unsigned n_ports = static_cast<unsigned>(spec.ports.size());
    const unsigned ring_size = 1024;
    const unsigned n_mbufs =
            n_ports * (n_workers * (spec.rx_desc + spec.tx_desc + spec.burst) + ring_size + 1024) +
            n_workers * ring_size + (n_workers + 1) * 256 + 4096;
    rte_mempool* pool = rte_pktmbuf_pool_create("mbufs", n_mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                                rte_socket_id());
    if (!pool) {
        std::string why = rte_strerror(rte_errno);
        rte_eal_cleanup();
        return fail("cannot create a pool of " + std::to_string(n_mbufs) + " mbufs: " + why +
                    " (give EAL more memory: -m MB or more hugepages)");
    }

    int rc = 0;
    std::string error;
    app::runtime rt;
    auto& ports = rt.ports;
    std::unique_ptr<prometheus::Exposer> exposer;
    std::shared_ptr<metrics::collector> collector; // the Exposer only holds a weak_ptr
    std::vector<rte_ring*> exc_rings, wire_rings;
    slowpath::exception_path exc;
    dataplane::sw_clock clock;
    std::atomic<const dataplane::snapshot*> snap_ptr{nullptr};
    std::atomic<const dataplane::control_table*> control_ptr{nullptr};
    std::unique_ptr<dataplane::control_table> control_tab;
    std::unique_ptr<slowpath::control_server> control;
    std::unique_ptr<dataplane::snapshot> snap;
    rte_rcu_qsbr* qsv = nullptr;
    std::vector<std::unique_ptr<dataplane::session_table>> sessions;
    auto& counters = rt.workers;
    std::vector<dataplane::worker_args> wargs(n_workers);

    auto cleanup = [&]() {
        exposer.reset(); // no scrape may read what follows once it is gone
        control.reset();
        control_tab.reset();
        for (auto& p : ports) {
            dataplane::stop_port(p->port_id);
        }
        exc.close();
        sessions.clear();
        snap.reset();
        for (auto* r : exc_rings) {
            rte_ring_free(r);
        }
        for (auto* r : wire_rings) {
            rte_ring_free(r);
        }
        rte_free(qsv);
        for (auto* c : counters) {
            c->~worker_counters();
            rte_free(c);
        }
        rte_mempool_free(pool);
        rte_eal_cleanup();
    };

    for (unsigned w = 0; w <= n_workers; ++w) {
        void* mem = rte_zmalloc("counters", sizeof(dataplane::worker_counters), 64);
        if (!mem) {
            cleanup();
            return fail("out of memory for counters");
        }
        counters.push_back(new (mem) dataplane::worker_counters());
    }
    for (unsigned w = 0; w < n_workers; ++w) {
        char name[RTE_RING_NAMESIZE];
        std::snprintf(name, sizeof name, "exc_w%u", w);
        rte_ring* r =
                rte_ring_create(name, ring_size, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (!r) {
            cleanup();
            return fail(std::string("rte_ring_create: ") + rte_strerror(rte_errno));
        }
        exc_rings.push_back(r);
    }

    for (unsigned p = 0; p < n_ports; ++p) {
        auto pr = std::make_unique<dataplane::port_runtime>();
        if (!dataplane::setup_port(*pr, spec.ports[p], n_workers, spec.rx_desc, spec.tx_desc, pool,
                                   error)) {
            cleanup();
            return fail(error);
        }
        char name[RTE_RING_NAMESIZE];
        std::snprintf(name, sizeof name, "wire_p%u", p);
        rte_ring* r =
                rte_ring_create(name, ring_size, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (!r) {
            cleanup();
            return fail(std::string("rte_ring_create: ") + rte_strerror(rte_errno));
        }
        wire_rings.push_back(r);
        if (!spec.ports[p].exception_iface.empty() &&
            !exc.add_port(spec.ports[p], pr->port_id, pr->mac.addr_bytes, pool, r, error)) {
            ports.push_back(std::move(pr));
            cleanup();
            return fail(error);
        }
        ports.push_back(std::move(pr));
    }

    clock.init();
    snap = dataplane::snapshot::build(spec, n_workers, 0, error);
    if (!snap) {
        cleanup();
        return fail(error);
    }
    snap_ptr.store(snap.get(), std::memory_order_release);

    const size_t qsz = rte_rcu_qsbr_get_memsize(n_workers);
    qsv = static_cast<rte_rcu_qsbr*>(rte_zmalloc("rcu", qsz, RTE_CACHE_LINE_SIZE));
    if (!qsv || rte_rcu_qsbr_init(qsv, n_workers) != 0) {
        cleanup();
        return fail("cannot set up RCU");
    }

    for (unsigned w = 0; w < n_workers; ++w) {
        auto st = std::make_unique<dataplane::session_table>();
        if (!st->init(w, snap->session_capacity_per_worker(), error)) {
            cleanup();
            return fail(error);
        }
        sessions.push_back(std::move(st));
        dataplane::worker_args& wa = wargs[w];
        wa.index = w;
        wa.burst = spec.burst;
        wa.exception_ring = exc_rings[w];
        wa.qsv = qsv;
        wa.snap = &snap_ptr;
        if (cfg.control.enabled) {
            wa.control = &control_ptr;
            wa.control_slot = slots.slot_of(app::control_context_name);
        }
        wa.clock = &clock;
        wa.sessions = sessions.back().get();
        wa.counters = counters[w];
        wa.stop = &g_stop;
        rt.queries.push_back(std::make_unique<dataplane::session_query>());
        wa.query = rt.queries.back().get();
        wa.ts_dynfield_offset = ts_off;
        wa.ts_dynflag = ts_flag;
        for (unsigned p = 0; p < n_ports; ++p) {
            dataplane::worker_port wp;
            wp.port_id = ports[p]->port_id;
            wp.port_index = static_cast<uint16_t>(p);
            wp.queue = static_cast<uint16_t>(w);
            wp.mac = ports[p]->mac;
            wp.ts = ports[p]->ts.get();
            wp.to_wire = w == 0 ? wire_rings[p] : nullptr;
            wa.ports.push_back(wp);
        }
    }

    rt.n_workers = n_workers;
    rt.clock = &clock;
    for (const auto& r : cfg.reflectors) {
        rt.reflectors.push_back(
                {r.name, std::string(config::to_string(r.mode)), slots.slot_of(r.name)});
    }
    if (cfg.metrics.enabled) {
        try {
            exposer = std::make_unique<prometheus::Exposer>(cfg.metrics.listen);
            collector = std::make_shared<metrics::collector>([&rt] { return app::gather(rt); },
                                                             cfg.metrics.labels);
            exposer->RegisterCollectable(collector);
        } catch (const std::exception& e) {
            // prometheus-cpp only says "null context when constructing CivetServer": ask the
            // system why the address cannot be bound.
            std::string why =
                    metrics::listen_problem(cfg.metrics.address.to_string(), cfg.metrics.port);
            cleanup();
            return fail("metrics.listen " + cfg.metrics.listen +
                        ": cannot listen: " + (why.empty() ? std::string(e.what()) : why));
        }
    }

    if (cfg.control.enabled) {
        // Accepted sessions reach the workers as a new control table, published like the
        // snapshot: swap the pointer, wait out an RCU grace period, free the old one.
        control = std::make_unique<slowpath::control_server>(
                cfg, [&](std::unique_ptr<dataplane::control_table> t) {
                    control_ptr.store(t.get(), std::memory_order_release);
                    rte_rcu_qsbr_synchronize(qsv, RTE_QSBR_THRID_INVALID);
                    control_tab = std::move(t);
                });
        if (!control->start(error)) {
            cleanup();
            return fail(error);
        }
        rt.control = control.get();
        std::lock_guard<std::mutex> lock(rt.mu);
        rt.reflectors.push_back(
                {"twamp-control", "twamp", slots.slot_of(app::control_context_name)});
    }
    const std::string telemetry_error = app::register_telemetry(rt);

    // Start-up summary: what runs where.
    std::printf("dpdk-twamp %s: %u worker%s, %u port%s, %zu reflector%s\n", DPDK_TWAMP_VERSION,
                n_workers, n_workers == 1 ? "" : "s", n_ports, n_ports == 1 ? "" : "s",
                cfg.reflectors.size(), cfg.reflectors.size() == 1 ? "" : "s");
    for (unsigned p = 0; p < n_ports; ++p) {
        const auto& pr = *ports[p];
        const auto* m = pr.mac.addr_bytes;
        std::printf(
                "  port %s: %s (%s) mac %02x:%02x:%02x:%02x:%02x:%02x, timestamps %s%s, rss %s, "
                "exception %s\n",
                pr.name.c_str(), spec.ports[p].device.c_str(), pr.driver.c_str(), m[0], m[1], m[2],
                m[3], m[4], m[5], pr.ts_source(),
                pr.ts ? (pr.ts_calibrated ? " (device clock, calibrated)" : " (stated unit)") : "",
                pr.rss ? "on" : "off",
                spec.ports[p].exception_iface.empty() ? "none"
                                                      : spec.ports[p].exception_iface.c_str());
    }
    if (exposer) {
        std::printf("  metrics: http://%s/metrics\n", cfg.metrics.listen.c_str());
    }
    if (control) {
        std::printf("  control: TWAMP-Control on %s port %u, receiver ports %u-%u, modes %s\n",
                    cfg.control.listen.to_string().c_str(), cfg.control.port,
                    cfg.control.receiver_ports.min, cfg.control.receiver_ports.max,
                    config::modes_to_string(cfg.control.modes).c_str());
    }
    std::printf("  capture: %s\n",
                pdump_ok ? "dpdk-dumpcap ready"
                         : "unavailable (multi-process off: --no-shconf/--in-memory, or no "
                           "hugepages)");
    if (!telemetry_error.empty()) {
        std::printf("  warning: telemetry commands not registered: %s\n", telemetry_error.c_str());
    }
    for (const auto& wmsg : exc.warnings()) {
        std::printf("  warning: %s\n", wmsg.c_str());
    }
    for (const auto& r : cfg.reflectors) {
        std::string ports_s;
        for (auto u : r.udp_ports) {
            ports_s += (ports_s.empty() ? "" : ",") + std::to_string(u);
        }
        std::printf("  reflector %s: %s on %s vlan %u udp %s, %zu prefix%s, %s\n", r.name.c_str(),
                    std::string(config::to_string(r.mode)).c_str(), r.port.c_str(), r.vlan,
                    ports_s.c_str(), r.prefixes.size(), r.prefixes.size() == 1 ? "" : "es",
                    r.stateful ? "stateful" : "stateless");
    }
    std::fflush(stdout);

    unsigned w = 0;
    unsigned lcore;
    RTE_LCORE_FOREACH_WORKER(lcore) {
        rte_eal_remote_launch(dataplane::worker_main, &wargs[w++], lcore);
    }

    // The slow path.
    uint64_t last_cal = rte_rdtsc();
    uint64_t generation = 0;
    const uint64_t hz = rte_get_tsc_hz();
    uint64_t last_warn = last_cal, last_stats = last_cal;
    metrics::box_stats prev_warn = app::gather(rt), prev_stats = prev_warn;
    while (!g_stop.load(std::memory_order_relaxed)) {
        unsigned moved = exc.poll(exc_rings, *counters[n_workers]);
        moved += exc.watch() ? 1 : 0; // the TAPs' link and addresses
        if (control && control->poll(dataplane::realtime_ns())) {
            ++moved;
        }
        uint64_t now = rte_rdtsc();
        if (now - last_cal > hz / 10) {
            clock.recalibrate();
            for (auto& p : ports) {
                dataplane::recalibrate_port_clock(*p);
            }
            last_cal = now;
        }
        if (g_reload.exchange(false, std::memory_order_relaxed)) {
            // SIGHUP: re-read the file; apply what may change live through a new snapshot.
            config::load_result nl = config::load_file(a.config);
            if (!nl.ok()) {
                for (const auto& e : nl.errors) {
                    TWAMP_LOG(ERR, "reload rejected, running config kept: %s",
                              config::to_string(e).c_str());
                }
                rt.reloads_failed.fetch_add(1);
            } else if (auto changes = config::diff(running, *nl.cfg); changes.empty()) {
                TWAMP_LOG(INFO, "reload: no change");
                rt.reloads_ok.fetch_add(1);
            } else if (config::needs_restart(changes)) {
                for (const auto& c : changes) {
                    if (!c.reloadable) {
                        TWAMP_LOG(ERR, "reload refused, running config kept: %s",
                                  config::to_string(c).c_str());
                    }
                }
                rt.reloads_refused.fetch_add(1);
            } else {
                app::slot_map trial = slots;
                const dataplane::dataplane_spec nspec = app::spec_from_config(*nl.cfg, trial);
                std::string err;
                auto nsnap = dataplane::snapshot::build(nspec, n_workers, ++generation, err);
                if (!nsnap) {
                    TWAMP_LOG(ERR, "reload rejected, running config kept: %s", err.c_str());
                    rt.reloads_failed.fetch_add(1);
                } else {
                    // Publish, wait until no worker can still hold the old one, free it.
                    snap_ptr.store(nsnap.get(), std::memory_order_release);
                    rte_rcu_qsbr_synchronize(qsv, RTE_QSBR_THRID_INVALID);
                    snap = std::move(nsnap);
                    slots = trial;
                    for (std::size_t p = 0; p < ports.size() && p < nspec.ports.size(); ++p) {
                        exc.set_rate_limit(ports[p]->port_id,
                                           nspec.ports[p].exception_rate_limit_pps);
                    }
                    {
                        std::lock_guard<std::mutex> lock(rt.mu);
                        rt.reflectors.clear();
                        for (const auto& r : nl.cfg->reflectors) {
                            rt.reflectors.push_back({r.name, std::string(config::to_string(r.mode)),
                                                     slots.slot_of(r.name)});
                        }
                        if (control) {
                            rt.reflectors.push_back({"twamp-control", "twamp",
                                                     slots.slot_of(app::control_context_name)});
                        }
                    }
                    if (control) {
                        control->reconfigure(*nl.cfg); // prefixes, limits, timers
                    }
                    for (const auto& c : changes) {
                        TWAMP_LOG(INFO, "reload: %s", config::to_string(c).c_str());
                    }
                    running = std::move(*nl.cfg);
                    rt.reloads_ok.fetch_add(1);
                }
            }
        }
        if (now - last_warn > hz) {
            // Trouble worth a warning, at most one line per kind per second.
            metrics::box_stats cur = app::gather(rt);
            for (auto r :
                 {proto::drop_reason::exception_rate_limit, proto::drop_reason::exception_ring_full,
                  proto::drop_reason::tx_full, proto::drop_reason::no_tailroom}) {
                const auto i = static_cast<std::size_t>(r);
                if (cur.drops[i] > prev_warn.drops[i]) {
                    TWAMP_LOG(WARNING, "%lu packets dropped (%s) in the last second",
                              cur.drops[i] - prev_warn.drops[i],
                              std::string(proto::drop_reason_names[i]).c_str());
                }
            }
            if (cur.to_wire_dropped() > prev_warn.to_wire_dropped()) {
                TWAMP_LOG(WARNING, "%lu frames from the kernel not sent in the last second",
                          cur.to_wire_dropped() - prev_warn.to_wire_dropped());
            }
            if (cur.sessions_table_full > prev_warn.sessions_table_full) {
                TWAMP_LOG(WARNING, "session table full: %lu new flows reflected statelessly",
                          cur.sessions_table_full - prev_warn.sessions_table_full);
            }
            prev_warn = std::move(cur);
            last_warn = now;
        }
        if (a.stats_period && now - last_stats >= a.stats_period * hz) {
            metrics::box_stats cur = app::gather(rt);
            const double secs = static_cast<double>(now - last_stats) / static_cast<double>(hz);
            std::fputs(app::stats_block(cur, prev_stats, secs,
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

    if (control) {
        control->shutdown(dataplane::realtime_ns());
    }
    rte_eal_mp_wait_lcore();
    // Drain what is left in the rings before the summary, counted: received frames still
    // queued for the kernel go there (or are dropped by reason), frames from the kernel no
    // worker will send are from-kernel drops.
    exc.drain_to_kernel(exc_rings, *counters[n_workers]);
    for (auto* r : wire_rings) {
        rte_mbuf* m = nullptr;
        while (rte_ring_sc_dequeue(r, reinterpret_cast<void**>(&m)) == 0) {
            rte_pktmbuf_free(m);
            dataplane::bump(counters[n_workers]->to_wire_drops[static_cast<std::size_t>(
                                    dataplane::to_wire_drop::shutdown)],
                            1);
        }
    }
    // Devices closed, rings drained: every mbuf must be back in the pool (a leak shows here).
    for (auto& p : ports) {
        dataplane::stop_port(p->port_id);
    }
    ports.clear();
    exc.close();
    const unsigned in_use = rte_mempool_in_use_count(pool);
    app::print_summary(app::gather(rt), in_use);
    cleanup();
    return rc;
}
