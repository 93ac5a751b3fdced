// What the box prints on stdout at start: what runs where (the exit summary: exit_summary.hpp).
#pragma once

#include "box.hpp"

#include "twamp/metrics/stats.hpp"

namespace twamp::app {

// "dpdk-twamp VERSION: N workers, ..." and a line per port, server, warning and reflector.
void print_startup(const box& b, const char* version);

} // namespace twamp::app
