// src/log: event formatting, levels, journald fields, the sink choice from JOURNAL_STREAM, the
// per-kind rate limit and its "suppressed" events, the notification strings (tier 1, no EAL).
#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "twamp/log/events.hpp"
#include "twamp/log/notify.hpp"

using namespace twamp::log;

namespace {

event refused() {
    event e;
    e.lvl = level::warning;
    e.kind = "control.refused";
    e.peer = "198.18.0.1:40000";
    e.message = "over control.max-connections-per-source";
    e.with("accept", 5).with("reason", "max_connections_per_source");
    return e;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
    for (const auto& x : v) {
        if (x == s) {
            return true;
        }
    }
    return false;
}

} // namespace

TEST(Events, LevelsAreSyslogPriorities) {
    EXPECT_EQ(static_cast<int>(level::err), 3);
    EXPECT_EQ(static_cast<int>(level::warning), 4);
    EXPECT_EQ(static_cast<int>(level::notice), 5);
    EXPECT_EQ(static_cast<int>(level::info), 6);
    EXPECT_STREQ(name_of(level::err), "err");
    EXPECT_STREQ(name_of(level::warning), "warning");
    EXPECT_STREQ(name_of(level::notice), "notice");
    EXPECT_STREQ(name_of(level::info), "info");
}

TEST(Events, FormatLine) {
    EXPECT_EQ(format_line(refused()),
              "dpdk-twamp: warning: control.refused peer=198.18.0.1:40000 accept=5 "
              "reason=max_connections_per_source: over control.max-connections-per-source");
    event e;
    e.lvl = level::notice;
    e.kind = "link.down";
    e.with("port", "wire0");
    EXPECT_EQ(format_line(e), "dpdk-twamp: notice: link.down port=wire0");
}

TEST(Events, FormatQuotesAndCleans) {
    event e;
    e.lvl = level::err;
    e.kind = "reload";
    e.message = "rejected: a.conf:3: bad\nvalue";
    e.with("result", "rejected").with("line", "say \"x\" a=b").with("empty", "");
    EXPECT_EQ(format_line(e), "dpdk-twamp: err: reload result=rejected line=\"say \\\"x\\\" a=b\" "
                              "empty=\"\": rejected: a.conf:3: bad?value");
}

TEST(Events, PeerString) {
    EXPECT_EQ(peer_string("198.18.0.1", 862), "198.18.0.1:862");
    EXPECT_EQ(peer_string("2001:2::1", 40000), "[2001:2::1]:40000");
}

TEST(Events, JournalFields) {
    const auto f = journal_fields(refused());
    EXPECT_TRUE(has(f, "MESSAGE=over control.max-connections-per-source"));
    EXPECT_TRUE(has(f, "PRIORITY=4"));
    EXPECT_TRUE(has(f, "SYSLOG_IDENTIFIER=dpdk-twamp"));
    EXPECT_TRUE(has(f, "TWAMP_EVENT=control.refused"));
    EXPECT_TRUE(has(f, "TWAMP_PEER=198.18.0.1:40000"));
    EXPECT_TRUE(has(f, "TWAMP_ACCEPT=5"));
    EXPECT_TRUE(has(f, "TWAMP_REASON=max_connections_per_source"));
    event e;
    e.kind = "x";
    e.with("a.b-c", "v\n2");
    const auto g = journal_fields(e);
    EXPECT_TRUE(has(g, "MESSAGE=x")); // no message: the kind
    EXPECT_TRUE(has(g, "TWAMP_A_B_C=v?2"));
    EXPECT_TRUE(has(g, "PRIORITY=6"));
    for (const auto& s : g) {
        EXPECT_NE(s.rfind("TWAMP_PEER=", 0), 0u) << "no peer, no TWAMP_PEER";
    }
}

TEST(Events, JournalStreamMatches) {
    EXPECT_TRUE(journal_stream_matches("8:12345", 8, 12345));
    EXPECT_FALSE(journal_stream_matches("8:12345", 8, 12346));
    EXPECT_FALSE(journal_stream_matches("9:12345", 8, 12345));
    EXPECT_FALSE(journal_stream_matches(nullptr, 8, 12345));
    EXPECT_FALSE(journal_stream_matches("", 8, 12345));
    EXPECT_FALSE(journal_stream_matches("8", 8, 12345));
    EXPECT_FALSE(journal_stream_matches("8:", 8, 12345));
    EXPECT_FALSE(journal_stream_matches("8:12345x", 8, 12345));
    EXPECT_FALSE(journal_stream_matches(":12345", 8, 12345));
}

TEST(Events, SinkChoiceFollowsJournalStream) {
    struct stat st {};
    ASSERT_EQ(fstat(2, &st), 0);
    const std::string mine = std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
                             std::to_string(static_cast<unsigned long long>(st.st_ino));
    unsetenv("JOURNAL_STREAM");
    EXPECT_FALSE(stderr_is_journal());
    EXPECT_EQ(default_sink_kind(), sink_kind::stderr_line);
    setenv("JOURNAL_STREAM", (mine + "1").c_str(), 1); // another stream (a child's inherited)
    EXPECT_FALSE(stderr_is_journal());
    EXPECT_EQ(default_sink_kind(), sink_kind::stderr_line);
    setenv("JOURNAL_STREAM", mine.c_str(), 1);
    EXPECT_TRUE(stderr_is_journal());
    EXPECT_EQ(default_sink_kind(), sink_kind::journal);
    unsetenv("JOURNAL_STREAM");
}

