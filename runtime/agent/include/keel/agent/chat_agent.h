// keel/agent/chat_agent.h — ChatAgent: a system message, a memory, and the tool-call loop.
//
// Purpose: the source design's ChatAgent (docs/architecture.md) without its defects: every step has a
// timeout that releases the caller on time even when a model or tool hangs; a stop request
// reaches in-flight work; the context is checked before every call (ContextManager); errors
// are classified values and every step ends in exactly one terminal state.
//
// Contract — `step(input)`:
//  - Fails fast, without touching memory: ErrorCode::cancelled when the agent is terminated
//    (stop() was called; reset() clears that), invalid_request while another step runs.
//  - Adds `input` as a user message, then up to `max_iterations` times: checks stop → fits the
//    context (ContextManager::fit; sets ChatRequest::prompt_tokens) → builds the request
//    (system + memory, the toolkit's specs) → calls the model. A context_overflow answer runs
//    ContextManager::recover (with the window the refusal stated) and retries the call once;
//    any other error ends the step with that error (quota_exhausted is not an overflow).
//    Every answered call is reported to ContextManager::on_answered (so a budget learned from
//    a refusal recovers). An answer without tool calls is the
//    final answer. Otherwise its tool calls run through the ToolRunner one after another, in
//    the order the model gave (so stop is checked before each, and side effects happen in the
//    order asked), each result appended as a tool message; then the loop goes on. With no
//    ToolRunner, every call gets an invalid_request ToolResult ("this agent has no tools").
//  - No final answer after max_iterations model answers: ErrorCode::invalid_request,
//    message "max_iterations (N) reached without a final answer". Tool calls asked for in the
//    last allowed answer are not run (no model would ever see their results).
//  - The whole step runs under with_timeout(step_timeout) (and the caller's deadline and
//    cancellation): a hung model or tool releases the caller exactly at the deadline with
//    ErrorCode::timeout, and the hung work is cancelled, never waited for.
//  - stop() marks the agent terminated and cancels the agent's stop CancelSource; a running
//    step ends at once (same virtual instant) with ErrorCode::cancelled and its in-flight model
//    or tool call is cancelled. reset() stops a running step too, clears memory back to the
//    system message, clears terminated and renews the stop source. Start the next step after
//    the stopped one has returned.
//  - Memory: a successful step leaves input, tool exchanges and answer in memory; a failed
//    step removes its input and everything after it (earlier history it summarized or
//    truncated stays so). keep_history = false clears the memory after every step.
//  - Work abandoned by a timeout or stop never touches the memory again.
//  - Events: "agent.step.start" {step}; exactly one "agent.step.end" {step, ok, code ("ok" or
//    the error code), iterations, duration} per step; "agent.model_call" {step, iteration, ok,
//    code, prompt_tokens, duration, retry} per model call (not summarizations);
//    "agent.tool_calls" {step, iteration, count} per answer with tool calls. `iterations` of a
//    failed step counts the loop iterations begun. They, the context manager's events, and
//    the model and tool calls of the step (through `ChatRequest::trace` and ToolRunner::run)
//    carry the step's ids (trace_ids.h): agent (config.id), step, and the step's latest model
//    call (numbered 1, 2, ... in the step, a summarization included).
//  - Single-threaded; one step at a time. The model, ToolRunner, counter and sink must outlive
//    the agent, and the agent its steps' work: work abandoned by a timeout or stop unwinds when
//    its pending model/tool call returns — in the same instant for calls that honour
//    cancellation, as the ChatModel and Tool contracts require.
//
// Example:
//   ChatAgent agent{manager, &runner, counter, &events, {.system_message = "Be terse.",
//                                                         .step_timeout = 30s}};
//   Result<StepResult> r = co_await agent.step("What is 2+2?");
//   if (r) print(r->answer.content); else log(r.error().describe());   // e.g. timeout
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "keel/agent/context_manager.h"
#include "keel/agent/memory.h"
#include "keel/agent/tool_result.h"
#include "keel/core/cancel.h"
#include "keel/core/event.h"
#include "keel/core/result.h"
#include "keel/core/task.h"
#include "keel/core/trace_ids.h"
#include "keel/model/chat_model.h"
#include "keel/model/message.h"
#include "keel/model/token_counter.h"

