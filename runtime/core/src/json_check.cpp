// keel/core/json_check.cpp — one pass, explicit container stack (no recursion: nesting depth is
// bounded by memory, not by the call stack).
#include "keel/core/json_check.h"

#include <bit>
#include <charconv>
#include <cstddef>
#include <string>
#include <system_error>

#include "keel/core/detail/json_bytes.h"

namespace keel {
namespace {

bool is_digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }

int hex_value(unsigned char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Checker {
 public:
  explicit Checker(std::string_view text) noexcept
      : p_(reinterpret_cast<const unsigned char*>(text.data())), end_(p_ + text.size()) {}

  std::optional<JsonType> run() {
    skip_space();
    if (p_ == end_) return std::nullopt;
    const JsonType type = type_of(*p_);
    if (!values()) return std::nullopt;
    skip_space();
    if (p_ != end_) return std::nullopt;
    return type;
  }

 private:
  static JsonType type_of(unsigned char c) noexcept {
    switch (c) {
      case '{': return JsonType::object;
      case '[': return JsonType::array;
      case '"': return JsonType::string;
      case 't':
      case 'f': return JsonType::boolean;
      case 'n': return JsonType::null;
      default: return JsonType::number;
    }
  }

  // Reads one value, containers included, iteratively.
  bool values() {
    for (;;) {
      // A value is expected here.
      skip_space();
      if (p_ == end_) return false;
      if (*p_ == '{' || *p_ == '[') {
        const char close = *p_ == '{' ? '}' : ']';
        ++p_;
        skip_space();
        if (p_ != end_ && *p_ == static_cast<unsigned char>(close)) {
          ++p_;
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
    if (p_ == end_ || *p_ != '"' || !string()) return false;
    skip_space();
    if (p_ == end_ || *p_ != ':') return false;
    ++p_;
    return true;
  }

  bool scalar() {
    switch (*p_) {
      case '"': return string();
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: return number();
    }
  }

  bool literal(std::string_view word) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < word.size()) return false;
    if (std::string_view{reinterpret_cast<const char*>(p_), word.size()} != word) return false;
    p_ += word.size();
    return true;
  }

  bool string() noexcept {
    ++p_;  // the opening quote
    for (;;) {
      // Eight bytes at a time up to the first byte that needs a look (the mask's lowest bit).
      while (end_ - p_ >= 8) {
        const std::uint64_t care = detail::json_care_mask(detail::load_le64(p_));
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
      } else if (c >= 0x80) {
        const std::size_t len = detail::utf8_sequence_length(p_, static_cast<std::size_t>(end_ - p_));
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
      const int h = hex_value(*p_++);
      if (h < 0) return -1;
      v = v * 16 + h;
    }
    return v;
  }

  bool number() noexcept {
    const unsigned char* const start = p_;
    if (*p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ != end_ && is_digit(*p_)) ++p_;
    } else {
      return false;
    }
    bool plain_integer = true;
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (!digits()) return false;
      plain_integer = false;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digits()) return false;
      plain_integer = false;
    }
    // Short integers cannot overflow a double; others are checked (1e400 is rejected).
    if (plain_integer && p_ - start <= 300) return true;
    return fits_double(std::string_view{reinterpret_cast<const char*>(start), static_cast<std::size_t>(p_ - start)});
  }

  bool digits() noexcept {
    if (p_ == end_ || !is_digit(*p_)) return false;
    while (p_ != end_ && is_digit(*p_)) ++p_;
    return true;
  }

  // False when the number's magnitude is beyond the largest double (underflow is fine: it
  // rounds to zero or a subnormal).
  static bool fits_double(std::string_view number) noexcept {
    double value;
    const auto r = std::from_chars(number.data(), number.data() + number.size(), value);
    if (r.ec != std::errc::result_out_of_range) return true;
    // Out of range: overflow iff the leading digit's decimal exponent is not negative.
    const std::size_t sign = number[0] == '-' ? 1 : 0;
    std::size_t int_end = sign;
    while (int_end < number.size() && is_digit(static_cast<unsigned char>(number[int_end]))) ++int_end;
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

  void skip_space() noexcept {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  const unsigned char* p_;
  const unsigned char* end_;
  std::string stack_;  // the closing bracket of each open container; SSO covers shallow nesting
};

}  // namespace

std::optional<JsonType> json_type(std::string_view text) noexcept {
  try {
    return Checker{text}.run();
  } catch (...) {  // only std::bad_alloc from a very deep container stack
    return std::nullopt;
  }
}

}  // namespace keel
