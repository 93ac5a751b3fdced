// twamp-ping's authenticated test packets (issue 17): TWAMP-Test authenticated and encrypted
// requests and replies, authenticated STAMP and the HMAC TLV, against known answers from an
// independent implementation (tests/integration/auth_ref.py: Debian's python3-cryptography and
// hashlib/hmac, written from the RFCs and perfSONAR's owamp). The constants below are the
// output of
//
//     /usr/bin/python3 tests/integration/auth_ref_vectors.py --cpp
//
// (inputs: the top of that file), never of this project's C++.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "twamp/sender/auth.hpp"
#include "twamp/sender/matcher.hpp"
#include "twamp/sender/options.hpp"
#include "twamp/sender/packet.hpp"
#include "twamp/sender/tlv.hpp"

namespace {

using namespace twamp::sender;
using bytes = std::vector<uint8_t>;

// ---- auth_ref_vectors.py --cpp ----
constexpr std::string_view aes_session_key = "202122232425262728292a2b2c2d2e2f";
constexpr std::string_view hmac_session_key =
        "303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f";
constexpr std::string_view sid = "707172737475767778797a7b7c7d7e7f";
constexpr std::string_view test_aes_key = "99c70c080edf9040cdce3fb689407af0";
constexpr std::string_view test_hmac_key =
        "2603726068e6e8e302e20d8e2bd808e5dfcca50002e3e450beeca88d5ab91b0e";
constexpr std::string_view twamp_sender_auth =
        "df696d3be37ff7e8ce369afe732676efe8e4a1b5400000008001000000000000af4040e479b6ad53607c6789"
        "d391bdb7";
constexpr std::string_view twamp_sender_auth_pad8 =
        "8cdbe5c7507894d244c49aa78d6a802ae8e4a1b5400000008001000000000000537bd2cc15fd14597c4bef1a"
        "82ea48150000000000000000";
constexpr std::string_view twamp_reflector_auth =
        "309d88e9dc657d7625d80b34bc7de058e8e4a1b5402000008001000000000000e8e4a1b54010000000000000"
        "0000000000000001000000000000000000000000e8e4a1b5400000008001000000000000ff00000000000000"
        "00000000000000004b39324e0e5df8ab68f5bac8859a7840";
constexpr std::string_view twamp_sender_enc =
        "df696d3be37ff7e8ce369afe732676efb1c2692d8f8558c674027d2a6d9e7d99d9edd79489b8a7766b9e1306"
        "cbe36410";
constexpr std::string_view twamp_sender_enc_pad8 =
        "8cdbe5c7507894d244c49aa78d6a802a69f76ff19f9578556e76ef0f94376a71fe6d4a5edfb052591f6f4a6f"
        "b04bc0290000000000000000";
constexpr std::string_view twamp_reflector_enc =
        "309d88e9dc657d7625d80b34bc7de058618d73bf85c404971640a8804407be20b15a4d9bff8bd82919c35e52"
        "dc5c4733e268a2f8f2eccf02873cf91528af1e8de66960645d8f0f5cf0795b8b9be8460babb27b2f88df011b"
        "5a3cf62d36a0b2788827a440476e69aaaf65acd7d81c96b8";
constexpr std::string_view stamp_key =
        "7374616d702d686d61632d6b65792d30313233343536373839616263646566";
constexpr std::string_view stamp_sender_auth =
        "00000001000000000000000000000000e8e4a1b5400000008001123400000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000006cdc38ccc6f27887ac7ea878432f51c6";
constexpr std::string_view stamp_reflector_auth =
        "00000009000000000000000000000000e8e4a1b5402000008001123400000000e8e4a1b54010000000000000"
        "0000000000000001000000000000000000000000e8e4a1b5400000008001000000000000ff00000000000000"
        "000000000000000002f3b862ea3bd648c0b8bcc81da2313c";
constexpr std::string_view stamp_sender_auth_cos_hmac_pad =
        "00000001000000000000000000000000e8e4a1b5400000008001123400000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000006cdc38ccc6f27887ac7ea878432f51c600040004b800000000080010c2f7850e0d79932d"
        "17c0af75605e757e000100080000000000000000";
constexpr std::string_view stamp_sender_auth_cos_hmac_pad_u =
        "00000001000000000000000000000000e8e4a1b5400000008001123400000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000006cdc38ccc6f27887ac7ea878432f51c680040004b80000008008001077dbe3352cd663e3"
        "7875c60e09f42314800100080000000000000000";
constexpr std::string_view stamp_sender_open_cos_hmac =
        "00000001e8e4a1b5400000008001123400000000000000000000000000000000000000000000000000000000"
        "00040004b800000000080010c2f7850e0d79932d17c0af75605e757e";
// The vectors' inputs: TS1 (sender timestamp), TS2 (receive), TS3 (reflector transmit), the
// Error Estimate 0x8001, SSID 0x1234.
constexpr uint64_t ts1 = 0xe8e4a1b540000000ULL;
constexpr uint64_t ts2 = 0xe8e4a1b540100000ULL;
constexpr uint64_t ts3 = 0xe8e4a1b540200000ULL;
constexpr uint16_t errest = 0x8001;
// ---- end of vectors ----

bytes hex(std::string_view h) {
    bytes out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
        out.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    }
    return out;
}

