// libconfig text -> config. Parsing is libconfig's; everything after it is a walk over the
// setting tree that checks each key against the contract of DESIGN.md and conf/twamp.conf,
// collecting errors (file:line, key path, what was expected) instead of stopping at the first.
#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>

#include <libconfig.h++>

#include "source.hpp"
#include "twamp/config/config.hpp"

namespace twamp::config {

namespace {

using libconfig::Setting;

// A place in the text for errors found after the walk (duplicates, overlaps).
struct where {
    unsigned text_line = 0; // line in the combined text handed to libconfig
    std::string path;
};

std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string at_index(const std::string& path, int i) {
    return path + "[" + std::to_string(i) + "]";
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        uint32_t cp = 0;
        if (c < 0x80) {
            cp = c;
        } else if ((c >> 5) == 0x6) {
            n = 1;
            cp = c & 0x1fU;
        } else if ((c >> 4) == 0xe) {
            n = 2;
            cp = c & 0x0fU;
        } else if ((c >> 3) == 0x1e) {
            n = 3;
            cp = c & 0x07U;
        } else {
            return false;
        }
        if (s.size() - i <= n) {
            return false;
        }
        for (std::size_t k = 1; k <= n; ++k) {
            auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (d & 0x3fU);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8 (RFC 3629).
        static constexpr uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

// A string as it would be written in the config, shortened for messages.
std::string quote(std::string_view s) {
    constexpr std::size_t max_len = 64;
    // Non-ASCII stays readable when it is UTF-8, and shows as \xNN bytes when it is not.
    bool utf8 = valid_utf8(s);
    std::string r = "\"";
    for (std::size_t i = 0; i < s.size() && i < max_len; ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') {
            r += '\\';
            r += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8)) {
            static constexpr char hex[] = "0123456789abcdef";
            r += "\\x";
            r += hex[c >> 4];
            r += hex[c & 15];
        } else {
            r += static_cast<char>(c);
        }
    }
    if (s.size() > max_len) {
        r += "...";
    }
    return r + "\"";
}

bool is_int(const Setting& s) {
    return s.getType() == Setting::TypeInt || s.getType() == Setting::TypeInt64;
}

int64_t int_value(const Setting& s) {
    return s.getType() == Setting::TypeInt ? static_cast<int64_t>(static_cast<int>(s))
                                           : static_cast<int64_t>(static_cast<long long>(s));
}

// "a string "x"", "an integer 5", "a list": what the file has where something else was due.
std::string describe(const Setting& s) {
    switch (s.getType()) {
    case Setting::TypeInt:
    case Setting::TypeInt64:
        return "an integer " + std::to_string(int_value(s));
    case Setting::TypeFloat: {
        std::ostringstream o;
        o << static_cast<double>(s);
        return "a floating-point number " + o.str();
    }
    case Setting::TypeString:
        return "a string " + quote(static_cast<const char*>(s));
    case Setting::TypeBoolean:
        return static_cast<bool>(s) ? "a boolean true" : "a boolean false";
    case Setting::TypeGroup:
        return "a group { ... }";
    case Setting::TypeArray:
        return "an array [ ... ]";
    case Setting::TypeList:
        return "a list ( ... )";
    default:
        return "nothing";
    }
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1 : 0)});
            diag = up;
        }
    }
    return row[b.size()];
}

bool valid_object_name(std::string_view s) {
    // Names become metric label values and log words: keep them short and plain.
    if (s.empty() || s.size() > 32 || !std::isalnum(static_cast<unsigned char>(s[0]))) {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
}

// Linux dev_valid_name(): 1..15 octets (IFNAMSIZ - 1), not "." or "..", no '/', ':' or space.
bool valid_ifname(std::string_view s) {
    if (s.empty() || s.size() > 15 || s == "." || s == "..") {
        return false;
    }
    return std::none_of(s.begin(), s.end(), [](char c) {
        return c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) || c == '\0';
    });
}

bool valid_label_name(std::string_view s) {
    // Prometheus data model: [a-zA-Z_][a-zA-Z0-9_]*, names starting with __ reserved.
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])) || s.starts_with("__")) {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
}

std::optional<uint8_t> dscp_by_name(std::string name) {
    std::transform(name.begin(), name.end(), name.begin(), [](char c) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    });
    // RFC 2474 class selectors, RFC 2597 AF, RFC 3246 EF, RFC 5865 VOICE-ADMIT, RFC 8622 LE.
    static const std::map<std::string, uint8_t, std::less<>> names = {
            {"default", 0}, {"be", 0},    {"cs0", 0},   {"cs1", 8},   {"cs2", 16},
            {"cs3", 24},    {"cs4", 32},  {"cs5", 40},  {"cs6", 48},  {"cs7", 56},
            {"af11", 10},   {"af12", 12}, {"af13", 14}, {"af21", 18}, {"af22", 20},
            {"af23", 22},   {"af31", 26}, {"af32", 28}, {"af33", 30}, {"af41", 34},
            {"af42", 36},   {"af43", 38}, {"ef", 46},   {"va", 44},   {"le", 1},
    };
    auto it = names.find(name);
    if (it == names.end()) {
        return std::nullopt;
    }
    return it->second;
}

// Why `p` cannot be an interface address, or nullopt when it can.
std::optional<std::string> interface_address_problem(const ip_prefix& p) {
    const ip_address& a = p.address;
    if (a.is_unspecified()) {
        return "the unspecified address";
    }
    if (a.is_loopback()) {
        return "a loopback address";
    }
    if (a.is_multicast()) {
        return "a multicast address";
    }
    if (p.length == 0) {
        return "prefix length 0";
    }
    if (a.is_v4()) {
        if (a.bytes[0] == 0) {
            return "in 0.0.0.0/8 (\"this network\")";
        }
        if (a.v4_host_order() == 0xffffffffU) {
            return "the broadcast address";
        }
        if (p.length <= 30) {
            // /31 and /32 have no network or broadcast address (RFC 3021).
            uint32_t host_mask = (p.length == 0) ? 0xffffffffU : (0xffffffffU >> p.length);
            uint32_t host = a.v4_host_order() & host_mask;
            if (host == 0) {
                return "the network address of " + p.network().to_string();
            }
            if (host == host_mask) {
                return "the broadcast address of " + p.network().to_string();
            }
        }
    } else {
        if (a.is_v4_mapped()) {
            return "an IPv4-mapped IPv6 address (write the IPv4 address instead)";
        }
    }
    return std::nullopt;
}

