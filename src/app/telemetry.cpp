// DPDK telemetry commands, for dpdk-telemetry.py and dpdk-twamp-ctl: /twamp/stats,
// /twamp/reflectors, /twamp/sessions, /twamp/clock, /twamp/control, /twamp/status,
// /twamp/session_list, /twamp/control_list. They run on DPDK's telemetry thread.
#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_telemetry.h>

#include "runtime.hpp"
#include "telemetry_params.hpp"

#include "twamp/net/address.hpp"
#include "twamp/net/modes.hpp"

#ifndef DPDK_TWAMP_VERSION
#define DPDK_TWAMP_VERSION "unknown"
#endif

namespace twamp::app {

namespace {

// The runtime the commands read, null once the box stops (the telemetry thread outlives it):
// every command holds g_mu shared while it reads, unregister_telemetry() takes it exclusive.
std::shared_mutex g_mu;
runtime* g_rt = nullptr;
// Set when the box starts stopping (stop_telemetry), before the control server shuts and the
// workers stop: a command answers an error at once without taking g_mu (so readers cannot keep
// unregister_telemetry's exclusive lock waiting: glibc's rwlock prefers readers), and every
// wait inside one (a worker's mailbox, the control snapshot) gives up within one poll.
std::atomic<bool> g_stopping{false};

// A command over the runtime, or an error once the box has stopped.
template<int (*F)(runtime&, rte_tel_data*)>
int guarded(const char*, const char*, rte_tel_data* d) {
    if (g_stopping.load(std::memory_order_acquire)) {
        return -EBUSY;
    }
    std::shared_lock<std::shared_mutex> lock(g_mu);
    if (!g_rt || g_stopping.load(std::memory_order_acquire)) {
        return -EBUSY;
    }
    return F(*g_rt, d);
}

// The same with the request's parameters (the text after the command's comma, or null).
template<int (*F)(runtime&, const char*, rte_tel_data*)>
int guarded_params(const char*, const char* params, rte_tel_data* d) {
    if (g_stopping.load(std::memory_order_acquire)) {
        return -EBUSY;
    }
    std::shared_lock<std::shared_mutex> lock(g_mu);
    if (!g_rt || g_stopping.load(std::memory_order_acquire)) {
        return -EBUSY;
    }
    return F(*g_rt, params, d);
}

// DPDK 22.11 telemetry takes only [A-Za-z0-9_/] in dictionary names and refuses the entry
// otherwise (-EINVAL, nothing added), and refuses entries past RTE_TEL_MAX_DICT_ENTRIES
// (-ENOSPC); a truncated string returns E2BIG. Config names allow '-' and '.', so a reflector
// "core-1.lab" used to vanish from /twamp/reflectors. Every add goes through `out`, which
// remembers the first failure; a command that had one answers with that error instead of a
// silently shorter document.
class out {
public:
    explicit out(rte_tel_data* d) : d_(d) {}
    void u64(const char* name, uint64_t v) { note(rte_tel_data_add_dict_u64(d_, name, v)); }
    void str(const char* name, const char* v) { note(rte_tel_data_add_dict_string(d_, name, v)); }
    // Takes `x` (frees it when it cannot be added).
    void container(const char* name, rte_tel_data* x) {
        if (!x) {
            note(-ENOMEM);
            return;
        }
        const int rc = rte_tel_data_add_dict_container(d_, name, x, 0);
        if (rc < 0) {
            rte_tel_data_free(x);
        }
        note(rc);
    }
    int rc() const { return rc_; }
    // Folds a nested dictionary's result into this one's.
    void absorb(const out& o) {
        if (rc_ == 0) {
            rc_ = o.rc_;
        }
    }

private:
    void note(int rc) {
        if (rc != 0 && rc_ == 0) {
            rc_ = rc < 0 ? rc : -rc; // E2BIG comes positive: a truncated value is an error too
        }
    }
    rte_tel_data* d_;
    int rc_ = 0;
};

// A dictionary name for a config name: every character telemetry refuses becomes '_'
// ("core-1.lab" -> "core_1_lab"); a name taken already ("core_1_lab" itself) gets "_2", "_3".
// The exact name goes into the entry as the string "name".
std::string dict_key(const std::string& name, std::set<std::string>& used) {
    std::string k = name;
    for (char& c : k) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '/') {
            c = '_';
        }
    }
    if (k.empty()) {
        k = "_";
    }
    std::string key = k;
    for (unsigned n = 2; !used.insert(key).second; ++n) {
        key = k + "_" + std::to_string(n);
    }
    return key;
}

