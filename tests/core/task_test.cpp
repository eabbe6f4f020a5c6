// Task<T>, spawn, sleep, when_all, when_any and with_timeout on the virtual-time simulator.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/core/timeout.h"
#include "keel/core/when.h"
#include "keel/sim/simulator.h"

namespace keel {
namespace {

using namespace std::chrono_literals;
using sim::Simulator;

TimePoint at(Duration d) { return TimePoint{} + d; }

// Counts live instances; placed in coroutine frames to prove they are freed.
struct FrameProbe {
  static inline int live = 0;
  FrameProbe() { ++live; }
  FrameProbe(const FrameProbe&) { ++live; }
  ~FrameProbe() { --live; }
};

Task<int> value_after(Duration d, int v) {
  FrameProbe probe;
  co_await sleep_for(d);
  co_return v;
}

Task<Result<int>> cancellable_value_after(Duration d, int v, std::vector<std::string>* log = nullptr) {
  FrameProbe probe;
  Status s = co_await sleep_for(d);
  if (!s) {
    if (log) log->push_back("cancelled " + std::to_string(v));
    co_return s.error();
  }
  co_return v;
}

Task<Result<int>> hang_forever(bool* saw_cancel) {
  FrameProbe probe;
  Status s = co_await until_cancelled();
  *saw_cancel = !s && s.error().code == ErrorCode::cancelled;
  co_return s.error();
}

class TaskTest : public ::testing::Test {
 protected:
  void SetUp() override { FrameProbe::live = 0; }
  void TearDown() override { EXPECT_EQ(FrameProbe::live, 0) << "a coroutine frame leaked"; }
};

TEST_F(TaskTest, NarrowDeadlineTightensOwnDeadlineForChildrenAndNeverLoosensIt) {
  Simulator sim;
  std::vector<Deadline> seen;
  auto child = [&]() -> Task<void> { seen.push_back(co_await this_task::deadline()); };
  auto parent = [&]() -> Task<void> {
    seen.push_back((co_await this_task::narrow_deadline(Deadline::after(sim.now(), 5s))).deadline);
    co_await child();
    seen.push_back((co_await this_task::narrow_deadline(1h)).deadline);  // looser: ignored
    co_await child();
    Result<int> r = co_await with_timeout(value_after(10s, 1), 1h);  // the 5 s bound applies
    EXPECT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::timeout);
    EXPECT_EQ(sim.now(), at(5s));
  };
  spawn(sim, parent());
  sim.run_until_idle();
  ASSERT_EQ(seen.size(), 4u);
  for (const Deadline& d : seen) EXPECT_EQ(d, Deadline::after(TimePoint{}, 5s));
}

TEST_F(TaskTest, AnAbandonedTaskFreesItsFrameWhenItFinishesAfterTheTimeout) {
  Simulator sim;
  bool saw_cancel = false;
  auto caller = [&]() -> Task<void> {
    Result<int> r = co_await with_timeout(hang_forever(&saw_cancel), 1s);
    EXPECT_FALSE(r);
  };
  spawn(sim, caller());
  sim.run_for(1s);
  EXPECT_TRUE(saw_cancel) << "the abandoned task saw its cancellation";
  sim.run_until_idle();
  EXPECT_EQ(sim.detached_count(), 0u) << "nothing left registered with the scheduler";
}

TEST_F(TaskTest, TaskIsLazyAndFreesAnUnstartedFrame) {
  bool started = false;
  auto make = [&]() -> Task<int> {
    started = true;
    co_return 1;
  };
  {
    Task<int> t = make();
    EXPECT_FALSE(started);
  }
  EXPECT_FALSE(started);
}

TEST_F(TaskTest, SpawnStartsOnTheNextTurnNotInline) {
  Simulator sim;
  bool started = false;
  int got = 0;
  auto body = [&]() -> Task<int> {
    started = true;
    co_return 7;
  };
  spawn(sim, body(), [&](int v) { got = v; });
  EXPECT_FALSE(started);
  sim.run_until_idle();
  EXPECT_TRUE(started);
  EXPECT_EQ(got, 7);
}

TEST_F(TaskTest, SleepResumesAtExactlyItsVirtualTime) {
  Simulator sim;
  TimePoint woke{};
  auto body = [&]() -> Task<void> {
    co_await sleep_for(1500ms);
    woke = (co_await this_task::scheduler()).now();
  };
  spawn(sim, body());
  sim.run_until_idle();
  EXPECT_EQ(woke, at(1500ms));
}

TEST_F(TaskTest, NestedAwaitsReturnValuesAndPropagateExceptions) {
  Simulator sim;
  std::string what;
  int sum = 0;
  auto thrower = []() -> Task<int> {
    co_await sleep_for(1ms);
    throw std::runtime_error("boom");
  };
  auto body = [&]() -> Task<void> {
    sum = co_await value_after(5ms, 2) + co_await value_after(5ms, 3);
    try {
      co_await thrower();
    } catch (const std::runtime_error& e) {
      what = e.what();
    }
  };
  spawn(sim, body());
  sim.run_until_idle();
  EXPECT_EQ(sum, 5);
  EXPECT_EQ(what, "boom");
  EXPECT_EQ(sim.now(), at(11ms));
}

TEST_F(TaskTest, SpawnErrorHookReceivesEscapingException) {
  Simulator sim;
  bool hooked = false;
  auto body = []() -> Task<void> {
    co_await yield_now();
    throw std::logic_error("bug");
  };
  spawn(sim, body(), [] {}, [&](std::exception_ptr e) { hooked = static_cast<bool>(e); });
  sim.run_until_idle();
  EXPECT_TRUE(hooked);
}

TEST_F(TaskTest, CancellingASpawnedTaskEndsItsSleepWithinTheSameInstant) {
  Simulator sim;
  CancelSource stop;
  Result<int> got = 0;
  spawn(sim, cancellable_value_after(1h, 1), [&](Result<int> r) { got = std::move(r); }, {},
        stop.token());
  sim.run_for(10s);
  stop.cancel();
  sim.run_until_idle();
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::cancelled);
  EXPECT_EQ(sim.now(), at(10s));
  EXPECT_EQ(sim.pending(), 0u);
}

