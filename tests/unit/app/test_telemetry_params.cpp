// The paged telemetry commands' parameters (src/app/telemetry_params.cpp): what a client of the
// telemetry socket may send, hostile included.
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "telemetry_params.hpp"

namespace twamp::app {
namespace {

TEST(TelemetryParams, SessionListDefaultsAndEveryKey) {
    session_list_params p;
    ASSERT_TRUE(parse_session_list_params(nullptr, 2, 24, p));
    EXPECT_EQ(p.worker, 0u);
    EXPECT_FALSE(p.has_after);
    EXPECT_FALSE(p.reflector);
    EXPECT_EQ(p.ssid, ~0u);
    ASSERT_TRUE(parse_session_list_params(
            "cursor=1,reflector=core-1.lab,source=198.18.0.77/24,port=862,ssid=0,page=5", 2, 24,
            p));
    EXPECT_EQ(p.worker, 1u);
    EXPECT_FALSE(p.has_after);
    EXPECT_EQ(*p.reflector, "core-1.lab");
    EXPECT_EQ(p.source->to_string(), "198.18.0.0/24"); // the network
    EXPECT_EQ(p.port, 862u);
    EXPECT_EQ(p.ssid, 0u);
    EXPECT_EQ(p.page, 5u);
    ASSERT_TRUE(parse_session_list_params("source=2001:2::1", 1, 24, p));
    EXPECT_EQ(p.source->to_string(), "2001:2::1/128");
    ASSERT_TRUE(parse_session_list_params("cursor=,", 1, 24, p)); // empty cursor: the start
    EXPECT_EQ(p.worker, 0u);
}

TEST(TelemetryParams, CursorRoundTrip) {
    uint8_t key[40];
    for (unsigned i = 0; i < 40; ++i) {
        key[i] = static_cast<uint8_t>(i * 37 + 1);
    }
    const std::string c = session_cursor(3, 0x0123456789abcdefULL, key);
    EXPECT_EQ(c.substr(0, 19), "3:0123456789abcdef:");
    session_list_params p;
    ASSERT_TRUE(parse_session_list_params(("cursor=" + c).c_str(), 4, 24, p));
    EXPECT_EQ(p.worker, 3u);
    EXPECT_TRUE(p.has_after);
    EXPECT_EQ(p.after_order, 0x0123456789abcdefULL);
    EXPECT_EQ(std::memcmp(p.after_key.data(), key, 40), 0);
    EXPECT_FALSE(parse_session_list_params(("cursor=" + c).c_str(), 3, 24, p)); // no worker 3
}

TEST(TelemetryParams, HostileSessionListParamsRefused) {
    session_list_params p;
    for (const std::string& bad : std::vector<std::string>{
                 "cursor",
                 "=1",
                 "what=1",
                 "port=0",
                 "port=65536",
                 "port=-1",
                 "port=08x",
                 "ssid=65536",
                 "page=0",
                 "page=25",
                 "page=99999999999999999999999",
                 "source=198.18.0.0/33",
                 "source=bogus",
                 "source=",
                 "reflector=",
                 "port=1,port=2",
                 "cursor=1",
                 "cursor=0:",
                 "cursor=0:00",
                 "cursor=x",
                 "cursor=99999999999",
                 "cursor=-1",
                 "cursor=0:0123456789ABCDEF:" + std::string(80, '0'),
                 "cursor=0:0123456789abcdef:" + std::string(79, '0'),
                 "cursor=0:0123456789abcdef:" + std::string(81, '0'),
                 "cursor=0:0123456789abcdef;" + std::string(80, '0'),
                 "reflector=" + std::string(600, 'a'),
         }) {
        EXPECT_FALSE(parse_session_list_params(bad.c_str(), 1, 24, p)) << bad;
    }
}

TEST(TelemetryParams, ControlListCursor) {
    control_list_params p;
    ASSERT_TRUE(parse_control_list_params(nullptr, p));
    EXPECT_EQ(p.after_id, 0u);
    EXPECT_FALSE(p.in_sessions);
    ASSERT_TRUE(parse_control_list_params("cursor=c:17", p));
    EXPECT_EQ(p.after_id, 17u);
    ASSERT_TRUE(parse_control_list_params("cursor=s", p));
    EXPECT_TRUE(p.in_sessions);
    EXPECT_FALSE(p.has_sid);
    ASSERT_TRUE(parse_control_list_params(("cursor=s:" + std::string(30, '0') + "ff").c_str(), p));
    EXPECT_TRUE(p.has_sid);
    EXPECT_EQ(p.after_sid[15], 0xff);
    for (const std::string& bad :
         std::vector<std::string>{"cursor=c:", "cursor=c:x", "cursor=s:00", "cursor=t:1", "page=1",
                                  "cursor=c:1,cursor=c:2", "cursor=c:99999999999999999999999"}) {
        EXPECT_FALSE(parse_control_list_params(bad.c_str(), p)) << bad;
    }
}

} // namespace
} // namespace twamp::app
