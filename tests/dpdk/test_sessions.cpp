// Tier 2: the per-worker session table (src/dataplane/sessions.*) on its own, with the EAL up
// (rte_malloc; rte_hash for the reference table). Times are passed in, never read from the
// clock, so aging is exact. The differential tests run random operation sequences against the
// former rte_hash table (reference_sessions.hpp) and compare every outcome.
#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_hash.h>

#include <gtest/gtest.h>

#include "reference_sessions.hpp"

#include "twamp/dataplane/sessions.hpp"
#include "twamp/dataplane/snapshot.hpp"

using namespace twamp;
using dataplane::session;
using dataplane::session_key;
using dataplane::session_query;
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

// ---- The full listing (issue 19, /twamp/session_list): batches chosen by the worker's walk. ----

// Lists `t` in batches of `batch` as the telemetry command does (each walk from the last entry
// of the previous batch), `between(n)` called between every two slices of every walk
// (sessions created and aged meanwhile). Returns every listed session in listing order.
std::vector<session_query::listed> list_all(session_table& t, const session_query::filter& f,
                                            const std::function<void(unsigned)>& between,
                                            unsigned batch = 24, uint32_t budget = 64,
                                            unsigned* walks = nullptr) {
    std::vector<session_query::listed> out;
    auto q = std::make_unique<session_query>();
    q->what = session_query::kind::batch;
    q->where = f;
    q->batch_size = batch;
    unsigned slices = 0, n_walks = 0;
    for (;;) {
        q->iter = 0;
        q->count = 0;
        q->scanned = 0;
        q->overflow = false;
        t.cancel_scan();
        while (!t.scan(*q, budget)) {
            between(slices++);
            EXPECT_LT(slices, 10'000'000u);
        }
        ++n_walks;
        const unsigned n = q->finish_batch();
        EXPECT_LE(n, batch);
        for (unsigned i = 0; i < n; ++i) {
            EXPECT_EQ(q->batch[i].order, session_table::order_of(q->batch[i].key));
            out.push_back(q->batch[i]);
        }
        if (!q->overflow) {
            break;
        }
        EXPECT_GT(n, 0u);
        q->has_after = true;
        q->after_order = q->batch[n - 1].order;
        q->after_key = q->batch[n - 1].key;
    }
    if (walks) {
        *walks = n_walks;
    }
    return out;
}

std::string key_bytes(const session_key& k) {
    return std::string(reinterpret_cast<const char*>(&k), sizeof k);
}

// Strictly increasing listing order: nothing twice, nothing out of place.
void expect_listing_order(const std::vector<session_query::listed>& l) {
    for (std::size_t i = 1; i < l.size(); ++i) {
        const uint64_t a = session_table::order_of(l[i - 1].key),
                       b = session_table::order_of(l[i].key);
        ASSERT_TRUE(a < b ||
                    (a == b && std::memcmp(&l[i - 1].key, &l[i].key, sizeof(session_key)) < 0))
                << "entry " << i << " out of listing order";
    }
}

// A few thousand sessions paged completely: each exactly once, key and record together.
TEST(sessions, page_listing_lists_every_session_exactly_once) {
    auto t = make_table(5000);
    std::set<std::string> all;
    for (uint32_t n = 0; n < 3500; ++n) {
        bool created = false;
        const session_key k = key(static_cast<uint16_t>(n % 3), n);
        const int32_t slot = t->find_or_create(k, 5000, 1, created);
        ASSERT_GE(slot, 0);
        t->at(slot).next_seq = n;
        all.insert(key_bytes(k));
    }
    unsigned walks = 0;
    const auto l = list_all(
            *t, {}, [](unsigned) {}, 24, 64, &walks);
    ASSERT_EQ(l.size(), all.size());
    EXPECT_EQ(walks, (3500 + 23) / 24);
    // Batches of the telemetry command's size: 4 walks.
    EXPECT_EQ(list_all(
                      *t, {}, [](unsigned) {}, session_query::batch_max, 1024, &walks)
                      .size(),
              3500u);
    EXPECT_EQ(walks, 4u);
    expect_listing_order(l);
    std::set<std::string> seen;
    for (const auto& e : l) {
        EXPECT_TRUE(seen.insert(key_bytes(e.key)).second);
        const session_key k = key(static_cast<uint16_t>(e.s.next_seq % 3), e.s.next_seq);
        EXPECT_EQ(key_bytes(k), key_bytes(e.key)) << "a record with another key's";
    }
    EXPECT_EQ(seen, all);
    // Batches of one, and an empty table.
    EXPECT_EQ(list_all(
                      *t, {}, [](unsigned) {}, 1, 4096)
                      .size(),
              3500u);
    auto empty = make_table(100);
    EXPECT_TRUE(list_all(*empty, {}, [](unsigned) {}).empty());
}

