// The shrinker (keel/scenarios/shrink.h): what it hands back still fails the same expectations
// under the same seed and preset, is no larger than what it was given, is the same every time,
// and a scenario with nothing left to remove comes back as it went in.
#include <gtest/gtest.h>

#include "keel/scenarios/loader.h"
#include "keel/scenarios/runner.h"
#include "keel/scenarios/shrink.h"
#include "keel/scenarios/to_json.h"

namespace keel::scenarios {
namespace {

// Fails under camel_parity (no breaker: every step keeps trying the hanging primary), passes
// under keel_default. Two faults, two providers and a tool nothing needs; six agents.
constexpr const char* kFailing = R"({
  "keel_scenario": 1, "name": "shrink_me", "horizon": "10m",
  "providers": [{"name": "primary", "latency": {"uniform": ["200ms", "800ms"]}}, {"name": "backup"}, {"name": "spare"}],
  "tools": [{"name": "search"}],
  "faults": [
    {"target": "backup", "kind": "slow", "extra_latency": {"fixed": "100ms"}, "probability": 0.2},
    {"target": "primary", "kind": "hang", "from": "1s"},
    {"target": "primary", "kind": "server_error", "probability": 0.3}
  ],
  "workload": {"kind": "agents", "count": 6, "steps": 3, "start": {"every": "1s"}},
  "expect": {"success_rate_min": 1.0, "calls": {"backup": {"min": 0}}, "tasks_failed_max": 100}
})";
constexpr std::uint64_t kSeed = 4;
constexpr Preset kPreset = Preset::camel_parity;

Scenario load(const std::string& text) {
  LoadResult loaded = load_scenario(text, "shrink_test");
  EXPECT_TRUE(loaded.ok()) << loaded.describe();
  return *loaded.scenario;
}

ShrinkResult shrink(const Scenario& s, const Failure& f, std::size_t max_runs = 2000) {
  Result<ShrinkResult> r = shrink_scenario(s, f, {.seed = kSeed, .preset = kPreset, .max_runs = max_runs, .source = "x.json"});
  EXPECT_TRUE(r) << (r ? "" : r.error().describe());
  return r ? std::move(*r) : ShrinkResult{};
}

std::int64_t agents(const Scenario& s) { return std::get<AgentsWorkload>(s.workload).count; }
std::int64_t steps(const Scenario& s) { return std::get<AgentsWorkload>(s.workload).steps; }

class ShrinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    original = load(kFailing);
    Result<Failure> f = failure_of(original, kSeed, kPreset);
    ASSERT_TRUE(f);
    failure = *f;
    ASSERT_EQ(failure.failing, (std::set<std::string>{"success_rate_min"}));
    ASSERT_EQ(failure.passing, (std::vector<std::string>{"tasks_failed_max", "calls.backup.min"}));
  }
  Scenario original;
  Failure failure;
};

TEST_F(ShrinkTest, TheShrunkScenarioStillFailsTheSameExpectationsUnderItsOwnSeedAndPreset) {
  const ShrinkResult r = shrink(original, failure);
  EXPECT_EQ(r.scenario.seed, kSeed);
  EXPECT_EQ(r.scenario.runtime.preset, kPreset);
  // Replayed from the written file, as a user would: no seed or preset given.
  const Scenario reloaded = load(to_json_text(r.scenario));
  Result<RunReport> run = run_scenario(reloaded);
  ASSERT_TRUE(run);
  EXPECT_FALSE(run->passed);
  ASSERT_EQ(run->expectations.size(), 1u) << "the expectations that passed are gone";
  EXPECT_EQ(run->expectations[0].name, "success_rate_min");
  EXPECT_FALSE(run->expectations[0].passed);
}

TEST_F(ShrinkTest, TheShrunkScenarioIsSmallerAndNeverLarger) {
  const ShrinkResult r = shrink(original, failure);
  EXPECT_LT(r.scenario.faults.size(), original.faults.size());
  EXPECT_LE(r.scenario.providers.size(), original.providers.size());
  EXPECT_LT(r.scenario.tools.size(), original.tools.size()) << "nothing calls the tool";
  EXPECT_LE(agents(r.scenario), agents(original));
  EXPECT_LE(steps(r.scenario), steps(original));
  EXPECT_LT(agents(r.scenario) * steps(r.scenario), agents(original) * steps(original));
  EXPECT_FALSE(r.log.empty());
  EXPECT_GT(r.runs, 0u);
  EXPECT_FALSE(r.budget_hit);
  EXPECT_EQ(r.scenario.name, "shrink_me_shrunk");
  EXPECT_NE(r.scenario.description.find("seed 4, preset camel_parity"), std::string::npos) << r.scenario.description;
}

TEST_F(ShrinkTest, ShrinkingIsDeterministic) {
  const ShrinkResult a = shrink(original, failure);
  const ShrinkResult b = shrink(original, failure);
  EXPECT_EQ(to_json_text(a.scenario), to_json_text(b.scenario));
  EXPECT_EQ(a.log, b.log);
  EXPECT_EQ(a.runs, b.runs);
}

TEST_F(ShrinkTest, AnAlreadyMinimalScenarioComesBackUnchanged) {
  const ShrinkResult once = shrink(original, failure);
  Result<Failure> again_failure = failure_of(once.scenario, kSeed, kPreset);
  ASSERT_TRUE(again_failure);
  ASSERT_EQ(again_failure->failing, failure.failing);
  const ShrinkResult twice = shrink(once.scenario, *again_failure);
  EXPECT_TRUE(twice.log.empty()) << twice.log.front();
  Scenario expected = once.scenario;  // only the name and description say it was shrunk again
  expected.name = twice.scenario.name;
  expected.description = twice.scenario.description;
  EXPECT_EQ(to_json_text(twice.scenario), to_json_text(expected));
}

TEST_F(ShrinkTest, ARunBudgetStopsTheSearchWithAScenarioThatStillFails) {
  const ShrinkResult r = shrink(original, failure, 3);
  EXPECT_TRUE(r.budget_hit);
  EXPECT_LE(r.runs, 3u);
  Result<Failure> f = failure_of(r.scenario, kSeed, kPreset);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->failing, failure.failing);
}

TEST(ShrinkFailure, APassingRunHasNothingToShrink) {
  const Scenario s = load(kFailing);
  Result<Failure> f = failure_of(s, kSeed, Preset::keel_default);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->failing.empty());
  EXPECT_EQ(f->passing.size(), 3u);
}

TEST(ShrinkFailure, AFailureThatDoesNotReproduceIsAnError) {
  const Scenario s = load(kFailing);
  const Failure invented{.failing = {"tasks_failed_max"}};  // passes under this seed
  Result<ShrinkResult> r = shrink_scenario(s, invented, {.seed = kSeed, .preset = kPreset});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::internal);
}

}  // namespace
}  // namespace keel::scenarios
