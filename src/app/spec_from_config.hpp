// The one translation from the validated config to what the dataplane is asked to do.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "twamp/config/config.hpp"
#include "twamp/dataplane/spec.hpp"

namespace twamp::app {

// Reflector name -> stable slot (counters, sessions) for the process' lifetime.
struct slot_map {
    std::map<std::string, uint16_t> by_name;
    uint16_t next = 0;
    // The slot of `name`, given it the first time (spec_from_config assigns every context's).
    uint16_t assign(const std::string& name) {
        auto [it, fresh] = by_name.try_emplace(name, next);
        if (fresh) {
            ++next;
        }
        return it->second;
    }
    // The slot assigned to `name`; std::out_of_range when it has none (a lookup never adds).
    uint16_t slot_of(const std::string& name) const { return by_name.at(name); }
};

// One reflector as telemetry and the metrics show it.
struct reflector_info {
    std::string name;
    std::string mode;
    uint16_t slot = 0;                       // index of its counters in every worker's block
    std::vector<std::string> prefix_rules{}; // its prefix-limits' prefixes, in order
};

// The pseudo-reflector TWAMP-Control sessions are counted under (label reflector="twamp-control";
// config names cannot take this form, parentheses are not allowed there).
inline constexpr const char* control_context_name = "(twamp-control)";

// The spec for `cfg`: its contexts are the config's reflectors in order, then the
// TWAMP-Control pseudo-reflector when the server runs, each with its slot (assigned in `slots`
// when new).
dataplane::dataplane_spec spec_from_config(const config::config& cfg, slot_map& slots);

// The reflector list telemetry and the metrics read, one per context of `spec` (made by
// spec_from_config from `cfg`), in its order and with its slots.
std::vector<reflector_info> reflector_list(const config::config& cfg,
                                           const dataplane::dataplane_spec& spec);

} // namespace twamp::app
