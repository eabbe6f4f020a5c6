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

#include "commands.h"
#include "junit.h"
#include "keel/scenarios/conformance.h"
#include "keel/scenarios/loader.h"
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
using scenarios::ConformanceRun;
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

// The suite named on the command line: its directory (or file), JUnit class name, and every
// scenario file in it, loaded (a malformed one is reported with its pointers).
struct Suite {
  fs::path dir;
  std::string classname;
  std::vector<Entry> entries;
  std::size_t malformed = 0;

  // The loaded scenarios, null where a file did not load (plan_conformance's input).
  std::vector<const scenarios::Scenario*> scenarios() const {
    std::vector<const scenarios::Scenario*> out;
    for (const Entry& e : entries) out.push_back(e.loaded ? &e.loaded.value() : nullptr);
    return out;
  }
  const std::string& name_of(const ConformanceRun& r) const { return entries[r.scenario].loaded.value().name; }
};

// DIR (or the bundled suite) and the *.json files in it, sorted; nullopt after saying why not.
std::optional<std::vector<fs::path>> suite_files(const std::string& arg, Suite& suite) {
  if (arg.empty()) {
    const std::optional<fs::path> bundled = bundled_suite();
    if (!bundled) {
      std::cerr << "keel conformance: cannot find the bundled suite (scenarios/suite); pass DIR\n";
      return std::nullopt;
    }
    suite.dir = *bundled;
    suite.classname = "scenarios/suite";
  } else {
    suite.dir = arg;
    suite.classname = arg;
  }
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_regular_file(suite.dir, ec)) {
    files.push_back(suite.dir);
  } else if (fs::is_directory(suite.dir, ec)) {
    for (const fs::directory_entry& e : fs::directory_iterator(suite.dir, ec)) {
      if (e.path().extension() == ".json" && e.is_regular_file(ec)) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
  } else {
    std::cerr << "keel conformance: " << suite.dir.string() << ": no such directory or file\n";
    return std::nullopt;
  }
  if (files.empty()) {
    std::cerr << "keel conformance: no *.json scenarios in " << suite.dir.string() << "\n";
    return std::nullopt;
  }
  return files;
}

void load_suite(const std::vector<fs::path>& files, Suite& suite) {
  for (const fs::path& f : files) {
    Entry e{f.string(), scenarios::load_scenario_file(f)};
    if (!e.loaded) {
      ++suite.malformed;
      std::cerr << e.loaded.describe();
    }
    suite.entries.push_back(std::move(e));
  }
}

// Runs every planned run on `jobs` threads; prints each non-conforming one (in plan order, with
// its replay command) as it is known, and a progress line meanwhile.
void run_all(std::vector<ConformanceRun>& runs, const Suite& suite, unsigned jobs) {
  const std::vector<const scenarios::Scenario*> scenarios = suite.scenarios();
  ProgressLine progress{"conformance"};
  std::atomic<std::size_t> nonconforming{0};
  run_parallel(
      runs.size(), jobs,
      [&](std::size_t i) {
        ConformanceRun& r = runs[i];
        const auto started = std::chrono::steady_clock::now();
        r.outcome = scenarios::run_outcome(*scenarios[r.scenario], r.seed, r.preset);
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        if (!r.conforming()) nonconforming.fetch_add(1, std::memory_order_relaxed);
      },
      [&](std::size_t i) {
        const ConformanceRun& r = runs[i];
        if (r.conforming()) return;
        progress.clear();
        std::cout << (r.outcome.ran ? "NONCONFORMING " : "ERROR ")
                  << scenarios::conformance_test_name(suite.name_of(r), r.preset, r.seed) << ": "
                  << scenarios::conformance_verdict(r) << "\n";
        for (const auto& e : r.outcome.failed) std::cout << "    " << e.name << ": " << e.detail << "\n";
        std::cout << "    replay: " << replay_command(suite.entries[r.scenario].file, r.seed, r.preset) << "\n"
                  << std::flush;
      },
      [&](std::size_t done) { progress.update(done, runs.size(), nonconforming.load(std::memory_order_relaxed)); });
  progress.clear();
}

