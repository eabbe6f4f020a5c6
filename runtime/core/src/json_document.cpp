// keel/core/json_document.cpp — see the header.
#include "keel/core/json_document.h"

#include <charconv>
#include <clocale>
#include <cmath>
#include <cstdlib>
#include <locale.h>

#include "keel/core/detail/json_bytes.h"

namespace keel {

struct JsonDocument::Parser {
  JsonDocument& doc;
  const char* p;
  const char* end;
  int depth = 0;

  static bool is_ws(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  void skip_ws() noexcept {
    while (p != end && is_ws(*p)) ++p;
  }
  bool literal(std::string_view word) noexcept {
    if (static_cast<std::size_t>(end - p) < word.size() || std::string_view(p, word.size()) != word) return false;
    p += word.size();
    return true;
  }

  std::uint32_t add() {
    doc.nodes_.emplace_back();
    return static_cast<std::uint32_t>(doc.nodes_.size() - 1);
  }

  // One value at p (whitespace skipped by the caller) into node i.
  bool value(std::uint32_t i) {
    if (p == end) return false;
    const char* start = p;
    bool ok = true;
    switch (*p) {
      case '{': ok = object(i); break;
      case '[': ok = array(i); break;
      case '"': {
        std::string_view s;
        ok = string(s);
        doc.nodes_[i].type = JsonValue::Type::string;
        doc.nodes_[i].text = s;
        break;
      }
      case 't':
        ok = literal("true");
        doc.nodes_[i].type = JsonValue::Type::boolean;
        doc.nodes_[i].boolean = true;
        break;
      case 'f':
        ok = literal("false");
        doc.nodes_[i].type = JsonValue::Type::boolean;
        break;
      case 'n':
        ok = literal("null");
        break;
      default:
        ok = number(i);
    }
    if (ok) doc.nodes_[i].raw = std::string_view(start, static_cast<std::size_t>(p - start));
    return ok;
  }

  bool enter() {
    if (++depth > kMaxDepth) {
      doc.too_deep_ = true;
      return false;
    }
    return true;
  }

  // A new last child of container `i`, linked after `last` (which it becomes).
  std::uint32_t add_child(std::uint32_t i, std::uint32_t& last) {
    const std::uint32_t child = add();
    if (last == JsonValue::kNone) {
      doc.nodes_[i].first = child;
    } else {
      doc.nodes_[last].next = child;
    }
    last = child;
    ++doc.nodes_[i].size;
    return child;
  }

  enum class After { more, closed, bad };
  // After a member or element: ',' and more to come, or `close` ending the container.
  After after_element(char close) {
    skip_ws();
    if (p == end) return After::bad;
    if (*p == ',') {
      ++p;
      skip_ws();
      return After::more;
    }
    if (*p != close) return After::bad;
    ++p;
    --depth;
    return After::closed;
  }

  bool object(std::uint32_t i) {
    if (!enter()) return false;
    doc.nodes_[i].type = JsonValue::Type::object;
    ++p;  // '{'
    skip_ws();
    if (p != end && *p == '}') {
      ++p;
      --depth;
      return true;
    }
    std::uint32_t last = JsonValue::kNone;
    for (;;) {
      if (p == end || *p != '"') return false;
      std::string_view key;
      if (!string(key)) return false;
      skip_ws();
      if (p == end || *p != ':') return false;
      ++p;
      skip_ws();
      const std::uint32_t child = add_child(i, last);
      doc.nodes_[child].key = key;
      if (!value(child)) return false;
      const After after = after_element('}');
      if (after != After::more) return after == After::closed;
    }
  }

  bool array(std::uint32_t i) {
    if (!enter()) return false;
    doc.nodes_[i].type = JsonValue::Type::array;
    ++p;  // '['
    skip_ws();
    if (p != end && *p == ']') {
      ++p;
      --depth;
      return true;
    }
    std::uint32_t last = JsonValue::kNone;
    for (;;) {
      if (!value(add_child(i, last))) return false;
      const After after = after_element(']');
      if (after != After::more) return after == After::closed;
    }
  }

  bool number(std::uint32_t i) {
    const char* start = p;
    if (p != end && *p == '-') ++p;
    if (p == end) return false;
    if (*p == '0') {
      ++p;
    } else if (*p >= '1' && *p <= '9') {
      while (p != end && *p >= '0' && *p <= '9') ++p;
    } else {
      return false;
    }
    bool integral = true;
    if (p != end && *p == '.') {
      integral = false;
      ++p;
      if (p == end || *p < '0' || *p > '9') return false;
      while (p != end && *p >= '0' && *p <= '9') ++p;
    }
    if (p != end && (*p == 'e' || *p == 'E')) {
      integral = false;
      ++p;
      if (p != end && (*p == '+' || *p == '-')) ++p;
      if (p == end || *p < '0' || *p > '9') return false;
      while (p != end && *p >= '0' && *p <= '9') ++p;
    }
    JsonValue& v = doc.nodes_[i];
    if (integral) {
      std::int64_t n = 0;
      const auto r = std::from_chars(start, p, n);
      if (r.ec == std::errc{} && r.ptr == p) {
        v.type = JsonValue::Type::integer;
        v.integer = n;
        return true;
      }
    }
    v.type = JsonValue::Type::number;
    return finite_double(start, p);
  }

  // nlohmann refuses a number that overflows a double (strtod gives inf); underflow is fine.
  static bool finite_double(const char* first, const char* last) {
    static const locale_t c_locale = newlocale(LC_NUMERIC_MASK, "C", nullptr);
    const std::string text(first, last);
    return std::isfinite(strtod_l(text.c_str(), nullptr, c_locale));
  }

  static int hex(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  bool u4(std::uint32_t& out) noexcept {
    if (end - p < 4) return false;
    out = 0;
    for (int k = 0; k < 4; ++k) {
      const int h = hex(p[k]);
      if (h < 0) return false;
      out = out << 4 | static_cast<std::uint32_t>(h);
    }
    p += 4;
    return true;
  }
  static void put_utf8(std::string& s, std::uint32_t cp) {
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

  // A UTF-8 sequence starting with the non-ASCII byte at p (RFC 3629, as nlohmann checks it).
  bool utf8() noexcept {
    const std::size_t n = keel::detail::utf8_sequence_length(reinterpret_cast<const unsigned char*>(p),
                                                       static_cast<std::size_t>(end - p));
    p += n;
    return n != 0;
  }

  // A string at p (the opening quote); `out` views the input, or decoded storage if escaped.
  bool string(std::string_view& out) {
    ++p;  // '"'
    const char* start = p;
    std::string* decoded = nullptr;
    const char* copied = start;  // input before this is already in *decoded
    for (;;) {
      if (p == end) return false;
      const unsigned char c = static_cast<unsigned char>(*p);
      if (c == '"') break;
      if (c < 0x20) return false;
      if (c >= 0x80) {
        if (!utf8()) return false;
        continue;
      }
      if (c != '\\') {
        ++p;
        continue;
      }
      if (!decoded) decoded = &doc.decoded_.emplace_front();
      decoded->append(copied, p);
      ++p;
      if (p == end) return false;
      const char e = *p++;
      switch (e) {
        case '"': *decoded += '"'; break;
        case '\\': *decoded += '\\'; break;
        case '/': *decoded += '/'; break;
        case 'b': *decoded += '\b'; break;
        case 'f': *decoded += '\f'; break;
        case 'n': *decoded += '\n'; break;
        case 'r': *decoded += '\r'; break;
        case 't': *decoded += '\t'; break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!u4(cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // a low surrogate first
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t low = 0;
            if (end - p < 2 || p[0] != '\\' || p[1] != 'u') return false;
            p += 2;
            if (!u4(low) || low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          put_utf8(*decoded, cp);
          break;
        }
        default:
          return false;
      }
      copied = p;
    }
    if (decoded) {
      decoded->append(copied, p);
      out = *decoded;
    } else {
      out = std::string_view(start, static_cast<std::size_t>(p - start));
    }
    ++p;  // '"'
    return true;
  }
};

bool JsonDocument::parse(std::string_view text) {
  nodes_.clear();
  decoded_.clear();
  too_deep_ = false;
  if (nodes_.capacity() < 64) nodes_.reserve(64);  // a typical answer or stream event fits
  Parser parser{*this, text.data(), text.data() + text.size()};
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") parser.p += 3;  // a BOM, as nlohmann allows
  parser.skip_ws();
  nodes_.emplace_back();
  if (!parser.value(0)) {
    nodes_.clear();  // root() is null
    return false;
  }
  parser.skip_ws();
  // nlohmann's lexer takes a NUL byte for the end of input; so do we, after the value.
  if (parser.p != parser.end && *parser.p != '\0') {
    nodes_.clear();
    return false;
  }
  return true;
}

const JsonValue JsonDocument::kNull{};

void JsonDocument::trim(std::size_t max_nodes) noexcept {
  decoded_.clear();
  if (nodes_.capacity() > max_nodes) {
    nodes_.clear();
    nodes_.shrink_to_fit();
  }
}

const JsonValue* JsonDocument::member(const JsonValue& object, std::string_view key) const noexcept {
  if (object.type != JsonValue::Type::object) return nullptr;
  const JsonValue* found = nullptr;
  for (const JsonValue* m = first(object); m; m = next(*m)) {
    if (m->key == key) found = m;
  }
  return found;
}

}  // namespace keel
