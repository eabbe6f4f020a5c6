#include "keel/live/http_client.h"

#include <array>
#include <charconv>
#include <stdexcept>

#include <openssl/ssl.h>

#include "keel/live/async_op.h"
#include "keel/live/net.h"

#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/read_size.hpp>

namespace keel::live {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct HttpClient::Tls {
  ssl::context context{ssl::context::tls_client};
};

struct HttpClient::Connection {
  Connection(asio::io_context& io, ssl::context* tls_context, const Url& url)
      : host(url.host), port(url.port), host_header(url.host_header()) {
    if (tls_context) {
      tls.emplace(io, *tls_context);
    } else {
      plain.emplace(io);
    }
  }
  tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }
  void close() noexcept {
    error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }

  bool is_tls() const noexcept { return tls.has_value(); }

  std::string host;         // the pool key: (is_tls, host, port)
  std::uint16_t port;
  std::string host_header;  // the Host field for every request on this connection
  std::optional<ssl::stream<tcp::socket>> tls;
  std::optional<tcp::socket> plain;
  boost::beast::flat_buffer buffer;  // response bytes; reused across requests
  std::string head;                  // the request head being written; reused across requests
};

namespace {

std::string ms(Duration d) { return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms"; }

bool is_verify_failure(const error_code& ec) {
  if (ec.category() != asio::error::get_ssl_category()) return false;
  return ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED;
}

bool is_http_parse_error(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_version).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

// The error for an operation that did not complete: stopped by deadline or cancel, or failed.
template <class V>
Error op_error(const OpResult<V>& r, std::string_view phase, Duration limit) {
  if (r.end == OpEnd::timed_out) {
    return Error{ErrorCode::timeout, std::string(phase) + " timed out (limit " + ms(limit) + ")"};
  }
  if (r.end == OpEnd::cancelled) return Error{ErrorCode::cancelled, std::string(phase) + " cancelled"};
  if (is_verify_failure(r.ec)) {
    Error e{ErrorCode::network, "TLS certificate verification failed"};
    e.should_retry = false;
    return e;
  }
  if (r.ec == http::error::body_limit) return Error{ErrorCode::malformed_response, "response body too large"};
  if (is_http_parse_error(r.ec)) {
    return Error{ErrorCode::malformed_response, std::string(phase) + ": bad HTTP: " + r.ec.message()};
  }
  return Error{ErrorCode::network, std::string(phase) + ": " + r.ec.message()};
}

std::optional<std::string> header(const http::response_parser<http::string_body>& p, std::string_view name) {
  const auto& fields = p.get();
  auto it = fields.find(boost::beast::string_view(name.data(), name.size()));
  if (it == fields.end()) return std::nullopt;
  return std::string(it->value());
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// The media type of a content-type value is text/event-stream: compared without case, with
// parameters (`; charset=utf-8`) and surrounding whitespace ignored (RFC 9110 §8.3.1).
bool is_event_stream(std::string_view content_type) noexcept {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  return iequals(type, "text/event-stream");
}

bool breaks_the_head(std::string_view text) noexcept {
  for (const char c : text) {
    if (c == '\r' || c == '\n' || c == '\0') return true;
  }
  return false;
}

// One header field of the request head: `value` is written as prefix + value.
struct HeadField {
  std::string_view name;
  std::string_view prefix;
  std::string_view value;
};

// The request line and header fields, written into `head` (no body). As Beast's message
// set()/prepare_payload() did: a later field replaces an earlier one of the same name (so a
// request header may replace User-Agent), Content-Length is computed (a caller's
// content-length or transfer-encoding is ignored). Header text with CR, LF or NUL, or a name
// with ':' or space, is refused (it would let a value inject fields).
Status write_head(std::string& head, const HttpRequest& request, std::string_view host_header,
                  std::string_view user_agent) {
  const http::verb method = http::string_to_verb(request.method);
  if (method == http::verb::unknown) return Error{ErrorCode::invalid_request, "unknown HTTP method"};
  if (method == http::verb::trace && !request.body.empty()) {
    return Error{ErrorCode::invalid_request, "a TRACE request cannot have a body"};
  }
  const std::string_view target = request.target.empty() ? std::string_view("/") : std::string_view(request.target);
  if (breaks_the_head(target) || target.find(' ') != std::string_view::npos) {
    return Error{ErrorCode::invalid_request, "bad request target"};
  }
  constexpr std::size_t kMaxFields = 32;
  HeadField fields[kMaxFields];
  std::size_t n = 0;
  const std::size_t wanted = 2 + request.headers.size() + request.secret_headers.size();
  if (wanted > kMaxFields) return Error{ErrorCode::invalid_request, "too many request header fields"};
  fields[n++] = {"Host", {}, host_header};
  fields[n++] = {"User-Agent", {}, user_agent};
  for (const auto& [name, value] : request.headers) fields[n++] = {name, {}, value};
  for (const SecretHeader& h : request.secret_headers) fields[n++] = {h.name, h.prefix, h.value.reveal()};

  head.clear();
  head += request.method;
  head += ' ';
  head += target;
  head += " HTTP/1.1\r\n";
  for (std::size_t i = 0; i < n; ++i) {
    const HeadField& f = fields[i];
    if (f.name.empty() || breaks_the_head(f.name) || f.name.find_first_of(": \t") != std::string_view::npos ||
        breaks_the_head(f.prefix) || breaks_the_head(f.value)) {
      return Error{ErrorCode::invalid_request, "a request header field contains a line break or a bad name"};
    }
    if (iequals(f.name, "content-length") || iequals(f.name, "transfer-encoding")) continue;
    bool replaced = false;
    for (std::size_t j = i + 1; j < n && !replaced; ++j) replaced = iequals(f.name, fields[j].name);
    if (replaced) continue;
    head += f.name;
    head += ": ";
    head += f.prefix;
    head += f.value;
    head += "\r\n";
  }
  if (!request.body.empty() || method == http::verb::post || method == http::verb::put ||
      method == http::verb::options) {
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, request.body.size());
    head += "Content-Length: ";
    head.append(digits, r.ptr);
    head += "\r\n";
  }
  head += "\r\n";
  return {};
}

}  // namespace

HttpClient::HttpClient(AsioScheduler& scheduler, HttpClientConfig config)
    : scheduler_(scheduler), config_(std::move(config)), tls_(std::make_unique<Tls>()) {
  ssl::context& ctx = tls_->context;
  ctx.set_verify_mode(ssl::verify_peer);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  error_code ec;
  if (config_.use_system_ca) ctx.set_default_verify_paths(ec);
  if (ec) throw std::runtime_error("HttpClient: cannot load the system CA store: " + ec.message());
  if (!config_.ca_file.empty()) {
    ctx.load_verify_file(config_.ca_file, ec);
    if (ec) throw std::runtime_error("HttpClient: cannot load ca_file " + config_.ca_file + ": " + ec.message());
  }
}

HttpClient::~HttpClient() { close_idle(); }

std::size_t HttpClient::idle_connections() const noexcept {
  std::size_t n = 0;
  for (const IdleHost& h : idle_) n += h.conns.size();
  return n;
}

void HttpClient::close_idle() noexcept {
  for (IdleHost& h : idle_) {
    for (auto& c : h.conns) c->close();
  }
  idle_.clear();
}

void HttpClient::put_idle(std::shared_ptr<Connection> conn) {
  if (config_.max_idle_per_host == 0) {
    conn->close();
    return;
  }
  IdleHost* pool = nullptr;
  for (IdleHost& h : idle_) {
    if (h.tls == conn->is_tls() && h.port == conn->port && h.host == conn->host) pool = &h;
  }
  if (!pool) pool = &idle_.emplace_back(IdleHost{conn->is_tls(), conn->host, conn->port, {}});
  auto& conns = pool->conns;
  if (conns.size() >= config_.max_idle_per_host) {
    conns.front()->close();
    conns.erase(conns.begin());
  }
  conns.push_back(std::move(conn));
}

std::shared_ptr<HttpClient::Connection> HttpClient::take_idle(const Url& url) {
  for (IdleHost& h : idle_) {
    if (h.tls != url.tls || h.port != url.port || h.host != url.host) continue;
    while (!h.conns.empty()) {
      std::shared_ptr<Connection> c = std::move(h.conns.back());
      h.conns.pop_back();
      if (c->socket().is_open()) return c;
    }
    return nullptr;
  }
  return nullptr;
}

Task<Result<std::shared_ptr<HttpClient::Connection>>> HttpClient::connect(const Url& url, Deadline deadline) {
  asio::io_context& io = scheduler_.io();
  auto resolver = std::make_shared<tcp::resolver>(io);
  auto start_resolve = [&](auto handler) {
    resolver->async_resolve(url.host, std::to_string(url.port), handler);
  };
  auto stop_resolve = [resolver] { resolver->cancel(); };
  OpResult<tcp::resolver::results_type> resolved =
      co_await async_op<tcp::resolver::results_type>(start_resolve, stop_resolve, deadline, resolver);
  if (!resolved.ok()) {
    Error e = op_error(resolved, "DNS resolution", config_.timeouts.connect);
    if (resolved.end == OpEnd::completed) e.message = "DNS resolution failed for " + url.host + ": " + resolved.ec.message();
    co_return e;
  }

  auto conn = std::make_shared<Connection>(io, url.tls ? &tls_->context : nullptr, url);
  auto stop = [conn] { conn->close(); };
  auto start_connect = [&](auto handler) { asio::async_connect(conn->socket(), resolved.value, handler); };
  OpResult<tcp::endpoint> connected = co_await async_op<tcp::endpoint>(start_connect, stop, deadline, conn);
  if (!connected.ok()) {
    conn->close();
    co_return op_error(connected, "connect", config_.timeouts.connect);
  }
  error_code ignored;
  conn->socket().set_option(tcp::no_delay(true), ignored);
  if (!url.tls) conn->plain->non_blocking(true, ignored);  // for the immediate write in exchange()
  ++counters_.connections_opened;
  if (!url.tls) co_return conn;

  SSL* native = conn->tls->native_handle();
  if (!url.host_is_ip_literal() && !SSL_set_tlsext_host_name(native, url.host.c_str())) {
    conn->close();
    co_return Error{ErrorCode::network, "TLS: cannot set SNI host name"};
  }
  conn->tls->set_verify_mode(ssl::verify_peer);
  conn->tls->set_verify_callback(ssl::host_name_verification(url.host));
  auto start_handshake = [&](auto handler) { conn->tls->async_handshake(ssl::stream_base::client, handler); };
  OpResult<std::monostate> shaken = co_await async_op(start_handshake, stop, deadline, conn);
  if (!shaken.ok()) {
    conn->close();
    co_return op_error(shaken, "TLS handshake", config_.timeouts.connect);
  }
  co_return conn;
}

Task<Result<HttpResponse>> HttpClient::send(HttpRequest request, BodySink* sink) {
  ++counters_.requests;
  const Url& url = request.url;
  if (!url.tls && !url.is_loopback() && !config_.allow_insecure_http) {
    co_return Error{ErrorCode::invalid_request, "plain http:// refused for a non-loopback host (use https)"};
  }
  const TimePoint start = scheduler_.now();
  const Deadline inherited = co_await this_task::deadline();
  const Deadline total = Deadline::earliest(inherited, Deadline::after(start, config_.timeouts.total));
  const Deadline connect_deadline = Deadline::earliest(total, Deadline::after(start, config_.timeouts.connect));
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::shared_ptr<Connection> conn = take_idle(url);
    const bool reused = conn != nullptr;
    if (reused) {
      ++counters_.connections_reused;
    } else {
      Result<std::shared_ptr<Connection>> fresh = co_await connect(url, connect_deadline);
      if (!fresh) co_return std::move(fresh).error();
      conn = std::move(*fresh);
    }
    bool nothing_received = false;
    Result<HttpResponse> r = co_await exchange(conn, request, sink, total, &nothing_received);
    if (!r && reused && nothing_received && r.error().code == ErrorCode::network) {
      ++counters_.stale_retries;
      continue;
    }
    co_return r;
  }
  co_return Error{ErrorCode::internal, "unreachable"};
}

