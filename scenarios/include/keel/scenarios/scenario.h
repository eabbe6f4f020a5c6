// keel/scenarios/scenario.h — a scenario file as plain data (scenarios/FORMAT.md, version 1).
//
// Purpose: the data model every scenario consumer shares: the loader builds it (loader.h),
// to_json writes it back (to_json.h), the runner turns it into a simulated run, the shrinker
// edits it. One struct per object of the format, one member per field, same names.
//
// Contract:
//  - A Scenario returned by the loader is valid: names are unique and every reference (fault
//    targets, runtime.models, workers, task ids, expect keys) resolves.
//  - Defaults are the format's (seed 1, horizon 1h, api openai, context_window 128000, latency
//    fixed 500ms / tools 100ms, output_tokens 200, probability 1, count 1, steps 1,
//    prompt_tokens 500, history none, ...). Where the format gives none, keel's are
//    documented in scenarios/FORMAT.md and marked "keel default" below.
//  - `runtime` only overrides: every field is "not set" (the preset decides) unless the file
//    set it. Override<T> adds the format's explicit "off" (`false` / `null`).
//  - Keyed expectations (`calls`, `breaker`, ...) keep the file's key order.
//  - Structs compare equal member-wise (to_json round trips are tested with ==).
//
// Example:
//   LoadResult r = load_scenario_file("suite/hang.json");
//   const Scenario& s = r.value();
//   for (const Provider& p : s.providers) build_mock(p.name, p.latency, p.context_window);
//   std::optional<Duration> attempt = s.runtime.timeouts.attempt.over(preset.attempt_timeout);
//   if (auto* agents = std::get_if<AgentsWorkload>(&s.workload)) run(agents->count);
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "keel/config/duration.h"
#include "keel/config/preset_names.h"
#include "keel/config/runtime_block.h"
#include "keel/core/enum_names.h"
#include "keel/core/error.h"
#include "keel/core/time.h"
#include "keel/faults/fault_spec.h"
#include "keel/sim/latency.h"

