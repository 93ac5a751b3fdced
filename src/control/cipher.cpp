// TWAMP-Control CBC streams, HMACs and the Token: see include/twamp/control/cipher.hpp.
#include "twamp/control/cipher.hpp"

#include <algorithm>
#include <cstring>

#include "twamp/control/messages.hpp"

namespace twamp::control {

control_stream::control_stream(const session_keys& keys, const std::array<uint8_t, 16>& iv) noexcept
    : aes_(keys.aes), key_(crypto::hash::sha1, keys.hmac), mac_(key_), iv_(iv) {}

void control_stream::seal(std::span<uint8_t> msg, bool mac) noexcept {
    const std::size_t body = mac ? msg.size() - crypto::mac_len : msg.size();
    mac_.update(msg.first(body));
    if (mac) {
        auto d = mac_.final128();
        std::memcpy(msg.data() + body, d.data(), d.size());
        mac_ = crypto::hmac_key::stream(key_);
    }
    aes_.cbc_encrypt(iv_, msg.data(), msg.size() / crypto::aes_block);
}

void control_stream::decrypt(std::span<uint8_t> blocks) noexcept {
    aes_.cbc_decrypt(iv_, blocks.data(), blocks.size() / crypto::aes_block);
}

bool control_stream::verify(std::span<const uint8_t> msg, bool mac) noexcept {
    if (!mac) {
        mac_.update(msg);
        return true;
    }
    if (msg.size() < crypto::mac_len) {
        mac_ = crypto::hmac_key::stream(key_);
        return false;
    }
    const std::size_t body = msg.size() - crypto::mac_len;
    mac_.update(msg.first(body));
    auto d = mac_.final128();
    mac_ = crypto::hmac_key::stream(key_);
    return crypto::equal(d.data(), msg.data() + body, crypto::mac_len);
}

void block_reader::take(std::vector<uint8_t>& pending, std::span<const uint8_t>& bytes,
                        std::size_t length, control_stream* stream) {
    if (stream == nullptr) {
        take_message_octets(pending, bytes, length);
        return;
    }
    while (pending.size() < length) {
        if (has_plain()) {
            const std::size_t n = std::min(plain_.size() - plain_off_, length - pending.size());
            pending.insert(pending.end(), plain_.begin() + static_cast<long>(plain_off_),
                           plain_.begin() + static_cast<long>(plain_off_ + n));
            plain_off_ += n;
            continue;
        }
        if (bytes.empty()) {
            return;
        }
        const std::size_t n = std::min(cipher_.size() - cipher_n_, bytes.size());
        std::memcpy(cipher_.data() + cipher_n_, bytes.data(), n);
        bytes = bytes.subspan(n);
        cipher_n_ += n;
        if (cipher_n_ == cipher_.size()) {
            stream->decrypt(cipher_);
            plain_ = cipher_;
            plain_off_ = 0;
            cipher_n_ = 0;
        }
    }
}

void block_reader::clear() noexcept {
    cipher_.fill(0);
    plain_.fill(0);
    cipher_n_ = 0;
    plain_off_ = plain_.size();
}

std::array<uint8_t, 64> encrypt_token(const std::array<uint8_t, 16>& derived,
                                      const std::array<uint8_t, 16>& challenge,
                                      const session_keys& keys) noexcept {
    std::array<uint8_t, 64> t{};
    std::memcpy(t.data(), challenge.data(), 16);
    std::memcpy(t.data() + 16, keys.aes.data(), 16);
    std::memcpy(t.data() + 32, keys.hmac.data(), 32);
    crypto::aes128 k(derived);
    std::array<uint8_t, 16> iv{};
    k.cbc_encrypt(iv, t.data(), 4);
    return t;
}

token_contents decrypt_token(const std::array<uint8_t, 16>& derived,
                             const std::array<uint8_t, 64>& token) noexcept {
    std::array<uint8_t, 64> t = token;
    crypto::aes128 k(derived);
    std::array<uint8_t, 16> iv{};
    k.cbc_decrypt(iv, t.data(), 4);
    token_contents c;
    std::memcpy(c.challenge.data(), t.data(), 16);
    std::memcpy(c.keys.aes.data(), t.data() + 16, 16);
    std::memcpy(c.keys.hmac.data(), t.data() + 32, 32);
    wipe(t); // the Token's plaintext
    return c;
}

std::array<uint8_t, 80> key_id_field(std::span<const uint8_t> id) noexcept {
    std::array<uint8_t, 80> f{};
    std::memcpy(f.data(), id.data(), std::min(id.size(), f.size()));
    return f;
}

} // namespace twamp::control
