// keel/core/task.h — Task<T>: a lazily started, awaitable, move-only C++20 coroutine.
//
// Purpose: the unit of asynchronous work in keel. A Task runs on the Scheduler and under the
// CancelToken of whoever awaits it: both flow from parent to child automatically, so leaf
// awaitables (sleep_for, with_timeout, transports) find the scheduler and honour cancellation
// without being passed anything.
//
// Contract:
//  - Lazy: a Task does nothing until it is awaited or spawned. Destroying a Task that never
//    started, or one that finished, frees its frame. A Task is awaited at most once.
//  - Awaiting a Task starts it inline (symmetric transfer) and resumes the awaiter inline when
//    it finishes; no scheduler round-trip.
//  - An exception escaping a Task is rethrown to its awaiter. keel's own code returns
//    Result<T> on the data path and reserves exceptions for misuse.
//  - The child inherits the awaiter's Scheduler, CancelToken and Deadline (the tightest
//    deadline set by any with_timeout above it; see timeout.h). Root tasks get theirs from
//    `spawn`. Awaiting a Task from a coroutine that is not a keel coroutine
//    is a compile error.
//
// Example:
//   Task<int> answer() { co_await sleep_for(10ms); co_return 42; }
//   Task<void> main_task() {
//     int v = co_await answer();                  // runs answer() on our scheduler and token
//     Scheduler& s = co_await this_task::scheduler();
//   }
#pragma once

#include <coroutine>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "keel/core/cancel.h"
#include "keel/core/frame_allocator.h"
#include "keel/core/scheduler.h"

namespace keel {

namespace detail {

// Who takes over a task frame its awaiter abandoned (with_timeout released the caller first):
// the frame destroys itself when it finishes, and tells its keeper when it is destroyed (then,
// or by the scheduler at shutdown).
struct FrameKeeper {
  virtual void frame_destroyed() noexcept = 0;

 protected:
  ~FrameKeeper() = default;
};

// What every keel promise carries: where it runs, how it is cancelled, and by when it must
// be done (the tightest deadline of any with_timeout above it).
struct PromiseBase : FrameAllocated {
  Scheduler* scheduler = nullptr;
  CancelToken token;
  Deadline deadline;
  std::coroutine_handle<> continuation;
  FrameKeeper* keeper = nullptr;  // set when abandoned: finishing destroys the frame

  ~PromiseBase() {
    if (keeper) keeper->frame_destroyed();
  }
};

template <class P>
concept KeelPromise = std::is_base_of_v<PromiseBase, P>;

// Storage for a task's outcome: nothing yet, a value, or an exception. A tagged union (not
// std::variant): every awaited task's value passes through one, so its set/take are kept to a
// branch each.
template <class T>
class TaskOutcome {
 public:
  TaskOutcome() noexcept {}
  TaskOutcome(TaskOutcome&& o) noexcept(std::is_nothrow_move_constructible_v<T>) { construct_from(std::move(o)); }
  TaskOutcome& operator=(TaskOutcome&& o) noexcept(std::is_nothrow_move_constructible_v<T>) {
    if (this != &o) {
      reset();
      construct_from(std::move(o));
    }
    return *this;
  }
  ~TaskOutcome() { reset(); }

  template <class U>
  void set_value(U&& v) {
    reset();
    ::new (static_cast<void*>(std::addressof(value_))) T(std::forward<U>(v));
    state_ = State::value;
  }
  void set_exception(std::exception_ptr e) noexcept {
    reset();
    ::new (static_cast<void*>(std::addressof(error_))) std::exception_ptr(std::move(e));
    state_ = State::error;
  }
  // The value (moved out), or the exception rethrown; std::bad_variant_access if neither is set.
  T take() {
    if (state_ != State::value) [[unlikely]] {
      if (state_ == State::error) std::rethrow_exception(error_);
      throw std::bad_variant_access{};
    }
    return std::move(value_);
  }

 private:
  enum class State : unsigned char { empty, value, error };
  void reset() noexcept {
    if (state_ == State::value) value_.~T();
    else if (state_ == State::error) error_.~exception_ptr();
    state_ = State::empty;
  }
  // Into empty storage: takes `o`'s content (o keeps a moved-from one).
  void construct_from(TaskOutcome&& o) noexcept(std::is_nothrow_move_constructible_v<T>) {
    if (o.state_ == State::value) ::new (static_cast<void*>(std::addressof(value_))) T(std::move(o.value_));
    else if (o.state_ == State::error) ::new (static_cast<void*>(std::addressof(error_))) std::exception_ptr(std::move(o.error_));
    state_ = o.state_;
  }

  union {
    T value_;
    std::exception_ptr error_;
  };
  State state_ = State::empty;
};

template <>
class TaskOutcome<void> {
 public:
  void set_value() noexcept {}
  void set_exception(std::exception_ptr e) noexcept { error_ = std::move(e); }
  void take() {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::exception_ptr error_;
};

template <class T>
struct TaskPromiseReturn {
  TaskOutcome<T> outcome;
  template <class U = T>
  void return_value(U&& v) {
    outcome.set_value(std::forward<U>(v));
  }
};

template <>
struct TaskPromiseReturn<void> {
  TaskOutcome<void> outcome;
  void return_void() noexcept {}
};

// Final awaiter: hand control back to whoever awaited us (or to nobody).
struct ContinueAwaiter {
  bool await_ready() const noexcept { return false; }
  template <class P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) const noexcept {
    auto& p = h.promise();
    if (p.keeper) [[unlikely]] {  // abandoned: nobody will read the outcome
      h.destroy();
      return std::noop_coroutine();
    }
    auto next = p.continuation;
    return next ? next : std::noop_coroutine();
  }
  void await_resume() const noexcept {}
};

}  // namespace detail

template <class T = void>
class [[nodiscard]] Task {
  static_assert(!std::is_reference_v<T>, "Task<T&> is not supported; return a pointer");

