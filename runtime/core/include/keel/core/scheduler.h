// keel/core/scheduler.h — the one source of time and deferred execution in the runtime.
//
// Purpose: everything in keel that waits (sleeps, timeouts, backoff, hedging) goes through a
// Scheduler. `sim::Simulator` implements it in virtual time; `live::AsioScheduler` on an
// io_context. Runtime code cannot tell which one it runs on.
//
// Contract (every implementation):
//  - Single-threaded: a Scheduler and everything scheduled on it belong to one thread.
//  - Callbacks never run inline from the call that schedules them (`post`, `start_timer`).
//  - A timer never fires before its time point; it may fire late (live) or exactly on time (sim).
//  - Timers due at the same time fire in the order they were scheduled (a `post` counts as a
//    timer at `now()`), unless the implementation documents a seeded permutation of ties
//    (sim::Simulator with `permute_ties`).
//  - `cancel_timer` returns true iff the timer was pending and will now never run; its
//    callback is destroyed before `cancel_timer` returns. Cancelling a fired, cancelled or
//    unknown id returns false. Ids are never reused by one scheduler.
//  - Detached root tasks (see task.h: `spawn`) are registered with their scheduler; an
//    implementation destroys the ones still suspended when it is destroyed, so an abandoned
//    coroutine never leaks (call `destroy_detached_tasks()` first thing in the destructor).
//
// Example:
//   TimerId t = sched.start_timer(sched.now() + 250ms, [] { /* ... */ });
//   if (sched.cancel_timer(t)) { /* the callback will never run */ }
//   sched.post([] { /* runs soon, after the current callback returns */ });
#pragma once

#include <coroutine>
#include <cstdint>

#include "keel/core/callback.h"
#include "keel/core/time.h"

namespace keel {

// Opaque timer handle. Zero is never a valid id.
struct TimerId {
  std::uint64_t value = 0;
  explicit operator bool() const noexcept { return value != 0; }
  friend bool operator==(TimerId, TimerId) noexcept = default;
};

namespace detail {
// Intrusive list node for detached root coroutines, owned by the scheduler they run on.
struct DetachedNode {
  DetachedNode* prev = nullptr;
  DetachedNode* next = nullptr;
  std::coroutine_handle<> frame;
};
}  // namespace detail

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  virtual TimePoint now() const noexcept = 0;
  // Runs `cb` soon, after the current callback returns, at the current time.
  virtual void post(Callback cb) = 0;
  // Runs `cb` at `at` (or as soon as possible after it). A past `at` means "now".
  virtual TimerId start_timer(TimePoint at, Callback cb) = 0;
  // True iff the timer was pending and has been cancelled.
  virtual bool cancel_timer(TimerId id) noexcept = 0;

  TimerId start_timer_after(Duration d, Callback cb) {
    return start_timer(saturating_add(now(), d), std::move(cb));
  }

  // Detached-task registry (used by spawn and the task combinators; not for direct use).
  void register_detached(detail::DetachedNode& n) noexcept;
  void unregister_detached(detail::DetachedNode& n) noexcept;
  std::size_t detached_count() const noexcept { return detached_count_; }

  // Destroys every still-suspended detached task. Implementations call this at the start of
  // their destructor while their timer structures are still alive; an owner may call it
  // earlier to tear a run down while the objects its tasks point at still exist.
  void destroy_detached_tasks() noexcept;

 protected:

 private:
  detail::DetachedNode* detached_head_ = nullptr;
  std::size_t detached_count_ = 0;
};

}  // namespace keel