// The filters: context, source prefix, UDP port (either side), SSID.
TEST(sessions, page_listing_filters) {
    auto t = make_table(2000);
    std::vector<session_key> keys;
    for (uint32_t n = 0; n < 1500; ++n) {
        bool created = false;
        keys.push_back(key(static_cast<uint16_t>(n % 2), n));
        ASSERT_GE(t->find_or_create(keys.back(), 2000, 1, created), 0);
    }
    auto check = [&](const session_query::filter& f, const char* what) {
        std::set<std::string> want;
        for (const auto& k : keys) {
            if (f.matches(k)) {
                want.insert(key_bytes(k));
            }
        }
        const auto l = list_all(*t, f, [](unsigned) {});
        std::set<std::string> got;
        for (const auto& e : l) {
            got.insert(key_bytes(e.key));
        }
        EXPECT_EQ(got.size(), l.size()) << what;
        EXPECT_EQ(got, want) << what;
        return want.size();
    };
    session_query::filter f;
    f.ctx = 1;
    EXPECT_EQ(check(f, "ctx 1"), 750u);
    f = {};
    f.src[10] = f.src[11] = 0xff;
    f.src[12] = 198;
    f.src[13] = 18;
    f.src[14] = 2; // 198.18.2.0/24: n 512..767
    f.src_bits = 96 + 24;
    EXPECT_EQ(check(f, "198.18.2.0/24"), 256u);
    f.src_bits = 96 + 23; // 198.18.2.0/23: n 512..1023
    EXPECT_EQ(check(f, "198.18.2.0/23"), 512u);
    f = {};
    f.udp_port = 862;
    EXPECT_EQ(check(f, "port 862 (reflector side)"), 1500u);
    f.udp_port = 40007;
    EXPECT_EQ(check(f, "port 40007 (sender side)"), 1u);
    f = {};
    f.ssid = 7;
    EXPECT_EQ(check(f, "ssid 7"), 1u);
    f.ctx = 0;
    EXPECT_EQ(check(f, "ssid 7 in ctx 0"), 0u); // n = 1 is ctx 1
}

// Churn between every two slices of every walk: sessions created (the table near full, so
// creates move others by cuckoo displacement across the walk's position) and aged. Every
// session alive throughout the listing appears exactly once; nothing appears twice; the order
// holds.
TEST(sessions, page_listing_exactly_once_under_churn) {
    const uint64_t hz = rte_get_tsc_hz();
    auto s = snap({{0, 3600}, {1, 1}}); // ctx 0 stays, ctx 1 ages after 1 s idle
    for (uint32_t seed : {1u, 2u, 3u}) {
        auto t = make_table(4000);
        std::set<std::string> stable;
        uint32_t next = 0;
        auto create = [&](uint16_t ctx, uint64_t now) {
            batch b;
            b.add(key(ctx, next++), 4000);
            b.run(*t, now);
            return b.slots[0] >= 0 ? std::optional<session_key>(b.keys[0]) : std::nullopt;
        };
        std::mt19937 rng(seed);
        for (uint32_t n = 0; n < 3000; ++n) {
            auto k = create(0, 1);
            ASSERT_TRUE(k);
            stable.insert(key_bytes(*k));
        }
        for (uint32_t n = 0; n < 700; ++n) {
            ASSERT_TRUE(create(1, 1));
        }
        uint64_t now = 1;
        const uint64_t moved_before = t->displaced();
        uint32_t created = 0, aged = 0;
        const auto l = list_all(
                *t, {},
                [&](unsigned slice) {
                    // Mostly creates (ctx 1, near full: displacement), now and then an aging
                    // step past ctx 1's timeout.
                    if (rng() % 4 != 0 && t->active() < 3990) {
                        created += create(1, now).has_value();
                    }
                    if (slice % 97 == 96) {
                        now += 2 * hz;
                        aged += t->age(*s, now, 512);
                    }
                },
                24, 64);
        EXPECT_GT(t->displaced(), moved_before) << "no create moved an entry: churn too weak";
        EXPECT_GT(created, 100u);
        EXPECT_GT(aged, 100u);
        expect_listing_order(l);
        std::map<std::string, int> times;
        for (const auto& e : l) {
            ++times[key_bytes(e.key)];
        }
        for (const auto& [k, n] : times) {
            EXPECT_EQ(n, 1) << "a session listed " << n << " times";
        }
        for (const auto& k : stable) {
            EXPECT_EQ(times.count(k), 1u) << "a session alive throughout was not listed";
        }
    }
}