// A PCI address as DPDK's rte_pci_addr_parse takes it: [domain:]bus:devid.function.
std::optional<std::string> normalize_pci(std::string_view s) {
    auto hex_field = [](std::string_view f, std::size_t min_len, std::size_t max_len,
                        uint32_t& out) {
        if (f.size() < min_len || f.size() > max_len) {
            return false;
        }
        out = 0;
        for (char c : f) {
            if (!std::isxdigit(static_cast<unsigned char>(c))) {
                return false;
            }
            out = out * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(c))
                                                           ? c - '0'
                                                           : (c | 0x20) - 'a' + 10);
        }
        return true;
    };
    uint32_t domain = 0;
    uint32_t bus = 0;
    uint32_t dev = 0;
    uint32_t fn = 0;
    auto dot = s.rfind('.');
    if (dot == s.npos) {
        return std::nullopt;
    }
    auto before = s.substr(0, dot);
    auto c2 = before.rfind(':');
    if (c2 == before.npos) {
        return std::nullopt;
    }
    auto c1 = before.rfind(':', c2 == 0 ? before.npos : c2 - 1);
    std::string_view bus_text =
            c1 == before.npos ? before.substr(0, c2) : before.substr(c1 + 1, c2 - c1 - 1);
    if (c1 != before.npos && !hex_field(before.substr(0, c1), 1, 8, domain)) {
        return std::nullopt;
    }
    if (!hex_field(bus_text, 1, 2, bus) || !hex_field(before.substr(c2 + 1), 1, 2, dev) ||
        !hex_field(s.substr(dot + 1), 1, 1, fn) || dev > 0x1f || fn > 7) {
        return std::nullopt;
    }
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%04x:%02x:%02x.%x", domain, bus, dev, fn);
    return std::string(buf);
}

bool valid_vdev_name(std::string_view s) {
    if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
}

struct vlan_meta {
    where self;
    std::vector<where> addresses;
};

struct port_meta {
    where self;
    where name;
    where device;
    where iface;
    bool valid_name = false;
    std::vector<where> addresses;
    std::vector<vlan_meta> vlans;
};

struct reflector_meta {
    where self;
    where name;
    bool valid_name = false;
    bool resolved = false; // port and VLAN found: addresses are meaningful
    std::vector<where> addresses;
    std::vector<where> udp_ports;
};

class loader {
public:
    explicit loader(const detail::source& src) : src_(src) {}

    config run(const Setting& root) {
        config cfg;
        check_keys(root, "", {"ports", "reflectors", "control", "metrics"});
        if (auto* s = member(root, "ports")) {
            if (list_of_groups(*s, "ports")) {
                for (int i = 0; i < s->getLength(); ++i) {
                    cfg.ports.push_back(port((*s)[i], at_index("ports", i)));
                }
                if (s->getLength() == 0) {
                    fail(*s, "ports", "expected at least one port");
                }
            }
        } else {
            fail(root, "ports", "required key missing: a list of ports ( { name = ...; } )");
        }
        check_ports(cfg);
        if (auto* s = member(root, "reflectors")) {
            if (list_of_groups(*s, "reflectors")) {
                for (int i = 0; i < s->getLength(); ++i) {
                    cfg.reflectors.push_back(reflector(cfg, (*s)[i], at_index("reflectors", i)));
                }
            }
        }
        check_reflectors(cfg);
        if (auto* s = member(root, "control")) {
            control(cfg.control, *s, "control");
        }
        check_receiver_ports(cfg);
        if (auto* s = member(root, "metrics")) {
            metrics(cfg.metrics, *s, "metrics");
        } else {
            cfg.metrics.enabled = false; // no metrics group: no exporter (issue 6)
        }
        check_listeners(cfg);
        return cfg;
    }

    void fail(unsigned text_line, std::string path, std::string message) {
        detail::origin o = src_.at(text_line);
        error e;
        e.file = src_.files[o.file];
        e.line = o.line;
        e.path = std::move(path);
        e.message = std::move(message);
        errors_.push_back({text_line, std::move(e)});
    }
    void fail(const Setting& s, std::string path, std::string message) {
        fail(s.getSourceLine(), std::move(path), std::move(message));
    }
    void fail(const where& w, std::string message) {
        fail(w.text_line, w.path, std::move(message));
    }

    std::vector<error> take_errors() {
        std::stable_sort(errors_.begin(), errors_.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        std::vector<error> r;
        bool capped = errors_.size() > max_errors;
        std::size_t shown = capped ? max_errors - 1 : errors_.size();
        for (std::size_t i = 0; i < shown; ++i) {
            r.push_back(std::move(errors_[i].second));
        }
        if (capped) {
            error more;
            more.file = src_.files[0];
            more.message = "... and " + std::to_string(errors_.size() - shown) + " more errors";
            r.push_back(std::move(more));
        }
        return r;
    }

private:
    static where at(const Setting& s, std::string path) {
        return {s.getSourceLine(), std::move(path)};
    }

    static const Setting* member(const Setting& group, const char* key) {
        return group.exists(key) ? &group[key] : nullptr;
    }

    void check_keys(const Setting& group, const std::string& path,
                    std::initializer_list<std::string_view> allowed) {
        for (int i = 0; i < group.getLength(); ++i) {
            const Setting& s = group[i];
            std::string_view name = s.getName() ? s.getName() : "";
            if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) {
                continue;
            }
            std::string msg = "unknown key " + quote(name) + "; expected one of:";
            std::string_view best;
            std::size_t best_d = 3; // suggest only close misspellings
            for (auto a : allowed) {
                msg += " ";
                msg += a;
                std::size_t d = edit_distance(name, a);
                if (d < best_d) {
                    best_d = d;
                    best = a;
                }
            }
            if (!best.empty()) {
                msg += " (did you mean " + std::string(best) + "?)";
            }
            fail(s, join(path, name), msg);
        }
    }

    bool expect_group(const Setting& s, const std::string& path) {
        if (s.isGroup()) {
            return true;
        }
        fail(s, path, "expected a group { ... }, got " + describe(s));
        return false;
    }

    bool list_of_groups(const Setting& s, const std::string& path) {
        // An empty [] is an empty list as far as the reader is concerned.
        if (s.isList() || (s.isArray() && s.getLength() == 0)) {
            bool ok = true;
            for (int i = 0; i < s.getLength(); ++i) {
                ok = expect_group(s[i], at_index(path, i)) && ok;
            }
            return ok;
        }
        fail(s, path, "expected a list of groups ( { ... }, { ... } ), got " + describe(s));
        return false;
    }

    // A sequence of scalars: libconfig's [ ... ] array or ( ... ) list.
    bool sequence(const Setting& s, const std::string& path, std::string_view what) {
        if (s.isArray() || s.isList()) {
            return true;
        }
        fail(s, path,
             "expected a list of " + std::string(what) + " [ ..., ... ], got " + describe(s));
        return false;
    }

    std::optional<int64_t> integer(const Setting& s, const std::string& path, int64_t lo,
                                   int64_t hi) {
        std::string expected =
                "expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
        if (!is_int(s)) {
            fail(s, path, expected + ", got " + describe(s));
            return std::nullopt;
        }
        int64_t v = int_value(s);
        if (v < lo || v > hi) {
            fail(s, path, expected + ", got " + std::to_string(v));
            return std::nullopt;
        }
        return v;
    }

