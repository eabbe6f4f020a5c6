// Scenario loader: a full example with exact values, defaults, the round trip through to_json,
// the corpus of broken files, error messages, and the JSON Schema file.
//
// The broken corpus: tests/scenarios/bad/<name>.json must be rejected with exactly the set of
// locations listed in <name>.expect, one per line: a JSON pointer, "(root)" for the pointer ""
// (the whole document), or "@line:column" for a JSON syntax error. Add a case by adding both
// files; tests/scenarios/good/*.json are valid examples (also the fuzzer's seeds).
#include "keel/scenarios/loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "keel/config/duration.h"
#include "keel/scenarios/to_json.h"

namespace keel::scenarios {
namespace {

using namespace std::chrono_literals;
using sim::FaultKind;
namespace fs = std::filesystem;

const fs::path kHere = fs::path(KEEL_SOURCE_DIR) / "tests" / "scenarios";
const fs::path kRepo = kHere.parent_path().parent_path();

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string errors_of(const LoadResult& r) { return r.describe(); }

LoadResult load_good(const std::string& name) {
  LoadResult r = load_scenario_file(kHere / "good" / name);
  EXPECT_TRUE(r.ok()) << errors_of(r);
  return r;
}

// ---- a full example ---------------------------------------------------------------------------

TEST(ScenarioLoaderTest, FullExampleLoadsWithExactValues) {
  LoadResult r = load_good("full.json");
  ASSERT_TRUE(r.ok());
  const Scenario& s = r.value();
  EXPECT_EQ(s.keel_scenario, 1);
  EXPECT_EQ(s.name, "full-example");
  EXPECT_EQ(s.description, "Every field of the format, with non-default values.");
  EXPECT_EQ(s.seed, 18446744073709551615ULL);
  EXPECT_EQ(s.horizon, 90min);

  ASSERT_EQ(s.providers.size(), 3u);
  const Provider& gpt = s.providers[0];
  EXPECT_EQ(gpt.name, "gpt");
  EXPECT_EQ(gpt.api, Api::openai);
  EXPECT_EQ(gpt.context_window, 8000);
  EXPECT_EQ(gpt.latency, Latency::lognormal(400ms, 3s));
  EXPECT_EQ(gpt.output_tokens, 150);
  ASSERT_TRUE(gpt.limits);
  EXPECT_EQ(gpt.limits->requests_per_minute, 60);
  EXPECT_EQ(gpt.limits->tokens_per_minute, 90000);
  EXPECT_EQ(s.providers[1].api, Api::anthropic);
  EXPECT_EQ(s.providers[1].latency, Latency::uniform(200ms, 1500ms));
  EXPECT_EQ(s.providers[1].context_window, 128000);
  EXPECT_FALSE(s.providers[1].limits);
  EXPECT_EQ(s.providers[2].latency, Latency::exponential(50ms));
  ASSERT_TRUE(s.providers[2].limits);
  EXPECT_FALSE(s.providers[2].limits->requests_per_minute);
  EXPECT_EQ(s.find_provider("claude"), &s.providers[1]);
  EXPECT_EQ(s.find_provider("nope"), nullptr);

  ASSERT_EQ(s.tools.size(), 2u);
  EXPECT_EQ(s.tools[0].name, "search");
  EXPECT_EQ(s.tools[0].latency, Latency::fixed(250ms));
  EXPECT_TRUE(s.tools[0].idempotent);
  EXPECT_EQ(s.tools[1].latency, Latency::fixed(100ms));
  EXPECT_FALSE(s.tools[1].idempotent);
  EXPECT_EQ(s.find_tool("payment"), &s.tools[1]);

  ASSERT_EQ(s.faults.size(), 12u);
  const Fault& f0 = s.faults[0];
  EXPECT_EQ(f0.target, "gpt");
  EXPECT_EQ(f0.kind, FaultKind::rate_limit);
  EXPECT_EQ(f0.from, 10s);
  EXPECT_EQ(f0.until, 1min);
  EXPECT_EQ(f0.retry_after, 2s);
  EXPECT_EQ(f0.first_n, 5u);
  EXPECT_FALSE(f0.every_nth);
  EXPECT_EQ(f0.probability, 1.0);
  EXPECT_EQ(s.faults[1].target, "*");
  EXPECT_EQ(s.faults[1].kind, FaultKind::server_error);
  EXPECT_EQ(s.faults[1].probability, 0.25);
  EXPECT_EQ(s.faults[1].status, 529);
  EXPECT_FALSE(s.faults[1].until);
  EXPECT_EQ(s.faults[2].every_nth, 3u);
  EXPECT_EQ(s.faults[3].extra_latency, Latency::fixed(5s));
  EXPECT_EQ(s.faults[4].until, 60500ms);
  EXPECT_EQ(s.faults[6].probability, 0.0);
  EXPECT_EQ(s.faults[8].first_n, 1u);
  EXPECT_EQ(s.faults[8].every_nth, 1u);
  EXPECT_EQ(s.faults[9].target, "tool:search");
  EXPECT_EQ(s.faults[9].kind, FaultKind::tool_error);
  EXPECT_EQ(s.faults[10].kind, FaultKind::hang);
  EXPECT_EQ(s.faults[11].extra_latency, Latency::uniform(1s, 2s));

  const Runtime& rt = s.runtime;
  EXPECT_EQ(rt.preset, Preset::camel_parity);
  EXPECT_EQ(rt.models, (std::vector<std::string>{"claude", "gpt"}));
  EXPECT_EQ(rt.scheduling, Scheduling::round_robin);
  EXPECT_EQ(rt.fallback_on_error, false);
  EXPECT_EQ(rt.retry.max_attempts, 4);
  EXPECT_EQ(rt.retry.base_delay, 100ms);
  EXPECT_EQ(rt.retry.max_delay, 10s);
  EXPECT_EQ(rt.retry.multiplier, 1.5);
  EXPECT_EQ(rt.retry.jitter, Jitter::decorrelated);
  EXPECT_EQ(rt.retry.retry_on,
            (std::vector<ErrorCode>{ErrorCode::rate_limited, ErrorCode::server_error, ErrorCode::timeout}));
  EXPECT_EQ(rt.retry.honor_retry_after, true);
  EXPECT_EQ(rt.retry.max_retry_after, 30s);
  ASSERT_TRUE(rt.retry.budget.is_set());
  EXPECT_EQ(*rt.retry.budget.value, (RetryBudget{10, 0.1}));
  ASSERT_TRUE(rt.circuit_breaker.is_set());
  const BreakerSettings& b = *rt.circuit_breaker.value;
  EXPECT_EQ(b.window, BreakerWindow::count);
  EXPECT_EQ(b.size, 20);
  EXPECT_FALSE(b.duration);
  EXPECT_EQ(b.failure_rate, 0.5);
  EXPECT_EQ(b.min_calls, 10);
  EXPECT_EQ(b.open_for, 30s);
  EXPECT_EQ(b.half_open_calls, 3);
  EXPECT_EQ(b.slow_call, (SlowCall{5s, 0.8}));
  EXPECT_EQ(rt.timeouts.attempt, Override<Duration>::of(20s));
  EXPECT_EQ(rt.timeouts.call, Override<Duration>::of(1min));
  EXPECT_TRUE(rt.timeouts.step.is_disabled());
  EXPECT_EQ(rt.timeouts.tool, Override<Duration>::of(3min));
  EXPECT_EQ(rt.context.token_limit, 6000);
  EXPECT_EQ(rt.context.on_overflow, OnOverflow::truncate);
  EXPECT_EQ(rt.hedging, Override<HedgingSettings>::of({2s, 2}));

  const auto* a = std::get_if<AgentsWorkload>(&s.workload);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->count, 100);
  EXPECT_EQ(a->steps, 5);
  EXPECT_EQ(a->start.kind, Start::Kind::every);
  EXPECT_EQ(a->start.every, 100ms);
  EXPECT_EQ(a->prompt_tokens, 800);
  EXPECT_EQ(a->history, History::keep);
  EXPECT_EQ(a->tool_calls_per_step, 2);

