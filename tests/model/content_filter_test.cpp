// content_filter (format v1.1): both APIs' real refusal bodies classify to it; it is never
// retried and is not a breaker failure.
#include <gtest/gtest.h>

#include "keel/model/classify.h"
#include "keel/policy/circuit_breaker.h"
#include "keel/sim/provider_errors.h"

namespace keel::model {
namespace {

TEST(ContentFilterTest, BothApisRefusalBodiesAreContentFilter) {
  for (ProviderApi api : {ProviderApi::openai, ProviderApi::anthropic}) {
    const sim::HttpErrorResponse r = sim::content_filter_error(api);
    EXPECT_EQ(r.status, 400);
    const Error e = classify_failure(api, "p", HttpFailure{.status = r.status, .body = r.body});
    EXPECT_EQ(e.code, ErrorCode::content_filter) << to_string(api) << " " << r.body;
    EXPECT_FALSE(e.retryable());
    EXPECT_FALSE(e.message.empty());  // the reason reaches the caller
  }
}

TEST(ContentFilterTest, AzureCodeAndAnUnrelated400StayApart) {
  EXPECT_EQ(classify_failure(ProviderApi::openai, "p",
                             {.status = 400, .body = R"({"error":{"message":"filtered","code":"content_filter"}})"})
                .code,
            ErrorCode::content_filter);
  EXPECT_EQ(classify_failure(ProviderApi::anthropic, "p",
                             {.status = 400, .body = R"({"type":"error","error":{"type":"invalid_request_error","message":"bad"}})"})
                .code,
            ErrorCode::invalid_request);
}

TEST(ContentFilterTest, NotABreakerFailure) {
  EXPECT_EQ(policy::CircuitBreakerConfig{}.counts_as_failure[ErrorCode::content_filter], policy::BreakerCodeClass::non_failure);
  EXPECT_EQ(error_code_from_string("content_filter"), ErrorCode::content_filter);
}

}  // namespace
}  // namespace keel::model
