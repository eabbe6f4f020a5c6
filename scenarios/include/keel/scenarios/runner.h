// keel/scenarios/runner.h — run a scenario on the simulator and judge it.
//
// Purpose: `keel run`'s engine. Builds the real runtime (ModelManager, ChatAgents, ToolRunner)
// from the scenario and its preset, on a sim::Simulator with mock providers and tools driven
// by the scenario's fault plan, runs the workload until every task ends or the horizon, then
// evaluates every expectation.
//
// Contract:
//  - Deterministic: the same scenario, seed, preset and build give a byte-identical trace
//    (RunReport::trace_hash) and report. Nothing reads a clock or the environment.
//  - Tasks (scenarios/FORMAT.md): each agent step is one task, ending succeeded (final answer),
//    failed (any error but cancelled), or cancelled. A workforce task (one per task and
//    round) ends as its Workforce outcome says: done, failed, skipped or cancelled; its
//    latency runs from its first attempt (a task never started has none). A task unfinished
//    at the horizon fails with reason `horizon` (latency measured to the horizon when it had
//    started).
//  - Counting rules are the format page's: calls reached a provider (summaries included);
//    retries are attempts after the first on one model; fallbacks are moves to a next model.
//  - Workforce workers: a `models` worker is an AgentWorker over its own ModelManager (the
//    preset's manager config over those providers); a `tool` worker a ToolWorker over the
//    shared ToolRunner. calls/retries/fallbacks/breaker opens sum over every chain.
//  - Returns an Error (ErrorCode::internal) only when the scenario cannot be run (a Scenario
//    built in code with a value beyond limits.h, no memory to build it); expectation failures
//    are in the report. An exception escaping a task fails that task (TaskErrors), never
//    terminates the process.
//
// Example:
//   LoadResult loaded = load_scenario_file("scenarios/suite/hanging_primary.json");
//   Result<RunReport> r = run_scenario(*loaded.scenario, {.seed = 7});
//   std::cout << to_json(*r).dump() << "\n";   // passed, trace_hash, expectations...
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "keel/core/event.h"
#include "keel/core/result.h"
#include "keel/scenarios/recovery.h"
#include "keel/scenarios/scenario.h"

namespace keel::scenarios {

class RunEnvironment;  // run_environment.h

struct RunOptions {
  std::optional<std::uint64_t> seed;    // default: the scenario's
  std::optional<Preset> preset;         // replaces runtime.preset
  std::ostream* trace = nullptr;        // JSON-lines trace, if wanted
  EventSink* extra_sink = nullptr;      // e.g. the Chrome trace writer
  // Run in this world instead of the simulator (`keel run --live`; run_environment.h). The
  // trace is then not reproducible and the report is in scenario time.
  RunEnvironment* environment = nullptr;
};

struct TaskCounts {
  std::int64_t total = 0, succeeded = 0, failed = 0, skipped = 0, cancelled = 0;
};

struct ExpectationResult {
  std::string name;
  bool passed = false;
  std::string detail;
};

struct ToolStats {
  std::int64_t executions = 0;
  std::int64_t max_per_call = 0;
};

// Workforce workloads only: the workforce's own task-level counters (not model-manager ones).
struct WorkforceStats {
  std::int64_t attempts = 0;   // task attempts started
  std::int64_t retries = 0;    // same-worker task retries
  std::int64_t fallbacks = 0;  // moves to a fallback worker
  bool terminated = false;     // the TERMINATE strategy stopped the workforce
};

// Exceptions that escaped a task of the run (a bug or an allocation failure, never expected):
// each failed its task, which counts as failed with ErrorCode::internal; the run goes on.
struct TaskErrors {
  static constexpr std::size_t kKept = 10;
  std::int64_t count = 0;
  std::vector<std::string> first;  // the first kKept: "agent 3 step 1: std::bad_alloc"
  void add(std::string what);
};

struct RunReport {
  std::string scenario;
  std::uint64_t seed = 0;
  Preset preset = Preset::keel_default;
  bool passed = false;
  std::string trace_hash;  // 16 hex digits
  bool live = false;       // run in a RunEnvironment (real time): the trace is not reproducible
  std::uint64_t trace_events = 0;
  Duration virtual_end{};
  TaskCounts tasks;
  std::int64_t unfinished = 0;          // tasks failed with reason `horizon`
  Duration latency_p50{}, latency_p99{}, latency_max{};
  Duration latency_ok_p50{}, latency_ok_p99{}, latency_ok_max{};  // successful tasks only
  Keyed<std::int64_t> failures;         // final cause (error code or reason) -> failed tasks, by name
  std::vector<RecoveryWindow> recovery; // one per provider fault, file order (recovery.h)
  Keyed<std::int64_t> calls;            // provider -> requests that reached it
  std::int64_t retries = 0;
  std::int64_t fallbacks = 0;
  Keyed<std::int64_t> breaker_opens;    // provider -> opens
  Keyed<std::optional<Duration>> first_open;
  std::int64_t summarizations = 0;
  // Steps that succeeded with fewer answer tokens than the provider produced for the attempt
  // used (format v1.1); counted per accepted streamed answer (a whole answer is never short).
  std::int64_t truncated_answers = 0;
  Keyed<ToolStats> tools;
  Keyed<std::int64_t> max_prompt_tokens;  // provider -> largest prompt that reached it
  std::optional<WorkforceStats> workforce;
  // Slack, in scenario time, for the time bounds of `expect` (latency, finished_before,
  // first_open_before): zero on the simulator; kLiveTimeTolerance / F on a live run.
  Duration time_tolerance{};
  TaskErrors task_errors;               // none in a healthy run
  std::vector<ExpectationResult> expectations;
};

// A live run's real-time overhead (loopback HTTP, parsing, the real-time scheduler: measured
// 0.4-12 ms per agent step on a loaded machine, 2.4-5 ms idle, and about 45 ms once for the
// first request's connection; docs/serve.md) makes a bound that sits exactly on a simulated
// latency fail "by a hair". Live runs judge time bounds with this much real time of slack per
// bound: kLiveTimeTolerance / F of scenario time, stated in each expectation's detail.
inline constexpr Duration kLiveTimeTolerance = std::chrono::milliseconds{50};

Result<RunReport> run_scenario(const Scenario& scenario, const RunOptions& options = {});

// Every expectation of `expect` (one named result each, in the format page's order), judged
// against a finished report (time bounds with its time_tolerance). Sets nothing else.
std::vector<ExpectationResult> evaluate_expectations(const Expect& expect, const RunReport& report);

// The `keel run --json` object (scenarios/FORMAT.md, "keel run output": latency_ok_ms,
// failures and recovery included), plus extra fields (trace_events, tools, max_prompt_tokens,
// first_open_ms, and for a workforce `workforce`).
nlohmann::json to_json(const RunReport& report);

}  // namespace keel::scenarios
