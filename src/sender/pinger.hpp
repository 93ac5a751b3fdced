// twamp-ping's run: sets up the streams (light/stamp: one UDP socket to HOST:PORT; twamp: the
// TWAMP-Control conversation first, then one UDP socket per accepted session), sends on a fixed
// schedule round-robin over them, hands each datagram to the stream's reply_matcher, expires
// overdue packets, and tells a reporter what happened.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <sys/socket.h>

#include "transport.hpp"

#include "twamp/sender/auth.hpp"
#include "twamp/sender/control.hpp"
#include "twamp/sender/matcher.hpp"
#include "twamp/sender/options.hpp"
#include "twamp/sender/report.hpp"
#include "twamp/sender/stats.hpp"

namespace twamp::sender {

class pinger {
public:
    pinger(const options& o, reporter& out, progress_line& progress);
    ~pinger();
    pinger(const pinger&) = delete;
    pinger& operator=(const pinger&) = delete;

    // The whole run; returns the exit status (0: replies came back).
    int run();

private:
    // One stream of test packets: a UDP socket connected to the reflector's port, its own
    // sequence numbers and statistics. Light and STAMP runs have one; --mode twamp one per
    // session.
    struct flow {
        explicit flow(const options& o) : book(o.mode, o.ssid) {}
        int fd = -1;
        sockaddr_storage dst{};
        socklen_t dst_len = 0;
        std::string dst_s, src_s;
        reply_matcher book;
        std::set<int> reported_errnos;
        // --mode twamp
        control::sid_t sid{};
        uint16_t requested_port = 0;
        uint16_t local_port = 0;
        // --auth authenticated|encrypted: the session's test keys (their address is the
        // reply_matcher's: held apart so a flow may move).
        std::unique_ptr<twamp_test_keys> keys;
    };

    // --key-file/--key-id: reads the secret (0 or an exit status).
    int load_key();
    // The reply protection of a flow (set_auth), from the options and the keys.
    reply_auth auth_of(const flow& f) const;
    int open_flow(flow& f, uint16_t bind_port, const sockaddr_storage* bind_addr);
    int connect_flow(flow& f);
    // server_ is known: names it, checks -s against its family. 0 or an exit status.
    int server_found();
    int setup_light();
    int setup_twamp();
    run_info describe() const;
    void send_one(int64_t now_mono);
    void receive(std::size_t i);
    void handle(std::size_t i, const datagram& d);
    void control_readable();
    void expire(std::size_t i, int64_t now_mono, bool at_deadline = false);
    void report_errno(flow& f, int err);
    // `final`: at the end (sent = every packet); else a --summary-every one (sent = the packets
    // settled, outstanding apart).
    run_result results(int64_t elapsed_ns, bool final) const;
    uint64_t total_sent() const noexcept { return next_global_; }
    uint64_t total_received() const noexcept;

    const options& o_;
    reporter& out_;
    progress_line& progress_;
    bool twamp_ = false;
    bool per_packet_ = true;
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
    std::vector<uint8_t> tx_;   // the request in plaintext (the per-packet fields stamped)
    std::vector<uint8_t> wire_; // TWAMP authenticated/encrypted: tx_ sealed
    // --auth, --tlv hmac
    std::vector<uint8_t> secret_;
    crypto::hmac_key stamp_key_;  // STAMP: HMAC-SHA-256 with the secret
    std::size_t hmac_tlv_at_ = 0; // the request's HMAC TLV (0: none)
    uint64_t next_global_ = 0;
    int64_t max_rtt_ns_ = -1; // slowest fresh reply so far; -1: none yet
    socket_prefs prefs_;      // -4/-6, -I, --source, -t
    uint64_t seed_ = 0;       // --poisson
};

} // namespace twamp::sender
