// twamp-loadgen: a small DPDK load generator for dpdk-twamp (issue 15 "controlled load").
//
// A separate DPDK process on one lcore that sends valid test packets to the reflector through
// one ethdev port (perf/load.sh uses net_memif: the generator is the memif client, dpdk-twamp
// the server, one socket file), TSC-paced at a set rate, and reads every reply:
//   - test packets: TWAMP Light (RFC 5357 Appendix I, 41-octet payload so request and reply
//     have one size) or STAMP (RFC 8762, 44 octets, SSID 1), over IPv4 (198.18.0.1 ->
//     198.18.0.2) or IPv6 (2001:2::1 -> 2001:2::2), N sessions by UDP source port
//     (--src-port, +1, ...; packets go round-robin, each session numbers its own), T1 from the
//     TSC mapped to CLOCK_REALTIME, UDP checksum always set (incrementally per packet);
//   - pacing: the packets due since the start at --rate are sent in bursts of up to --burst as
//     the TSC says they are due (rate 0: as fast as the port takes them); a run is bounded in
//     time (--seconds) AND in count (--count, default rate x seconds; then the time bound is
//     5 % longer, for a generator preempted near the end to send what was already due);
//   - TX drops: packets rte_eth_tx_burst refused (on memif: the reflector's ring is full) are
//     freed and counted apart (`tx_refused`); `loss` = sent - received of the packets the
//     port took;
//   - replies: checked (UDP to one of our sessions from the reflector's port, UDP checksum,
//     the size of the mode's reply; `invalid` otherwise; frames that are no reply to one of our
//     sessions, e.g. the reflector kernel's ND, are `other`), and from each T2 and T3 (in the
//     format the reflector's Error Estimate Z bit states) the residence T3 - T2 goes into a
//     log-linear histogram (1.6 % resolution): p50, p99, p99.9, max. T4 - T1 (round trip,
//     both clocks this host's) likewise, as information;
//   - after the sending stops it keeps reading replies for --drain-ms (ended early when every
//     sent packet is answered); replies to an earlier run (the run number is in the top bits of
//     the sender sequence number) are counted as `stale`, not received.
// Output: one JSON line per run on stdout. With --serve it reads runs from stdin instead, one
// per line "RATE SECONDS [COUNT]", and answers each with its JSON line (one EAL start and one
// memif connection for a whole search); EOF or SIGINT/SIGTERM ends it.
//
//   twamp-loadgen [EAL options] -- --dst-mac MAC [--mode light4|light6|stamp4|stamp6]
//       [--sessions N] [--src-port P] [--dst-port P] [--rate PPS] [--seconds S] [--count N]
//       [--burst B] [--drain-ms MS] [--link-timeout S] [--serve]
//   e.g. twamp-loadgen -l 0 --no-huge -m 256 --no-pci --file-prefix lg
//          --vdev net_memif0,role=client,socket=/tmp/x/memif.sock,socket-abstract=no --
//          --dst-mac 02:00:00:00:00:02 --rate 1000000 --seconds 2
// (memif needs DPDK's multi-process IPC: not --no-shconf.)
#include <algorithm>
#include <array>
#include <bit>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include <getopt.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "twamp/proto/bytes.hpp"
#include "twamp/proto/checksum.hpp"
#include "twamp/proto/packet.hpp"
#include "twamp/proto/test_packet.hpp"
#include "twamp/proto/timestamp.hpp"

using namespace twamp;

namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) {
    g_stop = 1;
}

constexpr int32_t tai_utc_offset_s = 37;
constexpr unsigned max_burst = 64;
constexpr unsigned run_shift = 26; // sender seq = run << 26 | per-session number
constexpr uint32_t seq_mask = (1u << run_shift) - 1;

struct options {
    bool stamp = false;
    bool v6 = false;
    std::string mode = "light4";
    unsigned sessions = 1;
    uint16_t src_port = 20000;
    uint16_t dst_port = 862;
    double rate = 0;
    double seconds = 2;
    uint64_t count = 0;
    unsigned burst = 32;
    double drain_ms = 100;
    double link_timeout = 10;
    bool serve = false;
    rte_ether_addr dst_mac{};
    bool have_dst_mac = false;
};

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "twamp-loadgen: %s\n", what.c_str());
    std::exit(2);
}

