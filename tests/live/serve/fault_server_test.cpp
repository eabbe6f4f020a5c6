// keel serve on loopback: every provider fault kind as a client sees it on the wire, SSE
// framing of both APIs, context overflow bodies, RPM limits with an accurate retry-after,
// routing errors, time scaling, the loopback rule, keep-alive and stop. Real time: each test
// runs a scenario at a small --time-scale so it takes well under a second.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "wire_client.h"

namespace keel::live::serve::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using End = WireResult::End;

// gpt (openai) and claude (anthropic, context window 100), 1 s latency, 40 output tokens;
// `faults` is the JSON array of the scenario's faults.
std::string scenario(const std::string& faults = "[]", const std::string& gpt_extra = "") {
  return R"({"keel_scenario": 1, "name": "serve_test", "horizon": "1h",
    "providers": [
      {"name": "gpt", "latency": {"fixed": "1s"}, "output_tokens": 40)" + gpt_extra + R"(},
      {"name": "claude", "api": "anthropic", "context_window": 100, "latency": {"fixed": "1s"}, "output_tokens": 40}],
    "faults": )" + faults + R"(,
    "workload": {"kind": "agents"}})";
}

std::string openai_body(bool stream = false, const std::string& text = "Hello there") {
  json b = {{"model", "gpt-test"}, {"messages", {{{"role", "user"}, {"content", text}}}}};
  if (stream) {
    b["stream"] = true;
    b["stream_options"] = {{"include_usage", true}};
  }
  return b.dump();
}

std::string anthropic_body(bool stream = false, const std::string& text = "Hello there") {
  json b = {{"model", "claude-test"}, {"max_tokens", 64}, {"messages", {{{"role", "user"}, {"content", text}}}}};
  if (stream) b["stream"] = true;
  return b.dump();
}

// SSE frames of a complete body ("...\n\n" separated), without the separators.
std::vector<std::string> frames_of(const std::string& body) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < body.size()) {
    const std::size_t end = body.find("\n\n", at);
    if (end == std::string::npos) {
      out.push_back(body.substr(at));
      break;
    }
    out.push_back(body.substr(at, end - at));
    at = end + 2;
  }
  return out;
}

