#include "args.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <getopt.h>

namespace twamp::app {

const char* const usage_text =
        "usage: dpdk-twamp [EAL options] -- -c FILE [--check] [--stats-period SECONDS] [--help]\n"
        "                  [--version]\n"
        "\n"
        "  -c, --config FILE  configuration file (libconfig; see conf/twamp.conf)\n"
        "      --check        validate the configuration and exit (0 valid, 1 not);\n"
        "                     touches no device and needs no EAL options\n"
        "      --stats-period SECONDS\n"
        "                     print a block of one line per reflector every SECONDS (1..3600;\n"
        "                     rx/tx pps, drops, sessions), like testpmd; off by default\n"
        "  -h, --help         this text\n"
        "  -v, -V, --version  print the version (dpdk-twamp's and DPDK's)\n"
        "\n"
        "EAL options come first (see DPDK's EAL parameters): the first lcore of -l/--lcores\n"
        "is the slow path, every other lcore a worker, e.g. dpdk-twamp -l 2-5 -- -c twamp.conf.\n"
        "Without hugepages (labs, CI) add --no-huge -m 1024.\n"
        "EAL's and the drivers' own messages are shown from level error on unless an EAL\n"
        "--log-level is given (e.g. --log-level=lib.eal:info shows EAL's start-up lines again;\n"
        "--log-level=twamp:debug is dpdk-twamp's own).\n";

namespace {

enum long_only : int { opt_check = 256, opt_stats_period };

const option long_options[] = {
        {"config", required_argument, nullptr, 'c'},
        {"check", no_argument, nullptr, opt_check},
        {"stats-period", required_argument, nullptr, opt_stats_period},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'v'},
        {nullptr, 0, nullptr, 0},
};

// Leading '+': stop at the first non-option (reported, not permuted); ':': a missing
// argument returns ':' so the message can be ours.
constexpr const char* short_options = "+:c:hvV";

bool ours_alone(std::string_view s) {
    for (const option* o = long_options; o->name; ++o) {
        std::string l = std::string("--") + o->name;
        if (s == l || (o->has_arg == required_argument && s.rfind(l + "=", 0) == 0)) {
            return true;
        }
    }
    return s == "-c" || s == "-h" || s == "-v" || s == "-V";
}

} // namespace

split_args split_command_line(int argc, const char* const* argv) {
    split_args r;
    int sep = -1;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--") == 0) {
            sep = i;
            break;
        }
    }
    r.eal_argc = sep < 0 ? 1 : sep;
    for (int i = sep < 0 ? 1 : sep + 1; i < argc; ++i) {
        r.ours.emplace_back(argv[i]);
    }
    if (sep < 0) {
        // No "--": every option must be one of ours (values of -c/--stats-period are not
        // options: they do not start with '-').
        for (const auto& s : r.ours) {
            if (!s.empty() && s[0] == '-' && !ours_alone(s)) {
                r.error = "application options go after \"--\"";
                break;
            }
        }
    }
    return r;
}

app_args parse_app_args(const std::vector<std::string>& args) {
    app_args a;
    std::vector<std::string> store;
    store.reserve(args.size() + 1);
    store.emplace_back("dpdk-twamp");
    store.insert(store.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : store) {
        argv.push_back(s.data());
    }
    argv.push_back(nullptr);
    const int argc = static_cast<int>(store.size());

    // getopt's state is global: optind = 0 makes glibc start afresh (a second parse, tests).
    optind = 0;
    opterr = 0;
    for (;;) {
        const int prev = optind ? optind : 1;
        const int c = getopt_long(argc, argv.data(), short_options, long_options, nullptr);
        if (c == -1) {
            break;
        }
        // The option as written, for messages (getopt only keeps optopt for short ones).
        std::string as_written = prev < argc ? store[static_cast<std::size_t>(prev)] : "";
        if (auto eq = as_written.find('=');
            as_written.rfind("--", 0) == 0 && eq != as_written.npos) {
            as_written.resize(eq);
        }
        switch (c) {
        case 'c':
            a.config = optarg;
            break;
        case opt_check:
            a.check = true;
            break;
        case opt_stats_period: {
            const std::string v = optarg;
            char* end = nullptr;
            errno = 0;
            const unsigned long n = std::strtoul(v.c_str(), &end, 10);
            if (v.empty() || v[0] < '0' || v[0] > '9' || *end || errno || n < 1 || n > 3600) {
                a.error = "--stats-period: \"" + v + "\" is not a number of seconds in 1..3600";
                return a;
            }
            a.stats_period = static_cast<unsigned>(n);
            break;
        }
        case 'h':
            a.help = true;
            break;
        case 'v':
        case 'V':
            a.version = true;
            break;
        case ':':
            a.error = as_written + (as_written == "--stats-period" ? " needs a number of seconds"
                                                                   : " needs a file name");
            return a;
        default:
            a.error = "unknown option \"" + as_written + "\"";
            return a;
        }
    }
    if (optind < argc) {
        a.error = "unexpected argument \"" + store[static_cast<std::size_t>(optind)] + "\"";
        return a;
    }
    if (!a.help && !a.version && a.config.empty()) {
        a.error = "no configuration file (-c FILE)";
    }
    return a;
}

