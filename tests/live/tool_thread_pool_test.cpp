// ToolThreadPool: sync tools on worker threads under the real-time AsioScheduler. Regression
// test for docs/architecture.md ("a sync tool timeout left the thread running and returned a string"):
// the caller is released at the timeout with a structured result, the job's stop_token is
// requested, and the abandoned thread is documented and counted. Real time well under 300 ms.
#include "keel/live/tool_thread_pool.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "keel/agent/function_tool.h"
#include "keel/agent/tool_runner.h"
#include "keel/agent/toolkit.h"
#include "keel/core/cancel.h"
#include "keel/core/spawn.h"
#include "keel/core/timeout.h"

namespace keel::live {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Waits up to `limit` for `stop` in small steps; how a well-behaved long sync tool is written.
bool wait_or_stop(std::stop_token stop, std::chrono::milliseconds limit) {
  const auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    if (stop.stop_requested()) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(ToolThreadPool, RunsSyncToolsOnAWorkerAndResumesOnTheSchedulerThread) {
  boost::asio::io_context io;
  AsioScheduler sched{io};
  ToolThreadPool pool{sched, 2};
  const auto main_thread = std::this_thread::get_id();
  std::atomic<bool> ran_elsewhere{false};
  agent::FunctionTool tool{{"where", ""},
                           [&](const Json&) {
                             ran_elsewhere = std::this_thread::get_id() != main_thread;
                             return Json{{"ok", true}};
                           },
                           {},
                           &pool};
  std::optional<Result<std::string>> out;
  bool resumed_on_main = false;
  spawn(sched, tool.invoke("{}"), [&](Result<std::string> r) {
    out = std::move(r);
    resumed_on_main = std::this_thread::get_id() == main_thread;
  });
  io.run();  // returns only once the job's result has been delivered
  ASSERT_TRUE(out);
  ASSERT_TRUE(out->ok()) << out->error();
  EXPECT_EQ(**out, R"({"ok":true})");
  EXPECT_TRUE(ran_elsewhere);
  EXPECT_TRUE(resumed_on_main);
  EXPECT_EQ(pool.threads(), 2u);
  EXPECT_EQ(pool.stats().finished, 1u);
  EXPECT_EQ(pool.stats().abandoned, 0u);
}

// The regression: a "2 s" sync tool with a 50 ms timeout releases the caller in ~50 ms.
TEST(ToolThreadPool, TimeoutReleasesTheCallerOnTimeAndRequestsTheJobsStop) {
  boost::asio::io_context io;
  AsioScheduler sched{io};
  std::atomic<bool> saw_stop{false};
  std::atomic<bool> returned{false};
  std::optional<agent::ToolResult> result;
  Clock::duration waited{};
  {
    ToolThreadPool pool{sched, 1};
    agent::Toolkit kit;
    kit.emplace<agent::FunctionTool>(model::ToolSpec{"slow", "sleeps 2 s unless stopped"},
                                     [&](const Json&, std::stop_token stop) {
                                       const bool finished = wait_or_stop(stop, 2000ms);
                                       saw_stop = !finished;
                                       returned = true;
                                       return Json{{"finished", finished}};
                                     },
                                     agent::ToolOptions{.timeout = 50ms}, &pool);
    agent::ToolRunner runner{kit, {}, Rng{1}};
    const auto started = Clock::now();
    spawn(sched, runner.run(model::ToolCall{"c1", "slow", "{}"}), [&](agent::ToolResult r) {
      result = std::move(r);
      waited = Clock::now() - started;
    });
    io.run();  // the abandoned job does not hold io.run() open
    ASSERT_TRUE(result);
    EXPECT_GE(waited, 50ms);
    EXPECT_LT(waited, 150ms) << "the caller must not wait for the abandoned thread";
    EXPECT_FALSE(result->ok);
    EXPECT_EQ(result->error, ErrorCode::timeout);
    EXPECT_TRUE(result->maybe_executed);
    EXPECT_EQ(result->attempts, 1);
    EXPECT_EQ(pool.stats().abandoned, 1u);
  }  // the pool joins its worker: the stop-aware job has already returned (or is about to)
  EXPECT_TRUE(returned);
  EXPECT_TRUE(saw_stop);
}

TEST(ToolThreadPool, AStopUnawareJobIsAbandonedAndItsResultDiscarded) {
  boost::asio::io_context io;
  AsioScheduler sched{io};
  std::atomic<int> finished_runs{0};
  std::optional<Result<std::string>> out;
  int runs_finished_when_released = -1;
  {
    ToolThreadPool pool{sched, 1};
    agent::FunctionTool stubborn{{"stubborn", ""},
                                 [&](const Json&) {
                                   std::this_thread::sleep_for(80ms);  // ignores any stop request
                                   ++finished_runs;
                                   return 1;
                                 },
                                 {},
                                 &pool};
    spawn(sched, [](agent::Tool& t) -> Task<Result<std::string>> {
      co_return co_await with_timeout(t.invoke("{}"), 20ms);
    }(stubborn), [&](Result<std::string> r) {
      out = std::move(r);
      runs_finished_when_released = finished_runs;
    });
    io.run();
    ASSERT_TRUE(out);
    EXPECT_EQ(out->error().code, ErrorCode::timeout);
    EXPECT_EQ(runs_finished_when_released, 0);  // released while the job was still running
    EXPECT_EQ(pool.running(), 1u);  // the worker is still busy with the abandoned job
  }  // destruction waits for it
  EXPECT_EQ(finished_runs, 1);
}

TEST(ToolThreadPool, ExceptionsFromPooledJobsBecomeToolErrors) {
  boost::asio::io_context io;
  AsioScheduler sched{io};
  ToolThreadPool pool{sched, 1};
  agent::FunctionTool bad{{"bad", ""}, [](const Json&) -> Json { throw std::runtime_error("worker boom"); }, {}, &pool};
  std::optional<Result<std::string>> a, b;
  spawn(sched, bad.invoke("{}"), [&](Result<std::string> r) { a = std::move(r); });
  spawn(sched, pool.run([](std::stop_token) -> Result<std::string> { throw 7; }),
        [&](Result<std::string> r) { b = std::move(r); });
  io.run();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->error().code, ErrorCode::tool_error);
  EXPECT_NE(a->error().message.find("worker boom"), std::string::npos);
  EXPECT_EQ(b->error().code, ErrorCode::tool_error);
}

TEST(ToolThreadPool, AQueuedJobWhoseCallerGaveUpNeverStarts) {
  boost::asio::io_context io;
  AsioScheduler sched{io};
  std::atomic<int> second_runs{0};
  std::optional<Result<std::string>> first, second;
  {
    ToolThreadPool pool{sched, 1};
    CancelSource give_up;
    spawn(sched, pool.run([](std::stop_token stop) -> Result<std::string> {
      wait_or_stop(stop, 40ms);
      return std::string{"1"};
    }),
          [&](Result<std::string> r) { first = std::move(r); });
    spawn(
        sched, pool.run([&](std::stop_token) -> Result<std::string> {
          ++second_runs;
          return std::string{"2"};
        }),
        [&](Result<std::string> r) { second = std::move(r); }, keel::detail::TerminateOnError{}, give_up.token());
    sched.start_timer_after(5ms, [&] { give_up.cancel(); });
    io.run();
    ASSERT_TRUE(first && second);
    EXPECT_EQ(**first, "1");
    EXPECT_EQ(second->error().code, ErrorCode::cancelled);
  }
  EXPECT_EQ(second_runs, 0);
}

TEST(ToolThreadPool, AlreadyCancelledCallerDoesNotSubmit) {
  boost::asio::io_context io;
  AsioScheduler sched{io};
  ToolThreadPool pool{sched, 1};
  CancelSource stop;
  stop.cancel();
  std::optional<Result<std::string>> out;
  spawn(
      sched, pool.run([](std::stop_token) -> Result<std::string> { return std::string{"x"}; }),
      [&](Result<std::string> r) { out = std::move(r); }, keel::detail::TerminateOnError{}, stop.token());
  io.run();
  ASSERT_TRUE(out);
  EXPECT_EQ(out->error().code, ErrorCode::cancelled);
  EXPECT_EQ(pool.stats().started, 0u);
}

TEST(ToolThreadPool, SchedulerDestroyedWhileATaskAwaitsAJobAbandonsItCleanly) {
  boost::asio::io_context io;
  auto sched = std::make_unique<AsioScheduler>(io);
  std::atomic<bool> saw_stop{false};
  ToolThreadPool pool{*sched, 1};
  spawn(*sched, pool.run([&](std::stop_token stop) -> Result<std::string> {
    saw_stop = !wait_or_stop(stop, 2000ms);
    return std::string{"late"};
  }));
  io.run_for(10ms);
  sched.reset();  // destroys the suspended task: the job is abandoned and told to stop
  const auto t0 = Clock::now();
  while (pool.running() > 0 && Clock::now() - t0 < 500ms) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(saw_stop);
  EXPECT_EQ(pool.stats().abandoned, 1u);
}

}  // namespace
}  // namespace keel::live
