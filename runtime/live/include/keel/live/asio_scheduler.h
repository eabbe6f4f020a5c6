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
//  - Cost: start_timer and cancel_timer are O(log n) on a binary heap whose slots are reused,
//    so a steady stream of timers allocates nothing once the heap has grown; a TimerId names a
//    slot and its generation, so a stale id never cancels a later timer.
//
// Example:
//   boost::asio::io_context io;
//   keel::live::AsioScheduler sched{io};
//   keel::spawn(sched, main_task());
//   io.run();                                   // returns when no timers or I/O remain
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

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
  std::size_t pending() const noexcept { return heap_.size(); }

 private:
  static constexpr std::uint32_t kNotQueued = UINT32_MAX;
  struct Entry {  // a heap element, ordered by (due, seq)
    TimePoint due;
    std::uint64_t seq;
    std::uint32_t slot;
  };
  struct Slot {  // a pending timer's callback; reused once the timer fired or was cancelled
    Callback cb;
    std::uint32_t generation = 1;
    std::uint32_t heap_index = kNotQueued;
  };
  static bool before(const Entry& a, const Entry& b) noexcept {
    return a.due < b.due || (a.due == b.due && a.seq < b.seq);
  }
  void place(std::size_t i, Entry e) noexcept;
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;
  void remove_at(std::size_t i) noexcept;
  void push(Entry e);
  Callback release(std::uint32_t slot) noexcept;  // frees the slot, returns its callback
  void arm();
  void drain();

  boost::asio::io_context& io_;
  boost::asio::steady_timer wakeup_;
  std::chrono::steady_clock::time_point epoch_;
  std::vector<Entry> heap_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::uint64_t next_seq_ = 1;
  TimePoint draining_until_ = TimePoint::min();  // the running drain's cut-off
  bool drain_posted_ = false;
  TimePoint armed_for_ = TimePoint::max();
  std::shared_ptr<AsioScheduler*> alive_;  // handlers hold a weak_ptr: no-ops once we are gone
};

}  // namespace keel::live
