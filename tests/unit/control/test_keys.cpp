// The key file (perfSONAR pfstore's format) and the RFC 4656 §3.1 key derivation.
#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "twamp/control/keys.hpp"

using namespace twamp::control;

namespace {

std::vector<uint8_t> bytes_of(const std::string& s) {
    return {s.begin(), s.end()};
}

std::string hex(std::span<const uint8_t> b) {
    std::string s;
    char t[3];
    for (uint8_t c : b) {
        std::snprintf(t, sizeof t, "%02x", c);
        s += t;
    }
    return s;
}

// A file in a private temporary directory, removed with the object.
struct temp_file {
    std::string dir, path;
    temp_file(const std::string& text, mode_t mode) {
        char tmpl[] = "/tmp/twamp-keys-XXXXXX";
        dir = mkdtemp(tmpl);
        path = dir + "/keys.pfs";
        FILE* f = std::fopen(path.c_str(), "w");
        std::fputs(text.c_str(), f);
        std::fclose(f);
        chmod(path.c_str(), mode);
    }
    ~temp_file() {
        unlink(path.c_str());
        rmdir(dir.c_str());
    }
};

} // namespace

// pfstore writes `identity<TAB>hex(passphrase)`; comments and blank lines are skipped, spaces
// separate as well, upper-case hex is fine, CRLF line ends are tolerated.
TEST(key_file, parses_pfstore_lines) {
    const auto r = parse_key_file("# written by pfstore\n"
                                  "\n"
                                  "alice\t7477616d702d736563726574\n"
                                  "bob   DEADbeef\r\n"
                                  "  carol\t00  \n");
    ASSERT_TRUE(r.errors.empty()) << r.errors.front();
    ASSERT_EQ(r.store.size(), 3u);
    ASSERT_NE(r.store.find("alice"), nullptr);
    EXPECT_EQ(r.store.find("alice")->secret, bytes_of("twamp-secret"));
    EXPECT_EQ(hex(r.store.find("bob")->secret), "deadbeef");
    EXPECT_EQ(r.store.find("carol")->secret, std::vector<uint8_t>{0});
    EXPECT_EQ(r.store.find("dave"), nullptr);
}

// Every bad line is reported by number, and never with its secret; the good lines are kept.
TEST(key_file, bad_lines_named_by_number) {
    const std::string long_id(81, 'x');
    const auto r = parse_key_file("ok\t00\n"
                                  "nopass\n"
                                  "odd\tabc\n"
                                  "nothex\tzz11\n" +
                                  long_id + "\t00\n" + std::string(80, 'y') +
                                  "\t00\n"
                                  "ok\t11\n");
    ASSERT_EQ(r.errors.size(), 5u);
    EXPECT_EQ(r.errors[0], "line 2: identity without a passphrase (identity<TAB>hex)");
    EXPECT_EQ(r.errors[1], "line 3: the passphrase is not an even number of hex digits");
    EXPECT_EQ(r.errors[2], "line 4: the passphrase is not hex (0-9, a-f)");
    EXPECT_EQ(r.errors[3],
              "line 5: identity of 81 octets, at most 80 (the KeyID field, RFC 4656 §3.1)");
    EXPECT_EQ(r.errors[4], "line 7: a second key for identity \"ok\"");
    for (const auto& e : r.errors) {
        EXPECT_EQ(e.find("zz11"), std::string::npos) << e;
    }
    EXPECT_EQ(r.store.size(), 2u); // "ok" and the 80-octet identity
}

// A shared secret others may read is refused at load; so is a bad line, and a missing file.
TEST(key_file, load_refuses_readable_by_others) {
    std::string err;
    {
        temp_file f("alice\t00\n", 0600);
        auto s = load_key_file(f.path, err);
        ASSERT_TRUE(s) << err;
        EXPECT_EQ(s->size(), 1u);
    }
    for (mode_t m : {0644, 0640, 0604, 0620, 0602}) {
        temp_file f("alice\t00\n", m);
        EXPECT_FALSE(load_key_file(f.path, err)) << std::oct << m;
        EXPECT_NE(err.find("lets its group or others read or write"), std::string::npos) << err;
    }
    {
        temp_file f("alice\t0\n", 0600);
        EXPECT_FALSE(load_key_file(f.path, err));
        EXPECT_EQ(err, f.path + ": line 1: the passphrase is not an even number of hex digits");
    }
    EXPECT_FALSE(load_key_file("/nonexistent/keys.pfs", err));
    EXPECT_NE(err.find("No such file"), std::string::npos) << err;
}

// RFC 6070 §2: PBKDF2-HMAC-SHA1 test vectors.
TEST(key_derivation, rfc6070_vectors) {
    struct vec {
        std::string p, s;
        uint32_t c;
        std::string dk;
    } vs[] = {
            {"password", "salt", 1, "0c60c80f961f0e71f3a9b524af6012062fe037a6"},
            {"password", "salt", 2, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"},
            {"password", "salt", 4096, "4b007901b765489abead49d926f721d065a429c1"},
            {"passwordPASSWORDpassword", "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096,
             "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038"},
            {std::string("pass\0word", 9), std::string("sa\0lt", 5), 4096,
             "56fa6aa75548099dcc37d7f03425e0c3"},
    };
    for (const auto& v : vs) {
        std::vector<uint8_t> out(v.dk.size() / 2);
        ASSERT_TRUE(pbkdf2_hmac_sha1(bytes_of(v.p), bytes_of(v.s), v.c, out));
        EXPECT_EQ(hex(out), v.dk) << v.p << " " << v.c;
    }
}

// RFC 4656 §3.1: 16 octets from the secret, the greeting's 16-octet Salt and its Count. The
// expected value is Python's hashlib.pbkdf2_hmac("sha1", b"twamp-secret", bytes(range(16)),
// 1024, 16), an independent implementation.
TEST(key_derivation, twamp_key_from_salt_and_count) {
    std::array<uint8_t, 16> salt{};
    for (std::size_t i = 0; i < salt.size(); ++i) {
        salt[i] = static_cast<uint8_t>(i);
    }
    std::array<uint8_t, 16> key{};
    ASSERT_TRUE(derive_key(bytes_of("twamp-secret"), salt, 1024, key));
    EXPECT_EQ(hex(key), "885632c422077a7c7c24329a940867dd");
    // Another Count, another key; Count 0 is refused.
    std::array<uint8_t, 16> other{};
    ASSERT_TRUE(derive_key(bytes_of("twamp-secret"), salt, 1025, other));
    EXPECT_NE(hex(other), hex(key));
    EXPECT_FALSE(derive_key(bytes_of("twamp-secret"), salt, 0, other));
}
