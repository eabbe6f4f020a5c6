// `keel explore FILE --seeds N`: one scenario under many seeds (a shard of them, on J threads);
// every failing seed printed with the command that replays it. Output is in seed order and
// identical for every --jobs value. Sharding and CI recipes: docs/explore.md.
#include <algorithm>
#include <atomic>
#include <iostream>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "keel/scenarios/resolve_runtime.h"
#include "keel/scenarios/run_outcome.h"
#include "parallel_runs.h"
#include "progress.h"
#include "replay.h"
#include "scenario_args.h"
#include "shard.h"

namespace keel::cli {
namespace {

struct Args {
  std::string file;
  std::uint64_t seeds = 0;
  std::uint64_t from = 1;
  std::optional<Shard> shard;
  unsigned jobs = default_jobs();
  std::string preset;
  bool json = false;
  bool verbose = false;
};

// What the sweep found so far, seed by seed in order.
struct Sweep {
  std::size_t passed = 0, failed = 0, errors = 0;
  std::set<std::string> hashes;
  nlohmann::ordered_json runs = nlohmann::ordered_json::array();  // --json: one object per seed

  void count(const scenarios::RunOutcome& o) {
    if (!o.ran) ++errors;
    else if (o.passed) ++passed;
    else ++failed;
    if (o.ran) hashes.insert(o.trace_hash);
  }
};

nlohmann::ordered_json seed_json(std::uint64_t seed, const scenarios::RunOutcome& o, const std::string& replay) {
  nlohmann::ordered_json j = {{"seed", seed}, {"passed", o.passed}};
  j["trace_hash"] = o.ran ? nlohmann::ordered_json(o.trace_hash) : nlohmann::ordered_json(nullptr);
  j["failed"] = nlohmann::ordered_json::array();
  for (const auto& e : o.failed) j["failed"].push_back(e.name);
  if (!o.ran) j["error"] = o.error;
  if (!o.passed) j["replay"] = replay;
  return j;
}

void print_seed(std::uint64_t seed, const scenarios::RunOutcome& o, const std::string& replay) {
  if (!o.ran) {
    std::cout << "ERROR seed " << seed << ": " << o.error << "\n";
  } else {
    std::cout << (o.passed ? "ok   seed " : "FAIL seed ") << seed << "  trace_hash " << o.trace_hash << "\n";
    for (const auto& e : o.failed) std::cout << "       " << e.name << ": " << e.detail << "\n";
  }
  if (!o.passed) std::cout << "       replay: " << replay << "\n";
  std::cout << std::flush;
}

void print_summary(const Args& args, const scenarios::Scenario& scenario, scenarios::Preset preset,
                   std::size_t seeds, Sweep& sweep) {
  if (args.json) {
    nlohmann::ordered_json out = {
        {"scenario", scenario.name},
        {"file", args.file},
        {"preset", std::string(to_string(preset))},
        {"from", args.from},
        {"count", args.seeds},
        {"shard", args.shard ? nlohmann::ordered_json(args.shard->to_string()) : nlohmann::ordered_json(nullptr)},
        {"runs", seeds},
        {"passed", sweep.passed},
        {"failed", sweep.failed},
        {"errors", sweep.errors},
        {"distinct_trace_hashes", sweep.hashes.size()},
        {"seeds", std::move(sweep.runs)}};
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  std::cout << seeds << " seeds: " << sweep.passed << " passed, " << sweep.failed << " failed";
  if (sweep.errors) std::cout << ", " << sweep.errors << " could not run";
  std::cout << "; " << sweep.hashes.size()
            << (sweep.hashes.size() == 1 ? " distinct trace hash\n" : " distinct trace hashes\n");
}

// Runs the seeds on `args.jobs` threads; reports each seed in order as it is known.
Sweep sweep_seeds(const Args& args, const scenarios::Scenario& scenario, const std::vector<std::uint64_t>& seeds) {
  const std::optional<scenarios::Preset> preset_override = parse_preset(args.preset);
  const scenarios::Preset preset = scenarios::effective_preset(scenario, preset_override);
  std::vector<scenarios::RunOutcome> outcomes(seeds.size());
  std::atomic<std::size_t> failing{0};
  ProgressLine progress{"explore " + scenario.name};
  Sweep sweep;
  run_parallel(
      seeds.size(), args.jobs,
      [&](std::size_t i) {
        outcomes[i] = scenarios::run_outcome(scenario, seeds[i], preset_override);
        if (!outcomes[i].passed) failing.fetch_add(1, std::memory_order_relaxed);
      },
      [&](std::size_t i) {
        const scenarios::RunOutcome& o = outcomes[i];
        const std::string replay = replay_command(args.file, seeds[i], preset);
        sweep.count(o);
        if (args.json) {
          sweep.runs.push_back(seed_json(seeds[i], o, replay));
        } else if (!o.passed || args.verbose) {
          progress.clear();
          print_seed(seeds[i], o, replay);
        }
      },
      [&](std::size_t done) { progress.update(done, seeds.size(), failing.load(std::memory_order_relaxed)); });
  progress.clear();
  return sweep;
}

}  // namespace

Command add_explore(CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("explore", "Run a scenario under many seeds; print each failing seed and its replay command");
  cmd->add_option("file", args->file, "Scenario file (JSON)")->required();
  cmd->add_option("--seeds", args->seeds, "How many seeds: S..S+N-1")->required()->check(CLI::PositiveNumber);
  cmd->add_option("--from", args->from, "First seed S")->check(unsigned_integer())->capture_default_str();
  add_shard_option(cmd, args->shard);
  cmd->add_option("-j,--jobs", args->jobs, "Worker threads (default: the hardware threads; results do not depend on it)")
      ->check(CLI::Range(1u, 4096u))
      ->capture_default_str();
  add_preset_option(cmd, args->preset);
  cmd->add_flag("--json", args->json, "Print one JSON object: every seed with passed, trace_hash, failed expectations");
  cmd->add_flag("-v,--verbose", args->verbose, "Print every seed, not only the failing ones");
  cmd->footer(
      "Seed s belongs to shard ((s - S) mod N) + 1, so shards 1/N..N/N partition the seeds exactly.\n"
      "Exit status: 0 all passed, 1 some seed failed, 2 invalid file or arguments, 3 internal error.");

  return [cmd, args]() -> int {
    if (!cmd->parsed()) return -1;
    if (args->seeds - 1 > std::numeric_limits<std::uint64_t>::max() - args->from) {
      std::cerr << "keel explore: --from " << args->from << " --seeds " << args->seeds << " runs past the largest seed\n";
      return kExitInvalid;
    }
    const auto scenario = load_or_report(args->file, args->json);
    if (!scenario) return kExitInvalid;
    const scenarios::Preset preset = scenarios::effective_preset(*scenario, parse_preset(args->preset));
    std::vector<std::uint64_t> seeds;
    for (std::uint64_t pos = 0; pos < args->seeds; ++pos) {
      if (!args->shard || args->shard->owns(pos)) seeds.push_back(args->from + pos);
    }
    if (!args->json) {
      std::cout << "explore " << scenario->name << " (" << args->file << "): seeds " << args->from << ".."
                << args->from + (args->seeds - 1);
      if (args->shard) std::cout << ", shard " << args->shard->to_string() << " (" << seeds.size() << " seeds)";
      std::cout << ", preset " << to_string(preset) << "\n" << std::flush;
    }
    Sweep sweep = sweep_seeds(*args, *scenario, seeds);
    print_summary(*args, *scenario, preset, seeds.size(), sweep);
    if (sweep.errors) return kExitInternal;
    return sweep.failed ? kExitFailed : kExitOk;
  };
}

}  // namespace keel::cli
