// diff(): which changes a reload may apply, by key name (the table in conf/twamp.conf).
#include <algorithm>

#include <gtest/gtest.h>

#include "helpers.hpp"

#include "twamp/config/config.hpp"

using namespace twamp::config;
using twamp::config::test::load_ok;

namespace {

constexpr const char* base = R"(
ports = ( { name = "wire0"; device = "0000:3b:00.0"; addresses = [ "198.18.0.2/24" ];
            vlans = ( { id = 100; addresses = [ "198.19.0.2/24" ]; } );
            exception = { iface = "twamp0"; rate-limit-pps = 20000; }; },
          { name = "wire1"; device = "net_ring0"; addresses = [ "198.18.1.2/24" ]; } );
reflectors = ( { name = "base"; port = "wire0"; udp-ports = [ 862 ]; prefixes = [ "198.18.0.0/15" ]; },
               { name = "other"; port = "wire1"; prefixes = [ ]; } );
control = { prefixes = [ "198.18.0.0/15" ]; };
metrics = { listen = "127.0.0.1:9862"; labels = { site = "lab1"; }; };
)";

// `base` with one piece of text replaced (which must be there).
std::string edit(const std::string& from, const std::string& to) {
    std::string t = base;
    auto at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) {
        t.replace(at, from.size(), to);
    }
    return t;
}

std::vector<change> changes(const std::string& text) {
    return diff(load_ok(base), load_ok(text));
}

// Exactly one change, at `path`, of `kind`, reloadable or not.
::testing::AssertionResult one_change(const std::vector<change>& cs, const std::string& path,
                                      change_kind kind, bool reloadable) {
    std::string all;
    for (const auto& c : cs) {
        all += to_string(c) + "\n";
    }
    if (cs.size() != 1) {
        return ::testing::AssertionFailure() << cs.size() << " changes:\n" << all;
    }
    if (cs[0].path != path || cs[0].kind != kind || cs[0].reloadable != reloadable) {
        return ::testing::AssertionFailure() << "got " << all;
    }
    return ::testing::AssertionSuccess();
}

} // namespace

TEST(diff, identical_configs_have_no_changes) {
    EXPECT_TRUE(diff(load_ok(base), load_ok(base)).empty());
    // Reordering reflectors changes nothing a packet sees.
    std::string swapped = R"(
ports = ( { name = "wire0"; device = "0000:3b:00.0"; addresses = [ "198.18.0.2/24" ];
            vlans = ( { id = 100; addresses = [ "198.19.0.2/24" ]; } );
            exception = { iface = "twamp0"; }; },
          { name = "wire1"; device = "net_ring0"; addresses = [ "198.18.1.2/24" ]; } );
reflectors = ( { name = "other"; port = "wire1"; prefixes = [ ]; },
               { name = "base"; port = "wire0"; prefixes = [ "198.18.0.0/15" ]; } );
control = { enabled = true; prefixes = [ "198.18.0.0/15" ]; };
metrics = { labels = { site = "lab1"; }; };
)";
    auto cs = changes(swapped);
    EXPECT_TRUE(cs.empty()) << (cs.empty() ? "" : to_string(cs[0]));
}

TEST(diff, restart_only_port_keys) {
    EXPECT_TRUE(one_change(changes(edit("0000:3b:00.0", "0000:3b:00.1")), "ports[\"wire0\"].device",
                           change_kind::modified, false));
    EXPECT_TRUE(one_change(changes(edit("iface = \"twamp0\"", "iface = \"twamp9\"")),
                           "ports[\"wire0\"].exception.iface", change_kind::modified, false));
    // The reflector on the port follows its addresses; the port's change forces the restart.
    auto moved = changes(edit("\"198.18.1.2/24\"", "\"198.18.1.3/24\""));
    ASSERT_EQ(moved.size(), 2U);
    EXPECT_EQ(to_string(moved[0]), "ports[\"wire1\"].addresses: [ \"198.18.1.2/24\" ] -> [ "
                                   "\"198.18.1.3/24\" ] (restart required)");
    EXPECT_EQ(to_string(moved[1]), "reflectors[\"other\"].addresses: [ \"198.18.1.2\" ] -> [ "
                                   "\"198.18.1.3\" ] (reloadable)");
    EXPECT_TRUE(needs_restart(moved));
    EXPECT_TRUE(one_change(changes(edit("device = \"net_ring0\";",
                                        "device = \"net_ring0\"; hw-timestamps = \"off\";")),
                           "ports[\"wire1\"].hw-timestamps", change_kind::modified, false));
    EXPECT_TRUE(one_change(changes(edit("\"198.19.0.2/24\"", "\"198.19.0.3/24\"")),
                           "ports[\"wire0\"].vlans[id=100].addresses", change_kind::modified,
                           false));
}

