#include "keel/policy/pipeline.h"

#include <gtest/gtest.h>

#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/sim/simulator.h"

namespace keel::policy {
namespace {

using namespace std::chrono_literals;

TimePoint at(Duration d) { return TimePoint{} + d; }

// An operation whose i-th call follows a script: a latency and an outcome (or a hang).
struct Script {
  struct Step {
    Duration latency{};
    std::optional<ErrorCode> error;
    bool hang = false;
  };
  std::vector<Step> steps;
  int calls = 0;
  std::vector<TimePoint> started;

  Task<Result<int>> run(Scheduler* s) {
    const Step step = steps[std::min<std::size_t>(calls, steps.size() - 1)];
    ++calls;
    started.push_back(s->now());
    if (step.hang) {
      Status st = co_await until_cancelled();
      co_return st.error();
    }
    if (Status st = co_await sleep_for(step.latency); !st) co_return st.error();
    if (step.error) co_return Error(*step.error);
    co_return calls;
  }
};

struct Outcome {
  Result<int> r = Error(ErrorCode::internal);
  TimePoint at{};
};

template <class F>
Outcome run(sim::Simulator& sim, F make) {
  Outcome out;
  spawn(sim, make(), [&](Result<int> r) {
    out.r = std::move(r);
    out.at = sim.now();
  });
  sim.run_until_idle();
  return out;
}

TEST(Pipeline, EmptyPipelineJustRunsTheOperation) {
  sim::Simulator sim;
  Script op{{{5ms}}};
  Pipeline p{{}, Rng{1}};
  auto out = run(sim, [&] { return p.execute([&] { return op.run(&sim); }); });
  ASSERT_TRUE(out.r);
  EXPECT_EQ(out.at, at(5ms));
}

TEST(Pipeline, AttemptTimeoutIsInsideTheRetryAndCountsAsABreakerFailure) {
  sim::Simulator sim;
  Script op{{{.hang = true}, {.hang = true}, {10ms}}};
  PipelineConfig c;
  c.retry = RetryConfig{.max_attempts = 3, .backoff = {.base = 100ms, .max = 100ms, .jitter = Jitter::none}};
  c.breaker = CircuitBreakerConfig{.min_calls = 100};
  c.attempt_timeout = 1s;
  Pipeline p{c, Rng{1}};
  auto out = run(sim, [&] { return p.execute([&] { return op.run(&sim); }); });
  ASSERT_TRUE(out.r);
  EXPECT_EQ(out.at, at(1s + 100ms + 1s + 100ms + 10ms));
  EXPECT_EQ(p.breaker()->counters().failures, 2u);
  EXPECT_EQ(p.breaker()->counters().successes, 1u);
}

TEST(Pipeline, OverallTimeoutBoundsRetriesAndFallbackAnswersAfterwards) {
  sim::Simulator sim;
  Script op{{{200ms, ErrorCode::server_error}}};
  PipelineConfig c;
  c.overall_timeout = 1s;
  c.retry = RetryConfig{.max_attempts = 100, .backoff = {.base = 100ms, .max = 100ms, .jitter = Jitter::none}};
  Pipeline p{c, Rng{1}};
  ErrorCode seen = ErrorCode::internal;
  auto fallback = [&](const Error& e) -> Task<Result<int>> {
    seen = e.code;
    co_return -1;
  };
  auto out = run(sim, [&] { return p.execute([&] { return op.run(&sim); }, fallback); });
  ASSERT_TRUE(out.r);
  EXPECT_EQ(*out.r, -1);
  EXPECT_EQ(seen, ErrorCode::timeout);
  EXPECT_EQ(out.at, at(1s));
  EXPECT_EQ(p.fallbacks_used(), 1u);
}

TEST(Pipeline, AnOpenBreakerEndsRetriesWithoutCallingTheOperation) {
  sim::Simulator sim;
  Script op{{{1ms, ErrorCode::server_error}}};
  PipelineConfig c;
  c.retry = RetryConfig{.max_attempts = 10, .backoff = {.base = 10ms, .max = 10ms, .jitter = Jitter::none}};
  c.breaker = CircuitBreakerConfig{.consecutive_failures = 2, .open_for = 1h};
  Pipeline p{c, Rng{1}};
  auto out = run(sim, [&] { return p.execute([&] { return op.run(&sim); }); });
  ASSERT_FALSE(out.r);
  EXPECT_EQ(out.r.error().code, ErrorCode::circuit_open);
  EXPECT_EQ(op.calls, 2);
}

TEST(Pipeline, BulkheadFullIsReturnedAndDoesNotCountAgainstTheBreaker) {
  sim::Simulator sim;
  Script op{{{1s}}};
  PipelineConfig c;
  c.breaker = CircuitBreakerConfig{.consecutive_failures = 1};
  c.bulkhead = BulkheadConfig{.max_concurrent = 1};
  Pipeline p{c, Rng{1}};
  Outcome first, second;
  spawn(sim, p.execute([&] { return op.run(&sim); }), [&](Result<int> r) { first.r = std::move(r); });
  spawn(sim, p.execute([&] { return op.run(&sim); }), [&](Result<int> r) { second.r = std::move(r); });
  sim.run_until_idle();
  EXPECT_TRUE(first.r);
  ASSERT_FALSE(second.r);
  EXPECT_EQ(second.r.error().code, ErrorCode::bulkhead_full);
  EXPECT_EQ(p.breaker()->counters().to_open, 0u);
  EXPECT_EQ(p.breaker()->counters().failures, 0u);
}

TEST(Pipeline, WarmSuccessPathTakesNothingFromTheHeap) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "frame pooling is off under AddressSanitizer";
#endif
  sim::Simulator sim;
  PipelineConfig c;
  c.overall_timeout = 10s;
  c.retry = RetryConfig{};
  c.budget = RetryBudgetConfig{};
  c.breaker = CircuitBreakerConfig{};
  c.bulkhead = BulkheadConfig{.max_concurrent = 4};
  c.rate_limiter = RateLimiterConfig{.requests_per_minute = 1'000'000'000};
  c.attempt_timeout = 5s;
  Pipeline p{c, Rng{1}};
  auto op = []() -> Task<Result<int>> { co_return 1; };
  auto loop = [&](int n) -> Task<Result<int>> {
    int sum = 0;
    for (int i = 0; i < n; ++i) sum += *co_await p.execute(op);
    co_return sum;
  };
  spawn(sim, loop(10));
  sim.run_until_idle();
  const auto before = frame_heap_allocations();
  Result<int> got = 0;
  spawn(sim, loop(1000), [&](Result<int> r) { got = std::move(r); });
  sim.run_until_idle();
  EXPECT_EQ(*got, 1000);
  EXPECT_EQ(frame_heap_allocations() - before, 0u);
}

}  // namespace
}  // namespace keel::policy
