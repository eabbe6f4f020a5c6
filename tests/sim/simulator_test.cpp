#include "keel/sim/simulator.h"

#include <gtest/gtest.h>

#include <coroutine>
#include <exception>
#include <memory>
#include <set>
#include <stdexcept>
#include <vector>

namespace keel::sim {
namespace {

using namespace std::chrono_literals;

TimePoint at(Duration d) { return TimePoint{d}; }

// A callable that owns a shared_ptr: use_count tells whether the callback still exists.
struct Owning {
  std::shared_ptr<int> token;
  void operator()() const {}
};

TEST(Simulator, StartsAtZeroAndIdle) {
  Simulator sim;
  EXPECT_EQ(sim.now(), TimePoint{});
  EXPECT_EQ(sim.pending(), 0u);
  EXPECT_EQ(sim.next_wakeup(), std::nullopt);
  EXPECT_FALSE(sim.step());
  const RunResult r = sim.run_until_idle();
  EXPECT_EQ(r.status, RunStatus::idle);
  EXPECT_EQ(r.events, 0u);
}

TEST(Simulator, HeaderExample) {
  bool fired = false;
  Simulator sim{{.seed = 42, .permute_ties = true}};
  sim.start_timer_after(250ms, [&] { fired = true; });
  const RunResult r = sim.run_for(1s);
  EXPECT_TRUE(fired);
  EXPECT_EQ(sim.now(), at(1s));
  EXPECT_EQ(r.status, RunStatus::idle);
}

TEST(Simulator, RunsByTimeThenSchedulingOrder) {
  Simulator sim;
  std::vector<int> order;
  sim.start_timer(at(30ms), [&] { order.push_back(4); });
  sim.start_timer(at(10ms), [&] { order.push_back(1); });
  sim.start_timer(at(20ms), [&] { order.push_back(2); });
  sim.start_timer(at(20ms), [&] { order.push_back(3); });
  sim.post([&] { order.push_back(0); });
  const RunResult r = sim.run_until_idle();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(r.status, RunStatus::idle);
  EXPECT_EQ(r.events, 5u);
  EXPECT_EQ(sim.events_run(), 5u);
  EXPECT_EQ(sim.now(), at(30ms));
}

TEST(Simulator, FiresExactlyAtDueTime) {
  Simulator sim;
  std::vector<TimePoint> fired;
  for (auto d : {7ms, 3ms, 3ms, 250ms}) sim.start_timer(at(d), [&] { fired.push_back(sim.now()); });
  sim.run_until_idle();
  EXPECT_EQ(fired, (std::vector<TimePoint>{at(3ms), at(3ms), at(7ms), at(250ms)}));
}

TEST(Simulator, PostsAndTimersAtNowInterleaveInSchedulingOrder) {
  Simulator sim;
  std::vector<int> order;
  sim.start_timer(at(5ms), [&] {
    sim.start_timer(sim.now(), [&] { order.push_back(1); });
    sim.post([&] { order.push_back(2); });
    sim.start_timer(sim.now() - 1ms, [&] { order.push_back(3); });  // past means now
    sim.post([&] { order.push_back(4); });
    order.push_back(0);
  });
  sim.run_until_idle();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(sim.now(), at(5ms));
}

TEST(Simulator, NeverRunsInline) {
  Simulator sim;
  int runs = 0;
  sim.post([&] { ++runs; });
  sim.start_timer(sim.now(), [&] { ++runs; });
  sim.start_timer(at(-5s), [&] { ++runs; });
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(sim.pending(), 3u);
  EXPECT_EQ(sim.next_wakeup(), at(0s));
  sim.run_until_idle();
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(sim.now(), at(0s));
}

TEST(Simulator, PostRunsAfterTheCurrentCallback) {
  Simulator sim;
  std::vector<int> order;
  sim.post([&] {
    sim.post([&] { order.push_back(2); });
    order.push_back(1);
  });
  sim.post([&] { order.push_back(3); });  // scheduled before the nested post
  sim.run_until_idle();
  EXPECT_EQ(order, (std::vector<int>{1, 3, 2}));
}

TEST(Simulator, CancelPendingTimerDestroysCallback) {
  Simulator sim;
  auto token = std::make_shared<int>(0);
  const TimerId id = sim.start_timer(at(1s), Owning{token});
  EXPECT_TRUE(id);
  EXPECT_EQ(token.use_count(), 2);
  EXPECT_TRUE(sim.cancel_timer(id));
  EXPECT_EQ(token.use_count(), 1);  // destroyed before cancel_timer returned
  EXPECT_EQ(sim.pending(), 0u);
  EXPECT_FALSE(sim.cancel_timer(id));  // already cancelled
  const RunResult r = sim.run_until_idle();
  EXPECT_EQ(r.events, 0u);
  EXPECT_EQ(sim.now(), at(0s));  // a cancelled timer does not move time
}

TEST(Simulator, CancelFiredOrUnknownTimerReturnsFalse) {
  Simulator sim;
  int runs = 0;
  const TimerId id = sim.start_timer(at(1ms), [&] { ++runs; });
  sim.run_until_idle();
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(sim.cancel_timer(id));
  EXPECT_FALSE(sim.cancel_timer(TimerId{}));
  EXPECT_FALSE(sim.cancel_timer(TimerId{12345}));
  EXPECT_FALSE(sim.cancel_timer(TimerId{~std::uint64_t{0}}));
  // The slot of the fired timer is reused; the old id must not cancel the new timer.
  const TimerId next = sim.start_timer(at(2ms), [&] { ++runs; });
  EXPECT_NE(next, id);
  EXPECT_FALSE(sim.cancel_timer(id));
  EXPECT_EQ(sim.pending(), 1u);
  sim.run_until_idle();
  EXPECT_EQ(runs, 2);
}

TEST(Simulator, CallbackCancellingItselfGetsFalse) {
  Simulator sim;
  TimerId self;
  bool result = true;
  self = sim.start_timer(at(1ms), [&] { result = sim.cancel_timer(self); });
  sim.run_until_idle();
  EXPECT_FALSE(result);
}

TEST(Simulator, CallbackCanCancelALaterTimer) {
  Simulator sim;
  int later_runs = 0;
  TimerId later = sim.start_timer(at(2ms), [&] { ++later_runs; });
  bool cancelled = false;
  sim.start_timer(at(1ms), [&] { cancelled = sim.cancel_timer(later); });
  sim.run_until_idle();
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(later_runs, 0);
  EXPECT_EQ(sim.now(), at(1ms));
}

TEST(Simulator, CancelledCallbackDestructorMayReenter) {
  Simulator sim;
  struct Reenter {
    Simulator* sim;
    std::shared_ptr<int> guard = std::make_shared<int>(0);
    Reenter(Simulator* s) : sim(s) {}
    Reenter(Reenter&&) noexcept = default;
    ~Reenter() {
      if (guard && guard.use_count() == 1) sim->post([] {});
    }
    void operator()() const {}
  };
  const TimerId id = sim.start_timer(at(1s), Reenter{&sim});
  EXPECT_TRUE(sim.cancel_timer(id));
  EXPECT_EQ(sim.pending(), 1u);  // the post from the destructor
}

TEST(Simulator, ManyTimersScheduledFromACallbackSurviveSlotReallocation) {
  Simulator sim;
  std::vector<int> order;
  sim.post([&] {
    for (int i = 0; i < 5000; ++i)
      sim.start_timer(at(std::chrono::milliseconds(5000 - i)), [&order, i] { order.push_back(i); });
  });
  sim.run_until_idle();
  ASSERT_EQ(order.size(), 5000u);
  for (int i = 0; i < 5000; ++i) EXPECT_EQ(order[i], 4999 - i);
}

TEST(Simulator, IdsAreNeverReused) {
  Simulator sim;
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 20000; ++i) {
    const TimerId a = sim.start_timer(at(1ms), [] {});
    const TimerId b = sim.start_timer(at(2ms), [] {});
    EXPECT_TRUE(seen.insert(a.value).second);
    EXPECT_TRUE(seen.insert(b.value).second);
    if (i % 2) sim.cancel_timer(a);
    sim.run_until_idle();
  }
}

TEST(Simulator, RunForAdvancesTimeToTargetWhenIdle) {
  Simulator sim;
  int runs = 0;
  sim.start_timer(at(250ms), [&] { ++runs; });
  const RunResult r = sim.run_for(1s);
  EXPECT_EQ(r.status, RunStatus::idle);
  EXPECT_EQ(r.events, 1u);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(sim.now(), at(1s));
  const RunResult r2 = sim.run_for(2s);
  EXPECT_EQ(r2.status, RunStatus::idle);
  EXPECT_EQ(r2.events, 0u);
  EXPECT_EQ(sim.now(), at(3s));
}

TEST(Simulator, RunUntilStopsAtTargetWithLaterWorkPending) {
  Simulator sim;
  std::vector<TimePoint> fired;
  for (auto d : {1s, 2s, 3s}) sim.start_timer(at(d), [&] { fired.push_back(sim.now()); });
  RunResult r = sim.run_until(at(2s));  // inclusive: the 2s timer runs
  EXPECT_EQ(r.status, RunStatus::reached_time);
  EXPECT_EQ(r.events, 2u);
  EXPECT_EQ(sim.now(), at(2s));
  EXPECT_EQ(sim.pending(), 1u);
  EXPECT_EQ(sim.next_wakeup(), at(3s));
  r = sim.run_until(at(2500ms));
  EXPECT_EQ(r.status, RunStatus::reached_time);
  EXPECT_EQ(r.events, 0u);
  EXPECT_EQ(sim.now(), at(2500ms));
  r = sim.run_until(at(1s));  // a past target means now: time never goes back
  EXPECT_EQ(r.status, RunStatus::reached_time);
  EXPECT_EQ(sim.now(), at(2500ms));
  r = sim.run_until(at(10s));
  EXPECT_EQ(r.status, RunStatus::idle);
  EXPECT_EQ(fired, (std::vector<TimePoint>{at(1s), at(2s), at(3s)}));
  EXPECT_EQ(sim.now(), at(10s));
}

TEST(Simulator, RunForZeroRunsWhatIsReadyNow) {
  Simulator sim;
  int runs = 0;
  sim.post([&] { ++runs; });
  sim.start_timer(at(1ns), [&] { ++runs; });
  const RunResult r = sim.run_for(0s);
  EXPECT_EQ(r.status, RunStatus::reached_time);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(sim.now(), at(0s));
}

TEST(Simulator, NextWakeupTracksEarliestLiveTimer) {
  Simulator sim;
  const TimerId a = sim.start_timer(at(5s), [] {});
  const TimerId b = sim.start_timer(at(3s), [] {});
  sim.start_timer(at(9s), [] {});
  EXPECT_EQ(sim.next_wakeup(), at(3s));
  EXPECT_TRUE(sim.cancel_timer(b));
  EXPECT_EQ(sim.next_wakeup(), at(5s));
  EXPECT_TRUE(sim.cancel_timer(a));
  EXPECT_EQ(sim.next_wakeup(), at(9s));
  sim.post([] {});
  EXPECT_EQ(sim.next_wakeup(), at(0s));
  sim.run_until_idle();
  EXPECT_EQ(sim.next_wakeup(), std::nullopt);
}

TEST(Simulator, StepRunsOneEventJumpingTime) {
  Simulator sim;
  std::vector<int> order;
  sim.start_timer(at(2s), [&] { order.push_back(2); });
  sim.start_timer(at(1s), [&] { order.push_back(1); });
  EXPECT_TRUE(sim.step());
  EXPECT_EQ(order, (std::vector<int>{1}));
  EXPECT_EQ(sim.now(), at(1s));
  EXPECT_TRUE(sim.step());
  EXPECT_EQ(sim.now(), at(2s));
  EXPECT_FALSE(sim.step());
  EXPECT_EQ(sim.events_run(), 2u);
}

// A self-reposting callback is a livelock: every run_* call must return, not spin.
struct Livelock {
  Simulator* sim;
  std::uint64_t* runs;
  void operator()() const {
    ++*runs;
    sim->post(Livelock{sim, runs});
  }
};

TEST(Simulator, LivelockExhaustsTheBudget) {
  Simulator sim{{.event_budget = 1000}};
  std::uint64_t runs = 0;
  sim.post(Livelock{&sim, &runs});
  RunResult r = sim.run_until_idle();
  EXPECT_EQ(r.status, RunStatus::budget_exhausted);
  EXPECT_EQ(r.events, 1000u);
  EXPECT_EQ(runs, 1000u);
  r = sim.run_for(1s);  // the budget is per call; time does not advance past the livelock
  EXPECT_EQ(r.status, RunStatus::budget_exhausted);
  EXPECT_EQ(sim.now(), at(0s));
  EXPECT_EQ(runs, 2000u);
  EXPECT_EQ(sim.pending(), 1u);
}

TEST(Simulator, LivelockOnATimerExhaustsTheBudget) {
  Simulator sim{{.permute_ties = true, .event_budget = 500}};
  std::uint64_t runs = 0;
  sim.start_timer(at(1s), Livelock{&sim, &runs});
  const RunResult r = sim.run_until(at(5s));
  EXPECT_EQ(r.status, RunStatus::budget_exhausted);
  EXPECT_EQ(r.events, 500u);
  EXPECT_EQ(sim.now(), at(1s));
}

TEST(Simulator, BudgetExactlyUsedUpIsNotExhaustion) {
  Simulator sim{{.event_budget = 3}};
  for (int i = 0; i < 3; ++i) sim.post([] {});
  const RunResult r = sim.run_until_idle();
  EXPECT_EQ(r.status, RunStatus::idle);
  EXPECT_EQ(r.events, 3u);
}

TEST(Simulator, RunningFromInsideACallbackThrows) {
  Simulator sim;
  bool threw = false;
  sim.post([&] {
    try {
      sim.run_until_idle();
    } catch (const std::logic_error&) {
      threw = true;
    }
  });
  sim.run_until_idle();
  EXPECT_TRUE(threw);
  sim.post([] {});
  EXPECT_EQ(sim.run_until_idle().events, 1u);  // usable afterwards
}

TEST(Simulator, ThrowingCallbackLeavesSimulatorUsable) {
  Simulator sim;
  sim.post([] { throw std::runtime_error("boom"); });
  sim.post([] {});
  EXPECT_THROW(sim.run_until_idle(), std::runtime_error);
  EXPECT_EQ(sim.pending(), 1u);
  EXPECT_EQ(sim.run_until_idle().events, 1u);
}

TEST(Simulator, HeavyCancelKeepsMemoryBounded) {
  Simulator sim;
  // A live timer at the front keeps cancelled entries from being popped off the top.
  sim.start_timer(at(1ms), [] {});
  for (int i = 0; i < 100; ++i) sim.start_timer(at(std::chrono::seconds(1000 + i)), [] {});
  std::size_t max_heap = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    const TimerId t = sim.start_timer(at(std::chrono::seconds(10 + i % 500)), Owning{nullptr});
    ASSERT_TRUE(sim.cancel_timer(t));
    max_heap = std::max(max_heap, sim.heap_size());
  }
  EXPECT_EQ(sim.pending(), 101u);
  EXPECT_LE(max_heap, 2 * 101u + 256u);
  EXPECT_EQ(sim.run_until_idle().events, 101u);
  EXPECT_EQ(sim.heap_size(), 0u);
}

