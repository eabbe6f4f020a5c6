// SseParser: the event-stream rules, and the same events whatever the chunk boundaries.
#include "keel/live/sse_parser.h"

#include <gtest/gtest.h>

namespace keel::live {
namespace {

std::vector<SseEvent> all(SseParser& p, std::string_view bytes) {
  Result<std::vector<SseEvent>> r = p.feed(bytes);
  EXPECT_TRUE(r);
  return r ? *r : std::vector<SseEvent>{};
}

TEST(SseParser, FieldsCommentsAndMultiLineData) {
  SseParser p;
  auto events = all(p, ": comment\nevent: delta\ndata: a\ndata:b\nid: 7\nretry: 10\nbogus\n\ndata: [DONE]\n\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], (SseEvent{"delta", "a\nb"}));
  EXPECT_EQ(events[1], (SseEvent{"message", "[DONE]"}));
  EXPECT_TRUE(p.at_boundary());
}

TEST(SseParser, EventWithoutDataIsDroppedAndTypeResets) {
  SseParser p;
  auto events = all(p, "event: ping\n\ndata: x\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], (SseEvent{"message", "x"}));
}

TEST(SseParser, EveryLineEndingAndEverySplitGiveTheSameEvents) {
  const std::string stream = "event: a\r\ndata: 1\r\n\r\ndata: 2\rdata: 3\r\rdata:  4\n\n";
  SseParser whole;
  const auto expected = all(whole, stream);
  ASSERT_EQ(expected.size(), 3u);
  EXPECT_EQ(expected[1].data, "2\n3");
  EXPECT_EQ(expected[2].data, " 4");
  for (std::size_t cut1 = 0; cut1 <= stream.size(); ++cut1) {
    for (std::size_t cut2 = cut1; cut2 <= stream.size(); ++cut2) {
      SseParser p;
      auto got = all(p, std::string_view(stream).substr(0, cut1));
      auto more = all(p, std::string_view(stream).substr(cut1, cut2 - cut1));
      auto rest = all(p, std::string_view(stream).substr(cut2));
      got.insert(got.end(), more.begin(), more.end());
      got.insert(got.end(), rest.begin(), rest.end());
      ASSERT_EQ(got, expected) << cut1 << "/" << cut2;
    }
  }
}

TEST(SseParser, AnIncompleteEventIsNotDeliveredAndIsReported) {
  SseParser p;
  EXPECT_TRUE(all(p, "data: half").empty());
  EXPECT_FALSE(p.at_boundary());
  EXPECT_EQ(all(p, "\n\n").size(), 1u);
  EXPECT_TRUE(p.at_boundary());
}

TEST(SseParser, AnOverlongLineIsMalformedAndStaysFailed) {
  SseParser p{8};
  Result<std::vector<SseEvent>> r = p.feed("data: 0123456789");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::malformed_response);
  EXPECT_FALSE(p.feed("\n\n"));
}

}  // namespace
}  // namespace keel::live