  const Expect& e = s.expect;
  EXPECT_EQ(e.success_rate_min, 0.99);
  EXPECT_EQ(e.tasks_failed_max, 5);
  ASSERT_TRUE(e.latency);
  EXPECT_EQ(*e.latency, (LatencyExpect{2s, 20s, 1min}));
  ASSERT_EQ(e.calls.size(), 2u);
  EXPECT_EQ(e.calls[0].first, "gpt");  // file order
  EXPECT_EQ(e.calls[0].second, (CallBounds{1, 1000}));
  EXPECT_EQ(e.calls[1].first, "claude");
  EXPECT_EQ(e.calls[1].second, (CallBounds{std::nullopt, 0}));
  EXPECT_EQ(e.retries_max, 50);
  EXPECT_EQ(e.fallbacks_min, 1);
  EXPECT_EQ(e.fallbacks_max, 100);
  ASSERT_EQ(e.breaker.size(), 1u);
  EXPECT_EQ(e.breaker[0].second, (BreakerExpect{1, 3, 5min}));
  EXPECT_EQ(e.summarizations_min, 0);
  EXPECT_EQ(e.summarizations_max, 10);
  ASSERT_EQ(e.tool_executions.size(), 2u);
  EXPECT_EQ(e.tool_executions[0].first, "payment");
  EXPECT_EQ(e.tool_executions[0].second, (ToolExpect{500, 1}));
  EXPECT_EQ(e.tool_executions[1].second, (ToolExpect{std::nullopt, 3}));
  EXPECT_EQ(e.max_prompt_tokens_sent, (Keyed<std::int64_t>{{"gpt", 8000}, {"local", 128000}}));
  EXPECT_EQ(e.finished_before, 55min);