template<std::size_t N>
std::array<uint8_t, N> arr(std::string_view h) {
    const bytes b = hex(h);
    std::array<uint8_t, N> a{};
    EXPECT_EQ(b.size(), N);
    std::copy(b.begin(), b.end(), a.begin());
    return a;
}

twamp_test_keys the_keys() {
    const auto a = arr<16>(aes_session_key);
    const auto h = arr<32>(hmac_session_key);
    const auto s = arr<16>(sid);
    return make_twamp_test_keys(a, h, s);
}

twamp::proto::error_estimate the_errest() {
    return twamp::proto::error_estimate::decode(errest);
}

// The plaintext of an authenticated TWAMP request as twamp-ping builds it.
bytes plain_request(uint32_t seq, std::size_t size) {
    bytes p(size);
    init_request(p, mode::twamp, 0, {}, true);
    stamp_request(p, seq, ts1, the_errest(), true);
    return p;
}

// The plaintext of the vectors' reflector packet (seq 5, T3 TS3, T2 TS2, sender seq 1, TS1,
// TTL 255), auth_off offsets.
bytes plain_reply() {
    bytes p(auth_off::len, 0);
    auto be = [&](std::size_t at, uint64_t v, int n) {
        for (int i = 0; i < n; ++i) {
            p[at + i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
        }
    };
    be(auth_off::seq, 5, 4);
    be(auth_off::timestamp, ts3, 8);
    be(auth_off::error_estimate, errest, 2);
    be(auth_off::receive_timestamp, ts2, 8);
    be(auth_off::sender_seq, 1, 4);
    be(auth_off::sender_timestamp, ts1, 8);
    be(auth_off::sender_error_estimate, errest, 2);
    p[auth_off::sender_ttl] = 255;
    return p;
}

TEST(SenderAuth, TestSessionKeysAreDerivedWithTheSidAsTheKey) {
    std::array<uint8_t, 16> a{};
    std::array<uint8_t, 32> h{};
    twamp_test_key_bytes(arr<16>(aes_session_key), arr<32>(hmac_session_key), arr<16>(sid), a, h);
    EXPECT_EQ(bytes(a.begin(), a.end()), hex(test_aes_key));
    EXPECT_EQ(bytes(h.begin(), h.end()), hex(test_hmac_key));
}

TEST(SenderAuth, AuthenticatedAndEncryptedRequestsMatchTheReference) {
    const auto k = the_keys();
    bytes p = plain_request(1, 48);
    seal_twamp_request(p, false, k);
    EXPECT_EQ(p, hex(twamp_sender_auth));
    p = plain_request(1, 48);
    seal_twamp_request(p, true, k);
    EXPECT_EQ(p, hex(twamp_sender_enc));
    // Padding is never encrypted or covered.
    p = plain_request(2, 56);
    seal_twamp_request(p, false, k);
    EXPECT_EQ(p, hex(twamp_sender_auth_pad8));
    p = plain_request(2, 56);
    seal_twamp_request(p, true, k);
    EXPECT_EQ(p, hex(twamp_sender_enc_pad8));
}

TEST(SenderAuth, RequestsOpenAgainAndATamperedOneDoesNot) {
    const auto k = the_keys();
    for (const bool enc : {false, true}) {
        const bytes wire = hex(enc ? twamp_sender_enc : twamp_sender_auth);
        std::array<uint8_t, auth_off::twamp_sender_len> plain{};
        ASSERT_TRUE(open_twamp_request(wire, enc, k, plain)) << enc;
        const bytes want = plain_request(1, 48);
        EXPECT_EQ(bytes(plain.begin(), plain.begin() + 32), bytes(want.begin(), want.begin() + 32));
        for (const std::size_t at : {std::size_t{3}, std::size_t{40}}) { // Sequence Number, HMAC
            std::array<uint8_t, 48> bad{};
            std::copy(wire.begin(), wire.end(), bad.begin());
            bad[at] ^= 1;
            EXPECT_FALSE(open_twamp_request(bad, enc, k, plain)) << enc << " " << at;
        }
    }
}

TEST(SenderAuth, RepliesMatchTheReferenceBothWays) {
    const auto k = the_keys();
    bytes p = plain_reply();
    seal_twamp_reply(p, false, k);
    EXPECT_EQ(p, hex(twamp_reflector_auth));
    p = plain_reply();
    seal_twamp_reply(p, true, k);
    EXPECT_EQ(p, hex(twamp_reflector_enc));

    for (const bool enc : {false, true}) {
        std::array<uint8_t, auth_off::len> plain{};
        ASSERT_TRUE(open_twamp_reply(hex(enc ? twamp_reflector_enc : twamp_reflector_auth), enc, k,
                                     plain));
        const auto r = parse_reply(plain, mode::twamp, nullptr, true);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->seq, 5u);
        EXPECT_EQ(r->t3_wire, ts3);
        EXPECT_EQ(r->t2_wire, ts2);
        EXPECT_EQ(r->sender_seq, 1u);
        EXPECT_EQ(r->sender_timestamp, ts1);
        EXPECT_EQ(r->sender_error, errest);
        EXPECT_EQ(r->sender_ttl, 255);
    }
}

