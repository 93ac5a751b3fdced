// net::address <-> the socket API's sockaddr (the slow path's TWAMP-Control driver).
#pragma once

#include <cstdint>

#include <netinet/in.h>
#include <sys/socket.h>

#include "twamp/net/address.hpp"

namespace twamp::net {

// The address and port of a socket address. An IPv4-mapped IPv6 address (what a dual-stack
// listener on "::" reports for IPv4 peers) comes back as IPv4.
address from_sockaddr(const sockaddr_storage& ss, uint16_t& port) noexcept;

// `a`:`port` as a sockaddr_in or sockaddr_in6 in `ss`; returns its length.
socklen_t to_sockaddr(const address& a, uint16_t port, sockaddr_storage& ss) noexcept;

} // namespace twamp::net