    template<class T>
    void read_int(const Setting& group, const char* key, const std::string& path, T& out,
                  int64_t lo, int64_t hi) {
        if (auto* s = member(group, key)) {
            if (auto v = integer(*s, join(path, key), lo, hi)) {
                out = static_cast<T>(*v);
            }
        }
    }

    void read_bool(const Setting& group, const char* key, const std::string& path, bool& out) {
        if (auto* s = member(group, key)) {
            if (s->getType() == Setting::TypeBoolean) {
                out = static_cast<bool>(*s);
            } else {
                fail(*s, join(path, key), "expected true or false, got " + describe(*s));
            }
        }
    }

    std::optional<std::string> string(const Setting& s, const std::string& path,
                                      std::string_view expected) {
        if (s.getType() != Setting::TypeString) {
            fail(s, path, "expected " + std::string(expected) + ", got " + describe(s));
            return std::nullopt;
        }
        return std::string(static_cast<const char*>(s));
    }

    template<class E>
    void read_enum(const Setting& group, const char* key, const std::string& path, E& out,
                   std::initializer_list<std::pair<std::string_view, E>> values) {
        auto* s = member(group, key);
        if (!s) {
            return;
        }
        std::string expected = "one of";
        for (auto& [name, v] : values) {
            expected += " " + quote(name);
        }
        auto text = string(*s, join(path, key), expected);
        if (!text) {
            return;
        }
        for (auto& [name, v] : values) {
            if (*text == name) {
                out = v;
                return;
            }
        }
        fail(*s, join(path, key), "expected " + expected + ", got " + quote(*text));
    }

    // Required string key; reports its absence against the group.
    const Setting* required(const Setting& group, const char* key, const std::string& path,
                            std::string_view what) {
        if (auto* s = member(group, key)) {
            return s;
        }
        fail(group, join(path, key), "required key missing: " + std::string(what));
        return nullptr;
    }

    std::optional<ip_prefix> prefix(const Setting& s, const std::string& path) {
        static constexpr std::string_view expected =
                "a prefix \"address/length\" with the host bits zero, e.g. \"198.18.0.0/15\" or "
                "\"2001:2::/48\"";
        auto text = string(s, path, expected);
        if (!text) {
            return std::nullopt;
        }
        auto p = ip_prefix::parse(*text, true);
        if (!p) {
            fail(s, path, "expected " + std::string(expected) + ", got " + quote(*text));
            return std::nullopt;
        }
        if (!p->host_bits_zero()) {
            fail(s, path,
                 "expected a prefix with the host bits zero, got " + quote(*text) +
                         " (did you mean " + quote(p->network().to_string()) + "?)");
            return std::nullopt;
        }
        return p;
    }

    std::vector<ip_prefix> prefix_list(const Setting& s, const std::string& path) {
        std::vector<ip_prefix> r;
        if (!sequence(s, path, "prefixes")) {
            return r;
        }
        std::vector<where> seen;
        for (int i = 0; i < s.getLength(); ++i) {
            std::string p_path = at_index(path, i);
            auto p = prefix(s[i], p_path);
            if (!p) {
                continue;
            }
            auto dup = std::find(r.begin(), r.end(), *p);
            if (dup != r.end()) {
                fail(s[i], p_path,
                     "duplicate prefix " + quote(p->to_string()) + ", already at " +
                             seen[static_cast<std::size_t>(dup - r.begin())].path);
                continue;
            }
            r.push_back(*p);
            seen.push_back(at(s[i], p_path));
        }
        return r;
    }

    std::vector<ip_prefix> interface_addresses(const Setting& s, const std::string& path,
                                               std::vector<where>& places) {
        static constexpr std::string_view expected =
                "an interface address \"address/length\" (this box's address and its subnet's "
                "prefix length), e.g. \"198.18.0.2/24\"";
        std::vector<ip_prefix> r;
        if (!sequence(s, path, "interface addresses")) {
            return r;
        }
        for (int i = 0; i < s.getLength(); ++i) {
            std::string a_path = at_index(path, i);
            auto text = string(s[i], a_path, expected);
            if (!text) {
                continue;
            }
            auto p = ip_prefix::parse(*text, false);
            if (!p) {
                fail(s[i], a_path, "expected " + std::string(expected) + ", got " + quote(*text));
                continue;
            }
            if (auto problem = interface_address_problem(*p)) {
                fail(s[i], a_path,
                     "expected " + std::string(expected) + ", got " + quote(*text) + ": " +
                             *problem);
                continue;
            }
            r.push_back(*p);
            places.push_back(at(s[i], a_path));
        }
        return r;
    }

    port_config port(const Setting& g, const std::string& path) {
        port_config p;
        port_meta m;
        m.self = at(g, path);
        if (!g.isGroup()) {
            port_meta_.push_back(std::move(m));
            return p;
        }
        check_keys(
                g, path,
                {"name", "device", "addresses", "vlans", "hw-timestamps", "hw-clock", "exception"});
        if (auto* s = required(g, "name", path, "the port's name, e.g. name = \"wire0\";")) {
            static constexpr std::string_view expected =
                    "a name of 1..32 letters, digits, '_', '-' or '.' starting with a letter or "
                    "digit";
            if (auto v = string(*s, join(path, "name"), expected)) {
                if (valid_object_name(*v)) {
                    p.name = *v;
                    m.valid_name = true;
                } else {
                    fail(*s, join(path, "name"),
                         "expected " + std::string(expected) + ", got " + quote(*v));
                }
            }
            m.name = at(*s, join(path, "name"));
        }
        if (auto* s = required(g, "device", path,
                               "a PCI address (\"0000:3b:00.0\") or vdev devargs "
                               "(\"net_af_packet0,iface=veth1\")")) {
            m.device = at(*s, join(path, "device"));
            device(p, *s, m.device.path);
        }
        if (auto* s = member(g, "addresses")) {
            p.addresses = interface_addresses(*s, join(path, "addresses"), m.addresses);
        }
        if (auto* s = member(g, "vlans")) {
            std::string v_path = join(path, "vlans");
            if (list_of_groups(*s, v_path)) {
                for (int i = 0; i < s->getLength(); ++i) {
                    vlan_meta vm;
                    p.vlans.push_back(vlan((*s)[i], at_index(v_path, i), vm));
                    m.vlans.push_back(std::move(vm));
                }
            }
        }
        read_enum(g, "hw-timestamps", path, p.timestamps,
                  {{"auto", hw_timestamps::automatic},
                   {"on", hw_timestamps::on},
                   {"off", hw_timestamps::off}});
        if (auto* s = member(g, "hw-clock")) {
            std::string c_path = join(path, "hw-clock");
            if (expect_group(*s, c_path)) {
                check_keys(*s, c_path, {"unit", "epoch"});
                hw_clock_config c;
                if (required(*s, "unit", c_path, "unit = \"ns\" or \"us\"")) {
                    read_enum(*s, "unit", c_path, c.unit,
                              {{"ns", clock_unit::ns}, {"us", clock_unit::us}});
                }
                if (required(*s, "epoch", c_path, "epoch = \"unix\" or \"tai\"")) {
                    read_enum(*s, "epoch", c_path, c.epoch,
                              {{"unix", clock_epoch::unix_time}, {"tai", clock_epoch::tai}});
                }
                p.hw_clock = c;
                if (p.timestamps == hw_timestamps::off) {
                    fail(*s, c_path,
                         "hw-clock describes the device clock, but hw-timestamps = \"off\" never "
                         "uses it; expected hw-timestamps = \"auto\" or \"on\", or no hw-clock");
                }
            }
        }
        p.exception.iface = p.name;
        m.iface = m.name;
        if (auto* s = member(g, "exception")) {
            std::string e_path = join(path, "exception");
            if (expect_group(*s, e_path)) {
                check_keys(*s, e_path, {"iface", "rate-limit-pps"});
                if (auto* i = member(*s, "iface")) {
                    m.iface = at(*i, join(e_path, "iface"));
                    p.exception.iface.clear();
                    if (auto v = string(*i, m.iface.path, "a Linux interface name")) {
                        p.exception.iface = *v;
                    }
                }
                read_int(*s, "rate-limit-pps", e_path, p.exception.rate_limit_pps, 0, 100'000'000);
            }
        }
        port_meta_.push_back(std::move(m));
        return p;
    }

