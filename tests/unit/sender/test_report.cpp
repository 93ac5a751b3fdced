// twamp-ping's reporters on synthetic events: the text lines exactly as users read them, and
// the --json objects with the keys, order and values users and tests/integration parse.
#include <cstdlib>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <stdio.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "twamp/sender/report.hpp"

namespace {

using namespace twamp::sender;

// What a reporter writes for `o` when `drive` feeds it events.
std::string output(const options& o, const std::function<void(reporter&)>& drive,
                   progress_line* progress = nullptr) {
    char* buf = nullptr;
    std::size_t len = 0;
    FILE* f = open_memstream(&buf, &len);
    {
        auto r = make_reporter(o, f, progress);
        drive(*r);
    }
    std::fclose(f);
    std::string s(buf, len);
    std::free(buf);
    return s;
}

options light_options() {
    options o;
    o.host = "198.18.0.2";
    return o;
}

twamp::control::sid_t sid_of(uint8_t first) {
    twamp::control::sid_t s{};
    s[0] = first;
    s[15] = 0x0f;
    return s;
}

run_info light_run(std::size_t octets = 41) {
    run_info i;
    i.target_s = "198.18.0.2:862";
    i.local_s = "198.18.0.1:40000";
    i.octets = octets;
    session_info s;
    s.src_s = i.local_s;
    s.dst_s = i.target_s;
    s.sender_port = 40000;
    s.receiver_port = 862;
    i.sessions.push_back(s);
    return i;
}

run_info twamp_run() {
    run_info i;
    i.target_s = "198.18.0.2:862";
    i.local_s = "198.18.0.1:50000";
    i.server_modes = 1; // unauthenticated
    i.octets = 41;
    for (uint16_t k = 0; k < 2; ++k) {
        session_info s;
        s.sender_port = static_cast<uint16_t>(40000 + k);
        s.receiver_port = static_cast<uint16_t>(64400 + k);
        s.requested_port = k == 0 ? 64404 : 64401; // the first one got another port
        s.src_s = "198.18.0.1:" + std::to_string(s.sender_port);
        s.dst_s = "198.18.0.2:" + std::to_string(s.receiver_port);
        s.sid = sid_of(static_cast<uint8_t>(0xa0 + k));
        i.sessions.push_back(s);
    }
    return i;
}

// One reply: T1 = 1e18 + 1000 ns, forward 50 us, residence 10.4 us, backward 40 us.
reply_event a_reply(bool duplicate = false) {
    reply_event e;
    e.octets = 41;
    e.s.sender_seq = 3;
    e.s.reflector_seq = 2;
    e.s.t1 = 1'000'000'000'000'001'000;
    e.s.t2 = e.s.t1 + 50'000;
    e.s.t3 = e.s.t2 + 10'400;
    e.s.t4 = e.s.t3 + 40'000;
    e.r.sender_ttl = 255;
    e.r.error = twamp::proto::error_estimate{true, false, 0, 1}; // S=1, 2^-32 s
    e.duplicate = duplicate;
    return e;
}

// A summary with every figure set: 3 sent, 2 received, 1 lost forward.
summary a_summary() {
    summary s;
    s.sent = 3;
    s.received = 2;
    s.lost = 1;
    s.loss_pct = 100.0 / 3;
    s.lost_forward = 1;
    s.lost_backward = 0;
    s.duplicates = 1;
    s.reordered = 0;
    s.late = 0;
    auto dist = [](int64_t lo, int64_t hi) {
        distribution d;
        d.n = 2;
        d.min = lo;
        d.max = hi;
        d.avg = static_cast<double>(lo + hi) / 2 + 1.0 / 3; // avg as summarize() leaves it
        d.stddev = static_cast<double>(hi - lo) / 2;
        d.p50 = lo;
        d.p90 = d.p95 = d.p99 = d.p999 = hi;
        d.pdv_p50 = 0;
        d.pdv_p90 = d.pdv_p95 = d.pdv_p99 = d.pdv_p999 = d.pdv_max = hi - lo;
        d.ipdv_n = 1;
        d.ipdv_mean = static_cast<double>(hi - lo);
        d.ipdv_max = hi - lo;
        return d;
    };
    s.rtt = dist(199'906, 399'101);
    s.residence = dist(7'962, 14'141);
    s.forward = dist(189'109, 396'687);
    s.backward = dist(2'414, 16'405);
    s.jitter_forward = 15'937.0625;
    s.jitter_backward = 841.71875;
    s.clocks_synchronized = false;
    return s;
}

run_result one_flow_result(const summary& s) {
    run_result r;
    r.total = s;
    r.sessions = {s};
    r.session_invalid = {0};
    r.duration_ns = 400'601'412;
    return r;
}

// --mode twamp --sessions 2: the first session as a_summary(), the second lost its one packet.
run_result two_session_result() {
    run_result res;
    res.total = a_summary();
    res.sessions = {a_summary(), summary{}};
    res.sessions[1].sent = 1;
    res.sessions[1].lost = 1;
    res.sessions[1].loss_pct = 100;
    res.session_invalid = {0, 0};
    return res;
}

// ---- text ----

TEST(SenderTextReport, HeaderLightAndStamp) {
    options o = light_options();
    EXPECT_EQ(output(o, [](reporter& r) { r.start(light_run()); }),
              "twamp-ping 198.18.0.2:862 (TWAMP Light) from 198.18.0.1:40000: 41 octets, ntp "
              "timestamps, dscp 0, every 1 s\n");
    o.mode = mode::stamp;
    o.ssid = 4660;
    o.timestamp = twamp::proto::ts_format::ptp;
    o.dscp = 46;
    o.paced = true;
    o.interval_s = 1.0 / 2000;
    EXPECT_EQ(output(o, [](reporter& r) { r.start(light_run(44)); }),
              "twamp-ping 198.18.0.2:862 (STAMP) from 198.18.0.1:40000: 44 octets, ptp "
              "timestamps, dscp 46, ssid 4660, 2000 packets/s\n");
}

TEST(SenderTextReport, HeaderTwampNamesEverySession) {
    options o = light_options();
    o.mode = mode::twamp;
    o.interval_s = 0.2;
    const std::string sid0 = twamp::control::sid_to_string(sid_of(0xa0));
    const std::string sid1 = twamp::control::sid_to_string(sid_of(0xa1));
    EXPECT_EQ(output(o, [](reporter& r) { r.start(twamp_run()); }),
              "twamp-ping 198.18.0.2:862 (TWAMP) from 198.18.0.1:50000: modes unauthenticated, 2 "
              "sessions, 41 octets (padding 27), ntp timestamps, dscp 0, every 0.2 s\n"
              "session 1: 198.18.0.1:40000 -> 198.18.0.2:64400 (port 64404 requested), sid " +
                      sid0 +
                      "\n"
                      "session 2: 198.18.0.1:40001 -> 198.18.0.2:64401, sid " +
                      sid1 + "\n");
}

TEST(SenderTextReport, PerPacketLines) {
    options o = light_options();
    o.timeout_s = 0.5;
    auto drive = [](bool local_sync) {
        return [local_sync](reporter& r) {
            run_info i = light_run();
            i.clock_synchronized = local_sync;
            r.start(i);
            r.reply(a_reply());
            reply_event e = a_reply(true);
            e.r.tlvs_unrecognized = 1;
            e.r.tlvs_malformed = true;
            r.reply(e);
            r.late({0, 41, 7, 123'456'789});
            r.lost({0, 8});
            r.invalid({0, 3, "shorter than a TWAMP reply (41 octets)"});
        };
    };
    const std::string header = "twamp-ping 198.18.0.2:862 (TWAMP Light) from 198.18.0.1:40000: "
                               "41 octets, ntp timestamps, dscp 0, every 1 s\n";
    // fwd/bwd only when both clocks are synchronized (ours and the reply's S bit).
    EXPECT_EQ(output(o, drive(false)),
              header + "41 octets from 198.18.0.2:862: seq=3 rseq=2 ttl=255 rtt=0.090 ms res=0.010 "
                       "ms\n"
                       "41 octets from 198.18.0.2:862: seq=3 rseq=2 ttl=255 rtt=0.090 ms res=0.010 "
                       "ms tlv: U M (DUP!)\n"
                       "41 octets from 198.18.0.2:862: seq=7 late (after -W 0.5 s), ignored\n"
                       "no reply for seq=8 within 0.5 s\n"
                       "3 octets from 198.18.0.2:862: invalid reply: shorter than a TWAMP reply "
                       "(41 octets)\n");
    EXPECT_NE(output(o, drive(true)).find("rtt=0.090 ms res=0.010 ms fwd=0.050 ms bwd=0.040 ms\n"),
              std::string::npos);
}

TEST(SenderTextReport, LostNamesTheSessionInTwampMode) {
    options o = light_options();
    o.mode = mode::twamp;
    const std::string out = output(o, [](reporter& r) {
        r.start(twamp_run());
        r.lost({1, 4});
    });
    EXPECT_NE(out.find("\nno reply for seq=4 to 198.18.0.2:64401 within 2 s\n"), std::string::npos)
            << out;
}

TEST(SenderTextReport, Summary) {
    const options o = light_options();
    run_result res = one_flow_result(a_summary());
    res.invalid = 2;
    const std::string out = output(o, [&](reporter& r) {
        r.start(light_run());
        r.finish(res);
    });
    EXPECT_EQ(out.substr(out.find('\n') + 1),
              "\n--- 198.18.0.2:862 TWAMP Light statistics ---\n"
              "3 sent, 2 received, 33.3% loss (forward 1, backward 0), 1 duplicates, 0 reordered, "
              "time 401 ms\n"
              "0 late (counted as lost), 2 invalid replies ignored, 0 send errors, 0 replies with "
              "TLVs flagged U or M\n"
              "round-trip min/avg/max/stddev = 0.200/0.300/0.399/0.100 ms, p50 0.200 ms, p99 "
              "0.399 ms\n"
              "round-trip p90 0.399 ms, p95 0.399 ms, p99.9 0.399 ms (exact)\n"
              "round-trip pdv p50/p90/p99/p99.9/max = 0.000/0.199/0.199/0.199/0.199 ms, ipdv "
              "mean/max 0.199/0.199 ms\n"
              "forward pdv p50/p90/p99/p99.9/max = 0.000/0.208/0.208/0.208/0.208 ms, ipdv mean/max "
              "0.208/0.208 ms\n"
              "backward pdv p50/p90/p99/p99.9/max = 0.000/0.014/0.014/0.014/0.014 ms, ipdv "
              "mean/max 0.014/0.014 ms\n"
              "reflector residence (T3-T2) min/avg/max = 0.008/0.011/0.014 ms\n"
              "forward (T2-T1) min/avg/max = 0.189/0.293/0.397 ms, jitter 0.016 ms\n"
              "backward (T4-T3) min/avg/max = 0.002/0.009/0.016 ms, jitter 0.001 ms\n"
              "(clocks not both synchronized (Error Estimate S bits): forward and backward include "
              "the clock offset; jitter and round trip do not)\n");
}

TEST(SenderTextReport, SummaryNothingBack) {
    const options o = light_options();
    summary s;
    s.sent = 5;
    s.lost = 5;
    s.loss_pct = 100;
    const std::string out = output(o, [&](reporter& r) {
        r.start(light_run());
        r.finish(one_flow_result(s));
    });
    EXPECT_NE(out.find("\n5 sent, 0 received, 100% loss (direction unknown: no reply came back), "
                       "0 duplicates, 0 reordered, time 401 ms\n"),
              std::string::npos)
            << out;
    EXPECT_EQ(out.find("round-trip"), std::string::npos);
}

TEST(SenderTextReport, SummaryPerSessionThenTotal) {
    options o = light_options();
    o.mode = mode::twamp;
    run_result res = two_session_result();
    res.duration_ns = 1'500'000'000;
    const std::string out = output(o, [&](reporter& r) {
        r.start(twamp_run());
        r.finish(res);
    });
    EXPECT_NE(out.find("\n--- 198.18.0.2:862 TWAMP statistics ---\n"
                       "session 1 198.18.0.2:64400: 3 sent, 2 received, 33.3% loss (forward 1, "
                       "backward 0), rtt min/avg/max = 0.200/0.300/0.399 ms\n"
                       "session 2 198.18.0.2:64401: 1 sent, 0 received, 100% loss (direction "
                       "unknown: no reply came back)\n"
                       "total: 3 sent, 2 received, 33.3% loss (forward 1, backward 0), 1 "
                       "duplicates, 0 reordered, time 1500 ms\n"),
              std::string::npos)
            << out;
}

TEST(SenderTextReport, ClearsTheProgressLineBeforeReplies) {
    char* buf = nullptr;
    std::size_t len = 0;
    FILE* err = open_memstream(&buf, &len);
    progress_line p(true, err);
    p.start(0);
    p.update(500'000'000, 10, 9); // not yet a second
    p.update(1'000'000'000, 10, 9);
    const options o = light_options();
    output(
            o,
            [](reporter& r) {
                r.start(light_run());
                r.reply(a_reply());
            },
            &p);
    p.clear(); // nothing shown any more: writes nothing
    std::fclose(err);
    EXPECT_EQ(std::string(buf, len),
              "\r\033[K1 s: 10 sent, 9 received, 10.00% not (yet) back\r\033[K");
    std::free(buf);
}

// The event loop sleeps until next_due(): a disabled line must never be due.
TEST(SenderProgressLine, DisabledIsNeverDue) {
    progress_line off(false);
    off.start(0);
    EXPECT_EQ(off.next_due(), INT64_MAX);
    off.update(5'000'000'000, 1, 1);
    EXPECT_EQ(off.next_due(), INT64_MAX);
    progress_line on(true, nullptr);
    on.start(0);
    EXPECT_EQ(on.next_due(), 1'000'000'000);
}

// ---- JSON ----
//
// The expected lines are what twamp-ping 0.1.0 printed (printf, before the JSON library). The
// library writes numbers and escapes in its own shortest form ("100.0" for "100.000", "\n" for
// "\u000a"); what must not change is what a parser reads: the same keys in the same order, the
// same values of the same JSON types. Both sides are parsed and written again by the library
// (ordered_json keeps the order; an integer and a float dump differently), then compared.

using json = nlohmann::ordered_json;

options json_options() {
    options o = light_options();
    o.json = true;
    return o;
}

// Every line of `got` parses, and reads as the same line of `want`.
void expect_same_json(const std::string& got, const std::string& want) {
    std::istringstream g(got), w(want);
    std::string gl, wl;
    std::size_t n = 0;
    while (std::getline(w, wl)) {
        ++n;
        ASSERT_TRUE(std::getline(g, gl)) << "line " << n << " missing: " << wl;
        json gj, wj;
        ASSERT_NO_THROW(gj = json::parse(gl)) << "line " << n << " is not JSON: " << gl;
        wj = json::parse(wl);
        EXPECT_EQ(gj.dump(), wj.dump()) << "line " << n << " as written: " << gl;
    }
    EXPECT_FALSE(std::getline(g, gl)) << "more lines than expected: " << gl;
    EXPECT_TRUE(got.empty() || got.back() == '\n');
}

std::vector<json> parsed_lines(const std::string& out) {
    std::vector<json> v;
    std::istringstream in(out);
    for (std::string l; std::getline(in, l);) {
        v.push_back(json::parse(l));
    }
    return v;
}

TEST(SenderJsonReport, PerPacketObjects) {
    const options o = json_options();
    const std::string out = output(o, [](reporter& r) {
        r.start(light_run());
        r.reply(a_reply());
        r.late({0, 41, 7, -5});
        r.lost({0, 8});
        r.invalid({0, 3, "a \"quoted\"\\ reason\n"});
        reply_event again = a_reply(true); // the reporter reuses its reply object
        again.s.sender_seq = 4;
        again.s.t4 += 1;
        r.reply(again);
    });
    expect_same_json(
            out,
            "{\"type\":\"reply\",\"seq\":3,\"reflector_seq\":2,\"octets\":41,\"sender_ttl\":255,"
            "\"t1_ns\":1000000000000001000,\"t2_ns\":1000000000000051000,"
            "\"t3_ns\":1000000000000061400,\"t4_ns\":1000000000000101400,\"rtt_ns\":90000,"
            "\"residence_ns\":10400,\"forward_ns\":50000,\"backward_ns\":40000,"
            "\"timestamp\":\"ntp\",\"reflector_synchronized\":true,\"reflector_error_ns\":1,"
            "\"duplicate\":false}\n"
            "{\"type\":\"late\",\"seq\":7,\"rtt_ns\":-5}\n"
            "{\"type\":\"lost\",\"seq\":8}\n"
            "{\"type\":\"invalid\",\"reason\":\"a \\\"quoted\\\"\\\\ reason\\u000a\","
            "\"octets\":3}\n"
            "{\"type\":\"reply\",\"seq\":4,\"reflector_seq\":2,\"octets\":41,\"sender_ttl\":255,"
            "\"t1_ns\":1000000000000001000,\"t2_ns\":1000000000000051000,"
            "\"t3_ns\":1000000000000061400,\"t4_ns\":1000000000000101401,\"rtt_ns\":90001,"
            "\"residence_ns\":10400,\"forward_ns\":50000,\"backward_ns\":40001,"
            "\"timestamp\":\"ntp\",\"reflector_synchronized\":true,\"reflector_error_ns\":1,"
            "\"duplicate\":true}\n");
    // Read back field by field: 64-bit times exact, the reason as given.
    const auto v = parsed_lines(out);
    ASSERT_EQ(v.size(), 5u);
    EXPECT_EQ(v[0]["t4_ns"].get<int64_t>(), 1'000'000'000'000'101'400);
    EXPECT_EQ(v[0]["rtt_ns"].get<int64_t>(), 90'000);
    EXPECT_TRUE(v[0]["reflector_synchronized"].is_boolean());
    EXPECT_EQ(v[1]["rtt_ns"].get<int64_t>(), -5);
    EXPECT_EQ(v[3]["reason"].get<std::string>(), "a \"quoted\"\\ reason\n");
}

TEST(SenderJsonReport, TwampSessionsAndSessionField) {
    options o = json_options();
    o.mode = mode::twamp;
    const std::string sid0 = twamp::control::sid_to_string(sid_of(0xa0));
    const std::string sid1 = twamp::control::sid_to_string(sid_of(0xa1));
    const std::string out = output(o, [](reporter& r) {
        r.start(twamp_run());
        reply_event e = a_reply(true);
        e.session = 1;
        e.r.error = twamp::proto::error_estimate{false, true, 0, 1};
        r.reply(e);
        r.late({1, 41, 7, 9});
        r.lost({1, 4});
        r.invalid({0, 40, "x"});
    });
    expect_same_json(
            out,
            "{\"type\":\"session\",\"session\":1,\"sid\":\"" + sid0 +
                    "\",\"sender\":\"198.18.0.1:40000\",\"receiver\":\"198.18.0.2:64400\","
                    "\"requested_port\":64404}\n"
                    "{\"type\":\"session\",\"session\":2,\"sid\":\"" +
                    sid1 +
                    "\",\"sender\":\"198.18.0.1:40001\",\"receiver\":\"198.18.0.2:64401\","
                    "\"requested_port\":64401}\n"
                    "{\"type\":\"reply\",\"session\":2,\"seq\":3,\"reflector_seq\":2,\"octets\":41,"
                    "\"sender_ttl\":255,\"t1_ns\":1000000000000001000,"
                    "\"t2_ns\":1000000000000051000,\"t3_ns\":1000000000000061400,"
                    "\"t4_ns\":1000000000000101400,\"rtt_ns\":90000,\"residence_ns\":10400,"
                    "\"forward_ns\":50000,\"backward_ns\":40000,\"timestamp\":\"ptp\","
                    "\"reflector_synchronized\":false,\"reflector_error_ns\":1,"
                    "\"duplicate\":true}\n"
                    "{\"type\":\"late\",\"session\":2,\"seq\":7,\"rtt_ns\":9}\n"
                    "{\"type\":\"lost\",\"session\":2,\"seq\":4}\n"
                    "{\"type\":\"invalid\",\"session\":1,\"reason\":\"x\",\"octets\":40}\n");
}

const char* const light_summary_json =
        "{\"type\":\"summary\",\"host\":\"198.18.0.2\",\"port\":862,\"mode\":\"light\","
        "\"octets\":41,\"sent\":3,\"received\":2,\"lost\":1,\"loss_pct\":33.333,"
        "\"lost_forward\":1,\"lost_backward\":0,\"duplicates\":1,\"reordered\":0,\"late\":0,"
        "\"invalid\":2,\"send_errors\":1,"
        "\"rtt_ns\":{\"min\":199906,\"avg\":299503.8,\"max\":399101,\"stddev\":99597.5,"
        "\"p50\":199906,\"p90\":399101,\"p95\":399101,\"p99\":399101,\"p99_9\":399101},"
        "\"residence_ns\":{\"min\":7962,\"avg\":11051.8,\"max\":14141,\"stddev\":3089.5,"
        "\"p50\":7962,\"p90\":14141,\"p95\":14141,\"p99\":14141,\"p99_9\":14141},"
        "\"forward_ns\":{\"min\":189109,\"avg\":292898.3,\"max\":396687,\"stddev\":103789.0,"
        "\"p50\":189109,\"p90\":396687,\"p95\":396687,\"p99\":396687,\"p99_9\":396687},"
        "\"backward_ns\":{\"min\":2414,\"avg\":9409.8,\"max\":16405,\"stddev\":6995.5,"
        "\"p50\":2414,\"p90\":16405,\"p95\":16405,\"p99\":16405,\"p99_9\":16405},"
        "\"jitter_forward_ns\":15937.1,\"jitter_backward_ns\":841.7,"
        "\"clocks_synchronized\":false,\"duration_ns\":400601412,"
        "\"percentiles_exact\":true,"
        "\"pdv_ns\":{\"rtt\":{\"p50\":0,\"p90\":199195,\"p95\":199195,\"p99\":199195,"
        "\"p99_9\":199195,\"max\":199195},"
        "\"forward\":{\"p50\":0,\"p90\":207578,\"p95\":207578,\"p99\":207578,"
        "\"p99_9\":207578,\"max\":207578},"
        "\"backward\":{\"p50\":0,\"p90\":13991,\"p95\":13991,\"p99\":13991,"
        "\"p99_9\":13991,\"max\":13991}},"
        "\"ipdv_ns\":{\"rtt\":{\"mean\":199195.0,\"max\":199195},"
        "\"forward\":{\"mean\":207578.0,\"max\":207578},"
        "\"backward\":{\"mean\":13991.0,\"max\":13991}}}\n";

TEST(SenderJsonReport, Summary) {
    const options o = json_options();
    run_result res = one_flow_result(a_summary());
    res.invalid = 2;
    res.send_errors = 1;
    const std::string out = output(o, [&](reporter& r) {
        r.start(light_run());
        r.finish(res);
    });
    expect_same_json(out, light_summary_json);
    // The figures keep printf's precision: 3 decimals of loss_pct, 1 of averages and jitter,
    // still numbers with a fraction where they had one.
    const json j = json::parse(out);
    EXPECT_TRUE(j["loss_pct"].is_number_float());
    EXPECT_DOUBLE_EQ(j["loss_pct"].get<double>(), 33.333);
    EXPECT_DOUBLE_EQ(j["rtt_ns"]["avg"].get<double>(), 299503.8);
    EXPECT_TRUE(j["forward_ns"]["stddev"].is_number_float());
    EXPECT_TRUE(j["rtt_ns"]["min"].is_number_integer());
    EXPECT_DOUBLE_EQ(j["jitter_backward_ns"].get<double>(), 841.7);
    EXPECT_EQ(j["duration_ns"].get<int64_t>(), 400'601'412);
}

TEST(SenderJsonReport, SummaryUnknownSplitAndNothingBack) {
    options o = json_options();
    o.mode = mode::stamp;
    o.host = "2001:2::2";
    o.port = 64365;
    summary s;
    s.sent = 5;
    s.lost = 5;
    s.loss_pct = 100;
    const std::string out = output(o, [&](reporter& r) {
        r.start(light_run(44));
        r.finish(one_flow_result(s));
    });
    expect_same_json(
            out, "{\"type\":\"summary\",\"host\":\"2001:2::2\",\"port\":64365,\"mode\":\"stamp\","
                 "\"octets\":44,\"sent\":5,\"received\":0,\"lost\":5,\"loss_pct\":100.000,"
                 "\"lost_forward\":null,\"lost_backward\":null,\"duplicates\":0,\"reordered\":0,"
                 "\"late\":0,\"invalid\":0,\"send_errors\":0,\"rtt_ns\":null,\"residence_ns\":null,"
                 "\"forward_ns\":null,\"backward_ns\":null,\"jitter_forward_ns\":null,"
                 "\"jitter_backward_ns\":null,\"clocks_synchronized\":false,"
                 "\"duration_ns\":400601412,\"percentiles_exact\":true,"
                 "\"pdv_ns\":{\"rtt\":null,\"forward\":null,\"backward\":null},"
                 "\"ipdv_ns\":{\"rtt\":null,\"forward\":null,\"backward\":null}}\n");
    EXPECT_TRUE(json::parse(out)["lost_forward"].is_null());
}

TEST(SenderJsonReport, SummaryTwampSessions) {
    options o = json_options();
    o.mode = mode::twamp;
    run_result res = two_session_result();
    res.session_invalid = {0, 3};
    res.duration_ns = 1;
    res.control_failed = true;
    const std::string out = output(o, [&](reporter& r) {
        r.start(twamp_run());
        r.finish(res);
    });
    const std::string sid0 = twamp::control::sid_to_string(sid_of(0xa0));
    const std::string sid1 = twamp::control::sid_to_string(sid_of(0xa1));
    const std::string summary_line = out.substr(out.rfind("{\"type\":\"summary\""));
    std::string want = light_summary_json;
    auto replace = [&want](const std::string& from, const std::string& to) {
        const auto at = want.find(from);
        ASSERT_NE(at, std::string::npos) << from;
        want.replace(at, from.size(), to);
    };
    replace("\"mode\":\"light\"", "\"mode\":\"twamp\"");
    replace("\"invalid\":2,\"send_errors\":1", "\"invalid\":0,\"send_errors\":0");
    replace("\"duration_ns\":400601412", "\"duration_ns\":1");
    replace("13991}}}",
            "13991}},\"sessions\":[{\"session\":1,\"sid\":\"" + sid0 +
                    "\",\"sender_port\":40000,\"receiver_port\":64400,\"sent\":3,"
                    "\"received\":2,\"lost\":1,\"loss_pct\":33.333,\"lost_forward\":1,"
                    "\"lost_backward\":0,\"duplicates\":1,\"reordered\":0,\"late\":0,"
                    "\"invalid\":0,\"rtt_ns\":{\"min\":199906,\"avg\":299503.8,"
                    "\"max\":399101,\"stddev\":99597.5,\"p50\":199906,\"p90\":399101,\"p95\":"
                    "399101,\"p99\":399101,\"p99_9\":399101}},"
                    "{\"session\":2,\"sid\":\"" +
                    sid1 +
                    "\",\"sender_port\":40001,\"receiver_port\":64401,\"sent\":1,"
                    "\"received\":0,\"lost\":1,\"loss_pct\":100.000,\"lost_forward\":null,"
                    "\"lost_backward\":null,\"duplicates\":0,\"reordered\":0,\"late\":0,"
                    "\"invalid\":3,\"rtt_ns\":null}],\"control_ok\":false}");
    expect_same_json(summary_line, want);
    const json j = json::parse(summary_line);
    ASSERT_EQ(j["sessions"].size(), 2u);
    EXPECT_EQ(j["sessions"][1]["invalid"].get<uint64_t>(), 3u);
    EXPECT_FALSE(j["control_ok"].get<bool>());
}

TEST(SenderJsonReport, HostEscaped) {
    options o = json_options();
    o.host = "a\"b\\c\x01";
    const std::string out = output(o, [&](reporter& r) {
        r.start(light_run());
        r.finish(one_flow_result(summary{}));
    });
    EXPECT_EQ(json::parse(out)["host"].get<std::string>(), o.host);
    // Not UTF-8 (a host name given as raw bytes): still one valid line, the byte replaced.
    o.host = "h\xff";
    const std::string bad = output(o, [&](reporter& r) {
        r.start(light_run());
        r.finish(one_flow_result(summary{}));
    });
    EXPECT_EQ(json::parse(bad)["host"].get<std::string>(), "h\xef\xbf\xbd");
}

} // namespace

namespace {

// --tlv (issue 16): a STAMP run with Class of Service and Return Path no-reply.
options tlv_options(bool json_out) {
    options o;
    o.host = "198.18.0.2";
    o.mode = mode::stamp;
    o.json = json_out;
    std::string err;
    o.tlvs.push_back(*parse_tlv("cos=46", err));
    o.tlvs.push_back(*parse_tlv("return-path=no-reply", err));
    o.no_reply = true;
    return o;
}

// The reply's TLV area: CoS answered (DSCP1 46, DSCP2 0, ECN 0, RP 0), Return Path with
// its Control Code (flags U on the TLV: RFC 9503 says nothing of it here, the test only reads).
const std::vector<uint8_t> tlv_reply_area = {0x00, 4, 0, 4, 0xb8, 0x00, 0, 0, 0x80, 10,
                                             0,    8, 0, 1, 0,    4,    0, 0, 0,    0};

TEST(SenderTlvReport, TextLineSummaryAndNotRequested) {
    const options o = tlv_options(false);
    const std::string out = output(o, [](reporter& r) {
        r.start(light_run(64));
        reply_event e = a_reply();
        e.tlv_area = tlv_reply_area;
        r.reply(e);
        r.lost({0, 9, true});
        run_result res = one_flow_result(summary{});
        res.total.sent = 2;
        res.total.received = 1;
        res.total.not_requested = 1;
        std::vector<decoded_tlv> d = decode_tlvs(tlv_reply_area);
        res.tlvs.add(d);
        r.finish(res);
    });
    EXPECT_NE(out.find(" tlv cos(dscp1 46 dscp2 0 ecn 0 rp 0) return-path[U](code no-reply)\n"),
              std::string::npos)
            << out;
    EXPECT_NE(out.find("no reply for seq=9 (none requested: return-path=no-reply)\n"),
              std::string::npos)
            << out;
    EXPECT_NE(out.find("1 not requested (return-path=no-reply), not counted as lost\n"),
              std::string::npos)
            << out;
    EXPECT_NE(out.find("tlvs returned: class_of_service 1 (U 0, M 0, I 0), return_path 1 (U 1, "
                       "M 0, I 0)\n"),
              std::string::npos)
            << out;
}

TEST(SenderTlvReport, JsonPerReplyAndSummary) {
    const options o = tlv_options(true);
    const std::string out = output(o, [](reporter& r) {
        r.start(light_run(64));
        reply_event e = a_reply();
        e.tlv_area = tlv_reply_area;
        r.reply(e);
        r.lost({0, 9, true});
        run_result res = one_flow_result(summary{});
        res.total.not_requested = 1;
        res.tlvs.add(decode_tlvs(tlv_reply_area));
        r.finish(res);
    });
    const auto v = parsed_lines(out);
    ASSERT_EQ(v.size(), 3u);
    const json& t = v[0]["tlvs"];
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[0]["name"], "class_of_service");
    EXPECT_EQ(t[0]["type"], 4);
    EXPECT_EQ(t[0]["u"], false);
    EXPECT_EQ(t[0]["dscp1"], 46);
    EXPECT_EQ(t[0]["dscp2"], 0);
    EXPECT_EQ(t[0]["ecn"], 0);
    EXPECT_EQ(t[0]["rp"], 0);
    EXPECT_EQ(t[1]["name"], "return_path");
    EXPECT_EQ(t[1]["u"], true);
    ASSERT_EQ(t[1]["sub_tlvs"].size(), 1u);
    EXPECT_EQ(t[1]["sub_tlvs"][0]["name"], "control_code");
    EXPECT_EQ(t[1]["sub_tlvs"][0]["reply_requested"], false);
    EXPECT_EQ(v[1]["type"], "not_requested");
    EXPECT_EQ(v[1]["seq"], 9);
    EXPECT_EQ(v[2]["not_requested"], 1);
    EXPECT_EQ(v[2]["tlvs"]["class_of_service"]["seen"], 1);
    EXPECT_EQ(v[2]["tlvs"]["return_path"]["u"], 1);
    EXPECT_EQ(v[2]["tlvs"]["return_path"]["m"], 0);
}

} // namespace

// --auth (issue 17): an integrity failure is its own line / object, and the summary of an
// authenticated run says how many there were (0 included); runs without a key print neither.
namespace {

TEST(SenderAuthReport, IntegrityFailuresInTextAndJson) {
    options o = light_options();
    o.mode = mode::stamp;
    o.auth = security::authenticated;
    o.key_file = "k";
    o.key_id = "alice";
    run_result res = one_flow_result(a_summary());
    res.integrity_failures = 3;
    res.session_integrity = {3};
    std::string out = output(o, [&](reporter& r) {
        r.start(light_run(112));
        r.integrity({0, 112, "HMAC does not verify"});
        r.finish(res);
    });
    EXPECT_NE(out.find("ssid 1, authenticated (key alice)"), std::string::npos) << out;
    EXPECT_NE(out.find("112 octets from 198.18.0.2:862: integrity failure: HMAC does not verify, "
                       "ignored\n"),
              std::string::npos)
            << out;
    EXPECT_NE(out.find("\n3 integrity failures (replies whose HMAC did not verify, not used)\n"),
              std::string::npos)
            << out;

    o.json = true;
    out = output(o, [&](reporter& r) {
        r.start(light_run(112));
        r.integrity({0, 112, "HMAC TLV does not verify"});
        r.finish(res);
    });
    const auto v = parsed_lines(out);
    ASSERT_EQ(v.size(), 2u) << out;
    EXPECT_EQ(v[0]["type"], "integrity_failure");
    EXPECT_EQ(v[0]["reason"], "HMAC TLV does not verify");
    EXPECT_EQ(v[0]["octets"], 112);
    EXPECT_EQ(v[1]["auth"], "authenticated");
    EXPECT_EQ(v[1]["integrity_failures"], 3);

    // Without a key: no such line, no such keys (the JSON of earlier versions).
    o = light_options();
    o.json = true;
    out = output(o, [&](reporter& r) {
        r.start(light_run());
        r.finish(one_flow_result(a_summary()));
    });
    EXPECT_EQ(out.find("integrity"), std::string::npos) << out;
    EXPECT_EQ(out.find("\"auth\""), std::string::npos) << out;
}

} // namespace

namespace {

int64_t fixed_clock() {
    return 1'733'580'000'123'456'789;
}

// -D: ping's "[SECONDS.MICROSECONDS] " before each per-packet line, not before the header or
// the summary.
TEST(SenderPingReport, TimestampPrefixOnPacketLines) {
    options o = light_options();
    o.print_timestamps = true;
    char* buf = nullptr;
    std::size_t len = 0;
    FILE* f = open_memstream(&buf, &len);
    {
        auto r = make_reporter(o, f, nullptr, fixed_clock);
        r->start(light_run());
        r->lost({0, 3});
        r->lost({0, 4, false, true});
    }
    std::fclose(f);
    const std::string out(buf, len);
    std::free(buf);
    EXPECT_EQ(out.substr(out.find('\n') + 1),
              "[1733580000.123456] no reply for seq=3 within 2 s\n"
              "[1733580000.123456] no reply for seq=4 by the -w deadline (0 s), counted as lost\n");
    EXPECT_EQ(out.find('['), out.find("\n[") + 1); // the header has none
}

// --summary-every: text "[N s] ..." and JSON {"type":"periodic"} with the summary's keys, and
// nulls where nothing came back.
TEST(SenderPingReport, PeriodicSummaries) {
    options o = light_options();
    summary s = a_summary();
    s.sent = 5;
    s.outstanding = 2;
    run_result res = one_flow_result(s);
    res.duration_ns = 10'000'000'000;
    std::string out = output(o, [&](reporter& r) {
        r.start(light_run());
        r.periodic(res);
    });
    EXPECT_EQ(out.substr(out.find('\n') + 1),
              "[10.0 s] 5 sent, 2 received, 1 lost (forward 1, backward 0), 2 outstanding, 33.3% "
              "loss, rtt min/avg/max/p99 = 0.200/0.300/0.399/0.399 ms, pdv p99 0.199 ms\n");

    o.json = true;
    out = output(o, [&](reporter& r) {
        r.start(light_run());
        r.periodic(res);
        summary none;
        none.sent = 2;
        none.outstanding = 2;
        r.periodic(one_flow_result(none));
        r.finish(one_flow_result(none));
    });
    std::vector<json> lines = parsed_lines(out);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0]["type"], "periodic");
    EXPECT_EQ(lines[0]["sent"], 5);
    EXPECT_EQ(lines[0]["outstanding"], 2);
    EXPECT_EQ(lines[0]["rtt_ns"]["p99_9"], 399101);
    EXPECT_EQ(lines[0]["pdv_ns"]["rtt"]["p99"], 199195);
    // Nothing settled yet: no loss percentage, no figures: null, never 0.
    EXPECT_EQ(lines[1]["type"], "periodic");
    for (const char* k : {"loss_pct", "rtt_ns", "forward_ns", "backward_ns", "residence_ns",
                          "jitter_forward_ns", "jitter_backward_ns"}) {
        EXPECT_TRUE(lines[1][k].is_null()) << k;
    }
    EXPECT_TRUE(lines[1]["pdv_ns"]["rtt"].is_null());
    EXPECT_TRUE(lines[1]["ipdv_ns"]["forward"].is_null());
    EXPECT_EQ(lines[2]["type"], "summary");
    EXPECT_FALSE(lines[2].contains("outstanding"));
}

// -w: the summary says how many were still awaited at the deadline.
TEST(SenderPingReport, DeadlineInSummary) {
    options o = light_options();
    o.deadline_s = 3;
    summary s;
    s.sent = 3;
    s.lost = 3;
    s.loss_pct = 100;
    run_result res = one_flow_result(s);
    res.deadline_reached = true;
    res.deadline_lost = 1;
    std::string out = output(o, [&](reporter& r) {
        r.start(light_run());
        r.lost({0, 2, false, true});
        r.finish(res);
    });
    EXPECT_NE(out.find("no reply for seq=2 by the -w deadline (3 s), counted as lost\n"),
              std::string::npos)
            << out;
    EXPECT_NE(out.find("-w deadline 3 s reached: 1 replies still awaited, counted as lost\n"),
              std::string::npos)
            << out;
    o.json = true;
    out = output(o, [&](reporter& r) {
        r.start(light_run());
        r.lost({0, 2, false, true});
        r.finish(res);
    });
    std::vector<json> lines = parsed_lines(out);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0]["at_deadline"], true);
    EXPECT_EQ(lines[1]["deadline_reached"], true);
    EXPECT_EQ(lines[1]["deadline_lost"], 1);
    EXPECT_TRUE(lines[1]["rtt_ns"].is_null());
}

} // namespace
