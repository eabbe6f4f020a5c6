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
  if (r->recovery.empty()) return;
  const RecoveryWindow& w = r->recovery.front();
  cell.detect.add(w.detect);
  cell.restore.add(w.restore);
  cell.back_applies = w.back_on_primary_applies();
  if (w.back_on_primary_applies()) cell.back.add(w.back_on_primary);
  cell.attempts += w.attempts;
  cell.tasks_ok += w.tasks_ok;
}

}  // namespace

void run_recovery_cell(const Scenario& scenario, RecoveryCell& cell, std::uint64_t seeds) {
  for (std::uint64_t seed = 1; seed <= seeds && cell.error.empty(); ++seed) run_cell_seed(scenario, cell, seed);
}

}  // namespace keel::scenarios
