#include "twamp/metrics/prometheus.hpp"

#include <cerrno>
#include <cstring>
#include <deque>
#include <limits>

#include <sys/socket.h>
#include <unistd.h>

#include "twamp/net/sockaddr.hpp"

namespace twamp::metrics {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr const char* prefix = "twamp_reflector_";

class builder {
public:
    explicit builder(const label_list& common) {
        for (const auto& [k, v] : common) {
            common_.push_back({k, v});
        }
    }

    MetricFamily& family(const std::string& name, const std::string& help, MetricType t) {
        out_.push_back(MetricFamily{prefix + name, help, t, {}});
        return out_.back();
    }

    ClientMetric metric(std::vector<ClientMetric::Label> extra = {}) const {
        ClientMetric m;
        m.label = common_;
        m.label.insert(m.label.end(), extra.begin(), extra.end());
        return m;
    }

    void counter(MetricFamily& f, double v, std::vector<ClientMetric::Label> extra = {}) const {
        ClientMetric m = metric(std::move(extra));
        m.counter.value = v;
        f.metric.push_back(std::move(m));
    }

    void gauge(MetricFamily& f, double v, std::vector<ClientMetric::Label> extra = {}) const {
        ClientMetric m = metric(std::move(extra));
        m.gauge.value = v;
        f.metric.push_back(std::move(m));
    }

    // A counter family with one unlabeled series.
    void total(const std::string& name, const std::string& help, double v) {
        counter(family(name, help, MetricType::Counter), v);
    }

    std::vector<MetricFamily> take() {
        return {std::make_move_iterator(out_.begin()), std::make_move_iterator(out_.end())};
    }

private:
    std::vector<ClientMetric::Label> common_;
    // A deque: family() hands out references that later family() calls must not invalidate
    // (several families are filled side by side; a vector's reallocation broke them).
    std::deque<MetricFamily> out_;
};

double d(uint64_t v) {
    return static_cast<double>(v);
}

} // namespace

