// FaultServer: the HTTP/1.1 side of keel serve — accept, read requests, route them to the
// provider players, and put each Reply on the wire (timers, SSE chunks, hangs, resets).
#include "keel/live/serve/fault_server.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>

#include "keel/live/asio.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
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

constexpr std::size_t kMaxBodyBytes = 64u << 20;
// A wait longer than this is a hang in practice; capping it keeps steady_clock arithmetic finite.
constexpr Duration kMaxWait = std::chrono::hours{24 * 365};

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
    if (reset) socket().set_option(asio::socket_base::linger(true, 0), ec);
    socket().close(ec);
  }

  Stream stream;
  asio::steady_timer timer;
  std::uint64_t id = 0;
};

using PlainConnection = Connection<tcp::socket>;
using TlsConnection = Connection<asio::ssl::stream<tcp::socket>>;

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

  Reply reply_to(const http::request<http::string_body>& req) {
    Route r = route(req);
    std::optional<WireRequest> parsed;
    if (r.by_model) {
      parsed = parse_wire_request(r.api, req.body());
      if (parsed->error.empty()) pick_by_model(r, *parsed);
      else r.immediate = invalid_request(r.api, 400, parsed->error);
    }
    if (r.player) {
      WireRequest w = parsed ? std::move(*parsed) : parse_wire_request(r.api, req.body());
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

  void log(const ProviderPlayer& p, const Reply& reply) const {
    std::ostream& os = *options.request_log;
    os << p.name() << " #" << p.counters().requests - 1 << " ";
    switch (reply.kind) {
      case Reply::Kind::http: os << reply.status; break;
      case Reply::Kind::stream: os << reply.status << " stream of " << reply.frames.size() << " frames"; break;
      case Reply::Kind::hang: os << "hang"; break;
      case Reply::Kind::reset: os << "reset"; break;
    }
    if (reply.end == Reply::End::cut) os << ", then cut";
    if (reply.end == Reply::End::stall) os << ", then stalls";
    if (reply.kind != Reply::Kind::hang) os << " after " << to_ms(reply.delay) << " ms";
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
    std::map<std::uint64_t, std::weak_ptr<ConnectionBase>> open;
    open.swap(connections);
    for (auto& [id, weak] : open) {
      if (auto c = weak.lock()) c->close(false);
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
  std::uint64_t next_id = 1;
  bool stopping = false;
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

// After a body or stream sent what it sends: a clean end keeps the connection; a cut closes
// it at once; a stall keeps it silent (for `stall`, or until the client leaves), then cuts.
template <class Stream>
asio::awaitable<bool> finish(Impl& impl, Connection<Stream>& c, const Reply& reply, bool keep_alive) {
  if (reply.end == Reply::End::clean) co_return keep_alive;
  if (reply.end == Reply::End::stall) {
    if (reply.stall) co_await wait(impl, c, *reply.stall);
    else co_await hold(c);
  }
  co_return false;
}

// The frames of a stream on their schedule, those due together in one chunk; false if the
// connection went away.
template <class Stream>
asio::awaitable<bool> send_frames(Impl& impl, Connection<Stream>& c, const Reply& reply) {
  const auto start = std::chrono::steady_clock::now();
  std::string chunk;
  for (std::size_t i = 0; i < reply.frames.size(); ++i) {
    chunk += reply.frames[i];
    if (i + 1 < reply.frames.size() && reply.frame_at[i + 1] <= reply.frame_at[i]) continue;
    const Duration elapsed = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - start);
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
        http::response<http::empty_body> res{http::status::ok, version};
        set_common(res, reply, keep_alive);
        res.content_length(reply.body.size());
        http::response_serializer<http::empty_body> serializer{res};
        co_await http::async_write_header(c.stream, serializer, with_ec(ec));
        if (!ec) co_await asio::async_write(c.stream, asio::buffer(reply.body.data(), reply.body_sent), with_ec(ec));
        if (!ec) co_await finish(impl, c, reply, false);
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
      http::response<http::empty_body> res{http::status::ok, version};
      set_common(res, reply, keep_alive);
      res.set(http::field::cache_control, "no-cache");
      res.chunked(true);
      http::response_serializer<http::empty_body> serializer{res};
      co_await http::async_write_header(c.stream, serializer, with_ec(ec));
      if (ec) co_return false;
      const bool sent = co_await send_frames(impl, c, reply);
      if (!sent) co_return false;
      if (reply.end != Reply::End::clean) {
        co_await finish(impl, c, reply, false);
        co_return false;
      }
      co_await asio::async_write(c.stream, http::make_chunk_last(), with_ec(ec));
      co_return !ec && keep_alive;
    }
  }
  co_return false;
}

template <class Stream>
asio::awaitable<void> serve_connection(std::shared_ptr<Impl> impl, std::shared_ptr<Connection<Stream>> c) {
  error_code ec;
  if constexpr (!std::is_same_v<Stream, tcp::socket>) {
    co_await c->stream.async_handshake(asio::ssl::stream_base::server, with_ec(ec));
  }
  boost::beast::flat_buffer buffer;
  while (!ec && !impl->stopping) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    co_await http::async_read_header(c->stream, buffer, parser, with_ec(ec));
    if (ec || impl->stopping) break;
    if (boost::beast::iequals(parser.get()[http::field::expect], "100-continue")) {  // curl, for big bodies
      http::response<http::empty_body> go_on{http::status::continue_, parser.get().version()};
      co_await http::async_write(c->stream, go_on, with_ec(ec));
      if (ec) break;
    }
    co_await http::async_read(c->stream, buffer, parser, with_ec(ec));
    if (ec || impl->stopping) break;
    const http::request<http::string_body> req = parser.release();
    const Reply reply = impl->reply_to(req);
    const bool again = co_await send(*impl, *c, reply, req.keep_alive(), req.version());
    if (!again) break;
  }
  c->close(false);
  impl->forget(c->id);
}

asio::awaitable<void> accept_loop(std::shared_ptr<Impl> impl) {
  while (!impl->stopping) {
    error_code ec;
    tcp::socket socket = co_await impl->acceptor.async_accept(with_ec(ec));
    if (impl->stopping || ec == asio::error::operation_aborted) co_return;
    if (ec) continue;
    socket.set_option(tcp::no_delay(true), ec);
    const std::uint64_t id = impl->next_id++;
    if (impl->ssl) {
      auto c = std::make_shared<TlsConnection>(std::move(socket), *impl->ssl);
      c->id = id;
      impl->track(c, id);
      asio::co_spawn(impl->io, serve_connection<asio::ssl::stream<tcp::socket>>(impl, c), asio::detached);
    } else {
      auto c = std::make_shared<PlainConnection>(std::move(socket));
      c->id = id;
      impl->track(c, id);
      asio::co_spawn(impl->io, serve_connection<tcp::socket>(impl, c), asio::detached);
    }
  }
}

std::vector<std::string> tool_names(const scenarios::Scenario& s) {
  std::vector<std::string> names;
  for (const scenarios::Tool& t : s.tools) names.push_back(t.name);
  return names;
}

}  // namespace

FaultServer::FaultServer(asio::io_context& io, const scenarios::Scenario& scenario, ServeOptions options) {
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
