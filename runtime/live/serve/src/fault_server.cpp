// FaultServer: the HTTP/1.1 side of keel serve — accept, read requests, route them to the
// provider players, and put each Reply on the wire (timers, SSE chunks, hangs, resets).
#include "keel/live/serve/fault_server.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <sstream>
#include <utility>

#include "keel/live/asio.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>

#include "keel/faults/fault_plan.h"
#include "provider_player.h"
#include "wire_format.h"
#include "wire_request.h"

namespace keel::live::serve {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

// After a refusal (413, 408, ...) the client's unread bytes are drained this long before the
// close, so the close does not turn into a reset that destroys the answer in flight.
constexpr Duration kLingerAfterRefusal = std::chrono::seconds{1};
// The accept back-off after a failed accept (EMFILE, ENFILE, ENOBUFS, ...).
constexpr Duration kFirstAcceptBackoff = std::chrono::milliseconds{10};
constexpr Duration kMaxAcceptBackoff = std::chrono::seconds{1};
// A wait longer than this is a hang in practice; capping it keeps steady_clock arithmetic finite.
constexpr Duration kMaxWait = std::chrono::hours{24 * 365};
// A body this large is parsed on the parse thread instead of the io thread: parsing runs at
// ~50-150 MB/s, so below this a parse holds the others up for well under a millisecond, less
// than the two thread hops cost in latency.
constexpr std::size_t kOffThreadParseBytes = 256 * 1024;
// Connections over ServeLimits::max_connections being answered 503 at once; past this many a new
// one is closed without an answer (a flood must not cost more than a bounded amount).
constexpr std::size_t kMaxRefusing = 64;

auto with_ec(error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// One accepted connection, plain or TLS. `close` ends everything pending on it.
struct ConnectionBase {
  virtual ~ConnectionBase() = default;
  virtual void close(bool reset) = 0;
};

template <class Stream>
struct Connection final : ConnectionBase {
  template <class... Args>
  explicit Connection(tcp::socket&& socket, Args&... args)
      : stream(std::move(socket), args...), timer(stream.get_executor()) {}

  tcp::socket& socket() {
    if constexpr (std::is_same_v<Stream, tcp::socket>) return stream;
    else return stream.next_layer();
  }
  void close(bool reset) override {
    error_code ec;
    timer.cancel();
    disarm_deadline();
    if (reset) socket().set_option(asio::socket_base::linger(true, 0), ec);
    socket().close(ec);
  }

  Stream stream;
  asio::steady_timer timer;
  std::uint64_t id = 0;
  // Read deadlines (ServeLimits): on expiry the pending read is cancelled and `expired` set.
  asio::steady_timer deadline{stream.get_executor()};
  std::uint64_t deadline_generation = 0;  // a handler of an older arm (already queued) does nothing
  bool expired = false;

  void disarm_deadline() {
    ++deadline_generation;
    deadline.cancel();
  }
};

// Arms `c`'s read deadline `d` from now (replacing the previous one).
template <class Stream>
void arm_deadline(const std::shared_ptr<Connection<Stream>>& c, Duration d) {
  c->disarm_deadline();
  c->expired = false;
  c->deadline.expires_after(d);
  c->deadline.async_wait([weak = std::weak_ptr<Connection<Stream>>(c), generation = c->deadline_generation](error_code ec) {
    auto conn = weak.lock();
    if (ec || !conn || conn->deadline_generation != generation) return;
    conn->expired = true;
    conn->socket().cancel(ec);
  });
}

struct Route {
  ProviderPlayer* player = nullptr;  // null: answered right away with `immediate`
  model::ProviderApi api = model::ProviderApi::openai;
  sim::HttpErrorResponse immediate;
  bool by_model = false;             // gateway route: the body's `model` names the provider
};

// The gateway routes (no provider prefix): the request's `model` picks the provider.
std::optional<model::ProviderApi> gateway_api(std::string_view target) {
  if (target == "/v1/chat/completions") return model::ProviderApi::openai;
  if (target == "/v1/messages") return model::ProviderApi::anthropic;
  return std::nullopt;
}

}  // namespace

struct FaultServer::Impl : std::enable_shared_from_this<FaultServer::Impl> {
  Impl(asio::io_context& io_context, const scenarios::Scenario& scenario, ServeOptions opts)
      : io(io_context),
        options(std::move(opts)),
        plan(scenario.faults, options.seed.value_or(scenario.seed), scenario.horizon),
        acceptor(io_context),
        epoch(std::chrono::steady_clock::now()) {}

