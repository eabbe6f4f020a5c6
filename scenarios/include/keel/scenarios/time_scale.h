// keel/scenarios/time_scale.h — stretch or shrink a run's durations (live runs, `--time-scale`).
//
// Purpose: a live run at time scale F lasts F times the scenario's virtual time, so a one-hour
// scenario can run in seconds against `keel serve --time-scale F`. Everything the runtime
// waits for must shrink by the same F, or the run would mean something else.
//
// Contract:
//  - scaled(d, f): d * f rounded to the nanosecond, at least 1 ns for a positive d; zero and
//    Duration::max() stay as they are (max means "never"). f must be > 0.
//  - scale_durations(cfg, f) scales every duration of the runtime configuration: retry
//    backoff, max retry-after, attempt/call/step/summarize/tool timeouts, breaker windows,
//    slow-call duration, open durations and half-open wait, hedging delay, the rate limiter's
//    max wait; the rate limiter's rate becomes 1/f times as many requests per minute (rounded
//    to a whole number, at least 1). The runner scales the durations that live outside
//    RuntimeConfig the same way: the workforce's retry_delay (and its cap) and the tool
//    runner's retry backoff.
//  - ScaledFaultHook asks the scenario's plan in scenario time (now / f) and returns its
//    decision in run time (retry-after and extra latency times f).
//
// Example:
//   RuntimeConfig cfg = resolve_runtime(scenario, std::nullopt);
//   scale_durations(cfg, 0.01);          // a 30 s attempt timeout becomes 300 ms
#pragma once

#include "keel/policy/backoff.h"
#include "keel/scenarios/resolve_runtime.h"
#include "keel/sim/fault_hook.h"
#include "keel/sim/latency.h"

namespace keel::scenarios {

Duration scaled(Duration d, double f) noexcept;
sim::LatencyModel scaled(const sim::LatencyModel& m, double f) noexcept;
void scale_durations(RuntimeConfig& cfg, double f) noexcept;
// A backoff's base and cap scaled (multiplier and jitter unchanged): retry backoff, the
// workforce's retry_delay and the tool runner's retry backoff.
policy::BackoffConfig scaled(const policy::BackoffConfig& b, double f) noexcept;

class ScaledFaultHook final : public sim::FaultHook {
 public:
  ScaledFaultHook(sim::FaultHook& inner, double f) noexcept : inner_(inner), f_(f) {}
  std::optional<sim::InjectedFault> decide(std::string_view target, TimePoint now,
                                           std::uint64_t request_index) override;

 private:
  sim::FaultHook& inner_;
  double f_;
};

}  // namespace keel::scenarios