TEST(SenderAuth, WhatEachReplyHmacCovers) {
    const auto k = the_keys();
    std::array<uint8_t, auth_off::len> plain{};
    // Authenticated: only block 0 is covered (perfSONAR's choice, AUTH-FACTS.md item 10): a
    // changed Receive Timestamp still verifies, a changed Sequence Number does not.
    bytes wire = hex(twamp_reflector_auth);
    wire[auth_off::receive_timestamp] ^= 1;
    EXPECT_TRUE(open_twamp_reply(wire, false, k, plain));
    wire = hex(twamp_reflector_auth);
    wire[2] ^= 1;
    EXPECT_FALSE(open_twamp_reply(wire, false, k, plain));
    // Encrypted: all six blocks.
    wire = hex(twamp_reflector_enc);
    wire[auth_off::receive_timestamp] ^= 1;
    EXPECT_FALSE(open_twamp_reply(wire, true, k, plain));
    // The wrong mode or a short reply never verifies.
    EXPECT_FALSE(open_twamp_reply(hex(twamp_reflector_enc), false, k, plain));
    wire = hex(twamp_reflector_auth);
    wire.resize(111);
    EXPECT_FALSE(open_twamp_reply(wire, false, k, plain));
}

twamp::crypto::hmac_key the_stamp_key() {
    return twamp::crypto::hmac_key(twamp::crypto::hash::sha256, hex(stamp_key));
}

