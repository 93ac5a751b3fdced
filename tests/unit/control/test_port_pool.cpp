// port_pool: receiver ports from control.receiver-ports, the control.max-sessions limit, and
// the Accept codes of RFC 4656 §3.3 when they run out.
#include <gtest/gtest.h>

#include "twamp/control/session.hpp"

using namespace twamp::control;
using twamp::net::port_range;

namespace {

session_info asking(uint16_t port) {
    session_info s;
    s.receiver_port = port;
    return s;
}

} // namespace

TEST(port_pool, honours_a_free_requested_port_in_range) {
    port_pool pool({64364, 64373}, 10);
    auto a = pool.allocate(asking(64370));
    EXPECT_EQ(a.accept, accept_code::ok);
    EXPECT_EQ(a.port, 64370);
    EXPECT_TRUE(pool.is_used(64370));
    EXPECT_EQ(pool.in_use(), 1U);
}

TEST(port_pool, picks_from_the_range_otherwise) {
    port_pool pool({64364, 64373}, 10);
    EXPECT_EQ(pool.allocate(asking(0)).port, 64364) << "0 = any";
    EXPECT_EQ(pool.allocate(asking(862)).port, 64365) << "outside the range";
    EXPECT_EQ(pool.allocate(asking(64364)).port, 64366) << "requested port already taken";
    EXPECT_EQ(pool.in_use(), 3U);
}

TEST(port_pool, round_robin_reuses_a_released_port_last) {
    port_pool pool({100, 102}, 10);
    EXPECT_EQ(pool.allocate(asking(0)).port, 100);
    pool.release(100);
    // 100 is free again, but the search goes on from 101.
    EXPECT_EQ(pool.allocate(asking(0)).port, 101);
    EXPECT_EQ(pool.allocate(asking(0)).port, 102);
    EXPECT_EQ(pool.allocate(asking(0)).port, 100) << "wraps around";
    pool.release(4242); // not held: no-op
    EXPECT_EQ(pool.in_use(), 3U);
}

TEST(port_pool, exhausted_range_is_a_temporary_limitation) {
    port_pool pool({64364, 64365}, 1024);
    EXPECT_EQ(pool.allocate(asking(0)).accept, accept_code::ok);
    EXPECT_EQ(pool.allocate(asking(0)).accept, accept_code::ok);
    auto a = pool.allocate(asking(64364));
    EXPECT_EQ(a.accept, accept_code::temporary_limit);
    EXPECT_EQ(a.port, 0);
    pool.release(64365);
    EXPECT_EQ(pool.allocate(asking(0)).port, 64365);
}

TEST(port_pool, max_sessions_is_a_temporary_limitation) {
    port_pool pool({64364, 64373}, 2);
    EXPECT_EQ(pool.allocate(asking(0)).accept, accept_code::ok);
    EXPECT_EQ(pool.allocate(asking(0)).accept, accept_code::ok);
    EXPECT_EQ(pool.allocate(asking(64370)).accept, accept_code::temporary_limit);
    EXPECT_FALSE(pool.is_used(64370));
}

TEST(port_pool, no_ports_at_all_is_a_permanent_limitation) {
    EXPECT_EQ(port_pool({0, 0}, 10).allocate(asking(0)).accept, accept_code::permanent_limit);
    EXPECT_EQ(port_pool({200, 100}, 10).allocate(asking(0)).accept, accept_code::permanent_limit);
    EXPECT_EQ(port_pool({100, 200}, 0).allocate(asking(0)).accept, accept_code::permanent_limit);
}

TEST(port_pool, whole_range_and_top_port) {
    port_pool pool({65534, 65535}, 10);
    EXPECT_EQ(pool.allocate(asking(65535)).port, 65535);
    EXPECT_EQ(pool.allocate(asking(0)).port, 65534);
    EXPECT_EQ(pool.allocate(asking(0)).accept, accept_code::temporary_limit);
}

TEST(port_pool, reconfigure_keeps_held_ports) {
    port_pool pool({64364, 64373}, 10);
    EXPECT_EQ(pool.allocate(asking(64373)).port, 64373);
    pool.reconfigure({50000, 50001}, 2);
    EXPECT_TRUE(pool.is_used(64373)) << "a running session keeps its port";
    EXPECT_EQ(pool.allocate(asking(64372)).port, 50000) << "the old range is gone";
    EXPECT_EQ(pool.allocate(asking(0)).accept, accept_code::temporary_limit)
            << "held ports count against the new limit";
    pool.release(64373);
    EXPECT_EQ(pool.allocate(asking(0)).port, 50001);
    EXPECT_EQ(pool.range().min, 50000);
    EXPECT_EQ(pool.max_sessions(), 2U);
}
