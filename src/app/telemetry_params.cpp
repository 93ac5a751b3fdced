#include "telemetry_params.hpp"

#include <charconv>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace twamp::app {

namespace {

using kv_list = std::vector<std::pair<std::string, std::string>>;

bool split(const char* params, kv_list& kv, std::initializer_list<std::string_view> known) {
    if (!params) {
        return true;
    }
    std::string_view p(params);
    if (p.size() > 512) {
        return false;
    }
    while (!p.empty()) {
        const std::size_t comma = p.find(',');
        const std::string_view item = p.substr(0, comma);
        p = comma == std::string_view::npos ? std::string_view{} : p.substr(comma + 1);
        if (item.empty()) {
            continue;
        }
        const std::size_t eq = item.find('=');
        if (eq == std::string_view::npos || eq == 0) {
            return false;
        }
        std::string key(item.substr(0, eq)), value(item.substr(eq + 1));
        bool ok = false;
        for (auto k : known) {
            ok |= k == key;
        }
        for (const auto& e : kv) {
            ok &= e.first != key;
        }
        if (!ok) {
            return false;
        }
        kv.emplace_back(std::move(key), std::move(value));
    }
    return true;
}

// A decimal number up to `max`, nothing else (no sign, no spaces, no trailing text).
bool parse_u64(std::string_view t, uint64_t max, uint64_t& v) {
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v, 10);
    return ec == std::errc{} && p == t.data() + t.size() && v <= max;
}

bool parse_hex(std::string_view t, uint8_t* out, std::size_t n) {
    if (t.size() != 2 * n) {
        return false;
    }
    for (std::size_t i = 0; i < 2 * n; ++i) {
        const char c = t[i];
        unsigned h;
        if (c >= '0' && c <= '9') {
            h = static_cast<unsigned>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            h = static_cast<unsigned>(c - 'a' + 10);
        } else {
            return false;
        }
        out[i / 2] = static_cast<uint8_t>(i % 2 ? (out[i / 2] << 4) | h : h);
    }
    return true;
}

bool parse_cursor(std::string_view t, unsigned workers, session_list_params& o) {
    const std::size_t c1 = t.find(':');
    uint64_t w = 0;
    if (!parse_u64(t.substr(0, c1), UINT32_MAX, w) || w >= workers) {
        return false;
    }
    o.worker = static_cast<unsigned>(w);
    o.has_after = c1 != std::string_view::npos;
    if (!o.has_after) {
        return true;
    }
    const std::string_view rest = t.substr(c1 + 1);
    if (rest.size() != 16 + 1 + 80 || rest[16] != ':') {
        return false;
    }
    uint8_t ob[8];
    if (!parse_hex(rest.substr(0, 16), ob, 8)) {
        return false;
    }
    o.after_order = 0;
    for (uint8_t b : ob) {
        o.after_order = o.after_order << 8 | b;
    }
    return parse_hex(rest.substr(17), o.after_key.data(), o.after_key.size());
}

} // namespace

std::string to_hex(const uint8_t* p, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string r;
    r.reserve(2 * n);
    for (std::size_t i = 0; i < n; ++i) {
        r += digits[p[i] >> 4];
        r += digits[p[i] & 15];
    }
    return r;
}

std::string session_cursor(unsigned w, uint64_t order, const uint8_t* key) {
    uint8_t ob[8];
    for (int i = 7; i >= 0; --i) {
        ob[i] = static_cast<uint8_t>(order);
        order >>= 8;
    }
    return std::to_string(w) + ":" + to_hex(ob, 8) + ":" + to_hex(key, 40);
}

bool parse_session_list_params(const char* params, unsigned workers, unsigned page_max,
                               session_list_params& out) {
    kv_list kv;
    if (!split(params, kv, {"cursor", "reflector", "source", "port", "ssid", "page"})) {
        return false;
    }
    session_list_params o;
    for (const auto& [k, v] : kv) {
        uint64_t n = 0;
        if (k == "cursor") {
            if (!v.empty() && !parse_cursor(v, workers, o)) {
                return false;
            }
        } else if (k == "reflector") {
            if (v.empty()) {
                return false;
            }
            o.reflector = v;
        } else if (k == "source") {
            auto p = net::prefix::parse(v, true);
            if (!p) {
                return false;
            }
            o.source = p->network();
        } else if (k == "port") {
            if (!parse_u64(v, 65535, n) || n == 0) {
                return false;
            }
            o.port = static_cast<uint32_t>(n);
        } else if (k == "ssid") {
            if (!parse_u64(v, 65535, n)) {
                return false;
            }
            o.ssid = static_cast<uint32_t>(n);
        } else if (k == "page") {
            if (!parse_u64(v, page_max, n) || n == 0) {
                return false;
            }
            o.page = static_cast<unsigned>(n);
        }
    }
    out = std::move(o);
    return true;
}

bool parse_control_list_params(const char* params, control_list_params& out) {
    kv_list kv;
    if (!split(params, kv, {"cursor"})) {
        return false;
    }
    control_list_params o;
    for (const auto& [k, v] : kv) {
        const std::string_view t(v);
        if (t.empty()) {
            continue;
        }
        if (t.substr(0, 2) == "c:" && parse_u64(t.substr(2), UINT64_MAX, o.after_id)) {
            continue;
        }
        if (t == "s") {
            o.in_sessions = true;
            continue;
        }
        if (t.substr(0, 2) == "s:" &&
            parse_hex(t.substr(2), o.after_sid.data(), o.after_sid.size())) {
            o.in_sessions = o.has_sid = true;
            continue;
        }
        return false;
    }
    out = o;
    return true;
}

} // namespace twamp::app
