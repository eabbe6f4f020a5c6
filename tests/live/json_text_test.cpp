// JsonDocument (keel/core/json_document.h) and JsonWriter (runtime/live/src, private to the
// provider codecs): the reader accepts exactly what nlohmann accepts and reads the same values;
// the writer's output parses back to the same strings, with invalid UTF-8 replaced as
// nlohmann's dump(replace) does.
#include "keel/core/json_document.h"
#include "json_writer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace keel::live {
namespace {

using json = nlohmann::json;

TEST(JsonDocument, AcceptsExactlyWhatNlohmannAccepts) {
  const std::vector<std::string> inputs = {
      "", " ", "{}", "[]", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01", "-", "-0", "1.", ".5", "1e",
      "1e+", "1E-2", "-12.5e3", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "true",
      "tru", "nul", "null ", " \t\r\n[ 1 , 2 ]\n", "[1] x", "\"\\u0041\"", "\"\\u00e9\\uD83D\\uDE00\"", "\"\\uD83D\"",
      "\"\\uDE00\"", "\"\\uD83Dx\"", "\"\\x\"", "\"a\tb\"", "\"\x01\"", "\"\xC3\xA9\"", "\"\xC3\"", "\"\xC0\x80\"",
      "\"\xED\xA0\x80\"", "\"\xF4\x90\x80\x80\"", "\"\xF0\x9F\x98\x80\"", "\xEF\xBB\xBF{}", "\xEF\xBB{}",
      std::string("\"a\0b\"", 5), std::string("[1]\0", 4), "{\"a\":{\"b\":[true,false,null,\"x\\n\"]}}", "\"\\/\"",
      "[[[[[[[[[[]]]]]]]]]]", "{\"\\u0000\":1}", "\"\\u00\"", "1 2", "\x80", "4e444", "-1e309", "1e-400", "1.7976931348623157e308",
      std::string(400, '9'), "[1e999]"};
  for (const std::string& in : inputs) {
    JsonDocument doc;
    EXPECT_EQ(doc.parse(in), json::accept(in)) << "input: " << testing::PrintToString(in);
  }
}

TEST(JsonDocument, ReadsTheSameValuesAsNlohmann) {
  const std::string text =
      R"({"s":"plain","e":"a\"b\\c\n\u00e9\ud83d\ude00","n":-42,"f":1.5,"big":18446744073709551616,)"
      R"("b":true,"z":null,"a":[1,"two",{"k":"v"}],"dup":1,"dup":2})";
  JsonDocument doc;
  ASSERT_TRUE(doc.parse(text));
  const json j = json::parse(text);
  const JsonValue& root = doc.root();
  ASSERT_TRUE(root.is_object());
  EXPECT_EQ(root.size, j.size() + 1) << "the document keeps both duplicates";
  EXPECT_EQ(doc.member(root, "s")->text, j["s"].get<std::string>());
  EXPECT_EQ(doc.member(root, "e")->text, j["e"].get<std::string>());
  EXPECT_EQ(doc.member(root, "n")->integer, -42);
  EXPECT_EQ(doc.member(root, "f")->type, JsonValue::Type::number);
  EXPECT_EQ(doc.member(root, "big")->type, JsonValue::Type::number);
  EXPECT_TRUE(doc.member(root, "b")->boolean);
  EXPECT_EQ(doc.member(root, "z")->type, JsonValue::Type::null);
  EXPECT_EQ(doc.member(root, "dup")->integer, j["dup"].get<int>()) << "the last duplicate wins, as in nlohmann";
  EXPECT_EQ(doc.member(root, "missing"), nullptr);
  const JsonValue* a = doc.member(root, "a");
  ASSERT_TRUE(a && a->is_array());
  ASSERT_EQ(a->size, 3u);
  const JsonValue* second = doc.next(*doc.first(*a));
  EXPECT_EQ(second->text, "two");
  EXPECT_EQ(doc.member(*doc.next(*second), "k")->text, "v");
  EXPECT_EQ(json::parse(doc.next(*second)->raw), j["a"][2]);
  EXPECT_EQ(doc.member(*a, "k"), nullptr) << "member of an array";
}

TEST(JsonDocument, RefusesNestingDeeperThanItsLimit) {
  JsonDocument doc;
  const std::string ok(JsonDocument::kMaxDepth, '[');
  EXPECT_TRUE(doc.parse(ok + std::string(JsonDocument::kMaxDepth, ']')));
  const std::string deep(JsonDocument::kMaxDepth + 1, '[');
  EXPECT_FALSE(doc.parse(deep + std::string(JsonDocument::kMaxDepth + 1, ']')));
  EXPECT_TRUE(doc.too_deep());
  EXPECT_FALSE(doc.root().is_array()) << "a failed parse leaves a null root";
}

TEST(JsonWriter, WritesWhatNlohmannReadsBack) {
  const std::string tricky = std::string("q\"b\\s/\n\r\t\b\f\x01\x1f\x7f \xC3\xA9 \xF0\x9F\x98\x80 ") + '\0';
  std::string out;
  JsonWriter w{out};
  w.begin_object();
  w.key("s");
  w.string(tricky);
  w.key("a");
  w.begin_array();
  w.integer(-5);
  w.boolean(false);
  w.null();
  w.begin_object();
  w.end_object();
  w.begin_array();
  w.end_array();
  w.raw(R"({"x":1})");
  w.end_array();
  w.key("k\"ey");
  w.integer(INT64_MAX);
  w.end_object();
  const json j = json::parse(out);
  EXPECT_EQ(j["s"].get<std::string>(), tricky);
  EXPECT_EQ(j["a"], json::parse(R"([-5,false,null,{},[],{"x":1}])"));
  EXPECT_EQ(j["k\"ey"].get<std::int64_t>(), INT64_MAX);
  EXPECT_EQ(out.find('\n'), std::string::npos);
  EXPECT_NE(out.find("\\u0001"), std::string::npos) << "control characters as nlohmann writes them";
}

TEST(JsonWriter, ReplacesInvalidUtf8LikeNlohmannDump) {
  for (const std::string s : {"a\xC3", "\xC0\x80", "\xED\xA0\x80z", "\xFF", "ok\xE2\x82"}) {
    std::string out;
    JsonWriter w{out};
    w.string(s);
    const std::string ours = json::parse(out).get<std::string>();
    const std::string theirs = json::parse(json(s).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>();
    EXPECT_TRUE(json::accept(out)) << testing::PrintToString(s);
    EXPECT_EQ(ours.find_first_not_of("az ok\xEF\xBF\xBD"), std::string::npos) << testing::PrintToString(ours);
    EXPECT_EQ(ours.empty(), theirs.empty());
  }
}

}  // namespace
}  // namespace keel::live
