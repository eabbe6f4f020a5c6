// keel/core/rng.cpp — bounded integers and continuous distributions for Rng.
#include "keel/core/rng.h"

#include <cmath>

namespace keel {
namespace {

// High and low halves of the 128-bit product a * b.
inline void mul128(std::uint64_t a, std::uint64_t b, std::uint64_t& hi, std::uint64_t& lo) noexcept {
#if defined(__SIZEOF_INT128__)
  __extension__ typedef unsigned __int128 u128;
  const u128 p = static_cast<u128>(a) * b;
  hi = static_cast<std::uint64_t>(p >> 64);
  lo = static_cast<std::uint64_t>(p);
#else
  const std::uint64_t a_lo = a & 0xffffffffULL, a_hi = a >> 32;
  const std::uint64_t b_lo = b & 0xffffffffULL, b_hi = b >> 32;
  const std::uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
  const std::uint64_t mid = (ll >> 32) + (lh & 0xffffffffULL) + (hl & 0xffffffffULL);
  hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
  lo = (mid << 32) | (ll & 0xffffffffULL);
#endif
}

// Nanoseconds as a double -> Duration: rounded to nearest, clamped to [0, Duration::max()].
Duration clamp_to_duration(double ns) noexcept {
  if (!(ns > 0.0)) return Duration::zero();  // also NaN
  // 2^63 is the first double that does not fit in int64.
  if (ns >= 9223372036854775808.0) return Duration::max();
  const double r = std::floor(ns + 0.5);
  if (r >= 9223372036854775808.0) return Duration::max();
  return Duration{static_cast<std::int64_t>(r)};
}

}  // namespace

std::uint64_t Rng::uniform_u64(std::uint64_t bound) noexcept {
  if (bound == 0) return 0;
  std::uint64_t hi, lo;
  mul128(next_u64(), bound, hi, lo);
  if (lo < bound) {
    const std::uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
    while (lo < threshold) mul128(next_u64(), bound, hi, lo);
  }
  return hi;
}

std::int64_t Rng::uniform_int(std::int64_t lo, std::int64_t hi) noexcept {
  if (lo >= hi) return lo;
  const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
  const std::uint64_t off = span == std::numeric_limits<std::uint64_t>::max() ? next_u64() : uniform_u64(span + 1);
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + off);  // two's complement wrap
}

Duration Rng::uniform_duration(Duration lo, Duration hi) noexcept {
  if (hi <= lo) return lo;
  const std::uint64_t span = static_cast<std::uint64_t>(hi.count()) - static_cast<std::uint64_t>(lo.count());
  return Duration{static_cast<std::int64_t>(static_cast<std::uint64_t>(lo.count()) + uniform_u64(span))};
}

double Rng::exponential(double mean) noexcept {
  const double u = next_double();  // [0, 1): log1p(-u) is finite
  return -mean * std::log1p(-u);
}

Duration Rng::exponential(Duration mean) noexcept {
  return clamp_to_duration(exponential(static_cast<double>(mean.count())));
}

double Rng::normal() noexcept {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  const double u1 = 1.0 - next_double();  // (0, 1]: log is finite
  const double u2 = next_double();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

Duration Rng::lognormal_from_median_p99(Duration median, Duration p99) noexcept {
  const double z = normal();  // drawn unconditionally so consumption does not depend on params
  if (median <= Duration::zero()) return Duration::zero();
  if (p99 <= median) return median;
  const double m = static_cast<double>(median.count());
  const double sigma = std::log(static_cast<double>(p99.count()) / m) / kNormalZ99;
  return clamp_to_duration(m * std::exp(sigma * z));
}

}  // namespace keel