namespace keel::scenarios {

inline constexpr int kFormatVersion = 1;

// ---- enums: each has to_string (the format's name) and a name table for parsing ----------

// One X-macro list per enum (keel/core/enum_names.h): X(enumerator, "the format's name").
#define KEEL_API(X) X(openai, "openai") X(anthropic, "anthropic")
#define KEEL_HISTORY(X) X(keep, "keep") X(none, "none")
#define KEEL_WORKFORCE_MODE(X) X(parallel, "parallel") X(pipeline, "pipeline") X(loop, "loop")
#define KEEL_FAILURE_STRATEGY(X) X(retry, "retry") X(skip, "skip") X(fallback, "fallback") X(terminate, "terminate")
#define KEEL_OUTCOME(X) X(pass, "pass") X(fail, "fail")  // extension: `expected`

KEEL_ENUM_WITH_NAMES(Api, kApiNames, KEEL_API);
KEEL_ENUM_WITH_NAMES(History, kHistoryNames, KEEL_HISTORY);
KEEL_ENUM_WITH_NAMES(WorkforceMode, kWorkforceModeNames, KEEL_WORKFORCE_MODE);
KEEL_ENUM_WITH_NAMES(FailureStrategy, kFailureStrategyNames, KEEL_FAILURE_STRATEGY);
KEEL_ENUM_WITH_NAMES(Outcome, kOutcomeNames, KEEL_OUTCOME);

constexpr std::string_view to_string(Api v) noexcept { return enum_name(kApiNames, v); }
constexpr std::string_view to_string(History v) noexcept { return enum_name(kHistoryNames, v); }
constexpr std::string_view to_string(WorkforceMode v) noexcept { return enum_name(kWorkforceModeNames, v); }
constexpr std::string_view to_string(FailureStrategy v) noexcept { return enum_name(kFailureStrategyNames, v); }
constexpr std::string_view to_string(Outcome v) noexcept { return enum_name(kOutcomeNames, v); }

// The preset names are the runtime's (keel/config/preset_names.h; the configurations behind
// them, the same objects a service links, are in keel/config/presets.h).
using config::kPresetNames;
using config::Preset;
using config::preset_from_string;
using config::to_string;
// The runtime block's enums (keel/config/runtime_block.h).
using config::BreakerWindow;
using config::Jitter;
using config::kBreakerWindowNames;
using config::kJitterNames;
using config::kOnOverflowNames;
using config::kSchedulingNames;
using config::OnOverflow;
using config::OnTimeout;
using config::StreamRecovery;
using config::kOnTimeoutNames;
using config::kStreamRecoveryNames;
using config::Scheduling;
// Durations as files write them (keel/config/duration.h).
using config::format_duration;
using config::parse_duration;
using config::format_duration_human;

using config::Override;  // a runtime field that is unset, explicitly off, or set

// ---- providers, tools, faults --------------------------------------------------------------

using Latency = sim::LatencyModel;  // fixed | uniform | exponential | lognormal

struct ProviderLimits {
  std::optional<std::int64_t> requests_per_minute;  // >= 1
  std::optional<std::int64_t> tokens_per_minute;    // >= 1
  friend bool operator==(const ProviderLimits&, const ProviderLimits&) = default;
};

struct Provider {
  std::string name;                                 // required, unique; not "*", not "tool:..."
  Api api = Api::openai;
  std::int64_t context_window = 128000;             // >= 1
  Latency latency = Latency::fixed(std::chrono::milliseconds{500});
  std::int64_t output_tokens = 200;                 // >= 0
  std::optional<ProviderLimits> limits;             // none = unlimited
  Duration token_interval{};                        // v1.1: pace of output tokens, >= 0
  bool supports_prefill = true;                     // v1.1: false refuses a continuation (400)
  friend bool operator==(const Provider&, const Provider&) = default;
};

struct Tool {
  std::string name;  // required, unique
  Latency latency = Latency::fixed(std::chrono::milliseconds{100});
  bool idempotent = false;
  friend bool operator==(const Tool&, const Tool&) = default;
};

// A scenario fault is a faults::FaultSpec (target, kind, from, until, probability, every_nth,
// first_n, retry_after, status, extra_latency).
using Fault = faults::FaultSpec;

// ---- runtime --------------------------------------------------------------------------------

// The `runtime` block is the runtime's own configuration file format (keel/config/
// runtime_block.h): a service loads the same block CI validated. Its types, by their
// scenario names.
using config::BreakerSettings;
using config::BulkheadSettings;
using config::ContextSettings;
using config::HedgingSettings;
using config::RateLimiterSettings;
using config::RetryBudget;
using config::RetrySettings;
using config::SlowCall;
using config::Timeouts;
using Runtime = config::RuntimeBlock;

// ---- workload -------------------------------------------------------------------------------

struct Start {
  enum class Kind : std::uint8_t { at, every, poisson };
  Kind kind = Kind::at;
  Duration at{};             // kind == at: every agent starts then
  Duration every{};          // kind == every: agent i starts at i * every
  double poisson_per_s = 0;  // kind == poisson: arrival rate (> 0)
  friend bool operator==(const Start&, const Start&) = default;
};

// Extension (FORMAT.md): `"stop": {"at": d}` — at virtual time `at` every agent's stop() is
// called: running steps end `cancelled`, later steps fail fast as cancelled.
struct Stop {
  Duration at{};  // >= 0
  friend bool operator==(const Stop&, const Stop&) = default;
};

struct AgentsWorkload {
  std::int64_t count = 1;                // >= 1
  std::int64_t steps = 1;                // >= 1
  Start start;                           // default {"at": "0s"}
  std::int64_t prompt_tokens = 500;      // >= 1
  History history = History::none;
  std::int64_t tool_calls_per_step = 0;  // >= 0; > 0 needs at least one tool
  std::optional<Stop> stop;              // extension; none: the agents are never stopped
  bool stream = false;                   // v1.1: every model request streams
  friend bool operator==(const AgentsWorkload&, const AgentsWorkload&) = default;
};

// A chat agent (`models`, non-empty) or a tool worker (`tool`): exactly one is set.
struct Worker {
  std::string name;                 // required, unique
  std::vector<std::string> models;  // provider names
  std::optional<std::string> tool;  // a tool name (without "tool:")
  std::optional<bool> stream;       // v1.1, chat agents only; unset: the workload's `stream`
  bool is_tool() const noexcept { return tool.has_value(); }
  friend bool operator==(const Worker&, const Worker&) = default;
};

struct TaskSpec {
  std::string id;                       // required, unique
  std::optional<std::string> worker;    // a worker name; unset: the workforce assigns
  std::vector<std::string> depends_on;  // task ids; acyclic
  friend bool operator==(const TaskSpec&, const TaskSpec&) = default;
};

struct FailureHandling {
  std::int64_t max_retries = 3;                       // keel default; >= 0
  Duration retry_delay = std::chrono::seconds{1};     // keel default 1s (backoff, not a hot loop)
  FailureStrategy strategy = FailureStrategy::retry;  // keel default
  std::vector<std::string> fallback_workers;          // worker names
  friend bool operator==(const FailureHandling&, const FailureHandling&) = default;
};

struct WorkforceWorkload {
  WorkforceMode mode = WorkforceMode::parallel;                 // keel default
  std::vector<Worker> workers;                                  // required, >= 1
  std::variant<std::int64_t, std::vector<TaskSpec>> tasks = std::int64_t{1};  // required
  std::optional<std::int64_t> max_concurrency;                  // >= 1; unset: unbounded
  std::int64_t rounds = 1;                                      // >= 1 (loop mode)
  FailureHandling failure_handling;
  bool stream = false;  // v1.1: chat workers' model requests stream (a worker's own `stream` wins)
  // The task list with `tasks: n` expanded to ids "task-0" .. "task-(n-1)" (no worker, no deps).
  std::vector<TaskSpec> task_list() const;
  friend bool operator==(const WorkforceWorkload&, const WorkforceWorkload&) = default;
};

using Workload = std::variant<AgentsWorkload, WorkforceWorkload>;

// ---- expect ---------------------------------------------------------------------------------

template <class V>
using Keyed = std::vector<std::pair<std::string, V>>;  // file order, unique keys

struct LatencyExpect {
  std::optional<Duration> p50_max, p99_max, max;
  friend bool operator==(const LatencyExpect&, const LatencyExpect&) = default;
};
struct CallBounds {
  std::optional<std::int64_t> min, max;  // >= 0; min <= max
  friend bool operator==(const CallBounds&, const CallBounds&) = default;
};
struct BreakerExpect {
  std::optional<std::int64_t> opens_min, opens_max;
  std::optional<Duration> first_open_before;
  friend bool operator==(const BreakerExpect&, const BreakerExpect&) = default;
};
struct ToolExpect {
  std::optional<std::int64_t> max, max_per_call;
  friend bool operator==(const ToolExpect&, const ToolExpect&) = default;
};
// Bounds on the recovery measures of every provider fault window (recovery.h).
struct RecoveryExpect {
  std::optional<Duration> detect_max, restore_max, back_on_primary_max;
  friend bool operator==(const RecoveryExpect&, const RecoveryExpect&) = default;
};

struct Expect {
  std::optional<double> success_rate_min;  // 0..1
  std::optional<std::int64_t> tasks_failed_max;
  std::optional<LatencyExpect> latency;
  Keyed<CallBounds> calls;                 // provider -> bounds
  std::optional<std::int64_t> retries_max;
  std::optional<std::int64_t> fallbacks_min, fallbacks_max;
  Keyed<BreakerExpect> breaker;            // provider -> bounds
  std::optional<std::int64_t> summarizations_min, summarizations_max;
  Keyed<ToolExpect> tool_executions;       // tool -> bounds
  Keyed<std::int64_t> max_prompt_tokens_sent;  // provider -> tokens
  std::optional<Duration> finished_before;
  std::optional<std::int64_t> truncated_answers_max;  // v1.1
  std::optional<RecoveryExpect> recovery;
  bool empty() const noexcept { return *this == Expect{}; }
  friend bool operator==(const Expect&, const Expect&) = default;
};

// Extension (FORMAT.md): the verdict the scenario is expected to get under each preset.
struct ExpectedOutcomes {
  std::optional<Outcome> keel_default;
  std::optional<Outcome> camel_parity;
  std::optional<Outcome> under(Preset p) const noexcept {
    return p == Preset::keel_default ? keel_default : camel_parity;
  }
  bool empty() const noexcept { return !keel_default && !camel_parity; }
  friend bool operator==(const ExpectedOutcomes&, const ExpectedOutcomes&) = default;
};

// ---- the scenario ---------------------------------------------------------------------------

struct Scenario {
  int keel_scenario = kFormatVersion;
  std::string name;              // required, non-empty
  std::string description;
  std::uint64_t seed = 1;
  Duration horizon = std::chrono::hours{1};       // > 0
  std::vector<Provider> providers;  // required, >= 1
  std::vector<Tool> tools;
  std::vector<Fault> faults;
  Runtime runtime;
  Workload workload;
  Expect expect;
  ExpectedOutcomes expected;     // extension

  const Provider* find_provider(std::string_view n) const noexcept;
  const Tool* find_tool(std::string_view n) const noexcept;
  friend bool operator==(const Scenario&, const Scenario&) = default;
};

}  // namespace keel::scenarios
