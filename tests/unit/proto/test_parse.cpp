// parse_frame() (include/twamp/proto/packet.hpp), table-driven, plus every truncation of valid
// frames in buffers that fault on any read past their end.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "reflect_runner.hpp"
#include "test_util.hpp"

#include "twamp/proto/exception_class.hpp"
#include "twamp/proto/packet.hpp"
#include "twamp/proto/reflect.hpp"
#include "twamp/proto/tcp_ports.hpp"

using namespace twamp::proto;
using namespace twamp::test;

namespace {

struct parse_row {
    std::string name;
    std::string rfc;
    std::function<bytes()> frame;
    frame_kind kind;
    drop_reason reason = drop_reason::none;
    // Checked when >= 0 (or non-zero for the 16-bit ones).
    int vlan_count = -1;
    int vlan = -1;
    int outer_vlan = -1;
    int ip_version = -1;
    int l4_proto = -1;
    int l3_off = -1;
    int l3_hdr_len = -1;
    int l4_off = -1;
    int udp_len = -1;
    int ttl = -1;
    int fragment = -1;
    int ethertype = -1;
    int l3_end = -1;
};

std::ostream& operator<<(std::ostream& os, const parse_row& r) {
    return os << r.name << " [" << r.rfc << "]";
}

frame_spec udp4(std::size_t payload = 20) {
    frame_spec s = v4_spec();
    s.payload = pattern(payload, 1);
    return s;
}

frame_spec udp6(std::size_t payload = 20) {
    frame_spec s = v6_spec();
    s.payload = pattern(payload, 2);
    return s;
}

std::function<bytes()> with(frame_spec s, std::function<void(bytes&)> m = {}) {
    return [s, m] {
        bytes f = build(s);
        if (m) {
            m(f);
        }
        return f;
    };
}

bytes cut(bytes f, std::size_t n) {
    f.resize(n);
    return f;
}

frame_spec tagged(frame_spec s, std::vector<vlan_tag> tags) {
    s.vlans = std::move(tags);
    return s;
}

frame_spec proto(frame_spec s, uint8_t p) {
    s.l4_proto = p;
    return s;
}

bytes arp_frame(std::vector<vlan_tag> tags = {}) {
    bytes f{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1};
    for (const auto& t : tags) {
        append16(f, t.tpid);
        append16(f, t.tci);
    }
    append16(f, 0x0806);
    // RFC 826 request: Ethernet/IPv4, who has 198.18.0.2 tell 198.18.0.1
    bytes arp{0,   1,  0x08, 0, 6, 4, 0, 1, 0x02, 0, 0,   0,  0, 1,
              198, 18, 0,    1, 0, 0, 0, 0, 0,    0, 198, 18, 0, 2};
    f.insert(f.end(), arp.begin(), arp.end());
    f.resize(60, 0);
    return f;
}

// Offsets of an IPv4 header in an untagged frame.
constexpr std::size_t ip4 = 14;
constexpr std::size_t ip6 = 14;

std::vector<parse_row> rows() {
    std::vector<parse_row> v;
    // ---- L2 ----
    v.push_back({.name = "v4_untagged",
                 .rfc = "RFC 894, RFC 791, RFC 768",
                 .frame = with(udp4()),
                 .kind = frame_kind::udp,
                 .vlan_count = 0,
                 .vlan = 0,
                 .ip_version = 4,
                 .l4_proto = 17,
                 .l3_off = 14,
                 .l3_hdr_len = 20,
                 .l4_off = 34,
                 .udp_len = 28,
                 .ttl = 64,
                 .fragment = 0,
                 .ethertype = 0x0800,
                 .l3_end = 62});
    v.push_back({.name = "v4_one_ctag",
                 .rfc = "IEEE 802.1Q C-tag 0x8100",
                 .frame = with(tagged(udp4(), {{0x8100, 100}})),
                 .kind = frame_kind::udp,
                 .vlan_count = 1,
                 .vlan = 100,
                 .outer_vlan = 100,
                 .l3_off = 18,
                 .l4_off = 38});
    v.push_back({.name = "v4_one_stag",
                 .rfc = "IEEE 802.1ad S-tag 0x88a8",
                 .frame = with(tagged(udp4(), {{0x88a8, 200}})),
                 .kind = frame_kind::udp,
                 .vlan_count = 1,
                 .vlan = 200,
                 .l3_off = 18});
    v.push_back({.name = "v4_qinq",
                 .rfc = "IEEE 802.1ad S-tag + C-tag",
                 .frame = with(tagged(udp4(), {{0x88a8, 10}, {0x8100, 20}})),
                 .kind = frame_kind::udp,
                 .vlan_count = 2,
                 .vlan = 20,
                 .outer_vlan = 10,
                 .l3_off = 22,
                 .l4_off = 42,
                 .ethertype = 0x0800});
    v.push_back({.name = "v4_double_ctag",
                 .rfc = "IEEE 802.1Q stacked C-tags",
                 .frame = with(tagged(udp4(), {{0x8100, 10}, {0x8100, 20}})),
                 .kind = frame_kind::udp,
                 .vlan_count = 2,
                 .vlan = 20,
                 .outer_vlan = 10});
    v.push_back({.name = "vlan_pcp_dei_not_in_vid",
                 .rfc = "IEEE 802.1Q TCI: PCP(3) DEI(1) VID(12)",
                 .frame = with(tagged(udp4(), {{0x8100, 0xf0ff}})),
                 .kind = frame_kind::udp,
                 .vlan_count = 1,
                 .vlan = 0x0ff});
    v.push_back({.name = "three_tags",
                 .rfc = "DESIGN.md: up to two VLAN tags",
                 .frame = with(tagged(udp4(), {{0x88a8, 1}, {0x8100, 2}, {0x8100, 3}})),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::l2_too_many_vlans});
    v.push_back({.name = "three_ctags",
                 .rfc = "DESIGN.md: up to two VLAN tags",
                 .frame = with(tagged(udp6(), {{0x8100, 1}, {0x8100, 2}, {0x8100, 3}})),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::l2_too_many_vlans});
    v.push_back({.name = "short_of_ethernet_header",
                 .rfc = "IEEE 802.3",
                 .frame = [] { return bytes(13, 0xaa); },
                 .kind = frame_kind::drop,
                 .reason = drop_reason::l2_truncated});
    v.push_back({.name = "empty_frame",
                 .rfc = "IEEE 802.3",
                 .frame = [] { return bytes{}; },
                 .kind = frame_kind::drop,
                 .reason = drop_reason::l2_truncated});
    v.push_back({.name = "vlan_tag_cut_off",
                 .rfc = "IEEE 802.1Q",
                 .frame =
                         [] {
                             bytes f = build(tagged(udp4(), {{0x8100, 5}}));
                             f.resize(17);
                             return f;
                         },
                 .kind = frame_kind::drop,
                 .reason = drop_reason::l2_truncated});
    v.push_back({.name = "arp",
                 .rfc = "RFC 826: the kernel's business",
                 .frame = [] { return arp_frame(); },
                 .kind = frame_kind::non_ip,
                 .vlan_count = 0,
                 .ip_version = 0,
                 .ethertype = 0x0806});
    v.push_back({.name = "arp_in_vlan",
                 .rfc = "RFC 826 over IEEE 802.1Q",
                 .frame =
                         [] {
                             return arp_frame({{0x8100, 7}});
                         },
                 .kind = frame_kind::non_ip,
                 .vlan_count = 1,
                 .vlan = 7,
                 .ethertype = 0x0806});
    v.push_back({.name = "lldp",
                 .rfc = "IEEE 802.1AB EtherType 0x88cc",
                 .frame =
                         [] {
                             bytes f = arp_frame();
                             f[12] = 0x88;
                             f[13] = 0xcc;
                             return f;
                         },
                 .kind = frame_kind::non_ip,
                 .ethertype = 0x88cc});
    // ---- IPv4 ----
    frame_spec opt1 = udp4();
    opt1.ip_options = {0x01, 0x01, 0x01, 0x00};
    v.push_back({.name = "v4_options_ihl6",
                 .rfc = "RFC 791 §3.1 IHL",
                 .frame = with(opt1),
                 .kind = frame_kind::udp,
                 .l3_hdr_len = 24,
                 .l4_off = 38,
                 .udp_len = 28});
    frame_spec opt10 = udp4();
    opt10.ip_options = bytes(40, 0x01);
    v.push_back({.name = "v4_options_ihl15",
                 .rfc = "RFC 791 §3.1 IHL 15 = 60 octets",
                 .frame = with(tagged(opt10, {{0x8100, 9}})),
                 .kind = frame_kind::udp,
                 .l3_hdr_len = 60,
                 .l4_off = 78});
    v.push_back({.name = "v4_ihl4",
                 .rfc = "RFC 791 §3.1 IHL >= 5",
                 .frame = with(udp4(), [](bytes& f) { f[ip4] = 0x44; }),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::ipv4_bad_ihl});
    v.push_back({.name = "v4_ihl0",
                 .rfc = "RFC 791 §3.1 IHL >= 5",
                 .frame = with(udp4(), [](bytes& f) { f[ip4] = 0x40; }),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::ipv4_bad_ihl});
    frame_spec small = udp4(0);
    small.min_frame = 0;
    v.push_back({.name = "v4_ihl15_header_past_frame",
                 .rfc = "RFC 791 §3.1",
                 .frame = with(small, [](bytes& f) { f[ip4] = 0x4f; }),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::ipv4_truncated});
    v.push_back({.name = "v4_total_length_below_ihl",
                 .rfc = "RFC 791 §3.1 Total Length",
                 .frame = with(udp4(), [](bytes& f) { wr16(&f[ip4 + 2], 19); }),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::ipv4_bad_length});
    frame_spec exact = udp4(40);
    exact.min_frame = 0;
    v.push_back({.name = "v4_total_length_past_frame",
                 .rfc = "RFC 791 §3.1 Total Length",
                 .frame = with(exact, [](bytes& f) { wr16(&f[ip4 + 2], 20 + 8 + 41); }),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::ipv4_bad_length});
    v.push_back({.name = "v4_version_6_in_ipv4_ethertype",
                 .rfc = "RFC 791 §3.1 Version",
                 .frame = with(udp4(), [](bytes& f) { f[ip4] = 0x65; }),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::ip_bad_version});
    v.push_back({.name = "v6_version_4_in_ipv6_ethertype",
                 .rfc = "RFC 8200 §3 Version",
                 .frame = with(udp6(), [](bytes& f) { f[ip6] = 0x45; }),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::ip_bad_version});
    frame_spec mf = udp4();
    mf.frag = 0x2000;
    v.push_back({.name = "v4_more_fragments",
                 .rfc = "RFC 791 §3.1 MF",
                 .frame = with(mf),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::ipv4_fragment,
                 .fragment = 1});
    frame_spec off = udp4();
    off.frag = 0x0001;
    v.push_back({.name = "v4_fragment_offset",
                 .rfc = "RFC 791 §3.1 Fragment Offset",
                 .frame = with(off),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::ipv4_fragment,
                 .fragment = 1});
    frame_spec last = udp4();
    last.frag = 0x1fff; // last fragment, offset 8191*8
    v.push_back({.name = "v4_last_fragment",
                 .rfc = "RFC 791 §3.1",
                 .frame = with(last),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::ipv4_fragment,
                 .fragment = 1});
    frame_spec df = udp4();
    df.frag = 0x4000;
    v.push_back({.name = "v4_dont_fragment_is_whole",
                 .rfc = "RFC 791 §3.1 DF",
                 .frame = with(df),
                 .kind = frame_kind::udp,
                 .fragment = 0});
    frame_spec icmp_frag = proto(udp4(), 1);
    icmp_frag.frag = 0x2000;
    v.push_back({.name = "v4_icmp_fragment_to_kernel",
                 .rfc = "RFC 791: not UDP, kernel reassembles",
                 .frame = with(icmp_frag),
                 .kind = frame_kind::ip_other,
                 .l4_proto = 1,
                 .fragment = 1});
    v.push_back({.name = "v4_tcp",
                 .rfc = "RFC 9293: the kernel's business",
                 .frame = with(proto(udp4(), 6)),
                 .kind = frame_kind::ip_other,
                 .ip_version = 4,
                 .l4_proto = 6});
    v.push_back({.name = "v4_icmp",
                 .rfc = "RFC 792",
                 .frame = with(proto(udp4(), 1)),
                 .kind = frame_kind::ip_other,
                 .l4_proto = 1});
    v.push_back({.name = "v4_header_cut",
                 .rfc = "RFC 791 §3.1 20-octet minimum",
                 .frame = [] { return cut(build(udp4()), 33); },
                 .kind = frame_kind::drop,
                 .reason = drop_reason::ipv4_truncated});
    // ---- IPv6 ----
    v.push_back({.name = "v6_untagged",
                 .rfc = "RFC 8200 §3, RFC 768",
                 .frame = with(udp6()),
                 .kind = frame_kind::udp,
                 .vlan_count = 0,
                 .ip_version = 6,
                 .l4_proto = 17,
                 .l3_off = 14,
                 .l3_hdr_len = 40,
                 .l4_off = 54,
                 .udp_len = 28,
                 .ttl = 64,
                 .ethertype = 0x86dd,
                 .l3_end = 82});
    v.push_back({.name = "v6_qinq",
                 .rfc = "RFC 8200 over IEEE 802.1ad",
                 .frame = with(tagged(udp6(), {{0x88a8, 4094}, {0x8100, 1}})),
                 .kind = frame_kind::udp,
                 .vlan_count = 2,
                 .vlan = 1,
                 .outer_vlan = 4094,
                 .l3_off = 22,
                 .l4_off = 62});
    for (int nh : {0, 6, 43, 44, 58, 59, 60}) {
        v.push_back({.name = "v6_next_header_" + std::to_string(nh),
                     .rfc = "RFC 8200 §4: extension headers and other protocols are reported",
                     .frame = with(proto(udp6(), static_cast<uint8_t>(nh))),
                     .kind = frame_kind::ip_other,
                     .ip_version = 6,
                     .l4_proto = nh});
    }
    v.push_back({.name = "v6_payload_length_past_frame",
                 .rfc = "RFC 8200 §3 Payload Length",
                 .frame = with(udp6(), [](bytes& f) { wr16(&f[ip6 + 4], 29); }),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::ipv6_bad_length});
    v.push_back({.name = "v6_header_cut",
                 .rfc = "RFC 8200 §3 40 octets",
                 .frame = [] { return cut(build(udp6()), 53); },
                 .kind = frame_kind::drop,
                 .reason = drop_reason::ipv6_truncated});
    // ---- UDP ----
    v.push_back({.name = "v4_udp_length_longer_than_ip",
                 .rfc = "RFC 768 Length",
                 .frame = with(udp4(), [](bytes& f) { wr16(&f[34 + 4], 29); }),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::udp_bad_length});
    v.push_back({.name = "v4_udp_length_shorter_than_ip",
                 .rfc = "RFC 768 Length",
                 .frame = with(udp4(), [](bytes& f) { wr16(&f[34 + 4], 27); }),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::udp_bad_length});
    v.push_back({.name = "v4_udp_length_7",
                 .rfc = "RFC 768 Length >= 8",
                 .frame = with(udp4(), [](bytes& f) { wr16(&f[34 + 4], 7); }),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::udp_bad_length});
    v.push_back({.name = "v6_udp_length_mismatch",
                 .rfc = "RFC 768, RFC 8200 §8.1",
                 .frame = with(udp6(), [](bytes& f) { wr16(&f[54 + 4], 30); }),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::udp_bad_length});
    v.push_back({.name = "v4_ip_payload_shorter_than_udp_header",
                 .rfc = "RFC 768 8-octet header",
                 .frame = with(udp4(), [](bytes& f) { wr16(&f[ip4 + 2], 20 + 7); }),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::udp_truncated});
    v.push_back({.name = "v6_payload_length_0",
                 .rfc = "RFC 768 8-octet header",
                 .frame = with(udp6(), [](bytes& f) { wr16(&f[ip6 + 4], 0); }),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::udp_truncated});
    v.push_back({.name = "v4_ethernet_padding",
                 .rfc = "IEEE 802.3 minimum frame, RFC 894",
                 .frame = with(udp4(2)),
                 .kind = frame_kind::udp,
                 .udp_len = 10,
                 .l3_end = 44});
    v.push_back({.name = "v4_total_length_covers_trailer",
                 .rfc = "RFC 768: UDP fills the IP payload",
                 .frame = with(udp4(2), [](bytes& f) { wr16(&f[ip4 + 2], 30 + 4); }),
                 .kind = frame_kind::drop,
                 .reason = drop_reason::udp_bad_length});
    return v;
}

class parse_table : public ::testing::TestWithParam<parse_row> {};

TEST_P(parse_table, row) {
    const parse_row& r = GetParam();
    const bytes f = r.frame();
    guarded_buffer g(f);
    const parsed_frame pf = parse_frame({g.data(), g.size()});
    EXPECT_EQ(static_cast<int>(pf.kind), static_cast<int>(r.kind));
    EXPECT_EQ(to_string(pf.reason), to_string(r.reason));
    auto chk = [](int want, int got, const char* what) {
        if (want >= 0) {
            EXPECT_EQ(got, want) << what;
        }
    };
    chk(r.vlan_count, pf.vlan_count, "vlan_count");
    chk(r.vlan, pf.vlan(), "vlan()");
    chk(r.outer_vlan, pf.vlan_id[0], "vlan_id[0]");
    chk(r.ip_version, pf.ip_version, "ip_version");
    chk(r.l4_proto, pf.l4_proto, "l4_proto");
    chk(r.l3_off, pf.l3_off, "l3_off");
    chk(r.l3_hdr_len, pf.l3_hdr_len, "l3_hdr_len");
    chk(r.l4_off, pf.l4_off, "l4_off");
    chk(r.udp_len, pf.udp_len, "udp_len");
    chk(r.ttl, pf.ttl, "ttl");
    chk(r.fragment, pf.fragment ? 1 : 0, "fragment");
    chk(r.ethertype, pf.ethertype, "ethertype");
    chk(r.l3_end, pf.l3_end(), "l3_end()");
    if (pf.kind == frame_kind::udp) {
        EXPECT_EQ(pf.src_port, rd16(f.data() + pf.l4_off));
        EXPECT_EQ(pf.dst_port, rd16(f.data() + pf.l4_off + 2));
        EXPECT_EQ(pf.payload_off(), pf.l4_off + 8);
        EXPECT_EQ(pf.payload_len(), pf.udp_len - 8);
        EXPECT_LE(pf.l3_end(), f.size());
    }
    // reflect() agrees: drops keep their reason, non-UDP goes to the kernel.
    guarded_buffer g2(f);
    reflect_policy pol;
    auto res = reflect(g2.span(), f.size(), pol, default_params(), t3_ns);
    if (r.kind == frame_kind::drop) {
        EXPECT_EQ(res.v, verdict::drop);
        EXPECT_EQ(to_string(res.reason), to_string(r.reason));
    } else if (r.kind != frame_kind::udp) {
        EXPECT_EQ(res.v, verdict::to_kernel);
        EXPECT_EQ(res.reason, drop_reason::none);
    }
}

std::string row_name(const ::testing::TestParamInfo<parse_row>& i) {
    return i.param.name;
}

INSTANTIATE_TEST_SUITE_P(rows, parse_table, ::testing::ValuesIn(rows()), row_name);

// Every prefix of a valid frame, 0 .. end of the IP datagram - 1 octets, each in a buffer that
// faults on the first octet past it: never UDP, never reflected, never a read past the end,
// and the reason names the layer that was cut: Ethernet/VLAN, IP header, IP datagram.
TEST(parse_truncation, every_prefix_of_valid_frames) {
    struct seed {
        const char* what;
        frame_spec spec;
        test_mode mode;
    };
    std::vector<seed> seeds;
    for (int ipv : {4, 6}) {
        for (int tags = 0; tags <= 2; ++tags) {
            frame_spec s = ipv == 4 ? v4_spec() : v6_spec();
            for (int t = 0; t < tags; ++t) {
                s.vlans.push_back({t == 0 && tags == 2 ? uint16_t{0x88a8} : uint16_t{0x8100},
                                   static_cast<uint16_t>(10 + t)});
            }
            s.payload = twamp_request(1, 2, 3, 41);
            seeds.push_back({"twamp", s, test_mode::twamp_light});
            s.payload = stamp_request(1, 2, 3, 4, tlv(0, 1, pattern(8, 3)));
            seeds.push_back({"stamp", s, test_mode::stamp});
            s.payload = twamp_request(1, 2, 3, 14); // padded to 60 octets when untagged v4
            seeds.push_back({"twamp14", s, test_mode::twamp_light});
        }
    }
    frame_spec o = v4_spec();
    o.ip_options = bytes(12, 0x01);
    o.payload = twamp_request(1, 2, 3, 41);
    seeds.push_back({"twamp_options", o, test_mode::twamp_light});

    for (const seed& sd : seeds) {
        const bytes full = build(sd.spec);
        const layers l = locate(full.data());
        SCOPED_TRACE(std::string(sd.what) + " v" + std::to_string(l.ip_version) + " tags " +
                     std::to_string(l.vlan_count));
        for (std::size_t n = 0; n < l.l3_end; ++n) {
            bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
            drop_reason want;
            if (n < l.l3) {
                want = drop_reason::l2_truncated;
            } else if (n < l.l3 + (l.ip_version == 4 ? 20 : 40)) {
                want = l.ip_version == 4 ? drop_reason::ipv4_truncated
                                         : drop_reason::ipv6_truncated;
            } else if (n < l.l3 + l.ihl) {
                want = drop_reason::ipv4_truncated; // options cut
            } else {
                want = l.ip_version == 4 ? drop_reason::ipv4_bad_length
                                         : drop_reason::ipv6_bad_length;
            }
            guarded_buffer g(prefix);
            const parsed_frame pf = parse_frame({g.data(), n});
            ASSERT_EQ(static_cast<int>(pf.kind), static_cast<int>(frame_kind::drop)) << "n=" << n;
            ASSERT_EQ(to_string(pf.reason), to_string(want)) << "n=" << n;
            reflect_policy pol;
            pol.mode = sd.mode;
            auto res = reflect(g.span(), n, pol, default_params(), t3_ns);
            ASSERT_EQ(static_cast<int>(res.v), static_cast<int>(verdict::drop)) << "n=" << n;
            ASSERT_EQ(to_string(res.reason), to_string(want)) << "n=" << n;
            ASSERT_EQ(hex({g.data(), n}), hex(prefix)) << "dropped frame modified, n=" << n;
        }
        // From the end of the datagram on (Ethernet padding or not) it is a test packet again.
        for (std::size_t n = l.l3_end; n <= full.size(); ++n) {
            guarded_buffer g(bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)));
            const parsed_frame pf = parse_frame({g.data(), n});
            ASSERT_EQ(static_cast<int>(pf.kind), static_cast<int>(frame_kind::udp)) << "n=" << n;
        }
    }
}

