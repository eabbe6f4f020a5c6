// Internal to keel_scenarios: the one event sink of a scenario run (run_world.h).
//
// Purpose: every event of a run goes into the trace, breaker openings and accepted streamed
// answers are noted for the report, then the recovery meter and the caller's extra sink see
// it. One virtual call per event where a FanoutSink made five.
//
// Contract: not thread-safe (a run is single-threaded); `trace`, `recovery` and `extra` must
// outlive the sink; `extra` may be null.
//
// Example:
//   RunSink events{trace, recovery, options.extra_sink};
//   MockProvider provider{sched, config, rng, &plan, &events};
//   ... events.first_open["openai"] is when openai's breaker first opened
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "keel/core/event.h"
#include "keel/core/trace_writer.h"
#include "keel/scenarios/recovery.h"

namespace keel::scenarios::detail {

class RunSink final : public EventSink {
 public:
  RunSink(TraceWriter& trace, RecoveryMeter& recovery, EventSink* extra) noexcept
      : trace_(trace), recovery_(recovery), extra_(extra) {}
  void on_event(const Event& e) override {
    trace_.on_event(e);  // TraceWriter and RecoveryMeter are final: direct calls
    if (e.kind == ev::breaker_state) note_breaker(e);
    if (e.kind == ev::model_stream_answer) note_stream_answer(e);
    recovery_.on_event(e);
    if (extra_) extra_->on_event(e);
  }
  // What only the event stream knows: provider -> when its breaker first opened.
  std::map<std::string, Duration, std::less<>> first_open;
  // Streamed answers the runtime accepted: (provider, response id, answer tokens received).
  struct StreamAnswer {
    std::string provider, id;
    std::int64_t tokens = 0;
  };
  std::vector<StreamAnswer> stream_answers;

 private:
  void note_breaker(const Event& e) {
    const std::string_view name = e.text(key::target);
    if (e.text(key::to) != "open" || name.empty()) return;
    first_open.try_emplace(std::string(name), e.time.time_since_epoch());
  }
  void note_stream_answer(const Event& e) {
    const std::optional<std::int64_t> tokens = e.integer(key::tokens);
    if (tokens) stream_answers.push_back({std::string(e.text(key::model)), std::string(e.text(key::id)), *tokens});
  }
  TraceWriter& trace_;
  RecoveryMeter& recovery_;
  EventSink* extra_;
};

}  // namespace keel::scenarios::detail
