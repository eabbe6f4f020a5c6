// The recovery benchmark's floors (keel/scenarios/recovery_bench.h): what the configuration
// allows at best.
#include <algorithm>
#include <cmath>

#include "keel/scenarios/recovery_bench.h"
#include "keel/scenarios/resolve_runtime.h"

namespace keel::scenarios {
namespace {

// The smallest latency the model can draw (nullopt: exponential and lognormal draw near 0, so a
// floor built on them would say nothing).
std::optional<Duration> min_latency(const sim::LatencyModel& l) {
  if (l.kind == sim::LatencyModel::Kind::fixed || l.kind == sim::LatencyModel::Kind::uniform) return l.a;
  return std::nullopt;
}

// When a streamed answer's token `n` (0-based) is due: the first at `latency`, then one per
// token_interval (sim/mock_provider.h, "Streams").
Duration token_due(const Provider& target, Duration latency, std::int64_t n) {
  return latency + target.token_interval * n;
}

// The earliest a whole answer is in: a stream's last token (the first at `latency`); a
// non-streamed answer comes one interval later (latency + output_tokens x token_interval).
Duration whole_answer(const Provider& p, Duration latency) {
  return token_due(p, latency, std::max<std::int64_t>(p.output_tokens - 1, 0));
}

// How long the target takes to show the fault on one attempt (nullopt: it never does).
std::optional<Duration> failure_latency(const faults::FaultSpec& f, const Provider& target, Duration latency,
                                        const RuntimeConfig& cfg) {
  using sim::FaultKind;
  const std::int64_t after = f.after_tokens.value_or(target.output_tokens / 2);
  switch (f.kind) {
    // A cut shows when its next token was due; a stall only by the idle limit, or by the
    // close that ends a finite stall; without either it never shows.
    case FaultKind::stream_cut: return token_due(target, latency, after);
    case FaultKind::stream_stall: {
      const Duration silent_from = token_due(target, latency, std::max<std::int64_t>(after - 1, 0));
      if (cfg.manager.stream.idle) return silent_from + *cfg.manager.stream.idle;
      if (f.stall) return silent_from + *f.stall;
      return std::nullopt;
    }
    case FaultKind::server_error:
    case FaultKind::malformed_response: return latency;
    case FaultKind::network_reset: return latency / 2;
    case FaultKind::rate_limit:
    case FaultKind::context_overflow:
    case FaultKind::quota_exhausted:
    case FaultKind::auth_error: return latency / 10;
    case FaultKind::hang: return cfg.manager.attempt_timeout;  // a silent route: only a timeout shows it
    case FaultKind::slow: {
      const Duration slowest = latency + (f.extra_latency ? f.extra_latency->kind == sim::LatencyModel::Kind::fixed
                                                                  ? f.extra_latency->a
                                                                  : Duration::max() / 4
                                                          : Duration{});
      if (cfg.manager.attempt_timeout && slowest > *cfg.manager.attempt_timeout) return cfg.manager.attempt_timeout;
      return std::nullopt;  // every answer arrives: nothing to detect
    }
    default: return latency;
  }
}

ErrorCode code_of(sim::FaultKind k, const RuntimeConfig& cfg) {
  using sim::FaultKind;
  switch (k) {
    case FaultKind::stream_stall: return cfg.manager.stream.idle ? ErrorCode::timeout : ErrorCode::network;
    case FaultKind::stream_cut: return ErrorCode::network;
    case FaultKind::rate_limit: return ErrorCode::rate_limited;
    case FaultKind::hang:
    case FaultKind::slow: return ErrorCode::timeout;
    case FaultKind::context_overflow: return ErrorCode::context_overflow;
    case FaultKind::quota_exhausted: return ErrorCode::quota_exhausted;
    case FaultKind::auth_error: return ErrorCode::auth;
    case FaultKind::network_reset: return ErrorCode::network;
    case FaultKind::malformed_response: return ErrorCode::malformed_response;
    default: return ErrorCode::server_error;
  }
}

// The smallest wait before retry n (1-based) the backoff and retry-after allow.
Duration min_backoff(const RuntimeConfig& cfg, const faults::FaultSpec& f, int n) {
  const policy::RetryConfig& r = cfg.manager.retry;
  Duration d{};
  if (r.backoff.jitter == policy::Jitter::none || r.backoff.jitter == policy::Jitter::equal) {
    const double c = static_cast<double>(r.backoff.base.count()) * std::pow(r.backoff.multiplier, n - 1);
    d = std::min(Duration{static_cast<std::int64_t>(std::min(c, 1e18))}, r.backoff.max);
    if (r.backoff.jitter == policy::Jitter::equal) d /= 2;
  }
  if (f.kind == sim::FaultKind::rate_limit && r.honor_retry_after && f.retry_after) d = std::max(d, *f.retry_after);
  return d;
}

// The runtime's silent-route rule (StreamPolicy::leaves_silent_route) applied to the fault: it
// leaves the model after its first attempt. A stall after some tokens is not silent.
bool leaves_after_one_attempt(const faults::FaultSpec& f, const Provider& target, const RuntimeConfig& cfg,
                              bool has_fallback) {
  const bool content_arrived =
      f.kind == sim::FaultKind::stream_stall && f.after_tokens.value_or(target.output_tokens / 2) > 0;
  return !content_arrived && cfg.manager.stream.leaves_silent_route(code_of(f.kind, cfg), has_fallback);
}

}  // namespace

// Detect: the earlier of one call's fallback (its attempts on the target all failed) and the
// breaker's opening (min_calls failures, the workload's arrivals giving one task per
// interval). Restore: the first task to leave (after its attempts, or refused by the opened
// breaker) is answered by the fallback; with a fault that spares some requests, an answer by
// the target itself. back_on_primary: one whole answer.
RecoveryFloors recovery_floors(const Scenario& s, const faults::FaultSpec& f, Preset preset) {
  const RuntimeConfig cfg = resolve_runtime(s, preset);
  RecoveryFloors out;
  const Provider* target = s.find_provider(f.target);
  const Provider* fallback = cfg.models.size() > 1 ? s.find_provider(cfg.models[1]) : nullptr;
  if (!target || !min_latency(target->latency)) return out;
  const Duration latency = *min_latency(target->latency);
  out.computed = true;
  out.back = whole_answer(*target, latency);
  const std::optional<Duration> e = failure_latency(f, *target, latency, cfg);
  if (!e) return out;
  // An overflow is never retried; without the context-window fallback nothing leaves the model.
  if (f.kind == sim::FaultKind::context_overflow && !cfg.manager.context_window_fallback) return out;
  // stream_recovery `fail` ends the call on a stream that broke mid-answer: no retry, no
  // fallback, so nothing ever leaves the model.
  const bool mid_stream = f.kind == sim::FaultKind::stream_cut || f.kind == sim::FaultKind::stream_stall;
  if (mid_stream && cfg.manager.stream.recovery == model::StreamPolicy::Recovery::fail) return out;
  const bool retried = cfg.manager.retry.retryable.contains(code_of(f.kind, cfg));
  const bool one_attempt = !retried || leaves_after_one_attempt(f, *target, cfg, fallback != nullptr);
  const int attempts = one_attempt ? 1 : std::max(cfg.manager.retry.max_attempts, 1);
  Duration one_call = *e * attempts;
  for (int n = 1; n < attempts; ++n) one_call += min_backoff(cfg, f, n);
  Duration detect = one_call;
  const auto* agents = std::get_if<AgentsWorkload>(&s.workload);
  if (cfg.manager.breaker && agents && agents->start.kind == Start::Kind::every &&
      cfg.manager.breaker->counts_as_failure[code_of(f.kind, cfg)] == policy::BreakerCodeClass::failure) {
    // Task i (arriving at i * every) records its j-th failure no earlier than i * every + j * e.
    const std::uint32_t needed = std::max<std::uint32_t>(1, cfg.manager.breaker->min_calls);
    std::vector<Duration> failures;
    for (std::uint32_t i = 0; i < needed; ++i)
      for (int j = 1; j <= attempts; ++j) failures.push_back(agents->start.every * i + *e * j);
    std::nth_element(failures.begin(), failures.begin() + (needed - 1), failures.end());
    detect = std::min(detect, failures[needed - 1]);
  }
  out.detect = detect;
  if (f.probability < 1.0) {
    out.restore = whole_answer(*target, latency);
  } else if (fallback && cfg.manager.fallback_on_error && min_latency(fallback->latency)) {
    // The first task to leave: the one that spent its attempts, or one refused by the breaker
    // once it opened; then the fallback's whole answer.
    out.restore = std::min(one_call, detect) + whole_answer(*fallback, *min_latency(fallback->latency));
  }
  return out;
}


}  // namespace keel::scenarios
