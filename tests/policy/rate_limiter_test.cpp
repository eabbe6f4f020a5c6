// RateLimiter and TokenBucket: exact GCRA arithmetic, reject with exact retry_after, delay until
// exactly the instant capacity exists, RPM/TPM interplay, FIFO, max_delay, deadline, cancel.
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/core/timeout.h"
#include "keel/policy/rate_limiter.h"
#include "keel/sim/simulator.h"

namespace keel::policy {
namespace {

using namespace std::chrono_literals;
using sim::Simulator;

TimePoint at(Duration d) { return TimePoint{} + d; }

struct Outcome {
  bool finished = false;
  Status status;
  TimePoint ended_at{};
};

Task<void> call(RateLimiter& l, std::int64_t tokens, Outcome* out, std::vector<int>* order = nullptr, int id = 0) {
  Scheduler& s = co_await this_task::scheduler();
  out->status = co_await l.acquire(tokens);
  out->ended_at = s.now();
  out->finished = true;
  if (order && out->status) order->push_back(id);
}

TEST(TokenBucketTest, StartsFullAndRefillsContinuouslyAndExactly) {
  TokenBucket b{60, 60};  // one per second
  EXPECT_EQ(b.available(at(0s)), 60);
  EXPECT_EQ(b.earliest(60, at(0s)), at(0s));
  b.take(60, at(0s));
  EXPECT_EQ(b.available(at(0s)), 0);
  EXPECT_EQ(b.available(at(999ms)), 0);
  EXPECT_EQ(b.available(at(1s)), 1);
  EXPECT_EQ(b.earliest(1, at(0s)), at(1s));
  EXPECT_EQ(b.earliest(3, at(500ms)), at(3s));
  EXPECT_EQ(b.available(at(1h)), 60) << "capped at burst";
  EXPECT_EQ(b.earliest(61, at(1h)), TimePoint::max()) << "cost above burst never fits";
}

TEST(TokenBucketTest, NonIntegralIntervalsDoNotDrift) {
  // 7 per minute: one unit every 8.571428...s. Taking each unit at the earliest instant must
  // give exactly ceil(k * 60e9 / 7) ns for the k-th unit after the burst, however many steps:
  // rounding to whole nanoseconds never loses refill (only a full bucket discards refill).
  TokenBucket b{7, 2};
  TimePoint t = at(0s);
  b.take(2, t);
  for (std::int64_t k = 1; k <= 10'000; ++k) {
    t = b.earliest(1, t);
    b.take(1, t);
    const std::int64_t exact = (k * 60'000'000'000LL + 6) / 7;
    ASSERT_EQ(t.time_since_epoch().count(), exact) << k;
  }
}

TEST(TokenBucketTest, LargeRatesAndTimesDoNotOverflow) {
  TokenBucket b{2'000'000'000, 2'000'000'000};
  const TimePoint late = at(std::chrono::hours{24 * 365 * 100});
  b.take(2'000'000'000, late);
  EXPECT_EQ(b.earliest(1'000'000'000, late), late + 30s);
  EXPECT_THROW(TokenBucket(0, 1), std::invalid_argument);
  EXPECT_THROW(TokenBucket(1, 0), std::invalid_argument);
}

TEST(RateLimiterTest, RejectModeFailsWithTheExactRetryAfter) {
  Simulator sim;
  RecordingSink rec;
  RateLimiter l{{.requests_per_minute = 2, .on_limit = OnLimit::reject}, &rec};
  Outcome o[3];
  for (auto& x : o) spawn(sim, call(l, 0, &x));
  sim.run_until_idle();
  EXPECT_TRUE(o[0].status);
  EXPECT_TRUE(o[1].status);
  ASSERT_FALSE(o[2].status);
  EXPECT_EQ(o[2].status.error().code, ErrorCode::throttled);
  EXPECT_EQ(o[2].status.error().retry_after, Duration{30s});
  EXPECT_EQ(o[2].ended_at, at(0s));
  EXPECT_EQ(l.time_until_available(0, at(10s)), Duration{20s});
  EXPECT_EQ(l.counters().admitted, 2u);
  EXPECT_EQ(l.counters().rejected, 1u);
  auto events = rec.find_all("ratelimit.decision");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(*events[2]->get<std::string>("reason"), "rejected");
  EXPECT_EQ(*events[2]->get<std::int64_t>("delay"), Duration{30s}.count());
}

TEST(RateLimiterTest, DelayModeWaitsUntilExactlyTheInstantCapacityExists) {
  Simulator sim;
  RateLimiter l{{.requests_per_minute = 2, .on_limit = OnLimit::delay, .max_delay = 5min}};
  Outcome o[4];
  for (auto& x : o) spawn(sim, call(l, 0, &x));
  sim.run_until_idle();
  EXPECT_EQ(o[0].ended_at, at(0s));
  EXPECT_EQ(o[1].ended_at, at(0s));
  EXPECT_EQ(o[2].ended_at, at(30s));
  EXPECT_EQ(o[3].ended_at, at(60s));
  for (auto& x : o) EXPECT_TRUE(x.status);
  EXPECT_EQ(l.counters().admitted, 2u);
  EXPECT_EQ(l.counters().delayed, 2u);
}

TEST(RateLimiterTest, TokensPerMinuteChargesTheCallsCost) {
  Simulator sim;
  RateLimiter l{{.tokens_per_minute = 1000}};
  Outcome a, b;
  spawn(sim, call(l, 800, &a));
  spawn(sim, call(l, 500, &b));  // 300 short: 300/1000 of a minute = 18 s
  sim.run_until_idle();
  EXPECT_EQ(a.ended_at, at(0s));
  EXPECT_EQ(b.ended_at, at(18s));
  EXPECT_TRUE(b.status);
}

TEST(RateLimiterTest, RequestAndTokenLimitsCombineAndACheapCallNeverOvertakes) {
  Simulator sim;
  // One request per second (burst 1); 120 tokens per minute (2/s, burst 120).
  RateLimiter l{{.requests_per_minute = 60, .tokens_per_minute = 120, .request_burst = 1}};
  Outcome a, b, c;
  std::vector<int> order;
  spawn(sim, call(l, 100, &a, &order, 0));
  spawn(sim, call(l, 100, &b, &order, 1));  // request ok at 1 s, but 80 tokens short: 40 s
  spawn(sim, call(l, 1, &c, &order, 2));    // cheap, but must not pass B: its request slot is 41 s
  sim.run_until_idle();
  EXPECT_EQ(a.ended_at, at(0s));
  EXPECT_EQ(b.ended_at, at(40s));
  EXPECT_EQ(c.ended_at, at(41s));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

TEST(RateLimiterTest, DelayedCallersAreAdmittedInArrivalOrder) {
  Simulator sim;
  RateLimiter l{{.requests_per_minute = 600, .tokens_per_minute = 6000, .max_delay = 1h}};
  const std::int64_t costs[] = {3000, 10, 2500, 0, 4000, 1, 1, 5999, 20, 0};
  Outcome o[10];
  std::vector<int> order;
  for (int i = 0; i < 10; ++i) spawn(sim, call(l, costs[i], &o[i], &order, i));
  sim.run_until_idle();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  for (int i = 1; i < 10; ++i) EXPECT_GE(o[i].ended_at, o[i - 1].ended_at) << i;
}

TEST(RateLimiterTest, AWaitBeyondMaxDelayIsRejectedAndReservesNothing) {
  Simulator sim;
  RecordingSink rec;
  RateLimiter l{{.requests_per_minute = 2, .max_delay = 10s}, &rec};
  Outcome o[4];
  for (int i = 0; i < 3; ++i) spawn(sim, call(l, 0, &o[i]));
  sim.run_until_idle();
  ASSERT_FALSE(o[2].status);
  EXPECT_EQ(o[2].status.error().code, ErrorCode::throttled);
  EXPECT_EQ(o[2].status.error().retry_after, Duration{30s});
  EXPECT_EQ(l.counters().delay_too_long, 1u);
  EXPECT_EQ(l.time_until_available(0, sim.now()), Duration{30s}) << "nothing was reserved";
  EXPECT_EQ(*rec.find_all("ratelimit.decision").back()->get<std::string>("reason"), "delay_too_long");
}

TEST(RateLimiterTest, AWaitEndingAfterTheCallersDeadlineIsRejectedAtOnce) {
  Simulator sim;
  RateLimiter l{{.requests_per_minute = 1, .max_delay = 1h}};
  Outcome first;
  Result<int> second = 0;
  TimePoint second_at{};
  auto guarded = [&]() -> Task<Result<int>> {
    if (Status s = co_await l.acquire(); !s) co_return s.error();
    co_return 1;
  };
  auto body = [&]() -> Task<void> {
    second = co_await with_timeout(guarded(), 5s);
    second_at = (co_await this_task::scheduler()).now();
  };
  spawn(sim, call(l, 0, &first));
  spawn(sim, body());
  sim.run_until_idle();
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::throttled);
  EXPECT_EQ(second.error().retry_after, Duration{60s});
  EXPECT_EQ(second_at, at(0s)) << "rejected immediately, not at the deadline";
}

TEST(RateLimiterTest, CancellingTheLastWaiterReturnsItsCapacity) {
  Simulator sim;
  RateLimiter l{{.requests_per_minute = 2}};
  Outcome a, b, c, d;
  CancelSource stop_c;
  spawn(sim, call(l, 0, &a));
  spawn(sim, call(l, 0, &b));
  spawn(sim, call(l, 0, &c), {}, {}, stop_c.token());  // delayed to 30 s
  sim.run_for(10s);
  stop_c.cancel();
  sim.run_for(0ns);
  ASSERT_TRUE(c.finished);
  EXPECT_EQ(c.status.error().code, ErrorCode::cancelled);
  EXPECT_EQ(c.ended_at, at(10s));
  spawn(sim, call(l, 0, &d));
  sim.run_until_idle();
  EXPECT_EQ(d.ended_at, at(30s)) << "d gets the slot c gave back";
  EXPECT_EQ(l.counters().cancelled, 1u);
}

TEST(RateLimiterTest, CancellingAWaiterWithOthersBehindItKeepsTheirTimes) {
  Simulator sim;
  RateLimiter l{{.requests_per_minute = 1, .max_delay = 1h}};
  Outcome a, b, c, d;
  CancelSource stop_b;
  spawn(sim, call(l, 0, &a));
  spawn(sim, call(l, 0, &b), {}, {}, stop_b.token());  // 60 s
  spawn(sim, call(l, 0, &c));                          // 120 s
  sim.run_for(10s);
  stop_b.cancel();
  spawn(sim, call(l, 0, &d));
  sim.run_until_idle();
  EXPECT_EQ(b.status.error().code, ErrorCode::cancelled);
  EXPECT_EQ(c.ended_at, at(120s));
  EXPECT_EQ(d.ended_at, at(180s)) << "b's capacity is lost: never above the limit, never out of order";
}

TEST(RateLimiterTest, ACostAboveTheBurstNeverFits) {
  Simulator sim;
  RateLimiter l{{.tokens_per_minute = 1000}};
  Outcome o;
  spawn(sim, call(l, 1001, &o));
  sim.run_until_idle();
  ASSERT_FALSE(o.status);
  EXPECT_EQ(o.status.error().code, ErrorCode::throttled);
  EXPECT_FALSE(o.status.error().retry_after.has_value());
  EXPECT_EQ(l.counters().exceeds_burst, 1u);
  EXPECT_EQ(l.time_until_available(1001, sim.now()), Duration::max());
}

TEST(RateLimiterTest, ExecuteRunsTheOperationOnceAdmitted) {
  Simulator sim;
  RateLimiter l{{.requests_per_minute = 1, .on_limit = OnLimit::reject}};
  Result<int> r1 = 0, r2 = 0;
  auto op = []() -> Task<Result<int>> { co_return 7; };
  auto body = [&](Result<int>* out) -> Task<void> { *out = co_await l.execute(op); };
  spawn(sim, body(&r1));
  spawn(sim, body(&r2));
  sim.run_until_idle();
  ASSERT_TRUE(r1);
  EXPECT_EQ(*r1, 7);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, ErrorCode::throttled);
}

TEST(RateLimiterTest, NoLimitsConfiguredAdmitsEverything) {
  Simulator sim;
  RateLimiter l;
  Outcome o[3];
  for (auto& x : o) spawn(sim, call(l, 1'000'000, &x));
  sim.run_until_idle();
  for (auto& x : o) EXPECT_TRUE(x.status);
  EXPECT_EQ(l.time_until_available(1'000'000, sim.now()), Duration::zero());
  EXPECT_THROW(RateLimiter({.requests_per_minute = 0}), std::invalid_argument);
}

TEST(RateLimiterTest, DecideIsPureAndMatchesAcquire) {
  RateLimiter l{{.requests_per_minute = 2, .max_delay = 40s}};
  EXPECT_EQ(l.decide(0, at(0s)).reason, RateLimitReason::admitted);
  EXPECT_EQ(l.decide(0, at(0s)).reason, RateLimitReason::admitted) << "deciding takes nothing";
  EXPECT_EQ(to_string(RateLimitReason::delay_too_long), "delay_too_long");
  EXPECT_EQ(to_string(OnLimit::reject), "reject");
}

Task<Result<int>> quick() {
  co_await yield_now();
  co_return 1;
}

Task<void> limiter_loop(RateLimiter* l, int n, std::uint64_t* allocs) {
  auto op = [] { return quick(); };
  for (int i = 0; i < 10; ++i) (void)co_await l->execute(op, 10);
  const std::uint64_t before = frame_heap_allocations();
  for (int i = 0; i < n; ++i) (void)co_await l->execute(op, 10);
  *allocs = frame_heap_allocations() - before;
}

TEST(RateLimiterTest, TheAdmittedPathTakesNothingFromTheHeapOnceWarm) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "frame pooling is off under AddressSanitizer";
#endif
  Simulator sim;
  RateLimiter l{{.requests_per_minute = 1'000'000, .tokens_per_minute = 100'000'000}};
  std::uint64_t allocs = 99;
  spawn(sim, limiter_loop(&l, 200, &allocs));
  sim.run_until_idle();
  EXPECT_EQ(allocs, 0u);
  EXPECT_EQ(l.counters().admitted, 210u);
}

}  // namespace
}  // namespace keel::policy
