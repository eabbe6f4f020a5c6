#include "keel/live/asio_scheduler.h"

namespace keel::live {

AsioScheduler::AsioScheduler(boost::asio::io_context& io)
    : io_(io), wakeup_(io), epoch_(std::chrono::steady_clock::now()),
      alive_(std::make_shared<AsioScheduler*>(this)) {}

AsioScheduler::~AsioScheduler() {
  destroy_detached_tasks();
  alive_.reset();
  try {
    wakeup_.cancel();
  } catch (const boost::system::system_error&) {  // nothing left to cancel
  }
}

TimePoint AsioScheduler::now() const noexcept {
  return TimePoint{std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - epoch_)};
}

void AsioScheduler::post(Callback cb) { start_timer(now(), std::move(cb)); }

// ----------------------------------------------------------------------------- the heap

void AsioScheduler::place(std::size_t i, Entry e) noexcept {
  slots_[e.slot].heap_index = static_cast<std::uint32_t>(i);
  heap_[i] = e;
}

void AsioScheduler::sift_up(std::size_t i) noexcept {
  const Entry e = heap_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (!before(e, heap_[parent])) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, e);
}

void AsioScheduler::sift_down(std::size_t i) noexcept {
  const Entry e = heap_[i];
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
    if (!before(heap_[child], e)) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, e);
}

void AsioScheduler::push(Entry e) {
  heap_.push_back(e);
  sift_up(heap_.size() - 1);
}

void AsioScheduler::remove_at(std::size_t i) noexcept {
  const std::size_t last = heap_.size() - 1;
  if (i != last) {
    const Entry moved = heap_[last];
    heap_.pop_back();
    place(i, moved);
    if (i > 0 && before(moved, heap_[(i - 1) / 2])) {
      sift_up(i);
    } else {
      sift_down(i);
    }
  } else {
    heap_.pop_back();
  }
}

Callback AsioScheduler::release(std::uint32_t slot) noexcept {
  Slot& s = slots_[slot];
  Callback cb = std::move(s.cb);
  s.cb = {};
  s.heap_index = kNotQueued;
  if (++s.generation == 0) s.generation = 1;  // ids stay non-zero
  free_slots_.push_back(slot);  // capacity reserved in start_timer: no throw
  return cb;
}

// ----------------------------------------------------------------------------- timers

TimerId AsioScheduler::start_timer(TimePoint at, Callback cb) {
  std::uint32_t slot;
  if (free_slots_.empty()) {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
    free_slots_.reserve(slots_.size());
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  slots_[slot].cb = std::move(cb);
  // During a drain, an entry due at or before its cut-off waits for the next drain (a
  // callback re-posting itself must not starve I/O): it is due 1 ns after the cut-off.
  if (at <= draining_until_) at = draining_until_ + Duration{1};
  push(Entry{at, next_seq_++, slot});
  arm();
  return TimerId{static_cast<std::uint64_t>(slots_[slot].generation) << 32 | (slot + 1u)};
}

bool AsioScheduler::cancel_timer(TimerId id) noexcept {
  const std::uint64_t low = id.value & 0xFFFF'FFFFu;
  if (low == 0 || low > slots_.size()) return false;
  const auto slot = static_cast<std::uint32_t>(low - 1);
  Slot& s = slots_[slot];
  if (s.generation != static_cast<std::uint32_t>(id.value >> 32) || s.heap_index == kNotQueued) return false;
  remove_at(s.heap_index);
  { Callback dropped = release(slot); }  // destroyed here, after the heap is consistent
  if (heap_.empty() && armed_for_ != TimePoint::max()) {
    // Nothing left to wake up for: disarm, so io_context::run() can return once I/O is done.
    armed_for_ = TimePoint::max();
    try {
      wakeup_.cancel();
    } catch (const boost::system::system_error&) {  // nothing to cancel
    }
  }
  return true;
}

void AsioScheduler::arm() {
  if (heap_.empty()) return;
  const TimePoint first = heap_.front().due;
  std::weak_ptr<AsioScheduler*> alive = alive_;
  if (first <= now()) {
    if (drain_posted_) return;
    drain_posted_ = true;
    boost::asio::post(io_, [alive] {
      if (auto self = alive.lock()) {
        (*self)->drain_posted_ = false;
        (*self)->drain();
      }
    });
    return;
  }
  if (first >= armed_for_) return;  // the wakeup already comes early enough
  armed_for_ = first;
  wakeup_.expires_at(epoch_ + first.time_since_epoch());
  wakeup_.async_wait([alive](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed or cancelled
    if (auto self = alive.lock()) {
      (*self)->armed_for_ = TimePoint::max();
      (*self)->drain();
    }
  });
}

void AsioScheduler::drain() {
  const TimePoint t = now();
  draining_until_ = t;  // entries scheduled during the drain wait a turn (see start_timer)
  struct EndDrain {
    TimePoint& until;
    ~EndDrain() { until = TimePoint::min(); }
  } end_drain{draining_until_};
  while (!heap_.empty() && heap_.front().due <= t) {
    const Entry e = heap_.front();
    remove_at(0);
    Callback cb = release(e.slot);
    cb();  // may schedule or cancel anything
  }
  arm();
}

}  // namespace keel::live
