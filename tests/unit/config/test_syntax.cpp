// The layer under the validation: libconfig syntax errors, integer literals (libconfig 1.5
// truncates them silently), comments and strings left alone, @include with file:line.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gtest/gtest.h>

#include "helpers.hpp"

#include "twamp/config/config.hpp"

using namespace twamp::config;
using twamp::config::test::has_error;
using twamp::config::test::load_ok;
using twamp::config::test::with_port;

namespace {

std::string reflector_with(const std::string& key_value) {
    return with_port("reflectors = ( { name = \"r\"; port = \"wire0\"; prefixes = []; " +
                     key_value + " } );\n");
}

// A scratch directory for @include tests, removed afterwards.
class include_files : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/twamp-config-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string write(const std::string& name, const std::string& text) {
        std::string path = dir_ + "/" + name;
        std::ofstream(path) << text;
        return path;
    }
    std::string dir_;
};

} // namespace

TEST(syntax, error_names_line_and_shows_it) {
    load_result r = load_string(
            "ports = (\n  { name = \"p\"; device = \"net_ring0\";\n   addresses = [ , ]; } );\n");
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.errors.size(), 1U);
    EXPECT_EQ(r.errors[0].line, 3U);
    EXPECT_EQ(r.errors[0].file, "<string>");
    EXPECT_EQ(to_string(r.errors[0]),
              "<string>:3: syntax error (libconfig) in: \"addresses = [ , ]; } );\"");
}

TEST(syntax, duplicate_key_in_a_group) {
    EXPECT_TRUE(has_error(with_port("metrics = {\n  enabled = true;\n  enabled = false;\n};\n"), 4,
                          "", {"duplicate setting name"}));
}

TEST(syntax, load_string_name_appears_in_errors) {
    load_result r = load_string("ports = 1;", "inline.conf");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(to_string(r.errors[0]).rfind("inline.conf:1: ports: ", 0), 0U) << to_string(r.errors);
}

// libconfig 1.5 reads 4294968158 (2^32 + 862) as 862 and 99999999999 as 1215752191: each must be
// reported as what the file says, and refused.
TEST(syntax, integers_too_large_for_32_bits_are_not_truncated) {
    EXPECT_TRUE(has_error(reflector_with("udp-ports = [ 4294968158 ];"), 2,
                          "reflectors[0].udp-ports[0]",
                          {"expected an integer in 1..65535, got 4294968158"}));
    EXPECT_TRUE(has_error(reflector_with("max-sessions = 99999999999;"), 2,
                          "reflectors[0].max-sessions", {"got 99999999999"}));
    EXPECT_TRUE(has_error(reflector_with("max-sessions = 0xFFFFFFFF;"), 2,
                          "reflectors[0].max-sessions", {"got 4294967295"}));
    // Past 64 bits: clamped, still refused.
    EXPECT_TRUE(has_error(reflector_with("max-sessions = 123456789012345678901234567890;"), 2,
                          "reflectors[0].max-sessions", {"got 9223372036854775807"}));
    EXPECT_TRUE(has_error(reflector_with("inactivity-timeout = -4294967196;"), 2,
                          "reflectors[0].inactivity-timeout", {"got -4294967196"}));
    // In an array next to small numbers (libconfig would refuse int and int64 side by side).
    EXPECT_TRUE(has_error(reflector_with("udp-ports = [ 862, 4294968158 ];"), 2,
                          "reflectors[0].udp-ports[1]", {"got 4294968158"}));
}

TEST(syntax, integer_forms) {
    auto c = load_ok(
            reflector_with("udp-ports = [ 0x35e, +863, 864L, 865LL ]; max-sessions = 0x10;"));
    ASSERT_EQ(c.reflectors.size(), 1U);
    EXPECT_EQ(c.reflectors[0].udp_ports, (std::vector<uint16_t>{862, 863, 864, 865}));
    EXPECT_EQ(c.reflectors[0].max_sessions, 16U);
}

TEST(syntax, float_is_not_an_integer) {
    EXPECT_TRUE(has_error(reflector_with("inactivity-timeout = 1.5;"), 2,
                          "reflectors[0].inactivity-timeout", {"got a floating-point number 1.5"}));
    EXPECT_TRUE(has_error(reflector_with("inactivity-timeout = 1e3;"), 2,
                          "reflectors[0].inactivity-timeout", {"floating-point"}));
}

// Digits inside names, strings and comments are not numbers.
TEST(syntax, names_strings_and_comments_untouched) {
    auto c = load_ok(R"(# 4294968158 in a comment
// 0x10 here too
/* and 99999999999
   over two lines */
ports = ( { name = "p1-2_3"; device = "0000:3b:00.0"; addresses = [ "198.18.0.2/24" ];
            exception = { iface = "tap0x10"; }; } );
metrics = { labels = { a1 = "12345678901"; b2c = "0x10"; }; };
)");
    ASSERT_EQ(c.ports.size(), 1U);
    EXPECT_EQ(c.ports[0].name, "p1-2_3");
    EXPECT_EQ(c.ports[0].device, "0000:3b:00.0");
    EXPECT_EQ(c.ports[0].exception.iface, "tap0x10");
    using label = std::pair<std::string, std::string>;
    EXPECT_EQ(c.metrics.labels, (std::vector{label{"a1", "12345678901"}, label{"b2c", "0x10"}}));
}

