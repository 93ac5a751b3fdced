// twamp-ping's text and JSON output (see report.hpp).
#include "twamp/sender/report.hpp"

#include <cstdio>
#include <string>

#include "twamp/sender/control.hpp"

namespace twamp::sender {

const char* mode_name(enum mode m) noexcept {
    return m == mode::stamp ? "STAMP" : m == mode::twamp ? "TWAMP" : "TWAMP Light";
}

void progress_line::update(int64_t now_mono, uint64_t sent, uint64_t received) noexcept {
    if (!enabled_ || now_mono < next_) {
        return;
    }
    next_ = now_mono + 1'000'000'000;
    const double loss =
            sent == 0 ? 0.0
                      : 100.0 * static_cast<double>(sent - received) / static_cast<double>(sent);
    std::fprintf(out_, "\r\033[K%.0f s: %lu sent, %lu received, %.2f%% not (yet) back",
                 static_cast<double>(now_mono - start_) / 1e9, sent, received, loss);
    shown_ = true;
}

void progress_line::clear() noexcept {
    if (enabled_ && shown_) {
        std::fputs("\r\033[K", out_);
        shown_ = false;
    }
}

namespace {

const char* ts_name(proto::ts_format f) {
    return f == proto::ts_format::ptp ? "ptp" : "ntp";
}

// Milliseconds with three decimals, from nanoseconds.
std::string ms(double ns) {
    char b[32];
    std::snprintf(b, sizeof b, "%.3f", ns / 1e6);
    return b;
}

std::string ms(int64_t ns) {
    return ms(static_cast<double>(ns));
}

class text_reporter final : public reporter {
public:
    text_reporter(const options& o, std::FILE* out, progress_line* progress)
        : o_(o), out_(out), progress_(progress) {}

    void start(const run_info& info) override {
        info_ = info;
        const std::size_t n = info.sessions.size();
        if (o_.mode == mode::twamp) {
            std::fprintf(out_,
                         "twamp-ping %s (TWAMP) from %s: modes %s, %zu session%s, %zu octets "
                         "(padding %u), %s timestamps, dscp %u",
                         info.target_s.c_str(), info.local_s.c_str(),
                         modes_to_string(info.server_modes).c_str(), n, n == 1 ? "" : "s",
                         info.octets, padding_for_payload(info.octets), ts_name(o_.timestamp),
                         o_.dscp);
        } else {
            std::fprintf(out_, "twamp-ping %s (%s) from %s: %zu octets, %s timestamps, dscp %u",
                         info.target_s.c_str(), mode_name(o_.mode), info.local_s.c_str(),
                         info.octets, ts_name(o_.timestamp), o_.dscp);
        }
        if (o_.mode == mode::stamp) {
            std::fprintf(out_, ", ssid %u", o_.ssid);
        }
        if (o_.paced) {
            std::fprintf(out_, ", %.6g packets/s\n", 1.0 / o_.interval_s);
        } else {
            std::fprintf(out_, ", every %.6g s\n", o_.interval_s);
        }
        if (o_.mode == mode::twamp) {
            for (std::size_t i = 0; i < n; ++i) {
                const session_info& s = info.sessions[i];
                std::fprintf(out_, "session %zu: %s -> %s", i + 1, s.src_s.c_str(),
                             s.dst_s.c_str());
                if (s.requested_port != 0 && s.requested_port != s.receiver_port) {
                    std::fprintf(out_, " (port %u requested)", s.requested_port);
                }
                std::fprintf(out_, ", sid %s\n", control::sid_to_string(s.sid).c_str());
            }
        }
        std::fflush(out_);
    }