// parsed_frame keeps 16-bit offsets (an mbuf's data_len is 16 bits). A span longer than that
// whose datagram ends past 64 KiB can only come from a caller's bug; it must still never be
// reflected nor read past its end. (It drops, today as udp_bad_length: the 16-bit end wraps.)
TEST(parse_limits, datagrams_ending_past_64k_never_reflect) {
    for (int ipv : {4, 6}) {
        for (int tags = 0; tags <= 2; ++tags) {
            for (std::size_t pl : {65400u, 65480u, 65487u, 65507u, 65527u}) {
                if ((ipv == 4 && 28 + pl > 65535) || (ipv == 6 && 8 + pl > 65535)) {
                    continue;
                }
                frame_spec s = ipv == 4 ? v4_spec() : v6_spec();
                for (int t = 0; t < tags; ++t) {
                    s.vlans.push_back({0x8100, static_cast<uint16_t>(t + 1)});
                }
                s.payload = twamp_request(1, 2, 3, pl);
                const bytes f = build(s);
                guarded_buffer g(f);
                const parsed_frame pf = parse_frame({g.data(), g.size()});
                auto res = reflect(g.span(), f.size(), reflect_policy{}, default_params(), t3_ns);
                if (f.size() <= 0xffff) {
                    EXPECT_EQ(static_cast<int>(pf.kind), static_cast<int>(frame_kind::udp));
                    EXPECT_EQ(res.v, verdict::reflect) << f.size();
                } else {
                    EXPECT_EQ(res.v, verdict::drop) << f.size();
                    EXPECT_NE(res.reason, drop_reason::none) << f.size();
                }
            }
        }
    }
}

} // namespace

