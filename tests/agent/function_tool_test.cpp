// FunctionTool: sync, stop-aware and async callables; return-type conversion; exceptions as
// tool_error (docs/architecture.md: never escaping the agent); executors; through the ToolRunner.
#include "keel/agent/function_tool.h"

#include <optional>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "keel/agent/tool_runner.h"
#include "keel/agent/toolkit.h"
#include "keel/core/cancel.h"
#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/sim/simulator.h"

namespace keel::agent {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using sim::Simulator;

TimePoint at(Duration d) { return TimePoint{} + d; }

// Invokes `tool` directly on a fresh simulator.
Result<std::string> invoke(Tool& tool, std::string args, TimePoint* done = nullptr) {
  Simulator sim;
  std::optional<Result<std::string>> out;
  spawn(sim, tool.invoke(std::move(args)), [&](Result<std::string> r) {
    out = std::move(r);
    if (done) *done = sim.now();
  });
  sim.run_until_idle();
  EXPECT_TRUE(out.has_value());
  return out.value_or(Error(ErrorCode::internal, "did not finish"));
}

ToolResult run_call(Simulator& sim, ToolRunner& runner, std::string tool, std::string args = "{}") {
  std::optional<ToolResult> out;
  spawn(sim, runner.run(model::ToolCall{"call_1", std::move(tool), std::move(args)}),
        [&](ToolResult r) { out = std::move(r); });
  sim.run_until_idle();
  EXPECT_TRUE(out.has_value());
  return out.value_or(ToolResult{});
}

TEST(FunctionTool, SyncCallableReturningJson) {
  FunctionTool add{{"add", "Adds a and b", R"({"type":"object"})"},
                   [](const Json& a) { return Json{{"sum", a.at("a").get<int>() + a.at("b").get<int>()}}; }};
  EXPECT_FALSE(add.is_async());
  EXPECT_EQ(add.spec().name, "add");
  EXPECT_EQ(add.spec().description, "Adds a and b");
  Result<std::string> r = invoke(add, R"({"a":2,"b":3})");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, R"({"sum":5})");
}

TEST(FunctionTool, SyncReturnTypesAreConvertedToJson) {
  FunctionTool number{{"n", ""}, [](const Json&) { return 42; }};
  FunctionTool text{{"s", ""}, [](const Json&) { return std::string{"hi \"you\""}; }};
  FunctionTool nothing{{"v", ""}, [](const Json&) {}};
  FunctionTool result_int{{"ri", ""}, [](const Json&) -> Result<int> { return 7; }};
  FunctionTool result_err{{"re", ""}, [](const Json&) -> Result<int> { return Error(ErrorCode::tool_error, "nope"); }};
  EXPECT_EQ(*invoke(number, "{}"), "42");
  EXPECT_EQ(*invoke(text, "{}"), R"("hi \"you\"")");
  EXPECT_EQ(*invoke(nothing, "{}"), "null");
  EXPECT_EQ(*invoke(result_int, "{}"), "7");
  Result<std::string> e = invoke(result_err, "{}");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::tool_error);
  EXPECT_EQ(e.error().message, "nope");
}

TEST(FunctionTool, SyncCallableReturningAnErrorKeepsItsCode) {
  FunctionTool t{{"t", ""}, [](const Json&) -> Result<Json> { return Error(ErrorCode::network, "reset"); }};
  Result<std::string> r = invoke(t, "{}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::network);
}

// docs/architecture.md: a tool failure is a structured result, never an exception escaping the agent.
TEST(FunctionTool, ExceptionsFromSyncCallablesBecomeToolErrors) {
  FunctionTool std_throw{{"a", ""}, [](const Json& a) -> Json { return a.at("missing"); }};  // json out_of_range
  FunctionTool odd_throw{{"b", ""}, [](const Json&) -> Json { throw 42; }};
  Result<std::string> a = invoke(std_throw, "{}");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, ErrorCode::tool_error);
  EXPECT_NE(a.error().message.find("missing"), std::string::npos);
  Result<std::string> b = invoke(odd_throw, "{}");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::tool_error);
}

TEST(FunctionTool, ExceptionsFromAsyncCallablesBecomeToolErrors) {
  FunctionTool lazy{{"lazy", ""}, [](const Json&) -> Task<Result<Json>> {
                      co_await sleep_for(1s);
                      throw std::runtime_error("async boom");
                    }};
  FunctionTool eager{{"eager", ""}, [](const Json&) -> Task<Result<Json>> { throw std::runtime_error("eager boom"); }};
  Result<std::string> a = invoke(lazy, "{}");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, ErrorCode::tool_error);
  EXPECT_NE(a.error().message.find("async boom"), std::string::npos);
  Result<std::string> b = invoke(eager, "{}");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("eager boom"), std::string::npos);
}

TEST(FunctionTool, StopAwareSyncCallableGetsAStopToken) {
  bool called = false;
  FunctionTool t{{"t", ""}, [&](const Json&, std::stop_token stop) {
                   called = true;
                   return Json{{"stop_requested", stop.stop_requested()}};
                 }};
  EXPECT_EQ(*invoke(t, "{}"), R"({"stop_requested":false})");
  EXPECT_TRUE(called);
}

