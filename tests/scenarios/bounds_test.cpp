// Hostile scenario input (issue 19): every size a file can state is bounded at load time
// (keel/scenarios/limits.h), the bounds agree with the JSON Schema, deep nesting and huge keys
// are refused with a short message, and a run turns an exception escaping one of its tasks
// into a failed task instead of terminating. The per-field rejected cases are the
// tests/scenarios/bad/bound_*.json files (checked by loader_test's corpus test).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "keel/scenarios/limits.h"
#include "keel/scenarios/loader.h"
#include "keel/scenarios/runner.h"

namespace keel::scenarios {
namespace {

namespace fs = std::filesystem;
const fs::path kRepo = fs::path(KEEL_SOURCE_DIR);

std::string minimal(const std::string& extra_fields = "", const std::string& workload = R"({"kind": "agents"})") {
  return R"({"keel_scenario": 1, "name": "b", "providers": [{"name": "gpt"}], "workload": )" + workload + extra_fields + "}";
}

std::string nested_arrays(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(ScenarioBoundsTest, SchemaMaximaAreTheLoadersBounds) {
  std::ifstream in(kRepo / "scenarios" / "scenario.schema.json");
  const nlohmann::json schema = nlohmann::json::parse(in);
  const nlohmann::json& defs = schema.at("$defs");
  auto max_of = [&](const nlohmann::json& j) { return j.at("maximum").get<double>(); };
  EXPECT_EQ(max_of(defs.at("provider").at("properties").at("context_window")), limits::kMaxContextWindow);
  EXPECT_EQ(max_of(defs.at("provider").at("properties").at("output_tokens")), limits::kMaxOutputTokens);
  const nlohmann::json& lim = defs.at("provider").at("properties").at("limits").at("properties");
  EXPECT_EQ(max_of(lim.at("requests_per_minute")), limits::kMaxRequestsPerMinute);
  EXPECT_EQ(max_of(lim.at("tokens_per_minute")), limits::kMaxTokensPerMinute);
  EXPECT_EQ(max_of(defs.at("fault").at("properties").at("every_nth")), limits::kMaxFaultCount);
  EXPECT_EQ(max_of(defs.at("retry").at("properties").at("max_attempts")), limits::kMaxAttempts);
  EXPECT_EQ(max_of(defs.at("retry").at("properties").at("multiplier")), limits::kMaxMultiplier);
  EXPECT_EQ(max_of(defs.at("breaker").at("properties").at("size")), limits::kMaxBreakerCalls);
  const nlohmann::json& rt = defs.at("runtime").at("properties");
  const nlohmann::json& limiter = rt.at("rate_limiter").at("oneOf").at(1).at("properties");
  EXPECT_EQ(max_of(limiter.at("requests_per_second")), limits::kMaxRequestsPerSecond);
  EXPECT_EQ(max_of(limiter.at("burst")), limits::kMaxBurst);
  const nlohmann::json& bulkhead = rt.at("bulkhead").at("oneOf").at(1).at("properties");
  EXPECT_EQ(max_of(bulkhead.at("max_concurrent")), limits::kMaxConcurrent);
  EXPECT_EQ(max_of(bulkhead.at("max_queue")), limits::kMaxQueue);
  EXPECT_EQ(max_of(rt.at("context").at("properties").at("token_limit")), limits::kMaxTokenLimit);
  EXPECT_EQ(max_of(defs.at("agents").at("properties").at("count")), limits::kMaxAgents);
  EXPECT_EQ(max_of(defs.at("agents").at("properties").at("steps")), limits::kMaxSteps);
  EXPECT_EQ(max_of(defs.at("agents").at("properties").at("prompt_tokens")), limits::kMaxPromptTokens);
  EXPECT_EQ(max_of(defs.at("agents").at("properties").at("tool_calls_per_step")), limits::kMaxToolCallsPerStep);
  EXPECT_EQ(max_of(defs.at("workforce").at("properties").at("rounds")), limits::kMaxRounds);
  EXPECT_EQ(max_of(defs.at("workforce").at("properties").at("tasks").at("oneOf").at(0)), limits::kMaxTasks);
  EXPECT_EQ(defs.at("workforce").at("properties").at("tasks").at("oneOf").at(1).at("maxItems"), limits::kMaxTasks);
  EXPECT_EQ(max_of(defs.at("expect").at("properties").at("retries_max")), static_cast<double>(limits::kMaxExpectCount));
  EXPECT_EQ(schema.at("properties").at("providers").at("maxItems"), limits::kMaxProviders);
  EXPECT_EQ(defs.at("name").at("maxLength"), limits::kMaxNameBytes);
}

TEST(ScenarioBoundsTest, StreamedTokensInFlightAreBounded) {
  // 1000 streaming agents x 1000 output tokens x (1 + max_extra): 2,000,000 is the bound.
  const auto file = [](int max_extra) {
    return R"({"keel_scenario": 1, "name": "b", "providers": [{"name": "gpt", "output_tokens": 1000}],
               "runtime": {"hedging": {"delay": "1s", "max_extra": )" + std::to_string(max_extra) + R"(}},
               "workload": {"kind": "agents", "count": 1000, "stream": true}})";
  };
  EXPECT_TRUE(load_scenario(file(1))) << load_scenario(file(1)).describe();
  const LoadResult over = load_scenario(file(2));
  ASSERT_EQ(over.errors.size(), 1u) << over.describe();
  EXPECT_EQ(over.errors[0].pointer, "/workload/stream");
  EXPECT_NE(over.errors[0].message.find("1000 x 1000 x 3"), std::string::npos) << over.errors[0].message;
  // The same workload without streaming holds only text: no stream bound.
  std::string unstreamed = file(2);
  unstreamed.replace(unstreamed.find(R"(, "stream": true)"), 16, "");
  EXPECT_TRUE(load_scenario(unstreamed)) << load_scenario(unstreamed).describe();
}

TEST(ScenarioBoundsTest, ValuesAtTheirBoundsAreAccepted) {
  const LoadResult r = load_scenario(
      R"({"keel_scenario": 1, "name": "edge", "horizon": "1000h",
          "providers": [{"name": "gpt", "context_window": 10000000, "output_tokens": 0,
                         "limits": {"requests_per_minute": 100000000, "tokens_per_minute": 1000000000}}],
          "runtime": {"circuit_breaker": {"window": "count", "size": 100000}, "retry": {"max_attempts": 100}},
          "workload": {"kind": "agents", "count": 10000, "steps": 100, "prompt_tokens": 10000}})");
  EXPECT_TRUE(r.ok()) << r.describe();
}

