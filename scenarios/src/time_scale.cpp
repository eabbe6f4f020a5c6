#include "keel/scenarios/time_scale.h"

#include <cmath>

namespace keel::scenarios {

Duration scaled(Duration d, double f) noexcept {
  if (d <= Duration::zero() || d == Duration::max()) return d;
  const double ns = std::round(static_cast<double>(d.count()) * f);
  if (ns >= static_cast<double>(Duration::max().count())) return Duration::max();
  return Duration{std::max<std::int64_t>(1, static_cast<std::int64_t>(ns))};
}

sim::LatencyModel scaled(const sim::LatencyModel& m, double f) noexcept {
  sim::LatencyModel out = m;
  out.a = scaled(m.a, f);
  out.b = scaled(m.b, f);
  return out;
}

policy::BackoffConfig scaled(const policy::BackoffConfig& b, double f) noexcept {
  policy::BackoffConfig out = b;
  out.base = scaled(b.base, f);
  out.max = scaled(b.max, f);
  return out;
}

namespace {

void scale(std::optional<Duration>& d, double f) noexcept {
  if (d) d = scaled(*d, f);
}

void scale(policy::RetryConfig& r, double f) noexcept {
  r.backoff = scaled(r.backoff, f);
  r.max_retry_after = scaled(r.max_retry_after, f);
  scale(r.attempt_timeout, f);
}

void scale(policy::CircuitBreakerConfig& b, double f) noexcept {
  b.duration = scaled(b.duration, f);
  b.bucket_width = scaled(b.bucket_width, f);
  scale(b.slow_call_duration, f);
  b.open_for = scaled(b.open_for, f);
  b.max_open_for = scaled(b.max_open_for, f);
  scale(b.max_half_open_wait, f);
}

}  // namespace

void scale_durations(RuntimeConfig& cfg, double f) noexcept {
  model::ModelManagerConfig& m = cfg.manager;
  scale(m.retry, f);
  scale(m.attempt_timeout, f);
  scale(m.call_timeout, f);
  scale(m.stream.first_token, f);
  scale(m.stream.idle, f);
  if (m.breaker) scale(*m.breaker, f);
  if (m.hedging) m.hedging->delay = scaled(m.hedging->delay, f);
  scale(cfg.agent.step_timeout, f);
  scale(cfg.agent.context.summarize_timeout, f);
  scale(cfg.tool_timeout, f);
  if (auto& rl = cfg.limits.rate_limiter) {
    // A rate per minute of scenario time is 1/f times that per minute of run time; the limiter
    // counts whole requests per minute, so the scaled rate is rounded (at least 1).
    rl->max_delay = scaled(rl->max_delay, f);
    if (rl->requests_per_minute) {
      rl->requests_per_minute = std::max<std::int64_t>(
          1, static_cast<std::int64_t>(std::llround(static_cast<double>(*rl->requests_per_minute) / f)));
    }
  }
}

std::optional<sim::InjectedFault> ScaledFaultHook::decide(std::string_view target, TimePoint now,
                                                          std::uint64_t request_index) {
  const TimePoint scenario_now{Duration{static_cast<std::int64_t>(
      std::round(static_cast<double>(now.time_since_epoch().count()) / f_))}};
  std::optional<sim::InjectedFault> fault = inner_.decide(target, scenario_now, request_index);
  if (!fault) return fault;
  if (fault->retry_after) fault->retry_after = scaled(*fault->retry_after, f_);
  if (fault->extra_latency) fault->extra_latency = scaled(*fault->extra_latency, f_);
  return fault;
}

}  // namespace keel::scenarios
