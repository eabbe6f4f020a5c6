// ChatAgent in virtual time against a scripted fake ChatModel and fake tools: the tool loop,
// max_iterations, step timeouts that release the caller exactly at the deadline (docs/architecture.md:
// the source design's 0.5 s sync step timeout fired after 3 s), stop and reset, context
// management on every request, quota_exhausted not mistaken for an overflow (docs/architecture.md),
// keep_history, and exactly one terminal state per step.
#include "keel/agent/chat_agent.h"

#include <gtest/gtest.h>

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "keel/agent/tool.h"
#include "keel/agent/tool_runner.h"
#include "keel/agent/toolkit.h"
#include "keel/core/event.h"
#include "keel/core/rng.h"
#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/sim/simulator.h"

namespace keel::agent {
namespace {

using namespace std::chrono_literals;
using model::ApproxTokenCounter;
using model::ChatRequest;
using model::ChatResponse;
using model::Message;
using model::Role;
using model::ToolCall;

std::string text_of(int tokens) { return std::string(static_cast<std::size_t>(tokens) * 4, 'x'); }

// "c<i>" (built by append: g++ 12 warns falsely on `"c" + std::to_string(i)` under -O2).
std::string call_id(int i) {
  std::string id = "c";
  id += std::to_string(i);
  return id;
}

bool is_summarization(const ChatRequest& r) {
  return !r.messages.empty() && r.messages.back().role == Role::user &&
         r.messages.back().content.rfind("Summarize", 0) == 0;
}

// --- A scripted ChatModel -------------------------------------------------------------------

struct Reply {
  std::optional<Message> message;  // nullopt: fail with `code`
  ErrorCode code = ErrorCode::server_error;
  Duration latency = 100ms;
  bool hang = false;
  bool stubborn = false;  // ignores cancellation: answers after `latency` regardless
};

// A wait that does not honour cancellation (a misbehaving model or tool).
struct StubbornSleep {
  Duration d;
  bool await_ready() const noexcept { return false; }
  template <class P>
  void await_suspend(std::coroutine_handle<P> h) {
    h.promise().scheduler->start_timer_after(d, [h] { h.resume(); });
  }
  void await_resume() const noexcept {}
};
Reply answer(std::string text, Duration latency = 100ms) { return {Message::assistant(std::move(text)), {}, latency}; }
Reply ask_tools(std::vector<ToolCall> calls, Duration latency = 100ms) {
  return {Message::assistant("", std::move(calls)), {}, latency};
}
Reply failure(ErrorCode code, Duration latency = 100ms) { return {std::nullopt, code, latency}; }
Reply hang() { return {std::nullopt, ErrorCode::internal, 0ms, true}; }

class FakeModel final : public model::ChatModel {
 public:
  explicit FakeModel(int window = 1'000'000) : window_(window) {}

  Task<Result<ChatResponse>> complete(ChatRequest request) override {
    const bool summary = is_summarization(request);
    requests.push_back(request);
    std::deque<Reply>& script = summary ? summaries : replies;
    Reply reply = script.empty() ? answer(summary ? "summary" : "done") : script.front();
    if (!script.empty()) script.pop_front();
    if (reply.hang) {
      (void)co_await until_cancelled();
      ++cancelled;
      co_return Error(ErrorCode::cancelled, "hung call cancelled");
    }
    if (reply.stubborn) {
      co_await StubbornSleep{reply.latency};
    } else if (Status s = co_await sleep_for(reply.latency); !s) {
      ++cancelled;
      co_return s.error();
    }
    if (!reply.message) co_return Error(reply.code, "scripted failure");
    ChatResponse r;
    r.message = *reply.message;
    r.usage = {request.prompt_tokens, 5};
    co_return r;
  }
  int max_context_window() const noexcept override { return window_; }

  std::deque<Reply> replies;    // answers to ordinary requests; empty: answer "done"
  std::deque<Reply> summaries;  // answers to summarization requests; empty: "summary"
  std::vector<ChatRequest> requests;
  int cancelled = 0;  // calls that observed their cancellation

  std::size_t summarization_requests() const {
    std::size_t n = 0;
    for (const auto& r : requests) n += is_summarization(r);
    return n;
  }

