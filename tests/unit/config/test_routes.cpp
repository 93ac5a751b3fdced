// ports[].exception.routes: the routes the box installs on its kernel (TAP) side.
#include <string>

#include <gtest/gtest.h>

#include "helpers.hpp"

#include "twamp/config/config.hpp"

using namespace twamp::config;
using twamp::config::test::has_error;
using twamp::config::test::load_ok;

namespace {

// One port (untagged IPv4 and IPv6, VLAN 100 in 198.19.0.0/24) whose exception group holds
// `routes`, on line 1; a second port on line 2 with `routes2`.
std::string with_routes(const std::string& routes, const std::string& routes2 = "()") {
    return R"(ports = ( { name = "wire0"; device = "net_ring0"; addresses = [ "198.18.0.2/24", "2001:2::2/64" ]; vlans = ( { id = 100; addresses = [ "198.19.0.2/24" ]; } ); exception = { routes = )" +
           routes + R"(; }; },
  { name = "wire1"; device = "net_ring1"; addresses = [ "198.18.1.2/24" ]; exception = { routes = )" +
           routes2 + "; }; } );\n";
}

} // namespace

TEST(routes, default_is_none) {
    config c = load_ok(test::one_port);
    ASSERT_EQ(c.ports.size(), 1u);
    EXPECT_TRUE(c.ports[0].exception.routes.empty());
}

TEST(routes, resolved_to_the_subnet_that_holds_the_gateway) {
    config c = load_ok(with_routes(
            R"(( { to = "198.18.128.0/17"; via = "198.18.0.254"; },
                 { to = "0.0.0.0/0"; via = "198.19.0.1"; },
                 { to = "::/0"; via = "2001:2::1"; },
                 { to = "198.18.200.9"; via = "198.18.0.254"; } ))"));
    const auto& r = c.ports[0].exception.routes;
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(r[0].to.to_string(), "198.18.128.0/17");
    EXPECT_EQ(r[0].via.to_string(), "198.18.0.254");
    EXPECT_EQ(r[0].vlan, 0);
    EXPECT_EQ(r[1].to.to_string(), "0.0.0.0/0");
    EXPECT_EQ(r[1].vlan, 100);
    EXPECT_EQ(r[2].to.to_string(), "::/0");
    EXPECT_EQ(r[2].via.to_string(), "2001:2::1");
    EXPECT_EQ(r[2].vlan, 0);
    EXPECT_EQ(r[3].to.to_string(), "198.18.200.9/32"); // a bare address: that host
}

TEST(routes, gateway_outside_the_subnets) {
    EXPECT_TRUE(has_error(with_routes(R"(( { to = "198.18.128.0/17"; via = "198.20.0.1"; } ))"), 1,
                          "ports[0].exception.routes[0].via",
                          {"outside the port's subnets", "198.18.0.0/24", "198.19.0.0/24"}));
    EXPECT_TRUE(has_error(with_routes(R"(( { to = "::/0"; via = "fe80::1"; } ))"), 1,
                          "ports[0].exception.routes[0].via",
                          {"2001:2::/64", "a link-local gateway is not taken"}));
    // wire1 has no IPv6 address at all.
    EXPECT_TRUE(has_error(with_routes("()", R"(( { to = "::/0"; via = "2001:2::1"; } ))"), 2,
                          "ports[1].exception.routes[0].via", {"IPv6 subnets (it has none)"}));
}

TEST(routes, family_must_match) {
    EXPECT_TRUE(has_error(with_routes(R"(( { to = "::/0"; via = "198.18.0.254"; } ))"), 1,
                          "ports[0].exception.routes[0].via",
                          {"expected an IPv6 gateway for ::/0"}));
}

TEST(routes, gateway_is_not_the_box) {
    EXPECT_TRUE(has_error(with_routes(R"(( { to = "198.18.128.0/17"; via = "198.18.0.2"; } ))"), 1,
                          "ports[0].exception.routes[0].via", {"this box's own address"}));
    EXPECT_TRUE(has_error(with_routes(R"(( { to = "198.18.128.0/17"; via = "224.0.0.1"; } ))"), 1,
                          "ports[0].exception.routes[0].via", {"not a unicast address"}));
}

TEST(routes, gateway_not_the_subnets_network_or_broadcast) {
    // The kernel refuses both as a gateway at start: --check must too.
    EXPECT_TRUE(has_error(with_routes(R"(( { to = "198.18.128.0/17"; via = "198.18.0.255"; } ))"),
                          1, "ports[0].exception.routes[0].via",
                          {"the broadcast address of 198.18.0.0/24"}));
    EXPECT_TRUE(has_error(with_routes(R"(( { to = "198.18.128.0/17"; via = "198.19.0.0"; } ))"), 1,
                          "ports[0].exception.routes[0].via",
                          {"the network address of 198.19.0.0/24"}));
    // /31 (RFC 3021) and IPv6 have neither.
    config c = load_ok(
            R"(ports = ( { name = "wire0"; device = "net_ring0"; addresses = [ "198.18.2.0/31", "2001:2::2/64" ]; exception = { routes = ( { to = "198.18.128.0/17"; via = "198.18.2.1"; }, { to = "::/0"; via = "2001:2::"; } ); }; } );
)");
    ASSERT_EQ(c.ports[0].exception.routes.size(), 2u);
    EXPECT_EQ(c.ports[0].exception.routes[0].via.to_string(), "198.18.2.1");
}

TEST(routes, destination_checked) {
    EXPECT_TRUE(has_error(with_routes(R"(( { to = "198.18.128.1/17"; via = "198.18.0.254"; } ))"),
                          1, "ports[0].exception.routes[0].to",
                          {"host bits set", "198.18.128.0/17"}));
    EXPECT_TRUE(has_error(with_routes(R"(( { to = "nowhere"; via = "198.18.0.254"; } ))"), 1,
                          "ports[0].exception.routes[0].to", {"expected a destination prefix"}));
    EXPECT_TRUE(has_error(with_routes(R"(( { to = "224.0.0.0/4"; via = "198.18.0.254"; } ))"), 1,
                          "ports[0].exception.routes[0].to", {"multicast"}));
    EXPECT_TRUE(has_error(with_routes(R"(( { via = "198.18.0.254"; } ))"), 1,
                          "ports[0].exception.routes[0].to", {"required key missing"}));
    EXPECT_TRUE(has_error(with_routes(R"(( { to = "0.0.0.0/0"; } ))"), 1,
                          "ports[0].exception.routes[0].via", {"required key missing"}));
    EXPECT_TRUE(
            has_error(with_routes(R"(( { to = "0.0.0.0/0"; via = "198.18.0.254"; dev = "x"; } ))"),
                      1, "ports[0].exception.routes[0].dev", {"unknown key"}));
}

TEST(routes, a_destination_once_in_the_file) {
    EXPECT_TRUE(has_error(with_routes(R"(( { to = "0.0.0.0/0"; via = "198.18.0.254"; },
                                          { to = "0.0.0.0/0"; via = "198.19.0.1"; } ))"),
                          2, "ports[0].exception.routes[1].to",
                          {"0.0.0.0/0 is already routed at ports[0].exception.routes[0].to"}));
    EXPECT_TRUE(has_error(with_routes(R"(( { to = "198.18.128.0/17"; via = "198.18.0.254"; } ))",
                                      R"(( { to = "198.18.128.0/17"; via = "198.18.1.1"; } ))"),
                          2, "ports[1].exception.routes[0].to", {"already routed at ports[0]"}));
    // The same prefix, two lengths: two destinations.
    load_ok(with_routes(R"(( { to = "198.18.128.0/17"; via = "198.18.0.254"; } ))",
                        R"(( { to = "198.18.128.0/18"; via = "198.18.1.1"; } ))"));
}

