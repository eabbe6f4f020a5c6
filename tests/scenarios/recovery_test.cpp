// Recovery measures (keel/scenarios/recovery.h): the meter over hand-made event streams, the
// `recovery` expectation, and the measures of real runs (report fields, JSON, the loader).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "keel/core/event.h"
#include "keel/scenarios/loader.h"
#include "keel/scenarios/recovery.h"
#include "keel/scenarios/runner.h"
#include "keel/scenarios/to_json.h"

namespace keel::scenarios {
namespace {

using namespace std::chrono_literals;

TimePoint at(Duration d) { return TimePoint{d}; }

faults::FaultSpec outage(std::string target, Duration from, std::optional<Duration> until) {
  return faults::FaultSpec{.target = std::move(target), .kind = sim::FaultKind::server_error, .from = from, .until = until};
}

void breaker_opens(RecoveryMeter& m, Duration t, std::string_view target) {
  emit(&m, at(t), "breaker.state", {{"target", target}, {"from", "closed"}, {"to", "open"}});
}
void fallback(RecoveryMeter& m, Duration t, std::string_view from) {
  emit(&m, at(t), "model.fallback", {{"from", from}, {"to", "b"}, {"code", ErrorCode::server_error}});
}
void answered(RecoveryMeter& m, Duration t, std::string_view model, bool ok = true) {
  emit(&m, at(t), "model.call.end", {{"ok", ok}, {"model", model}, {"attempts", 1}});
}

TEST(RecoveryMeter, DetectIsTheFirstBreakerOpeningOrFallbackAwayFromTheTarget) {
  RecoveryMeter m{{outage("a", 10s, 60s)}, 10min, {"a"}};
  fallback(m, 5s, "a");        // before the window: not this fault's detection
  breaker_opens(m, 12s, "b");  // another provider
  fallback(m, 14s, "b");
  fallback(m, 15s, "a");
  breaker_opens(m, 20s, "a");
  ASSERT_EQ(m.windows().size(), 1u);
  EXPECT_EQ(m.windows()[0].detect, 5s);
}

TEST(RecoveryMeter, ABreakerOpeningBeforeAnyFallbackIsTheDetection) {
  RecoveryMeter m{{outage("a", 10s, 60s)}, 10min, {"a"}};
  emit(&m, at(11s), "breaker.state", {{"target", "a"}, {"to", "half_open"}});  // not an opening
  breaker_opens(m, 13s, "a");
  fallback(m, 14s, "a");
  EXPECT_EQ(m.windows()[0].detect, 3s);
}

TEST(RecoveryMeter, ASilentFaultDetectedAfterItsWindowStillCountsUntilTheNextWindow) {
  RecoveryMeter m{{outage("a", 10s, 20s), outage("a", 100s, 110s)}, 10min, {"a"}};
  fallback(m, 40s, "a");  // the attempt timeout fired after the first window ended
  fallback(m, 130s, "a");
  EXPECT_EQ(m.windows()[0].detect, 30s);
  EXPECT_EQ(m.windows()[1].detect, 30s);
}

TEST(RecoveryMeter, DetectionAfterTheNextWindowStartedBelongsToThatWindowOnly) {
  RecoveryMeter m{{outage("a", 10s, 20s), outage("a", 50s, 60s)}, 10min, {"a"}};
  fallback(m, 55s, "a");
  EXPECT_FALSE(m.windows()[0].detect.has_value());
  EXPECT_EQ(m.windows()[1].detect, 5s);
}

TEST(RecoveryMeter, BackOnPrimaryIsTheFirstSuccessOfTheTargetAfterTheWindow) {
  RecoveryMeter m{{outage("a", 10s, 60s)}, 10min, {"a"}};
  answered(m, 50s, "a");         // inside the window: not a return
  answered(m, 61s, "b");         // the fallback answered
  answered(m, 62s, "a", false);  // a failed call
  answered(m, 75s, "a");
  answered(m, 80s, "a");
  EXPECT_EQ(m.windows()[0].back_on_primary, 15s);
}

TEST(RecoveryMeter, BackOnPrimaryDoesNotApplyToAFallbackOrAWindowToTheHorizon) {
  RecoveryMeter m{{outage("b", 10s, 60s), outage("a", 10s, std::nullopt), outage("a", 10s, 20min)}, 10min, {"a"}};
  answered(m, 70s, "b");
  answered(m, 11min, "a");
  for (const RecoveryWindow& w : m.windows()) {
    EXPECT_FALSE(w.back_on_primary_applies()) << w.fault;
    EXPECT_FALSE(w.back_on_primary.has_value()) << w.fault;
  }
  EXPECT_EQ(m.windows()[1].until, 10min);  // no `until`: the horizon
  EXPECT_EQ(m.windows()[2].until, 10min);  // clamped to the horizon
}

TEST(RecoveryMeter, RestoreIsTheEndOfTheEarliestStartedSuccessfulTaskFromTheWindowStart) {
  RecoveryMeter m{{outage("a", 10s, 60s)}, 10min, {"a"}};
  m.on_task(9s, true, 12s, true);    // started before the window
  m.on_task(15s, true, 16s, true);   // later start, earlier end: not the earliest-started
  m.on_task(11s, true, 13s, false);  // failed
  m.on_task(12s, false, 0s, false);  // unfinished
  m.on_task(14s, true, 40s, true);
  m.on_task(70s, true, 71s, true);   // after the window: counts for restore, not tasks_ok
  const RecoveryWindow& w = m.windows()[0];
  EXPECT_EQ(w.restore, 30s);
  EXPECT_EQ(w.tasks_ok, 2);
}

TEST(RecoveryMeter, CountsModelAttemptsStartedInTheWindow) {
  RecoveryMeter m{{outage("a", 10s, 20s)}, 10min, {"a"}};
  for (Duration t : {5s, 10s, 15s, 19s, 20s, 25s}) emit(&m, at(t), "model.attempt", {{"model", "a"}});
  EXPECT_EQ(m.windows()[0].attempts, 3);
}

TEST(RecoveryMeter, EveryProviderTargetMatchesAnyProviderAndAnyPrimary) {
  RecoveryMeter m{{outage("*", 10s, 60s)}, 10min, {"a"}};
  fallback(m, 12s, "b");
  answered(m, 61s, "b");  // not a primary
  answered(m, 63s, "a");
  EXPECT_EQ(m.windows()[0].detect, 2s);
  EXPECT_EQ(m.windows()[0].back_on_primary, 3s);
}

TEST(RecoveryMeter, ToolFaultsHaveNoWindowAndLiveTimeIsScaledBack) {
  faults::FaultSpec tool{.target = "tool:search", .kind = sim::FaultKind::tool_error};
  RecoveryMeter m{{tool, outage("a", 10s, 60s)}, 10min, {"a"}, /*time_scale=*/0.01};
  ASSERT_EQ(m.windows().size(), 1u);
  EXPECT_EQ(m.windows()[0].fault, 1u);
  fallback(m, 120ms, "a");  // 12 s in scenario time
  EXPECT_EQ(m.windows()[0].detect, 2s);
}

RunReport report_with(std::vector<RecoveryWindow> windows) {
  RunReport r;
  r.recovery = std::move(windows);
  return r;
}

RecoveryWindow window(std::optional<Duration> detect, std::optional<Duration> back, bool applies = true) {
  RecoveryWindow w;
  w.target.assign(1, 'a');  // not = "a": GCC 12 warns -Wrestrict (a false positive) on that
  w.detect = detect;
  w.restore = 1s;
  w.back_on_primary = back;
  w.primary = applies;
  w.ends_before_horizon = true;
  return w;
}

TEST(RecoveryExpectation, PassesWithinTheBoundAndNamesTheWorstWindow) {
  Expect e;
  e.recovery = RecoveryExpect{.detect_max = 20s};
  RecoveryWindow second = window(12s, 1s);
  second.fault = 3;
  const auto results = evaluate_expectations(e, report_with({window(5s, 1s), second}));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].name, "recovery.detect_max");
  EXPECT_TRUE(results[0].passed);
  EXPECT_NE(results[0].detail.find("fault 3"), std::string::npos) << results[0].detail;
}

