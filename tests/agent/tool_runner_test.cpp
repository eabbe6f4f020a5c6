// ToolRunner: validation, automatic timeouts (opt-out), retries only for idempotent tools,
// "maybe executed", exceptions as results, events and counters — all in virtual time.
// Regression tests for docs/architecture.md: a hung tool releases the caller at its timeout with a
// structured result; non-idempotent tools never re-run; idempotent ones do; a throwing tool
// becomes a ToolResult.
#include "keel/agent/tool_runner.h"

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "keel/core/cancel.h"
#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/core/timeout.h"
#include "keel/sim/simulator.h"

namespace keel::agent {
namespace {

using namespace std::chrono_literals;
using sim::Simulator;

TimePoint at(Duration d) { return TimePoint{} + d; }

// What one execution of a ScriptedTool does.
struct Step {
  enum Kind { succeed, fail, hang, throw_error } kind = succeed;
  Duration latency = 100ms;
  ErrorCode code = ErrorCode::tool_error;  // for fail
};

// A tool following a script, one Step per execution (the last one repeats).
class ScriptedTool final : public Tool {
 public:
  ScriptedTool(std::string name, ToolOptions options, std::vector<Step> script)
      : spec_{std::move(name), "scripted test tool"}, options_(options), script_(std::move(script)) {}

  const model::ToolSpec& spec() const noexcept override { return spec_; }
  const ToolOptions& options() const noexcept override { return options_; }
  Task<Result<std::string>> invoke(std::string arguments) override {
    const Step step = script_[std::min(executions, static_cast<int>(script_.size()) - 1)];
    ++executions;
    arguments_seen.push_back(arguments);
    return execute(step);
  }

  int executions = 0;
  int cancellations = 0;  // executions that observed their cancellation
  std::vector<std::string> arguments_seen;

 private:
  Task<Result<std::string>> execute(Step step) {
    Status waited;
    if (step.kind == Step::hang) {
      waited = co_await until_cancelled();
    } else {
      waited = co_await sleep_for(step.latency);
    }
    if (!waited) {
      ++cancellations;
      co_return waited.error();
    }
    switch (step.kind) {
      case Step::succeed: co_return std::string{R"({"n":)"} + std::to_string(executions) + "}";
      case Step::fail: co_return Error(step.code, "scripted failure");
      case Step::throw_error: throw std::runtime_error("disk on fire");
      case Step::hang: break;
    }
    co_return Error(ErrorCode::internal, "unreachable");
  }

  model::ToolSpec spec_;
  ToolOptions options_;
  std::vector<Step> script_;
};

// Throws from invoke() itself, before any Task exists.
class EagerThrowTool final : public Tool {
 public:
  const model::ToolSpec& spec() const noexcept override { return spec_; }
  const ToolOptions& options() const noexcept override { return options_; }
  Task<Result<std::string>> invoke(std::string) override { throw std::logic_error("not today"); }

 private:
  model::ToolSpec spec_{"eager", "throws eagerly"};
  ToolOptions options_;
};

struct Finished {
  std::optional<ToolResult> result;
  TimePoint at{};
};

void start(Simulator& sim, ToolRunner& runner, model::ToolCall call, Finished& out, CancelToken token = {}) {
  spawn(
      sim, runner.run(std::move(call)),
      [&out, &sim](ToolResult r) {
        out.result = std::move(r);
        out.at = sim.now();
      },
      keel::detail::TerminateOnError{}, token);
}

ToolResult run_call(Simulator& sim, ToolRunner& runner, model::ToolCall call, TimePoint* finished_at = nullptr) {
  Finished f;
  start(sim, runner, std::move(call), f);
  sim.run_until_idle();
  EXPECT_TRUE(f.result.has_value());
  if (finished_at) *finished_at = f.at;
  return f.result.value_or(ToolResult{});
}

model::ToolCall call(std::string name, std::string args = "{}", std::string id = "call_1") {
  return model::ToolCall{std::move(id), std::move(name), std::move(args)};
}

ToolRunnerConfig no_jitter(Duration base = 1s) {
  ToolRunnerConfig c;
  c.retry_backoff = {.base = base, .max = 60s, .multiplier = 2.0, .jitter = policy::Jitter::none};
  return c;
}

struct Fixture {
  Simulator sim;
  RecordingSink events;
  Toolkit toolkit;
};

TEST(ToolRunner, SuccessReturnsTheToolsJsonWithAttemptsDurationEventsAndCounters) {
  Fixture f;
  ScriptedTool& tool = f.toolkit.emplace<ScriptedTool>("lookup", ToolOptions{}, std::vector<Step>{{Step::succeed, 120ms}});
  ToolRunner runner{f.toolkit, {}, Rng{1}, &f.events};
  TimePoint done;
  ToolResult r = run_call(f.sim, runner, call("lookup", R"({"q":"keel"})", "c7"), &done);

  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.value, R"({"n":1})");
  EXPECT_FALSE(r.error.has_value());
  EXPECT_EQ(r.call_id, "c7");
  EXPECT_EQ(r.tool, "lookup");
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.duration, 120ms);
  EXPECT_EQ(done, at(120ms));
  EXPECT_FALSE(r.maybe_executed);
  EXPECT_EQ(tool.arguments_seen, std::vector<std::string>{R"({"q":"keel"})"});

