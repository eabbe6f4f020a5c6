// keel/model/stream.h — streamed answers: events in, the assembled answer out.
//
// Purpose: the ONE reading of provider stream events (OpenAI `chat.completion.chunk` data
// lines, Anthropic Messages events) into an answer, used by every transport: the live HTTP
// transport feeds it the SSE events it parses off the socket, the simulator's mock providers
// feed it the events they produce in virtual time. So a simulated stream fault exercises the
// same decisions a real one does. The ModelManager (model_manager.h) drives it through a
// StreamSink and applies the stream policies (first-token and idle timeouts, recovery).
//
// Contract:
//  - StreamEvent is one server-sent event: its `event:` type ("message" when absent) and its
//    joined `data:` lines.
//  - A transport streaming an answer calls `StreamSink::on_event` once per event, in arrival
//    order; a non-ok status from the sink ends the stream with that error.
//  - StreamDecoder::on_event: a mid-stream error event is a classified Error (classify.h),
//    `content_filter` included. A malformed event (not JSON, or not the API's shape) is
//    skipped and counted, one count per event: it carries nothing the decoder could have
//    read, and the answer it belongs to is accepted only if the provider's usage proves no
//    content was lost (below). Anything after the end sentinel is ignored.
//  - StreamDecoder::finish (the body ended cleanly) returns the answer only when it is
//    complete: its finish reason arrived (OpenAI `finish_reason`, Anthropic `message_delta`
//    `stop_reason`). The end sentinel (`data: [DONE]`, `message_stop`) is not required: a
//    complete answer without it is accepted with its usage. When events were skipped, the
//    answer is accepted only if the provider reported usage and its completion tokens equal
//    the content deltas received; otherwise malformed_response (a skip never silently drops
//    content). Any other end is malformed_response ("stream ended before its finish reason").
//  - Content deltas: each event carrying answer text or a tool-call fragment counts one.
//    `progress()` says what arrived so far; `partial_content()` is the text received so far.
//  - The answer carries the provider's response id, model, usage, finish reason,
//    `answer_tokens` (content deltas received), `streamed` and `skipped_events`.
//  - Pure: no I/O, no clock; never throws on any input (fuzzed through the live target).
//
// Example:
//   std::unique_ptr<StreamDecoder> d = make_stream_decoder(ProviderApi::openai);
//   d->on_event({"message", R"({"choices":[{"index":0,"delta":{"content":"Hi"}}]})"});
//   d->on_event({"message", R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})"});
//   Result<ChatResponse> r = d->finish();   // "Hi", finish stop — no [DONE] needed
#pragma once

#include <memory>
#include <string>

#include "keel/core/result.h"
#include "keel/model/message.h"
#include "keel/model/transport.h"

namespace keel::model {

struct StreamEvent {
  std::string event = "message";
  std::string data;
  friend bool operator==(const StreamEvent&, const StreamEvent&) = default;
};

class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual Status on_event(const StreamEvent& event) = 0;
};

struct StreamProgress {
  bool opened = false;     // at least one event arrived
  int content_deltas = 0;  // events that carried answer content
  bool finished = false;   // the finish reason arrived
  bool terminated = false; // the end sentinel arrived
  int skipped = 0;         // malformed events skipped
};

class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  virtual Status on_event(const StreamEvent& event) = 0;
  virtual Result<ChatResponse> finish() = 0;
  virtual std::string partial_content() const = 0;
  const StreamProgress& progress() const noexcept { return progress_; }

 protected:
  Result<ChatResponse> complete(ChatResponse r) const;  // the completeness rules above
  StreamProgress progress_;
};

std::unique_ptr<StreamDecoder> make_stream_decoder(ProviderApi api);

}  // namespace keel::model
