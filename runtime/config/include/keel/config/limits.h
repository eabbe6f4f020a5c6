// keel/config/limits.h — the bounds of every value a configuration file (a runtime block, or
// the document it is read from) can state.
//
// Purpose: a configuration file is input from outside; no value in it may crash keel, narrow
// silently or make the reader allocate without limit. The readers (runtime-block loader and
// scenario loader) reject each value above its bound at the value's JSON pointer, with the
// bound in the message; resolve() relies on them (every value that reaches an `int` fits one).
// The scenario file's own bounds (providers, workload, faults, expect) extend these in
// keel/scenarios/limits.h. scenarios/FORMAT.md ("Bounds") and scenario.schema.json
// ("maximum") state the same numbers; tests/scenarios/bounds_test.cpp checks they agree.
//
// Contract: each bound is far above what a real configuration needs and small enough for
// exact arithmetic. Change a bound here, in FORMAT.md and in the schema together.
//
// Example:
//   read_int(ctx, v, ptr, 1, limits::kMaxAttempts);   // "expected an integer in 1..100"
#pragma once

#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>

namespace keel::config::limits {

// ---- the document ------------------------------------------------------------------------
inline constexpr std::size_t kMaxFileBytes = 8u << 20;  // 8 MiB of JSON text
inline constexpr int kMaxNesting = 64;                  // arrays/objects inside each other (a scenario needs 6)
inline constexpr std::size_t kMaxNameBytes = 256;       // scenario, provider, tool, worker names, task ids

// ---- runtime ----------------------------------------------------------------------------
inline constexpr std::int64_t kMaxAttempts = 100;         // retry.max_attempts
inline constexpr double kMaxMultiplier = 100.0;           // retry.multiplier
inline constexpr double kMaxBudgetTokens = 1'000'000.0;   // retry.budget.max_tokens
inline constexpr double kMaxBudgetRatio = 1'000'000.0;    // retry.budget.token_ratio
inline constexpr std::int64_t kMaxBreakerCalls = 100'000;  // breaker size, min_calls, half_open_calls
inline constexpr std::int64_t kMaxHedges = 16;            // hedging.max_extra
inline constexpr std::int64_t kMaxTokenLimit = 10'000'000;  // context.token_limit (the largest context window)
// Client-side limits (format 1.1): far above any provider, small enough for exact arithmetic.
inline constexpr double kMaxRequestsPerSecond = 1'000'000.0;  // rate_limiter.requests_per_second
inline constexpr std::int64_t kMaxBurst = 1'000'000;          // rate_limiter.burst
inline constexpr std::int64_t kMaxConcurrent = 1'000'000;     // bulkhead.max_concurrent
inline constexpr std::int64_t kMaxQueue = 1'000'000;          // bulkhead.max_queue

// ---- durations ------------------------------------------------------------------------------
// Every duration (horizon, latencies, timeouts, fault windows, delays, start times): 1000 h
// keeps every sum the simulator forms far from the int64-nanosecond limit (~292 years).
inline constexpr std::chrono::hours kMaxDuration{1000};

static_assert(kMaxHedges <= INT_MAX && kMaxBreakerCalls <= INT_MAX && kMaxTokenLimit <= INT_MAX &&
                  kMaxAttempts <= INT_MAX && kMaxBurst <= INT_MAX && kMaxConcurrent <= INT_MAX && kMaxQueue <= INT_MAX,
              "resolve() hands these to int fields");

}  // namespace keel::config::limits
