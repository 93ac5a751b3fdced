// The hot loop. No allocation, locks, logging, exceptions or virtual calls in here; every
// packet ends with exactly one verdict: reflect, to-kernel or drop(reason).
#include "twamp/dataplane/worker.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_prefetch.h>

#include "twamp/net/address.hpp"
#include "twamp/proto/bytes.hpp"
#include "twamp/proto/packet.hpp"
#include "twamp/proto/reflect.hpp"
#include "twamp/proto/source_address.hpp"
#include "twamp/proto/test_packet.hpp"

namespace twamp::dataplane {

namespace {

// Aging walks the session records by slot (session_table::age): 256 slots every 16 rounds,
// ~16 slot reads per round (sequential, prefetcher-friendly: well under a cycle per packet). A
// full walk of a 1,000,000-session table (1.05 M slots) takes ~66,000 rounds: about a second
// at 2 Mpps in 32-packet bursts, less when idle (idle rounds are fast).
constexpr unsigned aging_every = 16;   // rounds (poll_once) between aging slices
constexpr uint32_t aging_budget = 256; // record slots walked per slice

// An address as two 64-bit words in the 16-octet key form (IPv4-mapped for IPv4:
// ::ffff:a.b.c.d), straight from the packet into registers.
using addr_words = net::address_words;
// ip: the IP header; the source address at octet 12 (IPv4) or 8 (IPv6), the destination at 16
// or 24.
inline addr_words mapped_addr(const uint8_t* ip, bool v6, bool src) noexcept {
    return net::mapped_words(ip + (v6 ? (src ? 8 : 24) : (src ? 12 : 16)), v6);
}

// The previous packet's reflector, source verdict and ACL verdict, within one burst (one
// snapshot): a burst is mostly one reflector's packets, often from one sender (a probe runs
// many sessions from one address), so most packets skip the context hash, the own-address
// table and the LPM lookup for a compare of three, three and one words.
struct burst_memo {
    // All ones is no real key: the VLAN word's top bits are always clear.
    snapshot::key_words kw{~uint64_t{0}, ~uint64_t{0}, ~uint64_t{0}};
    const context_rt* ctx = nullptr;
    // {0, 0} over IPv4 is no real source (its key form has ffff in the second word).
    bool v6 = false;
    addr_words src{};
    proto::drop_reason src_why = proto::drop_reason::none; // own_source_address, ...
    const context_rt* acl_ctx = nullptr; // null: no ACL verdict for this source yet
    bool admitted = false;
    int32_t rule = -1; // acl_ctx's prefix rule for the source (limits), -1: none
};

// classify's source check, once per new source in a burst: one of the box's own addresses or
// interface identifiers (own_source_address), or an address of one of its subnets that no
// reply may go to (bad_source_address). The registry checks (proto::unanswerable_ipv4_source()
// and _ipv6_source()) are in check_test_packet. Before the ACL, for static reflectors and
// TWAMP-Control sessions alike.
// Cost: through the burst memo a burst from one sender pays a compare of three words and one
// of the verdict, where the ACL memo alone compared four; the source MAC check is two loads
// and a compare per frame; the registry check two or three compares, 4.0 TSC cycles per call
// in a loop against 3.5 for the old one (2026-12-03). perf/bench.sh --quick could not resolve
// it on this 2-core machine under a load average of 7-10: identical runs swung by 2.5x.
// The box's IPv6 interface identifiers `iids`: the modified EUI-64 of every port's MAC (the
// TAP has the port's MAC, and the kernel forms its link-local fe80::/64 address, and any
// address it autoconfigures from a Router Advertisement, with it). A source with one of them
// is the box itself, whatever its prefix. As the second word of the key form.
inline proto::drop_reason source_verdict(const snapshot* snap, const uint64_t* iids,
                                         unsigned n_iids, bool v6, const addr_words& src) noexcept {
    if (v6) {
        for (unsigned k = 0; k < n_iids; ++k) {
            if (src.hi == iids[k]) {
                return proto::drop_reason::own_source_address;
            }
        }
    }
    return snap ? snap->source_verdict(src.lo, src.hi) : proto::drop_reason::none;
}

// The RFC 9503 TLVs' questions (proto::tlv_address_policy), for the request rewrite prepares
// (tlv_address_view, set per packet). Called only for requests that carry those TLVs.
// Destination Node Address (RFC 9503 §3): an address this very reflector answers on, on the
// request's port and VLAN and at its UDP port (a context key of the same context): the reply
// then comes from it. Not any address of the box (a sender on one VLAN would learn which
// addresses the box holds on another, and get replies sourced from another segment), not
// classify's interface-identifier shortcut (any prefix with a port's IID counts as the box
// there), and never a link-local one (IPv4 169.254/16, IPv6 fe80::/10: no source for a reply
// that may leave the link).
bool tlv_is_own(const void* self, uint8_t ip_version, const uint8_t* addr) noexcept {
    const auto& v = *static_cast<const tlv_address_view*>(self);
    const bool v6 = ip_version == 6;
    if (!v.snap || !v.ctx) {
        return false;
    }
    if (v6 ? addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80 : addr[0] == 169 && addr[1] == 254) {
        return false;
    }
    const addr_words w = net::mapped_words(addr, v6);
    return v.snap->find(snapshot::words(v.port, v.udp_port, v.vlan, w.lo, w.hi)) == v.ctx;
}
// Return Address (RFC 9503 §4.1.2): inside the request's reflector's ACL (the LPM lookup
// classify does for sources), and no address a source would be refused for before the ACL:
// not one of the box's own (the reply would come back to it), nor one of its subnets'
// network, broadcast or anycast addresses. And the reply's destination port (the request's
// source port) is no UDP port any reflector of this box listens on: a reflector there, at the
// Return Address, would answer the reply, and the two would play ping-pong (the handler in
// proto refuses ports below 1024 and the reflector's own already).
bool tlv_may_return_to(const void* self, uint8_t ip_version, const uint8_t* addr) noexcept {
    const auto& v = *static_cast<const tlv_address_view*>(self);
    const bool v6 = ip_version == 6;
    if (!v.snap || !v.ctx || v.snap->is_reflector_port(v.src_port)) {
        return false;
    }
    return source_verdict(v.snap, v.iids, v.n_iids, v6, net::mapped_words(addr, v6)) ==
                   proto::drop_reason::none &&
           v.snap->allowed(*v.ctx, v6, addr);
}

// What one request's TLVs were (proto::tlv_result), into its reflector's counters: a store
// per TLV type present and per flag set (only for STAMP requests with TLVs).
inline void count_tlvs(context_counters& cc, const proto::tlv_result& r) noexcept {
    for (std::size_t t = 0; t < proto::tlv_seen_slots; ++t) {
        if (r.seen[t]) {
            bump(cc.tlv_seen[t], r.seen[t]);
        }
    }
    if (r.unrecognized) {
        bump(cc.tlv_unrecognized, r.unrecognized);
    }
    if (r.malformed) {
        bump(cc.tlv_malformed, 1);
    }
    if (r.integrity) {
        bump(cc.tlv_integrity, r.integrity);
    }
    if (r.hmac_failed) {
        bump(cc.hmac_tlv_failures, 1);
    }
}

// Locals for one burst, added to the shared counters once at its end. (Drops are bumped where
// they happen: rare on a good burst, and a per-reason array cost ~230 instructions a burst to
// clear and walk, the most of any per-burst cost at light load.)
struct burst_counts {
    uint64_t rx_octets = 0;
    uint64_t reflected = 0;
    uint64_t reflected_octets = 0;
    uint64_t reflected_csum_off = 0; // Σ the replies' UDP checksum offsets (gufo_octets)
    uint64_t created = 0;
    uint64_t table_full = 0;
    uint64_t t2_ahead = 0;
};

// Gufo Agent's reflected_octets for a burst's replies: each one's UDP payload plus 28 (an IPv4
// header without options and the UDP header), whatever its L2 and L3 headers (README
// "Prometheus"). A reply's UDP payload starts 2 octets after its checksum and runs to the end
// of its frame: Σ (len - csum_off - 2 + 28), from the sums the burst keeps anyway plus one of
// the checksum offsets (one add a packet).
__rte_always_inline uint64_t gufo_octets(const burst_counts& bc) noexcept {
    return bc.reflected_octets - bc.reflected_csum_off + 26u * bc.reflected;
}

// A reflector's packet/octet counters over a run of consecutive packets of that reflector (a
// burst is usually all one reflector's): one store per run, not per packet.
class ctx_run {
public:
    ctx_run(counter context_counters::*pkts, counter context_counters::*octets) noexcept
        : pkts_field_(pkts), octets_field_(octets) {}

    void add(worker_counters& wc, uint16_t ctx, uint64_t octets) noexcept {
        if (ctx != ctx_) {
            flush(wc);
            ctx_ = ctx;
        }
        ++pkts_;
        octets_ += octets;
    }

