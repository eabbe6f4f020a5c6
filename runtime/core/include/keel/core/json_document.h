// keel/core/json_document.h — a small, strict JSON reader: the provider codecs (runtime/live) and
// the error classifier (runtime/model) read members out of provider answers with it.
//
// Purpose: decoding a provider answer needs a handful of members out of a small document.
// nlohmann's DOM allocates a map node and a string per key and value; this reader builds a
// flat array of nodes whose keys and strings view the input text (only a string containing
// escapes is decoded into storage owned by the document), so a typical answer costs one or
// two allocations, and a Document reused across parses (a stream decoder) none. It is the
// builder sink of keel's one JSON scanner (detail/json_scanner.h), whose validator sink is
// json_type (json_check.h): both accept by the same grammar.
//
// Contract:
//  - `parse(text)` accepts exactly what nlohmann::json::parse accepts (RFC 8259: one value,
//    surrounding whitespace, an optional UTF-8 BOM; strings must be valid UTF-8 without raw
//    control characters; \u escapes with paired surrogates; like nlohmann, a NUL byte after
//    the value ends the input), except nesting deeper than `kMaxDepth`, which is refused.
//    The fuzz target checks this against nlohmann. So, but for the BOM, the NUL and the
//    depth limit, it builds exactly the texts json_type accepts (a property test checks it).
//  - `text` must outlive the document's views; a new parse invalidates every view and Value.
//  - Duplicate object keys: `member` returns the last one (nlohmann's DOM keeps the last).
//  - Numbers: integer when written without fraction or exponent and within int64; any other
//    number is Type::number with no value kept (the codecs read only integers). Like
//    nlohmann, a number that overflows a double is refused.
//  - Single-threaded; no exceptions.
//
// Example:
//   JsonDocument doc;
//   if (!doc.parse(body) || !doc.root().is_object()) return malformed("not an object");
//   if (const JsonValue* m = doc.member(doc.root(), "model"); m && m->is_string()) use(m->text);
#pragma once

#include <cstdint>
#include <forward_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {

struct JsonValue {
  enum class Type : std::uint8_t { null, boolean, integer, number, string, array, object };
  static constexpr std::uint32_t kNone = UINT32_MAX;

  Type type = Type::null;
  bool boolean = false;
  std::int64_t integer = 0;
  std::string_view key;   // the member name, when this value is an object member
  std::string_view text;  // the decoded string, when Type::string
  std::string_view raw;   // the value's exact source text
  std::uint32_t first = kNone;  // first child (array element or object member)
  std::uint32_t next = kNone;   // next sibling
  std::uint32_t size = 0;       // number of children

  bool is_object() const noexcept { return type == Type::object; }
  bool is_array() const noexcept { return type == Type::array; }
  bool is_string() const noexcept { return type == Type::string; }
  bool is_integer() const noexcept { return type == Type::integer; }
};

class JsonDocument {
 public:
  static constexpr int kMaxDepth = 512;

  JsonDocument() = default;  // allocates nothing until the first parse

  // Frees the node storage if it grew past `max_nodes` (a document kept for reuse should not
  // hold on to the memory of one huge answer).
  void trim(std::size_t max_nodes) noexcept;

  bool parse(std::string_view text);
  bool too_deep() const noexcept { return too_deep_; }  // the last parse failed on nesting only

  const JsonValue& root() const noexcept { return nodes_.empty() ? kNull : nodes_.front(); }
  // The member named `key` of an object (the last one if repeated); null if absent or not an object.
  const JsonValue* member(const JsonValue& object, std::string_view key) const noexcept;
  // Children of an array or object, in document order.
  const JsonValue* first(const JsonValue& v) const noexcept { return at(v.first); }
  const JsonValue* next(const JsonValue& v) const noexcept { return at(v.next); }

 private:
  struct Builder;
  static const JsonValue kNull;
  const JsonValue* at(std::uint32_t i) const noexcept { return i == JsonValue::kNone ? nullptr : &nodes_[i]; }

  std::vector<JsonValue> nodes_;
  std::forward_list<std::string> decoded_;  // strings that had escapes
  // Reused across parses: the scanner's open brackets, and each open container's node and last child.
  std::string open_brackets_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> open_nodes_;
  bool too_deep_ = false;
};

}  // namespace keel
