// keel/core/trace_writer.cpp — canonical JSON rendering and the trace hash.
#include "keel/core/trace_writer.h"

#include <bit>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ostream>

namespace keel {
namespace {

constexpr std::uint64_t rotl64(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

inline std::uint64_t load_le64(const unsigned char* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  if constexpr (std::endian::native == std::endian::big) {
    std::uint64_t r = 0;
    for (int i = 0; i < 8; ++i) r |= std::uint64_t{p[i]} << (8 * i);
    w = r;
  }
  return w;
}

inline std::uint64_t hash_step(std::uint64_t acc, std::uint64_t w) noexcept {
  acc ^= rotl64(w * TraceHash::P2, 31) * TraceHash::P1;
  return rotl64(acc, 27) * TraceHash::P1 + TraceHash::P4;
}

// Length of the valid UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0 if invalid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
  const auto at = [&](std::size_t k) -> unsigned { return static_cast<unsigned char>(s[k]); };
  const unsigned b0 = at(i);
  std::size_t len;
  unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) len = 2;
  else if (b0 == 0xE0) len = 3, lo = 0xA0;
  else if (b0 >= 0xE1 && b0 <= 0xEF) len = 3, hi = (b0 == 0xED ? 0x9F : 0xBF);  // no surrogates
  else if (b0 == 0xF0) len = 4, lo = 0x90;
  else if (b0 >= 0xF1 && b0 <= 0xF3) len = 4;
  else if (b0 == 0xF4) len = 4, hi = 0x8F;  // <= U+10FFFF
  else return 0;
  if (i + len > s.size()) return 0;
  if (at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k)
    if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
  return len;
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

// Whether any byte of the word is a control byte, '"', '\\' or non-ASCII (SWAR; false
// positives are harmless: the caller then looks at the bytes one by one).
constexpr bool needs_care(std::uint64_t w) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  const auto has_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  const std::uint64_t below_space = (w - kOnes * 0x20) & ~w & kHigh;
  return (below_space | has_zero(w ^ (kOnes * '"')) | has_zero(w ^ (kOnes * '\\')) | (w & kHigh)) != 0;
}

// Writes `s` as a JSON string literal; needs json_string_bound(s) bytes.
char* put_json_string(char* p, std::string_view s) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  *p++ = '"';
  std::size_t run = 0;  // start of the pending run of bytes copied verbatim
  std::size_t i = 0;
  const auto flush = [&] {
    std::memcpy(p, s.data() + run, i - run);
    p += i - run;
  };
  while (i < s.size()) {
    if (i + 8 <= s.size() && !needs_care(load_le64(reinterpret_cast<const unsigned char*>(s.data()) + i))) {
      i += 8;  // eight plain ASCII bytes at once
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (const std::size_t len = utf8_sequence_length(s, i)) {
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
    acc_ = hash_step(acc_, load_le64(buf_));
    buf_len_ = 0;
  }
  for (; n >= 8; p += 8, n -= 8) acc_ = hash_step(acc_, load_le64(p));
  if (n != 0) std::memcpy(buf_, p, n);
  buf_len_ = n;
}

std::uint64_t TraceHash::digest() const noexcept {
  std::uint64_t acc = acc_;
  if (buf_len_ != 0) {
    unsigned char tail[8] = {};
    std::memcpy(tail, buf_, buf_len_);
    acc = hash_step(acc, load_le64(tail));
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
