#include "twamp/dataplane/port.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <dirent.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf_dyn.h>

#include "twamp/dataplane/clock.hpp"

namespace twamp::dataplane {

bool probe_device(const std::string& devargs, uint16_t& port_id, std::string& error) {
    const std::string name = devargs.substr(0, devargs.find(','));
    if (rte_eth_dev_get_port_by_name(name.c_str(), &port_id) == 0) {
        return true; // already probed from the EAL command line
    }
    int rc = rte_dev_probe(devargs.c_str());
    if (rc < 0 && rc != -EEXIST) {
        // Only a PCI address ("0000:3b:00.0") can be a device to bind; a name that is a
        // kernel interface ("eth0") needs AF_PACKET (the loader refuses most such names
        // already; this catches the rest); anything else is a vdev's devargs.
        const bool pci = name.find(':') != std::string::npos;
        std::string hint;
        if (pci) {
            hint = " (is it bound to a DPDK driver such as vfio-pci? see dpdk-devbind.py "
                   "--status)";
        } else if (if_nametoindex(name.c_str()) != 0) {
            hint = " (\"" + name +
                   "\" is a kernel network interface, not a DPDK device: use device = "
                   "\"net_af_packet0,iface=" +
                   name + "\", or bind the NIC to vfio-pci and give its PCI address)";
        } else {
            hint = " (no DPDK driver takes it: check the driver name and devargs, and that an "
                   "interface they name exists)";
        }
        error = "cannot probe device \"" + devargs + "\": " + rte_strerror(-rc) + hint;
        return false;
    }
    if (rte_eth_dev_get_port_by_name(name.c_str(), &port_id) != 0) {
        error = "device \"" + devargs + "\" probed but no ethdev port named \"" + name + "\"";
        return false;
    }
    return true;
}

namespace {

const char* method_name(t3_request r) noexcept {
    switch (r) {
    case t3_request::automatic:
        return "auto";
    case t3_request::scheduled:
        return "scheduled";
    case t3_request::device_clock:
        return "device-clock";
    case t3_request::software:
        return "software";
    }
    return "?";
}

// One read of the device clock in device units: rte_eth_read_clock, or the IEEE 1588 time.
int read_device(const port_runtime& pr, uint64_t& raw) noexcept {
    if (pr.read_via_timesync) {
        timespec ts{};
        const int rc = pr.ops->read_time(pr.port_id, &ts);
        raw = timespec_ns(ts);
        return rc;
    }
    return pr.ops->read_clock(pr.port_id, &raw);
}

// A refresh's bracketed reads: each device read between two TSC reads (clock_fit keeps the
// narrowest). Returns how many succeeded.
std::size_t bracketed_reads(const port_runtime& pr, clock_read* out, std::size_t n) noexcept {
    std::size_t k = 0;
    for (std::size_t i = 0; i < n; ++i) {
        clock_read r;
        r.tsc_before = rte_rdtsc_precise();
        const int rc = read_device(pr, r.raw);
        r.tsc_after = rte_rdtsc_precise();
        if (rc == 0) {
            out[k++] = r;
        }
    }
    return k;
}

// The device's nominal rate in units per second: two bracketed reads `ms` apart (start-up).
double measure_raw_hz(const port_runtime& pr, unsigned ms) noexcept {
    clock_read a[3], b[3];
    if (bracketed_reads(pr, a, 3) == 0) {
        return 0;
    }
    timespec d{0, static_cast<long>(ms) * 1'000'000L};
    nanosleep(&d, nullptr);
    if (bracketed_reads(pr, b, 3) == 0) {
        return 0;
    }
    const double tsc = static_cast<double>((b[0].tsc_before + b[0].tsc_after) / 2 -
                                           (a[0].tsc_before + a[0].tsc_after) / 2);
    const double raw = static_cast<double>(static_cast<int64_t>(b[0].raw - a[0].raw));
    if (tsc <= 0 || raw <= 0) {
        return 0;
    }
    return raw * static_cast<double>(rte_get_tsc_hz()) / tsc;
}

} // namespace

const char* to_string(t3_method m) noexcept {
    switch (m) {
    case t3_method::software:
        return "software";
    case t3_method::device_clock:
        return "device-clock";
    case t3_method::scheduled:
        return "scheduled";
    }
    return "?";
}

namespace {

// The AF_PACKET sockets of this process bound to the port's interface: the PMD's, one per
// queue pair (it keeps them private). By the interface index the device reports, else by the
// devargs' iface=.
void find_packet_sockets(port_runtime& pr, const std::string& devargs, uint32_t if_index) {
    if (if_index == 0) {
        const auto at = devargs.find("iface=");
        if (at == std::string::npos) {
            return;
        }
        const std::string iface = devargs.substr(at + 6, devargs.find(',', at) - (at + 6));
        if_index = if_nametoindex(iface.c_str());
    }
    DIR* d = opendir("/proc/self/fd");
    if (!d || if_index == 0) {
        if (d) {
            closedir(d);
        }
        return;
    }
    const int self = dirfd(d);
    while (const dirent* e = readdir(d)) {
        char* end = nullptr;
        const long fd = std::strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end || fd == self) {
            continue;
        }
        int domain = 0;
        socklen_t len = sizeof domain;
        if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 ||
            domain != AF_PACKET) {
            continue;
        }
        sockaddr_ll sll{};
        len = sizeof sll;
        if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&sll), &len) == 0 &&
            static_cast<uint32_t>(sll.sll_ifindex) == if_index) {
            pr.packet_sockets.push_back(static_cast<int>(fd));
            pr.packet_ifindex = sll.sll_ifindex;
        }
    }
    closedir(d);
    // What the rings counted before the box was ready is no loss of its own.
    poll_kernel_drops(pr);
    pr.kernel_ring_drops.store(0, std::memory_order_relaxed);
}

} // namespace

