// twamp/crypto against published known answers: FIPS-197 Appendix C.1 (AES-128 block),
// NIST SP 800-38A F.1.1/F.2.1 (ECB, CBC), RFC 2202 §3 (HMAC-SHA-1), RFC 4231 §4 (HMAC-SHA-256),
// truncated to their first 16 octets as the security modes use them.
#include <array>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "twamp/crypto/crypto.hpp"

using namespace twamp::crypto;

namespace {

std::vector<uint8_t> hex(std::string_view h) {
    std::vector<uint8_t> r;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
        r.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    }
    return r;
}

std::array<uint8_t, 16> key16(std::string_view h) {
    auto v = hex(h);
    std::array<uint8_t, 16> k{};
    std::copy(v.begin(), v.end(), k.begin());
    return k;
}

// Every AES known answer runs through both implementations: AES-NI (where this CPU has it) and
// OpenSSL's portable code, the fallback on a CPU without it.
class aes128_kat : public ::testing::TestWithParam<aes128::impl> {};

INSTANTIATE_TEST_SUITE_P(impl, aes128_kat,
                         ::testing::Values(aes128::impl::best, aes128::impl::portable),
                         [](const auto& p) {
                             return p.param == aes128::impl::best ? "best" : "portable";
                         });

TEST(aes128, portable_is_what_it_says) {
    aes128 p(key16("000102030405060708090a0b0c0d0e0f"), aes128::impl::portable);
    EXPECT_FALSE(p.uses_aesni());
}

TEST_P(aes128_kat, fips197_c1) {
    aes128 aes(key16("000102030405060708090a0b0c0d0e0f"), GetParam());
    auto b = hex("00112233445566778899aabbccddeeff");
    aes.ecb_encrypt(b.data(), 1);
    EXPECT_EQ(b, hex("69c4e0d86a7b0430d8cdb78070b4c55a"));
    aes.ecb_decrypt(b.data(), 1);
    EXPECT_EQ(b, hex("00112233445566778899aabbccddeeff"));
}

constexpr std::string_view sp800_key = "2b7e151628aed2a6abf7158809cf4f3c";
constexpr std::string_view sp800_plain =
        "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
        "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";

TEST_P(aes128_kat, sp800_38a_ecb) {
    aes128 aes(key16(sp800_key), GetParam());
    auto b = hex(sp800_plain);
    aes.ecb_encrypt(b.data(), 4);
    EXPECT_EQ(b, hex("3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf"
                     "43b1cd7f598ece23881b00e3ed0306887b0c785e27e8ad3f8223207104725dd4"));
    aes.ecb_decrypt(b.data(), 4);
    EXPECT_EQ(b, hex(sp800_plain));
}

TEST_P(aes128_kat, sp800_38a_cbc_and_the_iv_chains_on) {
    aes128 aes(key16(sp800_key), GetParam());
    const auto cipher = hex("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
                            "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7");
    auto b = hex(sp800_plain);
    auto iv = key16("000102030405060708090a0b0c0d0e0f");
    // Two messages of two blocks each make one stream: the same as four blocks at once.
    aes.cbc_encrypt(iv, b.data(), 2);
    aes.cbc_encrypt(iv, b.data() + 32, 2);
    EXPECT_EQ(b, cipher);
    EXPECT_EQ(iv, key16("3ff1caa1681fac09120eca307586e1a7"));
    auto div = key16("000102030405060708090a0b0c0d0e0f");
    aes.cbc_decrypt(div, b.data(), 1);
    aes.cbc_decrypt(div, b.data() + 16, 3);
    EXPECT_EQ(b, hex(sp800_plain));
    EXPECT_EQ(div, iv);
}

