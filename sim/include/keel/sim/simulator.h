// keel/sim/simulator.h — the virtual-time Scheduler behind every simulation.
//
// Purpose: runs the unmodified runtime in virtual time. Nothing ever sleeps: when no event is
// due, time jumps straight to the next timer, so an hour of simulated traffic takes
// milliseconds. It reads no clock, starts no thread and uses no randomness except the seeded
// tie permutation below; the same inputs give the same event order, bit for bit.
//
// Contract:
//  - Virtual time starts at TimePoint{} and changes only inside run_*()/step(), to the exact
//    due time of the event being run: a timer never fires early, and never late.
//  - Events run in (time, scheduling order). `post(cb)` is a timer at now(); a time point in
//    the past means now(). Callbacks never run inline from post()/start_timer().
//  - With `Options::permute_ties`, events due at the same time run in a seeded pseudo-random
//    order instead (same seed, same order); time order is still never violated.
//  - One thread. Callbacks may schedule and cancel timers; they must not call run_*()/step()
//    (that throws std::logic_error) nor destroy the simulator.
//  - Every run_*() call runs at most `Options::event_budget` callbacks and then reports
//    `budget_exhausted` instead of spinning forever on a livelock.
//  - Destruction destroys detached tasks first, then drops pending callbacks without running them.
//
// Example:
//   sim::Simulator sim{{.seed = 42, .permute_ties = true}};
//   sim.start_timer_after(250ms, [&] { fired = true; });
//   auto r = sim.run_for(1s);   // fired == true, sim.now() == TimePoint{1s}
//   assert(r.status == sim::RunStatus::idle);
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "keel/core/callback.h"
#include "keel/core/scheduler.h"
#include "keel/core/time.h"

namespace keel::sim {

enum class RunStatus {
  idle,              // nothing is pending any more
  reached_time,      // run_for/run_until stopped at its target; later work is still pending
  budget_exhausted,  // the event budget ran out with due work left (likely a livelock)
};

struct RunResult {
  RunStatus status;
  std::uint64_t events;  // callbacks run by this call
};

class Simulator final : public Scheduler {
 public:
  struct Options {
    std::uint64_t seed = 1;
    bool permute_ties = false;                    // seeded order among equal-time events
    std::uint64_t event_budget = 100'000'000;     // max callbacks per run_*() call
  };

  Simulator() : Simulator(Options{}) {}
  explicit Simulator(Options options);
  ~Simulator() override;
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Scheduler
  TimePoint now() const noexcept override { return TimePoint{Duration{now_}}; }
  void post(Callback cb) override;
  TimerId start_timer(TimePoint at, Callback cb) override;
  bool cancel_timer(TimerId id) noexcept override;

  // Runs the next event, jumping time to it if needed. False if nothing is pending.
  bool step();
  // Runs until nothing is pending; now() ends at the last event's time.
  RunResult run_until_idle();
  // Runs every event due at or before `target` (a past target means now()), then sets
  // now() = target, idle or not — unless the budget ran out first.
  RunResult run_until(TimePoint target);
  RunResult run_for(Duration d) { return run_until(saturating_add(now(), d)); }

  // Due time of the earliest pending event, if any.
  std::optional<TimePoint> next_wakeup() const noexcept;
  // Pending (scheduled, not yet run, not cancelled) events, posts included.
  std::size_t pending() const noexcept { return heap_.size() - stale_ + posts_.size(); }
  // Callbacks run over this simulator's lifetime.
  std::uint64_t events_run() const noexcept { return events_run_; }
  // Timer-heap entries, cancelled ones included; at most 2 * pending() + 256 (for tests).
  std::size_t heap_size() const noexcept { return heap_.size(); }
  const Options& options() const noexcept { return options_; }

 private:
  // A heap entry: small and trivially copyable. `gen` matches the slot's iff still live.
  struct Entry {
    std::int64_t time;
    std::uint64_t order;  // sequence number, or its seeded mix when permuting ties
    std::uint32_t slot;
    std::uint32_t gen;
  };
  // Callback storage for timers. `gen` is odd while the slot holds a pending timer.
  struct Slot {
    Callback cb;
    std::uint32_t gen = 0;
    std::uint32_t next_free = 0;
  };
  // FIFO ring of posts (used unless ties are permuted): posts need no id, slot or heap.
  class PostQueue {
   public:
    struct Post {
      std::uint64_t seq;
      Callback cb;
    };
    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }
    Post& front() noexcept { return ring_[head_]; }
    const Post& front() const noexcept { return ring_[head_]; }
    void push(std::uint64_t seq, Callback cb);
    void pop() noexcept;
    std::vector<Post> take_all() noexcept;  // leaves the queue empty

   private:
    std::vector<Post> ring_;  // capacity is a power of two
    std::size_t head_ = 0;
    std::size_t size_ = 0;
  };

  static bool before(const Entry& a, const Entry& b) noexcept {
    return a.time < b.time || (a.time == b.time && a.order < b.order);
  }
  bool live(const Entry& e) const noexcept { return slots_[e.slot].gen == e.gen; }

  std::uint64_t next_order() noexcept;
  std::uint32_t alloc_slot();
  void free_slot(std::uint32_t slot) noexcept;
  void heap_push(Entry e);
  void heap_pop() noexcept;
  void sift_down(std::size_t i, Entry e) noexcept;
  void drop_stale_top() noexcept;
  void maybe_compact() noexcept;

  bool has_due(std::int64_t limit) const noexcept;
  void run_next();
  RunResult run_loop(std::int64_t limit);

  Options options_;
  std::uint64_t mix_key_;
  std::int64_t now_ = 0;
  std::uint64_t seq_ = 0;
  std::uint64_t events_run_ = 0;
  std::vector<Entry> heap_;  // 4-ary min-heap on (time, order); its top is always live
  std::size_t stale_ = 0;    // cancelled entries still in heap_
  std::vector<Slot> slots_;
  std::uint32_t free_head_ = 0;  // slot index + 1; 0 = none
  PostQueue posts_;
  bool running_ = false;
};

}  // namespace keel::sim
