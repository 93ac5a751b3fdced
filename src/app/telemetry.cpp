// DPDK telemetry commands, for dpdk-telemetry.py: /twamp/stats, /twamp/reflectors,
// /twamp/sessions, /twamp/clock, /twamp/control. They run on DPDK's telemetry thread.
#include <rte_cycles.h>
#include <rte_telemetry.h>

#include <arpa/inet.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "runtime.hpp"

namespace twamp::app {

namespace {

runtime* g_rt = nullptr;

void add(rte_tel_data* d, const char* name, uint64_t v) {
    rte_tel_data_add_dict_u64(d, name, v);
}

int cmd_stats(const char*, const char*, rte_tel_data* d) {
    metrics::box_stats s = gather(*g_rt);
    rte_tel_data_start_dict(d);
    add(d, "rx_packets", s.rx_pkts);
    add(d, "rx_octets", s.rx_octets);
    add(d, "reflected_packets", s.reflected_pkts);
    add(d, "reflected_octets", s.reflected_octets);
    add(d, "dropped_packets", s.dropped());
    add(d, "to_kernel", s.to_kernel);
    add(d, "to_wire", s.to_wire);
    add(d, "sessions_active", s.sessions_active);
    add(d, "sessions_created", s.sessions_created);
    add(d, "sessions_aged", s.sessions_aged);
    add(d, "sessions_table_full", s.sessions_table_full);
    // Worker cost: TSC cycles spent on bursts that carried packets, and those packets, summed
    // over workers (perf/bench.sh divides the differences: cycles/packet over a window).
    uint64_t busy_cycles = 0, busy_pkts = 0;
    for (const auto& w : s.workers) {
        busy_cycles += w.busy_cycles;
        busy_pkts += w.busy_pkts;
    }
    add(d, "busy_cycles", busy_cycles);
    add(d, "busy_packets", busy_pkts);
    add(d, "tsc_hz", rte_get_tsc_hz());
    rte_tel_data* drops = rte_tel_data_alloc();
    rte_tel_data_start_dict(drops);
    for (std::size_t r = 1; r < proto::drop_reason_count; ++r) {
        add(drops, std::string(proto::drop_reason_names[r]).c_str(), s.drops[r]);
    }
    rte_tel_data_add_dict_container(d, "drops", drops, 0);
    return 0;
}

int cmd_reflectors(const char*, const char*, rte_tel_data* d) {
    metrics::box_stats s = gather(*g_rt);
    rte_tel_data_start_dict(d);
    for (const auto& r : s.reflectors) {
        rte_tel_data* x = rte_tel_data_alloc();
        rte_tel_data_start_dict(x);
        rte_tel_data_add_dict_string(x, "mode", r.mode.c_str());
        add(x, "rx_packets", r.rx_pkts);
        add(x, "rx_octets", r.rx_octets);
        add(x, "reflected_packets", r.reflected_pkts);
        add(x, "reflected_octets", r.reflected_octets);
        add(x, "denied_packets", r.acl_denied);
        add(x, "sessions_active", r.sessions_active);
        rte_tel_data_add_dict_container(d, r.name.c_str(), x, 0);
    }
    return 0;
}

std::string addr_text(const uint8_t a[16]) {
    char buf[INET6_ADDRSTRLEN];
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a, mapped, 12) == 0) {
        inet_ntop(AF_INET, a + 12, buf, sizeof buf);
    } else {
        inet_ntop(AF_INET6, a, buf, sizeof buf);
    }
    return buf;
}

