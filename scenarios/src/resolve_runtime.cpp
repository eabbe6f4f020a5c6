// A scenario's runtime block over a preset (resolve_runtime.h): the runtime's own resolve
// (keel/config/config_file.h), with the scenario's providers as the default chain.
#include "keel/scenarios/resolve_runtime.h"

#include "keel/config/config_file.h"

namespace keel::scenarios {

Preset effective_preset(const Scenario& s, std::optional<Preset> preset_override) noexcept {
  return config::effective_preset(s.runtime, preset_override);
}

RuntimeConfig resolve_runtime(const Scenario& s, std::optional<Preset> preset_override) {
  std::vector<std::string> providers;
  for (const Provider& p : s.providers) providers.push_back(p.name);
  return config::resolve(s.runtime, preset_override, providers);
}

}  // namespace keel::scenarios
