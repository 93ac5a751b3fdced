// libFuzzer target: the fused fast path (include/twamp/proto/fast.hpp) against the general
// chain, differentially (fast_diff.hpp says what must hold): every output octet, the verdict
// and reason, the pending_reply and the request's fields equal; the frame untouched whenever
// the fast path answers "not handled" (fast_general) or drops.
//
// Input: an 8-octet control header, then the frame.
//   0  bit 0 STAMP mode (else TWAMP Light)      bit 4 l4_checksum_verified (NIC flag; set only
//      bit 1 fixed DSCP (else copy)                   when the UDP checksum is zero or verifies:
//      bit 2 allow IPv6 zero UDP checksum             a NIC never passes a bad one)
//      bit 3 ipv4_checksum_verified (NIC flag)   bit 5 stateful
//                                                bit 6 buffer capacity == frame length exactly
//                                                bit 7 no port MAC (reply from the request's dst)
//   1  bits 0-5 fixed DSCP value, bits 6-7 timestamp policy (0 auto, 1 ntp, 2 ptp, 3 auto)
//   2  extra buffer capacity past the frame (when bit 6 of octet 0 is clear)
//   3  bit 0 rewrite the IPv4 header checksum correctly first, bit 1 the UDP checksum (unless
//      zero). Bit 2: S bit of our Error Estimate. Bits 3-7: its Scale.
//   4  our Error Estimate Multiplier (zero included)
//   5  reflector sequence number (low octet; the rest fixed)
//   6  bit 0 the burst's encoded T2 given, bit 1 its ns differs from t2_ns (a per-packet device
//      timestamp: the encoded one must not be used), bit 2 TX UDP checksum offload, bit 3
//      RFC 6038 symmetrical size, bit 4 stateful via fast_set_seq after a stateless
//      fast_reflect, bit 5 T3 given encoded, bits 6-7 T2 jitter
//   7  T3 jitter
// Also checked: a frame of the fast shape (fast_parse accepted; TWAMP Light payload of 41 octets
// or more; STAMP payload 44; the buffer holds the datagram) is never handed back as
// fast_general.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fast_diff.hpp"
#include "fuzz_oracle.hpp"

#include "twamp/proto/bytes.hpp"
#include "twamp/proto/checksum.hpp"
#include "twamp/proto/fast.hpp"
#include "twamp/proto/reflect.hpp"

namespace {

namespace tp = twamp::proto;

constexpr std::size_t header_len = 8;
constexpr uint8_t port_mac[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0xfe};
constexpr uint64_t base_time_ns = 1'700'000'000'123'456'789ULL;

// Makes the checksums the header asks for right, so that verification is passed often.
void fix_checksums(std::vector<uint8_t>& b, std::size_t n, uint8_t how) {
    const tp::parsed_frame pf = tp::parse_frame(std::span<const uint8_t>(b.data(), n));
    if (pf.kind != tp::frame_kind::udp) {
        return;
    }
    uint8_t* ip = b.data() + pf.l3_off;
    if ((how & 1) && pf.ip_version == 4) {
        tp::store_be16(ip + 10, 0);
        tp::store_be16(ip + 10, tp::internet_checksum(std::span<const uint8_t>(ip, pf.l3_hdr_len)));
    }
    uint8_t* udp = b.data() + pf.l4_off;
    if ((how & 2) && tp::load_be16(udp + 6) != 0) {
        const uint16_t ps = pf.ip_version == 4 ? tp::udp_pseudo_sum_v4(ip, pf.udp_len)
                                               : tp::udp_pseudo_sum_v6(ip, pf.udp_len);
        tp::store_be16(udp + 6, tp::udp_checksum(ps, udp, pf.udp_len));
    }
}

// The UDP checksum is absent or verifies: what a NIC's "good" flag promises.
bool udp_checksum_good(const std::vector<uint8_t>& b, std::size_t n) {
    const tp::parsed_frame pf = tp::parse_frame(std::span<const uint8_t>(b.data(), n));
    if (pf.kind != tp::frame_kind::udp) {
        return true;
    }
    const uint8_t* ip = b.data() + pf.l3_off;
    const uint8_t* udp = b.data() + pf.l4_off;
    if (tp::load_be16(udp + 6) == 0) {
        return true;
    }
    const uint16_t ps = pf.ip_version == 4 ? tp::udp_pseudo_sum_v4(ip, pf.udp_len)
                                           : tp::udp_pseudo_sum_v6(ip, pf.udp_len);
    return tp::udp_checksum_ok(ps, udp, pf.udp_len);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < header_len || size - header_len > 0xffff - 256) {
        return 0;
    }
    const uint8_t* h = data;
    const std::size_t n = size - header_len;
    const bool exact = (h[0] & 0x40) != 0;
    std::vector<uint8_t> buf(n + (exact ? 0 : h[2]));
    if (n != 0) {
        std::memcpy(buf.data(), data + header_len, n);
    }
    for (std::size_t i = n; i < buf.size(); ++i) {
        buf[i] = static_cast<uint8_t>(0xa5 ^ i); // what lies past the frame must stay
    }
    fix_checksums(buf, n, h[3]);

