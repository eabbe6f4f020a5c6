// keel/policy/attempt_loop.h — run_attempts(): the one attempt loop; every retry in keel runs here.
//
// Purpose: attempt → admit → run → record → decide → back off, written once. `Retry::execute`,
// `Pipeline::execute`, `model::ModelManager` (each model of a chain, hedged or not) and
// `agent::ToolRunner` are configurations of it: an *attempt plan* names the per-attempt policies
// of its target and adds its own steps through hooks. The policies are synchronous admit/record
// state machines (CircuitBreaker::try_acquire/on_result, Bulkhead::try_acquire,
// RateLimiter::try_admit); the loop awaits only to queue, to run the attempt and to back off.
// The documented order (docs/architecture.md, "The attempt loop"):
//
//   overall deadline → retry → circuit breaker → bulkhead → rate limiter → attempt deadline → operation
//
// Contract — `co_await run_attempts(plan)`; `plan` is taken by value and lives in the loop's
// frame, so a configuration that returns run_attempts(...) adds no frame of its own. Per attempt:
//  1. plan.precheck(ctx, now): an error ends the loop at once (no attempt, no decision).
//  2. plan.started(n, now) (first, so that the ids it keeps name attempt n in every event
//     below); Retry::Run::start_attempt (numbering, the budget grant, "retry.attempt").
//  3. A breaker permit (plan.breaker(); may_probe = plan.may_probe(n)): a refusal,
//     plan.refused(error), is this attempt's error, decided like any failure.
//  4. A bulkhead slot, then rate-limit capacity: synchronous when there is room, awaited only
//     to queue; a refusal there is the attempt's error and gives the breaker permit back
//     unrecorded.
//  5. plan.admitted(now); the operation plan.attempt(n) under plan.attempt_deadline(start,
//     overall) (nullopt: awaited bare, no with_timeout). An exception thrown by it: the breaker
//     records `internal` and it propagates — unless Plan::converts_exceptions, then
//     plan.thrown() makes it the attempt's error.
//  6. The breaker records plan.breaker_outcome(result, ran) (default: the result's own); with
//     Plan::owns_deadline an attempt cut short by the overall deadline is not the target's
//     fault (recorded as `cancelled`, i.e. not at all).
//  7. plan.after_attempt(result, start, end): `again` attempts again at once without a
//     decision (a refused prefill), `usual` goes on.
//  8. Success: Run::succeeded; returned (through plan.returned(), which may keep the value
//     and yield a smaller Plan::Returned). Failure: plan.on_failure(error, start, now) may `stop`
//     (no retry whatever the policy says: recorded, decided not_retryable, the error returned);
//     else Run::failed decides — `cancelled` when the caller is (or, with owns_deadline, when
//     the overall deadline passed: the loop then returns `timeout`). A caller cancelled while
//     the error was another: plan.caller_cancelled(error) (default: `cancelled` caused by it).
//     No retry: the error is returned. Retry: plan.before_backoff(decision, error, n, now),
//     sleep the delay (cancelled there: plan.backoff_cancelled(`cancelled` caused by the
//     error) is returned), then 1.
//  The overall deadline is the awaiting task's own, narrowed by plan.overall_timeout().
//  Events of the retry and the breaker carry plan.trace_ids() (trace_ids.h; default null:
//  none), asked once per loop and read at each event, so started() may update them.
//  Without plan.retry() there is one attempt and nothing is recorded (decision: not_retryable).
// Allocation: none per call on the success path once warm (the frame comes from the pool).
// Single-threaded; the plan's policies must outlive the loop.
//
// Example (a configuration: one attempt, a breaker, 30 s per attempt):
//   struct GuardedCall : policy::AttemptPlan {
//     using Value = Result<Reply>;
//     policy::CircuitBreaker* br;
//     Client* client;
//     policy::CircuitBreaker* breaker() const noexcept { return br; }
//     Task<Value> attempt(int) { return client->call(); }
//     std::optional<Deadline> attempt_deadline(TimePoint start, Deadline) const { return Deadline::after(start, 30s); }
//   };
//   Result<Reply> r = co_await policy::run_attempts(GuardedCall{{}, &breaker, &client});
#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "keel/core/error.h"
#include "keel/core/result.h"
#include "keel/core/sleep.h"
#include "keel/core/task.h"
#include "keel/core/time.h"
#include "keel/core/timeout.h"
#include "keel/policy/bulkhead.h"
#include "keel/policy/circuit_breaker.h"
#include "keel/policy/rate_limiter.h"
#include "keel/policy/retry.h"

