#include "summary.hpp"

#include <cstdio>
#include <string>

#include "twamp/metrics/prometheus.hpp"

namespace twamp::app {

namespace {

// ", 2 routes" after the exception interface (ports[].exception.routes), "" without any.
std::string routes_text(std::size_t n) {
    return n == 0 ? std::string() : ", " + std::to_string(n) + (n == 1 ? " route" : " routes");
}

} // namespace

void print_startup(const box& b, const char* version) {
    const config::config& cfg = b.running();
    const dataplane::dataplane_spec& spec = b.spec();
    const auto& ports = b.rt().ports;
    const unsigned n_workers = b.n_workers();
    const unsigned n_ports = static_cast<unsigned>(ports.size());
    std::printf("dpdk-twamp %s: %u worker%s, %u port%s, %zu reflector%s\n", version, n_workers,
                n_workers == 1 ? "" : "s", n_ports, n_ports == 1 ? "" : "s", cfg.reflectors.size(),
                cfg.reflectors.size() == 1 ? "" : "s");
    for (unsigned p = 0; p < n_ports; ++p) {
        const auto& pr = *ports[p];
        const auto* m = pr.mac.addr_bytes;
        std::printf(
                "  port %s: %s (%s) mac %02x:%02x:%02x:%02x:%02x:%02x, timestamps %s%s, t3 %s%s, "
                "rss %s, exception %s%s\n",
                pr.name.c_str(), spec.ports[p].device.c_str(), pr.driver.c_str(), m[0], m[1], m[2],
                m[3], m[4], m[5], pr.ts_source(),
                pr.time ? (pr.fit ? " (device clock, fitted)" : " (stated unit)") : "",
                dataplane::to_string(pr.method()),
                pr.tx_timestamps ? ", follow-up tx timestamps" : "", pr.rss ? "on" : "off",
                spec.ports[p].exception_iface.empty() ? "none"
                                                      : spec.ports[p].exception_iface.c_str(),
                routes_text(spec.ports[p].exception_routes.size()).c_str());
    }
    if (b.metrics_served()) {
        std::printf("  metrics: http://%s/metrics\n", cfg.metrics.listen.c_str());
    }
    if (b.control()) {
        std::printf("  control: TWAMP-Control on %s port %u, receiver ports %u-%u, modes %s\n",
                    cfg.control.listen.to_string().c_str(), cfg.control.port,
                    cfg.control.receiver_ports.min, cfg.control.receiver_ports.max,
                    config::modes_to_string(cfg.control.modes).c_str());
    }
    std::printf("  capture: %s\n",
                b.capture_ready() ? "dpdk-dumpcap ready"
                                  : "unavailable (multi-process off: --no-shconf/--in-memory, or "
                                    "no hugepages)");
    if (!b.telemetry_error().empty()) {
        std::printf("  warning: telemetry commands not registered: %s\n",
                    b.telemetry_error().c_str());
    }
    for (const auto& wmsg : b.exceptions().warnings()) {
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
}

std::string ready_status(const box& b) {
    const config::config& cfg = b.running();
    const auto& ports = b.rt().ports;
    auto n = [](std::size_t v, const char* what) {
        return std::to_string(v) + " " + what + (v == 1 ? "" : "s");
    };
    std::string s = "running: " + n(b.n_workers(), "worker") + ", " + n(ports.size(), "port") +
                    ", " + n(cfg.reflectors.size(), "reflector");
    if (b.control()) {
        s += ", TWAMP-Control on " + cfg.control.listen.to_string() + " port " +
             std::to_string(cfg.control.port);
    }
    if (!b.rt().config_path.empty()) {
        s += "; config " + b.rt().config_path;
    }
    return s;
}

} // namespace twamp::app
