#include "keel/scenarios/time_scale.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "keel/scenarios/loader.h"
#include "keel/scenarios/run_environment.h"
#include "keel/scenarios/runner.h"
#include "keel/sim/mock_provider.h"
#include "keel/sim/simulator.h"

namespace keel::scenarios {
namespace {

using namespace std::chrono_literals;

TEST(TimeScale, ScalesDurationsKeepingZeroAndNeverAndAtLeastOneNanosecond) {
  EXPECT_EQ(scaled(Duration{30s}, 0.01), Duration{300ms});
  EXPECT_EQ(scaled(Duration::zero(), 0.01), Duration::zero());
  EXPECT_EQ(scaled(Duration::max(), 0.01), Duration::max());
  EXPECT_EQ(scaled(Duration{1}, 0.001), Duration{1});
  EXPECT_EQ(scaled(Duration{std::chrono::hours{1'000'000}}, 1e9), Duration::max());
}

TEST(TimeScale, ScalesEveryRuntimeDurationOfAPreset) {
  RuntimeConfig cfg = preset_config(Preset::keel_default);
  const RuntimeConfig before = cfg;
  scale_durations(cfg, 0.5);
  EXPECT_EQ(cfg.manager.retry.backoff.base, before.manager.retry.backoff.base / 2);
  EXPECT_EQ(cfg.manager.retry.max_retry_after, before.manager.retry.max_retry_after / 2);
  EXPECT_EQ(*cfg.manager.attempt_timeout, *before.manager.attempt_timeout / 2);
  EXPECT_EQ(*cfg.manager.call_timeout, *before.manager.call_timeout / 2);
  EXPECT_EQ(cfg.manager.breaker->open_for, before.manager.breaker->open_for / 2);
  EXPECT_EQ(*cfg.manager.breaker->max_half_open_wait, *before.manager.breaker->max_half_open_wait / 2);
  EXPECT_EQ(*cfg.agent.step_timeout, *before.agent.step_timeout / 2);
  EXPECT_EQ(*cfg.tool_timeout, *before.tool_timeout / 2);
}

// A plan that records the time it was asked at and answers a rate limit with a retry-after.
struct RecordingHook final : sim::FaultHook {
  std::optional<sim::InjectedFault> decide(std::string_view, TimePoint now, std::uint64_t) override {
    asked_at = now;
    return sim::InjectedFault{.kind = sim::FaultKind::rate_limit, .retry_after = Duration{2s}};
  }
  TimePoint asked_at{};
};

TEST(TimeScale, ScaledFaultHookAsksInScenarioTimeAndAnswersInRunTime) {
  RecordingHook plan;
  ScaledFaultHook hook{plan, 0.1};
  std::optional<sim::InjectedFault> f = hook.decide("p", TimePoint{} + 1s, 0);
  EXPECT_EQ(plan.asked_at, TimePoint{} + 10s);
  ASSERT_TRUE(f);
  EXPECT_EQ(*f->retry_after, Duration{200ms});
}

// A "live" run on virtual time: the runner sees a RunEnvironment at scale F (as `keel run
// --live` does) but the scheduler is a simulator, so what a live run would wait is exact.
class ScaledSimulation final : public RunEnvironment {
 public:
  ScaledSimulation(const Scenario& s, double f) : f_(f), sim_(std::make_unique<sim::Simulator>()) {
    for (const Provider& p : s.providers) {
      providers_.push_back(std::make_unique<sim::MockProvider>(
          *sim_, sim::MockProviderConfig{.name = p.name, .latency = scaled(p.latency, f)}, Rng{1}));
    }
  }
  Scheduler& scheduler() override { return *sim_; }
  double time_scale() const override { return f_; }
  model::ModelTransport& provider(std::size_t i) override { return *providers_[i]; }
  ProviderTally provider_tally(std::size_t i) const override {
    return {static_cast<std::int64_t>(providers_[i]->stats().requests),
            static_cast<std::int64_t>(providers_[i]->stats().max_prompt_tokens)};
  }
  // Like the live environment: until done() holds (then `ended` is that instant) or `until`.
  void run_until(TimePoint until, const std::function<bool()>& done) override {
    while (!done()) {
      const std::optional<TimePoint> next = sim_->next_wakeup();
      if (!next || *next > until) break;
      (void)sim_->run_until(*next);
    }
    ended = sim_->now();
  }
  void finish() override {
    providers_.clear();
    sim_.reset();  // destroys what is still suspended
  }
  TimePoint ended{};

