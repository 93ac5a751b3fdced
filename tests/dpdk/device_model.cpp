// The test device model: see device_model.hpp.
#include "device_model.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_udp.h>

namespace twamp::test {

namespace {

std::array<std::atomic<device_model*>, RTE_MAX_ETHPORTS> g_models{};

int64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

__extension__ using i128 = __int128;

constexpr int64_t ppt_per_one = 1'000'000'000'000; // drift in parts per 10^12

timespec to_timespec(uint64_t ns) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    return ts;
}

std::vector<uint8_t> copy_frame(const rte_mbuf* m) {
    std::vector<uint8_t> out(rte_pktmbuf_pkt_len(m));
    const void* p = rte_pktmbuf_read(m, 0, static_cast<uint32_t>(out.size()), out.data());
    if (p != nullptr && p != out.data()) {
        std::memcpy(out.data(), p, out.size());
    }
    return out;
}

} // namespace

device_model_config full_device(int64_t offset_ns, double drift_ppm) {
    device_model_config c;
    c.caps.rx_timestamp = true;
    c.caps.clock_readable = true;
    c.caps.timesync = true;
    c.caps.send_on_timestamp = true;
    c.caps.schedule_granularity_ns = 500;
    c.caps.tx_timestamp = true;
    c.caps.rx_cksum = true;
    c.caps.tx_ipv4_cksum = true;
    c.caps.tx_udp_cksum = true;
    c.offset_ns = offset_ns;
    c.drift_ppm = drift_ppm;
    return c;
}

device_model::device_model(uint16_t port_id, const device_model_config& config,
                           std::vector<rte_ring*> tx_rings)
    : port_(port_id), unit_ns_(config.unit_ns == 0 ? 1 : config.unit_ns), cfg_(config),
      tx_rings_(std::move(tx_rings)) {
    if (port_id >= RTE_MAX_ETHPORTS) {
        throw std::runtime_error("device_model: bad port id");
    }
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(port_id, &info) != 0) {
        throw std::runtime_error("device_model: rte_eth_dev_info_get failed");
    }
    int tx_off = -1;
    if (rte_mbuf_dyn_rx_timestamp_register(&ts_off_, &rx_flag_) != 0 ||
        rte_mbuf_dyn_tx_timestamp_register(&tx_off, &tx_flag_) != 0 || tx_off != ts_off_) {
        throw std::runtime_error("device_model: timestamp dynamic field/flags not registered");
    }
    base_rt_ = realtime_ns();
    base_dev_ns_ = base_rt_ + config.offset_ns;
    drift_ppt_ = std::llround(config.drift_ppm * 1e6);

    device_model* expected = nullptr;
    if (!g_models[port_id].compare_exchange_strong(expected, this)) {
        throw std::runtime_error("device_model: port " + std::to_string(port_id) +
                                 " already has a model");
    }
    try {
        attach();
    } catch (...) {
        detach();
        throw;
    }
}

void device_model::attach() {
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(port_, &info) != 0) {
        throw std::runtime_error("device_model: rte_eth_dev_info_get failed");
    }
    {
        std::lock_guard lk(mu_);
        if (last_departure_.size() < info.nb_tx_queues) {
            last_departure_.resize(info.nb_tx_queues, 0);
        }
    }
    for (auto q = static_cast<uint16_t>(rx_cbs_.size()); q < info.nb_rx_queues; ++q) {
        const auto* cb = rte_eth_add_rx_callback(port_, q, rx_cb, this);
        if (cb == nullptr) {
            throw std::runtime_error("device_model: rte_eth_add_rx_callback failed");
        }
        rx_cbs_.push_back(cb);
    }
    for (auto q = static_cast<uint16_t>(tx_cbs_.size()); q < info.nb_tx_queues; ++q) {
        const auto* cb = rte_eth_add_tx_callback(port_, q, tx_cb, this);
        if (cb == nullptr) {
            throw std::runtime_error("device_model: rte_eth_add_tx_callback failed");
        }
        tx_cbs_.push_back(cb);
    }
}

device_model::~device_model() {
    detach();
}