    void device(port_config& p, const Setting& s, const std::string& path) {
        static constexpr std::string_view expected = "a PCI address (\"0000:3b:00.0\") or vdev "
                                                     "devargs (\"net_af_packet0,iface=veth1\"), "
                                                     "optionally followed by \",key=value,...\"";
        auto text = string(s, path, expected);
        if (!text) {
            return;
        }
        p.device = *text;
        auto comma = text->find(',');
        std::string_view name = std::string_view(*text).substr(0, comma);
        std::string_view args = comma == std::string::npos
                                        ? std::string_view{}
                                        : std::string_view(*text).substr(comma + 1);
        bool space = std::any_of(text->begin(), text->end(), [](char c) {
            return std::isspace(static_cast<unsigned char>(c));
        });
        if (!space) {
            if (auto pci = normalize_pci(name)) {
                p.kind = device_kind::pci;
                p.device_name = *pci;
                p.device_args = std::string(args);
                return;
            }
            if (valid_vdev_name(name) && name.find('_') == name.npos) {
                // Every DPDK vdev is named after its driver ("net_af_packet0", "virtio_user0"),
                // and no driver name lacks a '_'; "eth0" or "enp3s0f0" is a kernel interface,
                // which DPDK can only reach through AF_PACKET or once bound to its driver.
                fail(s, path,
                     quote(*text) +
                             " is neither a PCI address nor DPDK vdev devargs: a kernel network "
                             "interface needs device = \"net_af_packet0,iface=" +
                             std::string(name) +
                             "\" (no binding needed), or the NIC bound to a DPDK driver "
                             "(dpdk-devbind.py -b vfio-pci) and its PCI address, e.g. "
                             "\"0000:3b:00.0\"");
                return;
            }
            if (valid_vdev_name(name)) {
                p.kind = device_kind::vdev;
                p.device_name = std::string(name);
                p.device_args = std::string(args);
                return;
            }
        }
        fail(s, path, "expected " + std::string(expected) + ", got " + quote(*text));
    }

    vlan_config vlan(const Setting& g, const std::string& path, vlan_meta& m) {
        vlan_config v;
        m.self = at(g, path);
        if (!g.isGroup()) {
            return v;
        }
        check_keys(g, path, {"id", "addresses"});
        if (auto* s = required(g, "id", path, "the VLAN ID, id = 1..4094;")) {
            if (auto id = integer(*s, join(path, "id"), 1, 4094)) {
                v.id = static_cast<uint16_t>(*id);
            }
        }
        if (auto* s = required(
                    g, "addresses", path,
                    "the VLAN's interface addresses, e.g. addresses = [ \"198.19.0.2/24\" ];")) {
            v.addresses = interface_addresses(*s, join(path, "addresses"), m.addresses);
            if (s->getLength() == 0) {
                fail(*s, join(path, "addresses"),
                     "expected at least one interface address (a VLAN without one can reflect "
                     "nothing)");
            }
        }
        return v;
    }

    // Uniqueness across ports: names, devices, kernel interfaces, VLAN IDs and addresses.
    void check_ports(const config& cfg) {
        std::map<std::string, const where*> names;
        std::map<std::string, const where*> devices;
        std::map<std::string, const where*> ifaces;
        std::map<std::pair<ip_family, std::array<uint8_t, 16>>, const where*> addresses;
        for (std::size_t i = 0; i < cfg.ports.size(); ++i) {
            const port_config& p = cfg.ports[i];
            const port_meta& m = port_meta_[i];
            if (m.valid_name) {
                auto [it, fresh] = names.emplace(p.name, &m.name);
                if (!fresh) {
                    fail(m.name, "duplicate port name " + quote(p.name) + ", already used by " +
                                         it->second->path);
                }
            }
            if (!p.device_name.empty()) {
                auto [it, fresh] = devices.emplace(p.device_name, &m.device);
                if (!fresh) {
                    fail(m.device, "device " + quote(p.device_name) + " is already used by " +
                                           it->second->path);
                }
            }
            check_iface(p, m, ifaces);
            auto add_addresses = [&](const std::vector<ip_prefix>& list,
                                     const std::vector<where>& places) {
                for (std::size_t k = 0; k < list.size(); ++k) {
                    const ip_address& a = list[k].address;
                    auto [same, fresh] =
                            addresses.emplace(std::pair{a.family, a.bytes}, &places[k]);
                    if (!fresh) {
                        // One network namespace holds every TAP: an address on two of them
                        // would make the kernel answer ARP/ND for it on both.
                        fail(places[k], "address " + a.to_string() + " is already assigned at " +
                                                same->second->path);
                    }
                }
            };
            add_addresses(p.addresses, m.addresses);
            std::map<uint16_t, const where*> ids;
            for (std::size_t k = 0; k < p.vlans.size(); ++k) {
                const vlan_meta& vm = m.vlans[k];
                if (p.vlans[k].id != 0) {
                    auto [it, fresh] = ids.emplace(p.vlans[k].id, &vm.self);
                    if (!fresh) {
                        fail(vm.self, "duplicate VLAN " + std::to_string(p.vlans[k].id) +
                                              ", already at " + it->second->path);
                    }
                }
                add_addresses(p.vlans[k].addresses, vm.addresses);
            }
        }
    }