 private:
  double f_;
  std::unique_ptr<sim::Simulator> sim_;
  std::vector<std::unique_ptr<sim::MockProvider>> providers_;
};

Scenario suite(const char* file) {
  LoadResult r = load_scenario_file(std::filesystem::path(KEEL_SOURCE_DIR) / "scenarios" / "suite" / file);
  EXPECT_TRUE(r.ok()) << r.describe();
  return r.ok() ? std::move(r).value() : Scenario{};
}

// Regression: the workforce's retry_delay (and its cap) and the tool runner's backoff were not
// scaled, so workforce_parallel_retry took 87.6 s at F = 0.05 instead of about 0.45 s.
TEST(TimeScale, ALiveRunScalesTheWorkforceRetryDelay) {
  const Scenario s = suite("workforce_parallel_retry.json");
  ScaledSimulation live{s, 0.05};
  Result<RunReport> r = run_scenario(s, RunOptions{.environment = &live});
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_TRUE(r->passed);
  EXPECT_LE(live.ended, TimePoint{450ms + 1ms}) << "9 s of scenario time at F = 0.05";
  EXPECT_LE(r->virtual_end, 9001ms);
}

TEST(TimeScale, ALiveRunScalesTheToolRunnersRetryBackoff) {
  // Idempotent `search` fails twice and is retried by the runner (200 ms, 400 ms ceilings).
  const Scenario s = suite("tool_error_idempotency.json");
  ScaledSimulation sim_run{s, 1.0};
  Result<RunReport> at_one = run_scenario(s, RunOptions{.environment = &sim_run});
  ScaledSimulation live{s, 0.01};
  Result<RunReport> scaled_run = run_scenario(s, RunOptions{.environment = &live});
  ASSERT_TRUE(at_one && scaled_run);
  // Same seed, same draws: at F every wait is F times as long, to within a microsecond per wait.
  const auto expected = static_cast<double>(sim_run.ended.time_since_epoch().count()) * 0.01;
  EXPECT_NEAR(static_cast<double>(live.ended.time_since_epoch().count()), expected, 50'000.0);
}

TEST(TimeScale, LiveRunsJudgeTimeBoundsWithAStatedTolerance) {
  RunReport r;
  r.latency_max = 2001ms;
  r.virtual_end = 2001ms;
  Expect e;
  e.latency = LatencyExpect{.max = 2s};
  e.finished_before = 2001ms;
  std::vector<ExpectationResult> strict = evaluate_expectations(e, r);
  ASSERT_EQ(strict.size(), 2u);
  EXPECT_FALSE(strict[0].passed);  // the simulator: exact
  EXPECT_FALSE(strict[1].passed);
  r.time_tolerance = scaled(kLiveTimeTolerance, 1.0 / 0.05);  // live at F = 0.05
  EXPECT_EQ(r.time_tolerance, kLiveTimeTolerance * 20);
  std::vector<ExpectationResult> live = evaluate_expectations(e, r);
  EXPECT_TRUE(live[0].passed);
  EXPECT_TRUE(live[1].passed);
  EXPECT_NE(live[0].detail.find("live tolerance"), std::string::npos) << live[0].detail;
  r.latency_max = 2s + r.time_tolerance + 1ms;  // beyond the tolerance: still a failure
  EXPECT_FALSE(evaluate_expectations(e, r)[0].passed);
}

}  // namespace
}  // namespace keel::scenarios