    void reply(const reply_event& e) override {
        const sample& s = e.s;
        const twamp::sender::reply& r = e.r;
        clear_progress();
        std::fprintf(out_, "%zu octets from %s: seq=%u rseq=%u ttl=%u rtt=%s ms res=%s ms",
                     e.octets, peer(e.session).c_str(), s.sender_seq, s.reflector_seq, r.sender_ttl,
                     ms(statistics::round_trip(s)).c_str(), ms(s.t3 - s.t2).c_str());
        if (info_.clock_synchronized && r.error.synchronized) {
            std::fprintf(out_, " fwd=%s ms bwd=%s ms", ms(s.t2 - s.t1).c_str(),
                         ms(s.t4 - s.t3).c_str());
        }
        if (r.tlvs_unrecognized || r.tlvs_malformed) {
            std::fprintf(out_, " tlv:%s%s", r.tlvs_unrecognized ? " U" : "",
                         r.tlvs_malformed ? " M" : "");
        }
        std::fprintf(out_, "%s\n", e.duplicate ? " (DUP!)" : "");
    }

    void late(const late_event& e) override {
        std::fprintf(out_, "%zu octets from %s: seq=%u late (after -W %.6g s), ignored\n", e.octets,
                     peer(e.session).c_str(), e.seq, o_.timeout_s);
    }

    void lost(const lost_event& e) override {
        clear_progress();
        std::fprintf(out_, "no reply for seq=%u", e.seq);
        if (o_.mode == mode::twamp) {
            std::fprintf(out_, " to %s", peer(e.session).c_str());
        }
        std::fprintf(out_, " within %.6g s\n", o_.timeout_s);
    }

    void invalid(const invalid_event& e) override {
        std::fprintf(out_, "%zu octets from %s: invalid reply: %.*s\n", e.octets,
                     peer(e.session).c_str(), static_cast<int>(e.why.size()), e.why.data());
    }

