// keel/live/async_op.h — awaiting an Asio/Beast asynchronous operation from a keel Task.
//
// Purpose: the bridge between keel coroutines (task.h, cancel.h) and Asio completion handlers.
// `co_await async_op<V>(start, stop, deadline, keep_alive)` starts an Asio operation with a
// keel-owned completion handler and suspends the task until the handler runs on the
// io_context thread (the AsioScheduler's thread).
//
// Contract:
//  - `start(handler)` initiates the operation (e.g. `socket.async_read_some(buf, handler)`);
//    the handler accepts `(error_code)` or `(error_code, V)`; V is stored in OpResult::value.
//  - `stop()` makes the pending operation complete soon (close the socket, cancel the
//    resolver). It is called when the task's CancelToken fires (OpResult::end = cancelled) or
//    when `deadline` passes (end = timed_out), and when the awaiting frame is destroyed while
//    suspended. Asio never runs a handler inline from close/cancel, so the task always resumes
//    from the io_context, never from inside a cancel callback.
//  - Already cancelled or past the deadline when awaited: returns at once without starting.
//  - `keep_alive` (e.g. the connection owning the socket) is held until the handler has run,
//    so a frame destroyed mid-operation never leaves Asio touching freed memory (an SSL
//    stream's composed operations need their stream until their handler runs).
//  - When the operation ended because of the deadline or cancellation, `ec` is whatever the
//    stopped operation reported (usually operation_aborted); decide on `end` first.
//
// Example:
//   auto start = [&](auto handler) { conn->socket.async_read_some(boost::asio::buffer(buf), handler); };
//   auto stop = [conn] { conn->close(); };
//   OpResult<std::size_t> r = co_await async_op<std::size_t>(start, stop, deadline, conn);
//   if (r.end == OpEnd::timed_out) co_return Error{ErrorCode::timeout, "read timed out"};
#pragma once

#include <coroutine>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>
#include <variant>

#include "keel/core/task.h"
#include "keel/live/asio.h"

namespace keel::live {

enum class OpEnd : std::uint8_t { completed, timed_out, cancelled };

template <class V>
struct OpResult {
  boost::system::error_code ec;
  V value{};
  OpEnd end = OpEnd::completed;
  bool ok() const noexcept { return end == OpEnd::completed && !ec; }
};

namespace detail {

// Shared between the awaiter (in the coroutine frame) and the completion handler (in Asio).
template <class V>
struct OpState {
  std::coroutine_handle<> waiter;  // null once the awaiter is gone or resumed
  OpResult<V> result;
  std::shared_ptr<void> keep_alive;

  template <class... A>
  void complete(boost::system::error_code ec, A&&... v) {
    result.ec = ec;
    if constexpr (sizeof...(A) == 1 && !std::is_same_v<V, std::monostate>) {
      result.value = V(std::forward<A>(v)...);
    }
    keep_alive.reset();
    if (auto w = std::exchange(waiter, {})) w.resume();
  }
};

}  // namespace detail

template <class V, class Start, class Stop>
class [[nodiscard]] AsioOp {
 public:
  AsioOp(Start start, Stop stop, Deadline deadline, std::shared_ptr<void> keep_alive)
      : start_(std::move(start)), stop_(std::move(stop)), deadline_(deadline),
        keep_alive_(std::move(keep_alive)) {}
  AsioOp(const AsioOp&) = delete;
  AsioOp& operator=(const AsioOp&) = delete;
  ~AsioOp() {
    if (state_ && state_->waiter) {  // frame destroyed while suspended: abandon the operation
      state_->waiter = {};
      disarm();
      stop_();
    }
  }

  bool await_ready() const noexcept { return false; }

  template <keel::detail::KeelPromise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    scheduler_ = h.promise().scheduler;
    const CancelToken token = h.promise().token;
    state_ = std::make_shared<detail::OpState<V>>();
    if (token.cancelled()) {
      state_->result.end = OpEnd::cancelled;
      state_->result.ec = boost::asio::error::operation_aborted;
      return false;
    }
    if (deadline_.passed(scheduler_->now())) {
      state_->result.end = OpEnd::timed_out;
      state_->result.ec = boost::asio::error::timed_out;
      return false;
    }
    state_->waiter = h;
    state_->keep_alive = std::move(keep_alive_);
    start_([state = state_](boost::system::error_code ec, auto&&... v) {
      state->complete(ec, std::forward<decltype(v)>(v)...);
    });
    if (!deadline_.is_never()) {
      timer_ = scheduler_->start_timer(deadline_.time(), [this] {
        timer_ = {};
        on_cancel_.disarm();
        state_->result.end = OpEnd::timed_out;
        stop_();
      });
    }
    on_cancel_.arm(token, [this] {
      if (state_->result.end == OpEnd::completed) state_->result.end = OpEnd::cancelled;
      if (timer_) scheduler_->cancel_timer(std::exchange(timer_, {}));
      stop_();
    });
    return true;
  }

  OpResult<V> await_resume() {
    disarm();
    return std::move(state_->result);
  }

 private:
  void disarm() noexcept {
    on_cancel_.disarm();
    if (timer_) scheduler_->cancel_timer(std::exchange(timer_, {}));
  }

  Start start_;
  Stop stop_;
  Deadline deadline_;
  std::shared_ptr<void> keep_alive_;
  std::shared_ptr<detail::OpState<V>> state_;
  Scheduler* scheduler_ = nullptr;
  TimerId timer_;
  CancelCallback on_cancel_;
};

// See the header comment. V = std::monostate for operations completing with `(error_code)`.
template <class V = std::monostate, class Start, class Stop>
AsioOp<V, Start, Stop> async_op(Start start, Stop stop, Deadline deadline = Deadline::never(),
                                std::shared_ptr<void> keep_alive = {}) {
  return AsioOp<V, Start, Stop>(std::move(start), std::move(stop), deadline, std::move(keep_alive));
}

}  // namespace keel::live
