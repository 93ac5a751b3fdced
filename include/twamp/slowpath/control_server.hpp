// The TWAMP-Control server's driver (RFC 5357 §3): a non-blocking TCP listener on a kernel
// socket (reached through the TAP exception path), one control::server_connection per client,
// epoll polled from the slow path's loop. Accepted sessions become a dataplane::control_table
// that the workers read; every change publishes a new table through `publish`.
//
// No DPDK and no syscalls of its own: the sockets and epoll are behind control_io (the kernel's
// by default, a test's or the fuzzer's own otherwise) and the clocks are given (control_env),
// so unit tests and tests/fuzz/fuzz_control_server.cpp drive it without sockets.
//
// Under abuse (issue 18): at most control.max-connections, control.max-connections-per-source
// per client address (and prefix_cap_factor times it per IPv6 /64) and control.max-pending not
// yet past Server-Start (max-pending-per-source per address, prefix_cap_factor times it per
// /64). A newcomer the per-source caps admit finds room when the box is full: max-pending full
// evicts a random pending connection of the source (IPv4 address, IPv6 /64) holding the most
// pending ones, max-connections full a random session-less connection of the source holding
// the most of those (pick_victim): whatever its age when the newcomer's source holds fewer,
// at least evict_grace_ns old (session-less) when it holds as many; never a lighter source's.
// With nothing evictable the newcomer is refused. Sessions are capped per source too
// (control.max-sessions-per-source, source_allocator). A client that does
// not read is not read either once its queued output is backed up (its interest becomes
// writable-only, so the slow path sleeps) and is closed when that output has not drained for
// SERVWAIT (send_stalled); accepts per poll are bounded.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "twamp/config/config.hpp"
#include "twamp/control/server.hpp"
#include "twamp/dataplane/control_table.hpp"
#include "twamp/log/events.hpp"
#include "twamp/net/address.hpp"

