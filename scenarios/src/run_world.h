// Internal to keel_scenarios: the three stages of run_scenario (runner.cpp), one file each.
//
// Purpose: run_scenario builds a World from the scenario (build_world.cpp: providers, tools,
// the model chains, the agents or the workforce, their root tasks spawned), runs it to the
// horizon (run_world.cpp), then turns what it measured into a RunReport (run_report.cpp).
//
// Contract:
//  - World's members are declared so that the simulator is destroyed first: it tears down
//    suspended tasks while the runtime objects they point at are still alive.
//  - build_world throws on a value that does not fit the runtime (std::out_of_range,
//    std::length_error; run_scenario turns it into an Error) and returns an Error for a
//    workforce that cannot be built.
//  - After run_world, collect_tasks puts the workforce's outcomes in `tasks` and (live runs)
//    every measured time back in scenario time; report_of reads only the World and the sinks.
//
// Example (runner.cpp):
//   World w;
//   if (Status built = build_world(w, setup, sinks); !built) return built.error();
//   if (Status ran = run_world(w, setup); !ran) return ran.error();
//   collect_tasks(w, setup, sinks.events);
//   RunReport rep = report_of(w, setup, sinks.events, recovery);
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keel/agent/chat_agent.h"
#include "keel/agent/tool_runner.h"
#include "keel/agent/toolkit.h"
#include "keel/core/rng.h"
#include "keel/model/limited_transport.h"
#include "keel/model/model_manager.h"
#include "keel/model/token_counter.h"
#include "keel/scenarios/recovery.h"
#include "keel/scenarios/resolve_runtime.h"
#include "keel/scenarios/run_environment.h"
#include "keel/scenarios/runner.h"
#include "keel/sim/fault_hook.h"
#include "keel/sim/mock_provider.h"
#include "keel/sim/mock_tool.h"
#include "keel/sim/simulator.h"
#include "keel/workforce/agent_worker.h"
#include "keel/workforce/workforce.h"
#include "run_sink.h"

namespace keel::scenarios::detail {

// What the stages share about one run: the scenario, its seed and preset, the resolved runtime
// configuration (durations already scaled for a live run), and where it runs.
struct RunSetup {
  const Scenario& scenario;
  std::uint64_t seed = 0;
  Preset preset = Preset::keel_default;
  RuntimeConfig cfg;
  RunEnvironment* env = nullptr;  // null: the simulator
  double scale = 1.0;             // env's time scale; 1 on the simulator
  Rng root;
};

// The sinks the world's components report to; they outlive the World.
struct RunSinks {
  RunSink& events;
  sim::FaultHook& provider_faults;  // the scenario's fault plan, in the providers' time
  sim::FaultHook& tool_faults;      // the same plan, in run time (scaled on a live run)
};

struct TaskRecord {
  TimePoint started{};
  bool began = false;
  bool ended = false;
  TimePoint ended_at{};
  std::optional<ErrorCode> error;  // agents: nullopt = succeeded
  std::optional<workforce::TaskState> state;  // workforce: the terminal state
  std::string cause;                          // workforce, failed: the final error code or reason
};

class QuotaMistakenForOverflow;  // build_world.cpp

// Everything one run builds. Declared so that the simulator is destroyed first.
struct World {
  World();
  ~World();
  std::vector<std::unique_ptr<sim::MockProvider>> providers;  // simulated runs
  std::vector<model::ModelTransport*> transports;             // scenario.providers order
  std::vector<std::unique_ptr<model::LimitedTransport>> limited;  // runtime.rate_limiter/bulkhead
  std::vector<std::unique_ptr<sim::MockTool>> tools;
  agent::Toolkit toolkit;
  std::unique_ptr<agent::ToolRunner> tool_runner;
  std::unique_ptr<model::ModelManager> manager;
  std::vector<std::unique_ptr<QuotaMistakenForOverflow>> quirks;
  model::ApproxTokenCounter counter;
  std::vector<std::unique_ptr<agent::ChatAgent>> agents;
  std::vector<TaskRecord> tasks;
  // Workforce workload: one model chain per chat-agent worker, the workers, the workforce.
  std::vector<std::unique_ptr<model::ModelManager>> worker_managers;
  std::vector<std::unique_ptr<workforce::Worker>> workers;
  std::vector<workforce::AgentWorker*> agent_workers;
  std::unique_ptr<workforce::Workforce> workforce;
  Scheduler* scheduler = nullptr;       // the simulator, or the environment's
  std::size_t running = 0;              // root tasks not finished yet
  TaskErrors task_errors;               // exceptions that escaped a task (each became a failure)
  std::unique_ptr<sim::Simulator> sim;  // last: destroyed first
};

// A scenario value handed to an int field of the runtime. The loader's bounds (limits.h) make
// every loaded value fit; a Scenario built in code that does not is refused, never narrowed.
int to_int(std::int64_t v, std::string_view field);

// The first provider of every model chain of the run (back_on_primary applies to those).
std::vector<std::string> chain_primaries(const Scenario& scenario, const RuntimeConfig& cfg);

// Stage 1 (build_world.cpp): the scheduler, providers, tools, model chains and the workload's
// agents or workforce, with their root tasks spawned.
Status build_world(World& w, const RunSetup& setup, const RunSinks& sinks);

// Stage 2 (run_world.cpp): runs the world until every root task ended or the horizon. An
// Error when the simulator's event budget ran out first (a livelock).
Status run_world(World& w, const RunSetup& setup);

// The workforce's outcomes as task records; on a live run every measured time back in
// scenario time.
void collect_tasks(World& w, const RunSetup& setup, RunSink& events);

// Stage 3 (run_report.cpp): the report of a finished world, expectations judged. Leaves the
// trace hash to the caller (the trace is complete only once the world is torn down).
RunReport report_of(World& w, const RunSetup& setup, const RunSink& events, RecoveryMeter& recovery);

}  // namespace keel::scenarios::detail
