// The text handed to libconfig, prepared so that what it reads is what the file says.
//
// libconfig 1.5 (Debian 12) reads an integer literal with atoi(): 4294968158 silently becomes
// 862, and 0xFFFFFFFF becomes -1. So every integer literal is rewritten as a 64-bit decimal
// literal ("862L"; clamped to the int64 range, which no key accepts anyway), leaving line
// numbers untouched, and the loader reads int and int64 settings alike.
//
// @include is expanded here rather than by libconfig, so that the rewrite reaches included
// files too; a line table maps each line of the combined text back to its file and line.
// The scanner mirrors libconfig's (lib/scanner.l): comments, strings with their escapes,
// names, and numbers by flex's longest-match rule.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace twamp::config::detail {

struct origin {
    uint32_t file = 0; // index into source::files
    unsigned line = 0; // 1-based line in that file
};

struct source {
    std::string text;                  // what libconfig parses
    std::vector<std::string> files;    // [0] is the main file (or load_string's name)
    std::vector<std::string> contents; // each file's text as read, for error excerpts
    std::vector<origin> lines;         // lines[n - 1]: where line n of `text` comes from

    struct problem {
        origin where;
        std::string message;
    };
    std::vector<problem> problems; // @include failures, unterminated comments or strings

    // Where line `n` of `text` comes from; line 0 (libconfig's "no line") maps to {0, 0}.
    origin at(unsigned n) const noexcept;
    // Line `o.line` of file `o.file` without its newline, "" when out of range.
    std::string_view line_text(origin o) const noexcept;
};

// `text` (preprocessed: no unterminated string or comment) with every run of adjacent string
// literals (libconfig concatenates them) replaced by the integer literal 0L (between blanks) after
// the run's newlines: the same grammar, the same line numbers, no string token. libconfig 1.5 leaks
// the string token a syntax error stops at (its parser has no %destructor: 64 bytes each time a bad
// config is read, at start-up, --check or SIGHUP), so the loader parses this text first: every
// syntax error is found here without a string, and the real text then only parses. A string and 0L
// are both a `simple_value` in libconfig's grammar; only the type check of array elements tells
// them apart, and it stops the parse with no string token pending.
std::string without_strings(std::string_view text);

// `include_dir`: directory that `@include "x"` paths are relative to (libconfig's rule: one
// directory for every nesting level); nullopt refuses @include.
source preprocess(std::string_view text, std::string name, std::optional<std::string> include_dir);

} // namespace twamp::config::detail
