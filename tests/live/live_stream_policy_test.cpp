// The stream policies live (issue 15): HttpModelTransport hands SSE events to the shared
// decoder through the ModelManager, on a real loopback socket — a complete stream without
// [DONE] is an answer, one malformed event among complete tokens is skipped, an idle limit
// ends a stalled stream and a first-token limit a silent one, in real time.
#include <gtest/gtest.h>

#include <chrono>

#include "keel/live/asio.h"
#include "keel/live/http_transport.h"
#include "keel/model/model_manager.h"
#include "live/live_test_support.h"
#include "live/loopback_server.h"

namespace keel::live {
namespace {

using namespace std::chrono_literals;
using model::ChatRequest;
using model::ChatResponse;
using model::ProviderApi;
using test::LoopbackServer;
using test::Request;
using test::ServerConnection;
using Clock = std::chrono::steady_clock;

constexpr const char* kTwoTokens =
    "data: {\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"He\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"llo\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2}}\n\n";

struct Live {
  explicit Live(const LoopbackServer& server, model::StreamPolicy policy = {})
      : sched(io), client(sched, HttpClientConfig{.timeouts = {.connect = 2s, .first_byte = 5s, .idle = 5s, .total = 10s}}),
        transport(client, ProviderConfig{.name = "gpt", .api = ProviderApi::openai, .base_url = server.url() + "/v1",
                                         .api_key = Secret{std::string("k")}, .model = "m"}),
        manager(config(policy), {&transport}, Rng{1}) {}
  static model::ModelManagerConfig config(model::StreamPolicy policy) {
    model::ModelManagerConfig c;
    c.retry.max_attempts = 1;
    c.breaker.reset();
    c.stream = policy;
    return c;
  }
  Result<ChatResponse> call() {
    ChatRequest r;
    r.messages = {model::Message::user("hi")};
    r.stream = true;
    return test::run_task(sched, manager.complete(std::move(r)));
  }
  boost::asio::io_context io;
  AsioScheduler sched;
  HttpClient client;
  HttpModelTransport transport;
  model::ModelManager manager;
};

using LiveStreamPolicy = test::NoLeakedFds;

TEST_F(LiveStreamPolicy, ACompleteStreamWithoutDoneIsAnAnswerWithItsUsage) {
  LoopbackServer server{[](ServerConnection& c, const Request&) {
    return c.write(test::sse_head()) && c.write(test::chunk(kTwoTokens)) && c.write(test::last_chunk());
  }};
  Live live{server};
  Result<ChatResponse> r = live.call();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->message.content, "Hello");
  EXPECT_EQ(r->usage.completion_tokens, 2);
  EXPECT_EQ(r->provider, "gpt");
  EXPECT_EQ(live.manager.counters().attempts, 1u);
}

TEST_F(LiveStreamPolicy, OneMalformedEventAmongEveryTokenIsSkipped) {
  LoopbackServer server{[](ServerConnection& c, const Request&) {
    return c.write(test::sse_head()) && c.write(test::chunk("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The ans\n\n")) &&
           c.write(test::chunk(kTwoTokens)) && c.write(test::chunk("data: [DONE]\n\n")) && c.write(test::last_chunk());
  }};
  Live live{server};
  Result<ChatResponse> r = live.call();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->message.content, "Hello");
  EXPECT_EQ(live.manager.counters().stream_events_skipped, 1u);
}

TEST_F(LiveStreamPolicy, TheIdleLimitEndsAStalledStream) {
  LoopbackServer server{[](ServerConnection& c, const Request&) {
    c.write(test::sse_head());
    c.write(test::chunk("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"));
    return false;  // then silence, the connection held open
  }};
  Live live{server, {.idle = 100ms}};
  const auto start = Clock::now();
  Result<ChatResponse> r = live.call();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().find(ErrorCode::timeout) != nullptr, true) << r.error();
  EXPECT_LT(Clock::now() - start, 2s);  // the transport's own idle limit is 5 s
  EXPECT_EQ(live.manager.counters().idle_timeouts, 1u);
}

TEST_F(LiveStreamPolicy, TheFirstTokenLimitEndsAStreamThatNeverProduces) {
  LoopbackServer server{[](ServerConnection& c, const Request&) {
    c.write(test::sse_head());
    c.write(test::chunk("data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"));
    return false;
  }};
  Live live{server, {.first_token = 150ms}};
  const auto start = Clock::now();
  Result<ChatResponse> r = live.call();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find(ErrorCode::timeout), nullptr) << r.error();
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(live.manager.counters().first_token_timeouts, 1u);
}

}  // namespace
}  // namespace keel::live