int cmd_stats(runtime& rt, rte_tel_data* d) {
    metrics::box_stats s = gather(rt);
    rte_tel_data_start_dict(d);
    out o(d);
    o.u64("rx_packets", s.rx_pkts);
    o.u64("rx_octets", s.rx_octets);
    o.u64("reflected_packets", s.reflected_pkts);
    o.u64("reflected_octets", s.reflected_octets);
    o.u64("dropped_packets", s.dropped());
    using metrics::exception_direction;
    o.u64(std::string(name_of(exception_direction::to_kernel)).c_str(), s.to_kernel);
    o.u64(std::string(name_of(exception_direction::to_wire)).c_str(), s.to_wire);
    o.u64("sessions_active", s.sessions_active);
    for (const auto& t : metrics::session_totals) {
        o.u64(std::string(t.key).c_str(), s.*t.field);
    }
    // Worker cost: TSC cycles spent on bursts that carried packets, and those packets, summed
    // over workers (perf/bench.sh divides the differences: cycles/packet over a window).
    uint64_t busy_cycles = 0, busy_pkts = 0;
    for (const auto& w : s.workers) {
        busy_cycles += w.busy_cycles;
        busy_pkts += w.busy_pkts;
    }
    o.u64("busy_cycles", busy_cycles);
    o.u64("busy_packets", busy_pkts);
    o.u64("tsc_hz", rte_get_tsc_hz());
    o.u64("mbufs_in_use", s.mbufs_in_use);
    o.u64("mbufs_total", s.mbufs_total);
    rte_tel_data* drops = rte_tel_data_alloc();
    if (drops) {
        rte_tel_data_start_dict(drops);
        out od(drops);
        for (std::size_t r = 1; r < proto::drop_reason_count; ++r) {
            od.u64(std::string(proto::drop_reason_names[r]).c_str(), s.drops[r]);
        }
        o.absorb(od);
    }
    o.container("drops", drops);
    return o.rc();
}

// One entry per reflector, keyed by dict_key(name), with the exact name inside. At most
// RTE_TEL_MAX_DICT_ENTRIES entries fit a dictionary: past that, an error rather than a list
// that looks complete.
int cmd_reflectors(runtime& rt, rte_tel_data* d) {
    metrics::box_stats s = gather(rt);
    rte_tel_data_start_dict(d);
    out o(d);
    std::set<std::string> used;
    for (const auto& r : s.reflectors) {
        rte_tel_data* x = rte_tel_data_alloc();
        if (x) {
            rte_tel_data_start_dict(x);
            out ox(x);
            ox.str("name", r.name.c_str());
            ox.str("mode", r.mode.c_str());
            for (const auto& c : metrics::reflector_counters) {
                if (!c.key.empty()) {
                    ox.u64(std::string(c.key).c_str(), r.*c.field);
                }
            }
            ox.u64("sessions_active", r.sessions_active);
            // Its limits' drops, as limit_drops_total{reason} and prefix_limit_drops_total
            // {prefix}: limit_drops_<reason>, prefix_limit_drops_<prefix> (the prefix as a
            // dictionary name: '.' and ':' become '_', "198_18_5_0/24").
            for (std::size_t k = 0; k < r.limit_drops.size(); ++k) {
                ox.u64(("limit_drops_" + std::string(proto::to_string(metrics::limit_reason(k))))
                               .c_str(),
                       r.limit_drops[k]);
            }
            std::set<std::string> prefixes;
            for (const auto& [prefix, n] : r.prefix_drops) {
                ox.u64(dict_key("prefix_limit_drops_" + prefix, prefixes).c_str(), n);
            }
            // STAMP reflectors: their TLVs, flat (a telemetry dictionary inside a reflector's
            // would be a third level): stamp_tlvs_<type>, stamp_tlv_flags_<flag>, the
            // Prometheus labels.
            for (std::size_t t = 0; r.mode == "stamp" && t < r.stamp_tlvs.size(); ++t) {
                ox.u64(("stamp_tlvs_" + std::string(metrics::stamp_tlv_type_names[t])).c_str(),
                       r.stamp_tlvs[t]);
            }
            for (std::size_t k = 0; r.mode == "stamp" && k < r.stamp_tlv_flags.size(); ++k) {
                ox.u64(("stamp_tlv_flags_" + std::string(metrics::stamp_tlv_flag_names[k])).c_str(),
                       r.stamp_tlv_flags[k]);
            }
            o.absorb(ox);
        }
        o.container(dict_key(r.name, used).c_str(), x);
    }
    return o.rc();
}

using steady = std::chrono::steady_clock;
// How long one /twamp/sessions or /twamp/session_list request may take in all (the lock, the
// mailboxes, the workers' walks), under dpdk-twamp-ctl's 10 s receive timeout.
constexpr auto request_budget = std::chrono::seconds(5);
bool mailbox_free(dataplane::session_query& q, steady::time_point deadline);

