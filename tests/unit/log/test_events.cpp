// src/log: event formatting, levels, journald fields, the sink choice from JOURNAL_STREAM, the
// per-kind rate limit and its "suppressed" events, the notification strings (tier 1, no EAL).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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
    line_writer w(fileno(f));
    stream_sink s(w);
    s.write(refused());
    std::rewind(f);
    char buf[512] = {};
    ASSERT_NE(std::fgets(buf, sizeof buf, f), nullptr);
    EXPECT_EQ(std::string(buf), format_line(refused()) + "\n");
    std::fclose(f);
}

namespace {

std::string drain_fd(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) {
            break;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

} // namespace

// Nobody reads the pipe (a stalled log reader): writing never blocks; what does not fit is
// dropped, counted, and said in one line once the pipe takes lines again. Blocking writes
// would hang here (the test's timeout fails it).
TEST(Events, StreamSinkNeverBlocksOnAFullPipe) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    {
        line_writer w(p[1]);
        stream_sink s(w);
        for (int i = 0; i < 20'000; ++i) { // ~2.6 MB against a 64 KiB pipe
            s.write(refused());
        }
        EXPECT_GT(w.dropped(), 0u);
        EXPECT_GT(w.written(), 0u);
        ASSERT_EQ(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
        std::string text = drain_fd(p[0]);
        s.write(refused()); // the pipe is read again: the count, then the line
        text += drain_fd(p[0]);
        // Whole lines only; every event written or counted as dropped, and said.
        const std::string ev = format_line(refused());
        const std::string said = "dpdk-twamp: warning: log.dropped lines=";
        uint64_t events = 0, said_dropped = 0;
        std::size_t start = 0;
        for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
            const std::string l = text.substr(start, nl - start);
            if (l == ev) {
                ++events;
            } else {
                ASSERT_EQ(l.rfind(said, 0), 0u) << l;
                said_dropped += std::stoull(l.substr(said.size()));
            }
        }
        EXPECT_EQ(start, text.size());
        EXPECT_EQ(events + w.dropped(), 20'001u);
        EXPECT_EQ(said_dropped, w.dropped());
        EXPECT_EQ(text.substr(text.size() - ev.size() - 1), ev + "\n");
    }
    // The pipe's own descriptor was left blocking (the writer reopened it).
    EXPECT_EQ(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
    close(p[0]);
    close(p[1]);
}

// A stream socket (the journal's stream) nobody reads: send(MSG_DONTWAIT), never blocking;
// a line taken in part is finished before the next.
TEST(Events, StreamSinkNeverBlocksOnAFullSocket) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    line_writer w(sv[1]);
    for (int i = 0; i < 20'000; ++i) {
        w.write(format_line(refused()) + "\n");
    }
    EXPECT_GT(w.dropped(), 0u);
    ASSERT_EQ(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
    std::string got = drain_fd(sv[0]);
    w.write("last\n");
    got += drain_fd(sv[0]);
    // Every line whole: the text is lines of the event, a log.dropped line, then "last".
    std::size_t lines = 0, start = 0;
    const std::string ev = format_line(refused());
    for (std::size_t nl; (nl = got.find('\n', start)) != std::string::npos; start = nl + 1) {
        const std::string l = got.substr(start, nl - start);
        EXPECT_TRUE(l == ev || l == "last" || l.find(": log.dropped lines=") != std::string::npos)
                << l;
        ++lines;
    }
    EXPECT_EQ(start, got.size());
    EXPECT_GT(lines, 2u);
    close(sv[0]);
    close(sv[1]);
}

namespace {

// A datagram socket at a temporary path standing for journald's.
struct fake_journal {
    std::string path;
    int fd = -1;
    fake_journal() {
        char dir[] = "/tmp/twamp-journal-XXXXXX";
        if (mkdtemp(dir) == nullptr) {
            return;
        }
        path = std::string(dir) + "/socket";
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
        if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
            close(fd);
            fd = -1;
        }
    }
    ~fake_journal() {
        if (fd >= 0) {
            close(fd);
        }
        unlink(path.c_str());
        rmdir(path.substr(0, path.rfind('/')).c_str());
    }
    std::string recv_one() {
        char buf[65536];
        const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    }
};

} // namespace

TEST(Events, JournalDatagramIsTheNativeProtocol) {
    EXPECT_EQ(journal_datagram({"MESSAGE=hi", "PRIORITY=4"}), "MESSAGE=hi\nPRIORITY=4\n");
    const std::string d = journal_datagram({"A=x\ny"});
    EXPECT_EQ(d, std::string("A\n\x03\0\0\0\0\0\0\0x\ny\n", 14));
}

TEST(Events, JournalSinkSendsNativeDatagrams) {
    fake_journal j;
    ASSERT_GE(j.fd, 0);
    journal_sink s(j.path.c_str());
    s.write(refused());
    EXPECT_EQ(s.fallbacks(), 0u);
    EXPECT_EQ(j.recv_one(), journal_datagram(journal_fields(refused())));
}

// journald stalled (its socket's queue full): the sink never blocks; what it cannot send goes
// to the (non-blocking) stream instead. A blocking sendmsg would hang here.
TEST(Events, JournalSinkNeverBlocksOnAStalledJournal) {
    fake_journal j;
    ASSERT_GE(j.fd, 0);
    std::FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    line_writer w(fileno(f));
    journal_sink s(j.path.c_str(), w);
    for (int i = 0; i < 5000; ++i) {
        s.write(refused());
    }
    EXPECT_GT(s.fallbacks(), 0u);
    EXPECT_EQ(w.written(), s.fallbacks());
    std::fclose(f);
}

TEST(Events, JournalSinkFallsBackToStderrWithoutJournal) {
    // No journald socket in the test's environment (or it refuses): the line still goes out.
    journal_sink s("/nonexistent/journal/socket");
    s.write(refused());
    EXPECT_EQ(s.fallbacks(), 1u);
}

namespace {
int g_rte_level = 0;
int rte_level() {
    return g_rte_level;
}
} // namespace

TEST(Events, RteStreamPrefixesPrioritiesForTheJournal) {
    EXPECT_EQ(rte_level_prefix(4), "<3>"); // RTE_LOG_ERR
    EXPECT_EQ(rte_level_prefix(5), "<4>"); // RTE_LOG_WARNING
    EXPECT_EQ(rte_level_prefix(7), "<6>"); // RTE_LOG_INFO
    EXPECT_EQ(rte_level_prefix(0), "");
    EXPECT_EQ(rte_level_prefix(9), "");
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_EQ(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
    line_writer w(p[1]);
    std::FILE* journal = open_rte_stream(w, true, rte_level);
    std::FILE* plain = open_rte_stream(w, false, rte_level);
    ASSERT_NE(journal, nullptr);
    ASSERT_NE(plain, nullptr);
    g_rte_level = 4;
    std::fprintf(journal, "EAL: error %d\n", 1); // as rte_vlog: vfprintf, fflush
    std::fflush(journal);
    g_rte_level = 5;
    std::fprintf(journal, "EAL: two\nlines\n");
    std::fflush(journal);
    g_rte_level = 7;
    std::fprintf(plain, "TWAMP: info\n");
    std::fflush(plain);
    EXPECT_EQ(drain_fd(p[0]), "<3>EAL: error 1\n<4>EAL: two\n<4>lines\nTWAMP: info\n");
    close(p[0]);
    close(p[1]);
}

TEST(RateLimiter, BurstThenRate) {
    rate_limiter r(10.0, 20.0);
    uint64_t t = 1'000'000'000;
    int passed = 0;
    for (int i = 0; i < 1000; ++i) {
        passed += r.admit("control.refused", t) ? 1 : 0;
    }
    EXPECT_EQ(passed, 20); // the burst
    EXPECT_EQ(r.pending(), 980u);
    // Another kind has its own bucket.
    EXPECT_TRUE(r.admit("link.down", t));
    // 0.1 s later: one token.
    t += 100'000'000;
    EXPECT_TRUE(r.admit("control.refused", t));
    EXPECT_FALSE(r.admit("control.refused", t));
    // A second of flood at 1000/s: 10 pass.
    passed = 0;
    for (int i = 0; i < 1000; ++i) {
        t += 1'000'000;
        passed += r.admit("control.refused", t) ? 1 : 0;
    }
    EXPECT_GE(passed, 9);
    EXPECT_LE(passed, 11);
}

TEST(RateLimiter, DrainSaysOnceTheFloodIsOver) {
    rate_limiter r(10.0, 2.0);
    uint64_t t = 5;
    r.admit("k", t, level::info);
    r.admit("k", t, level::info);
    r.admit("k", t, level::warning);
    r.admit("k", t, level::err);
    r.admit("k", t, level::info);
    EXPECT_TRUE(r.drain(t).empty());
    EXPECT_TRUE(r.drain(t + rate_limiter::quiet_ns - 1).empty()); // not quiet for 1 s yet
    const auto d = r.drain(t + rate_limiter::quiet_ns);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].kind, "k");
    EXPECT_EQ(d[0].suppressed, 3u);
    EXPECT_EQ(d[0].lvl, level::err);                               // the most severe dropped
    EXPECT_TRUE(r.drain(t + 10 * rate_limiter::quiet_ns).empty()); // said once
    EXPECT_EQ(r.pending(), 0u);
}

