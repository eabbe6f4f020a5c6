// keel/live/serve/fault_server.h — `keel serve` in process: a scenario's providers as real
// HTTP endpoints (OpenAI chat completions, Anthropic Messages) with its fault plan on the wire.
//
// Purpose: the live world's fault injector (docs/architecture.md, "Two worlds"). A client — keel's live
// transports, or an SDK no one here wrote — talks HTTP/1.1 (keep-alive, optional TLS) to
// 127.0.0.1 and meets real 429s with retry-after, 5xx bodies, hangs, resets, malformed bodies,
// stalled SSE streams, context overflows and RPM/TPM limits, decided exactly as the simulator
// decides them (provider_player.h in src/ has the per-request rules).
//
// Routes: every provider gets the path prefix `/<provider name>`. A provider with `api:
// openai` answers `POST /<name>/v1/chat/completions`; one with `api: anthropic` answers
// `POST /<name>/v1/messages`. `stream: true` gets SSE. Error bodies follow the provider's api.
// Gateway routes, as an LLM gateway serves many models at one base URL: `POST
// /v1/chat/completions` and `POST /v1/messages` (when no provider is named "v1") go to the
// provider the request's `model` names, if it speaks that API (else 404 in the API's shape).
// Anything else is 404 (405 for a method other than POST) in that shape.
// Base URLs are what each API's official SDK takes: `http://HOST:PORT/<name>/v1` for OpenAI
// (`baseURL` / OPENAI_BASE_URL), `http://HOST:PORT/<name>` for Anthropic.
//
// Contract:
//  - Time: scenario time = real time since construction / time_scale; every scenario duration
//    (latencies, fault windows, retry-after) is multiplied by time_scale on the wire.
//  - The constructor binds and listens (so `endpoints()` are valid at once) and starts
//    accepting on `io`; nothing is served until `io` runs. It throws ServeError for a bad
//    configuration: a non-loopback address without allow_remote, time_scale not > 0, a TLS
//    certificate or key that does not load, an address that cannot be bound, limits outside
//    their bounds (ServeLimits).
//  - Hostile clients: every request is read within ServeLimits (sizes, deadlines, connection
//    cap, memory budget) and answered 4xx/503 or closed; when accept fails (EMFILE, ...) the
//    server retries with a back-off (10 ms doubling to 1 s) instead of spinning.
//  - `stop()` closes the listener and every connection (hung ones included) and cancels every
//    pending timer, so `io.run()` returns once the in-flight handlers have unwound. Call it on
//    the io thread, or use `request_stop()` from any thread. The destructor stops too; the
//    server must outlive `io.run()` or be stopped and then destroyed on the io thread.
//  - Single-threaded: run `io` on one thread. The server's only other thread parses request
//    bodies of 256 KiB or more (started on the first one), so a large body does not hold up
//    the other connections; its result is handled back on the io thread.
//
// Example:
//   boost::asio::io_context io;
//   FaultServer server{io, scenario, {.time_scale = 0.1}};
//   for (const ProviderEndpoint& e : server.endpoints()) std::cout << e.base_url << "\n";
//   std::thread t{[&] { io.run(); }};
//   ...                                      // point clients at the base URLs
//   server.request_stop(); t.join();
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "keel/live/asio.h"
#include "keel/model/transport.h"
#include "keel/scenarios/scenario.h"

