// keel serve means what the simulator means: the same seeded fault decisions, the scripted
// model's tool calls in each API's wire shape (so `keel run --live` can drive tool workloads).
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "keel/faults/fault_plan.h"
#include "wire_client.h"

namespace keel::live::serve::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

TEST(ServeFidelity, ProbabilisticFaultsHitTheRequestsTheFaultPlanPicks) {
  const std::string text = R"({"keel_scenario": 1, "name": "p", "seed": 42,
    "providers": [{"name": "gpt", "latency": {"fixed": "10ms"}}],
    "faults": [{"target": "gpt", "kind": "server_error", "status": 500, "probability": 0.5}],
    "workload": {"kind": "agents"}})";
  const scenarios::Scenario sc = load_scenario_text(text);
  faults::FaultPlan plan{sc.faults, sc.seed, sc.horizon};
  std::vector<int> expected, seen;
  ServedScenario s{text, ServeOptions{.time_scale = 0.1}};
  WireClient c{s.port()};
  for (int i = 0; i < 24; ++i) {
    expected.push_back(plan.next("gpt", TimePoint{}) ? 500 : 200);
    seen.push_back(c.post("/gpt/v1/chat/completions", R"({"messages": [{"role": "user", "content": "hi"}]})", 3s).status);
  }
  EXPECT_EQ(seen, expected);
  EXPECT_NE(std::count(seen.begin(), seen.end(), 500), 0);
  EXPECT_NE(std::count(seen.begin(), seen.end(), 200), 0);
}

constexpr const char* kToolScenario = R"({"keel_scenario": 1, "name": "tools",
  "providers": [{"name": "gpt", "latency": {"fixed": "10ms"}},
                {"name": "claude", "api": "anthropic", "latency": {"fixed": "10ms"}}],
  "tools": [{"name": "search"}, {"name": "fetch"}],
  "workload": {"kind": "agents", "tool_calls_per_step": 2}})";

TEST(ServeFidelity, OpenAiToolCallsFollowTheScriptedModel) {
  ServedScenario s{kToolScenario, ServeOptions{.time_scale = 0.1}};
  WireClient c{s.port()};
  const std::string ask = R"({"messages": [{"role": "user", "content": "find it"}],
    "tools": [{"type": "function", "function": {"name": "search"}}, {"type": "function", "function": {"name": "fetch"}}]})";
  const json b = json::parse(c.post("/gpt/v1/chat/completions", ask, 3s).body);
  EXPECT_EQ(b["choices"][0]["finish_reason"], "tool_calls");
  const json& calls = b["choices"][0]["message"]["tool_calls"];
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["type"], "function");
  EXPECT_EQ(calls[0]["function"]["name"], "search");
  EXPECT_EQ(calls[1]["function"]["name"], "fetch");
  EXPECT_EQ(json::parse(calls[0]["function"]["arguments"].get<std::string>())["call_id"], calls[0]["id"]);
  // After the tool results come back, the model gives its final answer.
  const std::string follow_up = R"({"messages": [{"role": "user", "content": "find it"},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "search", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "found"}],
    "tools": [{"type": "function", "function": {"name": "search"}}]})";
  const json done = json::parse(c.post("/gpt/v1/chat/completions", follow_up, 3s).body);
  EXPECT_EQ(done["choices"][0]["finish_reason"], "stop");
}

TEST(ServeFidelity, AnthropicToolUseBlocksStreamAsInputJsonDeltas) {
  ServedScenario s{kToolScenario, ServeOptions{.time_scale = 0.1}};
  WireClient c{s.port()};
  const std::string ask = R"({"max_tokens": 100, "messages": [{"role": "user", "content": "find it"}],
    "tools": [{"name": "search", "input_schema": {"type": "object"}}, {"name": "fetch", "input_schema": {"type": "object"}}]})";
  const json b = json::parse(c.post("/claude/v1/messages", ask, 3s).body);
  EXPECT_EQ(b["stop_reason"], "tool_use");
  ASSERT_EQ(b["content"].size(), 2u);
  EXPECT_EQ(b["content"][0]["type"], "tool_use");
  EXPECT_EQ(b["content"][0]["name"], "search");
  EXPECT_EQ(b["content"][0]["input"]["call_id"], b["content"][0]["id"]);

  json streamed = json::parse(ask);
  streamed["stream"] = true;
  const WireResult r = c.post("/claude/v1/messages", streamed.dump(), 3s);
  ASSERT_EQ(r.end, WireResult::End::complete);
  int tool_starts = 0, json_deltas = 0;
  for (std::size_t at = 0; (at = r.body.find("data: ", at)) != std::string::npos;) {
    const std::size_t end = r.body.find("\n\n", at);
    const json data = json::parse(r.body.substr(at + 6, end - at - 6));
    if (data["type"] == "content_block_start" && data["content_block"]["type"] == "tool_use") ++tool_starts;
    if (data["type"] == "content_block_delta" && data["delta"]["type"] == "input_json_delta") {
      ++json_deltas;
      EXPECT_TRUE(json::parse(data["delta"]["partial_json"].get<std::string>()).contains("call_id"));
    }
    if (data["type"] == "message_delta") {
      EXPECT_EQ(data["delta"]["stop_reason"], "tool_use");
    }
    at = end;
  }
  EXPECT_EQ(tool_starts, 2);
  EXPECT_EQ(json_deltas, 2);
}

}  // namespace
}  // namespace keel::live::serve::testing
