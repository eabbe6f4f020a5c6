// `keel conformance [DIR]`: every scenario in DIR (default: the bundled suite) under seeds
// 1..N, each under the presets its `expected` block names, judged in both directions: an
// expected failure that passes is as non-conforming as an expected pass that fails. Prints a
// table, optionally writes JUnit XML (one testcase per scenario x preset x seed).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>

#include "commands.h"
#include "junit.h"
#include "keel/scenarios/loader.h"
#include "keel/scenarios/resolve_runtime.h"
#include "keel/scenarios/runner.h"
#include "parallel_runs.h"
#include "progress.h"
#include "replay.h"
#include "scenario_args.h"
#include "shard.h"

#ifndef KEEL_SOURCE_DIR
#define KEEL_SOURCE_DIR ""
#endif

namespace keel::cli {
namespace {

namespace fs = std::filesystem;
using scenarios::Outcome;
using scenarios::Preset;

// The bundled suite: installed (<prefix>/bin/keel -> <prefix>/share/keel/scenarios/suite), the
// build tree (<source>/build/<preset>/cli/keel -> <source>/scenarios/suite), or the source
// directory this binary was configured from.
std::optional<fs::path> bundled_suite() {
  std::vector<fs::path> candidates;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && !exe.empty()) {
    candidates.push_back(exe.parent_path() / ".." / "share" / "keel" / "scenarios" / "suite");
    candidates.push_back(exe.parent_path() / ".." / ".." / ".." / "scenarios" / "suite");
  }
  if (std::string_view{KEEL_SOURCE_DIR}.size() > 0) candidates.push_back(fs::path{KEEL_SOURCE_DIR} / "scenarios" / "suite");
  for (const fs::path& c : candidates) {
    if (fs::is_directory(c, ec)) return c.lexically_normal();
  }
  return std::nullopt;
}

struct Entry {
  std::string file;  // as it will be printed and replayed
  scenarios::LoadResult loaded;
};

struct Run {
  std::size_t entry = 0;
  Preset preset = Preset::keel_default;
  std::uint64_t seed = 1;
  Outcome expected = Outcome::pass;
  // Results.
  bool ran = false;
  bool passed = false;
  std::string trace_hash;
  std::vector<scenarios::ExpectationResult> failed;
  std::string error;
  double seconds = 0;

  bool conforming() const noexcept { return ran && passed == (expected == Outcome::pass); }
};

std::vector<Preset> presets_for(const scenarios::Scenario& s, std::optional<Preset> override_preset) {
  if (override_preset) return {*override_preset};
  if (s.expected.empty()) return {scenarios::effective_preset(s, std::nullopt)};
  std::vector<Preset> out;
  for (Preset p : {Preset::keel_default, Preset::camel_parity}) {
    if (s.expected.under(p)) out.push_back(p);
  }
  return out;
}

std::string test_name(const std::string& scenario, Preset p, std::uint64_t seed) {
  return scenario + "[" + std::string(to_string(p)) + ",seed=" + std::to_string(seed) + "]";
}

// One line for the terminal and the JUnit message.
std::string verdict(const Run& r) {
  const std::string preset{to_string(r.preset)};
  if (!r.ran) return "could not run under " + preset + ": " + r.error;
  if (r.expected == Outcome::fail) {
    return r.passed ? "expected to fail under " + preset + " but passed" : "failed under " + preset + " as expected";
  }
  if (r.passed) return "passed under " + preset + " as expected";
  std::string names;
  for (const auto& e : r.failed) names += (names.empty() ? "" : ", ") + e.name;
  return "expected to pass under " + preset + " but failed: " + names;
}

}  // namespace

