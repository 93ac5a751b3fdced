#include "twamp/sender/options.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>

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
        "  -c, --count COUNT    send COUNT packets, then stop (default: until interrupted);\n"
        "                       with --sessions, COUNT in all, spread round-robin; with -w,\n"
        "                       stop once COUNT replies came back (as ping)\n"
        "  -i, --interval INTERVAL\n"
        "                       seconds between packets, at least 0.001 (default 1)\n"
        "  --rate PPS           packets per second on a fixed schedule, instead of -i\n"
        "                       (up to 1000000)\n"
        "  -s, --size SIZE      UDP payload octets, padding zeros. light, twamp: 14 or more\n"
        "                       (default 41, the reply's size; twamp asks for SIZE - 14 octets of\n"
        "                       padding); stamp: 44 (default) or 48 and more (an Extra Padding\n"
        "                       TLV fills the rest); with --tlv the base is 44 + the TLVs, and\n"
        "                       an Extra Padding TLV after them fills what -s asks beyond\n"
        "  --dscp DSCP          DSCP of the requests, 0..63 (default 0); twamp: also the\n"
        "                       Type-P DSCP the reflector is asked to send its replies with\n"
        "  --timestamp ntp|ptp  timestamp format of T1, asks the reflector for the same\n"
        "                       (Error Estimate Z bit; default ntp)\n"
        "  --ssid SSID          STAMP Session-Sender Identifier, 0..65535 (default 1)\n"
        "  --src-port PORT      local UDP port (default: any free one); twamp with --sessions:\n"
        "                       PORT, PORT+1, ...\n"
        "  -W, --timeout TIMEOUT\n"
        "                       seconds to wait for each reply; later ones count as lost\n"
        "                       (default 2). twamp: also the limit on the TCP connect and each\n"
        "                       TWAMP-Control answer, never less than 5\n"
        "  --receiver-port N    twamp: the receiver port to request, 1..65535 (N, N+1, ... with\n"
        "                       --sessions; default 0: the server chooses)\n"
        "  --session-timeout S  twamp: seconds the reflector keeps reflecting after\n"
        "                       Stop-Sessions (Request-TW-Session Timeout), 0..86400 (default 2)\n"
        "  --sessions N         twamp: negotiate N sessions, 1..64, each from its own UDP port\n"
        "                       (default 1)\n"
        "  --tlv TYPE[=ARGS]    stamp: add a STAMP TLV to every request (RFC 8972 §4, RFC 9503;\n"
        "                       repeatable, sent in the order given, each with U = 1 as a\n"
        "                       Session-Sender must); the reply's TLVs are printed decoded.\n"
        "                       TYPE is one of:\n"
        "                         padding=N      Extra Padding, N zero octets (§4.1)\n"
        "                         location[=mac,dst,src]\n"
        "                                        Location (§4.2): the reflector reports the\n"
        "                                        ports, and the sub-TLVs asked for (default all:\n"
        "                                        Source MAC, Destination IP, Source IP)\n"
        "                         timestamp-info Timestamp Information (§4.3)\n"
        "                         cos=DSCP1      Class of Service (§4.4): ask for replies with\n"
        "                                        DSCP DSCP1 (0..63)\n"
        "                         direct-measurement\n"
        "                                        Direct Measurement (§4.5): S_TxC = packets sent\n"
        "                                        so far, this one included\n"
        "                         access-report=ID[:CODE]\n"
        "                                        Access Report (§4.6): Access ID 0..15 (1 3GPP,\n"
        "                                        2 non-3GPP), Return Code 0..255 (default 1)\n"
        "                         follow-up      Follow-Up Telemetry (§4.7)\n"
        "                         hmac           HMAC (§4.8) over the Sequence Number and the\n"
        "                                        TLVs before it, sent after the others; the\n"
        "                                        reply's is verified (needs --key-file and\n"
        "                                        --key-id)\n"
        "                         dna=ADDRESS    Destination Node Address (RFC 9503 §3)\n"
        "                         return-path=no-reply|same-link|ADDRESS\n"
        "                                        Return Path (RFC 9503 §4): Control Code \"no\n"
        "                                        reply requested\" (missing replies then count as\n"
        "                                        not requested, not as lost) or \"reply on the\n"
        "                                        same link\", or a Return Address\n"
        "                         raw=TYPE:HEX   any other: Type 0..255, Value in hex\n"
        "  --auth open|authenticated|encrypted|mixed\n"
        "                       security mode (default open). twamp: the TWAMP-Control Mode\n"
        "                       (RFC 4656, RFC 5618): authenticated and encrypted also protect\n"
        "                       the test packets (48-octet requests, default -s 112), mixed\n"
        "                       only the control connection; stamp: open or authenticated\n"
        "                       (RFC 8762 §4.2.2: 112-octet packets with an HMAC). Replies whose\n"
        "                       HMAC does not verify are counted as integrity failures, never\n"
        "                       used. Needs --key-file and --key-id\n"
        "  --key-file FILE      the shared secrets, perfSONAR pfstore's format (\"ID HEX\" per\n"
        "                       line); readable by its owner only\n"
        "  --key-id ID          the identity (KeyID) whose secret to use\n"
        "  -w DEADLINE          stop after DEADLINE seconds (0.001..31536000) whatever -c says;\n"
        "                       as ping: with -c, keep sending until COUNT replies came back or\n"
        "                       the deadline passes, whichever is first (exit status 1 if fewer\n"
        "                       than COUNT came back). Replies still awaited at the deadline\n"
        "                       count as lost; the summary says how many. With --tlv\n"
        "                       return-path=no-reply, -c counts packets sent (no exit 1)\n"
        "  -I IFACE|ADDR        send from this interface (SO_BINDTODEVICE; Linux before 5.7:\n"
        "                       needs CAP_NET_RAW) or this local address; twamp: the\n"
        "                       TWAMP-Control connection too\n"
        "  --source ADDR        send from this local address (with -I IFACE: both)\n"
        "  -4, -6               resolve HOST to an IPv4 (-4) or IPv6 (-6) address only\n"
        "  -t, --ttl TTL        IPv4 TTL / IPv6 Hop Limit of the test packets, 1..255 (default\n"
        "                       255, as RFC 5357 §4.1.2 asks: the reflector's Sender TTL then\n"
        "                       counts the hops)\n"
        "  -D                   print the Unix time [SECONDS.MICROSECONDS] before each\n"
        "                       per-packet line (text output; --json lines carry t1_ns..t4_ns)\n"
        "  --poisson            Poisson sending: gaps exponentially distributed with mean -i\n"
        "                       (or 1/--rate), RFC 2330 §11.1.1, instead of a fixed interval\n"
        "  --seed SEED          --poisson's random seed, 0..18446744073709551615, for a\n"
        "                       repeatable schedule (default: a random one, printed)\n"
        "  --summary-every N    print a summary every N seconds (0.1..86400) while running:\n"
        "                       text \"[N s] ...\" lines, --json {\"type\":\"periodic\",...}\n"
        "                       objects with the summary's keys (cumulative since the start;\n"
        "                       packets still within -W are \"outstanding\", not lost)\n"
        "  --json               one JSON object per line: one per packet, then a summary\n"
        "  -q, --quiet          print the summary only\n"
        "  -h, --help           this text\n"
        "  -V, --version        print the version\n"
        "\n"
        "Short options bundle (-qc 5) and take their value glued or apart (-c5, -c 5); long\n"
        "ones take it after \"=\" or apart (--count=5, --count 5), and any unique prefix of\n"
        "their name (--sess is not one: --sessions or --session-timeout).\n"
        "\n"
        "The summary: round trip, residence, forward and backward min/avg/max/stddev (exact)\n"
        "and p50/p90/p95/p99/p99.9 (exact up to 4096 replies, then from a histogram: within\n"
        "1 % or 1 us, whichever is larger); PDV (RFC 5481: each delay minus the minimum)\n"
        "percentiles (the delay's percentile less the exact minimum: within 1 % of the delay,\n"
        "not of the PDV, or 1 us) and IPDV (consecutive differences) per direction; memory\n"
        "stays bounded however long the run. With --json, a figure that has no value is null.\n"
        "\n"
        "Exit status: 0 when replies came back (or, with --tlv return-path=no-reply, none\n"
        "were requested), 1 when none did (with -c and -w: fewer than COUNT by the deadline)\n"
        "or the TWAMP-Control server refused or failed, 2 on a usage error.\n";

