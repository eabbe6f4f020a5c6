// keel/core/detail/json_scanner.h — keel's one JSON grammar: a single pass over the bytes that
// reports what it reads to a sink. Internal to runtime/core: json_check.cpp (the validator sink,
// json_type) and json_document.cpp (the flat document builder, JsonDocument) are its sinks.
//
// Purpose: keel read JSON with two grammars, one per use, each with its own UTF-8, escape and
// number rules to keep in step with nlohmann. This is the only one: a sink decides what to keep
// (nothing, or a node per value), never what is valid.
//
// Contract:
//  - `scan_json_value(begin, end, sink, stack)` reads optional whitespace, one JSON value (RFC
//    8259) and optional whitespace, and returns where it stopped (the caller decides what may
//    follow: nothing for json_type, nothing or a NUL byte for JsonDocument), or nullptr if the
//    text is not a valid value there or the sink refused a container.
//  - Strings must be valid UTF-8 (RFC 3629: no overlongs, no surrogates, nothing past
//    U+10FFFF), control bytes escaped, escapes among \" \\ \/ \b \f \n \r \t \uXXXX, a \u
//    surrogate only as a high one followed by an escaped low one. Numbers follow the RFC's
//    grammar; one whose magnitude overflows a double (1e400) is refused, underflow is fine.
//    These are nlohmann's rules (the property tests and the fuzz target check it).
//  - No recursion: open containers live in `stack` (one byte each, the caller's so a reused
//    one does not allocate), so nesting is bounded by memory, or by the sink.
//  - The sink, called in document order (`at`/`after` point into the text, views view it):
//      bool open(JsonType object_or_array, const char* at)  '{' or '[' at `at`; false refuses
//      void close(const char* after)                          the innermost container ended
//      void key(std::string_view body, bool escaped)          an object member's name
//      void string(std::string_view token, std::string_view body, bool escaped)
//      void number(std::string_view token, bool integral)     integral: no fraction, no exponent
//      void literal(JsonType null_or_boolean, std::string_view token)
//    `body` is a string's text between the quotes, escapes not decoded (`escaped` says whether
//    it has any: decode_json_string below gives its value); `token` is the value's source text.
//
// Example:
//   struct Count { int n = 0; bool open(JsonType, const char*) { return ++n, true; } ... };
//   std::string stack;
//   const char* stop = detail::scan_json_value(text.data(), text.data() + text.size(), count, stack);
//   bool valid = stop == text.data() + text.size();
#pragma once

#include <bit>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "keel/core/detail/json_bytes.h"
#include "keel/core/json_check.h"

namespace keel::detail {

inline bool json_digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }

