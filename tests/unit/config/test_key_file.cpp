// The top-level `keys` (conf/twamp.conf): the key file is read with the config, so a bad or
// exposed file fails the load like any other bad key, and diff() sees a changed file without
// ever printing a secret.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "helpers.hpp"

#include "twamp/config/config.hpp"

using namespace twamp::config;
using twamp::config::test::has_error;
using twamp::config::test::load_ok;
using twamp::config::test::with_port;

namespace {

class key_file : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("twamp-keys-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& text, mode_t mode) {
        auto p = dir_ / name;
        std::ofstream(p) << text;
        ::chmod(p.c_str(), mode);
        return p.string();
    }

    std::filesystem::path dir_;
};

TEST_F(key_file, absent_means_no_keys) {
    auto cfg = load_ok(with_port(""));
    EXPECT_TRUE(cfg.keys_file.empty());
    EXPECT_EQ(cfg.keys.size(), 0u);
}

TEST_F(key_file, loads_the_secrets) {
    auto path = write("keys.pfs", "alice\t736563726574\nbob 6b6579\n", 0600);
    auto cfg = load_ok(with_port("keys = \"" + path + "\";\n"));
    EXPECT_EQ(cfg.keys_file, path);
    ASSERT_EQ(cfg.keys.size(), 2u);
    ASSERT_NE(cfg.keys.find("alice"), nullptr);
    EXPECT_EQ(cfg.keys.find("alice")->secret, (std::vector<uint8_t>{'s', 'e', 'c', 'r', 'e', 't'}));
    EXPECT_EQ(cfg.keys.find("bob")->secret, (std::vector<uint8_t>{'k', 'e', 'y'}));
}

// Issue 17: control.modes may offer the security modes once `keys` is set; the derivation's
// Count and limit are read.
TEST_F(key_file, the_security_modes_need_it_and_are_served_with_it) {
    auto path = write("keys.pfs", "alice\t736563726574\n", 0600);
    auto cfg = load_ok(with_port("keys = \"" + path +
                                 "\";\ncontrol = { prefixes = [ \"198.18.0.0/15\" ]; modes = [ "
                                 "\"authenticated\", \"encrypted\", \"mixed\" ]; kdf-count = "
                                 "4096; max-key-derivations = 7; };\n"));
    EXPECT_EQ(cfg.control.modes, mode_authenticated | mode_encrypted | mode_mixed);
    EXPECT_EQ(cfg.control.kdf_count, 4096U);
    EXPECT_EQ(cfg.control.max_key_derivations, 7U);
    auto plain = load_ok(with_port("control = { prefixes = [ \"198.18.0.0/15\" ]; };\n"));
    EXPECT_EQ(plain.control.kdf_count, 2048U) << "default";
    EXPECT_EQ(plain.control.max_key_derivations, 100U) << "default";
    EXPECT_TRUE(has_error(with_port("control = { prefixes = [ \"198.18.0.0/15\" ]; modes = [ "
                                    "\"encrypted\" ]; };\n"),
                          2, "control.modes", {"need shared secrets"}));
}

TEST_F(key_file, a_file_others_may_read_fails_the_load) {
    auto path = write("keys.pfs", "alice\t736563726574\n", 0644);
    EXPECT_TRUE(has_error(with_port("keys = \"" + path + "\";\n"), 2, "keys", {path}));
}

TEST_F(key_file, a_missing_file_fails_the_load) {
    auto path = (dir_ / "nope.pfs").string();
    EXPECT_TRUE(has_error(with_port("keys = \"" + path + "\";\n"), 2, "keys", {path}));
}

TEST_F(key_file, a_bad_line_is_named_by_number_never_by_secret) {
    auto path = write("keys.pfs", "alice\t736563726574\nbob\t6b65790\n", 0600);
    auto r = load_string(with_port("keys = \"" + path + "\";\n"));
    EXPECT_TRUE(has_error(r, 2, "keys", {"line 2"}));
    EXPECT_EQ(to_string(r.errors).find("6b65790"), std::string::npos) << to_string(r.errors);
}

TEST_F(key_file, an_empty_path_or_a_number_is_an_error) {
    EXPECT_TRUE(has_error(with_port("keys = \"\";\n"), 2, "keys"));
    EXPECT_TRUE(has_error(with_port("keys = 5;\n"), 2, "keys"));
}

TEST_F(key_file, a_relative_path_is_taken_from_the_config_files_directory) {
    write("keys.pfs", "alice\t736563726574\n", 0600);
    auto conf = write("twamp.conf", with_port("keys = \"keys.pfs\";\n"), 0600);
    auto r = load_file(conf);
    ASSERT_TRUE(r.ok()) << to_string(r.errors);
    EXPECT_EQ(r.cfg->keys.size(), 1u);
    EXPECT_EQ(r.cfg->keys_file, "keys.pfs");
}

