// keel/workforce/workforce.h — Workforce: tasks with dependencies, run by workers, none lost.
//
// Purpose: the source design's Workforce (PARALLEL, PIPELINE, LOOP; FailureHandlingConfig;
// recovery strategies) as a deterministic state machine on a Scheduler: the same code runs on
// the simulator (reproducible from a seed) and in production.
//
// Contract:
//  - Construction checks everything (throws std::invalid_argument, message naming the
//    problem): >= 1 worker, unique non-null worker names, the task graph (task_graph.h: ids,
//    dependencies, cycles), every task's and fallback's worker exists, max_retries >= 0,
//    rounds >= 1, max_concurrency >= 1. Tasks without a worker are assigned round-robin, in
//    task order, over the workers not listed in `fallback_workers` (all, if every one is).
//  - `run()` (once; a second call throws std::logic_error) runs every task to a terminal state
//    and returns the counts. It never resolves before every task is terminal and every attempt
//    it started has returned. Cancelling the awaiting task is stop_immediately().
//  - Modes:
//    PARALLEL: a task becomes ready when all its dependencies are DONE; ready tasks start in
//      task-list order while fewer than `max_concurrency` tasks hold a slot (a task holds one
//      from its first attempt until it is terminal, backoff included).
//    PIPELINE: tasks run one at a time in the stable topological order of the list; each also
//      depends on its predecessor and receives its output (WorkItem::upstream).
//    LOOP: the list runs like PARALLEL, `rounds` times; round r+1 starts when every task of
//      round r is terminal, each task receiving its own previous-round output. If `loop_until`
//      returns true after round r, the tasks of later rounds end SKIPPED ("loop finished").
//  - A task is never started before its dependencies are DONE; when a task ends other than
//    DONE, its (transitive) dependents end SKIPPED at once with reason `dependency "<id>"
//    <state>` and are never run. Failures are handled per failure_handling.h.
//  - Attempts run `worker.run(item)` under with_timeout(task_timeout), then the validator.
//  - stop_gracefully(): nothing new starts (no first attempt, no retry, no later round):
//    not-started tasks and tasks between attempts end CANCELLED; in-flight attempts finish
//    (a failing one is not retried: FAILED). stop_immediately(): every non-terminal task ends
//    CANCELLED now and its in-flight attempt is cancelled (it returns within the current
//    instant; nothing waits for the worker). TERMINATE does stop_immediately after ending
//    the failed task FAILED. pause(): no attempt starts (first or retry) until resume();
//    in-flight attempts go on.
//  - Deterministic: decisions depend only on the order of events on the scheduler and on
//    `rng` (retry jitter). No clock, no threads.
//  - Events (kind: attrs): "workforce.start" {mode, tasks, workers}; "workforce.task" {task,
//    round, from, to, attempts, reason} on every state change; "workforce.attempt.start"
//    {task, round, attempt, worker}; "workforce.attempt.end" {task, round, attempt, worker,
//    ok, code, duration}; "workforce.recovery" {task, round, attempt, worker, code,
//    strategy, action, next_worker, delay, why} per failed attempt; "workforce.retry" {task,
//    round, attempt, worker, delay} per retry scheduled; "workforce.stop" {how, reason};
//    "workforce.pause", "workforce.resume"; "workforce.round" {round} when a LOOP round
//    starts; "workforce.end" {done, failed, skipped, cancelled}.
//  - Single-threaded. Workers must outlive the workforce, and the workforce the run() task.
//
// Example:
//   FunctionWorker fetch{"fetch", fetch_fn}, write{"write", write_fn};
//   Workforce wf{{&fetch, &write},
//                {{.id = "get", .worker = "fetch"}, {.id = "draft", .worker = "write", .depends_on = {"get"}}},
//                {.mode = Mode::parallel, .failure = {.max_retries = 2, .task_timeout = 30s}},
//                rng.substream("workforce"), &events};
//   spawn(sim, wf.run());  sim.run_until_idle();
//   for (const TaskOutcome& t : wf.outcomes()) assert(is_terminal(t.state));
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keel/core/cancel.h"
#include "keel/core/event.h"
#include "keel/core/rng.h"
#include "keel/core/scheduler.h"
#include "keel/core/task.h"
#include "keel/policy/backoff.h"
#include "keel/workforce/failure_handling.h"
#include "keel/workforce/task_spec.h"
#include "keel/workforce/worker.h"

