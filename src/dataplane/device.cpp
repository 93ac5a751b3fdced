// The production device table: ethdev's own calls, and what a probed port offers for time and
// checksums, read from its rte_eth_dev_info and from whether the time calls answer.
#include "twamp/dataplane/device.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <rte_dev.h>
#include <rte_devargs.h>

namespace twamp::dataplane {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

// rte_eth_timesync_read_tx_timestamp has the seam's signature already; a function of our own
// keeps the table's entries uniform (and a place to adapt should a later DPDK change it).
int read_tx_timestamp(uint16_t port_id, timespec* ts) {
    return rte_eth_timesync_read_tx_timestamp(port_id, ts);
}

// mlx5's scheduling granularity floor (doc/guides/nics/mlx5.rst, tx_pp: the Clock Queue's
// period in ns, 500 at least); ConnectX-7's wait-on-time needs no tx_pp and gets the same.
constexpr uint32_t mlx5_min_granularity_ns = 500;
// cnxk documents no figure for its send-on-timestamp accuracy: assume a microsecond.
constexpr uint32_t cnxk_granularity_ns = 1000;

} // namespace

uint32_t mlx5_tx_pp_granularity_ns(const char* devargs) noexcept {
    uint32_t g = mlx5_min_granularity_ns;
    if (devargs == nullptr) {
        return g;
    }
    const std::string_view args(devargs);
    for (std::size_t pos = 0; pos <= args.size();) {
        std::size_t end = args.find(',', pos);
        if (end == std::string_view::npos) {
            end = args.size();
        }
        const std::string_view kv = args.substr(pos, end - pos);
        if (starts_with(kv, "tx_pp=")) {
            // A negative tx_pp asks for the same granularity (the sign selects a mode).
            const std::string v(kv.substr(6));
            char* stop = nullptr;
            const long long n = std::strtoll(v.c_str(), &stop, 0);
            if (stop != v.c_str() && *stop == '\0') {
                const unsigned long long a = n < 0 ? 0ULL - static_cast<unsigned long long>(n)
                                                   : static_cast<unsigned long long>(n);
                if (a > g && a <= UINT32_MAX) {
                    g = static_cast<uint32_t>(a);
                }
            }
        }
        pos = end + 1;
    }
    return g;
}

device_caps ethdev_caps(uint16_t port_id, const rte_eth_dev_info& info) noexcept {
    device_caps c;
    const std::string_view driver = info.driver_name ? info.driver_name : "";
    const bool mlx5 = driver == "mlx5_pci" || starts_with(driver, "net_mlx5");
    const bool cnxk = starts_with(driver, "net_cn9k") || starts_with(driver, "net_cn10k") ||
                      starts_with(driver, "net_cnxk");

    // RX timestamps: the offload, or a driver that writes the field unasked (net_pcap: the
    // capture record time).
    if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) {
        c.rx_timestamp = true;
        c.ethdev_rx_offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
    } else if (driver == "net_pcap") {
        c.rx_timestamp = true;
    }

    // The clock: rte_eth_read_clock (mlx5, cnxk), else the IEEE 1588 calls. The timesync
    // calls exist when they do not answer -ENOTSUP (-ENODEV: no such port); reading the time
    // has no side effect, unlike enabling timesync.
    uint64_t raw = 0;
    const bool read_clock_ok = rte_eth_read_clock(port_id, &raw) == 0;
    timespec ts{};
    const int rc = rte_eth_timesync_read_time(port_id, &ts);
    c.timesync = rc != -ENOTSUP && rc != -ENODEV;
    // A 1588 clock may refuse reads until timesync is enabled (setup_port enables it when it
    // reads the clock that way): offered is enough.
    // cnxk's rte_eth_read_clock is not a device read: it is the TSC scaled by a factor
    // calibrated once at configure, so a fit against the TSC would measure nothing and drift
    // away from the PTP clock that stamps RX and schedules TX. Read its IEEE 1588 time instead.
    c.read_clock = read_clock_ok && !(cnxk && c.timesync);
    c.clock_readable = read_clock_ok || c.timesync;

    // Send on timestamp (mlx5 with tx_pp or ConnectX-7 wait-on-time, cnxk).
    if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_SEND_ON_TIMESTAMP) {
        c.send_on_timestamp = true;
        c.ethdev_tx_offloads |= RTE_ETH_TX_OFFLOAD_SEND_ON_TIMESTAMP;
        c.schedule_first_only = cnxk;
        if (mlx5) {
            const rte_devargs* da = info.device ? rte_dev_devargs(info.device) : nullptr;
            c.schedule_granularity_ns = mlx5_tx_pp_granularity_ns(da ? da->args : nullptr);
        } else if (cnxk) {
            c.schedule_granularity_ns = cnxk_granularity_ns;
        } else {
            c.schedule_granularity_ns = mlx5_min_granularity_ns;
        }
    }

    // Transmit timestamps: IEEE 1588 devices (i40e, ice, ixgbe, igb, igc, bnxt, cnxk, ...);
    // mlx5 has none in 22.11.
    c.tx_timestamp = c.timesync && !mlx5;

    // Checksums.
    const uint64_t rx_cksum = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
    if ((info.rx_offload_capa & rx_cksum) == rx_cksum) {
        c.rx_cksum = true;
        c.ethdev_rx_offloads |= rx_cksum;
    }
    if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
        c.tx_ipv4_cksum = true;
        c.ethdev_tx_offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
    }
    if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) {
        c.tx_udp_cksum = true;
        c.ethdev_tx_offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
    }
    if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) {
        c.ethdev_tx_offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
    }
    return c;
}

const device_ops& ethdev_ops() noexcept {
    static const device_ops ops{
            .caps = ethdev_caps,
            .read_clock = rte_eth_read_clock,
            .timesync_enable = rte_eth_timesync_enable,
            .read_time = rte_eth_timesync_read_time,
            .read_tx_timestamp = read_tx_timestamp,
    };
    return ops;
}

} // namespace twamp::dataplane