// The busiest sessions of every worker, at most session_query::max_top each (so within the
// 256 entries a telemetry dict may hold up to 8 workers), asked through
// each worker's mailbox (the worker scans its own table a slice at a time).
int cmd_sessions(const char*, const char*, rte_tel_data* d) {
    std::lock_guard<std::mutex> one_at_a_time(g_rt->query_mu);
    std::vector<std::string> names;
    {
        std::lock_guard<std::mutex> lock(g_rt->mu);
        for (const auto& r : g_rt->reflectors) {
            if (names.size() <= r.slot) {
                names.resize(r.slot + 1u, "(removed)");
            }
            names[r.slot] = r.name;
        }
    }
    for (auto& q : g_rt->queries) {
        q->state.store(dataplane::session_query::requested, std::memory_order_release);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    // DPDK 22.11 arrays hold only arrays of scalars: a dict keyed "w<worker>_<rank>" instead.
    rte_tel_data_start_dict(d);
    for (std::size_t w = 0; w < g_rt->queries.size(); ++w) {
        auto& q = *g_rt->queries[w];
        while (q.state.load(std::memory_order_acquire) != dataplane::session_query::done &&
               std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        if (q.state.load(std::memory_order_acquire) != dataplane::session_query::done) {
            continue; // the worker did not answer in time; say nothing rather than guess
        }
        for (unsigned i = 0; i < q.count; ++i) {
            const auto& e = q.top[i];
            rte_tel_data* x = rte_tel_data_alloc();
            rte_tel_data_start_dict(x);
            add(x, "worker", w);
            rte_tel_data_add_dict_string(x, "reflector",
                                         e.key.ctx < names.size() ? names[e.key.ctx].c_str() : "?");
            rte_tel_data_add_dict_string(x, "source", addr_text(e.key.src).c_str());
            add(x, "source_port", e.key.src_port);
            rte_tel_data_add_dict_string(x, "destination", addr_text(e.key.dst).c_str());
            add(x, "destination_port", e.key.dst_port);
            add(x, "ssid", e.key.ssid);
            add(x, "packets", e.s.packets);
            add(x, "reflector_sequence", e.s.next_seq);
            add(x, "last_sender_sequence", e.s.last_sender_seq);
            add(x, "gaps", e.s.gaps);
            add(x, "duplicates", e.s.duplicates);
            add(x, "reorders", e.s.reorders);
            char key[48];
            std::snprintf(key, sizeof key, "w%zu_%u", w, i + 1);
            rte_tel_data_add_dict_container(d, key, x, 0);
        }
        q.state.store(dataplane::session_query::idle, std::memory_order_release);
    }
    return 0;
}

int cmd_clock(const char*, const char*, rte_tel_data* d) {
    dataplane::clock_map m = g_rt->clock->read();
    rte_tel_data_start_dict(d);
    add(d, "synchronized", m.synchronized ? 1 : 0);
    add(d, "error_ns", m.error.error_ns());
    add(d, "error_estimate", m.error.encode());
    add(d, "tai_utc_offset_s", static_cast<uint64_t>(m.tai_utc_offset_s));
    add(d, "tsc_hz", rte_get_tsc_hz());
    rte_tel_data* ports = rte_tel_data_alloc();
    rte_tel_data_start_dict(ports);
    for (const auto& p : g_rt->ports) {
        rte_tel_data_add_dict_string(ports, p->name.c_str(), p->ts_source());
    }
    rte_tel_data_add_dict_container(d, "timestamp_source", ports, 0);
    return 0;
}

int cmd_control(const char*, const char*, rte_tel_data* d) {
    metrics::box_stats s = gather(*g_rt);
    rte_tel_data_start_dict(d);
    add(d, "session_attempts", s.control.session_attempts);
    add(d, "session_started", s.control.session_started);
    add(d, "connections_open", s.control.connections_open);
    return 0;
}

} // namespace

void register_telemetry(runtime& rt) {
    g_rt = &rt;
    rte_telemetry_register_cmd("/twamp/stats", cmd_stats,
                               "Box totals: packets, octets, drops by reason, sessions");
    rte_telemetry_register_cmd("/twamp/reflectors", cmd_reflectors,
                               "Per reflector: mode, packets, octets, denied, active sessions");
    rte_telemetry_register_cmd("/twamp/sessions", cmd_sessions,
                               "Busiest sessions of each worker (at most 32 each)");
    rte_telemetry_register_cmd("/twamp/clock", cmd_clock,
                               "Clock: synchronized, error, TAI offset, timestamp source per port");
    rte_telemetry_register_cmd("/twamp/control", cmd_control,
                               "TWAMP-Control: session attempts, sessions started, connections");
}

} // namespace twamp::app