 private:
  int window_;
};

// --- A scripted tool ------------------------------------------------------------------------

class FakeTool final : public Tool {
 public:
  FakeTool(std::string name, Duration latency, bool idempotent = false, bool no_timeout = false)
      : spec_{std::move(name), "a fake tool", R"({"type":"object"})"}, latency_(latency) {
    options_.idempotent = idempotent;
    options_.no_timeout = no_timeout;
  }
  const model::ToolSpec& spec() const noexcept override { return spec_; }
  const ToolOptions& options() const noexcept override { return options_; }
  Task<Result<std::string>> invoke(std::string arguments) override {
    ++executions;
    arguments_seen.push_back(arguments);
    if (hang) {
      (void)co_await until_cancelled();
      ++cancelled;
      co_return Error(ErrorCode::cancelled, "hung tool cancelled");
    }
    if (Status s = co_await sleep_for(latency_); !s) {
      ++cancelled;
      co_return s.error();
    }
    ++completed;
    co_return std::string(R"({"tool":")") + spec_.name + R"(","n":)" + std::to_string(completed) + "}";
  }

  bool hang = false;
  int executions = 0, completed = 0, cancelled = 0;
  std::vector<std::string> arguments_seen;

 private:
  model::ToolSpec spec_;
  ToolOptions options_;
  Duration latency_;
};

// --- Fixture --------------------------------------------------------------------------------

struct Outcome {
  std::optional<Result<StepResult>> result;
  TimePoint at{};
  bool done() const { return result.has_value(); }
};

struct Fixture {
  explicit Fixture(ChatAgentConfig config = {}, int window = 1'000'000)
      : model(window),
        search("search", 200ms),
        write("write", 300ms),
        runner(toolkit_with(search, write), {}, Rng{1}, &events),
        agent(model, &runner, counter, &events, std::move(config)) {}

  Toolkit& toolkit_with(Tool& a, Tool& b) {
    toolkit.add(a);
    toolkit.add(b);
    return toolkit;
  }

  // Starts a step now; the outcome is filled in when it ends.
  void start(Outcome& out, std::string input, CancelToken token = {}) {
    spawn(
        sim, agent.step(std::move(input)),
        [&out, this](Result<StepResult> r) {
          out.result.emplace(std::move(r));
          out.at = sim.now();
        },
        detail::TerminateOnError{}, token);
  }
  Result<StepResult> run(std::string input) {
    Outcome out;
    start(out, std::move(input));
    sim.run_until_idle();
    EXPECT_TRUE(out.done());
    return out.done() ? std::move(*out.result) : Result<StepResult>(Error(ErrorCode::internal, "unfinished"));
  }
  // Every request the model got was within the budget and counted right.
  void expect_requests_within(int budget) {
    for (const ChatRequest& r : model.requests) {
      EXPECT_LE(r.prompt_tokens, budget);
      EXPECT_EQ(r.prompt_tokens, counter.count(r.messages));
    }
  }
  std::size_t step_ends() const { return events.count("agent.step.end"); }
  std::string last_end_code() const {
    const auto ends = events.find_all("agent.step.end");
    return ends.empty() ? "" : *ends.back()->get<std::string>("code");
  }

  sim::Simulator sim;
  RecordingSink events;
  ApproxTokenCounter counter;
  FakeModel model;
  FakeTool search, write;
  Toolkit toolkit;
  ToolRunner runner;
  ChatAgent agent;
};

ChatAgentConfig with_system(ChatAgentConfig c = {}) {
  c.system_message = "You are a test agent.";
  return c;
}

// --- Happy paths ----------------------------------------------------------------------------

TEST(ChatAgentTest, AnswersAndRemembers) {
  Fixture f{with_system()};
  f.model.replies.push_back(answer("4"));
  auto r = f.run("2+2?");
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->answer.content, "4");
  EXPECT_EQ(r->answer.role, Role::assistant);
  EXPECT_EQ(r->iterations, 1);
  EXPECT_TRUE(r->tool_results.empty());
  EXPECT_EQ(r->usage.completion_tokens, 5);
  EXPECT_EQ(f.sim.now(), TimePoint{100ms});

  ASSERT_EQ(f.model.requests.size(), 1u);
  const ChatRequest& req = f.model.requests[0];
  ASSERT_EQ(req.messages.size(), 2u);
  EXPECT_EQ(req.messages[0], Message::system("You are a test agent."));
  EXPECT_EQ(req.messages[1], Message::user("2+2?"));
  ASSERT_EQ(req.tools.size(), 2u);
  EXPECT_EQ(req.tools[0].name, "search");
  EXPECT_EQ(req.prompt_tokens, f.counter.count(req.messages));

  ASSERT_EQ(f.agent.memory().size(), 2u);
  EXPECT_EQ(f.agent.memory().at(1).content, "4");
  EXPECT_EQ(f.events.count("agent.step.start"), 1u);
  ASSERT_EQ(f.step_ends(), 1u);
  const auto* end = f.events.find("agent.step.end");
  EXPECT_TRUE(*end->get<bool>("ok"));
  EXPECT_EQ(*end->get<std::string>("code"), "ok");
  EXPECT_EQ(*end->get_int("iterations"), 1);
  EXPECT_EQ(*end->get_int("duration"), Duration{100ms}.count());
  EXPECT_EQ(f.events.count("agent.model_call"), 1u);