    void check_iface(const port_config& p, const port_meta& m,
                     std::map<std::string, const where*>& ifaces) {
        const std::string& iface = p.exception.iface;
        std::string path = join(m.self.path, "exception.iface");
        if (iface.empty()) {
            return; // wrong type, or no valid port name to default to: reported already
        }
        if (!valid_ifname(iface)) {
            fail(m.iface.text_line, path,
                 "expected a Linux interface name (1..15 characters, no '/', ':' or spaces; "
                 "not \".\" or \"..\"), got " +
                         quote(iface) +
                         (m.iface.path == m.name.path ? " (the default: the port's name)" : ""));
            return;
        }
        std::vector<std::string> names{iface};
        for (const auto& v : p.vlans) {
            if (v.id != 0) {
                names.push_back(vlan_iface_name(p, v.id));
            }
        }
        for (const auto& n : names) {
            if (n.size() > 15) {
                fail(m.iface.text_line, path,
                     "expected an interface name short enough for its VLAN sub-interface " +
                             quote(n) + " to fit 15 characters, got " + quote(iface));
                continue;
            }
            auto [it, fresh] = ifaces.emplace(n, &m.iface);
            if (!fresh) {
                fail(m.iface.text_line, path,
                     "kernel interface " + quote(n) + " is already used by " + it->second->path);
            }
        }
    }

