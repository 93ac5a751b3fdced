#include "source.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace twamp::config::detail {

namespace {

// libconfig nests includes at most 10 deep (scanctx.h MAX_INCLUDE_DEPTH).
constexpr unsigned max_include_depth = 10;
// A config file is a few kilobytes; this bounds what a typo in an @include can pull in.
constexpr std::size_t max_file_size = 16 << 20;

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}
bool is_hex(char c) noexcept {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
// scanner.l: name [A-Za-z\*][-A-Za-z0-9_\*]*
bool name_start(char c) noexcept {
    return is_alpha(c) || c == '*';
}
bool name_char(char c) noexcept {
    return is_alpha(c) || is_digit(c) || c == '-' || c == '_' || c == '*';
}

std::size_t digits(std::string_view s, std::size_t i) noexcept {
    std::size_t n = 0;
    while (i + n < s.size() && is_digit(s[i + n])) {
        ++n;
    }
    return n;
}

// Length of [eE][-+]?[0-9]+ at i, 0 when absent.
std::size_t exponent(std::string_view s, std::size_t i) noexcept {
    if (i >= s.size() || (s[i] != 'e' && s[i] != 'E')) {
        return 0;
    }
    std::size_t j = i + 1;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) {
        ++j;
    }
    std::size_t d = digits(s, j);
    return d ? j + d - i : 0;
}

// scanner.l: float
// ([-+]?([0-9]*)?\.[0-9]*([eE][-+]?[0-9]+)?)|([-+]?([0-9]+)(\.[0-9]*)?[eE][-+]?[0-9]+)
std::size_t float_len(std::string_view s, std::size_t i) noexcept {
    std::size_t j = i;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) {
        ++j;
    }
    std::size_t int_digits = digits(s, j);
    std::size_t best = 0;
    std::size_t k = j + int_digits;
    if (k < s.size() && s[k] == '.') { // first form
        std::size_t m = k + 1 + digits(s, k + 1);
        best = m + exponent(s, m) - i;
    }
    if (int_digits) { // second form: exponent required
        std::size_t m = j + int_digits;
        if (m < s.size() && s[m] == '.') {
            m += 1 + digits(s, m + 1);
        }
        std::size_t e = exponent(s, m);
        if (e && m + e - i > best) {
            best = m + e - i;
        }
    }
    return best;
}

// Suffix L or LL (integer64, hex64).
std::size_t l_suffix(std::string_view s, std::size_t i) noexcept {
    if (i < s.size() && s[i] == 'L') {
        return (i + 1 < s.size() && s[i + 1] == 'L') ? 2 : 1;
    }
    return 0;
}

// Decimal or hex digits to a value clamped to [INT64_MIN, INT64_MAX].
int64_t clamp_value(std::string_view digits_text, unsigned base, bool negative) noexcept {
    constexpr uint64_t limit = uint64_t{1} << 63; // |INT64_MIN|
    uint64_t v = 0;
    bool clamped = false;
    for (char c : digits_text) {
        unsigned d = is_digit(c) ? static_cast<unsigned>(c - '0')
                                 : static_cast<unsigned>((c | 0x20) - 'a' + 10);
        if (v > (limit - d) / base) {
            clamped = true;
            break;
        }
        v = v * base + d;
    }
    if (negative) {
        return (clamped || v >= limit) ? INT64_MIN : -static_cast<int64_t>(v);
    }
    return (clamped || v >= limit) ? INT64_MAX : static_cast<int64_t>(v);
}

class preprocessor {
public:
    preprocessor(source& s, std::optional<std::string> dir) : s_(s), dir_(std::move(dir)) {}

    void run_file(uint32_t file, unsigned depth) {
        // Make a copy of the view's target: contents may reallocate as includes are added.
        std::string text = s_.contents[file];
        run(file, text, depth);
    }

private:
    void emit(char c, uint32_t file, unsigned& line) {
        s_.text += c;
        if (c == '\n') {
            ++line;
            s_.lines.push_back({file, line});
        }
    }

    void emit(std::string_view str, uint32_t file, unsigned& line) {
        std::size_t start = 0;
        for (std::size_t nl = str.find('\n'); nl != std::string_view::npos;
             nl = str.find('\n', start)) {
            s_.text.append(str.substr(start, nl + 1 - start));
            ++line;
            s_.lines.push_back({file, line});
            start = nl + 1;
        }
        s_.text.append(str.substr(start));
    }

    void problem(uint32_t file, unsigned line, std::string message) {
        s_.problems.push_back({{file, line}, std::move(message)});
    }

    // Matches ^[ \t]*@include[ \t]+" at i; returns the offset after the quote, or npos.
    static std::size_t include_open(std::string_view t, std::size_t i) noexcept {
        while (i < t.size() && (t[i] == ' ' || t[i] == '\t')) {
            ++i;
        }
        constexpr std::string_view kw = "@include";
        if (t.substr(i, kw.size()) != kw) {
            return std::string_view::npos;
        }
        i += kw.size();
        std::size_t ws = i;
        while (i < t.size() && (t[i] == ' ' || t[i] == '\t')) {
            ++i;
        }
        if (i == ws || i >= t.size() || t[i] != '"') {
            return std::string_view::npos;
        }
        return i + 1;
    }