  // A second step sees the first exchange.
  auto r2 = f.run("and 3+3?");
  ASSERT_TRUE(r2);
  EXPECT_EQ(f.model.requests[1].messages.size(), 4u);
  EXPECT_EQ(f.agent.counters().steps_ok, 2u);
}

TEST(ChatAgentTest, RunsTheToolLoopInCallOrder) {
  Fixture f{with_system()};
  f.model.replies.push_back(ask_tools({ToolCall{"c1", "search", R"({"q":"a"})"}, ToolCall{"c2", "write", "{}"}}));
  f.model.replies.push_back(answer("all done"));
  auto r = f.run("do things");
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->answer.content, "all done");
  EXPECT_EQ(r->iterations, 2);
  ASSERT_EQ(r->tool_results.size(), 2u);
  EXPECT_EQ(r->tool_results[0].call_id, "c1");
  EXPECT_TRUE(r->tool_results[0].ok);
  EXPECT_EQ(r->tool_results[1].call_id, "c2");
  EXPECT_EQ(f.search.executions, 1);
  EXPECT_EQ(f.write.executions, 1);
  EXPECT_EQ(f.search.arguments_seen[0], R"({"q":"a"})");
  // Sequential: model 100 + search 200 + write 300 + model 100.
  EXPECT_EQ(f.sim.now(), TimePoint{700ms});

  ASSERT_EQ(f.model.requests.size(), 2u);
  const auto& second = f.model.requests[1].messages;
  ASSERT_EQ(second.size(), 5u);  // system, user, assistant(tool calls), tool, tool
  EXPECT_EQ(second[2].tool_calls.size(), 2u);
  EXPECT_EQ(second[3].role, Role::tool);
  EXPECT_EQ(second[3].tool_call_id, "c1");
  EXPECT_EQ(second[3].content, r->tool_results[0].to_json());
  EXPECT_EQ(second[4].tool_call_id, "c2");
  EXPECT_EQ(f.agent.memory().size(), 5u);
  EXPECT_EQ(f.events.count("agent.tool_calls"), 1u);
  EXPECT_EQ(*f.events.find("agent.tool_calls")->get_int("count"), 2);
  EXPECT_EQ(f.events.count("agent.model_call"), 2u);
  EXPECT_EQ(f.step_ends(), 1u);
}

TEST(ChatAgentTest, AnUnknownToolIsAResultNotAFailure) {
  Fixture f;
  f.model.replies.push_back(ask_tools({ToolCall{"c1", "nope", "{}"}}));
  f.model.replies.push_back(answer("sorry"));
  auto r = f.run("go");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->tool_results.size(), 1u);
  EXPECT_FALSE(r->tool_results[0].ok);
  EXPECT_EQ(r->tool_results[0].error, ErrorCode::invalid_request);
}

TEST(ChatAgentTest, WithoutAToolRunnerToolCallsGetAnErrorResult) {
  sim::Simulator sim;
  ApproxTokenCounter counter;
  FakeModel model;
  model.replies.push_back(ask_tools({ToolCall{"c1", "search", "{}"}}));
  model.replies.push_back(answer("ok"));
  ChatAgent agent{model, nullptr, counter};
  std::optional<Result<StepResult>> out;
  spawn(sim, agent.step("hi"), [&](Result<StepResult> r) { out.emplace(std::move(r)); });
  sim.run_until_idle();
  ASSERT_TRUE(out && *out);
  ASSERT_EQ((*out)->tool_results.size(), 1u);
  EXPECT_EQ((*out)->tool_results[0].error, ErrorCode::invalid_request);
  EXPECT_TRUE(model.requests[0].tools.empty());
}

TEST(ChatAgentTest, MaxIterationsEndsTheStepWithAnError) {
  ChatAgentConfig c = with_system();
  c.max_iterations = 3;
  Fixture f{c};
  for (int i = 0; i < 5; ++i) f.model.replies.push_back(ask_tools({ToolCall{call_id(i), "search", "{}"}}));
  auto r = f.run("loop forever");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::invalid_request);
  EXPECT_NE(r.error().message.find("max_iterations (3)"), std::string::npos);
  EXPECT_EQ(f.model.requests.size(), 3u);
  EXPECT_EQ(f.search.executions, 2);  // the last answer's calls are not run
  EXPECT_EQ(f.agent.memory().size(), 0u);  // a failed step leaves no trace in memory
  EXPECT_EQ(f.step_ends(), 1u);
  EXPECT_EQ(f.last_end_code(), "invalid_request");
  EXPECT_EQ(*f.events.find("agent.step.end")->get_int("iterations"), 3);
}

