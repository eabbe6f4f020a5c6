// keel/config/detail/read_runtime.h — the reader of the `runtime` block, shared by the scenario
// loader and the runtime-block loader (config_file.h). Internal.
//
// Purpose: one reader for the block wherever it appears, so a service's file is held to
// exactly the checks `keel validate` applies inside a scenario.
//
// Contract: reports every problem to `ctx` (JSON pointer under `ptr`) and returns what could
// be read. `check_model(name, pointer)` is called for each name of `models` (the scenario
// loader reports unknown providers there; a service's file has no provider list).
//
// Example:
//   RuntimeBlock rt = read_runtime(ctx, json.at("runtime"), "/runtime",
//                                  [&](const std::string& n, const std::string& p) { check_provider(ctx, names, p, n); });
#pragma once

#include <functional>
#include <string>

#include "keel/config/detail/json_reader.h"
#include "keel/config/runtime_block.h"

namespace keel::config::detail {

using ModelNameCheck = std::function<void(const std::string& name, const std::string& pointer)>;

RuntimeBlock read_runtime(Ctx& ctx, const Json& v, const std::string& ptr, const ModelNameCheck& check_model);

}  // namespace keel::config::detail