  EXPECT_EQ(f.events.kinds(), (std::vector<std::string>{"tool.start", "tool.end"}));
  const RecordedEvent* s = f.events.find("tool.start");
  EXPECT_EQ(*s->get<std::string>("tool"), "lookup");
  EXPECT_EQ(*s->get<std::string>("call_id"), "c7");
  EXPECT_EQ(s->get_int("attempt"), 1);
  const RecordedEvent* e = f.events.find("tool.end");
  EXPECT_EQ(e->time, at(120ms));
  EXPECT_EQ(*e->get<bool>("ok"), true);
  EXPECT_EQ(*e->get<std::string>("code"), "");
  EXPECT_EQ(e->get_int("attempts"), 1);
  EXPECT_EQ(e->get_int("duration"), Duration{120ms}.count());
  EXPECT_EQ(*e->get<bool>("maybe_executed"), false);

  const ToolRunnerCounters& c = runner.counters();
  EXPECT_EQ(c.calls, 1u);
  EXPECT_EQ(c.executions, 1u);
  EXPECT_EQ(c.successes, 1u);
  EXPECT_EQ(c.failures, 0u);
}

TEST(ToolRunner, UnknownToolIsAnInvalidRequestAndNothingRuns) {
  Fixture f;
  ScriptedTool& tool = f.toolkit.emplace<ScriptedTool>("real", ToolOptions{}, std::vector<Step>{{}});
  ToolRunner runner{f.toolkit, {}, Rng{1}, &f.events};
  ToolResult r = run_call(f.sim, runner, call("imaginary"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, ErrorCode::invalid_request);
  EXPECT_NE(r.error_message.find("imaginary"), std::string::npos);
  EXPECT_EQ(r.attempts, 0);
  EXPECT_EQ(tool.executions, 0);
  EXPECT_EQ(f.events.count("tool.start"), 0u);
  ASSERT_EQ(f.events.count("tool.end"), 1u);
  EXPECT_EQ(*f.events.find("tool.end")->get<std::string>("code"), "invalid_request");
  EXPECT_EQ(runner.counters().rejected, 1u);
  EXPECT_EQ(runner.counters().failures, 1u);
  EXPECT_EQ(runner.counters().executions, 0u);
}

TEST(ToolRunner, ArgumentsThatAreNotAJsonObjectAreRejectedWithoutExecution) {
  Fixture f;
  ScriptedTool& tool = f.toolkit.emplace<ScriptedTool>("t", ToolOptions{}, std::vector<Step>{{}});
  ToolRunner runner{f.toolkit, {}, Rng{1}};
  for (std::string bad : {"not json", "[1,2]", "42", "\"text\"", "{\"unterminated\":"}) {
    ToolResult r = run_call(f.sim, runner, call("t", bad));
    EXPECT_FALSE(r.ok) << bad;
    EXPECT_EQ(r.error, ErrorCode::invalid_request) << bad;
    EXPECT_EQ(r.attempts, 0) << bad;
  }
  EXPECT_EQ(tool.executions, 0);
  EXPECT_EQ(runner.counters().rejected, 5u);
}

TEST(ToolRunner, EmptyArgumentTextCountsAsAnEmptyObject) {
  Fixture f;
  ScriptedTool& tool = f.toolkit.emplace<ScriptedTool>("now", ToolOptions{}, std::vector<Step>{{}});
  ToolRunner runner{f.toolkit, {}, Rng{1}};
  ToolResult r = run_call(f.sim, runner, call("now", ""));
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(tool.arguments_seen, std::vector<std::string>{"{}"});
}

// docs/architecture.md defect: "a sync tool timeout left the thread running and returned a string".
TEST(ToolRunner, HungToolReleasesTheCallerAtTheDefaultTimeoutWithAStructuredResult) {
  Fixture f;
  ScriptedTool& tool = f.toolkit.emplace<ScriptedTool>("hang", ToolOptions{}, std::vector<Step>{{Step::hang}});
  ToolRunner runner{f.toolkit, {}, Rng{1}, &f.events};  // default_timeout = 30s
  TimePoint done;
  ToolResult r = run_call(f.sim, runner, call("hang"), &done);
  EXPECT_EQ(done, at(30s));  // exactly at the deadline, not a nanosecond later
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, ErrorCode::timeout);
  EXPECT_TRUE(r.maybe_executed);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.duration, 30s);
  EXPECT_EQ(tool.executions, 1);
  EXPECT_EQ(tool.cancellations, 1);  // the hung execution was told to stop
  EXPECT_EQ(runner.counters().timeouts, 1u);
  const auto j = nlohmann::json::parse(r.to_json());
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["error"], "timeout");
  EXPECT_EQ(j["maybe_executed"], true);
  EXPECT_EQ(*f.events.find("tool.end")->get<bool>("maybe_executed"), true);
}