TEST(hmac, rfc2202_sha1_truncated) {
    // Test case 1: key 0x0b * 20, "Hi There".
    hmac_key k1(hash::sha1, hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"));
    std::string_view hi = "Hi There";
    auto m = k1.mac128({reinterpret_cast<const uint8_t*>(hi.data()), hi.size()});
    EXPECT_EQ(std::vector<uint8_t>(m.begin(), m.end()), hex("b617318655057264e28bc0b6fb378c8e"));
    // Test case 2: key "Jefe", in two pieces.
    std::string_view jefe = "Jefe";
    std::string_view what = "what do ya want for nothing?";
    hmac_key k2(hash::sha1, {reinterpret_cast<const uint8_t*>(jefe.data()), jefe.size()});
    auto w = reinterpret_cast<const uint8_t*>(what.data());
    auto m2 = k2.mac128({std::span<const uint8_t>(w, 10), std::span<const uint8_t>(w + 10, 18)});
    EXPECT_EQ(std::vector<uint8_t>(m2.begin(), m2.end()), hex("effcdf6ae5eb2fa2d27416d5f184df9c"));
    // Test case 6: an 80-octet key (longer than the block) is hashed first.
    std::vector<uint8_t> big(80, 0xaa);
    hmac_key k6(hash::sha1, big);
    std::string_view t6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    auto m6 = k6.mac128({reinterpret_cast<const uint8_t*>(t6.data()), t6.size()});
    EXPECT_EQ(std::vector<uint8_t>(m6.begin(), m6.end()), hex("aa4ae5e15272d00e95705637ce8a3b55"));
}

TEST(hmac, rfc4231_sha256_truncated_and_verify) {
    hmac_key k1(hash::sha256, hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"));
    std::string_view hi = "Hi There";
    std::span<const uint8_t> d(reinterpret_cast<const uint8_t*>(hi.data()), hi.size());
    auto m = k1.mac128(d);
    EXPECT_EQ(std::vector<uint8_t>(m.begin(), m.end()), hex("b0344c61d8db38535ca8afceaf0bf12b"));
    EXPECT_TRUE(k1.verify128(d, m.data()));
    m[15] ^= 1;
    EXPECT_FALSE(k1.verify128(d, m.data()));
    // Test case 6: a 131-octet key.
    std::vector<uint8_t> big(131, 0xaa);
    hmac_key k6(hash::sha256, big);
    std::string_view t6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    auto m6 = k6.mac128({reinterpret_cast<const uint8_t*>(t6.data()), t6.size()});
    EXPECT_EQ(std::vector<uint8_t>(m6.begin(), m6.end()), hex("60e431591ee0b67f0d8a26aacbf5b77f"));
}

TEST(crypto, random_bytes_fill_and_differ) {
    std::array<uint8_t, 32> a{}, b{};
    ASSERT_TRUE(random_bytes(a));
    ASSERT_TRUE(random_bytes(b));
    EXPECT_NE(a, b);
}

} // namespace

// Review of issue 17: key material does not outlive its objects (OPENSSL_cleanse in the
// destructors); copies still work (the tables hold the keys by value).
namespace twamp::test {
TEST(key_material, wiped_when_destroyed_and_copies_work) {
    const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    alignas(crypto::aes128) unsigned char a_buf[sizeof(crypto::aes128)];
    std::memset(a_buf, 0, sizeof(a_buf)); // padding and all
    auto* a = new (a_buf) crypto::aes128(std::span<const uint8_t, 16>(key));
    const crypto::aes128 a_copy = *a;
    uint8_t x[16] = {}, y[16] = {};
    a->ecb_encrypt(x, 1);
    a_copy.ecb_encrypt(y, 1);
    EXPECT_EQ(std::memcmp(x, y, 16), 0);
    a->~aes128();
    std::size_t nonzero = 0;
    for (std::size_t i = 0; i < 512; ++i) { // the two schedules (then the AES-NI flag)
        nonzero += a_buf[i] != 0;
    }
    EXPECT_EQ(nonzero, 0u) << "AES key schedules left in memory";

    alignas(crypto::hmac_key) unsigned char h_buf[sizeof(crypto::hmac_key)];
    std::memset(h_buf, 0, sizeof(h_buf));
    auto* h = new (h_buf) crypto::hmac_key(crypto::hash::sha256, std::span<const uint8_t>(key));
    const crypto::hmac_key h_copy = *h;
    EXPECT_EQ(h->mac128(std::span<const uint8_t>(key)),
              h_copy.mac128(std::span<const uint8_t>(key)));
    h->~hmac_key();
    nonzero = 0;
    for (std::size_t i = 1; i < sizeof(h_buf); ++i) { // [0]: the hash (sha256 = 1)
        nonzero += h_buf[i] != 0;
    }
    EXPECT_EQ(nonzero, 0u) << "HMAC key states left in memory";
}
} // namespace twamp::test
