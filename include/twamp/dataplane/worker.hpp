// The worker lcore: DESIGN.md's burst loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>
#include <span>
#include <vector>

#include <rte_ether.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "twamp/dataplane/clock.hpp"
#include "twamp/dataplane/control_table.hpp"
#include "twamp/dataplane/counters.hpp"
#include "twamp/dataplane/port_time.hpp"
#include "twamp/dataplane/seqlocked.hpp"
#include "twamp/dataplane/sessions.hpp"
#include "twamp/dataplane/snapshot.hpp"
#include "twamp/dataplane/view.hpp"
#include "twamp/proto/drop_reason.hpp"
#include "twamp/proto/fast.hpp"
#include "twamp/proto/packet.hpp"
#include "twamp/proto/reflect.hpp"

namespace twamp::dataplane {

struct worker_port {
    uint16_t port_id = 0;    // DPDK port
    uint16_t port_index = 0; // index in the spec
    uint16_t queue = 0;
    rte_ether_addr mac{};
    // The port's time (port_time.hpp); null: software T2 and T3.
    const port_time* time = nullptr;
    bool tx_cksum = false; // the device computes the replies' UDP checksums
    // IEEE 1588 TX timestamps for Follow-Up Telemetry (null: not sampled on this port): the
    // port's one-in-flight mailbox, whose latch the slow path reads (port.hpp).
    tx_ts_mailbox* tx_ts = nullptr;
    rte_ring* to_wire = nullptr; // kernel -> wire frames this worker sends for the slow path
};

struct worker_args {
    unsigned index = 0; // worker number, also its RCU thread id
    uint16_t burst = 32;
    std::vector<worker_port> ports;
    rte_ring* exception_ring = nullptr; // wire -> kernel, to the slow path
    rte_rcu_qsbr* qsv = nullptr;
    const std::atomic<const dataplane::view*>* view =
            nullptr;                   // what to reflect: snapshot, control table
    port_activity* activity = nullptr; // control sessions' receiver ports (null: no server)
    uint16_t control_slot = 0;         // the control context's slot (counters, session table)
    const sw_clock* clock = nullptr;
    session_table* sessions = nullptr;
    worker_counters* counters = nullptr;
    const std::atomic<bool>* stop = nullptr;
    // Tests only: the TSC the limits' buckets read at each burst (null: rte_rdtsc(), the
    // burst's start). One branch on a null pointer a burst.
    const std::atomic<uint64_t>* limits_tsc = nullptr;
    session_query* query = nullptr; // telemetry's "top sessions" mailbox (may be null)
    int ts_dynfield_offset = -1;
    uint64_t ts_dynflag = 0;
};

// What the RFC 9503 TLV hooks (proto::tlv_address_policy, worker.cpp) know of the request
// rewrite is preparing: the round's snapshot (the box's own addresses, the ACLs), the
// request's reflector context, and the box's IPv6 interface identifiers (classify's own-source
// test). Set per packet, only for STAMP requests with TLVs.
struct tlv_address_view {
    const snapshot* snap = nullptr;
    const context_rt* ctx = nullptr;
    const uint64_t* iids = nullptr;
    unsigned n_iids = 0;
    // The request's context key parts and source port (set per packet with ctx).
    uint16_t port = 0;     // the box's port index
    uint16_t udp_port = 0; // the UDP port the request came to
    uint32_t vlan = 0;     // as context_key has it
    uint16_t src_port = 0; // the request's UDP source port: the reply's destination port
};

// A worker's limit state (README "Limits"), plain non-atomic: its own token buckets (GCRA:
// a theoretical arrival time each, snapshot.hpp bucket_take) per reflector and per prefix rule,
// its sessions per prefix rule, and the source table: a fixed array indexed by a keyed hash of
// (reflector, source address), each entry a tag and the source's request and new-session
// buckets. Allocated with the worker (DPDK memory, ~2.2 MB), never per source.
struct limit_state {
    static constexpr uint32_t source_bits = 16;
    static constexpr uint32_t source_slots = 1u << source_bits;
    struct source_entry {
        uint64_t tag = 0;     // the keyed hash of (reflector, source); 0: never used
        uint64_t tat = 0;     // requests (source-rate-limit-pps)
        uint64_t tat_new = 0; // new sessions (source-session-rate)
        uint64_t pad = 0;     // 32 octets: two entries a cache line, none straddles one
    };
    static_assert(sizeof(source_entry) == 32);
    uint64_t ctx_tat[max_contexts];
    uint64_t prefix_tat[max_contexts][max_prefix_rules];
    uint32_t prefix_sessions[max_contexts][max_prefix_rules];
    uint64_t counted_gen[max_contexts]; // the context_rt::rules_gen prefix_sessions counts by
    // A recount in progress (worker::recount_slice): the contexts being recounted and their
    // counts so far (the live sessions in the slots below the walk's cursor).
    bool recount_stale[max_contexts];
    uint32_t recount_sessions[max_contexts][max_prefix_rules];
    source_entry sources[source_slots];
};

// One worker lcore's state and its burst loop, in stages (DESIGN.md "The hot path"): every
// received burst goes through classify -> lookup -> rewrite -> dispatch -> transmit ->
// to_slow_path, each a short loop over the burst; every packet gets one verdict (`next`, plus a
// drop reason) that dispatch acts on once. After all ports: drain_to_wire (the slow path's
// kernel -> wire frames) and housekeeping (RCU quiescent state, aging, gauges, session
// queries). worker_main() runs poll_once() until stop; tests call it directly.
class worker {
public:
    // A packet's verdict after the burst's stages (VPP's next[]).
    enum class next : uint8_t {
        reflect,          // a reply without a session record (stateless reflector)
        reflect_stateful, // a reply with its session looked up (a full table: stateless)
        to_kernel,        // to the slow path's TAP through the exception ring
        drop,             // freed and counted under its drop_reason
    };
    static constexpr uint16_t max_burst = 64;

