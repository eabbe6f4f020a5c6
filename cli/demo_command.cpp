// `keel demo`: the foundation's simulated workload; prints its trace hash.
#include <fstream>
#include <iostream>

#include "commands.h"
#include "keel/config/duration.h"
#include "keel/sim/demo_workload.h"

namespace keel::cli {

Command add_demo(CLI::App& app) {
  struct Args {
    std::uint64_t seed = 1;
    int agents = 8, calls = 25;
    std::string trace;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("demo", "Run a small simulated workload and print its trace hash");
  cmd->add_option("--seed", args->seed, "Seed for the simulation")->check(unsigned_integer())->capture_default_str();
  cmd->add_option("--agents", args->agents, "Concurrent simulated clients")->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_option("--calls", args->calls, "Requests per client")->check(CLI::Range(1, 1000000))->capture_default_str();
  cmd->add_option("--trace", args->trace, "Write the JSON-lines trace to this file");
  cmd->footer("Exit status: 0 ok, 2 invalid arguments or an unwritable trace file, 3 internal error.");
  return [cmd, args]() -> int {
    if (!cmd->parsed()) return -1;
    std::ofstream trace_file;
    sim::DemoOptions options{.seed = args->seed, .agents = args->agents, .calls = args->calls};
    if (!args->trace.empty()) {
      trace_file.open(args->trace);
      if (!trace_file) {
        std::cerr << "keel demo: cannot write trace file '" << args->trace << "'\n";
        return kExitInvalid;
      }
      options.trace = &trace_file;
    }
    const auto r = sim::run_demo_workload(options);
    std::cout << "keel demo: seed " << args->seed << ", " << args->agents << " agents x " << args->calls
              << " calls\n  succeeded " << r.succeeded << ", timed out " << r.timed_out << ", events " << r.events
              << ", virtual time " << config::format_duration_human(r.virtual_end.time_since_epoch()) << "\n  trace_hash "
              << r.trace_hash_hex << "\n";
    return kExitOk;
  };
}

}  // namespace keel::cli
