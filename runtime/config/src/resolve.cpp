// A runtime block over its preset, and back (config_file.h: resolve, block_of).
#include <algorithm>
#include <chrono>
#include <cmath>

#include "keel/config/config_file.h"
#include "keel/config/limits.h"

namespace keel::config {

namespace {

policy::Jitter to_policy(Jitter j) {
  switch (j) {
    case Jitter::none: return policy::Jitter::none;
    case Jitter::full: return policy::Jitter::full;
    case Jitter::equal: return policy::Jitter::equal;
    case Jitter::decorrelated: return policy::Jitter::decorrelated;
  }
  return policy::Jitter::full;
}

template <class T>
void set_if(T& target, const std::optional<T>& value) {
  if (value) target = *value;
}

void apply_retry(const RetrySettings& r, model::ModelManagerConfig& m) {
  if (r.max_attempts) m.retry.max_attempts = static_cast<int>(*r.max_attempts);
  set_if(m.retry.backoff.base, r.base_delay);
  set_if(m.retry.backoff.max, r.max_delay);
  set_if(m.retry.backoff.multiplier, r.multiplier);
  if (r.jitter) m.retry.backoff.jitter = to_policy(*r.jitter);
  if (r.retry_on) {
    m.retry.retryable = policy::RetryCodeSet{};
    for (ErrorCode c : *r.retry_on) m.retry.retryable.insert(c);
  }
  set_if(m.retry.honor_retry_after, r.honor_retry_after);
  set_if(m.retry.max_retry_after, r.max_retry_after);
  if (r.budget.is_disabled()) m.budget.reset();
  if (r.budget.is_set()) {
    m.budget = policy::RetryBudgetConfig{.max_tokens = r.budget.value->max_tokens,
                                         .token_ratio = r.budget.value->token_ratio};
  }
}

void apply_breaker(const Override<BreakerSettings>& o, model::ModelManagerConfig& m) {
  if (o.inherits()) return;
  if (o.is_disabled()) {
    m.breaker.reset();
    return;
  }
  // A breaker in the file on top of a preset without one starts from keel's defaults.
  policy::CircuitBreakerConfig b = m.breaker ? *m.breaker : *config::keel_default().manager.breaker;
  const BreakerSettings& s = *o.value;
  if (s.window) b.window = *s.window == BreakerWindow::count ? policy::WindowKind::count : policy::WindowKind::time;
  if (s.size) b.size = static_cast<std::uint32_t>(*s.size);
  set_if(b.duration, s.duration);
  set_if(b.failure_rate, s.failure_rate);
  if (s.min_calls) b.min_calls = static_cast<std::uint32_t>(*s.min_calls);
  set_if(b.open_for, s.open_for);
  if (s.half_open_calls) b.half_open_calls = static_cast<std::uint32_t>(*s.half_open_calls);
  if (s.slow_call) {
    b.slow_call_duration = s.slow_call->duration;
    b.slow_call_rate = s.slow_call->rate;
  }
  m.breaker = b;
}

// Format 1.1 client limits, one rate limiter and one bulkhead per provider (LimitedTransport).
void apply_limits(const RuntimeBlock& r, model::ClientLimits& limits) {
  if (r.rate_limiter.is_disabled()) limits.rate_limiter.reset();
  if (r.rate_limiter.is_set()) {
    const RateLimiterSettings& s = *r.rate_limiter.value;
    // The reader admits only rates whose per-minute value is whole.
    const auto per_minute = static_cast<std::int64_t>(std::llround(s.requests_per_second * 60.0));
    limits.rate_limiter = policy::RateLimiterConfig{.requests_per_minute = per_minute,
                                                    .request_burst = s.burst,
                                                    .on_limit = policy::OnLimit::delay,
                                                    .max_delay = s.max_wait};
  }
  if (r.bulkhead.is_disabled()) limits.bulkhead.reset();
  if (r.bulkhead.is_set()) {
    // No queue wait of its own: a queued request waits for a slot until its attempt's deadline.
    limits.bulkhead = policy::BulkheadConfig{.max_concurrent = static_cast<int>(r.bulkhead.value->max_concurrent),
                                             .max_queue = static_cast<int>(r.bulkhead.value->max_queue),
                                             .max_wait = Duration::max()};
  }
}

Jitter from_policy(policy::Jitter j) {
  switch (j) {
    case policy::Jitter::none: return Jitter::none;
    case policy::Jitter::full: return Jitter::full;
    case policy::Jitter::equal: return Jitter::equal;
    case policy::Jitter::decorrelated: return Jitter::decorrelated;
  }
  return Jitter::full;
}

// A file states durations up to limits::kMaxDuration (1000h); a longer one (camel_parity's
// uncapped backoff is Duration::max()) is written as that bound, which no run or wait reaches.
Duration in_file(Duration d) { return std::min(d, std::chrono::duration_cast<Duration>(limits::kMaxDuration)); }

Override<Duration> timeout_of(const std::optional<Duration>& v) {
  return v ? Override<Duration>::of(in_file(*v)) : Override<Duration>::disabled();
}

RetrySettings retry_of(const model::ModelManagerConfig& m) {
  RetrySettings r;
  r.max_attempts = m.retry.max_attempts;
  r.base_delay = in_file(m.retry.backoff.base);
  r.max_delay = in_file(m.retry.backoff.max);
  r.multiplier = m.retry.backoff.multiplier;
  r.jitter = from_policy(m.retry.backoff.jitter);
  r.retry_on.emplace();
  for (const ErrorCodeInfo& info : kErrorCodes) {
    if (m.retry.retryable.contains(info.code)) r.retry_on->push_back(info.code);
  }
  r.honor_retry_after = m.retry.honor_retry_after;
  r.max_retry_after = in_file(m.retry.max_retry_after);
  r.budget = m.budget ? Override<RetryBudget>::of({m.budget->max_tokens, m.budget->token_ratio})
                      : Override<RetryBudget>::disabled();
  return r;
}

Override<BreakerSettings> breaker_of(const std::optional<policy::CircuitBreakerConfig>& b) {
  if (!b) return Override<BreakerSettings>::disabled();
  BreakerSettings s;
  s.window = b->window == policy::WindowKind::count ? BreakerWindow::count : BreakerWindow::time;
  if (b->window == policy::WindowKind::count) {
    s.size = b->size;
  } else {
    s.duration = in_file(b->duration);
  }
  s.failure_rate = b->failure_rate;
  s.min_calls = b->min_calls;
  s.open_for = in_file(b->open_for);
  s.half_open_calls = b->half_open_calls;
  if (b->slow_call_duration) s.slow_call = SlowCall{in_file(*b->slow_call_duration), b->slow_call_rate};
  return Override<BreakerSettings>::of(s);
}

}  // namespace

Preset effective_preset(const RuntimeBlock& block, std::optional<Preset> preset_override) noexcept {
  if (preset_override) return *preset_override;
  return block.preset.value_or(Preset::keel_default);
}

RuntimeConfig resolve(const RuntimeBlock& r, std::optional<Preset> preset_override,
                      const std::vector<std::string>& providers) {
  RuntimeConfig c = preset_config(effective_preset(r, preset_override));
  model::ModelManagerConfig& m = c.manager;
  c.models = r.models ? *r.models : providers;
  if (r.scheduling) {
    m.scheduling = *r.scheduling == Scheduling::round_robin ? model::Scheduling::round_robin
                   : *r.scheduling == Scheduling::random    ? model::Scheduling::random
                                                            : model::Scheduling::always_first;
  }
  set_if(m.fallback_on_error, r.fallback_on_error);
  apply_retry(r.retry, m);
  apply_breaker(r.circuit_breaker, m);
  m.attempt_timeout = r.timeouts.attempt.over(m.attempt_timeout);
  m.call_timeout = r.timeouts.call.over(m.call_timeout);
  c.agent.step_timeout = r.timeouts.step.over(c.agent.step_timeout);
  c.tool_timeout = r.timeouts.tool.over(c.tool_timeout);
  m.stream.first_token = r.timeouts.first_token.over(m.stream.first_token);
  m.stream.idle = r.timeouts.idle.over(m.stream.idle);
  if (r.on_timeout) {
    m.stream.on_timeout = *r.on_timeout == OnTimeout::next_model ? model::StreamPolicy::OnTimeout::next_model
                                                                  : model::StreamPolicy::OnTimeout::retry;
  }
  if (r.stream_recovery) {
    m.stream.recovery = *r.stream_recovery == StreamRecovery::continue_ ? model::StreamPolicy::Recovery::continue_
                        : *r.stream_recovery == StreamRecovery::fail    ? model::StreamPolicy::Recovery::fail
                                                                        : model::StreamPolicy::Recovery::restart;
  }
  if (r.context.token_limit) {
    // A client-side token budget is counted before sending, whatever the preset (camel_parity
    // included: the file asks for that budget, and it has no other meaning).
    c.agent.context.token_limit = static_cast<int>(*r.context.token_limit);
    c.agent.context.count_before_send = true;
  }
  if (r.context.on_overflow) {
    c.agent.context.on_overflow = *r.context.on_overflow == OnOverflow::truncate ? agent::ContextConfig::truncate
                                  : *r.context.on_overflow == OnOverflow::fail   ? agent::ContextConfig::fail
                                                                                 : agent::ContextConfig::summarize;
  }
  if (r.hedging.is_disabled()) m.hedging.reset();
  if (r.hedging.is_set()) {
    m.hedging = policy::HedgingConfig{.delay = r.hedging.value->delay,
                                      .max_extra = static_cast<int>(r.hedging.value->max_extra)};
  }
  apply_limits(r, c.limits);
  return c;
}

RuntimeBlock block_of(const RuntimeConfig& c) {
  const model::ModelManagerConfig& m = c.manager;
  RuntimeBlock b;
  if (!c.models.empty()) b.models = c.models;
  b.scheduling = m.scheduling == model::Scheduling::round_robin ? Scheduling::round_robin
                 : m.scheduling == model::Scheduling::random    ? Scheduling::random
                                                                : Scheduling::always_first;
  b.fallback_on_error = m.fallback_on_error;
  b.retry = retry_of(m);
  b.circuit_breaker = breaker_of(m.breaker);
  b.timeouts.attempt = timeout_of(m.attempt_timeout);
  b.timeouts.call = timeout_of(m.call_timeout);
  b.timeouts.step = timeout_of(c.agent.step_timeout);
  b.timeouts.tool = timeout_of(c.tool_timeout);
  b.timeouts.first_token = timeout_of(m.stream.first_token);
  b.timeouts.idle = timeout_of(m.stream.idle);
  b.on_timeout = m.stream.on_timeout == model::StreamPolicy::OnTimeout::next_model ? OnTimeout::next_model : OnTimeout::retry;
  b.stream_recovery = m.stream.recovery == model::StreamPolicy::Recovery::continue_ ? StreamRecovery::continue_
                      : m.stream.recovery == model::StreamPolicy::Recovery::fail    ? StreamRecovery::fail
                                                                                    : StreamRecovery::restart;
  if (c.agent.context.token_limit) b.context.token_limit = *c.agent.context.token_limit;
  b.context.on_overflow = c.agent.context.on_overflow == agent::ContextConfig::truncate ? OnOverflow::truncate
                          : c.agent.context.on_overflow == agent::ContextConfig::fail   ? OnOverflow::fail
                                                                                        : OnOverflow::summarize;
  b.hedging = m.hedging ? Override<HedgingSettings>::of({in_file(m.hedging->delay), m.hedging->max_extra})
                        : Override<HedgingSettings>::disabled();
  if (const auto& rl = c.limits.rate_limiter; rl && rl->requests_per_minute) {
    b.rate_limiter = Override<RateLimiterSettings>::of({.requests_per_second = static_cast<double>(*rl->requests_per_minute) / 60.0,
                                                        .burst = rl->request_burst.value_or(*rl->requests_per_minute),
                                                        .max_wait = in_file(rl->max_delay)});
  } else {
    b.rate_limiter = Override<RateLimiterSettings>::disabled();
  }
  b.bulkhead = c.limits.bulkhead ? Override<BulkheadSettings>::of({c.limits.bulkhead->max_concurrent, c.limits.bulkhead->max_queue})
                                 : Override<BulkheadSettings>::disabled();
  return b;
}

}  // namespace keel::config
