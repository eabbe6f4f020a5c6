// Judging a run against a scenario's `expect` block: one named, explained result per field.
#include <cstdio>
#include <string>
#include <string_view>

#include "keel/config/duration.h"
#include "keel/scenarios/runner.h"

namespace keel::scenarios {
namespace {

template <class V>
const V* find_keyed(const Keyed<V>& map, const std::string& key) {
  for (const auto& [k, v] : map) {
    if (k == key) return &v;
  }
  return nullptr;
}

// "<actual> <= <limit>": the measured time for people, the limit as the file wrote it; the
// exact value when rounding would make a failed bound read "30s <= 30s".
std::string time_vs(Duration actual, std::string_view op, Duration limit) {
  std::string shown = format_duration_human(actual);
  if (shown == format_duration(limit) && actual != limit) shown = format_duration(actual);
  return shown + std::string(op) + format_duration(limit);
}

struct Judge {
  std::vector<ExpectationResult> out;
  Duration tolerance{};  // live runs: slack on time bounds (RunReport::time_tolerance)

  // A time bound with the run's tolerance; the detail says when it was used.
  std::string time_detail(Duration actual, std::string_view op, Duration limit) const {
    std::string d = time_vs(actual, op, limit);
    if (tolerance > Duration::zero()) d += " (+" + format_duration_human(tolerance) + " live tolerance)";
    return d;
  }

