// Valid configs: defaults, the DESIGN.md example, the reference conf/twamp.conf, value forms.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "helpers.hpp"

#include "twamp/config/config.hpp"

using namespace twamp::config;
using twamp::config::test::load_ok;
using twamp::config::test::with_port;

namespace {

ip_prefix pfx(const char* text) {
    auto p = ip_prefix::parse(text);
    EXPECT_TRUE(p) << text;
    return p.value_or(ip_prefix{});
}

ip_address addr(const char* text) {
    auto a = ip_address::parse(text);
    EXPECT_TRUE(a) << text;
    return a.value_or(ip_address{});
}

// DESIGN.md, "Configuration (libconfig) — the contract", verbatim but for the reflector's
// second UDP port, 64364 there: inside the receiver-ports range on an address the control
// server listens on, which the loader refuses (issue 11 item 8).
constexpr const char* design_example = R"(
ports = ( { name = "wire0"; device = "0000:3b:00.0";       # PCI address, or vdev devargs
            addresses = [ "198.18.0.2/24", "2001:2::2/64" ];
            vlans = ( { id = 100; addresses = [ "198.19.0.2/24" ]; } );
            hw-timestamps = "auto";                         # auto | on | off
            # hw-clock = { unit = "us"; epoch = "unix"; };  # only for a device whose clock
            #                                               # rte_eth_read_clock cannot read
            exception = { iface = "twamp0"; rate-limit-pps = 20000; }; } );
reflectors = ( { name = "base"; port = "wire0"; vlan = 0;
                 mode = "twamp-light";                      # twamp-light | stamp
                 udp-ports = [ 862, 64380 ];
                 prefixes = [ "198.18.0.0/15", "2001:2::/48" ];   # empty = accept nothing
                 stateful = true; inactivity-timeout = 100; max-sessions = 65536;
                 dscp = "copy"; timestamp-format = "auto";  # auto (Z bit) | ntp | ptp
                 allow-ipv6-udp-checksum-zero = false; } );
control = { enabled = true; listen = "0.0.0.0"; port = 862;
            modes = [ "unauthenticated" ]; prefixes = [ "198.18.0.0/15" ];
            max-connections = 64; max-sessions = 1024; servwait = 900; refwait = 900;
            receiver-ports = { min = 64364; max = 64373; }; };
metrics = { listen = "127.0.0.1:9862"; labels = { site = "lab1"; }; };
)";

