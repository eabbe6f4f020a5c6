// The shrinker (keel/scenarios/shrink.h): greedy delta debugging over the scenario data model.
#include "keel/scenarios/shrink.h"

#include <algorithm>
#include <sstream>
#include <utility>

#include "keel/config/duration.h"
#include "keel/faults/fault_spec.h"
#include "keel/scenarios/loader.h"
#include "keel/scenarios/runner.h"
#include "keel/scenarios/to_json.h"
#include "shrink_scope.h"

namespace keel::scenarios {
namespace {

using detail::only_named;
using detail::provider_referenced;
using detail::tool_referenced;

std::string describe_fault(const Fault& f) {
  return std::string(faults::fault_kind_name(f.kind)) + " on " + f.target;
}

std::string window(Duration from, Duration until) {
  return "[" + format_duration(from) + ", " + format_duration(until) + ")";
}

std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

class Shrinker {
 public:
  Shrinker(std::uint64_t seed, Preset preset, std::set<std::string> target, std::size_t max_runs)
      : seed_(seed), preset_(preset), target_(std::move(target)), max_runs_(max_runs) {}

  // The candidate, round-tripped through the loader, if it is valid and still fails every
  // target expectation.
  std::optional<Scenario> check(const Scenario& candidate) {
    if (runs_ >= max_runs_) {
      budget_hit_ = true;
      return std::nullopt;
    }
    LoadResult loaded = load_scenario_json(to_json(candidate), "<candidate>");
    if (!loaded) return std::nullopt;
    ++runs_;
    Result<RunReport> r = run_scenario(*loaded.scenario, {.seed = seed_, .preset = preset_});
    if (!r) return std::nullopt;
    std::set<std::string> failing;
    for (const auto& e : r->expectations) {
      if (!e.passed) failing.insert(e.name);
    }
    if (!std::includes(failing.begin(), failing.end(), target_.begin(), target_.end())) return std::nullopt;
    return std::move(*loaded.scenario);
  }

  // Tries `edit(copy of cur)`; keeps it when check() passes.
  template <class Edit>
  bool attempt(Scenario& cur, Edit&& edit) {
    Scenario candidate = cur;
    if (!edit(candidate)) return false;
    std::optional<Scenario> ok = check(candidate);
    if (!ok) return false;
    cur = std::move(*ok);
    return true;
  }

  // Lowers an integer field towards `min`: tries min, half, one less; repeats while accepted.
  template <class Get, class Set>
  bool reduce_int(Scenario& cur, Get get, Set set, std::int64_t min, const std::string& what) {
    const std::int64_t start = get(cur);
    for (bool progressed = true; progressed && get(cur) > min;) {
      progressed = false;
      const std::int64_t v = get(cur);
      for (std::int64_t c : {min, min + (v - min) / 2, v - 1}) {
        if (c >= v || c < min) continue;
        if (attempt(cur, [&](Scenario& s) { return set(s, c); })) {
          progressed = true;
          break;
        }
      }
    }
    if (get(cur) == start) return false;
    log_.push_back(what + ": " + std::to_string(start) + " -> " + std::to_string(get(cur)));
    return true;
  }

  bool remove_faults(Scenario& cur) {
    bool any = false;
    for (std::size_t i = 0; i < cur.faults.size();) {
      const std::string what = "removed fault #" + std::to_string(fault_ids_[i]) + " (" + describe_fault(cur.faults[i]) + ")";
      if (attempt(cur, [&](Scenario& s) {
            s.faults.erase(s.faults.begin() + static_cast<std::ptrdiff_t>(i));
            return true;
          })) {
        fault_ids_.erase(fault_ids_.begin() + static_cast<std::ptrdiff_t>(i));
        log_.push_back(what);
        any = true;
      } else {
        ++i;
      }
    }
    return any;
  }