TEST(ToolRunner, ToolsOwnTimeoutOverridesTheDefault) {
  Fixture f;
  ScriptedTool& tool =
      f.toolkit.emplace<ScriptedTool>("quick", ToolOptions{.timeout = 2s}, std::vector<Step>{{Step::succeed, 5s}});
  ToolRunner runner{f.toolkit, {}, Rng{1}};
  EXPECT_EQ(runner.timeout_for(tool), Duration{2s});
  TimePoint done;
  ToolResult r = run_call(f.sim, runner, call("quick"), &done);
  EXPECT_EQ(done, at(2s));
  EXPECT_EQ(r.error, ErrorCode::timeout);
}

TEST(ToolRunner, NoTimeoutOptOutLetsASlowToolFinish) {
  Fixture f;
  ScriptedTool& tool = f.toolkit.emplace<ScriptedTool>("batch", ToolOptions{.timeout = 1s, .no_timeout = true},
                                                       std::vector<Step>{{Step::succeed, 1h}});
  ToolRunner runner{f.toolkit, {}, Rng{1}};
  EXPECT_EQ(runner.timeout_for(tool), std::nullopt);
  TimePoint done;
  ToolResult r = run_call(f.sim, runner, call("batch"), &done);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(done, at(1h));
}

TEST(ToolRunner, OptedOutToolStillHonoursTheCallersCancellation) {
  Fixture f;
  ScriptedTool& tool =
      f.toolkit.emplace<ScriptedTool>("forever", ToolOptions{.no_timeout = true}, std::vector<Step>{{Step::hang}});
  ToolRunner runner{f.toolkit, {}, Rng{1}};
  CancelSource stop;
  Finished out;
  start(f.sim, runner, call("forever"), out, stop.token());
  f.sim.start_timer_after(10min, [&] { stop.cancel(); });
  f.sim.run_until_idle();
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.at, at(10min));
  EXPECT_EQ(out.result->error, ErrorCode::cancelled);
  EXPECT_TRUE(out.result->maybe_executed);
  EXPECT_EQ(tool.cancellations, 1);
}