TEST(RecoveryExpectation, FailsOverTheBoundAndWhereTheMeasureNeverHappened) {
  Expect e;
  e.recovery = RecoveryExpect{.detect_max = 20s};
  EXPECT_FALSE(evaluate_expectations(e, report_with({window(25s, 1s)}))[0].passed);
  const auto never = evaluate_expectations(e, report_with({window(5s, 1s), window(std::nullopt, 1s)}));
  EXPECT_FALSE(never[0].passed);
  EXPECT_NE(never[0].detail.find("never"), std::string::npos) << never[0].detail;
  EXPECT_FALSE(evaluate_expectations(e, report_with({}))[0].passed);  // nothing to bound
}

TEST(RecoveryExpectation, BackOnPrimaryIsBoundedOnlyWhereItApplies) {
  Expect e;
  e.recovery = RecoveryExpect{.back_on_primary_max = 30s};
  EXPECT_TRUE(evaluate_expectations(e, report_with({window(1s, 20s), window(1s, std::nullopt, false)}))[0].passed);
  EXPECT_FALSE(evaluate_expectations(e, report_with({window(1s, 31s)}))[0].passed);
  EXPECT_FALSE(evaluate_expectations(e, report_with({window(1s, std::nullopt, false)}))[0].passed);
}

constexpr std::string_view kOutage = R"({
  "keel_scenario": 1, "name": "outage", "horizon": "5m",
  "providers": [{"name": "a", "latency": {"fixed": "500ms"}}, {"name": "b", "latency": {"fixed": "700ms"}}],
  "faults": [{"target": "a", "kind": "server_error", "from": "30s", "until": "90s"},
             {"target": "tool:t", "kind": "error"}],
  "tools": [{"name": "t"}],
  "workload": {"kind": "agents", "count": 240, "steps": 1, "start": {"every": "1s"}},
  "expect": {"recovery": {"detect_max": "20s", "restore_max": "10s", "back_on_primary_max": "30s"}}
})";

