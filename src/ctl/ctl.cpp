#include "ctl.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include <getopt.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef DPDK_TWAMP_VERSION
#define DPDK_TWAMP_VERSION "unknown"
#endif

namespace twamp::ctl {

const char* const usage_text =
        "usage: dpdk-twamp-ctl [-f|--file-prefix PREFIX] [--json] COMMAND [options]\n"
        "\n"
        "Shows a running dpdk-twamp through DPDK telemetry\n"
        "(/var/run/dpdk/PREFIX/dpdk_telemetry.v2 as root).\n"
        "\n"
        "commands:\n"
        "  status     version, uptime, configuration and last reload, ports, reflectors, clock\n"
        "  sessions   every reflector session (5-tuple, SSID, packets, gaps, duplicates,\n"
        "             reorders, last seen); filters:\n"
        "               --reflector NAME   --source ADDR[/LEN]   --port N (sender or\n"
        "               reflector UDP port)   --ssid N   --limit N (at most N sessions)\n"
        "  control    TWAMP-Control connections and their test sessions\n"
        "  clock      clock synchronization, error, timestamp source and T3 method per port\n"
        "  reload     re-read the configuration (SIGHUP) and wait for its outcome;\n"
        "             --timeout SECONDS (default 30); exit 0 applied or unchanged,\n"
        "             1 rejected or refused, 2 no box or no outcome in time\n"
        "\n"
        "options:\n"
        "  -f, --file-prefix PREFIX  the box's EAL --file-prefix (default rte)\n"
        "      --json                JSON for tools instead of tables\n"
        "  -h, --help                this text\n"
        "  -V, --version             the version\n"
        "\n"
        "exit status: 0 done, 1 reload rejected or refused, 2 no box under that prefix,\n"
        "a timeout or a failed request, 64 a bad command line\n";

namespace {

// A decimal number up to `max`, nothing else (no sign, no spaces, no trailing text).
bool parse_uint(const char* s, uint64_t max, uint64_t& v) {
    if (!s) {
        return false;
    }
    const char* end = s + std::strlen(s);
    auto [p, ec] = std::from_chars(s, end, v, 10);
    return ec == std::errc{} && p == end && v <= max;
}

[[noreturn]] void usage_error(const std::string& what) {
    throw error(exit_usage, what);
}

} // namespace

options parse_options(int argc, char** argv) {
    enum { opt_json = 256, opt_reflector, opt_source, opt_port, opt_ssid, opt_limit, opt_timeout };
    static const option longs[] = {
            {"file-prefix", required_argument, nullptr, 'f'},
            {"json", no_argument, nullptr, opt_json},
            {"help", no_argument, nullptr, 'h'},
            {"version", no_argument, nullptr, 'V'},
            {"reflector", required_argument, nullptr, opt_reflector},
            {"source", required_argument, nullptr, opt_source},
            {"port", required_argument, nullptr, opt_port},
            {"ssid", required_argument, nullptr, opt_ssid},
            {"limit", required_argument, nullptr, opt_limit},
            {"timeout", required_argument, nullptr, opt_timeout},
            {nullptr, 0, nullptr, 0},
    };
    options o;
    optind = 0; // a fresh scan (glibc: 0 also resets its internal state)
    opterr = 0;
    std::set<int> given;
    for (;;) {
        const int c = getopt_long(argc, argv, ":f:hV", longs, nullptr);
        if (c == -1) {
            break;
        }
        uint64_t v = 0;
        switch (c) {
        case 'f':
            o.file_prefix = optarg;
            if (o.file_prefix.empty() || o.file_prefix.find('/') != std::string::npos) {
                usage_error("--file-prefix: a name without '/'");
            }
            break;
        case opt_json:
            o.json = true;
            break;
        case 'h':
            o.help = true;
            break;
        case 'V':
            o.version = true;
            break;
        case opt_reflector:
            o.reflector = optarg;
            break;
        case opt_source:
            o.source = optarg;
            break;
        case opt_port:
            if (!parse_uint(optarg, 65535, v) || v == 0) {
                usage_error(std::string("--port: a UDP port 1-65535, not '") + optarg + "'");
            }
            o.port = static_cast<uint32_t>(v);
            break;
        case opt_ssid:
            if (!parse_uint(optarg, 65535, v)) {
                usage_error(std::string("--ssid: 0-65535, not '") + optarg + "'");
            }
            o.ssid = static_cast<int32_t>(v);
            break;
        case opt_limit:
            if (!parse_uint(optarg, UINT64_MAX, v) || v == 0) {
                usage_error(std::string("--limit: a count of at least 1, not '") + optarg + "'");
            }
            o.limit = v;
            break;
        case opt_timeout: {
            char* end = nullptr;
            errno = 0;
            const double t = std::strtod(optarg, &end);
            if (errno || end == optarg || *end || !(t > 0) || t > 86400) {
                usage_error(std::string("--timeout: seconds (0-86400], not '") + optarg + "'");
            }
            o.timeout_s = t;
            break;
        }
        case ':':
            usage_error(std::string("option ") + argv[optind - 1] + " needs a value");
        default:
            usage_error(std::string("unknown option ") +
                        (optind > 0 && optind <= argc ? argv[optind - 1] : "?"));
        }
        given.insert(c);
    }
    // GNU getopt_long permutes: options may follow the command; the operands are left last.
    if (optind < argc) {
        o.command = argv[optind++];
    }
    if (optind < argc) {
        usage_error(std::string("unexpected argument '") + argv[optind] + "'");
    }
    if (o.help || o.version) {
        return o;
    }
    static const std::set<std::string> commands = {"status", "sessions", "control", "clock",
                                                   "reload"};
    if (o.command.empty()) {
        usage_error("no command (status, sessions, control, clock, reload)");
    }
    if (!commands.count(o.command)) {
        usage_error("unknown command '" + o.command + "'");
    }
    const bool filters = given.count(opt_reflector) || given.count(opt_source) ||
                         given.count(opt_port) || given.count(opt_ssid) || given.count(opt_limit);
    if (filters && o.command != "sessions") {
        usage_error("--reflector, --source, --port, --ssid and --limit are for 'sessions'");
    }
    if (given.count(opt_timeout) && o.command != "reload") {
        usage_error("--timeout is for 'reload'");
    }
    return o;
}

std::string runtime_dir(const std::string& prefix, bool root, const char* xdg_runtime_dir) {
    std::string base =
            root ? "/var/run" : (xdg_runtime_dir && *xdg_runtime_dir ? xdg_runtime_dir : "/tmp");
    return base + "/dpdk/" + prefix;
}

std::string socket_path(const std::string& prefix, bool root, const char* xdg_runtime_dir) {
    return runtime_dir(prefix, root, xdg_runtime_dir) + "/dpdk_telemetry.v2";
}

namespace {

// The command part of a request ("/twamp/session_list,cursor=..." -> "/twamp/session_list").
std::string command_of(const std::string& request) {
    return request.substr(0, request.find(','));
}

// A non-negative integer (JSON text parses as unsigned; documents built in code may be signed).
bool is_count(const json& v) {
    return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
}

} // namespace

json decode_reply(const std::string& request, const std::string& text) {
    const std::string cmd = command_of(request);
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        throw error(exit_failed, cmd + ": the box's answer is not a JSON object");
    }
    auto it = doc.find(cmd);
    if (doc.size() != 1 || it == doc.end()) {
        throw error(exit_failed, cmd + ": the box's answer is not keyed by the command");
    }
    if (it->is_null()) {
        throw error(exit_failed,
                    cmd + ": the box answered an error (a command this dpdk-twamp does not have, "
                          "a parameter it refused, or it is stopping)");
    }
    return std::move(*it);
}