TEST(ToolRunner, CallersDeadlineBoundsTheToolTimeout) {
  Fixture f;
  ScriptedTool& tool = f.toolkit.emplace<ScriptedTool>("hang", ToolOptions{}, std::vector<Step>{{Step::hang}});
  ToolRunner runner{f.toolkit, {}, Rng{1}};
  std::optional<Result<ToolResult>> out;
  TimePoint done{};
  spawn(f.sim, [](ToolRunner& r) -> Task<Result<ToolResult>> {
    co_return co_await with_timeout(r.run(call("hang")), 5s);
  }(runner), [&](Result<ToolResult> r) {
    out = std::move(r);
    done = f.sim.now();
  });
  f.sim.run_until_idle();
  ASSERT_TRUE(out);
  EXPECT_EQ(done, at(5s));  // the step-level deadline wins over the 30s tool default
  EXPECT_EQ(tool.cancellations, 1);
  EXPECT_EQ(runner.counters().calls, 1u);
  EXPECT_EQ(runner.counters().failures, 1u);  // the abandoned run still finished and counted
}

// docs/architecture.md: tools are not retried by default (side effects).
TEST(ToolRunner, NonIdempotentToolThatFailedIsNeverReRun) {
  Fixture f;
  ScriptedTool& tool =
      f.toolkit.emplace<ScriptedTool>("pay", ToolOptions{.max_attempts = 5}, std::vector<Step>{{Step::fail}, {}});
  ToolRunner runner{f.toolkit, no_jitter(), Rng{1}};
  ToolResult r = run_call(f.sim, runner, call("pay"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, ErrorCode::tool_error);
  EXPECT_EQ(r.error_message, "scripted failure");
  EXPECT_FALSE(r.maybe_executed);  // it reported its own failure: it knows what it did
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(tool.executions, 1);
  EXPECT_EQ(runner.counters().retries, 0u);
}

TEST(ToolRunner, NonIdempotentToolThatTimedOutIsMaybeExecutedAndNeverReRun) {
  Fixture f;
  ScriptedTool& tool = f.toolkit.emplace<ScriptedTool>("send_email", ToolOptions{.max_attempts = 5, .timeout = 1s},
                                                       std::vector<Step>{{Step::succeed, 3s}, {Step::succeed, 1ms}});
  ToolRunner runner{f.toolkit, no_jitter(), Rng{1}};
  ToolResult r = run_call(f.sim, runner, call("send_email"));
  EXPECT_EQ(r.error, ErrorCode::timeout);
  EXPECT_TRUE(r.maybe_executed);
  EXPECT_NE(r.error_message.find("may have executed"), std::string::npos);
  EXPECT_EQ(tool.executions, 1);
  EXPECT_EQ(runner.counters().executions, 1u);
}

TEST(ToolRunner, IdempotentToolRetriesWithBackoffUntilItSucceeds) {
  Fixture f;
  ScriptedTool& tool =
      f.toolkit.emplace<ScriptedTool>("search", ToolOptions{.idempotent = true, .max_attempts = 3},
                                      std::vector<Step>{{Step::fail, 100ms}, {Step::fail, 100ms}, {Step::succeed, 100ms}});
  ToolRunner runner{f.toolkit, no_jitter(1s), Rng{1}, &f.events};
  TimePoint done;
  ToolResult r = run_call(f.sim, runner, call("search", R"({"q":1})"), &done);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.value, R"({"n":3})");
  EXPECT_EQ(r.attempts, 3);
  // 100ms + 1s backoff + 100ms + 2s backoff + 100ms
  EXPECT_EQ(done, at(3300ms));
  EXPECT_EQ(r.duration, 3300ms);
  EXPECT_EQ(tool.arguments_seen, (std::vector<std::string>(3, R"({"q":1})")));  // same arguments each time
  EXPECT_EQ(runner.counters().retries, 2u);
  EXPECT_EQ(runner.counters().executions, 3u);
  EXPECT_EQ(f.events.kinds(), (std::vector<std::string>{"tool.start", "tool.retry", "tool.start", "tool.retry",
                                                        "tool.start", "tool.end"}));
  const auto retries = f.events.find_all("tool.retry");
  EXPECT_EQ(retries[0]->get_int("delay"), Duration{1s}.count());
  EXPECT_EQ(retries[1]->get_int("delay"), Duration{2s}.count());
  EXPECT_EQ(*retries[1]->get<std::string>("code"), "tool_error");
  EXPECT_EQ(f.events.find_all("tool.start")[2]->get_int("attempt"), 3);
}