  EXPECT_EQ(s.expected.keel_default, Outcome::pass);
  EXPECT_EQ(s.expected.camel_parity, Outcome::fail);
  EXPECT_EQ(s.expected.under(Preset::camel_parity), Outcome::fail);
}

TEST(ScenarioLoaderTest, WorkforceExampleLoads) {
  LoadResult r = load_good("workforce.json");
  ASSERT_TRUE(r.ok());
  const Scenario& s = r.value();
  const auto* w = std::get_if<WorkforceWorkload>(&s.workload);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->mode, WorkforceMode::pipeline);
  ASSERT_EQ(w->workers.size(), 3u);
  EXPECT_EQ(w->workers[0].models, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(w->workers[0].is_tool());
  EXPECT_EQ(w->workers[1].tool, "fetch");
  const auto* tasks = std::get_if<std::vector<TaskSpec>>(&w->tasks);
  ASSERT_TRUE(tasks);
  ASSERT_EQ(tasks->size(), 3u);
  EXPECT_EQ((*tasks)[1], (TaskSpec{"draft", "writer", {"get"}}));
  EXPECT_EQ((*tasks)[2], (TaskSpec{"edit", std::nullopt, {"draft", "get"}}));
  EXPECT_EQ(w->max_concurrency, 4);
  EXPECT_EQ(w->rounds, 2);
  EXPECT_EQ(w->failure_handling, (FailureHandling{1, 5s, FailureStrategy::fallback, {"backup"}}));
  EXPECT_TRUE(s.runtime.circuit_breaker.is_disabled());
  EXPECT_TRUE(s.runtime.hedging.is_disabled());
  EXPECT_TRUE(s.runtime.retry.budget.is_disabled());
  EXPECT_TRUE(s.runtime.timeouts.attempt.is_disabled());
  EXPECT_EQ(s.runtime.timeouts.step, Override<Duration>::of(10min));
  EXPECT_EQ(s.faults[0].status, 500);
  EXPECT_EQ(s.faults[0].until, 30s);
  EXPECT_EQ(s.expect.success_rate_min, 1.0);
}

// ---- defaults ---------------------------------------------------------------------------------

TEST(ScenarioLoaderTest, DefaultsAreTheFormatPages) {
  LoadResult r = load_good("minimal.json");
  ASSERT_TRUE(r.ok());
  const Scenario& s = r.value();
  EXPECT_EQ(s.description, "");
  EXPECT_EQ(s.seed, 1u);
  EXPECT_EQ(s.horizon, 1h);
  ASSERT_EQ(s.providers.size(), 1u);
  EXPECT_EQ(s.providers[0].api, Api::openai);
  EXPECT_EQ(s.providers[0].context_window, 128000);
  EXPECT_EQ(s.providers[0].latency, Latency::fixed(500ms));
  EXPECT_EQ(s.providers[0].output_tokens, 200);
  EXPECT_FALSE(s.providers[0].limits);
  EXPECT_TRUE(s.tools.empty());
  EXPECT_TRUE(s.faults.empty());
  EXPECT_TRUE(s.runtime.empty());
  EXPECT_FALSE(s.runtime.preset);  // the runner applies keel_default (or --preset)
  EXPECT_TRUE(s.runtime.circuit_breaker.inherits());
  EXPECT_EQ(s.runtime.timeouts.attempt.over(5s), 5s);
  const auto& a = std::get<AgentsWorkload>(s.workload);
  EXPECT_EQ(a.count, 1);
  EXPECT_EQ(a.steps, 1);
  EXPECT_EQ(a.start.kind, Start::Kind::at);
  EXPECT_EQ(a.start.at, 0s);
  EXPECT_EQ(a.prompt_tokens, 500);
  EXPECT_EQ(a.history, History::none);
  EXPECT_EQ(a.tool_calls_per_step, 0);
  EXPECT_TRUE(s.expect.empty());
  EXPECT_TRUE(s.expected.empty());
}

TEST(ScenarioLoaderTest, FaultAndToolDefaults) {
  LoadResult r = load_scenario(R"({"keel_scenario": 1, "name": "d", "providers": [{"name": "p"}],
      "tools": [{"name": "t"}],
      "faults": [{"target": "p", "kind": "server_error"}, {"target": "tool:t", "kind": "error"},
                 {"target": "p", "kind": "rate_limit"}],
      "runtime": {"hedging": {"delay": "1s"}},
      "workload": {"kind": "workforce", "workers": [{"name": "w", "models": ["p"]}], "tasks": 2}})");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const Scenario& s = r.value();
  EXPECT_EQ(s.tools[0].latency, Latency::fixed(100ms));
  EXPECT_FALSE(s.tools[0].idempotent);
  const Fault& f = s.faults[0];
  EXPECT_EQ(f.from, 0s);
  EXPECT_FALSE(f.until);
  EXPECT_EQ(f.probability, 1.0);
  EXPECT_FALSE(f.every_nth);
  EXPECT_FALSE(f.first_n);
  EXPECT_EQ(f.status, 503);
  EXPECT_FALSE(s.faults[2].retry_after);
  EXPECT_EQ(s.runtime.hedging, Override<HedgingSettings>::of({1s, 1}));
  const auto& w = std::get<WorkforceWorkload>(s.workload);
  EXPECT_EQ(w.mode, WorkforceMode::parallel);
  EXPECT_EQ(std::get<std::int64_t>(w.tasks), 2);
  EXPECT_EQ(w.task_list().size(), 2u);
  EXPECT_EQ(w.task_list()[1].id, "task-1");
  EXPECT_FALSE(w.max_concurrency);
  EXPECT_EQ(w.rounds, 1);
  EXPECT_EQ(w.failure_handling, FailureHandling{});
}