void device_model::detach() noexcept {
    for (std::size_t q = 0; q < rx_cbs_.size(); ++q) {
        if (rte_eth_remove_rx_callback(port_, static_cast<uint16_t>(q), rx_cbs_[q]) == 0) {
            rte_free(const_cast<rte_eth_rxtx_callback*>(rx_cbs_[q]));
        }
    }
    for (std::size_t q = 0; q < tx_cbs_.size(); ++q) {
        if (rte_eth_remove_tx_callback(port_, static_cast<uint16_t>(q), tx_cbs_[q]) == 0) {
            rte_free(const_cast<rte_eth_rxtx_callback*>(tx_cbs_[q]));
        }
    }
    rx_cbs_.clear();
    tx_cbs_.clear();
    device_model* self = this;
    g_models[port_].compare_exchange_strong(self, nullptr);
}

device_model* device_model::find(uint16_t port_id) noexcept {
    return port_id < RTE_MAX_ETHPORTS ? g_models[port_id].load() : nullptr;
}

const dataplane::device_ops& device_model::ops() noexcept {
    static const dataplane::device_ops table{
            .caps = ops_caps,
            .read_clock = ops_read_clock,
            .timesync_enable = ops_timesync_enable,
            .read_time = ops_read_time,
            .read_tx_timestamp = ops_read_tx_timestamp,
    };
    return table;
}

// ---- capabilities ---------------------------------------------------------------------------

dataplane::device_caps device_model::caps() const {
    std::lock_guard lk(mu_);
    return cfg_.caps;
}

void device_model::set_caps(const dataplane::device_caps& c) {
    std::lock_guard lk(mu_);
    cfg_.caps = c;
}

void device_model::set_read_clock(bool on) {
    std::lock_guard lk(mu_);
    cfg_.read_clock = on;
}

bool device_model::timesync_enabled() const {
    std::lock_guard lk(mu_);
    return timesync_on_;
}

bool device_model::tx_latch_full() const {
    std::lock_guard lk(mu_);
    return latched_;
}

// ---- the clock ------------------------------------------------------------------------------

uint64_t device_model::ns_at_locked(int64_t realtime) const {
    const int64_t dt = realtime - base_rt_;
    const i128 drift = static_cast<i128>(dt) * drift_ppt_ / ppt_per_one;
    return static_cast<uint64_t>(base_dev_ns_ + dt + static_cast<int64_t>(drift));
}

int64_t device_model::realtime_at_ns_locked(uint64_t device_ns) const {
    const int64_t d = static_cast<int64_t>(device_ns) - base_dev_ns_;
    // Rounded up: the first instant at which the device clock reads device_ns or more
    // (division truncates toward zero, which rounds a negative quotient up already).
    const i128 num = static_cast<i128>(d) * ppt_per_one;
    const i128 den = ppt_per_one + drift_ppt_;
    const i128 dt = num > 0 ? (num + den - 1) / den : num / den;
    return base_rt_ + static_cast<int64_t>(dt);
}

uint64_t device_model::now_ns_locked() const {
    return ns_at_locked(realtime_ns());
}

uint64_t device_model::now() const {
    std::lock_guard lk(mu_);
    return now_ns_locked() / unit_ns_;
}

uint64_t device_model::device_at(int64_t realtime) const {
    std::lock_guard lk(mu_);
    return ns_at_locked(realtime) / unit_ns_;
}

uint64_t device_model::device_ns_at(int64_t realtime) const {
    std::lock_guard lk(mu_);
    return ns_at_locked(realtime);
}

int64_t device_model::realtime_at(uint64_t device) const {
    std::lock_guard lk(mu_);
    return realtime_at_ns_locked(device * unit_ns_);
}

int64_t device_model::realtime_at_ns(uint64_t device_ns) const {
    std::lock_guard lk(mu_);
    return realtime_at_ns_locked(device_ns);
}

void device_model::step(int64_t ns) {
    std::lock_guard lk(mu_);
    base_dev_ns_ += ns;
    if (ns < 0) {
        // A queue's "no overtaking" follows the clock back.
        for (auto& d : last_departure_) {
            d = 0;
        }
    }
}

void device_model::set_drift_ppm(double ppm) {
    std::lock_guard lk(mu_);
    const int64_t rt = realtime_ns();
    base_dev_ns_ = static_cast<int64_t>(ns_at_locked(rt));
    base_rt_ = rt;
    drift_ppt_ = std::llround(ppm * 1e6);
}

