// twamp-ping's STAMP TLVs (RFC 8972 §4, RFC 9503 §3/§4): `--tlv TYPE[=ARGS]` parsed into the
// octets a Session-Sender sends, and the TLVs of a reply decoded field by field. Pure functions
// (no I/O, no clocks; unit-tested in tests/unit/sender/test_tlv.cpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "twamp/proto/timestamp.hpp"

namespace twamp::sender {

// One --tlv, encoded: the whole TLV as sent (Flags with U = 1, as RFC 8972 §4 has a
// Session-Sender send every TLV; Type; Length; Value).
struct tlv_spec {
    std::string arg;             // as the user wrote it, for messages
    std::vector<uint8_t> octets; // header + Value
    bool no_reply = false;       // return-path=no-reply: the reflector is asked not to answer
    // dna=ADDRESS (the reply may come from that address) or return-path=ADDRESS (the reply goes
    // to that address): replies are not tied to the destination (options::unconnected).
    bool reply_elsewhere = false;
    // hmac: an HMAC TLV (RFC 8972 §4.8), its Value computed per packet (auth.hpp); options.cpp
    // moves it after the other --tlv's (only Extra Padding may follow it).
    bool hmac = false;
};

// Parses one --tlv argument (the forms: usage_text, options.cpp). nullopt with `error` set
// when it is wrong.
std::optional<tlv_spec> parse_tlv(std::string_view arg, std::string& error);

// Writes `tlvs` one after the other from `out`'s start; returns the octets written.
// `out` must be at least the sum of their sizes.
std::size_t write_tlvs(std::span<uint8_t> out, std::span<const tlv_spec> tlvs) noexcept;

// RFC 8972 §4.5: sets S_TxC (the packets this Session-Sender has transmitted in the session,
// this one included) in every Direct Measurement TLV of a STAMP request's TLV area.
void set_direct_measurement(std::span<uint8_t> area, uint32_t s_txc) noexcept;

// A sub-TLV of a Location (RFC 8972 §4.2.1), Timestamp Information (§4.3) or Return Path (RFC
// 9503 §4.1) TLV, as the reply carries it.
struct decoded_sub {
    uint8_t flags = 0;
    uint8_t type = 0;
    uint16_t length = 0;
    bool truncated = false; // header cut off or Length past the parent's Value: walk stopped
    // Location: Source MAC request / EUI-48 / EUI-64 (mac_len 6 or 8), an address (IPv4/IPv6
    // answer types, addr_len 4 or 16). Return Path: Return Address (addr_len 4 or 16), Control
    // Code (has_code).
    uint8_t mac_len = 0;
    std::array<uint8_t, 8> mac{};
    uint8_t addr_len = 0;
    std::array<uint8_t, 16> addr{};
    bool has_code = false;
    uint32_t code = 0;
    std::vector<uint8_t> value; // the Value octets (what is there of them)
};

// One TLV of a reply. `valid`: a type this decoder knows with a Length its definition
// allows; only then are that type's fields set.
struct decoded_tlv {
    uint8_t flags = 0;
    uint8_t type = 0;
    uint16_t length = 0;
    bool truncated = false; // header cut off or Length past the area: the walk stopped here
    bool valid = false;
    // Location (§4.2)
    uint16_t dst_port = 0, src_port = 0;
    // Timestamp Information (§4.3)
    uint8_t sync_src_in = 0, ts_in = 0, sync_src_out = 0, ts_out = 0;
    // Class of Service (§4.4, erratum 8199): DSCP1(6) DSCP2(6) ECN(2) RP(2) Reserved(16)
    uint8_t dscp1 = 0, dscp2 = 0, ecn = 0, rp = 0;
    // Direct Measurement (§4.5)
    uint32_t s_txc = 0, r_rxc = 0, r_txc = 0;
    // Access Report (§4.6)
    uint8_t access_id = 0, return_code = 0;
    // Follow-Up Telemetry (§4.7): the timestamp as on the wire (the reply's format)
    uint32_t fu_seq = 0;
    uint64_t fu_ts = 0;
    uint8_t fu_mode = 0;
    // Destination Node Address (RFC 9503 §3)
    uint8_t addr_len = 0;
    std::array<uint8_t, 16> addr{};
    std::vector<decoded_sub> subs; // Location, Timestamp Information, Return Path
    std::vector<uint8_t> value;    // the Value octets (what is there of them)
};

// Every TLV of a STAMP packet's TLV area (the octets after the 44-octet base), in order; the
// last one `truncated` when the area does not walk to its end.
std::vector<decoded_tlv> decode_tlvs(std::span<const uint8_t> area);

// Names: the metric label names of the reflector (extra_padding, location, ...), "other" for
// every other type; sub-TLVs by their parent's registry (source_eui48, control_code, ...).
const char* tlv_type_name(uint8_t type) noexcept;
const char* sub_tlv_name(uint8_t parent, uint8_t type) noexcept;

// The compact text of one reply's TLVs for twamp-ping's per-reply line, e.g.
// "location(dport 862 sport 40000 mac 02:00:00:00:00:01 dst 198.18.0.2 src 198.18.0.1)
// cos(dscp1 46 dscp2 0 ecn 0 rp 0) access[U](id 3 code 1)". `fmt`: the reply's timestamp
// format (Follow-Up Telemetry's timestamp).
std::string tlvs_text(std::span<const decoded_tlv> tlvs, proto::ts_format fmt,
                      int32_t tai_utc_offset_s);

std::string mac_string(std::span<const uint8_t> mac);
std::string address_string(std::span<const uint8_t> addr); // 4 or 16 octets
std::string hex_string(std::span<const uint8_t> octets);

// Per-type counts of the TLVs in fresh replies and of their flags (the summary's "tlvs").
struct tlv_counts {
    uint64_t seen = 0, u = 0, m = 0, i = 0;
};
struct tlv_tally {
    std::array<tlv_counts, 256> by_type{};
    void add(std::span<const decoded_tlv> tlvs) noexcept;
    void merge(const tlv_tally& o) noexcept;
    bool empty() const noexcept;
};

} // namespace twamp::sender
