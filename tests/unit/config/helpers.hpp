// Helpers for the config tests: load text, look for one precise error.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "twamp/config/config.hpp"

namespace twamp::config::test {

// One untagged port, enough for reflectors to refer to. One line: what tests append starts at
// line 2.
inline constexpr std::string_view one_port =
        R"(ports = ( { name = "wire0"; device = "net_ring0"; addresses = [ "198.18.0.2/24", "2001:2::2/64" ]; vlans = ( { id = 100; addresses = [ "198.19.0.2/24" ]; } ); } );
)";

// Success expected: the config, or a test failure listing the errors.
inline config load_ok(std::string_view text) {
    load_result r = load_string(text);
    EXPECT_TRUE(r.ok()) << to_string(r.errors);
    EXPECT_EQ(r.ok(), r.cfg.has_value());
    return r.cfg ? *r.cfg : config{};
}

// The error printed for `r` must contain an error that reads "<string>:LINE: PATH: ..." (or
// "<string>: PATH: ..." for line 0) with every fragment in its message.
inline ::testing::AssertionResult
has_error(const load_result& r, unsigned line, std::string_view path,
          std::initializer_list<std::string_view> fragments = {}) {
    if (r.ok() || r.cfg) {
        return ::testing::AssertionFailure() << "loaded without errors";
    }
    std::string prefix = "<string>" + (line ? ":" + std::to_string(line) : std::string()) + ": " +
                         (path.empty() ? std::string() : std::string(path) + ": ");
    for (const auto& e : r.errors) {
        std::string text = to_string(e);
        if (text.rfind(prefix, 0) != 0) {
            continue;
        }
        bool all = true;
        for (auto f : fragments) {
            all = all && text.find(f) != std::string::npos;
        }
        if (all) {
            return ::testing::AssertionSuccess();
        }
    }
    auto fail = ::testing::AssertionFailure() << "no error starting with \"" << prefix << "\"";
    for (auto f : fragments) {
        fail << " containing \"" << f << "\"";
    }
    return fail << "; errors:\n" << to_string(r.errors);
}

inline ::testing::AssertionResult
has_error(std::string_view text, unsigned line, std::string_view path,
          std::initializer_list<std::string_view> fragments = {}) {
    return has_error(load_string(text), line, path, fragments);
}

inline std::string with_port(std::string_view rest) {
    return std::string(one_port) + std::string(rest);
}

} // namespace twamp::config::test
