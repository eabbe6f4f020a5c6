// keel/config/presets.h — keel's named runtime configurations: the values production runs and
// CI tests.
//
// Purpose: one place defines every value of keel's two presets, each with its reason, as
// objects of the real runtime (ModelManagerConfig, ChatAgentConfig, the tool timeout). A
// service links them (keel::config, installed with the package); the simulation harness
// starts every scenario run from the same objects, then applies the scenario's overrides.
//
// Contract:
//  - `keel_default` is keel's recommendation: the preset every scenario runs under unless it
//    names another. The values and their reasons are in presets.cpp, next to the values.
//  - `camel_parity` reproduces the source design (CAMEL-AI's agent runtime) with its
//    defects, so a scenario can show what keel fixes: always_first; retry only rate_limited,
//    3 attempts, 1 s then 2 s (no jitter), retry-after ignored, no budget; fallback_on_error;
//    no breaker; no attempt/call/step timeout; tool timeout 180 s; on overflow summarize and
//    retry once — after the provider refused, never before sending
//    (agent.context.count_before_send and manager.skip_over_window off); and a
//    quota_exhausted error mistaken for a context overflow (`quota_mistaken_for_overflow`).
//  - The runtime's own default-constructed configurations (ModelManagerConfig{},
//    ChatAgentConfig{}, policy::CircuitBreakerConfig{}, ...) are NOT keel_default: they are
//    neutral building blocks with the policies' textbook values. Start from a preset.
//  - Pure: each call builds a fresh value; no global state.
//
// Example:
//   keel::config::RuntimeConfig cfg = keel::config::keel_default();
//   cfg.manager.attempt_timeout = std::chrono::seconds{20};   // or load a file: runtime_block.h
//   keel::model::ModelManager chain{cfg.manager, transports, keel::Rng{seed}, &events};
//   keel::agent::ToolRunner tools{toolkit, {.default_timeout = cfg.tool_timeout}, rng, &events};
//   keel::agent::ChatAgent agent{chain, &tools, counter, &events, cfg.agent};
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "keel/agent/chat_agent.h"
#include "keel/config/preset_names.h"
#include "keel/model/limited_transport.h"
#include "keel/model/model_manager.h"

namespace keel::config {

// Everything a preset decides for one agent runtime.
struct RuntimeConfig {
  model::ModelManagerConfig manager;
  std::vector<std::string> models;            // the fallback chain, provider names in order
  agent::ChatAgentConfig agent;               // step timeout, context management
  std::optional<Duration> tool_timeout;       // per tool execution
  model::ClientLimits limits;                 // per provider: wrap each transport in a LimitedTransport
  bool quota_mistaken_for_overflow = false;   // camel_parity's string-matching defect
};

RuntimeConfig keel_default();
RuntimeConfig camel_parity();
RuntimeConfig preset_config(Preset preset);

}  // namespace keel::config