TEST(FunctionTool, AsyncCallableRunsInVirtualTime) {
  FunctionTool slow{{"slow", ""}, [](Json args) -> Task<Result<Json>> {  // by value
                      co_await sleep_for(250ms);
                      co_return Json{{"echo", args.at("x")}};
                    }};
  FunctionTool by_ref{{"by_ref", ""}, [](const Json& args) -> Task<Result<Json>> {  // by reference: still safe
                        co_await sleep_for(1s);
                        co_return Json{{"echo", args.at("x")}};
                      }};
  EXPECT_TRUE(slow.is_async());
  TimePoint done;
  EXPECT_EQ(*invoke(slow, R"({"x":"y"})", &done), R"({"echo":"y"})");
  EXPECT_EQ(done, at(250ms));
  EXPECT_EQ(*invoke(by_ref, R"({"x":[1,2]})", &done), R"({"echo":[1,2]})");
  EXPECT_EQ(done, at(1s));
}

TEST(FunctionTool, HungAsyncToolIsReleasedByTheRunnerTimeoutAndSeesCancellation) {
  Simulator sim;
  Toolkit kit;
  bool saw_cancel = false;
  kit.emplace<FunctionTool>(model::ToolSpec{"wait", ""},
                            [&saw_cancel](const Json&) -> Task<Result<Json>> {
                              Status s = co_await until_cancelled();
                              saw_cancel = !s.ok();
                              co_return s.error();
                            },
                            ToolOptions{.timeout = 1s});
  ToolRunner runner{kit, {}, Rng{1}};
  ToolResult r = run_call(sim, runner, "wait");
  EXPECT_EQ(r.error, ErrorCode::timeout);
  EXPECT_TRUE(r.maybe_executed);
  EXPECT_EQ(r.duration, 1s);
  EXPECT_TRUE(saw_cancel);
}

TEST(FunctionTool, ArgumentsThatAreNotJsonAreAnInvalidRequestAndEmptyMeansEmptyObject) {
  int calls = 0;
  FunctionTool sync{{"s", ""}, [&](const Json& a) { ++calls; return a; }};
  FunctionTool async{{"a", ""}, [&](const Json& a) -> Task<Result<Json>> { ++calls; co_return a; }};
  for (Tool* t : {static_cast<Tool*>(&sync), static_cast<Tool*>(&async)}) {
    Result<std::string> bad = invoke(*t, "{nope");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::invalid_request);
    EXPECT_EQ(*invoke(*t, ""), "{}");
  }
  EXPECT_EQ(calls, 2);
}

TEST(FunctionTool, OptionsAndValidation) {
  FunctionTool t{{"t", "d", R"({"type":"object","properties":{}})"}, [](const Json&) { return 1; },
                 {.idempotent = true, .max_attempts = 4, .timeout = 3s}};
  EXPECT_TRUE(t.options().idempotent);
  EXPECT_EQ(t.options().max_attempts, 4);
  EXPECT_EQ(t.options().timeout, Duration{3s});
  EXPECT_EQ(t.spec().parameters_schema, R"({"type":"object","properties":{}})");
  EXPECT_THROW((FunctionTool{{"", ""}, [](const Json&) { return 1; }}), std::invalid_argument);
}

// A custom executor: counts jobs and runs them inline.
class CountingExecutor final : public SyncToolExecutor {
 public:
  Task<Result<std::string>> run(Job job) override {
    ++jobs;
    co_await sleep_for(5ms);  // e.g. a hop to another thread and back
    co_return job(std::stop_token{});
  }
  int jobs = 0;
};

TEST(FunctionTool, SyncCallablesRunThroughTheGivenExecutor) {
  CountingExecutor exec;
  FunctionTool t{{"t", ""}, [](const Json&) { return "x"; }, {}, &exec};
  TimePoint done;
  EXPECT_EQ(*invoke(t, "{}", &done), R"("x")");
  EXPECT_EQ(exec.jobs, 1);
  EXPECT_EQ(done, at(5ms));
}

TEST(FunctionTool, InlineExecutorDoesNotRunAJobForAnAlreadyCancelledCaller) {
  Simulator sim;
  InlineToolExecutor exec;
  bool ran = false;
  CancelSource stop;
  stop.cancel();
  std::optional<Result<std::string>> out;
  spawn(
      sim, exec.run([&](std::stop_token) -> Result<std::string> {
        ran = true;
        return std::string{"1"};
      }),
      [&](Result<std::string> r) { out = std::move(r); }, keel::detail::TerminateOnError{}, stop.token());
  sim.run_until_idle();
  ASSERT_TRUE(out);
  EXPECT_EQ(out->error().code, ErrorCode::cancelled);
  EXPECT_FALSE(ran);
}

TEST(FunctionTool, IdempotentSyncToolIsRetriedByTheRunner) {
  Simulator sim;
  Toolkit kit;
  int calls = 0;
  kit.emplace<FunctionTool>(model::ToolSpec{"flaky", ""},
                            [&calls](const Json&) -> Result<Json> {
                              if (++calls < 3) return Error(ErrorCode::tool_error, "try again");
                              return Json{{"calls", calls}};
                            },
                            ToolOptions{.idempotent = true, .max_attempts = 3});
  ToolRunner runner{kit, {}, Rng{1}};
  ToolResult r = run_call(sim, runner, "flaky");
  ASSERT_TRUE(r.ok) << r.error_message;
  EXPECT_EQ(r.value, R"({"calls":3})");
  EXPECT_EQ(r.attempts, 3);
}

TEST(FunctionTool, ThrowingToolThroughTheRunnerGivesAResultNotAnException) {
  Simulator sim;
  Toolkit kit;
  kit.emplace<FunctionTool>(model::ToolSpec{"bad", ""}, [](const Json&) -> Json { throw std::runtime_error("kaput"); });
  ToolRunner runner{kit, {}, Rng{1}};
  ToolResult r = run_call(sim, runner, "bad");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, ErrorCode::tool_error);
  EXPECT_NE(r.to_json().find("kaput"), std::string::npos);
}

}  // namespace
}  // namespace keel::agent
