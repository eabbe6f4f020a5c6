// run_scenario (runner.h): the orchestration of one run. Its three stages — building the
// world, running it, reporting on it — are run_world.h's, one file each.
#include "keel/scenarios/runner.h"

#include <stdexcept>
#include <utility>

#include "keel/core/trace_writer.h"
#include "keel/faults/fault_plan.h"
#include "keel/scenarios/recovery.h"
#include "keel/scenarios/resolve_runtime.h"
#include "keel/scenarios/run_environment.h"
#include "keel/scenarios/time_scale.h"
#include "run_world.h"

namespace keel::scenarios {
namespace {

using detail::to_int;

// resolve_runtime (runtime/config/src/resolve.cpp) hands these to int and uint32 fields:
// refuse what does not fit.
void check_runtime_fits(const Runtime& rt) {
  auto fits = [](const std::optional<std::int64_t>& v, std::string_view field, std::int64_t min) {
    if (v && *v < min) throw std::out_of_range(std::string(field) + " " + std::to_string(*v) + " is below " + std::to_string(min));
    if (v) (void)to_int(*v, field);
  };
  fits(rt.retry.max_attempts, "retry.max_attempts", 1);
  fits(rt.context.token_limit, "context.token_limit", 1);
  if (rt.circuit_breaker.value) {
    fits(rt.circuit_breaker.value->size, "circuit_breaker.size", 1);
    fits(rt.circuit_breaker.value->min_calls, "circuit_breaker.min_calls", 1);
    fits(rt.circuit_breaker.value->half_open_calls, "circuit_breaker.half_open_calls", 1);
  }
  if (rt.hedging.value) fits(rt.hedging.value->max_extra, "hedging.max_extra", 1);
  if (rt.bulkhead.value) {
    fits(rt.bulkhead.value->max_concurrent, "bulkhead.max_concurrent", 1);
    fits(rt.bulkhead.value->max_queue, "bulkhead.max_queue", 0);
  }
}

// The seed, preset, resolved (and, live, scaled) runtime configuration and root Rng of a run.
detail::RunSetup setup_of(const Scenario& scenario, const RunOptions& options) {
  const std::uint64_t seed = options.seed.value_or(scenario.seed);
  const Preset preset = effective_preset(scenario, options.preset);
  RunEnvironment* env = options.environment;
  const double scale = env ? env->time_scale() : 1.0;
  check_runtime_fits(scenario.runtime);
  RuntimeConfig cfg = resolve_runtime(scenario, options.preset);
  if (env) scale_durations(cfg, scale);
  return detail::RunSetup{.scenario = scenario, .seed = seed, .preset = preset, .cfg = std::move(cfg),
                          .env = env, .scale = scale, .root = Rng{seed}};
}

Result<RunReport> run_checked(const Scenario& scenario, const RunOptions& options) {
  const detail::RunSetup setup = setup_of(scenario, options);
  // The sinks outlive the world (declared first, destroyed last).
  TraceWriter trace{options.trace};
  RecoveryMeter recovery{scenario.faults, scenario.horizon, detail::chain_primaries(scenario, setup.cfg), setup.scale};
  detail::RunSink events{trace, recovery, options.extra_sink};
  faults::FaultPlan plan{scenario.faults, setup.seed, scenario.horizon};
  ScaledFaultHook scaled_plan{plan, setup.scale};
  const detail::RunSinks sinks{.events = events,
                               .provider_faults = plan,
                               .tool_faults = setup.env ? static_cast<sim::FaultHook&>(scaled_plan) : plan};

  detail::World w;
  if (Status built = detail::build_world(w, setup, sinks); !built) return std::move(built).error();
  if (Status ran = detail::run_world(w, setup); !ran) return std::move(ran).error();
  detail::collect_tasks(w, setup, events);
  RunReport rep = detail::report_of(w, setup, events, recovery);

  // Tear down suspended work before the runtime objects go; only then is the trace complete.
  if (setup.env) setup.env->finish();
  w.sim.reset();
  rep.trace_hash = trace.hash_hex();
  rep.trace_events = trace.lines();
  return rep;
}

}  // namespace

void TaskErrors::add(std::string what) {
  ++count;
  if (first.size() < kKept) first.push_back(std::move(what));
}

Result<RunReport> run_scenario(const Scenario& scenario, const RunOptions& options) {
  try {
    return run_checked(scenario, options);
  } catch (const std::exception& e) {  // building the run failed (a value out of range, no memory)
    return Error(ErrorCode::internal, std::string("cannot run the scenario: ") + e.what());
  }
}

}  // namespace keel::scenarios
