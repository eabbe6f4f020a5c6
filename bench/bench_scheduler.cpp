// bench_scheduler — throughput of sim::Simulator against a plain std::priority_queue.
//
// Steady state ("hold model"): N timers stay pending; each item fires the earliest timer and
// schedules one at now + a pseudo-random offset. items_per_second = timer events per second.
// Target: >= 10 M/s at N = 100k, and >= 0.5x BM_PriorityQueueBaseline at the same N.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <queue>
#include <utility>
#include <vector>

#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/sim/simulator.h"

namespace {

using namespace std::chrono_literals;

using keel::Duration;
using keel::TimePoint;
using keel::sim::Simulator;
using namespace keel;

// Fixed-seed xorshift64: the same offsets for the simulator and the baseline.
struct XorShift {
  std::uint64_t s = 0x9e3779b97f4a7c15ULL;
  std::int64_t next_offset_ns() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return 1 + static_cast<std::int64_t>(s % 1'000'000);  // 1ns .. 1ms
  }
};

struct Reschedule {
  Simulator* sim;
  XorShift* rng;
  void operator()() const {
    sim->start_timer(sim->now() + Duration{rng->next_offset_ns()}, Reschedule{sim, rng});
  }
};

void BM_SimTimers(benchmark::State& state) {
  Simulator sim;
  XorShift rng;
  for (std::int64_t i = 0; i < state.range(0); ++i)
    sim.start_timer(TimePoint{Duration{rng.next_offset_ns()}}, Reschedule{&sim, &rng});
  for (auto _ : state) sim.step();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SimTimers)->Arg(1'000)->Arg(100'000)->Arg(1'000'000);

void BM_PriorityQueueBaseline(benchmark::State& state) {
  using Item = std::pair<std::int64_t, std::uint64_t>;  // (time, seq)
  std::priority_queue<Item, std::vector<Item>, std::greater<>> queue;
  XorShift rng;
  std::uint64_t seq = 0;
  for (std::int64_t i = 0; i < state.range(0); ++i) queue.emplace(rng.next_offset_ns(), seq++);
  for (auto _ : state) {
    const Item top = queue.top();
    queue.pop();
    queue.emplace(top.first + rng.next_offset_ns(), seq++);
  }
  benchmark::DoNotOptimize(queue.top());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PriorityQueueBaseline)->Arg(1'000)->Arg(100'000)->Arg(1'000'000);

// The timeout pattern: start a timer and cancel it before it fires, with N others pending.
void BM_SimStartCancel(benchmark::State& state) {
  Simulator sim;
  XorShift rng;
  for (std::int64_t i = 0; i < state.range(0); ++i)
    sim.start_timer(TimePoint{Duration{rng.next_offset_ns()}}, [] {});
  for (auto _ : state) {
    const keel::TimerId id = sim.start_timer(TimePoint{Duration{rng.next_offset_ns()}}, [] {});
    benchmark::DoNotOptimize(sim.cancel_timer(id));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SimStartCancel)->Arg(1'000)->Arg(100'000);

// post() round trip (what a coroutine resume costs), with N timers pending in the future.
struct Repost {
  Simulator* sim;
  void operator()() const { sim->post(Repost{sim}); }
};

void BM_SimPost(benchmark::State& state) {
  Simulator sim;
  XorShift rng;
  for (std::int64_t i = 0; i < state.range(0); ++i)
    sim.start_timer(TimePoint{Duration{1'000'000'000 + rng.next_offset_ns()}}, [] {});
  sim.post(Repost{&sim});
  for (auto _ : state) sim.step();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SimPost)->Arg(0)->Arg(100'000);

// Coroutine round trips on the simulator.
Task<void> sleep_once(Duration d) { (void)co_await sleep_for(d); }

Task<void> sleep_loop(std::int64_t n, Duration d) {
  for (std::int64_t i = 0; i < n; ++i) (void)co_await sleep_for(d);
}

// spawn (post) + first resume + sleep (timer) + resume + completion + frame freed, with
// `range(0)` unrelated timers pending. One item = one whole round trip.
void BM_TaskSpawnSleepResume(benchmark::State& state) {
  Simulator sim;
  for (std::int64_t i = 0; i < state.range(0); ++i) sim.start_timer(TimePoint::max() - 1h, [] {});
  for (auto _ : state) {
    spawn(sim, sleep_once(1us));
    sim.step();  // start: runs until the sleep suspends
    sim.step();  // the timer: resume and finish
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["heap_allocs_per_op"] = benchmark::Counter(
      static_cast<double>(frame_heap_allocations()), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_TaskSpawnSleepResume)->Arg(0)->Arg(100'000);

// One long-lived coroutine: sleep + resume only (no spawn), per iteration.
void BM_TaskSleepResume(benchmark::State& state) {
  Simulator sim;
  const std::int64_t n = 1 << 20;
  spawn(sim, sleep_loop(n, 1us));
  sim.step();
  for (auto _ : state) {
    if (!sim.step()) state.SkipWithError("sleep loop ended");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TaskSleepResume)->Iterations(1 << 19);

}  // namespace

BENCHMARK_MAIN();
