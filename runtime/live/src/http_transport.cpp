#include "keel/live/http_transport.h"

#include <chrono>
#include <stdexcept>

#include "keel/core/scrub_secret.h"
#include "keel/live/provider_codec.h"
#include "keel/live/sse_parser.h"
#include "keel/model/classify.h"
#include "keel/policy/retry_after.h"

namespace keel::live {

namespace {

std::optional<std::string_view> view(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  return std::string_view(*s);
}

}  // namespace

HttpModelTransport::HttpModelTransport(HttpClient& client, ProviderConfig config)
    : client_(client), config_(std::move(config)) {
  Result<Url> url = Url::parse(config_.base_url);
  if (!url) throw std::invalid_argument("provider " + config_.name + ": " + url.error().message);
  url_ = std::move(*url);
  info_ = {config_.name, config_.api, config_.context_window, config_.model,
           config_.supports_prefill.value_or(config_.api == model::ProviderApi::anthropic)};
}

Error HttpModelTransport::finish_error(Error e) const {
  e.provider = config_.name;
  // A server may echo the key back in its message; it must never leave the transport. Scrub
  // the whole message, then cut it (cut first, a key straddling the cut would survive in part).
  for (Error* link = &e; link;) {
    link->message = scrub_secret(link->message, config_.api_key, model::kMaxErrorMessageBytes);
    if (!link->cause) break;
    auto copy = std::make_shared<Error>(*link->cause);
    link->cause = copy;
    link = copy.get();
  }
  return e;
}

Result<HttpRequest> HttpModelTransport::build(const model::ChatRequest& request) const {
  const bool anthropic = config_.api == model::ProviderApi::anthropic;
  Result<std::string> body = encode_request(config_.api, request, config_.model);
  if (!body) return std::move(body).error();
  HttpRequest http;
  http.url = url_;
  http.target = url_.path + (anthropic ? "/messages" : "/chat/completions");
  http.body = std::move(*body);
  http.headers.emplace_back("content-type", "application/json");
  http.headers.emplace_back("accept", request.stream ? "text/event-stream" : "application/json");
  if (anthropic) {
    http.headers.emplace_back("anthropic-version", config_.anthropic_version);
    http.secret_headers.push_back({"x-api-key", "", config_.api_key});
  } else {
    http.secret_headers.push_back({"authorization", "Bearer ", config_.api_key});
  }
  return http;
}

Error HttpModelTransport::status_error(const HttpResponse& r) const {
  std::optional<std::int64_t> now_unix;
  if (r.date) now_unix = policy::parse_http_date(*r.date);
  if (!now_unix) {
    now_unix = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
  }
  const policy::RetryHints hints = policy::retry_hints(
      {.retry_after_ms = view(r.retry_after_ms), .retry_after = view(r.retry_after), .should_retry = view(r.should_retry)},
      now_unix);
  model::HttpFailure failure{.status = r.status, .body = r.body, .retry_after = hints.retry_after,
                             .should_retry = hints.should_retry, .max_message_bytes = std::string_view::npos};
  return finish_error(model::classify_failure(config_.api, config_.name, failure));
}

Task<Result<model::ChatResponse>> HttpModelTransport::complete(model::ChatRequest request) {
  Result<HttpRequest> http = build(request);
  if (!http) co_return finish_error(std::move(http).error());

  SseParser sse;
  std::unique_ptr<StreamDecoder> decoder = request.stream ? make_stream_decoder(config_.api) : nullptr;
  BodySink sink = [&sse, &decoder](std::string_view chunk) -> Status {
    Result<std::vector<SseEvent>> events = sse.feed(chunk);
    if (!events) return std::move(events).error();
    for (const SseEvent& e : *events) {
      if (Status s = decoder->on_event(e); !s) return s;
    }
    return {};
  };
  BodySink* stream_sink = request.stream ? &sink : nullptr;
  Result<HttpResponse> response = co_await client_.send(std::move(*http), stream_sink);
  if (!response) co_return finish_error(std::move(response).error());

  const HttpResponse& r = *response;
  if (r.status < 200 || r.status > 299) co_return status_error(r);

  Result<model::ChatResponse> answer = r.streamed ? decoder->finish() : decode_response(config_.api, r.body, r.status);
  if (!answer) co_return finish_error(std::move(answer).error());
  answer->provider = config_.name;
  if (answer->model.empty()) answer->model = request.model.empty() ? config_.model : request.model;
  co_return answer;
}

Task<Status> HttpModelTransport::stream(model::ChatRequest request, model::StreamSink& events) {
  request.stream = true;
  Result<HttpRequest> http = build(request);
  if (!http) co_return finish_error(std::move(http).error());
  // The SSE framing is the transport's; what the events mean is the runtime's (events.on_event).
  SseParser sse;
  BodySink sink = [&sse, &events](std::string_view chunk) -> Status {
    Result<std::vector<SseEvent>> parsed = sse.feed(chunk);
    if (!parsed) return std::move(parsed).error();
    for (const SseEvent& e : *parsed) {
      if (Status s = events.on_event(e); !s) return s;
    }
    return {};
  };
  Result<HttpResponse> response = co_await client_.send(std::move(*http), &sink);
  if (!response) co_return finish_error(std::move(response).error());
  const HttpResponse& r = *response;
  if (r.status < 200 || r.status > 299) co_return status_error(r);
  if (!r.streamed) co_return finish_error(Error{ErrorCode::malformed_response, "asked for a stream, got a whole body"});
  co_return Status{};
}

}  // namespace keel::live