namespace twamp::slowpath {

// Written by the slow path (single writer, relaxed atomics), read by the metrics exporter and
// telemetry threads through app::gather.
struct control_refusals {
    std::atomic<uint64_t> acl{0};             // client outside control.prefixes
    std::atomic<uint64_t> max_connections{0}; // over control.max-connections
    std::atomic<uint64_t> refwait{0};         // started sessions ended after REFWAIT idle
    // Issue 18 (appended):
    std::atomic<uint64_t> per_source{0}; // over control.max-connections-per-source
    std::atomic<uint64_t> pending{0};    // over control.max-pending-per-source (greeting phase)
    // accept() failed for want of file descriptors (EMFILE/ENFILE): the listener is not polled
    // for accept_pause_ns, so the slow path does not spin on it.
    std::atomic<uint64_t> fd_exhausted{0};
    // max-pending full of connections younger than evict_grace_ns: nothing to evict.
    std::atomic<uint64_t> pending_full{0};
    // Accept-Session Accept 5: the client's source (address, or its IPv6 /64 at
    // prefix_cap_factor times) already holds control.max-sessions-per-source sessions.
    std::atomic<uint64_t> sessions_per_source{0};
};

// The sockets the server uses: kernel sockets + epoll (make_socket_io), or a test's own. fds
// are the io's names for connections (any int >= 0, unique while open).
class control_io {
public:
    static constexpr int listener = -1; // event::fd of the listening socket
    enum : uint32_t { readable = 1, writable = 2, hangup = 4 };
    struct event {
        int fd = listener;
        uint32_t what = 0; // readable | writable | hangup (error or both directions closed)
    };
    struct accepted {
        int fd = -1; // out_of_fds: accept failed for want of file descriptors (EMFILE, ENFILE)
        net::address local, peer;
        uint16_t local_port = 0, peer_port = 0; // TCP ports (0: not known)
    };
    static constexpr int out_of_fds = -2;
    virtual ~control_io() = default;
    // Binds and listens; false with `error` set.
    virtual bool listen(const net::address& address, uint16_t port, std::string& error) = 0;
    // One connection waiting to be accepted, or nullopt.
    virtual std::optional<accepted> accept() = 0;
    // > 0: octets read; 0: end of stream; -1: nothing now; -2: error.
    virtual long recv(int fd, std::span<uint8_t> buf) = 0;
    // >= 0: octets taken (0: full); -1: error (broken connection).
    virtual long send(int fd, std::span<const uint8_t> buf) = 0;
    // What the connection is polled for (the first call registers it). fd = listener: whether
    // the listening socket is polled (read) at all.
    virtual void watch(int fd, bool read, bool write) = 0;
    virtual void close(int fd) = 0;
    // Ready events now, without blocking; how many were written to `out`.
    virtual std::size_t wait(std::span<event> out) = 0;
};

// Kernel sockets (accepted ones non-blocking, with TCP keepalive) and epoll, level-triggered.
// listen() checks RLIMIT_NOFILE against max_connections (+ one accept round + the process'
// own descriptors): it raises the soft limit up to the hard one if needed, or fails saying so.
std::unique_ptr<control_io> make_socket_io(uint32_t max_connections = 64);
// The file descriptors the process has open now (/proc/self/fd; 0 if it cannot tell).
std::size_t open_fds();
// RLIMIT_NOFILE for max_connections: max_connections + 64 (one accept round) + the process'
// own descriptors (those open now but `control_fds`, the control connections, + 64; at least
// 256). Raises the soft limit up to the hard one if needed; false with `error` if it cannot.
// At listen() (no control connection yet) and on a reload that changes max-connections
// (app/loop.cpp: refused if it cannot).
bool ensure_fd_limit(uint32_t max_connections, std::size_t control_fds, std::string& error);

// What the server reads from outside: the I/O and the clocks.
struct control_env {
    std::unique_ptr<control_io> io; // null: make_socket_io()
    // The workers' activity clock (REFWAIT compares it with port_activity): the TSC in the
    // box (rte_rdtsc, rte_get_tsc_hz()).
    std::function<uint64_t()> tsc;
    uint64_t tsc_hz = 1'000'000'000ULL;
    uint64_t start_ns = 0; // Server-Start Start-Time (Unix ns)
    // The key-derivation limiter's clock (null: CLOCK_MONOTONIC) and the connections' random
    // source (null: control::os_random).
    std::function<uint64_t()> monotonic_ns;
    control::random_fn random;
    // The receiver ports' activity the workers write (null: the server makes its own). One
    // given must be all zero (never active) and outlive the server: a fuzz harness reuses one
    // (512 KiB) instead of an allocation per input.
    dataplane::port_activity* activity = nullptr;
    // Output queued on a connection before the server stops reading it (backed up). The fuzz
    // harness makes it small, so that a flood of a few dozen requests backs a client up.
    std::size_t max_out = 64 * 1024;
    // Issue 19: where the server's events go (the slow path's rate-limited logger in the box, a
    // test's vector in unit tests; null: none): control.accepted, control.refused (accept=,
    // reason=), control.auth_failed (accept=1, reason= unknown_key_id or bad_token),
    // control.closed (reason=), session.started, session.stopped, session.released (accepted,
    // never started, its connection ended), session.timed_out, session.refused. Called on the slow
    // path, from poll() and shutdown().
    std::function<void(log::event&&)> events;
};

// What the TWAMP-Control server holds, for dpdk-twamp-ctl control (issue 19): an immutable
// copy the slow path builds when a reader asks (control_server::snapshot), named after RFC 8913's
// operational state (control-connection, test-session).
struct control_snapshot {
    struct connection {
        uint64_t id = 0; // the server's connection number (from 1, in accept order)
        net::address client_ip, server_ip;
        uint16_t client_tcp_port = 0, server_tcp_port = 0;
        std::string state;          // the state machine's (control::to_string(server_state))
        uint32_t selected_mode = 0; // 0 before Set-Up-Response
        bool admitted = false;      // false: refused, being told so and closed
        bool closing = false;
        uint64_t accepted_ns = 0; // when accepted (the slow path's realtime ns)
    };
    struct session {
        control::sid_t sid{};
        uint64_t connection = 0; // its connection's id, 0 once the connection closed
        net::address sender_ip, reflector_ip;
        uint16_t sender_udp_port = 0, reflector_udp_port = 0;
        uint32_t mode = 0;
        uint8_t dscp = 0;
        std::string state;        // "accepted", "started", "stopped"
        uint64_t accepted_ns = 0; // when Accept-Session was sent
        uint64_t timeout_ns = 0;
    };
    uint64_t built_ns = 0; // when built (realtime ns: ages are built_ns - accepted_ns)
    std::vector<connection> connections; // by id
    std::vector<session> sessions;       // by SID
};

class control_server {
public:
    using publish_fn = std::function<void(std::unique_ptr<dataplane::control_table>)>;

