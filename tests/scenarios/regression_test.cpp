// Runtime regressions found by sweeping scenarios over seeds.
#include <gtest/gtest.h>

#include "keel/scenarios/loader.h"
#include "keel/scenarios/runner.h"

namespace keel::scenarios {
namespace {

// A burst over a provider's RPM limit: every 429 carries an exact retry-after. Under
// keel_default those 429s used to open the breaker, whose half-open probes then refused most
// of the retries the retry-after had scheduled (7 of 20 steps failed with circuit_open).
TEST(ScenarioRegression, RpmBurstIsServedByRetryAfterNotRefusedByTheBreaker) {
  const LoadResult loaded = load_scenario(R"({
    "keel_scenario": 1, "name": "rpm_burst", "horizon": "10m",
    "providers": [{"name": "p", "latency": {"fixed": "500ms"}, "limits": {"requests_per_minute": 10}}],
    "workload": {"kind": "agents", "count": 20, "steps": 1},
    "expect": {"success_rate_min": 1.0}
  })", "rpm_burst");
  ASSERT_TRUE(loaded.ok()) << loaded.describe();
  for (std::uint64_t seed : {1, 2, 3, 7, 19}) {
    Result<RunReport> r = run_scenario(*loaded.scenario, {.seed = seed, .preset = Preset::keel_default});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->tasks.succeeded, 20) << "seed " << seed;
    EXPECT_EQ(r->breaker_opens[0].second, 0) << "seed " << seed;
  }
}

}  // namespace
}  // namespace keel::scenarios
