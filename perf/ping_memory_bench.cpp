// ping_memory_bench: twamp-ping's per-stream bookkeeping under a long run, in memory.
//
//   build/perf/ping_memory_bench [SAMPLES] [CHECKPOINTS]   (default 100000000 10)
//
// Feeds SAMPLES replies (packets sent 1 us apart, -W 1 ms: ~1000 in flight) through
// twamp-ping's reply_matcher records and statistics (round trip, residence, forward, backward:
// four accumulators with their histograms, the sequence windows), with a log-normal delay, 1 in
// 1000 packets lost, and prints the process's RSS (VmRSS) and the structures' own footprint at
// CHECKPOINTS evenly spaced points: a bounded design keeps both flat after the first few
// thousand replies (the exact values kept until accumulator::exact_limit, then the counters).
// Before issue 19 the statistics kept every sample (48 octets each) and the matcher every
// record (32 octets): 100 million replies were 8 GB.
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "twamp/sender/matcher.hpp"
#include "twamp/sender/stats.hpp"

namespace {

long rss_kib() {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (f == nullptr) {
        return -1;
    }
    char line[256];
    long kib = -1;
    while (std::fgets(line, sizeof line, f) != nullptr) {
        if (std::strncmp(line, "VmRSS:", 6) == 0) {
            kib = std::strtol(line + 6, nullptr, 10);
        }
    }
    std::fclose(f);
    return kib;
}

} // namespace

int main(int argc, char** argv) {
    using namespace twamp::sender;
    const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100'000'000;
    const uint64_t checkpoints = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 10;
    if (n == 0 || checkpoints == 0) {
        std::fprintf(stderr, "usage: ping_memory_bench [SAMPLES] [CHECKPOINTS]\n");
        return 2;
    }
    reply_matcher book(mode::light, 0);
    statistics stats;
    std::mt19937_64 rng(19);
    std::lognormal_distribution<double> delay(std::log(300'000.0), 0.8);
    const int64_t timeout = 1'000'000;
    std::printf("%12s %10s %14s %10s %12s\n", "replies", "rss_kib", "footprint_b", "records",
                "rtt_p99_ns");
    const long rss0 = rss_kib();
    std::printf("%12d %10ld %14zu %10zu %12s\n", 0, rss0, stats.footprint(), book.records(), "-");
    uint64_t next_cp = n / checkpoints;
    for (uint64_t k = 0; k < n; ++k) {
        const auto t = static_cast<int64_t>(k) * 1000;
        book.record_send(t, t, k, static_cast<uint32_t>(k), false);
        if (k % 1000 != 999) {
            // What reply_matcher::match() does with a fresh reply, without the octets.
            sample s;
            s.sender_seq = static_cast<uint32_t>(k);
            s.reflector_seq = static_cast<uint32_t>(k - k / 1000);
            const auto fwd = static_cast<int64_t>(delay(rng));
            s.t1 = 1'700'000'000'000'000'000 + t;
            s.t2 = s.t1 + fwd;
            s.t3 = s.t2 + 4'000;
            s.t4 = s.t3 + fwd / 2;
            stats.add(s);
        }
        book.expire(t, timeout, [](uint32_t) {});
        if (k + 1 == next_cp) {
            const summary sm = stats.summarize(k + 1, false);
            std::printf("%12" PRIu64 " %10ld %14zu %10zu %12" PRId64 "\n", k + 1, rss_kib(),
                        stats.footprint(), book.records(), sm.rtt.p99);
            std::fflush(stdout);
            next_cp += n / checkpoints;
        }
    }
    return 0;
}
