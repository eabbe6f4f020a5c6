// keel serve on loopback: the v1.1 stream faults as the real APIs would frame them on the wire
// (OpenAI chat-completion chunks and Anthropic Messages events), token pacing, prefill refusal
// and the gateway routes. Real time at a small --time-scale; each test takes well under 2 s.
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "wire_client.h"

namespace keel::live::serve::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using End = WireResult::End;

constexpr const char* kOpenAiPath = "/gpt/v1/chat/completions";
constexpr const char* kAnthropicPath = "/claude/v1/messages";

// gpt (openai) and claude (anthropic): 1 s latency, 40 output tokens (160 bytes of text);
// `faults` is the scenario's fault array, `extra` more provider fields for both.
std::string scenario(const std::string& faults, const std::string& extra = "") {
  return R"({"keel_scenario": 1, "name": "stream_faults", "horizon": "1h",
    "providers": [
      {"name": "gpt", "latency": {"fixed": "1s"}, "output_tokens": 40)" + extra + R"(},
      {"name": "claude", "api": "anthropic", "latency": {"fixed": "1s"}, "output_tokens": 40)" + extra + R"(}],
    "faults": )" + faults + R"(,
    "workload": {"kind": "agents"}})";
}

std::string request(bool anthropic, bool stream, const std::string& last_role = "user") {
  json b = {{"model", anthropic ? "claude-test" : "gpt-test"},
            {"messages", {{{"role", "user"}, {"content", "Hello there"}}}}};
  if (last_role == "assistant") b["messages"].push_back({{"role", "assistant"}, {"content", "The answer is"}});
  if (anthropic) b["max_tokens"] = 64;
  if (stream) b["stream"] = true;
  if (stream && !anthropic) b["stream_options"] = {{"include_usage", true}};
  return b.dump();
}

// The SSE events of a body: each event's type ("message" when none) and data.
struct Event {
  std::string type = "message";
  std::string data;
};
std::vector<Event> events_of(const std::string& body) {
  std::vector<Event> out;
  std::size_t at = 0;
  while (at < body.size()) {
    std::size_t end = body.find("\n\n", at);
    if (end == std::string::npos) end = body.size();
    Event e;
    std::size_t line = at;
    while (line < end) {
      std::size_t nl = body.find('\n', line);
      if (nl == std::string::npos || nl > end) nl = end;
      const std::string l = body.substr(line, nl - line);
      if (l.rfind("event: ", 0) == 0) e.type = l.substr(7);
      if (l.rfind("data: ", 0) == 0) e.data = l.substr(6);
      line = nl + 1;
    }
    out.push_back(e);
    at = end + 2;
  }
  return out;
}

// What a stream carried: its text, how many token events, finish reason, sentinel, bad events.
struct Seen {
  std::string text;
  int token_events = 0;
  int unparseable = 0;
  int unparseable_before_token = -1;  // the 1-based token the first bad event came before
  std::string finish;
  bool usage = false;
  bool sentinel = false;
};
Seen seen(const std::string& body) {
  Seen s;
  for (const Event& e : events_of(body)) {
    if (e.data == "[DONE]" || e.type == "message_stop") {
      s.sentinel = true;
      continue;
    }
    const json j = json::parse(e.data, nullptr, false);
    if (j.is_discarded()) {
      if (s.unparseable++ == 0) s.unparseable_before_token = s.token_events + 1;
      continue;
    }
    if (j.contains("choices") && !j["choices"].empty()) {
      const json& c = j["choices"][0];
      if (c["delta"].contains("content") && !c["delta"]["content"].get<std::string>().empty()) {
        s.text += c["delta"]["content"].get<std::string>();
        ++s.token_events;
      }
      if (!c["finish_reason"].is_null()) s.finish = c["finish_reason"];
    }
    if (j.contains("usage") && !j["usage"].is_null()) s.usage = true;
    if (j.value("type", "") == "content_block_delta") {
      s.text += j["delta"]["text"].get<std::string>();
      ++s.token_events;
    }
    if (j.value("type", "") == "message_delta") s.finish = j["delta"]["stop_reason"];
  }
  return s;
}

ServeOptions scaled(double scale) { return ServeOptions{.time_scale = scale}; }

