#include "twamp/slowpath/exception.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>

#include <arpa/inet.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "twamp/dataplane/port.hpp"
#include "twamp/proto/exception_class.hpp"

extern char** environ;

namespace twamp::slowpath {

void token_bucket::init(uint64_t pps, uint64_t tsc_hz, uint64_t now) noexcept {
    rate_pps = pps;
    hz = tsc_hz ? tsc_hz : 1;
    capacity = std::max<uint64_t>(pps / 10, 64); // 100 ms worth, at least one burst or two
    tokens = capacity;
    last_tsc = now;
}

unsigned token_bucket::take(unsigned want, uint64_t now) noexcept {
    if (rate_pps == 0) {
        return want; // 0 = unlimited
    }
    uint64_t add = (now - last_tsc) * rate_pps / hz;
    if (add) {
        tokens = std::min(capacity, tokens + add);
        last_tsc = now;
    }
    unsigned ok = static_cast<unsigned>(std::min<uint64_t>(want, tokens));
    tokens -= ok;
    return ok;
}

int run_command(const std::vector<std::string>& argv, std::string* output) {
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    int pipefd[2];
    if (pipe(pipefd) != 0) {
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    posix_spawn_file_actions_addclose(&fa, pipefd[0]);
    pid_t pid;
    int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(pipefd[1]);
    std::string out;
    char buf[512];
    ssize_t n;
    while ((n = read(pipefd[0], buf, sizeof buf)) > 0) {
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(pipefd[0]);
    if (rc != 0) {
        if (output) {
            *output = std::string("cannot run ") + argv[0];
        }
        return -1;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (output) {
        *output = out;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

namespace {

// Every bucket of a TAP, both directions, full. The SYN bucket runs at half the control rate
// (at least 1 pps: 0 would mean no limit); a control rate of 0 (no limit) leaves it unlimited.
void init_limits(tap_port& t, uint32_t pps, uint32_t control_pps, uint32_t neighbor_pps) {
    const uint64_t now = rte_rdtsc();
    const uint64_t hz = rte_get_tsc_hz();
    const uint32_t syn_pps = control_pps ? std::max<uint32_t>(control_pps / 2, 1) : 0;
    t.to_kernel_limit.init(pps, hz, now);
    t.to_wire_limit.init(pps, hz, now);
    t.control_to_kernel_limit.init(control_pps, hz, now);
    t.control_to_wire_limit.init(control_pps, hz, now);
    t.syn_to_kernel_limit.init(syn_pps, hz, now);
    t.syn_to_wire_limit.init(syn_pps, hz, now);
    t.neighbor_to_kernel_limit.init(neighbor_pps, hz, now);
    t.neighbor_to_wire_limit.init(neighbor_pps, hz, now);
}

bool ip(const std::vector<std::string>& args, std::string& error) {
    std::vector<std::string> argv{"ip"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out;
    int rc = run_command(argv, &out);
    if (rc != 0) {
        std::string cmd;
        for (const auto& a : argv) {
            cmd += (cmd.empty() ? "" : " ") + a;
        }
        while (!out.empty() && out.back() == '\n') {
            out.pop_back();
        }
        error = "\"" + cmd + "\" failed: " + (out.empty() ? "exit " + std::to_string(rc) : out);
        return false;
    }
    return true;
}

} // namespace

bool add_address(const std::string& dev, const dataplane::ip_prefix& a, std::string& error) {
    std::vector<std::string> args{"addr", "replace", a.to_string(), "dev", dev};
    if (a.address.is_v6()) {
        args.push_back("nodad"); // usable at once; the wire side is ours alone
    }
    return ip(args, error);
}

bool add_route(const std::string& dev, const dataplane::route_spec& r, std::string& error) {
    return ip({"route", "replace", r.to.to_string(), "via", r.via.to_string(), "dev", dev, "proto",
               "static", "table", std::to_string(route_table)},
              error);
}

bool add_table_routes(const std::string& dev, const std::vector<dataplane::ip_prefix>& addresses,
                      const std::vector<dataplane::route_spec>& routes, std::string& error) {
    for (const auto& a : addresses) {
        if (!ip({a.address.is_v6() ? "-6" : "-4", "route", "replace", a.network().to_string(),
                 "dev", dev, "proto", "static", "scope", "link", "table",
                 std::to_string(route_table)},
                error)) {
            return false;
        }
    }
    for (const auto& r : routes) {
        if (!add_route(dev, r, error)) {
            return false;
        }
    }
    return true;
}

unsigned remove_table_rules() {
    unsigned n = 0;
    for (const char* family : {"-4", "-6"}) {
        // One rule per call; a table has at most a few hundred (64 routes' ports' addresses).
        for (int i = 0; i < 4096; ++i) {
            std::string error;
            if (!ip({family, "rule", "del", "table", std::to_string(route_table)}, error)) {
                break;
            }
            ++n;
        }
    }
    return n;
}

namespace {

// `ip rule add from ADDR lookup TABLE priority TABLE`; one already there is kept (no duplicate).
bool add_rule(const net::address& a, std::string& error) {
    std::string why;
    if (ip({a.is_v6() ? "-6" : "-4", "rule", "add", "from", a.to_string(), "lookup",
            std::to_string(route_table), "priority", std::to_string(route_table)},
           why)) {
        return true;
    }
    if (why.find("File exists") != std::string::npos) {
        return true;
    }
    error = why;
    return false;
}

// The routes of `all` that go out through VLAN `vlan` (0: the TAP itself).
std::vector<dataplane::route_spec> routes_on(const std::vector<dataplane::route_spec>& all,
                                             uint16_t vlan) {
    std::vector<dataplane::route_spec> r;
    for (const auto& x : all) {
        if (x.vlan == vlan) {
            r.push_back(x);
        }
    }
    return r;
}

bool add_addresses(const std::string& dev, const std::vector<dataplane::ip_prefix>& addrs,
                   std::string& error) {
    for (const auto& a : addrs) {
        if (!add_address(dev, a, error)) {
            return false;
        }
    }
    return true;
}

} // namespace

bool exception_path::add_port(const dataplane::port_spec& spec, uint16_t wire_port_id,
                              const uint8_t mac[6], rte_mempool* pool, rte_ring* to_wire,
                              std::string& error) {
    tap_port t;
    t.iface = spec.exception_iface;
    t.wire_port_id = wire_port_id;
    t.to_wire = to_wire;
    char macs[18];
    std::snprintf(macs, sizeof macs, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
                  mac[3], mac[4], mac[5]);
    const std::string devargs =
            "net_tap_" + spec.name + ",iface=" + spec.exception_iface + ",mac=" + macs;
    const std::string where = "port " + spec.name + " exception interface " + t.iface;
    std::string err;
    // Watch from before the interface exists: no link or address event can slip through.
    if (!watch_.is_open() && !watch_.open(err)) {
        warnings_.push_back(where + ": not watched (" + err +
                            "): addresses lost on link down stay lost until a restart");
    }
    if (!dataplane::probe_device(devargs, t.tap_port_id, err)) {
        error = where + ": " + err;
        return false;
    }
    rte_eth_conf conf{};
    int rc = rte_eth_dev_configure(t.tap_port_id, 1, 1, &conf);
    if (rc == 0) {
        rc = rte_eth_rx_queue_setup(t.tap_port_id, 0, 512, rte_socket_id(), nullptr, pool);
    }
    if (rc == 0) {
        rc = rte_eth_tx_queue_setup(t.tap_port_id, 0, 512, rte_socket_id(), nullptr);
    }
    if (rc == 0) {
        rc = rte_eth_dev_start(t.tap_port_id);
    }
    if (rc != 0) {
        error = where + ": " + rte_strerror(-rc);
        return false;
    }
    if (!stale_rules_cleared_) {
        // A crashed run's rules outlive its TAPs; its routes went with them.
        stale_rules_cleared_ = true;
        if (const unsigned n = remove_table_rules(); n > 0) {
            warnings_.push_back("removed " + std::to_string(n) + " stale policy rules of table " +
                                std::to_string(route_table) + " (a previous run's)");
        }
    }
    const bool in_table = !spec.exception_routes.empty();
    const auto tap_routes = routes_on(spec.exception_routes, 0);
    if (!ip({"link", "set", "dev", t.iface, "up"}, error) ||
        !add_addresses(t.iface, spec.addresses, error) ||
        (in_table && !add_table_routes(t.iface, spec.addresses, tap_routes, error))) {
        error = where + ": " + error;
        return false;
    }
    watch_.add(t.iface, spec.addresses, wire_port_id, true, tap_routes, in_table);
    for (const auto& v : spec.vlans) {
        const std::string sub = t.iface + "." + std::to_string(v.id);
        std::string why;
        if (!ip({"link", "add", "link", t.iface, "name", sub, "type", "vlan", "id",
                 std::to_string(v.id)},
                why)) {
            // No 8021q in this kernel (containers): reflection on the VLAN still works, only
            // the kernel's answers (ARP/ND/ICMP) for its addresses are missing. Say so.
            warnings_.push_back(where + ": no kernel interface for VLAN " + std::to_string(v.id) +
                                ": " + why);
            if (!routes_on(spec.exception_routes, v.id).empty()) {
                warnings_.push_back(where + ": its routes via VLAN " + std::to_string(v.id) +
                                    " are not installed either");
            }
            continue;
        }
        const auto sub_routes = routes_on(spec.exception_routes, v.id);
        if (!ip({"link", "set", "dev", sub, "up"}, error) ||
            !add_addresses(sub, v.addresses, error) ||
            (in_table && !add_table_routes(sub, v.addresses, sub_routes, error))) {
            error = where + ": " + error;
            return false;
        }
        watch_.add(sub, v.addresses, wire_port_id, false, sub_routes, in_table);
    }
    if (in_table) {
        // Only the kernel's traffic from the box's own addresses looks the box's routes up.
        std::vector<net::address> from;
        for (const auto& a : spec.addresses) {
            from.push_back(a.address);
        }
        for (const auto& v : spec.vlans) {
            for (const auto& a : v.addresses) {
                from.push_back(a.address);
            }
        }
        rules_added_ = true;
        for (const auto& a : from) {
            if (!add_rule(a, error)) {
                error = where + ": " + error;
                return false;
            }
        }
    }
    t.control_port = spec.exception_control_port;
    init_limits(t, spec.exception_rate_limit_pps, spec.exception_control_rate_limit_pps,
                spec.exception_neighbor_rate_limit_pps);
    if (by_wire_port_.size() <= wire_port_id) {
        by_wire_port_.resize(wire_port_id + 1u, -1);
    }
    by_wire_port_[wire_port_id] = static_cast<int>(taps_.size());
    taps_.push_back(t);
    return true;
}

// Which bucket: ARP/ND, TWAMP-Control TCP to the control port (wire -> kernel) or from it
// (kernel -> wire), a SYN of it (its SYN bucket first, then the control bucket: SYNs take at
// most half of the control share, established segments keep the rest), or the port's
// bucket. Only the first segment of a chained mbuf is looked at (the headers are there).
bool exception_path::admit(tap_port& t, const rte_mbuf* m, bool from_kernel, uint64_t now,
                           proto::drop_reason& why) noexcept {
    using proto::drop_reason;
    using proto::exception_class;
    const exception_class k = proto::classify_exception(
            std::span<const uint8_t>(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m)),
            t.control_port, from_kernel);
    switch (k) {
    case exception_class::neighbor:
        why = drop_reason::exception_neighbor_rate_limit;
        return (from_kernel ? t.neighbor_to_wire_limit : t.neighbor_to_kernel_limit).take(1, now);
    case exception_class::control_syn:
        why = drop_reason::exception_control_rate_limit;
        if (!(from_kernel ? t.syn_to_wire_limit : t.syn_to_kernel_limit).take(1, now)) {
            return false;
        }
        [[fallthrough]];
    case exception_class::control:
        why = drop_reason::exception_control_rate_limit;
        return (from_kernel ? t.control_to_wire_limit : t.control_to_kernel_limit).take(1, now);
    case exception_class::other:
        break;
    }
    why = drop_reason::exception_rate_limit;
    return (from_kernel ? t.to_wire_limit : t.to_kernel_limit).take(1, now);
}

unsigned exception_path::to_kernel(const std::vector<rte_ring*>& from_workers,
                                   dataplane::worker_counters& c) noexcept {
    using dataplane::bump;
    using proto::drop_reason;
    constexpr unsigned burst = 64;
    rte_mbuf* pkts[burst];
    unsigned moved = 0;
    const uint64_t now = rte_rdtsc();
    auto drop = [&](drop_reason r, rte_mbuf* m) {
        bump(c.drops[static_cast<std::size_t>(r)], 1);
        rte_pktmbuf_free(m);
    };
    // Counted here, when the TAP took the frame, not when a worker queued it: a frame the
    // rate limit or a full TAP refuses is a drop and nothing else, so received == reflected +
    // dropped + to-kernel holds in the metrics and the exit summary.
    for (rte_ring* ring : from_workers) {
        unsigned n =
                rte_ring_sc_dequeue_burst(ring, reinterpret_cast<void**>(pkts), burst, nullptr);
        for (unsigned i = 0; i < n; ++i) {
            rte_mbuf* m = pkts[i];
            int idx = m->port < by_wire_port_.size() ? by_wire_port_[m->port] : -1;
            if (idx < 0) {
                drop(drop_reason::no_reflector, m); // no exception path on that port
                continue;
            }
            tap_port& t = taps_[static_cast<std::size_t>(idx)];
            if (!watch_.tap_usable(t.wire_port_id)) {
                drop(drop_reason::exception_iface_down, m); // a down TAP refuses writes
                continue;
            }
            drop_reason why = drop_reason::none;
            if (!admit(t, m, false, now, why)) {
                drop(why, m);
                continue;
            }
            if (rte_eth_tx_burst(t.tap_port_id, 0, &m, 1) == 0) {
                drop(drop_reason::exception_ring_full, m);
                continue;
            }
            bump(c.exception_to_kernel, 1);
            ++moved;
        }
    }
    return moved;
}

unsigned exception_path::poll(const std::vector<rte_ring*>& from_workers,
                              dataplane::worker_counters& c) noexcept {
    using dataplane::bump;
    using dataplane::to_wire_drop;
    constexpr unsigned burst = 64;
    rte_mbuf* pkts[burst];
    unsigned moved = to_kernel(from_workers, c);
    const uint64_t now = rte_rdtsc();
    // Kernel -> wire. These frames were never received from the wire: their losses are
    // counted apart from the drop reasons (to_wire_drops).
    auto drop = [&](to_wire_drop r, rte_mbuf** p, unsigned n) {
        if (n) {
            bump(c.to_wire_drops[static_cast<std::size_t>(r)], n);
            rte_pktmbuf_free_bulk(p, n);
        }
    };
    for (tap_port& t : taps_) {
        uint16_t n = rte_eth_rx_burst(t.tap_port_id, 0, pkts, burst);
        // A frame the TAP read from the kernel but could not put in an mbuf (the pool empty) is
        // lost inside the driver, which counts it (rx_nombuf, a memory read for net_tap).
        rte_eth_stats st;
        if (rte_eth_stats_get(t.tap_port_id, &st) == 0 && st.rx_nombuf > t.rx_nombuf) {
            bump(c.to_wire_drops[static_cast<std::size_t>(to_wire_drop::no_mbuf)],
                 st.rx_nombuf - t.rx_nombuf);
            t.rx_nombuf = st.rx_nombuf;
        }
        if (!n) {
            continue;
        }
        // TWAMP-Control answers and ARP/ND take their own buckets, the rest the port's: the
        // frames that pass first (in order), the refused after them.
        unsigned ok = 0;
        rte_mbuf* refused[burst];
        unsigned n_refused = 0;
        for (unsigned i = 0; i < n; ++i) {
            proto::drop_reason why = proto::drop_reason::none;
            if (admit(t, pkts[i], true, now, why)) {
                pkts[ok++] = pkts[i];
            } else {
                refused[n_refused++] = pkts[i];
            }
        }
        unsigned q = t.to_wire ? rte_ring_sp_enqueue_burst(
                                         t.to_wire, reinterpret_cast<void**>(pkts), ok, nullptr)
                               : 0;
        moved += q;
        drop(to_wire_drop::ring_full, pkts + q, ok - q);
        drop(to_wire_drop::rate_limit, refused, n_refused);
    }
    return moved;
}

void exception_path::drain_to_kernel(const std::vector<rte_ring*>& from_workers,
                                     dataplane::worker_counters& c) noexcept {
    auto left = [&] {
        for (rte_ring* r : from_workers) {
            if (rte_ring_count(r)) {
                return true;
            }
        }
        return false;
    };
    while (left()) {
        to_kernel(from_workers, c);
    }
}

void exception_path::set_rate_limit(uint16_t wire_port_id, uint32_t pps, uint32_t control_pps,
                                    uint32_t neighbor_pps) noexcept {
    if (wire_port_id >= by_wire_port_.size() || by_wire_port_[wire_port_id] < 0) {
        return;
    }
    init_limits(taps_[static_cast<std::size_t>(by_wire_port_[wire_port_id])], pps, control_pps,
                neighbor_pps);
}

bool exception_path::watch() noexcept {
    const uint64_t now = rte_rdtsc();
    if (now - last_watch_tsc_ < rte_get_tsc_hz() / 100) {
        return false;
    }
    last_watch_tsc_ = now;
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    try {
        return watch_.poll(static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u +
                           static_cast<uint64_t>(ts.tv_nsec));
    } catch (const std::exception&) {
        return false; // out of memory for a log line or an `ip` argument: next time
    }
}

void exception_path::close() noexcept {
    for (auto& t : taps_) {
        rte_eth_dev_stop(t.tap_port_id);
        rte_eth_dev_close(t.tap_port_id);
    }
    taps_.clear();
    watch_.close();
    if (rules_added_) {
        rules_added_ = false;
        try {
            remove_table_rules(); // rules outlive the TAPs: the host keeps none of the box's
        } catch (const std::exception&) {
            // out of memory for an argument: the next start removes them
        }
    }
}

} // namespace twamp::slowpath
