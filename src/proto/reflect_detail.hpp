// What reflect.cpp shares with auth.cpp (module-private).
#pragma once

#include <cstddef>
#include <cstdint>

#include "twamp/proto/packet.hpp"
#include "twamp/proto/reflect.hpp"

namespace twamp::proto::detail {

// The STAMP TLV area of a request being turned into its reply, `tlv_off` octets into the
// payload `pl` of `len` octets (44 unauthenticated, 112 authenticated), after the L2-L4 swaps
// and the sender's fields moved: reflect_tlvs() and what the TLVs ask of the IP header (IPv4
// header checksum kept right). `delta`: the unfolded change of the UDP checksum's sum;
// `ts_out_at`: 1 + the area offset of the Timestamp Out octet (0: none). A reply HMAC TLV sets
// out.auth's auth_todo::hmac_tlv (the caller cleared out.auth before) and params.auth_out
// (with its hmac_tlv_off). Returns no_reply_requested (RFC 9503 §4.1.1), no_key (an HMAC TLV to
// answer and no params.auth_out) or none.
drop_reason stamp_tlvs(uint8_t* f, uint8_t* ip, uint8_t* pl, std::size_t len, std::size_t tlv_off,
                       const parsed_frame& pf, ts_format fmt, uint8_t received_ds,
                       const reflect_policy& policy, const reflect_params& params, uint64_t& delta,
                       uint16_t& ts_out_at, pending_reply& out) noexcept;

} // namespace twamp::proto::detail
