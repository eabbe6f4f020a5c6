#include "keel/policy/bulkhead.h"

namespace keel::policy {

std::string_view to_string(BulkheadReason r) noexcept {
  switch (r) {
    case BulkheadReason::admitted: return "admitted";
    case BulkheadReason::queued: return "queued";
    case BulkheadReason::queue_full: return "queue_full";
    case BulkheadReason::queue_timeout: return "queue_timeout";
    case BulkheadReason::cancelled: return "cancelled";
  }
  return "unknown";
}

std::uint64_t& BulkheadCounters::operator[](BulkheadReason r) noexcept {
  switch (r) {
    case BulkheadReason::admitted: return admitted;
    case BulkheadReason::queued: return queued;
    case BulkheadReason::queue_full: return queue_full;
    case BulkheadReason::queue_timeout: return queue_timeout;
    case BulkheadReason::cancelled: break;
  }
  return cancelled;
}

void Bulkhead::record(BulkheadReason r, TimePoint now, Duration waited, const TraceIds* ids) noexcept {
  ++counters_[r];
  if (!sink_) return;  // skip building the attributes: this is on every call's path
  emit(sink_, now, ev::bulkhead_decision,
       {{key::reason, to_string(r)}, {key::active, active_}, {key::queued, queued_}, {key::waited, waited}}, ids);
}

void Bulkhead::push_back(Waiter& w) noexcept {
  w.prev = tail_;
  w.next = nullptr;
  if (tail_) tail_->next = &w;
  else head_ = &w;
  tail_ = &w;
  ++queued_;
}

void Bulkhead::unlink(Waiter& w) noexcept {
  if (w.prev) w.prev->next = w.next;
  else head_ = w.next;
  if (w.next) w.next->prev = w.prev;
  else tail_ = w.prev;
  w.prev = w.next = nullptr;
  --queued_;
}

void Bulkhead::release_slot() noexcept {
  if (head_) {
    static_cast<AcquireAwaiter*>(head_)->grant();  // the slot changes hands; active_ unchanged
  } else {
    --active_;
  }
}

// --- AcquireAwaiter ---------------------------------------------------------------------------

bool Bulkhead::AcquireAwaiter::suspend(Scheduler& sched, CancelToken token, Deadline deadline,
                                       std::coroutine_handle<> h) {
  Bulkhead& b = *bulkhead_;
  sched_ = &sched;
  const TimePoint now = sched.now();
  if (token.cancelled()) {
    state_ = State::cancelled;
    b.record(BulkheadReason::cancelled, now, Duration::zero(), ids_);
    return false;
  }
  if (b.active_ < b.config_.max_concurrent) {
    ++b.active_;
    state_ = State::admitted;
    b.record(BulkheadReason::admitted, now, Duration::zero(), ids_);
    return false;
  }
  if (b.queued_ >= b.config_.max_queue || b.config_.max_wait <= Duration::zero()) {
    state_ = State::full;
    b.record(BulkheadReason::queue_full, now, Duration::zero(), ids_);
    return false;
  }
  if (deadline.passed(now)) {
    state_ = State::deadline;
    b.record(BulkheadReason::queue_timeout, now, Duration::zero(), ids_);
    return false;
  }
  b.push_back(*this);
  state_ = State::waiting;
  enqueued_at_ = now;
  waiter_ = h;
  b.record(BulkheadReason::queued, now, Duration::zero(), ids_);
  const Deadline wait_end = b.config_.max_wait == Duration::max() ? Deadline::never()
                                                                   : Deadline::after(now, b.config_.max_wait);
  const Deadline until = Deadline::earliest(wait_end, deadline);
  if (!until.is_never()) {
    timer_is_deadline_ = until != wait_end;
    timer_ = sched.start_timer(until.time(), [this] { on_timeout(); });
  }
  on_cancel_.arm(token, [this] { on_cancel(); });
  return true;
}

void Bulkhead::AcquireAwaiter::leave_queue() noexcept {
  bulkhead_->unlink(*this);
  on_cancel_.disarm();
  if (timer_) sched_->cancel_timer(std::exchange(timer_, {}));
}

void Bulkhead::AcquireAwaiter::resume_soon() noexcept {
  timer_ = sched_->start_timer(sched_->now(), [this] {
    timer_ = {};
    waiter_.resume();
  });
}

void Bulkhead::AcquireAwaiter::grant() noexcept {
  leave_queue();
  state_ = State::granted;
  const TimePoint now = sched_->now();
  bulkhead_->record(BulkheadReason::admitted, now, now - enqueued_at_, ids_);
  resume_soon();
}

void Bulkhead::AcquireAwaiter::on_timeout() noexcept {
  timer_ = {};
  leave_queue();
  state_ = timer_is_deadline_ ? State::deadline : State::timed_out;
  const TimePoint now = sched_->now();
  bulkhead_->record(BulkheadReason::queue_timeout, now, now - enqueued_at_, ids_);
  waiter_.resume();  // we are in a timer callback: resuming here is not inline
}

void Bulkhead::AcquireAwaiter::on_cancel() noexcept {
  leave_queue();  // promptly: the queue position is free before cancel() returns
  state_ = State::cancelled;
  const TimePoint now = sched_->now();
  bulkhead_->record(BulkheadReason::cancelled, now, now - enqueued_at_, ids_);
  resume_soon();
}

Result<Bulkhead::Permit> Bulkhead::AcquireAwaiter::await_resume() noexcept {
  switch (state_) {
    case State::admitted:
    case State::granted:
      state_ = State::idle;  // the permit owns the slot now
      return Permit{bulkhead_};
    case State::full: return Error(ErrorCode::bulkhead_full, "bulkhead: queue full");
    case State::timed_out: return Error(ErrorCode::bulkhead_full, "bulkhead: queue wait timed out");
    case State::deadline: return Error(ErrorCode::timeout, "bulkhead: deadline reached while queued");
    default: return Error(ErrorCode::cancelled, "bulkhead: cancelled while queued");
  }
}

Bulkhead::AcquireAwaiter::~AcquireAwaiter() {
  // Only reached in these states when the awaiting frame is torn down while suspended.
  if (state_ == State::waiting) {
    leave_queue();
  } else if (timer_) {
    sched_->cancel_timer(std::exchange(timer_, {}));
  }
  if (state_ == State::granted) bulkhead_->release_slot();  // handed a slot nobody will use
}

}  // namespace keel::policy
