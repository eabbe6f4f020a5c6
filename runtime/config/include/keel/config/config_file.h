// keel/config/config_file.h — a service's runtime configuration from the same `runtime` block
// CI validated: load it, resolve it onto its preset, and show the result.
//
// Purpose: keel's promise is that production runs the configuration the conformance suite
// tested. A service keeps a `runtime` block (a preset and overrides, scenarios/FORMAT.md) in a
// file, loads it here with exactly the scenario loader's checks (the same reader), and gets
// the same RuntimeConfig `keel run` builds for that block. `keel config` prints the result.
//
// Contract:
//  - load_runtime_block*: the document is either a bare runtime block (`{"preset": ...,
//    "retry": {...}}`) or a whole scenario file (an object with "keel_scenario"): then only
//    its `runtime` member is read, at pointer "/runtime" (absent: an empty block), and its
//    providers' names are kept (`providers`) for the default chain and for checking
//    `models`. Everything else of a scenario is the harness's to check (`keel validate`).
//  - Errors: every problem at once, each with its JSON pointer (invalid JSON with line and
//    column, duplicate keys, unknown fields with "did you mean", wrong types, out-of-range
//    values, malformed durations, unknown presets and error codes). Never throws for any
//    input; `block` is engaged exactly when `errors` is empty.
//  - resolve: the preset (`preset_override`, else the block's, else keel_default), then the
//    block's fields; unset fields keep the preset's value, `false`/`null` switch a mechanism
//    off; a breaker object on a preset without a breaker starts from keel_default's breaker.
//    `models` is the block's, else `providers`.
//  - block_of(cfg): the block that sets every file field to cfg's value; resolving it under any
//    preset gives cfg's file fields back (tested). A duration above what a file can state
//    (1000h, keel/config/limits.h) is written as 1000h: camel_parity's uncapped backoff
//    (max_delay Duration::max()) shows and saves as "1000h", a cap no wait ever reaches.
//  - effective_json / effective_text: every value of the resolved configuration, each with
//    where it came from: "file", or the preset's name (a value files cannot set says so).
//
// Example:
//   RuntimeBlockLoad file = load_runtime_block_file("/etc/my-agent/runtime.json");
//   if (!file) { std::cerr << file.describe(); return 2; }
//   RuntimeConfig cfg = resolve(file.value(), std::nullopt, file.providers);
//   ModelManager chain{cfg.manager, transports, Rng{seed}, &events};
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "keel/config/presets.h"
#include "keel/config/runtime_block.h"
#include "keel/config/validation.h"

namespace keel::config {

struct RuntimeBlockLoad {
  std::string source;                       // the name given to the loader (a path)
  std::optional<RuntimeBlock> block;        // engaged iff errors.empty()
  std::vector<std::string> providers;       // a scenario file's provider names, file order
  std::vector<ValidationError> errors;

  bool ok() const noexcept { return block.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  const RuntimeBlock& value() const& { return block.value(); }  // requires ok()
  // One line per error, "<source>: <error.to_string()>\n".
  std::string describe() const;
};

RuntimeBlockLoad load_runtime_block(std::string_view json_text, std::string_view source_name = "<runtime>");
RuntimeBlockLoad load_runtime_block_file(const std::filesystem::path& path);

// The preset a block runs under: the override, else the block's, else keel_default.
Preset effective_preset(const RuntimeBlock& block, std::optional<Preset> preset_override) noexcept;

RuntimeConfig resolve(const RuntimeBlock& block, std::optional<Preset> preset_override = std::nullopt,
                      const std::vector<std::string>& providers = {});

RuntimeBlock block_of(const RuntimeConfig& cfg);

// {"source", "preset", "runtime": block_of(resolved) as JSON, "values": [{"field": pointer,
// "value", "from", "in_files"}]} — every file field, then the values only presets decide.
nlohmann::ordered_json effective_json(const RuntimeBlock& block, std::optional<Preset> preset_override,
                                      std::string_view source, const std::vector<std::string>& providers = {});
// The same as a table: "field  value  from", one line per value.
std::string effective_text(const nlohmann::ordered_json& effective);

}  // namespace keel::config