  TimePoint scenario_now() const {
    const auto real = std::chrono::steady_clock::now() - epoch;
    const double ns = static_cast<double>(std::chrono::duration_cast<Duration>(real).count()) / options.time_scale;
    return TimePoint{Duration{static_cast<std::int64_t>(std::min(ns, 9.0e18))}};
  }

  Route route(const http::request<http::string_body>& req) {
    std::string_view target{req.target().data(), req.target().size()};
    target = target.substr(0, target.find('?'));
    Route r;
    if (target.size() < 2 || target.front() != '/') {
      r.immediate = invalid_request(r.api, 404, "Invalid URL: no provider prefix");
      return r;
    }
    const std::size_t slash = target.find('/', 1);
    const std::string_view name = target.substr(1, slash == std::string_view::npos ? std::string_view::npos : slash - 1);
    const std::string_view rest = slash == std::string_view::npos ? std::string_view{} : target.substr(slash);
    auto it = by_name.find(name);
    if (const std::optional<model::ProviderApi> api = gateway_api(target); it == by_name.end() && api) {
      r.api = *api;
      r.by_model = req.method() == http::verb::post;
      if (!r.by_model) r.immediate = invalid_request(r.api, 405, "Method not allowed: use POST");
      return r;
    }
    if (it == by_name.end()) {
      r.immediate = invalid_request(r.api, 404, "Invalid URL: no provider named '" + std::string(name) + "' here");
      return r;
    }
    ProviderPlayer& p = *players[it->second];
    r.api = p.api();
    const std::string_view path = p.api() == model::ProviderApi::anthropic ? "/v1/messages" : "/v1/chat/completions";
    if (rest != path) {
      r.immediate = invalid_request(r.api, 404,
                                    "Invalid URL: provider '" + p.name() + "' speaks the " + std::string(to_string(p.api())) +
                                        " API at POST /" + p.name() + std::string(path));
      return r;
    }
    if (req.method() != http::verb::post) {
      r.immediate = invalid_request(r.api, 405, "Method not allowed: use POST");
      return r;
    }
    r.player = &p;
    return r;
  }

  // A gateway request's provider: the one its `model` names, if it speaks the route's API.
  void pick_by_model(Route& r, const WireRequest& w) {
    auto it = by_name.find(w.chat.model);
    if (it == by_name.end() || players[it->second]->api() != r.api) {
      r.immediate = invalid_request(r.api, 404, "The model '" + w.chat.model + "' does not exist here: name a provider of the " +
                                                    std::string(to_string(r.api)) + " API");
      return;
    }
    r.player = players[it->second].get();
  }

  // Whether `r`'s answer depends on the request body (a provider's route, or a gateway route's
  // `model`); the others are answered from the route alone.
  static bool needs_body(const Route& r) { return r.by_model || r.player != nullptr; }

  // The answer to a request on route `r` whose body reads as `w` (when needs_body(r)).
  Reply reply_to(Route r, const WireRequest& w) {
    if (r.by_model) {
      if (w.error.empty()) pick_by_model(r, w);
      else r.immediate = invalid_request(r.api, 400, w.error);
    }
    if (r.player) {
      if (w.error.empty()) {
        const auto unix_now = std::chrono::duration_cast<std::chrono::seconds>(
            std::chrono::system_clock::now().time_since_epoch());
        Reply reply = r.player->handle(w, scenario_now(), unix_now.count());
        if (options.request_log) log(*r.player, reply);
        return reply;
      }
      r.immediate = invalid_request(r.api, 400, w.error);
    }
    Reply reply;
    reply.status = r.immediate.status;
    reply.body = std::move(r.immediate.body);
    return reply;
  }

  // The thread large bodies are parsed on (kOffThreadParseBytes), started on the first one.
  asio::thread_pool& parse_thread() {
    if (!parse_pool) parse_pool.emplace(1);
    return *parse_pool;
  }

  void log(const ProviderPlayer& p, const Reply& reply) const {
    std::ostream& os = *options.request_log;
    os << p.name() << " #" << p.counters().requests - 1 << " ";
    switch (reply.kind) {
      case Reply::Kind::http: os << reply.status; break;
      case Reply::Kind::stream: os << reply.status << " stream of " << reply.frames.size() << " frames"; break;
      case Reply::Kind::hang: os << "hang"; break;
      case Reply::Kind::reset: os << "reset"; break;
    }
    if (reply.kind != Reply::Kind::hang) os << " after " << to_ms(reply.delay) << " ms";
    if (reply.end == Reply::End::cut) os << ", then cut";
    if (reply.end == Reply::End::stall) os << ", then stalls";
    if (!reply.fault.empty()) os << " fault=" << reply.fault;
    os << "\n";
    os.flush();
  }

