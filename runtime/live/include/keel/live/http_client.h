// keel/live/http_client.h — HttpClient: HTTP/1.1 over TCP or TLS with timeouts and a keep-alive pool.
//
// Purpose: the wire under the provider transports. It resolves, connects, verifies TLS,
// sends one request and reads the response — whole, or streamed chunk by chunk to a sink —
// and turns every way that can go wrong into a classified keel Error. No proxy support.
//
// Contract:
//  - TLS verification is on: the peer certificate must chain to the system CA store (or to
//    `ca_file` when given) and match the host name (RFC 6125, via host_name_verification);
//    SNI is sent for host names. A failed verification is ErrorCode::network with
//    should_retry = false (retrying cannot fix a certificate). TLS 1.2 minimum.
//  - Plain http:// is allowed only to loopback hosts unless `allow_insecure_http`; otherwise
//    invalid_request.
//  - Timeouts (each also capped by `total` and by the awaiting task's deadline):
//    `connect` covers DNS + TCP connect + TLS handshake; `first_byte` runs from the start of
//    the request write to the end of the final response header; `idle` is the longest gap
//    between two body reads of a whole body, `stream_idle` of a streamed one (text/event-
//    stream: its gaps are the runtime's to judge, with its first-token and idle limits, so
//    this is only the dead-socket guard and must not be shorter than those); `total` is the
//    whole exchange. On expiry, or when the task is
//    cancelled, the socket is closed at once and the call returns ErrorCode::timeout
//    (message naming the phase) or ErrorCode::cancelled.
//  - Connection errors (refused, reset, EOF before a complete response, DNS failure) are
//    ErrorCode::network; unparseable HTTP or a body over `max_body_bytes` is
//    malformed_response. Errors never contain header values (so never a credential).
//  - Keep-alive: a connection whose response was read completely and allows keep-alive goes
//    back to a per-host idle pool of at most `max_idle_per_host` (oldest closed first). A
//    request on a reused connection that fails before any response byte is retried once on
//    a fresh connection (the server may have closed an idle connection).
//  - Interim 1xx responses (100 Continue, 103 Early Hints, ...) are read and skipped (RFC 9110
//    §15.2); 101 is returned as the final status (keel never asks for an upgrade).
//  - Streaming: when `sink` is given and the response is 2xx whose content-type media type is
//    text/event-stream (any case, parameters such as `; charset=utf-8` allowed), each body
//    chunk is passed to `sink` as it arrives (and not kept in `HttpResponse::body`); a sink
//    error closes the connection and is returned as is.
//  - The request head is written by the client: Host, User-Agent (a request header of the same
//    name replaces it, as does any later field of the same name), the caller's headers and
//    secret headers, and Content-Length (a caller's content-length or transfer-encoding is
//    ignored). Header text containing CR, LF or NUL, or a name with ':' or whitespace, is
//    invalid_request, before anything is sent.
//  - Cost: per request on a kept-alive plain connection, the head is written into a buffer the
//    connection reuses and sent with the body in one gather write, at once when the socket
//    takes it (else asynchronously); a body that arrived with the header is parsed without
//    another read.
//  - Secret headers are revealed only when the request is serialized onto the wire.
//  - Single-threaded: use from tasks on the AsioScheduler given at construction. Destroying
//    the client closes its idle connections; in-flight requests keep their connection alive
//    until they finish.
//
// Example:
//   live::HttpClient http{sched, {.timeouts = {.connect = 5s, .first_byte = 30s}}};
//   HttpRequest req{.url = *Url::parse("https://api.example.com"), .target = "/v1/x", .body = "{}"};
//   req.secret_headers.push_back({"authorization", "Bearer ", api_key});
//   Result<HttpResponse> r = co_await http.send(std::move(req));
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keel/core/result.h"
#include "keel/core/secret.h"
#include "keel/core/task.h"
#include "keel/live/asio_scheduler.h"
#include "keel/live/url.h"

namespace keel::live {

struct HttpTimeouts {
  Duration connect = std::chrono::seconds{10};
  Duration first_byte = std::chrono::seconds{60};
  Duration idle = std::chrono::seconds{30};
  // 10 min, the official SDKs' read timeout: a reasoning model's first token may take minutes
  // (keel_default's first_token is 60 s), and a stall is the runtime's stream idle limit.
  Duration stream_idle = std::chrono::minutes{10};
  Duration total = std::chrono::minutes{10};
};

struct HttpClientConfig {
  HttpTimeouts timeouts;
  std::size_t max_idle_per_host = 4;
  std::size_t max_body_bytes = 32u << 20;
  bool use_system_ca = true;     // trust the system CA store (set_default_verify_paths)
  std::string ca_file;           // PEM trust anchors to add (tests, private CAs)
  bool allow_insecure_http = false;  // plain http:// to non-loopback hosts
  std::string user_agent = "keel/0.1";
};

// A header whose value is a credential: written as `prefix + value.reveal()` on the wire only.
struct SecretHeader {
  std::string name;
  std::string prefix;
  Secret value;
};

struct HttpRequest {
  std::string method = "POST";
  Url url;
  std::string target;  // path (and query) sent on the request line, e.g. "/v1/chat/completions"
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<SecretHeader> secret_headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::string body;       // empty when streamed to a sink
  bool streamed = false;  // the body went to the sink
  std::string content_type;
  std::optional<std::string> retry_after;
  std::optional<std::string> retry_after_ms;
  std::optional<std::string> should_retry;  // x-should-retry
  std::optional<std::string> date;
};

// Receives streamed body chunks; an error stops the exchange.
using BodySink = std::function<Status(std::string_view chunk)>;

struct HttpClientCounters {
  std::uint64_t requests = 0;
  std::uint64_t connections_opened = 0;
  std::uint64_t connections_reused = 0;
  std::uint64_t stale_retries = 0;  // reused connection failed before any byte: retried fresh
};

class HttpClient {
 public:
  // Throws std::runtime_error if `ca_file` cannot be loaded (configuration error).
  HttpClient(AsioScheduler& scheduler, HttpClientConfig config = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Task<Result<HttpResponse>> send(HttpRequest request, BodySink* sink = nullptr);

  std::size_t idle_connections() const noexcept;
  void close_idle() noexcept;
  const HttpClientCounters& counters() const noexcept { return counters_; }
  const HttpClientConfig& config() const noexcept { return config_; }

  struct Connection;  // defined in http_client.cpp

 private:
  struct Tls;
  // Idle connections to one (scheme, host, port); looked up without building a key string.
  struct IdleHost {
    bool tls = false;
    std::string host;
    std::uint16_t port = 0;
    std::vector<std::shared_ptr<Connection>> conns;
  };
  Task<Result<std::shared_ptr<Connection>>> connect(const Url& url, Deadline deadline);
  Task<Result<HttpResponse>> exchange(std::shared_ptr<Connection> conn, const HttpRequest& request,
                                      BodySink* sink, Deadline total, bool* nothing_received);
  void put_idle(std::shared_ptr<Connection> conn);
  std::shared_ptr<Connection> take_idle(const Url& url);

  AsioScheduler& scheduler_;
  HttpClientConfig config_;
  std::unique_ptr<Tls> tls_;
  std::vector<IdleHost> idle_;
  HttpClientCounters counters_;
};

}  // namespace keel::live