namespace keel::policy {

// What the loop does after an attempt (after_attempt) or a failure (on_failure).
enum class AttemptNext : std::uint8_t {
  usual,  // on with the loop
  again,  // after_attempt only: attempt again at once, no decision
  stop,   // on_failure only: no retry; the error is the loop's answer
};

// The defaults of every hook. A plan derives from it and hides the accessors of the policies
// it has and the hooks it changes; it must add `using Value = Result<T>`, `Task<Value> attempt(int n)` and
// `std::optional<Deadline> attempt_deadline(TimePoint start, Deadline overall)`.
struct AttemptPlan {
  // The policies of the target, asked once per loop; a plan without a stage keeps the default
  // (a constant null the compiler folds away with the stage's code).
  Retry* retry() const noexcept { return nullptr; }             // null: one attempt, nothing recorded
  RetryOutcome* outcome() const noexcept { return nullptr; }    // filled as Retry::execute fills it
  CircuitBreaker* breaker() const noexcept { return nullptr; }
  Bulkhead* bulkhead() const noexcept { return nullptr; }
  RateLimiter* limiter() const noexcept { return nullptr; }
  std::optional<Duration> overall_timeout() const noexcept { return std::nullopt; }  // narrows the deadline
  const TraceIds* trace_ids() const noexcept { return nullptr; }  // the agent step of the events
  // The overall deadline is enforced by this loop (no enclosing with_timeout cancels it): an
  // attempt cut short by it is not recorded against the target, and the loop answers `timeout`.
  static constexpr bool owns_deadline = false;
  static constexpr bool converts_exceptions = false;  // true: the plan's thrown() answers
  static constexpr bool uses_bulkhead = false;        // true: bulkhead() may be non-null

