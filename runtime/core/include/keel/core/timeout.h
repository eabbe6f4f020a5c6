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
//    is cancelled too and may win that instant with its own result) — or the cancellation of
//    the optional `also` token, the same way (a step that must end on stop() as on its
//    caller's cancellation: `with_timeout(loop(), deadline, stop.token())`).
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

// The part of a with_timeout that must outlive its awaiter: the task's cancellation source
// (the task and its children hold tokens to it) and, once the task is abandoned, the task's
// frame, which then destroys itself when it finishes (FrameKeeper) and is registered with the
// scheduler meanwhile so shutdown frees it.
template <class T>
struct TimeoutState final : SharedState, FrameKeeper {
  using Handle = typename Task<T>::Handle;

  CancelSource child;                 // the task's token, linked to the awaiter's
  Handle task;                        // the started task's frame
  std::coroutine_handle<> waiter;     // set while the awaiter is suspended
  Scheduler* scheduler = nullptr;
  TimerId timer;                      // the deadline, or the prompt resume after cancellation
  std::optional<ErrorCode> failure;   // timeout or cancelled, when the task did not win
  CancelCallback on_parent_cancel;
  CancelCallback on_also_cancel;      // the optional second token's
  bool releasing = false;             // a cancellation scheduled the release
  DetachedNode node;                  // the abandoned task's registration
  Shared<TimeoutState> self;          // keeps this alive while an abandoned task runs

  // User-provided, so `new TimeoutState()` runs only the member initializers above instead of
  // first zero-filling all ~300 bytes (value-initialization of an aggregate-like class): that
  // fill was a third of with_timeout's cost per call.
  TimeoutState() noexcept {}

  // Stops waiting: the awaiter no longer wants the task (deadline, cancellation, teardown).
  void stop_waiting() noexcept {
    on_parent_cancel.disarm();
    on_also_cancel.disarm();
    if (timer) scheduler->cancel_timer(std::exchange(timer, {}));
    waiter = {};
  }
  // Hands the task's frame to itself: it is cancelled and frees itself when it finishes.
  void abandon_task() {
    self = Shared<TimeoutState>(this);
    auto& p = task.promise();
    p.keeper = this;
    p.continuation = {};
    node.frame = task;
    scheduler->register_detached(node);
    task = {};
    child.cancel();
  }
  void frame_destroyed() noexcept override {
    scheduler->unregister_detached(node);
    Shared<TimeoutState> last = std::move(self);  // may free this on return
  }
  void release_waiter(ErrorCode why) {
    failure = why;
    std::coroutine_handle<> w = waiter;
    stop_waiting();
    abandon_task();
    w.resume();  // from a timer callback: not inline in anyone's await
  }
  void deadline_reached() {
    timer = {};
    release_waiter(ErrorCode::timeout);
  }
  void parent_cancelled() {
    if (releasing) return;  // both tokens fired: the release is already on its way
    releasing = true;
    child.cancel();  // the task may still finish within this instant and win
    if (timer) scheduler->cancel_timer(timer);
    timer = scheduler->start_timer(scheduler->now(), [this] {
      timer = {};
      release_waiter(ErrorCode::cancelled);
    });
  }
};

template <class T>
class TimeoutAwaiter {
 public:
  using R = typename AsResult<T>::type;

  TimeoutAwaiter(Task<T> task, Deadline deadline, std::optional<Duration> relative, CancelToken also = {})
      : task_(std::move(task)), deadline_(deadline), relative_(relative), also_(also) {}
  TimeoutAwaiter(TimeoutAwaiter&&) = default;
  ~TimeoutAwaiter() {
    if (!state_) return;
    if (state_->waiter) {  // torn down while waiting: the task goes on alone, cancelled
      state_->stop_waiting();
      state_->abandon_task();
    } else if (state_->task) {
      state_->task.destroy();  // finished (or never started): before its cancel source goes
      state_->task = {};
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
    TimeoutState<T>& s = *state_;
    s.scheduler = &sched;
    if (deadline.passed(sched.now())) {
      s.failure = ErrorCode::timeout;
      return false;
    }
    if (parent.cancelled() || also_.cancelled()) {
      s.failure = ErrorCode::cancelled;
      return false;
    }
    s.child.link_to(parent);
    s.task = task_.release();
    auto& child = s.task.promise();
    child.scheduler = &sched;
    child.token = s.child.token();
    child.deadline = deadline;
    s.task.resume();  // inline until its first suspension; no continuation yet
    if (s.task.done()) return false;
    child.continuation = h;  // it finishes by resuming us directly
    if (!deadline.is_never()) {
      s.timer = sched.start_timer(deadline.time(), [p = &s] { p->deadline_reached(); });
    }
    s.on_parent_cancel.arm(parent, [p = &s] { p->parent_cancelled(); });
    if (also_.can_be_cancelled()) s.on_also_cancel.arm(also_, [p = &s] { p->parent_cancelled(); });
    s.waiter = h;
    return true;
  }

  R await_resume() {
    TimeoutState<T>& s = *state_;
    if (s.failure) {
      return Error(*s.failure, *s.failure == ErrorCode::timeout ? "deadline exceeded" : "cancelled");
    }
    s.stop_waiting();
    if constexpr (std::is_void_v<T>) {
      s.task.promise().outcome.take();
      return R{};
    } else {
      return R(s.task.promise().outcome.take());
    }
  }

 private:
  Task<T> task_;
  Deadline deadline_;
  std::optional<Duration> relative_;
  CancelToken also_;
  Shared<TimeoutState<T>> state_;
};

}  // namespace detail

template <class T>
detail::TimeoutAwaiter<T> with_timeout(Task<T> task, Deadline deadline) {
  return {std::move(task), deadline, std::nullopt};
}

// Also released (ErrorCode::cancelled, the task cancelled) when `also` is cancelled.
template <class T>
detail::TimeoutAwaiter<T> with_timeout(Task<T> task, Deadline deadline, CancelToken also) {
  return {std::move(task), deadline, std::nullopt, also};
}

// Deadline = now + `timeout`, taken when the result is awaited.
template <class T>
detail::TimeoutAwaiter<T> with_timeout(Task<T> task, Duration timeout) {
  return {std::move(task), Deadline::never(), timeout};
}

}  // namespace keel