void device_model::spin(uint64_t ns) const {
    if (ns == 0) {
        return;
    }
    const int64_t until = monotonic_ns() + static_cast<int64_t>(ns);
    while (monotonic_ns() < until) {
    }
}

// ---- records --------------------------------------------------------------------------------

std::vector<rx_record> device_model::take_rx() {
    std::lock_guard lk(mu_);
    return std::exchange(rx_, {});
}

std::vector<tx_record> device_model::take_tx() {
    std::lock_guard lk(mu_);
    return std::exchange(tx_, {});
}

device_model_counters device_model::counters() const {
    std::lock_guard lk(mu_);
    return n_;
}

// ---- RX -------------------------------------------------------------------------------------

// Like a NIC's parser: Ethernet with up to two VLAN tags, IPv4 (any IHL) or IPv6 without
// extension headers, UDP; checksums verified over what the headers say, within the frame.
void device_model::rx_cksum(rte_mbuf* m) {
    m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
    ++n_.rx_cksum_checked;
    const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
    const uint32_t len = rte_pktmbuf_data_len(m);
    uint32_t off = 12;
    if (len < off + 2) {
        return;
    }
    uint16_t type = static_cast<uint16_t>(p[off] << 8 | p[off + 1]);
    for (int tags = 0; tags < 2 && (type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ);
         ++tags) {
        off += 4;
        if (len < off + 2) {
            return;
        }
        type = static_cast<uint16_t>(p[off] << 8 | p[off + 1]);
    }
    off += 2;
    if (type == RTE_ETHER_TYPE_IPV4) {
        if (len < off + sizeof(rte_ipv4_hdr)) {
            return;
        }
        const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(p + off);
        const uint32_t ihl = rte_ipv4_hdr_len(ip);
        const uint32_t total = rte_be_to_cpu_16(ip->total_length);
        if ((ip->version_ihl >> 4) != 4 || ihl < 20 || len < off + ihl) {
            return;
        }
        const bool ip_good = rte_raw_cksum(ip, ihl) == 0xffff;
        m->ol_flags |= ip_good ? RTE_MBUF_F_RX_IP_CKSUM_GOOD : RTE_MBUF_F_RX_IP_CKSUM_BAD;
        const bool fragment = (rte_be_to_cpu_16(ip->fragment_offset) & 0x3fff) != 0;
        if (ip->next_proto_id != IPPROTO_UDP || fragment || total < ihl + 8 || len < off + total) {
            return;
        }
        const auto* udp = reinterpret_cast<const rte_udp_hdr*>(p + off + ihl);
        if (udp->dgram_cksum == 0) {
            return; // no checksum sent: nothing to verify
        }
        const bool good = rte_ipv4_udptcp_cksum_verify(ip, udp) == 0;
        m->ol_flags |= good ? RTE_MBUF_F_RX_L4_CKSUM_GOOD : RTE_MBUF_F_RX_L4_CKSUM_BAD;
    } else if (type == RTE_ETHER_TYPE_IPV6) {
        if (len < off + sizeof(rte_ipv6_hdr)) {
            return;
        }
        const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(p + off);
        const uint32_t plen = rte_be_to_cpu_16(ip->payload_len);
        if (ip->proto != IPPROTO_UDP || plen < 8 || len < off + sizeof(rte_ipv6_hdr) + plen) {
            return;
        }
        const auto* udp = reinterpret_cast<const rte_udp_hdr*>(ip + 1);
        // A zero UDP checksum is invalid over IPv6 (RFC 8200 §8.1).
        const bool good = udp->dgram_cksum != 0 && rte_ipv6_udptcp_cksum_verify(ip, udp) == 0;
        m->ol_flags |= good ? RTE_MBUF_F_RX_L4_CKSUM_GOOD : RTE_MBUF_F_RX_L4_CKSUM_BAD;
    }
}