TEST(FaultServer, OpenAiAnswerAfterTheScaledLatency) {
  ServedScenario s{scenario(), scaled(0.05)};  // 1 s latency -> 50 ms
  WireClient c{s.port()};
  WireResult r = c.post(kOpenAiPath, openai_body(), 3s);
  ASSERT_EQ(r.end, End::complete) << to_string(r.end) << " " << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_GE(r.ended_after, 45ms);
  EXPECT_LT(r.ended_after, 900ms);  // unscaled it would be 1 s
  const json b = json::parse(r.body);
  EXPECT_EQ(b["object"], "chat.completion");
  EXPECT_EQ(b["model"], "gpt-test");
  EXPECT_EQ(b["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(b["choices"][0]["message"]["content"].get<std::string>().size(), 160u);  // 40 tokens x 4 bytes
  EXPECT_EQ(b["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(b["usage"]["completion_tokens"], 40);
  EXPECT_GT(b["usage"]["prompt_tokens"].get<int>(), 0);
  s.stop();
  EXPECT_EQ(s.server().counters("gpt").requests, 1u);
  EXPECT_EQ(s.server().counters("gpt").successes, 1u);
}

TEST(FaultServer, KeepAliveServesManyRequestsOnOneConnection) {
  ServedScenario s{scenario(), scaled(0.01)};
  WireClient c{s.port()};
  for (int i = 0; i < 3; ++i) {
    WireResult r = c.post(kAnthropicPath, anthropic_body(), 3s);
    ASSERT_EQ(r.end, End::complete);
    EXPECT_EQ(r.status, 200);
    const json b = json::parse(r.body);
    EXPECT_EQ(b["type"], "message");
    EXPECT_EQ(b["content"][0]["type"], "text");
    EXPECT_EQ(b["stop_reason"], "end_turn");
    EXPECT_EQ(b["usage"]["output_tokens"], 40);
  }
  EXPECT_EQ(s.on_io([&] { return s.server().open_connections(); }), 1u);
}

TEST(FaultServer, OpenAiStreamIsFramedAsDataLinesEndingWithDone) {
  ServedScenario s{scenario(), scaled(0.05)};
  WireClient c{s.port()};
  WireResult r = c.post(kOpenAiPath, openai_body(/*stream=*/true), 3s);
  ASSERT_EQ(r.end, End::complete);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type").rfind("text/event-stream", 0), 0u);
  EXPECT_EQ(r.header("transfer-encoding"), "chunked");
  const std::vector<std::string> frames = frames_of(r.body);
  ASSERT_GE(frames.size(), 4u);
  EXPECT_EQ(frames.back(), "data: [DONE]");
  EXPECT_EQ(r.body.substr(r.body.size() - 2), "\n\n");
  std::string content;
  bool saw_stop = false, saw_usage = false;
  for (std::size_t i = 0; i + 1 < frames.size(); ++i) {
    ASSERT_EQ(frames[i].rfind("data: ", 0), 0u) << frames[i];
    const json chunk = json::parse(frames[i].substr(6));
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    if (chunk["choices"].empty()) {
      saw_usage = true;
      EXPECT_EQ(chunk["usage"]["completion_tokens"], 40);
      continue;
    }
    const json& choice = chunk["choices"][0];
    if (i == 0) {
      EXPECT_EQ(choice["delta"]["role"], "assistant");
    }
    if (choice["delta"].contains("content")) content += choice["delta"]["content"].get<std::string>();
    if (choice["finish_reason"] == "stop") saw_stop = true;
  }
  EXPECT_EQ(content.size(), 160u);
  EXPECT_TRUE(saw_stop);
  EXPECT_TRUE(saw_usage);
}

TEST(FaultServer, AnthropicStreamSendsTheMessagesEventSequence) {
  ServedScenario s{scenario(), scaled(0.05)};
  WireClient c{s.port()};
  WireResult r = c.post(kAnthropicPath, anthropic_body(/*stream=*/true), 3s);
  ASSERT_EQ(r.end, End::complete);
  EXPECT_EQ(r.status, 200);
  std::vector<std::string> events;
  std::string text;
  for (const std::string& f : frames_of(r.body)) {
    ASSERT_EQ(f.rfind("event: ", 0), 0u) << f;
    const std::size_t nl = f.find('\n');
    ASSERT_NE(nl, std::string::npos);
    const std::string event = f.substr(7, nl - 7);
    ASSERT_EQ(f.substr(nl + 1, 6), "data: ");
    const json data = json::parse(f.substr(nl + 7));
    EXPECT_EQ(data["type"], event);
    if (event == "content_block_delta") text += data["delta"]["text"].get<std::string>();
    if (events.empty() || events.back() != event) events.push_back(event);
  }
  const std::vector<std::string> expected = {"message_start", "content_block_start", "ping", "content_block_delta",
                                             "content_block_stop", "message_delta", "message_stop"};
  EXPECT_EQ(events, expected);
  EXPECT_EQ(text.size(), 160u);
}

TEST(FaultServer, InjectedRateLimitIs429WithScaledRetryAfterHeaders) {
  ServedScenario s{scenario(R"([{"target": "gpt", "kind": "rate_limit", "retry_after": "4s", "first_n": 1}])"),
                   scaled(0.2)};
  WireClient c{s.port()};
  WireResult r = c.post(kOpenAiPath, openai_body(), 3s);
  ASSERT_EQ(r.end, End::complete);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("retry-after-ms"), "800");  // 4 s x 0.2
  EXPECT_EQ(r.header("retry-after"), "1");       // whole seconds, rounded up
  const json b = json::parse(r.body);
  EXPECT_EQ(b["error"]["code"], "rate_limit_exceeded");
  EXPECT_LT(r.ended_after, 150ms);  // a rejection comes at L / 10 = 20 ms, not L = 200 ms
  WireResult again = c.post(kOpenAiPath, openai_body(), 3s);
  EXPECT_EQ(again.status, 200);
}

TEST(FaultServer, RpmLimitAnswers429WithAnAccurateRetryAfter) {
  // 2 requests per (scaled) minute: 60 s x 0.01 = 600 ms of real window.
  ServedScenario s{scenario("[]", R"(, "limits": {"requests_per_minute": 2})"), scaled(0.01)};
  WireClient c{s.port()};
  const auto first = Clock::now();
  EXPECT_EQ(c.post(kOpenAiPath, openai_body(), 3s).status, 200);
  EXPECT_EQ(c.post(kOpenAiPath, openai_body(), 3s).status, 200);
  WireResult limited = c.post(kOpenAiPath, openai_body(), 3s);
  ASSERT_EQ(limited.status, 429);
  EXPECT_EQ(json::parse(limited.body)["error"]["code"], "rate_limit_exceeded");
  const int wait_ms = std::stoi(limited.header("retry-after-ms"));
  const auto window_left = 600ms - std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - first);
  EXPECT_GT(wait_ms, 0);
  EXPECT_LE(wait_ms, window_left.count() + 50);
  EXPECT_GE(wait_ms, window_left.count() - 60);
  std::this_thread::sleep_for(std::chrono::milliseconds{wait_ms + 5});
  EXPECT_EQ(c.post(kOpenAiPath, openai_body(), 3s).status, 200);
  s.stop();
  EXPECT_EQ(s.server().counters("gpt").rate_limited, 1u);
}

TEST(FaultServer, TpmLimitNamesTheTokenLimitAndRefusesWhatCanNeverFit) {
  ServedScenario s{scenario("[]", R"(, "limits": {"tokens_per_minute": 100})"), scaled(0.01)};
  WireClient c{s.port()};
  const std::string text(200, 'a');  // 50 + 7 framing tokens, + 40 output = 97 of 100
  EXPECT_EQ(c.post(kOpenAiPath, openai_body(false, text), 3s).status, 200);
  WireResult limited = c.post(kOpenAiPath, openai_body(false, text), 3s);
  ASSERT_EQ(limited.status, 429);
  EXPECT_NE(json::parse(limited.body)["error"]["message"].get<std::string>().find("tokens per min (TPM)"), std::string::npos);
  const int wait_ms = std::stoi(limited.header("retry-after-ms"));
  EXPECT_GT(wait_ms, 400);
  EXPECT_LE(wait_ms, 600);
  WireResult too_large = c.post(kOpenAiPath, openai_body(false, std::string(1000, 'a')), 3s);
  EXPECT_EQ(too_large.status, 429);
  EXPECT_EQ(too_large.header("retry-after-ms"), "");  // it will never fit: no time to wait for
}

TEST(FaultServer, ServerErrorsCarryEachApisBody) {
  ServedScenario s{scenario(R"([{"target": "gpt", "kind": "server_error", "status": 500, "first_n": 1},
                               {"target": "claude", "kind": "server_error", "status": 529, "first_n": 1},
                               {"target": "gpt", "kind": "server_error", "status": 502, "first_n": 2}])"),
                   scaled(0.02)};
  WireClient c{s.port()};
  WireResult r = c.post(kOpenAiPath, openai_body(), 3s);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(json::parse(r.body)["error"]["type"], "server_error");
  WireResult html = c.post(kOpenAiPath, openai_body(), 3s);
  EXPECT_EQ(html.status, 502);
  EXPECT_NE(html.body.find("502 Bad Gateway"), std::string::npos);
  WireResult overloaded = c.post(kAnthropicPath, anthropic_body(), 3s);
  EXPECT_EQ(overloaded.status, 529);
  EXPECT_EQ(json::parse(overloaded.body)["error"]["type"], "overloaded_error");
}

TEST(FaultServer, QuotaAndAuthFaults) {
  ServedScenario s{scenario(R"([{"target": "gpt", "kind": "quota_exhausted", "first_n": 1},
                               {"target": "claude", "kind": "auth_error", "first_n": 1}])"),
                   scaled(0.02)};
  WireClient c{s.port()};
  WireResult quota = c.post(kOpenAiPath, openai_body(), 3s);
  EXPECT_EQ(quota.status, 429);
  EXPECT_EQ(json::parse(quota.body)["error"]["code"], "insufficient_quota");
  WireResult auth = c.post(kAnthropicPath, anthropic_body(), 3s);
  EXPECT_EQ(auth.status, 401);
  EXPECT_EQ(json::parse(auth.body)["error"]["type"], "authentication_error");
}