 public:
  using value_type = T;

  struct promise_type : detail::PromiseBase, detail::TaskPromiseReturn<T> {
    Task get_return_object() noexcept {
      return Task{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    detail::ContinueAwaiter final_suspend() const noexcept { return {}; }
    void unhandled_exception() noexcept { this->outcome.set_exception(std::current_exception()); }
  };
  using Handle = std::coroutine_handle<promise_type>;

  Task() noexcept = default;
  Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Task& operator=(Task&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (h_) h_.destroy();
  }

  bool valid() const noexcept { return static_cast<bool>(h_); }
  bool done() const noexcept { return h_ && h_.done(); }

  struct Awaiter {
    Handle h;
    bool await_ready() const noexcept { return false; }
    template <detail::KeelPromise P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> parent) noexcept {
      // Read the whole context, then write it: the compiler may then store scheduler and token
      // as one 16-byte block, which the child's first read of its context (narrow_deadline
      // copies them as one block) can forward from; two 8-byte stores cannot be forwarded to
      // a 16-byte load, and that stall cost the pipeline ~5 ns per call.
      const detail::PromiseBase& from = parent.promise();
      Scheduler* const scheduler = from.scheduler;
      const CancelToken token = from.token;
      const Deadline deadline = from.deadline;
      auto& child = h.promise();
      child.scheduler = scheduler;
      child.token = token;
      child.deadline = deadline;
      child.continuation = parent;
      return h;
    }
    T await_resume() { return h.promise().outcome.take(); }
  };
  Awaiter operator co_await() && noexcept { return Awaiter{h_}; }
  Awaiter operator co_await() & noexcept { return Awaiter{h_}; }

  // For the combinators: give up ownership of the frame.
  Handle release() noexcept { return std::exchange(h_, {}); }

 private:
  explicit Task(Handle h) noexcept : h_(h) {}
  Handle h_;
};

namespace this_task {

// Awaitables that read the current coroutine's context without suspending.
struct SchedulerAwaiter {
  Scheduler* scheduler = nullptr;
  bool await_ready() const noexcept { return false; }
  template <detail::KeelPromise P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    scheduler = h.promise().scheduler;
    return false;
  }
  Scheduler& await_resume() const noexcept { return *scheduler; }
};
struct DeadlineAwaiter {
  Deadline deadline;
  bool await_ready() const noexcept { return false; }
  template <detail::KeelPromise P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    deadline = h.promise().deadline;
    return false;
  }
  Deadline await_resume() const noexcept { return deadline; }
};
// Where the current coroutine runs: its scheduler, cancellation and deadline.
struct TaskContext {
  Scheduler* scheduler = nullptr;
  CancelToken token;
  Deadline deadline;
};
// Tightens the current coroutine's own deadline (never loosens it); children awaited later
// inherit it. Yields the whole context with the effective deadline.
struct NarrowDeadlineAwaiter {
  TaskContext context;
  std::optional<Duration> relative;  // set: the deadline is now + relative
  bool await_ready() const noexcept { return false; }
  template <detail::KeelPromise P>
  KEEL_INLINE_HOT bool await_suspend(std::coroutine_handle<P> h) noexcept {
    auto& p = h.promise();
    const Deadline own = relative ? Deadline::after(p.scheduler->now(), *relative) : context.deadline;
    p.deadline = Deadline::earliest(p.deadline, own);
    context = {p.scheduler, p.token, p.deadline};
    return false;
  }
  TaskContext await_resume() const noexcept { return context; }
};
struct TokenAwaiter {
  CancelToken token;
  bool await_ready() const noexcept { return false; }
  template <detail::KeelPromise P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    token = h.promise().token;
    return false;
  }
  CancelToken await_resume() const noexcept { return token; }
};

// `TaskContext c = co_await this_task::context();` — scheduler, token and deadline in one read.
inline NarrowDeadlineAwaiter context() noexcept { return {TaskContext{nullptr, {}, Deadline::never()}, std::nullopt}; }
// `Scheduler& s = co_await this_task::scheduler();`
inline SchedulerAwaiter scheduler() noexcept { return {}; }
// `CancelToken t = co_await this_task::cancel_token();`
inline TokenAwaiter cancel_token() noexcept { return {}; }
// `Deadline d = co_await this_task::deadline();` — never() unless a with_timeout encloses us.
inline DeadlineAwaiter deadline() noexcept { return {}; }
// `TaskContext c = co_await this_task::narrow_deadline(Deadline::after(now, 2min));` — what
// with_timeout does for a child, done to ourselves (c.deadline is the effective one): cheaper
// when the caller needs no release at the deadline beyond what its own awaits honour.
inline NarrowDeadlineAwaiter narrow_deadline(Deadline d) noexcept { return {TaskContext{nullptr, {}, d}, std::nullopt}; }
// The same, `d` from now.
inline NarrowDeadlineAwaiter narrow_deadline(Duration d) noexcept { return {TaskContext{}, d}; }

}  // namespace this_task

}  // namespace keel
