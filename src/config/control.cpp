// The `control` section: the TWAMP-Control server (RFC 5357 §3): listener, modes, client
// prefixes, limits and timers, receiver ports.
#include "sections.hpp"

namespace twamp::config::detail {

namespace {

void control(reader& rd, control_config& c, const Setting& g, const std::string& path,
             positions& pl) {
    if (!rd.expect_group(g, path)) {
        return;
    }
    rd.check_keys(g, path, "control");
    c.enabled = true;
    rd.read_bool(g, "enabled", path, c.enabled);
    if (auto* s = rd.member(g, "listen")) {
        static constexpr std::string_view expected =
                "an IPv4 or IPv6 address to listen on, e.g. \"0.0.0.0\" or \"::\"";
        if (auto text = rd.string(*s, join(path, "listen"), expected)) {
            auto a = ip_address::parse(*text);
            if (!a || a->is_multicast()) {
                rd.fail(*s, join(path, "listen"),
                        "expected " + std::string(expected) + ", got " + quote(*text));
            } else {
                c.listen = *a;
            }
        }
    }
    rd.read_int(g, "port", path, c.port, 1, 65535);
    if (auto* s = rd.member(g, "modes")) {
        std::string m_path = join(path, "modes");
        if (rd.sequence(*s, m_path, "mode names")) {
            c.modes = 0;
            std::string expected = "one of";
            for (const auto& m : mode_names) {
                if (m.supported) {
                    expected += " " + quote(m.name);
                }
            }
            for (int i = 0; i < s->getLength(); ++i) {
                std::string e_path = at_index(m_path, i);
                auto text = rd.string((*s)[i], e_path, expected);
                if (!text) {
                    continue;
                }
                const auto* it = find_mode(*text);
                if (!it || !it->supported) {
                    rd.fail((*s)[i], e_path,
                            it ? "mode " + quote(*text) +
                                            " is not supported by this server; expected " + expected
                               : "expected " + expected + ", got " + quote(*text));
                    continue;
                }
                if (c.modes & it->bit) {
                    rd.fail((*s)[i], e_path, "duplicate mode " + quote(*text));
                }
                c.modes |= it->bit;
            }
            pl.control_modes_line = s->getSourceLine();
            if (!(c.modes &
                  (mode_unauthenticated | mode_authenticated | mode_encrypted | mode_mixed))) {
                rd.fail(*s, m_path,
                        "expected the list to contain a security mode: \"unauthenticated\", "
                        "\"authenticated\", \"encrypted\" or \"mixed\"");
            }
        }
    }
    if (auto* s = rd.member(g, "prefixes")) {
        c.prefixes = rd.prefix_list(*s, join(path, "prefixes"));
    } else if (c.enabled) {
        rd.fail(g, join(path, "prefixes"),
                "required key missing: the client prefixes allowed to connect, e.g. prefixes = [ "
                "\"198.18.0.0/15\" ]; ([] accepts nothing)");
    }
    rd.read_int(g, "max-connections", path, c.max_connections, 1, 65535);
    rd.read_int(g, "max-sessions", path, c.max_sessions, 1, 1'048'576);
    // RFC 8913 (TWAMP YANG): servwait and refwait are 1..604800 seconds, default 900.
    rd.read_int(g, "servwait", path, c.servwait, 1, 604'800);
    rd.read_int(g, "refwait", path, c.refwait, 1, 604'800);
    rd.read_int(g, "max-timeout", path, c.max_timeout, 1, 86'400);
    rd.read_bool(g, "allow-third-party-senders", path, c.allow_third_party_senders);
    // Key derivations (PBKDF2-HMAC-SHA1, RFC 4656 §3.1) run on the slow path, which also carries
    // the exception path (ARP/ND, TCP): their cost is bounded here. Measured (OpenSSL 3,
    // PKCS5_PBKDF2_HMAC_SHA1, one 2.x GHz EPYC core, idle): 0.22 us an iteration, 0.45 ms at
    // Count 2048, 15 ms at 65536 (twice that on a busy shared core). So:
    // - kdf-count <= 65536: one derivation blocks the slow path at most a few tens of ms;
    // - kdf-count x max-key-derivations <= 2^20 (max_kdf_work): the worst second costs about
    //   2^20 x 0.25 us = 0.26 s of one core (~25 %). The default 2048 x 100 is a fifth of it.
    constexpr int64_t max_kdf_count = 65'536;
    constexpr int64_t max_kdf_work = 1 << 20;
    const Setting* count_setting = rd.member(g, "kdf-count");
    if (count_setting != nullptr) {
        // RFC 4656 §3.1: Count MUST be a power of 2 and at least 1024.
        if (auto n = rd.integer(*count_setting, join(path, "kdf-count"), 1024, max_kdf_count)) {
            if ((*n & (*n - 1)) != 0) {
                rd.fail(*count_setting, join(path, "kdf-count"),
                        "expected a power of 2 (RFC 4656 §3.1), got " + std::to_string(*n));
            } else {
                c.kdf_count = static_cast<uint32_t>(*n);
            }
        }
    }
    rd.read_int(g, "max-key-derivations", path, c.max_key_derivations, 1, 100'000);
    if (int64_t{c.kdf_count} * c.max_key_derivations > max_kdf_work) {
        const Setting* at = rd.member(g, "max-key-derivations");
        rd.fail(at != nullptr ? *at : (count_setting != nullptr ? *count_setting : g),
                join(path, "max-key-derivations"),
                "expected control.kdf-count x control.max-key-derivations <= " +
                        std::to_string(max_kdf_work) +
                        " (PBKDF2 iterations a second: ~25 % of "
                        "the slow path's core), got " +
                        std::to_string(c.kdf_count) + " x " +
                        std::to_string(c.max_key_derivations) + " = " +
                        std::to_string(int64_t{c.kdf_count} * c.max_key_derivations) +
                        "; at kdf-count " + std::to_string(c.kdf_count) +
                        " max-key-derivations may be at most " +
                        std::to_string(max_kdf_work / c.kdf_count));
    }
    rd.read_int(g, "max-connections-per-source", path, c.max_connections_per_source, 1, 65535);
    rd.read_int(g, "max-pending", path, c.max_pending, 1, 65535);
    rd.read_int(g, "setup-timeout", path, c.setup_timeout, 1, 600);
    rd.read_int(g, "idle-timeout", path, c.idle_timeout, 0, 86400);
    rd.read_int(g, "max-pending-per-source", path, c.max_pending_per_source, 1, 65535);
    rd.read_int(g, "max-sessions-per-connection", path, c.max_sessions_per_connection, 1, 65535);
    rd.read_int(g, "max-sessions-per-source", path, c.max_sessions_per_source, 1, 65535);
    if (auto* s = rd.member(g, "receiver-ports")) {
        pl.receiver_ports_line = s->getSourceLine();
        std::string r_path = join(path, "receiver-ports");
        if (rd.expect_group(*s, r_path)) {
            rd.check_keys(*s, r_path, "control.receiver-ports");
            port_range range = c.receiver_ports;
            bool ok = true;
            for (auto [key, out] : {std::pair{"min", &range.min}, std::pair{"max", &range.max}}) {
                if (auto* v = rd.member(*s, key)) {
                    if (auto n = rd.integer(*v, join(r_path, key), 1, 65535)) {
                        *out = static_cast<uint16_t>(*n);
                    } else {
                        ok = false;
                    }
                }
            }
            if (ok && range.min > range.max) {
                rd.fail(*s, r_path,
                        "expected min <= max, got min = " + std::to_string(range.min) +
                                ", max = " + std::to_string(range.max));
            } else if (ok) {
                c.receiver_ports = range;
            }
        }
    }
    pl.control_line = g.getSourceLine();
}

} // namespace

void read_control(reader& rd, const Setting& root, control_config& c, positions& pl) {
    if (auto* s = reader::member(root, "control")) {
        control(rd, c, *s, "control", pl);
    }
}

} // namespace twamp::config::detail
