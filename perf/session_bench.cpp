// session_bench: the per-worker session table (src/dataplane/sessions.cpp, issue 15 item 1)
// against the former rte_hash one (tests/dpdk/reference_sessions.cpp), on the worker's access
// pattern: bursts of 32 keys of existing sessions in random order, looked up together
// (find_or_create_bulk), then each record updated as the worker's rewrite does (last_seen,
// track_sender_seq, next_seq). Timed per burst with rte_rdtsc_precise; the keys are copied into
// the burst's key buffer before the clock starts (the worker builds them from the packets: in
// L1). The two tables take turns, round after round; the median burst is reported.
//   session_bench [SESSIONS...] [-- EAL args]     default: 1000 1000000, EAL --no-huge -m 1024
// Also reports the bytes each table allocates per session (from the EAL heap's own counter)
// and the cycles per created session while filling it.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_malloc.h>

#include "../tests/dpdk/reference_sessions.hpp"

#include "twamp/dataplane/sessions.hpp"

using twamp::dataplane::session;
using twamp::dataplane::session_key;
using twamp::dataplane::session_table;
using twamp::testref::reference_session_table;

namespace {

constexpr uint32_t burst = 32;
constexpr uint32_t bursts_per_round = 4096;
constexpr int rounds = 15;

session_key key(uint32_t n) {
    session_key k;
    k.ctx = static_cast<uint16_t>(n % 4);
    k.ssid = static_cast<uint16_t>(n * 7);
    k.src_port = static_cast<uint16_t>(1024 + n % 60000);
    k.dst_port = 862;
    k.src[10] = k.src[11] = 0xff;
    k.src[12] = 10;
    k.src[13] = static_cast<uint8_t>(n >> 16);
    k.src[14] = static_cast<uint8_t>(n >> 8);
    k.src[15] = static_cast<uint8_t>(n);
    k.dst[10] = k.dst[11] = 0xff;
    k.dst[12] = 198;
    k.dst[13] = 18;
    k.dst[15] = 2;
    return k;
}

uint64_t heap_allocated() {
    uint64_t total = 0;
    for (int s = 0; s < RTE_MAX_NUMA_NODES; ++s) {
        rte_malloc_socket_stats st{};
        if (rte_malloc_get_socket_stats(s, &st) == 0) {
            total += st.heap_allocsz_bytes;
        }
    }
    return total;
}

// Cycles of each timed burst, appended: lookup only, and lookup + the worker's record updates.
struct samples {
    std::vector<uint32_t> lookup;
    std::vector<uint32_t> update;
};

// One round for table `t`: every burst (32 indices into the key set, `order`) looked up, then
// every burst looked up and its records updated.
template<class Table>
void round(Table& t, const std::vector<session_key>& all, const std::vector<uint32_t>& order,
           uint64_t now, samples& out) {
    session_key keys[burst];
    const session_key* kp[burst];
    uint32_t limits[burst];
    int32_t slots[burst];
    for (uint32_t i = 0; i < burst; ++i) {
        kp[i] = &keys[i];
        limits[i] = UINT32_MAX;
    }
    for (int pass = 0; pass < 2; ++pass) {
        for (uint32_t b = 0; b < bursts_per_round; ++b) {
            for (uint32_t i = 0; i < burst; ++i) {
                keys[i] = all[order[b * burst + i]];
            }
            uint32_t created = 0, full = 0;
            const uint64_t t0 = rte_rdtsc_precise();
            t.find_or_create_bulk(kp, burst, limits, now, slots, created, full);
            if (pass == 1) {
                for (uint32_t i = 0; i < burst; ++i) {
                    session& s = t.at(slots[i]);
                    s.last_seen_tsc = now;
                    twamp::dataplane::track_sender_seq(s, static_cast<uint32_t>(s.packets));
                    ++s.next_seq;
                }
            }
            const uint64_t t1 = rte_rdtsc_precise();
            if (created != 0 || full != 0) {
                std::fprintf(stderr, "session_bench: a key was missing\n");
                std::exit(1);
            }
            (pass == 0 ? out.lookup : out.update).push_back(static_cast<uint32_t>(t1 - t0));
        }
    }
}

template<class Table>
double fill(Table& t, const std::vector<session_key>& all, uint64_t now) {
    const session_key* kp[burst];
    uint32_t limits[burst];
    int32_t slots[burst];
    std::fill(limits, limits + burst, UINT32_MAX);
    uint64_t cycles = 0;
    for (std::size_t base = 0; base < all.size(); base += burst) {
        const auto n = static_cast<uint32_t>(std::min<std::size_t>(burst, all.size() - base));
        for (uint32_t i = 0; i < n; ++i) {
            kp[i] = &all[base + i];
        }
        uint32_t created = 0, full = 0;
        uint64_t t0 = rte_rdtsc_precise();
        t.find_or_create_bulk(kp, n, limits, now, slots, created, full);
        cycles += rte_rdtsc_precise() - t0;
        if (full != 0) {
            std::fprintf(stderr, "session_bench: table full at %zu\n", base);
            std::exit(1);
        }
    }
    return static_cast<double>(cycles) / static_cast<double>(all.size());
}

// The median burst: robust against the bursts a shared machine preempts.
double median(std::vector<uint32_t> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
    std::vector<uint32_t> sizes;
    std::vector<std::string> eal_args = {"session_bench", "-l",          "0",
                                         "--no-pci",      "--no-shconf", "--log-level=*:error"};
    bool eal_given = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--") == 0) {
            eal_given = true;
            for (++i; i < argc; ++i) {
                eal_args.push_back(argv[i]);
            }
            break;
        }
        sizes.push_back(static_cast<uint32_t>(std::stoul(argv[i])));
    }
    if (!eal_given) {
        eal_args.insert(eal_args.end(), {"--no-huge", "-m", "1024"});
    }
    eal_args.push_back("--file-prefix=sessbench" + std::to_string(getpid()));
    if (sizes.empty()) {
        sizes = {1000, 1000000};
    }
    std::vector<char*> eargv;
    for (auto& a : eal_args) {
        eargv.push_back(a.data());
    }
    if (rte_eal_init(static_cast<int>(eargv.size()), eargv.data()) < 0) {
        std::fprintf(stderr, "session_bench: EAL init failed\n");
        return 1;
    }
    std::printf("TSC %.3f GHz; %u keys per burst, %u bursts per round, %d rounds (the tables "
                "alternate), the median burst\n",
                static_cast<double>(rte_get_tsc_hz()) / 1e9, burst, bursts_per_round, rounds);
    unsigned id = 0;
    for (uint32_t n : sizes) {
        std::vector<session_key> all(n);
        for (uint32_t i = 0; i < n; ++i) {
            all[i] = key(i);
        }
        std::mt19937 rng(n);
        std::vector<uint32_t> order(uint64_t{burst} * bursts_per_round);
        for (auto& o : order) {
            o = static_cast<uint32_t>(rng() % n);
        }
        const uint64_t now = rte_rdtsc();
        std::string err;
        uint64_t h0 = heap_allocated();
        auto nt = std::make_unique<session_table>();
        if (!nt->init(id++, n, err)) {
            std::fprintf(stderr, "session_bench: %s\n", err.c_str());
            return 1;
        }
        const uint64_t new_bytes = heap_allocated() - h0;
        h0 = heap_allocated();
        auto rt = std::make_unique<reference_session_table>();
        if (!rt->init(id++, n, err)) {
            std::fprintf(stderr, "session_bench: %s\n", err.c_str());
            return 1;
        }
        const uint64_t ref_bytes = heap_allocated() - h0;
        // Fill in insertion order (new sessions as the worker creates them, 32 at a time).
        const double fill_new = fill(*nt, all, now);
        const double fill_ref = fill(*rt, all, now);
        samples ns, rs;
        for (int r = 0; r < rounds; ++r) {
            round(*nt, all, order, now, ns);
            round(*rt, all, order, now, rs);
        }
        const double nl = median(ns.lookup), nu = median(ns.update);
        const double rl = median(rs.lookup), ru = median(rs.update);
        std::printf("\n%u sessions\n", n);
        std::printf("  %-26s %14s %14s\n", "", "own table", "rte_hash (old)");
        std::printf("  %-26s %14.0f %14.0f\n", "bulk lookup, cycles/burst", nl, rl);
        std::printf("  %-26s %14.1f %14.1f\n", "  per key", nl / burst, rl / burst);
        std::printf("  %-26s %14.0f %14.0f\n", "+ record update, /burst", nu, ru);
        std::printf("  %-26s %14.1f %14.1f\n", "  per key", nu / burst, ru / burst);
        std::printf("  %-26s %14.1f %14.1f\n", "create (fill), cycles/key", fill_new, fill_ref);
        std::printf("  %-26s %14.1f %14.1f\n", "heap bytes per session",
                    static_cast<double>(new_bytes) / n, static_cast<double>(ref_bytes) / n);
        std::printf("  %-26s %14.1f %14.1f\n", "  computed",
                    static_cast<double>(nt->memory_bytes()) / n,
                    static_cast<double>(rt->memory_bytes()) / n);
        std::printf("  %-26s %14llu %14s\n", "entries displaced (fill)",
                    static_cast<unsigned long long>(nt->displaced()), "-");
    }
    rte_eal_cleanup();
    return 0;
}
