#include "keel/policy/circuit_breaker.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace keel::policy {

// GCC 12 workaround (frame_allocator.h).
KEEL_OUT_OF_LINE_COPY(kOnResultOutOfLine,
                      static_cast<void (CircuitBreaker::*)(const BreakerPermit&, BreakerOutcome, Duration, TimePoint,
                                                           const TraceIds*)>(
                          &CircuitBreaker::on_result));

std::string_view to_string(BreakerState s) noexcept {
  switch (s) {
    case BreakerState::closed: return "closed";
    case BreakerState::open: return "open";
    case BreakerState::half_open: return "half_open";
    case BreakerState::isolated: return "isolated";
  }
  return "unknown";
}

std::string_view to_string(BreakerReason r) noexcept { return enum_name(kBreakerReasonNames, r); }

std::string_view to_string(BreakerCodeClass c) noexcept {
  switch (c) {
    case BreakerCodeClass::failure: return "failure";
    case BreakerCodeClass::non_failure: return "non_failure";
    case BreakerCodeClass::ignored: return "ignored";
  }
  return "unknown";
}

std::string_view to_string(BreakerPermit::Kind k) noexcept {
  switch (k) {
    case BreakerPermit::Kind::call: return "call";
    case BreakerPermit::Kind::probe: return "probe";
    case BreakerPermit::Kind::refused_open: return "refused_open";
    case BreakerPermit::Kind::refused_isolated: return "refused_isolated";
    case BreakerPermit::Kind::refused_half_open_full: return "refused_half_open_full";
  }
  return "unknown";
}

Error BreakerPermit::error() const {
  switch (kind_) {
    case Kind::refused_open:
      return Error{ErrorCode::circuit_open, "circuit breaker open"}.with_retry_after(retry_after_);
    case Kind::refused_isolated: return Error{ErrorCode::circuit_open, "circuit breaker isolated"};
    case Kind::refused_half_open_full:
      return Error{ErrorCode::circuit_open, "circuit breaker half-open: all probes in flight"};
    case Kind::call:
    case Kind::probe: break;
  }
  return Error{ErrorCode::internal, "BreakerPermit::error() on a granted permit"};
}

namespace {

SlidingWindow make_window(const CircuitBreakerConfig& c) {
  if (c.window == WindowKind::count) return SlidingWindow::count_based(c.size);
  return SlidingWindow::time_based(c.duration, c.bucket_width);
}

void require(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(std::string{"CircuitBreakerConfig: "} + what);
}

CircuitBreakerConfig validated(CircuitBreakerConfig c) {
  require(c.failure_rate > 0.0 && c.failure_rate <= 1.0, "failure_rate must be in (0, 1]");
  require(c.slow_call_rate > 0.0 && c.slow_call_rate <= 1.0, "slow_call_rate must be in (0, 1]");
  require(!c.consecutive_failures || *c.consecutive_failures >= 1, "consecutive_failures must be >= 1");
  require(!c.slow_call_duration || *c.slow_call_duration >= Duration::zero(), "slow_call_duration must be >= 0");
  require(c.open_for >= Duration::zero(), "open_for must be >= 0");
  require(std::isfinite(c.open_growth) && c.open_growth >= 1.0, "open_growth must be finite and >= 1");
  require(c.max_open_for >= Duration::zero(), "max_open_for must be >= 0");
  require(c.half_open_calls >= 1, "half_open_calls must be >= 1");
  require(!c.half_open_success_threshold ||
              (*c.half_open_success_threshold >= 1 && *c.half_open_success_threshold <= c.half_open_calls),
          "half_open_success_threshold must be in [1, half_open_calls]");
  require(!c.half_open_max_in_flight ||
              (*c.half_open_max_in_flight >= 1 && *c.half_open_max_in_flight <= c.half_open_calls),
          "half_open_max_in_flight must be in [1, half_open_calls]");
  require(!c.max_half_open_wait || *c.max_half_open_wait > Duration::zero(), "max_half_open_wait must be > 0");
  return c;
}

}  // namespace

CircuitBreaker::CircuitBreaker(CircuitBreakerConfig config, EventSink* events)
    : config_(validated(std::move(config))),
      events_(events),
      window_(make_window(config_)),
      min_calls_(std::max<std::uint32_t>(
          1, config_.window == WindowKind::count ? std::min(config_.min_calls, config_.size) : config_.min_calls)),
      success_threshold_(config_.half_open_success_threshold.value_or(config_.half_open_calls)),
      slow_threshold_(config_.slow_call_duration.value_or(Duration::max())),
      slow_enabled_(config_.slow_call_duration.has_value()) {}

