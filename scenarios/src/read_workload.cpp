// The `workload` object: agents or a workforce (scenario_readers.h).
#include <algorithm>
#include <map>
#include <set>

#include "keel/config/duration.h"
#include "scenario_readers.h"

namespace keel::scenarios::detail {

// ---- workload -------------------------------------------------------------------------------

namespace {

constexpr std::array<std::string_view, 2> kWorkloadKinds = {"agents", "workforce"};

Start read_start(Ctx& ctx, const Json& v, const std::string& ptr) {
  Start s;
  Obj o(ctx, v, ptr, {"at", "every", "poisson_per_s"},
        "a start: {\"at\": d}, {\"every\": d} or {\"poisson_per_s\": x}");
  if (!o.ok()) return s;
  const int present = int(o.has("at")) + int(o.has("every")) + int(o.has("poisson_per_s"));
  if (present != 1) {
    if (present > 1 || o.unknown_fields() == 0)
      ctx.error(ptr, "expected exactly one of \"at\", \"every\", \"poisson_per_s\", found " +
                         (present > 1 ? std::to_string(present) + " of them" : found(v)));
    return s;
  }
  if (const Json* a = o.get("at")) {
    s.kind = Start::Kind::at;
    put(s.at, read_duration(ctx, *a, o.at("at")));
  } else if (const Json* e = o.get("every")) {
    s.kind = Start::Kind::every;
    put(s.every, read_duration(ctx, *e, o.at("every")));
  } else {
    s.kind = Start::Kind::poisson;
    put(s.poisson_per_s, read_number(ctx, *o.get("poisson_per_s"), o.at("poisson_per_s"),
                                     "a rate in 0.000001..1000000 (arrivals per second)", [](double x) {
                                       return x >= limits::kMinPoissonRate && x <= limits::kMaxPoissonRate;
                                     }));
  }
  return s;
}

// Extension: `"stop": {"at": d}`.
std::optional<Stop> read_stop(Ctx& ctx, const Json& v, const std::string& ptr) {
  Obj o(ctx, v, ptr, {"at"}, "a stop: {\"at\": d}");
  if (!o.ok()) return std::nullopt;
  const Json* at = o.require("at");
  if (!at) return std::nullopt;
  std::optional<Duration> d = read_duration(ctx, *at, o.at("at"));
  if (!d) return std::nullopt;
  return Stop{.at = *d};
}

// The bounds on the whole run (limits.h): every value is within its own bound already, so
// these products fit an int64.
void check_agent_totals(Ctx& ctx, const Names& names, const Obj& o, const AgentsWorkload& a) {
  if (a.count * a.steps > limits::kMaxAgentSteps) {
    ctx.error(o.at("steps"), "expected count x steps <= " + std::to_string(limits::kMaxAgentSteps) + " (the run's tasks), found " +
                                 std::to_string(a.count) + " x " + std::to_string(a.steps));
  }
  const std::int64_t per_step = a.prompt_tokens + (a.tool_calls_per_step + 1) * names.max_output_tokens;
  const std::int64_t held = a.count * per_step * (a.history == History::keep ? a.steps : 1);
  if (held > limits::kMaxHeldTokens) {
    ctx.error(o.at("prompt_tokens"), "expected the text the agents can hold at once to be <= " + std::to_string(limits::kMaxHeldTokens) +
                                         " tokens (count x (prompt_tokens + (tool_calls_per_step + 1) x output_tokens)" +
                                         (a.history == History::keep ? " x steps, history \"keep\")" : ")") + ", found " +
                                         std::to_string(held));
  }
  if (a.start.kind == Start::Kind::every && a.count > 1 && a.start.every > Duration(limits::kMaxDuration) / (a.count - 1)) {
    ctx.error(join(o.at("start"), "every"), "expected (count - 1) x every <= " + format_duration(limits::kMaxDuration) +
                                               " (the last agent's start), found " + std::to_string(a.count - 1) + " x " +
                                               format_duration(a.start.every));
  }
}

AgentsWorkload read_agents(Ctx& ctx, const Names& names, const Obj& o) {
  AgentsWorkload a;
  auto count = [&](std::string_view key, std::int64_t min, std::int64_t max) {
    return o.opt(key, [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, min, max); });
  };
  put(a.count, count("count", 1, limits::kMaxAgents));
  put(a.steps, count("steps", 1, limits::kMaxSteps));
  if (const Json* s = o.get("start")) a.start = read_start(ctx, *s, o.at("start"));
  put(a.prompt_tokens, count("prompt_tokens", 1, limits::kMaxPromptTokens));
  put(a.history, o.opt("history", [&](const Json& x, const std::string& at) { return read_enum<History>(ctx, x, at, kHistoryNames); }));
  put(a.tool_calls_per_step, count("tool_calls_per_step", 0, limits::kMaxToolCallsPerStep));
  if (a.tool_calls_per_step > 0 && names.tools.empty() && names.tools_complete) {
    ctx.error(o.at("tool_calls_per_step"), "expected 0 (the scenario defines no tools), found " + found(*o.get("tool_calls_per_step")));
  }
  if (const Json* s = o.get("stop")) a.stop = read_stop(ctx, *s, o.at("stop"));
  put(a.stream, o.opt("stream", [&](const Json& x, const std::string& at) { return read_bool(ctx, x, at); }));
  check_agent_totals(ctx, names, o, a);
  return a;
}

void read_worker(Ctx& ctx, const Names& names, const Json& v, const std::string& ptr, Worker& w, bool& named) {
  named = false;
  Obj o(ctx, v, ptr, {"name", "models", "tool", "stream"});
  if (!o.ok()) return;
  if (const Json* n = o.require("name")) {
    if (auto s = read_name(ctx, *n, o.at("name"))) {
      w.name = *s;
      named = true;
    }
  }
  if (o.has("models") == o.has("tool")) {
    ctx.error(ptr, std::string("expected exactly one of \"models\" (a chat agent) or \"tool\" (a tool worker), found ") +
                       (o.has("models") ? "both" : "neither"));
    return;
  }
  if (const Json* m = o.get("models")) {
    put(w.models, read_name_list(ctx, *m, o.at("models"), true,
                                 [&](const std::string& n, const std::string& p) { check_provider(ctx, names, p, n); }));
  } else if (auto t = read_string(ctx, *o.get("tool"), o.at("tool"), true)) {
    check_tool(ctx, names, o.at("tool"), *t);
    w.tool = *t;
  }
  if (o.has("stream") && o.has("tool")) {
    ctx.error(o.at("stream"), "field \"stream\" applies only to a chat agent (\"models\"), not to a tool worker");
  } else {
    w.stream = o.opt("stream", [&](const Json& x, const std::string& at) { return read_bool(ctx, x, at); });
  }
}

// Reports one dependency cycle among `tasks` (deps by index; unknown/self deps already dropped).
void check_cycles(Ctx& ctx, const std::vector<TaskSpec>& tasks, const std::vector<std::vector<std::size_t>>& deps,
                  const std::string& tasks_ptr) {
  const std::size_t n = tasks.size();
  std::vector<std::size_t> pending(n, 0);
  std::vector<std::vector<std::size_t>> dependents(n);
  for (std::size_t i = 0; i < n; ++i) {
    pending[i] = deps[i].size();
    for (std::size_t d : deps[i]) dependents[d].push_back(i);
  }
  std::vector<std::size_t> ready;
  for (std::size_t i = 0; i < n; ++i) {
    if (pending[i] == 0) ready.push_back(i);
  }
  std::vector<bool> done(n, false);
  while (!ready.empty()) {
    const std::size_t i = ready.back();
    ready.pop_back();
    done[i] = true;
    for (std::size_t t : dependents[i]) {
      if (--pending[t] == 0) ready.push_back(t);
    }
  }
  std::size_t start = n;
  for (std::size_t i = 0; i < n && start == n; ++i) {
    if (!done[i]) start = i;
  }
  if (start == n) return;
  // Every unfinished task has an unfinished dependency: walk them until one repeats.
  std::vector<std::size_t> path;
  std::vector<std::size_t> pos(n, n);
  std::size_t cur = start;
  while (pos[cur] == n) {
    pos[cur] = path.size();
    path.push_back(cur);
    for (std::size_t d : deps[cur]) {
      if (!done[d]) {
        cur = d;
        break;
      }
    }
  }
  std::string cycle;
  for (std::size_t k = pos[cur]; k < path.size(); ++k) cycle += q(tasks[path[k]].id) + " -> ";
  cycle += q(tasks[cur].id);
  ctx.error(join(join(tasks_ptr, cur), "depends_on"), "dependency cycle: " + cycle + " (each arrow: depends on)");
}

void read_tasks(Ctx& ctx, const Json& v, const std::string& ptr, const std::vector<std::string>& workers, bool workers_complete,
                WorkforceWorkload& wf) {
  if (v.is_number()) {
    if (auto n = read_int(ctx, v, ptr, 1, limits::kMaxTasks)) wf.tasks = *n;
    return;
  }
  if (!v.is_array() || v.empty()) {
    ctx.expected(ptr, "a number of tasks >= 1 or a non-empty array of tasks", v);
    return;
  }
  if (!within_count(ctx, ptr, v.size(), limits::kMaxTasks, "tasks")) return;
  std::vector<TaskSpec> tasks(v.size());
  UniqueNames ids("task id");
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string p = join(ptr, i);
    Obj o(ctx, v[i], p, {"id", "worker", "depends_on"});
    if (!o.ok()) continue;
    if (const Json* id = o.require("id")) {
      if (auto s = read_name(ctx, *id, o.at("id"))) {
        tasks[i].id = *s;
        if (ids.add(ctx, *s, o.at("id"))) index.emplace(*s, i);
      }
    }
    if (const Json* w = o.get("worker")) {
      if (auto s = read_string(ctx, *w, o.at("worker"), true)) {
        if (workers_complete && std::find(workers.begin(), workers.end(), *s) == workers.end()) {
          ctx.error(o.at("worker"), "unknown worker " + q(*s) + " (" + list_names(workers, "workers") + ")");
        }
        tasks[i].worker = *s;
      }
    }
  }
  // Dependencies need every id first.
  std::vector<std::vector<std::size_t>> deps(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_object()) continue;
    auto it = v[i].find("depends_on");
    if (it == v[i].end()) continue;
    const std::string p = join(join(ptr, i), "depends_on");
    const Json::array_t* arr = read_array(ctx, *it, p, "an array of task ids");
    if (!arr) continue;
    std::set<std::string> seen;
    for (std::size_t k = 0; k < arr->size(); ++k) {
      const std::string dp = join(p, k);
      auto s = read_string(ctx, (*arr)[k], dp, true);
      if (!s) continue;
      if (!seen.insert(*s).second) {
        ctx.error(dp, "duplicate dependency " + q(*s));
        continue;
      }
      tasks[i].depends_on.push_back(*s);
      auto target = index.find(*s);
      if (target == index.end()) {
        ctx.error(dp, "unknown task id " + q(*s));
      } else if (target->second == i) {
        ctx.error(dp, "a task cannot depend on itself");
      } else {
        deps[i].push_back(target->second);
      }
    }
  }
  check_cycles(ctx, tasks, deps, ptr);
  wf.tasks = std::move(tasks);
}

