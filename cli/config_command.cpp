// `keel config [FILE] [--preset P] [--json]`: the effective runtime configuration of a runtime
// block — a service's file or a scenario's `runtime` — every value with where it came from
// (the file, the preset, or keel_default for a breaker added on a preset without one). The
// same loader and resolve a service links (keel/config/config_file.h). Exit 0, or 2 with every
// error of the file at its JSON pointer.
#include <iostream>

#include "commands.h"
#include "keel/config/config_file.h"
#include "scenario_args.h"

namespace keel::cli {

Command add_config(CLI::App& app) {
  struct Args {
    std::string file;
    std::string preset;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "config", "Print the effective runtime configuration of a preset or of a runtime block file, with each value's origin");
  cmd->footer("Exit status: 0 printed, 2 an invalid file, preset or argument (each error with its JSON pointer).");
  cmd->add_option("file", a->file, "A runtime block, or a scenario file (its `runtime`); none: the preset alone");
  add_preset_option(cmd, a->preset);
  cmd->add_flag("--json", a->json, "One JSON object: source, preset, runtime (a complete block), values");
  return [cmd, a]() -> int {
    if (!cmd->parsed()) return -1;
    config::RuntimeBlock block;
    std::vector<std::string> providers;
    std::string source = "no file";
    if (!a->file.empty()) {
      config::RuntimeBlockLoad loaded = config::load_runtime_block_file(a->file);
      if (!loaded) {
        std::cerr << loaded.describe();
        return kExitInvalid;
      }
      block = loaded.value();
      providers = std::move(loaded.providers);
      source = a->file;
    }
    const nlohmann::ordered_json effective = config::effective_json(block, parse_preset(a->preset), source, providers);
    std::cout << (a->json ? effective.dump(2) + "\n" : config::effective_text(effective));
    return kExitOk;
  };
}

}  // namespace keel::cli