TEST(ScenarioBoundsTest, MessagesNameTheBound) {
  const LoadResult r = load_scenario(minimal(R"(, "horizon": "1001h")",
                                             R"({"kind": "agents", "count": 10000, "steps": 1000})"));
  ASSERT_FALSE(r.ok());
  const std::string all = r.describe();
  EXPECT_NE(all.find("/horizon: expected a duration <= 1000h"), std::string::npos) << all;
  EXPECT_NE(all.find("/workload/steps: expected count x steps <= 1000000 (the run's tasks), found 10000 x 1000"),
            std::string::npos)
      << all;
  const LoadResult window = load_scenario(R"({"keel_scenario": 1, "name": "w", "workload": {"kind": "agents"},
      "providers": [{"name": "gpt", "context_window": 4294967297}]})");
  EXPECT_NE(window.describe().find("/providers/0/context_window: expected an integer in 1..10000000, found 4294967297"),
            std::string::npos)
      << window.describe();
}

TEST(ScenarioBoundsTest, NestingIsBoundedAt64Levels) {
  // 63 arrays under an object key: 64 levels with the document; an unknown field, no more.
  const LoadResult ok_depth = load_scenario(minimal(R"(, "zz": )" + nested_arrays(63)));
  ASSERT_EQ(ok_depth.errors.size(), 1u) << ok_depth.describe();
  EXPECT_EQ(ok_depth.errors[0].pointer, "/zz");
  const LoadResult too_deep = load_scenario(minimal(R"(, "zz": )" + nested_arrays(64)));
  ASSERT_EQ(too_deep.errors.size(), 1u) << too_deep.describe();
  EXPECT_NE(too_deep.errors[0].message.find("at most 64 levels"), std::string::npos);
  // Far deeper than any stack: refused the same way, never a crash.
  const LoadResult hostile = load_scenario(minimal(R"(, "zz": )" + nested_arrays(1'000'000)));
  ASSERT_EQ(hostile.errors.size(), 1u);
  EXPECT_EQ(hostile.errors[0].pointer.substr(0, 5), "/zz/0");
}

