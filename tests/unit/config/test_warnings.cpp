// worker_share_warnings (src/config/warnings.cpp): a limit below the number of workers leaves
// some workers a share of 0 (issue 18); --check, the start and a reload say which key.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "helpers.hpp"

#include "twamp/config/warnings.hpp"

using namespace twamp::config;
using namespace twamp::config::test;

namespace {

config with_reflector(const std::string& keys) {
    return load_ok(std::string(one_port) +
                   "reflectors = ( { name = \"r1\"; port = \"wire0\"; prefixes = [ "
                   "\"198.18.0.0/15\" ]; " +
                   keys + " } );\n");
}

bool has(const std::vector<std::string>& w, const std::string& fragment) {
    for (const auto& s : w) {
        if (s.find(fragment) != std::string::npos) {
            return true;
        }
    }
    return false;
}

} // namespace

TEST(worker_share_warnings, each_limit_below_the_workers_named) {
    const config c = with_reflector(
            "rate-limit-pps = 3; source-rate-limit-pps = 2; source-session-rate = 1; "
            "max-sessions = 3; prefix-limits = ( { prefix = \"198.18.5.0/24\"; "
            "rate-limit-pps = 1; max-sessions = 2; } );");
    const auto w = worker_share_warnings(c, 4);
    ASSERT_EQ(w.size(), 6U);
    EXPECT_TRUE(has(w, "reflectors[0] (\"r1\").rate-limit-pps = 3 is below the 4 workers"));
    EXPECT_TRUE(has(w, "1 of them has a share of 0 and answers none of it")) << w[0];
    EXPECT_TRUE(has(w, "reflectors[0] (\"r1\").source-rate-limit-pps = 2"));
    EXPECT_TRUE(has(w, "2 of them have a share of 0"));
    EXPECT_TRUE(has(w, "reflectors[0] (\"r1\").source-session-rate = 1"));
    EXPECT_TRUE(has(w, "reflectors[0] (\"r1\").max-sessions = 3"));
    EXPECT_TRUE(has(w, "1 of them has a share of 0 and keeps no session of it"));
    EXPECT_TRUE(
            has(w, "reflectors[0] (\"r1\").prefix-limits[0] (198.18.5.0/24).rate-limit-pps = 1"));
    EXPECT_TRUE(has(w, "prefix-limits[0] (198.18.5.0/24).max-sessions = 2"));
    // At least N each (or 0, no limit), or one worker: nothing to say.
    EXPECT_TRUE(worker_share_warnings(c, 1).empty());
    EXPECT_EQ(worker_share_warnings(c, 3).size(), 4U) << "rate 3 and max-sessions 3 cover 3";
    EXPECT_TRUE(worker_share_warnings(with_reflector("rate-limit-pps = 4;"), 4).empty());
    EXPECT_TRUE(worker_share_warnings(with_reflector("rate-limit-pps = 0;"), 64).empty())
            << "0 = no limit; the defaults (source-session-rate 100, max-sessions 65536) cover 64";
}

TEST(worker_share_warnings, stateless_reflector_has_no_session_limits) {
    const config c = with_reflector(
            "stateful = false; max-sessions = 1; source-session-rate = 1; rate-limit-pps = 1;");
    const auto w = worker_share_warnings(c, 2);
    ASSERT_EQ(w.size(), 1U);
    EXPECT_TRUE(has(w, ".rate-limit-pps = 1 is below the 2 workers"));
}
