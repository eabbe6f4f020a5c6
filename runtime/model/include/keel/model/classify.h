// keel/model/classify.h — turning a provider's HTTP failure into a classified keel Error.
//
// Purpose: errors are classified once, by structure (docs/architecture.md), for every provider — the
// source design caught only one provider's rate-limit exception and mistook "exceeded your
// current quota" for a context overflow. Both defects are regression tests of this file.
//
// Contract:
//  - Decided from the HTTP status and the structured error body (`error.code`/`error.type`
//    for OpenAI-compatible APIs, `error.type` for Anthropic). Message text is consulted only
//    through the per-provider tables in classify.cpp, for the rare cases a provider gives no
//    structured code (Anthropic's "prompt is too long", its low-credit 400, its "Output
//    blocked by content filtering policy" 400).
//  - A content-policy refusal (OpenAI `content_policy_violation`, Azure `content_filter`,
//    Anthropic's content-filtering 400) is content_filter: never retried on the same model.
//  - quota_exhausted and auth are never retryable; 529 (Anthropic overloaded) is server_error;
//    408 is timeout; 409 and every 5xx are server_error; an unknown 4xx is invalid_request.
//  - Retry hints: `retry-after-ms` (ms) wins over `retry-after` (seconds or HTTP date); the
//    parsed value is put in Error::retry_after. Header values are never copied into messages.
//  - A malformed or empty body never throws: the status alone decides.
//  - The message is the provider's own error message, cut to `max_message_bytes` (default
//    kMaxErrorMessageBytes = 200) on a UTF-8 character boundary.
//
// Example:
//   HttpFailure f{.status = 429, .body = R"({"error":{"code":"insufficient_quota"}})"};
//   Error e = classify_failure(ProviderApi::openai, "openai", f);
//   assert(e.code == ErrorCode::quota_exhausted && !e.retryable());
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "keel/core/error.h"
#include "keel/model/transport.h"

namespace keel::model {

// Where a provider's error message is cut (bytes; never inside a UTF-8 character).
inline constexpr std::size_t kMaxErrorMessageBytes = 200;

struct HttpFailure {
  int status = 0;
  std::string_view body;
  std::optional<Duration> retry_after;  // already parsed from retry-after-ms / retry-after
  std::optional<bool> should_retry;     // x-should-retry, when the response carried it
  // A caller that must scrub a credential out of the message first (HttpModelTransport) asks
  // for the whole message (npos) and cuts it after scrubbing (core/secret.h scrub_secret).
  std::size_t max_message_bytes = kMaxErrorMessageBytes;
};

Error classify_failure(ProviderApi api, std::string_view provider, const HttpFailure& failure);

// The status-only rule (used when the body gives nothing more specific).
ErrorCode classify_status(int status) noexcept;

}  // namespace keel::model
