// keel/core/trace_writer.cpp — canonical JSON rendering and the trace hash.
#include "keel/core/trace_writer.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ostream>

#include "keel/core/detail/json_bytes.h"

namespace keel {
namespace {

constexpr std::uint64_t rotl64(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

inline std::uint64_t hash_step(std::uint64_t acc, std::uint64_t w) noexcept {
  acc ^= rotl64(w * TraceHash::P2, 31) * TraceHash::P1;
  return rotl64(acc, 27) * TraceHash::P1 + TraceHash::P4;
}

// The renderer writes through a raw pointer into space reserved from an upper bound
// (json_string_bound, canonical_json_bound): no capacity check per piece.

constexpr std::size_t json_string_bound(std::string_view s) noexcept { return 6 * s.size() + 2; }
constexpr std::size_t kNumberBound = 32;  // int64, uint64, shortest double, "null"/"false"

inline char* put(char* p, std::string_view s) noexcept {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

template <class Int>
char* put_integer(char* p, Int v) noexcept {
  return std::to_chars(p, p + kNumberBound, v).ptr;
}

char* put_double(char* p, double v) noexcept {
  if (!std::isfinite(v)) return put(p, "null");
  return std::to_chars(p, p + kNumberBound, v).ptr;
}

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

// Printable ASCII other than '"' and '\\': copied as is.
constexpr auto kPlainByte = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return plain;
}();

// Writes `s` as a JSON string literal; needs json_string_bound(s) bytes.
char* put_json_string(char* p, std::string_view s) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  *p++ = '"';
  const auto* bytes = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t run = 0;  // start of the pending run of bytes copied verbatim
  std::size_t i = 0;
  const auto flush = [&] {
    copy_short(p, bytes + run, i - run);
    p += i - run;
  };
  const std::size_t n = s.size();
  for (;;) {
    while (i + 8 <= n && !detail::word_needs_json_care(detail::load_le64(bytes + i))) i += 8;  // plain words
    while (i < n && kPlainByte[bytes[i]]) ++i;
    if (i == n) break;
    const unsigned char c = bytes[i];
    if (c >= 0x80) {
      if (const std::size_t len = detail::utf8_sequence_length(bytes + i, s.size() - i)) {
        i += len;
        continue;
      }
      flush();
      p = put(p, "\\ufffd");
    } else {
      flush();
      *p++ = '\\';
      switch (c) {
        case '"': *p++ = '"'; break;
        case '\\': *p++ = '\\'; break;
        case '\b': *p++ = 'b'; break;
        case '\f': *p++ = 'f'; break;
        case '\n': *p++ = 'n'; break;
        case '\r': *p++ = 'r'; break;
        case '\t': *p++ = 't'; break;
        default:
          p = put(p, "u00");
          *p++ = kHex[c >> 4];
          *p++ = kHex[c & 0xF];
      }
    }
    run = ++i;
  }
  flush();
  *p++ = '"';
  return p;
}

std::size_t canonical_json_bound(const Event& e) noexcept {
  std::size_t n = 16 + kNumberBound + json_string_bound(e.kind);  // {"t":<n>,"kind":<s>}
  for (const Attr& a : e.attrs) {
    n += 2 + json_string_bound(a.key);  // ,<key>:
    const auto* s = std::get_if<std::string_view>(&a.value);
    n += s ? json_string_bound(*s) : kNumberBound;
  }
  return n;
}

// Writes the canonical object; needs canonical_json_bound(e) bytes.
char* put_canonical_json(char* p, const Event& e) noexcept {
  p = put(p, "{\"t\":");
  p = put_integer(p, e.time.time_since_epoch().count());
  p = put(p, ",\"kind\":");
  p = put_json_string(p, e.kind);
  for (const Attr& a : e.attrs) {
    *p++ = ',';
    p = put_json_string(p, a.key);
    *p++ = ':';
    switch (a.value.index()) {
      case 0: p = put_integer(p, *std::get_if<0>(&a.value)); break;
      case 1: p = put_integer(p, *std::get_if<1>(&a.value)); break;
      case 2: p = put_double(p, *std::get_if<2>(&a.value)); break;
      case 3: p = put(p, *std::get_if<3>(&a.value) ? "true" : "false"); break;
      case 4: p = put_json_string(p, *std::get_if<4>(&a.value)); break;
      default: p = put(p, "null"); break;  // valueless (cannot happen: all alternatives are trivial)
    }
  }
  *p++ = '}';
  return p;
}

// Appends through `put_*` into `out` after reserving `bound` bytes.
template <class Writer>
void append_bounded(std::string& out, std::size_t bound, Writer write) {
  const std::size_t at = out.size();
  out.resize(at + bound);
  char* const begin = out.data() + at;
  out.resize(at + static_cast<std::size_t>(write(begin) - begin));
}

}  // namespace

void TraceHash::update(std::string_view bytes) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t n = bytes.size();
  if (n == 0) return;  // also avoids memcpy from a null data()
  total_ += n;
  if (buf_len_ != 0) {
    const std::size_t take = n < 8 - buf_len_ ? n : 8 - buf_len_;
    std::memcpy(buf_ + buf_len_, p, take);
    buf_len_ += take;
    p += take;
    n -= take;
    if (buf_len_ < 8) return;
    acc_ = hash_step(acc_, detail::load_le64(buf_));
    buf_len_ = 0;
  }
  std::uint64_t acc = acc_;  // a local: stores through `this` could alias the input bytes
  for (; n >= 8; p += 8, n -= 8) acc = hash_step(acc, detail::load_le64(p));
  acc_ = acc;
  if (n != 0) std::memcpy(buf_, p, n);
  buf_len_ = n;
}

std::uint64_t TraceHash::digest() const noexcept {
  std::uint64_t acc = acc_;
  if (buf_len_ != 0) {
    unsigned char tail[8] = {};
    std::memcpy(tail, buf_, buf_len_);
    acc = hash_step(acc, detail::load_le64(tail));
  }
  acc ^= total_;
  acc ^= acc >> 33;
  acc *= P2;
  acc ^= acc >> 29;
  acc *= P3;
  acc ^= acc >> 32;
  return acc;
}

std::string to_hex16(std::uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = kDigits[v & 0xF];
  return s;
}

void append_json_string(std::string& out, std::string_view s) {
  append_bounded(out, json_string_bound(s), [&](char* p) { return put_json_string(p, s); });
}

void append_canonical_json(std::string& out, const Event& e) {
  append_bounded(out, canonical_json_bound(e), [&](char* p) { return put_canonical_json(p, e); });
}

void TraceWriter::on_event(const Event& e) {
  const std::size_t bound = canonical_json_bound(e) + 1;
  if (bound > capacity_) {
    capacity_ = std::max(bound, 2 * capacity_);
    line_ = std::make_unique_for_overwrite<char[]>(capacity_);
  }
  char* end = put_canonical_json(line_.get(), e);
  *end++ = '\n';
  const std::string_view line{line_.get(), static_cast<std::size_t>(end - line_.get())};
  hash_.update(line);
  if (out_) out_->write(line.data(), static_cast<std::streamsize>(line.size()));
  ++lines_;
}

}  // namespace keel
