// net::address <-> the socket API's sockaddr (the slow path's TWAMP-Control driver).
#pragma once

#include <cstdint>

#include <netinet/in.h>
#include <sys/socket.h>

#include "twamp/net/address.hpp"

namespace twamp::net {

// What from_sockaddr makes of an IPv4-mapped IPv6 address (::ffff:a.b.c.d).
enum class v4_mapped {
    as_ipv4, // IPv4 a.b.c.d: what a dual-stack listener on "::" reports for IPv4 peers
    as_ipv6, // kept as the IPv6 address the socket reported (twamp-ping's own sockets)
};

// The address and port of a socket address (anything but AF_INET6 is read as AF_INET).
address from_sockaddr(const sockaddr_storage& ss, uint16_t& port,
                      v4_mapped mapped = v4_mapped::as_ipv4) noexcept;

// `a`:`port` as a sockaddr_in or sockaddr_in6 in `ss`; returns its length.
socklen_t to_sockaddr(const address& a, uint16_t port, sockaddr_storage& ss) noexcept;

} // namespace twamp::net