TEST(diff, vlan_replaced_is_removed_and_added) {
    auto cs = changes(edit("id = 100;", "id = 101;"));
    ASSERT_EQ(cs.size(), 2U);
    EXPECT_EQ(cs[0].path, "ports[\"wire0\"].vlans[id=100]");
    EXPECT_EQ(cs[0].kind, change_kind::removed);
    EXPECT_EQ(cs[1].path, "ports[\"wire0\"].vlans[id=101]");
    EXPECT_EQ(cs[1].kind, change_kind::added);
    EXPECT_TRUE(needs_restart(cs));
}

TEST(diff, rate_limit_is_reloadable) {
    auto cs = changes(edit("rate-limit-pps = 20000", "rate-limit-pps = 1000"));
    EXPECT_TRUE(one_change(cs, "ports[\"wire0\"].exception.rate-limit-pps", change_kind::modified,
                           true));
    ASSERT_EQ(cs.size(), 1U);
    EXPECT_EQ(cs[0].from, "20000");
    EXPECT_EQ(cs[0].to, "1000");
    EXPECT_FALSE(needs_restart(cs));
}

TEST(diff, ports_added_removed_reordered) {
    std::string three = edit(
            "{ name = \"wire1\"; device = \"net_ring0\"; addresses = [ \"198.18.1.2/24\" ]; } );",
            "{ name = \"wire1\"; device = \"net_ring0\"; addresses = [ \"198.18.1.2/24\" ]; },\n"
            "{ name = \"wire2\"; device = \"net_ring1\"; } );");
    EXPECT_TRUE(one_change(changes(three), "ports[\"wire2\"]", change_kind::added, false));
    EXPECT_TRUE(one_change(diff(load_ok(three), load_ok(base)), "ports[\"wire2\"]",
                           change_kind::removed, false));
    // Same ports, other order: DPDK port numbering changes.
    std::string reordered = R"(
ports = ( { name = "wire1"; device = "net_ring0"; addresses = [ "198.18.1.2/24" ]; },
          { name = "wire0"; device = "0000:3b:00.0"; addresses = [ "198.18.0.2/24" ];
            vlans = ( { id = 100; addresses = [ "198.19.0.2/24" ]; } );
            exception = { iface = "twamp0"; rate-limit-pps = 20000; }; } );
reflectors = ( { name = "base"; port = "wire0"; udp-ports = [ 862 ]; prefixes = [ "198.18.0.0/15" ]; },
               { name = "other"; port = "wire1"; prefixes = [ ]; } );
control = { prefixes = [ "198.18.0.0/15" ]; };
metrics = { listen = "127.0.0.1:9862"; labels = { site = "lab1"; }; };
)";
    auto cs = changes(reordered);
    EXPECT_TRUE(one_change(cs, "ports", change_kind::modified, false));
    ASSERT_EQ(cs.size(), 1U);
    EXPECT_EQ(to_string(cs[0]),
              "ports: [ \"wire0\", \"wire1\" ] -> [ \"wire1\", \"wire0\" ] (restart required)");
}

TEST(diff, reflector_keys_are_reloadable) {
    auto cs = changes(
            edit("prefixes = [ \"198.18.0.0/15\" ]; },", "prefixes = [ \"198.18.0.0/16\" ]; },"));
    EXPECT_TRUE(one_change(cs, "reflectors[\"base\"].prefixes", change_kind::modified, true));
    ASSERT_EQ(cs.size(), 1U);
    EXPECT_EQ(to_string(cs[0]), "reflectors[\"base\"].prefixes: [ \"198.18.0.0/15\" ] -> [ "
                                "\"198.18.0.0/16\" ] (reloadable)");
    EXPECT_TRUE(one_change(changes(edit("udp-ports = [ 862 ]", "udp-ports = [ 862, 863 ]")),
                           "reflectors[\"base\"].udp-ports", change_kind::modified, true));
    EXPECT_TRUE(
            one_change(changes(edit("udp-ports = [ 862 ];", "udp-ports = [ 862 ]; dscp = \"ef\";")),
                       "reflectors[\"base\"].dscp", change_kind::modified, true));
    EXPECT_TRUE(one_change(
            changes(edit("udp-ports = [ 862 ];", "udp-ports = [ 862 ]; inactivity-timeout = 5;")),
            "reflectors[\"base\"].inactivity-timeout", change_kind::modified, true));
    EXPECT_TRUE(one_change(
            changes(edit("udp-ports = [ 862 ];", "udp-ports = [ 862 ]; max-sessions = 5;")),
            "reflectors[\"base\"].max-sessions", change_kind::modified, true));
    EXPECT_TRUE(one_change(
            changes(edit("udp-ports = [ 862 ];", "udp-ports = [ 862 ]; mode = \"stamp\";")),
            "reflectors[\"base\"].mode", change_kind::modified, true));
    // The STAMP TLV policy (RFC 8972 §4.2.2, §4.4; RFC 9503 §4.1.2).
    auto cos = changes(
            edit("udp-ports = [ 862 ];", "udp-ports = [ 862 ]; cos-allowed-dscp = [ 46, 0 ];"));
    EXPECT_TRUE(
            one_change(cos, "reflectors[\"base\"].cos-allowed-dscp", change_kind::modified, true));
    ASSERT_EQ(cos.size(), 1U);
    EXPECT_EQ(to_string(cos[0]),
              "reflectors[\"base\"].cos-allowed-dscp: (default) -> [ 0, 46 ] (reloadable)");
    auto loc =
            changes(edit("udp-ports = [ 862 ];", "udp-ports = [ 862 ]; location = [ \"mac\" ];"));
    EXPECT_TRUE(one_change(loc, "reflectors[\"base\"].location", change_kind::modified, true));
    ASSERT_EQ(loc.size(), 1U);
    EXPECT_EQ(to_string(loc[0]), "reflectors[\"base\"].location: [ \"ports\", \"addresses\", "
                                 "\"mac\" ] -> [ \"mac\" ] (reloadable)");
    EXPECT_TRUE(one_change(
            changes(edit("udp-ports = [ 862 ];", "udp-ports = [ 862 ]; return-address = true;")),
            "reflectors[\"base\"].return-address", change_kind::modified, true));
    // Moving to the VLAN also moves the resolved addresses.
    auto moved = changes(edit("udp-ports = [ 862 ];", "udp-ports = [ 862 ]; vlan = 100;"));
    EXPECT_FALSE(needs_restart(moved));
    ASSERT_EQ(moved.size(), 2U);
    EXPECT_EQ(moved[0].path, "reflectors[\"base\"].vlan");
    EXPECT_EQ(moved[1].path, "reflectors[\"base\"].addresses");
}