  void track(const std::shared_ptr<ConnectionBase>& c, std::uint64_t id) { connections.emplace(id, c); }
  void forget(std::uint64_t id) { connections.erase(id); }

  void stop() {
    if (stopping) return;
    stopping = true;
    error_code ec;
    acceptor.close(ec);
    if (accept_backoff) accept_backoff->cancel();
    for (auto* group : {&connections, &refusing}) {
      std::map<std::uint64_t, std::weak_ptr<ConnectionBase>> open;
      open.swap(*group);
      for (auto& [id, weak] : open) {
        if (auto c = weak.lock()) c->close(false);
      }
    }
  }

  asio::io_context& io;
  ServeOptions options;
  faults::FaultPlan plan;
  std::vector<std::unique_ptr<ProviderPlayer>> players;
  std::map<std::string, std::size_t, std::less<>> by_name;
  std::vector<ProviderEndpoint> endpoints;
  tcp::acceptor acceptor;
  std::optional<asio::ssl::context> ssl;
  std::chrono::steady_clock::time_point epoch;
  std::map<std::uint64_t, std::weak_ptr<ConnectionBase>> connections;
  std::map<std::uint64_t, std::weak_ptr<ConnectionBase>> refusing;  // over the cap, being answered 503
  std::uint64_t next_id = 1;
  bool stopping = false;
  std::size_t body_bytes_reserved = 0;  // ServeLimits::body_memory_budget in use
  std::optional<asio::steady_timer> accept_backoff;
  // Declared last: destroyed (joined) first. No parse is ever in flight then, since each holds
  // its connection's coroutine, which holds this Impl.
  std::optional<asio::thread_pool> parse_pool;
};

namespace {

using Impl = FaultServer::Impl;

// Waits `d` on the connection's timer; false if the wait was cut short (stop, close).
template <class Stream>
asio::awaitable<bool> wait(Impl& impl, Connection<Stream>& c, Duration d) {
  if (d > Duration::zero()) {
    c.timer.expires_after(std::min(d, kMaxWait));
    error_code ec;
    co_await c.timer.async_wait(with_ec(ec));
    if (ec) co_return false;
  }
  co_return !impl.stopping;
}

// Holds the connection open, sending nothing, until the client goes away or the server stops.
template <class Stream>
asio::awaitable<void> hold(Connection<Stream>& c) {
  std::array<char, 1024> sink;
  for (;;) {
    error_code ec;
    co_await c.stream.async_read_some(asio::buffer(sink), with_ec(ec));
    if (ec) co_return;
  }
}

template <class Body>
void set_common(http::response<Body>& res, const Reply& reply, bool keep_alive) {
  res.result(static_cast<unsigned>(reply.status));
  if (reply.status == 529) res.reason("Overloaded");
  res.set(http::field::server, "keel-serve");
  res.set(http::field::content_type, reply.content_type);
  for (const auto& [name, value] : reply.headers) res.set(name, value);
  res.keep_alive(keep_alive);
}

// After a body or stream sent what it sends, `since` its status line: a clean end keeps the
// connection; a cut or a stall closes it at `cut_at` (the close then sends no terminating
// chunk), or holds it silent until the client leaves when there is none.
template <class Stream>
asio::awaitable<bool> finish(Impl& impl, Connection<Stream>& c, const Reply& reply, bool keep_alive,
                             std::chrono::steady_clock::time_point since) {
  if (reply.end == Reply::End::clean) co_return keep_alive;
  if (!reply.cut_at) {
    co_await hold(c);
    co_return false;
  }
  const Duration elapsed = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - since);
  co_await wait(impl, c, *reply.cut_at - elapsed);
  co_return false;
}

// The frames of a stream on their schedule (frame_at, from `since`), those due together in one
// chunk; false if the connection went away.
template <class Stream>
asio::awaitable<bool> send_frames(Impl& impl, Connection<Stream>& c, const Reply& reply,
                                  std::chrono::steady_clock::time_point since) {
  std::string chunk;
  for (std::size_t i = 0; i < reply.frames.size(); ++i) {
    chunk += reply.frames[i];
    if (i + 1 < reply.frames.size() && reply.frame_at[i + 1] <= reply.frame_at[i]) continue;
    const Duration elapsed = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - since);
    const bool waited = co_await wait(impl, c, reply.frame_at[i] - elapsed);
    if (!waited) co_return false;
    error_code ec;
    co_await asio::async_write(c.stream, http::make_chunk(asio::buffer(chunk)), with_ec(ec));
    if (ec) co_return false;
    chunk.clear();
  }
  co_return true;
}

