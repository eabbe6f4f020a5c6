// keel/workforce/agent_worker.h — AgentWorker: a chat agent (with its own model chain) as a worker.
//
// Purpose: the source design's single-agent worker. Each worker talks to its own ChatModel —
// normally a ModelManager with its own fallback chain, retries, breakers and timeouts — so
// one worker's provider outage, open breaker or spent budget never touches another worker.
//
// Contract:
//  - `run(item)` runs one ChatAgent step on `item.prompt()` and returns the final answer's
//    content; any step error (timeout, cancelled, every model failed, ...) is returned as is.
//  - Concurrency: a ChatAgent runs one step at a time, so the worker keeps a pool of agents
//    built from the same model, tools, counter and config; an attempt takes an idle agent
//    (the lowest-numbered, for determinism) or creates one. Agents live as long as the
//    worker, so work abandoned by a timeout can always unwind into a live agent.
//  - `config.keep_history` is forced to false: tasks are independent; what a task builds on
//    arrives in its WorkItem.
//  - The model, tools, counter and sink must outlive the worker.
//
// Example:
//   model::ModelManager chain{cfg, {&gpt, &claude}, rng.substream("worker.writer"), &events};
//   AgentWorker writer{"writer", chain, nullptr, counter, &events, {.step_timeout = 60s}};
//   Workforce wf{{&writer}, tasks, {}, rng.substream("workforce"), &events};
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "keel/agent/chat_agent.h"
#include "keel/workforce/worker.h"

namespace keel::workforce {

class AgentWorker final : public Worker {
 public:
  AgentWorker(std::string name, model::ChatModel& model, agent::ToolRunner* tools, const model::TokenCounter& counter,
              EventSink* events = nullptr, agent::ChatAgentConfig config = {});

  std::string_view name() const noexcept override { return name_; }
  Task<Result<std::string>> run(WorkItem item) override;

  // The pool (for reports: summarizations, step counters).
  const std::vector<std::unique_ptr<agent::ChatAgent>>& agents() const noexcept { return agents_; }

 private:
  agent::ChatAgent& idle_agent();

  std::string name_;
  model::ChatModel& model_;
  agent::ToolRunner* tools_;
  const model::TokenCounter& counter_;
  EventSink* events_;
  agent::ChatAgentConfig config_;
  std::vector<std::unique_ptr<agent::ChatAgent>> agents_;
};

}  // namespace keel::workforce
