// dpdk-twamp-ctl's core without a box: options, the socket path, reply decoding, the paging
// loops over canned pages, filters as parameters, reload's handshake, the tables, and the
// socket client against a SOCK_SEQPACKET server of the test's own.
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "ctl.hpp"

namespace twamp::ctl {
namespace {

// Canned telemetry: each request is recorded and answered by `answer`.
struct fake : telemetry {
    std::vector<std::string> requests;
    std::function<json(const std::string&)> answer;
    json call(const std::string& r) override {
        requests.push_back(r);
        return answer(r);
    }
};

options parse(std::vector<std::string> args) {
    std::vector<char*> v;
    args.insert(args.begin(), "dpdk-twamp-ctl");
    for (auto& a : args) {
        v.push_back(a.data());
    }
    v.push_back(nullptr);
    return parse_options(static_cast<int>(args.size()), v.data());
}

int status_of(std::vector<std::string> args) {
    try {
        parse(std::move(args));
    } catch (const error& e) {
        return e.status;
    }
    return 0;
}

TEST(CtlOptions, CommandAndFiltersInAnyOrder) {
    auto o = parse({"-f", "lab-1", "--json", "sessions", "--reflector", "alpha", "--source",
                    "198.18.0.0/24", "--port", "862", "--ssid", "7", "--limit", "10"});
    EXPECT_EQ(o.file_prefix, "lab-1");
    EXPECT_TRUE(o.json);
    EXPECT_EQ(o.command, "sessions");
    EXPECT_EQ(o.reflector, "alpha");
    EXPECT_EQ(o.source, "198.18.0.0/24");
    EXPECT_EQ(o.port, 862u);
    EXPECT_EQ(o.ssid, 7);
    EXPECT_EQ(o.limit, 10u);
    auto r = parse({"reload", "--timeout", "2.5", "--file-prefix=x"});
    EXPECT_EQ(r.command, "reload");
    EXPECT_DOUBLE_EQ(r.timeout_s, 2.5);
    EXPECT_EQ(r.file_prefix, "x");
    EXPECT_EQ(parse({"status"}).file_prefix, "rte");
    EXPECT_TRUE(parse({"--help"}).help);
    EXPECT_TRUE(parse({"-V"}).version);
}

TEST(CtlOptions, BadCommandLinesAreUsageErrors) {
    EXPECT_EQ(status_of({}), exit_usage);
    EXPECT_EQ(status_of({"frobnicate"}), exit_usage);
    EXPECT_EQ(status_of({"status", "extra"}), exit_usage);
    EXPECT_EQ(status_of({"sessions", "--port", "0"}), exit_usage);
    EXPECT_EQ(status_of({"sessions", "--port", "65536"}), exit_usage);
    EXPECT_EQ(status_of({"sessions", "--ssid", "-1"}), exit_usage);
    EXPECT_EQ(status_of({"sessions", "--limit", "0"}), exit_usage);
    EXPECT_EQ(status_of({"status", "--reflector", "a"}), exit_usage);
    EXPECT_EQ(status_of({"sessions", "--timeout", "3"}), exit_usage);
    EXPECT_EQ(status_of({"reload", "--timeout", "0"}), exit_usage);
    EXPECT_EQ(status_of({"reload", "--timeout", "nan"}), exit_usage);
    EXPECT_EQ(status_of({"-f", "a/b", "status"}), exit_usage);
    EXPECT_EQ(status_of({"status", "--bogus"}), exit_usage);
    EXPECT_EQ(status_of({"status", "-f"}), exit_usage);
}

TEST(CtlPath, DpdkRuntimeDirRules) {
    EXPECT_EQ(socket_path("rte", true, "/run/user/1000"), "/var/run/dpdk/rte/dpdk_telemetry.v2");
    EXPECT_EQ(socket_path("lab-1", false, "/run/user/1000"),
              "/run/user/1000/dpdk/lab-1/dpdk_telemetry.v2");
    EXPECT_EQ(socket_path("rte", false, nullptr), "/tmp/dpdk/rte/dpdk_telemetry.v2");
    EXPECT_EQ(socket_path("rte", false, ""), "/tmp/dpdk/rte/dpdk_telemetry.v2");
}

TEST(CtlDecode, ReplyKeyedByCommand) {
    EXPECT_EQ(decode_reply("/twamp/status", R"({"/twamp/status": {"pid": 7}})")["pid"], 7);
    EXPECT_EQ(decode_reply("/twamp/session_list,cursor=1",
                           R"({"/twamp/session_list": {"count": 0}})")["count"],
              0);
    for (const char* bad : {R"({"/twamp/status": null})", R"({"/other": {}})", "[1]", "{",
                            R"({"/twamp/status": {}, "x": 1})", ""}) {
        EXPECT_THROW(decode_reply("/twamp/status", bad), error) << bad;
    }
}

json session(const std::string& src, unsigned port, unsigned packets) {
    return json{{"reflector", "alpha"},      {"sender_ip", src},
                {"sender_udp_port", port},   {"reflector_ip", "198.18.1.1"},
                {"reflector_udp_port", 862}, {"sender_ssid", 0},
                {"rcv_packets", packets},    {"sent_packets", packets},
                {"last_rcv_seq", 0},         {"gaps", 0},
                {"duplicates", 0},           {"reorders", 0},
                {"last_seen_ms", 5},         {"age_s", 70}};
}

// A box of `per_worker` sessions on each of `workers` workers, paged `page` at a time as
// /twamp/session_list does (cursor "W" or "W:<index>", a simplification of the real one).
json page_of(const std::string& req, unsigned workers, unsigned per_worker, unsigned page) {
    std::string cursor;
    if (auto p = req.find("cursor="); p != std::string::npos) {
        cursor = req.substr(p + 7, req.find(',', p) - p - 7);
    }
    unsigned w = 0, from = 0;
    if (!cursor.empty()) {
        w = static_cast<unsigned>(std::stoul(cursor));
        if (auto c = cursor.find(':'); c != std::string::npos) {
            from = static_cast<unsigned>(std::stoul(cursor.substr(c + 1)));
        }
    }
    json out{{"workers", workers}, {"worker", w}};
    unsigned n = std::min(page, per_worker - from);
    out["count"] = n;
    for (unsigned i = 0; i < n; ++i) {
        out["s" + std::to_string(i + 1)] =
                session("198.18.0." + std::to_string(w + 1), 10000 + from + i, from + i);
    }
    out["next_cursor"] = from + n < per_worker ? std::to_string(w) + ":" + std::to_string(from + n)
                         : w + 1 < workers     ? std::to_string(w + 1)
                                               : std::string();
    return out;
}

TEST(CtlSessions, PagesThroughEveryWorkerOnce) {
    fake t;
    t.answer = [](const std::string& r) { return page_of(r, 3, 70, 24); };
    options o;
    const json l = list_sessions(t, o);
    ASSERT_EQ(l["sessions"].size(), 210u);
    EXPECT_TRUE(l["complete"]);
    EXPECT_EQ(t.requests.size(), 9u); // 3 pages a worker (24 + 24 + 22)
    EXPECT_EQ(t.requests[0], "/twamp/session_list");
    EXPECT_EQ(t.requests[1], "/twamp/session_list,cursor=0:24");
    std::set<std::pair<std::string, uint64_t>> seen;
    for (const auto& s : l["sessions"]) {
        EXPECT_TRUE(seen.insert({s["sender_ip"].get<std::string>(),
                                 s["sender_udp_port"].get<uint64_t>()})
                            .second);
        EXPECT_EQ(s["worker"], std::stoul(s["sender_ip"].get<std::string>().substr(9)) - 1);
    }
}

TEST(CtlSessions, FiltersGoToTheBoxAndLimitStopsEarly) {
    fake t;
    t.answer = [](const std::string& r) { return page_of(r, 2, 100, 24); };
    options o;
    o.reflector = "core-1.lab";
    o.source = "2001:2::/48";
    o.port = 862;
    o.ssid = 9;
    o.limit = 30;
    const json l = list_sessions(t, o);
    EXPECT_EQ(l["sessions"].size(), 30u);
    EXPECT_FALSE(l["complete"]);
    ASSERT_EQ(t.requests.size(), 2u);
    EXPECT_EQ(t.requests[0],
              "/twamp/session_list,reflector=core-1.lab,source=2001:2::/48,port=862,ssid=9");
    EXPECT_EQ(t.requests[1], "/twamp/session_list,cursor=0:24,reflector=core-1.lab,"
                             "source=2001:2::/48,port=862,ssid=9");
    o.reflector = "a,b";
    EXPECT_THROW(session_params(o), error);
    o.reflector = "a=b";
    EXPECT_THROW(session_params(o), error);
}

TEST(CtlSessions, TruncatedOrStuckPagesAreErrors) {
    fake t;
    t.answer = [](const std::string&) {
        json p{{"workers", 1}, {"worker", 0}, {"count", 3}, {"next_cursor", ""}};
        p["s1"] = session("198.18.0.1", 1, 1);
        p["s2"] = session("198.18.0.1", 2, 1); // s3 lost: the reply was cut
        return p;
    };
    options o;
    EXPECT_THROW(list_sessions(t, o), error);
    t.answer = [](const std::string&) {
        return json{{"workers", 1}, {"worker", 0}, {"count", 0}, {"next_cursor", "0"}};
    };
    EXPECT_THROW(list_sessions(t, o), error); // the cursor never moves
    t.answer = [](const std::string&) { return json{{"count", 0}}; };
    EXPECT_THROW(list_sessions(t, o), error);
    int n = 0;
    t.answer = [&n](const std::string&) {
        return json{
                {"workers", 1}, {"worker", 0}, {"count", 0}, {"next_cursor", std::to_string(n++)}};
    };
    EXPECT_THROW(list_sessions(t, o, 100), error); // bounded
}

TEST(CtlControl, PagesConnectionsThenSessions) {
    fake t;
    t.answer = [](const std::string& r) {
        if (r == "/twamp/control_list") {
            json p{{"connections", 2}, {"sessions", 1}, {"count", 1}, {"next_cursor", "c:4"}};
            p["c4"] = {{"kind", "connection"},       {"id", 4},
                       {"client_ip", "198.18.0.2"},  {"client_tcp_port", 40000},
                       {"server_ip", "198.18.1.1"},  {"server_tcp_port", 862},
                       {"state", "active"},          {"protocol_state", "running"},
                       {"modes", "unauthenticated"}, {"age_ms", 1500}};
            return p;
        }
        EXPECT_EQ(r, "/twamp/control_list,cursor=c:4");
        json p{{"connections", 2}, {"sessions", 1}, {"count", 2}, {"next_cursor", ""}};
        p["c5"] = {{"kind", "connection"},
                   {"id", 5},
                   {"client_ip", "2001:2::2"},
                   {"client_tcp_port", 40001},
                   {"server_ip", "2001:2::1"},
                   {"server_tcp_port", 862},
                   {"state", "servwait"},
                   {"protocol_state", "ready"},
                   {"modes", ""},
                   {"age_ms", 20}};
        p["t1"] = {{"kind", "test_session"},
                   {"sid", std::string(32, 'a')},
                   {"connection", 4},
                   {"sender_ip", "198.18.0.2"},
                   {"sender_udp_port", 5000},
                   {"reflector_ip", "198.18.1.1"},
                   {"reflector_udp_port", 20000},
                   {"protocol_state", "started"},
                   {"modes", "unauthenticated reflect-octets"},
                   {"age_ms", 1400}};
        return p;
    };
    const json c = list_control(t);
    ASSERT_EQ(c["connections"].size(), 2u);
    ASSERT_EQ(c["test_sessions"].size(), 1u);
    EXPECT_EQ(c["connections"][0]["id"], 4);
    EXPECT_FALSE(c["connections"][0].contains("kind"));
    const std::string text = format_control(c);
    EXPECT_NE(text.find("198.18.0.2:40000"), std::string::npos) << text;
    EXPECT_NE(text.find("[2001:2::2]:40001"), std::string::npos) << text;
    EXPECT_NE(text.find(std::string(32, 'a')), std::string::npos) << text;
    EXPECT_NE(text.find("2 connections, 1 test sessions"), std::string::npos) << text;
    EXPECT_NE(text.find("STATE     PROTOCOL-STATE"), std::string::npos) << text;
    EXPECT_NE(text.find("servwait  ready"), std::string::npos) << text;
    EXPECT_NE(text.find("started         unauthenticated reflect-octets"), std::string::npos)
            << text;
}

json status_doc(uint64_t seq, const std::string& result, const std::string& line,
                int64_t started = -1) {
    json s{{"version", "0.1.0"},
           {"pid", 4242},
           {"start_unix_ns", 1'700'000'000'000'000'000ULL},
           {"uptime_s", 3725},
           {"config_path", "/etc/dpdk-twamp/twamp.conf"},
           {"config_source", "file /etc/dpdk-twamp/twamp.conf"},
           {"reload_result", result},
           {"reload_seq", seq},
           {"reload_unix_ns", seq ? 1'700'000'100'000'000'000ULL : 0},
           {"reload_line", line},
           {"reloads_started", started < 0 ? seq : static_cast<uint64_t>(started)},
           {"workers", 2},
           {"sessions_active", 3},
           {"ports", 1}};
    s["port_0"] = {{"name", "wire-0"},           {"driver", "net_af_packet"},
                   {"mac", "02:00:00:00:00:01"}, {"link_state", "up"},
                   {"link_speed_mbps", 10000},   {"link_changes", 0},
                   {"rx_packets", 10},           {"tx_packets", 9}};
    return s;
}

json clock_doc() {
    return json{{"synchronized", 1},
                {"error_ns", 1000},
                {"error_estimate", 1},
                {"tai_utc_offset_s", 37},
                {"tsc_hz", 1},
                {"timestamp_source", {{"wire_0", "sw"}}},
                {"t3_method", {{"wire_0", "software"}}},
                {"port_clock_error_ns", {{"wire_0", 0}}},
                {"port_clock_steps", {{"wire_0", 0}}}};
}

TEST(CtlStatus, CombinesStatusReflectorsAndClock) {
    fake t;
    t.answer = [](const std::string& r) -> json {
        if (r == "/twamp/status") {
            return status_doc(1, "rejected", "rejected: twamp.conf:3: syntax error");
        }
        if (r == "/twamp/reflectors") {
            return json{{"beta", {{"name", "beta"}, {"mode", "stamp"}, {"rx_packets", 1}}},
                        {"alpha", {{"name", "alpha"}, {"mode", "twamp-light"}}}};
        }
        return clock_doc();
    };
    const json s = status(t);
    EXPECT_EQ(s["config"]["path"], "/etc/dpdk-twamp/twamp.conf");
    EXPECT_EQ(s["last_reload"]["result"], "rejected");
    EXPECT_EQ(s["ports"][0]["link_state"], "up");
    EXPECT_EQ(s["reflectors"][0]["name"], "alpha");
    EXPECT_EQ(s["clock"]["synchronized"], true);
    EXPECT_EQ(s["clock"]["ports"][0]["t3_method"], "software");
    const std::string text = format_status(s);
    EXPECT_NE(text.find("up 1h02m"), std::string::npos) << text;
    EXPECT_NE(text.find("config: file /etc/dpdk-twamp/twamp.conf\n"), std::string::npos) << text;
    EXPECT_NE(text.find("rejected: twamp.conf:3: syntax error"), std::string::npos) << text;
    EXPECT_NE(text.find("wire-0"), std::string::npos) << text;
    EXPECT_NE(text.find("clock: synchronized, error 1000 ns"), std::string::npos) << text;
}

TEST(CtlReload, WaitsForTheSequenceToMove) {
    fake t;
    int polls = 0;
    t.answer = [&polls](const std::string&) {
        return ++polls < 4 ? status_doc(2, "applied", "applied: 1 change")
                           : status_doc(3, "refused", "refused: ports changed (restart)");
    };
    long signalled = 0;
    uint64_t clock_ms = 0;
    const json r = reload(
            t, 30,
            [&](long pid) {
                signalled = pid;
                return 0;
            },
            [&](unsigned ms) { clock_ms += ms; }, [&] { return clock_ms; });
    EXPECT_EQ(signalled, 4242);
    EXPECT_EQ(r["result"], "refused");
    EXPECT_EQ(r["seq"], 3);
    EXPECT_EQ(reload_status(r), exit_rejected);
    EXPECT_EQ(format_reload(r), "reload #3: refused: ports changed (restart)\n");
    EXPECT_EQ(reload_status(json{{"result", "unchanged"}}), exit_ok);
    EXPECT_EQ(reload_status(json{{"result", "applied"}}), exit_ok);
    EXPECT_EQ(reload_status(json{{"result", "rejected"}}), exit_rejected);
}

// A reload under way when the ctl signals (started 3, decided 2) is decided first as #3: not
// the ctl's answer; the ctl's SIGHUP starts #4 once #3 is done, and that is its answer.
TEST(CtlReload, AReloadUnderWayIsNotOurs) {
    fake t;
    bool signalled = false;
    int polls_after = 0;
    t.answer = [&](const std::string&) {
        if (!signalled) {
            return status_doc(2, "applied", "applied: 1 change", 3);
        }
        ++polls_after;
        if (polls_after < 3) {
            return status_doc(2, "applied", "applied: 1 change", 3);
        }
        if (polls_after < 6) {
            return status_doc(3, "rejected", "rejected: the other's file", 4);
        }
        return status_doc(4, "unchanged", "unchanged: no change", 4);
    };
    uint64_t clock_ms = 0;
    const json r = reload(
            t, 30,
            [&](long) {
                signalled = true;
                return 0;
            },
            [&](unsigned ms) { clock_ms += ms; }, [&] { return clock_ms; });
    EXPECT_EQ(r["seq"], 4);
    EXPECT_EQ(r["result"], "unchanged");
    EXPECT_EQ(polls_after, 6);
}

// A SIGHUP pending but not started when the ctl reads the status (started 2, decided 2): the
// ctl's signal merges into it, and that reload (#3) reads the file after the signal: ours.
TEST(CtlReload, APendingSighupMergedIntoIsOurs) {
    fake t;
    bool signalled = false;
    t.answer = [&](const std::string&) {
        return signalled ? status_doc(3, "applied", "applied: 2 changes", 3)
                         : status_doc(2, "applied", "applied: 1 change", 2);
    };
    uint64_t clock_ms = 0;
    const json r = reload(
            t, 1,
            [&](long) {
                signalled = true;
                return 0;
            },
            [&](unsigned ms) { clock_ms += ms; }, [&] { return clock_ms; });
    EXPECT_EQ(r["seq"], 3);
    EXPECT_EQ(r["result"], "applied");
}

TEST(CtlReload, TimeoutAndSignalFailureExitTwo) {
    fake t;
    t.answer = [](const std::string&) { return status_doc(5, "applied", "applied"); };
    uint64_t clock_ms = 0;
    try {
        reload(
                t, 1, [](long) { return 0; }, [&](unsigned ms) { clock_ms += ms; },
                [&] { return clock_ms; });
        FAIL() << "no timeout";
    } catch (const error& e) {
        EXPECT_EQ(e.status, exit_failed);
        EXPECT_GE(clock_ms, 1000u);
        EXPECT_LT(clock_ms, 1100u);
    }
    try {
        reload(
                t, 1, [](long) { return EPERM; }, [](unsigned) {}, [] { return uint64_t{0}; });
        FAIL() << "no error";
    } catch (const error& e) {
        EXPECT_EQ(e.status, exit_failed);
        EXPECT_NE(std::string(e.what()).find("4242"), std::string::npos);
    }
}

// The pin comes before the status whose pid it checks (that answer proves the pinned process
// still is the box), and a pid the pin refuses is never signalled.
TEST(CtlReload, PinsBeforeReadingTheStatus) {
    fake t;
    std::vector<std::string> order;
    t.answer = [&](const std::string& r) {
        const bool after = std::find(order.begin(), order.end(), "signal") != order.end();
        order.push_back(r);
        return status_doc(after ? 2 : 1, "applied", "applied");
    };
    uint64_t clock_ms = 0;
    const json r = reload(
            t, 5,
            [&](long) {
                order.push_back("signal");
                return 0;
            },
            [&](unsigned ms) { clock_ms += ms; }, [&] { return clock_ms; },
            [&] { order.push_back("pin"); });
    ASSERT_GE(order.size(), 4u);
    EXPECT_EQ(order[0], "pin");
    EXPECT_EQ(order[1], "/twamp/status");
    EXPECT_EQ(order[2], "signal");
    EXPECT_EQ(r["seq"], 2);
}

// A pidfd reaches its own process or none: once that process has exited and been reaped (its
// pid free for another), a signal through it is ESRCH, never delivered elsewhere. Its own pid
// (NSpid) is its getpid().
TEST(CtlPidfd, SignalsThePinnedProcessOrNone) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        for (;;) {
            pause();
        }
    }
    {
        pinned_process p(child);
        EXPECT_EQ(p.pid(), child);
        EXPECT_EQ(p.own_pid(), child) << "one PID namespace: the same number";
        EXPECT_EQ(p.signal(0), 0);
        ASSERT_EQ(kill(child, SIGKILL), 0);
        int st = 0;
        ASSERT_EQ(waitpid(child, &st, 0), child);
        EXPECT_EQ(p.signal(SIGHUP), ESRCH);
    }
    EXPECT_THROW(pinned_process(0), error);
}

