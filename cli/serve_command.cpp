// `keel serve FILE`: the scenario's providers as HTTP endpoints with its fault plan on the wire
// (runtime/live/serve, docs/serve.md). Prints one line per provider, then serves until
// SIGINT/SIGTERM.
#include <csignal>
#include <iostream>
#include <tuple>

#include "commands.h"
#include "keel/live/asio.h"
#include "keel/live/serve/fault_server.h"
#include "keel/config/duration.h"
#include "scenario_args.h"

#include <boost/asio/signal_set.hpp>

namespace keel::cli {

namespace {

constexpr const char* kServeFooter = R"(Routes: each provider is served under the path prefix /<provider name>:
  api "openai"     POST /<name>/v1/chat/completions   (SDK base URL: http://HOST:PORT/<name>/v1)
  api "anthropic"  POST /<name>/v1/messages           (SDK base URL: http://HOST:PORT/<name>)
Gateway routes: POST /v1/chat/completions and POST /v1/messages pick the provider the request's
"model" names (SDK base URL: http://HOST:PORT/v1 or http://HOST:PORT), for a fallback chain of
models on one endpoint (keel call --base-url http://HOST:PORT/v1 --model a --model b).
"stream": true answers with SSE as the real API frames it. On start keel serve prints one line
per provider: "<name> <api> <base URL>", then serves until SIGINT/SIGTERM (exit 0).
Exit status 2: invalid scenario or arguments, a non-loopback --listen without --allow-remote,
a TLS certificate/key that does not load, an address that cannot be bound, or a limit outside
its bounds. Hostile requests meet the limits: 400 malformed, 408 too slow, 413 body too large,
431 header too large, 503 over the connection cap or the body memory budget. See docs/serve.md.)";

// The ServeLimits options (defaults and bounds: fault_server.h, docs/serve.md "Limits").
void add_limit_options(CLI::App& cmd, live::serve::ServeLimits& limits, std::string& header_timeout,
                       std::string& body_timeout, std::string& idle_timeout) {
  cmd.add_option("--max-connections", limits.max_connections,
                 "Connections open at once; more are answered 503 and closed [1, 65536]")
      ->capture_default_str();
  cmd.add_option("--max-header-bytes", limits.max_header_bytes, "Largest request header, else 431 [1024, 1 MiB]")
      ->capture_default_str();
  cmd.add_option("--max-body-bytes", limits.max_body_bytes, "Largest request body, else 413 [1024, 256 MiB]")
      ->capture_default_str();
  cmd.add_option("--body-memory-budget", limits.body_memory_budget,
                 "Bytes of request bodies buffered at once over all connections, else 503 [max-body-bytes, 4 GiB]")
      ->capture_default_str();
  cmd.add_option("--header-timeout", header_timeout, "Real time for a request header to arrive, else 408 [1ms, 1h]")
      ->capture_default_str();
  cmd.add_option("--body-timeout", body_timeout, "Real time for a request body to arrive, else 408 [1ms, 1h]")
      ->capture_default_str();
  cmd.add_option("--idle-timeout", idle_timeout, "Real time a kept-alive connection may wait for its next request [1ms, 1h]")
      ->capture_default_str();
}

}  // namespace

Command add_serve(CLI::App& app) {
  struct Args {
    std::string file;
    std::string listen = "127.0.0.1:0";
    double time_scale = 1.0;
    std::optional<std::uint64_t> seed;
    std::string tls_cert, tls_key;
    bool allow_remote = false;
    bool log = false;
    live::serve::ServeLimits limits;
    std::string header_timeout = "10s", body_timeout = "30s", idle_timeout = "60s";
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("serve", "Serve the scenario's providers over HTTP with its faults on the wire");
  cmd->footer(kServeFooter);
  cmd->add_option("FILE", args->file, "Scenario file")->required();
  cmd->add_option("--listen", args->listen, "HOST:PORT to listen on (loopback only unless --allow-remote; port 0 = any)")
      ->capture_default_str();
  cmd->add_option("--time-scale", args->time_scale,
                  "Multiply every scenario duration (latencies, fault windows, retry-after) by this factor, > 0")
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed for latencies and fault probabilities (default: the scenario's)")
      ->check(unsigned_integer());
  auto* cert = cmd->add_option("--tls-cert", args->tls_cert, "Serve HTTPS with this PEM certificate chain");
  auto* key = cmd->add_option("--tls-key", args->tls_key, "PEM private key for --tls-cert");
  cert->needs(key);
  key->needs(cert);
  cmd->add_flag("--allow-remote", args->allow_remote, "Allow a non-loopback --listen address");
  cmd->add_flag("--log", args->log, "Log one line per request to stderr: provider, index, answer, delay, fault");
  add_limit_options(*cmd, args->limits, args->header_timeout, args->body_timeout, args->idle_timeout);
  return [cmd, args]() -> int {
    if (!cmd->parsed()) return -1;
    std::optional<scenarios::Scenario> scenario = load_or_report(args->file);
    if (!scenario) return kExitInvalid;
    boost::asio::io_context io;
    std::optional<live::serve::FaultServer> server;
    for (auto [text, field, name] : {std::tuple{&args->header_timeout, &args->limits.header_timeout, "--header-timeout"},
                                     {&args->body_timeout, &args->limits.body_timeout, "--body-timeout"},
                                     {&args->idle_timeout, &args->limits.idle_timeout, "--idle-timeout"}}) {
      std::string why;
      const std::optional<Duration> d = config::parse_duration(*text, &why);
      if (!d) {
        std::cerr << "keel serve: " << name << " expects a duration such as 10s or 500ms: " << why << "\n";
        return kExitInvalid;
      }
      *field = *d;
    }
    try {
      const live::serve::ListenAddress listen = live::serve::parse_listen_address(args->listen);
      server.emplace(io, *scenario,
                     live::serve::ServeOptions{.host = listen.host,
                                               .port = listen.port,
                                               .time_scale = args->time_scale,
                                               .allow_remote = args->allow_remote,
                                               .seed = args->seed,
                                               .tls_cert_file = args->tls_cert,
                                               .tls_key_file = args->tls_key,
                                               .request_log = args->log ? &std::cerr : nullptr,
                                               .limits = args->limits});
    } catch (const live::serve::ServeError& e) {
      std::cerr << "keel serve: " << e.what() << "\n";
      return kExitInvalid;
    }
    for (const live::serve::ProviderEndpoint& e : server->endpoints()) {
      std::cout << e.name << " " << to_string(e.api) << " " << e.base_url << "\n";
    }
    std::cout.flush();
    std::cerr << "keel serve: " << scenario->name << " on port " << server->port() << ", time scale "
              << args->time_scale << "; Ctrl-C stops\n";
    boost::asio::signal_set signals{io, SIGINT, SIGTERM};
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (!ec) server->stop();
    });
    io.run();
    std::cerr << "keel serve: stopped\n";
    return kExitOk;
  };
}

}  // namespace keel::cli
