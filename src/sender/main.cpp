// twamp-ping [options] HOST[:PORT]: a TWAMP Light / STAMP / full TWAMP Session-Sender on kernel
// sockets. --mode twamp first negotiates its sessions over TWAMP-Control (TCP, control.cpp),
// then sends the same test packets as light mode to the accepted ports, one UDP socket per
// session, round-robin.
//
// T1 is read from CLOCK_REALTIME right before send(), T4 is the kernel's receive timestamp
// (SO_TIMESTAMPNS, same clock), T2/T3 come from the reply in the format its Z bit states. The
// statistics live in stats.cpp; this file is the socket loop and the output.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "twamp/control/messages.hpp"
#include "twamp/sender/control.hpp"
#include "twamp/sender/options.hpp"
#include "twamp/sender/packet.hpp"
#include "twamp/sender/stats.hpp"

#ifndef TWAMP_PING_VERSION
#define TWAMP_PING_VERSION "unknown"
#endif

using namespace twamp;
using namespace twamp::sender;

namespace {

volatile sig_atomic_t g_interrupts = 0;

void on_signal(int) {
    g_interrupts = g_interrupts + 1;
}

int64_t clock_ns(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Our clock as the Error Estimate states it (RFC 4656 §4.1.2): S from the kernel's sync state,
// the error from its estimate (its maximum error while unsynchronized), and the TAI-UTC offset
// for PTP timestamps (the kernel's when set, else 37 s, as the reflector does).
struct clock_state {
    bool synchronized = false;
    int32_t tai_utc_offset_s = 37;
    uint64_t error_ns = 0;
};

clock_state read_clock_state() {
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
    char buf[INET6_ADDRSTRLEN] = "?";
    uint16_t port = 0;
    if (ss.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
        inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
        port = ntohs(a->sin6_port);
        return "[" + std::string(buf) + "]:" + std::to_string(port);
    }
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    port = ntohs(a->sin_port);
    return std::string(buf) + ":" + std::to_string(port);
}

bool same_endpoint(const sockaddr_storage& a, const sockaddr_storage& b) {
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

std::string json_string(std::string_view s) {
    std::string o = "\"";
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            o += '\\';
            o += ch;
        } else if (c < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", c);
            o += b;
        } else {
            o += ch;
        }
    }
    return o + "\"";
}

std::string ms(double ns) {
    char b[32];
    std::snprintf(b, sizeof b, "%.3f", ns / 1e6);
    return b;
}

std::string json_distribution(const distribution& d) {
    if (d.n == 0) {
        return "null";
    }
    char b[256];
    std::snprintf(b, sizeof b,
                  "{\"min\":%ld,\"avg\":%.1f,\"max\":%ld,\"stddev\":%.1f,\"p50\":%ld,\"p99\":%ld}",
                  d.min, d.avg, d.max, d.stddev, d.p50, d.p99);
    return b;
}

std::string json_opt(const std::optional<uint64_t>& v) {
    return v ? std::to_string(*v) : "null";
}

const char* mode_name(enum mode m) {
    return m == mode::stamp ? "STAMP" : m == mode::twamp ? "TWAMP" : "TWAMP Light";
}

enum class rec_state : uint8_t { outstanding, replied, lost };

struct sent_rec {
    int64_t t1 = 0;       // CLOCK_REALTIME ns
    int64_t t_mono = 0;   // CLOCK_MONOTONIC ns, for the timeout
    uint64_t t1_wire = 0; // as sent: the reply must carry it back
    uint32_t global = 0;  // index among every packet of the run (all sessions)
    rec_state state = rec_state::outstanding;
};

// One stream of test packets: a UDP socket connected to the reflector's port, its own sequence
// numbers and statistics. Light and STAMP runs have one; --mode twamp one per session.
struct flow {
    int fd = -1;
    sockaddr_storage dst{};
    socklen_t dst_len = 0;
    std::string dst_s, src_s;
    std::vector<sent_rec> sent; // by our sequence number in this flow
    std::size_t expire_idx = 0;
    statistics stats;
    uint64_t invalid = 0, send_errors = 0, tlv_flagged = 0;
    std::set<int> reported_errnos;
    // --mode twamp
    control::sid_t sid{};
    uint16_t requested_port = 0;
    uint16_t local_port = 0;
};

// sockaddr <-> the control library's address type (Request-TW-Session fields).
config::ip_address to_ip(const sockaddr_storage& ss) {
    config::ip_address a;
    if (ss.ss_family == AF_INET6) {
        a.family = config::ip_family::ipv6;
        std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, 16);
    } else {
        a.family = config::ip_family::ipv4;
        std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, 4);
    }
    return a;
}

uint16_t port_of(const sockaddr_storage& ss) {
    return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port
                                          : reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
}

void set_port(sockaddr_storage& ss, uint16_t port) {
    if (ss.ss_family == AF_INET6) {
        reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(port);
    } else {
        reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(port);
    }
}