TEST(ToolRunner, IdempotentToolRetriesTimeoutsAndStopsAtMaxAttempts) {
  Fixture f;
  ScriptedTool& tool = f.toolkit.emplace<ScriptedTool>(
      "fetch", ToolOptions{.idempotent = true, .max_attempts = 3, .timeout = 1s}, std::vector<Step>{{Step::hang}});
  ToolRunner runner{f.toolkit, no_jitter(500ms), Rng{1}};
  TimePoint done;
  ToolResult r = run_call(f.sim, runner, call("fetch"), &done);
  EXPECT_EQ(r.error, ErrorCode::timeout);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_FALSE(r.maybe_executed);  // idempotent: running it again is harmless
  EXPECT_EQ(tool.executions, 3);
  EXPECT_EQ(tool.cancellations, 3);
  EXPECT_EQ(done, at(1s + 500ms + 1s + 1s + 1s));
  EXPECT_EQ(runner.counters().timeouts, 3u);
  EXPECT_EQ(runner.counters().retries, 2u);
}

TEST(ToolRunner, RunOnceExecutesEvenAnIdempotentToolOnce) {
  Fixture f;
  ScriptedTool& tool = f.toolkit.emplace<ScriptedTool>("search", ToolOptions{.idempotent = true, .max_attempts = 3},
                                                       std::vector<Step>{{Step::fail, 100ms}, {Step::succeed, 100ms}});
  ToolRunner runner{f.toolkit, no_jitter(1s), Rng{1}};
  Finished out;
  spawn(f.sim, runner.run_once(call("search")), [&out, &f](ToolResult r) {
    out.result = std::move(r);
    out.at = f.sim.now();
  });
  f.sim.run_until_idle();
  ASSERT_TRUE(out.result.has_value());
  EXPECT_EQ(out.result->error, ErrorCode::tool_error);
  EXPECT_EQ(out.result->attempts, 1);
  EXPECT_FALSE(out.result->maybe_executed);
  EXPECT_EQ(tool.executions, 1);
  EXPECT_EQ(runner.counters().retries, 0u);
  EXPECT_EQ(out.at, at(100ms));
}

TEST(ToolRunner, IdempotentToolIsNotRetriedForANonRetryableCode) {
  Fixture f;
  ScriptedTool& tool = f.toolkit.emplace<ScriptedTool>(
      "parse", ToolOptions{.idempotent = true}, std::vector<Step>{{Step::fail, 1ms, ErrorCode::invalid_request}});
  ToolRunner runner{f.toolkit, {}, Rng{1}};
  ToolResult r = run_call(f.sim, runner, call("parse"));
  EXPECT_EQ(r.error, ErrorCode::invalid_request);
  EXPECT_EQ(tool.executions, 1);
}

TEST(ToolRunner, RetryIsSkippedWhenTheCallersDeadlineWouldPassDuringBackoff) {
  Fixture f;
  ScriptedTool& tool = f.toolkit.emplace<ScriptedTool>("flaky", ToolOptions{.idempotent = true, .max_attempts = 5},
                                                       std::vector<Step>{{Step::fail, 100ms}});
  ToolRunner runner{f.toolkit, no_jitter(10s), Rng{1}};
  std::optional<Result<ToolResult>> out;
  spawn(f.sim, [](ToolRunner& r) -> Task<Result<ToolResult>> {
    co_return co_await with_timeout(r.run(call("flaky")), 5s);
  }(runner), [&](Result<ToolResult> r) { out = std::move(r); });
  f.sim.run_until_idle();
  ASSERT_TRUE(out && out->ok());
  EXPECT_EQ((*out)->error, ErrorCode::tool_error);
  EXPECT_EQ(tool.executions, 1);
  EXPECT_EQ(f.sim.now(), at(100ms));  // no pointless 10s backoff
}

TEST(ToolRunner, CancellationDuringBackoffEndsTheCallAtOnce) {
  Fixture f;
  ScriptedTool& tool = f.toolkit.emplace<ScriptedTool>("flaky", ToolOptions{.idempotent = true, .max_attempts = 5},
                                                       std::vector<Step>{{Step::fail, 100ms}});
  ToolRunner runner{f.toolkit, no_jitter(10s), Rng{1}};
  CancelSource stop;
  Finished out;
  start(f.sim, runner, call("flaky"), out, stop.token());
  f.sim.start_timer_after(5s, [&] { stop.cancel(); });
  f.sim.run_until_idle();
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.at, at(5s));
  EXPECT_EQ(out.result->error, ErrorCode::cancelled);
  EXPECT_EQ(out.result->attempts, 1);
  EXPECT_EQ(tool.executions, 1);
}

