// twamp-ping's command line: argv -> validated options, no I/O (unit-tested).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "twamp/proto/timestamp.hpp"
#include "twamp/sender/tlv.hpp"

namespace twamp::sender {

// light: TWAMP Light test packets to HOST:PORT. stamp: STAMP. twamp: full TWAMP (RFC 5357):
// HOST:PORT is the TWAMP-Control server, sessions are negotiated over TCP first, then the test
// packets (the same unauthenticated TWAMP-Test packets as light) go to the accepted ports.
enum class mode : uint8_t { light, stamp, twamp };

// --auth: the security mode. twamp: the TWAMP-Control Mode asked for (RFC 4656 §3.1, RFC 5618):
// open (unauthenticated), authenticated and encrypted (test packets in their authenticated
// layouts, issue 17) or mixed (encrypted control, unauthenticated test packets). stamp: open or
// authenticated (RFC 8762 §4.2.2: the 112-octet layouts with an HMAC). light: open only.
enum class security : uint8_t { open, authenticated, encrypted, mixed };

inline constexpr uint16_t default_port = 862; // RFC 5357 / RFC 8762: the well-known TWAMP port
// --mode twamp: at most this many sessions, each with its own UDP socket. Far above what a
// probe needs, low enough that a typo cannot open thousands of sockets on a server.
inline constexpr uint32_t max_sessions = 64;

// Payload sizes (UDP payload octets). TWAMP Light: the sender packet is 14 octets (RFC 5357
// §4.1.2) and the reply at least 41 (§4.2.1); the default pads the request to 41 so that
// request and reply have the same size (RFC 6038 symmetric size). Between 14 and 40 the request
// is sent as it is and the reflector extends its reply to 41. STAMP: 44 octets (RFC 8762
// §4.2.1); anything longer carries one Extra Padding TLV (RFC 8972 §4.1, 4-octet header), so
// 45..47 cannot be built and are refused.
inline constexpr std::size_t light_min_size = 14;
inline constexpr std::size_t light_default_size = 41;
inline constexpr std::size_t stamp_min_size = 44;
inline constexpr std::size_t stamp_padded_min_size = 48;
// The authenticated layouts (issue 17): a TWAMP-Test request is 48 octets before its padding
// (RFC 5357 §4.1.2), the reply 112 (§4.2.1, erratum 5045), so the default pads the request to
// 112; an authenticated STAMP packet is 112 octets before its TLVs (RFC 8762 §4.2.2, §4.3.2),
// one with an Extra Padding TLV 116 and more.
inline constexpr std::size_t twamp_auth_min_size = 48;
inline constexpr std::size_t auth_reply_size = 112;
inline constexpr std::size_t stamp_auth_size = 112;
inline constexpr std::size_t stamp_auth_padded_min_size = 116;
// IPv4: 65535 - 20 (IP) - 8 (UDP). IPv6 allows 20 more; the caller checks per family.
inline constexpr std::size_t max_size_ipv4 = 65507;
inline constexpr std::size_t max_size_ipv6 = 65527;

struct options {
    std::string host;             // name or address, without brackets
    uint16_t port = default_port; // from HOST:PORT
    enum mode mode = mode::light;
    uint64_t count = 0;      // 0 = until interrupted
    double interval_s = 1.0; // between packets (from -i or 1/--rate)
    bool paced = false;      // --rate given
    std::size_t size = 0;    // UDP payload; 0 = the mode's default
    uint8_t dscp = 0;        // 0..63
    proto::ts_format timestamp = proto::ts_format::ntp;
    uint16_t ssid = 1; // STAMP only (RFC 8972 §3)
    bool ssid_given = false;
    uint16_t src_port = 0;  // 0 = any
    double timeout_s = 2.0; // -W
    // --mode twamp only.
    uint16_t receiver_port = 0; // requested receiver port of the first session; 0 = any
    bool receiver_port_given = false;
    double session_timeout_s = 2.0; // Request-TW-Session Timeout (RFC 5357 §3.5)
    bool session_timeout_given = false;
    uint32_t sessions = 1; // sessions negotiated, packets sent round-robin
    bool sessions_given = false;
    // --tlv (STAMP only): sent after the 44-octet base in the order given; -s beyond them adds
    // an Extra Padding TLV for the rest.
    std::vector<tlv_spec> tlvs;
    std::size_t tlv_octets = 0; // their total size
    bool has_direct_measurement = false;
    // The first return-path (the one a reflector acts on, RFC 9503 §4) is no-reply: missing
    // replies are not loss.
    bool no_reply = false;
    bool return_path_seen = false;
    // A dna= or return-path=ADDRESS: the replies may come from another of the reflector's
    // addresses or arrive at another of ours, so the UDP socket is not connected to the
    // destination (a connected socket would drop them) and listens on every local address.
    bool unconnected = false;
    // --auth, --key-file, --key-id (issue 17). The key file is perfSONAR pfstore's format
    // (twamp/control/keys.hpp): twamp derives the Token's key from the secret (RFC 4656 §3.1),
    // stamp uses the secret as the HMAC-SHA-256 key. --tlv hmac (stamp) needs a key too.
    enum security auth = security::open;
    bool auth_given = false;
    std::string key_file;
    std::string key_id;
    bool hmac_tlv = false; // --tlv hmac: an HMAC TLV (RFC 8972 §4.8) after the other TLVs
    // ping's options (issue 19).
    double deadline_s = 0; // -w: stop after this many seconds (0: no deadline)
    std::string device;    // -I IFACE: SO_BINDTODEVICE on the test (and control) sockets
    std::string source;    // -I ADDR / --source ADDR: bind them to this address (numeric)
    int family = 0;        // -4: AF_INET, -6: AF_INET6, 0: either (from --source if given)
    int ttl = 255;         // -t/--ttl: IPv4 TTL / IPv6 Hop Limit of the test packets
    bool ttl_given = false;
    bool print_timestamps = false; // -D: "[UNIX.MICROS] " before each per-packet line
    bool poisson = false;          // --poisson: exponential gaps with mean interval_s
    uint64_t seed = 0;             // --seed (else from std::random_device)
    bool seed_given = false;
    double summary_every_s = 0; // --summary-every: a summary every N s (0: none)
    bool json = false;
    bool quiet = false;
    bool help = false;
    bool version = false;

