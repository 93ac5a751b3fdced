// The exit summary: one "dpdk-twamp: stopped: ..." line (tests/integration/lab_tests.py parses
// it: keep its words and order).
#include "summary.hpp"

#include <cstdio>
#include <string>

#include "twamp/metrics/names.hpp"

namespace twamp::app {

void print_summary(const metrics::box_stats& s, unsigned mbufs_in_use) {
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
    std::printf("dpdk-twamp: stopped: rx %lu, reflected %lu (%lu octets), dropped %lu%s, "
                "%s %lu, %s %lu, sessions created %lu aged %lu table-full %lu, "
                "mbufs in use %u, %s dropped %lu%s\n",
                s.rx_pkts, s.reflected_pkts, s.reflected_octets, s.dropped(), why.c_str(),
                to_kernel.c_str(), s.to_kernel, from_kernel.c_str(), s.to_wire, s.sessions_created,
                s.sessions_aged, s.sessions_table_full, mbufs_in_use, from_kernel.c_str(),
                s.to_wire_dropped(), wire_why.c_str());
    std::fflush(stdout);
}

} // namespace twamp::app