TEST(ChatAgentTest, AModelErrorEndsTheStepWithThatError) {
  Fixture f;
  f.model.replies.push_back(answer("first"));
  ASSERT_TRUE(f.run("one"));
  f.model.replies.push_back(failure(ErrorCode::auth));
  auto r = f.run("two");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::auth);
  ASSERT_EQ(f.agent.memory().size(), 2u);  // step one stays, step two is rolled back
  EXPECT_EQ(f.agent.memory().at(0).content, "one");
  EXPECT_EQ(f.last_end_code(), "auth");
}

// --- Timeouts: the caller is released exactly at the deadline --------------------------------

TEST(ChatAgentTest, StepTimeoutReleasesTheCallerFromAHungModelAtTheDeadline) {
  // docs/architecture.md: the source design's 0.5 s step timeout fired after 3 s.
  ChatAgentConfig c;
  c.step_timeout = 500ms;
  Fixture f{c};
  f.model.replies.push_back(hang());
  Outcome out;
  f.start(out, "hello");
  f.sim.run_until_idle();
  ASSERT_TRUE(out.done());
  ASSERT_FALSE(*out.result);
  EXPECT_EQ(out.result->error().code, ErrorCode::timeout);
  EXPECT_EQ(out.at, TimePoint{500ms});
  EXPECT_EQ(f.model.cancelled, 1);  // the hung call saw its cancellation
  EXPECT_EQ(f.step_ends(), 1u);
  EXPECT_EQ(f.last_end_code(), "timeout");
  EXPECT_EQ(*f.events.find("agent.step.end")->get_int("duration"), Duration{500ms}.count());
  EXPECT_EQ(f.agent.memory().size(), 0u);
  EXPECT_FALSE(f.agent.running());
  EXPECT_FALSE(f.agent.terminated());

  // The agent is usable again.
  auto r = f.run("again");
  ASSERT_TRUE(r);
  EXPECT_EQ(f.agent.memory().size(), 2u);
}

TEST(ChatAgentTest, StepTimeoutReleasesTheCallerFromAHungToolAtTheDeadline) {
  ChatAgentConfig c;
  c.step_timeout = 1500ms;
  Fixture f{c};
  f.write.hang = true;
  f.model.replies.push_back(ask_tools({ToolCall{"c1", "search", "{}"}, ToolCall{"c2", "write", "{}"}}));
  Outcome out;
  f.start(out, "hello");
  f.sim.run_until_idle();
  ASSERT_TRUE(out.done());
  ASSERT_FALSE(*out.result);
  EXPECT_EQ(out.result->error().code, ErrorCode::timeout);
  EXPECT_EQ(out.at, TimePoint{1500ms});
  EXPECT_EQ(f.write.executions, 1);
  EXPECT_EQ(f.write.cancelled, 1);  // the hung tool saw its cancellation
  EXPECT_EQ(f.model.requests.size(), 1u);
  EXPECT_EQ(f.step_ends(), 1u);
  EXPECT_EQ(f.agent.memory().size(), 0u);
}

TEST(ChatAgentTest, AHungToolWithoutItsOwnTimeoutIsStillBoundedByTheStep) {
  ChatAgentConfig c;
  c.step_timeout = 2s;
  Fixture f{c};
  FakeTool forever{"forever", 0ms, false, /*no_timeout=*/true};
  forever.hang = true;
  f.toolkit.add(forever);
  f.model.replies.push_back(ask_tools({ToolCall{"c1", "forever", "{}"}}));
  Outcome out;
  f.start(out, "hello");
  f.sim.run_until_idle();
  ASSERT_TRUE(out.done());
  EXPECT_EQ(out.result->error().code, ErrorCode::timeout);
  EXPECT_EQ(out.at, TimePoint{2s});
  EXPECT_EQ(forever.cancelled, 1);
}

TEST(ChatAgentTest, AbandonedWorkNeverTouchesMemoryAgain) {
  // A model that ignores cancellation answers after the step timed out, while the next step is
  // running: the abandoned step must neither write to memory nor run its tool calls.
  ChatAgentConfig c;
  c.step_timeout = 1s;
  Fixture f{c};
  Reply late = ask_tools({ToolCall{"c1", "search", "{}"}}, 1500ms);
  late.stubborn = true;
  f.model.replies.push_back(late);
  f.model.replies.push_back(answer("second answer", 800ms));
  Outcome first, second;
  f.start(first, "first");
  f.sim.run_for(1s);
  ASSERT_TRUE(first.done());
  EXPECT_EQ(first.result->error().code, ErrorCode::timeout);
  EXPECT_EQ(first.at, TimePoint{1s});
  f.start(second, "second");
  f.sim.run_until_idle();  // the stubborn answer arrives at 1.5s, inside the second step
  ASSERT_TRUE(second.done());
  ASSERT_TRUE(*second.result) << second.result->error().describe();
  EXPECT_EQ(second.at, TimePoint{1800ms});
  EXPECT_EQ(f.search.executions, 0);
  ASSERT_EQ(f.agent.memory().size(), 2u);
  EXPECT_EQ(f.agent.memory().at(0).content, "second");
  EXPECT_EQ(f.agent.memory().at(1).content, "second answer");
  EXPECT_EQ(f.step_ends(), 2u);
}