    // --mode twamp: the limit on the TCP connect and on each TWAMP-Control answer. -W, but
    // never under min_control_timeout_s: -W is tuned for test replies (milliseconds on a lab
    // link), a control answer may need a TCP retransmission or two.
    double control_timeout_s() const noexcept {
        return timeout_s > min_control_timeout_s ? timeout_s : min_control_timeout_s;
    }
    static constexpr double min_control_timeout_s = 5.0;

    // The test packets are in the authenticated layouts: TWAMP authenticated or encrypted,
    // authenticated STAMP. (Mixed TWAMP sends unauthenticated test packets, RFC 5618.)
    bool auth_layout() const noexcept {
        return mode == mode::stamp ? auth == security::authenticated
                                   : mode == mode::twamp && (auth == security::authenticated ||
                                                             auth == security::encrypted);
    }
    // A key is needed: any TWAMP security mode, authenticated STAMP, or an HMAC TLV.
    bool needs_key() const noexcept { return auth != security::open || hmac_tlv; }
    // STAMP: where the TLVs start (after the 44- or 112-octet base).
    std::size_t stamp_base_size() const noexcept {
        return auth == security::authenticated ? stamp_auth_size : stamp_min_size;
    }

    std::size_t payload_size() const noexcept {
        if (size != 0) {
            return size;
        }
        if (mode == mode::stamp) {
            return stamp_base_size() + tlv_octets;
        }
        return auth_layout() ? auth_reply_size : light_default_size;
    }
};

struct parse_result {
    std::optional<options> opts; // set when the command line is valid
    std::string error;           // else what is wrong, for "twamp-ping: <error>"
};

// Parses everything after argv[0] with getopt_long (GNU conventions: bundled short options,
// --name=VALUE, unique prefixes, options and HOST in any order). -h/-V win over other errors
// only when they parse.
parse_result parse_args(const std::vector<std::string_view>& args);

// A whole decimal number in [lo, hi] (no sign, no spaces), for option values and --tlv
// arguments.
bool parse_uint(std::string_view s, uint64_t lo, uint64_t hi, uint64_t& out);

// HOST[:PORT]: "198.18.0.2", "198.18.0.2:862", "[2001:2::2]:862", "[2001:2::2]", "2001:2::2"
// (a plain address with more than one colon is IPv6 without a port), "name:862". Returns
// false with `error` set when malformed.
bool split_host_port(std::string_view in, std::string& host, uint16_t& port, std::string& error);

// "open", "authenticated", "encrypted", "mixed".
const char* security_name(enum security s) noexcept;

extern const char* const usage_text;

} // namespace twamp::sender
