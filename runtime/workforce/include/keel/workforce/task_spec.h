// keel/workforce/task_spec.h — a workforce task as given (TaskSpec) and as it ended (TaskOutcome).
//
// Purpose: "nothing is lost" (docs/architecture.md). Every task a workforce is given ends in exactly one
// terminal state — DONE, FAILED, SKIPPED or CANCELLED — with a reason and the attempts made.
//
// Contract:
//  - States move forward only: pending (dependencies not DONE yet) → ready (may start) →
//    running (an attempt in flight) ⇄ waiting_retry (between attempts) → one terminal state.
//    A task may also go straight from pending/ready/waiting_retry to a terminal state
//    (skipped because a dependency did not succeed, cancelled by a stop). Terminal is final.
//  - `reason` is "ok" for DONE; otherwise one line saying why (the error, the dependency that
//    did not succeed, the stop). `error` holds the last attempt's error when there was one.
//  - `workers` lists the worker of each attempt, in order; `attempts == workers.size()`.
//  - `started` is the first attempt's start; `ended` the terminal transition's time.
//
// Example:
//   std::vector<TaskSpec> tasks{{.id = "fetch"}, {.id = "summarize", .depends_on = {"fetch"}}};
//   for (const TaskOutcome& t : wf.outcomes())
//     std::cout << t.id << " " << to_string(t.state) << " (" << t.reason << ")\n";
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keel/core/enum_names.h"
#include "keel/core/error.h"
#include "keel/core/time.h"

namespace keel::workforce {

struct TaskSpec {
  std::string id;                       // unique, non-empty
  std::string input;                    // what the worker is asked to do
  std::optional<std::string> worker;    // a worker name; unset: the workforce assigns one
  std::vector<std::string> depends_on;  // task ids; the whole set must be acyclic
};

// X(enumerator, "name in events and reports"); keel/core/enum_names.h.
#define KEEL_TASK_STATE(X)                                                                                   \
  X(pending, "pending") X(ready, "ready") X(running, "running") X(waiting_retry, "waiting_retry") \
      X(done, "done") X(failed, "failed") X(skipped, "skipped") X(cancelled, "cancelled")
KEEL_ENUM_WITH_NAMES(TaskState, kTaskStateNames, KEEL_TASK_STATE);

std::string_view to_string(TaskState s) noexcept;
constexpr bool is_terminal(TaskState s) noexcept { return s >= TaskState::done; }

struct TaskOutcome {
  std::string id;
  int round = 0;  // LOOP mode: 0-based round
  TaskState state = TaskState::pending;
  std::string reason;
  std::optional<Error> error;
  int attempts = 0;
  std::vector<std::string> workers;
  std::string output;  // DONE: the accepted output
  std::optional<TimePoint> started, ended;
};

}  // namespace keel::workforce