// Log-linear histogram of nanosecond values: exact below 64, then 64 buckets per power of two.
class histogram {
public:
    void add(uint64_t v) noexcept {
        ++counts_[index(v)];
        ++n_;
        max_ = std::max(max_, v);
    }
    uint64_t count() const noexcept { return n_; }
    // The upper bound of the bucket holding the q-quantile (0 when empty).
    uint64_t quantile(double q) const noexcept {
        if (n_ == 0) {
            return 0;
        }
        const auto target = static_cast<uint64_t>(q * static_cast<double>(n_) + 0.999999);
        uint64_t c = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            c += counts_[i];
            if (c >= std::max<uint64_t>(target, 1)) {
                return std::min(upper(i), max_);
            }
        }
        return max_;
    }
    uint64_t max() const noexcept { return max_; }
    void reset() noexcept {
        counts_.fill(0);
        n_ = 0;
        max_ = 0;
    }

private:
    static constexpr unsigned sub_bits = 6;
    static constexpr unsigned max_exp = 46; // values up to ~2^47 ns (39 h)
    static std::size_t index(uint64_t v) noexcept {
        if (v < (1u << sub_bits)) {
            return v;
        }
        unsigned e = static_cast<unsigned>(std::bit_width(v)) - 1;
        if (e > max_exp) {
            e = max_exp;
            v = (uint64_t{1} << (max_exp + 1)) - 1;
        }
        const uint64_t sub = (v >> (e - sub_bits)) & ((1u << sub_bits) - 1);
        return (1u << sub_bits) + (e - sub_bits) * (1u << sub_bits) + sub;
    }
    static uint64_t upper(std::size_t i) noexcept {
        if (i < (1u << sub_bits)) {
            return i;
        }
        const std::size_t j = i - (1u << sub_bits);
        const unsigned e = static_cast<unsigned>(j >> sub_bits) + sub_bits;
        const uint64_t sub = j & ((1u << sub_bits) - 1);
        const uint64_t lo = (uint64_t{1} << e) + (sub << (e - sub_bits));
        return lo + (uint64_t{1} << (e - sub_bits)) - 1;
    }
    std::array<uint64_t, (1u << sub_bits) * (max_exp - sub_bits + 2)> counts_{};
    uint64_t n_ = 0;
    uint64_t max_ = 0;
};

// The TSC mapped to CLOCK_REALTIME once at start (both processes read the same clocks).
struct clock_map {
    uint64_t tsc0 = 0;
    uint64_t ns0 = 0;
    uint64_t hz = 1;
    void init() {
        timespec ts{};
        const uint64_t a = rte_rdtsc();
        clock_gettime(CLOCK_REALTIME, &ts);
        const uint64_t b = rte_rdtsc();
        tsc0 = a + (b - a) / 2;
        ns0 = static_cast<uint64_t>(ts.tv_sec) * proto::ns_per_s +
              static_cast<uint64_t>(ts.tv_nsec);
        hz = rte_get_tsc_hz();
    }
    uint64_t ns(uint64_t tsc) const noexcept {
        return ns0 +
               static_cast<uint64_t>(static_cast<proto::u128>(tsc - tsc0) * proto::ns_per_s / hz);
    }
};

// One frame per session, sequence number and T1 zero; per packet only those change, and the
// UDP checksum is the session's base sum plus them.
struct frame_template {
    std::array<uint8_t, 128> bytes{};
    uint16_t len = 0;
    uint16_t l4_off = 0;
    uint16_t payload_len = 0;
    uint16_t reply_len = 0;
    std::vector<uint16_t> base_sum; // per session: folded sum over pseudo header + datagram
};

