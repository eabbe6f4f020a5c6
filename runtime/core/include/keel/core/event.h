// keel/core/event.h — structured events: the one stream every decision is emitted to.
//
// Purpose: "every decision is an event" (docs/architecture.md). Runtime code calls `emit(sink, now,
// "retry.scheduled", {{"attempt", 2}, {"delay", d}})`; the trace writer, metrics and log
// sinks consume the same Event. Emitting allocates nothing: attributes are a stack array of
// trivially copyable `Attr`s viewed through a span, and the ids of the agent step an event
// belongs to (trace_ids.h) are a pointer, `Event::ids`, not copied attributes.
//
// Contract:
//  - An Event and everything it views (kind, keys, string values) are valid only during
//    `on_event`. A sink that keeps data must copy it (see RecordingSink).
//  - `kind` is a dotted lowercase name ("breaker.opened"). Attribute order is emission
//    order. Keys "t" and "kind" are reserved by the trace format; do not use them.
//  - Attr conversions: signed integers -> int64, unsigned -> uint64, floating -> double,
//    bool -> bool, strings -> string_view (not copied), any std::chrono::duration -> int64
//    nanoseconds (key unchanged: name it "delay", not "delay_ms"), TimePoint -> int64 ns since
//    the scheduler epoch, ErrorCode -> its name string.
//  - An event's attributes, as every sink reads and writes them, are its own (`attrs`) followed
//    by its shown ids: each nonzero id of `*ids` (agent, step, call, attempt, in that order) that
//    is not already an own attribute, as an int64. `for_each_attr(e, f)` visits exactly those,
//    `attr_count(e)` counts them and `e.find(key)` looks among them; a sink never reads `attrs`
//    alone.
//  - Sinks are called synchronously on the emitting thread; they must not emit re-entrantly
//    into the same sink, and must not add/remove FanoutSink members from inside on_event.
//
// Example:
//   RecordingSink rec;
//   emit(&rec, sched.now(), "retry.scheduled", {{"attempt", 2}, {"delay", 250ms},
//                                               {"code", ErrorCode::rate_limited}});
//   EXPECT_EQ(rec.count("retry.scheduled"), 1u);
//   EXPECT_EQ(*rec.find("retry.scheduled")->get<std::string>("code"), "rate_limited");
#pragma once

#include <array>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/secret.h"
#include "keel/core/time.h"
#include "keel/core/trace_ids.h"
#include "keel/core/vocabulary.h"  // the named kinds and keys (ev::, key::)

namespace keel {

using AttrValue = std::variant<std::int64_t, std::uint64_t, double, bool, std::string_view>;

struct Attr {
  std::string_view key;
  AttrValue value;

  template <std::signed_integral I>
    requires(!std::same_as<I, char>)
  constexpr Attr(std::string_view k, I v) noexcept : key(k), value(std::in_place_index<0>, static_cast<std::int64_t>(v)) {}
  template <std::unsigned_integral U>
    requires(!std::same_as<U, bool> && !std::same_as<U, char>)
  constexpr Attr(std::string_view k, U v) noexcept : key(k), value(std::in_place_index<1>, static_cast<std::uint64_t>(v)) {}
  template <std::floating_point F>
  constexpr Attr(std::string_view k, F v) noexcept : key(k), value(std::in_place_index<2>, static_cast<double>(v)) {}
  constexpr Attr(std::string_view k, bool v) noexcept : key(k), value(std::in_place_index<3>, v) {}
  constexpr Attr(std::string_view k, const char* v) noexcept
      : key(k), value(std::in_place_index<4>, v ? std::string_view{v} : std::string_view{}) {}
  constexpr Attr(std::string_view k, std::string_view v) noexcept : key(k), value(std::in_place_index<4>, v) {}
  Attr(std::string_view k, const std::string& v) noexcept : key(k), value(std::in_place_index<4>, std::string_view{v}) {}
  template <class R, class P>
  constexpr Attr(std::string_view k, std::chrono::duration<R, P> d) noexcept
      : key(k), value(std::in_place_index<0>, static_cast<std::int64_t>(std::chrono::duration_cast<Duration>(d).count())) {}
  constexpr Attr(std::string_view k, TimePoint t) noexcept
      : key(k), value(std::in_place_index<0>, static_cast<std::int64_t>(t.time_since_epoch().count())) {}
  constexpr Attr(std::string_view k, ErrorCode c) noexcept : key(k), value(std::in_place_index<4>, to_string(c)) {}
  // A Secret never reaches a sink: its attribute value is the string "[redacted]".
  constexpr Attr(std::string_view k, const Secret&) noexcept : key(k), value(std::in_place_index<4>, Secret::kRedacted) {}
};

// The keys of the ids an event may show, in the order they are shown (TraceIds' fields), and
// id i of `ids` (the one named kTraceIdKeys[i]).
inline constexpr std::array<std::string_view, 4> kTraceIdKeys = {key::agent, key::step, key::call, key::attempt};
constexpr std::uint64_t trace_id(const TraceIds& ids, std::size_t i) noexcept {
  switch (i) {
    case 0: return ids.agent;
    case 1: return ids.step;
    case 2: return ids.call;
    default: return ids.attempt;
  }
}

struct Event {
  TimePoint time;
  std::string_view kind;
  std::span<const Attr> attrs;     // its own attributes
  const TraceIds* ids = nullptr;   // the agent step it belongs to (null: none); see the contract

