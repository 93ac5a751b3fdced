// libFuzzer target: config text through load_string() (src/config).
//
// The input is the whole config text. load_string() is noexcept: an exception escaping it
// terminates, which libFuzzer reports. Invariants, each a __builtin_trap() via FUZZ_CHECK:
//   - ok() exactly when cfg is set; a failure has 1..max_errors errors, each with the given
//     file name and a message;
//   - an accepted config keeps the contract (checked here from the structs, not by the
//     loader's own code): ports and names unique, VLAN IDs in 1..4094, interface names fit
//     IFNAMSIZ, every reflector's port/VLAN/addresses exist, UDP ports non-zero and unique,
//     prefixes with host bits zero, values in their ranges, no (port, VLAN, address, UDP port)
//     served twice;
//   - diff() of a config with itself is empty;
//   - written back as libconfig text (a writer independent of the loader) it loads again to
//     an equal config: parsing and normalization are a fixed point.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <string_view>
#include <tuple>

#include "fuzz_oracle.hpp"

#include "twamp/config/config.hpp"

namespace {

namespace tc = twamp::config;

std::string str(std::string_view s) {
    std::string r = "\"";
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            r += '\\';
            r += ch;
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\x%02x", c);
            r += buf;
        } else {
            r += ch;
        }
    }
    return r + "\"";
}

template<class T, class F>
std::string list(const std::vector<T>& v, F f) {
    std::string r = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
        r += (i ? ", " : " ") + f(v[i]);
    }
    return r + " ]";
}

std::string prefix_text(const tc::ip_prefix& p) {
    return str(p.to_string());
}

std::vector<int> dscps(const tc::dscp_set& d) {
    std::vector<int> v;
    for (int i = 0; i < 64; ++i) {
        if (d.has(static_cast<uint8_t>(i))) {
            v.push_back(i);
        }
    }
    return v;
}

std::vector<const char*> locations(const tc::location_fields& f) {
    std::vector<const char*> v;
    for (auto [bit, name] : {std::pair{tc::location_fields::ports, "ports"},
                             std::pair{tc::location_fields::addresses, "addresses"},
                             std::pair{tc::location_fields::mac, "mac"}}) {
        if (f.bits & bit) {
            v.push_back(name);
        }
    }
    return v;
}