uint64_t poll_kernel_drops(port_runtime& pr) noexcept {
    uint64_t dropped = 0;
    for (int fd : pr.packet_sockets) {
        tpacket_stats st{};
        socklen_t len = sizeof st;
        if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
            dropped += st.tp_drops;
        }
    }
    if (dropped) {
        pr.kernel_ring_drops.fetch_add(dropped, std::memory_order_relaxed);
    }
    return dropped;
}

const char* to_string(port_fault f) noexcept {
    switch (f) {
    case port_fault::none:
        return "none";
    case port_fault::removed:
        return "the device was removed";
    case port_fault::reset:
        return "the device needs a reset";
    case port_fault::iface_gone:
        return "its kernel interface was deleted";
    }
    return "?";
}

namespace {

// Interrupt thread: a removed device or one that needs a reset (the workers' queues are gone
// or stopped); the slow path acts on it (poll_port_health).
int on_port_event(uint16_t, rte_eth_event_type type, void* arg, void*) {
    auto* pr = static_cast<port_runtime*>(arg);
    pr->fault.store(type == RTE_ETH_EVENT_INTR_RMV ? port_fault::removed : port_fault::reset,
                    std::memory_order_relaxed);
    return 0;
}

} // namespace

port_fault poll_port_health(port_runtime& pr) noexcept {
    poll_kernel_drops(pr);
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(pr.port_id, &link) == 0) {
        bool up = link.link_status == RTE_ETH_LINK_UP;
        // DPDK 22.11's net_af_packet says "up" from start to stop whatever its interface does
        // (later DPDK reads IFF_RUNNING, as here): the kernel interface's carrier decides.
        if (up && pr.packet_ifindex > 0 && !pr.packet_sockets.empty()) {
            ifreq ifr{};
            if (if_indextoname(static_cast<unsigned>(pr.packet_ifindex), ifr.ifr_name) != nullptr &&
                ioctl(pr.packet_sockets.front(), SIOCGIFFLAGS, &ifr) == 0) {
                up = (ifr.ifr_flags & IFF_RUNNING) != 0;
            }
        }
        const uint8_t now = up ? port_runtime::link_up : port_runtime::link_down;
        const uint8_t was = pr.link_state.exchange(now, std::memory_order_relaxed);
        if (was != port_runtime::link_unknown && was != now) {
            pr.link_changes.fetch_add(1, std::memory_order_relaxed);
        }
        const bool known = link.link_speed != RTE_ETH_SPEED_NUM_NONE &&
                           link.link_speed != RTE_ETH_SPEED_NUM_UNKNOWN;
        pr.link_speed_mbps.store(known ? link.link_speed : 0, std::memory_order_relaxed);
    }
    if (!pr.packet_sockets.empty() &&
        pr.fault.load(std::memory_order_relaxed) == port_fault::none) {
        sockaddr_ll sll{};
        socklen_t len = sizeof sll;
        if (getsockname(pr.packet_sockets.front(), reinterpret_cast<sockaddr*>(&sll), &len) == 0 &&
            sll.sll_ifindex != pr.packet_ifindex) {
            pr.fault.store(port_fault::iface_gone, std::memory_order_relaxed);
        }
    }
    return pr.fault.load(std::memory_order_relaxed);
}

