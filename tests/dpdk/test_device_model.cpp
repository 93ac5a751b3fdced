// Tier 2: the test device model (device_model.hpp) does what it says, and ethdev_caps reads a
// device without time or checksum offloads as having none. One EAL for the process; each test
// makes its own net_ring port, feeds frames through its RX ring with rte_eth_rx_burst and sends
// with rte_eth_tx_burst, as the worker does.
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>

#include <gtest/gtest.h>

#include "../unit/proto/test_util.hpp"
#include "device_model.hpp"

#include "twamp/dataplane/device.hpp"

using namespace twamp;
using namespace twamp::test;

namespace {

rte_mempool* g_pool = nullptr;

class eal_env : public ::testing::Environment {
public:
    void SetUp() override {
        std::string prefix = "--file-prefix=dmt" + std::to_string(getpid());
        const char* argv[] = {"dpdk_device_tests",  "-l",          "0",
                              "--no-huge",          "-m",          "256",
                              "--no-pci",           "--no-shconf", prefix.c_str(),
                              "--log-level=*:error"};
        int argc = static_cast<int>(std::size(argv));
        ASSERT_GE(rte_eal_init(argc, const_cast<char**>(argv)), 0) << "EAL init failed";
        g_pool = rte_pktmbuf_pool_create("dmt", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
        ASSERT_NE(g_pool, nullptr);
    }
};

int64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t ts_ns(const timespec& ts) {
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// A started net_ring port with `nq` RX and TX queues (one ring each).
class ring_port {
public:
    // set_up: configure and start it now (else the test calls set_up()).
    explicit ring_port(unsigned tx_ring = 1024, uint16_t nq = 1, bool set_up_now = true) : nq_(nq) {
        static int n = 0;
        const std::string id = std::to_string(n++);
        for (uint16_t q = 0; q < nq; ++q) {
            const std::string qid = id + "_" + std::to_string(q);
            rx_.push_back(
                    rte_ring_create(("mrx" + qid).c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ));
            tx_.push_back(rte_ring_create(("mtx" + qid).c_str(), tx_ring, 0,
                                          RING_F_SP_ENQ | RING_F_SC_DEQ));
            EXPECT_TRUE(rx_.back() && tx_.back());
        }
        const int p = rte_eth_from_rings(("mring" + id).c_str(), rx_.data(), nq, tx_.data(), nq, 0);
        EXPECT_GE(p, 0);
        port_ = static_cast<uint16_t>(p);
        if (set_up_now) {
            set_up(rte_eth_conf{});
        }
    }
    void set_up(const rte_eth_conf& conf) {
        EXPECT_EQ(rte_eth_dev_configure(port_, nq_, nq_, &conf), 0);
        for (uint16_t q = 0; q < nq_; ++q) {
            EXPECT_EQ(rte_eth_rx_queue_setup(port_, q, 512, 0, nullptr, g_pool), 0);
            EXPECT_EQ(rte_eth_tx_queue_setup(port_, q, 512, 0, nullptr), 0);
        }
        EXPECT_EQ(rte_eth_dev_start(port_), 0);
    }
    ~ring_port() {
        model_.reset();
        rte_eth_dev_stop(port_);
        rte_eth_dev_close(port_);
        for (std::size_t q = 0; q < rx_.size(); ++q) {
            void* p = nullptr;
            while (rte_ring_dequeue(rx_[q], &p) == 0) {
                rte_pktmbuf_free(static_cast<rte_mbuf*>(p));
            }
            wire(static_cast<uint16_t>(q));
            rte_ring_free(rx_[q]);
            rte_ring_free(tx_[q]);
        }
    }

    device_model& attach(const device_model_config& c) {
        model_ = std::make_unique<device_model>(port_, c, tx_);
        return *model_;
    }

    uint16_t id() const { return port_; }

    static rte_mbuf* mbuf(const bytes& f) {
        rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
        EXPECT_NE(m, nullptr);
        char* d = rte_pktmbuf_append(m, static_cast<uint16_t>(f.size()));
        EXPECT_NE(d, nullptr);
        std::memcpy(d, f.data(), f.size());
        return m;
    }

    // The frames through queue q's RX ring and rte_eth_rx_burst: the mbufs as the dataplane
    // sees them (the caller frees them).
    std::vector<rte_mbuf*> receive(const std::vector<bytes>& frames, uint16_t q = 0) {
        for (const auto& f : frames) {
            EXPECT_EQ(rte_ring_enqueue(rx_[q], mbuf(f)), 0);
        }
        std::vector<rte_mbuf*> out(frames.size() + 1);
        const uint16_t n =
                rte_eth_rx_burst(port_, q, out.data(), static_cast<uint16_t>(out.size()));
        out.resize(n);
        return out;
    }

    // rte_eth_tx_burst; frees what was not accepted; returns how many were.
    uint16_t send(std::vector<rte_mbuf*> ms, uint16_t q = 0) {
        const uint16_t n = rte_eth_tx_burst(port_, q, ms.data(), static_cast<uint16_t>(ms.size()));
        for (std::size_t i = n; i < ms.size(); ++i) {
            rte_pktmbuf_free(ms[i]);
        }
        return n;
    }

    // The frames on queue q's TX ring (the wire), freed.
    std::vector<bytes> wire(uint16_t q = 0) {
        std::vector<bytes> out;
        void* p = nullptr;
        while (rte_ring_dequeue(tx_[q], &p) == 0) {
            auto* m = static_cast<rte_mbuf*>(p);
            const auto* d = rte_pktmbuf_mtod(m, const uint8_t*);
            out.emplace_back(d, d + rte_pktmbuf_data_len(m));
            rte_pktmbuf_free(m);
        }
        return out;
    }

private:
    uint16_t nq_;
    std::vector<rte_ring*> rx_;
    std::vector<rte_ring*> tx_;
    uint16_t port_ = 0;
    std::unique_ptr<device_model> model_;
};

void free_all(const std::vector<rte_mbuf*>& ms) {
    for (auto* m : ms) {
        rte_pktmbuf_free(m);
    }
}

bytes udp_frame(int ip_version, std::size_t payload = 48) {
    frame_spec s = ip_version == 4 ? v4_spec() : v6_spec();
    s.payload = pattern(payload, 7);
    return build(s);
}

const dataplane::device_ops& ops = device_model::ops();

// ---- ethdev_caps / ethdev_ops --------------------------------------------------------------

void expect_no_caps(const dataplane::device_caps& c, const char* what) {
    SCOPED_TRACE(what);
    EXPECT_FALSE(c.rx_timestamp);
    EXPECT_FALSE(c.clock_readable);
    EXPECT_FALSE(c.timesync);
    EXPECT_FALSE(c.send_on_timestamp);
    EXPECT_FALSE(c.schedule_first_only);
    EXPECT_EQ(c.schedule_granularity_ns, 0u);
    EXPECT_FALSE(c.tx_timestamp);
    EXPECT_FALSE(c.rx_cksum);
    EXPECT_FALSE(c.tx_ipv4_cksum);
    EXPECT_FALSE(c.tx_udp_cksum);
    EXPECT_EQ(c.ethdev_rx_offloads, 0u);
    EXPECT_EQ(c.ethdev_tx_offloads & ~uint64_t{RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE}, 0u);
}

TEST(EthdevCaps, RingPortOffersNothing) {
    ring_port port;
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port.id(), &info), 0);
    expect_no_caps(dataplane::ethdev_caps(port.id(), info), "net_ring");
    const auto& e = dataplane::ethdev_ops();
    EXPECT_EQ(e.caps, &dataplane::ethdev_caps);
    expect_no_caps(e.caps(port.id(), info), "ethdev_ops().caps");
    uint64_t raw = 0;
    timespec ts{};
    EXPECT_EQ(e.read_clock(port.id(), &raw), -ENOTSUP);
    EXPECT_EQ(e.timesync_enable(port.id()), -ENOTSUP);
    EXPECT_EQ(e.read_time(port.id(), &ts), -ENOTSUP);
    EXPECT_EQ(e.read_tx_timestamp(port.id(), &ts), -ENOTSUP);
}

TEST(EthdevCaps, NullPortOffersNothing) {
    ASSERT_EQ(rte_dev_probe("net_null_caps0"), 0);
    uint16_t id = 0;
    ASSERT_EQ(rte_eth_dev_get_port_by_name("net_null_caps0", &id), 0);
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(id, &info), 0);
    expect_no_caps(dataplane::ethdev_caps(id, info), "net_null");
    rte_eth_dev_close(id);
}

