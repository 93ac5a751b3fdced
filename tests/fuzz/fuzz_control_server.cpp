// libFuzzer target: the TWAMP-Control driver (slowpath::control_server) without sockets, on the
// fake control_io of the unit tests. The input is a script of operations on several client
// connections: connect (from addresses inside and outside control.prefixes), send bytes (raw,
// or well-formed messages with fuzzed fields), read or stop reading, close, reset, let time
// pass (SERVWAIT, setup-timeout, session timeouts, REFWAIT), reload the limits. After every
// operation the server is polled until it has no more work, and checked:
//   - its open connections are exactly the fake's accepted, not closed ones;
//   - connections <= max-connections + those being refused, pending <= max-pending;
//   - sessions <= max-sessions, and the last published table has every session;
//   - no connection is used after the server closed it (the fake throws: a crash);
//   - every event it emits formats as one line (log::format_line) and as journald fields;
// and at the end, after shutdown(), nothing is open and the table is empty (ASan: no leak).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "../unit/control/fake_control_io.hpp"
#include "../unit/control/helpers.hpp"

#include "twamp/config/config.hpp"
#include "twamp/log/events.hpp"
#include "twamp/slowpath/control_server.hpp"

using namespace twamp;
using twamp::control::test::fake_control_io;

namespace {

constexpr uint64_t s = 1'000'000'000ULL;
// Output queued before the server stops reading a connection (64 KiB in the box): 43 answers
// back a client up, so a short flood reaches the backed-up state (and SERVWAIT's
// send_stalled) instead of ~1,400 requests an input, most of the time of a run.
constexpr std::size_t max_out = 2048;

struct reader {
    const uint8_t* p;
    std::size_t n;
    bool empty() const { return n == 0; }
    uint8_t u8() {
        if (n == 0) {
            return 0;
        }
        --n;
        return *p++;
    }
    uint16_t u16() { return static_cast<uint16_t>(u8() << 8 | u8()); }
    std::span<const uint8_t> bytes(std::size_t want) {
        const std::size_t k = want < n ? want : n;
        std::span<const uint8_t> out(p, k);
        p += k;
        n -= k;
        return out;
    }
};

config::config make_config(uint8_t variant) {
    config::config c;
    config::port_config p;
    p.name = "p0";
    p.addresses = {*config::ip_prefix::parse("198.18.0.2/24"),
                   *config::ip_prefix::parse("2001:2::2/64")};
    c.ports.push_back(p);
    c.control.enabled = true;
    c.control.prefixes = {*config::ip_prefix::parse("198.18.0.0/15"),
                          *config::ip_prefix::parse("2001:2::/48")};
    c.control.modes = control::mode_unauthenticated | control::mode_individual_session_control |
                      control::mode_reflect_octets | control::mode_symmetrical_size;
    c.control.max_connections = 2 + (variant & 7);
    c.control.max_connections_per_source = 1 + ((variant >> 3) & 3);
    c.control.max_pending = 1 + ((variant >> 5) & 3);
    c.control.max_sessions = 1 + (variant % 5);
    c.control.max_pending_per_source = 1 + ((variant >> 7) & 1);
    c.control.max_sessions_per_connection = 1 + ((variant >> 6) & 3);
    c.control.max_sessions_per_source = 1 + ((variant >> 4) & 3); // (the harness's sources)
    if ((variant & 0x40) != 0) {
        // Authenticated variant: the secure modes offered, so a Set-Up-Response naming them
        // reaches the derivation limiter (per-source share, global bucket) and the derivation
        // (a cheap kdf-count; unknown or empty KeyIDs derive too).
        c.keys.add({"fuzz", {1, 2, 3, 4}});
        c.control.modes |=
                control::mode_authenticated | control::mode_encrypted | control::mode_mixed;
        c.control.kdf_count = 1024;
        c.control.max_key_derivations = 1 + (variant & 7);
    }
    c.control.receiver_ports = {64364, 64367};
    c.control.servwait = 30;
    c.control.setup_timeout = 5;
    c.control.refwait = 10;
    c.control.max_timeout = 3;
    c.control.idle_timeout = 10 * (variant & 3); // 0 (off), 10, 20, 30 s
    return c;
}

const net::address sources[4] = {
        net::address::v4(198, 18, 0, 1), net::address::v4(198, 19, 0, 1),
        *net::address::parse("2001:2::1"),
        net::address::v4(203, 0, 113, 1), // outside control.prefixes
};
const net::address boxes[4] = {
        net::address::v4(198, 18, 0, 2),
        net::address::v4(198, 18, 0, 2),
        *net::address::parse("2001:2::2"),
        net::address::v4(198, 18, 0, 2),
};

// The receiver ports' activity (512 KiB), one for every input, zeroed before each: a new one
// an input cost a fresh mapping and its page faults (ASan maps large blocks), most of the time
// of a short input.
dataplane::port_activity* activity() {
    static auto* a = new dataplane::port_activity();
    return a;
}

void fail(const char* what) {
    std::fprintf(stderr, "invariant: %s\n", what);
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    reader in{data, size};
    config::config cfg = make_config(in.u8());
    std::size_t limit_conns = cfg.control.max_connections;
    std::size_t limit_pending = cfg.control.max_pending;
    std::size_t limit_sessions = cfg.control.max_sessions;
    auto fake = std::make_unique<fake_control_io>();
    fake_control_io& io = *fake;
    uint64_t now = 1'700'000'000ULL * s;
    uint64_t tsc = 1;
    std::size_t table_size = 0;
    slowpath::control_env env;
    env.io = std::move(fake);
    env.tsc = [&tsc] { return tsc; };
    env.tsc_hz = s;
    env.start_ns = now;
    env.monotonic_ns = [&now] { return now; };
    env.random = control::test::counting_random{};
    env.max_out = max_out;
    env.activity = activity();
    // The events (issue 19): each formatted as its stderr line and its journald fields, as the
    // box's sinks do; a line is always one line.
    env.events = [](log::event&& e) {
        const std::string line = log::format_line(e);
        if (line.find('\n') != std::string::npos || line.rfind("dpdk-twamp: ", 0) != 0) {
            std::abort();
        }
        (void)log::journal_fields(e);
    };
    // All zero (never active), as a new one is: no state from the previous input.
    std::memset(static_cast<void*>(env.activity), 0, sizeof(dataplane::port_activity));
    slowpath::control_server server(
            cfg,
            [&table_size](std::unique_ptr<dataplane::control_table> t) { table_size = t->size(); },
            std::move(env));
    std::string error;
    if (!server.start(error)) {
        fail("start");
    }
    std::vector<int> fds; // every connection made, in order
    auto pick = [&](uint8_t b) -> int { return fds.empty() ? -1 : fds[b % fds.size()]; };
    auto usable = [&](int fd) { return fd >= 0 && !io.peers.at(fd).closed; };

    for (int ops = 0; !in.empty() && ops < 256; ++ops) {
        const uint8_t op = in.u8();
        const int fd = pick(in.u8());
        switch (op % 12) {
        case 0: { // connect
            const uint8_t who = in.u8() % 4;
            fds.push_back(io.connect(sources[who], boxes[who]));
            break;
        }
        case 1: // raw bytes
            if (usable(fd)) {
                io.send_to_server(fd, in.bytes(in.u8()));
            }
            break;
        case 2: // a Set-Up-Response with a fuzzed Mode
            if (usable(fd)) {
                uint32_t mode = in.u8() & 0x7f;
                io.send_to_server(fd, control::test::setup_response_bytes(mode ? mode : 1).v);
            }
            break;
        case 3: { // a Request-TW-Session with fuzzed fields
            if (usable(fd)) {
                control::test::request_fields f;
                const uint8_t k = in.u8();
                f.ipvn = (k & 1) ? 6 : 4;
                f.receiver_port = static_cast<uint16_t>(64360 + (in.u8() & 15));
                f.sender_port = in.u16();
                f.padding = in.u16();
                f.timeout = static_cast<uint64_t>(in.u8() & 7) << 32;
                f.type_p = (k & 2) ? uint32_t{in.u8()} << 24 : 0;
                f.octets_to_reflect = (k & 4) ? in.u8() : 0;
                f.padding_to_reflect = (k & 8) ? in.u8() : 0;
                f.conf_sender = (k & 16) ? 1 : 0;
                io.send_to_server(fd, control::test::request_bytes(f).v);
            }
            break;
        }
        case 4: // Start-Sessions / Stop-Sessions
            if (usable(fd)) {
                io.send_to_server(fd, (in.u8() & 1) ? control::test::start_sessions_bytes().v
                                                    : control::test::stop_sessions_bytes().v);
            }
            break;
        case 5: // Start-N / Stop-N with made-up SIDs
            if (usable(fd)) {
                std::vector<control::sid_t> sids(in.u8() % 3);
                for (auto& sid : sids) {
                    auto b = in.bytes(16);
                    std::copy(b.begin(), b.end(), sid.begin());
                }
                io.send_to_server(fd, control::test::n_bytes((in.u8() & 1) ? 7 : 9, 0, sids).v);
            }
            break;
        case 6: // the client reads everything, or sets its window
            if (usable(fd)) {
                const uint8_t w = in.u8();
                io.take(fd);
                io.set_window(fd, w == 0 ? 0 : (w < 128 ? std::size_t{w} * 64 : 1'000'000'000));
            }
            break;
        case 7: // close / reset
            if (usable(fd)) {
                if (in.u8() & 1) {
                    io.client_close(fd);
                } else {
                    io.client_reset(fd);
                }
            }
            break;
        case 8: // time passes
            now += uint64_t{in.u8()} * s / 4;
            break;
        case 9: // test packets (REFWAIT: the ports stay quiet, time passes on the TSC)
            tsc += uint64_t{in.u8()} * s / 2;
            break;
        case 10: // reload with other limits
            cfg = make_config(in.u8());
            server.reconfigure(cfg);
            limit_conns = std::max<std::size_t>(limit_conns, cfg.control.max_connections);
            limit_pending = std::max<std::size_t>(limit_pending, cfg.control.max_pending);
            limit_sessions = std::max<std::size_t>(limit_sessions, cfg.control.max_sessions);
            break;
        case 11: // a flood of one request, to back up a client that does not read
            if (usable(fd)) {
                // Up to 256 requests: 12 KiB of answers (48 octets each), max_out 6 times over.
                auto one = control::test::request_bytes({}).v;
                const std::size_t n = 1 + in.u8();
                for (std::size_t i = 0; i < n; ++i) {
                    io.send_to_server(fd, one);
                }
            }
            break;
        }
        // It settles: a server that never goes idle (spinning on a readable listener or a
        // connection it cannot serve) is a bug, whatever it does.
        for (int i = 0; i < 100'000 && server.poll(now); ++i) {
        }
        if (server.poll(now)) {
            fail("poll() never goes idle");
        }
        // Invariants, against the largest limits in force since the start (a reload keeps the
        // connections and sessions it finds). Refused connections are closed right after their
        // greeting: they count nowhere.
        if (server.connections_open() > limit_conns) {
            fail("connections over max-connections");
        }
        if (server.pending() > limit_pending) {
            fail("pending over max-pending (config)");
        }
        if (server.sessions() > limit_sessions) {
            fail("sessions over max-sessions (config)");
        }
        const std::size_t open = io.open_count() - io.backlog();
        if (server.connections_open() != open) {
            fail("connections_open != accepted, not closed connections");
        }
        if (server.pending() > open || server.pending() > 4) {
            fail("pending over max-pending");
        }
        if (server.sessions() > 5) {
            fail("sessions over max-sessions");
        }
        if (table_size != server.sessions()) {
            fail("published table != sessions");
        }
        if (server.backed_up() > open) {
            fail("backed_up > connections");
        }
    }
    server.shutdown(now);
    if (io.open_count() != io.backlog() || server.connections_open() != 0) {
        fail("connections left open after shutdown");
    }
    if (table_size != 0 || server.sessions() != 0) {
        fail("sessions left after shutdown");
    }
    return 0;
}
