// The key table (include/twamp/config/keys.hpp) against itself, the loader, diff() and the
// reference conf/twamp.conf, so that none of them can drift from the others.
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <gtest/gtest.h>
#include <libconfig.h++>

#include "helpers.hpp"

#include "twamp/config/config.hpp"
#include "twamp/config/keys.hpp"

using namespace twamp::config;
using twamp::config::test::has_error;
using twamp::config::test::load_ok;

namespace {

std::string read(const char* path) {
    std::ifstream in(path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> r;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
        r.push_back(l);
    }
    return r;
}

std::string squeeze(std::string_view s) {
    std::string r;
    for (char c : s) {
        if (c == ' ' || c == '\t') {
            continue;
        }
        r += c;
    }
    return r;
}

// "ports[].vlans[]" -> "ports[].vlans": the key whose value a group is (or is in).
std::string_view group_key(std::string_view parent) {
    if (parent.ends_with("[]")) {
        parent.remove_suffix(2);
    }
    return parent;
}

bool type_matches(key_type t, const libconfig::Setting& s) {
    using S = libconfig::Setting;
    bool integer = s.getType() == S::TypeInt || s.getType() == S::TypeInt64;
    switch (t) {
    case key_type::group:
    case key_type::labels:
        return s.isGroup();
    case key_type::group_list:
        return s.isList();
    case key_type::string:
        return s.getType() == S::TypeString;
    case key_type::integer:
        return integer;
    case key_type::boolean:
        return s.getType() == S::TypeBoolean;
    case key_type::string_list:
    case key_type::integer_list: {
        if (!s.isArray() && !s.isList()) {
            return false;
        }
        for (int i = 0; i < s.getLength(); ++i) {
            bool ok = t == key_type::string_list
                              ? s[i].getType() == S::TypeString
                              : s[i].getType() == S::TypeInt || s[i].getType() == S::TypeInt64;
            if (!ok) {
                return false;
            }
        }
        return true;
    }
    case key_type::string_or_integer:
        return s.getType() == S::TypeString || integer;
    case key_type::port_set:
        if (s.getType() == S::TypeString) {
            return true;
        }
        if (!s.isArray() && !s.isList()) {
            return false;
        }
        for (int i = 0; i < s.getLength(); ++i) {
            if (s[i].getType() != S::TypeString && s[i].getType() != S::TypeInt) {
                return false;
            }
        }
        return true;
    }
    return false;
}

// A key as conf/twamp.conf has it: where it first stands and what its value is.
struct found {
    unsigned line = 0; // 1-based
    bool type_ok = false;
};

void walk(const libconfig::Setting& s, const std::string& path, std::map<std::string, found>& out) {
    const key_info* k = find_key(path);
    if (!s.isAggregate() || (k && k->type == key_type::labels)) {
        return; // a label's name is the user's, not a key
    }
    for (int i = 0; i < s.getLength(); ++i) {
        const libconfig::Setting& c = s[i];
        std::string p = c.getName() ? (path.empty() ? "" : path + ".") + c.getName() : path + "[]";
        if (c.getName() && !out.contains(p)) {
            const key_info* ck = find_key(p);
            out[p] = {c.getSourceLine(), ck && type_matches(ck->type, c)};
        }
        walk(c, p, out);
    }
}

// The reference file read as documentation: each key's comment block.
class reference {
public:
    explicit reference(const std::string& text) : lines_(lines_of(text)) {
        // The keys shown commented out (`# hw-clock = { ... };`) are keys too.
        static const std::regex commented(R"(^(\s*)#\s*([a-z][a-z0-9-]* = .*;)\s*$)");
        std::string live;
        for (const auto& l : lines_) {
            live += std::regex_replace(l, commented, "$1$2") + "\n";
        }
        libconfig::Config lc;
        lc.readString(live);
        walk(lc.getRoot(), "", keys_);
        live_ = lines_of(live);
    }

    const std::map<std::string, found>& keys() const { return keys_; }

