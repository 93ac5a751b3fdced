// The one translation from the validated config to what the dataplane is asked to do.
#pragma once

#include <map>
#include <string>

#include "twamp/config/config.hpp"
#include "twamp/dataplane/spec.hpp"

namespace twamp::app {

// Reflector name -> stable slot (counters, sessions) for the process' lifetime.
struct slot_map {
    std::map<std::string, uint16_t> by_name;
    uint16_t next = 0;
    uint16_t slot_of(const std::string& name) {
        auto it = by_name.find(name);
        if (it != by_name.end()) {
            return it->second;
        }
        return by_name[name] = next++;
    }
};

// The pseudo-reflector TWAMP-Control sessions are counted under (label reflector="twamp-control";
// config names cannot take this form, parentheses are not allowed there).
inline constexpr const char* control_context_name = "(twamp-control)";

dataplane::dataplane_spec spec_from_config(const config::config& cfg, slot_map& slots);

} // namespace twamp::app