TEST(RateLimiter, DropsAreCountedPerReasonWithTheLastPeer) {
    rate_limiter r(10.0, 1.0);
    uint64_t t = 5;
    EXPECT_TRUE(r.admit("control.refused", t, level::warning, "acl", "198.19.0.1:1"));
    for (int i = 0; i < 5; ++i) {
        r.admit("control.refused", t, level::warning, "acl", "198.19.0.1:2");
    }
    r.admit("control.refused", t, level::warning, "max_pending", "198.18.0.9:3");
    r.admit("control.refused", t, level::warning, "max_pending", "198.18.0.9:4");
    r.admit("control.refused", t, level::warning, "", "");
    // Reasons beyond max_reasons are "other".
    for (std::size_t i = 0; i < rate_limiter::max_reasons; ++i) {
        r.admit("control.refused", t, level::warning, "r" + std::to_string(i), "");
    }
    const auto d = r.drain(t + rate_limiter::quiet_ns);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].suppressed, 5u + 2u + 1u + rate_limiter::max_reasons);
    ASSERT_GE(d[0].by_reason.size(), 2u);
    EXPECT_EQ(d[0].by_reason[0], (std::pair<std::string, uint64_t>("acl", 5)));
    EXPECT_EQ(d[0].by_reason[1], (std::pair<std::string, uint64_t>("other", 3))); // r13..r15
    EXPECT_EQ(d[0].by_reason[2], (std::pair<std::string, uint64_t>("max_pending", 2)));
    EXPECT_EQ(d[0].by_reason.size(), rate_limiter::max_reasons + 1); // 16 kept, "other"
    uint64_t sum = 0;
    for (const auto& [reason, n] : d[0].by_reason) {
        sum += n;
    }
    EXPECT_EQ(sum, d[0].suppressed);
    EXPECT_EQ(d[0].last_peer, "198.18.0.9:4"); // the last with a peer
    // Counted afresh for the next flood.
    r.admit("control.refused", t + 2 * rate_limiter::quiet_ns, level::warning, "acl", "");
    r.admit("control.refused", t + 2 * rate_limiter::quiet_ns, level::warning, "acl", "");
    const auto d2 = r.drain(t + 4 * rate_limiter::quiet_ns);
    ASSERT_EQ(d2.size(), 1u);
    EXPECT_EQ(d2[0].by_reason.size(), 1u);
    EXPECT_EQ(d2[0].last_peer, "");
}

