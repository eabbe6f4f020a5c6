// Properties of ChatAgent in virtual time, over random scripts of model answers (final answers,
// tool calls, errors including context_overflow and quota_exhausted, hangs, random latencies),
// a model whose real window may be smaller than the budget, random summarization outcomes,
// random tool behaviours (latency, failure, hang; idempotent or not; with or without a tool
// timeout), random context configs and step timeouts, and random stop()/reset() calls:
//  - every step ends in exactly one terminal state: its task completes, exactly one
//    "agent.step.start" and one "agent.step.end" per step, the end's code is the result's;
//  - no request exceeds the configured budget, and its prompt_tokens are the exact count;
//  - a hung tool or model never delays a step beyond its timeout (end <= start + step_timeout);
//  - a non-idempotent tool executes at most once per requested call (an idempotent one at most
//    max_attempts times);
//  - the memory stays a valid conversation (tool results directly after their call, in order)
//    and its token total stays exact.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "keel/agent/chat_agent.h"
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

constexpr std::int64_t kMs = 1'000'000;

template <class T>
T uniform(T lo, T hi) {  // [lo, hi)
  return *rc::gen::resize(100, rc::gen::inRange<T>(lo, hi));
}
Duration ms(std::int64_t lo, std::int64_t hi) { return Duration{uniform<std::int64_t>(lo, hi) * kMs}; }
std::string text_of(int tokens) { return std::string(static_cast<std::size_t>(tokens) * 4, 'x'); }

bool is_summarization(const ChatRequest& r) {
  return !r.messages.empty() && r.messages.back().role == Role::user &&
         r.messages.back().content.rfind("Summarize", 0) == 0;
}

// --- Scripted model -------------------------------------------------------------------------

struct Move {
  enum Kind { final_answer, tool_calls, error, hang } kind = final_answer;
  Duration latency{};
  std::vector<int> tools;  // tool indexes, for tool_calls
  ErrorCode code = ErrorCode::server_error;
  int tokens = 1;          // answer / summary size
};

Move gen_move(int tool_count) {
  Move m;
  const int k = uniform(0, 100);
  m.kind = k < 40 ? Move::final_answer : k < 80 ? Move::tool_calls : k < 94 ? Move::error : Move::hang;
  m.latency = ms(0, 1500);
  const int calls = uniform(1, 4);
  for (int i = 0; i < calls; ++i) m.tools.push_back(uniform(0, tool_count));
  m.code = *rc::gen::element(ErrorCode::context_overflow, ErrorCode::context_overflow, ErrorCode::quota_exhausted,
                             ErrorCode::server_error, ErrorCode::rate_limited, ErrorCode::auth);
  m.tokens = uniform(1, 120);
  return m;
}

class ScriptedModel final : public model::ChatModel {
 public:
  ScriptedModel(int window, int real_window, std::vector<std::string> tool_names)
      : window_(window), real_window_(real_window), tool_names_(std::move(tool_names)) {}

  Task<Result<ChatResponse>> complete(ChatRequest request) override {
    const bool summary = is_summarization(request);
    requests.push_back(request);
    if (request.prompt_tokens > real_window_) {  // the provider's real window is smaller
      if (Status s = co_await sleep_for(10ms); !s) co_return s.error();
      co_return Error(ErrorCode::context_overflow, "prompt is too long");
    }
    std::deque<Move>& script = summary ? summaries : moves;
    Move m;
    if (!script.empty()) {
      m = script.front();
      script.pop_front();
    }
    if (summary && m.kind == Move::tool_calls) m.kind = Move::final_answer;
    if (m.kind == Move::hang) {
      (void)co_await until_cancelled();
      co_return Error(ErrorCode::cancelled, "hung call cancelled");
    }
    if (Status s = co_await sleep_for(m.latency); !s) co_return s.error();
    if (m.kind == Move::error) co_return Error(m.code, "scripted");
    ChatResponse r;
    r.usage = {request.prompt_tokens, m.tokens};
    if (m.kind == Move::tool_calls) {
      std::vector<ToolCall> calls;
      for (int t : m.tools) {
        std::string id = "call-" + std::to_string(++calls_made_);
        calls.push_back(ToolCall{id, tool_names_[static_cast<std::size_t>(t)], R"({"call_id":")" + id + "\"}"});
      }
      r.message = Message::assistant("", std::move(calls));
    } else {
      r.message = Message::assistant(text_of(m.tokens));
    }
    co_return r;
  }
  int max_context_window() const noexcept override { return window_; }

  std::deque<Move> moves, summaries;
  std::vector<ChatRequest> requests;

 private:
  int window_, real_window_;
  std::vector<std::string> tool_names_;
  int calls_made_ = 0;
};