    // Registers the worker's RCU thread id (args.qsv) and brings it online. `args` must
    // outlive the worker.
    explicit worker(const worker_args& args) noexcept;
    // RCU offline and unregistered; the active-session gauge written a last time.
    ~worker();
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;

    // One round: one RX burst per port through the stages, the kernel -> wire rings, then
    // housekeeping. Returns the packets received. No allocation, locks, logging or exceptions.
    unsigned poll_once() noexcept;

    // The last received burst's verdicts and drop reasons, in packet order (for tests).
    std::span<const next> last_verdicts() const noexcept { return {next_, last_n_}; }
    proto::drop_reason last_reason(std::size_t i) const noexcept { return why_[i]; }

private:
    struct burst; // one burst's locals (worker.cpp)

    // A packet that classify found to deserve a reply, waiting for its session (lookup) and
    // reply (rewrite).
    struct candidate {
        rte_mbuf* m;
        const context_rt* ctx;
        const proto::reflect_policy* policy;
        int16_t key;               // index into the burst's session keys, -1: stateless
        uint16_t pkt;              // index in the burst (its verdict)
        bool fast;                 // parsed by fast_parse; after classify: reply prepared
        bool t2_ahead;             // its device T2 is ahead of the clock (counted if answered)
        proto::verified_sums sums; // what the check summed that the rewrite reuses
        proto::parsed_frame pf;
        proto::error_estimate error; // the reply's Error Estimate (T2's clock)
        // The fused fast path (proto/fast.hpp): the request's fields it read (its reply is
        // prepared in classify, straight into the candidate's pending slot: tx_[same index]).
        proto::fast_info info;
    };
    // A reply waiting for T3. classify fills tx_[k] for candidate k (T2, the fast path's
    // reply), rewrite completes it and compacts tx_ when a reply could not be made.
    struct pending {
        rte_mbuf* m;
        proto::pending_reply r;
        uint64_t t2_ns;
        uint64_t t2_raw; // the device RX timestamp (device units) when `dev`
        int32_t slot;    // its session record, -1: stateless
        uint32_t seq;    // the reply's Sequence Number (stateful)
        uint64_t t3_ns;  // transmit: T3 as sent
        uint8_t mode;    // transmit: the Timestamping Method that gave T3
        uint16_t ctx;
        bool dev;   // T2 from the device clock: T3 and the Error Estimate too
        bool stamp; // a STAMP reply (Follow-Up Telemetry)
        // r.auth != 0 (rewrite): the keys auth_finish uses after T3 (transmit).
        proto::auth_finish_keys keys;
    };
    // The one reply whose IEEE 1588 TX timestamp this worker waits for (housekeeping).
    struct follow_up_wait {
        const worker_port* wp = nullptr; // null: none in flight
        int32_t slot = -1;
        uint32_t seq = 0;
    };

