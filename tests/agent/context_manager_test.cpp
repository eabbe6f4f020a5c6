// ContextManager: prompts never exceed the budget; summarize proactively above the threshold,
// fall back to truncation when summarizing fails, times out or is not enough; truncation keeps
// tool-call groups, the system message and the latest user input; `fail` fails; a reactive
// overflow lowers the budget.
#include "keel/agent/context_manager.h"

#include <gtest/gtest.h>

#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "keel/core/event.h"
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

// Text that ApproxTokenCounter counts as `tokens` tokens (plus 4 of framing per message).
std::string text_of(int tokens) { return std::string(static_cast<std::size_t>(tokens) * 4, 'x'); }

bool is_summarization(const ChatRequest& r) {
  return !r.messages.empty() && r.messages.back().role == Role::user &&
         r.messages.back().content.rfind("Summarize", 0) == 0;
}

// A ChatModel answering summarization requests from a script: a text after a latency, an
// error, or a hang (until cancelled). Records every request.
class FakeSummarizer final : public model::ChatModel {
 public:
  struct Reply {
    std::optional<std::string> text;  // nullopt: fail with `code`
    ErrorCode code = ErrorCode::server_error;
    Duration latency = 10ms;
    bool hang = false;
  };
  explicit FakeSummarizer(int window) : window_(window) {}

  Task<Result<ChatResponse>> complete(ChatRequest request) override {
    requests.push_back(request);
    Reply reply = replies.empty() ? Reply{std::string{"short summary"}} : replies.front();
    if (!replies.empty()) replies.pop_front();
    if (reply.hang) {
      (void)co_await until_cancelled();
      ++cancelled;
      co_return Error(ErrorCode::cancelled, "hung call cancelled");
    }
    if (Status s = co_await sleep_for(reply.latency); !s) {
      ++cancelled;
      co_return s.error();
    }
    if (!reply.text) co_return Error(reply.code, "scripted failure");
    ChatResponse r;
    r.message = Message::assistant(*reply.text);
    r.usage = {request.prompt_tokens, 7};
    co_return r;
  }
  int max_context_window() const noexcept override { return window_; }

  std::deque<Reply> replies;
  std::vector<ChatRequest> requests;
  int cancelled = 0;

 private:
  int window_;
};

