// HttpModelTransport + HttpClient against a loopback server answering canned provider
// responses on a real socket: success, streaming, every error shape the simulator produces
// (same classification), hangs and stalls (timeouts close the socket), resets, cancellation,
// keep-alive pooling and no leaked descriptors. Real-time limits are tens of milliseconds.
#include "keel/live/http_transport.h"

#include <atomic>
#include <chrono>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "keel/core/cancel.h"
#include "keel/core/when.h"
#include "keel/model/classify.h"
#include "keel/sim/provider_errors.h"
#include "live/live_test_support.h"
#include "live/loopback_server.h"

namespace keel::live {
namespace {

using namespace std::chrono_literals;
using model::ChatRequest;
using model::ChatResponse;
using model::FinishReason;
using model::Message;
using model::ProviderApi;
using test::LoopbackServer;
using test::Request;
using test::ServerConnection;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kKey = "sk-test-0123456789abcdef";

ChatRequest hello(bool stream = false) {
  ChatRequest r;
  r.messages = {Message::system("be terse"), Message::user("hi")};
  r.stream = stream;
  return r;
}

ProviderConfig provider(ProviderApi api, const LoopbackServer& server, std::string_view host = "127.0.0.1") {
  ProviderConfig c;
  c.name = api == ProviderApi::anthropic ? "claude" : "gpt";
  c.api = api;
  c.base_url = server.url(host) + "/v1";
  c.api_key = Secret{std::string(kKey)};
  c.model = "m1";
  return c;
}

HttpClientConfig fast(Duration first_byte = 2s, Duration idle = 2s) {
  HttpClientConfig c;
  c.timeouts = {.connect = 2s, .first_byte = first_byte, .idle = idle, .total = 5s};
  return c;
}

// One event loop, one client: what each test drives.
struct Rig {
  explicit Rig(HttpClientConfig config = fast()) : sched(io), client(sched, std::move(config)) {}
  Result<ChatResponse> call(HttpModelTransport& t, ChatRequest req, CancelToken token = {}) {
    return test::run_task(sched, t.complete(std::move(req)), token);
  }
  boost::asio::io_context io;
  AsioScheduler sched;
  HttpClient client;
};

constexpr std::string_view kOpenAiOk = R"({"id":"c1","model":"m1-2024","choices":[{"index":0,
  "message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
  "function":{"name":"lookup","arguments":"{\"q\":\"x\"}"}}]},"finish_reason":"tool_calls"}],
  "usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}})";

using HttpTransport = test::NoLeakedFds;

TEST_F(HttpTransport, OpenAiSuccessMapsToolCallsUsageAndSendsTheKeyOnlyOnTheWire) {
  LoopbackServer server{[](ServerConnection& c, const Request&) { return c.write(test::response(200, kOpenAiOk)); }};
  Rig rig;
  HttpModelTransport t{rig.client, provider(ProviderApi::openai, server)};
  Result<ChatResponse> r = rig.call(t, hello());
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->message.content, "");
  ASSERT_EQ(r->message.tool_calls.size(), 1u);
  EXPECT_EQ(r->message.tool_calls[0], (model::ToolCall{"call_1", "lookup", R"({"q":"x"})"}));
  EXPECT_EQ(r->finish_reason, FinishReason::tool_calls);
  EXPECT_EQ(r->usage.prompt_tokens, 12);
  EXPECT_EQ(r->usage.completion_tokens, 7);
  EXPECT_EQ(r->model, "m1-2024");
  EXPECT_EQ(r->provider, "gpt");
  const auto raw = server.raw_requests();
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_NE(raw[0].find("POST /v1/chat/completions HTTP/1.1"), std::string::npos);
  EXPECT_NE(raw[0].find("Bearer " + std::string(kKey)), std::string::npos);
  EXPECT_NE(raw[0].find(R"("model":"m1")"), std::string::npos);
}

