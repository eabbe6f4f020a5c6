// keel/core/when.h — run tasks concurrently: when_all (wait for every one), when_any (race).
//
// Purpose: structured concurrency inside one scheduler. Children run on the awaiter's
// scheduler and deadline, under a child CancelSource linked to the awaiter's token, so
// cancelling the awaiter cancels them all.
//
// Contract:
//  - Children start inline, in order, when the combinator is awaited.
//  - when_all resumes when every child has finished and returns their values in input order.
//    If a child throws, the others are cancelled and, once all have finished, the exception
//    of the lowest-index child that threw is rethrown. (keel code returns Result values; those are just values here.)
//  - when_any resumes as soon as the first child finishes (value or exception) and returns
//    {index, value}; the remaining children are cancelled at that moment and not waited for:
//    they finish on their own (promptly, since every keel awaitable honours cancellation) and
//    free themselves; children not yet started when the winner finished are never started.
//  - If the awaiting coroutine is destroyed while waiting, the children are cancelled.
//  - An empty input: when_all returns at once with no values; when_any is a precondition
//    violation (asserts).
//
// Example:
//   std::vector<Task<int>> racers;  racers.push_back(ask(a));  racers.push_back(ask(b));
//   auto [index, value] = co_await when_any(std::move(racers));   // loser is cancelled
//   std::vector<int> all = co_await when_all(std::move(more));
#pragma once

#include <cassert>
#include <cstddef>
#include <optional>
#include <vector>

#include "keel/core/detail/detached.h"

namespace keel {

template <class T>
struct WhenAnyResult {
  std::size_t index;
  T value;
};
template <>
struct WhenAnyResult<void> {
  std::size_t index;
};

namespace detail {

// State shared by a combinator's awaiter and its child roots.
template <class T>
struct JoinState : SharedState {
  CancelSource children;
  std::coroutine_handle<> waiter;  // set while the awaiter is suspended
  std::vector<std::optional<TaskOutcome<T>>> outcomes;
  std::size_t remaining = 0;
  std::size_t winner = 0;
  bool any_done = false;
  bool wants_all = true;
  std::exception_ptr first_error;

  // Called by a child when it finishes. Resumes the waiter if this completes the join.
  void finish(std::size_t index, TaskOutcome<T>&& outcome, bool failed) {
    --remaining;
    if (wants_all) {
      outcomes[index].emplace(std::move(outcome));
      if (failed) children.cancel();
      if (remaining == 0) wake();
      return;
    }
    if (any_done) return;
    any_done = true;
    winner = index;
    outcomes[index].emplace(std::move(outcome));
    children.cancel();
    wake();
  }
  void wake() {
    if (auto w = std::exchange(waiter, {})) w.resume();
  }
};

template <class T>
class JoinAwaiter {
 public:
  JoinAwaiter(std::vector<Task<T>> tasks, bool wants_all) : tasks_(std::move(tasks)) {
    state_ = make_shared_state<JoinState<T>>();
    state_->wants_all = wants_all;
    state_->outcomes.resize(tasks_.size());
    state_->remaining = tasks_.size();
  }
  JoinAwaiter(JoinAwaiter&&) = default;
  ~JoinAwaiter() {
    // Destroyed while still waiting (the awaiting frame was torn down): stop the children.
    if (state_ && state_->waiter) {
      state_->waiter = {};
      state_->children.cancel();
    }
  }

  bool await_ready() const noexcept { return tasks_.empty(); }
  template <KeelPromise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    Scheduler& sched = *h.promise().scheduler;
    state_->children.link_to(h.promise().token);
    for (std::size_t i = 0; i < tasks_.size(); ++i) {
      if (!state_->wants_all && state_->any_done) {
        state_->remaining -= tasks_.size() - i;  // never started
        break;
      }
      auto report = [state = state_, i](TaskOutcome<T>&& outcome, bool threw) {
        state->finish(i, std::move(outcome), threw);
      };
      start_detached(run_and_report<T>(std::move(tasks_[i]), std::move(report)), sched,
                     state_->children.token(), StartMode::inline_now, h.promise().deadline);
    }
    tasks_.clear();
    if (state_->wants_all ? state_->remaining == 0 : state_->any_done) return false;
    state_->waiter = h;
    return true;
  }

 protected:
  std::vector<Task<T>> tasks_;
  Shared<JoinState<T>> state_;
};

template <class T>
class WhenAllAwaiter : public JoinAwaiter<T> {
 public:
  explicit WhenAllAwaiter(std::vector<Task<T>> tasks) : JoinAwaiter<T>(std::move(tasks), true) {}
  auto await_resume() {
    auto& outcomes = this->state_->outcomes;
    if constexpr (std::is_void_v<T>) {
      for (auto& o : outcomes) o->take();
    } else {
      std::vector<T> values;
      values.reserve(outcomes.size());
      for (auto& o : outcomes) values.push_back(o->take());
      return values;
    }
  }
};

template <class T>
class WhenAnyAwaiter : public JoinAwaiter<T> {
 public:
  explicit WhenAnyAwaiter(std::vector<Task<T>> tasks) : JoinAwaiter<T>(std::move(tasks), false) {
    assert(!this->tasks_.empty() && "when_any needs at least one task");
  }
  WhenAnyResult<T> await_resume() {
    const std::size_t i = this->state_->winner;
    if constexpr (std::is_void_v<T>) {
      this->state_->outcomes[i]->take();
      return {i};
    } else {
      return {i, this->state_->outcomes[i]->take()};
    }
  }
};

}  // namespace detail

template <class T>
detail::WhenAllAwaiter<T> when_all(std::vector<Task<T>> tasks) {
  return detail::WhenAllAwaiter<T>(std::move(tasks));
}

template <class T>
detail::WhenAnyAwaiter<T> when_any(std::vector<Task<T>> tasks) {
  return detail::WhenAnyAwaiter<T>(std::move(tasks));
}

}  // namespace keel
