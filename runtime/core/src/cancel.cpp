#include "keel/core/cancel.h"

namespace keel {

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

}  // namespace keel