uint16_t device_model::rx_cb(uint16_t, uint16_t queue, rte_mbuf* pkts[], uint16_t n, uint16_t,
                             void* self_) {
    auto* self = static_cast<device_model*>(self_);
    std::lock_guard lk(self->mu_);
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        rx_record r;
        r.queue = queue;
        if (self->cfg_.caps.rx_timestamp) {
            r.stamp = self->now_ns_locked() / self->unit_ns_;
            *RTE_MBUF_DYNFIELD(m, self->ts_off_, rte_mbuf_timestamp_t*) = r.stamp;
            m->ol_flags |= self->rx_flag_;
            ++self->n_.rx_stamped;
        }
        if (self->cfg_.caps.rx_cksum) {
            self->rx_cksum(m);
        }
        if (self->cfg_.record_rx) {
            r.ol_flags = m->ol_flags;
            r.frame = copy_frame(m);
            self->rx_.push_back(std::move(r));
        }
    }
    return n;
}

// ---- TX -------------------------------------------------------------------------------------

void device_model::tx_cksum(rte_mbuf* m) {
    const uint64_t f = m->ol_flags;
    const bool want_ip = f & RTE_MBUF_F_TX_IP_CKSUM;
    const bool want_udp = (f & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_UDP_CKSUM;
    if (!want_ip && !want_udp) {
        return;
    }
    const bool v4 = f & RTE_MBUF_F_TX_IPV4;
    const bool v6 = f & RTE_MBUF_F_TX_IPV6;
    const uint32_t l2 = m->l2_len;
    const uint32_t l3 = m->l3_len;
    const uint32_t len = rte_pktmbuf_data_len(m);
    uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
    if (want_ip) {
        if (cfg_.caps.tx_ipv4_cksum && v4 && !v6 && l3 >= 20 && l2 + l3 <= len) {
            auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + l2);
            ip->hdr_checksum = 0;
            ip->hdr_checksum = rte_ipv4_cksum(ip);
            ++n_.tx_ip_cksum;
        } else {
            ++n_.tx_cksum_ignored;
        }
    }
    if (want_udp) {
        bool ok = cfg_.caps.tx_udp_cksum && v4 != v6 && l3 >= 20 && l2 + l3 + 8 <= len;
        uint32_t udp_len = 0;
        if (ok) {
            udp_len = rte_be_to_cpu_16(reinterpret_cast<rte_udp_hdr*>(p + l2 + l3)->dgram_len);
            ok = udp_len >= 8 && l2 + l3 + udp_len <= len;
        }
        if (ok) {
            // The field holds the pseudo-header sum: summing the datagram with it in place is
            // the whole checksum, as the hardware does.
            auto* udp = reinterpret_cast<rte_udp_hdr*>(p + l2 + l3);
            uint16_t c = static_cast<uint16_t>(~rte_raw_cksum(udp, udp_len));
            udp->dgram_cksum = c == 0 ? 0xffff : c;
            ++n_.tx_udp_cksum;
        } else {
            ++n_.tx_cksum_ignored;
        }
    }
}

uint16_t device_model::tx_cb(uint16_t, uint16_t queue, rte_mbuf* pkts[], uint16_t n, void* self_) {
    auto* self = static_cast<device_model*>(self_);
    std::lock_guard lk(self->mu_);
    const auto& caps = self->cfg_.caps;
    uint16_t take = n;
    if (queue < self->tx_rings_.size() && self->tx_rings_[queue] != nullptr) {
        const unsigned room = rte_ring_free_count(self->tx_rings_[queue]);
        if (room < take) {
            self->n_.tx_shrunk += take - room;
            take = static_cast<uint16_t>(room);
        }
    }
    uint64_t* last = queue < self->last_departure_.size() ? &self->last_departure_[queue] : nullptr;
    for (uint16_t i = 0; i < take; ++i) {
        rte_mbuf* m = pkts[i];
        self->tx_cksum(m);
        tx_record r;
        r.queue = queue;
        r.ol_flags = m->ol_flags;
        const uint64_t now = self->now_ns_locked() / self->unit_ns_;
        uint64_t dep = now;
        bool honoured = false;
        r.requested = m->ol_flags & self->tx_flag_;
        if (r.requested) {
            r.request = *RTE_MBUF_DYNFIELD(m, self->ts_off_, rte_mbuf_timestamp_t*);
            if (!caps.send_on_timestamp || (caps.schedule_first_only && i != 0)) {
                ++self->n_.tx_sched_ignored;
            } else if (r.request < now) {
                ++self->n_.tx_sched_past;
            } else if ((r.request - now) * self->unit_ns_ > self->cfg_.max_future_ns) {
                ++self->n_.tx_sched_future;
            } else {
                dep = r.request;
                const uint64_t g = caps.schedule_granularity_ns / self->unit_ns_;
                if (self->cfg_.quantize_schedule && g > 1) {
                    dep = (dep + g - 1) / g * g; // the next slot of the device's schedule
                }
                honoured = true;
            }
        }
        const uint64_t planned = dep;
        if (last != nullptr) {
            dep = std::max(dep, *last);
            *last = dep;
        }
        r.departure = dep;
        // Not held back by an earlier frame of the queue.
        r.scheduled = honoured && dep == planned;
        if (r.scheduled) {
            ++self->n_.tx_scheduled;
        }
        if ((m->ol_flags & RTE_MBUF_F_TX_IEEE1588_TMST) && caps.tx_timestamp &&
            self->timesync_on_) {
            if (self->latched_) {
                ++self->n_.tx_latch_busy;
            } else {
                self->latched_ = true;
                self->latch_ns_ = dep * self->unit_ns_;
                r.latched = true;
                ++self->n_.tx_latched;
            }
        }
        ++self->n_.tx_frames;
        if (self->cfg_.record_tx) {
            r.frame = copy_frame(m);
            self->tx_.push_back(std::move(r));
        }
    }
    return take;
}

