// dpdk-twamp's command line (issue 11 item 11): -V as twamp-ping has it, getopt_long forms,
// one "DPDK" in the version line, the usage text's lab memory as the README's.
#include <initializer_list>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "args.hpp"

using twamp::app::app_args;
using twamp::app::parse_app_args;
using twamp::app::split_command_line;
using twamp::app::usage_text;
using twamp::app::version_text;

namespace {
app_args parse(std::vector<std::string> v) {
    return parse_app_args(v);
}
} // namespace

TEST(args, version_flags) {
    for (const char* f : {"-v", "-V", "--version"}) {
        app_args a = parse({f});
        EXPECT_TRUE(a.version) << f;
        EXPECT_EQ(a.error, "") << f;
    }
}

TEST(args, version_text_says_dpdk_once) {
    EXPECT_EQ(version_text("0.9.0", "DPDK 22.11.11"), "dpdk-twamp 0.9.0 (DPDK 22.11.11)");
    EXPECT_EQ(version_text("0.9.0", "22.11.11"), "dpdk-twamp 0.9.0 (DPDK 22.11.11)");
}

TEST(args, config_and_check) {
    for (auto v : std::vector<std::vector<std::string>>{{"-c", "a.conf", "--check"},
                                                        {"--config", "a.conf", "--check"},
                                                        {"--config=a.conf", "--check"},
                                                        {"--check", "-ca.conf"}}) {
        app_args a = parse(v);
        EXPECT_EQ(a.error, "") << v[0];
        EXPECT_EQ(a.config, "a.conf") << v[0];
        EXPECT_TRUE(a.check) << v[0];
    }
}

TEST(args, stats_period) {
    EXPECT_EQ(parse({"-c", "f", "--stats-period", "5"}).stats_period, 5U);
    EXPECT_EQ(parse({"-c", "f", "--stats-period=3600"}).stats_period, 3600U);
    for (const char* bad : {"0", "3601", "x", "", "-1", "5s", "99999999999999999999"}) {
        app_args a = parse({"-c", "f", std::string("--stats-period=") + bad});
        EXPECT_EQ(a.error, std::string("--stats-period: \"") + bad +
                                   "\" is not a number of seconds in 1..3600")
                << bad;
    }
    EXPECT_EQ(parse({"-c", "f", "--stats-period"}).error,
              "--stats-period needs a number of seconds");
}

TEST(args, errors) {
    EXPECT_EQ(parse({"-c"}).error, "-c needs a file name");
    EXPECT_EQ(parse({"--config"}).error, "--config needs a file name");
    EXPECT_EQ(parse({"-c", "f", "-x"}).error, "unknown option \"-x\"");
    EXPECT_EQ(parse({"-c", "f", "--bogus"}).error, "unknown option \"--bogus\"");
    EXPECT_EQ(parse({"-c", "f", "--check=yes"}).error, "unknown option \"--check\"");
    EXPECT_EQ(parse({"-c", "f", "extra"}).error, "unexpected argument \"extra\"");
    EXPECT_EQ(parse({"--check"}).error, "no configuration file (-c FILE)");
    EXPECT_EQ(parse({}).error, "no configuration file (-c FILE)");
    EXPECT_TRUE(parse({"-h"}).help);
    EXPECT_EQ(parse({"--help"}).error, "");
}

TEST(args, parses_twice) {
    // getopt's global state must not leak from one parse into the next.
    EXPECT_EQ(parse({"-c", "a", "-x"}).error, "unknown option \"-x\"");
    app_args a = parse({"-c", "b"});
    EXPECT_EQ(a.error, "");
    EXPECT_EQ(a.config, "b");
}

TEST(args, split_at_double_dash) {
    const char* with[] = {"dpdk-twamp", "-l", "0-1", "--no-huge", "--", "-c", "f", "-V"};
    auto s = split_command_line(8, with);
    EXPECT_EQ(s.error, "");
    EXPECT_EQ(s.eal_argc, 4);
    EXPECT_EQ(s.ours, (std::vector<std::string>{"-c", "f", "-V"}));

    const char* bare[] = {"dpdk-twamp", "-c", "f.conf", "--check"};
    s = split_command_line(4, bare);
    EXPECT_EQ(s.error, "");
    EXPECT_EQ(s.eal_argc, 1);
    EXPECT_EQ(s.ours.size(), 3U);

    const char* v[] = {"dpdk-twamp", "-V"};
    EXPECT_EQ(split_command_line(2, v).error, "");

    const char* eal[] = {"dpdk-twamp", "-l", "0-1", "-c", "f"};
    EXPECT_EQ(split_command_line(5, eal).error, "application options go after \"--\"");
}

TEST(args, usage_text_matches_the_readme) {
    const std::string u = usage_text;
    EXPECT_NE(u.find("--no-huge -m 1024"), std::string::npos) << u;
    EXPECT_EQ(u.find("-m 512"), std::string::npos) << u;
    EXPECT_NE(u.find("-V"), std::string::npos);
    EXPECT_NE(u.find("--stats-period"), std::string::npos);
}

// The workers the EAL options give, for --check's worker-share warnings (issue 18).
TEST(args, eal_worker_count) {
    auto count = [](std::initializer_list<const char*> args) {
        const char* v[16] = {"dpdk-twamp"};
        int n = 1;
        for (const char* a : args) {
            v[n++] = a;
        }
        return twamp::app::eal_worker_count(n, v);
    };
    EXPECT_EQ(count({"-l", "0-3"}), 3U);
    EXPECT_EQ(count({"-l0-3,5,7-8"}), 6U);
    EXPECT_EQ(count({"--lcores", "2-5"}), 3U);
    EXPECT_EQ(count({"--lcores=1,2"}), 1U);
    EXPECT_EQ(count({"-c", "0xf"}), 3U);
    EXPECT_EQ(count({"-c0x31"}), 2U);
    EXPECT_EQ(count({"--no-huge", "-m", "512", "-l", "0-1", "--no-pci"}), 1U);
    EXPECT_EQ(count({"-l", "0"}), 0U) << "one lcore: no worker";
    EXPECT_EQ(count({}), 0U) << "none named";
    EXPECT_EQ(count({"--lcores", "(0-1)@2,3@4"}), 0U) << "a form not read here";
    EXPECT_EQ(count({"-l", "3-1"}), 0U);
    EXPECT_EQ(count({"-l"}), 0U);
}

// Issue 19: EAL's and the drivers' start-up noise is quiet unless the user names levels.
TEST(args, default_eal_log_levels_unless_the_user_gives_some) {
    const char* plain[] = {"dpdk-twamp", "-l", "0-1", "--no-huge"};
    const auto q = twamp::app::default_eal_log_args(4, plain);
    EXPECT_EQ(q, (std::vector<std::string>{"--log-level=pmd.net.tap:critical",
                                           "--log-level=lib.*:error", "--log-level=pmd.*:error",
                                           "--log-level=pmd.net.tap:critical"}));
    const char* theirs[] = {"dpdk-twamp", "-l", "0-1", "--log-level=lib.eal:notice"};
    EXPECT_TRUE(twamp::app::default_eal_log_args(4, theirs).empty());
    const char* spaced[] = {"dpdk-twamp", "--log-level", "8", "-l", "0-1"};
    EXPECT_TRUE(twamp::app::default_eal_log_args(5, spaced).empty());
    // Only EAL's own arguments count (ours come after "--" and are not passed here).
    const char* before[] = {"dpdk-twamp", "-l", "0-1", "--", "--log-level=x"};
    EXPECT_FALSE(twamp::app::default_eal_log_args(3, before).empty());
}
