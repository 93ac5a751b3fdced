// twamp-ping's STAMP TLVs (see tlv.hpp).
#include "twamp/sender/tlv.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include <arpa/inet.h>

#include "twamp/proto/bytes.hpp"
#include "twamp/proto/tlv.hpp"
#include "twamp/sender/options.hpp"

namespace twamp::sender {

using namespace twamp::proto;

namespace {

constexpr uint8_t sender_flags = tlv_flag_u; // RFC 8972 §4: U = 1, M = 0, I = 0

// 4 (IPv4) or 16 (IPv6) octets; brackets around an IPv6 address allowed.
bool parse_address(std::string_view s, std::vector<uint8_t>& out) {
    if (s.size() >= 2 && s.front() == '[' && s.back() == ']') {
        s = s.substr(1, s.size() - 2);
    }
    if (s.empty() || s.size() > 64) {
        return false;
    }
    std::string tmp(s);
    uint8_t buf[16];
    if (inet_pton(AF_INET, tmp.c_str(), buf) == 1) {
        out.assign(buf, buf + 4);
        return true;
    }
    if (inet_pton(AF_INET6, tmp.c_str(), buf) == 1) {
        out.assign(buf, buf + 16);
        return true;
    }
    return false;
}

void put_header(std::vector<uint8_t>& o, uint8_t type, std::size_t len) {
    o.push_back(sender_flags);
    o.push_back(type);
    o.push_back(static_cast<uint8_t>(len >> 8));
    o.push_back(static_cast<uint8_t>(len));
}

// A sub-TLV: the same header (RFC 8972 §4.2.1, RFC 9503 §4.1), U = 1 as for a TLV.
void put_sub(std::vector<uint8_t>& o, uint8_t type, std::span<const uint8_t> value) {
    put_header(o, type, value.size());
    o.insert(o.end(), value.begin(), value.end());
}

std::vector<uint8_t> tlv(tlv_type type, const std::vector<uint8_t>& value) {
    std::vector<uint8_t> o;
    put_header(o, static_cast<uint8_t>(type), value.size());
    o.insert(o.end(), value.begin(), value.end());
    return o;
}

// The largest Value a --tlv may carry: the whole request stays within an IPv6 UDP payload.
constexpr std::size_t max_value = 65527 - 44 - tlv_hdr_len;

} // namespace

std::optional<tlv_spec> parse_tlv(std::string_view arg, std::string& error) {
    tlv_spec s;
    s.arg = std::string(arg);
    const auto eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    const bool has_value = eq != std::string_view::npos;
    const std::string_view value = has_value ? arg.substr(eq + 1) : std::string_view{};
    auto fail = [&](std::string msg) -> std::optional<tlv_spec> {
        error = "--tlv \"" + std::string(arg) + "\": " + msg;
        return std::nullopt;
    };

    if (name == "padding") {
        uint64_t n = 0;
        if (!parse_uint(value, 0, max_value, n)) {
            return fail("expected padding=N, N octets 0.." + std::to_string(max_value));
        }
        s.octets = tlv(tlv_type::extra_padding, std::vector<uint8_t>(n, 0));
    } else if (name == "location") {
        // RFC 8972 §4.2: Destination Port, Source Port (the reflector fills them), then the
        // generic sub-TLV requests of §4.2.1: Source MAC (Length 8), Destination IP Address
        // (Length 16), Source IP Address (Length 16), their Values zeros.
        bool mac = true, dst = true, src = true;
        if (has_value) {
            mac = dst = src = false;
            std::string_view rest = value;
            while (true) {
                const auto comma = rest.find(',');
                const std::string_view w = rest.substr(0, comma);
                if (w == "mac") {
                    mac = true;
                } else if (w == "dst") {
                    dst = true;
                } else if (w == "src") {
                    src = true;
                } else {
                    return fail("expected location or location=mac,dst,src (any of them)");
                }
                if (comma == std::string_view::npos) {
                    break;
                }
                rest = rest.substr(comma + 1);
            }
        }
        std::vector<uint8_t> v(4, 0);
        if (mac) {
            put_sub(v, location_sub::source_mac, std::vector<uint8_t>(8, 0));
        }
        if (dst) {
            put_sub(v, location_sub::destination_ip, std::vector<uint8_t>(16, 0));
        }
        if (src) {
            put_sub(v, location_sub::source_ip, std::vector<uint8_t>(16, 0));
        }
        s.octets = tlv(tlv_type::location, v);
    } else if (name == "timestamp-info") {
        if (has_value) {
            return fail("takes no value");
        }
        // §4.3: Sync Src In, Timestamp In, Sync Src Out, Timestamp Out: the reflector's.
        s.octets = tlv(tlv_type::timestamp_information, std::vector<uint8_t>(4, 0));
    } else if (name == "cos") {
        uint64_t d = 0;
        if (!parse_uint(value, 0, 63, d)) {
            return fail("expected cos=DSCP1, a DSCP 0..63");
        }
        // §4.4 (erratum 8199): DSCP1 requested; DSCP2, ECN, RP and Reserved zero.
        std::vector<uint8_t> v(4, 0);
        v[0] = static_cast<uint8_t>(d << 2);
        s.octets = tlv(tlv_type::class_of_service, v);
    } else if (name == "direct-measurement") {
        if (has_value) {
            return fail("takes no value");
        }
        // §4.5: S_TxC (set per packet), R_RxC, R_TxC (the reflector's).
        s.octets = tlv(tlv_type::direct_measurement, std::vector<uint8_t>(12, 0));
    } else if (name == "access-report") {
        const auto colon = value.find(':');
        uint64_t id = 0, code = 1;
        if (!parse_uint(value.substr(0, colon), 0, 15, id) ||
            (colon != std::string_view::npos &&
             !parse_uint(value.substr(colon + 1), 0, 255, code))) {
            return fail("expected access-report=ID[:CODE], ID 0..15, CODE 0..255");
        }
        // §4.6: ID (4 bits), Resv (4 bits), Return Code (1), Reserved (2).
        s.octets = tlv(tlv_type::access_report,
                       {static_cast<uint8_t>(id << 4), static_cast<uint8_t>(code), 0, 0});
    } else if (name == "follow-up") {
        if (has_value) {
            return fail("takes no value");
        }
        // §4.7: Sequence Number (4), Follow-up Timestamp (8), Timestamp Mode (1), Reserved (3).
        s.octets = tlv(tlv_type::follow_up_telemetry, std::vector<uint8_t>(16, 0));
    } else if (name == "dna") {
        std::vector<uint8_t> a;
        if (!parse_address(value, a)) {
            return fail("expected dna=ADDRESS, an IPv4 or IPv6 address");
        }
        s.octets = tlv(tlv_type::destination_node_address, a);
        s.reply_elsewhere = true; // RFC 9503 §3: the reply SHOULD come from that address
    } else if (name == "return-path") {
        std::vector<uint8_t> v;
        if (value == "no-reply" || value == "same-link") {
            // RFC 9503 §4.1.1: Control Code Flags, bit 0x1 "Reply Requested on the Same Link".
            const uint8_t code = value == "same-link" ? 1 : 0;
            put_sub(v, return_path_sub::control_code, std::vector<uint8_t>{0, 0, 0, code});
            s.no_reply = value == "no-reply";
        } else {
            std::vector<uint8_t> a;
            if (!parse_address(value, a)) {
                return fail("expected return-path=no-reply, return-path=same-link or "
                            "return-path=ADDRESS");
            }
            put_sub(v, return_path_sub::return_address, a); // §4.1.2
            s.reply_elsewhere = true;
        }
        s.octets = tlv(tlv_type::return_path, v);
    } else if (name == "hmac") {
        if (has_value) {
            return fail("takes no value (the key: --key-file and --key-id)");
        }
        // §4.8: HMAC (16), computed for each packet over its Sequence Number and the TLVs
        // before this one.
        s.octets = tlv(tlv_type::hmac, std::vector<uint8_t>(16, 0));
        s.hmac = true;
    } else if (name == "raw") {
        const auto colon = value.find(':');
        uint64_t type = 0;
        if (colon == std::string_view::npos || !parse_uint(value.substr(0, colon), 0, 255, type)) {
            return fail("expected raw=TYPE:HEX, TYPE 0..255");
        }
        const std::string_view hex = value.substr(colon + 1);
        if (hex.size() % 2 != 0 || hex.size() / 2 > max_value) {
            return fail("the value must be an even number of hex digits");
        }
        std::vector<uint8_t> v;
        for (std::size_t i = 0; i < hex.size(); i += 2) {
            uint8_t b = 0;
            auto [p, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, b, 16);
            if (ec != std::errc() || p != hex.data() + i + 2) {
                return fail("\"" + std::string(hex.substr(i, 2)) + "\" is not a hex octet");
            }
            v.push_back(b);
        }
        s.octets.clear();
        put_header(s.octets, static_cast<uint8_t>(type), v.size());
        s.octets.insert(s.octets.end(), v.begin(), v.end());
    } else {
        return fail("unknown TLV; expected padding=N, location, timestamp-info, cos=DSCP1, "
                    "direct-measurement, access-report=ID[:CODE], follow-up, hmac, dna=ADDRESS, "
                    "return-path=no-reply|same-link|ADDRESS or raw=TYPE:HEX");
    }
    return s;
}

std::size_t write_tlvs(std::span<uint8_t> out, std::span<const tlv_spec> tlvs) noexcept {
    std::size_t at = 0;
    for (const tlv_spec& t : tlvs) {
        std::copy(t.octets.begin(), t.octets.end(), out.begin() + static_cast<std::ptrdiff_t>(at));
        at += t.octets.size();
    }
    return at;
}

void set_direct_measurement(std::span<uint8_t> area, uint32_t s_txc) noexcept {
    tlv_walker w(area);
    tlv_view t;
    while (w.next(t)) {
        if (t.type == static_cast<uint8_t>(tlv_type::direct_measurement) && t.length == 12) {
            store_be32(area.data() + t.offset + tlv_hdr_len, s_txc);
        }
    }
}

namespace {

void decode_location_sub(decoded_sub& s, std::span<const uint8_t> v) {
    using namespace location_sub;
    switch (s.type) {
    case source_mac:
    case source_eui48:
        if (v.size() == 8) {
            s.mac_len = 6;
            std::copy(v.begin(), v.begin() + 6, s.mac.begin());
        }
        break;
    case source_eui64:
        if (v.size() == 8) {
            s.mac_len = 8;
            std::copy(v.begin(), v.begin() + 8, s.mac.begin());
        }
        break;
    case destination_ipv4:
    case source_ipv4:
        if (v.size() == 16) {
            s.addr_len = 4;
            std::copy(v.begin(), v.begin() + 4, s.addr.begin());
        }
        break;
    case destination_ipv6:
    case source_ipv6:
        if (v.size() == 16) {
            s.addr_len = 16;
            std::copy(v.begin(), v.end(), s.addr.begin());
        }
        break;
    default:
        break;
    }
}

void decode_return_path_sub(decoded_sub& s, std::span<const uint8_t> v) {
    if (s.type == return_path_sub::control_code && v.size() == 4) {
        s.has_code = true;
        s.code = load_be32(v.data());
    } else if (s.type == return_path_sub::return_address && (v.size() == 4 || v.size() == 16)) {
        s.addr_len = static_cast<uint8_t>(v.size());
        std::copy(v.begin(), v.end(), s.addr.begin());
    }
}

// TLVs or sub-TLVs (decoded_tlv, decoded_sub: flags, type, length, truncated, value) one after
// the other in `area`, bounded (each step consumes at least 4 octets). One cut off (header, or
// a Length past the end) is the last, `truncated`, with what is there of it; each whole one
// goes to decode(item, its Value).
template<class Item, class Decode>
std::vector<Item> walk(std::span<const uint8_t> area, Decode decode) {
    std::vector<Item> out;
    std::size_t pos = 0;
    while (pos < area.size()) {
        Item t;
        const std::size_t left = area.size() - pos;
        const uint8_t* p = area.data() + pos;
        t.flags = p[0];
        if (left < tlv_hdr_len) {
            t.truncated = true;
            t.type = left > 1 ? p[1] : 0;
            t.value.assign(p, p + left);
            out.push_back(std::move(t));
            break;
        }
        t.type = p[1];
        t.length = load_be16(p + 2);
        const std::size_t have = std::min<std::size_t>(t.length, left - tlv_hdr_len);
        const std::span<const uint8_t> v(p + tlv_hdr_len, have);
        t.value.assign(v.begin(), v.end());
        if (t.length > left - tlv_hdr_len) {
            t.truncated = true;
            out.push_back(std::move(t));
            break;
        }
        decode(t, v);
        out.push_back(std::move(t));
        pos += tlv_hdr_len + have;
    }
    return out;
}

// Sub-TLVs in `v`.
std::vector<decoded_sub> decode_subs(uint8_t parent, std::span<const uint8_t> v) {
    return walk<decoded_sub>(v, [parent](decoded_sub& s, std::span<const uint8_t> sv) {
        if (parent == static_cast<uint8_t>(tlv_type::location)) {
            decode_location_sub(s, sv);
        } else if (parent == static_cast<uint8_t>(tlv_type::return_path)) {
            decode_return_path_sub(s, sv);
        }
    });
}

void decode_value(decoded_tlv& t, std::span<const uint8_t> v) {
    const std::size_t n = v.size();
    const uint8_t* p = v.data();
    switch (static_cast<tlv_type>(t.type)) {
    case tlv_type::extra_padding:
        t.valid = true;
        break;
    case tlv_type::location:
        if (n >= 4) {
            t.valid = true;
            t.dst_port = load_be16(p);
            t.src_port = load_be16(p + 2);
            t.subs = decode_subs(t.type, v.subspan(4));
        }
        break;
    case tlv_type::timestamp_information:
        if (n >= 4) {
            t.valid = true;
            t.sync_src_in = p[0];
            t.ts_in = p[1];
            t.sync_src_out = p[2];
            t.ts_out = p[3];
            t.subs = decode_subs(t.type, v.subspan(4));
        }
        break;
    case tlv_type::class_of_service:
        if (n == 4) {
            t.valid = true;
            const uint16_t w = load_be16(p);
            t.dscp1 = static_cast<uint8_t>(w >> 10);
            t.dscp2 = static_cast<uint8_t>((w >> 4) & 0x3f);
            t.ecn = static_cast<uint8_t>((w >> 2) & 0x3);
            t.rp = static_cast<uint8_t>(w & 0x3);
        }
        break;
    case tlv_type::direct_measurement:
        if (n == 12) {
            t.valid = true;
            t.s_txc = load_be32(p);
            t.r_rxc = load_be32(p + 4);
            t.r_txc = load_be32(p + 8);
        }
        break;
    case tlv_type::access_report:
        if (n == 4) {
            t.valid = true;
            t.access_id = static_cast<uint8_t>(p[0] >> 4);
            t.return_code = p[1];
        }
        break;
    case tlv_type::follow_up_telemetry:
        if (n == 16) {
            t.valid = true;
            t.fu_seq = load_be32(p);
            t.fu_ts = load_be64(p + 4);
            t.fu_mode = p[12];
        }
        break;
    case tlv_type::hmac:
        t.valid = n == 16;
        break;
    case tlv_type::destination_node_address:
        if (n == 4 || n == 16) {
            t.valid = true;
            t.addr_len = static_cast<uint8_t>(n);
            std::copy(v.begin(), v.end(), t.addr.begin());
        }
        break;
    case tlv_type::return_path:
        if (n >= 4) {
            t.valid = true;
            t.subs = decode_subs(t.type, v);
        }
        break;
    default:
        break;
    }
}

} // namespace

std::vector<decoded_tlv> decode_tlvs(std::span<const uint8_t> area) {
    return walk<decoded_tlv>(area, decode_value);
}

const char* tlv_type_name(uint8_t type) noexcept {
    switch (type) {
    case 1:
        return "extra_padding";
    case 2:
        return "location";
    case 3:
        return "timestamp_information";
    case 4:
        return "class_of_service";
    case 5:
        return "direct_measurement";
    case 6:
        return "access_report";
    case 7:
        return "follow_up_telemetry";
    case 8:
        return "hmac";
    case 9:
        return "destination_node_address";
    case 10:
        return "return_path";
    default:
        return "other";
    }
}

const char* sub_tlv_name(uint8_t parent, uint8_t type) noexcept {
    if (parent == static_cast<uint8_t>(tlv_type::location)) {
        static const char* const names[] = {
                "other",          "source_mac",       "source_eui48",     "source_eui64",
                "destination_ip", "destination_ipv4", "destination_ipv6", "source_ip",
                "source_ipv4",    "source_ipv6"};
        return type < std::size(names) ? names[type] : "other";
    }
    if (parent == static_cast<uint8_t>(tlv_type::return_path)) {
        switch (type) {
        case return_path_sub::control_code:
            return "control_code";
        case return_path_sub::return_address:
            return "return_address";
        case return_path_sub::sr_mpls_label_stack:
            return "sr_mpls_label_stack";
        case return_path_sub::srv6_segment_list:
            return "srv6_segment_list";
        default:
            return "other";
        }
    }
    return "other";
}

std::string mac_string(std::span<const uint8_t> mac) {
    std::string s;
    char b[4];
    for (std::size_t i = 0; i < mac.size(); ++i) {
        std::snprintf(b, sizeof b, i ? ":%02x" : "%02x", mac[i]);
        s += b;
    }
    return s;
}

std::string address_string(std::span<const uint8_t> addr) {
    char b[INET6_ADDRSTRLEN] = {};
    if (addr.size() == 4) {
        inet_ntop(AF_INET, addr.data(), b, sizeof b);
    } else if (addr.size() == 16) {
        inet_ntop(AF_INET6, addr.data(), b, sizeof b);
    }
    return b;
}

std::string hex_string(std::span<const uint8_t> octets) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(octets.size() * 2);
    for (uint8_t o : octets) {
        s += digits[o >> 4];
        s += digits[o & 0xf];
    }
    return s;
}