    // The comment lines right above line `n` (up to a blank or code line), and the comment
    // after the value on line `n` itself.
    std::string block(unsigned n) const {
        std::vector<std::string> above;
        for (unsigned i = n - 1; i >= 1; --i) {
            std::string l = lines_[i - 1];
            auto first = l.find_first_not_of(" \t");
            if (first == l.npos || l[first] != '#') {
                break;
            }
            above.push_back(l.substr(first + 1));
        }
        std::string r;
        for (auto it = above.rbegin(); it != above.rend(); ++it) {
            r += *it + "\n";
        }
        const std::string& own = live_[n - 1];
        if (auto hash = own.find('#'); hash != own.npos) {
            r += own.substr(hash + 1) + "\n";
        }
        return r;
    }

private:
    std::vector<std::string> lines_;
    std::vector<std::string> live_;
    std::map<std::string, found> keys_;
};

// The defaults a comment block states: `Default X`, `Default: X` or `X (default...`, X a
// libconfig literal.
std::vector<std::string> stated_defaults(const std::string& block) {
    static const std::string lit =
            R"(("[^"]*"|\[[^\]]*\]|\([^()]*\)|\{[^}]*\}|\b-?[0-9]+\b|\btrue\b|\bfalse\b))";
    static const std::regex before(R"([Dd]efault:?\s+)" + lit);
    static const std::regex after(lit + R"(\s+\(default)");
    std::vector<std::string> r;
    for (const auto* re : {&before, &after}) {
        for (std::sregex_iterator it(block.begin(), block.end(), *re), end; it != end; ++it) {
            r.push_back(squeeze((*it)[1].str()));
        }
    }
    return r;
}

// "yes", "restart", or "" when the block states no reload rule.
std::string stated_reload(const std::string& block) {
    static const std::regex re(R"(reload: (yes|restart))");
    std::smatch m;
    return std::regex_search(block, m, re) ? m[1].str() : "";
}

} // namespace

TEST(keys, table_is_well_formed) {
    std::set<std::string_view> paths;
    for (const auto& k : keys) {
        EXPECT_TRUE(paths.insert(k.path).second) << "duplicate " << k.path;
        EXPECT_FALSE(k.help.empty()) << k.path;
        EXPECT_FALSE(k.name().empty()) << k.path;
        if (!k.parent().empty()) {
            // Every key is inside a group the table has: a group, or a list of groups ("[]").
            const key_info* g = find_key(group_key(k.parent()));
            ASSERT_NE(g, nullptr) << k.path;
            key_type want = k.parent().ends_with("[]") ? key_type::group_list : key_type::group;
            EXPECT_EQ(g->type, want) << k.path;
            EXPECT_LT(g, &k) << k.path << ": listed before its group";
        }
        if (!k.default_value.empty()) {
            // The default is a value of the key's type, as libconfig reads it.
            libconfig::Config lc;
            std::string text = "x = " + std::string(k.default_value) + ";";
            ASSERT_NO_THROW(lc.readString(text)) << k.path << ": " << text;
            EXPECT_TRUE(type_matches(k.type, lc.lookup("x"))) << k.path;
        }
    }
    static_assert(key("ports[].exception.rate-limit-pps").reloadable);
    static_assert(!key("ports[].device").reloadable);
    static_assert(key("ports[].vlans[].id").parent() == "ports[].vlans[]");
    static_assert(key("metrics").parent().empty());
}