TEST(FaultServer, HangSendsNoBytesAndHoldsTheConnectionUntilStop) {
  ServedScenario s{scenario(R"([{"target": "gpt", "kind": "hang"}])"), scaled(0.01)};
  WireClient c{s.port()};
  WireResult r = c.post(kOpenAiPath, openai_body(), 400ms);
  EXPECT_EQ(r.end, End::timeout) << to_string(r.end);
  EXPECT_FALSE(r.got_header);
  EXPECT_EQ(s.on_io([&] { return s.server().open_connections(); }), 1u);
  const auto before = Clock::now();
  s.server().request_stop();
  EXPECT_TRUE(c.closed_by_peer_within(2s));
  EXPECT_LT(Clock::now() - before, 1s);
  s.stop();  // io.run() returned: nothing left pending
}

TEST(FaultServer, HangEndsWhenTheClientGoesAway) {
  ServedScenario s{scenario(R"([{"target": "gpt", "kind": "hang"}])"), scaled(0.01)};
  {
    WireClient c{s.port()};
    EXPECT_EQ(c.post(kOpenAiPath, openai_body(), 200ms).end, End::timeout);
    EXPECT_EQ(s.on_io([&] { return s.server().open_connections(); }), 1u);
  }  // the client closes its socket
  for (int i = 0; i < 100 && s.on_io([&] { return s.server().open_connections(); }) != 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(s.on_io([&] { return s.server().open_connections(); }), 0u);
}

TEST(FaultServer, NetworkResetClosesTheSocketAbruptly) {
  ServedScenario s{scenario(R"([{"target": "gpt", "kind": "network_reset"}])"), scaled(0.05)};
  WireClient c{s.port()};
  WireResult r = c.post(kOpenAiPath, openai_body(), 3s);
  EXPECT_EQ(r.end, End::reset) << to_string(r.end);
  EXPECT_FALSE(r.got_header);
  EXPECT_GE(r.ended_after, 20ms);  // after L / 2 = 25 ms
}

TEST(FaultServer, MalformedResponseIs200WithABodyThatDoesNotParse) {
  ServedScenario s{scenario(R"([{"target": "*", "kind": "malformed_response"}])"), scaled(0.02)};
  WireClient c{s.port()};
  WireResult r = c.post(kOpenAiPath, openai_body(), 3s);
  ASSERT_EQ(r.end, End::complete);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(json::parse(r.body, nullptr, false).is_discarded());
  WireResult stream = c.post(kAnthropicPath, anthropic_body(/*stream=*/true), 3s);
  ASSERT_EQ(stream.end, End::complete);
  EXPECT_EQ(stream.status, 200);
  int unparseable = 0;
  for (const std::string& f : frames_of(stream.body)) {
    const std::size_t data = f.find("data: ");
    ASSERT_NE(data, std::string::npos);
    if (json::parse(f.substr(data + 6), nullptr, false).is_discarded()) ++unparseable;
  }
  EXPECT_EQ(unparseable, 1);
}

TEST(FaultServer, HangOnAStreamSendsNoByteEither) {
  // A silent route, streamed or not (a stalled stream is stream_stall's).
  ServedScenario s{scenario(R"([{"target": "gpt", "kind": "hang"}])"), scaled(0.05)};
  WireClient c{s.port()};
  WireResult r = c.post(kOpenAiPath, openai_body(/*stream=*/true), 300ms);
  EXPECT_EQ(r.end, End::timeout) << to_string(r.end);
  EXPECT_FALSE(r.got_header);
  EXPECT_TRUE(r.body.empty());
}

TEST(FaultServer, ContextOverflowUsesEachApisShape) {
  ServedScenario s{scenario("[]", R"(, "context_window": 50)"), scaled(0.02)};
  WireClient c{s.port()};
  const std::string long_text(1000, 'x');  // 250 tokens
  WireResult openai = c.post(kOpenAiPath, openai_body(false, long_text), 3s);
  EXPECT_EQ(openai.status, 400);
  const json o = json::parse(openai.body);
  EXPECT_EQ(o["error"]["code"], "context_length_exceeded");
  EXPECT_EQ(o["error"]["type"], "invalid_request_error");
  EXPECT_NE(o["error"]["message"].get<std::string>().find("maximum context length is 50 tokens"), std::string::npos);
  WireResult anthropic = c.post(kAnthropicPath, anthropic_body(false, long_text), 3s);
  EXPECT_EQ(anthropic.status, 400);
  const json a = json::parse(anthropic.body);
  EXPECT_EQ(a["type"], "error");
  EXPECT_EQ(a["error"]["type"], "invalid_request_error");
  EXPECT_EQ(a["error"]["message"].get<std::string>().rfind("prompt is too long: ", 0), 0u);
  s.stop();
  EXPECT_EQ(s.server().counters("gpt").context_overflows, 1u);
  EXPECT_GT(s.server().counters("claude").max_prompt_tokens, 100);
}

TEST(FaultServer, InjectedContextOverflowFault) {
  ServedScenario s{scenario(R"([{"target": "gpt", "kind": "context_overflow", "first_n": 1}])"), scaled(0.02)};
  WireClient c{s.port()};
  WireResult r = c.post(kOpenAiPath, openai_body(), 3s);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "context_length_exceeded");
}

