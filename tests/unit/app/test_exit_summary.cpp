// The exit summary line (src/app/summary.cpp): its words and order are what
// tests/integration/lab_tests.py parses; built from the name tables, it must read as it did.
#include <string>

#include <gtest/gtest.h>

#include "exit_summary.hpp"

using namespace twamp;

TEST(summary, line_as_the_integration_tests_read_it) {
    metrics::box_stats s;
    EXPECT_EQ(app::summary_line(s, 0),
              "dpdk-twamp: stopped: rx 0, reflected 0 (0 octets), dropped 0, to-kernel 0, "
              "from-kernel 0, sessions created 0 aged 0 table-full 0, mbufs in use 0, "
              "from-kernel dropped 0\n");
    s.rx_pkts = 20;
    s.reflected_pkts = 11;
    s.reflected_octets = 1100;
    s.drops[static_cast<std::size_t>(proto::drop_reason::acl_denied)] = 3;
    s.to_kernel = 6;
    s.to_wire = 5;
    s.to_wire_drops[static_cast<std::size_t>(metrics::to_wire_drop::rate_limit)] = 2;
    s.to_wire_drops[static_cast<std::size_t>(metrics::to_wire_drop::shutdown)] = 1;
    s.sessions_created = 4;
    s.sessions_aged = 2;
    s.sessions_table_full = 1;
    EXPECT_EQ(app::summary_line(s, 7),
              "dpdk-twamp: stopped: rx 20, reflected 11 (1100 octets), dropped 3 (acl_denied=3), "
              "to-kernel 6, from-kernel 5, sessions created 4 aged 2 table-full 1, mbufs in use 7, "
              "from-kernel dropped 3 (rate_limit=2 shutdown=1)\n");
}

TEST(summary, every_drop_reason_fits) {
    metrics::box_stats s;
    for (std::size_t r = 1; r < proto::drop_reason_count; ++r) {
        s.drops[r] = 18'446'744'073'709'551'000ULL + r;
    }
    const std::string line = app::summary_line(s, 1);
    for (std::size_t r = 1; r < proto::drop_reason_count; ++r) {
        EXPECT_NE(line.find(std::string(proto::drop_reason_names[r]) + "=" +
                            std::to_string(s.drops[r])),
                  std::string::npos)
                << proto::drop_reason_names[r];
    }
    EXPECT_GT(line.size(), 1024U);
    EXPECT_EQ(line.back(), '\n');
    EXPECT_NE(line.find(", from-kernel dropped 0\n"), std::string::npos);
}
