// twamp-ping's STAMP TLVs (issue 16): --tlv parsed into the octets of RFC 8972 §4 / RFC 9503
// written out by hand, the request built around them, and replies decoded field by field from
// octets written out by hand (the layouts of RFC 8972 §4.2-§4.7, erratum 8199 for Class of
// Service, RFC 9503 §3/§4).
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "twamp/sender/matcher.hpp"
#include "twamp/sender/options.hpp"
#include "twamp/sender/packet.hpp"
#include "twamp/sender/tlv.hpp"

namespace {

using namespace twamp::sender;
using bytes = std::vector<uint8_t>;

bytes tlv_of(std::string_view arg) {
    std::string err;
    auto t = parse_tlv(arg, err);
    EXPECT_TRUE(t) << arg << ": " << err;
    return t ? t->octets : bytes{};
}

std::string error_of(std::string_view arg) {
    std::string err;
    auto t = parse_tlv(arg, err);
    EXPECT_FALSE(t) << arg;
    return err;
}

// Every TLV a Session-Sender sends has U = 1, M = 0, I = 0 (RFC 8972 §4): Flags 0x80.
TEST(SenderTlv, EachFormEncodesTheRfcLayout) {
    EXPECT_EQ(tlv_of("padding=3"), (bytes{0x80, 1, 0, 3, 0, 0, 0}));
    EXPECT_EQ(tlv_of("padding=0"), (bytes{0x80, 1, 0, 0}));
    EXPECT_EQ(tlv_of("timestamp-info"), (bytes{0x80, 3, 0, 4, 0, 0, 0, 0}));
    // §4.4: DSCP1 in the 6 high bits; DSCP2, ECN, RP, Reserved zero.
    EXPECT_EQ(tlv_of("cos=46"), (bytes{0x80, 4, 0, 4, 46 << 2, 0, 0, 0}));
    EXPECT_EQ(tlv_of("cos=63"), (bytes{0x80, 4, 0, 4, 0xfc, 0, 0, 0}));
    EXPECT_EQ(tlv_of("direct-measurement"),
              (bytes{0x80, 5, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
    // §4.6: ID in the high nibble, Return Code, Reserved (2); the code defaults to 1.
    EXPECT_EQ(tlv_of("access-report=1"), (bytes{0x80, 6, 0, 4, 0x10, 1, 0, 0}));
    EXPECT_EQ(tlv_of("access-report=2:7"), (bytes{0x80, 6, 0, 4, 0x20, 7, 0, 0}));
    EXPECT_EQ(tlv_of("access-report=15:255"), (bytes{0x80, 6, 0, 4, 0xf0, 0xff, 0, 0}));
    EXPECT_EQ(tlv_of("follow-up"),
              (bytes{0x80, 7, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(tlv_of("dna=198.18.0.2"), (bytes{0x80, 9, 0, 4, 198, 18, 0, 2}));
    EXPECT_EQ(tlv_of("dna=[2001:2::2]"),
              (bytes{0x80, 9, 0, 16, 0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}));
    // RFC 9503 §4.1.1: Control Code sub-TLV (Type 1, Length 4), flag 0x1 = same link.
    EXPECT_EQ(tlv_of("return-path=no-reply"), (bytes{0x80, 10, 0, 8, 0x80, 1, 0, 4, 0, 0, 0, 0}));
    EXPECT_EQ(tlv_of("return-path=same-link"), (bytes{0x80, 10, 0, 8, 0x80, 1, 0, 4, 0, 0, 0, 1}));
    // §4.1.2: Return Address sub-TLV (Type 2).
    EXPECT_EQ(tlv_of("return-path=198.18.0.9"),
              (bytes{0x80, 10, 0, 8, 0x80, 2, 0, 4, 198, 18, 0, 9}));
    EXPECT_EQ(tlv_of("raw=200:0aFF"), (bytes{0x80, 200, 0, 2, 0x0a, 0xff}));
    EXPECT_EQ(tlv_of("raw=8:"), (bytes{0x80, 8, 0, 0}));
}

TEST(SenderTlv, LocationAsksForEachSubTlv) {
    // RFC 8972 §4.2: Destination Port, Source Port (zeros), then the generic requests of
    // §4.2.1: Source MAC (1, Length 8), Destination IP (4, Length 16), Source IP (7, Length 16).
    bytes want = {0x80, 2, 0, 56, 0, 0, 0, 0};
    const bytes mac = {0x80, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0};
    bytes dst = {0x80, 4, 0, 16};
    dst.resize(20, 0);
    bytes src = {0x80, 7, 0, 16};
    src.resize(20, 0);
    want.insert(want.end(), mac.begin(), mac.end());
    want.insert(want.end(), dst.begin(), dst.end());
    want.insert(want.end(), src.begin(), src.end());
    EXPECT_EQ(tlv_of("location"), want);
    EXPECT_EQ(tlv_of("location=mac,dst,src"), want);
    bytes only_src = {0x80, 2, 0, 24, 0, 0, 0, 0};
    only_src.insert(only_src.end(), src.begin(), src.end());
    EXPECT_EQ(tlv_of("location=src"), only_src);
}

TEST(SenderTlv, BadFormsSayWhat) {
    EXPECT_NE(error_of("nonsense").find("unknown TLV"), std::string::npos);
    EXPECT_NE(error_of("padding").find("padding=N"), std::string::npos);
    EXPECT_NE(error_of("padding=-1").find("padding=N"), std::string::npos);
    EXPECT_NE(error_of("cos=64").find("0..63"), std::string::npos);
    EXPECT_NE(error_of("cos").find("cos=DSCP1"), std::string::npos);
    EXPECT_NE(error_of("access-report=16").find("ID 0..15"), std::string::npos);
    EXPECT_NE(error_of("access-report=1:256").find("CODE 0..255"), std::string::npos);
    EXPECT_NE(error_of("dna=example.org").find("address"), std::string::npos);
    EXPECT_NE(error_of("return-path=maybe").find("no-reply"), std::string::npos);
    EXPECT_NE(error_of("raw=300:00").find("TYPE 0..255"), std::string::npos);
    EXPECT_NE(error_of("raw=3:abc").find("even"), std::string::npos);
    EXPECT_NE(error_of("raw=3:zz").find("\"zz\" is not a hex octet"), std::string::npos);
    EXPECT_NE(error_of("follow-up=1").find("takes no value"), std::string::npos);
    EXPECT_NE(error_of("location=mac,gps").find("location=mac,dst,src"), std::string::npos);
    EXPECT_EQ(error_of("cos=99").rfind("--tlv \"cos=99\": ", 0), 0u);
}

parse_result parse(std::vector<std::string_view> a) {
    return parse_args(a);
}

TEST(SenderTlvOptions, RepeatableInOrderAndSized) {
    auto r = parse({"--mode", "stamp", "--tlv", "cos=10", "--tlv=direct-measurement", "--tlv",
                    "return-path=no-reply", "198.18.0.2"});
    ASSERT_TRUE(r.opts) << r.error;
    const options& o = *r.opts;
    ASSERT_EQ(o.tlvs.size(), 3u);
    EXPECT_EQ(o.tlvs[0].arg, "cos=10");
    EXPECT_EQ(o.tlvs[1].octets[1], 5);
    EXPECT_EQ(o.tlvs[2].octets[1], 10);
    EXPECT_EQ(o.tlv_octets, 8u + 16u + 12u);
    EXPECT_EQ(o.payload_size(), 44u + 36u);
    EXPECT_TRUE(o.has_direct_measurement);
    EXPECT_TRUE(o.no_reply);

    auto same = parse({"--mode", "stamp", "--tlv", "return-path=same-link", "198.18.0.2"});
    ASSERT_TRUE(same.opts) << same.error;
    EXPECT_FALSE(same.opts->no_reply);
    EXPECT_FALSE(same.opts->has_direct_measurement);
    EXPECT_FALSE(same.opts->unconnected);

    // RFC 9503 §4: a reflector acts on the first Return Path TLV only, so only the first one
    // says whether replies are expected.
    auto second = parse({"--mode", "stamp", "--tlv", "return-path=same-link", "--tlv",
                         "return-path=no-reply", "198.18.0.2"});
    ASSERT_TRUE(second.opts) << second.error;
    EXPECT_FALSE(second.opts->no_reply);
    auto first = parse({"--mode", "stamp", "--tlv", "return-path=no-reply", "--tlv",
                        "return-path=same-link", "198.18.0.2"});
    ASSERT_TRUE(first.opts) << first.error;
    EXPECT_TRUE(first.opts->no_reply);

    // Replies not tied to the destination: the socket stays unconnected.
    for (const char* t : {"dna=198.18.0.3", "return-path=198.18.0.5", "dna=2001:2::3"}) {
        auto u = parse({"--mode", "stamp", "--tlv", t, "198.18.0.2"});
        ASSERT_TRUE(u.opts) << u.error;
        EXPECT_TRUE(u.opts->unconnected) << t;
    }
}

TEST(SenderTlvOptions, StampOnlyAndSizeRules) {
    for (const char* m : {"light", "twamp"}) {
        auto r = parse({"--mode", m, "--tlv", "follow-up", "198.18.0.2"});
        EXPECT_FALSE(r.opts) << m;
        EXPECT_EQ(r.error, "--tlv adds STAMP TLVs (RFC 8972): it needs --mode stamp");
    }
    auto r = parse({"--tlv", "follow-up", "198.18.0.2"}); // light is the default
    EXPECT_FALSE(r.opts);
    r = parse({"--mode", "stamp", "--tlv", "bogus", "198.18.0.2"});
    EXPECT_FALSE(r.opts);
    EXPECT_NE(r.error.find("unknown TLV"), std::string::npos);
    // follow-up: 44 + 20 = 64. -s 64 exact, 68 and more padded, 65..67 and < 64 refused.
    for (const char* s : {"64", "68", "200"}) {
        auto ok = parse({"--mode", "stamp", "--tlv", "follow-up", "-s", s, "198.18.0.2"});
        ASSERT_TRUE(ok.opts) << s << ": " << ok.error;
        EXPECT_EQ(ok.opts->payload_size(), std::stoul(s));
    }
    for (const char* s : {"44", "48", "63", "65", "67"}) {
        auto bad = parse({"--mode", "stamp", "--tlv", "follow-up", "-s", s, "198.18.0.2"});
        EXPECT_FALSE(bad.opts) << s;
        EXPECT_NE(bad.error.find("the TLVs make the request 64 octets"), std::string::npos)
                << bad.error;
    }
    auto big = parse(
            {"--mode", "stamp", "--tlv", "padding=65000", "--tlv", "padding=1000", "198.18.0.2"});
    EXPECT_FALSE(big.opts);
    EXPECT_NE(big.error.find("more than 65527"), std::string::npos) << big.error;
}

TEST(SenderTlvPacket, RequestCarriesTheTlvsThenExtraPadding) {
    std::string err;
    std::vector<tlv_spec> t = {*parse_tlv("cos=46", err), *parse_tlv("direct-measurement", err)};
    bytes p(44 + 8 + 16 + 10, 0xee);
    init_request(p, mode::stamp, 0x0102, t);
    EXPECT_EQ(p[14], 0x01); // SSID
    EXPECT_EQ(p[15], 0x02);
    const bytes cos(p.begin() + 44, p.begin() + 52);
    EXPECT_EQ(cos, (bytes{0x80, 4, 0, 4, 46 << 2, 0, 0, 0}));
    EXPECT_EQ(p[52], 0x80);
    EXPECT_EQ(p[53], 5);
    // The rest: one Extra Padding TLV, U = 1, Length 10 - 4.
    EXPECT_EQ((bytes(p.begin() + 68, p.begin() + 72)), (bytes{0x80, 1, 0, 6}));
    for (std::size_t i = 72; i < p.size(); ++i) {
        EXPECT_EQ(p[i], 0) << i;
    }
    // S_TxC per packet (RFC 8972 §4.5), the other counters left alone.
    set_direct_measurement(std::span(p).subspan(44), 0x01020304);
    EXPECT_EQ((bytes(p.begin() + 56, p.begin() + 68)), (bytes{1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0}));
    // Exactly the TLVs: no padding TLV.
    bytes q(44 + 8, 0xee);
    init_request(q, mode::stamp, 1, std::span(t).first(1));
    EXPECT_EQ((bytes(q.begin() + 44, q.end())), (bytes{0x80, 4, 0, 4, 46 << 2, 0, 0, 0}));
}

// A reply's TLV area as a reflector following TLV-SPEC.md writes it, octet by octet.
bytes reply_area() {
    return {
            // Location (§4.2), Length 4 + 12 + 20 + 20 = 56: Destination Port 64365, Source
            // Port 40001, then the answers: Source EUI-48 (2), Destination IPv4 (5), Source
            // IPv4 (8).
            0x00, 2, 0, 56, 0xfb, 0x6d, 0x9c, 0x41,                            //
            0x00, 2, 0, 8, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0,           //
            0x00, 5, 0, 16, 198, 18, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //
            0x00, 8, 0, 16, 198, 18, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, //
               // Timestamp Information (§4.3): Sync Src In 5, Timestamp In 2, Out 5/2.
            0x00, 3, 0, 4, 5, 2, 5, 2, //
                                       // Class of Service (§4.4, erratum 8199): DSCP1 46, DSCP2 10,
                                       // ECN 1, RP 1. 46 << 10 | 10 << 4 | 1 << 2 | 1 = 0xb8a5
            0x00, 4, 0, 4, 0xb8, 0xa5, 0,
            0, //
               // Direct Measurement (§4.5): S_TxC 3, R_RxC 2, R_TxC 0x01000002
            0x00, 5, 0, 12, 0, 0, 0, 3, 0, 0, 0, 2, 1, 0, 0,
            2, //
               // Access Report (§4.6), U: ID 3 (invalid), code 1
            0x80, 6, 0, 4, 0x30, 1, 0,
            0, //
               // Follow-Up Telemetry (§4.7): seq 7, timestamp (NTP) 1970-01-01 00:00:01.5 UTC
               // (2208988801 s = 0x83aa7e81, fraction 0x80000000), mode 1 (HW assist)
            0x00, 7, 0, 16, 0, 0, 0, 7, 0x83, 0xaa, 0x7e, 0x81, 0x80, 0, 0, 0, 1, 0, 0,
            0, //
               // Destination Node Address (RFC 9503 §3), U
            0x80, 9, 0, 4, 198, 18, 0,
            99, //
                // Return Path (RFC 9503 §4): Return Address sub-TLV 198.18.0.7
            0x00, 10, 0, 8, 0x00, 2, 0, 4, 198, 18, 0, 7, //
                                                          // Unknown type 200, U
            0x80, 200, 0, 2, 0xab, 0xcd,                  //
                                         // CoS with Length 3: M (malformed), then a header cut off
            0x40, 4, 0, 3, 1, 2, 3, //
            0x00, 1, 0,             //
    };
}

TEST(SenderTlvDecode, EveryFieldOfEveryType) {
    const bytes a = reply_area();
    const auto t = decode_tlvs(a);
    ASSERT_EQ(t.size(), 11u);
    // Location
    EXPECT_EQ(t[0].type, 2);
    EXPECT_EQ(t[0].flags, 0);
    EXPECT_TRUE(t[0].valid);
    EXPECT_EQ(t[0].length, 56);
    EXPECT_EQ(t[0].dst_port, 64365);
    EXPECT_EQ(t[0].src_port, 40001);
    ASSERT_EQ(t[0].subs.size(), 3u);
    EXPECT_EQ(t[0].subs[0].type, 2);
    EXPECT_EQ(t[0].subs[0].mac_len, 6);
    EXPECT_EQ(mac_string(std::span(t[0].subs[0].mac.data(), 6)), "02:11:22:33:44:55");
    EXPECT_EQ(t[0].subs[1].addr_len, 4);
    EXPECT_EQ(address_string(std::span(t[0].subs[1].addr.data(), 4)), "198.18.0.2");
    EXPECT_EQ(address_string(std::span(t[0].subs[2].addr.data(), 4)), "198.18.0.1");
    // Timestamp Information
    EXPECT_EQ(t[1].type, 3);
    EXPECT_EQ((std::vector<int>{t[1].sync_src_in, t[1].ts_in, t[1].sync_src_out, t[1].ts_out}),
              (std::vector<int>{5, 2, 5, 2}));
    EXPECT_TRUE(t[1].subs.empty());
    // Class of Service
    EXPECT_EQ(t[2].dscp1, 46);
    EXPECT_EQ(t[2].dscp2, 10);
    EXPECT_EQ(t[2].ecn, 1);
    EXPECT_EQ(t[2].rp, 1);
    // Direct Measurement
    EXPECT_EQ(t[3].s_txc, 3u);
    EXPECT_EQ(t[3].r_rxc, 2u);
    EXPECT_EQ(t[3].r_txc, 0x01000002u);
    // Access Report
    EXPECT_EQ(t[4].flags, 0x80);
    EXPECT_EQ(t[4].access_id, 3);
    EXPECT_EQ(t[4].return_code, 1);
    // Follow-Up Telemetry
    EXPECT_EQ(t[5].fu_seq, 7u);
    EXPECT_EQ(t[5].fu_ts, 0x83aa7e8180000000ULL);
    EXPECT_EQ(t[5].fu_mode, 1);
    // Destination Node Address
    EXPECT_EQ(t[6].flags, 0x80);
    EXPECT_EQ(address_string(std::span(t[6].addr.data(), t[6].addr_len)), "198.18.0.99");
    // Return Path
    ASSERT_EQ(t[7].subs.size(), 1u);
    EXPECT_EQ(t[7].subs[0].type, 2);
    EXPECT_EQ(address_string(std::span(t[7].subs[0].addr.data(), 4)), "198.18.0.7");
    // Unknown
    EXPECT_EQ(t[8].type, 200);
    EXPECT_FALSE(t[8].valid);
    EXPECT_EQ(t[8].value, (bytes{0xab, 0xcd}));
    // Malformed CoS: no fields, not valid
    EXPECT_EQ(t[9].flags, 0x40);
    EXPECT_FALSE(t[9].valid);
    EXPECT_EQ(t[9].dscp1, 0);
    // The cut-off header
    EXPECT_TRUE(t[10].truncated);
    EXPECT_EQ(t[10].type, 1);
    EXPECT_EQ(t[10].value, (bytes{0x00, 1, 0}));
}

TEST(SenderTlvDecode, SubTlvsBoundedByTheirParent) {
    // Return Path (Length 8) whose Control Code sub-TLV says Length 9: past the parent's end.
    const bytes a = {0x00, 10, 0, 8, 0x40, 1, 0, 9, 0, 0, 0, 1};
    const auto t = decode_tlvs(a);
    ASSERT_EQ(t.size(), 1u);
    ASSERT_EQ(t[0].subs.size(), 1u);
    EXPECT_TRUE(t[0].subs[0].truncated);
    EXPECT_EQ(t[0].subs[0].flags, 0x40);
    EXPECT_FALSE(t[0].subs[0].has_code);
    // Control Code answered: no reply requested (flag clear), same link (set).
    const bytes b = {0x00, 10, 0, 8, 0x00, 1, 0, 4, 0, 0, 0, 1};
    const auto u = decode_tlvs(b);
    ASSERT_EQ(u[0].subs.size(), 1u);
    EXPECT_TRUE(u[0].subs[0].has_code);
    EXPECT_EQ(u[0].subs[0].code, 1u);
    // Empty area, and a TLV whose Length passes the end.
    EXPECT_TRUE(decode_tlvs({}).empty());
    const bytes c = {0x00, 5, 0, 12, 1, 2};
    const auto v = decode_tlvs(c);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_TRUE(v[0].truncated);
    EXPECT_EQ(v[0].value, (bytes{1, 2}));
}

TEST(SenderTlvDecode, CompactText) {
    const bytes a = reply_area();
    const auto t = decode_tlvs(a);
    EXPECT_EQ(tlvs_text(t, twamp::proto::ts_format::ntp, 37),
              "location(dport 64365 sport 40001 mac 02:11:22:33:44:55 dst 198.18.0.2 src "
              "198.18.0.1) timestamp-info(in 5/2 out 5/2) cos(dscp1 46 dscp2 10 ecn 1 rp 1) "
              "dm(s_txc 3 r_rxc 2 r_txc 16777218) access[U](id 3 code 1) "
              "follow-up(seq 7 ts 1.500000000 mode 1) dna[U](198.18.0.99) "
              "return-path(address 198.18.0.7) type-200[U](2 octets) cos[M](3 octets) "
              "padding(truncated)");
}

TEST(SenderTlvDecode, TallyByTypeAndFlag) {
    const bytes a = reply_area();
    tlv_tally tally;
    EXPECT_TRUE(tally.empty());
    tally.add(decode_tlvs(a));
    tally.add(decode_tlvs(a));
    EXPECT_FALSE(tally.empty());
    EXPECT_EQ(tally.by_type[4].seen, 4u); // CoS twice per area
    EXPECT_EQ(tally.by_type[4].m, 2u);
    EXPECT_EQ(tally.by_type[6].u, 2u);
    EXPECT_EQ(tally.by_type[200].u, 2u);
    EXPECT_EQ(tally.by_type[2].u + tally.by_type[2].m + tally.by_type[2].i, 0u);
    tlv_tally other;
    other.merge(tally);
    EXPECT_EQ(other.by_type[9].seen, 2u);
    EXPECT_STREQ(tlv_type_name(9), "destination_node_address");
    EXPECT_STREQ(tlv_type_name(200), "other");
    EXPECT_STREQ(sub_tlv_name(2, 6), "destination_ipv6");
    EXPECT_STREQ(sub_tlv_name(10, 1), "control_code");
}

TEST(SenderTlvMatcher, FreshRepliesTallied) {
    reply_matcher b(mode::stamp, 1);
    b.record_send(0, 1000, 555, 0, false);
    bytes r(44, 0);
    r[15] = 1;          // SSID
    r[27] = 0;          // Sender Sequence Number 0 (octets 24..27)
    r[35] = 555 & 0xff; // Sender Timestamp (octets 28..35)
    r[34] = 555 >> 8;
    const bytes dm = {0x00, 5, 0, 12, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    r.insert(r.end(), dm.begin(), dm.end());
    ASSERT_EQ(b.match(r, true, 2000, 37).verdict, reply_verdict::fresh);
    EXPECT_EQ(b.tlvs().by_type[5].seen, 1u);
    ASSERT_EQ(b.match(r, true, 2000, 37).verdict, reply_verdict::duplicate);
    EXPECT_EQ(b.tlvs().by_type[5].seen, 1u);
}

} // namespace