  bool shrink_workload(Scenario& cur) {
    if (!std::holds_alternative<AgentsWorkload>(cur.workload)) return false;
    auto agents = [](Scenario& s) -> AgentsWorkload& { return std::get<AgentsWorkload>(s.workload); };
    bool any = false;
    any |= reduce_int(
        cur, [&](Scenario& s) { return agents(s).count; },
        [&](Scenario& s, std::int64_t v) { return agents(s).count = v, true; }, 1, "workload count");
    any |= reduce_int(
        cur, [&](Scenario& s) { return agents(s).steps; },
        [&](Scenario& s, std::int64_t v) { return agents(s).steps = v, true; }, 1, "workload steps");
    any |= reduce_int(
        cur, [&](Scenario& s) { return agents(s).tool_calls_per_step; },
        [&](Scenario& s, std::int64_t v) { return agents(s).tool_calls_per_step = v, true; }, 0,
        "workload tool_calls_per_step");
    return any;
  }

  bool narrow_windows(Scenario& cur) {
    bool any = false;
    for (std::size_t i = 0; i < cur.faults.size(); ++i) {
      const Duration from0 = cur.faults[i].from;
      const Duration until0 = cur.faults[i].until.value_or(cur.horizon);
      for (;;) {
        const Duration from = cur.faults[i].from;
        const Duration until = cur.faults[i].until.value_or(cur.horizon);
        // Halve on whole milliseconds (readable files); stop at a 1 ms window.
        const auto half = std::chrono::duration_cast<std::chrono::milliseconds>((until - from) / 2);
        if (half < std::chrono::milliseconds{1}) break;
        const Duration mid = from + half;
        if (attempt(cur, [&](Scenario& s) { return s.faults[i].until = mid, true; })) continue;
        if (attempt(cur, [&](Scenario& s) { return s.faults[i].from = mid, s.faults[i].until = until, true; })) continue;
        break;
      }
      const Duration from1 = cur.faults[i].from;
      const Duration until1 = cur.faults[i].until.value_or(cur.horizon);
      if (from1 != from0 || until1 != until0) {
        log_.push_back("fault #" + std::to_string(fault_ids_[i]) + " window: " + window(from0, until0) + " -> " +
                       window(from1, until1));
        any = true;
      }
    }
    return any;
  }

  bool lower_probabilities(Scenario& cur) {
    bool any = false;
    for (std::size_t i = 0; i < cur.faults.size(); ++i) {
      const double p0 = cur.faults[i].probability;
      while (cur.faults[i].probability / 2 >= 0.01 &&
             attempt(cur, [&](Scenario& s) { return s.faults[i].probability /= 2, true; })) {
      }
      if (cur.faults[i].probability != p0) {
        log_.push_back("fault #" + std::to_string(fault_ids_[i]) + " probability: " + number(p0) + " -> " +
                       number(cur.faults[i].probability));
        any = true;
      }
      if (cur.faults[i].first_n) {
        any |= reduce_int(
            cur, [i](Scenario& s) { return static_cast<std::int64_t>(*s.faults[i].first_n); },
            [i](Scenario& s, std::int64_t v) { return s.faults[i].first_n = static_cast<std::uint64_t>(v), true; }, 1,
            "fault #" + std::to_string(fault_ids_[i]) + " first_n");
      }
    }
    return any;
  }

  bool remove_unused(Scenario& cur) {
    bool any = false;
    for (std::size_t i = 0; i < cur.providers.size() && cur.providers.size() > 1;) {
      const std::string name = cur.providers[i].name;
      if (!provider_referenced(cur, name) &&
          attempt(cur, [&](Scenario& s) { return s.providers.erase(s.providers.begin() + static_cast<std::ptrdiff_t>(i)), true; })) {
        log_.push_back("removed provider " + name + " (unused)");
        any = true;
      } else {
        ++i;
      }
    }
    for (std::size_t i = 0; i < cur.tools.size();) {
      const std::string name = cur.tools[i].name;
      if (!tool_referenced(cur, name) &&
          attempt(cur, [&](Scenario& s) { return s.tools.erase(s.tools.begin() + static_cast<std::ptrdiff_t>(i)), true; })) {
        log_.push_back("removed tool " + name + " (unused)");
        any = true;
      } else {
        ++i;
      }
    }
    return any;
  }

