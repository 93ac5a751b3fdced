// Events an operator acts on (issue 19): TWAMP-Control connections accepted, refused and
// closed, sessions started, stopped and timed out, clock synchronization, link up/down, reload
// outcomes and limits reached. Each has a level (syslog priorities 3..6), a stable kind id
// ("control.refused"), the peer where there is one, a one-line message and key=value fields.
//
// No DPDK: the slow path (app/loop.cpp) and the TWAMP-Control server (which runs on it, through
// control_env::events) emit them; the workers never do. Sinks: journald (its native protocol
// on a non-blocking datagram socket) when stderr is the journal's stream (JOURNAL_STREAM, the
// systemd convention), one structured line on stderr otherwise (and whenever journald refuses
// one), never blocking (line_writer): a log nobody reads cannot stop the slow path. A logger
// rate-limits each kind with a token bucket (a flood of refusals cannot flood the log) and says how
// many it suppressed.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace twamp::log {

// syslog(3) priorities: LOG_ERR .. LOG_INFO.
enum class level : uint8_t { err = 3, warning = 4, notice = 5, info = 6 };
const char* name_of(level l) noexcept; // "err", "warning", "notice", "info"

struct field {
    std::string key; // [a-z0-9_], e.g. "accept", "reason", "sid"
    std::string value;
};

struct event {
    level lvl = level::info;
    std::string kind;    // stable id, e.g. "control.refused", "link.down", "reload"
    std::string peer;    // "198.18.0.1:40000", "[2001:2::1]:40000", "" where there is none
    std::string message; // one line for people
    std::vector<field> fields;

    event& with(std::string key, std::string value) {
        fields.push_back({std::move(key), std::move(value)});
        return *this;
    }
    event& with(std::string key, uint64_t value) {
        return with(std::move(key), std::to_string(value));
    }
    // The value of `key`, or "" (tests).
    std::string get(std::string_view key) const;
};

// "dpdk-twamp: warning: control.refused peer=198.18.0.1:40000 accept=5 reason=... : message":
// the identifier, the level (always), the kind, peer= when there is one, the fields, then the
// message after ": ". Values with a space, '"', '=' or nothing are quoted ("..." with \" and \\);
// control characters (a peer's or a file's) become '?', so an event is always one line.
std::string format_line(const event& e);

// The journald fields of `e` ("KEY=value" each): MESSAGE, PRIORITY, SYSLOG_IDENTIFIER=dpdk-twamp,
// TWAMP_EVENT=kind, TWAMP_PEER=peer (if any), TWAMP_<KEY>=value per field (upper-cased; a key
// with characters journald refuses has them replaced by '_').
std::vector<std::string> journal_fields(const event& e);

// JOURNAL_STREAM is "<device>:<inode>" of the stream systemd connected stderr/stdout to: stderr
// goes to the journal when it names stderr's own (fstat(2)) device and inode.
bool journal_stream_matches(const char* journal_stream, dev_t dev, ino_t ino) noexcept;
bool stderr_is_journal() noexcept; // getenv("JOURNAL_STREAM") against fstat(2, ...)

class sink {
public:
    virtual ~sink() = default;
    virtual void write(const event& e) = 0;
};

// Whole lines to a file descriptor (stderr) without ever blocking the caller: a peer's flood
// of refusals must not stop the slow path when nobody reads its log (a full pipe, a stalled
// journal). A socket (the journal's stream) is written with send(MSG_DONTWAIT); a pipe, FIFO or
// terminal through its own non-blocking open file description (/proc/self/fd/N, so fd 2's
// flags, shared with the parent, stay as they are), else after poll(POLLOUT, 0); a file as is.
// A line the descriptor cannot take now is dropped and counted; the next line that goes out is
// preceded by one "log.dropped" line saying how many. Thread-safe (DPDK's log lines come from
// any thread).
class line_writer {
public:
    explicit line_writer(int fd);
    ~line_writer();
    line_writer(const line_writer&) = delete;
    line_writer& operator=(const line_writer&) = delete;
    // `line` should end in '\n'. True if it went out whole (or its rest is queued, a stream
    // socket's partial send); false if dropped.
    bool write(std::string_view line);
    uint64_t dropped() const noexcept; // lines dropped in all
    uint64_t written() const noexcept; // lines written in all (log.dropped lines included)

private:
    std::size_t put(std::string_view s);
    bool flush_pending();
    int fd_;
    int own_fd_ = -1; // the non-blocking reopened descriptor, or -1
    bool socket_ = false, regular_ = false;
    std::string pending_; // the rest of a line a stream socket took in part
    uint64_t dropped_ = 0, unsaid_ = 0, written_ = 0;
    mutable std::mutex mu_;
};

// The process' stderr writer (fd 2), shared by the events and DPDK's log stream.
line_writer& stderr_writer();

// One line per event through a line_writer (stderr's by default): never blocks.
class stream_sink final : public sink {
public:
    explicit stream_sink(line_writer& w = stderr_writer()) : w_(&w) {}
    void write(const event& e) override;

private:
    line_writer* w_;
};

// journald's native protocol (KEY=value lines, a binary length where a value has a newline)
// in one datagram on a non-blocking socket of its own to the journal's socket; a line through
// the stream sink (non-blocking too) if that fails: no socket, or a journal too busy to take it
// now (EAGAIN), or an entry too big for a datagram.
class journal_sink final : public sink {
public:
    explicit journal_sink(const char* socket_path = "/run/systemd/journal/socket",
                          line_writer& fallback = stderr_writer());
    ~journal_sink() override;
    journal_sink(const journal_sink&) = delete;
    journal_sink& operator=(const journal_sink&) = delete;
    void write(const event& e) override;
    uint64_t fallbacks() const noexcept { return fallbacks_; }

private:
    std::string socket_path_;
    int fd_ = -1;
    stream_sink fallback_;
    uint64_t fallbacks_ = 0;
};

