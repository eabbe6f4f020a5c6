// The `runtime` object: preset and overrides (detail/read_runtime.h).
#include "keel/config/detail/read_runtime.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "keel/config/duration.h"

namespace keel::config::detail {

// ---- runtime --------------------------------------------------------------------------------

// `false` (disabled) or an object read by `read`.
namespace {

template <class T, class Fn>
Override<T> read_switch(Ctx& ctx, const Json& v, const std::string& ptr, std::string_view what, Fn&& read) {
  if (v.is_boolean() && !v.get<bool>()) return Override<T>::disabled();
  if (!v.is_object()) {
    ctx.expected(ptr, "false or " + std::string(what), v);
    return {};
  }
  std::optional<T> t = read();
  return t ? Override<T>::of(std::move(*t)) : Override<T>{};
}

RetrySettings read_retry(Ctx& ctx, const Json& v, const std::string& ptr) {
  RetrySettings r;
  Obj o(ctx, v, ptr, {"max_attempts", "base_delay", "max_delay", "multiplier", "jitter", "retry_on", "honor_retry_after",
                      "max_retry_after", "budget"});
  if (!o.ok()) return r;
  r.max_attempts = o.opt("max_attempts", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1, limits::kMaxAttempts); });
  r.base_delay = o.opt("base_delay", [&](const Json& x, const std::string& at) { return read_duration(ctx, x, at); });
  r.max_delay = o.opt("max_delay", [&](const Json& x, const std::string& at) { return read_duration(ctx, x, at); });
  if (r.base_delay && r.max_delay && *r.max_delay < *r.base_delay) {
    ctx.expected(o.at("max_delay"), "a duration >= base_delay (" + q(format_duration(*r.base_delay)) + ")", *o.get("max_delay"));
    r.max_delay.reset();
  }
  r.multiplier = o.opt("multiplier", [&](const Json& x, const std::string& at) {
    return read_number(ctx, x, at, "a number in (0, 100]", positive_up_to(limits::kMaxMultiplier));
  });
  r.jitter = o.opt("jitter", [&](const Json& x, const std::string& at) { return read_enum<Jitter>(ctx, x, at, kJitterNames); });
  if (const Json* ro = o.get("retry_on")) {
    const std::string p = o.at("retry_on");
    if (const Json::array_t* arr = read_array(ctx, *ro, p, "an array of error codes")) {
      std::vector<ErrorCode> codes;
      for (std::size_t i = 0; i < arr->size(); ++i) {
        const Json& c = (*arr)[i];
        std::optional<ErrorCode> code;
        if (c.is_string()) code = error_code_from_string(c.get_ref<const std::string&>());
        if (!code) {
          std::vector<std::string_view> all;
          for (const auto& info : kErrorCodes) all.push_back(info.name);
          not_one_of(ctx, c, join(p, i), all);
        } else if (std::find(codes.begin(), codes.end(), *code) != codes.end()) {
          ctx.error(join(p, i), "duplicate error code " + found(c));
        } else {
          codes.push_back(*code);
        }
      }
      r.retry_on = std::move(codes);
    }
  }
  r.honor_retry_after = o.opt("honor_retry_after", [&](const Json& x, const std::string& at) { return read_bool(ctx, x, at); });
  r.max_retry_after = o.opt("max_retry_after", [&](const Json& x, const std::string& at) { return read_duration(ctx, x, at); });
  if (const Json* b = o.get("budget")) {
    const std::string p = o.at("budget");
    r.budget = read_switch<RetryBudget>(ctx, *b, p, "an object {\"max_tokens\": n, \"token_ratio\": r}", [&]() -> std::optional<RetryBudget> {
      Obj bo(ctx, *b, p, {"max_tokens", "token_ratio"});
      const Json* mt = bo.require("max_tokens");
      const Json* tr = bo.require("token_ratio");
      std::optional<double> m, t;
      if (mt) m = read_number(ctx, *mt, bo.at("max_tokens"), "a number in (0, 1000000]", positive_up_to(limits::kMaxBudgetTokens));
      if (tr) t = read_number(ctx, *tr, bo.at("token_ratio"), "a number in (0, 1000000]", positive_up_to(limits::kMaxBudgetRatio));
      if (!m || !t) return std::nullopt;
      return RetryBudget{*m, *t};
    });
  }
  return r;
}

