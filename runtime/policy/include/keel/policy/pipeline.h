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
#include "keel/policy/attempt_loop.h"
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

template <class F>
struct PipelinePlan;

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
  template <class F>
  friend struct PipelinePlan;
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

// The pipeline's configuration of the attempt loop: every stage it has, its own overall
// deadline (narrowed on the loop's frame, no second with_timeout), and each attempt under the
// earlier of the overall deadline and its own attempt timeout.
template <class F>
struct PipelinePlan : AttemptPlan {
  using Value = typename std::invoke_result_t<F&>::value_type;
  static constexpr bool owns_deadline = true;
  static constexpr bool uses_bulkhead = true;
  Pipeline* p;
  F op;

  Retry* retry() const noexcept { return p->retry_ ? &*p->retry_ : nullptr; }
  CircuitBreaker* breaker() const noexcept { return p->breaker_ ? &*p->breaker_ : nullptr; }
  Bulkhead* bulkhead() const noexcept { return p->bulkhead_ ? &*p->bulkhead_ : nullptr; }
  RateLimiter* limiter() const noexcept { return p->limiter_ ? &*p->limiter_ : nullptr; }
  std::optional<Duration> overall_timeout() const noexcept { return p->overall_timeout_; }
  Task<Value> attempt(int) { return op(); }
  std::optional<Deadline> attempt_deadline(TimePoint start, Deadline overall) const noexcept {
    const std::optional<Duration>& own = p->attempt_timeout_;
    return Deadline::earliest(overall, own ? Deadline::after(start, *own) : Deadline::never());
  }
};

template <class F>
std::invoke_result_t<F&> Pipeline::execute(F op) {
  return run_attempts(PipelinePlan<F>{{}, this, std::move(op)});
}

}  // namespace keel::policy