    // `cfg.control` configures it; the ports' and VLANs' addresses are the only Receiver
    // Addresses a session may have.
    control_server(const config::config& cfg, publish_fn publish, control_env env);
    ~control_server();
    control_server(const control_server&) = delete;
    control_server& operator=(const control_server&) = delete;

    // Binds and listens; false with `error` set when it cannot.
    bool start(std::string& error);
    // One pass: accept, read, write, timers, session timeouts. Returns true if it did work.
    bool poll(uint64_t now_ns);
    // Reload: prefixes, limits, modes, timers, receiver ports, third-party senders, the box's
    // addresses (listener changes need a restart). Returns the session table under the new
    // receiver-port range, for the caller to publish in the same view as the reload's snapshot
    // (box::apply), so the workers never see the new config with the old range.
    std::unique_ptr<dataplane::control_table> reconfigure(const config::config& cfg);
    // Closes every connection and ends every session.
    void shutdown(uint64_t now_ns);

    // Any thread (the metrics exporter and telemetry read these through app::gather): atomics
    // the slow path writes.
    const control::server_counters& counters() const noexcept { return counters_; }
    const control_refusals& refusals() const noexcept { return refusals_; }
    std::size_t connections_open() const noexcept {
        return n_conns_.load(std::memory_order_relaxed);
    }
    // poll() rounds that did work (events, closes, a new table): with nothing but a client
    // that does not read, it stays still (the slow path sleeps).
    uint64_t busy_polls() const noexcept { return busy_polls_.load(std::memory_order_relaxed); }
    // Any thread: a snapshot of the connections and sessions built by the slow path's next
    // poll() (it serves one request a round), or null when none came within `wait_ms` (the
    // slow path is not polling the server), or at once when `*cancel` becomes true (the box
    // is stopping: the telemetry thread must not hold it up). `wait_ms` is a steady-clock
    // deadline. One caller at a time (the telemetry thread).
    std::shared_ptr<const control_snapshot>
    snapshot(unsigned wait_ms, const std::atomic<bool>* cancel = nullptr) const;
    // Slow path only.
    std::size_t sessions() const noexcept { return sessions_.size(); }
    std::size_t pending() const noexcept { return n_pending_; }
    // A pending connection younger than this (or a connection session-less for less) is
    // evicted only for a newcomer whose source holds fewer than the victim's source (see
    // pick_victim); for a newcomer whose source holds as many, full of younger ones, it is
    // refused instead (pending_full, max_connections).
    static constexpr uint64_t evict_grace_ns = 1'000'000'000ULL;
    // The per-/64 caps of IPv6 clients: this many times the per-address ones (hosts of one
    // /64 share it, one of them at its own caps does not lock the others out).
    static constexpr uint32_t prefix_cap_factor = 4;
    // Any thread: connections whose output is backed up (64 KiB queued: not read from until it
    // drains).
    std::size_t backed_up() const noexcept { return n_backed_.load(std::memory_order_relaxed); }
    // When each receiver port last saw a test packet: the workers write it (worker_args), the
    // server reads it for REFWAIT. Lives as long as the server.
    dataplane::port_activity* activity() noexcept { return activity_; }