namespace keel::agent {

class ToolRunner;
// NOT keel_default when default-constructed (summarize timeout 60 s, keel_default 30 s):
struct ChatAgentConfig {  // start from keel::config::keel_default().agent (keel/config/presets.h)
  std::string system_message;
  int max_iterations = 10;  // model answers per step
  std::optional<Duration> step_timeout = std::chrono::seconds{300};
  ContextConfig context;
  bool keep_history = true;
  bool stream = false;  // stream every model request (model/stream.h; the ModelManager's stream policies)
  std::uint64_t id = 0;  // the agent's number in trace events (`agent`; 0 = none; docs/events.md)
};

struct StepResult {
  model::Message answer;                 // the final assistant message
  int iterations = 0;                    // loop iterations (model answers) in this step
  std::vector<ToolResult> tool_results;  // every tool call of the step, in order
  model::Usage usage;                    // model calls plus summarizations
};

struct ChatAgentCounters {
  std::uint64_t steps = 0;
  std::uint64_t steps_ok = 0;
  std::uint64_t steps_failed = 0;
  std::uint64_t model_calls = 0;
  std::uint64_t tool_calls = 0;
};

class ChatAgent {
 public:
  // `tools` and `events` may be null. Throws std::invalid_argument for max_iterations < 1, a
  // negative step_timeout, or an invalid context config.
  ChatAgent(model::ChatModel& model, ToolRunner* tools, const model::TokenCounter& counter,
            EventSink* events = nullptr, ChatAgentConfig config = {});
  ChatAgent(const ChatAgent&) = delete;
  ChatAgent& operator=(const ChatAgent&) = delete;
  ~ChatAgent();

  Task<Result<StepResult>> step(std::string input);

  void stop();
  bool terminated() const noexcept { return terminated_; }
  void reset();
  bool running() const noexcept { return running_; }

  const Memory& memory() const noexcept { return memory_; }
  const ContextManager& context() const noexcept { return context_; }
  const ChatAgentConfig& config() const noexcept { return config_; }
  const ChatAgentCounters& counters() const noexcept { return counters_; }

 private:
  // What a step's work checks to know whether it still owns the memory.
  struct StepGuard {
    CancelToken token;       // the work's own token (cancelled when it is abandoned)
    std::uint64_t epoch = 0; // reset() moves the agent to a new epoch
  };
  bool interrupted(const StepGuard& g) const noexcept;

  Task<Result<StepResult>> run_step(std::string input, std::uint64_t step, int& iterations);
  Task<Result<StepResult>> loop(std::uint64_t step, std::uint64_t epoch);
  // After a context_overflow answer to a request of `sent_tokens`: shrink the memory and send
  // once more (the step's usage grows by the summarization's).
  Task<Result<model::ChatResponse>> resend_after_overflow(StepGuard guard, std::uint64_t step, int iteration,
                                                          model::Usage& usage, int sent_tokens, Error overflow);
  // The agent.model_call event of one request sent at `sent` (`retry`: after an overflow).
  void note_model_call(const Result<model::ChatResponse>& answer, std::uint64_t step, int iteration, int prompt_tokens,
                       TimePoint sent, TimePoint now, bool retry);
  static ToolResult no_tools(model::ToolCall call);  // the answer to a call when tools_ is null
  model::ChatRequest build_request(int prompt_tokens) const;

  model::ChatModel& model_;
  ToolRunner* tools_;
  EventSink* events_;
  ChatAgentConfig config_;
  // The running step's ids (agent, step, the last model call) on every event the agent and
  // its context manager emit, and passed with its model and tool calls (docs/events.md).
  TraceIds trace_;
  Memory memory_;
  ContextManager context_;
  std::unique_ptr<CancelSource> stop_;
  std::uint64_t epoch_ = 0;
  std::uint64_t steps_started_ = 0;
  int iterations_ = 0;  // of the running step (written only while the work owns the memory)
  bool terminated_ = false;
  bool running_ = false;
  ChatAgentCounters counters_;
};

}  // namespace keel::agent
