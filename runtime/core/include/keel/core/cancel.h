// keel/core/cancel.h — single-threaded cancellation: CancelSource, CancelToken, CancelCallback.
//
// Purpose: one request-to-stop signal that every awaitable in keel honours promptly. A source
// can be linked to a parent token, so cancelling a parent cancels every child source below it
// (a task tree cancels top-down). No allocation, no atomics: like everything scheduled on a
// Scheduler, these belong to one thread. (std::stop_token would allocate per source and pay
// for atomics we never need.)
//
// Contract:
//  - `CancelSource::cancel()` is idempotent; the first call runs every registered callback
//    synchronously, in registration order, each exactly once, then returns true.
//  - A callback must not resume a coroutine inline; it should schedule the resumption (e.g.
//    start a timer at now()). Callbacks may arm or disarm any other CancelCallback.
//  - A CancelCallback armed on an already-cancelled token runs its callback immediately.
//  - A default CancelToken is never cancelled. Sources and callbacks are not movable; a
//    source must outlive the tokens and callbacks that refer to it.
//
// Example:
//   CancelSource parent;
//   CancelSource child{parent.token()};           // linked: cancelled with its parent
//   CancelCallback cb{child.token(), [&] { stop_io(); }};
//   parent.cancel();                               // runs stop_io(); child.cancelled() == true
#pragma once

#include "keel/core/callback.h"

namespace keel {

class CancelSource;

class CancelToken {
 public:
  CancelToken() noexcept = default;
  bool cancelled() const noexcept;
  // False for the default token: nothing can ever cancel it.
  bool can_be_cancelled() const noexcept { return source_ != nullptr; }
  friend bool operator==(CancelToken, CancelToken) noexcept = default;

 private:
  friend class CancelSource;
  friend class CancelCallback;
  explicit CancelToken(CancelSource* s) noexcept : source_(s) {}
  CancelSource* source_ = nullptr;
};

// An RAII registration of a callback on a token. Unarmed by default; disarmed on destruction.
class CancelCallback {
 public:
  CancelCallback() noexcept = default;
  CancelCallback(CancelToken token, Callback cb) { arm(token, std::move(cb)); }
  CancelCallback(const CancelCallback&) = delete;
  CancelCallback& operator=(const CancelCallback&) = delete;
  ~CancelCallback() { disarm(); }

  // Registers `cb` (runs it now if the token is already cancelled). Disarms any previous one.
  void arm(CancelToken token, Callback cb);
  // Unregisters without running. Safe to call when unarmed.
  void disarm() noexcept;
  bool armed() const noexcept { return source_ != nullptr; }

 private:
  friend class CancelSource;
  CancelSource* source_ = nullptr;
  CancelCallback* prev_ = nullptr;
  CancelCallback* next_ = nullptr;
  Callback callback_;
};

class CancelSource {
 public:
  CancelSource() noexcept = default;
  // A source that is cancelled when `parent` is (immediately, if it already is).
  explicit CancelSource(CancelToken parent) { link_to(parent); }
  CancelSource(const CancelSource&) = delete;
  CancelSource& operator=(const CancelSource&) = delete;
  ~CancelSource();

  CancelToken token() noexcept { return CancelToken{this}; }
  bool cancelled() const noexcept { return cancelled_; }
  // Requests cancellation. True iff this call did it (it was not cancelled before).
  bool cancel();
  // Links to a parent token after construction (replaces an earlier link).
  void link_to(CancelToken parent);

 private:
  friend class CancelCallback;
  void push_back(CancelCallback& cb) noexcept;
  void remove(CancelCallback& cb) noexcept;

  bool cancelled_ = false;
  CancelCallback* head_ = nullptr;
  CancelCallback* tail_ = nullptr;
  CancelCallback parent_link_;
};

inline bool CancelToken::cancelled() const noexcept { return source_ && source_->cancelled(); }

}  // namespace keel
