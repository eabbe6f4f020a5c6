// Internal to keel_scenarios: the readers of the scenario format's sections, shared by the
// loader's files (loader.cpp: top level, providers, tools, faults, expect; read_workload.cpp;
// read_common.cpp: names, references, latency). The `runtime` block's reader and the reading
// toolkit are runtime/config's (keel/config/detail/), shared with the runtime-block loader.
//
// Purpose: one function per object of scenarios/FORMAT.md, each reading its fields in the
// format's order and reporting every problem to the Ctx (json_reader.h).
//
// Contract: a reader always returns (a default or partial value when something was wrong);
// reference checks are skipped when the list they refer to is incomplete (a provider without a
// usable name), so one mistake does not cascade into a flood of "unknown provider" errors.
//
// Example:
//   Names names = ...;                      // providers and tools read so far
//   std::optional<Workload> w = read_workload(ctx, names, json.at("workload"), "/workload");
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "keel/config/detail/json_reader.h"
#include "keel/config/detail/read_runtime.h"
#include "keel/scenarios/limits.h"
#include "keel/scenarios/scenario.h"

namespace keel::scenarios::detail {

// The shared reading toolkit and the runtime-block reader (runtime/config).
using namespace config::detail;

// The provider and tool names defined so far, for reference checks.
struct Names {
  std::vector<std::string> providers, tools;
  bool providers_complete = true;  // false: some provider had no usable name (skip ref checks)
  bool tools_complete = true;
  std::int64_t max_output_tokens = 0;  // the largest provider output_tokens (the run's text budget)

  bool is_provider(std::string_view n) const { return std::find(providers.begin(), providers.end(), n) != providers.end(); }
  bool is_tool(std::string_view n) const { return std::find(tools.begin(), tools.end(), n) != tools.end(); }
};

// A workforce's number of tasks: `tasks: n`, or the list's length.
inline std::int64_t task_count(const WorkforceWorkload& w) {
  const auto* n = std::get_if<std::int64_t>(&w.tasks);
  return n ? *n : static_cast<std::int64_t>(std::get<std::vector<TaskSpec>>(w.tasks).size());
}

// `<noun> defined: "a", "b"` (at most 12), or `no <noun> are defined` ("tools").
std::string list_names(const std::vector<std::string>& names, std::string_view noun);
// Report `n` at `ptr` unless it is a defined provider (tool) name.
void check_provider(Ctx& ctx, const Names& names, const std::string& ptr, const std::string& n);
void check_tool(Ctx& ctx, const Names& names, const std::string& ptr, const std::string& n);

std::optional<Latency> read_latency(Ctx& ctx, const Json& v, const std::string& ptr);
std::optional<Workload> read_workload(Ctx& ctx, const Names& names, const Json& v, const std::string& ptr);

}  // namespace keel::scenarios::detail
