// tests/live/serve/wire_client.cpp — WireClient (wire_client.h): the Beast client code the
// serve tests share, compiled once.
#include "wire_client.h"

#include <array>
#include <cctype>
#include <functional>
#include <limits>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace keel::live::serve::testing {

namespace http = boost::beast::http;
using asio::ip::tcp;

struct WireClient::Impl {
  void connect(std::uint16_t port) { socket.connect(tcp::endpoint{asio::ip::make_address("127.0.0.1"), port}); }

  // The answer on `stream`: header, then body reads until complete, an error or `timeout`.
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
      http::async_read_some(stream, buffer, *parser, [&](boost::system::error_code ec, std::size_t) {
        if (ec || parser->is_done()) finish(ec);
        else read_more();
      });
    };
    http::async_read_header(stream, buffer, *parser, [&](boost::system::error_code ec, std::size_t) {
      if (ec) return finish(ec);
      out.got_header = true;
      out.header_after = since();
      if (parser->is_done()) return finish(ec);
      read_more();
    });
    io.restart();
    io.run_for(timeout);
    if (!done) {
      socket.cancel();
      io.restart();
      io.run();
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

  asio::io_context io;
  tcp::socket socket{io};
  boost::beast::flat_buffer buffer;
  std::unique_ptr<asio::ssl::context> ssl_ctx;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;
};

WireClient::WireClient(std::uint16_t port) : impl_(std::make_unique<Impl>()) { impl_->connect(port); }

WireClient::WireClient(std::uint16_t port, const std::string& ca_file, const std::string& sni_host)
    : impl_(std::make_unique<Impl>()) {
  Impl& c = *impl_;
  c.ssl_ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  c.ssl_ctx->load_verify_file(ca_file);
  c.ssl_ctx->set_verify_mode(asio::ssl::verify_peer);
  c.tls = std::make_unique<asio::ssl::stream<tcp::socket&>>(c.socket, *c.ssl_ctx);
  c.tls->set_verify_callback(asio::ssl::host_name_verification(sni_host));
  SSL_set_tlsext_host_name(c.tls->native_handle(), sni_host.c_str());
  c.connect(port);
  c.tls->handshake(asio::ssl::stream_base::client);
}

WireClient::~WireClient() = default;

WireResult WireClient::send(std::string_view method, const std::string& target, const std::string& body,
                            std::chrono::milliseconds timeout) {
  Impl& c = *impl_;
  http::request<http::string_body> req{http::string_to_verb({method.data(), method.size()}), target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::authorization, "Bearer sk-test-not-a-secret");
  req.keep_alive(true);
  req.body() = body;
  req.prepare_payload();
  if (c.tls) {
    http::write(*c.tls, req);
    return c.read(*c.tls, timeout);
  }
  http::write(c.socket, req);
  return c.read(c.socket, timeout);
}

void WireClient::write_raw(const std::string& bytes) {
  boost::system::error_code ec;
  asio::write(impl_->socket, asio::buffer(bytes), ec);
}

WireResult WireClient::read_answer(std::chrono::milliseconds timeout) { return impl_->read(impl_->socket, timeout); }

bool WireClient::closed_by_peer_within(std::chrono::milliseconds timeout) {
  Impl& c = *impl_;
  std::array<char, 256> sink;
  bool closed = false, done = false;
  c.socket.async_read_some(asio::buffer(sink), [&](boost::system::error_code ec, std::size_t) {
    done = true;
    closed = ec && ec != asio::error::operation_aborted;
  });
  c.io.restart();
  c.io.run_for(timeout);
  if (!done) {
    c.socket.cancel();
    c.io.restart();
    c.io.run();
  }
  return closed;
}

void WireClient::close() {
  boost::system::error_code ec;
  impl_->socket.close(ec);
}

}  // namespace keel::live::serve::testing
