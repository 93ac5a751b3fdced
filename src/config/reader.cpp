// The loader's readers: typed getters over libconfig's settings, errors with their places.
#include "reader.hpp"

#include <algorithm>
#include <sstream>

#include "twamp/config/keys.hpp"

namespace twamp::config::detail {

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

namespace {

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

} // namespace

void reader::fail(unsigned text_line, std::string path, std::string message) {
    detail::origin o = src_.at(text_line);
    error e;
    e.file = src_.files[o.file];
    e.line = o.line;
    e.path = std::move(path);
    e.message = std::move(message);
    errors_.push_back({text_line, std::move(e)});
}
void reader::fail(const Setting& s, std::string path, std::string message) {
    fail(s.getSourceLine(), std::move(path), std::move(message));
}
void reader::fail(const where& w, std::string message) {
    fail(w.text_line, w.path, std::move(message));
}

std::vector<error> reader::take_errors() {
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

void reader::check_keys(const Setting& group, const std::string& path,
                        std::string_view table_group) {
    std::vector<std::string_view> allowed;
    for (const auto& k : keys) {
        if (k.parent() == table_group) {
            allowed.push_back(k.name());
        }
    }
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

bool reader::expect_group(const Setting& s, const std::string& path) {
    if (s.isGroup()) {
        return true;
    }
    fail(s, path, "expected a group { ... }, got " + describe(s));
    return false;
}

bool reader::list_of_groups(const Setting& s, const std::string& path) {
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
bool reader::sequence(const Setting& s, const std::string& path, std::string_view what) {
    if (s.isArray() || s.isList()) {
        return true;
    }
    fail(s, path, "expected a list of " + std::string(what) + " [ ..., ... ], got " + describe(s));
    return false;
}

std::optional<int64_t> reader::integer(const Setting& s, const std::string& path, int64_t lo,
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

void reader::read_bool(const Setting& group, const char* key, const std::string& path, bool& out) {
    if (auto* s = member(group, key)) {
        if (s->getType() == Setting::TypeBoolean) {
            out = static_cast<bool>(*s);
        } else {
            fail(*s, join(path, key), "expected true or false, got " + describe(*s));
        }
    }
}

std::optional<std::string> reader::string(const Setting& s, const std::string& path,
                                          std::string_view expected) {
    if (s.getType() != Setting::TypeString) {
        fail(s, path, "expected " + std::string(expected) + ", got " + describe(s));
        return std::nullopt;
    }
    return std::string(static_cast<const char*>(s));
}

const Setting* reader::required(const Setting& group, const char* key, const std::string& path,
                                std::string_view what) {
    if (auto* s = member(group, key)) {
        return s;
    }
    fail(group, join(path, key), "required key missing: " + std::string(what));
    return nullptr;
}

std::optional<ip_prefix> reader::prefix(const Setting& s, const std::string& path) {
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
             "expected a prefix with the host bits zero, got " + quote(*text) + " (did you mean " +
                     quote(p->network().to_string()) + "?)");
        return std::nullopt;
    }
    return p;
}

std::vector<ip_prefix> reader::prefix_list(const Setting& s, const std::string& path) {
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

} // namespace twamp::config::detail
