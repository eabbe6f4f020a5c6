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
  // Whether any callback is registered on this source (not counting its own parent link).
  bool has_callbacks() const noexcept { return head_ != nullptr; }
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

// The registration paths are inline: every with_timeout links a source and every awaitable that
// waits arms a callback, so a call through a policy pipeline pays for these several times.

inline void CancelCallback::arm(CancelToken token, Callback cb) {
  disarm();
  if (!token.source_) return;  // never cancelled: nothing to register
  if (token.source_->cancelled()) {
    cb();
    return;
  }
  callback_ = std::move(cb);
  token.source_->push_back(*this);
}

inline void CancelCallback::disarm() noexcept {
  if (!source_) return;  // unarmed: its callback is already empty (run, moved out or never set)
  source_->remove(*this);
  callback_.reset();
}

inline CancelSource::~CancelSource() {
  // Callbacks still registered outlive us only through misuse; unlink them so they do not
  // touch freed memory when they disarm.
  while (head_) remove(*head_);
}

inline void CancelSource::push_back(CancelCallback& cb) noexcept {
  cb.source_ = this;
  cb.prev_ = tail_;
  cb.next_ = nullptr;
  if (tail_) tail_->next_ = &cb;
  else head_ = &cb;
  tail_ = &cb;
}

inline void CancelSource::remove(CancelCallback& cb) noexcept {
  if (cb.prev_) cb.prev_->next_ = cb.next_;
  else head_ = cb.next_;
  if (cb.next_) cb.next_->prev_ = cb.prev_;
  else tail_ = cb.prev_;
  cb.source_ = nullptr;
  cb.prev_ = cb.next_ = nullptr;
}

inline void CancelSource::link_to(CancelToken parent) {
  if (!parent.source_) {  // a parent that can never cancel: only drop an earlier link
    parent_link_.disarm();
    return;
  }
  parent_link_.arm(parent, [this] { cancel(); });
}

}  // namespace keel
