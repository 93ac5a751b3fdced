#include "twamp/log/events.hpp"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifdef TWAMP_HAVE_LIBSYSTEMD
#include <systemd/sd-journal.h>
#endif

namespace twamp::log {

namespace {

constexpr const char* identifier = "dpdk-twamp";

// One line: control characters (a peer's or a file's) become '?'.
void append_clean(std::string& out, std::string_view s) {
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? '?' : c;
    }
}

bool needs_quotes(std::string_view v) {
    if (v.empty()) {
        return true;
    }
    for (char c : v) {
        if (c == ' ' || c == '"' || c == '=' || c == '\\') {
            return true;
        }
    }
    return false;
}

void append_value(std::string& out, std::string_view v) {
    if (!needs_quotes(v)) {
        append_clean(out, v);
        return;
    }
    out += '"';
    for (char c : v) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        append_clean(out, std::string_view(&c, 1));
    }
    out += '"';
}

std::string journal_key(std::string_view key) {
    std::string k = "TWAMP_";
    for (char c : key) {
        if (c >= 'a' && c <= 'z') {
            k += static_cast<char>(c - 'a' + 'A');
        } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            k += c;
        } else {
            k += '_';
        }
    }
    return k.substr(0, 64); // journald's limit on a field name
}

uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000ULL + uint64_t(ts.tv_nsec);
}

} // namespace

const char* name_of(level l) noexcept {
    switch (l) {
    case level::err:
        return "err";
    case level::warning:
        return "warning";
    case level::notice:
        return "notice";
    case level::info:
        return "info";
    }
    return "info";
}

std::string event::get(std::string_view key) const {
    for (const auto& f : fields) {
        if (f.key == key) {
            return f.value;
        }
    }
    return "";
}

std::string format_line(const event& e) {
    std::string out = identifier;
    out += ": ";
    out += name_of(e.lvl);
    out += ": ";
    append_clean(out, e.kind);
    if (!e.peer.empty()) {
        out += " peer=";
        append_value(out, e.peer);
    }
    for (const auto& f : e.fields) {
        out += ' ';
        append_clean(out, f.key);
        out += '=';
        append_value(out, f.value);
    }
    if (!e.message.empty()) {
        out += ": ";
        append_clean(out, e.message);
    }
    return out;
}

std::vector<std::string> journal_fields(const event& e) {
    std::vector<std::string> v;
    std::string msg;
    append_clean(msg, e.message.empty() ? e.kind : e.message);
    v.push_back("MESSAGE=" + msg);
    v.push_back("PRIORITY=" + std::to_string(static_cast<int>(e.lvl)));
    v.push_back(std::string("SYSLOG_IDENTIFIER=") + identifier);
    v.push_back("TWAMP_EVENT=" + e.kind);
    if (!e.peer.empty()) {
        v.push_back("TWAMP_PEER=" + e.peer);
    }
    for (const auto& f : e.fields) {
        std::string val;
        append_clean(val, f.value);
        v.push_back(journal_key(f.key) + "=" + val);
    }
    return v;
}

bool journal_stream_matches(const char* journal_stream, dev_t dev, ino_t ino) noexcept {
    if (journal_stream == nullptr || *journal_stream == '\0') {
        return false;
    }
    char* end = nullptr;
    errno = 0;
    const unsigned long long d = std::strtoull(journal_stream, &end, 10);
    if (errno != 0 || end == journal_stream || *end != ':') {
        return false;
    }
    const char* i_start = end + 1;
    const unsigned long long i = std::strtoull(i_start, &end, 10);
    if (errno != 0 || end == i_start || *end != '\0') {
        return false;
    }
    return d == static_cast<unsigned long long>(dev) && i == static_cast<unsigned long long>(ino);
}

bool stderr_is_journal() noexcept {
    struct stat st {};
    if (fstat(2, &st) != 0) {
        return false;
    }
    return journal_stream_matches(std::getenv("JOURNAL_STREAM"), st.st_dev, st.st_ino);
}

void stream_sink::write(const event& e) {
    const std::string line = format_line(e) + "\n";
    std::fwrite(line.data(), 1, line.size(), f_);
    std::fflush(f_);
}