namespace {

// The short names of the per-reply text line (--tlv's names where it has one).
std::string short_name(uint8_t type) {
    switch (type) {
    case 1:
        return "padding";
    case 2:
        return "location";
    case 3:
        return "timestamp-info";
    case 4:
        return "cos";
    case 5:
        return "dm";
    case 6:
        return "access";
    case 7:
        return "follow-up";
    case 8:
        return "hmac";
    case 9:
        return "dna";
    case 10:
        return "return-path";
    default:
        return "type-" + std::to_string(type);
    }
}

std::string flags_text(uint8_t flags) {
    std::string f;
    if (flags & tlv_flag_u) {
        f += "U";
    }
    if (flags & tlv_flag_m) {
        f += f.empty() ? "M" : ",M";
    }
    if (flags & tlv_flag_i) {
        f += f.empty() ? "I" : ",I";
    }
    return f.empty() ? f : "[" + f + "]";
}

std::string sub_text(uint8_t parent, const decoded_sub& s) {
    std::string out;
    const std::string fl = flags_text(s.flags);
    if (parent == static_cast<uint8_t>(tlv_type::location)) {
        using namespace location_sub;
        const char* what = s.type <= source_eui64       ? "mac"
                           : s.type <= destination_ipv6 ? "dst"
                           : s.type <= source_ipv6      ? "src"
                                                        : nullptr;
        out = what ? what : "sub-" + std::to_string(s.type);
        out += fl;
        if (s.mac_len) {
            out += " " + mac_string(std::span(s.mac.data(), s.mac_len));
        } else if (s.addr_len) {
            out += " " + address_string(std::span(s.addr.data(), s.addr_len));
        } else if (s.type == source_mac || s.type == destination_ip || s.type == source_ip) {
            out += " unanswered";
        }
        return out;
    }
    if (parent == static_cast<uint8_t>(tlv_type::return_path)) {
        if (s.has_code) {
            return "code" + fl +
                   ((s.code & return_path_sub::reply_requested) ? " same-link" : " no-reply");
        }
        if (s.type == return_path_sub::return_address && s.addr_len) {
            return "address" + fl + " " + address_string(std::span(s.addr.data(), s.addr_len));
        }
    }
    return "sub-" + std::to_string(s.type) + fl;
}

std::string num(uint64_t v) {
    return std::to_string(v);
}

} // namespace