namespace keel::workforce {

#define KEEL_WORKFORCE_RUN_MODE(X) X(parallel, "parallel") X(pipeline, "pipeline") X(loop, "loop")
KEEL_ENUM_WITH_NAMES(Mode, kModeNames, KEEL_WORKFORCE_RUN_MODE);  // keel/core/enum_names.h
std::string_view to_string(Mode m) noexcept;

struct WorkforceConfig {
  Mode mode = Mode::parallel;
  std::optional<std::size_t> max_concurrency;  // PARALLEL and LOOP; nullopt: unbounded
  int rounds = 1;                              // LOOP: the most rounds run
  // LOOP: after each round, with that round's outcomes; true ends the loop.
  std::function<bool(int round, std::span<const TaskOutcome> outcomes)> loop_until;
  FailureHandlingConfig failure;
};

struct WorkforceCounts {
  std::size_t total = 0, done = 0, failed = 0, skipped = 0, cancelled = 0;
};

struct WorkforceCounters {
  std::uint64_t attempts = 0;   // attempts started
  std::uint64_t retries = 0;    // same-worker retries scheduled
  std::uint64_t fallbacks = 0;  // moves to a fallback worker
  std::uint64_t reassigns = 0;  // moves to another capable worker
  std::uint64_t timeouts = 0;   // attempts ended by task_timeout
  std::uint64_t rejected = 0;   // outputs the validator rejected
};

class Workforce {
 public:
  Workforce(std::vector<Worker*> workers, std::vector<TaskSpec> tasks, WorkforceConfig config, Rng rng,
            EventSink* events = nullptr);
  Workforce(const Workforce&) = delete;
  Workforce& operator=(const Workforce&) = delete;
  ~Workforce();

  Task<WorkforceCounts> run();

  void stop_gracefully();
  void stop_immediately();
  void pause();
  void resume();

  bool paused() const noexcept { return paused_; }
  bool stopping() const noexcept { return stop_ != StopKind::none; }
  bool terminated() const noexcept { return stop_ == StopKind::terminate; }
  // run() has started and every task is terminal with no attempt still returning.
  bool finished() const noexcept { return started_ && complete(); }

  // One entry per task instance (LOOP: round-major, round 0 first), in task-list order.
  std::span<const TaskOutcome> outcomes() const noexcept { return outcomes_; }
  WorkforceCounts counts() const noexcept { return counts_; }
  const WorkforceCounters& counters() const noexcept { return counters_; }
  const WorkforceConfig& config() const noexcept { return config_; }

 private:
  enum class StopKind : std::uint8_t { none, graceful, immediate, terminate };
  struct Run;
  struct Launch;
  class Completion;

  Task<void> drive(std::size_t i, Duration delay);
  std::optional<Launch> begin_attempt(std::size_t i);
  std::optional<Duration> end_attempt(std::size_t i, Result<std::string> result);
  Status judge_attempt(std::size_t i, const Result<std::string>& result);
  std::optional<Duration> recover(std::size_t i, const Error& error, TimePoint now);
  std::optional<Duration> apply_recovery(std::size_t i, const RecoveryDecision& d, const Error& error, Duration delay,
                                         std::string_view worker_name, TimePoint now);

  void release_round(int round);
  void pump();
  void start_root(std::size_t i, Duration delay);
  void root_done(std::size_t i);
  void root_threw(std::size_t i, std::exception_ptr e);
  void set_state(std::size_t i, TaskState to);
  void finish(std::size_t i, TaskState to, std::string reason, std::optional<Error> error, bool cascade = true);
  void round_complete(int round);
  void stop(StopKind how, std::string reason);
  std::optional<std::size_t> next_fallback(const Run& r) const;
  std::optional<std::size_t> next_capable(const Run& r) const;
  bool complete() const noexcept { return counts_.total == terminal_ && roots_ == 0; }
  void maybe_wake();

  std::vector<Worker*> workers_;
  std::vector<TaskSpec> specs_;
  WorkforceConfig config_;
  Rng rng_;
  EventSink* events_;
  std::vector<std::size_t> fallback_;  // worker indices, in order

  std::vector<Run> runs_;
  std::vector<TaskOutcome> outcomes_;       // parallel to runs_
  std::vector<std::size_t> round_left_;     // non-terminal instances per round
  std::set<std::size_t> ready_;             // instance indices, lowest first
  std::set<std::size_t> deferred_;          // waiting for resume() to start an attempt
  WorkforceCounts counts_;
  WorkforceCounters counters_;
  std::size_t terminal_ = 0;
  std::size_t slots_ = 0;                   // tasks holding a concurrency slot
  std::size_t roots_ = 0;                   // attempt coroutines alive
  int released_round_ = 0;
  bool loop_over_ = false;
  bool started_ = false;
  bool paused_ = false;
  bool wake_posted_ = false;
  StopKind stop_ = StopKind::none;
  Scheduler* sched_ = nullptr;
  std::coroutine_handle<> waiter_;          // run(), while it waits for completion
};

}  // namespace keel::workforce