// The config as libconfig text, every key explicit.
std::string write(const tc::config& c) {
    std::string t = "ports = (\n";
    for (std::size_t i = 0; i < c.ports.size(); ++i) {
        const auto& p = c.ports[i];
        t += std::string(i ? "," : "") + "{ name = " + str(p.name) + "; device = " + str(p.device) +
             "; addresses = " + list(p.addresses, prefix_text) + "; vlans = (";
        for (std::size_t k = 0; k < p.vlans.size(); ++k) {
            t += std::string(k ? "," : "") + "{ id = " + std::to_string(p.vlans[k].id) +
                 "; addresses = " + list(p.vlans[k].addresses, prefix_text) + "; }";
        }
        t += "); hw-timestamps = " + str(tc::to_string(p.timestamps)) + ";";
        if (p.hw_clock) {
            t += " hw-clock = { unit = " + str(tc::to_string(p.hw_clock->unit)) +
                 "; epoch = " + str(tc::to_string(p.hw_clock->epoch)) + "; };";
        }
        t += " t3 = " + str(tc::to_string(p.t3)) +
             "; t3-lead-ns = " + std::to_string(p.t3_lead_ns) +
             "; tx-timestamps = " + str(tc::to_string(p.tx_ts)) + ";";
        t += " exception = { iface = " + str(p.exception.iface) +
             "; rate-limit-pps = " + std::to_string(p.exception.rate_limit_pps) +
             "; control-rate-limit-pps = " + std::to_string(p.exception.control_rate_limit_pps) +
             "; neighbor-rate-limit-pps = " + std::to_string(p.exception.neighbor_rate_limit_pps) +
             "; routes = (";
        for (std::size_t k = 0; k < p.exception.routes.size(); ++k) {
            const auto& r = p.exception.routes[k];
            t += std::string(k ? "," : "") + "{ to = " + prefix_text(r.to) +
                 "; via = " + str(r.via.to_string()) + "; }";
        }
        t += "); }; }\n";
    }
    t += ");\nreflectors = (\n";
    for (std::size_t i = 0; i < c.reflectors.size(); ++i) {
        const auto& r = c.reflectors[i];
        t += std::string(i ? "," : "") + "{ name = " + str(r.name) + "; port = " + str(r.port) +
             "; vlan = " + std::to_string(r.vlan) + "; addresses = " +
             list(r.addresses, [](const tc::ip_address& a) { return str(a.to_string()); }) +
             "; mode = " + str(tc::to_string(r.mode)) +
             "; udp-ports = " + list(r.udp_ports, [](uint16_t u) { return std::to_string(u); }) +
             "; prefixes = " + list(r.prefixes, prefix_text) +
             "; stateful = " + (r.stateful ? "true" : "false") +
             "; inactivity-timeout = " + std::to_string(r.inactivity_timeout) +
             "; max-sessions = " + std::to_string(r.max_sessions) +
             "; dscp = " + (r.dscp.copy ? std::string("\"copy\"") : std::to_string(r.dscp.value)) +
             "; timestamp-format = " + str(tc::to_string(r.ts_format)) +
             "; allow-ipv6-udp-checksum-zero = " +
             (r.allow_ipv6_udp_checksum_zero ? "true" : "false") +
             (r.cos_allowed_dscp.stated // absent and stated load differently (dscp_set)
                      ? "; cos-allowed-dscp = " + list(dscps(r.cos_allowed_dscp),
                                                       [](int d) { return std::to_string(d); })
                      : std::string()) +
             "; location = " + list(locations(r.location), [](const char* n) { return str(n); }) +
             "; return-address = " + (r.return_address ? "true" : "false") +
             "; refused-source-ports = " + tc::to_string(r.refused_source_ports) +
             "; rate-limit-pps = " + std::to_string(r.rate_limit_pps) +
             "; source-rate-limit-pps = " + std::to_string(r.source_rate_limit_pps) +
             "; source-session-rate = " + std::to_string(r.source_session_rate) +
             "; over-capacity = " + str(tc::to_string(r.over_capacity_action)) +
             "; prefix-limits = (";
        for (std::size_t k = 0; k < r.prefix_limits.size(); ++k) {
            const auto& pl = r.prefix_limits[k];
            t += std::string(k ? ", " : " ") + "{ prefix = " + prefix_text(pl.prefix) +
                 "; rate-limit-pps = " + std::to_string(pl.rate_limit_pps) +
                 "; max-sessions = " + std::to_string(pl.max_sessions) + "; }";
        }
        t += " ); }\n";
    }
    t += ");\n";
    // The control group is always written: absent and `enabled = false` load alike.
    const auto& k = c.control;
    std::vector<std::string> modes;
    for (const auto& m : twamp::net::modes::mode_names) { // every mode the loader knows
        if (k.modes & m.bit) {
            modes.push_back(std::string(m.name));
        }
    }
    t += "control = { enabled = " + std::string(k.enabled ? "true" : "false") +
         "; listen = " + str(k.listen.to_string()) + "; port = " + std::to_string(k.port) +
         "; modes = " + list(modes, [](const std::string& x) { return str(x); }) +
         "; prefixes = " + list(k.prefixes, prefix_text) +
         "; max-connections = " + std::to_string(k.max_connections) +
         "; max-sessions = " + std::to_string(k.max_sessions) +
         "; servwait = " + std::to_string(k.servwait) + "; refwait = " + std::to_string(k.refwait) +
         "; max-timeout = " + std::to_string(k.max_timeout) +
         "; allow-third-party-senders = " + (k.allow_third_party_senders ? "true" : "false") +
         "; kdf-count = " + std::to_string(k.kdf_count) +
         "; max-key-derivations = " + std::to_string(k.max_key_derivations) +
         "; max-connections-per-source = " + std::to_string(k.max_connections_per_source) +
         "; max-pending = " + std::to_string(k.max_pending) +
         "; setup-timeout = " + std::to_string(k.setup_timeout) +
         "; idle-timeout = " + std::to_string(k.idle_timeout) +
         "; max-pending-per-source = " + std::to_string(k.max_pending_per_source) +
         "; max-sessions-per-connection = " + std::to_string(k.max_sessions_per_connection) +
         "; max-sessions-per-source = " + std::to_string(k.max_sessions_per_source) +
         "; receiver-ports = { min = " + std::to_string(k.receiver_ports.min) +
         "; max = " + std::to_string(k.receiver_ports.max) + "; }; };\n";
    const auto& m = c.metrics;
    t += "metrics = { enabled = " + std::string(m.enabled ? "true" : "false") +
         "; listen = " + str(m.listen) + "; labels = {";
    for (const auto& [name, value] : m.labels) {
        t += " " + name + " = " + str(value) + ";";
    }
    return t + " }; };\n";
}

