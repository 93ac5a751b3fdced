// The reflection transform (DESIGN.md "Reflection, exactly"): turns a received TWAMP-Test or
// STAMP frame into the reply in place. Split in three so the dataplane can look up the session
// between validation and rewrite, and stamp T3 as late as possible:
//
//   parse_frame() -> check_test_packet() -> [session] -> reflect_prepare() -> reflect_finish(T3)
//
// reflect() runs the whole chain on one frame (tests, fuzzing, tools).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "twamp/proto/auth.hpp"
#include "twamp/proto/bytes.hpp"
#include "twamp/proto/checksum.hpp"
#include "twamp/proto/drop_reason.hpp"
#include "twamp/proto/packet.hpp"
#include "twamp/proto/timestamp.hpp"
#include "twamp/proto/tlv.hpp"

namespace twamp::proto {

enum class test_mode : uint8_t { twamp_light, stamp };
enum class ts_policy : uint8_t { auto_z, ntp, ptp }; // auto_z: the request's Z bit decides

inline constexpr int8_t dscp_copy = -1;

// The reply's DS field (RFC 2474) and ECN field (RFC 3168 §5): DSCP copied (reply in kind) or
// fixed by the context; ECN as received except CE. The reply is a packet this box originates,
// and RFC 3168 §5 gives CE to routers that experienced congestion, never to a sender: CE
// received becomes ECT(0) (the transport stays ECN-capable so the return path can mark it
// again), ECT(0), ECT(1) and Not-ECT are kept.
inline uint8_t reply_ds_field(int8_t dscp, uint8_t received) noexcept {
    const uint8_t ds =
            dscp == dscp_copy
                    ? received
                    : static_cast<uint8_t>((static_cast<uint8_t>(dscp) << 2) | (received & 0x3));
    // Bit 0 cleared when bits 1 and 0 are both set: 11 -> 10, the rest unchanged (4
    // instructions; a two-field version cost ~14 per packet, callgrind).
    return static_cast<uint8_t>(ds & ~(ds & (ds >> 1) & 0x1));
}

// What a reflector context decides (from the config; fixed per context).
struct reflect_policy {
    test_mode mode = test_mode::twamp_light;
    int8_t dscp = dscp_copy; // dscp_copy, or 0..63
    ts_policy timestamps = ts_policy::auto_z;
    bool allow_ipv6_zero_checksum = false;
    // RFC 6038 reflect octets needs no field: the first N octets of the sender's padding come
    // back at the start of the reply's padding (octet 41..) by the padding rule below, in both
    // layouts, whatever N the session negotiated.
    // RFC 6038 symmetrical size (TWAMP sessions that negotiated it): the sender's packet has 27
    // MBZ octets after its Error Estimate and its padding starts at octet 41, where the reply's
    // padding starts too: the padding (reflected octets included) stays where it is. Without
    // it (TWAMP Light, plain TWAMP) the sender's padding starts at octet 14 and the reply
    // re-uses it truncated by its highest-numbered 27 octets (RFC 5357 §4.2.1): reply octet
    // 41 + i = request octet 14 + i.
    bool symmetrical_size = false;
    // STAMP TLV local policy (RFC 8972 §4.2.2, §4.4; RFC 9503 §4.1.2), per reflector:
    // DSCP values a Class of Service TLV's DSCP1 may set (bit n: DSCP n; refused: RP = 1 and
    // the context's DS rule), the Location fields reported (tlv.hpp location_report), and
    // whether a Return Address sub-TLV is honoured at all (then only where
    // reflect_params::tlv_addresses permits it).
    uint64_t cos_allowed = ~uint64_t{0};
    uint8_t location_report = location_report::all;
    bool return_address = false; // off unless the operator says so (conf: return-address)
    // Security mode of the test packets (auth.hpp): `none` for TWAMP Light, unauthenticated
    // and mixed TWAMP sessions and unauthenticated STAMP; otherwise the authenticated layouts,
    // which only the general path (reflect_prepare) reflects. `keys`: the session's or
    // reflector's prepared keys (null: none; an unauthenticated STAMP reflector may still have
    // a key-id for the HMAC TLV).
    auth_mode auth = auth_mode::none;
    const auth_keys* keys = nullptr;
};

// The keys auth_finish() uses for one reply (reflect_params::auth_out).
struct auth_finish_keys {
    const crypto::aes128* aes = nullptr;
    const crypto::hmac_key* hmac = nullptr;
    uint16_t hmac_tlv_off = 0; // frame offset of the reply's HMAC TLV (auth_todo::hmac_tlv)
};

// What varies per packet or per burst.
struct reflect_params {
    const uint8_t* our_mac = nullptr; // 6 octets: the port's MAC (null: the request's dst)
    bool stateful = false;            // true: reflector_seq, false: copy the sender's
    uint32_t reflector_seq = 0;
    uint64_t t2_ns = 0; // receive time, ns of UTC since the Unix epoch
    // Optional: t2_ns already encoded (the burst's shared software T2); used only when its
    // `ns` equals t2_ns, so a per-packet device timestamp is never mixed up with it.
    const encoded_time* t2_encoded = nullptr;
    error_estimate our_error{};          // S, Scale, Multiplier of our clock (Z set per packet)
    int32_t tai_utc_offset_s = 37;       // for PTP timestamps
    bool ipv4_checksum_verified = false; // the NIC said the IPv4 header checksum is good
    bool l4_checksum_verified = false;   // the NIC said the UDP checksum is good
    // From check_test_packet() of this very frame and policy (null: not known): the unfolded
    // sum of the payload octets reflect_prepare() rewrites, taken while verifying the UDP
    // checksum in software, so that reflect_prepare() does not sum them a second time.
    const uint64_t* verified_region_sum = nullptr;
    // The port computes the reply's UDP checksum (TX checksum offload): reflect_prepare leaves
    // the pseudo-header sum in the field instead of summing the datagram.
    bool l4_cksum_offload = false;
    // For the STAMP TLV handlers (tlv.hpp): how this reply's T2 and T3 are taken and, for a
    // stateful session, the previous reply's departure (Follow-Up Telemetry). Read only when a
    // STAMP packet carries TLVs. Null: nothing known; Timestamp Information and Follow-Up
    // Telemetry are still understood (U = 0) but their values come back as zeros.
    const tlv_reply_info* tlv_info = nullptr;
    // Addresses the RFC 9503 TLVs name (Destination Node Address, Return Address): see
    // tlv_address_policy. Null: only the request's destination is ours; no Return Address.
    const tlv_address_policy* tlv_addresses = nullptr;
    // When not null and the request was a STAMP packet with TLVs, what reflect_tlvs() found
    // (counts by type, flags set) is written here for the caller's counters; untouched
    // otherwise (the caller resets `count`).
    tlv_result* tlv_out = nullptr;
    // Where reflect_prepare() writes the keys of a reply whose pending_reply::auth is not 0
    // (for auth_finish); untouched otherwise. Null: the caller cannot finish such replies and
    // they are not made (no_key).
    auth_finish_keys* auth_out = nullptr;
    // An authenticated-layout request already verified and decrypted in place by
    // auth_open_request() (false: reflect_prepare() verifies and decrypts it).
    bool auth_opened = false;
};

enum class verdict : uint8_t { reflect, to_kernel, drop };

// A reply whose T3 and UDP checksum are still to be written.
struct pending_reply {
    uint16_t len = 0;      // new frame length (Ethernet padding trimmed)
    uint16_t t3_off = 0;   // frame offset of the Timestamp (T3) field
    uint16_t csum_off = 0; // frame offset of the UDP checksum
    uint16_t partial = 0;  // folded UDP sum of everything but T3
    ts_format format = ts_format::ntp;
    // STAMP context, request shorter than the 44-octet base (a TWAMP Light sender, RFC 8762
    // §4.6): answered with the base packet; the worker counts these per reflector.
    bool stamp_short = false;
    // The UDP checksum is the device's (reflect_params::l4_cksum_offload): the field holds the
    // pseudo-header sum, reflect_finish writes T3 only.
    bool offloaded = false;
    // What auth_finish() still has to do after T3 (auth.hpp auth_todo bits; 0: nothing, every
    // unauthenticated reply). In what was padding: the struct stays 14 octets, which the
    // fused fast path writes whole (16 octets cost the worker's fast path ~20 instructions a
    // packet to compose, callgrind).
    uint8_t auth = 0;
    // Frame offset of the Timestamp Information TLV's Timestamp Out octet (0: none).
    uint16_t ts_out_off = 0;
};
static_assert(sizeof(pending_reply) == 14);

struct reflect_result {
    verdict v = verdict::drop;
    drop_reason reason = drop_reason::none;
    pending_reply reply{};
};

// Validates a parsed UDP frame as a test packet for a context: IPv4 header checksum, source
// address and port, UDP checksum (or the zero-checksum rule), minimum payload. Reads only.
// When `sums` is not null it tells what reflect_prepare() can reuse: the rewritten region's
// sum when the check verified a non-zero UDP checksum in software (for
// reflect_params::verified_region_sum).
struct verified_sums {
    bool region_known = false;
    uint64_t region = 0;
};
drop_reason check_test_packet(std::span<const uint8_t> frame, const parsed_frame& pf,
                              const reflect_policy& policy, bool ipv4_checksum_verified,
                              bool l4_checksum_verified, verified_sums* sums = nullptr) noexcept;

// The STAMP SSID (RFC 8972 §3) of a checked STAMP packet; 0 for TWAMP Light. `auth`: the
// layout (authenticated STAMP: octets 26..27, RFC 8762 §4.2.2; else 14..15).
uint16_t test_packet_ssid(std::span<const uint8_t> frame, const parsed_frame& pf, test_mode mode,
                          auth_mode auth = auth_mode::none) noexcept;
// The sender's Sequence Number of a checked packet.
uint32_t test_packet_sender_seq(std::span<const uint8_t> frame, const parsed_frame& pf) noexcept;

// Rewrites a checked frame into the reply, all but T3 and the final UDP checksum. `buf` is the
// whole buffer (its size is the capacity: a short TWAMP request grows to 41 octets in place).
// STAMP TLVs (tlv.hpp) may set the reply's DSCP (Class of Service), source (Destination Node
// Address) and destination (Return Address), IPv4 header and UDP checksums kept right; a Return
// Path "No Reply Requested" gives drop_reason::no_reply_requested, the only drop after which
// the buffer may have been rewritten (the caller frees it; reflect_params::tlv_out is written).
reflect_result reflect_prepare(std::span<uint8_t> buf, const parsed_frame& pf,
                               const reflect_policy& policy, const reflect_params& params) noexcept;
// The same for the hot path: the reply's bookkeeping goes straight into `out` (e.g. the TX
// array) and the result is drop_reason::none for a reply, else why not. Returning the 12-octet
// reflect_result went through the stack as narrow stores reloaded wider, a store-forwarding
// stall on each side of the call: ~60 TSC cycles of ~255 per packet in the worker
// (perf/RESULTS.md, "bench.sh").
drop_reason reflect_prepare_into(std::span<uint8_t> buf, const parsed_frame& pf,
                                 const reflect_policy& policy, const reflect_params& params,
                                 pending_reply& out) noexcept;

// Writes T3 in the format chosen by reflect_prepare and completes the UDP checksum.
void reflect_finish(uint8_t* frame, const pending_reply& r, uint64_t t3_ns,
                    int32_t tai_utc_offset_s) noexcept;

// The same, replacing the Error Estimate reflect_prepare wrote (its Z bit kept): for a reply
// whose T3 turned out less certain than the burst's clock said (a clamped T3).
void reflect_finish(uint8_t* frame, const pending_reply& r, uint64_t t3_ns,
                    int32_t tai_utc_offset_s, error_estimate error) noexcept;

// After reflect_finish (and reflect_set_ts_out) of a reply whose `auth` is not 0: the HMACs
// over the reply as written (T3 included), then the encryption, the UDP checksum kept right
// (unless offloaded). Out of line: authenticated replies only.
void auth_finish(uint8_t* frame, const pending_reply& r, const auth_finish_keys& keys) noexcept;

// Before reflect_finish: the Timestamp Information TLV's Timestamp Out (RFC 8972 §4.3), when
// the reply has one, becomes `method` (T3 taken otherwise than reflect_prepare was told: a
// scheduled departure that had already passed), the checksum kept right.
void reflect_set_ts_out(uint8_t* frame, pending_reply& r, uint8_t method) noexcept;

namespace detail {
inline void finish_with(uint8_t* frame, const pending_reply& r, uint64_t ts) noexcept {
    store_be64(frame + r.t3_off, ts);
    if (r.offloaded) {
        return; // the device completes the checksum
    }
    // T3 as two 32-bit numeric words: one fold instead of four 16-bit additions.
    const uint16_t s = csum_fold64(uint64_t{r.partial} + (ts >> 32) + (ts & 0xffffffffULL));
    const uint16_t c = static_cast<uint16_t>(~s);
    store_be16(frame + r.csum_off, c == 0 ? 0xffff : c);
}
} // namespace detail

// The same with T3 converted once for a burst (t3.ns is what the reply states). Inline: the
// worker calls it for every reply (a call cost a tenth of it).
inline void reflect_finish(uint8_t* frame, const pending_reply& r,
                           const encoded_time& t3) noexcept {
    detail::finish_with(frame, r, t3.get(r.format));
}

// The whole chain on one frame of `frame_len` octets in `buf`: non-UDP frames come back as
// to_kernel, bad ones as drop with the reason, good ones rewritten with T3 = t3_ns.
// Authenticated layouts (policy.auth) included: auth_finish() after T3.
reflect_result reflect(std::span<uint8_t> buf, std::size_t frame_len, const reflect_policy& policy,
                       const reflect_params& params, uint64_t t3_ns) noexcept;

// The authenticated layouts' rewrite (auth.cpp), which reflect_prepare_into() hands a checked
// frame without IPv4 options to when policy.auth is not `none`.
drop_reason auth_prepare_into(std::span<uint8_t> buf, const parsed_frame& pf,
                              const reflect_policy& policy, const reflect_params& params,
                              pending_reply& out) noexcept;

// A checked request of an authenticated layout (policy.auth not `none`), before anything is
// done with it (session lookup, activity, sequence statistics): auth_truncated, no_key,
// hmac_failed, or none with the request's encrypted octets (TWAMP: 0..31) turned into
// plaintext in place. reflect_prepare() of such a request then needs
// reflect_params::auth_opened (it does not check or decrypt again).
drop_reason auth_open_request(std::span<uint8_t> frame, const parsed_frame& pf,
                              const reflect_policy& policy) noexcept;

} // namespace twamp::proto
