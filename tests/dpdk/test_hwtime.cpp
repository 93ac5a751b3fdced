// Tier 2, issue 14 item 5: tests that measure the instrument. A net_ring port set up by the
// production setup_port() with the test device model's ops (device_model.hpp: a device clock at
// +3.7 ms and +25 ppm from CLOCK_REALTIME, RX stamps, send on timestamp, a TX timestamp latch),
// its mapping refreshed by refresh_port_time() as the slow path does, and a worker driven a
// round at a time (worker::poll_once(), as tests/dpdk/test_worker.cpp). Every assertion is on
// the replies' bytes, decoded here from the RFC 5357 / RFC 8762 layouts (NTP or PTP format,
// Error Estimate Scale/Multiplier), against the truth the model recorded: each frame's RX
// stamp and each reply's departure, mapped to the CLOCK_REALTIME instant the device clock
// read them.
//
// The system clock's map handed to refresh_port_time: this machine's kernel clock is not
// synchronized (adjtimex: maxerror 16 s), which would make every "within the stated error"
// true whatever the box did. The tests give it the map of a synchronized kernel with zero
// estimated error (sw_clock's own 1 us fit allowance kept): the stated error is then what the
// box measured of its own mapping, and that must cover the error the test measures.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>

#include <gtest/gtest.h>

#include "../unit/proto/test_util.hpp"
#include "device_model.hpp"

#include "twamp/dataplane/clock.hpp"
#include "twamp/dataplane/counters.hpp"
#include "twamp/dataplane/port.hpp"
#include "twamp/dataplane/sessions.hpp"
#include "twamp/dataplane/snapshot.hpp"
#include "twamp/dataplane/worker.hpp"
#include "twamp/proto/tlv.hpp"

using namespace twamp;
using namespace twamp::test;

