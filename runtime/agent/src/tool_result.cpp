#include "keel/agent/tool_result.h"

#include <nlohmann/json.hpp>

namespace keel::agent {

std::string ToolResult::to_json() const {
  nlohmann::ordered_json out;
  out["ok"] = ok;
  if (ok) {
    nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded())
      out["value"] = value;
    else
      out["value"] = std::move(parsed);
  } else {
    out["error"] = std::string{to_string(error.value_or(ErrorCode::internal))};
    out["message"] = error_message;
    if (maybe_executed) out["maybe_executed"] = true;
  }
  return out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace keel::agent
