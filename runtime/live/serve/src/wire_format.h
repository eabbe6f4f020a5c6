// serve/src/wire_format.h — the bytes keel serve answers with: success bodies and SSE frames
// exactly as OpenAI chat completions and Anthropic Messages frame them, plus the request-level
// error bodies (bad JSON, unknown URL) in each API's error shape (internal to keel serve).
//
// Contract (pure functions of their arguments):
//  - OpenAI non-streaming: a `chat.completion` object (choices[0].message with content and/or
//    tool_calls, finish_reason, usage). Anthropic non-streaming: a `message` object (text and
//    tool_use content blocks, stop_reason, usage).
//  - Streams: the events are sim::stream_script's (the simulator's own encoder, so the wire and
//    the simulator send the same events: one chunk or content_block_delta per token of 4 bytes
//    (fewer where a UTF-8 character would be split), the finish, the usage, the sentinel);
//    `stream_script` fills it from a WireAnswer (the OpenAI usage chunk only when the request
//    asked for it). `sse_frame` frames one event as
//    the API does: OpenAI `data: {...}\n\n` (unnamed events), Anthropic
//    `event: <type>\ndata: {...}\n\n`.
//
// Example:
//   sim::StreamScript s = stream_script(model::ProviderApi::openai, answer, /*include_usage=*/false);
//   // sse_frame(s.events.back().event) == "data: [DONE]\n\n"
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "keel/model/message.h"
#include "keel/model/stream.h"
#include "keel/model/transport.h"
#include "keel/sim/provider_errors.h"
#include "keel/sim/stream_script.h"

namespace keel::live::serve {

struct WireAnswer {
  std::string id;               // chatcmpl-... / msg_...
  std::string model;            // echoed from the request, or the provider's name
  std::int64_t created = 0;     // unix seconds (OpenAI `created`)
  model::Message message;       // the assistant's answer
  model::FinishReason finish_reason = model::FinishReason::stop;
  int prompt_tokens = 0;
  int output_tokens = 0;
};

std::string openai_completion_body(const WireAnswer& a);
std::string anthropic_message_body(const WireAnswer& a);
std::string completion_body(model::ProviderApi api, const WireAnswer& a);

sim::StreamScript stream_script(model::ProviderApi api, const WireAnswer& a, bool include_usage);
std::string sse_frame(const model::StreamEvent& e);

// Request-level errors in the API's shape: 400 invalid_request_error, 404 (unknown URL or
// provider), 405 (not POST). `message` is escaped.
sim::HttpErrorResponse invalid_request(model::ProviderApi api, int status, std::string_view message);

}  // namespace keel::live::serve
