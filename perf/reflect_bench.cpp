// reflect_bench: cycles per packet of the reflector's per-packet protocol work, the hot chain
//   parse_frame -> check_test_packet -> reflect_prepare   (per packet, in a 32-packet burst)
//   reflect_finish                                         (a second short pass, as the worker
//                                                           stamps T3 right before TX)
// No DPDK: frames live in plain 2 KiB buffers (an mbuf's data room).
//
// What is measured, honestly:
//   - Ping-pong: each burst reflects the frames the previous burst produced. A reply is itself
//     a valid test packet (unicast source, verified checksums, same length; its Sequence Number,
//     T3 and Error Estimate become the "sender's"), so every packet takes exactly the code path
//     a fresh request of that size takes, and no copy is hidden in the figure. Every verdict is
//     counted; a run in which a single packet was not reflected is an error, not a number.
//   - Caches are warm: the 32 frames stay in L1/L2. In the dataplane the first touch of a
//     received frame can miss (DMA; DDIO puts it in LLC at best), which the worker hides by
//     prefetching; that cost belongs to the burst loop, which perf/ measures separately.
//   - Cycles are TSC ticks (__rdtsc), constant-rate reference cycles, which is what the
//     dataplane's own busy-cycle counters read too; ns come from std::chrono::steady_clock.
//   - Each case: `runs` runs of `bursts` bursts. cycles/pkt and ns/pkt are the median run by
//     TSC and wall clock; "(min)" is the fastest run; "(on-CPU)" is the median of the thread's
//     CPU time (CLOCK_THREAD_CPUTIME_ID) in TSC cycles, which leaves out the time the thread
//     was preempted: on a shared machine the steadiest figure. Mpps = 1000 / median ns/pkt.
//
// Cases named "... fused, ..." run the fused fast path (include/twamp/proto/fast.hpp) instead:
//   fast_parse -> fast_reflect -> fast_set_seq                (per packet)
//   reflect_finish                                            (the second pass, as above)
//
//   reflect_bench [--runs N] [--bursts N] [--case SUBSTRING]
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <x86intrin.h>

#include "twamp/crypto/crypto.hpp"
#include "twamp/proto/auth.hpp"
#include "twamp/proto/bytes.hpp"
#include "twamp/proto/checksum.hpp"
#include "twamp/proto/fast.hpp"
#include "twamp/proto/packet.hpp"
#include "twamp/proto/reflect.hpp"
#include "twamp/proto/test_packet.hpp"

namespace {

namespace tp = twamp::proto;

constexpr std::size_t burst = 32;
constexpr std::size_t buf_size = 2048;

struct bench_case {
    std::string name;
    int ip_version;
    int vlans;
    tp::test_mode mode;
    std::size_t payload_len;
    bool offload;             // ipv4/l4_checksum_verified: the NIC checked the sums
    bool symmetrical = false; // RFC 6038 symmetrical size negotiated (TWAMP)
    bool fused = false;       // the fused fast path (proto/fast.hpp) instead of the chain
    bool tlv_mix = false;     // STAMP with a typical TLV mix (stamp_tlv_mix below)
    // Issue 17: the authenticated layouts (proto/auth.hpp). Not ping-pong (a reply is not a
    // valid authenticated request: its HMAC is elsewhere): each burst starts from the
    // request's octets copied back into the buffer (a 112..160-octet memcpy per packet,
    // counted in the figure), then the chain and auth_finish after T3.
    tp::auth_mode auth = tp::auth_mode::none;
};

// A typical STAMP request's TLVs (RFC 8972 §4): Timestamp Information (§4.3), Location (§4.2)
// asking for the source MAC, the destination and source IP, Class of Service (§4.4, DSCP1 46),
// Direct Measurement (§4.5), Follow-Up Telemetry (§4.7); the Session-Sender sets U on each. 112
// octets: a 156-octet payload. The reply, with every Flags octet 0, is itself such a request
// (ping-pong, below): the next burst answers the same TLVs again (Flags rewritten from 0 to 0:
// one store fewer per TLV than a sender's U would cost).
constexpr uint8_t stamp_tlv_mix[] = {
        0x80, 3, 0, 4,  0,    0, 0, 0,                         // Timestamp Information
        0x80, 2, 0, 56, 0,    0, 0, 0,                         // Location: ports, then
        0x80, 1, 0, 8,  0,    0, 0, 0, 0, 0, 0, 0,             //   Source MAC
        0x80, 4, 0, 16, 0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //   Destination IP
        0,    0, 0, 0,                                         //
        0x80, 7, 0, 16, 0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //   Source IP
        0,    0, 0, 0,                                         //
        0x80, 4, 0, 4,  0xb8, 0, 0, 0,                         // Class of Service, DSCP1 46
        0x80, 5, 0, 12, 0,    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, // Direct Measurement
        0x80, 7, 0, 16, 0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // Follow-Up Telemetry
        0,    0, 0, 0,                                         //
};

// Sets reflect_policy::symmetrical_size where the tree has it, so that this file also builds
// against an older src/proto for a before/after comparison (perf/RESULTS.md).
template<class P>
void set_symmetrical(P& p, bool v) {
    if constexpr (requires { p.symmetrical_size; }) {
        p.symmetrical_size = v;
    }
}

// Appends octets to a frame under construction (a plain loop: GCC 12's -O3 warns falsely about
// std::vector::insert of short ranges).
struct frame_writer {
    std::vector<uint8_t> f;
    void put(std::initializer_list<uint8_t> octets) {
        for (uint8_t o : octets) {
            f.push_back(o);
        }
    }
    void put(const uint8_t* p, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            f.push_back(p[i]);
        }
    }
    std::size_t size() const { return f.size(); }
};