  std::optional<Error> precheck(const this_task::TaskContext&, TimePoint) { return std::nullopt; }
  void started(int /*attempt*/, TimePoint) {}
  bool may_probe(int /*attempt*/) const noexcept { return true; }
  Error refused(Error e) { return e; }
  void admitted(TimePoint) {}
  template <class R>
  BreakerOutcome breaker_outcome(const R& r, Duration /*ran*/) const noexcept {
    return BreakerOutcome::of(r);
  }
  template <class R>
  AttemptNext after_attempt(R&, TimePoint /*start*/, TimePoint /*end*/) {
    return AttemptNext::usual;
  }
  AttemptNext on_failure(const Error&, TimePoint /*start*/, TimePoint /*now*/) { return AttemptNext::usual; }
  void before_backoff(const RetryDecision&, const Error&, int /*attempt*/, TimePoint) {}
  Error caller_cancelled(Error last) { return Retry::Run::cancelled(std::move(last)); }
  Error backoff_cancelled(Error e) { return e; }
  // What the loop yields for the attempt's result it ends with. A plan may name a smaller
  // `Returned` (e.g. Status) and keep the value itself where its caller reads it: a large value
  // then crosses one task boundary fewer.
  template <class R>
  R&& returned(R&& r) noexcept {
    return std::move(r);
  }
  // Where the attempt's result is kept: the loop's own `local`, or storage of the plan's
  // caller (which then reads the answer there without moving it through the loop's task).
  template <class R>
  std::optional<R>& result_slot(std::optional<R>& local) noexcept {
    return local;
  }
};

// What run_attempts(plan) yields: Plan::Returned when the plan names one (see `returned` in
// AttemptPlan), else the attempt's own Result.
template <class Plan>
struct ReturnedOf {
  using type = typename Plan::Value;
};
template <class Plan>
  requires requires { typename Plan::Returned; }
struct ReturnedOf<Plan> {
  using type = typename Plan::Returned;
};

// A local refusal (bulkhead, limiter) after the breaker granted a permit: the permit goes back
// unrecorded, and the refusal is the attempt's error.
inline Error give_back(CircuitBreaker* breaker, const BreakerPermit& permit, Error e, TimePoint now,
                       const TraceIds* ids) {
  if (breaker) breaker->on_result(permit, BreakerOutcome::error(ErrorCode::cancelled), Duration::zero(), now, ids);
  return e;
}

// Frame-saving: the stages, the attempt's await and the decision are inline in this one frame
// (no coroutine per policy layer); the hooks are plain calls the compiler inlines per plan.
// The slot a bulkhead stage holds during the attempt; nothing for plans without one.
struct NoSlot {
  void release() noexcept {}
};

// Frame-saving: the stages, the attempt's await and the decision are inline in this one frame
// (no coroutine per policy layer); the hooks are plain calls the compiler inlines per plan,
// and a stage the plan does not have is compiled out. long-function: that is why it is longer
// than 80 lines: each stage that may wait must await here, in the loop's own frame,
// or cost a coroutine frame per attempt (bench_policies: BM_Retry, BM_Pipeline5).
template <class Plan>
Task<typename ReturnedOf<Plan>::type> run_attempts(Plan plan) {
  using R = typename Plan::Value;
  const std::optional<Duration> overall_timeout = plan.overall_timeout();
  auto narrow = overall_timeout ? this_task::narrow_deadline(*overall_timeout)
                                : this_task::narrow_deadline(Deadline::never());
  const this_task::TaskContext ctx = co_await narrow;
  Scheduler& sched = *ctx.scheduler;
  const CancelToken token = ctx.token;
  const Deadline overall = ctx.deadline;
  CircuitBreaker* const breaker = plan.breaker();
  RateLimiter* const limiter = plan.limiter();
  const RetryConfig* retry_config = nullptr;  // the Retry's own unless the plan has one for this call
  if constexpr (requires { plan.retry_config(); }) retry_config = plan.retry_config();
  const TraceIds* const ids = plan.trace_ids();
  Retry::Run run{plan.retry(), overall, plan.outcome(), retry_config, ids};
  std::optional<R> local;  // the attempt's result, unless the plan keeps it (result_slot)
  for (;;) {
    // `now` is read once per stretch without a suspension point (one virtual call each).
    TimePoint now = sched.now();
    if (std::optional<Error> refused = plan.precheck(ctx, now)) co_return std::move(*refused);
    plan.started(run.attempt() + 1, now);
    run.start_attempt(now);
    std::optional<R>& r = plan.result_slot(local);
    r.reset();
    BreakerPermit permit;
    TimePoint start = now;
    if (breaker) {
      permit = breaker->try_acquire(now, plan.may_probe(run.attempt()), ids);
      if (!permit) r.emplace(plan.refused(permit.error()));
    }
    std::conditional_t<Plan::uses_bulkhead, Bulkhead::Permit, NoSlot> slot;
    if constexpr (Plan::uses_bulkhead) {
      Bulkhead* const bulkhead = plan.bulkhead();
      if (!r && bulkhead) {
        if (!token.cancelled()) slot = bulkhead->try_acquire(now, ids);
        if (!slot) {
          Result<Bulkhead::Permit> p = co_await bulkhead->acquire(ids);
          now = sched.now();
          if (p) slot = std::move(*p);
          else r.emplace(give_back(breaker, permit, std::move(p).error(), now, ids));
        }
      }
    }
    if (!r && limiter && (token.cancelled() || !limiter->try_admit(0, now, ids))) {
      Status s = co_await limiter->acquire(0, ids);
      now = sched.now();
      if (!s) r.emplace(give_back(breaker, permit, std::move(s).error(), now, ids));
    }
    if (!r) {
      plan.admitted(now);
      start = now;
      const std::optional<Deadline> deadline = plan.attempt_deadline(start, overall);
      std::exception_ptr thrown;
      try {
        if (deadline) r.emplace(co_await with_timeout(plan.attempt(run.attempt()), *deadline));
        else r.emplace(co_await plan.attempt(run.attempt()));
      } catch (...) {
        thrown = std::current_exception();
      }
      if (thrown) {
        if constexpr (Plan::converts_exceptions) {
          r.emplace(plan.thrown(thrown));
        } else {
          const TimePoint end = sched.now();
          if (breaker) breaker->on_result(permit, BreakerOutcome::error(ErrorCode::internal), end - start, end, ids);
          std::rethrow_exception(thrown);
        }
      }
      slot.release();
      const TimePoint end = sched.now();
      if (breaker) {
        // Cut short by the loop's own overall deadline rather than the attempt's: not the
        // target's fault.
        const bool overall_ended =
            Plan::owns_deadline && !*r && deadline && *deadline == overall && overall.passed(end);
        const BreakerOutcome outcome =
            overall_ended ? BreakerOutcome::error(ErrorCode::cancelled) : plan.breaker_outcome(*r, end - start);
        breaker->on_result(permit, outcome, end - start, end, ids);
      }
      if (plan.after_attempt(*r, start, end) == AttemptNext::again) continue;
    }
    if (r->ok()) {
      run.succeeded();
      co_return plan.returned(std::move(*r));
    }
    if (plan.on_failure(r->error(), start, sched.now()) == AttemptNext::stop) {
      run.failed_without_retry(r->error(), sched.now());
      co_return plan.returned(std::move(*r));
    }
    const bool overall_passed = Plan::owns_deadline && overall.passed(sched.now());
    const RetryDecision& decision = run.failed(r->error(), token.cancelled() || overall_passed, sched.now());
    if (overall_passed && !token.cancelled()) co_return Error(ErrorCode::timeout, "deadline exceeded");
    if (decision.reason == RetryReason::cancelled && r->error().code != ErrorCode::cancelled) {
      co_return plan.caller_cancelled(std::move(*r).error());
    }
    if (!decision.retry()) co_return plan.returned(std::move(*r));
    plan.before_backoff(decision, r->error(), run.attempt(), sched.now());
    if (Status slept = co_await sleep_for(decision.delay); !slept) {
      co_return plan.backoff_cancelled(run.backoff_cancelled(std::move(*r).error(), sched.now()));
    }
  }
}

// Retry::execute (retry.h): the loop with the retry as its only policy; op() is the attempt,
// under the retry's attempt_timeout when it has one.
template <class F>
struct RetryPlan : AttemptPlan {
  using Value = typename std::invoke_result_t<F&>::value_type;
  Retry* target;
  RetryOutcome* how;
  F op;

  Retry* retry() const noexcept { return target; }
  RetryOutcome* outcome() const noexcept { return how; }
  Task<Value> attempt(int) { return op(); }
  std::optional<Deadline> attempt_deadline(TimePoint start, Deadline) const noexcept {
    const std::optional<Duration>& timeout = target->config().attempt_timeout;
    if (!timeout) return std::nullopt;
    return Deadline::after(start, *timeout);
  }
};

template <class>
inline constexpr bool retry_task_of_result_v = false;
template <class T>
inline constexpr bool retry_task_of_result_v<Task<Result<T>>> = true;

template <class F>
std::invoke_result_t<F&> Retry::execute(F op, RetryOutcome* outcome) {
  static_assert(retry_task_of_result_v<std::invoke_result_t<F&>>, "Retry::execute: op() must return Task<Result<T>>");
  return run_attempts(RetryPlan<F>{{}, this, outcome, std::move(op)});
}

}  // namespace keel::policy
