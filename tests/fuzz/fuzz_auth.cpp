// libFuzzer target: the authenticated and encrypted layouts (include/twamp/proto/auth.hpp)
// through twamp::proto::reflect() (prepare, T3, auth_finish) and the HMAC TLV rules
// (tlv.cpp), issue 17.
//
// Input: a 4-octet control header, then the frame.
//   0  bits 0-1 mode: 0 TWAMP authenticated, 1 TWAMP encrypted, 2 STAMP authenticated,
//      3 unauthenticated STAMP with a key (the HMAC TLV only)
//      bit 2 sign: the harness makes the request valid first (STAMP: the base HMAC and, when
//      the TLV area has an HMAC TLV last, its HMAC; TWAMP: the HMAC and the encryption), so
//      the fuzzer gets past the checks; bit 3 fix the IPv4 and UDP checksums (after signing)
//      bit 4 stateful, bit 5 TX checksum offload, bit 6 symmetrical size, bit 7 no keys at all
//   1  extra buffer capacity past the frame
//   2-3 T2 / T3 jitter
//
// Invariants (FUZZ_CHECK), from fuzz_oracle.hpp's independent checksums and the key objects:
//   - a drop has a reason, never changes the buffer except for no_reply_requested; with no keys
//     an authenticated packet is never reflected; an unsigned authenticated request is never
//     reflected (the HMAC fails) unless it happens to verify (checked with the keys);
//   - a reply fits the buffer, is max(request, 112) octets for TWAMP, as long as the request
//     for STAMP; its IPv4 and UDP checksums verify (offload: the field holds the pseudo sum);
//   - its HMAC verifies with the key, after decryption in encrypted mode (RFC 8762 §4.4,
//     perfSONAR run_reflector's layout); the sender's Sequence Number is where RFC 5357
//     §4.2.1 puts it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "fuzz_oracle.hpp"

#include "twamp/crypto/crypto.hpp"
#include "twamp/proto/auth.hpp"
#include "twamp/proto/reflect.hpp"
#include "twamp/proto/tlv.hpp"

namespace tp = twamp::proto;
namespace tc = twamp::crypto;
using namespace twamp::fuzz;