TEST(routes, not_inside_a_connected_subnet) {
    EXPECT_TRUE(has_error(with_routes(R"(( { to = "198.18.0.0/24"; via = "198.18.0.254"; } ))"), 1,
                          "ports[0].exception.routes[0].to",
                          {"198.18.0.0/24 is on-link: inside the subnet 198.18.0.0/24 of "
                           "ports[0].addresses[0]"}));
    // Another port's subnet, or a VLAN's, is on-link too (one namespace holds every TAP).
    EXPECT_TRUE(has_error(with_routes(R"(( { to = "198.18.1.128/25"; via = "198.18.0.254"; } ))"),
                          1, "ports[0].exception.routes[0].to",
                          {"inside the subnet 198.18.1.0/24 of ports[1].addresses[0]"}));
    EXPECT_TRUE(has_error(with_routes(R"(( { to = "198.19.0.7"; via = "198.18.0.254"; } ))"), 1,
                          "ports[0].exception.routes[0].to",
                          {"of ports[0].vlans[0].addresses[0]"}));
    // A prefix that holds a connected subnet is fine: the on-link route is the longer match.
    load_ok(with_routes(R"(( { to = "198.18.0.0/15"; via = "198.18.0.254"; } ))"));
}

TEST(routes, at_most_64) {
    std::string many = "(";
    for (int i = 0; i < 65; ++i) {
        many += std::string(i ? "," : "") + "{ to = \"198.18." + std::to_string(100 + i) +
                ".0/24\"; via = \"198.18.0.254\"; }";
    }
    EXPECT_TRUE(has_error(with_routes(many + ")"), 1, "ports[0].exception.routes",
                          {"at most 64 routes, got 65"}));
}

TEST(routes, a_change_needs_a_restart) {
    config a = load_ok(with_routes("()"));
    config b = load_ok(with_routes(R"(( { to = "198.18.128.0/17"; via = "198.18.0.254"; } ))"));
    auto changes = diff(a, b);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].path, "ports[\"wire0\"].exception.routes");
    EXPECT_FALSE(changes[0].reloadable);
    EXPECT_EQ(changes[0].to, "[ { to = \"198.18.128.0/17\"; via = \"198.18.0.254\"; } ]");
    EXPECT_TRUE(needs_restart(changes));
}
