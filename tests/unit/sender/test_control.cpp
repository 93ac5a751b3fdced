// twamp-ping --mode twamp: the TWAMP-Control client conversation (issue 5 item 2). The
// Request-TW-Session a run builds is checked octet by octet against RFC 5357 §3.5's layout; the
// conversation runs against the project's real server_connection (in process, no sockets) and
// against scripted servers for every way a server can refuse or fail.
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "twamp/control/server.hpp"
#include "twamp/sender/control.hpp"
#include "twamp/sender/options.hpp"

namespace {

using namespace twamp::sender;
namespace tc = twamp::control;
namespace cfg = twamp::config;

constexpr uint64_t t0 = 1'790'000'000ULL * 1'000'000'000ULL; // Unix ns, any fixed time

uint32_t be32(const std::vector<uint8_t>& b, std::size_t off) {
    return uint32_t{b[off]} << 24 | uint32_t{b[off + 1]} << 16 | uint32_t{b[off + 2]} << 8 |
           b[off + 3];
}
uint16_t be16(const std::vector<uint8_t>& b, std::size_t off) {
    return static_cast<uint16_t>(b[off] << 8 | b[off + 1]);
}
uint64_t be64(const std::vector<uint8_t>& b, std::size_t off) {
    return uint64_t{be32(b, off)} << 32 | be32(b, off + 4);
}

options parse_ok(std::vector<std::string_view> args) {
    auto r = parse_args(args);
    EXPECT_TRUE(r.opts) << r.error;
    return r.opts.value_or(options{});
}

// Server messages built field by field from RFC 4656 §3.1 / RFC 5357 §3.5, independent of the
// encoders under test.
std::vector<uint8_t> greeting(uint32_t modes) {
    std::vector<uint8_t> b(64, 0);
    b[12] = static_cast<uint8_t>(modes >> 24);
    b[13] = static_cast<uint8_t>(modes >> 16);
    b[14] = static_cast<uint8_t>(modes >> 8);
    b[15] = static_cast<uint8_t>(modes);
    b[50] = 0x04; // Count 1024
    return b;
}
std::vector<uint8_t> server_start(uint8_t accept) {
    std::vector<uint8_t> b(48, 0);
    b[15] = accept;
    b[32] = 0xe9; // some Start-Time
    return b;
}
std::vector<uint8_t> accept_session(uint8_t accept, uint16_t port) {
    std::vector<uint8_t> b(48, 0);
    b[0] = accept;
    b[2] = static_cast<uint8_t>(port >> 8);
    b[3] = static_cast<uint8_t>(port);
    for (int i = 0; i < 16; ++i) {
        b[4 + static_cast<std::size_t>(i)] = static_cast<uint8_t>(0xa0 + i); // SID
    }
    return b;
}
std::vector<uint8_t> start_ack(uint8_t accept) {
    std::vector<uint8_t> b(32, 0);
    b[0] = accept;
    return b;
}
std::vector<uint8_t> cat(std::initializer_list<std::vector<uint8_t>> parts) {
    std::vector<uint8_t> v;
    for (const auto& p : parts) {
        v.insert(v.end(), p.begin(), p.end());
    }
    return v;
}

// A server that answers with fixed chunks, one per receive(), then `last` forever.
struct script_transport final : control_transport {
    std::deque<std::vector<uint8_t>> chunks;
    io_status last = io_status::timeout;
    std::vector<std::vector<uint8_t>> sent;

    io_status send(std::span<const uint8_t> b) override {
        sent.emplace_back(b.begin(), b.end());
        return io_status::ok;
    }
    io_status receive(std::vector<uint8_t>& out) override {
        if (chunks.empty()) {
            return last;
        }
        out.insert(out.end(), chunks.front().begin(), chunks.front().end());
        chunks.pop_front();
        return io_status::ok;
    }
    std::string error_text() const override { return "Connection reset by peer (scripted)"; }
};

// The project's server_connection behind a transport: what the client sends is fed to it, what
// it answers comes back `chunk` octets per receive(); with nothing to say, receive() times out.
struct server_transport final : control_transport {
    tc::port_pool pool;
    tc::server_connection server;
    std::vector<uint8_t> inbox;
    std::size_t chunk;
    std::vector<tc::action> actions;

