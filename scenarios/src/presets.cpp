#include "keel/scenarios/presets.h"

namespace keel::scenarios {

using namespace std::chrono_literals;

namespace {

RuntimeConfig keel_default() {
  RuntimeConfig c;
  model::ModelManagerConfig& m = c.manager;
  m.scheduling = model::Scheduling::always_first;
  m.fallback_on_error = true;
  m.retry.max_attempts = 3;
  m.retry.backoff = {.base = 500ms, .max = 8s, .multiplier = 2.0, .jitter = policy::Jitter::full};
  m.retry.retryable = policy::RetryCodeSet::retryable_codes();
  m.retry.honor_retry_after = true;
  m.retry.max_retry_after = 60s;
  m.budget = policy::RetryBudgetConfig{.max_tokens = 100, .token_ratio = 0.1};
  m.breaker = policy::CircuitBreakerConfig{.window = policy::WindowKind::count,
                                           .size = 20,
                                           .failure_rate = 0.5,
                                           .min_calls = 10,
                                           .open_for = 20s,
                                           .open_growth = 1.0,
                                           .half_open_calls = 3,
                                           .half_open_max_in_flight = 1,
                                           .max_half_open_wait = 2min};
  // A dead provider is probed with one request every 20 s, never more often and never less:
  // a recovery is only seen by a request that reaches the provider, so the probe interval
  // bounds how long traffic stays on the fallback after it (docs/recovery.md). One probe in
  // flight at a time: however many callers wait, a dead provider gets that one request.
  // A 429 is the provider asking for time (retry-after, budget and rate limits handle it), not
  // a sign it is broken: counting it would open the breaker on a burst and refuse the very
  // retries the retry-after schedules.
  m.breaker->counts_as_failure.set(ErrorCode::rate_limited, policy::BreakerCodeClass::non_failure);
  m.attempt_timeout = 30s;
  m.call_timeout = 120s;
  m.hedging.reset();
  c.agent.step_timeout = 300s;
  c.agent.context.on_overflow = agent::ContextConfig::summarize;
  c.agent.context.summarize_timeout = 30s;
  c.tool_timeout = 30s;
  return c;
}

RuntimeConfig camel_parity() {
  RuntimeConfig c;
  model::ModelManagerConfig& m = c.manager;
  m.scheduling = model::Scheduling::always_first;
  m.fallback_on_error = true;
  m.retry.max_attempts = 3;
  m.retry.backoff = {.base = 1s, .max = Duration::max(), .multiplier = 2.0, .jitter = policy::Jitter::none};
  m.retry.retryable = policy::retry_on({ErrorCode::rate_limited});
  m.retry.honor_retry_after = false;
  m.retry.honor_should_retry = false;
  m.budget.reset();
  m.breaker.reset();
  m.attempt_timeout.reset();
  m.call_timeout.reset();
  m.hedging.reset();
  c.agent.step_timeout.reset();
  c.agent.context.on_overflow = agent::ContextConfig::summarize;
  c.agent.context.summarize_timeout.reset();
  // The source design never counts before sending: the over-window request goes out, the
  // provider refuses it, and only then is the history summarized and the request sent again.
  c.agent.context.count_before_send = false;
  m.skip_over_window = false;
  c.tool_timeout = 180s;
  c.quota_mistaken_for_overflow = true;
  m.context_window_fallback = false;  // the source design summarizes; it has no such fallback
  return c;
}

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
  policy::CircuitBreakerConfig b = m.breaker ? *m.breaker : *keel_default().manager.breaker;
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

}  // namespace

RuntimeConfig preset_config(Preset preset) {
  return preset == Preset::camel_parity ? camel_parity() : keel_default();
}

Preset effective_preset(const Scenario& s, std::optional<Preset> preset_override) noexcept {
  if (preset_override) return *preset_override;
  return s.runtime.preset.value_or(Preset::keel_default);
}

RuntimeConfig resolve_runtime(const Scenario& s, std::optional<Preset> preset_override) {
  RuntimeConfig c = preset_config(effective_preset(s, preset_override));
  const Runtime& r = s.runtime;
  model::ModelManagerConfig& m = c.manager;
  if (r.models) {
    c.models = *r.models;
  } else {
    for (const Provider& p : s.providers) c.models.push_back(p.name);
  }
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
  return c;
}

}  // namespace keel::scenarios
