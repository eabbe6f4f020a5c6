// keel/core/trace_writer.cpp — canonical JSON rendering and the trace hash.
#include "keel/core/trace_writer.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ostream>

#include "keel/core/detail/json_bytes.h"

namespace keel {
namespace {

// The renderer writes through a raw pointer into space reserved from an upper bound
// (json_string_bound, canonical_json_bound): no capacity check per piece.

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

// `shown`: e.shown_ids(), computed once for the bound and the line.
std::size_t canonical_json_bound(const Event& e, unsigned shown) noexcept {
  std::size_t n = 16 + kNumberBound + json_string_bound(e.kind);  // {"t":<n>,"kind":<s>}
  for_each_attr(e, shown, [&n](const Attr& a) {
    n += 2 + json_string_bound(a.key);  // ,<key>:
    const auto* s = std::get_if<std::string_view>(&a.value);
    n += s ? json_string_bound(*s) : kNumberBound;
  });
  return n;
}

// Writes the canonical object; needs canonical_json_bound(e, shown) bytes.
char* put_canonical_json(char* p, const Event& e, unsigned shown) noexcept {
  p = put(p, "{\"t\":");
  p = put_integer(p, e.time.time_since_epoch().count());
  p = put(p, ",\"kind\":");
  p = write_json_string(p, e.kind);
  for_each_attr(e, shown, [&p](const Attr& a) {
    *p++ = ',';
    p = write_json_string(p, a.key);
    *p++ = ':';
    switch (a.value.index()) {
      case 0: p = put_integer(p, *std::get_if<0>(&a.value)); break;
      case 1: p = put_integer(p, *std::get_if<1>(&a.value)); break;
      case 2: p = put_double(p, *std::get_if<2>(&a.value)); break;
      case 3: p = put(p, *std::get_if<3>(&a.value) ? "true" : "false"); break;
      case 4: p = write_json_string(p, *std::get_if<4>(&a.value)); break;
      default: p = put(p, "null"); break;  // valueless (cannot happen: all alternatives are trivial)
    }
  });
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

// --- keel trace hash v2 (see trace_writer.h) ---

constexpr std::uint64_t kTagNonNegative = 1, kTagNegative = 2, kTagNumber = 3, kTagFalse = 4, kTagTrue = 5,
                        kTagNull = 6;

inline std::uint64_t hash_pair(std::uint64_t acc, std::uint64_t x, std::uint64_t y) noexcept {
  __extension__ typedef unsigned __int128 u128;
  const std::uint64_t a = acc ^ x ^ TraceHash::K0;
  const std::uint64_t b = y ^ TraceHash::K1;
  const u128 p = static_cast<u128>(a) * b;
  return a ^ b ^ static_cast<std::uint64_t>(p) ^ static_cast<std::uint64_t>(p >> 64);
}

// p[0..n), n <= 8, as a zero-padded little-endian word (reads only those bytes).
inline std::uint64_t load_short(const unsigned char* p, std::size_t n) noexcept {
  if constexpr (std::endian::native != std::endian::little) {
    std::uint64_t w = 0;
    for (std::size_t k = 0; k < n; ++k) w |= std::uint64_t{p[k]} << (8 * k);
    return w;
  }
  if (n >= 4) {
    std::uint32_t lo, hi;  // two overlapping loads (equal bytes where they overlap)
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + n - 4, 4);
    return lo | (std::uint64_t{hi} << (8 * (n - 4)));
  }
  if (n == 0) return 0;
  // 1..3 bytes: first, middle and last (some of them the same byte), no loop.
  return std::uint64_t{p[0]} | (std::uint64_t{p[n / 2]} << (8 * (n / 2))) | (std::uint64_t{p[n - 1]} << (8 * (n - 1)));
}

// The last r (1..8) bytes of p[0..n), n >= 8, as a zero-padded little-endian word.
inline std::uint64_t load_last(const unsigned char* p, std::size_t n, std::size_t r) noexcept {
  return detail::load_le64(p + n - 8) >> (8 * (8 - r));
}

// Two multiply chains side by side: `a` takes the next pair, then the lanes trade places.
struct Lanes {
  std::uint64_t a, b, pairs;
  void fold(std::uint64_t x, std::uint64_t y) noexcept {
    const std::uint64_t r = hash_pair(a, x, y);
    a = b;
    b = r;
    ++pairs;
  }
  void fold_integer(std::int64_t v) noexcept { fold(v >= 0 ? kTagNonNegative : kTagNegative, static_cast<std::uint64_t>(v)); }
  // A double as the number its JSON token reads back as: an integer token if to_chars writes
  // one that fits 64 bits (100.0 → "100"), else binary64 bits; null if not finite.
  void fold_number(double v) noexcept {
    if (!std::isfinite(v)) return fold(kTagNull, 0);
    char text[kNumberBound];
    const char* end = std::to_chars(text, text + sizeof text, v).ptr;
    if (std::string_view(text, end).find_first_of(".eE") == std::string_view::npos) {
      std::int64_t i;
      std::uint64_t u;
      if (text[0] == '-' && std::from_chars(text, end, i).ec == std::errc{}) return fold_integer(i);
      if (text[0] != '-' && std::from_chars(text, end, u).ec == std::errc{}) return fold(kTagNonNegative, u);
    }
    fold(kTagNumber, std::bit_cast<std::uint64_t>(v));
  }
  // Folds the string's words as they are; returns the OR of its data words, so the caller
  // can tell whether any byte is >= 0x80.
  std::uint64_t fold_raw_string(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    const std::uint64_t head = std::uint64_t{n} << 3;
    if (n <= 8) {
      const std::uint64_t w = load_short(p, n);
      fold(head, w);
      return w;
    }
    std::uint64_t x = detail::load_le64(p), y, seen = x;
    fold(head, x);
    std::size_t i = 8;
    for (; n - i >= 16; i += 16) {
      x = detail::load_le64(p + i);
      y = detail::load_le64(p + i + 8);
      seen |= x | y;
      fold(x, y);
    }
    const std::size_t r = n - i;  // 0..15 bytes left
    if (r > 8) {
      x = detail::load_le64(p + i);
      y = load_last(p, n, r - 8);
      seen |= x | y;
      fold(x, y);
    } else if (r > 0) {
      x = load_last(p, n, r);
      seen |= x;
      fold(x, 0);
    }
    return seen;
  }
  void fold_string(std::string_view s, std::string& repaired) {
    const Lanes before = *this;
    if ((fold_raw_string(s) & 0x8080808080808080ULL) == 0) return;
    if (is_valid_utf8(s)) return;
    // Rare: hash the string's JSON value, each byte of an invalid sequence replaced by U+FFFD.
    *this = before;
    utf8_replaced(s, repaired);
    fold_raw_string(repaired);
  }
};

// The ids' keys as the one zero-padded little-endian word a string of <= 8 bytes hashes as
// (fold_raw_string: its length word, then this word).
constexpr std::array<std::uint64_t, kTraceIdKeys.size()> kTraceIdKeyWords = [] {
  std::array<std::uint64_t, kTraceIdKeys.size()> words{};
  for (std::size_t i = 0; i < kTraceIdKeys.size(); ++i) {
    for (std::size_t k = 0; k < kTraceIdKeys[i].size(); ++k)
      words[i] |= std::uint64_t{static_cast<unsigned char>(kTraceIdKeys[i][k])} << (8 * k);
  }
  return words;
}();
static_assert(std::all_of(kTraceIdKeys.begin(), kTraceIdKeys.end(), [](std::string_view k) {
  return k.size() <= 8 && std::all_of(k.begin(), k.end(), [](char c) { return c > 0; });  // one word, ASCII
}));

}  // namespace

void TraceHash::add(const Event& e) {
  Lanes l{lanes_[pairs_ % 2], lanes_[(pairs_ + 1) % 2], pairs_};
  const unsigned shown = e.shown_ids();
  l.fold(static_cast<std::uint64_t>(e.time.time_since_epoch().count()), attr_count(e, shown));
  l.fold_string(e.kind, repaired_);
  // for_each_attr's attributes in its order, written out: a callback capturing the lanes keeps
  // them in memory (+1 % instructions over a simulated hour), and each id's key is a constant.
  for (const Attr& a : e.attrs) {
    l.fold_string(a.key, repaired_);
    switch (a.value.index()) {
      case 0: l.fold_integer(*std::get_if<0>(&a.value)); break;
      case 1: l.fold(kTagNonNegative, *std::get_if<1>(&a.value)); break;
      case 2: l.fold_number(*std::get_if<2>(&a.value)); break;
      case 3: l.fold(*std::get_if<3>(&a.value) ? kTagTrue : kTagFalse, 0); break;
      case 4: l.fold_string(*std::get_if<4>(&a.value), repaired_); break;
      default: l.fold(kTagNull, 0); break;  // valueless (cannot happen: all alternatives are trivial)
    }
  }
  for (std::size_t i = 0; i < kTraceIdKeys.size(); ++i) {
    if (!((shown >> i) & 1u)) continue;
    l.fold(std::uint64_t{kTraceIdKeys[i].size()} << 3, kTraceIdKeyWords[i]);  // the key, as fold_string
    l.fold_integer(static_cast<std::int64_t>(trace_id(*e.ids, i)));
  }
  pairs_ = l.pairs;
  lanes_[pairs_ % 2] = l.a;  // the lane of the next pair
  lanes_[(pairs_ + 1) % 2] = l.b;
  ++events_;
}

std::uint64_t TraceHash::digest() const noexcept {
  std::uint64_t h = hash_pair(lanes_[0], lanes_[1], 2 * pairs_);
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

std::string to_hex16(std::uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = kDigits[v & 0xF];
  return s;
}

void append_canonical_json(std::string& out, const Event& e) {
  const unsigned shown = e.shown_ids();
  append_bounded(out, canonical_json_bound(e, shown), [&](char* p) { return put_canonical_json(p, e, shown); });
}

void TraceWriter::on_event(const Event& e) {
  hash_.add(e);
  if (!out_) return;
  const unsigned shown = e.shown_ids();
  const std::size_t bound = canonical_json_bound(e, shown) + 1;
  if (bound > capacity_) {
    capacity_ = std::max(bound, 2 * capacity_);
    line_ = std::make_unique_for_overwrite<char[]>(capacity_);
  }
  char* end = put_canonical_json(line_.get(), e, shown);
  *end++ = '\n';
  const auto size = static_cast<std::size_t>(end - line_.get());
  out_->write(line_.get(), static_cast<std::streamsize>(size));
  bytes_ += size;
}

}  // namespace keel
