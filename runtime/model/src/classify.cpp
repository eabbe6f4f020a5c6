#include "keel/model/classify.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <string>

#include "keel/core/json_document.h"
#include "keel/core/scrub_secret.h"

namespace keel::model {

std::string_view to_string(ProviderApi api) noexcept {
  return api == ProviderApi::anthropic ? "anthropic" : "openai";
}

namespace {

// The structured fields of an error body, if it has them.
struct ErrorBody {
  std::string code;     // OpenAI error.code
  std::string type;     // OpenAI error.type / Anthropic error.type
  std::string message;  // error.message
};

std::string string_field(const JsonDocument& doc, const JsonValue& obj, std::string_view key) {
  const JsonValue* v = doc.member(obj, key);
  return v && v->is_string() ? std::string(v->text) : std::string{};
}

// (A body nested deeper than JsonDocument::kMaxDepth has no structured fields here.)
std::optional<ErrorBody> parse_error_body(std::string_view body) {
  thread_local JsonDocument doc;  // reused: a parse allocates nothing once warm
  std::optional<ErrorBody> out;
  if (doc.parse(body) && doc.root().is_object()) {
    const JsonValue* error = doc.member(doc.root(), "error");
    if (error && error->is_object()) {
      out = ErrorBody{string_field(doc, *error, "code"), string_field(doc, *error, "type"),
                      string_field(doc, *error, "message")};
    }
  }
  doc.trim(256);  // after the copies: keeps no decoded string, nor the nodes of a huge body
  return out;
}

std::string_view::size_type find_ci(std::string_view text, std::string_view needle) {
  auto it = std::search(text.begin(), text.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it == text.end() ? std::string_view::npos : static_cast<std::string_view::size_type>(it - text.begin());
}

bool contains_ci(std::string_view text, std::string_view needle) { return find_ci(text, needle) != std::string_view::npos; }

// The positive integer right after `marker` in `text` (spaces skipped), or 0.
std::int64_t number_after(std::string_view text, std::string_view marker) {
  const auto at = find_ci(text, marker);
  if (at == std::string_view::npos) return 0;
  std::string_view rest = text.substr(at + marker.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
  return ec == std::errc{} && n > 0 ? n : 0;
}

// The window (and the prompt's size) a context-length refusal states, in the provider's tokens:
// OpenAI "maximum context length is N tokens. However, your messages resulted in P tokens" (or
// "you requested P tokens"); Anthropic "prompt is too long: P tokens > N maximum".
std::optional<StatedContext> stated_context(ProviderApi api, std::string_view message) {
  StatedContext c;
  if (api == ProviderApi::anthropic) {
    c.prompt_tokens = number_after(message, "prompt is too long:");
    c.window = number_after(message, "tokens >");
  } else {
    c.window = number_after(message, "maximum context length is");
    c.prompt_tokens = number_after(message, "resulted in");
    if (c.prompt_tokens == 0) c.prompt_tokens = number_after(message, "you requested");
  }
  if (c.window == 0) return std::nullopt;
  return c;
}

// Per-provider message-text table: only for failures that carry no structured code.
// Each row: (status the text may appear with, 0 = any), text fragment, resulting code.
struct TextRule {
  int status;
  std::string_view fragment;
  ErrorCode code;
};

constexpr std::array kOpenAiText = {
    // Some OpenAI-compatible servers omit error.code; the quota text must never become overflow.
    TextRule{429, "exceeded your current quota", ErrorCode::quota_exhausted},
    TextRule{400, "maximum context length", ErrorCode::context_overflow},
    TextRule{400, "context length", ErrorCode::context_overflow},
};

constexpr std::array kAnthropicText = {
    TextRule{400, "prompt is too long", ErrorCode::context_overflow},
    TextRule{400, "credit balance is too low", ErrorCode::quota_exhausted},
    // Anthropic has no error type of its own for a policy refusal: the text is the signal
    // (status 0: it also comes as a mid-stream error event of a 200).
    TextRule{0, "content filtering policy", ErrorCode::content_filter},
};

template <std::size_t N>
std::optional<ErrorCode> match_text(const std::array<TextRule, N>& table, int status, std::string_view message) {
  for (const TextRule& r : table) {
    if ((r.status == 0 || r.status == status) && contains_ci(message, r.fragment)) return r.code;
  }
  return std::nullopt;
}

std::optional<ErrorCode> classify_openai(int status, const ErrorBody& b) {
  if (b.code == "insufficient_quota" || b.type == "insufficient_quota") return ErrorCode::quota_exhausted;
  if (b.code == "content_policy_violation" || b.code == "content_filter") return ErrorCode::content_filter;
  if (b.code == "context_length_exceeded" || b.code == "string_above_max_length") return ErrorCode::context_overflow;
  if (b.code == "rate_limit_exceeded" || b.type == "rate_limit_error") return ErrorCode::rate_limited;
  if (b.code == "invalid_api_key" || b.type == "authentication_error") return ErrorCode::auth;
  if (b.type == "server_error") return ErrorCode::server_error;
  return match_text(kOpenAiText, status, b.message);
}

std::optional<ErrorCode> classify_anthropic(int status, const ErrorBody& b) {
  const std::string& t = b.type;
  if (t == "invalid_request_error") {
    return match_text(kAnthropicText, status, b.message).value_or(ErrorCode::invalid_request);
  }
  if (t == "authentication_error" || t == "permission_error") return ErrorCode::auth;
  if (t == "not_found_error" || t == "request_too_large") return ErrorCode::invalid_request;
  if (t == "rate_limit_error") return ErrorCode::rate_limited;
  if (t == "api_error" || t == "overloaded_error") return ErrorCode::server_error;
  if (t == "billing_error") return ErrorCode::quota_exhausted;
  return match_text(kAnthropicText, status, b.message);
}

}  // namespace

ErrorCode classify_status(int status) noexcept {
  if (status == 401 || status == 403) return ErrorCode::auth;
  if (status == 408) return ErrorCode::timeout;
  if (status == 409) return ErrorCode::server_error;  // lock contention; the SDKs retry it
  if (status == 429) return ErrorCode::rate_limited;
  if (status >= 500 && status <= 599) return ErrorCode::server_error;
  if (status >= 400 && status <= 499) return ErrorCode::invalid_request;
  if (status >= 200 && status <= 299) return ErrorCode::malformed_response;  // "failed" 2xx
  return ErrorCode::network;  // no HTTP status at all, or a status no API uses
}

Error classify_failure(ProviderApi api, std::string_view provider, const HttpFailure& f) {
  ErrorCode code = classify_status(f.status);
  std::string message;
  std::optional<StatedContext> context;
  if (auto body = parse_error_body(f.body)) {
    const auto structured = api == ProviderApi::anthropic ? classify_anthropic(f.status, *body)
                                                          : classify_openai(f.status, *body);
    if (structured) code = *structured;
    if (code == ErrorCode::context_overflow) context = stated_context(api, body->message);  // before the cut
    message = scrub_secret(body->message, Secret{}, f.max_message_bytes);  // no secret here: the UTF-8-safe cut
  }
  if (message.empty()) message = "HTTP " + std::to_string(f.status);
  Error e{code, std::move(message)};
  e.http_status = f.status;
  e.provider = std::string(provider);
  if (f.retry_after) e.retry_after = f.retry_after;
  e.should_retry = f.should_retry;
  e.stated_context = context;
  return e;
}

}  // namespace keel::model
