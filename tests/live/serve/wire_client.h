// tests/live/serve/wire_client.h — a minimal Beast HTTP/1.1 client for the keel serve tests,
// and a fixture that runs a FaultServer on its own io thread.
//
// Purpose: see exactly what the server puts on the wire — status, headers, the (de-chunked)
// body so far — and how the exchange ended: complete, silent until the timeout (hang, stalled
// stream), reset by the peer, or closed. Keep-alive: one client, many requests.
//
// Example:
//   ServedScenario s{kScenarioJson, {.time_scale = 0.05}};
//   WireClient c{s.port()};
//   WireResult r = c.post("/gpt/v1/chat/completions", R"({"messages":[...]})", 2s);
//   EXPECT_EQ(r.end, WireResult::End::complete);
#pragma once

#include <chrono>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "keel/live/asio.h"

#include <gtest/gtest.h>

#include "keel/live/serve/fault_server.h"
#include "keel/scenarios/loader.h"

namespace keel::live::serve::testing {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct WireResult {
  enum class End { complete, timeout, reset, closed };
  End end = End::closed;
  bool got_header = false;
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                             // de-chunked, possibly partial
  std::string error;                            // how a closed exchange failed
  std::chrono::milliseconds header_after{0};    // from the request write to the status line
  std::chrono::milliseconds ended_after{0};     // from the request write to the end
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

inline const char* to_string(WireResult::End e) {
  switch (e) {
    case WireResult::End::complete: return "complete";
    case WireResult::End::timeout: return "timeout";
    case WireResult::End::reset: return "reset";
    case WireResult::End::closed: return "closed";
  }
  return "?";
}

// One connection; plain TCP, or TLS when `tls` is given (verifying the server's certificate
// against `ca_file` and the host name `sni_host`). Defined in wire_client.cpp, so the Beast
// and TLS code is compiled once for all the serve tests, not in each of them.
class WireClient {
 public:
  explicit WireClient(std::uint16_t port);
  WireClient(std::uint16_t port, const std::string& ca_file, const std::string& sni_host);
  ~WireClient();
  WireClient(const WireClient&) = delete;
  WireClient& operator=(const WireClient&) = delete;

  // Sends one request (`method`: "POST", "GET", ...) and reads the answer for at most `timeout`.
  WireResult send(std::string_view method, const std::string& target, const std::string& body,
                  std::chrono::milliseconds timeout);
  WireResult post(const std::string& target, const std::string& body, std::chrono::milliseconds timeout) {
    return send("POST", target, body, timeout);
  }
  // Writes `bytes` as they are (plain TCP: a partial or hostile request) and reads the answer
  // for at most `timeout`. A write the server cut short (it answered and closed) is not an error.
  WireResult send_raw(const std::string& bytes, std::chrono::milliseconds timeout) {
    write_raw(bytes);
    return read_answer(timeout);
  }
  void write_raw(const std::string& bytes);
  WireResult read_answer(std::chrono::milliseconds timeout);
  // Whether the server closed the connection within `timeout` (reads nothing else).
  bool closed_by_peer_within(std::chrono::milliseconds timeout);
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The tests' providers, by convention: "gpt" (OpenAI API) and "claude" (Anthropic API).
constexpr const char* kOpenAiPath = "/gpt/v1/chat/completions";
constexpr const char* kAnthropicPath = "/claude/v1/messages";

inline ServeOptions scaled(double scale) { return ServeOptions{.time_scale = scale}; }

inline scenarios::Scenario load_scenario_text(const std::string& json) {
  scenarios::LoadResult r = scenarios::load_scenario(json, "test.json");
  if (!r) ADD_FAILURE() << r.describe();
  return std::move(r).value();
}

// A FaultServer over `json`, served on its own io thread until the fixture is destroyed.
class ServedScenario {
 public:
  ServedScenario(const std::string& json, ServeOptions options) {
    server_.emplace(io_, load_scenario_text(json), std::move(options));
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ServedScenario() { stop(); }
  ServedScenario(const ServedScenario&) = delete;
  ServedScenario& operator=(const ServedScenario&) = delete;

  std::uint16_t port() const { return server_->port(); }
  FaultServer& server() { return *server_; }
  // Runs `f` on the io thread and returns its result (the server is single-threaded).
  template <class F>
  auto on_io(F f) {
    std::packaged_task<decltype(f())()> task{std::move(f)};
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }
  // Stops the server and waits for the io thread: io.run() returns only once every
  // connection and timer is gone.
  void stop() {
    if (!thread_.joinable()) return;
    server_->request_stop();
    thread_.join();
  }

 private:
  asio::io_context io_;
  std::optional<FaultServer> server_;
  std::thread thread_;
};

}  // namespace keel::live::serve::testing
