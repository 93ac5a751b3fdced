// Builds twamp.conf(5) from its hand-written text (twamp.conf.5.in) and the config's key table
// (twamp/config/keys.hpp): the line "@KEYS@" becomes one .TP entry per key, with its type,
// default and reload rule, so the page lists exactly the keys the loader takes.
//   keys_roff TEMPLATE OUTPUT
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

#include "twamp/config/keys.hpp"

namespace {

// Text for roff: backslashes escaped, hyphens as \- (they are options and key names), a
// leading '.' or '\'' protected, the section sign spelt out (ASCII output has no glyph for it).
std::string roff(std::string_view s) {
    std::string r;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (s.substr(i, 2) == "\u00a7") { // the section sign: "section" in every output
            r += "section ";
            ++i;
        } else if (static_cast<unsigned char>(c) >= 0xc0) {
            r += '?'; // any other character outside ASCII: never a glyph the output lacks
        } else if (static_cast<unsigned char>(c) >= 0x80) {
            // (the rest of that character)
        } else if (c == '\\') {
            r += "\\e";
        } else if (c == '-') {
            r += "\\-";
        } else {
            r += c;
        }
    }
    if (!r.empty() && (r[0] == '.' || r[0] == '\'')) {
        r.insert(0, "\\&");
    }
    return r;
}

std::string entries() {
    using namespace twamp::config;
    std::string out;
    for (const auto& k : keys) {
        out += ".TP\n.B " + roff(k.path) + "\n";
        std::string line = roff(to_string(k.type));
        if (!k.default_value.empty()) {
            line += "; default \\fB" + roff(k.default_value) + "\\fR";
        }
        line += "; reload: ";
        line += k.reloadable ? "yes" : "restart";
        out += line + ".\n" + roff(k.help) + ".\n";
    }
    return out;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: keys_roff TEMPLATE OUTPUT\n");
        return 2;
    }
    std::ifstream in(argv[1]);
    if (!in) {
        std::fprintf(stderr, "keys_roff: cannot read %s\n", argv[1]);
        return 1;
    }
    std::ostringstream page;
    bool placed = false;
    for (std::string l; std::getline(in, l);) {
        if (l == "@KEYS@") {
            page << entries();
            placed = true;
        } else {
            page << l << '\n';
        }
    }
    if (!placed) {
        std::fprintf(stderr, "keys_roff: no @KEYS@ line in %s\n", argv[1]);
        return 1;
    }
    std::ofstream out(argv[2]);
    out << page.str();
    return out ? 0 : 1;
}