namespace {

using Parser = http::response_parser<http::string_body>;
using ConnectionPtr = std::shared_ptr<HttpClient::Connection>;

// Sends the request: conn->head (already written) and the body in one gather write, straight
// from the request (no copy of the body), before `first_byte`. On failure the connection is
// closed and *nothing_received set (the caller may retry a stale reused connection).
Task<Status> send_request(ConnectionPtr conn, const HttpRequest& request, AsioScheduler& scheduler,
                          Deadline first_byte, Duration limit, bool* nothing_received) {
  auto stop = [conn] { conn->close(); };
  const std::array<asio::const_buffer, 2> wire{asio::buffer(conn->head), asio::buffer(request.body)};
  const std::size_t wire_size = conn->head.size() + request.body.size();
  std::size_t sent = 0;
  if (conn->plain) {
    // Plain TCP (non-blocking socket): write at once. A request that fits the socket buffer,
    // the usual case, then needs no async operation, timer or io_context round trip.
    const CancelToken token = co_await this_task::cancel_token();
    if (!token.cancelled() && !first_byte.passed(scheduler.now())) {
      error_code ec;
      sent = conn->plain->write_some(wire, ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        ec = {};
        sent = 0;
      }
      if (ec) {
        conn->close();
        *nothing_received = true;
        co_return op_error(OpResult<std::size_t>{ec}, "sending the request", limit);
      }
    }
  }
  if (sent < wire_size) {
    boost::beast::buffers_suffix<std::array<asio::const_buffer, 2>> rest(wire);
    rest.consume(sent);
    auto start_write = [&](auto handler) {
      if (conn->tls) {
        asio::async_write(*conn->tls, rest, handler);
      } else {
        asio::async_write(*conn->plain, rest, handler);
      }
    };
    OpResult<std::size_t> wrote = co_await async_op<std::size_t>(start_write, stop, first_byte, conn);
    if (!wrote.ok()) {
      conn->close();
      *nothing_received = true;
      co_return op_error(wrote, "sending the request", limit);
    }
  }
  co_return Status{};
}

// Reads the response header into a fresh `parser`. Interim 1xx responses (100 Continue, 103
// Early Hints, ...) are skipped as RFC 9110 §15.2 asks, each with a fresh parser, all within
// the first-byte deadline; 101 Switching Protocols is final (we never ask for an upgrade, so it
// is an error status). On failure the connection is closed; *nothing_received says whether
// the server closed it before sending a byte (a stale keep-alive connection).
Task<Status> read_header(ConnectionPtr conn, std::optional<Parser>& parser, std::uint64_t body_limit,
                         Deadline first_byte, Duration limit, bool* nothing_received) {
  auto stop = [conn] { conn->close(); };
  bool got_interim = false;
  for (;;) {
    parser.emplace();
    parser->body_limit(body_limit);
    auto start_header = [&](auto handler) {
      if (conn->tls) {
        http::async_read_header(*conn->tls, conn->buffer, *parser, handler);
      } else {
        http::async_read_header(*conn->plain, conn->buffer, *parser, handler);
      }
    };
    OpResult<std::size_t> head = co_await async_op<std::size_t>(start_header, stop, first_byte, conn);
    if (!head.ok()) {
      conn->close();
      *nothing_received = !got_interim && head.end == OpEnd::completed && conn->buffer.size() == 0 &&
                          (head.ec == http::error::end_of_stream || head.ec == asio::error::connection_reset ||
                           head.ec == asio::error::eof);
      co_return op_error(head, "waiting for the response header", limit);
    }
    const unsigned status = parser->get().result_int();
    if (status < 100 || status > 199 || status == 101) co_return Status{};
    got_interim = true;
  }
}

// The response as its header describes it; `streamed` when a sink waits for a 2xx event stream.
HttpResponse response_of(const Parser& parser, const BodySink* sink) {
  HttpResponse response;
  response.status = static_cast<int>(parser.get().result_int());
  response.content_type = header(parser, "content-type").value_or("");
  response.retry_after = header(parser, "retry-after");
  response.retry_after_ms = header(parser, "retry-after-ms");
  response.should_retry = header(parser, "x-should-retry");
  response.date = header(parser, "date");
  response.streamed = sink && response.status >= 200 && response.status <= 299 &&
                      is_event_stream(response.content_type);
  return response;
}

// Feeds what is already buffered to the parser (usually all of the body, read with the header).
Status parse_buffered(HttpClient::Connection& conn, Parser& parser, Duration idle_limit) {
  while (!parser.is_done() && conn.buffer.size() > 0) {
    error_code ec;
    const std::size_t used = parser.put(conn.buffer.data(), ec);
    conn.buffer.consume(used);
    if (ec == http::error::need_more) break;
    if (ec) {
      conn.close();
      return op_error(OpResult<std::size_t>{ec}, "reading the response body", idle_limit);
    }
    if (used == 0) break;
  }
  return {};
}

// The body: parse what is already buffered, and read from the socket only for the rest, each
// read under the idle deadline; a streamed response's chunks go to `sink` as they come. On
// failure the connection is closed.
Task<Status> read_body(ConnectionPtr conn, Parser& parser, const HttpResponse& response, BodySink* sink,
                       AsioScheduler& scheduler, Deadline total, const HttpTimeouts& limits) {
  auto stop = [conn] { conn->close(); };
  const Duration gap = response.streamed ? limits.stream_idle : limits.idle;
  for (;;) {
    if (Status parsed = parse_buffered(*conn, parser, gap); !parsed) co_return parsed;
    if (response.streamed && !parser.get().body().empty()) {
      std::string chunk;
      chunk.swap(parser.get().body());
      Status s = (*sink)(chunk);
      if (!s) {
        conn->close();
        co_return s;
      }
    }
    if (parser.is_done()) co_return Status{};

    const Deadline idle = Deadline::earliest(total, Deadline::after(scheduler.now(), gap));
    auto start_read = [&](auto handler) {
      const auto space = conn->buffer.prepare(boost::beast::read_size(conn->buffer, 65536));
      if (conn->tls) {
        conn->tls->async_read_some(space, handler);
      } else {
        conn->plain->async_read_some(space, handler);
      }
    };
    OpResult<std::size_t> got = co_await async_op<std::size_t>(start_read, stop, idle, conn);
    if (got.ok()) {
      conn->buffer.commit(got.value);
      continue;
    }
    if (got.end == OpEnd::completed && got.ec == asio::error::eof) {
      // The server closed: that ends a body delimited by the connection, else it is cut short
      // (partial_message), as Beast's read reports it.
      got.ec = {};
      parser.put_eof(got.ec);
      if (!got.ec) continue;
    }
    conn->close();
    const bool total_hit = got.end == OpEnd::timed_out && total.passed(scheduler.now());
    co_return op_error(got, total_hit ? "the whole request" : "reading the response body (idle gap)",
                       total_hit ? limits.total : gap);
  }
}

}  // namespace

