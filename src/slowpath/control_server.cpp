#include "twamp/slowpath/control_server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <span>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "twamp/control/policy_from_config.hpp"
#include "twamp/net/sockaddr.hpp"

namespace twamp::slowpath {

namespace {

// Connections accepted per poll: a connection flood cannot hold the slow path in accept().
constexpr int max_accepts_per_poll = 64;

// The key-derivation limiter's clock: CLOCK_MONOTONIC, which NTP slews but never steps (poll's
// now_ns is Unix time, for the SIDs' timestamps, and may step back).
uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

// control::derive_key, timed: twamp_reflector_control_key_derivation_seconds_total (the
// derivations' share of the slow path; bounded by the config, see control.kdf-count).
control::derive_fn timed_derive(std::atomic<uint64_t>& total_ns) {
    return [&total_ns](std::span<const uint8_t> secret, std::span<const uint8_t, 16> salt,
                       uint32_t count, std::array<uint8_t, 16>& out) {
        const uint64_t t0 = monotonic_ns();
        const bool ok = control::derive_key(secret, salt, count, out);
        total_ns.fetch_add(monotonic_ns() - t0, std::memory_order_relaxed);
        return ok;
    };
}

bool allowed(const config::control_config& cfg, const config::ip_address& peer) {
    for (const auto& p : cfg.prefixes) {
        if (p.contains(peer)) {
            return true;
        }
    }
    return false;
}

// control_io on kernel sockets and a level-triggered epoll.
class socket_io final : public control_io {
public:
    ~socket_io() override {
        for (const auto& [fd, ev] : watched_) {
            ::close(fd);
        }
        if (listen_fd_ >= 0) {
            ::close(listen_fd_);
        }
        if (epoll_fd_ >= 0) {
            ::close(epoll_fd_);
        }
    }

    explicit socket_io(uint32_t max_connections) : max_connections_(max_connections) {}

    bool listen(const net::address& address, uint16_t port, std::string& error) override {
        if (!check_fd_limit(error)) {
            return false;
        }
        sockaddr_storage ss;
        const socklen_t len = net::to_sockaddr(address, port, ss);
        const bool v6 = address.is_v6();
        listen_fd_ =
                ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (listen_fd_ < 0) {
            error = std::strerror(errno);
            return false;
        }
        int one = 1;
        setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (v6 && address.is_unspecified()) {
            int zero = 0; // "::" serves IPv4 too (as IPv4-mapped addresses)
            setsockopt(listen_fd_, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        }
        // Both the listener and the address may need the TAP's addresses to be up: they are,
        // the exception path configured them before.
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
            ::listen(listen_fd_, 64) != 0) {
            error = std::strerror(errno);
            return false;
        }
        epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = listen_fd_;
        if (epoll_fd_ < 0 || epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) {
            error = std::string("epoll: ") + std::strerror(errno);
            return false;
        }
        return true;
    }

    std::optional<accepted> accept() override {
        sockaddr_storage peer{}, local{};
        socklen_t pl = sizeof peer, ll = sizeof local;
        int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &pl,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                // The connection stays in the backlog and the listener readable: the server
                // stops polling it for a while (level-triggered epoll would spin).
                return accepted{out_of_fds, {}, {}};
            }
            return std::nullopt; // EAGAIN, or a transient error: try again on the next event
        }
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll);
        // A client that vanishes mid-test (power, cable) sends no FIN: keepalive finds it.
        int on = 1, idle = control_server::keepalive_idle_s,
            intvl = control_server::keepalive_interval_s, cnt = control_server::keepalive_count;
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
        uint16_t pport = 0, lport = 0;
        accepted a{fd, net::from_sockaddr(local, lport), net::from_sockaddr(peer, pport)};
        a.local_port = lport;
        a.peer_port = pport;
        return a;
    }

    long recv(int fd, std::span<uint8_t> buf) override {
        ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n >= 0) {
            return static_cast<long>(n);
        }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : -2;
    }

    long send(int fd, std::span<const uint8_t> buf) override {
        ssize_t n = ::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            return static_cast<long>(n);
        }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    }

    void watch(int fd, bool read, bool write) override {
        if (fd == listener) {
            epoll_event lev{};
            lev.events = read ? EPOLLIN : 0U;
            lev.data.fd = listen_fd_;
            epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &lev);
            return;
        }
        epoll_event ev{};
        // Not EPOLLRDHUP while not reading: a half-closed peer would report it at every poll.
        const uint32_t want = (read ? EPOLLIN | EPOLLRDHUP : 0U) | (write ? EPOLLOUT : 0U);
        ev.events = want;
        ev.data.fd = fd;
        auto [it, fresh] = watched_.emplace(fd, want);
        if (fresh) {
            epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
        } else if (it->second != want) {
            it->second = want;
            epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
        }
    }

    void close(int fd) override {
        if (watched_.erase(fd) != 0) {
            epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
        }
        ::close(fd);
    }

    std::size_t wait(std::span<event> out) override {
        if (epoll_fd_ < 0 || out.empty()) {
            return 0;
        }
        epoll_event evs[32];
        int n = epoll_wait(epoll_fd_, evs, static_cast<int>(std::min<std::size_t>(32, out.size())),
                           0);
        for (int i = 0; i < n; ++i) {
            event& e = out[static_cast<std::size_t>(i)];
            e.fd = evs[i].data.fd == listen_fd_ ? listener : evs[i].data.fd;
            e.what = ((evs[i].events & (EPOLLIN | EPOLLRDHUP)) ? readable : 0U) |
                     ((evs[i].events & EPOLLOUT) ? writable : 0U) |
                     ((evs[i].events & (EPOLLERR | EPOLLHUP)) ? hangup : 0U);
        }
        return n > 0 ? static_cast<std::size_t>(n) : 0;
    }

