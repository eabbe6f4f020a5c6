// Hedging: exact hedge timing, first success wins, losers cancelled in the same instant,
// failure-triggered hedges, max_extra, budget refusal, all-failed, caller cancellation.
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/core/timeout.h"
#include "keel/policy/hedging.h"
#include "keel/policy/retry_budget.h"
#include "keel/sim/simulator.h"

namespace keel::policy {
namespace {

using namespace std::chrono_literals;
using sim::Simulator;

TimePoint at(Duration d) { return TimePoint{} + d; }
constexpr Duration kHang = Duration::max();

// How one attempt behaves: its latency (kHang: until cancelled) and its answer.
struct Plan {
  Duration latency;
  std::optional<ErrorCode> fails_with;  // nullopt: succeeds with 100 + index
};

struct Log {
  std::vector<TimePoint> started;
  std::vector<std::optional<TimePoint>> cancelled_at;
  int in_flight = 0;
  int max_in_flight = 0;
};

Task<Result<int>> attempt(int index, Plan plan, Log* log) {
  Scheduler& s = co_await this_task::scheduler();
  log->started.push_back(s.now());
  log->cancelled_at.emplace_back();
  log->max_in_flight = std::max(log->max_in_flight, ++log->in_flight);
  Status st;  // (no co_await inside ?: — g++ 12 miscompiles it)
  if (plan.latency == kHang) {
    st = co_await until_cancelled();
  } else {
    st = co_await sleep_for(plan.latency);
  }
  --log->in_flight;
  if (!st) {
    log->cancelled_at[index] = s.now();
    co_return st.error();
  }
  if (plan.fails_with) co_return Error(*plan.fails_with, "attempt failed");
  co_return 100 + index;
}

struct HedgedRun {
  Result<int> result = Error(ErrorCode::internal, "never finished");
  bool finished = false;
  TimePoint finished_at{};
  Log log;
};

// g++ 12 destroys a closure temporary with non-trivial captures twice when it appears inside a
// co_await expression: name such callables before awaiting (see the hedging.h notes).
Task<void> hedged(Hedging& h, std::vector<Plan> plans, HedgedRun* run) {
  auto make_attempt = [plans, log = &run->log](int i) { return attempt(i, plans.at(i), log); };
  run->result = co_await h.execute(std::move(make_attempt));
  run->finished_at = (co_await this_task::scheduler()).now();
  run->finished = true;
}

TEST(HedgingTest, APrimaryAnsweringBeforeTheDelayStartsNoHedge) {
  Simulator sim;
  RecordingSink rec;
  Hedging h{{.delay = 2s, .max_extra = 1}, nullptr, &rec};
  HedgedRun run;
  spawn(sim, hedged(h, {{1s, {}}, {1s, {}}}, &run));
  sim.run_until_idle();
  ASSERT_TRUE(run.result);
  EXPECT_EQ(*run.result, 100);
  EXPECT_EQ(run.finished_at, at(1s));
  EXPECT_EQ(run.log.started.size(), 1u);
  EXPECT_EQ(h.counters().primary_won, 1u);
  EXPECT_EQ(h.counters().hedges_started, 0u);
  ASSERT_EQ(rec.count("hedge.won"), 1u);
  EXPECT_EQ(*rec.find("hedge.won")->get<std::int64_t>("attempt"), 0);
  EXPECT_EQ(sim.now(), at(1s)) << "no hedge timer left behind";
}

TEST(HedgingTest, TheHedgeStartsAtExactlyTheDelayWinsAndThePrimaryIsCancelledInThatInstant) {
  Simulator sim;
  RecordingSink rec;
  Hedging h{{.delay = 2s, .max_extra = 1}, nullptr, &rec};
  HedgedRun run;
  spawn(sim, hedged(h, {{10s, {}}, {1s, {}}}, &run));
  sim.run_until_idle();
  ASSERT_TRUE(run.result);
  EXPECT_EQ(*run.result, 101);
  ASSERT_EQ(run.log.started.size(), 2u);
  EXPECT_EQ(run.log.started[1], at(2s));
  EXPECT_EQ(run.finished_at, at(3s));
  EXPECT_EQ(run.log.cancelled_at[0], at(3s));
  EXPECT_FALSE(run.log.cancelled_at[1].has_value());
  EXPECT_EQ(sim.now(), at(3s)) << "the loser is not waited for";
  EXPECT_EQ(sim.detached_count(), 0u);
  EXPECT_EQ(h.counters().hedge_won, 1u);
  EXPECT_EQ(h.counters().hedges_started, 1u);
  const RecordedEvent* start = rec.find("hedge.start");
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(start->time, at(2s));
  EXPECT_EQ(*start->get<std::string>("trigger"), "delay");
  EXPECT_EQ(*start->get<std::int64_t>("elapsed"), Duration{2s}.count());
  EXPECT_EQ(*rec.find("hedge.won")->get<std::int64_t>("attempt"), 1);
}

TEST(HedgingTest, AFailureStartsTheNextHedgeImmediatelyAndTheDelayCountsFromThere) {
  Simulator sim;
  RecordingSink rec;
  Hedging h{{.delay = 2s, .max_extra = 2}, nullptr, &rec};
  HedgedRun run;
  // Primary fails at 0.5 s -> hedge 1 at 0.5 s (hangs) -> hedge 2 at 2.5 s, wins at 2.6 s.
  spawn(sim, hedged(h, {{500ms, ErrorCode::server_error}, {kHang, {}}, {100ms, {}}}, &run));
  sim.run_until_idle();
  ASSERT_TRUE(run.result);
  EXPECT_EQ(*run.result, 102);
  ASSERT_EQ(run.log.started.size(), 3u);
  EXPECT_EQ(run.log.started[1], at(500ms));
  EXPECT_EQ(run.log.started[2], at(2500ms));
  EXPECT_EQ(run.finished_at, at(2600ms));
  EXPECT_EQ(run.log.cancelled_at[1], at(2600ms));
  auto starts = rec.find_all("hedge.start");
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(*starts[0]->get<std::string>("trigger"), "failure");
  EXPECT_EQ(*starts[1]->get<std::string>("trigger"), "delay");
}

TEST(HedgingTest, NeverMoreThanOnePlusMaxExtraAttempts) {
  Simulator sim;
  Hedging h{{.delay = 1s, .max_extra = 2}};
  HedgedRun run;
  auto body = [&]() -> Task<void> {
    run.result = co_await with_timeout(
        h.execute([log = &run.log](int i) { return attempt(i, {kHang, {}}, log); }), 10s);
    run.finished_at = (co_await this_task::scheduler()).now();
  };
  spawn(sim, body());
  sim.run_until_idle();
  ASSERT_FALSE(run.result);
  EXPECT_EQ(run.result.error().code, ErrorCode::timeout);
  EXPECT_EQ(run.finished_at, at(10s));
  ASSERT_EQ(run.log.started.size(), 3u);
  EXPECT_EQ(run.log.started[2], at(2s));
  EXPECT_EQ(run.log.max_in_flight, 3);
  for (const auto& c : run.log.cancelled_at) EXPECT_EQ(c, at(10s));
  EXPECT_EQ(h.counters().cancelled, 1u);
  EXPECT_EQ(sim.detached_count(), 0u);
}

TEST(HedgingTest, WhenEveryAttemptFailsTheLastFailureIsReturned) {
  Simulator sim;
  RecordingSink rec;
  Hedging h{{.delay = 2s, .max_extra = 1}, nullptr, &rec};
  HedgedRun run;
  // The primary fails at 3 s (after the hedge started at 2 s); the hedge fails at 4 s.
  spawn(sim, hedged(h, {{3s, ErrorCode::server_error}, {2s, ErrorCode::rate_limited}}, &run));
  sim.run_until_idle();
  ASSERT_FALSE(run.result);
  EXPECT_EQ(run.result.error().code, ErrorCode::rate_limited);
  EXPECT_EQ(run.finished_at, at(4s));
  EXPECT_EQ(h.counters().all_failed, 1u);
  const RecordedEvent* e = rec.find("hedge.all_failed");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(*e->get<std::string>("code"), "rate_limited");
  EXPECT_EQ(*e->get<std::int64_t>("attempts"), 2);
}

TEST(HedgingTest, AFailingPrimaryWithNoHedgesLeftWaitsForTheRunningHedge) {
  Simulator sim;
  Hedging h{{.delay = 1s, .max_extra = 1}};
  HedgedRun run;
  // Hedge at 1 s (succeeds at 6 s); the primary fails at 2 s: nothing more may start, keep waiting.
  spawn(sim, hedged(h, {{2s, ErrorCode::server_error}, {5s, {}}}, &run));
  sim.run_until_idle();
  ASSERT_TRUE(run.result);
  EXPECT_EQ(*run.result, 101);
  EXPECT_EQ(run.finished_at, at(6s));
}

TEST(HedgingTest, ARefusingBudgetPreventsTheHedge) {
  Simulator sim;
  RecordingSink rec;
  RetryBudget budget{{.max_tokens = 10, .token_ratio = 0.1}};
  for (int i = 0; i < 6; ++i) budget.on_failure();  // 4 tokens <= 10 / 2: no retries, no hedges
  Hedging h{{.delay = 2s, .max_extra = 3}, &budget, &rec};
  HedgedRun run;
  spawn(sim, hedged(h, {{5s, {}}, {1s, {}}, {1s, {}}, {1s, {}}}, &run));
  sim.run_until_idle();
  ASSERT_TRUE(run.result);
  EXPECT_EQ(*run.result, 100);
  EXPECT_EQ(run.finished_at, at(5s));
  EXPECT_EQ(run.log.started.size(), 1u);
  EXPECT_EQ(h.counters().hedges_refused_by_budget, 1u) << "one refusal stops hedging for the call";
  EXPECT_EQ(h.counters().hedges_started, 0u);
  ASSERT_EQ(rec.count("hedge.refused"), 1u);
  EXPECT_EQ(rec.find("hedge.refused")->time, at(2s));
}

TEST(HedgingTest, AGrantingBudgetIsReleasedAsTheHedgeStarts) {
  Simulator sim;
  RetryBudget budget{{.max_tokens = 10, .token_ratio = 0.1}};
  Hedging h{{.delay = 1s, .max_extra = 2}, &budget};
  HedgedRun run;
  spawn(sim, hedged(h, {{10s, {}}, {10s, {}}, {500ms, {}}}, &run));
  sim.run_until_idle();
  ASSERT_TRUE(run.result);
  EXPECT_EQ(*run.result, 102);
  EXPECT_EQ(run.finished_at, at(2500ms));
  EXPECT_EQ(budget.counters().granted, 2u);
  EXPECT_EQ(budget.pending(), 0);
  EXPECT_EQ(budget.tokens(), 10.0) << "hedging reports no outcomes to the budget";
}

TEST(HedgingTest, CancellingTheCallerCancelsEveryAttemptAndReturnsInThatInstant) {
  Simulator sim;
  Hedging h{{.delay = 1s, .max_extra = 1}};
  HedgedRun run;
  CancelSource stop;
  spawn(sim, hedged(h, {{kHang, {}}, {kHang, {}}}, &run), {}, {}, stop.token());
  sim.run_for(3s);
  stop.cancel();
  sim.run_until_idle();
  ASSERT_TRUE(run.finished);
  ASSERT_FALSE(run.result);
  EXPECT_EQ(run.result.error().code, ErrorCode::cancelled);
  EXPECT_EQ(run.finished_at, at(3s));
  ASSERT_EQ(run.log.started.size(), 2u);
  EXPECT_EQ(run.log.cancelled_at[0], at(3s));
  EXPECT_EQ(run.log.cancelled_at[1], at(3s));
  EXPECT_EQ(h.counters().cancelled, 1u);
  EXPECT_EQ(h.counters().all_failed, 0u);
}

TEST(HedgingTest, AnAttemptThatThrowsEndsTheCallAndTheExceptionIsRethrown) {
  Simulator sim;
  Hedging h{{.delay = 1s, .max_extra = 1}};
  Log log;
  bool caught = false;
  auto thrower = []() -> Task<Result<int>> {
    co_await sleep_for(1500ms);
    throw std::runtime_error("bug");
  };
  auto body = [&]() -> Task<void> {
    try {
      (void)co_await h.execute([&](int i) { return i == 0 ? attempt(0, {kHang, {}}, &log) : thrower(); });
    } catch (const std::runtime_error&) {
      caught = true;
    }
  };
  spawn(sim, body());
  sim.run_until_idle();
  EXPECT_TRUE(caught);
  EXPECT_EQ(log.cancelled_at[0], at(2500ms));
}

TEST(HedgingTest, LosersMayUseTheAttemptFactorysStateAfterTheCallReturned) {
  Simulator sim;
  Hedging h{{.delay = 1s, .max_extra = 1}};
  std::string seen;
  Result<int> got = 0;
  // Each attempt reads a string owned by the factory after it was cancelled.
  auto use_name = [](const std::string* name, std::string* out, Duration d) -> Task<Result<int>> {
    Status s = co_await sleep_for(d);
    if (!s) *out = *name;
    co_return 1;
  };
  auto body = [&]() -> Task<void> {
    auto make_attempt = [name = std::string(40, 'x'), &seen, use_name](int i) {
      return use_name(&name, &seen, i == 0 ? 1h : 10ms);
    };
    got = co_await h.execute(std::move(make_attempt));
  };
  spawn(sim, body());
  sim.run_until_idle();
  ASSERT_TRUE(got);
  EXPECT_EQ(seen, std::string(40, 'x'));
}

TEST(HedgingTest, AnAlreadyCancelledCallerStartsNothing) {
  Simulator sim;
  Hedging h;
  HedgedRun run;
  CancelSource stop;
  stop.cancel();
  spawn(sim, hedged(h, {{1s, {}}, {1s, {}}}, &run), {}, {}, stop.token());
  sim.run_until_idle();
  ASSERT_FALSE(run.result);
  EXPECT_EQ(run.result.error().code, ErrorCode::cancelled);
  EXPECT_TRUE(run.log.started.empty());
}

TEST(HedgingTest, AnInlineFailureChainDoesNotOverrunMaxExtra) {
  Simulator sim;
  Hedging h{{.delay = 1s, .max_extra = 2}};
  int calls = 0;
  Result<int> got = 0;
  auto instant_failure = [&](int) -> Task<Result<int>> {
    ++calls;
    co_return Error(ErrorCode::network, "refused");
  };
  auto body = [&]() -> Task<void> { got = co_await h.execute(instant_failure); };
  spawn(sim, body());
  sim.run_until_idle();
  EXPECT_EQ(calls, 3);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::network);
  EXPECT_EQ(sim.now(), at(0s));
  EXPECT_EQ(h.counters().all_failed, 1u);
}

Task<Result<int>> quick(int i) {
  co_await yield_now();
  co_return i;
}

Task<void> primary_wins_loop(Hedging* h, int n, std::uint64_t* allocs) {
  auto make_attempt = [](int i) { return quick(i); };
  for (int i = 0; i < 10; ++i) (void)co_await h->execute(make_attempt);
  const std::uint64_t before = frame_heap_allocations();
  for (int i = 0; i < n; ++i) (void)co_await h->execute(make_attempt);
  *allocs = frame_heap_allocations() - before;
}

TEST(HedgingTest, ThePrimaryWinningPathTakesNothingFromTheHeapOnceWarm) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "frame pooling is off under AddressSanitizer";
#endif
  Simulator sim;
  RetryBudget budget;
  Hedging h{{.delay = 2s, .max_extra = 1}, &budget};
  std::uint64_t allocs = 99;
  spawn(sim, primary_wins_loop(&h, 200, &allocs));
  sim.run_until_idle();
  EXPECT_EQ(allocs, 0u);
  EXPECT_EQ(h.counters().primary_won, 210u);
}

}  // namespace
}  // namespace keel::policy
