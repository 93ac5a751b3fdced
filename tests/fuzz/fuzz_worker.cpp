// libFuzzer target: the worker's burst path (dataplane::worker::poll_once) on a net_ring port,
// the way tier 2 drives it (tests/dpdk/test_worker.cpp, set up by tests/dpdk/ring_harness.hpp):
// EAL once (--no-huge --no-pci), one port made with rte_eth_from_rings, a snapshot with several
// reflectors and a TWAMP-Control table. Each input is a list of frames put on the RX ring (or on
// the kernel->wire ring, as the slow path hands the TAP's frames to a worker); the worker polls
// them in bursts; the TX ring (replies, then the kernel's frames) and the exception ring (to the
// kernel) are drained after each poll. Between polls an input may force a session aging pass at a
// TSC seconds ahead (session_table::age, what the worker's housekeeping runs every 16 rounds on the
// real TSC: a fuzz input lasts microseconds, so no session would ever age otherwise).
//
// Input: records, each
//   0    flags: bit 0 write a correct IPv4 header checksum first, bit 1 a correct UDP checksum
//        (unless zero; random frames almost never carry valid sums), bit 2 destination MAC :=
//        the port's (else as given), bit 3 poll after this frame (ends a burst; the last
//        frame always does), bit 4 the frame in two chained mbufs (split in the middle);
//        for the poll this frame ends: bit 5 the TX ring, bit 6 the exception ring left with
//        room for 0 frames (3 with bit 7) only (tx_full, exception_ring_full)
//   1-2  frame length (big-endian, low 12 bits; cut to what is left and to one mbuf's room);
//        bit 15: a reload before the poll this frame ends (the workers' view swapped between
//        the two snapshots below, sessions kept); bits 14-12: 6 a full aging pass before that
//        poll, at the TSC of 2 s from now ("light"'s sessions, inactivity timeout 1 s, and
//        those of a context the reload removed end; the others stay) -- a later request of an
//        aged flow creates its session again; 7 the frame goes on the kernel->wire ring (sent
//        unchanged by drain_to_wire after the poll's replies), not the RX ring; else neither
//        (one random record in eight each: most frames still go through the RX path)
//   3..  the frame
// At most 64 frames an input, a worker and session table new for each input (no state from
// one input to the next: a finding replays).
//
// The box (198.18.0.2/24 and 2001:2::2/64 untagged, 198.19.0.2/24 on VLAN 100):
//   862  TWAMP Light, stateful, sources 198.18.0.0/24 and 2001:2::/64
//   863  STAMP, stateful, every source; VLAN 100 862: TWAMP Light, stateless, every source
//   864  STAMP authenticated (RFC 8762 §4.3), stateless, the key of tests/unit/proto/auth_vectors
//   64400..64409  TWAMP-Control test sessions: 64400 unauthenticated, 64401 authenticated,
//        64402 encrypted (RFC 5357 §4.1.2, 4656 §4.1.2), all from 198.18.0.1
// Sessions per reflector are few (8), so the table fills and new flows go stateless; "light"
// ages its sessions after 1 s idle (the others after 100 s). The
// reloaded snapshot (generation 2, the same slots where names stay): "light" accepts only
// 198.18.0.0/25, "stamp" (slot 1) is gone, "stamp2" (slot 5) serves 863 statelessly.
//
// Invariants (FUZZ_CHECK: a __builtin_trap()), per poll:
//   - every frame taken is accounted for exactly once: rx == replies on the TX ring + frames on
//     the exception ring + drops (all reasons), and the worker's counters say the same
//     (reflected == replies; each drop reason's count == the drop verdicts with that reason,
//     tx_full == reflect verdicts the TX ring did not take, exception_ring_full == kernel
//     verdicts the exception ring did not take; the rings take the first ones, in order);
//   - replies parse (fuzz_oracle.hpp's own locator), come from the port's MAC to the request's
//     source MAC, swap the request's UDP ports, carry TTL/Hop Limit 255, a valid IPv4 header
//     checksum and a UDP checksum that verifies (no TX offload here);
//   - a frame to the kernel is the frame received, unchanged; a frame from the kernel is sent
//     unchanged after the replies, or counted to_wire_drops tx_full when the TX ring is full
//     (exception_to_wire == the ones sent), and the worker takes at most a burst of them a poll;
//   - an aging pass removes exactly as many sessions as the table's active count falls by;
//     with the original view, no session of "light" is left after it;
// and after each input: every mbuf back in the pool (in-use count 0: a leak or a double free
// shows), ASan/UBSan clean.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "../dpdk/ring_harness.hpp"
#include "../unit/proto/auth_vectors.hpp"
#include "fuzz_oracle.hpp"

