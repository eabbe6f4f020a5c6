// keel/core/trace_writer.h — the canonical JSON-lines trace and its determinism hash.
//
// Purpose: "same scenario, seed and build give a byte-identical trace; keel prints its hash"
// (DESIGN.md). TraceWriter is an EventSink that renders each event as one canonical JSON
// line, optionally writes it to a stream, and hashes exactly the bytes it renders.
//
// Contract:
//  - Line format: {"t":<int ns>,"kind":"<kind>","<key>":<value>,...}\n — attributes in
//    emission order, no whitespace. int64/uint64 in decimal; doubles in std::to_chars
//    shortest round-trip form (e.g. 0.1, 1e+20), NaN/inf as null; bools true/false.
//  - Strings (kind, keys, values): '"' and '\\' escaped, \b \f \n \r \t short forms, other
//    bytes < 0x20 as \u00xx (lowercase hex); valid UTF-8 passes through; each byte of an
//    invalid UTF-8 sequence becomes \ufffd. (RFC 8785 string rules, plus that repair.)
//  - hash() is TraceHash over the concatenation of every line including its '\n', so
//    `TraceHash::of(whole_file_text) == writer.hash()`. Not cryptographic.
//  - After warm-up, on_event allocates nothing (one reused line buffer).
//
// Example:
//   std::ofstream file{"trace.jsonl"};
//   TraceWriter trace{&file};                 // or TraceWriter{} to hash only
//   emit(&trace, now, "retry.scheduled", {{"attempt", 2}});
//   std::cout << "trace hash " << trace.hash_hex() << " (" << trace.lines() << " events)\n";
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

#include "keel/core/event.h"

namespace keel {

// keel trace hash v1: a streaming, word-at-a-time 64-bit hash, fully specified here (it is
// XXH64's single-lane round and avalanche; the output is NOT XXH64's):
//   P1..P5 = the XXH64 primes below; acc = P5; n = total byte count.
//   For each 8-byte word w of the input, read little-endian (on every platform):
//     acc ^= rotl64(w * P2, 31) * P1;   acc = rotl64(acc, 27) * P1 + P4
//   If 1..7 bytes remain, zero-pad them to a word (little-endian) and apply the same step.
//   acc ^= n; then avalanche: acc ^= acc >> 33; acc *= P2; acc ^= acc >> 29; acc *= P3;
//   acc ^= acc >> 32. All arithmetic mod 2^64. The result depends only on the byte sequence,
//   not on how it was split across update() calls.
class TraceHash {
 public:
  static constexpr std::uint64_t P1 = 0x9E3779B185EBCA87ULL;
  static constexpr std::uint64_t P2 = 0xC2B2AE3D27D4EB4FULL;
  static constexpr std::uint64_t P3 = 0x165667B19E3779F9ULL;
  static constexpr std::uint64_t P4 = 0x85EBCA77C2B2AE63ULL;
  static constexpr std::uint64_t P5 = 0x27D4EB2F165667C5ULL;

  void update(std::string_view bytes) noexcept;
  // The hash of everything so far; does not end the stream.
  std::uint64_t digest() const noexcept;
  std::uint64_t size() const noexcept { return total_; }
  static std::uint64_t of(std::string_view bytes) noexcept {
    TraceHash h;
    h.update(bytes);
    return h.digest();
  }

 private:
  std::uint64_t acc_ = P5;
  std::uint64_t total_ = 0;
  unsigned char buf_[8] = {};
  std::size_t buf_len_ = 0;
};

// 16 lowercase hex digits.
std::string to_hex16(std::uint64_t v);

// Appends `s` as a JSON string literal (with quotes), using the escaping rules above.
void append_json_string(std::string& out, std::string_view s);
// Appends the canonical JSON object for `e` (no trailing newline).
void append_canonical_json(std::string& out, const Event& e);

class TraceWriter final : public EventSink {
 public:
  // `out` may be null (hash only); it must outlive the writer. Not flushed by the writer.
  explicit TraceWriter(std::ostream* out = nullptr) : out_(out) {}

  void on_event(const Event& e) override;

  std::uint64_t hash() const noexcept { return hash_.digest(); }
  std::string hash_hex() const { return to_hex16(hash()); }
  std::uint64_t lines() const noexcept { return lines_; }
  std::uint64_t bytes() const noexcept { return hash_.size(); }

 private:
  std::ostream* out_;
  std::unique_ptr<char[]> line_;  // reused; grown to the largest line's upper bound
  std::size_t capacity_ = 0;
  TraceHash hash_;
  std::uint64_t lines_ = 0;
};

}  // namespace keel
