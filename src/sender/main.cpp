// twamp-ping [options] HOST[:PORT]: a TWAMP Light / STAMP / full TWAMP Session-Sender on kernel
// sockets. The parts: options.cpp (the command line), transport.cpp (sockets, clocks),
// pinger.cpp (the schedule and the event loop), matcher.cpp (reply matching, per stream),
// stats.cpp (the figures), report.cpp (text and JSON output), control.cpp (TWAMP-Control).
#include <cstdio>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "pinger.hpp"

#include "twamp/sender/options.hpp"
#include "twamp/sender/report.hpp"

#ifndef TWAMP_PING_VERSION
#define TWAMP_PING_VERSION "unknown"
#endif

using namespace twamp::sender;

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
    // The progress line on stderr, when that is a terminal and stdout does not show the packets.
    progress_line progress(isatty(STDERR_FILENO) && (o.quiet || o.json || !isatty(STDOUT_FILENO)));
    auto out = make_reporter(o, stdout, &progress);
    pinger p(o, *out, progress);
    return p.run();
}
