// keel/scenarios/conformance.h — judging scenarios against their declared verdicts.
//
// Purpose: the model behind `keel conformance`: which runs a directory of scenarios asks for
// (each scenario under seeds 1..N, under the presets its `expected` block names), whether a
// run conforms, and the per-(scenario, preset) table. The command adds files, threads and
// printing.
//
// Contract:
//  - plan_conformance lists the runs in (scenario, seed, preset) order. Scenarios that did not
//    load are null and get no runs. `owns(position)` selects a shard: position counts the
//    (loaded scenario, seed) pairs from 0, so shards partition exactly; every preset of an
//    owned pair is run.
//  - conformance_presets: `override` if given; else the presets `expected` names (keel_default
//    first); else the preset the scenario selects.
//  - A run conforms when it ran and its verdict matches the expected one in both directions:
//    an expected failure that passes is as non-conforming as an expected pass that fails.
//  - conformance_rows: one row per (scenario, preset) in plan order; `seed1` is run seed 1's
//    trace hash ("error" if it could not run, "-" if not in this shard).
//  - Pure functions; deterministic.
//
// Example:
//   std::vector<ConformanceRun> runs = plan_conformance(scenarios, 3, std::nullopt, {});
//   for (ConformanceRun& r : runs) r.outcome = run_outcome(*scenarios[r.scenario], r.seed, r.preset);
//   for (const ConformanceRow& row : conformance_rows(scenarios, runs)) ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "keel/scenarios/run_outcome.h"
#include "keel/scenarios/scenario.h"

namespace keel::scenarios {

struct ConformanceRun {
  std::size_t scenario = 0;  // index into the planned list
  Preset preset = Preset::keel_default;
  std::uint64_t seed = 1;
  Outcome expected = Outcome::pass;
  RunOutcome outcome;        // filled by whoever runs it
  double seconds = 0;        // wall time, if the runner measures it

  bool conforming() const noexcept { return outcome.ran && outcome.passed == (expected == Outcome::pass); }
};

std::vector<Preset> conformance_presets(const Scenario& s, std::optional<Preset> override_preset);

std::vector<ConformanceRun> plan_conformance(const std::vector<const Scenario*>& scenarios, std::uint64_t seeds,
                                             std::optional<Preset> override_preset,
                                             const std::function<bool(std::uint64_t position)>& owns);

// "scenario[preset,seed=N]": the run's test name (terminal and JUnit).
std::string conformance_test_name(const std::string& scenario, Preset p, std::uint64_t seed);

// One line: "expected to pass under keel_default but failed: success_rate_min".
std::string conformance_verdict(const ConformanceRun& r);

struct ConformanceRow {
  std::string scenario, preset, expect, seed1 = "-";
  std::size_t conforming = 0, total = 0;
};

std::vector<ConformanceRow> conformance_rows(const std::vector<const Scenario*>& scenarios,
                                             const std::vector<ConformanceRun>& runs);

}  // namespace keel::scenarios