// Every key in the table is in conf/twamp.conf and every key there is in the table; each
// documented by a comment, with the table's default where the file states one and the same
// reload rule (its own "reload:" or its group's).
TEST(keys, table_matches_reference_conf) {
    std::string text = read(TWAMP_REFERENCE_CONF);
    ASSERT_FALSE(text.empty());
    reference ref(text);
    for (const auto& [path, f] : ref.keys()) {
        const key_info* k = find_key(path);
        EXPECT_NE(k, nullptr) << TWAMP_REFERENCE_CONF ":" << f.line << ": " << path
                              << " is not in twamp::config::keys";
        EXPECT_TRUE(f.type_ok) << TWAMP_REFERENCE_CONF ":" << f.line << ": " << path
                               << ": value not of type " << (k ? to_string(k->type) : "?");
    }
    std::map<std::string_view, std::string> reload_of; // resolved so far, parents first
    for (const auto& k : keys) {
        auto it = ref.keys().find(std::string(k.path));
        if (it == ref.keys().end()) {
            ADD_FAILURE() << k.path << " is in the key table but not in " TWAMP_REFERENCE_CONF;
            continue;
        }
        unsigned line = it->second.line;
        std::string where =
                TWAMP_REFERENCE_CONF ":" + std::to_string(line) + ": " + std::string(k.path) + ": ";
        std::string_view group = group_key(k.parent());
        auto parent = ref.keys().find(std::string(group));
        // A key written inside its group's line (receiver-ports = { min = ...; }) shares the
        // group's comment, and the group's stated default holds its own.
        bool inline_key = parent != ref.keys().end() && parent->second.line == line;
        std::string block = ref.block(line);
        EXPECT_NE(block.find_first_not_of(" \t\n"), std::string::npos)
                << where << "no comment documents it";
        if (inline_key) {
            if (!k.default_value.empty()) {
                const key_info* g = find_key(group);
                ASSERT_NE(g, nullptr);
                std::string want =
                        squeeze(std::string(k.name()) + "=" + std::string(k.default_value) + ";");
                EXPECT_NE(squeeze(g->default_value).find(want), std::string::npos)
                        << where << "the group's default " << g->default_value << " lacks " << want;
            }
        } else {
            auto stated = stated_defaults(block);
            if (k.default_value.empty()) {
                EXPECT_TRUE(stated.empty())
                        << where << "the file states default " << stated[0] << ", the table none";
            } else {
                EXPECT_FALSE(stated.empty())
                        << where << "the file states no default, the table " << k.default_value;
                for (const auto& s : stated) {
                    EXPECT_EQ(s, squeeze(k.default_value)) << where << "default";
                }
            }
        }
        std::string reload = inline_key ? "" : stated_reload(block);
        if (reload.empty() && !group.empty()) {
            reload = reload_of[group];
        }
        reload_of[k.path] = reload;
        if (reload.empty()) {
            // Only a group may leave it to its keys (control: some restart, some not).
            EXPECT_TRUE(k.type == key_type::group || k.type == key_type::group_list)
                    << where << "no \"reload: yes|restart\" for it or its group";
        } else {
            EXPECT_EQ(reload, k.reloadable ? "yes" : "restart") << where << "reload rule";
        }
    }
}

// A group accepts exactly the keys the table lists under it, and names them when it refuses
// one.
TEST(keys, unknown_keys_follow_the_table) {
    std::set<std::string_view> groups;
    for (const auto& k : keys) {
        groups.insert(k.parent());
    }
    for (auto g : groups) {
        std::string expected = "expected one of:";
        for (const auto& k : keys) {
            if (k.parent() == g) {
                expected += " " + std::string(k.name());
            }
        }
        // A config with every group present once; the unknown key goes into group `g`.
        std::map<std::string_view, std::string> at;
        at[g] = "bogus-key = 1; ";
        std::string text =
                "ports = ( { name = \"wire0\"; device = \"net_ring0\"; "
                "addresses = [ \"198.18.0.2/24\" ]; vlans = ( { id = 100; addresses = [ "
                "\"198.19.0.2/24\" ]; " +
                at["ports[].vlans[]"] + "} ); hw-clock = { unit = \"us\"; epoch = \"unix\"; " +
                at["ports[].hw-clock"] + "}; exception = { " +
                (at["ports[].exception.routes[]"].empty()
                         ? std::string()
                         : "routes = ( { to = \"0.0.0.0/0\"; via = \"198.18.0.1\"; " +
                                   at["ports[].exception.routes[]"] + "} ); ") +
                at["ports[].exception"] + "}; " + at["ports[]"] +
                "} );\nreflectors = ( { name = \"base\"; port = \"wire0\"; "
                "prefixes = [ ]; " +
                (at["reflectors[].ssid-keys[]"].empty()
                         ? std::string()
                         : "ssid-keys = ( { " + at["reflectors[].ssid-keys[]"] + "} ); ") +
                (at["reflectors[].prefix-limits[]"].empty()
                         ? std::string()
                         : "prefix-limits = ( { prefix = \"198.18.0.0/24\"; " +
                                   at["reflectors[].prefix-limits[]"] + "} ); ") +
                at["reflectors[]"] + "} );\ncontrol = { prefixes = [ ]; receiver-ports = { " +
                at["control.receiver-ports"] + "}; " + at["control"] + "};\nmetrics = { " +
                at["metrics"] + "};\n" + at[""];
        std::string path = std::string(g);
        for (auto pos = path.find("[]"); pos != path.npos; pos = path.find("[]")) {
            path.replace(pos, 2, "[0]");
        }
        path += (path.empty() ? "" : ".") + std::string("bogus-key");
        // Line 1 ports, 2 reflectors, 3 control, 4 metrics, 5 the top level.
        unsigned line = g.empty() ? 5 : 4;
        for (auto [section, n] :
             {std::pair{"ports", 1U}, std::pair{"reflectors", 2U}, std::pair{"control", 3U}}) {
            line = g.starts_with(section) ? n : line;
        }
        EXPECT_TRUE(has_error(text, line, path, {"unknown key \"bogus-key\"", expected})) << g;
        at[g] = "";
    }
}

