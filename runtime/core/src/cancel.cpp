#include "keel/core/cancel.h"

namespace keel {

void CancelCallback::arm(CancelToken token, Callback cb) {
  disarm();
  if (!token.source_) return;  // never cancelled: nothing to register
  if (token.source_->cancelled()) {
    cb();
    return;
  }
  callback_ = std::move(cb);
  token.source_->push_back(*this);
}

void CancelCallback::disarm() noexcept {
  if (source_) source_->remove(*this);
  callback_.reset();
}

CancelSource::~CancelSource() {
  // Callbacks still registered outlive us only through misuse; unlink them so they do not
  // touch freed memory when they disarm.
  while (head_) remove(*head_);
}

void CancelSource::push_back(CancelCallback& cb) noexcept {
  cb.source_ = this;
  cb.prev_ = tail_;
  cb.next_ = nullptr;
  if (tail_) tail_->next_ = &cb;
  else head_ = &cb;
  tail_ = &cb;
}

void CancelSource::remove(CancelCallback& cb) noexcept {
  if (cb.prev_) cb.prev_->next_ = cb.next_;
  else head_ = cb.next_;
  if (cb.next_) cb.next_->prev_ = cb.prev_;
  else tail_ = cb.prev_;
  cb.source_ = nullptr;
  cb.prev_ = cb.next_ = nullptr;
}

bool CancelSource::cancel() {
  if (cancelled_) return false;
  cancelled_ = true;
  parent_link_.disarm();
  // Unlink each callback before running it: a callback may disarm others or destroy itself.
  while (head_) {
    CancelCallback& cb = *head_;
    remove(cb);
    Callback fn = std::move(cb.callback_);
    fn();
  }
  return true;
}

void CancelSource::link_to(CancelToken parent) {
  parent_link_.arm(parent, [this] { cancel(); });
}

}  // namespace keel
