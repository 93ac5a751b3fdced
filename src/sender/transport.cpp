// twamp-ping's sockets and clocks (see transport.hpp). T1 is read from CLOCK_REALTIME right
// before send() (pinger.cpp), T4 is the kernel's receive timestamp (SO_TIMESTAMPNS, same clock).
#include "transport.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/timex.h>
#include <unistd.h>

namespace twamp::sender {

int64_t clock_ns(clockid_t id) noexcept {
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

clock_state read_clock_state() noexcept {
    clock_state c;
    timex tx{};
    int st = adjtimex(&tx);
    c.synchronized = st >= 0 && st != TIME_ERROR && !(tx.status & STA_UNSYNC);
    if (st >= 0 && tx.tai > 0) {
        c.tai_utc_offset_s = tx.tai;
    }
    const long us = c.synchronized ? tx.esterror : tx.maxerror;
    c.error_ns = us > 0 ? static_cast<uint64_t>(us) * 1000 : 1000;
    return c;
}

std::string endpoint(const sockaddr_storage& ss) {
    uint16_t port = 0;
    const net::address a = net::from_sockaddr(ss, port, net::v4_mapped::as_ipv6);
    return net::endpoint_to_string(a, port);
}

bool same_endpoint(const sockaddr_storage& a, const sockaddr_storage& b) noexcept {
    if (a.ss_family != b.ss_family) {
        return false;
    }
    if (a.ss_family == AF_INET6) {
        const auto* x = reinterpret_cast<const sockaddr_in6*>(&a);
        const auto* y = reinterpret_cast<const sockaddr_in6*>(&b);
        return x->sin6_port == y->sin6_port &&
               std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    const auto* x = reinterpret_cast<const sockaddr_in*>(&a);
    const auto* y = reinterpret_cast<const sockaddr_in*>(&b);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

void set_port(sockaddr_storage& ss, uint16_t port) noexcept {
    if (ss.ss_family == AF_INET6) {
        reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(port);
    } else {
        reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(port);
    }
}

namespace {
uint16_t net_port(const sockaddr_storage& ss) noexcept {
    return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port
                                          : reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
}
} // namespace

bool same_port(const sockaddr_storage& a, const sockaddr_storage& b) noexcept {
    return a.ss_family == b.ss_family && net_port(a) == net_port(b);
}

socklen_t sockaddr_len(const sockaddr_storage& ss) noexcept {
    return ss.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

sockaddr_storage local_address(int fd) noexcept {
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
    return local;
}

namespace {

// getaddrinfo for HOST; nullptr (message printed) when it does not resolve.
addrinfo* lookup(const std::string& host, int socktype, int family) {
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_protocol = socktype == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
    addrinfo* ai = nullptr;
    int gai = getaddrinfo(host.c_str(), nullptr, &hints, &ai);
    if (gai != 0 || !ai) {
        std::fprintf(stderr, "twamp-ping: cannot resolve \"%s\"%s: %s\n", host.c_str(),
                     family == AF_INET    ? " to an IPv4 address"
                     : family == AF_INET6 ? " to an IPv6 address"
                                          : "",
                     gai == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(gai));
        return nullptr;
    }
    return ai;
}

} // namespace

bool make_socket_prefs(int family_opt, const std::string& device, const std::string& source,
                       int ttl, socket_prefs& out) {
    out.family = family_opt == 4 ? AF_INET : family_opt == 6 ? AF_INET6 : AF_UNSPEC;
    out.device = device;
    out.ttl = ttl;
    if (!source.empty()) {
        auto* v4 = reinterpret_cast<sockaddr_in*>(&out.source);
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.source);
        if (inet_pton(AF_INET, source.c_str(), &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
        } else if (inet_pton(AF_INET6, source.c_str(), &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
        } else {
            std::fprintf(stderr, "twamp-ping: --source \"%s\": not an address\n", source.c_str());
            return false;
        }
        out.has_source = true;
        // The source's family decides HOST's when -4/-6 does not.
        if (out.family == AF_UNSPEC) {
            out.family = out.source.ss_family;
        }
    }
    return true;
}

int bind_device(int fd, const std::string& device) {
    if (device.empty()) {
        return 0;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device.c_str(),
                   static_cast<socklen_t>(device.size())) != 0) {
        const int err = errno;
        std::fprintf(stderr, "twamp-ping: -I %s: %s%s\n", device.c_str(), std::strerror(err),
                     err == EPERM ? " (binding to an interface needs CAP_NET_RAW before Linux 5.7)"
                     : err == ENODEV ? " (no such interface)"
                                     : "");
        return err == ENODEV ? 2 : 1;
    }
    return 0;
}

bool resolve(const std::string& host, uint16_t port, int socktype, int family,
             sockaddr_storage& out, socklen_t& out_len) {
    addrinfo* ai = lookup(host, socktype, family);
    if (ai == nullptr) {
        return false;
    }
    std::memcpy(&out, ai->ai_addr, ai->ai_addrlen);
    out_len = ai->ai_addrlen;
    freeaddrinfo(ai);
    set_port(out, port);
    return true;
}

int open_udp(int family, uint8_t dscp, uint16_t bind_port, const sockaddr_storage* bind_addr,
             bool report_timestamp_error, const socket_prefs& prefs, int& fd) {
    const bool v6 = family == AF_INET6;
    fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0) {
        std::fprintf(stderr, "twamp-ping: socket: %s\n", std::strerror(errno));
        return 1;
    }
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0 &&
        report_timestamp_error) {
        std::fprintf(stderr, "twamp-ping: SO_TIMESTAMPNS: %s (T4 from clock_gettime instead)\n",
                     std::strerror(errno));
    }
    int rcvbuf = 4 << 20; // high rates: room for a burst of replies between two polls
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    // RFC 5357 §4.1.2 / RFC 8762 §4.2: the Session-Sender sends with TTL/Hop Limit 255, so the
    // reflector's Sender TTL tells how many hops the request crossed.
    int ttl = prefs.ttl;
    int tos = dscp << 2;
    // Never fragment: the reflector does not reflect fragments, so an oversized request must
    // fail here with a message rather than vanish.
    int pmtu = v6 ? IPV6_PMTUDISC_DO : IP_PMTUDISC_DO;
    if (v6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl);
        setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
        setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof pmtu);
    } else {
        setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
        setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
        setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
    }
    if (int rc = bind_device(fd, prefs.device)) {
        return rc;
    }
    if (bind_port != 0 || bind_addr != nullptr) {
        sockaddr_storage src{};
        if (bind_addr != nullptr) {
            src = *bind_addr;
        } else {
            src.ss_family = static_cast<sa_family_t>(family);
        }
        set_port(src, bind_port);
        if (bind(fd, reinterpret_cast<sockaddr*>(&src), sockaddr_len(src)) != 0) {
            const int err = errno;
            if (bind_port != 0) {
                std::fprintf(stderr, "twamp-ping: --src-port %u: %s\n", bind_port,
                             std::strerror(err));
            } else {
                std::fprintf(stderr, "twamp-ping: UDP socket on %s: %s\n", endpoint(src).c_str(),
                             std::strerror(err));
            }
            return bind_port != 0 && (err == EADDRINUSE || err == EACCES) ? 2 : 1;
        }
    }
    return 0;
}

int connect_udp(int fd, const sockaddr_storage& dst, socklen_t dst_len, std::size_t payload_size,
                sockaddr_storage& local) {
    const bool v6 = dst.ss_family == AF_INET6;
    const std::string dst_s = endpoint(dst);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&dst), dst_len) != 0) {
        std::fprintf(stderr, "twamp-ping: %s: %s%s\n", dst_s.c_str(), std::strerror(errno),
                     errno == ENETUNREACH ? " (no route to that address)" : "");
        return 1;
    }
    local = local_address(fd);

    int mtu = 0;
    socklen_t mlen = sizeof mtu;
    if (getsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu, &mlen) == 0 &&
        mtu > 0) {
        const std::size_t overhead = v6 ? 48 : 28;
        if (payload_size + overhead > static_cast<std::size_t>(mtu)) {
            std::fprintf(stderr,
                         "twamp-ping: -s %zu: %zu octets with the IP and UDP headers exceed the "
                         "path MTU %d to %s (fragments are not reflected): use -s %zu or less\n",
                         payload_size, payload_size + overhead, mtu, dst_s.c_str(),
                         static_cast<std::size_t>(mtu) - overhead);
            return 2;
        }
    }
    return 0;
}

