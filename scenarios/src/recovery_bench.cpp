// The recovery benchmark's cells (keel/scenarios/recovery_bench.h).
#include "keel/scenarios/recovery_bench.h"

#include "keel/scenarios/runner.h"

namespace keel::scenarios {
namespace {

void run_cell_seed(const Scenario& s, RecoveryCell& cell, std::uint64_t seed) {
  Result<RunReport> r = run_scenario(s, {.seed = seed, .preset = cell.preset});
  if (!r) {
    cell.error = r.error().describe();
    return;
  }
  ++cell.runs;
  cell.passed += r->passed ? 1 : 0;
  cell.windows.resize(r->recovery.size());  // the same windows every seed: the scenario's
  for (std::size_t i = 0; i < r->recovery.size(); ++i) {
    const RecoveryWindow& w = r->recovery[i];
    RecoveryWindowCell& c = cell.windows[i];
    c.fault = w.fault;
    c.detect.add(w.detect);
    c.restore.add(w.restore);
    c.back_applies = w.back_on_primary_applies();
    if (w.back_on_primary_applies()) c.back.add(w.back_on_primary);
    c.attempts += w.attempts;
    c.tasks_ok += w.tasks_ok;
  }
}

}  // namespace

void run_recovery_cell(const Scenario& scenario, RecoveryCell& cell, std::uint64_t seeds) {
  for (std::uint64_t seed = 1; seed <= seeds && cell.error.empty(); ++seed) run_cell_seed(scenario, cell, seed);
}

}  // namespace keel::scenarios