socket_telemetry::socket_telemetry(const std::string& path, const std::string& prefix)
    : path_(path) {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (path.size() >= sizeof sun.sun_path) {
        throw error(exit_failed, "socket path too long: " + path);
    }
    std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
    fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        throw error(exit_failed, std::string("socket: ") + std::strerror(errno));
    }
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&sun), sizeof sun) != 0) {
        const int e = errno;
        ::close(fd_);
        fd_ = -1;
        throw error(exit_failed, "no dpdk-twamp running with file prefix '" + prefix +
                                         "': cannot connect to " + path + ": " + std::strerror(e));
    }
    ucred cred{};
    socklen_t cred_len = sizeof cred;
    if (::getsockopt(fd_, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) == 0 && cred.pid > 0) {
        peer_pid_ = cred.pid;
    }
    // Every read is bounded in time: a box that stops answering ends the program.
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::string buf(65536, '\0');
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n <= 0) {
        throw error(exit_failed, "no greeting on " + path);
    }
    info_ = json::parse(buf.substr(0, static_cast<std::size_t>(n)), nullptr, false);
    if (info_.is_object() && info_.contains("max_output_len") &&
        is_count(info_["max_output_len"])) {
        max_len_ =
                std::clamp<std::size_t>(info_["max_output_len"].get<std::size_t>(), 1024, 1u << 24);
    }
}

