// The exit summary line (src/app/exit_summary.cpp).
#pragma once

#include <string>

#include "twamp/metrics/stats.hpp"

namespace twamp::app {

// Prints "dpdk-twamp: stopped: rx N, reflected N (N octets), dropped N (reason=N ...), ..."
// from the final counters, the names from metrics/names.hpp and proto/drop_reason.hpp.
void print_summary(const metrics::box_stats& s, unsigned mbufs_in_use);
// The line print_summary prints (with its newline).
std::string summary_line(const metrics::box_stats& s, unsigned mbufs_in_use);

} // namespace twamp::app