TEST_F(HttpTransport, OpenAiStreamSplitAtAwkwardBytesIsAssembled) {
  const std::string events =
      "data: {\"model\":\"m1-s\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\r\n\r\n"
      ": keep-alive comment\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c9\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\":1}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n"
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}\n\n"
      "data: [DONE]\n\n";
  LoopbackServer server{[&](ServerConnection& c, const Request&) {
    c.write(test::sse_head());
    // Chunks of 7 bytes: CRLFs, "data:" and JSON are all split across reads.
    for (std::size_t i = 0; i < events.size(); i += 7) {
      c.write(test::chunk(std::string_view(events).substr(i, 7)));
      std::this_thread::sleep_for(100us);
    }
    return c.write(test::last_chunk());
  }};
  Rig rig;
  HttpModelTransport t{rig.client, provider(ProviderApi::openai, server)};
  Result<ChatResponse> r = rig.call(t, hello(true));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->message.content, "Hello");
  ASSERT_EQ(r->message.tool_calls.size(), 1u);
  EXPECT_EQ(r->message.tool_calls[0], (model::ToolCall{"c9", "f", R"({"a":1})"}));
  EXPECT_EQ(r->finish_reason, FinishReason::tool_calls);
  EXPECT_EQ(r->usage.total(), 8);
  EXPECT_EQ(r->model, "m1-s");
  EXPECT_NE(server.raw_requests()[0].find("\"stream\":true"), std::string::npos);
}

TEST_F(HttpTransport, AnthropicSuccessAndStream) {
  const std::string body = R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-x",
    "content":[{"type":"text","text":"Sure."},{"type":"tool_use","id":"tu_1","name":"calc","input":{"x":2}}],
    "stop_reason":"tool_use","usage":{"input_tokens":20,"output_tokens":4}})";
  const std::string stream =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-s\",\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n"
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
      "event: ping\ndata: {\"type\":\"ping\"}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi \"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"there\"}}\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":6}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  LoopbackServer server{[&](ServerConnection& c, const Request& req) {
    if (req.body().find("\"stream\":true") == std::string::npos) return c.write(test::response(200, body));
    return c.write(test::sse_head()) && c.write(test::chunk(stream)) && c.write(test::last_chunk());
  }};
  Rig rig;
  HttpModelTransport t{rig.client, provider(ProviderApi::anthropic, server)};
  Result<ChatResponse> whole = rig.call(t, hello());
  ASSERT_TRUE(whole) << whole.error();
  EXPECT_EQ(whole->message.content, "Sure.");
  ASSERT_EQ(whole->message.tool_calls.size(), 1u);
  EXPECT_EQ(whole->message.tool_calls[0], (model::ToolCall{"tu_1", "calc", R"({"x":2})"}));
  EXPECT_EQ(whole->finish_reason, FinishReason::tool_calls);
  EXPECT_EQ(whole->usage.prompt_tokens, 20);
  Result<ChatResponse> streamed = rig.call(t, hello(true));
  ASSERT_TRUE(streamed) << streamed.error();
  EXPECT_EQ(streamed->message.content, "Hi there");
  EXPECT_EQ(streamed->usage.prompt_tokens, 9);
  EXPECT_EQ(streamed->usage.completion_tokens, 6);
  EXPECT_EQ(streamed->model, "claude-s");
  const auto raw = server.raw_requests();
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_NE(raw[0].find("POST /v1/messages"), std::string::npos);
  EXPECT_NE(raw[0].find("x-api-key: " + std::string(kKey)), std::string::npos);
  EXPECT_NE(raw[0].find("anthropic-version: 2023-06-01"), std::string::npos);
  EXPECT_NE(raw[0].find(R"("system":"be terse")"), std::string::npos);
  EXPECT_EQ(server.connections(), 1) << "the second call reuses the kept-alive connection";
}

