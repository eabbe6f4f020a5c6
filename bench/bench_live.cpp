// bench_live — the live transport with every policy against `keel serve` on loopback (no
// faults, no latency), next to plain Beast clients without policies in the same binary.
//
// Every client sends the same kind of request, one at a time over one keep-alive connection,
// to the same FaultServer running on its own thread. Reported per benchmark: requests/s
// (items_per_second) and the p50/p99 latency of single requests (counters p50_us, p99_us).
// The server's work is the same for every client, so compare within one run.
//
// Which plain client is the baseline (issue 7's "<= 5 % overhead vs a plain Beast client"):
//  - BM_PlainBeastAsyncJson is THE baseline: what a user writes without keel for the same job —
//    build the OpenAI JSON request (nlohmann), send it, parse the JSON answer (nlohmann), on an
//    io_context with a per-request timeout (tcp_stream::expires_after). keel does all of that
//    and more (classification, retry, breaker, budget, attempt and call timeouts); a client
//    that cannot time out or does not touch the JSON is not doing the same work.
//  - BM_PlainBeastSyncJson: the same JSON work, blocking, with no timeout at all. A floor for a
//    client that does the job but cannot release its caller at a deadline.
//  - BM_PlainBeastClient: blocking, a pre-built body, the answer's status checked and its body
//    never parsed: the wire floor (HTTP over loopback and the server), not a comparable client.
// The plain clients use nlohmann as a typical user would; keel's codec has its own JSON reader
// and writer (runtime/live/src/json_*), which is part of what is measured.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <pthread.h>
#include <thread>
#include <vector>

#include "keel/core/spawn.h"
#include "keel/live/asio.h"
#include "keel/live/asio_scheduler.h"
#include "keel/live/http_client.h"
#include "keel/live/http_transport.h"
#include "keel/live/serve/fault_server.h"
#include "keel/model/model_manager.h"
#include "keel/scenarios/loader.h"

#include <nlohmann/json.hpp>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace {

using namespace keel;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kScenario = R"({
  "keel_scenario": 1, "name": "bench_live", "horizon": "24h",
  "providers": [{"name": "p", "latency": {"fixed": "0s"}, "output_tokens": 20}],
  "workload": {"kind": "agents"}
})";

// keel serve on its own thread for the life of the process.
struct Server {
  Server() : scenario(*scenarios::load_scenario(kScenario).scenario), server(io, scenario, {}) {
    thread = std::thread([this] { io.run(); });
    pthread_setname_np(thread.native_handle(), "keel-serve");  // told apart in profiles
  }
  ~Server() {
    server.request_stop();
    thread.join();
  }
  boost::asio::io_context io;
  scenarios::Scenario scenario;
  live::serve::FaultServer server;
  std::thread thread;
};

Server& server() {
  static Server s;
  return s;
}

void report(benchmark::State& state, std::vector<double>& us) {
  std::sort(us.begin(), us.end());
  state.SetItemsProcessed(static_cast<std::int64_t>(us.size()));
  if (us.empty()) return;
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
}

model::ChatRequest request() {
  model::ChatRequest r;
  r.messages = {model::Message::user("What is the weather in Paris today?")};
  r.prompt_tokens = 10;
  return r;
}

// The request both plain clients send (the target is provider "p"'s chat completions route).
http::request<http::string_body> plain_request(std::string body) {
  http::request<http::string_body> req{http::verb::post, "/p/v1/chat/completions", 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::authorization, "Bearer bench");
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

// A keep-alive TCP connection to keel serve.
void connect(beast::tcp_stream& stream) {
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), server().server.port()));
}

// The OpenAI request body as a user builds it, and the check a user makes of the answer.
std::string plain_json_body() {
  return nlohmann::json{{"model", "p"},
                        {"messages", {{{"role", "user"}, {"content", "What is the weather in Paris today?"}}}},
                        {"max_tokens", 1024}}
      .dump();
}
bool plain_answer_ok(const http::response<http::string_body>& res) {
  if (res.result() != http::status::ok) return false;
  const nlohmann::json answer = nlohmann::json::parse(res.body(), nullptr, false);
  return !answer.is_discarded() && answer.contains("choices");
}

// The wire floor: blocking, a pre-built body, only the status checked (no JSON either way).
void BM_PlainBeastClient(benchmark::State& state) {
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  connect(stream);
  const std::string body =
      R"({"model":"p","messages":[{"role":"user","content":"What is the weather in Paris today?"}],"max_tokens":1024})";
  std::vector<double> us;
  beast::flat_buffer buffer;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    http::write(stream, plain_request(body));
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    if (res.result() != http::status::ok) {
      state.SkipWithError("non-200 answer");
      break;
    }
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  report(state, us);
}
BENCHMARK(BM_PlainBeastClient)->UseRealTime()->MinTime(2.0);

// Blocking with the JSON work: request built and answer parsed per call; no timeout possible.
void BM_PlainBeastSyncJson(benchmark::State& state) {
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  connect(stream);
  std::vector<double> us;
  beast::flat_buffer buffer;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    http::write(stream, plain_request(plain_json_body()));
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    if (!plain_answer_ok(res)) {
      state.SkipWithError("request failed");
      break;
    }
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  report(state, us);
}
BENCHMARK(BM_PlainBeastSyncJson)->UseRealTime()->MinTime(2.0);

// The baseline (see the header): Beast async on an io_context, the JSON request built and the
// JSON answer parsed per call, a per-request timeout (tcp_stream::expires_after) — but no
// retry, breaker, budget or classification.
void BM_PlainBeastAsyncJson(benchmark::State& state) {
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  connect(stream);
  std::vector<double> us;
  beast::flat_buffer buffer;
  bool failed = false;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    http::request<http::string_body> req = plain_request(plain_json_body());
    http::response<http::string_body> res;
    stream.expires_after(std::chrono::seconds(30));
    http::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
      if (ec) { failed = true; return; }
      http::async_read(stream, buffer, res, [&](beast::error_code ec2, std::size_t) {
        failed = ec2 || !plain_answer_ok(res);
      });
    });
    io.restart();
    io.run();
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (failed) {
      state.SkipWithError("request failed");
      break;
    }
  }
  report(state, us);
}
BENCHMARK(BM_PlainBeastAsyncJson)->UseRealTime()->MinTime(2.0);

// keel: ModelManager (retry, budget, breaker, attempt and call timeouts) over
// HttpModelTransport (keep-alive pool, JSON encode/decode, classification) on an AsioScheduler.
void BM_KeelModelManager(benchmark::State& state) {
  const live::serve::ProviderEndpoint& e = server().server.endpoints().front();
  boost::asio::io_context io;
  live::AsioScheduler sched{io};
  live::HttpClient http{sched};
  live::HttpModelTransport transport{http, {.name = "p", .base_url = e.base_url, .api_key = Secret{"bench"}, .model = "p"}};
  model::ModelManager manager{model::ModelManagerConfig{}, {&transport}, Rng{1}};
  std::vector<double> us;
  bool failed = false;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    spawn(sched, manager.complete(request()), [&](Result<model::ChatResponse> r) { failed = failed || !r; });
    io.restart();
    io.run();
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (failed) {
      state.SkipWithError("a call failed");
      break;
    }
  }
  report(state, us);
}
BENCHMARK(BM_KeelModelManager)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