TEST(RateLimiter, AnEndlessFloodIsCountedEveryTenSeconds) {
    rate_limiter r(10.0, 20.0);
    uint64_t t = 0;
    uint64_t said = 0, reports = 0, passed = 0, sent = 0;
    for (int i = 0; i < 25'000; ++i) { // 25 s at 1000/s
        t += 1'000'000;
        passed += r.admit("k", t) ? 1 : 0;
        ++sent;
        for (const auto& x : r.drain(t)) {
            said += x.suppressed;
            ++reports;
        }
    }
    EXPECT_EQ(reports, 2u); // at 10 s and 20 s
    EXPECT_EQ(passed + said + r.pending(), sent);
    EXPECT_LE(passed, 20u + 25u * 10u + 1u);
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
        lg.tick();
    }
    EXPECT_EQ(m->events.size(), 20u);
    EXPECT_EQ(lg.suppressed_total(), 9980u);
    now += 200'000'000;
    lg.tick(); // not quiet for a second yet
    EXPECT_EQ(m->events.size(), 20u);
    now += 800'000'000;
    lg.tick();
    ASSERT_EQ(m->events.size(), 21u);
    const event& s = m->events.back();
    EXPECT_EQ(s.kind, "log.suppressed");
    EXPECT_EQ(s.get("kind"), "control.refused");
    EXPECT_EQ(s.get("suppressed"), "9980");
    EXPECT_EQ(s.lvl, level::err); // the most severe of those dropped
    EXPECT_EQ(format_line(s), "dpdk-twamp: err: log.suppressed kind=control.refused "
                              "suppressed=9980 reasons=max_connections_per_source:9980 "
                              "last_peer=198.18.0.1:40000: 9980 control.refused events "
                              "suppressed (rate limit)");
    lg.tick();
    EXPECT_EQ(m->events.size(), 21u); // said once
    // The kind resumes: its events pass again.
    lg.emit(refused());
    EXPECT_EQ(m->events.size(), 22u);
    EXPECT_EQ(m->events.back().kind, "control.refused");
}

