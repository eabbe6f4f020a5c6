// Scenario helpers (scenario.h).
#include "keel/scenarios/scenario.h"

namespace keel::scenarios {

std::vector<TaskSpec> WorkforceWorkload::task_list() const {
  if (const auto* list = std::get_if<std::vector<TaskSpec>>(&tasks)) return *list;
  std::vector<TaskSpec> out;
  const std::int64_t n = std::get<std::int64_t>(tasks);
  for (std::int64_t i = 0; i < n; ++i) out.push_back(TaskSpec{"task-" + std::to_string(i), std::nullopt, {}});
  return out;
}

const Provider* Scenario::find_provider(std::string_view n) const noexcept {
  for (const Provider& p : providers) {
    if (p.name == n) return &p;
  }
  return nullptr;
}

const Tool* Scenario::find_tool(std::string_view n) const noexcept {
  for (const Tool& t : tools) {
    if (t.name == n) return &t;
  }
  return nullptr;
}

}  // namespace keel::scenarios
