// AgentWorker and ToolWorker over the simulator's mock provider and tool: concurrent tasks on
// one agent worker (a pool of agents, not "a step is already running"), prompts carrying the
// upstream outputs, per-worker model chains, and tool attempts as separate tool calls.
#include <gtest/gtest.h>

#include "keel/agent/toolkit.h"
#include "keel/core/spawn.h"
#include "keel/model/model_manager.h"
#include "keel/model/token_counter.h"
#include "keel/sim/mock_provider.h"
#include "keel/sim/mock_tool.h"
#include "keel/sim/simulator.h"
#include "keel/workforce/agent_worker.h"
#include "keel/workforce/tool_worker.h"
#include "keel/workforce/workforce.h"

namespace keel::workforce {
namespace {

using namespace std::chrono_literals;

TEST(AgentWorkerTest, ConcurrentTasksGetTheirOwnAgents) {
  sim::Simulator sim;
  sim::MockProvider gpt{sim, {.name = "gpt", .latency = sim::LatencyModel::fixed(1s)}, Rng{1}};
  model::ModelManager chain{{}, {&gpt}, Rng{2}};
  model::ApproxTokenCounter counter;
  AgentWorker writer{"writer", chain, nullptr, counter};
  Workforce wf{{&writer}, {{.id = "a", .input = "one"}, {.id = "b", .input = "two"}, {.id = "c", .depends_on = {"a", "b"}}}, {}, Rng{3}};
  spawn(sim, wf.run());
  sim.run_until_idle();
  EXPECT_EQ(wf.counts().done, 3u);
  EXPECT_EQ(writer.agents().size(), 2u);  // a and b ran at once; c reused an idle agent
  EXPECT_EQ(gpt.stats().requests, 3u);
  EXPECT_EQ(sim.now(), TimePoint{2s});
  EXPECT_FALSE(wf.outcomes()[2].output.empty());
}

// `down` never answers: only the agent's step timeout ends a request to it.
struct HangEverything final : sim::FaultHook {
  std::optional<sim::InjectedFault> decide(std::string_view, TimePoint, std::uint64_t) override {
    return sim::InjectedFault{.kind = sim::FaultKind::hang};
  }
};

TEST(AgentWorkerTest, EachWorkerHasItsOwnChain) {
  sim::Simulator sim;
  HangEverything hang;
  sim::MockProvider down{sim, {.name = "down", .latency = sim::LatencyModel::fixed(1s)}, Rng{1}, &hang};
  sim::MockProvider up{sim, {.name = "up", .latency = sim::LatencyModel::fixed(1s)}, Rng{2}};
  model::ModelManager down_chain{{.retry = {.max_attempts = 1}}, {&down}, Rng{3}};
  model::ModelManager up_chain{{}, {&up}, Rng{4}};
  model::ApproxTokenCounter counter;
  AgentWorker stuck{"stuck", down_chain, nullptr, counter, nullptr, {.step_timeout = 5s}};
  AgentWorker fine{"fine", up_chain, nullptr, counter};
  Workforce wf{{&stuck, &fine}, {{.id = "a"}},
               {.failure = {.max_retries = 1, .strategy = RecoveryStrategy::fallback, .fallback_workers = {"fine"}}}, Rng{5}};
  spawn(sim, wf.run());
  sim.run_until_idle();
  EXPECT_EQ(wf.counts().done, 1u);
  EXPECT_EQ(wf.outcomes()[0].workers, (std::vector<std::string>{"stuck", "fine"}));
  EXPECT_EQ(down.stats().requests, 1u);
  EXPECT_EQ(up.stats().requests, 1u);
  EXPECT_EQ(sim.now(), TimePoint{6s});  // released at the 5 s step timeout, then 1 s on `up`
}

TEST(ToolWorkerTest, EveryAttemptIsItsOwnToolCall) {
  sim::Simulator sim;
  sim::MockTool fetch{sim, {.name = "fetch", .latency = sim::LatencyModel::fixed(100ms)}, Rng{1}};
  agent::Toolkit toolkit;
  toolkit.add(fetch);
  agent::ToolRunner runner{toolkit, {}, Rng{2}};
  ToolWorker fetcher{"fetcher", runner, "fetch"};
  Workforce wf{{&fetcher}, {{.id = "a", .input = "payload"}, {.id = "b", .depends_on = {"a"}}}, {}, Rng{3}};
  spawn(sim, wf.run());
  sim.run_until_idle();
  EXPECT_EQ(wf.counts().done, 2u);
  EXPECT_EQ(fetch.stats().executions, 2u);
  EXPECT_EQ(fetch.stats().max_per_call(), 1u);
  EXPECT_NE(wf.outcomes()[0].output.find("a#0.1"), std::string::npos);
}

// `fetch` fails on every execution.
struct FailEverything final : sim::FaultHook {
  std::optional<sim::InjectedFault> decide(std::string_view, TimePoint, std::uint64_t) override {
    return sim::InjectedFault{.kind = sim::FaultKind::tool_error};
  }
};

// Regression: with max_retries 2 an idempotent tool that always fails ran 9 times (3 task
// attempts x 3 runner attempts). The workforce owns the retries: at most 1 + max_retries.
TEST(ToolWorkerTest, RetriesHappenAtOneLayerOnly) {
  sim::Simulator sim;
  FailEverything fail;
  sim::MockTool fetch{sim, {.name = "fetch", .latency = sim::LatencyModel::fixed(100ms), .idempotent = true}, Rng{1},
                      &fail};
  agent::Toolkit toolkit;
  toolkit.add(fetch);
  agent::ToolRunner runner{toolkit, {}, Rng{2}};
  ToolWorker fetcher{"fetcher", runner, "fetch"};
  Workforce wf{{&fetcher}, {{.id = "a", .input = "payload"}}, {.failure = {.max_retries = 2}}, Rng{3}};
  spawn(sim, wf.run());
  sim.run_until_idle();
  EXPECT_EQ(wf.counts().failed, 1u);
  EXPECT_EQ(fetch.stats().executions, 3u);
  EXPECT_EQ(runner.counters().retries, 0u);
  EXPECT_EQ(wf.counters().attempts, 3u);
}

}  // namespace
}  // namespace keel::workforce