TEST(ScenarioLoaderTest, AcceptsIntegralNumbersWrittenAsDecimals) {
  LoadResult r = load_scenario(R"({"keel_scenario": 1.0, "name": "n", "providers": [{"name": "p", "output_tokens": 0}],
      "workload": {"kind": "agents", "count": 3.0, "start": {"poisson_per_s": 2.5}}})");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const auto& a = std::get<AgentsWorkload>(r.value().workload);
  EXPECT_EQ(a.count, 3);
  EXPECT_EQ(a.start.kind, Start::Kind::poisson);
  EXPECT_EQ(a.start.poisson_per_s, 2.5);
}

TEST(ScenarioModelTest, OverrideAppliesToThePresetsValue) {
  const std::optional<Duration> preset = 30s;
  EXPECT_EQ(Override<Duration>{}.over(preset), 30s);
  EXPECT_EQ(Override<Duration>::disabled().over(preset), std::nullopt);
  EXPECT_EQ(Override<Duration>::of(5s).over(preset), 5s);
  EXPECT_EQ(Override<Duration>::of(5s).over(std::nullopt), 5s);
  EXPECT_EQ(preset_from_string("camel_parity"), Preset::camel_parity);
  EXPECT_EQ(preset_from_string("keel_default"), Preset::keel_default);
  EXPECT_FALSE(preset_from_string("camel"));
  EXPECT_EQ(to_string(Preset::camel_parity), "camel_parity");
  EXPECT_EQ(to_string(FailureStrategy::terminate), "terminate");
}

