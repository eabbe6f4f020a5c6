// keel/policy/rate_limiter.h — requests/min and tokens/min limits that delay or reject.
//
// Purpose: stay under a provider's RPM/TPM limits from our side instead of collecting 429s. A
// call costs one request and `tokens` LLM tokens (an estimate the caller makes: prompt plus
// max output). Each configured limit is a token bucket of `per_minute` refill and `burst` size.
//
// Contract:
//  - Buckets are GCRA token buckets in exact integer arithmetic (times scaled by the rate, in
//    128 bits): refill is continuous and computed lazily from `now`, so there is no rounding
//    drift however often it is queried. A full bucket admits `burst` at once; after that one
//    unit per 60s/per_minute. A call is charged to every bucket at the instant it is admitted.
//  - `time_until_available(tokens, now)` is pure: 0 if a call could pass now, the exact wait
//    until it could otherwise (rounded up to the nanosecond), Duration::max() if it never can
//    (cost > burst). Waiting callers are included (their capacity is already promised).
//  - `co_await acquire(tokens)` -> Status. Decisions (one counter each, one
//    "ratelimit.decision" event each, attributes reason/tokens/delay, plus the caller's trace
//    ids when acquire() is given them):
//      admitted        capacity now;
//      delayed         OnLimit::delay: capacity is reserved now and the caller sleeps until the
//                      exact instant it exists; then it proceeds (no second event);
//      rejected        OnLimit::reject: `throttled` with retry_after = the exact wait;
//      delay_too_long  the wait exceeds max_delay, or would end at/after the caller's deadline
//                      (this_task::deadline()): `throttled` with retry_after = the wait;
//      exceeds_burst   cost > burst of some bucket: `throttled`, no retry_after (never fits);
//      cancelled       cancelled before deciding or while delayed: `cancelled`.
//  - FIFO: a later caller is never admitted before an earlier delayed one (the admission times
//    handed out never decrease; equal ones resume in scheduling order). A cancelled waiter
//    gives its reservation back only if nobody reserved after it; otherwise that capacity is
//    lost (one-sided: the limit is never exceeded).
//  - Single-threaded (one scheduler). The RateLimiter must outlive its waiters.
//
// Example:
//   RateLimiter limiter{{.requests_per_minute = 500, .tokens_per_minute = 200'000,
//                        .on_limit = OnLimit::delay, .max_delay = 10s}, &sink};
//   if (Status s = co_await limiter.acquire(/*tokens=*/estimate); !s) co_return s.error();
//   auto r = co_await limiter.execute([&] { return call_model(req); }, estimate);
//   Duration wait = limiter.time_until_available(4'000, sched.now());
#pragma once

#include <coroutine>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

#include "keel/core/event.h"
#include "keel/core/result.h"
#include "keel/core/task.h"

namespace keel::policy {

enum class OnLimit : std::uint8_t { delay, reject };
std::string_view to_string(OnLimit o) noexcept;  // "delay", "reject"

struct RateLimiterConfig {
  std::optional<std::int64_t> requests_per_minute;  // none: requests are not limited
  std::optional<std::int64_t> tokens_per_minute;    // none: tokens are not limited
  std::optional<std::int64_t> request_burst;        // bucket size; default requests_per_minute
  std::optional<std::int64_t> token_burst;          // bucket size; default tokens_per_minute
  OnLimit on_limit = OnLimit::delay;
  Duration max_delay = std::chrono::seconds{60};    // delay mode: longer waits are rejected
};

// One GCRA token bucket: `per_minute` units per minute, at most `burst` stored. Pure state.
class TokenBucket {
 public:
  __extension__ typedef __int128 Wide;

  // Throws std::invalid_argument unless per_minute > 0 and burst > 0.
  TokenBucket(std::int64_t per_minute, std::int64_t burst);

  // Earliest instant >= now at which `cost` units can be taken; TimePoint::max() if cost > burst.
  TimePoint earliest(std::int64_t cost, TimePoint now) const noexcept;
  // Takes `cost` units at instant `at` (callers pass at >= earliest(cost, now)).
  void take(std::int64_t cost, TimePoint at) noexcept;
  // Whole units available at `now` (negative while capacity is promised to waiters).
  std::int64_t available(TimePoint now) const noexcept;

