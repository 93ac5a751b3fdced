// twamp-ping's authenticated test packets (see auth.hpp).
#include "twamp/sender/auth.hpp"

#include <cstring>

#include "twamp/proto/bytes.hpp"
#include "twamp/proto/tlv.hpp"

namespace twamp::sender {

namespace {

constexpr std::size_t blk = crypto::aes_block;

// Seal `nblocks` plaintext blocks at pkt[0..] with their HMAC at pkt[hmac_at] (perfSONAR
// endpoint.c: the HMAC over the plaintext, then the encryption; authenticated: only block 0 is
// covered and encrypted).
void seal(std::span<uint8_t> pkt, std::size_t nblocks, std::size_t hmac_at, bool encrypted,
          const twamp_test_keys& k) noexcept {
    const std::size_t covered = encrypted ? nblocks * blk : blk;
    const auto mac = k.hmac.mac128(std::span<const uint8_t>(pkt.data(), covered));
    std::memcpy(pkt.data() + hmac_at, mac.data(), mac.size());
    if (encrypted) {
        std::array<uint8_t, 16> iv{};
        k.aes.cbc_encrypt(iv, pkt.data(), nblocks);
    } else {
        k.aes.ecb_encrypt(pkt.data(), 1);
    }
}

bool open(std::span<const uint8_t> wire, std::size_t nblocks, std::size_t hmac_at, bool encrypted,
          const twamp_test_keys& k, std::span<uint8_t> plain) noexcept {
    const std::size_t n = hmac_at + crypto::mac_len;
    if (wire.size() < n || plain.size() < n) {
        return false;
    }
    std::memcpy(plain.data(), wire.data(), n);
    if (encrypted) {
        std::array<uint8_t, 16> iv{};
        k.aes.cbc_decrypt(iv, plain.data(), nblocks);
    } else {
        k.aes.ecb_decrypt(plain.data(), 1);
    }
    const std::size_t covered = encrypted ? nblocks * blk : blk;
    return k.hmac.verify128(std::span<const uint8_t>(plain.data(), covered),
                            plain.data() + hmac_at);
}

} // namespace

void twamp_test_key_bytes(std::span<const uint8_t, 16> aes_session_key,
                          std::span<const uint8_t, 32> hmac_session_key,
                          std::span<const uint8_t, 16> sid, std::span<uint8_t, 16> aes_out,
                          std::span<uint8_t, 32> hmac_out) noexcept {
    const crypto::aes128 by_sid(sid);
    std::memcpy(aes_out.data(), aes_session_key.data(), 16);
    by_sid.ecb_encrypt(aes_out.data(), 1);
    std::memcpy(hmac_out.data(), hmac_session_key.data(), 32);
    std::array<uint8_t, 16> iv{};
    by_sid.cbc_encrypt(iv, hmac_out.data(), 2);
}

twamp_test_keys make_twamp_test_keys(std::span<const uint8_t, 16> aes_session_key,
                                     std::span<const uint8_t, 32> hmac_session_key,
                                     std::span<const uint8_t, 16> sid) noexcept {
    std::array<uint8_t, 16> a{};
    std::array<uint8_t, 32> h{};
    twamp_test_key_bytes(aes_session_key, hmac_session_key, sid, a, h);
    twamp_test_keys k{crypto::aes128(std::span<const uint8_t, 16>(a)),
                      crypto::hmac_key(crypto::hash::sha1, h)};
    // The session keys live on in the control client; these copies need not.
    volatile uint8_t* wipe = a.data();
    for (std::size_t i = 0; i < a.size(); ++i) {
        wipe[i] = 0;
    }
    wipe = h.data();
    for (std::size_t i = 0; i < h.size(); ++i) {
        wipe[i] = 0;
    }
    return k;
}

void seal_twamp_request(std::span<uint8_t> pkt, bool encrypted, const twamp_test_keys& k) noexcept {
    if (pkt.size() >= auth_off::twamp_sender_len) {
        seal(pkt, 2, auth_off::twamp_sender_hmac, encrypted, k);
    }
}

void seal_twamp_reply(std::span<uint8_t> pkt, bool encrypted, const twamp_test_keys& k) noexcept {
    if (pkt.size() >= auth_off::len) {
        seal(pkt, 6, auth_off::hmac, encrypted, k);
    }
}

bool open_twamp_reply(std::span<const uint8_t> wire, bool encrypted, const twamp_test_keys& k,
                      std::span<uint8_t, auth_off::len> plain) noexcept {
    return open(wire, 6, auth_off::hmac, encrypted, k, plain);
}

bool open_twamp_request(std::span<const uint8_t> wire, bool encrypted, const twamp_test_keys& k,
                        std::span<uint8_t, auth_off::twamp_sender_len> plain) noexcept {
    return open(wire, 2, auth_off::twamp_sender_hmac, encrypted, k, plain);
}

void seal_stamp(std::span<uint8_t> pkt, const crypto::hmac_key& k) noexcept {
    if (pkt.size() >= auth_off::len) {
        const auto mac = k.mac128(std::span<const uint8_t>(pkt.data(), auth_off::hmac));
        std::memcpy(pkt.data() + auth_off::hmac, mac.data(), mac.size());
    }
}

bool verify_stamp(std::span<const uint8_t> pkt, const crypto::hmac_key& k) noexcept {
    return pkt.size() >= auth_off::len &&
           k.verify128(pkt.first(auth_off::hmac), pkt.data() + auth_off::hmac);
}

void seal_hmac_tlv(std::span<uint8_t> pkt, std::size_t base, std::size_t tlv_at,
                   const crypto::hmac_key& k) noexcept {
    const std::size_t value = tlv_at + proto::tlv_hdr_len;
    if (tlv_at < base || pkt.size() < value + crypto::mac_len || base < 4) {
        return;
    }
    const auto mac = k.mac128({pkt.first(4), pkt.subspan(base, tlv_at - base)});
    std::memcpy(pkt.data() + value, mac.data(), mac.size());
}

hmac_tlv_check check_hmac_tlv(std::span<const uint8_t> pkt, std::size_t base,
                              const crypto::hmac_key& k) noexcept {
    if (pkt.size() < base || base < 4) {
        return hmac_tlv_check::absent;
    }
    const std::span<const uint8_t> area = pkt.subspan(base);
    proto::tlv_walker w(area);
    proto::tlv_view t;
    while (w.next(t)) {
        if (t.type != static_cast<uint8_t>(proto::tlv_type::hmac)) {
            continue;
        }
        if (t.flags & (proto::tlv_flag_u | proto::tlv_flag_m)) {
            return hmac_tlv_check::flagged;
        }
        if (t.value.size() != crypto::mac_len) {
            return hmac_tlv_check::failed;
        }
        const auto mac = k.mac128({pkt.first(4), area.first(t.offset)});
        return crypto::equal(mac.data(), t.value.data(), mac.size()) ? hmac_tlv_check::ok
                                                                     : hmac_tlv_check::failed;
    }
    return hmac_tlv_check::absent;
}

} // namespace twamp::sender