TEST_F(HttpTransport, RateLimitCarriesRetryAfterAndShouldRetry) {
  const std::string body = R"({"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}})";
  LoopbackServer server{[&](ServerConnection& c, const Request& req) {
    if (req.target().ends_with("/chat/completions") && req.body().find("\"m2\"") != std::string::npos) {
      return c.write(test::response(429, body, "retry-after: 7\r\nretry-after-ms: 1500\r\nx-should-retry: false\r\n"));
    }
    return c.write(test::response(429, body, "retry-after: 2\r\n"));
  }};
  Rig rig;
  HttpModelTransport t{rig.client, provider(ProviderApi::openai, server)};
  Result<ChatResponse> r = rig.call(t, hello());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::rate_limited);
  EXPECT_EQ(r.error().http_status, 429);
  EXPECT_EQ(r.error().provider, "gpt");
  EXPECT_EQ(r.error().retry_after, Duration{2s});
  EXPECT_EQ(r.error().message, "slow down");
  ChatRequest m2 = hello();
  m2.model = "m2";
  Result<ChatResponse> r2 = rig.call(t, std::move(m2));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().retry_after, Duration{1500ms}) << "retry-after-ms wins over retry-after";
  EXPECT_EQ(r2.error().should_retry, false);
}

// The live path classifies exactly what the simulator's mock providers produce.
TEST_F(HttpTransport, EverySimulatorErrorShapeClassifiesIdenticallyOnTheWire) {
  for (ProviderApi api : {ProviderApi::openai, ProviderApi::anthropic}) {
    const std::vector<sim::HttpErrorResponse> shapes = {
        sim::context_length_error(api, 9000, 8192), sim::rate_limit_error(api), sim::quota_error(api),
        sim::auth_error(api), sim::server_error(api, 500), sim::server_error(api, 503),
        sim::server_error(api, 529), sim::malformed_success(api)};
    for (const sim::HttpErrorResponse& shape : shapes) {
      LoopbackServer server{[&](ServerConnection& c, const Request&) { return c.write(test::response(shape.status, shape.body)); }};
      Rig rig;
      HttpModelTransport t{rig.client, provider(api, server)};
      Result<ChatResponse> r = rig.call(t, hello());
      ASSERT_FALSE(r) << shape.body;
      const std::string name = api == ProviderApi::anthropic ? "claude" : "gpt";
      Error expected = shape.status == 200
                           ? Error{ErrorCode::malformed_response}
                           : model::classify_failure(api, name, {.status = shape.status, .body = shape.body});
      EXPECT_EQ(r.error().code, expected.code) << shape.status << " " << shape.body;
      if (shape.status != 200) {
        EXPECT_EQ(r.error(), expected) << r.error() << " vs " << expected;
      }
    }
  }
}

TEST_F(HttpTransport, ServerErrorAndMalformedBodiesAreClassifiedNeverThrown) {
  int n = 0;
  const std::vector<std::string> bodies = {"{not json", "[]", R"({"choices":"x"})", R"({"choices":[{"message":7}]})",
                                           R"({"choices":[{"message":{"tool_calls":[{"function":3}]}}]})", ""};
  LoopbackServer server{[&](ServerConnection& c, const Request&) {
    if (n == 0) {
      ++n;
      return c.write(test::response(500, "<html>oops</html>", "", "text/html"));
    }
    return c.write(test::response(200, bodies[static_cast<std::size_t>(n++ - 1)]));
  }};
  Rig rig;
  HttpModelTransport t{rig.client, provider(ProviderApi::openai, server)};
  Result<ChatResponse> r = rig.call(t, hello());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::server_error);
  EXPECT_EQ(r.error().http_status, 500);
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    Result<ChatResponse> bad = rig.call(t, hello());
    ASSERT_FALSE(bad) << bodies[i];
    EXPECT_EQ(bad.error().code, ErrorCode::malformed_response) << bodies[i];
    EXPECT_EQ(bad.error().provider, "gpt");
  }
}

TEST_F(HttpTransport, HungServerTimesOutAtFirstByteAndTheSocketIsClosed) {
  LoopbackServer server{[](ServerConnection&, const Request&) { return false; }};  // read, answer nothing
  Rig rig{fast(/*first_byte=*/40ms)};
  HttpModelTransport t{rig.client, provider(ProviderApi::openai, server)};
  const auto start = Clock::now();
  Result<ChatResponse> r = rig.call(t, hello());
  const auto took = Clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::timeout);
  EXPECT_NE(r.error().message.find("response header"), std::string::npos) << r.error();
  EXPECT_GE(took, 40ms);
  EXPECT_LT(took, 1s);
  EXPECT_TRUE(server.wait_closed_by_client(1)) << "the client closed the hung connection";
  EXPECT_EQ(rig.client.idle_connections(), 0u);
}

