// keel/core/json_check.cpp — json_type: the JSON scanner (detail/json_scanner.h) with a sink
// that keeps nothing.
#include "keel/core/json_check.h"

#include <string>

#include "keel/core/detail/json_scanner.h"

namespace keel {
namespace {

// Validation only: every report is dropped, no container refused (nesting is bounded by memory).
struct ValidateSink {
  bool open(JsonType, const char*) noexcept { return true; }
  void close(const char*) noexcept {}
  void key(std::string_view, bool) noexcept {}
  void string(std::string_view, std::string_view, bool) noexcept {}
  void number(std::string_view, bool) noexcept {}
  void literal(JsonType, std::string_view) noexcept {}
};

JsonType type_of(char c) noexcept {
  switch (c) {
    case '{': return JsonType::object;
    case '[': return JsonType::array;
    case '"': return JsonType::string;
    case 't':
    case 'f': return JsonType::boolean;
    case 'n': return JsonType::null;
    default: return JsonType::number;
  }
}

}  // namespace

std::optional<JsonType> json_type(std::string_view text) noexcept {
  try {
    ValidateSink sink;
    std::string stack;  // SSO covers nesting up to 15 deep without allocating
    const char* const end = text.data() + text.size();
    // Nothing may follow the value (a NUL byte included: the text is spliced into JSON output).
    const char* const stop = detail::scan_json_value(text.data(), end, sink, stack);
    if (stop == nullptr || stop != end) return std::nullopt;
    const std::size_t first = text.find_first_not_of(" \t\n\r");
    return type_of(text[first]);
  } catch (...) {  // only std::bad_alloc from a very deep container stack
    return std::nullopt;
  }
}

}  // namespace keel