TEST_F(TaskTest, WhenAllWaitsForEveryChildAndKeepsInputOrder) {
  Simulator sim;
  std::vector<int> got;
  auto body = [&]() -> Task<void> {
    std::vector<Task<int>> children;
    children.push_back(value_after(30ms, 1));
    children.push_back(value_after(10ms, 2));
    children.push_back(value_after(20ms, 3));
    got = co_await when_all(std::move(children));
  };
  spawn(sim, body());
  sim.run_until_idle();
  EXPECT_EQ(got, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(sim.now(), at(30ms));
}

TEST_F(TaskTest, WhenAllOfNothingReturnsAtOnce) {
  Simulator sim;
  bool done = false;
  auto body = [&]() -> Task<void> {
    auto v = co_await when_all(std::vector<Task<int>>{});
    done = v.empty();
  };
  spawn(sim, body());
  sim.run_until_idle();
  EXPECT_TRUE(done);
}

TEST_F(TaskTest, WhenAllCancelsSiblingsWhenOneThrows) {
  Simulator sim;
  std::vector<std::string> log;
  bool caught = false;
  auto thrower = []() -> Task<Result<int>> {
    co_await sleep_for(5ms);
    throw std::runtime_error("x");
  };
  auto body = [&]() -> Task<void> {
    std::vector<Task<Result<int>>> children;
    children.push_back(cancellable_value_after(1h, 1, &log));
    children.push_back(thrower());
    try {
      co_await when_all(std::move(children));
    } catch (const std::runtime_error&) {
      caught = true;
    }
  };
  spawn(sim, body());
  sim.run_until_idle();
  EXPECT_TRUE(caught);
  EXPECT_EQ(log, (std::vector<std::string>{"cancelled 1"}));
  EXPECT_EQ(sim.now(), at(5ms));
}

TEST_F(TaskTest, WhenAnyReturnsTheFirstAndCancelsTheRest) {
  Simulator sim;
  std::vector<std::string> log;
  std::size_t index = 99;
  int value = 0;
  TimePoint resumed{};
  auto body = [&]() -> Task<void> {
    std::vector<Task<Result<int>>> racers;
    racers.push_back(cancellable_value_after(50ms, 1, &log));
    racers.push_back(cancellable_value_after(20ms, 2, &log));
    racers.push_back(cancellable_value_after(90ms, 3, &log));
    auto r = co_await when_any(std::move(racers));
    index = r.index;
    value = *r.value;
    resumed = (co_await this_task::scheduler()).now();
  };
  spawn(sim, body());
  sim.run_until_idle();
  EXPECT_EQ(index, 1u);
  EXPECT_EQ(value, 2);
  EXPECT_EQ(resumed, at(20ms));
  EXPECT_EQ(log, (std::vector<std::string>{"cancelled 1", "cancelled 3"}));
  EXPECT_EQ(sim.now(), at(20ms)) << "losers must finish in the winner's instant, not at their own time";
}

TEST_F(TaskTest, WhenAnyDoesNotStartChildrenAfterAnInlineWinner) {
  Simulator sim;
  int started = 0;
  auto instant = [&](int v) -> Task<int> {
    ++started;
    co_return v;
  };
  std::size_t index = 9;
  auto body = [&]() -> Task<void> {
    std::vector<Task<int>> racers;
    racers.push_back(instant(1));
    racers.push_back(instant(2));
    index = (co_await when_any(std::move(racers))).index;
  };
  spawn(sim, body());
  sim.run_until_idle();
  EXPECT_EQ(index, 0u);
  EXPECT_EQ(started, 1);
}

TEST_F(TaskTest, WithTimeoutReleasesTheCallerAtExactlyTheDeadlineAndCancelsTheTask) {
  Simulator sim;
  bool saw_cancel = false;
  Result<int> got = 0;
  TimePoint resumed{};
  auto body = [&]() -> Task<void> {
    got = co_await with_timeout(hang_forever(&saw_cancel), Deadline::at(at(750ms)));
    resumed = (co_await this_task::scheduler()).now();
  };
  spawn(sim, body());
  sim.run_until_idle();
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::timeout);
  EXPECT_EQ(resumed, at(750ms));
  EXPECT_TRUE(saw_cancel);
  EXPECT_EQ(sim.detached_count(), 0u);
}

