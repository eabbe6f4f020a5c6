// The runtime configuration a service loads (keel/config/config_file.h) and the presets
// (keel/config/presets.h): the loader's strictness (every error at its JSON pointer), the
// scenario file form, the format 1.1 client limits, the effective view's origins, block_of's
// round trip, and — for every suite scenario — the same configuration `keel run` builds.
#include "keel/config/config_file.h"

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "keel/config/limits.h"
#include "keel/scenarios/loader.h"
#include "keel/scenarios/resolve_runtime.h"

namespace keel::config {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

bool has_error(const RuntimeBlockLoad& r, std::string_view pointer, std::string_view text = "") {
  for (const ValidationError& e : r.errors) {
    if (e.pointer == pointer && e.message.find(text) != std::string::npos) return true;
  }
  return false;
}

// What a file field decides, comparable: the complete block a configuration corresponds to.
nlohmann::ordered_json file_fields(const RuntimeConfig& c) { return to_json(block_of(c)); }

TEST(Presets, KeelDefaultHasTheDocumentedValues) {
  const RuntimeConfig c = keel_default();
  EXPECT_EQ(c.manager.attempt_timeout, 30s);
  EXPECT_EQ(c.manager.call_timeout, 120s);
  ASSERT_TRUE(c.manager.breaker);
  EXPECT_EQ(c.manager.breaker->size, 20u);
  EXPECT_EQ(c.manager.breaker->min_calls, 10u);
  EXPECT_EQ(c.manager.breaker->open_for, 20s);
  EXPECT_EQ(c.manager.breaker->open_growth, 1.0);
  EXPECT_EQ(c.manager.breaker->half_open_calls, 3u);
  EXPECT_EQ(c.manager.breaker->half_open_max_in_flight, 1u);
  ASSERT_TRUE(c.manager.budget);
  EXPECT_EQ(c.manager.budget->max_tokens, 100);
  EXPECT_EQ(c.agent.step_timeout, 300s);
  EXPECT_EQ(c.tool_timeout, 30s);
  EXPECT_TRUE(c.limits.empty());
  EXPECT_FALSE(c.quota_mistaken_for_overflow);
}

TEST(Presets, TheLibraryDefaultsAreNotKeelDefault) {
  // The headers say so; this keeps them honest: if the defaults ever become keel_default,
  // the comments in model_manager.h, circuit_breaker.h, retry_budget.h, chat_agent.h go too.
  const model::ModelManagerConfig plain;
  EXPECT_NE(plain.attempt_timeout, keel_default().manager.attempt_timeout);
  EXPECT_NE(plain.breaker->min_calls, keel_default().manager.breaker->min_calls);
}

TEST(ConfigFile, ABareBlockResolvesOntoItsPreset) {
  const RuntimeBlockLoad r = load_runtime_block(
      R"({"preset": "camel_parity", "retry": {"max_attempts": 5}, "timeouts": {"attempt": "20s", "call": null}})", "svc.json");
  ASSERT_TRUE(r) << r.describe();
  EXPECT_TRUE(r.providers.empty());
  const RuntimeConfig c = resolve(r.value());
  EXPECT_EQ(c.manager.retry.max_attempts, 5);
  EXPECT_EQ(c.manager.attempt_timeout, 20s);
  EXPECT_FALSE(c.manager.call_timeout);
  EXPECT_FALSE(c.manager.breaker);  // camel_parity's
  EXPECT_EQ(c.tool_timeout, 180s);  // camel_parity's
  EXPECT_TRUE(c.models.empty());
  // --preset replaces only the base.
  const RuntimeConfig k = resolve(r.value(), Preset::keel_default);
  EXPECT_EQ(k.manager.retry.max_attempts, 5);
  EXPECT_TRUE(k.manager.breaker);
}

TEST(ConfigFile, EveryErrorAtItsPointer) {
  const RuntimeBlockLoad r = load_runtime_block(
      R"({"retry": {"max_attempts": 0, "jitter": "ful"}, "circuit_breaker": {"min_cals": 3}, "presett": "x",
          "timeouts": {"attempt": "30 s"}})");
  ASSERT_FALSE(r);
  EXPECT_TRUE(has_error(r, "/retry/max_attempts"));
  EXPECT_TRUE(has_error(r, "/retry/jitter", "did you mean \"full\""));
  EXPECT_TRUE(has_error(r, "/circuit_breaker/min_cals", "min_calls"));
  EXPECT_TRUE(has_error(r, "/presett"));
  EXPECT_TRUE(has_error(r, "/timeouts/attempt"));
  EXPECT_EQ(r.errors.size(), 5u) << r.describe();
  EXPECT_FALSE(r.block);
}