std::vector<int> tie_order(std::uint64_t seed, bool permute, int n = 50) {
  Simulator sim{{.seed = seed, .permute_ties = permute}};
  std::vector<int> order;
  for (int i = 0; i < n; ++i) {
    if (i % 3 == 0) sim.post([&order, i] { order.push_back(i); });
    else sim.start_timer(at(0ms), [&order, i] { order.push_back(i); });
  }
  sim.run_until_idle();
  return order;
}

TEST(Simulator, TiesRunInSchedulingOrderByDefault) {
  const std::vector<int> order = tie_order(7, false);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[i], i);
}

TEST(Simulator, PermutedTiesAreSeededAndReproducible) {
  const std::vector<int> a = tie_order(7, true);
  const std::vector<int> b = tie_order(7, true);
  const std::vector<int> c = tie_order(8, true);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::vector<int> identity(50);
  for (int i = 0; i < 50; ++i) identity[i] = i;
  EXPECT_NE(a, identity);
  std::vector<int> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, identity);  // a permutation: nothing lost, nothing repeated
}

TEST(Simulator, PermutedTiesNeverBreakTimeOrder) {
  Simulator sim{{.seed = 99, .permute_ties = true}};
  std::vector<std::pair<TimePoint, TimePoint>> fired;  // (due, actual)
  for (int i = 0; i < 300; ++i) {
    const TimePoint due = at(std::chrono::milliseconds(i % 7));
    sim.start_timer(due, [&fired, &sim, due] { fired.emplace_back(due, sim.now()); });
  }
  sim.run_until_idle();
  ASSERT_EQ(fired.size(), 300u);
  for (std::size_t i = 0; i < fired.size(); ++i) {
    EXPECT_EQ(fired[i].first, fired[i].second);
    if (i > 0) {
      EXPECT_LE(fired[i - 1].second, fired[i].second);
    }
  }
}

