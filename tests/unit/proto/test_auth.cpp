// Authenticated and encrypted test packets (include/twamp/proto/auth.hpp): request octets ->
// reply octets against known answers from an independent implementation
// (gen_auth_vectors.py: python3 cryptography + hmac/hashlib), and every refusal: wrong key,
// tampered, truncated, no key; a replayed packet is answered again (stateless rules).
#include <array>
#include <cstring>
#include <span>
#include <vector>

#include <gtest/gtest.h>

#include "auth_vectors.hpp"
#include "test_util.hpp"

#include "twamp/crypto/crypto.hpp"
#include "twamp/proto/auth.hpp"
#include "twamp/proto/reflect.hpp"
#include "twamp/proto/tlv.hpp"

namespace twamp::test {
namespace {

namespace av = auth_vectors;
using proto::auth_mode;
using proto::drop_reason;

template<std::size_t N>
bytes B(const uint8_t (&a)[N]) {
    return bytes(a, a + N);
}

struct keyring {
    crypto::test_keys twamp =
            crypto::derive_test_keys(std::span<const uint8_t, 16>(av::aes_session_key),
                                     std::span<const uint8_t, 32>(av::hmac_session_key),
                                     std::span<const uint8_t, 16>(av::sid));
    crypto::hmac_key stamp{crypto::hash::sha256,
                           std::span<const uint8_t>(av::stamp_key, sizeof(av::stamp_key))};
    crypto::hmac_key other{crypto::hash::sha256, std::span<const uint8_t>(av::sid, 16)};
    proto::auth_keys twamp_keys{&twamp.aes, &twamp.hmac, nullptr, 0};
    proto::auth_keys stamp_keys{nullptr, &stamp, nullptr, 0};
};

proto::reflect_params params() {
    proto::reflect_params p;
    p.stateful = false;
    p.t2_ns = av::t2_unix_s * 1'000'000'000ULL;
    p.our_error = {true, false, 0, 1}; // 0x8001
    return p;
}

struct outcome {
    proto::reflect_result res;
    bytes frame; // the buffer after reflect(), cut to the reply's length
};

outcome run(const bytes& payload, auth_mode mode, const proto::auth_keys* keys,
            proto::test_mode tm = proto::test_mode::twamp_light, bool sym = false,
            int version = 4) {
    frame_spec s = version == 4 ? v4_spec() : v6_spec();
    s.ttl = av::ttl;
    s.payload = payload;
    bytes f = build(s);
    const std::size_t n = f.size();
    f.resize(2048, 0xee); // tailroom
    proto::reflect_policy pol;
    pol.mode = tm;
    pol.auth = mode;
    pol.keys = keys;
    pol.symmetrical_size = sym;
    outcome o;
    o.res = proto::reflect(std::span<uint8_t>(f), n, pol, params(),
                           av::t3_unix_s * 1'000'000'000ULL);
    if (o.res.v == proto::verdict::reflect) {
        f.resize(o.res.reply.len);
    }
    o.frame = f;
    return o;
}

// The reply's UDP payload, its checksums verified against the reference sums.
bytes reply_payload(const outcome& o) {
    const layers l = locate(o.frame.data());
    const uint8_t* ip = o.frame.data() + l.l3;
    if (l.ip_version == 4) {
        EXPECT_EQ(ref_ipv4_header_checksum(ip, 20), rd16(ip + 10)) << "IPv4 header checksum";
        EXPECT_EQ(ip[8], 255);
    }
    EXPECT_EQ(ref_udp_checksum(l.ip_version, ip, o.frame.data() + l.l4, l.udp_len),
              rd16(o.frame.data() + l.l4 + 6))
            << "UDP checksum";
    return bytes(o.frame.begin() + static_cast<std::ptrdiff_t>(l.payload()),
                 o.frame.begin() + static_cast<std::ptrdiff_t>(l.l4 + l.udp_len));
}

TEST(AuthKeys, TestSessionKeysFromSessionKeysAndSid) {
    // RFC 4656 §4.1.2 as perfSONAR derives them (crypto.hpp derive_test_keys).
    uint8_t a[16], h[32];
    crypto::derive_test_key_bytes(std::span<const uint8_t, 16>(av::aes_session_key),
                                  std::span<const uint8_t, 32>(av::hmac_session_key),
                                  std::span<const uint8_t, 16>(av::sid), a, h);
    EXPECT_EQ(hex(bytes(a, a + 16)), hex(B(av::test_aes_key)));
    EXPECT_EQ(hex(bytes(h, h + 32)), hex(B(av::test_hmac_key)));
}

struct twamp_case {
    const char* name;
    auth_mode mode;
    const uint8_t* req;
    std::size_t req_len;
    const uint8_t* reply;
    std::size_t reply_len;
};

#define TWAMP_CASE(m, mode, n)                                                                     \
    twamp_case {                                                                                   \
#m "_" #n, mode, av::twamp_##m##_req_##n, sizeof(av::twamp_##m##_req_##n),                 \
                av::twamp_##m##_reply_##n, sizeof(av::twamp_##m##_reply_##n)                       \
    }

TEST(AuthTwamp, KnownAnswers) {
    // RFC 5357 §4.1.2/§4.2.1 (erratum 5045: 112 octets), perfSONAR run_reflector: padding
    // re-used from octet 48 to octet 112, truncated by 64 octets; 0, 16 and 152 octets of it.
    keyring k;
    const twamp_case cases[] = {
            TWAMP_CASE(auth, auth_mode::twamp_authenticated, 0),
            TWAMP_CASE(auth, auth_mode::twamp_authenticated, 16),
            TWAMP_CASE(auth, auth_mode::twamp_authenticated, 152),
            TWAMP_CASE(enc, auth_mode::twamp_encrypted, 0),
            TWAMP_CASE(enc, auth_mode::twamp_encrypted, 16),
            TWAMP_CASE(enc, auth_mode::twamp_encrypted, 152),
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        for (int v : {4, 6}) {
            const outcome o = run(bytes(c.req, c.req + c.req_len), c.mode, &k.twamp_keys,
                                  proto::test_mode::twamp_light, false, v);
            ASSERT_EQ(o.res.v, proto::verdict::reflect) << proto::to_string(o.res.reason);
            EXPECT_EQ(hex(reply_payload(o)), hex(bytes(c.reply, c.reply + c.reply_len)));
        }
    }
}

TEST(AuthTwamp, RefusesWrongKeyTamperedTruncatedAndKeyless) {
    keyring k;
    // Another session's keys: the HMAC over the decrypted first block fails.
    crypto::test_keys other =
            crypto::derive_test_keys(std::span<const uint8_t, 16>(av::hmac_session_key + 16, 16),
                                     std::span<const uint8_t, 32>(av::hmac_session_key),
                                     std::span<const uint8_t, 16>(av::sid));
    proto::auth_keys wrong{&other.aes, &other.hmac, nullptr, 0};
    for (auth_mode m : {auth_mode::twamp_authenticated, auth_mode::twamp_encrypted}) {
        const bytes req = m == auth_mode::twamp_authenticated ? B(av::twamp_auth_req_16)
                                                              : B(av::twamp_enc_req_16);
        EXPECT_EQ(run(req, m, &wrong).res.reason, drop_reason::hmac_failed);
        // A ciphertext bit of block 0 (Sequence Number) flipped.
        bytes t = req;
        t[2] ^= 0x01;
        EXPECT_EQ(run(t, m, &k.twamp_keys).res.reason, drop_reason::hmac_failed);
        // The HMAC itself flipped.
        t = req;
        t[40] ^= 0x80;
        EXPECT_EQ(run(t, m, &k.twamp_keys).res.reason, drop_reason::hmac_failed);
        // Shorter than the 48-octet authenticated sender layout.
        EXPECT_EQ(run(bytes(req.begin(), req.begin() + 47), m, &k.twamp_keys).res.reason,
                  drop_reason::auth_truncated);
        EXPECT_EQ(run(req, m, nullptr).res.reason, drop_reason::no_key);
    }
    // Encrypted mode covers the Timestamp block: a flipped ciphertext bit there fails too.
    bytes t = B(av::twamp_enc_req_16);
    t[20] ^= 0x04;
    EXPECT_EQ(run(t, auth_mode::twamp_encrypted, &k.twamp_keys).res.reason,
              drop_reason::hmac_failed);
    // Authenticated mode (perfSONAR): the HMAC covers block 0 only, the clear Timestamp is not
    // protected, the reply states what arrived.
    t = B(av::twamp_auth_req_16);
    t[20] ^= 0x04;
    EXPECT_EQ(run(t, auth_mode::twamp_authenticated, &k.twamp_keys).res.v, proto::verdict::reflect);
}

TEST(AuthTwamp, NoTailroomForTheReplyBase) {
    keyring k;
    frame_spec s = v4_spec();
    s.payload = B(av::twamp_auth_req_0);
    bytes f = build(s);
    const std::size_t n = f.size(); // 14 + 20 + 8 + 48: no room to grow to 112
    proto::reflect_policy pol;
    pol.auth = auth_mode::twamp_authenticated;
    pol.keys = &k.twamp_keys;
    const auto res = proto::reflect(std::span<uint8_t>(f), n, pol, params(), 0);
    EXPECT_EQ(res.reason, drop_reason::no_tailroom);
}

TEST(AuthTwamp, FailedRequestWithIpv4OptionsIsLeftUntouched) {
    // fuzz_auth: a request with IPv4 options that failed its HMAC was dropped after the options
    // were stripped (a drop must leave the frame as received); a good one is still answered.
    keyring k;
    for (bool good : {false, true}) {
        frame_spec s = v4_spec();
        s.ttl = av::ttl;
        s.ip_options = bytes{1, 1, 1, 0}; // NOP NOP NOP EOL
        s.payload = B(av::twamp_auth_req_16);
        if (!good) {
            s.payload[40] ^= 1; // the HMAC
        }
        bytes f = build(s);
        const std::size_t n = f.size();
        f.resize(2048, 0xee);
        const bytes before = f;
        proto::reflect_policy pol;
        pol.auth = auth_mode::twamp_authenticated;
        pol.keys = &k.twamp_keys;
        const auto res = proto::reflect(std::span<uint8_t>(f), n, pol, params(), 0);
        if (good) {
            EXPECT_EQ(res.v, proto::verdict::reflect) << proto::to_string(res.reason);
        } else {
            EXPECT_EQ(res.reason, drop_reason::hmac_failed);
            EXPECT_EQ(hex(f), hex(before));
        }
    }
}

TEST(AuthTwamp, ReplayedRequestIsAnsweredAgain) {
    // The reflector keeps no per-packet replay state (RFC 5357 has none for the reflector; the
    // Session-Sender matches replies by its Sequence Number): the same octets twice, two
    // identical replies.
    keyring k;
    const outcome a = run(B(av::twamp_enc_req_16), auth_mode::twamp_encrypted, &k.twamp_keys);
    const outcome b = run(B(av::twamp_enc_req_16), auth_mode::twamp_encrypted, &k.twamp_keys);
    ASSERT_EQ(a.res.v, proto::verdict::reflect);
    ASSERT_EQ(b.res.v, proto::verdict::reflect);
    // Each against the independent reference (gen_auth_vectors.py), not only each other.
    EXPECT_EQ(hex(reply_payload(a)), hex(B(av::twamp_enc_reply_16)));
    EXPECT_EQ(hex(reply_payload(b)), hex(B(av::twamp_enc_reply_16)));
    EXPECT_EQ(hex(a.frame), hex(b.frame));
}

TEST(AuthStamp, KnownAnswers) {
    keyring k;
    const proto::test_mode st = proto::test_mode::stamp;
    outcome o = run(B(av::stamp_req), auth_mode::stamp_authenticated, &k.stamp_keys, st);
    ASSERT_EQ(o.res.v, proto::verdict::reflect) << proto::to_string(o.res.reason);
    EXPECT_EQ(hex(reply_payload(o)), hex(B(av::stamp_reply)));
    o = run(B(av::stamp_hmac_tlv_req), auth_mode::stamp_authenticated, &k.stamp_keys, st, false, 6);
    ASSERT_EQ(o.res.v, proto::verdict::reflect) << proto::to_string(o.res.reason);
    EXPECT_EQ(hex(reply_payload(o)), hex(B(av::stamp_hmac_tlv_reply)));
    // A bad HMAC TLV: the reply is still sent, every TLV with I (RFC 8972 §4.8).
    o = run(B(av::stamp_bad_hmac_tlv_req), auth_mode::stamp_authenticated, &k.stamp_keys, st);
    ASSERT_EQ(o.res.v, proto::verdict::reflect) << proto::to_string(o.res.reason);
    EXPECT_EQ(hex(reply_payload(o)), hex(B(av::stamp_bad_hmac_tlv_reply)));
}

TEST(AuthStamp, PerSsidKeyOverridesTheDefault) {
    keyring k;
    const proto::stamp_ssid_key table[] = {{0x1000, &k.other}, {0x1234, &k.stamp}};
    proto::auth_keys keys{nullptr, &k.other, table, 2};
    EXPECT_EQ(keys.for_ssid(0x1234), &k.stamp);
    EXPECT_EQ(keys.for_ssid(0x1000), &k.other);
    EXPECT_EQ(keys.for_ssid(0x0001), &k.other);
    outcome o =
            run(B(av::stamp_req), auth_mode::stamp_authenticated, &keys, proto::test_mode::stamp);
    ASSERT_EQ(o.res.v, proto::verdict::reflect);
    EXPECT_EQ(hex(reply_payload(o)), hex(B(av::stamp_reply)));
    // The HMAC TLV is checked and answered with the SSID's key too (the authenticated layout's
    // SSID, octets 26..27).
    o = run(B(av::stamp_hmac_tlv_req), auth_mode::stamp_authenticated, &keys,
            proto::test_mode::stamp);
    ASSERT_EQ(o.res.v, proto::verdict::reflect);
    EXPECT_EQ(hex(reply_payload(o)), hex(B(av::stamp_hmac_tlv_reply)));
    // Only the SSID's key: a default key alone is the wrong one.
    proto::auth_keys only_default{nullptr, &k.other, nullptr, 0};
    EXPECT_EQ(run(B(av::stamp_req), auth_mode::stamp_authenticated, &only_default,
                  proto::test_mode::stamp)
                      .res.reason,
              drop_reason::hmac_failed);
    proto::auth_keys none{nullptr, nullptr, table, 1}; // SSID 0x1234 has no key
    EXPECT_EQ(run(B(av::stamp_req), auth_mode::stamp_authenticated, &none, proto::test_mode::stamp)
                      .res.reason,
              drop_reason::no_key);
}

TEST(AuthStamp, RefusesTamperedTruncatedAndAnswersReplays) {
    keyring k;
    const proto::test_mode st = proto::test_mode::stamp;
    for (std::size_t at :
         {std::size_t{0}, std::size_t{17}, std::size_t{27}, std::size_t{60}, std::size_t{100}}) {
        bytes t = B(av::stamp_req);
        t[at] ^= 0x10; // RFC 8762 §4.4: the HMAC covers the 96 octets before it
        EXPECT_EQ(run(t, auth_mode::stamp_authenticated, &k.stamp_keys, st).res.reason,
                  drop_reason::hmac_failed)
                << at;
    }
    const bytes req = B(av::stamp_req);
    EXPECT_EQ(run(bytes(req.begin(), req.begin() + 111), auth_mode::stamp_authenticated,
                  &k.stamp_keys, st)
                      .res.reason,
              drop_reason::auth_truncated);
    // An unauthenticated 44-octet request to an authenticated reflector.
    EXPECT_EQ(run(stamp_request(1, 2, 3, 4), auth_mode::stamp_authenticated, &k.stamp_keys, st)
                      .res.reason,
              drop_reason::auth_truncated);
    // Replayed: answered again, identically (stateless; a stateful reflector numbers it as
    // the next reply of the session, RFC 8762 §4.3.2, and counts it as a duplicate of the
    // sender's Sequence Number).
    EXPECT_EQ(hex(run(req, auth_mode::stamp_authenticated, &k.stamp_keys, st).frame),
              hex(run(req, auth_mode::stamp_authenticated, &k.stamp_keys, st).frame));
}

TEST(AuthStamp, HmacTlvRules) {
    // RFC 8972 §4.8 and issue 17 item 3: not last = failed; missing where required = failed;
    // the reply is sent with I on every TLV, the Values copied.
    keyring k;
    const proto::test_mode st = proto::test_mode::stamp;
    // HMAC TLV (good HMAC) followed by a Timestamp Information TLV: not last.
    bytes req = B(av::stamp_hmac_tlv_req);
    const bytes tsi = tlv(0x80, 3, bytes(4, 0));
    req.insert(req.end(), tsi.begin(), tsi.end());
    outcome o = run(req, auth_mode::stamp_authenticated, &k.stamp_keys, st);
    ASSERT_EQ(o.res.v, proto::verdict::reflect);
    bytes p = reply_payload(o);
    EXPECT_EQ(p[112], proto::tlv_flag_i);
    EXPECT_EQ(p[120], proto::tlv_flag_i);
    EXPECT_EQ(p[140], proto::tlv_flag_i);
    EXPECT_EQ(hex(bytes(p.begin() + 124, p.begin() + 140)),
              hex(bytes(req.begin() + 124, req.begin() + 140))); // HMAC copied
    // Extra Padding after the HMAC TLV is allowed.
    req = B(av::stamp_hmac_tlv_req);
    const bytes pad = tlv(0x80, 1, bytes(4, 0x55));
    req.insert(req.end(), pad.begin(), pad.end());
    o = run(req, auth_mode::stamp_authenticated, &k.stamp_keys, st);
    p = reply_payload(o);
    EXPECT_EQ(p[112], 0);
    EXPECT_EQ(p[120], 0);
    EXPECT_EQ(p[140], 0);
    // Authenticated mode, a Timestamp Information TLV and no HMAC TLV: failed.
    bytes base = B(av::stamp_req);
    base.insert(base.end(), tsi.begin(), tsi.end());
    o = run(base, auth_mode::stamp_authenticated, &k.stamp_keys, st);
    p = reply_payload(o);
    EXPECT_EQ(p[112], proto::tlv_flag_i);
    EXPECT_EQ(hex(bytes(p.begin() + 116, p.end())), "00000000"); // not processed: copied
    // Extra Padding alone needs no HMAC TLV.
    base = B(av::stamp_req);
    base.insert(base.end(), pad.begin(), pad.end());
    o = run(base, auth_mode::stamp_authenticated, &k.stamp_keys, st);
    EXPECT_EQ(reply_payload(o)[112], 0);
}

TEST(AuthStamp, HmacTlvThatCannotBeCheckedFails) {
    // An HMAC TLV of the wrong Length, cut off by the end of the packet, or twice: the check
    // fails, I on every TLV, no handler acts on the TLVs before it (review of issue 17: the
    // Timestamp Information TLV was filled in; reproduction RevAuth.HmacTlvBadLengthBypass).
    keyring k;
    const proto::test_mode st = proto::test_mode::stamp;
    const bytes tsi = tlv(0x80, 3, bytes(4, 0));
    const auto with = [&](const bytes& tail) {
        bytes r = B(av::stamp_req);
        r.insert(r.end(), tsi.begin(), tsi.end());
        r.insert(r.end(), tail.begin(), tail.end());
        return r;
    };
    for (const bytes& tail :
         {tlv(0x80, 8, bytes()), tlv(0x80, 8, bytes(8, 0x11)), tlv(0x80, 8, bytes(20, 0x11))}) {
        const outcome o = run(with(tail), auth_mode::stamp_authenticated, &k.stamp_keys, st);
        ASSERT_EQ(o.res.v, proto::verdict::reflect);
        const bytes p = reply_payload(o);
        EXPECT_EQ(p[112], proto::tlv_flag_i) << "TSI flags";
        EXPECT_EQ(hex(bytes(p.begin() + 116, p.begin() + 120)), "00000000")
                << "TSI processed without HMAC";
        EXPECT_EQ(p[120], proto::tlv_flag_i | proto::tlv_flag_m) << "bad-Length HMAC TLV";
    }
    // Cut off by the end: Length 16, 8 octets of Value left.
    bytes cut = with(tlv(0x80, 8, bytes(16, 0x22)));
    cut.resize(cut.size() - 8);
    outcome o = run(cut, auth_mode::stamp_authenticated, &k.stamp_keys, st);
    ASSERT_EQ(o.res.v, proto::verdict::reflect);
    bytes p = reply_payload(o);
    EXPECT_EQ(p[112], proto::tlv_flag_i);
    EXPECT_EQ(hex(bytes(p.begin() + 116, p.begin() + 120)), "00000000");
    // The same on an unauthenticated reflector with a key (the HMAC TLV is optional there, but
    // one that is present must verify).
    proto::auth_keys keys{nullptr, &k.stamp, nullptr, 0};
    bytes open = stamp_request(1, 2, 3, 4);
    open.insert(open.end(), tsi.begin(), tsi.end());
    const bytes bad = tlv(0x80, 8, bytes(8, 0x11));
    open.insert(open.end(), bad.begin(), bad.end());
    o = run(open, auth_mode::none, &keys, st);
    ASSERT_EQ(o.res.v, proto::verdict::reflect);
    p = reply_payload(o);
    EXPECT_EQ(p[44], proto::tlv_flag_i);
    EXPECT_EQ(hex(bytes(p.begin() + 48, p.begin() + 52)), "00000000");
    // Twice (a good one, then a second): the second is a TLV after the HMAC TLV.
    bytes twice = B(av::stamp_hmac_tlv_req);
    const bytes second(twice.end() - 20, twice.end());
    twice.insert(twice.end(), second.begin(), second.end());
    o = run(twice, auth_mode::stamp_authenticated, &k.stamp_keys, st);
    ASSERT_EQ(o.res.v, proto::verdict::reflect);
    p = reply_payload(o);
    for (std::size_t at = 112; at < p.size(); at += 4 + rd16(p.data() + at + 2)) {
        EXPECT_EQ(p[at] & proto::tlv_flag_i, proto::tlv_flag_i) << at;
    }
}

TEST(AuthStamp, UnauthenticatedReflectorWithKeyAnswersTheHmacTlv) {
    keyring k;
    proto::auth_keys keys{nullptr, &k.stamp, nullptr, 0};
    outcome o =
            run(B(av::unauth_stamp_hmac_tlv_req), auth_mode::none, &keys, proto::test_mode::stamp);
    ASSERT_EQ(o.res.v, proto::verdict::reflect) << proto::to_string(o.res.reason);
    EXPECT_EQ(hex(reply_payload(o)), hex(B(av::unauth_stamp_hmac_tlv_reply)));
    // Wrong HMAC: I on both TLVs, still answered; the base is unauthenticated.
    bytes bad = B(av::unauth_stamp_hmac_tlv_req);
    bad[bad.size() - 1] ^= 1;
    o = run(bad, auth_mode::none, &keys, proto::test_mode::stamp);
    ASSERT_EQ(o.res.v, proto::verdict::reflect);
    const bytes p = reply_payload(o);
    EXPECT_EQ(p[44], proto::tlv_flag_i);
    EXPECT_EQ(p[52], proto::tlv_flag_i);
    // Without a key the HMAC TLV cannot be checked: U, echoed (as before this reflector knew it).
    o = run(B(av::unauth_stamp_hmac_tlv_req), auth_mode::none, nullptr, proto::test_mode::stamp);
    ASSERT_EQ(o.res.v, proto::verdict::reflect);
    EXPECT_EQ(reply_payload(o)[52], proto::tlv_flag_u);
}

TEST(AuthFinish, OffloadedChecksumLeavesThePseudoHeaderSum) {
    keyring k;
    frame_spec s = v4_spec();
    s.payload = B(av::twamp_enc_req_16);
    bytes f = build(s);
    const std::size_t n = f.size();
    f.resize(2048);
    proto::reflect_policy pol;
    pol.auth = auth_mode::twamp_encrypted;
    pol.keys = &k.twamp_keys;
    proto::reflect_params p = params();
    p.l4_cksum_offload = true;
    proto::auth_finish_keys fk;
    p.auth_out = &fk;
    const proto::parsed_frame pf = proto::parse_frame(std::span<const uint8_t>(f.data(), n));
    const auto res = proto::reflect_prepare(std::span<uint8_t>(f), pf, pol, p);
    ASSERT_EQ(res.v, proto::verdict::reflect);
    EXPECT_TRUE(res.reply.offloaded);
    EXPECT_EQ(res.reply.auth, proto::auth_todo::twamp_cbc);
    const uint16_t c = rd16(f.data() + res.reply.csum_off);
    proto::reflect_finish(f.data(), res.reply, av::t3_unix_s * 1'000'000'000ULL, 37);
    proto::auth_finish(f.data(), res.reply, fk);
    EXPECT_EQ(rd16(f.data() + res.reply.csum_off), c);
    const std::size_t pl = res.reply.csum_off + 2;
    EXPECT_EQ(hex(bytes(f.begin() + static_cast<std::ptrdiff_t>(pl),
                        f.begin() + static_cast<std::ptrdiff_t>(pl + 112))),
              hex(bytes(av::twamp_enc_reply_16, av::twamp_enc_reply_16 + 112)));
}

} // namespace
} // namespace twamp::test
