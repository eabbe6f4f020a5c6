// bench_workforce — tasks per second of wall time through the real Workforce on the simulator:
// 10,000 independent tasks in PARALLEL mode, each attempt a 100 ms worker call of which 10 %
// fail (seeded by task and attempt), recovered with RETRY (max_retries 3, 1 s backoff with
// jitter). Construction (graph check, instances) is inside the timed loop. Variants: unbounded
// or max_concurrency 100, and with a counting event sink (every event built and delivered).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "keel/core/event.h"
#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/sim/simulator.h"
#include "keel/workforce/workforce.h"

namespace {

using namespace keel;
using namespace std::chrono_literals;

class FlakyWorker final : public workforce::Worker {
 public:
  std::string_view name() const noexcept override { return "flaky"; }
  Task<Result<std::string>> run(workforce::WorkItem item) override {
    if (Status s = co_await sleep_for(100ms); !s) co_return s.error();
    if (mix64(fnv1a64(item.task_id) + static_cast<std::uint64_t>(item.attempt)) % 10 == 0)
      co_return Error(ErrorCode::server_error, "flaky");
    co_return std::string("ok");
  }
};

std::vector<workforce::TaskSpec> make_tasks(std::size_t n) {
  std::vector<workforce::TaskSpec> tasks;
  tasks.reserve(n);
  for (std::size_t i = 0; i < n; ++i) tasks.push_back({.id = std::to_string(i), .input = std::string(4, 'w')});
  return tasks;
}

void BM_Workforce10kParallelRetry(benchmark::State& state) {
  constexpr std::size_t kTasks = 10'000;
  const std::vector<workforce::TaskSpec> tasks = make_tasks(kTasks);
  FlakyWorker worker;
  CountingSink counting;
  EventSink* sink = state.range(1) ? &counting : nullptr;
  std::uint64_t done = 0, attempts = 0;
  for (auto _ : state) {
    sim::Simulator sim;
    workforce::WorkforceConfig cfg{.failure = {.max_retries = 3}};
    if (state.range(0) > 0) cfg.max_concurrency = static_cast<std::size_t>(state.range(0));
    workforce::Workforce wf{{&worker}, tasks, cfg, Rng{1}, sink};
    spawn(sim, wf.run());
    sim.run_until_idle();
    done += wf.counts().done;
    attempts += wf.counters().attempts;
  }
  if (done != state.iterations() * kTasks) state.SkipWithError("a task did not succeed");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kTasks));
  state.counters["attempts_per_task"] = static_cast<double>(attempts) / static_cast<double>(state.iterations() * kTasks);
}
BENCHMARK(BM_Workforce10kParallelRetry)
    ->ArgNames({"max_concurrency", "events"})
    ->Args({0, 0})
    ->Args({100, 0})
    ->Args({0, 1})
    ->UseRealTime()  // items_per_second: tasks per second of wall time
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