#include "twamp/dataplane/clock.hpp"
#include "twamp/dataplane/control_table.hpp"
#include "twamp/dataplane/counters.hpp"
#include "twamp/dataplane/sessions.hpp"
#include "twamp/dataplane/snapshot.hpp"
#include "twamp/dataplane/spec.hpp"
#include "twamp/dataplane/view.hpp"
#include "twamp/dataplane/worker.hpp"
#include "twamp/proto/drop_reason.hpp"

namespace {

using namespace twamp;
namespace dp = twamp::dataplane;
namespace ring_harness = twamp::test::ring_harness;
namespace av = auth_vectors;
using proto::drop_reason;
using twamp::fuzz::be16;

constexpr std::size_t max_frames = 64;
constexpr uint16_t burst = 32;

dp::ip_prefix pfx(std::array<uint8_t, 4> a, uint8_t len) {
    return {net::address::from_octets(net::ip_family::ipv4, a.data()), len};
}
dp::ip_prefix pfx6(std::array<uint8_t, 16> a, uint8_t len) {
    return {net::address::from_octets(net::ip_family::ipv6, a.data()), len};
}

const std::array<uint8_t, 16> box6 = {0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
const std::array<uint8_t, 16> net6 = {0x20, 0x01, 0x00, 0x02};

dp::dataplane_spec box_spec(bool reloaded = false) {
    dp::dataplane_spec s;
    s.ports.resize(1);
    s.ports[0].name = "ring";
    s.ports[0].addresses = {pfx({198, 18, 0, 2}, 24), pfx6(box6, 64)};
    s.ports[0].vlans = {{100, {pfx({198, 19, 0, 2}, 24)}}};
    const std::vector<dp::ip_prefix> all = {pfx({0, 0, 0, 0}, 0), pfx6({}, 0)};
    auto ctx = [&](const char* name, uint16_t udp, proto::test_mode mode, bool stateful) {
        dp::context_spec c;
        c.name = name;
        c.addresses = {pfx({198, 18, 0, 2}, 32), pfx6(box6, 128)};
        c.udp_ports = {udp};
        c.prefixes = all;
        c.policy.mode = mode;
        c.stateful = stateful;
        c.max_sessions = 8;
        return c;
    };
    auto light = ctx("light", 862, proto::test_mode::twamp_light, true);
    light.prefixes = {pfx({198, 18, 0, 0}, 24), pfx6(net6, 64)};
    light.inactivity_timeout_s = 1;
    auto stamp = ctx("stamp", 863, proto::test_mode::stamp, true);
    auto v100 = ctx("v100", 862, proto::test_mode::twamp_light, false);
    v100.vlan = 100;
    v100.addresses = {pfx({198, 19, 0, 2}, 32)};
    auto auth = ctx("auth", 864, proto::test_mode::stamp, false);
    auth.policy.auth = proto::auth_mode::stamp_authenticated;
    auth.has_key = true;
    auth.key.assign(std::begin(av::stamp_key), std::end(av::stamp_key));
    dp::context_spec control;
    control.name = "(twamp-control)";
    s.contexts = {light, stamp, v100, auth, control};
    for (std::size_t i = 0; i < s.contexts.size(); ++i) {
        s.contexts[i].slot = static_cast<uint16_t>(i);
    }
    if (reloaded) {
        s.contexts[0].prefixes = {pfx({198, 18, 0, 0}, 25)};
        auto stamp2 = ctx("stamp2", 863, proto::test_mode::stamp, false);
        stamp2.slot = 5;
        s.contexts.erase(s.contexts.begin() + 1);
        s.contexts.push_back(stamp2);
    }
    return s;
}

std::shared_ptr<const dp::control_table> control_sessions() {
    const proto::auth_mode modes[] = {proto::auth_mode::none, proto::auth_mode::twamp_authenticated,
                                      proto::auth_mode::twamp_encrypted};
    ring_harness::control_rows rows =
            ring_harness::control_sessions({198, 18, 0, 2}, {198, 18, 0, 1}, 64400, modes);
    return std::make_shared<const dp::control_table>(std::move(rows.sessions), 64400, 64409,
                                                     std::move(rows.crypto));
}

// Everything made once: EAL, pool, rings, port, clock, view, counters.
struct rig {
    rte_mempool* pool = nullptr;
    rte_ring *rx = nullptr, *tx = nullptr, *exc = nullptr, *wire = nullptr;
    uint16_t port = 0;
    rte_ether_addr mac{};
    dp::sw_clock clock;
    dp::view view, reloaded; // generation 1, generation 2
    std::atomic<const dp::view*> view_ptr{nullptr};
    dp::port_activity* activity = nullptr;
    std::unique_ptr<dp::worker_counters> counters;
    dp::worker_args args;
    bool verbose = false;
};

rig* g = nullptr;

void die(const char* what) {
    std::fprintf(stderr, "fuzz_worker set-up: %s\n", what);
    std::abort();
}

void setup() {
    g = new rig;
    g->verbose = std::getenv("FUZZ_WORKER_VERBOSE") != nullptr;
    if (ring_harness::eal_init("fuzz_worker", "fzw", {"--no-telemetry"}) < 0) {
        die("rte_eal_init");
    }
    // No per-lcore cache: rte_mempool_in_use_count() is exact after each input.
    g->pool = rte_pktmbuf_pool_create("fzw", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    g->rx = ring_harness::make_ring("fzw_rx", 128);
    g->tx = ring_harness::make_ring("fzw_tx", 256);
    g->exc = ring_harness::make_ring("fzw_ex", 256);
    g->wire = ring_harness::make_ring("fzw_wire", 128);
    if (!g->pool || !g->rx || !g->tx || !g->exc || !g->wire) {
        die("pool or rings");
    }
    int p = rte_eth_from_rings("fzw_ring", &g->rx, 1, &g->tx, 1, 0);
    if (p < 0) {
        die("rte_eth_from_rings");
    }
    g->port = static_cast<uint16_t>(p);
    if (const std::string e = ring_harness::start_port(g->port, g->pool, 128, g->mac); !e.empty()) {
        die(e.c_str());
    }
    g->clock.init(5);
    std::string err;
    g->view.snap = dp::snapshot::build(box_spec(), 1, 1, err);
    if (!g->view.snap) {
        std::fprintf(stderr, "%s\n", err.c_str());
        die("snapshot");
    }
    g->view.control = control_sessions();
    g->view.generation = 1;
    g->view_ptr.store(&g->view);
    g->reloaded.snap = dp::snapshot::build(box_spec(true), 1, 2, err);
    if (!g->reloaded.snap) {
        std::fprintf(stderr, "%s\n", err.c_str());
        die("reloaded snapshot");
    }
    g->reloaded.control = g->view.control;
    g->reloaded.generation = 2;
    g->activity = new dp::port_activity();
    g->counters = std::make_unique<dp::worker_counters>();
    // Sessions: a table of each input's own.
    dp::worker_args& a = g->args;
    a = ring_harness::port_args(g->port, g->mac, g->exc, g->view_ptr, g->clock, nullptr,
                                *g->counters);
    static_assert(burst == 32); // port_args's
    a.ports[0].to_wire = g->wire;
    a.activity = g->activity;
    a.control_slot = 4;
}

struct frame {
    std::vector<uint8_t> bytes; // as put on the RX ring (after the flags' fixes)
    bool poll_after = false;
    bool chained = false;
    bool reload = false;  // swap the view before the poll this frame ends
    bool age = false;     // a forced aging pass before the poll this frame ends
    bool to_wire = false; // on the kernel->wire ring, not received
    int tx_room = -1;     // the poll this frame ends: free TX ring slots (-1: all)
    int exc_room = -1;
};

// What fills a ring up to a given room: never an mbuf, skipped when the ring is drained.
int filler;

void leave_room(rte_ring* r, int room) {
    if (room < 0) {
        return;
    }
    while (rte_ring_free_count(r) > static_cast<unsigned>(room)) {
        FUZZ_CHECK(rte_ring_enqueue(r, &filler) == 0);
    }
}

rte_mbuf* to_mbuf(const frame& f) {
    const std::size_t n = f.bytes.size();
    const std::size_t first = f.chained ? n / 2 : n;
    rte_mbuf* m = rte_pktmbuf_alloc(g->pool);
    FUZZ_CHECK(m != nullptr);
    if (first) {
        std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(first)), f.bytes.data(), first);
    }
    if (f.chained) {
        rte_mbuf* m2 = rte_pktmbuf_alloc(g->pool);
        FUZZ_CHECK(m2 != nullptr);
        std::memcpy(rte_pktmbuf_append(m2, static_cast<uint16_t>(n - first)),
                    f.bytes.data() + first, n - first);
        FUZZ_CHECK(rte_pktmbuf_chain(m, m2) == 0);
    }
    return m;
}

uint64_t drops_total(const dp::worker_counters& c) {
    uint64_t n = 0;
    for (const auto& d : c.drops) {
        n += d.load();
    }
    return n;
}

// The reply to `req` (a frame the worker gave a reflect verdict).
void check_reply(const std::vector<uint8_t>& req, rte_mbuf* m) {
    FUZZ_CHECK(m->nb_segs == 1);
    const uint8_t* r = rte_pktmbuf_mtod(m, const uint8_t*);
    const std::size_t n = rte_pktmbuf_data_len(m);
    FUZZ_CHECK(n == m->pkt_len);
    const twamp::fuzz::layout l = twamp::fuzz::locate(r, n);
    FUZZ_CHECK(l.ok);
    FUZZ_CHECK(std::memcmp(r + 6, g->mac.addr_bytes, 6) == 0);
    FUZZ_CHECK(req.size() >= 12 && std::memcmp(r, req.data() + 6, 6) == 0);
    const twamp::fuzz::layout q = twamp::fuzz::locate(req.data(), req.size());
    FUZZ_CHECK(q.ok && q.version == l.version);
    FUZZ_CHECK(be16(r + l.l4) == be16(req.data() + q.l4 + 2));
    FUZZ_CHECK(be16(r + l.l4 + 2) == be16(req.data() + q.l4));
    if (l.version == 4) {
        FUZZ_CHECK(r[l.l3 + 8] == 255);
        FUZZ_CHECK(twamp::fuzz::ref_ipv4_header_ok(r, l));
        FUZZ_CHECK(std::memcmp(r + l.l3 + 16, req.data() + q.l3 + 12, 4) == 0);
    } else {
        FUZZ_CHECK(r[l.l3 + 7] == 255);
        FUZZ_CHECK(std::memcmp(r + l.l3 + 24, req.data() + q.l3 + 8, 16) == 0);
    }
    FUZZ_CHECK(twamp::fuzz::ref_udp_ok(r, l));
}

// What the poll a frame ends does first (that frame's flags).
struct poll_setup {
    bool reload = false;
    bool age = false;
    int tx_room = -1;
    int exc_room = -1;
};

// Frames on the kernel->wire ring, in order, not yet taken by the worker (indices in frames).
std::vector<std::size_t> wire_pending;

// A full aging pass at a TSC 2 s ahead, against the view the worker sees: what the worker's
// housekeeping does in slices over time. Every session of "light" (1 s) ends, and under the
// reloaded view every one of the context it removed.
void age_all(dp::session_table& st) {
    const dp::view* v = g->view_ptr.load();
    const uint32_t before = st.active();
    const uint64_t now = rte_rdtsc() + 2 * rte_get_tsc_hz();
    const uint32_t aged = st.age(*v->snap, now, st.slots(), v->control.get(), 4);
    FUZZ_CHECK(aged <= before && st.active() == before - aged);
    FUZZ_CHECK(st.active_in(0) == 0);
    if (v == &g->reloaded) {
        FUZZ_CHECK(st.active_in(1) == 0);
    }
}

// One poll of `w` over the frames `rx` (indices in frames) just enqueued on the RX ring, and
// the kernel->wire ring's frames (wire_pending).
void poll(dp::worker& w, dp::session_table& st, const std::vector<frame>& frames,
          const std::vector<std::size_t>& rx, const poll_setup& ps) {
    const dp::worker_counters& c = *g->counters;
    const uint64_t rx0 = c.rx_pkts.load(), refl0 = c.reflected_pkts.load();
    const uint64_t wire0 = c.exception_to_wire.load();
    constexpr auto wire_full = static_cast<std::size_t>(dp::to_wire_drop::tx_full);
    const uint64_t wire_full0 = c.to_wire_drops[wire_full].load();
    std::array<uint64_t, proto::drop_reason_count> drops0{};
    for (std::size_t r = 0; r < drops0.size(); ++r) {
        drops0[r] = c.drops[r].load();
    }
    const uint64_t dropped0 = drops_total(c);
    if (ps.reload) {
        g->view_ptr.store(g->view_ptr.load() == &g->view ? &g->reloaded : &g->view);
    }
    if (ps.age) {
        age_all(st);
    }
    leave_room(g->tx, ps.tx_room);
    leave_room(g->exc, ps.exc_room);
    const unsigned wire_queued = rte_ring_count(g->wire);
    FUZZ_CHECK(wire_queued == wire_pending.size());
    const unsigned wire_taken = std::min<unsigned>(wire_queued, burst);
    const unsigned n = w.poll_once();
    FUZZ_CHECK(n == rx.size()); // the ring holds at most one burst
    FUZZ_CHECK(c.rx_pkts.load() - rx0 == n);
    FUZZ_CHECK(rte_ring_count(g->wire) == wire_queued - wire_taken);
    const uint64_t wire_sent = c.exception_to_wire.load() - wire0;
    FUZZ_CHECK(wire_sent <= wire_taken);
    FUZZ_CHECK(c.to_wire_drops[wire_full].load() - wire_full0 == wire_taken - wire_sent);
    const auto verdicts = w.last_verdicts();
    std::array<uint64_t, proto::drop_reason_count> by_verdict{};
    std::vector<std::size_t> reflected, to_kernel;
    if (n) {
        FUZZ_CHECK(verdicts.size() == n);
        for (std::size_t i = 0; i < n; ++i) {
            switch (verdicts[i]) {
            case dp::worker::next::reflect:
            case dp::worker::next::reflect_stateful:
                reflected.push_back(rx[i]);
                break;
            case dp::worker::next::to_kernel:
                to_kernel.push_back(rx[i]);
                break;
            case dp::worker::next::drop: {
                const auto why = static_cast<std::size_t>(w.last_reason(i));
                FUZZ_CHECK(why > 0 && why < proto::drop_reason_count);
                ++by_verdict[why];
                break;
            }
            }
        }
    }
    // The TX ring: the replies the port took, then the kernel's frames it took, in order.
    const uint64_t refl_sent = c.reflected_pkts.load() - refl0;
    FUZZ_CHECK(refl_sent <= reflected.size());
    FUZZ_CHECK(wire_sent == 0 || refl_sent == reflected.size());
    std::size_t replies = 0, sent_on = 0;
    void* obj;
    while (rte_ring_dequeue(g->tx, &obj) == 0) {
        if (obj == &filler) {
            continue;
        }
        auto* m = static_cast<rte_mbuf*>(obj);
        if (replies < refl_sent) {
            check_reply(frames[reflected[replies]].bytes, m);
            ++replies;
        } else {
            FUZZ_CHECK(sent_on < wire_sent);
            const auto& f = frames[wire_pending[sent_on]].bytes;
            FUZZ_CHECK(m->pkt_len == f.size());
            std::vector<uint8_t> got(f.size());
            const void* p = rte_pktmbuf_read(m, 0, static_cast<uint32_t>(got.size()), got.data());
            FUZZ_CHECK(f.empty() ||
                       (p != nullptr &&
                        twamp::fuzz::same(static_cast<const uint8_t*>(p), f.data(), f.size())));
            ++sent_on;
        }
        rte_pktmbuf_free(m);
    }
    FUZZ_CHECK(sent_on == wire_sent);
    wire_pending.erase(wire_pending.begin(), wire_pending.begin() + wire_taken);
    std::size_t kernel = 0;
    while (rte_ring_dequeue(g->exc, &obj) == 0) {
        if (obj == &filler) {
            continue;
        }
        auto* m = static_cast<rte_mbuf*>(obj);
        FUZZ_CHECK(kernel < to_kernel.size());
        const auto& f = frames[to_kernel[kernel]].bytes;
        FUZZ_CHECK(m->pkt_len == f.size());
        std::vector<uint8_t> got(f.size());
        const void* p = rte_pktmbuf_read(m, 0, static_cast<uint32_t>(got.size()), got.data());
        FUZZ_CHECK(p != nullptr &&
                   twamp::fuzz::same(static_cast<const uint8_t*>(p), f.data(), f.size()));
        ++kernel;
        rte_pktmbuf_free(m);
    }
    if (g->verbose) { // FUZZ_WORKER_VERBOSE=1: what each poll did (to check the seeds)
        std::fprintf(stderr,
                     "poll: %u frames, %zu replies, %zu to the kernel, %zu of %u from it sent%s, "
                     "drops:",
                     n, replies, kernel, sent_on, wire_taken, ps.age ? ", aged" : "");
        for (std::size_t r = 0; r < by_verdict.size(); ++r) {
            if (by_verdict[r]) {
                std::fprintf(stderr, " %s %lu", proto::drop_reason_names[r].data(),
                             static_cast<unsigned long>(by_verdict[r]));
            }
        }
        std::fprintf(stderr, "\n");
    }
    // What the rings did not take is counted (tx_full, exception_ring_full) and freed.
    FUZZ_CHECK(replies <= reflected.size() && kernel <= to_kernel.size());
    by_verdict[static_cast<std::size_t>(drop_reason::tx_full)] += reflected.size() - replies;
    by_verdict[static_cast<std::size_t>(drop_reason::exception_ring_full)] +=
            to_kernel.size() - kernel;
    if (ps.tx_room < 0) {
        FUZZ_CHECK(replies == reflected.size() && sent_on == wire_taken);
    }
    if (ps.exc_room < 0) {
        FUZZ_CHECK(kernel == to_kernel.size());
    }
    FUZZ_CHECK(c.reflected_pkts.load() - refl0 == replies);
    FUZZ_CHECK(replies + kernel + (drops_total(c) - dropped0) == n);
    for (std::size_t r = 0; r < drops0.size(); ++r) {
        FUZZ_CHECK(c.drops[r].load() - drops0[r] == by_verdict[r]);
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    setup();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    // The frames, fixed as the flags ask.
    const std::size_t room = RTE_MBUF_DEFAULT_BUF_SIZE - RTE_PKTMBUF_HEADROOM;
    std::vector<frame> frames;
    std::size_t i = 0;
    while (i + 3 <= size && frames.size() < max_frames) {
        const uint8_t flags = data[i];
        const bool reload = data[i + 1] & 0x80;
        const unsigned what = (data[i + 1] >> 4) & 7; // 6: aging pass, 7: kernel->wire
        const bool age = what == 6;
        const bool to_wire = what == 7;
        std::size_t len = be16(data + i + 1) & 0x0fff;
        i += 3;
        len = std::min({len, size - i, room});
        frame f;
        f.bytes.assign(data + i, data + i + len);
        i += len;
        f.poll_after = flags & 8;
        f.chained = (flags & 16) && len >= 2;
        f.reload = reload;
        f.age = age;
        f.to_wire = to_wire;
        const int room_left = (flags & 0x80) ? 3 : 0;
        f.tx_room = (flags & 0x20) ? room_left : -1;
        f.exc_room = (flags & 0x40) ? room_left : -1;
        if ((flags & 4) && len >= 6) {
            std::memcpy(f.bytes.data(), g->mac.addr_bytes, 6);
        }
        const twamp::fuzz::layout l = twamp::fuzz::locate(f.bytes.data(), f.bytes.size());
        if (l.ok && l.version == 4 && (flags & 1)) {
            twamp::fuzz::ref_fix_ipv4_header(f.bytes.data(), l);
        }
        if (l.ok && (flags & 2) && be16(f.bytes.data() + l.l4 + 6) != 0) {
            twamp::fuzz::ref_fix_udp(f.bytes.data(), l);
        }
        frames.push_back(std::move(f));
    }
    if (frames.empty()) {
        return 0;
    }
    frames.back().poll_after = true;

    std::string err;
    std::optional<dp::session_table> sessions;
    sessions.emplace();
    FUZZ_CHECK(sessions->init(0, g->view.snap->session_capacity_per_worker(), err));
    g->args.sessions = &*sessions;
    g->view_ptr.store(&g->view);
    {
        dp::worker w(g->args);
        std::vector<std::size_t> rx;
        wire_pending.clear();
        for (std::size_t k = 0; k < frames.size(); ++k) {
            const frame& f = frames[k];
            if (f.to_wire) {
                FUZZ_CHECK(rte_ring_enqueue(g->wire, to_mbuf(f)) == 0);
                wire_pending.push_back(k);
            } else {
                FUZZ_CHECK(rte_ring_enqueue(g->rx, to_mbuf(f)) == 0);
                rx.push_back(k);
            }
            if (f.poll_after || rx.size() == burst) {
                poll(w, *sessions, frames, rx, {f.reload, f.age, f.tx_room, f.exc_room});
                rx.clear();
            }
        }
        while (!wire_pending.empty()) { // the kernel's frames left: a burst a poll
            poll(w, *sessions, frames, rx, {});
        }
        FUZZ_CHECK(w.poll_once() == 0); // nothing left behind
    }
    g->args.sessions = nullptr;
    sessions.reset();
    FUZZ_CHECK(rte_mempool_in_use_count(g->pool) == 0);
    return 0;
}
