// twamp-ping's text and JSON output (see report.hpp).
#include "twamp/sender/report.hpp"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include <nlohmann/json.hpp>

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

// A TLV type in the summaries: the reflector's metric label, "type_N" for the others.
std::string tally_name(std::size_t type) {
    const char* n = tlv_type_name(static_cast<uint8_t>(type));
    return std::string(n) == "other" ? "type_" + std::to_string(type) : std::string(n);
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

int64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

class text_reporter final : public reporter {
public:
    text_reporter(const options& o, std::FILE* out, progress_line* progress, unix_clock now)
        : o_(o), out_(out), progress_(progress), now_(now != nullptr ? now : realtime_ns) {}

    void start(const run_info& info) override {
        info_ = info;
        const std::size_t n = info.sessions.size();
        if (o_.mode == mode::twamp) {
            std::fprintf(out_,
                         "twamp-ping %s (TWAMP) from %s: modes %s, %zu session%s, %zu octets "
                         "(padding %u), %s timestamps, dscp %u",
                         info.target_s.c_str(), info.local_s.c_str(),
                         modes_to_string(info.server_modes).c_str(), n, n == 1 ? "" : "s",
                         info.octets, padding_for_payload(info.octets, o_.auth_layout()),
                         ts_name(o_.timestamp), o_.dscp);
            if (o_.auth != security::open) {
                std::fprintf(out_, ", %s mode (key %s)", security_name(o_.auth), o_.key_id.c_str());
            }
        } else {
            std::fprintf(out_, "twamp-ping %s (%s) from %s: %zu octets, %s timestamps, dscp %u",
                         info.target_s.c_str(), mode_name(o_.mode), info.local_s.c_str(),
                         info.octets, ts_name(o_.timestamp), o_.dscp);
        }
        if (o_.mode == mode::stamp) {
            std::fprintf(out_, ", ssid %u", o_.ssid);
            if (o_.needs_key()) {
                std::fprintf(out_, ", %s%s (key %s)",
                             o_.auth == security::authenticated ? "authenticated" : "",
                             o_.hmac_tlv ? (o_.auth == security::authenticated ? " + HMAC TLV"
                                                                               : "HMAC TLV")
                                         : "",
                             o_.key_id.c_str());
            }
        }
        if (o_.poisson) {
            std::fprintf(out_, ", Poisson: %.6g packets/s on average (mean gap %.6g s, seed %lu)",
                         1.0 / o_.interval_s, o_.interval_s, info.seed);
        } else if (o_.paced) {
            std::fprintf(out_, ", %.6g packets/s", 1.0 / o_.interval_s);
        } else {
            std::fprintf(out_, ", every %.6g s", o_.interval_s);
        }
        if (o_.deadline_s > 0) {
            std::fprintf(out_, ", deadline %.6g s", o_.deadline_s);
        }
        std::fputc('\n', out_);
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
        stamp();
        std::fprintf(out_, "%zu octets from %s: seq=%u rseq=%u ttl=%u rtt=%s ms res=%s ms",
                     e.octets, peer(e.session).c_str(), s.sender_seq, s.reflector_seq, r.sender_ttl,
                     ms(statistics::round_trip(s)).c_str(), ms(s.t3 - s.t2).c_str());
        if (info_.clock_synchronized && r.error.synchronized) {
            std::fprintf(out_, " fwd=%s ms bwd=%s ms", ms(s.t2 - s.t1).c_str(),
                         ms(s.t4 - s.t3).c_str());
        }
        if (!o_.tlvs.empty() && !e.tlv_area.empty()) {
            const auto tlvs = decode_tlvs(e.tlv_area);
            std::fprintf(out_, " tlv %s",
                         tlvs_text(tlvs,
                                   r.error.ptp ? proto::ts_format::ptp : proto::ts_format::ntp,
                                   info_.tai_utc_offset_s)
                                 .c_str());
        } else if (r.tlvs_unrecognized || r.tlvs_malformed) {
            std::fprintf(out_, " tlv:%s%s", r.tlvs_unrecognized ? " U" : "",
                         r.tlvs_malformed ? " M" : "");
        }
        std::fprintf(out_, "%s\n", e.duplicate ? " (DUP!)" : "");
    }

    void late(const late_event& e) override {
        clear_progress();
        stamp();
        std::fprintf(out_, "%zu octets from %s: seq=%u late (after -W %.6g s), ignored\n", e.octets,
                     peer(e.session).c_str(), e.seq, o_.timeout_s);
    }

    void lost(const lost_event& e) override {
        clear_progress();
        stamp();
        if (e.not_requested) {
            std::fprintf(out_, "no reply for seq=%u (none requested: return-path=no-reply)\n",
                         e.seq);
            return;
        }
        std::fprintf(out_, "no reply for seq=%u", e.seq);
        if (o_.mode == mode::twamp) {
            std::fprintf(out_, " to %s", peer(e.session).c_str());
        }
        if (e.at_deadline) {
            std::fprintf(out_, " by the -w deadline (%.6g s), counted as lost\n", o_.deadline_s);
            return;
        }
        std::fprintf(out_, " within %.6g s\n", o_.timeout_s);
    }

    void invalid(const invalid_event& e) override {
        clear_progress();
        stamp();
        std::fprintf(out_, "%zu octets from %s: invalid reply: %.*s\n", e.octets,
                     peer(e.session).c_str(), static_cast<int>(e.why.size()), e.why.data());
    }

    void integrity(const invalid_event& e) override {
        clear_progress();
        stamp();
        std::fprintf(out_, "%zu octets from %s: integrity failure: %.*s, ignored\n", e.octets,
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
        if (res.deadline_reached && o_.no_reply) {
            std::fprintf(out_,
                         "-w deadline %.6g s reached: replies not requested "
                         "(return-path=no-reply), none counted as lost\n",
                         o_.deadline_s);
        } else if (res.deadline_reached) {
            std::fprintf(out_,
                         "-w deadline %.6g s reached: %lu replies still awaited, counted as "
                         "lost\n",
                         o_.deadline_s, res.deadline_lost);
        }
        if (o_.no_reply) {
            std::fprintf(out_, "%lu not requested (return-path=no-reply), not counted as lost\n",
                         s.not_requested);
        }
        if (!o_.tlvs.empty() && !res.tlvs.empty()) {
            std::string line;
            for (std::size_t t = 0; t < res.tlvs.by_type.size(); ++t) {
                const tlv_counts& c = res.tlvs.by_type[t];
                if (c.seen == 0) {
                    continue;
                }
                char b[160];
                std::snprintf(b, sizeof b, "%s%s %lu (U %lu, M %lu, I %lu)",
                              line.empty() ? "" : ", ", tally_name(t).c_str(), c.seen, c.u, c.m,
                              c.i);
                line += b;
            }
            std::fprintf(out_, "tlvs returned: %s\n", line.c_str());
        }
        if (o_.needs_key()) {
            std::fprintf(out_,
                         "%lu integrity failures (replies whose HMAC did not verify, not "
                         "used)\n",
                         res.integrity_failures);
        }
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
            std::fprintf(out_, "round-trip p90 %s ms, p95 %s ms, p99.9 %s ms (%s)\n",
                         ms(s.rtt.p90).c_str(), ms(s.rtt.p95).c_str(), ms(s.rtt.p999).c_str(),
                         s.rtt.exact ? "exact" : "histogram: within 1% or 1 us");
            pdv_line("round-trip", s.rtt);
            pdv_line("forward", s.forward);
            pdv_line("backward", s.backward);
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

    void periodic(const run_result& res) override {
        const summary& s = res.total;
        clear_progress();
        stamp();
        std::fprintf(out_, "[%.1f s] %lu sent, %lu received, %lu lost",
                     static_cast<double>(res.duration_ns) / 1e9, s.sent, s.received, s.lost);
        if (s.lost_forward && s.lost_backward) {
            std::fprintf(out_, " (forward %lu, backward %lu)", *s.lost_forward, *s.lost_backward);
        }
        std::fprintf(out_, ", %lu outstanding", s.outstanding);
        if (s.sent > s.outstanding) {
            std::fprintf(out_, ", %.3g%% loss", s.loss_pct);
        }
        if (s.rtt.n) {
            std::fprintf(out_, ", rtt min/avg/max/p99 = %s/%s/%s/%s ms, pdv p99 %s ms",
                         ms(s.rtt.min).c_str(), ms(s.rtt.avg).c_str(), ms(s.rtt.max).c_str(),
                         ms(s.rtt.p99).c_str(), ms(s.rtt.pdv_p99).c_str());
        }
        std::fputc('\n', out_);
        std::fflush(out_);
    }

private:
    void clear_progress() {
        if (progress_ != nullptr) {
            progress_->clear();
        }
    }
    // -D: ping's "[SECONDS.MICROSECONDS] " before a per-packet line.
    void stamp() {
        if (!o_.print_timestamps) {
            return;
        }
        const int64_t t = now_();
        std::fprintf(out_, "[%ld.%06ld] ", static_cast<long>(t / 1'000'000'000),
                     static_cast<long>(t % 1'000'000'000 / 1000));
    }
    // RFC 5481 PDV (value - min) and IPDV of one figure.
    void pdv_line(const char* what, const distribution& d) {
        std::fprintf(out_, "%s pdv p50/p90/p99/p99.9/max = %s/%s/%s/%s/%s ms", what,
                     ms(d.pdv_p50).c_str(), ms(d.pdv_p90).c_str(), ms(d.pdv_p99).c_str(),
                     ms(d.pdv_p999).c_str(), ms(d.pdv_max).c_str());
        if (d.ipdv_n) {
            std::fprintf(out_, ", ipdv mean/max %s/%s ms", ms(d.ipdv_mean).c_str(),
                         ms(d.ipdv_max).c_str());
        }
        std::fputc('\n', out_);
    }
    const std::string& peer(std::size_t session) const { return info_.sessions[session].dst_s; }

    const options& o_;
    std::FILE* out_;
    progress_line* progress_;
    unix_clock now_;
    run_info info_;
};

// --json: one object per line, written by nlohmann::json. Keys, their order (ordered_json) and
// the numbers' precision are what users and tests/integration parse: change none of them.
using json = nlohmann::ordered_json;

// A figure printed with `decimals` decimals before the JSON library wrote them: the double
// nearest that decimal text, which the library writes in its shortest form ("33.333", "0.0"),
// so that a parser reads the same number as from "%.3f".
double rounded(double v, int decimals) {
    char b[400]; // "%.3f" of the largest double: 309 digits and the decimals
    std::snprintf(b, sizeof b, "%.*f", decimals, v);
    return std::strtod(b, nullptr);
}

json distribution_json(const distribution& d) {
    if (d.n == 0) {
        return nullptr;
    }
    return json{{"min", d.min},   {"avg", rounded(d.avg, 1)},
                {"max", d.max},   {"stddev", rounded(d.stddev, 1)},
                {"p50", d.p50},   {"p90", d.p90},
                {"p95", d.p95},   {"p99", d.p99},
                {"p99_9", d.p999}};
}

// RFC 5481 PDV of a figure: percentiles of value - min, and the max; null without values.
json pdv_json(const distribution& d) {
    if (d.n == 0) {
        return nullptr;
    }
    return json{{"p50", d.pdv_p50}, {"p90", d.pdv_p90},    {"p95", d.pdv_p95},
                {"p99", d.pdv_p99}, {"p99_9", d.pdv_p999}, {"max", d.pdv_max}};
}

// IPDV: mean and max of |difference| of consecutive replies; null with fewer than two.
json ipdv_json(const distribution& d) {
    if (d.ipdv_n == 0) {
        return nullptr;
    }
    return json{{"mean", rounded(d.ipdv_mean, 1)}, {"max", d.ipdv_max}};
}

void flags_json(json& j, uint8_t flags) {
    j["u"] = (flags & 0x80) != 0;
    j["m"] = (flags & 0x40) != 0;
    j["i"] = (flags & 0x20) != 0;
}

json sub_json(uint8_t parent, const decoded_sub& s) {
    json j;
    j["type"] = s.type;
    j["name"] = sub_tlv_name(parent, s.type);
    flags_json(j, s.flags);
    j["length"] = s.length;
    if (s.truncated) {
        j["truncated"] = true;
    }
    if (s.mac_len) {
        j["mac"] = mac_string(std::span(s.mac.data(), s.mac_len));
    }
    if (s.addr_len) {
        j["address"] = address_string(std::span(s.addr.data(), s.addr_len));
    }
    if (s.has_code) {
        j["control_code"] = s.code;
        j["reply_requested"] = (s.code & 1) != 0;
    }
    return j;
}

// One reply's TLVs, decoded (tlv.hpp decode_tlvs), field by field.
json tlvs_json(const std::vector<decoded_tlv>& tlvs, proto::ts_format fmt, int32_t tai) {
    json a = json::array();
    for (const decoded_tlv& t : tlvs) {
        json j;
        j["type"] = t.type;
        j["name"] = tlv_type_name(t.type);
        flags_json(j, t.flags);
        j["length"] = t.length;
        if (t.truncated) {
            j["truncated"] = true;
        }
        if (!t.valid || t.truncated) {
            j["value"] = hex_string(t.value);
            a.push_back(std::move(j));
            continue;
        }
        auto subs = [&] {
            json s = json::array();
            for (const decoded_sub& x : t.subs) {
                s.push_back(sub_json(t.type, x));
            }
            return s;
        };
        switch (t.type) {
        case 2: // Location
            j["dst_port"] = t.dst_port;
            j["src_port"] = t.src_port;
            j["sub_tlvs"] = subs();
            break;
        case 3: // Timestamp Information
            j["sync_src_in"] = t.sync_src_in;
            j["timestamp_in"] = t.ts_in;
            j["sync_src_out"] = t.sync_src_out;
            j["timestamp_out"] = t.ts_out;
            j["sub_tlvs"] = subs();
            break;
        case 4: // Class of Service
            j["dscp1"] = t.dscp1;
            j["dscp2"] = t.dscp2;
            j["ecn"] = t.ecn;
            j["rp"] = t.rp;
            break;
        case 5: // Direct Measurement
            j["s_txc"] = t.s_txc;
            j["r_rxc"] = t.r_rxc;
            j["r_txc"] = t.r_txc;
            break;
        case 6: // Access Report
            j["access_id"] = t.access_id;
            j["return_code"] = t.return_code;
            break;
        case 7: // Follow-Up Telemetry
            j["sequence"] = t.fu_seq;
            j["timestamp_ns"] = t.fu_ts ? proto::decode_timestamp(fmt, t.fu_ts, tai) : 0;
            j["timestamp_mode"] = t.fu_mode;
            break;
        case 9: // Destination Node Address
            j["address"] = address_string(std::span(t.addr.data(), t.addr_len));
            break;
        case 10: // Return Path
            j["sub_tlvs"] = subs();
            break;
        case 1:
            break;
        default:
            j["value"] = hex_string(t.value);
            break;
        }
        a.push_back(std::move(j));
    }
    return a;
}

json optional_json(const std::optional<uint64_t>& v) {
    return v ? json(*v) : json(nullptr);
}

// The counts a summary and each session of it share, in their order.
void add_counts(json& j, const summary& s, uint64_t invalid) {
    j["sent"] = s.sent;
    j["received"] = s.received;
    j["lost"] = s.lost;
    j["loss_pct"] = s.sent > s.outstanding ? json(rounded(s.loss_pct, 3)) : json(nullptr);
    j["lost_forward"] = optional_json(s.lost_forward);
    j["lost_backward"] = optional_json(s.lost_backward);
    j["duplicates"] = s.duplicates;
    j["reordered"] = s.reordered;
    j["late"] = s.late;
    j["invalid"] = invalid;
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
            json j;
            j["type"] = "session";
            j["session"] = i + 1;
            j["sid"] = control::sid_to_string(s.sid);
            j["sender"] = s.src_s;
            j["receiver"] = s.dst_s;
            j["requested_port"] = s.requested_port;
            write(j);
        }
        std::fflush(out_);
    }

    void reply(const reply_event& e) override {
        const sample& s = e.s;
        // One object for every reply line: after the first one only the values change, no key
        // is allocated again (a run at --rate 100000 writes as many lines a second).
        json& j = reply_;
        start_event(j, "reply", e.session);
        j["seq"] = s.sender_seq;
        j["reflector_seq"] = s.reflector_seq;
        j["octets"] = e.octets;
        j["sender_ttl"] = e.r.sender_ttl;
        j["t1_ns"] = s.t1;
        j["t2_ns"] = s.t2;
        j["t3_ns"] = s.t3;
        j["t4_ns"] = s.t4;
        j["rtt_ns"] = statistics::round_trip(s);
        j["residence_ns"] = s.t3 - s.t2;
        j["forward_ns"] = s.t2 - s.t1;
        j["backward_ns"] = s.t4 - s.t3;
        j["timestamp"] = e.r.error.ptp ? "ptp" : "ntp";
        j["reflector_synchronized"] = e.r.error.synchronized;
        j["reflector_error_ns"] = e.r.error.error_ns();
        j["duplicate"] = e.duplicate;
        if (!o_.tlvs.empty()) {
            j["tlvs"] = tlvs_json(decode_tlvs(e.tlv_area),
                                  e.r.error.ptp ? proto::ts_format::ptp : proto::ts_format::ntp,
                                  info_.tai_utc_offset_s);
        }
        write(j);
    }

    void late(const late_event& e) override {
        json j = event("late", e.session);
        j["seq"] = e.seq;
        j["rtt_ns"] = e.rtt_ns;
        write(j);
    }

    void lost(const lost_event& e) override {
        json j = event(e.not_requested ? "not_requested" : "lost", e.session);
        j["seq"] = e.seq;
        if (e.at_deadline) {
            j["at_deadline"] = true;
        }
        write(j);
    }

    void invalid(const invalid_event& e) override {
        json j = event("invalid", e.session);
        j["reason"] = e.why;
        j["octets"] = e.octets;
        write(j);
    }

    void integrity(const invalid_event& e) override {
        json j = event("integrity_failure", e.session);
        j["reason"] = e.why;
        j["octets"] = e.octets;
        write(j);
    }

    void finish(const run_result& res) override { write_summary(res, false); }

    void periodic(const run_result& res) override { write_summary(res, true); }

private:
    // The summary object, or (periodic) one of --summary-every's: the same keys, type
    // "periodic", and "outstanding" after "sent".
    void write_summary(const run_result& res, bool periodic) {
        const summary& s = res.total;
        json j;
        j["type"] = periodic ? "periodic" : "summary";
        j["host"] = o_.host;
        j["port"] = o_.port;
        j["mode"] = o_.mode == mode::stamp ? "stamp" : o_.mode == mode::twamp ? "twamp" : "light";
        j["octets"] = info_.octets;
        add_counts(j, s, res.invalid);
        if (periodic) {
            j["outstanding"] = s.outstanding;
        }
        j["send_errors"] = res.send_errors;
        if (o_.needs_key()) {
            j["auth"] = security_name(o_.auth);
            j["integrity_failures"] = res.integrity_failures;
        }
        j["rtt_ns"] = distribution_json(s.rtt);
        j["residence_ns"] = distribution_json(s.residence);
        j["forward_ns"] = distribution_json(s.forward);
        j["backward_ns"] = distribution_json(s.backward);
        // RFC 3550 jitter needs two replies: null before.
        const bool pairs = s.rtt.n > 1;
        j["jitter_forward_ns"] = pairs ? json(rounded(s.jitter_forward, 1)) : json(nullptr);
        j["jitter_backward_ns"] = pairs ? json(rounded(s.jitter_backward, 1)) : json(nullptr);
        j["clocks_synchronized"] = s.clocks_synchronized;
        j["duration_ns"] = res.duration_ns;
        j["percentiles_exact"] = s.rtt.n == 0 || s.rtt.exact;
        j["pdv_ns"] = json{{"rtt", pdv_json(s.rtt)},
                           {"forward", pdv_json(s.forward)},
                           {"backward", pdv_json(s.backward)}};
        j["ipdv_ns"] = json{{"rtt", ipdv_json(s.rtt)},
                            {"forward", ipdv_json(s.forward)},
                            {"backward", ipdv_json(s.backward)}};
        if (o_.deadline_s > 0 && !periodic) {
            j["deadline_reached"] = res.deadline_reached;
            j["deadline_lost"] = res.deadline_lost;
        }
        if (o_.poisson) {
            j["poisson_seed"] = std::to_string(info_.seed); // a string: JSON readers lose 2^53+
        }
        if (o_.no_reply) {
            j["not_requested"] = s.not_requested;
        }
        if (!o_.tlvs.empty()) {
            json t = json::object();
            for (std::size_t k = 0; k < res.tlvs.by_type.size(); ++k) {
                const tlv_counts& c = res.tlvs.by_type[k];
                if (c.seen != 0) {
                    t[tally_name(k)] =
                            json{{"type", k}, {"seen", c.seen}, {"u", c.u}, {"m", c.m}, {"i", c.i}};
                }
            }
            j["tlvs"] = std::move(t);
        }
        if (o_.mode == mode::twamp) {
            json sessions = json::array();
            for (std::size_t i = 0; i < res.sessions.size(); ++i) {
                const session_info& f = info_.sessions[i];
                json p;
                p["session"] = i + 1;
                p["sid"] = control::sid_to_string(f.sid);
                p["sender_port"] = f.sender_port;
                p["receiver_port"] = f.receiver_port;
                add_counts(p, res.sessions[i], res.session_invalid[i]);
                if (o_.needs_key() && i < res.session_integrity.size()) {
                    p["integrity_failures"] = res.session_integrity[i];
                }
                p["rtt_ns"] = distribution_json(res.sessions[i].rtt);
                sessions.push_back(std::move(p));
            }
            j["sessions"] = std::move(sessions);
            j["control_ok"] = !res.control_failed;
        }
        write(j);
        std::fflush(out_);
    }

    // {"type":TYPE} and in --mode twamp, where a run can have several sessions, "session":N
    // (1-based).
    json event(const char* type, std::size_t session) const {
        json j;
        start_event(j, type, session);
        return j;
    }

    void start_event(json& j, const char* type, std::size_t session) const {
        j["type"] = type;
        if (o_.mode == mode::twamp) {
            j["session"] = session + 1;
        }
    }

    // One line. Text that is not UTF-8 (a host name as given) becomes U+FFFD, not an exception.
    void write(const json& j) {
        std::string line = j.dump(-1, ' ', false, json::error_handler_t::replace);
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), out_);
    }

    const options& o_;
    std::FILE* out_;
    run_info info_;
    json reply_;
};

} // namespace

std::unique_ptr<reporter> make_reporter(const options& o, std::FILE* out, progress_line* progress,
                                        unix_clock now) {
    if (o.json) {
        return std::make_unique<json_reporter>(o, out);
    }
    return std::make_unique<text_reporter>(o, out, progress, now);
}

} // namespace twamp::sender