std::optional<BreakerSettings> read_breaker(Ctx& ctx, const Json& v, const std::string& ptr) {
  Obj o(ctx, v, ptr, {"window", "size", "duration", "failure_rate", "min_calls", "open_for", "half_open_calls", "slow_call"});
  BreakerSettings b;
  b.window = o.opt("window", [&](const Json& x, const std::string& at) { return read_enum<BreakerWindow>(ctx, x, at, kBreakerWindowNames); });
  constexpr std::int64_t calls_max = limits::kMaxBreakerCalls;
  if (o.has("size") && b.window == BreakerWindow::time) {
    ctx.error(o.at("size"), "field \"size\" applies only to window \"count\"; a time window uses \"duration\"");
  } else {
    b.size = o.opt("size", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1, calls_max); });
  }
  if (o.has("duration") && b.window == BreakerWindow::count) {
    ctx.error(o.at("duration"), "field \"duration\" applies only to window \"time\"; a count window uses \"size\"");
  } else {
    b.duration = o.opt("duration", [&](const Json& x, const std::string& at) { return read_duration(ctx, x, at, DurMin::positive); });
  }
  b.failure_rate = o.opt("failure_rate", [&](const Json& x, const std::string& at) {
    return read_number(ctx, x, at, "a rate in (0, 1]", open_unit_interval);
  });
  b.min_calls = o.opt("min_calls", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1, calls_max); });
  b.open_for = o.opt("open_for", [&](const Json& x, const std::string& at) { return read_duration(ctx, x, at, DurMin::positive); });
  b.half_open_calls = o.opt("half_open_calls", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1, calls_max); });
  if (const Json* s = o.get("slow_call")) {
    Obj so(ctx, *s, o.at("slow_call"), {"duration", "rate"});
    const Json* d = so.require("duration");
    const Json* r = so.require("rate");
    std::optional<Duration> dd;
    std::optional<double> rr;
    if (d) dd = read_duration(ctx, *d, so.at("duration"), DurMin::positive);
    if (r) rr = read_number(ctx, *r, so.at("rate"), "a rate in (0, 1]", open_unit_interval);
    if (dd && rr) b.slow_call = SlowCall{*dd, *rr};
  }
  return b;
}

Timeouts read_timeouts(Ctx& ctx, const Json& v, const std::string& ptr) {
  Timeouts t;
  Obj o(ctx, v, ptr, {"attempt", "call", "step", "tool", "first_token", "idle"});
  auto one = [&](std::string_view key, Override<Duration>& out) {
    const Json* f = o.get(key);
    if (!f) return;
    if (f->is_null()) {
      out = Override<Duration>::disabled();
      return;
    }
    if (!f->is_string()) {
      ctx.expected(o.at(key), "a duration like \"30s\" or null (no timeout)", *f);
      return;
    }
    if (auto d = read_duration(ctx, *f, o.at(key), DurMin::positive)) out = Override<Duration>::of(*d);
  };
  one("attempt", t.attempt);
  one("call", t.call);
  one("step", t.step);
  one("tool", t.tool);
  one("first_token", t.first_token);
  one("idle", t.idle);
  return t;
}

ContextSettings read_context(Ctx& ctx, const Json& v, const std::string& ptr) {
  ContextSettings c;
  Obj o(ctx, v, ptr, {"token_limit", "on_overflow"});
  c.token_limit = o.opt("token_limit", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1, limits::kMaxTokenLimit); });
  c.on_overflow = o.opt("on_overflow", [&](const Json& x, const std::string& at) { return read_enum<OnOverflow>(ctx, x, at, kOnOverflowNames); });
  return c;
}

// Client-side limits (format 1.1); bounds in keel/config/limits.h.
bool whole_per_minute(double rps) {
  const double per_minute = rps * 60.0;
  return per_minute >= 1.0 && std::abs(per_minute - std::round(per_minute)) < 1e-9 * per_minute;
}

std::optional<RateLimiterSettings> read_rate_limiter(Ctx& ctx, const Json& v, const std::string& ptr) {
  Obj o(ctx, v, ptr, {"requests_per_second", "burst", "max_wait"});
  RateLimiterSettings r;
  const Json* rps = o.require("requests_per_second");
  std::optional<double> rate;
  if (rps) {
    rate = read_number(ctx, *rps, o.at("requests_per_second"),
                       "a rate in requests per second, > 0 and <= 1000000, whose per-minute rate (x 60) is a whole number",
                       [](double x) { return x > 0 && x <= limits::kMaxRequestsPerSecond && whole_per_minute(x); });
  }
  auto burst = o.opt("burst", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1, limits::kMaxBurst); });
  auto wait = o.opt("max_wait", [&](const Json& x, const std::string& at) { return read_duration(ctx, x, at); });
  if (!rate || (o.has("burst") && !burst) || (o.has("max_wait") && !wait)) return std::nullopt;
  r.requests_per_second = *rate;
  put(r.burst, burst);
  put(r.max_wait, wait);
  return r;
}