TEST_F(HttpTransport, StalledStreamTimesOutOnTheIdleGap) {
  LoopbackServer server{[](ServerConnection& c, const Request&) {
    c.write(test::sse_head());
    c.write(test::chunk("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"));
    return false;  // then nothing, connection held open
  }};
  HttpClientConfig config = fast();
  config.timeouts.stream_idle = 40ms;
  Rig rig{config};
  HttpModelTransport t{rig.client, provider(ProviderApi::openai, server)};
  const auto start = Clock::now();
  Result<ChatResponse> r = rig.call(t, hello(true));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::timeout);
  EXPECT_NE(r.error().message.find("idle"), std::string::npos) << r.error();
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_TRUE(server.wait_closed_by_client(1));
}

// A stream's gaps are not the whole-body idle limit: a first token slower than `idle` (a
// reasoning model thinking; keel_default waits 60 s for it while `idle` is 30 s) is waited for.
// Regression: the client cut it at `idle`, before the runtime's first-token limit.
TEST_F(HttpTransport, AStreamsFirstTokenSlowerThanTheBodyIdleLimitIsWaitedFor) {
  LoopbackServer server{[](ServerConnection& c, const Request&) {
    c.write(test::sse_head());
    std::this_thread::sleep_for(200ms);  // thinking: headers sent, no event yet
    c.write(test::chunk("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"));
    c.write(test::chunk("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"));
    c.write(test::chunk("data: [DONE]\n\n") + test::last_chunk());
    return false;
  }};
  Rig rig{fast(/*first_byte=*/2s, /*idle=*/40ms)};
  HttpModelTransport t{rig.client, provider(ProviderApi::openai, server)};
  Result<ChatResponse> r = rig.call(t, hello(true));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->message.content, "a");
}

TEST_F(HttpTransport, DrippingStreamHitsTheTotalTimeout) {
  LoopbackServer server{[](ServerConnection& c, const Request&) {
    c.write(test::sse_head());
    for (int i = 0; i < 40; ++i) {
      if (!c.write(test::chunk("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"))) break;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }};
  HttpClientConfig config = fast(2s, /*idle=*/200ms);
  config.timeouts.total = 80ms;
  Rig rig{config};
  HttpModelTransport t{rig.client, provider(ProviderApi::openai, server)};
  const auto start = Clock::now();
  Result<ChatResponse> r = rig.call(t, hello(true));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::timeout);
  EXPECT_NE(r.error().message.find("whole request"), std::string::npos) << r.error();
  EXPECT_LT(Clock::now() - start, 300ms);
}

TEST_F(HttpTransport, ResetAndEarlyCloseAreNetworkOrMalformed) {
  int n = 0;
  LoopbackServer server{[&](ServerConnection& c, const Request&) {
    if (n++ == 0) {
      c.reset();
      return false;
    }
    // A stream without its terminator, then the connection closes (no length, no chunking).
    c.write("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n");
    c.reset();
    return false;
  }};
  Rig rig;
  HttpModelTransport t{rig.client, provider(ProviderApi::openai, server)};
  Result<ChatResponse> reset = rig.call(t, hello());
  ASSERT_FALSE(reset);
  EXPECT_EQ(reset.error().code, ErrorCode::network) << reset.error();
  Result<ChatResponse> cut = rig.call(t, hello(true));
  ASSERT_FALSE(cut);
  EXPECT_TRUE(cut.error().code == ErrorCode::network || cut.error().code == ErrorCode::malformed_response)
      << cut.error();
}

TEST_F(HttpTransport, MidStreamErrorEventIsClassified) {
  LoopbackServer server{[](ServerConnection& c, const Request&) {
    return c.write(test::sse_head()) &&
           c.write(test::chunk("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"c\"}}\n\n"
                               "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")) &&
           c.write(test::last_chunk());
  }};
  Rig rig;
  HttpModelTransport t{rig.client, provider(ProviderApi::anthropic, server)};
  Result<ChatResponse> r = rig.call(t, hello(true));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::server_error);
  EXPECT_EQ(r.error().message, "Overloaded");
  EXPECT_EQ(r.error().provider, "claude");
}

