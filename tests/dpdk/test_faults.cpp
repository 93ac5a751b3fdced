// Tier 2 faults (issue 18 item 4): the worker in-process, driven a round at a time through
// worker::poll_once(), while what it depends on fails: the mbuf pool empty (the worker keeps
// reflecting what it holds; a NIC that cannot refill its RX ring loses frames it counts as
// rx_nombuf), the TX ring full (tx_full, exact, every refused reply freed, sessions go on), the
// exception ring full (exception_ring_full, exact). After each: every mbuf back in its pool
// (the pool's available count returns to where it started) and the worker reflecting again.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <gtest/gtest.h>

#include "../unit/proto/test_util.hpp"
#include "ring_harness.hpp"

#include "twamp/dataplane/clock.hpp"
#include "twamp/dataplane/counters.hpp"
#include "twamp/dataplane/port.hpp"
#include "twamp/dataplane/sessions.hpp"
#include "twamp/dataplane/snapshot.hpp"
#include "twamp/dataplane/view.hpp"
#include "twamp/dataplane/worker.hpp"
#include "twamp/proto/drop_reason.hpp"
#include "twamp/slowpath/exception.hpp"

using namespace twamp;
using namespace twamp::test;
using proto::drop_reason;

namespace {

class eal_env : public ::testing::Environment {
public:
    void SetUp() override {
        ASSERT_GE(ring_harness::eal_init("dpdk_fault_tests", "dpf"), 0) << "EAL init failed";
    }
};

// A pool of the test's own, without per-lcore caches: its available count is exact at any
// moment (nothing hides in a cache), and "every mbuf taken" means every one.
struct pool {
    explicit pool(unsigned n) {
        static int k = 0;
        p = rte_pktmbuf_pool_create(("fp" + std::to_string(k++)).c_str(), n, 0, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, 0);
        EXPECT_NE(p, nullptr);
    }
    ~pool() { rte_mempool_free(p); }
    unsigned avail() const { return rte_mempool_avail_count(p); }
    // Takes every mbuf left (the fault); give() puts them back.
    void exhaust() {
        while (rte_mbuf* m = rte_pktmbuf_alloc(p)) {
            held.push_back(m);
        }
    }
    void give() {
        for (rte_mbuf* m : held) {
            rte_pktmbuf_free(m);
        }
        held.clear();
    }
    rte_mempool* p = nullptr;
    std::vector<rte_mbuf*> held;
};

dataplane::ip_prefix pfx(std::array<uint8_t, 16> a, uint8_t len) {
    return {net::address::from_octets(net::ip_family::ipv4, a.data()), len};
}

dataplane::dataplane_spec light_spec(bool stateful = true) {
    dataplane::context_spec c;
    c.name = "light";
    c.addresses = {pfx({198, 18, 0, 2}, 32)};
    c.udp_ports = {862};
    c.prefixes = {pfx({198, 18, 0, 0}, 24)};
    c.stateful = stateful;
    c.slot = 0;
    dataplane::dataplane_spec s;
    s.ports.resize(1);
    s.ports[0].name = "ring";
    s.contexts = {c};
    return s;
}

using ring_harness::collected;

// One port for one worker: net_ring (RX, TX and the exception ring are rings the test reads
// and writes), or net_pcap reading its frames from a capture file (a device that allocates
// an mbuf for every frame it receives, as a NIC refilling its RX ring does).
class fault_port {
public:
    struct options {
        unsigned tx_ring = 4096;  // a power of two; holds one less
        unsigned exc_ring = 4096; // likewise
        std::string rx_pcap;      // non-empty: a net_pcap port reading this file
    };

