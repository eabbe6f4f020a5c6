// effective_config — what a service built on the installed package runs: the effective
// runtime configuration of a runtime block file (or a preset alone), as JSON. For the same
// file and preset it prints exactly what `keel config FILE [--preset P] --json` prints (a
// ctest compares them), because both use the installed loader and resolve.
//
//   effective_config [FILE] [--preset keel_default|camel_parity]
//
// Exit status: 0 printed, 2 the file has errors (each printed with its JSON pointer).
#include <iostream>
#include <optional>
#include <string>

#include "keel/config/config_file.h"

int main(int argc, char** argv) {
  std::string file;
  std::optional<keel::config::Preset> preset;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--preset" && i + 1 < argc) {
      preset = keel::config::preset_from_string(argv[++i]);
      if (!preset) {
        std::cerr << "effective_config: unknown preset " << argv[i] << "\n";
        return 2;
      }
    } else {
      file = arg;
    }
  }
  keel::config::RuntimeBlock block;
  std::vector<std::string> providers;
  if (!file.empty()) {
    keel::config::RuntimeBlockLoad loaded = keel::config::load_runtime_block_file(file);
    if (!loaded) {
      std::cerr << loaded.describe();
      return 2;
    }
    block = loaded.value();
    providers = loaded.providers;
  }
  std::cout << keel::config::effective_json(block, preset, file.empty() ? "no file" : file, providers).dump(2) << "\n";
  return 0;
}
