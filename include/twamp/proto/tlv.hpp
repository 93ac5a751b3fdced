// STAMP TLVs (RFC 8972 §4): Flags(1) Type(1) Length(2) Value(Length), right after the 44-octet
// base. Flags: U (bit 0, unrecognized), M (bit 1, malformed), I (bit 2, integrity).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "twamp/proto/timestamp.hpp"

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
    // One's-complement sums over the octets changed (Flags octets, and the Values handlers
    // rewrote), before and after, as 16-bit lanes relative to the area start (which is even in
    // the UDP datagram): for the UDP checksum.
    uint16_t sum_before = 0;
    uint16_t sum_after = 0;
    // 1 + the area offset of the first Timestamp Information TLV's Timestamp Out octet (0:
    // none): the dataplane corrects it when T3 is taken otherwise than the reply said
    // (reflect_set_ts_out).
    uint16_t ts_out_at = 0;
};

// IANA "STAMP TLV Types" sub-registries of RFC 8972 §5 (values checked against RFC 8972 §5.4
// and §5.5). 0 is Reserved in both: this reflector writes it for "not stated" (tlv_reply_info
// not known), which is also what a Session-Sender puts in the fields it asks for.
// "Synchronization Source" (RFC 8972 §5.4; Sync Src In/Out of the Timestamp Information TLV).
namespace sync_source {
inline constexpr uint8_t not_stated = 0; // Reserved
inline constexpr uint8_t ntp = 1;
inline constexpr uint8_t ptp = 2;
inline constexpr uint8_t ssu_bits = 3;
inline constexpr uint8_t gnss = 4; // GPS/GLONASS/LORAN-C/BDS/Galileo
inline constexpr uint8_t local_free_running = 5;
} // namespace sync_source
// "Timestamping Method" (RFC 8972 §5.5; Timestamp In/Out of the Timestamp Information TLV and
// the Timestamp Mode of the Follow-Up Telemetry TLV).
namespace ts_method {
inline constexpr uint8_t not_stated = 0; // Reserved
inline constexpr uint8_t hw_assist = 1;
inline constexpr uint8_t sw_local = 2;
inline constexpr uint8_t control_plane = 3;
} // namespace ts_method

// What the TLV handlers need to know of one reply, from the dataplane (reflect_params::tlv_info;
// null: nothing known, see tlv_reply_ctx).
struct tlv_reply_info {
    // Timestamp Information TLV (RFC 8972 §4.3): how T2 (In) and T3 (Out) were taken.
    uint8_t sync_src_in = sync_source::not_stated;
    uint8_t ts_method_in = ts_method::not_stated;
    uint8_t sync_src_out = sync_source::not_stated;
    uint8_t ts_method_out = ts_method::not_stated;
    // Follow-Up Telemetry TLV (RFC 8972 §4.7): the reply sent before this one in the same
    // session. false: the fields are zeroed, as §4.7 has a stateless reflector do.
    bool stateful = false;
    uint32_t follow_up_seq = 0; // that reply's reflector Sequence Number
    uint64_t follow_up_ns = 0;  // its departure, ns of UTC since the Unix epoch; 0: not known
    uint8_t follow_up_mode = ts_method::not_stated; // Timestamp Mode: what produced follow_up_ns
};

// Everything a handler may use, per reply: reflect_prepare() builds it only for a STAMP packet
// that carries TLVs. The Follow-up Timestamp is written in the reply's own timestamp format
// (RFC 8972 §4.7: "the format indicated by the Z flag of the Error Estimate" of the reply).
struct tlv_reply_ctx {
    const tlv_reply_info* info = nullptr; // null: the values are written as zeros ("not stated")
    ts_format format = ts_format::ntp;
    int32_t tai_utc_offset_s = 37; // for the PTP format
    bool stateful = false;         // the reply itself is stateful (reflect_params::stateful)
};

// The per-type handler table (RFC 8972 §4: the Session-Reflector "understands" a Type when it
// has an entry here; every other Type comes back with U = 1). One entry per type in
// src/proto/tlv.cpp (tlv_handlers[]): adding a type is adding an entry there (and its tests).
enum class tlv_len_rule : uint8_t { at_least, exactly };
struct tlv_handler {
    tlv_type type;
    uint16_t len; // Length of the Value: at least or exactly this (rule)
    tlv_len_rule rule;
    // Rewrites the Value in place (null: returned as received, e.g. Extra Padding). Only
    // called with a Length the rule accepts. The caller accounts the changed octets in the
    // checksum sums (it sums the Value before and after): a handler only writes.
    void (*reflect)(std::span<uint8_t> value, const tlv_reply_ctx& ctx) noexcept;
};
// The entry for a Type, null when this reflector does not implement it.
const tlv_handler* find_tlv_handler(uint8_t type) noexcept;

// Session-Reflector TLV processing in place (RFC 8972 §4.2): each TLV's Flags octet is
// rewritten whole: U = 1 when the type is not one this reflector implements, else 0; M = 0;
// I = 0 and the reserved bits 0, whatever the sender sent. A malformed TLV gets M = 1 (and U
// by its Type when that octet is there) and processing stops; the octets after its Flags
// octet are returned untouched. Malformed is: the header cut off, a Length past the end of
// the area, or a Type this reflector implements with a Length its definition does not allow
// (Timestamp Information, RFC 8972 §4.3: at least 4; Follow-Up Telemetry, §4.7: 16).
// Implemented types get their Value rewritten by their handler (tlv_handler); Extra Padding is
// echoed as is.
//
// Trailing zeros: where the rest of the area is all zero octets (right after the base, or
// after the last TLV) the walk stops and returns them as they came, no flags set. RFC 8762
// §4.6 has a STAMP reflector copy the remainder of a longer TWAMP Light request as it is, and
// zeros are what such senders pad with; no TLV is all zeros (Type 0 is reserved in the STAMP
// TLV registry, and a Session-Sender sets U on the TLVs it sends, RFC 8972 §4), so reading
// them as a chain of U-flagged Type-0 TLVs would return octets the sender never sent.
tlv_result reflect_tlvs(std::span<uint8_t> area, const tlv_reply_ctx& ctx = {}) noexcept;

} // namespace twamp::proto
