// The `reflectors` section: TWAMP Light / STAMP reflectors, each resolved against its port
// and VLAN; then names unique and no (port, VLAN, address, UDP port) served twice.
#include <algorithm>
#include <cstdio>
#include <map>

#include "sections.hpp"

namespace twamp::config::detail {

namespace {

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

// The STAMP TLV local policy: cos-allowed-dscp, location, return-address.
void read_stamp_policy(reader& rd, const Setting& g, const std::string& path, reflector_config& r) {
    if (auto* s = rd.member(g, "cos-allowed-dscp")) {
        std::string c_path = join(path, "cos-allowed-dscp");
        if (rd.sequence(*s, c_path, "DSCP values")) {
            dscp_set set{0, true};
            for (int i = 0; i < s->getLength(); ++i) {
                std::string e_path = at_index(c_path, i);
                // A value 0..63 or a name, as `dscp` takes them.
                std::optional<int64_t> v;
                if (is_int((*s)[i])) {
                    v = rd.integer((*s)[i], e_path, 0, 63);
                } else if (auto text = rd.string((*s)[i], e_path, "a DSCP value 0..63 or a name")) {
                    if (auto d = dscp_by_name(*text)) {
                        v = *d;
                    } else {
                        rd.fail((*s)[i], e_path,
                                "expected a DSCP value 0..63 or a name (\"ef\", \"af41\", "
                                "\"cs6\", ...), got " +
                                        quote(*text));
                    }
                }
                if (!v) {
                    continue;
                }
                if (set.has(static_cast<uint8_t>(*v))) {
                    rd.fail((*s)[i], e_path, "duplicate DSCP " + std::to_string(*v));
                    continue;
                }
                set.bits |= uint64_t{1} << *v;
            }
            r.cos_allowed_dscp = set;
        }
    }
    if (auto* s = rd.member(g, "location")) {
        std::string l_path = join(path, "location");
        static constexpr std::string_view expected = "one of \"ports\", \"addresses\", \"mac\"";
        if (rd.sequence(*s, l_path, "Location fields")) {
            location_fields f{0};
            for (int i = 0; i < s->getLength(); ++i) {
                std::string e_path = at_index(l_path, i);
                auto text = rd.string((*s)[i], e_path, expected);
                if (!text) {
                    continue;
                }
                uint8_t bit = *text == "ports"       ? location_fields::ports
                              : *text == "addresses" ? location_fields::addresses
                              : *text == "mac"       ? location_fields::mac
                                                     : 0;
                if (!bit) {
                    rd.fail((*s)[i], e_path,
                            "expected " + std::string(expected) + ", got " + quote(*text));
                    continue;
                }
                if (f.bits & bit) {
                    rd.fail((*s)[i], e_path, "duplicate Location field " + quote(*text));
                    continue;
                }
                f.bits |= bit;
            }
            r.location = f;
        }
    }
    rd.read_bool(g, "return-address", path, r.return_address);
}

// Authenticated STAMP (RFC 8762 §4.2.2) and the HMAC TLV (RFC 8972 §4.8): authentication,
// key-id, ssid-keys, the KeyIDs checked against the top-level `keys` (read before this).
void read_stamp_keys(reader& rd, const config& cfg, const Setting& g, const std::string& path,
                     reflector_config& r) {
    enum class auth { none, authenticated };
    auth a = auth::none;
    rd.read_enum(g, "authentication", path, a,
                 {{"none", auth::none}, {"authenticated", auth::authenticated}});
    r.authenticated = a == auth::authenticated;
    const auto known = [&](const Setting& s, const std::string& k_path, const std::string& id) {
        if (cfg.keys.find(id)) {
            return;
        }
        rd.fail(s, k_path,
                cfg.keys_file.empty()
                        ? "expected a KeyID of the key file, but no `keys` file is configured"
                        : "expected a KeyID of " + quote(cfg.keys_file) + " (" +
                                  std::to_string(cfg.keys.size()) + " keys), got " + quote(id));
    };
    const Setting* kid = rd.member(g, "key-id");
    if (kid) {
        const std::string k_path = join(path, "key-id");
        if (auto v = rd.string(*kid, k_path, "a KeyID of the key file")) {
            r.key_id = *v;
            known(*kid, k_path, *v);
        }
    }
    if (auto* s = rd.member(g, "ssid-keys")) {
        const std::string l_path = join(path, "ssid-keys");
        if (rd.list_of_groups(*s, l_path)) {
            for (int i = 0; i < s->getLength(); ++i) {
                const Setting& e = (*s)[i];
                const std::string e_path = at_index(l_path, i);
                if (!e.isGroup()) {
                    continue;
                }
                rd.check_keys(e, e_path, "reflectors[].ssid-keys[]");
                reflector_config::ssid_key k;
                bool ok = true;
                if (auto* n = rd.required(e, "ssid", e_path, "the SSID, e.g. ssid = 100;")) {
                    if (auto v = rd.integer(*n, join(e_path, "ssid"), 0, 65535)) {
                        k.ssid = static_cast<uint16_t>(*v);
                        if (std::any_of(r.ssid_keys.begin(), r.ssid_keys.end(),
                                        [&](const auto& o) { return o.ssid == k.ssid; })) {
                            rd.fail(*n, join(e_path, "ssid"),
                                    "duplicate SSID " + std::to_string(k.ssid));
                            ok = false;
                        }
                    } else {
                        ok = false;
                    }
                } else {
                    ok = false;
                }
                if (auto* n = rd.required(e, "key-id", e_path,
                                          "a KeyID of the key file, e.g. key-id = \"site-a\";")) {
                    const std::string k_path = join(e_path, "key-id");
                    if (auto v = rd.string(*n, k_path, "a KeyID of the key file")) {
                        k.key_id = *v;
                        known(*n, k_path, *v);
                    } else {
                        ok = false;
                    }
                } else {
                    ok = false;
                }
                if (ok) {
                    r.ssid_keys.push_back(std::move(k));
                }
            }
            std::sort(r.ssid_keys.begin(), r.ssid_keys.end(),
                      [](const auto& x, const auto& y) { return x.ssid < y.ssid; });
        }
    }
    const Setting* sk = rd.member(g, "ssid-keys");
    if (r.mode != reflector_mode::stamp &&
        (r.authenticated || kid || (sk && sk->getLength() > 0))) {
        // TWAMP Light stays unauthenticated (its sender has no key exchange; issue 17).
        const char* k = r.authenticated ? "authentication" : kid ? "key-id" : "ssid-keys";
        rd.fail(*rd.member(g, k), join(path, k),
                "only a STAMP reflector (mode = \"stamp\") has keys; TWAMP Light test packets "
                "are unauthenticated");
    } else if (r.authenticated && r.key_id.empty() && !kid) {
        rd.fail(*rd.member(g, "authentication"), join(path, "authentication"),
                "authenticated STAMP needs a key: key-id = \"ID\"; (a KeyID of the key file)");
    }
}

// The limits (README "Limits"): the loop guard's refused source ports, the request and
// new-session rates, the prefix rules and the over-capacity action.
void read_limits(reader& rd, const Setting& g, const std::string& path, reflector_config& r) {
    if (auto* s = rd.member(g, "refused-source-ports")) {
        const std::string p_path = join(path, "refused-source-ports");
        static constexpr std::string_view expected =
                "\"reflector-ports\" or a list of UDP ports and \"lo-hi\" ranges, e.g. ( 862, "
                "\"64364-64373\" ) ([] refuses none)";
        if (s->getType() == Setting::TypeString) {
            auto text = rd.string(*s, p_path, expected);
            if (text && *text == "reflector-ports") {
                r.refused_source_ports = {};
            } else if (text) {
                rd.fail(*s, p_path, "expected " + std::string(expected) + ", got " + quote(*text));
            }
        } else if (rd.sequence(*s, p_path, "UDP ports and ranges")) {
            source_port_set set{false, {}};
            for (int i = 0; i < s->getLength(); ++i) {
                const std::string e_path = at_index(p_path, i);
                const Setting& e = (*s)[i];
                if (is_int(e)) {
                    if (auto v = rd.integer(e, e_path, 1, 65535)) {
                        set.ranges.push_back(
                                {static_cast<uint16_t>(*v), static_cast<uint16_t>(*v)});
                    }
                    continue;
                }
                auto text = rd.string(e, e_path, "a UDP port or a \"lo-hi\" range");
                if (!text) {
                    continue;
                }
                unsigned lo = 0, hi = 0;
                char tail = 0;
                if (std::sscanf(text->c_str(), "%u-%u%c", &lo, &hi, &tail) != 2 || lo < 1 ||
                    hi > 65535 || lo > hi || text->find_first_not_of("0123456789-") != text->npos) {
                    rd.fail(e, e_path,
                            "expected a range \"lo-hi\" with 1 <= lo <= hi <= 65535, got " +
                                    quote(*text));
                    continue;
                }
                set.ranges.push_back({static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)});
            }
            r.refused_source_ports = std::move(set);
        }
    }
    rd.read_int(g, "rate-limit-pps", path, r.rate_limit_pps, 0, 100'000'000);
    rd.read_int(g, "source-rate-limit-pps", path, r.source_rate_limit_pps, 0, 100'000'000);
    rd.read_int(g, "source-session-rate", path, r.source_session_rate, 0, 100'000'000);
    rd.read_enum(g, "over-capacity", path, r.over_capacity_action,
                 {{"stateless", over_capacity::stateless}, {"drop", over_capacity::drop}});
    if (auto* s = rd.member(g, "prefix-limits")) {
        const std::string l_path = join(path, "prefix-limits");
        if (rd.list_of_groups(*s, l_path)) {
            if (s->getLength() > 64) {
                rd.fail(*s, l_path,
                        "expected at most 64 prefix rules, got " + std::to_string(s->getLength()));
            }
            for (int i = 0; i < s->getLength(); ++i) {
                const Setting& e = (*s)[i];
                const std::string e_path = at_index(l_path, i);
                if (!e.isGroup()) {
                    continue;
                }
                rd.check_keys(e, e_path, "reflectors[].prefix-limits[]");
                prefix_limit pl;
                bool ok = false;
                if (auto* n = rd.required(e, "prefix", e_path,
                                          "the prefix, e.g. prefix = \"198.18.5.0/24\";")) {
                    const std::string p_path = join(e_path, "prefix");
                    if (auto p = rd.prefix(*n, p_path)) {
                        pl.prefix = *p;
                        ok = true;
                        if (std::none_of(r.prefixes.begin(), r.prefixes.end(),
                                         [&](const ip_prefix& q) { return q.contains(*p); })) {
                            rd.fail(*n, p_path,
                                    "expected a prefix inside one of the reflector's prefixes, "
                                    "got " + quote(p->to_string()));
                            ok = false;
                        } else if (std::any_of(
                                           r.prefix_limits.begin(), r.prefix_limits.end(),
                                           [&](const prefix_limit& o) { return o.prefix == *p; })) {
                            rd.fail(*n, p_path, "duplicate prefix " + quote(p->to_string()));
                            ok = false;
                        }
                    }
                }
                rd.read_int(e, "rate-limit-pps", e_path, pl.rate_limit_pps, 0, 100'000'000);
                rd.read_int(e, "max-sessions", e_path, pl.max_sessions, 0, 16'777'216);
                if (ok) {
                    r.prefix_limits.push_back(pl);
                }
            }
        }
    }
}

reflector_config reflector(reader& rd, const config& cfg, const Setting& g, const std::string& path,
                           std::vector<reflector_meta>& metas) {
    reflector_config r;
    reflector_meta m;
    m.self = rd.at(g, path);
    if (!g.isGroup()) {
        metas.push_back(std::move(m));
        return r;
    }
    rd.check_keys(g, path, "reflectors[]");
    r.name = read_name(rd, g, path, "the reflector's name, e.g. name = \"base\";", m.name,
                       m.valid_name);
    const port_config* port = nullptr;
    if (auto* s = rd.required(g, "port", path,
                              "the name of the port it serves, e.g. port = \"wire0\";")) {
        if (auto v = rd.string(*s, join(path, "port"), "the name of a port")) {
            r.port = *v;
            port = cfg.find_port(*v);
            if (!port) {
                std::string known;
                for (const auto& p : cfg.ports) {
                    known += (known.empty() ? "" : ", ") + quote(p.name);
                }
                rd.fail(*s, join(path, "port"),
                        "expected the name of a port (" +
                                (known.empty() ? std::string("none") : known) + "), got " +
                                quote(*v));
            } else {
                r.port_index = static_cast<std::size_t>(port - cfg.ports.data());
            }
        }
    }
    bool vlan_ok = true;
    if (auto* s = rd.member(g, "vlan")) {
        if (auto v = rd.integer(*s, join(path, "vlan"), 0, 4094)) {
            r.vlan = static_cast<uint16_t>(*v);
        } else {
            vlan_ok = false;
        }
    }
    const std::vector<ip_prefix>* local = nullptr;
    if (port && vlan_ok) {
        local = port->addresses_of(r.vlan);
        const Setting& s = rd.member(g, "vlan") ? g["vlan"] : g;
        if (!local) {
            std::string known;
            for (const auto& v : port->vlans) {
                known += (known.empty() ? "" : ", ") + std::to_string(v.id);
            }
            rd.fail(s, join(path, "vlan"),
                    "expected 0 (untagged) or a VLAN of port " + quote(port->name) + " (" +
                            (known.empty() ? std::string("it has none") : known) + "), got " +
                            std::to_string(r.vlan));
        } else if (local->empty()) {
            rd.fail(s, join(path, "vlan"),
                    "port " + quote(port->name) +
                            " has no untagged addresses to reflect on; expected the port to "
                            "have addresses, or a vlan that has");
            local = nullptr;
        }
    }
    if (auto* s = rd.member(g, "addresses")) {
        std::string a_path = join(path, "addresses");
        if (rd.sequence(*s, a_path, "addresses")) {
            if (s->getLength() == 0) {
                rd.fail(*s, a_path,
                        "expected at least one address (leave the key out to serve every "
                        "address of the port/VLAN)");
            }
            for (int i = 0; i < s->getLength(); ++i) {
                std::string e_path = at_index(a_path, i);
                auto text = rd.string((*s)[i], e_path, "an address of the port/VLAN");
                if (!text) {
                    continue;
                }
                auto a = ip_address::parse(*text);
                if (!a) {
                    rd.fail((*s)[i], e_path,
                            "expected an address without a prefix length, e.g. \"198.18.0.2\", "
                            "got " + quote(*text));
                    continue;
                }
                if (local && std::none_of(local->begin(), local->end(),
                                          [&](const ip_prefix& p) { return p.address == *a; })) {
                    std::string known;
                    for (const auto& p : *local) {
                        known += (known.empty() ? "" : ", ") + p.address.to_string();
                    }
                    rd.fail((*s)[i], e_path,
                            "expected one of the addresses of port " + quote(r.port) +
                                    (r.vlan ? " VLAN " + std::to_string(r.vlan)
                                            : std::string(" untagged")) +
                                    " (" + known + "), got " + quote(*text));
                    continue;
                }
                if (std::find(r.addresses.begin(), r.addresses.end(), *a) != r.addresses.end()) {
                    rd.fail((*s)[i], e_path, "duplicate address " + quote(*text));
                    continue;
                }
                r.addresses.push_back(*a);
                m.addresses.push_back(rd.at((*s)[i], e_path));
            }
        }
    } else if (local) {
        for (const auto& p : *local) {
            r.addresses.push_back(p.address);
            m.addresses.push_back(m.self);
        }
    }
    m.resolved = local != nullptr;
    rd.read_enum(g, "mode", path, r.mode,
                 {{"twamp-light", reflector_mode::twamp_light}, {"stamp", reflector_mode::stamp}});
    if (auto* s = rd.member(g, "udp-ports")) {
        std::string u_path = join(path, "udp-ports");
        r.udp_ports.clear();
        if (rd.sequence(*s, u_path, "UDP ports")) {
            if (s->getLength() == 0) {
                rd.fail(*s, u_path, "expected at least one UDP port");
            }
            for (int i = 0; i < s->getLength(); ++i) {
                std::string e_path = at_index(u_path, i);
                auto v = rd.integer((*s)[i], e_path, 1, 65535);
                if (!v) {
                    continue;
                }
                auto port_no = static_cast<uint16_t>(*v);
                auto dup = std::find(r.udp_ports.begin(), r.udp_ports.end(), port_no);
                if (dup != r.udp_ports.end()) {
                    rd.fail((*s)[i], e_path,
                            "duplicate UDP port " + std::to_string(port_no) + ", already at " +
                                    m.udp_ports[static_cast<std::size_t>(dup - r.udp_ports.begin())]
                                            .path);
                    continue;
                }
                r.udp_ports.push_back(port_no);
                m.udp_ports.push_back(rd.at((*s)[i], e_path));
            }
        }
    } else {
        m.udp_ports.push_back(m.self);
    }
    if (auto* s = rd.required(g, "prefixes", path,
                              "the source prefixes allowed to send, e.g. prefixes = [ "
                              "\"198.18.0.0/15\" ]; ([] accepts nothing)")) {
        r.prefixes = rd.prefix_list(*s, join(path, "prefixes"));
    }
    rd.read_bool(g, "stateful", path, r.stateful);
    rd.read_int(g, "inactivity-timeout", path, r.inactivity_timeout, 1, 86'400);
    rd.read_int(g, "max-sessions", path, r.max_sessions, 1, 16'777'216);
    if (auto* s = rd.member(g, "dscp")) {
        std::string d_path = join(path, "dscp");
        static constexpr std::string_view expected =
                "\"copy\", a DSCP value 0..63 or a name (\"ef\", \"af41\", \"cs6\", \"va\", "
                "\"le\", \"default\", ...)";
        if (is_int(*s)) {
            if (auto v = rd.integer(*s, d_path, 0, 63)) {
                r.dscp = {false, static_cast<uint8_t>(*v)};
            }
        } else if (auto text = rd.string(*s, d_path, expected)) {
            if (*text == "copy") {
                r.dscp = {true, 0};
            } else if (auto v = dscp_by_name(*text)) {
                r.dscp = {false, *v};
            } else {
                rd.fail(*s, d_path, "expected " + std::string(expected) + ", got " + quote(*text));
            }
        }
    }
    rd.read_enum(g, "timestamp-format", path, r.ts_format,
                 {{"auto", timestamp_format::automatic},
                  {"ntp", timestamp_format::ntp},
                  {"ptp", timestamp_format::ptp}});
    rd.read_bool(g, "allow-ipv6-udp-checksum-zero", path, r.allow_ipv6_udp_checksum_zero);
    read_stamp_policy(rd, g, path, r);
    read_stamp_keys(rd, cfg, g, path, r);
    read_limits(rd, g, path, r);
    metas.push_back(std::move(m));
    return r;
}

void overlap(reader& rd, const reflector_config& r, const reflector_meta& m,
             const reflector_config& o, const reflector_meta& om) {
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
            rd.fail(m.udp_ports[u], "UDP port " + std::to_string(r.udp_ports[u]) + " on port " +
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

// Names unique; no (port, VLAN, address, UDP port) served by two reflectors.
void check_reflectors(reader& rd, const config& cfg, const std::vector<reflector_meta>& metas) {
    std::map<std::string, const where*> names;
    for (std::size_t i = 0; i < cfg.reflectors.size(); ++i) {
        const reflector_config& r = cfg.reflectors[i];
        const reflector_meta& m = metas[i];
        if (m.valid_name) {
            unique_name(rd, names, r.name, m.name, "reflector");
        }
        if (!m.resolved) {
            continue;
        }
        for (std::size_t j = 0; j < i; ++j) {
            const reflector_config& o = cfg.reflectors[j];
            if (!metas[j].resolved || o.port_index != r.port_index || o.vlan != r.vlan) {
                continue;
            }
            overlap(rd, r, m, o, metas[j]);
        }
    }
}

} // namespace

void read_reflectors(reader& rd, const Setting& root, config& cfg, positions& pl) {
    if (auto* s = reader::member(root, "reflectors")) {
        if (rd.list_of_groups(*s, "reflectors")) {
            for (int i = 0; i < s->getLength(); ++i) {
                cfg.reflectors.push_back(
                        reflector(rd, cfg, (*s)[i], at_index("reflectors", i), pl.reflectors));
            }
        }
    }
    check_reflectors(rd, cfg, pl.reflectors);
}

} // namespace twamp::config::detail
