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

// Runs rounds until *s.stop; the workers run beside it.
void run_slow_path(box& b, const loop_settings& s);

} // namespace twamp::app