    void finish(const run_result& res) override {
        const summary& s = res.total;
        auto loss_split = [](const summary& x) {
            if (x.lost_forward && x.lost_backward) {
                return " (forward " + std::to_string(*x.lost_forward) + ", backward " +
                       std::to_string(*x.lost_backward) + ")";
            }
            if (x.lost) {
                return std::string(
                        x.received ? " (direction unknown: the reflector's sequence numbers "
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
        std::fprintf(out_, "\n--- %s %s statistics ---\n", info_.target_s.c_str(),
                     mode_name(o_.mode));
        if (res.sessions.size() > 1) {
            for (std::size_t i = 0; i < res.sessions.size(); ++i) {
                const summary& p = res.sessions[i];
                std::fprintf(out_, "session %zu %s: %lu sent, %lu received, %s loss%s", i + 1,
                             peer(i).c_str(), p.sent, p.received, pct(p.loss_pct).c_str(),
                             loss_split(p).c_str());
                if (p.rtt.n) {
                    std::fprintf(out_, ", rtt min/avg/max = %s/%s/%s ms", ms(p.rtt.min).c_str(),
                                 ms(p.rtt.avg).c_str(), ms(p.rtt.max).c_str());
                }
                std::fprintf(out_, "\n");
            }
            std::fprintf(out_, "total: ");
        }
        std::fprintf(
                out_,
                "%lu sent, %lu received, %s loss%s, %lu duplicates, %lu reordered, time %.0f ms\n",
                s.sent, s.received, pct(s.loss_pct).c_str(), loss_split(s).c_str(), s.duplicates,
                s.reordered, static_cast<double>(res.duration_ns) / 1e6);
        if (s.late || res.invalid || res.send_errors || res.tlv_flagged) {
            std::fprintf(
                    out_,
                    "%lu late (counted as lost), %lu invalid replies ignored, %lu send errors, "
                    "%lu replies with TLVs flagged U or M\n",
                    s.late, res.invalid, res.send_errors, res.tlv_flagged);
        }
        if (s.rtt.n) {
            std::fprintf(out_,
                         "round-trip min/avg/max/stddev = %s/%s/%s/%s ms, p50 %s ms, p99 %s ms\n",
                         ms(s.rtt.min).c_str(), ms(s.rtt.avg).c_str(), ms(s.rtt.max).c_str(),
                         ms(s.rtt.stddev).c_str(), ms(s.rtt.p50).c_str(), ms(s.rtt.p99).c_str());
            std::fprintf(out_, "reflector residence (T3-T2) min/avg/max = %s/%s/%s ms\n",
                         ms(s.residence.min).c_str(), ms(s.residence.avg).c_str(),
                         ms(s.residence.max).c_str());
            std::fprintf(out_, "forward (T2-T1) min/avg/max = %s/%s/%s ms, jitter %s ms\n",
                         ms(s.forward.min).c_str(), ms(s.forward.avg).c_str(),
                         ms(s.forward.max).c_str(), ms(s.jitter_forward).c_str());
            std::fprintf(out_, "backward (T4-T3) min/avg/max = %s/%s/%s ms, jitter %s ms\n",
                         ms(s.backward.min).c_str(), ms(s.backward.avg).c_str(),
                         ms(s.backward.max).c_str(), ms(s.jitter_backward).c_str());
            if (!s.clocks_synchronized) {
                std::fprintf(out_,
                             "(clocks not both synchronized (Error Estimate S bits): forward and "
                             "backward include the clock offset; jitter and round trip do "
                             "not)\n");
            }
        }
        std::fflush(out_);
    }

private:
    void clear_progress() {
        if (progress_ != nullptr) {
            progress_->clear();
        }
    }
    const std::string& peer(std::size_t session) const { return info_.sessions[session].dst_s; }

    const options& o_;
    std::FILE* out_;
    progress_line* progress_;
    run_info info_;
};

// --json: one object per line. Keys, their order and the numbers' precision are what users
// and tests/integration parse: change none of them.
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

class json_reporter final : public reporter {
public:
    json_reporter(const options& o, std::FILE* out) : o_(o), out_(out) {}

    void start(const run_info& info) override {
        info_ = info;
        if (o_.mode != mode::twamp) {
            return;
        }
        for (std::size_t i = 0; i < info.sessions.size(); ++i) {
            const session_info& s = info.sessions[i];
            std::fprintf(out_,
                         "{\"type\":\"session\",\"session\":%zu,\"sid\":\"%s\",\"sender\":%s,"
                         "\"receiver\":%s,\"requested_port\":%u}\n",
                         i + 1, control::sid_to_string(s.sid).c_str(), json_string(s.src_s).c_str(),
                         json_string(s.dst_s).c_str(), s.requested_port);
        }
        std::fflush(out_);
    }

    void reply(const reply_event& e) override {
        const sample& s = e.s;
        const twamp::sender::reply& r = e.r;
        std::fprintf(out_,
                     "{\"type\":\"reply\"%s,\"seq\":%u,\"reflector_seq\":%u,\"octets\":%zu,"
                     "\"sender_ttl\":%u,\"t1_ns\":%ld,\"t2_ns\":%ld,\"t3_ns\":%ld,\"t4_ns\":%ld,"
                     "\"rtt_ns\":%ld,\"residence_ns\":%ld,\"forward_ns\":%ld,\"backward_ns\":%ld,"
                     "\"timestamp\":\"%s\",\"reflector_synchronized\":%s,"
                     "\"reflector_error_ns\":%lu,\"duplicate\":%s}\n",
                     session_field(e.session).c_str(), s.sender_seq, s.reflector_seq, e.octets,
                     r.sender_ttl, s.t1, s.t2, s.t3, s.t4, statistics::round_trip(s), s.t3 - s.t2,
                     s.t2 - s.t1, s.t4 - s.t3, r.error.ptp ? "ptp" : "ntp",
                     r.error.synchronized ? "true" : "false", r.error.error_ns(),
                     e.duplicate ? "true" : "false");
    }

    void late(const late_event& e) override {
        std::fprintf(out_, "{\"type\":\"late\"%s,\"seq\":%u,\"rtt_ns\":%ld}\n",
                     session_field(e.session).c_str(), e.seq, e.rtt_ns);
    }

    void lost(const lost_event& e) override {
        std::fprintf(out_, "{\"type\":\"lost\"%s,\"seq\":%u}\n", session_field(e.session).c_str(),
                     e.seq);
    }

    void invalid(const invalid_event& e) override {
        std::fprintf(out_, "{\"type\":\"invalid\"%s,\"reason\":%s,\"octets\":%zu}\n",
                     session_field(e.session).c_str(), json_string(e.why).c_str(), e.octets);
    }

    void finish(const run_result& res) override {
        const summary& s = res.total;
        const char* mode_json = o_.mode == mode::stamp   ? "stamp"
                                : o_.mode == mode::twamp ? "twamp"
                                                         : "light";
        std::string sessions;
        if (o_.mode == mode::twamp) {
            sessions = ",\"sessions\":[";
            for (std::size_t i = 0; i < res.sessions.size(); ++i) {
                const session_info& f = info_.sessions[i];
                const summary& p = res.sessions[i];
                char b[512];
                std::snprintf(b, sizeof b,
                              "%s{\"session\":%zu,\"sid\":\"%s\",\"sender_port\":%u,"
                              "\"receiver_port\":%u,\"sent\":%lu,\"received\":%lu,\"lost\":%lu,"
                              "\"loss_pct\":%.3f,\"lost_forward\":%s,\"lost_backward\":%s,"
                              "\"duplicates\":%lu,\"reordered\":%lu,\"late\":%lu,\"invalid\":%lu,"
                              "\"rtt_ns\":",
                              i ? "," : "", i + 1, control::sid_to_string(f.sid).c_str(),
                              f.sender_port, f.receiver_port, p.sent, p.received, p.lost,
                              p.loss_pct, json_opt(p.lost_forward).c_str(),
                              json_opt(p.lost_backward).c_str(), p.duplicates, p.reordered, p.late,
                              res.session_invalid[i]);
                sessions += b + json_distribution(p.rtt) + "}";
            }
            sessions += "]";
            sessions += std::string(",\"control_ok\":") + (res.control_failed ? "false" : "true");
        }
        std::fprintf(out_,
                     "{\"type\":\"summary\",\"host\":%s,\"port\":%u,\"mode\":\"%s\","
                     "\"octets\":%zu,\"sent\":%lu,\"received\":%lu,\"lost\":%lu,"
                     "\"loss_pct\":%.3f,\"lost_forward\":%s,\"lost_backward\":%s,"
                     "\"duplicates\":%lu,\"reordered\":%lu,\"late\":%lu,\"invalid\":%lu,"
                     "\"send_errors\":%lu,\"rtt_ns\":%s,\"residence_ns\":%s,\"forward_ns\":%s,"
                     "\"backward_ns\":%s,\"jitter_forward_ns\":%.1f,\"jitter_backward_ns\":%.1f,"
                     "\"clocks_synchronized\":%s,\"duration_ns\":%ld%s}\n",
                     json_string(o_.host).c_str(), o_.port, mode_json, info_.octets, s.sent,
                     s.received, s.lost, s.loss_pct, json_opt(s.lost_forward).c_str(),
                     json_opt(s.lost_backward).c_str(), s.duplicates, s.reordered, s.late,
                     res.invalid, res.send_errors, json_distribution(s.rtt).c_str(),
                     json_distribution(s.residence).c_str(), json_distribution(s.forward).c_str(),
                     json_distribution(s.backward).c_str(), s.jitter_forward, s.jitter_backward,
                     s.clocks_synchronized ? "true" : "false", res.duration_ns, sessions.c_str());
        std::fflush(out_);
    }

private:
    // ,"session":N (1-based) in --mode twamp, where a run can have several.
    std::string session_field(std::size_t session) const {
        if (o_.mode != mode::twamp) {
            return {};
        }
        return ",\"session\":" + std::to_string(session + 1);
    }

    const options& o_;
    std::FILE* out_;
    run_info info_;
};

} // namespace

std::unique_ptr<reporter> make_reporter(const options& o, std::FILE* out, progress_line* progress) {
    if (o.json) {
        return std::make_unique<json_reporter>(o, out);
    }
    return std::make_unique<text_reporter>(o, out, progress);
}

} // namespace twamp::sender