frame_template build_template(const options& o, const rte_ether_addr& src_mac) {
    frame_template t;
    uint8_t* f = t.bytes.data();
    std::memcpy(f, o.dst_mac.addr_bytes, 6);
    std::memcpy(f + 6, src_mac.addr_bytes, 6);
    t.payload_len =
            static_cast<uint16_t>(o.stamp ? proto::sender::stamp_len : proto::reflector::twamp_len);
    t.reply_len = static_cast<uint16_t>(o.stamp ? proto::reflector::stamp_len
                                                : proto::reflector::twamp_len);
    const auto udp_len = static_cast<uint16_t>(proto::udp_hdr_len + t.payload_len);
    uint8_t* ip = f + proto::eth_hdr_len;
    if (!o.v6) {
        proto::store_be16(f + 12, proto::ethertype_ipv4);
        ip[0] = 0x45;
        proto::store_be16(ip + 2, static_cast<uint16_t>(proto::ipv4_min_hdr_len + udp_len));
        proto::store_be16(ip + 6, 0x4000); // DF
        ip[8] = 255;                       // TTL: RFC 5357 §4.1.2 asks for 255
        ip[9] = proto::ipproto_udp;
        const uint8_t src[4] = {198, 18, 0, 1};
        const uint8_t dst[4] = {198, 18, 0, 2};
        std::memcpy(ip + 12, src, 4);
        std::memcpy(ip + 16, dst, 4);
        proto::store_be16(ip + 10, proto::internet_checksum({ip, proto::ipv4_min_hdr_len}));
        t.l4_off = static_cast<uint16_t>(proto::eth_hdr_len + proto::ipv4_min_hdr_len);
    } else {
        proto::store_be16(f + 12, proto::ethertype_ipv6);
        ip[0] = 0x60;
        proto::store_be16(ip + 4, udp_len);
        ip[6] = proto::ipproto_udp;
        ip[7] = 255;
        const uint8_t src[16] = {0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        const uint8_t dst[16] = {0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
        std::memcpy(ip + 8, src, 16);
        std::memcpy(ip + 24, dst, 16);
        t.l4_off = static_cast<uint16_t>(proto::eth_hdr_len + proto::ipv6_hdr_len);
    }
    uint8_t* udp = f + t.l4_off;
    proto::store_be16(udp + 2, o.dst_port);
    proto::store_be16(udp + 4, udp_len);
    uint8_t* pay = udp + proto::udp_hdr_len;
    // Error Estimate: S = 0, the clock is not known to be synchronized; 1 ms, NTP format.
    proto::store_be16(pay + proto::sender::error_estimate,
                      proto::make_error_estimate(1'000'000, false, false).encode());
    if (o.stamp) {
        proto::store_be16(pay + proto::sender::ssid, 1);
    }
    t.len = static_cast<uint16_t>(t.l4_off + udp_len);
    const uint16_t pseudo =
            o.v6 ? proto::udp_pseudo_sum_v6(ip, udp_len) : proto::udp_pseudo_sum_v4(ip, udp_len);
    const uint16_t datagram = proto::csum_bytes(udp, udp_len); // ports 0 / checksum 0
    for (unsigned s = 0; s < o.sessions; ++s) {
        t.base_sum.push_back(proto::csum_add(proto::csum_add(pseudo, datagram),
                                             static_cast<uint16_t>(o.src_port + s)));
    }
    return t;
}

// Session s's packet into f (a copy of the template): source port, sequence number, T1 and
// the UDP checksum from the session's base sum.
void write_packet(const frame_template& t, uint8_t* f, unsigned s, uint16_t sport, uint32_t seq,
                  uint64_t t1) noexcept {
    uint8_t* udp = f + t.l4_off;
    uint8_t* pay = udp + proto::udp_hdr_len;
    proto::store_be16(udp, sport);
    proto::store_be32(pay + proto::sender::seq, seq);
    proto::store_be64(pay + proto::sender::timestamp, t1);
    uint16_t sum = t.base_sum[s];
    sum = proto::csum_add(sum, static_cast<uint16_t>(seq >> 16));
    sum = proto::csum_add(sum, static_cast<uint16_t>(seq));
    sum = proto::csum_add(sum, static_cast<uint16_t>(t1 >> 48));
    sum = proto::csum_add(sum, static_cast<uint16_t>(t1 >> 32));
    sum = proto::csum_add(sum, static_cast<uint16_t>(t1 >> 16));
    sum = proto::csum_add(sum, static_cast<uint16_t>(t1));
    const auto c = static_cast<uint16_t>(~sum);
    proto::store_be16(udp + 6, c == 0 ? 0xffff : c);
}

// --self-test (no EAL, no device; a meson test): every mode's packets parse as the reflector
// parses them, with the right ports and length and checksums that verify, over pseudo-random
// sessions, sequence numbers and T1; the histogram's quantiles on known distributions.
int self_test() {
    int failures = 0;
    auto check = [&](bool ok, const std::string& what) {
        if (!ok) {
            std::fprintf(stderr, "twamp-loadgen --self-test: FAIL: %s\n", what.c_str());
            ++failures;
        }
    };
    uint64_t x = 0x9e3779b97f4a7c15ULL; // xorshift64
    auto rnd = [&x] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    };
    const rte_ether_addr src{{0x02, 0, 0, 0, 0, 0x01}};
    for (const char* mode : {"light4", "light6", "stamp4", "stamp6"}) {
        options o;
        o.mode = mode;
        o.stamp = o.mode.starts_with("stamp");
        o.v6 = o.mode.ends_with("6");
        o.sessions = 1000;
        o.src_port = 64000;
        o.dst_port = 862;
        o.dst_mac = rte_ether_addr{{0x02, 0, 0, 0, 0, 0x02}};
        const frame_template t = build_template(o, src);
        for (int i = 0; i < 20000; ++i) {
            std::array<uint8_t, 128> f = t.bytes;
            const auto s = static_cast<unsigned>(rnd() % o.sessions);
            const auto seq = static_cast<uint32_t>(i < 4 ? (i & 1 ? 0xffffffffu : 0u) : rnd());
            const uint64_t t1 = i < 4 ? (i & 2 ? ~uint64_t{0} : 0) : rnd();
            write_packet(t, f.data(), s, static_cast<uint16_t>(o.src_port + s), seq, t1);
            const proto::parsed_frame p = proto::parse_frame({f.data(), t.len});
            const std::string at = std::string(mode) + " packet " + std::to_string(i);
            check(p.kind == proto::frame_kind::udp && p.ip_version == (o.v6 ? 6 : 4) &&
                          p.ttl == 255 && !p.fragment,
                  at + ": not an unfragmented UDP packet with TTL 255");
            check(p.src_port == o.src_port + s && p.dst_port == 862, at + ": ports");
            check(p.payload_len() == (o.stamp ? 44 : 41), at + ": payload length");
            const uint8_t* ip = f.data() + p.l3_off;
            const uint16_t pseudo = o.v6 ? proto::udp_pseudo_sum_v6(ip, p.udp_len)
                                         : proto::udp_pseudo_sum_v4(ip, p.udp_len);
            check(proto::udp_checksum_ok(pseudo, f.data() + p.l4_off, p.udp_len),
                  at + ": UDP checksum");
            check(proto::load_be16(f.data() + p.l4_off + 6) ==
                          proto::udp_checksum(pseudo, f.data() + p.l4_off, p.udp_len),
                  at + ": UDP checksum differs from proto::udp_checksum");
            check(o.v6 || proto::ipv4_header_checksum_ok(ip, 20), at + ": IPv4 header checksum");
            const uint8_t* pay = f.data() + p.payload_off();
            check(proto::load_be32(pay) == seq && proto::load_be64(pay + 4) == t1,
                  at + ": sequence number or T1");
            if (failures > 10) {
                return 1;
            }
        }
    }
    histogram h;
    for (uint64_t v = 1; v <= 1000; ++v) {
        h.add(v);
    }
    auto near = [](uint64_t got, uint64_t want) {
        return got >= want && static_cast<double>(got) <= static_cast<double>(want) * 1.016 + 1;
    };
    check(h.count() == 1000 && h.max() == 1000, "histogram count/max");
    check(near(h.quantile(0.5), 500), "p50 of 1..1000: " + std::to_string(h.quantile(0.5)));
    check(near(h.quantile(0.99), 990), "p99 of 1..1000: " + std::to_string(h.quantile(0.99)));
    check(h.quantile(0.999) == 999, "p99.9 of 1..1000: " + std::to_string(h.quantile(0.999)));
    histogram g;
    for (int i = 0; i < 999; ++i) {
        g.add(1500);
    }
    g.add(10'000'000);
    check(near(g.quantile(0.5), 1500) && near(g.quantile(0.99), 1500), "p50/p99 of a spike");
    check(g.quantile(0.9995) == 10'000'000, "the outlier is the p99.95");
    histogram e;
    check(e.quantile(0.5) == 0 && e.count() == 0, "empty histogram");
    std::printf("twamp-loadgen --self-test: %s\n", failures ? "FAILED" : "passed");
    return failures ? 1 : 0;
}

struct run_result {
    uint64_t run = 0;
    double rate = 0;
    double seconds = 0;
    uint64_t count_limit = 0;
    uint64_t attempted = 0;
    uint64_t sent = 0;
    uint64_t tx_refused = 0;
    uint64_t received = 0;
    uint64_t invalid = 0;
    uint64_t stale = 0;
    uint64_t other = 0;
    uint64_t alloc_failed = 0;
    double send_s = 0;
    uint64_t max_behind = 0;
    histogram residence;
    histogram rtt;
    uint64_t residence_negative = 0;
};

class generator {
public:
    generator(const options& o, uint16_t port, rte_mempool* pool, const rte_ether_addr& mac)
        : o_(o), port_(port), pool_(pool), t_(build_template(o, mac)), seq_(o.sessions, 0) {
        clock_.init();
    }

    void run(run_result& r) {
        r.residence.reset();
        r.rtt.reset();
        ++run_id_;
        r.run = run_id_;
        std::fill(seq_.begin(), seq_.end(), 0);
        next_session_ = 0;
        const uint64_t hz = clock_.hz;
        const uint64_t start = rte_rdtsc();
        uint64_t limit = r.count_limit;
        double seconds = r.seconds;
        if (limit == 0 && r.rate > 0) {
            // The count is the schedule's: a generator preempted near the end may finish the
            // packets already due within 5 % more time (as it catches up all along).
            limit = static_cast<uint64_t>(r.rate * r.seconds);
            seconds *= 1.05;
        } else if (limit == 0) {
            limit = UINT64_MAX;
        }
        const uint64_t end = start + static_cast<uint64_t>(seconds * static_cast<double>(hz));
        // Due packets at time t: (t - start) * rate / hz, in exact integer arithmetic.
        const auto rate_milli = static_cast<uint64_t>(r.rate * 1000.0);
        rte_mbuf* pkts[max_burst];
        uint64_t now = start;
        while (!g_stop && r.attempted < limit && now < end) {
            uint64_t n = o_.burst;
            if (rate_milli != 0) {
                const auto due = static_cast<uint64_t>(static_cast<proto::u128>(now - start) *
                                                       rate_milli / (uint64_t{1000} * hz));
                const uint64_t want = std::min(due, limit) - std::min(due, r.attempted);
                r.max_behind = std::max(r.max_behind, want);
                n = std::min<uint64_t>(want, o_.burst);
            } else {
                n = std::min<uint64_t>(n, limit - r.attempted);
            }
            if (n != 0) {
                send_burst(r, pkts, static_cast<unsigned>(n), now);
            }
            receive(r);
            now = rte_rdtsc();
        }
        r.send_s = static_cast<double>(now - start) / static_cast<double>(hz);
        // Drain: until every sent packet is answered or drain_ms passed.
        const uint64_t drain_end =
                rte_rdtsc() + static_cast<uint64_t>(o_.drain_ms * 1e-3 * static_cast<double>(hz));
        while (!g_stop && r.received + r.invalid < r.sent && rte_rdtsc() < drain_end) {
            receive(r);
        }
    }

private:
    void send_burst(run_result& r, rte_mbuf** pkts, unsigned n, uint64_t tsc) {
        if (rte_pktmbuf_alloc_bulk(pool_, pkts, n) != 0) {
            ++r.alloc_failed;
            return;
        }
        const uint64_t t1 = proto::ntp_from_unix_ns(clock_.ns(tsc));
        const auto run_bits = static_cast<uint32_t>(run_id_ & 0x3f) << run_shift;
        for (unsigned i = 0; i < n; ++i) {
            rte_mbuf* m = pkts[i];
            auto* f = rte_pktmbuf_mtod(m, uint8_t*);
            std::memcpy(f, t_.bytes.data(), 128);
            m->data_len = t_.len;
            m->pkt_len = t_.len;
            const unsigned s = next_session_;
            next_session_ = next_session_ + 1 == o_.sessions ? 0 : next_session_ + 1;
            const uint32_t seq = run_bits | (seq_[s]++ & seq_mask);
            write_packet(t_, f, s, static_cast<uint16_t>(o_.src_port + s), seq, t1);
        }
        const uint16_t took = rte_eth_tx_burst(port_, 0, pkts, static_cast<uint16_t>(n));
        r.attempted += n;
        r.sent += took;
        if (took < n) {
            r.tx_refused += n - took;
            rte_pktmbuf_free_bulk(pkts + took, n - took);
        }
    }

    void receive(run_result& r) {
        rte_mbuf* pkts[max_burst];
        const uint16_t n = rte_eth_rx_burst(port_, 0, pkts, max_burst);
        if (n == 0) {
            return;
        }
        const uint64_t t4 = clock_.ns(rte_rdtsc());
        const auto run_bits = static_cast<uint32_t>(run_id_ & 0x3f);
        for (uint16_t i = 0; i < n; ++i) {
            check_reply(r, pkts[i], t4, run_bits);
        }
        rte_pktmbuf_free_bulk(pkts, n);
    }

    void check_reply(run_result& r, rte_mbuf* m, uint64_t t4, uint32_t run_bits) {
        if (m->nb_segs != 1) {
            ++r.invalid;
            return;
        }
        const auto* f = rte_pktmbuf_mtod(m, const uint8_t*);
        const proto::parsed_frame p = proto::parse_frame({f, m->data_len});
        if (p.kind != proto::frame_kind::udp || p.src_port != o_.dst_port ||
            p.dst_port < o_.src_port || unsigned{p.dst_port} - o_.src_port >= o_.sessions) {
            ++r.other; // not a reply to us: the reflector's kernel (ND, MLD, ...) or stray
            return;
        }
        if (p.payload_len() < t_.reply_len || (p.ip_version == 6) != o_.v6) {
            ++r.invalid;
            return;
        }
        const uint8_t* ip = f + p.l3_off;
        const uint8_t* udp = f + p.l4_off;
        const uint16_t pseudo = p.ip_version == 6 ? proto::udp_pseudo_sum_v6(ip, p.udp_len)
                                                  : proto::udp_pseudo_sum_v4(ip, p.udp_len);
        if (proto::load_be16(udp + 6) == 0 && p.ip_version == 4) {
            // IPv4 UDP checksum not computed: allowed (RFC 768).
        } else if (!proto::udp_checksum_ok(pseudo, udp, p.udp_len)) {
            ++r.invalid;
            return;
        }
        const uint8_t* pay = f + p.payload_off();
        const uint32_t sseq = proto::load_be32(pay + proto::reflector::sender_seq);
        if ((sseq >> run_shift) != run_bits) {
            ++r.stale;
            return;
        }
        ++r.received;
        const auto z = (proto::load_be16(pay + proto::reflector::error_estimate) &
                        proto::error_estimate_z_bit) != 0
                               ? proto::ts_format::ptp
                               : proto::ts_format::ntp;
        const uint64_t t3 = proto::decode_timestamp(
                z, proto::load_be64(pay + proto::reflector::timestamp), tai_utc_offset_s);
        const uint64_t t2 = proto::decode_timestamp(
                z, proto::load_be64(pay + proto::reflector::receive_timestamp), tai_utc_offset_s);
        const uint64_t t1 =
                proto::unix_ns_from_ntp(proto::load_be64(pay + proto::reflector::sender_timestamp));
        if (t3 >= t2) {
            r.residence.add(t3 - t2);
        } else {
            ++r.residence_negative;
        }
        if (t4 >= t1) {
            r.rtt.add(t4 - t1);
        }
    }

    const options& o_;
    uint16_t port_;
    rte_mempool* pool_;
    frame_template t_;
    std::vector<uint32_t> seq_;
    unsigned next_session_ = 0;
    uint64_t run_id_ = 0;
    clock_map clock_;
};

// The JSON line, built by hand: integers and fixed-point numbers only, no strings to escape.
class json_line {
public:
    json_line& u(const char* key, uint64_t v) { return raw(key, std::to_string(v)); }
    json_line& f(const char* key, double v, int decimals) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
        return raw(key, buf);
    }
    json_line& str(const char* key, const std::string& v) { return raw(key, "\"" + v + "\""); }
    json_line& hist(const char* key, const histogram& h) {
        json_line j;
        j.u("count", h.count())
                .u("p50", h.quantile(0.5))
                .u("p99", h.quantile(0.99))
                .u("p99.9", h.quantile(0.999))
                .u("max", h.max());
        return raw(key, j.text());
    }
    json_line& raw(const char* key, const std::string& v) {
        s_ += s_.empty() ? "{" : ",";
        s_ += "\"";
        s_ += key;
        s_ += "\":";
        s_ += v;
        return *this;
    }
    std::string text() const { return s_.empty() ? "{}" : s_ + "}"; }

private:
    std::string s_;
};

