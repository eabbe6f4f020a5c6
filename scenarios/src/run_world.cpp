// Stage 2 of a scenario run (run_world.h): run the built world to the horizon, then gather
// what its tasks did as task records in scenario time.
#include "keel/scenarios/time_scale.h"
#include "run_world.h"

namespace keel::scenarios::detail {

Status run_world(World& w, const RunSetup& setup) {
  const Scenario& scenario = setup.scenario;
  if (setup.env) {
    setup.env->run_until(TimePoint{scaled(scenario.horizon, setup.scale)}, [&w] { return w.running == 0; });
    return {};
  }
  const sim::RunResult run = w.sim->run_until(TimePoint{scenario.horizon});
  if (run.status == sim::RunStatus::budget_exhausted) {
    return Error(ErrorCode::internal, "simulation livelock: event budget exhausted before the horizon");
  }
  return {};
}

void collect_tasks(World& w, const RunSetup& setup, RunSink& events) {
  // Workforce tasks in the same shape as agent steps (a task that never started has no latency).
  if (w.workforce) {
    for (const workforce::TaskOutcome& t : w.workforce->outcomes()) {
      TaskRecord& r = w.tasks.emplace_back();
      r.began = t.started.has_value();
      if (t.started) r.started = *t.started;
      r.ended = workforce::is_terminal(t.state);
      if (t.ended) r.ended_at = *t.ended;
      r.state = t.state;
      if (t.state == workforce::TaskState::failed) {
        r.cause = t.error ? std::string(to_string(t.error->code)) : t.reason;
      }
    }
  }
  if (setup.env) {  // measured in run time: report scenario time
    const double scale = setup.scale;
    auto unscale = [scale](TimePoint t) { return TimePoint{scaled(t.time_since_epoch(), 1.0 / scale)}; };
    for (TaskRecord& t : w.tasks) {
      t.started = unscale(t.started);
      t.ended_at = unscale(t.ended_at);
    }
    for (auto& [name, at] : events.first_open) at = scaled(at, 1.0 / scale);
  }
}

}  // namespace keel::scenarios::detail