// ---- round trip -------------------------------------------------------------------------------

TEST(ScenarioLoaderTest, ToJsonRoundTripsEveryExample) {
  for (const char* name : {"full.json", "minimal.json", "workforce.json"}) {
    LoadResult r = load_good(name);
    ASSERT_TRUE(r.ok()) << name;
    const std::string text = to_json_text(r.value());
    LoadResult again = load_scenario(text, "written");
    ASSERT_TRUE(again.ok()) << name << "\n" << errors_of(again) << text;
    EXPECT_EQ(again.value(), r.value()) << name << "\n" << text;
    // And writing it again gives the same bytes.
    EXPECT_EQ(to_json_text(again.value()), text) << name;
  }
}

TEST(ScenarioLoaderTest, ToJsonRoundTripsAScenarioBuiltInCode) {
  Scenario s;
  s.name = "built";
  s.seed = 99;
  s.horizon = 1234567ns;
  s.providers = {Provider{.name = "p", .latency = Latency::fixed(1ns)}};
  s.tools = {Tool{.name = "t", .idempotent = true}};
  s.faults = {Fault{.target = "tool:t", .kind = FaultKind::slow, .from = 1ms, .until = 2ms, .probability = 0.125,
                    .extra_latency = Latency::exponential(3us)}};
  s.runtime.retry.retry_on = std::vector<ErrorCode>{};
  s.runtime.retry.budget = Override<RetryBudget>::disabled();
  s.runtime.circuit_breaker = Override<BreakerSettings>::of({.window = BreakerWindow::time, .duration = 10s});
  s.runtime.timeouts.tool = Override<Duration>::disabled();
  s.workload = WorkforceWorkload{.workers = {Worker{.name = "w", .tool = "t"}}, .tasks = std::int64_t{7}};
  s.expect.calls = {{"p", CallBounds{}}};
  s.expected.camel_parity = Outcome::pass;
  LoadResult r = load_scenario_json(to_json(s));
  ASSERT_TRUE(r.ok()) << errors_of(r) << to_json_text(s);
  EXPECT_EQ(r.value(), s) << to_json_text(s);
}

// ---- the broken corpus ------------------------------------------------------------------------

struct BadCase {
  std::string name;
  std::set<std::string> expected;  // pointers, "(root)" for "", "@L:C" for syntax errors
};

std::vector<BadCase> bad_corpus() {
  std::vector<BadCase> out;
  for (const auto& entry : fs::directory_iterator(kHere / "bad")) {
    if (entry.path().extension() != ".json") continue;
    BadCase c{entry.path().stem().string(), {}};
    std::istringstream lines(read_text(fs::path(entry.path()).replace_extension(".expect")));
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) c.expected.insert(line);
    }
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const BadCase& a, const BadCase& b) { return a.name < b.name; });
  return out;
}