bool valid_utf8_label_name(const std::string& s) {
    if (s.empty() || (s[0] >= '0' && s[0] <= '9')) {
        return false;
    }
    for (char ch : s) {
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_')) {
            return false;
        }
    }
    return true;
}

void check_contract(const tc::config& c) {
    FUZZ_CHECK(!c.ports.empty());
    std::set<std::string> port_names;
    std::set<std::string> ifaces;
    std::set<tc::ip_address, bool (*)(const tc::ip_address&, const tc::ip_address&)> addrs(
            [](const tc::ip_address& a, const tc::ip_address& b) {
                return std::tie(a.family, a.bytes) < std::tie(b.family, b.bytes);
            });
    for (const auto& p : c.ports) {
        FUZZ_CHECK(!p.name.empty() && p.name.size() <= 32);
        FUZZ_CHECK(port_names.insert(p.name).second);
        FUZZ_CHECK(!p.device_name.empty());
        FUZZ_CHECK(!p.exception.iface.empty() && p.exception.iface.size() <= 15);
        FUZZ_CHECK(ifaces.insert(p.exception.iface).second);
        auto check_addr = [&](const tc::ip_prefix& a) {
            FUZZ_CHECK(a.length >= 1 && a.length <= a.address.bits());
            FUZZ_CHECK(!a.address.is_unspecified() && !a.address.is_multicast() &&
                       !a.address.is_loopback());
            FUZZ_CHECK(addrs.insert(a.address).second);
        };
        for (const auto& a : p.addresses) {
            check_addr(a);
        }
        std::set<uint16_t> ids;
        for (const auto& v : p.vlans) {
            FUZZ_CHECK(v.id >= 1 && v.id <= 4094);
            FUZZ_CHECK(ids.insert(v.id).second);
            FUZZ_CHECK(!v.addresses.empty());
            for (const auto& a : v.addresses) {
                check_addr(a);
            }
            std::string sub = tc::vlan_iface_name(p, v.id);
            FUZZ_CHECK(sub.size() <= 15);
            FUZZ_CHECK(ifaces.insert(sub).second);
        }
        FUZZ_CHECK(!(p.hw_clock && p.timestamps == tc::hw_timestamps::off));
        FUZZ_CHECK(p.exception.routes.size() <= 64);
        for (const auto& r : p.exception.routes) {
            FUZZ_CHECK(r.to.host_bits_zero() && r.to.address.family == r.via.family);
            const auto* subnets = p.addresses_of(r.vlan);
            FUZZ_CHECK(subnets != nullptr);
            bool inside = false;
            for (const auto& a : *subnets) {
                inside = inside || a.network().contains(r.via);
                FUZZ_CHECK(!(a.address == r.via));
            }
            FUZZ_CHECK(inside);
            for (const auto& q : c.ports) {
                auto on_link = [&](const tc::ip_prefix& a) {
                    return a.address.family == r.to.address.family && a.network().contains(r.to);
                };
                FUZZ_CHECK(std::none_of(q.addresses.begin(), q.addresses.end(), on_link));
                for (const auto& v : q.vlans) {
                    FUZZ_CHECK(std::none_of(v.addresses.begin(), v.addresses.end(), on_link));
                }
            }
        }
    }
    std::set<std::string> refl_names;
    std::set<std::tuple<std::size_t, uint16_t, std::string, uint16_t>> tuples;
    for (const auto& r : c.reflectors) {
        FUZZ_CHECK(refl_names.insert(r.name).second);
        FUZZ_CHECK(r.port_index < c.ports.size());
        const auto& p = c.ports[r.port_index];
        FUZZ_CHECK(p.name == r.port);
        const auto* local = p.addresses_of(r.vlan);
        FUZZ_CHECK(local != nullptr);
        // Limits (issue 18): ranges ordered, at most 64 prefix rules, each inside prefixes.
        for (const auto& pr : r.refused_source_ports.ranges) {
            FUZZ_CHECK(pr.min >= 1 && pr.min <= pr.max);
        }
        FUZZ_CHECK(!r.refused_source_ports.reflector_ports ||
                   r.refused_source_ports.ranges.empty());
        FUZZ_CHECK(r.rate_limit_pps <= 100'000'000 && r.source_rate_limit_pps <= 100'000'000 &&
                   r.source_session_rate <= 100'000'000);
        FUZZ_CHECK(r.prefix_limits.size() <= 64);
        for (const auto& pl : r.prefix_limits) {
            bool inside = false;
            for (const auto& q : r.prefixes) {
                inside = inside || q.contains(pl.prefix);
            }
            FUZZ_CHECK(inside);
            FUZZ_CHECK(pl.max_sessions <= 16'777'216 && pl.rate_limit_pps <= 100'000'000);
        }
        FUZZ_CHECK(!r.addresses.empty());
        for (const auto& a : r.addresses) {
            bool found = false;
            for (const auto& l : *local) {
                found = found || l.address == a;
            }
            FUZZ_CHECK(found);
        }
        FUZZ_CHECK(!r.udp_ports.empty());
        std::set<uint16_t> ports(r.udp_ports.begin(), r.udp_ports.end());
        FUZZ_CHECK(ports.size() == r.udp_ports.size() && !ports.count(0));
        for (const auto& pf : r.prefixes) {
            FUZZ_CHECK(pf.host_bits_zero());
        }
        FUZZ_CHECK(r.inactivity_timeout >= 1 && r.inactivity_timeout <= 86400);
        FUZZ_CHECK(r.max_sessions >= 1 && r.max_sessions <= 16777216);
        FUZZ_CHECK(r.dscp.copy ? r.dscp.value == 0 : r.dscp.value <= 63);
        for (const auto& a : r.addresses) {
            for (auto u : r.udp_ports) {
                FUZZ_CHECK(tuples.insert({r.port_index, r.vlan, a.to_string(), u}).second);
            }
        }
    }
    const auto& k = c.control;
    FUZZ_CHECK(k.modes & tc::mode_unauthenticated);
    FUZZ_CHECK(!(k.modes & (tc::mode_authenticated | tc::mode_encrypted | tc::mode_mixed)));
    FUZZ_CHECK(k.receiver_ports.min >= 1 && k.receiver_ports.min <= k.receiver_ports.max);
    FUZZ_CHECK(k.port >= 1 && k.servwait >= 1 && k.refwait >= 1);
    for (const auto& pf : k.prefixes) {
        FUZZ_CHECK(pf.host_bits_zero());
    }
    std::set<std::string> labels;
    for (const auto& [name, value] : c.metrics.labels) {
        FUZZ_CHECK(valid_utf8_label_name(name));
        FUZZ_CHECK(labels.insert(name).second);
        FUZZ_CHECK(!value.empty());
        for (auto reserved : tc::reserved_label_names) {
            FUZZ_CHECK(name != reserved);
        }
    }
    FUZZ_CHECK(c.metrics.port >= 1);
}

} // namespace

