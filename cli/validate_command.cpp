// `keel validate FILE...`: every error in every file, with its JSON pointer; exit 0 or 2.
#include <iostream>

#include "commands.h"
#include "keel/scenarios/loader.h"

namespace keel::cli {

Command add_validate(CLI::App& app) {
  auto files = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("validate", "Check scenario files; print every error with its JSON pointer");
  cmd->add_option("files", *files, "Scenario files")->required();
  cmd->footer("Exit status: 0 every file is valid, 2 some file is invalid or unreadable (each error on stderr, with its\n"
              "JSON pointer), 3 internal error.");
  return [cmd, files]() -> int {
    if (!cmd->parsed()) return -1;
    int status = kExitOk;
    for (const std::string& f : *files) {
      const scenarios::LoadResult r = scenarios::load_scenario_file(f);
      if (r.ok()) {
        std::cout << f << ": ok\n";
      } else {
        std::cerr << r.describe();
        status = kExitInvalid;
      }
    }
    return status;
  };
}

}  // namespace keel::cli
