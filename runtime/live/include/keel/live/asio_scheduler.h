// keel/live/asio_scheduler.h — keel::Scheduler in real time on a boost::asio::io_context.
//
// Purpose: production runs the same runtime code as the simulator on this scheduler: one
// AsioScheduler (and one io_context thread) per core, like Envoy's dispatcher per worker.
//
// Contract (see keel/core/scheduler.h for the general one):
//  - now() is steady-clock time since this scheduler was constructed.
//  - Timers and posts share one queue ordered by (due time, scheduling order), so timers due
//    at the same time fire in scheduling order, and a post runs after timers already due.
//    One asio::steady_timer is armed for the earliest due entry. Timers may fire late (the
//    OS decides), never early.
//  - Single-threaded: call everything from the thread running the io_context.
//  - A drain runs only entries that were due and scheduled before it began, so a callback
//    re-posting itself cannot starve socket I/O.
//  - The io_context may outlive the scheduler: handlers left in it become no-ops.
//  - Cancelling the last pending timer disarms the wakeup, so io.run() returns as soon as no
//    I/O remains (it does not wait out a cancelled timeout).
//
// Example:
//   boost::asio::io_context io;
//   keel::live::AsioScheduler sched{io};
//   keel::spawn(sched, main_task());
//   io.run();                                   // returns when no timers or I/O remain
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>

#include "keel/core/scheduler.h"
#include "keel/live/asio.h"

namespace keel::live {

class AsioScheduler final : public Scheduler {
 public:
  explicit AsioScheduler(boost::asio::io_context& io);
  ~AsioScheduler() override;
  AsioScheduler(const AsioScheduler&) = delete;
  AsioScheduler& operator=(const AsioScheduler&) = delete;

  TimePoint now() const noexcept override;
  void post(Callback cb) override;
  TimerId start_timer(TimePoint at, Callback cb) override;
  bool cancel_timer(TimerId id) noexcept override;

  boost::asio::io_context& io() noexcept { return io_; }
  std::size_t pending() const noexcept { return queue_.size(); }

 private:
  using Key = std::pair<TimePoint, std::uint64_t>;  // (due, sequence = timer id)
  void arm();
  void drain();

  boost::asio::io_context& io_;
  boost::asio::steady_timer wakeup_;
  std::chrono::steady_clock::time_point epoch_;
  std::map<Key, Callback> queue_;
  std::unordered_map<std::uint64_t, TimePoint> due_;  // id -> due, for cancel
  std::uint64_t next_id_ = 1;
  bool drain_posted_ = false;
  TimePoint armed_for_ = TimePoint::max();
  std::shared_ptr<AsioScheduler*> alive_;  // handlers hold a weak_ptr: no-ops once we are gone
};

}  // namespace keel::live
