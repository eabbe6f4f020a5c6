// keel/policy/bulkhead.h — at most N concurrent executions, plus a bounded FIFO wait queue.
//
// Purpose: keep one target (a provider, a tool) from being flooded by this process: callers
// beyond `max_concurrent` wait in a queue of at most `max_queue` for at most `max_wait`, and
// are shed with `bulkhead_full` beyond that (resilience4j's semaphore bulkhead + a queue).
//
// Contract:
//  - `co_await acquire()` gives a Result<Permit>. Decisions (one counter each, one
//    "bulkhead.decision" event each, attributes reason/active/queued/waited, plus the
//    caller's trace ids when acquire() is given them):
//      admitted       a slot was free, or a queued caller was handed one (FIFO);
//      queued         no slot: the caller waits (not terminal; one of the others follows);
//      queue_full     no slot and the queue is full, or max_wait <= 0: `bulkhead_full` at once;
//      queue_timeout  waited max_wait (exactly, in virtual time): `bulkhead_full`;
//      cancelled      the caller's token fired (before or while queued): `cancelled`. A queued
//                     caller leaves the queue inside the cancel call and resumes in that instant.
//  - A Permit is move-only RAII. Destroying it frees the slot: with waiters, the slot goes
//    straight to the oldest one, which is resumed via the scheduler (never inline), so a caller
//    arriving in the same instant cannot overtake the queue.
//  - max_wait == Duration::max() waits without limit. The caller's deadline
//    (this_task::deadline()) also ends the wait: reaching it first gives `timeout` (counted as
//    queue_timeout); a deadline already passed when no slot is free gives `timeout` at once.
//  - No allocation per acquire: waiters are an intrusive list of awaiters in the callers' frames.
//  - Single-threaded (one scheduler). The Bulkhead must outlive its waiters and permits.
//
// Example:
//   Bulkhead bulkhead{{.max_concurrent = 4, .max_queue = 16, .max_wait = 2s}, &sink};
//   Result<Bulkhead::Permit> permit = co_await bulkhead.acquire();
//   if (!permit) co_return permit.error();            // bulkhead_full or cancelled
//   Result<Reply> r = co_await call_model(req);       // the slot is released when permit dies
//   auto r2 = co_await bulkhead.execute([&] { return call_model(req); });
#pragma once

#include <coroutine>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

#include "keel/core/event.h"
#include "keel/core/result.h"
#include "keel/core/task.h"

namespace keel::policy {

struct BulkheadConfig {
  int max_concurrent = 10;    // executions holding a permit at once
  int max_queue = 0;          // callers allowed to wait for a slot (0: no queue)
  Duration max_wait = Duration::zero();  // longest wait in the queue; <= 0 disables the queue
};

enum class BulkheadReason : std::uint8_t { admitted, queued, queue_full, queue_timeout, cancelled };
// "admitted", "queued", "queue_full", "queue_timeout", "cancelled".
std::string_view to_string(BulkheadReason r) noexcept;

// One counter per reason.
struct BulkheadCounters {
  std::uint64_t admitted = 0;
  std::uint64_t queued = 0;
  std::uint64_t queue_full = 0;
  std::uint64_t queue_timeout = 0;
  std::uint64_t cancelled = 0;

  std::uint64_t& operator[](BulkheadReason r) noexcept;
  std::uint64_t operator[](BulkheadReason r) const noexcept {
    return const_cast<BulkheadCounters&>(*this)[r];
  }
};

class Bulkhead {
 public:
  class Permit;
  class AcquireAwaiter;

  explicit Bulkhead(BulkheadConfig config = {}, EventSink* sink = nullptr) noexcept
      : config_(config), sink_(sink) {}
  Bulkhead(const Bulkhead&) = delete;
  Bulkhead& operator=(const Bulkhead&) = delete;

  // `co_await acquire()` -> Result<Permit>. `ids` (may be null): the agent step asking
  // (trace_ids.h), carried by its decision events; must outlive the await.
  AcquireAwaiter acquire(const TraceIds* ids = nullptr) noexcept;
  // The synchronous fast path of acquire(): a permit (counted and emitted as admitted) if a
  // slot is free now, else an empty one and nothing changes — co_await acquire() then decides.
  Permit try_acquire(TimePoint now, const TraceIds* ids = nullptr) noexcept;

