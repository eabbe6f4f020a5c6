#include "json_writer.h"

#include <charconv>

#include "keel/core/detail/json_bytes.h"

namespace keel::live {

namespace {

// Length of the valid UTF-8 sequence at s[i] (a non-ASCII byte), or 0 if invalid (RFC 3629).
std::size_t utf8_length(std::string_view s, std::size_t i) noexcept {
  return keel::detail::utf8_sequence_length(reinterpret_cast<const unsigned char*>(s.data()) + i, s.size() - i);
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
