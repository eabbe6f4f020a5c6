// keel/scenarios/timeline.h — a run's per-provider time series, for `keel report`.
//
// Purpose: the picture of a run (report_page.h) needs what happened over virtual time, per
// provider: requests, failures, breaker refusals, breaker state, latency of successes; and the
// scenario's fault windows. TimelineRecorder is an EventSink that collects exactly that from the
// runtime's events (docs/events.md) while the run goes; to_json() buckets it.
//
// Contract:
//  - Per provider (the scenario's providers, in file order): every `provider.request` counts
//    as a request at its time; every `provider.response` with ok=false as a failure at its
//    time (with its code); with ok=true its `latency` is a success latency at its time; every
//    `breaker.refused` is a refusal (the call never reached the provider); every
//    `breaker.state` a transition. Events for names not in the scenario are ignored.
//  - to_json(end) (the "timeline" member of the report data, format below): the span
//    [0, end] cut into at most kMaxBuckets equal buckets of a round width (1, 2 or 5 x 10^k ms);
//    per bucket: requests, failures, refused (counts), and over the successes answered in it
//    the latency p50 and max in ms (null when none). Breaker transitions and fault windows
//    exact, in ms. Deterministic: the same events give the same JSON.
//  - Memory: 16 bytes per request/response/refusal until to_json (one run of the simulator).
//
// Format ("timeline", version 1):
//   {"version": 1, "end_ms", "horizon_ms", "bucket_ms", "buckets",
//    "description": scenario description,
//    "providers": [{"name", "breaker": bool (the runtime has a breaker for it),
//                   "requests": [n], "failures": [n], "refused": [n],
//                   "latency_ok_p50_ms": [x|null], "latency_ok_max_ms": [x|null],
//                   "failures_by_code": {code: n},
//                   "breaker_transitions": [{"at_ms", "from", "to"}]}],
//    "faults": [{"index", "target", "kind", "from_ms", "until_ms"}]}
//
// Example:
//   TimelineRecorder timeline{scenario, /*breakers=*/true};
//   Result<RunReport> r = run_scenario(scenario, {.extra_sink = &timeline});
//   nlohmann::json t = timeline.to_json(r->virtual_end);
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "keel/core/event.h"
#include "keel/scenarios/scenario.h"

namespace keel::scenarios {

class TimelineRecorder final : public EventSink {
 public:
  static constexpr std::int64_t kMaxBuckets = 200;

  // `breakers`: whether the run's runtime has a circuit breaker per provider (drawn "closed"
  // until the first transition; without one the page says so).
  TimelineRecorder(const Scenario& scenario, bool breakers);

  void on_event(const Event& e) override;

  // The "timeline" member of the report data for the span [0, end] (end is raised to the last
  // event seen; at least 1 ms).
  nlohmann::json to_json(Duration end) const;

 private:
  enum class What : std::uint8_t { request, success, failure, refused };
  struct Sample {
    std::int64_t at_ns = 0;
    std::int64_t latency_ns = 0;  // successes only
    What what = What::request;
  };
  struct Transition {
    std::int64_t at_ns = 0;
    std::string from, to;
  };
  struct Series {
    std::string name;
    std::vector<Sample> samples;
    std::vector<Transition> transitions;
    std::map<std::string, std::int64_t, std::less<>> failures_by_code;
  };
  Series* series(std::string_view provider) noexcept;

  std::vector<Series> providers_;
  std::vector<Fault> faults_;
  Duration horizon_{};
  std::string description_;
  bool breakers_ = false;
  std::int64_t last_ns_ = 0;
};

// The round bucket width (1, 2 or 5 x 10^k ms, >= 1 ms) that cuts [0, end] into at most
// `max_buckets` buckets.
Duration timeline_bucket_width(Duration end, std::int64_t max_buckets = TimelineRecorder::kMaxBuckets);

}  // namespace keel::scenarios