  std::int64_t per_minute() const noexcept { return per_minute_; }
  std::int64_t burst() const noexcept { return burst_; }

  // The bucket's whole state, for an exact undo of a take.
  struct Snapshot {
    Wide tat = 0;
  };
  Snapshot snapshot() const noexcept { return {tat_}; }
  void restore(Snapshot s) noexcept { tat_ = s.tat; }
  // If earliest(cost, now) == now: true, with the state take(cost, now) would leave in `after`
  // (restore() applies it). Inline and division-free: every call admitted at once asks.
  bool fits_now(std::int64_t cost, TimePoint now, Snapshot& after) const noexcept {
    cost = cost < 0 ? 0 : cost;
    if (cost > burst_) return false;
    const Wide scaled_now = Wide{now.time_since_epoch().count()} * per_minute_;
    const Wide charge = Wide{cost} * kUnit;
    if (tat_ + charge - capacity_ > scaled_now) return false;  // earliest() > now
    after.tat = (tat_ > scaled_now ? tat_ : scaled_now) + charge;
    return true;
  }

 private:
  static constexpr std::int64_t kUnit = 60'000'000'000;  // one unit, scaled: ns per minute
  std::int64_t per_minute_;
  std::int64_t burst_;
  Wide capacity_;  // burst * kUnit: how far the TAT may run ahead of now
  // Theoretical arrival time, in units of 1/per_minute ns: a unit costs kUnit of these.
  Wide tat_ = 0;
};

enum class RateLimitReason : std::uint8_t { admitted, delayed, rejected, delay_too_long, exceeds_burst, cancelled };
// "admitted", "delayed", "rejected", "delay_too_long", "exceeds_burst", "cancelled".
std::string_view to_string(RateLimitReason r) noexcept;

struct RateLimiterCounters {
  std::uint64_t admitted = 0;
  std::uint64_t delayed = 0;
  std::uint64_t rejected = 0;
  std::uint64_t delay_too_long = 0;
  std::uint64_t exceeds_burst = 0;
  std::uint64_t cancelled = 0;

  std::uint64_t& operator[](RateLimitReason r) noexcept;
  std::uint64_t operator[](RateLimitReason r) const noexcept {
    return const_cast<RateLimiterCounters&>(*this)[r];
  }
};

// What acquire would decide for a call of `tokens` at `now` (pure).
struct RateLimitDecision {
  RateLimitReason reason;
  TimePoint admit_at;  // admitted/delayed: the admission instant; otherwise now + wait (or max)
  Duration wait;       // admit_at - now; Duration::max() for exceeds_burst
};

class RateLimiter {
 public:
  class AcquireAwaiter;

  // Throws std::invalid_argument for a non-positive rate or burst.
  explicit RateLimiter(RateLimiterConfig config = {}, EventSink* sink = nullptr);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // 0 if a call of `tokens` could pass at `now`; else the exact wait; max() if it never can.
  Duration time_until_available(std::int64_t tokens, TimePoint now) const noexcept;
  // The decision acquire(tokens) would take at `now` for a caller with `deadline`.
  RateLimitDecision decide(std::int64_t tokens, TimePoint now, Deadline deadline = Deadline::never()) const noexcept;

  // `co_await acquire(tokens)` -> Status (see the contract above). `ids` (may be null): the
  // agent step asking (trace_ids.h), carried by its decision events; must outlive the await.
  AcquireAwaiter acquire(std::int64_t tokens = 0, const TraceIds* ids = nullptr) noexcept;
  // The synchronous fast path of acquire(): admits (counted and emitted as acquire() would)
  // and returns true iff the call can pass at `now` without waiting; otherwise changes
  // nothing — co_await acquire() then decides.
  bool try_admit(std::int64_t tokens, TimePoint now, const TraceIds* ids = nullptr) noexcept;

  // Runs `op()` (-> Task<Result<T>>) once admitted; refusals come back as errors.
  template <class F>
  std::invoke_result_t<F&> execute(F op, std::int64_t tokens = 0);