TEST(ConfigFile, SyntaxErrorsAndDuplicateKeys) {
  const RuntimeBlockLoad bad = load_runtime_block("{\n  \"retry\": {\"max_attempts\": 3,}\n}");
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(bad.errors[0].line, 2);
  const RuntimeBlockLoad dup = load_runtime_block(R"({"retry": {"max_attempts": 3, "max_attempts": 4}})");
  EXPECT_TRUE(has_error(dup, "/retry/max_attempts", "duplicate key"));
  EXPECT_TRUE(has_error(load_runtime_block("[1]"), "", "a runtime block or a scenario file"));
  EXPECT_TRUE(has_error(load_runtime_block_file("/nonexistent/runtime.json"), "", "cannot open"));
}

TEST(ConfigFile, AScenarioFileGivesItsRuntimeAndItsProviders) {
  const char* text = R"({"keel_scenario": 1, "name": "x", "providers": [{"name": "a"}, {"name": "b"}],
                         "workload": {"kind": "agents"}, "runtime": {"models": ["b", "c"], "hedging": {"delay": "2s"}}})";
  const RuntimeBlockLoad r = load_runtime_block(text, "s.json");
  EXPECT_TRUE(has_error(r, "/runtime/models/1", "\"a\", \"b\"")) << r.describe();
  const RuntimeBlockLoad ok = load_runtime_block(
      R"({"keel_scenario": 1, "providers": [{"name": "a"}, {"name": "b"}], "runtime": {"hedging": {"delay": "2s"}}})");
  ASSERT_TRUE(ok) << ok.describe();
  EXPECT_EQ(ok.providers, (std::vector<std::string>{"a", "b"}));
  const RuntimeConfig c = resolve(ok.value(), std::nullopt, ok.providers);
  EXPECT_EQ(c.models, ok.providers);
  ASSERT_TRUE(c.manager.hedging);
  EXPECT_EQ(c.manager.hedging->delay, 2s);
}

TEST(ConfigFile, ClientLimits) {
  const RuntimeBlockLoad r = load_runtime_block(
      R"({"rate_limiter": {"requests_per_second": 0.5, "burst": 2, "max_wait": "5s"}, "bulkhead": {"max_concurrent": 4, "max_queue": 8}})");
  ASSERT_TRUE(r) << r.describe();
  const RuntimeConfig c = resolve(r.value());
  ASSERT_TRUE(c.limits.rate_limiter);
  EXPECT_EQ(c.limits.rate_limiter->requests_per_minute, 30);
  EXPECT_EQ(c.limits.rate_limiter->request_burst, 2);
  EXPECT_EQ(c.limits.rate_limiter->max_delay, 5s);
  ASSERT_TRUE(c.limits.bulkhead);
  EXPECT_EQ(c.limits.bulkhead->max_concurrent, 4);
  EXPECT_EQ(c.limits.bulkhead->max_queue, 8);
  const RuntimeBlockLoad bad = load_runtime_block(
      R"({"rate_limiter": {"requests_per_second": 0.01, "brust": 1}, "bulkhead": {"max_concurrent": 0}})");
  EXPECT_TRUE(has_error(bad, "/rate_limiter/requests_per_second", "whole number"));
  EXPECT_TRUE(has_error(bad, "/rate_limiter/brust", "burst"));
  EXPECT_TRUE(has_error(bad, "/bulkhead/max_concurrent"));
  EXPECT_TRUE(has_error(load_runtime_block(R"({"bulkhead": {}})"), "/bulkhead/max_concurrent", "required"));
  EXPECT_TRUE(has_error(load_runtime_block(R"({"rate_limiter": true})"), "/rate_limiter", "false or"));
  const RuntimeBlockLoad off = load_runtime_block(R"({"rate_limiter": false, "bulkhead": false})");
  ASSERT_TRUE(off);
  EXPECT_TRUE(resolve(off.value()).limits.empty());
}

