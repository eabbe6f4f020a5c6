// Provider codecs: request bodies for both APIs, response and stream decoding, and bad input
// becoming classified errors.
#include "keel/live/provider_codec.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "keel/live/url.h"

namespace keel::live {
namespace {

using json = nlohmann::json;
using model::ChatRequest;
using model::Message;
using model::ProviderApi;
using model::ToolCall;

ChatRequest conversation() {
  ChatRequest r;
  r.messages = {Message::system("sys"), Message::user("q"),
                Message::assistant("", {ToolCall{"c1", "calc", R"({"x":1})"}, ToolCall{"c2", "calc", ""}}),
                Message::tool_result("c1", "calc", "2"), Message::tool_result("c2", "calc", "3")};
  r.tools = {{"calc", "adds", R"({"type":"object","properties":{"x":{"type":"number"}}})"}};
  r.max_output_tokens = 99;
  r.stream = true;
  return r;
}

TEST(ProviderCodec, OpenAiRequestBody) {
  Result<std::string> body = encode_request(ProviderApi::openai, conversation(), "gpt-x");
  ASSERT_TRUE(body) << body.error();
  const json j = json::parse(*body);
  EXPECT_EQ(j["model"], "gpt-x");
  EXPECT_EQ(j["max_tokens"], 99);
  EXPECT_EQ(j["stream"], true);
  EXPECT_EQ(j["stream_options"]["include_usage"], true);
  ASSERT_EQ(j["messages"].size(), 5u);
  EXPECT_EQ(j["messages"][0]["role"], "system");
  EXPECT_TRUE(j["messages"][2]["content"].is_null());
  EXPECT_EQ(j["messages"][2]["tool_calls"][0]["function"]["arguments"], R"({"x":1})");
  EXPECT_EQ(j["messages"][3]["tool_call_id"], "c1");
  EXPECT_EQ(j["tools"][0]["function"]["parameters"]["type"], "object");
}

TEST(ProviderCodec, AnthropicRequestBody) {
  Result<std::string> body = encode_request(ProviderApi::anthropic, conversation(), "claude-x");
  ASSERT_TRUE(body) << body.error();
  const json j = json::parse(*body);
  EXPECT_EQ(j["system"], "sys");
  ASSERT_EQ(j["messages"].size(), 3u) << "user, assistant, one user message with both tool results";
  EXPECT_EQ(j["messages"][1]["content"][0]["type"], "tool_use");
  EXPECT_EQ(j["messages"][1]["content"][0]["input"]["x"], 1);
  EXPECT_EQ(j["messages"][1]["content"][1]["input"], json::object());
  EXPECT_EQ(j["messages"][2]["content"].size(), 2u);
  EXPECT_EQ(j["messages"][2]["content"][1]["tool_use_id"], "c2");
  EXPECT_EQ(j["tools"][0]["input_schema"]["type"], "object");
}

TEST(ProviderCodec, InvalidJsonTextInARequestIsInvalidRequest) {
  ChatRequest r = conversation();
  r.tools.edit(0).parameters_schema = "{oops";
  for (ProviderApi api : {ProviderApi::openai, ProviderApi::anthropic}) {
    Result<std::string> body = encode_request(api, r, "m");
    ASSERT_FALSE(body);
    EXPECT_EQ(body.error().code, ErrorCode::invalid_request);
  }
  ChatRequest bad_args;
  bad_args.messages = {Message::assistant("", {ToolCall{"c", "f", "not json"}})};
  EXPECT_EQ(encode_request(ProviderApi::anthropic, bad_args, "m").error().code, ErrorCode::invalid_request);
}

// Schemas are kept parsed (per thread, by text): the body carries each as nlohmann
// re-serializes it, the same on every request, past the cache's size too.
TEST(ProviderCodec, ToolSchemasAreWrittenReserializedOnEveryRequest) {
  ChatRequest r = conversation();
  for (int round = 0; round < 2; ++round) {
    for (int k = 0; k < 300; ++k) {
      const std::string n = std::to_string(k);
      r.tools.edit(0).parameters_schema = " { \"b\" : " + n + ", \"a\": [1, 2.50] } ";
      for (ProviderApi api : {ProviderApi::openai, ProviderApi::anthropic}) {
        Result<std::string> body = encode_request(api, r, "m");
        ASSERT_TRUE(body) << body.error();
        EXPECT_NE(body->find(R"({"a":[1,2.5],"b":)" + n + "}"), std::string::npos) << *body;
      }
    }
  }
}

TEST(ProviderCodec, ErrorObjectsInA2xxBodyOrStreamAreClassified) {
  Result<model::ChatResponse> r =
      decode_response(ProviderApi::openai, R"({"error":{"code":"context_length_exceeded","message":"too long"}})", 200);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::context_overflow);
  auto stream = make_stream_decoder(ProviderApi::openai);
  Status s = stream->on_event({"message", R"({"error":{"type":"server_error","message":"boom"}})"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::server_error);
}

TEST(ProviderCodec, StreamsCutShortAreMalformedAndGarbledEventsAreSkippedAndCounted) {
  for (ProviderApi api : {ProviderApi::openai, ProviderApi::anthropic}) {
    auto d = make_stream_decoder(api);
    EXPECT_EQ(d->finish().error().code, ErrorCode::malformed_response);
    auto g = make_stream_decoder(api);
    EXPECT_TRUE(g->on_event({"message", "{trunc"}));  // skipped, one count per event
    EXPECT_EQ(g->progress().skipped, 1);
    EXPECT_EQ(g->finish().error().code, ErrorCode::malformed_response);  // and never complete
  }
  auto a = make_stream_decoder(ProviderApi::anthropic);
  EXPECT_TRUE(a->on_event({"content_block_delta", R"({"type":"content_block_delta","index":3,"delta":{}})"}));
  EXPECT_EQ(a->progress().skipped, 1);
}

TEST(Url, ParsesAndRefuses) {
  Result<Url> u = Url::parse("HTTPS://api.openai.com/v1/");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "api.openai.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path, "/v1");
  EXPECT_EQ(u->host_header(), "api.openai.com");
  Result<Url> v6 = Url::parse("http://[::1]:8080");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_TRUE(v6->is_loopback());
  EXPECT_EQ(v6->authority(), "[::1]:8080");
  EXPECT_TRUE(Url::parse("http://127.0.0.2:1")->is_loopback());
  EXPECT_FALSE(Url::parse("http://10.0.0.1")->is_loopback());
  for (const char* bad : {"api.openai.com", "ftp://x", "https://user:pw@x", "https://x:0", "https://x:70000",
                          "https://x:", "https://", "https://x?q=1", "https://[::1", "https://a b"}) {
    Result<Url> r = Url::parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_request);
    EXPECT_EQ(r.error().message.find("pw"), std::string::npos);
  }
}

}  // namespace
}  // namespace keel::live
