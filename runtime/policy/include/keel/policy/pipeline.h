// keel/policy/pipeline.h — the policies composed in one documented order, per target.
//
// Purpose: what a caller wraps around an operation on one target (a model endpoint, a tool):
//
//   overall timeout → fallback → retry → circuit breaker → bulkhead → rate limiter
//                   → attempt timeout → operation
//
// Outer policies see the outcome of everything inside them: the overall timeout bounds the
// whole call including fallback; fallback answers when retries are spent; each retry attempt
// takes its own breaker permit (so an open breaker ends the retries with `circuit_open`),
// then waits for a concurrency slot and rate-limit capacity, and only then starts the
// attempt's own clock. The breaker records the attempt's outcome (a timed-out attempt counts
// as a `timeout` failure) and its latency.
//
// Contract:
//  - Every stage is optional; an unset stage costs one branch. The pipeline owns one instance
//    of each configured policy (its breaker, budget, bulkhead and limiter are shared by every
//    call through this pipeline: one pipeline per target).
//  - `execute(op)`: op() -> Task<Result<T>>. `execute(op, fallback)`: fallback(const Error&)
//    -> Task<Result<T>> answers errors whose code is in `fallback_on` (default: all but
//    cancelled) — including the overall timeout's: the fallback runs after it, on its own time.
//  - The overall deadline (the earlier of overall_timeout and the caller's own deadline)
//    releases the caller with `timeout` wherever it is: in an attempt, queued in the bulkhead,
//    or waiting for the limiter; retries that could not start before it are not scheduled. An
//    attempt cut short by it is not recorded as the target's failure.
//  - No heap allocation per call on the success path once warm: coroutine frames and timeout
//    state come from the frame pool, policies allocate nothing (bench_policies measures it).
//  - Single-threaded; the pipeline must outlive its calls.
//
// Example:
//   Pipeline p{{.overall_timeout = 2min, .retry = RetryConfig{.max_attempts = 3},
//               .breaker = CircuitBreakerConfig{}, .attempt_timeout = 30s}, rng, &sink, "openai"};
//   Result<Reply> r = co_await p.execute([&] { return call(req); },
//                                        [&](const Error&) { return cached_answer(); });
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "keel/core/timeout.h"
#include "keel/policy/bulkhead.h"
#include "keel/policy/circuit_breaker.h"
#include "keel/policy/fallback.h"
#include "keel/policy/rate_limiter.h"
#include "keel/policy/retry.h"
#include "keel/policy/retry_budget.h"

namespace keel::policy {

struct PipelineConfig {
  std::optional<Duration> overall_timeout;
  std::optional<RetryConfig> retry;
  std::optional<RetryBudgetConfig> budget;  // shared by the retries of every call
  std::optional<CircuitBreakerConfig> breaker;
  std::optional<BulkheadConfig> bulkhead;
  std::optional<RateLimiterConfig> rate_limiter;
  std::optional<Duration> attempt_timeout;
  FallbackCodeSet fallback_on = FallbackCodeSet::all_but_cancelled();
};

class Pipeline {
 public:
  Pipeline(PipelineConfig config, Rng rng, EventSink* events = nullptr, std::string_view target = {});
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  template <class F>
  std::invoke_result_t<F&> execute(F op);

  template <class F, class FB>
  std::invoke_result_t<F&> execute(F op, FB fallback) {
    auto r = co_await execute(std::move(op));
    if (r || !fallback_on_.contains(r.error().code)) co_return r;
    ++fallbacks_used_;
    co_return co_await fallback(r.error());
  }

  const CircuitBreaker* breaker() const noexcept { return breaker_ ? &*breaker_ : nullptr; }
  const Retry* retry() const noexcept { return retry_ ? &*retry_ : nullptr; }
  const RetryBudget* budget() const noexcept { return budget_ ? &*budget_ : nullptr; }
  const Bulkhead* bulkhead() const noexcept { return bulkhead_ ? &*bulkhead_ : nullptr; }
  const RateLimiter* rate_limiter() const noexcept { return limiter_ ? &*limiter_ : nullptr; }
  std::uint64_t fallbacks_used() const noexcept { return fallbacks_used_; }

