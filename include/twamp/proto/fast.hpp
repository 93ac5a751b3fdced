// The fused fast path (issue 15 item 2): the common test frame parsed, checked and rewritten
// in one pass, the reply's UDP checksum summed from the values held in registers. Header-only
// so that it inlines into the worker (no LTO in this build).
//
// The chain it replaces, for the frames it accepts:
//
//   parse_frame -> check_test_packet -> [session] -> reflect_prepare_into -> reflect_finish(T3)
//   fast_parse  -> fast_reflect      -> [session] -> fast_set_seq (stateful) -> reflect_finish
//
// with the same results octet for octet (tests/fuzz/fuzz_fast.cpp compares the two on every
// input). Whatever the fast path does not take goes through the general path, untouched:
//   - fast_parse() returning false: run parse_frame() (the fast path never decides a drop at
//     parse time);
//   - fast_reflect() returning fast_general: run check_test_packet() and reflect_prepare_into().
//
// The common shape: Ethernet, untagged or one 802.1Q tag; IPv4 with IHL 5, not a fragment, or
// IPv6 with Next Header UDP (no extension headers); UDP filling the IP payload; then
//   - TWAMP Light: a payload of exactly 41 octets (the reply base: no growth, no padding to
//     move), or of 41 or more with RFC 6038 symmetrical size (the padding stays in place);
//   - STAMP: exactly the 44-octet base (no TLVs, not a short TWAMP Light request).
//
// One contract differs from the general path's in what it tolerates, not in what it answers:
// reflect_params::l4_checksum_verified means the UDP checksum IS good (the NIC's word). The
// general path carries a received checksum over incrementally, so a frame a NIC wrongly passed
// comes back with the error in it; here the reply's checksum is summed afresh and is correct.
// For every frame whose checksum verifies the two replies are identical.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#include "twamp/proto/bytes.hpp"
#include "twamp/proto/checksum.hpp"
#include "twamp/proto/drop_reason.hpp"
#include "twamp/proto/packet.hpp"
#include "twamp/proto/reflect.hpp"
#include "twamp/proto/source_address.hpp"
#include "twamp/proto/test_packet.hpp"
#include "twamp/proto/timestamp.hpp"

namespace twamp::proto {

// fast_reflect()'s "not handled here": the frame is outside the fast shape for this policy and
// untouched; run the general path (check_test_packet, reflect_prepare_into). Not a drop reason
// (it is drop_reason::count_, never counted).
inline constexpr drop_reason fast_general = drop_reason::count_;

// What the worker needs from the request, read once by fast_reflect() (valid when it returns
// drop_reason::none): what test_packet_sender_seq() and test_packet_ssid() would return.
struct fast_info {
    uint32_t sender_seq = 0; // the request's Sequence Number
    uint16_t ssid = 0;       // STAMP SSID (RFC 8972 §3); 0 for TWAMP Light
};

// Parses a frame of the common shape (above) into `pf`, exactly as parse_frame() would (every
// field; kind udp), and returns true; anything else returns false with `pf` unspecified.
inline bool fast_parse(const uint8_t* frame, uint16_t len, parsed_frame& pf) noexcept;

// For a frame fast_parse() accepted (`cap`: the buffer's capacity, at least the frame): checks
// it as check_test_packet() does (params.ipv4_checksum_verified / l4_checksum_verified: the
// NIC verified) and rewrites it into the reply as reflect_prepare_into() does, leaving T3 and
// the final checksum fold to reflect_finish() (the same pending_reply in `out`, TX checksum
// offload included). Returns
//   drop_reason::none  the reply is prepared; `info` holds the request's fields;
//   a drop reason      the one the general path gives; the frame is untouched;
//   fast_general       outside the fast shape; the frame is untouched.
// The reply's Sequence Number is params.reflector_seq when params.stateful, else the
// sender's; a stateful worker that learns its number only after the session lookup calls
// fast_set_seq() afterwards.
inline drop_reason fast_reflect(uint8_t* frame, uint16_t cap, const parsed_frame& pf,
                                const reflect_policy& policy, const reflect_params& params,
                                pending_reply& out, fast_info& info) noexcept;

// Rewrites a prepared reply's Sequence Number (before reflect_finish) and keeps r.partial
// right (an offloaded reply's field holds the pseudo-header sum only: nothing to correct).
// fast_reflect(stateless) then fast_set_seq(s) == the general path with stateful seq s.
inline void fast_set_seq(uint8_t* frame, pending_reply& r, uint32_t seq) noexcept;

// ---------------------------------------------------------------------------------------------
// Implementation.

namespace fast_detail {

// The reply's DS field: as reflect.cpp's ds_field() (DSCP copied or set, ECN CE -> ECT(0)).
inline uint8_t ds_field(int8_t dscp, uint8_t received) noexcept {
    const uint8_t ds =
            dscp == dscp_copy
                    ? received
                    : static_cast<uint8_t>((static_cast<uint8_t>(dscp) << 2) | (received & 0x3));
    return static_cast<uint8_t>(ds & ~(ds & (ds >> 1) & 0x1));
}

} // namespace fast_detail

inline bool fast_parse(const uint8_t* frame, uint16_t len, parsed_frame& pf) noexcept {
    (void)frame;
    (void)len;
    (void)pf;
    return false; // TODO: implementation follows
}

inline drop_reason fast_reflect(uint8_t* frame, uint16_t cap, const parsed_frame& pf,
                                const reflect_policy& policy, const reflect_params& params,
                                pending_reply& out, fast_info& info) noexcept {
    (void)frame;
    (void)cap;
    (void)pf;
    (void)policy;
    (void)params;
    (void)out;
    (void)info;
    return fast_general; // TODO: implementation follows
}

inline void fast_set_seq(uint8_t* frame, pending_reply& r, uint32_t seq) noexcept {
    uint8_t* p = frame + r.t3_off - reflector::timestamp;
    const uint32_t old = load_be32(p);
    store_be32(p, seq);
    if (!r.offloaded) {
        r.partial = csum_fold64(uint64_t{r.partial} + static_cast<uint16_t>(~(old >> 16)) +
                                static_cast<uint16_t>(~old) + (seq >> 16) + (seq & 0xffff));
    }
}

} // namespace twamp::proto