std::vector<prometheus::MetricFamily> families(const box_stats& s, const label_list& labels) {
    builder b(labels);

    // Issue 19: what runs, since when.
    b.gauge(b.family("build_info",
                     "Always 1: the version of dpdk-twamp and of the DPDK it runs on, as labels",
                     MetricType::Gauge),
            1, {{"version", s.version}, {"dpdk_version", s.dpdk_version}});
    b.gauge(b.family("start_time_seconds", "When the process started (Unix time)",
                     MetricType::Gauge),
            static_cast<double>(s.start_unix_ns) / 1e9);

    // Gufo Agent's twamp_reflector counters: exact names and help texts, box totals; the octets
    // are whole Ethernet frames (Gufo's own figure: gufo_reflected_octets_total, below).
    b.total("session_attempts", "Total amount of the attempted sessions",
            d(s.control.session_attempts));
    b.total("session_started", "Total amount of the started sessions",
            d(s.control.session_started));
    b.total("reflected_pkt", "Total amount of the reflected packets", d(s.reflected_pkts));
    b.total("reflected_octets", "Total amount of the reflected octets", d(s.reflected_octets));
    // reflected_octets counts Ethernet frames; Gufo Agent counts UDP payload + 28 (README).
    b.total("gufo_reflected_octets_total",
            "Gufo Agent's reflected_octets figure: each reply's UDP payload plus 28 octets (an "
            "IPv4 header without options and the UDP header)",
            d(s.reflected_gufo_octets));

    // Per reflector.
    for (const auto& p : reflector_counters) {
        auto& f = b.family(std::string(p.metric), std::string(p.help), MetricType::Counter);
        for (const auto& r : s.reflectors) {
            b.counter(f, d(r.*p.field), {{"reflector", r.name}});
        }
    }
    {
        auto& f = b.family("residence_time_seconds",
                           "Time a test packet spent in the reflector, T3 - T2",
                           MetricType::Histogram);
        for (const auto& r : s.reflectors) {
            ClientMetric m = b.metric({{"reflector", r.name}});
            uint64_t cum = 0;
            for (std::size_t i = 0; i < r.residence.buckets.size(); ++i) {
                cum += r.residence.buckets[i];
                ClientMetric::Bucket bk;
                bk.cumulative_count = cum;
                bk.upper_bound = i < residence_bounds_s.size()
                                         ? residence_bounds_s[i]
                                         : std::numeric_limits<double>::infinity();
                m.histogram.bucket.push_back(bk);
            }
            m.histogram.sample_count = cum;
            m.histogram.sample_sum = r.residence.sum_s;
            f.metric.push_back(std::move(m));
        }
    }

    {
        auto& f = b.family("reflector_sessions_active",
                           "Stateful sessions of a reflector in the workers' tables",
                           MetricType::Gauge);
        for (const auto& r : s.reflectors) {
            b.gauge(f, d(r.sessions_active), {{"reflector", r.name}});
        }
    }

    // STAMP TLVs (RFC 8972 §4, RFC 9503), per STAMP reflector (a TWAMP Light one has none):
    // by type, and the flags returned.
    {
        auto& f = b.family("stamp_tlvs_total",
                           "STAMP TLVs in the requests a reflector answered or refused by their "
                           "TLVs, by type (other: any type without a name here)",
                           MetricType::Counter);
        for (const auto& r : s.reflectors) {
            if (r.mode != "stamp") {
                continue;
            }
            for (std::size_t t = 0; t < stamp_tlv_type_names.size(); ++t) {
                b.counter(f, d(r.stamp_tlvs[t]),
                          {{"reflector", r.name}, {"type", std::string(stamp_tlv_type_names[t])}});
            }
        }
    }
    {
        auto& f = b.family("stamp_tlv_flags_total",
                           "STAMP TLVs a reflector returned with a flag set: u (unrecognized "
                           "type), m (malformed: processing stopped there), i (integrity)",
                           MetricType::Counter);
        for (const auto& r : s.reflectors) {
            if (r.mode != "stamp") {
                continue;
            }
            for (std::size_t k = 0; k < stamp_tlv_flag_names.size(); ++k) {
                b.counter(f, d(r.stamp_tlv_flags[k]),
                          {{"reflector", r.name}, {"flag", std::string(stamp_tlv_flag_names[k])}});
            }
        }
    }

    // Limits (README "Limits"): per reflector, what each limit refused; per prefix rule; the
    // source table's shared entries.
    {
        auto& f = b.family("limit_drops_total",
                           "Requests a reflector's limits refused, by drop reason (the loop "
                           "guard, the rate limits, the new-session rate, over-capacity drops)",
                           MetricType::Counter);
        for (const auto& r : s.reflectors) {
            for (std::size_t k = 0; k < r.limit_drops.size(); ++k) {
                b.counter(f, d(r.limit_drops[k]),
                          {{"reflector", r.name},
                           {"reason", std::string(proto::to_string(limit_reason(k)))}});
            }
        }
    }
    {
        auto& f = b.family("prefix_limit_drops_total",
                           "Requests a reflector's prefix-limits rule refused (its rate, or its "
                           "max-sessions with over-capacity \"drop\")",
                           MetricType::Counter);
        for (const auto& r : s.reflectors) {
            for (const auto& [prefix, n] : r.prefix_drops) {
                b.counter(f, d(n), {{"reflector", r.name}, {"prefix", prefix}});
            }
        }
    }
    b.total("source_table_collisions_total",
            "Requests whose source found its source-table entry held by another live source and "
            "shared it (limits)",
            d(s.source_collisions));

    // Every frame taken from the wire ends exactly once: reflected (reflected_pkt), dropped
    // (by reason) or to the kernel, so rx_frames_total == reflected_pkt + dropped + to_kernel
    // whenever nothing is in flight.
    b.total("rx_frames_total",
            "Frames the workers took from the wire: each one reflected, dropped or passed to the "
            "kernel",
            d(s.rx_pkts));

    // Drops, by the one list of reasons.
    {
        auto& f = b.family("dropped_packets_total", "Packets dropped, by reason",
                           MetricType::Counter);
        for (std::size_t r = 1; r < proto::drop_reason_count; ++r) {
            b.counter(f, d(s.drops[r]), {{"reason", std::string(proto::drop_reason_names[r])}});
        }
    }
    {
        auto& f = b.family("exception_packets_total",
                           "Frames passed between the wire and the kernel (TAP), by direction",
                           MetricType::Counter);
        b.counter(f, d(s.to_kernel),
                  {{"direction", std::string(name_of(exception_direction::to_kernel))}});
        b.counter(f, d(s.to_wire),
                  {{"direction", std::string(name_of(exception_direction::to_wire))}});
    }
    {
        auto& f = b.family("exception_to_wire_dropped_total",
                           "Frames from the kernel (TAP) that did not reach the wire, by reason",
                           MetricType::Counter);
        for (std::size_t r = 0; r < s.to_wire_drops.size(); ++r) {
            b.counter(f, d(s.to_wire_drops[r]), {{"reason", std::string(to_wire_drop_names[r])}});
        }
    }

    // Sessions.
    b.gauge(b.family("sessions_active", "Stateful sessions in the workers' tables",
                     MetricType::Gauge),
            d(s.sessions_active));
    for (const auto& t : session_totals) {
        b.total(std::string(t.metric), std::string(t.help), d(s.*t.field));
    }

    // TWAMP-Control.
    b.gauge(b.family("control_connections_open", "Open TWAMP-Control connections",
                     MetricType::Gauge),
            d(s.control.connections_open));
    b.total("control_sessions_refwait_total",
            "TWAMP-Control sessions ended after REFWAIT without test packets (RFC 5357 section "
            "3.1)",
            d(s.control.sessions_refwait));
    {
        auto& f = b.family("control_connections_refused_total",
                           "TWAMP-Control connections or sessions refused, by reason",
                           MetricType::Counter);
        for (const auto& [reason, n] : s.control.refused) {
            b.counter(f, d(n), {{"reason", reason}});
        }
    }

    {
        auto& f = b.family("control_key_derivations_total",
                           "TWAMP-Control PBKDF2 key derivations (RFC 4656 section 3.1): done, or "
                           "refused by control.max-key-derivations",
                           MetricType::Counter);
        b.counter(f, d(s.control.key_derivations_done), {{"result", "done"}});
        b.counter(f, d(s.control.key_derivations_refused), {{"result", "refused"}});
    }
    {
        auto& f = b.family("control_key_derivation_seconds_total",
                           "Time the slow path spent in TWAMP-Control PBKDF2 key derivations",
                           MetricType::Counter);
        b.counter(f, static_cast<double>(s.control.key_derivation_ns) / 1e9, {});
    }
    {
        auto& f = b.family("control_auth_failures_total",
                           "TWAMP-Control authenticated, encrypted and mixed connections that "
                           "failed, by reason",
                           MetricType::Counter);
        for (const auto& [reason, n] : s.control.auth_failures) {
            b.counter(f, d(n), {{"reason", reason}});
        }
    }
    b.total("control_busy_polls_total",
            "Slow-path rounds in which the TWAMP-Control server had work (events, timers, "
            "closes): still while clients only wait",
            d(s.control.busy_polls));
    b.gauge(b.family("control_connections_backed_up",
                     "TWAMP-Control connections whose client does not read: 64 KiB of answers "
                     "queued, not read from until they drain",
                     MetricType::Gauge),
            d(s.control.connections_backed_up));

    {
        auto& f = b.family("config_reloads_total",
                           "SIGHUP reloads: applied (ok), rejected for errors (failed), refused "
                           "for restart-only changes (refused)",
                           MetricType::Counter);
        b.counter(f, d(s.reloads_ok), {{"result", "ok"}});
        b.counter(f, d(s.reloads_failed), {{"result", "failed"}});
        b.counter(f, d(s.reloads_refused), {{"result", "refused"}});
    }

    // Issue 19: the last SIGHUP, as Prometheus itself names its own (0 and 1 before any).
    b.gauge(b.family("config_last_reload_timestamp_seconds",
                     "When the last SIGHUP reload was decided (Unix time; 0: none yet)",
                     MetricType::Gauge),
            static_cast<double>(s.last_reload_unix_ns) / 1e9);
    b.gauge(b.family("config_last_reload_successful",
                     "1 unless the last SIGHUP reload was rejected or refused (the running "
                     "configuration is the file's)",
                     MetricType::Gauge),
            s.last_reload_result == "rejected" || s.last_reload_result == "refused" ? 0 : 1);
    {
        auto& f = b.family("config_last_reload_result",
                           "1 for the last SIGHUP reload's result (none: no reload yet), 0 for "
                           "the others",
                           MetricType::Gauge);
        for (const char* r : {"applied", "unchanged", "rejected", "refused", "none"}) {
            b.gauge(f, s.last_reload_result == r ? 1 : 0, {{"result", r}});
        }
    }

    // Clock.
    b.gauge(b.family("clock_synchronized",
                     "1 while the clock behind T2/T3 is synchronized (the Error Estimate's S bit)",
                     MetricType::Gauge),
            s.clock_synchronized ? 1 : 0);
    b.gauge(b.family("clock_error_seconds",
                     "The clock's estimated error, as the Error Estimate states it",
                     MetricType::Gauge),
            s.clock_error_s);
    {
        auto& f = b.family("timestamp_source",
                           "Where a port's T2 comes from: hw (device) or sw (calibrated TSC)",
                           MetricType::Gauge);
        for (const auto& p : s.ports) {
            b.gauge(f, 1, {{"port", p.name}, {"source", p.timestamp_source}});
        }
    }
    {
        auto& f =
                b.family("t3_method",
                         "Where a port's T3 comes from: software, device-clock or scheduled "
                         "(send-on-timestamp); T2 and the Error Estimate come from the same clock",
                         MetricType::Gauge);
        auto& e = b.family("port_clock_error_seconds",
                           "A port's device clock mapping: the Error Estimate its replies state "
                           "(system clock error plus the measured mapping error; 0: software)",
                           MetricType::Gauge);
        auto& st = b.family("port_clock_steps_total",
                            "Steps of a port's device clock that restarted its mapping",
                            MetricType::Counter);
        auto& rf = b.family("port_clock_read_failures_total",
                            "Refreshes of a port's device clock mapping the device did not answer "
                            "(a mapping a second old is not used: software T2 and T3 meanwhile)",
                            MetricType::Counter);
        for (const auto& p : s.ports) {
            b.gauge(f, 1, {{"port", p.name}, {"method", p.t3_method}});
            b.gauge(e, p.clock_error_s, {{"port", p.name}});
            b.counter(st, d(p.clock_steps), {{"port", p.name}});
            b.counter(rf, d(p.clock_read_failures), {{"port", p.name}});
        }
    }
    b.total("t3_fallback_total",
            "Replies of a scheduled (send-on-timestamp) port stamped from the device clock "
            "instead: their departure time had passed when queued",
            d(s.t3_fallback));
    b.total("t3_clamped_total",
            "Replies whose device-clock T3 read below T2 (a device clock step not yet refitted): "
            "sent with T3 = T2 and the Error Estimate widened by the difference",
            d(s.t3_clamped));
    b.total("t2_ahead_total",
            "Replies whose device T2 lay after the device clock when the worker took the frame (a "
            "forward step not yet refitted): sent with the Error Estimate widened by the "
            "difference, S = 0",
            d(s.t2_ahead));
    {
        auto& f = b.family("tx_timestamps_total",
                           "IEEE 1588 transmit timestamps for Follow-Up Telemetry: replies "
                           "flagged (requested), latches read (read), none within 10 ms (missed)",
                           MetricType::Counter);
        b.counter(f, d(s.tx_ts_requested), {{"result", "requested"}});
        b.counter(f, d(s.tx_ts_read), {{"result", "read"}});
        b.counter(f, d(s.tx_ts_missed), {{"result", "missed"}});
    }

    // NIC counters (ethdev stats).
    struct nic {
        const char* name;
        const char* help;
        uint64_t port_stats::*field;
    };
    const nic nics[] = {
            {"port_rx_packets_total", "Packets the port received", &port_stats::rx_packets},
            {"port_tx_packets_total", "Packets the port sent", &port_stats::tx_packets},
            {"port_rx_missed_packets_total", "Packets the NIC dropped for lack of RX descriptors",
             &port_stats::rx_missed},
            {"port_rx_errors_total", "Erroneous received packets", &port_stats::rx_errors},
            {"port_tx_errors_total", "Failed transmissions", &port_stats::tx_errors},
            {"port_rx_nombuf_total",
             "Frames the port could not receive for want of an mbuf (the mbuf pool was empty)",
             &port_stats::rx_nombuf},
    };
    for (const auto& n : nics) {
        auto& f = b.family(n.name, n.help, MetricType::Counter);
        for (const auto& p : s.ports) {
            if (p.nic_ok) {
                b.counter(f, d(p.*n.field), {{"port", p.name}});
            }
        }
    }

    // Issue 19: the link as the slow path last polled it (every ~100 ms). A link whose state
    // is unknown (before the first poll, or a device whose rte_eth_link_get_nowait fails) has
    // no port_link_up sample: 0 would say "down" and TwampLinkDown would fire forever.
    {
        auto& up = b.family("port_link_up",
                            "1 while a port's link is up, 0 while down (no sample while unknown: "
                            "not yet polled, or the device does not report it)",
                            MetricType::Gauge);
        auto& sp = b.family("port_link_speed_bytes_per_second",
                            "A port's link speed as the device reports it (0: unknown)",
                            MetricType::Gauge);
        auto& ch = b.family("port_link_changes_total",
                            "Up or down transitions of a port's link since the first poll",
                            MetricType::Counter);
        for (const auto& p : s.ports) {
            if (p.link_state == "up" || p.link_state == "down") {
                b.gauge(up, p.link_state == "up" ? 1 : 0, {{"port", p.name}});
            }
            b.gauge(sp, static_cast<double>(p.link_speed_mbps) * 1e6 / 8, {{"port", p.name}});
            b.counter(ch, d(p.link_changes), {{"port", p.name}});
        }
    }

    {
        auto& f = b.family("worker_busy_ratio",
                           "Share of a worker's time spent on bursts that carried packets",
                           MetricType::Gauge);
        for (std::size_t w = 0; w < s.workers.size(); ++w) {
            b.gauge(f, s.workers[w].busy_ratio, {{"worker", std::to_string(w)}});
        }
    }
    // The packet buffer pool (a leak: in use climbing under a steady load).
    b.gauge(b.family("mbufs_in_use",
                     "Packet buffers (mbufs) taken from the pool: RX descriptors, rings, in "
                     "flight (read while the workers run)",
                     MetricType::Gauge),
            static_cast<double>(s.mbufs_in_use));
    b.gauge(b.family("mbufs_total", "Packet buffers (mbufs) in the pool", MetricType::Gauge),
            static_cast<double>(s.mbufs_total));
    return b.take();
}

std::string listen_problem(const net::address& address, uint16_t port) {
    sockaddr_storage ss{};
    const socklen_t len = net::to_sockaddr(address, port, ss);
    const std::string where = net::endpoint_to_string(address, port);
    const int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return "cannot open a TCP socket for " + where + ": " + std::strerror(errno);
    }
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    std::string why;
    if (bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0 || listen(fd, 1) != 0) {
        const int e = errno;
        why = "cannot bind " + where + ": " + std::strerror(e);
        if (e == EADDRINUSE) {
            why += " (another process listens there: stop it or choose another metrics.listen)";
        } else if (e == EADDRNOTAVAIL) {
            why += " (no interface of this network namespace has that address)";
        } else if (e == EACCES) {
            why += " (a port below 1024 needs CAP_NET_BIND_SERVICE)";
        }
    }
    close(fd);
    return why;
}

} // namespace twamp::metrics