// Issue 19: what EAL's quiet start-up no longer shows, checked by the box itself.
TEST(Events, TscFlagsFromCpuinfo) {
    const std::string good = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu tsc "
                             "rdtscp constant_tsc nonstop_tsc tsc_known_freq\nbogomips\t: 1\n";
    EXPECT_TRUE(missing_tsc_flags(good).empty());
    EXPECT_TRUE(tsc_events(good).empty());
    const std::string vm = "processor\t: 0\nflags\t\t: fpu tsc constant_tsc_x nonstop_tsc\n"
                           "processor\t: 1\nflags\t\t: fpu tsc\n";
    EXPECT_EQ(missing_tsc_flags(vm), std::vector<std::string>{"constant_tsc"});
    const std::string old = "flags\t\t: fpu tsc msr\n";
    EXPECT_EQ(missing_tsc_flags(old), (std::vector<std::string>{"constant_tsc", "nonstop_tsc"}));
    const auto ev = tsc_events(old);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, "clock.tsc_unreliable");
    EXPECT_EQ(ev[0].lvl, level::warning);
    EXPECT_EQ(ev[0].get("missing"), "constant_tsc,nonstop_tsc");
    // Not x86 (no flags line: aarch64 says "Features"): nothing to say.
    EXPECT_TRUE(missing_tsc_flags("processor\t: 0\nFeatures\t: fp asimd\n").empty());
    EXPECT_TRUE(missing_tsc_flags("").empty());
}

// What is limited while the box stops is said at exit (flush), not lost with the last tick.
TEST(Logger, FlushSaysEveryCountAtExit) {
    uint64_t now = 1'000'000'000;
    auto mem = std::make_unique<memory_sink>();
    memory_sink* m = mem.get();
    logger lg(
            std::move(mem), [&] { return now; }, 10.0, 2.0);
    for (int i = 0; i < 5; ++i) {
        lg.emit(refused());
    }
    lg.tick();
    EXPECT_EQ(m->events.size(), 2u); // not quiet yet: tick says nothing
    lg.flush();
    ASSERT_EQ(m->events.size(), 3u);
    EXPECT_EQ(m->events.back().kind, "log.suppressed");
    EXPECT_EQ(m->events.back().get("suppressed"), "3");
    lg.flush();
    EXPECT_EQ(m->events.size(), 3u);
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