Duration CircuitBreaker::open_duration(std::uint32_t k) const noexcept {
  const Duration cap = config_.max_open_for;
  if (k <= 1 || config_.open_growth == 1.0) return std::min(config_.open_for, cap);
  const double x = static_cast<double>(config_.open_for.count()) *
                   std::pow(config_.open_growth, static_cast<double>(k - 1));
  if (!(x < static_cast<double>(cap.count()))) return cap;  // also catches inf
  return Duration{static_cast<std::int64_t>(x)};
}

void CircuitBreaker::settle(TimePoint now, const TraceIds* ids) {
  for (;;) {
    if (state_ == BreakerState::open && now >= open_until_) {
      transition(BreakerState::half_open, BreakerReason::open_elapsed, now, ids);
      continue;
    }
    if (state_ == BreakerState::half_open && probing_started_ && config_.max_half_open_wait) {
      const TimePoint deadline = saturating_add(first_probe_at_, *config_.max_half_open_wait);
      if (now >= deadline) {
        open(deadline, BreakerReason::half_open_timeout, now, ids);
        continue;
      }
    }
    return;
  }
}

BreakerPermit CircuitBreaker::acquire_slow(TimePoint now, bool may_probe, const TraceIds* ids) {
  settle(now, ids);
  BreakerPermit p;
  switch (state_) {
    case BreakerState::closed:
      ++counters_.permitted;
      return BreakerPermit{BreakerPermit::Kind::call, generation_, Duration::zero()};
    case BreakerState::half_open:
      // In flight: issued and not yet recorded (an ignored result already gave its slot back).
      if (may_probe && probes_issued_ < config_.half_open_calls &&
          probes_issued_ - probe_successes_ - probe_failures_ < config_.half_open_max_in_flight.value_or(UINT32_MAX)) {
        if (!probing_started_) {
          probing_started_ = true;
          first_probe_at_ = now;
        }
        ++probes_issued_;
        ++counters_.permitted;
        ++counters_.probes;
        return BreakerPermit{BreakerPermit::Kind::probe, generation_, Duration::zero()};
      }
      p = BreakerPermit{BreakerPermit::Kind::refused_half_open_full, generation_, Duration::zero()};
      break;
    case BreakerState::open:
      p = BreakerPermit{BreakerPermit::Kind::refused_open, generation_, open_until_ - now};
      break;
    case BreakerState::isolated:
      p = BreakerPermit{BreakerPermit::Kind::refused_isolated, generation_, Duration::zero()};
      break;
  }
  ++counters_.refused;
  if (events_) {
    if (p.kind_ == BreakerPermit::Kind::refused_open) {
      emit(events_, now, ev::breaker_refused,
           {{key::target, config_.name}, {key::state, to_string(state_)}, {key::retry_after, p.retry_after_}}, ids);
    } else {
      emit(events_, now, ev::breaker_refused, {{key::target, config_.name}, {key::state, to_string(state_)}}, ids);
    }
  }
  return p;
}

void CircuitBreaker::record_result(const BreakerPermit& permit, BreakerOutcome outcome, Duration latency,
                                   TimePoint now, const TraceIds* ids) {
  if (!permit.granted()) return;
  if (permit.generation_ != generation_ || state_ != BreakerState::closed) [[unlikely]] {
    settle(now, ids);
    if (permit.generation_ != generation_) {
      ++counters_.stale;
      return;
    }
  }
  // Same generation: state_ is the one the permit was issued in (closed or half_open).
  const BreakerCodeClass cls = outcome.ok ? BreakerCodeClass::non_failure : config_.counts_as_failure[outcome.code];
  if (cls == BreakerCodeClass::ignored) [[unlikely]] {
    ++counters_.ignored;
    if (state_ == BreakerState::half_open && probes_issued_ > 0) --probes_issued_;  // slot back
    return;
  }
  const bool failure = cls == BreakerCodeClass::failure;
  const bool slow = latency > slow_threshold_;
  counters_.successes += outcome.ok ? 1 : 0;
  counters_.failures += failure ? 1 : 0;
  counters_.benign_errors += (!outcome.ok && !failure) ? 1 : 0;
  counters_.slow_calls += slow ? 1 : 0;
  if (state_ == BreakerState::closed) [[likely]] {
    record_closed(failure, slow, now, ids);
  } else {
    record_probe(failure, slow, now, ids);
  }
}

void CircuitBreaker::record_closed(bool failure, bool slow, TimePoint now, const TraceIds* ids) {
  window_.record(failure, slow, now);
  consecutive_failures_ = failure ? consecutive_failures_ + 1 : 0;
  if (config_.consecutive_failures && consecutive_failures_ >= *config_.consecutive_failures) [[unlikely]] {
    open(now, BreakerReason::consecutive_failures, now, ids);
    return;
  }
  const WindowStats& w = window_.totals();
  if (w.calls < min_calls_) return;
  if (failure_rate_threshold_.reached(w.failures, w.calls, config_.failure_rate)) [[unlikely]] {
    open(now, BreakerReason::failure_rate, now, ids);
  } else if (slow_enabled_ && slow_rate_threshold_.reached(w.slow, w.calls, config_.slow_call_rate)) [[unlikely]] {
    open(now, BreakerReason::slow_call_rate, now, ids);
  }
}