  Scenario shrink(Scenario cur) {
    fault_ids_.clear();
    for (std::size_t i = 0; i < cur.faults.size(); ++i) fault_ids_.push_back(i);
    for (int round = 0; round < 16 && !budget_hit_; ++round) {
      bool any = false;
      any |= remove_faults(cur);
      any |= shrink_workload(cur);
      any |= narrow_windows(cur);
      any |= lower_probabilities(cur);
      any |= remove_unused(cur);
      if (!any) break;
    }
    return cur;
  }

  std::size_t runs() const noexcept { return runs_; }
  bool budget_hit() const noexcept { return budget_hit_; }
  std::vector<std::string>& log() noexcept { return log_; }

 private:
  std::uint64_t seed_;
  Preset preset_;
  std::set<std::string> target_;
  std::size_t max_runs_;
  std::size_t runs_ = 0;
  bool budget_hit_ = false;
  std::vector<std::size_t> fault_ids_;  // original index of each remaining fault
  std::vector<std::string> log_;
};

// The original with what a replay needs pinned into the file (seed, preset), the other
// presets' verdicts dropped, and a name and description saying where it came from: the result
// is about this failure only.
Scenario pinned(const Scenario& original, const Failure& failure, const ShrinkOptions& options) {
  Scenario start = original;
  start.seed = options.seed;
  start.runtime.preset = options.preset;
  start.expected = {};
  start.name = original.name + "_shrunk";
  start.description = "keel shrink of " + options.source + " (seed " + std::to_string(options.seed) + ", preset " +
                      std::string(to_string(options.preset)) + "); still fails: " + join_names(failure.failing) + ".";
  return start;
}

}  // namespace

std::string join_names(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

Result<Failure> failure_of(const Scenario& scenario, std::uint64_t seed, Preset preset) {
  Result<RunReport> r = run_scenario(scenario, {.seed = seed, .preset = preset});
  if (!r) return std::move(r).error();
  Failure f;
  for (const auto& e : r->expectations) {
    if (e.passed) f.passing.push_back(e.name);
    else f.failing.insert(e.name);
  }
  return f;
}

Result<ShrinkResult> shrink_scenario(const Scenario& original, const Failure& failure, const ShrinkOptions& options) {
  Shrinker shrinker{options.seed, options.preset, failure.failing, options.max_runs};
  Scenario start = pinned(original, failure, options);
  Scenario trimmed = start;
  trimmed.expect = only_named(start.expect, failure.failing);
  if (std::optional<Scenario> ok = shrinker.check(trimmed)) {
    start = std::move(*ok);
    if (!failure.passing.empty()) {
      std::string removed;
      for (const auto& n : failure.passing) removed += (removed.empty() ? "" : ", ") + n;
      shrinker.log().push_back("removed expectations that passed: " + removed);
    }
  } else if (std::optional<Scenario> again = shrinker.check(start)) {
    start = std::move(*again);
  } else {
    return Error(ErrorCode::internal, "the failure does not reproduce from the pinned scenario (seed " +
                                          std::to_string(options.seed) + ")");
  }
  ShrinkResult result{.scenario = shrinker.shrink(std::move(start))};
  if (!load_scenario(to_json_text(result.scenario), "<shrunk>")) {
    return Error(ErrorCode::internal, "the shrunk scenario does not validate");
  }
  result.log = std::move(shrinker.log());
  result.runs = shrinker.runs();
  result.budget_hit = shrinker.budget_hit();
  return result;
}

}  // namespace keel::scenarios
