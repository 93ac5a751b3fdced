#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_version.h>

#include "runtime.hpp"

#ifndef DPDK_TWAMP_VERSION
#define DPDK_TWAMP_VERSION "unknown"
#endif

namespace twamp::app {

metrics::box_stats gather(const runtime& rt) {
    metrics::box_stats s;
    const std::shared_ptr<const std::vector<reflector_info>> refl = rt.reflector_snapshot();
    const std::vector<reflector_info>& reflectors = *refl;
    s.reflectors.resize(reflectors.size());
    for (std::size_t i = 0; i < reflectors.size(); ++i) {
        s.reflectors[i].name = reflectors[i].name;
        s.reflectors[i].mode = reflectors[i].mode;
    }
    // This thread's previous sample, per worker: the busy ratio is over the time since it.
    thread_local std::vector<uint64_t> prev_tsc, prev_busy;
    const uint64_t now = rte_rdtsc();
    prev_tsc.resize(rt.workers.size(), 0);
    prev_busy.resize(rt.workers.size(), 0);
    for (std::size_t w = 0; w < rt.workers.size(); ++w) {
        const dataplane::worker_counters& c = *rt.workers[w];
        s.rx_pkts += c.rx_pkts.load(std::memory_order_relaxed);
        s.rx_octets += c.rx_octets.load(std::memory_order_relaxed);
        s.reflected_pkts += c.reflected_pkts.load(std::memory_order_relaxed);
        s.reflected_octets += c.reflected_octets.load(std::memory_order_relaxed);
        s.reflected_gufo_octets += c.reflected_gufo_octets.load(std::memory_order_relaxed);
        s.to_kernel += c.exception_to_kernel.load(std::memory_order_relaxed);
        s.to_wire += c.exception_to_wire.load(std::memory_order_relaxed);
        s.sessions_active += c.sessions_active.load(std::memory_order_relaxed);
        s.sessions_created += c.sessions_created.load(std::memory_order_relaxed);
        s.sessions_aged += c.sessions_aged.load(std::memory_order_relaxed);
        s.sessions_table_full += c.sessions_table_full.load(std::memory_order_relaxed);
        s.t3_fallback += c.t3_fallback.load(std::memory_order_relaxed);
        s.t3_clamped += c.t3_clamped.load(std::memory_order_relaxed);
        s.t2_ahead += c.t2_ahead.load(std::memory_order_relaxed);
        s.tx_ts_requested += c.tx_ts_requested.load(std::memory_order_relaxed);
        s.tx_ts_read += c.tx_ts_read.load(std::memory_order_relaxed);
        s.tx_ts_missed += c.tx_ts_missed.load(std::memory_order_relaxed);
        s.source_collisions += c.source_collisions.load(std::memory_order_relaxed);
        for (std::size_t r = 1; r < proto::drop_reason_count; ++r) {
            s.drops[r] += c.drops[r].load(std::memory_order_relaxed);
        }
        for (std::size_t r = 0; r < dataplane::to_wire_drop_count; ++r) {
            s.to_wire_drops[r] += c.to_wire_drops[r].load(std::memory_order_relaxed);
        }
        for (std::size_t i = 0; i < s.reflectors.size(); ++i) {
            const dataplane::context_counters& cc = c.contexts[reflectors[i].slot];
            metrics::reflector_stats& r = s.reflectors[i];
            r.rx_pkts += cc.rx_pkts.load(std::memory_order_relaxed);
            r.rx_octets += cc.rx_octets.load(std::memory_order_relaxed);
            r.reflected_pkts += cc.reflected_pkts.load(std::memory_order_relaxed);
            r.reflected_octets += cc.reflected_octets.load(std::memory_order_relaxed);
            r.acl_denied += cc.acl_denied.load(std::memory_order_relaxed);
            r.stamp_short += cc.stamp_short.load(std::memory_order_relaxed);
            r.stamp_hmac_tlv_failures += cc.hmac_tlv_failures.load(std::memory_order_relaxed);
            r.sessions_active += cc.sessions_active.load(std::memory_order_relaxed);
            for (std::size_t b = 0; b < dataplane::residence_buckets; ++b) {
                r.residence.buckets[b] += cc.residence[b].load(std::memory_order_relaxed);
            }
            r.residence.sum_s +=
                    static_cast<double>(cc.residence_sum_ns.load(std::memory_order_relaxed)) * 1e-9;
            for (std::size_t t = 0; t < r.stamp_tlvs.size(); ++t) {
                r.stamp_tlvs[t] += cc.tlv_seen[t].load(std::memory_order_relaxed);
            }
            r.stamp_tlv_flags[0] += cc.tlv_unrecognized.load(std::memory_order_relaxed);
            r.stamp_tlv_flags[1] += cc.tlv_malformed.load(std::memory_order_relaxed);
            r.stamp_tlv_flags[2] += cc.tlv_integrity.load(std::memory_order_relaxed);
            for (std::size_t k = 0; k < r.limit_drops.size(); ++k) {
                r.limit_drops[k] += cc.limit_drops[k].load(std::memory_order_relaxed);
            }
            const auto& rules = reflectors[i].prefix_rules;
            r.prefix_drops.resize(rules.size());
            for (std::size_t k = 0; k < rules.size() && k < cc.prefix_drops.size(); ++k) {
                r.prefix_drops[k].first = rules[k];
                // The workers' counts by rule position, summed here (keyed by prefix below).
                r.prefix_drops[k].second += cc.prefix_drops[k].load(std::memory_order_relaxed);
            }
        }
        if (w < rt.n_workers) {
            metrics::worker_stats ws;
            ws.polls = c.polls.load(std::memory_order_relaxed);
            ws.idle_polls = c.idle_polls.load(std::memory_order_relaxed);
            ws.busy_cycles = c.busy_cycles.load(std::memory_order_relaxed);
            ws.busy_pkts = c.busy_pkts.load(std::memory_order_relaxed);
            if (prev_tsc[w] && now > prev_tsc[w]) {
                ws.busy_ratio = static_cast<double>(ws.busy_cycles - prev_busy[w]) /
                                static_cast<double>(now - prev_tsc[w]);
            }
            prev_tsc[w] = now;
            prev_busy[w] = ws.busy_cycles;
            s.workers.push_back(ws);
        }
    }
    // Per prefix rule drops are counted by the rule's position in the reflector's
    // prefix-limits; a reload may reorder, add or remove rules. Each position's growth since
    // the last gather goes to the prefix at that position now, and each (reflector, prefix)
    // keeps its own total: a prefix's series never inherits another's count (drops counted
    // between the last gather and a reload that moved the rule are the only ones that can go to
    // the rule that took its position).
    {
        static std::mutex mu;
        static std::map<std::pair<uint16_t, std::size_t>, uint64_t> last;  // (slot, position)
        static std::map<std::pair<uint16_t, std::string>, uint64_t> total; // (slot, prefix)
        const std::lock_guard<std::mutex> lock(mu);
        for (std::size_t i = 0; i < reflectors.size(); ++i) {
            for (std::size_t k = 0; k < s.reflectors[i].prefix_drops.size(); ++k) {
                auto& [prefix, n] = s.reflectors[i].prefix_drops[k];
                uint64_t& seen = last[{reflectors[i].slot, k}];
                uint64_t& t = total[{reflectors[i].slot, prefix}];
                // Two gathers run at once (the slow path's and a scrape's) and read the workers'
                // counters before the lock: a read older than `seen` adds nothing and leaves
                // `seen` alone, so the same growth is never added twice. The per-position
                // counters only grow (slots are per reflector name, never reset).
                if (n > seen) {
                    t += n - seen;
                    seen = n;
                }
                n = t;
            }
        }
    }
    for (const auto& p : rt.ports) {
        metrics::port_stats ps;
        ps.name = p->name;
        ps.timestamp_source = p->ts_source();
        ps.t3_method = dataplane::to_string(p->method());
        ps.clock_error_s =
                static_cast<double>(p->clock_error_ns.load(std::memory_order_relaxed)) * 1e-9;
        ps.clock_steps = p->clock_steps.load(std::memory_order_relaxed);
        ps.clock_read_failures = p->clock_read_failures.load(std::memory_order_relaxed);
        rte_eth_stats st{};
        // rte_eth_stats_get is not thread-safe for one port (clear-on-read PMDs add to their
        // state), and the slow path, telemetry and a scrape gather from their own threads.
        static std::mutex ethdev_mu;
        std::unique_lock<std::mutex> ethdev_lock(ethdev_mu);
        const int stats_rc = rte_eth_stats_get(p->port_id, &st);
        ethdev_lock.unlock();
        if (stats_rc == 0) {
            ps.nic_ok = true;
            ps.rx_packets = st.ipackets;
            ps.tx_packets = st.opackets;
            // net_af_packet: its kernel rings' drops as well (port_runtime::kernel_ring_drops).
            ps.rx_missed = st.imissed + p->kernel_ring_drops.load(std::memory_order_relaxed);
            ps.rx_errors = st.ierrors;
            ps.tx_errors = st.oerrors;
            ps.rx_nombuf = st.rx_nombuf;
        }
        switch (p->link_state.load(std::memory_order_relaxed)) {
        case dataplane::port_runtime::link_up:
            ps.link_state = "up";
            break;
        case dataplane::port_runtime::link_down:
            ps.link_state = "down";
            break;
        default:
            ps.link_state = "unknown";
        }
        ps.link_speed_mbps = p->link_speed_mbps.load(std::memory_order_relaxed);
        ps.link_changes = p->link_changes.load(std::memory_order_relaxed);
        s.ports.push_back(ps);
    }
    if (rt.control) {
        const auto& cc = rt.control->counters();
        s.control.session_attempts = cc.session_attempts.load(std::memory_order_relaxed);
        s.control.session_started = cc.session_started.load(std::memory_order_relaxed);
        s.control.connections_open = rt.control->connections_open();
        s.control.sessions_refwait = rt.control->refusals().refwait.load(std::memory_order_relaxed);
        const auto& rf = rt.control->refusals();
        s.control.refused = {
                {"acl", rf.acl.load(std::memory_order_relaxed)},
                {"max_connections", rf.max_connections.load(std::memory_order_relaxed)},
                {"per_source", rf.per_source.load(std::memory_order_relaxed)},
                {"pending", rf.pending.load(std::memory_order_relaxed)},
                {"session_not_started",
                 cc.session_unstarted_expired.load(std::memory_order_relaxed)},
                {"fd_exhausted", rf.fd_exhausted.load(std::memory_order_relaxed)},
                {"pending_full", rf.pending_full.load(std::memory_order_relaxed)},
                {"sessions_per_source", rf.sessions_per_source.load(std::memory_order_relaxed)},
                {"derivation_per_source",
                 cc.key_derivations_refused_source.load(std::memory_order_relaxed)}};
        for (std::size_t a = 1; a < cc.session_refused.size(); ++a) {
            s.control.refused.push_back({"session_accept_" + std::to_string(a),
                                         cc.session_refused[a].load(std::memory_order_relaxed)});
        }
        s.control.key_derivations_done = cc.key_derivations_done.load(std::memory_order_relaxed);
        s.control.key_derivations_refused =
                cc.key_derivations_refused.load(std::memory_order_relaxed);
        s.control.key_derivation_ns = cc.key_derivation_ns.load(std::memory_order_relaxed);
        s.control.busy_polls = rt.control->busy_polls();
        s.control.connections_backed_up = rt.control->backed_up();
        for (std::size_t f = 0; f < cc.auth_failures.size(); ++f) {
            s.control.auth_failures.push_back(
                    {std::string(control::to_string(static_cast<control::auth_failure>(f))),
                     cc.auth_failures[f].load(std::memory_order_relaxed)});
        }
        for (std::size_t r = 0; r < cc.closed.size(); ++r) {
            const auto why = control::to_string(static_cast<control::close_reason>(r));
            if (why == "peer_closed" || why == "shutdown") {
                continue; // normal ends, not refusals
            }
            s.control.refused.push_back(
                    {"closed_" + std::string(why), cc.closed[r].load(std::memory_order_relaxed)});
        }
    }
    if (rt.pool) {
        s.mbufs_in_use = rte_mempool_in_use_count(rt.pool);
        s.mbufs_total = rt.pool->size;
    }
    s.reloads_ok = rt.reloads_ok.load();
    s.reloads_failed = rt.reloads_failed.load();
    s.reloads_refused = rt.reloads_refused.load();
    s.version = DPDK_TWAMP_VERSION;
    std::string_view dpdk = rte_version();
    if (dpdk.rfind("DPDK ", 0) == 0) {
        dpdk.remove_prefix(5);
    }
    s.dpdk_version = std::string(dpdk);
    s.start_unix_ns = rt.start_unix_ns;
    const reload_outcome last = rt.last_reload();
    s.last_reload_result = name_of(last.result);
    s.last_reload_unix_ns = last.unix_ns;
    if (rt.clock) {
        dataplane::clock_map m = rt.clock->read();
        s.clock_synchronized = m.synchronized;
        s.clock_error_s = static_cast<double>(m.error.error_ns()) * 1e-9;
    }
    return s;
}

std::string stats_block(const metrics::box_stats& cur, const metrics::box_stats& prev, double secs,
                        int64_t unix_ns) {
    // Rows by reflector name, never by index: a reload adds, removes and reorders reflectors,
    // and each name keeps its counters slot for the process' lifetime (slot_map), so its
    // counters only grow. A name the previous block did not have started from zero.
    std::map<std::string_view, const metrics::reflector_stats*> before;
    for (const auto& p : prev.reflectors) {
        before.emplace(p.name, &p);
    }
    const metrics::reflector_stats zero{};
    auto delta = [](uint64_t now, uint64_t then) { return now >= then ? now - then : 0; };
    auto rate = [&](uint64_t now, uint64_t then) {
        return static_cast<double>(delta(now, then)) / (secs > 0 ? secs : 1);
    };
    char line[256];
    const time_t t = static_cast<time_t>(unix_ns / 1'000'000'000);
    tm utc{};
    gmtime_r(&t, &utc);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(line, sizeof line, "stats: time %s.%03dZ period %.3f s\n", when,
                  static_cast<int>((unix_ns / 1'000'000) % 1000), secs);
    std::string out = line;
    for (const auto& c : cur.reflectors) {
        auto it = before.find(c.name);
        const metrics::reflector_stats& p = it == before.end() ? zero : *it->second;
        std::snprintf(line, sizeof line,
                      "stats: %-16s rx %10.0f pps  tx %10.0f pps  denied %8" PRIu64
                      "  sessions %" PRIu64 "\n",
                      c.name.c_str(), rate(c.rx_pkts, p.rx_pkts),
                      rate(c.reflected_pkts, p.reflected_pkts), delta(c.acl_denied, p.acl_denied),
                      c.sessions_active);
        out += line;
    }
    std::snprintf(line, sizeof line,
                  "stats: %-16s rx %10.0f pps  tx %10.0f pps  dropped %7" PRIu64
                  "  sessions %" PRIu64 "\n",
                  "total", rate(cur.rx_pkts, prev.rx_pkts),
                  rate(cur.reflected_pkts, prev.reflected_pkts),
                  delta(cur.dropped(), prev.dropped()), cur.sessions_active);
    out += line;
    return out;
}

} // namespace twamp::app