int unconnect_udp(int fd, const sockaddr_storage& local, bool keep_address) {
    sockaddr_storage none{};
    none.ss_family = AF_UNSPEC;
    if (connect(fd, reinterpret_cast<const sockaddr*>(&none), sizeof none) != 0) {
        std::fprintf(stderr, "twamp-ping: disconnecting the UDP socket: %s\n",
                     std::strerror(errno));
        return 1;
    }
    if (local_address(fd).ss_family != AF_UNSPEC && net_port(local_address(fd)) != 0) {
        return 0; // the port was bound explicitly (--src-port): kept
    }
    // --source / -I ADDR: that address again (a wildcard bind would let the kernel pick the
    // source per packet); otherwise every local address.
    sockaddr_storage any{};
    any.ss_family = local.ss_family;
    set_port(any, net_port(local));
    const sockaddr_storage& to = keep_address ? local : any;
    if (bind(fd, reinterpret_cast<const sockaddr*>(&to), sockaddr_len(to)) != 0) {
        std::fprintf(stderr, "twamp-ping: UDP socket on %s: %s\n", endpoint(to).c_str(),
                     std::strerror(errno));
        return 1;
    }
    return 0;
}

int connect_tcp(const std::string& host, uint16_t port, double timeout_s, const socket_prefs& prefs,
                int& fd, sockaddr_storage& server, socklen_t& server_len) {
    fd = -1;
    addrinfo* list = lookup(host, SOCK_STREAM, prefs.family);
    if (list == nullptr) {
        return 2;
    }
    std::string last_error;
    for (addrinfo* ai = list; ai != nullptr && fd < 0; ai = ai->ai_next) {
        sockaddr_storage dst{};
        std::memcpy(&dst, ai->ai_addr, ai->ai_addrlen);
        set_port(dst, port);
        const std::string dst_s = endpoint(dst);
        int s = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (s < 0) {
            last_error = std::string("socket: ") + std::strerror(errno);
            continue;
        }
        if (int rc = bind_device(s, prefs.device)) {
            close(s);
            freeaddrinfo(list);
            return rc;
        }
        if (prefs.has_source && bind(s, reinterpret_cast<const sockaddr*>(&prefs.source),
                                     sockaddr_len(prefs.source)) != 0) {
            last_error = "TWAMP-Control connection from " + endpoint(prefs.source) + ": " +
                         std::strerror(errno);
            close(s);
            continue;
        }
        int err = 0;
        if (connect(s, reinterpret_cast<sockaddr*>(&dst), ai->ai_addrlen) != 0) {
            err = errno;
            if (err == EINPROGRESS) {
                pollfd p{s, POLLOUT, 0};
                int r = poll(&p, 1, static_cast<int>(std::ceil(timeout_s * 1000)));
                if (r == 0) {
                    err = ETIMEDOUT;
                } else if (r < 0) {
                    err = errno;
                } else {
                    socklen_t len = sizeof err;
                    getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
                }
            }
        }
        if (err != 0) {
            char b[64];
            std::snprintf(b, sizeof b, " within %.6g s", timeout_s);
            last_error = "TWAMP-Control connection to " + dst_s + ": " +
                         (err == ETIMEDOUT ? "no answer" + std::string(b) : std::strerror(err));
            if (err == ECONNREFUSED) {
                last_error += " (no TWAMP-Control server listens on that TCP port)";
            }
            close(s);
            continue;
        }
        fd = s;
        server = dst;
        server_len = static_cast<socklen_t>(ai->ai_addrlen);
    }
    freeaddrinfo(list);
    if (fd < 0) {
        std::fprintf(stderr, "twamp-ping: %s\n", last_error.c_str());
        return 1;
    }
    return 0;
}

