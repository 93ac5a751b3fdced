// Shared secrets for the authenticated, encrypted and mixed TWAMP-Control modes (RFC 4656
// §3.1, RFC 5357 §3.1, RFC 5618) and authenticated STAMP (RFC 8762 §4.4), from a key file in
// perfSONAR pfstore's format: one `identity<TAB>hex(passphrase)` line per key (spaces also
// separate; `#` starts a comment line; blank lines are skipped), so operators can reuse the
// files `pfstore` writes. parse_key_file() is pure; load_key_file() reads a file and refuses
// one that anyone but its owner may read or write. The secrets are never logged: errors name
// the line and what is wrong, never the octets.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace twamp::control {

// RFC 4656 §3.1: the KeyID (the identity) is sent in an 80-octet field of Set-Up-Response.
inline constexpr std::size_t key_id_max = 80;

struct key_entry {
    std::string id;              // the identity (KeyID), 1..80 octets, no white space
    std::vector<uint8_t> secret; // the shared secret (the passphrase's octets)
    friend bool operator==(const key_entry&, const key_entry&) = default;
};

class key_store {
public:
    // The entry for `id`, or null.
    const key_entry* find(std::string_view id) const noexcept;
    const std::vector<key_entry>& entries() const noexcept { return keys_; }
    std::size_t size() const noexcept { return keys_.size(); }
    void add(key_entry e) { keys_.push_back(std::move(e)); }

    friend bool operator==(const key_store&, const key_store&) = default;

private:
    std::vector<key_entry> keys_;
};

struct key_parse_result {
    key_store store;
    std::vector<std::string> errors; // "line N: what"; the store holds the good lines only
};

// Parses a key file's text. Every line is checked: an identity longer than 80 octets, a
// passphrase that is not an even number of hex digits, an empty one, a line without one, and a
// second line for the same identity are errors.
key_parse_result parse_key_file(std::string_view text);

// Reads and parses `path`. Fails (nullopt, `error` set to "PATH: what", the first parse errors
// included) when the file cannot be read, is not a regular file, may be read or written by its
// group or by others (mode & 077: a shared secret), or has any bad line.
std::optional<key_store> load_key_file(const std::string& path, std::string& error);

// PBKDF2 (RFC 2898 §5.2) with HMAC-SHA1, any salt and output length (libcrypto's
// PKCS5_PBKDF2_HMAC_SHA1): derive_key's primitive, tested against RFC 6070's vectors.
bool pbkdf2_hmac_sha1(std::span<const uint8_t> secret, std::span<const uint8_t> salt,
                      uint32_t count, std::span<uint8_t> out) noexcept;

// RFC 4656 §3.1 (TWAMP-Control: RFC 5357 §3.1): the 16-octet AES key for a session's control
// and test streams, derived from the shared secret with PBKDF2 (RFC 2898) using HMAC-SHA1, the
// Server-Greeting's 16-octet Salt and its Count (iterations; RFC 4656 requires at least 1024).
// OpenSSL's libcrypto does the work. False when libcrypto fails or `count` is 0.
bool derive_key(std::span<const uint8_t> secret, std::span<const uint8_t, 16> salt, uint32_t count,
                std::array<uint8_t, 16>& out) noexcept;

} // namespace twamp::control
