// keel/workforce/task_graph.h — check a task list and order it: ids, dependencies, cycles.
//
// Purpose: a workforce must reject a task list it cannot finish (a cycle would leave tasks
// pending forever) with an error a person can act on, before anything runs.
//
// Contract: `build_task_graph(tasks)` returns, for a valid list, each task's dependencies as
// indices (in `depends_on` order) and a topological order that is stable: among tasks whose
// dependencies are met, the lowest index comes first (so a list already in dependency order
// keeps its order). Otherwise ErrorCode::invalid_request naming the first problem: an empty
// or duplicate id, an unknown or repeated dependency, a task depending on itself, or a
// cycle, spelled out: `dependency cycle: "a" -> "c" -> "b" -> "a" (each arrow: depends on)`.
//
// Example:
//   Result<TaskGraph> g = build_task_graph(tasks);
//   if (!g) throw std::invalid_argument(g.error().message);
//   for (std::size_t i : g->order) start_when_ready(i);
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "keel/core/result.h"
#include "keel/workforce/task_spec.h"

namespace keel::workforce {

struct TaskGraph {
  std::vector<std::vector<std::size_t>> deps;  // deps[i]: indices task i depends on
  std::vector<std::size_t> order;              // stable topological order
};

Result<TaskGraph> build_task_graph(std::span<const TaskSpec> tasks);

}  // namespace keel::workforce
