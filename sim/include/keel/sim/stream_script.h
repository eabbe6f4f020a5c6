// keel/sim/stream_script.h — the events of one streamed answer, as the real APIs send them.
//
// Purpose: the mock providers stream token by token (mock_provider.h); this builds the
// events they send, in the exact shapes of OpenAI chat-completion chunks and Anthropic
// Messages events, so the runtime reads them with the same decoder as a live stream
// (keel/model/stream.h). keel serve may frame the same events as SSE.
//
// Contract:
//  - OpenAI: a role chunk (`delta: {role, content: ""}`), one chunk per token (a 4-byte
//    piece of the content — ApproxTokenCounter's token — cut back to a UTF-8 character
//    boundary, as real APIs never split a character; or one whole tool call), a chunk
//    with `finish_reason`, a usage chunk (`choices: []`) when `include_usage` (the request's
//    `stream_options.include_usage`; keel's transport always asks for it), then `[DONE]`.
//    `created` is the chunks' `created` (unix seconds; 0 in the simulator).
//  - Anthropic: message_start (id, model, input tokens), content_block_start (text) and
//    ping, one content_block_delta per token (text_delta, or a tool_use block's whole
//    input_json_delta between its content_block_start and content_block_stop),
//    content_block_stop, message_delta (stop_reason, output tokens), message_stop.
//  - `events[i].token` marks the answer tokens (the content deltas the decoder counts);
//    usage's completion tokens equal their number. `terminator` is the index of the end
//    sentinel (always the last event). `malformed_event` is one event whose data is not JSON.
//  - `event_of_token(s, n)`: the index of the event carrying token n (0-based), where a fault
//    "after n tokens" / "before token n + 1" strikes; past the last token, the first event after
//    it (the finish); with no token at all, the first closing event (finish / message_delta).
//  - Pure; the JSON is built by hand (no library) and escapes every string.
//
// Example:
//   StreamScript s = stream_script(model::ProviderApi::openai, {.id = "chatcmpl-1", .model = "gpt",
//                                  .message = model::Message::assistant("abcdefgh"), .prompt_tokens = 9});
//   // s.tokens == 2; s.events.back().event.data == "[DONE]"
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "keel/model/message.h"
#include "keel/model/stream.h"
#include "keel/model/transport.h"

namespace keel::sim {

struct StreamAnswer {
  std::string id;
  std::string model;
  model::Message message;
  model::FinishReason finish_reason = model::FinishReason::stop;
  int prompt_tokens = 0;
  std::int64_t created = 0;   // OpenAI chunks' `created`
  bool include_usage = true;  // OpenAI: the usage chunk before [DONE]
};

struct ScriptedEvent {
  model::StreamEvent event;
  bool token = false;  // an answer token (content delta)
};

struct StreamScript {
  std::vector<ScriptedEvent> events;
  int tokens = 0;               // events with token == true
  std::size_t terminator = 0;   // index of the end sentinel ([DONE] / message_stop): the last
};

StreamScript stream_script(model::ProviderApi api, const StreamAnswer& answer);
model::StreamEvent malformed_event(model::ProviderApi api);
std::size_t event_of_token(const StreamScript& s, std::int64_t n);

}  // namespace keel::sim