    fault_port(rte_mempool* mp, options o) : mp_(mp) {
        static int n = 0;
        const std::string id = "f" + std::to_string(n++);
        tx_ = ring_harness::make_ring("tx" + id, o.tx_ring);
        exc_ = ring_harness::make_ring("ex" + id, o.exc_ring);
        EXPECT_TRUE(tx_ && exc_);
        if (o.rx_pcap.empty()) {
            rx_ = ring_harness::make_ring("rx" + id, 4096);
            EXPECT_NE(rx_, nullptr);
            int p = rte_eth_from_rings(("ring" + id).c_str(), &rx_, 1, &tx_, 1, 0);
            EXPECT_GE(p, 0);
            port_ = static_cast<uint16_t>(p);
        } else {
            tx_file_ = o.rx_pcap + ".tx";
            vdev_ = "net_pcap_" + id;
            const std::string args = "rx_pcap=" + o.rx_pcap + ",tx_pcap=" + tx_file_;
            EXPECT_EQ(rte_vdev_init(vdev_.c_str(), args.c_str()), 0);
            EXPECT_EQ(rte_eth_dev_get_port_by_name(vdev_.c_str(), &port_), 0);
        }
        EXPECT_EQ(ring_harness::start_port(port_, mp_, 512, mac_), "");
        if (!o.rx_pcap.empty()) {
            const frame_spec d;
            std::copy(d.dst_mac.begin(), d.dst_mac.end(), std::begin(mac_.addr_bytes));
        }
        clock_.init(5);
        EXPECT_EQ(ring_harness::make_view(spec_, 1, 1, view_, view_ptr_, sessions_,
                                          200 + static_cast<unsigned>(n)),
                  "");
        args_ = ring_harness::port_args(port_, mac_, exc_, view_ptr_, clock_, &sessions_,
                                        counters_);
        w_ = std::make_unique<dataplane::worker>(args_);
    }
    ~fault_port() {
        w_.reset();
        rte_eth_dev_stop(port_);
        rte_eth_dev_close(port_);
        if (!vdev_.empty()) {
            rte_vdev_uninit(vdev_.c_str());
            std::remove(tx_file_.c_str());
        }
        rte_ring_free(rx_);
        rte_ring_free(tx_);
        rte_ring_free(exc_);
    }

    std::array<uint8_t, 6> mac() const { return ring_harness::mac_bytes(mac_); }
    uint16_t port_id() const { return port_; }
    dataplane::worker& worker() { return *w_; }

    // Frames onto the RX ring (net_ring), in mbufs from `from` (default: the port's pool).
    void feed(const std::vector<bytes>& frames, rte_mempool* from = nullptr) {
        for (const auto& f : frames) {
            rte_mbuf* m = ring_harness::mbuf_of(from ? from : mp_, f);
            ASSERT_NE(m, nullptr);
            ASSERT_EQ(rte_ring_enqueue(rx_, m), 0);
        }
    }
    // Rounds until the RX ring is empty; returns the frames received.
    unsigned drain() { return ring_harness::drain(rx_, *w_); }
    collected collect() { return ring_harness::collect(tx_, exc_); }
    unsigned tx_queued() const { return rte_ring_count(tx_); }
    unsigned exc_queued() const { return rte_ring_count(exc_); }