std::string tlvs_text(std::span<const decoded_tlv> tlvs, ts_format fmt, int32_t tai_utc_offset_s) {
    std::string out;
    for (const decoded_tlv& t : tlvs) {
        if (!out.empty()) {
            out += ' ';
        }
        out += short_name(t.type) + flags_text(t.flags);
        if (t.truncated) {
            out += "(truncated)";
            continue;
        }
        if (!t.valid) {
            out += "(" + num(t.length) + " octets)";
            continue;
        }
        std::string f;
        switch (static_cast<tlv_type>(t.type)) {
        case tlv_type::extra_padding:
        case tlv_type::hmac:
            f = num(t.length);
            break;
        case tlv_type::location:
            f = "dport " + num(t.dst_port) + " sport " + num(t.src_port);
            for (const decoded_sub& s : t.subs) {
                f += " " + sub_text(t.type, s);
            }
            break;
        case tlv_type::timestamp_information:
            f = "in " + num(t.sync_src_in) + "/" + num(t.ts_in) + " out " + num(t.sync_src_out) +
                "/" + num(t.ts_out);
            break;
        case tlv_type::class_of_service:
            f = "dscp1 " + num(t.dscp1) + " dscp2 " + num(t.dscp2) + " ecn " + num(t.ecn) + " rp " +
                num(t.rp);
            break;
        case tlv_type::direct_measurement:
            f = "s_txc " + num(t.s_txc) + " r_rxc " + num(t.r_rxc) + " r_txc " + num(t.r_txc);
            break;
        case tlv_type::access_report:
            f = "id " + num(t.access_id) + " code " + num(t.return_code);
            break;
        case tlv_type::follow_up_telemetry: {
            const uint64_t ns = t.fu_ts ? decode_timestamp(fmt, t.fu_ts, tai_utc_offset_s) : 0;
            char b[48];
            std::snprintf(b, sizeof b, "%lu.%09lu", ns / 1'000'000'000, ns % 1'000'000'000);
            f = "seq " + num(t.fu_seq) + " ts " + b + " mode " + num(t.fu_mode);
            break;
        }
        case tlv_type::destination_node_address:
            f = address_string(std::span(t.addr.data(), t.addr_len));
            break;
        case tlv_type::return_path:
            for (const decoded_sub& s : t.subs) {
                f += (f.empty() ? "" : " ") + sub_text(t.type, s);
            }
            break;
        default:
            f = num(t.length) + " octets";
            break;
        }
        out += "(" + f + ")";
    }
    return out;
}

void tlv_tally::add(std::span<const decoded_tlv> tlvs) noexcept {
    for (const decoded_tlv& t : tlvs) {
        tlv_counts& c = by_type[t.type];
        ++c.seen;
        c.u += (t.flags & tlv_flag_u) ? 1 : 0;
        c.m += (t.flags & tlv_flag_m) ? 1 : 0;
        c.i += (t.flags & tlv_flag_i) ? 1 : 0;
    }
}

void tlv_tally::merge(const tlv_tally& o) noexcept {
    for (std::size_t k = 0; k < by_type.size(); ++k) {
        by_type[k].seen += o.by_type[k].seen;
        by_type[k].u += o.by_type[k].u;
        by_type[k].m += o.by_type[k].m;
        by_type[k].i += o.by_type[k].i;
    }
}

bool tlv_tally::empty() const noexcept {
    return std::all_of(by_type.begin(), by_type.end(),
                       [](const tlv_counts& c) { return c.seen == 0; });
}

} // namespace twamp::sender