// journald's native protocol for `fields` ("KEY=value" each), one datagram's payload.
std::string journal_datagram(const std::vector<std::string>& fields);

// A stdio stream for DPDK's log (rte_openlog_stream): every line it is given goes through
// `w` (non-blocking, never syslog(3)); with `journal_prefix` each line is prefixed "<N>", the
// syslog priority of the message's rte_log level (`rte_level()`: RTE_LOG_EMERG 1 ..
// RTE_LOG_DEBUG 8 is <0> .. <7>), which journald reads from a stream. No DPDK here: the caller
// passes rte_log_cur_msg_loglevel. Lives for the process.
std::FILE* open_rte_stream(line_writer& w, bool journal_prefix, int (*rte_level)());
// The "<N>" prefix for an rte_log level (1..8); "" for another value.
std::string rte_level_prefix(int rte_level);

// Keeps every event (tests).
class memory_sink final : public sink {
public:
    void write(const event& e) override { events.push_back(e); }
    std::vector<event> events;
};

enum class sink_kind { stderr_line, journal };
// journal when stderr is the journal's stream (stderr_is_journal).
sink_kind default_sink_kind() noexcept;
std::unique_ptr<sink> make_sink(sink_kind k);

// A token bucket per kind: `rate` events a second, at most `burst` at once. Clock in ns (any
// monotonic origin). What it drops is counted per kind and said once the flood is over: no drop
// of the kind for `quiet_ns` (1 s), or at the latest `report_ns` (10 s) after the first drop not
// yet said (a flood that never ends is still counted in the log).
class rate_limiter {
public:
    rate_limiter(double rate = 10.0, double burst = 20.0) : rate_(rate), burst_(burst) {}
    // `reason` (the event's reason= field, "" for none) and `peer`: what a drop is counted
    // under and the last peer dropped, so the report says what was hidden and from whom.
    bool admit(const std::string& kind, uint64_t now_ns, level lvl = level::info,
               std::string_view reason = {}, std::string_view peer = {});
    struct report {
        std::string kind;
        uint64_t suppressed = 0;
        level lvl = level::info; // the most severe of those dropped
        // Dropped per reason ("" for events without one), most first; at most max_reasons
        // reasons, the rest counted under "other".
        std::vector<std::pair<std::string, uint64_t>> by_reason;
        std::string last_peer; // of the last dropped with a peer
    };
    // The counts due now (see above), each taken once; `all`: every count, due or not (the
    // last one, at exit).
    std::vector<report> drain(uint64_t now_ns, bool all = false);
    uint64_t pending() const noexcept { return pending_; } // dropped, not yet drained
    std::size_t kinds() const noexcept { return buckets_.size(); }

    static constexpr uint64_t quiet_ns = 1'000'000'000ULL;
    static constexpr uint64_t report_ns = 10'000'000'000ULL;
    // Kinds tracked at most (a new kind beyond it, which cannot happen with the fixed ids,
    // passes unlimited rather than growing the map).
    static constexpr std::size_t max_kinds = 256;
    static constexpr std::size_t max_reasons = 16; // per kind

private:
    struct bucket {
        double tokens = 0;
        uint64_t last_ns = 0;
        uint64_t suppressed = 0;
        uint64_t first_drop_ns = 0, last_drop_ns = 0;
        level lvl = level::info;
        std::map<std::string, uint64_t, std::less<>> reasons; // dropped per reason
        std::string last_peer;
    };
    void refill(bucket& b, uint64_t now_ns) const;
    double rate_, burst_;
    uint64_t pending_ = 0;
    std::map<std::string, bucket> buckets_;
};

// The slow path's event logger: rate limit, then the sink. Not thread-safe (slow path only).
class logger {
public:
    using clock_fn = std::function<uint64_t()>;
    // clock null: CLOCK_MONOTONIC.
    explicit logger(std::unique_ptr<sink> s, clock_fn clock = nullptr, double rate = 10.0,
                    double burst = 20.0);
    // Rate-limited by kind (what is dropped is counted).
    void emit(event e);
    // A "log.suppressed" event (level: the most severe dropped; kind=..., suppressed=N,
    // reasons=REASON:N,... (most first), last_peer= the last dropped one's peer) for each kind
    // whose flood is over (rate_limiter::drain). Every slow path round; cheap when nothing was
    // dropped.
    void tick();
    // tick() for every kind with drops, over or not: once at exit (after the box stopped, whose
    // own events may have been limited), so no count is lost.
    void flush();
    uint64_t suppressed_total() const noexcept { return suppressed_total_; }
    sink& out() noexcept { return *sink_; }

private:
    void say_suppressed(bool all);
    std::unique_ptr<sink> sink_;
    clock_fn clock_;
    rate_limiter limiter_;
    uint64_t suppressed_total_ = 0;
};

// The TSC flags an x86 CPU lacks for a TSC that maps to real time (/proc/cpuinfo's "flags"
// line): constant_tsc (fixed rate across frequency changes) and nonstop_tsc (runs in deep C
// states). Empty when both are there, or when the text has no "flags" line (not x86).
std::vector<std::string> missing_tsc_flags(std::string_view cpuinfo);
// A clock.tsc_unreliable warning naming them (EAL says this only at its warning level, which
// the quiet start-up hides), or nothing when the TSC is reliable.
std::vector<event> tsc_events(std::string_view cpuinfo);

// "198.18.0.1:40000", "[2001:2::1]:40000" from an address's text and a port.
std::string peer_string(const std::string& address, uint16_t port);

} // namespace twamp::log