private:
    bool check_fd_limit(std::string& error) const {
        return ensure_fd_limit(max_connections_, 0, error);
    }

    uint32_t max_connections_;
    int listen_fd_ = -1;
    int epoll_fd_ = -1;
    std::map<int, uint32_t> watched_; // fd -> epoll events
};

} // namespace

std::size_t open_fds() {
    DIR* d = opendir("/proc/self/fd");
    if (d == nullptr) {
        return 0;
    }
    std::size_t n = 0;
    while (const dirent* e = readdir(d)) {
        if (e->d_name[0] != '.') {
            ++n;
        }
    }
    closedir(d);
    return n > 0 ? n - 1 : 0; // not the directory's own descriptor
}

// Every admitted connection, one accept round of refused ones, and the process' own (DPDK, TAP,
// netlink, metrics threads, logs: those open now but the control connections, and room for
// 64 more; at least 256, and 256 when /proc cannot tell): a max-connections the limit cannot
// hold would turn into EMFILE under load.
bool ensure_fd_limit(uint32_t max_connections, std::size_t control_fds, std::string& error) {
    const std::size_t open = open_fds();
    const std::size_t own = open > control_fds ? open - control_fds : 0;
    const rlim_t need = rlim_t{max_connections} + 64 + std::max<rlim_t>(256, own + 64);
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need) {
        return true;
    }
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) {
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0) {
            return true;
        }
    }
    error = "control.max-connections " + std::to_string(max_connections) + " needs " +
            std::to_string(need) + " file descriptors (" + std::to_string(own) +
            " open besides control connections), RLIMIT_NOFILE allows " +
            std::to_string(rl.rlim_max) +
            " (hard): raise it (ulimit -n, systemd LimitNOFILE=) or lower "
            "control.max-connections";
    return false;
}

std::unique_ptr<control_io> make_socket_io(uint32_t max_connections) {
    return std::make_unique<socket_io>(max_connections);
}

control_server::control_server(const config::config& cfg, publish_fn publish, control_env env)
    : cfg_(cfg.control), publish_(std::move(publish)),
      policy_(control::policy_from_config(cfg, env.start_ns)),
      pool_(cfg.control.receiver_ports, cfg.control.max_sessions),
      limiter_(cfg.control.max_key_derivations,
               env.monotonic_ns ? env.monotonic_ns : std::function<uint64_t()>(monotonic_ns)),
      env_(std::move(env)) {
    if (!env_.io) {
        env_.io = make_socket_io(cfg.control.max_connections);
    }
    if (!env_.random) {
        env_.random = control::os_random;
    }
    if (!env_.tsc) {
        env_.tsc = monotonic_ns;
        env_.tsc_hz = 1'000'000'000ULL;
    }
    policy_.limiter = &limiter_;
    policy_.derive = timed_derive(counters_.key_derivation_ns);
    std::array<uint8_t, 8> seed{};
    env_.random(seed); // the per-source derivation slots: not predictable from outside
    uint64_t s = 0;
    std::memcpy(&s, seed.data(), sizeof s);
    limiter_.set_seed(s);
    env_.random(seed); // the eviction victims: not predictable either
    std::memcpy(&rng_, seed.data(), sizeof rng_);
    // make_unique value-initializes: every port's last activity 0 (never).
    activity_ = env_.activity;
    if (!activity_) {
        own_activity_ = std::make_unique<dataplane::port_activity>();
        activity_ = own_activity_.get();
    }
}

control_server::~control_server() {
    for (auto& [fd, c] : conns_) {
        env_.io->close(fd);
    }
}

bool control_server::start(std::string& error) {
    if (!env_.io->listen(cfg_.listen, cfg_.port, error)) {
        error = "control.listen " + cfg_.listen.to_string() + " port " + std::to_string(cfg_.port) +
                ": " + error;
        return false;
    }
    started_ = true;
    republish();
    return true;
}

std::unique_ptr<dataplane::control_table> control_server::reconfigure(const config::config& full) {
    const config::control_config& cfg = full.control;
    cfg_.prefixes = cfg.prefixes;
    cfg_.max_connections = cfg.max_connections;
    cfg_.max_sessions = cfg.max_sessions;
    cfg_.servwait = cfg.servwait;
    cfg_.refwait = cfg.refwait;
    cfg_.modes = cfg.modes;
    cfg_.receiver_ports = cfg.receiver_ports;
    cfg_.max_timeout = cfg.max_timeout;
    cfg_.allow_third_party_senders = cfg.allow_third_party_senders;
    cfg_.kdf_count = cfg.kdf_count;
    cfg_.max_key_derivations = cfg.max_key_derivations;
    cfg_.max_connections_per_source = cfg.max_connections_per_source;
    cfg_.max_pending = cfg.max_pending;
    cfg_.setup_timeout = cfg.setup_timeout;
    cfg_.idle_timeout = cfg.idle_timeout;
    cfg_.max_pending_per_source = cfg.max_pending_per_source;
    cfg_.max_sessions_per_connection = cfg.max_sessions_per_connection;
    cfg_.max_sessions_per_source = cfg.max_sessions_per_source;
    const uint64_t start = policy_.start_time_ns;
    // For new connections: a connection keeps the policy (and the key store) it was accepted
    // with.
    // (The policy's fields are all reloadable: full.control and cfg_ agree on them.)
    policy_ = control::policy_from_config(full, start);
    policy_.limiter = &limiter_;
    policy_.derive = timed_derive(counters_.key_derivation_ns);
    limiter_.set_rate(cfg.max_key_derivations);
    pool_.reconfigure(cfg.receiver_ports, cfg.max_sessions);
    return build_table(); // the receiver-port range may have moved
}

