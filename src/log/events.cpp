#include "twamp/log/events.hpp"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

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

line_writer::line_writer(int fd) : fd_(fd) {
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        return;
    }
    if (S_ISSOCK(st.st_mode)) {
        socket_ = true;
    } else if (S_ISREG(st.st_mode)) {
        regular_ = true;
    } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        // A new open file description of the same pipe or terminal, non-blocking: fd's own
        // flags are shared with whoever else holds it (the parent's shell) and stay blocking.
        const std::string path = "/proc/self/fd/" + std::to_string(fd);
        own_fd_ = open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    }
}

line_writer::~line_writer() {
    if (own_fd_ >= 0) {
        ::close(own_fd_);
    }
}

uint64_t line_writer::dropped() const noexcept {
    std::lock_guard<std::mutex> g(mu_);
    return dropped_;
}

uint64_t line_writer::written() const noexcept {
    std::lock_guard<std::mutex> g(mu_);
    return written_;
}

// As much of `s` as the descriptor takes now, never waiting.
std::size_t line_writer::put(std::string_view s) {
    std::size_t done = 0;
    while (done < s.size()) {
        ssize_t n;
        if (socket_) {
            n = ::send(fd_, s.data() + done, s.size() - done, MSG_DONTWAIT | MSG_NOSIGNAL);
        } else if (own_fd_ >= 0 || regular_) {
            n = ::write(own_fd_ >= 0 ? own_fd_ : fd_, s.data() + done, s.size() - done);
        } else {
            pollfd p{fd_, POLLOUT, 0};
            if (::poll(&p, 1, 0) != 1 || (p.revents & POLLOUT) == 0) {
                break;
            }
            // POLLOUT: a pipe has a free page; at most that much so the write cannot wait.
            n = ::write(fd_, s.data() + done, std::min<std::size_t>(s.size() - done, 4096));
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    return done;
}

bool line_writer::flush_pending() {
    if (pending_.empty()) {
        return true;
    }
    const std::size_t n = put(pending_);
    pending_.erase(0, n);
    return pending_.empty();
}

bool line_writer::write(std::string_view line) {
    std::lock_guard<std::mutex> g(mu_);
    if (!flush_pending()) {
        ++dropped_;
        ++unsaid_;
        return false;
    }
    if (unsaid_ > 0) {
        const std::string said = std::string(identifier) +
                                 ": warning: log.dropped lines=" + std::to_string(unsaid_) + ": " +
                                 std::to_string(unsaid_) +
                                 " log lines dropped (the log was not being read)\n";
        const std::size_t n = put(said);
        if (n == 0) {
            ++dropped_;
            ++unsaid_;
            return false;
        }
        ++written_;
        unsaid_ = 0;
        if (n < said.size()) {
            pending_.assign(said, n);
            ++dropped_; // this line: the rest of the notice waits for the next
            ++unsaid_;
            return false;
        }
    }
    const std::size_t n = put(line);
    if (n == 0) {
        ++dropped_;
        ++unsaid_;
        return false;
    }
    ++written_;
    if (n < line.size()) {
        pending_.assign(line.substr(n)); // bounded: one line
    }
    return true;
}

line_writer& stderr_writer() {
    static line_writer w(2);
    return w;
}

void stream_sink::write(const event& e) {
    w_->write(format_line(e) + "\n");
}

std::string journal_datagram(const std::vector<std::string>& fields) {
    std::string out;
    for (const auto& f : fields) {
        const auto eq = f.find('=');
        if (eq == std::string::npos) {
            continue;
        }
        if (f.find('\n', eq) == std::string::npos) {
            out += f;
            out += '\n';
            continue;
        }
        // KEY\n, the value's length as 64-bit little endian, the value, \n.
        out.append(f, 0, eq);
        out += '\n';
        uint64_t len = f.size() - eq - 1;
        for (int i = 0; i < 8; ++i) {
            out += static_cast<char>(len & 0xff);
            len >>= 8;
        }
        out.append(f, eq + 1);
        out += '\n';
    }
    return out;
}

journal_sink::journal_sink(const char* socket_path, line_writer& fallback)
    : socket_path_(socket_path), fallback_(fallback) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

journal_sink::~journal_sink() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

void journal_sink::write(const event& e) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (fd_ >= 0 && socket_path_.size() < sizeof sa.sun_path) {
        std::memcpy(sa.sun_path, socket_path_.data(), socket_path_.size());
        const std::string d = journal_datagram(journal_fields(e));
        const auto len =
                static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path_.size() + 1);
        ssize_t n;
        do {
            n = ::sendto(fd_, d.data(), d.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                         reinterpret_cast<const sockaddr*>(&sa), len);
        } while (n < 0 && errno == EINTR);
        if (n == static_cast<ssize_t>(d.size())) {
            return;
        }
    }
    ++fallbacks_;
    fallback_.write(e);
}

