// keel — the command-line entry point. Subcommands are added by the issues that build them;
// `keel demo` runs the foundation's simulated workload and prints its trace hash.
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "keel/sim/demo_workload.h"

namespace {

int run_demo(std::uint64_t seed, int agents, int calls, const std::string& trace_path) {
  std::ofstream trace_file;
  keel::sim::DemoOptions options{.seed = seed, .agents = agents, .calls = calls};
  if (!trace_path.empty()) {
    trace_file.open(trace_path);
    if (!trace_file) {
      std::cerr << "keel demo: cannot write trace file '" << trace_path << "'\n";
      return 2;
    }
    options.trace = &trace_file;
  }
  const auto r = keel::sim::run_demo_workload(options);
  std::cout << "keel demo: seed " << seed << ", " << agents << " agents x " << calls << " calls\n"
            << "  succeeded " << r.succeeded << ", timed out " << r.timed_out << ", events "
            << r.events << ", virtual time " << keel::to_ms(r.virtual_end.time_since_epoch())
            << " ms\n"
            << "  trace_hash " << r.trace_hash_hex << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"keel — resilience runtime and deterministic fault-injection harness for LLM agents"};
  app.require_subcommand(1);

  std::uint64_t seed = 1;
  int agents = 8, calls = 25;
  std::string trace_path;
  auto* demo = app.add_subcommand("demo", "Run a small simulated workload and print its trace hash");
  demo->add_option("--seed", seed, "Seed for the simulation")->capture_default_str();
  demo->add_option("--agents", agents, "Concurrent simulated clients")->check(CLI::Range(1, 100000))->capture_default_str();
  demo->add_option("--calls", calls, "Requests per client")->check(CLI::Range(1, 1000000))->capture_default_str();
  demo->add_option("--trace", trace_path, "Write the JSON-lines trace to this file");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;  // bad arguments: exit 2
  }
  if (demo->parsed()) return run_demo(seed, agents, calls, trace_path);
  return 2;
}