TEST_F(key_file, diff_says_the_file_changed_but_never_its_secrets) {
    auto path = write("keys.pfs", "alice\t736563726574\n", 0600);
    auto a = load_ok(with_port("keys = \"" + path + "\";\n"));
    write("keys.pfs", "alice\t68756e74657232\nbob\t6b6579\n", 0600);
    auto b = load_ok(with_port("keys = \"" + path + "\";\n"));
    auto changes = diff(a, b);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].path, "keys");
    EXPECT_TRUE(changes[0].reloadable);
    EXPECT_NE(changes[0].from.find("1 key"), std::string::npos) << changes[0].from;
    EXPECT_NE(changes[0].to.find("(2 keys), contents changed"), std::string::npos) << changes[0].to;
    for (const auto& c : changes) {
        auto text = to_string(c);
        EXPECT_EQ(text.find("68756e74657232"), std::string::npos) << text;
        EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
        EXPECT_EQ(text.find("736563726574"), std::string::npos) << text;
    }
    EXPECT_FALSE(needs_restart(changes));
    EXPECT_TRUE(diff(a, a).empty());
    auto none = load_ok(with_port(""));
    auto added = diff(none, a);
    ASSERT_EQ(added.size(), 1u);
    EXPECT_EQ(added[0].from, "none");
}

} // namespace

// Issue 17: STAMP reflectors' keys (reflectors[].authentication, key-id, ssid-keys) name KeyIDs
// of this file; TWAMP Light has none.
TEST_F(key_file, stamp_reflector_keys_resolve_against_the_file) {
    auto path = write("keys.pfs", "alice\t736563726574\nbob 6b6579\n", 0600);
    const std::string keys = "keys = \"" + path + "\";\n";
    auto cfg = load_ok(with_port(keys + "reflectors = ( { name = \"s\"; port = \"wire0\"; "
                                        "mode = \"stamp\"; prefixes = [ ]; authentication = "
                                        "\"authenticated\"; key-id = \"alice\"; ssid-keys = ( { "
                                        "ssid = 9; key-id = \"bob\"; }, { ssid = 3; key-id = "
                                        "\"alice\"; } ); } );\n"));
    ASSERT_EQ(cfg.reflectors.size(), 1u);
    const auto& r = cfg.reflectors[0];
    EXPECT_TRUE(r.authenticated);
    EXPECT_EQ(r.key_id, "alice");
    ASSERT_EQ(r.ssid_keys.size(), 2u);
    EXPECT_EQ(r.ssid_keys[0].ssid, 3); // sorted
    EXPECT_EQ(r.ssid_keys[1].key_id, "bob");
    // An unknown KeyID, one with no key file at all, a duplicate SSID.
    EXPECT_TRUE(has_error(with_port(keys + "reflectors = ( { name = \"s\"; port = \"wire0\"; "
                                           "mode = \"stamp\"; prefixes = [ ]; key-id = "
                                           "\"carol\"; } );\n"),
                          3, "reflectors[0].key-id", {"carol"}));
    EXPECT_TRUE(has_error(with_port("reflectors = ( { name = \"s\"; port = \"wire0\"; mode = "
                                    "\"stamp\"; prefixes = [ ]; key-id = \"alice\"; } );\n"),
                          2, "reflectors[0].key-id", {"no `keys` file"}));
    EXPECT_TRUE(has_error(with_port(keys + "reflectors = ( { name = \"s\"; port = \"wire0\"; "
                                           "mode = \"stamp\"; prefixes = [ ]; ssid-keys = ( { "
                                           "ssid = 1; key-id = \"bob\"; }, { ssid = 1; key-id = "
                                           "\"alice\"; } ); } );\n"),
                          3, "reflectors[0].ssid-keys[1].ssid", {"duplicate SSID 1"}));
    // Authenticated without a key; keys on a TWAMP Light reflector.
    EXPECT_TRUE(has_error(with_port(keys + "reflectors = ( { name = \"s\"; port = \"wire0\"; "
                                           "mode = \"stamp\"; prefixes = [ ]; authentication = "
                                           "\"authenticated\"; } );\n"),
                          3, "reflectors[0].authentication", {"needs a key"}));
    EXPECT_TRUE(has_error(with_port(keys + "reflectors = ( { name = \"s\"; port = \"wire0\"; "
                                           "prefixes = [ ]; key-id = \"alice\"; } );\n"),
                          3, "reflectors[0].key-id", {"only a STAMP reflector"}));
    EXPECT_TRUE(has_error(with_port(keys + "reflectors = ( { name = \"s\"; port = \"wire0\"; "
                                           "prefixes = [ ]; authentication = \"bogus\"; } );\n"),
                          3, "reflectors[0].authentication", {"\"none\" \"authenticated\""}));
}