void control_server::accept_all(uint64_t now_ns) {
    for (int i = 0; i < max_accepts_per_poll; ++i) {
        auto a = env_.io->accept();
        if (!a) {
            return;
        }
        if (a->fd == control_io::out_of_fds) {
            refusals_.fd_exhausted.fetch_add(1, std::memory_order_relaxed);
            listener_paused_until_ = now_ns + accept_pause_ns;
            env_.io->watch(control_io::listener, false, false);
            return;
        }
        const int fd = a->fd;
        control::connection_addresses ca{a->local, a->peer};
        control::server_policy pol = policy_;
        if (conns_.count(fd) != 0) {
            continue; // the io named an open connection again (a broken io): ignore it
        }
        const auto source = source_key(ca.peer);
        const auto net = net_key(ca.peer);
        const uint32_t net_conn_cap = cfg_.max_connections_per_source * prefix_cap_factor;
        const uint32_t net_pend_cap = cfg_.max_pending_per_source * prefix_cap_factor;
        // Refusals are answered properly: a Server-Greeting with Modes = 0 (RFC 4656 §3.1),
        // then close; counted by reason. Only admitted connections count against the caps (a
        // refused one is closed right after its greeting, and never takes a slot).
        bool admitted = false;
        conn* victim = nullptr;
        control::close_reason why = control::close_reason::evicted;
        const char* refusal = "max_connections"; // the refusal's reason (events)
        if (!allowed(cfg_, ca.peer)) {
            refusals_.acl.fetch_add(1, std::memory_order_relaxed);
            refusal = "acl";
        } else if (count_of(per_source_, source) >= cfg_.max_connections_per_source ||
                   (net && count_of(per_net_, *net) >= net_conn_cap)) {
            refusals_.per_source.fetch_add(1, std::memory_order_relaxed);
            refusal = "max_connections_per_source";
        } else if (pending_of(source) >= cfg_.max_pending_per_source ||
                   (net && count_of(pending_per_net_, *net) >= net_pend_cap)) {
            refusals_.pending.fetch_add(1, std::memory_order_relaxed);
            refusal = "max_pending_per_source";
        } else if (n_pending_ >= cfg_.max_pending &&
                   (victim = pending_victim(now_ns, group_of(source))) == nullptr) {
            // The heaviest sources hold nothing evictable for this newcomer (its own source is
            // as heavy, and theirs are younger than evict_grace_ns): it waits its turn.
            refusals_.pending_full.fetch_add(1, std::memory_order_relaxed);
            refusal = "max_pending";
        } else if (n_admitted_ >= cfg_.max_connections) {
            // Room from an evicted pending connection, or from the connection session-less
            // for the longest, or none.
            if (victim == nullptr) {
                victim = idle_victim(now_ns, group_of(source));
                if (victim != nullptr) {
                    why = control::close_reason::evicted_idle;
                } else {
                    victim = pending_victim(now_ns, group_of(source));
                }
            }
            if (victim == nullptr || n_admitted_ - 1 >= cfg_.max_connections) {
                victim = nullptr; // (a reload lowered max-connections: one is not enough)
                refusals_.max_connections.fetch_add(1, std::memory_order_relaxed);
            } else {
                admitted = true;
            }
        } else {
            admitted = true;
        }
        if (admitted && victim != nullptr) {
            evict(*victim, why, now_ns);
        }
        if (!admitted) {
            pol.modes = 0;
        }
        auto [it, fresh] = conns_.emplace(fd, conn{});
        conn& c = it->second;
        c.fd = fd;
        c.accepted_ns = now_ns;
        c.id = ++next_conn_id_;
        c.local = a->local;
        c.peer = a->peer;
        c.local_port = a->local_port;
        c.peer_port = a->peer_port;
        c.peer_text = net::endpoint_to_string(ca.peer, a->peer_port);
        if (env_.events) {
            log::event e;
            e.peer = c.peer_text;
            if (admitted) {
                e.kind = "control.accepted";
                e.message = "TWAMP-Control connection accepted";
                e.with("connections", n_admitted_ + 1);
            } else {
                // A Modes = 0 greeting (RFC 4656 §3.1) has no Accept field: accept= is the
                // Accept value the refusal stands for (1: policy, 5: a temporary limit).
                c.refused = true;
                e.lvl = log::level::warning;
                e.kind = "control.refused";
                const bool acl = std::string_view(refusal) == "acl";
                e.message = acl ? "TWAMP-Control connection refused: not in control.prefixes"
                                : "TWAMP-Control connection refused: limit reached";
                e.with("accept", acl ? 1 : 5).with("reason", refusal);
            }
            emit(std::move(e));
        }
        control::session_allocator* alloc = &pool_;
        if (admitted) {
            c.alloc = std::make_unique<source_allocator>(*this, source, net);
            alloc = c.alloc.get();
        }
        c.sm = std::make_unique<control::server_connection>(pol, *alloc, ca, env_.random,
                                                            &counters_);
        if (admitted) {
            c.admitted = true;
            c.source = source;
            c.net = net;
            ++per_source_[source];
            ++n_admitted_;
            c.pending = true;
            ++n_pending_;
            pending_by_source_[source].push_back(fd);
            if (net) {
                ++per_net_[*net];
                ++pending_per_net_[*net];
            }
        }
        env_.io->watch(fd, true, false);
        n_conns_.store(conns_.size(), std::memory_order_relaxed);
        apply(c, c.sm->greeting(now_ns), now_ns);
        update_interest(c, now_ns);
        if (!admitted && c.closing && c.out.empty()) {
            close_conn(fd); // its greeting is written: gone now, not at the end of poll()
        }
    }
}