    void flush(worker_counters& wc) noexcept {
        if (pkts_) {
            bump(wc.contexts[ctx_].*pkts_field_, pkts_);
            bump(wc.contexts[ctx_].*octets_field_, octets_);
            pkts_ = 0;
            octets_ = 0;
        }
    }

private:
    counter context_counters::*pkts_field_;
    counter context_counters::*octets_field_;
    uint16_t ctx_ = 0;
    uint64_t pkts_ = 0;
    uint64_t octets_ = 0;
};

inline uint32_t vlan_key(const proto::parsed_frame& pf) noexcept {
    if (pf.vlan_count == 0) {
        return 0;
    }
    if (pf.vlan_count == 1) {
        return pf.vlan_id[0];
    }
    return (uint32_t{pf.vlan_id[0]} << 16) | pf.vlan_id[1];
}

// A session key written as five 8-octet words (session_key's layout: context, SSID and the
// two ports in the first, then source and destination address). The session table reads it 8
// octets at a time (CRC, compare); a key assembled from 2- and 4-octet stores would make those
// loads miss store-to-load forwarding and stall.
static_assert(offsetof(session_key, ssid) == 2 && offsetof(session_key, src_port) == 4 &&
              offsetof(session_key, dst_port) == 6 && offsetof(session_key, src) == 8 &&
              offsetof(session_key, dst) == 24 && sizeof(session_key) == 40);
inline void store_key(session_key& k, uint64_t w0, uint64_t src_lo, uint64_t src_hi,
                      uint64_t dst_lo, uint64_t dst_hi) noexcept {
    static_assert(std::endian::native == std::endian::little);
    auto* b = reinterpret_cast<unsigned char*>(&k);
    std::memcpy(b, &w0, 8);
    std::memcpy(b + 8, &src_lo, 8);
    std::memcpy(b + 16, &src_hi, 8);
    std::memcpy(b + 24, &dst_lo, 8);
    std::memcpy(b + 32, &dst_hi, 8);
}

// A packet's reflector (or TWAMP-Control session) as classify resolves it.
struct target {
    const context_rt* ctx = nullptr;
    const proto::reflect_policy* policy = nullptr;
    int32_t ssid = -1; // a control session's tag: its records' SSID
    bool admitted = false;
    bool control = false;                              // a TWAMP-Control session's
    proto::drop_reason why = proto::drop_reason::none; // no_session: a control port, no session
};

// A static reflector: its ACL verdict for the burst memo's source, looked up once per
// (reflector, source) run. No LPM lookup for a source dropped anyway.
__rte_always_inline target reflector_target(burst_memo& memo, const snapshot& snap,
                                            const context_rt* ctx, bool v6,
                                            const uint8_t* ip) noexcept {
    if (ctx != memo.acl_ctx) {
        memo.acl_ctx = ctx;
        memo.rule = -1;
        if (likely(ctx->n_prefix_rules == 0)) {
            memo.admitted = memo.src_why == proto::drop_reason::none &&
                            snap.allowed(*ctx, v6, v6 ? ip + 8 : ip + 12);
        } else {
            memo.admitted = memo.src_why == proto::drop_reason::none &&
                            snap.allowed(*ctx, v6, v6 ? ip + 8 : ip + 12, memo.rule);
        }
    }
    target t;
    t.ctx = ctx;
    t.policy = &ctx->policy;
    t.admitted = memo.admitted;
    return t;
}

// A TWAMP-Control session's receiver port? Its packets count under the control context (slot
// `slot`) with the session's policy; admitted from the session's sender only, once started.
__rte_always_inline target control_target(const control_table& ctl, port_activity* activity,
                                          const snapshot* snap, uint16_t slot,
                                          proto::drop_reason src_why, const addr_words& dst,
                                          const addr_words& src, const proto::parsed_frame& pf,
                                          uint64_t now_tsc) noexcept {
    target t;
    uint8_t dst16[16];
    dst.to_bytes(dst16);
    const control_session_rt* cs = ctl.find(dst16, pf.dst_port);
    if (cs && snap && slot < snap->contexts().size()) {
        t.ctx = &snap->contexts()[slot];
        t.policy = &cs->policy;
        t.ssid = cs->tag;
        t.control = true;
        t.admitted = cs->started && src == cs->sender &&
                     (cs->sender_port == 0 || cs->sender_port == pf.src_port);
        if (!cs->started) {
            t.why = proto::drop_reason::no_session;
        } else if (t.admitted && src_why == proto::drop_reason::none &&
                   cs->policy.auth == proto::auth_mode::none) {
            // An authenticated session's port is touched once its packet verified (classify).
            touch(activity, pf.dst_port, now_tsc);
        }
    } else if (ctl.in_receiver_range(pf.dst_port)) {
        t.why = proto::drop_reason::no_session;
    }
    return t;
}

} // namespace

// One received burst's locals: the clocks read for it, the reply parameters, the counters
// summed until its end, the memo, and how far each stage got.
struct worker::burst {
    // tx_path_ns: the worker's measured transmit path (its allowance in a device-clock T3's
    // Error Estimate).
    burst(const worker_port& port, uint16_t count, const sw_clock& clock,
          uint64_t tx_path_ns) noexcept
        : wp(port), n(count), start_tsc(rte_rdtsc()), cm(clock.read()),
          t2_sw(sw_clock::to_ns(cm, start_tsc)), t2_enc(t2_sw, cm.tai_utc_offset_s),
          pm(port.time ? port.time->read() : port_time_map{}),
          dev(port.time && pm.mapped && start_tsc - pm.base_tsc < pm.valid_tsc),
          method(dev ? port.time->method : t3_method::software),
          dev_error_ns(!dev                             ? 0
                       : method == t3_method::scheduled ? pm.error_ns
                                                        : pm.error_ns + tx_path_ns),
          dev_error(
                  !dev ? proto::error_estimate{}
                  : method == t3_method::scheduled
                          ? pm.error
                          : proto::make_error_estimate(dev_error_ns, pm.error.synchronized, false)),
          dev_start_ns(dev && pm.ns_per_tsc_q32 ? pm.tsc_to_ns(start_tsc) : 0),
          sample_tx_ts(port.tx_ts != nullptr) {
        params.our_mac = wp.mac.addr_bytes;
        params.our_error = cm.error;
        params.tai_utc_offset_s = cm.tai_utc_offset_s;
        params.t2_encoded = &t2_enc;
        params.l4_cksum_offload = wp.tx_cksum;
        params.tlv_info = &tlv;
        // Timestamp Information (RFC 8972 §4.3): the system clock is what every timestamp is
        // mapped through (a device clock is fitted to it): NTP when the kernel says it is
        // synchronized (chrony, ntpd, or phc2sys from ptp4l: adjtimex does not tell which),
        // else free-running.
        const uint8_t src =
                cm.synchronized ? proto::sync_source::ntp : proto::sync_source::local_free_running;
        tlv.sync_src_in = src;
        tlv.sync_src_out = src;
    }

    const worker_port& wp;
    const uint16_t n; // packets received
    const uint64_t start_tsc;
    uint64_t lim_tsc = 0; // the limits' time: start_tsc, or a test's (worker_args::limits_tsc)
    // T2: one clock read per burst unless the packet carries a device timestamp.
    const clock_map cm;
    const uint64_t t2_sw;
    const proto::encoded_time t2_enc; // once per burst
    proto::reflect_params params;
    proto::tlv_reply_info tlv; // what a STAMP reply's TLVs say (rewrite fills it per reply)
    proto::tlv_result tlv_res; // what a STAMP request's TLVs were (rewrite counts it)
    // The port's time: one mapping for the device T2, T3 and Error Estimate of every reply
    // whose request carried a device timestamp (port_time.hpp).
    const port_time_map pm;
    const bool dev; // the port's device timestamps are mapped: T2 from them
    const t3_method method;
    // The Error Estimate of this burst's device-clock replies: the mapping's, plus, unless T3
    // is a scheduled departure, the transmit path's allowance.
    const uint64_t dev_error_ns;
    const proto::error_estimate dev_error;
    const uint64_t dev_start_ns; // the device clock at the burst's start (0: stated, no clock)
    // The port samples IEEE 1588 TX timestamps (a reply may be flagged if none is in flight).
    bool sample_tx_ts;