pinned_process::pinned_process(long pid) : pid_(pid) {
    if (pid <= 0 || pid > 0x7fffffff) {
        throw error(exit_failed, "no process to signal (pid " + std::to_string(pid) + ")");
    }
    fd_ = static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0));
    if (fd_ < 0) {
        throw error(exit_failed, "cannot pin dpdk-twamp's process (pid " + std::to_string(pid) +
                                         "): pidfd_open: " + std::strerror(errno));
    }
}

pinned_process::~pinned_process() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

long pinned_process::own_pid() const {
    FILE* f = std::fopen(("/proc/self/fdinfo/" + std::to_string(fd_)).c_str(), "re");
    if (!f) {
        return -1;
    }
    long last = -1;
    char line[512];
    while (std::fgets(line, sizeof line, f)) {
        if (std::strncmp(line, "NSpid:", 6) != 0) {
            continue;
        }
        // "NSpid:\t<pid here>\t<in the child namespace>...\t<in its own>"; -1: exited.
        char* p = line + 6;
        for (;;) {
            char* end = nullptr;
            errno = 0;
            const long v = std::strtol(p, &end, 10);
            if (end == p || errno) {
                break;
            }
            last = v;
            p = end;
        }
    }
    std::fclose(f);
    return last;
}

int pinned_process::signal(int sig) const {
    return ::syscall(SYS_pidfd_send_signal, fd_, sig, nullptr, 0) == 0 ? 0 : errno;
}

void box_signaller::pin() {
    p_ = std::make_unique<pinned_process>(t_.peer_pid());
}

int box_signaller::signal(long reported_pid) {
    if (!p_) {
        pin();
    }
    // The kernel's pid of the process at the other end, in its own namespace, must be the pid
    // the box reported: otherwise it is not the box that answered (or the kernel cannot say,
    // and then it must be the same number, as in one namespace).
    const long own = p_->own_pid();
    const long expect = own > 0 ? own : p_->pid();
    if (expect != reported_pid) {
        throw error(exit_failed, "the process at the other end of the telemetry socket (pid " +
                                         std::to_string(p_->pid()) + ", " + std::to_string(expect) +
                                         " in its namespace) is not the pid the box reported (" +
                                         std::to_string(reported_pid) + "): not signalled");
    }
    return p_->signal(SIGHUP);
}

socket_telemetry::~socket_telemetry() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

json socket_telemetry::call(const std::string& request) {
    if (request.size() >= 1024) {
        throw error(exit_failed, "request too long for DPDK telemetry: " + command_of(request));
    }
    if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
        throw error(exit_failed, command_of(request) + ": " + path_ + ": " + std::strerror(errno));
    }
    std::string buf(max_len_ + 1, '\0');
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n <= 0) {
        throw error(exit_failed, command_of(request) + ": no answer on " + path_ +
                                         (n < 0 ? std::string(": ") + std::strerror(errno)
                                                : std::string(" (the box went away)")));
    }
    buf.resize(static_cast<std::size_t>(n));
    return decode_reply(request, buf);
}

namespace {

uint64_t u64_of(const json& o, const char* key, const std::string& what) {
    auto it = o.find(key);
    if (it == o.end() || !is_count(*it)) {
        throw error(exit_failed, what + ": no number '" + key + "' in the answer");
    }
    return it->get<uint64_t>();
}

std::string str_of(const json& o, const char* key, const std::string& what) {
    auto it = o.find(key);
    if (it == o.end() || !it->is_string()) {
        throw error(exit_failed, what + ": no string '" + key + "' in the answer");
    }
    return it->get<std::string>();
}

// A value the parameter syntax (key=value,...) can carry.
void check_param(const std::string& name, const std::string& v) {
    if (v.empty() || v.find_first_of(",= \t\r\n") != std::string::npos || v.size() > 200) {
        throw error(exit_usage, "--" + name + ": '" + v + "' cannot be sent (',', '=', spaces)");
    }
}

} // namespace