namespace {

const uint8_t port_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
constexpr uint64_t base_time_ns = 1'700'000'000'000'000'000ULL;

struct keyring {
    const uint8_t aes_sk[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    const uint8_t hmac_sk[32] = {21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36,
                                 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52};
    const uint8_t sid[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
    tc::test_keys twamp = tc::derive_test_keys(std::span<const uint8_t, 16>(aes_sk),
                                               std::span<const uint8_t, 32>(hmac_sk),
                                               std::span<const uint8_t, 16>(sid));
    tc::hmac_key stamp{tc::hash::sha256, std::span<const uint8_t>(hmac_sk, 20)};
    tc::hmac_key ssid7{tc::hash::sha256, std::span<const uint8_t>(aes_sk, 16)};
    tp::stamp_ssid_key table[1] = {{7, &ssid7}};
    tp::auth_keys twamp_keys{&twamp.aes, &twamp.hmac, nullptr, 0};
    tp::auth_keys stamp_keys{nullptr, &stamp, table, 1};
};

const keyring& keys() {
    static const keyring k;
    return k;
}

// The HMAC TLV of a TLV area, when it is the last TLV (Extra Padding aside): its offset.
long last_hmac_tlv(const uint8_t* a, std::size_t n) {
    long at = -1;
    for (std::size_t pos = 0; pos + 4 <= n;) {
        const std::size_t len = be16(a + pos + 2);
        if (len > n - pos - 4) {
            break;
        }
        if (a[pos + 1] == 8 && len == 16 && at < 0) {
            at = static_cast<long>(pos);
        } else if (a[pos + 1] != 1 && at >= 0) {
            return -1;
        }
        pos += 4 + len;
    }
    return at;
}

// Makes `pl` (payload of `n` octets) a request that passes the checks (what a sender does).
void sign(int mode, uint8_t* pl, std::size_t n) {
    const keyring& k = keys();
    if (mode == 0 || mode == 1) {
        if (n < 48) {
            return;
        }
        const bool enc = mode == 1;
        const auto m = k.twamp.hmac.mac128(std::span<const uint8_t>(pl, enc ? 32 : 16));
        std::memcpy(pl + 32, m.data(), 16);
        std::array<uint8_t, 16> iv{};
        if (enc) {
            k.twamp.aes.cbc_encrypt(iv, pl, 2);
        } else {
            k.twamp.aes.ecb_encrypt(pl, 1);
        }
        return;
    }
    const std::size_t base = mode == 2 ? 112 : 44;
    if (n < base) {
        return;
    }
    const uint16_t ssid = be16(pl + (mode == 2 ? 26 : 14));
    const tc::hmac_key& key = ssid == 7 ? k.ssid7 : k.stamp;
    const long h = last_hmac_tlv(pl + base, n - base);
    if (h >= 0) {
        const auto m =
                key.mac128({std::span<const uint8_t>(pl, 4),
                            std::span<const uint8_t>(pl + base, static_cast<std::size_t>(h))});
        std::memcpy(pl + base + h + 4, m.data(), 16);
    }
    if (mode == 2) {
        const auto m = key.mac128(std::span<const uint8_t>(pl, 96));
        std::memcpy(pl + 96, m.data(), 16);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 4 || size > 4 + 1600) {
        return 0;
    }
    const uint8_t* h = data;
    const int mode = h[0] & 3;
    const bool no_keys = (h[0] & 0x80) != 0;
    const std::size_t frame_len = size - 4;
    const std::size_t cap = frame_len + h[1];
    auto buf = std::make_unique<uint8_t[]>(cap);
    std::memcpy(buf.get(), data + 4, frame_len);
    std::memset(buf.get() + frame_len, 0xee, cap - frame_len);
    const layout l0 = locate(buf.get(), frame_len);
    if (l0.ok && (h[0] & 0x04)) {
        sign(mode, buf.get() + l0.payload(), l0.payload_len());
    }
    if (l0.ok && (h[0] & 0x08)) {
        if (l0.version == 4) {
            ref_fix_ipv4_header(buf.get(), l0);
        }
        ref_fix_udp(buf.get(), l0);
    }
    const std::vector<uint8_t> before(buf.get(), buf.get() + cap);

    tp::reflect_policy pol;
    pol.mode = mode >= 2 ? tp::test_mode::stamp : tp::test_mode::twamp_light;
    pol.auth = mode == 0   ? tp::auth_mode::twamp_authenticated
               : mode == 1 ? tp::auth_mode::twamp_encrypted
               : mode == 2 ? tp::auth_mode::stamp_authenticated
                           : tp::auth_mode::none;
    pol.keys = no_keys ? nullptr : (mode >= 2 ? &keys().stamp_keys : &keys().twamp_keys);
    pol.symmetrical_size = (h[0] & 0x40) != 0;
    tp::reflect_params p;
    p.our_mac = port_mac;
    p.stateful = (h[0] & 0x10) != 0;
    p.reflector_seq = 0x01020304;
    p.t2_ns = base_time_ns + uint64_t{h[2]} * 999'999'937ULL;
    p.our_error = {true, false, 3, 7};
    p.l4_cksum_offload = (h[0] & 0x20) != 0;
    const uint64_t t3 = p.t2_ns + uint64_t{h[3]} * 1'000'003ULL;
    const tp::reflect_result res =
            tp::reflect(std::span<uint8_t>(buf.get(), cap), frame_len, pol, p, t3);

    if (res.v != tp::verdict::reflect) {
        FUZZ_CHECK((res.v == tp::verdict::drop) == (res.reason != tp::drop_reason::none));
        if (res.reason != tp::drop_reason::no_reply_requested) {
            FUZZ_CHECK(same(before.data(), buf.get(), cap));
        }
        return 0;
    }
    // Reflected: keys were there (an authenticated layout needs them).
    FUZZ_CHECK(!no_keys || pol.auth == tp::auth_mode::none);
    FUZZ_CHECK(res.reply.len <= cap);
    const layout l = locate(buf.get(), res.reply.len);
    FUZZ_CHECK(l.ok && l.l3_end == res.reply.len);
    const std::size_t req_len = l0.ok ? l0.payload_len() : 0;
    if (pol.auth == tp::auth_mode::stamp_authenticated) {
        FUZZ_CHECK(l.payload_len() == req_len);
    } else if (pol.auth != tp::auth_mode::none) {
        FUZZ_CHECK(l.payload_len() == (req_len < 112 ? 112 : req_len));
    }
    FUZZ_CHECK(ref_ipv4_header_ok(buf.get(), l));
    if (!p.l4_cksum_offload) {
        FUZZ_CHECK(ref_udp_ok(buf.get(), l));
    } else {
        FUZZ_CHECK(ones_equal(be16(buf.get() + l.l4 + 6), ref_fold(ref_pseudo_sum(buf.get(), l))));
    }
    if (pol.auth == tp::auth_mode::none) {
        return 0;
    }
    // The reply's HMAC with the key (and the plaintext under the encryption).
    std::vector<uint8_t> pl(buf.get() + l.payload(), buf.get() + l.payload() + 112);
    const keyring& k = keys();
    if (pol.auth == tp::auth_mode::stamp_authenticated) {
        const tc::hmac_key& key = be16(pl.data() + 26) == 7 ? k.ssid7 : k.stamp;
        FUZZ_CHECK(key.verify128(std::span<const uint8_t>(pl.data(), 96), pl.data() + 96));
    } else if (pol.auth == tp::auth_mode::twamp_encrypted) {
        std::array<uint8_t, 16> iv{};
        k.twamp.aes.cbc_decrypt(iv, pl.data(), 6);
        FUZZ_CHECK(k.twamp.hmac.verify128(std::span<const uint8_t>(pl.data(), 96), pl.data() + 96));
    } else {
        k.twamp.aes.ecb_decrypt(pl.data(), 1);
        FUZZ_CHECK(k.twamp.hmac.verify128(std::span<const uint8_t>(pl.data(), 16), pl.data() + 96));
    }
    const uint32_t seq = be32(pl.data());
    FUZZ_CHECK(!p.stateful || seq == p.reflector_seq);
    FUZZ_CHECK(pl[81] == 0 && pl[95] == 0); // MBZ after the Sender TTL
    return 0;
}
