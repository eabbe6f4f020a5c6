// keel/scenarios/run_outcome.h: what a sweep keeps of one run.
#include <gtest/gtest.h>

#include "keel/scenarios/loader.h"
#include "keel/scenarios/run_outcome.h"

namespace keel::scenarios {
namespace {

Scenario hanging_primary() {
  LoadResult loaded = load_scenario(R"({
    "keel_scenario": 1, "name": "hang", "horizon": "10m",
    "providers": [{"name": "primary"}, {"name": "backup"}],
    "faults": [{"target": "primary", "kind": "hang"}],
    "workload": {"kind": "agents", "count": 3, "steps": 2, "start": {"every": "1s"}},
    "expect": {"success_rate_min": 1.0, "tasks_failed_max": 100}
  })", "hang");
  EXPECT_TRUE(loaded.ok()) << loaded.describe();
  return *loaded.scenario;
}

TEST(RunOutcome, KeepsOnlyTheFailedExpectationsAndTheTraceHash) {
  const Scenario s = hanging_primary();
  const RunOutcome o = run_outcome(s, 1, Preset::camel_parity);
  ASSERT_TRUE(o.ran) << o.error;
  EXPECT_FALSE(o.passed);
  ASSERT_EQ(o.failed.size(), 1u);
  EXPECT_EQ(o.failed[0].name, "success_rate_min");
  EXPECT_EQ(o.trace_hash.size(), 16u);
  Result<RunReport> report = run_scenario(s, {.seed = 1, .preset = Preset::camel_parity});
  ASSERT_TRUE(report);
  EXPECT_EQ(o.trace_hash, report->trace_hash) << "the same run";
}

TEST(RunOutcome, AScenarioThatCannotRunSaysWhy) {
  Scenario s = hanging_primary();
  s.runtime.retry.max_attempts = 0;  // a Scenario built in code, past the loader's bound
  const RunOutcome o = run_outcome(s, 1, std::nullopt);
  EXPECT_FALSE(o.ran);
  EXPECT_FALSE(o.passed);
  EXPECT_NE(o.error.find("retry.max_attempts"), std::string::npos) << o.error;
}

}  // namespace
}  // namespace keel::scenarios
