// keel/scenarios/recovery_bench.h: a cell gathers every seed's recovery measures, and the
// floors are never above what a run measures.
#include <gtest/gtest.h>

#include "keel/scenarios/loader.h"
#include "keel/scenarios/recovery_bench.h"

namespace keel::scenarios {
namespace {

// Fixed latencies, so the floors are computed; an outage on the primary that ends before the
// horizon, so back_on_primary applies.
constexpr const char* kOutage = R"({
  "keel_scenario": 1, "name": "fixed_outage", "horizon": "10m",
  "providers": [{"name": "primary", "latency": {"fixed": "800ms"}}, {"name": "backup", "latency": {"uniform": ["1s", "2s"]}}],
  "faults": [{"target": "primary", "kind": "server_error", "from": "30s", "until": "2m"}],
  "workload": {"kind": "agents", "count": 30, "steps": 4, "start": {"every": "2s"}}
})";

Scenario load(const std::string& text) {
  LoadResult loaded = load_scenario(text, "recovery_bench_test");
  EXPECT_TRUE(loaded.ok()) << loaded.describe();
  return *loaded.scenario;
}

TEST(RecoveryBench, ACellGathersEverySeed) {
  const Scenario s = load(kOutage);
  RecoveryCell cell{.preset = Preset::keel_default};
  run_recovery_cell(s, cell, 4);
  EXPECT_TRUE(cell.error.empty()) << cell.error;
  EXPECT_EQ(cell.runs, 4);
  EXPECT_EQ(cell.detect.values.size() + static_cast<std::size_t>(cell.detect.never), 4u);
  EXPECT_EQ(cell.restore.values.size() + static_cast<std::size_t>(cell.restore.never), 4u);
  EXPECT_TRUE(cell.back_applies);
  EXPECT_GT(cell.attempts, 0);
  EXPECT_GT(cell.tasks_ok, 0);
}

TEST(RecoveryBench, FloorsAreNeverAboveWhatARunMeasures) {
  const Scenario s = load(kOutage);
  for (Preset p : {Preset::keel_default, Preset::camel_parity}) {
    const RecoveryFloors f = recovery_floors(s, s.faults.front(), p);
    ASSERT_TRUE(f.computed) << to_string(p);
    ASSERT_TRUE(f.back.has_value());
    EXPECT_EQ(*f.back, std::chrono::milliseconds{800}) << "one whole answer of the primary";
    RecoveryCell cell{.preset = p};
    run_recovery_cell(s, cell, 5);
    ASSERT_TRUE(cell.error.empty()) << cell.error;
    ASSERT_FALSE(cell.detect.values.empty()) << to_string(p) << ": the outage is detected";
    ASSERT_FALSE(cell.restore.values.empty()) << to_string(p);
    for (Duration d : cell.detect.values) {
      ASSERT_TRUE(f.detect) << to_string(p);
      EXPECT_GE(d, *f.detect) << to_string(p);
    }
    for (Duration d : cell.restore.values) {
      ASSERT_TRUE(f.restore) << to_string(p);
      EXPECT_GE(d, *f.restore) << to_string(p);
    }
    for (Duration d : cell.back.values) EXPECT_GE(d, *f.back) << to_string(p);
  }
}

TEST(RecoveryBench, ARandomLatencyHasNoFloor) {
  std::string text = kOutage;
  text.replace(text.find(R"({"fixed": "800ms"})"), 18, R"({"exponential": {"mean": "800ms"}})");
  const Scenario s = load(text);
  EXPECT_FALSE(recovery_floors(s, s.faults.front(), Preset::keel_default).computed);
}

}  // namespace
}  // namespace keel::scenarios
