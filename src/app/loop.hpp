// The slow path's loop (the main lcore): exception path, TWAMP-Control server, clock
// recalibration, SIGHUP reload, warnings and --stats-period lines, until a stop signal.
#pragma once

#include <atomic>
#include <string>

#include "box.hpp"

namespace twamp::app {

struct loop_settings {
    const std::atomic<bool>* stop = nullptr; // set by SIGINT/SIGTERM: end the loop
    std::atomic<bool>* reload = nullptr;     // set by SIGHUP: re-read config_path
    std::string config_path;
    unsigned stats_period = 0; // seconds between stats blocks on stdout, 0 = none
};

// Exit statuses of dpdk-twamp (README "Exit status").
constexpr int exit_ok = 0;            // stopped by SIGTERM/SIGINT (or --check, --help passed)
constexpr int exit_start_failed = 1;  // could not start: arguments, config, EAL, memory, ports
constexpr int exit_runtime_fault = 3; // a fault it cannot recover from at runtime: restart it

// Runs rounds until *s.stop, or until a port fails for good (logged); the workers run beside
// it. Returns exit_ok, or exit_runtime_fault after such a failure.
int run_slow_path(box& b, const loop_settings& s);

} // namespace twamp::app
