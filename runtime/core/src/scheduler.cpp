#include "keel/core/scheduler.h"

namespace keel {

void Scheduler::register_detached(detail::DetachedNode& n) noexcept {
  n.prev = nullptr;
  n.next = detached_head_;
  if (detached_head_) detached_head_->prev = &n;
  detached_head_ = &n;
  ++detached_count_;
}

void Scheduler::unregister_detached(detail::DetachedNode& n) noexcept {
  if (n.prev) n.prev->next = n.next;
  else if (detached_head_ == &n) detached_head_ = n.next;
  else return;  // not linked
  if (n.next) n.next->prev = n.prev;
  n.prev = n.next = nullptr;
  --detached_count_;
}

void Scheduler::destroy_detached_tasks() noexcept {
  // Destroying a frame runs its destructors, which may cancel children (they then finish on
  // their own later, or are destroyed here) and unregister themselves: always take the head.
  while (detached_head_) {
    detail::DetachedNode* n = detached_head_;
    std::coroutine_handle<> frame = n->frame;
    unregister_detached(*n);
    frame.destroy();
  }
}

}  // namespace keel