TEST_F(HttpTransport, CancellationClosesTheSocketPromptly) {
  LoopbackServer server{[](ServerConnection&, const Request&) { return false; }};
  Rig rig;
  HttpModelTransport t{rig.client, provider(ProviderApi::openai, server)};
  CancelSource cancel;
  rig.sched.start_timer_after(30ms, [&cancel] { cancel.cancel(); });
  const auto start = Clock::now();
  Result<ChatResponse> r = rig.call(t, hello(), cancel.token());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::cancelled);
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_TRUE(server.wait_closed_by_client(1));
}

TEST_F(HttpTransport, KeepAlivePoolIsBoundedPerHostAndStaleConnectionsAreRetried) {
  // Atomic: the first three requests are served at once, one server thread per connection (a
  // plain int lost an increment under load, so the 5th answer, not the 4th, dropped the
  // connection and no stale retry happened).
  std::atomic<int> n = 0;
  LoopbackServer server{[&](ServerConnection& c, const Request&) {
    c.write(test::response(200, kOpenAiOk));
    if (++n == 4) {  // the 4th answer, then the server drops the idle connection
      std::this_thread::sleep_for(5ms);
      c.reset();
      return false;
    }
    return true;
  }};
  HttpClientConfig config = fast();
  config.max_idle_per_host = 1;
  Rig rig{config};
  HttpModelTransport t{rig.client, provider(ProviderApi::openai, server)};
  // Three at once: three connections; only one stays pooled afterwards.
  auto three_at_once = [](HttpModelTransport& tr) -> Task<std::vector<Result<ChatResponse>>> {
    std::vector<Task<Result<ChatResponse>>> calls;
    for (int i = 0; i < 3; ++i) calls.push_back(tr.complete(hello()));
    co_return co_await when_all(std::move(calls));
  };
  Task<std::vector<Result<ChatResponse>>> three = three_at_once(t);
  std::vector<Result<ChatResponse>> rs = test::run_task(rig.sched, std::move(three));
  for (auto& r : rs) EXPECT_TRUE(r) << r.error();
  EXPECT_EQ(server.connections(), 3);
  EXPECT_EQ(rig.client.idle_connections(), 1u);
  // 4th request reuses it; the server then resets it; the 5th finds it stale and retries fresh.
  EXPECT_TRUE(rig.call(t, hello()));
  std::this_thread::sleep_for(30ms);
  Result<ChatResponse> after = rig.call(t, hello());
  EXPECT_TRUE(after) << after.error();
  EXPECT_EQ(rig.client.counters().connections_reused, 2u);
  EXPECT_EQ(rig.client.counters().stale_retries, 1u);
  EXPECT_EQ(server.connections(), 4);
}

TEST_F(HttpTransport, TheKeyNeverAppearsInErrorsEvenWhenTheServerEchoesIt) {
  const std::string echo = R"({"error":{"message":"Incorrect API key provided: )" + std::string(kKey) +
                           R"(","type":"invalid_request_error","code":"invalid_api_key"}})";
  LoopbackServer server{[&](ServerConnection& c, const Request&) { return c.write(test::response(401, echo)); }};
  Rig rig;
  HttpModelTransport t{rig.client, provider(ProviderApi::openai, server)};
  Result<ChatResponse> r = rig.call(t, hello());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::auth);
  std::ostringstream printed;
  printed << r.error() << " " << provider(ProviderApi::openai, server).api_key;
  EXPECT_EQ(printed.str().find(kKey), std::string::npos) << printed.str();
  EXPECT_NE(r.error().message.find("[redacted]"), std::string::npos);
}

