#include "keel/workforce/task_graph.h"

#include "quoted.h"

#include <map>
#include <set>
#include <string>

namespace keel::workforce {
namespace {

std::string q(std::string_view s) { return detail::quoted(s); }

Error invalid(std::string message) { return Error(ErrorCode::invalid_request, std::move(message)); }

// Every task left unfinished by Kahn's pass has an unfinished dependency: walk those links
// from the first one until a task repeats; the repeated stretch is a cycle.
std::string describe_cycle(std::span<const TaskSpec> tasks, const TaskGraph& g, const std::vector<bool>& done) {
  const std::size_t n = tasks.size();
  std::size_t cur = 0;
  while (cur < n && done[cur]) ++cur;
  std::vector<std::size_t> path, pos(n, n);
  while (pos[cur] == n) {
    pos[cur] = path.size();
    path.push_back(cur);
    for (std::size_t d : g.deps[cur]) {
      if (!done[d]) {
        cur = d;
        break;
      }
    }
  }
  std::string cycle;
  for (std::size_t k = pos[cur]; k < path.size(); ++k) cycle += q(tasks[path[k]].id) + " -> ";
  return "dependency cycle: " + cycle + q(tasks[cur].id) + " (each arrow: depends on)";
}

}  // namespace

Result<TaskGraph> build_task_graph(std::span<const TaskSpec> tasks) {
  const std::size_t n = tasks.size();
  std::map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < n; ++i) {
    if (tasks[i].id.empty()) return invalid("task " + std::to_string(i) + " has an empty id");
    if (!index.emplace(tasks[i].id, i).second) return invalid("duplicate task id " + q(tasks[i].id));
  }
  TaskGraph g;
  g.deps.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::set<std::string_view> seen;
    for (const std::string& d : tasks[i].depends_on) {
      auto it = index.find(d);
      if (it == index.end()) return invalid("task " + q(tasks[i].id) + " depends on unknown task " + q(d));
      if (it->second == i) return invalid("task " + q(tasks[i].id) + " depends on itself");
      if (!seen.insert(d).second) return invalid("task " + q(tasks[i].id) + " lists dependency " + q(d) + " twice");
      g.deps[i].push_back(it->second);
    }
  }
  // Kahn's algorithm, lowest ready index first: a stable topological order.
  std::vector<std::size_t> unmet(n);
  std::vector<std::vector<std::size_t>> dependents(n);
  std::set<std::size_t> ready;
  for (std::size_t i = 0; i < n; ++i) {
    unmet[i] = g.deps[i].size();
    for (std::size_t d : g.deps[i]) dependents[d].push_back(i);
    if (unmet[i] == 0) ready.insert(i);
  }
  std::vector<bool> done(n, false);
  while (!ready.empty()) {
    const std::size_t i = *ready.begin();
    ready.erase(ready.begin());
    done[i] = true;
    g.order.push_back(i);
    for (std::size_t t : dependents[i]) {
      if (--unmet[t] == 0) ready.insert(t);
    }
  }
  if (g.order.size() != n) return invalid(describe_cycle(tasks, g, done));
  return g;
}

}  // namespace keel::workforce
