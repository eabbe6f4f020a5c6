// keel/core/json_scanner.cpp — decoding a scanned string body (detail/json_scanner.h).
#include "keel/core/detail/json_scanner.h"

namespace keel::detail {
namespace {

void put_utf8(std::string& s, std::uint32_t cp) {
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | cp >> 6);
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | cp >> 12);
    s += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | cp >> 18);
    s += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
    s += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The four hex digits at s[i..i+4) (the scanner checked them).
std::uint32_t code_unit(std::string_view s, std::size_t i) noexcept {
  std::uint32_t v = 0;
  for (std::size_t k = i; k < i + 4; ++k) {
    v = v << 4 | static_cast<std::uint32_t>(json_hex_value(static_cast<unsigned char>(s[k])));
  }
  return v;
}

}  // namespace

void decode_json_string(std::string_view body, std::string& out) {
  out.reserve(out.size() + body.size());
  std::size_t i = 0;
  for (std::size_t slash = body.find('\\'); slash != std::string_view::npos; slash = body.find('\\', i)) {
    out.append(body, i, slash - i);
    const char e = body[slash + 1];
    i = slash + 2;
    switch (e) {
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        std::uint32_t cp = code_unit(body, i);
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {  // a high surrogate: its low one follows as \uXXXX
          cp = 0x10000 + ((cp - 0xD800) << 10) + (code_unit(body, i + 2) - 0xDC00);
          i += 6;
        }
        put_utf8(out, cp);
        break;
      }
      default: out += e;  // '"', '\\', '/'
    }
  }
  out.append(body, i);
}

}  // namespace keel::detail
