// keel/core/event.h — structured events: the one stream every decision is emitted to.
//
// Purpose: "every decision is an event" (docs/architecture.md). Runtime code calls `emit(sink, now,
// "retry.scheduled", {{"attempt", 2}, {"delay", d}})`; the trace writer, metrics and log
// sinks consume the same Event. Emitting allocates nothing: attributes are a stack array of
// trivially copyable `Attr`s viewed through a span.
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

struct Event {
  TimePoint time;
  std::string_view kind;
  std::span<const Attr> attrs;

  // The first attribute named `key`, or nullptr.
  const AttrValue* find(std::string_view key) const noexcept {
    for (const Attr& a : attrs)
      if (a.key == key) return &a.value;
    return nullptr;
  }
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_event(const Event& e) = 0;
};

// Does nothing when `sink` is null, so "no tracing" costs one branch.
inline void emit(EventSink* sink, TimePoint t, std::string_view kind, std::initializer_list<Attr> attrs = {}) {
  if (sink) sink->on_event(Event{t, kind, std::span<const Attr>(attrs.begin(), attrs.size())});
}
inline void emit(EventSink* sink, TimePoint t, std::string_view kind, std::span<const Attr> attrs) {
  if (sink) sink->on_event(Event{t, kind, attrs});
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
    r.attrs.reserve(e.attrs.size());
    for (const Attr& a : e.attrs) {
      OwnedAttrValue v = std::visit(
          [](const auto& x) -> OwnedAttrValue {
            if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::string_view>)
              return std::string{x};
            else
              return x;
          },
          a.value);
      r.attrs.push_back(RecordedAttr{std::string{a.key}, std::move(v)});
    }
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