// Regression: the message was cut to 200 bytes before the key was scrubbed, so a key
// straddling byte 200 left its first bytes in the error. Every path: an error status, a 200
// whose body is an error object (the codec's path), and an error event inside a stream.
TEST_F(HttpTransport, AKeyStraddlingTheMessageCutLeavesNoPieceOfItself) {
  const std::string message = std::string(190, 'x') + std::string(kKey) + " is not valid";
  for (int status : {401, 200}) {
    const std::string body = R"({"error":{"message":")" + message + R"(","type":"invalid_request_error"}})";
    LoopbackServer server{[&](ServerConnection& c, const Request&) { return c.write(test::response(status, body)); }};
    Rig rig;
    HttpModelTransport t{rig.client, provider(ProviderApi::openai, server)};
    Result<ChatResponse> r = rig.call(t, hello());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message.find(std::string(kKey.substr(0, 6))), std::string::npos) << status << ": " << r.error();
    EXPECT_EQ(r.error().message, std::string(190, 'x') + "[redacted]") << status;
  }
  const std::string event = R"({"error":{"message":")" + message + R"(","type":"server_error"}})";
  LoopbackServer server{[&](ServerConnection& c, const Request&) {
    return c.write(test::sse_head() + test::chunk("data: " + event + "\n\n") + test::last_chunk());
  }};
  Rig rig;
  HttpModelTransport t{rig.client, provider(ProviderApi::openai, server)};
  Result<ChatResponse> streamed = rig.call(t, hello(true));
  ASSERT_FALSE(streamed);
  EXPECT_EQ(streamed.error().message, std::string(190, 'x') + "[redacted]") << streamed.error();
}

TEST_F(HttpTransport, RefusedConnectionIsNetworkAndPlainHttpToARemoteHostIsRefused) {
  std::uint16_t closed_port = 0;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    closed_port = a.local_endpoint().port();
  }
  Rig rig;
  ProviderConfig c;
  c.name = "gpt";
  c.base_url = "http://127.0.0.1:" + std::to_string(closed_port) + "/v1";
  c.api_key = Secret{std::string(kKey)};
  HttpModelTransport refused{rig.client, c};
  Result<ChatResponse> r = rig.call(refused, hello());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::network) << r.error();
  c.base_url = "http://api.example.com/v1";
  HttpModelTransport insecure{rig.client, c};
  Result<ChatResponse> r2 = rig.call(insecure, hello());
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, ErrorCode::invalid_request) << r2.error();
  EXPECT_THROW((HttpModelTransport{rig.client, {.name = "x", .base_url = "ftp://x"}}), std::invalid_argument);
}

