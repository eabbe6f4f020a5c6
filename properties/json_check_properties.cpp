// json_type (keel/core/json_check.h) accepts exactly what nlohmann::json::accept accepts, over
// random byte strings from a JSON-heavy alphabet and over mutated dumps of random documents.
// (Documented differences: a leading byte-order mark and a NUL byte are rejected here.)
// And the JSON scanner's two sinks agree: json_type (the validator) accepts a text exactly when
// JsonDocument (the flat document builder) builds it, with the same top-level type, but for the
// builder's documented extras (a BOM, a NUL after the value) and its depth limit.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <rapidcheck/gtest.h>

#include "keel/core/json_check.h"
#include "keel/core/json_document.h"

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

// Up to `edits` random edits of `text`: a byte erased, a JSON piece inserted, a byte replaced.
void mutate(std::string& text, int edits) {
  for (int i = 0; i < edits && !text.empty(); ++i) {
    const std::size_t at = *rc::gen::inRange<std::size_t>(0, text.size());
    switch (*rc::gen::inRange(0, 3)) {
      case 0: text.erase(at, 1); break;
      case 1: text.insert(at, kPieces[*rc::gen::inRange<std::size_t>(0, kPieces.size())]); break;
      default: text[at] = static_cast<char>(*rc::gen::arbitrary<unsigned char>());
    }
  }
}

RC_GTEST_PROP(JsonCheckProperties, AgreesWithNlohmannOnRandomFragments, ()) {
  const std::string text = *fragments();
  RC_ASSERT(agree(text));
}

RC_GTEST_PROP(JsonCheckProperties, AgreesWithNlohmannOnMutatedDocuments, ()) {
  std::string text = document(0).dump(*rc::gen::element(-1, 2), ' ', false, nlohmann::json::error_handler_t::replace);
  RC_ASSERT(is_json(text));
  mutate(text, *rc::gen::inRange(0, 4));
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

// The builder's type word for json_type's (integers and other numbers are both "number").
JsonType type_of(const JsonValue& v) {
  switch (v.type) {
    case JsonValue::Type::null: return JsonType::null;
    case JsonValue::Type::boolean: return JsonType::boolean;
    case JsonValue::Type::integer:
    case JsonValue::Type::number: return JsonType::number;
    case JsonValue::Type::string: return JsonType::string;
    case JsonValue::Type::array: return JsonType::array;
    case JsonValue::Type::object: return JsonType::object;
  }
  return JsonType::null;
}

// Both sinks of the scanner, on one text: same verdict, same type (texts with a BOM or a NUL,
// where the builder follows nlohmann's parse and the validator refuses, are left out).
bool sinks_agree(const std::string& text) {
  if (text.rfind("\xef\xbb\xbf", 0) == 0 || text.find('\0') != std::string::npos) return true;
  JsonDocument doc;
  const bool built = doc.parse(text);
  if (doc.too_deep()) return !built;
  const std::optional<JsonType> type = json_type(text);
  if (built != type.has_value()) return false;
  return !built || type_of(doc.root()) == *type;
}

RC_GTEST_PROP(JsonScannerSinks, AgreeOnRandomFragments, ()) {
  RC_ASSERT(sinks_agree(*fragments()));
}

RC_GTEST_PROP(JsonScannerSinks, AgreeOnMutatedDocuments, ()) {
  std::string text = document(0).dump(*rc::gen::element(-1, 2), ' ', false, nlohmann::json::error_handler_t::replace);
  RC_ASSERT(sinks_agree(text));
  mutate(text, *rc::gen::inRange(1, 4));
  RC_ASSERT(sinks_agree(text));
}

// What the builder builds is the document nlohmann reads: same shape, same strings, same integers.
// Every node's `raw` views its source text in `text`.
bool same_value(const JsonDocument& doc, const JsonValue& v, const nlohmann::json& j, std::string_view text) {
  if (v.raw.data() < text.data() || v.raw.data() + v.raw.size() > text.data() + text.size()) return false;
  if (nlohmann::json::parse(v.raw) != j) return false;
  switch (v.type) {
    case JsonValue::Type::null: return j.is_null();
    case JsonValue::Type::boolean: return j.is_boolean() && j.get<bool>() == v.boolean;
    case JsonValue::Type::integer: return j.is_number_integer() && j == nlohmann::json(v.integer);
    case JsonValue::Type::number: return j.is_number();
    case JsonValue::Type::string: return j.is_string() && j.get<std::string>() == v.text;
    case JsonValue::Type::array: {
      if (!j.is_array() || j.size() != v.size) return false;
      std::size_t i = 0;
      for (const JsonValue* e = doc.first(v); e; e = doc.next(*e)) {
        if (!same_value(doc, *e, j[i++], text)) return false;
      }
      return true;
    }
    case JsonValue::Type::object: {
      if (!j.is_object() || j.size() != v.size) return false;  // a dump has no repeated keys
      for (const JsonValue* m = doc.first(v); m; m = doc.next(*m)) {
        const auto it = j.find(std::string(m->key));
        if (it == j.end() || !same_value(doc, *doc.member(v, m->key), *it, text)) return false;
      }
      return true;
    }
  }
  return false;
}

RC_GTEST_PROP(JsonScannerSinks, BuilderReadsWhatNlohmannReads, ()) {
  const std::string text = document(0).dump(*rc::gen::element(-1, 2), ' ', false, nlohmann::json::error_handler_t::replace);
  JsonDocument doc;
  RC_ASSERT(doc.parse(text));
  RC_ASSERT(same_value(doc, doc.root(), nlohmann::json::parse(text), text));
  RC_ASSERT(doc.root().raw == std::string_view(text).substr(text.find_first_not_of(" \n")));
}

TEST(JsonScannerSinks, DepthIsTheBuildersLimitOnly) {
  const auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  JsonDocument doc;
  EXPECT_TRUE(doc.parse(nested(JsonDocument::kMaxDepth)));
  EXPECT_TRUE(is_json(nested(JsonDocument::kMaxDepth)));
  EXPECT_FALSE(doc.parse(nested(JsonDocument::kMaxDepth + 1)));
  EXPECT_TRUE(doc.too_deep());
  EXPECT_TRUE(is_json(nested(JsonDocument::kMaxDepth + 1)));
}

TEST(JsonScannerSinks, BuilderExtrasFollowNlohmannParse) {
  JsonDocument doc;
  EXPECT_TRUE(doc.parse("\xef\xbb\xbf{}"));
  EXPECT_FALSE(is_json("\xef\xbb\xbf{}"));
  EXPECT_TRUE(doc.parse(std::string("1 \0garbage", 10)));
  EXPECT_FALSE(is_json(std::string("1 \0garbage", 10)));
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
