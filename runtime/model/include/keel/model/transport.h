// keel/model/transport.h — ModelTransport: one provider endpoint, request in, answer or Error out.
//
// Purpose: the seam between the runtime and the world. The simulator's mock provider and the
// live HTTPS transports (OpenAI-compatible, Anthropic) implement it; everything above —
// retries, breakers, the ModelManager, agents — only sees this interface.
//
// Contract:
//  - `complete` returns a ChatResponse or an Error classified by structure (classify.h):
//    code, HTTP status, provider name, retry-after. It never throws on provider failures.
//  - It honours the awaiting task's cancellation promptly (a live socket is closed) and
//    returns ErrorCode::cancelled. It does not apply timeouts or retries itself beyond the
//    transport-level ones it documents (connect, first byte): policies wrap it.
//  - `info()` is constant for the transport's lifetime.
//  - `stream(request, sink)` (request.stream set): the answer's stream events go to `sink`
//    as they arrive (stream.h); it returns when the body ended: ok on a clean end (the sink's
//    decoder then decides whether the answer is complete), else the transport's error — a
//    cut connection is `network`, a non-2xx answer is classified as for `complete`. It
//    applies no timeout of its own beyond connecting: the caller's stream policies
//    (ModelManager) do. A transport that cannot stream answers invalid_request.
//
// Example:
//   Result<ChatResponse> r = co_await transport.complete(request);
//   if (!r) log(r.error().describe());      // e.g. "rate_limited 429 (provider=openai, retry_after=2000ms)"
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "keel/core/result.h"
#include "keel/core/task.h"
#include "keel/model/message.h"

namespace keel::model {

enum class ProviderApi : std::uint8_t { openai, anthropic };
std::string_view to_string(ProviderApi api) noexcept;

struct TransportInfo {
  std::string name;                // provider/target name used in errors, events, reports
  ProviderApi api = ProviderApi::openai;
  int context_window = 128000;     // prompt tokens the model accepts
  std::string model;               // default model id
  // Accepts a request ending with a partial assistant message and continues it (a prefill).
  bool supports_prefill = false;
};

class StreamSink;

class ModelTransport {
 public:
  virtual ~ModelTransport() = default;
  virtual const TransportInfo& info() const noexcept = 0;
  virtual Task<Result<ChatResponse>> complete(ChatRequest request) = 0;
  virtual Task<Status> stream(ChatRequest request, StreamSink& sink);
};

}  // namespace keel::model