TEST(ChatAgentTest, CallerCancellationEndsTheStepWithoutTerminatingTheAgent) {
  Fixture f;
  f.model.replies.push_back(hang());
  CancelSource caller;
  Outcome out;
  f.start(out, "hello", caller.token());
  f.sim.run_for(250ms);
  caller.cancel();
  f.sim.run_until_idle();
  ASSERT_TRUE(out.done());
  EXPECT_EQ(out.result->error().code, ErrorCode::cancelled);
  EXPECT_EQ(out.at, TimePoint{250ms});
  EXPECT_FALSE(f.agent.terminated());
  EXPECT_EQ(f.model.cancelled, 1);
}

// --- stop / reset ---------------------------------------------------------------------------

TEST(ChatAgentTest, StopDuringAModelCallReleasesPromptlyAndTerminates) {
  Fixture f{with_system()};
  f.model.replies.push_back(answer("earlier"));
  ASSERT_TRUE(f.run("earlier question"));
  const TimePoint t0 = f.sim.now();
  f.model.replies.push_back(answer("slow", 10s));
  Outcome out;
  f.start(out, "hello");
  f.sim.run_for(1s);
  EXPECT_TRUE(f.agent.running());
  f.agent.stop();
  EXPECT_TRUE(f.agent.terminated());
  f.sim.run_until_idle();
  ASSERT_TRUE(out.done());
  EXPECT_EQ(out.result->error().code, ErrorCode::cancelled);
  EXPECT_EQ(out.at, t0 + 1s);  // the same virtual instant
  EXPECT_EQ(f.model.cancelled, 1);
  EXPECT_EQ(f.step_ends(), 2u);
  EXPECT_EQ(f.agent.memory().size(), 2u);  // the stopped step's input is rolled back

  // Terminated: further steps fail fast, without a model call, until reset().
  const auto calls = f.model.requests.size();
  auto refused = f.run("more");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::cancelled);
  EXPECT_EQ(f.model.requests.size(), calls);
  EXPECT_EQ(f.step_ends(), 3u);

  f.agent.reset();
  EXPECT_FALSE(f.agent.terminated());
  EXPECT_EQ(f.agent.memory().size(), 0u);
  ASSERT_TRUE(f.agent.memory().has_system());
  f.model.replies.push_back(answer("fresh"));
  auto r = f.run("after reset");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->answer.content, "fresh");
  EXPECT_EQ(f.model.requests.back().messages.size(), 2u);  // system + the new input only

  // The renewed stop source works too.
  f.model.replies.push_back(hang());
  Outcome again;
  f.start(again, "stop me too");
  f.sim.run_for(1s);
  f.agent.stop();
  f.sim.run_until_idle();
  ASSERT_TRUE(again.done());
  EXPECT_EQ(again.result->error().code, ErrorCode::cancelled);
}

TEST(ChatAgentTest, StopDuringAToolCallCancelsTheToolAndSkipsTheRest) {
  Fixture f;
  f.search.hang = true;
  f.model.replies.push_back(ask_tools({ToolCall{"c1", "search", "{}"}, ToolCall{"c2", "write", "{}"}}));
  Outcome out;
  f.start(out, "hello");
  f.sim.run_for(150ms);  // model answered at 100ms; search is running
  ASSERT_EQ(f.search.executions, 1);
  f.agent.stop();
  f.sim.run_until_idle();
  ASSERT_TRUE(out.done());
  EXPECT_EQ(out.result->error().code, ErrorCode::cancelled);
  EXPECT_EQ(out.at, TimePoint{150ms});
  EXPECT_EQ(f.search.cancelled, 1);
  EXPECT_EQ(f.write.executions, 0);  // stop is checked before every tool call
  EXPECT_EQ(f.model.requests.size(), 1u);
  EXPECT_TRUE(f.agent.terminated());
  EXPECT_EQ(f.agent.memory().size(), 0u);
  EXPECT_EQ(f.step_ends(), 1u);

  f.agent.reset();
  f.search.hang = false;
  auto r = f.run("again");
  ASSERT_TRUE(r);
}

