// twamp-ping's side of the authenticated test packets (issue 17): TWAMP-Test requests in
// authenticated and encrypted modes (RFC 5357 §4.1.2, RFC 4656 §4.1.2) and their replies
// (RFC 5357 §4.2.1), authenticated STAMP (RFC 8762 §4.2.2, §4.3.2, §4.4) and the HMAC TLV
// (RFC 8972 §4.8). Pure functions over byte spans on twamp/crypto's primitives (unit-tested
// with vectors from tests/integration/auth_ref.py, an independent implementation).
//
// Where the RFC text leaves a choice this does what perfSONAR's twping/twampd do (owamp/
// endpoint.c run_tw_test / run_reflector), the interoperability target, the same choices as the
// reflector's (twamp/proto/auth.hpp) and /work/wt/AUTH-FACTS.md:
//   - TWAMP authenticated: block 0 (Sequence Number, MBZ) AES-ECB with the test session's AES
//     key; HMAC-SHA-1/128 with its HMAC key over the plaintext of block 0 only; the rest clear.
//   - TWAMP encrypted: AES-CBC, IV 0, over the blocks before the HMAC (request 2, reply 6);
//     the HMAC over their plaintext.
//   - authenticated STAMP: nothing encrypted; HMAC-SHA-256/128 over the 96 octets before the
//     HMAC field, the key file's secret as the key.
//   - HMAC TLV: HMAC-SHA-256/128 with the same key over the Sequence Number (octets 0..3) and
//     every TLV before it as on the wire.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "twamp/crypto/crypto.hpp"
#include "twamp/proto/auth.hpp"

namespace twamp::sender {

// Octets of the authenticated layouts: proto/auth.hpp's (one definition), under the names the
// sender uses.
namespace auth_off {
inline constexpr std::size_t seq = proto::auth_sender::seq;
inline constexpr std::size_t timestamp = proto::auth_sender::timestamp;
inline constexpr std::size_t error_estimate = proto::auth_sender::error_estimate;
inline constexpr std::size_t ssid = proto::auth_sender::ssid; // STAMP
inline constexpr std::size_t twamp_sender_hmac = proto::auth_sender::twamp_hmac;
inline constexpr std::size_t twamp_sender_len = proto::auth_sender::twamp_len;
inline constexpr std::size_t receive_timestamp = proto::auth_reflector::receive_timestamp;
inline constexpr std::size_t sender_seq = proto::auth_reflector::sender_seq;
inline constexpr std::size_t sender_timestamp = proto::auth_reflector::sender_timestamp;
inline constexpr std::size_t sender_error_estimate = proto::auth_reflector::sender_error_estimate;
inline constexpr std::size_t sender_ttl = proto::auth_reflector::sender_ttl;
// Both directions: the HMAC at 96 of a 112-octet packet (reflector; authenticated STAMP
// requests too).
inline constexpr std::size_t hmac = proto::auth_reflector::hmac;
inline constexpr std::size_t len = proto::auth_reflector::len;
static_assert(proto::auth_sender::stamp_hmac == hmac && proto::auth_sender::stamp_len == len);
} // namespace auth_off

// The keys of one TWAMP test session, from the control connection's session keys (the
// Set-Up-Response Token) and the SID: crypto::derive_test_keys, the one place this lives
// (AES-ECB with the SID as the key of the AES Session-key; AES-CBC, IV 0, with the SID as the
// key of the HMAC Session-key; perfSONAR owamp/endpoint.c _prepare_to_run).
using twamp_test_keys = crypto::test_keys;
inline twamp_test_keys make_twamp_test_keys(std::span<const uint8_t, 16> aes_session_key,
                                            std::span<const uint8_t, 32> hmac_session_key,
                                            std::span<const uint8_t, 16> sid) noexcept {
    return crypto::derive_test_keys(aes_session_key, hmac_session_key, sid);
}

// TWAMP-Test request: `pkt` (48 octets or more) holds the plaintext fields (auth_off); writes
// the HMAC at 32 and encrypts in place. The padding after 48 is left as it is.
void seal_twamp_request(std::span<uint8_t> pkt, bool encrypted, const twamp_test_keys& k) noexcept;

// TWAMP-Test reply (112 octets or more): verifies it and writes the plaintext of its first 112
// octets (HMAC field included, as received) to `plain`. False when it is shorter than 112 or
// its HMAC does not verify (`plain` then unspecified).
bool open_twamp_reply(std::span<const uint8_t> wire, bool encrypted, const twamp_test_keys& k,
                      std::span<uint8_t, auth_off::len> plain) noexcept;

// The same for the other direction (the reflector's view; for tests and symmetry).
void seal_twamp_reply(std::span<uint8_t> pkt, bool encrypted, const twamp_test_keys& k) noexcept;
bool open_twamp_request(std::span<const uint8_t> wire, bool encrypted, const twamp_test_keys& k,
                        std::span<uint8_t, auth_off::twamp_sender_len> plain) noexcept;

// Authenticated STAMP, both directions (112 octets or more): the HMAC at 96 over 0..95.
void seal_stamp(std::span<uint8_t> pkt, const crypto::hmac_key& k) noexcept;
bool verify_stamp(std::span<const uint8_t> pkt, const crypto::hmac_key& k) noexcept;

// The HMAC TLV at `tlv_at` in `pkt` (its 4-octet header there, 16 octets of Value after):
// writes its Value over the Sequence Number and the octets from `base` to `tlv_at`.
void seal_hmac_tlv(std::span<uint8_t> pkt, std::size_t base, std::size_t tlv_at,
                   const crypto::hmac_key& k) noexcept;

// A reply's HMAC TLV: the first TLV of type 8 in the TLV area from `base`.
enum class hmac_tlv_check : uint8_t {
    absent,  // no HMAC TLV (or the area does not walk to one)
    flagged, // there, but the reflector flagged it U or M (does not know it / malformed)
    ok,      // verifies
    failed,  // does not verify, or its Length is not 16
};
hmac_tlv_check check_hmac_tlv(std::span<const uint8_t> pkt, std::size_t base,
                              const crypto::hmac_key& k) noexcept;

} // namespace twamp::sender
