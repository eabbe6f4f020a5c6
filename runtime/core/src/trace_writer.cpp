// keel/core/trace_writer.cpp — canonical JSON rendering and the trace hash.
#include "keel/core/trace_writer.h"

#include <bit>
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

template <class Int>
void append_integer(std::string& out, Int v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_double(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
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
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;  // start of the pending run of bytes copied verbatim
  std::size_t i = 0;
  const auto flush = [&] { out.append(s.data() + run, i - run); };
  while (i < s.size()) {
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
      out += "\\ufffd";
    } else {
      flush();
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
      }
    }
    run = ++i;
  }
  flush();
  out += '"';
}

void append_canonical_json(std::string& out, const Event& e) {
  out += "{\"t\":";
  append_integer(out, e.time.time_since_epoch().count());
  out += ",\"kind\":";
  append_json_string(out, e.kind);
  for (const Attr& a : e.attrs) {
    out += ',';
    append_json_string(out, a.key);
    out += ':';
    switch (a.value.index()) {
      case 0: append_integer(out, *std::get_if<0>(&a.value)); break;
      case 1: append_integer(out, *std::get_if<1>(&a.value)); break;
      case 2: append_double(out, *std::get_if<2>(&a.value)); break;
      case 3: out += *std::get_if<3>(&a.value) ? "true" : "false"; break;
      case 4: append_json_string(out, *std::get_if<4>(&a.value)); break;
      default: out += "null"; break;  // valueless (cannot happen: all alternatives are trivial)
    }
  }
  out += '}';
}

void TraceWriter::on_event(const Event& e) {
  line_.clear();
  append_canonical_json(line_, e);
  line_ += '\n';
  hash_.update(line_);
  if (out_) out_->write(line_.data(), static_cast<std::streamsize>(line_.size()));
  ++lines_;
}

}  // namespace keel
