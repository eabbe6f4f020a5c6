// `keel serve FILE`: the scenario's providers as HTTP endpoints with its fault plan on the wire
// (runtime/live/serve, docs/serve.md). Prints one line per provider, then serves until
// SIGINT/SIGTERM.
#include <csignal>
#include <iostream>

#include "commands.h"
#include "keel/live/asio.h"
#include "keel/live/serve/fault_server.h"
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
a TLS certificate/key that does not load, or an address that cannot be bound. See docs/serve.md.)";

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
  return [cmd, args]() -> int {
    if (!cmd->parsed()) return -1;
    std::optional<scenarios::Scenario> scenario = load_or_report(args->file);
    if (!scenario) return kExitInvalid;
    boost::asio::io_context io;
    std::optional<live::serve::FaultServer> server;
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
                                               .request_log = args->log ? &std::cerr : nullptr});
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
