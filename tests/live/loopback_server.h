// tests/live/loopback_server.h — a tiny blocking HTTP/1.1 server on 127.0.0.1 for live tests.
//
// Purpose: canned provider answers on a real socket (plain or TLS), so the client's timeouts,
// classification, pooling and cleanup are tested on the wire. One thread accepts; one thread
// per connection reads requests and calls the test's handler, which writes raw bytes (so a
// test can send anything: a 429, half a stream, nothing at all) or resets the socket.
//
// Contract: the destructor stops accepting, shuts down every connection still open (so a
// leaked client connection cannot hang it; the fd-count checks catch the leak) and joins every
// thread. Destroy the client first — declare the server before the client.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <sstream>

#include "keel/live/net.h"

namespace keel::live::test {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

using Request = http::request<http::string_body>;

// One accepted connection, as seen by a handler.
class ServerConnection {
 public:
  virtual ~ServerConnection() = default;
  virtual bool write(std::string_view raw) = 0;
  // Blocks until the client closes the connection (or 5 s pass). True iff the client closed it.
  virtual bool wait_for_close() = 0;
  // Closes with a TCP reset (SO_LINGER 0).
  virtual void reset() = 0;
  // Ends the response stream (TCP FIN): the client reads end-of-file.
  virtual void shutdown_send() = 0;
};

// Return false to close the connection after this request.
using Handler = std::function<bool(ServerConnection&, const Request&)>;

// Raw responses.
inline std::string response(int status, std::string_view body, std::string_view extra_headers = "",
                            std::string_view content_type = "application/json") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\ncontent-type: " + std::string(content_type) +
         "\r\ncontent-length: " + std::to_string(body.size()) + "\r\n" + std::string(extra_headers) + "\r\n" +
         std::string(body);
}
inline std::string sse_head() {
  return "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
}
inline std::string chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size) + std::string(data) + "\r\n";
}
inline std::string last_chunk() { return "0\r\n\r\n"; }

class LoopbackServer {
 public:
  struct TlsFiles {
    std::string cert_chain;  // PEM
    std::string key;         // PEM
  };

  explicit LoopbackServer(Handler handler, std::optional<TlsFiles> tls = std::nullopt)
      : handler_(std::move(handler)), acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    if (tls) {
      tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
      tls_->use_certificate_chain_file(tls->cert_chain);
      tls_->use_private_key_file(tls->key, asio::ssl::context::pem);
    }
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~LoopbackServer() {
    stopping_ = true;
    boost::system::error_code ec;
    tcp::socket wake(io_);
    wake.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
    accept_thread_.join();
    {
      std::lock_guard lock(mutex_);
      for (int fd : live_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : connection_threads_) t.join();
  }

  std::uint16_t port() const { return port_; }
  std::string url(std::string_view host = "127.0.0.1") const {
    return std::string(tls_ ? "https://" : "http://") + std::string(host) + ":" + std::to_string(port_);
  }
  int connections() const { return connections_; }
  int requests() const { return requests_; }
  // Waits until `n` connections have been seen closed by the client.
  bool wait_closed_by_client(int n, std::chrono::milliseconds limit = std::chrono::seconds(3)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, limit, [&] { return closed_by_client_ >= n; });
  }
  std::vector<std::string> raw_requests() {
    std::lock_guard lock(mutex_);
    return raw_requests_;
  }

 private:
  template <class Stream>
  class Conn final : public ServerConnection {
   public:
    Conn(LoopbackServer& server, Stream& s, tcp::socket& sock) : server_(server), stream_(s), socket_(sock) {}
    bool write(std::string_view raw) override {
      boost::system::error_code ec;
      asio::write(stream_, asio::buffer(raw.data(), raw.size()), ec);
      return !ec;
    }
    bool wait_for_close() override {
      char byte;
      boost::system::error_code ec;
      stream_.read_some(asio::buffer(&byte, 1), ec);
      return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated;
    }
    void shutdown_send() override {
      boost::system::error_code ec;
      socket_.shutdown(tcp::socket::shutdown_send, ec);
    }
    void reset() override {
      boost::system::error_code ec;
      socket_.set_option(asio::socket_base::linger(true, 0), ec);
      server_.forget(socket_.native_handle());
      socket_.close(ec);
    }

   private:
    LoopbackServer& server_;
    Stream& stream_;
    tcp::socket& socket_;
  };

  void accept_loop() {
    while (true) {
      tcp::socket sock(io_);
      boost::system::error_code ec;
      acceptor_.accept(sock, ec);
      if (stopping_ || ec) return;
      ++connections_;
      connection_threads_.emplace_back([this, s = std::move(sock)]() mutable { serve(std::move(s)); });
    }
  }

  void serve(tcp::socket sock) {
    const int fd = sock.native_handle();
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      live_fds_.push_back(fd);
    }
    if (tls_) {
      asio::ssl::stream<tcp::socket> stream(std::move(sock), *tls_);
      boost::system::error_code ec;
      stream.handshake(asio::ssl::stream_base::server, ec);
      if (!ec) serve_on(stream, stream.next_layer());
      if (stream.next_layer().is_open()) forget(fd);
    } else {
      serve_on(sock, sock);
      if (sock.is_open()) forget(fd);
    }
  }

  template <class Stream>
  void serve_on(Stream& stream, tcp::socket& sock) {
    Conn<Stream> conn(*this, stream, sock);
    boost::beast::flat_buffer buffer;
    while (sock.is_open()) {
      Request req;
      boost::system::error_code ec;
      http::read(stream, buffer, req, ec);
      if (ec) {
        if (ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
            ec == asio::ssl::error::stream_truncated || ec == asio::error::eof) {
          note_closed();
        }
        return;
      }
      ++requests_;
      {
        std::lock_guard lock(mutex_);
        std::ostringstream raw;
        raw << req;
        raw_requests_.push_back(raw.str());
      }
      if (!handler_(conn, req)) {
        if (sock.is_open()) {
          if (conn.wait_for_close()) note_closed();
        } else {
          note_closed();
        }
        return;
      }
    }
  }

  void forget(int fd) {
    std::lock_guard lock(mutex_);
    std::erase(live_fds_, fd);
  }

  void note_closed() {
    std::lock_guard lock(mutex_);
    ++closed_by_client_;
    cv_.notify_all();
  }

  Handler handler_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::thread accept_thread_;
  std::vector<std::thread> connection_threads_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int closed_by_client_ = 0;
  std::vector<std::string> raw_requests_;
  std::vector<int> live_fds_;  // open server-side sockets, for shutdown on destruction
};

}  // namespace keel::live::test
