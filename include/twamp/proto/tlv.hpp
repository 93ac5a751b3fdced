// STAMP TLVs (RFC 8972 §4): Flags(1) Type(1) Length(2) Value(Length), right after the 44-octet
// base. Flags: U (bit 0, unrecognized), M (bit 1, malformed), I (bit 2, integrity).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace twamp::proto {

inline constexpr uint8_t tlv_flag_u = 0x80;
inline constexpr uint8_t tlv_flag_m = 0x40;
inline constexpr uint8_t tlv_flag_i = 0x20;
inline constexpr std::size_t tlv_hdr_len = 4;

// IANA "STAMP TLV Types" (RFC 8972 §6.2).
enum class tlv_type : uint8_t {
    extra_padding = 1,
    location = 2,
    timestamp_information = 3,
    class_of_service = 4,
    direct_measurement = 5,
    access_report = 6,
    follow_up_telemetry = 7,
    hmac = 8,
};

struct tlv_view {
    uint16_t offset = 0; // of the TLV header, from the start of the TLV area
    uint8_t flags = 0;
    uint8_t type = 0;
    uint16_t length = 0; // of the Value
    std::span<const uint8_t> value;
};

// Bounded walk over a TLV area. next() yields one well-formed TLV at a time; it stops at the
// end of the area or at the first malformed TLV (header cut off, or Length past the end), which
// malformed() then reports with its offset. At most area.size()/4 + 1 steps.
class tlv_walker {
public:
    explicit tlv_walker(std::span<const uint8_t> area) noexcept : area_(area) {}

    bool next(tlv_view& out) noexcept {
        if (done_) {
            return false;
        }
        std::size_t left = area_.size() - pos_;
        if (left == 0) {
            done_ = true;
            return false;
        }
        const uint8_t* p = area_.data() + pos_;
        if (left < tlv_hdr_len) {
            malformed_ = true;
            done_ = true;
            return false;
        }
        uint16_t len = static_cast<uint16_t>((p[2] << 8) | p[3]);
        if (len > left - tlv_hdr_len) {
            malformed_ = true;
            done_ = true;
            return false;
        }
        out.offset = static_cast<uint16_t>(pos_);
        out.flags = p[0];
        out.type = p[1];
        out.length = len;
        out.value = area_.subspan(pos_ + tlv_hdr_len, len);
        pos_ += tlv_hdr_len + len;
        return true;
    }

    bool malformed() const noexcept { return malformed_; }
    // Offset of the next TLV to read; of the malformed one when malformed().
    std::size_t position() const noexcept { return pos_; }

private:
    std::span<const uint8_t> area_;
    std::size_t pos_ = 0;
    bool done_ = false;
    bool malformed_ = false;
};

struct tlv_result {
    uint16_t count = 0;        // TLVs seen, the malformed one included
    uint16_t unrecognized = 0; // returned with U set
    bool malformed = false;    // one was returned with M set; processing stopped there
    uint16_t padding = 0;      // trailing all-zero octets returned as they came (no TLVs)
    // One's-complement sums over the flag octets changed, before and after, as 16-bit lanes
    // relative to the area start (which is even in the UDP datagram): for the UDP checksum.
    uint16_t sum_before = 0;
    uint16_t sum_after = 0;
};

// Session-Reflector TLV processing in place (RFC 8972 §4.2): each TLV's Flags octet is
// rewritten whole: U = 1 when the type is not one this reflector implements, else 0; M = 0;
// I = 0 and the reserved bits 0, whatever the sender sent. A malformed TLV gets M = 1 (and U
// by its Type when that octet is there) and processing stops; the octets after its Flags
// octet are returned untouched. Extra Padding is echoed as is.
//
// Trailing zeros: where the rest of the area is all zero octets (right after the base, or
// after the last TLV) the walk stops and returns them as they came, no flags set. RFC 8762
// §4.6 has a STAMP reflector copy the remainder of a longer TWAMP Light request as it is, and
// zeros are what such senders pad with; no TLV is all zeros (Type 0 is reserved in the STAMP
// TLV registry, and a Session-Sender sets U on the TLVs it sends, RFC 8972 §4), so reading
// them as a chain of U-flagged Type-0 TLVs would return octets the sender never sent.
tlv_result reflect_tlvs(std::span<uint8_t> area) noexcept;

} // namespace twamp::proto
