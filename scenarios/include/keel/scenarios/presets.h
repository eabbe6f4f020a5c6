// keel/scenarios/presets.h — the runtime a scenario asks for: a preset, then the file's overrides.
//
// Purpose: turn `runtime` (SCENARIO-FORMAT.md) into the configuration objects of the real
// runtime (ModelManagerConfig, ChatAgentConfig, the tool timeout), so the simulator runs
// exactly the code production runs.
//
// Contract:
//  - `camel_parity` is exactly the format page's definition: always_first; retry only
//    rate_limited, 3 attempts, 1 s then 2 s (no jitter), retry-after ignored, no budget;
//    fallback_on_error; no breaker; no attempt/call/step timeout; tool timeout 180 s; on
//    overflow summarize and retry once — after the provider refused, never before sending
//    (context.count_before_send and manager.skip_over_window off); and a quota_exhausted
//    error mistaken for a context overflow (`quota_mistaken_for_overflow`).
//  - `keel_default` is keel's recommendation; values and reasons are in scenarios/FORMAT.md.
//  - Overrides replace only the fields the file sets; `false`/`null` disable.
//
// Example:
//   RuntimeConfig cfg = resolve_runtime(scenario, Preset::camel_parity);
//   ModelManager chain{cfg.manager, transports, rng, &events};
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "keel/agent/chat_agent.h"
#include "keel/model/model_manager.h"
#include "keel/scenarios/scenario.h"

namespace keel::scenarios {

struct RuntimeConfig {
  model::ModelManagerConfig manager;
  std::vector<std::string> models;            // the fallback chain, provider names in order
  agent::ChatAgentConfig agent;               // step timeout, context management
  std::optional<Duration> tool_timeout;       // per tool execution
  bool quota_mistaken_for_overflow = false;   // camel_parity's string-matching defect
};

RuntimeConfig preset_config(Preset preset);

// The preset (`preset_override`, else the file's runtime.preset, else keel_default), with the
// file's runtime overrides applied. Providers come from the scenario (models default to all).
RuntimeConfig resolve_runtime(const Scenario& scenario, std::optional<Preset> preset_override);

// The preset a run uses: the override, else the file's, else keel_default.
Preset effective_preset(const Scenario& scenario, std::optional<Preset> preset_override) noexcept;

}  // namespace keel::scenarios