// Puts one reply on the wire. True if the connection may serve another request.
template <class Stream>
asio::awaitable<bool> send(Impl& impl, Connection<Stream>& c, const Reply& reply, bool keep_alive, unsigned version) {
  error_code ec;
  switch (reply.kind) {
    case Reply::Kind::hang:
      co_await hold(c);
      co_return false;
    case Reply::Kind::reset: {
      const bool waited = co_await wait(impl, c, reply.delay);
      if (waited) c.close(/*reset=*/true);
      co_return false;
    }
    case Reply::Kind::http: {
      const bool waited = co_await wait(impl, c, reply.delay);
      if (!waited) co_return false;
      if (reply.body_sent < reply.body.size()) {  // headers promise the whole body; part of it comes
        const auto since = std::chrono::steady_clock::now();
        http::response<http::empty_body> res{http::status::ok, version};
        set_common(res, reply, false);
        res.content_length(reply.body.size());
        http::response_serializer<http::empty_body> serializer{res};
        co_await http::async_write_header(c.stream, serializer, with_ec(ec));
        if (!ec) co_await asio::async_write(c.stream, asio::buffer(reply.body.data(), reply.body_sent), with_ec(ec));
        if (!ec) co_await finish(impl, c, reply, false, since);
        co_return false;
      }
      http::response<http::string_body> res{http::status::ok, version};
      set_common(res, reply, keep_alive);
      res.body() = reply.body;
      res.prepare_payload();
      co_await http::async_write(c.stream, res, with_ec(ec));
      co_return !ec && keep_alive;
    }
    case Reply::Kind::stream: {
      const bool waited = co_await wait(impl, c, reply.delay);
      if (!waited) co_return false;
      const auto since = std::chrono::steady_clock::now();
      http::response<http::empty_body> res{http::status::ok, version};
      set_common(res, reply, keep_alive);
      res.set(http::field::cache_control, "no-cache");
      res.chunked(true);
      http::response_serializer<http::empty_body> serializer{res};
      co_await http::async_write_header(c.stream, serializer, with_ec(ec));
      if (ec) co_return false;
      const bool sent = co_await send_frames(impl, c, reply, since);
      if (!sent) co_return false;
      if (reply.end != Reply::End::clean) co_return co_await finish(impl, c, reply, false, since);
      co_await asio::async_write(c.stream, http::make_chunk_last(), with_ec(ec));
      co_return !ec && keep_alive;
    }
  }
  co_return false;
}

// Part of ServeLimits::body_memory_budget held while one body is read and parsed.
class BodyReservation {
 public:
  BodyReservation() = default;
  BodyReservation(Impl& impl, std::size_t bytes) : impl_(&impl), bytes_(bytes) { impl.body_bytes_reserved += bytes; }
  BodyReservation(BodyReservation&& o) noexcept : impl_(std::exchange(o.impl_, nullptr)), bytes_(o.bytes_) {}
  BodyReservation& operator=(BodyReservation&& o) noexcept {
    release();
    impl_ = std::exchange(o.impl_, nullptr);
    bytes_ = o.bytes_;
    return *this;
  }
  ~BodyReservation() { release(); }
  void release() {
    if (impl_) impl_->body_bytes_reserved -= bytes_;
    impl_ = nullptr;
  }

 private:
  Impl* impl_ = nullptr;
  std::size_t bytes_ = 0;
};

// How reading one request ended: a request, a refusal to answer before closing, or a silent
// end (the client went away, the idle timeout, stop).
struct Incoming {
  std::optional<http::request<http::string_body>> request;
  int refusal = 0;  // 400, 408, 413, 431, 503
  std::string message;
  model::ProviderApi api = model::ProviderApi::openai;  // the error body's shape
  BodyReservation reservation;
};

std::string body_too_large(const ServeLimits& limits) {
  return "the request body is larger than " + std::to_string(limits.max_body_bytes) + " bytes";
}

