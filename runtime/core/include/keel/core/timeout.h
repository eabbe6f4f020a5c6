// keel/core/timeout.h — with_timeout: release the caller at a deadline, whatever the task does.
//
// Purpose: the guarantee behind every timeout in keel (DESIGN.md): if a model call or a tool
// hangs forever, the awaiting code still resumes at its deadline with `timeout`, and the hung
// operation is cancelled. No timeout waits for the work it abandons.
//
// Contract: `co_await with_timeout(task, deadline)` yields a Result (Result<U> for a
// Task<Result<U>>, Result<T> otherwise, Status for Task<void>) and resumes at the first of:
//  - the task finishing: its value (an exception it threw is rethrown);
//  - the deadline (virtual time exactly, in the simulator): ErrorCode::timeout, and the task's
//    cancellation fires; the task is not waited for — it finishes on its own and frees itself;
//  - the awaiter's own cancellation: ErrorCode::cancelled within the current instant (the task
//    is cancelled too and may win that instant with its own result).
// A deadline already passed when awaited gives `timeout` without starting the task.
// Deadline::never() just runs the task (still cancellable).
// Deadlines propagate: the effective deadline is the earlier of this one and the awaiter's own
// (`this_task::deadline()`), and the task sees it as its deadline, so a child never gets more
// time than its parent has left.
//
// Example:
//   Result<Reply> r = co_await with_timeout(call_model(req), Deadline::after(s.now(), 30s));
//   if (!r && r.error().code == ErrorCode::timeout) { /* the caller was released on time */ }
//   auto r2 = co_await with_timeout(call_model(req), 500ms);   // relative to now
#pragma once

#include <type_traits>

#include "keel/core/detail/detached.h"
#include "keel/core/result.h"

namespace keel {

namespace detail {

template <class T>
struct AsResult {
  using type = Result<T>;
};
template <class U>
struct AsResult<Result<U>> {
  using type = Result<U>;
};

template <class T>
struct TimeoutState : SharedState {
  CancelSource child;                 // the task's token, linked to the awaiter's
  std::coroutine_handle<> waiter;     // set while the awaiter is suspended
  Scheduler* scheduler = nullptr;
  TimerId timer;                      // the deadline, or the prompt resume after cancellation
  std::optional<TaskOutcome<T>> outcome;
  std::optional<ErrorCode> failure;   // timeout or cancelled, when the task did not win
  CancelCallback on_parent_cancel;

  bool done() const noexcept { return outcome || failure; }
  void wake() {
    on_parent_cancel.disarm();
    if (timer) scheduler->cancel_timer(std::exchange(timer, {}));
    if (auto w = std::exchange(waiter, {})) w.resume();
  }
  void task_finished(TaskOutcome<T>&& o) {
    if (done()) return;
    outcome.emplace(std::move(o));
    wake();
  }
  void deadline_reached() {
    timer = {};
    if (done()) return;
    failure = ErrorCode::timeout;
    child.cancel();
    wake();
  }
  void parent_cancelled() {
    if (done()) return;
    child.cancel();  // the task may still finish within this instant and win
    if (done()) return;
    if (timer) scheduler->cancel_timer(timer);
    timer = scheduler->start_timer(scheduler->now(), [this] {
      timer = {};
      if (done()) return;
      failure = ErrorCode::cancelled;
      wake();
    });
  }
};

template <class T>
class TimeoutAwaiter {
 public:
  using R = typename AsResult<T>::type;

  TimeoutAwaiter(Task<T> task, Deadline deadline, std::optional<Duration> relative)
      : task_(std::move(task)), deadline_(deadline), relative_(relative) {}
  TimeoutAwaiter(TimeoutAwaiter&&) = default;
  ~TimeoutAwaiter() {
    if (state_ && state_->waiter) {  // torn down while waiting: stop everything
      state_->waiter = {};
      state_->on_parent_cancel.disarm();
      if (state_->timer) state_->scheduler->cancel_timer(std::exchange(state_->timer, {}));
      state_->child.cancel();
    }
  }

  bool await_ready() const noexcept { return false; }
  template <KeelPromise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    Scheduler& sched = *h.promise().scheduler;
    const CancelToken parent = h.promise().token;
    const Deadline deadline = Deadline::earliest(
        h.promise().deadline, relative_ ? Deadline::after(sched.now(), *relative_) : deadline_);
    state_ = make_shared_state<TimeoutState<T>>();
    state_->scheduler = &sched;
    if (deadline.passed(sched.now())) {
      state_->failure = ErrorCode::timeout;
      return false;
    }
    if (parent.cancelled()) {
      state_->failure = ErrorCode::cancelled;
      return false;
    }
    state_->child.link_to(parent);
    auto report = [state = state_](TaskOutcome<T>&& outcome, bool) { state->task_finished(std::move(outcome)); };
    start_detached(run_and_report<T>(std::move(task_), std::move(report)), sched, state_->child.token(),
                   StartMode::inline_now, deadline);
    if (state_->done()) return false;
    if (!deadline.is_never()) {
      TimeoutState<T>* s = &*state_;
      state_->timer = sched.start_timer(deadline.time(), [s] { s->deadline_reached(); });
    }
    TimeoutState<T>* s = &*state_;
    state_->on_parent_cancel.arm(parent, [s] { s->parent_cancelled(); });
    state_->waiter = h;
    return true;
  }

  R await_resume() {
    if (state_->failure) {
      return Error(*state_->failure, *state_->failure == ErrorCode::timeout ? "deadline exceeded"
                                                                            : "cancelled");
    }
    if constexpr (std::is_void_v<T>) {
      state_->outcome->take();
      return R{};
    } else {
      return R(state_->outcome->take());
    }
  }

 private:
  Task<T> task_;
  Deadline deadline_;
  std::optional<Duration> relative_;
  Shared<TimeoutState<T>> state_;
};

}  // namespace detail

template <class T>
detail::TimeoutAwaiter<T> with_timeout(Task<T> task, Deadline deadline) {
  return {std::move(task), deadline, std::nullopt};
}

// Deadline = now + `timeout`, taken when the result is awaited.
template <class T>
detail::TimeoutAwaiter<T> with_timeout(Task<T> task, Duration timeout) {
  return {std::move(task), Deadline::never(), timeout};
}

}  // namespace keel
