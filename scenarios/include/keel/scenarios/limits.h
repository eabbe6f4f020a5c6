// keel/scenarios/limits.h — the bound of every size a scenario file can state.
//
// Purpose: a scenario is input from outside; no value in it may crash keel, narrow silently
// or make a run allocate without limit. The loader rejects each value above its bound at the
// value's JSON pointer, with the bound in the message; the runner relies on them (every value
// that reaches an `int` fits one). scenarios/FORMAT.md ("Bounds") and scenario.schema.json
// ("maximum") state the same numbers; tests/scenarios/bounds_test.cpp checks they agree.
// The bounds a runtime block shares with a service's configuration file (the document, names,
// durations, the `runtime` fields) are keel/config/limits.h's, visible here by a using-directive:
// limits::kMaxAttempts names config::limits::kMaxAttempts.
//
// Contract: each bound is far above what a real scenario needs (the bundled suite's largest
// values are 1-3 orders of magnitude below) and small enough that the whole run stays within
// the memory stated in FORMAT.md. Change a bound here, in FORMAT.md and in the schema together.
//
// Example:
//   read_int(ctx, v, ptr, 1, limits::kMaxContextWindow);   // "expected an integer in 1..10000000"
#pragma once

#include <climits>
#include <cstddef>
#include <cstdint>

#include "keel/config/limits.h"

namespace keel::scenarios::limits {

using namespace keel::config::limits;  // the document, names, runtime fields, durations

// ---- the document ------------------------------------------------------------------------
inline constexpr std::size_t kMaxDescriptionBytes = 64u << 10;

// ---- lists ----------------------------------------------------------------------------------
inline constexpr std::int64_t kMaxProviders = 100;
inline constexpr std::int64_t kMaxTools = 100;
inline constexpr std::int64_t kMaxFaults = 1000;
inline constexpr std::int64_t kMaxWorkers = 100;

// ---- providers --------------------------------------------------------------------------
inline constexpr std::int64_t kMaxContextWindow = kMaxTokenLimit;  // tokens (the largest windows offered: 10M)
inline constexpr std::int64_t kMaxOutputTokens = 1'000'000;
inline constexpr std::int64_t kMaxRequestsPerMinute = 100'000'000;
inline constexpr std::int64_t kMaxTokensPerMinute = 1'000'000'000;

// ---- faults -----------------------------------------------------------------------------
inline constexpr std::int64_t kMaxFaultCount = 1'000'000'000;  // every_nth, first_n

// ---- workload: agents -------------------------------------------------------------------
inline constexpr std::int64_t kMaxAgents = 10'000;              // count
inline constexpr std::int64_t kMaxSteps = 1'000'000;            // steps per agent
inline constexpr std::int64_t kMaxAgentSteps = 1'000'000;       // count x steps (the run's tasks)
inline constexpr std::int64_t kMaxPromptTokens = 1'000'000;     // prompt_tokens
inline constexpr std::int64_t kMaxToolCallsPerStep = 100;
inline constexpr double kMinPoissonRate = 1e-6;                 // start.poisson_per_s, arrivals per second
inline constexpr double kMaxPoissonRate = 1e6;
// The text the agents can hold at once, in tokens: count x (prompt_tokens + (tool_calls_per_step
// + 1) x the largest output_tokens), times steps when history is "keep". 4 bytes a token: 400 MB.
inline constexpr std::int64_t kMaxHeldTokens = 100'000'000;
// Streamed answers in flight, in tokens: the requests that can stream at once (agents `count`;
// a workforce's max_concurrency, at most its tasks) x the largest output_tokens x (1 +
// hedging.max_extra). A simulated stream holds its answer's events, ~220 bytes a token
// (an SSE chunk each): 440 MB.
inline constexpr std::int64_t kMaxStreamedTokens = 2'000'000;

// ---- workload: workforce ----------------------------------------------------------------
inline constexpr std::int64_t kMaxTasks = 10'000;        // `tasks: n` or the task list's length
inline constexpr std::int64_t kMaxRounds = 10'000;       // rounds
inline constexpr std::int64_t kMaxTaskRuns = 1'000'000;  // tasks x rounds (the run's tasks)
inline constexpr std::int64_t kMaxConcurrency = 1'000'000;
inline constexpr std::int64_t kMaxTaskRetries = 100;     // failure_handling.max_retries

// ---- expect -----------------------------------------------------------------------------
inline constexpr std::int64_t kMaxExpectCount = 1'000'000'000'000'000;  // 1e15: exact in a JSON double

static_assert(kMaxContextWindow <= INT_MAX && kMaxOutputTokens <= INT_MAX && kMaxRequestsPerMinute <= INT_MAX &&
                  kMaxTokensPerMinute <= INT_MAX && kMaxToolCallsPerStep + 2 <= INT_MAX && kMaxTaskRetries <= INT_MAX &&
                  kMaxRounds <= INT_MAX,
              "the runner hands these to int fields");

}  // namespace keel::scenarios::limits
