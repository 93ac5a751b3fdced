// twamp-ping [options] HOST[:PORT]: a TWAMP Light / STAMP Session-Sender on kernel UDP sockets.
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
#include <set>
#include <string>
#include <string_view>
#include <vector>

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
    return m == mode::stamp ? "STAMP" : "TWAMP Light";
}

enum class rec_state : uint8_t { outstanding, replied, lost };

struct sent_rec {
    int64_t t1 = 0;       // CLOCK_REALTIME ns
    int64_t t_mono = 0;   // CLOCK_MONOTONIC ns, for the timeout
    uint64_t t1_wire = 0; // as sent: the reply must carry it back
    rec_state state = rec_state::outstanding;
};

class pinger {
public:
    explicit pinger(const options& o) : o_(o) {}
    int run();

private:
    bool setup();
    void send_one(int64_t now_mono);
    void receive(int64_t now_mono);
    void handle_reply(const uint8_t* data, std::size_t len, const sockaddr_storage& from,
                      int64_t t4);
    void expire(int64_t now_mono);
    void invalid(const char* why, std::size_t len);
    void report_errno(int err);
    void progress(int64_t now_mono, bool final_clear);
    void print_summary(int64_t elapsed_ns);

    const options& o_;
    int fd_ = -1;
    sockaddr_storage dst_{};
    socklen_t dst_len_ = 0;
    std::string dst_s_, src_s_;
    clock_state clk_;
    proto::error_estimate our_error_{};
    std::vector<uint8_t> tx_;
    std::vector<sent_rec> sent_;
    std::size_t expire_idx_ = 0;
    statistics stats_;
    uint64_t invalid_ = 0, send_errors_ = 0, tlv_flagged_ = 0;
    std::set<int> reported_errnos_;
    bool per_packet_ = true;
    bool show_progress_ = false;
    bool progress_shown_ = false;
    int64_t next_progress_ = 0;
    int64_t start_mono_ = 0;
    int64_t max_rtt_ns_ = -1; // slowest fresh reply so far; -1: none yet
};

void pinger::report_errno(int err) {
    if (!reported_errnos_.insert(err).second) {
        return; // once per kind: a dead path must not flood the terminal
    }
    const char* what = std::strerror(err);
    if (err == ECONNREFUSED) {
        what = "ICMP port unreachable: no reflector listens on that UDP port";
    } else if (err == EHOSTUNREACH) {
        what = "host unreachable (no ARP/ND answer, or ICMP host unreachable)";
    } else if (err == ENETUNREACH) {
        what = "network unreachable (no route to it)";
    } else if (err == EMSGSIZE) {
        what = "message too long for the path MTU (fragments are not reflected): use a smaller -s";
    }
    progress(clock_ns(CLOCK_MONOTONIC), true);
    std::fprintf(stderr, "twamp-ping: %s: %s\n", dst_s_.c_str(), what);
}

bool pinger::setup() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_protocol = IPPROTO_UDP;
    addrinfo* ai = nullptr;
    int gai = getaddrinfo(o_.host.c_str(), nullptr, &hints, &ai);
    if (gai != 0 || !ai) {
        std::fprintf(stderr, "twamp-ping: cannot resolve \"%s\": %s\n", o_.host.c_str(),
                     gai == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(gai));
        return false;
    }
    std::memcpy(&dst_, ai->ai_addr, ai->ai_addrlen);
    dst_len_ = ai->ai_addrlen;
    freeaddrinfo(ai);
    const bool v6 = dst_.ss_family == AF_INET6;
    if (v6) {
        reinterpret_cast<sockaddr_in6*>(&dst_)->sin6_port = htons(o_.port);
    } else {
        reinterpret_cast<sockaddr_in*>(&dst_)->sin_port = htons(o_.port);
    }
    dst_s_ = endpoint(dst_);
    return true;
}

