// keel/scenarios/run_outcome.h — the verdict of one run, as a sweep keeps it.
//
// Purpose: `keel explore` and `keel conformance` run a scenario many times and keep, per run,
// only what they print: whether it ran, passed, its trace hash and the expectations it
// failed. One type and one function for both, instead of a copy each.
//
// Contract:
//  - run_outcome(s, seed, preset) runs run_scenario(s, {.seed, .preset}) once. `ran` is false
//    when the runner returned an Error (its description in `error`); otherwise `passed`,
//    `trace_hash` and the failed expectations (report order) are set.
//  - Deterministic like run_scenario; thread-safe across calls (no shared state), so a sweep
//    may call it from several threads.
//
// Example:
//   RunOutcome o = run_outcome(scenario, 7, Preset::camel_parity);
//   if (o.ran && !o.passed) for (const auto& e : o.failed) std::cout << e.name << "\n";
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keel/scenarios/runner.h"
#include "keel/scenarios/scenario.h"

namespace keel::scenarios {

struct RunOutcome {
  bool ran = false;  // false: the runner returned an error (`error`)
  bool passed = false;
  std::string trace_hash;
  std::vector<ExpectationResult> failed;
  std::string error;
};

RunOutcome run_outcome(const Scenario& scenario, std::uint64_t seed, std::optional<Preset> preset);

}  // namespace keel::scenarios
