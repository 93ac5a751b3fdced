// Tier 2: the per-worker session table (src/dataplane/sessions.*) on its own, with the EAL up
// (rte_malloc; rte_hash for the reference table). Times are passed in, never read from the
// clock, so aging is exact. The differential tests run random operation sequences against the
// former rte_hash table (reference_sessions.hpp) and compare every outcome.
#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>

#include <gtest/gtest.h>

#include "reference_sessions.hpp"

#include "twamp/dataplane/sessions.hpp"
#include "twamp/dataplane/snapshot.hpp"

using namespace twamp;
using dataplane::session;
using dataplane::session_key;
using dataplane::session_table;

namespace {

class eal_env : public ::testing::Environment {
public:
    void SetUp() override {
        std::string prefix = "--file-prefix=dps" + std::to_string(getpid());
        const char* argv[] = {"dpdk_session_tests", "-l",          "0",
                              "--no-huge",          "-m",          "256",
                              "--no-pci",           "--no-shconf", prefix.c_str(),
                              "--log-level=*:error"};
        int argc = static_cast<int>(std::size(argv));
        ASSERT_GE(rte_eal_init(argc, const_cast<char**>(argv)), 0) << "EAL init failed";
    }
};

// rte_hash names are process-wide (the reference table): every table gets its own number.
unsigned g_table = 0;

std::unique_ptr<session_table> make_table(uint32_t capacity) {
    auto t = std::make_unique<session_table>();
    std::string err;
    EXPECT_TRUE(t->init(1000 + g_table++, capacity, err)) << err;
    return t;
}

// A distinct key per (ctx, n): IPv4-mapped 198.18.x.y sources, varying port and SSID.
session_key key(uint16_t ctx, uint32_t n) {
    session_key k;
    k.ctx = ctx;
    k.ssid = static_cast<uint16_t>(n * 7);
    k.src_port = static_cast<uint16_t>(40000 + n % 20000);
    k.dst_port = 862;
    k.src[10] = k.src[11] = 0xff;
    k.src[12] = 198;
    k.src[13] = 18;
    k.src[14] = static_cast<uint8_t>(n >> 8);
    k.src[15] = static_cast<uint8_t>(n);
    k.dst[10] = k.dst[11] = 0xff;
    k.dst[12] = 198;
    k.dst[13] = 18;
    k.dst[15] = 2;
    return k;
}

struct batch {
    std::vector<session_key> keys;
    std::vector<uint32_t> limits;
    std::vector<int32_t> slots;
    uint32_t created = 99, table_full = 99;

    void add(const session_key& k, uint32_t limit) {
        keys.push_back(k);
        limits.push_back(limit);
    }
    template<class Table>
    void run(Table& t, uint64_t now) {
        std::vector<const session_key*> p;
        for (const auto& k : keys) {
            p.push_back(&k);
        }
        slots.assign(keys.size(), -2);
        t.find_or_create_bulk(p.data(), static_cast<uint32_t>(keys.size()), limits.data(), now,
                              slots.data(), created, table_full);
    }
};

// An independent check: where the key is, by walking every slot (not the hash).
int32_t position(const session_table& t, const session_key& k) {
    int32_t found = -ENOENT;
    for (uint32_t i = 0; i < t.slots(); ++i) {
        const auto slot = static_cast<int32_t>(i);
        if (t.live(slot) && std::memcmp(&t.key_at(slot), &k, sizeof k) == 0) {
            EXPECT_EQ(found, -ENOENT) << "a key in two slots";
            found = slot;
        }
    }
    EXPECT_EQ(found >= 0 ? found : -1, t.find(k)) << "the hash lookup disagrees with the walk";
    return found;
}

dataplane::ip_prefix v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t len) {
    return {net::address::v4(a, b, c, d), len};
}