std::string session_params(const options& o) {
    std::string p;
    auto add = [&p](const std::string& kv) { p += (p.empty() ? "" : ",") + kv; };
    if (!o.reflector.empty()) {
        check_param("reflector", o.reflector);
        add("reflector=" + o.reflector);
    }
    if (!o.source.empty()) {
        check_param("source", o.source);
        add("source=" + o.source);
    }
    if (o.port) {
        add("port=" + std::to_string(o.port));
    }
    if (o.ssid >= 0) {
        add("ssid=" + std::to_string(o.ssid));
    }
    return p;
}

json list_sessions(telemetry& t, const options& o, uint64_t max_pages) {
    const std::string filter = session_params(o);
    json out = json::array();
    std::string cursor;
    bool complete = true;
    uint64_t pages = 0;
    for (;;) {
        if (pages++ >= max_pages) {
            throw error(exit_failed,
                        "/twamp/session_list: more than " + std::to_string(max_pages) + " pages");
        }
        std::string params = filter;
        if (!cursor.empty()) {
            params = "cursor=" + cursor + (params.empty() ? "" : "," + params);
        }
        const std::string req = "/twamp/session_list" + (params.empty() ? "" : "," + params);
        const json page = t.call(req);
        const std::string what = "/twamp/session_list";
        if (!page.is_object()) {
            throw error(exit_failed, what + ": the answer is not an object");
        }
        const uint64_t count = u64_of(page, "count", what);
        const uint64_t worker = u64_of(page, "worker", what);
        const std::string next = str_of(page, "next_cursor", what);
        uint64_t entries = 0;
        for (auto it = page.begin(); it != page.end(); ++it) {
            entries += it.key().size() > 1 && it.key()[0] == 's' && it.value().is_object();
        }
        if (entries != count) {
            throw error(exit_failed, what + ": a page of " + std::to_string(count) +
                                             " sessions came with " + std::to_string(entries) +
                                             " (truncated past the box's max_output_len?)");
        }
        for (uint64_t i = 1; i <= count; ++i) {
            auto it = page.find("s" + std::to_string(i));
            if (it == page.end()) {
                throw error(exit_failed, what + ": session s" + std::to_string(i) + " missing");
            }
            json s = *it;
            s["worker"] = worker;
            out.push_back(std::move(s));
            if (o.limit && out.size() >= o.limit) {
                break;
            }
        }
        if (o.limit && out.size() >= o.limit) {
            complete = next.empty() && out.size() == o.limit &&
                       count == out.size(); // the whole listing fit exactly
            break;
        }
        if (next.empty()) {
            break;
        }
        if (next == cursor) {
            throw error(exit_failed, what + ": the cursor did not advance (" + next + ")");
        }
        cursor = next;
    }
    return json{{"sessions", std::move(out)}, {"complete", complete}, {"pages", pages}};
}

json list_control(telemetry& t, uint64_t max_pages) {
    json conns = json::array(), sessions = json::array();
    std::string cursor;
    const std::string what = "/twamp/control_list";
    for (uint64_t pages = 0;; ++pages) {
        if (pages >= max_pages) {
            throw error(exit_failed, what + ": too many pages");
        }
        const json page = t.call(what + (cursor.empty() ? "" : ",cursor=" + cursor));
        if (!page.is_object()) {
            throw error(exit_failed, what + ": the answer is not an object");
        }
        const uint64_t count = u64_of(page, "count", what);
        const std::string next = str_of(page, "next_cursor", what);
        uint64_t entries = 0;
        for (auto it = page.begin(); it != page.end(); ++it) {
            if (!it.value().is_object()) {
                continue;
            }
            ++entries;
            const std::string kind = str_of(it.value(), "kind", what);
            json e = it.value();
            e.erase("kind");
            (kind == "connection" ? conns : sessions).push_back(std::move(e));
        }
        if (entries != count) {
            throw error(exit_failed, what + ": a page of " + std::to_string(count) +
                                             " entries came with " + std::to_string(entries));
        }
        if (next.empty()) {
            break;
        }
        if (next == cursor) {
            throw error(exit_failed, what + ": the cursor did not advance (" + next + ")");
        }
        cursor = next;
    }
    // A connection listed on one page may close before a later one: entries stay as seen.
    std::sort(conns.begin(), conns.end(), [](const json& a, const json& b) {
        return a.value("id", uint64_t{0}) < b.value("id", uint64_t{0});
    });
    return json{{"connections", std::move(conns)}, {"test_sessions", std::move(sessions)}};
}