  // Which ids are shown after the own attributes: bit i for kTraceIdKeys[i].
  unsigned shown_ids() const noexcept {
    if (!ids) return 0;
    unsigned shown = 0;
    for (std::size_t i = 0; i < kTraceIdKeys.size(); ++i) shown |= trace_id(*ids, i) ? 1u << i : 0u;
    for (const Attr& a : attrs) shown &= ~id_bit(a.key);  // one pass: an own attribute wins
    return shown;
  }
  // The first attribute named `key` (an own one, else a shown id), or nullopt.
  std::optional<AttrValue> find(std::string_view key) const noexcept {
    if (const AttrValue* v = own(key)) return *v;
    if (!ids) return std::nullopt;
    for (std::size_t i = 0; i < kTraceIdKeys.size(); ++i)
      if (const std::uint64_t id = trace_id(*ids, i); id && kTraceIdKeys[i] == key)
        return AttrValue{std::in_place_index<0>, static_cast<std::int64_t>(id)};
    return std::nullopt;
  }
  // find(), typed: a string attribute (empty when absent or not a string); an integer one,
  // signed or unsigned (nullopt when absent, not an integer or over int64); a boolean one
  // (false when absent or not a boolean).
  std::string_view text(std::string_view key) const noexcept {
    const std::optional<AttrValue> v = find(key);
    const auto* s = v ? std::get_if<std::string_view>(&*v) : nullptr;
    return s ? *s : std::string_view{};
  }
  std::optional<std::int64_t> integer(std::string_view key) const noexcept {
    const std::optional<AttrValue> v = find(key);
    if (!v) return std::nullopt;
    if (const auto* i = std::get_if<std::int64_t>(&*v)) return *i;
    const auto* u = std::get_if<std::uint64_t>(&*v);
    if (u && *u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return static_cast<std::int64_t>(*u);
    return std::nullopt;
  }
  bool flag(std::string_view key) const noexcept {
    const std::optional<AttrValue> v = find(key);
    const bool* b = v ? std::get_if<bool>(&*v) : nullptr;
    return b && *b;
  }

 private:
  // The bit of kTraceIdKeys that `k` is, or 0 (by length first: most keys are none of them; a
  // switch, not a loop over the keys: 0.5 % of a simulated hour's instructions).
  static unsigned id_bit(std::string_view k) noexcept {
    static_assert(kTraceIdKeys == std::array<std::string_view, 4>{key::agent, key::step, key::call, key::attempt});
    switch (k.size()) {
      case 4: return k == key::step ? 2u : k == key::call ? 4u : 0u;
      case 5: return k == key::agent ? 1u : 0u;
      case 7: return k == key::attempt ? 8u : 0u;
      default: return 0u;
    }
  }
  const AttrValue* own(std::string_view key) const noexcept {
    for (const Attr& a : attrs)
      if (a.key == key) return &a.value;
    return nullptr;
  }
};

// The event's attributes in order (see the contract): f(const Attr&) for each own one, then for
// each id in `shown` (e.shown_ids(), passed in by callers that also need the count).
template <class F>
void for_each_attr(const Event& e, unsigned shown, F&& f) {
  for (const Attr& a : e.attrs) f(a);
  for (std::size_t i = 0; i < kTraceIdKeys.size(); ++i)
    if ((shown >> i) & 1u) f(Attr{kTraceIdKeys[i], static_cast<std::int64_t>(trace_id(*e.ids, i))});
}
template <class F>
void for_each_attr(const Event& e, F&& f) {
  for_each_attr(e, e.shown_ids(), f);
}
inline std::size_t attr_count(const Event& e, unsigned shown) noexcept {
  // (Four bits added by hand: std::popcount is a library call without -mpopcnt.)
  return e.attrs.size() + (shown & 1u) + ((shown >> 1) & 1u) + ((shown >> 2) & 1u) + ((shown >> 3) & 1u);
}
inline std::size_t attr_count(const Event& e) noexcept { return attr_count(e, e.shown_ids()); }

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_event(const Event& e) = 0;
};

// Does nothing when `sink` is null, so "no tracing" costs one branch. `ids` (may be null) must
// stay valid during the call only.
inline void emit(EventSink* sink, TimePoint t, std::string_view kind, std::initializer_list<Attr> attrs = {},
                 const TraceIds* ids = nullptr) {
  if (sink) sink->on_event(Event{t, kind, std::span<const Attr>(attrs.begin(), attrs.size()), ids});
}
inline void emit(EventSink* sink, TimePoint t, std::string_view kind, std::span<const Attr> attrs,
                 const TraceIds* ids = nullptr) {
  if (sink) sink->on_event(Event{t, kind, attrs, ids});
}

// Forwards each event to every member, in the order they were added. Null members are ignored.
class FanoutSink final : public EventSink {
 public:
  FanoutSink() = default;
  FanoutSink(std::initializer_list<EventSink*> sinks) {
    for (EventSink* s : sinks) add(s);
  }
  void add(EventSink* s) {
    if (s) sinks_.push_back(s);
  }
  void remove(EventSink* s) { std::erase(sinks_, s); }
  std::size_t size() const noexcept { return sinks_.size(); }
  void on_event(const Event& e) override {
    for (EventSink* s : sinks_) s->on_event(e);
  }

