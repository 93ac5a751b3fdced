// TWAMP-Control sessions as the workers see them: an immutable, sorted table of
// (receiver address, receiver port) -> sender and policy, published by the slow path in the
// workers' view beside the snapshot (view.hpp; rebuilt on every Accept/Start/Stop, small: at
// most control max-sessions entries). Test packets of an accepted session are reflected by the
// workers, counted under the control context's slot; packets to a receiver port of the configured
// range without a started session are dropped as no_session.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "twamp/crypto/crypto.hpp"
#include "twamp/proto/auth.hpp"
#include "twamp/proto/reflect.hpp"

namespace twamp::dataplane {

struct control_session_rt {
    uint8_t receiver[16] = {}; // IPv4-mapped for IPv4
    uint16_t receiver_port = 0;
    uint8_t sender[16] = {};
    uint16_t sender_port = 0; // 0: any (the client did not say)
    bool started = false;
    // The SSID of this session's records in the workers' session tables (TWAMP test packets
    // have no SSID of their own): differs from the sessions that held the receiver port
    // before, so a new session on a reused port never continues an old record's numbering.
    uint16_t tag = 0;
    // Test packets in the unauthenticated layout (unauthenticated and mixed modes) or the
    // session's security mode (policy.auth, with policy.keys into the table's session_crypto),
    // the session's DSCP.
    proto::reflect_policy policy{};

    bool key_less(const uint8_t* addr, uint16_t port) const noexcept {
        if (receiver_port != port) {
            return receiver_port < port;
        }
        return std::memcmp(receiver, addr, 16) < 0;
    }
};

// When each receiver port last saw a test packet (TSC), written by the workers, read by the
// control server for REFWAIT. One slot per UDP port, owned by the server, outliving tables;
// handed to the workers apart from the (immutable) table, in their worker_args.
struct port_activity {
    std::atomic<uint64_t> last[65536];
};

// Hot path: a test packet of a started session arrived on `port` (null: no control server).
inline void touch(port_activity* activity, uint16_t port, uint64_t tsc) noexcept {
    if (activity) {
        activity->last[port].store(tsc, std::memory_order_relaxed);
    }
}

// REFWAIT: whether a port last active at `last` (0: never) has been idle for more than `limit`
// TSC cycles at `now`. A worker may store a `last` later than the `now` the slow path read just
// before (another core, a burst that started after): that is activity, not an idle time of
// 2^64 - (last - now) cycles.
inline bool idle_longer_than(uint64_t now, uint64_t last, uint64_t limit) noexcept {
    return last != 0 && now > last && now - last > limit;
}

// The prepared keys of one authenticated or encrypted TWAMP test session (RFC 4656 §4.1.2:
// crypto::derive_test_keys from the control connection's session keys and the SID), made on
// the slow path when the table is built; immutable, and freed with the table (RCU) like the
// rest of it. control_session_rt::policy.keys points at `keys`, which points at `k`.
struct session_crypto {
    crypto::test_keys k;
    proto::auth_keys keys;

    session_crypto(std::span<const uint8_t, 16> aes_session_key,
                   std::span<const uint8_t, 32> hmac_session_key,
                   std::span<const uint8_t, 16> sid) noexcept
        : k(crypto::derive_test_keys(aes_session_key, hmac_session_key, sid)), keys{&k.aes, &k.hmac,
                                                                                    nullptr, 0} {}
    session_crypto(const session_crypto&) = delete;
    session_crypto& operator=(const session_crypto&) = delete;
};

class control_table {
public:
    control_table() = default;
    // `crypto`: what the sessions' policy.keys point into (kept, never moved: heap objects).
    control_table(std::vector<control_session_rt> s, uint16_t range_min, uint16_t range_max,
                  std::vector<std::unique_ptr<const session_crypto>> crypto = {})
        : sessions_(std::move(s)), crypto_(std::move(crypto)), min_(range_min), max_(range_max) {
        std::sort(sessions_.begin(), sessions_.end(),
                  [](const control_session_rt& a, const control_session_rt& b) {
                      return a.key_less(b.receiver, b.receiver_port);
                  });
    }

    // Hot path: the session for a receiver address and port, or null.
    const control_session_rt* find(const uint8_t addr[16], uint16_t port) const noexcept {
        auto it = std::lower_bound(
                sessions_.begin(), sessions_.end(), 0,
                [&](const control_session_rt& s, int) { return s.key_less(addr, port); });
        if (it != sessions_.end() && it->receiver_port == port &&
            std::memcmp(it->receiver, addr, 16) == 0) {
            return &*it;
        }
        return nullptr;
    }

    bool in_receiver_range(uint16_t port) const noexcept { return port >= min_ && port <= max_; }

    // Aging (not the per-packet path): whether a worker's session record keyed (ssid, src,
    // src_port -> dst, dst_port) still belongs to a session of this table: started (or stopped
    // and in its Timeout), with that sender and tag. A record of a session that ended fails, so
    // the worker frees it at once instead of keeping it (and its place under
    // control.max-sessions) for REFWAIT.
    bool holds(uint16_t ssid, const uint8_t src[16], uint16_t src_port, const uint8_t dst[16],
               uint16_t dst_port) const noexcept {
        const control_session_rt* cs = find(dst, dst_port);
        return cs != nullptr && cs->started && cs->tag == ssid &&
               std::memcmp(cs->sender, src, 16) == 0 &&
               (cs->sender_port == 0 || cs->sender_port == src_port);
    }

    std::size_t size() const noexcept { return sessions_.size(); }

private:
    std::vector<control_session_rt> sessions_;
    std::vector<std::unique_ptr<const session_crypto>> crypto_;
    uint16_t min_ = 1;
    uint16_t max_ = 0; // empty range: no control server
};

} // namespace twamp::dataplane