TEST(ConfigFile, ABareBlockHasTheScenarioLoadersBounds) {
  // keel/config/limits.h: the same bounds as a scenario's runtime block, at the same pointers.
  const RuntimeBlockLoad big = load_runtime_block(
      R"({"retry": {"max_attempts": 101, "multiplier": 100.5}, "timeouts": {"attempt": "1001h"},
          "circuit_breaker": {"min_calls": 100001}, "hedging": {"delay": "1s", "max_extra": 17},
          "context": {"token_limit": 10000001},
          "rate_limiter": {"requests_per_second": 1000001, "burst": 1000001},
          "bulkhead": {"max_concurrent": 1000001, "max_queue": 1000001}})");
  EXPECT_TRUE(has_error(big, "/retry/max_attempts", "1..100"));
  EXPECT_TRUE(has_error(big, "/retry/multiplier", "(0, 100]"));
  EXPECT_TRUE(has_error(big, "/timeouts/attempt", "1000h"));
  EXPECT_TRUE(has_error(big, "/circuit_breaker/min_calls", "1..100000"));
  EXPECT_TRUE(has_error(big, "/hedging/max_extra", "1..16"));
  EXPECT_TRUE(has_error(big, "/context/token_limit", "1..10000000"));
  EXPECT_TRUE(has_error(big, "/rate_limiter/requests_per_second", "<= 1000000"));
  EXPECT_TRUE(has_error(big, "/rate_limiter/burst", "1..1000000"));
  EXPECT_TRUE(has_error(big, "/bulkhead/max_concurrent", "1..1000000"));
  EXPECT_TRUE(has_error(big, "/bulkhead/max_queue", "0..1000000"));
  const RuntimeBlockLoad edge = load_runtime_block(
      R"({"rate_limiter": {"requests_per_second": 1000000, "burst": 1000000},
          "bulkhead": {"max_concurrent": 1000000, "max_queue": 1000000}})");
  EXPECT_TRUE(edge) << edge.describe();
  // The document: nesting and size are checked before a DOM is built.
  const std::string deep = R"({"models": )" + std::string(70, '[') + std::string(70, ']') + "}";
  std::string deep_pointer = "/models";
  for (int i = 0; i < 63; ++i) deep_pointer += "/0";  // the object, then 63 arrays: the 64th is refused
  EXPECT_TRUE(has_error(load_runtime_block(deep), deep_pointer, "at most 64 levels"));
  const std::string huge = R"js({"preset": "keel_default", "x": ")js" + std::string(limits::kMaxFileBytes, 'x') + "\"}";
  EXPECT_TRUE(has_error(load_runtime_block(huge), "", "a configuration file of at most 8388608 bytes"));
}

TEST(ConfigFile, BlockOfResolvesBackToTheSameFileFieldsUnderEitherPreset) {
  const RuntimeBlockLoad r = load_runtime_block(
      R"({"models": ["x", "y"], "scheduling": "random", "retry": {"retry_on": ["timeout"], "budget": false},
          "circuit_breaker": {"window": "time", "duration": "30s", "slow_call": {"duration": "5s", "rate": 0.5}},
          "timeouts": {"step": null}, "context": {"token_limit": 4000, "on_overflow": "truncate"},
          "hedging": {"delay": "1s", "max_extra": 2}, "rate_limiter": {"requests_per_second": 7, "burst": 3},
          "bulkhead": {"max_concurrent": 2}})");
  ASSERT_TRUE(r) << r.describe();
  for (Preset base : {Preset::keel_default, Preset::camel_parity}) {
    const RuntimeConfig c = resolve(r.value(), base);
    const RuntimeBlock full = block_of(c);
    for (Preset other : {Preset::keel_default, Preset::camel_parity}) {
      EXPECT_EQ(file_fields(resolve(full, other)), file_fields(c)) << to_string(base) << " -> " << to_string(other);
    }
    // And the written form loads back to the same block.
    const RuntimeBlockLoad again = load_runtime_block(to_json(full).dump());
    ASSERT_TRUE(again) << again.describe();
    EXPECT_EQ(again.value(), full);
  }
  for (Preset p : {Preset::keel_default, Preset::camel_parity}) {
    EXPECT_EQ(file_fields(resolve(block_of(preset_config(p)), p == Preset::keel_default ? Preset::camel_parity : Preset::keel_default)),
              file_fields(preset_config(p)));
  }
}

