// The project's own DPDK log type ("twamp"): its level follows EAL's --log-level, e.g.
// --log-level=twamp:debug. Slow path only: the workers never log.
#pragma once

#include <rte_log.h>

namespace twamp::app {

inline int logtype = RTE_LOGTYPE_USER1;

inline void init_log() {
    int t = rte_log_register_type_and_pick_level("twamp", RTE_LOG_INFO);
    if (t >= 0) {
        logtype = t;
    }
}

} // namespace twamp::app

#define TWAMP_LOG(level, fmt, ...)                                                                 \
    rte_log(RTE_LOG_##level, ::twamp::app::logtype, "TWAMP: " fmt "\n" __VA_OPT__(, ) __VA_ARGS__)
