// keel/policy/backoff.cpp — ceilings and jitter families (see backoff.h for the formulas).
#include "keel/policy/backoff.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace keel::policy {
namespace {

constexpr std::array<std::string_view, 4> kJitterNames = {"none", "full", "equal", "decorrelated"};

struct Normalized {
  Duration base, max;
  double multiplier;
};

Normalized normalize(const BackoffConfig& cfg) noexcept {
  const Duration mx = std::max(cfg.max, Duration::zero());
  const Duration b = std::clamp(cfg.base, Duration::zero(), mx);
  const double m = cfg.multiplier >= 1.0 ? cfg.multiplier : 1.0;  // NaN fails the test
  return {b, mx, m};
}

// base * m^e with an integer m, by squaring in exact integer arithmetic. base >= 1ns, so once
// a factor still to apply exceeds the cap, so does the product: stop early.
Duration integer_ceiling(const Normalized& n, std::uint64_t m, unsigned e) noexcept {
  const auto cap = static_cast<std::uint64_t>(n.max.count());
  auto acc = static_cast<std::uint64_t>(n.base.count());
  for (std::uint64_t p = m;;) {
    if (e & 1u) {
      if (acc > cap / p) return n.max;
      acc *= p;
    }
    e >>= 1;
    if (e == 0) break;
    if (p > cap / p) return n.max;
    p *= p;
  }
  return Duration{static_cast<std::int64_t>(std::min(acc, cap))};
}

Duration ceiling(const Normalized& n, int attempt) noexcept {
  if (n.base == Duration::zero() || attempt <= 1 || n.multiplier == 1.0) return n.base;
  const auto e = static_cast<unsigned>(attempt - 1);
  if (n.multiplier <= 0x1p62 && n.multiplier == std::floor(n.multiplier))
    return integer_ceiling(n, static_cast<std::uint64_t>(n.multiplier), e);
  // Otherwise the same in doubles: once a factor still to apply reaches the limit, the product
  // does too (this also keeps inf out of the result).
  const double limit = static_cast<double>(n.max.count());
  double acc = static_cast<double>(n.base.count());
  double p = n.multiplier;
  for (unsigned k = e;;) {
    if (k & 1u) {
      acc *= p;
      if (!(acc < limit)) return n.max;
    }
    k >>= 1;
    if (k == 0) break;
    p *= p;
    if (!(p < limit)) return n.max;
  }
  // acc < limit <= 2^63, so it fits int64 after rounding; limit may round above max: clamp.
  return std::min(Duration{static_cast<std::int64_t>(std::floor(acc + 0.5))}, n.max);
}

Duration saturating_triple(Duration d) noexcept {
  constexpr auto hi = std::numeric_limits<std::int64_t>::max();
  return d.count() > hi / 3 ? Duration::max() : d * 3;
}

}  // namespace

std::string_view to_string(Jitter j) noexcept {
  const auto i = static_cast<std::size_t>(j);
  return i < kJitterNames.size() ? kJitterNames[i] : std::string_view{"unknown"};
}

std::optional<Jitter> jitter_from_string(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kJitterNames.size(); ++i)
    if (kJitterNames[i] == name) return static_cast<Jitter>(i);
  return std::nullopt;
}

Duration backoff_ceiling(const BackoffConfig& cfg, int attempt) noexcept {
  return ceiling(normalize(cfg), attempt);
}

Duration next_delay(const BackoffConfig& cfg, int attempt, Duration previous, Rng& rng) noexcept {
  const Normalized n = normalize(cfg);
  switch (cfg.jitter) {
    case Jitter::none:
      return ceiling(n, attempt);
    case Jitter::full:
      return Duration{rng.uniform_int(0, ceiling(n, attempt).count())};
    case Jitter::equal: {
      const Duration c = ceiling(n, attempt);
      const Duration half = c / 2;
      return half + Duration{rng.uniform_int(0, (c - half).count())};
    }
    case Jitter::decorrelated: {
      const Duration prev = previous > Duration::zero() ? previous : n.base;
      const Duration hi = std::max(n.base, saturating_triple(prev));
      return std::min(Duration{rng.uniform_int(n.base.count(), hi.count())}, n.max);
    }
  }
  return ceiling(n, attempt);  // an out-of-range enum value: no jitter
}

}  // namespace keel::policy