TEST(ScenarioBoundsTest, AFileOverTheSizeBoundIsOneErrorAtTheRoot) {
  std::string big = minimal(R"(, "description": ")" + std::string(limits::kMaxFileBytes, 'x') + "\"");
  const LoadResult r = load_scenario(big);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].pointer, "");
  EXPECT_NE(r.errors[0].message.find("at most 8388608 bytes"), std::string::npos) << r.errors[0].message;
}

TEST(ScenarioBoundsTest, AHugeUnknownKeyIsNotEchoedWhole) {
  const std::string key(10u << 20 >> 3, 'k');  // 1.25 MB: within the file bound
  const LoadResult r = load_scenario(minimal(", \"" + key + "\": 1"));
  ASSERT_EQ(r.errors.size(), 1u);
  const std::string shown = r.describe();
  EXPECT_LT(shown.size(), 1000u) << shown.substr(0, 400);
  EXPECT_NE(shown.find("unknown field \"kkk"), std::string::npos);
  EXPECT_NE(shown.find("...: unknown field"), std::string::npos) << "the pointer is cut visibly";
}

TEST(ScenarioBoundsTest, AFaultWindowFromTheHorizonOnIsAnError) {
  const LoadResult r = load_scenario(minimal(R"(, "horizon": "10m", "faults": [
      {"target": "gpt", "kind": "hang", "from": "9m"}, {"target": "gpt", "kind": "hang", "from": "10m"}])"));
  ASSERT_EQ(r.errors.size(), 1u) << r.describe();
  EXPECT_EQ(r.errors[0].pointer, "/faults/1/from");
  EXPECT_NE(r.errors[0].message.find("before the horizon (\"10m\")"), std::string::npos) << r.errors[0].message;
}

TEST(ScenarioBoundsTest, ListMessagesReadAsSentences) {
  const LoadResult r = load_scenario(minimal(R"(, "faults": [{"target": "tool:search", "kind": "error"}])"));
  ASSERT_EQ(r.errors.size(), 1u) << r.describe();
  EXPECT_NE(r.errors[0].message.find("(no tools are defined)"), std::string::npos) << r.errors[0].message;
}

// ---- the runner -------------------------------------------------------------------------------

Scenario agents(std::int64_t count, std::int64_t steps) {
  Scenario s;
  s.name = "built_in_code";
  s.providers = {Provider{.name = "gpt"}};
  s.workload = AgentsWorkload{.count = count, .steps = steps};
  return s;
}

TEST(ScenarioBoundsTest, AnExceptionInATaskFailsThatTaskAndTheRunGoesOn) {
  // Beyond the loader's bounds (a Scenario built in code): padding the prompt throws
  // std::length_error inside each agent's task. Before: "terminate called".
  Scenario s = agents(2, 2);
  std::get<AgentsWorkload>(s.workload).prompt_tokens = 2'000'000'000'000'000'000;
  const Result<RunReport> r = run_scenario(s);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->tasks.total, 4);
  EXPECT_EQ(r->tasks.failed, 4);
  EXPECT_EQ(r->task_errors.count, 4);
  ASSERT_EQ(r->task_errors.first.size(), 4u);
  EXPECT_EQ(r->task_errors.first[0].rfind("agent 1 step 1: ", 0), 0u) << r->task_errors.first[0];
  EXPECT_EQ(to_json(*r).at("task_errors").at("count"), 4);
}

TEST(ScenarioBoundsTest, AValueThatDoesNotFitTheRuntimeIsRefusedNotNarrowed) {
  // Before: context_window 2^32 + 1 became 1 and the run went ahead with a 1-token window.
  Scenario s = agents(1, 1);
  s.providers[0].context_window = 4'294'967'297;
  const Result<RunReport> r = run_scenario(s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("context_window 4294967297 does not fit"), std::string::npos) << r.error().message;
}

TEST(ScenarioBoundsTest, ARuntimeValueThatDoesNotFitThePresetsFieldsIsRefused) {
  // Before: a breaker size of 2^32 + 5 became 5 in the preset's uint32 field.
  Scenario s = agents(1, 1);
  s.runtime.circuit_breaker = Override<BreakerSettings>::of(BreakerSettings{.size = 4'294'967'301});
  const Result<RunReport> r = run_scenario(s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("circuit_breaker.size 4294967301 does not fit"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace keel::scenarios
