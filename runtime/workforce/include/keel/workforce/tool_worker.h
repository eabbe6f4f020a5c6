// keel/workforce/tool_worker.h — ToolWorker: one tool, run through a ToolRunner, as a worker.
//
// Purpose: tasks that are plain tool executions (fetch, render, index) get what a tool gets
// in an agent — the runner's timeout, a structured result — with the workforce's task-level
// failure handling as the one layer that retries (failure_handling.h: retries at one layer).
//
// Contract:
//  - Each attempt executes the tool once (ToolRunner::run_once: the runner's own retries of
//    idempotent tools are off here), so a task executes its tool at most 1 + max_retries times;
//    the workforce's retry_delay spaces the executions.
//  - `run(item)` calls the tool through the runner with the arguments
//    `{"call_id":"<task id>#<round>.<attempt>","input":"<item.prompt()>"}` (the call id makes each
//    attempt one tool call, so per-call execution counts stay meaningful) and returns the
//    tool's JSON text, or an Error with the ToolResult's code and message (a non-idempotent
//    tool that timed out stays "maybe executed": the message says so).
//  - The runner (and its toolkit, which must contain `tool`) must outlive the worker.
//
// Example:
//   ToolRunner runner{toolkit, {.default_timeout = 30s}, rng.substream("tools"), &events};
//   ToolWorker fetcher{"fetcher", runner, "fetch"};
#pragma once

#include <string>
#include <string_view>

#include "keel/agent/tool_runner.h"
#include "keel/workforce/worker.h"

namespace keel::workforce {

class ToolWorker final : public Worker {
 public:
  ToolWorker(std::string name, agent::ToolRunner& runner, std::string tool)
      : name_(std::move(name)), runner_(runner), tool_(std::move(tool)) {}

  std::string_view name() const noexcept override { return name_; }
  Task<Result<std::string>> run(WorkItem item) override;

 private:
  std::string name_;
  agent::ToolRunner& runner_;
  std::string tool_;
};

}  // namespace keel::workforce