TEST(Simulator, DestroyWithPendingWorkDropsCallbacksWithoutRunning) {
  auto token = std::make_shared<int>(0);
  int runs = 0;
  {
    Simulator sim;
    for (int i = 0; i < 100; ++i) sim.start_timer(at(std::chrono::seconds(i)), Owning{token});
    for (int i = 0; i < 10; ++i) sim.post(Owning{token});
    sim.start_timer(at(1s), [&] { ++runs; });
    EXPECT_EQ(token.use_count(), 111);
  }
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_EQ(runs, 0);
}

TEST(Simulator, DestroyToleratesCallbackDestructorsThatReenter) {
  struct Canceller {
    Simulator* sim;
    TimerId other;
    std::unique_ptr<int> owned = std::make_unique<int>(1);
    Canceller(Simulator* s, TimerId o) : sim(s), other(o) {}
    Canceller(Canceller&&) noexcept = default;
    ~Canceller() {
      if (owned) {
        sim->cancel_timer(other);
        sim->post([] {});
      }
    }
    void operator()() const {}
  };
  Simulator sim;
  const TimerId first = sim.start_timer(at(1s), [] {});
  sim.start_timer(at(2s), Canceller{&sim, first});
  sim.post(Canceller{&sim, first});
}

// A bare coroutine parked forever, registered as a detached task: the simulator must destroy
// it first, while its timers still exist (its frame's destructors may cancel them).
struct Parked {
  struct promise_type {
    detail::DetachedNode node;
    Parked get_return_object() {
      return {std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
  std::coroutine_handle<promise_type> handle;
};

struct CancelOnDestroy {
  Simulator* sim;
  TimerId id;
  bool* cancelled;
  ~CancelOnDestroy() { *cancelled = sim->cancel_timer(id); }
};

Parked park([[maybe_unused]] std::unique_ptr<CancelOnDestroy> guard) { co_return; }

TEST(Simulator, DestroysDetachedTasksFirst) {
  bool cancelled = false;
  {
    Simulator sim;
    const TimerId timer = sim.start_timer(at(1s), [] {});
    auto guard = std::unique_ptr<CancelOnDestroy>(new CancelOnDestroy{&sim, timer, &cancelled});
    Parked task = park(std::move(guard));
    task.handle.promise().node.frame = task.handle;
    sim.register_detached(task.handle.promise().node);
    EXPECT_EQ(sim.detached_count(), 1u);
  }
  EXPECT_TRUE(cancelled);  // the timer was still pending when the frame was destroyed
}

}  // namespace
}  // namespace keel::sim