TEST(StreamFaults, AStreamSendsOneEventPerTokenPacedByTheTokenInterval) {
  // Scale 0.5: the stream opens at R = 50 ms, the first token comes at L = 500 ms, then one
  // every 10 ms (20 ms x 0.5): the last of 40 at 890 ms.
  ServedScenario s{scenario("[]", R"(, "token_interval": "20ms")"), scaled(0.5)};
  WireClient c{s.port()};
  WireResult r = c.post(kOpenAiPath, request(false, true), 3s);
  ASSERT_EQ(r.end, End::complete) << to_string(r.end) << " " << r.error;
  EXPECT_LT(r.header_after, 400ms);
  EXPECT_GE(r.ended_after, 880ms);
  const Seen o = seen(r.body);
  EXPECT_EQ(o.token_events, 40);
  EXPECT_EQ(o.text.size(), 160u);
  EXPECT_EQ(o.finish, "stop");
  EXPECT_TRUE(o.usage);
  EXPECT_TRUE(o.sentinel);
  // Not streamed: the whole answer after L + 40 x interval.
  WireResult whole = c.post(kAnthropicPath, request(true, false), 3s);
  ASSERT_EQ(whole.end, End::complete);
  EXPECT_GE(whole.ended_after, 880ms);
}

TEST(StreamFaults, SlowFirstTokenOpensTheStreamOnTimeAndSendsTheFirstTokenLater) {
  ServedScenario s{scenario(R"([{"target": "*", "kind": "slow_first_token", "extra_latency": {"fixed": "10s"}}])"),
                   scaled(0.05)};  // R = 5 ms, L = 50 ms, first token at 550 ms
  WireClient c{s.port()};
  for (bool anthropic : {false, true}) {
    WireResult r = c.post(anthropic ? kAnthropicPath : kOpenAiPath, request(anthropic, true), 3s);
    ASSERT_EQ(r.end, End::complete) << to_string(r.end);
    EXPECT_LT(r.header_after, 300ms) << "the stream opens on time";
    EXPECT_GE(r.ended_after, 545ms);
    EXPECT_EQ(seen(r.body).text.size(), 160u);
  }
}

TEST(StreamFaults, StreamCutClosesTheConnectionAfterThatManyTokensWithoutATerminator) {
  ServedScenario s{scenario(R"([{"target": "*", "kind": "stream_cut", "after_tokens": 7}])"), scaled(0.02)};
  for (bool anthropic : {false, true}) {
    WireClient c{s.port()};
    WireResult r = c.post(anthropic ? kAnthropicPath : kOpenAiPath, request(anthropic, true), 3s);
    EXPECT_EQ(r.end, End::closed) << to_string(r.end) << " " << r.error;
    ASSERT_TRUE(r.got_header);
    EXPECT_EQ(r.status, 200);
    const Seen o = seen(r.body);
    EXPECT_EQ(o.token_events, 7);
    EXPECT_EQ(o.text.size(), 28u);
    EXPECT_EQ(o.finish, "");
    EXPECT_FALSE(o.sentinel);
    EXPECT_EQ(o.unparseable, 0);
  }
}

TEST(StreamFaults, StreamCutOnAWholeAnswerSendsHeadersThatPromiseMoreThanTheBodyGives) {
  ServedScenario s{scenario(R"([{"target": "gpt", "kind": "stream_cut"}])"), scaled(0.02)};
  WireClient c{s.port()};
  WireResult r = c.post(kOpenAiPath, request(false, false), 3s);
  EXPECT_EQ(r.end, End::closed) << to_string(r.end);
  ASSERT_TRUE(r.got_header);
  EXPECT_EQ(r.status, 200);
  EXPECT_GT(std::stoul(r.header("content-length")), r.body.size());
  EXPECT_GT(r.body.size(), 0u);
}

TEST(StreamFaults, StreamStallGoesSilentAfterThatManyTokensThenClosesAfterTheStall) {
  ServedScenario s{scenario(R"([{"target": "gpt", "kind": "stream_stall", "after_tokens": 5, "stall": "20s"},
                                {"target": "claude", "kind": "stream_stall"}])"),
                   scaled(0.02)};  // gpt: silent for 400 ms, then closed; claude: silent until we leave
  WireClient c{s.port()};
  WireResult r = c.post(kOpenAiPath, request(false, true), 3s);
  EXPECT_EQ(r.end, End::closed) << to_string(r.end);
  EXPECT_GE(r.ended_after, 400ms);
  const Seen o = seen(r.body);
  EXPECT_EQ(o.token_events, 5);
  EXPECT_FALSE(o.sentinel);
  WireClient c2{s.port()};
  WireResult forever = c2.post(kAnthropicPath, request(true, true), 600ms);
  EXPECT_EQ(forever.end, End::timeout) << to_string(forever.end);
  EXPECT_EQ(seen(forever.body).token_events, 20);  // half of 40 by default
}