// The client's address (IPv4 as IPv4-mapped): the per-source caps count by it.
control_server::source_key_t control_server::source_key(const net::address& a) {
    return a.mapped();
}

// IPv6 (not IPv4-mapped): its /64, counted against prefix_cap_factor times the per-source caps
// (one host usually holds a whole /64 to pick addresses from; so may its neighbours).
std::optional<control_server::source_key_t> control_server::net_key(const net::address& a) {
    if (!a.is_v6() || a.is_v4_mapped()) {
        return std::nullopt;
    }
    auto k = a.mapped();
    std::fill(k.begin() + 8, k.end(), uint8_t{0});
    return k;
}

uint32_t control_server::count_of(const source_counts& m, const source_key_t& k) {
    auto it = m.find(k);
    return it == m.end() ? 0 : it->second;
}

void control_server::decrement(source_counts& m, const source_key_t& k) {
    auto it = m.find(k);
    if (it != m.end() && --it->second == 0) {
        m.erase(it);
    }
}

uint32_t control_server::pending_of(const source_key_t& k) const {
    auto it = pending_by_source_.find(k);
    return it == pending_by_source_.end() ? 0 : static_cast<uint32_t>(it->second.size());
}

void control_server::unpend(conn& c) {
    if (!c.pending) {
        return;
    }
    c.pending = false;
    --n_pending_;
    auto it = pending_by_source_.find(c.source);
    if (it != pending_by_source_.end()) {
        std::erase(it->second, c.fd);
        if (it->second.empty()) {
            pending_by_source_.erase(it);
        }
    }
    if (c.net) {
        decrement(pending_per_net_, *c.net);
    }
}

