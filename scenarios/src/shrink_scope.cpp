// The shrinker's questions about a scenario (shrink_scope.h).
#include "shrink_scope.h"

#include <algorithm>

#include "keel/faults/fault_spec.h"

namespace keel::scenarios::detail {
namespace {

template <class V>
Keyed<V> keep_keyed(const Keyed<V>& in, auto&& filter) {
  Keyed<V> out;
  for (const auto& [k, v] : in) {
    if (std::optional<V> kept = filter(k, v)) out.emplace_back(k, *kept);
  }
  return out;
}

template <class V>
bool has_key(const Keyed<V>& m, const std::string& key) {
  return std::any_of(m.begin(), m.end(), [&](const auto& kv) { return kv.first == key; });
}

}  // namespace

Expect only_named(const Expect& e, const std::set<std::string>& keep) {
  auto has = [&](const std::string& name) { return keep.contains(name); };
  auto opt = [&](const auto& v, const std::string& name) { return has(name) ? v : std::nullopt; };
  Expect out;
  out.success_rate_min = opt(e.success_rate_min, "success_rate_min");
  out.tasks_failed_max = opt(e.tasks_failed_max, "tasks_failed_max");
  if (e.latency) {
    LatencyExpect l{opt(e.latency->p50_max, "latency.p50_max"), opt(e.latency->p99_max, "latency.p99_max"),
                    opt(e.latency->max, "latency.max")};
    if (l != LatencyExpect{}) out.latency = l;
  }
  out.calls = keep_keyed(e.calls, [&](const std::string& p, const CallBounds& b) {
    CallBounds c{opt(b.min, "calls." + p + ".min"), opt(b.max, "calls." + p + ".max")};
    return c == CallBounds{} ? std::nullopt : std::optional{c};
  });
  out.retries_max = opt(e.retries_max, "retries_max");
  out.fallbacks_min = opt(e.fallbacks_min, "fallbacks_min");
  out.fallbacks_max = opt(e.fallbacks_max, "fallbacks_max");
  out.breaker = keep_keyed(e.breaker, [&](const std::string& p, const BreakerExpect& b) {
    const std::string at = "breaker." + p + ".";
    BreakerExpect c{opt(b.opens_min, at + "opens_min"), opt(b.opens_max, at + "opens_max"),
                    opt(b.first_open_before, at + "first_open_before")};
    return c == BreakerExpect{} ? std::nullopt : std::optional{c};
  });
  out.summarizations_min = opt(e.summarizations_min, "summarizations_min");
  out.summarizations_max = opt(e.summarizations_max, "summarizations_max");
  out.tool_executions = keep_keyed(e.tool_executions, [&](const std::string& t, const ToolExpect& b) {
    const std::string at = "tool_executions." + t + ".";
    ToolExpect c{opt(b.max, at + "max"), opt(b.max_per_call, at + "max_per_call")};
    return c == ToolExpect{} ? std::nullopt : std::optional{c};
  });
  out.max_prompt_tokens_sent = keep_keyed(e.max_prompt_tokens_sent, [&](const std::string& p, std::int64_t n) {
    return has("max_prompt_tokens_sent." + p) ? std::optional{n} : std::nullopt;
  });
  out.finished_before = opt(e.finished_before, "finished_before");
  if (e.recovery) {
    RecoveryExpect r{opt(e.recovery->detect_max, "recovery.detect_max"),
                     opt(e.recovery->restore_max, "recovery.restore_max"),
                     opt(e.recovery->back_on_primary_max, "recovery.back_on_primary_max")};
    if (r != RecoveryExpect{}) out.recovery = r;
  }
  return out;
}

bool provider_referenced(const Scenario& s, const std::string& name) {
  for (const auto& f : s.faults) {
    if (f.target == name) return true;
  }
  if (s.runtime.models && std::find(s.runtime.models->begin(), s.runtime.models->end(), name) != s.runtime.models->end())
    return true;
  if (const auto* wf = std::get_if<WorkforceWorkload>(&s.workload)) {
    for (const auto& w : wf->workers) {
      if (std::find(w.models.begin(), w.models.end(), name) != w.models.end()) return true;
    }
  }
  return has_key(s.expect.calls, name) || has_key(s.expect.breaker, name) || has_key(s.expect.max_prompt_tokens_sent, name);
}

bool tool_referenced(const Scenario& s, const std::string& name) {
  for (const auto& f : s.faults) {
    if (f.target == std::string(faults::kToolTargetPrefix) + name) return true;
  }
  if (const auto* a = std::get_if<AgentsWorkload>(&s.workload); a && a->tool_calls_per_step > 0) return true;
  if (const auto* wf = std::get_if<WorkforceWorkload>(&s.workload)) {
    for (const auto& w : wf->workers) {
      if (w.tool == name) return true;
    }
  }
  return has_key(s.expect.tool_executions, name);
}

}  // namespace keel::scenarios::detail
