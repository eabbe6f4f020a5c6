// keel/workforce/worker.h — Worker: what a workforce hands a task to; FunctionWorker.
//
// Purpose: the workforce does not care whether a task is done by a chat agent (AgentWorker,
// agent_worker.h), a tool (ToolWorker, tool_worker.h) or plain code (FunctionWorker, here).
// It hands each attempt a WorkItem and awaits a Result<std::string>.
//
// Contract:
//  - `run(item)` performs one attempt of one task and returns its output text or a classified
//    Error. It runs on the workforce's scheduler, under the attempt's cancellation token and
//    deadline (the workforce wraps it in with_timeout): it must honour cancellation promptly
//    where it can; the workforce never waits for an abandoned attempt.
//  - A worker may be asked to run several attempts concurrently (PARALLEL mode); one that
//    cannot must serialize internally (AgentWorker keeps a pool of agents instead).
//  - `name()` is constant and unique within one workforce. Workers must outlive the
//    workforce and every attempt it started.
//
// Example:
//   FunctionWorker upper{"upper", [](WorkItem item) -> Task<Result<std::string>> {
//     co_await sleep_for(10ms);
//     co_return to_upper(item.input);
//   }};
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keel/core/result.h"
#include "keel/core/task.h"

namespace keel::workforce {

// One attempt of one task, as the worker sees it.
struct WorkItem {
  std::string task_id;
  int round = 0;          // LOOP mode: 0-based round; otherwise 0
  int attempt = 1;        // 1-based, across every worker that tried this task
  std::string input;      // the task's own input (TaskSpec::input)
  // (id, output) of what this task builds on, in a fixed order: its dependencies (in
  // `depends_on` order), then in PIPELINE mode its predecessor, in LOOP mode its own output
  // of the previous round (id "<id> (round r)") when that succeeded.
  std::vector<std::pair<std::string, std::string>> upstream;

  // `input`, then each upstream output as "\n\n[<id>]\n<output>" — a prompt for text workers.
  std::string prompt() const;
};

class Worker {
 public:
  virtual ~Worker() = default;
  virtual std::string_view name() const noexcept = 0;
  virtual Task<Result<std::string>> run(WorkItem item) = 0;
};

// A worker made of an async function. The function object must stay alive (it is owned here).
class FunctionWorker final : public Worker {
 public:
  using Function = std::function<Task<Result<std::string>>(WorkItem)>;
  FunctionWorker(std::string name, Function fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  std::string_view name() const noexcept override { return name_; }
  Task<Result<std::string>> run(WorkItem item) override { return fn_(std::move(item)); }

 private:
  std::string name_;
  Function fn_;
};

}  // namespace keel::workforce