    void include(uint32_t file, unsigned line, const std::string& name, unsigned depth) {
        if (!dir_) {
            problem(file, line, "@include \"" + name + "\": not allowed in a config given as text");
            return;
        }
        if (depth + 1 > max_include_depth) {
            problem(file, line,
                    "@include \"" + name + "\": includes nested deeper than " +
                            std::to_string(max_include_depth));
            return;
        }
        std::string path =
                (!name.empty() && name[0] == '/') || dir_->empty() ? name : *dir_ + "/" + name;
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            problem(file, line,
                    "@include \"" + name + "\": cannot open " + path + ": " + std::strerror(errno));
            return;
        }
        std::ostringstream ss;
        ss << in.rdbuf();
        std::string content = ss.str();
        if (content.size() > max_file_size) {
            problem(file, line, "@include \"" + name + "\": larger than 16 MiB");
            return;
        }
        auto index = static_cast<uint32_t>(s_.files.size());
        s_.files.push_back(path);
        s_.contents.push_back(std::move(content));
        // The include line held only blanks so far: the included text starts on it.
        s_.lines.back() = {index, 1};
        run_file(index, depth + 1);
        // The rest of the include line follows the included text on a line of its own.
        if (s_.text.empty() || s_.text.back() != '\n') {
            s_.text += '\n';
            s_.lines.push_back({file, line});
        } else {
            s_.lines.back() = {file, line};
        }
    }

    void run(uint32_t file, std::string_view t, unsigned depth) {
        // libconfig reads a C string: it would silently stop at a NUL byte.
        if (auto nul = t.find('\0'); nul != std::string_view::npos) {
            auto line_no = static_cast<unsigned>(std::count(t.begin(), t.begin() + nul, '\n') + 1);
            problem(file, line_no, "NUL byte in the text; expected a text file");
            return;
        }
        unsigned line = 1;
        std::size_t i = 0;
        bool line_start = true;
        while (i < t.size()) {
            char c = t[i];
            if (line_start) {
                line_start = false;
                if (std::size_t q = include_open(t, i); q != std::string_view::npos) {
                    // scanner.l INCLUDE state: \\ and \" are escapes, nothing else is.
                    std::string name;
                    unsigned start_line = line;
                    i = q;
                    bool closed = false;
                    while (i < t.size()) {
                        if (t[i] == '"') {
                            closed = true;
                            ++i;
                            break;
                        }
                        if (t[i] == '\\' && i + 1 < t.size() &&
                            (t[i + 1] == '\\' || t[i + 1] == '"')) {
                            name += t[i + 1];
                            i += 2;
                            continue;
                        }
                        if (t[i] == '\n') {
                            break;
                        }
                        name += t[i++];
                    }
                    if (!closed) {
                        problem(file, start_line, "@include: unterminated file name");
                        return;
                    }
                    include(file, line, name, depth);
                    continue;
                }
            }
            if (c == '\n') {
                emit(c, file, line);
                line_start = true;
                ++i;
            } else if (c == '/' && i + 1 < t.size() && t[i + 1] == '*') {
                unsigned start_line = line;
                std::size_t end = t.find("*/", i + 2);
                if (end == std::string_view::npos) {
                    problem(file, start_line, "unterminated /* comment");
                    return;
                }
                emit(t.substr(i, end + 2 - i), file, line);
                i = end + 2;
            } else if (c == '#' || (c == '/' && i + 1 < t.size() && t[i + 1] == '/')) {
                std::size_t end = t.find('\n', i);
                if (end == std::string_view::npos) {
                    end = t.size();
                }
                emit(t.substr(i, end - i), file, line);
                i = end;
            } else if (c == '"') {
                unsigned start_line = line;
                std::size_t j = i + 1;
                bool closed = false;
                while (j < t.size()) {
                    if (t[j] == '"') {
                        closed = true;
                        ++j;
                        break;
                    }
                    // scanner.l STRING: \\ and \" consume two characters; a backslash before
                    // anything else is one character on its own.
                    if (t[j] == '\\' && j + 1 < t.size() && (t[j + 1] == '\\' || t[j + 1] == '"')) {
                        j += 2;
                    } else {
                        ++j;
                    }
                }
                if (!closed) {
                    problem(file, start_line, "unterminated string");
                    return;
                }
                emit(t.substr(i, j - i), file, line);
                i = j;
            } else if (name_start(c)) {
                std::size_t j = i + 1;
                while (j < t.size() && name_char(t[j])) {
                    ++j;
                }
                emit(t.substr(i, j - i), file, line);
                i = j;
            } else if (is_digit(c) || c == '-' || c == '+' || c == '.') {
                i = number(t, i, file, line);
            } else {
                // Blanks and punctuation up to the next character with a rule of its own.
                std::size_t j = i + 1;
                while (j < t.size() && plain(t[j])) {
                    ++j;
                }
                emit(t.substr(i, j - i), file, line);
                i = j;
            }
        }
    }

    // Copied as it is by run()'s last branch: not a newline, comment, string, name or number
    // start (the line-start @include test needs the character after a newline: a newline is
    // never plain).
    static bool plain(char c) noexcept {
        return c != '\n' && c != '/' && c != '#' && c != '"' && !name_start(c) && !is_digit(c) &&
               c != '-' && c != '+' && c != '.';
    }

    // Longest match among float, integer, integer64, hex and hex64 at i (flex's rule; on a tie
    // the earlier rule, float, wins). Integers are emitted as int64 decimal literals.
    std::size_t number(std::string_view t, std::size_t i, uint32_t file, unsigned& line) {
        std::size_t flen = float_len(t, i);
        std::size_t sign = (t[i] == '-' || t[i] == '+') ? 1 : 0;
        std::size_t idigits = digits(t, i + sign);
        std::size_t ilen = idigits ? sign + idigits : 0;
        std::size_t ilen64 = ilen ? ilen + l_suffix(t, i + ilen) : 0;
        std::size_t hlen = 0;
        if (t[i] == '0' && i + 2 < t.size() && (t[i + 1] == 'x' || t[i + 1] == 'X') &&
            is_hex(t[i + 2])) {
            hlen = 2;
            while (i + hlen < t.size() && is_hex(t[i + hlen])) {
                ++hlen;
            }
        }
        std::size_t hlen64 = hlen ? hlen + l_suffix(t, i + hlen) : 0;
        std::size_t best = std::max({flen, ilen64, hlen64});
        if (best == 0) { // a lone sign or dot: libconfig's garbage, left for it to reject
            emit(t[i], file, line);
            return i + 1;
        }
        if (best == flen) {
            emit(t.substr(i, flen), file, line);
            return i + flen;
        }
        int64_t v = best == hlen64 ? clamp_value(t.substr(i + 2, hlen - 2), 16, false)
                                   : clamp_value(t.substr(i + sign, idigits), 10, t[i] == '-');
        emit(std::to_string(v) + "L", file, line);
        return i + best;
    }

    source& s_;
    std::optional<std::string> dir_;
};

} // namespace