bool is_http_syntax_error(const error_code& ec) {
  if (ec.category() != http::make_error_code(http::error::bad_method).category()) return false;
  return ec != http::error::end_of_stream && ec != http::error::partial_message && ec != http::error::need_more;
}

std::string seconds_text(Duration d) {
  std::ostringstream os;
  os << std::chrono::duration<double>(d).count() << " s";
  return os.str();
}

// A refusal for the read error `ec` in `phase` ("header" or "body"); no refusal (silent end)
// when the client went away or the server is stopping.
template <class Stream>
Incoming refusal_for(const Impl& impl, const Connection<Stream>& c, const error_code& ec, std::string_view phase) {
  Incoming in;
  const ServeLimits& limits = impl.options.limits;
  if (impl.stopping) return in;
  if (c.expired) {
    in.refusal = 408;
    in.message = "the request " + std::string(phase) + " did not arrive within " +
                 seconds_text(phase == "header" ? limits.header_timeout : limits.body_timeout);
  } else if (ec == http::error::header_limit) {
    in.refusal = 431;
    in.message = "the request header is larger than " + std::to_string(limits.max_header_bytes) + " bytes";
  } else if (ec == http::error::body_limit) {
    in.refusal = 413;
    in.message = body_too_large(limits);
  } else if (is_http_syntax_error(ec)) {
    in.refusal = 400;
    in.message = "malformed HTTP/1.1 request: " + ec.message();
  }
  return in;
}

// The error shape of a request to `target` (the provider's api when the path names one).
model::ProviderApi api_of_target(const Impl& impl, std::string_view target) {
  if (target.size() < 2 || target.front() != '/') return model::ProviderApi::openai;
  const std::string_view name = target.substr(1, target.find_first_of("/?", 1) - 1);
  auto it = impl.by_name.find(name);
  return it == impl.by_name.end() ? model::ProviderApi::openai : impl.players[it->second]->api();
}

// Waits for a kept-alive connection's next request to start (within idle_timeout). False: end.
template <class Stream>
asio::awaitable<bool> await_next_request(Impl& impl, const std::shared_ptr<Connection<Stream>>& c,
                                         boost::beast::flat_buffer& buffer) {
  if (buffer.size() > 0) co_return true;  // pipelined: already here
  arm_deadline(c, impl.options.limits.idle_timeout);
  error_code ec;
  const std::size_t n = co_await c->stream.async_read_some(buffer.prepare(4096), with_ec(ec));
  buffer.commit(n);
  co_return !ec && !impl.stopping;
}

// Reads one request within the limits: header (size, deadline), the memory budget for its
// body, then the body (size, deadline). The caller has armed the header deadline.
template <class Stream>
asio::awaitable<Incoming> read_request(Impl& impl, std::shared_ptr<Connection<Stream>> c, boost::beast::flat_buffer& buffer) {
  const ServeLimits& limits = impl.options.limits;
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);
  error_code ec;
  co_await http::async_read_header(c->stream, buffer, parser, with_ec(ec));
  if (ec || impl.stopping) co_return refusal_for(impl, *c, ec, "header");
  const auto& header = parser.get();
  const std::size_t body_bytes = parser.content_length() ? static_cast<std::size_t>(*parser.content_length())
                                 : parser.chunked()       ? limits.max_body_bytes
                                                          : 0;
  Incoming in;
  in.api = api_of_target(impl, {header.target().data(), header.target().size()});
  if (body_bytes > limits.max_body_bytes) {
    in.refusal = 413;
    in.message = body_too_large(limits);
    co_return in;
  }
  if (impl.body_bytes_reserved + body_bytes > limits.body_memory_budget) {
    in.refusal = 503;
    in.message = "the server is buffering too many request bodies; retry shortly";
    co_return in;
  }
  in.reservation = BodyReservation{impl, body_bytes};
  if (boost::beast::iequals(header[http::field::expect], "100-continue")) {  // curl, for big bodies
    http::response<http::empty_body> go_on{http::status::continue_, header.version()};
    co_await http::async_write(c->stream, go_on, with_ec(ec));
    if (ec) co_return Incoming{};
  }
  arm_deadline(c, limits.body_timeout);
  co_await http::async_read(c->stream, buffer, parser, with_ec(ec));
  if (ec || impl.stopping) {
    Incoming refused = refusal_for(impl, *c, ec, "body");
    refused.api = api_of_target(impl, {header.target().data(), header.target().size()});
    co_return refused;
  }
  c->disarm_deadline();
  in.request = parser.release();
  co_return in;
}

