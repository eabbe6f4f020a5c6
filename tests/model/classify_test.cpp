// Provider error classification, including the source design's defects as regressions.
#include "keel/model/classify.h"

#include <gtest/gtest.h>

namespace keel::model {
namespace {

using namespace std::chrono_literals;

Error openai(int status, std::string_view body = {}, std::optional<Duration> ra = std::nullopt) {
  return classify_failure(ProviderApi::openai, "oa", HttpFailure{status, body, ra});
}
Error anthropic(int status, std::string_view body = {}, std::optional<Duration> ra = std::nullopt) {
  return classify_failure(ProviderApi::anthropic, "an", HttpFailure{status, body, ra});
}

TEST(Classify, OpenAiStructuredCodes) {
  EXPECT_EQ(openai(400, R"({"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","code":"context_length_exceeded","param":"messages"}})").code,
            ErrorCode::context_overflow);
  EXPECT_EQ(openai(429, R"({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}})").code,
            ErrorCode::rate_limited);
  EXPECT_EQ(openai(401, R"({"error":{"message":"Incorrect API key","type":"invalid_request_error","code":"invalid_api_key"}})").code,
            ErrorCode::auth);
  EXPECT_EQ(openai(400, R"({"error":{"message":"bad param","type":"invalid_request_error","code":null}})").code,
            ErrorCode::invalid_request);
}

// A context-length refusal states the window (and the prompt's size): both APIs' bodies.
TEST(Classify, AContextLengthRefusalCarriesTheWindowItStates) {
  const Error o = openai(400, R"({"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}})");
  ASSERT_EQ(o.code, ErrorCode::context_overflow);
  ASSERT_TRUE(o.stated_context.has_value());
  EXPECT_EQ(*o.stated_context, (StatedContext{.window = 8192, .prompt_tokens = 9000}));
  const Error requested = openai(400, R"({"error":{"message":"This model's maximum context length is 128000 tokens. However, you requested 130500 tokens (129500 in the messages, 1000 in the completion).","type":"invalid_request_error","code":"context_length_exceeded"}})");
  ASSERT_TRUE(requested.stated_context.has_value());
  EXPECT_EQ(*requested.stated_context, (StatedContext{.window = 128000, .prompt_tokens = 130500}));
  const Error a = anthropic(400, R"({"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}})");
  ASSERT_EQ(a.code, ErrorCode::context_overflow);
  ASSERT_TRUE(a.stated_context.has_value());
  EXPECT_EQ(*a.stated_context, (StatedContext{.window = 200000, .prompt_tokens = 210000}));
  // No number stated, or not an overflow: nothing.
  EXPECT_FALSE(openai(400, R"({"error":{"message":"context length exceeded","code":"context_length_exceeded"}})").stated_context);
  EXPECT_FALSE(openai(429, R"({"error":{"message":"You exceeded your current quota","code":"insufficient_quota"}})").stated_context);
  EXPECT_FALSE(openai(400, R"({"error":{"message":"This model's maximum context length is -5 tokens","code":"context_length_exceeded"}})").stated_context);
}

// Defect: "exceeded your current quota" was in the source design's token-limit markers.
TEST(Classify, QuotaExhaustionIsNeverAContextOverflowAndNeverRetryable) {
  const Error e = openai(429, R"({"error":{"message":"You exceeded your current quota, please check your plan and billing details. This is not a context length issue.","type":"insufficient_quota","code":"insufficient_quota"}})");
  EXPECT_EQ(e.code, ErrorCode::quota_exhausted);
  EXPECT_FALSE(e.retryable());
  // Even without a structured code, the text table says quota, not overflow.
  EXPECT_EQ(openai(429, R"({"error":{"message":"You exceeded your current quota"}})").code,
            ErrorCode::quota_exhausted);
}

// Defect: only one provider's rate-limit exception was caught; another provider's 429 crashed.
TEST(Classify, AnthropicRateLimitIsRetryableWithRetryAfter) {
  const Error e = anthropic(429, R"({"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}})", 7s);
  EXPECT_EQ(e.code, ErrorCode::rate_limited);
  EXPECT_TRUE(e.retryable());
  ASSERT_TRUE(e.retry_after);
  EXPECT_EQ(*e.retry_after, 7s);
  EXPECT_EQ(e.http_status, 429);
  EXPECT_EQ(e.provider, "an");
}