// The busiest sessions of every worker, at most session_query::max_top each (so within the
// 256 entries a telemetry dict may hold up to 8 workers), asked through
// each worker's mailbox (the worker scans its own table a slice at a time).
int cmd_sessions(runtime& rt, rte_tel_data* d) {
    const auto deadline = steady::now() + request_budget;
    std::unique_lock<std::timed_mutex> one_at_a_time(rt.query_mu, deadline);
    if (!one_at_a_time.owns_lock()) {
        return -ETIMEDOUT;
    }
    std::vector<std::string> names;
    {
        const auto reflectors = rt.reflector_snapshot();
        for (const auto& r : *reflectors) {
            if (names.size() <= r.slot) {
                names.resize(r.slot + 1u, "(removed)");
            }
            names[r.slot] = r.name;
        }
    }
    for (auto& q : rt.queries) {
        if (!mailbox_free(*q, deadline)) {
            return -EBUSY;
        }
        q->what = dataplane::session_query::kind::top;
        q->state.store(dataplane::session_query::requested, std::memory_order_release);
    }
    // DPDK 22.11 arrays hold only arrays of scalars: a dict keyed "w<worker>_<rank>" instead.
    rte_tel_data_start_dict(d);
    out o(d);
    for (std::size_t w = 0; w < rt.queries.size(); ++w) {
        auto& q = *rt.queries[w];
        while (q.state.load(std::memory_order_acquire) != dataplane::session_query::done &&
               !g_stopping.load(std::memory_order_acquire) && steady::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        if (q.state.load(std::memory_order_acquire) != dataplane::session_query::done) {
            continue; // the worker did not answer in time; say nothing rather than guess
        }
        // A dictionary holds RTE_TEL_MAX_DICT_ENTRIES: past 8 workers each gets its share.
        const unsigned share = std::max<unsigned>(
                1, RTE_TEL_MAX_DICT_ENTRIES / static_cast<unsigned>(rt.queries.size()));
        for (unsigned i = 0; i < q.count && i < share; ++i) {
            const auto& e = q.top[i];
            rte_tel_data* x = rte_tel_data_alloc();
            if (x) {
                rte_tel_data_start_dict(x);
                out ox(x);
                ox.u64("worker", w);
                ox.str("reflector", e.key.ctx < names.size() ? names[e.key.ctx].c_str() : "?");
                ox.str("source", net::mapped_to_string(e.key.src).c_str());
                ox.u64("source_port", e.key.src_port);
                ox.str("destination", net::mapped_to_string(e.key.dst).c_str());
                ox.u64("destination_port", e.key.dst_port);
                ox.u64("ssid", e.key.ssid);
                ox.u64("packets", e.s.packets);
                ox.u64("reflector_sequence", e.s.next_seq);
                ox.u64("last_sender_sequence", e.s.last_sender_seq);
                ox.u64("gaps", e.s.gaps);
                ox.u64("duplicates", e.s.duplicates);
                ox.u64("reorders", e.s.reorders);
                o.absorb(ox);
            }
            char key[48];
            std::snprintf(key, sizeof key, "w%zu_%u", w, i + 1);
            o.container(key, x);
        }
        q.state.store(dataplane::session_query::idle, std::memory_order_release);
    }
    return o.rc();
}

int cmd_clock(runtime& rt, rte_tel_data* d) {
    dataplane::clock_map m = rt.clock->read();
    rte_tel_data_start_dict(d);
    out o(d);
    o.u64("synchronized", m.synchronized ? 1 : 0);
    o.u64("error_ns", m.error.error_ns());
    o.u64("error_estimate", m.error.encode());
    o.u64("tai_utc_offset_s", static_cast<uint64_t>(m.tai_utc_offset_s));
    o.u64("tsc_hz", rte_get_tsc_hz());
    // Keyed by dict_key(port name): "wire-0" appears as "wire_0".
    rte_tel_data* ports = rte_tel_data_alloc();
    if (ports) {
        rte_tel_data_start_dict(ports);
        out op(ports);
        std::set<std::string> used;
        for (const auto& p : rt.ports) {
            op.str(dict_key(p->name, used).c_str(), p->ts_source());
        }
        o.absorb(op);
    }
    o.container("timestamp_source", ports);
    // Per port: the T3 method in force, its mapping's error and steps, follow-up sampling.
    rte_tel_data* methods = rte_tel_data_alloc();
    if (methods) {
        rte_tel_data_start_dict(methods);
        out om(methods);
        std::set<std::string> used;
        for (const auto& p : rt.ports) {
            om.str(dict_key(p->name, used).c_str(), dataplane::to_string(p->method()));
        }
        o.absorb(om);
    }
    o.container("t3_method", methods);
    rte_tel_data* errs = rte_tel_data_alloc();
    if (errs) {
        rte_tel_data_start_dict(errs);
        out oe(errs);
        std::set<std::string> used;
        for (const auto& p : rt.ports) {
            oe.u64(dict_key(p->name, used).c_str(),
                   p->clock_error_ns.load(std::memory_order_relaxed));
        }
        o.absorb(oe);
    }
    o.container("port_clock_error_ns", errs);
    rte_tel_data* steps = rte_tel_data_alloc();
    if (steps) {
        rte_tel_data_start_dict(steps);
        out os(steps);
        std::set<std::string> used;
        for (const auto& p : rt.ports) {
            os.u64(dict_key(p->name, used).c_str(), p->clock_steps.load(std::memory_order_relaxed));
        }
        o.absorb(os);
    }
    o.container("port_clock_steps", steps);
    return o.rc();
}

int cmd_control(runtime& rt, rte_tel_data* d) {
    metrics::box_stats s = gather(rt);
    rte_tel_data_start_dict(d);
    out o(d);
    o.u64("session_attempts", s.control.session_attempts);
    o.u64("session_started", s.control.session_started);
    o.u64("connections_open", s.control.connections_open);
    o.u64("key_derivations_done", s.control.key_derivations_done);
    o.u64("key_derivations_refused", s.control.key_derivations_refused);
    o.u64("key_derivation_ns", s.control.key_derivation_ns);
    o.u64("connections_backed_up", s.control.connections_backed_up);
    o.u64("busy_polls", s.control.busy_polls);
    for (const auto& [reason, n] : s.control.auth_failures) {
        o.u64(("auth_failures_" + reason).c_str(), n);
    }
    return o.rc();
}

int64_t unix_now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

const char* link_name(uint8_t s) {
    switch (s) {
    case dataplane::port_runtime::link_up:
        return "up";
    case dataplane::port_runtime::link_down:
        return "down";
    default:
        return "unknown";
    }
}

// The Modes bits by name, space-separated as a YANG bits value ("unauthenticated
// reflect-octets"; "" for 0): RFC 8913's twamp-modes bit names where the model has the bit
// (mixed mode is its "unauth-test-encrpyt-control", spelled as the model spells it), the
// config's name for those it does not have (ptpv2-timestamps).
std::string mode_text(uint32_t mode) {
    std::string r;
    for (const auto& m : net::mode_names) {
        if (mode & m.bit) {
            const std::string_view name = m.bit == net::mode_mixed
                                                  ? std::string_view("unauth-test-encrpyt-control")
                                                  : m.name;
            r += (r.empty() ? "" : " ") + std::string(name);
        }
    }
    return r;
}

// What the box is (issue 19, dpdk-twamp-ctl status): version, process, configuration and its
// last reload, workers, and one dictionary per port ("port_<index>") with its link and counters.
int cmd_status(runtime& rt, rte_tel_data* d) {
    metrics::box_stats s = gather(rt);
    rte_tel_data_start_dict(d);
    out o(d);
    const int64_t now = unix_now_ns();
    o.str("version", DPDK_TWAMP_VERSION);
    o.u64("pid", static_cast<uint64_t>(getpid()));
    o.u64("start_unix_ns", static_cast<uint64_t>(rt.start_unix_ns));
    o.u64("uptime_s", now > rt.start_unix_ns
                              ? static_cast<uint64_t>((now - rt.start_unix_ns) / 1'000'000'000)
                              : 0);
    o.str("config_path", rt.config_path.c_str());
    o.str("config_source", rt.config_source.c_str());
    const reload_outcome r = rt.last_reload();
    o.str("reload_result", name_of(r.result));
    o.u64("reload_seq", r.seq);
    o.u64("reload_unix_ns", static_cast<uint64_t>(r.unix_ns));
    o.str("reload_line", r.line.c_str());
    o.u64("reloads_ok", s.reloads_ok);
    o.u64("reloads_failed", s.reloads_failed);
    o.u64("reloads_refused", s.reloads_refused);
    o.u64("reloads_started", rt.reloads_started.load(std::memory_order_relaxed));
    o.u64("workers", rt.n_workers);
    o.u64("sessions_active", s.sessions_active);
    o.u64("ports", rt.ports.size());
    for (std::size_t i = 0; i < rt.ports.size(); ++i) {
        const auto& p = *rt.ports[i];
        rte_tel_data* x = rte_tel_data_alloc();
        if (x) {
            rte_tel_data_start_dict(x);
            out ox(x);
            ox.str("name", p.name.c_str());
            ox.str("driver", p.driver.c_str());
            char mac[RTE_ETHER_ADDR_FMT_SIZE];
            rte_ether_format_addr(mac, sizeof mac, &p.mac);
            ox.str("mac", mac);
            ox.str("link_state", link_name(p.link_state.load(std::memory_order_relaxed)));
            ox.u64("link_speed_mbps", p.link_speed_mbps.load(std::memory_order_relaxed));
            ox.u64("link_changes", p.link_changes.load(std::memory_order_relaxed));
            if (i < s.ports.size()) {
                const auto& ps = s.ports[i];
                ox.str("timestamp_source", ps.timestamp_source.c_str());
                ox.str("t3_method", ps.t3_method.c_str());
                ox.u64("counters_read", ps.nic_ok ? 1 : 0);
                ox.u64("rx_packets", ps.rx_packets);
                ox.u64("tx_packets", ps.tx_packets);
                ox.u64("rx_missed", ps.rx_missed);
                ox.u64("rx_errors", ps.rx_errors);
                ox.u64("tx_errors", ps.tx_errors);
                ox.u64("rx_nombuf", ps.rx_nombuf);
            }
            o.absorb(ox);
        }
        o.container(("port_" + std::to_string(i)).c_str(), x);
    }
    return o.rc();
}

// Asks worker `q` (its mailbox idle or done) and waits for the answer; false when it does not
// come by `deadline` or the box stops (the request stays the worker's: the next one waits for
// it first).
bool ask_worker(dataplane::session_query& q, steady::time_point deadline) {
    q.state.store(dataplane::session_query::requested, std::memory_order_release);
    while (q.state.load(std::memory_order_acquire) != dataplane::session_query::done) {
        if (g_stopping.load(std::memory_order_acquire) || steady::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
}

// A mailbox free for new request fields: idle or done, not one a worker still walks (an
// earlier request that timed out). Waits for that one until `deadline` or the box stops.
bool mailbox_free(dataplane::session_query& q, steady::time_point deadline) {
    for (;;) {
        const int st = q.state.load(std::memory_order_acquire);
        if (st == dataplane::session_query::idle || st == dataplane::session_query::done) {
            return true;
        }
        if (g_stopping.load(std::memory_order_acquire) || steady::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
}

// The batch /twamp/session_list hands out a page at a time (rt.query_mu held): the sorted
// answer of one worker's walk, what filter it was for, and the cursor the next page's request
// carries. A request that does not continue it (another filter, cursor or worker, or 10 s
// later: its counts would be stale) walks again from its own cursor. Either way the listing
// keeps session_query's guarantee: consecutive walks cover consecutive ranges of the order.
struct batch_cache {
    std::vector<dataplane::session_query::listed> entries;
    std::size_t pos = 0; // the next page's first entry
    bool overflow = false;
    unsigned worker = 0, workers = 0;
    std::string filter, expect;
    steady::time_point at{};
    uint64_t walk_tsc = 0; // when its walk ended: last_seen_ms and age_s are as of then
    uint64_t used = 0;     // for replacing the least recently used
};
// A few batches, one per listing in progress (keyed by the cursor each continues at): two
// clients paging at once each keep theirs instead of forcing a walk per page.
std::array<batch_cache, 4> g_batches;
uint64_t g_batch_uses = 0;

// Every reflector session, a page at a time (issue 19, dpdk-twamp-ctl sessions). Parameters:
// cursor=C (from the previous page's next_cursor; absent: the start), reflector=NAME,
// source=ADDR[/LEN], port=N (sender or reflector UDP port), ssid=N, page=N (1..24). The
// answer: workers, worker, count, next_cursor ("" at the end), then s1..s<count>. Each page is
// one worker's, chosen by the worker itself through its mailbox (session_query: the listing
// order and what it guarantees); the worker walks for a batch of up to 1,024 at a time, which
// this thread pages out (batch_cache).
int cmd_session_list(runtime& rt, const char* params, rte_tel_data* d) {
    const unsigned workers = static_cast<unsigned>(rt.queries.size());
    session_list_params req;
    if (!parse_session_list_params(params, workers, dataplane::session_query::page_max, req)) {
        return -EINVAL;
    }
    unsigned w = req.worker;
    bool has_after = req.has_after;
    const uint64_t after_order = req.after_order;
    dataplane::session_key after_key{};
    static_assert(sizeof after_key == std::tuple_size_v<decltype(req.after_key)>);
    std::memcpy(&after_key, req.after_key.data(), sizeof after_key);
    dataplane::session_query::filter where;
    const unsigned page = req.page ? req.page : dataplane::session_query::page_max;
    std::vector<std::string> names;
    {
        const auto reflectors = rt.reflector_snapshot();
        for (const auto& r : *reflectors) {
            if (names.size() <= r.slot) {
                names.resize(r.slot + 1u, "(removed)");
            }
            names[r.slot] = r.name;
        }
    }
    if (req.reflector) {
        auto it = std::find(names.begin(), names.end(), *req.reflector);
        // An unknown reflector matches nothing (a context slot no session has).
        where.ctx = it == names.end() ? INT32_MAX : static_cast<int32_t>(it - names.begin());
    }
    if (req.source) {
        const auto m = req.source->address.mapped();
        std::memcpy(where.src, m.data(), 16);
        where.src_bits =
                static_cast<uint8_t>(req.source->length + (req.source->address.is_v4() ? 96 : 0));
    }
    where.udp_port = req.port;
    where.ssid = req.ssid;
    // The listing's filter as the batch cache knows it, and where this request continues.
    const std::string filter_key = (req.reflector ? *req.reflector : std::string("\x01")) + "\n" +
                                   (req.source ? req.source->to_string() : "") + "\n" +
                                   std::to_string(req.port) + "\n" + std::to_string(req.ssid);
    const std::string at =
            has_after ? session_cursor(w, after_order, req.after_key.data()) : std::to_string(w);
    const auto now = steady::now();
    const auto deadline = now + request_budget; // the whole request, every worker it asks
    std::unique_lock<std::timed_mutex> one_at_a_time(rt.query_mu, deadline);
    if (!one_at_a_time.owns_lock()) {
        return -ETIMEDOUT;
    }
    batch_cache* hit = nullptr;
    batch_cache* lru = &g_batches[0];
    for (auto& b : g_batches) {
        if (b.pos < b.entries.size() && b.filter == filter_key && b.expect == at && b.worker == w &&
            now - b.at < std::chrono::seconds(10) && b.workers == workers) {
            hit = &b;
            break;
        }
        if (b.used < lru->used) {
            lru = &b;
        }
    }
    const bool cached = hit != nullptr;
    batch_cache& c = cached ? *hit : *lru;
    c.used = ++g_batch_uses;
    if (!cached && workers > 0) {
        // A walk of worker w from the cursor; a worker with nothing (left) to list hands on
        // to the next in the same request.
        c.entries.clear();
        c.pos = 0;
        for (;;) {
            auto& q = *rt.queries[w];
            if (!mailbox_free(q, deadline)) {
                c.entries.clear();
                return -EBUSY;
            }
            q.what = dataplane::session_query::kind::batch;
            q.has_after = has_after;
            q.after_order = after_order;
            q.after_key = after_key;
            q.where = where;
            q.batch_size = dataplane::session_query::batch_max;
            if (!ask_worker(q, deadline)) {
                c.entries.clear();
                return -ETIMEDOUT;
            }
            const unsigned n = q.finish_batch();
            if (n == 0 && !q.overflow && w + 1 < workers) {
                q.state.store(dataplane::session_query::idle, std::memory_order_release);
                ++w;
                has_after = false;
                continue;
            }
            c.entries.assign(q.batch, q.batch + n);
            c.overflow = q.overflow;
            c.walk_tsc = rte_rdtsc(); // the walk ended by now: its counts are as of (about) then
            q.state.store(dataplane::session_query::idle, std::memory_order_release);
            break;
        }
        c.worker = w;
        c.workers = workers;
        c.filter = filter_key;
        c.at = now;
    }
    rte_tel_data_start_dict(d);
    out o(d);
    o.u64("workers", workers);
    if (workers == 0) {
        o.u64("worker", 0);
        o.u64("count", 0);
        o.str("next_cursor", "");
        return o.rc();
    }
    // This page: the batch's next `page` sessions.
    const std::size_t first = c.pos;
    const std::size_t n = std::min<std::size_t>(page, c.entries.size() - first);
    c.pos += n;
    std::string next;
    if (c.pos < c.entries.size() || (c.overflow && !c.entries.empty())) {
        const auto& last = c.entries[c.pos - 1];
        next = session_cursor(w, last.order, reinterpret_cast<const uint8_t*>(&last.key));
    } else if (w + 1 < workers) {
        next = std::to_string(w + 1);
    }
    c.expect = next;
    o.u64("worker", w);
    o.u64("count", n);
    o.str("next_cursor", next.c_str());
    // Ages as of the batch's walk (its counts are), not of this page: a cached batch's session
    // may have sent since, so "now - last seen" would overstate it by the cache's age.
    const uint64_t now_tsc = c.walk_tsc, hz = rte_get_tsc_hz();
    for (std::size_t i = 0; i < n; ++i) {
        const auto& e = c.entries[first + i];
        rte_tel_data* x = rte_tel_data_alloc();
        if (x) {
            rte_tel_data_start_dict(x);
            out ox(x);
            ox.str("reflector", e.key.ctx < names.size() ? names[e.key.ctx].c_str() : "?");
            ox.str("sender_ip", net::mapped_to_string(e.key.src).c_str());
            ox.u64("sender_udp_port", e.key.src_port);
            ox.str("reflector_ip", net::mapped_to_string(e.key.dst).c_str());
            ox.u64("reflector_udp_port", e.key.dst_port);
            ox.u64("sender_ssid", e.key.ssid);
            ox.u64("rcv_packets", e.s.packets);
            ox.u64("sent_packets", e.s.next_seq);
            ox.u64("last_rcv_seq", e.s.last_sender_seq);
            ox.u64("gaps", e.s.gaps);
            ox.u64("duplicates", e.s.duplicates);
            ox.u64("reorders", e.s.reorders);
            const uint64_t seen = e.s.last_seen(now_tsc), made = e.s.created(now_tsc);
            ox.u64("last_seen_ms", now_tsc > seen && hz ? (now_tsc - seen) / (hz / 1000) : 0);
            ox.u64("age_s", now_tsc > made && hz ? (now_tsc - made) / hz : 0);
            o.absorb(ox);
        }
        o.container(("s" + std::to_string(i + 1)).c_str(), x);
    }
    return o.rc();
}

// TWAMP-Control connections and sessions (issue 19, dpdk-twamp-ctl control), a page at a time
// from a snapshot the slow path builds on request (control_server::snapshot): connections by
// id, then sessions by SID. Parameters: cursor=C ("c:ID" after connection ID, "s:SID" after
// session SID; absent: the start). The answer: connections, sessions (totals), count,
// next_cursor, then c<id> or t<n> entries with "kind" connection or test_session.
int cmd_control_list(runtime& rt, const char* params, rte_tel_data* d) {
    control_list_params req;
    if (!parse_control_list_params(params, req)) {
        return -EINVAL;
    }
    const bool in_sessions = req.in_sessions, has_sid = req.has_sid;
    const uint64_t after_id = req.after_id;
    const control::sid_t after_sid = req.after_sid;
    rte_tel_data_start_dict(d);
    out o(d);
    if (!rt.control) {
        o.u64("connections", 0);
        o.u64("sessions", 0);
        o.u64("count", 0);
        o.str("next_cursor", "");
        return o.rc();
    }
    const auto snap = rt.control->snapshot(3000, &g_stopping);
    if (!snap) {
        return -ETIMEDOUT;
    }
    constexpr unsigned page = 16;
    o.u64("connections", snap->connections.size());
    o.u64("sessions", snap->sessions.size());
    // The entries of this page, then where the next starts.
    std::vector<const slowpath::control_snapshot::connection*> conns;
    std::vector<const slowpath::control_snapshot::session*> sess;
    std::string next;
    if (!in_sessions) {
        for (const auto& c : snap->connections) {
            if (c.id <= after_id) {
                continue;
            }
            if (conns.size() == page) {
                next = "c:" + std::to_string(conns.back()->id);
                break;
            }
            conns.push_back(&c);
        }
    }
    if (next.empty()) {
        for (const auto& t : snap->sessions) {
            if (has_sid && t.sid <= after_sid) {
                continue;
            }
            if (conns.size() + sess.size() == page) {
                next = sess.empty()
                               ? std::string("s")
                               : "s:" + to_hex(sess.back()->sid.data(), sess.back()->sid.size());
                break;
            }
            sess.push_back(&t);
        }
    }
    o.u64("count", conns.size() + sess.size());
    o.str("next_cursor", next.c_str());
    const uint64_t now = snap->built_ns;
    auto age_ms = [now](uint64_t t) { return now > t ? (now - t) / 1'000'000 : 0; };
    for (const auto* c : conns) {
        rte_tel_data* x = rte_tel_data_alloc();
        if (x) {
            rte_tel_data_start_dict(x);
            out ox(x);
            ox.str("kind", "connection");
            ox.u64("id", c->id);
            ox.str("client_ip", c->client_ip.to_string().c_str());
            ox.u64("client_tcp_port", c->client_tcp_port);
            ox.str("server_ip", c->server_ip.to_string().c_str());
            ox.u64("server_tcp_port", c->server_tcp_port);
            // RFC 8913 ctrl-connection state (server-ctrl-connection-state): active while one
            // of its test sessions runs, else servwait (the server waits for the client's next
            // command, as long as its SERVWAIT allows).
            bool active = false;
            for (const auto& t : snap->sessions) {
                active |= t.connection == c->id && t.state == "started";
            }
            ox.str("state", active ? "active" : "servwait");
            ox.str("protocol_state", c->state.c_str()); // ours: the state machine's
            ox.u64("selected_mode", c->selected_mode);
            ox.str("modes", mode_text(c->selected_mode).c_str());
            ox.u64("admitted", c->admitted ? 1 : 0);
            ox.u64("age_ms", age_ms(c->accepted_ns));
            o.absorb(ox);
        }
        o.container(("c" + std::to_string(c->id)).c_str(), x);
    }
    unsigned k = 0;
    for (const auto* t : sess) {
        rte_tel_data* x = rte_tel_data_alloc();
        if (x) {
            rte_tel_data_start_dict(x);
            out ox(x);
            ox.str("kind", "test_session");
            ox.str("sid", to_hex(t->sid.data(), t->sid.size()).c_str());
            ox.u64("connection", t->connection);
            ox.str("sender_ip", t->sender_ip.to_string().c_str());
            ox.u64("sender_udp_port", t->sender_udp_port);
            ox.str("reflector_ip", t->reflector_ip.to_string().c_str());
            ox.u64("reflector_udp_port", t->reflector_udp_port);
            // RFC 8913 parent-connection-*: its control connection's key (none once closed).
            const auto parent = std::find_if(
                    snap->connections.begin(), snap->connections.end(),
                    [t](const auto& c) { return t->connection != 0 && c.id == t->connection; });
            if (parent != snap->connections.end()) {
                ox.str("parent_connection_client_ip", parent->client_ip.to_string().c_str());
                ox.u64("parent_connection_client_tcp_port", parent->client_tcp_port);
                ox.str("parent_connection_server_ip", parent->server_ip.to_string().c_str());
                ox.u64("parent_connection_server_tcp_port", parent->server_tcp_port);
            }
            ox.str("protocol_state", t->state.c_str()); // ours: the model has no such leaf
            ox.u64("selected_mode", t->mode);
            ox.str("modes", mode_text(t->mode).c_str());
            ox.u64("test_packet_dscp", t->dscp);
            ox.u64("timeout_ms", t->timeout_ns / 1'000'000);
            ox.u64("age_ms", age_ms(t->accepted_ns));
            o.absorb(ox);
        }
        o.container(("t" + std::to_string(++k)).c_str(), x);
    }
    return o.rc();
}

} // namespace

void stop_telemetry() {
    g_stopping.store(true, std::memory_order_release);
}

void unregister_telemetry() {
    stop_telemetry();
    std::unique_lock<std::shared_mutex> lock(g_mu);
    g_rt = nullptr;
}

std::string register_telemetry(runtime& rt) {
    {
        std::unique_lock<std::shared_mutex> lock(g_mu);
        g_rt = &rt;
        g_stopping.store(false, std::memory_order_release);
    }
    static constexpr struct {
        const char* cmd;
        telemetry_cb fn;
        const char* help;
    } cmds[] = {
            {"/twamp/stats", guarded<cmd_stats>,
             "Box totals: packets, octets, drops by reason, sessions"},
            {"/twamp/reflectors", guarded<cmd_reflectors>,
             "Per reflector: name, mode, packets, octets, denied, active sessions"},
            {"/twamp/sessions", guarded<cmd_sessions>,
             "Busiest sessions of each worker (at most 32 each)"},
            {"/twamp/clock", guarded<cmd_clock>,
             "Clock: synchronized, error, TAI offset, timestamp source per port"},
            {"/twamp/control", guarded<cmd_control>,
             "TWAMP-Control: session attempts, sessions started, connections"},
            {"/twamp/status", guarded<cmd_status>,
             "Box: version, pid, uptime, config and last reload, workers, ports and links"},
            {"/twamp/session_list", guarded_params<cmd_session_list>,
             "Every reflector session, a page at a time. Params: cursor=C,reflector=NAME,"
             "source=ADDR[/LEN],port=N,ssid=N,page=N"},
            {"/twamp/control_list", guarded_params<cmd_control_list>,
             "TWAMP-Control connections and sessions, a page at a time. Params: cursor=C"},
    };
    std::string errors;
    for (const auto& c : cmds) {
        if (int rc = rte_telemetry_register_cmd(c.cmd, c.fn, c.help); rc != 0) {
            errors += std::string(errors.empty() ? "" : "; ") + c.cmd + ": " + std::strerror(-rc);
        }
    }
    return errors;
}

} // namespace twamp::app
