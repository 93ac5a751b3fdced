// The loader's readers: typed getters over libconfig's setting tree that report what is wrong
// with a value at its place (file:line, key path, what was expected, what the file has), and
// collect the errors instead of stopping at the first.
//
// A getter returns the value, or nullopt after recording the error; read_* getters leave their
// output (the default) untouched when the key is absent or wrong.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <libconfig.h++>

#include "source.hpp"

#include "twamp/config/config.hpp"

namespace twamp::config::detail {

using libconfig::Setting;

// A place in the text for errors found after the walk (duplicates, overlaps).
struct where {
    unsigned text_line = 0; // line in the combined text handed to libconfig
    std::string path;
};

// "a.b" from "a" and "b"; "b" from "" and "b".
std::string join(const std::string& path, std::string_view key);
// "a[3]"
std::string at_index(const std::string& path, int i);

bool valid_utf8(std::string_view s);
// A string as it would be written in the config, shortened for messages.
std::string quote(std::string_view s);

bool is_int(const Setting& s);
int64_t int_value(const Setting& s);
// "a string "x"", "an integer 5", "a list": what the file has where something else was due.
std::string describe(const Setting& s);

class reader {
public:
    explicit reader(const source& src) : src_(src) {}

    void fail(unsigned text_line, std::string path, std::string message);
    void fail(const Setting& s, std::string path, std::string message);
    void fail(const where& w, std::string message);

    // The errors in file order, at most max_errors of them (the rest summarized in the last).
    std::vector<error> take_errors();

    static where at(const Setting& s, std::string path) {
        return {s.getSourceLine(), std::move(path)};
    }
    static const Setting* member(const Setting& group, const char* key) {
        return group.exists(key) ? &group[key] : nullptr;
    }

    // Every member of `group` must be a key the table (twamp/config/keys.hpp) lists in
    // `table_group` ("" for the top, "ports[]", "control.receiver-ports"); the error for one
    // that is not names them in the table's order.
    void check_keys(const Setting& group, const std::string& path, std::string_view table_group);

    bool expect_group(const Setting& s, const std::string& path);
    // A ( { ... }, { ... } ) list (or an empty []), each element a group.
    bool list_of_groups(const Setting& s, const std::string& path);
    // A sequence of scalars: libconfig's [ ... ] array or ( ... ) list.
    bool sequence(const Setting& s, const std::string& path, std::string_view what);

    std::optional<int64_t> integer(const Setting& s, const std::string& path, int64_t lo,
                                   int64_t hi);
    std::optional<std::string> string(const Setting& s, const std::string& path,
                                      std::string_view expected);

    template<class T>
    void read_int(const Setting& group, const char* key, const std::string& path, T& out,
                  int64_t lo, int64_t hi) {
        if (auto* s = member(group, key)) {
            if (auto v = integer(*s, join(path, key), lo, hi)) {
                out = static_cast<T>(*v);
            }
        }
    }

    void read_bool(const Setting& group, const char* key, const std::string& path, bool& out);

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

    // Required key; reports its absence against the group.
    const Setting* required(const Setting& group, const char* key, const std::string& path,
                            std::string_view what);

    // A source prefix ("198.18.0.0/15"), host bits zero.
    std::optional<ip_prefix> prefix(const Setting& s, const std::string& path);
    // A sequence of prefixes, no duplicates.
    std::vector<ip_prefix> prefix_list(const Setting& s, const std::string& path);

private:
    const source& src_;
    std::vector<std::pair<unsigned, error>> errors_;
};

} // namespace twamp::config::detail