    reflector_config reflector(const config& cfg, const Setting& g, const std::string& path) {
        reflector_config r;
        reflector_meta m;
        m.self = at(g, path);
        if (!g.isGroup()) {
            refl_meta_.push_back(std::move(m));
            return r;
        }
        check_keys(g, path,
                   {"name", "port", "vlan", "addresses", "mode", "udp-ports", "prefixes",
                    "stateful", "inactivity-timeout", "max-sessions", "dscp", "timestamp-format",
                    "allow-ipv6-udp-checksum-zero"});
        if (auto* s = required(g, "name", path, "the reflector's name, e.g. name = \"base\";")) {
            static constexpr std::string_view expected =
                    "a name of 1..32 letters, digits, '_', '-' or '.' starting with a letter or "
                    "digit";
            m.name = at(*s, join(path, "name"));
            if (auto v = string(*s, m.name.path, expected)) {
                if (valid_object_name(*v)) {
                    r.name = *v;
                    m.valid_name = true;
                } else {
                    fail(*s, m.name.path,
                         "expected " + std::string(expected) + ", got " + quote(*v));
                }
            }
        }
        const port_config* port = nullptr;
        if (auto* s = required(g, "port", path,
                               "the name of the port it serves, e.g. port = \"wire0\";")) {
            if (auto v = string(*s, join(path, "port"), "the name of a port")) {
                r.port = *v;
                port = cfg.find_port(*v);
                if (!port) {
                    std::string known;
                    for (const auto& p : cfg.ports) {
                        known += (known.empty() ? "" : ", ") + quote(p.name);
                    }
                    fail(*s, join(path, "port"),
                         "expected the name of a port (" +
                                 (known.empty() ? std::string("none") : known) + "), got " +
                                 quote(*v));
                } else {
                    r.port_index = static_cast<std::size_t>(port - cfg.ports.data());
                }
            }
        }
        bool vlan_ok = true;
        if (auto* s = member(g, "vlan")) {
            if (auto v = integer(*s, join(path, "vlan"), 0, 4094)) {
                r.vlan = static_cast<uint16_t>(*v);
            } else {
                vlan_ok = false;
            }
        }
        const std::vector<ip_prefix>* local = nullptr;
        if (port && vlan_ok) {
            local = port->addresses_of(r.vlan);
            const Setting& s = member(g, "vlan") ? g["vlan"] : g;
            if (!local) {
                std::string known;
                for (const auto& v : port->vlans) {
                    known += (known.empty() ? "" : ", ") + std::to_string(v.id);
                }
                fail(s, join(path, "vlan"),
                     "expected 0 (untagged) or a VLAN of port " + quote(port->name) + " (" +
                             (known.empty() ? std::string("it has none") : known) + "), got " +
                             std::to_string(r.vlan));
            } else if (local->empty()) {
                fail(s, join(path, "vlan"),
                     "port " + quote(port->name) +
                             " has no untagged addresses to reflect on; expected the port to "
                             "have addresses, or a vlan that has");
                local = nullptr;
            }
        }
        if (auto* s = member(g, "addresses")) {
            std::string a_path = join(path, "addresses");
            if (sequence(*s, a_path, "addresses")) {
                if (s->getLength() == 0) {
                    fail(*s, a_path,
                         "expected at least one address (leave the key out to serve every "
                         "address of the port/VLAN)");
                }
                for (int i = 0; i < s->getLength(); ++i) {
                    std::string e_path = at_index(a_path, i);
                    auto text = string((*s)[i], e_path, "an address of the port/VLAN");
                    if (!text) {
                        continue;
                    }
                    auto a = ip_address::parse(*text);
                    if (!a) {
                        fail((*s)[i], e_path,
                             "expected an address without a prefix length, e.g. \"198.18.0.2\", "
                             "got " + quote(*text));
                        continue;
                    }
                    if (local &&
                        std::none_of(local->begin(), local->end(),
                                     [&](const ip_prefix& p) { return p.address == *a; })) {
                        std::string known;
                        for (const auto& p : *local) {
                            known += (known.empty() ? "" : ", ") + p.address.to_string();
                        }
                        fail((*s)[i], e_path,
                             "expected one of the addresses of port " + quote(r.port) +
                                     (r.vlan ? " VLAN " + std::to_string(r.vlan)
                                             : std::string(" untagged")) +
                                     " (" + known + "), got " + quote(*text));
                        continue;
                    }
                    if (std::find(r.addresses.begin(), r.addresses.end(), *a) !=
                        r.addresses.end()) {
                        fail((*s)[i], e_path, "duplicate address " + quote(*text));
                        continue;
                    }
                    r.addresses.push_back(*a);
                    m.addresses.push_back(at((*s)[i], e_path));
                }
            }
        } else if (local) {
            for (const auto& p : *local) {
                r.addresses.push_back(p.address);
                m.addresses.push_back(m.self);
            }
        }
        m.resolved = local != nullptr;
        read_enum(g, "mode", path, r.mode,
                  {{"twamp-light", reflector_mode::twamp_light}, {"stamp", reflector_mode::stamp}});
        if (auto* s = member(g, "udp-ports")) {
            std::string u_path = join(path, "udp-ports");
            r.udp_ports.clear();
            if (sequence(*s, u_path, "UDP ports")) {
                if (s->getLength() == 0) {
                    fail(*s, u_path, "expected at least one UDP port");
                }
                for (int i = 0; i < s->getLength(); ++i) {
                    std::string e_path = at_index(u_path, i);
                    auto v = integer((*s)[i], e_path, 1, 65535);
                    if (!v) {
                        continue;
                    }
                    auto port_no = static_cast<uint16_t>(*v);
                    auto dup = std::find(r.udp_ports.begin(), r.udp_ports.end(), port_no);
                    if (dup != r.udp_ports.end()) {
                        fail((*s)[i], e_path,
                             "duplicate UDP port " + std::to_string(port_no) + ", already at " +
                                     m.udp_ports[static_cast<std::size_t>(dup -
                                                                          r.udp_ports.begin())]
                                             .path);
                        continue;
                    }
                    r.udp_ports.push_back(port_no);
                    m.udp_ports.push_back(at((*s)[i], e_path));
                }
            }
        } else {
            m.udp_ports.push_back(m.self);
        }
        if (auto* s = required(g, "prefixes", path,
                               "the source prefixes allowed to send, e.g. prefixes = [ "
                               "\"198.18.0.0/15\" ]; ([] accepts nothing)")) {
            r.prefixes = prefix_list(*s, join(path, "prefixes"));
        }
        read_bool(g, "stateful", path, r.stateful);
        read_int(g, "inactivity-timeout", path, r.inactivity_timeout, 1, 86'400);
        read_int(g, "max-sessions", path, r.max_sessions, 1, 16'777'216);
        if (auto* s = member(g, "dscp")) {
            std::string d_path = join(path, "dscp");
            static constexpr std::string_view expected =
                    "\"copy\", a DSCP value 0..63 or a name (\"ef\", \"af41\", \"cs6\", \"va\", "
                    "\"le\", \"default\", ...)";
            if (is_int(*s)) {
                if (auto v = integer(*s, d_path, 0, 63)) {
                    r.dscp = {false, static_cast<uint8_t>(*v)};
                }
            } else if (auto text = string(*s, d_path, expected)) {
                if (*text == "copy") {
                    r.dscp = {true, 0};
                } else if (auto v = dscp_by_name(*text)) {
                    r.dscp = {false, *v};
                } else {
                    fail(*s, d_path, "expected " + std::string(expected) + ", got " + quote(*text));
                }
            }
        }
        read_enum(g, "timestamp-format", path, r.ts_format,
                  {{"auto", timestamp_format::automatic},
                   {"ntp", timestamp_format::ntp},
                   {"ptp", timestamp_format::ptp}});
        read_bool(g, "allow-ipv6-udp-checksum-zero", path, r.allow_ipv6_udp_checksum_zero);
        refl_meta_.push_back(std::move(m));
        return r;
    }

    // Names unique; no (port, VLAN, address, UDP port) served by two reflectors.
    void check_reflectors(const config& cfg) {
        std::map<std::string, const where*> names;
        for (std::size_t i = 0; i < cfg.reflectors.size(); ++i) {
            const reflector_config& r = cfg.reflectors[i];
            const reflector_meta& m = refl_meta_[i];
            if (m.valid_name) {
                auto [it, fresh] = names.emplace(r.name, &m.name);
                if (!fresh) {
                    fail(m.name, "duplicate reflector name " + quote(r.name) +
                                         ", already used by " + it->second->path);
                }
            }
            if (!m.resolved) {
                continue;
            }
            for (std::size_t j = 0; j < i; ++j) {
                const reflector_config& o = cfg.reflectors[j];
                if (!refl_meta_[j].resolved || o.port_index != r.port_index || o.vlan != r.vlan) {
                    continue;
                }
                overlap(r, m, o, refl_meta_[j]);
            }
        }
    }

    void overlap(const reflector_config& r, const reflector_meta& m, const reflector_config& o,
                 const reflector_meta& om) {
        for (std::size_t u = 0; u < r.udp_ports.size(); ++u) {
            if (std::find(o.udp_ports.begin(), o.udp_ports.end(), r.udp_ports[u]) ==
                o.udp_ports.end()) {
                continue;
            }
            for (std::size_t a = 0; a < r.addresses.size(); ++a) {
                if (std::find(o.addresses.begin(), o.addresses.end(), r.addresses[a]) ==
                    o.addresses.end()) {
                    continue;
                }
                // Report on the UDP port entry (or the reflector when it uses the default).
                fail(m.udp_ports[u], "UDP port " + std::to_string(r.udp_ports[u]) + " on port " +
                                             quote(r.port) +
                                             (r.vlan ? " VLAN " + std::to_string(r.vlan)
                                                     : std::string(" untagged")) +
                                             " address " + r.addresses[a].to_string() +
                                             " is already served by reflector " + quote(o.name) +
                                             " (" + om.self.path +
                                             "); expected each (port, VLAN, address, UDP port) "
                                             "to belong to one reflector");
                return; // one report per pair is enough
            }
        }
    }

    void control(control_config& c, const Setting& g, const std::string& path) {
        if (!expect_group(g, path)) {
            return;
        }
        check_keys(g, path,
                   {"enabled", "listen", "port", "modes", "prefixes", "max-connections",
                    "max-sessions", "servwait", "refwait", "receiver-ports", "max-timeout",
                    "allow-third-party-senders"});
        c.enabled = true;
        read_bool(g, "enabled", path, c.enabled);
        if (auto* s = member(g, "listen")) {
            static constexpr std::string_view expected =
                    "an IPv4 or IPv6 address to listen on, e.g. \"0.0.0.0\" or \"::\"";
            if (auto text = string(*s, join(path, "listen"), expected)) {
                auto a = ip_address::parse(*text);
                if (!a || a->is_multicast()) {
                    fail(*s, join(path, "listen"),
                         "expected " + std::string(expected) + ", got " + quote(*text));
                } else {
                    c.listen = *a;
                }
            }
        }
        read_int(g, "port", path, c.port, 1, 65535);
        if (auto* s = member(g, "modes")) {
            std::string m_path = join(path, "modes");
            if (sequence(*s, m_path, "mode names")) {
                c.modes = 0;
                static constexpr std::pair<std::string_view, uint32_t> supported[] = {
                        {"unauthenticated", mode_unauthenticated},
                        {"individual-session-control", mode_individual_session_control},
                        {"reflect-octets", mode_reflect_octets},
                        {"symmetrical-size", mode_symmetrical_size},
                        {"ptpv2-timestamps", mode_ptpv2_timestamps},
                };
                static constexpr std::string_view unsupported[] = {"authenticated", "encrypted",
                                                                   "mixed"};
                std::string expected = "one of";
                for (auto& [n, bit] : supported) {
                    expected += " " + quote(n);
                }
                for (int i = 0; i < s->getLength(); ++i) {
                    std::string e_path = at_index(m_path, i);
                    auto text = string((*s)[i], e_path, expected);
                    if (!text) {
                        continue;
                    }
                    auto it = std::find_if(std::begin(supported), std::end(supported),
                                           [&](const auto& p) { return p.first == *text; });
                    if (it == std::end(supported)) {
                        bool known = std::find(std::begin(unsupported), std::end(unsupported),
                                               *text) != std::end(unsupported);
                        fail((*s)[i], e_path,
                             known ? "mode " + quote(*text) +
                                             " is not supported by this server; expected " +
                                             expected
                                   : "expected " + expected + ", got " + quote(*text));
                        continue;
                    }
                    if (c.modes & it->second) {
                        fail((*s)[i], e_path, "duplicate mode " + quote(*text));
                    }
                    c.modes |= it->second;
                }
                if (!(c.modes & mode_unauthenticated)) {
                    fail(*s, m_path,
                         "expected the list to contain \"unauthenticated\", the only security mode "
                         "this server implements");
                }
            }
        }
        if (auto* s = member(g, "prefixes")) {
            c.prefixes = prefix_list(*s, join(path, "prefixes"));
        } else if (c.enabled) {
            fail(g, join(path, "prefixes"),
                 "required key missing: the client prefixes allowed to connect, e.g. prefixes = [ "
                 "\"198.18.0.0/15\" ]; ([] accepts nothing)");
        }
        read_int(g, "max-connections", path, c.max_connections, 1, 65535);
        read_int(g, "max-sessions", path, c.max_sessions, 1, 1'048'576);
        // RFC 8913 (TWAMP YANG): servwait and refwait are 1..604800 seconds, default 900.
        read_int(g, "servwait", path, c.servwait, 1, 604'800);
        read_int(g, "refwait", path, c.refwait, 1, 604'800);
        read_int(g, "max-timeout", path, c.max_timeout, 1, 86'400);
        read_bool(g, "allow-third-party-senders", path, c.allow_third_party_senders);
        if (auto* s = member(g, "receiver-ports")) {
            receiver_ports_line_ = s->getSourceLine();
            std::string r_path = join(path, "receiver-ports");
            if (expect_group(*s, r_path)) {
                check_keys(*s, r_path, {"min", "max"});
                port_range range = c.receiver_ports;
                bool ok = true;
                for (auto [key, out] :
                     {std::pair{"min", &range.min}, std::pair{"max", &range.max}}) {
                    if (auto* v = member(*s, key)) {
                        if (auto n = integer(*v, join(r_path, key), 1, 65535)) {
                            *out = static_cast<uint16_t>(*n);
                        } else {
                            ok = false;
                        }
                    }
                }
                if (ok && range.min > range.max) {
                    fail(*s, r_path,
                         "expected min <= max, got min = " + std::to_string(range.min) +
                                 ", max = " + std::to_string(range.max));
                } else if (ok) {
                    c.receiver_ports = range;
                }
            }
        }
        control_line_ = g.getSourceLine();
    }

    void metrics(metrics_config& mc, const Setting& g, const std::string& path) {
        if (!expect_group(g, path)) {
            return;
        }
        check_keys(g, path, {"enabled", "listen", "labels"});
        read_bool(g, "enabled", path, mc.enabled);
        if (auto* s = member(g, "listen")) {
            static constexpr std::string_view expected =
                    "\"address:port\" or \"[IPv6 address]:port\", e.g. \"127.0.0.1:9862\" or "
                    "\"[::1]:9862\"";
            std::string l_path = join(path, "listen");
            if (auto text = string(*s, l_path, expected)) {
                if (!listen_address(mc, *text)) {
                    fail(*s, l_path, "expected " + std::string(expected) + ", got " + quote(*text));
                }
            }
            metrics_line_ = s->getSourceLine();
        }
        if (auto* s = member(g, "labels")) {
            std::string l_path = join(path, "labels");
            if (expect_group(*s, l_path)) {
                for (int i = 0; i < s->getLength(); ++i) {
                    const Setting& v = (*s)[i];
                    std::string name = v.getName() ? v.getName() : "";
                    std::string n_path = join(l_path, name);
                    if (!valid_label_name(name)) {
                        fail(v, n_path,
                             "expected a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), got " +
                                     quote(name));
                        continue;
                    }
                    if (std::find(std::begin(reserved_label_names), std::end(reserved_label_names),
                                  name) != std::end(reserved_label_names)) {
                        fail(v, n_path,
                             "label " + quote(name) +
                                     " is set by the exporter itself; expected another name "
                                     "(reserved: reflector, port, reason, le, quantile)");
                        continue;
                    }
                    auto value = string(v, n_path, "a label value string");
                    if (!value) {
                        continue;
                    }
                    if (value->empty() || !valid_utf8(*value)) {
                        fail(v, n_path,
                             "expected a non-empty UTF-8 label value, got " + quote(*value));
                        continue;
                    }
                    mc.labels.emplace_back(name, *value);
                }
            }
        }
    }

    static bool listen_address(metrics_config& mc, std::string_view text) {
        std::string_view addr;
        std::string_view port;
        if (text.starts_with('[')) {
            auto close = text.find("]:");
            if (close == text.npos) {
                return false;
            }
            addr = text.substr(1, close - 1);
            port = text.substr(close + 2);
            if (addr.find(':') == addr.npos) { // brackets are for IPv6 only
                return false;
            }
        } else {
            auto colon = text.rfind(':');
            if (colon == text.npos) {
                return false;
            }
            addr = text.substr(0, colon);
            port = text.substr(colon + 1);
            if (addr.find(':') != addr.npos) { // IPv6 needs brackets
                return false;
            }
        }
        auto a = ip_address::parse(addr);
        if (!a || a->is_multicast() || port.empty() || port.size() > 5 || port[0] == '0') {
            return false;
        }
        unsigned p = 0;
        for (char c : port) {
            if (c < '0' || c > '9') {
                return false;
            }
            p = p * 10 + static_cast<unsigned>(c - '0');
        }
        if (p == 0 || p > 65535) {
            return false;
        }
        mc.address = *a;
        mc.port = static_cast<uint16_t>(p);
        mc.listen = a->is_v4() ? a->to_string() + ":" + std::to_string(p)
                               : "[" + a->to_string() + "]:" + std::to_string(p);
        return true;
    }

    // The addresses a TWAMP-Control test session may be received on: the connection's local
    // address (or a Receiver Address of the box's own on that port/VLAN). A listener on
    // 0.0.0.0 takes every IPv4 address of the box, one on "::" every address (it also accepts
    // IPv4), one on a given address every address of the port/VLAN that holds it.
    static bool control_may_use(const config& cfg, const ip_address& listen, const ip_address& a) {
        if (listen.is_unspecified()) {
            return listen.is_v6() || a.is_v4();
        }
        if (a == listen) {
            return true;
        }
        auto holds = [](const std::vector<ip_prefix>& v, const ip_address& x) {
            return std::any_of(v.begin(), v.end(),
                               [&](const ip_prefix& p) { return p.address == x; });
        };
        for (const auto& p : cfg.ports) {
            if (holds(p.addresses, listen) && holds(p.addresses, a)) {
                return true;
            }
            for (const auto& v : p.vlans) {
                if (holds(v.addresses, listen) && holds(v.addresses, a)) {
                    return true;
                }
            }
        }
        return false;
    }

    // A test packet is matched to a static reflector before the control sessions are looked
    // at: a session whose receiver port a reflector also serves on that address would be
    // answered by the reflector (IPv6: accepted, started, 100 % loss). Refuse the overlap.
    void check_receiver_ports(const config& cfg) {
        const auto& c = cfg.control;
        if (!c.enabled) {
            return;
        }
        for (std::size_t i = 0; i < cfg.reflectors.size(); ++i) {
            const reflector_config& r = cfg.reflectors[i];
            const reflector_meta& m = refl_meta_[i];
            if (!m.resolved) {
                continue;
            }
            for (std::size_t u = 0; u < r.udp_ports.size(); ++u) {
                if (!c.receiver_ports.contains(r.udp_ports[u])) {
                    continue;
                }
                auto a = std::find_if(
                        r.addresses.begin(), r.addresses.end(),
                        [&](const ip_address& x) { return control_may_use(cfg, c.listen, x); });
                if (a == r.addresses.end()) {
                    continue;
                }
                fail(receiver_ports_line_ ? receiver_ports_line_ : control_line_,
                     "control.receiver-ports",
                     std::to_string(c.receiver_ports.min) + ".." +
                             std::to_string(c.receiver_ports.max) + " contains UDP port " +
                             std::to_string(r.udp_ports[u]) + " of reflector " + quote(r.name) +
                             " (" + m.udp_ports[u].path + ") on address " + a->to_string() +
                             ", which TWAMP-Control sessions (control.listen " +
                             c.listen.to_string() +
                             ") may use: the static reflector would answer their test "
                             "packets; expected receiver ports clear of every reflector's "
                             "udp-ports on those addresses");
                break; // one report per reflector is enough
            }
        }
    }

    // The control server and the metrics exporter are both TCP listeners in one namespace.
    void check_listeners(const config& cfg) {
        const auto& c = cfg.control;
        const auto& m = cfg.metrics;
        if (!c.enabled || !m.enabled || c.port != m.port) {
            return;
        }
        if (c.listen == m.address || c.listen.is_unspecified() || m.address.is_unspecified()) {
            fail(metrics_line_ ? metrics_line_ : control_line_, "metrics.listen",
                 "expected a TCP port other than control.port (" + std::to_string(c.port) +
                         ") on overlapping addresses, got " + quote(m.listen));
        }
    }

    const detail::source& src_;
    std::vector<std::pair<unsigned, error>> errors_;
    std::vector<port_meta> port_meta_;
    std::vector<reflector_meta> refl_meta_;
    unsigned control_line_ = 0;
    unsigned receiver_ports_line_ = 0;
    unsigned metrics_line_ = 0;
};

load_result load(std::string_view text, std::string name, std::optional<std::string> include_dir) {
    load_result result;
    detail::source src = detail::preprocess(text, std::move(name), std::move(include_dir));
    if (!src.problems.empty()) {
        for (auto& p : src.problems) {
            result.errors.push_back({src.files[p.where.file], p.where.line, "", p.message});
        }
        return result;
    }
    libconfig::Config lc;
    try {
        lc.readString(src.text);
    } catch (const libconfig::ParseException& e) {
        detail::origin o = src.at(static_cast<unsigned>(e.getLine()));
        std::string message = e.getError() ? e.getError() : "syntax error";
        std::string_view line = src.line_text(o);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
            line.remove_prefix(1);
        }
        if (!line.empty()) {
            message += " (libconfig) in: " + quote(line);
        }
        result.errors.push_back({src.files[o.file], o.line, "", message});
        return result;
    }
    loader l(src);
    config cfg = l.run(lc.getRoot());
    result.errors = l.take_errors();
    if (result.errors.empty()) {
        result.cfg = std::move(cfg);
    }
    return result;
}

load_result internal_error(std::string_view name, const char* what) {
    load_result r;
    r.errors.push_back({std::string(name), 0, "", std::string("internal error: ") + what});
    return r;
}

} // namespace

const std::vector<ip_prefix>* port_config::addresses_of(uint16_t vlan) const noexcept {
    if (vlan == 0) {
        return &addresses;
    }
    for (const auto& v : vlans) {
        if (v.id == vlan) {
            return &v.addresses;
        }
    }
    return nullptr;
}

std::string vlan_iface_name(const port_config& port, uint16_t vlan) {
    return port.exception.iface + "." + std::to_string(vlan);
}

const port_config* config::find_port(std::string_view name) const noexcept {
    for (const auto& p : ports) {
        if (p.name == name) {
            return &p;
        }
    }
    return nullptr;
}

const reflector_config* config::find_reflector(std::string_view name) const noexcept {
    for (const auto& r : reflectors) {
        if (r.name == name) {
            return &r;
        }
    }
    return nullptr;
}

std::string to_string(const error& e) {
    std::string r = e.file;
    if (e.line) {
        r += ":" + std::to_string(e.line);
    }
    r += ": ";
    if (!e.path.empty()) {
        r += e.path + ": ";
    }
    return r + e.message;
}

std::string to_string(const std::vector<error>& errors) {
    std::string r;
    for (const auto& e : errors) {
        r += to_string(e) + "\n";
    }
    return r;
}

load_result load_string(std::string_view text, std::string_view name) noexcept {
    try {
        return load(text, std::string(name), std::nullopt);
    } catch (const std::exception& e) {
        return internal_error(name, e.what());
    } catch (...) {
        return internal_error(name, "unknown exception");
    }
}

load_result load_file(const std::string& path) noexcept {
    try {
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec)) {
            load_result r;
            r.errors.push_back({path, 0, "", "cannot read: is a directory"});
            return r;
        }
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            load_result r;
            r.errors.push_back({path, 0, "", std::string("cannot open: ") + std::strerror(errno)});
            return r;
        }
        std::ostringstream ss;
        ss << in.rdbuf();
        if (in.bad()) {
            load_result r;
            r.errors.push_back({path, 0, "", std::string("cannot read: ") + std::strerror(errno)});
            return r;
        }
        auto slash = path.rfind('/');
        std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
        return load(ss.str(), path, dir);
    } catch (const std::exception& e) {
        return internal_error(path, e.what());
    } catch (...) {
        return internal_error(path, "unknown exception");
    }
}

} // namespace twamp::config