TEST(SenderAuth, AuthenticatedStampMatchesTheReference) {
    const auto key = the_stamp_key();
    bytes p(stamp_auth_size);
    init_request(p, mode::stamp, 0x1234, {}, true);
    stamp_request(p, 1, ts1, the_errest(), true);
    seal_stamp(p, key);
    EXPECT_EQ(p, hex(stamp_sender_auth));
    EXPECT_TRUE(verify_stamp(hex(stamp_reflector_auth), key));
    bytes bad = hex(stamp_reflector_auth);
    bad[95] ^= 1; // the last covered octet
    EXPECT_FALSE(verify_stamp(bad, key));
    const twamp::crypto::hmac_key other(twamp::crypto::hash::sha256, hex(test_hmac_key));
    EXPECT_FALSE(verify_stamp(hex(stamp_reflector_auth), other));
}

TEST(SenderAuth, HmacTlvMatchesTheReference) {
    const auto key = the_stamp_key();
    // The reference's request with the HMAC TLV's Value zeroed, sealed again.
    bytes p = hex(stamp_sender_auth_cos_hmac_pad);
    const std::size_t at = stamp_auth_size + 8;
    std::fill(p.begin() + at + 4, p.begin() + at + 20, 0);
    seal_hmac_tlv(p, stamp_auth_size, at, key);
    EXPECT_EQ(p, hex(stamp_sender_auth_cos_hmac_pad));
    EXPECT_EQ(check_hmac_tlv(p, stamp_auth_size, key), hmac_tlv_check::ok);
    p = hex(stamp_sender_open_cos_hmac);
    std::fill(p.begin() + 44 + 8 + 4, p.end(), 0);
    seal_hmac_tlv(p, 44, 44 + 8, key);
    EXPECT_EQ(p, hex(stamp_sender_open_cos_hmac));

    // A changed TLV before it, or the Sequence Number, fails; U set means the peer did not
    // know it; none at all is absent.
    bytes bad = hex(stamp_sender_auth_cos_hmac_pad);
    bad[stamp_auth_size + 4] ^= 4;
    EXPECT_EQ(check_hmac_tlv(bad, stamp_auth_size, key), hmac_tlv_check::failed);
    bad = hex(stamp_sender_auth_cos_hmac_pad);
    bad[3] ^= 1;
    EXPECT_EQ(check_hmac_tlv(bad, stamp_auth_size, key), hmac_tlv_check::failed);
    bad = hex(stamp_sender_auth_cos_hmac_pad);
    bad[at] = 0x80;
    EXPECT_EQ(check_hmac_tlv(bad, stamp_auth_size, key), hmac_tlv_check::flagged);
    EXPECT_EQ(check_hmac_tlv(hex(stamp_sender_auth), stamp_auth_size, key), hmac_tlv_check::absent);
}

TEST(SenderAuth, RequestWithTlvsIsBuiltAsTheReferenceHasIt) {
    // --auth authenticated --ssid 4660 --tlv cos=46 --tlv hmac -s 152
    std::vector<std::string_view> args{
            "--mode",   "stamp",  "--auth", "authenticated", "--key-file", "k",
            "--key-id", "a",      "--ssid", "4660",          "--tlv",      "hmac",
            "--tlv",    "cos=46", "-s",     "152",           "198.18.0.2"};
    const auto pr = parse_args(args);
    ASSERT_TRUE(pr.opts) << pr.error;
    const options& o = *pr.opts;
    EXPECT_TRUE(o.auth_layout());
    EXPECT_TRUE(o.hmac_tlv);
    ASSERT_EQ(o.tlvs.size(), 2u);
    EXPECT_TRUE(o.tlvs[1].hmac); // moved after the others
    bytes p(o.payload_size());
    const std::size_t at = init_request(p, o.mode, o.ssid, o.tlvs, true);
    EXPECT_EQ(at, stamp_auth_size + 8);
    stamp_request(p, 1, ts1, the_errest(), true);
    const auto key = the_stamp_key();
    seal_hmac_tlv(p, o.stamp_base_size(), at, key);
    seal_stamp(p, key);
    EXPECT_EQ(p, hex(stamp_sender_auth_cos_hmac_pad_u));
}

