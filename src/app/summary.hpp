// What the box prints on stdout at start: what runs where (the exit summary: exit_summary.hpp).
#pragma once

#include <string>

#include "box.hpp"

#include "twamp/metrics/stats.hpp"

namespace twamp::app {

// "dpdk-twamp VERSION: N workers, ..." and a line per port, server, warning and reflector.
void print_startup(const box& b, const char* version);

// systemd's STATUS= at READY=1: "running: N workers, N ports, N reflectors,
// TWAMP-Control on ADDRESS port P; config FILE".
std::string ready_status(const box& b);

} // namespace twamp::app
