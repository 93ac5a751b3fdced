// What the box prints on stdout: the start-up summary (what runs where) and the exit summary.
#pragma once

#include "box.hpp"
#include "twamp/metrics/stats.hpp"

namespace twamp::app {

// "dpdk-twamp VERSION: N workers, ..." and a line per port, server, warning and reflector.
void print_startup(const box& b, const char* version);

// "dpdk-twamp: stopped: rx ..." (scripts read it: keep its fields where they are).
void print_stopped(const metrics::box_stats& s, unsigned mbufs_in_use);

} // namespace twamp::app