sink_kind default_sink_kind() noexcept {
    return stderr_is_journal() ? sink_kind::journal : sink_kind::stderr_line;
}

std::unique_ptr<sink> make_sink(sink_kind k) {
    if (k == sink_kind::journal) {
        return std::make_unique<journal_sink>();
    }
    return std::make_unique<stream_sink>();
}

std::string rte_level_prefix(int rte_level) {
    if (rte_level < 1 || rte_level > 8) {
        return "";
    }
    return "<" + std::to_string(rte_level - 1) + ">";
}

namespace {

struct rte_cookie {
    line_writer* w;
    bool prefix;
    int (*level)();
};

ssize_t rte_stream_write(void* c, const char* buf, size_t size) {
    auto* k = static_cast<rte_cookie*>(c);
    const std::string pre = k->prefix && k->level ? rte_level_prefix(k->level()) : "";
    std::string_view rest(buf, size);
    while (!rest.empty()) {
        const auto nl = rest.find('\n');
        const std::string_view line = nl == std::string_view::npos ? rest : rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        std::string out = pre;
        out.append(line);
        out += '\n';
        k->w->write(out);
    }
    return static_cast<ssize_t>(size); // taken (or dropped and counted): stdio never retries
}

} // namespace

std::FILE* open_rte_stream(line_writer& w, bool journal_prefix, int (*rte_level)()) {
    auto* k = new rte_cookie{&w, journal_prefix, rte_level}; // lives for the process
    cookie_io_functions_t io{};
    io.write = rte_stream_write;
    std::FILE* f = fopencookie(k, "w", io);
    if (f == nullptr) {
        delete k;
        return nullptr;
    }
    // rte_vlog formats into the buffer and flushes: one message a write.
    std::setvbuf(f, nullptr, _IOFBF, 4096);
    return f;
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

bool rate_limiter::admit(const std::string& kind, uint64_t now_ns, level lvl,
                         std::string_view reason, std::string_view peer) {
    auto it = buckets_.find(kind);
    if (it == buckets_.end()) {
        if (buckets_.size() >= max_kinds) {
            return true;
        }
        bucket fresh;
        fresh.tokens = burst_;
        fresh.last_ns = now_ns;
        it = buckets_.emplace(kind, std::move(fresh)).first;
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
    auto r = b.reasons.find(reason);
    if (r != b.reasons.end()) {
        ++r->second;
    } else if (b.reasons.size() < max_reasons) {
        b.reasons.emplace(std::string(reason), 1);
    } else {
        ++b.reasons["other"];
    }
    if (!peer.empty()) {
        b.last_peer.assign(peer);
    }
    b.last_drop_ns = now_ns;
    return false;
}

std::vector<rate_limiter::report> rate_limiter::drain(uint64_t now_ns, bool all) {
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
        if (quiet || due || all) {
            report r{kind, b.suppressed, b.lvl, {b.reasons.begin(), b.reasons.end()}, b.last_peer};
            std::stable_sort(r.by_reason.begin(), r.by_reason.end(),
                             [](const auto& x, const auto& y) { return x.second > y.second; });
            out.push_back(std::move(r));
            pending_ -= b.suppressed;
            b.suppressed = 0;
            b.reasons.clear();
            b.last_peer.clear();
        }
    }
    return out;
}

logger::logger(std::unique_ptr<sink> s, clock_fn clock, double rate, double burst)
    : sink_(std::move(s)), clock_(clock ? std::move(clock) : clock_fn(monotonic_ns)),
      limiter_(rate, burst) {}

void logger::emit(event e) {
    if (!limiter_.admit(e.kind, clock_(), e.lvl, e.get("reason"), e.peer)) {
        ++suppressed_total_;
        return;
    }
    sink_->write(e);
}

void logger::tick() {
    say_suppressed(false);
}

void logger::flush() {
    say_suppressed(true);
}

void logger::say_suppressed(bool all) {
    if (limiter_.pending() == 0) {
        return;
    }
    for (const auto& r : limiter_.drain(clock_(), all)) {
        event s;
        s.lvl = r.lvl;
        s.kind = "log.suppressed";
        s.message = std::to_string(r.suppressed) + " " + r.kind + " event" +
                    (r.suppressed == 1 ? "" : "s") + " suppressed (rate limit)";
        std::string reasons;
        for (const auto& [reason, n] : r.by_reason) {
            if (reason.empty()) {
                continue;
            }
            reasons += (reasons.empty() ? "" : ",") + reason + ":" + std::to_string(n);
        }
        s.with("kind", r.kind).with("suppressed", r.suppressed);
        if (!reasons.empty()) {
            s.with("reasons", reasons);
        }
        if (!r.last_peer.empty()) {
            s.with("last_peer", r.last_peer);
        }
        sink_->write(s);
    }
}

std::vector<std::string> missing_tsc_flags(std::string_view cpuinfo) {
    // The first "flags\t: ..." line (every CPU has the same).
    std::size_t pos = 0;
    while (pos < cpuinfo.size()) {
        std::size_t end = cpuinfo.find('\n', pos);
        if (end == std::string_view::npos) {
            end = cpuinfo.size();
        }
        const std::string_view line = cpuinfo.substr(pos, end - pos);
        pos = end + 1;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) {
            continue;
        }
        std::string_view key = line.substr(0, colon);
        while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) {
            key.remove_suffix(1);
        }
        if (key != "flags") {
            continue;
        }
        std::string padded = " " + std::string(line.substr(colon + 1)) + " ";
        for (char& c : padded) {
            c = c == '\t' ? ' ' : c;
        }
        std::vector<std::string> missing;
        for (const char* flag : {"constant_tsc", "nonstop_tsc"}) {
            if (padded.find(" " + std::string(flag) + " ") == std::string::npos) {
                missing.emplace_back(flag);
            }
        }
        return missing;
    }
    return {};
}

std::vector<event> tsc_events(std::string_view cpuinfo) {
    const std::vector<std::string> missing = missing_tsc_flags(cpuinfo);
    if (missing.empty()) {
        return {};
    }
    std::string list;
    for (const auto& m : missing) {
        list += (list.empty() ? "" : ",") + m;
    }
    event e;
    e.lvl = level::warning;
    e.kind = "clock.tsc_unreliable";
    e.message = "the CPU lacks " + list +
                ": its TSC may change rate or stop, timestamps may be wrong (a CPU with both, "
                "or deep C-states and frequency scaling off)";
    e.with("missing", list);
    return {e};
}

std::string peer_string(const std::string& address, uint16_t port) {
    if (address.find(':') != std::string::npos) {
        return "[" + address + "]:" + std::to_string(port);
    }
    return address + ":" + std::to_string(port);
}

} // namespace twamp::log