// Every change diff() reports takes its reload rule from the table: the key's entry, found
// by the change's path with names and VLAN IDs taken out.
TEST(keys, diff_follows_the_table) {
    std::string a = R"(
ports = ( { name = "wire0"; device = "net_ring0"; addresses = [ "198.18.0.2/24" ];
            vlans = ( { id = 100; addresses = [ "198.19.0.2/24" ]; } );
            exception = { rate-limit-pps = 10; }; },
          { name = "wire1"; device = "net_ring2";
            vlans = ( { id = 100; addresses = [ "198.20.0.2/24" ]; } ); } );
reflectors = ( { name = "base"; port = "wire0"; prefixes = [ "198.18.0.0/15" ]; } );
control = { prefixes = [ "198.18.0.0/15" ]; };
metrics = { labels = { site = "lab1"; }; };
)";
    std::string b = R"(
ports = ( { name = "wire0"; device = "net_ring1"; addresses = [ "198.18.0.3/24" ];
            vlans = ( { id = 100; addresses = [ "198.19.0.3/24" ]; } );
            hw-timestamps = "off"; t3 = "software"; t3-lead-ns = 20000;
            tx-timestamps = "off"; exception = { iface = "tap0"; rate-limit-pps = 11;
                                                control-rate-limit-pps = 12;
                                                neighbor-rate-limit-pps = 13;
                                                routes = ( { to = "0.0.0.0/0";
                                                             via = "198.18.0.1"; } ); }; },
          { name = "wire1"; device = "net_ring2";
            vlans = ( { id = 100; addresses = [ "198.20.0.2/24" ]; } ); } );
reflectors = ( { name = "base"; port = "wire1"; vlan = 100; mode = "stamp";
                 udp-ports = [ 863 ]; prefixes = [ "198.18.0.0/16" ]; stateful = false; inactivity-timeout = 5;
                 max-sessions = 5; dscp = "ef"; timestamp-format = "ntp";
                 allow-ipv6-udp-checksum-zero = true; cos-allowed-dscp = [ 46 ];
                 location = [ "ports" ]; return-address = true;
                 authentication = "authenticated"; key-id = "alice";
                 ssid-keys = ( { ssid = 7; key-id = "alice"; } );
                 refused-source-ports = ( 862, "1000-1010" ); rate-limit-pps = 5;
                 source-rate-limit-pps = 6; source-session-rate = 7; over-capacity = "drop";
                 prefix-limits = ( { prefix = "198.18.0.0/24"; max-sessions = 3; } ); } );
control = { enabled = false; listen = "::"; port = 864;
            modes = [ "unauthenticated", "reflect-octets" ]; prefixes = [ ];
            max-connections = 1; max-sessions = 1; servwait = 1; refwait = 1;
            receiver-ports = { min = 1; max = 2; }; max-timeout = 1;
            allow-third-party-senders = true; kdf-count = 4096; max-key-derivations = 7;
            max-connections-per-source = 1; max-pending = 1; setup-timeout = 1;
            max-pending-per-source = 1; max-sessions-per-connection = 1; idle-timeout = 0;
            max-sessions-per-source = 1; };
