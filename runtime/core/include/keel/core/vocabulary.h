// keel/core/vocabulary.h — every event kind and attribute key keel emits, as named constants.
//
// Purpose: events are read by code far from the code that emits them (the scenario report,
// the Chrome trace, the recovery meter, `keel call`'s recorder). Both sides name a kind or an
// attribute through one constant here, so renaming one is a compile error instead of a report
// that silently stops matching. docs/events.md documents each kind and its attributes;
// tests/scenarios/event_vocabulary_test.cpp checks that page, these tables and what the suite
// emits against each other.
//
// Contract:
//  - `ev::model_attempt` is the kind "model.attempt" (dots become underscores); `key::model`
//    the attribute key "model". Both are std::string_view constants.
//  - ev::kAll / key::kAll list every kind / key (compile-time counts ev::kCount, key::kCount);
//    names are non-empty and unique (static_assert). A new kind or key is added to the X-macro list below
//    and to docs/events.md.
//  - The ids of the agent step an event belongs to (agent, step, call, attempt; trace_ids.h)
//    are keys like any other, whether an event has them as its own attributes or shows
//    them from Event::ids.
//
// Example:
//   emit(sink, now, ev::model_attempt, {{key::model, name}});
//   if (e.kind == ev::model_attempt) seen.insert(std::string{e.text(key::model)});
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "keel/core/enum_names.h"  // detail::names_are_distinct

// X(identifier, "kind") for every event kind.
#define KEEL_EVENT_KINDS(X) \
  X(agent_model_call, "agent.model_call") \
  X(agent_step_end, "agent.step.end") \
  X(agent_step_start, "agent.step.start") \
  X(agent_tool_calls, "agent.tool_calls") \
  X(breaker_refused, "breaker.refused") \
  X(breaker_state, "breaker.state") \
  X(bulkhead_decision, "bulkhead.decision") \
  X(call_failed, "call.failed") \
  X(call_ok, "call.ok") \
  X(context_forgotten, "context.forgotten") \
  X(context_learned, "context.learned") \
  X(context_overflow, "context.overflow") \
  X(context_summarize, "context.summarize") \
  X(context_truncate, "context.truncate") \
  X(fallback_skipped, "fallback.skipped") \
  X(fallback_used, "fallback.used") \
  X(hedge_all_failed, "hedge.all_failed") \
  X(hedge_cancelled, "hedge.cancelled") \
  X(hedge_refused, "hedge.refused") \
  X(hedge_start, "hedge.start") \
  X(hedge_won, "hedge.won") \
  X(model_attempt, "model.attempt") \
  X(model_call_end, "model.call.end") \
  X(model_call_start, "model.call.start") \
  X(model_fallback, "model.fallback") \
  X(model_skip, "model.skip") \
  X(model_stream_answer, "model.stream.answer") \
  X(model_stream_timeout, "model.stream.timeout") \
  X(provider_request, "provider.request") \
  X(provider_response, "provider.response") \
  X(race_won, "race.won") \
  X(ratelimit_decision, "ratelimit.decision") \
  X(replica_cancelled, "replica.cancelled") \
  X(replica_start, "replica.start") \
  X(resource_cleanup_failed, "resource.cleanup_failed") \
  X(retry_attempt, "retry.attempt") \
  X(retry_decision, "retry.decision") \
  X(tool_end, "tool.end") \
  X(tool_request, "tool.request") \
  X(tool_response, "tool.response") \
  X(tool_retry, "tool.retry") \
  X(tool_start, "tool.start") \
  X(workforce_attempt_end, "workforce.attempt.end") \
  X(workforce_attempt_start, "workforce.attempt.start") \
  X(workforce_end, "workforce.end") \
  X(workforce_pause, "workforce.pause") \
  X(workforce_recovery, "workforce.recovery") \
  X(workforce_resume, "workforce.resume") \
  X(workforce_retry, "workforce.retry") \
  X(workforce_round, "workforce.round") \
  X(workforce_start, "workforce.start") \
  X(workforce_stop, "workforce.stop") \
  X(workforce_task, "workforce.task")

// X(key) for every attribute key (the identifier is the key).
#define KEEL_EVENT_KEYS(X) \
  X(action) \
  X(active) \
  X(after_tokens) \
  X(agent) \
  X(attempt) \
  X(attempts) \
  X(before_tokens) \
  X(budget) \
  X(call) \
  X(call_id) \
  X(cancelled) \
  X(code) \
  X(count) \
  X(delay) \
  X(done) \
  X(duration) \
  X(elapsed) \
  X(error) \
  X(failed) \
  X(fault) \
  X(from) \
  X(generation) \
  X(hangs) \
  X(hold) \
  X(how) \
  X(id) \
  X(index) \
  X(iteration) \
  X(iterations) \
  X(latency) \
  X(limit) \
  X(maybe_executed) \
  X(mode) \
  X(model) \
  X(models) \
  X(next_worker) \
  X(ok) \
  X(open_for) \
  X(prompt_tokens) \
  X(queued) \
  X(reactive) \
  X(reason) \
  X(rejected_tokens) \
  X(removed) \
  X(replica) \
  X(resource) \
  X(retry) \
  X(retry_after) \
  X(round) \
  X(scope) \
  X(skipped) \
  X(state) \
  X(stated_window) \
  X(status) \
  X(step) \
  X(strategy) \
  X(target) \
  X(task) \
  X(tasks) \
  X(to) \
  X(tokens) \
  X(tool) \
  X(trigger) \
  X(until) \
  X(value) \
  X(waited) \
  X(why) \
  X(window) \
  X(with) \
  X(worker) \
  X(workers)

namespace keel {

namespace ev {
#define KEEL_EVENT_KIND_CONSTANT(id, text) inline constexpr std::string_view id = text;
KEEL_EVENT_KINDS(KEEL_EVENT_KIND_CONSTANT)
#undef KEEL_EVENT_KIND_CONSTANT
#define KEEL_EVENT_KIND_ENTRY(id, text) id,
inline constexpr std::array kAll = {KEEL_EVENT_KINDS(KEEL_EVENT_KIND_ENTRY)};
#undef KEEL_EVENT_KIND_ENTRY
inline constexpr std::size_t kCount = kAll.size();
static_assert(detail::names_are_distinct(kAll), "two event kinds with one name");
}  // namespace ev

namespace key {
#define KEEL_EVENT_KEY_CONSTANT(id) inline constexpr std::string_view id = #id;
KEEL_EVENT_KEYS(KEEL_EVENT_KEY_CONSTANT)
#undef KEEL_EVENT_KEY_CONSTANT
#define KEEL_EVENT_KEY_ENTRY(id) id,
inline constexpr std::array kAll = {KEEL_EVENT_KEYS(KEEL_EVENT_KEY_ENTRY)};
#undef KEEL_EVENT_KEY_ENTRY
inline constexpr std::size_t kCount = kAll.size();
static_assert(detail::names_are_distinct(kAll), "two attribute keys with one name");
}  // namespace key

}  // namespace keel
