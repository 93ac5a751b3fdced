// The reply checker: every field of a reflected frame compared with the request it came from,
// as DESIGN.md "Reflection, exactly" and the RFCs say it must be, with the IPv4 header and UDP
// checksums recomputed from scratch by the reference code in test_util.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace twamp::test {

struct reply_expect {
    bool stamp = false;
    bool stateful = false;
    uint32_t reflector_seq = 0;
    uint64_t t2_ns = 0;
    uint64_t t3_ns = 0;
    int32_t tai_utc_offset_s = 37;
    bool ptp = false;                 // format of T2/T3 and the Z bit of our Error Estimate
    uint16_t our_error = 0x0001;      // S, Scale, Multiplier as they must appear (Z set per `ptp`)
    int dscp = -1;                    // -1: DS field copied as received; else this DSCP, ECN kept
    const uint8_t* our_mac = nullptr; // null: the request's destination MAC stays the source
    std::size_t payload_len = 0;      // the reply's UDP payload length
    const bytes* tlv_area = nullptr;  // STAMP: octets after the 44-octet base (null: as received)
    // TWAMP: RFC 6038 symmetrical size negotiated: the sender's padding starts at octet 41 and
    // stays there; otherwise it starts at 14 and comes back from 41 on (RFC 5357 §4.2.1).
    bool symmetrical = false;
    // Not null: the reply's source / destination address (4 or 16 octets), set by STAMP TLVs
    // (RFC 9503); null: the request's destination / source.
    const uint8_t* src_addr = nullptr;
    const uint8_t* dst_addr = nullptr;
};

// The reply's DS field for a request's (RFC 2474 DSCP copied or fixed; RFC 3168 §5: ECN kept
// except CE, which a sender never originates: CE -> ECT(0)).
inline uint8_t expected_ds(int dscp, uint8_t received) {
    const unsigned ecn = received & 3u;
    const unsigned out_ecn = ecn == 3u ? 2u : ecn;
    const unsigned ds = dscp < 0 ? (received & 0xfcu) : static_cast<unsigned>(dscp) << 2;
    return static_cast<uint8_t>(ds | out_ecn);
}

