// json_type (keel/core/json_check.h) accepts exactly what nlohmann::json::accept accepts, over
// random byte strings from a JSON-heavy alphabet and over mutated dumps of random documents.
// (Documented differences: a leading byte-order mark and a NUL byte are rejected here.)
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <rapidcheck/gtest.h>

#include "keel/core/json_check.h"

namespace keel {
namespace {

// Bytes that matter to a JSON parser, plus UTF-8 pieces (valid, truncated, overlong, surrogate).
const std::vector<std::string> kPieces = {
    "{", "}", "[", "]", ":", ",", "\"", "\\", " ", "\n", "\t", "0", "1", "9", "-", "+", ".", "e", "E",
    "true", "false", "null", "tru", "nul", "\\u", "\\ud83d", "\\ude00", "\\u00e9", "\\n", "\\x",
    "a", "\xc3\xa9", "\xc3", "\xe2\x82\xac", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80", "\x01",
    "\x7f", "1e400", "1e-400", "00", "\"k\":", "abcdefghij"};

rc::Gen<std::string> fragments() {
  return rc::gen::map(rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, kPieces.size())),
                      [](const std::vector<std::size_t>& picks) {
                        std::string s;
                        for (std::size_t i : picks) s += kPieces[i];
                        return s;
                      });
}

nlohmann::json document(int depth) {
  switch (*rc::gen::inRange(0, depth > 3 ? 4 : 6)) {
    case 0: return nullptr;
    case 1: return *rc::gen::arbitrary<bool>();
    case 2:  // numbers are drawn as int/double: RapidCheck cannot print a json value
      if (*rc::gen::arbitrary<bool>()) return *rc::gen::arbitrary<int>();
      return *rc::gen::arbitrary<double>();
    case 3: return *fragments();
    case 4: {
      nlohmann::json a = nlohmann::json::array();
      const int n = *rc::gen::inRange(0, 4);
      for (int i = 0; i < n; ++i) a.push_back(document(depth + 1));
      return a;
    }
    default: {
      nlohmann::json o = nlohmann::json::object();
      const int n = *rc::gen::inRange(0, 4);
      for (int i = 0; i < n; ++i) o[*rc::gen::element<std::string>("a", "b", "k\xc3\xa9", "")] = document(depth + 1);
      return o;
    }
  }
}

bool agree(const std::string& text) {
  if (text.rfind("\xef\xbb\xbf", 0) == 0) return true;  // documented: a BOM is rejected here
  const bool accepted = nlohmann::json::accept(text);
  // Documented: nlohmann takes a NUL byte for the end of the input; here it is invalid.
  if (text.find('\0') != std::string::npos) return !is_json(text) || accepted;
  return is_json(text) == accepted;
}

RC_GTEST_PROP(JsonCheckProperties, AgreesWithNlohmannOnRandomFragments, ()) {
  const std::string text = *fragments();
  RC_ASSERT(agree(text));
}

RC_GTEST_PROP(JsonCheckProperties, AgreesWithNlohmannOnMutatedDocuments, ()) {
  std::string text = document(0).dump(*rc::gen::element(-1, 2), ' ', false, nlohmann::json::error_handler_t::replace);
  RC_ASSERT(is_json(text));
  const int edits = *rc::gen::inRange(0, 4);
  for (int i = 0; i < edits && !text.empty(); ++i) {
    const std::size_t at = *rc::gen::inRange<std::size_t>(0, text.size());
    switch (*rc::gen::inRange(0, 3)) {
      case 0: text.erase(at, 1); break;
      case 1: text.insert(at, kPieces[*rc::gen::inRange<std::size_t>(0, kPieces.size())]); break;
      default: text[at] = static_cast<char>(*rc::gen::arbitrary<unsigned char>());
    }
  }
  RC_ASSERT(agree(text));
}

RC_GTEST_PROP(JsonCheckProperties, TypeIsTheTopLevelValuesType, ()) {
  const nlohmann::json doc = document(0);
  const std::string text = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::optional<JsonType> type = json_type(" " + text + "\n");
  RC_ASSERT(type.has_value());
  RC_ASSERT((*type == JsonType::object) == doc.is_object());
  RC_ASSERT((*type == JsonType::array) == doc.is_array());
  RC_ASSERT((*type == JsonType::string) == doc.is_string());
  RC_ASSERT((*type == JsonType::number) == doc.is_number());
}

TEST(JsonCheck, Examples) {
  EXPECT_EQ(json_type(R"({"a":[1,2.5e-3,true,null,"\u00e9\ud83d\ude00"]})"), JsonType::object);
  EXPECT_EQ(json_type(" -0 "), JsonType::number);
  EXPECT_FALSE(is_json(""));
  EXPECT_FALSE(is_json("{} {}"));
  EXPECT_FALSE(is_json("[1,]"));
  EXPECT_FALSE(is_json("01"));
  EXPECT_FALSE(is_json("\"\\ud800\""));   // lone high surrogate
  EXPECT_FALSE(is_json("\"\xed\xa0\x80\""));  // encoded surrogate
  EXPECT_FALSE(is_json("1e400"));
  EXPECT_TRUE(is_json("1e-400"));
  EXPECT_TRUE(is_json(std::string(100000, '[') + std::string(100000, ']')));  // no recursion
}

// Strings are scanned eight bytes at a time: a byte that matters at any offset of a long string
// (quote, escape, control byte, valid or broken UTF-8) must still be seen, exactly as nlohmann.
TEST(JsonCheck, EverySpecialByteAtEveryOffset) {
  const std::string specials[] = {"\"",     "\\\\",  "\\n",          "\\u00e9", "\\x",  "\x01",
                                  "\x1f",   "\n",     "\xc3\xa9",     "\xe2\x82", "\xff", "\xf0\x9f\x98\x80"};
  for (const std::string& special : specials) {
    for (std::size_t at = 0; at <= 20; ++at) {
      std::string body(20, 'a');
      body.insert(at, special);
      const std::string doc = "{\"k\":\"" + body + "\"}";
      EXPECT_EQ(is_json(doc), nlohmann::json::accept(doc)) << doc;
    }
  }
}

}  // namespace
}  // namespace keel
