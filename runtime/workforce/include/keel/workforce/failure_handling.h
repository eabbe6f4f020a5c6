// keel/workforce/failure_handling.h — what a workforce does when an attempt of a task fails.
//
// Purpose: the source design's FailureHandlingConfig and RecoveryStrategy (RETRY, SKIP,
// FALLBACK, TERMINATE, plus REASSIGN), with its defects fixed: retries wait a backoff with
// jitter (never a hot loop), an empty result is a failure, every attempt can have a timeout,
// and one budget bounds the attempts of a task whatever the strategy.
//
// Contract — after a failed attempt (an error, a timeout, or a result the validator rejects),
// `decide_recovery` picks exactly one action; `retries_left = max_retries - (attempts - 1)`:
//  - the attempt was cancelled (code `cancelled`) → cancel: the task ends CANCELLED;
//  - the workforce is stopping (stop_gracefully) → fail: no new attempt starts;
//  - RETRY     → retry on the same worker while retries_left > 0, else fail;
//  - SKIP      → retry while retries_left > 0, else skip: the task ends SKIPPED;
//  - TERMINATE → retry while retries_left > 0, else terminate: the task ends FAILED and the
//                workforce stops at once (in-flight attempts cancelled, nothing new starts);
//  - FALLBACK  → the next worker of `fallback_workers` (in order, skipping workers this task
//                already tried) while retries_left > 0, else fail;
//  - REASSIGN  → the next capable worker (declaration order, after the current one, wrapping,
//                skipping workers already tried) while retries_left > 0, else fail.
// So attempts per task <= 1 + max_retries, always.
//
// Retries at one layer: the workforce owns the retries of a task; a worker must not multiply
// them with its own. A ToolWorker attempt executes its tool once (no ToolRunner retries), so
// a task executes its tool at most 1 + max_retries times (not (1 + max_retries) x the tool's
// max_attempts). An AgentWorker attempt is one agent step: its model calls keep their per-call
// retries (transient provider errors at the provider boundary, spaced by backoff), and what
// bounds the product across tasks is the model chain's retry budget (gRPC A6 throttling:
// keel_default), not a second count here. A retry on the same worker waits
// `next_delay(retry_delay, n, ...)` for its n-th retry (jitter from the workforce's Rng); a
// move to another worker starts at once (that worker has not failed).
//
// Example:
//   FailureHandlingConfig f{.max_retries = 2, .strategy = RecoveryStrategy::fallback,
//                           .fallback_workers = {"backup"}, .task_timeout = 30s};
//   RecoveryDecision d = decide_recovery(f.strategy, f.max_retries, /*attempts=*/1,
//                                        ErrorCode::timeout, false, /*next_worker=*/2);
//   // d.action == RecoveryAction::fallback, d.next_worker == 2
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keel/core/enum_names.h"
#include "keel/core/error.h"
#include "keel/core/result.h"
#include "keel/policy/backoff.h"
#include "keel/workforce/worker.h"

namespace keel::workforce {

// One X-macro list per enum (keel/core/enum_names.h): X(enumerator, "name in events").
#define KEEL_RECOVERY_STRATEGY(X) \
  X(retry, "retry") X(skip, "skip") X(fallback, "fallback") X(terminate, "terminate") X(reassign, "reassign")
#define KEEL_RECOVERY_ACTION(X)                                                                            \
  X(retry, "retry") X(fallback, "fallback") X(reassign, "reassign") X(skip, "skip") X(fail, "fail") \
      X(terminate, "terminate") X(cancel, "cancel")
KEEL_ENUM_WITH_NAMES(RecoveryStrategy, kRecoveryStrategyNames, KEEL_RECOVERY_STRATEGY);
KEEL_ENUM_WITH_NAMES(RecoveryAction, kRecoveryActionNames, KEEL_RECOVERY_ACTION);

std::string_view to_string(RecoveryStrategy s) noexcept;
std::string_view to_string(RecoveryAction a) noexcept;

// What on_failure sees: one failed attempt and what the workforce will do about it.
struct FailureInfo {
  std::string_view task_id;
  int round = 0;
  int attempt = 1;             // the attempt that failed (1-based)
  std::string_view worker;     // the worker it ran on
  const Error& error;
  RecoveryAction action;
  std::string_view next_worker;  // retry/fallback/reassign: who runs the next attempt
  Duration delay{};              // retry: the wait before it
};

// Accepts or rejects an attempt's output. Rejected → the attempt failed with that Error.
using ResultValidator = std::function<Status(const WorkItem&, std::string_view output)>;

// The default validator: an output that is empty or only whitespace is rejected with
// ErrorCode::malformed_response, "empty result" (docs/architecture.md: empty results were accepted).
Status reject_empty_result(const WorkItem& item, std::string_view output);

struct FailureHandlingConfig {
  int max_retries = 3;  // re-attempts per task, across every strategy (>= 0)
  policy::BackoffConfig retry_delay{.base = std::chrono::seconds{1},
                                    .max = std::chrono::seconds{30},
                                    .multiplier = 2.0,
                                    .jitter = policy::Jitter::equal};  // at least half the ceiling
  RecoveryStrategy strategy = RecoveryStrategy::retry;
  std::vector<std::string> fallback_workers;  // worker names, in the order they are tried
  // Called synchronously for every failed attempt, after the decision. Must not throw, and
  // must not call back into the workforce except stop_*/pause (which take effect at once).
  std::function<void(const FailureInfo&)> on_failure;
  std::optional<Duration> task_timeout;  // per attempt (with_timeout); nullopt: none
  ResultValidator validator = reject_empty_result;  // null: accept every output
  // REASSIGN: may `worker` run `task_id`? Null: every worker can run every task.
  std::function<bool(std::string_view worker, std::string_view task_id)> capable;
};

struct RecoveryDecision {
  RecoveryAction action = RecoveryAction::fail;
  std::optional<std::size_t> next_worker;  // fallback / reassign
  std::string_view why;                    // a short reason for events and outcomes
};

// The pure decision of the contract above. `next_other_worker` is the worker a FALLBACK or
// REASSIGN would move to (nullopt: none left); `stopping` is a graceful stop in progress.
RecoveryDecision decide_recovery(RecoveryStrategy strategy, int max_retries, int attempts, ErrorCode code,
                                 bool stopping, std::optional<std::size_t> next_other_worker) noexcept;

}  // namespace keel::workforce