TEST_F(TaskTest, WithTimeoutReturnsTheValueWhenTheTaskWinsAndLeavesNoTimer) {
  Simulator sim;
  Result<int> got = 0;
  auto body = [&]() -> Task<void> { got = co_await with_timeout(value_after(10ms, 42), 1s); };
  spawn(sim, body());
  sim.run_until_idle();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, 42);
  EXPECT_EQ(sim.now(), at(10ms)) << "the cancelled deadline timer must not advance time";
}

TEST_F(TaskTest, WithTimeoutOnAPassedDeadlineNeverStartsTheTask) {
  Simulator sim;
  bool started = false;
  Result<int> got = 0;
  auto inner = [&]() -> Task<int> {
    started = true;
    co_return 1;
  };
  auto body = [&]() -> Task<void> {
    co_await sleep_for(1s);
    got = co_await with_timeout(inner(), Deadline::at(at(500ms)));
  };
  spawn(sim, body());
  sim.run_until_idle();
  EXPECT_FALSE(started);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::timeout);
}

TEST_F(TaskTest, WithTimeoutFlattensResultAndMapsVoidToStatus) {
  Simulator sim;
  Status s = Error(ErrorCode::internal);
  Result<int> inner_error = 0;
  auto fails = []() -> Task<Result<int>> {
    co_await yield_now();
    co_return Error(ErrorCode::server_error, "503");
  };
  auto nothing = []() -> Task<void> { co_await yield_now(); };
  auto body = [&]() -> Task<void> {
    s = co_await with_timeout(nothing(), 1s);
    inner_error = co_await with_timeout(fails(), 1s);
  };
  spawn(sim, body());
  sim.run_until_idle();
  EXPECT_TRUE(s);
  ASSERT_FALSE(inner_error);
  EXPECT_EQ(inner_error.error().code, ErrorCode::server_error);
}

