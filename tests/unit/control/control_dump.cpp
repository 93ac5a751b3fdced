// Runs one TWAMP-Control conversation between client_connection and server_connection and prints
// each message as "<S|C> <hex>" (S: server to client), one per line, in order. verify_tshark.py
// puts them into TCP segments and checks what tshark's TWAMP-Control dissector decodes.
//   control_dump [--v6] [--modes N] [--want N] [--sender-port P] [--receiver-port P]
//                [--dscp D] [--padding N] [--timeout-ms N] [--max-sessions N]
// Server side: receiver ports 64364..64373, started one hour before "now".
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "twamp/control/client.hpp"
#include "twamp/control/server.hpp"

namespace tc = twamp::control;

namespace {

void print(char who, const std::vector<uint8_t>& msg) {
    if (msg.empty()) {
        return;
    }
    std::printf("%c ", who);
    for (uint8_t b : msg) {
        std::printf("%02x", b);
    }
    std::printf("\n");
}

} // namespace

int main(int argc, char** argv) {
    bool v6 = false;
    uint32_t modes = tc::mode_unauthenticated;
    uint32_t want = 0;
    tc::session_request q;
    q.sender_port = 40000;
    q.receiver_port = 64364;
    q.timeout_ns = 2'000'000'000ULL;
    uint32_t max_sessions = 16;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> unsigned long {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "control_dump: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return std::strtoul(argv[++i], nullptr, 0);
        };
        if (a == "--v6") {
            v6 = true;
        } else if (a == "--modes") {
            modes = static_cast<uint32_t>(next());
        } else if (a == "--want") {
            want = static_cast<uint32_t>(next());
        } else if (a == "--sender-port") {
            q.sender_port = static_cast<uint16_t>(next());
        } else if (a == "--receiver-port") {
            q.receiver_port = static_cast<uint16_t>(next());
        } else if (a == "--dscp") {
            q.dscp = static_cast<uint8_t>(next());
        } else if (a == "--padding") {
            q.padding_length = static_cast<uint32_t>(next());
        } else if (a == "--timeout-ms") {
            q.timeout_ns = next() * 1'000'000ULL;
        } else if (a == "--max-sessions") {
            max_sessions = static_cast<uint32_t>(next());
        } else {
            std::fprintf(stderr, "control_dump: unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    const uint64_t now = 1'700'000'000'000'000'000ULL;
    tc::connection_addresses addrs{twamp::net::address::v4(198, 18, 0, 2),
                                   twamp::net::address::v4(198, 18, 0, 1)};
    if (v6) {
        q.family = twamp::net::ip_family::ipv6;
        addrs = {*twamp::net::address::parse("2001:2::2"),
                 *twamp::net::address::parse("2001:2::1")};
    }
    tc::port_pool pool({64364, 64373}, max_sessions);
    tc::server_policy policy;
    policy.modes = modes;
    policy.start_time_ns = now - 3600'000'000'000ULL;
    policy.local_addresses = {addrs.local};
    tc::server_connection server(policy, pool, addrs, tc::os_random);
    tc::client_connection client({.wanted_modes = want});

    auto g = server.greeting(now);
    print('S', g.output);
    auto c = client.feed(g.output);
    print('C', c.output);
    auto s = server.feed(c.output, now);
    print('S', s.output);
    client.feed(s.output);
    if (client.state() != tc::client_state::ready) {
        return 0; // refused: the exchange ends here
    }
    auto req = client.request_session(q);
    print('C', req);
    s = server.feed(req, now);
    print('S', s.output);
    client.feed(s.output);
    auto start = client.start_sessions();
    print('C', start);
    s = server.feed(start, now);
    print('S', s.output);
    client.feed(s.output);
    if (server.is_closed()) {
        return 0;
    }
    auto stop = client.stop_sessions();
    print('C', stop);
    s = server.feed(stop, now);
    print('S', s.output); // nothing: Stop-Sessions has no answer
    return 0;
}
