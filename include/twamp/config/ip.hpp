// IP addresses and prefixes as the config states them ("198.18.0.2", "2001:2::/48"): the
// project's one address type, twamp::net (include/twamp/net/address.hpp), under the names the
// config has always used.
#pragma once

#include "twamp/net/address.hpp"

namespace twamp::config {

using net::ip_family;
using ip_address = net::address;
using ip_prefix = net::prefix;

} // namespace twamp::config