uint64_t control_server::next_random() noexcept {
    uint64_t z = (rng_ += 0x9e3779b97f4a7c15ULL); // splitmix64
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// The group eviction victims are picked by: an IPv4 client's address, an IPv6 client's /64 (one
// host usually holds the whole /64, so its addresses are one source here).
control_server::source_key_t control_server::group_of(const source_key_t& source) {
    if (std::equal(net::v4_mapped_head.begin(), net::v4_mapped_head.end(), source.begin())) {
        return source;
    }
    source_key_t g = source;
    std::fill(g.begin() + 8, g.end(), uint8_t{0});
    return g;
}

// A victim among the connections of the heaviest groups (those holding the most; ties: any of
// them), at random. The newcomer is counted in its own group: one whose group, with it, still
// holds fewer than the heaviest (own + 1 < heaviest) takes any of them, whatever its age:
// whoever floods holds the most, so a flood that recycles its connections faster than
// evict_grace_ns still makes room for lighter sources. Otherwise (a tie: with it, its group
// holds at least as many; one connection per source everywhere is one) it takes only one at
// least evict_grace_ns old, or none. Never one of a lighter group: a healthy client's one
// connection is not the victim while a heavier source holds only young ones.
control_server::conn* control_server::pick_victim(const victim_groups& groups,
                                                  const source_key_t& newcomer, uint64_t now_ns) {
    std::size_t heaviest = 0;
    for (const auto& [g, v] : groups) {
        heaviest = std::max(heaviest, v.size());
    }
    if (heaviest == 0) {
        return nullptr;
    }
    // The newcomer counted in its own group: one connection per source everywhere is a tie
    // (each keeps its grace), not a licence for every newcomer to evict at age 0.
    auto own = groups.find(newcomer);
    const std::size_t own_n = own == groups.end() ? 0 : own->second.size();
    const bool lighter = own_n + 1 < heaviest;
    conn* pick = nullptr;
    std::size_t seen = 0;
    for (const auto& [g, v] : groups) {
        if (v.size() != heaviest) {
            continue;
        }
        for (const auto& [c, since] : v) {
            // reservoir: each candidate equally likely
            if ((lighter || now_ns >= since + evict_grace_ns) && next_random() % ++seen == 0) {
                pick = c;
            }
        }
    }
    return pick;
}

// max-pending full: a pending connection, by pick_victim (grace from its accept). A scan of the
// pending connections only (at most max-pending).
control_server::conn* control_server::pending_victim(uint64_t now_ns,
                                                     const source_key_t& newcomer) {
    victim_groups groups;
    for (const auto& [src, fds] : pending_by_source_) {
        auto& v = groups[group_of(src)];
        for (int fd : fds) {
            conn& c = conns_.at(fd);
            v.emplace_back(&c, c.accepted_ns);
        }
    }
    return pick_victim(groups, newcomer, now_ns);
}

// max-connections full: an admitted connection past Server-Start that holds no session, by
// pick_victim (grace from when it last held one, or from Server-Start).
control_server::conn* control_server::idle_victim(uint64_t now_ns, const source_key_t& newcomer) {
    victim_groups groups;
    for (auto& [fd, c] : conns_) {
        if (!c.admitted || c.pending || c.closing) {
            continue;
        }
        if (auto since = c.sm->sessionless_since()) {
            groups[group_of(c.source)].emplace_back(&c, *since);
        }
    }
    return pick_victim(groups, newcomer, now_ns);
}

// control.max-sessions-per-source (for an IPv6 /64: 4 times it, but at most half the sessions
// the pool can hold, never less than the cap: one host using many addresses of its /64 cannot
// take every receiver port), then the port pool. Counted
// here, where the port is reserved: several requests in one read are decided before apply()
// sees their sessions. A cap at or over max-sessions is the pool's (its refusal is not counted
// sessions_per_source).
control::allocation control_server::allocate_for(const source_key_t& source,
                                                 const std::optional<source_key_t>& net,
                                                 const control::session_info& proposed) {
    const uint64_t cap = cfg_.max_sessions_per_source;
    const net::port_range r = pool_.range();
    const uint64_t avail =
            std::min<uint64_t>(cfg_.max_sessions, r.max >= r.min ? r.max - r.min + 1u : 0u);
    const uint64_t net_cap =
            std::min<uint64_t>(cap * prefix_cap_factor, std::max<uint64_t>(cap, avail / 2));
    if ((cap < cfg_.max_sessions && count_of(sessions_per_source_, source) >= cap) ||
        (net && net_cap < cfg_.max_sessions && count_of(sessions_per_net_, *net) >= net_cap)) {
        refusals_.sessions_per_source.fetch_add(1, std::memory_order_relaxed);
        return {control::accept_code::temporary_limit, 0};
    }
    control::allocation a = pool_.allocate(proposed);
    if (a.accept == control::accept_code::ok && a.port != 0) {
        ++sessions_per_source_[source];
        if (net) {
            ++sessions_per_net_[*net];
        }
    }
    return a;
}

void control_server::evict(conn& c, control::close_reason why, uint64_t now_ns) {
    apply(c, c.sm->abort(why), now_ns);
    c.out.clear();
    close_conn(c.fd);
}

void control_server::flush(conn& c) {
    std::size_t sent = 0;
    while (sent < c.out.size()) {
        const long n = env_.io->send(
                c.fd, std::span<const uint8_t>(c.out.data() + sent, c.out.size() - sent));
        if (n < 0) {
            c.broken = true; // reset, timed out: nothing more can be said (update_interest)
            c.out.clear();
            return;
        }
        if (n == 0) {
            break; // full: the writable event resumes it
        }
        sent += static_cast<std::size_t>(n);
    }
    if (sent != 0) {
        c.out.erase(c.out.begin(), c.out.begin() + static_cast<std::ptrdiff_t>(sent));
    }
}

// A connection is read while its queued output is small, and polled for writing while it has
// queued output. Output backed up (control_env::max_out, 64 KiB): polled for writing only, so a
// client that does not read makes no events until it does (the slow path sleeps); the
// send_stalled timer closes it if it never does.
void control_server::update_interest(conn& c, uint64_t now_ns) {
    if (c.broken) {
        c.out.clear();
        if (!c.closing) {
            apply(c, c.sm->abort(control::close_reason::io_error), now_ns);
        }
    }
    if (c.out.empty()) {
        c.stalled_since_ns = 0;
    } else if (c.stalled_since_ns == 0) {
        c.stalled_since_ns = now_ns != 0 ? now_ns : 1;
    }
    const bool backed = c.out.size() >= env_.max_out;
    if (backed != c.backed) {
        c.backed = backed;
        if (backed) {
            n_backed_.fetch_add(1, std::memory_order_relaxed);
        } else {
            n_backed_.fetch_sub(1, std::memory_order_relaxed);
        }
    }
    const bool read = !c.closing && !backed;
    const bool write = !c.out.empty();
    if (read != c.reading || write != c.writing) {
        c.reading = read;
        c.writing = write;
        env_.io->watch(c.fd, read, write);
    }
}

void control_server::emit(log::event&& e) {
    if (env_.events) {
        env_.events(std::move(e));
    }
}

void control_server::emit_session(log::level lvl, const char* kind, const session& s,
                                  std::string message, const char* reason) {
    if (!env_.events) {
        return;
    }
    log::event e;
    e.lvl = lvl;
    e.kind = kind;
    e.peer = s.info.sender_port != 0 ? net::endpoint_to_string(s.info.sender, s.info.sender_port)
                                     : s.info.sender.to_string();
    e.message = std::move(message);
    e.with("sid", control::sid_to_string(s.info.sid)).with("receiver_port", s.info.receiver_port);
    if (reason != nullptr) {
        e.with("reason", reason);
    }
    emit(std::move(e));
}

// A connection's end: control.auth_failed (unknown_key_id, bad_token) or control.refused when
// Server-Start refused it (an Accept code on the wire), nothing when accept_all already said it
// was refused, control.closed otherwise.
void control_server::emit_closed(conn& c, const control::connection_closed& cl) {
    if (!env_.events || c.refused) {
        return;
    }
    using cr = control::close_reason;
    int accept = -1; // the Server-Start Accept value, where the close was a refusal
    switch (cl.reason) {
    case cr::mode_not_offered:
        accept = 3;
        break;
    case cr::unknown_key_id:
    case cr::bad_token:
        accept = 1;
        break;
    case cr::derivation_refused:
        accept = 5;
        break;
    case cr::internal_error:
        accept = 2;
        break;
    default:
        break;
    }
    log::event e;
    e.peer = c.peer_text;
    const std::string reason(control::to_string(cl.reason));
    if (accept >= 0) {
        c.refused = true;
        e.lvl = log::level::warning;
        // Authentication failures are a kind of their own: its own rate-limit bucket, so a
        // flood of cheap refusals (from outside the ACL) cannot hide key guessing.
        const bool auth = cl.reason == cr::unknown_key_id || cl.reason == cr::bad_token;
        e.kind = auth ? "control.auth_failed" : "control.refused";
        e.message = auth ? "TWAMP-Control authentication failed (Server-Start refused)"
                         : "TWAMP-Control connection refused in Server-Start";
        e.with("accept", static_cast<uint64_t>(accept)).with("reason", reason);
    } else {
        const bool normal = cl.reason == cr::peer_closed || cl.reason == cr::shutdown ||
                            cl.reason == cr::client_refused || cl.reason == cr::refwait;
        e.lvl = normal ? log::level::info : log::level::notice;
        e.kind = "control.closed";
        e.message = "TWAMP-Control connection closed";
        e.with("reason", reason).with("sessions", cl.sessions.size());
    }
    emit(std::move(e));
}

void control_server::apply(conn& c, control::result&& r, uint64_t now_ns) {
    for (auto& a : r.actions) {
        if (auto* no = std::get_if<control::session_refused>(&a)) {
            if (env_.events) {
                log::event e;
                e.lvl = log::level::notice;
                e.kind = "session.refused";
                e.peer = c.peer_text;
                e.message = "Request-TW-Session refused";
                e.with("accept", static_cast<uint64_t>(no->accept))
                        .with("reason", std::string(no->why));
                emit(std::move(e));
            }
        } else if (auto* acc = std::get_if<control::session_accepted>(&a)) {
            session s;
            s.info = acc->session;
            s.owner_fd = c.fd;
            s.tag = ++next_tag_;
            s.accepted_ns = now_ns;
            s.source = c.source; // counted by allocate_for
            s.net = c.net;
            sessions_[s.info.sid] = s;
            dirty_ = true;
        } else if (auto* st = std::get_if<control::sessions_started>(&a)) {
            for (const auto& sid : st->sids) {
                auto it = sessions_.find(sid);
                if (it != sessions_.end()) {
                    it->second.started = true;
                    emit_session(log::level::info, "session.started", it->second,
                                 "TWAMP test session started", nullptr);
                    // REFWAIT counts from the start.
                    activity_->last[it->second.info.receiver_port].store(env_.tsc(),
                                                                         std::memory_order_relaxed);
                }
            }
            dirty_ = true;
        } else if (auto* sp = std::get_if<control::sessions_stopped>(&a)) {
            // Keep reflecting for each session's Timeout (late packets), then remove it.
            for (const auto& ref : sp->sessions) {
                auto it = sessions_.find(ref.sid);
                if (it != sessions_.end()) {
                    it->second.owner_fd = -1;
                    it->second.remove_at_ns = now_ns + ref.timeout_ns;
                    emit_session(log::level::info, "session.stopped", it->second,
                                 "TWAMP test session stopped", "stop_sessions");
                }
            }
        } else if (auto* cl = std::get_if<control::connection_closed>(&a)) {
            const std::string why(control::to_string(cl->reason));
            for (const auto& ref : cl->sessions) {
                auto it = sessions_.find(ref.sid);
                if (it != sessions_.end()) {
                    if (it->second.started) {
                        emit_session(log::level::info, "session.stopped", it->second,
                                     "TWAMP test session ended with its control connection",
                                     why.c_str());
                    } else {
                        emit_session(log::level::info, "session.released", it->second,
                                     "TWAMP test session accepted but never started, released "
                                     "with its control connection",
                                     why.c_str());
                    }
                }
                end_session(ref.sid);
            }
            emit_closed(c, *cl);
            c.closing = true;
            c.close_by_ns = now_ns + 1'000'000'000ULL; // a second to send the last words
        }
    }
    if (!r.output.empty() && !c.broken) {
        c.out.insert(c.out.end(), r.output.begin(), r.output.end());
        flush(c);
    }
    // Past the greeting phase (Server-Start sent, or closed): no longer pending.
    if (c.pending && c.sm->state() != control::server_state::wait_setup_response) {
        unpend(c);
    }
}

void control_server::end_session(const control::sid_t& sid) {
    auto it = sessions_.find(sid);
    if (it == sessions_.end()) {
        return;
    }
    pool_.release(it->second.info.receiver_port);
    decrement(sessions_per_source_, it->second.source);
    if (it->second.net) {
        decrement(sessions_per_net_, *it->second.net);
    }
    sessions_.erase(it);
    dirty_ = true;
}

void control_server::on_readable(conn& c, uint64_t now_ns) {
    uint8_t buf[4096];
    // Read only while our own queue is small: a client that does not read its answers cannot
    // make us buffer more than it sends (and is then not polled for input: update_interest).
    while (!c.closing && c.out.size() < env_.max_out) {
        const long n = env_.io->recv(c.fd, std::span<uint8_t>(buf, sizeof buf));
        if (n > 0) {
            apply(c, c.sm->feed(std::span<const uint8_t>(buf, static_cast<std::size_t>(n)), now_ns),
                  now_ns);
            continue;
        }
        if (n == 0) {
            apply(c, c.sm->abort(control::close_reason::peer_closed), now_ns);
        } else if (n != -1) {
            apply(c, c.sm->abort(control::close_reason::io_error), now_ns);
        }
        break;
    }
}

void control_server::close_conn(int fd) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) {
        return;
    }
    conn& c = it->second;
    unpend(c);
    if (c.backed) {
        n_backed_.fetch_sub(1, std::memory_order_relaxed);
    }
    if (c.admitted) {
        --n_admitted_;
        decrement(per_source_, c.source);
        if (c.net) {
            decrement(per_net_, *c.net);
        }
    }
    env_.io->close(fd);
    conns_.erase(it);
    n_conns_.store(conns_.size(), std::memory_order_relaxed);
}

