// STAMP TLVs (RFC 8972 §4): Flags(1) Type(1) Length(2) Value(Length), right after the 44-octet
// base. Flags: U (bit 0, unrecognized), M (bit 1, malformed), I (bit 2, integrity).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "twamp/proto/timestamp.hpp"

namespace twamp::crypto {
class hmac_key;
} // namespace twamp::crypto

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
    // RFC 9503 (STAMP extensions for Segment Routing).
    destination_node_address = 9,
    return_path = 10,
};
// Types counted one by one in tlv_result::seen (and the per-reflector counters): 1..10 by their
// value; index 0 counts every other type.
inline constexpr std::size_t tlv_seen_slots = 11;

// Location sub-TLV types (RFC 8972 §4.2.1; IANA "STAMP Sub-TLV Types", RFC 8972 §5.3). A
// Session-Sender asks with the generic ones (1, 4, 7); the reflector answers in place with
// the specific one (2 or 3, 5 or 6, 8 or 9).
namespace location_sub {
inline constexpr uint8_t source_mac = 1;       // request: Length 8, MBZ
inline constexpr uint8_t source_eui48 = 2;     // answer: EUI-48 (6) + MBZ (2)
inline constexpr uint8_t source_eui64 = 3;     // answer: EUI-64 (8); zeros when none
inline constexpr uint8_t destination_ip = 4;   // request: Length 16, MBZ
inline constexpr uint8_t destination_ipv4 = 5; // answer: IPv4 (4) + MBZ (12)
inline constexpr uint8_t destination_ipv6 = 6; // answer: IPv6 (16)
inline constexpr uint8_t source_ip = 7;        // request: Length 16, MBZ
inline constexpr uint8_t source_ipv4 = 8;      // answer: IPv4 (4) + MBZ (12)
inline constexpr uint8_t source_ipv6 = 9;      // answer: IPv6 (16)
} // namespace location_sub

// Return Path sub-TLV types (RFC 9503 §4.1), inside a Return Path TLV (Type 10).
namespace return_path_sub {
inline constexpr uint8_t control_code = 1;        // Length 4: Control Code Flags (§4.1.1)
inline constexpr uint8_t return_address = 2;      // Length 4 (IPv4) or 16 (IPv6) (§4.1.2)
inline constexpr uint8_t sr_mpls_label_stack = 3; // §4.1.3: not supported (U)
inline constexpr uint8_t srv6_segment_list = 4;   // §4.1.3: not supported (U)
// Control Code Flags (§4.1.1): bit 31 (the least significant) set is "Reply Requested on the
// Same Link", clear "No Reply Requested"; the other bits are reserved and ignored.
inline constexpr uint32_t reply_requested = 0x1;
} // namespace return_path_sub

// Access Report TLV (RFC 8972 §4.6): Access ID values; any other makes the TLV invalid.
namespace access_id {
inline constexpr uint8_t threegpp = 1;
inline constexpr uint8_t non_threegpp = 2;
} // namespace access_id

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
    uint16_t integrity = 0;    // returned with I set (HMAC verification failed; issue 17)
    // TLVs seen by type (tlv_seen_slots: index = Type for 1..10, 0 for every other Type),
    // saturating: for the per-reflector counters.
    std::array<uint16_t, tlv_seen_slots> seen{};
    uint16_t padding = 0; // trailing all-zero octets returned as they came (no TLVs)
    // One's-complement sums over the octets changed (Flags octets, and the Values handlers
    // rewrote), before and after, as 16-bit lanes relative to the area start (which is even in
    // the UDP datagram): for the UDP checksum.
    uint16_t sum_before = 0;
    uint16_t sum_after = 0;
    // 1 + the area offset of the first Timestamp Information TLV's Timestamp Out octet (0:
    // none): the dataplane corrects it when T3 is taken otherwise than the reply said
    // (reflect_set_ts_out).
    uint16_t ts_out_at = 0;
    // What the TLVs ask of the reply outside the TLV area; reflect_prepare() applies it:
    // Class of Service (RFC 8972 §4.4): DSCP1 permitted by the policy, the reply's DSCP (-1:
    // none; the context's DS rule applies).
    int8_t reply_dscp = -1;
    // Return Path Control Code "No Reply Requested" (RFC 9503 §4.1.1): no reply is sent.
    bool no_reply = false;
    // 1 + the area offset of the Value of a Return Address sub-TLV the policy permits (RFC 9503
    // §4.1.2): the reply goes to that address (0: to the request's source). Its length is the
    // packet's address length (4 or 16): one of the other family is refused.
    uint16_t return_address_at = 0;
    // 1 + the area offset of the Value of a Destination Node Address TLV that is one of the
    // box's addresses and not the request's destination (RFC 9503 §3): the reply SHOULD come
    // from it (0: from the request's destination). Same family as the packet.
    uint16_t reply_source_at = 0;
    // 1 + the area offset of the Destination Node Address the dataplane was asked about (one
    // lookup per request; a later TLV naming the same address gets the same answer, any other
    // U = 1).
    uint16_t dna_checked_at = 0;
    // 1 + the area offset of the HMAC TLV (its Flags octet) whose HMAC the reply must carry
    // (RFC 8972 §4.8): the Value is zeroed here, computed after T3 (auth_finish). 0: none.
    uint16_t hmac_at = 0;
    // The HMAC TLV check failed (wrong HMAC, not last, missing where required): every TLV came
    // back with I set and no handler ran; the reply is still sent (issue 17 item 3).
    bool hmac_failed = false;
};

