// keel/core/detail/json_bytes.h — byte-level helpers shared by the JSON string escaper
// (json_escape.cpp) and the JSON scanner (detail/json_scanner.h): UTF-8 sequence validation
// and an eight-bytes-at-once test for bytes that need a JSON string's attention.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace keel::detail {

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

// A mask with the high bit set in the byte of the word (little-endian order: byte k is bits
// 8k..8k+7) that is a control byte (< 0x20), '"', '\\' or non-ASCII (SWAR). The lowest set
// bit marks the first such byte exactly; bits above it may be false positives (a borrow), so
// a caller looks at the bytes from there one by one.
constexpr std::uint64_t json_care_mask(std::uint64_t w) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  const auto has_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  const std::uint64_t below_space = (w - kOnes * 0x20) & ~w & kHigh;
  return below_space | has_zero(w ^ (kOnes * '"')) | has_zero(w ^ (kOnes * '\\')) | (w & kHigh);
}

// Whether any byte of the word needs a JSON string's attention. Never a false negative.
constexpr bool word_needs_json_care(std::uint64_t w) noexcept { return json_care_mask(w) != 0; }

// Length of the valid UTF-8 sequence (RFC 3629: no overlongs, no surrogates, <= U+10FFFF)
// starting at p[0], a byte >= 0x80, with `avail` bytes readable from p; 0 if invalid.
inline std::size_t utf8_sequence_length(const unsigned char* p, std::size_t avail) noexcept {
  const unsigned b0 = p[0];
  std::size_t len;
  unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) len = 2;
  else if (b0 == 0xE0) len = 3, lo = 0xA0;
  else if (b0 >= 0xE1 && b0 <= 0xEF) len = 3, hi = (b0 == 0xED ? 0x9F : 0xBF);
  else if (b0 == 0xF0) len = 4, lo = 0x90;
  else if (b0 >= 0xF1 && b0 <= 0xF3) len = 4;
  else if (b0 == 0xF4) len = 4, hi = 0x8F;
  else return 0;
  if (len > avail) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (std::size_t k = 2; k < len; ++k)
    if (p[k] < 0x80 || p[k] > 0xBF) return 0;
  return len;
}

}  // namespace keel::detail
