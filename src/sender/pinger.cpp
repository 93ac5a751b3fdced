// twamp-ping's run (see pinger.hpp): the schedule and the event loop. --mode twamp first
// negotiates its sessions over TWAMP-Control (TCP, control.cpp), then sends the same test
// packets as light mode to the accepted ports, one UDP socket per session, round-robin.
#include "pinger.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "twamp/control/keys.hpp"
#include "twamp/proto/test_packet.hpp"
#include "twamp/sender/packet.hpp"
#include "twamp/sender/schedule.hpp"
#include "twamp/sender/tlv.hpp"

namespace twamp::sender {

namespace {

volatile sig_atomic_t g_interrupts = 0;

void on_signal(int) {
    g_interrupts = g_interrupts + 1;
}

} // namespace

pinger::pinger(const options& o, reporter& out, progress_line& progress)
    : o_(o), out_(out), progress_(progress) {}

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
        n += f.book.stats().received();
    }
    return n;
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
    progress_.clear();
    std::fprintf(stderr, "twamp-ping: %s: %s\n", f.dst_s.c_str(), what);
}

int pinger::load_key() {
    if (!o_.needs_key()) {
        return 0;
    }
    std::string err;
    auto store = control::load_key_file(o_.key_file, err);
    if (!store) {
        std::fprintf(stderr, "twamp-ping: --key-file: %s\n", err.c_str());
        return 2;
    }
    const control::key_entry* k = store->find(o_.key_id);
    if (k == nullptr) {
        std::fprintf(stderr, "twamp-ping: --key-id %s: not in %s\n", o_.key_id.c_str(),
                     o_.key_file.c_str());
        return 2;
    }
    secret_ = k->secret;
    if (o_.mode == mode::stamp) {
        // RFC 8762 §4.4 leaves key management out: the secret is the HMAC key as it is (the
        // reflector's authentication/key-id do the same).
        stamp_key_ = crypto::hmac_key(crypto::hash::sha256, secret_);
    }
    return 0;
}

reply_auth pinger::auth_of(const flow& f) const {
    reply_auth a;
    if (o_.mode == mode::stamp) {
        a.stamp = o_.needs_key() ? &stamp_key_ : nullptr;
        a.stamp_base = o_.auth == security::authenticated;
        a.hmac_tlv = o_.hmac_tlv;
    } else if (o_.auth_layout() && f.keys) {
        a.twamp = f.keys.get();
        a.encrypted = o_.auth == security::encrypted;
    }
    return a;
}

int pinger::open_flow(flow& f, uint16_t bind_port, const sockaddr_storage* bind_addr) {
    return open_udp(server_.ss_family, o_.dscp, bind_port, bind_addr, &f == flows_.data(), prefs_,
                    f.fd);
}

int pinger::connect_flow(flow& f) {
    f.dst_s = endpoint(f.dst);
    sockaddr_storage local{};
    if (int rc = connect_udp(f.fd, f.dst, f.dst_len, o_.payload_size(), local)) {
        return rc;
    }
    if (o_.unconnected) {
        // dna= / return-path=ADDRESS: a reply may come from another of the reflector's
        // addresses (RFC 9503 §3) or arrive at another of ours (§4.1.2).
        if (int rc = unconnect_udp(f.fd, local, prefs_.has_source)) {
            return rc;
        }
        if (prefs_.has_source) {
            local = local_address(f.fd); // what the socket is bound to now: the source
        }
    }
    f.src_s = endpoint(local);
    net::from_sockaddr(local, f.local_port, net::v4_mapped::as_ipv6);
    return 0;
}

int pinger::server_found() {
    server_s_ = endpoint(server_);
    const std::size_t size = o_.payload_size();
    if (server_.ss_family != AF_INET6 && size > max_size_ipv4) {
        std::fprintf(stderr, "twamp-ping: -s %zu: an IPv4 UDP payload is at most %zu octets\n",
                     size, max_size_ipv4);
        return 2;
    }
    return 0;
}

int pinger::setup_light() {
    if (!resolve(o_.host, o_.port, SOCK_DGRAM, prefs_.family, server_, server_len_)) {
        return 2;
    }
    if (int rc = server_found()) {
        return rc;
    }
    flows_.emplace_back(o_);
    flow& f = flows_[0];
    if (int rc = open_flow(f, o_.src_port, prefs_.has_source ? &prefs_.source : nullptr)) {
        return rc;
    }
    f.dst = server_;
    f.dst_len = server_len_;
    return connect_flow(f);
}