TEST_F(TaskTest, CancellingTheParentReleasesWithTimeoutAndCancelsNestedChildren) {
  Simulator sim;
  CancelSource stop;
  std::vector<std::string> log;
  Result<int> got = 0;
  auto nested = [&]() -> Task<Result<int>> {
    std::vector<Task<Result<int>>> racers;
    racers.push_back(cancellable_value_after(1h, 1, &log));
    racers.push_back(cancellable_value_after(2h, 2, &log));
    auto r = co_await when_any(std::move(racers));
    co_return std::move(r.value);
  };
  auto body = [&]() -> Task<void> { got = co_await with_timeout(nested(), 10h); };
  spawn(sim, body(), [] {}, {}, stop.token());
  sim.run_for(3s);
  stop.cancel();
  sim.run_until_idle();
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::cancelled);
  EXPECT_EQ(sim.now(), at(3s));
  EXPECT_EQ(log.size(), 2u);
}

TEST_F(TaskTest, TheSecondTokenReleasesWithTimeoutLikeItsOwnCancellation) {
  Simulator sim;
  CancelSource also;
  bool saw_cancel = false;
  Result<int> got = 0;
  TimePoint resumed{};
  auto body = [&]() -> Task<void> {
    got = co_await with_timeout(hang_forever(&saw_cancel), Deadline::never(), also.token());
    resumed = (co_await this_task::scheduler()).now();
  };
  spawn(sim, body());
  sim.run_for(3s);
  EXPECT_FALSE(saw_cancel);
  also.cancel();
  sim.run_until_idle();
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::cancelled);
  EXPECT_EQ(resumed, at(3s)) << "released within the instant of the cancellation";
  EXPECT_TRUE(saw_cancel) << "the task's token fired";
  EXPECT_EQ(sim.detached_count(), 0u);
}

TEST_F(TaskTest, WithBothTokensCancelledTheCallerIsReleasedOnce) {
  Simulator sim;
  CancelSource own, also;
  bool saw_cancel = false;
  int resumes = 0;
  Result<int> got = 0;
  auto body = [&]() -> Task<void> {
    got = co_await with_timeout(hang_forever(&saw_cancel), Deadline::never(), also.token());
    ++resumes;
  };
  spawn(sim, body(), [] {}, {}, own.token());
  sim.run_for(1s);
  also.cancel();
  own.cancel();
  sim.run_until_idle();
  EXPECT_EQ(resumes, 1);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::cancelled);
  EXPECT_TRUE(saw_cancel);
}

TEST_F(TaskTest, AnAlreadyCancelledSecondTokenNeverStartsTheTask) {
  Simulator sim;
  CancelSource also;
  also.cancel();
  bool started = false;
  Result<int> got = 0;
  auto inner = [&]() -> Task<int> {
    started = true;
    co_return 1;
  };
  auto body = [&]() -> Task<void> { got = co_await with_timeout(inner(), Deadline::never(), also.token()); };
  spawn(sim, body());
  sim.run_until_idle();
  EXPECT_FALSE(started);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::cancelled);
}

TEST_F(TaskTest, TheDeadlineStillAppliesWithASecondToken) {
  Simulator sim;
  CancelSource also;
  bool saw_cancel = false;
  Result<int> got = 0;
  auto body = [&]() -> Task<void> {
    got = co_await with_timeout(hang_forever(&saw_cancel), Deadline::at(at(2s)), also.token());
  };
  spawn(sim, body());
  sim.run_until_idle();
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::timeout);
  EXPECT_EQ(sim.now(), at(2s));
  also.cancel();  // after the release: nothing is armed on it any more
  EXPECT_TRUE(saw_cancel);
}