// No leak suppression: libconfig 1.5 (Debian 12) leaks the string token a syntax error stops
// at, and the loader's syntax pass over the text without strings (src/config/source.hpp
// without_strings) keeps it from ever seeing one, so every leak is a finding. (That leak also
// made libFuzzer run a full LeakSanitizer scan after each such input: ~380 exec/s, now ~2800.)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size > (1U << 16)) { // a config is a few kilobytes; longer inputs only slow the search
        return 0;
    }
    std::string_view text(reinterpret_cast<const char*>(data), size);
    tc::load_result r = tc::load_string(text, "<fuzz>");
    FUZZ_CHECK(r.ok() == r.cfg.has_value());
    if (!r.ok()) {
        FUZZ_CHECK(r.errors.size() <= tc::max_errors);
        for (const auto& e : r.errors) {
            FUZZ_CHECK(e.file == "<fuzz>");
            FUZZ_CHECK(!e.message.empty());
        }
        FUZZ_CHECK(!tc::to_string(r.errors).empty());
        return 0;
    }
    const tc::config& c = *r.cfg;
    check_contract(c);
    FUZZ_CHECK(tc::diff(c, c).empty());
    std::string again_text = write(c);
    tc::load_result again = tc::load_string(again_text, "<rewritten>");
    if (!again.ok()) {
        std::fprintf(stderr, "rewritten config rejected:\n%s\n%s", again_text.c_str(),
                     tc::to_string(again.errors).c_str());
    }
    FUZZ_CHECK(again.ok());
    if (!(*again.cfg == c)) {
        std::fprintf(stderr, "rewritten config differs:\n%s\n", again_text.c_str());
        for (const auto& d : tc::diff(c, *again.cfg)) {
            std::fprintf(stderr, "  changed: %s: %s -> %s\n", d.path.c_str(), d.from.c_str(),
                         d.to.c_str());
        }
    }
    FUZZ_CHECK(*again.cfg == c);
    return 0;
}