 private:
  // A local refusal after the breaker granted a permit: give the permit back unrecorded.
  Error release(const BreakerPermit& permit, Error e, Scheduler& sched) {
    if (breaker_) breaker_->on_result(permit, BreakerOutcome::error(ErrorCode::cancelled), Duration::zero(), sched.now());
    return e;
  }

  Rng rng_;
  std::optional<Duration> overall_timeout_;
  std::optional<Duration> attempt_timeout_;
  FallbackCodeSet fallback_on_;
  std::optional<RetryBudget> budget_;
  std::optional<Retry> retry_;
  std::optional<CircuitBreaker> breaker_;
  std::optional<Bulkhead> bulkhead_;
  std::optional<RateLimiter> limiter_;
  std::uint64_t fallbacks_used_ = 0;
};

// One coroutine frame per call: the overall deadline narrows this frame's own deadline (so the
// bulkhead queue, the rate limiter, the retry decision and the attempt's with_timeout all
// honour it) instead of wrapping the call in a second with_timeout, and the retry loop and the
// attempt are inlined. The attempt's with_timeout carries the earlier of both deadlines.
template <class F>
std::invoke_result_t<F&> Pipeline::execute(F op) {
  using R = typename std::invoke_result_t<F&>::value_type;
  // One context read: scheduler, token and the overall deadline narrowed onto this frame.
  auto narrow = overall_timeout_ ? this_task::narrow_deadline(*overall_timeout_)
                                 : this_task::narrow_deadline(Deadline::never());
  const this_task::TaskContext ctx = co_await narrow;
  Scheduler& sched = *ctx.scheduler;
  const CancelToken token = ctx.token;
  const Deadline overall = ctx.deadline;
  Retry::Run run{retry_ ? &*retry_ : nullptr, overall};
  for (;;) {
    // `now` is read once per stretch without a suspension point (one virtual call each).
    TimePoint now = sched.now();
    run.start_attempt(now);
    std::optional<R> r;
    BreakerPermit permit;
    if (breaker_) {
      permit = breaker_->try_acquire(now);
      if (!permit) r.emplace(permit.error());
    }
    // Bulkhead and limiter: synchronous when there is room now; awaited only to wait.
    Bulkhead::Permit slot;
    if (!r && bulkhead_) {
      if (!token.cancelled()) slot = bulkhead_->try_acquire(now);
      if (!slot) {
        Result<Bulkhead::Permit> p = co_await bulkhead_->acquire();
        now = sched.now();
        if (p) slot = std::move(*p);
        else r.emplace(release(permit, std::move(p).error(), sched));
      }
    }
    if (!r && limiter_ && (token.cancelled() || !limiter_->try_admit(0, now))) {
      Status s = co_await limiter_->acquire();
      now = sched.now();
      if (!s) r.emplace(release(permit, std::move(s).error(), sched));
    }
    if (!r) {
      const TimePoint start = now;
      const Deadline own = attempt_timeout_ ? Deadline::after(start, *attempt_timeout_) : Deadline::never();
      const Deadline deadline = Deadline::earliest(overall, own);
      r.emplace(co_await with_timeout(op(), deadline));
      slot.release();
      const TimePoint end = sched.now();
      // Cut short by the overall deadline rather than its own: not the target's fault.
      const bool overall_ended = !*r && deadline == overall && overall.passed(end);
      if (breaker_) {
        const BreakerOutcome outcome = overall_ended ? BreakerOutcome::error(ErrorCode::cancelled) : BreakerOutcome::of(*r);
        breaker_->on_result(permit, outcome, end - start, end);
      }
    }
    if (r->ok()) {
      run.succeeded();
      co_return std::move(*r);
    }
    const bool overall_passed = overall.passed(sched.now());
    const RetryDecision& decision = run.failed(r->error(), token.cancelled() || overall_passed, sched.now());
    if (overall_passed && !token.cancelled()) co_return Error(ErrorCode::timeout, "deadline exceeded");
    if (decision.reason == RetryReason::cancelled && r->error().code != ErrorCode::cancelled) {
      co_return Retry::Run::cancelled(std::move(*r).error());
    }
    if (!decision.retry()) co_return std::move(*r);
    if (Status slept = co_await sleep_for(decision.delay); !slept) {
      co_return run.backoff_cancelled(std::move(*r).error(), sched.now());
    }
  }
}

}  // namespace keel::policy