int pinger::run() {
    if (!setup()) {
        return 2;
    }
    const bool v6 = dst_.ss_family == AF_INET6;
    const std::size_t size = o_.payload_size();
    if (!v6 && size > max_size_ipv4) {
        std::fprintf(stderr, "twamp-ping: -s %zu: an IPv4 UDP payload is at most %zu octets\n",
                     size, max_size_ipv4);
        return 2;
    }

    fd_ = socket(dst_.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd_ < 0) {
        std::fprintf(stderr, "twamp-ping: socket: %s\n", std::strerror(errno));
        return 1;
    }
    int one = 1;
    if (setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0) {
        std::fprintf(stderr, "twamp-ping: SO_TIMESTAMPNS: %s (T4 from clock_gettime instead)\n",
                     std::strerror(errno));
    }
    int rcvbuf = 4 << 20; // high rates: room for a burst of replies between two polls
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    // RFC 5357 §4.1.2 / RFC 8762 §4.2: the Session-Sender sends with TTL/Hop Limit 255, so the
    // reflector's Sender TTL tells how many hops the request crossed.
    int ttl = 255;
    int tos = o_.dscp << 2;
    // Never fragment: the reflector does not reflect fragments, so an oversized request must
    // fail here with a message rather than vanish.
    int pmtu = v6 ? IPV6_PMTUDISC_DO : IP_PMTUDISC_DO;
    if (v6) {
        setsockopt(fd_, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl);
        setsockopt(fd_, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
        setsockopt(fd_, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof pmtu);
    } else {
        setsockopt(fd_, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
        setsockopt(fd_, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
        setsockopt(fd_, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
    }
    if (o_.src_port) {
        sockaddr_storage src{};
        socklen_t len;
        src.ss_family = dst_.ss_family;
        if (v6) {
            reinterpret_cast<sockaddr_in6*>(&src)->sin6_port = htons(o_.src_port);
            len = sizeof(sockaddr_in6);
        } else {
            reinterpret_cast<sockaddr_in*>(&src)->sin_port = htons(o_.src_port);
            len = sizeof(sockaddr_in);
        }
        if (bind(fd_, reinterpret_cast<sockaddr*>(&src), len) != 0) {
            std::fprintf(stderr, "twamp-ping: --src-port %u: %s\n", o_.src_port,
                         std::strerror(errno));
            return errno == EADDRINUSE || errno == EACCES ? 2 : 1;
        }
    }
    // Connected: the kernel picks the source address, filters replies to the reflector's
    // address and port, and reports ICMP errors for the path.
    if (connect(fd_, reinterpret_cast<sockaddr*>(&dst_), dst_len_) != 0) {
        std::fprintf(stderr, "twamp-ping: %s: %s%s\n", dst_s_.c_str(), std::strerror(errno),
                     errno == ENETUNREACH ? " (no route to that address)" : "");
        return 1;
    }
    sockaddr_storage local{};
    socklen_t llen = sizeof local;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &llen);
    src_s_ = endpoint(local);

    int mtu = 0;
    socklen_t mlen = sizeof mtu;
    if (getsockopt(fd_, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu, &mlen) == 0 &&
        mtu > 0) {
        const std::size_t overhead = v6 ? 48 : 28;
        if (size + overhead > static_cast<std::size_t>(mtu)) {
            std::fprintf(stderr,
                         "twamp-ping: -s %zu: %zu octets with the IP and UDP headers exceed the "
                         "path MTU %d to %s (fragments are not reflected): use -s %zu or less\n",
                         size, size + overhead, mtu, dst_s_.c_str(),
                         static_cast<std::size_t>(mtu) - overhead);
            return 2;
        }
    }

    clk_ = read_clock_state();
    our_error_ = proto::make_error_estimate(clk_.error_ns, clk_.synchronized,
                                            o_.timestamp == proto::ts_format::ptp);
    tx_.resize(size);
    init_request(tx_, o_.mode, o_.ssid);
    if (o_.count) {
        sent_.reserve(static_cast<std::size_t>(std::min<uint64_t>(o_.count, 1u << 24)));
    }

    per_packet_ = !o_.quiet;
    show_progress_ = isatty(STDERR_FILENO) && (o_.quiet || o_.json || !isatty(STDOUT_FILENO));
    if (!o_.json) {
        std::printf("twamp-ping %s (%s) from %s: %zu octets, %s timestamps, dscp %u",
                    dst_s_.c_str(), mode_name(o_.mode), src_s_.c_str(), size,
                    o_.timestamp == proto::ts_format::ptp ? "ptp" : "ntp", o_.dscp);
        if (o_.mode == mode::stamp) {
            std::printf(", ssid %u", o_.ssid);
        }
        if (o_.paced) {
            std::printf(", %.6g packets/s\n", 1.0 / o_.interval_s);
        } else {
            std::printf(", every %.6g s\n", o_.interval_s);
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

    const int64_t interval_ns = std::max<int64_t>(1, std::llround(o_.interval_s * 1e9));
    const int64_t timeout_ns = std::llround(o_.timeout_s * 1e9);
    start_mono_ = clock_ns(CLOCK_MONOTONIC);
    next_progress_ = start_mono_ + 1'000'000'000;
    bool sending = true;
    int64_t deadline = INT64_MAX; // once sending stops: how long to wait for the last replies
    for (;;) {
        int64_t now = clock_ns(CLOCK_MONOTONIC);
        if (g_interrupts > 1) {
            break;
        }
        if (g_interrupts > 0 && sending) {
            // Interrupted: wait for what is in flight, but only as long as replies have been
            // taking (twice the slowest so far), not the whole -W: nobody wants to wait
            // seconds after Ctrl-C for a host that never answered.
            sending = false;
            const int64_t grace = max_rtt_ns_ >= 0 ? 2 * max_rtt_ns_ + 10'000'000 : 0;
            deadline = now + std::min(timeout_ns, grace);
        }
        // Fixed schedule start + k * interval: no drift; behind schedule (a slow wake-up) it
        // catches up in bursts of at most 64.
        for (int burst = 0; sending && burst < 64; ++burst) {
            const int64_t due = start_mono_ + static_cast<int64_t>(sent_.size()) * interval_ns;
            if (now < due) {
                break;
            }
            send_one(now);
            if (o_.count && sent_.size() >= o_.count) {
                sending = false;
                deadline = now + timeout_ns;
            }
            now = clock_ns(CLOCK_MONOTONIC);
        }
        receive(now);
        expire(now);
        progress(now, false);
        if (!sending) {
            const bool all_done = expire_idx_ >= sent_.size();
            if (all_done || now >= deadline) {
                break;
            }
        }
        // Sleep until the next packet is due, the oldest outstanding one times out, or the
        // progress line is due; a reply wakes us earlier.
        int64_t wake = next_progress_;
        if (sending) {
            wake = std::min(wake, start_mono_ + static_cast<int64_t>(sent_.size()) * interval_ns);
        }
        if (expire_idx_ < sent_.size()) {
            wake = std::min(wake, sent_[expire_idx_].t_mono + timeout_ns);
        }
        if (!sending) {
            wake = std::min(wake, deadline);
        }
        const int64_t wait = std::max<int64_t>(0, wake - clock_ns(CLOCK_MONOTONIC));
        timespec ts{static_cast<time_t>(wait / 1'000'000'000),
                    static_cast<long>(wait % 1'000'000'000)};
        pollfd pfd{fd_, POLLIN, 0};
        ppoll(&pfd, 1, &ts, &wait_mask);
    }
    const int64_t end = clock_ns(CLOCK_MONOTONIC);
    receive(end);
    // Whatever is still outstanding now is lost (interrupted, or past the final wait).
    expire(INT64_MAX);
    progress(end, true);
    print_summary(end - start_mono_);
    close(fd_);
    return stats_.received() > 0 ? 0 : 1;
}

void pinger::send_one(int64_t now_mono) {
    const auto seq = static_cast<uint32_t>(sent_.size());
    sent_rec r;
    r.t_mono = now_mono;
    r.t1 = clock_ns(CLOCK_REALTIME); // T1: right before send()
    r.t1_wire = proto::encode_timestamp(o_.timestamp, static_cast<uint64_t>(r.t1),
                                        clk_.tai_utc_offset_s);
    stamp_request(tx_, seq, r.t1_wire, our_error_);
    ssize_t n = send(fd_, tx_.data(), tx_.size(), 0);
    if (n < 0) {
        const int err = errno;
        ++send_errors_;
        r.state = rec_state::lost;
        report_errno(err);
    }
    sent_.push_back(r);
}

void pinger::receive(int64_t now_mono) {
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
        ssize_t n = recvmsg(fd_, &msg, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return;
            }
            if (errno == EINTR) {
                continue;
            }
            // A connected UDP socket reports ICMP errors (port/host unreachable) here.
            report_errno(errno);
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
            invalid("longer than 65536 octets", static_cast<std::size_t>(n));
            continue;
        }
        handle_reply(buf, static_cast<std::size_t>(n), from, t4);
    }
    (void)now_mono;
}

void pinger::invalid(const char* why, std::size_t len) {
    ++invalid_;
    if (o_.json && per_packet_) {
        std::printf("{\"type\":\"invalid\",\"reason\":%s,\"octets\":%zu}\n",
                    json_string(why).c_str(), len);
    } else if (per_packet_) {
        std::printf("%zu octets from %s: invalid reply: %s\n", len, dst_s_.c_str(), why);
    }
}

void pinger::handle_reply(const uint8_t* data, std::size_t len, const sockaddr_storage& from,
                          int64_t t4) {
    // The socket is connected, so the kernel already filtered the source; checked again so a
    // reply can never be credited to the wrong peer.
    if (!same_endpoint(from, dst_)) {
        invalid("from another address or port", len);
        return;
    }
    reply_error err{};
    auto r = parse_reply(std::span<const uint8_t>(data, len), o_.mode, &err);
    if (!r) {
        invalid(o_.mode == mode::stamp ? "shorter than a STAMP reply (44 octets)"
                                       : "shorter than a TWAMP reply (41 octets)",
                len);
        return;
    }
    if (o_.mode == mode::stamp && r->ssid != o_.ssid) {
        invalid("SSID differs from ours", len);
        return;
    }
    if (r->sender_seq >= sent_.size()) {
        invalid("Sender Sequence Number never sent", len);
        return;
    }
    sent_rec& rec = sent_[r->sender_seq];
    if (r->sender_timestamp != rec.t1_wire) {
        invalid("Sender Timestamp differs from the one sent with that sequence number", len);
        return;
    }
    const int64_t t2 = r->t2_ns(clk_.tai_utc_offset_s);
    const int64_t t3 = r->t3_ns(clk_.tai_utc_offset_s);
    if (rec.state == rec_state::lost) {
        stats_.add_late();
        if (per_packet_ && o_.json) {
            std::printf("{\"type\":\"late\",\"seq\":%u,\"rtt_ns\":%ld}\n", r->sender_seq,
                        (t4 - rec.t1) - (t3 - t2));
        } else if (per_packet_) {
            std::printf("%zu octets from %s: seq=%u late (after -W %.6g s), ignored\n", len,
                        dst_s_.c_str(), r->sender_seq, o_.timeout_s);
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
    const reply_kind kind = stats_.add(s);
    if (kind == reply_kind::fresh) {
        rec.state = rec_state::replied;
        max_rtt_ns_ = std::max(max_rtt_ns_, statistics::round_trip(s));
        if (r->tlvs_unrecognized || r->tlvs_malformed) {
            ++tlv_flagged_;
        }
    }
    if (!per_packet_) {
        return;
    }
    const int64_t rtt = statistics::round_trip(s);
    if (o_.json) {
        std::printf("{\"type\":\"reply\",\"seq\":%u,\"reflector_seq\":%u,\"octets\":%zu,"
                    "\"sender_ttl\":%u,\"t1_ns\":%ld,\"t2_ns\":%ld,\"t3_ns\":%ld,\"t4_ns\":%ld,"
                    "\"rtt_ns\":%ld,\"residence_ns\":%ld,\"forward_ns\":%ld,\"backward_ns\":%ld,"
                    "\"timestamp\":\"%s\",\"reflector_synchronized\":%s,"
                    "\"reflector_error_ns\":%lu,\"duplicate\":%s}\n",
                    s.sender_seq, s.reflector_seq, len, r->sender_ttl, s.t1, s.t2, s.t3, s.t4, rtt,
                    s.t3 - s.t2, s.t2 - s.t1, s.t4 - s.t3, r->error.ptp ? "ptp" : "ntp",
                    r->error.synchronized ? "true" : "false", r->error.error_ns(),
                    kind == reply_kind::duplicate ? "true" : "false");
        return;
    }
    progress(clock_ns(CLOCK_MONOTONIC), true);
    std::printf("%zu octets from %s: seq=%u rseq=%u ttl=%u rtt=%s ms res=%s ms", len,
                dst_s_.c_str(), s.sender_seq, s.reflector_seq, r->sender_ttl,
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

void pinger::expire(int64_t now_mono) {
    const int64_t timeout_ns = std::llround(o_.timeout_s * 1e9);
    while (expire_idx_ < sent_.size()) {
        sent_rec& r = sent_[expire_idx_];
        if (r.state == rec_state::outstanding) {
            if (now_mono != INT64_MAX && r.t_mono + timeout_ns > now_mono) {
                break;
            }
            r.state = rec_state::lost;
            if (per_packet_ && o_.json) {
                std::printf("{\"type\":\"lost\",\"seq\":%zu}\n", expire_idx_);
            } else if (per_packet_) {
                progress(clock_ns(CLOCK_MONOTONIC), true);
                std::printf("no reply for seq=%zu within %.6g s\n", expire_idx_, o_.timeout_s);
            }
        }
        ++expire_idx_;
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
    const uint64_t got = stats_.received();
    const double loss = sent_.empty() ? 0.0
                                      : 100.0 * static_cast<double>(sent_.size() - got) /
                                                static_cast<double>(sent_.size());
    std::fprintf(stderr, "\r\033[K%.0f s: %zu sent, %lu received, %.2f%% not (yet) back",
                 static_cast<double>(now_mono - start_mono_) / 1e9, sent_.size(), got, loss);
    progress_shown_ = true;
}

void pinger::print_summary(int64_t elapsed_ns) {
    const summary s = stats_.summarize(sent_.size(), clk_.synchronized);
    if (o_.json) {
        std::printf("{\"type\":\"summary\",\"host\":%s,\"port\":%u,\"mode\":\"%s\","
                    "\"octets\":%zu,\"sent\":%lu,\"received\":%lu,\"lost\":%lu,"
                    "\"loss_pct\":%.3f,\"lost_forward\":%s,\"lost_backward\":%s,"
                    "\"duplicates\":%lu,\"reordered\":%lu,\"late\":%lu,\"invalid\":%lu,"
                    "\"send_errors\":%lu,\"rtt_ns\":%s,\"residence_ns\":%s,\"forward_ns\":%s,"
                    "\"backward_ns\":%s,\"jitter_forward_ns\":%.1f,\"jitter_backward_ns\":%.1f,"
                    "\"clocks_synchronized\":%s,\"duration_ns\":%ld}\n",
                    json_string(o_.host).c_str(), o_.port,
                    o_.mode == mode::stamp ? "stamp" : "light", tx_.size(), s.sent, s.received,
                    s.lost, s.loss_pct, json_opt(s.lost_forward).c_str(),
                    json_opt(s.lost_backward).c_str(), s.duplicates, s.reordered, s.late, invalid_,
                    send_errors_, json_distribution(s.rtt).c_str(),
                    json_distribution(s.residence).c_str(), json_distribution(s.forward).c_str(),
                    json_distribution(s.backward).c_str(), s.jitter_forward, s.jitter_backward,
                    s.clocks_synchronized ? "true" : "false", elapsed_ns);
        std::fflush(stdout);
        return;
    }
    std::printf("\n--- %s %s statistics ---\n", dst_s_.c_str(), mode_name(o_.mode));
    std::string split;
    if (s.lost_forward && s.lost_backward) {
        split = " (forward " + std::to_string(*s.lost_forward) + ", backward " +
                std::to_string(*s.lost_backward) + ")";
    } else if (s.lost) {
        split = s.received ? " (direction unknown: the reflector's sequence numbers equal ours)"
                           : " (direction unknown: no reply came back)";
    }
    char loss[32];
    std::snprintf(loss, sizeof loss, "%.3g%%", s.loss_pct);
    std::printf("%lu sent, %lu received, %s loss%s, %lu duplicates, %lu reordered, time %.0f ms\n",
                s.sent, s.received, loss, split.c_str(), s.duplicates, s.reordered,
                static_cast<double>(elapsed_ns) / 1e6);
    if (s.late || invalid_ || send_errors_ || tlv_flagged_) {
        std::printf("%lu late (counted as lost), %lu invalid replies ignored, %lu send errors, "
                    "%lu replies with TLVs flagged U or M\n",
                    s.late, invalid_, send_errors_, tlv_flagged_);
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
