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
#include "keel/scenarios/runner.h"
#include "parallel_runs.h"
#include "progress.h"
#include "replay.h"
#include "scenario_args.h"
#include "shard.h"

namespace keel::cli {
namespace {

struct SeedOutcome {
  std::uint64_t seed = 0;
  bool ran = false;  // false: the runner returned an error (`error`)
  bool passed = false;
  std::string trace_hash;
  std::vector<scenarios::ExpectationResult> failed;
  std::string error;
};

SeedOutcome explore_one(const scenarios::Scenario& s, std::uint64_t seed, std::optional<scenarios::Preset> preset) {
  SeedOutcome o{.seed = seed};
  Result<scenarios::RunReport> r = scenarios::run_scenario(s, {.seed = seed, .preset = preset});
  if (!r) {
    o.error = r.error().describe();
    return o;
  }
  o.ran = true;
  o.passed = r->passed;
  o.trace_hash = r->trace_hash;
  for (auto& e : r->expectations) {
    if (!e.passed) o.failed.push_back(std::move(e));
  }
  return o;
}

}  // namespace

Command add_explore(CLI::App& app) {
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
    const std::optional<scenarios::Preset> preset_override = parse_preset(args->preset);
    const scenarios::Preset preset = scenarios::effective_preset(*scenario, preset_override);

    std::vector<std::uint64_t> seeds;
    for (std::uint64_t pos = 0; pos < args->seeds; ++pos) {
      if (!args->shard || args->shard->owns(pos)) seeds.push_back(args->from + pos);
    }
    const std::uint64_t last = args->from + (args->seeds - 1);

    if (!args->json) {
      std::cout << "explore " << scenario->name << " (" << args->file << "): seeds " << args->from << ".." << last;
      if (args->shard) std::cout << ", shard " << args->shard->to_string() << " (" << seeds.size() << " seeds)";
      std::cout << ", preset " << to_string(preset) << "\n" << std::flush;
    }

    std::vector<SeedOutcome> outcomes(seeds.size());
    std::atomic<std::size_t> failing{0};
    ProgressLine progress{"explore " + scenario->name};
    std::size_t passed = 0, failed = 0, errors = 0;
    std::set<std::string> hashes;
    nlohmann::ordered_json runs = nlohmann::ordered_json::array();

    run_parallel(
        seeds.size(), args->jobs,
        [&](std::size_t i) {
          outcomes[i] = explore_one(*scenario, seeds[i], preset_override);
          if (!outcomes[i].passed) failing.fetch_add(1, std::memory_order_relaxed);
        },
        [&](std::size_t i) {
          const SeedOutcome& o = outcomes[i];
          const std::string replay = replay_command(args->file, o.seed, preset);
          if (!o.ran) ++errors;
          else if (o.passed) ++passed;
          else ++failed;
          if (o.ran) hashes.insert(o.trace_hash);
          if (args->json) {
            nlohmann::ordered_json j = {{"seed", o.seed}, {"passed", o.passed}};
            j["trace_hash"] = o.ran ? nlohmann::ordered_json(o.trace_hash) : nlohmann::ordered_json(nullptr);
            j["failed"] = nlohmann::ordered_json::array();
            for (const auto& e : o.failed) j["failed"].push_back(e.name);
            if (!o.ran) j["error"] = o.error;
            if (!o.passed) j["replay"] = replay;
            runs.push_back(std::move(j));
            return;
          }
          if (o.passed && !args->verbose) return;
          progress.clear();
          if (!o.ran) {
            std::cout << "ERROR seed " << o.seed << ": " << o.error << "\n";
          } else {
            std::cout << (o.passed ? "ok   seed " : "FAIL seed ") << o.seed << "  trace_hash " << o.trace_hash << "\n";
            for (const auto& e : o.failed) std::cout << "       " << e.name << ": " << e.detail << "\n";
          }
          if (!o.passed) std::cout << "       replay: " << replay << "\n";
          std::cout << std::flush;
        },
        [&](std::size_t done) { progress.update(done, seeds.size(), failing.load(std::memory_order_relaxed)); });
    progress.clear();

    if (args->json) {
      nlohmann::ordered_json out = {{"scenario", scenario->name},
                            {"file", args->file},
                            {"preset", std::string(to_string(preset))},
                            {"from", args->from},
                            {"count", args->seeds},
                            {"shard", args->shard ? nlohmann::ordered_json(args->shard->to_string()) : nlohmann::ordered_json(nullptr)},
                            {"runs", seeds.size()},
                            {"passed", passed},
                            {"failed", failed},
                            {"errors", errors},
                            {"distinct_trace_hashes", hashes.size()},
                            {"seeds", std::move(runs)}};
      std::cout << out.dump() << "\n";
    } else {
      std::cout << seeds.size() << " seeds: " << passed << " passed, " << failed << " failed";
      if (errors) std::cout << ", " << errors << " could not run";
      std::cout << "; " << hashes.size() << (hashes.size() == 1 ? " distinct trace hash\n" : " distinct trace hashes\n");
    }
    if (errors) return kExitInternal;
    return failed ? kExitFailed : kExitOk;
  };
}

}  // namespace keel::cli