// tcp_ports_of (include/twamp/proto/tcp_ports.hpp): the exception path's TWAMP-Control
// classification (issue 18).
TEST(tcp_ports, tcp_over_ipv4_ipv6_and_vlans) {
    frame_spec s = v4_spec();
    s.l4_proto = 6;
    s.sport = 40000;
    s.dport = 862;
    s.csum = udp_csum::zero;
    auto p = twamp::proto::tcp_ports_of(build(s));
    ASSERT_TRUE(p);
    EXPECT_EQ(p->src, 40000);
    EXPECT_EQ(p->dst, 862);
    frame_spec s6 = v6_spec();
    s6.l4_proto = 6;
    s6.sport = 862;
    s6.dport = 50001;
    s6.csum = udp_csum::zero;
    s6.vlans = {{0x8100, 100}};
    p = twamp::proto::tcp_ports_of(build(s6));
    ASSERT_TRUE(p);
    EXPECT_EQ(p->src, 862);
    EXPECT_EQ(p->dst, 50001);
}

TEST(tcp_ports, not_tcp_fragments_and_truncations) {
    frame_spec s = v4_spec(); // UDP
    EXPECT_FALSE(twamp::proto::tcp_ports_of(build(s)));
    s.l4_proto = 1; // ICMP
    s.csum = udp_csum::zero;
    EXPECT_FALSE(twamp::proto::tcp_ports_of(build(s)));
    s.l4_proto = 6;
    s.frag = 0x2000; // MF: a first fragment is not classified either
    EXPECT_FALSE(twamp::proto::tcp_ports_of(build(s)));
    s.frag = 0x4000;
    auto f = build(s);
    ASSERT_TRUE(twamp::proto::tcp_ports_of(f));
    // Every prefix shorter than the ports: nothing (and no read past the end: ASan).
    for (std::size_t n = 0; n < 14 + 20 + 4; ++n) {
        EXPECT_FALSE(twamp::proto::tcp_ports_of(std::span<const uint8_t>(f.data(), n))) << n;
    }
    frame_spec arp = v4_spec();
    auto a = build(arp);
    a[12] = 0x08;
    a[13] = 0x06;
    EXPECT_FALSE(twamp::proto::tcp_ports_of(a));
}

