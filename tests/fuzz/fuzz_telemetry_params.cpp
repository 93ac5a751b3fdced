// libFuzzer target: the paged DPDK telemetry commands' parameters (src/app/telemetry_params.cpp),
// which any client of the telemetry socket may send. The input, NUL-terminated, is the text after
// the command's comma. Invariants (__builtin_trap):
//   - parsing never reads past the text, allocates without bound or throws;
//   - /twamp/session_list: a parsed cursor names an existing worker; what session_cursor()
//     writes for the parsed position parses back to the same position; a page size is
//     1..page_max; a port is 1..65535; an SSID 0..65535 or "any"; a source is a network
//     (host bits clear);
//   - /twamp/control_list: parsing succeeds or fails as a whole (no partial update of out).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "telemetry_params.hpp"

#define FUZZ_CHECK(x)                                                                              \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 2048) {
        return 0;
    }
    // First octet: the worker count (1..16); the rest: the parameter text.
    const unsigned workers = size ? 1u + data[0] % 16u : 1u;
    const std::string text(reinterpret_cast<const char*>(data) + (size ? 1 : 0),
                           size ? size - 1 : 0);
    const char* params = text.c_str(); // stops at an embedded NUL, as the telemetry thread's does
    using namespace twamp::app;
    session_list_params p;
    p.port = 4242; // untouched on failure
    if (parse_session_list_params(params, workers, 24, p)) {
        FUZZ_CHECK(p.worker < workers);
        FUZZ_CHECK(p.page <= 24);
        FUZZ_CHECK(p.port <= 65535);
        FUZZ_CHECK(p.ssid == ~0u || p.ssid <= 65535);
        FUZZ_CHECK(!p.reflector || !p.reflector->empty());
        FUZZ_CHECK(!p.source || p.source->host_bits_zero());
        if (p.has_after) {
            const std::string c = session_cursor(p.worker, p.after_order, p.after_key.data());
            session_list_params q;
            FUZZ_CHECK(parse_session_list_params(("cursor=" + c).c_str(), workers, 24, q));
            FUZZ_CHECK(q.worker == p.worker && q.has_after && q.after_order == p.after_order &&
                       q.after_key == p.after_key);
        }
    } else {
        FUZZ_CHECK(p.port == 4242);
    }
    control_list_params cp;
    cp.after_id = 77;
    if (!parse_control_list_params(params, cp)) {
        FUZZ_CHECK(cp.after_id == 77 && !cp.in_sessions);
    } else {
        FUZZ_CHECK(!cp.has_sid || cp.in_sessions);
    }
    return 0;
}