TEST(SenderAuth, MatcherVerifiesAndCountsIntegrityFailures) {
    const auto key = the_stamp_key();
    reply_matcher b(mode::stamp, 0x1234);
    reply_auth a;
    a.stamp = &key;
    a.stamp_base = true;
    b.set_auth(a);
    b.record_send(0, 1, ts1 - 1, 0, false);
    b.record_send(0, 2, ts1, 1, false); // seq 1 went out with TS1: the vector's reply is to it
    bytes bad = hex(stamp_reflector_auth);
    bad[auth_off::receive_timestamp] ^= 1;
    auto m = b.match(bad, true, 10, 37);
    EXPECT_EQ(m.verdict, reply_verdict::integrity);
    EXPECT_EQ(b.integrity_failures(), 1u);
    EXPECT_EQ(b.stats().received(), 0u); // never used
    m = b.match(hex(stamp_reflector_auth), true, 10, 37);
    ASSERT_EQ(m.verdict, reply_verdict::fresh) << (m.why ? m.why : "");
    EXPECT_EQ(m.s.sender_seq, 1u);
    EXPECT_EQ(m.r.t2_wire, ts2);
    EXPECT_EQ(b.integrity_failures(), 1u);
    EXPECT_EQ(b.invalid(), 0u);
    // Too short for the layout: invalid, not an integrity failure.
    m = b.match(bytes(44, 0), true, 10, 37);
    EXPECT_EQ(m.verdict, reply_verdict::invalid);
    EXPECT_EQ(b.integrity_failures(), 1u);
}

TEST(SenderAuth, MatcherDecryptsTwampReplies) {
    const auto k = the_keys();
    for (const bool enc : {false, true}) {
        reply_matcher b(mode::twamp, 0);
        reply_auth a;
        a.twamp = &k;
        a.encrypted = enc;
        b.set_auth(a);
        b.record_send(0, 1, ts1 - 1, 0, false);
        b.record_send(0, 2, ts1, 1, false);
        const bytes wire = hex(enc ? twamp_reflector_enc : twamp_reflector_auth);
        auto m = b.match(wire, true, 10, 37);
        ASSERT_EQ(m.verdict, reply_verdict::fresh) << enc << (m.why ? m.why : "");
        EXPECT_EQ(m.s.reflector_seq, 5u);
        bytes bad = wire;
        bad[0] ^= 0x80;
        m = b.match(bad, true, 10, 37);
        EXPECT_EQ(m.verdict, reply_verdict::integrity) << enc;
        EXPECT_EQ(b.integrity_failures(), 1u);
    }
}

TEST(SenderAuth, MatcherChecksTheReplysHmacTlv) {
    const auto key = the_stamp_key();
    reply_matcher b(mode::stamp, 0x1234);
    reply_auth a;
    a.stamp = &key;
    a.hmac_tlv = true;
    b.set_auth(a);
    b.record_send(0, 1, ts1 - 1, 0, false);
    b.record_send(0, 2, ts1, 1, false);
    // An unauthenticated STAMP reply (44 octets) to seq 1 carrying the reference's TLVs: the
    // HMAC TLV covers the reply's Sequence Number (1 here) and its CoS TLV.
    bytes r(44, 0);
    r[3] = 1;                                               // reflector seq 1
    r[12] = 0x80, r[13] = 0x01, r[14] = 0x12, r[15] = 0x34; // error estimate, SSID
    r[27] = 1;                                              // sender seq 1
    for (int i = 0; i < 8; ++i) {
        r[28 + i] = static_cast<uint8_t>(ts1 >> (56 - 8 * i));
    }
    const bytes tail = hex(stamp_sender_open_cos_hmac);
    r.insert(r.end(), tail.begin() + 44, tail.end());
    auto m = b.match(r, true, 10, 37);
    EXPECT_EQ(m.verdict, reply_verdict::fresh) << (m.why ? m.why : "");
    r[44 + 4] ^= 4; // the CoS TLV changed on the way
    m = b.match(r, true, 10, 37);
    EXPECT_EQ(m.verdict, reply_verdict::integrity);
    r.resize(44); // stripped
    m = b.match(r, true, 10, 37);
    EXPECT_EQ(m.verdict, reply_verdict::integrity);
    EXPECT_EQ(b.integrity_failures(), 2u);
}