bool setup_port(port_runtime& pr, const port_spec& spec, unsigned n_workers, uint16_t rx_desc,
                uint16_t tx_desc, rte_mempool* pool, std::string& error, const device_ops& ops) {
    const std::string where = "port " + spec.name + " (" + spec.device + ")";
    if (!probe_device(spec.device, pr.port_id, error)) {
        error = where + ": " + error;
        return false;
    }
    pr.name = spec.name;
    pr.ops = &ops;
    rte_eth_dev_info info{};
    int rc = rte_eth_dev_info_get(pr.port_id, &info);
    if (rc != 0) {
        error = where + ": rte_eth_dev_info_get: " + rte_strerror(-rc);
        return false;
    }
    pr.driver = info.driver_name ? info.driver_name : "";
    pr.caps = ops.caps(pr.port_id, info);
    const device_caps& caps = pr.caps;
    const uint16_t nq = static_cast<uint16_t>(n_workers);
    if (nq > info.max_rx_queues || nq > info.max_tx_queues) {
        error = where + ": " + std::to_string(n_workers) +
                " workers need as many RX/TX queues, the " + pr.driver + " device has " +
                std::to_string(info.max_rx_queues) + "/" + std::to_string(info.max_tx_queues) +
                (pr.driver == "net_af_packet" ? " (add qpairs=N to its devargs)" : "");
        return false;
    }

    // Which clock T2 and T3 come from: one per reply (port_time.hpp).
    const bool want_hw = spec.hw_timestamps != hw_ts_mode::off;
    if (spec.hw_timestamps == hw_ts_mode::on && !caps.rx_timestamp) {
        error = where + ": hw-timestamps = \"on\" but the " + pr.driver +
                " device delivers no RX timestamps (use \"auto\" or \"off\")";
        return false;
    }
    const bool mappable = caps.rx_timestamp && (spec.hw_clock_stated || caps.clock_readable);
    if (want_hw && caps.rx_timestamp && !mappable && spec.hw_timestamps == hw_ts_mode::on) {
        error = where + ": hw-timestamps = \"on\" but the " + pr.driver +
                " clock cannot be read (rte_eth_read_clock, rte_eth_timesync_read_time); state "
                "its unit and epoch with hw-clock";
        return false;
    }
    t3_method method = t3_method::software;
    const bool can_schedule = mappable && !spec.hw_clock_stated && caps.send_on_timestamp;
    switch (spec.t3) {
    case t3_request::automatic:
        method = !want_hw || !mappable ? t3_method::software
                 : can_schedule        ? t3_method::scheduled
                                       : t3_method::device_clock;
        break;
    case t3_request::software:
        method = t3_method::software;
        break;
    case t3_request::device_clock:
    case t3_request::scheduled:
        if (!mappable || !want_hw) {
            error = where + ": t3 = \"" + method_name(spec.t3) +
                    "\" needs RX timestamps "
                    "in a device clock the box can map (rte_eth_read_clock or IEEE 1588 "
                    "time, or a stated hw-clock); the " +
                    pr.driver + " device " +
                    (caps.rx_timestamp ? "has an unreadable clock" : "delivers no RX timestamps") +
                    " (use \"auto\" or \"software\")";
            return false;
        }
        if (spec.t3 == t3_request::scheduled && !can_schedule) {
            error = where + ": t3 = \"scheduled\" but the " + pr.driver + " device " +
                    (spec.hw_clock_stated ? "clock is stated, not readable"
                                          : "does not offer send-on-timestamp "
                                            "(RTE_ETH_TX_OFFLOAD_SEND_ON_TIMESTAMP: mlx5 "
                                            "with tx_pp, cnxk)") +
                    " (use \"auto\" or \"device-clock\")";
            return false;
        }
        method = spec.t3 == t3_request::scheduled ? t3_method::scheduled : t3_method::device_clock;
        break;
    }

    rte_eth_conf conf{};
    const uint64_t rss_want = RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP;
    if (nq > 1 && (info.flow_type_rss_offloads & rss_want)) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads & rss_want;
        pr.rss = true;
    }
    conf.rxmode.offloads = caps.ethdev_rx_offloads;
    if (!want_hw) {
        conf.rxmode.offloads &= ~RTE_ETH_RX_OFFLOAD_TIMESTAMP;
    }
    pr.rx_cksum_offload = caps.rx_cksum;
    conf.txmode.offloads = caps.ethdev_tx_offloads;
    if (method != t3_method::scheduled) {
        conf.txmode.offloads &= ~RTE_ETH_TX_OFFLOAD_SEND_ON_TIMESTAMP;
    }
    pr.tx_cksum_offload = caps.tx_udp_cksum;
    // A device that can signal its removal (RTE_ETH_DEV_INTR_RMV: mlx5, failsafe, netvsc, ...)
    // delivers RTE_ETH_EVENT_INTR_RMV only when asked to; ethdev refuses the request from one
    // that cannot. Reset events need no request.
    pr.rmv_interrupt = info.dev_flags && (*info.dev_flags & RTE_ETH_DEV_INTR_RMV) != 0;
    conf.intr_conf.rmv = pr.rmv_interrupt ? 1 : 0;

    rc = rte_eth_dev_configure(pr.port_id, nq, nq, &conf);
    if (rc != 0) {
        error = where + ": rte_eth_dev_configure: " + rte_strerror(-rc);
        return false;
    }
    rte_eth_dev_adjust_nb_rx_tx_desc(pr.port_id, &rx_desc, &tx_desc);
    const int socket = rte_eth_dev_socket_id(pr.port_id);
    const unsigned sock = socket < 0 ? 0 : static_cast<unsigned>(socket);
    rte_eth_rxconf rxc = info.default_rxconf;
    rxc.offloads = conf.rxmode.offloads;
    rte_eth_txconf txc = info.default_txconf;
    txc.offloads = conf.txmode.offloads;
    for (uint16_t q = 0; q < nq; ++q) {
        rc = rte_eth_rx_queue_setup(pr.port_id, q, rx_desc, sock, &rxc, pool);
        if (rc != 0) {
            error = where + ": RX queue " + std::to_string(q) + ": " + rte_strerror(-rc);
            return false;
        }
        rc = rte_eth_tx_queue_setup(pr.port_id, q, tx_desc, sock, &txc);
        if (rc != 0) {
            error = where + ": TX queue " + std::to_string(q) + ": " + rte_strerror(-rc);
            return false;
        }
    }
    rc = rte_eth_dev_start(pr.port_id);
    if (rc != 0) {
        error = where + ": rte_eth_dev_start: " + rte_strerror(-rc);
        return false;
    }
    rte_eth_allmulticast_enable(pr.port_id); // IPv6 ND uses solicited-node multicast
    rte_eth_macaddr_get(pr.port_id, &pr.mac);
    // Devices that can go away or need a reset say so through events (not every driver has
    // them: a refusal is no error).
    rte_eth_dev_callback_register(pr.port_id, RTE_ETH_EVENT_INTR_RMV, on_port_event, &pr);
    rte_eth_dev_callback_register(pr.port_id, RTE_ETH_EVENT_INTR_RESET, on_port_event, &pr);
    if (pr.driver == "net_af_packet") {
        find_packet_sockets(pr, spec.device, info.if_index);
    }

    // IEEE 1588: the device's time (when rte_eth_read_clock is not offered) and TX timestamps.
    bool timesync_on = false;
    if (caps.timesync && (spec.tx_timestamps || (method != t3_method::software &&
                                                 !spec.hw_clock_stated && !caps.clock_readable))) {
        timesync_on = ops.timesync_enable(pr.port_id) == 0;
    }

    if (method == t3_method::software) {
        return true;
    }
    pr.time = std::make_unique<port_time>();
    pr.time->method = method;
    pr.time->schedule_first_only = caps.schedule_first_only;
    pr.lead_ns = spec.t3_lead_ns;
    pr.granularity_ns = method == t3_method::scheduled ? caps.schedule_granularity_ns : 0;
    if (method == t3_method::scheduled &&
        rte_mbuf_dyn_tx_timestamp_register(&pr.time->tx_ts_offset, &pr.time->tx_ts_flag) != 0) {
        error = where + ": cannot register the TX timestamp mbuf field: " + rte_strerror(rte_errno);
        return false;
    }
    if (spec.hw_clock_stated) {
        pr.stated_ns_per_unit = spec.hw_clock_ns_per_unit;
        pr.stated_base_ns = spec.hw_clock_epoch_tai
                                    ? -int64_t{read_kernel_sync().tai_utc_offset_s} *
                                              static_cast<int64_t>(proto::ns_per_s)
                                    : 0;
    } else {
        // A clock the box reads: its rate measured once, then fitted against the TSC.
        pr.read_via_timesync = !caps.read_clock || !ops.read_clock;
        if (pr.read_via_timesync && !timesync_on) {
            timesync_on = ops.timesync_enable(pr.port_id) == 0;
        }
        const double raw_hz = pr.read_via_timesync ? 1e9 : measure_raw_hz(pr, 20);
        if (raw_hz <= 0) {
            error = where + ": the " + pr.driver + " device clock cannot be read " +
                    (pr.read_via_timesync ? "(rte_eth_timesync_read_time)"
                                          : "(rte_eth_read_clock)") +
                    "; use t3 = \"software\" or hw-timestamps = \"off\"";
            return false;
        }
        clock_fit_params fp;
        fp.tsc_hz = static_cast<double>(rte_get_tsc_hz());
        fp.raw_hz = raw_hz;
        // The slow path refits every ~100 ms, but it also serves the TAPs, TWAMP-Control and
        // reloads: the stated error holds up to 250 ms past the newest sample.
        fp.horizon_s = 0.25;
        pr.fit = std::make_unique<clock_fit>(fp);
    }
    // Follow-up TX timestamps are in the IEEE 1588 clock's time: only where that clock is the
    // one the port's mapping is fitted to.
    pr.tx_timestamps = spec.tx_timestamps && caps.tx_timestamp && timesync_on && pr.fit &&
                       pr.read_via_timesync;
    return true;
}

