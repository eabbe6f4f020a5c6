// keel/scenarios/shrink.h — find a smaller scenario that still fails the same way (`keel shrink`).
//
// Purpose: a failing run of a large scenario is hard to read; the shrinker hands back the
// smallest scenario it can find that fails the same expectations under the same seed and
// preset. Greedy delta debugging over the scenario data model: drop the expectations that
// passed, then repeat until nothing changes — remove faults one by one, shrink the workload
// (agents, steps, tool calls per step), narrow fault windows (keep the first or the second
// half), lower fault probabilities and first_n counts, remove providers and tools nothing
// refers to.
//
// Contract:
//  - failure_of runs the scenario once and names the expectations it fails (`failing` empty:
//    the run passes, nothing to shrink); an Error when the scenario cannot run.
//  - shrink_scenario starts from the original with the seed and preset pinned into the file,
//    `expected` cleared, the name suffixed `_shrunk` and a description saying where it came
//    from (`options.source`). Every candidate goes through to_json -> load_scenario_json (so
//    the result always validates) and is run with the same seed and preset; it is kept only
//    when every expectation of `failure.failing` still fails. So the result fails them too,
//    and is never larger than the original (no fault, provider, tool, agent, step or tool call
//    more; no fault window wider, no probability higher).
//  - Deterministic: the same scenario, failure and options give the same result and log.
//  - At most `options.max_runs` candidate runs (then `budget_hit`); at most 16 rounds.
//  - An Error (ErrorCode::internal) when the failure does not reproduce from the pinned
//    scenario.
//  - Not thread-safe per call; independent calls may run in parallel (no shared state).
//
// Example:
//   Result<Failure> f = failure_of(scenario, 4, Preset::camel_parity);
//   if (f && !f->failing.empty()) {
//     Result<ShrinkResult> s = shrink_scenario(scenario, *f, {.seed = 4, .preset = Preset::camel_parity});
//     std::ofstream{"small.json"} << to_json_text(s->scenario);   // s->log says what went
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "keel/core/result.h"
#include "keel/scenarios/scenario.h"

namespace keel::scenarios {

// What one run of a scenario failed: expectation names as evaluate_expectations gives them.
struct Failure {
  std::set<std::string> failing;     // empty: the run passed
  std::vector<std::string> passing;  // in the report's order
};

Result<Failure> failure_of(const Scenario& scenario, std::uint64_t seed, Preset preset);

struct ShrinkOptions {
  std::uint64_t seed = 0;
  Preset preset = Preset::keel_default;
  std::size_t max_runs = 2000;  // candidate runs at the most
  std::string source;           // where the original came from (its file), for the description
};

struct ShrinkResult {
  Scenario scenario;             // smaller (or as small), still failing every `failing` name
  std::vector<std::string> log;  // one line per kept reduction: "workload count: 6 -> 1"
  std::size_t runs = 0;          // candidate runs made
  bool budget_hit = false;       // stopped at max_runs
};

Result<ShrinkResult> shrink_scenario(const Scenario& original, const Failure& failure, const ShrinkOptions& options);

// Expectation names of `names`, comma separated ("calls.backup.min, success_rate_min").
std::string join_names(const std::set<std::string>& names);

}  // namespace keel::scenarios
