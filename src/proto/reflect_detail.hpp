// What reflect.cpp shares with auth.cpp (module-private).
#pragma once

#include <cstddef>
#include <cstdint>

#include "twamp/proto/packet.hpp"
#include "twamp/proto/reflect.hpp"

namespace twamp::proto::detail {

// The STAMP TLV area of a request being turned into its reply, `tlv_off` octets into the
// payload `pl` of `len` octets (44 unauthenticated, 112 authenticated), after the L2-L4 swaps:
// reflect_tlvs() and what the TLVs ask of the IP header (IPv4 header checksum kept right).
// `delta`: the unfolded change of the UDP checksum's sum; `ts_out_at`, `hmac_at`: 1 + the area
// offset of the Timestamp Out octet / of the HMAC TLV (0: none). `request_seq`: the request's
// Sequence Number (the HMAC TLV's text). True: no reply (RFC 9503 §4.1.1).
bool stamp_tlvs(uint8_t* f, uint8_t* ip, uint8_t* pl, std::size_t len, std::size_t tlv_off,
                const parsed_frame& pf, ts_format fmt, uint8_t received_ds,
                const reflect_policy& policy, const reflect_params& params, uint32_t request_seq,
                uint64_t& delta, uint16_t& ts_out_at, uint16_t& hmac_at) noexcept;

} // namespace twamp::proto::detail
