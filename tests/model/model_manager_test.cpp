#include "keel/model/model_manager.h"

#include <gtest/gtest.h>

#include "keel/core/spawn.h"
#include "keel/sim/simulator.h"
#include "model/fake_transport.h"

namespace keel::model {
namespace {

using namespace std::chrono_literals;
using testing::FakeTransport;
using testing::Step;

TimePoint at(Duration d) { return TimePoint{} + d; }

// Runs one call to completion on a fresh simulator; returns the result and its end time.
struct CallResult {
  Result<ChatResponse> result = Error(ErrorCode::internal);
  TimePoint ended{};
};

CallResult call(sim::Simulator& sim, ModelManager& m, int prompt_tokens = 100) {
  CallResult out;
  ChatRequest req;
  req.messages = {Message::user("hi")};
  req.prompt_tokens = prompt_tokens;
  spawn(sim, m.complete(std::move(req)), [&](Result<ChatResponse> r) {
    out.result = std::move(r);
    out.ended = sim.now();
  });
  sim.run_until_idle();
  return out;
}

ModelManagerConfig no_jitter(int attempts, Duration delay) {
  ModelManagerConfig c = ModelManagerConfig::with_retries(attempts, delay);
  c.breaker.reset();
  c.budget.reset();
  return c;
}

TEST(ModelManager, FirstModelAnswers) {
  sim::Simulator sim;
  FakeTransport a{"a", {Step::ok(300ms)}}, b{"b", {Step::ok(1ms)}};
  ModelManager m{no_jitter(3, 1s), {&a, &b}, Rng{1}};
  auto r = call(sim, m);
  ASSERT_TRUE(r.result);
  EXPECT_EQ(r.result->provider, "a");
  EXPECT_EQ(r.ended, at(300ms));
  EXPECT_TRUE(b.received.empty());
}

// model.call.end's `attempts` counts attempts (every try on every model), `models` the models
// tried; it used to report the models as "attempts".
TEST(ModelManager, CallEndReportsAttemptsAsAttempts) {
  sim::Simulator sim;
  RecordingSink events;
  FakeTransport a{"a", {Step::fail(ErrorCode::server_error), Step::fail(ErrorCode::server_error),
                        Step::fail(ErrorCode::server_error)}};
  FakeTransport b{"b", {Step::fail(ErrorCode::server_error), Step::ok(0ms)}};
  ModelManagerConfig cfg = no_jitter(3, 1s);
  cfg.retry.retryable = {ErrorCode::server_error};
  ModelManager m{cfg, {&a, &b}, Rng{1}, &events};
  ASSERT_TRUE(call(sim, m).result);
  const RecordedEvent* end = events.find("model.call.end");
  ASSERT_NE(end, nullptr);
  EXPECT_EQ(end->get_int("attempts"), 5);  // 3 on a, 2 on b
  EXPECT_EQ(end->get_int("models"), 2);
  EXPECT_EQ(events.count("retry.attempt"), 5u);
}

// The request's ids (docs/events.md, "Following one agent step"): on every event of the call,
// the attempt's number on the model on the attempt's events and in the transport's request.
TEST(ModelManager, EventsAndRequestsCarryTheCallsTraceIds) {
  sim::Simulator sim;
  RecordingSink events;
  FakeTransport a{"a", {Step::fail(ErrorCode::server_error), Step::fail(ErrorCode::server_error)}};
  FakeTransport b{"b", {Step::ok(0ms)}};
  ModelManagerConfig cfg = no_jitter(2, 1s);
  cfg.retry.retryable = {ErrorCode::server_error};
  ModelManager m{cfg, {&a, &b}, Rng{1}, &events};
  ChatRequest req;
  req.messages = {Message::user("hi")};
  req.trace = {.agent = 3, .step = 2, .call = 4, .attempt = 9};
  spawn(sim, m.complete(std::move(req)), [](Result<ChatResponse> r) { EXPECT_TRUE(r); });
  sim.run_until_idle();

  const auto attempt_of = [](const RecordedEvent& e) { return e.get_int("attempt").value_or(0); };
  for (const RecordedEvent& e : events.events()) {
    EXPECT_EQ(e.get_int("agent"), 3) << e.kind;
    EXPECT_EQ(e.get_int("step"), 2) << e.kind;
    EXPECT_EQ(e.get_int("call"), 4) << e.kind;
  }
  std::vector<std::int64_t> attempts;
  for (const RecordedEvent* e : events.find_all("model.attempt")) attempts.push_back(attempt_of(*e));
  EXPECT_EQ(attempts, (std::vector<std::int64_t>{1, 2, 1}));  // two on a, then b's first
  EXPECT_FALSE(events.find("model.call.start")->has("attempt"));
  EXPECT_FALSE(events.find("model.call.end")->has("attempt"));
  EXPECT_FALSE(events.find("model.fallback")->has("attempt"));
  ASSERT_EQ(a.traces.size(), 2u);
  EXPECT_EQ(a.traces[1], (TraceIds{.agent = 3, .step = 2, .call = 4, .attempt = 2}));
  ASSERT_EQ(b.traces.size(), 1u);
  EXPECT_EQ(b.traces[0].attempt, 1u);
}

// Without an agent's ids, the manager numbers its calls itself, from 1.
TEST(ModelManager, CallsWithoutIdsAreNumberedByTheManager) {
  sim::Simulator sim;
  RecordingSink events;
  FakeTransport a{"a", {Step::ok(0ms)}};
  ModelManager m{no_jitter(1, 1s), {&a}, Rng{1}, &events};
  ASSERT_TRUE(call(sim, m).result);
  ASSERT_TRUE(call(sim, m).result);
  const std::vector<const RecordedEvent*> starts = events.find_all("model.call.start");
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[0]->get_int("call"), 1);
  EXPECT_EQ(starts[1]->get_int("call"), 2);
  EXPECT_FALSE(starts[0]->has("agent"));
  EXPECT_EQ(a.traces[1], (TraceIds{.call = 2, .attempt = 1}));
}

// A retry the budget refuses: the model's error is budget_exhausted, caused by the provider's;
// the call still falls back to the next model.
TEST(ModelManager, ABudgetRefusalIsTheModelsErrorAndStillFallsBack) {
  sim::Simulator sim;
  ModelManagerConfig cfg = no_jitter(3, 1s);
  cfg.retry.retryable = {ErrorCode::server_error};
  cfg.budget = policy::RetryBudgetConfig{.max_tokens = 2};  // the first failure leaves no retry
  FakeTransport a{"a", {Step::fail(ErrorCode::server_error)}};
  ModelManager alone{cfg, {&a}, Rng{1}};
  const CallResult r = call(sim, alone);
  ASSERT_FALSE(r.result);
  EXPECT_EQ(r.result.error().code, ErrorCode::budget_exhausted);  // "all 1 models failed"
  const Error* model_error = r.result.error().cause.get();
  ASSERT_NE(model_error, nullptr);
  EXPECT_EQ(model_error->code, ErrorCode::budget_exhausted);
  EXPECT_EQ(model_error->provider, "a");
  ASSERT_NE(model_error->cause, nullptr);
  EXPECT_EQ(model_error->cause->code, ErrorCode::server_error);
  EXPECT_EQ(a.received.size(), 1u);

  FakeTransport a2{"a", {Step::fail(ErrorCode::server_error)}}, b{"b", {Step::ok(0ms)}};
  ModelManager chain{cfg, {&a2, &b}, Rng{1}};
  const CallResult fell_back = call(sim, chain);
  ASSERT_TRUE(fell_back.result);
  EXPECT_EQ(fell_back.result->provider, "b");
  EXPECT_EQ(chain.counters().fallbacks, 1u);
}

TEST(ModelManager, RetriesWithTheSourceDesignsExponentialDelays) {
  sim::Simulator sim;
  FakeTransport a{"a", {Step::fail(ErrorCode::rate_limited), Step::fail(ErrorCode::rate_limited), Step::ok(0ms)}};
  ModelManager m{no_jitter(3, 1s), {&a}, Rng{1}};
  auto r = call(sim, m);
  ASSERT_TRUE(r.result);
  ASSERT_EQ(a.started_at.size(), 3u);
  EXPECT_EQ(a.started_at[1], at(1s));
  EXPECT_EQ(a.started_at[2], at(3s));  // 1 s, then 2 s
  EXPECT_EQ(m.retry_counters(0).count(policy::RetryReason::retry), 2u);
}

TEST(ModelManager, FallsBackAndReportsTheWholeCauseChainWhenEveryModelFails) {
  sim::Simulator sim;
  FakeTransport a{"a", {Step::fail(ErrorCode::server_error, 0ms, 503)}};
  FakeTransport b{"b", {Step::fail(ErrorCode::auth, 0ms, 401)}};
  ModelManager m{no_jitter(2, 1s), {&a, &b}, Rng{1}};
  auto r = call(sim, m);
  ASSERT_FALSE(r.result);
  const Error& e = r.result.error();
  EXPECT_EQ(e.code, ErrorCode::auth);
  EXPECT_EQ(e.message, "all 2 models failed");
  ASSERT_TRUE(e.cause);
  EXPECT_EQ(e.cause->provider, "b");
  EXPECT_EQ(e.cause->code, ErrorCode::auth);
  ASSERT_TRUE(e.cause->cause);
  EXPECT_EQ(e.cause->cause->provider, "a");
  EXPECT_EQ(e.cause->cause->http_status, 503);
  EXPECT_EQ(a.received.size(), 2u);  // a retried once (server_error is retryable)
  EXPECT_EQ(b.received.size(), 1u);  // auth is never retried
  EXPECT_EQ(m.counters().fallbacks, 1u);
}

TEST(ModelManager, WithoutFallbackOnErrorTheFirstModelsFailureIsFinal) {
  sim::Simulator sim;
  FakeTransport a{"a", {Step::fail(ErrorCode::server_error)}}, b{"b", {Step::ok(0ms)}};
  ModelManagerConfig c = no_jitter(1, 1s);
  c.fallback_on_error = false;
  ModelManager m{c, {&a, &b}, Rng{1}};
  auto r = call(sim, m);
  ASSERT_FALSE(r.result);
  EXPECT_TRUE(b.received.empty());
}

TEST(ModelManager, QuotaExhaustionIsNotRetriedButFallsBack) {
  sim::Simulator sim;
  FakeTransport a{"a", {Step::fail(ErrorCode::quota_exhausted, 0ms, 429)}}, b{"b", {Step::ok(5ms)}};
  ModelManager m{no_jitter(3, 1s), {&a, &b}, Rng{1}};
  auto r = call(sim, m);
  ASSERT_TRUE(r.result);
  EXPECT_EQ(r.result->provider, "b");
  EXPECT_EQ(a.received.size(), 1u);
  EXPECT_EQ(r.ended, at(5ms));
}

TEST(ModelManager, AnOpenBreakerSkipsTheModelWithoutSendingARequest) {
  sim::Simulator sim;
  FakeTransport a{"a", {Step::fail(ErrorCode::server_error, 10ms, 500)}}, b{"b", {Step::ok(10ms)}};
  ModelManagerConfig c = no_jitter(1, 1s);
  c.breaker = policy::CircuitBreakerConfig{.consecutive_failures = 3, .open_for = 30s};
  ModelManager m{c, {&a, &b}, Rng{1}};
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(call(sim, m).result);
  EXPECT_EQ(a.received.size(), 3u) << "after 3 failures the breaker is open: no more requests to a";
  EXPECT_EQ(b.received.size(), 10u);
  EXPECT_EQ(m.breaker(0)->counters().to_open, 1u);
  EXPECT_EQ(m.breaker(0)->counters().refused, 7u);
}

TEST(ModelManager, AHungProviderIsATimedOutAttemptThatTheBreakerCounts) {
  sim::Simulator sim;
  FakeTransport a{"a", {Step::hangs()}}, b{"b", {Step::ok(0ms)}};
  ModelManagerConfig c = no_jitter(1, 1s);
  c.attempt_timeout = 2s;
  c.breaker = policy::CircuitBreakerConfig{.consecutive_failures = 2, .open_for = 1h};
  ModelManager m{c, {&a, &b}, Rng{1}};
  auto first = call(sim, m);
  ASSERT_TRUE(first.result);
  EXPECT_EQ(first.ended, at(2s));
  EXPECT_EQ(a.cancelled, 1) << "the hung request is cancelled at the attempt timeout";
  (void)call(sim, m);
  const TimePoint before = sim.now();
  auto third = call(sim, m);
  EXPECT_EQ(third.ended, before) << "breaker open: a is skipped instantly";
  EXPECT_EQ(a.received.size(), 2u);
}

TEST(ModelManager, CallTimeoutReleasesTheCallerWhenEverythingHangs) {
  sim::Simulator sim;
  FakeTransport a{"a", {Step::hangs()}}, b{"b", {Step::hangs()}};
  ModelManagerConfig c = no_jitter(1, 1s);
  c.attempt_timeout.reset();
  c.call_timeout = 7s;
  ModelManager m{c, {&a, &b}, Rng{1}};
  auto r = call(sim, m);
  ASSERT_FALSE(r.result);
  EXPECT_EQ(r.result.error().code, ErrorCode::timeout);
  EXPECT_EQ(r.ended, at(7s));
  EXPECT_EQ(a.cancelled, 1);
  EXPECT_EQ(sim.detached_count(), 0u);
}

TEST(ModelManager, ContextWindowFallbackNeverSendsAnOversizedPromptAndNeverRetriesOverflow) {
  sim::Simulator sim;
  FakeTransport small{"small", {Step::ok(0ms)}, 8000};
  FakeTransport medium{"medium", {Step::fail(ErrorCode::context_overflow, 0ms, 400)}, 32000};
  FakeTransport same{"same", {Step::ok(0ms)}, 32000};
  FakeTransport large{"large", {Step::ok(0ms)}, 200000};
  ModelManager m{no_jitter(3, 1s), {&small, &medium, &same, &large}, Rng{1}};
  auto r = call(sim, m, 10000);
  ASSERT_TRUE(r.result);
  EXPECT_EQ(r.result->provider, "large");
  EXPECT_TRUE(small.received.empty());
  EXPECT_EQ(medium.received.size(), 1u) << "context_overflow is not retried";
  EXPECT_TRUE(same.received.empty()) << "a model no larger than the one that overflowed is skipped";
  EXPECT_EQ(m.counters().context_skips, 2u);
  EXPECT_EQ(m.max_context_window(), 200000);
}

TEST(ModelManager, PromptLargerThanEveryWindowFailsWithContextOverflowAndNoRequest) {
  sim::Simulator sim;
  FakeTransport a{"a", {Step::ok(0ms)}, 1000};
  ModelManager m{no_jitter(3, 1s), {&a}, Rng{1}};
  auto r = call(sim, m, 5000);
  ASSERT_FALSE(r.result);
  EXPECT_EQ(r.result.error().code, ErrorCode::context_overflow);
  EXPECT_TRUE(a.received.empty());
}

TEST(ModelManager, RoundRobinAndSeededRandomScheduling) {
  sim::Simulator sim;
  FakeTransport a{"a", {Step::ok(0ms)}}, b{"b", {Step::ok(0ms)}}, c{"c", {Step::ok(0ms)}};
  ModelManagerConfig cfg = no_jitter(1, 1s);
  cfg.scheduling = Scheduling::round_robin;
  ModelManager rr{cfg, {&a, &b, &c}, Rng{1}};
  std::string seen;
  for (int i = 0; i < 6; ++i) seen += call(sim, rr).result->provider;
  EXPECT_EQ(seen, "abcabc");

  cfg.scheduling = Scheduling::random;
  auto sequence = [&](std::uint64_t seed) {
    ModelManager rnd{cfg, {&a, &b, &c}, Rng{seed}};
    std::string s;
    for (int i = 0; i < 12; ++i) s += call(sim, rnd).result->provider;
    return s;
  };
  EXPECT_EQ(sequence(7), sequence(7));
  EXPECT_NE(sequence(7), sequence(8));

  cfg.custom_scheduling = [](std::size_t n, std::uint64_t call_index, Rng&) { return (n - 1 + call_index) % n; };
  ModelManager custom{cfg, {&a, &b, &c}, Rng{1}};
  EXPECT_EQ(call(sim, custom).result->provider, "c");
}

TEST(ModelManager, HedgingStartsTheNextModelAfterTheDelayAndCancelsTheLoser) {
  sim::Simulator sim;
  FakeTransport slow{"slow", {Step::ok(10s)}}, fast{"fast", {Step::ok(200ms)}};
  ModelManagerConfig c = no_jitter(1, 1s);
  c.hedging = policy::HedgingConfig{.delay = 1s, .max_extra = 1};
  ModelManager m{c, {&slow, &fast}, Rng{1}};
  auto r = call(sim, m);
  ASSERT_TRUE(r.result);
  EXPECT_EQ(r.result->provider, "fast");
  EXPECT_EQ(r.ended, at(1200ms));
  EXPECT_EQ(slow.cancelled, 1);
  ASSERT_NE(m.hedging_counters(), nullptr);
  EXPECT_EQ(m.hedging_counters()->hedge_won, 1u);
}

}  // namespace
}  // namespace keel::model

