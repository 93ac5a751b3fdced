// What the tier-2 tests on net_ring ports (test_worker.cpp, test_faults.cpp) and the worker's
// libFuzzer target (tests/fuzz/fuzz_worker.cpp) share: EAL for a test process, a port's rings
// and start, frames in and out of the rings, and TWAMP-Control test sessions keyed with the
// auth vectors. Header-only and without GoogleTest (the fuzz target has none): a failure is
// returned (nullptr, a message), the caller asserts or aborts.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "../unit/proto/auth_vectors.hpp"

#include "twamp/dataplane/clock.hpp"
#include "twamp/dataplane/control_table.hpp"
#include "twamp/dataplane/counters.hpp"
#include "twamp/dataplane/sessions.hpp"
#include "twamp/dataplane/snapshot.hpp"
#include "twamp/dataplane/view.hpp"
#include "twamp/dataplane/worker.hpp"

namespace twamp::test::ring_harness {

// EAL for one test process: lcore 0, 512 MB without hugepages, no PCI, no shared config, a
// file prefix of the process's own (`tag` + pid), errors only in the log; `extra` after those.
// rte_eal_init()'s result.
inline int eal_init(const char* program, const std::string& tag,
                    std::vector<const char*> extra = {}) {
    const std::string prefix = "--file-prefix=" + tag + std::to_string(getpid());
    std::vector<const char*> argv = {program, "-l",       "0",           "--no-huge",   "-m",
                                     "512",   "--no-pci", "--no-shconf", prefix.c_str()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("--log-level=*:error");
    return rte_eal_init(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
}

// A single-producer, single-consumer ring of `size` slots (a power of two; it holds one less).
inline rte_ring* make_ring(const std::string& name, unsigned size) {
    return rte_ring_create(name.c_str(), size, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
}

// Configures `port` with one RX queue (`desc` descriptors, mbufs from `mp`) and one TX queue,
// starts it and reads its MAC into `mac`. Empty, or the step that failed.
inline std::string start_port(uint16_t port, rte_mempool* mp, uint16_t desc, rte_ether_addr& mac) {
    rte_eth_conf conf{};
    if (rte_eth_dev_configure(port, 1, 1, &conf) != 0) {
        return "rte_eth_dev_configure";
    }
    if (rte_eth_rx_queue_setup(port, 0, desc, 0, nullptr, mp) != 0) {
        return "rte_eth_rx_queue_setup";
    }
    if (rte_eth_tx_queue_setup(port, 0, desc, 0, nullptr) != 0) {
        return "rte_eth_tx_queue_setup";
    }
    if (rte_eth_dev_start(port) != 0) {
        return "rte_eth_dev_start";
    }
    rte_eth_macaddr_get(port, &mac);
    return {};
}

inline std::array<uint8_t, 6> mac_bytes(const rte_ether_addr& mac) {
    std::array<uint8_t, 6> m;
    std::copy(std::begin(mac.addr_bytes), std::end(mac.addr_bytes), m.begin());
    return m;
}

// A frame in one mbuf from `mp` (nullptr: the pool is empty).
inline rte_mbuf* mbuf_of(rte_mempool* mp, std::span<const uint8_t> frame) {
    rte_mbuf* m = rte_pktmbuf_alloc(mp);
    if (m && !frame.empty()) {
        std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
                    frame.size());
    }
    return m;
}

// Polls `w` until the RX ring `rx` is empty (poll_once returns with its burst done); the
// frames received.
inline unsigned drain(rte_ring* rx, dataplane::worker& w) {
    unsigned got = 0;
    while (rte_ring_count(rx)) {
        got += w.poll_once();
    }
    return got;
}

// The worker's view: `spec`'s snapshot (generation `gen`, its limits split over `workers`)
// shown by `v`, published in `ptr`, and a session table `st` made for it (`worker`: the worker
// index it is for). Empty, or what failed.
inline std::string make_view(const dataplane::dataplane_spec& spec, unsigned workers, uint64_t gen,
                             dataplane::view& v, std::atomic<const dataplane::view*>& ptr,
                             dataplane::session_table& st, unsigned worker) {
    std::string err;
    v.snap = dataplane::snapshot::build(spec, workers, gen, err);
    if (!v.snap) {
        return "snapshot: " + err;
    }
    ptr.store(&v);
    if (!st.init(worker, v.snap->session_capacity_per_worker(), err)) {
        return "session table: " + err;
    }
    return {};
}

// A worker's arguments for one port (`port`, its MAC) and the exception ring `exc`, reading
// `view`, `clock`, `sessions` (may be null: set later) and writing `counters`; worker index
// 0, bursts of 32. No RCU, no stop flag: the caller drives worker::poll_once() itself.
inline dataplane::worker_args port_args(uint16_t port, const rte_ether_addr& mac, rte_ring* exc,
                                        std::atomic<const dataplane::view*>& view,
                                        const dataplane::sw_clock& clock,
                                        dataplane::session_table* sessions,
                                        dataplane::worker_counters& counters) {
    dataplane::worker_args a;
    a.index = 0;
    a.burst = 32;
    dataplane::worker_port wp;
    wp.port_id = port;
    wp.mac = mac;
    a.ports.push_back(wp);
    a.exception_ring = exc;
    a.view = &view;
    a.clock = &clock;
    a.sessions = sessions;
    a.counters = &counters;
    return a;
}

// What came out of a worker: the replies off the TX ring, the wire -> kernel frames off the
// exception ring (counted), every mbuf freed.
struct collected {
    std::vector<std::vector<uint8_t>> replies;
    std::size_t to_kernel = 0;
};

inline collected collect(rte_ring* tx, rte_ring* exc) {
    collected r;
    void* obj;
    while (rte_ring_dequeue(tx, &obj) == 0) {
        auto* m = static_cast<rte_mbuf*>(obj);
        auto* d = rte_pktmbuf_mtod(m, uint8_t*);
        r.replies.emplace_back(d, d + rte_pktmbuf_data_len(m));
        rte_pktmbuf_free(m);
    }
    while (rte_ring_dequeue(exc, &obj) == 0) {
        ++r.to_kernel;
        rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
    }
    return r;
}

// Started TWAMP-Control test sessions for a control_table, one a mode in `modes`: from
// `sender` to `receiver` (IPv4, stored mapped), receiver ports first_port, first_port + 1, ...,
// tags 1, 2, ...; the authenticated and encrypted ones keyed with the auth vectors' session
// keys and SID (their crypto is the table's to own).
struct control_rows {
    std::vector<dataplane::control_session_rt> sessions;
    std::vector<std::unique_ptr<const dataplane::session_crypto>> crypto;
};

inline control_rows control_sessions(std::array<uint8_t, 4> receiver, std::array<uint8_t, 4> sender,
                                     uint16_t first_port, std::span<const proto::auth_mode> modes) {
    std::array<uint8_t, 16> recv{}, peer{};
    recv[10] = recv[11] = peer[10] = peer[11] = 0xff;
    std::copy(receiver.begin(), receiver.end(), recv.begin() + 12);
    std::copy(sender.begin(), sender.end(), peer.begin() + 12);
    control_rows rows;
    rows.sessions.resize(modes.size());
    for (std::size_t i = 0; i < modes.size(); ++i) {
        dataplane::control_session_rt& s = rows.sessions[i];
        std::copy(recv.begin(), recv.end(), s.receiver);
        s.receiver_port = static_cast<uint16_t>(first_port + i);
        std::copy(peer.begin(), peer.end(), s.sender);
        s.started = true;
        s.tag = static_cast<uint16_t>(i + 1);
        s.policy.auth = modes[i];
        if (modes[i] != proto::auth_mode::none) {
            auto c = std::make_unique<const dataplane::session_crypto>(
                    std::span<const uint8_t, 16>(auth_vectors::aes_session_key),
                    std::span<const uint8_t, 32>(auth_vectors::hmac_session_key),
                    std::span<const uint8_t, 16>(auth_vectors::sid));
            s.policy.keys = &c->keys;
            rows.crypto.push_back(std::move(c));
        }
    }
    return rows;
}

} // namespace twamp::test::ring_harness
