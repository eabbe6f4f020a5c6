// keel/core/time.h — integer-nanosecond time for the whole runtime.
//
// Purpose: one vocabulary for time that works identically in virtual time (sim::Simulator)
// and real time (live::AsioScheduler). Nothing here reads a clock: the current time always
// comes from a Scheduler (`sched.now()`), never from std::chrono clocks (docs/architecture.md).
//
// Contract:
//  - `Duration` is std::chrono::nanoseconds (int64). `TimePoint` is a time point of
//    `SchedulerClock`, a clock type with no `now()`: its epoch is the scheduler's start.
//  - `Deadline` is a value: either a point in time or `Deadline::never()`. Arithmetic
//    saturates, so `Deadline::after(now, Duration::max())` is `never()` rather than overflow.
//
// Example:
//   Deadline d = Deadline::after(sched.now(), 2s);
//   Deadline child = Deadline::earliest(d, Deadline::after(sched.now(), 500ms));
//   if (child.passed(sched.now())) return Error{ErrorCode::timeout};
//   Duration left = child.remaining(sched.now());   // 0 once passed; Duration::max() if never
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <limits>

namespace keel {

using Duration = std::chrono::nanoseconds;

// A clock without `now()`: time points are only ever produced by a Scheduler.
struct SchedulerClock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = Duration;
  using time_point = std::chrono::time_point<SchedulerClock, Duration>;
  static constexpr bool is_steady = true;
};

using TimePoint = SchedulerClock::time_point;

// Saturating helpers: never overflow int64 nanoseconds.
constexpr Duration saturating_add(Duration a, Duration b) noexcept {
  const auto x = a.count(), y = b.count();
  constexpr auto hi = std::numeric_limits<std::int64_t>::max();
  constexpr auto lo = std::numeric_limits<std::int64_t>::min();
  if (y > 0 && x > hi - y) return Duration{hi};
  if (y < 0 && x < lo - y) return Duration{lo};
  return Duration{x + y};
}

constexpr TimePoint saturating_add(TimePoint t, Duration d) noexcept {
  return TimePoint{saturating_add(t.time_since_epoch(), d)};
}

constexpr TimePoint time_point_at(Duration since_epoch) noexcept { return TimePoint{since_epoch}; }

// Milliseconds as a double, for reports. Not for decisions.
constexpr double to_ms(Duration d) noexcept { return static_cast<double>(d.count()) / 1e6; }

// A deadline: a time point, or never. Ordered: any time point < never.
class Deadline {
 public:
  constexpr Deadline() noexcept = default;  // never
  constexpr explicit Deadline(TimePoint at) noexcept : at_(at) {}

  static constexpr Deadline never() noexcept { return Deadline{}; }
  static constexpr Deadline at(TimePoint t) noexcept { return Deadline{t}; }
  // `now + d`, saturating; a negative `d` gives a deadline already passed.
  static constexpr Deadline after(TimePoint now, Duration d) noexcept {
    if (d == Duration::max()) return never();
    const TimePoint t = saturating_add(now, d);
    return t == TimePoint::max() ? never() : Deadline{t};
  }
  static constexpr Deadline earliest(Deadline a, Deadline b) noexcept { return b < a ? b : a; }

  constexpr bool is_never() const noexcept { return at_ == TimePoint::max(); }
  // The time point; TimePoint::max() when never.
  constexpr TimePoint time() const noexcept { return at_; }
  constexpr bool passed(TimePoint now) const noexcept { return !is_never() && now >= at_; }
  // Time left: zero once passed, Duration::max() when never.
  constexpr Duration remaining(TimePoint now) const noexcept {
    if (is_never()) return Duration::max();
    return now >= at_ ? Duration::zero() : at_ - now;
  }
  // A deadline `d` earlier (saturating); never stays never.
  constexpr Deadline minus(Duration d) const noexcept {
    return is_never() ? *this : Deadline{saturating_add(at_, -d)};
  }

  friend constexpr bool operator==(Deadline, Deadline) noexcept = default;
  friend constexpr std::strong_ordering operator<=>(Deadline a, Deadline b) noexcept {
    return a.at_ <=> b.at_;
  }

 private:
  TimePoint at_ = TimePoint::max();
};

}  // namespace keel
