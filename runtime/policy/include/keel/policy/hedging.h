// keel/policy/hedging.h — hedged requests: after a delay without an answer, try again in
// parallel (on the same or another target); the first success wins, the rest are cancelled.
//
// Purpose: cut tail latency of model calls (Polly v8 hedging, gRPC A6 hedging). The caller
// decides what attempt i is: `make_attempt(0)` is the primary, `make_attempt(i)` hedge i (same
// target again, or an alternative one).
//
// Contract (`co_await hedging.execute(make_attempt)`, make_attempt(int) -> Task<Result<T>>):
//  - The primary starts at once. Each `delay` after the latest attempt started with no success
//    yet, the next hedge starts, while fewer than 1 + max_extra attempts have started in total
//    (so never more than 1 + max_extra in flight).
//  - A failed attempt does not end the call: the others keep running, and the next hedge (if
//    any may start) starts immediately rather than waiting out the delay (Polly's behaviour);
//    the delay then counts from that start.
//  - With a RetryBudget, each hedge must be granted (try_acquire, released as it starts). A
//    refusal stops hedging for this call (counted, "hedge.refused" event); the attempts in
//    flight continue. Hedging does not report outcomes to the budget: whoever owns it does.
//  - The first successful attempt wins: the call returns its value in that instant and every
//    other attempt is cancelled (their tokens fire synchronously, so they observe cancellation
//    in the same virtual instant); losers are not awaited and free themselves.
//  - When every started attempt has failed and no more may start, the call returns the error
//    of the attempt that failed last. An exception escaping an attempt ends the call the same
//    way a success does (others cancelled) and is rethrown.
//  - Cancelling the caller cancels every attempt and returns `cancelled` in that instant
//    (unless an attempt succeeds within it). Attempts inherit the caller's deadline.
//  - Counters: primary_won, hedge_won, hedges_started, hedges_refused_by_budget, all_failed,
//    cancelled. Events: "hedge.start" (attempt, trigger: delay|failure, elapsed),
//    "hedge.won" (attempt, elapsed; attempt 0 is the primary), "hedge.refused" (attempt),
//    "hedge.all_failed" (attempts, code), "hedge.cancelled"; each with the call's trace ids
//    (trace_ids.h) when execute() is given them.
//  - No heap allocation: the call's shared state and the attempts' root frames are pooled.
//  - Single-threaded (one scheduler). The Hedging object (and budget, sink) must outlive its
//    calls; `make_attempt` is kept alive until the last attempt has finished.
//  - g++ 12 pitfall: a lambda temporary whose captures have destructors (a std::string, a
//    vector) written inside the co_await expression is destroyed twice (double free). Name it
//    first: `auto make = [req](int i) {...}; co_await hedging.execute(std::move(make));`.
//
// Example:
//   Hedging hedging{{.delay = 2s, .max_extra = 1}, &budget, &sink};
//   Result<Reply> r = co_await hedging.execute([&](int i) {
//     return call_model(i == 0 ? primary : backup, req);
//   });
#pragma once

#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "keel/core/detail/detached.h"
#include "keel/core/event.h"
#include "keel/core/result.h"
#include "keel/core/task.h"

namespace keel::policy {

class RetryBudget;

struct HedgingConfig {
  Duration delay = std::chrono::seconds{2};  // Polly v8 default
  int max_extra = 1;                         // hedges after the primary, in total
};

struct HedgingCounters {
  std::uint64_t primary_won = 0;
  std::uint64_t hedge_won = 0;
  std::uint64_t hedges_started = 0;
  std::uint64_t hedges_refused_by_budget = 0;
  std::uint64_t all_failed = 0;
  std::uint64_t cancelled = 0;
};

namespace hedging_impl {  // (not `detail`: that would hide keel::detail in keel::policy)
template <class R, class F>
struct HedgeState;
template <class R, class F>
class HedgeAwaiter;
}  // namespace hedging_impl

class Hedging {
 public:
  explicit Hedging(HedgingConfig config = {}, RetryBudget* budget = nullptr, EventSink* sink = nullptr) noexcept
      : config_(config), budget_(budget), sink_(sink) {}
  Hedging(const Hedging&) = delete;
  Hedging& operator=(const Hedging&) = delete;

