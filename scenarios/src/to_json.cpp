// Scenario -> JSON (to_json.h): the loader's inverse, field by field in the format's order.
#include "keel/scenarios/to_json.h"

#include "keel/config/detail/json_writer.h"
#include "keel/config/duration.h"

namespace keel::scenarios {

namespace {

using Json = nlohmann::ordered_json;
using config::detail::dur;
using config::detail::put_dur;
using config::detail::put_opt;

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
  // v1.1 fields only when they differ from their defaults: v1 files round-trip unchanged.
  if (p.token_interval != Duration::zero()) j["token_interval"] = dur(p.token_interval);
  if (!p.supports_prefill) j["supports_prefill"] = false;
  return j;
}

Json tool_json(const Tool& t) {
  Json j;
  j["name"] = t.name;
  j["latency"] = to_json(t.latency);
  j["idempotent"] = t.idempotent;
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
    if (a->stream) j["stream"] = true;
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
    put_opt(x, "stream", wk.stream);
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
  if (wf.stream) j["stream"] = true;
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
  put_opt(j, "truncated_answers_max", e.truncated_answers_max);
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
  using K = sim::FaultKind;
  if ((f.kind == K::slow || f.kind == K::slow_first_token) && f.extra_latency) j["extra_latency"] = to_json(*f.extra_latency);
  if (f.kind == K::stream_cut || f.kind == K::stream_stall) put_opt(j, "after_tokens", f.after_tokens);
  if (f.kind == K::stream_stall) put_dur(j, "stall", f.stall);
  if (f.kind == K::malformed_chunk) j["at_token"] = f.at_token;
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
  if (!s.runtime.empty()) j["runtime"] = config::to_json(s.runtime);
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