// Answers a refusal with Connection: close, then drains what the client still sends for a
// moment so the close does not reset the answer away.
template <class Stream>
asio::awaitable<void> refuse(Impl& impl, std::shared_ptr<Connection<Stream>> c, const Incoming& in) {
  c->disarm_deadline();
  const sim::HttpErrorResponse body = invalid_request(in.api, in.refusal, in.message);
  http::response<http::string_body> res{static_cast<http::status>(in.refusal), 11};
  res.set(http::field::server, "keel-serve");
  res.set(http::field::content_type, "application/json");
  if (in.refusal == 503) res.set(http::field::retry_after, "1");
  res.keep_alive(false);
  res.body() = body.body;
  res.prepare_payload();
  error_code ec;
  arm_deadline(c, kLingerAfterRefusal);
  co_await http::async_write(c->stream, res, with_ec(ec));
  if (ec || impl.stopping) co_return;
  // Plain TCP says "no more" with a FIN; over TLS the client closes after the Connection: close
  // answer (a close_notify exchange would wait on a client that may never send its own).
  if constexpr (std::is_same_v<Stream, tcp::socket>) c->socket().shutdown(tcp::socket::shutdown_send, ec);
  std::array<char, 16384> sink;
  while (!ec && !c->expired) co_await c->stream.async_read_some(asio::buffer(sink), with_ec(ec));
}

// Parses `body` on the parse thread and completes with the result on the io thread (the
// handler's executor). The io context keeps running meanwhile (work guard), so `io.run()`
// never returns with a parse in flight.
template <class Token>
auto async_parse_off_thread(Impl& impl, model::ProviderApi api, std::string body, Token&& token) {
  auto initiate = [&impl, api](auto handler, std::string text) {
    asio::post(impl.parse_thread(), [api, text = std::move(text), handler = std::move(handler),
                                     io_work = asio::make_work_guard(impl.io)]() mutable {
      WireRequest parsed;
      try {
        parsed = parse_wire_request(api, text);
      } catch (const std::exception& e) {  // bad_alloc: parse_wire_request itself never throws
        parsed.error = std::string("the request could not be read: ") + e.what();
      }
      const auto io = asio::get_associated_executor(handler, io_work.get_executor());
      asio::post(io, [handler = std::move(handler), parsed = std::move(parsed)]() mutable {
        std::move(handler)(std::move(parsed));
      });
    });
  };
  return asio::async_initiate<Token, void(WireRequest)>(std::move(initiate), token, std::move(body));
}

// Reads a request body for `api`: small ones at once, large ones off the io thread, so one large
// body does not hold up every other connection for the length of its parse.
asio::awaitable<WireRequest> read_body(Impl& impl, model::ProviderApi api, std::string body) {
  if (body.size() < kOffThreadParseBytes) co_return parse_wire_request(api, body);
  co_return co_await async_parse_off_thread(impl, api, std::move(body), asio::use_awaitable);
}

template <class Stream>
asio::awaitable<void> serve_connection(std::shared_ptr<Impl> impl, std::shared_ptr<Connection<Stream>> c) {
  error_code ec;
  arm_deadline(c, impl->options.limits.header_timeout);  // the first request's, TLS handshake included
  if constexpr (!std::is_same_v<Stream, tcp::socket>) {
    co_await c->stream.async_handshake(asio::ssl::stream_base::server, with_ec(ec));
  }
  boost::beast::flat_buffer buffer;
  for (bool first = true; !ec && !impl->stopping; first = false) {
    if (!first) {
      if (!co_await await_next_request(*impl, c, buffer)) break;
      arm_deadline(c, impl->options.limits.header_timeout);
    }
    Incoming in = co_await read_request(*impl, c, buffer);
    if (!in.request) {
      if (in.refusal != 0) co_await refuse(*impl, c, in);
      break;
    }
    const bool keep_alive = in.request->keep_alive();
    const unsigned version = in.request->version();
    Route route = impl->route(*in.request);
    WireRequest wire;
    if (Impl::needs_body(route)) wire = co_await read_body(*impl, route.api, std::move(in.request->body()));
    if (impl->stopping) break;
    const Reply reply = impl->reply_to(std::move(route), wire);
    wire = WireRequest{};
    in = Incoming{};  // the body's memory goes back to the budget before the (maybe long) answer
    const bool again = co_await send(*impl, *c, reply, keep_alive, version);
    if (!again) break;
  }
  c->close(false);
  impl->forget(c->id);
}