    // TCP keepalive on accepted connections (RFC 5357 leaves a silent client's connection open
    // while its test runs: SERVWAIT is suspended, RFC 5357 §3.1): a peer that vanished without
    // a FIN or RST is found after idle + interval * count seconds of silence (3 min) and its
    // connection closed (io_error), freeing its max-connections slot and its sessions.
    static constexpr int keepalive_idle_s = 120;
    static constexpr int keepalive_interval_s = 15;
    static constexpr int keepalive_count = 4;
    static constexpr uint64_t accept_pause_ns = 100'000'000ULL; // after EMFILE/ENFILE

private:
    using source_key_t = std::array<uint8_t, 16>;
    // The allocator an admitted connection's state machine asks: control.max-sessions-per-
    // source for its source, then the server's port_pool.
    class source_allocator final : public control::session_allocator {
    public:
        source_allocator(control_server& server, const source_key_t& source,
                         const std::optional<source_key_t>& net)
            : server_(server), source_(source), net_(net) {}
        control::allocation allocate(const control::session_info& proposed) override {
            return server_.allocate_for(source_, net_, proposed);
        }

    private:
        control_server& server_;
        source_key_t source_;
        std::optional<source_key_t> net_;
    };
    struct conn {
        int fd = -1;
        std::unique_ptr<source_allocator> alloc; // admitted ones (outlives sm: declared first)
        std::unique_ptr<control::server_connection> sm;
        std::vector<uint8_t> out;
        bool closing = false; // send what is queued, then close
        uint64_t close_by_ns = 0;
        std::array<uint8_t, 16> source{}; // the client's source_key, admitted ones only
        bool admitted = false;            // counted in per_source_
        bool pending = false;             // counted in n_pending_ (no Server-Start yet)
        bool reading = true;              // polled for input (false: output backed up)
        bool writing = false;             // polled for output
        uint64_t stalled_since_ns = 0;    // output queued since (0: none queued)
        bool broken = false;              // send failed or hung up: close without output
        bool backed = false;              // counted in n_backed_ (output backed up)
        uint64_t accepted_ns = 0;         // evict_grace_ns counts from it
        uint64_t id = 0;                  // control_snapshot::connection::id
        net::address local, peer;         // for the snapshot
        uint16_t local_port = 0, peer_port = 0;
        std::optional<std::array<uint8_t, 16>> net; // IPv6 (not mapped): the /64, admitted only
        std::string peer_text;                      // "address:port" (events)
        bool refused = false;                       // its refusal was said (no control.closed)
    };
    using source_counts = std::map<source_key_t, uint32_t>;
    static source_key_t source_key(const net::address& a);
    static std::optional<source_key_t> net_key(const net::address& a);
    static uint32_t count_of(const source_counts& m, const source_key_t& k);
    static void decrement(source_counts& m, const source_key_t& k);
    uint32_t pending_of(const source_key_t& k) const;
    void unpend(conn& c);
    // Victims by group (IPv4 address, IPv6 /64), each with the time its grace counts from.
    using victim_groups = std::map<source_key_t, std::vector<std::pair<conn*, uint64_t>>>;
    static source_key_t group_of(const source_key_t& source);
    conn* pick_victim(const victim_groups& groups, const source_key_t& newcomer, uint64_t now_ns);
    conn* pending_victim(uint64_t now_ns, const source_key_t& newcomer);
    conn* idle_victim(uint64_t now_ns, const source_key_t& newcomer);
    control::allocation allocate_for(const source_key_t& source,
                                     const std::optional<source_key_t>& net,
                                     const control::session_info& proposed);
    void evict(conn& c, control::close_reason why, uint64_t now_ns);
    uint64_t next_random() noexcept;
    struct session {
        control::session_info info;
        int owner_fd = -1; // control connection, -1 once stopped
        bool started = false;
        uint64_t remove_at_ns = 0; // after Stop-Sessions: its Timeout later
        uint16_t tag = 0;          // control_session_rt::tag
        uint64_t accepted_ns = 0;  // when accepted (snapshot: its age)
        source_key_t source{};     // counted in sessions_per_source_ (and sessions_per_net_)
        std::optional<source_key_t> net;
    };
    void check_refwait(uint64_t now_ns);
    void emit(log::event&& e);
    void emit_session(log::level lvl, const char* kind, const session& s, std::string message,
                      const char* reason);
    void emit_closed(conn& c, const control::connection_closed& cl);

