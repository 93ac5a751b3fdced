#include "twamp/sender/options.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "twamp/sender/packet.hpp"

namespace twamp::sender {

const char* const usage_text =
        "usage: twamp-ping [options] HOST[:PORT]\n"
        "\n"
        "Session-Sender for TWAMP Light (RFC 5357 Appendix I), STAMP (RFC 8762, RFC 8972) and\n"
        "full TWAMP (RFC 5357, unauthenticated TWAMP-Control client): sends test packets to a\n"
        "reflector and reports round trip, one-way delays, jitter and loss. HOST is a name, an\n"
        "IPv4 address or an IPv6 address (\"[2001:2::2]:862\" with a port); PORT defaults to 862\n"
        "(with --mode twamp: the TWAMP-Control TCP port).\n"
        "\n"
        "  --mode light|stamp|twamp\n"
        "                       TWAMP Light (default) or STAMP test packets to HOST:PORT, or\n"
        "                       full TWAMP: negotiate sessions with the TWAMP-Control server at\n"
        "                       HOST:PORT (TCP), then send TWAMP-Test packets to the ports it\n"
        "                       accepted\n"
        "  -c COUNT             send COUNT packets, then stop (default: until interrupted);\n"
        "                       with --sessions, COUNT in all, spread round-robin\n"
        "  -i INTERVAL          seconds between packets, at least 0.001 (default 1)\n"
        "  --rate PPS           packets per second on a fixed schedule, instead of -i\n"
        "                       (up to 1000000)\n"
        "  -s SIZE              UDP payload octets, padding zeros. light, twamp: 14 or more\n"
        "                       (default 41, the reply's size; twamp asks for SIZE - 14 octets of\n"
        "                       padding); stamp: 44 (default) or 48 and more (an Extra Padding\n"
        "                       TLV fills the rest)\n"
        "  --dscp DSCP          DSCP of the requests, 0..63 (default 0); twamp: also the\n"
        "                       Type-P DSCP the reflector is asked to send its replies with\n"
        "  --timestamp ntp|ptp  timestamp format of T1, asks the reflector for the same\n"
        "                       (Error Estimate Z bit; default ntp)\n"
        "  --ssid SSID          STAMP Session-Sender Identifier, 0..65535 (default 1)\n"
        "  --src-port PORT      local UDP port (default: any free one); twamp with --sessions:\n"
        "                       PORT, PORT+1, ...\n"
        "  -W TIMEOUT           seconds to wait for each reply; later ones count as lost\n"
        "                       (default 2). twamp: also the limit on the TCP connect and each\n"
        "                       TWAMP-Control answer, never less than 5\n"
        "  --receiver-port N    twamp: the receiver port to request, 1..65535 (N, N+1, ... with\n"
        "                       --sessions; default 0: the server chooses)\n"
        "  --session-timeout S  twamp: seconds the reflector keeps reflecting after\n"
        "                       Stop-Sessions (Request-TW-Session Timeout), 0..86400 (default 2)\n"
        "  --sessions N         twamp: negotiate N sessions, 1..64, each from its own UDP port\n"
        "                       (default 1)\n"
        "  --json               one JSON object per line: one per packet, then a summary\n"
        "  -q                   print the summary only\n"
        "  -h, --help           this text\n"
        "  -V, --version        print the version\n"
        "\n"
        "Exit status: 0 when replies came back, 1 when none did or the TWAMP-Control server\n"
        "refused or failed, 2 on a usage error.\n";

namespace {

bool parse_uint(std::string_view s, uint64_t lo, uint64_t hi, uint64_t& out) {
    if (s.empty()) {
        return false;
    }
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
    if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) {
        return false;
    }
    out = v;
    return true;
}

bool parse_double(std::string_view s, double& out) {
    if (s.empty() || s.size() > 64) {
        return false;
    }
    std::string tmp(s); // strtod needs a terminated string
    char* end = nullptr;
    double v = std::strtod(tmp.c_str(), &end);
    if (end != tmp.c_str() + tmp.size() || !std::isfinite(v)) {
        return false;
    }
    out = v;
    return true;
}

std::string quoted(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

} // namespace

bool split_host_port(std::string_view in, std::string& host, uint16_t& port, std::string& error) {
    port = default_port;
    std::string_view port_s;
    if (in.empty()) {
        error = "no host given";
        return false;
    }
    if (in.front() == '[') {
        auto close = in.find(']');
        if (close == std::string_view::npos) {
            error = "host " + quoted(in) + ": missing \"]\"";
            return false;
        }
        host = std::string(in.substr(1, close - 1));
        std::string_view rest = in.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':' || rest.size() == 1) {
                error = "host " + quoted(in) + ": expected \"[ADDRESS]:PORT\"";
                return false;
            }
            port_s = rest.substr(1);
        }
    } else {
        auto first = in.find(':');
        if (first != std::string_view::npos && in.find(':', first + 1) != std::string_view::npos) {
            host = std::string(in); // a bare IPv6 address: its colons are not a port
        } else if (first != std::string_view::npos) {
            host = std::string(in.substr(0, first));
            port_s = in.substr(first + 1);
            if (port_s.empty()) {
                error = "host " + quoted(in) + ": empty port";
                return false;
            }
        } else {
            host = std::string(in);
        }
    }
    if (host.empty()) {
        error = "host " + quoted(in) + ": empty address";
        return false;
    }
    if (!port_s.empty()) {
        uint64_t v = 0;
        if (!parse_uint(port_s, 1, 65535, v)) {
            error = "host " + quoted(in) + ": port " + quoted(port_s) + " is not 1..65535";
            return false;
        }
        port = static_cast<uint16_t>(v);
    }
    return true;
}