// A connection over ServeLimits::max_connections: answered 503 with retry-after (over TLS once
// the handshake is done) and closed, all within about 2 x kLingerAfterRefusal. It holds no
// provider and no body; at most kMaxRefusing of them at once (the accept loop closes the rest).
template <class Stream>
asio::awaitable<void> refuse_over_cap(std::shared_ptr<Impl> impl, std::shared_ptr<Connection<Stream>> c) {
  error_code ec;
  arm_deadline(c, kLingerAfterRefusal);
  if constexpr (!std::is_same_v<Stream, tcp::socket>) {
    co_await c->stream.async_handshake(asio::ssl::stream_base::server, with_ec(ec));
  }
  if (!ec && !c->expired && !impl->stopping) {
    Incoming in;
    in.refusal = 503;
    in.message = "keel serve has " + std::to_string(impl->options.limits.max_connections) +
                 " connections open (its --max-connections); retry shortly";
    co_await refuse(*impl, c, in);
  }
  c->close(false);
  impl->refusing.erase(c->id);
}

// Starts serving (or, over the cap, refusing) an accepted connection.
template <class Stream, class... Tls>
void start_connection(const std::shared_ptr<Impl>& impl, tcp::socket socket, bool over_cap, Tls&... tls) {
  auto c = std::make_shared<Connection<Stream>>(std::move(socket), tls...);
  c->id = impl->next_id++;
  if (over_cap) {
    impl->refusing.emplace(c->id, c);
    asio::co_spawn(impl->io, refuse_over_cap<Stream>(impl, c), asio::detached);
  } else {
    impl->track(c, c->id);
    asio::co_spawn(impl->io, serve_connection<Stream>(impl, c), asio::detached);
  }
}

// Waits after a failed accept (EMFILE and the like persist: retrying at once spins the CPU).
asio::awaitable<void> back_off(Impl& impl, Duration& backoff) {
  if (!impl.accept_backoff) impl.accept_backoff.emplace(impl.io);
  impl.accept_backoff->expires_after(backoff);
  error_code ec;
  co_await impl.accept_backoff->async_wait(with_ec(ec));
  backoff = std::min(backoff * 2, kMaxAcceptBackoff);
}

asio::awaitable<void> accept_loop(std::shared_ptr<Impl> impl) {
  Duration backoff = kFirstAcceptBackoff;
  while (!impl->stopping) {
    error_code ec;
    tcp::socket socket = co_await impl->acceptor.async_accept(with_ec(ec));
    if (impl->stopping || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      co_await back_off(*impl, backoff);
      continue;
    }
    backoff = kFirstAcceptBackoff;
    const bool over_cap = impl->connections.size() >= impl->options.limits.max_connections;
    if (over_cap && impl->refusing.size() >= kMaxRefusing) {
      socket.close(ec);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    if (impl->ssl) start_connection<asio::ssl::stream<tcp::socket>>(impl, std::move(socket), over_cap, *impl->ssl);
    else start_connection<tcp::socket>(impl, std::move(socket), over_cap);
  }
}

std::vector<std::string> tool_names(const scenarios::Scenario& s) {
  std::vector<std::string> names;
  for (const scenarios::Tool& t : s.tools) names.push_back(t.name);
  return names;
}

}  // namespace

std::string check_limits(const ServeLimits& l) {
  constexpr std::size_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;
  auto size = [](std::string_view name, std::size_t v, std::size_t lo, std::size_t hi) -> std::string {
    if (v >= lo && v <= hi) return {};
    return std::string(name) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], found " +
           std::to_string(v);
  };
  auto time = [](std::string_view name, Duration v) -> std::string {
    if (v >= std::chrono::milliseconds{1} && v <= std::chrono::hours{1}) return {};
    return std::string(name) + " must be in [1ms, 1h], found " + seconds_text(v);
  };
  for (std::string e : {size("--max-connections", l.max_connections, 1, 65536),
                        size("--max-header-bytes", l.max_header_bytes, KiB, MiB),
                        size("--max-body-bytes", l.max_body_bytes, KiB, 256 * MiB),
                        size("--body-memory-budget", l.body_memory_budget, l.max_body_bytes, 4 * GiB),
                        time("--header-timeout", l.header_timeout), time("--body-timeout", l.body_timeout),
                        time("--idle-timeout", l.idle_timeout)}) {
    if (!e.empty()) return e;
  }
  return {};
}

