// keel/scenarios/recovery_bench.h — the recovery benchmark's cells and floors (`keel recovery`).
//
// Purpose: the benchmark runs each fault class (a scenario with provider faults) under a preset
// for seeds 1..N and summarizes every provider fault window's recovery measures (recovery.h):
// detect, restore, back_on_primary, and the calls spent per recovered task. Next to each, the
// floor: the best the configuration allows, computed from the scenario and the preset alone,
// so a measured figure can be read against what is possible.
//
// Contract:
//  - run_recovery_cell runs seeds 1..`seeds` in order (so a cell's samples do not depend on
//    how cells are spread over threads) and stops at the first run that cannot run (`error`).
//    `windows` gets one entry per provider fault window of the scenario, in file order (the
//    run report's `recovery`), each with every seed's measures. A seed whose measure never
//    happened counts in `never`.
//  - recovery_floors: `computed` only when the target's latency has a least value (fixed or
//    uniform); each floor nullopt when the configuration cannot get there at all (an overflow
//    without the context-window fallback, a stream that breaks under stream_recovery `fail`).
//    The model: detect is the earlier of one call's fallback (every attempt on the target
//    failed, with the least backoff between) and the breaker's opening (min_calls failures,
//    the workload's arrivals giving one task per interval); restore is the fallback's whole
//    answer after the first task leaves (or, when the fault spares some requests, the
//    target's); back_on_primary is one whole answer from the target. The same model serves
//    every window (measured from its own `from`), so a later window's floor assumes a breaker
//    that closed again in between.
//  - Pure functions of their inputs; deterministic.
//
// Example:
//   RecoveryCell cell{.file = 0, .preset = Preset::keel_default};
//   run_recovery_cell(scenario, cell, 200);
//   for (const RecoveryWindowCell& w : cell.windows)
//     RecoveryFloors f = recovery_floors(scenario, scenario.faults[w.fault], cell.preset);
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keel/core/time.h"
#include "keel/faults/fault_spec.h"
#include "keel/scenarios/scenario.h"

namespace keel::scenarios {

struct RecoverySamples {
  std::vector<Duration> values;
  std::int64_t never = 0;
  void add(const std::optional<Duration>& d) {
    if (d) values.push_back(*d);
    else ++never;
  }
};

// One fault window of a cell: a row of the benchmark.
struct RecoveryWindowCell {
  std::size_t fault = 0;  // the window's index in the scenario's `faults`
  RecoverySamples detect, restore, back;
  std::int64_t attempts = 0, tasks_ok = 0;  // summed over seeds: calls per recovered task
  bool back_applies = false;
};

// A fault class (scenario `file`) under a preset: its runs, and a row per fault window.
struct RecoveryCell {
  std::size_t file = 0;
  Preset preset = Preset::keel_default;
  std::vector<RecoveryWindowCell> windows;
  std::int64_t runs = 0, passed = 0;
  std::string error;
};

void run_recovery_cell(const Scenario& scenario, RecoveryCell& cell, std::uint64_t seeds);

struct RecoveryFloors {
  bool computed = false;  // false: the target's latency is random (no useful floor)
  std::optional<Duration> detect, restore, back;  // nullopt: cannot happen
};

RecoveryFloors recovery_floors(const Scenario& scenario, const faults::FaultSpec& fault, Preset preset);

}  // namespace keel::scenarios