 private:
  std::vector<EventSink*> sinks_;
};

// Counts events, in total and per kind (allocates only on the first event of a new kind).
class CountingSink final : public EventSink {
 public:
  void on_event(const Event& e) override {
    ++total_;
    auto it = by_kind_.find(e.kind);
    if (it == by_kind_.end()) it = by_kind_.emplace(std::string{e.kind}, 0).first;
    ++it->second;
  }
  std::uint64_t total() const noexcept { return total_; }
  std::uint64_t count(std::string_view kind) const {
    auto it = by_kind_.find(kind);
    return it == by_kind_.end() ? 0 : it->second;
  }
  // Per-kind counts, sorted by kind (deterministic order for reports).
  const std::map<std::string, std::uint64_t, std::less<>>& counts() const noexcept { return by_kind_; }

 private:
  std::uint64_t total_ = 0;
  std::map<std::string, std::uint64_t, std::less<>> by_kind_;
};

// An attribute value with owned string storage.
using OwnedAttrValue = std::variant<std::int64_t, std::uint64_t, double, bool, std::string>;

struct RecordedAttr {
  std::string key;
  OwnedAttrValue value;
};

struct RecordedEvent {
  TimePoint time;
  std::string kind;
  std::vector<RecordedAttr> attrs;

  const OwnedAttrValue* attr(std::string_view key) const noexcept {
    for (const RecordedAttr& a : attrs)
      if (a.key == key) return &a.value;
    return nullptr;
  }
  bool has(std::string_view key) const noexcept { return attr(key) != nullptr; }
  // The attribute as exactly type T (int64_t, uint64_t, double, bool, std::string), or nullptr.
  template <class T>
  const T* get(std::string_view key) const noexcept {
    const OwnedAttrValue* v = attr(key);
    return v ? std::get_if<T>(v) : nullptr;
  }
  // An integer attribute, signed or unsigned (if it fits int64); Durations are integers too.
  std::optional<std::int64_t> get_int(std::string_view key) const noexcept {
    if (const auto* i = get<std::int64_t>(key)) return *i;
    if (const auto* u = get<std::uint64_t>(key); u && *u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return static_cast<std::int64_t>(*u);
    return std::nullopt;
  }
};

// Test sink: copies every event into owned storage.
class RecordingSink final : public EventSink {
 public:
  void on_event(const Event& e) override {
    RecordedEvent& r = events_.emplace_back();
    r.time = e.time;
    r.kind = std::string{e.kind};
    const unsigned shown = e.shown_ids();
    r.attrs.reserve(attr_count(e, shown));
    for_each_attr(e, shown, [&r](const Attr& a) {
      OwnedAttrValue v = std::visit(
          [](const auto& x) -> OwnedAttrValue {
            if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::string_view>)
              return std::string{x};
            else
              return x;
          },
          a.value);
      r.attrs.push_back(RecordedAttr{std::string{a.key}, std::move(v)});
    });
  }

  const std::vector<RecordedEvent>& events() const noexcept { return events_; }
  std::size_t size() const noexcept { return events_.size(); }
  void clear() noexcept { events_.clear(); }
  // Every event's kind, in order.
  std::vector<std::string> kinds() const {
    std::vector<std::string> out;
    out.reserve(events_.size());
    for (const auto& e : events_) out.push_back(e.kind);
    return out;
  }
  std::size_t count(std::string_view kind) const noexcept {
    std::size_t n = 0;
    for (const auto& e : events_) n += e.kind == kind;
    return n;
  }
  // The first event of `kind`, or nullptr.
  const RecordedEvent* find(std::string_view kind) const noexcept {
    for (const auto& e : events_)
      if (e.kind == kind) return &e;
    return nullptr;
  }
  std::vector<const RecordedEvent*> find_all(std::string_view kind) const {
    std::vector<const RecordedEvent*> out;
    for (const auto& e : events_)
      if (e.kind == kind) out.push_back(&e);
    return out;
  }

 private:
  std::vector<RecordedEvent> events_;
};

}  // namespace keel
