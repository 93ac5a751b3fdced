// The `metrics` section: the Prometheus exporter's listener and constant labels.
#include <algorithm>
#include <cctype>
#include <iterator>

#include "sections.hpp"

namespace twamp::config::detail {

namespace {

bool valid_label_name(std::string_view s) {
    // Prometheus data model: [a-zA-Z_][a-zA-Z0-9_]*, names starting with __ reserved.
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])) || s.starts_with("__")) {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
}

bool listen_address(metrics_config& mc, std::string_view text) {
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
    mc.listen = net::endpoint_to_string(*a, mc.port);
    return true;
}

// The addresses a TWAMP-Control test session may be received on: the connection's local
// address (or a Receiver Address of the box's own on that port/VLAN). A listener on

void metrics(reader& rd, metrics_config& mc, const Setting& g, const std::string& path,
             positions& pl) {
    if (!rd.expect_group(g, path)) {
        return;
    }
    rd.check_keys(g, path, "metrics");
    rd.read_bool(g, "enabled", path, mc.enabled);
    if (auto* s = rd.member(g, "listen")) {
        static constexpr std::string_view expected =
                "\"address:port\" or \"[IPv6 address]:port\", e.g. \"127.0.0.1:9862\" or "
                "\"[::1]:9862\"";
        std::string l_path = join(path, "listen");
        if (auto text = rd.string(*s, l_path, expected)) {
            if (!listen_address(mc, *text)) {
                rd.fail(*s, l_path, "expected " + std::string(expected) + ", got " + quote(*text));
            }
        }
        pl.metrics_line = s->getSourceLine();
    }
    if (auto* s = rd.member(g, "labels")) {
        std::string l_path = join(path, "labels");
        if (rd.expect_group(*s, l_path)) {
            for (int i = 0; i < s->getLength(); ++i) {
                const Setting& v = (*s)[i];
                std::string name = v.getName() ? v.getName() : "";
                std::string n_path = join(l_path, name);
                if (!valid_label_name(name)) {
                    rd.fail(v, n_path,
                            "expected a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), got " +
                                    quote(name));
                    continue;
                }
                if (std::find(std::begin(reserved_label_names), std::end(reserved_label_names),
                              name) != std::end(reserved_label_names)) {
                    rd.fail(v, n_path,
                            "label " + quote(name) +
                                    " is set by the exporter itself; expected another name "
                                    "(reserved: reflector, port, reason, le, quantile)");
                    continue;
                }
                auto value = rd.string(v, n_path, "a label value string");
                if (!value) {
                    continue;
                }
                if (value->empty() || !valid_utf8(*value)) {
                    rd.fail(v, n_path,
                            "expected a non-empty UTF-8 label value, got " + quote(*value));
                    continue;
                }
                mc.labels.emplace_back(name, *value);
            }
        }
    }
}

} // namespace

void read_metrics(reader& rd, const Setting& root, metrics_config& mc, positions& pl) {
    if (auto* s = reader::member(root, "metrics")) {
        metrics(rd, mc, *s, "metrics", pl);
    } else {
        mc.enabled = false; // no metrics group: no exporter (issue 6)
    }
}

} // namespace twamp::config::detail