TEST(FaultServer, FaultWindowsAreScaledToo) {
  // server_error from 4 s of scenario time: 200 ms of real time at scale 0.05.
  ServedScenario s{scenario(R"([{"target": "gpt", "kind": "server_error", "from": "4s"}])"), scaled(0.05)};
  WireClient c{s.port()};
  EXPECT_EQ(c.post(kOpenAiPath, openai_body(), 3s).status, 200);  // answered by ~50 ms
  std::this_thread::sleep_for(250ms);
  EXPECT_EQ(c.post(kOpenAiPath, openai_body(), 3s).status, 503);
}

TEST(FaultServer, SlowFaultAddsItsScaledExtraLatency) {
  ServedScenario s{scenario(R"([{"target": "gpt", "kind": "slow", "extra_latency": {"fixed": "5s"}}])"), scaled(0.05)};
  WireClient c{s.port()};
  WireResult r = c.post(kOpenAiPath, openai_body(), 3s);
  EXPECT_EQ(r.status, 200);
  EXPECT_GE(r.ended_after, 290ms);  // (1 s + 5 s) x 0.05 = 300 ms
}

TEST(FaultServer, RoutingErrorsUseTheProvidersShape) {
  ServedScenario s{scenario(), scaled(0.02)};
  WireClient c{s.port()};
  WireResult unknown = c.post("/nope/v1/chat/completions", openai_body(), 3s);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(json::parse(unknown.body)["error"]["code"], "unknown_url");
  WireResult wrong_api = c.post("/claude/v1/chat/completions", openai_body(), 3s);
  EXPECT_EQ(wrong_api.status, 404);
  EXPECT_EQ(json::parse(wrong_api.body)["type"], "error");
  WireResult get = c.send("GET", kOpenAiPath, "", 3s);
  EXPECT_EQ(get.status, 405);
  WireResult bad = c.post(kOpenAiPath, "{not json", 3s);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["error"]["type"], "invalid_request_error");
  WireResult no_messages = c.post(kAnthropicPath, R"({"model": "m", "max_tokens": 5})", 3s);
  EXPECT_EQ(no_messages.status, 400);
  EXPECT_EQ(json::parse(no_messages.body)["error"]["type"], "invalid_request_error");
  s.stop();
  EXPECT_EQ(s.server().counters("gpt").requests, 0u);  // none of these reached a provider
}

