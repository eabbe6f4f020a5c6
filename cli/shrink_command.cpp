// `keel shrink FILE --seed N`: a smaller scenario that still fails the same way. The search is
// the scenarios library's (keel/scenarios/shrink.h); this command reads the arguments, writes
// the result and says what went.
#include <fstream>
#include <iostream>

#include "commands.h"
#include "keel/scenarios/resolve_runtime.h"
#include "keel/scenarios/shrink.h"
#include "keel/scenarios/to_json.h"
#include "replay.h"
#include "scenario_args.h"

namespace keel::cli {
namespace {

using scenarios::Scenario;

std::string default_output(const std::string& file) {
  const std::string ext = ".json";
  if (file.size() > ext.size() && file.compare(file.size() - ext.size(), ext.size(), ext) == 0) {
    return file.substr(0, file.size() - ext.size()) + ".shrunk.json";
  }
  return file + ".shrunk.json";
}

std::string count(std::size_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

std::string size_summary(const Scenario& s) {
  std::string out = count(s.faults.size(), "fault") + ", " + count(s.providers.size(), "provider") + ", " +
                    count(s.tools.size(), "tool");
  if (const auto* a = std::get_if<scenarios::AgentsWorkload>(&s.workload)) {
    out += ", " + count(static_cast<std::size_t>(a->count), "agent") + " x " +
           count(static_cast<std::size_t>(a->steps), "step");
    if (a->tool_calls_per_step) out += " x " + count(static_cast<std::size_t>(a->tool_calls_per_step), "tool call");
  }
  return out;
}

}  // namespace

Command add_shrink(CLI::App& app) {
  struct Args {
    std::string file;
    std::optional<std::uint64_t> seed;
    std::string preset;
    std::string output;
    std::size_t max_runs = 2000;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("shrink", "Find a smaller scenario that still fails the same expectations");
  cmd->add_option("file", args->file, "Scenario file (JSON)")->required();
  cmd->add_option("--seed", args->seed, "Seed of the failing run (default: the scenario's)")->check(unsigned_integer());
  add_preset_option(cmd, args->preset);
  cmd->add_option("-o,--output", args->output, "Where to write the smaller scenario (default: FILE with .shrunk.json)");
  cmd->add_option("--max-runs", args->max_runs, "Stop after this many candidate runs")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->footer("Exit status: 0 wrote a smaller (or already minimal) failing scenario, 1 the run passes (nothing to "
              "shrink), 2 invalid file or arguments, 3 internal error.");

  return [cmd, args]() -> int {
    if (!cmd->parsed()) return -1;
    const auto original = load_or_report(args->file);
    if (!original) return kExitInvalid;
    const std::optional<scenarios::Preset> preset_override = parse_preset(args->preset);
    const scenarios::Preset preset = scenarios::effective_preset(*original, preset_override);
    const std::uint64_t seed = args->seed.value_or(original->seed);

    Result<scenarios::Failure> failure = scenarios::failure_of(*original, seed, preset);
    if (!failure) {
      std::cerr << "keel shrink: " << args->file << ": " << failure.error().describe() << "\n";
      return kExitInternal;
    }
    if (failure->failing.empty()) {
      std::cout << "keel shrink: " << original->name << " passes with seed " << seed << " under " << to_string(preset)
                << ": nothing to shrink\n";
      return kExitFailed;
    }
    std::cout << "shrink " << original->name << ": seed " << seed << ", preset " << to_string(preset) << " fails:";
    for (const auto& n : failure->failing) std::cout << " " << n;
    std::cout << "\n" << std::flush;

    Result<scenarios::ShrinkResult> shrunk = scenarios::shrink_scenario(
        *original, *failure, {.seed = seed, .preset = preset, .max_runs = args->max_runs, .source = args->file});
    if (!shrunk) {
      std::cerr << "keel shrink: " << shrunk.error().message << "\n";
      return kExitInternal;
    }
    const std::string out_path = args->output.empty() ? default_output(args->file) : args->output;
    std::ofstream out{out_path};
    if (!(out << scenarios::to_json_text(shrunk->scenario)) || !out.flush()) {
      std::cerr << "keel shrink: cannot write '" << out_path << "'\n";
      return kExitInvalid;
    }

    for (const auto& line : shrunk->log) std::cout << "  " << line << "\n";
    if (shrunk->log.empty()) std::cout << "  nothing could be removed: the scenario is already minimal\n";
    if (shrunk->budget_hit) std::cout << "  stopped after --max-runs " << args->max_runs << " candidate runs\n";
    std::cout << "wrote " << out_path << " (" << shrunk->runs << " candidate runs): " << size_summary(*original)
              << " -> " << size_summary(shrunk->scenario) << "; still fails: " << scenarios::join_names(failure->failing)
              << "\n";
    std::cout << "replay: " << replay_command(out_path, seed, preset) << "\n";
    return kExitOk;
  };
}

}  // namespace keel::cli
