// Judging scenarios against their declared verdicts (keel/scenarios/conformance.h).
#include "keel/scenarios/conformance.h"

#include <map>
#include <utility>

#include "keel/scenarios/resolve_runtime.h"

namespace keel::scenarios {

std::vector<Preset> conformance_presets(const Scenario& s, std::optional<Preset> override_preset) {
  if (override_preset) return {*override_preset};
  if (s.expected.empty()) return {effective_preset(s, std::nullopt)};
  std::vector<Preset> out;
  for (Preset p : {Preset::keel_default, Preset::camel_parity}) {
    if (s.expected.under(p)) out.push_back(p);
  }
  return out;
}

std::vector<ConformanceRun> plan_conformance(const std::vector<const Scenario*>& scenarios, std::uint64_t seeds,
                                             std::optional<Preset> override_preset,
                                             const std::function<bool(std::uint64_t position)>& owns) {
  std::vector<ConformanceRun> runs;
  std::uint64_t position = 0;
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    if (!scenarios[i]) continue;
    const Scenario& s = *scenarios[i];
    for (std::uint64_t seed = 1; seed <= seeds; ++seed, ++position) {
      if (owns && !owns(position)) continue;
      for (Preset p : conformance_presets(s, override_preset)) {
        runs.push_back(ConformanceRun{.scenario = i, .preset = p, .seed = seed,
                                      .expected = s.expected.under(p).value_or(Outcome::pass)});
      }
    }
  }
  return runs;
}

std::string conformance_test_name(const std::string& scenario, Preset p, std::uint64_t seed) {
  return scenario + "[" + std::string(to_string(p)) + ",seed=" + std::to_string(seed) + "]";
}

std::string conformance_verdict(const ConformanceRun& r) {
  const std::string preset{to_string(r.preset)};
  if (!r.outcome.ran) return "could not run under " + preset + ": " + r.outcome.error;
  if (r.expected == Outcome::fail) {
    return r.outcome.passed ? "expected to fail under " + preset + " but passed" : "failed under " + preset + " as expected";
  }
  if (r.outcome.passed) return "passed under " + preset + " as expected";
  std::string names;
  for (const auto& e : r.outcome.failed) names += (names.empty() ? "" : ", ") + e.name;
  return "expected to pass under " + preset + " but failed: " + names;
}

std::vector<ConformanceRow> conformance_rows(const std::vector<const Scenario*>& scenarios,
                                             const std::vector<ConformanceRun>& runs) {
  std::vector<ConformanceRow> rows;
  std::map<std::pair<std::size_t, Preset>, std::size_t> row_of;
  for (const ConformanceRun& r : runs) {
    auto [it, fresh] = row_of.try_emplace({r.scenario, r.preset}, rows.size());
    if (fresh) {
      rows.push_back(ConformanceRow{scenarios[r.scenario]->name, std::string(to_string(r.preset)),
                                    std::string(to_string(r.expected))});
    }
    ConformanceRow& row = rows[it->second];
    ++row.total;
    row.conforming += r.conforming();
    if (r.seed == 1) row.seed1 = r.outcome.ran ? r.outcome.trace_hash : "error";
  }
  return rows;
}

}  // namespace keel::scenarios