TEST(ScenarioLoaderTest, EveryBrokenFileIsRejectedAtExactlyItsPointers) {
  const std::vector<BadCase> corpus = bad_corpus();
  ASSERT_GE(corpus.size(), 20u);
  for (const BadCase& c : corpus) {
    SCOPED_TRACE(c.name);
    ASSERT_FALSE(c.expected.empty()) << "missing " << c.name << ".expect";
    const LoadResult r = load_scenario_file(kHere / "bad" / (c.name + ".json"));
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(r.scenario);
    std::set<std::string> got;
    for (const ValidationError& e : r.errors) {
      EXPECT_FALSE(e.message.empty());
      if (e.line > 0) {
        std::string at = "@";  // (appending avoids a GCC 12 -Wrestrict false positive)
        at += std::to_string(e.line);
        at += ':';
        at += std::to_string(e.column);
        got.insert(at);
      } else {
        got.insert(e.pointer.empty() ? "(root)" : e.pointer);
      }
    }
    EXPECT_EQ(got, c.expected) << r.describe();
  }
}

TEST(ScenarioLoaderTest, AMultiErrorFileReportsEveryError) {
  const LoadResult r = load_scenario_file(kHere / "bad" / "multi_error.json");
  EXPECT_GE(r.errors.size(), 11u) << r.describe();
  for (const char* p : {"/name", "/horizon", "/providers/0/latency/fixed", "/providers/1/api", "/faults/0/target",
                        "/faults/1/probability", "/faults/2/kind", "/runtime/retry/retry_on/0", "/workload/count",
                        "/expect/calls/nobody", "/bogus"}) {
    EXPECT_TRUE(r.has_error_at(p)) << p << "\n" << r.describe();
  }
}

// ---- messages ---------------------------------------------------------------------------------

std::string message_at(const LoadResult& r, std::string_view pointer) {
  for (const ValidationError& e : r.errors) {
    if (e.pointer == pointer) return e.message;
  }
  return "<no error at " + std::string(pointer) + ">\n" + r.describe();
}

TEST(ScenarioLoaderTest, MessagesSayWhatWasExpectedAndWhatWasFound) {
  const LoadResult bad_duration = load_scenario_file(kHere / "bad" / "duration_fast.json");
  EXPECT_EQ(message_at(bad_duration, "/providers/0/latency/fixed").substr(0, 48),
            "expected a duration like \"250ms\", found \"fast\": ");
  EXPECT_EQ(message_at(load_scenario_file(kHere / "bad" / "unknown_provider_field.json"), "/providers/0/latncy"),
            "unknown field \"latncy\"; did you mean \"latency\"?");
  EXPECT_EQ(message_at(load_scenario_file(kHere / "bad" / "unknown_api.json"), "/providers/0/api"),
            "expected one of \"openai\", \"anthropic\", found \"azure\"");
  EXPECT_EQ(message_at(load_scenario_file(kHere / "bad" / "fault_status_404.json"), "/faults/0/status"),
            "expected an integer in 500..599, found 404");
  EXPECT_EQ(message_at(load_scenario_file(kHere / "bad" / "fault_probability_above_1.json"), "/faults/0/probability"),
            "expected a probability in 0..1, found 1.5");
  EXPECT_EQ(message_at(load_scenario_file(kHere / "bad" / "missing_name.json"), "/name"),
            "required field \"name\" is missing");
  EXPECT_EQ(message_at(load_scenario_file(kHere / "bad" / "retry_on_unknown_code.json"), "/runtime/retry/retry_on/1")
                .find("(did you mean \"rate_limited\"?)") != std::string::npos,
            true);
  const std::string target = message_at(load_scenario_file(kHere / "bad" / "fault_unknown_provider.json"), "/faults/0/target");
  EXPECT_NE(target.find("\"gtp\""), std::string::npos) << target;
  EXPECT_NE(target.find("\"gpt\", \"claude\""), std::string::npos) << target;
  const std::string kind = message_at(load_scenario_file(kHere / "bad" / "fault_tool_kind_on_provider.json"), "/faults/0/kind");
  EXPECT_NE(kind.find("provider fault kind"), std::string::npos) << kind;
  const std::string cycle = message_at(load_scenario_file(kHere / "bad" / "workforce_task_cycle.json"), "/workload/tasks/0/depends_on");
  EXPECT_NE(cycle.find("\"a\" -> \"c\" -> \"b\" -> \"a\""), std::string::npos) << cycle;
}

