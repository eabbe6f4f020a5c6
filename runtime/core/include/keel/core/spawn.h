// keel/core/spawn.h — start a Task with nobody awaiting it.
//
// Purpose: the entry point from plain code into coroutines (a test, a workload driver, a
// server accepting requests). The task runs on `sched` under `token`.
//
// Contract:
//  - The task starts on the scheduler's next turn, never inline from spawn().
//  - Exactly one hook runs when it ends: `on_done(value)` (or `on_done()` for Task<void>), or
//    `on_error(std::exception_ptr)` if an exception escaped. Without an on_error hook an
//    escaping exception terminates the program (as with std::thread): keel code returns
//    errors as values, so an exception here is a bug.
//  - The frame belongs to the scheduler until the task ends: destroying the scheduler destroys
//    a still-suspended spawned task (its awaiters cancel their timers), so nothing leaks.
//  - Hooks must not throw.
//
// Example:
//   sim::Simulator sim;
//   int got = 0;
//   spawn(sim, compute(), [&](int v) { got = v; });
//   sim.run_until_idle();
#pragma once

#include <exception>
#include <type_traits>
#include <utility>

#include "keel/core/detail/detached.h"

namespace keel {

namespace detail {

struct TerminateOnError {
  [[noreturn]] void operator()(std::exception_ptr) const noexcept { std::terminate(); }
};
struct IgnoreValue {
  template <class... A>
  void operator()(A&&...) const noexcept {}
};

template <class T, class OnDone, class OnError>
DetachedRoot spawn_root(Task<T> task, OnDone on_done, OnError on_error) {
  std::exception_ptr error;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      on_done();
    } else {
      on_done(co_await std::move(task));
    }
  } catch (...) {
    error = std::current_exception();
  }
  if (error) on_error(std::move(error));
}

}  // namespace detail

template <class T, class OnDone = detail::IgnoreValue, class OnError = detail::TerminateOnError>
void spawn(Scheduler& sched, Task<T> task, OnDone on_done = {}, OnError on_error = {},
           CancelToken token = {}) {
  detail::start_detached(detail::spawn_root<T>(std::move(task), std::move(on_done), std::move(on_error)),
                         sched, token, detail::StartMode::posted);
}

}  // namespace keel
