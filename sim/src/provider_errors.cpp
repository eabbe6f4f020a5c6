#include "keel/sim/provider_errors.h"

#include <string_view>

namespace keel::sim {

namespace {

using model::ProviderApi;

// OpenAI-compatible body. `code` is a bare JSON token: a quoted string or null.
HttpErrorResponse openai(int status, std::string_view message, std::string_view type, std::string_view code,
                         std::string_view param = "null") {
  std::string b = R"({"error":{"message":")";
  b += message;
  b += R"(","type":")";
  b += type;
  b += R"(","param":)";
  b += param;
  b += R"(,"code":)";
  b += code;
  b += "}}";
  return {status, std::move(b)};
}

HttpErrorResponse anthropic(int status, std::string_view type, std::string_view message) {
  std::string b = R"({"type":"error","error":{"type":")";
  b += type;
  b += R"(","message":")";
  b += message;
  b += R"("}})";
  return {status, std::move(b)};
}

std::string str(std::int64_t v) { return std::to_string(v); }

// Whole milliseconds, rounded up (a retry at the quoted time is never early).
std::string millis(Duration d) {
  const std::int64_t ns = d.count() < 0 ? 0 : d.count();
  return str(ns / 1'000'000 + (ns % 1'000'000 != 0)) + "ms";
}

std::string nginx_page(int status) {
  const std::string title = str(status) + (status == 502 ? " Bad Gateway" : " Service Temporarily Unavailable");
  return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
         "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
}

}  // namespace

HttpErrorResponse context_length_error(ProviderApi api, std::int64_t prompt_tokens, int context_window) {
  if (api == ProviderApi::anthropic) {
    return anthropic(400, "invalid_request_error",
                     "prompt is too long: " + str(prompt_tokens) + " tokens > " + str(context_window) + " maximum");
  }
  return openai(400,
                "This model's maximum context length is " + str(context_window) +
                    " tokens. However, your messages resulted in " + str(prompt_tokens) +
                    " tokens. Please reduce the length of the messages.",
                "invalid_request_error", R"("context_length_exceeded")", R"("messages")");
}

HttpErrorResponse rate_limit_error(ProviderApi api, const RateDecision* refusal, std::optional<Duration> retry_after) {
  const bool tokens = refusal && refusal->limited_by == RateLimitKind::tokens;
  const bool too_large = refusal && !refusal->available_at;  // can never fit the window
  if (api == ProviderApi::anthropic) {
    if (!refusal) return anthropic(429, "rate_limit_error", "Number of requests has exceeded your rate limit. Please try again later.");
    return anthropic(429, "rate_limit_error",
                     "This request would exceed the rate limit for your organization of " + str(refusal->limit) +
                         (tokens ? " tokens per minute." : " requests per minute.") +
                         " For details, refer to: https://docs.anthropic.com/en/api/rate-limits.");
  }
  const std::string_view type = tokens ? "tokens" : "requests";
  const std::string_view code = R"("rate_limit_exceeded")";
  if (!refusal) {
    std::string m = "Rate limit reached. ";
    m += retry_after ? "Please try again in " + millis(*retry_after) + "." : std::string("Please try again later.");
    return openai(429, m, type, code);
  }
  const std::string unit = tokens ? "tokens per min (TPM)" : "requests per min (RPM)";
  if (too_large) {
    return openai(429,
                  "Request too large on " + unit + ": Limit " + str(refusal->limit) + ", Requested " +
                      str(refusal->requested) + ". The input or output tokens must be reduced in order to run successfully.",
                  type, code);
  }
  std::string m = "Rate limit reached on " + unit + ": Limit " + str(refusal->limit) + ", Used " + str(refusal->used) +
                  ", Requested " + str(refusal->requested) + ".";
  if (retry_after) m += " Please try again in " + millis(*retry_after) + ".";
  return openai(429, m, type, code);
}

HttpErrorResponse quota_error(ProviderApi api) {
  if (api == ProviderApi::anthropic) {
    return anthropic(400, "invalid_request_error",
                     "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to "
                     "upgrade or purchase credits.");
  }
  return openai(429,
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota", R"("insufficient_quota")");
}

HttpErrorResponse auth_error(ProviderApi api) {
  if (api == ProviderApi::anthropic) return anthropic(401, "authentication_error", "invalid x-api-key");
  return openai(401, "Incorrect API key provided.", "invalid_request_error", R"("invalid_api_key")");
}

HttpErrorResponse server_error(ProviderApi api, int status) {
  if (api == ProviderApi::anthropic) {
    if (status == 529) return anthropic(529, "overloaded_error", "Overloaded");
    return anthropic(status, "api_error", "Internal server error");
  }
  if (status == 502 || status == 503) return {status, nginx_page(status)};
  return openai(status, "The server had an error while processing your request. Sorry about that!", "server_error",
                "null");
}

HttpErrorResponse content_filter_error(ProviderApi api) {
  if (api == ProviderApi::anthropic) {
    return anthropic(400, "invalid_request_error", "Output blocked by content filtering policy");
  }
  return openai(400,
                "Your request was rejected as a result of our safety system. Your prompt may contain text that is "
                "not allowed by our safety system.",
                "invalid_request_error", R"("content_policy_violation")");
}

HttpErrorResponse prefill_refused(ProviderApi api) {
  if (api == ProviderApi::anthropic) {
    return anthropic(400, "invalid_request_error", "This model does not support assistant message prefill.");
  }
  return openai(400, "This model does not support continuing a partial assistant message.", "invalid_request_error",
                "null", R"("messages")");
}

HttpErrorResponse malformed_success(ProviderApi api) {
  if (api == ProviderApi::anthropic) {
    return {200, R"({"id":"msg_sim","type":"message","role":"assistant","content":[{"type":"text","text":"The answer)"};
  }
  return {200, R"({"id":"chatcmpl-sim","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"The answer)"};
}

}  // namespace keel::sim
