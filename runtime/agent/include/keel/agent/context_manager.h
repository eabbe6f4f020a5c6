// keel/agent/context_manager.h — ContextManager: never send a prompt over the context budget.
//
// Purpose: the source design sent over-limit context to the model and only reacted to the
// provider's refusal. keel counts before every call (Memory keeps the counts) and shrinks the
// history first: summarize it through the model, or truncate the oldest messages, or fail —
// and runs the same flow when a provider still answers context_overflow (its window was smaller
// than we believed). `count_before_send = false` is the source design itself (camel_parity):
// nothing is counted before sending; only a refusal makes the manager act.
//
// Contract:
//  - budget() = min(token_limit (default: the model's max_context_window()), the model's
//    max_context_window(), any budget learned from a refusal still held). Prompt tokens are
//    Memory::tokens(): the messages only (tool specs and output tokens are not counted).
//  - fit(memory), before every model call, returns the prompt tokens of the memory as it then
//    stands — always <= budget() when count_before_send — or an Error:
//     * count_before_send false: nothing to do, whatever the size (the provider decides).
//     * tokens <= summarize_at * budget: nothing to do.
//     * over that threshold (summarize mode) or over the budget: one "context.overflow"
//       {tokens, budget, action, reactive} and then, by on_overflow:
//       summarize — one summarization request (below) and, if it failed, timed out or left the
//         prompt over budget (not merely over the threshold), truncation;
//       truncate — truncation only, and only when over the budget;
//       fail — ErrorCode::context_overflow when over the budget.
//    Truncation that cannot fit even [system, latest user input] gives context_overflow.
//  - recover(memory, rejected_tokens, stated), after a model call answered context_overflow for
//    a prompt of `rejected_tokens` (our count; `stated`: stated_in(the refusal)): the real
//    window is smaller, so a budget is learned, then the fit() flow runs against it (always
//    acting, in both modes; `fail` mode returns context_overflow). The caller retries its
//    request once. The learned budget is min(rejected_tokens - 1, W) where W is
//      * the window the provider stated in its refusal (Error::stated_context, the first in the
//        refusal's cause chain that has one), converted to our counter's tokens when it also stated its count P of the
//        prompt: floor(window * rejected_tokens / P) — its tokenizer is not ours;
//      * without a stated window: floor(rejected_tokens * summarize_at) (a guess with margin).
//  - Recovery of a learned budget: it is held for `forget_learned_after` answered model calls
//    (on_answered()) and then forgotten — budget() is the configured one again — so one false
//    refusal does not shrink the context for good. A window that really is smaller refuses
//    again and is learned again; each relearning doubles the hold (up to 64 x), so a truly
//    small window costs O(log calls) refusals. 0 = hold for the manager's lifetime.
//  - Summarization: one ChatModel::complete under with_timeout(summarize_timeout) (and the
//    caller's own deadline): messages = [system] + history except the latest user input +
//    one user message starting with "Summarize the conversation so far"; no tools;
//    max_output_tokens = summary_max_tokens; prompt_tokens counted and within budget (if the
//    history is too big, its oldest tool-call groups/messages are left out of the request, and
//    lost). On success the history becomes [user "Summary of the conversation so far:\n…",
//    latest user input]; the system message stays. It fails (and changes nothing) on a model
//    error, a timeout, an empty answer, or if the memory changed while waiting; a cancelled
//    caller gets ErrorCode::cancelled and nothing is changed.
//  - Truncation removes the oldest history messages first, never the system message nor the
//    latest user input, and a tool-call group (an assistant message with tool_calls and the
//    tool messages after it) only as a whole, so the request stays valid.
//  - Events: "context.overflow" {tokens, budget, action, reactive}; "context.learned"
//    {budget, rejected_tokens, stated_window (0: none), hold}; "context.forgotten" {budget}
//    (the configured budget applies again); "context.summarize" {before_tokens, after_tokens,
//    ok, code (failures)}; "context.truncate" {removed, before_tokens, after_tokens}.
//    With `trace` (the agent's step ids, trace_ids.h), every event carries them, and a
//    summarization is a model call of the step: it takes the step's next call number (in
//    `*trace`, before the request is sent with them). Counters below. Usage spent
//    summarizing is returned.
//  - quota_exhausted and every other error are not overflows: only the caller decides to call
//    recover(), on ErrorCode::context_overflow exactly.
//  - Tokens are counted with the Memory's TokenCounter. One scheduler; the model must outlive
//    the manager and its tasks, and a Memory the tasks working on it.
//
// Example:
//   ContextManager ctx{model, &events, {.token_limit = 8000}};
//   Result<ContextFit> fit = co_await ctx.fit(memory);
//   if (!fit) co_return fit.error();                   // context_overflow or cancelled
//   request.prompt_tokens = fit->prompt_tokens;        // <= ctx.budget()
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "keel/agent/memory.h"
#include "keel/core/event.h"
#include "keel/core/result.h"
#include "keel/core/task.h"
#include "keel/model/chat_model.h"

