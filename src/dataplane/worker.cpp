// The hot loop. No allocation, locks, logging, exceptions or virtual calls in here; every
// packet ends with exactly one verdict: reflect, to-kernel or drop(reason).
#include "worker.hpp"

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_prefetch.h>

#include <bit>
#include <cstddef>
#include <cstring>
#include <new>

#include "twamp/net/address.hpp"
#include "twamp/proto/bytes.hpp"
#include "twamp/proto/packet.hpp"
#include "twamp/proto/reflect.hpp"
#include "twamp/proto/source_address.hpp"

namespace twamp::dataplane {

namespace {

constexpr uint16_t max_burst = 64;
// Aging walks the session records by slot (session_table::age): 256 slots every 16 passes,
// ~16 slot reads per pass (sequential, prefetcher-friendly: well under a cycle per packet). A
// full walk of a 1,000,000-session table (1.125 M slots) takes ~70,000 passes: about a second
// at 2 Mpps in 32-packet bursts, less when idle (idle passes are fast).
constexpr unsigned aging_every = 16;   // passes between aging slices
constexpr uint32_t aging_budget = 256; // record slots walked per slice

struct pending {
    rte_mbuf* m;
    proto::pending_reply r;
    uint64_t t2_ns;
    uint16_t ctx;
};

// A packet that passed validation in pass 1, waiting for its session (pass 2) and reply
// (pass 3).
struct candidate {
    rte_mbuf* m;
    const context_rt* ctx;
    const proto::reflect_policy* policy;
    int16_t key;               // index into the burst's session keys, -1: stateless
    proto::verified_sums sums; // what the check summed that the rewrite reuses
    proto::parsed_frame pf;
};

// An address as two 64-bit words in the 16-octet key form (IPv4-mapped for IPv4:
// ::ffff:a.b.c.d), straight from the packet into registers.
using addr_words = net::address_words;
// The body is net::mapped_words with the header offsets inside each branch: calling it with a
// computed pointer gave GCC 12 a different block layout of worker_main (not measured; kept as
// it was). Keep the two in step.
inline addr_words mapped_addr(const uint8_t* ip, bool v6, bool src) noexcept {
    addr_words w;
    if (v6) {
        std::memcpy(&w.lo, ip + (src ? 8 : 24), 8);
        std::memcpy(&w.hi, ip + (src ? 16 : 32), 8);
    } else {
        uint32_t a4;
        std::memcpy(&a4, ip + (src ? 12 : 16), 4);
        w.lo = 0;
        w.hi = 0xffff0000ULL | (uint64_t{a4} << 32); // little-endian: octets 8..15
    }
    return w;
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
};

// The box's IPv6 interface identifiers: the modified EUI-64 of every port's MAC (the TAP has
// the port's MAC, and the kernel forms its link-local fe80::/64 address, and any address it
// autoconfigures from a Router Advertisement, with it). A source with one of them is the box
// itself, whatever its prefix. As the second word of the key form.
struct own_iids {
    uint64_t w[RTE_MAX_ETHPORTS] = {};
    unsigned n = 0;
};

// Pass 1's source check, once per new source in a burst: one of the box's own addresses or
// interface identifiers (own_source_address), or an address of one of its subnets that no
// reply may go to (bad_source_address). The registry checks (proto::unanswerable_ipv4_source()
// and _ipv6_source()) are in check_test_packet. Before the ACL, for static reflectors and
// TWAMP-Control sessions alike.
// Cost: through the burst memo a burst from one sender pays a compare of three words and one
// of the verdict, where the ACL memo alone compared four; the source MAC check is two loads
// and a compare per frame; the registry check two or three compares, 4.0 TSC cycles per call
// in a loop against 3.5 for the old one (2026-12-03). perf/bench.sh --quick could not resolve
// it on this 2-core machine under a load average of 7-10: identical runs swung by 2.5x.
inline proto::drop_reason source_verdict(const snapshot* snap, const own_iids& iids, bool v6,
                                         const addr_words& src) noexcept {
    if (v6) {
        for (unsigned k = 0; k < iids.n; ++k) {
            if (src.hi == iids.w[k]) {
                return proto::drop_reason::own_source_address;
            }
        }
    }
    return snap ? snap->source_verdict(src.lo, src.hi) : proto::drop_reason::none;
}

// Locals for one burst, added to the shared counters once at its end.
struct burst_counts {
    uint64_t rx_octets = 0;
    uint64_t reflected = 0;
    uint64_t reflected_octets = 0;
    uint64_t created = 0;
    uint64_t table_full = 0;
    uint64_t drops[proto::drop_reason_count] = {};
};

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
// two ports in the first, then source and destination address). rte_hash reads it 8 octets
// at a time (CRC, compare); a key assembled from 2- and 4-octet stores would make those
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

} // namespace

// Last measured (perf/bench.sh, 2026-11-23 evening, commits 055aaee and 0adc493, AMD EPYC Zen 4
// KVM guest, TSC 2.6 GHz, one worker on net_pcap): 157-174 busy TSC cycles/packet for stateless
// TWAMP Light IPv4 (11.8-12.5 Mpps, 0.50-0.52 of testpmd 5tswap on the same device), 235-247
// with 1,000 sessions and a 64-rule ACL, 280-334 with 1,000,000 sessions (0.48-0.60 of
// testpmd). perf/RESULTS.md has the rest.
int worker_main(void* arg) {
    auto& w = *static_cast<worker_args*>(arg);
    worker_counters& wc = *w.counters;
    const uint16_t burst = w.burst > max_burst ? max_burst : w.burst;
    rte_mbuf* rx[max_burst];
    pending tx[max_burst];
    rte_mbuf* tx_mbufs[max_burst];
    rte_mbuf* exc[max_burst];
    candidate cands[max_burst];
    session_key keys[max_burst];
    const session_key* key_ptrs[max_burst];
    uint32_t key_limit[max_burst];
    int32_t slots[max_burst];
    unsigned pass = 0;

    own_iids iids;
    for (const worker_port& wp : w.ports) {
        if (iids.n < RTE_MAX_ETHPORTS) {
            const std::array<uint8_t, 8> id = proto::eui64_interface_id(wp.mac.addr_bytes);
            std::memcpy(&iids.w[iids.n++], id.data(), 8);
        }
    }

    if (w.qsv) {
        rte_rcu_qsbr_thread_register(w.qsv, w.index);
        rte_rcu_qsbr_thread_online(w.qsv, w.index);
    }

    while (!w.stop->load(std::memory_order_relaxed)) {
        const view* vw = w.view->load(std::memory_order_acquire);
        const snapshot* snap = vw ? vw->snap.get() : nullptr;
        const control_table* ctl = vw ? vw->control.get() : nullptr;
        for (const worker_port& wp : w.ports) {
            const uint16_t n = rte_eth_rx_burst(wp.port_id, wp.queue, rx, burst);
            bump(wc.polls, 1);
            if (n == 0) {
                bump(wc.idle_polls, 1);
                continue;
            }
            const uint64_t start_tsc = rte_rdtsc();
            // T2: one clock read per burst unless the packet carries a device timestamp.
            const clock_map cm = w.clock->read();
            const uint64_t t2_sw = sw_clock::to_ns(cm, start_tsc);
            const proto::encoded_time t2_enc(t2_sw, cm.tai_utc_offset_s); // once per burst
            proto::reflect_params params;
            params.our_mac = wp.mac.addr_bytes;
            params.our_error = cm.error;
            params.tai_utc_offset_s = cm.tai_utc_offset_s;
            params.t2_encoded = &t2_enc;
            const bool dev_ts = wp.ts != nullptr;
            const rx_ts_map tsm = dev_ts ? wp.ts->read() : rx_ts_map{};

            burst_counts bc;
            ctx_run rx_run(&context_counters::rx_pkts, &context_counters::rx_octets);
            uint16_t ntx = 0, nexc = 0;

            // The burst in passes (DESIGN.md "Dataplane"): classify every packet, look up the
            // stateful ones' sessions together, then rewrite. Each pass is a short loop of
            // independent iterations, and the session lookups of a burst overlap their cache
            // misses (rte_hash_lookup_bulk) instead of taking them one after another.
            //
            // Pass 1: parse, reflector, ACL, validation. What is not a candidate for a reply
            // leaves here (to the kernel, or dropped with its reason).
            uint16_t nc = 0, nk = 0;
            burst_memo memo;
            for (uint16_t i = 0; i < n; ++i) {
                if (i + 3 < n) {
                    rte_prefetch0(rte_pktmbuf_mtod(rx[i + 3], void*));
                }
                rte_mbuf* m = rx[i];
                uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
                const uint16_t len = rte_pktmbuf_data_len(m);
                bc.rx_octets += m->pkt_len;
                proto::drop_reason why = proto::drop_reason::none;
                bool to_kernel = false;

                if (unlikely(len >= 12 && proto::bad_source_mac(data + 6))) {
                    // A group or zero Ethernet source: no frame from a station has one, and a
                    // reply (or the kernel's answer) to it would flood the segment.
                    why = proto::drop_reason::bad_source_mac;
                } else if (unlikely(m->nb_segs != 1)) {
                    to_kernel = true; // jumbo chains are nobody's test packets: the kernel's
                } else if (unlikely(len >= 6 && (data[0] & 1))) {
                    to_kernel = true; // broadcast/multicast: ARP, ND, ...
                } else if (unlikely(len >= 6 && std::memcmp(data, wp.mac.addr_bytes, 6) != 0)) {
                    why = proto::drop_reason::l2_not_for_us;
                } else {
                    candidate& c = cands[nc];
                    // Parsed straight into the candidate (guaranteed copy elision): a copy
                    // would read 16 octets at a time what parse_frame stored 1-2 at a time.
                    proto::parsed_frame& pf = *new (&c.pf) proto::parsed_frame(
                            proto::parse_frame(std::span<const uint8_t>(data, len)));
                    if (pf.kind == proto::frame_kind::drop) {
                        why = pf.reason;
                    } else if (pf.kind != proto::frame_kind::udp) {
                        to_kernel = true;
                    } else {
                        const uint8_t* ip = data + pf.l3_off;
                        const bool v6 = pf.ip_version == 6;
                        const addr_words dst = mapped_addr(ip, v6, false);
                        const snapshot::key_words kw = snapshot::words(
                                wp.port_index, pf.dst_port, vlan_key(pf), dst.lo, dst.hi);
                        if (kw.a != memo.kw.a || kw.b != memo.kw.b || kw.c != memo.kw.c) {
                            memo.kw = kw;
                            memo.ctx = snap ? snap->find(kw) : nullptr;
                        }
                        const context_rt* ctx = memo.ctx;
                        const proto::reflect_policy* policy = ctx ? &ctx->policy : nullptr;
                        const addr_words src = mapped_addr(ip, v6, true);
                        if (v6 != memo.v6 || src.lo != memo.src.lo || src.hi != memo.src.hi) {
                            memo.v6 = v6; // ::ffff:a.b.c.d over IPv6 is not a.b.c.d
                            memo.src = src;
                            memo.src_why = source_verdict(snap, iids, v6, src);
                            memo.acl_ctx = nullptr;
                        }
                        bool admitted = false;
                        int32_t ctl_ssid = -1; // a control session's tag: its records' SSID
                        if (!ctx && ctl) {
                            // A TWAMP-Control session's receiver port?
                            uint8_t dst16[16];
                            dst.to_bytes(dst16);
                            const control_session_rt* cs = ctl->find(dst16, pf.dst_port);
                            if (cs && snap && w.control_slot < snap->contexts().size()) {
                                ctx = &snap->contexts()[w.control_slot];
                                policy = &cs->policy;
                                ctl_ssid = cs->tag;
                                admitted = cs->started && src == cs->sender &&
                                           (cs->sender_port == 0 || cs->sender_port == pf.src_port);
                                if (!cs->started) {
                                    why = proto::drop_reason::no_session;
                                } else if (admitted && memo.src_why == proto::drop_reason::none) {
                                    touch(w.activity, pf.dst_port, start_tsc);
                                }
                            } else if (ctl->in_receiver_range(pf.dst_port)) {
                                why = proto::drop_reason::no_session;
                            }
                        } else if (ctx) {
                            if (ctx != memo.acl_ctx) {
                                memo.acl_ctx = ctx;
                                // No LPM lookup for a source dropped anyway.
                                memo.admitted = memo.src_why == proto::drop_reason::none &&
                                                snap->allowed(*ctx, v6, v6 ? ip + 8 : ip + 12);
                            }
                            admitted = memo.admitted;
                        }
                        if (!ctx) {
                            if (why == proto::drop_reason::none) {
                                why = proto::drop_reason::no_reflector;
                            }
                        } else if (why != proto::drop_reason::none) {
                            // a control session not started yet
                        } else {
                            rx_run.add(wc, ctx->index, m->pkt_len);
                            if (unlikely(memo.src_why != proto::drop_reason::none)) {
                                why = memo.src_why; // before the ACL, whatever it says
                            } else if (!admitted) {
                                why = proto::drop_reason::acl_denied;
                                bump(wc.contexts[ctx->index].acl_denied, 1);
                            } else {
                                const uint64_t ipck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
                                const uint64_t l4ck = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
                                why = proto::check_test_packet(
                                        std::span<const uint8_t>(data, len), pf, *policy,
                                        ipck == RTE_MBUF_F_RX_IP_CKSUM_GOOD,
                                        l4ck == RTE_MBUF_F_RX_L4_CKSUM_GOOD, &c.sums);
                            }
                            if (why == proto::drop_reason::none) {
                                c.m = m;
                                c.ctx = ctx;
                                c.policy = policy;
                                c.key = -1;
                                if (ctx->stateful) {
                                    session_key& sk = keys[nk];
                                    const uint16_t ssid =
                                            ctl_ssid >= 0
                                                    ? static_cast<uint16_t>(ctl_ssid)
                                                    : proto::test_packet_ssid(
                                                              std::span<const uint8_t>(data, len),
                                                              pf, policy->mode);
                                    store_key(sk,
                                              ctx->index | (uint64_t{ssid} << 16) |
                                                      (uint64_t{pf.src_port} << 32) |
                                                      (uint64_t{pf.dst_port} << 48),
                                              src.lo, src.hi, dst.lo, dst.hi);
                                    key_ptrs[nk] = &sk;
                                    key_limit[nk] = ctx->max_sessions_per_worker;
                                    c.key = static_cast<int16_t>(nk++);
                                }
                                ++nc;
                                continue;
                            }
                        }
                    }
                }
                if (to_kernel) {
                    exc[nexc++] = m;
                    continue;
                }
                ++bc.drops[static_cast<std::size_t>(why)];
                rte_pktmbuf_free(m);
            }
            rx_run.flush(wc);

            // Pass 2: the sessions of the stateful candidates, in one pipelined lookup.
            if (nk) {
                if (w.sessions) {
                    uint32_t created = 0, full = 0;
                    w.sessions->find_or_create_bulk(key_ptrs, nk, key_limit, start_tsc, slots,
                                                    created, full);
                    bc.created += created;
                    bc.table_full += full;
                } else {
                    for (uint16_t k = 0; k < nk; ++k) {
                        slots[k] = -1;
                    }
                    bc.table_full += nk;
                }
            }

            // Pass 3: the replies, all but T3 and the checksum's last word. Session records
            // are updated here, in packet order (a session's packets in one burst get
            // consecutive reflector sequence numbers), by now in cache.
            for (uint16_t i = 0; i < nc; ++i) {
                candidate& c = cands[i];
                rte_mbuf* m = c.m;
                uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
                params.stateful = false;
                if (c.key >= 0 && slots[c.key] >= 0) {
                    session& s = w.sessions->at(slots[c.key]);
                    s.last_seen_tsc = start_tsc;
                    track_sender_seq(s, proto::test_packet_sender_seq(
                                                std::span<const uint8_t>(data, m->data_len), c.pf));
                    params.stateful = true;
                    params.reflector_seq = s.next_seq++;
                }
                params.t2_ns = t2_sw;
                if (dev_ts && (m->ol_flags & w.ts_dynflag)) {
                    params.t2_ns = tsm.to_ns(
                            *RTE_MBUF_DYNFIELD(m, w.ts_dynfield_offset, rte_mbuf_timestamp_t*));
                }
                params.verified_region_sum = c.sums.region_known ? &c.sums.region : nullptr;
                const std::size_t cap = m->buf_len - m->data_off;
                // Straight into the TX slot, field by field: no temporary struct copied
                // through the stack (store-forwarding stalls, perf/RESULTS.md "bench.sh").
                pending& p = tx[ntx];
                const proto::drop_reason why = proto::reflect_prepare_into(
                        std::span<uint8_t>(data, cap), c.pf, *c.policy, params, p.r);
                if (likely(why == proto::drop_reason::none)) {
                    ++ntx;
                    const uint16_t rlen = p.r.len;
                    m->data_len = rlen;
                    m->pkt_len = rlen;
                    p.m = m;
                    p.t2_ns = params.t2_ns;
                    p.ctx = c.ctx->index;
                    if (unlikely(p.r.stamp_short)) { // rare: one store, no burst local
                        bump(wc.contexts[c.ctx->index].stamp_short, 1);
                    }
                } else {
                    ++bc.drops[static_cast<std::size_t>(why)];
                    rte_pktmbuf_free(m);
                }
            }

            // T3 as late as possible, then the checksum's last words, then out.
            if (ntx) {
                // T3 converted once for the burst, like T2.
                const proto::encoded_time t3_enc(sw_clock::to_ns(cm, rte_rdtsc()),
                                                 cm.tai_utc_offset_s);
                // Residence times, as the replies state them (a device T2 may be in the past,
                // e.g. a pcap replay: then it is not a residence time), counted per run of
                // equal (reflector, residence): with the burst's software T2 that is one run.
                uint16_t res_ctx = tx[0].ctx;
                uint64_t res_ns = 0, res_n = 0;
                auto res_flush = [&] {
                    if (res_n) {
                        context_counters& cc = wc.contexts[res_ctx];
                        bump(cc.residence[residence_bucket(res_ns)], res_n);
                        bump(cc.residence_sum_ns, res_ns * res_n);
                    }
                };
                for (uint16_t i = 0; i < ntx; ++i) {
                    uint8_t* f = rte_pktmbuf_mtod(tx[i].m, uint8_t*);
                    uint64_t res;
                    if (likely(t3_enc.ns > tx[i].t2_ns)) {
                        proto::reflect_finish(f, tx[i].r, t3_enc);
                        res = t3_enc.ns - tx[i].t2_ns;
                    } else {
                        // A recalibration between the T2 and T3 reads may step the mapping
                        // back by a few ns: never send T3 < T2.
                        proto::reflect_finish(f, tx[i].r, tx[i].t2_ns, cm.tai_utc_offset_s);
                        res = 0;
                    }
                    tx_mbufs[i] = tx[i].m;
                    bc.reflected_octets += tx[i].r.len;
                    if (tx[i].ctx != res_ctx || res != res_ns) {
                        res_flush();
                        res_ctx = tx[i].ctx;
                        res_ns = res;
                        res_n = 0;
                    }
                    ++res_n;
                }
                res_flush();
                const uint16_t sent = rte_eth_tx_burst(wp.port_id, wp.queue, tx_mbufs, ntx);
                bc.reflected = sent;
                ctx_run tx_run(&context_counters::reflected_pkts,
                               &context_counters::reflected_octets);
                for (uint16_t i = 0; i < sent; ++i) { // what the NIC took, per reflector
                    tx_run.add(wc, tx[i].ctx, tx[i].r.len);
                }
                tx_run.flush(wc);
                if (unlikely(sent < ntx)) {
                    for (uint16_t i = sent; i < ntx; ++i) {
                        bc.reflected_octets -= tx_mbufs[i]->pkt_len;
                    }
                    bc.drops[static_cast<std::size_t>(proto::drop_reason::tx_full)] += ntx - sent;
                    rte_pktmbuf_free_bulk(tx_mbufs + sent, ntx - sent);
                }
            }
            if (nexc) {
                unsigned q = w.exception_ring
                                     ? rte_ring_sp_enqueue_burst(w.exception_ring,
                                                                 reinterpret_cast<void**>(exc),
                                                                 nexc, nullptr)
                                     : 0;
                // Counted as to-kernel by the slow path once the TAP has taken them.
                if (q < nexc) {
                    bc.drops[static_cast<std::size_t>(proto::drop_reason::exception_ring_full)] +=
                            nexc - q;
                    rte_pktmbuf_free_bulk(exc + q, nexc - q);
                }
            }

            bump(wc.rx_pkts, n);
            bump(wc.rx_octets, bc.rx_octets);
            bump(wc.reflected_pkts, bc.reflected);
            bump(wc.reflected_octets, bc.reflected_octets);
            if (bc.created) {
                bump(wc.sessions_created, bc.created);
            }
            if (bc.table_full) {
                bump(wc.sessions_table_full, bc.table_full);
            }
            for (std::size_t r = 1; r < proto::drop_reason_count; ++r) {
                if (bc.drops[r]) {
                    bump(wc.drops[r], bc.drops[r]);
                }
            }
            bump(wc.busy_cycles, rte_rdtsc() - start_tsc);
            bump(wc.busy_pkts, n);
        }

        // Kernel -> wire frames the slow path handed to this worker.
        for (const worker_port& wp : w.ports) {
            if (!wp.to_wire) {
                continue;
            }
            unsigned k = rte_ring_sc_dequeue_burst(wp.to_wire, reinterpret_cast<void**>(exc), burst,
                                                   nullptr);
            if (k) {
                uint16_t sent =
                        rte_eth_tx_burst(wp.port_id, wp.queue, exc, static_cast<uint16_t>(k));
                bump(wc.exception_to_wire, sent);
                if (sent < k) {
                    bump(wc.to_wire_drops[static_cast<std::size_t>(to_wire_drop::tx_full)],
                         k - sent); // not received frames: apart from the drop reasons
                    rte_pktmbuf_free_bulk(exc + sent, k - sent);
                }
            }
        }

        if (w.qsv) {
            rte_rcu_qsbr_quiescent(w.qsv, w.index);
        }
        if (++pass % aging_every == 0 && snap && w.sessions) {
            uint32_t aged = w.sessions->age(*snap, rte_rdtsc(), aging_budget, ctl, w.control_slot);
            if (aged) {
                bump(wc.sessions_aged, aged);
            }
            wc.sessions_active.store(w.sessions->active(), std::memory_order_relaxed);
            const std::size_t nctx = snap->contexts().size();
            for (std::size_t c = 0; c < nctx; ++c) {
                wc.contexts[c].sessions_active.store(
                        w.sessions->active_in(static_cast<uint16_t>(c)), std::memory_order_relaxed);
            }
            if (w.query) {
                session_query& q = *w.query;
                int st = q.state.load(std::memory_order_acquire);
                if (st == session_query::requested) {
                    q.iter = 0;
                    q.count = 0;
                    q.scanned = 0;
                    q.state.store(session_query::scanning, std::memory_order_relaxed);
                    st = session_query::scanning;
                }
                if (st == session_query::scanning && w.sessions->scan(q, 1024)) {
                    q.state.store(session_query::done, std::memory_order_release);
                }
            }
        }
    }

    if (w.qsv) {
        rte_rcu_qsbr_thread_offline(w.qsv, w.index);
        rte_rcu_qsbr_thread_unregister(w.qsv, w.index);
    }
    if (w.sessions) {
        wc.sessions_active.store(w.sessions->active(), std::memory_order_relaxed);
    }
    return 0;
}

} // namespace twamp::dataplane