// --- Scripted tools -------------------------------------------------------------------------

struct Behaviour {
  Duration latency{};
  bool hang = false;
  bool fail = false;
};

class ScriptedTool final : public Tool {
 public:
  ScriptedTool(std::string name, ToolOptions options, std::vector<Behaviour> script)
      : spec_{std::move(name), "scripted", R"({"type":"object"})"}, options_(options), script_(std::move(script)) {}
  const model::ToolSpec& spec() const noexcept override { return spec_; }
  const ToolOptions& options() const noexcept override { return options_; }
  Task<Result<std::string>> invoke(std::string arguments) override {
    ++per_call[arguments];  // counted before anything can fail: it may have side effects
    const Behaviour b = script_[executions++ % script_.size()];
    if (b.hang) {
      (void)co_await until_cancelled();
      co_return Error(ErrorCode::cancelled, "hung tool cancelled");
    }
    if (Status s = co_await sleep_for(b.latency); !s) co_return s.error();
    if (b.fail) co_return Error(ErrorCode::tool_error, "scripted failure");
    co_return std::string(R"({"ok":1})");
  }

  std::map<std::string, int> per_call;  // arguments (one per requested call) -> executions
  std::size_t executions = 0;

 private:
  model::ToolSpec spec_;
  ToolOptions options_;
  std::vector<Behaviour> script_;
};

std::vector<Behaviour> gen_behaviours() {
  std::vector<Behaviour> out(static_cast<std::size_t>(uniform(1, 5)));
  for (Behaviour& b : out) {
    b.latency = ms(0, 2000);
    b.hang = uniform(0, 10) == 0;
    b.fail = uniform(0, 5) == 0;
  }
  return out;
}

// A valid conversation: every tool message answers, in order, a call of the assistant message
// that opens its group; every call is answered.
bool valid_conversation(std::span<const Message> h) {
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (h[i].role == Role::tool) return false;  // not inside a group
    if (h[i].role == Role::assistant && !h[i].tool_calls.empty()) {
      const auto& calls = h[i].tool_calls;
      for (std::size_t k = 0; k < calls.size(); ++k)
        if (i + 1 + k >= h.size() || h[i + 1 + k].role != Role::tool || h[i + 1 + k].tool_call_id != calls[k].id)
          return false;
      i += calls.size();
    }
  }
  return true;
}