    server_transport(uint32_t modes, twamp::net::port_range range, uint32_t max_sessions,
                     tc::connection_addresses a, std::size_t chunk_size = 4096)
        : pool(range, max_sessions), server(policy(modes, a), pool, a, counting),
          chunk(chunk_size) {
        take(server.greeting(t0));
    }
    static tc::server_policy policy(uint32_t modes, const tc::connection_addresses& a) {
        tc::server_policy p;
        p.modes = modes;
        p.local_addresses = {a.local}; // the box's address: the connection's
        p.start_time_ns = t0 - 60'000'000'000ULL;
        return p;
    }
    static void counting(std::span<uint8_t> out) {
        static uint8_t n = 1;
        for (auto& b : out) {
            b = n++;
        }
    }
    void take(const tc::result& r) {
        inbox.insert(inbox.end(), r.output.begin(), r.output.end());
        actions.insert(actions.end(), r.actions.begin(), r.actions.end());
    }
    io_status send(std::span<const uint8_t> b) override {
        if (server.is_closed()) {
            return io_status::closed;
        }
        take(server.feed(b, t0));
        return io_status::ok;
    }
    io_status receive(std::vector<uint8_t>& out) override {
        if (inbox.empty()) {
            return server.is_closed() ? io_status::closed : io_status::timeout;
        }
        const std::size_t n = std::min(chunk, inbox.size());
        out.insert(out.end(), inbox.begin(), inbox.begin() + static_cast<long>(n));
        inbox.erase(inbox.begin(), inbox.begin() + static_cast<long>(n));
        return io_status::ok;
    }
    std::string error_text() const override { return "none"; }

