// stream_script (keel/sim/stream_script.h): the events of a streamed answer, read back by the
// runtime's own stream decoder.
#include "keel/sim/stream_script.h"

#include <gtest/gtest.h>

#include <string>

#include "keel/model/stream.h"

namespace keel::sim {
namespace {

using model::ProviderApi;

Result<model::ChatResponse> decoded(ProviderApi api, const StreamScript& s) {
  auto decoder = model::make_stream_decoder(api);
  for (const ScriptedEvent& e : s.events) {
    if (Status st = decoder->on_event(e.event); !st) return st.error();
  }
  return decoder->finish();
}

// A token is 4 bytes of the content, but never part of a character: each chunk carries whole
// UTF-8 characters, so every chunk is valid JSON text and the decoder reads the content back
// exactly (a chunk that split a character would carry invalid UTF-8, which the escaper turns
// into U+FFFD).
TEST(StreamScript, MultiByteCharactersAreNeverSplitAcrossTokens) {
  const std::string content = "Z\xc3\xbcrich: 12 \xc2\xb0""C \xe2\x80\x94 \xf0\x9f\x8c\xa7 rain, \xe2\x80\x9e""dry\xe2\x80\x9c.";
  for (ProviderApi api : {ProviderApi::openai, ProviderApi::anthropic}) {
    const StreamScript s = stream_script(api, {.id = "id-1", .model = "m", .message = model::Message::assistant(content)});
    Result<model::ChatResponse> r = decoded(api, s);
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->message.content, content);
    EXPECT_GE(s.tokens, static_cast<int>((content.size() + 3) / 4)) << "at most 4 bytes a token";
  }
}

TEST(StreamScript, AsciiContentIsFourBytesAToken) {
  const StreamScript s =
      stream_script(ProviderApi::openai, {.id = "id-1", .model = "m", .message = model::Message::assistant("abcdefghij")});
  EXPECT_EQ(s.tokens, 3);
  Result<model::ChatResponse> r = decoded(ProviderApi::openai, s);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->message.content, "abcdefghij");
}

}  // namespace
}  // namespace keel::sim
