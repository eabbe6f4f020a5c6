// keel/agent/tool.h — the Tool interface: something an agent's model can call by name.
//
// Purpose: tools are where agents touch the world, so they are where side effects live. The
// interface is minimal (JSON text in, JSON text or a classified Error out, cancellable); the
// agent's ToolRunner (tool_runner.h) adds what every tool gets automatically: a timeout,
// retries only for idempotent tools, and a structured ToolResult for the model.
//
// Contract:
//  - `invoke` gets the model's arguments as JSON text and returns a JSON text result or an
//    Error (ErrorCode::tool_error for the tool's own failures). It must honour the awaiting
//    task's cancellation promptly where it can (a sync tool on a worker thread cannot: see
//    FunctionTool).
//  - `spec()` is constant for the tool's lifetime. `idempotent` tools may be retried;
//    others never are — a non-idempotent tool that timed out is reported "maybe executed".
//  - `timeout`: nullopt = the agent's default tool timeout; `ToolSpecEx::no_timeout` opts out.
//
// Example:
//   class Clock : public Tool { ... Task<Result<std::string>> invoke(std::string) override {
//     co_return std::string(R"({"now":"12:00"})"); } };
#pragma once

#include <optional>
#include <string>

#include "keel/core/result.h"
#include "keel/core/task.h"
#include "keel/model/message.h"

namespace keel::agent {

struct ToolOptions {
  bool idempotent = false;                // may be retried after a failure or timeout
  int max_attempts = 3;                   // for idempotent tools, including the first
  std::optional<Duration> timeout;        // nullopt: the agent's default tool timeout
  bool no_timeout = false;                // explicit opt-out of any timeout
};

class Tool {
 public:
  virtual ~Tool() = default;
  virtual const model::ToolSpec& spec() const noexcept = 0;
  virtual const ToolOptions& options() const noexcept = 0;
  virtual Task<Result<std::string>> invoke(std::string arguments_json) = 0;
};

}  // namespace keel::agent