namespace {

// The clock document from /twamp/clock's per-port dictionaries.
json clock_from(const json& c) {
    const std::string what = "/twamp/clock";
    json out;
    out["synchronized"] = u64_of(c, "synchronized", what) != 0;
    out["error_ns"] = u64_of(c, "error_ns", what);
    out["tai_utc_offset_s"] = c.value("tai_utc_offset_s", uint64_t{0});
    std::map<std::string, json> ports;
    for (const char* k :
         {"timestamp_source", "t3_method", "port_clock_error_ns", "port_clock_steps"}) {
        auto it = c.find(k);
        if (it == c.end() || !it->is_object()) {
            continue;
        }
        const std::string name = std::string(k) == "port_clock_error_ns" ? "clock_error_ns"
                                 : std::string(k) == "port_clock_steps"  ? "clock_steps"
                                                                         : k;
        for (auto p = it->begin(); p != it->end(); ++p) {
            ports[p.key()][name] = p.value();
        }
    }
    json arr = json::array();
    for (auto& [key, v] : ports) {
        v["port"] = key;
        arr.push_back(std::move(v));
    }
    out["ports"] = std::move(arr);
    return out;
}

} // namespace

json clock(telemetry& t) {
    return clock_from(t.call("/twamp/clock"));
}

json status(telemetry& t) {
    const std::string what = "/twamp/status";
    const json s = t.call(what);
    json out;
    out["version"] = str_of(s, "version", what);
    out["pid"] = u64_of(s, "pid", what);
    out["start_unix_ns"] = u64_of(s, "start_unix_ns", what);
    out["uptime_s"] = u64_of(s, "uptime_s", what);
    out["config"] = {{"path", str_of(s, "config_path", what)},
                     {"source", str_of(s, "config_source", what)}};
    out["last_reload"] = {{"result", str_of(s, "reload_result", what)},
                          {"seq", u64_of(s, "reload_seq", what)},
                          {"unix_ns", u64_of(s, "reload_unix_ns", what)},
                          {"line", str_of(s, "reload_line", what)},
                          {"ok", s.value("reloads_ok", uint64_t{0})},
                          {"failed", s.value("reloads_failed", uint64_t{0})},
                          {"refused", s.value("reloads_refused", uint64_t{0})},
                          {"started", s.value("reloads_started", uint64_t{0})}};
    out["workers"] = u64_of(s, "workers", what);
    out["sessions_active"] = s.value("sessions_active", uint64_t{0});
    const uint64_t n_ports = u64_of(s, "ports", what);
    json ports = json::array();
    for (uint64_t i = 0; i < n_ports && i < 4096; ++i) {
        auto it = s.find("port_" + std::to_string(i));
        if (it == s.end() || !it->is_object()) {
            throw error(exit_failed, what + ": port_" + std::to_string(i) + " missing");
        }
        json p = *it;
        p["index"] = i;
        ports.push_back(std::move(p));
    }
    out["ports"] = std::move(ports);
    const json r = t.call("/twamp/reflectors");
    json refl = json::array();
    if (r.is_object()) {
        for (auto it = r.begin(); it != r.end(); ++it) {
            if (it.value().is_object()) {
                refl.push_back(it.value());
            }
        }
    }
    std::sort(refl.begin(), refl.end(), [](const json& a, const json& b) {
        return a.value("name", std::string()) < b.value("name", std::string());
    });
    out["reflectors"] = std::move(refl);
    out["clock"] = clock_from(t.call("/twamp/clock"));
    return out;
}