// What the dataplane knows about addresses a TLV names (RFC 9503), asked per TLV. Plain
// function pointers (no virtual call; only for requests that carry these TLVs). `ip_version`
// is the packet's (4 or 6), `addr` 4 or 16 octets in network order.
struct tlv_address_policy {
    const void* self = nullptr;
    // One of the box's own addresses (Destination Node Address, RFC 9503 §3). Null: only the
    // request's destination address counts as ours.
    bool (*is_own)(const void* self, uint8_t ip_version, const uint8_t* addr) noexcept = nullptr;
    // A reply may be sent there (Return Address, RFC 9503 §4.1.2): the reflector's ACL admits
    // it and it is not one of the box's own addresses. Null: no Return Address is honoured.
    // reflect_tlvs() has already refused the other family and addresses no reply may go to
    // (proto/source_address.hpp).
    bool (*may_return_to)(const void* self, uint8_t ip_version,
                          const uint8_t* addr) noexcept = nullptr;
};

// Which Location TLV fields this reflector reports (RFC 8972 §4.2.2: "based on the local
// policy, the Session-Reflector MAY leave some fields unreported by filling them with zeroes";
// reflect_policy::location_report). Unreported: zeros, the sub-TLV still answered (a MAC as a
// zeroed Source EUI-64 Address sub-TLV, as for a packet without one).
namespace location_report {
inline constexpr uint8_t ports = 0x1;
inline constexpr uint8_t addresses = 0x2;
inline constexpr uint8_t mac = 0x4;
inline constexpr uint8_t all = ports | addresses | mac;
} // namespace location_report

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
    // Direct Measurement TLV (RFC 8972 §4.5), stateful sessions only (`stateful`): the
    // session's in-profile packets received (this request included) and replies transmitted
    // (this reply included). A stateless reflector reports zeros (conf/twamp.conf).
    uint32_t rx_count = 0;
    uint32_t tx_count = 0;
};

// Everything a handler may use, per reply: reflect_prepare() builds it only for a STAMP packet
// that carries TLVs. The Follow-up Timestamp is written in the reply's own timestamp format
// (RFC 8972 §4.7: "the format indicated by the Z flag of the Error Estimate" of the reply).
struct tlv_reply_ctx {
    const tlv_reply_info* info = nullptr; // null: the values are written as zeros ("not stated")
    ts_format format = ts_format::ntp;
    int32_t tai_utc_offset_s = 37; // for the PTP format
    bool stateful = false;         // the reply itself is stateful (reflect_params::stateful)
    // The request as the box received it (after any NAT before it): Location (RFC 8972 §4.2),
    // Class of Service (§4.4), Destination Node Address (RFC 9503 §3). Null pointers: not
    // known (tests of the walk alone); the handlers then report zeros / treat nothing as ours.
    uint8_t ip_version = 4;
    const uint8_t* src_addr = nullptr; // 4 (IPv4) or 16 (IPv6) octets
    const uint8_t* dst_addr = nullptr;
    const uint8_t* src_mac = nullptr; // 6 octets
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    uint8_t received_ds = 0; // the DS field as received: DSCP << 2 | ECN
    // Local policy (reflect_policy): the DSCP values a Class of Service TLV's DSCP1 may set
    // (bit n: DSCP n), the Location fields reported, whether a Return Address is honoured.
    uint64_t cos_allowed = ~uint64_t{0};
    uint8_t location_report = location_report::all;
    bool return_address = false; // reflect_policy::return_address
    const tlv_address_policy* addresses = nullptr;
    // The HMAC TLV (RFC 8972 §4.8): the key of the packet's SSID (HMAC-SHA-256, the same key
    // as the authenticated base packet's; null: none, and the HMAC TLV comes back with U, as
    // one this reflector cannot check), whether it is required (authenticated mode: whenever
    // TLVs other than Extra Padding are present) and the request's Sequence Number, the first
    // part of the text it covers.
    const crypto::hmac_key* hmac_key = nullptr;
    bool hmac_required = false;
    uint32_t request_seq = 0;
};