std::string read(const char* path) {
    std::ifstream in(path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace

TEST(load, design_example) {
    config c = load_ok(design_example);
    ASSERT_EQ(c.ports.size(), 1U);
    const port_config& p = c.ports[0];
    EXPECT_EQ(p.name, "wire0");
    EXPECT_EQ(p.device, "0000:3b:00.0");
    EXPECT_EQ(p.kind, device_kind::pci);
    EXPECT_EQ(p.device_name, "0000:3b:00.0");
    EXPECT_EQ(p.device_args, "");
    EXPECT_EQ(p.addresses, (std::vector{pfx("198.18.0.2/24"), pfx("2001:2::2/64")}));
    ASSERT_EQ(p.vlans.size(), 1U);
    EXPECT_EQ(p.vlans[0].id, 100);
    EXPECT_EQ(p.vlans[0].addresses, std::vector{pfx("198.19.0.2/24")});
    EXPECT_EQ(p.timestamps, hw_timestamps::automatic);
    EXPECT_FALSE(p.hw_clock);
    EXPECT_EQ(p.exception.iface, "twamp0");
    EXPECT_EQ(p.exception.rate_limit_pps, 20000U);

    ASSERT_EQ(c.reflectors.size(), 1U);
    const reflector_config& r = c.reflectors[0];
    EXPECT_EQ(r.name, "base");
    EXPECT_EQ(r.port, "wire0");
    EXPECT_EQ(r.port_index, 0U);
    EXPECT_EQ(r.vlan, 0);
    // No `addresses` key: every untagged address of wire0, not the VLAN's.
    EXPECT_EQ(r.addresses, (std::vector{addr("198.18.0.2"), addr("2001:2::2")}));
    EXPECT_EQ(r.mode, reflector_mode::twamp_light);
    EXPECT_EQ(r.udp_ports, (std::vector<uint16_t>{862, 64380}));
    EXPECT_EQ(r.prefixes, (std::vector{pfx("198.18.0.0/15"), pfx("2001:2::/48")}));
    EXPECT_TRUE(r.stateful);
    EXPECT_EQ(r.inactivity_timeout, 100U);
    EXPECT_EQ(r.max_sessions, 65536U);
    EXPECT_TRUE(r.dscp.copy);
    EXPECT_EQ(r.ts_format, timestamp_format::automatic);
    EXPECT_FALSE(r.allow_ipv6_udp_checksum_zero);

    EXPECT_TRUE(c.control.enabled);
    EXPECT_EQ(c.control.listen, addr("0.0.0.0"));
    EXPECT_EQ(c.control.port, 862);
    EXPECT_EQ(c.control.modes, 1U); // RFC 5357 §3.1: unauthenticated is bit value 1
    EXPECT_EQ(c.control.prefixes, std::vector{pfx("198.18.0.0/15")});
    EXPECT_EQ(c.control.max_connections, 64U);
    EXPECT_EQ(c.control.max_sessions, 1024U);
    EXPECT_EQ(c.control.servwait, 900U);
    EXPECT_EQ(c.control.refwait, 900U);
    EXPECT_EQ(c.control.receiver_ports.min, 64364);
    EXPECT_EQ(c.control.receiver_ports.max, 64373);

    EXPECT_TRUE(c.metrics.enabled);
    EXPECT_EQ(c.metrics.listen, "127.0.0.1:9862");
    EXPECT_EQ(c.metrics.address, addr("127.0.0.1"));
    EXPECT_EQ(c.metrics.port, 9862);
    using label = std::pair<std::string, std::string>;
    EXPECT_EQ(c.metrics.labels, (std::vector{label{"site", "lab1"}}));
}

TEST(load, defaults) {
    config c = load_ok(R"(
ports = ( { name = "p"; device = "net_ring0"; addresses = [ "198.18.0.2/24" ]; } );
reflectors = ( { name = "r"; port = "p"; prefixes = [ ]; } );
)");
    ASSERT_EQ(c.ports.size(), 1U);
    const port_config& p = c.ports[0];
    EXPECT_TRUE(p.vlans.empty());
    EXPECT_EQ(p.timestamps, hw_timestamps::automatic);
    EXPECT_FALSE(p.hw_clock);
    EXPECT_EQ(p.exception.iface, "p"); // the port's name
    EXPECT_EQ(p.exception.rate_limit_pps, 20000U);
    ASSERT_EQ(c.reflectors.size(), 1U);
    const reflector_config& r = c.reflectors[0];
    EXPECT_EQ(r.vlan, 0);
    EXPECT_EQ(r.addresses, std::vector{addr("198.18.0.2")});
    EXPECT_EQ(r.mode, reflector_mode::twamp_light);
    EXPECT_EQ(r.udp_ports, std::vector<uint16_t>{862});
    EXPECT_TRUE(r.prefixes.empty()); // accepts nothing
    EXPECT_TRUE(r.stateful);
    EXPECT_EQ(r.inactivity_timeout, 100U);
    EXPECT_EQ(r.max_sessions, 65536U);
    EXPECT_TRUE(r.dscp.copy);
    EXPECT_EQ(r.ts_format, timestamp_format::automatic);
    EXPECT_FALSE(r.allow_ipv6_udp_checksum_zero);
    EXPECT_EQ(r.cos_allowed_dscp.bits, ~uint64_t{0}); // every DSCP
    EXPECT_EQ(r.location.bits,
              location_fields::ports | location_fields::addresses | location_fields::mac);
    EXPECT_FALSE(r.return_address); // opt-in: a Return Address aims replies at another host
    // No control group: no server.
    EXPECT_FALSE(c.control.enabled);
    EXPECT_EQ(c.control.port, 862);
    EXPECT_EQ(c.control.listen, addr("0.0.0.0"));
    EXPECT_EQ(c.control.modes, mode_unauthenticated);
    EXPECT_EQ(c.control.receiver_ports, (port_range{64364, 64373}));
    // No metrics group: no exporter (the defaults stay for when the group is there).
    EXPECT_FALSE(c.metrics.enabled);
    EXPECT_EQ(c.metrics.listen, "127.0.0.1:9862");
    EXPECT_TRUE(c.metrics.labels.empty());
}

TEST(load, no_reflectors_is_a_control_only_box) {
    config c = load_ok(with_port(R"(control = { prefixes = [ "198.18.0.0/15" ]; };)"));
    EXPECT_TRUE(c.reflectors.empty());
    EXPECT_TRUE(c.control.enabled); // a control group means a server unless enabled = false
    config d = load_ok(with_port("control = { enabled = false; };"));
    EXPECT_FALSE(d.control.enabled); // and then prefixes are not required
}

// The demo config (scripts/demo.sh) loads too: its control receiver ports are clear of its
// reflectors' UDP ports on "::" (issue 11 item 8).
TEST(load, demo_conf_parses) {
    load_result r = load_file(TWAMP_DEMO_CONF);
    ASSERT_TRUE(r.ok()) << to_string(r.errors);
    EXPECT_TRUE(r.cfg->control.enabled);
    EXPECT_EQ(r.cfg->reflectors.size(), 2U);
}

TEST(load, reference_conf_parses) {
    load_result r = load_file(TWAMP_REFERENCE_CONF);
    ASSERT_TRUE(r.ok()) << to_string(r.errors);
    const config& c = *r.cfg;
    ASSERT_EQ(c.ports.size(), 1U);
    EXPECT_EQ(c.ports[0].vlans.size(), 1U);
    ASSERT_EQ(c.reflectors.size(), 2U);
    EXPECT_EQ(c.reflectors[1].name, "stamp-vlan100");
    EXPECT_EQ(c.reflectors[1].mode, reflector_mode::stamp);
    EXPECT_EQ(c.reflectors[1].vlan, 100);
    EXPECT_EQ(c.reflectors[1].addresses, std::vector{addr("198.19.0.2")});
    EXPECT_TRUE(c.control.enabled);
    EXPECT_TRUE(c.metrics.enabled);
}

// The reference documents every key: each one the contract defines appears in it, with a
// default or a "Required" and a reload note somewhere in its file.
TEST(load, reference_conf_documents_every_key) {
    std::string text = read(TWAMP_REFERENCE_CONF);
    ASSERT_FALSE(text.empty());
    for (const char* key : {"ports",
                            "name",
                            "device",
                            "addresses",
                            "vlans",
                            "id",
                            "hw-timestamps",
                            "hw-clock",
                            "unit",
                            "epoch",
                            "exception",
                            "iface",
                            "rate-limit-pps",
                            "reflectors",
                            "port",
                            "vlan",
                            "mode",
                            "udp-ports",
                            "prefixes",
                            "stateful",
                            "inactivity-timeout",
                            "max-sessions",
                            "dscp",
                            "timestamp-format",
                            "allow-ipv6-udp-checksum-zero",
                            "cos-allowed-dscp",
                            "location",
                            "return-address",
                            "control",
                            "enabled",
                            "listen",
                            "modes",
                            "max-connections",
                            "servwait",
                            "refwait",
                            "receiver-ports",
                            "max-timeout",
                            "allow-third-party-senders",
                            "min",
                            "max",
                            "metrics",
                            "labels"}) {
        EXPECT_NE(text.find(std::string(key) + " ="), std::string::npos) << key;
    }
    EXPECT_NE(text.find("reload: restart"), std::string::npos);
    EXPECT_NE(text.find("reload: yes"), std::string::npos);
}

TEST(load, devices) {
    auto dev = [](const char* device) {
        return load_ok(std::string("ports = ( { name = \"p\"; device = \"") + device + "\"; } );")
                .ports.at(0);
    };
    auto a = dev("3B:00.1");
    EXPECT_EQ(a.kind, device_kind::pci);
    EXPECT_EQ(a.device_name, "0000:3b:00.1"); // domain added, lower case: rte_pci_addr form
    auto b = dev("0000:af:1f.7,rxq_pkt_pad=1");
    EXPECT_EQ(b.device_name, "0000:af:1f.7");
    EXPECT_EQ(b.device_args, "rxq_pkt_pad=1");
    auto c = dev("net_af_packet0,iface=veth1,qpairs=2");
    EXPECT_EQ(c.kind, device_kind::vdev);
    EXPECT_EQ(c.device, "net_af_packet0,iface=veth1,qpairs=2");
    EXPECT_EQ(c.device_name, "net_af_packet0");
    EXPECT_EQ(c.device_args, "iface=veth1,qpairs=2");
}

TEST(load, dscp_forms) {
    auto dscp = [](const char* value) {
        auto c = load_ok(with_port(std::string("reflectors = ( { name = \"r\"; port = \"wire0\"; "
                                               "prefixes = []; dscp = ") +
                                   value + "; } );"));
        return c.reflectors.empty() ? dscp_config{} : c.reflectors[0].dscp;
    };
    EXPECT_EQ(dscp("\"copy\""), (dscp_config{true, 0}));
    EXPECT_EQ(dscp("46"), (dscp_config{false, 46}));
    EXPECT_EQ(dscp("0"), (dscp_config{false, 0}));
    EXPECT_EQ(dscp("63"), (dscp_config{false, 63}));
    // RFC 3246 EF = 46, RFC 2597 AF41 = 34 (class 4, drop 1: 8*4 + 2*1), CS6 = 48, RFC 5865
    // VOICE-ADMIT = 44, RFC 8622 LE = 1; names in either case.
    EXPECT_EQ(dscp("\"ef\""), (dscp_config{false, 46}));
    EXPECT_EQ(dscp("\"EF\""), (dscp_config{false, 46}));
    EXPECT_EQ(dscp("\"af41\""), (dscp_config{false, 34}));
    EXPECT_EQ(dscp("\"af13\""), (dscp_config{false, 14}));
    EXPECT_EQ(dscp("\"cs6\""), (dscp_config{false, 48}));
    EXPECT_EQ(dscp("\"va\""), (dscp_config{false, 44}));
    EXPECT_EQ(dscp("\"le\""), (dscp_config{false, 1}));
    EXPECT_EQ(dscp("\"default\""), (dscp_config{false, 0}));
}

// The STAMP TLV policy keys (RFC 8972 §4.2.2, §4.4; RFC 9503 §4.1.2).
TEST(load, stamp_tlv_policy) {
    auto refl = [](const std::string& keys) {
        auto c = load_ok(with_port("reflectors = ( { name = \"r\"; port = \"wire0\"; mode = "
                                   "\"stamp\"; prefixes = []; " +
                                   keys + " } );"));
        return c.reflectors.empty() ? reflector_config{} : c.reflectors[0];
    };
    auto dscp = [&](const std::string& list) {
        return refl("cos-allowed-dscp = " + list + ";").cos_allowed_dscp;
    };
    EXPECT_EQ(dscp("[ 46 ]").bits, uint64_t{1} << 46);
    EXPECT_EQ(dscp("[ 0, 63, 10 ]").bits, (uint64_t{1} << 63) | (uint64_t{1} << 10) | 1);
    EXPECT_EQ(dscp("[]").bits, 0U); // none: RP = 1 always
    EXPECT_EQ(dscp("( 34 )").bits, uint64_t{1} << 34);
    EXPECT_TRUE(dscp("[ 46 ]").has(46));
    EXPECT_FALSE(dscp("[ 46 ]").has(45));
    EXPECT_FALSE(dscp("[ 46 ]").has(64)); // no such DSCP
    std::string all = "[ 0";
    for (int d = 1; d < 64; ++d) {
        all += ", " + std::to_string(d);
    }
    EXPECT_EQ(dscp(all + " ]").bits, dscp_set{}.bits); // every value listed: all
    EXPECT_TRUE(dscp(all + " ]").stated);
    EXPECT_FALSE(dscp_set{}.stated);
    auto loc = [&](const std::string& list) { return refl("location = " + list + ";").location; };
    EXPECT_EQ(loc("[ \"ports\" ]").bits, location_fields::ports);
    EXPECT_EQ(loc("[ \"mac\", \"addresses\" ]").bits,
              location_fields::mac | location_fields::addresses);
    EXPECT_EQ(loc("[]").bits, 0);
    EXPECT_EQ(loc("[ \"addresses\", \"ports\", \"mac\" ]"), location_fields{});
    EXPECT_FALSE(refl("return-address = false;").return_address);
    EXPECT_TRUE(refl("return-address = true;").return_address);
    // Without cos-allowed-dscp a fixed dscp permits only itself (no sender overrides the
    // operator's marking); "copy" permits every DSCP; a stated list wins either way.
    auto eff = [&](const std::string& text) {
        const reflector_config r = refl(text);
        return r.cos_allowed_dscp.effective(r.dscp);
    };
    EXPECT_EQ(eff("dscp = 10;"), uint64_t{1} << 10);
    EXPECT_EQ(eff("dscp = \"copy\";"), ~uint64_t{0});
    EXPECT_EQ(eff("dscp = 10; cos-allowed-dscp = [ 46 ];"), uint64_t{1} << 46);
    EXPECT_EQ(eff("dscp = 10; cos-allowed-dscp = [];"), 0U);
    EXPECT_EQ(refl("cos-allowed-dscp = [ \"ef\", \"cs1\", \"default\" ];").cos_allowed_dscp.bits,
              (uint64_t{1} << 46) | (uint64_t{1} << 8) | 1);
    EXPECT_EQ(to_string(dscp("[ 46, 0 ]")), "[ 0, 46 ]");
    EXPECT_EQ(to_string(dscp("[]")), "[]");
    EXPECT_EQ(to_string(dscp_set{}), "(default)");
    EXPECT_EQ(to_string(dscp(all + " ]")), "(all)");
    EXPECT_EQ(to_string(loc("[ \"mac\", \"ports\" ]")), "[ \"ports\", \"mac\" ]");
    EXPECT_EQ(to_string(loc("[]")), "[]");
}

// Issue 18's limits: defaults, every form, and what is refused (README "Limits").
TEST(load, reflector_limits) {
    auto refl = [](const std::string& keys) {
        auto c = load_ok(with_port("reflectors = ( { name = \"r\"; port = \"wire0\"; prefixes = [ "
                                   "\"198.18.0.0/15\", \"2001:2::/48\" ]; " +
                                   keys + " } );"));
        return c.reflectors.empty() ? reflector_config{} : c.reflectors[0];
    };
    const reflector_config d = refl("");
    EXPECT_TRUE(d.refused_source_ports.reflector_ports);
    EXPECT_EQ(d.rate_limit_pps, 0U);
    EXPECT_EQ(d.source_rate_limit_pps, 0U);
    EXPECT_EQ(d.source_session_rate, 100U);
    EXPECT_TRUE(d.prefix_limits.empty());
    EXPECT_EQ(d.over_capacity_action, over_capacity::stateless);

    const reflector_config r =
            refl("refused-source-ports = ( 862, \"64364-64373\", 7 ); rate-limit-pps = 100000000; "
                 "source-rate-limit-pps = 5; source-session-rate = 0; over-capacity = \"drop\"; "
                 "prefix-limits = ( { prefix = \"198.18.5.0/24\"; rate-limit-pps = 10; }, "
                 "{ prefix = \"2001:2:0:1::/64\"; max-sessions = 3; } );");
    EXPECT_FALSE(r.refused_source_ports.reflector_ports);
    ASSERT_EQ(r.refused_source_ports.ranges.size(), 3U);
    EXPECT_EQ(r.refused_source_ports.ranges[0], (port_range{862, 862}));
    EXPECT_EQ(r.refused_source_ports.ranges[1], (port_range{64364, 64373}));
    EXPECT_EQ(r.refused_source_ports.ranges[2], (port_range{7, 7}));
    EXPECT_EQ(to_string(r.refused_source_ports), "( 862, \"64364-64373\", 7 )");
    EXPECT_EQ(r.rate_limit_pps, 100'000'000U);
    EXPECT_EQ(r.source_rate_limit_pps, 5U);
    EXPECT_EQ(r.source_session_rate, 0U);
    EXPECT_EQ(r.over_capacity_action, over_capacity::drop);
    ASSERT_EQ(r.prefix_limits.size(), 2U);
    EXPECT_EQ(r.prefix_limits[0].prefix.to_string(), "198.18.5.0/24");
    EXPECT_EQ(r.prefix_limits[0].rate_limit_pps, 10U);
    EXPECT_EQ(r.prefix_limits[0].max_sessions, 0U);
    EXPECT_EQ(r.prefix_limits[1].max_sessions, 3U);
    EXPECT_TRUE(refl("refused-source-ports = [];").refused_source_ports.ranges.empty());
    EXPECT_FALSE(refl("refused-source-ports = [];").refused_source_ports.reflector_ports);
    EXPECT_EQ(to_string(refl("refused-source-ports = [];").refused_source_ports), "[]");
    EXPECT_EQ(to_string(d.refused_source_ports), "\"reflector-ports\"");

    auto bad = [](const std::string& keys, std::string_view path,
                  std::initializer_list<std::string_view> what) {
        return twamp::config::test::has_error(
                with_port("reflectors = ( { name = \"r\"; port = \"wire0\"; prefixes = "
                          "[ \"198.18.0.0/15\" ]; " +
                          keys + " } );"),
                2, path, what);
    };
    EXPECT_TRUE(bad("refused-source-ports = \"all\";", "reflectors[0].refused-source-ports",
                    {"\"reflector-ports\""}));
    EXPECT_TRUE(bad("refused-source-ports = ( \"9-3\" );", "reflectors[0].refused-source-ports[0]",
                    {"lo <= hi"}));
    EXPECT_TRUE(bad("refused-source-ports = ( \"1-70000\" );",
                    "reflectors[0].refused-source-ports[0]", {"65535"}));
    EXPECT_TRUE(bad("refused-source-ports = ( \"1-2x\" );", "reflectors[0].refused-source-ports[0]",
                    {"\"1-2x\""}));
    EXPECT_TRUE(bad("refused-source-ports = ( 0 );", "reflectors[0].refused-source-ports[0]", {}));
    EXPECT_TRUE(bad("rate-limit-pps = 100000001;", "reflectors[0].rate-limit-pps", {}));
    EXPECT_TRUE(bad("over-capacity = \"queue\";", "reflectors[0].over-capacity", {"\"drop\""}));
    EXPECT_TRUE(bad("prefix-limits = ( { prefix = \"10.0.0.0/8\"; } );",
                    "reflectors[0].prefix-limits[0].prefix", {"inside one of the reflector's"}));
    EXPECT_TRUE(bad("prefix-limits = ( { prefix = \"198.18.0.0/24\"; }, { prefix = "
                    "\"198.18.0.0/24\"; } );",
                    "reflectors[0].prefix-limits[1].prefix", {"duplicate"}));
    EXPECT_TRUE(bad("prefix-limits = ( { rate-limit-pps = 1; } );",
                    "reflectors[0].prefix-limits[0].prefix", {"required key missing"}));
    EXPECT_TRUE(bad("prefix-limits = ( { prefix = \"198.18.0.0/24\"; max-sessions = -1; } );",
                    "reflectors[0].prefix-limits[0].max-sessions", {}));
    std::string many;
    for (int i = 0; i < 65; ++i) {
        many += std::string(i ? ", " : "") + "{ prefix = \"198.18." + std::to_string(i) +
                ".0/24\"; }";
    }
    EXPECT_TRUE(bad("prefix-limits = ( " + many + " );", "reflectors[0].prefix-limits",
                    {"at most 64"}));
}

TEST(load, reflector_address_subset_and_vlan) {
    config c = load_ok(with_port(R"(reflectors = (
  { name = "a"; port = "wire0"; addresses = [ "2001:2::2" ]; prefixes = [ "::/0" ]; },
  { name = "b"; port = "wire0"; addresses = [ "198.18.0.2" ]; mode = "stamp"; prefixes = [ "0.0.0.0/0" ]; },
  { name = "c"; port = "wire0"; vlan = 100; prefixes = [ "198.18.0.9" ]; }
);)"));
    ASSERT_EQ(c.reflectors.size(), 3U);
    // Same port, VLAN and UDP port 862, but disjoint addresses: no overlap.
    EXPECT_EQ(c.reflectors[0].addresses, std::vector{addr("2001:2::2")});
    EXPECT_EQ(c.reflectors[1].addresses, std::vector{addr("198.18.0.2")});
    EXPECT_EQ(c.reflectors[2].addresses, std::vector{addr("198.19.0.2")});
    EXPECT_EQ(c.reflectors[2].prefixes, std::vector{pfx("198.18.0.9/32")}); // bare = host
}

TEST(load, control_values) {
    config c = load_ok(with_port(R"(control = {
  listen = "::"; port = 8620;
  modes = [ "unauthenticated", "reflect-octets", "symmetrical-size", "individual-session-control" ];
  prefixes = [ ]; max-connections = 1; max-sessions = 1048576; servwait = 1; refwait = 604800;
  receiver-ports = { min = 5000; max = 5000; };
};)"));
    EXPECT_EQ(c.control.listen, addr("::"));
    EXPECT_EQ(c.control.port, 8620);
    // RFC 5357 (1), RFC 5938 (16), RFC 6038 (32, 64).
    EXPECT_EQ(c.control.modes, 1U | 16U | 32U | 64U);
    EXPECT_EQ(modes_to_string(c.control.modes),
              "unauthenticated individual-session-control reflect-octets symmetrical-size");
    EXPECT_TRUE(c.control.prefixes.empty());
    EXPECT_EQ(c.control.max_sessions, 1048576U);
    EXPECT_EQ(c.control.refwait, 604800U);
    EXPECT_EQ(c.control.receiver_ports, (port_range{5000, 5000}));
    EXPECT_EQ(c.control.max_timeout, 60U) << "default";
    EXPECT_FALSE(c.control.allow_third_party_senders) << "default";
}

TEST(load, control_timeout_cap_third_party_senders_and_ptp) {
    config c = load_ok(with_port(R"(control = { prefixes = [ ];
  modes = [ "unauthenticated", "ptpv2-timestamps" ];
  max-timeout = 86400; allow-third-party-senders = true; };)"));
    EXPECT_EQ(c.control.max_timeout, 86400U);
    EXPECT_TRUE(c.control.allow_third_party_senders);
    EXPECT_EQ(c.control.modes, 1U | 512U) << "RFC 8186: bit position 9";
    EXPECT_EQ(modes_to_string(c.control.modes), "unauthenticated ptpv2-timestamps");
    for (const char* bad :
         {"max-timeout = 0;", "max-timeout = 86401;", "allow-third-party-senders = 1;"}) {
        load_result r =
                load_string(with_port(std::string("control = { prefixes = [ ]; ") + bad + " };"));
        EXPECT_FALSE(r.ok()) << bad;
    }
}

TEST(load, metrics_values) {
    config c = load_ok(with_port(
            R"(metrics = { listen = "[::1]:9100"; labels = { site = "lab 1"; dc = "Zürich"; }; };)"));
    EXPECT_EQ(c.metrics.listen, "[::1]:9100");
    EXPECT_EQ(c.metrics.address, addr("::1"));
    EXPECT_EQ(c.metrics.port, 9100);
    using label = std::pair<std::string, std::string>;
    EXPECT_EQ(c.metrics.labels, (std::vector{label{"site", "lab 1"}, label{"dc", "Zürich"}}));
    config d = load_ok(
            with_port(R"(metrics = { listen = "[2001:0002::0001]:80"; enabled = false; };)"));
    EXPECT_EQ(d.metrics.listen, "[2001:2::1]:80"); // normalized
    EXPECT_FALSE(d.metrics.enabled);
}

TEST(load, hw_clock_and_timestamps) {
    config c = load_ok(R"(ports = ( { name = "p"; device = "net_pcap0,rx_pcap=a.pcap";
  hw-timestamps = "on"; hw-clock = { unit = "us"; epoch = "unix"; }; } );)");
    ASSERT_TRUE(c.ports[0].hw_clock);
    EXPECT_EQ(c.ports[0].timestamps, hw_timestamps::on);
    EXPECT_EQ(c.ports[0].hw_clock->unit, clock_unit::us);
    EXPECT_EQ(c.ports[0].hw_clock->epoch, clock_epoch::unix_time);
}

TEST(load, vlan_iface_names) {
    config c = load_ok(
            R"(ports = ( { name = "p"; device = "net_ring0"; exception = { iface = "tap1234567"; };
  vlans = ( { id = 4094; addresses = [ "198.19.0.2/24" ]; } ); } );)");
    // 10 + 1 + 4 = 15 characters: the longest a Linux interface name can be.
    EXPECT_EQ(vlan_iface_name(c.ports.at(0), 4094), "tap1234567.4094");
}

TEST(load, file_not_found_names_the_file) {
    load_result r = load_file("/nonexistent/twamp.conf");
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.errors.size(), 1U);
    EXPECT_EQ(to_string(r.errors[0]),
              "/nonexistent/twamp.conf: cannot open: No such file or directory");
}