TEST(ChatAgentTest, ResetDuringAStepStopsItAndClearsMemory) {
  Fixture f{with_system()};
  f.model.replies.push_back(answer("one"));
  ASSERT_TRUE(f.run("one"));
  f.model.replies.push_back(answer("slow", 5s));
  Outcome out;
  f.start(out, "two");
  f.sim.run_for(1s);
  f.agent.reset();
  f.sim.run_until_idle();
  ASSERT_TRUE(out.done());
  EXPECT_EQ(out.result->error().code, ErrorCode::cancelled);
  EXPECT_FALSE(f.agent.terminated());
  EXPECT_EQ(f.agent.memory().size(), 0u);
  auto r = f.run("three");
  ASSERT_TRUE(r);
  EXPECT_EQ(f.agent.memory().size(), 2u);
}

TEST(ChatAgentTest, StopBeforeAnyStepFailsFast) {
  Fixture f;
  f.agent.stop();
  auto r = f.run("hi");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::cancelled);
  EXPECT_TRUE(f.model.requests.empty());
  EXPECT_EQ(f.sim.now(), TimePoint{});
  EXPECT_EQ(f.events.count("agent.step.start"), 1u);
  EXPECT_EQ(f.step_ends(), 1u);
}

TEST(ChatAgentTest, AConcurrentStepIsRefused) {
  Fixture f;
  Outcome first, second;
  f.start(first, "one");
  f.start(second, "two");
  f.sim.run_until_idle();
  ASSERT_TRUE(first.done() && second.done());
  EXPECT_TRUE(*first.result);
  ASSERT_FALSE(*second.result);
  EXPECT_EQ(second.result->error().code, ErrorCode::invalid_request);
  EXPECT_EQ(f.agent.memory().size(), 2u);
  EXPECT_EQ(f.step_ends(), 2u);
}

// --- Context management ---------------------------------------------------------------------

ChatAgentConfig small_budget(int limit, ContextConfig::OnOverflow mode = ContextConfig::summarize) {
  ChatAgentConfig c = with_system();
  c.context.token_limit = limit;
  c.context.on_overflow = mode;
  return c;
}

TEST(ChatAgentTest, NeverSendsARequestOverTheBudget) {
  for (auto mode : {ContextConfig::summarize, ContextConfig::truncate}) {
    Fixture f{small_budget(400, mode)};
    for (int i = 0; i < 30; ++i) {
      f.model.replies.push_back(ask_tools({ToolCall{call_id(i), "search", text_of(10)}}));
      f.model.replies.push_back(answer(text_of(20 + i)));
      auto r = f.run(text_of(15));
      ASSERT_TRUE(r) << r.error().describe();
    }
    EXPECT_GT(f.model.requests.size(), 60u - 1u);
    f.expect_requests_within(400);
    const auto& ctx = f.agent.context().counters();
    if (mode == ContextConfig::summarize) {
      EXPECT_GT(ctx.summarizations, 0u);
      EXPECT_GT(f.model.summarization_requests(), 0u);
    } else {
      EXPECT_GT(ctx.truncations, 0u);
      EXPECT_EQ(f.model.summarization_requests(), 0u);
    }
  }
}

TEST(ChatAgentTest, SummarizesProactivelyBeforeTheCall) {
  Fixture f{small_budget(300)};
  f.model.replies.push_back(answer(text_of(120)));
  ASSERT_TRUE(f.run(text_of(100)));  // ~250 tokens in memory: over 270 with the next input
  f.model.replies.push_back(answer("fine"));
  auto r = f.run(text_of(30));
  ASSERT_TRUE(r) << r.error().describe();
  ASSERT_EQ(f.model.requests.size(), 3u);
  EXPECT_TRUE(is_summarization(f.model.requests[1]));
  EXPECT_TRUE(f.model.requests[1].tools.empty());
  const auto& sent = f.model.requests[2].messages;
  ASSERT_EQ(sent.size(), 3u);  // system, summary, latest input
  EXPECT_EQ(sent[1].content, std::string{kSummaryPrefix} + "summary");
  EXPECT_EQ(sent[2].content, text_of(30));
  f.expect_requests_within(300);
  EXPECT_EQ(r->usage.completion_tokens, 10);  // summary + answer
  EXPECT_EQ(f.events.count("context.summarize"), 1u);
}