    burst_counts bc;
    ctx_run rx_run{&context_counters::rx_pkts, &context_counters::rx_octets};
    burst_memo memo;
    uint16_t nc = 0;    // candidates (classify)
    uint16_t nslow = 0; // candidates for the general path (rewrite prepares their replies)
    uint16_t nauth = 0; // replies with authenticated layouts (transmit finishes them)
    uint16_t nk = 0;    // session keys (classify, for lookup)
    uint16_t ntx = 0;   // replies (rewrite)
    uint16_t nexc = 0;  // frames to the kernel (dispatch)
    bool gated = false; // a session key of a context whose new sessions the limits check
};

worker::worker(const worker_args& args) noexcept
    : a_(args), wc_(*args.counters), burst_(args.burst > max_burst ? max_burst : args.burst) {
    for (const worker_port& wp : a_.ports) {
        if (n_iids_ < RTE_MAX_ETHPORTS) {
            const std::array<uint8_t, 8> id = proto::eui64_interface_id(wp.mac.addr_bytes);
            std::memcpy(&iids_[n_iids_++], id.data(), 8);
        }
    }
    tlv_view_.iids = iids_;
    tlv_view_.n_iids = n_iids_;
    tlv_policy_.self = &tlv_view_;
    tlv_policy_.is_own = tlv_is_own;
    tlv_policy_.may_return_to = tlv_may_return_to;
    if (a_.qsv) {
        rte_rcu_qsbr_thread_register(a_.qsv, a_.index);
        rte_rcu_qsbr_thread_online(a_.qsv, a_.index);
    }
    // The limits' state, zeroed: every bucket full, no source known (README "Limits").
    lim_ = static_cast<limit_state*>(
            rte_zmalloc("limit_state", sizeof(limit_state), RTE_CACHE_LINE_SIZE));
    if (!lim_) { // the EAL heap is short: the process heap (still once, at start)
        lim_ = static_cast<limit_state*>(std::calloc(1, sizeof(limit_state)));
        lim_heap_ = lim_ != nullptr;
    }
    if (!lim_) { // once, at start-up: every limited request of this worker will be dropped
        std::fprintf(stderr,
                     "dpdk-twamp: worker %u: no memory for the limits' state (%zu octets): its "
                     "rate-limited and session-gated requests are dropped\n",
                     a_.index, sizeof(limit_state));
    }
    gate_.self = this;
    gate_.check = gate_check;
    gate_.created = gate_created;
    if (a_.sessions) {
        a_.sessions->set_remove_hook(session_removed, this);
        a_.sessions->set_move_hook(session_moved, this);
    }
}

worker::~worker() {
    if (fu_.wp) {
        // The slow path may still be reading the latch: it will post a result nobody takes.
        // Free the mailbox only once it has (the box stops the slow path's polling after the
        // workers; a result left there is harmless).
        uint8_t st = fu_.wp->tx_ts->state.load(std::memory_order_acquire);
        if (st == tx_ts_mailbox::read || st == tx_ts_mailbox::missed) {
            fu_.wp->tx_ts->state.store(tx_ts_mailbox::idle, std::memory_order_release);
        }
    }
    if (a_.qsv) {
        rte_rcu_qsbr_thread_offline(a_.qsv, a_.index);
        rte_rcu_qsbr_thread_unregister(a_.qsv, a_.index);
    }
    if (a_.sessions) {
        wc_.sessions_active.store(a_.sessions->active(), std::memory_order_relaxed);
        a_.sessions->set_remove_hook(nullptr, nullptr);
        a_.sessions->set_move_hook(nullptr, nullptr);
    }
    if (lim_heap_) {
        std::free(lim_);
    } else {
        rte_free(lim_);
    }
}

// A reflector with the loop guard or a rate limit (context_rt::checks): the guard's bit test
// inline, the rate limits out of line.
__rte_always_inline proto::drop_reason worker::check_limits(const context_rt& c, int32_t rule,
                                                            uint16_t src_port, bool v6,
                                                            const net::address_words& src,
                                                            uint64_t now) noexcept {
    if (c.refused_ports && ((c.refused_ports[src_port / 64] >> (src_port % 64)) & 1)) {
        bump(wc_.contexts[c.index]
                     .limit_drops[limit_index(proto::drop_reason::reflector_source_port)],
             1);
        return proto::drop_reason::reflector_source_port;
    }
    return c.limited ? limit_request(c, rule, v6, src.lo, src.hi, now) : proto::drop_reason::none;
}

// The source table's entry for (reflector, source): a keyed hash (keyed_hash, the session
// table's per-process random key) picks the slot and is the tag. Another live source's entry
// (a bucket not full: tat ahead of now) is shared and counted; an idle one is taken over.
limit_state::source_entry& worker::source_entry_of(uint16_t ctx, bool v6, uint64_t lo, uint64_t hi,
                                                   uint64_t now) noexcept {
    const uint64_t h = keyed_hash::of64(lo, hi, ctx | (uint64_t{v6} << 16)) | 1;
    limit_state::source_entry& e = lim_->sources[h >> (64 - limit_state::source_bits)];
    if (e.tag != h) {
        if (e.tat > now || e.tat_new > now) {
            bump(wc_.source_collisions, 1);
        } else {
            e = {h, 0, 0};
        }
    }
    return e;
}

// The per-request limits of a reflector whose `limited` is set, at the burst's `now`: its own
// rate, its prefix rule's, the source's. A request is charged to every bucket or to none.
__attribute__((noinline)) proto::drop_reason worker::limit_request(const context_rt& c,
                                                                   int32_t rule, bool v6,
                                                                   uint64_t lo, uint64_t hi,
                                                                   uint64_t now) noexcept {
    context_counters& cc = wc_.contexts[c.index];
    proto::drop_reason why = proto::drop_reason::rate_limit_reflector;
    if (unlikely(!lim_)) {
        bump(cc.limit_drops[limit_index(why)], 1);
        return why; // no state: closed
    }
    uint64_t t_ctx = lim_->ctx_tat[c.index];
    const unsigned w = a_.index; // its share of each limit (split_rate)
    if (c.rate.on() && !c.rate.take(t_ctx, now, w)) {
        bump(cc.limit_drops[limit_index(why)], 1);
        return why;
    }
    const prefix_rule_rt* r = rule >= 0 ? &snap_->prefix_rules()[rule] : nullptr;
    uint64_t t_rule = r ? lim_->prefix_tat[c.index][r->index] : 0;
    if (r && r->rate.on() && !r->rate.take(t_rule, now, w)) {
        why = proto::drop_reason::rate_limit_prefix;
        bump(cc.limit_drops[limit_index(why)], 1);
        bump(cc.prefix_drops[r->index], 1);
        return why;
    }
    if (c.source.on()) {
        limit_state::source_entry& e = source_entry_of(c.index, v6, lo, hi, now);
        if (!c.source.take(e.tat, now, w)) {
            why = proto::drop_reason::rate_limit_source;
            bump(cc.limit_drops[limit_index(why)], 1);
            return why;
        }
    }
    lim_->ctx_tat[c.index] = t_ctx;
    if (r) {
        lim_->prefix_tat[c.index][r->index] = t_rule;
    }
    return proto::drop_reason::none;
}

// find_or_create_bulk's gate, before key i's session is created: the prefix rule's
// max-sessions (session_cap: the over-capacity action decides, lookup), then the source's
// new-session bucket (session_rate_limit).
proto::drop_reason worker::gate_check(void* self, uint32_t i) noexcept {
    worker& w = *static_cast<worker*>(self);
    const session_key& k = w.keys_[i];
    const context_rt& c = w.snap_->contexts()[k.ctx];
    proto::drop_reason why = proto::drop_reason::none;
    w.gate_tat_ = nullptr;
    if (!c.session_gate) {
        return why;
    }
    if (unlikely(!w.lim_)) {
        why = proto::drop_reason::session_rate_limit;
    } else {
        const int32_t rule = w.key_rule_[i];
        const prefix_rule_rt* r = rule >= 0 ? &w.snap_->prefix_rules()[rule] : nullptr;
        if (r && r->capped &&
            (w.lim_->prefix_sessions[k.ctx][r->index] >= r->max_for(w.a_.index) ||
             w.lim_->recount_stale[k.ctx])) {
            // (While its reflector's counts are recounted, a capped rule creates none:
            // recount_prefix_sessions.)
            why = proto::drop_reason::session_cap;
        } else if (c.session.on()) {
            uint64_t lo, hi;
            std::memcpy(&lo, k.src, 8);
            std::memcpy(&hi, k.src + 8, 8);
            const bool v6 = !(lo == 0 && static_cast<uint32_t>(hi) == 0xffff0000u);
            limit_state::source_entry& e = w.source_entry_of(k.ctx, v6, lo, hi, w.gate_now_);
            uint64_t tat = e.tat_new;
            if (!c.session.take(tat, w.gate_now_, w.a_.index)) {
                why = proto::drop_reason::session_rate_limit;
            } else {
                // Charged only if the session is created (gate_created): an insert that
                // fails (a full table) costs the source nothing.
                w.gate_tat_ = &e.tat_new;
                w.gate_next_tat_ = tat;
            }
        }
    }
    w.key_why_[i] = why;
    w.gate_refused_ += why != proto::drop_reason::none;
    return why;
}

void worker::gate_created(void* self, uint32_t i) noexcept {
    worker& w = *static_cast<worker*>(self);
    if (w.gate_tat_) { // the source's new-session bucket, as gate_check found it
        *w.gate_tat_ = w.gate_next_tat_;
        w.gate_tat_ = nullptr;
    }
    const int32_t rule = w.key_rule_[i];
    if (rule >= 0 && w.lim_) {
        const prefix_rule_rt& r = w.snap_->prefix_rules()[rule];
        if (r.capped) {
            ++w.lim_->prefix_sessions[r.ctx][r.index];
        }
    }
}

// The prefix rule (index into snapshot::prefix_rules(), -1: none) the current snapshot gives a
// session's source.
int32_t worker::prefix_rule_of(const context_rt& c, const session_key& k) const noexcept {
    uint64_t lo, hi;
    std::memcpy(&lo, k.src, 8);
    std::memcpy(&hi, k.src + 8, 8);
    const bool v6 = !(lo == 0 && static_cast<uint32_t>(hi) == 0xffff0000u);
    int32_t rule = -1;
    snap_->allowed(c, v6, v6 ? k.src : k.src + 12, rule);
    return rule;
}

// Aging removed a session: its prefix rule's count. The rule the current snapshot gives its
// source is the one that counted it: a snapshot that changes which rule caps which sessions
// has the counts recounted (recount_prefix_sessions) before the worker uses it.
void worker::session_removed(void* self, const session_key& k) noexcept {
    worker& w = *static_cast<worker*>(self);
    if (!w.snap_ || !w.lim_ || k.ctx >= w.snap_->contexts().size()) {
        return;
    }
    const context_rt& c = w.snap_->contexts()[k.ctx];
    if (!c.rules_gen) {
        return;
    }
    const int32_t rule = w.prefix_rule_of(c, k);
    if (rule >= 0) {
        const prefix_rule_rt& r = w.snap_->prefix_rules()[rule];
        uint32_t& n = w.lim_->prefix_sessions[r.ctx][r.index];
        n -= n > 0 && r.capped;
    }
}

// A new snapshot whose capped prefix rules differ for a context (context_rt::rules_gen, e.g. a
// reload that reorders, adds or removes prefix-limits): that context's per-rule session counts
// are recounted from the live sessions under the new rules, so that every count is the number
// of live sessions its rule holds (and settles as they age out). Only on such a reload.
//
// The walk is sliced (recount_slice, recount_budget_ slots a round (512), as aging is: with
// 1,000,000 sessions one walk took 100-300 ms, an RX overflow), and the counts stay exact:
// - the counts of the contexts being recounted (lim_->recount_stale) are built apart, in
//   recount_sessions, as "the live sessions of each rule in the slots below the cursor", and
//   replace prefix_sessions only once the cursor has passed every slot;
// - meanwhile a capped rule of such a context creates no session (gate_check: session_cap, the
//   over-capacity action decides): a conservative few rounds, never more than max-sessions;
// - aging waits (housekeeping_slice) so no session leaves, and a session a create moves
//   (session_moved, the cuckoo search: the only other change to the table) is moved across
//   the cursor in the counts too: counted when it lands below it from above, uncounted when
//   it goes the other way (the walk will meet it again).
// A snapshot that makes another context stale starts the walk again for all of them.
__attribute__((noinline, cold)) void worker::recount_prefix_sessions() noexcept {
    counted_snap_ = snap_;
    if (!lim_ || !snap_) {
        recounting_ = false;
        return;
    }
    const std::vector<context_rt>& ctxs = snap_->contexts();
    bool any = false;
    for (std::size_t i = 0; i < max_contexts; ++i) {
        const uint64_t gen = i < ctxs.size() && ctxs[i].active ? ctxs[i].rules_gen : 0;
        if (lim_->counted_gen[i] != gen) {
            lim_->counted_gen[i] = gen;
            std::memset(lim_->prefix_sessions[i], 0, sizeof(lim_->prefix_sessions[i]));
            lim_->recount_stale[i] = gen != 0;
            any = any || gen != 0;
        }
    }
    if (!any) {
        return; // an unchanged recount in progress goes on: its contexts' rules are the same
    }
    for (std::size_t i = 0; i < max_contexts; ++i) {
        if (lim_->recount_stale[i]) {
            std::memset(lim_->recount_sessions[i], 0, sizeof(lim_->recount_sessions[i]));
        }
    }
    // An empty table has nothing to walk: done at once (the slice below).
    recount_cursor_ = a_.sessions && a_.sessions->active() ? 0
                      : a_.sessions                        ? a_.sessions->slots()
                                                           : 0;
    recounting_ = true;
    recount_slice();
}

// One step of the recount: the next recount_budget_ slots; done, the counts go live.
__attribute__((noinline)) void worker::recount_slice() noexcept {
    session_table* st = a_.sessions;
    const uint32_t n = st ? st->slots() : 0;
    const uint32_t end = recount_cursor_ >= n ? n : std::min(n, recount_cursor_ + recount_budget_);
    for (uint32_t slot = recount_cursor_; slot < end; ++slot) {
        if (st->live(static_cast<int32_t>(slot))) {
            recount_one(st->key_at(static_cast<int32_t>(slot)), 1);
        }
    }
    recount_cursor_ = end;
    if (end < n) {
        return;
    }
    for (std::size_t i = 0; i < max_contexts; ++i) {
        if (lim_->recount_stale[i]) {
            std::memcpy(lim_->prefix_sessions[i], lim_->recount_sessions[i],
                        sizeof(lim_->prefix_sessions[i]));
            lim_->recount_stale[i] = false;
        }
    }
    recounting_ = false;
}

// A session of a context being recounted, counted (+1) or uncounted (-1) under its rule.
void worker::recount_one(const session_key& k, int delta) noexcept {
    if (k.ctx >= max_contexts || !lim_->recount_stale[k.ctx]) {
        return;
    }
    const int32_t rule = prefix_rule_of(snap_->contexts()[k.ctx], k);
    if (rule >= 0 && snap_->prefix_rules()[rule].capped) {
        lim_->recount_sessions[k.ctx][snap_->prefix_rules()[rule].index] +=
                static_cast<uint32_t>(delta);
    }
}

// A create's cuckoo search moved a session: across the recount's cursor, the counts follow.
void worker::session_moved(void* self, const session_key& k, uint32_t from, uint32_t to) noexcept {
    worker& w = *static_cast<worker*>(self);
    if (!w.recounting_ || !w.snap_) {
        return;
    }
    const bool was = from < w.recount_cursor_, is = to < w.recount_cursor_;
    if (was != is) {
        w.recount_one(k, is ? 1 : -1);
    }
}

// classify: parse, reflector, source and ACL checks, validation. Every packet gets its
// verdict; a candidate for a reply is written to cands_ (and its session key to keys_).
__rte_always_inline void worker::classify(burst& b) noexcept {
    const uint16_t n = b.n;
    for (uint16_t i = 0; i < n; ++i) {
        if (i + 3 < n) {
            rte_prefetch0(rte_pktmbuf_mtod(rx_[i + 3], void*));
        }
        next_[i] = classify_one(b, i);
    }
    b.rx_run.flush(wc_);
}

__rte_always_inline worker::next worker::classify_one(burst& b, uint16_t i) noexcept {
    rte_mbuf* m = rx_[i];
    const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
    const uint16_t len = rte_pktmbuf_data_len(m);
    b.bc.rx_octets += m->pkt_len;
    if (unlikely(len >= 12 && proto::bad_source_mac(data + 6))) {
        // A group or zero Ethernet source: no frame from a station has one, and a reply (or
        // the kernel's answer) to it would flood the segment.
        return drop(i, proto::drop_reason::bad_source_mac);
    }
    if (unlikely(m->nb_segs != 1)) {
        return next::to_kernel; // jumbo chains are nobody's test packets: the kernel's
    }
    if (unlikely(len >= 6 && (data[0] & 1))) {
        return next::to_kernel; // broadcast/multicast: ARP, ND, ...
    }
    if (unlikely(len >= 6 && std::memcmp(data, b.wp.mac.addr_bytes, 6) != 0)) {
        return drop(i, proto::drop_reason::l2_not_for_us);
    }
    candidate& c = cands_[b.nc];
    // The common frame (untagged or one tag, IHL 5 or plain IPv6, UDP) through the fused fast
    // path's parser; anything else through parse_frame, straight into the candidate
    // (guaranteed copy elision: a copy would read 16 octets at a time what parse_frame stored
    // 1-2 at a time).
    c.fast = proto::fast_parse(data, len, c.pf);
    if (!c.fast) {
        const proto::parsed_frame& pf = *new (&c.pf) proto::parsed_frame(
                proto::parse_frame(std::span<const uint8_t>(data, len)));
        if (pf.kind == proto::frame_kind::drop) {
            return drop(i, pf.reason);
        }
        if (pf.kind != proto::frame_kind::udp) {
            return next::to_kernel;
        }
    }
    return classify_udp(b, i, m, data, len, c);
}

__rte_always_inline worker::next worker::classify_udp(burst& b, uint16_t i, rte_mbuf* m,
                                                      const uint8_t* data, uint16_t len,
                                                      candidate& c) noexcept {
    const proto::parsed_frame& pf = c.pf;
    const uint8_t* ip = data + pf.l3_off;
    const bool v6 = pf.ip_version == 6;
    const addr_words dst = mapped_addr(ip, v6, false);
    burst_memo& memo = b.memo;
    const snapshot::key_words kw =
            snapshot::words(b.wp.port_index, pf.dst_port, vlan_key(pf), dst.lo, dst.hi);
    if (kw.a != memo.kw.a || kw.b != memo.kw.b || kw.c != memo.kw.c) {
        memo.kw = kw;
        memo.ctx = snap_ ? snap_->find(kw) : nullptr;
    }
    const addr_words src = mapped_addr(ip, v6, true);
    if (v6 != memo.v6 || src.lo != memo.src.lo || src.hi != memo.src.hi) {
        memo.v6 = v6; // ::ffff:a.b.c.d over IPv6 is not a.b.c.d
        memo.src = src;
        memo.src_why = source_verdict(snap_, iids_, n_iids_, v6, src);
        memo.acl_ctx = nullptr;
    }
    const target t = memo.ctx   ? reflector_target(memo, *snap_, memo.ctx, v6, ip)
                     : control_ ? control_target(*control_, a_.activity, snap_, a_.control_slot,
                                                 memo.src_why, dst, src, pf, b.start_tsc)
                                : target{};
    if (!t.ctx) {
        return drop(i,
                    t.why == proto::drop_reason::none ? proto::drop_reason::no_reflector : t.why);
    }
    if (t.why != proto::drop_reason::none) {
        return drop(i, t.why); // a control session not started yet
    }
    b.rx_run.add(wc_, t.ctx->index, m->pkt_len);
    proto::drop_reason why;
    if (unlikely(memo.src_why != proto::drop_reason::none)) {
        why = memo.src_why; // before the ACL, whatever it says
    } else if (!t.admitted) {
        why = proto::drop_reason::acl_denied;
        bump(wc_.contexts[t.ctx->index].acl_denied, 1);
    } else {
        const uint64_t ipck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
        const uint64_t l4ck = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
        pending& p = tx_[b.nc];
        take_t2(b, m, c, p);
        why = proto::fast_general;
        if (c.fast) {
            // Checked and rewritten in one pass (proto/fast.hpp): the reply is ready but for
            // its Sequence Number (a stateful session's, after the lookup) and T3. The same
            // octets as the general path's (tests/fuzz/fuzz_fast.cpp).
            proto::reflect_params& params = b.params;
            params.stateful = false;
            params.t2_ns = p.t2_ns;
            params.our_error = c.error;
            params.ipv4_checksum_verified = ipck == RTE_MBUF_F_RX_IP_CKSUM_GOOD;
            params.l4_checksum_verified = l4ck == RTE_MBUF_F_RX_L4_CKSUM_GOOD;
            why = proto::fast_reflect(rte_pktmbuf_mtod(m, uint8_t*),
                                      static_cast<uint16_t>(m->buf_len - m->data_off), pf,
                                      *t.policy, params, p.r, c.info);
            c.fast = why != proto::fast_general;
        }
        if (!c.fast) {
            why = proto::check_test_packet(std::span<const uint8_t>(data, len), pf, *t.policy,
                                           ipck == RTE_MBUF_F_RX_IP_CKSUM_GOOD,
                                           l4ck == RTE_MBUF_F_RX_L4_CKSUM_GOOD, &c.sums);
            if (unlikely(t.ctx->checks) && why == proto::drop_reason::none) {
                // The loop guard and the rate limits (README "Limits"), counted there: after
                // the checks (a source no reply may go to keeps its own reason), before any
                // HMAC or decryption.
                why = check_limits(*t.ctx, memo.rule, pf.src_port, v6, src, b.lim_tsc);
            }
            if (unlikely(t.policy->auth != proto::auth_mode::none) &&
                why == proto::drop_reason::none) {
                // Verified (and decrypted in place) before anything changes for it: a
                // packet failing its HMAC creates no session record, moves no sequence
                // statistics (they read the decrypted Sequence Number) and keeps no port
                // active; it only counts as a drop.
                why = proto::auth_open_request(
                        std::span<uint8_t>(rte_pktmbuf_mtod(m, uint8_t*), len), pf, *t.policy);
                if (why == proto::drop_reason::none && t.control) {
                    touch(a_.activity, pf.dst_port, b.start_tsc); // a control session's
                }
            }
        } else if (unlikely(t.ctx->checks) && why == proto::drop_reason::none) {
            // The same for a reply the fast path prepared: dropped if refused.
            why = check_limits(*t.ctx, memo.rule, pf.src_port, v6, src, b.lim_tsc);
        }
    }
    if (why != proto::drop_reason::none) {
        return drop(i, why);
    }
    c.m = m;
    c.ctx = t.ctx;
    c.policy = t.policy;
    c.key = -1;
    c.pkt = i;
    if (likely(c.fast)) {
        complete(b, tx_[b.nc], c); // a stateless reflector's reply is ready but for T3
    } else {
        ++b.nslow;
    }
    ++b.nc;
    if (!t.ctx->stateful) {
        return next::reflect;
    }
    session_key& sk = keys_[b.nk];
    const uint16_t ssid = t.ssid >= 0 ? static_cast<uint16_t>(t.ssid)
                          : c.fast    ? c.info.ssid
                                      : proto::test_packet_ssid(std::span<const uint8_t>(data, len),
                                                                pf, t.policy->mode, t.policy->auth);
    store_key(sk,
              t.ctx->index | (uint64_t{ssid} << 16) | (uint64_t{pf.src_port} << 32) |
                      (uint64_t{pf.dst_port} << 48),
              src.lo, src.hi, dst.lo, dst.hi);
    key_ptrs_[b.nk] = &sk;
    key_limit_[b.nk] = t.ctx->max_sessions_for(a_.index);
    if (unlikely(t.ctx->session_gate)) {
        key_rule_[b.nk] = memo.rule; // a static reflector's (a control context has none)
        b.gated = true;
    }
    c.key = static_cast<int16_t>(b.nk++);
    return next::reflect_stateful;
}

// T2 and its Error Estimate from one clock: the device's when the frame carries its RX
// timestamp (read here, before a scheduled T3 reuses the dynamic field), else the burst's
// software time.
__rte_always_inline void worker::take_t2(burst& b, rte_mbuf* m, candidate& c, pending& p) noexcept {
    p.t2_ns = b.t2_sw;
    c.error = b.cm.error;
    p.dev = b.dev && (m->ol_flags & a_.ts_dynflag);
    p.t2_raw = 0;
    c.t2_ahead = false;
    if (p.dev) {
        p.t2_raw = *RTE_MBUF_DYNFIELD(m, a_.ts_dynfield_offset, rte_mbuf_timestamp_t*);
        p.t2_ns = b.pm.to_ns(p.t2_raw);
        c.error = b.dev_error;
        if (unlikely(p.t2_ns > b.dev_start_ns + b.dev_error_ns) && b.dev_start_ns) {
            // Received after the worker took it from the ring, by the mapping: the device
            // clock stepped forward since the last refit. The reply says by how much more its
            // T2 may be off (and S = 0); counted.
            c.error = proto::make_error_estimate(b.dev_error_ns + (p.t2_ns - b.dev_start_ns), false,
                                                 false);
            c.t2_ahead = true; // counted once its reply is made (complete)
        }
    }
}

// lookup: the stateful candidates' sessions in one pipelined lookup (session_table's bulk
// lookup: the lookups of a burst overlap their cache misses instead of taking them one after
// another).
__rte_always_inline void worker::lookup(burst& b) noexcept {
    if (!b.nk) {
        return;
    }
    if (a_.sessions) {
        uint32_t created = 0, full = 0;
        gate_now_ = b.lim_tsc;
        gate_refused_ = 0;
        a_.sessions->find_or_create_bulk(key_ptrs_, b.nk, key_limit_, b.start_tsc, slots_, created,
                                         full, b.gated ? &gate_ : nullptr);
        if (unlikely(full || gate_refused_)) {
            // Over capacity (the reflector's share or a prefix rule's): "drop" turns a
            // stateless reply into a drop (session_cap), "stateless" a prefix rule's refusal
            // into a stateless reply (table_full). The gate's other refusals are drops.
            const std::vector<context_rt>& ctxs = snap_->contexts();
            for (uint16_t k = 0; k < b.nk; ++k) {
                const bool refused = slots_[k] == session_table::refused;
                if (slots_[k] != -1 && !refused) {
                    continue;
                }
                const context_rt& c = ctxs[keys_[k].ctx];
                if (refused && key_why_[k] != proto::drop_reason::session_cap) {
                    continue; // session_rate_limit
                }
                if (c.drop_over_capacity) {
                    if (!refused) {
                        key_rule_[k] = -1; // the reflector's share, not a prefix rule's
                    }
                    full -= !refused;
                    slots_[k] = session_table::refused;
                    key_why_[k] = proto::drop_reason::session_cap;
                } else if (refused) {
                    ++full;
                    slots_[k] = -1;
                }
            }
        }
        b.bc.created += created;
        b.bc.table_full += full;
    } else {
        for (uint16_t k = 0; k < b.nk; ++k) {
            slots_[k] = -1;
        }
        b.bc.table_full += b.nk;
    }
}

// A prepared reply's fields in its TX slot: length, mbuf, reflector, TX checksum offload; no
// session yet (rewrite sets it).
__rte_always_inline void worker::complete(burst& b, pending& p, const candidate& c) noexcept {
    rte_mbuf* m = c.m;
    const uint16_t rlen = p.r.len;
    m->data_len = rlen;
    m->pkt_len = rlen;
    p.m = m;
    p.slot = -1;
    p.seq = 0;
    p.ctx = c.ctx->index;
    p.stamp = c.policy->mode == proto::test_mode::stamp;
    if (p.r.offloaded) {
        // TX checksum offload: where the headers are and what to sum (the field holds the
        // pseudo-header sum, reflect_prepare).
        // The reply's L3 header length (IPv4 options are not returned: the reply's UDP header
        // is where its checksum field says, not where the request's was).
        m->tx_offload =
                rte_mbuf_tx_offload(c.pf.l3_off, p.r.csum_off - 6 - c.pf.l3_off, 0, 0, 0, 0, 0);
        m->ol_flags |= (c.pf.ip_version == 4 ? RTE_MBUF_F_TX_IPV4 : RTE_MBUF_F_TX_IPV6) |
                       RTE_MBUF_F_TX_UDP_CKSUM;
    }
    if (unlikely(p.r.stamp_short)) { // rare: one store, no burst local
        bump(wc_.contexts[c.ctx->index].stamp_short, 1);
    }
    b.bc.t2_ahead += c.t2_ahead;
}

// rewrite: what classify left. The fast path's replies are prepared (classify): a stateful
// one gets its session's Sequence Number; the general path's are prepared here. Session
// records are updated in packet order (a session's packets in one burst get consecutive
// reflector sequence numbers), by now in cache. A reply that cannot be made turns its
// packet's verdict into a drop and leaves the TX slots compacted. A burst of stateless fast
// replies skips the loop.
__rte_always_inline void worker::rewrite(burst& b) noexcept {
    b.ntx = b.nc;
    if (b.nslow == 0 && b.nk == 0) {
        return;
    }
    proto::reflect_params& params = b.params;
    params.tlv_addresses = &tlv_policy_;
    uint16_t failed = 0;
    for (uint16_t i = 0; i < b.nc; ++i) {
        candidate& c = cands_[i];
        pending& p = tx_[i];
        rte_mbuf* m = c.m;
        uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
        int32_t slot = -1;
        uint32_t seq = 0;
        session* s = nullptr;
        if (unlikely(c.key >= 0 && slots_[c.key] == session_table::refused)) {
            // A limit refused its new session (lookup): no reply, counted under its reason.
            const proto::drop_reason why = key_why_[c.key];
            context_counters& cc = wc_.contexts[c.ctx->index];
            bump(cc.limit_drops[limit_index(why)], 1);
            if (c.ctx->session_gate && key_rule_[c.key] >= 0 &&
                why == proto::drop_reason::session_cap) {
                const prefix_rule_rt& r = snap_->prefix_rules()[key_rule_[c.key]];
                if (r.capped) {
                    bump(cc.prefix_drops[r.index], 1);
                }
            }
            p.m = nullptr;
            ++failed;
            next_[c.pkt] = drop(c.pkt, why);
            continue;
        }
        if (c.key >= 0 && slots_[c.key] >= 0) {
            slot = slots_[c.key];
            s = &a_.sessions->at(slot);
            s->last_seen_tsc = b.start_tsc;
            seq = s->next_seq++;
        }
        if (likely(c.fast)) {
            // Prepared and completed in classify: the session's Sequence Number is all that
            // is left.
            if (s) {
                track_sender_seq(*s, c.info.sender_seq);
                proto::fast_set_seq(data, p.r, seq);
                p.slot = slot;
                p.seq = seq;
            }
            continue;
        }
        if (s) {
            track_sender_seq(*s, proto::test_packet_sender_seq(
                                         std::span<const uint8_t>(data, m->data_len), c.pf));
        }
        params.stateful = s != nullptr;
        params.reflector_seq = seq;
        params.t2_ns = p.t2_ns;
        params.our_error = c.error;
        params.verified_region_sum = c.sums.region_known ? &c.sums.region : nullptr;
        const bool tlvs = c.policy->mode == proto::test_mode::stamp &&
                          c.pf.payload_len() > proto::reflector::stamp_len;
        params.tlv_out = nullptr;
        if (tlvs) {
            // What the reply's TLVs say (read only when the request carries TLVs, i.e. is
            // longer than the 44-octet base): Timestamp Information, Follow-Up Telemetry,
            // Direct Measurement; the RFC 9503 hooks' packet; what the TLVs were (counted).
            proto::tlv_reply_info& ti = b.tlv;
            ti.ts_method_in = p.dev ? proto::ts_method::hw_assist : proto::ts_method::sw_local;
            ti.ts_method_out = p.dev && b.method == t3_method::scheduled
                                       ? proto::ts_method::hw_assist
                                       : proto::ts_method::sw_local;
            ti.stateful = s != nullptr;
            if (s) {
                ti.follow_up_seq = s->follow_up_seq;
                ti.follow_up_ns = s->follow_up_ns();
                ti.follow_up_mode = s->follow_up_mode();
                // Direct Measurement (RFC 8972 §4.5): the session's requests received, this
                // one included (track_sender_seq counted it), and its replies numbered, this
                // one included (a reply not made gives its number back below).
                ti.rx_count = static_cast<uint32_t>(s->packets);
                ti.tx_count = s->next_seq;
            } else {
                ti.rx_count = 0; // stateless: no session to count (conf/twamp.conf)
                ti.tx_count = 0;
            }
            tlv_view_.snap = snap_;
            tlv_view_.ctx = c.ctx;
            tlv_view_.port = b.wp.port_index;
            tlv_view_.udp_port = c.pf.dst_port;
            tlv_view_.vlan = vlan_key(c.pf);
            tlv_view_.src_port = c.pf.src_port;
            b.tlv_res.count = 0;
            params.tlv_out = &b.tlv_res;
        }
        const std::size_t cap = m->buf_len - m->data_off;
        // An authenticated reply's keys go beside it for auth_finish (transmit).
        params.auth_out = &p.keys;
        params.auth_opened = c.policy->auth != proto::auth_mode::none; // classify opened it
        // Straight into the TX slot, field by field: no temporary struct copied through the
        // stack (store-forwarding stalls, perf/RESULTS.md "bench.sh").
        const proto::drop_reason why = proto::reflect_prepare_into(std::span<uint8_t>(data, cap),
                                                                   c.pf, *c.policy, params, p.r);
        if (tlvs && b.tlv_res.count) {
            // Answered or not (No Reply Requested), its TLVs were processed: counted.
            count_tlvs(wc_.contexts[c.ctx->index], b.tlv_res);
        }
        if (unlikely(why != proto::drop_reason::none)) {
            // No reply (no_reply_requested, no_tailroom, ...): dropped and counted under its
            // reason in dispatch.
            p.m = nullptr; // compacted out below
            ++failed;
            if (s) {
                --s->next_seq; // no reply took the number: the sender sees no gap
            }
            next_[c.pkt] = drop(c.pkt, why);
            continue;
        }
        complete(b, p, c);
        p.slot = slot;
        p.seq = seq;
        if (unlikely(p.r.auth)) {
            ++b.nauth;
        }
    }
    if (unlikely(failed)) { // rare: the replies that could be made, in packet order
        uint16_t k = 0;
        for (uint16_t i = 0; i < b.nc; ++i) {
            if (tx_[i].m) {
                if (k != i) {
                    tx_[k] = tx_[i];
                }
                ++k;
            }
        }
        b.ntx = k;
    }
}

// dispatch: every verdict acted on, once, in packet order. The replies are in tx_ already
// (rewrite); frames for the kernel go to exc_, drops are counted under their reason and freed.
// A burst whose every packet is answered skips the loop.
__rte_always_inline void worker::dispatch(burst& b) noexcept {
    if (b.ntx == b.n) {
        return;
    }
    for (uint16_t i = 0; i < b.n; ++i) {
        switch (next_[i]) {
        case next::to_kernel:
            exc_[b.nexc++] = rx_[i];
            break;
        case next::drop:
            bump(wc_.drops[static_cast<std::size_t>(why_[i])], 1);
            rte_pktmbuf_free(rx_[i]);
            break;
        case next::reflect:
        case next::reflect_stateful:
            break;
        }
    }
}

// transmit: T3 as late as possible, from the clock T2 came from, then the checksum's last
// words, then out; what the NIC does not take is freed and counted (tx_full).
//   software T2: T3 is the software clock now (the burst's map: T3 >= T2 by construction);
//   device T2, "device-clock": the device clock now through the port's one mapping (a stated
//     clock: T2 plus the residence the TSC measured since the burst came in);
//   device T2, "scheduled": the device is told to send the reply at T2 + lead and T3 is that
//     instant; a reply whose instant has already passed is stamped "device-clock" and
//     counted (t3_fallback), never sent with a stale T3.
// A device T3 below its T2 (the mapping was off: a device clock step not refitted yet) is sent
// as T3 = T2 with the Error Estimate widened by the difference, and counted (t3_clamped).
__rte_always_inline void worker::transmit(burst& b) noexcept {
    const uint16_t ntx = b.ntx;
    if (!ntx) {
        return;
    }
    const clock_map& cm = b.cm;
    const uint64_t tx_tsc = rte_rdtsc();
    // T3 converted once for the burst, like T2.
    const proto::encoded_time t3_enc(sw_clock::to_ns(cm, tx_tsc), cm.tai_utc_offset_s);
    const port_time_map& pm = b.pm;
    // The device clock now (a stated clock has no "now": its replies add the residence).
    const bool stated = pm.ns_per_tsc_q32 == 0;
    const uint64_t dev_now = b.dev && !stated ? pm.tsc_to_ns(tx_tsc) : 0;
    // The device clock's T3, converted once for the burst like the software one.
    const proto::encoded_time t3_dev =
            b.dev ? proto::encoded_time(dev_now, pm.tai_utc_offset_s) : proto::encoded_time();
    // A scheduled time must still be ahead when the device sees the frame: after the transmit
    // path, and beyond what the fit may be off by. Otherwise the device would send at once
    // under a T3 still to come.
    const uint64_t sched_margin = tx_path_ns_ + pm.fit_error_ns;
    const uint64_t residence_tsc_ns = static_cast<uint64_t>(
            (static_cast<proto::u128>(tx_tsc - b.start_tsc) * cm.ns_per_tsc) >> 32);
    const port_time* pt = b.wp.time;
    // schedule_first_only (cnxk): only the burst's first frame can be scheduled; the others
    // leave behind it, one after another (held_until, held_octets: the wire time before them).
    uint64_t held_until = 0, held_octets = 0;
    int flagged = -1;       // the reply flagged for an IEEE 1588 TX timestamp
    bool auth_done = false; // an authenticated reply of this burst is finished (its crypto)
    if (b.sample_tx_ts) {
        b.sample_tx_ts =
                !fu_.wp && b.wp.tx_ts->state.load(std::memory_order_relaxed) == tx_ts_mailbox::idle;
    }
    uint64_t fallback = 0, clamped = 0;
    // Residence times, as the replies state them, counted per run of equal (reflector,
    // residence): with the burst's software T2 that is one run.
    uint16_t res_ctx = tx_[0].ctx;
    uint64_t res_ns = 0, res_n = 0;
    auto res_flush = [&] {
        if (res_n) {
            context_counters& cc = wc_.contexts[res_ctx];
            bump(cc.residence[residence_bucket(res_ns)], res_n);
            bump(cc.residence_sum_ns, res_ns * res_n);
        }
    };
    for (uint16_t i = 0; i < ntx; ++i) {
        pending& p = tx_[i];
        uint8_t* f = rte_pktmbuf_mtod(p.m, uint8_t*);
        uint64_t t3;
        uint8_t mode = proto::ts_method::sw_local;
        bool late = false;
        if (likely(!p.dev)) {
            if (unlikely(auth_done) && p.r.auth) {
                // An authenticated reply after another one's HMAC/encryption (below): its own
                // T3, read now, not the burst's (which that crypto would have made stale).
                t3 = sw_clock::to_ns(cm, rte_rdtsc());
                proto::reflect_finish(f, p.r, t3, cm.tai_utc_offset_s);
            } else {
                t3 = t3_enc.ns;
                proto::reflect_finish(f, p.r, t3_enc);
            }
        } else {
            t3 = stated ? p.t2_ns + residence_tsc_ns : dev_now;
            uint64_t held_wire_ns = 0;
            if (b.method == t3_method::scheduled) {
                const uint64_t at_raw = p.t2_raw + pm.lead_raw;
                const uint64_t at = pm.to_ns(at_raw);
                const bool may = i == 0 || !pt->schedule_first_only;
                if (likely(may && at > dev_now + sched_margin)) {
                    // Read T2 before (rewrite), now the shared dynamic field takes the TX time.
                    *RTE_MBUF_DYNFIELD(p.m, pt->tx_ts_offset, rte_mbuf_timestamp_t*) = at_raw;
                    p.m->ol_flags |= pt->tx_ts_flag;
                    t3 = at;
                    mode = proto::ts_method::hw_assist;
                    held_until = pt->schedule_first_only ? at : 0;
                } else if (held_until > t3) {
                    // schedule_first_only: queued behind the burst's scheduled first frame, it
                    // leaves after it and the frames between, not before: T3 the first's time
                    // plus their wire time (preamble, inter-frame gap and FCS: 24 octets each),
                    // the Error Estimate widened by as much.
                    held_wire_ns = (held_octets * pm.wire_ns_per_octet_q16) >> 16;
                    t3 = held_until + held_wire_ns;
                    mode = proto::ts_method::hw_assist;
                } else {
                    ++fallback; // stamped from the device clock: the TLV says so too, and the
                                // Error Estimate covers the transmit path
                    proto::reflect_set_ts_out(f, p.r, proto::ts_method::sw_local);
                    late = true;
                }
            }
            if (held_until) {
                held_octets += p.r.len + 24u;
            }
            if (unlikely(late || held_wire_ns) && t3 >= p.t2_ns) {
                proto::reflect_finish(f, p.r, t3, pm.tai_utc_offset_s,
                                      proto::make_error_estimate(
                                              pm.error_ns + (late ? tx_path_ns_ : held_wire_ns),
                                              pm.error.synchronized, false));
            } else if (likely(t3 >= p.t2_ns)) {
                if (t3 == t3_dev.ns) {
                    proto::reflect_finish(f, p.r, t3_dev);
                } else {
                    proto::reflect_finish(f, p.r, t3, pm.tai_utc_offset_s);
                }
            } else {
                // Never a T3 before T2, never a forged one: T3 = T2 and an Error Estimate that
                // covers how far the device clock's mapping was off.
                ++clamped;
                // T2 itself is off by that much plus the residence the TSC measured (the true
                // T3 is a residence after the true T2).
                const uint64_t off = p.t2_ns - t3 + residence_tsc_ns;
                t3 = p.t2_ns;
                proto::reflect_finish(
                        f, p.r, t3, pm.tai_utc_offset_s,
                        proto::make_error_estimate(b.dev_error_ns + off, false, false));
            }
        }
        p.t3_ns = t3;
        p.mode = mode;
        if (unlikely(b.nauth) && p.r.auth) {
            // Authenticated replies: T3 is inside their HMAC (and, encrypted, their
            // ciphertext): the HMACs, the encryption and the checksum's last change right
            // after their own T3 (proto/auth.hpp). Their T3 is the time just before their own
            // crypto: a software T3 is read again after an earlier authenticated reply's
            // crypto; what the crypto of the replies after it in the burst adds before the
            // burst leaves is, as for every reply, the transmit loop's time (not in the Error
            // Estimate). A device-clock T3 stays the burst's (or the scheduled instant).
            proto::auth_finish(f, p.r, p.keys);
            auth_done = true;
        }
        if (unlikely(b.sample_tx_ts) && p.slot >= 0 && p.stamp) {
            // One IEEE 1588 TX timestamp in flight per port: claim the mailbox, flag this reply
            // (posted to the slow path once the device took it, below). One try per burst.
            b.sample_tx_ts = false;
            uint8_t idle = tx_ts_mailbox::idle;
            if (b.wp.tx_ts->state.compare_exchange_strong(idle, tx_ts_mailbox::claimed,
                                                          std::memory_order_acquire,
                                                          std::memory_order_relaxed)) {
                p.m->ol_flags |= RTE_MBUF_F_TX_IEEE1588_TMST;
                flagged = i;
            }
        }
        tx_mbufs_[i] = p.m;
        b.bc.reflected_octets += p.r.len;
        b.bc.reflected_csum_off += p.r.csum_off;
        const uint64_t res = t3 - p.t2_ns; // >= 0: a device T3 is never below its T2
        if (p.ctx != res_ctx || res != res_ns) {
            res_flush();
            res_ctx = p.ctx;
            res_ns = res;
            res_n = 0;
        }
        ++res_n;
    }
    res_flush();
    if (unlikely(fallback)) {
        bump(wc_.t3_fallback, fallback);
    }
    if (unlikely(clamped)) {
        bump(wc_.t3_clamped, clamped);
    }
    const uint16_t sent = rte_eth_tx_burst(b.wp.port_id, b.wp.queue, tx_mbufs_, ntx);
    if (unlikely(flagged >= 0)) {
        tx_ts_mailbox& mb = *b.wp.tx_ts;
        if (flagged < sent) {
            const pending& p = tx_[flagged];
            mb.since_tsc = tx_tsc;
            mb.t3_ns = p.t3_ns;
            mb.state.store(tx_ts_mailbox::flagged, std::memory_order_release);
            fu_ = {&b.wp, p.slot, p.seq};
            bump(wc_.tx_ts_requested, 1);
        } else {
            mb.state.store(tx_ts_mailbox::idle, std::memory_order_release); // not sent
        }
    }
    if (b.dev) {
        // The transmit path: from the T3 read to the device holding the burst. A decaying
        // maximum (1/64 of it per burst), so one slow burst widens the next ones' error for a
        // while.
        const uint64_t took = static_cast<uint64_t>(
                (static_cast<proto::u128>(rte_rdtsc() - tx_tsc) * cm.ns_per_tsc) >> 32);
        tx_path_ns_ = std::max(took, tx_path_ns_ - (tx_path_ns_ >> 6));
    }
    b.bc.reflected = sent;
    ctx_run tx_run(&context_counters::reflected_pkts, &context_counters::reflected_octets);
    for (uint16_t i = 0; i < sent; ++i) { // what the NIC took, per reflector
        const pending& p = tx_[i];
        tx_run.add(wc_, p.ctx, p.r.len);
        if (p.slot >= 0) {
            // What the next reply of this session reports in its Follow-Up Telemetry TLV.
            session& s = a_.sessions->at(p.slot);
            s.follow_up_seq = p.seq;
            s.follow_up(p.t3_ns, p.mode);
        }
    }
    tx_run.flush(wc_);
    if (unlikely(sent < ntx)) {
        for (uint16_t i = sent; i < ntx; ++i) {
            b.bc.reflected_octets -= tx_mbufs_[i]->pkt_len;
            b.bc.reflected_csum_off -= tx_[i].r.csum_off;
        }
        bump(wc_.drops[static_cast<std::size_t>(proto::drop_reason::tx_full)], ntx - sent);
        rte_pktmbuf_free_bulk(tx_mbufs_ + sent, ntx - sent);
    }
}

// to_slow_path: the frames for the kernel in one bulk enqueue; a full ring is a counted drop,
// never a wait. Counted as to-kernel by the slow path once the TAP has taken them.
__rte_always_inline void worker::to_slow_path(burst& b) noexcept {
    const uint16_t nexc = b.nexc;
    if (!nexc) {
        return;
    }
    unsigned q = a_.exception_ring
                         ? rte_ring_sp_enqueue_burst(a_.exception_ring,
                                                     reinterpret_cast<void**>(exc_), nexc, nullptr)
                         : 0;
    if (q < nexc) {
        bump(wc_.drops[static_cast<std::size_t>(proto::drop_reason::exception_ring_full)],
             nexc - q);
        rte_pktmbuf_free_bulk(exc_ + q, nexc - q);
    }
}

// The burst's counters, added to the worker's block once.
__rte_always_inline void worker::count(burst& b) noexcept {
    const burst_counts& bc = b.bc;
    bump(wc_.rx_pkts, b.n);
    bump(wc_.rx_octets, bc.rx_octets);
    bump(wc_.reflected_pkts, bc.reflected);
    bump(wc_.reflected_octets, bc.reflected_octets);
    bump(wc_.reflected_gufo_octets, gufo_octets(bc));
    if (bc.created) {
        bump(wc_.sessions_created, bc.created);
    }
    if (bc.table_full) {
        bump(wc_.sessions_table_full, bc.table_full);
    }
    if (unlikely(bc.t2_ahead)) {
        bump(wc_.t2_ahead, bc.t2_ahead);
    }
    bump(wc_.busy_cycles, rte_rdtsc() - b.start_tsc);
    bump(wc_.busy_pkts, b.n);
}

// Last measured (perf/bench.sh, 2026-11-23 evening, commits 055aaee and 0adc493, AMD EPYC Zen 4
// KVM guest, TSC 2.6 GHz, one worker on net_pcap): 157-174 busy TSC cycles/packet for stateless
// TWAMP Light IPv4 (11.8-12.5 Mpps, 0.50-0.52 of testpmd 5tswap on the same device), 235-247
// with 1,000 sessions and a 64-rule ACL, 280-334 with 1,000,000 sessions (0.48-0.60 of
// testpmd). perf/RESULTS.md has the rest. The split into stages (issue 13, 2026-12-06) kept the
// instructions per packet of the whole worker (valgrind callgrind over a prefilled net_ring
// port, against the single-function loop of 82a3685): 985 against 989 for stateless TWAMP
// Light, 1,353 against 1,352 with 1,000 sessions, 992 against 996 for STAMP, 976 against 969
// for bursts with 3 packets in 8 to the kernel or dropped (dispatch's loop).
__rte_always_inline unsigned worker::poll_port(const worker_port& wp) noexcept {
    const uint16_t n = rte_eth_rx_burst(wp.port_id, wp.queue, rx_, burst_);
    bump(wc_.polls, 1);
    if (n == 0) {
        bump(wc_.idle_polls, 1);
        return 0;
    }
    // A device-clock T3 is the clock read before the burst's replies are finished and handed
    // to the device: they leave up to the transmit path's time later (tx_path_ns_, measured in
    // transmit), which the burst adds to their error. A scheduled T3 is the departure itself.
    burst b(wp, n, *a_.clock, tx_path_ns_);
    b.lim_tsc = unlikely(a_.limits_tsc != nullptr) ? a_.limits_tsc->load(std::memory_order_relaxed)
                                                   : b.start_tsc;
    classify(b);
    lookup(b);
    rewrite(b);
    dispatch(b);
    transmit(b);
    to_slow_path(b);
    count(b);
    last_n_ = n;
    return n;
}

// drain_to_wire: kernel -> wire frames the slow path handed to this worker, on its TX queue.
__rte_always_inline void worker::drain_to_wire() noexcept {
    for (const worker_port& wp : a_.ports) {
        if (!wp.to_wire) {
            continue;
        }
        unsigned k = rte_ring_sc_dequeue_burst(wp.to_wire, reinterpret_cast<void**>(exc_), burst_,
                                               nullptr);
        if (k) {
            uint16_t sent = rte_eth_tx_burst(wp.port_id, wp.queue, exc_, static_cast<uint16_t>(k));
            bump(wc_.exception_to_wire, sent);
            if (sent < k) {
                bump(wc_.to_wire_drops[static_cast<std::size_t>(to_wire_drop::tx_full)],
                     k - sent); // not received frames: apart from the drop reasons
                rte_pktmbuf_free_bulk(exc_ + sent, k - sent);
            }
        }
    }
}

// housekeeping: every aging_every rounds a slice of session aging, the active-session gauges and
// a slice of a pending session query; then, last, the RCU quiescent state that ends the round
// (nothing of this round's snapshot or control table is held past it).
__rte_always_inline void worker::housekeeping() noexcept {
    if (unlikely(fu_.wp != nullptr)) {
        read_follow_up();
    }
    if (++pass_ % aging_every == 0 && snap_ && a_.sessions) {
        housekeeping_slice();
    }
    // Last: from here on this worker holds nothing of the view it loaded (the aging slice above
    // read its snapshot and control table), so the slow path may free it.
    if (a_.qsv) {
        rte_rcu_qsbr_quiescent(a_.qsv, a_.index);
    }
}

// Every aging_every rounds: a slice of session aging (against the round's view), the
// active-session gauges, a slice of a pending session query.
__rte_always_inline void worker::housekeeping_slice() noexcept {
    session_table& st = *a_.sessions;
    // Not while a prefix recount walks the table: no session may leave it meanwhile.
    uint32_t aged = unlikely(recounting_)
                            ? 0
                            : st.age(*snap_, rte_rdtsc(), aging_budget, control_, a_.control_slot);
    if (aged) {
        bump(wc_.sessions_aged, aged);
    }
    wc_.sessions_active.store(st.active(), std::memory_order_relaxed);
    const std::size_t nctx = snap_->contexts().size();
    for (std::size_t c = 0; c < nctx; ++c) {
        wc_.contexts[c].sessions_active.store(st.active_in(static_cast<uint16_t>(c)),
                                              std::memory_order_relaxed);
    }
    if (a_.query) {
        session_query& q = *a_.query;
        int s = q.state.load(std::memory_order_acquire);
        if (s == session_query::requested) {
            q.iter = 0;
            q.count = 0;
            q.scanned = 0;
            q.overflow = false;
            st.cancel_scan(); // a batch walk is tied to one request
            q.state.store(session_query::scanning, std::memory_order_relaxed);
            s = session_query::scanning;
        }
        // A slice of the walk per round: as many slots as an aging slice.
        if (s == session_query::scanning && st.scan(q, aging_budget)) {
            q.state.store(session_query::done, std::memory_order_release);
        }
    }
}

// The IEEE 1588 TX timestamp of the one reply this worker flagged (transmit), as the slow path
// read it from the device (poll_tx_timestamp): it replaces that reply's T3 in its session's
// Follow-Up Telemetry record unless a newer reply already went out (or the slot is free or now
// holds another session, after aging or a displacing create: its record never matches a flagged
// reply's sequence number and time);
// given up after 10 ms (missed). Either way the port's mailbox is free again.
void worker::read_follow_up() noexcept {
    tx_ts_mailbox& mb = *fu_.wp->tx_ts;
    const uint8_t st = mb.state.load(std::memory_order_acquire);
    if (st == tx_ts_mailbox::read) {
        bump(wc_.tx_ts_read, 1);
        if (fu_.slot >= 0 && a_.sessions) {
            // The slot may have been freed, or may hold another session by now (aging, or a
            // create that displaced entries): the sequence number and time tell.
            session& s = a_.sessions->at(fu_.slot);
            if (a_.sessions->live(fu_.slot) && s.follow_up_seq == fu_.seq &&
                s.follow_up_ns() == mb.t3_ns) {
                s.follow_up(mb.ns, proto::ts_method::hw_assist);
            }
        }
    } else if (st == tx_ts_mailbox::missed) {
        bump(wc_.tx_ts_missed, 1);
    } else {
        return; // still with the slow path
    }
    mb.state.store(tx_ts_mailbox::idle, std::memory_order_release);
    fu_ = {};
}

unsigned worker::poll_once() noexcept {
    // What the round reads, loaded once (acquire) and held until housekeeping's quiescent
    // state.
    const view* vw = a_.view->load(std::memory_order_acquire);
    snap_ = vw ? vw->snap.get() : nullptr;
    control_ = vw ? vw->control.get() : nullptr;
    if (unlikely(snap_ != counted_snap_)) {
        recount_prefix_sessions(); // a new snapshot: its prefix rules may count otherwise
    } else if (unlikely(recounting_)) {
        recount_slice(); // a slice a round until done (recount_prefix_sessions)
    }
    unsigned got = 0;
    for (const worker_port& wp : a_.ports) {
        got += poll_port(wp);
    }
    drain_to_wire();
    housekeeping();
    return got;
}

int worker_main(void* arg) {
    const auto& args = *static_cast<const worker_args*>(arg);
    worker w(args);
    while (!args.stop->load(std::memory_order_relaxed)) {
        w.poll_once();
    }
    return 0;
}

} // namespace twamp::dataplane
