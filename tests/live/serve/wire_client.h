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
#include <thread>

#include "keel/live/asio.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include "keel/live/serve/fault_server.h"
#include "keel/scenarios/loader.h"

namespace keel::live::serve::testing {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
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
// against `ca_file` and the host name `sni_host`).
class WireClient {
 public:
  explicit WireClient(std::uint16_t port) { connect(port); }
  WireClient(std::uint16_t port, const std::string& ca_file, const std::string& sni_host)
      : ssl_ctx_(std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client)) {
    ssl_ctx_->load_verify_file(ca_file);
    ssl_ctx_->set_verify_mode(asio::ssl::verify_peer);
    tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, *ssl_ctx_);
    tls_->set_verify_callback(asio::ssl::host_name_verification(sni_host));
    SSL_set_tlsext_host_name(tls_->native_handle(), sni_host.c_str());
    connect(port);
    tls_->handshake(asio::ssl::stream_base::client);
  }

  // Sends one request and reads the answer for at most `timeout`.
  WireResult send(http::verb method, const std::string& target, const std::string& body,
                  std::chrono::milliseconds timeout) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    req.set(http::field::authorization, "Bearer sk-test-not-a-secret");
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    if (tls_) http::write(*tls_, req);
    else http::write(socket_, req);
    if (tls_) return read(*tls_, timeout);
    return read(socket_, timeout);
  }
  WireResult post(const std::string& target, const std::string& body, std::chrono::milliseconds timeout) {
    return send(http::verb::post, target, body, timeout);
  }
  // Writes `bytes` as they are (plain TCP: a partial or hostile request) and reads the answer
  // for at most `timeout`. A write the server cut short (it answered and closed) is not an error.
  WireResult send_raw(const std::string& bytes, std::chrono::milliseconds timeout) {
    write_raw(bytes);
    return read_answer(timeout);
  }
  void write_raw(const std::string& bytes) {
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(bytes), ec);
  }
  WireResult read_answer(std::chrono::milliseconds timeout) { return read(socket_, timeout); }
  // Whether the server closed the connection within `timeout` (reads nothing else).
  bool closed_by_peer_within(std::chrono::milliseconds timeout) {
    std::array<char, 256> sink;
    bool closed = false, done = false;
    socket_.async_read_some(asio::buffer(sink), [&](boost::system::error_code ec, std::size_t) {
      done = true;
      closed = ec && ec != asio::error::operation_aborted;
    });
    io_.restart();
    io_.run_for(timeout);
    if (!done) {
      socket_.cancel();
      io_.restart();
      io_.run();
    }
    return closed;
  }
  void close() {
    boost::system::error_code ec;
    socket_.close(ec);
  }

 private:
  void connect(std::uint16_t port) { socket_.connect(tcp::endpoint{asio::ip::make_address("127.0.0.1"), port}); }

  template <class Stream>
  WireResult read(Stream& stream, std::chrono::milliseconds timeout) {
    WireResult out;
    auto parser = std::make_shared<http::response_parser<http::string_body>>();
    parser->body_limit(std::numeric_limits<std::uint64_t>::max());
    const auto start = Clock::now();
    bool done = false;
    auto since = [&] { return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start); };
    auto finish = [&](boost::system::error_code ec) {
      done = true;
      out.ended_after = since();
      if (!ec) out.end = WireResult::End::complete;
      else if (ec == asio::error::connection_reset) out.end = WireResult::End::reset;
      else if (ec == asio::error::operation_aborted) out.end = WireResult::End::timeout;
      else {
        out.end = WireResult::End::closed;
        out.error = ec.message();
      }
    };
    std::function<void()> read_more = [&] {
      http::async_read_some(stream, buffer_, *parser, [&](boost::system::error_code ec, std::size_t) {
        if (ec || parser->is_done()) finish(ec);
        else read_more();
      });
    };
    http::async_read_header(stream, buffer_, *parser, [&](boost::system::error_code ec, std::size_t) {
      if (ec) return finish(ec);
      out.got_header = true;
      out.header_after = since();
      if (parser->is_done()) return finish(ec);
      read_more();
    });
    io_.restart();
    io_.run_for(timeout);
    if (!done) {
      socket_.cancel();
      io_.restart();
      io_.run();
      out.end = WireResult::End::timeout;
    }
    if (out.got_header) {
      const auto& res = parser->get();
      out.status = static_cast<int>(res.result_int());
      for (const auto& f : res) {
        std::string name{f.name_string()};
        for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        out.headers[name] = std::string{f.value()};
      }
      out.body = res.body();
    }
    return out;
  }

  asio::io_context io_;
  tcp::socket socket_{io_};
  boost::beast::flat_buffer buffer_;
  std::unique_ptr<asio::ssl::context> ssl_ctx_;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
};

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
