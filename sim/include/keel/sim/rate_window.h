// keel/sim/rate_window.h — a provider's sliding one-minute RPM/TPM window (scenarios/FORMAT.md,
// Provider `limits`), and the exact time at which a refused request would fit.
//
// Purpose: the mock provider answers 429 with a retry-after that is exact, not a guess; this
// pure piece (no scheduler, no clock: the caller passes `now`) holds the accounting.
//
// Contract:
//  - A request admitted at t counts (1 request, its tokens) during [t, t + 1 min): at exactly
//    t + 1 min it has left the window.
//  - `admit(now, tokens)` admits iff (requests in window + 1 <= requests_per_minute) and
//    (tokens in window + tokens <= tokens_per_minute), for the limits that are set; an admitted
//    request is recorded, a refused one is not (it never enters the window).
//  - A refusal carries `available_at`: the earliest time at which the same request would be
//    admitted if nothing else were admitted before — the time the oldest entries leave. A
//    request with more tokens than tokens_per_minute never fits: `available_at` is empty.
//  - `now` must not decrease between calls. With no limit set, nothing is recorded.
//
// Example:
//   RateWindow w{{.requests_per_minute = 1}};
//   w.admit(TimePoint{} + 0s, 100);                          // admitted
//   RateDecision d = w.admit(TimePoint{} + 20s, 100);        // refused
//   assert(!d.admitted && *d.available_at == TimePoint{} + 60s);
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>

#include "keel/core/time.h"

namespace keel::sim {

struct RateLimits {
  std::optional<int> requests_per_minute;
  std::optional<int> tokens_per_minute;
};

enum class RateLimitKind : std::uint8_t { requests, tokens };

struct RateDecision {
  bool admitted = true;
  // When refused: which limit decided (the one that frees up last), its value, what the window
  // held, and what the request asked for (1 request, or its tokens).
  RateLimitKind limited_by = RateLimitKind::requests;
  std::int64_t limit = 0;
  std::int64_t used = 0;
  std::int64_t requested = 0;
  std::optional<TimePoint> available_at;
};

class RateWindow {
 public:
  static constexpr Duration kWindow = std::chrono::minutes{1};

  // Throws std::invalid_argument if a set limit is < 1.
  explicit RateWindow(RateLimits limits);

  RateDecision admit(TimePoint now, std::int64_t tokens);

  bool limited() const noexcept { return limits_.requests_per_minute || limits_.tokens_per_minute; }
  // Requests and tokens in the window as of the last admit() call.
  std::size_t requests() const noexcept { return entries_.size(); }
  std::int64_t tokens() const noexcept { return tokens_; }

 private:
  struct Entry {
    TimePoint at;
    std::int64_t tokens;
  };
  void expire(TimePoint now) noexcept;

  RateLimits limits_;
  std::deque<Entry> entries_;
  std::int64_t tokens_ = 0;
};

}  // namespace keel::sim
