// keel — the command-line entry point: registers the subcommands, parses, runs one.
// Exit status: 0 ok, 1 expectations failed, 2 invalid input or arguments, 3 internal error.
#include <exception>
#include <iostream>
#include <vector>

#include "commands.h"
#include "keel/scenarios/scenario.h"

int main(int argc, char** argv) {
  using namespace keel::cli;
  CLI::App app{"keel — resilience runtime and deterministic fault-injection harness for LLM agents"};
  app.set_version_flag("--version", std::string("keel ") + KEEL_VERSION + " (scenario format " +
                                        std::to_string(keel::scenarios::kFormatVersion) + ")");
  app.require_subcommand(1);
  app.footer("Exit status: 0 ok, 1 expectations failed, 2 invalid input or arguments, 3 internal error.\n"
             "`keel <command> --help` gives each command's own.");
  std::vector<Command> commands = {add_demo(app),    add_run(app),    add_validate(app),
                                   add_explore(app), add_shrink(app), add_conformance(app),
                                   add_serve(app),   add_trace_hash(app), add_report(app)};
  commands.push_back(add_recovery(app));
  commands.push_back(add_call(app));
  commands.push_back(add_config(app));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitInvalid;
  }
  try {
    for (const Command& c : commands) {
      if (int status = c(); status >= 0) return status;
    }
  } catch (const std::exception& e) {
    std::cerr << "keel: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
  return kExitInvalid;
}
