// reflect() and its split form, table-driven (DESIGN.md "Reflection, exactly"). Every reflected
// row is checked field by field by reply_check.hpp, checksums recomputed from scratch, and run
// again with NIC-verified checksums and through the split path (reflect_runner.hpp).
#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "reflect_runner.hpp"
#include "test_util.hpp"

#include "twamp/crypto/crypto.hpp"
#include "twamp/proto/checksum.hpp"
#include "twamp/proto/reflect.hpp"

using namespace twamp::proto;
using namespace twamp::test;

namespace {

frame_spec base_spec(int ipv, int tags) {
    frame_spec s = ipv == 4 ? v4_spec() : v6_spec();
    if (tags >= 1) {
        s.vlans.push_back({tags == 2 ? uint16_t{0x88a8} : uint16_t{0x8100}, 0x0064}); // VID 100
    }
    if (tags == 2) {
        s.vlans.push_back({0x8100, 0x20c8}); // PCP 1, VID 200
    }
    return s;
}

bytes twamp_payload(bool z, std::size_t len) {
    return twamp_request(sender_seq, sender_ts(z), z ? 0xc101 : 0x8101, len);
}

bytes stamp_payload(bool z, const bytes& tlvs = {}) {
    return stamp_request(sender_seq, sender_ts(z), z ? 0xc101 : 0x8101, ssid, tlvs);
}

// ---- the matrix: IP version x tags x protocol x timestamp choice x session state -----------

std::vector<reflect_row> matrix_rows() {
    std::vector<reflect_row> rows;
    const char* tag_names[] = {"untagged", "ctag", "qinq"};
    struct ts_case {
        const char* name;
        bool z;
        ts_policy policy;
    };
    const ts_case ts_cases[] = {
            {"z0_ntp", false, ts_policy::auto_z},
            {"z1_ptp", true, ts_policy::auto_z},
            {"z1_forced_ntp", true, ts_policy::ntp},
            {"z0_forced_ptp", false, ts_policy::ptp},
    };
    for (int ipv : {4, 6}) {
        for (int tags = 0; tags <= 2; ++tags) {
            for (bool stamp : {false, true}) {
                for (const auto& tc : ts_cases) {
                    for (bool stateful : {true, false}) {
                        reflect_row r;
                        r.name = "v" + std::to_string(ipv) + "_" + tag_names[tags] + "_" +
                                 (stamp ? "stamp" : "twamp") + "_" + tc.name + "_" +
                                 (stateful ? "stateful" : "stateless");
                        r.rfc = stamp ? "RFC 8762 §4.3 reflector packet, RFC 8972 §3 SSID"
                                      : "RFC 5357 §4.2.1 reflector packet";
                        r.rfc += tc.z || tc.policy == ts_policy::ptp
                                         ? ", RFC 8186 §2.3 PTPv2 truncated"
                                         : ", RFC 5905 §6 NTP";
                        r.rfc += stateful ? ", RFC 8762 §4.3.1 stateful" : ", §4.3.1 stateless";
                        r.rfc += tags ? ", IEEE 802.1Q/802.1ad tags kept" : "";
                        r.spec = base_spec(ipv, tags);
                        r.spec.payload = stamp ? stamp_payload(tc.z, tlv(0, 1, pattern(12, 5)))
                                               : twamp_payload(tc.z, 64);
                        r.policy.mode = stamp ? test_mode::stamp : test_mode::twamp_light;
                        r.policy.timestamps = tc.policy;
                        r.params.stateful = stateful;
                        rows.push_back(r);
                    }
                }
            }
        }
    }
    return rows;
}

class reflect_matrix : public ::testing::TestWithParam<reflect_row> {};

TEST_P(reflect_matrix, reply) {
    run_row(GetParam());
}

// Each matrix row again with the UDP checksum the sender left out: zero is legal over IPv4
// (RFC 768) and over IPv6 when the context allows it (RFC 6935/6936); the reply must still
// carry a complete, correct checksum (DESIGN.md).
TEST_P(reflect_matrix, reply_to_zero_udp_checksum) {
    reflect_row r = GetParam();
    r.spec.csum = udp_csum::zero;
    r.policy.allow_ipv6_zero_checksum = true;
    run_row(r);
}

std::string row_name(const ::testing::TestParamInfo<reflect_row>& i) {
    return i.param.name;
}

INSTANTIATE_TEST_SUITE_P(all, reflect_matrix, ::testing::ValuesIn(matrix_rows()), row_name);

// ---- single-purpose rows --------------------------------------------------------------------

reflect_row row(std::string name, std::string rfc, int ipv = 4, bool stamp = false) {
    reflect_row r;
    r.name = std::move(name);
    r.rfc = std::move(rfc);
    r.spec = base_spec(ipv, 0);
    r.spec.payload = stamp ? stamp_payload(false) : twamp_payload(false, 41);
    r.policy.mode = stamp ? test_mode::stamp : test_mode::twamp_light;
    return r;
}

std::vector<reflect_row> feature_rows() {
    std::vector<reflect_row> v;
    // DS field (DESIGN.md: copy = reply in kind, or a fixed DSCP; ECN bits as received).
    for (int ipv : {4, 6}) {
        const std::string p = "v" + std::to_string(ipv) + "_";
        auto r =
                row(p + "dscp_copy_ef_ect1", "RFC 2474 §3 DS field copied, RFC 3168 ECN kept", ipv);
        r.spec.tos = 0xb9; // EF, ECT(1)
        v.push_back(r);
        r = row(p + "dscp_fixed_46_keeps_ecn", "RFC 2474 §3 fixed DSCP, RFC 3168 §5 ECN kept", ipv);
        r.spec.tos = 0x01;
        r.policy.dscp = 46;
        v.push_back(r);
        // RFC 3168 §5: CE is set by a router that saw congestion, never by a sender; the reply
        // is a packet this box sends: CE received comes back as ECT(0), for a copied DSCP and
        // a fixed one alike; ECT(0), ECT(1) and Not-ECT come back as received.
        r = row(p + "dscp_fixed_0_ce_becomes_ect0", "RFC 3168 §5 CE is a router's mark", ipv);
        r.spec.tos = 0xbb; // EF + CE
        r.policy.dscp = 0;
        v.push_back(r);
        r = row(p + "dscp_copy_ce_becomes_ect0", "RFC 3168 §5 CE is a router's mark", ipv, true);
        r.spec.tos = 0xbb; // EF + CE
        v.push_back(r);
        r = row(p + "dscp_copy_ect0_kept", "RFC 3168 §5 ECT(0) kept", ipv);
        r.spec.tos = 0x2a; // AF11 + ECT(0)
        v.push_back(r);
        r = row(p + "dscp_fixed_not_ect_kept", "RFC 3168 §5 Not-ECT kept", ipv);
        r.spec.tos = 0xb8; // EF, Not-ECT
        r.policy.dscp = 10;
        v.push_back(r);
        r = row(p + "dscp_fixed_63", "RFC 2474 §3 DSCP 63", ipv, true);
        r.spec.tos = 0x02;
        r.policy.dscp = 63;
        v.push_back(r);
        // TTL / Hop Limit: 255 out, the received one in Sender TTL.
        for (int ttl : {1, 64, 255}) {
            r = row(p + "sender_ttl_" + std::to_string(ttl),
                    "RFC 5357 §4.2.1 Sender TTL, RFC 5357 §4.1.2 TTL 255", ipv, ttl == 64);
            r.spec.ttl = static_cast<uint8_t>(ttl);
            v.push_back(r);
        }
        // MACs: our MAC, or the request's destination when the caller gives none.
        r = row(p + "source_mac_from_request_when_no_port_mac", "DESIGN.md L2", ipv);
        r.params.our_mac = nullptr;
        v.push_back(r);
        // Ethernet padding after the datagram is not part of the reply.
        r = row(p + "ethernet_padding_trimmed", "IEEE 802.3 padding, RFC 894", ipv, true);
        r.spec.min_frame = 200;
        r.mutate = [](bytes& f) {
            const layers l = locate(f.data());
            std::fill(f.begin() + static_cast<std::ptrdiff_t>(l.l3_end), f.end(), 0xee);
        };
        v.push_back(r);
        r = row(p + "short_twamp_padded_frame_grows", "RFC 5357 §4.2.1, IEEE 802.3 padding", ipv);
        r.spec.payload = twamp_payload(false, 14);
        r.spec.min_frame = 128;
        r.mutate = [](bytes& f) {
            const layers l = locate(f.data());
            std::fill(f.begin() + static_cast<std::ptrdiff_t>(l.l3_end), f.end(), 0xee);
        };
        v.push_back(r);
        // Our Error Estimate: as configured, Z per format, never a zero Multiplier.
        r = row(p + "error_estimate_unsynchronized", "RFC 4656 §4.1.2 S=0", ipv);
        r.params.our_error = {false, false, 10, 200};
        v.push_back(r);
        r = row(p + "error_estimate_zero_multiplier_sent_as_1", "RFC 4656 §4.1.2 Multiplier>0", ipv,
                true);
        r.params.our_error = {true, true, 63, 0}; // Z from the caller is ignored: per packet
        v.push_back(r);
        // Checksum corner cases of the sender's packet that must still reflect.
        r = row(p + "udp_checksum_ffff_received", "RFC 768 all-ones checksum", ipv);
        r.spec.payload = twamp_payload(false, 42);
        r.mutate = [](bytes& f) {
            // Make the sender's computed checksum zero, which RFC 768 sends as 0xffff: adjust
            // the last padding word so the datagram sums to all ones.
            const layers l = locate(f.data());
            uint8_t* u = f.data() + l.l4;
            wr16(u + 8 + 40, 0);
            uint16_t c = ref_udp_checksum(l.ip_version, f.data() + l.l3, u, l.udp_len);
            wr16(u + 8 + 40, c == 0xffff ? 0 : c);
            wr16(u + 6, ref_udp_checksum(l.ip_version, f.data() + l.l3, u, l.udp_len));
        };
        v.push_back(r);
        r = row(p + "odd_payload_length", "RFC 1071 odd-length sum, RFC 6038 symmetric", ipv);
        r.spec.payload = twamp_payload(false, 77);
        v.push_back(r);
    }
    // IPv4 options (RFC 791 §3.1) are never returned: the reply has IHL 5 (the oracle checks
    // it), its datagram moved down, both checksums recomputed.
    auto r = row("v4_options_ihl6_removed", "RFC 791 §3.1 options not echoed", 4, true);
    r.spec.ip_options = {0x01, 0x01, 0x01, 0x00}; // NOP NOP NOP EOL
    v.push_back(r);
    r = row("v4_options_ihl15_removed", "RFC 791 §3.1 maximum IHL", 4);
    r.spec.ip_options = bytes(40, 0x01);
    v.push_back(r);
    r = row("v4_options_record_route_removed", "RFC 791 §3.1 Record Route not echoed", 4);
    r.spec.ip_options = {0x07, 0x07, 0x04, 0, 0, 0, 0, 0x00}; // RR (one slot), EOL
    r.spec.payload = twamp_payload(false, 100);
    v.push_back(r);
    r = row("v4_options_timestamp_removed_zero_csum", "RFC 791 §3.1, RFC 768 no checksum", 4);
    r.spec.ip_options = {0x44, 0x0c, 0x05, 0x00, 0, 0, 0, 0, 0, 0, 0, 0}; // Timestamp
    r.spec.csum = udp_csum::zero;
    r.spec.payload = twamp_payload(false, 77);
    v.push_back(r);
    r = row("v4_options_short_twamp_grows", "RFC 791 §3.1, RFC 5357 §4.2.1", 4);
    r.spec.ip_options = {0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00};
    r.spec.payload = twamp_payload(false, 14);
    r.spec.min_frame = 0;
    r.capacity = 14 + 20 + 8 + 41; // exactly the reply: the options' room is reused
    v.push_back(r);
    r = row("v4_source_223_255_255_255_ok", "RFC 1122 §3.2.1.3 unicast boundary", 4);
    r.spec.src_ip = {223, 255, 255, 255};
    v.push_back(r);
    r = row("v4_source_1_0_0_1_ok", "RFC 1122 §3.2.1.3", 4);
    r.spec.src_ip = {1, 0, 0, 1};
    v.push_back(r);
    r = row("v6_source_link_local_ok", "RFC 4291 §2.5.6", 6);
    r.spec.src_ip = v6addr({0xfe80, 0x0001});
    v.push_back(r);
    r = row("v6_zero_udp_checksum_allowed", "RFC 6936 §5 zero checksum allowed by context", 6,
            true);
    r.spec.csum = udp_csum::zero;
    r.policy.allow_ipv6_zero_checksum = true;
    v.push_back(r);
    r = row("v4_zero_udp_checksum", "RFC 768 checksum optional over IPv4", 4, true);
    r.spec.csum = udp_csum::zero;
    v.push_back(r);
    r = row("v4_stamp_long_ssid_ffff", "RFC 8972 §3 SSID copied", 4, true);
    r.spec.payload = stamp_request(0xffffffff, sender_ts(false), 0x0001, 0xffff);
    r.params.stateful = false;
    v.push_back(r);
    r = row("v6_stamp_sender_mbz_not_zero", "RFC 8762 §4.3.1 reflector MBZ octets are zero", 6,
            true);
    r.spec.payload = stamp_payload(false);
    std::fill(r.spec.payload.begin() + 16, r.spec.payload.end(), 0xa5); // sender broke MBZ
    v.push_back(r);
    r = row("v4_twamp_ignores_stamp_ssid_octets", "RFC 5357 §4.2.1 MBZ", 4);
    r.spec.payload = twamp_payload(false, 44); // octets 14-15 are padding: MBZ in the reply
    v.push_back(r);
    r = row("v6_stamp_in_twamp_context", "RFC 8762 §4.6 interop: a TWAMP Light reflector", 6);
    r.spec.payload = stamp_payload(true, tlv(0, 200, pattern(8, 1)));
    v.push_back(r); // the TLV octets are padding to TWAMP: returned truncated as padding

    // RFC 5357 §4.2.1: the sender's padding is re-used "truncated such that the
    // highest-number octets are discarded": reply octet 41 + i = request octet 14 + i (the
    // oracle). Lengths around the base and odd ones (the move is by 27, an odd count: every
    // octet changes its 16-bit lane), zero and non-zero checksums.
    for (int ipv : {4, 6}) {
        const std::string p = "v" + std::to_string(ipv) + "_";
        for (std::size_t n : {42u, 43u, 44u, 67u, 68u, 255u, 1000u, 1400u, 1401u}) {
            r = row(p + "twamp_padding_truncated_high_" + std::to_string(n),
                    "RFC 5357 §4.2.1 highest-number padding octets discarded", ipv);
            r.spec.payload = twamp_payload(false, n);
            v.push_back(r);
        }
        // RFC 6038 symmetrical size: the sender's padding starts after its 27 MBZ octets, at
        // 41, where the reply's starts: it stays in place.
        for (std::size_t n : {41u, 42u, 77u, 1400u}) {
            r = row(p + "twamp_symmetrical_padding_in_place_" + std::to_string(n),
                    "RFC 6038 §4 symmetrical size", ipv);
            r.spec.payload = twamp_payload(false, n);
            std::fill(r.spec.payload.begin() + 14,
                      r.spec.payload.begin() + std::min<std::ptrdiff_t>(41, n), 0); // MBZ
            r.policy.symmetrical_size = true;
            v.push_back(r);
        }
    }
    for (std::size_t n : {42u, 99u, 1400u}) {
        r = row("v4_twamp_padding_truncated_zero_csum_" + std::to_string(n),
                "RFC 5357 §4.2.1, RFC 768 no checksum", 4);
        r.spec.payload = twamp_payload(false, n);
        r.spec.csum = udp_csum::zero;
        v.push_back(r);
    }
    r = row("v6_twamp_padding_truncated_zero_csum_allowed", "RFC 5357 §4.2.1, RFC 6936", 6);
    r.spec.payload = twamp_payload(true, 300);
    r.spec.csum = udp_csum::zero;
    r.policy.allow_ipv6_zero_checksum = true;
    v.push_back(r);

    // RFC 8762 §4.6: a STAMP reflector answers a request shorter than its 44-octet base (a
    // TWAMP Light sender) with the base packet: 44 octets, NTP timestamps whatever Z says, no
    // SSID (the oracle: reflect_runner.hpp expectation()); only the 14-octet sender header is
    // needed.
    for (int ipv : {4, 6}) {
        const std::string p = "v" + std::to_string(ipv) + "_";
        for (std::size_t n : {14u, 15u, 16u, 40u, 41u, 43u}) {
            for (bool z : {false, true}) {
                r = row(p + "stamp_short_" + std::to_string(n) + (z ? "_z1" : "_z0"),
                        "RFC 8762 §4.6 base packet to a TWAMP Light sender", ipv, true);
                r.spec.payload = twamp_payload(z, n);
                v.push_back(r);
            }
        }
    }
    r = row("v4_stamp_short_zero_csum", "RFC 8762 §4.6, RFC 768", 4, true);
    r.spec.payload = twamp_payload(false, 14);
    r.spec.csum = udp_csum::zero;
    v.push_back(r);
    r = row("v4_stamp_short_forced_ptp", "RFC 8762 §4.6; the context forces PTP", 4, true);
    r.spec.payload = twamp_payload(false, 30);
    r.policy.timestamps = ts_policy::ptp;
    v.push_back(r);
    r = row("v4_stamp_short_ipv4_options", "RFC 8762 §4.6, RFC 791 §3.1", 4, true);
    r.spec.payload = twamp_payload(false, 20);
    r.spec.ip_options = {0x01, 0x01, 0x01, 0x00};
    v.push_back(r);

    // Trailing zeros after the STAMP base, or after the last TLV: padding, returned as it came
    // (no U-flagged Type-0 TLVs); RFC 8762 §4.6, RFC 8972 §4 (tlv.hpp).
    for (std::size_t z : {1u, 3u, 4u, 20u, 1356u}) {
        r = row("v4_stamp_zero_tail_" + std::to_string(z), "RFC 8762 §4.6 remainder copied", 4,
                true);
        r.spec.payload = stamp_payload(false, bytes(z, 0));
        r.tlv_area = bytes(z, 0);
        v.push_back(r);
    }
    r = row("v6_stamp_tlv_then_zero_tail", "RFC 8972 §4 TLVs, then zero padding", 6, true);
    {
        bytes t = tlv(0x80, 1, pattern(12, 3));
        bytes in = t;
        in.resize(t.size() + 32, 0);
        bytes want = t;
        want[0] = 0; // Extra Padding recognised: U cleared
        want.resize(t.size() + 32, 0);
        r.spec.payload = stamp_payload(false, in);
        r.tlv_area = want;
    }
    v.push_back(r);
    r = row("v4_stamp_zeros_then_data_are_tlvs", "RFC 8972 §4: not all zeros, so TLVs", 4, true);
    {
        bytes in(12, 0);
        in.push_back(0x01); // a non-zero octet at the end: the zeros are Type-0 TLVs
        bytes want = in;
        want[0] = 0x80; // (0,0,0,0): Type 0 unknown -> U
        want[4] = 0x80;
        want[8] = 0x80;
        want[12] = 0x40; // 1 octet left: malformed (M); its Type octet is missing: no U
        r.spec.payload = stamp_payload(false, in);
        r.tlv_area = want;
    }
    v.push_back(r);
    return v;
}

class reflect_features : public ::testing::TestWithParam<reflect_row> {};

TEST_P(reflect_features, reply) {
    run_row(GetParam());
}

INSTANTIATE_TEST_SUITE_P(rows, reflect_features, ::testing::ValuesIn(feature_rows()), row_name);

// ---- drops ----------------------------------------------------------------------------------

reflect_row drop_row(std::string name, std::string rfc, drop_reason reason, int ipv = 4,
                     bool stamp = false) {
    reflect_row r = row(std::move(name), std::move(rfc), ipv, stamp);
    r.want = verdict::drop;
    r.reason = reason;
    return r;
}

std::vector<reflect_row> drop_rows() {
    std::vector<reflect_row> v;
    auto r = drop_row("v4_bad_header_checksum", "RFC 791 §3.1 header checksum",
                      drop_reason::ipv4_bad_checksum);
    r.spec.ipv4_csum_good = false;
    v.push_back(r);
    for (int ipv : {4, 6}) {
        const std::string p = "v" + std::to_string(ipv) + "_";
        r = drop_row(p + "bad_udp_checksum", ipv == 4 ? "RFC 768" : "RFC 8200 §8.1",
                     drop_reason::udp_bad_checksum, ipv);
        r.spec.csum = udp_csum::bad;
        v.push_back(r);
        r = drop_row(p + "stamp_bad_udp_checksum", "RFC 768", drop_reason::udp_bad_checksum, ipv,
                     true);
        r.spec.csum = udp_csum::bad;
        v.push_back(r);
        r = drop_row(p + "source_port_0", "RFC 768 no source port: nowhere to reply",
                     drop_reason::udp_bad_port, ipv);
        r.spec.sport = 0;
        v.push_back(r);
        for (std::size_t n : {0, 1, 4, 12, 13}) {
            r = drop_row(p + "twamp_payload_" + std::to_string(n), "RFC 5357 §4.1.2 14 octets",
                         drop_reason::test_truncated, ipv);
            r.spec.payload = twamp_payload(false, std::max<std::size_t>(n, 14));
            r.spec.payload.resize(n);
            v.push_back(r);
        }
        for (std::size_t n : {0, 1, 13}) {
            r = drop_row(p + "stamp_payload_" + std::to_string(n),
                         "RFC 5357 §4.1.2 14-octet sender header, RFC 8762 §4.6",
                         drop_reason::test_truncated, ipv, true);
            r.spec.payload.resize(n);
            v.push_back(r);
        }
        // A STAMP request too short for the base and no room to grow to 44 octets.
        r = drop_row(p + "stamp_short_no_tailroom", "RFC 8762 §4.6 44-octet base",
                     drop_reason::no_tailroom, ipv, true);
        r.spec.payload = twamp_payload(false, 20);
        r.spec.min_frame = 0;
        r.capacity = 14 + (ipv == 4 ? 20u : 40u) + 8 + 43;
        v.push_back(r);
    }
    // IPv4 source routing (RFC 791 §3.1 LSRR 131, SSRR 137) could steer the reply: dropped,
    // as Linux does with accept_source_route=0; a list that does not parse is dropped too.
    r = drop_row("v4_lsrr_dropped", "RFC 791 §3.1 LSRR", drop_reason::ipv4_source_route);
    r.spec.ip_options = {0x83, 0x07, 0x04, 198, 18, 0, 9, 0x00}; // LSRR via 198.18.0.9, EOL
    v.push_back(r);
    r = drop_row("v4_ssrr_after_nop_dropped", "RFC 791 §3.1 SSRR", drop_reason::ipv4_source_route,
                 4, true);
    r.spec.ip_options = {0x01, 0x89, 0x07, 0x04, 198, 18, 0, 9}; // NOP, SSRR
    v.push_back(r);
    r = drop_row("v4_option_length_past_ihl", "RFC 791 §3.1 option length",
                 drop_reason::ipv4_bad_options);
    r.spec.ip_options = {0x07, 0x08, 0x04, 0}; // RR claiming 8 octets in 4
    v.push_back(r);
    r = drop_row("v4_option_length_1", "RFC 791 §3.1 option length >= 2",
                 drop_reason::ipv4_bad_options);
    r.spec.ip_options = {0x44, 0x01, 0x00, 0x00};
    v.push_back(r);
    r = row("v4_source_route_after_eol_ignored", "RFC 791 §3.1 EOL ends the list", 4);
    r.spec.ip_options = {0x00, 0x83, 0x07, 0x04};
    v.push_back(r);
    r = drop_row("v6_zero_udp_checksum_denied", "RFC 8200 §8.1 zero checksum forbidden",
                 drop_reason::udp_zero_checksum, 6);
    r.spec.csum = udp_csum::zero;
    v.push_back(r);
    r = drop_row("v6_stamp_zero_udp_checksum_denied", "RFC 8200 §8.1",
                 drop_reason::udp_zero_checksum, 6, true);
    r.spec.csum = udp_csum::zero;
    v.push_back(r);
    struct src4 {
        const char* name;
        std::array<uint8_t, 16> a;
    };
    for (const src4& s :
         {src4{"v4_source_0_0_0_0", {0, 0, 0, 0}}, src4{"v4_source_0_1_2_3", {0, 1, 2, 3}},
          src4{"v4_source_loopback", {127, 0, 0, 1}},
          src4{"v4_source_multicast_224_0_0_1", {224, 0, 0, 1}},
          src4{"v4_source_multicast_239", {239, 255, 255, 250}},
          src4{"v4_source_reserved_240", {240, 0, 0, 1}},
          src4{"v4_source_broadcast", {255, 255, 255, 255}}}) {
        r = drop_row(s.name, "RFC 1122 §3.2.1.3, RFC 1112 §4: not a unicast source",
                     drop_reason::bad_source_address, 4);
        r.spec.src_ip = s.a;
        v.push_back(r);
    }
    struct src6 {
        const char* name;
        std::array<uint8_t, 16> a;
    };
    for (const src6& s :
         {src6{"v6_source_unspecified", {}}, src6{"v6_source_loopback", v6addr({0x0001})},
          src6{"v6_source_ff02_1", v6addr({0xff02, 0x0001})},
          src6{"v6_source_ff0e_101", v6addr({0xff0e, 0x0101})},
          // IPv4-mapped (RFC 4291 §2.5.5.2) and -compatible (§2.5.5.1): no reply can go there.
          src6{"v6_source_ipv4_mapped", v6addr({0, 0, 0, 0, 0, 0xffff, 0xc612, 0x0001})},
          src6{"v6_source_ipv4_compatible", v6addr({0, 0, 0, 0, 0, 0, 0xc612, 0x0002})}}) {
        r = drop_row(s.name, "RFC 4291 §2.5.2, §2.5.3, §2.5.5, §2.7: not a unicast source",
                     drop_reason::bad_source_address, 6, true);
        r.spec.src_ip = s.a;
        v.push_back(r);
    }
    // A short TWAMP request grows to 41 octets in place: 27 more for a 14-octet one.
    r = drop_row("v4_no_tailroom", "RFC 5357 §4.2.1 41-octet reply base", drop_reason::no_tailroom);
    r.spec.payload = twamp_payload(false, 14);
    r.spec.min_frame = 0;
    r.capacity = 14 + 20 + 8 + 40; // one short of 14 + 20 + 8 + 41
    v.push_back(r);
    r = drop_row("v6_no_tailroom_frame_only", "RFC 5357 §4.2.1", drop_reason::no_tailroom, 6);
    r.spec.payload = twamp_payload(false, 20);
    r.spec.min_frame = 0;
    r.capacity = 14 + 40 + 8 + 20;
    v.push_back(r);
    return v;
}

class reflect_drops : public ::testing::TestWithParam<reflect_row> {};

TEST_P(reflect_drops, verdict) {
    run_row(GetParam());
}

INSTANTIATE_TEST_SUITE_P(rows, reflect_drops, ::testing::ValuesIn(drop_rows()), row_name);

// ---- sizes ----------------------------------------------------------------------------------

// RFC 6038 symmetric size: every TWAMP request of 14..1441 octets (padding 0..1400 after the
// 41-octet base), IPv4 and IPv6, comes back as long as it came (41 for shorter ones).
TEST(reflect_sizes, twamp_every_length_14_to_1441) {
    for (int ipv : {4, 6}) {
        for (std::size_t len = 14; len <= 41 + 1400; ++len) {
            reflect_row r =
                    row("twamp_len_" + std::to_string(len), "RFC 6038, RFC 5357 §4.2.1", ipv);
            r.spec.payload = twamp_payload(len % 3 == 0, len);
            r.spec.csum = len % 5 == 0 ? udp_csum::zero : udp_csum::good;
            r.policy.allow_ipv6_zero_checksum = true;
            r.params.stateful = len % 2 == 0;
            run_row(r);
            if (HasFatalFailure() || HasNonfatalFailure()) {
                return;
            }
        }
    }
}

// STAMP padding is an Extra Padding TLV (RFC 8972 §4.1): 0 and 4..1400 octets after the base.
TEST(reflect_sizes, stamp_extra_padding_0_to_1400) {
    for (int ipv : {4, 6}) {
        for (std::size_t pad = 0; pad <= 1400; ++pad) {
            if (pad >= 1 && pad <= 3) {
                continue; // not a TLV: the malformed rows cover these
            }
            reflect_row r =
                    row("stamp_pad_" + std::to_string(pad), "RFC 8972 §4.1, RFC 6038", ipv, true);
            r.spec.payload =
                    stamp_payload(pad % 3 == 0, pad ? tlv(0, 1, pattern(pad - 4, 9)) : bytes{});
            r.spec.csum = pad % 5 == 0 && ipv == 4 ? udp_csum::zero : udp_csum::good;
            r.params.stateful = pad % 2 == 0;
            run_row(r);
            if (HasFatalFailure() || HasNonfatalFailure()) {
                return;
            }
        }
    }
}

// RFC 5357 §4.2.1: a TWAMP request of 14..40 octets grows to exactly 41, in place; with one
// octet less room than that it is dropped (no_tailroom) and left untouched; with plenty of
// room it still grows to 41 and no more (DESIGN.md: never an amplifier).
TEST(reflect_sizes, short_twamp_grows_to_exactly_41) {
    for (int ipv : {4, 6}) {
        for (int tags = 0; tags <= 2; ++tags) {
            for (std::size_t len = 14; len <= 40; ++len) {
                for (udp_csum c : {udp_csum::good, udp_csum::zero}) {
                    if (ipv == 6 && c == udp_csum::zero) {
                        continue;
                    }
                    reflect_row r = row("grow_" + std::to_string(len), "RFC 5357 §4.2.1", ipv);
                    r.spec = base_spec(ipv, tags);
                    r.spec.payload = twamp_payload(false, len);
                    r.spec.csum = c;
                    r.spec.min_frame = 0;
                    const std::size_t need = r.request().size() + (41 - len);
                    for (std::size_t cap : {need, need + 1, std::size_t{4096}}) {
                        r.capacity = cap;
                        run_row(r);
                    }
                    r.capacity = need - 1;
                    r.want = verdict::drop;
                    r.reason = drop_reason::no_tailroom;
                    run_row(r);
                    if (HasFatalFailure() || HasNonfatalFailure()) {
                        return;
                    }
                }
            }
        }
    }
}

// ---- checksum corner: a reply whose checksum computes to zero -------------------------------

// RFC 768: a computed zero goes out as 0xffff. Choose T3 (PTP format: its nanoseconds are free
// 16-bit words) so that the reply's sum is all ones, then check field and full recomputation.
TEST(reflect_checksum, reply_checksum_zero_sent_as_ffff) {
    for (int ipv : {4, 6}) {
        reflect_row r = row("zero", "RFC 768", ipv, true);
        r.spec.payload = stamp_payload(true);
        const bytes req = r.request();
        guarded_buffer buf(2048);
        std::copy(req.begin(), req.end(), buf.data());
        std::span<const uint8_t> frame(buf.data(), req.size());
        auto pf = parse_frame(frame);
        ASSERT_EQ(check_test_packet(frame, pf, r.policy, false, false), drop_reason::none);
        auto prep = reflect_prepare(buf.span(), pf, r.policy, r.params);
        ASSERT_EQ(prep.reply.format, ts_format::ptp);
        // T3 = whole seconds S + n ns, n < 65536: words (S_tai>>16, S_tai, 0, n).
        const uint64_t sec = t3_ns / 1'000'000'000;
        const uint64_t tai = sec + 37;
        uint32_t s = prep.reply.partial;
        s += static_cast<uint32_t>(tai >> 16 & 0xffff) + static_cast<uint32_t>(tai & 0xffff);
        s = (s & 0xffff) + (s >> 16);
        s = (s & 0xffff) + (s >> 16);
        const uint16_t n = static_cast<uint16_t>(~s & 0xffff); // s + n == 0xffff
        reflect_finish(buf.data(), prep.reply, sec * 1'000'000'000 + n, 37);
        const bytes rep = buf.copy(prep.reply.len);
        const layers l = locate(rep.data());
        EXPECT_EQ(rd16(rep.data() + l.l4 + 6), 0xffff) << "ipv" << ipv;
        EXPECT_EQ(ref_udp_checksum(ipv, rep.data() + l.l3, rep.data() + l.l4, l.udp_len), 0xffff);
    }
}

// reflect() takes frame_len from the caller (an mbuf's data_len): a length larger than the
// buffer is clamped to it, never believed. A frame cut short by the buffer then drops as
// truncated instead of being read past the end.
TEST(reflect_checksum, frame_len_larger_than_buffer_is_clamped) {
    for (int ipv : {4, 6}) {
        reflect_row r = row("clamp", "DESIGN.md: every access bounds checked", ipv, true);
        const bytes req = r.request();
        const layers l = locate(req.data());
        for (std::size_t n : {l.l3 + 10, l.l4 + 4, l.l3_end - 1}) {
            guarded_buffer g(bytes(req.begin(), req.begin() + static_cast<std::ptrdiff_t>(n)));
            auto res = reflect(g.span(), req.size(), r.policy, r.params, t3_ns);
            EXPECT_EQ(res.v, verdict::drop) << "n=" << n;
            EXPECT_NE(res.reason, drop_reason::none) << "n=" << n;
        }
        guarded_buffer g(req);
        auto res = reflect(g.span(), req.size() + 1000, r.policy, r.params, t3_ns);
        EXPECT_EQ(res.v, verdict::reflect);
        EXPECT_EQ(res.reply.len, l.l3_end);
    }
}

// ---- accessors used by the dataplane for the session key ------------------------------------

TEST(test_packet, ssid_and_sender_seq) {
    for (int ipv : {4, 6}) {
        reflect_row r = row("acc", "RFC 8972 §3", ipv, true);
        r.spec.payload = stamp_request(0xdeadbeef, 0, 0, 0x1234);
        bytes f = r.request();
        auto pf = parse_frame(f);
        ASSERT_EQ(pf.kind, frame_kind::udp);
        EXPECT_EQ(test_packet_ssid(f, pf, test_mode::stamp), 0x1234);
        EXPECT_EQ(test_packet_ssid(f, pf, test_mode::twamp_light), 0) << "TWAMP has no SSID";
        EXPECT_EQ(test_packet_sender_seq(f, pf), 0xdeadbeefu);
        // Too short for an SSID: 0, no read past the payload.
        r.spec.payload.resize(20);
        f = r.request();
        f.resize(locate(f.data()).l3_end);
        guarded_buffer g(f);
        pf = parse_frame({g.data(), g.size()});
        ASSERT_EQ(pf.kind, frame_kind::udp);
        EXPECT_EQ(test_packet_ssid({g.data(), g.size()}, pf, test_mode::stamp), 0);
        EXPECT_EQ(test_packet_sender_seq({g.data(), g.size()}, pf), 0xdeadbeefu);
    }
}

// ---- every drop reason the packet core can give ---------------------------------------------

// One frame per reason, through reflect(); together they must cover every reason that is not
// the dataplane's own (context lookup, ACL, sessions, rings, TX).
TEST(reflect_drops_coverage, every_proto_reason_is_produced) {
    struct c {
        drop_reason want;
        std::function<bytes()> frame;
        test_mode mode = test_mode::twamp_light;
        std::size_t cap = 2048;
        auth_mode auth = auth_mode::none; // issue 17: the authenticated layouts (test_auth.cpp)
    };
    // A test session's keys that no request below was made with.
    const uint8_t key16[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    const twamp::crypto::aes128 aes(key16);
    const twamp::crypto::hmac_key mac(twamp::crypto::hash::sha1, key16);
    const auth_keys keys{&aes, &mac, nullptr, 0};
    auto twamp = [](int ipv, std::function<void(frame_spec&)> f = {}) {
        frame_spec s = ipv == 4 ? v4_spec() : v6_spec();
        s.payload = twamp_payload(false, 41);
        if (f) {
            f(s);
        }
        return build(s);
    };
    auto set = [](bytes b, std::size_t off, uint8_t v) {
        b[off] = v;
        return b;
    };
    auto prefix = [](bytes b, std::size_t n) {
        b.resize(n);
        return b;
    };
    const std::vector<c> cases = {
            {drop_reason::l2_truncated, [] { return bytes(13, 0); }},
            {drop_reason::l2_too_many_vlans,
             [&] {
                 return twamp(4, [](frame_spec& s) {
                     s.vlans = {{0x88a8, 1}, {0x8100, 2}, {0x8100, 3}};
                 });
             }},
            {drop_reason::ip_bad_version, [&] { return set(twamp(4), 14, 0x65); }},
            {drop_reason::ipv4_truncated, [&] { return prefix(twamp(4), 30); }},
            {drop_reason::ipv4_bad_ihl, [&] { return set(twamp(4), 14, 0x44); }},
            {drop_reason::ipv4_bad_length, [&] { return set(twamp(4), 16, 0xff); }},
            {drop_reason::ipv4_bad_checksum,
             [&] { return twamp(4, [](frame_spec& s) { s.ipv4_csum_good = false; }); }},
            {drop_reason::ipv4_fragment,
             [&] { return twamp(4, [](frame_spec& s) { s.frag = 0x2000; }); }},
            {drop_reason::ipv6_truncated, [&] { return prefix(twamp(6), 50); }},
            {drop_reason::ipv6_bad_length, [&] { return set(twamp(6), 18, 0xff); }},
            {drop_reason::bad_source_address,
             [&] { return twamp(4, [](frame_spec& s) {
                       s.src_ip = {127, 0, 0, 1};
                   }); }},
            {drop_reason::udp_truncated,
             [&] {
                 bytes b = twamp(4);
                 b[16] = 0;
                 b[17] = 24; // Total Length: header + 4 octets
                 return b;
             }},
            {drop_reason::udp_bad_length, [&] { return set(twamp(4), 34 + 5, 0x10); }},
            {drop_reason::udp_bad_checksum,
             [&] { return twamp(4, [](frame_spec& s) { s.csum = udp_csum::bad; }); }},
            {drop_reason::udp_zero_checksum,
             [&] { return twamp(6, [](frame_spec& s) { s.csum = udp_csum::zero; }); }},
            {drop_reason::udp_bad_port,
             [&] { return twamp(4, [](frame_spec& s) { s.sport = 0; }); }},
            {drop_reason::test_truncated,
             [&] { return twamp(4, [](frame_spec& s) { s.payload.resize(13); }); }},
            {drop_reason::ipv4_source_route,
             [&] {
                 return twamp(4, [](frame_spec& s) { s.ip_options = {0x83, 0x03, 0x04, 0x00}; });
             }},
            {drop_reason::ipv4_bad_options,
             [&] {
                 return twamp(4, [](frame_spec& s) { s.ip_options = {0x07, 0x09, 0x04, 0x00}; });
             }},
            {drop_reason::no_tailroom,
             [&] {
                 return twamp(4, [](frame_spec& s) {
                     s.payload.resize(14);
                     s.min_frame = 0;
                 });
             },
             test_mode::twamp_light, 14 + 20 + 8 + 14},
            // RFC 9503 §4.1.1: a Return Path TLV (Type 10) whose Control Code sub-TLV (Type 1,
            // Length 4) has "Reply Requested on the Same Link" (0x1) clear.
            {drop_reason::no_reply_requested,
             [&] {
                 frame_spec s = v4_spec();
                 s.payload = stamp_request(sender_seq, sender_ts(false), 0x8001, ssid,
                                           {0x80, 10, 0x00, 0x08, 0x00, 1, 0x00, 0x04, 0, 0, 0, 0});
                 return build(s);
             },
             test_mode::stamp},
            // RFC 5357 §4.1.2: the authenticated sender layout is 48 octets.
            {drop_reason::auth_truncated, [&] { return twamp(4); }, test_mode::twamp_light, 2048,
             auth_mode::twamp_authenticated},
            {drop_reason::hmac_failed,
             [&] { return twamp(4, [](frame_spec& s) { s.payload.resize(48); }); },
             test_mode::twamp_light, 2048, auth_mode::twamp_encrypted},
            // An authenticated STAMP reflector with no key for the SSID (none at all here).
            {drop_reason::no_key,
             [&] {
                 frame_spec s = v4_spec();
                 s.payload = stamp_request(sender_seq, sender_ts(false), 0x8001, ssid);
                 s.payload.resize(112);
                 return build(s);
             },
             test_mode::stamp, 2048, auth_mode::stamp_authenticated},
    };
    std::set<drop_reason> seen;
    for (const auto& k : cases) {
        SCOPED_TRACE(std::string(to_string(k.want)));
        bytes f = k.frame();
        guarded_buffer buf(std::max(k.cap, f.size()));
        std::copy(f.begin(), f.end(), buf.data());
        reflect_policy pol;
        pol.mode = k.mode;
        pol.auth = k.auth;
        pol.keys = k.auth == auth_mode::stamp_authenticated ? nullptr : &keys;
        auto res = reflect(buf.span(), f.size(), pol, default_params(), t3_ns);
        EXPECT_EQ(res.v, verdict::drop);
        EXPECT_EQ(to_string(res.reason), to_string(k.want));
        seen.insert(res.reason);
    }
    const std::set<drop_reason> dataplane_only = {
            drop_reason::none, drop_reason::l2_not_for_us, drop_reason::no_reflector,
            drop_reason::acl_denied, drop_reason::no_session, drop_reason::exception_ring_full,
            drop_reason::exception_rate_limit, drop_reason::tx_full,
            drop_reason::own_source_address, drop_reason::bad_source_mac,
            drop_reason::exception_iface_down,
            // issue 18: the worker's limits and loop guard, the slow path's control share
            drop_reason::reflector_source_port, drop_reason::rate_limit_reflector,
            drop_reason::rate_limit_prefix, drop_reason::rate_limit_source,
            drop_reason::session_rate_limit, drop_reason::session_cap,
            drop_reason::exception_control_rate_limit, drop_reason::exception_neighbor_rate_limit,
            // retired: RFC 8762 §4.6 answers short STAMP
            drop_reason::stamp_truncated};
    for (std::size_t i = 0; i < drop_reason_count; ++i) {
        auto d = static_cast<drop_reason>(i);
        if (!dataplane_only.count(d)) {
            EXPECT_TRUE(seen.count(d)) << "no row produces " << to_string(d);
        }
    }
}

// Names are metric label values: unique, snake_case, and to_string() is total.
TEST(drop_reason_names, stable_and_unique) {
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < drop_reason_count; ++i) {
        auto n = to_string(static_cast<drop_reason>(i));
        EXPECT_TRUE(names.insert(n).second) << n;
        EXPECT_FALSE(n.empty());
        for (char ch : n) {
            EXPECT_TRUE((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_') << n;
        }
    }
    EXPECT_EQ(to_string(drop_reason::none), "none");
    EXPECT_EQ(to_string(drop_reason::udp_zero_checksum), "udp_zero_checksum");
    EXPECT_EQ(to_string(drop_reason::count_), "invalid");
}

// ---- mutated frames: whatever comes in, no fault and a consistent verdict -------------------

// Two kinds of damage to valid requests, each frame in a buffer that faults past its end:
//  - octets flipped anywhere, sometimes truncated or in a too-small buffer: mostly drops;
//  - octets flipped only in the test payload with the UDP checksum fixed up: these must all
//    reflect (any payload content is a valid test packet, STAMP TLV garbage included).
// A reflected frame's reply never exceeds max(request, base) and carries correct checksums;
// anything not reflected is left untouched.
TEST(reflect_robustness, mutated_frames) {
    std::mt19937 rng(8762);
    const std::vector<reflect_row> seeds = matrix_rows();
    int reflected = 0;
    int payload_only = 0;
    for (int i = 0; i < 40000; ++i) {
        const reflect_row& s = seeds[rng() % seeds.size()];
        bytes f = s.request();
        const layers q = locate(f.data());
        const bool in_payload = i % 2 == 1;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < flips; ++k) {
            std::size_t at =
                    in_payload ? q.payload() + rng() % (q.l3_end - q.payload()) : rng() % f.size();
            f[at] = static_cast<uint8_t>(rng());
        }
        if (in_payload) {
            uint8_t* u = f.data() + q.l4;
            wr16(u + 6, ref_udp_checksum(q.ip_version, f.data() + q.l3, u, q.udp_len));
        } else if (rng() % 4 == 0) {
            f.resize(rng() % (f.size() + 1));
        }
        guarded_buffer buf(f.size() + (in_payload ? 64 : rng() % 64));
        std::copy(f.begin(), f.end(), buf.data());
        const bytes before = buf.copy(buf.size());
        auto res = reflect(buf.span(), f.size(), s.policy, s.params, t3_ns);
        if (in_payload) {
            ASSERT_EQ(res.v, verdict::reflect) << i << " " << to_string(res.reason);
            ++payload_only;
        }
        if (res.v == verdict::reflect) {
            ++reflected;
            ASSERT_EQ(res.reason, drop_reason::none);
            ASSERT_LE(res.reply.len, buf.size());
            const bytes rep = buf.copy(res.reply.len);
            const layers l = locate(rep.data());
            if (l.ip_version == 4) {
                ASSERT_EQ(rd16(rep.data() + l.l3 + 10),
                          ref_ipv4_header_checksum(rep.data() + l.l3, l.ihl));
            }
            ASSERT_EQ(rd16(rep.data() + l.l4 + 6), ref_udp_checksum(l.ip_version, rep.data() + l.l3,
                                                                    rep.data() + l.l4, l.udp_len))
                    << i;
            ASSERT_LE(res.reply.len, q.payload() + std::max<std::size_t>(q.udp_len - 8, 44));
        } else {
            ASSERT_EQ(buf.copy(buf.size()), before);
            if (res.v == verdict::drop) {
                ASSERT_NE(res.reason, drop_reason::none);
            } else {
                ASSERT_EQ(res.reason, drop_reason::none);
            }
        }
    }
    EXPECT_EQ(payload_only, 20000);
    EXPECT_GT(reflected, 20000); // some whole-frame flips land in MACs or padding
}

} // namespace

namespace {

// RFC 6038 §4 reflect octets, in both sender layouts. Without symmetrical size the sender's
// padding (to be reflected first) starts at octet 14 and comes back from octet 41 on, the
// rest of the padding after it, truncated by its highest-numbered octets (RFC 5357 §4.2.1).
// With symmetrical size the sender's packet has 27 MBZ octets after its Error Estimate and
// its padding, reflected octets first, starts at 41: the reply returns it from 41, in place.
// Both checksums verify.
TEST(reflect_octets, sender_padding_returned_at_41) {
    for (int v : {4, 6}) {
        for (bool symmetrical : {false, true}) {
            for (std::size_t n : {1u, 2u, 7u, 16u, 100u}) {
                for (bool zero_csum : {false, true}) {
                    if (v == 6 && zero_csum) {
                        continue;
                    }
                    frame_spec s = v == 4 ? v4_spec() : v6_spec();
                    s.payload = twamp_request(7, 0x0123456789abcdefULL, 0x0001, 41 + 120);
                    const std::size_t pad_at = symmetrical ? 41 : 14;
                    for (std::size_t i = 14; i < s.payload.size(); ++i) {
                        s.payload[i] =
                                i < pad_at ? 0 : static_cast<uint8_t>(0x30 + (i - pad_at) * 13);
                    }
                    s.csum = zero_csum ? udp_csum::zero : udp_csum::good;
                    const bytes req = build(s);
                    bytes buf = req;
                    buf.resize(req.size() + 64);
                    reflect_policy pol;
                    pol.symmetrical_size = symmetrical;
                    reflect_params prm;
                    prm.our_mac = our_mac;
                    prm.t2_ns = t2_ns;
                    const auto r = reflect(buf, req.size(), pol, prm, t3_ns);
                    ASSERT_EQ(r.v, verdict::reflect) << "v" << v << " n " << n;
                    const layers l = locate(buf.data());
                    const uint8_t* pl = buf.data() + l.payload();
                    const uint8_t* rq = req.data() + l.payload();
                    // The reflected octets: the first n of the sender's padding, at 41.
                    EXPECT_TRUE(std::equal(pl + 41, pl + 41 + n, rq + pad_at))
                            << "n " << n << " symmetrical " << symmetrical;
                    // And the rest of the padding after them, in the same order.
                    EXPECT_TRUE(std::equal(pl + 41 + n, pl + 161, rq + pad_at + n))
                            << "n " << n << " symmetrical " << symmetrical;
                    EXPECT_EQ(rd32(pl + 24), 7u); // Sender Sequence Number
                    const uint8_t* ip = buf.data() + l.l3;
                    EXPECT_EQ(rd16(buf.data() + l.l4 + 6),
                              ref_udp_checksum(l.ip_version, ip, buf.data() + l.l4, l.udp_len))
                            << "v" << v << " n " << n << " zero " << zero_csum;
                }
            }
        }
    }
}

} // namespace

// ---- a burst's T2 and T3 converted once ------------------------------------------------------

namespace {

// The worker converts the burst's software T2 and T3 once (encoded_time) instead of per packet.
// The replies must be octet for octet what per-packet conversion gives, in both formats, and a
// cached T2 for some other instant (a device timestamp differs per packet) must be ignored.
TEST(reflect_encoded_time, same_reply_as_per_packet_conversion) {
    for (int ipv : {4, 6}) {
        for (bool stamp : {false, true}) {
            for (bool z : {false, true}) {
                reflect_row r = row("enc", "DESIGN.md: T2/T3 once per burst", ipv, stamp);
                r.spec.payload = stamp ? stamp_payload(z) : twamp_payload(z, 41);
                const bytes req = r.request();
                auto run = [&](const encoded_time* t2_cache, bool t3_cached) {
                    guarded_buffer buf(2048);
                    std::copy(req.begin(), req.end(), buf.data());
                    std::span<const uint8_t> frame(buf.data(), req.size());
                    auto pf = parse_frame(frame);
                    EXPECT_EQ(check_test_packet(frame, pf, r.policy, false, false),
                              drop_reason::none);
                    reflect_params p = r.params;
                    p.t2_encoded = t2_cache;
                    auto prep = reflect_prepare(buf.span(), pf, r.policy, p);
                    EXPECT_EQ(prep.v, verdict::reflect);
                    if (t3_cached) {
                        reflect_finish(buf.data(), prep.reply,
                                       encoded_time(t3_ns, r.params.tai_utc_offset_s));
                    } else {
                        reflect_finish(buf.data(), prep.reply, t3_ns, r.params.tai_utc_offset_s);
                    }
                    return buf.copy(prep.reply.len);
                };
                const bytes plain = run(nullptr, false);
                const encoded_time same(r.params.t2_ns, r.params.tai_utc_offset_s);
                const encoded_time other(r.params.t2_ns + 1'000'000'007, r.params.tai_utc_offset_s);
                const std::string what = "ipv" + std::to_string(ipv) +
                                         (stamp ? " stamp" : " light") + (z ? " ptp" : " ntp");
                EXPECT_EQ(run(&same, true), plain) << what;
                EXPECT_EQ(run(&other, false), plain) << what << ": a cache of another instant";
                // And the reply really carries T2 and T3 in the request's format.
                const layers l = locate(plain.data());
                const ts_format f = z ? ts_format::ptp : ts_format::ntp;
                EXPECT_EQ(rd64(plain.data() + l.l4 + 8 + 16),
                          encode_timestamp(f, r.params.t2_ns, r.params.tai_utc_offset_s))
                        << what;
                EXPECT_EQ(rd64(plain.data() + l.l4 + 8 + 4),
                          encode_timestamp(f, t3_ns, r.params.tai_utc_offset_s))
                        << what;
            }
        }
    }
}

} // namespace

namespace {

// check_test_packet() hands the sum of the octets reflect_prepare() rewrites to it only when it
// summed them itself (software verification of a non-zero checksum), and that sum is the
// region's: the first 41 (TWAMP, rounded to 42 when the payload is longer) or 44 (STAMP)
// payload octets, folded it equals an independent RFC 1071 sum of them.
TEST(reflect_verified_sums, region_sum_only_when_summed_in_software) {
    for (int ipv : {4, 6}) {
        for (bool stamp : {false, true}) {
            for (std::size_t plen : {std::size_t{41}, std::size_t{60}, std::size_t{1000}}) {
                reflect_row r = row("sums", "DESIGN.md: checksum once", ipv, stamp);
                r.spec.payload = stamp ? stamp_payload(false) : twamp_payload(false, plen);
                if (stamp) {
                    r.spec.payload.resize(std::max(plen, r.spec.payload.size()), 0);
                }
                const bytes req = r.request();
                const layers l = locate(req.data());
                std::span<const uint8_t> frame(req.data(), req.size());
                const parsed_frame pf = parse_frame(frame);
                const std::string what = "ipv" + std::to_string(ipv) + (stamp ? " stamp " : " ") +
                                         std::to_string(plen);
                verified_sums sums;
                ASSERT_EQ(check_test_packet(frame, pf, r.policy, false, false, &sums),
                          drop_reason::none)
                        << what;
                ASSERT_TRUE(sums.region_known) << what;
                const std::size_t payload = l.udp_len - 8;
                const std::size_t region = std::min(payload, stamp ? std::size_t{44} : 42);
                EXPECT_TRUE(ones_eq(
                        csum_fold_native(sums.region),
                        ref_sum(std::span<const uint8_t>(req.data() + l.payload(), region))))
                        << what;
                // The NIC verified it: nothing summed, nothing handed on.
                sums.region_known = true;
                ASSERT_EQ(check_test_packet(frame, pf, r.policy, true, true, &sums),
                          drop_reason::none);
                EXPECT_FALSE(sums.region_known) << what;
            }
        }
    }
}

// reflect_set_ts_out (the worker, when a scheduled T3 fell back to the device clock): the
// Timestamp Information TLV's Timestamp Out octet changes and the UDP checksum still verifies,
// whatever the octet's position in its 16-bit lane, also as the datagram's last (odd) octet.
TEST(reflect_tlv, set_ts_out_after_prepare_keeps_the_checksum) {
    for (int ipv : {4, 6}) {
        for (std::size_t pad : {0u, 1u, 2u, 3u}) {
            const std::string what = "ipv" + std::to_string(ipv) + " pad " + std::to_string(pad);
            reflect_row r = row("ts_out", "RFC 8972 §4.3", ipv, true);
            bytes tlvs = pad ? tlv(0, 1, pattern(pad, 3)) : bytes{};
            const bytes ti = tlv(0, 3, bytes(4, 0));
            tlvs.insert(tlvs.end(), ti.begin(), ti.end());
            r.spec.payload = stamp_payload(false, tlvs);
            r.spec.min_frame = 0;
            tlv_reply_info info;
            info.ts_method_in = ts_method::hw_assist;
            info.ts_method_out = ts_method::hw_assist;
            r.params.tlv_info = &info;
            const bytes req = r.request();
            guarded_buffer buf(2048);
            std::copy(req.begin(), req.end(), buf.data());
            std::span<const uint8_t> frame(buf.data(), req.size());
            auto pf = parse_frame(frame);
            ASSERT_EQ(check_test_packet(frame, pf, r.policy, false, false), drop_reason::none);
            auto prep = reflect_prepare(buf.span(), pf, r.policy, r.params);
            ASSERT_EQ(prep.v, verdict::reflect) << what;
            reflect_set_ts_out(buf.data(), prep.reply, ts_method::sw_local);
            reflect_finish(buf.data(), prep.reply, t3_ns, 37);
            const bytes rep = buf.copy(prep.reply.len);
            const layers l = locate(rep.data());
            const std::size_t out = l.l4 + l.udp_len - 1; // the TLV is last: its last octet
            EXPECT_EQ(rep[out], ts_method::sw_local) << what;
            EXPECT_EQ(rep[out - 2], ts_method::hw_assist) << what; // Timestamp In untouched
            EXPECT_TRUE(
                    ones_eq(rd16(rep.data() + l.l4 + 6),
                            ref_udp_checksum(ipv, rep.data() + l.l3, rep.data() + l.l4, l.udp_len)))
                    << what;
        }
    }
    // No Timestamp Information TLV: nothing changes.
    reflect_row r = row("ts_out_none", "RFC 8972 §4.3", 4, true);
    const bytes req = r.request();
    guarded_buffer a(2048), b(2048);
    std::copy(req.begin(), req.end(), a.data());
    std::copy(req.begin(), req.end(), b.data());
    std::span<const uint8_t> frame(a.data(), req.size());
    auto pf = parse_frame(frame);
    auto pa = reflect_prepare(a.span(), pf, r.policy, r.params);
    auto pb = reflect_prepare(b.span(), pf, r.policy, r.params);
    reflect_set_ts_out(a.data(), pa.reply, ts_method::sw_local);
    reflect_finish(a.data(), pa.reply, t3_ns, 37);
    reflect_finish(b.data(), pb.reply, t3_ns, 37);
    EXPECT_EQ(a.copy(pa.reply.len), b.copy(pb.reply.len));
}

} // namespace

// ---- TX checksum offload and a replaced Error Estimate (issue 14) ---------------------------

// With l4_cksum_offload the reply leaves the UDP checksum to the device: the field holds the
// pseudo-header sum (what rte_ipv4/ipv6_phdr_cksum give, not complemented) and T3 is written
// without touching it. A device that then sums the datagram over that field (as NICs do)
// produces the reference checksum; and the bytes other than the checksum are those of the
// software path's reply.
TEST(reflect_checksum, offloaded_leaves_the_pseudo_header_sum) {
    for (int ipv : {4, 6}) {
        for (bool stamp : {false, true}) {
            reflect_row r = row("offload", "DPDK TX checksum offload", ipv, stamp);
            const bytes req = r.request();
            guarded_buffer sw(req), hw(req);
            auto want = reflect(sw.span(), req.size(), r.policy, r.params, t3_ns);
            ASSERT_EQ(want.v, verdict::reflect);
            reflect_params p = r.params;
            p.l4_cksum_offload = true;
            auto got = reflect(hw.span(), req.size(), r.policy, p, t3_ns);
            ASSERT_EQ(got.v, verdict::reflect);
            EXPECT_TRUE(got.reply.offloaded);
            EXPECT_FALSE(want.reply.offloaded);
            bytes a = sw.copy(want.reply.len), b = hw.copy(got.reply.len);
            ASSERT_EQ(a.size(), b.size());
            const layers l = locate(b.data());
            // The pseudo-header sum, from the reference pseudo header.
            bytes pseudo;
            if (ipv == 4) {
                pseudo.insert(pseudo.end(), b.data() + l.l3 + 12, b.data() + l.l3 + 20);
                pseudo.insert(pseudo.end(), {0, 17});
                append16(pseudo, static_cast<uint16_t>(l.udp_len));
            } else {
                pseudo.insert(pseudo.end(), b.data() + l.l3 + 8, b.data() + l.l3 + 40);
                append32(pseudo, static_cast<uint32_t>(l.udp_len));
                pseudo.insert(pseudo.end(), {0, 0, 0, 17});
            }
            EXPECT_TRUE(ones_eq(rd16(b.data() + l.l4 + 6), ref_sum(pseudo)))
                    << "ipv" << ipv << " stamp " << stamp;
            // The device's part: sum the datagram with the field as it is, complement.
            const uint16_t dev = static_cast<uint16_t>(~ref_sum({b.data() + l.l4, l.udp_len}));
            wr16(b.data() + l.l4 + 6, dev == 0 ? 0xffff : dev);
            EXPECT_EQ(rd16(b.data() + l.l4 + 6),
                      ref_udp_checksum(ipv, b.data() + l.l3, b.data() + l.l4, l.udp_len));
            EXPECT_EQ(hex(a), hex(b)) << "ipv" << ipv << " stamp " << stamp;
        }
    }
}

// reflect_finish with an Error Estimate replaces the one reflect_prepare wrote (Z kept) and the
// checksum stays right: what the worker does for a clamped device T3.
TEST(reflect_checksum, finish_with_a_wider_error_estimate) {
    for (int ipv : {4, 6}) {
        for (bool ptp : {false, true}) {
            reflect_row r = row("error", "RFC 4656 section 4.1.2", ipv, true);
            r.spec.payload = stamp_payload(ptp);
            const bytes req = r.request();
            guarded_buffer buf(2048);
            std::copy(req.begin(), req.end(), buf.data());
            std::span<const uint8_t> frame(buf.data(), req.size());
            auto pf = parse_frame(frame);
            ASSERT_EQ(check_test_packet(frame, pf, r.policy, false, false), drop_reason::none);
            auto prep = reflect_prepare(buf.span(), pf, r.policy, r.params);
            ASSERT_EQ(prep.v, verdict::reflect);
            const error_estimate wide = make_error_estimate(3'000'000, false, false);
            reflect_finish(buf.data(), prep.reply, t3_ns, 37, wide);
            const bytes rep = buf.copy(prep.reply.len);
            const layers l = locate(rep.data());
            const uint16_t err = rd16(rep.data() + prep.reply.t3_off + 8);
            EXPECT_EQ(err & 0x3fff, wide.encode() & 0x3fff);
            EXPECT_EQ((err & 0x4000) != 0, ptp) << "Z as prepared";
            EXPECT_EQ(err & 0x8000, 0) << "S as given";
            EXPECT_GE(error_estimate::decode(err).error_ns(), 3'000'000u);
            EXPECT_EQ(rd16(rep.data() + l.l4 + 6),
                      ref_udp_checksum(ipv, rep.data() + l.l3, rep.data() + l.l4, l.udp_len));
        }
    }
}