TEST_F(TaskTest, DeadlinesPropagateAndAChildNeverGetsMoreTimeThanItsParentHasLeft) {
  Simulator sim;
  Deadline outside{}, seen_by_inner{}, seen_by_child_of_when_all{};
  Result<int> inner_result = 0;
  // A named lambda: a coroutine lambda's closure must outlive its frame.
  auto kid = [&]() -> Task<int> {
    seen_by_child_of_when_all = co_await this_task::deadline();
    co_return 0;
  };
  auto probe = [&]() -> Task<Result<int>> {
    std::vector<Task<int>> kids;
    kids.push_back(kid());
    co_await when_all(std::move(kids));
    seen_by_inner = co_await this_task::deadline();
    Status s = co_await until_cancelled();
    co_return s.error();
  };
  auto middle = [&]() -> Task<Result<int>> {
    co_await sleep_for(400ms);
    inner_result = co_await with_timeout(probe(), 5s);  // asks for 5 s, but only 600 ms are left
    co_return 0;
  };
  auto body = [&]() -> Task<void> {
    outside = co_await this_task::deadline();
    (void)co_await with_timeout(middle(), 1s);
  };
  spawn(sim, body());
  sim.run_until_idle();
  EXPECT_TRUE(outside.is_never());
  EXPECT_EQ(seen_by_inner, Deadline::at(at(1s)));
  EXPECT_EQ(seen_by_child_of_when_all, Deadline::at(at(1s)));
  // Both deadlines fall at 1 s: the outer one releases `body` and cancels `middle`, so the
  // inner wait ends in that same instant, as a timeout or a cancellation.
  ASSERT_FALSE(inner_result);
  EXPECT_TRUE(inner_result.error().code == ErrorCode::timeout ||
              inner_result.error().code == ErrorCode::cancelled);
  EXPECT_EQ(sim.now(), at(1s));
}

TEST_F(TaskTest, DestroyingTheSchedulerFreesSuspendedTasksAndAbandonedChildren) {
  bool saw_cancel = false;
  {
    Simulator sim;
    auto body = [&]() -> Task<void> {
      co_await with_timeout(hang_forever(&saw_cancel), 1h);
    };
    spawn(sim, body());
    spawn(sim, value_after(5h, 1));
    sim.run_for(1s);
    EXPECT_GT(FrameProbe::live, 0);
  }
  EXPECT_EQ(FrameProbe::live, 0);
}

TEST_F(TaskTest, TimedOutTaskThatIgnoresCancellationIsFreedWhenItFinishes) {
  Simulator sim;
  Result<int> got = 0;
  auto stubborn = []() -> Task<Result<int>> {
    FrameProbe probe;
    for (int i = 0; i < 3; ++i) (void)co_await sleep_for(1s);  // ignores cancellation
    co_return 5;
  };
  auto body = [&]() -> Task<void> { got = co_await with_timeout(stubborn(), 100ms); };
  spawn(sim, body());
  sim.run_until_idle();
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::timeout);
  EXPECT_EQ(sim.detached_count(), 0u);
}

TEST_F(TaskTest, WarmTaskCallsTakeNothingFromTheHeap) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "frame pooling is off under AddressSanitizer";
#endif
  Simulator sim;
  auto leaf = [](int v) -> Task<int> { co_return v + 1; };
  auto loop = [&](int n) -> Task<int> {
    int acc = 0;
    for (int i = 0; i < n; ++i) acc = co_await leaf(acc);
    co_return acc;
  };
  int got = 0;
  spawn(sim, loop(10), [&](int v) { got = v; });
  sim.run_until_idle();
  const auto before = frame_heap_allocations();
  spawn(sim, loop(1000), [&](int v) { got = v; });
  sim.run_until_idle();
  EXPECT_EQ(got, 1000);
  EXPECT_EQ(frame_heap_allocations() - before, 0u);
}

}  // namespace
}  // namespace keel
