// keel/core/trace_ids.h — which agent, step, model call and attempt an event belongs to.
//
// Purpose: a user following a trace must be able to tell which agent step an event is part of,
// when many run at once (docs/events.md). The layers know different parts of the answer: the
// agent knows its id and step and counts its model calls, the model manager counts the attempts
// of a call, and policies (breaker, retry) know none of it. TraceIds carries the ids down (in a
// ChatRequest), and StampingSink appends them to events emitted by code that does not know them.
//
// Contract:
//  - An id of 0 means "none" and is not emitted. Ids are 1-based: agent (its number in the
//    run), step (the agent's step, 1 = its first), call (the model call within the step, in
//    order; a ModelManager used without an agent numbers its calls itself), attempt (the
//    attempt on the model being tried, as Retry counts it: 1 = the first on that model).
//  - StampingSink::on_event forwards the event to the inner sink with the current ids appended
//    as int64 attributes "agent", "step", "call", "attempt" — only those that are nonzero and
//    not already attributes of the event (an event's own attribute wins). No allocation for
//    events of up to kInline attributes.
//  - Single-threaded like every sink. The ids are whatever set() stored last: the owner sets
//    them right before the synchronous code whose events they describe.
//
// Example:
//   StampingSink stamp{&recording};
//   stamp.set({.agent = 2, .step = 5, .call = 1});
//   emit(stamp.sink(), now, ev::breaker_refused, {{key::target, "gpt"}});  // ... agent=2 step=5 call=1
#pragma once

#include <array>
#include <cstdint>
#include <new>
#include <type_traits>
#include <vector>

#include "keel/core/event.h"

namespace keel {

struct TraceIds {
  std::uint64_t agent = 0;
  std::uint64_t step = 0;
  std::uint64_t call = 0;
  std::uint64_t attempt = 0;
  friend bool operator==(const TraceIds&, const TraceIds&) = default;
};

static_assert(std::is_trivially_copyable_v<Attr> && std::is_trivially_destructible_v<Attr>);

class StampingSink final : public EventSink {
 public:
  static constexpr std::size_t kInline = 16;

  explicit StampingSink(EventSink* inner) noexcept : inner_(inner) {}
  // This sink, or null when there is no inner sink (so that emit() stays one branch).
  EventSink* sink() noexcept { return inner_ ? this : nullptr; }
  void set(const TraceIds& ids) noexcept { ids_ = ids; }
  // Stamp whatever `*live` holds at each event instead (null: back to set()'s ids). For an
  // owner whose ids change as it goes and that emits through others (an agent's context manager).
  void follow(const TraceIds* live) noexcept { live_ = live; }
  const TraceIds& ids() const noexcept { return live_ ? *live_ : ids_; }

  void on_event(const Event& e) override {
    const TraceIds& now = ids();
    const std::array<std::pair<std::string_view, std::uint64_t>, 4> ids = {
        {{"agent", now.agent}, {"step", now.step}, {"call", now.call}, {"attempt", now.attempt}}};
    if (e.attrs.size() + ids.size() > kInline) {
      std::vector<Attr> attrs(e.attrs.begin(), e.attrs.end());
      for (const auto& [key, id] : ids)
        if (id && !e.find(key)) attrs.emplace_back(key, static_cast<std::int64_t>(id));
      inner_->on_event(Event{e.time, e.kind, attrs});
      return;
    }
    alignas(Attr) unsigned char raw[sizeof(Attr) * kInline];  // Attr is trivially copyable and destructible
    Attr* buffer = reinterpret_cast<Attr*>(raw);
    std::size_t n = 0;
    for (const Attr& a : e.attrs) ::new (static_cast<void*>(buffer + n++)) Attr(a);
    for (const auto& [key, id] : ids)
      if (id && !e.find(key)) ::new (static_cast<void*>(buffer + n++)) Attr(key, static_cast<std::int64_t>(id));
    inner_->on_event(Event{e.time, e.kind, std::span<const Attr>(buffer, n)});
  }

 private:
  EventSink* inner_;
  TraceIds ids_;
  const TraceIds* live_ = nullptr;
};

}  // namespace keel
