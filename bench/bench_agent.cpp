// bench_agent — simulated agent steps per second of wall time: each step is one model call
// that asks for one tool call, the tool call, and a second model call with the final answer,
// through the real ChatAgent, ModelManager (retry, breaker, budget, timeouts) and ToolRunner,
// on the simulator with a mock provider and a mock tool.
#include <benchmark/benchmark.h>

#include "keel/agent/chat_agent.h"
#include "keel/agent/tool_runner.h"
#include "keel/agent/toolkit.h"
#include "keel/core/spawn.h"
#include "keel/model/model_manager.h"
#include "keel/model/token_counter.h"
#include "keel/sim/mock_provider.h"
#include "keel/sim/mock_tool.h"
#include "keel/sim/simulator.h"

namespace {

using namespace keel;
using namespace std::chrono_literals;

keel::Task<void> run_steps(agent::ChatAgent& agent, std::int64_t steps, std::int64_t* ok) {
  for (std::int64_t i = 0; i < steps; ++i) {
    auto r = co_await agent.step("what is the weather?");
    if (r) ++*ok;
  }
}

// `stream`: every model request streams through the shared stream decoder and the stream
// policies (50 tokens, 10 ms apart), the tool call as one more event.
void agent_steps(benchmark::State& state, bool stream) {
  sim::Simulator sim;
  sim::MockProvider provider{sim,
                             {.name = "p",
                              .latency = sim::LatencyModel::fixed(300ms),
                              .output_tokens = 50,
                              .token_interval = stream ? Duration{10ms} : Duration{}},
                             Rng{1},
                             nullptr,
                             nullptr,
                             sim::ScriptedResponder{{.tool_calls_per_step = 1, .tools = {"search"}}}};
  sim::MockTool tool{sim, {.name = "search", .latency = sim::LatencyModel::fixed(50ms)}, Rng{2}};
  agent::Toolkit toolkit;
  toolkit.add(tool);
  agent::ToolRunner runner{toolkit, {}, Rng{3}};
  model::ModelManagerConfig cfg;
  model::ModelManager manager{cfg, {&provider}, Rng{4}};
  model::ApproxTokenCounter counter;
  agent::ChatAgent agent{manager, &runner, counter, nullptr, {.keep_history = false, .stream = stream}};
  std::int64_t ok = 0;
  const std::int64_t per_iteration = 100;
  for (auto _ : state) {
    spawn(sim, run_steps(agent, per_iteration, &ok));
    sim.run_until_idle();
  }
  if (ok != state.iterations() * per_iteration) state.SkipWithError("a step failed");
  state.SetItemsProcessed(state.iterations() * per_iteration);
  state.counters["virtual_s_per_wall_s"] = benchmark::Counter(
      static_cast<double>(sim.now().time_since_epoch().count()) / 1e9, benchmark::Counter::kIsRate);
}
void BM_AgentStepWithOneToolCall(benchmark::State& state) { agent_steps(state, false); }
void BM_AgentStepWithOneToolCallStreamed(benchmark::State& state) { agent_steps(state, true); }
BENCHMARK(BM_AgentStepWithOneToolCall)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AgentStepWithOneToolCallStreamed)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
