// The shared stream decoder (keel/model/stream.h): completeness, the optional end sentinel,
// malformed events skipped only when the usage proves nothing was lost, error events.
#include <gtest/gtest.h>

#include "keel/model/stream.h"

namespace keel::model {
namespace {

StreamEvent data(std::string d) { return StreamEvent{"message", std::move(d)}; }
StreamEvent typed(std::string type, std::string d) { return StreamEvent{std::move(type), std::move(d)}; }

const char* kChunkA = R"({"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"He"}}]})";
const char* kChunkB = R"({"id":"c1","choices":[{"index":0,"delta":{"content":"llo"}}]})";
const char* kFinish = R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})";
const char* kUsage2 = R"({"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2}})";

TEST(StreamDecoderTest, OpenAiCompleteWithoutDoneIsAcceptedWithItsUsage) {
  auto d = make_stream_decoder(ProviderApi::openai);
  for (const char* e : {kChunkA, kChunkB, kFinish, kUsage2}) ASSERT_TRUE(d->on_event(data(e)));
  Result<ChatResponse> r = d->finish();
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->message.content, "Hello");
  EXPECT_EQ(r->usage.prompt_tokens, 7);
  EXPECT_EQ(r->usage.completion_tokens, 2);
  EXPECT_EQ(r->answer_tokens, 2);
  EXPECT_EQ(r->id, "c1");
  EXPECT_EQ(r->model, "m");
  EXPECT_TRUE(r->streamed);
  EXPECT_FALSE(d->progress().terminated);
}

TEST(StreamDecoderTest, AStreamWithoutItsFinishReasonIsNeverAnAnswer) {
  auto d = make_stream_decoder(ProviderApi::openai);
  ASSERT_TRUE(d->on_event(data(kChunkA)));
  ASSERT_TRUE(d->on_event(data("[DONE]")));  // even a terminator does not make it complete
  EXPECT_EQ(d->partial_content(), "He");
  EXPECT_EQ(d->progress().content_deltas, 1);
  Result<ChatResponse> r = d->finish();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::malformed_response);
}

TEST(StreamDecoderTest, AMalformedEventIsSkippedWhenTheUsageProvesEveryToken) {
  auto d = make_stream_decoder(ProviderApi::openai);
  ASSERT_TRUE(d->on_event(data(kChunkA)));
  ASSERT_TRUE(d->on_event(data(R"({"choices":[{"index":0,"delta":{"content":"The ans)")));
  ASSERT_TRUE(d->on_event(data("not json either")));
  for (const char* e : {kChunkB, kFinish, kUsage2}) ASSERT_TRUE(d->on_event(data(e)));
  EXPECT_EQ(d->progress().skipped, 2);  // one per event
  Result<ChatResponse> r = d->finish();
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->message.content, "Hello");
  EXPECT_EQ(r->skipped_events, 2);
}

TEST(StreamDecoderTest, ASkippedEventThatMayHaveCarriedContentFailsTheAnswer) {
  auto d = make_stream_decoder(ProviderApi::openai);
  ASSERT_TRUE(d->on_event(data(kChunkA)));
  ASSERT_TRUE(d->on_event(data(R"({"choices":[{"index":0,"delta":{"content":"ll)")));  // a real token, garbled
  for (const char* e : {kFinish, kUsage2}) ASSERT_TRUE(d->on_event(data(e)));
  Result<ChatResponse> r = d->finish();  // usage says 2 tokens, 1 arrived
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::malformed_response);
}

TEST(StreamDecoderTest, ASkipWithoutUsageCannotBeProvedAndFails) {
  auto d = make_stream_decoder(ProviderApi::openai);
  for (const char* e : {kChunkA, "garbage", kFinish}) ASSERT_TRUE(d->on_event(data(e)));
  EXPECT_FALSE(d->finish());
}

TEST(StreamDecoderTest, AnthropicCompleteWithoutMessageStopIsAccepted) {
  auto d = make_stream_decoder(ProviderApi::anthropic);
  const StreamEvent events[] = {
      typed("message_start", R"({"type":"message_start","message":{"id":"msg_1","model":"claude","usage":{"input_tokens":5,"output_tokens":1}}})"),
      typed("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"),
      typed("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})"),
      typed("content_block_stop", R"({"type":"content_block_stop","index":0})"),
      typed("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1}})")};
  for (const StreamEvent& e : events) ASSERT_TRUE(d->on_event(e));
  Result<ChatResponse> r = d->finish();
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->message.content, "Hi");
  EXPECT_EQ(r->usage.prompt_tokens, 5);
  EXPECT_EQ(r->usage.completion_tokens, 1);
  EXPECT_EQ(r->id, "msg_1");
}

TEST(StreamDecoderTest, AnthropicCutBeforeStopReasonFails) {
  auto d = make_stream_decoder(ProviderApi::anthropic);
  ASSERT_TRUE(d->on_event(typed("message_start", R"({"type":"message_start","message":{"id":"m","model":"c"}})")));
  ASSERT_TRUE(d->on_event(typed("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})")));
  ASSERT_TRUE(d->on_event(typed("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})")));
  EXPECT_FALSE(d->finish());
  EXPECT_EQ(d->partial_content(), "Hi");
}

TEST(StreamDecoderTest, AContentFilterErrorEventIsClassified) {
  auto o = make_stream_decoder(ProviderApi::openai);
  Status s = o->on_event(data(R"({"error":{"message":"Your request was rejected as a result of our safety system.","type":"invalid_request_error","code":"content_policy_violation"}})"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::content_filter);
  auto a = make_stream_decoder(ProviderApi::anthropic);
  s = a->on_event(typed("error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::server_error);
}

}  // namespace
}  // namespace keel::model
