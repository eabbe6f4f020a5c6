// keel/core/json_document.cpp — JsonDocument: the JSON scanner (detail/json_scanner.h) with a
// sink that appends a node per value.
#include "keel/core/json_document.h"

#include <charconv>

#include "keel/core/detail/json_scanner.h"

namespace keel {

// Nodes are appended in document order; each open container (open_nodes_: its node and its
// last child so far) links the next value as its child.
struct JsonDocument::Builder {
  JsonDocument& doc;
  std::string_view pending_key;  // the name of the member whose value comes next

  // A node for the value starting at `at`, linked into the open container if there is one.
  JsonValue& add(JsonValue::Type type, const char* at, std::size_t raw_size) {
    const auto index = static_cast<std::uint32_t>(doc.nodes_.size());
    JsonValue& v = doc.nodes_.emplace_back();
    v.type = type;
    v.raw = std::string_view(at, raw_size);
    if (!doc.open_nodes_.empty()) {
      auto& [parent, last] = doc.open_nodes_.back();
      JsonValue& p = doc.nodes_[parent];
      if (p.type == JsonValue::Type::object) v.key = pending_key;
      if (last == JsonValue::kNone) {
        p.first = index;
      } else {
        doc.nodes_[last].next = index;
      }
      last = index;
      ++p.size;
    }
    return v;
  }

  std::string_view decoded(std::string_view body, bool escaped) {
    if (!escaped) return body;
    std::string& s = doc.decoded_.emplace_front();
    detail::decode_json_string(body, s);
    return s;
  }

  bool open(JsonType type, const char* at) {
    if (doc.open_nodes_.size() >= static_cast<std::size_t>(kMaxDepth)) {
      doc.too_deep_ = true;
      return false;
    }
    add(type == JsonType::object ? JsonValue::Type::object : JsonValue::Type::array, at, 0);
    doc.open_nodes_.emplace_back(static_cast<std::uint32_t>(doc.nodes_.size() - 1), JsonValue::kNone);
    return true;
  }
  void close(const char* after) {
    JsonValue& v = doc.nodes_[doc.open_nodes_.back().first];
    v.raw = std::string_view(v.raw.data(), static_cast<std::size_t>(after - v.raw.data()));
    doc.open_nodes_.pop_back();
  }
  void key(std::string_view body, bool escaped) { pending_key = decoded(body, escaped); }
  void string(std::string_view token, std::string_view body, bool escaped) {
    add(JsonValue::Type::string, token.data(), token.size()).text = decoded(body, escaped);
  }
  void number(std::string_view token, bool integral) {
    std::int64_t n = 0;
    if (integral) {
      const auto r = std::from_chars(token.data(), token.data() + token.size(), n);
      if (r.ec == std::errc{} && r.ptr == token.data() + token.size()) {
        add(JsonValue::Type::integer, token.data(), token.size()).integer = n;
        return;
      }
    }
    add(JsonValue::Type::number, token.data(), token.size());
  }
  void literal(JsonType type, std::string_view token) {
    if (type == JsonType::null) {
      add(JsonValue::Type::null, token.data(), token.size());
    } else {
      add(JsonValue::Type::boolean, token.data(), token.size()).boolean = token[0] == 't';
    }
  }
};

bool JsonDocument::parse(std::string_view text) {
  nodes_.clear();
  decoded_.clear();
  open_nodes_.clear();
  too_deep_ = false;
  if (nodes_.capacity() < 64) nodes_.reserve(64);  // a typical answer or stream event fits
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a BOM, as nlohmann allows
  Builder builder{*this, {}};
  const char* const end = text.data() + text.size();
  const char* const stop = detail::scan_json_value(text.data(), end, builder, open_brackets_);
  // nlohmann's lexer takes a NUL byte for the end of input; so do we, after the value.
  if (stop == nullptr || (stop != end && *stop != '\0')) {
    nodes_.clear();  // root() is null
    return false;
  }
  return true;
}

const JsonValue JsonDocument::kNull{};

void JsonDocument::trim(std::size_t max_nodes) noexcept {
  decoded_.clear();
  if (nodes_.capacity() > max_nodes) {
    nodes_.clear();
    nodes_.shrink_to_fit();
  }
}

const JsonValue* JsonDocument::member(const JsonValue& object, std::string_view key) const noexcept {
  if (object.type != JsonValue::Type::object) return nullptr;
  const JsonValue* found = nullptr;
  for (const JsonValue* m = first(object); m; m = next(*m)) {
    if (m->key == key) found = m;
  }
  return found;
}

}  // namespace keel