json reload(telemetry& t, double timeout_s, const std::function<int(long)>& signal_box,
            const std::function<void(unsigned)>& sleep_ms, const std::function<uint64_t()>& now_ms,
            const std::function<void()>& pin) {
    const std::string what = "/twamp/status";
    if (pin) {
        pin(); // before the status: its answer proves the pinned process is still the box
    }
    const json before = t.call(what);
    const uint64_t pid = u64_of(before, "pid", what);
    // Reloads the box has started so far: one under way now (reading, building, or waiting for
    // the workers) is decided as a seq <= this and is not ours. Ours is the next one started:
    // the one this SIGHUP starts, or a pending SIGHUP's not started yet, which ours merges into
    // and which reads the file after this point; either way an outcome with seq > started.
    const uint64_t started = u64_of(before, "reloads_started", what);
    if (pid == 0 || pid > 0x7fffffff) {
        throw error(exit_failed, what + ": no valid pid");
    }
    if (const int e = signal_box(static_cast<long>(pid)); e != 0) {
        throw error(exit_failed, "cannot signal dpdk-twamp (pid " + std::to_string(pid) +
                                         "): " + std::strerror(e));
    }
    const uint64_t start = now_ms();
    const auto limit = static_cast<uint64_t>(std::ceil(timeout_s * 1000));
    for (;;) {
        const json s = t.call(what);
        if (u64_of(s, "pid", what) != pid) {
            throw error(exit_failed, "dpdk-twamp restarted while reloading");
        }
        if (u64_of(s, "reload_seq", what) > started) {
            return json{{"result", str_of(s, "reload_result", what)},
                        {"seq", u64_of(s, "reload_seq", what)},
                        {"unix_ns", u64_of(s, "reload_unix_ns", what)},
                        {"line", str_of(s, "reload_line", what)},
                        {"pid", pid}};
        }
        if (now_ms() - start >= limit) {
            throw error(exit_failed, "no reload outcome within " + std::to_string(limit) +
                                             " ms (pid " + std::to_string(pid) + ")");
        }
        sleep_ms(50);
    }
}

int reload_status(const json& r) {
    const std::string res = r.value("result", std::string());
    return res == "applied" || res == "unchanged" ? exit_ok : exit_rejected;
}

// ---- text ----

std::string endpoint(const std::string& ip, uint64_t port) {
    return ip.find(':') != std::string::npos ? "[" + ip + "]:" + std::to_string(port)
                                             : ip + ":" + std::to_string(port);
}

std::string duration_s(uint64_t s) {
    char b[48];
    if (s < 60) {
        std::snprintf(b, sizeof b, "%llus", static_cast<unsigned long long>(s));
    } else if (s < 3600) {
        std::snprintf(b, sizeof b, "%llum%02llus", static_cast<unsigned long long>(s / 60),
                      static_cast<unsigned long long>(s % 60));
    } else if (s < 86400) {
        std::snprintf(b, sizeof b, "%lluh%02llum", static_cast<unsigned long long>(s / 3600),
                      static_cast<unsigned long long>(s % 3600 / 60));
    } else {
        std::snprintf(b, sizeof b, "%llud%02lluh", static_cast<unsigned long long>(s / 86400),
                      static_cast<unsigned long long>(s % 86400 / 3600));
    }
    return b;
}

namespace {

bool numeric(const std::string& c) {
    return !c.empty() && c.find_first_not_of("0123456789.") == std::string::npos;
}

std::string text_of(const json& v) {
    if (v.is_string()) {
        return v.get<std::string>();
    }
    if (v.is_null()) {
        return "-";
    }
    if (v.is_boolean()) {
        return v.get<bool>() ? "yes" : "no";
    }
    return v.dump();
}

std::string field(const json& o, const char* k) {
    auto it = o.find(k);
    return it == o.end() ? "-" : text_of(*it);
}

uint64_t num(const json& o, const char* k) {
    auto it = o.find(k);
    return it != o.end() && is_count(*it) ? it->get<uint64_t>() : 0;
}

std::string ms_text(uint64_t ms) {
    if (ms < 1000) {
        return std::to_string(ms) + "ms";
    }
    return duration_s(ms / 1000);
}

std::string utc(uint64_t unix_ns) {
    if (unix_ns == 0) {
        return "-";
    }
    const time_t t = static_cast<time_t>(unix_ns / 1'000'000'000);
    tm g{};
    gmtime_r(&t, &g);
    char b[32];
    std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &g);
    return b;
}

} // namespace