TEST(diff, reflectors_added_and_removed_are_reloadable) {
    std::string renamed = edit("name = \"other\"", "name = \"other2\"");
    auto cs = changes(renamed);
    ASSERT_EQ(cs.size(), 2U);
    EXPECT_EQ(to_string(cs[0]), "reflectors[\"other\"] removed (reloadable)");
    EXPECT_EQ(to_string(cs[1]), "reflectors[\"other2\"] added (reloadable)");
    EXPECT_FALSE(needs_restart(cs));
}

TEST(diff, control_keys) {
    EXPECT_TRUE(one_change(changes(edit("control = {", "control = { port = 863;")), "control.port",
                           change_kind::modified, false));
    EXPECT_TRUE(one_change(changes(edit("control = {", "control = { listen = \"::\";")),
                           "control.listen", change_kind::modified, false));
    EXPECT_TRUE(one_change(changes(edit("control = {", "control = { enabled = false;")),
                           "control.enabled", change_kind::modified, false));
    EXPECT_TRUE(one_change(changes(edit("control = { prefixes = [ \"198.18.0.0/15\" ]",
                                        "control = { prefixes = [ ]")),
                           "control.prefixes", change_kind::modified, true));
    auto m = changes(edit("control = {",
                          "control = { modes = [ \"unauthenticated\", \"reflect-octets\" ];"));
    EXPECT_TRUE(one_change(m, "control.modes", change_kind::modified, true));
    ASSERT_EQ(m.size(), 1U);
    EXPECT_EQ(m[0].to, "[ unauthenticated reflect-octets ]");
    for (const char* kv : {"max-connections = 1;", "max-sessions = 1;", "servwait = 1;",
                           "refwait = 1;", "receiver-ports = { min = 1; max = 2; };",
                           "max-timeout = 1;", "allow-third-party-senders = true;"}) {
        auto cs = changes(edit("control = {", std::string("control = { ") + kv));
        ASSERT_EQ(cs.size(), 1U) << kv;
        EXPECT_TRUE(cs[0].reloadable) << kv;
        EXPECT_EQ(cs[0].path.rfind("control.", 0), 0U) << kv;
    }
}

TEST(diff, metrics_keys_need_a_restart) {
    EXPECT_TRUE(one_change(changes(edit("127.0.0.1:9862", "127.0.0.1:9863")), "metrics.listen",
                           change_kind::modified, false));
    EXPECT_TRUE(one_change(changes(edit("site = \"lab1\";", "site = \"lab2\";")), "metrics.labels",
                           change_kind::modified, false));
}

TEST(diff, mixed_changes_need_a_restart) {
    std::string t = edit("0000:3b:00.0", "0000:3b:00.1");
    t.replace(t.find("udp-ports = [ 862 ]"), 19, "udp-ports = [ 863 ]");
    auto cs = changes(t);
    ASSERT_EQ(cs.size(), 2U);
    EXPECT_FALSE(cs[0].reloadable);
    EXPECT_TRUE(cs[1].reloadable);
    EXPECT_TRUE(needs_restart(cs));
    EXPECT_EQ(std::count_if(cs.begin(), cs.end(), [](const change& c) { return c.reloadable; }), 1);
}
