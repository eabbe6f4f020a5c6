// Scenario -> JSON (to_json.h): the loader's inverse, field by field in the format's order.
#include "keel/scenarios/to_json.h"

#include "keel/scenarios/duration.h"

namespace keel::scenarios {

namespace {

using Json = nlohmann::ordered_json;

Json dur(Duration d) { return format_duration(d); }

template <class T, class Fn>
void put_opt(Json& j, const char* key, const std::optional<T>& v, Fn&& conv) {
  if (v) j[key] = conv(*v);
}
template <class T>
void put_opt(Json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
void put_dur(Json& j, const char* key, const std::optional<Duration>& v) {
  if (v) j[key] = dur(*v);
}

template <class T, class Fn>
void put_override(Json& j, const char* key, const Override<T>& o, const Json& off, Fn&& conv) {
  if (o.is_disabled()) j[key] = off;
  if (o.is_set()) j[key] = conv(*o.value);
}

Json provider_json(const Provider& p) {
  Json j;
  j["name"] = p.name;
  j["api"] = to_string(p.api);
  j["context_window"] = p.context_window;
  j["latency"] = to_json(p.latency);
  j["output_tokens"] = p.output_tokens;
  if (p.limits) {
    Json l = Json::object();
    put_opt(l, "requests_per_minute", p.limits->requests_per_minute);
    put_opt(l, "tokens_per_minute", p.limits->tokens_per_minute);
    j["limits"] = std::move(l);
  }
  return j;
}

Json tool_json(const Tool& t) {
  Json j;
  j["name"] = t.name;
  j["latency"] = to_json(t.latency);
  j["idempotent"] = t.idempotent;
  return j;
}

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

Json runtime_json(const Runtime& rt) {
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
  return j;
}

Json start_json(const Start& s) {
  switch (s.kind) {
    case Start::Kind::at: return Json{{"at", dur(s.at)}};
    case Start::Kind::every: return Json{{"every", dur(s.every)}};
    case Start::Kind::poisson: return Json{{"poisson_per_s", s.poisson_per_s}};
  }
  return Json{{"at", "0s"}};
}

Json workload_json(const Workload& w) {
  Json j;
  if (const auto* a = std::get_if<AgentsWorkload>(&w)) {
    j["kind"] = "agents";
    j["count"] = a->count;
    j["steps"] = a->steps;
    j["start"] = start_json(a->start);
    j["prompt_tokens"] = a->prompt_tokens;
    j["history"] = to_string(a->history);
    j["tool_calls_per_step"] = a->tool_calls_per_step;
    if (a->stop) j["stop"] = Json{{"at", dur(a->stop->at)}};
    return j;
  }
  const auto& wf = std::get<WorkforceWorkload>(w);
  j["kind"] = "workforce";
  j["mode"] = to_string(wf.mode);
  Json workers = Json::array();
  for (const Worker& wk : wf.workers) {
    Json x;
    x["name"] = wk.name;
    if (wk.tool) {
      x["tool"] = *wk.tool;
    } else {
      x["models"] = wk.models;
    }
    workers.push_back(std::move(x));
  }
  j["workers"] = std::move(workers);
  if (const auto* n = std::get_if<std::int64_t>(&wf.tasks)) {
    j["tasks"] = *n;
  } else {
    Json tasks = Json::array();
    for (const TaskSpec& t : std::get<std::vector<TaskSpec>>(wf.tasks)) {
      Json x;
      x["id"] = t.id;
      if (t.worker) x["worker"] = *t.worker;
      if (!t.depends_on.empty()) x["depends_on"] = t.depends_on;
      tasks.push_back(std::move(x));
    }
    j["tasks"] = std::move(tasks);
  }
  put_opt(j, "max_concurrency", wf.max_concurrency);
  j["rounds"] = wf.rounds;
  const FailureHandling& h = wf.failure_handling;
  j["failure_handling"] = Json{{"max_retries", h.max_retries},
                               {"retry_delay", dur(h.retry_delay)},
                               {"strategy", to_string(h.strategy)},
                               {"fallback_workers", h.fallback_workers}};
  return j;
}

Json expect_json(const Expect& e) {
  Json j = Json::object();
  put_opt(j, "success_rate_min", e.success_rate_min);
  put_opt(j, "tasks_failed_max", e.tasks_failed_max);
  if (e.latency) {
    Json l = Json::object();
    put_dur(l, "p50_max", e.latency->p50_max);
    put_dur(l, "p99_max", e.latency->p99_max);
    put_dur(l, "max", e.latency->max);
    j["latency"] = std::move(l);
  }
  if (!e.calls.empty()) {
    Json c = Json::object();
    for (const auto& [name, b] : e.calls) {
      Json x = Json::object();
      put_opt(x, "min", b.min);
      put_opt(x, "max", b.max);
      c[name] = std::move(x);
    }
    j["calls"] = std::move(c);
  }
  put_opt(j, "retries_max", e.retries_max);
  put_opt(j, "fallbacks_min", e.fallbacks_min);
  put_opt(j, "fallbacks_max", e.fallbacks_max);
  if (!e.breaker.empty()) {
    Json b = Json::object();
    for (const auto& [name, x] : e.breaker) {
      Json y = Json::object();
      put_opt(y, "opens_min", x.opens_min);
      put_opt(y, "opens_max", x.opens_max);
      put_dur(y, "first_open_before", x.first_open_before);
      b[name] = std::move(y);
    }
    j["breaker"] = std::move(b);
  }
  put_opt(j, "summarizations_min", e.summarizations_min);
  put_opt(j, "summarizations_max", e.summarizations_max);
  if (!e.tool_executions.empty()) {
    Json t = Json::object();
    for (const auto& [name, x] : e.tool_executions) {
      Json y = Json::object();
      put_opt(y, "max", x.max);
      put_opt(y, "max_per_call", x.max_per_call);
      t[name] = std::move(y);
    }
    j["tool_executions"] = std::move(t);
  }
  if (!e.max_prompt_tokens_sent.empty()) {
    Json m = Json::object();
    for (const auto& [name, n] : e.max_prompt_tokens_sent) m[name] = n;
    j["max_prompt_tokens_sent"] = std::move(m);
  }
  put_dur(j, "finished_before", e.finished_before);
  if (e.recovery) {
    Json r = Json::object();
    put_dur(r, "detect_max", e.recovery->detect_max);
    put_dur(r, "restore_max", e.recovery->restore_max);
    put_dur(r, "back_on_primary_max", e.recovery->back_on_primary_max);
    j["recovery"] = std::move(r);
  }
  return j;
}

}  // namespace

nlohmann::ordered_json to_json(const Latency& l) {
  switch (l.kind) {
    case Latency::Kind::fixed: return Json{{"fixed", dur(l.a)}};
    case Latency::Kind::uniform: return Json{{"uniform", Json::array({dur(l.a), dur(l.b)})}};
    case Latency::Kind::exponential: return Json{{"exponential", Json{{"mean", dur(l.a)}}}};
    case Latency::Kind::lognormal: return Json{{"lognormal", Json{{"median", dur(l.a)}, {"p99", dur(l.b)}}}};
  }
  return Json{{"fixed", dur(l.a)}};
}

nlohmann::ordered_json to_json(const Fault& f) {
  Json j;
  j["target"] = f.target;
  j["kind"] = faults::fault_kind_name(f.kind);
  j["from"] = dur(f.from);
  put_dur(j, "until", f.until);
  j["probability"] = f.probability;
  put_opt(j, "every_nth", f.every_nth);
  put_opt(j, "first_n", f.first_n);
  if (f.kind == sim::FaultKind::rate_limit) put_dur(j, "retry_after", f.retry_after);
  if (f.kind == sim::FaultKind::server_error) j["status"] = f.status;
  if (f.kind == sim::FaultKind::slow && f.extra_latency) j["extra_latency"] = to_json(*f.extra_latency);
  return j;
}

nlohmann::ordered_json to_json(const Scenario& s) {
  Json j;
  j["keel_scenario"] = s.keel_scenario;
  j["name"] = s.name;
  j["description"] = s.description;
  j["seed"] = s.seed;
  j["horizon"] = dur(s.horizon);
  Json providers = Json::array();
  for (const Provider& p : s.providers) providers.push_back(provider_json(p));
  j["providers"] = std::move(providers);
  Json tools = Json::array();
  for (const Tool& t : s.tools) tools.push_back(tool_json(t));
  j["tools"] = std::move(tools);
  Json fs = Json::array();
  for (const Fault& f : s.faults) fs.push_back(to_json(f));
  j["faults"] = std::move(fs);
  if (!s.runtime.empty()) j["runtime"] = runtime_json(s.runtime);
  j["workload"] = workload_json(s.workload);
  if (!s.expect.empty()) j["expect"] = expect_json(s.expect);
  if (!s.expected.empty()) {
    Json e = Json::object();
    put_opt(e, "keel_default", s.expected.keel_default, [](Outcome o) { return Json(to_string(o)); });
    put_opt(e, "camel_parity", s.expected.camel_parity, [](Outcome o) { return Json(to_string(o)); });
    j["expected"] = std::move(e);
  }
  return j;
}

std::string to_json_text(const Scenario& s, int indent) {
  return to_json(s).dump(indent, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace keel::scenarios