// A summarization is a model call of the step: it takes the step's next call number, and the
// requests carry the step's ids to the model (docs/events.md, "Following one agent step").
TEST(ChatAgentTest, RequestsCarryTheStepsIdsAndASummarizationTakesACallNumber) {
  ChatAgentConfig config = small_budget(300);
  config.id = 7;
  Fixture f{config};
  f.model.replies.push_back(answer(text_of(120)));
  ASSERT_TRUE(f.run(text_of(100)));
  f.model.replies.push_back(answer("fine"));
  ASSERT_TRUE(f.run(text_of(30)));
  ASSERT_EQ(f.model.requests.size(), 3u);
  EXPECT_EQ(f.model.requests[0].trace, (TraceIds{.agent = 7, .step = 1, .call = 1}));
  EXPECT_EQ(f.model.requests[1].trace, (TraceIds{.agent = 7, .step = 2, .call = 1}));  // the summary
  EXPECT_EQ(f.model.requests[2].trace, (TraceIds{.agent = 7, .step = 2, .call = 2}));
  EXPECT_EQ(f.events.find("context.overflow")->get_int("call"), std::nullopt) << "before the step's first call";
  EXPECT_EQ(f.events.find("context.summarize")->get_int("call"), 1);
  EXPECT_EQ(f.events.find_all("agent.model_call").back()->get_int("call"), 2);
  EXPECT_EQ(f.events.find_all("agent.model_call").back()->get_int("agent"), 7);
}

TEST(ChatAgentTest, SummarizesReactivelyOnContextOverflowAndRetriesOnce) {
  Fixture f{with_system()};
  f.model.replies.push_back(answer(text_of(100)));
  ASSERT_TRUE(f.run(text_of(100)));  // big enough that a summary is worth a request
  f.model.replies.push_back(failure(ErrorCode::context_overflow));
  f.model.replies.push_back(answer("two"));
  auto r = f.run("second question");
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->answer.content, "two");
  ASSERT_EQ(f.model.requests.size(), 4u);  // one; overflow; summarize; retry
  EXPECT_TRUE(is_summarization(f.model.requests[2]));
  EXPECT_LT(f.model.requests[3].prompt_tokens, f.model.requests[1].prompt_tokens);
  EXPECT_EQ(f.agent.context().counters().reactive, 1u);
  const auto calls = f.events.find_all("agent.model_call");
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_FALSE(*calls[1]->get<bool>("ok"));
  EXPECT_EQ(*calls[1]->get<std::string>("code"), "context_overflow");
  EXPECT_TRUE(*calls[2]->get<bool>("retry"));
  EXPECT_EQ(r->iterations, 1);
}

TEST(ChatAgentTest, WithoutCountingTheOverWindowRequestIsSentRefusedSummarizedAndRetriedOnce) {
  // The source design (camel_parity): nothing is counted before sending.
  ChatAgentConfig config = with_system();
  config.context.count_before_send = false;
  Fixture f{config, 300};
  f.model.replies.push_back(answer(text_of(120)));
  ASSERT_TRUE(f.run(text_of(100)));
  f.model.replies.push_back(failure(ErrorCode::context_overflow));  // the provider refuses
  f.model.replies.push_back(answer("fine"));
  auto r = f.run(text_of(100));
  ASSERT_TRUE(r) << r.error().describe();
  ASSERT_EQ(f.model.requests.size(), 4u);  // one; over the window, refused; summarize; retry
  EXPECT_GT(f.model.requests[1].prompt_tokens, 300);  // sent over the window
  EXPECT_TRUE(is_summarization(f.model.requests[2]));
  EXPECT_LE(f.model.requests[3].prompt_tokens, 300);
  EXPECT_EQ(f.agent.context().counters().reactive, 1u);
  EXPECT_EQ(f.agent.context().counters().summarizations, 1u);
}

TEST(ChatAgentTest, ABudgetLearnedFromOneFalseOverflowRecovers) {
  ChatAgentConfig config = with_system();
  config.context.forget_learned_after = 2;
  Fixture f{config};
  f.model.replies.push_back(answer(text_of(100)));
  ASSERT_TRUE(f.run(text_of(100)));
  f.model.replies.push_back(failure(ErrorCode::context_overflow));  // a false refusal
  ASSERT_TRUE(f.run("second"));  // refused, summarized, retried: answered (1)
  EXPECT_LT(f.agent.context().budget(), 1'000'000);
  ASSERT_TRUE(f.run("third"));   // answered (2): the hold is over
  EXPECT_EQ(f.agent.context().budget(), 1'000'000);
  EXPECT_EQ(f.agent.context().counters().forgotten, 1u);
}

TEST(ChatAgentTest, ASecondOverflowAfterRecoveryEndsTheStep) {
  Fixture f;
  f.model.replies.push_back(answer("one"));
  ASSERT_TRUE(f.run("first"));
  f.model.replies.push_back(failure(ErrorCode::context_overflow));
  f.model.replies.push_back(failure(ErrorCode::context_overflow));
  f.model.replies.push_back(answer("never"));
  auto r = f.run("second");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::context_overflow);
  EXPECT_EQ(f.agent.context().counters().reactive, 1u);  // retried once only
}

