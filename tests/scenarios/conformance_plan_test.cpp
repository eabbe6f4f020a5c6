// keel/scenarios/conformance.h: which runs a suite asks for, how shards split them, when a run
// conforms, and the table rows.
#include <gtest/gtest.h>

#include "keel/scenarios/conformance.h"
#include "keel/scenarios/loader.h"

namespace keel::scenarios {
namespace {

Scenario scenario(const std::string& name, const std::string& expected) {
  LoadResult loaded = load_scenario(R"({"keel_scenario": 1, "name": ")" + name + R"(",
    "providers": [{"name": "p"}], "workload": {"kind": "agents"}, "expect": {"success_rate_min": 1.0})" +
                                        (expected.empty() ? "" : R"(, "expected": )" + expected) + "}",
                                    name);
  EXPECT_TRUE(loaded.ok()) << loaded.describe();
  return *loaded.scenario;
}

TEST(ConformancePlan, EachScenarioRunsUnderThePresetsItsExpectedBlockNames) {
  const Scenario both = scenario("both", R"({"keel_default": "pass", "camel_parity": "fail"})");
  const Scenario plain = scenario("plain", "");
  const std::vector<const Scenario*> list = {&both, nullptr, &plain};  // the middle one did not load
  const std::vector<ConformanceRun> runs = plan_conformance(list, 2, std::nullopt, {});
  ASSERT_EQ(runs.size(), 6u);  // both: 2 seeds x 2 presets; plain: 2 seeds x its own preset
  EXPECT_EQ(runs[0].scenario, 0u);
  EXPECT_EQ(runs[0].preset, Preset::keel_default);
  EXPECT_EQ(runs[1].preset, Preset::camel_parity);
  EXPECT_EQ(runs[1].expected, Outcome::fail);
  EXPECT_EQ(runs[2].seed, 2u);
  EXPECT_EQ(runs[4].scenario, 2u);
  EXPECT_EQ(runs[4].expected, Outcome::pass);
}

TEST(ConformancePlan, ShardsPartitionTheScenarioSeedPairs) {
  const Scenario a = scenario("a", R"({"keel_default": "pass", "camel_parity": "fail"})");
  const Scenario b = scenario("b", "");
  const std::vector<const Scenario*> list = {&a, &b};
  const std::size_t all = plan_conformance(list, 3, std::nullopt, {}).size();
  std::size_t sum = 0;
  for (std::uint64_t k = 0; k < 2; ++k) {
    sum += plan_conformance(list, 3, std::nullopt, [k](std::uint64_t pos) { return pos % 2 == k; }).size();
  }
  EXPECT_EQ(sum, all);
  EXPECT_EQ(plan_conformance(list, 3, Preset::camel_parity, {}).size(), 6u) << "an override is the only preset";
}

TEST(ConformancePlan, AnExpectedFailureThatPassesDoesNotConform) {
  ConformanceRun r{.preset = Preset::camel_parity, .expected = Outcome::fail};
  r.outcome.ran = true;
  r.outcome.passed = true;
  EXPECT_FALSE(r.conforming());
  EXPECT_EQ(conformance_verdict(r), "expected to fail under camel_parity but passed");
  r.outcome.passed = false;
  EXPECT_TRUE(r.conforming());
  r.outcome.ran = false;
  r.outcome.error = "boom";
  EXPECT_FALSE(r.conforming());
  EXPECT_EQ(conformance_verdict(r), "could not run under camel_parity: boom");
}

TEST(ConformancePlan, RowsCountConformingRunsPerScenarioAndPreset) {
  const Scenario a = scenario("a", "");
  const std::vector<const Scenario*> list = {&a};
  std::vector<ConformanceRun> runs = plan_conformance(list, 2, std::nullopt, {});
  runs[0].outcome = {.ran = true, .passed = true, .trace_hash = "abc"};
  runs[1].outcome = {.ran = true, .passed = false};
  const std::vector<ConformanceRow> rows = conformance_rows(list, runs);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].scenario, "a");
  EXPECT_EQ(rows[0].conforming, 1u);
  EXPECT_EQ(rows[0].total, 2u);
  EXPECT_EQ(rows[0].seed1, "abc");
  EXPECT_EQ(conformance_test_name("a", Preset::keel_default, 2), "a[keel_default,seed=2]");
}

}  // namespace
}  // namespace keel::scenarios
