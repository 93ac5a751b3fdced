// dpdk-twamp's own command line (after "--"), parsed with getopt_long. No DPDK: the unit tests
// link it alone (tests/unit/app).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace twamp::app {

struct app_args {
    std::string config;
    bool check = false;
    unsigned stats_period = 0; // seconds, 0 = off
    bool help = false;
    bool version = false;
    std::string error; // non-empty: the command line is wrong; print usage_text and this
};

// Where EAL's arguments end and ours begin.
struct split_args {
    int eal_argc = 1;              // argv[0..eal_argc) go to rte_eal_init
    std::vector<std::string> ours; // our options, without a program name
    std::string error;             // EAL-looking options without "--"
};

// Splits at the first "--". Without one, everything is ours when it looks like our options
// (dpdk-twamp -c FILE --check needs no EAL options), an error otherwise.
split_args split_command_line(int argc, const char* const* argv);

// Our options: -c/--config FILE, --check, --stats-period N (1..3600), -h/--help,
// -v/-V/--version. Without -c (and without --help/--version): an error.
app_args parse_app_args(const std::vector<std::string>& args);

// "dpdk-twamp 1.2.3 (DPDK 22.11.11)" from rte_version()'s "DPDK 22.11.11" (which carries its
// own "DPDK " prefix; added when a version string lacks it).
std::string version_text(std::string_view ours, std::string_view dpdk);

// How many workers the EAL options give (every lcore of -l/--lcores or -c but the first), for
// --check's warnings, which start no EAL: 0 when they name none or in a form not read here
// (an --lcores with '@' or groups); EAL then takes every CPU.
unsigned eal_worker_count(int eal_argc, const char* const* argv);

// EAL log levels when the EAL options give no --log-level (issue 19): EAL's and the drivers'
// own log types from error on ("EAL: Detected ...", the TAP driver's notes mean nothing to an
// operator), the TAP driver's from critical (its "Failed to send start req to secondary" is an
// error without a secondary process, e.g. with --no-shconf or --in-memory; a TAP that cannot
// be made fails the start with dpdk-twamp's own message). dpdk-twamp's own "twamp" type keeps
// info. Empty when the user gave any --log-level: theirs apply, whole.
std::vector<std::string> default_eal_log_args(int eal_argc, const char* const* argv);

extern const char* const usage_text;

} // namespace twamp::app