bool refresh_port_time(port_runtime& pr, const clock_map& sys) noexcept {
    if (!pr.time) {
        return false;
    }
    port_time_map m;
    m.tai_utc_offset_s = sys.tai_utc_offset_s;
    bool stepped = false;
    bool settled = false;
    uint64_t map_error = 0;
    if (!pr.fit) {
        // Stated unit and epoch: no mapping to measure; T3 = T2 + the TSC's residence.
        m.base_raw = 0;
        m.base_ns = pr.stated_base_ns;
        m.ns_per_raw_q32 = pr.stated_ns_per_unit << 32;
        m.base_tsc = 0;
        m.ns_per_tsc_q32 = 0;
        // The unit's resolution; how the stated clock relates to UTC is not measured: S = 0.
        map_error = pr.stated_ns_per_unit;
    } else {
        clock_read reads[5];
        const std::size_t n = bracketed_reads(pr, reads, 5);
        if (n == 0) {
            // The device did not answer: nothing new to publish. The map the workers have ages
            // out (valid_tsc) rather than being republished as if fresh.
            pr.clock_read_failures.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        stepped = pr.fit->add(reads, n) == clock_fit::event::stepped;
        if (!pr.fit->ready()) {
            return false; // not mapped yet: the workers keep software T2 and T3
        }
        const clock_fit& f = *pr.fit;
        m.base_tsc = f.base_tsc();
        m.base_raw = f.base_raw();
        m.base_ns = static_cast<int64_t>(sw_clock::to_ns(sys, m.base_tsc));
        m.ns_per_tsc_q32 = sys.ns_per_tsc;
        const uint64_t rpt = std::max<uint64_t>(f.raw_per_tsc_q32(), 1);
        // ns per device unit = (ns per TSC cycle) / (device units per TSC cycle), Q32.
        m.ns_per_raw_q32 =
                static_cast<uint64_t>((static_cast<proto::u128>(sys.ns_per_tsc) << 32) / rpt);
        if (m.ns_per_raw_q32 != 0) {
            m.lead_raw = static_cast<uint64_t>((static_cast<proto::u128>(pr.lead_ns) << 32) /
                                               m.ns_per_raw_q32);
        }
        map_error = f.error_ns();
        settled = !f.settling();
    }
    m.fit_error_ns = map_error;
    // The error holds for clock_fit's horizon past the newest sample (a refresh every ~100 ms);
    // a map older than a second is not used at all (worker: software T2 and T3 meanwhile).
    m.valid_tsc = pr.fit ? rte_get_tsc_hz() : UINT64_MAX;
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(pr.port_id, &link) == 0 && link.link_speed != 0 &&
        link.link_speed != RTE_ETH_SPEED_NUM_UNKNOWN) {
        // Mb/s -> ns per octet, Q16: 8000 / speed.
        m.wire_ns_per_octet_q16 =
                static_cast<uint32_t>((uint64_t{8000} << 16) / uint64_t{link.link_speed});
    }
    m.error_ns = sys.error_ns + map_error + pr.granularity_ns;
    // S: the system clock is synchronized and the device mapping measured, settled and bounded
    // (a stated clock is never measured).
    constexpr uint64_t bounded_ns = 100'000;
    const bool s = sys.synchronized && pr.fit && settled && map_error <= bounded_ns;
    m.error = proto::make_error_estimate(m.error_ns, s, false);
    m.mapped = true;
    pr.time->publish(m);
    pr.clock_error_ns.store(m.error_ns, std::memory_order_relaxed);
    pr.clock_settled.store(settled, std::memory_order_relaxed);
    if (stepped) {
        pr.clock_steps.fetch_add(1, std::memory_order_relaxed);
    }
    return stepped;
}

