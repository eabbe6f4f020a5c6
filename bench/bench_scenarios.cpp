// bench_scenarios — the harness end to end: a 1-hour scenario with 100 agents under 20 % faults,
// run by the real scenario runner (loader output → runtime → simulator → report).
// Reports simulated model calls per wall second and the time compression (virtual seconds per
// wall second).
#include <benchmark/benchmark.h>

#include "keel/scenarios/loader.h"
#include "keel/scenarios/runner.h"

namespace {

using namespace keel;

constexpr const char* kScenario = R"({
  "keel_scenario": 1, "name": "bench_hour", "horizon": "1h",
  "providers": [
    {"name": "a", "latency": {"lognormal": {"median": "800ms", "p99": "4s"}}},
    {"name": "b", "latency": {"lognormal": {"median": "1s", "p99": "5s"}}}
  ],
  "tools": [{"name": "search", "latency": {"fixed": "200ms"}, "idempotent": true}],
  "faults": [
    {"target": "*", "kind": "server_error", "probability": 0.15},
    {"target": "*", "kind": "rate_limit", "retry_after": "1s", "probability": 0.05}
  ],
  "runtime": {"circuit_breaker": {"window": "count", "size": 100, "min_calls": 50}},
  "workload": {"kind": "agents", "count": 100, "steps": 1500, "start": {"every": "100ms"},
               "tool_calls_per_step": 1}
})";

// The same hour with every request streamed: 50-token answers, 20 ms apart, under the stream
// faults too (cuts, stalls, a malformed event, missing sentinels).
constexpr const char* kStreamedScenario = R"({
  "keel_scenario": 1, "name": "bench_hour_streamed", "horizon": "1h",
  "providers": [
    {"name": "a", "latency": {"lognormal": {"median": "800ms", "p99": "4s"}}, "output_tokens": 50, "token_interval": "20ms"},
    {"name": "b", "latency": {"lognormal": {"median": "1s", "p99": "5s"}}, "output_tokens": 50, "token_interval": "20ms"}
  ],
  "tools": [{"name": "search", "latency": {"fixed": "200ms"}, "idempotent": true}],
  "faults": [
    {"target": "*", "kind": "server_error", "probability": 0.1},
    {"target": "*", "kind": "rate_limit", "retry_after": "1s", "probability": 0.05},
    {"target": "*", "kind": "stream_cut", "probability": 0.02},
    {"target": "*", "kind": "stream_stall", "probability": 0.01},
    {"target": "*", "kind": "malformed_chunk", "probability": 0.01},
    {"target": "*", "kind": "missing_done", "probability": 0.01}
  ],
  "runtime": {"circuit_breaker": {"window": "count", "size": 100, "min_calls": 50}},
  "workload": {"kind": "agents", "count": 100, "steps": 1500, "start": {"every": "100ms"},
               "tool_calls_per_step": 1, "stream": true}
})";

void hour_of_100_agents(benchmark::State& state, const char* text) {
  const scenarios::LoadResult loaded = scenarios::load_scenario(text, "bench_hour");
  if (!loaded.ok()) {
    state.SkipWithError(loaded.describe().c_str());
    return;
  }
  std::int64_t calls = 0, tasks = 0;
  double virtual_seconds = 0;
  for (auto _ : state) {
    Result<scenarios::RunReport> r = scenarios::run_scenario(*loaded.scenario);
    if (!r) {
      state.SkipWithError(r.error().describe().c_str());
      return;
    }
    for (const auto& [name, n] : r->calls) calls += n;
    tasks += r->tasks.succeeded;
    virtual_seconds += 3600.0;
  }
  state.counters["sim_calls_per_s"] = benchmark::Counter(static_cast<double>(calls), benchmark::Counter::kIsRate);
  state.counters["steps_per_s"] = benchmark::Counter(static_cast<double>(tasks), benchmark::Counter::kIsRate);
  state.counters["compression"] = benchmark::Counter(virtual_seconds, benchmark::Counter::kIsRate);
  state.counters["calls_per_run"] = static_cast<double>(calls) / static_cast<double>(state.iterations());
}
void BM_HourOf100AgentsUnder20PercentFaults(benchmark::State& state) { hour_of_100_agents(state, kScenario); }
void BM_HourOf100AgentsUnder20PercentFaultsStreamed(benchmark::State& state) {
  hour_of_100_agents(state, kStreamedScenario);
}
BENCHMARK(BM_HourOf100AgentsUnder20PercentFaults)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();
BENCHMARK(BM_HourOf100AgentsUnder20PercentFaultsStreamed)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