// classify_exception (include/twamp/proto/exception_class.hpp): which exception-path bucket a
// frame takes (issue 18): ARP and IPv6 ND their own, TWAMP-Control TCP its own with SYNs apart.
namespace {

using twamp::proto::classify_exception;
using twamp::proto::exception_class;

// A TCP segment built by the UDP builder: the ports where UDP has them, the TCP flags (octet
// 13 of the header) at payload[5].
bytes tcp_frame(int ip_version, uint16_t sport, uint16_t dport, uint8_t flags,
                std::vector<vlan_tag> vlans = {}) {
    frame_spec s = ip_version == 4 ? v4_spec() : v6_spec();
    s.l4_proto = 6;
    s.sport = sport;
    s.dport = dport;
    s.csum = udp_csum::zero;
    s.vlans = std::move(vlans);
    s.payload = bytes(12, 0);
    s.payload[4] = 0x50; // data offset 5
    s.payload[5] = flags;
    return build(s);
}

bytes icmpv6_frame(uint8_t type) {
    frame_spec s = v6_spec();
    s.l4_proto = 58;
    s.sport = static_cast<uint16_t>(type << 8); // Type, Code
    s.csum = udp_csum::zero;
    return build(s);
}

} // namespace

TEST(exception_class, arp_and_neighbor_discovery) {
    EXPECT_EQ(classify_exception(arp_frame(), 862, false), exception_class::neighbor);
    EXPECT_EQ(classify_exception(arp_frame({{0x8100, 100}}), 862, true), exception_class::neighbor);
    EXPECT_EQ(classify_exception(arp_frame(), 0, false), exception_class::neighbor)
            << "no control server: ARP still has its bucket";
    // RFC 4861 §4: Router Solicitation 133, Router Advertisement 134, Neighbor Solicitation
    // 135, Neighbor Advertisement 136, Redirect 137.
    for (int t = 133; t <= 137; ++t) {
        EXPECT_EQ(classify_exception(icmpv6_frame(static_cast<uint8_t>(t)), 862, false),
                  exception_class::neighbor)
                << t;
    }
    // Echo Request/Reply, Destination Unreachable, MLD (130), 138: the port's bucket.
    for (int t : {1, 128, 129, 130, 132, 138, 143}) {
        EXPECT_EQ(classify_exception(icmpv6_frame(static_cast<uint8_t>(t)), 862, false),
                  exception_class::other)
                << t;
    }
    // ICMPv4 (type 8 where ICMPv6 would have it) and a LLDP frame: other.
    frame_spec icmp4 = v4_spec();
    icmp4.l4_proto = 1;
    icmp4.sport = 135 << 8;
    icmp4.csum = udp_csum::zero;
    EXPECT_EQ(classify_exception(build(icmp4), 862, false), exception_class::other);
    auto lldp = arp_frame();
    lldp[12] = 0x88;
    lldp[13] = 0xcc;
    EXPECT_EQ(classify_exception(lldp, 862, false), exception_class::other);
    // An ND frame cut before its Type: other, and no read past the end (ASan).
    auto ns = icmpv6_frame(135);
    for (std::size_t n = 0; n < 14 + 40 + 1; ++n) {
        EXPECT_EQ(classify_exception(std::span<const uint8_t>(ns.data(), n), 862, false),
                  exception_class::other)
                << n;
    }
}