bool poll_tx_timestamp(port_runtime& pr) noexcept {
    tx_ts_mailbox& mb = pr.tx_ts;
    if (mb.state.load(std::memory_order_acquire) != tx_ts_mailbox::flagged) {
        return false;
    }
    timespec ts{};
    const uint64_t now_tsc = rte_rdtsc();
    if (pr.ops->read_tx_timestamp(pr.port_id, &ts) == 0) {
        const uint64_t raw = timespec_ns(ts);
        const port_time_map m = pr.time ? pr.time->read() : port_time_map{};
        if (m.mapped) {
            // Some devices (ice) answer with whatever the latch holds before the frame has left:
            // take only a new value that lies between the T3 the reply was sent with and now,
            // within the mapping's error.
            const uint64_t ns = m.to_ns(raw);
            const uint64_t now = m.tsc_to_ns(now_tsc);
            if (raw != pr.tx_ts_last_raw && ns + m.error_ns >= mb.t3_ns && ns <= now + m.error_ns) {
                pr.tx_ts_last_raw = raw;
                mb.ns = ns;
                mb.state.store(tx_ts_mailbox::read, std::memory_order_release);
                return true;
            }
        }
    }
    if (now_tsc - mb.since_tsc < rte_get_tsc_hz() / 100) {
        return false; // not latched yet
    }
    // Given up after 10 ms. One more read empties a latch that took the value late (devices
    // that hold it until read block the next capture otherwise).
    pr.ops->read_tx_timestamp(pr.port_id, &ts);
    mb.state.store(tx_ts_mailbox::missed, std::memory_order_release);
    return true;
}

void stop_port(uint16_t port_id) noexcept {
    // arg (void*)-1: whichever port_runtime registered (it may be going away). -EAGAIN: the
    // interrupt thread is running the callback right now and it stays registered; the
    // port_runtime it points to is freed after this returns, so wait until it is gone.
    for (const rte_eth_event_type ev : {RTE_ETH_EVENT_INTR_RMV, RTE_ETH_EVENT_INTR_RESET}) {
        while (rte_eth_dev_callback_unregister(port_id, ev, on_port_event,
                                               reinterpret_cast<void*>(-1)) == -EAGAIN) {
            rte_delay_us_sleep(100);
        }
    }
    rte_eth_dev_stop(port_id);
    rte_eth_dev_close(port_id);
}

} // namespace twamp::dataplane
