// serve/src/wire_format.h — the bytes keel serve answers with: success bodies and SSE frames
// exactly as OpenAI chat completions and Anthropic Messages frame them, plus the request-level
// error bodies (bad JSON, unknown URL) in each API's error shape (internal to keel serve).
//
// Contract (pure functions of their arguments):
//  - OpenAI non-streaming: a `chat.completion` object (choices[0].message with content and/or
//    tool_calls, finish_reason, usage). Streaming: `data: {chat.completion.chunk}\n\n` frames —
//    a role delta, content deltas, one delta per tool call, a final delta carrying
//    finish_reason, a usage chunk (`choices: []`) when include_usage — then `data: [DONE]\n\n`.
//  - Anthropic non-streaming: a `message` object (text and tool_use content blocks,
//    stop_reason, usage). Streaming: `event: <type>\ndata: {...}\n\n` frames — message_start,
//    content_block_start / ping / content_block_delta (text_delta, input_json_delta) /
//    content_block_stop per block, message_delta (stop_reason, usage), message_stop.
//  - Content is cut into at most 16 deltas of >= 64 bytes each (on byte boundaries: the
//    scripted answers are ASCII). `malformed_stream_frames`: the first frame, then one frame
//    whose JSON is cut off, then the normal end ([DONE] / message_stop).
//
// Example:
//   std::vector<std::string> frames = openai_stream_frames(answer, /*include_usage=*/false);
//   // frames.back() == "data: [DONE]\n\n"
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keel/model/message.h"
#include "keel/model/transport.h"
#include "keel/sim/provider_errors.h"

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
std::vector<std::string> openai_stream_frames(const WireAnswer& a, bool include_usage);
std::string anthropic_message_body(const WireAnswer& a);
std::vector<std::string> anthropic_stream_frames(const WireAnswer& a);

std::string completion_body(model::ProviderApi api, const WireAnswer& a);
std::vector<std::string> stream_frames(model::ProviderApi api, const WireAnswer& a, bool include_usage);
std::vector<std::string> malformed_stream_frames(model::ProviderApi api, const WireAnswer& a);

// The content pieces a stream sends (exposed for tests): concatenated they are `text`.
std::vector<std::string_view> content_pieces(std::string_view text);

// Request-level errors in the API's shape: 400 invalid_request_error, 404 (unknown URL or
// provider), 405 (not POST). `message` is escaped.
sim::HttpErrorResponse invalid_request(model::ProviderApi api, int status, std::string_view message);

}  // namespace keel::live::serve