namespace {

rte_mempool* g_pool = nullptr;

class eal_env : public ::testing::Environment {
public:
    void SetUp() override {
        std::string prefix = "--file-prefix=dhw" + std::to_string(getpid());
        const char* argv[] = {"dpdk_hwtime_tests",  "-l",          "0",
                              "--no-huge",          "-m",          "512",
                              "--no-pci",           "--no-shconf", prefix.c_str(),
                              "--log-level=*:error"};
        int argc = static_cast<int>(std::size(argv));
        ASSERT_GE(rte_eal_init(argc, const_cast<char**>(argv)), 0) << "EAL init failed";
        g_pool = rte_pktmbuf_pool_create("dhw", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
        ASSERT_NE(g_pool, nullptr);
    }
};

// ---- decoding replies -----------------------------------------------------------------------

constexpr uint16_t light_port = 862;
constexpr uint16_t stamp_port = 8620;     // stateful STAMP
constexpr uint16_t stateless_port = 8621; // stateless STAMP

// A timestamp field in ns of UTC since the Unix epoch: NTP (RFC 5905 §6, nearest ns) or PTPv2
// truncated (RFC 8186 §2.3, TAI).
int64_t ts_ns(uint64_t ts, bool ptp, int32_t tai_utc) {
    const int64_t sec = static_cast<int64_t>(ts >> 32);
    const uint64_t low = ts & 0xffffffffu;
    if (ptp) {
        return (sec - tai_utc) * 1'000'000'000 + static_cast<int64_t>(low);
    }
    return (sec - 2208988800LL) * 1'000'000'000 +
           static_cast<int64_t>((low * 1'000'000'000ULL + (1ULL << 31)) >> 32);
}

// RFC 4656 §4.1.2: Multiplier * 2^Scale * 2^-32 s, in ns rounded down (the test's bound is
// never looser than what the reply says).
uint64_t err_ns(uint16_t e) {
    const unsigned scale = (e >> 8) & 0x3f;
    const uint64_t mult = e & 0xff;
    const proto::u128 v = (static_cast<proto::u128>(mult) << scale) * 1'000'000'000u;
    return static_cast<uint64_t>(v >> 32);
}

struct reply {
    bytes frame;
    uint32_t seq = 0;
    uint32_t sender_seq = 0;
    uint16_t dport = 0; // the reflector's port the request went to (the reply's source port)
    int64_t t2 = 0, t3 = 0;
    uint16_t err = 0;
    uint64_t error_ns = 0;
    bool s = false;
    // STAMP TLVs (type -> offset of the Value in `frame`, 0: absent)
    std::size_t ts_info = 0, follow_up = 0;
};

reply decode(const bytes& f) {
    reply r;
    r.frame = f;
    const layers l = locate(f.data());
    const uint8_t* p = f.data() + l.payload();
    r.dport = rd16(f.data() + l.l4);
    r.seq = rd32(p);
    r.err = rd16(p + 12);
    const bool ptp = r.err & 0x4000;
    r.s = r.err & 0x8000;
    r.error_ns = err_ns(r.err);
    r.t3 = ts_ns(rd64(p + 4), ptp, 37);
    r.t2 = ts_ns(rd64(p + 16), ptp, 37);
    r.sender_seq = rd32(p + 24);
    if (r.dport != light_port) {
        std::size_t off = l.payload() + 44;
        const std::size_t end = l.l4 + l.udp_len;
        while (off + 4 <= end) {
            const uint8_t type = f[off + 1];
            const uint16_t len = rd16(f.data() + off + 2);
            if (type == 3) {
                r.ts_info = off + 4;
            } else if (type == 7) {
                r.follow_up = off + 4;
            }
            off += 4 + len;
        }
    }
    return r;
}

// The reply's UDP checksum, recomputed from its bytes (and the IPv4 header's).
bool checksums_ok(const bytes& f) {
    const layers l = locate(f.data());
    const uint8_t* ip = f.data() + l.l3;
    if (l.ip_version == 4 && ref_ipv4_header_checksum(ip, l.ihl) != rd16(ip + 10)) {
        return false;
    }
    const uint16_t field = rd16(f.data() + l.l4 + 6);
    return ones_eq(ref_udp_checksum(l.ip_version, ip, f.data() + l.l4, l.udp_len), field);
}

// ---- the port -------------------------------------------------------------------------------

dataplane::ip_prefix pfx(std::array<uint8_t, 16> a, uint8_t len, bool v6 = false) {
    return {net::address::from_octets(v6 ? net::ip_family::ipv6 : net::ip_family::ipv4, a.data()),
            len};
}

dataplane::context_spec ctx(std::string name, uint16_t port, proto::test_mode mode, bool stateful) {
    dataplane::context_spec c;
    c.name = std::move(name);
    c.addresses = {pfx({198, 18, 0, 2}, 32), pfx(v6addr({0x2001, 0x0002, 0x0002}), 128, true)};
    c.udp_ports = {port};
    c.prefixes = {pfx({198, 18, 0, 0}, 24), pfx(v6addr({0x2001, 0x0002, 0}), 64, true)};
    c.policy.mode = mode;
    c.stateful = stateful;
    return c;
}

struct hw_options {
    device_model_config model = full_device(3'700'000, 25);
    dataplane::t3_request t3 = dataplane::t3_request::automatic;
    uint32_t lead_ns = 10'000;
    bool tx_timestamps = true;
};

// What refresh_port_time gets for the system clock: the sw_clock's map as a synchronized
// kernel with zero estimated error would make it (see the top of the file).
struct sys_override {
    bool synchronized = true;
    uint64_t error_ns = 1000;
};

class hw_port {
public:
    explicit hw_port(const hw_options& o) {
        static int n = 0;
        const std::string id = std::to_string(n++);
        name_ = "hwring" + id;
        rx_ = rte_ring_create(("hrx" + id).c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        tx_ = rte_ring_create(("htx" + id).c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        exc_ = rte_ring_create(("hex" + id).c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        EXPECT_TRUE(rx_ && tx_ && exc_);
        const int p = rte_eth_from_rings(name_.c_str(), &rx_, 1, &tx_, 1, 0);
        EXPECT_GE(p, 0);
        port_id_ = static_cast<uint16_t>(p);
        // The model first: setup_port asks ops.caps; attach() once the queues are configured.
        model_ = std::make_unique<device_model>(port_id_, o.model, std::vector<rte_ring*>{tx_});
        spec_.name = "hw";
        char ethdev[RTE_ETH_NAME_MAX_LEN] = {};
        rte_eth_dev_get_name_by_port(port_id_, ethdev); // "net_ring_<name>"
        spec_.device = ethdev;
        spec_.t3 = o.t3;
        spec_.t3_lead_ns = o.lead_ns;
        spec_.tx_timestamps = o.tx_timestamps;
        ok_ = dataplane::setup_port(pr_, spec_, 1, 512, 512, g_pool, error_, device_model::ops());
        if (!ok_) {
            return;
        }
        model_->attach();
        clock_.init(5);
        rte_mbuf_dyn_rx_timestamp_register(&ts_off_, &ts_flag_);

        dataplane::dataplane_spec ds;
        ds.ports.resize(1);
        ds.ports[0].name = "hw";
        ds.contexts = {ctx("light", light_port, proto::test_mode::twamp_light, true),
                       ctx("stamp", stamp_port, proto::test_mode::stamp, true),
                       ctx("stateless", stateless_port, proto::test_mode::stamp, false)};
        for (std::size_t i = 0; i < ds.contexts.size(); ++i) {
            ds.contexts[i].slot = static_cast<uint16_t>(i);
        }
        std::string err;
        view_.snap = dataplane::snapshot::build(ds, 1, n, err);
        EXPECT_NE(view_.snap, nullptr) << err;
        view_ptr_.store(&view_);
        EXPECT_TRUE(sessions_.init(200 + static_cast<unsigned>(n),
                                   view_.snap->session_capacity_per_worker(), err))
                << err;

        // As src/app/box.cpp wires a worker's port.
        args_.index = 0;
        args_.burst = 32;
        dataplane::worker_port wp;
        wp.port_id = port_id_;
        wp.mac = pr_.mac;
        wp.time = pr_.time.get();
        wp.tx_cksum = pr_.tx_cksum_offload;
        if (pr_.tx_timestamps) {
            wp.tx_ts = &pr_.tx_ts;
        }
        args_.ports.push_back(wp);
        args_.exception_ring = exc_;
        args_.view = &view_ptr_;
        args_.clock = &clock_;
        args_.sessions = &sessions_;
        args_.counters = &counters_;
        args_.ts_dynfield_offset = ts_off_;
        args_.ts_dynflag = ts_flag_;
        worker_ = std::make_unique<dataplane::worker>(args_);
    }
    ~hw_port() {
        worker_.reset();
        model_.reset(); // nothing polls the port any more
        dataplane::stop_port(port_id_);
        void* obj;
        for (rte_ring* r : {rx_, tx_, exc_}) {
            while (r && rte_ring_dequeue(r, &obj) == 0) {
                rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
            }
            rte_ring_free(r);
        }
    }

    bool ok() const { return ok_; }
    const std::string& error() const { return error_; }
    dataplane::port_runtime& pr() { return pr_; }
    device_model& model() { return *model_; }
    dataplane::worker& worker() { return *worker_; }
    const dataplane::worker_counters& counters() const { return counters_; }
    rte_ring* rx_ring() const { return rx_; }

    // The slow path's refresh: the system clock recalibrated, then the port's mapping.
    bool refresh(sys_override o = {}) {
        clock_.recalibrate();
        dataplane::clock_map sys = clock_.read();
        sys.synchronized = o.synchronized;
        sys.error_ns = o.error_ns;
        sys.error = proto::make_error_estimate(o.error_ns, o.synchronized, false);
        return dataplane::refresh_port_time(pr_, sys);
    }
    // `n` refreshes `gap_ms` apart (the fit measures the device's rate over real time).
    void settle(unsigned n = 6, unsigned gap_ms = 10, sys_override o = {}) {
        for (unsigned i = 0; i < n; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
            refresh(o);
        }
    }

    bytes request(uint16_t dport, uint32_t seq, const bytes& tlvs = {}, bool v6 = false) const {
        frame_spec s = v6 ? v6_spec() : v4_spec();
        std::copy(std::begin(pr_.mac.addr_bytes), std::end(pr_.mac.addr_bytes), s.dst_mac.begin());
        s.dport = dport;
        s.payload = dport == light_port ? twamp_request(seq, 0, 0x0001, 41)
                                        : stamp_request(seq, 0, 0x0001, 7, tlvs);
        return build(s);
    }

    // One round: `frames` on the RX ring, one poll (one burst: at most 32 frames), the replies.
    std::vector<reply> round(const std::vector<bytes>& frames) {
        for (const auto& f : frames) {
            rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
            EXPECT_NE(m, nullptr);
            std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
            EXPECT_EQ(rte_ring_enqueue(rx_, m), 0);
        }
        while (rte_ring_count(rx_)) {
            worker_->poll_once();
        }
        // The slow path's turn (poll_tx_timestamp: the follow-up TX timestamp latch), then a
        // worker round that takes its result, as the two threads interleave in the box.
        if (pr_.tx_timestamps && dataplane::poll_tx_timestamp(pr_)) {
            worker_->poll_once();
        }
        std::vector<reply> out;
        void* obj;
        while (rte_ring_dequeue(tx_, &obj) == 0) {
            auto* m = static_cast<rte_mbuf*>(obj);
            auto* d = rte_pktmbuf_mtod(m, uint8_t*);
            out.push_back(decode(bytes(d, d + rte_pktmbuf_data_len(m))));
            rte_pktmbuf_free(m);
        }
        return out;
    }

    // The true CLOCK_REALTIME instant of a device reading (units).
    int64_t truth(uint64_t device) const { return model_->realtime_at(device); }

private:
    std::string name_;
    rte_ring *rx_ = nullptr, *tx_ = nullptr, *exc_ = nullptr;
    uint16_t port_id_ = 0;
    std::unique_ptr<device_model> model_;
    dataplane::port_spec spec_;
    dataplane::port_runtime pr_;
    bool ok_ = false;
    std::string error_;
    dataplane::sw_clock clock_;
    int ts_off_ = -1;
    uint64_t ts_flag_ = 0;
    dataplane::view view_;
    std::atomic<const dataplane::view*> view_ptr_{nullptr};
    dataplane::session_table sessions_;
    dataplane::worker_counters counters_;
    dataplane::worker_args args_;
    std::unique_ptr<dataplane::worker> worker_;
};

// The measured figures, printed for the report.
struct figures {
    int64_t max_t2 = 0, max_t3 = 0;
    uint64_t min_err = UINT64_MAX, max_err = 0;
    void t2(int64_t d) { max_t2 = std::max(max_t2, std::abs(d)); }
    void t3(int64_t d) { max_t3 = std::max(max_t3, std::abs(d)); }
    void err(uint64_t e) {
        min_err = std::min(min_err, e);
        max_err = std::max(max_err, e);
    }
    void print(const char* what) const {
        std::printf("[ figures  ] %s: max |T2 - truth| %lld ns, max |T3 - truth| %lld ns, "
                    "stated error %llu..%llu ns\n",
                    what, static_cast<long long>(max_t2), static_cast<long long>(max_t3),
                    static_cast<unsigned long long>(min_err),
                    static_cast<unsigned long long>(max_err));
    }
};

// Strict: the device-clock T3 within the stated error of the true departure, and a clamped
// reply's Error Estimate covering its T2's true error. Off in the tests that run: both fail
// today (see the DISABLED_ tests below and the report of issue 14's item 5); on, the always
// checks stay.
bool g_strict = false;

// A device-clock T3 (read at the start of the transmit stage) against the reply's true
// departure: never after it beyond the stated error, never more than 1 ms before it; strict:
// within the stated error.
void expect_device_t3(const reply& y, int64_t departure, std::size_t i) {
    const int64_t d = y.t3 - departure;
    const auto err = static_cast<int64_t>(y.error_ns);
    EXPECT_LE(d, err + 1) << "T3 after the departure, reply " << i;
    EXPECT_GE(d, -50'000'000) << "reply " << i; // bounded (generous: a loaded machine)
    if (g_strict) {
        EXPECT_LE(std::abs(d), err + 1) << "T3 vs the true departure, reply " << i;
    }
}

// A mix of requests for every reflector (TWAMP Light, stateful and stateless STAMP), over
// IPv4 and IPv6.
std::vector<bytes> mix(const hw_port& hp, uint32_t base, unsigned n) {
    std::vector<bytes> v;
    const uint16_t ports[] = {light_port, stamp_port, stateless_port};
    for (unsigned i = 0; i < n; ++i) {
        v.push_back(hp.request(ports[i % 3], base + i, {}, (i / 3) % 2 == 1));
    }
    return v;
}

// The RX and TX records of a round, in order (one burst: the replies leave in RX order).
struct truth_records {
    std::vector<rx_record> rx;
    std::vector<tx_record> tx;
};
truth_records take(hw_port& hp) {
    return {hp.model().take_rx(), hp.model().take_tx()};
}

// ---- 1: device-clock mode -------------------------------------------------------------------

TEST(hwtime, device_clock_t2_t3_within_the_stated_error) {
    hw_options o;
    o.model.caps.send_on_timestamp = false; // auto resolves to device-clock
    hw_port hp(o);
    ASSERT_TRUE(hp.ok()) << hp.error();
    ASSERT_EQ(hp.pr().method(), dataplane::t3_method::device_clock);
    hp.settle();
    ASSERT_TRUE(hp.pr().clock_settled.load());
    figures fig;
    int64_t min_res = INT64_MAX;
    for (unsigned r = 0; r < 20; ++r) {
        take(hp);
        const auto replies = hp.round(mix(hp, r * 100, 12));
        const truth_records t = take(hp);
        ASSERT_EQ(replies.size(), 12u);
        ASSERT_EQ(t.rx.size(), 12u);
        ASSERT_EQ(t.tx.size(), 12u);
        for (std::size_t i = 0; i < replies.size(); ++i) {
            const reply& y = replies[i];
            ASSERT_EQ(y.sender_seq, r * 100 + i);
            EXPECT_FALSE(t.tx[i].requested); // device-clock: nothing scheduled
            const int64_t t2_truth = hp.truth(t.rx[i].stamp);
            const int64_t t3_truth = hp.truth(t.tx[i].departure);
            const int64_t d2 = y.t2 - t2_truth;
            const int64_t d3 = y.t3 - t3_truth;
            fig.t2(d2);
            fig.t3(d3);
            fig.err(y.error_ns);
            // Never smaller than the measured error (1 ns: the timestamp's own rounding).
            EXPECT_LE(std::abs(d2), static_cast<int64_t>(y.error_ns) + 1) << "reply " << i;
            expect_device_t3(y, t3_truth, i);
            EXPECT_GE(y.t3, y.t2);
            // The residence the device clock measured: never more than the true one beyond
            // the error (T3 is read before the frame leaves); strict: within the error.
            const int64_t res = y.t3 - y.t2;
            min_res = std::min(min_res, res);
            EXPECT_LE(res - (t3_truth - t2_truth), static_cast<int64_t>(y.error_ns) + 2);
            if (g_strict) {
                EXPECT_LE(std::abs(res - (t3_truth - t2_truth)),
                          static_cast<int64_t>(y.error_ns) + 2);
            }
            // S: the (overridden) system clock is synchronized and the fit settled.
            EXPECT_TRUE(y.s);
            EXPECT_TRUE(checksums_ok(y.frame)) << "reply " << i;
        }
        hp.settle(1); // the slow path's cadence, ~10 ms (a faster one widens the fit's error)
    }
    fig.print("device-clock");
    // The offset is +3.7 ms: a T2 from the device clock unmapped would be off by that much.
    EXPECT_LT(fig.max_t2, 100'000);
    EXPECT_LT(fig.max_err, 100'000);
    EXPECT_EQ(hp.counters().t3_clamped.load(), 0u);
    EXPECT_EQ(hp.counters().t3_fallback.load(), 0u);
    EXPECT_GE(min_res, 0);
}

// S: the system clock's sync state AND the fit settled (port.cpp refresh_port_time).
TEST(hwtime, s_bit_follows_kernel_sync_and_settling) {
    hw_options o;
    hw_port hp(o);
    ASSERT_TRUE(hp.ok()) << hp.error();
    // The first refresh: one sample, settling: S = 0 even with a synchronized kernel.
    hp.refresh();
    ASSERT_FALSE(hp.pr().clock_settled.load());
    auto y = hp.round({hp.request(light_port, 1)});
    ASSERT_EQ(y.size(), 1u);
    EXPECT_FALSE(y[0].s);
    hp.settle();
    ASSERT_TRUE(hp.pr().clock_settled.load());
    y = hp.round({hp.request(light_port, 2)});
    ASSERT_EQ(y.size(), 1u);
    EXPECT_TRUE(y[0].s);
    // An unsynchronized kernel: S = 0 however well the fit is settled.
    hp.refresh({false, 1000});
    y = hp.round({hp.request(light_port, 3)});
    ASSERT_EQ(y.size(), 1u);
    EXPECT_FALSE(y[0].s);
    // And this machine's own kernel state, as the slow path would pass it.
    dataplane::sw_clock c;
    c.init(5);
    dataplane::refresh_port_time(hp.pr(), c.read());
    y = hp.round({hp.request(light_port, 4)});
    ASSERT_EQ(y.size(), 1u);
    const dataplane::kernel_sync k = dataplane::read_kernel_sync();
    EXPECT_EQ(y[0].s, k.synchronized);
    // Its error covers the kernel's.
    EXPECT_GE(y[0].error_ns + 1, k.error_ns);
}

// ---- 2: scheduled mode ----------------------------------------------------------------------

TEST(hwtime, scheduled_t3_is_the_departure) {
    hw_options o;
    o.lead_ns = 50'000'000; // far past any RX -> TX delay of this process: every reply scheduled
    hw_port hp(o);
    ASSERT_TRUE(hp.ok()) << hp.error();
    ASSERT_EQ(hp.pr().method(), dataplane::t3_method::scheduled);
    hp.settle();
    figures fig;
    for (unsigned r = 0; r < 10; ++r) {
        take(hp);
        const dataplane::port_time_map pm = hp.pr().time->read();
        const auto replies = hp.round(mix(hp, r * 100, 12));
        const truth_records t = take(hp);
        ASSERT_EQ(replies.size(), 12u);
        ASSERT_EQ(t.tx.size(), 12u);
        for (std::size_t i = 0; i < replies.size(); ++i) {
            const reply& y = replies[i];
            const tx_record& x = t.tx[i];
            ASSERT_TRUE(x.requested) << "reply " << i;
            EXPECT_TRUE(x.scheduled) << "reply " << i;
            // departure = RX stamp + lead in device units (the lead mapped at 25 ppm: the
            // mapping's rate, within 100 ppm of the lead plus a unit of rounding).
            EXPECT_EQ(x.departure, x.request);
            const int64_t lead = static_cast<int64_t>(x.request - t.rx[i].stamp);
            EXPECT_LE(std::abs(lead - int64_t{o.lead_ns}), o.lead_ns / 10'000 + 1);
            // T3 is that departure mapped: exactly the mapping's value, and within the stated
            // error of the true instant.
            const int64_t d3 = y.t3 - hp.truth(x.departure);
            const int64_t d2 = y.t2 - hp.truth(t.rx[i].stamp);
            fig.t2(d2);
            fig.t3(d3);
            fig.err(y.error_ns);
            EXPECT_LE(std::abs(d3), static_cast<int64_t>(y.error_ns) + 1);
            EXPECT_LE(std::abs(d2), static_cast<int64_t>(y.error_ns) + 1);
            EXPECT_LE(std::abs(y.t3 - static_cast<int64_t>(pm.to_ns(x.departure))), 1);
            EXPECT_GE(y.t3, y.t2);
            // The granularity is in the stated error.
            EXPECT_GE(y.error_ns, 500u);
            EXPECT_TRUE(checksums_ok(y.frame));
        }
        hp.settle(1);
    }
    fig.print("scheduled");
    EXPECT_EQ(hp.counters().t3_fallback.load(), 0u);
    EXPECT_EQ(hp.counters().t3_clamped.load(), 0u);
}

// The device sends at its next 500 ns slot (mlx5's clock queue): T3, the requested time,
// lies within the stated error (the granularity is in it) of the true departure.
TEST(hwtime, scheduled_granularity_is_in_the_error) {
    hw_options o;
    o.lead_ns = 50'000'000;
    o.model.quantize_schedule = true;
    hw_port hp(o);
    ASSERT_TRUE(hp.ok()) << hp.error();
    hp.settle();
    const dataplane::port_time_map pm = hp.pr().time->read();
    take(hp);
    const auto replies = hp.round(mix(hp, 0, 12));
    const truth_records t = take(hp);
    ASSERT_EQ(replies.size(), 12u);
    ASSERT_EQ(t.tx.size(), 12u);
    figures fig;
    uint64_t max_wait = 0;
    for (std::size_t i = 0; i < replies.size(); ++i) {
        const reply& y = replies[i];
        const tx_record& x = t.tx[i];
        ASSERT_TRUE(x.requested);
        EXPECT_TRUE(x.scheduled);
        EXPECT_EQ(x.departure % 500, 0u);
        EXPECT_GE(x.departure, x.request);
        EXPECT_LT(x.departure - x.request, 500u);
        max_wait = std::max(max_wait, x.departure - x.request);
        EXPECT_LE(std::abs(y.t3 - static_cast<int64_t>(pm.to_ns(x.request))), 1);
        const int64_t d3 = y.t3 - hp.truth(x.departure);
        fig.t3(d3);
        fig.err(y.error_ns);
        EXPECT_LE(std::abs(d3), static_cast<int64_t>(y.error_ns) + 1) << "reply " << i;
    }
    fig.print("scheduled, 500 ns slots");
    std::printf("[ figures  ] largest wait for a slot %llu ns\n",
                static_cast<unsigned long long>(max_wait));
}

// A device that honours the time of a burst's first frame only (cnxk): the worker schedules
// that one; the others, never given a time (not counted as fallen back), leave behind it.
TEST(hwtime, schedule_first_only_schedules_one_frame_a_burst) {
    hw_options o;
    o.lead_ns = 50'000'000;
    o.model.caps.schedule_first_only = true;
    hw_port hp(o);
    ASSERT_TRUE(hp.ok()) << hp.error();
    ASSERT_EQ(hp.pr().method(), dataplane::t3_method::scheduled);
    hp.settle();
    take(hp);
    const auto replies = hp.round(mix(hp, 0, 6));
    const truth_records t = take(hp);
    ASSERT_EQ(replies.size(), 6u);
    ASSERT_EQ(t.tx.size(), 6u);
    EXPECT_TRUE(t.tx[0].requested);
    EXPECT_TRUE(t.tx[0].scheduled);
    EXPECT_LE(std::abs(replies[0].t3 - hp.truth(t.tx[0].departure)),
              static_cast<int64_t>(replies[0].error_ns) + 1);
    // The others leave behind it, at its time: their T3 is not the device clock at transmit
    // (20 ms early) but the first frame's departure.
    for (std::size_t i = 1; i < replies.size(); ++i) {
        EXPECT_FALSE(t.tx[i].requested) << "reply " << i;
        EXPECT_EQ(t.tx[i].departure, t.tx[0].departure);
        EXPECT_GE(replies[i].t3, replies[i].t2);
        EXPECT_LE(std::abs(replies[i].t3 - hp.truth(t.tx[i].departure)),
                  static_cast<int64_t>(replies[i].error_ns) + 1)
                << "reply " << i;
    }
    EXPECT_EQ(hp.model().counters().tx_sched_ignored, 0u);
    EXPECT_EQ(hp.counters().t3_fallback.load(), 0u);
}

// An RX callback added after the model's: holds the burst `*arg` ns after the device stamped
// it, so a scheduled time a short lead after T2 has passed when the reply is queued.
uint16_t hold_rx(uint16_t, uint16_t, rte_mbuf*[], uint16_t n, uint16_t, void* arg) {
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::nanoseconds(*static_cast<const uint64_t*>(arg));
    while (std::chrono::steady_clock::now() < until) {
    }
    return n;
}

TEST(hwtime, scheduled_time_already_past_is_device_clock_and_counted) {
    hw_options o;
    o.lead_ns = 100;
    hw_port hp(o);
    ASSERT_TRUE(hp.ok()) << hp.error();
    ASSERT_EQ(hp.pr().method(), dataplane::t3_method::scheduled);
    hp.settle();
    static uint64_t hold_ns = 300'000;
    const rte_eth_rxtx_callback* cb =
            rte_eth_add_rx_callback(hp.pr().port_id, 0, hold_rx, &hold_ns);
    ASSERT_NE(cb, nullptr);
    take(hp);
    const auto replies = hp.round(mix(hp, 0, 12));
    const truth_records t = take(hp);
    ASSERT_EQ(rte_eth_remove_rx_callback(hp.pr().port_id, 0, cb), 0);
    ASSERT_EQ(replies.size(), 12u);
    ASSERT_EQ(t.tx.size(), 12u);
    EXPECT_EQ(hp.counters().t3_fallback.load(), 12u);
    figures fig;
    for (std::size_t i = 0; i < replies.size(); ++i) {
        const reply& y = replies[i];
        const tx_record& x = t.tx[i];
        EXPECT_FALSE(x.requested) << "a stale time given to the device, reply " << i;
        // Never the stale T2 + lead: the device clock at transmit, within the stated error of
        // the true departure, which is at least the hold after the RX stamp.
        const int64_t d3 = y.t3 - hp.truth(x.departure);
        fig.t2(y.t2 - hp.truth(t.rx[i].stamp));
        fig.t3(d3);
        fig.err(y.error_ns);
        expect_device_t3(y, hp.truth(x.departure), i);
        EXPECT_GE(y.t3 - y.t2, static_cast<int64_t>(hold_ns - y.error_ns));
        EXPECT_TRUE(checksums_ok(y.frame));
    }
    fig.print("scheduled, fallen back");
    // The next round without the hold: scheduled again.
    hp.refresh();
    const auto again = hp.round(mix(hp, 100, 3));
    ASSERT_EQ(again.size(), 3u);
    (void)again;
}

// Timestamp Information's Timestamp Out of a STAMP reply whose scheduled time had passed: the
// T3 it carries came from the device clock read at transmit, not from the device's schedule
// (rewrite wrote HW assist; transmit corrects it, checksum included).
TEST(hwtime, fallen_back_reply_says_its_t3_method) {
    hw_options o;
    o.lead_ns = 100;
    hw_port hp(o);
    ASSERT_TRUE(hp.ok()) << hp.error();
    hp.settle();
    static uint64_t hold_ns = 300'000;
    const rte_eth_rxtx_callback* cb =
            rte_eth_add_rx_callback(hp.pr().port_id, 0, hold_rx, &hold_ns);
    ASSERT_NE(cb, nullptr);
    const bytes tlvs = tlv(0, 3, bytes(4, 0));
    const auto replies = hp.round({hp.request(stamp_port, 1, tlvs)});
    ASSERT_EQ(rte_eth_remove_rx_callback(hp.pr().port_id, 0, cb), 0);
    ASSERT_EQ(replies.size(), 1u);
    ASSERT_NE(replies[0].ts_info, 0u);
    EXPECT_EQ(hp.counters().t3_fallback.load(), 1u);
    EXPECT_EQ(replies[0].frame[replies[0].ts_info + 1], proto::ts_method::hw_assist); // T2
    EXPECT_EQ(replies[0].frame[replies[0].ts_info + 3], proto::ts_method::sw_local);  // T3
    EXPECT_TRUE(checksums_ok(replies[0].frame));
}

// ---- 3: a step of the device clock ----------------------------------------------------------

void step_case(hw_port& hp, int64_t step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const uint64_t clamped0 = hp.counters().t3_clamped.load();
    const uint64_t steps0 = hp.pr().clock_steps.load();
    hp.model().step(step);
    // Before the next refresh: the mapping does not know yet.
    take(hp);
    auto replies = hp.round(mix(hp, 1000, 12));
    truth_records t = take(hp);
    ASSERT_EQ(replies.size(), 12u);
    figures before;
    for (std::size_t i = 0; i < replies.size(); ++i) {
        const reply& y = replies[i];
        EXPECT_GE(y.t3, y.t2) << "reply " << i;
        const int64_t d2 = y.t2 - hp.truth(t.rx[i].stamp);
        before.t2(d2);
        before.t3(y.t3 - hp.truth(t.tx[i].departure));
        before.err(y.error_ns);
        const int64_t residence = hp.truth(t.tx[i].departure) - hp.truth(t.rx[i].stamp);
        if (step > 0 && residence < step / 2) {
            // T2 runs ahead of the T3 read through the old mapping by more than the residence.
            EXPECT_EQ(y.t3, y.t2) << "not clamped, reply " << i;
        }
        if (y.t3 == y.t2) {
            // Clamped: the Error Estimate widened by T2 - T3, which covers T2's true error less
            // the residence; strict: T2's whole error.
            EXPECT_GE(y.error_ns + 1, static_cast<uint64_t>(std::abs(d2) - residence)) << i;
            if (g_strict) {
                EXPECT_GE(y.error_ns + 1, static_cast<uint64_t>(std::abs(d2))) << "reply " << i;
            }
            EXPECT_FALSE(y.s);
        }
    }
    const uint64_t clamped = hp.counters().t3_clamped.load() - clamped0;
    std::printf("[ figures  ] step %+lld ns, before the refresh: %llu of 12 clamped, "
                "max |T2 - truth| %lld ns, stated %llu..%llu ns\n",
                static_cast<long long>(step), static_cast<unsigned long long>(clamped),
                static_cast<long long>(before.max_t2),
                static_cast<unsigned long long>(before.min_err),
                static_cast<unsigned long long>(before.max_err));
    if (step < 0) {
        EXPECT_EQ(clamped, 0u); // T2 falls behind: T3 - T2 only grows
    } else {
        EXPECT_GE(clamped, 1u);
    }
    // The refresh sees the step.
    EXPECT_TRUE(hp.refresh());
    EXPECT_EQ(hp.pr().clock_steps.load(), steps0 + 1);
    const uint64_t settle = dataplane::clock_fit_params{}.settle;
    unsigned refreshes = 1;
    while (!hp.pr().clock_settled.load()) {
        ASSERT_LE(refreshes, settle + 1) << "the mapping did not recover";
        take(hp);
        replies = hp.round(mix(hp, 2000 + refreshes * 100, 6));
        t = take(hp);
        ASSERT_EQ(replies.size(), 6u);
        for (std::size_t i = 0; i < replies.size(); ++i) {
            const reply& y = replies[i];
            // Settling: the step is in the Error Estimate, S = 0, and the values are right.
            EXPECT_GE(y.error_ns + 1, static_cast<uint64_t>(std::abs(step)));
            EXPECT_FALSE(y.s);
            EXPECT_GE(y.t3, y.t2);
            EXPECT_LE(std::abs(y.t2 - hp.truth(t.rx[i].stamp)), static_cast<int64_t>(y.error_ns));
            expect_device_t3(y, hp.truth(t.tx[i].departure), i);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        EXPECT_FALSE(hp.refresh());
        ++refreshes;
    }
    std::printf("[ figures  ] step %+lld ns: settled after %u refreshes\n",
                static_cast<long long>(step), refreshes);
    // Recovered: accurate, S back, the error small again.
    take(hp);
    replies = hp.round(mix(hp, 3000, 6));
    t = take(hp);
    ASSERT_EQ(replies.size(), 6u);
    for (std::size_t i = 0; i < replies.size(); ++i) {
        const reply& y = replies[i];
        EXPECT_TRUE(y.s);
        EXPECT_LT(y.error_ns, static_cast<uint64_t>(std::abs(step)));
        EXPECT_GE(y.t3, y.t2);
        EXPECT_LE(std::abs(y.t2 - hp.truth(t.rx[i].stamp)), static_cast<int64_t>(y.error_ns) + 1);
        expect_device_t3(y, hp.truth(t.tx[i].departure), i);
    }
}

TEST(hwtime, clock_step_is_clamped_or_stated_then_recovers) {
    hw_options o;
    o.model.caps.send_on_timestamp = false;
    hw_port hp(o);
    ASSERT_TRUE(hp.ok()) << hp.error();
    hp.settle();
    step_case(hp, 1'000'000);
    step_case(hp, -1'000'000);
}

// The strict checks (g_strict). They failed before the transmit path's allowance: the
// device-clock T3 is read once per burst at the start of transmit(), before the replies are
// finished and handed to the device, whose true departure was 2-12 us later here while the
// Error Estimate (~1.8 us) did not cover it; now the worker measures that path (a decaying
// maximum) and adds it. And a clamped reply (a forward step) widened its error by T2 - T3, the
// step less the residence, short of T2's true error (the step); now by the step.
TEST(hwtime, strict_device_clock_t3_and_clamp_error) {
    g_strict = true;
    hw_options o;
    o.model.caps.send_on_timestamp = false;
    hw_port hp(o);
    ASSERT_TRUE(hp.ok()) << hp.error();
    hp.settle();
    take(hp);
    const auto replies = hp.round(mix(hp, 0, 12));
    const truth_records t = take(hp);
    ASSERT_EQ(replies.size(), 12u);
    for (std::size_t i = 0; i < replies.size(); ++i) {
        expect_device_t3(replies[i], hp.truth(t.tx[i].departure), i);
    }
    step_case(hp, 1'000'000);
    g_strict = false;
}

// ---- 6: TX checksum offload (issue 14 item 6) --------------------------------------------------

// A device that offers TX UDP checksum offload computes the replies' UDP checksums (the model
// as a NIC: from the pseudo-header sum the reply leaves in the field, with the mbuf's l2/l3
// lengths and flags); one that does not gets them from the reflector. Either way every reply
// on the wire verifies, and the device did exactly the replies' sums when it offered to.
TEST(hwtime, tx_udp_checksum_offload_through_the_device) {
    for (bool offload : {true, false}) {
        hw_options o;
        o.model.caps.tx_udp_cksum = offload;
        hw_port hp(o);
        ASSERT_TRUE(hp.ok()) << hp.error();
        EXPECT_EQ(hp.pr().tx_cksum_offload, offload);
        hp.settle();
        take(hp);
        const uint64_t before = hp.model().counters().tx_udp_cksum;
        const auto replies = hp.round(mix(hp, 0, 12));
        ASSERT_EQ(replies.size(), 12u);
        for (const reply& y : replies) {
            EXPECT_TRUE(checksums_ok(y.frame)) << "offload " << offload;
        }
        EXPECT_EQ(hp.model().counters().tx_udp_cksum - before, offload ? 12u : 0u);
        EXPECT_EQ(hp.model().counters().tx_cksum_ignored, 0u);
        // A request with IPv4 options (the general path: the reply has none): the device must
        // be told the reply's header length, not the request's, or it sums from 4 octets too
        // late and writes the checksum into the payload.
        frame_spec sp = v4_spec();
        std::copy(std::begin(hp.pr().mac.addr_bytes), std::end(hp.pr().mac.addr_bytes),
                  sp.dst_mac.begin());
        sp.dport = light_port;
        sp.payload = twamp_request(77, 0, 0x0001, 41);
        sp.ip_options = {1, 1, 1, 0}; // NOP, NOP, NOP, End of Option List
        const auto opt = hp.round({build(sp)});
        ASSERT_EQ(opt.size(), 1u);
        EXPECT_EQ(opt[0].frame[14], 0x45) << "options not returned";
        EXPECT_TRUE(checksums_ok(opt[0].frame)) << "offload " << offload;
        EXPECT_EQ(opt[0].frame.size(), 14u + 20 + 8 + 41);
    }
}

// ---- 4: the software method and how the method is chosen ------------------------------------

TEST(hwtime, software_method_ignores_device_stamps) {
    hw_options o;
    o.t3 = dataplane::t3_request::software;
    hw_port hp(o);
    ASSERT_TRUE(hp.ok()) << hp.error();
    EXPECT_EQ(hp.pr().method(), dataplane::t3_method::software);
    EXPECT_EQ(hp.pr().time, nullptr);
    EXPECT_FALSE(hp.refresh());
    take(hp);
    const auto replies = hp.round(
            {hp.request(light_port, 1), hp.request(stamp_port, 2, tlv(0, 3, bytes(4, 0)))});
    const truth_records t = take(hp);
    ASSERT_EQ(replies.size(), 2u);
    for (std::size_t i = 0; i < replies.size(); ++i) {
        const reply& y = replies[i];
        // The software clock: CLOCK_REALTIME, not the device's +3.7 ms.
        EXPECT_LT(std::abs(y.t2 - hp.truth(t.rx[i].stamp)), 1'000'000);
        EXPECT_GT(std::abs(y.t2 - static_cast<int64_t>(t.rx[i].stamp)), 3'000'000);
        EXPECT_GE(y.t3, y.t2);
        EXPECT_FALSE(t.tx[i].requested);
        EXPECT_TRUE(checksums_ok(y.frame));
    }
    ASSERT_NE(replies[1].ts_info, 0u);
    EXPECT_EQ(replies[1].frame[replies[1].ts_info + 1], proto::ts_method::sw_local);
    EXPECT_EQ(replies[1].frame[replies[1].ts_info + 3], proto::ts_method::sw_local);
}

TEST(hwtime, auto_resolves_against_the_device) {
    {
        hw_port hp(hw_options{});
        ASSERT_TRUE(hp.ok()) << hp.error();
        EXPECT_EQ(hp.pr().method(), dataplane::t3_method::scheduled);
    }
    {
        hw_options o;
        o.model.caps.send_on_timestamp = false;
        hw_port hp(o);
        ASSERT_TRUE(hp.ok()) << hp.error();
        EXPECT_EQ(hp.pr().method(), dataplane::t3_method::device_clock);
    }
    {
        hw_options o;
        o.model.caps.rx_timestamp = false;
        hw_port hp(o);
        ASSERT_TRUE(hp.ok()) << hp.error();
        EXPECT_EQ(hp.pr().method(), dataplane::t3_method::software);
    }
    {
        hw_options o;
        o.model.caps.send_on_timestamp = false;
        o.t3 = dataplane::t3_request::scheduled;
        hw_port hp(o);
        ASSERT_FALSE(hp.ok());
        EXPECT_NE(hp.error().find("t3 = \"scheduled\""), std::string::npos) << hp.error();
        EXPECT_NE(hp.error().find("does not offer send-on-timestamp"), std::string::npos)
                << hp.error();
    }
}

// ---- 5: Follow-Up Telemetry from the device's TX timestamps ----------------------------------

// An IEEE 1588 device like ice: RX timestamps, its clock read by rte_eth_timesync_read_time
// only, TX timestamps latched one at a time; no send on timestamp.
hw_options ice_like() {
    hw_options o;
    device_model_config& c = o.model;
    c.caps = {};
    c.caps.rx_timestamp = true;
    c.caps.clock_readable = true;
    c.caps.timesync = true;
    c.caps.tx_timestamp = true;
    c.read_clock = false;
    return o;
}

bytes fu_tlvs() {
    bytes b = tlv(0, 7, bytes(16, 0));
    const bytes ti = tlv(0, 3, bytes(4, 0));
    b.insert(b.end(), ti.begin(), ti.end());
    return b;
}

// A latch that never fills (the device did not stamp the frame): the slow path gives it up
// after 10 ms, the worker counts it missed, the session's follow-up stays the T3 as sent (SW
// local), and the port's one-in-flight mailbox is free again for the next reply.
TEST(hwtime, follow_up_latch_that_never_fills_is_given_up) {
    hw_port hp(ice_like());
    ASSERT_TRUE(hp.ok()) << hp.error();
    ASSERT_TRUE(hp.pr().tx_timestamps);
    hp.settle();
    dataplane::device_caps no_latch = hp.model().caps();
    no_latch.tx_timestamp = false; // the model stops latching (ops.caps was read at set-up)
    hp.model().set_caps(no_latch);
    take(hp);
    const auto first = hp.round({hp.request(stamp_port, 1, fu_tlvs())});
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(hp.counters().tx_ts_requested.load(), 1u);
    // The slow path polls until it gives up (an event: it returns true), bounded.
    bool moved = false;
    for (int i = 0; i < 2000 && !moved; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        moved = dataplane::poll_tx_timestamp(hp.pr());
    }
    ASSERT_TRUE(moved) << "the slow path never gave the latch up";
    hp.worker().poll_once();
    EXPECT_EQ(hp.counters().tx_ts_missed.load(), 1u);
    EXPECT_EQ(hp.counters().tx_ts_read.load(), 0u);
    EXPECT_EQ(hp.pr().tx_ts.state.load(), dataplane::tx_ts_mailbox::idle);
    const auto next = hp.round({hp.request(stamp_port, 2, fu_tlvs())});
    ASSERT_EQ(next.size(), 1u);
    const uint8_t* fu = next[0].frame.data() + next[0].follow_up;
    EXPECT_EQ(rd32(fu), first[0].seq);
    EXPECT_EQ(ts_ns(rd64(fu + 4), next[0].err & 0x4000, 37), first[0].t3);
    EXPECT_EQ(fu[12], proto::ts_method::sw_local);
    EXPECT_EQ(hp.counters().tx_ts_requested.load(), 2u) << "the mailbox was free again";
    take(hp);
}

TEST(hwtime, follow_up_carries_the_latched_tx_timestamp) {
    hw_port hp(ice_like());
    ASSERT_TRUE(hp.ok()) << hp.error();
    ASSERT_EQ(hp.pr().method(), dataplane::t3_method::device_clock);
    ASSERT_TRUE(hp.pr().tx_timestamps);
    hp.settle();
    // Reply n+1 carries reply n's sequence number and latched departure.
    std::vector<reply> got;
    std::vector<tx_record> sent;
    for (uint32_t n = 0; n < 8; ++n) {
        take(hp);
        auto r = hp.round({hp.request(stamp_port, n, fu_tlvs())});
        auto t = take(hp);
        ASSERT_EQ(r.size(), 1u);
        ASSERT_EQ(t.tx.size(), 1u);
        got.push_back(r[0]);
        sent.push_back(t.tx[0]);
        hp.settle(1);
    }
    figures fig;
    for (std::size_t n = 0; n < got.size(); ++n) {
        const reply& y = got[n];
        ASSERT_NE(y.follow_up, 0u);
        ASSERT_NE(y.ts_info, 0u);
        const uint8_t* fu = y.frame.data() + y.follow_up;
        EXPECT_TRUE(sent[n].latched) << n;
        EXPECT_EQ(y.frame[y.ts_info + 1], proto::ts_method::hw_assist);
        EXPECT_EQ(y.frame[y.ts_info + 3], proto::ts_method::sw_local); // device-clock T3
        // Sync Src In/Out: the system clock every timestamp is mapped through.
        const uint8_t src = dataplane::read_kernel_sync().synchronized
                                    ? proto::sync_source::ntp
                                    : proto::sync_source::local_free_running;
        EXPECT_EQ(y.frame[y.ts_info], src);
        EXPECT_EQ(y.frame[y.ts_info + 2], src);
        EXPECT_EQ(y.seq, n);
        if (n == 0) {
            EXPECT_EQ(rd32(fu), 0u);
            EXPECT_EQ(rd64(fu + 4), 0u); // nothing sent before
            continue;
        }
        EXPECT_EQ(rd32(fu), got[n - 1].seq);
        EXPECT_EQ(fu[12], proto::ts_method::hw_assist);
        const int64_t fu_ns = ts_ns(rd64(fu + 4), y.err & 0x4000, 37);
        const int64_t d = fu_ns - hp.truth(sent[n - 1].departure);
        fig.t3(d);
        fig.err(got[n - 1].error_ns);
        EXPECT_LE(std::abs(d), static_cast<int64_t>(got[n - 1].error_ns) + 1) << n;
        EXPECT_TRUE(checksums_ok(y.frame));
    }
    fig.print("follow-up (latched TX time vs truth)");
    EXPECT_EQ(hp.counters().tx_ts_requested.load(), 8u);
    EXPECT_EQ(hp.counters().tx_ts_read.load(), 8u);
    EXPECT_EQ(hp.counters().tx_ts_missed.load(), 0u);
    EXPECT_EQ(hp.model().counters().tx_latched, 8u);

    // Two replies in one burst: one latch per port, so the second is not flagged; its
    // follow-up on the next reply is its T3 as sent, mode SW local.
    take(hp);
    auto r = hp.round(
            {hp.request(stamp_port, 100, fu_tlvs()), hp.request(stamp_port, 101, fu_tlvs())});
    auto t = take(hp);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_TRUE(t.tx[0].latched);
    EXPECT_FALSE(t.tx[1].latched);
    auto next = hp.round({hp.request(stamp_port, 102, fu_tlvs())});
    ASSERT_EQ(next.size(), 1u);
    const uint8_t* fu = next[0].frame.data() + next[0].follow_up;
    EXPECT_EQ(rd32(fu), r[1].seq);
    EXPECT_EQ(ts_ns(rd64(fu + 4), next[0].err & 0x4000, 37), r[1].t3);
    EXPECT_EQ(fu[12], proto::ts_method::sw_local);
    EXPECT_EQ(hp.counters().tx_ts_requested.load(), hp.counters().tx_ts_read.load());

    // A stateless reflector zeroes the sequence number and the timestamp (RFC 8972 §4.7).
    auto sl = hp.round(
            {hp.request(stateless_port, 5, fu_tlvs()), hp.request(stateless_port, 6, fu_tlvs())});
    ASSERT_EQ(sl.size(), 2u);
    for (const reply& y : sl) {
        ASSERT_NE(y.follow_up, 0u);
        EXPECT_EQ(rd32(y.frame.data() + y.follow_up), 0u);
        EXPECT_EQ(rd64(y.frame.data() + y.follow_up + 4), 0u);
        EXPECT_TRUE(checksums_ok(y.frame));
    }
}

// Scheduled T3: Timestamp Information says hardware-assisted for both (full device).
TEST(hwtime, timestamp_information_scheduled) {
    hw_options o;
    o.lead_ns = 50'000'000;
    hw_port hp(o);
    ASSERT_TRUE(hp.ok()) << hp.error();
    hp.settle();
    const auto r = hp.round({hp.request(stamp_port, 1, fu_tlvs())});
    ASSERT_EQ(r.size(), 1u);
    ASSERT_NE(r[0].ts_info, 0u);
    EXPECT_EQ(r[0].frame[r[0].ts_info + 1], proto::ts_method::hw_assist);
    EXPECT_EQ(r[0].frame[r[0].ts_info + 3], proto::ts_method::hw_assist);
    EXPECT_TRUE(checksums_ok(r[0].frame));
}

} // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new eal_env);
    return RUN_ALL_TESTS();
}