inline void check_reply(const bytes& req, std::span<const uint8_t> rep, const reply_expect& e) {
    const layers q = locate(req.data());
    ASSERT_GE(rep.size(), q.l4 + 8) << "reply shorter than its headers";
    const layers r = locate(rep.data());
    const uint8_t* f = rep.data();

    // Length: the IP datagram fills the reply exactly (Ethernet padding trimmed).
    EXPECT_EQ(r.l3_end, rep.size()) << "reply length != end of the IP datagram";
    EXPECT_EQ(r.udp_len, 8 + e.payload_len);
    ASSERT_EQ(rep.size(), r.l4 + 8 + e.payload_len);

    // L2: back to the sender, from our MAC; VLAN tags and EtherType unchanged.
    EXPECT_EQ(hex({f, 6}), hex({req.data() + 6, 6})) << "destination MAC";
    EXPECT_EQ(hex({f + 6, 6}), hex({e.our_mac ? e.our_mac : req.data(), 6})) << "source MAC";
    ASSERT_EQ(r.l3, q.l3);
    EXPECT_EQ(hex({f + 12, q.l3 - 12}), hex({req.data() + 12, q.l3 - 12})) << "VLAN tags";

    const uint8_t* qi = req.data() + q.l3;
    const uint8_t* ri = f + r.l3;
    if (q.ip_version == 4) {
        ASSERT_EQ(r.ip_version, 4);
        // IPv4 options are never returned (they could steer the reply): IHL 5.
        EXPECT_EQ(ri[0], 0x45) << "version/IHL";
        EXPECT_EQ(ri[1], expected_ds(e.dscp, qi[1])) << "DS field";
        EXPECT_EQ(rd16(ri + 2), 20 + 8 + e.payload_len) << "Total Length";
        EXPECT_EQ(rd32(ri + 4), rd32(qi + 4)) << "Identification, flags, offset";
        EXPECT_EQ(ri[8], 255) << "TTL";
        EXPECT_EQ(ri[9], qi[9]) << "Protocol";
        EXPECT_EQ(rd16(ri + 10), ref_ipv4_header_checksum(ri, r.ihl)) << "IPv4 header checksum";
        EXPECT_EQ(hex({ri + 12, 4}), hex({e.src_addr ? e.src_addr : qi + 16, 4}))
                << "source address";
        EXPECT_EQ(hex({ri + 16, 4}), hex({e.dst_addr ? e.dst_addr : qi + 12, 4}))
                << "destination address";

    } else {
        ASSERT_EQ(r.ip_version, 6);
        uint32_t w0 = rd32(ri);
        uint32_t q0 = rd32(qi);
        uint32_t tc_q = q0 >> 20 & 0xff;
        uint32_t tc = expected_ds(e.dscp, static_cast<uint8_t>(tc_q));
        EXPECT_EQ(w0 >> 28, 6u) << "version";
        EXPECT_EQ(w0 >> 20 & 0xff, tc) << "Traffic Class";
        EXPECT_EQ(w0 & 0xfffff, q0 & 0xfffff) << "Flow Label";
        EXPECT_EQ(rd16(ri + 4), 8 + e.payload_len) << "Payload Length";
        EXPECT_EQ(ri[6], qi[6]) << "Next Header";
        EXPECT_EQ(ri[7], 255) << "Hop Limit";
        EXPECT_EQ(hex({ri + 8, 16}), hex({e.src_addr ? e.src_addr : qi + 24, 16}))
                << "source address";
        EXPECT_EQ(hex({ri + 24, 16}), hex({e.dst_addr ? e.dst_addr : qi + 8, 16}))
                << "destination address";
    }

    const uint8_t* qu = req.data() + q.l4;
    const uint8_t* ru = f + r.l4;
    EXPECT_EQ(rd16(ru), rd16(qu + 2)) << "source port";
    EXPECT_EQ(rd16(ru + 2), rd16(qu)) << "destination port";
    EXPECT_EQ(rd16(ru + 6), ref_udp_checksum(r.ip_version, ri, ru, r.udp_len)) << "UDP checksum";

    // Test packet (RFC 5357 §4.2.1; RFC 8762 §4.3.1 and RFC 8972 §3 for STAMP).
    const uint8_t* qp = qu + 8;
    const uint8_t* rp = ru + 8;
    const std::size_t qlen = q.udp_len - 8;
    EXPECT_EQ(rd32(rp + 0), e.stateful ? e.reflector_seq : rd32(qp)) << "Sequence Number";
    const uint64_t t3 = e.ptp ? ref_ptp(e.t3_ns, e.tai_utc_offset_s) : ref_ntp(e.t3_ns);
    const uint64_t t2 = e.ptp ? ref_ptp(e.t2_ns, e.tai_utc_offset_s) : ref_ntp(e.t2_ns);
    EXPECT_EQ(rd64(rp + 4), t3) << "Timestamp (T3)";
    uint16_t err = static_cast<uint16_t>((e.our_error & ~0x4000u) | (e.ptp ? 0x4000u : 0u));
    EXPECT_EQ(rd16(rp + 12), err) << "Error Estimate";
    // A STAMP request shorter than 44 octets is a TWAMP Light sender's: no SSID (RFC 8762 §4.6).
    const bool stamp_short = e.stamp && qlen < 44;
    EXPECT_EQ(rd16(rp + 14), e.stamp && !stamp_short ? rd16(qp + 14) : 0)
            << (e.stamp ? "SSID" : "MBZ");
    EXPECT_EQ(rd64(rp + 16), t2) << "Receive Timestamp (T2)";
    EXPECT_EQ(rd32(rp + 24), rd32(qp)) << "Sender Sequence Number";
    EXPECT_EQ(rd64(rp + 28), rd64(qp + 4)) << "Sender Timestamp";
    EXPECT_EQ(rd16(rp + 36), rd16(qp + 12)) << "Sender Error Estimate";
    EXPECT_EQ(rd16(rp + 38), 0) << "MBZ";
    const uint8_t ttl = q.ip_version == 4 ? qi[8] : qi[7];
    EXPECT_EQ(rp[40], ttl) << "Sender TTL";
    if (e.stamp) {
        EXPECT_EQ(hex({rp + 41, 3}), "000000") << "STAMP MBZ after Sender TTL";
        std::span<const uint8_t> want =
                e.tlv_area ? std::span<const uint8_t>(*e.tlv_area)
                           : std::span<const uint8_t>(qp + 44, qlen > 44 ? qlen - 44 : 0);
        EXPECT_EQ(hex({rp + 44, e.payload_len - 44}), hex(want)) << "TLV area";
    } else {
        // RFC 5357 §4.2.1: the sender's padding (from octet 14) is re-used, truncated by its
        // highest-numbered octets: reply octet 41 + i is request octet 14 + i. With RFC 6038
        // symmetrical size the sender's padding starts at 41 and stays in place. A request
        // shorter than 41 grows with zeros (and then has no padding left to return).
        bytes want;
        const std::size_t from = e.symmetrical ? 41 : 14;
        for (std::size_t i = 41; i < e.payload_len; ++i) {
            const std::size_t k = from + (i - 41);
            want.push_back(k < qlen ? qp[k] : 0);
        }
        EXPECT_EQ(hex({rp + 41, e.payload_len - 41}), hex(want)) << "padding";
    }
}

} // namespace twamp::test
