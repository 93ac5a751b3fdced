// Unauthenticated TWAMP-Test (RFC 5357 §4.1.2, §4.2.1) and STAMP (RFC 8762 §4.2.1, §4.3.1,
// SSID from RFC 8972 §3) layouts: octet offsets into the UDP payload.
#pragma once

#include <cstddef>
#include <cstdint>

namespace twamp::proto {

// Session-Sender test packet, both protocols:
//   0 Sequence Number(4)  4 Timestamp(8)  12 Error Estimate(2)  14 ...
namespace sender {
inline constexpr std::size_t seq = 0;
inline constexpr std::size_t timestamp = 4;
inline constexpr std::size_t error_estimate = 12;
inline constexpr std::size_t ssid = 14;          // STAMP only (RFC 8972 §3); MBZ in RFC 8762
inline constexpr std::size_t twamp_min_len = 14; // RFC 5357 §4.1.2 without padding
inline constexpr std::size_t stamp_len = 44;     // RFC 8762 §4.2.1: 44 octets incl. MBZ
} // namespace sender

// Session-Reflector test packet:
//    0 Sequence Number(4)  4 Timestamp T3(8)  12 Error Estimate(2)
//   14 MBZ(2) [STAMP: SSID(2)]   16 Receive Timestamp T2(8)
//   24 Sender Sequence Number(4)  28 Sender Timestamp(8)  36 Sender Error Estimate(2)
//   38 MBZ(2)  40 Sender TTL(1)  [TWAMP: 41 padding...]  [STAMP: 41 MBZ(3), 44 TLVs...]
namespace reflector {
inline constexpr std::size_t seq = 0;
inline constexpr std::size_t timestamp = 4;
inline constexpr std::size_t error_estimate = 12;
inline constexpr std::size_t mbz1 = 14; // STAMP: SSID
inline constexpr std::size_t ssid = 14;
inline constexpr std::size_t receive_timestamp = 16;
inline constexpr std::size_t sender_seq = 24;
inline constexpr std::size_t sender_timestamp = 28;
inline constexpr std::size_t sender_error_estimate = 36;
inline constexpr std::size_t mbz2 = 38;
inline constexpr std::size_t sender_ttl = 40;
inline constexpr std::size_t twamp_len = 41; // RFC 5357 §4.2.1 base, before padding
inline constexpr std::size_t stamp_mbz3 = 41;
inline constexpr std::size_t stamp_len = 44; // RFC 8762 §4.3.1
} // namespace reflector

// STAMP TLVs start right after the 44-octet base in both directions (RFC 8972 §4).
inline constexpr std::size_t stamp_tlv_offset = 44;

} // namespace twamp::proto