TEST(FaultServer, QueryStringsAreIgnored) {
  ServedScenario s{scenario(), scaled(0.01)};
  WireClient c{s.port()};
  EXPECT_EQ(c.post(std::string(kAnthropicPath) + "?beta=true", anthropic_body(), 3s).status, 200);
}

TEST(FaultServer, StopClosesIdleKeepAliveConnections) {
  ServedScenario s{scenario(), scaled(0.01)};
  WireClient c{s.port()};
  EXPECT_EQ(c.post(kOpenAiPath, openai_body(), 3s).status, 200);
  s.server().request_stop();
  EXPECT_TRUE(c.closed_by_peer_within(2s));
}

TEST(FaultServer, EndpointsNameEachProvidersBaseUrl) {
  boost::asio::io_context io;
  FaultServer server{io, load_scenario_text(scenario()), {}};
  ASSERT_EQ(server.endpoints().size(), 2u);
  const std::string origin = "http://127.0.0.1:" + std::to_string(server.port());
  EXPECT_NE(server.port(), 0);
  EXPECT_EQ(server.endpoints()[0].base_url, origin + "/gpt/v1");
  EXPECT_EQ(server.endpoints()[0].url, origin + "/gpt/v1/chat/completions");
  EXPECT_EQ(server.endpoints()[1].base_url, origin + "/claude");
  EXPECT_EQ(server.endpoints()[1].url, origin + "/claude/v1/messages");
  EXPECT_FALSE(server.tls());
}

