// The cryptographic primitives of the security modes, over OpenSSL's libcrypto: AES-128 blocks
// (ECB, CBC) for TWAMP-Control streams and TWAMP-Test packets (RFC 4656 §3.4, §4.1.2; RFC 5357
// §4.1.2), and HMAC truncated to 128 bits with SHA-1 (TWAMP, RFC 4656 §3.2) or SHA-256
// (STAMP, RFC 8762 §4.4 and RFC 8972 §4.8).
//
// Key objects are prepared once on the slow path (the key schedules, the HMAC inner and outer
// hash states after the padded key) and are then immutable: the workers share them without
// locks, and no operation allocates (the hot path's rule), so they can be used per packet.
// libcrypto stays inside src/crypto: this header exposes no OpenSSL type.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

namespace twamp::crypto {

inline constexpr std::size_t aes_block = 16;
inline constexpr std::size_t mac_len = 16; // HMAC truncated to 128 bits

// AES-128 with its encryption and decryption schedules.
class aes128 {
public:
    aes128() noexcept;
    explicit aes128(std::span<const uint8_t, 16> key) noexcept;
    // Which implementation: AES-NI where the CPU has it (best), or OpenSSL's portable AES_KEY
    // code whatever the CPU (tests run the known answers through both).
    enum class impl : uint8_t { best, portable };
    aes128(std::span<const uint8_t, 16> key, impl which) noexcept;
    // Copies (tables hold them by value); the key schedules wiped when destroyed.
    aes128(const aes128&) noexcept = default;
    aes128& operator=(const aes128&) noexcept = default;
    ~aes128();
    bool uses_aesni() const noexcept { return ni_; }

    // In place, `blocks` 16-octet blocks.
    void ecb_encrypt(uint8_t* data, std::size_t blocks) const noexcept;
    void ecb_decrypt(uint8_t* data, std::size_t blocks) const noexcept;
    // CBC in place; `iv` is updated to the last ciphertext block, so a stream of messages
    // chains on (RFC 4656 §3.4: one CBC stream per direction of a control connection).
    void cbc_encrypt(std::array<uint8_t, 16>& iv, uint8_t* data, std::size_t blocks) const noexcept;
    void cbc_decrypt(std::array<uint8_t, 16>& iv, uint8_t* data, std::size_t blocks) const noexcept;

private:
    // The encryption and decryption schedules, opaque here: AES-NI round keys (11 x 16 octets
    // each, `ni_`) where the CPU has AES-NI, else OpenSSL AES_KEY structures (sizes checked in
    // crypto.cpp). OpenSSL's AES_encrypt is its table implementation (~220 TSC cycles a block
    // measured, perf/RESULTS.md "Issue 17"); AES-NI does a block in a few dozen.
    alignas(16) unsigned char enc_[256];
    alignas(16) unsigned char dec_[256];
    bool ni_ = false;
};

enum class hash : uint8_t { sha1, sha256 };

// HMAC (RFC 2104) with a fixed key: the inner and outer states are computed once.
class hmac_key {
public:
    hmac_key() noexcept;
    hmac_key(hash h, std::span<const uint8_t> key) noexcept;
    // Copies (tables hold them by value); the key-derived states wiped when destroyed.
    hmac_key(const hmac_key&) noexcept = default;
    hmac_key& operator=(const hmac_key&) noexcept = default;
    ~hmac_key();

    hash algorithm() const noexcept { return hash_; }

    // An HMAC over data given in pieces (update...), truncated to 128 bits.
    class stream {
    public:
        explicit stream(const hmac_key& k) noexcept;
        void update(std::span<const uint8_t> data) noexcept;
        // The first 16 octets of the HMAC.
        std::array<uint8_t, mac_len> final128() noexcept;

    private:
        const hmac_key* key_;
        alignas(16) unsigned char ctx_[128];
    };

    std::array<uint8_t, mac_len> mac128(std::span<const uint8_t> data) const noexcept;
    std::array<uint8_t, mac_len>
    mac128(std::initializer_list<std::span<const uint8_t>> parts) const noexcept;
    // Whether `mac` is the first 16 octets of the HMAC over `data`, compared in constant time.
    bool verify128(std::span<const uint8_t> data, const uint8_t* mac) const noexcept;

private:
    friend class stream;
    hash hash_ = hash::sha1;
    // SHA_CTX or SHA256_CTX after the inner (key ^ ipad) and outer (key ^ opad) blocks.
    alignas(16) unsigned char inner_[128];
    alignas(16) unsigned char outer_[128];
};

// The keys of one TWAMP test session in authenticated or encrypted mode, from the control
// connection's session keys (the Set-Up-Response Token, RFC 4656 §3.1) and the session's SID.
// RFC 4656 §4.1.2 (which RFC 5357 §4.1.2 refers to) derives both from the SID; where its text
// leaves the direction open, this is what perfSONAR does, the interoperability target
// (owamp/endpoint.c, _prepare_to_run):
//   test AES key  = AES-128-ECB with the SID as the key, over the AES Session-key (16 octets);
//   test HMAC key = AES-128-CBC with the SID as the key and IV = 0, over the HMAC Session-key
//                   (32 octets -> 32 octets), used with HMAC-SHA-1 truncated to 128 bits.
// The Session-Reflector uses the same AES key for the requests (decryption) and its replies
// (encryption; perfSONAR's aes_tw_reply_key is the same key bytes). The *_bytes form is for
// tests; the workers get the prepared objects.
void derive_test_key_bytes(std::span<const uint8_t, 16> aes_session_key,
                           std::span<const uint8_t, 32> hmac_session_key,
                           std::span<const uint8_t, 16> sid, std::span<uint8_t, 16> aes_key_out,
                           std::span<uint8_t, 32> hmac_key_out) noexcept;

struct test_keys {
    aes128 aes;
    hmac_key hmac;
};
test_keys derive_test_keys(std::span<const uint8_t, 16> aes_session_key,
                           std::span<const uint8_t, 32> hmac_session_key,
                           std::span<const uint8_t, 16> sid) noexcept;

// Constant-time comparison of `n` octets.
bool equal(const uint8_t* a, const uint8_t* b, std::size_t n) noexcept;

// Cryptographically strong random octets (Challenge, Salt, IVs, session keys). False when
// libcrypto's generator fails.
bool random_bytes(std::span<uint8_t> out) noexcept;

} // namespace twamp::crypto