socklen_t sockaddr_len(const sockaddr_storage& ss) {
    return ss.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

// The TWAMP-Control connection: a non-blocking TCP socket, every wait bounded by poll().
class tcp_transport final : public control_transport {
public:
    tcp_transport(int fd, double timeout_s)
        : fd_(fd), timeout_ms_(static_cast<int>(std::ceil(timeout_s * 1000))) {}

    io_status send(std::span<const uint8_t> bytes) override {
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

    io_status receive(std::vector<uint8_t>& out) override {
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

    std::string error_text() const override { return std::strerror(err_); }

private:
    io_status wait(short events, int64_t deadline) {
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

    int fd_;
    int timeout_ms_;
    int err_ = 0;
};

class pinger {
public:
    explicit pinger(const options& o) : o_(o) {}
    ~pinger();
    int run();

private:
    bool resolve(int socktype);
    int open_flow(flow& f, uint16_t bind_port, const sockaddr_storage* bind_addr);
    int connect_flow(flow& f);
    int setup_light();
    int setup_twamp();
    int connect_control();
    void send_one(int64_t now_mono);
    void receive(flow& f);
    void handle_reply(flow& f, const uint8_t* data, std::size_t len, const sockaddr_storage& from,
                      int64_t t4);
    void control_readable();
    void expire(flow& f, int64_t now_mono);
    void invalid(flow& f, const char* why, std::size_t len);
    void report_errno(flow& f, int err);
    void progress(int64_t now_mono, bool final_clear);
    void print_summary(int64_t elapsed_ns);
    std::string session_field(const flow& f) const;
    uint64_t total_sent() const noexcept { return next_global_; }
    uint64_t total_received() const noexcept;

    const options& o_;
    bool twamp_ = false;
    std::vector<flow> flows_;
    sockaddr_storage server_{}; // the resolved HOST:PORT (light/stamp: the reflector)
    socklen_t server_len_ = 0;
    std::string server_s_;
    // --mode twamp
    int ctl_fd_ = -1;
    std::string ctl_local_s_;
    std::unique_ptr<tcp_transport> transport_;
    std::unique_ptr<control_client> control_;
    bool control_failed_ = false;
    statistics total_; // every session's fresh replies, by global index (twamp, 2+ sessions)

    clock_state clk_;
    proto::error_estimate our_error_{};
    std::vector<uint8_t> tx_;
    uint64_t next_global_ = 0;
    bool per_packet_ = true;
    bool show_progress_ = false;
    bool progress_shown_ = false;
    int64_t next_progress_ = 0;
    int64_t start_mono_ = 0;
    int64_t max_rtt_ns_ = -1; // slowest fresh reply so far; -1: none yet
};

pinger::~pinger() {
    for (flow& f : flows_) {
        if (f.fd >= 0) {
            close(f.fd);
        }
    }
    if (ctl_fd_ >= 0) {
        close(ctl_fd_);
    }
}

uint64_t pinger::total_received() const noexcept {
    uint64_t n = 0;
    for (const flow& f : flows_) {
        n += f.stats.received();
    }
    return n;
}

std::string pinger::session_field(const flow& f) const {
    if (!twamp_) {
        return {};
    }
    return ",\"session\":" + std::to_string(&f - flows_.data() + 1);
}

void pinger::report_errno(flow& f, int err) {
    if (!f.reported_errnos.insert(err).second) {
        return; // once per kind: a dead path must not flood the terminal
    }
    const char* what = std::strerror(err);
    if (err == ECONNREFUSED) {
        what = twamp_ ? "ICMP port unreachable: the reflector does not (or no longer) serve this "
                        "session's port"
                      : "ICMP port unreachable: no reflector listens on that UDP port";
    } else if (err == EHOSTUNREACH) {
        what = "host unreachable (no ARP/ND answer, or ICMP host unreachable)";
    } else if (err == ENETUNREACH) {
        what = "network unreachable (no route to it)";
    } else if (err == EMSGSIZE) {
        what = "message too long for the path MTU (fragments are not reflected): use a smaller -s";
    }
    progress(clock_ns(CLOCK_MONOTONIC), true);
    std::fprintf(stderr, "twamp-ping: %s: %s\n", f.dst_s.c_str(), what);
}

bool pinger::resolve(int socktype) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = socktype;
    hints.ai_protocol = socktype == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
    addrinfo* ai = nullptr;
    int gai = getaddrinfo(o_.host.c_str(), nullptr, &hints, &ai);
    if (gai != 0 || !ai) {
        std::fprintf(stderr, "twamp-ping: cannot resolve \"%s\": %s\n", o_.host.c_str(),
                     gai == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(gai));
        return false;
    }
    std::memcpy(&server_, ai->ai_addr, ai->ai_addrlen);
    server_len_ = ai->ai_addrlen;
    freeaddrinfo(ai);
    set_port(server_, o_.port);
    server_s_ = endpoint(server_);
    return true;
}

// A UDP socket for test packets, with the options every request needs; bound when a port or
// an address is given. Returns 0, or the exit status of a failure (message printed).
int pinger::open_flow(flow& f, uint16_t bind_port, const sockaddr_storage* bind_addr) {
    const int family = server_.ss_family;
    const bool v6 = family == AF_INET6;
    f.fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (f.fd < 0) {
        std::fprintf(stderr, "twamp-ping: socket: %s\n", std::strerror(errno));
        return 1;
    }
    int one = 1;
    if (setsockopt(f.fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0 &&
        &f == flows_.data()) {
        std::fprintf(stderr, "twamp-ping: SO_TIMESTAMPNS: %s (T4 from clock_gettime instead)\n",
                     std::strerror(errno));
    }
    int rcvbuf = 4 << 20; // high rates: room for a burst of replies between two polls
    setsockopt(f.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    // RFC 5357 §4.1.2 / RFC 8762 §4.2: the Session-Sender sends with TTL/Hop Limit 255, so the
    // reflector's Sender TTL tells how many hops the request crossed.
    int ttl = 255;
    int tos = o_.dscp << 2;
    // Never fragment: the reflector does not reflect fragments, so an oversized request must
    // fail here with a message rather than vanish.
    int pmtu = v6 ? IPV6_PMTUDISC_DO : IP_PMTUDISC_DO;
    if (v6) {
        setsockopt(f.fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl);
        setsockopt(f.fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
        setsockopt(f.fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof pmtu);
    } else {
        setsockopt(f.fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
        setsockopt(f.fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
        setsockopt(f.fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
    }
    if (bind_port != 0 || bind_addr != nullptr) {
        sockaddr_storage src{};
        if (bind_addr != nullptr) {
            src = *bind_addr;
        } else {
            src.ss_family = static_cast<sa_family_t>(family);
        }
        set_port(src, bind_port);
        if (bind(f.fd, reinterpret_cast<sockaddr*>(&src), sockaddr_len(src)) != 0) {
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

// Connects a flow's socket to f.dst: the kernel picks the source address (unless bound),
// filters replies to the reflector's address and port, and reports ICMP errors for the path.
// Then checks the size against the path MTU. Returns 0 or an exit status.
int pinger::connect_flow(flow& f) {
    const bool v6 = f.dst.ss_family == AF_INET6;
    const std::size_t size = o_.payload_size();
    f.dst_s = endpoint(f.dst);
    if (connect(f.fd, reinterpret_cast<sockaddr*>(&f.dst), f.dst_len) != 0) {
        std::fprintf(stderr, "twamp-ping: %s: %s%s\n", f.dst_s.c_str(), std::strerror(errno),
                     errno == ENETUNREACH ? " (no route to that address)" : "");
        return 1;
    }
    sockaddr_storage local{};
    socklen_t llen = sizeof local;
    getsockname(f.fd, reinterpret_cast<sockaddr*>(&local), &llen);
    f.src_s = endpoint(local);
    f.local_port = port_of(local);

    int mtu = 0;
    socklen_t mlen = sizeof mtu;
    if (getsockopt(f.fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu, &mlen) ==
                0 &&
        mtu > 0) {
        const std::size_t overhead = v6 ? 48 : 28;
        if (size + overhead > static_cast<std::size_t>(mtu)) {
            std::fprintf(stderr,
                         "twamp-ping: -s %zu: %zu octets with the IP and UDP headers exceed the "
                         "path MTU %d to %s (fragments are not reflected): use -s %zu or less\n",
                         size, size + overhead, mtu, f.dst_s.c_str(),
                         static_cast<std::size_t>(mtu) - overhead);
            return 2;
        }
    }
    return 0;
}

int pinger::setup_light() {
    if (!resolve(SOCK_DGRAM)) {
        return 2;
    }
    const std::size_t size = o_.payload_size();
    if (server_.ss_family != AF_INET6 && size > max_size_ipv4) {
        std::fprintf(stderr, "twamp-ping: -s %zu: an IPv4 UDP payload is at most %zu octets\n",
                     size, max_size_ipv4);
        return 2;
    }
    flows_.resize(1);
    flow& f = flows_[0];
    if (int rc = open_flow(f, o_.src_port, nullptr)) {
        return rc;
    }
    f.dst = server_;
    f.dst_len = server_len_;
    return connect_flow(f);
}

// TCP connect to HOST:PORT, bounded by the control timeout, trying each address HOST resolves
// to. Returns 0 or an exit status.
int pinger::connect_control() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    addrinfo* list = nullptr;
    int gai = getaddrinfo(o_.host.c_str(), nullptr, &hints, &list);
    if (gai != 0 || !list) {
        std::fprintf(stderr, "twamp-ping: cannot resolve \"%s\": %s\n", o_.host.c_str(),
                     gai == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(gai));
        return 2;
    }
    const double timeout_s = o_.control_timeout_s();
    std::string last_error;
    for (addrinfo* ai = list; ai != nullptr && ctl_fd_ < 0; ai = ai->ai_next) {
        sockaddr_storage dst{};
        std::memcpy(&dst, ai->ai_addr, ai->ai_addrlen);
        set_port(dst, o_.port);
        const std::string dst_s = endpoint(dst);
        int fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (fd < 0) {
            last_error = std::string("socket: ") + std::strerror(errno);
            continue;
        }
        int err = 0;
        if (connect(fd, reinterpret_cast<sockaddr*>(&dst), ai->ai_addrlen) != 0) {
            err = errno;
            if (err == EINPROGRESS) {
                pollfd p{fd, POLLOUT, 0};
                int r = poll(&p, 1, static_cast<int>(std::ceil(timeout_s * 1000)));
                if (r == 0) {
                    err = ETIMEDOUT;
                } else if (r < 0) {
                    err = errno;
                } else {
                    socklen_t len = sizeof err;
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
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
            close(fd);
            continue;
        }
        ctl_fd_ = fd;
        server_ = dst;
        server_len_ = static_cast<socklen_t>(ai->ai_addrlen);
        server_s_ = dst_s;
    }
    freeaddrinfo(list);
    if (ctl_fd_ < 0) {
        std::fprintf(stderr, "twamp-ping: %s\n", last_error.c_str());
        return 1;
    }
    return 0;
}

int pinger::setup_twamp() {
    if (int rc = connect_control()) {
        return rc;
    }
    const std::size_t size = o_.payload_size();
    if (server_.ss_family != AF_INET6 && size > max_size_ipv4) {
        std::fprintf(stderr, "twamp-ping: -s %zu: an IPv4 UDP payload is at most %zu octets\n",
                     size, max_size_ipv4);
        return 2;
    }
    sockaddr_storage local{};
    socklen_t llen = sizeof local;
    getsockname(ctl_fd_, reinterpret_cast<sockaddr*>(&local), &llen);
    ctl_local_s_ = endpoint(local);

    // The test sockets first: a Request-TW-Session names the sender's port. Each is bound to
    // the control connection's local address, which the server sees as our address.
    flows_.resize(o_.sessions);
    for (std::size_t i = 0; i < flows_.size(); ++i) {
        flow& f = flows_[i];
        const auto port = o_.src_port ? static_cast<uint16_t>(o_.src_port + i) : uint16_t{0};
        if (int rc = open_flow(f, port, &local)) {
            return rc;
        }
        sockaddr_storage bound{};
        socklen_t blen = sizeof bound;
        getsockname(f.fd, reinterpret_cast<sockaddr*>(&bound), &blen);
        f.local_port = port_of(bound);
    }

    const double timeout_s = o_.control_timeout_s();
    transport_ = std::make_unique<tcp_transport>(ctl_fd_, timeout_s);
    control_ = std::make_unique<control_client>(*transport_, server_s_, timeout_s);
    auto fail = [&] {
        std::fprintf(stderr, "twamp-ping: %s\n", control_->error().c_str());
        return 1;
    };
    if (!control_->open()) {
        return fail();
    }
    const config::ip_address ours = to_ip(local);
    const config::ip_address theirs = to_ip(server_);
    for (std::size_t i = 0; i < flows_.size(); ++i) {
        flow& f = flows_[i];
        auto req = build_session_request(o_, i, ours, f.local_port, theirs);
        f.requested_port = req.receiver_port;
        auto s = control_->request(req);
        if (!s) {
            return fail();
        }
        f.sid = s->sid;
        f.dst = server_;
        f.dst_len = server_len_;
        set_port(f.dst, s->port);
        if (int rc = connect_flow(f)) {
            return rc;
        }
    }
    return 0;
}

int pinger::run() {
    twamp_ = o_.mode == mode::twamp;
    if (int rc = twamp_ ? setup_twamp() : setup_light()) {
        return rc;
    }
    const std::size_t size = o_.payload_size();

    clk_ = read_clock_state();
    our_error_ = proto::make_error_estimate(clk_.error_ns, clk_.synchronized,
                                            o_.timestamp == proto::ts_format::ptp);
    tx_.resize(size);
    init_request(tx_, o_.mode, o_.ssid);
    if (o_.count) {
        const auto per_flow = o_.count / flows_.size() + 1;
        for (flow& f : flows_) {
            f.sent.reserve(static_cast<std::size_t>(std::min<uint64_t>(per_flow, 1u << 24)));
        }
    }

    per_packet_ = !o_.quiet;
    show_progress_ = isatty(STDERR_FILENO) && (o_.quiet || o_.json || !isatty(STDOUT_FILENO));
    if (!o_.json) {
        if (twamp_) {
            std::printf("twamp-ping %s (TWAMP) from %s: modes %s, %zu session%s, %zu octets "
                        "(padding %u), %s timestamps, dscp %u",
                        server_s_.c_str(), ctl_local_s_.c_str(),
                        modes_to_string(control_->server_modes()).c_str(), flows_.size(),
                        flows_.size() == 1 ? "" : "s", size, padding_for_payload(size),
                        o_.timestamp == proto::ts_format::ptp ? "ptp" : "ntp", o_.dscp);
        } else {
            std::printf("twamp-ping %s (%s) from %s: %zu octets, %s timestamps, dscp %u",
                        flows_[0].dst_s.c_str(), mode_name(o_.mode), flows_[0].src_s.c_str(), size,
                        o_.timestamp == proto::ts_format::ptp ? "ptp" : "ntp", o_.dscp);
        }
        if (o_.mode == mode::stamp) {
            std::printf(", ssid %u", o_.ssid);
        }
        if (o_.paced) {
            std::printf(", %.6g packets/s\n", 1.0 / o_.interval_s);
        } else {
            std::printf(", every %.6g s\n", o_.interval_s);
        }
        if (twamp_) {
            for (std::size_t i = 0; i < flows_.size(); ++i) {
                const flow& f = flows_[i];
                std::printf("session %zu: %s -> %s", i + 1, f.src_s.c_str(), f.dst_s.c_str());
                if (f.requested_port != 0 && f.requested_port != port_of(f.dst)) {
                    std::printf(" (port %u requested)", f.requested_port);
                }
                std::printf(", sid %s\n", control::sid_to_string(f.sid).c_str());
            }
        }
        std::fflush(stdout);
    } else if (twamp_) {
        for (std::size_t i = 0; i < flows_.size(); ++i) {
            const flow& f = flows_[i];
            std::printf("{\"type\":\"session\",\"session\":%zu,\"sid\":\"%s\",\"sender\":%s,"
                        "\"receiver\":%s,\"requested_port\":%u}\n",
                        i + 1, control::sid_to_string(f.sid).c_str(), json_string(f.src_s).c_str(),
                        json_string(f.dst_s).c_str(), f.requested_port);
        }
        std::fflush(stdout);
    }

    // SIGINT/SIGTERM stop sending; outstanding replies are still awaited (up to -W), a second
    // signal ends at once. They are blocked except inside ppoll, so none is missed.
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigset_t block, wait_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &wait_mask);
    sigdelset(&wait_mask, SIGINT);
    sigdelset(&wait_mask, SIGTERM);

    // --mode twamp: the sessions run from Start-Ack on.
    if (twamp_ && !control_->start()) {
        std::fprintf(stderr, "twamp-ping: %s\n", control_->error().c_str());
        return 1;
    }

    const int64_t interval_ns = std::max<int64_t>(1, std::llround(o_.interval_s * 1e9));
    const int64_t timeout_ns = std::llround(o_.timeout_s * 1e9);
    // One pollfd per flow, then the control connection's.
    std::vector<pollfd> pfds;
    for (const flow& f : flows_) {
        pfds.push_back({f.fd, POLLIN, POLLIN}); // revents set: receive once before any poll
    }
    if (ctl_fd_ >= 0) {
        pfds.push_back({ctl_fd_, POLLIN, 0});
    }
    start_mono_ = clock_ns(CLOCK_MONOTONIC);
    next_progress_ = start_mono_ + 1'000'000'000;
    bool sending = true;
    int64_t deadline = INT64_MAX; // once sending stops: how long to wait for the last replies
    for (;;) {
        int64_t now = clock_ns(CLOCK_MONOTONIC);
        if (g_interrupts > 1) {
            break;
        }
        if ((g_interrupts > 0 || control_failed_) && sending) {
            // Interrupted (or the control connection is gone): wait for what is in flight, but
            // only as long as replies have been taking (twice the slowest so far), not the whole
            // -W: nobody wants to wait seconds after Ctrl-C for a host that never answered.
            sending = false;
            const int64_t grace = max_rtt_ns_ >= 0 ? 2 * max_rtt_ns_ + 10'000'000 : 0;
            deadline = now + std::min(timeout_ns, grace);
        }
        // Fixed schedule start + k * interval: no drift; behind schedule (a slow wake-up) it
        // catches up in bursts of at most 64.
        for (int burst = 0; sending && burst < 64; ++burst) {
            const int64_t due = start_mono_ + static_cast<int64_t>(total_sent()) * interval_ns;
            if (now < due) {
                break;
            }
            send_one(now);
            if (o_.count && total_sent() >= o_.count) {
                sending = false;
                deadline = now + timeout_ns;
            }
            now = clock_ns(CLOCK_MONOTONIC);
        }
        for (std::size_t i = 0; i < flows_.size(); ++i) {
            if (pfds[i].revents != 0) {
                receive(flows_[i]);
            }
        }
        if (ctl_fd_ >= 0 && !control_failed_ && pfds.back().revents != 0) {
            control_readable();
        }
        bool all_done = true;
        for (flow& f : flows_) {
            expire(f, now);
            all_done = all_done && f.expire_idx >= f.sent.size();
        }
        progress(now, false);
        if (!sending && (all_done || now >= deadline)) {
            break;
        }
        // Sleep until the next packet is due, the oldest outstanding one times out, or the
        // progress line is due; a reply wakes us earlier.
        int64_t wake = next_progress_;
        if (sending) {
            wake = std::min(wake, start_mono_ + static_cast<int64_t>(total_sent()) * interval_ns);
        }
        for (const flow& f : flows_) {
            if (f.expire_idx < f.sent.size()) {
                wake = std::min(wake, f.sent[f.expire_idx].t_mono + timeout_ns);
            }
        }
        if (!sending) {
            wake = std::min(wake, deadline);
        }
        const int64_t wait = std::max<int64_t>(0, wake - clock_ns(CLOCK_MONOTONIC));
        timespec ts{static_cast<time_t>(wait / 1'000'000'000),
                    static_cast<long>(wait % 1'000'000'000)};
        if (ctl_fd_ >= 0) {
            pfds.back().events = control_failed_ ? 0 : POLLIN; // a dead one would spin
        }
        for (pollfd& p : pfds) {
            p.revents = 0;
        }
        ppoll(pfds.data(), static_cast<nfds_t>(pfds.size()), &ts, &wait_mask);
    }
    const int64_t end = clock_ns(CLOCK_MONOTONIC);
    for (flow& f : flows_) {
        receive(f);
        // Whatever is still outstanding now is lost (interrupted, or past the final wait).
        expire(f, INT64_MAX);
    }
    progress(end, true);
    if (twamp_ && !control_failed_) {
        // RFC 5357 §3.8: Stop-Sessions, no answer; then the connection closes. The reflector
        // keeps reflecting for --session-timeout, so late replies of a lost one are not lost.
        if (!control_->stop()) {
            std::fprintf(stderr, "twamp-ping: %s\n", control_->error().c_str());
            control_failed_ = true;
        }
        shutdown(ctl_fd_, SHUT_WR);
    }
    print_summary(end - start_mono_);
    if (control_failed_) {
        return 1;
    }
    return total_received() > 0 ? 0 : 1;
}

// The server has nothing to say during a test: whatever it sends, or its close, ends it.
void pinger::control_readable() {
    uint8_t buf[512];
    ssize_t n = recv(ctl_fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return;
    }
    std::string msg;
    if (n < 0) {
        msg = "TWAMP-Control connection to " + server_s_ +
              " failed during the test: " + std::strerror(errno);
    } else {
        msg = control_->unexpected(std::span<const uint8_t>(buf, static_cast<std::size_t>(n)));
    }
    control_failed_ = true;
    progress(clock_ns(CLOCK_MONOTONIC), true);
    std::fprintf(stderr, "twamp-ping: %s\n", msg.c_str());
}

void pinger::send_one(int64_t now_mono) {
    flow& f = flows_[next_global_ % flows_.size()];
    const auto seq = static_cast<uint32_t>(f.sent.size());
    sent_rec r;
    r.t_mono = now_mono;
    r.global = static_cast<uint32_t>(next_global_++);
    r.t1 = clock_ns(CLOCK_REALTIME); // T1: right before send()
    r.t1_wire = proto::encode_timestamp(o_.timestamp, static_cast<uint64_t>(r.t1),
                                        clk_.tai_utc_offset_s);
    stamp_request(tx_, seq, r.t1_wire, our_error_);
    ssize_t n = send(f.fd, tx_.data(), tx_.size(), 0);
    if (n < 0) {
        const int err = errno;
        ++f.send_errors;
        r.state = rec_state::lost;
        report_errno(f, err);
    }
    f.sent.push_back(r);
}

void pinger::receive(flow& f) {
    alignas(8) static uint8_t buf[65536];
    alignas(cmsghdr) char ctrl[256];
    for (;;) {
        sockaddr_storage from{};
        iovec iov{buf, sizeof buf};
        msghdr msg{};
        msg.msg_name = &from;
        msg.msg_namelen = sizeof from;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctrl;
        msg.msg_controllen = sizeof ctrl;
        ssize_t n = recvmsg(f.fd, &msg, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return;
            }
            if (errno == EINTR) {
                continue;
            }
            // A connected UDP socket reports ICMP errors (port/host unreachable) here.
            report_errno(f, errno);
            continue;
        }
        int64_t t4 = -1;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                timespec ts{};
                std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
                t4 = static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
            }
        }
        if (t4 < 0) {
            t4 = clock_ns(CLOCK_REALTIME);
        }
        if (msg.msg_flags & MSG_TRUNC) {
            invalid(f, "longer than 65536 octets", static_cast<std::size_t>(n));
            continue;
        }
        handle_reply(f, buf, static_cast<std::size_t>(n), from, t4);
    }
}

void pinger::invalid(flow& f, const char* why, std::size_t len) {
    ++f.invalid;
    if (o_.json && per_packet_) {
        std::printf("{\"type\":\"invalid\"%s,\"reason\":%s,\"octets\":%zu}\n",
                    session_field(f).c_str(), json_string(why).c_str(), len);
    } else if (per_packet_) {
        std::printf("%zu octets from %s: invalid reply: %s\n", len, f.dst_s.c_str(), why);
    }
}

void pinger::handle_reply(flow& f, const uint8_t* data, std::size_t len,
                          const sockaddr_storage& from, int64_t t4) {
    // The socket is connected, so the kernel already filtered the source; checked again so a
    // reply can never be credited to the wrong peer.
    if (!same_endpoint(from, f.dst)) {
        invalid(f, "from another address or port", len);
        return;
    }
    reply_error err{};
    auto r = parse_reply(std::span<const uint8_t>(data, len), o_.mode, &err);
    if (!r) {
        invalid(f,
                o_.mode == mode::stamp ? "shorter than a STAMP reply (44 octets)"
                                       : "shorter than a TWAMP reply (41 octets)",
                len);
        return;
    }
    if (o_.mode == mode::stamp && r->ssid != o_.ssid) {
        invalid(f, "SSID differs from ours", len);
        return;
    }
    if (r->sender_seq >= f.sent.size()) {
        invalid(f, "Sender Sequence Number never sent", len);
        return;
    }
    sent_rec& rec = f.sent[r->sender_seq];
    if (r->sender_timestamp != rec.t1_wire) {
        invalid(f, "Sender Timestamp differs from the one sent with that sequence number", len);
        return;
    }
    const int64_t t2 = r->t2_ns(clk_.tai_utc_offset_s);
    const int64_t t3 = r->t3_ns(clk_.tai_utc_offset_s);
    if (rec.state == rec_state::lost) {
        f.stats.add_late();
        total_.add_late();
        if (per_packet_ && o_.json) {
            std::printf("{\"type\":\"late\"%s,\"seq\":%u,\"rtt_ns\":%ld}\n",
                        session_field(f).c_str(), r->sender_seq, (t4 - rec.t1) - (t3 - t2));
        } else if (per_packet_) {
            std::printf("%zu octets from %s: seq=%u late (after -W %.6g s), ignored\n", len,
                        f.dst_s.c_str(), r->sender_seq, o_.timeout_s);
        }
        return;
    }
    sample s;
    s.sender_seq = r->sender_seq;
    s.reflector_seq = r->seq;
    s.t1 = rec.t1;
    s.t2 = t2;
    s.t3 = t3;
    s.t4 = t4;
    s.reflector_synchronized = r->error.synchronized;
    const reply_kind kind = f.stats.add(s);
    if (kind == reply_kind::fresh) {
        rec.state = rec_state::replied;
        max_rtt_ns_ = std::max(max_rtt_ns_, statistics::round_trip(s));
        if (r->tlvs_unrecognized || r->tlvs_malformed) {
            ++f.tlv_flagged;
        }
        if (flows_.size() > 1) {
            // The run as a whole: numbered by global index, so its loss and delay figures cover
            // every session; the loss split and reordering come from the sessions (below).
            sample g = s;
            g.sender_seq = rec.global;
            g.reflector_seq = rec.global;
            total_.add(g);
        }
    }
    if (!per_packet_) {
        return;
    }
    const int64_t rtt = statistics::round_trip(s);
    if (o_.json) {
        std::printf("{\"type\":\"reply\"%s,\"seq\":%u,\"reflector_seq\":%u,\"octets\":%zu,"
                    "\"sender_ttl\":%u,\"t1_ns\":%ld,\"t2_ns\":%ld,\"t3_ns\":%ld,\"t4_ns\":%ld,"
                    "\"rtt_ns\":%ld,\"residence_ns\":%ld,\"forward_ns\":%ld,\"backward_ns\":%ld,"
                    "\"timestamp\":\"%s\",\"reflector_synchronized\":%s,"
                    "\"reflector_error_ns\":%lu,\"duplicate\":%s}\n",
                    session_field(f).c_str(), s.sender_seq, s.reflector_seq, len, r->sender_ttl,
                    s.t1, s.t2, s.t3, s.t4, rtt, s.t3 - s.t2, s.t2 - s.t1, s.t4 - s.t3,
                    r->error.ptp ? "ptp" : "ntp", r->error.synchronized ? "true" : "false",
                    r->error.error_ns(), kind == reply_kind::duplicate ? "true" : "false");
        return;
    }
    progress(clock_ns(CLOCK_MONOTONIC), true);
    std::printf("%zu octets from %s: seq=%u rseq=%u ttl=%u rtt=%s ms res=%s ms", len,
                f.dst_s.c_str(), s.sender_seq, s.reflector_seq, r->sender_ttl,
                ms(static_cast<double>(rtt)).c_str(), ms(static_cast<double>(s.t3 - s.t2)).c_str());
    if (clk_.synchronized && r->error.synchronized) {
        std::printf(" fwd=%s ms bwd=%s ms", ms(static_cast<double>(s.t2 - s.t1)).c_str(),
                    ms(static_cast<double>(s.t4 - s.t3)).c_str());
    }
    if (r->tlvs_unrecognized || r->tlvs_malformed) {
        std::printf(" tlv:%s%s", r->tlvs_unrecognized ? " U" : "", r->tlvs_malformed ? " M" : "");
    }
    std::printf("%s\n", kind == reply_kind::duplicate ? " (DUP!)" : "");
}

void pinger::expire(flow& f, int64_t now_mono) {
    const int64_t timeout_ns = std::llround(o_.timeout_s * 1e9);
    while (f.expire_idx < f.sent.size()) {
        sent_rec& r = f.sent[f.expire_idx];
        if (r.state == rec_state::outstanding) {
            if (now_mono != INT64_MAX && r.t_mono + timeout_ns > now_mono) {
                break;
            }
            r.state = rec_state::lost;
            if (per_packet_ && o_.json) {
                std::printf("{\"type\":\"lost\"%s,\"seq\":%zu}\n", session_field(f).c_str(),
                            f.expire_idx);
            } else if (per_packet_) {
                progress(clock_ns(CLOCK_MONOTONIC), true);
                std::printf("no reply for seq=%zu", f.expire_idx);
                if (twamp_) {
                    std::printf(" to %s", f.dst_s.c_str());
                }
                std::printf(" within %.6g s\n", o_.timeout_s);
            }
        }
        ++f.expire_idx;
    }
}

void pinger::progress(int64_t now_mono, bool final_clear) {
    if (!show_progress_) {
        return;
    }
    if (final_clear) {
        if (progress_shown_) {
            std::fputs("\r\033[K", stderr);
            progress_shown_ = false;
        }
        return;
    }
    if (now_mono < next_progress_) {
        return;
    }
    next_progress_ = now_mono + 1'000'000'000;
    const uint64_t got = total_received();
    const uint64_t sent = total_sent();
    const double loss =
            sent == 0 ? 0.0 : 100.0 * static_cast<double>(sent - got) / static_cast<double>(sent);
    std::fprintf(stderr, "\r\033[K%.0f s: %lu sent, %lu received, %.2f%% not (yet) back",
                 static_cast<double>(now_mono - start_mono_) / 1e9, sent, got, loss);
    progress_shown_ = true;
}

void pinger::print_summary(int64_t elapsed_ns) {
    // Per flow, and for a run over several sessions the total: its loss split, duplicates,
    // reordering and late replies are the sessions' sums (each session has its own numbering),
    // its delays and jitter those of every reply in arrival order.
    std::vector<summary> per;
    uint64_t invalid = 0, send_errors = 0, tlv_flagged = 0;
    for (const flow& f : flows_) {
        per.push_back(f.stats.summarize(f.sent.size(), clk_.synchronized));
        invalid += f.invalid;
        send_errors += f.send_errors;
        tlv_flagged += f.tlv_flagged;
    }
    summary s = per[0];
    if (flows_.size() > 1) {
        s = total_.summarize(total_sent(), clk_.synchronized);
        uint64_t fwd = 0, bwd = 0;
        bool split = true;
        s.duplicates = s.reordered = s.late = 0;
        for (const summary& p : per) {
            split = split && p.lost_forward && p.lost_backward;
            fwd += p.lost_forward.value_or(0);
            bwd += p.lost_backward.value_or(0);
            s.duplicates += p.duplicates;
            s.reordered += p.reordered;
            s.late += p.late;
        }
        s.lost_forward = split ? std::optional<uint64_t>(fwd) : std::nullopt;
        s.lost_backward = split ? std::optional<uint64_t>(bwd) : std::nullopt;
    }
    const char* mode_json = o_.mode == mode::stamp   ? "stamp"
                            : o_.mode == mode::twamp ? "twamp"
                                                     : "light";
    if (o_.json) {
        std::string sessions;
        if (twamp_) {
            sessions = ",\"sessions\":[";
            for (std::size_t i = 0; i < flows_.size(); ++i) {
                const flow& f = flows_[i];
                const summary& p = per[i];
                char b[512];
                std::snprintf(b, sizeof b,
                              "%s{\"session\":%zu,\"sid\":\"%s\",\"sender_port\":%u,"
                              "\"receiver_port\":%u,\"sent\":%lu,\"received\":%lu,\"lost\":%lu,"
                              "\"loss_pct\":%.3f,\"lost_forward\":%s,\"lost_backward\":%s,"
                              "\"duplicates\":%lu,\"reordered\":%lu,\"late\":%lu,\"invalid\":%lu,"
                              "\"rtt_ns\":",
                              i ? "," : "", i + 1, control::sid_to_string(f.sid).c_str(),
                              f.local_port, port_of(f.dst), p.sent, p.received, p.lost, p.loss_pct,
                              json_opt(p.lost_forward).c_str(), json_opt(p.lost_backward).c_str(),
                              p.duplicates, p.reordered, p.late, f.invalid);
                sessions += b + json_distribution(p.rtt) + "}";
            }
            sessions += "]";
            sessions += std::string(",\"control_ok\":") + (control_failed_ ? "false" : "true");
        }
        std::printf("{\"type\":\"summary\",\"host\":%s,\"port\":%u,\"mode\":\"%s\","
                    "\"octets\":%zu,\"sent\":%lu,\"received\":%lu,\"lost\":%lu,"
                    "\"loss_pct\":%.3f,\"lost_forward\":%s,\"lost_backward\":%s,"
                    "\"duplicates\":%lu,\"reordered\":%lu,\"late\":%lu,\"invalid\":%lu,"
                    "\"send_errors\":%lu,\"rtt_ns\":%s,\"residence_ns\":%s,\"forward_ns\":%s,"
                    "\"backward_ns\":%s,\"jitter_forward_ns\":%.1f,\"jitter_backward_ns\":%.1f,"
                    "\"clocks_synchronized\":%s,\"duration_ns\":%ld%s}\n",
                    json_string(o_.host).c_str(), o_.port, mode_json, tx_.size(), s.sent,
                    s.received, s.lost, s.loss_pct, json_opt(s.lost_forward).c_str(),
                    json_opt(s.lost_backward).c_str(), s.duplicates, s.reordered, s.late, invalid,
                    send_errors, json_distribution(s.rtt).c_str(),
                    json_distribution(s.residence).c_str(), json_distribution(s.forward).c_str(),
                    json_distribution(s.backward).c_str(), s.jitter_forward, s.jitter_backward,
                    s.clocks_synchronized ? "true" : "false", elapsed_ns, sessions.c_str());
        std::fflush(stdout);
        return;
    }
    auto loss_split = [](const summary& x) {
        if (x.lost_forward && x.lost_backward) {
            return " (forward " + std::to_string(*x.lost_forward) + ", backward " +
                   std::to_string(*x.lost_backward) + ")";
        }
        if (x.lost) {
            return std::string(x.received ? " (direction unknown: the reflector's sequence numbers "
                                            "equal ours)"
                                          : " (direction unknown: no reply came back)");
        }
        return std::string();
    };
    auto pct = [](double v) {
        char b[32];
        std::snprintf(b, sizeof b, "%.3g%%", v);
        return std::string(b);
    };
    std::printf("\n--- %s %s statistics ---\n",
                twamp_ ? server_s_.c_str() : flows_[0].dst_s.c_str(), mode_name(o_.mode));
    if (flows_.size() > 1) {
        for (std::size_t i = 0; i < flows_.size(); ++i) {
            const summary& p = per[i];
            std::printf("session %zu %s: %lu sent, %lu received, %s loss%s", i + 1,
                        flows_[i].dst_s.c_str(), p.sent, p.received, pct(p.loss_pct).c_str(),
                        loss_split(p).c_str());
            if (p.rtt.n) {
                std::printf(", rtt min/avg/max = %s/%s/%s ms",
                            ms(static_cast<double>(p.rtt.min)).c_str(), ms(p.rtt.avg).c_str(),
                            ms(static_cast<double>(p.rtt.max)).c_str());
            }
            std::printf("\n");
        }
        std::printf("total: ");
    }
    std::printf("%lu sent, %lu received, %s loss%s, %lu duplicates, %lu reordered, time %.0f ms\n",
                s.sent, s.received, pct(s.loss_pct).c_str(), loss_split(s).c_str(), s.duplicates,
                s.reordered, static_cast<double>(elapsed_ns) / 1e6);
    if (s.late || invalid || send_errors || tlv_flagged) {
        std::printf("%lu late (counted as lost), %lu invalid replies ignored, %lu send errors, "
                    "%lu replies with TLVs flagged U or M\n",
                    s.late, invalid, send_errors, tlv_flagged);
    }
    if (s.rtt.n) {
        std::printf("round-trip min/avg/max/stddev = %s/%s/%s/%s ms, p50 %s ms, p99 %s ms\n",
                    ms(static_cast<double>(s.rtt.min)).c_str(), ms(s.rtt.avg).c_str(),
                    ms(static_cast<double>(s.rtt.max)).c_str(), ms(s.rtt.stddev).c_str(),
                    ms(static_cast<double>(s.rtt.p50)).c_str(),
                    ms(static_cast<double>(s.rtt.p99)).c_str());
        std::printf("reflector residence (T3-T2) min/avg/max = %s/%s/%s ms\n",
                    ms(static_cast<double>(s.residence.min)).c_str(), ms(s.residence.avg).c_str(),
                    ms(static_cast<double>(s.residence.max)).c_str());
        std::printf("forward (T2-T1) min/avg/max = %s/%s/%s ms, jitter %s ms\n",
                    ms(static_cast<double>(s.forward.min)).c_str(), ms(s.forward.avg).c_str(),
                    ms(static_cast<double>(s.forward.max)).c_str(), ms(s.jitter_forward).c_str());
        std::printf("backward (T4-T3) min/avg/max = %s/%s/%s ms, jitter %s ms\n",
                    ms(static_cast<double>(s.backward.min)).c_str(), ms(s.backward.avg).c_str(),
                    ms(static_cast<double>(s.backward.max)).c_str(), ms(s.jitter_backward).c_str());
        if (!s.clocks_synchronized) {
            std::printf("(clocks not both synchronized (Error Estimate S bits): forward and "
                        "backward include the clock offset; jitter and round trip do not)\n");
        }
    }
    std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string_view> args(argv + 1, argv + argc);
    parse_result pr = parse_args(args);
    if (!pr.opts) {
        std::fprintf(stderr, "twamp-ping: %s\nTry \"twamp-ping -h\" for the options.\n",
                     pr.error.c_str());
        return 2;
    }
    const options& o = *pr.opts;
    if (o.help) {
        std::fputs(usage_text, stdout);
        return 0;
    }
    if (o.version) {
        std::printf("twamp-ping %s\n", TWAMP_PING_VERSION);
        return 0;
    }
    pinger p(o);
    return p.run();
}