TEST(syntax, lines_after_multiline_comments_and_strings_are_exact) {
    EXPECT_TRUE(has_error(R"(/*
  a comment
*/ ports = ( { name = "p"; device = "net_ring0";
   exception = { iface = "a\"
b"; }; } );
reflectors = 3;
)",
                          6, "reflectors", {"expected a list of groups"}));
}

// The loader finds syntax errors on the text with its strings replaced (source.hpp
// without_strings: libconfig 1.5 leaks a string token a syntax error stops at). What libconfig
// takes must still load: strings concatenated across blanks and comments, a string right
// before a name.
TEST(syntax, strings_next_to_other_tokens) {
    auto c = load_ok(R"(ports = ( { name = "wi" /* c */ "re" # c
"0"; device = "net_ring0"; addresses = [ "198.18." )"
                     "\f\"0.2/24\"\r ]; } );\n"
                     R"(metrics = { labels = { q = "x"L = "y"; }; };
)");
    ASSERT_EQ(c.ports.size(), 1U);
    EXPECT_EQ(c.ports[0].name, "wire0");
    ASSERT_EQ(c.ports[0].addresses.size(), 1U);
    EXPECT_EQ(c.ports[0].addresses[0].to_string(), "198.18.0.2/24");
    using label = std::pair<std::string, std::string>;
    EXPECT_EQ(c.metrics.labels, (std::vector{label{"q", "x"}, label{"L", "y"}}));
}

// A syntax error at a string (the token libconfig would leak) and after one: libconfig's
// message and line (a string over lines: the line it ends on, as libconfig counts).
TEST(syntax, syntax_errors_at_and_after_strings) {
    load_result r = load_string("ports = (\n  { name \"p\n\"; } );\n");
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.errors.size(), 1U);
    EXPECT_EQ(to_string(r.errors[0]), "<string>:3: syntax error (libconfig) in: \"\\\"; } );\"");
    EXPECT_TRUE(has_error(with_port("metrics = { listen = \"a\" \"b\" 3; };\n"), 2, "",
                          {"syntax error (libconfig)"}));
    // Mixed types in an array: libconfig's own check, on the real text.
    EXPECT_TRUE(has_error(with_port("metrics = { x = [ \"a\", 1 ]; };\n"), 2, "",
                          {"mismatched element type in array"}));
}

TEST(syntax, string_escapes) {
    auto c = load_ok(with_port(R"(metrics = { labels = { q = "a\"b\\c\x41"; }; };)"));
    ASSERT_EQ(c.metrics.labels.size(), 1U);
    EXPECT_EQ(c.metrics.labels[0].second, "a\"b\\cA");
}

TEST(syntax, unterminated_comment_and_string) {
    EXPECT_TRUE(has_error(with_port("metrics = {};\n/* not closed\n"), 3, "",
                          {"unterminated /* comment"}));
    EXPECT_TRUE(has_error(with_port("metrics = { listen = \"x;\n};\n"), 2, "",
                          {"unterminated string"}));
}

// libconfig stops at a NUL (it reads a C string): the rest of the file must not be ignored.
TEST(syntax, nul_byte_is_an_error) {
    std::string text = with_port("metrics = { enabled = true; };\n");
    text += "reflectors = ( { name = \"r\"; port = \"wire0\"; prefixes = []; } );";
    text += '\0';
    text += "\n";
    EXPECT_TRUE(has_error(text, 3, "", {"NUL byte"}));
}

TEST(syntax, include_refused_in_strings) {
    EXPECT_TRUE(has_error(with_port("@include \"/etc/passwd\"\n"), 2, "", {"not allowed"}));
}

TEST_F(include_files, include_resolves_relative_and_maps_lines) {
    write("ports.conf", std::string(twamp::config::test::one_port));
    write("refl.conf", "# reflectors\n\nreflectors = (\n  { name = \"r\"; port = \"wire0\";\n"
                       "    udp-ports = [ 0 ]; prefixes = []; }\n);\n");
    std::string main =
            write("main.conf", "# main\n@include \"ports.conf\"\n  @include \"refl.conf\"\n"
                               "metrics = { bogus = 1; };\n");
    load_result r = load_file(main);
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.errors.size(), 2U) << to_string(r.errors);
    // The error inside the included file names that file and its own line.
    EXPECT_EQ(to_string(r.errors[0]), dir_ + "/refl.conf:5: reflectors[0].udp-ports[0]: expected "
                                             "an integer in 1..65535, got 0");
    // Lines of the including file after the includes are still its own.
    EXPECT_EQ(r.errors[1].file, main);
    EXPECT_EQ(r.errors[1].line, 4U);
    EXPECT_EQ(r.errors[1].path, "metrics.bogus");
}

TEST_F(include_files, include_valid) {
    write("ports.conf", std::string(twamp::config::test::one_port));
    std::string main = write("main.conf", "@include \"ports.conf\"\nreflectors = ( { name = \"r\"; "
                                          "port = \"wire0\"; prefixes = []; } );\n");
    load_result r = load_file(main);
    ASSERT_TRUE(r.ok()) << to_string(r.errors);
    EXPECT_EQ(r.cfg->reflectors.size(), 1U);
}

TEST_F(include_files, include_missing_and_cyclic) {
    std::string main = write("main.conf", "\n@include \"nope.conf\"\n");
    load_result r = load_file(main);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.errors[0].line, 2U);
    EXPECT_NE(r.errors[0].message.find("cannot open " + dir_ + "/nope.conf: No such file"),
              std::string::npos)
            << to_string(r.errors);
    std::string loop = write("loop.conf", "@include \"loop.conf\"\n");
    load_result l = load_file(loop);
    ASSERT_FALSE(l.ok());
    EXPECT_NE(to_string(l.errors).find("nested deeper than 10"), std::string::npos)
            << to_string(l.errors);
}
