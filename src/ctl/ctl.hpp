// dpdk-twamp-ctl (issue 19): the operator's view of a running dpdk-twamp through DPDK
// telemetry's v2 socket, without linking DPDK. This header is the program's DPDK-free core:
// options, the socket's path, the telemetry client, the paging loops over /twamp/session_list
// and /twamp/control_list, the reload handshake, and the text and JSON output.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace twamp::ctl {

using json = nlohmann::json;

// Exit statuses.
inline constexpr int exit_ok = 0;
inline constexpr int exit_rejected = 1; // reload: the box rejected or refused the file
inline constexpr int exit_failed = 2;   // no box under that prefix, a timeout, a bad answer
inline constexpr int exit_usage = 64;   // the command line (EX_USAGE)

// A failure with the exit status it ends the program with.
struct error : std::runtime_error {
    error(int exit_status, const std::string& what)
        : std::runtime_error(what), status(exit_status) {}
    int status;
};

struct options {
    std::string file_prefix = "rte"; // EAL --file-prefix of the box (EAL's default: rte)
    bool json = false;
    bool help = false;
    bool version = false;
    std::string command; // status, sessions, control, clock, reload
    // sessions
    std::string reflector;
    std::string source; // ADDR or ADDR/LEN
    uint32_t port = 0;  // 0: any
    int32_t ssid = -1;  // -1: any
    uint64_t limit = 0; // 0: all
    // reload
    double timeout_s = 30;
};

extern const char* const usage_text;

// Parses argv (getopt_long); throws error{exit_usage} on a bad command line.
options parse_options(int argc, char** argv);

// DPDK 22.11's runtime directory for a file prefix (EAL eal_create_runtime_dir): as root
// /var/run/dpdk/<prefix>, otherwise $XDG_RUNTIME_DIR/dpdk/<prefix> or /tmp/dpdk/<prefix>.
std::string runtime_dir(const std::string& prefix, bool root, const char* xdg_runtime_dir);
// The telemetry v2 socket in it.
std::string socket_path(const std::string& prefix, bool root, const char* xdg_runtime_dir);

// One request ("/cmd" or "/cmd,params") -> the value the box answered under the command's key.
// Throws error{exit_failed} when there is no answer or the box answered null (an error).
class telemetry {
public:
    virtual ~telemetry() = default;
    virtual json call(const std::string& request) = 0;
};

// DPDK telemetry's v2 socket (SOCK_SEQPACKET): an info object on connect (version, pid,
// max_output_len), then one JSON reply per request.
class socket_telemetry final : public telemetry {
public:
    // Throws error{exit_failed} naming the path when nothing listens there; `prefix` only for
    // the message.
    socket_telemetry(const std::string& path, const std::string& prefix);
    ~socket_telemetry() override;
    socket_telemetry(const socket_telemetry&) = delete;
    socket_telemetry& operator=(const socket_telemetry&) = delete;
    json call(const std::string& request) override;
    const json& info() const noexcept { return info_; }
    // The process at the other end (SO_PEERCRED: the box that listens, its pid as the kernel
    // translates it into this process' PID namespace); 0 when the kernel did not say.
    long peer_pid() const noexcept { return peer_pid_; }

private:
    int fd_ = -1;
    long peer_pid_ = 0;
    std::string path_;
    std::size_t max_len_ = 16384;
    json info_;
};

// A process pinned by a pidfd (pidfd_open): a signal through it reaches that process or none,
// never another that reused its pid.
class pinned_process {
public:
    // Throws error{exit_failed} when the process is gone or cannot be pinned.
    explicit pinned_process(long pid);
    ~pinned_process();
    pinned_process(const pinned_process&) = delete;
    pinned_process& operator=(const pinned_process&) = delete;
    long pid() const noexcept { return pid_; }
    // Its pid in its own PID namespace (what its getpid() says: the last NSpid of the pidfd's
    // /proc/self/fdinfo entry); -1 when the kernel does not say.
    long own_pid() const;
    // 0 or an errno (ESRCH: it has exited).
    int signal(int sig) const;

private:
    int fd_ = -1;
    long pid_ = 0;
};