// One random case: configuration, scripts, a few steps with random stops/resets; asserts every
// property listed at the top. Budgets are drawn from [min_budget, max_budget).
void check_random_agent_case(int min_budget, int max_budget) {
  // Context and agent configuration.
  const int budget = uniform(min_budget, max_budget);
  const int window = *rc::gen::element(budget, budget * 2, 1'000'000);
  ContextConfig context;
  if (window != budget || *rc::gen::arbitrary<bool>()) context.token_limit = budget;
  context.on_overflow = *rc::gen::element(ContextConfig::summarize, ContextConfig::summarize, ContextConfig::truncate,
                                         ContextConfig::fail);
  context.summarize_at = *rc::gen::element(0.5, 0.8, 0.9, 1.0);
  context.summarize_timeout = *rc::gen::elementOf(std::vector<std::optional<Duration>>{std::nullopt, 500ms, 5s});
  context.summary_max_tokens = uniform(10, 200);
  const int configured_budget = std::min(context.token_limit.value_or(window), window);
  const int real_window = *rc::gen::element(configured_budget, configured_budget * 3 / 4, 1'000'000);

  ChatAgentConfig config;
  config.system_message = *rc::gen::element(std::string{}, std::string{"Be terse."});
  config.max_iterations = uniform(1, 6);
  config.step_timeout = ms(100, 10'000);
  config.context = context;
  config.keep_history = uniform(0, 4) != 0;

  // Tools: idempotent, non-idempotent with a timeout, non-idempotent without one.
  ToolOptions idem;
  idem.idempotent = true;
  idem.max_attempts = 3;
  idem.timeout = ms(50, 1500);
  ToolOptions once;
  ToolOptions forever;
  forever.no_timeout = true;
  ScriptedTool t_idem{"idem", idem, gen_behaviours()};
  ScriptedTool t_once{"once", once, gen_behaviours()};
  ScriptedTool t_forever{"forever", forever, gen_behaviours()};
  Toolkit toolkit;
  toolkit.add(t_idem);
  toolkit.add(t_once);
  toolkit.add(t_forever);
  ToolRunnerConfig runner_config;
  runner_config.default_timeout = *rc::gen::elementOf(std::vector<std::optional<Duration>>{std::nullopt, 300ms, 2s});

  ScriptedModel model{window, real_window, {"idem", "once", "forever"}};
  for (int i = 0, n = uniform(0, 24); i < n; ++i) model.moves.push_back(gen_move(3));
  for (int i = 0, n = uniform(0, 4); i < n; ++i) model.summaries.push_back(gen_move(0));

  sim::Simulator sim{{.seed = *rc::gen::arbitrary<std::uint64_t>(), .permute_ties = *rc::gen::arbitrary<bool>()}};
  RecordingSink events;
  ApproxTokenCounter counter;
  ToolRunner runner{toolkit, runner_config, Rng{*rc::gen::arbitrary<std::uint64_t>()}, &events};
  ChatAgent agent{model, &runner, counter, &events, config};

  const int steps = uniform(1, 7);
  for (int s = 1; s <= steps; ++s) {
    std::optional<Result<StepResult>> result;
    TimePoint ended{};
    const TimePoint started = sim.now();
    spawn(sim, agent.step(text_of(uniform(1, 150))), [&](Result<StepResult> r) {
      result.emplace(std::move(r));
      ended = sim.now();
    });
    if (uniform(0, 10) == 0) sim.start_timer_after(ms(0, 4000), [&] { agent.stop(); });
    sim.run_until_idle();

    // Exactly one terminal state, on time.
    RC_ASSERT(result.has_value());
    RC_ASSERT(events.count("agent.step.start") == static_cast<std::size_t>(s));
    RC_ASSERT(events.count("agent.step.end") == static_cast<std::size_t>(s));
    const auto* end = events.find_all("agent.step.end").back();
    RC_ASSERT(*end->get_int("step") == s);
    RC_ASSERT(*end->get<bool>("ok") == result->ok());
    const std::string code = result->ok() ? "ok" : std::string{to_string(result->error().code)};
    RC_ASSERT(*end->get<std::string>("code") == code);
    RC_ASSERT(ended <= started + *config.step_timeout);
    RC_ASSERT(!agent.running());
    if (*result) {
      RC_ASSERT((*result)->answer.tool_calls.empty());
      RC_ASSERT((*result)->iterations >= 1);
      RC_ASSERT((*result)->iterations <= config.max_iterations);
    }

    // The memory stays a valid conversation with exact token accounting.
    RC_ASSERT(valid_conversation(agent.memory().history()));
    RC_ASSERT(agent.memory().tokens() == counter.count(agent.memory().messages()));
    if (!config.keep_history) RC_ASSERT(agent.memory().empty());

    if (agent.terminated() && uniform(0, 4) != 0) agent.reset();
  }

  const auto& ctx = agent.context().counters();
  RC_CLASSIFY(ctx.summarizations > 0, "summarized");
  RC_CLASSIFY(ctx.truncations > 0, "truncated");
  RC_CLASSIFY(ctx.reactive > 0, "reactive overflow");
  RC_CLASSIFY(events.count("tool.start") > 0, "tools ran");

  // No request over the budget, each counted exactly.
  for (const ChatRequest& r : model.requests) {
    RC_ASSERT(r.prompt_tokens <= configured_budget);
    RC_ASSERT(r.prompt_tokens == counter.count(r.messages));
    if (is_summarization(r)) RC_ASSERT(r.tools.empty());
  }
  // A non-idempotent tool runs at most once per requested call; an idempotent one at most
  // max_attempts times.
  for (const auto& [call, n] : t_once.per_call) RC_ASSERT(n <= 1);
  for (const auto& [call, n] : t_forever.per_call) RC_ASSERT(n <= 1);
  for (const auto& [call, n] : t_idem.per_call) RC_ASSERT(n <= idem.max_attempts);
}

RC_GTEST_PROP(AgentProperties, StepsEndOnceOnTimeWithinBudgetAndNeverRerunSideEffects, ()) {
  check_random_agent_case(100, 800);
}

// Tiny budgets: inputs and summaries often cannot fit, so every shrinking path is exercised.
RC_GTEST_PROP(AgentProperties, TinyBudgetsAreNeverExceeded, ()) { check_random_agent_case(20, 250); }

}  // namespace
}  // namespace keel::agent
