// The runtime's ModelManager over the live transports on loopback: a 429 with retry-after-ms is
// honoured and retried, and a failing OpenAI-compatible endpoint falls back to Anthropic —
// the same behaviour the simulator checks, on real sockets. Real time well under a second.
#include <chrono>

#include <gtest/gtest.h>

#include "keel/live/http_transport.h"
#include "keel/model/model_manager.h"
#include "live/live_test_support.h"
#include "live/loopback_server.h"

namespace keel::live {
namespace {

using namespace std::chrono_literals;
using model::ChatResponse;
using model::ProviderApi;
using test::LoopbackServer;
using test::Request;
using test::ServerConnection;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kOpenAiOk =
    R"({"model":"gpt","choices":[{"index":0,"message":{"content":"from openai"},"finish_reason":"stop"}]})";
constexpr std::string_view kAnthropicOk =
    R"({"model":"claude","content":[{"type":"text","text":"from anthropic"}],"stop_reason":"end_turn"})";

model::ModelManagerConfig quick() {
  model::ModelManagerConfig c;
  c.retry.max_attempts = 2;
  c.retry.backoff = {.base = 5ms, .max = 10ms};
  c.attempt_timeout = 2s;
  c.call_timeout = 5s;
  return c;
}

model::ChatRequest hello() {
  model::ChatRequest r;
  r.messages = {model::Message::user("hi")};
  return r;
}

using LiveModelManager = test::NoLeakedFds;

TEST_F(LiveModelManager, RetryAfterMsIsHonouredThenTheRetrySucceeds) {
  int n = 0;
  LoopbackServer server{[&](ServerConnection& c, const Request&) {
    if (n++ == 0) {
      return c.write(test::response(429, R"({"error":{"code":"rate_limit_exceeded","message":"wait"}})",
                                    "retry-after-ms: 60\r\n"));
    }
    return c.write(test::response(200, kOpenAiOk));
  }};
  boost::asio::io_context io;
  AsioScheduler sched{io};
  HttpClient http{sched};
  HttpModelTransport openai{http, {.name = "openai", .base_url = server.url() + "/v1", .api_key = Secret{"k"}, .model = "gpt"}};
  model::ModelManager manager{quick(), {&openai}, Rng{1}};
  const auto start = Clock::now();
  Result<ChatResponse> r = test::run_task(sched, manager.complete(hello()));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->message.content, "from openai");
  EXPECT_GE(Clock::now() - start, 60ms) << "waited the server's retry-after-ms";
  EXPECT_EQ(manager.counters().attempts, 2u);
  EXPECT_EQ(server.requests(), 2);
}

TEST_F(LiveModelManager, AFailingOpenAiEndpointFallsBackToAnthropic) {
  LoopbackServer failing{[](ServerConnection& c, const Request&) {
    return c.write(test::response(500, R"({"error":{"type":"server_error","message":"boom"}})"));
  }};
  LoopbackServer anthropic{[](ServerConnection& c, const Request&) { return c.write(test::response(200, kAnthropicOk)); }};
  boost::asio::io_context io;
  AsioScheduler sched{io};
  HttpClient http{sched};
  HttpModelTransport primary{http, {.name = "openai", .base_url = failing.url() + "/v1", .api_key = Secret{"k"}, .model = "gpt"}};
  HttpModelTransport fallback{http, {.name = "anthropic", .api = ProviderApi::anthropic,
                                     .base_url = anthropic.url() + "/v1", .api_key = Secret{"k2"}, .model = "claude"}};
  model::ModelManager manager{quick(), {&primary, &fallback}, Rng{1}};
  Result<ChatResponse> r = test::run_task(sched, manager.complete(hello()));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->message.content, "from anthropic");
  EXPECT_EQ(r->provider, "anthropic");
  EXPECT_EQ(failing.requests(), 2) << "two attempts on the failing model first";
  EXPECT_EQ(manager.counters().fallbacks, 1u);
}

}  // namespace
}  // namespace keel::live