  void at_most(std::string name, std::int64_t actual, std::int64_t limit) {
    out.push_back({std::move(name), actual <= limit, std::to_string(actual) + " <= " + std::to_string(limit)});
  }
  void at_least(std::string name, std::int64_t actual, std::int64_t limit) {
    out.push_back({std::move(name), actual >= limit, std::to_string(actual) + " >= " + std::to_string(limit)});
  }
  void time_at_most(std::string name, Duration actual, Duration limit) {
    out.push_back({std::move(name), actual <= saturating_add(limit, tolerance), time_detail(actual, " <= ", limit)});
  }
};

using Measure = std::optional<Duration> RecoveryWindow::*;

// One recovery bound over every window it applies to: passes when each window's measure
// happened within `limit`; the detail names the worst window (or the first that never did).
void recovery_bound(Judge& j, std::string name, const std::vector<RecoveryWindow>& windows, Measure measure,
                    Duration limit, bool only_back_on_primary) {
  const RecoveryWindow* worst = nullptr;
  const RecoveryWindow* missing = nullptr;
  std::size_t counted = 0;
  for (const RecoveryWindow& w : windows) {
    if (only_back_on_primary && !w.back_on_primary_applies()) continue;
    ++counted;
    const std::optional<Duration>& m = w.*measure;
    if (!m) {
      if (!missing) missing = &w;
    } else if (!worst || *m > *(worst->*measure)) {
      worst = &w;
    }
  }
  auto where = [](const RecoveryWindow& w) { return "fault " + std::to_string(w.fault) + " (" + w.target + ")"; };
  if (counted == 0) {
    j.out.push_back({std::move(name), false,
                     only_back_on_primary ? "no fault window on a primary provider ends before the horizon"
                                          : "no provider fault window"});
  } else if (missing) {
    j.out.push_back({std::move(name), false, where(*missing) + ": never happened"});
  } else {
    const Duration actual = *(worst->*measure);
    j.out.push_back({std::move(name), actual <= limit, where(*worst) + ": " + time_vs(actual, " <= ", limit)});
  }
}

}  // namespace

std::vector<ExpectationResult> evaluate_expectations(const Expect& e, const RunReport& r) {
  Judge j;
  j.tolerance = r.time_tolerance;
  if (e.success_rate_min) {
    const double rate = r.tasks.total == 0 ? 1.0 : static_cast<double>(r.tasks.succeeded) / static_cast<double>(r.tasks.total);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%lld/%lld = %.4f >= %.4f", static_cast<long long>(r.tasks.succeeded),
                  static_cast<long long>(r.tasks.total), rate, *e.success_rate_min);
    j.out.push_back({"success_rate_min", rate >= *e.success_rate_min, buf});
  }
  if (e.tasks_failed_max) {
    j.at_most("tasks_failed_max", r.tasks.total - r.tasks.succeeded, *e.tasks_failed_max);
  }
  if (e.latency) {
    if (e.latency->p50_max) j.time_at_most("latency.p50_max", r.latency_p50, *e.latency->p50_max);
    if (e.latency->p99_max) j.time_at_most("latency.p99_max", r.latency_p99, *e.latency->p99_max);
    if (e.latency->max) j.time_at_most("latency.max", r.latency_max, *e.latency->max);
  }
  for (const auto& [provider, bounds] : e.calls) {
    const std::int64_t* n = find_keyed(r.calls, provider);
    const std::int64_t actual = n ? *n : 0;
    if (bounds.min) j.at_least("calls." + provider + ".min", actual, *bounds.min);
    if (bounds.max) j.at_most("calls." + provider + ".max", actual, *bounds.max);
  }
  if (e.retries_max) j.at_most("retries_max", r.retries, *e.retries_max);
  if (e.fallbacks_min) j.at_least("fallbacks_min", r.fallbacks, *e.fallbacks_min);
  if (e.fallbacks_max) j.at_most("fallbacks_max", r.fallbacks, *e.fallbacks_max);
  for (const auto& [provider, b] : e.breaker) {
    const std::int64_t* opens = find_keyed(r.breaker_opens, provider);
    const std::int64_t n = opens ? *opens : 0;
    if (b.opens_min) j.at_least("breaker." + provider + ".opens_min", n, *b.opens_min);
    if (b.opens_max) j.at_most("breaker." + provider + ".opens_max", n, *b.opens_max);
    if (b.first_open_before) {
      const std::optional<Duration>* first = find_keyed(r.first_open, provider);
      const bool opened = first && first->has_value();
      j.out.push_back({"breaker." + provider + ".first_open_before",
                       opened && **first < saturating_add(*b.first_open_before, j.tolerance),
                       opened ? j.time_detail(**first, " < ", *b.first_open_before) : "never opened"});
    }
  }
  if (e.summarizations_min) j.at_least("summarizations_min", r.summarizations, *e.summarizations_min);
  if (e.summarizations_max) j.at_most("summarizations_max", r.summarizations, *e.summarizations_max);
  for (const auto& [tool, t] : e.tool_executions) {
    const ToolStats* s = find_keyed(r.tools, tool);
    const ToolStats stats = s ? *s : ToolStats{};
    if (t.max) j.at_most("tool_executions." + tool + ".max", stats.executions, *t.max);
    if (t.max_per_call) j.at_most("tool_executions." + tool + ".max_per_call", stats.max_per_call, *t.max_per_call);
  }
  for (const auto& [provider, limit] : e.max_prompt_tokens_sent) {
    const std::int64_t* n = find_keyed(r.max_prompt_tokens, provider);
    j.at_most("max_prompt_tokens_sent." + provider, n ? *n : 0, limit);
  }
  if (e.truncated_answers_max) j.at_most("truncated_answers_max", r.truncated_answers, *e.truncated_answers_max);
  if (e.finished_before) {
    const bool ok = r.unfinished == 0 && r.virtual_end < saturating_add(*e.finished_before, j.tolerance);
    j.out.push_back({"finished_before", ok,
                     r.unfinished ? std::to_string(r.unfinished) + " tasks unfinished at the horizon"
                                  : "last task ended at " + j.time_detail(r.virtual_end, " < ", *e.finished_before)});
  }
  if (e.recovery) {
    const RecoveryExpect& b = *e.recovery;
    if (b.detect_max) recovery_bound(j, "recovery.detect_max", r.recovery, &RecoveryWindow::detect, *b.detect_max, false);
    if (b.restore_max) recovery_bound(j, "recovery.restore_max", r.recovery, &RecoveryWindow::restore, *b.restore_max, false);
    if (b.back_on_primary_max) {
      recovery_bound(j, "recovery.back_on_primary_max", r.recovery, &RecoveryWindow::back_on_primary,
                     *b.back_on_primary_max, true);
    }
  }
  return j.out;
}

}  // namespace keel::scenarios
