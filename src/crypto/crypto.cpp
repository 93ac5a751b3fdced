// OpenSSL's libcrypto behind twamp/crypto/crypto.hpp.
//
// The low-level AES_KEY and SHA*_CTX interfaces (deprecated in OpenSSL 3, still shipped; the
// build asks for the 1.1.1 API level, meson.build) are used rather than EVP because their state
// is a plain struct: a key schedule and an HMAC's precomputed inner/outer hash states are
// prepared once, shared read-only by every worker, and copied onto the stack per packet with
// no allocation. EVP contexts are heap objects that cannot be shared between threads.
#include "twamp/crypto/crypto.hpp"

#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <openssl/aes.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

namespace twamp::crypto {

static_assert(sizeof(AES_KEY) <= 256);
static_assert(sizeof(SHA_CTX) <= 128);
static_assert(sizeof(SHA256_CTX) <= 128);

namespace {
const AES_KEY* key_of(const unsigned char* p) noexcept {
    return reinterpret_cast<const AES_KEY*>(p);
}

// AES-NI (x86-64): the FIPS-197 key expansion with AESKEYGENASSIST, the decryption schedule by
// AESIMC (the Equivalent Inverse Cipher, FIPS-197 §5.3.5), one block by 10 rounds. Only called
// where the CPU has AES-NI (cpu_has_aesni()); the functions carry their own target so the rest
// of the build keeps the distribution's baseline.
#if defined(__x86_64__)
bool cpu_has_aesni() noexcept {
    return __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse4.1");
}

[[gnu::target("aes,sse4.1")]] inline __m128i expand_step(__m128i k, __m128i g) noexcept {
    g = _mm_shuffle_epi32(g, 0xff);
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    return _mm_xor_si128(k, g);
}

[[gnu::target("aes,sse4.1")]] void ni_schedule(const uint8_t* key, unsigned char* enc,
                                               unsigned char* dec) noexcept {
    __m128i k[11];
    k[0] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(key));
    k[1] = expand_step(k[0], _mm_aeskeygenassist_si128(k[0], 0x01));
    k[2] = expand_step(k[1], _mm_aeskeygenassist_si128(k[1], 0x02));
    k[3] = expand_step(k[2], _mm_aeskeygenassist_si128(k[2], 0x04));
    k[4] = expand_step(k[3], _mm_aeskeygenassist_si128(k[3], 0x08));
    k[5] = expand_step(k[4], _mm_aeskeygenassist_si128(k[4], 0x10));
    k[6] = expand_step(k[5], _mm_aeskeygenassist_si128(k[5], 0x20));
    k[7] = expand_step(k[6], _mm_aeskeygenassist_si128(k[6], 0x40));
    k[8] = expand_step(k[7], _mm_aeskeygenassist_si128(k[7], 0x80));
    k[9] = expand_step(k[8], _mm_aeskeygenassist_si128(k[8], 0x1b));
    k[10] = expand_step(k[9], _mm_aeskeygenassist_si128(k[9], 0x36));
    for (int i = 0; i < 11; ++i) {
        _mm_store_si128(reinterpret_cast<__m128i*>(enc) + i, k[i]);
        const __m128i d = i == 0 || i == 10 ? k[10 - i] : _mm_aesimc_si128(k[10 - i]);
        _mm_store_si128(reinterpret_cast<__m128i*>(dec) + i, d);
    }
    OPENSSL_cleanse(k, sizeof(k));
}

[[gnu::target("aes,sse4.1")]] inline __m128i ni_enc(__m128i x, const unsigned char* ks) noexcept {
    const __m128i* k = reinterpret_cast<const __m128i*>(ks);
    x = _mm_xor_si128(x, _mm_load_si128(k));
    for (int r = 1; r < 10; ++r) {
        x = _mm_aesenc_si128(x, _mm_load_si128(k + r));
    }
    return _mm_aesenclast_si128(x, _mm_load_si128(k + 10));
}

[[gnu::target("aes,sse4.1")]] inline __m128i ni_dec(__m128i x, const unsigned char* ks) noexcept {
    const __m128i* k = reinterpret_cast<const __m128i*>(ks);
    x = _mm_xor_si128(x, _mm_load_si128(k));
    for (int r = 1; r < 10; ++r) {
        x = _mm_aesdec_si128(x, _mm_load_si128(k + r));
    }
    return _mm_aesdeclast_si128(x, _mm_load_si128(k + 10));
}

[[gnu::target("aes,sse4.1")]] void ni_ecb(const unsigned char* ks, uint8_t* data, std::size_t n,
                                          bool decrypt) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        __m128i* p = reinterpret_cast<__m128i*>(data + i * aes_block);
        const __m128i x = _mm_loadu_si128(p);
        _mm_storeu_si128(p, decrypt ? ni_dec(x, ks) : ni_enc(x, ks));
    }
}