// Keys that share both buckets and the signature (found by brute force through the table's own
// hash): the signature compare matches them all and only the key compare tells them apart.
TEST(sessions, forced_collisions_share_bucket_and_signature) {
    auto t = make_table(1); // the smallest table: 2 buckets, 16 slots
    ASSERT_EQ(t->buckets(), 2u);
    ASSERT_EQ(t->slots(), 16u);
    std::map<std::pair<uint32_t, uint16_t>, std::vector<session_key>> groups;
    const std::vector<session_key>* three = nullptr;
    for (uint32_t n = 0; n < 65536 && !three; ++n) {
        for (uint16_t ctx : {uint16_t{1}, uint16_t{2}}) {
            const session_key k = key(ctx, n);
            const uint32_t h = session_table::hash_of(k);
            auto& g = groups[{t->bucket_of(h), session_table::signature_of(h)}];
            g.push_back(k);
            bool both = false;
            for (const auto& x : g) {
                both |= x.ctx != g.front().ctx;
            }
            if (g.size() >= 3 && both) {
                three = &g;
                break;
            }
        }
    }
    ASSERT_NE(three, nullptr);
    const std::vector<session_key> ks(three->begin(), three->begin() + 3);
    const uint32_t h0 = session_table::hash_of(ks[0]);
    const uint32_t b = t->bucket_of(h0);
    std::vector<int32_t> slot;
    for (std::size_t i = 0; i < ks.size(); ++i) {
        EXPECT_EQ(session_table::signature_of(session_table::hash_of(ks[i])),
                  session_table::signature_of(h0));
        bool created = false;
        slot.push_back(t->find_or_create(ks[i], 100, 1, created));
        ASSERT_GE(slot[i], 0);
        EXPECT_TRUE(created);
        EXPECT_EQ(static_cast<uint32_t>(slot[i]) / session_table::ways, b) << "the primary bucket";
        t->at(slot[i]).packets = 100 + i;
    }
    EXPECT_EQ(std::set<int32_t>(slot.begin(), slot.end()).size(), 3u);
    for (std::size_t i = 0; i < ks.size(); ++i) {
        EXPECT_EQ(position(*t, ks[i]), slot[i]);
        bool created = true;
        EXPECT_EQ(t->find_or_create(ks[i], 100, 2, created), slot[i]);
        EXPECT_FALSE(created);
        EXPECT_EQ(t->at(slot[i]).packets, 100 + i);
    }
    // The ctx-1 ones age out (their context is gone); the others are still found, the removed
    // ones no longer are, though their signature still matches the survivors'.
    const auto only2 = snap({{2, 100}});
    uint32_t in1 = 0;
    for (const auto& k : ks) {
        in1 += k.ctx == 1;
    }
    EXPECT_EQ(t->age(*only2, 3, t->slots()), in1);
    for (std::size_t i = 0; i < ks.size(); ++i) {
        if (ks[i].ctx == 1) {
            EXPECT_EQ(t->find(ks[i]), -1);
            EXPECT_FALSE(t->live(slot[i]));
        } else {
            EXPECT_EQ(t->find(ks[i]), slot[i]);
            EXPECT_EQ(t->at(slot[i]).packets, 100 + i);
        }
    }
    EXPECT_EQ(t->active(), 3u - in1);
}

// A key in its alternate bucket whose primary bucket holds another key with the same signature:
// the bulk lookup's signature match in the primary is false, and it must still find the key
// in the alternate (not create it again).
TEST(sessions, false_signature_match_in_primary_falls_back_to_alternate) {
    auto t = make_table(1); // 2 buckets
    // Two keys X, K with the same primary bucket b and signature, and alt(b) != b; seven
    // fillers with primary b.
    std::map<std::pair<uint32_t, uint16_t>, std::vector<uint32_t>> groups;
    std::vector<uint32_t> by_bucket[2];
    int32_t x = -1, k = -1;
    uint32_t b = 0;
    for (uint32_t n = 0; n < 65536 && x < 0; ++n) {
        const uint32_t h = session_table::hash_of(key(1, n));
        const uint32_t bk = t->bucket_of(h);
        const uint16_t sig = session_table::signature_of(h);
        by_bucket[bk].push_back(n);
        auto& g = groups[{bk, sig}];
        g.push_back(n);
        if (g.size() == 2 && t->alt_bucket(bk, sig) != bk) {
            x = static_cast<int32_t>(g[0]);
            k = static_cast<int32_t>(g[1]);
            b = bk;
        }
    }
    ASSERT_GE(x, 0);
    std::vector<uint32_t> fill{static_cast<uint32_t>(x)};
    for (uint32_t n : by_bucket[b]) {
        if (fill.size() < session_table::ways && n != static_cast<uint32_t>(x) &&
            n != static_cast<uint32_t>(k)) {
            fill.push_back(n);
        }
    }
    ASSERT_EQ(fill.size(), session_table::ways);
    bool created = false;
    for (uint32_t n : fill) {
        const int32_t slot = t->find_or_create(key(1, n), 100, 1, created);
        ASSERT_GE(slot, 0);
        ASSERT_EQ(static_cast<uint32_t>(slot) / session_table::ways, b) << "in its primary";
    }
    const int32_t ks = t->find_or_create(key(1, static_cast<uint32_t>(k)), 100, 1, created);
    ASSERT_TRUE(created);
    ASSERT_NE(static_cast<uint32_t>(ks) / session_table::ways, b) << "in its alternate";
    t->at(ks).packets = 42;
    batch q;
    q.add(key(1, static_cast<uint32_t>(k)), 100);
    q.add(key(1, static_cast<uint32_t>(x)), 100);
    q.run(*t, 2);
    EXPECT_EQ(q.created, 0u);
    EXPECT_EQ(q.slots[0], ks);
    EXPECT_EQ(q.slots[1], position(*t, key(1, static_cast<uint32_t>(x))));
    EXPECT_EQ(t->at(q.slots[0]).packets, 42u);
    EXPECT_EQ(t->active(), session_table::ways + 1);
}