    uint64_t drops(drop_reason r) const {
        return counters_.drops[static_cast<std::size_t>(r)].load();
    }
    uint64_t all_drops() const {
        uint64_t d = 0;
        for (std::size_t k = 1; k < proto::drop_reason_count; ++k) {
            d += counters_.drops[k].load();
        }
        return d;
    }
    const dataplane::worker_counters& counters() const { return counters_; }

private:
    rte_mempool* mp_;
    dataplane::dataplane_spec spec_ = light_spec();
    rte_ring *rx_ = nullptr, *tx_ = nullptr, *exc_ = nullptr;
    std::string vdev_, tx_file_;
    uint16_t port_ = 0;
    rte_ether_addr mac_{};
    dataplane::sw_clock clock_;
    dataplane::view view_;
    std::atomic<const dataplane::view*> view_ptr_{nullptr};
    dataplane::session_table sessions_;
    dataplane::worker_counters counters_;
    dataplane::worker_args args_;
    std::unique_ptr<dataplane::worker> w_;
};

bytes request(const std::array<uint8_t, 6>& mac, uint32_t seq, uint16_t sport = 50000) {
    frame_spec s = v4_spec();
    s.dst_mac = mac;
    s.sport = sport;
    s.payload = twamp_request(seq, 0, 0x0001, 41);
    return build(s);
}
bytes icmp(const std::array<uint8_t, 6>& mac) {
    frame_spec s = v4_spec();
    s.dst_mac = mac;
    s.l4_proto = 1;
    s.payload = bytes(16, 0);
    return build(s);
}
bytes bad_checksum(const std::array<uint8_t, 6>& mac, uint32_t seq) {
    frame_spec s = v4_spec();
    s.dst_mac = mac;
    s.payload = twamp_request(seq, 0, 0x0001, 41);
    s.csum = udp_csum::bad;
    return build(s);
}

// The worker never allocates: with its pool empty it still answers every request it holds
// (the reply is the request's own mbuf), hands frames to the kernel and frees what it drops;
// an idle round with an empty pool is harmless. Once the pool is back, reflection goes on in
// the same sessions, and every mbuf returns to the pool.
TEST(faults, mbuf_pool_empty_worker_reflects_what_it_holds) {
    pool mp(1024);
    const unsigned start = mp.avail();
    ASSERT_EQ(start, 1024u);
    fault_port fp(mp.p, {});
    std::vector<bytes> in;
    for (uint32_t i = 0; i < 30; ++i) {
        in.push_back(request(fp.mac(), i, static_cast<uint16_t>(40000 + i % 3)));
        if (i % 6 == 0) {
            in.push_back(icmp(fp.mac()));
            in.push_back(bad_checksum(fp.mac(), 1000 + i));
        }
    }
    ASSERT_EQ(in.size(), 40u);
    fp.feed(in);
    mp.exhaust();
    ASSERT_EQ(mp.avail(), 0u);
    EXPECT_EQ(fp.worker().poll_once(), 32u);
    EXPECT_EQ(fp.worker().poll_once(), 8u);
    EXPECT_EQ(fp.worker().poll_once(), 0u); // idle with an empty pool
    EXPECT_EQ(mp.avail(), 5u);              // the five dropped (bad checksum) freed
    collected r = fp.collect();
    ASSERT_EQ(r.replies.size(), 30u);
    EXPECT_EQ(r.to_kernel, 5u);
    EXPECT_EQ(fp.drops(drop_reason::udp_bad_checksum), 5u);
    EXPECT_EQ(fp.all_drops(), 5u);
    EXPECT_EQ(fp.counters().rx_pkts.load(), 40u);
    EXPECT_EQ(fp.counters().reflected_pkts.load(), 30u);
    for (uint32_t i = 0; i < 30; ++i) {
        EXPECT_EQ(reply_sender_seq(r.replies[i]), i);
        EXPECT_EQ(reply_seq(r.replies[i]), i / 3); // three sessions, consecutive each
    }
    mp.give();
    EXPECT_EQ(mp.avail(), start);
    // Recovered: the same sessions go on.
    std::vector<bytes> more;
    for (uint32_t i = 30; i < 36; ++i) {
        more.push_back(request(fp.mac(), i, static_cast<uint16_t>(40000 + i % 3)));
    }
    fp.feed(more);
    EXPECT_EQ(fp.drain(), 6u);
    r = fp.collect();
    ASSERT_EQ(r.replies.size(), 6u);
    for (uint32_t k = 0; k < 6; ++k) {
        EXPECT_EQ(reply_seq(r.replies[k]), 10 + k / 3);
    }
    EXPECT_EQ(fp.counters().sessions_created.load(), 3u);
    EXPECT_EQ(mp.avail(), start);
}

// Classic pcap file of Ethernet frames (microsecond records).
void write_pcap(const std::string& path, const std::vector<bytes>& frames) {
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const uint32_t hdr[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
    std::fwrite(hdr, sizeof hdr, 1, f);
    uint32_t t = 1;
    for (const auto& fr : frames) {
        const uint32_t rec[4] = {t++, 0, static_cast<uint32_t>(fr.size()),
                                 static_cast<uint32_t>(fr.size())};
        std::fwrite(rec, sizeof rec, 1, f);
        std::fwrite(fr.data(), fr.size(), 1, f);
    }
    std::fclose(f);
}

// A device that allocates an mbuf for every frame it receives (net_pcap here, a NIC refilling
// its RX descriptors) loses the frames that arrive while the pool is empty: the worker sees
// nothing, and the loss is the device's rx_nombuf (what the port_rx_nombuf_total metric
// shows), one frame per receive call here. With the pool back, the rest is reflected.
TEST(faults, mbuf_pool_empty_device_loses_frames_counted_as_rx_nombuf) {
    pool mp(1024);
    const unsigned start = mp.avail();
    char dir[] = "/tmp/dpf-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    const std::string file = std::string(dir) + "/in.pcap";
    // The worker answers frames to the MAC its port has in worker_args (net_pcap's port
    // here: frame_spec's default destination).
    std::vector<bytes> in;
    for (uint32_t i = 0; i < 50; ++i) {
        frame_spec sp = v4_spec();
        sp.payload = twamp_request(i, 0, 0x0001, 41);
        in.push_back(build(sp));
    }
    write_pcap(file, in);
    fault_port::options o;
    o.rx_pcap = file;
    fault_port fp(mp.p, o);
    ASSERT_EQ(mp.avail(), start);
    rte_eth_stats st{};
    ASSERT_EQ(rte_eth_stats_reset(fp.port_id()), 0);
    mp.exhaust();
    ASSERT_EQ(mp.avail(), 0u);
    const unsigned starved_rounds = 7;
    for (unsigned k = 0; k < starved_rounds; ++k) {
        EXPECT_EQ(fp.worker().poll_once(), 0u);
    }
    ASSERT_EQ(rte_eth_stats_get(fp.port_id(), &st), 0);
    EXPECT_EQ(st.rx_nombuf, starved_rounds);
    EXPECT_EQ(st.ipackets, 0u);
    EXPECT_EQ(fp.counters().rx_pkts.load(), 0u);
    mp.give();
    unsigned got = 0;
    for (unsigned k = 0; k < 10; ++k) {
        got += fp.worker().poll_once();
    }
    EXPECT_EQ(got, 50u - starved_rounds);
    ASSERT_EQ(rte_eth_stats_get(fp.port_id(), &st), 0);
    EXPECT_EQ(st.rx_nombuf, starved_rounds);
    EXPECT_EQ(st.ipackets, 50u - starved_rounds);
    // Every frame of the file is accounted for: received and reflected, or the device's loss.
    EXPECT_EQ(fp.counters().rx_pkts.load() + st.rx_nombuf, 50u);
    EXPECT_EQ(fp.counters().reflected_pkts.load(), 50u - starved_rounds);
    EXPECT_EQ(fp.all_drops(), 0u);
    EXPECT_EQ(mp.avail(), start); // net_pcap wrote the replies to its file and freed them
    std::remove(file.c_str());
    rmdir(dir);
}

// The TX ring full (a NIC that stopped taking frames): every reply it refuses is counted
// tx_full, exactly, and freed; the replies it took count as reflected. A stateful session's
// refused replies keep their reflector sequence numbers (the sender sees the gap: loss on the
// way back, which it was). Once the ring drains, replies flow again in the same session.
TEST(faults, tx_ring_full_every_refused_reply_counted_and_freed) {
    pool mp(1024);
    const unsigned start = mp.avail();
    fault_port::options o;
    o.tx_ring = 64; // 63 frames
    fault_port fp(mp.p, o);
    std::vector<bytes> in;
    for (uint32_t i = 0; i < 100; ++i) {
        in.push_back(request(fp.mac(), i));
    }
    fp.feed(in);
    EXPECT_EQ(fp.drain(), 100u);
    EXPECT_EQ(fp.tx_queued(), 63u);
    EXPECT_EQ(fp.drops(drop_reason::tx_full), 37u);
    EXPECT_EQ(fp.all_drops(), 37u);
    EXPECT_EQ(fp.counters().reflected_pkts.load(), 63u);
    EXPECT_EQ(fp.counters().contexts[0].reflected_pkts.load(), 63u);
    EXPECT_EQ(mp.avail(), start - 63); // the refused 37 are back in the pool
    // Still full: the next burst is refused whole.
    fp.feed({request(fp.mac(), 100), request(fp.mac(), 101)});
    EXPECT_EQ(fp.drain(), 2u);
    EXPECT_EQ(fp.drops(drop_reason::tx_full), 39u);
    collected r = fp.collect();
    ASSERT_EQ(r.replies.size(), 63u);
    for (uint32_t i = 0; i < 63; ++i) {
        EXPECT_EQ(reply_sender_seq(r.replies[i]), i);
        EXPECT_EQ(reply_seq(r.replies[i]), i);
    }
    EXPECT_EQ(mp.avail(), start);
    // The NIC takes frames again: the session goes on after the 39 refused replies.
    fp.feed({request(fp.mac(), 102), request(fp.mac(), 103)});
    EXPECT_EQ(fp.drain(), 2u);
    r = fp.collect();
    ASSERT_EQ(r.replies.size(), 2u);
    EXPECT_EQ(reply_seq(r.replies[0]), 102u);
    EXPECT_EQ(reply_seq(r.replies[1]), 103u);
    EXPECT_EQ(fp.drops(drop_reason::tx_full), 39u);
    EXPECT_EQ(fp.counters().rx_pkts.load(), 104u);
    EXPECT_EQ(fp.counters().reflected_pkts.load() + fp.all_drops(), 104u);
    EXPECT_EQ(fp.counters().sessions_created.load(), 1u);
    EXPECT_EQ(mp.avail(), start);
}

// The exception ring full (a stalled slow path): the frames for the kernel that do not fit
// are counted exception_ring_full, exactly, and freed; test packets beside them are answered
// all the same. Once the slow path empties the ring, frames reach the kernel again.
TEST(faults, exception_ring_full_counted_and_recovers) {
    pool mp(1024);
    const unsigned start = mp.avail();
    fault_port::options o;
    o.exc_ring = 16; // 15 frames
    fault_port fp(mp.p, o);
    std::vector<bytes> in;
    for (uint32_t i = 0; i < 40; ++i) {
        in.push_back(icmp(fp.mac()));
        in.push_back(request(fp.mac(), i));
    }
    fp.feed(in);
    EXPECT_EQ(fp.drain(), 80u);
    EXPECT_EQ(fp.exc_queued(), 15u);
    EXPECT_EQ(fp.drops(drop_reason::exception_ring_full), 25u);
    EXPECT_EQ(fp.all_drops(), 25u);
    EXPECT_EQ(fp.counters().reflected_pkts.load(), 40u);
    EXPECT_EQ(mp.avail(), start - 15 - 40); // the 25 refused are back in the pool
    collected r = fp.collect();
    EXPECT_EQ(r.to_kernel, 15u);
    ASSERT_EQ(r.replies.size(), 40u);
    for (uint32_t i = 0; i < 40; ++i) {
        EXPECT_EQ(reply_seq(r.replies[i]), i);
    }
    EXPECT_EQ(mp.avail(), start);
    // Drained: the kernel's frames go through again.
    fp.feed({icmp(fp.mac()), icmp(fp.mac()), icmp(fp.mac())});
    EXPECT_EQ(fp.drain(), 3u);
    r = fp.collect();
    EXPECT_EQ(r.to_kernel, 3u);
    EXPECT_EQ(fp.drops(drop_reason::exception_ring_full), 25u);
    EXPECT_EQ(fp.counters().rx_pkts.load(), 83u);
    EXPECT_EQ(mp.avail(), start);
}

// All three at once, many rounds: the pool empty, the TX and exception rings full. Every
// received frame ends as a reply taken, to the kernel, or a drop under its reason; no mbuf
// is lost; when the faults clear, reflection resumes by itself.
TEST(faults, everything_full_at_once_accounted_and_recovers) {
    pool mp(2048);
    const unsigned start = mp.avail();
    fault_port::options o;
    o.tx_ring = 32;
    o.exc_ring = 8;
    fault_port fp(mp.p, o);
    std::vector<bytes> in;
    std::map<uint16_t, uint32_t> seen; // requests per session (sender port)
    for (uint32_t i = 0; i < 600; ++i) {
        const auto sport = static_cast<uint16_t>(40000 + i % 7);
        if (i % 4 == 3) {
            in.push_back(icmp(fp.mac()));
        } else {
            in.push_back(request(fp.mac(), i, sport));
            ++seen[sport];
        }
    }
    fp.feed(in);
    mp.exhaust();
    EXPECT_EQ(fp.drain(), 600u);
    const uint64_t reflected = fp.counters().reflected_pkts.load();
    EXPECT_EQ(reflected, 31u);
    EXPECT_EQ(fp.drops(drop_reason::tx_full), 450u - 31);
    EXPECT_EQ(fp.drops(drop_reason::exception_ring_full), 150u - 7);
    EXPECT_EQ(fp.all_drops(), 600u - 31 - 7);
    EXPECT_EQ(fp.tx_queued() + fp.exc_queued(), 38u);
    // Freed drops went back to the (otherwise empty) pool; nothing else did.
    EXPECT_EQ(mp.avail(), 600u - 38);
    fp.collect();
    mp.give();
    EXPECT_EQ(mp.avail(), start);
    std::vector<bytes> more;
    for (uint32_t i = 0; i < 14; ++i) {
        more.push_back(request(fp.mac(), 1000 + i, static_cast<uint16_t>(40000 + i % 7)));
    }
    fp.feed(more);
    EXPECT_EQ(fp.drain(), 14u);
    collected r = fp.collect();
    ASSERT_EQ(r.replies.size(), 14u);
    // The same seven sessions go on: each reply's reflector sequence counts every request the
    // session had, refused replies included.
    for (uint32_t i = 0; i < 14; ++i) {
        const auto sport = static_cast<uint16_t>(40000 + i % 7);
        EXPECT_EQ(reply_seq(r.replies[i]), seen[sport] + i / 7) << i;
    }
    EXPECT_EQ(fp.counters().sessions_created.load(), 7u);
    EXPECT_EQ(fp.counters().reflected_pkts.load(), reflected + 14);
    EXPECT_EQ(mp.avail(), start);
}

// The TAP for the kernel -> wire direction (net_tap reads each frame into a posted mbuf and
// needs a fresh one to post again): with the pool empty it loses the frame and counts it
// (rx_nombuf); the slow path counts that as a from-kernel drop, no_mbuf. Every frame the
// kernel sent is either in the worker's to-wire ring or counted; with the pool back, frames
// flow again. In a network namespace of the test's own (main), IPv6 off, so the kernel sends
// nothing on the TAP but the test's frames.
bool g_own_netns = false;

TEST(faults, mbuf_pool_empty_kernel_frames_counted_no_mbuf) {
    if (!g_own_netns) {
        GTEST_SKIP() << "no network namespace of its own (needs root)";
    }
    pool mp(2048);
    fault_port fp(mp.p, {});
    rte_ring* to_wire = rte_ring_create("tw_tap", 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    ASSERT_NE(to_wire, nullptr);
    slowpath::exception_path exc;
    dataplane::port_spec ps;
    ps.name = "wire";
    ps.exception_iface = "dpftap0";
    ps.exception_rate_limit_pps = 1'000'000;
    const auto mac = fp.mac();
    std::string err;
    ASSERT_TRUE(exc.add_port(ps, fp.port_id(), mac.data(), mp.p, to_wire, err)) << err;
    dataplane::worker_counters c;
    const std::vector<rte_ring*> none;
    auto no_mbuf = [&] {
        return c.to_wire_drops[static_cast<std::size_t>(dataplane::to_wire_drop::no_mbuf)].load();
    };
    // The kernel's side: frames sent on the TAP (an AF_PACKET socket) reach the PMD.
    const int s = socket(AF_PACKET, SOCK_RAW, 0);
    ASSERT_GE(s, 0);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = static_cast<int>(if_nametoindex("dpftap0"));
    sll.sll_halen = 6;
    ASSERT_GT(sll.sll_ifindex, 0);
    auto send_frames = [&](uint32_t first, uint32_t n) {
        for (uint32_t i = first; i < first + n; ++i) {
            frame_spec f = v4_spec();
            f.src_mac = mac;
            f.dst_mac = {0x02, 0, 0, 0, 0, 0x01};
            f.payload = twamp_request(i, 0, 0x0001, 41);
            const bytes b = build(f);
            ASSERT_EQ(
                    sendto(s, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&sll), sizeof sll),
                    static_cast<ssize_t>(b.size()));
        }
    };
    // Polls until `n` more frames are accounted for (in the ring or counted no_mbuf).
    auto poll_until = [&](uint64_t n) {
        for (int k = 0; k < 1'000'000 && rte_ring_count(to_wire) + no_mbuf() < n; ++k) {
            exc.poll(none, c);
        }
    };
    const unsigned start = mp.avail(); // the TAP's posted mbufs taken already
    const uint32_t sent = 20;
    mp.exhaust();
    // One frame at a time: net_tap reads on the kernel's signal that frames are waiting, and a
    // burst cut short by the failed allocation leaves the rest for the next signal (delayed,
    // not lost: they come with the next frame).
    for (uint32_t i = 0; i < sent; ++i) {
        send_frames(i, 1);
        poll_until(i + 1);
    }
    EXPECT_EQ(rte_ring_count(to_wire), 0u);
    EXPECT_EQ(no_mbuf(), sent);
    mp.give();
    for (uint32_t i = 0; i < 5; ++i) {
        send_frames(100 + i, 1);
        poll_until(sent + i + 1);
    }
    EXPECT_EQ(rte_ring_count(to_wire), 5u);
    EXPECT_EQ(no_mbuf(), sent);
    void* m;
    while (rte_ring_dequeue(to_wire, &m) == 0) {
        rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
    }
    close(s);
    exc.close();
    rte_ring_free(to_wire);
    EXPECT_GE(mp.avail(), start);
}

// A device that declares removal interrupts (RTE_ETH_DEV_INTR_RMV) gets them asked for in its
// configuration (intr_conf.rmv): without it ethdev never delivers RTE_ETH_EVENT_INTR_RMV and
// the port's removal goes unnoticed. One that does not declare them is not asked (ethdev would
// refuse the configuration). net_ring declares none: the test sets the flag the way a PMD
// does at probe time, through the device data dev_info points to.
TEST(faults, removal_interrupt_requested_when_the_device_has_it) {
    pool mp(1024);
    for (const bool declares : {false, true}) {
        static int n = 0;
        const std::string id = "rmv" + std::to_string(n++);
        rte_ring* rx = rte_ring_create(("rx" + id).c_str(), 512, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        rte_ring* tx = rte_ring_create(("tx" + id).c_str(), 512, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        ASSERT_TRUE(rx && tx);
        const int p = rte_eth_from_rings(id.c_str(), &rx, 1, &tx, 1, 0);
        ASSERT_GE(p, 0);
        const auto port = static_cast<uint16_t>(p);
        rte_eth_dev_info info{};
        ASSERT_EQ(rte_eth_dev_info_get(port, &info), 0);
        ASSERT_NE(info.dev_flags, nullptr);
        EXPECT_EQ(*info.dev_flags & RTE_ETH_DEV_INTR_RMV, 0u);
        if (declares) {
            *const_cast<uint32_t*>(info.dev_flags) |= RTE_ETH_DEV_INTR_RMV;
        }
        dataplane::port_spec spec;
        spec.name = id;
        char ethdev[RTE_ETH_NAME_MAX_LEN] = {};
        rte_eth_dev_get_name_by_port(port, ethdev);
        spec.device = ethdev;
        dataplane::port_runtime pr;
        std::string err;
        ASSERT_TRUE(dataplane::setup_port(pr, spec, 1, 256, 256, mp.p, err)) << err;
        EXPECT_EQ(pr.rmv_interrupt, declares);
        rte_eth_conf conf{};
        ASSERT_EQ(rte_eth_dev_conf_get(port, &conf), 0);
        EXPECT_EQ(conf.intr_conf.rmv, declares ? 1u : 0u);
        EXPECT_EQ(pr.fault.load(), dataplane::port_fault::none);
        // Unregisters both event callbacks (no callback is running: first try) and closes.
        dataplane::stop_port(port);
        uint16_t again = 0;
        EXPECT_NE(rte_eth_dev_get_port_by_name(ethdev, &again), 0); // closed and released
        void* obj;
        for (rte_ring* r : {rx, tx}) {
            while (rte_ring_dequeue(r, &obj) == 0) {
                rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
            }
            rte_ring_free(r);
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    // A network namespace of its own for the TAP test, with IPv6 off for the interfaces
    // made in it (no router solicitations or MLD reports among the test's frames).
    if (unshare(CLONE_NEWNET) == 0) {
        const int fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY);
        g_own_netns = fd >= 0 && write(fd, "1", 1) == 1;
        if (fd >= 0) {
            close(fd);
        }
        std::system("ip link set lo up");
    }
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new eal_env());
    return RUN_ALL_TESTS();
}
