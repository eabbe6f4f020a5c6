// keel's presets (presets.h): the one place each value is defined, with its reason. The
// reasoning is LLM traffic: few requests per second per model, each taking seconds, billed
// per token — not the high-rate RPC traffic resilience4j's and Polly's defaults were chosen
// for. scenarios/FORMAT.md ("keel_default preset") tabulates the same values for readers.
#include "keel/config/presets.h"

namespace keel::config {

using namespace std::chrono_literals;

namespace {

void keel_default_retry(model::ModelManagerConfig& m) {
  // 3 tries per model: the OpenAI SDKs' 2 retries; after 3 the next model is the better bet.
  m.retry.max_attempts = 3;
  // The OpenAI SDKs' schedule 0.5 s * 2^n capped at 8 s, with full jitter (not the SDKs'
  // 25 %): many agents share one provider and fail together; full jitter spreads the herd.
  m.retry.backoff = {.base = 500ms, .max = 8s, .multiplier = 2.0, .jitter = policy::Jitter::full};
  // The SDKs' rule in keel's codes: rate_limited, server_error, timeout, network,
  // malformed_response. Never quota/auth/invalid_request/context_overflow/circuit_open.
  m.retry.retryable = policy::RetryCodeSet::retryable_codes();
  // The provider knows when capacity returns; a longer wait than 60 s (the Node SDK's limit)
  // is not taken: the model counts as failed and the call falls back.
  m.retry.honor_retry_after = true;
  m.retry.max_retry_after = 60s;
  // gRPC A6 throttling, one bucket per model. gRPC's example has 10 tokens for one channel; a
  // model here is shared by every agent of the process, so a short burst is still retried
  // (up to 49 retries with no success), a storm is not.
  m.budget = policy::RetryBudgetConfig{.max_tokens = 100, .token_ratio = 0.1};
}

void keel_default_breaker(model::ModelManagerConfig& m) {
  m.breaker = policy::CircuitBreakerConfig{
      // At LLM rates resilience4j's 100-call window takes minutes to fill; 20 calls is about
      // one busy minute of one model (LiteLLM's per-deployment minute).
      .window = policy::WindowKind::count,
      .size = 20,
      // resilience4j's and LiteLLM's threshold; Polly's 0.1 trips on the ordinary 429/5xx
      // background of LLM APIs.
      .failure_rate = 0.5,
      // Half the window: a real outage opens it within seconds, 2 or 3 unlucky calls never do.
      .min_calls = 10,
      // A dead provider is probed with one request every 20 s, never more often and never
      // less: a recovery is only seen by a request that reaches the provider, so the probe
      // interval bounds how long traffic stays on the fallback after it (docs/recovery.md).
      // Polly's 5 s probes four times as often; resilience4j's 60 s and a growing open time
      // leave a recovered provider unused for minutes.
      .open_for = 20s,
      .open_growth = 1.0,
      // Each probe is a real, billed, seconds-long request: 3 successes are enough evidence.
      .half_open_calls = 3,
      // One probe in flight at a time: however many callers wait, a dead provider gets that
      // one request.
      .half_open_max_in_flight = 1,
      // A probe that never returns must not leave the breaker half-open forever.
      .max_half_open_wait = 2min};
  // A 429 is the provider asking for time (retry-after, budget and rate limits handle it), not
  // a sign it is broken: counting it would open the breaker on a burst and refuse the very
  // retries the retry-after schedules.
  m.breaker->counts_as_failure.set(ErrorCode::rate_limited, policy::BreakerCodeClass::non_failure);
}

}  // namespace

RuntimeConfig keel_default() {
  RuntimeConfig c;
  model::ModelManagerConfig& m = c.manager;
  // The chain is an order of preference; the others are fallbacks (CAMEL's default too).
  m.scheduling = model::Scheduling::always_first;
  // A model that spent its attempts should not fail the step while another can answer.
  m.fallback_on_error = true;
  keel_default_retry(m);
  keel_default_breaker(m);
  // The SDKs' 600 s is useless inside an agent loop; a non-streamed answer takes 1-20 s, so
  // 30 s lets a long answer finish and catches a hang early enough to retry or fall back.
  m.attempt_timeout = 30s;
  // Three 30 s attempts with their backoff (about 92 s) still leave room for a fallback.
  m.call_timeout = 120s;
  // Streams (scenarios/FORMAT.md, "keel_default and camel_parity for streams"): a reasoning
  // model may think for tens of seconds before its first token, so 60 s; once tokens flow
  // they come every few tens of ms (Anthropic pings while it pauses), so a 15 s gap is a
  // stall; a silent route (streamed or not) usually stays silent, so move on after one attempt timeout; every
  // provider accepts the whole request again, so a broken stream is asked again whole.
  m.stream.first_token = 60s;
  m.stream.idle = 15s;
  m.stream.on_timeout = model::StreamPolicy::OnTimeout::next_model;
  m.stream.recovery = model::StreamPolicy::Recovery::restart;
  // A hedge is a second billed request: opt in where tail latency matters more than cost.
  m.hedging.reset();
  // Context-window fallback stays on (the ModelManagerConfig default): a prompt too large
  // for a model skips it, a context_overflow answer moves to a larger window, never retried.
  m.context_window_fallback = true;
  // One agent step is a loop of model and tool calls; the source design had no limit, so a
  // hang anywhere hung the agent.
  c.agent.step_timeout = 300s;
  // Keep the history's meaning, but summarize before sending (at 90 % of the budget), never
  // after the provider refuses; a summarization gets 30 s, then truncation takes over.
  c.agent.context.on_overflow = agent::ContextConfig::summarize;
  c.agent.context.summarize_timeout = 30s;
  // Agent tools are mostly API calls; a long-running tool opts out or sets its own.
  c.tool_timeout = 30s;
  // No client-side rate limiter: provider quotas differ per account and model, and the
  // provider's own 429 + retry-after (honoured above) is exact where a guessed rate is not.
  c.limits.rate_limiter.reset();
  // No bulkhead: the attempt timeout, the breaker and the retry budget already bound what one
  // provider's trouble costs; a concurrency cap is a per-deployment decision (set it per file).
  c.limits.bulkhead.reset();
  return c;
}

// The source design as it is, defects included: each value is what CAMEL does, not advice.
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
  // The SDK's streams: no first-token or idle limit, a timeout retried like any error (only
  // rate_limited is, so in effect not), a broken stream fails the call.
  m.stream.first_token.reset();
  m.stream.idle.reset();
  m.stream.on_timeout = model::StreamPolicy::OnTimeout::retry;
  m.stream.recovery = model::StreamPolicy::Recovery::fail;
  m.hedging.reset();
  c.agent.step_timeout.reset();
  c.agent.context.on_overflow = agent::ContextConfig::summarize;
  c.agent.context.summarize_timeout.reset();
  // The source design never counts before sending: the over-window request goes out, the
  // provider refuses it, and only then is the history summarized and the request sent again.
  c.agent.context.count_before_send = false;
  m.skip_over_window = false;
  c.tool_timeout = 180s;
  c.limits = {};  // no client-side rate limiter, no bulkhead
  c.quota_mistaken_for_overflow = true;
  m.context_window_fallback = false;  // the source design summarizes; it has no such fallback
  return c;
}

RuntimeConfig preset_config(Preset preset) {
  return preset == Preset::camel_parity ? camel_parity() : keel_default();
}

}  // namespace keel::config
