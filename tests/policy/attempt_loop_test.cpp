// The attempt loop's own contract (attempt_loop.h): the order of its steps and hooks, `again`
// and `stop`, prechecks, exceptions (the breaker permit given back, or converted by the plan), and a
// plan's own retry configuration. Its configurations (Retry, Pipeline, ModelManager,
// ToolRunner) have their own tests.
#include "keel/policy/attempt_loop.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "keel/core/spawn.h"
#include "keel/sim/simulator.h"

namespace keel::policy {
namespace {

using namespace std::chrono_literals;

// What a test plan does on each attempt, and the log of every hook it saw.
struct Scenario {
  std::vector<std::optional<ErrorCode>> outcomes;  // attempt i: an error, or nullopt = success
  bool throw_on_first = false;
  std::vector<std::string> log;
  std::optional<Error> precheck_error;
  AttemptNext after = AttemptNext::usual;   // after_attempt's answer for attempt 1
  AttemptNext failure = AttemptNext::usual; // on_failure's answer
  int attempts = 0;
};

Task<Result<int>> scripted(Scenario* s, int n) {
  co_await sleep_for(1ms);
  const auto& o = s->outcomes[std::min<std::size_t>(static_cast<std::size_t>(n - 1), s->outcomes.size() - 1)];
  if (n == 1 && s->throw_on_first) throw std::runtime_error("boom");
  if (o) co_return Error(*o);
  co_return n;
}

struct LoggingPlan : AttemptPlan {
  using Value = Result<int>;
  Scenario* s;
  Retry* r = nullptr;
  CircuitBreaker* br = nullptr;

  Retry* retry() const noexcept { return r; }
  CircuitBreaker* breaker() const noexcept { return br; }
  std::optional<Error> precheck(const this_task::TaskContext&, TimePoint) {
    s->log.push_back("precheck");
    return s->precheck_error;
  }
  void started(int n, TimePoint) { s->log.push_back("started " + std::to_string(n)); }
  void admitted(TimePoint) { s->log.push_back("admitted"); }
  Task<Value> attempt(int n) {
    ++s->attempts;
    s->log.push_back("attempt " + std::to_string(n));
    return scripted(s, n);
  }
  std::optional<Deadline> attempt_deadline(TimePoint start, Deadline) const noexcept {
    return Deadline::after(start, 10s);
  }
  AttemptNext after_attempt(Value& v, TimePoint, TimePoint) {
    s->log.push_back(v ? "after ok" : "after error");
    const AttemptNext a = s->after;
    s->after = AttemptNext::usual;  // once
    return a;
  }
  AttemptNext on_failure(const Error& e, TimePoint, TimePoint) {
    s->log.push_back(std::string{"failure "}.append(to_string(e.code)));
    return s->failure;
  }
  void before_backoff(const RetryDecision& d, const Error&, int n, TimePoint) {
    s->log.push_back("backoff " + std::to_string(n) + " " + std::string{to_string(d.reason)});
  }
};

// A plan that turns exceptions into tool errors and brings its own retry configuration.
struct ConvertingPlan : LoggingPlan {
  static constexpr bool converts_exceptions = true;
  RetryConfig own;
  const RetryConfig* retry_config() const noexcept { return &own; }
  Error thrown(std::exception_ptr) {
    s->log.push_back("thrown");
    return Error(ErrorCode::tool_error, "converted");
  }
};

template <class Plan>
Result<int> drive(sim::Simulator& sim, Plan plan) {
  Result<int> out = Error(ErrorCode::internal, "not finished");
  spawn(sim, run_attempts(std::move(plan)), [&](Result<int> r) { out = std::move(r); });
  sim.run_until_idle();
  return out;
}

RetryConfig quick_retries(int attempts) {
  RetryConfig c;
  c.max_attempts = attempts;
  c.backoff = BackoffConfig{.base = 10ms, .max = 10ms, .multiplier = 1.0, .jitter = Jitter::none};
  return c;
}

TEST(AttemptLoop, RunsItsStepsInTheDocumentedOrderAndRetriesToASuccess) {
  sim::Simulator sim;
  Rng rng{1};
  Retry retry{quick_retries(3), rng};
  Scenario s{.outcomes = {ErrorCode::server_error, std::nullopt}};
  LoggingPlan plan;
  plan.s = &s;
  plan.r = &retry;
  const Result<int> r = drive(sim, plan);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(*r, 2);
  EXPECT_EQ(s.log, (std::vector<std::string>{"precheck", "started 1", "admitted", "attempt 1", "after error",
                                             "failure server_error", "backoff 1 retry", "precheck", "started 2",
                                             "admitted", "attempt 2", "after ok"}));
  EXPECT_EQ(retry.counters().count(RetryReason::retry), 1u);
  EXPECT_EQ(retry.counters().successes, 1u);
}

TEST(AttemptLoop, AgainAttemptsAtOnceWithoutADecision) {
  sim::Simulator sim;
  Rng rng{1};
  Retry retry{quick_retries(1), rng};  // no retry allowed: only `again` can run a second attempt
  Scenario s{.outcomes = {ErrorCode::invalid_request, std::nullopt}, .after = AttemptNext::again};
  LoggingPlan plan;
  plan.s = &s;
  plan.r = &retry;
  const Result<int> r = drive(sim, plan);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(s.attempts, 2);
  EXPECT_EQ(retry.counters().attempts, 2u);
  for (std::size_t i = 0; i < kRetryReasonCount; ++i) {
    EXPECT_EQ(retry.counters().decisions[i], 0u) << to_string(static_cast<RetryReason>(i));
  }
}

TEST(AttemptLoop, StopEndsWithTheErrorDecidedNotRetryableWhateverThePolicySays) {
  sim::Simulator sim;
  Rng rng{1};
  Retry retry{quick_retries(5), rng};
  Scenario s{.outcomes = {ErrorCode::server_error}, .failure = AttemptNext::stop};
  LoggingPlan plan;
  plan.s = &s;
  plan.r = &retry;
  const Result<int> r = drive(sim, plan);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::server_error);
  EXPECT_EQ(s.attempts, 1);
  EXPECT_EQ(retry.counters().count(RetryReason::not_retryable), 1u);
  EXPECT_EQ(retry.counters().count(RetryReason::retry), 0u);
}

TEST(AttemptLoop, APrecheckErrorEndsTheLoopBeforeAnyAttempt) {
  sim::Simulator sim;
  Rng rng{1};
  Retry retry{quick_retries(3), rng};
  Scenario s{.outcomes = {std::nullopt}, .precheck_error = Error(ErrorCode::timeout, "no time left")};
  LoggingPlan plan;
  plan.s = &s;
  plan.r = &retry;
  const Result<int> r = drive(sim, plan);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "no time left");
  EXPECT_EQ(s.attempts, 0);
  EXPECT_EQ(retry.counters().attempts, 0u);
  EXPECT_EQ(s.log, std::vector<std::string>{"precheck"});
}