origin source::at(unsigned n) const noexcept {
    if (n == 0 || n > lines.size()) {
        return {0, 0};
    }
    return lines[n - 1];
}

std::string_view source::line_text(origin o) const noexcept {
    if (o.file >= contents.size() || o.line == 0) {
        return {};
    }
    std::string_view t = contents[o.file];
    std::size_t pos = 0;
    for (unsigned l = 1; l < o.line; ++l) {
        pos = t.find('\n', pos);
        if (pos == std::string_view::npos) {
            return {};
        }
        ++pos;
    }
    std::size_t end = t.find('\n', pos);
    return t.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
}

std::string without_strings(std::string_view t) {
    std::string r;
    r.reserve(t.size());
    bool after_string = false; // the last token was a string: the next one continues it
    std::size_t i = 0;
    while (i < t.size()) {
        char c = t[i];
        std::size_t end = i + 1;
        if (c == '"') {
            // scanner.l STRING: \\ and \" are two characters; preprocess() checked the closing
            // quote.
            while (end < t.size() && t[end] != '"') {
                end += (t[end] == '\\' && end + 1 < t.size() &&
                        (t[end + 1] == '\\' || t[end + 1] == '"'))
                               ? 2
                               : 1;
            }
            end = std::min(end + 1, t.size());
            r.append(static_cast<std::size_t>(std::count(t.begin() + i, t.begin() + end, '\n')),
                     '\n');
            if (!after_string) {
                r += " 0L "; // blanks: never one token with what is next to it ("x"L, p"x")
            }
            after_string = true;
        } else if (c == '#' || (c == '/' && i + 1 < t.size() && t[i + 1] == '/')) {
            end = std::min(t.find('\n', i), t.size());
            r.append(t.substr(i, end - i));
        } else if (c == '/' && i + 1 < t.size() && t[i + 1] == '*') {
            std::size_t close = t.find("*/", i + 2);
            end = close == std::string_view::npos ? t.size() : close + 2;
            r.append(t.substr(i, end - i));
        } else {
            // scanner.l's blanks ([ \t\r\f\n]) keep a string run going; anything else ends it.
            if (c != ' ' && c != '\t' && c != '\r' && c != '\f' && c != '\n') {
                after_string = false;
            }
            r += c;
        }
        i = end;
    }
    return r;
}

source preprocess(std::string_view text, std::string name, std::optional<std::string> include_dir) {
    source s;
    s.files.push_back(std::move(name));
    s.contents.emplace_back(text);
    s.lines.push_back({0, 1});
    preprocessor p(s, std::move(include_dir));
    p.run_file(0, 0);
    return s;
}

} // namespace twamp::config::detail
