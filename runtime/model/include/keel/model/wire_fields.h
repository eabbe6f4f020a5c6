// keel/model/wire_fields.h — reading provider JSON (OpenAI chat completions, Anthropic
// Messages) field by field: the small accessors and mappings shared by the stream decoder
// (stream.h, here) and the live transport's whole-body decoder (live/provider_codec.h).
//
// Purpose: one reading of the providers' fields for every decoder, so a whole answer and a
// streamed one are understood alike (finish reasons, usage, error objects).
//
// Contract: pure functions over a parsed JsonDocument (keel/core/json_document.h). A missing
// or mistyped field gives the fallback, never an error; integers outside 0..1e9 give the
// fallback (a hostile count must not overflow an int). `error_object` classifies a body whose
// root has an `error` object as if it came with `status` (model/classify.h).
//
// Example:
//   JsonDocument doc;
//   if (doc.parse(text) && doc.root().is_object())
//     int n = wire::int_or(doc, doc.root(), "completion_tokens");
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "keel/core/error.h"
#include "keel/core/json_document.h"
#include "keel/model/classify.h"
#include "keel/model/message.h"
#include "keel/model/transport.h"

namespace keel::model::wire {

inline std::string string_or(const JsonDocument& doc, const JsonValue& obj, std::string_view key,
                             std::string_view fallback = {}) {
  const JsonValue* v = doc.member(obj, key);
  return std::string(v && v->is_string() ? v->text : fallback);
}
inline std::string_view view_or(const JsonDocument& doc, const JsonValue& obj, std::string_view key,
                                std::string_view fallback = {}) {
  const JsonValue* v = doc.member(obj, key);
  return v && v->is_string() ? v->text : fallback;
}
inline int int_or(const JsonDocument& doc, const JsonValue& obj, std::string_view key, int fallback = 0) {
  const JsonValue* v = doc.member(obj, key);
  if (!v || !v->is_integer()) return fallback;
  const std::int64_t n = v->integer;
  return n < 0 || n > 1'000'000'000 ? fallback : static_cast<int>(n);
}

FinishReason openai_finish(std::string_view reason) noexcept;
FinishReason anthropic_finish(std::string_view reason) noexcept;

// A body (or stream event) whose root has an `error` object: its classified Error, the message
// cut to `max_message_bytes` (the live whole-body path passes npos: its transport scrubs the
// API key out of the message before cutting it, so a cut can never leave half a key).
std::optional<Error> error_object(ProviderApi api, const JsonDocument& doc, std::string_view text, int status,
                                  std::size_t max_message_bytes = kMaxErrorMessageBytes);

inline Error malformed(std::string what) { return Error{ErrorCode::malformed_response, std::move(what)}; }

}  // namespace keel::model::wire