TEST(ConfigFile, EffectiveValuesSayWhereTheyCameFrom) {
  const RuntimeBlockLoad r = load_runtime_block(R"({"preset": "camel_parity", "circuit_breaker": {"min_calls": 5}})");
  ASSERT_TRUE(r);
  const nlohmann::ordered_json e = effective_json(r.value(), std::nullopt, "svc.json");
  EXPECT_EQ(e["preset"], "camel_parity");
  EXPECT_EQ(e["runtime"]["circuit_breaker"]["min_calls"], 5);
  EXPECT_EQ(e["runtime"]["circuit_breaker"]["size"], 20);  // completed from keel_default's breaker
  std::map<std::string, std::string> from;
  for (const auto& v : e["values"]) from[v["field"].get<std::string>()] = v["from"].get<std::string>();
  EXPECT_EQ(from["/preset"], "file");
  EXPECT_EQ(from["/circuit_breaker/min_calls"], "file");
  EXPECT_EQ(from["/circuit_breaker/size"], "keel_default");
  EXPECT_EQ(from["/circuit_breaker/open_growth"], "keel_default");
  EXPECT_EQ(from["/retry/max_attempts"], "camel_parity");
  EXPECT_EQ(from["/timeouts/attempt"], "camel_parity");
  EXPECT_EQ(from["/quota_mistaken_for_overflow"], "camel_parity");
  // What makes camel_parity send before counting (the source design) is shown, with its origin.
  std::map<std::string, nlohmann::ordered_json> value;
  for (const auto& v : e["values"]) value[v["field"].get<std::string>()] = v["value"];
  EXPECT_EQ(value["/context/count_before_send"], false);
  EXPECT_EQ(from["/context/count_before_send"], "camel_parity");
  EXPECT_EQ(value["/skip_over_window"], false);
  EXPECT_EQ(from["/skip_over_window"], "camel_parity");
  EXPECT_EQ(value["/context/forget_learned_after"], 20);
  const RuntimeBlockLoad limited = load_runtime_block(R"({"preset": "camel_parity", "context": {"token_limit": 3000}})");
  ASSERT_TRUE(limited);
  const nlohmann::ordered_json limited_effective = effective_json(limited.value(), std::nullopt, "svc.json");
  for (const auto& v : limited_effective["values"]) {
    if (v["field"] != "/context/count_before_send") continue;
    EXPECT_EQ(v["value"], true);  // a client-side budget is counted, whatever the preset
    EXPECT_EQ(v["from"], "file");
  }
  const nlohmann::ordered_json overridden = effective_json(r.value(), Preset::keel_default, "svc.json");
  EXPECT_EQ(overridden["values"][0]["from"], "--preset");
  EXPECT_NE(effective_text(e).find("/circuit_breaker/min_calls"), std::string::npos);
}

// The promise: for every suite scenario, a service loading the file gets what `keel run` runs.
TEST(ConfigFile, EverySuiteScenarioGivesKeelRunsConfiguration) {
  const fs::path suite = fs::path(KEEL_SOURCE_DIR) / "scenarios" / "suite";
  int files = 0;
  for (const auto& entry : fs::directory_iterator(suite)) {
    if (entry.path().extension() != ".json") continue;
    ++files;
    const scenarios::LoadResult s = scenarios::load_scenario_file(entry.path());
    ASSERT_TRUE(s) << s.describe();
    const RuntimeBlockLoad c = load_runtime_block_file(entry.path());
    ASSERT_TRUE(c) << c.describe();
    EXPECT_EQ(c.value(), s.value().runtime) << entry.path();
    for (Preset p : {Preset::keel_default, Preset::camel_parity}) {
      EXPECT_EQ(file_fields(resolve(c.value(), p, c.providers)), file_fields(scenarios::resolve_runtime(s.value(), p)))
          << entry.path() << " " << to_string(p);
    }
  }
  EXPECT_GE(files, 40);
}

}  // namespace
}  // namespace keel::config
