// twamp-ping's command line (issue 4): every option, HOST[:PORT] forms, and the errors a user
// gets for bad values.
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "twamp/sender/options.hpp"

namespace {

using namespace twamp::sender;

parse_result parse(std::vector<std::string_view> a) {
    return parse_args(a);
}

TEST(SenderOptions, Defaults) {
    auto r = parse({"198.18.0.2"});
    ASSERT_TRUE(r.opts) << r.error;
    const options& o = *r.opts;
    EXPECT_EQ(o.host, "198.18.0.2");
    EXPECT_EQ(o.port, 862);
    EXPECT_EQ(o.mode, mode::light);
    EXPECT_EQ(o.count, 0u);
    EXPECT_DOUBLE_EQ(o.interval_s, 1.0);
    EXPECT_FALSE(o.paced);
    EXPECT_EQ(o.payload_size(), 41u);
    EXPECT_EQ(o.dscp, 0);
    EXPECT_EQ(o.timestamp, twamp::proto::ts_format::ntp);
    EXPECT_EQ(o.src_port, 0);
    EXPECT_DOUBLE_EQ(o.timeout_s, 2.0);
    EXPECT_FALSE(o.json);
    EXPECT_FALSE(o.quiet);
}

TEST(SenderOptions, EveryOption) {
    auto r = parse(
            {"--mode",     "stamp",  "-c", "5",           "-i",     "0.001",  "-s",
             "100",        "--dscp", "46", "--timestamp", "ptp",    "--ssid", "4242",
             "--src-port", "50000",  "-W", "0.5",         "--json", "-q",     "[2001:2::2]:64365"});
    ASSERT_TRUE(r.opts) << r.error;
    const options& o = *r.opts;
    EXPECT_EQ(o.mode, mode::stamp);
    EXPECT_EQ(o.count, 5u);
    EXPECT_DOUBLE_EQ(o.interval_s, 0.001);
    EXPECT_EQ(o.payload_size(), 100u);
    EXPECT_EQ(o.dscp, 46);
    EXPECT_EQ(o.timestamp, twamp::proto::ts_format::ptp);
    EXPECT_EQ(o.ssid, 4242);
    EXPECT_EQ(o.src_port, 50000);
    EXPECT_DOUBLE_EQ(o.timeout_s, 0.5);
    EXPECT_TRUE(o.json);
    EXPECT_TRUE(o.quiet);
    EXPECT_EQ(o.host, "2001:2::2");
    EXPECT_EQ(o.port, 64365);
}

TEST(SenderOptions, GluedAndEqualsForms) {
    auto r = parse({"-c3", "--mode=stamp", "--rate=500", "198.18.0.2:7"});
    ASSERT_TRUE(r.opts) << r.error;
    EXPECT_EQ(r.opts->count, 3u);
    EXPECT_EQ(r.opts->mode, mode::stamp);
    EXPECT_TRUE(r.opts->paced);
    EXPECT_DOUBLE_EQ(r.opts->interval_s, 1.0 / 500);
    EXPECT_EQ(r.opts->payload_size(), 44u);
    EXPECT_EQ(r.opts->port, 7);
}

TEST(SenderOptions, HostForms) {
    struct row {
        const char* in;
        const char* host;
        uint16_t port;
    };
    const row rows[] = {
            {"198.18.0.2", "198.18.0.2", 862},
            {"198.18.0.2:64364", "198.18.0.2", 64364},
            {"2001:2::2", "2001:2::2", 862}, // bare IPv6: the colons are the address's
            {"[2001:2::2]", "2001:2::2", 862},
            {"[2001:2::2]:1", "2001:2::2", 1},
            {"[fe80::1%eth0]:862", "fe80::1%eth0", 862},
            {"reflector.example:9000", "reflector.example", 9000},
            {"localhost", "localhost", 862},
    };
    for (const auto& w : rows) {
        std::string host, err;
        uint16_t port = 0;
        EXPECT_TRUE(split_host_port(w.in, host, port, err)) << w.in << ": " << err;
        EXPECT_EQ(host, w.host) << w.in;
        EXPECT_EQ(port, w.port) << w.in;
    }
    for (const char* bad : {"", "[2001:2::2", "[2001:2::2]862", "[2001:2::2]:", "198.18.0.2:",
                            "198.18.0.2:0", "198.18.0.2:65536", "198.18.0.2:x", "[]:862", ":862"}) {
        std::string host, err;
        uint16_t port = 0;
        EXPECT_FALSE(split_host_port(bad, host, port, err)) << bad;
        EXPECT_FALSE(err.empty()) << bad;
    }
}

// A usage error with a message that names what is wrong.
void expect_error(std::vector<std::string_view> a, const std::string& must_contain) {
    auto r = parse_args(a);
    EXPECT_FALSE(r.opts.has_value()) << must_contain;
    EXPECT_NE(r.error.find(must_contain), std::string::npos)
            << "error \"" << r.error << "\" lacks \"" << must_contain << "\"";
}

TEST(SenderOptions, UsageErrors) {
    expect_error({}, "no host");
    expect_error({"-c", "5"}, "no host");
    expect_error({"a", "b"}, "more than one host");
    expect_error({"--mode", "owamp", "h"}, "expected light, stamp or twamp");
    expect_error({"-c", "0", "h"}, "-c \"0\"");
    expect_error({"-c", "-1", "h"}, "-c");
    expect_error({"-c", "4294967297", "h"}, "-c");
    expect_error({"-i", "0.0009", "h"}, "0.001");
    expect_error({"-i", "abc", "h"}, "-i");
    expect_error({"-i", "nan", "h"}, "-i");
    expect_error({"-i", "1", "--rate", "10", "h"}, "-i and --rate");
    expect_error({"--rate", "0", "h"}, "--rate");
    expect_error({"-s", "13", "h"}, "at least 14");
    expect_error({"--mode", "stamp", "-s", "43", "h"}, "44");
    expect_error({"--mode", "stamp", "-s", "46", "h"}, "Extra Padding");
    expect_error({"-s", "70000", "h"}, "-s");
    expect_error({"--dscp", "64", "h"}, "0..63");
    expect_error({"--timestamp", "gps", "h"}, "ntp or ptp");
    expect_error({"--ssid", "7", "h"}, "needs --mode stamp");
    expect_error({"--mode", "stamp", "--ssid", "65536", "h"}, "0..65535");
    expect_error({"--src-port", "0", "h"}, "1..65535");
    expect_error({"-W", "0", "h"}, "-W");
    expect_error({"-x", "h"}, "unknown option \"-x\"");
    expect_error({"--bogus", "h"}, "unknown option");
    expect_error({"--json=1", "h"}, "unknown option");
    expect_error({"h", "-c"}, "-c needs a value");
}

TEST(SenderOptions, TwampMode) {
    auto r = parse({"--mode", "twamp", "[2001:2::2]"});
    ASSERT_TRUE(r.opts) << r.error;
    EXPECT_EQ(r.opts->mode, mode::twamp);
    EXPECT_EQ(r.opts->port, 862); // the TWAMP-Control TCP port (RFC 5357 §3.1 well-known)
    EXPECT_EQ(r.opts->payload_size(), 41u);
    EXPECT_EQ(r.opts->sessions, 1u);
    EXPECT_EQ(r.opts->receiver_port, 0);
    EXPECT_DOUBLE_EQ(r.opts->session_timeout_s, 2.0);
    EXPECT_DOUBLE_EQ(r.opts->control_timeout_s(), 5.0); // -W 2, but at least 5 for TCP

    r = parse({"--mode=twamp", "--sessions", "4", "--receiver-port=64400", "--session-timeout",
               "0.5", "-W", "10", "-s", "14", "--src-port", "50000", "198.18.0.2:1862"});
    ASSERT_TRUE(r.opts) << r.error;
    EXPECT_EQ(r.opts->sessions, 4u);
    EXPECT_EQ(r.opts->receiver_port, 64400);
    EXPECT_DOUBLE_EQ(r.opts->session_timeout_s, 0.5);
    EXPECT_DOUBLE_EQ(r.opts->control_timeout_s(), 10.0);
    EXPECT_EQ(r.opts->payload_size(), 14u);
    EXPECT_EQ(r.opts->port, 1862);

    expect_error({"--sessions", "2", "h"}, "--sessions is negotiated over TWAMP-Control");
    expect_error({"--receiver-port", "64400", "h"}, "needs --mode twamp");
    expect_error({"--session-timeout", "1", "--mode", "stamp", "h"}, "needs --mode twamp");
    expect_error({"--mode", "twamp", "--sessions", "0", "h"}, "1..64");
    expect_error({"--mode", "twamp", "--sessions", "65", "h"}, "1..64");
    expect_error({"--mode", "twamp", "--receiver-port", "0", "h"}, "1..65535");
    expect_error({"--mode", "twamp", "--session-timeout", "-1", "h"}, "0..86400");
    expect_error({"--mode", "twamp", "--receiver-port", "65535", "--sessions", "2", "h"},
                 "would pass 65535");
    expect_error({"--mode", "twamp", "--src-port", "65535", "--sessions", "2", "h"},
                 "would pass 65535");
    expect_error({"--mode", "twamp", "-s", "13", "h"}, "at least 14");
    expect_error({"--mode", "twamp", "--ssid", "3", "h"}, "needs --mode stamp");
}

TEST(SenderOptions, SizeLimitsPerMode) {
    EXPECT_TRUE(parse({"-s", "14", "h"}).opts);
    EXPECT_TRUE(parse({"--mode", "stamp", "-s", "44", "h"}).opts);
    EXPECT_TRUE(parse({"--mode", "stamp", "-s", "48", "h"}).opts);
    // Order does not matter: the size is checked against the final mode.
    EXPECT_FALSE(parse({"-s", "20", "--mode", "stamp", "h"}).opts);
}

TEST(SenderOptions, HelpAndVersionWinOverMissingHost) {
    auto h = parse({"-h"});
    ASSERT_TRUE(h.opts);
    EXPECT_TRUE(h.opts->help);
    auto v = parse({"-V"});
    ASSERT_TRUE(v.opts);
    EXPECT_TRUE(v.opts->version);
    EXPECT_TRUE(parse({"--help"}).opts);
}

TEST(SenderOptions, DoubleDashEndsOptions) {
    auto r = parse({"-c", "1", "--", "198.18.0.2"});
    ASSERT_TRUE(r.opts) << r.error;
    EXPECT_EQ(r.opts->host, "198.18.0.2");
}

// getopt_long conventions (issue 13): short options bundle and take their value glued or
// apart, the common ones have long names, long options take "=VALUE" or the next argument.
TEST(SenderOptions, BundledShortOptions) {
    for (auto args : {std::vector<std::string_view>{"-qc", "2", "h"},
                      std::vector<std::string_view>{"-qc2", "h"},
                      std::vector<std::string_view>{"-q", "-c2", "h"},
                      std::vector<std::string_view>{"h", "-qc", "2"}}) {
        auto r = parse(args);
        ASSERT_TRUE(r.opts) << args[0] << ": " << r.error;
        EXPECT_TRUE(r.opts->quiet) << args[0];
        EXPECT_EQ(r.opts->count, 2u) << args[0];
        EXPECT_EQ(r.opts->host, "h") << args[0];
    }
    auto r = parse({"-qs100", "-W0.5", "-i", "0.2", "h"});
    ASSERT_TRUE(r.opts) << r.error;
    EXPECT_EQ(r.opts->payload_size(), 100u);
    EXPECT_DOUBLE_EQ(r.opts->timeout_s, 0.5);
    EXPECT_DOUBLE_EQ(r.opts->interval_s, 0.2);
    EXPECT_TRUE(parse({"-qh"}).opts->help);
    EXPECT_TRUE(parse({"-qV"}).opts->version);
}

TEST(SenderOptions, LongNamesOfTheShortOptions) {
    auto r = parse(
            {"--count", "2", "--interval=0.5", "--size", "60", "--timeout=3", "--quiet", "h"});
    ASSERT_TRUE(r.opts) << r.error;
    EXPECT_EQ(r.opts->count, 2u);
    EXPECT_DOUBLE_EQ(r.opts->interval_s, 0.5);
    EXPECT_EQ(r.opts->payload_size(), 60u);
    EXPECT_DOUBLE_EQ(r.opts->timeout_s, 3.0);
    EXPECT_TRUE(r.opts->quiet);
    r = parse({"--count=2", "h"});
    ASSERT_TRUE(r.opts) << r.error;
    EXPECT_EQ(r.opts->count, 2u);
    EXPECT_TRUE(parse({"--version"}).opts->version);
    // The values are checked alike, with the same messages, whichever name is used.
    expect_error({"--count", "0", "h"}, "-c \"0\": expected a count of 1..4294967296");
    expect_error({"--count=", "h"}, "-c \"\"");
    expect_error({"--timeout=0", "h"}, "-W \"0\"");
    expect_error({"--interval", "abc", "h"}, "-i \"abc\"");
    expect_error({"--size=13", "h"}, "at least 14");
}

TEST(SenderOptions, MissingAndInvalidValues) {
    // The message names the option as the user wrote it: short or long.
    expect_error({"h", "-c"}, "-c needs a value");
    expect_error({"h", "-qc"}, "-c needs a value");
    expect_error({"h", "--count"}, "--count needs a value");
    expect_error({"h", "--mode"}, "--mode needs a value");
    expect_error({"h", "-W"}, "-W needs a value");
    // A value that looks like an option is still the value.
    expect_error({"-c", "-1", "h"}, "-c \"-1\"");
    expect_error({"--mode", "--json", "h"}, "--mode \"--json\": expected light, stamp or twamp");
    expect_error({"--dscp=64", "h"}, "--dscp \"64\": expected 0..63");
    expect_error({"--mode=", "h"}, "--mode \"\"");
}

TEST(SenderOptions, UnknownAndAmbiguousOptions) {
    expect_error({"-qx", "h"}, "unknown option \"-x\"");
    expect_error({"-cx"}, "-c \"x\""); // x is -c's value
    expect_error({"--quiet=1", "h"}, "unknown option \"--quiet=1\"");
    expect_error({"--json=1", "h"}, "unknown option \"--json=1\"");
    expect_error({"--bogus=3", "h"}, "unknown option \"--bogus=3\"");
    // getopt_long takes a unique prefix of a long name, and says which names a shared one has.
    expect_error({"--session", "2", "h"},
                 "ambiguous option \"--session\": --session-timeout, --sessions");
    auto r = parse({"--rat", "10", "--js", "h"});
    ASSERT_TRUE(r.opts) << r.error;
    EXPECT_TRUE(r.opts->paced);
    EXPECT_TRUE(r.opts->json);
}

TEST(SenderOptions, HostAnywhereAndAfterDoubleDash) {
    auto r = parse({"h", "-c", "2", "--json"});
    ASSERT_TRUE(r.opts) << r.error;
    EXPECT_EQ(r.opts->host, "h");
    EXPECT_EQ(r.opts->count, 2u);
    // Also when POSIXLY_CORRECT would stop other programs at the first operand.
    setenv("POSIXLY_CORRECT", "1", 1);
    r = parse({"h", "-c", "2"});
    unsetenv("POSIXLY_CORRECT");
    ASSERT_TRUE(r.opts) << r.error;
    EXPECT_EQ(r.opts->count, 2u);
    // After "--" nothing is an option.
    r = parse({"-c", "1", "--", "-q"});
    ASSERT_TRUE(r.opts) << r.error;
    EXPECT_EQ(r.opts->host, "-q");
    EXPECT_FALSE(r.opts->quiet);
    expect_error({"h", "--", "-q"}, "more than one host: \"h\" and \"-q\"");
    expect_error({"--", "a", "b"}, "more than one host");
}

} // namespace

