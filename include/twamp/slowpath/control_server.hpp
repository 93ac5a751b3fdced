// The TWAMP-Control server's driver (RFC 5357 §3): a non-blocking TCP listener on a kernel
// socket (reached through the TAP exception path), one control::server_connection per client,
// epoll polled from the slow path's loop. Accepted sessions become a dataplane::control_table
// that the workers read; every change publishes a new table through `publish`.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "twamp/config/config.hpp"
#include "twamp/control/server.hpp"
#include "twamp/dataplane/control_table.hpp"

namespace twamp::slowpath {

// Written by the slow path (single writer, relaxed atomics), read by the metrics exporter and
// telemetry threads through app::gather.
struct control_refusals {
    std::atomic<uint64_t> acl{0};             // client outside control.prefixes
    std::atomic<uint64_t> max_connections{0}; // over control.max-connections
    std::atomic<uint64_t> refwait{0};         // started sessions ended after REFWAIT idle
};

class control_server {
public:
    using publish_fn = std::function<void(std::unique_ptr<dataplane::control_table>)>;

    // `cfg.control` configures it; the ports' and VLANs' addresses are the only Receiver
    // Addresses a session may have.
    control_server(const config::config& cfg, publish_fn publish);
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
    // Slow path only.
    std::size_t sessions() const noexcept { return sessions_.size(); }
    // When each receiver port last saw a test packet: the workers write it (worker_args), the
    // server reads it for REFWAIT. Lives as long as the server.
    dataplane::port_activity* activity() noexcept { return activity_.get(); }

    // TCP keepalive on accepted connections (RFC 5357 leaves a silent client's connection open
    // while its test runs: SERVWAIT is suspended, RFC 5357 §3.1): a peer that vanished without
    // a FIN or RST is found after idle + interval * count seconds of silence (3 min) and its
    // connection closed (io_error), freeing its max-connections slot and its sessions.
    static constexpr int keepalive_idle_s = 120;
    static constexpr int keepalive_interval_s = 15;
    static constexpr int keepalive_count = 4;

private:
    struct conn {
        int fd = -1;
        std::unique_ptr<control::server_connection> sm;
        std::vector<uint8_t> out;
        bool closing = false; // send what is queued, then close
        uint64_t close_by_ns = 0;
    };
    struct session {
        control::session_info info;
        int owner_fd = -1; // control connection, -1 once stopped
        bool started = false;
        uint64_t remove_at_ns = 0; // after Stop-Sessions: its Timeout later
        uint16_t tag = 0;          // control_session_rt::tag
    };
    void check_refwait(uint64_t now_ns);

    void accept_all(uint64_t now_ns);
    void on_readable(conn& c, uint64_t now_ns);
    void apply(conn& c, control::result&& r, uint64_t now_ns);
    void flush(conn& c);
    void close_conn(int fd);
    void end_session(const control::sid_t& sid);
    void republish();
    std::unique_ptr<dataplane::control_table> build_table();

    // Everything below is the slow path's alone (poll, reconfigure, shutdown run on it), except
    // counters_, refusals_ and n_conns_: written by the slow path, read by any thread (atomics).
    config::control_config cfg_;
    publish_fn publish_;
    control::server_policy policy_;
    control::port_pool pool_;
    // control.max-key-derivations, one bucket for every connection; outlives reloads.
    control::derivation_limiter limiter_;
    control::server_counters counters_;   // atomics: slow path writes, readers load
    control_refusals refusals_;           // atomics: slow path writes, readers load
    std::atomic<std::size_t> n_conns_{0}; // conns_.size(), published for other threads
    int listen_fd_ = -1;
    int epoll_fd_ = -1;
    std::map<int, conn> conns_;
    std::map<control::sid_t, session> sessions_;
    bool dirty_ = false;
    uint16_t next_tag_ = 0; // wraps: 65,536 sessions before a tag repeats
    // Written by the workers (atomics, the last time each receiver port saw a packet), read
    // by the slow path for REFWAIT.
    std::unique_ptr<dataplane::port_activity> activity_;
};

} // namespace twamp::slowpath
