#include "keel/workforce/agent_worker.h"

namespace keel::workforce {

AgentWorker::AgentWorker(std::string name, model::ChatModel& model, agent::ToolRunner* tools,
                         const model::TokenCounter& counter, EventSink* events, agent::ChatAgentConfig config)
    : name_(std::move(name)), model_(model), tools_(tools), counter_(counter), events_(events), config_(std::move(config)) {
  config_.keep_history = false;
  // Validate the config now (ChatAgent throws std::invalid_argument), not at the first task.
  // Agents are numbered per worker in trace events (config id 1, 2, ...).
  config_.id = 1;
  agents_.push_back(std::make_unique<agent::ChatAgent>(model_, tools_, counter_, events_, config_));
}

agent::ChatAgent& AgentWorker::idle_agent() {
  for (const auto& a : agents_) {
    if (!a->running() && !a->terminated()) return *a;
  }
  agent::ChatAgentConfig numbered = config_;
  numbered.id = agents_.size() + 1;
  agents_.push_back(std::make_unique<agent::ChatAgent>(model_, tools_, counter_, events_, std::move(numbered)));
  return *agents_.back();
}

Task<Result<std::string>> AgentWorker::run(WorkItem item) {
  agent::ChatAgent& chosen = idle_agent();
  std::string prompt = item.prompt();
  Result<agent::StepResult> step = co_await chosen.step(std::move(prompt));
  if (!step) co_return std::move(step).error();
  co_return std::move(step->answer.content);
}

}  // namespace keel::workforce
