// LEAD PLACEHOLDER: replaced by the i14-hB branch's device.cpp at merge.
#include "twamp/dataplane/device.hpp"

#include <cerrno>
#include <string>

namespace twamp::dataplane {

device_caps ethdev_caps(uint16_t port_id, const rte_eth_dev_info& info) noexcept {
    device_caps c;
    const std::string drv = info.driver_name ? info.driver_name : "";
    c.rx_timestamp = (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) || drv == "net_pcap";
    uint64_t raw = 0;
    c.clock_readable = rte_eth_read_clock(port_id, &raw) == 0;
    const uint64_t ck = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
    c.rx_cksum = (info.rx_offload_capa & ck) == ck;
    if (c.rx_cksum) {
        c.ethdev_rx_offloads |= ck;
    }
    if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) {
        c.ethdev_rx_offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
    }
    if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) {
        c.ethdev_tx_offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
    }
    return c;
}

namespace {
int read_tx(uint16_t port, timespec* ts) {
    return rte_eth_timesync_read_tx_timestamp(port, ts);
}
} // namespace

const device_ops& ethdev_ops() noexcept {
    static const device_ops ops{ethdev_caps, rte_eth_read_clock, rte_eth_timesync_enable,
                                rte_eth_timesync_read_time, read_tx};
    return ops;
}

} // namespace twamp::dataplane
