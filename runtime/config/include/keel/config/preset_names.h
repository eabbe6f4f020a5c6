// keel/config/preset_names.h — the names of keel's presets, without the runtime behind them.
//
// Purpose: what a file, a flag or a report says (`"preset": "camel_parity"`), for code that
// reads or writes preset names but does not build a runtime (the scenario loader, its fuzz
// target). The configurations themselves are in presets.h.
//
// Contract: Preset values index kPresetNames; to_string and preset_from_string are inverse.
//
// Example:
//   std::optional<Preset> p = preset_from_string(flag);   // nullopt: not a preset name
//   std::cout << to_string(Preset::keel_default);          // "keel_default"
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "keel/core/enum_names.h"

namespace keel::config {

#define KEEL_PRESETS(X) X(keel_default, "keel_default") X(camel_parity, "camel_parity")
KEEL_ENUM_WITH_NAMES(Preset, kPresetNames, KEEL_PRESETS);

constexpr std::string_view to_string(Preset v) noexcept { return enum_name(kPresetNames, v); }

// The preset named `name`, or nullopt (for `--preset`).
constexpr std::optional<Preset> preset_from_string(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kPresetNames.size(); ++i) {
    if (kPresetNames[i] == name) return static_cast<Preset>(i);
  }
  return std::nullopt;
}

}  // namespace keel::config
