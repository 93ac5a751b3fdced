// The config -> control translation: the one place that knows both. The control state machine
// (server.hpp) takes plain net:: values and does not depend on the config.
#pragma once

#include <cstdint>
#include <vector>

#include "twamp/config/config.hpp"
#include "twamp/control/server.hpp"

namespace twamp::control {

// Everything of a server_policy but local_addresses (see local_addresses_of) and keys.
server_policy policy_from_config(const config::control_config& c, uint64_t server_start_ns);
// The whole policy: the above, the key store (the top-level `keys`, shared by the connections
// accepted under this config: a reload's new keys reach new connections only) and the box's
// local addresses. The limiter (control.max-key-derivations) is the driver's: it outlives
// reloads.
server_policy policy_from_config(const config::config& full, uint64_t server_start_ns);

// The interface addresses of every port and VLAN of a config, without prefix length.
std::vector<net::address> local_addresses_of(const config::config& c);

} // namespace twamp::control