TEST(ChatAgentTest, OnOverflowFailReturnsContextOverflow) {
  Fixture f{small_budget(100, ContextConfig::fail)};
  auto r = f.run(text_of(200));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::context_overflow);
  EXPECT_TRUE(f.model.requests.empty());
  EXPECT_EQ(f.last_end_code(), "context_overflow");

  // Reactive overflow in fail mode: no summary, the error carries the model's as its cause.
  Fixture g{with_system(small_budget(100000, ContextConfig::fail))};
  g.model.replies.push_back(failure(ErrorCode::context_overflow));
  auto r2 = g.run("hi");
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, ErrorCode::context_overflow);
  ASSERT_NE(r2.error().cause, nullptr);
  EXPECT_EQ(g.model.requests.size(), 1u);
}

TEST(ChatAgentTest, SummarizeFailureFallsBackToTruncation) {
  Fixture f{small_budget(300)};
  f.model.replies.push_back(answer(text_of(150)));
  ASSERT_TRUE(f.run(text_of(100)));
  f.model.summaries.push_back(failure(ErrorCode::server_error));
  auto r = f.run(text_of(60));
  ASSERT_TRUE(r) << r.error().describe();
  f.expect_requests_within(300);
  EXPECT_EQ(f.agent.context().counters().summarize_failures, 1u);
  EXPECT_EQ(f.agent.context().counters().truncations, 1u);
}

TEST(ChatAgentTest, SummarizeTimeoutFallsBackToTruncation) {
  ChatAgentConfig c = small_budget(300);
  c.context.summarize_timeout = 3s;
  Fixture f{c};
  f.model.replies.push_back(answer(text_of(150)));
  ASSERT_TRUE(f.run(text_of(100)));
  const TimePoint t0 = f.sim.now();
  f.model.summaries.push_back(hang());
  auto r = f.run(text_of(60));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(f.sim.now(), t0 + 3s + 100ms);  // summary timed out, then the call
  EXPECT_EQ(f.model.cancelled, 1);
  EXPECT_EQ(f.agent.context().counters().truncations, 1u);
  f.expect_requests_within(300);
}

TEST(ChatAgentTest, QuotaExhaustedIsNotTreatedAsContextOverflow) {
  // docs/architecture.md: "exceeded your current quota" was a token-limit marker in the source design.
  Fixture f{with_system()};
  f.model.replies.push_back(answer("one"));
  ASSERT_TRUE(f.run("first"));
  f.model.replies.push_back(failure(ErrorCode::quota_exhausted));
  auto r = f.run("second");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::quota_exhausted);
  EXPECT_EQ(f.model.requests.size(), 2u);  // no summarization, no retry
  EXPECT_EQ(f.model.summarization_requests(), 0u);
  const auto& ctx = f.agent.context().counters();
  EXPECT_EQ(ctx.reactive + ctx.summarizations + ctx.truncations + ctx.overflows, 0u);
  EXPECT_EQ(f.events.count("context.overflow"), 0u);
  EXPECT_EQ(f.last_end_code(), "quota_exhausted");
}

TEST(ChatAgentTest, KeepHistoryFalseClearsMemoryAfterEveryStep) {
  ChatAgentConfig c = with_system();
  c.keep_history = false;
  Fixture f{c};
  f.model.replies.push_back(ask_tools({ToolCall{"c1", "search", "{}"}}));
  ASSERT_TRUE(f.run("one"));
  EXPECT_EQ(f.agent.memory().size(), 0u);
  EXPECT_TRUE(f.agent.memory().has_system());
  ASSERT_TRUE(f.run("two"));
  EXPECT_EQ(f.model.requests.back().messages.size(), 2u);  // system + "two": nothing carried over
  f.model.replies.push_back(failure(ErrorCode::server_error));
  ASSERT_FALSE(f.run("three"));
  EXPECT_EQ(f.agent.memory().size(), 0u);
}

TEST(ChatAgentTest, InvalidConfigThrows) {
  FakeModel model;
  ApproxTokenCounter counter;
  ChatAgentConfig bad;
  bad.max_iterations = 0;
  EXPECT_THROW(ChatAgent(model, nullptr, counter, nullptr, bad), std::invalid_argument);
  ChatAgentConfig bad2;
  bad2.step_timeout = -1s;
  EXPECT_THROW(ChatAgent(model, nullptr, counter, nullptr, bad2), std::invalid_argument);
  ChatAgentConfig bad3;
  bad3.context.summarize_at = 2;
  EXPECT_THROW(ChatAgent(model, nullptr, counter, nullptr, bad3), std::invalid_argument);
}

}  // namespace
}  // namespace keel::agent
