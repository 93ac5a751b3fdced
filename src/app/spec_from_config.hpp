// The one translation from the validated config to what the dataplane is asked to do.
#pragma once

#include "twamp/config/config.hpp"
#include "twamp/dataplane/spec.hpp"

namespace twamp::app {

dataplane::dataplane_spec spec_from_config(const config::config& cfg);

} // namespace twamp::app
