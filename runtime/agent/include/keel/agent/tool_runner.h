// keel/agent/tool_runner.h — ToolRunner: runs one model tool call with everything a tool gets
// automatically: validation, a timeout, retries for idempotent tools only, a structured result.
//
// Purpose: the source design's toolkits "get a timeout automatically, opt-out per method", and
// return failures as structured results; tools with side effects are never retried (docs/architecture.md).
// ToolRunner is that policy in one place, so ChatAgent just awaits `run(call)`.
//
// Contract — `run(call)` always returns a ToolResult (tool_result.h); nothing escapes:
//  1. Unknown tool, or arguments that are not a JSON object → error invalid_request, the tool
//     is not executed (attempts 0). Empty argument text counts as `{}` (some providers send ""
//     for tools without parameters). The caller's token already cancelled → cancelled, not run.
//  2. Timeout per attempt: the tool's own (`ToolOptions::timeout`), else `default_timeout`; none
//     when the tool sets `no_timeout` (or both are nullopt). Each attempt runs under
//     with_timeout, so a hung tool releases the caller at its timeout (and at the caller's own
//     deadline or cancellation, whichever is first) and the tool's token is cancelled.
//  3. Retries (run(); run_once() never retries): only `idempotent` tools, up to
//     `max_attempts` executions in total, after a
//     tool_error, a timeout or another retryable code (is_retryable), with `retry_backoff`
//     (jitter drawn from the runner's Rng) between attempts. A retry is skipped when the
//     caller's deadline would pass during the backoff. Cancellation during the backoff ends
//     the call at once with `cancelled`.
//  4. A non-idempotent tool that timed out or was cancelled after it started: error
//     timeout/cancelled with `maybe_executed = true`; it is never re-run.
//  5. An exception thrown by a tool becomes error tool_error (message: the exception's what()).
//  6. `duration` is measured with the scheduler's now().
// Events: "tool.start" {tool, call_id, attempt} per execution; "tool.retry" {tool, call_id,
// attempt (the one that failed), code, delay}; one "tool.end" {tool, call_id, ok, code ("" when
// ok), attempts, duration, maybe_executed} per call (rejected calls included).
// Counters: calls, executions (attempts started), successes and failures (per call; rejected
// calls are failures too), rejected (invalid requests), timeouts (attempts that timed out),
// retries.
// Single-threaded: the runner belongs to one scheduler and must outlive its run() tasks; the
// toolkit and its tools must outlive them too (an abandoned attempt may still be unwinding).
//
// Example:
//   ToolRunner runner{toolkit, {.default_timeout = 10s}, rng.substream("tools"), &events};
//   ToolResult r = co_await runner.run(model::ToolCall{"call_1", "search", R"({"q":"keel"})"});
//   messages.push_back(model::Message::tool_result(r.call_id, r.tool, r.to_json()));
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "keel/agent/tool.h"
#include "keel/agent/tool_result.h"
#include "keel/agent/toolkit.h"
#include "keel/core/event.h"
#include "keel/core/rng.h"
#include "keel/core/task.h"
#include "keel/core/trace_ids.h"
#include "keel/model/message.h"
#include "keel/policy/backoff.h"
#include "keel/policy/retry.h"

namespace keel::agent {

struct ToolRunnerConfig {
  // Per-attempt timeout for tools that set none; nullopt = no default timeout.
  std::optional<Duration> default_timeout = std::chrono::seconds{30};
  // Delay between attempts of an idempotent tool.
  policy::BackoffConfig retry_backoff{.base = std::chrono::milliseconds{200},
                                      .max = std::chrono::seconds{5},
                                      .multiplier = 2.0,
                                      .jitter = policy::Jitter::full};
};

struct ToolRunnerCounters {
  std::uint64_t calls = 0;       // run() invocations
  std::uint64_t executions = 0;  // tool attempts started
  std::uint64_t successes = 0;   // calls that ended ok
  std::uint64_t failures = 0;    // calls that ended in an error (rejected ones included)
  std::uint64_t rejected = 0;    // invalid requests: unknown tool, bad arguments
  std::uint64_t timeouts = 0;    // attempts that timed out
  std::uint64_t retries = 0;     // re-executions of idempotent tools
};

class ToolRunner {
 public:
  ToolRunner(Toolkit& toolkit, ToolRunnerConfig config, Rng rng, EventSink* events = nullptr);
  ToolRunner(const ToolRunner&) = delete;
  ToolRunner& operator=(const ToolRunner&) = delete;

  // `ids`: the agent step the call belongs to, carried by the tool.* events (docs/events.md).
  Task<ToolResult> run(model::ToolCall call, TraceIds ids = {}) {
    return execute(std::move(call), ids, Retries::tool_policy);
  }
  // One execution at most, whatever the tool's idempotency: for a caller that owns the
  // retries of this piece of work itself (a workforce task: see workforce/failure_handling.h).
  Task<ToolResult> run_once(model::ToolCall call, TraceIds ids = {}) {
    return execute(std::move(call), ids, Retries::none);
  }

  Toolkit& toolkit() noexcept { return toolkit_; }
  const ToolRunnerConfig& config() const noexcept { return config_; }
  const ToolRunnerCounters& counters() const noexcept { return counters_; }
  // The per-attempt timeout `tool` gets from this runner (nullopt: none).
  std::optional<Duration> timeout_for(const Tool& tool) const noexcept;

 private:
  enum class Retries : bool { none, tool_policy };
  struct ToolPlan;  // one call's executions: the attempt loop's configuration (tool_runner.cpp)
  Task<ToolResult> execute(model::ToolCall call, TraceIds ids, Retries retries);
  // Sets r.duration, counts the outcome and emits "tool.end" (with the call's ids).
  void record_end(ToolResult& r, TimePoint started, TimePoint now, const TraceIds* ids);

  Toolkit& toolkit_;
  ToolRunnerConfig config_;
  Rng rng_;
  EventSink* events_;
  policy::Retry retry_;  // the runner's retry rules; each call sets its max_attempts
  ToolRunnerCounters counters_;
};

}  // namespace keel::agent
