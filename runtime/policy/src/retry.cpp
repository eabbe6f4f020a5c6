// keel/policy/retry.cpp — the pure retry decision, reason names, counters and events.
#include "keel/policy/retry.h"

#include <algorithm>

namespace keel::policy {

// GCC 12 workaround (frame_allocator.h).
KEEL_OUT_OF_LINE_COPY(kStartAttemptOutOfLine, &Retry::Run::start_attempt);
std::string_view to_string(RetryReason r) noexcept { return enum_name(kRetryReasonNames, r); }

RetryDecision decide(const RetryConfig& cfg, const Error& last_error, std::optional<bool> should_retry_hint,
                     int attempts_made, TimePoint now, Deadline overall, RetryBudget* budget, Rng& rng,
                     Backoff& backoff) noexcept {
  if (last_error.code == ErrorCode::cancelled) return {RetryReason::cancelled};

  bool retryable = cfg.retryable.contains(last_error.code);
  if (cfg.honor_should_retry && should_retry_hint) retryable = *should_retry_hint;
  if (!retryable) return {RetryReason::not_retryable};

  if (attempts_made >= std::max(cfg.max_attempts, 1)) return {RetryReason::attempts_exhausted};

  const bool use_hint = cfg.honor_retry_after && last_error.retry_after.has_value();
  if (use_hint && *last_error.retry_after > cfg.max_retry_after) return {RetryReason::retry_after_too_long};

  Duration delay = backoff.next(attempts_made, rng);
  if (use_hint) delay = std::max(delay, *last_error.retry_after);

  if (!overall.is_never() && saturating_add(now, delay) >= overall.time())
    return {RetryReason::deadline, delay};

  RetryDecision d{RetryReason::retry, delay};
  if (budget) {
    d.grant = budget->acquire();
    if (!d.grant) d.reason = RetryReason::budget_exhausted;
  }
  return d;
}

void Retry::record_outcome(const Error* e) noexcept {
  if (!budget_) return;
  if (!e) {
    budget_->on_success();
  } else if (cfg_.retryable.contains(e->code)) {
    budget_->on_failure();
  } else if (e->code != ErrorCode::cancelled) {
    budget_->on_success();  // the target answered; the request was at fault (gRPC A6)
  }
}

void Retry::emit_attempt(int attempt, TimePoint now, const TraceIds* ids) {
  emit(sink_, now, ev::retry_attempt, {{key::attempt, attempt}, {key::target, std::string_view{target_}}}, ids);
}

void Retry::note(const RetryDecision& d, int attempt, ErrorCode code, TimePoint now, RetryOutcome* outcome,
                 const TraceIds* ids) {
  ++counters_.decisions[static_cast<std::size_t>(d.reason)];
  if (outcome) {
    if (d.retry()) {
      outcome->backoff_total = saturating_add(outcome->backoff_total, d.delay);
    } else {
      outcome->stopped_by = d.reason;
    }
  }
  emit(sink_, now, ev::retry_decision,
       {{key::reason, to_string(d.reason)},
        {key::attempt, attempt},
        {key::delay, d.delay},
        {key::code, code},
        {key::target, std::string_view{target_}}},
       ids);
}

}  // namespace keel::policy
