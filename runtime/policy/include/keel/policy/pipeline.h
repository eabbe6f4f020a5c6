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
//    cancelled).
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
  std::invoke_result_t<F&> execute(F op) {
    if (overall_timeout_) co_return co_await with_timeout(retried(op), *overall_timeout_);
    co_return co_await retried(op);
  }

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
  template <class F>
  std::invoke_result_t<F&> retried(F& op) {
    if (retry_) co_return co_await retry_->execute([this, &op] { return attempt(op); });
    co_return co_await attempt(op);
  }

  template <class F>
  std::invoke_result_t<F&> attempt(F& op) {
    Scheduler& sched = co_await this_task::scheduler();
    BreakerPermit permit;
    if (breaker_) {
      permit = breaker_->try_acquire(sched.now());
      if (!permit) co_return permit.error();
    }
    std::optional<Bulkhead::Permit> slot;
    if (bulkhead_) {
      Result<Bulkhead::Permit> p = co_await bulkhead_->acquire();
      if (!p) co_return release(permit, std::move(p).error(), sched);
      slot.emplace(std::move(*p));
    }
    if (limiter_) {
      if (Status s = co_await limiter_->acquire(); !s) co_return release(permit, std::move(s).error(), sched);
    }
    const TimePoint start = sched.now();
    // One co_await with an optional deadline: g++ 12 miscompiles co_await in ?:, and with ASan
    // mis-handles a Result assigned from co_await in two branches.
    const Deadline deadline = attempt_timeout_ ? Deadline::after(start, *attempt_timeout_) : Deadline::never();
    typename std::invoke_result_t<F&>::value_type r = co_await with_timeout(op(), deadline);
    if (breaker_) breaker_->on_result(permit, BreakerOutcome::of(r), sched.now() - start, sched.now());
    co_return r;
  }

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

}  // namespace keel::policy
