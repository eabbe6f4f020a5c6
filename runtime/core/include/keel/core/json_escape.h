// keel/core/json_escape.h — the one way keel writes a JSON string literal by hand.
//
// Purpose: the trace writer, the tool results, the provider request bodies (runtime/live's
// JsonWriter) and the simulator's mock answers all write JSON strings without a JSON library;
// they do it here, so every hand-written JSON string follows the same rules, including for
// bytes that are not UTF-8. (Where keel has an nlohmann value, its dump() writes it.)
//
// Contract:
//  - The literal is '"', the bytes, '"', with '"' and '\\' escaped, \b \f \n \r \t in their
//    short forms, the other bytes below 0x20 as \u00xx (lowercase hex), everything else as it
//    is: DEL and valid UTF-8 (RFC 3629) included. For valid UTF-8 that is RFC 8785's string
//    form (the canonical JSON the trace promises), and nlohmann's dump() byte for byte.
//  - Invalid UTF-8: each byte that does not belong to a valid UTF-8 sequence (a stray
//    continuation byte, a truncated sequence's bytes, an overlong form, a surrogate, anything
//    past U+10FFFF, 0xF5..0xFF) becomes U+FFFD, written as its three UTF-8 bytes EF BF BD.
//    Why this rule: the output is always valid JSON and valid UTF-8, which strict readers
//    (keel's own scanner, nlohmann) require, so one bad byte in a tool's output cannot make a
//    request body or a trace line unreadable; U+FFFD is the Unicode replacement character every
//    decoder uses, and it is what nlohmann's dump(..., error_handler_t::replace) writes, so
//    keel's hand-written and nlohmann-written JSON agree; written as raw bytes rather than
//    \ufffd because RFC 8785 writes every non-ASCII character as itself (so the same value
//    always has the same text, which the trace's hash over values relies on); one U+FFFD per
//    byte (not per maximal subpart) because the trace hash's specification fixes it so.
//    `utf8_replaced` gives that value for the callers that need it without the quotes.
//  - `write_json_string` writes into space the caller reserved (`json_string_bound` bytes) and
//    returns the end; `append_json_string` appends to a string. Neither throws but for
//    std::bad_alloc (append only).
//
// Example:
//   std::string out = "{\"name\":";
//   append_json_string(out, "a \"b\"\n\xFF");   // {"name":"a \"b\"\n\xEF\xBF\xBD"
//   out += '}';
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace keel {

// Appends `s` as a JSON string literal (with its quotes).
void append_json_string(std::string& out, std::string_view s);

// The most bytes write_json_string writes for `s` (six per byte: \u00xx, and the quotes).
constexpr std::size_t json_string_bound(std::string_view s) noexcept { return 6 * s.size() + 2; }
// Writes `s` as a JSON string literal at `out`, which has json_string_bound(s) bytes; returns the end.
char* write_json_string(char* out, std::string_view s) noexcept;

// Whether `s` is valid UTF-8 (then the literal's value is `s` itself).
bool is_valid_utf8(std::string_view s) noexcept;
// The value the literal of `s` carries: `s` with each byte of an invalid sequence replaced by
// U+FFFD, into `out` (cleared first).
void utf8_replaced(std::string_view s, std::string& out);

}  // namespace keel
