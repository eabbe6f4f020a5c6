#include "keel/agent/tool_result.h"

#include "keel/core/json_check.h"
#include "keel/core/json_escape.h"

namespace keel::agent {

namespace {

std::string_view trim_json_whitespace(std::string_view s) noexcept {
  constexpr std::string_view kSpace = " \t\n\r";
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

}  // namespace

std::string ToolResult::to_json() const {
  std::string out;
  if (ok) {
    const std::string_view json = trim_json_whitespace(value);
    out.reserve(value.size() + 24);
    out += R"({"ok":true,"value":)";
    if (is_json(json))  // checked in one pass, spliced as the tool wrote it
      out += json;
    else
      append_json_string(out, value);
    out += '}';
    return out;
  }
  out += R"({"ok":false,"error":)";
  append_json_string(out, to_string(error.value_or(ErrorCode::internal)));
  out += R"(,"message":)";
  append_json_string(out, error_message);
  if (maybe_executed) out += R"(,"maybe_executed":true)";
  out += '}';
  return out;
}

}  // namespace keel::agent
