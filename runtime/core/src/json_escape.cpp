// keel/core/json_escape.cpp — the JSON string escaper (json_escape.h): one loop, written once,
// into two kinds of output (a raw pointer into reserved space, for the trace writer's bounded
// lines; a std::string, for everything else).
#include "keel/core/json_escape.h"

#include <array>
#include <cstdint>
#include <cstring>

#include "keel/core/detail/json_bytes.h"

namespace keel {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Printable ASCII other than '"' and '\\': copied as is.
constexpr auto kPlainByte = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return plain;
}();

// memcpy for the short runs of a trace line, inline: at most two loads and two stores of
// overlapping words for n <= 16, the library call beyond.
inline void copy_short(char* out, const unsigned char* in, std::size_t n) noexcept {
  if (n >= 8) {
    if (n > 16) {
      std::memcpy(out, in, n);
      return;
    }
    std::uint64_t head, tail;
    std::memcpy(&head, in, 8);
    std::memcpy(&tail, in + n - 8, 8);
    std::memcpy(out, &head, 8);
    std::memcpy(out + n - 8, &tail, 8);
  } else if (n >= 4) {
    std::uint32_t head, tail;
    std::memcpy(&head, in, 4);
    std::memcpy(&tail, in + n - 4, 4);
    std::memcpy(out, &head, 4);
    std::memcpy(out + n - 4, &tail, 4);
  } else {
    for (std::size_t k = 0; k < n; ++k) out[k] = static_cast<char>(in[k]);
  }
}

// Output into space reserved by the caller.
struct PointerOut {
  char* p;
  void bytes(const unsigned char* in, std::size_t n) noexcept {
    copy_short(p, in, n);
    p += n;
  }
  void text(std::string_view s) noexcept {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
};

// Output appended to a string.
struct StringOut {
  std::string& s;
  void bytes(const unsigned char* in, std::size_t n) { s.append(reinterpret_cast<const char*>(in), n); }
  void text(std::string_view t) { s.append(t); }
};

// The escaper: plain runs copied whole (found eight bytes at a time), each other byte written
// by the contract's rules.
template <class Out>
void escape(Out& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.text("\"");
  const auto* bytes = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t run = 0;  // start of the pending run of bytes copied verbatim
  std::size_t i = 0;
  for (;;) {
    while (i + 8 <= n && !detail::word_needs_json_care(detail::load_le64(bytes + i))) i += 8;  // plain words
    while (i < n && kPlainByte[bytes[i]]) ++i;
    if (i == n) break;
    const unsigned char c = bytes[i];
    if (c >= 0x80) {
      if (const std::size_t len = detail::utf8_sequence_length(bytes + i, n - i)) {
        i += len;  // valid UTF-8: part of the run
        continue;
      }
      out.bytes(bytes + run, i - run);
      out.text(kReplacement);
    } else {
      out.bytes(bytes + run, i - run);
      switch (c) {
        case '"': out.text("\\\""); break;
        case '\\': out.text("\\\\"); break;
        case '\b': out.text("\\b"); break;
        case '\f': out.text("\\f"); break;
        case '\n': out.text("\\n"); break;
        case '\r': out.text("\\r"); break;
        case '\t': out.text("\\t"); break;
        default: {
          const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
          out.text({esc, sizeof esc});
        }
      }
    }
    run = ++i;
  }
  out.bytes(bytes + run, i - run);
  out.text("\"");
}

}  // namespace

char* write_json_string(char* out, std::string_view s) noexcept {
  PointerOut o{out};
  escape(o, s);
  return o.p;
}

void append_json_string(std::string& out, std::string_view s) {
  out.reserve(out.size() + s.size() + 2);  // the usual case: nothing to escape
  StringOut o{out};
  escape(o, s);
}

bool is_valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (std::size_t i = 0; i < s.size();) {
    if (p[i] < 0x80) {
      ++i;
    } else if (const std::size_t len = detail::utf8_sequence_length(p + i, s.size() - i)) {
      i += len;
    } else {
      return false;
    }
  }
  return true;
}

void utf8_replaced(std::string_view s, std::string& out) {
  out.clear();
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = p[i] < 0x80 ? 1 : detail::utf8_sequence_length(p + i, s.size() - i);
    if (len == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(s.data() + i, len);
      i += len;
    }
  }
}

}  // namespace keel
