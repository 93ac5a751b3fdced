// The exit summary: one "dpdk-twamp: stopped: ..." line (tests/integration/lab_tests.py parses
// it: keep its words and order).
#include "exit_summary.hpp"

#include <cstdio>
#include <string>

#include "twamp/metrics/names.hpp"

namespace twamp::app {

std::string summary_line(const metrics::box_stats& s, unsigned mbufs_in_use) {
    std::string why;
    for (std::size_t r = 1; r < proto::drop_reason_count; ++r) {
        if (s.drops[r]) {
            why += (why.empty() ? " (" : " ") + std::string(proto::drop_reason_names[r]) + "=" +
                   std::to_string(s.drops[r]);
        }
    }
    if (!why.empty()) {
        why += ")";
    }
    // Every received frame once: rx == reflected + dropped + to-kernel. Frames from the kernel
    // are either sent (from-kernel) or counted as from-kernel dropped, by reason.
    std::string wire_why;
    for (std::size_t r = 0; r < s.to_wire_drops.size(); ++r) {
        if (s.to_wire_drops[r]) {
            wire_why += (wire_why.empty() ? " (" : " ") +
                        std::string(metrics::to_wire_drop_names[r]) + "=" +
                        std::to_string(s.to_wire_drops[r]);
        }
    }
    if (!wire_why.empty()) {
        wire_why += ")";
    }
    const std::string to_kernel(summary_name_of(metrics::exception_direction::to_kernel));
    const std::string from_kernel(summary_name_of(metrics::exception_direction::to_wire));
    // (from-kernel dropped last: scripts that read the older line keep working.)
    std::string sessions = "sessions";
    for (const auto& t : metrics::session_totals) {
        sessions += " " + std::string(t.summary) + " " + std::to_string(s.*t.field);
    }
    // The drop lists have no bound worth guessing: measure, then print.
    auto format = [&](char* buf, std::size_t size) {
        return std::snprintf(
                buf, size,
                "dpdk-twamp: stopped: rx %lu, reflected %lu (%lu octets), dropped %lu%s, "
                "%s %lu, %s %lu, %s, mbufs in use %u, %s dropped %lu%s\n",
                s.rx_pkts, s.reflected_pkts, s.reflected_octets, s.dropped(), why.c_str(),
                to_kernel.c_str(), s.to_kernel, from_kernel.c_str(), s.to_wire, sessions.c_str(),
                mbufs_in_use, from_kernel.c_str(), s.to_wire_dropped(), wire_why.c_str());
    };
    const int n = format(nullptr, 0);
    std::string line(n > 0 ? static_cast<std::size_t>(n) : 0, '\0');
    format(line.data(), line.size() + 1);
    return line;
}

void print_summary(const metrics::box_stats& s, unsigned mbufs_in_use) {
    std::fputs(summary_line(s, mbufs_in_use).c_str(), stdout);
    std::fflush(stdout);
}

} // namespace twamp::app
