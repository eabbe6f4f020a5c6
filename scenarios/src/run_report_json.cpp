// The `keel run --json` object of a RunReport (runner.h, scenarios/FORMAT.md "keel run output").
#include "keel/scenarios/runner.h"

namespace keel::scenarios {

nlohmann::json to_json(const RunReport& r) {
  auto ms = [](Duration d) { return static_cast<double>(d.count()) / 1e6; };
  nlohmann::json j;
  j["scenario"] = r.scenario;
  j["seed"] = r.seed;
  j["preset"] = std::string(to_string(r.preset));
  j["passed"] = r.passed;
  j["trace_hash"] = r.trace_hash;
  j["reproducible"] = !r.live;  // a live run's trace hash identifies its trace file, not a replay
  j["trace_events"] = r.trace_events;
  j["virtual_end_ms"] = ms(r.virtual_end);
  j["tasks"] = {{"total", r.tasks.total}, {"succeeded", r.tasks.succeeded}, {"failed", r.tasks.failed},
                {"skipped", r.tasks.skipped}, {"cancelled", r.tasks.cancelled}};
  j["unfinished"] = r.unfinished;
  j["latency_ms"] = {{"p50", ms(r.latency_p50)}, {"p99", ms(r.latency_p99)}, {"max", ms(r.latency_max)}};
  j["latency_ok_ms"] = {{"p50", ms(r.latency_ok_p50)}, {"p99", ms(r.latency_ok_p99)}, {"max", ms(r.latency_ok_max)}};
  j["failures"] = nlohmann::json::object();
  for (const auto& [k, v] : r.failures) j["failures"][k] = v;
  j["recovery"] = nlohmann::json::array();
  auto ms_or_null = [&ms](const std::optional<Duration>& d) { return d ? nlohmann::json(ms(*d)) : nlohmann::json(nullptr); };
  for (const RecoveryWindow& w : r.recovery) {
    j["recovery"].push_back({{"fault", w.fault}, {"target", w.target}, {"from_ms", ms(w.from)}, {"until_ms", ms(w.until)},
                             {"detect_ms", ms_or_null(w.detect)}, {"restore_ms", ms_or_null(w.restore)},
                             {"back_on_primary_ms", ms_or_null(w.back_on_primary)}});
  }
  j["calls"] = nlohmann::json::object();
  for (const auto& [k, v] : r.calls) j["calls"][k] = v;
  j["retries"] = r.retries;
  j["fallbacks"] = r.fallbacks;
  j["breaker_opens"] = nlohmann::json::object();
  for (const auto& [k, v] : r.breaker_opens) j["breaker_opens"][k] = v;
  j["first_open_ms"] = nlohmann::json::object();
  for (const auto& [k, v] : r.first_open) j["first_open_ms"][k] = v ? nlohmann::json(ms(*v)) : nlohmann::json(nullptr);
  j["summarizations"] = r.summarizations;
  j["truncated_answers"] = r.truncated_answers;
  j["tools"] = nlohmann::json::object();
  for (const auto& [k, v] : r.tools) j["tools"][k] = {{"executions", v.executions}, {"max_per_call", v.max_per_call}};
  j["max_prompt_tokens"] = nlohmann::json::object();
  for (const auto& [k, v] : r.max_prompt_tokens) j["max_prompt_tokens"][k] = v;
  if (r.time_tolerance > Duration::zero()) j["time_tolerance_ms"] = ms(r.time_tolerance);
  if (r.workforce) {
    j["workforce"] = {{"attempts", r.workforce->attempts}, {"retries", r.workforce->retries},
                      {"fallbacks", r.workforce->fallbacks}, {"terminated", r.workforce->terminated}};
  }
  if (r.task_errors.count) {
    j["task_errors"] = {{"count", r.task_errors.count}, {"first", r.task_errors.first}};
  }
  j["vacuous"] = r.expectations.empty();  // no expectations: the run passes by default
  j["expectations"] = nlohmann::json::array();
  for (const auto& e : r.expectations) j["expectations"].push_back({{"name", e.name}, {"passed", e.passed}, {"detail", e.detail}});
  return j;
}

}  // namespace keel::scenarios
