// keel/live/provider_codec.h — provider wire formats: request bodies, response bodies, streams.
//
// Purpose: map keel::model messages to and from the OpenAI chat-completions and Anthropic
// Messages JSON formats, whole or streamed (SSE events, see sse_parser.h). Pure functions and
// small state machines: no I/O, no Asio, so they are unit-tested and fuzzed directly.
//
// Contract:
//  - `encode_request`: the request body. Tool-call arguments and tool parameter schemas are
//    JSON text in keel messages; text that is not valid JSON is ErrorCode::invalid_request.
//    Both are written as nlohmann re-serializes them; a schema is parsed once per thread (the
//    codec keeps the result by schema text), arguments on every request.
//    OpenAI: system/user/assistant/tool messages as they are, `max_tokens`, tools as
//    `{"type":"function",...}`, and for streams `stream_options.include_usage`. Anthropic:
//    system messages joined into `system`, tool calls as `tool_use` blocks, consecutive tool
//    results as one user message of `tool_result` blocks.
//  - `decode_response`: a 2xx body to a ChatResponse (content, tool calls, finish reason,
//    usage, model). A body that is not the expected shape is malformed_response; a body that
//    is an error object is classified (model/classify.h) as if it came with `status`.
//  - Streams: the decoder is keel::model's (keel/model/stream.h), shared with the simulator;
//    `StreamDecoder` and `make_stream_decoder` are re-exported here for the live code.
//  - Errors carry no provider name (the transport adds it) and never throw.
//
// Example:
//   auto decoder = make_stream_decoder(ProviderApi::anthropic);
//   for (const SseEvent& e : events) if (Status s = decoder->on_event(e); !s) return s.error();
//   Result<ChatResponse> r = decoder->finish();
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "keel/core/result.h"
#include "keel/live/sse_parser.h"
#include "keel/model/message.h"
#include "keel/model/stream.h"
#include "keel/model/transport.h"

namespace keel::live {

Result<std::string> encode_request(model::ProviderApi api, const model::ChatRequest& request,
                                   std::string_view default_model);

Result<model::ChatResponse> decode_response(model::ProviderApi api, std::string_view body, int status = 200);

using model::make_stream_decoder;
using model::StreamDecoder;

}  // namespace keel::live