TEST(CtlText, TablesAlign) {
    const std::string t = table({"NAME", "N"}, {{"alpha", "5"}, {"b", "1234"}});
    EXPECT_EQ(t, "NAME   N\nalpha     5\nb      1234\n");
    EXPECT_EQ(endpoint("198.18.0.1", 862), "198.18.0.1:862");
    EXPECT_EQ(endpoint("2001:2::1", 862), "[2001:2::1]:862");
    EXPECT_EQ(duration_s(59), "59s");
    EXPECT_EQ(duration_s(61), "1m01s");
    EXPECT_EQ(duration_s(3 * 86400 + 4 * 3600), "3d04h");
    json l{{"sessions", json::array({session("198.18.0.9", 4000, 12)})}, {"complete", true}};
    l["sessions"][0]["worker"] = 1;
    const std::string s = format_sessions(l);
    EXPECT_NE(s.find("198.18.0.9:4000"), std::string::npos) << s;
    EXPECT_NE(s.find("5ms ago"), std::string::npos) << s;
    EXPECT_NE(s.find("1 session\n"), std::string::npos) << s;
}

// The socket client against a SOCK_SEQPACKET server of the test's own, speaking as DPDK
// telemetry does: the info object, then one reply per request.
TEST(CtlSocket, SpeaksTelemetryV2) {
    char dir[] = "/tmp/ctl_test_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    const std::string path = std::string(dir) + "/dpdk_telemetry.v2";
    const int ls = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    ASSERT_GE(ls, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path.c_str());
    ASSERT_EQ(bind(ls, reinterpret_cast<sockaddr*>(&sun), sizeof sun), 0);
    ASSERT_EQ(listen(ls, 1), 0);
    std::thread server([ls] {
        const int c = accept(ls, nullptr, nullptr);
        const std::string info =
                R"({"version": "DPDK 22.11.4", "pid": 1, "max_output_len": 16384})";
        send(c, info.data(), info.size(), 0);
        char buf[1024];
        for (int i = 0; i < 2; ++i) {
            const ssize_t n = recv(c, buf, sizeof buf, 0);
            if (n <= 0) {
                break;
            }
            const std::string cmd(buf, static_cast<std::size_t>(n));
            const std::string reply =
                    cmd == "/twamp/clock"
                            ? R"({"/twamp/clock": {"synchronized": 0, "error_ns": 5}})"
                            : "{\"" + cmd.substr(0, cmd.find(',')) + "\": null}";
            send(c, reply.data(), reply.size(), 0);
        }
        close(c);
    });
    {
        socket_telemetry t(path, "test");
        EXPECT_EQ(t.peer_pid(), getpid()) << "SO_PEERCRED: the listening process";
        EXPECT_EQ(t.info()["max_output_len"], 16384);
        EXPECT_EQ(t.call("/twamp/clock")["error_ns"], 5);
        EXPECT_THROW(t.call("/twamp/nothing,x=1"), error);
    }
    server.join();
    close(ls);
    unlink(path.c_str());
    try {
        socket_telemetry t(path, "test");
        FAIL() << "connected to nothing";
    } catch (const error& e) {
        EXPECT_EQ(e.status, exit_failed);
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    rmdir(dir);
}

TEST(CtlRun, NoBoxNamesTheSocketAndExitsTwo) {
    setenv("XDG_RUNTIME_DIR", "/tmp/ctl_test_no_such_dir", 1);
    std::vector<std::string> args{"dpdk-twamp-ctl", "-f", "nobox", "status"};
    std::vector<char*> v;
    for (auto& a : args) {
        v.push_back(a.data());
    }
    v.push_back(nullptr);
    std::string out, err;
    EXPECT_EQ(run(4, v.data(), out, err), exit_failed);
    EXPECT_NE(err.find("dpdk/nobox/dpdk_telemetry.v2"), std::string::npos) << err;
    EXPECT_NE(err.find("no dpdk-twamp running"), std::string::npos) << err;
}

} // namespace
} // namespace twamp::ctl