    template<class T>
    std::vector<T> all() const {
        std::vector<T> v;
        for (const auto& a : actions) {
            if (const T* x = std::get_if<T>(&a)) {
                v.push_back(*x);
            }
        }
        return v;
    }
};

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

const cfg::ip_address ours = cfg::ip_address::v4(198, 18, 0, 1);
const cfg::ip_address theirs = cfg::ip_address::v4(198, 18, 0, 2);

TEST(SenderControl, PaddingMakesTheRequestSize) {
    // RFC 5357 §4.1.2: the unauthenticated sender packet is 14 octets + Packet Padding.
    EXPECT_EQ(padding_for_payload(41), 27u); // the default: the reply is 41 too (§4.2.1)
    EXPECT_EQ(padding_for_payload(14), 0u);
    EXPECT_EQ(padding_for_payload(15), 1u);
    EXPECT_EQ(padding_for_payload(1472), 1458u);
    for (std::size_t size : {14u, 41u, 100u, 1472u}) {
        EXPECT_EQ(14 + padding_for_payload(size), size);
    }
}

TEST(SenderControl, RequestFieldsFromOptions) {
    options o = parse_ok({"--mode", "twamp", "-s", "100", "--dscp", "46", "--session-timeout",
                          "2.5", "--receiver-port", "64400", "--sessions", "3", "198.18.0.2"});
    tc::session_request r = build_session_request(o, 2, ours, 50002, theirs);
    EXPECT_EQ(r.family, cfg::ip_family::ipv4);
    EXPECT_EQ(r.sender, ours);
    EXPECT_EQ(r.sender_port, 50002);
    EXPECT_EQ(r.receiver, theirs);
    EXPECT_EQ(r.receiver_port, 64402); // --receiver-port + session index
    EXPECT_EQ(r.padding_length, 86u);  // 100 - 14
    EXPECT_EQ(r.dscp, 46);
    EXPECT_EQ(r.timeout_ns, 2'500'000'000u);
    EXPECT_EQ(r.start_time, 0u);

    options d = parse_ok({"--mode", "twamp", "h"});
    r = build_session_request(d, 0, ours, 40000, theirs);
    EXPECT_EQ(r.receiver_port, 0); // the server chooses
    EXPECT_EQ(r.padding_length, 27u);
    EXPECT_EQ(r.timeout_ns, 2'000'000'000u); // --session-timeout default
    EXPECT_EQ(r.dscp, 0);
}

// The Request-TW-Session on the wire, from a client that went through greeting and
// Server-Start; offsets from RFC 5357 §3.5.
std::vector<uint8_t> wire_request(const tc::session_request& r) {
    script_transport t;
    t.chunks = {greeting(1), server_start(0), accept_session(0, 64400)};
    control_client c(t, "s", 5);
    EXPECT_TRUE(c.open()) << c.error();
    EXPECT_TRUE(c.request(r)) << c.error();
    EXPECT_EQ(t.sent.size(), 2u);
    return t.sent.size() == 2 ? t.sent[1] : std::vector<uint8_t>{};
}

TEST(SenderControl, RequestOnTheWireIpv4) {
    options o = parse_ok({"--mode", "twamp", "-s", "100", "--dscp", "46", "--session-timeout",
                          "2.5", "--receiver-port", "64400", "h"});
    auto b = wire_request(build_session_request(o, 0, ours, 50000, theirs));
    ASSERT_EQ(b.size(), 112u);
    EXPECT_EQ(b[0], 5);                         // Request-TW-Session
    EXPECT_EQ(b[1], 4);                         // MBZ | IPVN 4
    EXPECT_EQ(b[2], 0);                         // Conf-Sender
    EXPECT_EQ(b[3], 0);                         // Conf-Receiver
    EXPECT_EQ(be32(b, 4), 0u);                  // Number of Schedule Slots
    EXPECT_EQ(be16(b, 12), 50000);              // Sender Port
    EXPECT_EQ(be16(b, 14), 64400);              // Receiver Port
    EXPECT_EQ(be32(b, 16), 0xc6120001u);        // Sender Address 198.18.0.1
    EXPECT_EQ(be32(b, 20), 0u);                 // (IPv4: the rest of the 16 octets is zero)
    EXPECT_EQ(be32(b, 32), 0xc6120002u);        // Receiver Address 198.18.0.2
    EXPECT_EQ(be32(b, 64), 86u);                // Padding Length
    EXPECT_EQ(be64(b, 68), 0u);                 // Start Time: now
    EXPECT_EQ(be64(b, 76), 0x280000000ULL);     // Timeout 2.5 s as NTP seconds.fraction
    EXPECT_EQ(be32(b, 84), uint32_t{46} << 24); // Type-P: 00 then DSCP 46 (RFC 4656 §3.5)
}

TEST(SenderControl, RequestOnTheWireIpv6) {
    const auto a = *cfg::ip_address::parse("2001:2::1");
    const auto s = *cfg::ip_address::parse("2001:2::2");
    options o = parse_ok({"--mode", "twamp", "h"});
    auto b = wire_request(build_session_request(o, 0, a, 40000, s));
    ASSERT_EQ(b.size(), 112u);
    EXPECT_EQ(b[1], 6);
    EXPECT_EQ(std::vector<uint8_t>(b.begin() + 16, b.begin() + 32),
              std::vector<uint8_t>(a.bytes.begin(), a.bytes.end()));
    EXPECT_EQ(std::vector<uint8_t>(b.begin() + 32, b.begin() + 48),
              std::vector<uint8_t>(s.bytes.begin(), s.bytes.end()));
    EXPECT_EQ(be16(b, 14), 0); // any receiver port
    EXPECT_EQ(be32(b, 64), 27u);
}

// The whole conversation with the project's server: three sessions, requested ports honoured,
// every field the server records as we asked, then Start and Stop.
void full_conversation(std::size_t chunk) {
    server_transport t(tc::mode_unauthenticated, {64400, 64409}, 16, {theirs, ours}, chunk);
    options o = parse_ok({"--mode", "twamp", "--sessions", "3", "--receiver-port", "64405",
                          "--dscp", "34", "-s", "200", "--session-timeout", "3", "h"});
    control_client c(t, "198.18.0.2:862", 5);
    ASSERT_TRUE(c.open()) << c.error();
    EXPECT_EQ(c.server_modes(), tc::mode_unauthenticated);
    EXPECT_EQ(c.mode(), tc::mode_unauthenticated);
    std::vector<negotiated_session> got;
    for (std::size_t i = 0; i < 3; ++i) {
        auto s = c.request(
                build_session_request(o, i, ours, static_cast<uint16_t>(50000 + i), theirs));
        ASSERT_TRUE(s) << c.error();
        got.push_back(*s);
    }
    ASSERT_TRUE(c.start()) << c.error();
    ASSERT_TRUE(c.stop()) << c.error();

    auto accepted = t.all<tc::session_accepted>();
    ASSERT_EQ(accepted.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        const tc::session_info& s = accepted[i].session;
        EXPECT_EQ(got[i].port, 64405 + i);
        EXPECT_EQ(s.receiver_port, got[i].port);
        EXPECT_EQ(s.sid, got[i].sid);
        EXPECT_EQ(s.sender, ours);
        EXPECT_EQ(s.sender_port, 50000 + i);
        EXPECT_EQ(s.receiver, theirs);
        EXPECT_EQ(s.dscp, 34);
        EXPECT_EQ(s.padding_length, 186u);
        EXPECT_EQ(s.timeout_ns, 3'000'000'000u);
    }
    auto started = t.all<tc::sessions_started>();
    ASSERT_EQ(started.size(), 1u);
    EXPECT_EQ(started[0].sids.size(), 3u);
    auto stopped = t.all<tc::sessions_stopped>();
    ASSERT_EQ(stopped.size(), 1u);
    EXPECT_EQ(stopped[0].sessions.size(), 3u);
    EXPECT_EQ(stopped[0].accept, 0);
    EXPECT_FALSE(t.server.is_closed()); // nothing we sent was wrong
    EXPECT_TRUE(t.inbox.empty());
}

TEST(SenderControl, ConversationWithTheProjectServer) {
    full_conversation(4096);
}

TEST(SenderControl, ConversationOctetByOctet) {
    full_conversation(1);
}

TEST(SenderControl, ServerChoosesAnotherPort) {
    server_transport t(tc::mode_unauthenticated, {64400, 64409}, 16, {theirs, ours});
    options o = parse_ok({"--mode", "twamp", "--receiver-port", "862", "h"});
    control_client c(t, "198.18.0.2:862", 5);
    ASSERT_TRUE(c.open()) << c.error();
    auto s = c.request(build_session_request(o, 0, ours, 50000, theirs));
    ASSERT_TRUE(s) << c.error();
    EXPECT_GE(s->port, 64400);
    EXPECT_LE(s->port, 64409);
}

TEST(SenderControl, ServerSessionLimitIsAcceptFive) {
    server_transport t(tc::mode_unauthenticated, {64400, 64409}, 1, {theirs, ours});
    options o = parse_ok({"--mode", "twamp", "--sessions", "2", "h"});
    control_client c(t, "198.18.0.2:862", 5);
    ASSERT_TRUE(c.open()) << c.error();
    ASSERT_TRUE(c.request(build_session_request(o, 0, ours, 50000, theirs))) << c.error();
    EXPECT_FALSE(c.request(build_session_request(o, 1, ours, 50001, theirs)));
    EXPECT_TRUE(contains(c.error(), "refused session 2")) << c.error();
    EXPECT_TRUE(contains(c.error(), "Accept-Session Accept 5")) << c.error();
    EXPECT_TRUE(contains(c.error(), "temporary resource limitations")) << c.error();
}

TEST(SenderControl, ServerWithoutModesRefusesUs) {
    server_transport t(0, {64400, 64409}, 16, {theirs, ours});
    control_client c(t, "198.18.0.2:862", 5);
    EXPECT_FALSE(c.open());
    EXPECT_TRUE(contains(c.error(), "refused the connection")) << c.error();
    EXPECT_TRUE(contains(c.error(), "Modes 0")) << c.error();
}

TEST(SenderControl, AuthenticatedOnlyServer) {
    script_transport t;
    t.chunks = {greeting(tc::mode_authenticated | tc::mode_encrypted)};
    control_client c(t, "s:862", 5);
    EXPECT_FALSE(c.open());
    EXPECT_TRUE(contains(c.error(), "offers modes authenticated, encrypted but not "
                                    "unauthenticated"))
            << c.error();
    // RFC 4656 §3.1: a client that accepts no mode answers Mode 0 and closes.
    ASSERT_EQ(t.sent.size(), 1u);
    ASSERT_EQ(t.sent[0].size(), 164u);
    EXPECT_EQ(be32(t.sent[0], 0), 0u);
}

TEST(SenderControl, SetUpResponseIsUnauthenticated) {
    script_transport t;
    t.chunks = {
            greeting(tc::mode_unauthenticated | tc::mode_authenticated | tc::mode_reflect_octets)};
    control_client c(t, "s:862", 5);
    EXPECT_FALSE(c.open()); // no Server-Start follows: times out
    ASSERT_EQ(t.sent.size(), 1u);
    ASSERT_EQ(t.sent[0].size(), 164u);
    EXPECT_EQ(be32(t.sent[0], 0), 1u); // Mode: unauthenticated, no feature bit asked for
    EXPECT_TRUE(contains(c.error(), "no Server-Start from TWAMP-Control server s:862 within 5 s"))
            << c.error();
}

TEST(SenderControl, ServerStartRefusal) {
    script_transport t;
    t.chunks = {greeting(1), server_start(3)};
    control_client c(t, "s:862", 5);
    EXPECT_FALSE(c.open());
    EXPECT_TRUE(contains(c.error(), "Server-Start Accept 3")) << c.error();
    EXPECT_TRUE(contains(c.error(), "not supported")) << c.error();
}

TEST(SenderControl, EveryAcceptSessionRefusalIsNamed) {
    // RFC 4656 §3.3 Accept values.
    const char* meaning[] = {
            nullptr,
            "failure, reason unspecified",
            "internal error",
            "some aspect of the request is not supported",
            "cannot perform the request due to permanent resource limitations",
            "cannot perform the request due to temporary resource limitations",
    };
    for (uint8_t code = 1; code <= 5; ++code) {
        script_transport t;
        t.chunks = {greeting(1), server_start(0), accept_session(code, 0)};
        control_client c(t, "s:862", 5);
        ASSERT_TRUE(c.open()) << c.error();
        options o = parse_ok({"--mode", "twamp", "--receiver-port", "64400", "h"});
        EXPECT_FALSE(c.request(build_session_request(o, 0, ours, 1, theirs)));
        EXPECT_TRUE(contains(c.error(), "refused session 1 (receiver port 64400): Accept-Session "
                                        "Accept " +
                                                std::to_string(code) + " (" + meaning[code] + ")"))
                << c.error();
        EXPECT_EQ(accept_meaning(code), meaning[code]);
    }
    EXPECT_EQ(accept_meaning(9), "unknown Accept value");
}

TEST(SenderControl, AcceptWithPortZeroIsMalformed) {
    script_transport t;
    t.chunks = {greeting(1), server_start(0), accept_session(0, 0)};
    control_client c(t, "s:862", 5);
    ASSERT_TRUE(c.open());
    EXPECT_FALSE(c.request(build_session_request(options{}, 0, ours, 1, theirs)));
    EXPECT_TRUE(contains(c.error(), "malformed Accept-Session")) << c.error();
}

TEST(SenderControl, StartAckRefusal) {
    script_transport t;
    t.chunks = {greeting(1), server_start(0), accept_session(0, 64400), start_ack(2)};
    control_client c(t, "s:862", 5);
    ASSERT_TRUE(c.open());
    ASSERT_TRUE(c.request(build_session_request(options{}, 0, ours, 1, theirs)));
    EXPECT_FALSE(c.start());
    EXPECT_TRUE(contains(c.error(), "refused Start-Sessions: Start-Ack Accept 2 (internal error)"))
            << c.error();
}

TEST(SenderControl, ConnectionClosedMidGreeting) {
    script_transport t;
    auto g = greeting(1);
    t.chunks = {std::vector<uint8_t>(g.begin(), g.begin() + 20)};
    t.last = io_status::closed;
    control_client c(t, "s:862", 5);
    EXPECT_FALSE(c.open());
    EXPECT_TRUE(contains(c.error(), "closed the connection while we waited for its "
                                    "Server-Greeting"))
            << c.error();
    EXPECT_TRUE(t.sent.empty());
}

TEST(SenderControl, SocketErrorIsReported) {
    script_transport t;
    t.chunks = {greeting(1), server_start(0)};
    t.last = io_status::error;
    control_client c(t, "s:862", 5);
    ASSERT_TRUE(c.open());
    EXPECT_FALSE(c.request(build_session_request(options{}, 0, ours, 1, theirs)));
    EXPECT_TRUE(contains(c.error(), "failed while we waited for its Accept-Session for session 1: "
                                    "Connection reset by peer"))
            << c.error();
}

TEST(SenderControl, OctetsNobodyAskedFor) {
    script_transport t;
    t.chunks = {cat({greeting(1), server_start(0), std::vector<uint8_t>(5, 0xee)})};
    control_client c(t, "s:862", 5);
    EXPECT_FALSE(c.open());
    EXPECT_TRUE(contains(c.error(), "octets nobody asked for")) << c.error();
}

TEST(SenderControl, ServerSpeakingDuringTheTest) {
    script_transport t;
    t.chunks = {greeting(1), server_start(0), accept_session(0, 64400), start_ack(0)};
    control_client c(t, "s:862", 5);
    ASSERT_TRUE(c.open());
    ASSERT_TRUE(c.request(build_session_request(options{}, 0, ours, 1, theirs)));
    ASSERT_TRUE(c.start());
    EXPECT_TRUE(contains(c.unexpected({}), "closed the connection during the test"));
    const std::vector<uint8_t> junk(3, 1);
    EXPECT_TRUE(contains(c.unexpected(junk), "sent 3 octets during the test"));
    EXPECT_FALSE(c.stop()); // the state machine closed on them: nothing more is sent
    EXPECT_EQ(t.sent.size(), 3u);
}

TEST(SenderControl, ModesInWords) {
    EXPECT_EQ(modes_to_string(0), "none");
    EXPECT_EQ(modes_to_string(1 | 16 | 64), "unauthenticated, individual session control, "
                                            "symmetrical size");
    EXPECT_EQ(modes_to_string(1 | 0x100), "unauthenticated, unknown bits 0x100");
    EXPECT_EQ(modes_to_string(2 | 4 | 8 | 32), "authenticated, encrypted, mixed, reflect octets");
    // twamp-ping has never named the PTPv2 bit (RFC 8186): it stays among the unknown bits.
    EXPECT_EQ(modes_to_string(1 | 512 | 0x100), "unauthenticated, unknown bits 0x300");
}

} // namespace
