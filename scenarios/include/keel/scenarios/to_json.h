// keel/scenarios/to_json.h — write a Scenario back as scenario JSON.
//
// Purpose: the inverse of the loader, for tools that produce scenarios (the shrinker writes a
// smaller failing scenario; tests build scenarios in code and save them).
//
// Contract:
//  - For every Scenario `s` the loader accepted: load_scenario_json(to_json(s)).value() == s
//    (tested). Fields are written in the format's order; defaulted fields are written
//    explicitly; unset optional fields and inheriting runtime overrides are omitted; an
//    Override that is disabled is written as `false` (`null` for timeouts).
//  - Durations are written with format_duration (exact to the nanosecond).
//  - An ordered_json (insertion order kept); it converts to nlohmann::json if needed.
//
// Example:
//   Scenario smaller = s;
//   smaller.faults.pop_back();
//   std::ofstream{"min.json"} << to_json_text(smaller);   // to_json(smaller).dump(2) + "\n"
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "keel/scenarios/scenario.h"

namespace keel::scenarios {

nlohmann::ordered_json to_json(const Scenario& s);
nlohmann::ordered_json to_json(const Latency& l);
nlohmann::ordered_json to_json(const Fault& f);

// to_json(s).dump(indent) followed by a newline.
std::string to_json_text(const Scenario& s, int indent = 2);

}  // namespace keel::scenarios