// ---- the ops table --------------------------------------------------------------------------

dataplane::device_caps device_model::ops_caps(uint16_t port_id, const rte_eth_dev_info& info) {
    const dataplane::device_caps under = dataplane::ethdev_caps(port_id, info);
    device_model* m = find(port_id);
    if (m == nullptr) {
        return under;
    }
    dataplane::device_caps c = m->caps();
    c.read_clock = c.clock_readable && m->cfg_.read_clock;
    c.ethdev_rx_offloads = under.ethdev_rx_offloads;
    c.ethdev_tx_offloads = under.ethdev_tx_offloads;
    return c;
}

int device_model::ops_read_clock(uint16_t port_id, uint64_t* raw) {
    device_model* m = find(port_id);
    if (m == nullptr) {
        return -ENODEV;
    }
    uint64_t delay = 0;
    {
        std::lock_guard lk(m->mu_);
        if (!m->cfg_.caps.clock_readable || !m->cfg_.read_clock) {
            return -ENOTSUP;
        }
        delay = m->cfg_.read_delay_ns;
    }
    m->spin(delay / 2);
    *raw = m->now();
    m->spin(delay - delay / 2);
    return 0;
}

int device_model::ops_timesync_enable(uint16_t port_id) {
    device_model* m = find(port_id);
    if (m == nullptr) {
        return -ENODEV;
    }
    std::lock_guard lk(m->mu_);
    if (!m->cfg_.caps.timesync) {
        return -ENOTSUP;
    }
    m->timesync_on_ = true;
    return 0;
}

int device_model::ops_read_time(uint16_t port_id, timespec* ts) {
    device_model* m = find(port_id);
    if (m == nullptr) {
        return -ENODEV;
    }
    uint64_t delay = 0;
    {
        std::lock_guard lk(m->mu_);
        if (!m->cfg_.caps.timesync) {
            return -ENOTSUP;
        }
        delay = m->cfg_.read_delay_ns;
    }
    m->spin(delay / 2);
    {
        std::lock_guard lk(m->mu_);
        // The PHC domain: nanoseconds, truncated to the device's unit.
        *ts = to_timespec(m->now_ns_locked() / m->unit_ns_ * m->unit_ns_);
    }
    m->spin(delay - delay / 2);
    return 0;
}

int device_model::ops_read_tx_timestamp(uint16_t port_id, timespec* ts) {
    device_model* m = find(port_id);
    if (m == nullptr) {
        return -ENODEV;
    }
    std::lock_guard lk(m->mu_);
    if (!m->cfg_.caps.timesync || !m->cfg_.caps.tx_timestamp) {
        return -ENOTSUP;
    }
    if (!m->timesync_on_ || !m->latched_) {
        return -EINVAL;
    }
    *ts = to_timespec(m->latch_ns_);
    m->latched_ = false;
    return 0;
}

} // namespace twamp::test