WorkforceWorkload read_workforce(Ctx& ctx, const Names& names, const Obj& o) {
  WorkforceWorkload wf;
  put(wf.mode, o.opt("mode", [&](const Json& x, const std::string& at) { return read_enum<WorkforceMode>(ctx, x, at, kWorkforceModeNames); }));
  std::vector<std::string> worker_names;
  bool workers_complete = false;
  if (const Json* ws = o.require("workers")) {
    const std::string p = o.at("workers");
    if (const Json::array_t* arr = read_list(ctx, *ws, p, "a non-empty array of workers", limits::kMaxWorkers, "workers")) {
      if (arr->empty()) ctx.expected(p, "a non-empty array of workers", *ws);
      workers_complete = true;
      UniqueNames unique("worker name");
      wf.workers.resize(arr->size());
      for (std::size_t i = 0; i < arr->size(); ++i) {
        bool named = false;
        read_worker(ctx, names, (*arr)[i], join(p, i), wf.workers[i], named);
        if (!named) {
          workers_complete = false;
          continue;
        }
        unique.add(ctx, wf.workers[i].name, join(join(p, i), "name"));
        worker_names.push_back(wf.workers[i].name);
      }
    }
  }
  if (const Json* t = o.require("tasks")) read_tasks(ctx, *t, o.at("tasks"), worker_names, workers_complete, wf);
  put(wf.stream, o.opt("stream", [&](const Json& x, const std::string& at) { return read_bool(ctx, x, at); }));
  wf.max_concurrency = o.opt("max_concurrency", [&](const Json& x, const std::string& at) {
    return read_int(ctx, x, at, 1, limits::kMaxConcurrency);
  });
  put(wf.rounds, o.opt("rounds", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1, limits::kMaxRounds); }));
  const std::int64_t tasks = task_count(wf);
  if (tasks * wf.rounds > limits::kMaxTaskRuns) {
    ctx.error(o.at("rounds"), "expected tasks x rounds <= " + std::to_string(limits::kMaxTaskRuns) + " (the run's tasks), found " +
                                  std::to_string(tasks) + " x " + std::to_string(wf.rounds));
  }
  if (const Json* fh = o.get("failure_handling")) {
    Obj fo(ctx, *fh, o.at("failure_handling"), {"max_retries", "retry_delay", "strategy", "fallback_workers"});
    FailureHandling& h = wf.failure_handling;
    put(h.max_retries, fo.opt("max_retries", [&](const Json& x, const std::string& at) {
      return read_int(ctx, x, at, 0, limits::kMaxTaskRetries);
    }));
    put(h.retry_delay, fo.opt("retry_delay", [&](const Json& x, const std::string& at) { return read_duration(ctx, x, at); }));
    put(h.strategy, fo.opt("strategy", [&](const Json& x, const std::string& at) {
      return read_enum<FailureStrategy>(ctx, x, at, kFailureStrategyNames);
    }));
    put(h.fallback_workers, fo.opt("fallback_workers", [&](const Json& x, const std::string& at) {
      return read_name_list(ctx, x, at, false, [&](const std::string& n, const std::string& p) {
        if (workers_complete && std::find(worker_names.begin(), worker_names.end(), n) == worker_names.end())
          ctx.error(p, "unknown worker " + q(n) + " (" + list_names(worker_names, "workers") + ")");
      });
    }));
  }
  return wf;
}

}  // namespace

