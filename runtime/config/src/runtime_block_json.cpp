// A runtime block -> JSON (runtime_block.h): the reader's inverse, in the format's order.
#include "keel/config/detail/json_writer.h"
#include "keel/config/runtime_block.h"

namespace keel::config {

using namespace detail;
using Json = nlohmann::ordered_json;

namespace {

Json breaker_json(const BreakerSettings& b) {
  Json j = Json::object();
  put_opt(j, "window", b.window, [](BreakerWindow w) { return Json(to_string(w)); });
  put_opt(j, "size", b.size);
  put_dur(j, "duration", b.duration);
  put_opt(j, "failure_rate", b.failure_rate);
  put_opt(j, "min_calls", b.min_calls);
  put_dur(j, "open_for", b.open_for);
  put_opt(j, "half_open_calls", b.half_open_calls);
  if (b.slow_call) j["slow_call"] = Json{{"duration", dur(b.slow_call->duration)}, {"rate", b.slow_call->rate}};
  return j;
}

}  // namespace

Json to_json(const RuntimeBlock& rt) {
  Json j = Json::object();
  put_opt(j, "preset", rt.preset, [](Preset p) { return Json(to_string(p)); });
  put_opt(j, "models", rt.models);
  put_opt(j, "scheduling", rt.scheduling, [](Scheduling s) { return Json(to_string(s)); });
  put_opt(j, "fallback_on_error", rt.fallback_on_error);
  if (!rt.retry.empty()) {
    const RetrySettings& r = rt.retry;
    Json rj = Json::object();
    put_opt(rj, "max_attempts", r.max_attempts);
    put_dur(rj, "base_delay", r.base_delay);
    put_dur(rj, "max_delay", r.max_delay);
    put_opt(rj, "multiplier", r.multiplier);
    put_opt(rj, "jitter", r.jitter, [](Jitter x) { return Json(to_string(x)); });
    if (r.retry_on) {
      Json codes = Json::array();
      for (ErrorCode c : *r.retry_on) codes.push_back(to_string(c));
      rj["retry_on"] = std::move(codes);
    }
    put_opt(rj, "honor_retry_after", r.honor_retry_after);
    put_dur(rj, "max_retry_after", r.max_retry_after);
    put_override(rj, "budget", r.budget, false, [](const RetryBudget& b) {
      return Json{{"max_tokens", b.max_tokens}, {"token_ratio", b.token_ratio}};
    });
    j["retry"] = std::move(rj);
  }
  put_override(j, "circuit_breaker", rt.circuit_breaker, false, breaker_json);
  if (!rt.timeouts.empty()) {
    Json tj = Json::object();
    const auto one = [&](const char* key, const Override<Duration>& o) { put_override(tj, key, o, nullptr, dur); };
    one("attempt", rt.timeouts.attempt);
    one("call", rt.timeouts.call);
    one("step", rt.timeouts.step);
    one("tool", rt.timeouts.tool);
    one("first_token", rt.timeouts.first_token);
    one("idle", rt.timeouts.idle);
    j["timeouts"] = std::move(tj);
  }
  if (!rt.context.empty()) {
    Json cj = Json::object();
    put_opt(cj, "token_limit", rt.context.token_limit);
    put_opt(cj, "on_overflow", rt.context.on_overflow, [](OnOverflow o) { return Json(to_string(o)); });
    j["context"] = std::move(cj);
  }
  put_override(j, "hedging", rt.hedging, false, [](const HedgingSettings& h) {
    return Json{{"delay", dur(h.delay)}, {"max_extra", h.max_extra}};
  });
  put_override(j, "rate_limiter", rt.rate_limiter, false, [](const RateLimiterSettings& r) {
    return Json{{"requests_per_second", r.requests_per_second}, {"burst", r.burst}, {"max_wait", dur(r.max_wait)}};
  });
  put_override(j, "bulkhead", rt.bulkhead, false, [](const BulkheadSettings& b) {
    return Json{{"max_concurrent", b.max_concurrent}, {"max_queue", b.max_queue}};
  });
  put_opt(j, "on_timeout", rt.on_timeout, [](OnTimeout o) { return Json(to_string(o)); });
  put_opt(j, "stream_recovery", rt.stream_recovery, [](StreamRecovery r) { return Json(to_string(r)); });
  return j;
}

}  // namespace keel::config
