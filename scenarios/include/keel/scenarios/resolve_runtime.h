// keel/scenarios/resolve_runtime.h — the runtime a scenario asks for: a preset, then the file's
// overrides.
//
// Purpose: turn a scenario's `runtime` block (scenarios/FORMAT.md) into the configuration
// objects of the real runtime with the runtime's own resolve (keel/config/config_file.h), the
// one a service uses on the same block, starting from the same preset objects
// (keel/config/presets.h): the simulator runs exactly the configuration production runs.
//
// Contract:
//  - The base is `preset_override`, else the file's runtime.preset, else keel_default.
//  - Overrides replace only the fields the file sets; `false`/`null` disable.
//  - `models` is the file's runtime.models, else every provider in file order.
//
// Example:
//   RuntimeConfig cfg = resolve_runtime(scenario, Preset::camel_parity);
//   ModelManager chain{cfg.manager, transports, rng, &events};
#pragma once

#include <optional>

#include "keel/config/presets.h"
#include "keel/scenarios/scenario.h"

namespace keel::scenarios {

using config::preset_config;
using config::RuntimeConfig;

// The preset (`preset_override`, else the file's runtime.preset, else keel_default), with the
// file's runtime overrides applied. Providers come from the scenario (models default to all).
RuntimeConfig resolve_runtime(const Scenario& scenario, std::optional<Preset> preset_override);

// The preset a run uses: the override, else the file's, else keel_default.
Preset effective_preset(const Scenario& scenario, std::optional<Preset> preset_override) noexcept;

}  // namespace keel::scenarios