  // make_attempt(int index) -> Task<Result<T>>; returns the winner's result (see above).
  // `ids` (may be null) must outlive the call.
  template <class F>
  std::invoke_result_t<F&, int> execute(F make_attempt, const TraceIds* ids = nullptr);

  const HedgingCounters& counters() const noexcept { return counters_; }
  const HedgingConfig& config() const noexcept { return config_; }

 private:
  template <class R, class F>
  friend struct hedging_impl::HedgeState;

  // Budget check for hedge `index`; on refusal counts it and emits "hedge.refused".
  bool grant_hedge(int index, TimePoint now, const TraceIds* ids) noexcept;
  void note_started(int index, bool on_failure, TimePoint now, Duration elapsed, const TraceIds* ids) noexcept;
  void note_won(int index, TimePoint now, Duration elapsed, const TraceIds* ids) noexcept;
  void note_all_failed(int attempts, ErrorCode code, TimePoint now, const TraceIds* ids) noexcept;
  void note_cancelled(TimePoint now, const TraceIds* ids) noexcept;

  HedgingConfig config_;
  RetryBudget* budget_;
  EventSink* sink_;
  HedgingCounters counters_;
};

namespace hedging_impl {

// One hedged call: shared by its awaiter and its attempts' detached roots (refcounted).
template <class R, class F>
struct HedgeState : keel::detail::SharedState {
  HedgeState(Hedging& p, F&& f, const TraceIds* i) : policy(&p), make_attempt(std::move(f)), ids(i) {}

  Hedging* policy;
  F make_attempt;
  const TraceIds* ids;            // the call's, for the events (may be null)
  Scheduler* sched = nullptr;
  Deadline deadline;
  TimePoint started_at{};
  CancelSource attempts;          // every attempt's token; linked to the caller's
  CancelCallback on_caller_cancel;
  TimerId timer;                  // the next hedge, or the prompt return after cancellation
  std::coroutine_handle<> waiter; // set while the caller is suspended
  int started = 0;
  int running = 0;
  bool done = false;
  bool no_more_hedges = false;    // refused by the budget, or the caller cancelled
  bool caller_cancelled = false;
  std::optional<R> result;        // the winner, or the latest failure
  std::exception_ptr exception;

  int max_attempts() const noexcept { return 1 + (policy->config_.max_extra > 0 ? policy->config_.max_extra : 0); }
  bool may_hedge() const noexcept { return !done && !no_more_hedges && started < max_attempts(); }

  void stop_timer() noexcept {
    if (timer) sched->cancel_timer(std::exchange(timer, {}));
  }

