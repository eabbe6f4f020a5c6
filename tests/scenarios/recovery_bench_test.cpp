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
  ASSERT_EQ(cell.windows.size(), 1u);
  const RecoveryWindowCell& w = cell.windows[0];
  EXPECT_EQ(w.detect.values.size() + static_cast<std::size_t>(w.detect.never), 4u);
  EXPECT_EQ(w.restore.values.size() + static_cast<std::size_t>(w.restore.never), 4u);
  EXPECT_TRUE(w.back_applies);
  EXPECT_GT(w.attempts, 0);
  EXPECT_GT(w.tasks_ok, 0);
}

// Every provider fault window is measured, not only the first: a second outage (after a tool
// fault, which has no window) gets its own samples, and the breaker that opened for the
// first one closed again, so it is detected and left like the first.
TEST(RecoveryBench, EveryProviderFaultWindowIsMeasured) {
  const Scenario s = load(R"({
    "keel_scenario": 1, "name": "two_outages", "horizon": "10m",
    "providers": [{"name": "primary", "latency": {"fixed": "800ms"}}, {"name": "backup", "latency": {"fixed": "1s"}}],
    "tools": [{"name": "search"}],
    "faults": [{"target": "primary", "kind": "server_error", "from": "30s", "until": "90s"},
               {"target": "tool:search", "kind": "error", "from": "1m", "until": "2m"},
               {"target": "primary", "kind": "server_error", "from": "3m", "until": "4m"}],
    "workload": {"kind": "agents", "count": 300, "steps": 1, "start": {"every": "1s"}}
  })");
  for (Preset p : {Preset::keel_default, Preset::camel_parity}) {
    RecoveryCell cell{.preset = p};
    run_recovery_cell(s, cell, 3);
    ASSERT_TRUE(cell.error.empty()) << cell.error;
    ASSERT_EQ(cell.windows.size(), 2u) << to_string(p);
    EXPECT_EQ(cell.windows[0].fault, 0u);
    EXPECT_EQ(cell.windows[1].fault, 2u);
    for (const RecoveryWindowCell& w : cell.windows) {
      EXPECT_EQ(w.detect.values.size(), 3u) << to_string(p) << " window " << w.fault;
      EXPECT_EQ(w.back.values.size(), 3u) << to_string(p) << " window " << w.fault;
      const RecoveryFloors f = recovery_floors(s, s.faults[w.fault], p);
      for (Duration d : w.detect.values) EXPECT_GE(d, *f.detect) << to_string(p) << " window " << w.fault;
    }
  }
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
    ASSERT_EQ(cell.windows.size(), 1u);
    const RecoveryWindowCell& w = cell.windows[0];
    ASSERT_FALSE(w.detect.values.empty()) << to_string(p) << ": the outage is detected";
    ASSERT_FALSE(w.restore.values.empty()) << to_string(p);
    for (Duration d : w.detect.values) {
      ASSERT_TRUE(f.detect) << to_string(p);
      EXPECT_GE(d, *f.detect) << to_string(p);
    }
    for (Duration d : w.restore.values) {
      ASSERT_TRUE(f.restore) << to_string(p);
      EXPECT_GE(d, *f.restore) << to_string(p);
    }
    for (Duration d : w.back.values) EXPECT_GE(d, *f.back) << to_string(p);
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