    void accept_all(uint64_t now_ns);
    void on_readable(conn& c, uint64_t now_ns);
    void apply(conn& c, control::result&& r, uint64_t now_ns);
    void flush(conn& c);
    void update_interest(conn& c, uint64_t now_ns);
    void close_conn(int fd);
    void end_session(const control::sid_t& sid);
    void republish();
    std::unique_ptr<dataplane::control_table> build_table();

    // Everything below is the slow path's alone (poll, reconfigure, shutdown run on it), except
    // counters_, refusals_, n_conns_, busy_polls_ and n_backed_: written by the slow path, read
    // by any thread (atomics).
    config::control_config cfg_;
    publish_fn publish_;
    control::server_policy policy_;
    control::port_pool pool_;
    // control.max-key-derivations, one bucket for every connection; outlives reloads.
    control::derivation_limiter limiter_;
    control::server_counters counters_;   // atomics: slow path writes, readers load
    control_refusals refusals_;           // atomics: slow path writes, readers load
    std::atomic<std::size_t> n_conns_{0}; // conns_.size(), published for other threads
    control_env env_;
    bool started_ = false;
    std::map<int, conn> conns_;
    // Admitted connections by client address (source_key) and by IPv6 /64 (net_key), and the
    // pending ones among them (by address: their fds, to pick an eviction victim from);
    // refused connections count nowhere.
    source_counts per_source_;
    source_counts per_net_;
    std::map<source_key_t, std::vector<int>> pending_by_source_;
    source_counts pending_per_net_;
    // Sessions (unstarted, started, stopped but still reflecting) by client address and /64.
    source_counts sessions_per_source_;
    source_counts sessions_per_net_;
    uint64_t rng_ = 0; // splitmix64 state (eviction victims), seeded by env.random
    std::size_t n_admitted_ = 0;
    std::size_t n_pending_ = 0;
    uint64_t listener_paused_until_ = 0; // after out_of_fds (0: polled)
    std::atomic<uint64_t> busy_polls_{0};
    std::atomic<std::size_t> n_backed_{0}; // conns with backed == true, for other threads
    std::map<control::sid_t, session> sessions_;
    uint64_t next_conn_id_ = 0;
    // snapshot(): requests counted by readers, served by poll() (build_snapshot).
    void build_snapshot(uint64_t now_ns);
    mutable std::atomic<uint64_t> snap_asked_{0};
    std::atomic<uint64_t> snap_served_{0};
    mutable std::mutex snap_mu_;
    std::shared_ptr<const control_snapshot> snap_;
    bool dirty_ = false;
    uint16_t next_tag_ = 0; // wraps: 65,536 sessions before a tag repeats
    // Written by the workers (atomics, the last time each receiver port saw a packet), read
    // by the slow path for REFWAIT.
    std::unique_ptr<dataplane::port_activity> own_activity_; // unless control_env gave one
    dataplane::port_activity* activity_ = nullptr;
};

} // namespace twamp::slowpath