// Contexts at the given slots, each with its inactivity timeout in seconds.
std::unique_ptr<dataplane::snapshot> snap(const std::vector<std::pair<uint16_t, uint32_t>>& ctxs) {
    dataplane::dataplane_spec spec;
    spec.ports.resize(1);
    spec.ports[0].name = "none";
    for (auto [slot, timeout] : ctxs) {
        dataplane::context_spec c;
        c.name = "r" + std::to_string(slot);
        c.slot = slot;
        c.addresses = {v4(198, 18, 0, 2, 32)};
        c.udp_ports = {static_cast<uint16_t>(862 + slot)};
        c.prefixes = {v4(198, 18, 0, 0, 16)};
        c.inactivity_timeout_s = timeout;
        spec.contexts.push_back(c);
    }
    std::string err;
    static uint64_t generation = 0; // names the snapshot's LPM tables
    auto s = dataplane::snapshot::build(spec, 1, ++generation, err);
    EXPECT_NE(s, nullptr) << err;
    return s;
}

TEST(sessions, record_is_48_octets_and_entry_88) {
    EXPECT_EQ(sizeof(session), 48u);
    EXPECT_LE(alignof(session), 8u); // an array of them packs with no padding between
    EXPECT_EQ(sizeof(dataplane::session_entry), 88u);
}

// The Follow-Up time and method share a word: each reads back what was written, and neither
// disturbs the other.
TEST(sessions, follow_up_packs_time_and_method) {
    session s;
    EXPECT_EQ(s.follow_up_ns(), 0u);
    EXPECT_EQ(s.follow_up_mode(), 0u);
    const uint64_t ns = 4'102'444'800'000'000'000ull; // 2100-01-01, under 2^62
    for (uint8_t mode = 0; mode < 4; ++mode) {
        s.follow_up(ns + mode, mode);
        EXPECT_EQ(s.follow_up_ns(), ns + mode);
        EXPECT_EQ(s.follow_up_mode(), mode);
    }
    s.follow_up((uint64_t{1} << 62) - 1, 0);
    EXPECT_EQ(s.follow_up_ns(), (uint64_t{1} << 62) - 1);
    EXPECT_EQ(s.follow_up_mode(), 0u);
    s.follow_up(0, 3);
    EXPECT_EQ(s.follow_up_ns(), 0u);
    EXPECT_EQ(s.follow_up_mode(), 3u);
}