  const std::optional<TokenBucket>& requests() const noexcept { return requests_; }
  const std::optional<TokenBucket>& tokens() const noexcept { return tokens_; }
  const RateLimiterCounters& counters() const noexcept { return counters_; }
  const RateLimiterConfig& config() const noexcept { return config_; }

 private:
  friend class AcquireAwaiter;
  struct Reservation {
    std::uint64_t seq = 0;
    TokenBucket::Snapshot requests{}, tokens{};
  };

  TimePoint earliest(std::int64_t tokens, TimePoint now) const noexcept;
  Reservation take(std::int64_t tokens, TimePoint at) noexcept;
  void give_back(const Reservation& r) noexcept;  // exact undo, only if nobody reserved since
  void record(RateLimitReason r, TimePoint now, std::int64_t tokens, Duration delay, const TraceIds* ids) noexcept;
  void emit_decision(RateLimitReason r, TimePoint now, std::int64_t tokens, Duration delay,
                     const TraceIds* ids) noexcept;

  RateLimiterConfig config_;
  EventSink* sink_;
  std::optional<TokenBucket> requests_;
  std::optional<TokenBucket> tokens_;
  std::uint64_t last_seq_ = 0;
  RateLimiterCounters counters_;
};

class RateLimiter::AcquireAwaiter {
 public:
  AcquireAwaiter(RateLimiter& limiter, std::int64_t tokens, const TraceIds* ids) noexcept
      : limiter_(&limiter), tokens_(tokens), ids_(ids) {}
  AcquireAwaiter(const AcquireAwaiter&) = delete;
  AcquireAwaiter& operator=(const AcquireAwaiter&) = delete;
  ~AcquireAwaiter();

  bool await_ready() const noexcept { return false; }
  template <keel::detail::KeelPromise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    Scheduler& sched = *h.promise().scheduler;
    const CancelToken token = h.promise().token;
    if (!token.cancelled()) {  // capacity now: admitted without waiting (try_admit counts it)
      const TimePoint now = sched.now();
      if (limiter_->try_admit(tokens_, now, ids_)) {
        decision_ = {RateLimitReason::admitted, now, Duration::zero()};
        return false;
      }
    }
    return suspend(sched, token, h.promise().deadline, h);
  }
  Status await_resume() noexcept;

 private:
  bool suspend(Scheduler& sched, CancelToken token, Deadline deadline, std::coroutine_handle<> h);
  void on_cancel() noexcept;

  RateLimiter* limiter_;
  std::int64_t tokens_;
  const TraceIds* ids_;
  RateLimitDecision decision_{RateLimitReason::cancelled, {}, {}};
  Reservation reservation_;
  Scheduler* sched_ = nullptr;
  std::coroutine_handle<> waiter_;
  TimerId timer_;
  bool waiting_ = false;
  CancelCallback on_cancel_;
};

inline RateLimiter::AcquireAwaiter RateLimiter::acquire(std::int64_t tokens, const TraceIds* ids) noexcept {
  return AcquireAwaiter{*this, tokens, ids};
}

KEEL_INLINE_HOT bool RateLimiter::try_admit(std::int64_t tokens, TimePoint now, const TraceIds* ids) noexcept {
  // earliest() == now, then take() at now: each bucket's state after the take, computed once,
  // applied when both admit (no undo snapshots: nobody would read them).
  TokenBucket::Snapshot r, t;
  if (requests_ && !requests_->fits_now(1, now, r)) return false;
  if (tokens_ && !tokens_->fits_now(tokens, now, t)) return false;
  ++last_seq_;
  if (requests_) requests_->restore(r);
  if (tokens_) tokens_->restore(t);
  ++counters_.admitted;
  if (sink_) [[unlikely]] emit_decision(RateLimitReason::admitted, now, tokens, Duration::zero(), ids);
  return true;
}

template <class F>
std::invoke_result_t<F&> RateLimiter::execute(F op, std::int64_t tokens) {
  if (Status s = co_await acquire(tokens); !s) co_return std::move(s).error();
  co_return co_await op();
}

}  // namespace keel::policy