TEST(ScenarioLoaderTest, SyntaxErrorsCarryLineAndColumn) {
  const LoadResult r = load_scenario("{\n  \"keel_scenario\": 1,\n  \"name\": tru\n}", "x.json");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_GT(r.errors[0].column, 0);
  EXPECT_EQ(r.errors[0].pointer, "");
  EXPECT_NE(r.errors[0].message.find("invalid JSON"), std::string::npos);
  EXPECT_EQ(r.describe().substr(0, 16), "x.json: line 3, ");
}

TEST(ScenarioLoaderTest, PointersEscapeTildeAndSlash) {
  const LoadResult r = load_scenario(R"({"keel_scenario": 1, "name": "e", "providers": [{"name": "p"}],
      "workload": {"kind": "agents"}, "expect": {"calls": {"a/b~c": {"max": 1}}}})");
  EXPECT_TRUE(r.has_error_at("/expect/calls/a~1b~0c")) << r.describe();
}

TEST(ScenarioLoaderTest, DescribeListsEveryErrorWithTheSource) {
  const LoadResult r = load_scenario(R"({"keel_scenario": 2, "name": 3, "providers": [], "workload": {"kind": "agents"}})",
                                     "s.json");
  EXPECT_EQ(r.describe(),
            "s.json: /keel_scenario: expected the format version 1 (the only version this keel reads), found 2\n"
            "s.json: /name: expected a non-empty string, found 3\n"
            "s.json: /providers: expected a non-empty array of providers, found an empty array\n");
}

TEST(ScenarioLoaderTest, UnreadableFileIsOneError) {
  const LoadResult r = load_scenario_file(kHere / "does-not-exist.json");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].pointer, "");
  EXPECT_NE(r.describe().find("does-not-exist.json: cannot open"), std::string::npos);
}

TEST(ScenarioLoaderTest, NeverThrowsOnHostileInput) {
  const std::string deep(100000, '[');
  const std::string cases[] = {deep, std::string("\0\xff\xfe", 3), "{\"keel_scenario\": 1e999}", "null", "\"str\"",
                               "{\"name\": \"\xc3\"}", std::string(1000, '{'), "{\"providers\": [[[[[]]]]]}"};
  for (const std::string& c : cases) {
    LoadResult r;
    EXPECT_NO_THROW(r = load_scenario(c));
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(r.errors.empty());
  }
}

// ---- the JSON Schema --------------------------------------------------------------------------

TEST(ScenarioSchemaTest, IsValidJsonAndDescribesEveryTopLevelField) {
  const std::string text = read_text(kRepo / "scenarios" / "scenario.schema.json");
  ASSERT_FALSE(text.empty());
  nlohmann::json schema;
  ASSERT_NO_THROW(schema = nlohmann::json::parse(text));
  EXPECT_EQ(schema.at("$schema"), "https://json-schema.org/draft/2020-12/schema");
  EXPECT_EQ(schema.at("additionalProperties"), false);
  const auto& props = schema.at("properties");
  for (const char* field : {"keel_scenario", "name", "description", "seed", "horizon", "providers", "tools", "faults",
                            "runtime", "workload", "expect", "expected"}) {
    EXPECT_TRUE(props.contains(field)) << field;
  }
  for (const char* field : {"keel_scenario", "name", "providers", "workload"}) {
    EXPECT_NE(std::find(schema.at("required").begin(), schema.at("required").end(), field), schema.at("required").end())
        << field;
  }
  // Every error code and fault kind the loader accepts is in the schema.
  for (const auto& info : kErrorCodes) EXPECT_NE(text.find('"' + std::string(info.name) + '"'), std::string::npos) << info.name;
  for (std::string_view k : faults::kProviderFaultKinds) EXPECT_NE(text.find('"' + std::string(k) + '"'), std::string::npos) << k;
}

}  // namespace
}  // namespace keel::scenarios