TEST(Events, StreamSinkWritesOneLine) {
    std::FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    stream_sink s(f);
    s.write(refused());
    std::rewind(f);
    char buf[512] = {};
    ASSERT_NE(std::fgets(buf, sizeof buf, f), nullptr);
    EXPECT_EQ(std::string(buf), format_line(refused()) + "\n");
    std::fclose(f);
}

TEST(Events, JournalSinkFallsBackToStderrWithoutJournal) {
    // No journald socket in the test's environment (or it refuses): the line still goes out.
    journal_sink s("/nonexistent/journal/socket");
    s.write(refused());
    EXPECT_EQ(s.fallbacks(), 1u);
}

TEST(RateLimiter, BurstThenRate) {
    rate_limiter r(10.0, 20.0);
    uint64_t t = 1'000'000'000;
    int passed = 0;
    for (int i = 0; i < 1000; ++i) {
        passed += r.admit("control.refused", t).pass ? 1 : 0;
    }
    EXPECT_EQ(passed, 20); // the burst
    // Another kind has its own bucket.
    EXPECT_TRUE(r.admit("link.down", t).pass);
    // 0.1 s later: one token, and the 980 dropped are counted on the one that passes.
    t += 100'000'000;
    const auto v = r.admit("control.refused", t);
    EXPECT_TRUE(v.pass);
    EXPECT_EQ(v.suppressed, 980u);
    EXPECT_FALSE(r.admit("control.refused", t).pass);
    // A second of flood at 1000/s: 10 pass.
    passed = 0;
    for (int i = 0; i < 1000; ++i) {
        t += 1'000'000;
        passed += r.admit("control.refused", t).pass ? 1 : 0;
    }
    EXPECT_GE(passed, 9);
    EXPECT_LE(passed, 11);
}

TEST(RateLimiter, DrainSaysWhenTheFloodIsOver) {
    rate_limiter r(10.0, 2.0);
    uint64_t t = 5;
    for (int i = 0; i < 7; ++i) {
        r.admit("k", t);
    }
    EXPECT_TRUE(r.drain(t).empty()); // no token yet
    t += 100'000'000;
    const auto d = r.drain(t);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].first, "k");
    EXPECT_EQ(d[0].second, 5u);
    EXPECT_TRUE(r.drain(t + 1'000'000'000).empty()); // said once
}

TEST(Logger, FloodIsBoundedAndSuppressedIsSaid) {
    uint64_t now = 1'000'000'000;
    auto mem = std::make_unique<memory_sink>();
    memory_sink* m = mem.get();
    logger lg(
            std::move(mem), [&] { return now; }, 10.0, 20.0);
    for (int i = 0; i < 10'000; ++i) {
        event e = refused();
        e.lvl = i == 5000 ? level::err : level::warning;
        lg.emit(e);
    }
    EXPECT_EQ(m->events.size(), 20u);
    EXPECT_EQ(lg.suppressed_total(), 9980u);
    lg.tick(); // no token yet: nothing
    EXPECT_EQ(m->events.size(), 20u);
    now += 200'000'000;
    lg.tick();
    ASSERT_EQ(m->events.size(), 21u);
    const event& s = m->events.back();
    EXPECT_EQ(s.kind, "log.suppressed");
    EXPECT_EQ(s.get("kind"), "control.refused");
    EXPECT_EQ(s.get("suppressed"), "9980");
    EXPECT_EQ(s.lvl, level::err); // the most severe of those dropped
    EXPECT_EQ(format_line(s), "dpdk-twamp: err: log.suppressed kind=control.refused "
                              "suppressed=9980: 9980 control.refused events suppressed "
                              "(rate limit)");
    lg.tick();
    EXPECT_EQ(m->events.size(), 21u); // said once
}

TEST(Logger, ResumingKindSaysSuppressedFirst) {
    uint64_t now = 0;
    auto mem = std::make_unique<memory_sink>();
    memory_sink* m = mem.get();
    logger lg(
            std::move(mem), [&] { return now; }, 1.0, 1.0);
    lg.emit(refused());
    lg.emit(refused());
    lg.emit(refused());
    ASSERT_EQ(m->events.size(), 1u);
    now += 1'000'000'000;
    lg.emit(refused());
    ASSERT_EQ(m->events.size(), 3u);
    EXPECT_EQ(m->events[1].kind, "log.suppressed");
    EXPECT_EQ(m->events[1].get("suppressed"), "2");
    EXPECT_EQ(m->events[1].lvl, level::warning);
    EXPECT_EQ(m->events[2].kind, "control.refused");
    now += 10'000'000'000ULL;
    lg.tick();
    EXPECT_EQ(m->events.size(), 3u); // nothing left to say
}

TEST(Notify, States) {
    EXPECT_EQ(ready_state("running: 2 ports"), "READY=1\nSTATUS=running: 2 ports");
    EXPECT_EQ(reloading_state(1234, "reloading a\nb"),
              "RELOADING=1\nMONOTONIC_USEC=1234\nSTATUS=reloading a?b");
    EXPECT_EQ(stopping_state("stopping"), "STOPPING=1\nSTATUS=stopping");
}

TEST(Notify, NoSocketIsANoOp) {
    unsetenv("NOTIFY_SOCKET");
    EXPECT_FALSE(notify("READY=1"));
}
