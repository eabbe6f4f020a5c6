// keel/core/timeout.h — with_timeout: release the caller at a deadline, whatever the task does.
//
// Purpose: the guarantee behind every timeout in keel (docs/architecture.md): if a model call or a tool
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

#include <cstdint>
#include <optional>
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
//
// Ownership is single, never shared: the awaiter owns the state until it abandons the task,
// then the task's frame does (frame_destroyed() frees it). A task that finished without being
// cancelled leaves the state clean (no link, no callbacks, nothing pending), and a clean state
// goes back to a per-thread free list still constructed, so the next with_timeout on this
// thread skips both construction and destruction (most calls finish before their deadline).
template <class T>
struct TimeoutState final : FrameKeeper, FrameAllocated {
  using Handle = typename Task<T>::Handle;

  CancelSource child;                 // the task's token, linked to the awaiter's
  Handle task;                        // the started task's frame
  std::coroutine_handle<> waiter;     // set while the awaiter is suspended
  std::optional<ErrorCode>* failure_out = nullptr;  // the awaiter's, while it waits
  Scheduler* scheduler = nullptr;
  TimerId timer;                      // the deadline, or the prompt resume after cancellation
  CancelCallback on_parent_cancel;
  CancelCallback on_also_cancel;      // the optional second token's
  bool releasing = false;             // a cancellation scheduled the release
  DetachedNode node;                  // the abandoned task's registration
  TimeoutState* next_free = nullptr;  // free-list link

  // User-provided, so `new TimeoutState()` runs only the member initializers above instead of
  // first zero-filling the whole object (value-initialization of an aggregate-like class).
  TimeoutState() noexcept {}

  // A clean state: from this thread's free list, else a new one.
  static TimeoutState* acquire() {
    FreeList& list = free_list;
    if (TimeoutState* s = list.head) [[likely]] {
      list.head = s->next_free;
      --list.size;
      return s;
    }
    list.arm();
    return new TimeoutState();
  }
  // The awaiter is done with the state and the task's frame is gone: back to the free list if
  // nothing refers to it any more (a cancelled source stays cancelled: such a state is freed).
  void release() noexcept {
    FreeList& list = free_list;
    if (child.cancelled() || child.has_callbacks() || !list.has_room()) [[unlikely]] {
      delete this;
      return;
    }
    child.link_to(CancelToken{});
    next_free = list.head;
    list.head = this;
    ++list.size;
  }

  // Stops waiting: the awaiter no longer wants the task (deadline, cancellation, teardown).
  void stop_waiting() noexcept {
    on_parent_cancel.disarm();
    on_also_cancel.disarm();
    if (timer) scheduler->cancel_timer(std::exchange(timer, {}));
    waiter = {};
    failure_out = nullptr;
  }
  // Hands the task's frame to itself, and this state to the frame: the task is cancelled and
  // frees itself (and then this) when it finishes.
  void abandon_task() {
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
    delete this;
  }
  void release_waiter(ErrorCode why) {
    *failure_out = why;
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

 private:
  // This thread's clean states. Constant-initialized and trivially destructible (no guard on
  // the inline paths); the first acquire() on a thread arms a reaper that frees the list at
  // thread exit and stops further pooling. Off under AddressSanitizer, like the frame pool.
  struct FreeList {
    static constexpr std::uint32_t kMax = 256;
    TimeoutState* head = nullptr;
    std::uint32_t size = 0;
    bool armed = false;
    bool has_room() const noexcept { return KEEL_FRAME_POOL && armed && size < kMax; }
    void arm() {
      if (armed || !KEEL_FRAME_POOL) return;
      static thread_local Reaper reaper;  // constructed once per thread, destroyed at its exit
      (void)reaper;
      armed = true;
    }
  };
  struct Reaper {
    ~Reaper() {
      FreeList& list = free_list;
      list.armed = false;
      while (TimeoutState* s = list.head) {
        list.head = s->next_free;
        delete s;
      }
      list.size = 0;
    }
  };
  static constinit inline thread_local FreeList free_list{};
};

template <class T>
class TimeoutAwaiter {
 public:
  using R = typename AsResult<T>::type;

  TimeoutAwaiter(Task<T> task, Deadline deadline, std::optional<Duration> relative, CancelToken also = {})
      : task_(std::move(task)), deadline_(deadline), relative_(relative), also_(also) {}
  TimeoutAwaiter(TimeoutAwaiter&& o) noexcept
      : task_(std::move(o.task_)), deadline_(o.deadline_), relative_(o.relative_), also_(o.also_),
        failure_(o.failure_), state_(std::exchange(o.state_, nullptr)) {}
  ~TimeoutAwaiter() {
    TimeoutState<T>* s = state_;
    if (!s || failure_) return;  // not started, or abandoned (the task's frame owns the state)
    if (s->waiter) {  // torn down while waiting: the task goes on alone, cancelled
      s->stop_waiting();
      s->abandon_task();
      return;
    }
    s->task.destroy();  // finished: before its cancel source is reused or freed
    s->task = {};
    s->release();
  }

  bool await_ready() const noexcept { return false; }
  template <KeelPromise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    Scheduler& sched = *h.promise().scheduler;
    const CancelToken parent = h.promise().token;
    const TimePoint now = sched.now();
    const Deadline deadline = Deadline::earliest(
        h.promise().deadline, relative_ ? Deadline::after(now, *relative_) : deadline_);
    // Refused before starting: no state; the task (never started) is freed with task_.
    if (deadline.passed(now)) {
      failure_ = ErrorCode::timeout;
      return false;
    }
    if (parent.cancelled() || also_.cancelled()) {
      failure_ = ErrorCode::cancelled;
      return false;
    }
    state_ = TimeoutState<T>::acquire();
    TimeoutState<T>& s = *state_;
    s.scheduler = &sched;
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
    s.failure_out = &failure_;
    return true;
  }

  R await_resume() {
    if (failure_) {
      state_ = nullptr;  // abandoned (or never created): not ours any more
      return Error(*failure_, *failure_ == ErrorCode::timeout ? "deadline exceeded" : "cancelled");
    }
    TimeoutState<T>& s = *state_;
    if (s.waiter) s.stop_waiting();
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
  std::optional<ErrorCode> failure_;  // timeout or cancelled, when the task did not win
  TimeoutState<T>* state_ = nullptr;  // owned until the task is abandoned
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