// The 32-bit coarse stamps: right across the wrap of their units, never late by a unit.
TEST(sessions, coarse_time_wraps_modularly) {
    const uint64_t unit = uint64_t{1} << 20;
    // Just before units wrap from 0xffffffff to 0 (TSC 2^52).
    const uint64_t t = (uint64_t{1} << 52) - 3 * unit + 12345;
    dataplane::coarse_tsc<20> c;
    c = t;
    EXPECT_EQ(c.units_before(t), 0);
    EXPECT_EQ(c.units_before(t + 10 * unit), 10); // across the wrap
    EXPECT_EQ(c.units_before(t - 2 * unit), -2);  // a later stamp is not "long ago"
    EXPECT_LE(c.tsc(t + 10 * unit), t);
    EXPECT_GT(c.tsc(t + 10 * unit) + unit, t);
    // ceil_units never rounds a timeout down.
    EXPECT_EQ(dataplane::coarse_tsc<20>::ceil_units(unit), 1u);
    EXPECT_EQ(dataplane::coarse_tsc<20>::ceil_units(unit + 1), 2u);
    EXPECT_EQ(dataplane::coarse_tsc<20>::ceil_units(0), 0u);
    // created: the top half of the TSC, no wrap at all.
    dataplane::coarse_tsc<32> cr;
    const uint64_t old = 0x0000'1234'5678'9abcull;
    cr = old;
    const uint64_t now = 0x00ff'0000'0000'0000ull;
    EXPECT_EQ(cr.tsc(now), 0x0000'1234'0000'0000ull);
    // The record helpers say the same.
    session s;
    s.last_seen_tsc = t;
    s.created_tsc = old;
    EXPECT_EQ(s.last_seen(t + unit), c.tsc(t + unit));
    EXPECT_EQ(s.created(now), cr.tsc(now));
}

TEST(sessions, bulk_finds_existing_and_creates_each_new_key_once) {
    auto t = make_table(1000);
    const uint64_t t0 = 5'000'000'000ull;
    // Ten sessions made the old way.
    std::map<uint32_t, int32_t> old;
    for (uint32_t n = 0; n < 10; ++n) {
        bool created = false;
        int32_t slot = t->find_or_create(key(3, n), 1000, t0, created);
        ASSERT_GE(slot, 0);
        EXPECT_TRUE(created);
        t->at(slot).packets = 100 + n;
        old[n] = slot;
    }
    ASSERT_EQ(t->active(), 10u);

    // 64 keys: the ten old ones, 20 new ones, and new key 10 three times, new key 11 twice,
    // old key 0 twice, interleaved.
    batch b;
    for (uint32_t n = 0; n < 30; ++n) {
        b.add(key(3, n), 1000);
    }
    for (uint32_t r = 0; r < 2; ++r) {
        b.add(key(3, 10), 1000);
        b.add(key(3, 0), 1000);
        b.add(key(3, 11), 1000);
    }
    for (uint32_t n = 30; b.keys.size() < 64; ++n) {
        b.add(key(3, 10 + n % 3), 1000); // more repeats of new keys 10, 11, 12
    }
    ASSERT_EQ(b.keys.size(), 64u);
    const uint64_t t1 = t0 + 1'000'000;
    b.run(*t, t1);

    EXPECT_EQ(b.created, 20u);
    EXPECT_EQ(b.table_full, 0u);
    EXPECT_EQ(t->active(), 30u);
    EXPECT_EQ(t->active_in(3), 30u);
    std::map<std::string, int32_t> slot_of;
    std::set<int32_t> distinct;
    for (std::size_t i = 0; i < b.keys.size(); ++i) {
        const session_key& k = b.keys[i];
        ASSERT_GE(b.slots[i], 0) << i;
        EXPECT_EQ(b.slots[i], position(*t, k)) << i;
        std::string ks(reinterpret_cast<const char*>(&k), sizeof k);
        auto [it, fresh] = slot_of.emplace(ks, b.slots[i]);
        EXPECT_EQ(it->second, b.slots[i]) << "a repeated key got another slot, index " << i;
        distinct.insert(b.slots[i]);
    }
    EXPECT_EQ(distinct.size(), 30u);
    for (auto [n, slot] : old) {
        EXPECT_EQ(b.slots[n], slot);
        EXPECT_EQ(t->at(slot).packets, 100 + n); // found, not re-created
        EXPECT_EQ(t->at(slot).created(t1), t->at(slot).created(t0));
    }
    for (uint32_t n = 10; n < 30; ++n) {
        const session& s = t->at(b.slots[n]);
        EXPECT_EQ(s.packets, 0u);
        EXPECT_EQ(t->key_at(b.slots[n]).ctx, 3u);
        EXPECT_TRUE(t->live(b.slots[n]));
        EXPECT_LE(s.last_seen(t1), t1);
        EXPECT_GT(s.last_seen(t1) + (uint64_t{1} << 20), t1);
    }

    // The same burst again: all found, none created.
    b.run(*t, t1 + 1);
    EXPECT_EQ(b.created, 0u);
    EXPECT_EQ(b.table_full, 0u);
    EXPECT_EQ(t->active(), 30u);
}

// A context at its limit gets -1 for new keys, but still finds its existing sessions,
// including one created earlier in the same burst; other contexts are not affected.
TEST(sessions, bulk_context_limit_refuses_new_sessions_only) {
    auto t = make_table(100);
    batch b;
    for (uint32_t n = 0; n < 5; ++n) {
        b.add(key(1, n), 3);
    }
    b.add(key(1, 0), 3);                          // created above, now at the limit
    b.add(key(1, 2), 3);                          // the third, created at the limit
    b.add(key(1, 4), 3);                          // refused above, refused again
    b.add(key(2, 0), 3);                          // another context
    b.add(key(dataplane::max_contexts, 0), 1000); // no such context
    b.run(*t, 1);
    EXPECT_EQ(b.created, 4u);
    EXPECT_EQ(b.table_full, 4u);
    EXPECT_GE(b.slots[0], 0);
    EXPECT_GE(b.slots[1], 0);
    EXPECT_GE(b.slots[2], 0);
    EXPECT_EQ(b.slots[3], -1);
    EXPECT_EQ(b.slots[4], -1);
    EXPECT_EQ(b.slots[5], b.slots[0]);
    EXPECT_EQ(b.slots[6], b.slots[2]);
    EXPECT_EQ(b.slots[7], -1);
    EXPECT_GE(b.slots[8], 0);
    EXPECT_EQ(b.slots[9], -1);
    EXPECT_EQ(position(*t, key(1, 3)), -ENOENT);
    EXPECT_EQ(t->active_in(1), 3u);
    EXPECT_EQ(t->active_in(2), 1u);
    EXPECT_EQ(t->active(), 4u);

    // The limit reached in an earlier burst: the existing ones are found, a new one is not
    // (this takes the path that spares the second lookup).
    batch c;
    c.add(key(1, 3), 3);
    c.add(key(1, 1), 3);
    c.run(*t, 2);
    EXPECT_EQ(c.created, 0u);
    EXPECT_EQ(c.table_full, 1u);
    EXPECT_EQ(c.slots[0], -1);
    EXPECT_EQ(c.slots[1], b.slots[1]);

    // The single-key path agrees.
    bool created = true;
    EXPECT_EQ(t->find_or_create(key(1, 3), 3, 3, created), -1);
    EXPECT_FALSE(created);
    EXPECT_EQ(t->find_or_create(key(1, 2), 3, 3, created), b.slots[2]);
    EXPECT_FALSE(created);
}

// When the table has no free slot the new key gets -1, and the table keeps working.
TEST(sessions, bulk_full_table_refuses_and_keeps_the_rest) {
    auto t = make_table(16); // ceil(16 / 0.95 / 8) = 3 buckets, 24 slots
    ASSERT_EQ(t->slots(), 24u);
    batch b;
    for (uint32_t n = 0; n < 64; ++n) {
        b.add(key(0, n), 100000);
    }
    b.run(*t, 1);
    EXPECT_GE(b.created, 16u);
    EXPECT_LE(b.created, 24u);
    EXPECT_EQ(b.created + b.table_full, 64u);
    EXPECT_EQ(t->active(), b.created);
    uint32_t in = 0;
    for (uint32_t n = 0; n < 64; ++n) {
        if (b.slots[n] >= 0) {
            ++in;
            EXPECT_EQ(position(*t, b.keys[n]), b.slots[n]);
        } else {
            EXPECT_EQ(position(*t, b.keys[n]), -ENOENT);
        }
    }
    EXPECT_EQ(in, b.created);
    // Again: the same ones are found, the rest still refused, nothing created.
    std::vector<int32_t> first = b.slots;
    b.run(*t, 2);
    EXPECT_EQ(b.created, 0u);
    EXPECT_EQ(b.slots, first);

    // Aged out (their context removed), every slot is free again and is reused from scratch.
    for (uint32_t n = 0; n < 64; ++n) {
        if (b.slots[n] >= 0) {
            t->at(b.slots[n]).packets = 7;
        }
    }
    const auto none = snap({{1, 1}});
    EXPECT_EQ(t->age(*none, 3, t->slots()), first.size() - b.table_full);
    EXPECT_EQ(t->active(), 0u);
    EXPECT_EQ(t->active_in(0), 0u);
    batch again;
    for (uint32_t n = 100; n < 164; ++n) {
        again.add(key(0, n), 100000);
    }
    again.run(*t, 4);
    EXPECT_EQ(again.created + again.table_full, 64u);
    EXPECT_GE(again.created, 16u);
    EXPECT_EQ(t->active(), again.created);
    std::set<int32_t> reused(first.begin(), first.end());
    uint32_t n_reused = 0;
    for (int32_t s : again.slots) {
        if (s >= 0) {
            EXPECT_EQ(t->at(s).packets, 0u);
            n_reused += reused.count(s) != 0;
        }
    }
    EXPECT_GE(n_reused, 16u); // the table has no other slots to give
}

// Aging walks `budget` slots per call from where it stopped and removes exactly the sessions
// idle for longer than their context's timeout (or whose context is gone).
TEST(sessions, aging_is_bounded_by_slots_and_removes_only_the_expired) {
    auto t = make_table(2000);
    const uint64_t hz = rte_get_tsc_hz();
    ASSERT_GT(hz, 0u);
    const uint64_t unit = uint64_t{1} << 20;
    // Start near a wrap of the 32-bit last-seen units, so expiry is judged across it.
    const uint64_t t0 = (uint64_t{1} << 52) - hz / 2;
    const auto s1 = snap({{0, 1}, {1, 5}, {2, 1}}); // ctx 0 and 2: 1 s, ctx 1: 5 s

    // 900 sessions: ctx n % 3, created at t0; every 4th one of ctx 0 seen again at t0 + 0.5 s.
    std::vector<int32_t> slot(900);
    for (uint32_t n = 0; n < 900; n += 60) {
        batch b;
        for (uint32_t j = n; j < n + 60; ++j) {
            b.add(key(static_cast<uint16_t>(j % 3), j), 1000);
        }
        b.run(*t, t0);
        ASSERT_EQ(b.created, 60u);
        std::copy(b.slots.begin(), b.slots.end(), slot.begin() + n);
    }
    // A slot is stable only until the next create (which may displace entries): where each
    // session is now, by the independent walk.
    for (uint32_t n = 0; n < 900; ++n) {
        const int32_t now_at = position(*t, key(static_cast<uint16_t>(n % 3), n));
        ASSERT_GE(now_at, 0) << n;
        slot[n] = now_at;
    }
    auto touched = [](uint32_t n) { return n % 3 == 0 && n % 4 == 0; };
    for (uint32_t n = 0; n < 900; ++n) {
        if (touched(n)) {
            t->at(slot[n]).last_seen_tsc = t0 + hz / 2;
        }
    }
    ASSERT_EQ(t->active(), 900u);

    // At exactly t0 + 1 s nothing has been idle for more than 1 s: a full pass removes none.
    uint32_t removed = 0;
    for (uint32_t i = 0; i < t->slots(); i += 100) {
        removed += t->age(*s1, t0 + hz, 100);
    }
    EXPECT_EQ(removed, 0u);

    // At t0 + 1 s + 2 units: ctx 0 and 2 sessions not touched expire, the rest stay.
    const uint64_t now = t0 + hz + 2 * unit;
    auto expired = [&](uint32_t n) { return n % 3 != 1 && !touched(n); };
    uint32_t n_expired = 0;
    for (uint32_t n = 0; n < 900; ++n) {
        n_expired += expired(n);
    }
    ASSERT_GT(n_expired, 500u);
    const uint32_t budget = 64;
    const uint32_t calls = (t->slots() + budget - 1) / budget;
    // The earlier pass ended after ceil(slots / 100) * 100 slots, i.e. at slot
    // (that) mod slots: the walk resumes there.
    uint32_t pos = (((t->slots() + 99) / 100) * 100) % t->slots();
    removed = 0;
    std::vector<bool> done(900);
    for (uint32_t c = 0; c < calls; ++c) {
        // Which expired sessions not removed yet are in [pos, pos + budget) (wrapping; the
        // last call overlaps the first)?
        uint32_t want = 0;
        for (uint32_t n = 0; n < 900; ++n) {
            uint32_t off = (static_cast<uint32_t>(slot[n]) + t->slots() - pos) % t->slots();
            if (expired(n) && off < budget && !done[n]) {
                done[n] = true;
                ++want;
            }
        }
        uint32_t got = t->age(*s1, now, budget);
        ASSERT_EQ(got, want) << "call " << c << " from slot " << pos;
        removed += got;
        pos = (pos + budget) % t->slots();
    }
    EXPECT_EQ(removed, n_expired);
    EXPECT_EQ(t->active(), 900u - n_expired);
    for (uint32_t n = 0; n < 900; ++n) {
        const session_key k = key(static_cast<uint16_t>(n % 3), n);
        if (expired(n)) {
            EXPECT_EQ(position(*t, k), -ENOENT) << n;
        } else {
            EXPECT_EQ(position(*t, k), slot[n]) << n;
            EXPECT_TRUE(t->live(slot[n]));
        }
    }
    EXPECT_EQ(t->active_in(0), 300u - 225u); // 75 touched (n % 12 == 0)
    EXPECT_EQ(t->active_in(1), 300u);
    EXPECT_EQ(t->active_in(2), 0u);

    // A reload drops ctx 1: its sessions end on the next pass whatever their age; ctx 0 stays.
    const auto s2 = snap({{0, 1000}, {2, 1}});
    removed = 0;
    for (uint32_t c = 0; c < calls; ++c) {
        removed += t->age(*s2, now, budget);
    }
    EXPECT_EQ(removed, 300u);
    EXPECT_EQ(t->active_in(1), 0u);
    EXPECT_EQ(t->active_in(0), 75u);
    EXPECT_EQ(t->active(), 75u);

    // Freed slots are reused by new sessions, which start from zero.
    batch b;
    for (uint32_t j = 0; j < 64; ++j) {
        b.add(key(1, 5000 + j), 1000);
    }
    b.run(*t, now);
    EXPECT_EQ(b.created, 64u);
    for (int32_t s : b.slots) {
        EXPECT_EQ(t->at(s).packets, 0u);
        EXPECT_EQ(t->key_at(s).ctx, 1u);
    }
}

// Expiry is judged in whole units of the coarse stamp: never before the timeout, wherever in
// its unit the last packet fell, and at most two units after it.
TEST(sessions, aging_is_never_early) {
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t unit = uint64_t{1} << 20;
    const auto s1 = snap({{0, 1}});
    const uint64_t base = 1000 * hz; // aligned to nothing in particular
    for (uint64_t offset : {uint64_t{0}, uint64_t{1}, unit / 2, unit - 1}) {
        auto t = make_table(10);
        const uint64_t seen = (base & ~(unit - 1)) + offset;
        bool created = false;
        ASSERT_GE(t->find_or_create(key(0, 1), 10, seen, created), 0);
        EXPECT_EQ(t->age(*s1, seen + hz, t->slots()), 0u) << "offset " << offset;
        EXPECT_EQ(t->age(*s1, seen + hz + 2 * unit, t->slots()), 1u) << "offset " << offset;
        EXPECT_EQ(t->active(), 0u);
    }
}

// Issue 12 item 8: the record of a TWAMP-Control session (context `ctl_slot`) ends with the
// session, on the next aging pass, not REFWAIT (900 s) later: else finished tests fill the
// control context's share of the table and later ones are reflected statelessly.
TEST(sessions, control_session_records_end_with_their_session) {
    const uint64_t hz = rte_get_tsc_hz();
    const uint16_t ctl_slot = 2;
    const auto s1 = snap({{0, 100}, {ctl_slot, 900}});
    auto t = make_table(10);
    // Session A: sender 198.18.0.1:40000 -> receiver 198.18.0.2:64400; B on 64401 (any sender
    // port); and a static reflector's record with the very same addresses and ports as A.
    auto k = [](uint16_t ctx, uint16_t sport, uint16_t dport, uint16_t tag = 7) {
        session_key x = key(ctx, 1);
        x.ssid = tag; // the session's tag
        x.src[14] = 0;
        x.src[15] = 1;
        x.src_port = sport;
        x.dst_port = dport;
        return x;
    };
    const session_key a = k(ctl_slot, 40000, 64400), b = k(ctl_slot, 40001, 64401),
                      other = k(0, 40000, 64400), wrong_sender_port = k(ctl_slot, 40002, 64400),
                      older_session = k(ctl_slot, 40000, 64400, 6);
    bool created = false;
    for (const auto& x : {a, b, other, wrong_sender_port, older_session}) {
        ASSERT_GE(t->find_or_create(x, 10, 1000 * hz, created), 0);
    }
    auto rt = [](uint16_t port, uint16_t sender_port) {
        dataplane::control_session_rt r;
        r.receiver[10] = r.receiver[11] = r.sender[10] = r.sender[11] = 0xff;
        r.receiver[12] = r.sender[12] = 198;
        r.receiver[13] = r.sender[13] = 18;
        r.receiver[15] = 2;
        r.sender[15] = 1;
        r.receiver_port = port;
        r.sender_port = sender_port;
        r.started = true;
        r.tag = 7;
        return r;
    };
    const uint64_t now = 1000 * hz + hz; // 1 s later: no timeout is near
    dataplane::control_table both({rt(64400, 40000), rt(64401, 0)}, 64400, 64403);
    EXPECT_EQ(t->age(*s1, now, t->slots(), &both, ctl_slot), 2u)
            << "the record whose sender port is not the session's, and the one of an earlier "
               "session on the same receiver port (another tag)";
    EXPECT_LT(position(*t, older_session), 0);
    EXPECT_EQ(t->active(), 3u);
    EXPECT_GE(position(*t, a), 0);
    EXPECT_GE(position(*t, b), 0);
    // Without a control table (no control server), nothing changes.
    EXPECT_EQ(t->age(*s1, now, t->slots()), 0u);
    // A ended: its record goes; B and the static reflector's record stay.
    dataplane::control_table only_b({rt(64401, 0)}, 64400, 64403);
    EXPECT_EQ(t->age(*s1, now, t->slots(), &only_b, ctl_slot), 1u);
    EXPECT_LT(position(*t, a), 0);
    EXPECT_GE(position(*t, b), 0);
    EXPECT_GE(position(*t, other), 0) << "not a control context record";
    EXPECT_EQ(t->active_in(ctl_slot), 1u) << "its place under control.max-sessions is free";
    // All sessions over.
    dataplane::control_table none({}, 64400, 64403);
    EXPECT_EQ(t->age(*s1, now, t->slots(), &none, ctl_slot), 1u);
    EXPECT_EQ(t->active_in(ctl_slot), 0u);
    EXPECT_EQ(t->active(), 1u);
}

// scan() walks slots a slice at a time and reports the busiest sessions, busiest first.
TEST(sessions, scan_reports_the_busiest) {
    auto t = make_table(500);
    std::vector<int32_t> slot(300);
    for (uint32_t n = 0; n < 300; ++n) {
        bool created = false;
        slot[n] = t->find_or_create(key(0, n), 1000, 1, created);
        ASSERT_GE(slot[n], 0);
        // Packet counts in a scrambled order, all distinct.
        t->at(slot[n]).packets = (n * 7919) % 1000 + 1;
        t->at(slot[n]).next_seq = n;
    }
    auto q = std::make_unique<dataplane::session_query>();
    unsigned slices = 0;
    while (!t->scan(*q, 50)) {
        ++slices;
        ASSERT_LT(slices, 1000u);
    }
    EXPECT_GE(slices, t->slots() / 50 - 1); // bounded by slots per slice
    EXPECT_EQ(q->scanned, 300u);
    ASSERT_EQ(q->count, dataplane::session_query::max_top);
    std::vector<uint64_t> all;
    for (uint32_t n = 0; n < 300; ++n) {
        all.push_back((n * 7919) % 1000 + 1);
    }
    std::sort(all.rbegin(), all.rend());
    for (unsigned i = 0; i < q->count; ++i) {
        const auto& e = q->top[i];
        EXPECT_EQ(e.s.packets, all[i]) << i;
        // The key and record belong together.
        uint32_t n = e.s.next_seq;
        session_key k = key(0, n);
        EXPECT_EQ(std::memcmp(&e.key, &k, sizeof k), 0) << i;
        EXPECT_EQ(e.s.packets, (n * 7919) % 1000 + 1);
    }
}

} // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new eal_env());
    return RUN_ALL_TESTS();
}
