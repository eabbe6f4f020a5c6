// keel/core/sleep.h — waiting in a Task: sleep_for, sleep_until, yield_now, until_cancelled.
//
// Purpose: the leaf awaitables for time. They use the awaiting task's Scheduler and honour its
// CancelToken: a cancelled sleep resumes within the current instant with `cancelled`.
//
// Contract:
//  - Resumes at the time point (never early; in the simulator exactly then) with an ok Status,
//    or promptly after cancellation with ErrorCode::cancelled. Always resumes from the
//    scheduler, never inline: `co_await sleep_for(0ns)` is a yield.
//  - Already cancelled when awaited: completes at once with `cancelled`, without suspending.
//  - Destroying a suspended sleeper (its frame torn down) cancels its timer: nothing dangles.
//  - `until_cancelled()` waits for cancellation only (no timer): a model of a hung operation.
//
// Example:
//   if (Status s = co_await sleep_for(250ms); !s) co_return s.error();   // cancelled
//   co_await yield_now();
#pragma once

#include "keel/core/result.h"
#include "keel/core/task.h"

namespace keel {

namespace detail {

class SleepAwaiter {
 public:
  // `at` is absolute; when `relative` is set it is added to now() at suspension instead.
  SleepAwaiter(TimePoint at, Duration relative, bool use_relative, bool timer) noexcept
      : at_(at), relative_(relative), use_relative_(use_relative), timer_wanted_(timer) {}
  SleepAwaiter(const SleepAwaiter&) = delete;
  SleepAwaiter& operator=(const SleepAwaiter&) = delete;
  ~SleepAwaiter() {
    if (timer_) scheduler_->cancel_timer(timer_);
  }

  bool await_ready() const noexcept { return false; }
  template <KeelPromise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    scheduler_ = h.promise().scheduler;
    const CancelToken token = h.promise().token;
    if (token.cancelled()) {
      cancelled_ = true;
      return false;
    }
    waiter_ = h;
    if (timer_wanted_) {
      const TimePoint at = use_relative_ ? saturating_add(scheduler_->now(), relative_) : at_;
      timer_ = scheduler_->start_timer(at, [this] { fire(); });
    }
    on_cancel_.arm(token, [this] { cancel(); });
    return true;
  }
  Status await_resume() const {
    if (cancelled_) return Error(ErrorCode::cancelled, "cancelled while waiting");
    return {};
  }

 private:
  void fire() {
    timer_ = {};
    on_cancel_.disarm();
    waiter_.resume();
  }
  void cancel() {
    if (timer_) scheduler_->cancel_timer(timer_);
    cancelled_ = true;
    timer_ = scheduler_->start_timer(scheduler_->now(), [this] {
      timer_ = {};
      waiter_.resume();
    });
  }

  TimePoint at_;
  Duration relative_;
  bool use_relative_;
  bool timer_wanted_;
  bool cancelled_ = false;
  Scheduler* scheduler_ = nullptr;
  TimerId timer_;
  std::coroutine_handle<> waiter_;
  CancelCallback on_cancel_;
};

}  // namespace detail

inline detail::SleepAwaiter sleep_until(TimePoint at) noexcept {
  return {at, {}, false, at != TimePoint::max()};
}
inline detail::SleepAwaiter sleep_until(Deadline d) noexcept {
  return {d.time(), {}, false, !d.is_never()};
}
inline detail::SleepAwaiter sleep_for(Duration d) noexcept {
  return {{}, d < Duration::zero() ? Duration::zero() : d, true, d != Duration::max()};
}
inline detail::SleepAwaiter yield_now() noexcept { return sleep_for(Duration::zero()); }
// Suspends until the task is cancelled (forever if it cannot be). Returns `cancelled`.
inline detail::SleepAwaiter until_cancelled() noexcept { return {{}, {}, false, false}; }

}  // namespace keel
