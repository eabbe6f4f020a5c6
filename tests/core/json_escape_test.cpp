// Tests for keel/core/json_escape.h: the one JSON string escaper and its invalid-UTF-8 rule.
#include "keel/core/json_escape.h"

#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "keel/core/json_check.h"
#include "keel/core/json_document.h"

namespace keel {
namespace {

std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

// Both outputs (appended, written into reserved space) give the same literal.
std::string written(std::string_view s) {
  std::string out(json_string_bound(s), '\0');
  out.resize(static_cast<std::size_t>(write_json_string(out.data(), s) - out.data()));
  return out;
}

// The escaper skips plain ASCII eight bytes at a time: every special byte at every offset of
// a long string must still be escaped exactly as nlohmann::json dumps it (same rules for valid UTF-8).
TEST(JsonEscape, EscapesSpecialBytesAtEveryOffsetAsNlohmannDumps) {
  const std::string specials[] = {"\x01", "\"", "\\", "\n", "\x1f", "\t", "\xc3\xa9", "\xe2\x82\xac", "\x7f",
                                  "\xf0\x9f\x98\x80", std::string(1, '\0')};
  for (const std::string& special : specials) {
    for (std::size_t at = 0; at <= 24; ++at) {
      std::string s(24, 'a');
      s.insert(at, special);
      EXPECT_EQ(json_string(s), nlohmann::json(s).dump()) << "byte " << int(static_cast<unsigned char>(special[0])) << " at " << at;
      EXPECT_EQ(written(s), json_string(s));
    }
  }
}

TEST(JsonEscape, Rules) {
  EXPECT_EQ(json_string("plain"), "\"plain\"");
  EXPECT_EQ(json_string(""), "\"\"");
  EXPECT_EQ(json_string("q\"b\\s/"), "\"q\\\"b\\\\s/\"");
  EXPECT_EQ(json_string("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
  EXPECT_EQ(json_string(std::string_view("\x00\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\x7f\"");
  // Valid UTF-8 passes through unchanged.
  EXPECT_EQ(json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  std::string out = "[";
  append_json_string(out, "a");
  EXPECT_EQ(out, "[\"a\"") << "appends";
}

// The invalid-UTF-8 rule: each byte that is not part of a valid sequence becomes U+FFFD,
// written as its UTF-8 bytes.
TEST(JsonEscape, EachInvalidByteBecomesTheReplacementCharacter) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(json_string("a\xff" "b"), "\"a" + r + "b\"");
  EXPECT_EQ(json_string("\x80"), "\"" + r + "\"");                        // lone continuation
  EXPECT_EQ(json_string("x\xe2\x82"), "\"x" + r + r + "\"");               // truncated
  EXPECT_EQ(json_string("\xe2\x82z"), "\"" + r + r + "z\"");               // truncated, then ASCII
  EXPECT_EQ(json_string("\xc0\xaf"), "\"" + r + r + "\"");                 // overlong
  EXPECT_EQ(json_string("\xed\xa0\x80"), "\"" + r + r + r + "\"");         // surrogate
  EXPECT_EQ(json_string("\xf4\x90\x80\x80"), "\"" + r + r + r + r + "\""); // > U+10FFFF
  EXPECT_EQ(json_string("\xf5\xc3\xa9"), "\"" + r + "\xc3\xa9\"");        // the valid sequence after survives
  for (std::size_t at = 0; at <= 20; ++at) {  // at every offset, through the eight-byte skip
    std::string s(20, 'b');
    s.insert(at, "\xff");
    std::string expected(20, 'b');
    expected.insert(at, r);
    EXPECT_EQ(json_string(s), "\"" + expected + "\"");
    EXPECT_EQ(written(s), json_string(s));
  }
}

// Whatever the bytes, the literal is valid JSON whose value is utf8_replaced(bytes): keel's
// scanner (both sinks) and nlohmann read it back so.
TEST(JsonEscape, AnyBytesGiveValidJsonCarryingTheRepairedValue) {
  std::uint32_t state = 12345;
  for (int round = 0; round < 2000; ++round) {
    std::string s;
    const int n = round % 24;
    for (int k = 0; k < n; ++k) {
      state = state * 1664525u + 1013904223u;  // a fixed LCG: the same bytes every run
      const unsigned pick = state >> 24;
      s += static_cast<char>(pick % 3 == 0 ? pick : (pick % 3 == 1 ? 0x80 + pick % 0x50 : 'a' + pick % 26));
    }
    const std::string literal = json_string(s);
    std::string value;
    utf8_replaced(s, value);
    EXPECT_EQ(is_valid_utf8(s), value == s);
    ASSERT_EQ(json_type(literal), JsonType::string) << testing::PrintToString(s);
    JsonDocument doc;
    ASSERT_TRUE(doc.parse(literal));
    EXPECT_EQ(doc.root().text, value);
    EXPECT_EQ(nlohmann::json::parse(literal).get<std::string>(), value);
    EXPECT_EQ(written(s), literal);
  }
}

TEST(JsonEscape, Utf8Validity) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("caf\xc3"));
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));
  std::string out = "stale";
  utf8_replaced("ok\xc3(", out);
  EXPECT_EQ(out, "ok\xEF\xBF\xBD(");
}

}  // namespace
}  // namespace keel
