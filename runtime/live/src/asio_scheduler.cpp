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

TimerId AsioScheduler::start_timer(TimePoint at, Callback cb) {
  const std::uint64_t id = next_id_++;
  queue_.emplace(Key{at, id}, std::move(cb));
  due_.emplace(id, at);
  arm();
  return TimerId{id};
}

bool AsioScheduler::cancel_timer(TimerId id) noexcept {
  auto it = due_.find(id.value);
  if (it == due_.end()) return false;
  queue_.erase(Key{it->second, id.value});
  due_.erase(it);
  if (queue_.empty() && armed_for_ != TimePoint::max()) {
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
  if (queue_.empty()) return;
  const TimePoint first = queue_.begin()->first.first;
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
  const std::uint64_t last = next_id_ - 1;  // entries scheduled during the drain wait a turn
  auto it = queue_.begin();
  while (it != queue_.end() && it->first.first <= t) {
    if (it->first.second > last) {
      ++it;
      continue;
    }
    Callback cb = std::move(it->second);
    due_.erase(it->first.second);
    queue_.erase(it);
    cb();  // may schedule or cancel anything: restart from the front
    it = queue_.begin();
  }
  arm();
}

}  // namespace keel::live