std::optional<BulkheadSettings> read_bulkhead(Ctx& ctx, const Json& v, const std::string& ptr) {
  Obj o(ctx, v, ptr, {"max_concurrent", "max_queue"});
  BulkheadSettings b;
  const Json* mc = o.require("max_concurrent");
  std::optional<std::int64_t> concurrent;
  if (mc) concurrent = read_int(ctx, *mc, o.at("max_concurrent"), 1, limits::kMaxConcurrent);
  auto queue = o.opt("max_queue", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 0, limits::kMaxQueue); });
  if (!concurrent || (o.has("max_queue") && !queue)) return std::nullopt;
  b.max_concurrent = *concurrent;
  put(b.max_queue, queue);
  return b;
}

}  // namespace

RuntimeBlock read_runtime(Ctx& ctx, const Json& v, const std::string& ptr, const ModelNameCheck& check_model) {
  RuntimeBlock rt;
  Obj o(ctx, v, ptr, {"preset", "models", "scheduling", "fallback_on_error", "retry", "circuit_breaker", "timeouts", "context",
                      "hedging", "rate_limiter", "bulkhead", "on_timeout", "stream_recovery"});
  if (!o.ok()) return rt;
  rt.preset = o.opt("preset", [&](const Json& x, const std::string& at) { return read_enum<Preset>(ctx, x, at, kPresetNames); });
  rt.models = o.opt("models", [&](const Json& x, const std::string& at) {
    return read_name_list(ctx, x, at, true, check_model);
  });
  rt.scheduling = o.opt("scheduling", [&](const Json& x, const std::string& at) { return read_enum<Scheduling>(ctx, x, at, kSchedulingNames); });
  rt.fallback_on_error = o.opt("fallback_on_error", [&](const Json& x, const std::string& at) { return read_bool(ctx, x, at); });
  if (const Json* r = o.get("retry")) rt.retry = read_retry(ctx, *r, o.at("retry"));
  if (const Json* b = o.get("circuit_breaker")) {
    const std::string p = o.at("circuit_breaker");
    rt.circuit_breaker = read_switch<BreakerSettings>(ctx, *b, p, "a breaker object", [&] { return read_breaker(ctx, *b, p); });
  }
  if (const Json* t = o.get("timeouts")) rt.timeouts = read_timeouts(ctx, *t, o.at("timeouts"));
  if (const Json* c = o.get("context")) rt.context = read_context(ctx, *c, o.at("context"));
  if (const Json* h = o.get("hedging")) {
    const std::string p = o.at("hedging");
    rt.hedging = read_switch<HedgingSettings>(ctx, *h, p, "an object {\"delay\": d, \"max_extra\": n}", [&]() -> std::optional<HedgingSettings> {
      Obj ho(ctx, *h, p, {"delay", "max_extra"});
      HedgingSettings hs;
      const Json* d = ho.require("delay");
      std::optional<Duration> delay;
      if (d) delay = read_duration(ctx, *d, ho.at("delay"));
      auto extra = ho.opt("max_extra", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1, limits::kMaxHedges); });
      if (!delay || (ho.has("max_extra") && !extra)) return std::nullopt;
      hs.delay = *delay;
      put(hs.max_extra, extra);
      return hs;
    });
  }
  if (const Json* l = o.get("rate_limiter")) {
    const std::string p = o.at("rate_limiter");
    rt.rate_limiter = read_switch<RateLimiterSettings>(ctx, *l, p, "an object {\"requests_per_second\": x, \"burst\": n, \"max_wait\": d}",
                                                       [&] { return read_rate_limiter(ctx, *l, p); });
  }
  if (const Json* b = o.get("bulkhead")) {
    const std::string p = o.at("bulkhead");
    rt.bulkhead = read_switch<BulkheadSettings>(ctx, *b, p, "an object {\"max_concurrent\": n, \"max_queue\": n}",
                                                [&] { return read_bulkhead(ctx, *b, p); });
  }
  rt.on_timeout = o.opt("on_timeout", [&](const Json& x, const std::string& at) { return read_enum<OnTimeout>(ctx, x, at, kOnTimeoutNames); });
  rt.stream_recovery = o.opt("stream_recovery", [&](const Json& x, const std::string& at) {
    return read_enum<StreamRecovery>(ctx, x, at, kStreamRecoveryNames);
  });
  return rt;
}

}  // namespace keel::config::detail