// The keys of the authenticated cases: a TWAMP test session's (from fixed session keys and SID)
// and a STAMP reflector's.
struct bench_keys {
    const uint8_t aes_sk[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    const uint8_t hmac_sk[32] = {21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36,
                                 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52};
    const uint8_t sid[16] = {0xc6, 0x12, 0, 2, 0xe9, 0xa1, 0xb2, 0xc3, 0, 0, 0, 0, 1, 2, 3, 4};
    twamp::crypto::test_keys twamp = twamp::crypto::derive_test_keys(
            std::span<const uint8_t, 16>(aes_sk), std::span<const uint8_t, 32>(hmac_sk),
            std::span<const uint8_t, 16>(sid));
    twamp::crypto::hmac_key stamp{twamp::crypto::hash::sha256,
                                  std::span<const uint8_t>(hmac_sk, 32)};
    tp::auth_keys twamp_keys{&twamp.aes, &twamp.hmac, nullptr, 0};
    tp::auth_keys stamp_keys{nullptr, &stamp, nullptr, 0};
};
const bench_keys& keys() {
    static const bench_keys k;
    return k;
}

// An authenticated sender's payload (RFC 5357 §4.1.2 / RFC 8762 §4.2.2) made with keys().
void make_auth_payload(const bench_case& c, uint8_t* pl) {
    tp::store_be32(pl + tp::auth_sender::seq, 1);
    tp::store_be64(pl + tp::auth_sender::timestamp, 0xe9a1b2c380000000ULL);
    tp::store_be16(pl + tp::auth_sender::error_estimate, 0x0001);
    const bench_keys& k = keys();
    if (c.auth == tp::auth_mode::stamp_authenticated) {
        tp::store_be16(pl + tp::auth_sender::ssid, 0x1234);
        const auto m = k.stamp.mac128(std::span<const uint8_t>(pl, tp::auth_sender::stamp_hmac));
        std::memcpy(pl + tp::auth_sender::stamp_hmac, m.data(), 16);
        return;
    }
    const bool enc = c.auth == tp::auth_mode::twamp_encrypted;
    const auto m = k.twamp.hmac.mac128(std::span<const uint8_t>(pl, enc ? 32 : 16));
    std::memcpy(pl + tp::auth_sender::twamp_hmac, m.data(), 16);
    if (enc) {
        std::array<uint8_t, 16> iv{};
        k.twamp.aes.cbc_encrypt(iv, pl, 2);
    } else {
        k.twamp.aes.ecb_encrypt(pl, 1);
    }
}

// A Session-Sender request: Ethernet [802.1Q] IPv4|IPv6 UDP, sender fields, zero padding, with
// correct checksums.
std::vector<uint8_t> make_request(const bench_case& c) {
    frame_writer w;
    w.put({0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}); // destination: our port
    w.put({0x02, 0x00, 0x5e, 0x00, 0x00, 0x0a}); // source: the sender
    for (int i = 0; i < c.vlans; ++i) {
        w.put({0x81, 0x00, 0x00, static_cast<uint8_t>(100 + i)});
    }
    const std::size_t udp_len = tp::udp_hdr_len + c.payload_len;
    const std::size_t l3 = w.size() + 2;
    if (c.ip_version == 4) {
        w.put({0x08, 0x00});
        const uint16_t total = static_cast<uint16_t>(20 + udp_len);
        w.put({0x45, 0x00, static_cast<uint8_t>(total >> 8), static_cast<uint8_t>(total)});
        w.put({0x12, 0x34, 0x40, 0x00, 64, 17, 0, 0}); // ID, DF, TTL, UDP, checksum below
        w.put({198, 18, 0, 10, 198, 18, 0, 2});
        tp::store_be16(w.f.data() + l3 + 10,
                       tp::internet_checksum(std::span<const uint8_t>(w.f.data() + l3, 20)));
    } else {
        w.put({0x86, 0xdd});
        w.put({0x60, 0x00, 0x00, 0x00, static_cast<uint8_t>(udp_len >> 8),
               static_cast<uint8_t>(udp_len), 17, 64});
        const uint8_t s6[16] = {0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
        const uint8_t d6[16] = {0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
        w.put(s6, sizeof s6);
        w.put(d6, sizeof d6);
    }
    const std::size_t l4 = w.size();
    w.put({0xc3, 0x50, 0x03, 0x5e, static_cast<uint8_t>(udp_len >> 8),
           static_cast<uint8_t>(udp_len), 0, 0});
    std::vector<uint8_t> f = std::move(w.f);
    f.resize(l4 + udp_len, 0);
    uint8_t* pl = f.data() + l4 + 8;
    if (c.auth != tp::auth_mode::none) {
        make_auth_payload(c, pl);
    } else {
        tp::store_be32(pl + tp::sender::seq, 1);
        tp::store_be64(pl + tp::sender::timestamp, 0xe9a1b2c380000000ULL);
        tp::store_be16(pl + tp::sender::error_estimate, 0x0001);
        if (c.mode == tp::test_mode::stamp) {
            tp::store_be16(pl + tp::sender::ssid, 0x1234);
            if (c.tlv_mix) {
                std::memcpy(pl + tp::stamp_tlv_offset, stamp_tlv_mix, sizeof stamp_tlv_mix);
            }
        } else {
            // TWAMP padding: a pattern (RFC 6038 symmetrical size: 27 MBZ octets first).
            for (std::size_t i = c.symmetrical ? 41 : 14; i < c.payload_len; ++i) {
                pl[i] = static_cast<uint8_t>(0x30 + i * 7);
            }
        }
    }
    const uint16_t ps =
            c.ip_version == 4
                    ? tp::udp_pseudo_sum_v4(f.data() + l3, static_cast<uint16_t>(udp_len))
                    : tp::udp_pseudo_sum_v6(f.data() + l3, static_cast<uint32_t>(udp_len));
    tp::store_be16(f.data() + l4 + 6, tp::udp_checksum(ps, f.data() + l4, udp_len));
    return f;
}

struct run_result {
    double cycles_per_pkt;
    double ns_per_pkt;
    double cpu_cycles_per_pkt; // on-CPU time of this thread, in TSC cycles
};

// This thread's CPU time: unlike the TSC and the wall clock it stops while the scheduler runs
// someone else, which on a shared 2-core machine is most of the noise.
uint64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

struct bench_state {
    alignas(64) std::array<std::array<uint8_t, buf_size>, burst> bufs{};
    std::vector<uint8_t> request; // the authenticated cases: copied in before each burst
    std::array<tp::auth_finish_keys, burst> fk{}; // their keys, prepare -> finish
    std::array<uint16_t, burst> len{};
    uint64_t reflected = 0;
    uint64_t not_reflected = 0;
    uint32_t seq = 0;
    uint64_t now_ns = 1'700'000'000'000'000'000ULL;
};

const uint8_t our_mac[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};

// One burst through the chain, the way src/dataplane/worker.cpp runs it.
inline void one_burst(bench_state& st, const tp::reflect_policy& policy, bool offload) {
    std::array<tp::pending_reply, burst> pending;
    std::array<uint8_t*, burst> out;
    tp::reflect_params params;
    params.our_mac = our_mac;
    params.stateful = true;
    params.t2_ns = st.now_ns;
    params.our_error = {true, false, 10, 3};
    params.ipv4_checksum_verified = offload;
    params.l4_checksum_verified = offload;
    // As the worker does: the burst's software T2 (and below T3) converted once, and the
    // rewritten region's sum handed from the check to the rewrite.
    const tp::encoded_time t2(st.now_ns, 37);
    params.t2_encoded = &t2;
    std::size_t n = 0;
    std::array<tp::auth_finish_keys, burst>& fk = st.fk;
    const bool auth = !st.request.empty();
    for (std::size_t i = 0; i < burst; ++i) {
        uint8_t* data = st.bufs[i].data();
        if (auth) {
            std::memcpy(data, st.request.data(), st.request.size());
            st.len[i] = static_cast<uint16_t>(st.request.size());
            params.auth_out = &fk[n];
        }
        const std::span<const uint8_t> frame(data, st.len[i]);
        const tp::parsed_frame pf = tp::parse_frame(frame);
        tp::verified_sums sums;
        if (pf.kind != tp::frame_kind::udp ||
            tp::check_test_packet(frame, pf, policy, offload, offload, &sums) !=
                    tp::drop_reason::none) {
            ++st.not_reflected;
            continue;
        }
        params.verified_region_sum = sums.region_known ? &sums.region : nullptr;
        params.reflector_seq = st.seq++;
        const tp::reflect_result rr =
                tp::reflect_prepare(std::span<uint8_t>(data, buf_size), pf, policy, params);
        if (rr.v != tp::verdict::reflect) {
            ++st.not_reflected;
            continue;
        }
        st.len[i] = rr.reply.len;
        pending[n] = rr.reply;
        out[n++] = data;
    }
    const tp::encoded_time t3(st.now_ns + 1500, 37);
    for (std::size_t i = 0; i < n; ++i) {
        tp::reflect_finish(out[i], pending[i], t3);
    }
    if (auth) { // as the worker's transmit does: after T3
        for (std::size_t i = 0; i < n; ++i) {
            tp::auth_finish(out[i], pending[i], fk[i]);
        }
    }
    st.reflected += n;
    st.now_ns += 10'000;
}

// The same burst through the fused fast path (include/twamp/proto/fast.hpp) as the worker
// would run it: fast_parse, fast_reflect (stateless: the reflector's Sequence Number is known
// only after the session lookup), fast_set_seq, and reflect_finish in the second pass. A frame
// the fast path does not take is counted as not reflected: these cases measure the fast path.
inline void one_burst_fused(bench_state& st, const tp::reflect_policy& policy, bool offload) {
    std::array<tp::pending_reply, burst> pending;
    std::array<uint8_t*, burst> out;
    tp::reflect_params params;
    params.our_mac = our_mac;
    params.stateful = false;
    params.t2_ns = st.now_ns;
    params.our_error = {true, false, 10, 3};
    params.ipv4_checksum_verified = offload;
    params.l4_checksum_verified = offload;
    const tp::encoded_time t2(st.now_ns, 37);
    params.t2_encoded = &t2;
    std::size_t n = 0;
    for (std::size_t i = 0; i < burst; ++i) {
        uint8_t* data = st.bufs[i].data();
        tp::parsed_frame pf;
        tp::fast_info info;
        if (!tp::fast_parse(data, st.len[i], pf) ||
            tp::fast_reflect(data, buf_size, pf, policy, params, pending[n], info) !=
                    tp::drop_reason::none) {
            ++st.not_reflected;
            continue;
        }
        tp::fast_set_seq(data, pending[n], st.seq++);
        st.len[i] = pending[n].len;
        out[n++] = data;
    }
    const tp::encoded_time t3(st.now_ns + 1500, 37);
    for (std::size_t i = 0; i < n; ++i) {
        tp::reflect_finish(out[i], pending[i], t3);
    }
    st.reflected += n;
    st.now_ns += 10'000;
}

run_result run(bench_state& st, const tp::reflect_policy& policy, bool offload, bool fused,
               std::size_t bursts) {
    const uint64_t cpu0 = thread_cpu_ns();
    const auto t0 = std::chrono::steady_clock::now();
    const uint64_t c0 = __rdtsc();
    if (fused) {
        for (std::size_t b = 0; b < bursts; ++b) {
            one_burst_fused(st, policy, offload);
        }
    } else {
        for (std::size_t b = 0; b < bursts; ++b) {
            one_burst(st, policy, offload);
        }
    }
    const uint64_t c1 = __rdtsc();
    const auto t1 = std::chrono::steady_clock::now();
    const uint64_t cpu1 = thread_cpu_ns();
    const double pkts = static_cast<double>(bursts * burst);
    const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
    const double tsc_per_ns = static_cast<double>(c1 - c0) / ns;
    return {static_cast<double>(c1 - c0) / pkts, ns / pkts,
            static_cast<double>(cpu1 - cpu0) * tsc_per_ns / pkts};
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

std::vector<bench_case> all_cases() {
    std::vector<bench_case> cs;
    const struct {
        const char* name;
        int ip;
        int vlans;
        tp::test_mode mode;
        std::size_t len;
        bool symmetrical;
        bool tlv_mix = false;
    } shapes[] = {
            {"twamp-light ipv4 41", 4, 0, tp::test_mode::twamp_light, 41, false},
            {"twamp-light ipv6 41", 6, 0, tp::test_mode::twamp_light, 41, false},
            {"twamp-light ipv4+vlan 41", 4, 1, tp::test_mode::twamp_light, 41, false},
            {"stamp ipv4 44", 4, 0, tp::test_mode::stamp, 44, false},
            {"stamp ipv6 44", 6, 0, tp::test_mode::stamp, 44, false},
            // 1,400 octets: the padding re-used (RFC 5357 §4.2.1: moved from octet 14 to 41),
            // or left in place (RFC 6038 symmetrical size); STAMP with an all-zero remainder.
            {"twamp-light ipv4 1400", 4, 0, tp::test_mode::twamp_light, 1400, false},
            {"twamp-light ipv6 1400", 6, 0, tp::test_mode::twamp_light, 1400, false},
            {"twamp-light ipv4 1400 symm", 4, 0, tp::test_mode::twamp_light, 1400, true},
            {"stamp ipv4 1400 zeros", 4, 0, tp::test_mode::stamp, 1400, false},
            // Issue 16: the TLV handlers on a typical mix (stamp_tlv_mix).
            {"stamp ipv4 tlv mix", 4, 0, tp::test_mode::stamp, 44 + sizeof stamp_tlv_mix, false,
             true},
    };
    for (const auto& s : shapes) {
        for (bool offload : {false, true}) {
            cs.push_back({std::string(s.name) + (offload ? ", nic csum" : ", sw csum"), s.ip,
                          s.vlans, s.mode, s.len, offload, s.symmetrical, false, s.tlv_mix});
        }
    }
    // Issue 17: the authenticated layouts (general path, auth_finish after T3).
    const struct {
        const char* name;
        tp::test_mode mode;
        std::size_t len;
        tp::auth_mode auth;
    } auth_shapes[] = {
            {"twamp-auth ipv4 48", tp::test_mode::twamp_light, 48,
             tp::auth_mode::twamp_authenticated},
            {"twamp-enc ipv4 48", tp::test_mode::twamp_light, 48, tp::auth_mode::twamp_encrypted},
            {"stamp-auth ipv4 112", tp::test_mode::stamp, 112, tp::auth_mode::stamp_authenticated},
    };
    for (const auto& s : auth_shapes) {
        for (bool offload : {false, true}) {
            bench_case c{std::string(s.name) + (offload ? ", nic csum" : ", sw csum"),
                         4,
                         0,
                         s.mode,
                         s.len,
                         offload};
            c.auth = s.auth;
            cs.push_back(c);
        }
    }
    // The fused fast path on the shapes it takes ("<shape> fused, sw csum": not a substring of
    // the chain's case name, so --case picks one or the other).
    for (const auto& s : shapes) {
        if (s.mode == tp::test_mode::stamp && s.len != 44) {
            continue; // STAMP with more than the base: TLVs or padding, the general path's
        }
        for (bool offload : {false, true}) {
            cs.push_back({std::string(s.name) + (offload ? " fused, nic csum" : " fused, sw csum"),
                          s.ip, s.vlans, s.mode, s.len, offload, s.symmetrical, true});
        }
    }
    return cs;
}

} // namespace

int main(int argc, char** argv) {
    std::size_t runs = 21;
    std::size_t bursts = 20000;
    std::string filter;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if ((a == "--runs" || a == "--bursts" || a == "--case") && i + 1 < argc) {
            std::string_view v = argv[++i];
            if (a == "--case") {
                filter = v;
            } else {
                std::size_t n = std::strtoul(v.data(), nullptr, 10);
                (a == "--runs" ? runs : bursts) = std::max<std::size_t>(n, 1);
            }
        } else {
            std::fprintf(stderr, "usage: %s [--runs N] [--bursts N] [--case SUBSTRING]\n", argv[0]);
            return 2;
        }
    }

    std::printf("reflect_bench: parse_frame + check_test_packet + reflect_prepare + "
                "reflect_finish, %zu-packet bursts, ping-pong, median of %zu runs x %zu bursts\n",
                burst, runs, bursts);
    std::printf("| %-40s | %10s | %10s | %10s | %7s | %13s |\n", "case", "cycles/pkt", "(min)",
                "(on-CPU)", "ns/pkt", "Mpps per core");
    std::printf("|%s|%s:|%s:|%s:|%s:|%s:|\n", std::string(42, '-').c_str(),
                std::string(11, '-').c_str(), std::string(11, '-').c_str(),
                std::string(11, '-').c_str(), std::string(8, '-').c_str(),
                std::string(14, '-').c_str());
    int status = 0;
    for (const bench_case& c : all_cases()) {
        if (!filter.empty() && c.name.find(filter) == std::string::npos) {
            continue;
        }
        auto st = std::make_unique<bench_state>();
        const std::vector<uint8_t> req = make_request(c);
        for (std::size_t i = 0; i < burst; ++i) {
            std::memcpy(st->bufs[i].data(), req.data(), req.size());
            st->len[i] = static_cast<uint16_t>(req.size());
        }
        tp::reflect_policy policy;
        policy.mode = c.mode;
        set_symmetrical(policy, c.symmetrical);
        if (c.auth != tp::auth_mode::none) {
            policy.auth = c.auth;
            policy.keys = c.auth == tp::auth_mode::stamp_authenticated ? &keys().stamp_keys
                                                                       : &keys().twamp_keys;
            st->request = req;
        }
        run(*st, policy, c.offload, c.fused, bursts / 10 + 1); // warm-up: caches, branch predictors
        std::vector<double> cyc, ns, cpu;
        for (std::size_t r = 0; r < runs; ++r) {
            run_result rr = run(*st, policy, c.offload, c.fused, bursts);
            cyc.push_back(rr.cycles_per_pkt);
            ns.push_back(rr.ns_per_pkt);
            cpu.push_back(rr.cpu_cycles_per_pkt);
        }
        // Every packet must have been reflected, and the last replies must verify as sent.
        bool ok = st->not_reflected == 0;
        // An authenticated TWAMP reply is 64 octets longer than its 48-octet request.
        const std::size_t want_len =
                c.auth != tp::auth_mode::none && c.mode != tp::test_mode::stamp && req.size() < 112
                        ? req.size() + 64
                        : req.size();
        for (std::size_t i = 0; ok && i < burst; ++i) {
            const std::span<const uint8_t> f(st->bufs[i].data(), st->len[i]);
            const tp::parsed_frame pf = tp::parse_frame(f);
            ok = pf.kind == tp::frame_kind::udp && st->len[i] == want_len &&
                 tp::check_test_packet(f, pf, policy, false, false) == tp::drop_reason::none;
        }
        if (!ok) {
            std::printf("| %-40s | ERROR: %llu packets not reflected or a reply does not verify\n",
                        c.name.c_str(), static_cast<unsigned long long>(st->not_reflected));
            status = 1;
            continue;
        }
        const double m_ns = median(ns);
        std::printf("| %-40s | %10.1f | %10.1f | %10.1f | %7.2f | %13.1f |\n", c.name.c_str(),
                    median(cyc), *std::min_element(cyc.begin(), cyc.end()), median(cpu), m_ns,
                    1e3 / m_ns);
    }
    return status;
}