std::optional<Workload> read_workload(Ctx& ctx, const Names& names, const Json& v, const std::string& ptr) {
  if (!v.is_object()) {
    ctx.expected(ptr, "a workload object", v);
    return std::nullopt;
  }
  std::optional<std::size_t> kind;
  auto k = v.find("kind");
  if (k == v.end()) {
    ctx.error(join(ptr, "kind"), "required field \"kind\" is missing (\"agents\" or \"workforce\")");
  } else {
    kind = read_enum<std::size_t>(ctx, *k, join(ptr, "kind"), kWorkloadKinds);
  }
  if (kind == 0u) {
    Obj o(ctx, v, ptr, {"kind", "count", "steps", "start", "prompt_tokens", "history", "tool_calls_per_step", "stop", "stream"});
    return read_agents(ctx, names, o);
  }
  if (kind == 1u) {
    Obj o(ctx, v, ptr, {"kind", "mode", "workers", "tasks", "max_concurrency", "rounds", "failure_handling", "stream"});
    return read_workforce(ctx, names, o);
  }
  // Unknown kind: still flag fields that belong to neither kind.
  Obj o(ctx, v, ptr, {"kind", "count", "steps", "start", "prompt_tokens", "history", "tool_calls_per_step", "stop", "mode", "workers",
                      "tasks", "max_concurrency", "rounds", "failure_handling", "stream"});
  return std::nullopt;
}

}  // namespace keel::scenarios::detail
