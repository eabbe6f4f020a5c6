// keel/sim/latency.h — latency models for simulated providers and tools (scenarios/FORMAT.md).
//
// Purpose: `{"fixed": d}`, `{"uniform": [d1, d2]}`, `{"exponential": {"mean": d}}` and
// `{"lognormal": {"median": d, "p99": d}}`, sampled from a seeded Rng.
//
// Contract: `sample` draws from `rng` only (deterministic per seed) and returns a duration
// >= 0. uniform is inclusive of both ends (to the nanosecond). fixed draws nothing.
//
// Example:
//   LatencyModel m = LatencyModel::lognormal(400ms, 3s);
//   Duration d = m.sample(rng);
#pragma once

#include "keel/core/rng.h"
#include "keel/core/time.h"

namespace keel::sim {

struct LatencyModel {
  enum class Kind : unsigned char { fixed, uniform, exponential, lognormal };
  Kind kind = Kind::fixed;
  Duration a{};  // fixed: value; uniform: low; exponential: mean; lognormal: median
  Duration b{};  // uniform: high; lognormal: p99

  static LatencyModel fixed(Duration d) { return {Kind::fixed, d, {}}; }
  static LatencyModel uniform(Duration lo, Duration hi) { return {Kind::uniform, lo, hi}; }
  static LatencyModel exponential(Duration mean) { return {Kind::exponential, mean, {}}; }
  static LatencyModel lognormal(Duration median, Duration p99) { return {Kind::lognormal, median, p99}; }

  Duration sample(Rng& rng) const {
    switch (kind) {
      case Kind::fixed: return a;
      case Kind::uniform: return b <= a ? a : rng.uniform_duration(a, b + Duration{1});
      case Kind::exponential: return rng.exponential(a);
      case Kind::lognormal: return rng.lognormal_from_median_p99(a, b);
    }
    return a;
  }
  friend bool operator==(const LatencyModel&, const LatencyModel&) = default;
};

}  // namespace keel::sim