TEST(RecoveryInARun, KeelDefaultDetectsRestoresAndReturnsToThePrimary) {
  const LoadResult loaded = load_scenario(kOutage, "outage");
  ASSERT_TRUE(loaded.ok()) << loaded.describe();
  ASSERT_TRUE(loaded.scenario->expect.recovery);
  Result<RunReport> r = run_scenario(*loaded.scenario, {.seed = 3, .preset = Preset::keel_default});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->recovery.size(), 1u);  // the tool fault has no window
  const RecoveryWindow& w = r->recovery[0];
  EXPECT_EQ(w.from, 30s);
  EXPECT_EQ(w.until, 90s);
  ASSERT_TRUE(w.detect && w.restore && w.back_on_primary);
  EXPECT_LT(*w.detect, 20s);
  EXPECT_LT(*w.restore, 10s);
  EXPECT_LE(*w.back_on_primary, 30s);
  EXPECT_GT(w.attempts, 0);
  EXPECT_TRUE(r->passed);
  for (const auto& e : r->expectations) EXPECT_TRUE(e.passed) << e.name << ": " << e.detail;

  const nlohmann::json j = to_json(*r);
  ASSERT_EQ(j["recovery"].size(), 1u);
  EXPECT_EQ(j["recovery"][0]["fault"], 0);
  EXPECT_EQ(j["recovery"][0]["target"], "a");
  EXPECT_EQ(j["recovery"][0]["from_ms"], 30000.0);
  EXPECT_EQ(j["recovery"][0]["until_ms"], 90000.0);
  EXPECT_TRUE(j["recovery"][0]["detect_ms"].is_number());
  EXPECT_TRUE(j["latency_ok_ms"].contains("p99"));
  EXPECT_TRUE(j["failures"].is_object());
}

