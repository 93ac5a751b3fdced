// The whole worker over a prefilled net_ring port, for an instruction count under valgrind's
// callgrind (perf/worker_instructions.sh): exact and repeatable where cycle counts on a shared
// machine are not. Builds `bursts` bursts of 32 frames of one case, then calls
// worker::poll_once() until a round receives nothing.
//   worker_icount CASE BURSTS    CASE: light | stateful | mixed | stamp | device | defaults |
//                                      limited
//     light     TWAMP Light IPv4, one stateless session
//     stateful  TWAMP Light IPv4, 1,000 stateful sessions
//     mixed     100 stateful sessions; of every 8 frames one broadcast (to the kernel), one to a
//               port with no reflector and one from outside the ACL (dropped)
//     stamp     STAMP IPv4 (44 octets), one stateless session
//     device    as light, T2 from a device RX timestamp and T3 from the device clock (a
//               port_time with a mapped device_clock method, every mbuf stamped)
//     defaults  as stateful, with the config's default limits (loop guard; new sessions
//               checked per source, at a rate that refuses none)
//     limited   as light, with the loop guard and reflector and source rate limits that
//               refuse none (the cost of checking them)
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>

#include "../tests/unit/proto/test_util.hpp"

#include "twamp/dataplane/clock.hpp"
#include "twamp/dataplane/counters.hpp"
#include "twamp/dataplane/sessions.hpp"
#include "twamp/dataplane/snapshot.hpp"
#include "twamp/dataplane/view.hpp"
#include "twamp/dataplane/worker.hpp"

using namespace twamp;

