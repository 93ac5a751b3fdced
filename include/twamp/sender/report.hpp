// twamp-ping's output: what a run says, as events, and two reporters that write them: text
// (ping-like lines, the default) and JSON (--json: one object per line). The pinger decides
// what happened and when; a reporter only formats (unit-tested on synthetic events). The
// progress line on stderr lives here too: the text reporter clears it before a line that would
// land behind it on a terminal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "twamp/control/messages.hpp"
#include "twamp/sender/options.hpp"
#include "twamp/sender/packet.hpp"
#include "twamp/sender/stats.hpp"
#include "twamp/sender/tlv.hpp"

namespace twamp::sender {

// One stream of test packets as the header and the summary name it.
struct session_info {
    std::string src_s, dst_s;    // "198.18.0.1:40000", "[2001:2::2]:862"
    uint16_t sender_port = 0;    // our UDP port
    uint16_t receiver_port = 0;  // the reflector's
    uint16_t requested_port = 0; // twamp: the one asked for (0: the server chose)
    control::sid_t sid{};        // twamp
};

// What the run is, once the sockets are ready (before the first packet).
struct run_info {
    // The reflector (light, stamp) or the TWAMP-Control server (twamp), and our end of it.
    std::string target_s, local_s;
    uint32_t server_modes = 0; // twamp: the Server-Greeting's Modes
    std::size_t octets = 0;    // UDP payload of each request
    bool clock_synchronized = false;
    int32_t tai_utc_offset_s = 37;      // for PTP timestamps in TLVs (Follow-Up Telemetry)
    std::vector<session_info> sessions; // one (light, stamp) or --sessions
    uint64_t seed = 0;                  // --poisson: the seed used (given or drawn)
};

// Per packet. `session` is the stream's index in run_info::sessions.
struct reply_event {
    std::size_t session = 0;
    std::size_t octets = 0;
    sample s{};
    reply r{};
    bool duplicate = false;
    // STAMP: the reply's TLV area (octets after the 44-octet base), valid during the call.
    std::span<const uint8_t> tlv_area{};
};

struct late_event {
    std::size_t session = 0;
    std::size_t octets = 0;
    uint32_t seq = 0;
    int64_t rtt_ns = 0;
};

struct lost_event {
    std::size_t session = 0;
    uint32_t seq = 0;
    bool not_requested = false; // --tlv return-path=no-reply: no reply was asked for
    bool at_deadline = false;   // still awaited when -w's deadline ended the run
};

struct invalid_event {
    std::size_t session = 0;
    std::size_t octets = 0;
    std::string_view why;
};

// The end of the run.
struct run_result {
    summary total;                 // the run (all sessions: merge_sessions)
    std::vector<summary> sessions; // per stream, as run_info::sessions
    std::vector<uint64_t> session_invalid;
    uint64_t invalid = 0, send_errors = 0, tlv_flagged = 0;
    // Replies whose HMAC (or HMAC TLV) did not verify (issue 17), in all and per stream.
    uint64_t integrity_failures = 0;
    std::vector<uint64_t> session_integrity;
    tlv_tally tlvs; // the TLVs of fresh replies by type, and their flags
    int64_t duration_ns = 0;
    bool control_failed = false; // twamp
    // -w: the deadline ended the run; `deadline_lost` replies were still awaited then (counted
    // as lost).
    bool deadline_reached = false;
    uint64_t deadline_lost = 0;
};

// "\r\033[K<seconds> s: <sent> sent, <received> received, <pct>% not (yet) back" on stderr once
// a second, while `enabled` (stderr a terminal, stdout not the one showing the packets).
class progress_line {
public:
    progress_line(bool enabled, std::FILE* out = stderr) noexcept : enabled_(enabled), out_(out) {}

    void start(int64_t now_mono) noexcept {
        start_ = now_mono;
        next_ = now_mono + 1'000'000'000;
    }
    // Redraws when a second has passed since the last time.
    void update(int64_t now_mono, uint64_t sent, uint64_t received) noexcept;
    // Erases the line (before other output, and at the end).
    void clear() noexcept;
    // When update() next draws (the event loop wakes for it); never while disabled: a deadline
    // that passes without update() moving it would turn the loop's sleep into a busy wait
    // (twamp-ping 0.1.0 did that from one second into every run without a progress line).
    int64_t next_due() const noexcept { return enabled_ ? next_ : INT64_MAX; }

private:
    bool enabled_;
    std::FILE* out_;
    bool shown_ = false;
    int64_t start_ = 0, next_ = 0;
};

class reporter {
public:
    virtual ~reporter() = default;
    virtual void start(const run_info& info) = 0;
    virtual void reply(const reply_event& e) = 0;
    virtual void late(const late_event& e) = 0;
    virtual void lost(const lost_event& e) = 0;
    virtual void invalid(const invalid_event& e) = 0;
    // A reply whose HMAC or HMAC TLV does not verify (--auth, --tlv hmac): `why` says which.
    virtual void integrity(const invalid_event& e) = 0;
    virtual void finish(const run_result& r) = 0;
    // --summary-every: the run so far (cumulative; `total.outstanding` packets still within -W
    // are in neither sent nor lost).
    virtual void periodic(const run_result& r) = 0;
};

// Unix time in ns, for -D's line prefix (tests pass their own).
using unix_clock = int64_t (*)();

// The reporter --json selects, writing to `out`; `progress` (may be null) is cleared before
// text lines.
// `now` gives -D's time (default: CLOCK_REALTIME).
std::unique_ptr<reporter> make_reporter(const options& o, std::FILE* out, progress_line* progress,
                                        unix_clock now = nullptr);

const char* mode_name(enum mode m) noexcept; // "TWAMP Light", "STAMP", "TWAMP"

} // namespace twamp::sender