// Decodes one reply document for `request`: {"<cmd>": value}. Throws error{exit_failed}.
json decode_reply(const std::string& request, const std::string& text);

// The session filter as /twamp/session_list parameters ("reflector=...,source=..."); throws
// error{exit_usage} for values the parameter syntax cannot carry.
std::string session_params(const options& o);

// Every session the filter selects (up to o.limit), paging through /twamp/session_list:
// {"sessions": [...], "complete": bool, "pages": n}. Each session's keys as the box sends them
// plus "worker". Throws error{exit_failed} on a page that is malformed, truncated (fewer
// entries than its count) or does not advance, or past max_pages.
json list_sessions(telemetry& t, const options& o, uint64_t max_pages = 10'000'000);

// Every TWAMP-Control connection and session, paging through /twamp/control_list:
// {"connections": [...], "test_sessions": [...]}.
json list_control(telemetry& t, uint64_t max_pages = 1'000'000);

// /twamp/status, /twamp/reflectors and /twamp/clock as one document: {version, pid,
// start_unix_ns, uptime_s, config: {path, source}, last_reload: {result, seq, unix_ns, line, ok,
// failed, refused, started}, workers, sessions_active, ports: [...], reflectors: [...], clock:
// {...}}.
json status(telemetry& t);
// /twamp/clock: {synchronized, error_ns, tai_utc_offset_s, ports: [{name, timestamp_source,
// t3_method, clock_error_ns, clock_steps}]}.
json clock(telemetry& t);

// reload: `pin()` first (the real one pins the process at the other end of the socket), then
// reads pid and reloads_started from /twamp/status (the box answering after the pin proves the
// pinned pid is still the box's), signals the box (`signal_box(pid)` with the pid the box
// reported: 0 or an errno, or it throws), polls /twamp/status until reload_seq passes that
// reloads_started (the outcome of a reload started after the signal, not of one already under way:
// see app::runtime::reloads_started) or `timeout_s` passes
// (`sleep_ms` between polls, `now_ms` a monotonic clock). Returns {result, seq, unix_ns, line,
// pid}; throws error{exit_failed} on a timeout or a failed signal.
json reload(telemetry& t, double timeout_s, const std::function<int(long)>& signal_box,
            const std::function<void(unsigned)>& sleep_ms, const std::function<uint64_t()>& now_ms,
            const std::function<void()>& pin = {});
// The real `pin` and `signal_box` of reload over `t`: pins t.peer_pid(); signals it with
// SIGHUP through the pidfd once its own pid matches the one the box reported (throws
// error{exit_failed} when it does not: not the box that answered).
struct box_signaller {
    explicit box_signaller(const socket_telemetry& t) : t_(t) {}
    void pin();
    int signal(long reported_pid);

private:
    const socket_telemetry& t_;
    std::unique_ptr<pinned_process> p_;
};
// The exit status for a reload's result: applied, unchanged 0; rejected, refused 1.
int reload_status(const json& r);

// Text for people: aligned tables.
std::string format_status(const json& s);
std::string format_sessions(const json& l);
std::string format_control(const json& c);
std::string format_clock(const json& c);
std::string format_reload(const json& r);

// Columns padded to their widest cell, two spaces apart; numbers right-aligned.
std::string table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows);

// "198.18.0.2:862", "[2001:2::2]:862".
std::string endpoint(const std::string& ip, uint64_t port);
// A duration in s or ms, short: "45s", "3m12s", "2h05m", "3d04h".
std::string duration_s(uint64_t s);

// The whole program (main): options, the socket, the command, output. Returns the exit status;
// writes to `out` and `err`.
int run(int argc, char** argv, std::string& out, std::string& err);

} // namespace twamp::ctl
