#include "json_writer.h"

#include <charconv>

namespace keel::live {

namespace {

// Length of the valid UTF-8 sequence at s[i] (a non-ASCII byte), or 0 if invalid (RFC 3629).
std::size_t utf8_length(std::string_view s, std::size_t i) noexcept {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 1;
  } else if (c == 0xE0) {
    n = 2, lo = 0xA0;
  } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    n = 2;
  } else if (c == 0xED) {
    n = 2, hi = 0x9F;
  } else if (c == 0xF0) {
    n = 3, lo = 0x90;
  } else if (c >= 0xF1 && c <= 0xF3) {
    n = 3;
  } else if (c == 0xF4) {
    n = 3, hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() - i <= n) return 0;
  if (b(1) < lo || b(1) > hi) return 0;
  for (std::size_t k = 2; k <= n; ++k) {
    if (b(k) < 0x80 || b(k) > 0xBF) return 0;
  }
  return n + 1;
}

}  // namespace

void JsonWriter::integer(std::int64_t n) {
  separate();
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, n);
  out_.append(buf, r.ptr);
}

void JsonWriter::append_string(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out_.reserve(out_.size() + s.size() + 2);
  out_ += '"';
  std::size_t plain = 0;  // start of the run of bytes copied as they are
  std::size_t i = 0;
  const auto flush = [&] { out_.append(s.data() + plain, i - plain); };
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (const std::size_t n = utf8_length(s, i)) {
        i += n;
        continue;
      }
      flush();
      out_ += "\xEF\xBF\xBD";  // U+FFFD for a byte that does not start a valid sequence
      plain = ++i;
      continue;
    }
    flush();
    switch (c) {
      case '"': out_ += "\\\""; break;
      case '\\': out_ += "\\\\"; break;
      case '\b': out_ += "\\b"; break;
      case '\f': out_ += "\\f"; break;
      case '\n': out_ += "\\n"; break;
      case '\r': out_ += "\\r"; break;
      case '\t': out_ += "\\t"; break;
      default: {
        const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out_.append(esc, sizeof esc);
      }
    }
    plain = ++i;
  }
  flush();
  out_ += '"';
}

}  // namespace keel::live