namespace keel::model {
namespace {

// Regression: a hedged-out attempt was recorded as `cancelled` (ignored by the breaker), so a
// permanently hung primary with hedging on never opened its breaker.
TEST(ModelManager, AHungPrimaryHedgedOutEveryTimeOpensItsBreaker) {
  sim::Simulator sim;
  FakeTransport hung{"hung", {Step::hangs()}}, backup{"backup", {Step::ok(100ms)}};
  ModelManagerConfig c = no_jitter(1, 1s);
  c.attempt_timeout = 30s;  // never reached: the hedge answers first
  c.hedging = policy::HedgingConfig{.delay = 1s, .max_extra = 1};
  c.breaker = policy::CircuitBreakerConfig{.consecutive_failures = 3, .open_for = 1h};
  ModelManager m{c, {&hung, &backup}, Rng{1}};
  for (int i = 0; i < 5; ++i) {
    auto r = call(sim, m);
    ASSERT_TRUE(r.result);
    EXPECT_EQ(r.result->provider, "backup");
  }
  EXPECT_EQ(m.breaker(0)->counters().to_open, 1u);
  EXPECT_EQ(hung.received.size(), 3u) << "after 3 hedged-out attempts the breaker is open: no more requests";
  EXPECT_EQ(m.breaker(1)->counters().to_open, 0u);
}

TEST(ModelManager, ALoserCancelledBeforeTheHedgeDelayIsNotABreakerFailure) {
  sim::Simulator sim;
  // The primary answers at 1.2 s, 200 ms after the hedge started (which would take 10 s):
  // the hedge lost after running less than the delay and says nothing about its provider.
  FakeTransport primary{"primary", {Step::ok(1200ms)}}, slow{"slow", {Step::ok(10s)}};
  ModelManagerConfig c = no_jitter(1, 1s);
  c.hedging = policy::HedgingConfig{.delay = 1s, .max_extra = 1};
  c.breaker = policy::CircuitBreakerConfig{.consecutive_failures = 1, .open_for = 1h};
  ModelManager m{c, {&primary, &slow}, Rng{1}};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(call(sim, m).result);
  EXPECT_EQ(slow.cancelled, 3);
  EXPECT_EQ(m.breaker(1)->counters().to_open, 0u);
  EXPECT_EQ(m.breaker(0)->counters().to_open, 0u);
}

TEST(ModelManager, WithoutSkipOverWindowTheProviderIsAskedAndRefuses) {
  sim::Simulator sim;
  FakeTransport a{"a", {Step::fail(ErrorCode::context_overflow, 0ms, 400)}, 1000};
  ModelManagerConfig c = no_jitter(3, 1s);
  c.skip_over_window = false;  // the source design: it never counted
  c.context_window_fallback = false;
  ModelManager m{c, {&a}, Rng{1}};
  auto r = call(sim, m, 5000);
  ASSERT_FALSE(r.result);
  EXPECT_EQ(r.result.error().code, ErrorCode::context_overflow);
  ASSERT_EQ(a.received.size(), 1u) << "sent once over the window, refused, not retried";
  EXPECT_EQ(a.received[0], 5000);
  EXPECT_EQ(m.counters().context_skips, 0u);
}

// Regression: moving on after every hedged model failed was not counted as a fallback.
TEST(ModelManager, MovingOnAfterFailedHedgesIsAFallback) {
  sim::Simulator sim;
  FakeTransport a{"a", {Step::fail(ErrorCode::server_error, 10ms, 503)}};
  FakeTransport b{"b", {Step::fail(ErrorCode::server_error, 10ms, 503)}};
  FakeTransport c{"c", {Step::ok(10ms)}};
  ModelManagerConfig cfg = no_jitter(1, 1s);
  cfg.hedging = policy::HedgingConfig{.delay = 500ms, .max_extra = 1};
  ModelManager m{cfg, {&a, &b, &c}, Rng{1}};
  auto r = call(sim, m);
  ASSERT_TRUE(r.result);
  EXPECT_EQ(r.result->provider, "c");
  EXPECT_EQ(m.counters().fallbacks, 1u);
}

}  // namespace
}  // namespace keel::model