int pinger::setup_twamp() {
    if (int rc = connect_tcp(o_.host, o_.port, o_.control_timeout_s(), prefs_, ctl_fd_, server_,
                             server_len_)) {
        return rc;
    }
    if (int rc = server_found()) {
        return rc;
    }
    const sockaddr_storage local = local_address(ctl_fd_);
    ctl_local_s_ = endpoint(local);

    // The test sockets first: a Request-TW-Session names the sender's port. Each is bound to
    // the control connection's local address, which the server sees as our address.
    flows_.reserve(o_.sessions);
    for (std::size_t i = 0; i < o_.sessions; ++i) {
        flows_.emplace_back(o_);
        flow& f = flows_.back();
        const auto port = o_.src_port ? static_cast<uint16_t>(o_.src_port + i) : uint16_t{0};
        if (int rc = open_flow(f, port, &local)) {
            return rc;
        }
        net::from_sockaddr(local_address(f.fd), f.local_port, net::v4_mapped::as_ipv6);
    }

    const double timeout_s = o_.control_timeout_s();
    transport_ = std::make_unique<tcp_transport>(ctl_fd_, timeout_s);
    control::client_options copts;
    switch (o_.auth) {
    case security::open:
        copts.security = control::mode_unauthenticated;
        break;
    case security::authenticated:
        copts.security = control::mode_authenticated;
        break;
    case security::encrypted:
        copts.security = control::mode_encrypted;
        break;
    case security::mixed:
        copts.security = control::mode_mixed;
        break;
    }
    if (o_.auth != security::open) {
        copts.key_id = o_.key_id;
        copts.secret = secret_;
    }
    control_ =
            std::make_unique<control_client>(*transport_, server_s_, timeout_s, std::move(copts));
    auto fail = [&] {
        std::fprintf(stderr, "twamp-ping: %s\n", control_->error().c_str());
        return 1;
    };
    if (!control_->open()) {
        return fail();
    }
    std::optional<control::session_keys> keys;
    if (o_.auth_layout()) {
        keys = control_->negotiated_keys();
        if (!keys) {
            std::fprintf(stderr,
                         "twamp-ping: TWAMP-Control connection to %s: no session keys "
                         "after Server-Start\n",
                         server_s_.c_str());
            return 1;
        }
    }
    uint16_t port = 0;
    const net::address ours = net::from_sockaddr(local, port, net::v4_mapped::as_ipv6);
    const net::address theirs = net::from_sockaddr(server_, port, net::v4_mapped::as_ipv6);
    for (std::size_t i = 0; i < flows_.size(); ++i) {
        flow& f = flows_[i];
        auto req = build_session_request(o_, i, ours, f.local_port, theirs);
        f.requested_port = req.receiver_port;
        auto s = control_->request(req);
        if (!s) {
            return fail();
        }
        f.sid = s->sid;
        if (keys) {
            // RFC 4656 §4.1.2: the test session's keys from the session keys and its SID.
            f.keys = std::make_unique<twamp_test_keys>(
                    make_twamp_test_keys(keys->aes, keys->hmac, f.sid));
        }
        f.dst = server_;
        f.dst_len = server_len_;
        set_port(f.dst, s->port);
        if (int rc = connect_flow(f)) {
            return rc;
        }
    }
    return 0;
}

run_info pinger::describe() const {
    run_info info;
    info.target_s = twamp_ ? server_s_ : flows_[0].dst_s;
    info.local_s = twamp_ ? ctl_local_s_ : flows_[0].src_s;
    info.server_modes = twamp_ ? control_->server_modes() : 0;
    info.octets = tx_.size();
    info.clock_synchronized = clk_.synchronized;
    info.tai_utc_offset_s = clk_.tai_utc_offset_s;
    info.seed = seed_;
    for (const flow& f : flows_) {
        session_info s;
        s.src_s = f.src_s;
        s.dst_s = f.dst_s;
        s.sender_port = f.local_port;
        net::from_sockaddr(f.dst, s.receiver_port, net::v4_mapped::as_ipv6);
        s.requested_port = f.requested_port;
        s.sid = f.sid;
        info.sessions.push_back(std::move(s));
    }
    return info;
}