TEST(FaultServer, RefusesNonLoopbackAddressesUnlessAllowed) {
  boost::asio::io_context io;
  const scenarios::Scenario sc = load_scenario_text(scenario());
  EXPECT_THROW(FaultServer(io, sc, {.host = "0.0.0.0"}), ServeError);
  EXPECT_THROW(FaultServer(io, sc, {.host = "192.0.2.1"}), ServeError);
  EXPECT_THROW(FaultServer(io, sc, {.host = "example.com"}), ServeError);
  try {
    FaultServer(io, sc, {.host = "0.0.0.0"});
  } catch (const ServeError& e) {
    EXPECT_NE(std::string(e.what()).find("--allow-remote"), std::string::npos);
  }
  FaultServer remote{io, sc, {.host = "0.0.0.0", .allow_remote = true}};
  EXPECT_NE(remote.port(), 0);
  FaultServer localhost{io, sc, {.host = "localhost"}};
  EXPECT_EQ(localhost.endpoints()[0].base_url.rfind("http://localhost:", 0), 0u);
  EXPECT_THROW(FaultServer(io, sc, {.time_scale = 0}), ServeError);
  EXPECT_THROW(FaultServer(io, sc, {.time_scale = -1}), ServeError);
}

TEST(ListenAddress, ParsesHostPortForms) {
  EXPECT_EQ(parse_listen_address("127.0.0.1:8080").host, "127.0.0.1");
  EXPECT_EQ(parse_listen_address("127.0.0.1:8080").port, 8080);
  EXPECT_EQ(parse_listen_address("[::1]:9").host, "::1");
  EXPECT_EQ(parse_listen_address("[::1]:9").port, 9);
  EXPECT_EQ(parse_listen_address("localhost").port, 0);
  EXPECT_THROW(parse_listen_address("127.0.0.1:99999"), ServeError);
  EXPECT_THROW(parse_listen_address("127.0.0.1:"), ServeError);
  EXPECT_THROW(parse_listen_address(":80"), ServeError);
  EXPECT_THROW(parse_listen_address("::1:80"), ServeError);
  EXPECT_THROW(parse_listen_address("[::1"), ServeError);
  EXPECT_TRUE(is_loopback_host("127.0.0.2"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("::ffff:127.0.0.1"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_THROW(is_loopback_host("not an address"), ServeError);
}

}  // namespace
}  // namespace keel::live::serve::testing
