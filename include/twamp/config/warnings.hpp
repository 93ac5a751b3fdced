// Warnings about a valid configuration (issue 18): what --check, the start and a reload say
// without refusing it. No DPDK.
#pragma once

#include <string>
#include <vector>

#include "twamp/config/config.hpp"

namespace twamp::config {

// Every limit is split over the N workers, floored, the remainder one more to each of the
// first workers (README "Limits"): a limit below N leaves some workers a share of 0, which
// refuses all of it there (a flow RSS keeps on such a worker gets nothing). One line per such
// key: rate-limit-pps, source-rate-limit-pps, source-session-rate (stateful), max-sessions
// (stateful), a prefix rule's rate-limit-pps and max-sessions (stateful). None for n <= 1.
std::vector<std::string> worker_share_warnings(const config& cfg, unsigned n_workers);

} // namespace twamp::config
