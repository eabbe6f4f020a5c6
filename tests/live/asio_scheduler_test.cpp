// AsioScheduler honours the Scheduler contract, and a coroutine program gives the same results
// on it (real time) as on the simulator (virtual time). Real time kept well under 200 ms.
#include "keel/live/asio_scheduler.h"

#include <algorithm>
#include <functional>
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

TEST(AsioScheduler, PostRunsLaterNotInline) {
  boost::asio::io_context io;
  live::AsioScheduler sched{io};
  std::vector<int> order;
  sched.post([&] { order.push_back(2); });
  order.push_back(1);
  io.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(AsioScheduler, EqualTimeTimersFireInSchedulingOrderAndNeverEarly) {
  boost::asio::io_context io;
  live::AsioScheduler sched{io};
  const TimePoint due = sched.now() + 3ms;
  struct Record {
    std::vector<int> order;
    std::vector<TimePoint> fired;
  } rec;
  for (int i = 0; i < 5; ++i) {
    sched.start_timer(due, [rec = &rec, s = &sched, i] {
      rec->order.push_back(i);
      rec->fired.push_back(s->now());
    });
  }
  io.run();
  EXPECT_EQ(rec.order, (std::vector<int>{0, 1, 2, 3, 4}));
  for (TimePoint t : rec.fired) EXPECT_GE(t, due);
}

TEST(AsioScheduler, CancelReportsWhetherItCancelled) {
  boost::asio::io_context io;
  live::AsioScheduler sched{io};
  bool ran = false;
  const TimerId id = sched.start_timer_after(1ms, [&] { ran = true; });
  EXPECT_TRUE(sched.cancel_timer(id));
  EXPECT_FALSE(sched.cancel_timer(id));
  const TimerId fired = sched.start_timer_after(0ms, [] {});
  io.run();
  EXPECT_FALSE(ran);
  EXPECT_FALSE(sched.cancel_timer(fired));
  EXPECT_FALSE(sched.cancel_timer(TimerId{12345}));
}

TEST(AsioScheduler, AStaleIdNeverCancelsTheTimerThatReusedItsSlot) {
  boost::asio::io_context io;
  live::AsioScheduler sched{io};
  const TimerId first = sched.start_timer_after(1h, [] {});
  ASSERT_TRUE(sched.cancel_timer(first));
  bool ran = false;
  const TimerId second = sched.start_timer_after(0ms, [&] { ran = true; });  // reuses the slot
  EXPECT_NE(first, second);
  EXPECT_FALSE(sched.cancel_timer(first));
  io.run();
  EXPECT_TRUE(ran);
}

TEST(AsioScheduler, ManyTimersWithCancellationsFireInDueThenSchedulingOrder) {
  boost::asio::io_context io;
  live::AsioScheduler sched{io};
  const TimePoint base = sched.now() + 2ms;
  std::vector<int> fired;
  std::vector<std::pair<TimePoint, int>> expected;
  std::vector<TimerId> ids;
  for (int i = 0; i < 200; ++i) {
    const TimePoint due = base + std::chrono::microseconds((i * 7919) % 23 * 100);  // many equal dues
    ids.push_back(sched.start_timer(due, [&fired, i] { fired.push_back(i); }));
    if (i % 3 != 0) expected.emplace_back(due, i);
  }
  for (int i = 0; i < 200; i += 3) EXPECT_TRUE(sched.cancel_timer(ids[static_cast<std::size_t>(i)]));
  EXPECT_EQ(sched.pending(), expected.size());
  std::stable_sort(expected.begin(), expected.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  io.run();
  std::vector<int> order;
  for (const auto& e : expected) order.push_back(e.second);
  EXPECT_EQ(fired, order);
  EXPECT_EQ(sched.pending(), 0u);
}

TEST(AsioScheduler, ACallbackRepostingItselfWaitsForTheNextDrain) {
  boost::asio::io_context io;
  live::AsioScheduler sched{io};
  int reposts = 0;
  bool io_ran = false;
  std::function<void()> again = [&] {
    if (++reposts < 1000) sched.post([&] { again(); });
  };
  sched.post([&] { again(); });
  boost::asio::post(io, [&] { io_ran = true; });
  io.run_one();  // the first drain
  io.run_one();  // the io handler runs before the re-posted callback's drain
  EXPECT_TRUE(io_ran);
  EXPECT_LE(reposts, 2);
  io.run();
  EXPECT_EQ(reposts, 1000);
}

// A small program using every core combinator; it logs what happened, in order, with
// results. Timings are 20 ms apart so real-time jitter cannot reorder them.
struct Program {
  std::vector<std::string> log;

  Task<Result<int>> value_after(Duration d, int v) {
    Status s = co_await sleep_for(d);
    if (!s) co_return s.error();
    co_return v;
  }
  Task<Result<int>> hang() {
    Status s = co_await until_cancelled();
    log.push_back("hang saw " + std::string(to_string(s.error().code)));
    co_return s.error();
  }
  Task<void> a() {
    co_await sleep_for(20ms);
    log.push_back("a slept");
    Result<int> r = co_await with_timeout(hang(), 60ms);
    log.push_back("a " + std::string(r ? "value" : to_string(r.error().code)));
  }
  Task<void> b() {
    std::vector<Task<Result<int>>> racers;
    racers.push_back(value_after(40ms, 1));
    racers.push_back(value_after(200ms, 2));
    auto won = co_await when_any(std::move(racers));
    log.push_back("b won " + std::to_string(won.index) + " value " + std::to_string(*won.value));
  }
  Task<void> c() {
    std::vector<Task<Result<int>>> all;
    all.push_back(value_after(60ms, 3));
    all.push_back(value_after(10ms, 4));
    auto values = co_await when_all(std::move(all));
    log.push_back("c all " + std::to_string(*values[0] + *values[1]));
  }
  void start(Scheduler& s) {
    spawn(s, a());
    spawn(s, b());
    spawn(s, c());
  }
};

TEST(AsioScheduler, SameProgramSameResultsAsTheSimulator) {
  Program on_sim;
  {
    sim::Simulator sim;
    on_sim.start(sim);
    sim.run_until_idle();
    EXPECT_EQ(sim.now(), TimePoint{} + 80ms);
  }
  Program on_asio;
  boost::asio::io_context io;
  live::AsioScheduler sched{io};
  on_asio.start(sched);
  io.run();
  const TimePoint end = sched.now();
  EXPECT_GE(end, TimePoint{} + 80ms);
  EXPECT_LT(end, TimePoint{} + 180ms) << "the when_any loser must be cancelled, not awaited";

  // The timeout releases `a` at its deadline; the hung task observes its cancellation after.
  const std::vector<std::string> expected = {"a slept", "b won 0 value 1", "c all 7", "a timeout",
                                             "hang saw cancelled"};
  EXPECT_EQ(on_sim.log, expected);
  EXPECT_EQ(on_asio.log, expected);
  EXPECT_EQ(sched.detached_count(), 0u);
}

}  // namespace
}  // namespace keel