// The table (one row per scenario and preset, in file order) and the closing count line.
void print_table(const Suite& suite, const std::vector<ConformanceRun>& runs) {
  const std::vector<scenarios::ConformanceRow> rows = scenarios::conformance_rows(suite.scenarios(), runs);
  std::size_t width = 8;
  for (const auto& row : rows) width = std::max(width, row.scenario.size());
  for (const Entry& e : suite.entries) {
    if (!e.loaded) width = std::max(width, e.file.size());
  }
  const int w = static_cast<int>(width);
  std::cout << std::left << std::setw(w) << "scenario" << "  " << std::setw(13) << "preset" << "  " << std::setw(6)
            << "expect" << "  " << std::setw(10) << "conforming" << "  seed 1 trace_hash\n";
  for (const auto& row : rows) {
    std::cout << std::setw(w) << row.scenario << "  " << std::setw(13) << row.preset << "  " << std::setw(6)
              << row.expect << "  " << std::setw(10)
              << (std::to_string(row.conforming) + "/" + std::to_string(row.total)) << "  " << row.seed1
              << (row.conforming == row.total ? "" : "   <- NONCONFORMING") << "\n";
  }
  for (const Entry& e : suite.entries) {
    if (!e.loaded) std::cout << std::setw(w) << e.file << "  MALFORMED (see errors above)\n";
  }
}

struct Tally {
  std::size_t conforming = 0, errors = 0;
};

Tally print_summary(const Suite& suite, const std::vector<ConformanceRun>& runs) {
  Tally t;
  for (const ConformanceRun& r : runs) {
    t.conforming += r.conforming();
    t.errors += !r.outcome.ran;
  }
  std::cout << runs.size() << " runs: " << t.conforming << " conforming, " << runs.size() - t.conforming
            << " not conforming";
  if (t.errors) std::cout << " (" << t.errors << " could not run)";
  if (suite.malformed) std::cout << "; " << suite.malformed << " malformed scenario files";
  std::cout << "\n";
  return t;
}

// One testcase per malformed file and per run.
std::vector<JUnitCase> junit_cases(const Suite& suite, const std::vector<ConformanceRun>& runs) {
  std::vector<JUnitCase> cases;
  for (const Entry& e : suite.entries) {
    if (e.loaded) continue;
    JUnitCase c{.name = fs::path(e.file).filename().string() + "[load]", .classname = suite.classname};
    c.error = JUnitFailure{"malformed scenario file: " + std::to_string(e.loaded.errors.size()) + " errors",
                           e.loaded.describe()};
    cases.push_back(std::move(c));
  }
  for (const ConformanceRun& r : runs) {
    const std::string replay = replay_command(suite.entries[r.scenario].file, r.seed, r.preset);
    JUnitCase c{.name = scenarios::conformance_test_name(suite.name_of(r), r.preset, r.seed),
                .classname = suite.classname,
                .seconds = r.seconds};
    if (!r.outcome.ran) {
      c.error = JUnitFailure{scenarios::conformance_verdict(r), "replay: " + replay + "\n"};
    } else if (!r.conforming()) {
      std::string text;
      for (const auto& e : r.outcome.failed) text += e.name + ": " + e.detail + "\n";
      c.failure = JUnitFailure{scenarios::conformance_verdict(r), text + "replay: " + replay + "\n"};
    }
    if (r.outcome.ran) c.system_out = "trace_hash " + r.outcome.trace_hash + "\nreplay: " + replay + "\n";
    cases.push_back(std::move(c));
  }
  return cases;
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
    Suite suite;
    const std::optional<std::vector<fs::path>> files = suite_files(args->dir, suite);
    if (!files) return kExitInvalid;
    std::ofstream junit_file;
    if (!args->junit.empty()) {
      junit_file.open(args->junit);
      if (!junit_file) {
        std::cerr << "keel conformance: cannot write JUnit file '" << args->junit << "'\n";
        return kExitInvalid;
      }
    }
    load_suite(*files, suite);
    const std::optional<Shard> shard = args->shard;
    std::vector<ConformanceRun> runs = scenarios::plan_conformance(
        suite.scenarios(), args->seeds, parse_preset(args->preset),
        [shard](std::uint64_t position) { return !shard || shard->owns(position); });

    std::cout << "conformance " << suite.dir.string() << ": " << suite.entries.size() - suite.malformed << " scenarios";
    if (suite.malformed) std::cout << " (+" << suite.malformed << " malformed)";
    std::cout << ", seeds 1.." << args->seeds;
    if (shard) std::cout << ", shard " << shard->to_string();
    std::cout << ", " << runs.size() << " runs\n" << std::flush;

    run_all(runs, suite, args->jobs);
    print_table(suite, runs);
    const Tally tally = print_summary(suite, runs);
    if (junit_file.is_open()) {
      write_junit(junit_file, "keel conformance", junit_cases(suite, runs));
      junit_file.flush();
      if (!junit_file) {
        std::cerr << "keel conformance: failed writing JUnit file '" << args->junit << "'\n";
        return kExitInternal;
      }
    }
    if (suite.malformed) return kExitInvalid;
    if (tally.errors) return kExitInternal;
    return tally.conforming == runs.size() ? kExitOk : kExitFailed;
  };
}

}  // namespace keel::cli
