#include "twamp/config/warnings.hpp"

namespace twamp::config {

std::vector<std::string> worker_share_warnings(const config& cfg, unsigned n_workers) {
    std::vector<std::string> out;
    if (n_workers <= 1) {
        return out;
    }
    const std::string n = std::to_string(n_workers);
    auto check = [&](const std::string& path, uint32_t value, bool sessions) {
        if (value == 0 || value >= n_workers) {
            return; // 0: no limit; at least N: every worker has a share
        }
        const unsigned zero = n_workers - value;
        const bool one = zero == 1;
        out.push_back(path + " = " + std::to_string(value) + " is below the " + n +
                      " workers: each keeps a share of it (floored, one more for the first " +
                      std::to_string(value) + "), so " + std::to_string(zero) + " of them " +
                      (one ? "has" : "have") + " a share of 0 and " +
                      (sessions ? std::string(one ? "keeps" : "keep") +
                                          " no session of it (new flows get over-capacity)"
                                : std::string(one ? "answers" : "answer") + " none of it") +
                      ": a flow RSS puts there gets nothing, not the limit");
    };
    for (std::size_t i = 0; i < cfg.reflectors.size(); ++i) {
        const reflector_config& r = cfg.reflectors[i];
        const std::string p = "reflectors[" + std::to_string(i) + "] (\"" + r.name + "\").";
        check(p + "rate-limit-pps", r.rate_limit_pps, false);
        check(p + "source-rate-limit-pps", r.source_rate_limit_pps, false);
        if (r.stateful) {
            check(p + "source-session-rate", r.source_session_rate, false);
            check(p + "max-sessions", r.max_sessions, true);
        }
        for (std::size_t k = 0; k < r.prefix_limits.size(); ++k) {
            const prefix_limit& pl = r.prefix_limits[k];
            const std::string q =
                    p + "prefix-limits[" + std::to_string(k) + "] (" + pl.prefix.to_string() + ").";
            check(q + "rate-limit-pps", pl.rate_limit_pps, false);
            if (r.stateful) {
                check(q + "max-sessions", pl.max_sessions, true);
            }
        }
    }
    return out;
}

} // namespace twamp::config