Command add_conformance(CLI::App& app) {
  struct Args {
    std::string dir;
    std::uint64_t seeds = 3;
    std::string preset;
    std::string junit;
    std::optional<Shard> shard;
    unsigned jobs = default_jobs();
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("conformance", "Run a directory of scenarios under N seeds; check each verdict; JUnit XML");
  cmd->add_option("dir", args->dir, "Directory of *.json scenarios, or one file (default: the bundled suite)");
  cmd->add_option("--seeds", args->seeds, "Seeds 1..N per scenario")->check(CLI::PositiveNumber)->capture_default_str();
  add_preset_option(cmd, args->preset);
  cmd->add_option("--junit", args->junit, "Write JUnit XML here (one testcase per scenario x preset x seed)");
  add_shard_option(cmd, args->shard);
  cmd->add_option("-j,--jobs", args->jobs, "Worker threads (default: the hardware threads; results do not depend on it)")
      ->check(CLI::Range(1u, 4096u))
      ->capture_default_str();
  cmd->footer(
      "Each scenario runs under the presets its `expected` block names (or --preset), and a run conforms when\n"
      "its verdict matches: an expected failure that passes is non-conforming too. Without `expected`, a\n"
      "scenario must pass under the preset it selects. --shard K/N splits the (scenario, seed) list:\n"
      "item i belongs to shard (i mod N) + 1.\n"
      "Exit status: 0 all conform, 1 some run does not, 2 invalid file or arguments, 3 internal error.");

  return [cmd, args]() -> int {
    if (!cmd->parsed()) return -1;
    // Where the scenarios are.
    fs::path dir;
    std::string classname;
    if (args->dir.empty()) {
      const std::optional<fs::path> suite = bundled_suite();
      if (!suite) {
        std::cerr << "keel conformance: cannot find the bundled suite (scenarios/suite); pass DIR\n";
        return kExitInvalid;
      }
      dir = *suite;
      classname = "scenarios/suite";
    } else {
      dir = args->dir;
      classname = args->dir;
    }
    std::error_code ec;
    std::vector<fs::path> files;
    if (fs::is_regular_file(dir, ec)) {
      files.push_back(dir);
    } else if (fs::is_directory(dir, ec)) {
      for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
        if (e.path().extension() == ".json" && e.is_regular_file(ec)) files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
    } else {
      std::cerr << "keel conformance: " << dir.string() << ": no such directory or file\n";
      return kExitInvalid;
    }
    if (files.empty()) {
      std::cerr << "keel conformance: no *.json scenarios in " << dir.string() << "\n";
      return kExitInvalid;
    }
    std::ofstream junit_file;
    if (!args->junit.empty()) {
      junit_file.open(args->junit);
      if (!junit_file) {
        std::cerr << "keel conformance: cannot write JUnit file '" << args->junit << "'\n";
        return kExitInvalid;
      }
    }
    const std::optional<Preset> preset_override = parse_preset(args->preset);

    // Load everything; a malformed file is reported (with its pointers) and fails the suite.
    std::vector<Entry> entries;
    std::size_t malformed = 0;
    for (const fs::path& f : files) {
      Entry e{f.string(), scenarios::load_scenario_file(f)};
      if (!e.loaded) {
        ++malformed;
        std::cerr << e.loaded.describe();
      }
      entries.push_back(std::move(e));
    }

    // The (scenario, seed) list, sharded, expanded to one run per preset.
    std::vector<Run> runs;
    std::uint64_t position = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (!entries[i].loaded) continue;
      const scenarios::Scenario& s = entries[i].loaded.value();
      for (std::uint64_t seed = 1; seed <= args->seeds; ++seed, ++position) {
        if (args->shard && !args->shard->owns(position)) continue;
        for (Preset p : presets_for(s, preset_override)) {
          runs.push_back(Run{.entry = i, .preset = p, .seed = seed, .expected = s.expected.under(p).value_or(Outcome::pass)});
        }
      }
    }

    std::cout << "conformance " << dir.string() << ": " << entries.size() - malformed << " scenarios";
    if (malformed) std::cout << " (+" << malformed << " malformed)";
    std::cout << ", seeds 1.." << args->seeds;
    if (args->shard) std::cout << ", shard " << args->shard->to_string();
    std::cout << ", " << runs.size() << " runs\n" << std::flush;

    ProgressLine progress{"conformance"};
    std::atomic<std::size_t> nonconforming{0};
    run_parallel(
        runs.size(), args->jobs,
        [&](std::size_t i) {
          Run& r = runs[i];
          const auto started = std::chrono::steady_clock::now();
          Result<scenarios::RunReport> rep =
              scenarios::run_scenario(entries[r.entry].loaded.value(), {.seed = r.seed, .preset = r.preset});
          r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
          if (!rep) {
            r.error = rep.error().describe();
          } else {
            r.ran = true;
            r.passed = rep->passed;
            r.trace_hash = rep->trace_hash;
            for (auto& e : rep->expectations) {
              if (!e.passed) r.failed.push_back(std::move(e));
            }
          }
          if (!r.conforming()) nonconforming.fetch_add(1, std::memory_order_relaxed);
        },
        [&](std::size_t i) {
          const Run& r = runs[i];
          if (r.conforming()) return;
          progress.clear();
          std::cout << (r.ran ? "NONCONFORMING " : "ERROR ")
                    << test_name(entries[r.entry].loaded.value().name, r.preset, r.seed) << ": " << verdict(r) << "\n";
          for (const auto& e : r.failed) std::cout << "    " << e.name << ": " << e.detail << "\n";
          std::cout << "    replay: " << replay_command(entries[r.entry].file, r.seed, r.preset) << "\n" << std::flush;
        },
        [&](std::size_t done) { progress.update(done, runs.size(), nonconforming.load(std::memory_order_relaxed)); });
    progress.clear();

    // The table: one row per (scenario, preset), in file order.
    struct Row {
      std::string scenario, preset, expect, seed1 = "-";
      std::size_t conforming = 0, total = 0;
    };
    std::vector<Row> rows;
    std::map<std::pair<std::size_t, Preset>, std::size_t> row_of;
    for (const Run& r : runs) {
      auto [it, fresh] = row_of.try_emplace({r.entry, r.preset}, rows.size());
      if (fresh) {
        rows.push_back(Row{entries[r.entry].loaded.value().name, std::string(to_string(r.preset)),
                           std::string(to_string(r.expected))});
      }
      Row& row = rows[it->second];
      ++row.total;
      row.conforming += r.conforming();
      if (r.seed == 1) row.seed1 = r.ran ? r.trace_hash : "error";
    }
    std::size_t width = 8;
    for (const Row& row : rows) width = std::max(width, row.scenario.size());
    for (const Entry& e : entries) {
      if (!e.loaded) width = std::max(width, e.file.size());
    }
    std::cout << std::left << std::setw(static_cast<int>(width)) << "scenario" << "  " << std::setw(13) << "preset"
              << "  " << std::setw(6) << "expect" << "  " << std::setw(10) << "conforming" << "  seed 1 trace_hash\n";
    for (const Row& row : rows) {
      std::cout << std::setw(static_cast<int>(width)) << row.scenario << "  " << std::setw(13) << row.preset << "  "
                << std::setw(6) << row.expect << "  " << std::setw(10)
                << (std::to_string(row.conforming) + "/" + std::to_string(row.total)) << "  " << row.seed1
                << (row.conforming == row.total ? "" : "   <- NONCONFORMING") << "\n";
    }
    for (const Entry& e : entries) {
      if (!e.loaded) std::cout << std::setw(static_cast<int>(width)) << e.file << "  MALFORMED (see errors above)\n";
    }

    std::size_t conforming = 0, errors = 0;
    for (const Run& r : runs) {
      conforming += r.conforming();
      errors += !r.ran;
    }
    std::cout << runs.size() << " runs: " << conforming << " conforming, " << runs.size() - conforming
              << " not conforming";
    if (errors) std::cout << " (" << errors << " could not run)";
    if (malformed) std::cout << "; " << malformed << " malformed scenario files";
    std::cout << "\n";

    if (junit_file.is_open()) {
      std::vector<JUnitCase> cases;
      for (const Entry& e : entries) {
        if (e.loaded) continue;
        JUnitCase c{.name = fs::path(e.file).filename().string() + "[load]", .classname = classname};
        c.error = JUnitFailure{"malformed scenario file: " + std::to_string(e.loaded.errors.size()) + " errors",
                               e.loaded.describe()};
        cases.push_back(std::move(c));
      }
      for (const Run& r : runs) {
        const std::string replay = replay_command(entries[r.entry].file, r.seed, r.preset);
        JUnitCase c{.name = test_name(entries[r.entry].loaded.value().name, r.preset, r.seed),
                    .classname = classname,
                    .seconds = r.seconds};
        if (!r.ran) {
          c.error = JUnitFailure{verdict(r), "replay: " + replay + "\n"};
        } else if (!r.conforming()) {
          std::string text;
          for (const auto& e : r.failed) text += e.name + ": " + e.detail + "\n";
          c.failure = JUnitFailure{verdict(r), text + "replay: " + replay + "\n"};
        }
        if (r.ran) c.system_out = "trace_hash " + r.trace_hash + "\nreplay: " + replay + "\n";
        cases.push_back(std::move(c));
      }
      write_junit(junit_file, "keel conformance", cases);
      junit_file.flush();
      if (!junit_file) {
        std::cerr << "keel conformance: failed writing JUnit file '" << args->junit << "'\n";
        return kExitInternal;
      }
    }

    if (malformed) return kExitInvalid;
    if (errors) return kExitInternal;
    return conforming == runs.size() ? kExitOk : kExitFailed;
  };
}

}  // namespace keel::cli