TEST(AttemptLoop, AnExceptionGivesTheBreakerPermitBackAndPropagates) {
  sim::Simulator sim;
  CircuitBreaker breaker{CircuitBreakerConfig{.name = "t", .size = 1, .min_calls = 1}};
  Scenario s{.outcomes = {std::nullopt}, .throw_on_first = true};
  LoggingPlan plan;
  plan.s = &s;
  plan.br = &breaker;
  bool threw = false;
  spawn(sim, [](LoggingPlan p, bool* flag) -> Task<void> {
    try {
      (void)co_await run_attempts(std::move(p));
    } catch (const std::runtime_error&) {
      *flag = true;
    }
  }(plan, &threw));
  sim.run_until_idle();
  EXPECT_TRUE(threw);
  // The permit came back, recorded as `internal` — which the breaker ignores (our exception
  // says nothing about the target) — rather than leaked or counted as a success.
  EXPECT_EQ(breaker.counters().permitted, 1u);
  EXPECT_EQ(breaker.counters().ignored, 1u);
  EXPECT_EQ(breaker.counters().successes, 0u);
}

TEST(AttemptLoop, APlanThatConvertsExceptionsRetriesUnderItsOwnConfiguration) {
  sim::Simulator sim;
  Rng rng{1};
  Retry retry{quick_retries(1), rng};  // the Retry alone would not retry
  Scenario s{.outcomes = {std::nullopt}, .throw_on_first = true};
  ConvertingPlan plan;
  plan.s = &s;
  plan.r = &retry;
  plan.own = quick_retries(2);
  plan.own.retryable.insert(ErrorCode::tool_error);
  const Result<int> r = drive(sim, plan);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(s.attempts, 2);
  EXPECT_EQ(s.log[4], "thrown");
  EXPECT_EQ(retry.counters().count(RetryReason::retry), 1u);
}

}  // namespace
}  // namespace keel::policy