    unsigned poll_port(const worker_port& wp) noexcept;
    void classify(burst& b) noexcept;
    next classify_one(burst& b, uint16_t i) noexcept;
    next classify_udp(burst& b, uint16_t i, rte_mbuf* m, const uint8_t* data, uint16_t len,
                      candidate& c) noexcept;
    void take_t2(burst& b, rte_mbuf* m, candidate& c, pending& p) noexcept;
    void lookup(burst& b) noexcept;
    void rewrite(burst& b) noexcept;
    void complete(burst& b, pending& p, const candidate& c) noexcept;
    void dispatch(burst& b) noexcept;
    void transmit(burst& b) noexcept;
    void to_slow_path(burst& b) noexcept;
    void count(burst& b) noexcept;
    void drain_to_wire() noexcept;
    void housekeeping() noexcept;
    void housekeeping_slice() noexcept;
    void read_follow_up() noexcept;
    proto::drop_reason check_limits(const context_rt& c, int32_t rule, uint16_t src_port, bool v6,
                                    const net::address_words& src, uint64_t now) noexcept;
    proto::drop_reason limit_request(const context_rt& c, int32_t rule, bool v6, uint64_t lo,
                                     uint64_t hi, uint64_t now) noexcept;
    limit_state::source_entry& source_entry_of(uint16_t ctx, bool v6, uint64_t lo, uint64_t hi,
                                               uint64_t now) noexcept;
    static proto::drop_reason gate_check(void* self, uint32_t i) noexcept;
    static void gate_created(void* self, uint32_t i) noexcept;
    static void session_removed(void* self, const session_key& k) noexcept;
    static void session_moved(void* self, const session_key& k, uint32_t from,
                              uint32_t to) noexcept;
    void recount_prefix_sessions() noexcept;
    void recount_slice() noexcept;
    void recount_one(const session_key& k, int delta) noexcept;
    int32_t prefix_rule_of(const context_rt& c, const session_key& k) const noexcept;
    next drop(uint16_t i, proto::drop_reason why) noexcept {
        why_[i] = why;
        return next::drop;
    }

    const worker_args& a_;
    worker_counters& wc_;
    const uint16_t burst_;
    unsigned pass_ = 0;
    uint64_t iids_[RTE_MAX_ETHPORTS] = {}; // the ports' IPv6 interface identifiers (EUI-64)
    unsigned n_iids_ = 0;
    follow_up_wait fu_;
    // The STAMP TLV address hooks (RFC 9503): tlv_policy_.self is &tlv_view_ (set per packet
    // in rewrite).
    tlv_address_view tlv_view_;
    proto::tlv_address_policy tlv_policy_;
    // The transmit path's allowance for device-clock T3s, ns (transmit, a decaying maximum).
    uint64_t tx_path_ns_ = 10'000; // until measured: 10 us
    // What this round reads, loaded once at its start (acquire).
    const snapshot* snap_ = nullptr;
    const control_table* control_ = nullptr;

    // The burst: received mbufs, verdicts, candidates, session keys, replies, exceptions.
    uint16_t last_n_ = 0;
    rte_mbuf* rx_[max_burst];
    next next_[max_burst];
    proto::drop_reason why_[max_burst];
    candidate cands_[max_burst];
    session_key keys_[max_burst];
    const session_key* key_ptrs_[max_burst];
    uint32_t key_limit_[max_burst];
    int32_t slots_[max_burst];
    pending tx_[max_burst];
    rte_mbuf* tx_mbufs_[max_burst];
    rte_mbuf* exc_[max_burst];
    // Limits: the state (null if it could not be allocated: every limited request dropped),
    // the session keys' prefix rules (for gated contexts), the gate's verdicts, the gate.
    limit_state* lim_ = nullptr;
    bool lim_heap_ = false; // lim_ from calloc (the EAL heap had no room), not rte_zmalloc
    int32_t key_rule_[max_burst];
    proto::drop_reason key_why_[max_burst];
    create_gate gate_;
    uint64_t gate_now_ = 0;
    uint32_t gate_refused_ = 0; // keys the gate refused in this burst's lookup
    // The new-session bucket gate_check admitted and its charged state, applied by
    // gate_created when the session is made (null: nothing to charge).
    uint64_t* gate_tat_ = nullptr;
    uint64_t gate_next_tat_ = 0;
    const snapshot* counted_snap_ = nullptr; // the snapshot the prefix counts were checked for
    bool recounting_ = false;       // a sliced prefix recount in progress (lim_->recount_stale)
    uint32_t recount_cursor_ = 0;   // the recount's next slot
    uint32_t recount_budget_ = 512; // slots walked per round (~50 us with every slot live)

public:
    // Tests: a prefix recount is in progress (it takes several rounds on a large table).
    bool recounting() const noexcept { return recounting_; }
    // Tests: the session slots a recount walks per round (default 512).
    void set_recount_budget(uint32_t slots) noexcept { recount_budget_ = slots ? slots : 1; }
};

// rte_eal_remote_launch() entry point; arg is a worker_args*. Runs a worker until *stop.
int worker_main(void* arg);

} // namespace twamp::dataplane