[[gnu::target("aes,sse4.1")]] void ni_cbc_encrypt(const unsigned char* ks, uint8_t* iv,
                                                  uint8_t* data, std::size_t n) noexcept {
    __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(iv));
    for (std::size_t i = 0; i < n; ++i) {
        __m128i* p = reinterpret_cast<__m128i*>(data + i * aes_block);
        c = ni_enc(_mm_xor_si128(_mm_loadu_si128(p), c), ks);
        _mm_storeu_si128(p, c);
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(iv), c);
}

[[gnu::target("aes,sse4.1")]] void ni_cbc_decrypt(const unsigned char* ks, uint8_t* iv,
                                                  uint8_t* data, std::size_t n) noexcept {
    __m128i prev = _mm_loadu_si128(reinterpret_cast<const __m128i*>(iv));
    for (std::size_t i = 0; i < n; ++i) {
        __m128i* p = reinterpret_cast<__m128i*>(data + i * aes_block);
        const __m128i c = _mm_loadu_si128(p);
        _mm_storeu_si128(p, _mm_xor_si128(ni_dec(c, ks), prev));
        prev = c;
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(iv), prev);
}
#else
bool cpu_has_aesni() noexcept {
    return false;
}
void ni_schedule(const uint8_t*, unsigned char*, unsigned char*) noexcept {}
void ni_ecb(const unsigned char*, uint8_t*, std::size_t, bool) noexcept {}
void ni_cbc_encrypt(const unsigned char*, uint8_t*, uint8_t*, std::size_t) noexcept {}
void ni_cbc_decrypt(const unsigned char*, uint8_t*, uint8_t*, std::size_t) noexcept {}
#endif
} // namespace

aes128::aes128() noexcept {
    std::memset(enc_, 0, sizeof(enc_));
    std::memset(dec_, 0, sizeof(dec_));
}

aes128::aes128(std::span<const uint8_t, 16> key) noexcept : aes128(key, impl::best) {}

aes128::aes128(std::span<const uint8_t, 16> key, impl which) noexcept : aes128() {
    ni_ = which == impl::best && cpu_has_aesni();
    if (ni_) {
        ni_schedule(key.data(), enc_, dec_);
        return;
    }
    AES_set_encrypt_key(key.data(), 128, reinterpret_cast<AES_KEY*>(enc_));
    AES_set_decrypt_key(key.data(), 128, reinterpret_cast<AES_KEY*>(dec_));
}

void aes128::ecb_encrypt(uint8_t* data, std::size_t blocks) const noexcept {
    if (ni_) {
        ni_ecb(enc_, data, blocks, false);
        return;
    }
    for (std::size_t i = 0; i < blocks; ++i) {
        AES_encrypt(data + i * aes_block, data + i * aes_block, key_of(enc_));
    }
}

void aes128::ecb_decrypt(uint8_t* data, std::size_t blocks) const noexcept {
    if (ni_) {
        ni_ecb(dec_, data, blocks, true);
        return;
    }
    for (std::size_t i = 0; i < blocks; ++i) {
        AES_decrypt(data + i * aes_block, data + i * aes_block, key_of(dec_));
    }
}

void aes128::cbc_encrypt(std::array<uint8_t, 16>& iv, uint8_t* data,
                         std::size_t blocks) const noexcept {
    if (ni_) {
        ni_cbc_encrypt(enc_, iv.data(), data, blocks);
        return;
    }
    for (std::size_t i = 0; i < blocks; ++i) {
        uint8_t* b = data + i * aes_block;
        for (std::size_t j = 0; j < aes_block; ++j) {
            b[j] ^= iv[j];
        }
        AES_encrypt(b, b, key_of(enc_));
        std::memcpy(iv.data(), b, aes_block);
    }
}

void aes128::cbc_decrypt(std::array<uint8_t, 16>& iv, uint8_t* data,
                         std::size_t blocks) const noexcept {
    if (ni_) {
        ni_cbc_decrypt(dec_, iv.data(), data, blocks);
        return;
    }
    for (std::size_t i = 0; i < blocks; ++i) {
        uint8_t* b = data + i * aes_block;
        uint8_t c[aes_block];
        std::memcpy(c, b, aes_block);
        AES_decrypt(b, b, key_of(dec_));
        for (std::size_t j = 0; j < aes_block; ++j) {
            b[j] ^= iv[j];
        }
        std::memcpy(iv.data(), c, aes_block);
    }
}

namespace {

constexpr std::size_t block_size = 64; // SHA-1 and SHA-256

void init(hash h, unsigned char* ctx) noexcept {
    if (h == hash::sha1) {
        SHA1_Init(reinterpret_cast<SHA_CTX*>(ctx));
    } else {
        SHA256_Init(reinterpret_cast<SHA256_CTX*>(ctx));
    }
}
void update(hash h, unsigned char* ctx, const void* data, std::size_t n) noexcept {
    if (h == hash::sha1) {
        SHA1_Update(reinterpret_cast<SHA_CTX*>(ctx), data, n);
    } else {
        SHA256_Update(reinterpret_cast<SHA256_CTX*>(ctx), data, n);
    }
}
std::size_t final(hash h, unsigned char* ctx, unsigned char* out) noexcept {
    if (h == hash::sha1) {
        SHA1_Final(out, reinterpret_cast<SHA_CTX*>(ctx));
        return SHA_DIGEST_LENGTH;
    }
    SHA256_Final(out, reinterpret_cast<SHA256_CTX*>(ctx));
    return SHA256_DIGEST_LENGTH;
}

} // namespace

