// What a negotiated TWAMP test session is, and who decides whether one may exist.
//
// server_connection (server.hpp) proposes each Request-TW-Session to a session_allocator that
// the slow path owns (one per server: it sees every connection). The allocator checks global
// limits and reserves a receiver port; port_pool is the stock implementation (a port range and
// a session limit, control.receiver-ports / control.max-sessions).
#pragma once

#include <array>
#include <cstdint>
#include <set>

#include "twamp/control/messages.hpp"
#include "twamp/control/wipe.hpp"
#include "twamp/net/address.hpp"
#include "twamp/net/port_range.hpp"

namespace twamp::control {

// One session as the Server accepted it: everything the dataplane needs to reflect it.
struct session_info {
    sid_t sid{};
    // Test packets come from sender:sender_port to receiver:receiver_port. Zero addresses in
    // the request are already replaced by the control connection's addresses.
    net::address sender;
    uint16_t sender_port = 0; // as requested; 0 means the client did not say
    net::address receiver;
    uint16_t receiver_port = 0; // as allocated (in allocate(): as requested, 0 = any)
    uint8_t dscp = 0;           // Type-P Descriptor: DSCP of the reflected packets
    uint32_t padding_length = 0;
    uint64_t start_time = 0; // NTP wire value as requested (0: as soon as started)
    uint64_t timeout_ns = 0; // keep reflecting this long after Stop-Sessions (RFC 5357 §3.5)
    uint32_t mode = 0;       // the connection's Mode (security mode + feature bits)
    // RFC 6038, only with mode_reflect_octets: the reflector returns the first
    // padding_to_reflect octets of the sender's padding; octets_to_reflect is echoed in
    // Accept-Session (Reflected octets).
    uint16_t octets_to_reflect = 0;
    uint16_t padding_to_reflect = 0;
    // The connection's session keys from the Set-Up-Response Token (RFC 4656 §3.1), set when
    // the Mode is authenticated or encrypted (zeros otherwise, mixed included: its test packets
    // are unauthenticated, RFC 5618). The test session's own keys are derived from these and
    // the SID (twamp/crypto) when the session is published to the workers.
    std::array<uint8_t, 16> aes_session_key{};
    std::array<uint8_t, 32> hmac_session_key{};

    // Every copy (actions, the driver's table) wipes its keys when it dies.
    ~session_info() {
        wipe(aes_session_key);
        wipe(hmac_session_key);
    }

    bool reflect_octets() const noexcept { return (mode & mode_reflect_octets) != 0; }
    bool symmetrical_size() const noexcept { return (mode & mode_symmetrical_size) != 0; }
    friend bool operator==(const session_info&, const session_info&) = default;
};

struct allocation {
    accept_code accept = accept_code::ok;
    uint16_t port = 0; // the receiver port reserved when accept == ok
};

class session_allocator {
public:
    virtual ~session_allocator() = default;
    // Decide on a session (`proposed.receiver_port` is the requested port, 0 = any; `sid` is
    // not set yet) and reserve its receiver port. Refusals carry the RFC 4656 Accept code:
    // temporary_limit for a full table or no free port, permanent_limit when the server has
    // no port at all, not_supported / failure for a policy refusal. The reservation is held
    // until the owner of the allocator releases it (the driver, when the session ends).
    virtual allocation allocate(const session_info& proposed) = 0;
};

// Receiver ports from a range, and a limit on sessions. Each session holds one port: two
// sessions never share a receiver port, so the dataplane can find a session by (receiver
// address, receiver port) alone.
class port_pool final : public session_allocator {
public:
    port_pool(net::port_range range, uint32_t max_sessions) noexcept;

    // The requested port when it is inside the range and free, else the next free one after
    // the last port handed out (round robin, so a released port is reused last: late packets
    // of an old session do not land in a new one).
    allocation allocate(const session_info& proposed) override;
    // Frees a port (no-op for a port not held).
    void release(uint16_t port) noexcept;

    // Reload: a new range and limit. Ports held outside the new range stay held until
    // released; nothing new is handed out beyond the new limit.
    void reconfigure(net::port_range range, uint32_t max_sessions) noexcept;

    std::size_t in_use() const noexcept { return used_.size(); }
    bool is_used(uint16_t port) const noexcept { return used_.count(port) != 0; }
    net::port_range range() const noexcept { return range_; }
    uint32_t max_sessions() const noexcept { return max_sessions_; }

private:
    net::port_range range_;
    uint32_t max_sessions_;
    uint16_t next_; // where the round-robin search starts
    std::set<uint16_t> used_;
};

} // namespace twamp::control