inline int json_hex_value(unsigned char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// False when the number token's magnitude is beyond the largest double (nlohmann refuses it;
// underflow rounds to zero or a subnormal and is fine). Allocation- and locale-free.
inline bool json_number_fits_double(std::string_view number) noexcept {
  double value;
  const auto r = std::from_chars(number.data(), number.data() + number.size(), value);
  if (r.ec != std::errc::result_out_of_range) return true;
  // Out of range: overflow iff the leading digit's decimal exponent is not negative.
  const std::size_t sign = number[0] == '-' ? 1 : 0;
  std::size_t int_end = sign;
  while (int_end < number.size() && json_digit(static_cast<unsigned char>(number[int_end]))) ++int_end;
  std::size_t first_nonzero = sign;
  while (first_nonzero < int_end && number[first_nonzero] == '0') ++first_nonzero;
  long long lead = -1;  // the decimal exponent of the first non-zero digit
  if (first_nonzero < int_end) {
    lead = static_cast<long long>(int_end - first_nonzero) - 1;
  } else if (int_end < number.size() && number[int_end] == '.') {
    std::size_t k = int_end + 1;
    while (k < number.size() && number[k] == '0') ++k;
    lead = -static_cast<long long>(k - int_end);
  }
  const auto e = number.find_first_of("eE");
  long long exponent = 0;
  if (e != std::string_view::npos) {
    std::size_t k = e + 1;
    const bool negative = number[k] == '-';
    if (number[k] == '+' || number[k] == '-') ++k;
    for (; k < number.size() && exponent < 1'000'000'000; ++k) exponent = exponent * 10 + (number[k] - '0');
    if (negative) exponent = -exponent;
  }
  return lead + exponent < 0;
}

template <class Sink>
class JsonScanner {
 public:
  JsonScanner(const char* begin, const char* end, Sink& sink, std::string& stack) noexcept
      : p_(reinterpret_cast<const unsigned char*>(begin)),
        end_(reinterpret_cast<const unsigned char*>(end)),
        sink_(sink),
        stack_(stack) {}

  const char* run() {
    stack_.clear();
    if (!values()) return nullptr;
    skip_space();
    return at();
  }

 private:
  const char* at() const noexcept { return reinterpret_cast<const char*>(p_); }
  std::string_view since(const unsigned char* start) const noexcept {
    return {reinterpret_cast<const char*>(start), static_cast<std::size_t>(p_ - start)};
  }

  // Reads one value, containers included, iteratively.
  bool values() {
    for (;;) {
      // A value is expected here.
      skip_space();
      if (p_ == end_) return false;
      if (*p_ == '{' || *p_ == '[') {
        const char close = *p_ == '{' ? '}' : ']';
        if (!sink_.open(close == '}' ? JsonType::object : JsonType::array, at())) return false;
        ++p_;
        skip_space();
        if (p_ != end_ && *p_ == static_cast<unsigned char>(close)) {
          ++p_;
          sink_.close(at());
        } else {
          stack_.push_back(close);
          if (close == '}' && !key()) return false;
          continue;
        }
      } else if (!scalar()) {
        return false;
      }
      // After a value: close containers, or move to the next member or element.
      for (;;) {
        if (stack_.empty()) return true;
        skip_space();
        if (p_ == end_) return false;
        const char close = stack_.back();
        if (*p_ == static_cast<unsigned char>(close)) {
          ++p_;
          stack_.pop_back();
          sink_.close(at());
          continue;
        }
        if (*p_ != ',') return false;
        ++p_;
        if (close == '}' && !key()) return false;
        break;
      }
    }
  }

  // `"name" :` of an object member.
  bool key() {
    skip_space();
    if (p_ == end_ || *p_ != '"') return false;
    const unsigned char* const body = p_ + 1;
    bool escaped = false;
    if (!string(escaped)) return false;
    sink_.key({reinterpret_cast<const char*>(body), static_cast<std::size_t>(p_ - 1 - body)}, escaped);
    skip_space();
    if (p_ == end_ || *p_ != ':') return false;
    ++p_;
    return true;
  }

  bool scalar() {
    const unsigned char* const start = p_;
    switch (*p_) {
      case '"': {
        bool escaped = false;
        if (!string(escaped)) return false;
        const std::string_view token = since(start);
        sink_.string(token, token.substr(1, token.size() - 2), escaped);
        return true;
      }
      case 't': return literal("true", JsonType::boolean);
      case 'f': return literal("false", JsonType::boolean);
      case 'n': return literal("null", JsonType::null);
      default: return number();
    }
  }

  bool literal(std::string_view word, JsonType type) {
    if (static_cast<std::size_t>(end_ - p_) < word.size()) return false;
    if (std::string_view{at(), word.size()} != word) return false;
    const unsigned char* const start = p_;
    p_ += word.size();
    sink_.literal(type, since(start));  // the source text, not `word`: tokens view the input
    return true;
  }

  // A string at the opening quote; after it on success. `escaped` is set if it has escapes.
  bool string(bool& escaped) noexcept {
    ++p_;  // the opening quote
    for (;;) {
      // Eight bytes at a time up to the first byte that needs a look (the mask's lowest bit).
      while (end_ - p_ >= 8) {
        const std::uint64_t care = json_care_mask(load_le64(p_));
        if (care != 0) {
          p_ += std::countr_zero(care) / 8;
          break;
        }
        p_ += 8;
      }
      if (p_ == end_) return false;
      const unsigned char c = *p_;
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (!escape()) return false;
        escaped = true;
      } else if (c >= 0x80) {
        const std::size_t len = utf8_sequence_length(p_, static_cast<std::size_t>(end_ - p_));
        if (len == 0) return false;
        p_ += len;
      } else {
        ++p_;
      }
    }
  }

  bool escape() noexcept {
    ++p_;  // the backslash
    if (p_ == end_) return false;
    switch (*p_++) {
      case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': return true;
      case 'u': break;
      default: return false;
    }
    const int unit = code_unit();
    if (unit < 0) return false;
    if (unit >= 0xDC00 && unit <= 0xDFFF) return false;  // a low surrogate alone
    if (unit < 0xD800 || unit > 0xDBFF) return true;
    // A high surrogate must be followed by an escaped low one.
    if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
    p_ += 2;
    const int low = code_unit();
    return low >= 0xDC00 && low <= 0xDFFF;
  }

  // The four hex digits of a \u escape, or -1.
  int code_unit() noexcept {
    if (end_ - p_ < 4) return -1;
    int v = 0;
    for (int i = 0; i < 4; ++i) {
      const int h = json_hex_value(*p_++);
      if (h < 0) return -1;
      v = v * 16 + h;
    }
    return v;
  }

  bool number() {
    const unsigned char* const start = p_;
    if (*p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ != end_ && json_digit(*p_)) ++p_;
    } else {
      return false;
    }
    bool integral = true;
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (!digits()) return false;
      integral = false;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digits()) return false;
      integral = false;
    }
    const std::string_view token = since(start);
    // Short integers cannot overflow a double (its largest has 309 digits); others are checked.
    if (!(integral && token.size() <= 300) && !json_number_fits_double(token)) return false;
    sink_.number(token, integral);
    return true;
  }

  bool digits() noexcept {
    if (p_ == end_ || !json_digit(*p_)) return false;
    while (p_ != end_ && json_digit(*p_)) ++p_;
    return true;
  }

  void skip_space() noexcept {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  const unsigned char* p_;
  const unsigned char* const end_;
  Sink& sink_;
  std::string& stack_;  // the closing bracket of each open container
};

template <class Sink>
const char* scan_json_value(const char* begin, const char* end, Sink& sink, std::string& stack) {
  return JsonScanner<Sink>{begin, end, sink, stack}.run();
}

// The value of a string body the scanner accepted (escapes decoded; the rest copied), appended
// to `out`. Only for scanned text: it does not check the escapes again.
void decode_json_string(std::string_view body, std::string& out);

}  // namespace keel::detail
