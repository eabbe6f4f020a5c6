// keel/sim/mock_tool.h — a simulated tool: latency, deterministic results, injected faults.
//
// Purpose: stands in for a scenario's `tools` (scenarios/FORMAT.md, Tool and Fault) so the
// agent's tool path — timeouts, retries of idempotent tools only, "maybe executed" — runs in
// virtual time, and counts executions so `expect.tool_executions` (`max`, `max_per_call`) can
// be checked.
//
// Contract — `invoke(arguments)`, for every execution (the ToolRunner's retries included):
//  - Counts the execution before anything can fail (a hung, failed or cancelled execution
//    still counts: it may have had side effects). Per requested call: the `"call_id"` string
//    field of the arguments (ScriptedResponder writes `{"call_id":"<tool call id>"}`, and the
//    agent passes a call's arguments unchanged to every attempt of it); executions whose
//    arguments carry no call_id are counted in `untracked` only.
//  - Draws its latency (one draw per execution), asks the fault hook once with target
//    "tool:<name>" and the 0-based execution index, emits "tool.request" {tool, index, call_id,
//    fault}. Then: hang → waits for cancellation only; slow → latency + extra_latency (drawn
//    from a separate substream); any other fault kind → ErrorCode::tool_error after the
//    latency; no fault → after the latency, `{"tool":"<name>","call":<index>}` (plus
//    `"call_id"` when the arguments had one).
//  - Cancellation ends a wait at once with ErrorCode::cancelled. Every end emits
//    "tool.response" {tool, index, ok, code (failures), latency}.
//  - The tool belongs to one scheduler and must outlive its in-flight executions.
//
// Example:
//   MockTool search{sim, {.name = "search", .latency = LatencyModel::fixed(100ms)}, rng, &plan};
//   Result<std::string> r = co_await search.invoke(R"({"call_id":"call_gpt_0_0"})");
//   // at +100ms: {"tool":"search","call":0,"call_id":"call_gpt_0_0"}
//   EXPECT_EQ(search.stats().max_per_call(), 1u);
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "keel/agent/tool.h"
#include "keel/core/event.h"
#include "keel/core/rng.h"
#include "keel/core/scheduler.h"
#include "keel/sim/call_counter.h"
#include "keel/sim/fault_hook.h"
#include "keel/sim/latency.h"

namespace keel::sim {

struct MockToolConfig {
  std::string name;
  LatencyModel latency = LatencyModel::fixed(std::chrono::milliseconds{100});
  bool idempotent = false;
};

struct MockToolStats {
  std::uint64_t executions = 0;  // every invoke()
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;    // tool_error and cancelled
  std::uint64_t faults_injected = 0;
  std::uint64_t untracked = 0;   // executions without a call_id
  std::array<std::uint64_t, kErrorCodes.size()> failures_by_code{};
  std::uint64_t most_per_call = 0;  // the largest count in per_call
  CallCounter per_call;              // call_id -> executions

  std::uint64_t failures_of(ErrorCode c) const noexcept { return failures_by_code[static_cast<std::size_t>(c)]; }
  std::uint64_t executions_of(std::string_view call_id) const noexcept { return per_call.count(call_id); }
  // The most executions any one requested call got (0 if none was tracked).
  std::uint64_t max_per_call() const noexcept { return most_per_call; }
  void count_execution(std::string_view call_id) { most_per_call = std::max(most_per_call, per_call.add(call_id)); }
};

class MockTool final : public agent::Tool {
 public:
  // `faults` and `events` may be null and must outlive the tool. Throws std::invalid_argument
  // for an empty name.
  MockTool(Scheduler& scheduler, MockToolConfig config, Rng rng, FaultHook* faults = nullptr,
           EventSink* events = nullptr);

  const model::ToolSpec& spec() const noexcept override { return spec_; }
  const agent::ToolOptions& options() const noexcept override { return options_; }
  Task<Result<std::string>> invoke(std::string arguments_json) override;

  const MockToolConfig& config() const noexcept { return config_; }
  const MockToolStats& stats() const noexcept { return stats_; }
  // "tool:<name>", the fault-hook target.
  const std::string& target() const noexcept { return target_; }

 private:
  Result<std::string> finish(std::uint64_t index, TimePoint started, Result<std::string> r);

  Scheduler& scheduler_;
  MockToolConfig config_;
  std::string target_;
  model::ToolSpec spec_;
  agent::ToolOptions options_;
  Rng latency_rng_;
  Rng extra_rng_;
  FaultHook* faults_;
  EventSink* events_;
  MockToolStats stats_;
};

}  // namespace keel::sim
