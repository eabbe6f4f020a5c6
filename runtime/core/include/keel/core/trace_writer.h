// keel/core/trace_writer.h — the canonical JSON-lines trace and its determinism hash.
//
// Purpose: "same scenario, seed and build give a byte-identical trace; keel prints its hash"
// (docs/architecture.md). TraceWriter is an EventSink that hashes every event (TraceHash, below) and,
// when given a stream, writes it as one canonical JSON line. The hash is computed from the
// event's fields, not from rendered text, so `keel run` without --trace renders nothing; it is
// defined over the values the JSON line carries, so the written file determines it (a test
// recomputes it from the file with an independent JSON reader).
//
// Contract:
//  - Line format: {"t":<int ns>,"kind":"<kind>","<key>":<value>,...}\n — attributes as
//    for_each_attr gives them (event.h: the own ones in emission order, then the shown ids),
//    no whitespace. int64/uint64 in decimal; doubles in std::to_chars
//    shortest round-trip form (e.g. 0.1, 100, 1e+20), NaN/inf as null; bools true/false.
//  - Strings (kind, keys, values): keel's JSON string escaper (json_escape.h): '"' and '\\'
//    escaped, \b \f \n \r \t short forms, other bytes < 0x20 as \u00xx (lowercase hex);
//    valid UTF-8 passes through; each byte of an invalid UTF-8 sequence becomes U+FFFD (its
//    UTF-8 bytes). (RFC 8785 string rules, plus that repair.)
//  - hash() is TraceHash over every event, in order, whether or not lines are written.
//  - After warm-up, on_event allocates nothing.
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
#include "keel/core/json_escape.h"  // append_json_string, the strings' escaper

namespace keel {

// keel trace hash v2: a 64-bit fingerprint of a sequence of events, fully specified here so
// that it can be recomputed from a written trace. Not cryptographic.
//
// Each event becomes a sequence of 64-bit words, from the values of its JSON line, field by
// field, each field an even number of words:
//   t (the int64 nanoseconds as two's complement) and the attribute count; the kind (a
//   string); then per attribute its key (a string) and its value:
//     string   (len << 3), then the bytes as little-endian words, the last zero-padded, then
//              a zero word if that makes the count odd; the bytes are the string's JSON value
//              (invalid UTF-8 repaired as above)
//     integer  a number whose JSON token has no '.', 'e' or 'E' and fits 64 bits:
//              1, value (if >= 0, as uint64) — or 2, value (if < 0, as int64)
//     number   any other number token: 3, the IEEE-754 binary64 bits of its value
//     false 4, 0;  true 5, 0;  null 6, 0 (NaN and infinities are written as null)
//   (So a double attribute whose shortest form is an integer token, like 100.0 → "100",
//   hashes as that integer, as it reads back.)
// The words of all events form one stream w0 w1 w2 ...; its pairs (w0,w1), (w2,w3), ... are
// folded alternately into two accumulators (pair 0, 2, 4, ... into A; 1, 3, 5, ... into B:
// two independent multiply chains), with K0..K3 below and P2/P3 the XXH64 primes:
//   step(acc, x, y):  a = acc ^ x ^ K0;  b = y ^ K1;  p = a * b as a 128-bit product;
//                     return a ^ b ^ low64(p) ^ high64(p)
//   A = K2, B = K3; fold every pair; then h = step(A, B, number of words) and the avalanche
//   h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
// All arithmetic mod 2^64.
class TraceHash {
 public:
  static constexpr std::uint64_t K0 = 0x2d358dccaa6c78a5ULL;
  static constexpr std::uint64_t K1 = 0x8bb84b93962eacc9ULL;
  static constexpr std::uint64_t K2 = 0x4b33a62ed433d4a3ULL;
  static constexpr std::uint64_t K3 = 0x4d5a2da51de1aa47ULL;
  static constexpr std::uint64_t P2 = 0xC2B2AE3D27D4EB4FULL;
  static constexpr std::uint64_t P3 = 0x165667B19E3779F9ULL;

  void add(const Event& e);
  // The hash of every event so far; does not end the stream.
  std::uint64_t digest() const noexcept;
  std::uint64_t events() const noexcept { return events_; }

 private:
  std::uint64_t lanes_[2] = {K2, K3};  // A and B
  std::uint64_t pairs_ = 0;            // pairs folded; pair k goes to lanes_[k % 2]
  std::uint64_t events_ = 0;
  std::string repaired_;               // a string with invalid UTF-8, as its JSON value
};

// 16 lowercase hex digits.
std::string to_hex16(std::uint64_t v);

// Appends the canonical JSON object for `e` (no trailing newline).
void append_canonical_json(std::string& out, const Event& e);

class TraceWriter final : public EventSink {
 public:
  // `out` may be null (hash only); it must outlive the writer. Not flushed by the writer.
  explicit TraceWriter(std::ostream* out = nullptr) : out_(out) {}

  void on_event(const Event& e) override;

  std::uint64_t hash() const noexcept { return hash_.digest(); }
  std::string hash_hex() const { return to_hex16(hash()); }
  std::uint64_t lines() const noexcept { return hash_.events(); }
  // Bytes written to the stream (0 when hashing only).
  std::uint64_t bytes() const noexcept { return bytes_; }

 private:
  std::ostream* out_;
  std::unique_ptr<char[]> line_;  // reused; grown to the largest line's upper bound
  std::size_t capacity_ = 0;
  TraceHash hash_;
  std::uint64_t bytes_ = 0;
};

}  // namespace keel
