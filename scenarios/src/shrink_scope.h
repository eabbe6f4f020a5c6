// Internal to keel_scenarios: what the shrinker (shrink.cpp) asks of a scenario — which
// expectations to keep, and whether a provider or tool is referenced by anything.
//
// Purpose: keep shrink.cpp about the search; these are questions about the data model.
//
// Contract: pure functions of their arguments. Expectation names are evaluate_expectations'
// ("calls.backup.min", "breaker.primary.opens_min").
//
// Example:
//   Expect e = only_named(s.expect, {"success_rate_min"});    // every other bound dropped
//   if (!provider_referenced(s, "spare")) ...                  // safe to try removing it
#pragma once

#include <set>
#include <string>

#include "keel/scenarios/scenario.h"

namespace keel::scenarios::detail {

// `e` with only the expectations named in `keep`.
Expect only_named(const Expect& e, const std::set<std::string>& keep);

// Whether a fault, a model chain, a worker or an expectation names the provider.
bool provider_referenced(const Scenario& s, const std::string& name);

// Whether a fault, the workload (tool calls per step, a tool worker) or an expectation names
// the tool.
bool tool_referenced(const Scenario& s, const std::string& name);

}  // namespace keel::scenarios::detail