std::string to_json(const options& o, const run_result& r) {
    const double per_s = r.send_s > 0 ? 1.0 / r.send_s : 0.0;
    json_line j;
    j.str("tool", "twamp-loadgen")
            .u("run", r.run)
            .str("mode", o.mode)
            .u("sessions", o.sessions)
            .f("rate_pps", r.rate, 0)
            .f("seconds", r.seconds, 3)
            .u("count_limit", r.count_limit)
            .f("send_s", r.send_s, 6)
            .u("attempted", r.attempted)
            .u("sent", r.sent)
            .u("tx_refused", r.tx_refused)
            .u("received", r.received)
            .u("loss", r.sent > r.received ? r.sent - r.received : 0)
            .u("invalid", r.invalid)
            .u("stale", r.stale)
            .u("other", r.other)
            .u("alloc_failed", r.alloc_failed)
            .u("max_behind", r.max_behind)
            .f("offered_pps", static_cast<double>(r.attempted) * per_s, 0)
            .f("sent_pps", static_cast<double>(r.sent) * per_s, 0)
            .u("residence_negative", r.residence_negative)
            .hist("residence_ns", r.residence)
            .hist("rtt_ns", r.rtt);
    return j.text();
}

bool parse_mac(const char* text, rte_ether_addr& mac) {
    unsigned b[6];
    char tail;
    if (std::sscanf(text, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) !=
        6) {
        return false;
    }
    for (int i = 0; i < 6; ++i) {
        if (b[i] > 255) {
            return false;
        }
        mac.addr_bytes[i] = static_cast<uint8_t>(b[i]);
    }
    return true;
}