TEST(ToolRunner, AlreadyCancelledCallerDoesNotExecuteTheTool) {
  Fixture f;
  ScriptedTool& tool = f.toolkit.emplace<ScriptedTool>("t", ToolOptions{}, std::vector<Step>{{}});
  ToolRunner runner{f.toolkit, {}, Rng{1}};
  CancelSource stop;
  stop.cancel();
  Finished out;
  start(f.sim, runner, call("t"), out, stop.token());
  f.sim.run_until_idle();
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.result->error, ErrorCode::cancelled);
  EXPECT_FALSE(out.result->maybe_executed);
  EXPECT_EQ(out.result->attempts, 0);
  EXPECT_EQ(tool.executions, 0);
}

// docs/architecture.md: tool failures come back as a structured result, not as an exception.
TEST(ToolRunner, AnExceptionFromAToolBecomesAToolErrorResult) {
  Fixture f;
  f.toolkit.emplace<ScriptedTool>("burn", ToolOptions{}, std::vector<Step>{{Step::throw_error}});
  f.toolkit.emplace<EagerThrowTool>();
  ToolRunner runner{f.toolkit, {}, Rng{1}};
  ToolResult a = run_call(f.sim, runner, call("burn"));
  EXPECT_EQ(a.error, ErrorCode::tool_error);
  EXPECT_NE(a.error_message.find("disk on fire"), std::string::npos);
  ToolResult b = run_call(f.sim, runner, call("eager"));
  EXPECT_EQ(b.error, ErrorCode::tool_error);
  EXPECT_NE(b.error_message.find("not today"), std::string::npos);
}

TEST(ToolRunner, IdempotentToolThatThrowsIsRetriedLikeAToolError) {
  Fixture f;
  ScriptedTool& tool = f.toolkit.emplace<ScriptedTool>("t", ToolOptions{.idempotent = true, .max_attempts = 2},
                                                       std::vector<Step>{{Step::throw_error}, {Step::succeed}});
  ToolRunner runner{f.toolkit, no_jitter(), Rng{1}};
  ToolResult r = run_call(f.sim, runner, call("t"));
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(tool.executions, 2);
}

TEST(ToolRunner, JitteredBackoffIsDeterministicPerSeed) {
  auto finish_time = [](std::uint64_t seed) {
    Fixture f;
    f.toolkit.emplace<ScriptedTool>("t", ToolOptions{.idempotent = true, .max_attempts = 4},
                                    std::vector<Step>{{Step::fail, 10ms}});
    ToolRunner runner{f.toolkit, {}, Rng{seed}};
    TimePoint done;
    (void)run_call(f.sim, runner, call("t"), &done);
    return done;
  };
  EXPECT_EQ(finish_time(7), finish_time(7));
  EXPECT_NE(finish_time(7), finish_time(8));
}

TEST(ToolResult, ToJsonShowsWhatTheModelNeeds) {
  ToolResult ok{.call_id = "c", .tool = "t", .ok = true, .value = R"({"b":1,"a":[2]})"};
  EXPECT_EQ(ok.to_json(), R"({"ok":true,"value":{"b":1,"a":[2]}})");
  ToolResult text{.ok = true, .value = "plain words"};
  EXPECT_EQ(text.to_json(), R"({"ok":true,"value":"plain words"})");
  ToolResult failed{.ok = false, .error = ErrorCode::tool_error, .error_message = "no \"such\" file"};
  EXPECT_EQ(failed.to_json(), R"({"ok":false,"error":"tool_error","message":"no \"such\" file"})");
  ToolResult timed_out{.ok = false, .error = ErrorCode::timeout, .error_message = "late", .maybe_executed = true};
  EXPECT_EQ(timed_out.to_json(), R"({"ok":false,"error":"timeout","message":"late","maybe_executed":true})");
}

}  // namespace
}  // namespace keel::agent