namespace {

dataplane::ip_prefix v4_prefix(std::array<uint8_t, 4> a, uint8_t len) {
    return {net::address::from_octets(net::ip_family::ipv4, a.data()), len};
}

int fail(const char* what) {
    std::fprintf(stderr, "worker_icount: %s\n", what);
    return 1;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3 && argc != 4) {
        return fail("usage: worker_icount light|stateful|mixed|stamp|device|defaults|limited "
                    "BURSTS [BURST_SIZE]");
    }
    // The worker's burst size (default 32); the frames are BURSTS x 32 either way, so a
    // smaller size runs more rounds (per-burst costs, as at light load).
    const unsigned burst_size = argc == 4 ? static_cast<unsigned>(std::stoul(argv[3])) : 32;
    if (burst_size == 0 || burst_size > 32) {
        return fail("BURST_SIZE: 1..32");
    }
    const std::string mode = argv[1];
    const unsigned bursts = static_cast<unsigned>(std::stoul(argv[2]));
    // defaults: "stateful" with the config's default limits (loop guard on, new sessions
    // checked per source: at 100,000,000/s, so none refused); limited: "light" with the loop
    // guard and reflector and source rate limits too high to refuse any (issue 18).
    if (mode != "light" && mode != "stateful" && mode != "mixed" && mode != "stamp" &&
        mode != "device" && mode != "defaults" && mode != "limited") {
        return fail("unknown case");
    }
    if (bursts == 0 || bursts > 500) {
        return fail("BURSTS: 1..500");
    }
    const std::string prefix = "--file-prefix=wic" + std::to_string(getpid());
    const char* eal[] = {
            "worker_icount", "-l",       "0",           "--no-huge",    "-m",
            "1024",          "--no-pci", "--no-shconf", prefix.c_str(), "--log-level=*:error"};
    if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) {
        return fail("EAL init failed");
    }
    const unsigned npkt = bursts * 32;
    rte_mempool* pool = rte_pktmbuf_pool_create("wic", 32767, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    rte_ring* rx = rte_ring_create("rx", 16384, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_ring* tx = rte_ring_create("tx", 16384, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_ring* exc = rte_ring_create("ex", 16384, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!pool || !rx || !tx || !exc) {
        return fail("mempool or rings");
    }
    const int port = rte_eth_from_rings("wic", &rx, 1, &tx, 1, 0);
    rte_eth_conf conf{};
    if (port < 0 || rte_eth_dev_configure(static_cast<uint16_t>(port), 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(static_cast<uint16_t>(port), 0, 512, 0, nullptr, pool) != 0 ||
        rte_eth_tx_queue_setup(static_cast<uint16_t>(port), 0, 512, 0, nullptr) != 0 ||
        rte_eth_dev_start(static_cast<uint16_t>(port)) != 0) {
        return fail("net_ring port");
    }
    rte_ether_addr mac;
    rte_eth_macaddr_get(static_cast<uint16_t>(port), &mac);

    dataplane::dataplane_spec spec;
    spec.ports.resize(1);
    spec.ports[0].name = "ring";
    dataplane::context_spec c;
    c.name = mode;
    c.slot = 0;
    c.addresses = {v4_prefix({198, 18, 0, 2}, 32)};
    c.udp_ports = {862};
    c.prefixes = {v4_prefix({198, 18, 0, 0}, 24)};
    c.stateful = mode == "stateful" || mode == "mixed" || mode == "defaults";
    if (mode == "defaults" || mode == "limited") {
        c.loop_guard = dataplane::context_spec::guard::reflector_ports;
    }
    if (mode == "defaults") {
        c.source_session_rate = 100'000'000;
    }
    if (mode == "limited") {
        c.rate_limit_pps = 100'000'000;
        c.source_rate_limit_pps = 100'000'000;
    }
    if (mode == "stamp") {
        c.policy.mode = proto::test_mode::stamp;
    }
    spec.contexts = {c};
    std::string err;
    auto snap = dataplane::snapshot::build(spec, 1, 1, err);
    if (!snap) {
        return fail(err.c_str());
    }
    dataplane::view vw;
    vw.snap = std::move(snap);
    std::atomic<const dataplane::view*> view_ptr{&vw};
    dataplane::sw_clock clock;
    clock.init(5);
    dataplane::session_table sessions;
    if (!sessions.init(1, vw.snap->session_capacity_per_worker(), err)) {
        return fail(err.c_str());
    }
    static dataplane::worker_counters counters;

    int ts_off = -1;
    uint64_t ts_flag = 0;
    rte_mbuf_dyn_rx_timestamp_register(&ts_off, &ts_flag);
    dataplane::port_time ptime;
    ptime.method = dataplane::t3_method::device_clock;
    {
        // A nanosecond device clock 3.7 ms ahead of the system clock, mapped.
        const dataplane::clock_map sys = clock.read();
        dataplane::port_time_map m;
        m.base_tsc = sys.base_tsc;
        m.base_raw = sys.base_ns + 3'700'000;
        m.base_ns = static_cast<int64_t>(sys.base_ns);
        m.ns_per_tsc_q32 = sys.ns_per_tsc;
        m.ns_per_raw_q32 = uint64_t{1} << 32;
        m.error_ns = sys.error_ns + 1000;
        m.error = proto::make_error_estimate(m.error_ns, false, false);
        m.mapped = true;
        ptime.publish(m);
    }

    std::array<uint8_t, 6> our_mac;
    std::copy(std::begin(mac.addr_bytes), std::end(mac.addr_bytes), our_mac.begin());
    for (unsigned i = 0; i < npkt; ++i) {
        test::frame_spec f = test::v4_spec();
        f.dst_mac = our_mac;
        f.dport = 862;
        f.sport = static_cast<uint16_t>(mode == "stateful" || mode == "defaults" ? 20000 + i % 1000
                                                                                 : 50000);
        f.payload = mode == "stamp" ? test::stamp_request(i, 0, 1, 7)
                                    : test::twamp_request(i, 0, 1, 41);
        if (mode == "mixed") {
            f.sport = static_cast<uint16_t>(20000 + i % 100);
            switch (i % 8) {
            case 1:
                f.dst_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}; // to the kernel
                break;
            case 3:
                f.dport = 9999; // no reflector
                break;
            case 5:
                f.src_ip = {198, 18, 1, 1}; // outside the ACL
                break;
            default:
                break;
            }
        }
        const test::bytes b = test::build(f);
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        if (!m) {
            return fail("mbuf");
        }
        std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(b.size())), b.data(), b.size());
        if (mode == "device") {
            *RTE_MBUF_DYNFIELD(m, ts_off, rte_mbuf_timestamp_t*) =
                    dataplane::realtime_ns() + 3'700'000;
            m->ol_flags |= ts_flag;
        }
        if (rte_ring_enqueue(rx, m) != 0) {
            return fail("RX ring full");
        }
    }

    dataplane::worker_args a;
    a.burst = static_cast<uint16_t>(burst_size);
    dataplane::worker_port wp;
    wp.port_id = static_cast<uint16_t>(port);
    wp.mac = mac;
    if (mode == "device") {
        wp.time = &ptime;
    }
    a.ports.push_back(wp);
    a.ts_dynfield_offset = ts_off;
    a.ts_dynflag = ts_flag;
    a.exception_ring = exc;
    a.view = &view_ptr;
    a.clock = &clock;
    a.sessions = &sessions;
    a.counters = &counters;
    {
        dataplane::worker w(a);
        while (w.poll_once() != 0) {
        }
    }
    std::printf("%s: rx %llu reflected %llu to the kernel %u rounds %llu\n", mode.c_str(),
                static_cast<unsigned long long>(counters.rx_pkts.load()),
                static_cast<unsigned long long>(counters.reflected_pkts.load()),
                rte_ring_count(exc), static_cast<unsigned long long>(counters.polls.load()));
    return counters.rx_pkts.load() == npkt ? 0 : 1;
}
