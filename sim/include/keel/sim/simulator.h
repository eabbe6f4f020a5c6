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
//  - TimerIds are never reused. Limits (std::length_error beyond): 2^24 - 1 timers pending at
//    once, 2^40 events scheduled over a simulator's life.
//
// Example:
//   sim::Simulator sim{{.seed = 42, .permute_ties = true}};
//   sim.start_timer_after(250ms, [&] { fired = true; });
//   auto r = sim.run_for(1s);   // fired == true, sim.now() == TimePoint{1s}
//   assert(r.status == sim::RunStatus::idle);
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
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
  // A heap entry is one 128-bit integer, so comparing two is one branch-free compare: the due
  // time in the high half; in the low half the tie order (40 bits: sequence number, or its
  // seeded permutation) above the slot index (24 bits). The low half is unique, serves as the
  // TimerId (+1), and the slot remembers it: an entry is live iff the two still match.
  __extension__ typedef unsigned __int128 Key;
  static constexpr int kSlotBits = 24;
  static constexpr int kOrderBits = 64 - kSlotBits;
  static constexpr std::uint64_t kSlotMask = (std::uint64_t{1} << kSlotBits) - 1;
  static constexpr std::uint64_t kNoKey = ~std::uint64_t{0};  // a free slot's key

  template <class T>
  struct CacheLineAllocator {
    using value_type = T;
    CacheLineAllocator() = default;
    template <class U>
    CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}
    T* allocate(std::size_t n) {
      return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64}));
    }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t{64}); }
    friend bool operator==(CacheLineAllocator, CacheLineAllocator) noexcept { return true; }
  };

  // 4-ary min-heap of Keys laid out so that every group of siblings fills one cache line;
  // entries past the end hold a max sentinel, so a node's four children can always be compared.
  class KeyHeap {
   public:
    KeyHeap();
    std::size_t size() const noexcept { return n_; }
    bool empty() const noexcept { return n_ == 0; }
    Key top() const noexcept { return buf_[kFront]; }
    Key at(std::size_t i) const noexcept { return buf_[kFront + i]; }
    void push(Key k);
    void pop() noexcept;
    template <class Dead>
    void erase_if(Dead dead) noexcept;  // then restores the heap order
    void clear() noexcept;

   private:
    static constexpr std::size_t kFront = 3;  // padding: node 1 starts a cache line
    static constexpr Key kSentinel = ~Key{0};
    Key* node() noexcept { return buf_.data() + kFront; }
    std::size_t min_child(std::size_t first) const noexcept;
    void sift_up(std::size_t i, Key k) noexcept;
    void sift_down(std::size_t i, Key k) noexcept;

    std::vector<Key, CacheLineAllocator<Key>> buf_;  // kFront pads, n_ keys, 4 sentinels
    std::size_t n_ = 0;
  };

  // Callback storage for timers, reused through a free list.
  struct Slot {
    Callback cb;
    std::uint64_t key = kNoKey;  // low half of the pending entry, or kNoKey when free
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

  static std::int64_t time_of(Key k) noexcept { return static_cast<std::int64_t>(k >> 64); }
  static std::uint64_t low_of(Key k) noexcept { return static_cast<std::uint64_t>(k); }
  static std::uint32_t slot_of(std::uint64_t low) noexcept {
    return static_cast<std::uint32_t>(low & kSlotMask);
  }
  bool live(Key k) const noexcept { return slots_[slot_of(low_of(k))].key == low_of(k); }

  std::uint64_t next_seq();
  std::uint64_t tie_order(std::uint64_t seq) const noexcept;
  std::uint32_t alloc_slot();
  void free_slot(std::uint32_t slot) noexcept;
  void drop_stale_top() noexcept;
  void maybe_compact() noexcept;

  bool has_due(std::int64_t limit) const noexcept;
  void run_next();
  RunResult run_loop(std::int64_t limit);

  Options options_;
  std::uint64_t perm_xor_, perm_mul_;  // seeded tie permutation
  std::int64_t now_ = 0;
  std::uint64_t seq_ = 0;
  std::uint64_t events_run_ = 0;
  KeyHeap heap_;          // its top is always live
  std::size_t stale_ = 0;  // cancelled entries still in heap_
  std::vector<Slot> slots_;
  std::uint32_t free_head_ = 0;  // slot index + 1; 0 = none
  PostQueue posts_;
  bool running_ = false;
};

}  // namespace keel::sim