TEST(StreamFaults, MalformedChunkIsOneBadEventBeforeThatTokenAndEverythingElseStillArrives) {
  ServedScenario s{scenario(R"([{"target": "*", "kind": "malformed_chunk", "at_token": 3}])"), scaled(0.02)};
  WireClient c{s.port()};
  for (bool anthropic : {false, true}) {
    WireResult r = c.post(anthropic ? kAnthropicPath : kOpenAiPath, request(anthropic, true), 3s);
    ASSERT_EQ(r.end, End::complete) << to_string(r.end);
    const Seen o = seen(r.body);
    EXPECT_EQ(o.unparseable, 1);
    EXPECT_EQ(o.unparseable_before_token, 3);
    EXPECT_EQ(o.token_events, 40);
    EXPECT_EQ(o.text.size(), 160u);
    EXPECT_TRUE(o.sentinel);
    EXPECT_FALSE(o.finish.empty());
  }
  // Not streamed: like malformed_response, a 200 whose body does not parse.
  WireResult whole = c.post(kOpenAiPath, request(false, false), 3s);
  EXPECT_EQ(whole.status, 200);
  EXPECT_TRUE(json::parse(whole.body, nullptr, false).is_discarded());
}

TEST(StreamFaults, MissingDoneEndsACompleteStreamCleanlyWithoutItsSentinel) {
  ServedScenario s{scenario(R"([{"target": "*", "kind": "missing_done"}])"), scaled(0.02)};
  WireClient c{s.port()};
  for (bool anthropic : {false, true}) {
    WireResult r = c.post(anthropic ? kAnthropicPath : kOpenAiPath, request(anthropic, true), 3s);
    ASSERT_EQ(r.end, End::complete) << to_string(r.end) << " (the chunked body ends cleanly)";
    const Seen o = seen(r.body);
    EXPECT_FALSE(o.sentinel);
    EXPECT_EQ(o.text.size(), 160u);
    EXPECT_EQ(o.finish, anthropic ? "end_turn" : "stop");
    EXPECT_EQ(r.body.find("[DONE]"), std::string::npos);
    EXPECT_EQ(r.body.find("message_stop"), std::string::npos);
    if (!anthropic) EXPECT_TRUE(o.usage);
  }
  WireResult whole = c.post(kOpenAiPath, request(false, false), 3s);  // no effect on a whole answer
  EXPECT_EQ(whole.status, 200);
  EXPECT_EQ(json::parse(whole.body)["choices"][0]["finish_reason"], "stop");
}

TEST(StreamFaults, ContentFilterIsA400WithEachApisRefusal) {
  ServedScenario s{scenario(R"([{"target": "*", "kind": "content_filter"}])"), scaled(0.02)};
  WireClient c{s.port()};
  WireResult o = c.post(kOpenAiPath, request(false, true), 3s);
  EXPECT_EQ(o.status, 400);
  const json oj = json::parse(o.body);
  EXPECT_EQ(oj["error"]["code"], "content_policy_violation");
  EXPECT_EQ(oj["error"]["type"], "invalid_request_error");
  WireResult a = c.post(kAnthropicPath, request(true, false), 3s);
  EXPECT_EQ(a.status, 400);
  const json aj = json::parse(a.body);
  EXPECT_EQ(aj["type"], "error");
  EXPECT_EQ(aj["error"]["type"], "invalid_request_error");
  EXPECT_NE(aj["error"]["message"].get<std::string>().find("content filtering policy"), std::string::npos);
}

TEST(StreamFaults, AProviderWithoutPrefillRefusesAContinuationOnly) {
  ServedScenario s{scenario("[]", R"(, "supports_prefill": false)"), scaled(0.02)};
  WireClient c{s.port()};
  for (bool anthropic : {false, true}) {
    const char* path = anthropic ? kAnthropicPath : kOpenAiPath;
    WireResult refused = c.post(path, request(anthropic, true, "assistant"), 3s);
    EXPECT_EQ(refused.status, 400);
    const json j = json::parse(refused.body);
    EXPECT_EQ(anthropic ? j["error"]["type"] : j["error"]["type"], "invalid_request_error");
    EXPECT_NE(refused.body.find("prefill"), std::string::npos);
    WireResult fresh = c.post(path, request(anthropic, true), 3s);
    EXPECT_EQ(fresh.status, 200);
  }
}

TEST(StreamFaults, GatewayRoutesPickTheProviderTheModelNames) {
  ServedScenario s{scenario("[]"), scaled(0.02)};
  WireClient c{s.port()};
  json body = json::parse(request(false, false));
  body["model"] = "gpt";
  WireResult r = c.post("/v1/chat/completions", body.dump(), 3s);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("answer from gpt"), std::string::npos);
  body["model"] = "claude";  // an anthropic provider on the openai route
  EXPECT_EQ(c.post("/v1/chat/completions", body.dump(), 3s).status, 404);
  json a = json::parse(request(true, false));
  a["model"] = "claude";
  WireResult ra = c.post("/v1/messages", a.dump(), 3s);
  EXPECT_EQ(ra.status, 200);
  EXPECT_NE(ra.body.find("answer from claude"), std::string::npos);
  s.stop();
  EXPECT_EQ(s.server().counters("gpt").requests, 1u);
  EXPECT_EQ(s.server().counters("claude").requests, 1u);
}

}  // namespace
}  // namespace keel::live::serve::testing
