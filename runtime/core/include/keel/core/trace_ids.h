// keel/core/trace_ids.h — which agent, step, model call and attempt an event belongs to.
//
// Purpose: a user following a trace must be able to tell which agent step an event is part of,
// when many run at once (docs/events.md). The layers know different parts of the answer: the
// agent knows its id and step and numbers its model calls, the model manager counts the
// attempts on each model, and policies (retry, breaker, hedging) and providers know none of it.
// So the ids travel down as a value — in a ChatRequest (`request.trace`), a tool call, a
// policy's optional `const TraceIds*` argument — and an event points at them (`Event::ids`,
// event.h) instead of copying them into its attributes: every sink sees them through
// `for_each_attr`, after the event's own attributes.
//
// Contract:
//  - An id of 0 means "none" and is not shown. Ids are 1-based: agent (its number in the
//    run), step (the agent's step, 1 = its first), call (the step's model call, in order,
//    a summarization included; a ModelManager used without an agent numbers its calls
//    itself), attempt (the attempt on the model being tried, as Retry counts it: 1 = the first
//    on that model; 0 on the call's own events).
//  - Shown as int64 attributes "agent", "step", "call", "attempt", in that order, each only
//    when nonzero and not already an attribute of the event (the event's own attribute wins:
//    `retry.attempt`'s own `attempt`, a tool event's tool attempt).
//  - A plain value, trivially copyable: copy it where it must outlive the code that set it.
//
// Example:
//   TraceIds ids{.agent = 2, .step = 5, .call = 1};
//   emit(sink, now, ev::breaker_refused, {{key::target, "gpt"}}, &ids);  // ... agent=2 step=5 call=1
#pragma once

#include <cstdint>

namespace keel {

struct TraceIds {
  std::uint64_t agent = 0;
  std::uint64_t step = 0;
  std::uint64_t call = 0;
  std::uint64_t attempt = 0;
  friend bool operator==(const TraceIds&, const TraceIds&) = default;
};

}  // namespace keel