namespace keel::agent {

// NOT keel_default when default-constructed (summarize_timeout 60 s vs the preset's 30 s):
// production and CI start from keel::config::keel_default() (keel/config/presets.h).
struct ContextConfig {
  enum OnOverflow { summarize, truncate, fail };
  std::optional<int> token_limit;  // proactive budget; default: the model's max_context_window()
  OnOverflow on_overflow = summarize;
  double summarize_at = 0.9;       // summarize proactively above this fraction of the budget
  std::optional<Duration> summarize_timeout = std::chrono::seconds{60};
  int summary_max_tokens = 500;
  // false: the source design — send whatever the memory holds, act only on a refusal.
  bool count_before_send = true;
  // Answered model calls after which a learned budget is forgotten (doubling per relearning);
  // 0: never forgotten.
  int forget_learned_after = 20;
};

std::string_view to_string(ContextConfig::OnOverflow o) noexcept;

// The instruction that starts every summarization request's last (user) message.
inline constexpr std::string_view kSummarizeInstruction = "Summarize the conversation so far";
// The prefix of the user message that replaces a summarized history.
inline constexpr std::string_view kSummaryPrefix = "Summary of the conversation so far:\n";

struct ContextFit {
  int prompt_tokens = 0;  // Memory::tokens() after fitting: put it in ChatRequest::prompt_tokens
  model::Usage usage;     // spent on summarization requests
};

struct ContextCounters {
  std::uint64_t overflows = 0;           // "context.overflow" events (proactive and reactive)
  std::uint64_t reactive = 0;            // recover() calls: the model said context_overflow
  std::uint64_t summarizations = 0;      // summaries that replaced the history
  std::uint64_t summarize_failures = 0;  // failed, timed-out or unusable summarizations
  std::uint64_t truncations = 0;         // truncation passes that removed messages
  std::uint64_t failures = 0;            // context_overflow returned
  std::uint64_t forgotten = 0;           // learned budgets given up after their hold
};

class ContextManager {
 public:
  // Throws std::invalid_argument for a config out of range (token_limit < 1, summarize_at not
  // in (0, 1], summary_max_tokens < 1, a negative summarize_timeout or forget_learned_after).
  // `trace` (may be null) must outlive the manager; it may change between calls.
  ContextManager(model::ChatModel& model, EventSink* events = nullptr, ContextConfig config = {},
                 TraceIds* trace = nullptr);
  ContextManager(const ContextManager&) = delete;
  ContextManager& operator=(const ContextManager&) = delete;

  Task<Result<ContextFit>> fit(Memory& memory);
  // fit()'s answer when it has nothing to do (the memory is within budget and below the
  // summarize threshold), computed synchronously; nullopt when fit() must act.
  std::optional<ContextFit> fits_as_is(const Memory& memory) const noexcept;
  Task<Result<ContextFit>> recover(Memory& memory, int rejected_tokens,
                                   std::optional<StatedContext> stated = std::nullopt);
  // What a refusal stated about the window: the first error of its cause chain that says.
  static std::optional<StatedContext> stated_in(const Error& refusal) noexcept;
  // A model call was answered (not refused): counts towards forgetting a learned budget.
  void on_answered(TimePoint now) {
    if (learned_budget_ && config_.forget_learned_after > 0 && ++answered_since_learned_ >= hold_) forget(now);
  }

  // Truncates `memory` until it fits `budget` (as described above). Returns messages removed.
  int truncate(Memory& memory, int budget, TimePoint now);

  int budget() const noexcept;
  // The budget learned from the latest refusal while it is held (nullopt: none).
  std::optional<int> learned_budget() const noexcept { return learned_budget_; }
  // floor(summarize_at * budget()).
  int threshold() const noexcept;
  const ContextConfig& config() const noexcept { return config_; }
  const ContextCounters& counters() const noexcept { return counters_; }

 private:
  Task<Result<ContextFit>> shrink(Memory& memory, bool reactive);
  // fits_as_is()'s budget check, whatever count_before_send says.
  std::optional<ContextFit> within_budget(const Memory& memory) const noexcept;
  void learn(int rejected_tokens, const std::optional<StatedContext>& stated, TimePoint now);
  void forget(TimePoint now);
  Task<Result<model::Usage>> summarize(Memory& memory, int budget);
  Error overflow_error(int tokens, int budget);

  model::ChatModel& model_;
  EventSink* events_;
  ContextConfig config_;
  TraceIds* trace_;  // the step's ids (null: none)
  std::optional<int> learned_budget_;
  std::uint64_t answered_since_learned_ = 0;
  std::uint64_t hold_ = 0;       // answers the current learned budget is held for
  int relearned_ = 0;            // budgets learned after one was forgotten (hold doubling)
  ContextCounters counters_;
};

}  // namespace keel::agent