namespace detail {

int receive_one(int fd, datagram& d, int& err) {
    alignas(8) static uint8_t buf[65536];
    alignas(cmsghdr) char ctrl[256];
    for (;;) {
        iovec iov{buf, sizeof buf};
        msghdr msg{};
        msg.msg_name = &d.from;
        msg.msg_namelen = sizeof d.from;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctrl;
        msg.msg_controllen = sizeof ctrl;
        ssize_t n = recvmsg(fd, &msg, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return 0;
            }
            if (errno == EINTR) {
                continue;
            }
            err = errno;
            return -1;
        }
        int64_t t4 = -1;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                timespec ts{};
                std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
                t4 = static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
            }
        }
        d.t4 = t4 < 0 ? clock_ns(CLOCK_REALTIME) : t4;
        d.truncated = (msg.msg_flags & MSG_TRUNC) != 0;
        d.payload = std::span<const uint8_t>(buf, static_cast<std::size_t>(n));
        return 1;
    }
}

} // namespace detail

tcp_transport::tcp_transport(int fd, double timeout_s)
    : fd_(fd), timeout_ms_(static_cast<int>(std::ceil(timeout_s * 1000))) {}

io_status tcp_transport::send(std::span<const uint8_t> bytes) {
    const int64_t deadline = clock_ns(CLOCK_MONOTONIC) + int64_t{timeout_ms_} * 1'000'000;
    while (!bytes.empty()) {
        ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes = bytes.subspan(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            err_ = errno;
            return errno == EPIPE || errno == ECONNRESET ? io_status::closed : io_status::error;
        }
        auto st = wait(POLLOUT, deadline);
        if (st != io_status::ok) {
            return st;
        }
    }
    return io_status::ok;
}

io_status tcp_transport::receive(std::vector<uint8_t>& out) {
    const int64_t deadline = clock_ns(CLOCK_MONOTONIC) + int64_t{timeout_ms_} * 1'000'000;
    uint8_t buf[4096];
    for (;;) {
        ssize_t n = recv(fd_, buf, sizeof buf, 0);
        if (n > 0) {
            out.insert(out.end(), buf, buf + n);
            return io_status::ok;
        }
        if (n == 0) {
            return io_status::closed;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            err_ = errno;
            return errno == ECONNRESET ? io_status::closed : io_status::error;
        }
        auto st = wait(POLLIN, deadline);
        if (st != io_status::ok) {
            return st;
        }
    }
}

std::string tcp_transport::error_text() const {
    return std::strerror(err_);
}

io_status tcp_transport::wait(short events, int64_t deadline) {
    for (;;) {
        const int64_t left = deadline - clock_ns(CLOCK_MONOTONIC);
        if (left <= 0) {
            return io_status::timeout;
        }
        pollfd p{fd_, events, 0};
        int r = poll(&p, 1, static_cast<int>((left + 999'999) / 1'000'000));
        if (r > 0) {
            return io_status::ok; // readable/writable, or an error recv/send will report
        }
        if (r < 0 && errno != EINTR) {
            err_ = errno;
            return io_status::error;
        }
    }
}

} // namespace twamp::sender