TEST(RecoveryInARun, FailuresNameEachFailedTasksFinalCauseAndOkLatencyExcludesThem) {
  const LoadResult loaded = load_scenario(R"({
    "keel_scenario": 1, "name": "no_fallback", "horizon": "2m",
    "providers": [{"name": "a", "latency": {"fixed": "2s"}}],
    "faults": [{"target": "a", "kind": "auth_error", "from": "10s", "until": "25s"}],
    "workload": {"kind": "agents", "count": 30, "steps": 1, "start": {"every": "1s"}}
  })", "no_fallback");
  ASSERT_TRUE(loaded.ok()) << loaded.describe();
  Result<RunReport> r = run_scenario(*loaded.scenario, {.seed = 1, .preset = Preset::keel_default});
  ASSERT_TRUE(r);
  ASSERT_GT(r->tasks.failed, 0);
  ASSERT_EQ(r->failures.size(), 1u);
  EXPECT_EQ(r->failures[0].first, "auth");
  EXPECT_EQ(r->failures[0].second, r->tasks.failed);
  EXPECT_EQ(r->tasks.failed, 15);
  EXPECT_EQ(r->latency_ok_p50, 2s);  // failures answer fast; successes take the provider's 2 s
  EXPECT_LT(r->latency_p50, 2s);     // half the tasks failed fast: the overall median looks good
  EXPECT_EQ(r->latency_ok_max, 2s);
  // The expectation reads back from JSON exactly.
  EXPECT_EQ(load_scenario(to_json(*loaded.scenario).dump(), "x").scenario->expect, loaded.scenario->expect);
}

// A 5xx storm on the only provider drains keel_default's retry budget: the calls whose retry
// the budget refused end in budget_exhausted (the budget refused, not the provider), the
// others in the provider's server_error (attempts exhausted). With a second model, the same
// refusal falls back to it and the tasks succeed.
TEST(RecoveryInARun, FailuresTellTheRetryBudgetFromTheProvider) {
  const std::string storm = R"({
    "keel_scenario": 1, "name": "budget_storm", "horizon": "10m",
    "providers": [{"name": "a", "latency": {"fixed": "100ms"}}PROVIDERS],
    "faults": [{"target": "a", "kind": "server_error"}],
    "runtime": {"circuit_breaker": false},
    "workload": {"kind": "agents", "count": 100, "steps": 1, "start": {"every": "3s"}}
  })";
  const auto run = [&](const std::string& providers, RecordingSink* events) {
    std::string text = storm;
    text.replace(text.find("PROVIDERS"), 9, providers);
    const LoadResult loaded = load_scenario(text, "budget_storm");
    EXPECT_TRUE(loaded.ok()) << loaded.describe();
    return run_scenario(*loaded.scenario, {.seed = 1, .preset = Preset::keel_default, .extra_sink = events});
  };
  RecordingSink events;
  Result<RunReport> alone = run("", &events);
  ASSERT_TRUE(alone);
  EXPECT_EQ(alone->tasks.failed, 100);
  std::map<std::string, std::int64_t> failures(alone->failures.begin(), alone->failures.end());
  std::int64_t refusals = 0;
  for (const RecordedEvent* d : events.find_all("retry.decision"))
    refusals += *d->get<std::string>("reason") == "budget_exhausted";
  ASSERT_GT(refusals, 0);
  EXPECT_EQ(failures["budget_exhausted"], refusals);  // one model call per task
  EXPECT_GT(failures["server_error"], 0);
  EXPECT_EQ(failures["budget_exhausted"] + failures["server_error"], 100);

  Result<RunReport> with_backup = run(R"(, {"name": "b", "latency": {"fixed": "100ms"}})", nullptr);
  ASSERT_TRUE(with_backup);
  EXPECT_EQ(with_backup->tasks.succeeded, 100);
  EXPECT_EQ(with_backup->fallbacks, 100);
}

TEST(RecoveryInARun, TheLoaderRejectsUnknownRecoveryFieldsAndBadDurations) {
  const LoadResult bad = load_scenario(R"({
    "keel_scenario": 1, "name": "bad",
    "providers": [{"name": "a"}],
    "workload": {"kind": "agents"},
    "expect": {"recovery": {"detect": "1s", "restore_max": "soon"}}
  })", "bad");
  ASSERT_FALSE(bad.ok());
  const std::string d = bad.describe();
  EXPECT_NE(d.find("/expect/recovery/detect"), std::string::npos) << d;
  EXPECT_NE(d.find("/expect/recovery/restore_max"), std::string::npos) << d;
}

}  // namespace
}  // namespace keel::scenarios
