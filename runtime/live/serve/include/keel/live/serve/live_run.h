// keel/live/serve/live_run.h — `keel run --live`: a scenario's workload over real HTTP.
//
// Purpose: prove the live path survives what the simulated one does. The same runner, runtime
// and expectations as scenarios::run_scenario, but on an AsioScheduler in real time, with
// HttpModelTransports talking to an in-process FaultServer that plays the scenario's providers
// and fault plan on loopback. Mock tools run on the same real-time scheduler.
//
// Contract:
//  - time_scale F (> 0) applies to both ends: the server scales latencies, fault windows and
//    retry-after; the runner scales every runtime duration and measures in scenario time (see
//    scenarios/run_environment.h). Wall time is about F times the scenario's virtual end.
//  - `stream`: every model request asks for SSE streaming (a `hang` then stalls mid-stream).
//  - The report's trace_hash is not reproducible (real time); everything else is judged as in
//    the simulator. Returns an Error only when the run cannot be set up (bind failure, ...).
//
// Example:
//   Result<scenarios::RunReport> r = live::serve::run_scenario_live(scenario, {}, {.time_scale = 0.01});
#pragma once

#include "keel/core/result.h"
#include "keel/scenarios/runner.h"
#include "keel/scenarios/scenario.h"

namespace keel::live::serve {

struct LiveRunOptions {
  double time_scale = 1.0;
  bool stream = false;
};

Result<scenarios::RunReport> run_scenario_live(const scenarios::Scenario& scenario, scenarios::RunOptions options,
                                               LiveRunOptions live);

}  // namespace keel::live::serve