TEST(exception_class, control_syn_and_established) {
    constexpr uint8_t syn = 0x02, ack = 0x10, psh = 0x08, fin = 0x01;
    for (int v : {4, 6}) {
        // Wire -> kernel: the destination port is the control port.
        EXPECT_EQ(classify_exception(tcp_frame(v, 40000, 862, syn), 862, false),
                  exception_class::control_syn)
                << v;
        EXPECT_EQ(classify_exception(tcp_frame(v, 40000, 862, ack), 862, false),
                  exception_class::control)
                << v;
        EXPECT_EQ(classify_exception(tcp_frame(v, 40000, 862, psh | ack), 862, false),
                  exception_class::control)
                << v;
        EXPECT_EQ(classify_exception(tcp_frame(v, 40000, 862, fin | ack), 862, false),
                  exception_class::control)
                << v;
        // Kernel -> wire: the source port is; its SYN-ACK counts as a SYN.
        EXPECT_EQ(classify_exception(tcp_frame(v, 862, 40000, syn | ack), 862, true),
                  exception_class::control_syn)
                << v;
        EXPECT_EQ(classify_exception(tcp_frame(v, 862, 40000, ack), 862, true),
                  exception_class::control)
                << v;
        // The wrong direction's port, another port, no control server: other.
        EXPECT_EQ(classify_exception(tcp_frame(v, 862, 40000, ack), 862, false),
                  exception_class::other)
                << v;
        EXPECT_EQ(classify_exception(tcp_frame(v, 40000, 862, ack), 862, true),
                  exception_class::other)
                << v;
        EXPECT_EQ(classify_exception(tcp_frame(v, 40000, 863, syn), 862, false),
                  exception_class::other)
                << v;
        EXPECT_EQ(classify_exception(tcp_frame(v, 40000, 862, syn), 0, false),
                  exception_class::other)
                << v;
    }
    EXPECT_EQ(classify_exception(tcp_frame(4, 40000, 862, syn, {{0x8100, 100}}), 862, false),
              exception_class::control_syn);
    // A UDP datagram to the control port number is not TWAMP-Control.
    frame_spec u = v4_spec();
    u.dport = 862;
    EXPECT_EQ(classify_exception(build(u), 862, false), exception_class::other);
    // A segment cut before its flags: other (never guessed), no read past the end (ASan).
    auto f = tcp_frame(4, 40000, 862, ack);
    for (std::size_t n = 0; n < 14 + 20 + 14; ++n) {
        EXPECT_EQ(classify_exception(std::span<const uint8_t>(f.data(), n), 862, false),
                  exception_class::other)
                << n;
    }
    // A fragment: other.
    frame_spec fr = v4_spec();
    fr.l4_proto = 6;
    fr.dport = 862;
    fr.frag = 0x2000;
    fr.csum = udp_csum::zero;
    fr.payload = bytes(12, 0);
    EXPECT_EQ(classify_exception(build(fr), 862, false), exception_class::other);
}