TEST(SenderAuthOptions, AuthNeedsAKeyAndAModeThatHasIt) {
    auto err = [](std::vector<std::string_view> a) {
        a.push_back("198.18.0.2");
        return parse_args(a).error;
    };
    EXPECT_NE(err({"--mode", "twamp", "--auth", "encrypted"}).find("--key-file"),
              std::string::npos);
    EXPECT_NE(err({"--auth", "authenticated", "--key-file", "k", "--key-id", "a"})
                      .find("TWAMP Light is unauthenticated"),
              std::string::npos);
    EXPECT_NE(err({"--mode", "stamp", "--auth", "encrypted", "--key-file", "k", "--key-id", "a"})
                      .find("STAMP has no such mode"),
              std::string::npos);
    EXPECT_NE(err({"--mode", "twamp", "--auth", "sideways"}).find("expected open"),
              std::string::npos);
    EXPECT_NE(err({"--mode", "twamp", "--key-file", "k"}).find("--key-file is for"),
              std::string::npos);
    EXPECT_NE(err({"--mode", "stamp", "--tlv", "hmac"}).find("--key-file"), std::string::npos);
    EXPECT_NE(err({"--mode", "stamp", "--tlv", "hmac", "--tlv", "hmac", "--key-file", "k",
                   "--key-id", "a"})
                      .find("once"),
              std::string::npos);
    EXPECT_NE(err({"--mode", "stamp", "--auth", "authenticated", "--key-file", "k", "--key-id", "a",
                   "-s", "113"})
                      .find("112 octets, or 116"),
              std::string::npos);
    EXPECT_NE(err({"--mode", "twamp", "--auth", "authenticated", "--key-file", "k", "--key-id", "a",
                   "-s", "47"})
                      .find("at least 48"),
              std::string::npos);
    EXPECT_NE(err({"--mode", "twamp", "--auth", "mixed", "--key-file", "k", "--key-id",
                   std::string_view("0123456789012345678901234567890123456789012345678901234567890"
                                    "12345678901234567890")})
                      .find("1..80 octets"),
              std::string::npos);
}

TEST(SenderAuthOptions, SizesOfTheAuthenticatedLayouts) {
    auto opts = [](std::vector<std::string_view> a) {
        a.push_back("198.18.0.2");
        auto r = parse_args(a);
        EXPECT_TRUE(r.opts) << r.error;
        return r.opts.value_or(options{});
    };
    const options enc =
            opts({"--mode", "twamp", "--auth", "encrypted", "--key-file", "k", "--key-id", "a"});
    EXPECT_EQ(enc.payload_size(), 112u); // request and reply the same size
    EXPECT_TRUE(enc.auth_layout());
    const options mixed =
            opts({"--mode", "twamp", "--auth", "mixed", "--key-file", "k", "--key-id", "a"});
    EXPECT_FALSE(mixed.auth_layout()); // RFC 5618: unauthenticated test packets
    EXPECT_EQ(mixed.payload_size(), 41u);
    const options st = opts({"--mode", "stamp", "--auth", "authenticated", "--key-file", "k",
                             "--key-id", "a", "--tlv", "cos=10"});
    EXPECT_EQ(st.payload_size(), 120u);
    EXPECT_EQ(st.stamp_base_size(), 112u);
    EXPECT_EQ(min_reply_size(mode::stamp, true), 112u);
    EXPECT_TRUE(valid_request_size(mode::stamp, 116, true));
    EXPECT_FALSE(valid_request_size(mode::stamp, 115, true));
    EXPECT_TRUE(valid_request_size(mode::twamp, 48, true));
    EXPECT_FALSE(valid_request_size(mode::twamp, 47, true));
}

} // namespace
