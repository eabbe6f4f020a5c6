// keel/policy/backoff.h — exponential backoff with a cap and four jitter families.
//
// Purpose: how long to wait before retry number n. A pure function of (config, attempt,
// previous delay, Rng) that the caller schedules; `Backoff` adds the one piece of state the
// decorrelated family needs (the previous delay).
//
// Contract (ceiling(n) = min(max, base * multiplier^(n-1)), n = attempt >= 1):
//  - none:         ceiling(n)
//  - full:         U[0, ceiling(n)]                                    (AWS "full", Envoy)
//  - equal:        c/2 + U[0, c - c/2] with c = ceiling(n), halves in integer ns
//  - decorrelated: min(max, U[base, max(base, 3 * prev)]), prev = the previous delay, or base
//                  when there is none (prev <= 0) — the AWS Architecture Blog's "decorrelated
//                  jitter"; it ignores `attempt`.
//  U[a, b] is uniform over integer nanoseconds, both ends included (one Rng draw; `none` draws
//  nothing). Every result lies in [0, max]. The ceiling is computed by exponentiation by
//  squaring with an early cap, so any attempt number (up to INT_MAX) is safe and saturates at
//  `max`: exactly in integers for a whole multiplier (2, 3, ...), in doubles otherwise.
//  Config normalisation (never throws): max < 0 counts as 0; base is clamped to [0, max];
//  a multiplier < 1 or NaN counts as 1; attempt < 1 counts as 1. With base 0 and no
//  previous delay, decorrelated gives 0 (and so stays at 0).
//  Single-threaded: a Backoff belongs to one call; the Rng to one scheduler.
//
// Example:
//   BackoffConfig cfg{.base = 100ms, .max = 5s, .jitter = Jitter::full};
//   Duration d = next_delay(cfg, /*attempt=*/3, /*previous=*/{}, rng);   // in [0, 400ms]
//   Backoff b{cfg};
//   Duration first = b.next(rng), second = b.next(rng);                  // attempts 1 and 2
#pragma once

#include <climits>
#include <cstdint>
#include <optional>
#include <string_view>

#include "keel/core/rng.h"
#include "keel/core/time.h"

namespace keel::policy {

enum class Jitter : std::uint8_t { none, full, equal, decorrelated };

// "none", "full", "equal", "decorrelated".
std::string_view to_string(Jitter j) noexcept;
// The jitter with exactly that name, or nullopt.
std::optional<Jitter> jitter_from_string(std::string_view name) noexcept;

struct BackoffConfig {
  Duration base = std::chrono::milliseconds{500};  // first retry's ceiling (OpenAI SDKs)
  Duration max = std::chrono::seconds{8};          // cap on every delay (OpenAI SDKs)
  double multiplier = 2.0;                         // growth per attempt
  Jitter jitter = Jitter::full;
};

// min(max, base * multiplier^(attempt-1)), overflow-safe (see the contract above).
Duration backoff_ceiling(const BackoffConfig& cfg, int attempt) noexcept;

// The delay before retry number `attempt` (1 = before the first retry). `previous` is used by
// the decorrelated family only.
Duration next_delay(const BackoffConfig& cfg, int attempt, Duration previous, Rng& rng) noexcept;

// Remembers the previous delay (for decorrelated jitter) and the attempt number.
class Backoff {
 public:
  explicit Backoff(const BackoffConfig& cfg = {}) noexcept : cfg_(cfg) {}

  // The delay before retry number `attempt`; remembers it and the attempt number.
  Duration next(int attempt, Rng& rng) noexcept {
    attempt_ = attempt;
    previous_ = next_delay(cfg_, attempt, previous_, rng);
    return previous_;
  }
  // The delay before the retry after the last one (the first call gives attempt 1).
  Duration next(Rng& rng) noexcept { return next(attempt_ == INT_MAX ? INT_MAX : attempt_ + 1, rng); }
  void reset() noexcept {
    attempt_ = 0;
    previous_ = Duration::zero();
  }

  int attempt() const noexcept { return attempt_; }
  Duration previous() const noexcept { return previous_; }
  const BackoffConfig& config() const noexcept { return cfg_; }

 private:
  BackoffConfig cfg_;
  int attempt_ = 0;
  Duration previous_{};
};

}  // namespace keel::policy