FaultServer::FaultServer(asio::io_context& io, const scenarios::Scenario& scenario, ServeOptions options) {
  if (std::string e = check_limits(options.limits); !e.empty()) throw ServeError(e);
  if (!(options.time_scale > 0) || !std::isfinite(options.time_scale)) {
    throw ServeError("--time-scale must be a number > 0, found " + std::to_string(options.time_scale));
  }
  if (!options.allow_remote && !is_loopback_host(options.host)) {
    throw ServeError("refusing to listen on non-loopback address \"" + options.host +
                     "\": keel serve injects faults and has no authentication; pass --allow-remote to do it anyway");
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    throw ServeError("--tls-cert and --tls-key go together");
  }
  impl_ = std::make_shared<Impl>(io, scenario, std::move(options));
  Impl& impl = *impl_;

  const auto* agents = std::get_if<scenarios::AgentsWorkload>(&scenario.workload);
  const sim::ScriptedResponder responder{{agents ? static_cast<int>(agents->tool_calls_per_step) : 0, tool_names(scenario)}};
  const Rng root{impl.options.seed.value_or(scenario.seed)};
  for (const scenarios::Provider& p : scenario.providers) {
    impl.by_name.emplace(p.name, impl.players.size());
    impl.players.push_back(std::make_unique<ProviderPlayer>(p, root.substream("provider." + p.name), impl.plan, responder,
                                                            impl.options.time_scale));
  }

  if (!impl.options.tls_cert_file.empty()) {
    impl.ssl.emplace(asio::ssl::context::tls_server);
    try {
      impl.ssl->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                            asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
      impl.ssl->use_certificate_chain_file(impl.options.tls_cert_file);
      impl.ssl->use_private_key_file(impl.options.tls_key_file, asio::ssl::context::pem);
    } catch (const boost::system::system_error& e) {
      throw ServeError("cannot load the TLS certificate \"" + impl.options.tls_cert_file + "\" / key \"" +
                       impl.options.tls_key_file + "\": " + e.code().message());
    }
  }

  const std::string bind_host = impl.options.host == "localhost" ? "127.0.0.1" : impl.options.host;
  error_code ec;
  const asio::ip::address address = asio::ip::make_address(bind_host, ec);
  if (ec) throw ServeError("expected an IP address or \"localhost\", found \"" + impl.options.host + "\"");
  const tcp::endpoint endpoint{address, impl.options.port};
  auto fail = [&](const char* what) {
    return ServeError(std::string("cannot ") + what + " " + url_host(bind_host) + ":" + std::to_string(impl.options.port) +
                      ": " + ec.message());
  };
  if (impl.acceptor.open(endpoint.protocol(), ec); ec) throw fail("open a socket for");
  if (impl.acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec) throw fail("configure");
  if (impl.acceptor.bind(endpoint, ec); ec) throw fail("bind");
  if (impl.acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) throw fail("listen on");

  const std::string origin = std::string(impl.ssl ? "https" : "http") + "://" + url_host(impl.options.host) + ":" +
                             std::to_string(port());
  for (const auto& p : impl.players) {
    ProviderEndpoint e{p->name(), p->api(), origin + "/" + p->name(), {}};
    if (p->api() == model::ProviderApi::anthropic) {
      e.url = e.base_url + "/v1/messages";
    } else {
      e.base_url += "/v1";
      e.url = e.base_url + "/chat/completions";
    }
    impl.endpoints.push_back(std::move(e));
  }
  asio::co_spawn(io, accept_loop(impl_), asio::detached);
}

FaultServer::~FaultServer() {
  if (impl_) impl_->stop();
}

const std::vector<ProviderEndpoint>& FaultServer::endpoints() const noexcept { return impl_->endpoints; }

std::uint16_t FaultServer::port() const noexcept {
  error_code ec;
  const tcp::endpoint e = impl_->acceptor.local_endpoint(ec);
  return ec ? impl_->options.port : e.port();
}

bool FaultServer::tls() const noexcept { return impl_->ssl.has_value(); }

const ProviderCounters& FaultServer::counters(std::string_view provider) const {
  auto it = impl_->by_name.find(provider);
  if (it == impl_->by_name.end()) throw std::out_of_range("no provider named " + std::string(provider));
  return impl_->players[it->second]->counters();
}

std::size_t FaultServer::open_connections() const noexcept { return impl_->connections.size(); }

void FaultServer::stop() { impl_->stop(); }

void FaultServer::request_stop() {
  asio::post(impl_->io, [impl = impl_] { impl->stop(); });
}

}  // namespace keel::live::serve
