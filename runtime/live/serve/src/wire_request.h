// serve/src/wire_request.h — reading an OpenAI chat-completions or Anthropic Messages request
// body into the runtime's provider-neutral ChatRequest (internal to keel serve).
//
// Purpose: the server counts a request's prompt tokens with the runtime's own
// ApproxTokenCounter and feeds the scenario's ScriptedResponder, so it needs the messages as
// keel::model::Message values, whatever the wire format.
//
// Contract:
//  - OpenAI: `messages` (array, required; each `role` + `content` as a string, null or an
//    array of parts whose `text` fields count), `tool_calls` (function name + arguments),
//    `tool_call_id`, `name`; `tools` (function names); `stream`; `stream_options.include_usage`;
//    `max_tokens` / `max_completion_tokens`; `model`.
//  - Anthropic: `messages` (array, required), `system` (string or text blocks) becomes a
//    leading system message, content blocks `text`, `tool_use` (name + input as JSON text),
//    `tool_result` (its content, text or blocks); `tools`; `stream`; `max_tokens`; `model`.
//  - Anything that is not such a JSON object gives an error message saying what is wrong
//    (never throws, never crashes). Unknown fields are ignored, as the real APIs do.
//  - Nesting deeper than kMaxRequestDepth (arrays and objects, anywhere in the body) is refused
//    with an error naming the bound; no step recurses deeper than that. Time and memory are
//    linear in the body's size (the server bounds the body: fault_server.h).
//
// Example:
//   WireRequest r = parse_wire_request(model::ProviderApi::openai, body);
//   if (!r.error.empty()) return bad_request(r.error);
//   int tokens = model::ApproxTokenCounter{}.count(r.chat.messages);
#pragma once

#include <string>
#include <string_view>

#include "keel/core/json_document.h"
#include "keel/model/message.h"
#include "keel/model/transport.h"

namespace keel::live::serve {

// Deepest nesting of arrays and objects a request body may have (real requests nest < 20).
inline constexpr int kMaxRequestDepth = JsonDocument::kMaxDepth;

struct WireRequest {
  model::ChatRequest chat;     // messages, tools (names), model, max_output_tokens, stream
  bool include_usage = false;  // OpenAI stream_options.include_usage
  std::string error;           // non-empty: the body is not a valid request (400)
};

WireRequest parse_wire_request(model::ProviderApi api, std::string_view body);

}  // namespace keel::live::serve