std::string table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> w(header.size());
    for (std::size_t i = 0; i < header.size(); ++i) {
        w[i] = header[i].size();
    }
    for (const auto& r : rows) {
        for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) {
            w[i] = std::max(w[i], r[i].size());
        }
    }
    std::string out;
    auto line = [&](const std::vector<std::string>& r, bool head) {
        std::string l;
        for (std::size_t i = 0; i < w.size(); ++i) {
            const std::string c = i < r.size() ? r[i] : "";
            const std::string pad(w[i] - std::min(w[i], c.size()), ' ');
            l += (i ? "  " : "") + (!head && numeric(c) ? pad + c : c + pad);
        }
        while (!l.empty() && l.back() == ' ') {
            l.pop_back();
        }
        out += l + "\n";
    };
    line(header, true);
    for (const auto& r : rows) {
        line(r, false);
    }
    return out;
}

std::string format_clock(const json& c) {
    std::string out =
            "clock: " +
            std::string(c.value("synchronized", false) ? "synchronized" : "not synchronized") +
            ", error " + std::to_string(num(c, "error_ns")) + " ns, TAI-UTC " +
            std::to_string(num(c, "tai_utc_offset_s")) + " s\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : c.value("ports", json::array())) {
        rows.push_back({field(p, "port"), field(p, "timestamp_source"), field(p, "t3_method"),
                        field(p, "clock_error_ns"), field(p, "clock_steps")});
    }
    if (!rows.empty()) {
        out += table({"PORT", "TIMESTAMPS", "T3-METHOD", "ERROR-NS", "STEPS"}, rows);
    }
    return out;
}

std::string format_status(const json& s) {
    std::string out;
    out += "dpdk-twamp " + field(s, "version") + ", pid " + field(s, "pid") + ", up " +
           duration_s(num(s, "uptime_s")) + " (since " + utc(num(s, "start_unix_ns")) + ")\n";
    const json cfg = s.value("config", json::object());
    // The path only when the source does not already say it ("file /etc/...").
    const std::string src = field(cfg, "source"), path = cfg.value("path", std::string());
    out += "config: " + src +
           (!path.empty() && src.find(path) == std::string::npos ? " (" + path + ")" : "") + "\n";
    const json r = s.value("last_reload", json::object());
    if (field(r, "result") == "none") {
        out += "last reload: none\n";
    } else {
        out += "last reload: #" + field(r, "seq") + " at " + utc(num(r, "unix_ns")) + ": " +
               field(r, "line") + "\n";
    }
    out += "workers: " + field(s, "workers") + ", sessions active: " + field(s, "sessions_active") +
           "\n\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : s.value("ports", json::array())) {
        std::string speed =
                num(p, "link_speed_mbps") ? std::to_string(num(p, "link_speed_mbps")) : "-";
        rows.push_back({field(p, "name"), field(p, "driver"), field(p, "mac"),
                        field(p, "link_state"), speed, field(p, "link_changes"),
                        field(p, "rx_packets"), field(p, "tx_packets"), field(p, "rx_missed"),
                        field(p, "rx_errors"), field(p, "tx_errors")});
    }
    out += table({"PORT", "DRIVER", "MAC", "LINK", "MBPS", "CHANGES", "RX", "TX", "MISSED",
                  "RX-ERR", "TX-ERR"},
                 rows);
    rows.clear();
    for (const auto& x : s.value("reflectors", json::array())) {
        rows.push_back({field(x, "name"), field(x, "mode"), field(x, "sessions_active"),
                        field(x, "rx_packets"), field(x, "reflected_packets"),
                        field(x, "denied_packets")});
    }
    out += "\n" + table({"REFLECTOR", "MODE", "SESSIONS", "RX", "REFLECTED", "DENIED"}, rows);
    out += "\n" + format_clock(s.value("clock", json::object()));
    return out;
}