TEST(Classify, AnthropicTypes) {
  EXPECT_EQ(anthropic(529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})").code,
            ErrorCode::server_error);
  EXPECT_EQ(anthropic(500, R"({"type":"error","error":{"type":"api_error","message":"x"}})").code,
            ErrorCode::server_error);
  EXPECT_EQ(anthropic(401, R"({"type":"error","error":{"type":"authentication_error","message":"x"}})").code,
            ErrorCode::auth);
  EXPECT_EQ(anthropic(403, R"({"type":"error","error":{"type":"permission_error","message":"x"}})").code,
            ErrorCode::auth);
  EXPECT_EQ(anthropic(404, R"({"type":"error","error":{"type":"not_found_error","message":"x"}})").code,
            ErrorCode::invalid_request);
  EXPECT_EQ(anthropic(400, R"({"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}})").code,
            ErrorCode::context_overflow);
  EXPECT_EQ(anthropic(400, R"({"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}})").code,
            ErrorCode::quota_exhausted);
  EXPECT_EQ(anthropic(400, R"({"type":"error","error":{"type":"invalid_request_error","message":"messages: field required"}})").code,
            ErrorCode::invalid_request);
}

TEST(Classify, StatusRulesWhenTheBodyIsEmptyHtmlOrGarbage) {
  EXPECT_EQ(openai(503, "<html>Service Unavailable</html>").code, ErrorCode::server_error);
  EXPECT_EQ(openai(502).code, ErrorCode::server_error);
  EXPECT_EQ(openai(529).code, ErrorCode::server_error);
  EXPECT_EQ(openai(408).code, ErrorCode::timeout);
  EXPECT_EQ(openai(409).code, ErrorCode::server_error);
  EXPECT_EQ(openai(429, "{not json").code, ErrorCode::rate_limited);
  EXPECT_EQ(openai(418).code, ErrorCode::invalid_request);
  EXPECT_EQ(anthropic(403, R"({"error": 5})").code, ErrorCode::auth);
  EXPECT_EQ(openai(503, "<html>").message, "HTTP 503");
}

TEST(Classify, AuthAndQuotaAreNeverRetryable529Is) {
  EXPECT_FALSE(openai(401).retryable());
  EXPECT_FALSE(anthropic(403).retryable());
  EXPECT_TRUE(anthropic(529).retryable());
}

TEST(Classify, MessageIsTheProvidersTruncated) {
  const std::string long_msg(500, 'x');
  const std::string body = R"({"error":{"message":")" + long_msg + R"("}})";
  EXPECT_EQ(openai(500, body).message.size(), 200u);
}

// Escapes are decoded, the last of repeated members wins (as a JSON DOM keeps it), and a body
// read earlier never leaks into a later classification (the reader is reused).
TEST(Classify, BodiesAreReadAsJsonValues) {
  const Error e = openai(429, R"({"error":{"code":"x","code":"insufficient_quota","message":"quota \"gone\"\n\u00e9"}})");
  EXPECT_EQ(e.code, ErrorCode::quota_exhausted);
  EXPECT_EQ(e.message, "quota \"gone\"\n\xc3\xa9");
  const Error next = openai(400, R"({"error":{"message":"bad","code":null}, "extra":[1,2,{"a":"\t"}]})");
  EXPECT_EQ(next.code, ErrorCode::invalid_request);
  EXPECT_EQ(next.message, "bad");
  EXPECT_EQ(openai(503, R"({"error":{"message":"\ud800"}})").message, "HTTP 503") << "invalid JSON: not read";
  EXPECT_EQ(anthropic(400, R"( {"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 9 tokens"}} )").code,
            ErrorCode::context_overflow);
}

}  // namespace
}  // namespace keel::model