parse_result parse_args(const std::vector<std::string_view>& args) {
    parse_result res;
    options o;
    bool interval_given = false;
    bool rate_given = false;
    std::string target;
    auto fail = [&](std::string msg) {
        res.error = std::move(msg);
        return res;
    };

    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view a = args[i];
        std::string_view name = a;
        std::string_view value;
        bool has_value = false;
        if (a.size() > 2 && a[0] == '-' && a[1] == '-') {
            if (auto eq = a.find('='); eq != std::string_view::npos) {
                name = a.substr(0, eq);
                value = a.substr(eq + 1);
                has_value = true;
            }
        } else if (a.size() > 2 && a[0] == '-' && a[1] != '-') {
            // -c5 style: a short option glued to its value.
            name = a.substr(0, 2);
            value = a.substr(2);
            has_value = true;
        }
        auto needs_value = [&](std::string_view n) {
            return n == "-c" || n == "-i" || n == "-s" || n == "-W" || n == "--mode" ||
                   n == "--rate" || n == "--dscp" || n == "--timestamp" || n == "--ssid" ||
                   n == "--src-port" || n == "--receiver-port" || n == "--session-timeout" ||
                   n == "--sessions";
        };
        if (needs_value(name) && !has_value) {
            if (i + 1 >= args.size()) {
                return fail(std::string(name) + " needs a value");
            }
            value = args[++i];
            has_value = true;
        }
        if (has_value && !needs_value(name)) {
            return fail("unknown option " + quoted(a));
        }

        if (name == "-h" || name == "--help") {
            o.help = true;
        } else if (name == "-V" || name == "--version") {
            o.version = true;
        } else if (name == "-q") {
            o.quiet = true;
        } else if (name == "--json") {
            o.json = true;
        } else if (name == "--mode") {
            if (value == "light") {
                o.mode = mode::light;
            } else if (value == "stamp") {
                o.mode = mode::stamp;
            } else if (value == "twamp") {
                o.mode = mode::twamp;
            } else {
                return fail("--mode " + quoted(value) + ": expected light, stamp or twamp");
            }
        } else if (name == "-c") {
            uint64_t v = 0;
            // Sequence Numbers are 32 bits: one run cannot number more packets.
            if (!parse_uint(value, 1, uint64_t{1} << 32, v)) {
                return fail("-c " + quoted(value) + ": expected a count of 1..4294967296");
            }
            o.count = v;
        } else if (name == "-i") {
            double v = 0;
            if (!parse_double(value, v) || v < 0.001 || v > 86400) {
                return fail("-i " + quoted(value) +
                            ": expected seconds between packets, 0.001..86400 (faster: --rate)");
            }
            o.interval_s = v;
            interval_given = true;
        } else if (name == "--rate") {
            double v = 0;
            if (!parse_double(value, v) || v < 0.001 || v > 1e6) {
                return fail("--rate " + quoted(value) +
                            ": expected packets per second, 0.001..1000000");
            }
            o.interval_s = 1.0 / v;
            o.paced = true;
            rate_given = true;
        } else if (name == "-s") {
            uint64_t v = 0;
            if (!parse_uint(value, 1, max_size_ipv6, v)) {
                return fail("-s " + quoted(value) + ": expected a UDP payload size of " +
                            std::to_string(light_min_size) + ".." + std::to_string(max_size_ipv6));
            }
            o.size = static_cast<std::size_t>(v);
        } else if (name == "--dscp") {
            uint64_t v = 0;
            if (!parse_uint(value, 0, 63, v)) {
                return fail("--dscp " + quoted(value) + ": expected 0..63");
            }
            o.dscp = static_cast<uint8_t>(v);
        } else if (name == "--timestamp") {
            if (value == "ntp") {
                o.timestamp = proto::ts_format::ntp;
            } else if (value == "ptp") {
                o.timestamp = proto::ts_format::ptp;
            } else {
                return fail("--timestamp " + quoted(value) + ": expected ntp or ptp");
            }
        } else if (name == "--ssid") {
            uint64_t v = 0;
            if (!parse_uint(value, 0, 65535, v)) {
                return fail("--ssid " + quoted(value) + ": expected 0..65535");
            }
            o.ssid = static_cast<uint16_t>(v);
            o.ssid_given = true;
        } else if (name == "--src-port") {
            uint64_t v = 0;
            if (!parse_uint(value, 1, 65535, v)) {
                return fail("--src-port " + quoted(value) + ": expected 1..65535");
            }
            o.src_port = static_cast<uint16_t>(v);
        } else if (name == "--receiver-port") {
            uint64_t v = 0;
            if (!parse_uint(value, 1, 65535, v)) {
                return fail("--receiver-port " + quoted(value) + ": expected 1..65535");
            }
            o.receiver_port = static_cast<uint16_t>(v);
            o.receiver_port_given = true;
        } else if (name == "--session-timeout") {
            double v = 0;
            if (!parse_double(value, v) || v < 0 || v > 86400) {
                return fail("--session-timeout " + quoted(value) + ": expected seconds, 0..86400");
            }
            o.session_timeout_s = v;
            o.session_timeout_given = true;
        } else if (name == "--sessions") {
            uint64_t v = 0;
            if (!parse_uint(value, 1, max_sessions, v)) {
                return fail("--sessions " + quoted(value) + ": expected 1.." +
                            std::to_string(max_sessions));
            }
            o.sessions = static_cast<uint32_t>(v);
            o.sessions_given = true;
        } else if (name == "-W") {
            double v = 0;
            if (!parse_double(value, v) || v < 0.001 || v > 3600) {
                return fail("-W " + quoted(value) + ": expected seconds, 0.001..3600");
            }
            o.timeout_s = v;
        } else if (a == "--") {
            for (++i; i < args.size(); ++i) {
                if (!target.empty()) {
                    return fail("more than one host: " + quoted(target) + " and " +
                                quoted(args[i]));
                }
                target = std::string(args[i]);
            }
        } else if (a.size() > 1 && a[0] == '-') {
            return fail("unknown option " + quoted(a));
        } else {
            if (!target.empty()) {
                return fail("more than one host: " + quoted(target) + " and " + quoted(a));
            }
            target = std::string(a);
        }
    }

    if (o.help || o.version) {
        res.opts = o;
        return res;
    }
    if (interval_given && rate_given) {
        return fail("-i and --rate both set the sending interval: give one");
    }
    if (o.ssid_given && o.mode != mode::stamp) {
        return fail("--ssid is a STAMP field: it needs --mode stamp");
    }
    if (o.mode != mode::twamp) {
        const char* twamp_only = o.receiver_port_given     ? "--receiver-port"
                                 : o.session_timeout_given ? "--session-timeout"
                                 : o.sessions_given        ? "--sessions"
                                                           : nullptr;
        if (twamp_only != nullptr) {
            return fail(std::string(twamp_only) +
                        " is negotiated over TWAMP-Control: it needs --mode twamp");
        }
    }
    if (o.mode == mode::twamp && o.receiver_port_given &&
        o.receiver_port + (o.sessions - 1) > 65535) {
        return fail("--receiver-port " + std::to_string(o.receiver_port) + " with --sessions " +
                    std::to_string(o.sessions) + ": the last session's port would pass 65535");
    }
    if (o.src_port != 0 && o.src_port + (o.sessions - 1) > 65535) {
        return fail("--src-port " + std::to_string(o.src_port) + " with --sessions " +
                    std::to_string(o.sessions) + ": the last session's port would pass 65535");
    }
    if (o.size != 0 && !valid_request_size(o.mode, o.size)) {
        if (o.mode == mode::stamp) {
            return fail("-s " + std::to_string(o.size) +
                        ": a STAMP request is 44 octets, or 48 and more (44 + an Extra Padding "
                        "TLV of 4 or more octets)");
        }
        return fail("-s " + std::to_string(o.size) + ": a TWAMP-Test request is at least " +
                    std::to_string(light_min_size) + " octets");
    }
    if (target.empty()) {
        return fail("no host given");
    }
    std::string err;
    if (!split_host_port(target, o.host, o.port, err)) {
        return fail(err);
    }
    res.opts = o;
    return res;
}

} // namespace twamp::sender
