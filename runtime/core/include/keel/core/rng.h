// keel/core/rng.h — the only source of randomness below runtime/live: a seeded xoshiro256**.
//
// Purpose: every random choice (jitter, fault probabilities, latencies, tie permutation)
// draws from an injected Rng, split into named substreams so that adding a consumer never
// shifts the sequence another consumer sees (docs/architecture.md). All distributions are written here
// (std:: distributions are implementation-defined and would make traces library-dependent).
//
// Contract:
//  - xoshiro256** (Blackman & Vigna), state seeded by four SplitMix64 outputs of the seed.
//  - `substream(name|index)` derives a generator from the *seed* (not the current state): it
//    does not advance the parent, and its result does not depend on how much the parent drew.
//  - Integer methods are exact and portable. Methods using log/exp/sqrt/cos (exponential,
//    normal, lognormal) may differ in the last ulp across libm versions: traces are
//    reproducible for one scenario, seed and build/platform — the docs/architecture.md contract.
//  - Duration results are clamped to >= 0 and saturate at Duration::max().
//  - Not thread-safe; one Rng (or substream) per consumer.
//
// Example:
//   Rng root{scenario.seed};
//   Rng jitter = root.substream("retry.jitter");
//   Rng faults = root.substream("faults").substream(fault_index);
//   Duration d = jitter.uniform_duration(0ms, 400ms);          // [0, 400ms)
//   if (faults.bernoulli(0.1)) inject();
#pragma once

#include <array>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string_view>
#include <utility>

#include "keel/core/time.h"

namespace keel {

// SplitMix64's output function (a bijective 64-bit mixer).
constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// One SplitMix64 step: advances `x` and returns the next output.
constexpr std::uint64_t splitmix64_next(std::uint64_t& x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  return mix64(x);
}

// FNV-1a 64 of the bytes of `s` (used to name substreams; stable across platforms).
constexpr std::uint64_t fnv1a64(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

class Rng {
 public:
  using result_type = std::uint64_t;
  using State = std::array<std::uint64_t, 4>;

  explicit Rng(std::uint64_t seed = 1) noexcept : seed_(seed) {
    std::uint64_t x = seed;
    for (auto& w : s_) w = splitmix64_next(x);
  }
  // A generator with a raw xoshiro state (test vectors). Must not be all zero. Its seed() is
  // `seed`, used only by substream().
  static Rng from_state(const State& s, std::uint64_t seed = 0) noexcept {
    Rng r{seed};
    r.s_ = s;
    return r;
  }

  std::uint64_t seed() const noexcept { return seed_; }
  const State& state() const noexcept { return s_; }

  // Independent generators derived from the seed and a name / an index. Names and indices
  // live in separate domains: substream("7") != substream(7).
  Rng substream(std::string_view name) const noexcept { return Rng{derive(fnv1a64(name), kNameDomain)}; }
  Rng substream(std::uint64_t index) const noexcept { return Rng{derive(index, kIndexDomain)}; }

  // UniformRandomBitGenerator.
  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }
  result_type operator()() noexcept { return next_u64(); }

  std::uint64_t next_u64() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, bound), unbiased (Lemire's multiply-and-reject). bound == 0 returns 0
  // without drawing.
  std::uint64_t uniform_u64(std::uint64_t bound) noexcept;
  // Uniform in [lo, hi], inclusive. lo > hi returns lo without drawing.
  std::int64_t uniform_int(std::int64_t lo, std::int64_t hi) noexcept;
  // Uniform in [0, 1): the top 53 bits of one draw.
  double next_double() noexcept { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // True with probability p (p <= 0: never, p >= 1: always). Always exactly one draw.
  bool bernoulli(double p) noexcept { return next_double() < p; }
  // Uniform in [lo, hi) (half-open, nanosecond resolution). hi <= lo returns lo, no draw.
  Duration uniform_duration(Duration lo, Duration hi) noexcept;

  // Exponential with the given mean, by inverse CDF: -mean * log1p(-u). One draw.
  double exponential(double mean) noexcept;
  Duration exponential(Duration mean) noexcept;
  // Standard normal N(0, 1) by Box–Muller (cosine branch, no cached spare): two draws.
  double normal() noexcept;
  double normal(double mean, double stddev) noexcept { return mean + stddev * normal(); }
  // Log-normal given its median and 99th percentile: sigma = ln(p99/median) / z_0.99, result
  // median * exp(sigma * N(0,1)). p99 <= median gives the median. Always two draws.
  Duration lognormal_from_median_p99(Duration median, Duration p99) noexcept;

  // Fisher–Yates shuffle with uniform_u64 (std::shuffle is implementation-defined).
  template <class RandomIt>
  void shuffle(RandomIt first, RandomIt last) noexcept {
    using std::swap;
    using Diff = typename std::iterator_traits<RandomIt>::difference_type;
    const auto n = static_cast<std::uint64_t>(std::distance(first, last));
    for (std::uint64_t i = n; i > 1; --i)
      swap(first[static_cast<Diff>(i - 1)], first[static_cast<Diff>(uniform_u64(i))]);
  }

  friend bool operator==(const Rng& a, const Rng& b) noexcept { return a.s_ == b.s_ && a.seed_ == b.seed_; }

 private:
  static constexpr std::uint64_t kNameDomain = 0x6e616d65'73756273ULL;   // "namesubs"
  static constexpr std::uint64_t kIndexDomain = 0x696e6478'73756273ULL;  // "indxsubs"

  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  // Child seed = mix64(seed ^ mix64(key + domain)); mix64 is a bijection, so for one parent
  // distinct keys give distinct child seeds.
  std::uint64_t derive(std::uint64_t key, std::uint64_t domain) const noexcept {
    return mix64(seed_ ^ mix64(key + domain));
  }

  std::uint64_t seed_;
  State s_{};
};

// z_0.99: the 99th percentile of the standard normal distribution.
inline constexpr double kNormalZ99 = 2.326347874040841;

}  // namespace keel