std::string version_text(std::string_view ours, std::string_view dpdk) {
    std::string d(dpdk);
    if (d.rfind("DPDK ", 0) != 0) {
        d = "DPDK " + d;
    }
    return "dpdk-twamp " + std::string(ours) + " (" + d + ")";
}

namespace {

// "0-3,5,7-8": 7; 0 for anything else.
unsigned count_lcore_list(std::string_view s) {
    unsigned n = 0;
    while (!s.empty()) {
        const std::size_t comma = s.find(',');
        std::string_view item = s.substr(0, comma);
        s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
        const std::size_t dash = item.find('-');
        auto num = [](std::string_view v, unsigned& out) {
            if (v.empty() || v.size() > 6) {
                return false;
            }
            out = 0;
            for (char c : v) {
                if (c < '0' || c > '9') {
                    return false;
                }
                out = out * 10 + static_cast<unsigned>(c - '0');
            }
            return true;
        };
        unsigned lo = 0, hi = 0;
        if (!num(item.substr(0, dash), lo) ||
            !num(dash == std::string_view::npos ? item : item.substr(dash + 1), hi) || hi < lo) {
            return 0;
        }
        n += hi - lo + 1;
    }
    return n;
}

// "0xf" or "f": 4; 0 for anything else.
unsigned count_coremask(std::string_view s) {
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s.remove_prefix(2);
    }
    unsigned n = 0;
    for (char c : s) {
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (v < 0) {
            return 0;
        }
        n += static_cast<unsigned>(__builtin_popcount(static_cast<unsigned>(v)));
    }
    return n;
}

} // namespace

unsigned eal_worker_count(int eal_argc, const char* const* argv) {
    unsigned lcores = 0;
    for (int i = 1; i < eal_argc; ++i) {
        const std::string_view a = argv[i];
        const bool has_next = i + 1 < eal_argc;
        if (a == "-l" || a == "--lcores") {
            lcores = has_next ? count_lcore_list(argv[++i]) : 0;
        } else if (a.starts_with("--lcores=")) {
            lcores = count_lcore_list(a.substr(9));
        } else if (a.starts_with("-l")) {
            lcores = count_lcore_list(a.substr(2));
        } else if (a == "-c") {
            lcores = has_next ? count_coremask(argv[++i]) : 0;
        } else if (a.starts_with("-c") && !a.starts_with("--")) {
            lcores = count_coremask(a.substr(2));
        }
    }
    return lcores > 1 ? lcores - 1 : 0;
}

std::vector<std::string> default_eal_log_args(int eal_argc, const char* const* argv) {
    for (int i = 1; i < eal_argc; ++i) {
        const std::string_view a(argv[i]);
        if (a == "--log-level" || a.starts_with("--log-level=")) {
            return {}; // the user's own levels, whole
        }
    }
    // The TAP's pattern on both sides of pmd.*: EAL applies the patterns in order to the log
    // types registered when it parses them (the last match wins) and the first match to a
    // driver registered later (a plugin EAL loads from its driver directory).
    return {"--log-level=pmd.net.tap:critical", "--log-level=lib.*:error",
            "--log-level=pmd.*:error", "--log-level=pmd.net.tap:critical"};
}

} // namespace twamp::app