const char* security_name(enum security s) noexcept {
    switch (s) {
    case security::authenticated:
        return "authenticated";
    case security::encrypted:
        return "encrypted";
    case security::mixed:
        return "mixed";
    case security::open:
        break;
    }
    return "open";
}

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

namespace {

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

// A numeric IPv4 or IPv6 address (what -I takes for an address, --source always).
bool is_numeric_address(std::string_view s) {
    if (s.empty() || s.size() >= INET6_ADDRSTRLEN) {
        return false;
    }
    const std::string z(s);
    in6_addr a6{};
    in_addr a4{};
    return inet_pton(AF_INET, z.c_str(), &a4) == 1 || inet_pton(AF_INET6, z.c_str(), &a6) == 1;
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

namespace {

// Long options without a short one, and the long names of the short ones: codes above any
// character, so that optopt tells a long option from a short one in an error.
enum : int {
    opt_mode = 256,
    opt_count,
    opt_interval,
    opt_rate,
    opt_size,
    opt_dscp,
    opt_timestamp,
    opt_ssid,
    opt_src_port,
    opt_timeout,
    opt_receiver_port,
    opt_session_timeout,
    opt_sessions,
    opt_tlv,
    opt_auth,
    opt_key_file,
    opt_key_id,
    opt_source,
    opt_ttl,
    opt_poisson,
    opt_seed,
    opt_summary_every,
    opt_json,
    opt_quiet,
    opt_help,
    opt_version,
};

// "-": operands come back in order as option 1 (so "HOST -c 5" works whatever
// POSIXLY_CORRECT says); ":": a missing value is ':', not '?'.
constexpr char short_options[] = "-:c:i:s:W:w:I:t:46DqhV";

constexpr option long_options[] = {
        {"mode", required_argument, nullptr, opt_mode},
        {"count", required_argument, nullptr, opt_count},
        {"interval", required_argument, nullptr, opt_interval},
        {"rate", required_argument, nullptr, opt_rate},
        {"size", required_argument, nullptr, opt_size},
        {"dscp", required_argument, nullptr, opt_dscp},
        {"timestamp", required_argument, nullptr, opt_timestamp},
        {"ssid", required_argument, nullptr, opt_ssid},
        {"src-port", required_argument, nullptr, opt_src_port},
        {"timeout", required_argument, nullptr, opt_timeout},
        {"receiver-port", required_argument, nullptr, opt_receiver_port},
        {"session-timeout", required_argument, nullptr, opt_session_timeout},
        {"sessions", required_argument, nullptr, opt_sessions},
        {"tlv", required_argument, nullptr, opt_tlv},
        {"auth", required_argument, nullptr, opt_auth},
        {"key-file", required_argument, nullptr, opt_key_file},
        {"key-id", required_argument, nullptr, opt_key_id},
        {"source", required_argument, nullptr, opt_source},
        {"ttl", required_argument, nullptr, opt_ttl},
        {"poisson", no_argument, nullptr, opt_poisson},
        {"seed", required_argument, nullptr, opt_seed},
        {"summary-every", required_argument, nullptr, opt_summary_every},
        {"json", no_argument, nullptr, opt_json},
        {"quiet", no_argument, nullptr, opt_quiet},
        {"help", no_argument, nullptr, opt_help},
        {"version", no_argument, nullptr, opt_version},
        {nullptr, 0, nullptr, 0},
};

// The short option a long one is another name for (0: none).
int short_name(int code) noexcept {
    switch (code) {
    case opt_count:
        return 'c';
    case opt_interval:
        return 'i';
    case opt_size:
        return 's';
    case opt_timeout:
        return 'W';
    case opt_ttl:
        return 't';
    case opt_quiet:
        return 'q';
    case opt_help:
        return 'h';
    case opt_version:
        return 'V';
    default:
        return 0;
    }
}

const char* long_name(int code) noexcept {
    for (const option* l = long_options; l->name != nullptr; ++l) {
        if (l->val == code) {
            return l->name;
        }
    }
    return "?";
}

// "--se" names more than one long option (getopt_long takes any unique prefix): which ones.
std::string ambiguity(std::string_view written) {
    if (written.rfind("--", 0) != 0) {
        return {};
    }
    const std::string_view prefix = written.substr(2, written.find('=') - 2);
    std::string names;
    int n = 0;
    for (const option* l = long_options; l->name != nullptr; ++l) {
        if (std::string_view(l->name).rfind(prefix, 0) == 0) {
            names += (n++ ? ", --" : "--") + std::string(l->name);
        }
    }
    return n > 1 ? names : std::string();
}

} // namespace

parse_result parse_args(const std::vector<std::string_view>& args) {
    parse_result res;
    options o;
    bool interval_given = false;
    bool rate_given = false;
    std::string target;
    std::string source_addr;
    auto fail = [&](std::string msg) {
        res.error = std::move(msg);
        return res;
    };
    auto operand = [&](std::string_view a) {
        if (!target.empty()) {
            res.error = "more than one host: " + quoted(target) + " and " + quoted(a);
            return false;
        }
        target = std::string(a);
        return true;
    };

    // getopt_long wants a C argv: "twamp-ping" and terminated copies of the arguments.
    std::vector<std::string> store{"twamp-ping"};
    store.insert(store.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : store) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const int argc = static_cast<int>(store.size());
    // getopt's state is global: optind = 0 makes glibc start afresh (a second parse, tests).
    optind = 0;
    opterr = 0;
    for (;;) {
        const int c = getopt_long(argc, argv.data(), short_options, long_options, nullptr);
        if (c == -1) {
            break;
        }
        const std::string_view value = optarg != nullptr ? optarg : "";
        switch (short_name(c) != 0 ? short_name(c) : c) {
        case 1:
            if (!operand(value)) {
                return res;
            }
            break;
        case ':':
            if (optopt >= 256) {
                return fail("--" + std::string(long_name(optopt)) + " needs a value");
            }
            return fail(std::string{'-', static_cast<char>(optopt)} + " needs a value");
        case '?': {
            if (optopt > 0 && optopt < 256) {
                return fail("unknown option " +
                            quoted(std::string{'-', static_cast<char>(optopt)}));
            }
            // A long option: unknown, ambiguous, or with a value it does not take.
            const std::string_view written = store[static_cast<std::size_t>(optind - 1)];
            if (std::string names = ambiguity(written); !names.empty()) {
                return fail("ambiguous option " + quoted(written) + ": " + names);
            }
            return fail("unknown option " + quoted(written));
        }
        case 'h':
            o.help = true;
            break;
        case 'V':
            o.version = true;
            break;
        case 'q':
            o.quiet = true;
            break;
        case opt_json:
            o.json = true;
            break;
        case 'w': {
            double v = 0;
            if (!parse_double(value, v) || v < 0.001 || v > 31536000) {
                return fail("-w " + quoted(value) + ": expected seconds, 0.001..31536000");
            }
            o.deadline_s = v;
            break;
        }
        case 'I':
            if (value.empty() || value.size() > 64) {
                return fail("-I " + quoted(value) + ": expected an interface name or an address");
            }
            if (is_numeric_address(value)) {
                if (!source_addr.empty()) {
                    return fail("-I " + quoted(value) + " and --source " + quoted(source_addr) +
                                ": give one source address");
                }
                source_addr = std::string(value);
            } else {
                // Linux interface names: at most 15 octets (IFNAMSIZ - 1), no '/' or space.
                if (value.size() > 15 ||
                    value.find_first_of("/ \t\r\n:") != std::string_view::npos) {
                    return fail("-I " + quoted(value) +
                                ": neither an address nor an interface name (at most 15 "
                                "characters, no \"/\", \":\" or space)");
                }
                o.device = std::string(value);
            }
            break;
        case opt_source:
            if (!is_numeric_address(value)) {
                return fail("--source " + quoted(value) +
                            ": expected an IPv4 or IPv6 address (an interface: -I)");
            }
            if (!source_addr.empty()) {
                return fail("--source " + quoted(value) + " and -I " + quoted(source_addr) +
                            ": give one source address");
            }
            source_addr = std::string(value);
            break;
        case '4':
        case '6':
            if (o.family != 0 && o.family != (c == '4' ? 4 : 6)) {
                return fail("-4 and -6: give one");
            }
            o.family = c == '4' ? 4 : 6;
            break;
        case 't': {
            uint64_t v = 0;
            if (!parse_uint(value, 1, 255, v)) {
                return fail("-t " + quoted(value) + ": expected a TTL of 1..255");
            }
            o.ttl = static_cast<int>(v);
            o.ttl_given = true;
            break;
        }
        case 'D':
            o.print_timestamps = true;
            break;
        case opt_poisson:
            o.poisson = true;
            break;
        case opt_seed: {
            uint64_t v = 0;
            if (!parse_uint(value, 0, UINT64_MAX, v)) {
                return fail("--seed " + quoted(value) + ": expected 0..18446744073709551615");
            }
            o.seed = v;
            o.seed_given = true;
            break;
        }
        case opt_summary_every: {
            double v = 0;
            if (!parse_double(value, v) || v < 0.1 || v > 86400) {
                return fail("--summary-every " + quoted(value) + ": expected seconds, 0.1..86400");
            }
            o.summary_every_s = v;
            break;
        }
        case opt_tlv: {
            std::string err;
            auto t = parse_tlv(value, err);
            if (!t) {
                return fail(err);
            }
            o.tlv_octets += t->octets.size();
            o.has_direct_measurement =
                    o.has_direct_measurement ||
                    (t->octets.size() == 16 && t->octets[1] == 5); // Direct Measurement (§4.5)
            if (t->octets.size() > 1 && t->octets[1] == 10 && !o.return_path_seen) {
                o.return_path_seen = true; // RFC 9503 §4: only the first one is acted on
                o.no_reply = t->no_reply;
            }
            o.unconnected = o.unconnected || t->reply_elsewhere;
            if (t->hmac) {
                if (o.hmac_tlv) {
                    return fail("--tlv hmac: give it once");
                }
                o.hmac_tlv = true;
            }
            o.tlvs.push_back(std::move(*t));
            break;
        }
        case opt_auth:
            if (value == "open" || value == "unauthenticated") {
                o.auth = security::open;
            } else if (value == "authenticated") {
                o.auth = security::authenticated;
            } else if (value == "encrypted") {
                o.auth = security::encrypted;
            } else if (value == "mixed") {
                o.auth = security::mixed;
            } else {
                return fail("--auth " + quoted(value) +
                            ": expected open, authenticated, encrypted or mixed");
            }
            o.auth_given = true;
            break;
        case opt_key_file:
            if (value.empty()) {
                return fail("--key-file needs a file name");
            }
            o.key_file = std::string(value);
            break;
        case opt_key_id:
            // RFC 4656 §3.1: the KeyID field is 80 octets; pfstore identities have no spaces.
            if (value.empty() || value.size() > 80 ||
                value.find_first_of(" \t\r\n") != std::string_view::npos) {
                return fail("--key-id " + quoted(value) +
                            ": expected an identity of 1..80 octets without white space");
            }
            o.key_id = std::string(value);
            break;
        case opt_mode:
            if (value == "light") {
                o.mode = mode::light;
            } else if (value == "stamp") {
                o.mode = mode::stamp;
            } else if (value == "twamp") {
                o.mode = mode::twamp;
            } else {
                return fail("--mode " + quoted(value) + ": expected light, stamp or twamp");
            }
            break;
        case 'c': {
            uint64_t v = 0;
            // Sequence Numbers are 32 bits: one run cannot number more packets.
            if (!parse_uint(value, 1, uint64_t{1} << 32, v)) {
                return fail("-c " + quoted(value) + ": expected a count of 1..4294967296");
            }
            o.count = v;
            break;
        }
        case 'i': {
            double v = 0;
            if (!parse_double(value, v) || v < 0.001 || v > 86400) {
                return fail("-i " + quoted(value) +
                            ": expected seconds between packets, 0.001..86400 (faster: --rate)");
            }
            o.interval_s = v;
            interval_given = true;
            break;
        }
        case opt_rate: {
            double v = 0;
            if (!parse_double(value, v) || v < 0.001 || v > 1e6) {
                return fail("--rate " + quoted(value) +
                            ": expected packets per second, 0.001..1000000");
            }
            o.interval_s = 1.0 / v;
            o.paced = true;
            rate_given = true;
            break;
        }
        case 's': {
            uint64_t v = 0;
            if (!parse_uint(value, 1, max_size_ipv6, v)) {
                return fail("-s " + quoted(value) + ": expected a UDP payload size of " +
                            std::to_string(light_min_size) + ".." + std::to_string(max_size_ipv6));
            }
            o.size = static_cast<std::size_t>(v);
            break;
        }
        case opt_dscp: {
            uint64_t v = 0;
            if (!parse_uint(value, 0, 63, v)) {
                return fail("--dscp " + quoted(value) + ": expected 0..63");
            }
            o.dscp = static_cast<uint8_t>(v);
            break;
        }
        case opt_timestamp:
            if (value == "ntp") {
                o.timestamp = proto::ts_format::ntp;
            } else if (value == "ptp") {
                o.timestamp = proto::ts_format::ptp;
            } else {
                return fail("--timestamp " + quoted(value) + ": expected ntp or ptp");
            }
            break;
        case opt_ssid: {
            uint64_t v = 0;
            if (!parse_uint(value, 0, 65535, v)) {
                return fail("--ssid " + quoted(value) + ": expected 0..65535");
            }
            o.ssid = static_cast<uint16_t>(v);
            o.ssid_given = true;
            break;
        }
        case opt_src_port: {
            uint64_t v = 0;
            if (!parse_uint(value, 1, 65535, v)) {
                return fail("--src-port " + quoted(value) + ": expected 1..65535");
            }
            o.src_port = static_cast<uint16_t>(v);
            break;
        }
        case opt_receiver_port: {
            uint64_t v = 0;
            if (!parse_uint(value, 1, 65535, v)) {
                return fail("--receiver-port " + quoted(value) + ": expected 1..65535");
            }
            o.receiver_port = static_cast<uint16_t>(v);
            o.receiver_port_given = true;
            break;
        }
        case opt_session_timeout: {
            double v = 0;
            if (!parse_double(value, v) || v < 0 || v > 86400) {
                return fail("--session-timeout " + quoted(value) + ": expected seconds, 0..86400");
            }
            o.session_timeout_s = v;
            o.session_timeout_given = true;
            break;
        }
        case opt_sessions: {
            uint64_t v = 0;
            if (!parse_uint(value, 1, max_sessions, v)) {
                return fail("--sessions " + quoted(value) + ": expected 1.." +
                            std::to_string(max_sessions));
            }
            o.sessions = static_cast<uint32_t>(v);
            o.sessions_given = true;
            break;
        }
        case 'W': {
            double v = 0;
            if (!parse_double(value, v) || v < 0.001 || v > 3600) {
                return fail("-W " + quoted(value) + ": expected seconds, 0.001..3600");
            }
            o.timeout_s = v;
            break;
        }
        default:
            return fail("unknown option " + quoted(store[static_cast<std::size_t>(optind - 1)]));
        }
    }
    // After "--": every argument is an operand.
    for (int i = optind; i < argc; ++i) {
        if (!operand(store[static_cast<std::size_t>(i)])) {
            return res;
        }
    }

    if (o.help || o.version) {
        res.opts = o;
        return res;
    }
    if (interval_given && rate_given) {
        return fail("-i and --rate both set the sending interval: give one");
    }
    if (o.seed_given && !o.poisson) {
        return fail("--seed is --poisson's random seed: it needs --poisson");
    }
    if (!source_addr.empty()) {
        const int fam = source_addr.find(':') != std::string::npos ? 6 : 4;
        if (o.family != 0 && o.family != fam) {
            return fail("source address " + quoted(source_addr) + " is IPv" + std::to_string(fam) +
                        ", -" + std::to_string(o.family) + " asks for IPv" +
                        std::to_string(o.family));
        }
        o.source = source_addr;
    }
    if (o.ssid_given && o.mode != mode::stamp) {
        return fail("--ssid is a STAMP field: it needs --mode stamp");
    }
    if (!o.tlvs.empty() && o.mode != mode::stamp) {
        return fail("--tlv adds STAMP TLVs (RFC 8972): it needs --mode stamp");
    }
    if (o.auth != security::open && o.mode == mode::light) {
        return fail("--auth " + std::string(security_name(o.auth)) +
                    ": TWAMP Light is unauthenticated (RFC 5357 Appendix I); use --mode twamp "
                    "or --mode stamp");
    }
    if (o.mode == mode::stamp && (o.auth == security::encrypted || o.auth == security::mixed)) {
        return fail("--auth " + std::string(security_name(o.auth)) +
                    ": STAMP has no such mode (RFC 8762 §4.4: open or authenticated)");
    }
    if (o.needs_key() && (o.key_file.empty() || o.key_id.empty())) {
        return fail(std::string(o.auth != security::open ? "--auth " : "--tlv hmac") +
                    (o.auth != security::open ? security_name(o.auth) : "") +
                    " needs the shared secret: --key-file FILE and --key-id ID");
    }
    if (!o.needs_key() && (!o.key_file.empty() || !o.key_id.empty())) {
        return fail(std::string(!o.key_file.empty() ? "--key-file" : "--key-id") +
                    " is for --auth authenticated, encrypted or mixed (or --tlv hmac)");
    }
    if (o.hmac_tlv) {
        // RFC 8972 §4.8: only Extra Padding may follow the HMAC TLV; the one of -s already
        // does, so it goes after every other --tlv.
        std::stable_partition(o.tlvs.begin(), o.tlvs.end(),
                              [](const tlv_spec& t) { return !t.hmac; });
    }
    const std::size_t stamp_base = o.stamp_base_size();
    if (stamp_base + o.tlv_octets > max_size_ipv6) {
        return fail("--tlv: the TLVs make the request " +
                    std::to_string(stamp_base + o.tlv_octets) + " octets, more than " +
                    std::to_string(max_size_ipv6));
    }
    if (!o.tlvs.empty() && o.size != 0) {
        const std::size_t need = stamp_base + o.tlv_octets;
        if (o.size < need || (o.size > need && o.size < need + 4)) {
            return fail("-s " + std::to_string(o.size) + " with --tlv: the TLVs make the request " +
                        std::to_string(need) + " octets; -s must be that, or " +
                        std::to_string(need + 4) +
                        " and more (an Extra Padding TLV of 4 or more octets fills the rest)");
        }
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
    if (o.size != 0 && o.tlvs.empty() && !valid_request_size(o.mode, o.size, o.auth_layout())) {
        if (o.mode == mode::stamp && o.auth_layout()) {
            return fail("-s " + std::to_string(o.size) +
                        ": an authenticated STAMP request is 112 octets, or 116 and more (112 + "
                        "an Extra Padding TLV of 4 or more octets)");
        }
        if (o.mode == mode::stamp) {
            return fail("-s " + std::to_string(o.size) +
                        ": a STAMP request is 44 octets, or 48 and more (44 + an Extra Padding "
                        "TLV of 4 or more octets)");
        }
        if (o.auth_layout()) {
            return fail("-s " + std::to_string(o.size) + ": an " + security_name(o.auth) +
                        " TWAMP-Test request is at least " + std::to_string(twamp_auth_min_size) +
                        " octets");
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
