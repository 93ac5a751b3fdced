#include "box.hpp"

#include <cstdio>
#include <mutex>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_pdump.h>

#include "twamp/dataplane/counters.hpp"
#include "twamp/dataplane/port.hpp"
#include "twamp/log.hpp"
#include "twamp/metrics/prometheus.hpp"

namespace twamp::app {

namespace {
// The metrics exporter's civetweb: request threads, and how long a client may take to send its
// request before its connection is closed.
constexpr int metrics_threads = 8;
constexpr int metrics_request_timeout_ms = 5000;

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

} // namespace

box::box(const config::config& cfg, const dataplane::dataplane_spec& spec, slot_map slots)
    : running_(cfg), spec_(spec), slots_(std::move(slots)) {}

std::unique_ptr<box> box::create(int eal_argc, char** eal_argv, const config::config& cfg,
                                 const dataplane::dataplane_spec& spec, slot_map slots,
                                 std::atomic<bool>* stop, const origin& from, std::string& error) {
    std::unique_ptr<box> b(new box(cfg, spec, std::move(slots)));
    b->rt_.config_path = from.config_path;
    b->rt_.config_source = from.config_source;
    b->rt_.start_unix_ns = from.start_unix_ns;
    if (!b->build(eal_argc, eal_argv, stop, error)) {
        return nullptr; // the destructor takes down what was built
    }
    return b;
}

bool box::build(int eal_argc, char** eal_argv, std::atomic<bool>* stop, std::string& error) {
    stop_ = stop;
    const config::config& cfg = running_;
    const dataplane::dataplane_spec& spec = spec_;
    if (rte_eal_init(eal_argc, eal_argv) < 0) {
        error = std::string("EAL initialisation failed: ") + rte_strerror(rte_errno) +
                " (no hugepages reserved? reserve some, or add --no-huge -m 1024 for a lab; "
                "see the EAL messages above)";
        return false;
    }
    eal_up_ = true;

    app::init_log();
    // Capture with dpdk-dumpcap (a secondary process): needs EAL's multi-process support.
    pdump_ok_ = rte_pdump_init() == 0 && capture_possible();

    n_workers_ = rte_lcore_count() - 1;
    if (n_workers_ == 0) {
        error = "not enough lcores: give at least two with -l/--lcores (the first is the "
                "slow path, the others are workers)";
        return false;
    }
    if (n_workers_ >= RTE_MAX_LCORE) {
        error = "too many lcores";
        return false;
    }

    int ts_off = -1;
    uint64_t ts_flag = 0;
    rte_mbuf_dyn_rx_timestamp_register(&ts_off, &ts_flag);

    // Mempool: every RX descriptor of every queue full, every TX descriptor in flight, the
    // rings between workers and the slow path, the TAP queues, plus per-lcore caches.
    const unsigned n_ports = static_cast<unsigned>(spec.ports.size());
    const unsigned ring_size = 1024;
    const unsigned n_mbufs =
            n_ports * (n_workers_ * (spec.rx_desc + spec.tx_desc + spec.burst) + ring_size + 1024) +
            n_workers_ * ring_size + (n_workers_ + 1) * 256 + 4096;
    pool_ = rte_pktmbuf_pool_create("mbufs", n_mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    rte_socket_id());
    if (!pool_) {
        error = "cannot create a pool of " + std::to_string(n_mbufs) +
                " mbufs: " + rte_strerror(rte_errno) +
                " (give EAL more memory: -m MB or more hugepages)";
        return false;
    }

    auto& counters = rt_.workers;
    for (unsigned w = 0; w <= n_workers_; ++w) {
        void* mem = rte_zmalloc("counters", sizeof(dataplane::worker_counters), 64);
        if (!mem) {
            error = "out of memory for counters";
            return false;
        }
        counters.push_back(new (mem) dataplane::worker_counters());
    }
    for (unsigned w = 0; w < n_workers_; ++w) {
        char name[RTE_RING_NAMESIZE];
        std::snprintf(name, sizeof name, "exc_w%u", w);
        rte_ring* r =
                rte_ring_create(name, ring_size, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (!r) {
            error = std::string("rte_ring_create: ") + rte_strerror(rte_errno);
            return false;
        }
        exc_rings_.push_back(r);
    }

    auto& ports = rt_.ports;
    for (unsigned p = 0; p < n_ports; ++p) {
        auto pr = std::make_unique<dataplane::port_runtime>();
        if (!dataplane::setup_port(*pr, spec.ports[p], n_workers_, spec.rx_desc, spec.tx_desc,
                                   pool_, error)) {
            return false;
        }
        char name[RTE_RING_NAMESIZE];
        std::snprintf(name, sizeof name, "wire_p%u", p);
        rte_ring* r =
                rte_ring_create(name, ring_size, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (!r) {
            error = std::string("rte_ring_create: ") + rte_strerror(rte_errno);
            return false;
        }
        wire_rings_.push_back(r);
        const bool exc_ok =
                spec.ports[p].exception_iface.empty() ||
                exc_.add_port(spec.ports[p], pr->port_id, pr->mac.addr_bytes, pool_, r, error);
        ports.push_back(std::move(pr));
        if (!exc_ok) {
            return false;
        }
    }

    clock_.init();
    // Each port's first mapping (a device clock: its first bracketed sample; the slow path
    // refits it every ~100 ms from here on).
    for (auto& pr : ports) {
        dataplane::refresh_port_time(*pr, clock_.read());
    }
    std::unique_ptr<dataplane::snapshot> snap =
            dataplane::snapshot::build(spec, n_workers_, 0, error);
    if (!snap) {
        return false;
    }

    const size_t qsz = rte_rcu_qsbr_get_memsize(n_workers_);
    qsv_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("rcu", qsz, RTE_CACHE_LINE_SIZE));
    if (!qsv_ || rte_rcu_qsbr_init(qsv_, n_workers_) != 0) {
        error = "cannot set up RCU";
        return false;
    }
    if (!views_.init(qsv_, "views", error)) {
        return false;
    }
    const uint32_t session_capacity = snap->session_capacity_per_worker();
    apply({std::move(snap), nullptr, nullptr});

    wargs_.resize(n_workers_);
    for (unsigned w = 0; w < n_workers_; ++w) {
        auto st = std::make_unique<dataplane::session_table>();
        if (!st->init(w, session_capacity, error)) {
            return false;
        }
        sessions_.push_back(std::move(st));
        dataplane::worker_args& wa = wargs_[w];
        wa.index = w;
        wa.burst = spec.burst;
        wa.exception_ring = exc_rings_[w];
        wa.qsv = qsv_;
        wa.view = views_.pointer();
        if (cfg.control.enabled) {
            wa.control_slot = slots_.slot_of(control_context_name);
        }
        wa.clock = &clock_;
        wa.sessions = sessions_.back().get();
        wa.counters = counters[w];
        wa.stop = stop;
        rt_.queries.push_back(std::make_unique<dataplane::session_query>());
        wa.query = rt_.queries.back().get();
        wa.ts_dynfield_offset = ts_off;
        wa.ts_dynflag = ts_flag;
        for (unsigned p = 0; p < n_ports; ++p) {
            dataplane::worker_port wp;
            wp.port_id = ports[p]->port_id;
            wp.port_index = static_cast<uint16_t>(p);
            wp.queue = static_cast<uint16_t>(w);
            wp.mac = ports[p]->mac;
            wp.time = ports[p]->time.get();
            wp.tx_cksum = ports[p]->tx_cksum_offload;
            if (ports[p]->tx_timestamps) {
                wp.tx_ts = &ports[p]->tx_ts;
            }
            wp.to_wire = w == 0 ? wire_rings_[p] : nullptr;
            wa.ports.push_back(wp);
        }
    }

    rt_.n_workers = n_workers_;
    rt_.clock = &clock_;
    rt_.pool = pool_;
    set_reflectors(spec);
    if (cfg.metrics.enabled) {
        try {
            // civetweb's defaults give a client 30 s to send its request and prometheus-cpp
            // runs 2 threads: two connections sending half a request would hold every scrape
            // for 30 s. 8 threads, 5 s (README, Prometheus).
            // Our own handler (metrics::http_exporter), not prometheus::Exposer: no exposer_*
            // series in the scrape.
            collector_ = std::make_shared<metrics::collector>([this] { return app::gather(rt_); },
                                                              cfg.metrics.labels);
            exposer_ = std::make_unique<metrics::http_exporter>(
                    std::vector<std::string>{"listening_ports", cfg.metrics.listen, "num_threads",
                                             std::to_string(metrics_threads), "request_timeout_ms",
                                             std::to_string(metrics_request_timeout_ms)},
                    collector_);
        } catch (const std::exception& e) {
            // prometheus-cpp only says "null context when constructing CivetServer": ask the
            // system why the address cannot be bound.
            std::string why = metrics::listen_problem(cfg.metrics.address, cfg.metrics.port);
            error = "metrics.listen " + cfg.metrics.listen +
                    ": cannot listen: " + (why.empty() ? std::string(e.what()) : why);
            return false;
        }
    }

    if (cfg.control.enabled) {
        // Accepted sessions reach the workers as a new control table in a new view.
        slowpath::control_env env;
        env.tsc = [] { return rte_rdtsc(); }; // the workers' port_activity clock (REFWAIT)
        env.tsc_hz = rte_get_tsc_hz();
        env.start_ns = dataplane::realtime_ns();
        env.events = [this](log::event&& e) { events_.emit(std::move(e)); };
        control_ = std::make_unique<slowpath::control_server>(
                cfg,
                [this](std::unique_ptr<dataplane::control_table> t) {
                    apply({nullptr, std::move(t), nullptr});
                },
                std::move(env));
        for (auto& wa : wargs_) {
            wa.activity = control_->activity();
        }
        if (!control_->start(error)) {
            return false;
        }
        rt_.control = control_.get();
    }
    telemetry_error_ = app::register_telemetry(rt_);
    return true;
}

void box::set_reflectors(const dataplane::dataplane_spec& spec) {
    auto v = std::make_shared<const std::vector<reflector_info>>(reflector_list(running_, spec));
    std::lock_guard<std::mutex> lock(rt_.mu);
    rt_.reflectors = std::move(v);
}

uint64_t box::apply(change c) {
    if (c.reload && control_) {
        // The control server follows the new config (prefixes, limits, timers, receiver-port
        // range); its table goes out in this one view with the reload's snapshot.
        c.control = control_->reconfigure(c.reload->cfg);
    }
    const uint64_t token = views_.publish(std::move(c.snap), std::move(c.control));
    if (!c.reload) {
        return token;
    }
    const reloaded& r = *c.reload;
    slots_ = r.slots;
    running_ = r.cfg;
    for (std::size_t p = 0; p < rt_.ports.size() && p < r.spec.ports.size(); ++p) {
        exc_.set_rate_limit(rt_.ports[p]->port_id, r.spec.ports[p].exception_rate_limit_pps,
                            r.spec.ports[p].exception_control_rate_limit_pps,
                            r.spec.ports[p].exception_neighbor_rate_limit_pps);
    }
    set_reflectors(r.spec);
    return token;
}

void box::launch_workers() {
    unsigned w = 0;
    unsigned lcore;
    RTE_LCORE_FOREACH_WORKER(lcore) {
        rte_eal_remote_launch(dataplane::worker_main, &wargs_[w++], lcore);
    }
    workers_running_ = true;
}

unsigned box::stop() {
    // Whatever ended the slow path (a stop signal, or a port fault it cannot recover from:
    // run_slow_path), the workers end here: without this a fault's stop waited for them forever.
    // Telemetry first: a command waiting for a worker or the control snapshot (neither answers
    // from here on) gives up now, and no new one holds up unregister_telemetry below.
    stop_telemetry();
    stop_->store(true, std::memory_order_relaxed);
    if (control_) {
        control_->shutdown(dataplane::realtime_ns());
    }
    rte_eal_mp_wait_lcore();
    workers_running_ = false;
    // Drain what is left in the rings before the summary, counted: received frames still
    // queued for the kernel go there (or are dropped by reason), frames from the kernel no
    // worker will send are from-kernel drops.
    exc_.drain_to_kernel(exc_rings_, slow_path_counters());
    for (auto* r : wire_rings_) {
        rte_mbuf* m = nullptr;
        while (rte_ring_sc_dequeue(r, reinterpret_cast<void**>(&m)) == 0) {
            rte_pktmbuf_free(m);
            dataplane::bump(slow_path_counters().to_wire_drops[static_cast<std::size_t>(
                                    dataplane::to_wire_drop::shutdown)],
                            1);
        }
    }
    // The af_packet kernel rings' drops since the slow path's last read (up to ~100 ms of
    // them): read once more now that nothing receives, while the scrapes can still show them
    // (telemetry answers an error since stop_telemetry).
    for (auto& p : rt_.ports) {
        dataplane::poll_kernel_drops(*p);
    }
    // No scrape and no telemetry command may read the ports once they go.
    unregister_telemetry();
    exposer_.reset();
    // Devices closed, rings drained: every mbuf must be back in the pool (a leak shows here).
    for (auto& p : rt_.ports) {
        dataplane::stop_port(p->port_id);
    }
    rt_.ports.clear();
    exc_.close();
    return rte_mempool_in_use_count(pool_);
}

box::~box() {
    // The order matters: nothing may read what goes before it.
    stop_telemetry();
    if (workers_running_) {
        // Not stopped (an error after launch_workers): the workers still read what follows.
        stop_->store(true, std::memory_order_relaxed);
        rte_eal_mp_wait_lcore();
    }
    unregister_telemetry(); // the telemetry thread outlives the box
    exposer_.reset();       // no scrape may read what follows once it is gone
    rt_.control = nullptr;
    control_.reset();
    for (auto& p : rt_.ports) {
        dataplane::stop_port(p->port_id);
    }
    exc_.close();
    sessions_.clear();
    views_.close(); // the workers are gone: every view, retired or current, goes
    for (auto* r : exc_rings_) {
        rte_ring_free(r);
    }
    for (auto* r : wire_rings_) {
        rte_ring_free(r);
    }
    rte_free(qsv_);
    for (auto* c : rt_.workers) {
        c->~worker_counters();
        rte_free(c);
    }
    rt_.workers.clear();
    rte_mempool_free(pool_);
    if (eal_up_) {
        rte_eal_cleanup();
    }
}

} // namespace twamp::app