void journal_sink::write(const event& e) {
#ifdef TWAMP_HAVE_LIBSYSTEMD
    const std::vector<std::string> fields = journal_fields(e);
    std::vector<iovec> iov;
    iov.reserve(fields.size());
    for (const auto& f : fields) {
        iov.push_back({const_cast<char*>(f.data()), f.size()});
    }
    // sd_journal_sendv says 0 (success) when the journal's socket is missing (journald not
    // running): look first, so such an event still goes out on stderr.
    if (access(socket_path_, W_OK) == 0 &&
        sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0) {
        return;
    }
#endif
    ++fallbacks_;
    fallback_.write(e);
}

sink_kind default_sink_kind() noexcept {
#ifdef TWAMP_HAVE_LIBSYSTEMD
    return stderr_is_journal() ? sink_kind::journal : sink_kind::stderr_line;
#else
    return sink_kind::stderr_line;
#endif
}

std::unique_ptr<sink> make_sink(sink_kind k) {
    if (k == sink_kind::journal) {
        return std::make_unique<journal_sink>();
    }
    return std::make_unique<stream_sink>(stderr);
}

void rate_limiter::refill(bucket& b, uint64_t now_ns) const {
    if (now_ns > b.last_ns) {
        b.tokens += static_cast<double>(now_ns - b.last_ns) * 1e-9 * rate_;
        if (b.tokens > burst_) {
            b.tokens = burst_;
        }
    }
    b.last_ns = now_ns;
}

bool rate_limiter::admit(const std::string& kind, uint64_t now_ns, level lvl) {
    auto it = buckets_.find(kind);
    if (it == buckets_.end()) {
        if (buckets_.size() >= max_kinds) {
            return true;
        }
        it = buckets_.emplace(kind, bucket{burst_, now_ns, 0, 0, 0, level::info}).first;
    }
    bucket& b = it->second;
    refill(b, now_ns);
    if (b.tokens >= 1.0) {
        b.tokens -= 1.0;
        return true;
    }
    if (b.suppressed == 0) {
        b.first_drop_ns = now_ns;
        b.lvl = lvl;
    } else if (lvl < b.lvl) {
        b.lvl = lvl; // the most severe of those dropped
    }
    ++b.suppressed;
    ++pending_;
    b.last_drop_ns = now_ns;
    return false;
}

std::vector<rate_limiter::report> rate_limiter::drain(uint64_t now_ns) {
    std::vector<report> out;
    if (pending_ == 0) {
        return out;
    }
    for (auto& [kind, b] : buckets_) {
        if (b.suppressed == 0) {
            continue;
        }
        const bool quiet = now_ns >= b.last_drop_ns + quiet_ns;
        const bool due = now_ns >= b.first_drop_ns + report_ns;
        if (quiet || due) {
            out.push_back({kind, b.suppressed, b.lvl});
            pending_ -= b.suppressed;
            b.suppressed = 0;
        }
    }
    return out;
}

logger::logger(std::unique_ptr<sink> s, clock_fn clock, double rate, double burst)
    : sink_(std::move(s)), clock_(clock ? std::move(clock) : clock_fn(monotonic_ns)),
      limiter_(rate, burst) {}

void logger::emit(event e) {
    if (!limiter_.admit(e.kind, clock_(), e.lvl)) {
        ++suppressed_total_;
        return;
    }
    sink_->write(e);
}

void logger::tick() {
    if (limiter_.pending() == 0) {
        return;
    }
    for (const auto& r : limiter_.drain(clock_())) {
        event s;
        s.lvl = r.lvl;
        s.kind = "log.suppressed";
        s.message = std::to_string(r.suppressed) + " " + r.kind + " event" +
                    (r.suppressed == 1 ? "" : "s") + " suppressed (rate limit)";
        s.with("kind", r.kind).with("suppressed", r.suppressed);
        sink_->write(s);
    }
}

std::string peer_string(const std::string& address, uint16_t port) {
    if (address.find(':') != std::string::npos) {
        return "[" + address + "]:" + std::to_string(port);
    }
    return address + ":" + std::to_string(port);
}

} // namespace twamp::log
