// keel/core/detail/detached.h — root coroutines owned by their scheduler, and shared state.
//
// Internal to spawn/when_all/when_any/with_timeout. A detached root is a coroutine frame that
// nobody awaits: it registers itself with its Scheduler while alive (so the scheduler can
// destroy it if it is still suspended at shutdown) and frees itself when it finishes.
#pragma once

#include <coroutine>
#include <exception>
#include <type_traits>
#include <utility>

#include "keel/core/task.h"

namespace keel::detail {

struct DetachedPromise;

struct [[nodiscard]] DetachedRoot {
  using promise_type = DetachedPromise;
  std::coroutine_handle<DetachedPromise> handle;
};

struct DetachedPromise : PromiseBase {
  DetachedNode node;

  DetachedRoot get_return_object() noexcept {
    return {std::coroutine_handle<DetachedPromise>::from_promise(*this)};
  }
  std::suspend_always initial_suspend() const noexcept { return {}; }
  std::suspend_never final_suspend() const noexcept { return {}; }  // frees the frame
  void return_void() const noexcept {}
  // Root bodies catch everything themselves; reaching here is a bug.
  void unhandled_exception() const noexcept { std::terminate(); }
  ~DetachedPromise() {
    if (scheduler) scheduler->unregister_detached(node);
  }
};

// A detached root that runs `task` and hands its outcome to `report(outcome, threw)`: the
// child body of every combinator. `report` is kept in the frame (capture only what it needs).
template <class T, class Report>
DetachedRoot run_and_report(Task<T> task, Report report) {
  TaskOutcome<T> outcome;
  bool threw = false;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      outcome.set_value();
    } else {
      outcome.set_value(co_await std::move(task));
    }
  } catch (...) {
    outcome.set_exception(std::current_exception());
    threw = true;
  }
  report(std::move(outcome), threw);
}

enum class StartMode { inline_now, posted };

// Registers `root` with `sched` and starts it: inline (it runs until its first suspension
// before this returns) or posted (it starts on the scheduler's next turn).
inline void start_detached(DetachedRoot root, Scheduler& sched, CancelToken token, StartMode mode,
                           Deadline deadline = Deadline::never()) {
  auto& p = root.handle.promise();
  p.scheduler = &sched;
  p.token = token;
  p.deadline = deadline;
  p.node.frame = root.handle;
  sched.register_detached(p.node);
  if (mode == StartMode::inline_now) {
    root.handle.resume();
  } else {
    sched.post([h = root.handle] { h.resume(); });
  }
}

// Minimal single-threaded intrusive reference counting for combinator state.
template <class T>
class Shared {
 public:
  Shared() noexcept = default;
  explicit Shared(T* p) noexcept : p_(p) { if (p_) ++p_->refs; }
  Shared(const Shared& o) noexcept : Shared(o.p_) {}
  Shared(Shared&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  Shared& operator=(Shared o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~Shared() {
    if (p_ && --p_->refs == 0) delete p_;
  }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }

 private:
  T* p_ = nullptr;
};

template <class T, class... Args>
Shared<T> make_shared_state(Args&&... args) {
  return Shared<T>(new T(std::forward<Args>(args)...));
}

struct SharedState : FrameAllocated {
  int refs = 0;
};

}  // namespace keel::detail