TEST(EthdevCaps, Mlx5GranularityFromTxPp) {
    EXPECT_EQ(dataplane::mlx5_tx_pp_granularity_ns(nullptr), 500u);
    EXPECT_EQ(dataplane::mlx5_tx_pp_granularity_ns(""), 500u);
    EXPECT_EQ(dataplane::mlx5_tx_pp_granularity_ns("tx_pp=1000"), 1000u);
    EXPECT_EQ(dataplane::mlx5_tx_pp_granularity_ns("dv_flow_en=1,tx_pp=-2000,tx_skew=80"), 2000u);
    EXPECT_EQ(dataplane::mlx5_tx_pp_granularity_ns("tx_pp=100"), 500u); // the driver's floor
    EXPECT_EQ(dataplane::mlx5_tx_pp_granularity_ns("tx_pp=abc,tx_skew=3000"), 500u);
    EXPECT_EQ(dataplane::mlx5_tx_pp_granularity_ns("xtx_pp=4000"), 500u);
}

// ---- the clock ------------------------------------------------------------------------------

TEST(DeviceModel, ClockHasItsOffsetAndDrift) {
    ring_port port;
    auto& m = port.attach(full_device(3'700'000, 25));
    // The model's arithmetic: exactly offset + 25 ppm of elapsed realtime.
    const int64_t t = realtime_ns();
    const uint64_t d0 = m.device_at(t);
    EXPECT_EQ(m.device_at(t + 1'000'000'000) - d0, 1'000'025'000u);
    EXPECT_EQ(m.device_at(t + 200'000'000) - d0, 200'005'000u);
    EXPECT_NEAR(static_cast<double>(m.realtime_at(m.device_at(t + 5'000'000'000))),
                static_cast<double>(t + 5'000'000'000), 1.0);
    EXPECT_NEAR(static_cast<double>(static_cast<int64_t>(d0) - t), 3'700'000.0, 50'000.0);

    // read_clock against CLOCK_REALTIME: inside the bracket of the true device times.
    for (int i = 0; i < 100; ++i) {
        const int64_t r0 = realtime_ns();
        uint64_t raw = 0;
        ASSERT_EQ(ops.read_clock(port.id(), &raw), 0);
        const int64_t r1 = realtime_ns();
        ASSERT_GE(raw, m.device_at(r0));
        ASSERT_LE(raw, m.device_at(r1));
        timespec ts{};
        ASSERT_EQ(ops.read_time(port.id(), &ts), 0);
        const int64_t r2 = realtime_ns();
        ASSERT_GE(static_cast<uint64_t>(ts_ns(ts)), m.device_ns_at(r1));
        ASSERT_LE(static_cast<uint64_t>(ts_ns(ts)), m.device_ns_at(r2));
        EXPECT_NEAR(static_cast<double>(static_cast<int64_t>(raw) - (r0 + r1) / 2), 3'700'000.0,
                    1'000'000.0);
    }
}

TEST(DeviceModel, DriftIsMeasurableThroughReadClock) {
    ring_port port;
    port.attach(full_device(0, 2000)); // 0.2 %: 100 us gained over 50 ms
    // Each read bracketed by CLOCK_REALTIME; the gain must lie within the brackets' slack.
    // A preempted bracket makes the check weak, not wrong: retry a few times for a tight one.
    for (int attempt = 0; attempt < 5; ++attempt) {
        uint64_t a = 0;
        uint64_t b = 0;
        const int64_t r0 = realtime_ns();
        ASSERT_EQ(ops.read_clock(port.id(), &a), 0);
        const int64_t r1 = realtime_ns();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        const int64_t r2 = realtime_ns();
        ASSERT_EQ(ops.read_clock(port.id(), &b), 0);
        const int64_t r3 = realtime_ns();
        const double slack = static_cast<double>((r1 - r0) + (r3 - r2)) + 1000.0;
        if (slack > 20'000.0 && attempt < 4) {
            continue;
        }
        const double elapsed = static_cast<double>((r2 + r3) / 2 - (r0 + r1) / 2);
        const double gained = static_cast<double>(b - a) - elapsed;
        EXPECT_NEAR(gained, elapsed * 2000e-6, slack);
        EXPECT_GT(gained, 50'000.0);
        break;
    }
}

TEST(DeviceModel, MicrosecondUnits) {
    ring_port port;
    auto cfg = full_device(-2'000'000, 0);
    cfg.unit_ns = 1000;
    auto& m = port.attach(cfg);
    const int64_t r0 = realtime_ns();
    uint64_t raw = 0;
    ASSERT_EQ(ops.read_clock(port.id(), &raw), 0);
    const int64_t r1 = realtime_ns();
    EXPECT_GE(raw, static_cast<uint64_t>(r0 - 2'000'000) / 1000);
    EXPECT_LE(raw, static_cast<uint64_t>(r1 - 2'000'000) / 1000);
    EXPECT_EQ(m.device_at(r0), m.device_ns_at(r0) / 1000);
    EXPECT_NEAR(static_cast<double>(m.realtime_at(raw)), static_cast<double>(r0), 10'000.0);
}

TEST(DeviceModel, StepMovesTheClock) {
    ring_port port;
    auto& m = port.attach(full_device(0, 0));
    uint64_t a = 0;
    uint64_t b = 0;
    uint64_t c = 0;
    ASSERT_EQ(ops.read_clock(port.id(), &a), 0);
    m.step(1'000'000'000);
    ASSERT_EQ(ops.read_clock(port.id(), &b), 0);
    m.step(-3'000'000'000);
    ASSERT_EQ(ops.read_clock(port.id(), &c), 0);
    EXPECT_GE(b - a, 1'000'000'000u);
    EXPECT_LT(b - a, 1'000'000'000u + 5'000'000);
    EXPECT_GE(static_cast<int64_t>(c - a), -2'000'000'000);
    EXPECT_LT(static_cast<int64_t>(c - a), -2'000'000'000 + 5'000'000);
    const int64_t t = realtime_ns();
    EXPECT_NEAR(static_cast<double>(static_cast<int64_t>(m.device_at(t)) - t), -2e9, 1.0);
}

TEST(DeviceModel, ReadDelayWidensTheBracket) {
    ring_port port;
    auto cfg = full_device(0, 0);
    cfg.read_delay_ns = 200'000;
    auto& m = port.attach(cfg);
    const int64_t r0 = realtime_ns();
    uint64_t raw = 0;
    ASSERT_EQ(ops.read_clock(port.id(), &raw), 0);
    const int64_t r1 = realtime_ns();
    EXPECT_GE(r1 - r0, 200'000);
    EXPECT_GE(raw, m.device_at(r0) + 100'000);
    EXPECT_LE(raw + 100'000, m.device_at(r1));
}

TEST(DeviceModel, CapabilitiesSwitchTheOps) {
    ring_port port;
    auto& m = port.attach(full_device());
    EXPECT_EQ(device_model::find(port.id()), &m);
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port.id(), &info), 0);
    auto c = ops.caps(port.id(), info);
    EXPECT_TRUE(c.rx_timestamp && c.clock_readable && c.timesync && c.send_on_timestamp &&
                c.tx_timestamp && c.rx_cksum && c.tx_ipv4_cksum && c.tx_udp_cksum);
    EXPECT_EQ(c.schedule_granularity_ns, 500u);
    EXPECT_EQ(c.ethdev_rx_offloads, 0u); // the model asks ethdev for nothing

    uint64_t raw = 0;
    timespec ts{};
    m.set_read_clock(false); // an IEEE 1588 device: read_time only
    EXPECT_EQ(ops.read_clock(port.id(), &raw), -ENOTSUP);
    EXPECT_EQ(ops.read_time(port.id(), &ts), 0);
    c.clock_readable = false;
    c.timesync = false;
    m.set_caps(c);
    m.set_read_clock(true);
    EXPECT_FALSE(ops.caps(port.id(), info).clock_readable);
    EXPECT_EQ(ops.read_clock(port.id(), &raw), -ENOTSUP);
    EXPECT_EQ(ops.read_time(port.id(), &ts), -ENOTSUP);
    EXPECT_EQ(ops.timesync_enable(port.id()), -ENOTSUP);
    EXPECT_EQ(ops.read_tx_timestamp(port.id(), &ts), -ENOTSUP);

    // A port without a model: -ENODEV, and ethdev's own capabilities.
    ring_port bare;
    EXPECT_EQ(device_model::find(bare.id()), nullptr);
    EXPECT_EQ(ops.read_clock(bare.id(), &raw), -ENODEV);
    ASSERT_EQ(rte_eth_dev_info_get(bare.id(), &info), 0);
    expect_no_caps(ops.caps(bare.id(), info), "no model");
}

// ---- RX -------------------------------------------------------------------------------------

TEST(DeviceModel, RxStampsAndChecksumFlags) {
    ring_port port;
    auto& m = port.attach(full_device(3'700'000, 25));
    frame_spec bad_ip = v4_spec();
    bad_ip.ipv4_csum_good = false;
    frame_spec bad_udp = v4_spec();
    bad_udp.csum = udp_csum::bad;
    frame_spec zero_udp = v4_spec();
    zero_udp.csum = udp_csum::zero;
    frame_spec bad_udp6 = v6_spec();
    bad_udp6.csum = udp_csum::bad;
    frame_spec tagged = v4_spec();
    tagged.vlans = {{0x88a8, 10}, {0x8100, 20}};
    const std::vector<bytes> frames = {udp_frame(4),    build(bad_ip), build(bad_udp),
                                       build(zero_udp), udp_frame(6),  build(bad_udp6),
                                       build(tagged)};
    const int64_t r0 = realtime_ns();
    auto ms = port.receive(frames);
    const int64_t r1 = realtime_ns();
    ASSERT_EQ(ms.size(), frames.size());
    const uint64_t ipm = RTE_MBUF_F_RX_IP_CKSUM_MASK;
    const uint64_t l4m = RTE_MBUF_F_RX_L4_CKSUM_MASK;
    const uint64_t want_ip[] = {RTE_MBUF_F_RX_IP_CKSUM_GOOD,    RTE_MBUF_F_RX_IP_CKSUM_BAD,
                                RTE_MBUF_F_RX_IP_CKSUM_GOOD,    RTE_MBUF_F_RX_IP_CKSUM_GOOD,
                                RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN, RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN,
                                RTE_MBUF_F_RX_IP_CKSUM_GOOD};
    const uint64_t want_l4[] = {RTE_MBUF_F_RX_L4_CKSUM_GOOD, RTE_MBUF_F_RX_L4_CKSUM_GOOD,
                                RTE_MBUF_F_RX_L4_CKSUM_BAD,  RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN,
                                RTE_MBUF_F_RX_L4_CKSUM_GOOD, RTE_MBUF_F_RX_L4_CKSUM_BAD,
                                RTE_MBUF_F_RX_L4_CKSUM_GOOD};
    const auto rec = m.take_rx();
    ASSERT_EQ(rec.size(), frames.size());
    for (std::size_t i = 0; i < ms.size(); ++i) {
        SCOPED_TRACE(i);
        ASSERT_TRUE(ms[i]->ol_flags & m.rx_ts_flag());
        const uint64_t ts = *RTE_MBUF_DYNFIELD(ms[i], m.ts_offset(), rte_mbuf_timestamp_t*);
        EXPECT_GE(ts, m.device_at(r0));
        EXPECT_LE(ts, m.device_at(r1));
        EXPECT_EQ(ms[i]->ol_flags & ipm, want_ip[i]);
        EXPECT_EQ(ms[i]->ol_flags & l4m, want_l4[i]);
        EXPECT_EQ(rec[i].stamp, ts);
        EXPECT_EQ(rec[i].ol_flags, ms[i]->ol_flags);
        EXPECT_EQ(rec[i].frame, frames[i]);
    }
    free_all(ms);
    EXPECT_EQ(m.counters().rx_stamped, frames.size());

    // Both off: no flag, no timestamp, the flags the ring gave (none).
    auto c = m.caps();
    c.rx_timestamp = false;
    c.rx_cksum = false;
    m.set_caps(c);
    ms = port.receive({udp_frame(4)});
    ASSERT_EQ(ms.size(), 1u);
    EXPECT_EQ(ms[0]->ol_flags & (m.rx_ts_flag() | ipm | l4m), 0u);
    free_all(ms);
}

// ---- TX: send on timestamp ------------------------------------------------------------------

rte_mbuf* scheduled(const device_model& m, uint64_t when) {
    rte_mbuf* mb = ring_port::mbuf(udp_frame(4));
    *RTE_MBUF_DYNFIELD(mb, m.ts_offset(), rte_mbuf_timestamp_t*) = when;
    mb->ol_flags |= m.tx_ts_flag();
    return mb;
}

TEST(DeviceModel, ScheduledDepartureIsTheTimeOrNow) {
    ring_port port;
    auto& m = port.attach(full_device(3'700'000, 25));
    // Past: leaves now.
    const uint64_t before = m.now();
    EXPECT_EQ(port.send({scheduled(m, before - 1'000'000)}), 1);
    const uint64_t after = m.now();
    // Future: leaves at its time; an unscheduled frame after it does not overtake it.
    const uint64_t future = m.now() + 2'000'000;
    EXPECT_EQ(port.send({scheduled(m, future), ring_port::mbuf(udp_frame(6))}), 2);
    const auto rec = m.take_tx();
    ASSERT_EQ(rec.size(), 3u);
    EXPECT_TRUE(rec[0].requested);
    EXPECT_FALSE(rec[0].scheduled);
    EXPECT_EQ(rec[0].request, before - 1'000'000);
    EXPECT_GE(rec[0].departure, before);
    EXPECT_LE(rec[0].departure, after);
    EXPECT_TRUE(rec[1].requested);
    EXPECT_TRUE(rec[1].scheduled);
    EXPECT_EQ(rec[1].request, future);
    EXPECT_EQ(rec[1].departure, future);
    EXPECT_FALSE(rec[2].requested);
    EXPECT_FALSE(rec[2].scheduled);
    EXPECT_EQ(rec[2].departure, future);
    EXPECT_EQ(rec[2].frame, udp_frame(6));
    EXPECT_EQ(port.wire().size(), 3u);
    const auto n = m.counters();
    EXPECT_EQ(n.tx_scheduled, 1u);
    EXPECT_EQ(n.tx_sched_past, 1u);
    EXPECT_EQ(n.tx_frames, 3u);

    // True UTC of a departure: the realtime instant the model maps it to.
    // (At +25 ppm a realtime ns is 1.000025 device ns: one device value in 40000 is skipped.)
    const int64_t utc = m.realtime_at(future);
    EXPECT_GE(m.device_at(utc), future);
    EXPECT_LE(m.device_at(utc), future + 1);
    EXPECT_LT(m.device_at(utc - 1), future);
}

TEST(DeviceModel, ScheduleLimits) {
    ring_port port;
    auto& m = port.attach(full_device(0, 0));
    // Too far ahead: ignored, leaves now.
    const uint64_t b = m.now();
    EXPECT_EQ(port.send({scheduled(m, b + 5'000'000'000)}), 1);
    auto rec = m.take_tx();
    ASSERT_EQ(rec.size(), 1u);
    EXPECT_FALSE(rec[0].scheduled);
    EXPECT_LT(rec[0].departure, b + 1'000'000'000);
    EXPECT_EQ(m.counters().tx_sched_future, 1u);

    // schedule_first_only: the second frame's own time is not honoured.
    auto c = m.caps();
    c.schedule_first_only = true;
    m.set_caps(c);
    const uint64_t t = m.now() + 1'000'000;
    EXPECT_EQ(port.send({scheduled(m, t), scheduled(m, t + 500'000)}), 2);
    rec = m.take_tx();
    ASSERT_EQ(rec.size(), 2u);
    EXPECT_TRUE(rec[0].scheduled);
    EXPECT_EQ(rec[0].departure, t);
    EXPECT_FALSE(rec[1].scheduled);
    EXPECT_EQ(rec[1].departure, t); // behind the first, not at its own time
    EXPECT_EQ(m.counters().tx_sched_ignored, 1u);

    // Send on timestamp off: the flag means nothing.
    c.send_on_timestamp = false;
    m.set_caps(c);
    m.step(-5'000'000); // the queue drains
    const uint64_t b3 = m.now();
    EXPECT_EQ(port.send({scheduled(m, b3 + 1'000'000)}), 1);
    rec = m.take_tx();
    ASSERT_EQ(rec.size(), 1u);
    EXPECT_FALSE(rec[0].scheduled);
    EXPECT_LT(rec[0].departure, b3 + 1'000'000);
}

TEST(DeviceModel, FullTxRingShrinksTheBurst) {
    ring_port port(8); // holds 7
    auto& m = port.attach(full_device(0, 0));
    std::vector<rte_mbuf*> ms;
    for (int i = 0; i < 10; ++i) {
        ms.push_back(ring_port::mbuf(udp_frame(4)));
    }
    EXPECT_EQ(port.send(ms), 7);
    EXPECT_EQ(m.take_tx().size(), 7u);
    EXPECT_EQ(m.counters().tx_shrunk, 3u);
    EXPECT_EQ(port.wire().size(), 7u);
}

TEST(DeviceModel, EveryQueueIsModelled) {
    ring_port port(1024, 3);
    auto& m = port.attach(full_device(0, 0));
    for (uint16_t q = 0; q < 3; ++q) {
        SCOPED_TRACE(q);
        auto ms = port.receive({udp_frame(4)}, q);
        ASSERT_EQ(ms.size(), 1u);
        EXPECT_TRUE(ms[0]->ol_flags & m.rx_ts_flag());
        EXPECT_EQ(ms[0]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
        EXPECT_EQ(port.send(ms, q), 1);
        EXPECT_EQ(port.wire(q).size(), 1u);
        const auto rx = m.take_rx();
        const auto tx = m.take_tx();
        ASSERT_EQ(rx.size(), 1u);
        ASSERT_EQ(tx.size(), 1u);
        EXPECT_EQ(rx[0].queue, q);
        EXPECT_EQ(tx[0].queue, q);
        EXPECT_GE(tx[0].departure, rx[0].stamp);
    }
}

// The dataplane's order: the model first (its ops.caps decides the port's configuration),
// the port set up from those capabilities, then attach() for the queues set up since.
TEST(DeviceModel, MadeBeforeThePortIsSetUp) {
    ring_port port(1024, 2, false);
    auto& m = port.attach(full_device(0, 0));
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port.id(), &info), 0);
    const auto caps = ops.caps(port.id(), info);
    EXPECT_TRUE(caps.rx_timestamp);
    rte_eth_conf conf{};
    conf.rxmode.offloads = caps.ethdev_rx_offloads;
    conf.txmode.offloads = caps.ethdev_tx_offloads;
    port.set_up(conf);
    m.attach();
    m.attach(); // idempotent: one callback per queue
    for (uint16_t q = 0; q < 2; ++q) {
        SCOPED_TRACE(q);
        auto ms = port.receive({udp_frame(4)}, q);
        ASSERT_EQ(ms.size(), 1u);
        EXPECT_TRUE(ms[0]->ol_flags & m.rx_ts_flag());
        EXPECT_EQ(port.send(ms, q), 1);
        EXPECT_EQ(port.wire(q).size(), 1u);
    }
    EXPECT_EQ(m.take_rx().size(), 2u);
    EXPECT_EQ(m.take_tx().size(), 2u);
}

TEST(DeviceModel, QuantizedScheduleLeavesAtTheNextSlot) {
    ring_port port;
    auto cfg = full_device(0, 0);
    cfg.caps.schedule_granularity_ns = 500;
    cfg.quantize_schedule = true;
    auto& m = port.attach(cfg);
    const uint64_t t = (m.now() + 1'000'000) / 500 * 500;
    EXPECT_EQ(port.send({scheduled(m, t + 123), scheduled(m, t + 1000)}), 2);
    const auto rec = m.take_tx();
    ASSERT_EQ(rec.size(), 2u);
    EXPECT_TRUE(rec[0].scheduled);
    EXPECT_EQ(rec[0].departure, t + 500);
    EXPECT_TRUE(rec[1].scheduled);
    EXPECT_EQ(rec[1].departure, t + 1000); // on a slot already
}

// ---- TX: IEEE 1588 transmit timestamps ------------------------------------------------------

TEST(DeviceModel, TxTimestampLatchesOneAtATime) {
    ring_port port;
    auto& m = port.attach(full_device(3'700'000, 25));
    timespec ts{};
    auto flagged = [] {
        rte_mbuf* mb = ring_port::mbuf(udp_frame(4));
        mb->ol_flags |= RTE_MBUF_F_TX_IEEE1588_TMST;
        return mb;
    };
    // Before timesync_enable: nothing latched.
    EXPECT_EQ(port.send({flagged()}), 1);
    EXPECT_FALSE(m.tx_latch_full());
    EXPECT_EQ(ops.read_tx_timestamp(port.id(), &ts), -EINVAL);
    m.take_tx();

    ASSERT_EQ(ops.timesync_enable(port.id()), 0);
    EXPECT_EQ(port.send({flagged(), flagged(), ring_port::mbuf(udp_frame(4))}), 3);
    auto rec = m.take_tx();
    ASSERT_EQ(rec.size(), 3u);
    EXPECT_TRUE(rec[0].latched);
    EXPECT_FALSE(rec[1].latched); // the latch was full
    EXPECT_FALSE(rec[2].latched);
    ASSERT_EQ(ops.read_tx_timestamp(port.id(), &ts), 0);
    EXPECT_EQ(static_cast<uint64_t>(ts_ns(ts)), rec[0].departure);
    EXPECT_EQ(ops.read_tx_timestamp(port.id(), &ts), -EINVAL); // once only
    EXPECT_EQ(m.counters().tx_latch_busy, 1u);

    // Free again: the next flagged frame latches, at its (scheduled) departure.
    const uint64_t when = m.now() + 1'000'000;
    rte_mbuf* s = scheduled(m, when);
    s->ol_flags |= RTE_MBUF_F_TX_IEEE1588_TMST;
    EXPECT_EQ(port.send({s}), 1);
    ASSERT_EQ(ops.read_tx_timestamp(port.id(), &ts), 0);
    EXPECT_EQ(static_cast<uint64_t>(ts_ns(ts)), when);
    EXPECT_EQ(m.counters().tx_latched, 2u);
}

// ---- TX: checksum offload -------------------------------------------------------------------

// The frame as an application hands it to a NIC for checksum offload: IPv4 header checksum
// zero, UDP checksum the pseudo-header sum.
rte_mbuf* for_offload(const bytes& f, bool ip, bool udp) {
    rte_mbuf* m = ring_port::mbuf(f);
    const layers l = locate(f.data());
    m->l2_len = l.l3 & 0x7f;
    m->l3_len = l.ihl & 0x1ff;
    uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
    m->ol_flags |= l.ip_version == 4 ? RTE_MBUF_F_TX_IPV4 : RTE_MBUF_F_TX_IPV6;
    if (ip) {
        m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
        wr16(p + l.l3 + 10, 0);
    }
    if (udp) {
        m->ol_flags |= RTE_MBUF_F_TX_UDP_CKSUM;
        auto* u = reinterpret_cast<rte_udp_hdr*>(p + l.l4);
        u->dgram_cksum = l.ip_version == 4
                                 ? rte_ipv4_phdr_cksum(reinterpret_cast<rte_ipv4_hdr*>(p + l.l3),
                                                       m->ol_flags)
                                 : rte_ipv6_phdr_cksum(reinterpret_cast<rte_ipv6_hdr*>(p + l.l3),
                                                       m->ol_flags);
    }
    return m;
}

void expect_checksums_good(const bytes& f) {
    const layers l = locate(f.data());
    const uint8_t* ip = f.data() + l.l3;
    if (l.ip_version == 4) {
        EXPECT_EQ(rd16(ip + 10), ref_ipv4_header_checksum(ip, l.ihl));
    }
    EXPECT_EQ(rd16(f.data() + l.l4 + 6),
              ref_udp_checksum(l.ip_version, ip, f.data() + l.l4, l.udp_len));
}

TEST(DeviceModel, TxChecksumOffloadWritesWhatANicWould) {
    ring_port port;
    auto& m = port.attach(full_device(0, 0));
    frame_spec tagged = v4_spec();
    tagged.vlans = {{0x8100, 5}};
    tagged.payload = pattern(101, 3); // odd length
    frame_spec opts = v4_spec();
    opts.ip_options = {1, 1, 1, 0};
    opts.payload = pattern(64, 9);
    const std::vector<bytes> frames = {udp_frame(4), udp_frame(6, 77), build(tagged), build(opts)};
    std::vector<rte_mbuf*> ms;
    for (const auto& f : frames) {
        ms.push_back(for_offload(f, locate(f.data()).ip_version == 4, true));
    }
    EXPECT_EQ(port.send(ms), frames.size());
    const auto wire = port.wire();
    ASSERT_EQ(wire.size(), frames.size());
    const auto rec = m.take_tx();
    ASSERT_EQ(rec.size(), frames.size());
    for (std::size_t i = 0; i < wire.size(); ++i) {
        SCOPED_TRACE(i);
        expect_checksums_good(wire[i]);
        EXPECT_EQ(wire[i], frames[i]); // the builder's checksums were right: same bytes
        EXPECT_EQ(rec[i].frame, wire[i]);
    }
    auto n = m.counters();
    EXPECT_EQ(n.tx_ip_cksum, 3u);
    EXPECT_EQ(n.tx_udp_cksum, 4u);
    EXPECT_EQ(n.tx_cksum_ignored, 0u);

    // Offloads off: the flags are ignored, the frame leaves as handed over (bad checksums).
    auto c = m.caps();
    c.tx_ipv4_cksum = false;
    c.tx_udp_cksum = false;
    m.set_caps(c);
    EXPECT_EQ(port.send({for_offload(frames[0], true, true)}), 1);
    const auto w2 = port.wire();
    ASSERT_EQ(w2.size(), 1u);
    const layers l = locate(w2[0].data());
    EXPECT_EQ(rd16(w2[0].data() + l.l3 + 10), 0u);
    EXPECT_NE(w2[0], frames[0]);
    EXPECT_EQ(m.counters().tx_cksum_ignored, 2u);
}

} // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new eal_env);
    return RUN_ALL_TESTS();
}
