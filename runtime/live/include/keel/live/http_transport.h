// keel/live/http_transport.h — HttpModelTransport: a real provider behind keel::model::ModelTransport.
//
// Purpose: the production half of "two worlds, one runtime" (docs/architecture.md): an OpenAI-compatible
// chat-completions endpoint or the Anthropic Messages API over HttpClient, with the same
// error classification as the simulator's mock providers (model/classify.h).
//
// Contract:
//  - Endpoint: OpenAI `POST {base_url}/chat/completions` with `authorization: Bearer KEY`;
//    Anthropic `POST {base_url}/messages` with `x-api-key: KEY` and `anthropic-version`.
//    The key is a keel::Secret, revealed only by HttpClient while writing the request (and
//    here, to scrub it from error text, see below).
//  - `request.stream` selects SSE streaming (TTFB and idle-gap timeouts then apply per chunk);
//    the answer is the assembled ChatResponse either way. `stream()` hands each SSE event to
//    the caller's sink instead (the ModelManager decodes it with model/stream.h and applies
//    its first-token and idle limits); a connection closed before the body ended is
//    `network`, a clean end is ok (the decoder decides completeness: a complete answer
//    without `[DONE]` is accepted).
//  - `supports_prefill` (info): ProviderConfig::supports_prefill, default true for the
//    Anthropic API (assistant prefill) and false for OpenAI-compatible endpoints.
//  - A non-2xx response is `classify_failure(api, name, {status, body, retry-after(-ms),
//    x-should-retry})` — the exact result the simulator produces for the same status and
//    body. A malformed body, a stream cut short or a mid-stream error event is a classified
//    error, never an exception. Transport failures (timeout, network, cancelled) come from
//    HttpClient. Every error carries the provider name.
//  - The API key never appears in an Error: if a server echoes it, it is replaced by
//    "[redacted]" before the error leaves the transport, and only then is each message cut to
//    model::kMaxErrorMessageBytes (200), without a trailing piece of the key (scrub_secret in
//    core/secret.h; keys shorter than 8 bytes are scrubbed only as whole tokens).
//  - Cancellation of the awaiting task closes the socket and returns `cancelled`.
//  - The client must outlive the transport; single-threaded like the client.
//
// Example:
//   live::HttpClient http{sched};
//   live::HttpModelTransport openai{http, {.name = "openai", .api = model::ProviderApi::openai,
//       .base_url = "https://api.openai.com/v1", .api_key = key, .model = "gpt-4o-mini"}};
//   Result<model::ChatResponse> r = co_await openai.complete(std::move(request));
#pragma once

#include <optional>
#include <string>

#include "keel/core/secret.h"
#include "keel/live/http_client.h"
#include "keel/model/transport.h"

namespace keel::live {

struct ProviderConfig {
  std::string name;                        // provider/target name in errors and reports
  model::ProviderApi api = model::ProviderApi::openai;
  std::string base_url;                    // e.g. https://api.openai.com/v1, https://api.anthropic.com/v1
  Secret api_key;
  std::string model;                       // default model id
  int context_window = 128000;
  std::string anthropic_version = "2023-06-01";
  std::optional<bool> supports_prefill;    // unset: the API's (anthropic yes, openai no)
};

class HttpModelTransport final : public model::ModelTransport {
 public:
  // Throws std::invalid_argument on a base_url that does not parse (configuration error).
  HttpModelTransport(HttpClient& client, ProviderConfig config);

  const model::TransportInfo& info() const noexcept override { return info_; }
  Task<Result<model::ChatResponse>> complete(model::ChatRequest request) override;
  // The SSE events of a streamed answer to `events`, parsed off the socket as they arrive.
  Task<Status> stream(model::ChatRequest request, model::StreamSink& events) override;

 private:
  Result<HttpRequest> build(const model::ChatRequest& request) const;
  Error status_error(const HttpResponse& response) const;  // a non-2xx answer, classified
  Error finish_error(Error e) const;

  HttpClient& client_;
  ProviderConfig config_;
  Url url_;
  model::TransportInfo info_;
};

}  // namespace keel::live