double number(const char* opt, const char* text, double lo, double hi) {
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    if (end == text || *end != '\0' || !(v >= lo && v <= hi)) {
        die(std::string("--") + opt + ": expected a number in [" + std::to_string(lo) + ", " +
            std::to_string(hi) + "], got \"" + text + "\"");
    }
    return v;
}

options parse_args(int argc, char** argv) {
    options o;
    static const option longopts[] = {
            {"mode", required_argument, nullptr, 'm'},
            {"sessions", required_argument, nullptr, 'n'},
            {"src-port", required_argument, nullptr, 'p'},
            {"dst-port", required_argument, nullptr, 'd'},
            {"dst-mac", required_argument, nullptr, 'M'},
            {"rate", required_argument, nullptr, 'r'},
            {"seconds", required_argument, nullptr, 's'},
            {"count", required_argument, nullptr, 'c'},
            {"burst", required_argument, nullptr, 'b'},
            {"drain-ms", required_argument, nullptr, 'D'},
            {"link-timeout", required_argument, nullptr, 'L'},
            {"serve", no_argument, nullptr, 'S'},
            {"help", no_argument, nullptr, 'h'},
            {nullptr, 0, nullptr, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, nullptr)) != -1) {
        switch (c) {
        case 'm':
            o.mode = optarg;
            if (o.mode != "light4" && o.mode != "light6" && o.mode != "stamp4" &&
                o.mode != "stamp6") {
                die("--mode: light4, light6, stamp4 or stamp6");
            }
            o.stamp = o.mode.starts_with("stamp");
            o.v6 = o.mode.ends_with("6");
            break;
        case 'n':
            o.sessions = static_cast<unsigned>(number("sessions", optarg, 1, 60000));
            break;
        case 'p':
            o.src_port = static_cast<uint16_t>(number("src-port", optarg, 1, 65535));
            break;
        case 'd':
            o.dst_port = static_cast<uint16_t>(number("dst-port", optarg, 1, 65535));
            break;
        case 'M':
            if (!parse_mac(optarg, o.dst_mac)) {
                die("--dst-mac: expected xx:xx:xx:xx:xx:xx");
            }
            o.have_dst_mac = true;
            break;
        case 'r':
            o.rate = number("rate", optarg, 0, 1e9);
            break;
        case 's':
            o.seconds = number("seconds", optarg, 0.001, 3600);
            break;
        case 'c':
            o.count = static_cast<uint64_t>(number("count", optarg, 0, 1e12));
            break;
        case 'b':
            o.burst = static_cast<unsigned>(number("burst", optarg, 1, max_burst));
            break;
        case 'D':
            o.drain_ms = number("drain-ms", optarg, 0, 10000);
            break;
        case 'L':
            o.link_timeout = number("link-timeout", optarg, 0.1, 600);
            break;
        case 'S':
            o.serve = true;
            break;
        default:
            std::fprintf(stderr, "usage: see the comment at the top of perf/loadgen.cpp\n");
            std::exit(c == 'h' ? 0 : 2);
        }
    }
    if (optind != argc) {
        die(std::string("unexpected argument \"") + argv[optind] + "\"");
    }
    if (!o.have_dst_mac) {
        die("--dst-mac is required (the reflector port's MAC)");
    }
    if (uint32_t{o.src_port} + o.sessions - 1 > 65535) {
        die("--src-port + --sessions exceeds 65535");
    }
    return o;
}

} // namespace

