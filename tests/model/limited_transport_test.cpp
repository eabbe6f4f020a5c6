// LimitedTransport (limited_transport.h): the rate limiter's refusal is rate_limited with the
// exact wait and never reaches the provider; a wait within max_wait is taken exactly; the
// bulkhead sheds beyond its queue at once and hands a freed slot to the oldest waiter; no
// limits forwards unchanged.
#include "keel/model/limited_transport.h"

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

struct Outcome {
  Result<ChatResponse> result = Error(ErrorCode::internal);
  TimePoint ended{};
};

// Starts `n` calls at time 0 and runs them all to completion.
std::vector<Outcome> calls(sim::Simulator& sim, ModelTransport& t, int n) {
  std::vector<Outcome> out(static_cast<std::size_t>(n));
  for (Outcome& o : out) {
    ChatRequest req;
    req.messages = {Message::user("hi")};
    req.prompt_tokens = 10;
    spawn(sim, t.complete(std::move(req)), [&o, &sim](Result<ChatResponse> r) {
      o.result = std::move(r);
      o.ended = sim.now();
    });
  }
  sim.run_until_idle();
  return out;
}

policy::RateLimiterConfig one_per_second(Duration max_wait) {
  return {.requests_per_minute = 60, .request_burst = 1, .on_limit = policy::OnLimit::delay, .max_delay = max_wait};
}

TEST(LimitedTransport, RateLimiterRefusesAWaitOverMaxWaitAsRateLimitedWithoutReachingTheProvider) {
  sim::Simulator sim;
  FakeTransport inner{"openai", {Step::ok(100ms)}};
  LimitedTransport t{inner, {.rate_limiter = one_per_second(500ms)}};
  const auto out = calls(sim, t, 2);
  ASSERT_TRUE(out[0].result);
  ASSERT_FALSE(out[1].result);
  EXPECT_EQ(out[1].result.error().code, ErrorCode::rate_limited);
  EXPECT_EQ(out[1].result.error().provider, "openai");
  EXPECT_EQ(out[1].result.error().retry_after, 1s);  // the exact wait for the next token
  EXPECT_EQ(out[1].ended, at(0s));
  EXPECT_EQ(inner.received.size(), 1u);
}

TEST(LimitedTransport, RateLimiterDelaysAWaitWithinMaxWaitToTheExactInstant) {
  sim::Simulator sim;
  FakeTransport inner{"openai", {Step::ok(100ms)}};
  LimitedTransport t{inner, {.rate_limiter = one_per_second(2s)}};
  const auto out = calls(sim, t, 3);
  for (const Outcome& o : out) ASSERT_TRUE(o.result);
  ASSERT_EQ(inner.started_at.size(), 3u);
  EXPECT_EQ(inner.started_at[0], at(0s));
  EXPECT_EQ(inner.started_at[1], at(1s));
  EXPECT_EQ(inner.started_at[2], at(2s));
}

TEST(LimitedTransport, BulkheadShedsBeyondItsQueueAtOnceAndServesTheQueueInOrder) {
  sim::Simulator sim;
  FakeTransport inner{"anthropic", {Step::ok(1s)}};
  LimitedTransport t{inner, {.bulkhead = policy::BulkheadConfig{.max_concurrent = 1, .max_queue = 1, .max_wait = Duration::max()}}};
  const auto out = calls(sim, t, 3);
  ASSERT_TRUE(out[0].result);
  ASSERT_TRUE(out[1].result);
  ASSERT_FALSE(out[2].result);
  EXPECT_EQ(out[2].result.error().code, ErrorCode::bulkhead_full);
  EXPECT_EQ(out[2].result.error().provider, "anthropic");
  EXPECT_EQ(out[2].ended, at(0s));
  EXPECT_EQ(out[0].ended, at(1s));
  EXPECT_EQ(out[1].ended, at(2s));  // waited for the slot, then its own second
  EXPECT_EQ(inner.received.size(), 2u);
  ASSERT_NE(t.bulkhead(), nullptr);
  EXPECT_EQ(t.bulkhead()->counters().queue_full, 1u);
}

TEST(LimitedTransport, WithoutLimitsForwardsUnchanged) {
  sim::Simulator sim;
  FakeTransport inner{"openai", {Step::ok(1s)}};
  LimitedTransport t{inner, {}};
  const auto out = calls(sim, t, 5);
  for (const Outcome& o : out) {
    ASSERT_TRUE(o.result);
    EXPECT_EQ(o.ended, at(1s));
  }
  EXPECT_EQ(t.rate_limiter(), nullptr);
  EXPECT_EQ(t.bulkhead(), nullptr);
  EXPECT_EQ(&t.info(), &inner.info());
}

}  // namespace
}  // namespace keel::model