std::shared_ptr<const control_snapshot>
control_server::snapshot(unsigned wait_ms, const std::atomic<bool>* cancel) const {
    const uint64_t ask = snap_asked_.fetch_add(1, std::memory_order_acq_rel) + 1;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    for (;;) {
        if (snap_served_.load(std::memory_order_acquire) >= ask) {
            std::lock_guard<std::mutex> lock(snap_mu_);
            return snap_;
        }
        if ((cancel && cancel->load(std::memory_order_acquire)) ||
            std::chrono::steady_clock::now() >= deadline) {
            return nullptr;
        }
        timespec ts{0, 100'000}; // 0.1 ms
        nanosleep(&ts, nullptr);
    }
}

// The slow path: a copy of what the server holds now, for snapshot()'s reader.
void control_server::build_snapshot(uint64_t now_ns) {
    auto snap = std::make_shared<control_snapshot>();
    snap->built_ns = now_ns;
    snap->connections.reserve(conns_.size());
    std::map<int, uint64_t> ids;
    for (const auto& [fd, c] : conns_) {
        control_snapshot::connection x;
        x.id = c.id;
        x.client_ip = c.peer;
        x.client_tcp_port = c.peer_port;
        x.server_ip = c.local;
        x.server_tcp_port = c.local_port;
        x.state = c.sm ? std::string(control::to_string(c.sm->state())) : "closed";
        x.selected_mode = c.sm ? c.sm->mode() : 0;
        x.admitted = c.admitted;
        x.closing = c.closing;
        x.accepted_ns = c.accepted_ns;
        ids[fd] = c.id;
        snap->connections.push_back(std::move(x));
    }
    std::sort(snap->connections.begin(), snap->connections.end(),
              [](const auto& a, const auto& b) { return a.id < b.id; });
    snap->sessions.reserve(sessions_.size());
    for (const auto& [sid, s] : sessions_) {
        control_snapshot::session x;
        x.sid = sid;
        auto it = s.owner_fd >= 0 ? ids.find(s.owner_fd) : ids.end();
        x.connection = it != ids.end() ? it->second : 0;
        x.sender_ip = s.info.sender;
        x.sender_udp_port = s.info.sender_port;
        x.reflector_ip = s.info.receiver;
        x.reflector_udp_port = s.info.receiver_port;
        x.mode = s.info.mode;
        x.dscp = s.info.dscp;
        x.state = s.remove_at_ns != 0 ? "stopped" : s.started ? "started" : "accepted";
        x.accepted_ns = s.accepted_ns;
        x.timeout_ns = s.info.timeout_ns;
        snap->sessions.push_back(std::move(x));
    }
    std::lock_guard<std::mutex> lock(snap_mu_);
    snap_ = std::move(snap);
}

bool control_server::poll(uint64_t now_ns) {
    if (!started_) {
        return false;
    }
    bool work = false;
    // A reader's snapshot request (telemetry), one a round.
    if (const uint64_t ask = snap_asked_.load(std::memory_order_acquire);
        ask != snap_served_.load(std::memory_order_relaxed)) {
        build_snapshot(now_ns);
        snap_served_.store(ask, std::memory_order_release);
    }
    // (A clock stepped back resumes it too.)
    if (listener_paused_until_ != 0 &&
        (now_ns >= listener_paused_until_ || listener_paused_until_ - now_ns > accept_pause_ns)) {
        listener_paused_until_ = 0;
        env_.io->watch(control_io::listener, true, false);
        work = true;
    }
    control_io::event evs[32];
    const std::size_t n = env_.io->wait(evs);
    for (std::size_t i = 0; i < n; ++i) {
        work = true;
        const int fd = evs[i].fd;
        if (fd == control_io::listener) {
            accept_all(now_ns);
            continue;
        }
        auto it = conns_.find(fd);
        if (it == conns_.end()) {
            continue;
        }
        conn& c = it->second;
        if ((evs[i].what & control_io::writable) != 0) {
            flush(c);
        }
        if ((evs[i].what & control_io::readable) != 0 && c.reading) {
            on_readable(c, now_ns);
        } else if ((evs[i].what & control_io::hangup) != 0) {
            // Error or both directions closed while we were not reading: nothing more will be
            // delivered either way.
            c.broken = true;
        }
        update_interest(c, now_ns);
    }
    // Timers: setup-timeout and SERVWAIT (the state machine's), output that cannot drain,
    // closes.
    const uint64_t stall_ns = uint64_t{cfg_.servwait} * 1'000'000'000ULL;
    std::vector<int> done;
    for (auto& [fd, c] : conns_) {
        if (!c.closing) {
            if (c.stalled_since_ns != 0 && now_ns >= c.stalled_since_ns + stall_ns) {
                // The client has not taken its answers for SERVWAIT (also while a test runs,
                // when SERVWAIT itself is suspended): nothing queued can be delivered. (Checked
                // first: the output stalled no later than the last command was read.)
                apply(c, c.sm->abort(control::close_reason::send_stalled), now_ns);
                c.out.clear();
                work = true;
            } else if (auto dl = c.sm->next_deadline(); dl && *dl <= now_ns) {
                apply(c, c.sm->on_timer(now_ns), now_ns);
                work = true;
            }
            update_interest(c, now_ns);
        }
        if (c.closing && (c.out.empty() || now_ns >= c.close_by_ns)) {
            done.push_back(fd);
        }
    }
    for (int fd : done) {
        close_conn(fd);
        work = true;
    }
    // Stopped sessions past their Timeout.
    std::vector<control::sid_t> expired;
    for (const auto& [sid, s] : sessions_) {
        if (s.owner_fd < 0 && s.remove_at_ns && now_ns >= s.remove_at_ns) {
            expired.push_back(sid);
        }
    }
    for (const auto& sid : expired) {
        end_session(sid);
    }
    check_refwait(now_ns);
    if (dirty_) {
        republish();
        work = true;
    }
    if (work) {
        busy_polls_.fetch_add(1, std::memory_order_relaxed);
    }
    return work;
}

// RFC 5357 §4.2 REFWAIT: a started session with no test packet for that long is ended (its
// port released); its connection is told (sessions_ended), and closes when that leaves it no
// started session.
void control_server::check_refwait(uint64_t now_ns) {
    if (cfg_.refwait == 0) {
        return;
    }
    const uint64_t now = env_.tsc();
    const uint64_t limit = uint64_t{cfg_.refwait} * env_.tsc_hz;
    std::vector<control::sid_t> idle;
    for (const auto& [sid, s] : sessions_) {
        const uint64_t last = activity_->last[s.info.receiver_port].load(std::memory_order_relaxed);
        if (s.started && s.owner_fd >= 0 && dataplane::idle_longer_than(now, last, limit)) {
            idle.push_back(sid);
        }
    }
    std::map<int, std::vector<control::sid_t>> by_conn;
    for (const auto& sid : idle) {
        refusals_.refwait.fetch_add(1, std::memory_order_relaxed);
        emit_session(log::level::notice, "session.timed_out", sessions_.at(sid),
                     "no test packet for REFWAIT (" + std::to_string(cfg_.refwait) +
                             " s): session ended",
                     "refwait");
        by_conn[sessions_.at(sid).owner_fd].push_back(sid);
        end_session(sid);
    }
    for (auto& [fd, sids] : by_conn) {
        auto it = conns_.find(fd);
        if (it != conns_.end() && !it->second.closing) {
            apply(it->second, it->second.sm->sessions_ended(sids), now_ns);
            update_interest(it->second, now_ns);
        }
    }
}

void control_server::republish() {
    publish_(build_table());
}

std::unique_ptr<dataplane::control_table> control_server::build_table() {
    std::vector<dataplane::control_session_rt> v;
    std::vector<std::unique_ptr<const dataplane::session_crypto>> crypto;
    for (const auto& [sid, s] : sessions_) {
        dataplane::control_session_rt r;
        std::memcpy(r.receiver, s.info.receiver.mapped().data(), 16);
        r.receiver_port = s.info.receiver_port;
        std::memcpy(r.sender, s.info.sender.mapped().data(), 16);
        r.sender_port = s.info.sender_port;
        r.started = s.started;
        r.tag = s.tag;
        r.policy.mode = proto::test_mode::twamp_light; // RFC 5357 §4 test packets
        r.policy.dscp = static_cast<int8_t>(s.info.dscp);
        // RFC 8186 §2.3: PTPv2 timestamps only where the client chose the capability in
        // Set-Up-Response; then the request's Z bit picks the format (the reply's Z says which).
        // Without it, NTP whatever Z says.
        r.policy.timestamps = (s.info.mode & control::mode_ptpv2_timestamps) != 0
                                      ? proto::ts_policy::auto_z
                                      : proto::ts_policy::ntp;
        // RFC 6038 symmetrical size: the sender's padding starts at octet 41 (reflected octets
        // need nothing more: reflect_policy).
        r.policy.symmetrical_size = s.info.symmetrical_size();
        // The test packets' security mode (RFC 4656 §3.1, RFC 5618): authenticated and
        // encrypted sessions get their test keys (derived here, on the slow path, from the
        // connection's session keys and the SID); mixed and unauthenticated ones the
        // unauthenticated layout.
        const uint32_t sec =
                s.info.mode & (control::mode_unauthenticated | control::mode_authenticated |
                               control::mode_encrypted | control::mode_mixed);
        if (sec == control::mode_authenticated || sec == control::mode_encrypted) {
            auto c = std::make_unique<const dataplane::session_crypto>(
                    std::span<const uint8_t, 16>(s.info.aes_session_key),
                    std::span<const uint8_t, 32>(s.info.hmac_session_key),
                    std::span<const uint8_t, 16>(s.info.sid));
            r.policy.auth = sec == control::mode_authenticated
                                    ? proto::auth_mode::twamp_authenticated
                                    : proto::auth_mode::twamp_encrypted;
            r.policy.keys = &c->keys;
            crypto.push_back(std::move(c));
        }
        v.push_back(r);
    }
    dirty_ = false;
    return std::make_unique<dataplane::control_table>(std::move(v), cfg_.receiver_ports.min,
                                                      cfg_.receiver_ports.max, std::move(crypto));
}

void control_server::shutdown(uint64_t now_ns) {
    for (auto& [fd, c] : conns_) {
        if (!c.closing) {
            apply(c, c.sm->abort(control::close_reason::shutdown), now_ns);
        }
        flush(c);
        c.closing = true;
    }
    while (!conns_.empty()) {
        close_conn(conns_.begin()->first);
    }
    sessions_.clear();
    sessions_per_source_.clear();
    sessions_per_net_.clear();
    republish();
}

} // namespace twamp::slowpath
