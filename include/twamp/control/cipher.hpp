// One direction of a TWAMP-Control connection in authenticated, encrypted or mixed mode
// (RFC 4656 §3.1-§3.2, RFC 5357 §3, RFC 5618 for mixed): AES-128-CBC with the AES
// Session-key, one CBC stream per direction chained across messages (IV: Client-IV for
// client -> server, Server-IV for server -> client), and HMAC-SHA1 truncated to 128 bits with
// the HMAC Session-key over the plaintext.
//
// What each HMAC covers, as perfSONAR's owamp/twamp does it (owamp/io.c _OWPSendHMACAdd /
// _OWPSendHMACDigestClear, owamp/protocol.c): the plaintext blocks sent in this direction since
// the previous HMAC, up to the HMAC field. The HMAC state restarts after each HMAC, so one
// message's HMAC covers that message, plus blocks of earlier messages that carry no HMAC: the
// last block of Server-Start (Start-Time, MBZ: encrypted, no HMAC field) is covered by the
// HMAC of the server's next message. Set-Up-Response and the first 32 octets of Server-Start
// are sent in clear and covered by nothing.
//
// Used by server_connection and client_connection, always through a unique_ptr: the running
// HMAC points at the key it holds, so the object never moves.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "twamp/control/wipe.hpp"
#include "twamp/crypto/crypto.hpp"

namespace twamp::control {

// The keys a Set-Up-Response Token carries (RFC 4656 §3.1).
// Every copy wipes itself when it dies (wipe.hpp). Still an aggregate (no constructor declared).
struct session_keys {
    std::array<uint8_t, 16> aes{};
    std::array<uint8_t, 32> hmac{};
    ~session_keys() {
        wipe(aes);
        wipe(hmac);
    }
};

class control_stream {
public:
    control_stream(const session_keys& keys, const std::array<uint8_t, 16>& iv) noexcept;
    control_stream(const control_stream&) = delete;
    control_stream& operator=(const control_stream&) = delete;

    // Sender: `msg` is a plaintext message of whole 16-octet blocks. Its octets join the
    // running HMAC; with `mac`, its last 16 octets are the HMAC field: they are set to the HMAC
    // of everything since the previous HMAC (not themselves) and the HMAC restarts. Then the
    // whole message is encrypted in place, chaining on.
    void seal(std::span<uint8_t> msg, bool mac) noexcept;
    // Receiver: decrypts whole blocks in place, chaining on.
    void decrypt(std::span<uint8_t> blocks) noexcept;
    // Receiver: a decrypted message. Without `mac` its octets join the running HMAC (true).
    // With `mac`: true when its last 16 octets are the HMAC of everything since the previous
    // HMAC (compared in constant time); the HMAC restarts either way.
    bool verify(std::span<const uint8_t> msg, bool mac) noexcept;

private:
    crypto::aes128 aes_;
    crypto::hmac_key key_;
    crypto::hmac_key::stream mac_;
    std::array<uint8_t, 16> iv_;
};

// The receiving side's reassembly (server and client): moves into `pending` what a message of
// `length` octets still lacks, never more, from `bytes`: as they are without a stream, else
// decrypted block by block (every message of a secured stream is whole blocks). Holds at most
// one block of its own (a partial ciphertext block, the rest of a decrypted one).
class block_reader {
public:
    void take(std::vector<uint8_t>& pending, std::span<const uint8_t>& bytes, std::size_t length,
              control_stream* stream);
    // Decrypted octets not yet handed out.
    bool has_plain() const noexcept { return plain_off_ < plain_.size(); }
    void clear() noexcept;

private:
    std::array<uint8_t, 16> cipher_{};
    std::size_t cipher_n_ = 0;
    std::array<uint8_t, 16> plain_{};
    std::size_t plain_off_ = 16;
};

// RFC 4656 §3.1 Token: AES-CBC with IV 0 under the key derived from the shared secret, over
// Challenge (16) | AES Session-key (16) | HMAC Session-key (32).
std::array<uint8_t, 64> encrypt_token(const std::array<uint8_t, 16>& derived,
                                      const std::array<uint8_t, 16>& challenge,
                                      const session_keys& keys) noexcept;
// The Challenge and keys a Token carries (no check: the caller compares the Challenge).
struct token_contents {
    std::array<uint8_t, 16> challenge{};
    session_keys keys;
};
token_contents decrypt_token(const std::array<uint8_t, 16>& derived,
                             const std::array<uint8_t, 64>& token) noexcept;

// The KeyID field (80 octets) <-> the identity: the octets up to the first NUL (perfSONAR
// writes the identity NUL-padded and reads the field as a C string).
std::array<uint8_t, 80> key_id_field(std::span<const uint8_t> id) noexcept;

} // namespace twamp::control