Task<Result<HttpResponse>> HttpClient::exchange(std::shared_ptr<Connection> conn, const HttpRequest& request,
                                                BodySink* sink, Deadline total, bool* nothing_received) {
  const HttpTimeouts& limits = config_.timeouts;
  if (Status s = write_head(conn->head, request, conn->host_header, config_.user_agent); !s) {
    put_idle(std::move(conn));  // nothing was written: the connection is as good as before
    co_return std::move(s).error();
  }
  const Deadline first_byte = Deadline::earliest(total, Deadline::after(scheduler_.now(), limits.first_byte));
  Status sent = co_await send_request(conn, request, scheduler_, first_byte, limits.first_byte, nothing_received);
  if (!sent) co_return std::move(sent).error();
  std::optional<Parser> parser;
  Status head = co_await read_header(conn, parser, config_.max_body_bytes, first_byte, limits.first_byte,
                                     nothing_received);
  if (!head) co_return std::move(head).error();
  HttpResponse response = response_of(*parser, sink);
  Status body = co_await read_body(conn, *parser, response, sink, scheduler_, total, limits);
  if (!body) co_return std::move(body).error();
  if (!response.streamed) response.body = std::move(parser->get().body());
  if (parser->get().keep_alive()) {
    put_idle(std::move(conn));
  } else {
    conn->close();
  }
  co_return response;
}

}  // namespace keel::live
