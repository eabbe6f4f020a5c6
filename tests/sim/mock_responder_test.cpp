// ScriptedResponder (what the mock provider answers), RateWindow (its RPM/TPM accounting) and
// the provider error bodies, as pure pieces.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "keel/model/classify.h"
#include "keel/model/token_counter.h"
#include "keel/sim/provider_errors.h"
#include "keel/sim/rate_window.h"
#include "keel/sim/responder.h"

namespace keel::sim {
namespace {

using namespace std::chrono_literals;
using model::ChatRequest;
using model::Message;

TimePoint at(Duration d) { return TimePoint{d}; }

ChatRequest conversation(std::vector<Message> messages) {
  ChatRequest r;
  r.messages = std::move(messages);
  return r;
}

const ResponseContext kCtx{.provider = "gpt", .request_index = 4, .output_tokens = 50};

TEST(MockResponder, AUserTurnGetsTheScriptedToolCallsRoundRobinInFileOrder) {
  ScriptedResponder model{{.tool_calls_per_step = 3, .tools = {"a", "b"}}};
  const ModelAnswer ans = model(conversation({Message::system("s"), Message::user("go")}), kCtx);
  EXPECT_EQ(ans.finish_reason, model::FinishReason::tool_calls);
  ASSERT_EQ(ans.message.tool_calls.size(), 3u);
  EXPECT_EQ(ans.message.tool_calls[0].name, "a");
  EXPECT_EQ(ans.message.tool_calls[1].name, "b");
  EXPECT_EQ(ans.message.tool_calls[2].name, "a");
  std::set<std::string> ids;
  for (const auto& c : ans.message.tool_calls) {
    ids.insert(c.id);
    EXPECT_EQ(c.arguments, "{\"call_id\":\"" + c.id + "\"}");
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(ans.message.tool_calls[2].id, "call_gpt_4_2");
  EXPECT_EQ(ans.message.role, model::Role::assistant);
}

TEST(MockResponder, ToolResultsGetAFinalAnswerOfTheConfiguredSize) {
  ScriptedResponder model{{.tool_calls_per_step = 1, .tools = {"a"}}};
  const ModelAnswer ans = model(conversation({Message::user("go"), Message::assistant("", {{"call_gpt_0_0", "a", "{}"}}),
                                              Message::tool_result("call_gpt_0_0", "a", "{}")}),
                                kCtx);
  EXPECT_EQ(ans.finish_reason, model::FinishReason::stop);
  EXPECT_TRUE(ans.message.tool_calls.empty());
  EXPECT_EQ(ans.message.content.size(), 200u);
  EXPECT_EQ(model::approx_text_tokens(ans.message.content), 50);
}

TEST(MockResponder, WithoutScriptedToolCallsEveryAnswerIsFinal) {
  for (ScriptedResponderConfig cfg : {ScriptedResponderConfig{}, ScriptedResponderConfig{.tool_calls_per_step = 2}}) {
    const ModelAnswer ans = ScriptedResponder{cfg}(conversation({Message::user("go")}), kCtx);
    EXPECT_EQ(ans.finish_reason, model::FinishReason::stop);
    EXPECT_TRUE(ans.message.tool_calls.empty());
  }
  const ModelAnswer empty = ScriptedResponder{}(conversation({}), kCtx);
  EXPECT_EQ(empty.finish_reason, model::FinishReason::stop);
}

TEST(MockResponder, ASummarizationRequestGetsASummaryNeverToolCalls) {
  ScriptedResponder model{{.tool_calls_per_step = 2, .tools = {"a"}}};
  ChatRequest req = conversation({Message::user("go"), Message::assistant("done"),
                                  Message::user("  summarize the conversation above in 50 tokens")});
  req.tools = {{"a", "tool a"}};
  EXPECT_TRUE(ScriptedResponder::is_summarization(req));
  const ModelAnswer ans = model(req, kCtx);
  EXPECT_EQ(ans.finish_reason, model::FinishReason::stop);
  EXPECT_TRUE(ans.message.tool_calls.empty());
  EXPECT_EQ(ans.message.content.rfind("summary", 0), 0u);
  EXPECT_EQ(model::approx_text_tokens(ans.message.content), 50);
  EXPECT_FALSE(ScriptedResponder::is_summarization(conversation({Message::user("Please summarize")})));
}

TEST(MockResponder, IsDeterministicAndSizesTinyAnswers) {
  ScriptedResponder model{};
  const auto req = conversation({Message::user("go")});
  EXPECT_EQ(model(req, kCtx).message, model(req, kCtx).message);
  EXPECT_EQ(model(req, {.provider = "p", .output_tokens = 0}).message.content, "");
  EXPECT_EQ(model(req, {.provider = "p", .output_tokens = 3}).message.content.size(), 12u);
}

TEST(MockRateWindow, AnEntryCountsForExactlyOneMinute) {
  RateWindow w{{.requests_per_minute = 1}};
  EXPECT_TRUE(w.admit(at(5s), 10).admitted);
  const RateDecision d = w.admit(at(65s - 1ns), 10);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.available_at, at(65s));
  EXPECT_EQ(d.limited_by, RateLimitKind::requests);
  EXPECT_EQ(d.limit, 1);
  EXPECT_EQ(d.used, 1);
  EXPECT_TRUE(w.admit(at(65s), 10).admitted);
  EXPECT_EQ(w.requests(), 1u);
}

TEST(MockRateWindow, WhenBothLimitsRefuseTheLaterOneDecides) {
  RateWindow w{{.requests_per_minute = 2, .tokens_per_minute = 100}};
  EXPECT_TRUE(w.admit(at(0s), 10).admitted);
  EXPECT_TRUE(w.admit(at(1s), 80).admitted);
  // Requests free up at 60s (one entry must go); tokens only at 61s (both must go).
  const RateDecision d = w.admit(at(2s), 95);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.limited_by, RateLimitKind::tokens);
  EXPECT_EQ(d.available_at, at(61s));
  EXPECT_EQ(d.used, 90);
  EXPECT_EQ(d.requested, 95);
  EXPECT_EQ(w.tokens(), 90);  // refused: not recorded
}

TEST(MockRateWindow, WithoutLimitsNothingIsRecorded) {
  RateWindow w{{}};
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(w.admit(at(0s), 1'000'000).admitted);
  EXPECT_EQ(w.requests(), 0u);
  EXPECT_THROW(RateWindow({.requests_per_minute = 0}), std::invalid_argument);
  EXPECT_THROW(RateWindow({.tokens_per_minute = -1}), std::invalid_argument);
}

TEST(MockProviderErrors, BodiesParseAndClassifyAsTheirApiSays) {
  using model::ProviderApi;
  auto classify = [](ProviderApi api, const HttpErrorResponse& r) {
    return model::classify_failure(api, "p", model::HttpFailure{r.status, r.body});
  };
  EXPECT_EQ(classify(ProviderApi::openai, server_error(ProviderApi::openai, 503)).code, ErrorCode::server_error);
  EXPECT_NE(server_error(ProviderApi::openai, 503).body.find("<html>"), std::string::npos);
  EXPECT_EQ(classify(ProviderApi::openai, server_error(ProviderApi::openai, 500)).message,
            "The server had an error while processing your request. Sorry about that!");
  EXPECT_EQ(classify(ProviderApi::anthropic, server_error(ProviderApi::anthropic, 529)).message, "Overloaded");
  EXPECT_EQ(classify(ProviderApi::openai, quota_error(ProviderApi::openai)).code, ErrorCode::quota_exhausted);
  EXPECT_EQ(classify(ProviderApi::anthropic, quota_error(ProviderApi::anthropic)).code, ErrorCode::quota_exhausted);
  EXPECT_EQ(classify(ProviderApi::openai, rate_limit_error(ProviderApi::openai, nullptr, 1500us)).message,
            "Rate limit reached. Please try again in 2ms.");
}

}  // namespace
}  // namespace keel::sim