int main(int argc, char** argv) {
    if (argc == 2 && std::strcmp(argv[1], "--self-test") == 0) {
        return self_test();
    }
    const int eal = rte_eal_init(argc, argv);
    if (eal < 0) {
        die("EAL init failed");
    }
    argc -= eal;
    argv += eal;
    argv[0] = const_cast<char*>("twamp-loadgen");
    const options o = parse_args(argc, argv);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    if (rte_eth_dev_count_avail() < 1) {
        die("no ethdev port (give one with --vdev)");
    }
    const auto port = static_cast<uint16_t>(rte_eth_find_next(0));
    rte_mempool* pool =
            rte_pktmbuf_pool_create("loadgen", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    if (pool == nullptr) {
        die("mbuf pool");
    }
    rte_eth_conf conf{};
    if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(port, 0, 1024, 0, nullptr, pool) != 0 ||
        rte_eth_tx_queue_setup(port, 0, 1024, 0, nullptr) != 0 || rte_eth_dev_start(port) != 0) {
        die("port set-up failed");
    }
    rte_ether_addr mac{};
    rte_eth_macaddr_get(port, &mac);
    // Bounded wait for the link (memif: the peer connected).
    const uint64_t link_end =
            rte_rdtsc() +
            static_cast<uint64_t>(o.link_timeout * static_cast<double>(rte_get_tsc_hz()));
    for (;;) {
        rte_eth_link link{};
        rte_eth_link_get_nowait(port, &link);
        if (link.link_status == RTE_ETH_LINK_UP) {
            break;
        }
        if (g_stop || rte_rdtsc() > link_end) {
            die("link not up within --link-timeout");
        }
        rte_delay_ms(10);
    }

    generator gen(o, port, pool, mac);
    int rc = 0;
    if (!o.serve) {
        run_result r;
        r.rate = o.rate;
        r.seconds = o.seconds;
        r.count_limit = o.count;
        gen.run(r);
        std::cout << to_json(o, r) << std::endl;
    } else {
        std::cout << "{\"tool\":\"twamp-loadgen\",\"ready\":true}" << std::endl;
        std::string line;
        while (!g_stop && std::getline(std::cin, line)) {
            run_result r;
            unsigned long long count = 0;
            const int got = std::sscanf(line.c_str(), "%lf %lf %llu", &r.rate, &r.seconds, &count);
            if (got < 2 || r.rate < 0 || r.seconds <= 0 || r.seconds > 3600) {
                std::cout << "{\"tool\":\"twamp-loadgen\",\"error\":\"expected RATE SECONDS "
                             "[COUNT]\"}"
                          << std::endl;
                rc = 2;
                continue;
            }
            r.count_limit = count;
            gen.run(r);
            std::cout << to_json(o, r) << std::endl;
        }
    }
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    rte_eal_cleanup();
    return rc;
}
