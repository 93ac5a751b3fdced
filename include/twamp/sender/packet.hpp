// Session-Sender side of the test packets: build requests, read replies. Pure functions over
// byte spans, on the layouts of twamp/proto/test_packet.hpp (unit-tested).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "twamp/proto/timestamp.hpp"
#include "twamp/sender/options.hpp"
#include "twamp/sender/tlv.hpp"

namespace twamp::sender {

// `auth` below: the authenticated layouts (options::auth_layout(): TWAMP authenticated or
// encrypted, authenticated STAMP; RFC 5357 §4.1.2/§4.2.1, RFC 8762 §4.2.2/§4.3.2), where
// Timestamp and Error Estimate are at octets 16 and 24, the reflector's fields as in
// twamp/proto/auth.hpp, and STAMP TLVs start at 112.

// The smallest payload a mode can send, and whether `size` can be built at all (see
// options.hpp for why STAMP 45..47, and 113..115 authenticated, cannot).
bool valid_request_size(enum mode m, std::size_t size, bool auth = false) noexcept;

// The smallest reply a conformant reflector sends for this mode: 41 (RFC 5357 §4.2.1) or 44
// (RFC 8762 §4.3.1); 112 in the authenticated layouts.
std::size_t min_reply_size(enum mode m, bool auth = false) noexcept;

// Fills the parts of a request that stay the same for the whole run: zeros everywhere
// (padding and MBZ), the SSID for STAMP, then for STAMP the --tlv TLVs in order, and beyond
// them one Extra Padding TLV (RFC 8972 §4.1) covering the rest, its value zeros, U = 1 (a
// Session-Sender sets U on every TLV, RFC 8972 §4). `out.size()` is the payload size: 44 + the
// TLVs' octets, or 4 and more beyond (options.cpp checks).
// Authenticated STAMP: the same after the 112-octet base. Returns the offset of the HMAC TLV
// (--tlv hmac) in `out`, 0 when there is none.
std::size_t init_request(std::span<uint8_t> out, enum mode m, uint16_t ssid,
                         std::span<const tlv_spec> tlvs = {}, bool auth = false) noexcept;

// The per-packet fields (RFC 5357 §4.1.2, RFC 8762 §4.2.1): Sequence Number, Timestamp (T1,
// already in its wire format) and Error Estimate.
void stamp_request(std::span<uint8_t> out, uint32_t seq, uint64_t t1_wire, proto::error_estimate ee,
                   bool auth = false) noexcept;

// A reflector's reply (RFC 5357 §4.2.1, RFC 8762 §4.3.1), fields as on the wire.
struct reply {
    uint32_t seq = 0;     // the reflector's Sequence Number
    uint64_t t3_wire = 0; // Timestamp (transmit)
    proto::error_estimate error{};
    uint16_t ssid = 0;    // STAMP only
    uint64_t t2_wire = 0; // Receive Timestamp
    uint32_t sender_seq = 0;
    uint64_t sender_timestamp = 0;
    uint16_t sender_error = 0;
    uint8_t sender_ttl = 0;
    std::size_t length = 0;
    // STAMP TLVs after the base as the reflector returned them (RFC 8972 §4).
    unsigned tlvs = 0;
    unsigned tlvs_unrecognized = 0; // U flag set
    bool tlvs_malformed = false;    // M flag set, or the area does not walk

    // T2 and T3 in Unix nanoseconds, in the format the reply's Z bit states.
    int64_t t2_ns(int32_t tai_utc_offset_s) const noexcept;
    int64_t t3_ns(int32_t tai_utc_offset_s) const noexcept;
};

enum class reply_error : uint8_t { none, too_short };

// Reads a reply of `m`'s layout; nullopt (and `err`) when it cannot be one. In the
// authenticated layouts `payload` is the reply after auth.hpp's checks (TWAMP: decrypted).
std::optional<reply> parse_reply(std::span<const uint8_t> payload, enum mode m,
                                 reply_error* err = nullptr, bool auth = false) noexcept;

} // namespace twamp::sender
