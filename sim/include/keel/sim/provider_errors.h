// keel/sim/provider_errors.h — the HTTP failures real providers send, as status + body text.
//
// Purpose: the mock provider fails the way the real APIs do (docs/architecture.md, "Provider error
// shapes"): it builds the provider's own status and error body and passes them through the
// runtime's classifier (model/classify.h), so a simulation exercises exactly the classification
// of the live path. The live fault server can send the same bytes on the wire.
//
// Contract: pure functions of their arguments. Bodies:
//  - OpenAI-compatible: `{"error":{"message","type","param","code"}}` — context_length_exceeded
//    (400), rate_limit_exceeded (429, type "requests"/"tokens"), insufficient_quota (429),
//    invalid_api_key (401), server_error (5xx; 502 and 503 come as an nginx HTML page instead).
//  - Anthropic: `{"type":"error","error":{"type","message"}}` — invalid_request_error "prompt is
//    too long: X tokens > N maximum" (400), rate_limit_error (429), the low-credit
//    invalid_request_error (400), authentication_error (401), api_error (5xx), overloaded_error
//    (529).
//  - content-policy refusals (400): OpenAI `content_policy_violation` (type
//    invalid_request_error); Anthropic invalid_request_error "Output blocked by content
//    filtering policy".
//  - `malformed_success`: status 200 with a truncated (unparseable) success body.
// Messages carry numbers only (no names, keys or headers), so no escaping is ever needed.
//
// Example:
//   HttpErrorResponse r = context_length_error(model::ProviderApi::anthropic, 9000, 8192);
//   Error e = model::classify_failure(model::ProviderApi::anthropic, "claude", {r.status, r.body});
//   assert(e.code == ErrorCode::context_overflow && e.http_status == 400);
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "keel/core/time.h"
#include "keel/model/transport.h"
#include "keel/sim/rate_window.h"

namespace keel::sim {

struct HttpErrorResponse {
  int status = 0;
  std::string body;
};

HttpErrorResponse context_length_error(model::ProviderApi api, std::int64_t prompt_tokens, int context_window);
// `refusal`: the limiter's decision, for a message naming the limit (nullptr: an injected 429
// with a generic message). `retry_after` is quoted in the OpenAI message ("try again in Nms").
HttpErrorResponse rate_limit_error(model::ProviderApi api, const RateDecision* refusal = nullptr,
                                   std::optional<Duration> retry_after = std::nullopt);
HttpErrorResponse quota_error(model::ProviderApi api);
HttpErrorResponse auth_error(model::ProviderApi api);
HttpErrorResponse server_error(model::ProviderApi api, int status);
HttpErrorResponse content_filter_error(model::ProviderApi api);
// 400 invalid_request_error: this model does not continue a partial assistant message.
HttpErrorResponse prefill_refused(model::ProviderApi api);
HttpErrorResponse malformed_success(model::ProviderApi api);

}  // namespace keel::sim
