// Retry: the pure decision (every reason, its order, server hints) and the async loop in
// virtual time (backoff timing, retry-after, deadlines, attempt timeouts, cancellation,
// budget accounting, counters and events).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "keel/core/event.h"
#include "keel/core/frame_allocator.h"
#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/core/timeout.h"
#include "keel/policy/retry.h"
#include "keel/sim/simulator.h"

namespace keel::policy {
namespace {

using namespace std::chrono_literals;
using sim::Simulator;

TimePoint at(Duration d) { return TimePoint{} + d; }

RetryConfig no_jitter(int max_attempts = 3, Duration base = 500ms) {
  RetryConfig c;
  c.max_attempts = max_attempts;
  c.backoff = {.base = base, .max = std::max<Duration>(8s, base), .multiplier = 2.0, .jitter = Jitter::none};
  return c;
}

Error err(ErrorCode c, std::string msg = {}) { return Error{c, std::move(msg)}; }

// ---------------------------------------------------------------------------------------------
// decide()

struct DecideFixture : ::testing::Test {
  RetryConfig cfg = no_jitter();
  Rng rng{5};
  Backoff backoff{cfg.backoff};
  RetryDecision call(const Error& e, int attempts_made = 1, std::optional<bool> hint = std::nullopt,
                     Deadline overall = Deadline::never(), RetryBudget* budget = nullptr,
                     TimePoint now = {}) {
    return decide(cfg, e, hint, attempts_made, now, overall, budget, rng, backoff);
  }
};

TEST_F(DecideFixture, RetriesARetryableErrorAfterTheBackoffDelay) {
  const RetryDecision d = call(err(ErrorCode::server_error));
  EXPECT_EQ(d.reason, RetryReason::retry);
  EXPECT_TRUE(d.retry());
  EXPECT_EQ(d.delay, 500ms);
  EXPECT_FALSE(d.grant);
  EXPECT_EQ(call(err(ErrorCode::timeout), 2).delay, 1s);
}

TEST_F(DecideFixture, EveryReasonIsReachable) {
  RetryBudget drained{{.max_tokens = 2, .token_ratio = 0}};
  drained.on_failure();
  EXPECT_EQ(call(err(ErrorCode::cancelled)).reason, RetryReason::cancelled);
  EXPECT_EQ(call(err(ErrorCode::invalid_request)).reason, RetryReason::not_retryable);
  EXPECT_EQ(call(err(ErrorCode::server_error), 3).reason, RetryReason::attempts_exhausted);
  EXPECT_EQ(call(err(ErrorCode::rate_limited).with_retry_after(61s)).reason,
            RetryReason::retry_after_too_long);
  EXPECT_EQ(call(err(ErrorCode::server_error), 1, {}, Deadline::at(at(500ms))).reason, RetryReason::deadline);
  EXPECT_EQ(call(err(ErrorCode::server_error), 1, {}, Deadline::never(), &drained).reason,
            RetryReason::budget_exhausted);
  EXPECT_EQ(call(err(ErrorCode::server_error)).reason, RetryReason::retry);
}

TEST_F(DecideFixture, DefaultRetryableSetIsTheErrorTaxonomysAdvice) {
  for (const ErrorCodeInfo& info : kErrorCodes) {
    if (info.code == ErrorCode::cancelled) continue;
    EXPECT_EQ(call(err(info.code)).reason, info.retryable ? RetryReason::retry : RetryReason::not_retryable)
        << info.name;
  }
  EXPECT_TRUE(cfg.retryable.contains(ErrorCode::rate_limited));
  EXPECT_FALSE(cfg.retryable.contains(ErrorCode::quota_exhausted));
  EXPECT_FALSE(cfg.retryable.contains(ErrorCode::context_overflow));
}

TEST_F(DecideFixture, RetryOnReplacesTheSet) {
  cfg.retryable = retry_on({ErrorCode::tool_error});
  EXPECT_EQ(call(err(ErrorCode::tool_error)).reason, RetryReason::retry);
  EXPECT_EQ(call(err(ErrorCode::server_error)).reason, RetryReason::not_retryable);
  cfg.retryable.insert(ErrorCode::server_error).erase(ErrorCode::tool_error);
  EXPECT_EQ(call(err(ErrorCode::server_error)).reason, RetryReason::retry);
  EXPECT_EQ(call(err(ErrorCode::tool_error)).reason, RetryReason::not_retryable);
  EXPECT_TRUE(RetryCodeSet{}.empty());
}

TEST_F(DecideFixture, ShouldRetryHintOverridesTheCodeBothWays) {
  EXPECT_EQ(call(err(ErrorCode::invalid_request), 1, true).reason, RetryReason::retry);
  EXPECT_EQ(call(err(ErrorCode::server_error), 1, false).reason, RetryReason::not_retryable);
  EXPECT_EQ(call(err(ErrorCode::cancelled), 1, true).reason, RetryReason::cancelled);  // never
  EXPECT_EQ(call(err(ErrorCode::invalid_request), 3, true).reason, RetryReason::attempts_exhausted);
  cfg.honor_should_retry = false;
  EXPECT_EQ(call(err(ErrorCode::invalid_request), 1, true).reason, RetryReason::not_retryable);
  EXPECT_EQ(call(err(ErrorCode::server_error), 1, false).reason, RetryReason::retry);
}

TEST_F(DecideFixture, RetryAfterRaisesTheDelayUpToTheMaximum) {
  EXPECT_EQ(call(err(ErrorCode::rate_limited).with_retry_after(3s)).delay, 3s);
  EXPECT_EQ(call(err(ErrorCode::rate_limited).with_retry_after(100ms)).delay, 500ms);  // backoff wins
  EXPECT_EQ(call(err(ErrorCode::rate_limited).with_retry_after(60s)).reason, RetryReason::retry);  // == max
  EXPECT_EQ(call(err(ErrorCode::rate_limited).with_retry_after(60s + 1ns)).reason,
            RetryReason::retry_after_too_long);
  cfg.honor_retry_after = false;
  const RetryDecision d = call(err(ErrorCode::rate_limited).with_retry_after(10min));
  EXPECT_EQ(d.reason, RetryReason::retry);
  EXPECT_EQ(d.delay, 500ms);
}

TEST_F(DecideFixture, NeverSchedulesARetryThatCannotStartBeforeTheDeadline) {
  const TimePoint now = at(10s);
  EXPECT_EQ(call(err(ErrorCode::server_error), 1, {}, Deadline::at(now + 500ms), nullptr, now).reason,
            RetryReason::deadline);  // would start exactly at it
  EXPECT_EQ(call(err(ErrorCode::server_error), 1, {}, Deadline::at(now + 500ms + 1ns), nullptr, now).reason,
            RetryReason::retry);
  EXPECT_EQ(
      call(err(ErrorCode::server_error).with_retry_after(5s), 1, {}, Deadline::at(now + 4s), nullptr, now)
          .reason,
      RetryReason::deadline);  // the retry-after counts
  EXPECT_EQ(call(err(ErrorCode::server_error), 1, {}, Deadline::at(now - 1s), nullptr, now).reason,
            RetryReason::deadline);
}

TEST_F(DecideFixture, ReasonsAreCheckedInEnvoyOrder) {
  RetryBudget budget{{.max_tokens = 10, .token_ratio = 0}};
  for (int i = 0; i < 6; ++i) budget.on_failure();  // refuses from now on
  const Deadline passed = Deadline::at(TimePoint{});
  const Error everything = err(ErrorCode::cancelled).with_retry_after(10min);
  EXPECT_EQ(call(everything, 9, false, passed, &budget).reason, RetryReason::cancelled);
  EXPECT_EQ(call(err(ErrorCode::auth).with_retry_after(10min), 9, {}, passed, &budget).reason,
            RetryReason::not_retryable);
  EXPECT_EQ(call(err(ErrorCode::rate_limited).with_retry_after(10min), 9, {}, passed, &budget).reason,
            RetryReason::attempts_exhausted);
  EXPECT_EQ(call(err(ErrorCode::rate_limited).with_retry_after(10min), 1, {}, passed, &budget).reason,
            RetryReason::retry_after_too_long);
  EXPECT_EQ(call(err(ErrorCode::rate_limited), 1, {}, passed, &budget).reason, RetryReason::deadline);
  EXPECT_EQ(budget.counters().refused, 0u) << "the budget is asked last";
  EXPECT_EQ(call(err(ErrorCode::rate_limited), 1, {}, Deadline::never(), &budget).reason,
            RetryReason::budget_exhausted);
  EXPECT_EQ(budget.counters().refused, 1u);
}

TEST_F(DecideFixture, AGrantedRetryHoldsItsBudgetGrantUntilItStarts) {
  RetryBudget budget;
  RetryDecision d = call(err(ErrorCode::server_error), 1, {}, Deadline::never(), &budget);
  ASSERT_TRUE(d.retry());
  ASSERT_TRUE(d.grant);
  EXPECT_EQ(budget.pending(), 1);
  d.grant.start();
  EXPECT_EQ(budget.pending(), 0);
  { RetryDecision abandoned = call(err(ErrorCode::server_error), 1, {}, Deadline::never(), &budget); }
  EXPECT_EQ(budget.pending(), 0);
}

TEST(RetryReasonNames, AreSnakeCase) {
  const std::vector<std::string> names = {
      "retry",    "not_retryable",        "attempts_exhausted", "budget_exhausted",
      "deadline", "retry_after_too_long", "cancelled"};
  for (std::size_t i = 0; i < kRetryReasonCount; ++i)
    EXPECT_EQ(to_string(static_cast<RetryReason>(i)), names[i]);
}

// ---------------------------------------------------------------------------------------------
// Retry::execute()

// A scripted operation: attempt i returns outcomes[i] (success 42 past the end) after
// latency[i] (0 past the end; Duration::max() hangs until cancelled).
struct Script {
  std::vector<Result<int>> outcomes;
  std::vector<Duration> latency;
  std::vector<TimePoint> starts;
  int cancelled_seen = 0;
};

Task<Result<int>> scripted(Script* s) {
  Scheduler& sched = co_await this_task::scheduler();
  const std::size_t i = s->starts.size();
  s->starts.push_back(sched.now());
  const Duration lat = i < s->latency.size() ? s->latency[i] : 0ns;
  if (lat == Duration::max()) {
    Status st = co_await until_cancelled();
    ++s->cancelled_seen;
    co_return st.error();
  }
  if (lat > 0ns) {
    if (Status st = co_await sleep_for(lat); !st) {
      ++s->cancelled_seen;
      co_return st.error();
    }
  }
  if (i < s->outcomes.size()) co_return s->outcomes[i];
  co_return 42;
}

Task<Result<int>> run_retry(Retry* retry, Script* s, RetryOutcome* out) {
  co_return co_await retry->execute([s] { return scripted(s); }, out);
}

Task<Result<int>> run_within(Retry* retry, Script* s, RetryOutcome* out, Duration overall) {
  co_return co_await with_timeout(retry->execute([s] { return scripted(s); }, out), overall);
}

struct Done {
  std::optional<Result<int>> result;
  TimePoint at;
};

void start(Simulator& sim, Task<Result<int>> t, Done& done, CancelToken token = {}) {
  spawn(
      sim, std::move(t),
      [&sim, &done](Result<int> r) {
        done.result.emplace(std::move(r));
        done.at = sim.now();
      },
      {}, token);
}

struct RetryFixture : ::testing::Test {
  Simulator sim;
  Rng rng{11};
  RecordingSink events;
  Script script;
  RetryOutcome outcome;
  Done done;
};

TEST_F(RetryFixture, SucceedsFirstTimeWithOneAttemptAndNoDecision) {
  Retry retry{no_jitter(), rng, nullptr, &events, "a"};
  start(sim, run_retry(&retry, &script, &outcome), done);
  sim.run_until_idle();
  ASSERT_TRUE(done.result && *done.result);
  EXPECT_EQ(**done.result, 42);
  EXPECT_EQ(retry.counters().attempts, 1u);
  EXPECT_EQ(retry.counters().successes, 1u);
  for (std::size_t i = 0; i < kRetryReasonCount; ++i) EXPECT_EQ(retry.counters().decisions[i], 0u);
  EXPECT_EQ(events.kinds(), (std::vector<std::string>{"retry.attempt"}));
  EXPECT_EQ(outcome.attempts, 1);
  EXPECT_EQ(outcome.stopped_by, std::nullopt);
}

TEST_F(RetryFixture, RetriesRetryableErrorsWithExactBackoffTimes) {
  script.outcomes = {err(ErrorCode::server_error), err(ErrorCode::rate_limited)};
  Retry retry{no_jitter(), rng, nullptr, &events, "openai"};
  start(sim, run_retry(&retry, &script, &outcome), done);
  sim.run_until_idle();
  ASSERT_TRUE(done.result && *done.result);
  EXPECT_EQ(script.starts, (std::vector<TimePoint>{at(0ms), at(500ms), at(1500ms)}));
  EXPECT_EQ(done.at, at(1500ms));
  EXPECT_EQ(retry.counters().count(RetryReason::retry), 2u);
  EXPECT_EQ(retry.counters().attempts, 3u);
  EXPECT_EQ(outcome.attempts, 3);
  EXPECT_EQ(outcome.backoff_total, 1500ms);

  const auto decisions = events.find_all("retry.decision");
  ASSERT_EQ(decisions.size(), 2u);
  EXPECT_EQ(*decisions[0]->get<std::string>("reason"), "retry");
  EXPECT_EQ(decisions[0]->get_int("attempt"), 1);
  EXPECT_EQ(decisions[0]->get_int("delay"), Duration{500ms}.count());
  EXPECT_EQ(*decisions[0]->get<std::string>("code"), "server_error");
  EXPECT_EQ(*decisions[0]->get<std::string>("target"), "openai");
  EXPECT_EQ(*decisions[1]->get<std::string>("code"), "rate_limited");
  EXPECT_EQ(decisions[1]->get_int("delay"), Duration{1s}.count());
  const auto attempts = events.find_all("retry.attempt");
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[2]->get_int("attempt"), 3);
  EXPECT_EQ(attempts[2]->time, at(1500ms));
  EXPECT_EQ(*attempts[2]->get<std::string>("target"), "openai");
}

TEST_F(RetryFixture, NonRetryableErrorsAreReturnedAtOnce) {
  script.outcomes = {err(ErrorCode::quota_exhausted, "billing")};
  Retry retry{no_jitter(), rng, nullptr, &events};
  start(sim, run_retry(&retry, &script, &outcome), done);
  sim.run_until_idle();
  ASSERT_TRUE(done.result && !*done.result);
  EXPECT_EQ(done.result->error().code, ErrorCode::quota_exhausted);
  EXPECT_EQ(done.result->error().message, "billing");
  EXPECT_EQ(script.starts.size(), 1u);
  EXPECT_EQ(retry.counters().count(RetryReason::not_retryable), 1u);
  EXPECT_EQ(outcome.stopped_by, RetryReason::not_retryable);
  EXPECT_EQ(*events.find("retry.decision")->get<std::string>("reason"), "not_retryable");
}

TEST_F(RetryFixture, ExhaustedAttemptsReturnTheLastError) {
  script.outcomes = {err(ErrorCode::server_error, "1"), err(ErrorCode::network, "2"),
                     err(ErrorCode::timeout, "3")};
  Retry retry{no_jitter(3), rng};
  start(sim, run_retry(&retry, &script, &outcome), done);
  sim.run_until_idle();
  ASSERT_TRUE(done.result && !*done.result);
  EXPECT_EQ(done.result->error().code, ErrorCode::timeout);
  EXPECT_EQ(done.result->error().message, "3");
  EXPECT_EQ(script.starts.size(), 3u);
  EXPECT_EQ(outcome.attempts, 3);
  EXPECT_EQ(outcome.stopped_by, RetryReason::attempts_exhausted);
  EXPECT_EQ(retry.counters().count(RetryReason::retry), 2u);
  EXPECT_EQ(retry.counters().count(RetryReason::attempts_exhausted), 1u);
}

TEST_F(RetryFixture, ARetryNeverStartsBeforeTheServersRetryAfter) {
  script.outcomes = {err(ErrorCode::rate_limited).with_retry_after(3s),
                     err(ErrorCode::rate_limited).with_retry_after(100ms)};
  Retry retry{no_jitter(), rng};
  start(sim, run_retry(&retry, &script, &outcome), done);
  sim.run_until_idle();
  ASSERT_TRUE(done.result && *done.result);
  // 3s (retry-after beats 500ms), then 1s (backoff beats 100ms).
  EXPECT_EQ(script.starts, (std::vector<TimePoint>{at(0s), at(3s), at(4s)}));
}

TEST_F(RetryFixture, ARetryAfterBeyondTheMaximumGivesUpOnTheTarget) {
  script.outcomes = {err(ErrorCode::rate_limited).with_retry_after(61s)};
  Retry retry{no_jitter(), rng};
  start(sim, run_retry(&retry, &script, &outcome), done);
  sim.run_until_idle();
  ASSERT_TRUE(done.result && !*done.result);
  EXPECT_EQ(done.result->error().code, ErrorCode::rate_limited);
  EXPECT_EQ(done.at, at(0s)) << "does not wait";
  EXPECT_EQ(outcome.stopped_by, RetryReason::retry_after_too_long);
  EXPECT_EQ(retry.counters().count(RetryReason::retry_after_too_long), 1u);
}

TEST_F(RetryFixture, TheOverallDeadlineStopsRetriesThatCouldNotStartInTime) {
  script.outcomes = {err(ErrorCode::server_error, "1"), err(ErrorCode::server_error, "2"),
                     err(ErrorCode::server_error, "3")};
  Retry retry{no_jitter(5, 1s), rng};
  start(sim, run_within(&retry, &script, &outcome, 2s), done);
  sim.run_until_idle();
  // Attempt 1 at 0s, retry at 1s; the next would start at 3s >= 2s: stop now with the error.
  ASSERT_TRUE(done.result && !*done.result);
  EXPECT_EQ(done.result->error().message, "2");
  EXPECT_EQ(done.at, at(1s));
  EXPECT_EQ(script.starts, (std::vector<TimePoint>{at(0s), at(1s)}));
  EXPECT_EQ(outcome.stopped_by, RetryReason::deadline);
  EXPECT_EQ(retry.counters().count(RetryReason::deadline), 1u);
}

TEST_F(RetryFixture, TheOverallDeadlineReleasesTheCallerDuringAHungAttempt) {
  script.latency = {Duration::max()};
  Retry retry{no_jitter(), rng, nullptr, &events};
  start(sim, run_within(&retry, &script, &outcome, 2s), done);
  sim.run_until_idle();
  ASSERT_TRUE(done.result && !*done.result);
  EXPECT_EQ(done.result->error().code, ErrorCode::timeout);
  EXPECT_EQ(done.at, at(2s));
  EXPECT_EQ(script.cancelled_seen, 1);
  EXPECT_EQ(script.starts.size(), 1u);
  EXPECT_EQ(retry.counters().count(RetryReason::cancelled), 1u);  // the abandoned loop stops
  EXPECT_EQ(sim.pending(), 0u);
}

TEST_F(RetryFixture, EachAttemptRunsUnderTheAttemptTimeout) {
  script.latency = {Duration::max(), Duration::max(), Duration::max()};
  RetryConfig cfg = no_jitter();
  cfg.attempt_timeout = 100ms;
  Retry retry{cfg, rng};
  start(sim, run_retry(&retry, &script, &outcome), done);
  sim.run_until_idle();
  ASSERT_TRUE(done.result && !*done.result);
  EXPECT_EQ(done.result->error().code, ErrorCode::timeout);
  EXPECT_EQ(script.starts, (std::vector<TimePoint>{at(0ms), at(600ms), at(1700ms)}));
  EXPECT_EQ(done.at, at(1800ms));
  EXPECT_EQ(script.cancelled_seen, 3);
  EXPECT_EQ(outcome.stopped_by, RetryReason::attempts_exhausted);
}

TEST_F(RetryFixture, CancellationDuringBackoffReturnsPromptlyAndReleasesTheGrant) {
  script.outcomes = {err(ErrorCode::server_error, "first")};
  RetryBudget budget;
  Retry retry{no_jitter(3, 1h), rng, &budget, &events};
  CancelSource stop;
  start(sim, run_retry(&retry, &script, &outcome), done, stop.token());
  sim.run_for(10s);
  EXPECT_EQ(budget.pending(), 1) << "the retry waiting in backoff holds its grant";
  stop.cancel();
  sim.run_until_idle();
  ASSERT_TRUE(done.result && !*done.result);
  EXPECT_EQ(done.result->error().code, ErrorCode::cancelled);
  ASSERT_TRUE(done.result->error().cause);
  EXPECT_EQ(done.result->error().cause->message, "first");
  EXPECT_EQ(done.at, at(10s));
  EXPECT_EQ(script.starts.size(), 1u);
  EXPECT_EQ(budget.pending(), 0);
  EXPECT_EQ(retry.counters().count(RetryReason::retry), 1u);
  EXPECT_EQ(retry.counters().count(RetryReason::cancelled), 1u);
  EXPECT_EQ(outcome.stopped_by, RetryReason::cancelled);
  EXPECT_EQ(events.count("retry.decision"), 2u);
  EXPECT_EQ(sim.pending(), 0u);
}

TEST_F(RetryFixture, CancellationDuringAnAttemptStopsWithCancelled) {
  script.latency = {Duration::max()};
  Retry retry{no_jitter(), rng};
  CancelSource stop;
  start(sim, run_retry(&retry, &script, &outcome), done, stop.token());
  sim.run_for(5s);
  stop.cancel();
  sim.run_until_idle();
  ASSERT_TRUE(done.result && !*done.result);
  EXPECT_EQ(done.result->error().code, ErrorCode::cancelled);
  EXPECT_EQ(done.at, at(5s));
  EXPECT_EQ(script.starts.size(), 1u);
  EXPECT_EQ(outcome.stopped_by, RetryReason::cancelled);
}

TEST_F(RetryFixture, AnExhaustedBudgetStopsRetries) {
  script.outcomes = {err(ErrorCode::server_error)};
  RetryBudget budget{{.max_tokens = 2, .token_ratio = 0}};
  Retry retry{no_jitter(), rng, &budget};
  start(sim, run_retry(&retry, &script, &outcome), done);
  sim.run_until_idle();
  ASSERT_TRUE(done.result && !*done.result);
  EXPECT_EQ(done.result->error().code, ErrorCode::server_error);
  EXPECT_EQ(outcome.stopped_by, RetryReason::budget_exhausted);
  EXPECT_EQ(budget.counters().failures, 1u);
  EXPECT_EQ(budget.counters().refused, 1u);
}

TEST_F(RetryFixture, RetriesWaitingInBackoffCountAgainstTheSharedBudget) {
  // Six calls fail at the same instant. tokens 9,8,7,... with pending 0,1,2: only the first
  // two pass `tokens - pending > 5`; without counting pending retries four would.
  RetryBudget budget{{.max_tokens = 10, .token_ratio = 0}};
  Retry retry{no_jitter(2, 1s), rng, &budget};
  std::vector<Script> scripts(6);
  std::vector<RetryOutcome> outcomes(6);
  std::vector<Done> dones(6);
  for (int i = 0; i < 6; ++i) {
    scripts[i].outcomes = {err(ErrorCode::server_error)};
    start(sim, run_retry(&retry, &scripts[i], &outcomes[i]), dones[i]);
  }
  sim.run_for(1ms);
  EXPECT_EQ(budget.pending(), 2);
  EXPECT_EQ(budget.counters().granted, 2u);
  EXPECT_EQ(budget.counters().refused, 4u);
  sim.run_until_idle();
  EXPECT_EQ(budget.pending(), 0);
  int succeeded = 0;
  for (const Done& d : dones) succeeded += d.result && d.result->ok();
  EXPECT_EQ(succeeded, 2);
  EXPECT_EQ(retry.counters().count(RetryReason::budget_exhausted), 4u);
}

TEST_F(RetryFixture, AttemptOutcomesFeedTheBudget) {
  RetryBudget budget{{.max_tokens = 10, .token_ratio = 0.5}};
  Retry retry{no_jitter(), rng, &budget};
  script.outcomes = {err(ErrorCode::server_error)};  // failure, then success
  start(sim, run_retry(&retry, &script, &outcome), done);
  sim.run_until_idle();
  EXPECT_EQ(budget.counters().failures, 1u);
  EXPECT_EQ(budget.counters().successes, 1u);
  EXPECT_EQ(budget.tokens(), 9.5);

  Script bad{.outcomes = {err(ErrorCode::invalid_request)}};  // the target answered: success
  Done d2;
  start(sim, run_retry(&retry, &bad, nullptr), d2);
  sim.run_until_idle();
  EXPECT_EQ(budget.counters().successes, 2u);
  EXPECT_EQ(budget.tokens(), 10.0);

  Script cancelled{.outcomes = {err(ErrorCode::cancelled)}};  // neither
  Done d3;
  start(sim, run_retry(&retry, &cancelled, nullptr), d3);
  sim.run_until_idle();
  EXPECT_EQ(budget.counters().successes, 2u);
  EXPECT_EQ(budget.counters().failures, 1u);
}

TEST_F(RetryFixture, JitteredDelaysAreDeterministicPerSeed) {
  auto run = [](std::uint64_t seed) {
    Simulator s;
    Rng r{seed};
    Script sc{.outcomes = {err(ErrorCode::server_error), err(ErrorCode::server_error)}};
    RetryConfig cfg;  // full jitter
    Retry retry{cfg, r};
    Done d;
    start(s, run_retry(&retry, &sc, nullptr), d);
    s.run_until_idle();
    return sc.starts;
  };
  EXPECT_EQ(run(1), run(1));
  EXPECT_NE(run(1), run(2));
}

Task<void> success_loop(Retry* retry, Script* s, int n, std::uint64_t* allocs_after_warmup) {
  for (int i = 0; i < 10; ++i) (void)co_await retry->execute([s] { return scripted(s); });
  const std::uint64_t before = frame_heap_allocations();
  for (int i = 0; i < n; ++i) (void)co_await retry->execute([s] { return scripted(s); });
  *allocs_after_warmup = frame_heap_allocations() - before;
}

TEST_F(RetryFixture, TheSuccessPathTakesNoFramesFromTheHeapOnceWarm) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "frame pooling is off under AddressSanitizer";
#endif
  Retry retry{no_jitter(), rng};
  script.starts.reserve(200);
  std::uint64_t allocs = 99;
  spawn(sim, success_loop(&retry, &script, 100, &allocs));
  sim.run_until_idle();
  EXPECT_EQ(allocs, 0u);
  EXPECT_EQ(retry.counters().successes, 110u);
}

}  // namespace
}  // namespace keel::policy