namespace keel::live::serve {

// A configuration the server refuses (exit status 2 in `keel serve`).
class ServeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What one client may cost the server (docs/serve.md, "Limits"). Durations are real time (not
// scaled by time_scale). Each field has bounds; the constructor refuses a value outside them.
// A request over a limit is answered with Connection: close and no provider sees it:
//   header over max_header_bytes -> 431; body over max_body_bytes (declared or sent) -> 413;
//   not parseable as HTTP/1.1 -> 400; header not complete within header_timeout (from the
//   connection's accept, or from a kept-alive connection's first byte) or body not complete
//   within body_timeout -> 408; its body would take the buffered bodies of all connections
//   past body_memory_budget -> 503 with retry-after. A kept-alive connection that sends nothing
//   for idle_timeout is closed. A connection accepted beyond max_connections gets a 503 (plain
//   HTTP, or TLS after the handshake; within about 2 s) and is closed; past 64 such refusals at
//   once, a new one is closed without an answer. Bodies nest at most kMaxRequestDepth (512) deep, else 400.
struct ServeLimits {
  std::size_t max_connections = 512;                  // [1, 65536]
  std::size_t max_header_bytes = 16 * 1024;           // [1 KiB, 1 MiB]
  std::size_t max_body_bytes = 8 * 1024 * 1024;       // [1 KiB, 256 MiB]
  std::size_t body_memory_budget = 128 * 1024 * 1024; // [max_body_bytes, 4 GiB]
  Duration header_timeout = std::chrono::seconds{10};  // [1 ms, 1 h]
  Duration body_timeout = std::chrono::seconds{30};    // [1 ms, 1 h]
  Duration idle_timeout = std::chrono::seconds{60};    // [1 ms, 1 h]
};

// Why `limits` cannot be served ("" when they can): the first field outside its bounds.
std::string check_limits(const ServeLimits& limits);

struct ServeOptions {
  std::string host = "127.0.0.1";  // an IP address, or "localhost"
  std::uint16_t port = 0;          // 0 = any free port
  double time_scale = 1.0;         // > 0; multiplies every scenario duration
  bool allow_remote = false;       // permit a non-loopback address
  std::optional<std::uint64_t> seed;  // default: the scenario's seed
  std::string tls_cert_file;       // PEM certificate chain; with tls_key_file, serve HTTPS
  std::string tls_key_file;        // PEM private key
  // When set, one line per request that reached a provider: "<name> #<index> <answer> after
  // <ms> ms[ fault=<kind>]" (io thread; never headers or bodies).
  std::ostream* request_log = nullptr;
  ServeLimits limits;
};

struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};
// "HOST:PORT", "[V6]:PORT" or "HOST" (port 0). Throws ServeError saying what is wrong.
ListenAddress parse_listen_address(std::string_view text);
// Whether `host` ("localhost" or an IP literal) is a loopback address. Throws ServeError if
// it is neither.
bool is_loopback_host(std::string_view host);

struct ProviderEndpoint {
  std::string name;
  model::ProviderApi api = model::ProviderApi::openai;
  std::string base_url;  // the SDK base URL (see Routes above)
  std::string url;       // the full POST URL
};

// What one provider saw (for reports and tests). `requests` counts requests that parsed and
// reached the provider's rules; rejected bodies and unknown URLs are not requests.
struct ProviderCounters {
  std::uint64_t requests = 0;
  std::uint64_t successes = 0;         // answered 200 with a well-formed answer
  std::uint64_t faults_injected = 0;
  std::uint64_t rate_limited = 0;      // 429 from the RPM/TPM window (not injected)
  std::uint64_t context_overflows = 0; // 400 because the prompt exceeded the window (not injected)
  int max_prompt_tokens = 0;
};

class FaultServer {
 public:
  FaultServer(boost::asio::io_context& io, const scenarios::Scenario& scenario, ServeOptions options);
  ~FaultServer();
  FaultServer(const FaultServer&) = delete;
  FaultServer& operator=(const FaultServer&) = delete;

  const std::vector<ProviderEndpoint>& endpoints() const noexcept;
  std::uint16_t port() const noexcept;
  bool tls() const noexcept;
  // Counters of the provider with that name (std::out_of_range if none).
  const ProviderCounters& counters(std::string_view provider) const;
  // Connections open right now.
  std::size_t open_connections() const noexcept;

  void stop();          // io thread only
  void request_stop();  // any thread: posts stop() to the io_context

  struct Impl;  // implementation detail (fault_server.cpp)

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace keel::live::serve