    tp::reflect_policy policy;
    policy.mode = (h[0] & 1) ? tp::test_mode::stamp : tp::test_mode::twamp_light;
    policy.dscp = (h[0] & 2) ? static_cast<int8_t>(h[1] & 0x3f) : tp::dscp_copy;
    policy.timestamps = static_cast<tp::ts_policy>(((h[1] >> 6) & 3) == 3 ? 0 : (h[1] >> 6) & 3);
    policy.allow_ipv6_zero_checksum = (h[0] & 4) != 0;
    policy.symmetrical_size = (h[6] & 8) != 0;

    tp::reflect_params params;
    params.our_mac = (h[0] & 0x80) ? nullptr : port_mac;
    params.stateful = (h[0] & 0x20) != 0;
    params.reflector_seq = 0x5a5a0000u | h[5];
    params.t2_ns = base_time_ns + static_cast<uint64_t>(h[6] >> 6) * 999'999'999ULL;
    const tp::encoded_time t2(params.t2_ns + ((h[6] & 2) ? 1 : 0), params.tai_utc_offset_s);
    params.t2_encoded = (h[6] & 1) ? &t2 : nullptr;
    params.our_error = {(h[3] & 4) != 0, false, static_cast<uint8_t>(h[3] >> 3), h[4]};
    params.ipv4_checksum_verified = (h[0] & 8) != 0;
    params.l4_checksum_verified = (h[0] & 0x10) != 0 && udp_checksum_good(buf, n);
    params.l4_cksum_offload = (h[6] & 4) != 0;
    const uint64_t t3_ns = params.t2_ns + 1000 + uint64_t{h[7]} * 3'906'250ULL;
    const tp::encoded_time t3(t3_ns, params.tai_utc_offset_s);

    const twamp::fuzz::fast_diff d = twamp::fuzz::run_fast_diff(
            buf, n, policy, params, (h[6] & 0x10) != 0, t3_ns, (h[6] & 0x20) ? &t3 : nullptr);
    if (d.mismatch) {
        std::fprintf(stderr, "fast path: %s (general %d, fast %d)\n", d.mismatch,
                     static_cast<int>(d.general), static_cast<int>(d.fast));
    }
    FUZZ_CHECK(d.mismatch == nullptr);
    // Nothing the fast path may take is left to the general path.
    if (d.parsed) {
        const tp::parsed_frame pf = tp::parse_frame(std::span<const uint8_t>(buf.data(), n));
        const std::size_t len = pf.payload_len();
        const bool shape = policy.mode == tp::test_mode::stamp ? len == 44 : len >= 41;
        FUZZ_CHECK(!shape || d.fast != tp::fast_general);
    }
    return 0;
}
