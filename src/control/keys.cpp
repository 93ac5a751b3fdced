#include "twamp/control/keys.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <sys/stat.h>

#include <openssl/evp.h>

namespace twamp::control {

namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r';
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_space(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

} // namespace

const key_entry* key_store::find(std::string_view id) const noexcept {
    for (const key_entry& e : keys_) {
        if (e.id == id) {
            return &e;
        }
    }
    return nullptr;
}

key_parse_result parse_key_file(std::string_view text) {
    key_parse_result r;
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        line = trim(line);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        const std::string where = "line " + std::to_string(line_no) + ": ";
        std::size_t sep = 0;
        while (sep < line.size() && !is_space(line[sep])) {
            ++sep;
        }
        const std::string_view id = line.substr(0, sep);
        const std::string_view hex = trim(line.substr(sep));
        if (id.size() > key_id_max) {
            r.errors.push_back(where + "identity of " + std::to_string(id.size()) +
                               " octets, at most " + std::to_string(key_id_max) +
                               " (the KeyID field, RFC 4656 §3.1)");
            continue;
        }
        if (hex.empty()) {
            r.errors.push_back(where + "identity without a passphrase (identity<TAB>hex)");
            continue;
        }
        if (hex.size() % 2 != 0) {
            r.errors.push_back(where + "the passphrase is not an even number of hex digits");
            continue;
        }
        key_entry e;
        e.id = std::string(id);
        e.secret.reserve(hex.size() / 2);
        bool ok = true;
        for (std::size_t i = 0; i < hex.size(); i += 2) {
            const int hi = hex_value(hex[i]);
            const int lo = hex_value(hex[i + 1]);
            if (hi < 0 || lo < 0) {
                ok = false;
                break;
            }
            e.secret.push_back(static_cast<uint8_t>(hi << 4 | lo));
        }
        if (!ok) {
            r.errors.push_back(where + "the passphrase is not hex (0-9, a-f)");
            continue;
        }
        if (r.store.find(e.id)) {
            r.errors.push_back(where + "a second key for identity \"" + e.id + "\"");
            continue;
        }
        r.store.add(std::move(e));
    }
    return r;
}

std::optional<key_store> load_key_file(const std::string& path, std::string& error) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
        error = path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    if (!S_ISREG(st.st_mode)) {
        error = path + ": not a regular file";
        return std::nullopt;
    }
    if (st.st_mode & 077) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        error = path + ": mode " + mode +
                " lets its group or others read or write the shared secrets: chmod 600 it";
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    key_parse_result r = parse_key_file(buf.str());
    if (!r.errors.empty()) {
        error = path + ": " + r.errors.front();
        if (r.errors.size() > 1) {
            error += " (and " + std::to_string(r.errors.size() - 1) + " more)";
        }
        return std::nullopt;
    }
    return std::move(r.store);
}

bool pbkdf2_hmac_sha1(std::span<const uint8_t> secret, std::span<const uint8_t> salt,
                      uint32_t count, std::span<uint8_t> out) noexcept {
    if (count == 0 || count > static_cast<uint32_t>(INT32_MAX) ||
        secret.size() > static_cast<std::size_t>(INT32_MAX) ||
        salt.size() > static_cast<std::size_t>(INT32_MAX) ||
        out.size() > static_cast<std::size_t>(INT32_MAX)) {
        return false;
    }
    // An empty secret or salt still derives (PBKDF2 allows it); never hand libcrypto a null.
    static const uint8_t empty = 0;
    const auto* pass = reinterpret_cast<const char*>(secret.empty() ? &empty : secret.data());
    const uint8_t* s = salt.empty() ? &empty : salt.data();
    return PKCS5_PBKDF2_HMAC_SHA1(pass, static_cast<int>(secret.size()), s,
                                  static_cast<int>(salt.size()), static_cast<int>(count),
                                  static_cast<int>(out.size()), out.data()) == 1;
}

bool derive_key(std::span<const uint8_t> secret, std::span<const uint8_t, 16> salt, uint32_t count,
                std::array<uint8_t, 16>& out) noexcept {
    return pbkdf2_hmac_sha1(secret, salt, count, out);
}

} // namespace twamp::control