namespace {

// Issue 19: ping's options.
TEST(SenderPingOptions, DeadlineSourceFamilyTtlTimestampsPoissonSummaries) {
    auto r = parse({"-w", "2.5", "-I", "veth0", "--source", "198.18.0.1", "-4", "-t", "64", "-D",
                    "--poisson", "--seed", "42", "--summary-every", "10", "198.18.0.2"});
    ASSERT_TRUE(r.opts) << r.error;
    const options& o = *r.opts;
    EXPECT_DOUBLE_EQ(o.deadline_s, 2.5);
    EXPECT_EQ(o.device, "veth0");
    EXPECT_EQ(o.source, "198.18.0.1");
    EXPECT_EQ(o.family, 4);
    EXPECT_EQ(o.ttl, 64);
    EXPECT_TRUE(o.print_timestamps);
    EXPECT_TRUE(o.poisson);
    EXPECT_EQ(o.seed, 42u);
    EXPECT_DOUBLE_EQ(o.summary_every_s, 10);

    // -I with an address is the source address; bundled and glued short options.
    r = parse({"-6DI2001:2::1", "-t1", "--ttl=255", "2001:2::2"});
    ASSERT_TRUE(r.opts) << r.error;
    EXPECT_EQ(r.opts->source, "2001:2::1");
    EXPECT_TRUE(r.opts->device.empty());
    EXPECT_EQ(r.opts->family, 6);
    EXPECT_EQ(r.opts->ttl, 255);
    EXPECT_TRUE(r.opts->print_timestamps);

    // Defaults: no deadline, TTL 255, fixed schedule.
    r = parse({"198.18.0.2"});
    ASSERT_TRUE(r.opts);
    EXPECT_EQ(r.opts->deadline_s, 0);
    EXPECT_EQ(r.opts->ttl, 255);
    EXPECT_EQ(r.opts->family, 0);
    EXPECT_FALSE(r.opts->poisson);
    EXPECT_EQ(r.opts->summary_every_s, 0);
}

TEST(SenderPingOptions, Errors) {
    const struct {
        std::vector<std::string_view> args;
        const char* error;
    } cases[] = {
            {{"-w", "0", "h"}, "-w \"0\": expected seconds, 0.001..31536000"},
            {{"-w", "x", "h"}, "-w \"x\": expected seconds, 0.001..31536000"},
            {{"-w"}, "-w needs a value"},
            {{"-t", "0", "h"}, "-t \"0\": expected a TTL of 1..255"},
            {{"--ttl", "256", "h"}, "-t \"256\": expected a TTL of 1..255"},
            {{"-4", "-6", "h"}, "-4 and -6: give one"},
            {{"--source", "eth0", "h"},
             "--source \"eth0\": expected an IPv4 or IPv6 address (an interface: -I)"},
            {{"--source", "198.18.0.1", "-I", "198.18.0.3", "h"},
             "-I \"198.18.0.3\" and --source \"198.18.0.1\": give one source address"},
            {{"-I", "a-very-long-interface-name", "h"},
             "-I \"a-very-long-interface-name\": neither an address nor an interface name (at "
             "most 15 characters, no \"/\", \":\" or space)"},
            {{"-6", "--source", "198.18.0.1", "h"},
             "source address \"198.18.0.1\" is IPv4, -6 asks for IPv6"},
            {{"--seed", "1", "h"}, "--seed is --poisson's random seed: it needs --poisson"},
            {{"--poisson", "--seed", "-1", "h"}, "--seed \"-1\": expected 0..18446744073709551615"},
            {{"--summary-every", "0.01", "h"},
             "--summary-every \"0.01\": expected seconds, 0.1..86400"},
    };
    for (const auto& c : cases) {
        auto r = parse(c.args);
        EXPECT_FALSE(r.opts) << c.error;
        EXPECT_EQ(r.error, c.error);
    }
}

TEST(SenderPingOptions, HelpNamesEveryNewOption) {
    const std::string help = usage_text;
    for (const char* opt :
         {"-w DEADLINE", "-I IFACE|ADDR", "--source ADDR", "-4, -6", "-t, --ttl TTL", "  -D ",
          "--poisson", "--seed SEED", "--summary-every N"}) {
        EXPECT_NE(help.find(opt), std::string::npos) << opt;
    }
}

} // namespace
