#include "twamp/dataplane/port.hpp"

#include <cstring>

#include <net/if.h>

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

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

// Drivers that stamp RX mbufs through the timestamp dynamic field without offering
// RTE_ETH_RX_OFFLOAD_TIMESTAMP (net_pcap writes the capture record time, in microseconds since
// the Unix epoch in DPDK 22.11).
bool marks_timestamps_unasked(const std::string& driver) {
    return driver == "net_pcap";
}

} // namespace

bool setup_port(port_runtime& pr, const port_spec& spec, unsigned n_workers, uint16_t rx_desc,
                uint16_t tx_desc, rte_mempool* pool, std::string& error) {
    const std::string where = "port " + spec.name + " (" + spec.device + ")";
    if (!probe_device(spec.device, pr.port_id, error)) {
        error = where + ": " + error;
        return false;
    }
    pr.name = spec.name;
    rte_eth_dev_info info{};
    int rc = rte_eth_dev_info_get(pr.port_id, &info);
    if (rc != 0) {
        error = where + ": rte_eth_dev_info_get: " + rte_strerror(-rc);
        return false;
    }
    pr.driver = info.driver_name ? info.driver_name : "";
    const uint16_t nq = static_cast<uint16_t>(n_workers);
    if (nq > info.max_rx_queues || nq > info.max_tx_queues) {
        error = where + ": " + std::to_string(n_workers) +
                " workers need as many RX/TX queues, the " + pr.driver + " device has " +
                std::to_string(info.max_rx_queues) + "/" + std::to_string(info.max_tx_queues) +
                (pr.driver == "net_af_packet" ? " (add qpairs=N to its devargs)" : "");
        return false;
    }

    rte_eth_conf conf{};
    const uint64_t rss_want = RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP;
    if (nq > 1 && (info.flow_type_rss_offloads & rss_want)) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads & rss_want;
        pr.rss = true;
    }
    const uint64_t cksum = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
    if ((info.rx_offload_capa & cksum) == cksum) {
        conf.rxmode.offloads |= cksum;
        pr.rx_cksum_offload = true;
    }
    const bool ts_offload = info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP;
    const bool ts_marks = marks_timestamps_unasked(pr.driver);
    if (spec.hw_timestamps == hw_ts_mode::on && !ts_offload && !ts_marks) {
        error = where + ": hw-timestamps = \"on\" but the " + pr.driver +
                " device delivers no RX timestamps (use \"auto\" or \"off\")";
        return false;
    }
    if (spec.hw_timestamps != hw_ts_mode::off && ts_offload) {
        conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
    }
    if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) {
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
    }

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

    // Device timestamps for T2: only with a known mapping to wall-clock time.
    if (spec.hw_timestamps != hw_ts_mode::off && (ts_offload || ts_marks)) {
        uint64_t raw = 0;
        if (spec.hw_clock_stated) {
            pr.ts = std::make_unique<rx_ts_clock>();
            rx_ts_map m;
            m.mult_q32 = spec.hw_clock_ns_per_unit << 32;
            m.base_ns = spec.hw_clock_epoch_tai ? -int64_t{read_kernel_sync().tai_utc_offset_s} *
                                                          static_cast<int64_t>(proto::ns_per_s)
                                                : 0;
            pr.ts->publish(m);
        } else if (rte_eth_read_clock(pr.port_id, &raw) == 0) {
            pr.ts = std::make_unique<rx_ts_clock>();
            pr.ts_calibrated = true;
            pr.ts_cal_raw = raw;
            pr.ts_cal_ns = realtime_ns();
            recalibrate_port_clock(pr);
        } else if (spec.hw_timestamps == hw_ts_mode::on) {
            error = where + ": hw-timestamps = \"on\" but the " + pr.driver +
                    " clock cannot be read (rte_eth_read_clock); state its unit and epoch with "
                    "hw-clock";
            return false;
        }
    }
    return true;
}

void recalibrate_port_clock(port_runtime& pr) noexcept {
    if (!pr.ts || !pr.ts_calibrated) {
        return;
    }
    uint64_t raw = 0;
    uint64_t ns = realtime_ns();
    if (rte_eth_read_clock(pr.port_id, &raw) != 0) {
        return;
    }
    rx_ts_map m;
    m.base_raw = raw;
    m.base_ns = static_cast<int64_t>(ns);
    const uint64_t draw = raw - pr.ts_cal_raw;
    const uint64_t dns = ns - pr.ts_cal_ns;
    // Until there is a baseline, assume a nanosecond clock.
    m.mult_q32 = draw > 1000 && dns > 0
                         ? static_cast<uint64_t>((static_cast<proto::u128>(dns) << 32) / draw)
                         : uint64_t{1} << 32;
    pr.ts->publish(m);
}

void stop_port(uint16_t port_id) noexcept {
    rte_eth_dev_stop(port_id);
    rte_eth_dev_close(port_id);
}

} // namespace twamp::dataplane