int pinger::run() {
    twamp_ = o_.mode == mode::twamp;
    if (!make_socket_prefs(o_.family, o_.device, o_.source, o_.ttl, prefs_)) {
        return 2;
    }
    seed_ = o_.seed_given ? o_.seed
                          : (uint64_t{std::random_device{}()} << 32 | std::random_device{}());
    if (int rc = load_key()) {
        return rc;
    }
    if (int rc = twamp_ ? setup_twamp() : setup_light()) {
        return rc;
    }
    const std::size_t size = o_.payload_size();
    for (flow& f : flows_) {
        f.book.set_auth(auth_of(f));
    }

    clk_ = read_clock_state();
    our_error_ = proto::make_error_estimate(clk_.error_ns, clk_.synchronized,
                                            o_.timestamp == proto::ts_format::ptp);
    tx_.resize(size);
    hmac_tlv_at_ = init_request(tx_, o_.mode, o_.ssid, o_.tlvs, o_.auth_layout());
    if (twamp_ && o_.auth_layout()) {
        wire_.resize(size);
    }
    per_packet_ = !o_.quiet;
    out_.start(describe());

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

    const int64_t timeout_ns = std::llround(o_.timeout_s * 1e9);
    // One pollfd per flow, then the control connection's.
    std::vector<pollfd> pfds;
    for (const flow& f : flows_) {
        pfds.push_back({f.fd, POLLIN, POLLIN}); // revents set: receive once before any poll
    }
    if (ctl_fd_ >= 0) {
        pfds.push_back({ctl_fd_, POLLIN, 0});
    }
    const int64_t start_mono = clock_ns(CLOCK_MONOTONIC);
    progress_.start(start_mono);
    send_schedule schedule(start_mono, o_.interval_s, o_.poisson, seed_);
    // -w: the run ends there, whatever is in flight (ping's -w).
    const int64_t run_deadline =
            o_.deadline_s > 0 ? start_mono + std::llround(o_.deadline_s * 1e9) : INT64_MAX;
    const int64_t summary_every_ns = std::llround(o_.summary_every_s * 1e9);
    int64_t next_summary = summary_every_ns > 0 ? start_mono + summary_every_ns : INT64_MAX;
    bool deadline_reached = false;
    bool sending = true;
    int64_t deadline = INT64_MAX; // once sending stops: how long to wait for the last replies
    for (;;) {
        int64_t now = clock_ns(CLOCK_MONOTONIC);
        if (g_interrupts > 1) {
            break;
        }
        if (now >= run_deadline) {
            deadline_reached = true;
            break;
        }
        if (sending && o_.deadline_s > 0 && o_.count && !o_.no_reply &&
            total_received() >= o_.count) {
            // ping -c N -w D: N replies came back before the deadline. Sending stops; the
            // packets still in flight are awaited as at any end (up to -W, never past -w).
            sending = false;
            deadline = now + timeout_ns;
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
            if (now < schedule.due()) {
                break;
            }
            send_one(now);
            schedule.advance();
            // With -w, -c counts replies (ping): sending goes on until the deadline. Unless no
            // reply was asked for (return-path=no-reply): then -c counts packets sent.
            if (o_.count && total_sent() >= o_.count && (o_.deadline_s == 0 || o_.no_reply)) {
                sending = false;
                deadline = now + timeout_ns;
            }
            now = clock_ns(CLOCK_MONOTONIC);
        }
        for (std::size_t i = 0; i < flows_.size(); ++i) {
            if (pfds[i].revents != 0) {
                receive(i);
            }
        }
        if (ctl_fd_ >= 0 && !control_failed_ && pfds.back().revents != 0) {
            control_readable();
        }
        bool all_done = true;
        for (std::size_t i = 0; i < flows_.size(); ++i) {
            expire(i, now);
            all_done = all_done && flows_[i].book.settled();
        }
        progress_.update(now, total_sent(), total_received());
        if (now >= next_summary) {
            progress_.clear();
            out_.periodic(results(now - start_mono, false));
            next_summary += summary_every_ns;
            if (next_summary <= now) { // a slow wake-up: no burst of summaries
                next_summary = now + summary_every_ns;
            }
        }
        if (!sending && (all_done || now >= deadline)) {
            break;
        }
        // Sleep until the next packet is due, the oldest outstanding one times out, or the
        // progress line is due; a reply wakes us earlier.
        int64_t wake = std::min({progress_.next_due(), next_summary, run_deadline});
        if (sending) {
            wake = std::min(wake, schedule.due());
        }
        for (const flow& f : flows_) {
            wake = std::min(wake, f.book.next_expiry(timeout_ns));
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
    uint64_t awaited = 0;
    for (std::size_t i = 0; i < flows_.size(); ++i) {
        receive(i); // (what arrived before the end, -w's deadline included)
        awaited += flows_[i].book.outstanding();
        // Whatever is still outstanding now is lost (interrupted, past the final wait, or the
        // -w deadline).
        expire(i, INT64_MAX, deadline_reached);
    }
    progress_.clear();
    if (twamp_ && !control_failed_) {
        // RFC 5357 §3.8: Stop-Sessions, no answer; then the connection closes. The reflector
        // keeps reflecting for --session-timeout, so late replies of a lost one are not lost.
        if (!control_->stop()) {
            std::fprintf(stderr, "twamp-ping: %s\n", control_->error().c_str());
            control_failed_ = true;
        }
        shutdown(ctl_fd_, SHUT_WR);
    }
    run_result res = results(end - start_mono, true);
    res.deadline_reached = deadline_reached;
    res.deadline_lost = deadline_reached && !o_.no_reply ? awaited : 0; // no-reply: no loss
    out_.finish(res);
    if (control_failed_) {
        return 1;
    }
    if (o_.deadline_s > 0 && o_.count && !o_.no_reply && total_received() < o_.count) {
        return 1; // ping: -c and -w, fewer than COUNT replies by the deadline
    }
    return total_received() > 0 || o_.no_reply ? 0 : 1;
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
    progress_.clear();
    std::fprintf(stderr, "twamp-ping: %s\n", msg.c_str());
}

void pinger::send_one(int64_t now_mono) {
    flow& f = flows_[next_global_ % flows_.size()];
    const auto global = static_cast<uint32_t>(next_global_++);
    const int64_t t1 = clock_ns(CLOCK_REALTIME); // T1: right before send()
    const uint64_t t1_wire =
            proto::encode_timestamp(o_.timestamp, static_cast<uint64_t>(t1), clk_.tai_utc_offset_s);
    const bool auth = o_.auth_layout();
    stamp_request(tx_, f.book.next_seq(), t1_wire, our_error_, auth);
    const std::size_t tlv_base = o_.stamp_base_size();
    if (o_.has_direct_measurement) {
        // RFC 8972 §4.5: S_TxC, the packets sent in this session so far, this one included.
        set_direct_measurement(std::span(tx_).subspan(tlv_base), f.book.next_seq() + 1);
    }
    std::span<const uint8_t> out = tx_;
    if (o_.mode == mode::stamp) {
        if (hmac_tlv_at_ != 0) {
            seal_hmac_tlv(tx_, tlv_base, hmac_tlv_at_, stamp_key_); // RFC 8972 §4.8
        }
        if (auth) {
            seal_stamp(tx_, stamp_key_); // RFC 8762 §4.2.2
        }
    } else if (auth && f.keys) {
        // The fields sit in tx_ in plaintext; the sealed copy goes out (RFC 5357 §4.1.2).
        std::copy(tx_.begin(), tx_.end(), wire_.begin());
        seal_twamp_request(wire_, o_.auth == security::encrypted, *f.keys);
        out = wire_;
    }
    ssize_t n = o_.unconnected ? sendto(f.fd, out.data(), out.size(), 0,
                                        reinterpret_cast<const sockaddr*>(&f.dst), f.dst_len)
                               : send(f.fd, out.data(), out.size(), 0);
    const int err = n < 0 ? errno : 0;
    f.book.record_send(now_mono, t1, t1_wire, global, n < 0);
    if (n < 0) {
        report_errno(f, err);
    }
}

void pinger::receive(std::size_t i) {
    flow& f = flows_[i];
    receive_all(
            f.fd, [&](const datagram& d) { handle(i, d); }, [&](int err) { report_errno(f, err); });
}

void pinger::handle(std::size_t i, const datagram& d) {
    flow& f = flows_[i];
    const std::size_t len = d.payload.size();
    if (d.truncated) {
        f.book.count_invalid();
        if (per_packet_) {
            out_.invalid({i, len, "longer than 65536 octets"});
        }
        return;
    }
    // Unconnected (dna= / return-path=ADDRESS): a reply may come from another of the
    // reflector's addresses, from its port; the Sender Timestamp check still ties it to a
    // request of ours.
    const bool from_peer =
            same_endpoint(d.from, f.dst) || (o_.unconnected && same_port(d.from, f.dst));
    const match_result m = f.book.match(d.payload, from_peer, d.t4, clk_.tai_utc_offset_s);
    switch (m.verdict) {
    case reply_verdict::invalid:
        if (per_packet_) {
            out_.invalid({i, len, m.why});
        }
        return;
    case reply_verdict::integrity:
        if (per_packet_) {
            out_.integrity({i, len, m.why});
        }
        return;
    case reply_verdict::late:
        total_.add_late();
        if (per_packet_) {
            out_.late({i, len, m.s.sender_seq, statistics::round_trip(m.s)});
        }
        return;
    case reply_verdict::fresh:
        max_rtt_ns_ = std::max(max_rtt_ns_, statistics::round_trip(m.s));
        if (flows_.size() > 1) {
            // The run as a whole: numbered by global index, so its loss and delay figures cover
            // every session; the loss split and reordering come from the sessions.
            sample g = m.s;
            g.sender_seq = m.global;
            g.reflector_seq = m.global;
            total_.add(g);
        }
        break;
    case reply_verdict::duplicate:
        break;
    }
    if (per_packet_) {
        const std::size_t tlv_base = o_.stamp_base_size();
        const auto tlv_area = o_.mode == mode::stamp && len > tlv_base ? d.payload.subspan(tlv_base)
                                                                       : std::span<const uint8_t>{};
        out_.reply({i, len, m.s, m.r, m.verdict == reply_verdict::duplicate, tlv_area});
    }
}

void pinger::expire(std::size_t i, int64_t now_mono, bool at_deadline) {
    flows_[i].book.expire(now_mono, std::llround(o_.timeout_s * 1e9), [&](uint32_t seq) {
        if (per_packet_) {
            out_.lost({i, seq, o_.no_reply, at_deadline});
        }
    });
}

run_result pinger::results(int64_t elapsed_ns, bool final) const {
    run_result res;
    uint64_t outstanding = 0;
    for (const flow& f : flows_) {
        const uint64_t pending = final ? 0 : f.book.outstanding();
        outstanding += pending;
        res.sessions.push_back(
                f.book.stats().summarize(f.book.sent() - pending, clk_.synchronized));
        // sent: every packet so far; lost and loss_pct: of those settled (replied or expired).
        res.sessions.back().outstanding = pending;
        res.sessions.back().sent += pending;
        res.session_invalid.push_back(f.book.invalid());
        res.invalid += f.book.invalid();
        res.session_integrity.push_back(f.book.integrity_failures());
        res.integrity_failures += f.book.integrity_failures();
        res.send_errors += f.book.send_errors();
        res.tlv_flagged += f.book.tlv_flagged();
        res.tlvs.merge(f.book.tlvs());
    }
    // Per flow, and for a run over several sessions the total: its loss split, duplicates,
    // reordering and late replies are the sessions' sums (each session has its own numbering),
    // its delays and jitter those of every reply in arrival order.
    res.total = flows_.size() > 1 ? merge_sessions(total_.summarize(total_sent() - outstanding,
                                                                    clk_.synchronized),
                                                   res.sessions)
                                  : res.sessions[0];
    if (flows_.size() > 1) {
        res.total.sent += outstanding;
    }
    res.total.outstanding = outstanding;
    if (o_.no_reply) {
        // RFC 9503 §4.1.1 "No Reply Requested": a reply that does not come is no loss.
        not_requested(res.total);
        for (summary& s : res.sessions) {
            not_requested(s);
        }
    }
    res.duration_ns = elapsed_ns;
    res.control_failed = control_failed_;
    return res;
}

} // namespace twamp::sender
