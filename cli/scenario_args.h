// cli/scenario_args.h — what the scenario subcommands share: the --preset option, loading a
// file with its errors printed, and the human-readable report.
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include <CLI/CLI.hpp>

#include "keel/scenarios/runner.h"
#include "keel/scenarios/scenario.h"

namespace keel::cli {

void add_preset_option(CLI::App* cmd, std::string& preset);
std::optional<scenarios::Preset> parse_preset(const std::string& preset);  // "" = none
// The scenario, or nullopt after printing every error (pointer + message) to stderr and, with
// `json`, one object {"file", "valid": false, "errors": [{"pointer", "message", "line"?,
// "column"?}]} to stdout (what `run --json` promises a program reading its output).
std::optional<scenarios::Scenario> load_or_report(const std::string& file, bool json = false);
void print_report(std::ostream& os, const scenarios::RunReport& report);

}  // namespace keel::cli