// The alternate bucket is an involution for any bucket count, and stays in range.
TEST(sessions, alternate_bucket_is_an_involution) {
    for (uint32_t cap : {1u, 16u, 37u, 1000u, 99'999u}) {
        auto t = make_table(cap);
        const uint32_t nb = t->buckets();
        EXPECT_EQ(nb, std::max<uint32_t>(2, (cap * 20 + 151) / 152)) << cap;
        for (uint32_t sig = 1; sig < 65536; sig += 97) {
            for (uint32_t b = 0; b < nb; b += 1 + nb / 50) {
                const uint32_t a = t->alt_bucket(b, static_cast<uint16_t>(sig));
                ASSERT_LT(a, nb);
                ASSERT_EQ(t->alt_bucket(a, static_cast<uint16_t>(sig)), b) << cap << " " << sig;
            }
        }
    }
}

// Filled to capacity (95 % of the slots) in bursts that mix new and existing keys: every key is
// created, and every slot handed back is the key's, even when creates in the same burst
// displaced entries (found earlier in the burst or created earlier in it); the records move
// with their keys.
TEST(sessions, fills_to_capacity_with_displacement_and_right_slots) {
    for (uint32_t cap : {37u, 1000u, 100'000u}) {
        auto t = make_table(cap);
        std::mt19937 rng(cap);
        uint32_t next = 0, bursts_moved = 0;
        while (next < cap) {
            batch b;
            for (uint32_t j = 0; j < 32; ++j) {
                if (next > 0 && (j % 2 == 1 || next == cap)) {
                    b.add(key(0, static_cast<uint32_t>(rng() % next)), cap); // an existing one
                } else if (next < cap) {
                    b.add(key(0, next++), cap);
                }
            }
            const uint64_t moved_before = t->displaced();
            b.run(*t, 1);
            ASSERT_EQ(b.table_full, 0u) << cap << ": at " << t->active();
            bursts_moved += t->displaced() != moved_before;
            for (std::size_t i = 0; i < b.keys.size(); ++i) {
                ASSERT_GE(b.slots[i], 0);
                ASSERT_TRUE(t->live(b.slots[i]));
                ASSERT_EQ(std::memcmp(&t->key_at(b.slots[i]), &b.keys[i], sizeof(session_key)), 0)
                        << cap << ": slot " << b.slots[i] << " is not key " << i << "'s";
                session& s = t->at(b.slots[i]);
                if (s.packets == 0) { // new: mark it with the key's number
                    s.next_seq =
                            (static_cast<uint32_t>(b.keys[i].src[14]) << 8) | b.keys[i].src[15];
                    s.gaps = b.keys[i].ssid;
                }
                ++s.packets;
            }
        }
        EXPECT_EQ(t->active(), cap);
        EXPECT_EQ(t->active_in(0), cap);
        if (cap >= 1000) {
            EXPECT_GT(t->displaced(), 0u) << cap;
            EXPECT_GT(bursts_moved, 0u) << cap;
        }
        // Every key in exactly one slot, by a walk of all slots; the hash agrees; each record
        // still carries its key's mark.
        std::map<std::string, int32_t> where;
        for (uint32_t i = 0; i < t->slots(); ++i) {
            const auto slot = static_cast<int32_t>(i);
            if (t->live(slot)) {
                const session_key& k = t->key_at(slot);
                ASSERT_TRUE(where.emplace(std::string(reinterpret_cast<const char*>(&k), sizeof k),
                                          slot)
                                    .second);
            }
        }
        ASSERT_EQ(where.size(), cap);
        for (uint32_t n = 0; n < cap; ++n) {
            const session_key k = key(0, n);
            auto it = where.find(std::string(reinterpret_cast<const char*>(&k), sizeof k));
            ASSERT_NE(it, where.end()) << n;
            ASSERT_EQ(t->find(k), it->second) << n;
            const session& s = t->at(it->second);
            EXPECT_EQ(s.next_seq, n & 0xffff);
            EXPECT_EQ(s.gaps, k.ssid);
            EXPECT_GE(s.packets, 1u);
        }
        EXPECT_LE(t->memory_bytes(), uint64_t{cap} * 90 * 20 / 19 + 720 + 1);
    }
}

// No room: the insert is refused (-1, table_full) and the table is exactly as before (a failed
// cuckoo search moves nothing); what is in it is still found.
TEST(sessions, table_full_leaves_the_table_unchanged) {
    auto t = make_table(16); // 24 slots
    auto state = [&] {
        std::vector<std::string> v;
        for (uint32_t i = 0; i < t->slots(); ++i) {
            const auto slot = static_cast<int32_t>(i);
            std::string e(1, t->live(slot) ? '1' : '0');
            if (t->live(slot)) {
                e.append(reinterpret_cast<const char*>(&t->key_at(slot)), sizeof(session_key));
                e.append(reinterpret_cast<const char*>(&t->at(slot)), sizeof(session));
            }
            v.push_back(e);
        }
        return v;
    };
    uint32_t n = 0, refused = 0;
    std::vector<session_key> in;
    for (; n < 2000 && refused < 50; ++n) {
        const auto before = state();
        const uint64_t moved = t->displaced();
        bool created = true;
        const int32_t slot = t->find_or_create(key(0, n), 100000, 1, created);
        if (slot < 0) {
            ++refused;
            EXPECT_FALSE(created);
            EXPECT_EQ(state(), before) << "key " << n;
            EXPECT_EQ(t->displaced(), moved);
        } else {
            EXPECT_TRUE(created);
            t->at(slot).packets = n + 1;
            in.push_back(key(0, n));
        }
    }
    EXPECT_EQ(refused, 50u);
    EXPECT_GE(in.size(), 16u);
    EXPECT_LE(in.size(), 24u);
    EXPECT_EQ(t->active(), in.size());
    for (const auto& k : in) {
        const int32_t slot = t->find(k);
        ASSERT_GE(slot, 0);
        EXPECT_EQ(t->at(slot).packets, (static_cast<uint32_t>(k.src[14]) << 8 | k.src[15]) + 1u);
    }
    // The bulk path refuses the same way.
    batch b;
    for (uint32_t j = 0; j < 8; ++j) {
        b.add(key(0, 5000 + j), 100000);
    }
    b.add(in.front(), 100000);
    const auto before = state();
    b.run(*t, 2);
    if (in.size() == t->slots()) {
        EXPECT_EQ(b.created, 0u);
        EXPECT_EQ(b.table_full, 8u);
        EXPECT_EQ(state(), before);
    }
    EXPECT_EQ(b.slots[8], t->find(in.front()));
}

// With 2 buckets, a key whose alternate bucket is its primary has one bucket only ("pinned").
// Bucket 0 full of pinned keys: a new pinned key for it is refused although bucket 1 is empty
// (no entry can move; the table is unchanged). With one movable key among them, the new key
// displaces it to bucket 1 in the middle of a burst that found it a moment earlier: the slot
// returned for it is its new one.
TEST(sessions, displacement_inside_a_burst_and_refusal_with_room_elsewhere) {
    auto t = make_table(1);
    ASSERT_EQ(t->buckets(), 2u);
    std::vector<session_key> pinned, movable;
    for (uint32_t n = 0; n < 65536 && (pinned.size() < 10 || movable.size() < 2); ++n) {
        const session_key k = key(4, n);
        const uint32_t h = session_table::hash_of(k);
        if (t->bucket_of(h) != 0) {
            continue;
        }
        const bool pin = t->alt_bucket(0, session_table::signature_of(h)) == 0;
        (pin ? pinned : movable).push_back(k);
    }
    ASSERT_GE(pinned.size(), 10u);
    ASSERT_GE(movable.size(), 2u);
    bool created = false;
    // Bucket 0: 8 pinned keys. A 9th pinned one: refused, nothing moved.
    for (uint32_t i = 0; i < 8; ++i) {
        const int32_t slot = t->find_or_create(pinned[i], 100, 1, created);
        ASSERT_GE(slot, 0);
        ASSERT_LT(slot, 8);
    }
    EXPECT_EQ(t->find_or_create(pinned[8], 100, 1, created), -1);
    EXPECT_FALSE(created);
    EXPECT_EQ(t->displaced(), 0u);
    EXPECT_EQ(t->active(), 8u);
    for (uint32_t i = 0; i < 8; ++i) {
        EXPECT_EQ(position(*t, pinned[i]), t->find(pinned[i]));
    }
    // A movable key for bucket 0 goes to its alternate, bucket 1.
    const int32_t m0 = t->find_or_create(movable[0], 100, 1, created);
    EXPECT_TRUE(created);
    EXPECT_GE(m0, 8);

    // A fresh table: bucket 0 = 7 pinned + movable[1]; then one burst finds pinned[0] and
    // movable[1] and creates pinned[7], which must displace movable[1] to bucket 1.
    auto u = make_table(1);
    for (uint32_t i = 0; i < 7; ++i) {
        ASSERT_LT(u->find_or_create(pinned[i], 100, 1, created), 8);
    }
    const int32_t mv = u->find_or_create(movable[1], 100, 1, created);
    ASSERT_LT(mv, 8);
    u->at(mv).packets = 77;
    batch b;
    b.add(pinned[0], 100);
    b.add(movable[1], 100);
    b.add(pinned[7], 100);
    b.add(movable[1], 100);
    b.run(*u, 2);
    EXPECT_EQ(b.created, 1u);
    EXPECT_EQ(b.table_full, 0u);
    EXPECT_EQ(u->displaced(), 1u);
    EXPECT_LT(b.slots[2], 8) << "the new pinned key in bucket 0";
    EXPECT_GE(b.slots[1], 8) << "the movable key now in bucket 1";
    EXPECT_EQ(b.slots[3], b.slots[1]);
    for (std::size_t i = 0; i < b.keys.size(); ++i) {
        EXPECT_EQ(b.slots[i], position(*u, b.keys[i])) << i;
    }
    EXPECT_EQ(u->at(b.slots[1]).packets, 77u) << "the record moved with its key";
    EXPECT_EQ(u->at(b.slots[2]).packets, 0u);
}

// ---- Differential: the table against the former rte_hash one ----

using testref::reference_session_table;

// A key of TWAMP-Control context 3 (see diff_control): receiver 198.18.0.2 ports 64400-64403,
// sender 198.18.0.1, tag (SSID) 7 or 8.
session_key control_key(uint32_t n) {
    session_key x = key(3, n);
    x.dst_port = static_cast<uint16_t>(64400 + n % 4);
    x.ssid = static_cast<uint16_t>(7 + (n / 4) % 2);
    x.src[14] = 0;
    x.src[15] = 1;
    x.src_port = static_cast<uint16_t>(40000 + n / 8);
    return x;
}

dataplane::control_table diff_control(std::mt19937_64& rng) {
    std::vector<dataplane::control_session_rt> v;
    for (uint16_t port = 64400; port < 64404; ++port) {
        if (rng() % 3 == 0) {
            continue; // no session on this port
        }
        dataplane::control_session_rt r;
        r.receiver[10] = r.receiver[11] = r.sender[10] = r.sender[11] = 0xff;
        r.receiver[12] = r.sender[12] = 198;
        r.receiver[13] = r.sender[13] = 18;
        r.receiver[15] = 2;
        r.sender[15] = 1;
        r.receiver_port = port;
        r.sender_port = rng() % 2 ? 0 : static_cast<uint16_t>(40000 + rng() % 8);
        r.started = true;
        r.tag = static_cast<uint16_t>(7 + rng() % 2);
        v.push_back(r);
    }
    return dataplane::control_table(std::move(v), 64400, 64403);
}

void expect_same_record(const session& a, const session& b, uint64_t now, const char* what) {
    EXPECT_EQ(a.packets, b.packets) << what;
    EXPECT_EQ(a.next_seq, b.next_seq) << what;
    EXPECT_EQ(a.last_sender_seq, b.last_sender_seq) << what;
    EXPECT_EQ(a.gaps, b.gaps) << what;
    EXPECT_EQ(a.duplicates, b.duplicates) << what;
    EXPECT_EQ(a.reorders, b.reorders) << what;
    EXPECT_EQ(a.last_seen(now), b.last_seen(now)) << what;
    EXPECT_EQ(a.created(now), b.created(now)) << what;
    EXPECT_EQ(a.follow_up_seq, b.follow_up_seq) << what;
    EXPECT_EQ(a.follow_up_ns(), b.follow_up_ns()) << what;
    EXPECT_EQ(a.follow_up_mode(), b.follow_up_mode()) << what;
}

// Random operation sequences on both tables: bulk find_or_create with repeated keys, several
// contexts (one gone from the snapshot, one out of range, a TWAMP-Control one), limits that
// change (a reload lowering one below its count), single find_or_create, the worker's record
// updates, aging with advancing time in slices and full passes (idle timeouts, a context
// dropped and restored, control sessions ending), and session queries. Every outcome must be
// equal: found/created/refused per key, counts per call and per context, each key's record.
// The sum of the limits stays within the capacity, so only the limits refuse (where the two
// tables' room legitimately differs: rte_hash has 1/8 headroom, this one 95 % load).
void differential_run(uint64_t seed, uint32_t ops) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const uint64_t hz = rte_get_tsc_hz();
    // Limits per context; 0-3 in the snapshot, 4 not (its sessions end on the next pass),
    // 300 out of range (always refused).
    const uint16_t ctxs[] = {0, 1, 2, 3, 4, 300};
    const uint32_t pool = 600; // keys per context
    uint32_t limit[6] = {500, 300, 150, 60, 40, 1000};
    uint32_t cap = 0;
    for (int c = 0; c < 5; ++c) {
        cap += limit[c];
    }
    cap += 10; // 1,060: 94.6 % of this table's 1,120 slots when the limits are reached
    auto t = make_table(cap);
    reference_session_table r;
    std::string err;
    ASSERT_TRUE(r.init(1000 + g_table++, cap, err)) << err;

    auto pool_key = [&](int ci, uint32_t n) {
        return ctxs[ci] == 3 ? control_key(n) : key(ctxs[ci], n);
    };
    const auto full = snap({{0, 4}, {1, 20}, {2, 2}, {3, 900}});
    const auto reload = snap({{0, 4}, {2, 2}, {3, 900}}); // ctx 1 gone
    const dataplane::snapshot* cur = full.get();
    uint64_t now = (uint64_t{1} << 52) - 3 * hz; // across the wrap of the last-seen units
    uint64_t total_created = 0, total_refused = 0, total_aged = 0;

    auto compare_all = [&](const char* when) {
        SCOPED_TRACE(when);
        ASSERT_EQ(t->active(), r.active());
        for (int c = 0; c < 6; ++c) {
            ASSERT_EQ(t->active_in(ctxs[c]), r.active_in(ctxs[c])) << "ctx " << ctxs[c];
        }
        for (int c = 0; c < 6; ++c) {
            for (uint32_t n = 0; n < pool; ++n) {
                const session_key k = pool_key(c, n);
                const int32_t a = t->find(k);
                const int32_t b = rte_hash_lookup(r.hash(), &k);
                ASSERT_EQ(a >= 0, b >= 0) << "ctx " << ctxs[c] << " key " << n;
                if (a >= 0) {
                    ASSERT_TRUE(r.live(b));
                    expect_same_record(t->at(a), r.at(b), now, "record");
                }
            }
        }
    };

    for (uint32_t op = 0; op < ops; ++op) {
        const uint32_t what = static_cast<uint32_t>(rng() % 100);
        if (what < 70) {
            // A burst: 1-64 keys, some contexts more than others, repeats likely (a small
            // window of the pool), the worker's updates on what was found or created.
            const uint32_t n = 1 + static_cast<uint32_t>(rng() % 64);
            const uint32_t window = 20 + static_cast<uint32_t>(rng() % pool);
            const uint32_t start = static_cast<uint32_t>(rng() % pool);
            batch b;
            std::vector<int> ci;
            for (uint32_t i = 0; i < n; ++i) {
                const uint32_t x = static_cast<uint32_t>(rng() % 20);
                const int c = x < 6 ? 0 : x < 10 ? 1 : x < 13 ? 2 : x < 16 ? 3 : x < 19 ? 4 : 5;
                ci.push_back(c);
                b.add(pool_key(c, (start + static_cast<uint32_t>(rng() % window)) % pool),
                      limit[c]);
            }
            std::vector<bool> existed;
            for (const auto& k : b.keys) {
                const bool in_t = t->find(k) >= 0;
                ASSERT_EQ(in_t, rte_hash_lookup(r.hash(), &k) >= 0);
                existed.push_back(in_t);
            }
            batch rb = b;
            b.run(*t, now);
            rb.run(r, now);
            ASSERT_EQ(b.created, rb.created) << "op " << op;
            ASSERT_EQ(b.table_full, rb.table_full) << "op " << op;
            total_created += b.created;
            total_refused += b.table_full;
            for (uint32_t i = 0; i < n; ++i) {
                ASSERT_EQ(b.slots[i] >= 0, rb.slots[i] >= 0) << "op " << op << " key " << i;
                if (existed[i]) {
                    ASSERT_GE(b.slots[i], 0) << "an existing session must be found";
                }
                for (uint32_t j = 0; j < i; ++j) { // a repeated key: the same slot
                    if (std::memcmp(&b.keys[i], &b.keys[j], sizeof(session_key)) == 0) {
                        ASSERT_EQ(b.slots[i], b.slots[j]);
                        ASSERT_EQ(rb.slots[i], rb.slots[j]);
                    }
                }
                if (b.slots[i] >= 0) {
                    ASSERT_EQ(std::memcmp(&t->key_at(b.slots[i]), &b.keys[i], sizeof(session_key)),
                              0);
                }
            }
            // The worker's updates, in packet order, on both.
            for (uint32_t i = 0; i < n; ++i) {
                if (b.slots[i] < 0) {
                    continue;
                }
                const uint32_t seq = static_cast<uint32_t>(rng() % 50);
                const bool fu = rng() % 3 == 0;
                const uint64_t fu_ns = 1'700'000'000'000'000'000ull + rng() % 1'000'000'000;
                const auto mode = static_cast<uint8_t>(1 + rng() % 3);
                for (session* s : {&t->at(b.slots[i]), &r.at(rb.slots[i])}) {
                    s->last_seen_tsc = now;
                    dataplane::track_sender_seq(*s, seq);
                    const uint32_t rs = s->next_seq++;
                    if (fu) {
                        s->follow_up_seq = rs;
                        s->follow_up(fu_ns, mode);
                    }
                }
            }
        } else if (what < 75) {
            // One key at a time.
            const int c = static_cast<int>(rng() % 6);
            const session_key k = pool_key(c, static_cast<uint32_t>(rng() % pool));
            bool ca = false, cb = false;
            const int32_t a = t->find_or_create(k, limit[c], now, ca);
            const int32_t b = r.find_or_create(k, limit[c], now, cb);
            ASSERT_EQ(a >= 0, b >= 0);
            ASSERT_EQ(ca, cb);
            total_created += ca;
        } else if (what < 90) {
            // Time passes (0-0.5 s; sometimes 6 s), then aging: slices of random budget on each
            // table (their slots differ), then a full pass on both, so that both have removed
            // exactly what had expired by `now`.
            now += rng() % 10 == 0 ? 6 * hz : rng() % (hz / 2);
            const bool with_control = rng() % 2 == 0;
            const auto ctl = diff_control(rng);
            const dataplane::control_table* cp = with_control ? &ctl : nullptr;
            uint32_t ra = 0, rr = 0;
            for (int k = static_cast<int>(rng() % 4); k > 0; --k) {
                ra += t->age(*cur, now, 1 + static_cast<uint32_t>(rng() % 300), cp, 3);
                rr += r.age(*cur, now, 1 + static_cast<uint32_t>(rng() % 300), cp, 3);
            }
            ra += t->age(*cur, now, t->slots(), cp, 3);
            rr += r.age(*cur, now, r.slots(), cp, 3);
            ASSERT_EQ(ra, rr) << "op " << op;
            total_aged += ra;
            compare_all("after aging");
        } else if (what < 95) {
            // A reload: ctx 1 dropped or restored; a limit changed, perhaps below its count.
            cur = cur == full.get() ? reload.get() : full.get();
            const int c = static_cast<int>(rng() % 4);
            const uint32_t base[4] = {500, 300, 150, 60};
            limit[c] = rng() % 2 ? base[c] : base[c] / 4;
        } else {
            // A session query: the same sessions scanned, the same top packet counts.
            auto qa = std::make_unique<session_query>();
            auto qb = std::make_unique<session_query>();
            while (!t->scan(*qa, 100)) {
            }
            while (!r.scan(*qb, 100)) {
            }
            ASSERT_EQ(qa->scanned, qb->scanned);
            ASSERT_EQ(qa->scanned, t->active());
            ASSERT_EQ(qa->count, qb->count);
            for (unsigned i = 0; i < qa->count; ++i) {
                ASSERT_EQ(qa->top[i].s.packets, qb->top[i].s.packets) << i;
                // Each entry is its key's record.
                const int32_t a = t->find(qa->top[i].key);
                ASSERT_GE(a, 0);
                ASSERT_EQ(t->at(a).packets, qa->top[i].s.packets);
            }
        }
        if (op % 50 == 49) {
            compare_all("periodic");
        }
    }
    compare_all("end");
    // The run must have exercised what it claims to.
    EXPECT_GT(total_created, ops / 2);
    EXPECT_GT(total_refused, 0u);
    EXPECT_GT(total_aged, 0u);
    EXPECT_GT(t->displaced(), 0u) << "loads where creates displace entries were reached";
}

TEST(sessions, differential_against_rte_hash_table) {
    for (uint64_t seed = 1; seed <= 6; ++seed) {
        differential_run(seed, 600);
        if (HasFatalFailure()) {
            return;
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new eal_env());
    return RUN_ALL_TESTS();
}
