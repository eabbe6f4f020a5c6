// keel/scenarios/limits.h — the bound of every size a scenario file can state.
//
// Purpose: a scenario is input from outside; no value in it may crash keel, narrow silently
// or make a run allocate without limit. The loader rejects each value above its bound at the
// value's JSON pointer, with the bound in the message; the runner relies on them (every value
// that reaches an `int` fits one). scenarios/FORMAT.md ("Bounds") and scenario.schema.json
// ("maximum") state the same numbers; tests/scenarios/loader_test.cpp checks they agree.
//
// Contract: each bound is far above what a real scenario needs (the bundled suite's largest
// values are 1-3 orders of magnitude below) and small enough that the whole run stays within
// the memory stated in FORMAT.md. Change a bound here, in FORMAT.md and in the schema together.
//
// Example:
//   read_int(ctx, v, ptr, 1, limits::kMaxContextWindow);   // "expected an integer in 1..10000000"
#pragma once

#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>

namespace keel::scenarios::limits {

// ---- the document ------------------------------------------------------------------------
inline constexpr std::size_t kMaxFileBytes = 8u << 20;  // 8 MiB of JSON text
inline constexpr int kMaxNesting = 64;                  // arrays/objects inside each other (a scenario needs 6)
inline constexpr std::size_t kMaxNameBytes = 256;       // scenario, provider, tool, worker names, task ids
inline constexpr std::size_t kMaxDescriptionBytes = 64u << 10;

// ---- lists ----------------------------------------------------------------------------------
inline constexpr std::int64_t kMaxProviders = 100;
inline constexpr std::int64_t kMaxTools = 100;
inline constexpr std::int64_t kMaxFaults = 1000;
inline constexpr std::int64_t kMaxWorkers = 100;

// ---- providers --------------------------------------------------------------------------
inline constexpr std::int64_t kMaxContextWindow = 10'000'000;  // tokens (the largest windows offered: 10M)
inline constexpr std::int64_t kMaxOutputTokens = 1'000'000;
inline constexpr std::int64_t kMaxRequestsPerMinute = 100'000'000;
inline constexpr std::int64_t kMaxTokensPerMinute = 1'000'000'000;

// ---- faults -----------------------------------------------------------------------------
inline constexpr std::int64_t kMaxFaultCount = 1'000'000'000;  // every_nth, first_n

// ---- runtime ----------------------------------------------------------------------------
inline constexpr std::int64_t kMaxAttempts = 100;         // retry.max_attempts
inline constexpr double kMaxMultiplier = 100.0;           // retry.multiplier
inline constexpr double kMaxBudgetTokens = 1'000'000.0;   // retry.budget.max_tokens
inline constexpr double kMaxBudgetRatio = 1'000'000.0;    // retry.budget.token_ratio
inline constexpr std::int64_t kMaxBreakerCalls = 100'000;  // breaker size, min_calls, half_open_calls
inline constexpr std::int64_t kMaxHedges = 16;            // hedging.max_extra
inline constexpr std::int64_t kMaxTokenLimit = kMaxContextWindow;  // context.token_limit

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

// ---- workload: workforce ----------------------------------------------------------------
inline constexpr std::int64_t kMaxTasks = 10'000;        // `tasks: n` or the task list's length
inline constexpr std::int64_t kMaxRounds = 10'000;       // rounds
inline constexpr std::int64_t kMaxTaskRuns = 1'000'000;  // tasks x rounds (the run's tasks)
inline constexpr std::int64_t kMaxConcurrency = 1'000'000;
inline constexpr std::int64_t kMaxTaskRetries = 100;     // failure_handling.max_retries

// ---- expect -----------------------------------------------------------------------------
inline constexpr std::int64_t kMaxExpectCount = 1'000'000'000'000'000;  // 1e15: exact in a JSON double

// ---- durations ------------------------------------------------------------------------------
// Every duration (horizon, latencies, timeouts, fault windows, delays, start times): 1000 h
// keeps every sum the simulator forms far from the int64-nanosecond limit (~292 years).
inline constexpr std::chrono::hours kMaxDuration{1000};

static_assert(kMaxContextWindow <= INT_MAX && kMaxOutputTokens <= INT_MAX && kMaxRequestsPerMinute <= INT_MAX &&
                  kMaxTokensPerMinute <= INT_MAX && kMaxToolCallsPerStep + 2 <= INT_MAX && kMaxTaskRetries <= INT_MAX &&
                  kMaxRounds <= INT_MAX && kMaxHedges <= INT_MAX && kMaxBreakerCalls <= INT_MAX,
              "the runner hands these to int fields");

}  // namespace keel::scenarios::limits
