// One run's verdict for a sweep (keel/scenarios/run_outcome.h).
#include "keel/scenarios/run_outcome.h"

#include <utility>

namespace keel::scenarios {

RunOutcome run_outcome(const Scenario& scenario, std::uint64_t seed, std::optional<Preset> preset) {
  RunOutcome o;
  Result<RunReport> r = run_scenario(scenario, {.seed = seed, .preset = preset});
  if (!r) {
    o.error = r.error().describe();
    return o;
  }
  o.ran = true;
  o.passed = r->passed;
  o.trace_hash = r->trace_hash;
  for (auto& e : r->expectations) {
    if (!e.passed) o.failed.push_back(std::move(e));
  }
  return o;
}

}  // namespace keel::scenarios
