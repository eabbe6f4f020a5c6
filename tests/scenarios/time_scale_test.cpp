#include "keel/scenarios/time_scale.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace keel::scenarios