metrics = { enabled = false; listen = "127.0.0.1:9863"; labels = { site = "lab2"; }; };
)";
    // `keys` names a file: one that only its owner may read, removed at the end.
    const std::string key_path = ::testing::TempDir() + "diff_follows_the_table.pfs";
    std::ofstream(key_path) << "alice\t736563726574\n";
    ::chmod(key_path.c_str(), 0600);
    b += "keys = \"" + key_path + "\";\n";
    auto cs = diff(load_ok(a), load_ok(b));
    std::remove(key_path.c_str());
    EXPECT_GE(cs.size(), 30U);
    std::set<std::string> seen;
    for (const auto& c : cs) {
        std::string path =
                std::regex_replace(c.path, std::regex(R"(\[("[^"]*"|id=[0-9]+)\])"), "[]");
        const key_info* k = find_key(path);
        ASSERT_NE(k, nullptr) << c.path;
        EXPECT_EQ(c.reloadable, k->reloadable) << c.path;
        seen.insert(path);
    }
    // Every key a change of value is reported for (the others are names, IDs, groups whose
    // keys are compared one by one, and hw-clock, compared whole).
    for (const auto& k : keys) {
        bool compared_whole = k.parent() == "ports[].hw-clock" ||
                              k.parent() == "control.receiver-ports" ||
                              k.parent() == "reflectors[].ssid-keys[]" ||
                              k.parent() == "reflectors[].prefix-limits[]" ||
                              k.parent() == "ports[].exception.routes[]";
        bool identity = k.name() == "name" || k.path == "ports[].vlans[].id";
        bool group = k.type == key_type::group || k.type == key_type::group_list;
        if (compared_whole || identity || group || k.path == "ports[].hw-clock") {
            continue;
        }
        EXPECT_TRUE(seen.contains(std::string(k.path))) << k.path << ": diff did not report it";
    }
}

// A key's default in the table is what the loader takes when the key is absent: a config with
// `key = <default>;` loads to the same config as one without it.
TEST(keys, defaults_are_the_loaders) {
    // One element per list, every group present; wire1 is where port keys go (wire0 needs
    // addresses and a VLAN for the reflector and the VLAN keys).
    auto text = [](std::string_view section, const std::string& extra) {
        auto at = [&](std::string_view s) { return s == section ? extra : std::string(); };
        std::string t = "ports = ( { name = \"wire0\"; device = \"net_ring0\"; addresses = [ "
                        "\"198.18.0.2/24\" ]; },\n { name = \"wire1\"; device = \"net_ring1\"; " +
                        at("ports[]") + " } );\n";
        if (section != "") { // a top-level default stands for the whole section
            t += "reflectors = ( { name = \"base\"; port = \"wire0\"; prefixes = [ "
                 "\"198.18.0.0/15\" ]; " +
                 at("reflectors[]") + " } );\n";
        }
        return t + "control = { prefixes = [ ]; " + at("control") + " };\nmetrics = { " +
               at("metrics") + " };\n" + at("");
    };
    int checked = 0;
    for (const auto& k : keys) {
        if (k.default_value.empty()) {
            continue;
        }
        // The section the key is in, and the key written from there down.
        std::string_view path = k.path;
        std::string_view section;
        if (auto list = path.find("[]"); list != path.npos) {
            section = path.substr(0, list + 2);
            path.remove_prefix(list + 3);
        } else if (auto dot = path.find('.'); dot != path.npos) {
            section = path.substr(0, dot);
            path.remove_prefix(dot + 1);
        }
        ASSERT_EQ(path.find("[]"), path.npos) << k.path << ": no default inside a nested list";
        std::string written = std::string(k.default_value) + ";";
        for (auto dot = path.rfind('.'); dot != path.npos; dot = path.rfind('.')) {
            written = "{ " + std::string(path.substr(dot + 1)) + " = " + written + " };";
            path = path.substr(0, dot);
        }
        written = std::string(path) + " = " + written;
        config without = load_ok(text(section, ""));
        config with = load_ok(text(section, written));
        EXPECT_TRUE(without == with) << k.path << ": " << written << " is not the default";
        EXPECT_TRUE(diff(without, with).empty()) << k.path;
        ++checked;
    }
    EXPECT_GE(checked, 25);
}
