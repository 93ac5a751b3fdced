// Value rules more than one section uses, and the checks that span sections.
#include <algorithm>
#include <cctype>

#include "sections.hpp"

namespace twamp::config::detail {

namespace {

bool valid_object_name(std::string_view s) {
    // Names become metric label values and log words: keep them short and plain.
    if (s.empty() || s.size() > 32 || !std::isalnum(static_cast<unsigned char>(s[0]))) {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
}

} // namespace

std::string read_name(reader& rd, const Setting& g, const std::string& path,
                      std::string_view missing, where& w, bool& valid) {
    auto* s = rd.required(g, "name", path, missing);
    if (!s) {
        return "";
    }
    static constexpr std::string_view expected =
            "a name of 1..32 letters, digits, '_', '-' or '.' starting with a letter or digit";
    w = reader::at(*s, join(path, "name"));
    auto v = rd.string(*s, w.path, expected);
    if (!v) {
        return "";
    }
    if (!valid_object_name(*v)) {
        rd.fail(*s, w.path, "expected " + std::string(expected) + ", got " + quote(*v));
        return "";
    }
    valid = true;
    return *v;
}

void unique_name(reader& rd, std::map<std::string, const where*>& seen, const std::string& name,
                 const where& w, std::string_view what) {
    auto [it, fresh] = seen.emplace(name, &w);
    if (!fresh) {
        rd.fail(w, "duplicate " + std::string(what) + " name " + quote(name) +
                           ", already used by " + it->second->path);
    }
}

namespace {

// The addresses a TWAMP-Control test session may be received on: the connection's local
// address (or a Receiver Address of the box's own on that port/VLAN). A listener on
// 0.0.0.0 takes every IPv4 address of the box, one on "::" every address (it also accepts
// IPv4), one on a given address every address of the port/VLAN that holds it.
bool control_may_use(const config& cfg, const ip_address& listen, const ip_address& a) {
    if (listen.is_unspecified()) {
        return listen.is_v6() || a.is_v4();
    }
    if (a == listen) {
        return true;
    }
    auto holds = [](const std::vector<ip_prefix>& v, const ip_address& x) {
        return std::any_of(v.begin(), v.end(), [&](const ip_prefix& p) { return p.address == x; });
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

} // namespace

// A test packet is matched to a static reflector before the control sessions are looked
// at: a session whose receiver port a reflector also serves on that address would be
// answered by the reflector (IPv6: accepted, started, 100 % loss). Refuse the overlap.
void check_receiver_ports(reader& rd, const config& cfg, const positions& pl) {
    const auto& c = cfg.control;
    if (!c.enabled) {
        return;
    }
    for (std::size_t i = 0; i < cfg.reflectors.size(); ++i) {
        const reflector_config& r = cfg.reflectors[i];
        const reflector_meta& m = pl.reflectors[i];
        if (!m.resolved) {
            continue;
        }
        for (std::size_t u = 0; u < r.udp_ports.size(); ++u) {
            if (!c.receiver_ports.contains(r.udp_ports[u])) {
                continue;
            }
            auto a = std::find_if(r.addresses.begin(), r.addresses.end(), [&](const ip_address& x) {
                return control_may_use(cfg, c.listen, x);
            });
            if (a == r.addresses.end()) {
                continue;
            }
            rd.fail(pl.receiver_ports_line ? pl.receiver_ports_line : pl.control_line,
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
void check_listeners(reader& rd, const config& cfg, const positions& pl) {
    const auto& c = cfg.control;
    const auto& m = cfg.metrics;
    if (!c.enabled || !m.enabled || c.port != m.port) {
        return;
    }
    if (c.listen == m.address || c.listen.is_unspecified() || m.address.is_unspecified()) {
        rd.fail(pl.metrics_line ? pl.metrics_line : pl.control_line, "metrics.listen",
                "expected a TCP port other than control.port (" + std::to_string(c.port) +
                        ") on overlapping addresses, got " + quote(m.listen));
    }
}

void check_control_keys(reader& rd, const config& cfg, const positions& pl) {
    const auto& c = cfg.control;
    const uint32_t keyed = c.modes & (mode_authenticated | mode_encrypted | mode_mixed);
    if (!c.enabled || keyed == 0 || !cfg.keys_file.empty()) {
        return;
    }
    rd.fail(pl.control_modes_line ? pl.control_modes_line : pl.control_line, "control.modes",
            "modes " + modes_to_string(keyed) +
                    " need shared secrets: set the top-level keys (a key file of "
                    "identity<TAB>hex(secret) lines)");
}

} // namespace twamp::config::detail
