// twamp-ping's kernel side: clocks, addresses, the UDP test sockets (options every request
// needs, connect, path MTU check, receive with the kernel's timestamp) and the TWAMP-Control TCP
// connection. Every failure is printed here ("twamp-ping: ...") and returned as the exit status
// it means: 1 for the run, 2 for a usage error (a port in use, a size the path cannot carry).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <sys/socket.h>
#include <time.h>

#include "twamp/net/address.hpp"
#include "twamp/net/sockaddr.hpp"
#include "twamp/sender/control.hpp"

namespace twamp::sender {

int64_t clock_ns(clockid_t id) noexcept;

// Our clock as the Error Estimate states it (RFC 4656 §4.1.2): S from the kernel's sync state,
// the error from its estimate (its maximum error while unsynchronized), and the TAI-UTC offset
// for PTP timestamps (the kernel's when set, else 37 s, as the reflector does).
struct clock_state {
    bool synchronized = false;
    int32_t tai_utc_offset_s = 37;
    uint64_t error_ns = 0;
};

clock_state read_clock_state() noexcept;

// "198.18.0.2:862", "[2001:2::2]:862" (an IPv4-mapped address stays IPv6: as the socket has it).
std::string endpoint(const sockaddr_storage& ss);
bool same_endpoint(const sockaddr_storage& a, const sockaddr_storage& b) noexcept;
// The same address family and UDP port (the address may differ).
bool same_port(const sockaddr_storage& a, const sockaddr_storage& b) noexcept;
// (The address and port of a sockaddr, e.g. for Request-TW-Session fields: net::from_sockaddr
// with net::v4_mapped::as_ipv6.)
void set_port(sockaddr_storage& ss, uint16_t port) noexcept;
socklen_t sockaddr_len(const sockaddr_storage& ss) noexcept;
// The socket's local endpoint.
sockaddr_storage local_address(int fd) noexcept;

// Where the sockets come from (-4/-6, -I, --source, -t).
struct socket_prefs {
    int family = AF_UNSPEC; // resolve HOST to this family only
    std::string device;     // SO_BINDTODEVICE
    bool has_source = false;
    sockaddr_storage source{}; // bind to this address (port 0)
    int ttl = 255;             // TTL / Hop Limit of the test packets
};

// The options' -4/-6/-I/--source/-t as socket_prefs. False (message printed) when --source is
// not an address of the family asked for.
bool make_socket_prefs(int family_opt, const std::string& device, const std::string& source,
                       int ttl, socket_prefs& out);

// SO_BINDTODEVICE; 0 or an exit status (message printed).
int bind_device(int fd, const std::string& device);

// HOST's first address for `socktype` (of `family` unless AF_UNSPEC), with `port`. False
// (message printed) when it does not resolve.
bool resolve(const std::string& host, uint16_t port, int socktype, int family,
             sockaddr_storage& out, socklen_t& out_len);

// A UDP socket for test packets: non-blocking, SO_TIMESTAMPNS (a failure is reported when
// `report_timestamp_error`), a large receive buffer, TTL/Hop Limit `prefs.ttl` (255 by
// default), the DSCP, Don't Fragment, SO_BINDTODEVICE with `prefs.device`; bound when a port or
// an address is given. Returns 0 with `fd` set, or the exit status of a failure (message
// printed).
int open_udp(int family, uint8_t dscp, uint16_t bind_port, const sockaddr_storage* bind_addr,
             bool report_timestamp_error, const socket_prefs& prefs, int& fd);

// Undoes connect_udp() for replies that are not tied to the destination (options::unconnected):
// the association is dissolved (AF_UNSPEC) and the socket bound again to `local`'s port (the
// kernel releases an automatically chosen port on disconnect): on `local`'s address when
// `keep_address` (--source / -I ADDR), else on every local address. Sends then go through
// sendto(). Returns 0, or an exit status (message printed).
int unconnect_udp(int fd, const sockaddr_storage& local, bool keep_address);

// Connects a UDP socket to `dst`: the kernel picks the source address (unless bound), filters
// replies to the reflector's address and port, and reports ICMP errors for the path. Then
// checks `payload_size` against the path MTU. Returns 0 with `local` set, or an exit status.
int connect_udp(int fd, const sockaddr_storage& dst, socklen_t dst_len, std::size_t payload_size,
                sockaddr_storage& local);

// TCP connect to HOST:PORT, bounded by `timeout_s`, trying each address HOST resolves to (of
// prefs.family), from prefs.source and prefs.device when given. Returns 0 with `fd` and
// `server` set, or an exit status.
int connect_tcp(const std::string& host, uint16_t port, double timeout_s, const socket_prefs& prefs,
                int& fd, sockaddr_storage& server, socklen_t& server_len);

// One datagram read from a test socket.
struct datagram {
    std::span<const uint8_t> payload;
    sockaddr_storage from{};
    int64_t t4 = 0;         // the kernel's receive timestamp (else clock_gettime), Unix ns
    bool truncated = false; // longer than the buffer
};

// Reads every datagram waiting on a non-blocking UDP socket: on_datagram(const datagram&) for
// each, on_error(int errno) for an error the socket reports (a connected UDP socket reports
// ICMP errors this way). Returns when nothing is left.
template<class OnDatagram, class OnError>
void receive_all(int fd, OnDatagram&& on_datagram, OnError&& on_error);

// The TWAMP-Control connection: a non-blocking TCP socket, every wait bounded by poll().
class tcp_transport final : public control_transport {
public:
    tcp_transport(int fd, double timeout_s);

    io_status send(std::span<const uint8_t> bytes) override;
    io_status receive(std::vector<uint8_t>& out) override;
    std::string error_text() const override;

private:
    io_status wait(short events, int64_t deadline);

    int fd_;
    int timeout_ms_;
    int err_ = 0;
};

namespace detail {
// One recvmsg(): 1 with `d` filled, 0 when nothing is waiting, -1 with `err` set.
int receive_one(int fd, datagram& d, int& err);
} // namespace detail

template<class OnDatagram, class OnError>
void receive_all(int fd, OnDatagram&& on_datagram, OnError&& on_error) {
    for (;;) {
        datagram d;
        int err = 0;
        const int r = detail::receive_one(fd, d, err);
        if (r == 0) {
            return;
        }
        if (r < 0) {
            on_error(err);
            continue;
        }
        on_datagram(d);
    }
}

} // namespace twamp::sender
