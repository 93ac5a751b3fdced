// libconfig text -> config. Parsing is libconfig's; everything after it is a walk over the
// setting tree that checks each key against the contract of DESIGN.md and conf/twamp.conf,
// collecting errors (file:line, key path, what was expected) instead of stopping at the first.
//
// The walk is split: reader.cpp (typed getters, errors with their places), one file per
// section (ports.cpp, reflectors.cpp, control.cpp, metrics.cpp) and validate.cpp (checks
// across sections). This file runs them in order and is the public entry point. Which keys a
// group accepts is the key table's (twamp/config/keys.hpp).
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <libconfig.h++>

#include "sections.hpp"
#include "source.hpp"

#include "twamp/config/config.hpp"

namespace twamp::config {

namespace {

using detail::quote;

// The top-level `keys`: the key file (perfSONAR pfstore's format, twamp/control/keys.hpp), read
// now so that a bad or exposed file fails the load (start-up, --check, SIGHUP: the old config
// keeps running) like any other bad key. A relative path is taken from the config file's
// directory, as @include's are. The error names the file and the line, never a secret.
void read_keys(detail::reader& rd, const libconfig::Setting& root, config& cfg,
               const std::optional<std::string>& dir) {
    auto* s = detail::reader::member(root, "keys");
    if (!s) {
        return;
    }
    auto text = rd.string(*s, "keys", "the path of a key file (identity<TAB>hex(secret) lines)");
    if (!text) {
        return;
    }
    if (text->empty()) {
        rd.fail(*s, "keys", "expected the path of a key file, got \"\"");
        return;
    }
    std::filesystem::path path(*text);
    if (path.is_relative() && dir) {
        path = std::filesystem::path(*dir) / path;
    }
    std::string error;
    auto store = control::load_key_file(path.string(), error);
    if (!store) {
        rd.fail(*s, "keys", error);
        return;
    }
    cfg.keys_file = *text;
    cfg.keys = std::move(*store);
}

config walk(detail::reader& rd, const libconfig::Setting& root,
            const std::optional<std::string>& dir) {
    config cfg;
    detail::positions pl;
    rd.check_keys(root, "", "");
    detail::read_ports(rd, root, cfg, pl);
    // Before the reflectors: their key-id and ssid-keys name keys of this file.
    read_keys(rd, root, cfg, dir);
    detail::read_reflectors(rd, root, cfg, pl);
    detail::read_control(rd, root, cfg.control, pl);
    detail::check_receiver_ports(rd, cfg, pl);
    detail::read_metrics(rd, root, cfg.metrics, pl);
    detail::check_listeners(rd, cfg, pl);
    detail::check_control_keys(rd, cfg, pl);
    return cfg;
}

load_result load(std::string_view text, std::string name, std::optional<std::string> include_dir) {
    load_result result;
    const std::optional<std::string> dir = include_dir;
    detail::source src = detail::preprocess(text, std::move(name), std::move(include_dir));
    if (!src.problems.empty()) {
        for (auto& p : src.problems) {
            result.errors.push_back({src.files[p.where.file], p.where.line, "", p.message});
        }
        return result;
    }
    libconfig::Config lc;
    try {
        {
            // Syntax first, without string tokens: a syntax error leaks none (source.hpp).
            libconfig::Config syntax;
            syntax.readString(detail::without_strings(src.text));
        }
        lc.readString(src.text);
    } catch (const libconfig::ParseException& e) {
        detail::origin o = src.at(static_cast<unsigned>(e.getLine()));
        std::string message = e.getError() ? e.getError() : "syntax error";
        std::string_view line = src.line_text(o);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
            line.remove_prefix(1);
        }
        if (!line.empty()) {
            message += " (libconfig) in: " + quote(line);
        }
        result.errors.push_back({src.files[o.file], o.line, "", message});
        return result;
    }
    detail::reader rd(src);
    config cfg = walk(rd, lc.getRoot(), dir);
    result.errors = rd.take_errors();
    if (result.errors.empty()) {
        result.cfg = std::move(cfg);
    }
    return result;
}

load_result internal_error(std::string_view name, const char* what) {
    load_result r;
    r.errors.push_back({std::string(name), 0, "", std::string("internal error: ") + what});
    return r;
}

} // namespace

const std::vector<ip_prefix>* port_config::addresses_of(uint16_t vlan) const noexcept {
    if (vlan == 0) {
        return &addresses;
    }
    for (const auto& v : vlans) {
        if (v.id == vlan) {
            return &v.addresses;
        }
    }
    return nullptr;
}

std::string vlan_iface_name(const port_config& port, uint16_t vlan) {
    return port.exception.iface + "." + std::to_string(vlan);
}

const port_config* config::find_port(std::string_view name) const noexcept {
    for (const auto& p : ports) {
        if (p.name == name) {
            return &p;
        }
    }
    return nullptr;
}

const reflector_config* config::find_reflector(std::string_view name) const noexcept {
    for (const auto& r : reflectors) {
        if (r.name == name) {
            return &r;
        }
    }
    return nullptr;
}

std::string to_string(const error& e) {
    std::string r = e.file;
    if (e.line) {
        r += ":" + std::to_string(e.line);
    }
    r += ": ";
    if (!e.path.empty()) {
        r += e.path + ": ";
    }
    return r + e.message;
}

std::string to_string(const std::vector<error>& errors) {
    std::string r;
    for (const auto& e : errors) {
        r += to_string(e) + "\n";
    }
    return r;
}

load_result load_string(std::string_view text, std::string_view name) noexcept {
    try {
        return load(text, std::string(name), std::nullopt);
    } catch (const std::exception& e) {
        return internal_error(name, e.what());
    } catch (...) {
        return internal_error(name, "unknown exception");
    }
}

load_result load_file(const std::string& path) noexcept {
    try {
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec)) {
            load_result r;
            r.errors.push_back({path, 0, "", "cannot read: is a directory"});
            return r;
        }
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            load_result r;
            r.errors.push_back({path, 0, "", std::string("cannot open: ") + std::strerror(errno)});
            return r;
        }
        std::ostringstream ss;
        ss << in.rdbuf();
        if (in.bad()) {
            load_result r;
            r.errors.push_back({path, 0, "", std::string("cannot read: ") + std::strerror(errno)});
            return r;
        }
        auto slash = path.rfind('/');
        std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
        return load(ss.str(), path, dir);
    } catch (const std::exception& e) {
        return internal_error(path, e.what());
    } catch (...) {
        return internal_error(path, "unknown exception");
    }
}

} // namespace twamp::config
