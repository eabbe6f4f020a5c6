// Stage 3 of a scenario run (run_world.h): the RunReport of a finished world — task counts,
// latencies and failure causes from the task records; calls, retries, fallbacks and breaker
// opens from the providers and model chains; tool and workforce counters — and the verdict of
// every expectation.
#include <algorithm>
#include <cmath>
#include <map>

#include "keel/scenarios/time_scale.h"
#include "run_world.h"

namespace keel::scenarios::detail {
namespace {

Duration percentile(std::vector<Duration> sorted, double p) {
  if (sorted.empty()) return Duration::zero();
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

// Accepted streamed answers with fewer tokens than their provider produced (format v1.1,
// "truncated answer"). The mock's response id ends with its request index.
std::int64_t count_truncated(const RunSink& events, const std::vector<std::unique_ptr<sim::MockProvider>>& providers) {
  std::int64_t truncated = 0;
  for (const RunSink::StreamAnswer& a : events.stream_answers) {
    const auto digits = a.id.find_last_not_of("0123456789");
    if (digits == std::string::npos || digits + 1 >= a.id.size()) continue;
    const std::uint64_t index = std::stoull(a.id.substr(digits + 1));
    for (const auto& p : providers) {
      if (p->config().name != a.provider) continue;
      const int produced = p->streamed_tokens(index);
      if (produced >= 0 && a.tokens < produced) ++truncated;
    }
  }
  return truncated;
}

// The final cause of a failed task, as `failures` counts it.
std::string failure_cause(const TaskRecord& t) {
  if (!t.ended) return std::string(to_string(ErrorCode::horizon));
  if (t.state) return t.cause.empty() ? std::string(workforce::to_string(*t.state)) : t.cause;
  return t.error ? std::string(to_string(*t.error)) : std::string("unknown");
}

enum class Ending : std::uint8_t { unfinished, succeeded, failed, skipped, cancelled };

Ending ending_of(const TaskRecord& t) {
  if (!t.ended) return Ending::unfinished;
  if (t.state) {
    switch (*t.state) {
      case workforce::TaskState::done: return Ending::succeeded;
      case workforce::TaskState::skipped: return Ending::skipped;
      case workforce::TaskState::cancelled: return Ending::cancelled;
      default: return Ending::failed;
    }
  }
  if (!t.error) return Ending::succeeded;
  return *t.error == ErrorCode::cancelled ? Ending::cancelled : Ending::failed;
}

// Task counts, latencies (all tasks, successful ones), failure causes and the recovery meter's
// task view, from the run's task records (scenario time).
void tally_tasks(const std::vector<TaskRecord>& tasks, Duration horizon, RunReport& rep, RecoveryMeter& recovery) {
  std::vector<Duration> latencies, ok_latencies;
  std::map<std::string, std::int64_t> failures;
  Duration last_end{};
  for (const TaskRecord& t : tasks) {
    ++rep.tasks.total;
    const Ending ending = ending_of(t);
    switch (ending) {
      case Ending::unfinished: ++rep.unfinished; [[fallthrough]];
      case Ending::failed: ++rep.tasks.failed; ++failures[failure_cause(t)]; break;
      case Ending::succeeded: ++rep.tasks.succeeded; break;
      case Ending::skipped: ++rep.tasks.skipped; break;
      case Ending::cancelled: ++rep.tasks.cancelled; break;
    }
    if (t.ended) last_end = std::max(last_end, t.ended_at.time_since_epoch());
    if (!t.began) continue;
    const Duration latency = t.ended ? t.ended_at - t.started : horizon - t.started.time_since_epoch();
    latencies.push_back(latency);
    if (ending == Ending::succeeded) ok_latencies.push_back(latency);
    recovery.on_task(t.started.time_since_epoch(), t.ended, t.ended_at.time_since_epoch(), ending == Ending::succeeded);
  }
  rep.virtual_end = rep.unfinished ? horizon : last_end;
  std::sort(latencies.begin(), latencies.end());
  std::sort(ok_latencies.begin(), ok_latencies.end());
  rep.latency_p50 = percentile(latencies, 0.50);
  rep.latency_p99 = percentile(latencies, 0.99);
  rep.latency_max = latencies.empty() ? Duration::zero() : latencies.back();
  rep.latency_ok_p50 = percentile(ok_latencies, 0.50);
  rep.latency_ok_p99 = percentile(ok_latencies, 0.99);
  rep.latency_ok_max = ok_latencies.empty() ? Duration::zero() : ok_latencies.back();
  rep.failures.assign(failures.begin(), failures.end());
}

// Per provider: requests that reached it, its largest prompt, breaker opens and retries summed
// over every model chain, and when its breaker first opened; then the chains' fallbacks.
void tally_providers(const World& w, const RunSetup& setup, const RunSink& events, RunReport& rep) {
  const Scenario& scenario = setup.scenario;
  std::vector<const model::ModelManager*> managers;
  if (w.manager) managers.push_back(w.manager.get());
  for (const auto& m : w.worker_managers) managers.push_back(m.get());
  for (std::size_t i = 0; i < scenario.providers.size(); ++i) {
    const std::string& name = scenario.providers[i].name;
    const ProviderTally tally =
        setup.env ? setup.env->provider_tally(i)
                  : ProviderTally{static_cast<std::int64_t>(w.providers[i]->stats().requests),
                                  static_cast<std::int64_t>(w.providers[i]->stats().max_prompt_tokens)};
    rep.calls.emplace_back(name, tally.requests);
    rep.max_prompt_tokens.emplace_back(name, tally.max_prompt_tokens);
    std::int64_t opens = 0;
    for (const model::ModelManager* manager : managers) {
      for (std::size_t m = 0; m < manager->size(); ++m) {
        if (manager->model(m).info().name != name) continue;
        if (const policy::CircuitBreaker* b = manager->breaker(m)) opens += static_cast<std::int64_t>(b->counters().to_open);
        rep.retries += static_cast<std::int64_t>(manager->retry_counters(m).count(policy::RetryReason::retry));
      }
    }
    rep.breaker_opens.emplace_back(name, opens);
    auto first = events.first_open.find(name);
    rep.first_open.emplace_back(name, first == events.first_open.end() ? std::nullopt : std::optional{first->second});
  }
  for (const model::ModelManager* manager : managers) rep.fallbacks += static_cast<std::int64_t>(manager->counters().fallbacks);
}

// Summaries, truncated streamed answers, tool executions and the workforce's own counters.
void tally_agents_and_tools(const World& w, const RunSink& events, RunReport& rep) {
  for (const auto& a : w.agents) rep.summarizations += static_cast<std::int64_t>(a->context().counters().summarizations);
  for (const workforce::AgentWorker* worker : w.agent_workers) {
    for (const auto& a : worker->agents()) rep.summarizations += static_cast<std::int64_t>(a->context().counters().summarizations);
  }
  rep.truncated_answers = count_truncated(events, w.providers);
  for (const auto& t : w.tools) {
    rep.tools.emplace_back(t->config().name, ToolStats{static_cast<std::int64_t>(t->stats().executions),
                                                       static_cast<std::int64_t>(t->stats().max_per_call())});
  }
  if (w.workforce) {
    const workforce::WorkforceCounters& c = w.workforce->counters();
    rep.workforce = WorkforceStats{.attempts = static_cast<std::int64_t>(c.attempts),
                                   .retries = static_cast<std::int64_t>(c.retries),
                                   .fallbacks = static_cast<std::int64_t>(c.fallbacks),
                                   .terminated = w.workforce->terminated()};
  }
}

}  // namespace

RunReport report_of(World& w, const RunSetup& setup, const RunSink& events, RecoveryMeter& recovery) {
  RunReport rep;
  rep.scenario = setup.scenario.name;
  rep.seed = setup.seed;
  rep.preset = setup.preset;
  rep.live = setup.env != nullptr;
  tally_tasks(w.tasks, setup.scenario.horizon, rep, recovery);
  rep.recovery = recovery.windows();
  tally_providers(w, setup, events, rep);
  tally_agents_and_tools(w, events, rep);
  if (setup.env) rep.time_tolerance = scaled(kLiveTimeTolerance, 1.0 / setup.scale);
  rep.task_errors = std::move(w.task_errors);
  rep.expectations = evaluate_expectations(setup.scenario.expect, rep);
  rep.passed = std::all_of(rep.expectations.begin(), rep.expectations.end(), [](const auto& e) { return e.passed; });
  return rep;
}

}  // namespace keel::scenarios::detail