  // Runs `op()` (-> Task<Result<T>>) holding a permit; refusals come back as errors.
  template <class F>
  std::invoke_result_t<F&> execute(F op);

  int active() const noexcept { return active_; }   // permits held or handed over
  int queued() const noexcept { return queued_; }   // callers waiting in the queue
  const BulkheadCounters& counters() const noexcept { return counters_; }
  const BulkheadConfig& config() const noexcept { return config_; }

 private:
  struct Waiter {
    Waiter* prev = nullptr;
    Waiter* next = nullptr;
  };

  void record(BulkheadReason r, TimePoint now, Duration waited, const TraceIds* ids) noexcept;
  void push_back(Waiter& w) noexcept;
  void unlink(Waiter& w) noexcept;
  void release_slot() noexcept;  // a permit ended: hand the slot to the oldest waiter, or free it

  BulkheadConfig config_;
  EventSink* sink_;
  int active_ = 0;
  int queued_ = 0;
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
  BulkheadCounters counters_;
};

class Bulkhead::Permit {
 public:
  Permit() noexcept = default;
  Permit(Permit&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)) {}
  Permit& operator=(Permit&& o) noexcept {
    if (this != &o) {
      release();
      owner_ = std::exchange(o.owner_, nullptr);
    }
    return *this;
  }
  ~Permit() { release(); }
  explicit operator bool() const noexcept { return owner_ != nullptr; }
  // Frees the slot now (idempotent).
  void release() noexcept {
    if (owner_) std::exchange(owner_, nullptr)->release_slot();
  }

 private:
  friend class Bulkhead::AcquireAwaiter;
  friend class Bulkhead;
  explicit Permit(Bulkhead* owner) noexcept : owner_(owner) {}
  Bulkhead* owner_ = nullptr;
};

class Bulkhead::AcquireAwaiter : private Bulkhead::Waiter {
 public:
  AcquireAwaiter(Bulkhead& b, const TraceIds* ids) noexcept : bulkhead_(&b), ids_(ids) {}
  AcquireAwaiter(const AcquireAwaiter&) = delete;
  AcquireAwaiter& operator=(const AcquireAwaiter&) = delete;
  ~AcquireAwaiter();

  bool await_ready() const noexcept { return false; }
  template <keel::detail::KeelPromise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    return suspend(*h.promise().scheduler, h.promise().token, h.promise().deadline, h);
  }
  Result<Permit> await_resume() noexcept;

 private:
  friend class Bulkhead;
  enum class State : std::uint8_t { idle, admitted, full, waiting, granted, timed_out, deadline, cancelled };

  bool suspend(Scheduler& sched, CancelToken token, Deadline deadline, std::coroutine_handle<> h);
  void leave_queue() noexcept;
  void grant() noexcept;       // called by release_slot: this waiter now owns a slot
  void on_timeout() noexcept;  // max_wait elapsed
  void on_cancel() noexcept;   // the caller's token fired
  void resume_soon() noexcept;

  Bulkhead* bulkhead_;
  const TraceIds* ids_;
  Scheduler* sched_ = nullptr;
  std::coroutine_handle<> waiter_;
  TimePoint enqueued_at_{};
  TimerId timer_;
  bool timer_is_deadline_ = false;  // the timer is the caller's deadline, not max_wait
  State state_ = State::idle;
  CancelCallback on_cancel_;
};

inline Bulkhead::AcquireAwaiter Bulkhead::acquire(const TraceIds* ids) noexcept { return AcquireAwaiter{*this, ids}; }

inline Bulkhead::Permit Bulkhead::try_acquire(TimePoint now, const TraceIds* ids) noexcept {
  if (active_ >= config_.max_concurrent) return {};
  ++active_;
  record(BulkheadReason::admitted, now, Duration::zero(), ids);
  return Permit{this};
}

template <class F>
std::invoke_result_t<F&> Bulkhead::execute(F op) {
  Result<Permit> permit = co_await acquire();
  if (!permit) co_return std::move(permit).error();
  co_return co_await op();
}

}  // namespace keel::policy
