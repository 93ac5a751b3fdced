// Authenticated and encrypted test packets: TWAMP-Test in authenticated and encrypted modes
// (RFC 5357 §4.1.2, §4.2.1 after erratum 5045, RFC 4656 §4.1.2) and authenticated STAMP
// (RFC 8762 §4.2.2, §4.3.2, §4.4; SSID of RFC 8972 §3), and the HMAC TLV (RFC 8972 §4.8).
//
// A reflector context (or a TWAMP-Control session) whose reflect_policy::auth is not `none`
// is reflected by reflect_prepare() in these layouts (never by the fused fast path): the
// request's HMAC is verified (and in encrypted mode the request decrypted) before any of its
// fields is read; a request that fails is dropped (hmac_failed), one too short for its layout
// is dropped (auth_truncated), one without a key (no_key). The reply is built in plaintext and
// its pending_reply::auth says what is left: after reflect_finish() has written T3 (inside the
// HMAC'd and, in encrypted mode, the encrypted region), auth_finish() computes the HMAC(s),
// encrypts and brings the UDP checksum up to date. Where the RFC text is ambiguous this does
// what perfSONAR's twampd does (owamp/endpoint.c run_reflector), the interoperability target:
//   - request, authenticated: block 0 (Sequence Number, MBZ) is AES-ECB encrypted; the HMAC
//     (octets 32..47) covers the plaintext of block 0 only;
//   - request, encrypted: blocks 0..1 (octets 0..31) are AES-CBC encrypted with IV = 0; the HMAC
//     covers their plaintext;
//   - reply, authenticated: block 0 AES-ECB, the HMAC (octets 96..111) over the plaintext of
//     block 0 only (so T3, T2 and the sender's fields are not covered: perfSONAR's choice);
//   - reply, encrypted: blocks 0..5 (octets 0..95) AES-CBC with IV = 0, the HMAC over their
//     plaintext;
//   - HMAC-SHA-1 truncated to 128 bits with the test session's keys (crypto::derive_test_keys).
// Authenticated STAMP: nothing is encrypted; HMAC-SHA-256 truncated to 128 bits over the 96
// octets before the HMAC field, in both directions (RFC 8762 §4.4), with the reflector's key
// (per SSID, or its default).
#pragma once

#include <cstddef>
#include <cstdint>

namespace twamp::crypto {
class aes128;
class hmac_key;
} // namespace twamp::crypto

namespace twamp::proto {

enum class auth_mode : uint8_t {
    none = 0,            // unauthenticated layouts (RFC 5357 §4.1.2, RFC 8762 §4.2.1), mixed too
    twamp_authenticated, // RFC 4656 §3.1 mode 2
    twamp_encrypted,     // mode 4
    stamp_authenticated, // RFC 8762 §4.2.2
};

// What reflect_prepare() leaves to auth_finish() (pending_reply::auth, bits).
namespace auth_todo {
inline constexpr uint8_t twamp_ecb = 1;  // TWAMP authenticated: HMAC over block 0, ECB block 0
inline constexpr uint8_t twamp_cbc = 2;  // TWAMP encrypted: HMAC over 96 octets, CBC of them
inline constexpr uint8_t stamp_hmac = 4; // authenticated STAMP: HMAC over the 96 octets
inline constexpr uint8_t hmac_tlv = 8;   // the reply's HMAC TLV (auth_finish_keys::hmac_tlv_off)
} // namespace auth_todo

// One STAMP reflector's keys (config: key-id, ssid-keys), or one TWAMP test session's. Prepared
// on the slow path, immutable, shared by the workers (pointers into the snapshot or the
// control table, which outlive every packet that uses them: RCU).
struct stamp_ssid_key {
    uint16_t ssid;
    const crypto::hmac_key* key;
};
struct auth_keys {
    const crypto::aes128* aes = nullptr;       // TWAMP: the test session's AES key
    const crypto::hmac_key* hmac = nullptr;    // TWAMP: the session's; STAMP: key-id (null: none)
    const stamp_ssid_key* ssid_keys = nullptr; // STAMP: sorted by ssid, overriding `hmac`
    uint32_t n_ssid_keys = 0;                  // up to 65,536 (every SSID): not a uint16_t

    // STAMP: the key for an SSID (ssid-keys, else key-id; null: none).
    const crypto::hmac_key* for_ssid(uint16_t ssid) const noexcept {
        std::size_t lo = 0, hi = n_ssid_keys;
        while (lo < hi) {
            const std::size_t mid = (lo + hi) / 2;
            if (ssid_keys[mid].ssid < ssid) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo < n_ssid_keys && ssid_keys[lo].ssid == ssid ? ssid_keys[lo].key : hmac;
    }
};

// Octet offsets into the UDP payload of the authenticated layouts.
// Session-Sender, TWAMP (RFC 5357 §4.1.2): Seq 4, MBZ 12, Timestamp 8, Error Estimate 2, MBZ 6,
// HMAC 16, padding. STAMP (RFC 8762 §4.2.2): Seq 4, MBZ 12, Timestamp 8, Error Estimate 2,
// SSID 2, MBZ 68, HMAC 16, TLVs.
namespace auth_sender {
inline constexpr std::size_t seq = 0;
inline constexpr std::size_t timestamp = 16;
inline constexpr std::size_t error_estimate = 24;
inline constexpr std::size_t ssid = 26; // STAMP
inline constexpr std::size_t twamp_hmac = 32;
inline constexpr std::size_t twamp_len = 48; // then padding
inline constexpr std::size_t stamp_hmac = 96;
inline constexpr std::size_t stamp_len = 112; // then TLVs
} // namespace auth_sender
// Session-Reflector, both (RFC 5357 §4.2.1, RFC 8762 §4.3.2): Seq 4, MBZ 12, Timestamp 8,
// Error Estimate 2, MBZ 6 [STAMP: SSID 2, MBZ 4], Receive Timestamp 8, MBZ 8, Sender Seq 4,
// MBZ 12, Sender Timestamp 8, Sender Error Estimate 2, MBZ 6, Sender TTL 1, MBZ 15, HMAC 16,
// then padding (TWAMP) or TLVs (STAMP).
namespace auth_reflector {
inline constexpr std::size_t seq = 0;
inline constexpr std::size_t timestamp = 16;
inline constexpr std::size_t error_estimate = 24;
inline constexpr std::size_t ssid = 26;
inline constexpr std::size_t receive_timestamp = 32;
inline constexpr std::size_t sender_seq = 48;
inline constexpr std::size_t sender_timestamp = 64;
inline constexpr std::size_t sender_error_estimate = 72;
inline constexpr std::size_t sender_ttl = 80;
inline constexpr std::size_t hmac = 96;
inline constexpr std::size_t len = 112;
} // namespace auth_reflector

} // namespace twamp::proto