// The per-type handler table (RFC 8972 §4: the Session-Reflector "understands" a Type when it
// has an entry here; every other Type comes back with U = 1). One entry per type in
// src/proto/tlv.cpp (tlv_handlers[]): adding a type is adding an entry there (and its tests).
// ip_address: 4 (IPv4) or 16 (IPv6), RFC 9503 §3.
enum class tlv_len_rule : uint8_t { at_least, exactly, ip_address };
struct tlv_handler {
    tlv_type type;
    uint16_t len; // Length of the Value: at least or exactly this (rule; unused for ip_address)
    tlv_len_rule rule;
    // Rewrites the Value in place (null: returned as received, e.g. Extra Padding) and returns
    // the TLV's Flags octet: 0, or tlv_flag_u for a TLV understood but not acted on (Access
    // Report with another Access ID, a Destination Node Address not ours, a Return Path that
    // cannot be used). Only called with a Length the rule accepts, by reflect_tlvs() only:
    // `value_at` is the area offset of the Value (for tlv_result's *_at fields), so
    // `value.data() - value_at` is the area's start (the Destination Node Address handler
    // compares with an earlier Value through it). Sub-TLV Flags octets are Value
    // octets: the handler writes them like the rest. It records what the TLV asks of the reply
    // in `r` (reply_dscp, no_reply, return_address_at, reply_source_at, ts_out_at) and nothing
    // else there. The caller accounts the changed octets in the checksum sums (it sums the
    // Value before and after) and sets the Flags octet, the counts and seen[]: a handler only
    // writes the Value.
    uint8_t (*reflect)(std::span<uint8_t> value, uint16_t value_at, const tlv_reply_ctx& ctx,
                       tlv_result& r) noexcept;
    // A Length the rule does not allow: the TLV gets M and processing stops, after this (when
    // not null) rewrote what the TLV's definition asks for then (Follow-Up Telemetry, erratum
    // 8339: the Sequence Number and Follow-up Timestamp octets present zeroed). Summed by the
    // caller as above.
    void (*bad_length)(std::span<uint8_t> value) noexcept = nullptr;
};
// The entry for a Type, null when this reflector does not implement it.
const tlv_handler* find_tlv_handler(uint8_t type) noexcept;

// Session-Reflector TLV processing in place (RFC 8972 §4.2): each TLV's Flags octet is
// rewritten whole: U = 1 when the type is not one this reflector implements, else 0; M = 0;
// I = 0 and the reserved bits 0, whatever the sender sent. A malformed TLV gets M = 1 (and U
// by its Type when that octet is there) and processing stops; the octets after its Flags
// octet are returned untouched. Malformed is: the header cut off, a Length past the end of
// the area, or a Type this reflector implements with a Length its definition does not allow
// (tlv_handlers[] in tlv.cpp: Location and Timestamp Information at least 4, Class of Service
// and Access Report 4, Direct Measurement 12, Follow-Up Telemetry 16 (erratum 8339: its
// Sequence Number and Follow-up Timestamp octets are then zeroed), Destination Node Address 4
// or 16, Return Path at least 4). Implemented types get their Value rewritten by their handler
// (tlv_handler), which also sets the TLV's U (understood but not acted on) and reports what the
// TLV asks of the reply in the result; Extra Padding is echoed as is. Counts: `count`,
// `seen[]` by Type (the malformed TLV included, by its Type when that octet is there),
// `unrecognized` (TLVs returned with U), `malformed` (the one with M), `integrity` (0 here).
// Sub-TLV flags are not counted.
//
// Trailing zeros: where the rest of the area is all zero octets (right after the base, or
// after the last TLV) the walk stops and returns them as they came, no flags set. RFC 8762
// §4.6 has a STAMP reflector copy the remainder of a longer TWAMP Light request as it is, and
// zeros are what such senders pad with; no TLV is all zeros (Type 0 is reserved in the STAMP
// TLV registry, and a Session-Sender sets U on the TLVs it sends, RFC 8972 §4), so reading
// them as a chain of U-flagged Type-0 TLVs would return octets the sender never sent.
tlv_result reflect_tlvs(std::span<uint8_t> area, const tlv_reply_ctx& ctx = {}) noexcept;

} // namespace twamp::proto