struct Fixture {
  explicit Fixture(ContextConfig config, int window = 100'000)
      : model(window), ctx(model, &events, config), memory(counter, "sys") {}

  // Runs fit() (or recover()) to completion; records when it ended.
  Result<ContextFit> run(Task<Result<ContextFit>> task) {
    std::optional<Result<ContextFit>> out;
    spawn(sim, std::move(task), [&](Result<ContextFit> r) {
      out.emplace(std::move(r));
      ended = sim.now();
    });
    sim.run_until_idle();
    EXPECT_TRUE(out.has_value());
    return out ? std::move(*out) : Result<ContextFit>(Error(ErrorCode::internal, "never finished"));
  }
  void expect_every_request_within(int budget) {
    for (const ChatRequest& r : model.requests) {
      EXPECT_LE(r.prompt_tokens, budget);
      EXPECT_EQ(r.prompt_tokens, counter.count(r.messages));
      EXPECT_TRUE(r.tools.empty());
    }
  }

  sim::Simulator sim;
  RecordingSink events;
  ApproxTokenCounter counter;
  FakeSummarizer model;
  ContextManager ctx;
  Memory memory;
  TimePoint ended{};
};

// sys = 5 tokens, overhead 3: a history of `n` user/assistant turns of `each` text tokens.
void fill(Memory& memory, int turns, int each) {
  for (int i = 0; i < turns; ++i) {
    memory.add(Message::user(text_of(each)));
    memory.add(Message::assistant(text_of(each)));
  }
}

TEST(ContextManagerTest, BelowTheThresholdNothingHappens) {
  Fixture f({.token_limit = 1000});
  fill(f.memory, 3, 20);
  f.memory.add(Message::user("question"));
  const int before = f.memory.tokens();
  auto fit = f.run(f.ctx.fit(f.memory));
  ASSERT_TRUE(fit);
  EXPECT_EQ(fit->prompt_tokens, before);
  EXPECT_TRUE(f.model.requests.empty());
  EXPECT_EQ(f.events.size(), 0u);
  EXPECT_EQ(f.ctx.counters().overflows, 0u);
}

TEST(ContextManagerTest, BudgetIsTheSmallerOfLimitAndWindow) {
  EXPECT_EQ(Fixture({}, 5000).ctx.budget(), 5000);
  EXPECT_EQ(Fixture({.token_limit = 800}, 5000).ctx.budget(), 800);
  EXPECT_EQ(Fixture({.token_limit = 8000}, 5000).ctx.budget(), 5000);
  EXPECT_EQ(Fixture({.token_limit = 1000, .summarize_at = 0.75}).ctx.threshold(), 750);
}

TEST(ContextManagerTest, InvalidConfigThrows) {
  FakeSummarizer model{1000};
  EXPECT_THROW(ContextManager(model, nullptr, {.token_limit = 0}), std::invalid_argument);
  EXPECT_THROW(ContextManager(model, nullptr, {.summarize_at = 0.0}), std::invalid_argument);
  EXPECT_THROW(ContextManager(model, nullptr, {.summarize_at = 1.5}), std::invalid_argument);
  EXPECT_THROW(ContextManager(model, nullptr, {.summary_max_tokens = 0}), std::invalid_argument);
  EXPECT_THROW(ContextManager(model, nullptr, {.summarize_timeout = -1s}), std::invalid_argument);
}

TEST(ContextManagerTest, ProactivelySummarizesAboveTheThreshold) {
  Fixture f({.token_limit = 1000, .summary_max_tokens = 123});
  fill(f.memory, 10, 42);  // 10 * 2 * 46 = 920, + system 5 + overhead 3
  f.memory.add(Message::user("latest question"));
  ASSERT_GT(f.memory.tokens(), f.ctx.threshold());
  ASSERT_LE(f.memory.tokens(), f.ctx.budget());

  auto fit = f.run(f.ctx.fit(f.memory));
  ASSERT_TRUE(fit);
  ASSERT_EQ(f.model.requests.size(), 1u);
  const ChatRequest& req = f.model.requests[0];
  EXPECT_TRUE(is_summarization(req));
  EXPECT_EQ(req.max_output_tokens, 123);
  EXPECT_EQ(req.messages.front().role, Role::system);
  EXPECT_EQ(req.messages.size(), 1u + 20u + 1u);  // system + history but the latest input + instruction
  f.expect_every_request_within(1000);

  // History: [summary, latest input]; the system message stays.
  ASSERT_EQ(f.memory.size(), 2u);
  EXPECT_EQ(f.memory.system()->content, "sys");
  EXPECT_EQ(f.memory.at(0).role, Role::user);
  EXPECT_EQ(f.memory.at(0).content, std::string{kSummaryPrefix} + "short summary");
  EXPECT_EQ(f.memory.at(1).content, "latest question");
  EXPECT_EQ(fit->prompt_tokens, f.memory.tokens());
  EXPECT_EQ(fit->usage.completion_tokens, 7);

  const auto* overflow = f.events.find("context.overflow");
  ASSERT_NE(overflow, nullptr);
  EXPECT_EQ(*overflow->get<std::string>("action"), "summarize");
  EXPECT_EQ(*overflow->get<bool>("reactive"), false);
  const auto* summary = f.events.find("context.summarize");
  ASSERT_NE(summary, nullptr);
  EXPECT_TRUE(*summary->get<bool>("ok"));
  EXPECT_GT(*summary->get_int("before_tokens"), *summary->get_int("after_tokens"));
  EXPECT_EQ(f.ctx.counters().summarizations, 1u);
  EXPECT_EQ(f.ctx.counters().truncations, 0u);
}

TEST(ContextManagerTest, AFailedSummaryBelowTheBudgetSendsTheHistoryAsIs) {
  Fixture f({.token_limit = 1000});
  f.model.replies.push_back({.text = std::nullopt, .code = ErrorCode::server_error});
  fill(f.memory, 10, 42);  // 936: over the threshold (900), within the budget
  f.memory.add(Message::user("latest"));
  const auto before = f.memory.messages();
  auto fit = f.run(f.ctx.fit(f.memory));
  ASSERT_TRUE(fit);
  EXPECT_EQ(f.memory.messages(), before);  // over the threshold only: no truncation needed
  EXPECT_EQ(f.ctx.counters().summarize_failures, 1u);
  EXPECT_EQ(f.ctx.counters().truncations, 0u);
  EXPECT_EQ(*f.events.find("context.summarize")->get<std::string>("code"), "server_error");
}

TEST(ContextManagerTest, SummarizeFailureOverTheBudgetTruncates) {
  Fixture f({.token_limit = 500});
  f.model.replies.push_back({.text = std::nullopt, .code = ErrorCode::server_error});
  fill(f.memory, 10, 40);  // 888 > 500
  f.memory.add(Message::user("latest"));
  auto fit = f.run(f.ctx.fit(f.memory));
  ASSERT_TRUE(fit);
  EXPECT_LE(fit->prompt_tokens, 500);
  EXPECT_EQ(fit->prompt_tokens, f.memory.tokens());
  EXPECT_EQ(f.memory.at(f.memory.size() - 1).content, "latest");
  EXPECT_EQ(f.ctx.counters().truncations, 1u);
  f.expect_every_request_within(500);
  const auto* trunc = f.events.find("context.truncate");
  ASSERT_NE(trunc, nullptr);
  EXPECT_GT(*trunc->get_int("removed"), 0);
  EXPECT_LE(*trunc->get_int("after_tokens"), 500);
}

TEST(ContextManagerTest, SummarizeTimeoutTruncatesAtTheTimeout) {
  Fixture f({.token_limit = 500, .summarize_timeout = 2s});
  f.model.replies.push_back({.hang = true});
  fill(f.memory, 10, 40);
  f.memory.add(Message::user("latest"));
  auto fit = f.run(f.ctx.fit(f.memory));
  ASSERT_TRUE(fit);
  EXPECT_EQ(f.ended, TimePoint{2s});
  EXPECT_EQ(f.model.cancelled, 1);  // the hung summarization saw its cancellation
  EXPECT_LE(fit->prompt_tokens, 500);
  EXPECT_EQ(*f.events.find("context.summarize")->get<std::string>("code"), "timeout");
  EXPECT_EQ(f.ctx.counters().truncations, 1u);
}

TEST(ContextManagerTest, ASummaryStillOverTheBudgetIsTruncatedToo) {
  Fixture f({.token_limit = 500});
  f.model.replies.push_back({.text = text_of(600)});  // a useless, huge summary
  fill(f.memory, 10, 40);
  f.memory.add(Message::user("latest"));
  auto fit = f.run(f.ctx.fit(f.memory));
  ASSERT_TRUE(fit);
  EXPECT_LE(fit->prompt_tokens, 500);
  ASSERT_EQ(f.memory.size(), 1u);  // the summary went, the latest input stayed
  EXPECT_EQ(f.memory.at(0).content, "latest");
  EXPECT_EQ(f.ctx.counters().summarizations, 1u);
  EXPECT_EQ(f.ctx.counters().truncations, 1u);
}

TEST(ContextManagerTest, TheSummarizationRequestItselfStaysWithinTheBudget) {
  Fixture f({.token_limit = 300});
  fill(f.memory, 10, 40);  // 888: far over; the request leaves the oldest turns out
  f.memory.add(Message::user("latest"));
  auto fit = f.run(f.ctx.fit(f.memory));
  ASSERT_TRUE(fit);
  ASSERT_EQ(f.model.requests.size(), 1u);
  f.expect_every_request_within(300);
  EXPECT_LT(f.model.requests[0].messages.size(), 22u);
  EXPECT_LE(fit->prompt_tokens, 300);
}

TEST(ContextManagerTest, TruncateModeNeverCallsTheModel) {
  Fixture f({.token_limit = 500, .on_overflow = ContextConfig::truncate});
  fill(f.memory, 10, 40);
  f.memory.add(Message::user("latest"));
  auto fit = f.run(f.ctx.fit(f.memory));
  ASSERT_TRUE(fit);
  EXPECT_TRUE(f.model.requests.empty());
  EXPECT_LE(fit->prompt_tokens, 500);
  EXPECT_EQ(*f.events.find("context.overflow")->get<std::string>("action"), "truncate");
}

TEST(ContextManagerTest, TruncateModeIgnoresTheThreshold) {
  Fixture f({.token_limit = 1000, .on_overflow = ContextConfig::truncate});
  fill(f.memory, 10, 40);  // 888 + 14 = 902: between the threshold (900) and the budget
  f.memory.add(Message::user(text_of(10)));
  ASSERT_GT(f.memory.tokens(), f.ctx.threshold());
  const auto before = f.memory.messages();
  auto fit = f.run(f.ctx.fit(f.memory));
  ASSERT_TRUE(fit);
  EXPECT_EQ(f.memory.messages(), before);
  EXPECT_EQ(f.events.size(), 0u);
}

TEST(ContextManagerTest, FailModeReturnsContextOverflow) {
  Fixture f({.token_limit = 500, .on_overflow = ContextConfig::fail});
  fill(f.memory, 10, 40);
  f.memory.add(Message::user("latest"));
  const auto before = f.memory.messages();
  auto fit = f.run(f.ctx.fit(f.memory));
  ASSERT_FALSE(fit);
  EXPECT_EQ(fit.error().code, ErrorCode::context_overflow);
  EXPECT_EQ(f.memory.messages(), before);
  EXPECT_TRUE(f.model.requests.empty());
  EXPECT_EQ(*f.events.find("context.overflow")->get<std::string>("action"), "fail");
  EXPECT_EQ(f.ctx.counters().failures, 1u);
}

TEST(ContextManagerTest, AnInputThatCannotFitIsContextOverflow) {
  Fixture f({.token_limit = 100, .on_overflow = ContextConfig::truncate});
  fill(f.memory, 2, 10);
  f.memory.add(Message::user(text_of(200)));
  auto fit = f.run(f.ctx.fit(f.memory));
  ASSERT_FALSE(fit);
  EXPECT_EQ(fit.error().code, ErrorCode::context_overflow);
  ASSERT_EQ(f.memory.size(), 1u);  // truncated as far as possible; the input stays
  EXPECT_EQ(f.memory.at(0).role, Role::user);
}

TEST(ContextManagerTest, TruncationKeepsToolPairsTheSystemMessageAndTheLatestInput) {
  Fixture f({.token_limit = 1000, .on_overflow = ContextConfig::truncate});
  f.memory.add(Message::user(text_of(30)));                                           // 34
  f.memory.add(Message::assistant("", {ToolCall{"a", "t", text_of(30)}, ToolCall{"b", "t", "{}"}}));  // 37
  f.memory.add(Message::tool_result("a", "t", text_of(30)));                           // 35
  f.memory.add(Message::tool_result("b", "t", text_of(30)));                           // 35
  f.memory.add(Message::assistant(text_of(30)));                                       // 34
  f.memory.add(Message::user("latest"));                                               // 6
  f.memory.add(Message::assistant("", {ToolCall{"c", "t", "{}"}}));
  f.memory.add(Message::tool_result("c", "t", text_of(30)));
  // Budget just below everything: dropping the first user message is enough.
  const int limit = f.memory.tokens() - 10;
  const int removed = f.ctx.truncate(f.memory, limit, TimePoint{});
  EXPECT_EQ(removed, 1);
  EXPECT_EQ(f.memory.at(0).role, Role::assistant);
  EXPECT_EQ(f.memory.at(0).tool_calls.size(), 2u);

  // A budget that needs the first unit gone: the tool group goes as a whole.
  const int removed2 = f.ctx.truncate(f.memory, f.memory.tokens() - 10, TimePoint{});
  EXPECT_EQ(removed2, 3);
  ASSERT_TRUE(f.memory.system());
  EXPECT_EQ(f.memory.at(0).role, Role::assistant);
  EXPECT_TRUE(f.memory.at(0).tool_calls.empty());

  // Squeeze to the minimum: the latest input stays; the later tool group goes whole.
  f.ctx.truncate(f.memory, 1, TimePoint{});
  ASSERT_EQ(f.memory.size(), 1u);
  EXPECT_EQ(f.memory.at(0).content, "latest");
  EXPECT_EQ(f.memory.system()->content, "sys");

  // Never an orphan tool message, never a tool call without its results.
  EXPECT_EQ(f.ctx.counters().truncations, 3u);
}

TEST(ContextManagerTest, TruncationNeverSplitsAToolGroup) {
  // Every possible budget: each remaining tool message follows its assistant tool call.
  for (int cut = 0; cut < 300; cut += 7) {
    Fixture f({.on_overflow = ContextConfig::truncate});
    for (int i = 0; i < 4; ++i) {
      f.memory.add(Message::user(text_of(5 + i)));
      const std::string id = "call" + std::to_string(i);
      f.memory.add(Message::assistant("", {ToolCall{id, "t", "{}"}, ToolCall{id + "b", "t", "{}"}}));
      f.memory.add(Message::tool_result(id, "t", text_of(9)));
      f.memory.add(Message::tool_result(id + "b", "t", text_of(3)));
      f.memory.add(Message::assistant(text_of(4)));
    }
    f.memory.add(Message::user("latest"));
    f.ctx.truncate(f.memory, f.memory.tokens() - cut, TimePoint{});
    const auto h = f.memory.history();
    for (std::size_t i = 0; i < h.size(); ++i) {
      if (h[i].role != Role::tool) continue;
      ASSERT_GT(i, 0u);
      EXPECT_TRUE(h[i - 1].role == Role::tool || !h[i - 1].tool_calls.empty()) << "cut " << cut;
    }
    for (std::size_t i = 0; i < h.size(); ++i)
      if (!h[i].tool_calls.empty()) {
        ASSERT_LT(i + h[i].tool_calls.size(), h.size());
        for (std::size_t k = 0; k < h[i].tool_calls.size(); ++k)
          EXPECT_EQ(h[i + 1 + k].tool_call_id, h[i].tool_calls[k].id) << "cut " << cut;
      }
    EXPECT_EQ(h.back().content, "latest");
  }
}

TEST(ContextManagerTest, RecoverLowersTheBudgetAndSummarizes) {
  Fixture f({});  // budget = window 100000: we believed everything fits
  fill(f.memory, 10, 40);
  f.memory.add(Message::user("latest"));
  const int rejected = f.memory.tokens();
  auto fit = f.run(f.ctx.recover(f.memory, rejected));
  ASSERT_TRUE(fit);
  EXPECT_EQ(f.ctx.budget(), static_cast<int>(rejected * 0.9));
  ASSERT_EQ(f.model.requests.size(), 1u);
  EXPECT_TRUE(is_summarization(f.model.requests[0]));
  f.expect_every_request_within(f.ctx.budget());
  EXPECT_LT(fit->prompt_tokens, rejected);
  EXPECT_EQ(f.ctx.counters().reactive, 1u);
  EXPECT_EQ(*f.events.find("context.overflow")->get<bool>("reactive"), true);
}

TEST(ContextManagerTest, RecoverUsesTheWindowTheProviderStated) {
  Fixture f({});  // budget 100000: we believed everything fits
  fill(f.memory, 10, 40);
  f.memory.add(Message::user("latest"));
  const int rejected = f.memory.tokens();
  // The provider counted the prompt as we did and said its window is 500: that is the budget,
  // not a guess of 90 % of the refused prompt.
  auto fit = f.run(f.ctx.recover(f.memory, rejected, StatedContext{.window = 500, .prompt_tokens = rejected}));
  ASSERT_TRUE(fit);
  EXPECT_EQ(f.ctx.budget(), 500);
  EXPECT_LE(fit->prompt_tokens, 500);
  const RecordedEvent* learned = f.events.find("context.learned");
  ASSERT_NE(learned, nullptr);
  EXPECT_EQ(learned->get_int("stated_window"), 500);
}

TEST(ContextManagerTest, AStatedWindowIsConvertedToOurCounter) {
  Fixture f({});
  fill(f.memory, 10, 40);
  f.memory.add(Message::user("latest"));
  const int rejected = f.memory.tokens();
  // Its tokenizer counts twice what ours does: its 600-token window is 300 of ours.
  (void)f.run(f.ctx.recover(f.memory, rejected, StatedContext{.window = 600, .prompt_tokens = 2 * rejected}));
  EXPECT_EQ(f.ctx.budget(), 300);
  // A stated window at or above what we sent (the provider disagrees with itself, or the
  // refusal was false): one token less than what was refused.
  Fixture g({});
  fill(g.memory, 10, 40);
  g.memory.add(Message::user("latest"));
  const int sent = g.memory.tokens();
  (void)g.run(g.ctx.recover(g.memory, sent, StatedContext{.window = 50'000}));
  EXPECT_EQ(g.ctx.budget(), sent - 1);
}

TEST(ContextManagerTest, StatedInFindsTheWindowAnywhereInTheChain) {
  Error inner{ErrorCode::context_overflow, "prompt is too long"};
  inner.stated_context = StatedContext{.window = 8192, .prompt_tokens = 9000};
  const Error all = Error{ErrorCode::context_overflow, "all 2 models failed"}.caused_by(
      Error{ErrorCode::context_overflow, "skipped"}.caused_by(inner));
  ASSERT_TRUE(ContextManager::stated_in(all).has_value());
  EXPECT_EQ(ContextManager::stated_in(all)->window, 8192);
  EXPECT_FALSE(ContextManager::stated_in(Error{ErrorCode::context_overflow}).has_value());
}

TEST(ContextManagerTest, ALearnedBudgetIsForgottenAfterItsHoldAndRelearnedHeldTwiceAsLong) {
  Fixture f({.forget_learned_after = 3});
  fill(f.memory, 10, 40);
  f.memory.add(Message::user("latest"));
  (void)f.run(f.ctx.recover(f.memory, f.memory.tokens()));  // one (false) refusal
  const int learned = f.ctx.budget();
  ASSERT_LT(learned, 100'000);
  f.ctx.on_answered(f.sim.now());
  f.ctx.on_answered(f.sim.now());
  EXPECT_EQ(f.ctx.budget(), learned);  // held for 3 answered calls
  f.ctx.on_answered(f.sim.now());
  EXPECT_EQ(f.ctx.budget(), 100'000);  // recovered: the configured budget again
  EXPECT_FALSE(f.ctx.learned_budget().has_value());
  EXPECT_EQ(f.ctx.counters().forgotten, 1u);
  EXPECT_EQ(f.events.count("context.forgotten"), 1u);

  // The window refuses again: learned again, now held for 6 answered calls.
  fill(f.memory, 10, 40);
  f.memory.add(Message::user("again"));
  (void)f.run(f.ctx.recover(f.memory, f.memory.tokens()));
  ASSERT_TRUE(f.ctx.learned_budget().has_value());
  for (int i = 0; i < 5; ++i) f.ctx.on_answered(f.sim.now());
  EXPECT_TRUE(f.ctx.learned_budget().has_value());
  f.ctx.on_answered(f.sim.now());
  EXPECT_FALSE(f.ctx.learned_budget().has_value());

  // forget_learned_after = 0: held for good.
  Fixture g({.forget_learned_after = 0});
  fill(g.memory, 10, 40);
  g.memory.add(Message::user("latest"));
  (void)g.run(g.ctx.recover(g.memory, g.memory.tokens()));
  for (int i = 0; i < 1000; ++i) g.ctx.on_answered(g.sim.now());
  EXPECT_TRUE(g.ctx.learned_budget().has_value());
}

TEST(ContextManagerTest, WithoutCountingBeforeSendingOnlyARefusalActs) {
  Fixture f({.token_limit = 300, .count_before_send = false});
  fill(f.memory, 10, 40);
  f.memory.add(Message::user("latest"));
  const int tokens = f.memory.tokens();
  ASSERT_GT(tokens, 300);
  auto fit = f.run(f.ctx.fit(f.memory));  // over the budget: sent as it is (the source design)
  ASSERT_TRUE(fit);
  EXPECT_EQ(fit->prompt_tokens, tokens);
  EXPECT_TRUE(f.model.requests.empty());
  EXPECT_TRUE(f.ctx.fits_as_is(f.memory).has_value());
  // The provider refuses: summarize (the retry is the caller's).
  auto refit = f.run(f.ctx.recover(f.memory, tokens));
  ASSERT_TRUE(refit);
  ASSERT_EQ(f.model.requests.size(), 1u);
  EXPECT_TRUE(is_summarization(f.model.requests[0]));
  EXPECT_LT(refit->prompt_tokens, tokens);
  EXPECT_EQ(f.ctx.counters().summarizations, 1u);
}

TEST(ContextManagerTest, RecoverInFailModeFails) {
  Fixture f({.on_overflow = ContextConfig::fail});
  fill(f.memory, 3, 10);
  f.memory.add(Message::user("latest"));
  auto fit = f.run(f.ctx.recover(f.memory, f.memory.tokens()));
  ASSERT_FALSE(fit);
  EXPECT_EQ(fit.error().code, ErrorCode::context_overflow);
  EXPECT_TRUE(f.model.requests.empty());
}

TEST(ContextManagerTest, CancelledWhileSummarizingChangesNothing) {
  Fixture f({.token_limit = 500});
  f.model.replies.push_back({.hang = true});
  fill(f.memory, 10, 40);
  f.memory.add(Message::user("latest"));
  const auto before = f.memory.messages();
  CancelSource cancel;
  std::optional<Result<ContextFit>> out;
  spawn(f.sim, f.ctx.fit(f.memory), [&](Result<ContextFit> r) { out.emplace(std::move(r)); }, {}, cancel.token());
  f.sim.run_for(1s);
  cancel.cancel();
  f.sim.run_until_idle();
  ASSERT_TRUE(out.has_value());
  ASSERT_FALSE(*out);
  EXPECT_EQ(out->error().code, ErrorCode::cancelled);
  EXPECT_EQ(f.memory.messages(), before);
  EXPECT_EQ(f.model.cancelled, 1);
  EXPECT_EQ(f.sim.now(), TimePoint{1s});
}

TEST(ContextManagerTest, NothingToSummarizeFallsBackToTruncation) {
  Fixture f({.token_limit = 100});
  f.memory.add(Message::user(text_of(200)));  // only the input itself: cannot fit at all
  auto fit = f.run(f.ctx.fit(f.memory));
  ASSERT_FALSE(fit);
  EXPECT_EQ(fit.error().code, ErrorCode::context_overflow);
  EXPECT_TRUE(f.model.requests.empty());
  EXPECT_EQ(f.ctx.counters().summarize_failures, 1u);
}

}  // namespace
}  // namespace keel::agent
