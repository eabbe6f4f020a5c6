#include "keel/workforce/tool_worker.h"

#include <nlohmann/json.hpp>

namespace keel::workforce {

Task<Result<std::string>> ToolWorker::run(WorkItem item) {
  std::string call_id = item.task_id + "#" + std::to_string(item.round) + "." + std::to_string(item.attempt);
  nlohmann::json arguments = {{"call_id", call_id}, {"input", item.prompt()}};
  model::ToolCall call{std::move(call_id), tool_, arguments.dump()};
  agent::ToolResult r = co_await runner_.run_once(std::move(call));  // the workforce owns the retries
  if (r.ok) co_return std::move(r.value);
  std::string message = r.error_message;
  if (r.maybe_executed) message += " (the tool may have executed)";
  co_return Error(r.error.value_or(ErrorCode::tool_error), std::move(message));
}

}  // namespace keel::workforce
