// The `ports` section: wire ports, their VLANs, interface addresses, devices, hardware
// timestamps and exception (TAP) interfaces; then what must be unique across ports.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <map>
#include <tuple>

#include "sections.hpp"

namespace twamp::config::detail {

namespace {

// Linux dev_valid_name(): 1..15 octets (IFNAMSIZ - 1), not "." or "..", no '/', ':' or space.
bool valid_ifname(std::string_view s) {
    if (s.empty() || s.size() > 15 || s == "." || s == "..") {
        return false;
    }
    return std::none_of(s.begin(), s.end(), [](char c) {
        return c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) || c == '\0';
    });
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

std::vector<ip_prefix> interface_addresses(reader& rd, const Setting& s, const std::string& path,
                                           std::vector<where>& places) {
    static constexpr std::string_view expected =
            "an interface address \"address/length\" (this box's address and its subnet's "
            "prefix length), e.g. \"198.18.0.2/24\"";
    std::vector<ip_prefix> r;
    if (!rd.sequence(s, path, "interface addresses")) {
        return r;
    }
    for (int i = 0; i < s.getLength(); ++i) {
        std::string a_path = at_index(path, i);
        auto text = rd.string(s[i], a_path, expected);
        if (!text) {
            continue;
        }
        auto p = ip_prefix::parse(*text, false);
        if (!p) {
            rd.fail(s[i], a_path, "expected " + std::string(expected) + ", got " + quote(*text));
            continue;
        }
        if (auto problem = interface_address_problem(*p)) {
            rd.fail(s[i], a_path,
                    "expected " + std::string(expected) + ", got " + quote(*text) + ": " +
                            *problem);
            continue;
        }
        r.push_back(*p);
        places.push_back(rd.at(s[i], a_path));
    }
    return r;
}

void device(reader& rd, port_config& p, const Setting& s, const std::string& path) {
    static constexpr std::string_view expected = "a PCI address (\"0000:3b:00.0\") or vdev "
                                                 "devargs (\"net_af_packet0,iface=veth1\"), "
                                                 "optionally followed by \",key=value,...\"";
    auto text = rd.string(s, path, expected);
    if (!text) {
        return;
    }
    p.device = *text;
    auto comma = text->find(',');
    std::string_view name = std::string_view(*text).substr(0, comma);
    std::string_view args = comma == std::string::npos ? std::string_view{}
                                                       : std::string_view(*text).substr(comma + 1);
    bool space = std::any_of(text->begin(), text->end(),
                             [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
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
            rd.fail(s, path,
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
    rd.fail(s, path, "expected " + std::string(expected) + ", got " + quote(*text));
}

vlan_config vlan(reader& rd, const Setting& g, const std::string& path, vlan_meta& m) {
    vlan_config v;
    m.self = rd.at(g, path);
    if (!g.isGroup()) {
        return v;
    }
    rd.check_keys(g, path, "ports[].vlans[]");
    if (auto* s = rd.required(g, "id", path, "the VLAN ID, id = 1..4094;")) {
        if (auto id = rd.integer(*s, join(path, "id"), 1, 4094)) {
            v.id = static_cast<uint16_t>(*id);
        }
    }
    if (auto* s = rd.required(
                g, "addresses", path,
                "the VLAN's interface addresses, e.g. addresses = [ \"198.19.0.2/24\" ];")) {
        v.addresses = interface_addresses(rd, *s, join(path, "addresses"), m.addresses);
        if (s->getLength() == 0) {
            rd.fail(*s, join(path, "addresses"),
                    "expected at least one interface address (a VLAN without one can reflect "
                    "nothing)");
        }
    }
    return v;
}

// "network" or "broadcast" when `a` is that address of the IPv4 subnet `net` (which holds it);
// nullptr otherwise (IPv6, /31, /32).
const char* v4_network_or_broadcast(const ip_address& a, const ip_prefix& net) {
    if (!a.is_v4() || net.length > 30) {
        return nullptr;
    }
    const uint32_t host_mask = net.length == 0 ? 0xffffffffU : (0xffffffffU >> net.length);
    const uint32_t host = a.v4_host_order() & host_mask;
    return host == 0 ? "network" : host == host_mask ? "broadcast" : nullptr;
}

// ports[].exception.routes: each `to` a prefix (host bits zero), each `via` an address of the
// same family inside one of the port's subnets (untagged first, then the VLANs'), not one of
// the box's own; the VLAN that holds `via` is the route's device.
void routes(reader& rd, port_config& p, const Setting& s, const std::string& path, port_meta& m) {
    constexpr int max_routes = 64;
    if (!rd.list_of_groups(s, path)) {
        return;
    }
    if (s.getLength() > max_routes) {
        rd.fail(s, path,
                "expected at most " + std::to_string(max_routes) + " routes, got " +
                        std::to_string(s.getLength()));
        return;
    }
    for (int i = 0; i < s.getLength(); ++i) {
        const Setting& g = s[i];
        std::string r_path = at_index(path, i);
        rd.check_keys(g, r_path, "ports[].exception.routes[]");
        route_config r;
        bool ok = true;
        where to_at = rd.at(g, join(r_path, "to"));
        if (auto* t = rd.required(g, "to", r_path,
                                  "the destination, e.g. to = \"198.18.128.0/17\"; "
                                  "(\"0.0.0.0/0\" or \"::/0\": a default route)")) {
            static constexpr std::string_view expected =
                    "a destination prefix \"address/length\" with the host bits zero, e.g. "
                    "\"198.18.128.0/17\" or \"0.0.0.0/0\"";
            to_at = rd.at(*t, join(r_path, "to"));
            if (auto text = rd.string(*t, to_at.path, expected)) {
                auto pfx = ip_prefix::parse(*text, true);
                if (!pfx) {
                    rd.fail(*t, to_at.path,
                            "expected " + std::string(expected) + ", got " + quote(*text));
                    ok = false;
                } else if (!pfx->host_bits_zero()) {
                    rd.fail(*t, to_at.path,
                            "expected " + std::string(expected) + ", got " + quote(*text) +
                                    ": host bits set (did you mean " + pfx->network().to_string() +
                                    "?)");
                    ok = false;
                } else if (pfx->address.is_multicast() || pfx->address.is_loopback()) {
                    rd.fail(*t, to_at.path,
                            "expected " + std::string(expected) + ", got " + quote(*text) +
                                    ": a multicast or loopback range");
                    ok = false;
                } else {
                    r.to = *pfx;
                }
            } else {
                ok = false;
            }
        } else {
            ok = false;
        }
        if (auto* v = rd.required(g, "via", r_path,
                                  "the gateway, e.g. via = \"198.18.0.254\"; (an address "
                                  "in one of the port's subnets)")) {
            static constexpr std::string_view expected =
                    "a gateway address inside one of the port's (or its VLANs') subnets, e.g. "
                    "\"198.18.0.254\"";
            std::string v_path = join(r_path, "via");
            auto text = rd.string(*v, v_path, expected);
            auto a = text ? ip_address::parse(*text) : std::nullopt;
            if (text && !a) {
                rd.fail(*v, v_path, "expected " + std::string(expected) + ", got " + quote(*text));
            }
            if (!a) {
                ok = false;
            } else if (ok && a->family != r.to.address.family) {
                rd.fail(*v, v_path,
                        "expected an " + std::string(r.to.address.is_v4() ? "IPv4" : "IPv6") +
                                " gateway for " + r.to.to_string() + ", got " + quote(*text));
                ok = false;
            } else if (a->is_unspecified() || a->is_multicast() || a->is_loopback()) {
                rd.fail(*v, v_path,
                        "expected " + std::string(expected) + ", got " + quote(*text) +
                                ": not a unicast address");
                ok = false;
            } else {
                // Where the kernel can reach it: the subnet of one of the port's addresses.
                std::optional<uint16_t> vlan;
                std::optional<ip_prefix> subnet; // the one that holds it
                bool own = false;
                auto look = [&](const std::vector<ip_prefix>& list, uint16_t id) {
                    for (const auto& ia : list) {
                        if (ia.address == *a) {
                            own = true;
                        }
                        if (!vlan && ia.network().contains(*a)) {
                            vlan = id;
                            subnet = ia.network();
                        }
                    }
                };
                look(p.addresses, 0);
                for (const auto& vl : p.vlans) {
                    look(vl.addresses, vl.id);
                }
                if (own) {
                    rd.fail(*v, v_path,
                            "expected " + std::string(expected) + ", got " + quote(*text) +
                                    ": that is this box's own address");
                    ok = false;
                } else if (!vlan) {
                    std::string subnets;
                    auto add = [&](const std::vector<ip_prefix>& list) {
                        for (const auto& ia : list) {
                            if (ia.address.family == a->family) {
                                subnets += (subnets.empty() ? "" : ", ") + ia.network().to_string();
                            }
                        }
                    };
                    add(p.addresses);
                    for (const auto& vl : p.vlans) {
                        add(vl.addresses);
                    }
                    // fe80::/10 names no interface by itself (the TAP and each VLAN
                    // sub-interface have one of their own).
                    const bool link_local =
                            a->is_v6() && a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80;
                    rd.fail(*v, v_path,
                            "expected " + std::string(expected) + ", got " + quote(*text) +
                                    ": outside the port's " +
                                    (subnets.empty() ? std::string(a->is_v4() ? "IPv4" : "IPv6") +
                                                               " subnets (it has none)"
                                                     : "subnets (" + subnets + ")") +
                                    (link_local ? "; a link-local gateway is not taken: use the "
                                                  "router's address in the port's subnet"
                                                : ""));
                    ok = false;
                } else if (const char* what = v4_network_or_broadcast(*a, *subnet)) {
                    // The kernel refuses it as a gateway (/31 and /32 have neither: RFC 3021).
                    rd.fail(*v, v_path,
                            "expected " + std::string(expected) + ", got " + quote(*text) +
                                    ": the " + what + " address of " + subnet->to_string());
                    ok = false;
                } else {
                    r.via = *a;
                    r.vlan = *vlan;
                }
            }
        } else {
            ok = false;
        }
        if (ok) {
            p.exception.routes.push_back(r);
            m.routes.push_back(to_at);
        }
    }
}

port_config port(reader& rd, const Setting& g, const std::string& path,
                 std::vector<port_meta>& metas) {
    port_config p;
    port_meta m;
    m.self = rd.at(g, path);
    if (!g.isGroup()) {
        metas.push_back(std::move(m));
        return p;
    }
    rd.check_keys(g, path, "ports[]");
    p.name =
            read_name(rd, g, path, "the port's name, e.g. name = \"wire0\";", m.name, m.valid_name);
    if (auto* s = rd.required(g, "device", path,
                              "a PCI address (\"0000:3b:00.0\") or vdev devargs "
                              "(\"net_af_packet0,iface=veth1\")")) {
        m.device = rd.at(*s, join(path, "device"));
        device(rd, p, *s, m.device.path);
    }
    if (auto* s = rd.member(g, "addresses")) {
        p.addresses = interface_addresses(rd, *s, join(path, "addresses"), m.addresses);
    }
    if (auto* s = rd.member(g, "vlans")) {
        std::string v_path = join(path, "vlans");
        if (rd.list_of_groups(*s, v_path)) {
            for (int i = 0; i < s->getLength(); ++i) {
                vlan_meta vm;
                p.vlans.push_back(vlan(rd, (*s)[i], at_index(v_path, i), vm));
                m.vlans.push_back(std::move(vm));
            }
        }
    }
    rd.read_enum(g, "hw-timestamps", path, p.timestamps,
                 {{"auto", hw_timestamps::automatic},
                  {"on", hw_timestamps::on},
                  {"off", hw_timestamps::off}});
    if (auto* s = rd.member(g, "hw-clock")) {
        std::string c_path = join(path, "hw-clock");
        if (rd.expect_group(*s, c_path)) {
            rd.check_keys(*s, c_path, "ports[].hw-clock");
            hw_clock_config c;
            if (rd.required(*s, "unit", c_path, "unit = \"ns\" or \"us\"")) {
                rd.read_enum(*s, "unit", c_path, c.unit,
                             {{"ns", clock_unit::ns}, {"us", clock_unit::us}});
            }
            if (rd.required(*s, "epoch", c_path, "epoch = \"unix\" or \"tai\"")) {
                rd.read_enum(*s, "epoch", c_path, c.epoch,
                             {{"unix", clock_epoch::unix_time}, {"tai", clock_epoch::tai}});
            }
            p.hw_clock = c;
            if (p.timestamps == hw_timestamps::off) {
                rd.fail(*s, c_path,
                        "hw-clock describes the device clock, but hw-timestamps = \"off\" never "
                        "uses it; expected hw-timestamps = \"auto\" or \"on\", or no hw-clock");
            }
        }
    }
    rd.read_enum(g, "t3", path, p.t3,
                 {{"auto", t3_method::automatic},
                  {"scheduled", t3_method::scheduled},
                  {"device-clock", t3_method::device_clock},
                  {"software", t3_method::software}});
    if (p.timestamps == hw_timestamps::off &&
        (p.t3 == t3_method::scheduled || p.t3 == t3_method::device_clock)) {
        if (auto* s = rd.member(g, "t3")) {
            rd.fail(*s, join(path, "t3"),
                    "T3 from the device clock needs T2 from it too (one clock per reply), but "
                    "hw-timestamps = \"off\"; expected t3 = \"auto\" or \"software\", "
                    "or hw-timestamps = \"auto\" or \"on\"");
        }
    }
    rd.read_int(g, "t3-lead-ns", path, p.t3_lead_ns, 1000, 10'000'000);
    rd.read_enum(g, "tx-timestamps", path, p.tx_ts,
                 {{"auto", tx_timestamps::automatic}, {"off", tx_timestamps::off}});
    p.exception.iface = p.name;
    m.iface = m.name;
    if (auto* s = rd.member(g, "exception")) {
        std::string e_path = join(path, "exception");
        if (rd.expect_group(*s, e_path)) {
            rd.check_keys(*s, e_path, "ports[].exception");
            if (auto* i = rd.member(*s, "iface")) {
                m.iface = rd.at(*i, join(e_path, "iface"));
                p.exception.iface.clear();
                if (auto v = rd.string(*i, m.iface.path, "a Linux interface name")) {
                    p.exception.iface = *v;
                }
            }
            rd.read_int(*s, "rate-limit-pps", e_path, p.exception.rate_limit_pps, 0, 100'000'000);
            rd.read_int(*s, "control-rate-limit-pps", e_path, p.exception.control_rate_limit_pps, 0,
                        100'000'000);
            rd.read_int(*s, "neighbor-rate-limit-pps", e_path, p.exception.neighbor_rate_limit_pps,
                        0, 100'000'000);
            if (auto* r = rd.member(*s, "routes")) {
                routes(rd, p, *r, join(e_path, "routes"), m);
            }
        }
    }
    metas.push_back(std::move(m));
    return p;
}

void check_iface(reader& rd, const port_config& p, const port_meta& m,
                 std::map<std::string, const where*>& ifaces) {
    const std::string& iface = p.exception.iface;
    std::string path = join(m.self.path, "exception.iface");
    if (iface.empty()) {
        return; // wrong type, or no valid port name to default to: reported already
    }
    if (!valid_ifname(iface)) {
        rd.fail(m.iface.text_line, path,
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
            rd.fail(m.iface.text_line, path,
                    "expected an interface name short enough for its VLAN sub-interface " +
                            quote(n) + " to fit 15 characters, got " + quote(iface));
            continue;
        }
        auto [it, fresh] = ifaces.emplace(n, &m.iface);
        if (!fresh) {
            rd.fail(m.iface.text_line, path,
                    "kernel interface " + quote(n) + " is already used by " + it->second->path);
        }
    }
}

// "the subnet 198.18.0.0/24 of ports[0].addresses[0]" when `to` lies inside the subnet of
// one of the box's interface addresses (any port, any VLAN), else nullopt.
std::optional<std::string> connected_subnet_holding(const config& cfg,
                                                    const std::vector<port_meta>& metas,
                                                    const ip_prefix& to) {
    for (std::size_t i = 0; i < cfg.ports.size(); ++i) {
        auto look = [&](const std::vector<ip_prefix>& list,
                        const std::vector<where>& places) -> std::optional<std::string> {
            for (std::size_t k = 0; k < list.size() && k < places.size(); ++k) {
                const ip_prefix net = list[k].network();
                if (net.address.family == to.address.family && net.contains(to)) {
                    return "the subnet " + net.to_string() + " of " + places[k].path;
                }
            }
            return std::nullopt;
        };
        if (auto r = look(cfg.ports[i].addresses, metas[i].addresses)) {
            return r;
        }
        for (std::size_t v = 0; v < cfg.ports[i].vlans.size() && v < metas[i].vlans.size(); ++v) {
            if (auto r = look(cfg.ports[i].vlans[v].addresses, metas[i].vlans[v].addresses)) {
                return r;
            }
        }
    }
    return std::nullopt;
}

// Uniqueness across ports: names, devices, kernel interfaces, VLAN IDs and addresses.
void check_ports(reader& rd, const config& cfg, const std::vector<port_meta>& metas) {
    std::map<std::string, const where*> names;
    std::map<std::string, const where*> devices;
    std::map<std::string, const where*> ifaces;
    std::map<std::pair<ip_family, std::array<uint8_t, 16>>, const where*> addresses;
    std::map<std::tuple<ip_family, std::array<uint8_t, 16>, uint8_t>, const where*> routed;
    for (std::size_t i = 0; i < cfg.ports.size(); ++i) {
        const port_config& p = cfg.ports[i];
        const port_meta& m = metas[i];
        if (m.valid_name) {
            unique_name(rd, names, p.name, m.name, "port");
        }
        if (!p.device_name.empty()) {
            auto [it, fresh] = devices.emplace(p.device_name, &m.device);
            if (!fresh) {
                rd.fail(m.device, "device " + quote(p.device_name) + " is already used by " +
                                          it->second->path);
            }
        }
        check_iface(rd, p, m, ifaces);
        auto add_addresses = [&](const std::vector<ip_prefix>& list,
                                 const std::vector<where>& places) {
            for (std::size_t k = 0; k < list.size(); ++k) {
                const ip_address& a = list[k].address;
                auto [same, fresh] = addresses.emplace(std::pair{a.family, a.bytes}, &places[k]);
                if (!fresh) {
                    // One network namespace holds every TAP: an address on two of them
                    // would make the kernel answer ARP/ND for it on both.
                    rd.fail(places[k], "address " + a.to_string() + " is already assigned at " +
                                               same->second->path);
                }
            }
        };
        add_addresses(p.addresses, m.addresses);
        // One network namespace holds every TAP, and so one main routing table: a destination
        // routed twice (on two ports, or twice on one) would have the second `ip route
        // replace` silently take the first's place.
        for (std::size_t k = 0; k < p.exception.routes.size(); ++k) {
            const ip_prefix& to = p.exception.routes[k].to;
            auto [same, fresh] = routed.emplace(
                    std::tuple{to.address.family, to.address.bytes, to.length}, &m.routes[k]);
            if (!fresh) {
                rd.fail(m.routes[k], "destination " + to.to_string() + " is already routed at " +
                                             same->second->path);
                continue;
            }
            // Inside a subnet some TAP is on: `ip route replace` would take the place of the
            // kernel's own on-link route (or shadow part of it) and cut that subnet off.
            if (auto on_link = connected_subnet_holding(cfg, metas, to)) {
                rd.fail(m.routes[k], "destination " + to.to_string() + " is on-link: inside " +
                                             *on_link + "; route only what lies beyond the " +
                                             "box's own subnets");
            }
        }
        std::map<uint16_t, const where*> ids;
        for (std::size_t k = 0; k < p.vlans.size(); ++k) {
            const vlan_meta& vm = m.vlans[k];
            if (p.vlans[k].id != 0) {
                auto [it, fresh] = ids.emplace(p.vlans[k].id, &vm.self);
                if (!fresh) {
                    rd.fail(vm.self, "duplicate VLAN " + std::to_string(p.vlans[k].id) +
                                             ", already at " + it->second->path);
                }
            }
            add_addresses(p.vlans[k].addresses, vm.addresses);
        }
    }
}

} // namespace

void read_ports(reader& rd, const Setting& root, config& cfg, positions& pl) {
    if (auto* s = reader::member(root, "ports")) {
        if (rd.list_of_groups(*s, "ports")) {
            for (int i = 0; i < s->getLength(); ++i) {
                cfg.ports.push_back(port(rd, (*s)[i], at_index("ports", i), pl.ports));
            }
            if (s->getLength() == 0) {
                rd.fail(*s, "ports", "expected at least one port");
            }
        }
    } else {
        rd.fail(root, "ports", "required key missing: a list of ports ( { name = ...; } )");
    }
    check_ports(rd, cfg, pl.ports);
}

} // namespace twamp::config::detail
