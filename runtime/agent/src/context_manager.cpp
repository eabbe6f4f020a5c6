#include "keel/agent/context_manager.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "keel/core/timeout.h"

namespace keel::agent {

namespace {

using model::Message;
using model::Role;

// A run of history messages removed or kept together: one message, or an assistant message
// with tool calls plus the tool messages that follow it.
struct Unit {
  std::size_t first = 0, last = 0;  // [first, last)
  int tokens = 0;
};

std::vector<Unit> units_of(const Memory& memory) {
  std::vector<Unit> out;
  const auto history = memory.history();
  for (std::size_t i = 0; i < history.size();) {
    std::size_t j = i + 1;
    if (history[i].role == Role::assistant && !history[i].tool_calls.empty())
      while (j < history.size() && history[j].role == Role::tool) ++j;
    Unit u{i, j, 0};
    for (std::size_t k = i; k < j; ++k) u.tokens += memory.tokens_at(k);
    out.push_back(u);
    i = j;
  }
  return out;
}

std::string instruction_text(int max_tokens) {
  std::string s{kSummarizeInstruction};
  s += " in at most " + std::to_string(max_tokens) +
       " tokens. Keep the facts, decisions, tool results and open questions needed to continue; "
       "the user's latest request follows separately.";
  return s;
}

}  // namespace

std::string_view to_string(ContextConfig::OnOverflow o) noexcept {
  switch (o) {
    case ContextConfig::summarize: return "summarize";
    case ContextConfig::truncate: return "truncate";
    case ContextConfig::fail: return "fail";
  }
  return "fail";
}

ContextManager::ContextManager(model::ChatModel& model, EventSink* events, ContextConfig config, TraceIds* trace)
    : model_(model), events_(events), config_(config), trace_(trace) {
  if (config_.token_limit && *config_.token_limit < 1)
    throw std::invalid_argument("ContextConfig: token_limit must be >= 1");
  if (!(config_.summarize_at > 0.0 && config_.summarize_at <= 1.0))
    throw std::invalid_argument("ContextConfig: summarize_at must be in (0, 1]");
  if (config_.summary_max_tokens < 1) throw std::invalid_argument("ContextConfig: summary_max_tokens must be >= 1");
  if (config_.forget_learned_after < 0) throw std::invalid_argument("ContextConfig: forget_learned_after must be >= 0");
  if (config_.summarize_timeout && *config_.summarize_timeout < Duration::zero())
    throw std::invalid_argument("ContextConfig: summarize_timeout must not be negative");
}

int ContextManager::budget() const noexcept {
  const int window = model_.max_context_window();
  int b = config_.token_limit ? std::min(*config_.token_limit, window) : window;
  if (learned_budget_) b = std::min(b, *learned_budget_);
  return b;
}

int ContextManager::threshold() const noexcept {
  return static_cast<int>(std::floor(config_.summarize_at * static_cast<double>(budget())));
}

Error ContextManager::overflow_error(int tokens, int budget) {
  ++counters_.failures;
  return Error(ErrorCode::context_overflow, "prompt of " + std::to_string(tokens) +
                                                " tokens does not fit the context budget of " +
                                                std::to_string(budget));
}

Task<Result<ContextFit>> ContextManager::fit(Memory& memory) { return shrink(memory, false); }

Task<Result<ContextFit>> ContextManager::recover(Memory& memory, int rejected_tokens,
                                                 std::optional<StatedContext> stated) {
  Scheduler& sched = co_await this_task::scheduler();
  ++counters_.reactive;
  learn(rejected_tokens, stated, sched.now());
  co_return co_await shrink(memory, true);
}

std::optional<StatedContext> ContextManager::stated_in(const Error& refusal) noexcept {
  for (const Error* e = &refusal; e; e = e->cause.get()) {
    if (e->stated_context) return e->stated_context;
  }
  return std::nullopt;
}

void ContextManager::learn(int rejected_tokens, const std::optional<StatedContext>& stated, TimePoint now) {
  const double rejected = static_cast<double>(rejected_tokens);
  double window = config_.summarize_at * rejected;  // no window stated: a guess with margin
  if (stated && stated->window > 0) {
    window = static_cast<double>(stated->window);
    // The provider's window is in its tokens: convert it with its own count of our prompt.
    if (stated->prompt_tokens > 0) window = window * rejected / static_cast<double>(stated->prompt_tokens);
  }
  const double capped = std::min(window, rejected - 1.0);
  learned_budget_ = std::max(0, static_cast<int>(std::floor(capped)));
  answered_since_learned_ = 0;
  constexpr int kMaxDoublings = 6;  // hold at most 64 x forget_learned_after
  hold_ = static_cast<std::uint64_t>(std::max(config_.forget_learned_after, 0)) << std::min(relearned_, kMaxDoublings);
  emit(events_, now, ev::context_learned,
       {{key::budget, *learned_budget_}, {key::rejected_tokens, rejected_tokens},
        {key::stated_window, stated ? stated->window : std::int64_t{0}}, {key::hold, hold_}},
       trace_);
}

void ContextManager::forget(TimePoint now) {
  learned_budget_.reset();
  ++relearned_;  // the next budget learned is held twice as long
  ++counters_.forgotten;
  emit(events_, now, ev::context_forgotten, {{key::budget, budget()}}, trace_);
}

std::optional<ContextFit> ContextManager::fits_as_is(const Memory& memory) const noexcept {
  if (!config_.count_before_send) {  // the source design: the provider decides
    ContextFit fit;
    fit.prompt_tokens = memory.tokens();
    return fit;
  }
  return within_budget(memory);
}

std::optional<ContextFit> ContextManager::within_budget(const Memory& memory) const noexcept {
  const int tokens = memory.tokens();
  const bool over_budget = tokens > budget();
  const bool wants_summary = config_.on_overflow == ContextConfig::summarize && tokens > threshold();
  if (over_budget || wants_summary) return std::nullopt;
  ContextFit fit;
  fit.prompt_tokens = tokens;
  return fit;
}

Task<Result<ContextFit>> ContextManager::shrink(Memory& memory, bool reactive) {
  Scheduler& sched = co_await this_task::scheduler();
  const CancelToken token = co_await this_task::cancel_token();
  if (std::optional<ContextFit> as_is = reactive ? within_budget(memory) : fits_as_is(memory)) co_return *as_is;
  ContextFit fit;
  const int limit = budget();
  int tokens = memory.tokens();

  ++counters_.overflows;
  emit(events_, sched.now(), ev::context_overflow,
       {{key::tokens, tokens}, {key::budget, limit}, {key::action, to_string(config_.on_overflow)}, {key::reactive, reactive}},
       trace_);
  if (config_.on_overflow == ContextConfig::fail) co_return overflow_error(tokens, limit);

  if (config_.on_overflow == ContextConfig::summarize) {
    Result<model::Usage> summary = co_await summarize(memory, limit);
    if (token.cancelled()) co_return Error(ErrorCode::cancelled, "cancelled while summarizing");
    if (summary) {
      fit.usage.prompt_tokens += summary->prompt_tokens;
      fit.usage.completion_tokens += summary->completion_tokens;
    }
    tokens = memory.tokens();
    if (tokens <= limit) {  // fits now (or was only over the proactive threshold)
      fit.prompt_tokens = tokens;
      co_return fit;
    }
  }

  truncate(memory, limit, sched.now());
  tokens = memory.tokens();
  if (tokens > limit) co_return overflow_error(tokens, limit);
  fit.prompt_tokens = tokens;
  co_return fit;
}

Task<Result<model::Usage>> ContextManager::summarize(Memory& memory, int limit) {
  Scheduler& sched = co_await this_task::scheduler();
  const CancelToken token = co_await this_task::cancel_token();
  const int before = memory.tokens();
  const std::uint64_t version = memory.version();
  const std::optional<std::size_t> keep = memory.last_index_of(Role::user);

  // Done with a failure: count it, say so, change nothing.
  const auto failed = [&](Error e) -> Error {
    ++counters_.summarize_failures;
    emit(events_, sched.now(), ev::context_summarize,
         {{key::before_tokens, before}, {key::after_tokens, memory.tokens()}, {key::ok, false}, {key::code, e.code}},
         trace_);
    return e;
  };

  // What to summarize: every unit but the latest user input; oldest left out if too big.
  Message instruction = Message::user(instruction_text(config_.summary_max_tokens));
  std::vector<Unit> units = units_of(memory);
  std::erase_if(units, [&](const Unit& u) { return keep && u.first == *keep; });
  if (units.empty()) co_return failed(Error(ErrorCode::invalid_request, "nothing to summarize"));
  int total = memory.request_overhead() + memory.system_tokens() + memory.counter().count(instruction);
  for (const Unit& u : units) total += u.tokens;
  std::size_t first = 0;
  while (first < units.size() && total > limit) total -= units[first++].tokens;
  if (first == units.size())
    co_return failed(Error(ErrorCode::context_overflow, "the summarization request does not fit the budget"));

  model::ChatRequest request;
  if (const Message* sys = memory.system()) request.messages.push_back(*sys);
  for (std::size_t u = first; u < units.size(); ++u)
    for (std::size_t i = units[u].first; i < units[u].last; ++i) request.messages.push_back(memory.at(i));
  request.messages.push_back(std::move(instruction));
  request.max_output_tokens = config_.summary_max_tokens;
  request.prompt_tokens = total;
  if (trace_) {  // a model call of the step
    ++trace_->call;
    request.trace = *trace_;
  }

  const Deadline deadline =
      config_.summarize_timeout ? Deadline::after(sched.now(), *config_.summarize_timeout) : Deadline::never();
  Result<model::ChatResponse> answer = co_await with_timeout(model_.complete(std::move(request)), deadline);

  if (token.cancelled()) co_return failed(Error(ErrorCode::cancelled, "cancelled while summarizing"));
  if (!answer) co_return failed(Error(answer.error().code, "summarization failed").caused_by(answer.error()));
  if (memory.version() != version)
    co_return failed(Error(ErrorCode::cancelled, "the history changed while summarizing"));
  if (answer->message.content.empty())
    co_return failed(Error(ErrorCode::malformed_response, "the summary is empty"));

  std::vector<Message> next;
  next.push_back(Message::user(std::string{kSummaryPrefix} + answer->message.content));
  if (keep) next.push_back(memory.at(*keep));
  memory.replace_history(std::move(next));
  ++counters_.summarizations;
  emit(events_, sched.now(), ev::context_summarize,
       {{key::before_tokens, before}, {key::after_tokens, memory.tokens()}, {key::ok, true}}, trace_);
  co_return answer->usage;
}

int ContextManager::truncate(Memory& memory, int limit, TimePoint now) {
  const int before = memory.tokens();
  if (before <= limit) return 0;
  const std::optional<std::size_t> keep = memory.last_index_of(Role::user);
  std::vector<std::size_t> removed;
  int tokens = before;
  for (const Unit& u : units_of(memory)) {
    if (tokens <= limit) break;
    if (keep && u.first == *keep) continue;
    tokens -= u.tokens;
    for (std::size_t i = u.first; i < u.last; ++i) removed.push_back(i);
  }
  if (removed.empty()) return 0;
  memory.erase_indices(removed);
  ++counters_.truncations;
  emit(events_, now, ev::context_truncate,
       {{key::removed, removed.size()}, {key::before_tokens, before}, {key::after_tokens, memory.tokens()}},
       trace_);
  return static_cast<int>(removed.size());
}

}  // namespace keel::agent