  void launch(bool on_failure);
  void try_hedge(bool on_failure) {
    if (!may_hedge()) return;
    if (!policy->grant_hedge(started, sched->now(), ids)) {
      no_more_hedges = true;
      stop_timer();
      return;
    }
    launch(on_failure);
  }
  void attempt_finished(int index, std::optional<R>&& r, std::exception_ptr e);
  void caller_cancel() {
    if (done) return;
    caller_cancelled = true;
    no_more_hedges = true;
    stop_timer();
    timer = sched->start_timer(sched->now(), [this] {
      timer = {};
      if (!done) end_cancelled();
    });
  }
  void end_cancelled() {
    result.emplace(Error(ErrorCode::cancelled, "hedging: cancelled"));
    policy->note_cancelled(sched->now(), ids);
    finish();
  }
  void finish() {
    done = true;
    stop_timer();
    on_caller_cancel.disarm();
    if (auto w = std::exchange(waiter, {})) w.resume();
  }
};

template <class R, class F>
keel::detail::DetachedRoot hedge_attempt(keel::detail::Shared<HedgeState<R, F>> state, int index) {
  std::optional<R> r;
  std::exception_ptr e;
  try {
    R value = co_await state->make_attempt(index);
    r.emplace(std::move(value));
  } catch (...) {
    e = std::current_exception();
  }
  state->attempt_finished(index, std::move(r), e);
}

template <class R, class F>
void HedgeState<R, F>::launch(bool on_failure) {
  const int index = started++;
  ++running;
  const TimePoint now = sched->now();
  if (index > 0) policy->note_started(index, on_failure, now, now - started_at, ids);
  stop_timer();
  if (may_hedge() && policy->config_.delay != Duration::max()) {
    timer = sched->start_timer(saturating_add(now, policy->config_.delay), [this] {
      timer = {};
      try_hedge(false);
    });
  }
  // Inline: the attempt runs to its first suspension (and may even finish) before this returns.
  keel::detail::start_detached(hedge_attempt<R, F>(keel::detail::Shared<HedgeState>(this), index), *sched,
                               attempts.token(), keel::detail::StartMode::inline_now, deadline);
}

template <class R, class F>
void HedgeState<R, F>::attempt_finished(int index, std::optional<R>&& r, std::exception_ptr e) {
  --running;
  if (done) return;  // a loser finishing after the call ended
  const TimePoint now = sched->now();
  if (e || r->ok()) {
    if (e) exception = std::move(e);
    else policy->note_won(index, now, now - started_at, ids);
    result = std::move(r);
    attempts.cancel();  // the losers observe cancellation now; nobody waits for them
    finish();
    return;
  }
  result = std::move(r);
  if (!caller_cancelled) try_hedge(true);
  if (done || running > 0) return;
  if (caller_cancelled) return end_cancelled();
  policy->note_all_failed(started, result->error().code, now, ids);
  finish();
}

template <class R, class F>
class HedgeAwaiter {
 public:
  HedgeAwaiter(Hedging& policy, F&& f, const TraceIds* ids)
      : state_(keel::detail::make_shared_state<HedgeState<R, F>>(policy, std::move(f), ids)) {}
  HedgeAwaiter(const HedgeAwaiter&) = delete;
  HedgeAwaiter& operator=(const HedgeAwaiter&) = delete;
  ~HedgeAwaiter() {
    if (state_->waiter) {  // the caller's frame was torn down while waiting: stop everything
      state_->waiter = {};
      state_->done = true;
      state_->stop_timer();
      state_->on_caller_cancel.disarm();
      state_->attempts.cancel();
    }
  }

  bool await_ready() const noexcept { return false; }
  template <keel::detail::KeelPromise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    HedgeState<R, F>& s = *state_;
    s.sched = h.promise().scheduler;
    s.deadline = h.promise().deadline;
    s.started_at = s.sched->now();
    const CancelToken caller = h.promise().token;
    if (caller.cancelled()) {
      s.end_cancelled();
      return false;
    }
    s.attempts.link_to(caller);
    s.on_caller_cancel.arm(caller, [p = &s] { p->caller_cancel(); });
    s.launch(false);
    if (s.done) return false;
    s.waiter = h;
    return true;
  }
  R await_resume() {
    if (state_->exception) std::rethrow_exception(state_->exception);
    return std::move(*state_->result);
  }

 private:
  keel::detail::Shared<HedgeState<R, F>> state_;
};

}  // namespace hedging_impl

template <class F>
std::invoke_result_t<F&, int> Hedging::execute(F make_attempt, const TraceIds* ids) {
  using R = typename std::invoke_result_t<F&, int>::value_type;
  co_return co_await hedging_impl::HedgeAwaiter<R, F>(*this, std::move(make_attempt), ids);
}

}  // namespace keel::policy