void CircuitBreaker::RateThreshold::recompute(std::uint64_t total, double rate) noexcept {
  // total >= 1 and rate in (0, 1]: count == total always passes, so the threshold is in
  // [1, total]. Start from ceil(rate * total) and step to the exact boundary of the division.
  const auto passes = [&](std::uint64_t count) {
    return static_cast<double>(count) / static_cast<double>(total) >= rate;
  };
  const double guess = std::ceil(rate * static_cast<double>(total));
  std::uint64_t k = guess >= static_cast<double>(total) ? total : static_cast<std::uint64_t>(std::max(guess, 0.0));
  while (k < total && !passes(k)) ++k;
  while (k > 0 && passes(k - 1)) --k;
  calls = total;
  min_count = k;
}

void CircuitBreaker::record_probe(bool failure, bool slow, TimePoint now, const TraceIds* ids) {
  const std::uint32_t h = config_.half_open_calls;
  if (failure) {
    ++probe_failures_;
  } else {
    ++probe_successes_;
  }
  probe_slow_ += slow ? 1 : 0;
  const double slots = static_cast<double>(h);
  const bool rate_reached = static_cast<double>(probe_failures_) / slots >= config_.failure_rate;
  if (rate_reached || probe_failures_ > h - success_threshold_) {
    open(now, BreakerReason::probe_failed, now, ids);
  } else if (slow_enabled_ && static_cast<double>(probe_slow_) / slots >= config_.slow_call_rate) {
    open(now, BreakerReason::probe_slow, now, ids);
  } else if (probe_successes_ >= success_threshold_) {
    consecutive_opens_ = 0;
    transition(BreakerState::closed, BreakerReason::probes_succeeded, now, ids);
  }
}

void CircuitBreaker::open(TimePoint start, BreakerReason reason, TimePoint now, const TraceIds* ids) {
  if (consecutive_opens_ < UINT32_MAX) ++consecutive_opens_;
  open_for_ = open_duration(consecutive_opens_);
  open_until_ = saturating_add(start, open_for_);
  transition(BreakerState::open, reason, now, ids);
}

void CircuitBreaker::transition(BreakerState to, BreakerReason reason, TimePoint now, const TraceIds* ids) {
  const BreakerState from = state_;
  state_ = to;
  ++generation_;
  window_.clear();
  consecutive_failures_ = 0;
  probes_issued_ = probe_successes_ = probe_failures_ = probe_slow_ = 0;
  probing_started_ = false;
  ++counters_.by_reason[static_cast<std::size_t>(reason)];
  switch (to) {
    case BreakerState::closed: ++counters_.to_closed; break;
    case BreakerState::open: ++counters_.to_open; break;
    case BreakerState::half_open: ++counters_.to_half_open; break;
    case BreakerState::isolated: ++counters_.to_isolated; break;
  }
  if (!events_) return;
  if (to == BreakerState::open) {
    emit(events_, now, ev::breaker_state,
         {{key::target, config_.name}, {key::from, to_string(from)}, {key::to, to_string(to)}, {key::reason, to_string(reason)},
          {key::generation, generation_}, {key::open_for, open_for_}, {key::until, open_until_}},
         ids);
  } else {
    emit(events_, now, ev::breaker_state,
         {{key::target, config_.name}, {key::from, to_string(from)}, {key::to, to_string(to)}, {key::reason, to_string(reason)},
          {key::generation, generation_}},
         ids);
  }
}

void CircuitBreaker::isolate(TimePoint now) {
  settle(now, nullptr);
  if (state_ != BreakerState::isolated) transition(BreakerState::isolated, BreakerReason::manual_isolate, now, nullptr);
}

void CircuitBreaker::reset(TimePoint now) {
  settle(now, nullptr);
  consecutive_opens_ = 0;
  if (state_ != BreakerState::closed) {
    transition(BreakerState::closed, BreakerReason::manual_reset, now, nullptr);
  } else {
    ++generation_;
    window_.clear();
    consecutive_failures_ = 0;
  }
}

BreakerState CircuitBreaker::state(TimePoint now) {
  settle(now, nullptr);
  return state_;
}

Duration CircuitBreaker::remaining_open(TimePoint now) {
  settle(now, nullptr);
  if (state_ == BreakerState::open) return open_until_ - now;
  if (state_ == BreakerState::isolated) return Duration::max();
  return Duration::zero();
}

}  // namespace keel::policy