TEST_F(HttpTransport, AServerThatNeverAnswersTheTlsHandshakeHitsTheConnectTimeout) {
  Rig rig;
  // Listening but never accepting: the kernel completes the TCP handshake, nobody speaks TLS.
  boost::asio::ip::tcp::acceptor silent(rig.io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  HttpClientConfig config = fast();
  config.timeouts.connect = 40ms;
  HttpClient client{rig.sched, config};
  ProviderConfig c;
  c.name = "gpt";
  c.base_url = "https://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/v1";
  HttpModelTransport t{client, c};
  const auto start = Clock::now();
  Result<ChatResponse> r = test::run_task(rig.sched, t.complete(hello()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::timeout);
  EXPECT_NE(r.error().message.find("TLS handshake"), std::string::npos) << r.error();
  EXPECT_LT(Clock::now() - start, 1s);
}

TEST_F(HttpTransport, GarbledHttpAndOversizedBodiesAreMalformedResponses) {
  int n = 0;
  LoopbackServer server{[&](ServerConnection& c, const Request&) {
    if (n++ == 0) c.write("HTTP/1.1 abc nonsense\r\n\r\n");
    else c.write(test::response(200, std::string(4096, 'x')));
    return false;
  }};
  HttpClientConfig config = fast();
  config.max_body_bytes = 1024;
  Rig rig{config};
  HttpModelTransport t{rig.client, provider(ProviderApi::openai, server)};
  Result<ChatResponse> garbled = rig.call(t, hello());
  ASSERT_FALSE(garbled);
  EXPECT_EQ(garbled.error().code, ErrorCode::malformed_response) << garbled.error();
  Result<ChatResponse> huge = rig.call(t, hello());
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().code, ErrorCode::malformed_response) << huge.error();
  EXPECT_NE(huge.error().message.find("too large"), std::string::npos);
}


TEST_F(HttpTransport, EventStreamContentTypeIsMatchedWithoutCaseAndWithParameters) {
  // A complete stream: its finish reason, then the sentinel.
  const std::string events =
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
  for (std::string_view type : {"Text/Event-Stream; charset=utf-8", "text/event-stream;charset=UTF-8", " TEXT/EVENT-STREAM "}) {
    LoopbackServer server{[&](ServerConnection& c, const Request&) {
      return c.write("HTTP/1.1 200 OK\r\ncontent-type: " + std::string(type) + "\r\ntransfer-encoding: chunked\r\n\r\n") &&
             c.write(test::chunk(events)) && c.write(test::last_chunk());
    }};
    Rig rig;
    HttpModelTransport t{rig.client, provider(ProviderApi::openai, server)};
    Result<ChatResponse> r = rig.call(t, hello(true));
    ASSERT_TRUE(r) << type << ": " << r.error();
    EXPECT_EQ(r->message.content, "ok") << type;
  }
}

TEST_F(HttpTransport, InterimResponsesAreSkippedAndA101IsFinal) {
  int n = 0;
  LoopbackServer server{[&](ServerConnection& c, const Request&) {
    if (n++ == 0) {
      return c.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </x>; rel=preload\r\n\r\n") &&
             c.write("HTTP/1.1 102 Processing\r\n\r\n" + test::response(200, kOpenAiOk));
    }
    c.write("HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\nconnection: upgrade\r\n\r\n");
    return false;
  }};
  Rig rig;
  HttpModelTransport t{rig.client, provider(ProviderApi::openai, server)};
  Result<ChatResponse> r = rig.call(t, hello());
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->usage.prompt_tokens, 12);
  Result<ChatResponse> upgraded = rig.call(t, hello());
  ASSERT_FALSE(upgraded);
  EXPECT_EQ(upgraded.error().http_status, 101) << upgraded.error();
}

TEST_F(HttpTransport, HeaderTextThatWouldInjectFieldsIsRefusedBeforeAnythingIsSent) {
  LoopbackServer server{[](ServerConnection& c, const Request&) { return c.write(test::response(200, kOpenAiOk)); }};
  Rig rig;
  for (auto [name, value] : {std::pair<std::string, std::string>{"x-a", "v\r\nx-injected: 1"}, {"x-a\n", "v"}, {"x a", "v"},
                             {"x-a", std::string("v\0w", 3)}}) {
    HttpRequest req{.url = *Url::parse(server.url("127.0.0.1")), .target = "/v1/chat/completions", .body = "{}"};
    req.headers.emplace_back(name, value);
    Result<HttpResponse> r = test::run_task(rig.sched, rig.client.send(std::move(req)));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::invalid_request) << r.error();
  }
  EXPECT_TRUE(server.raw_requests().empty());
}

TEST_F(HttpTransport, ALargeRequestBodyAndABodyEndedByCloseArriveWhole) {
  LoopbackServer server{[](ServerConnection& c, const Request& req) {
    const std::string body = R"({"model":"m","choices":[{"index":0,"message":{"content":")" +
                             std::to_string(req.body().size()) + R"("},"finish_reason":"stop"}]})";
    c.write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n" + body);  // no length: ends at close
    c.shutdown_send();
    return false;
  }};
  Rig rig;
  HttpModelTransport t{rig.client, provider(ProviderApi::openai, server)};
  ChatRequest big = hello();
  big.messages.push_back(Message::user(std::string(900u << 10, 'x')));  // more than a socket buffer takes at once (the test server reads up to 1 MB)
  Result<ChatResponse> r = rig.call(t, std::move(big));
  ASSERT_TRUE(r) << r.error();
  const std::size_t sent = std::stoul(r->message.content);
  EXPECT_GT(sent, 900u << 10);
  EXPECT_EQ(server.raw_requests().size(), 1u);
}

}  // namespace
}  // namespace keel::live