hmac_key::hmac_key() noexcept : hmac_key(hash::sha1, {}) {}

hmac_key::~hmac_key() {
    OPENSSL_cleanse(inner_, sizeof(inner_));
    OPENSSL_cleanse(outer_, sizeof(outer_));
}

aes128::~aes128() {
    OPENSSL_cleanse(enc_, sizeof(enc_));
    OPENSSL_cleanse(dec_, sizeof(dec_));
}

hmac_key::hmac_key(hash h, std::span<const uint8_t> key) noexcept : hash_(h) {
    unsigned char k[block_size] = {};
    if (key.size() > block_size) { // RFC 2104 §2: a long key is hashed first
        unsigned char ctx[128];
        init(h, ctx);
        update(h, ctx, key.data(), key.size());
        final(h, ctx, k);
        OPENSSL_cleanse(ctx, sizeof(ctx));
    } else if (!key.empty()) {
        std::memcpy(k, key.data(), key.size());
    }
    unsigned char pad[block_size];
    for (std::size_t i = 0; i < block_size; ++i) {
        pad[i] = static_cast<unsigned char>(k[i] ^ 0x36);
    }
    init(h, inner_);
    update(h, inner_, pad, block_size);
    for (std::size_t i = 0; i < block_size; ++i) {
        pad[i] = static_cast<unsigned char>(k[i] ^ 0x5c);
    }
    init(h, outer_);
    update(h, outer_, pad, block_size);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
}

hmac_key::stream::stream(const hmac_key& k) noexcept : key_(&k) {
    std::memcpy(ctx_, k.inner_, sizeof(ctx_));
}

void hmac_key::stream::update(std::span<const uint8_t> data) noexcept {
    crypto::update(key_->hash_, ctx_, data.data(), data.size());
}

std::array<uint8_t, mac_len> hmac_key::stream::final128() noexcept {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    const std::size_t n = final(key_->hash_, ctx_, digest);
    std::memcpy(ctx_, key_->outer_, sizeof(ctx_));
    crypto::update(key_->hash_, ctx_, digest, n);
    final(key_->hash_, ctx_, digest);
    std::array<uint8_t, mac_len> out;
    std::memcpy(out.data(), digest, mac_len);
    return out;
}

std::array<uint8_t, mac_len> hmac_key::mac128(std::span<const uint8_t> data) const noexcept {
    stream s(*this);
    s.update(data);
    return s.final128();
}

std::array<uint8_t, mac_len>
hmac_key::mac128(std::initializer_list<std::span<const uint8_t>> parts) const noexcept {
    stream s(*this);
    for (auto p : parts) {
        s.update(p);
    }
    return s.final128();
}

bool hmac_key::verify128(std::span<const uint8_t> data, const uint8_t* mac) const noexcept {
    const auto m = mac128(data);
    return equal(m.data(), mac, mac_len);
}

void derive_test_key_bytes(std::span<const uint8_t, 16> aes_session_key,
                           std::span<const uint8_t, 32> hmac_session_key,
                           std::span<const uint8_t, 16> sid, std::span<uint8_t, 16> aes_key_out,
                           std::span<uint8_t, 32> hmac_key_out) noexcept {
    const aes128 by_sid(sid); // perfSONAR's "sidkey"
    std::memcpy(aes_key_out.data(), aes_session_key.data(), 16);
    by_sid.ecb_encrypt(aes_key_out.data(), 1);
    std::memcpy(hmac_key_out.data(), hmac_session_key.data(), 32);
    std::array<uint8_t, 16> iv{};
    by_sid.cbc_encrypt(iv, hmac_key_out.data(), 2);
}

test_keys derive_test_keys(std::span<const uint8_t, 16> aes_session_key,
                           std::span<const uint8_t, 32> hmac_session_key,
                           std::span<const uint8_t, 16> sid) noexcept {
    uint8_t a[16], h[32];
    derive_test_key_bytes(aes_session_key, hmac_session_key, sid, a, h);
    test_keys k{aes128(std::span<const uint8_t, 16>(a)),
                hmac_key(hash::sha1, std::span<const uint8_t>(h, sizeof(h)))};
    OPENSSL_cleanse(a, sizeof(a));
    OPENSSL_cleanse(h, sizeof(h));
    return k;
}

bool equal(const uint8_t* a, const uint8_t* b, std::size_t n) noexcept {
    return CRYPTO_memcmp(a, b, n) == 0;
}

bool random_bytes(std::span<uint8_t> out) noexcept {
    return out.empty() || RAND_bytes(out.data(), static_cast<int>(out.size())) == 1;
}

} // namespace twamp::crypto