std::string format_sessions(const json& l) {
    std::vector<std::vector<std::string>> rows;
    const json& ss = l.at("sessions");
    for (const auto& x : ss) {
        rows.push_back({field(x, "reflector"),
                        endpoint(field(x, "sender_ip"), num(x, "sender_udp_port")),
                        endpoint(field(x, "reflector_ip"), num(x, "reflector_udp_port")),
                        field(x, "sender_ssid"), field(x, "rcv_packets"), field(x, "gaps"),
                        field(x, "duplicates"), field(x, "reorders"),
                        ms_text(num(x, "last_seen_ms")) + " ago", duration_s(num(x, "age_s")),
                        field(x, "worker")});
    }
    std::string out = table({"REFLECTOR", "SENDER", "REFLECTOR-ADDR", "SSID", "PACKETS", "GAPS",
                             "DUPS", "REORDERS", "LAST-SEEN", "AGE", "WORKER"},
                            rows);
    out += std::to_string(ss.size()) + " session" + (ss.size() == 1 ? "" : "s") +
           (l.value("complete", true) ? "" : " (--limit reached: more exist)") + "\n";
    return out;
}

std::string format_control(const json& c) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& x : c.at("connections")) {
        rows.push_back({field(x, "id"), endpoint(field(x, "client_ip"), num(x, "client_tcp_port")),
                        endpoint(field(x, "server_ip"), num(x, "server_tcp_port")),
                        field(x, "state"), field(x, "protocol_state"),
                        field(x, "modes").empty() ? "-" : field(x, "modes"),
                        ms_text(num(x, "age_ms"))});
    }
    std::string out =
            table({"CONN", "CLIENT", "SERVER", "STATE", "PROTOCOL-STATE", "MODES", "AGE"}, rows);
    rows.clear();
    for (const auto& x : c.at("test_sessions")) {
        rows.push_back({field(x, "sid"), field(x, "connection"),
                        endpoint(field(x, "sender_ip"), num(x, "sender_udp_port")),
                        endpoint(field(x, "reflector_ip"), num(x, "reflector_udp_port")),
                        field(x, "protocol_state"),
                        field(x, "modes").empty() ? "-" : field(x, "modes"),
                        ms_text(num(x, "age_ms"))});
    }
    out += "\n" +
           table({"SID", "CONN", "SENDER", "REFLECTOR", "PROTOCOL-STATE", "MODES", "AGE"}, rows);
    out += std::to_string(c.at("connections").size()) + " connections, " +
           std::to_string(c.at("test_sessions").size()) + " test sessions\n";
    return out;
}

std::string format_reload(const json& r) {
    return "reload #" + field(r, "seq") + ": " + field(r, "line") + "\n";
}

int run(int argc, char** argv, std::string& out, std::string& err) {
    options o;
    try {
        o = parse_options(argc, argv);
    } catch (const error& e) {
        err += "dpdk-twamp-ctl: " + std::string(e.what()) + "\nTry 'dpdk-twamp-ctl --help'.\n";
        return e.status;
    }
    if (o.help) {
        out += usage_text;
        return exit_ok;
    }
    if (o.version) {
        out += std::string("dpdk-twamp-ctl ") + DPDK_TWAMP_VERSION + "\n";
        return exit_ok;
    }
    try {
        const std::string path =
                socket_path(o.file_prefix, getuid() == 0, std::getenv("XDG_RUNTIME_DIR"));
        socket_telemetry t(path, o.file_prefix);
        const int indent = 2;
        if (o.command == "status") {
            const json s = status(t);
            out += o.json ? s.dump(indent) + "\n" : format_status(s);
        } else if (o.command == "sessions") {
            const json l = list_sessions(t, o);
            out += o.json ? l.dump(indent) + "\n" : format_sessions(l);
        } else if (o.command == "control") {
            const json c = list_control(t);
            out += o.json ? c.dump(indent) + "\n" : format_control(c);
        } else if (o.command == "clock") {
            const json c = clock(t);
            out += o.json ? c.dump(indent) + "\n" : format_clock(c);
        } else if (o.command == "reload") {
            box_signaller box(t);
            const json r = reload(
                    t, o.timeout_s, [&box](long pid) { return box.signal(pid); },
                    [](unsigned ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); },
                    [] {
                        return static_cast<uint64_t>(
                                std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
                    },
                    [&box] { box.pin(); });
            out += o.json ? r.dump(indent) + "\n" : format_reload(r);
            return reload_status(r);
        }
    } catch (const error& e) {
        err += "dpdk-twamp-ctl: " + std::string(e.what()) + "\n";
        return e.status;
    } catch (const json::exception& e) {
        err += "dpdk-twamp-ctl: unexpected answer: " + std::string(e.what()) + "\n";
        return exit_failed;
    }
    return exit_ok;
}

} // namespace twamp::ctl
