// `keel recovery FILE...`: the recovery benchmark. Every file (a fault class: one or more
// provider fault windows) runs under both presets for seeds 1..N; one row per (file, fault
// window, preset) reports p50/p99/max of detect, restore and back_on_primary (FORMAT.md,
// "Recovery measures"), how often each never happened, the calls spent per recovered task, and
// the floor the configuration allows for each measure. `--headline FILE` also writes the
// headline table (p50 of each measure, both presets side by side, a row per fault window) into
// FILE between its "keel recovery headline" markers: the README's recovery figures.
// The cells and floors are keel/scenarios/recovery_bench.h's; this command loads the files,
// runs the cells in parallel and prints. `-o FILE` writes the Markdown page (docs/recovery.md is
// this output: regenerate it with scripts/recovery-doc, never edit its tables by hand).
#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>

#include "commands.h"
#include "keel/config/duration.h"
#include "keel/scenarios/loader.h"
#include "keel/scenarios/recovery_bench.h"
#include "parallel_runs.h"

namespace keel::cli {
namespace {

using scenarios::Preset;
using scenarios::RecoveryCell;
using scenarios::RecoveryFloors;
using scenarios::Scenario;

constexpr std::array kPresets = {Preset::keel_default, Preset::camel_parity};

// Seconds, 2 decimals below 10 s, 1 above ("3.74s", "16.5s").
std::string secs(Duration d) {
  const double s = static_cast<double>(d.count()) / 1e9;
  std::ostringstream os;
  os << std::fixed << std::setprecision(s < 10 ? 2 : 1) << s << "s";
  return os.str();
}

std::string fmt(const std::optional<Duration>& d) { return d ? secs(*d) : "never"; }

std::string floors_text(const RecoveryFloors& f) {
  if (!f.computed) return "- (random latency)";
  return fmt(f.detect) + " / " + fmt(f.restore) + " / " + fmt(f.back);
}

Duration rank(const std::vector<Duration>& sorted, double p) {
  const auto i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(i, 1, sorted.size()) - 1];
}

// "p50 / p99 / max" with " (never: n)" when some seeds never got there.
std::string summary(scenarios::RecoverySamples s, bool applies = true) {
  if (!applies) return "n/a";
  std::sort(s.values.begin(), s.values.end());
  std::string out = s.values.empty() ? "never"
                                     : secs(rank(s.values, 0.5)) + " / " + secs(rank(s.values, 0.99)) + " / " +
                                           secs(s.values.back());
  if (s.never && !s.values.empty()) out += " (never: " + std::to_string(s.never) + ")";
  return out;
}

std::string fault_text(const faults::FaultSpec& f) {
  std::ostringstream os;
  os << faults::fault_kind_name(f.kind) << " on " << f.target;
  if (f.probability < 1.0) os << " p=" << f.probability;
  os << ", " << config::format_duration(f.from) << ".." << (f.until ? config::format_duration(*f.until) : "end");
  return os.str();
}

// One row: a fault window of a file under a preset.
void write_row(std::ostream& os, const std::string& name, const Scenario& s, Preset preset,
               const scenarios::RecoveryWindowCell& w, const RecoveryCell& c) {
  const faults::FaultSpec& f = s.faults[w.fault];
  const RecoveryFloors fl = scenarios::recovery_floors(s, f, preset);
  std::ostringstream calls;
  calls << std::fixed << std::setprecision(2)
        << (w.tasks_ok ? static_cast<double>(w.attempts) / static_cast<double>(w.tasks_ok) : 0.0);
  os << "| " << name << " | " << fault_text(f) << " | " << to_string(preset) << " | " << summary(w.detect) << " | "
     << summary(w.restore) << " | " << summary(w.back, w.back_applies) << " | " << (w.tasks_ok ? calls.str() : "-")
     << " | " << floors_text(fl) << " | " << c.passed << "/" << c.runs << " |\n";
}

// Rows by file, then fault window, then preset (`cells`: per file, one per preset, in order).
void write_table(std::ostream& os, const std::vector<std::string>& names, const std::vector<Scenario>& scenarios,
                 const std::vector<RecoveryCell>& cells) {
  os << "| class | fault | preset | detect p50 / p99 / max | restore p50 / p99 / max | back_on_primary p50 / p99 / max "
        "| calls per recovered task | floor: detect / restore / back | passed |\n";
  os << "|---|---|---|---|---|---|---|---|---|\n";
  for (std::size_t file = 0; file < scenarios.size(); ++file) {
    const std::size_t first = file * kPresets.size();
    for (std::size_t k = 0; k < cells[first].windows.size(); ++k) {
      for (std::size_t p = 0; p < kPresets.size(); ++p) {
        const RecoveryCell& c = cells[first + p];
        write_row(os, names[file], scenarios[file], c.preset, c.windows[k], c);
      }
    }
  }
}

// "p50" with " (never: n)" when some seeds never got there (the headline's short form).
std::string median(scenarios::RecoverySamples s, bool applies = true) {
  if (!applies) return "n/a";
  if (s.values.empty()) return "never";
  std::sort(s.values.begin(), s.values.end());
  return secs(rank(s.values, 0.5)) + (s.never ? " (never: " + std::to_string(s.never) + ")" : "");
}

// The headline: per fault window, each preset's p50 detect / restore / back_on_primary.
void write_headline(std::ostream& os, const std::vector<std::string>& names, const std::vector<Scenario>& scenarios,
                    const std::vector<RecoveryCell>& cells, std::uint64_t seeds) {
  os << "| class | fault | keel_default: detect / restore / back on primary | camel_parity: detect / restore / "
        "back on primary |\n|---|---|---|---|\n";
  for (std::size_t file = 0; file < scenarios.size(); ++file) {
    const std::size_t first = file * kPresets.size();
    for (std::size_t k = 0; k < cells[first].windows.size(); ++k) {
      os << "| " << names[file] << " | " << fault_text(scenarios[file].faults[cells[first].windows[k].fault]);
      for (std::size_t p = 0; p < kPresets.size(); ++p) {
        const scenarios::RecoveryWindowCell& w = cells[first + p].windows[k];
        os << " | " << median(w.detect) << " / " << median(w.restore) << " / " << median(w.back, w.back_applies);
      }
      os << " |\n";
    }
  }
  os << "\nMedians over seeds 1.." << seeds << "; p99, max, calls per recovered task and the floors are in "
     << "`docs/recovery.md`.\n";
}

struct Markers {
  std::string_view begin, end;
  bool whole_file_if_absent;  // a new page: the block becomes the file
};
constexpr Markers kPage{"<!-- keel recovery: begin (generated, do not edit) -->", "<!-- keel recovery: end -->", true};
constexpr Markers kHeadline{"<!-- keel recovery headline: begin (generated by scripts/recovery-doc, do not edit) -->",
                            "<!-- keel recovery headline: end -->", false};

// Writes `generated` into `path` between the markers (the rest of the file stays as written);
// false when it cannot, or the file lacks the markers and must not be replaced.
bool write_into(const std::string& path, const std::string& generated, const Markers& m) {
  std::string text;
  if (std::ifstream in{path}) text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  const std::string block = std::string(m.begin) + "\n" + generated + std::string(m.end);
  const std::size_t b = text.find(m.begin);
  const std::size_t e = b == std::string::npos ? std::string::npos : text.find(m.end, b);
  if (e != std::string::npos) {
    text.replace(b, e + m.end.size() - b, block);
  } else if (m.whole_file_if_absent) {
    text = block + "\n";
  } else {
    return false;
  }
  std::ofstream out{path};
  out << text;
  return static_cast<bool>(out);
}

// Loads the classes (`files`); an exit status when one is not a class.
std::optional<int> load_classes(const std::vector<std::string>& files, std::vector<Scenario>& scenarios,
                                std::vector<std::string>& names) {
  for (const std::string& file : files) {
    scenarios::LoadResult r = scenarios::load_scenario_file(file);
    if (!r.ok()) {
      std::cerr << r.describe();
      return kExitInvalid;
    }
    const auto& fs = r.scenario->faults;
    if (std::none_of(fs.begin(), fs.end(), [](const auto& f) { return !faults::is_tool_target(f.target); })) {
      std::cerr << file << ": no provider fault (the class being measured)\n";
      return kExitInvalid;
    }
    names.push_back(r.scenario->name);
    scenarios.push_back(std::move(*r.scenario));
  }
  return std::nullopt;
}

}  // namespace

Command add_recovery(CLI::App& app) {
  auto* cmd = app.add_subcommand("recovery", "Recovery benchmark: each file x both presets x seeds 1..N");
  cmd->footer("Exit status: 0 the tables were printed or written, 2 an invalid file or argument or an unwritable\n"
              "output, 3 a run failed inside keel (internal error).");
  auto files = std::make_shared<std::vector<std::string>>();
  auto seeds = std::make_shared<std::uint64_t>(200);
  auto jobs = std::make_shared<unsigned>(default_jobs());
  auto out = std::make_shared<std::string>();
  auto headline = std::make_shared<std::string>();
  cmd->add_option("files", *files, "Scenario files with provider faults (a fault class each)")->required();
  cmd->add_option("--seeds", *seeds, "Seeds 1..N per file and preset")->check(CLI::Range(1, 100000));
  cmd->add_option("--jobs,-j", *jobs, "Parallel runs")->check(CLI::Range(1, 1024));
  cmd->add_option("-o,--output", *out,
                  "Write the tables into this Markdown file, between its keel-recovery markers (default: stdout)");
  cmd->add_option("--headline", *headline,
                  "Also write the headline table (medians) into this Markdown file, between its "
                  "keel-recovery-headline markers (which it must have)");
  return [cmd, files, seeds, jobs, out, headline]() -> int {
    if (!*cmd) return -1;
    std::vector<Scenario> scenarios;
    std::vector<std::string> names;
    if (const std::optional<int> bad = load_classes(*files, scenarios, names)) return *bad;
    std::vector<RecoveryCell> cells;
    for (std::size_t i = 0; i < scenarios.size(); ++i)
      for (Preset p : kPresets) cells.push_back(RecoveryCell{.file = i, .preset = p});
    // One job per cell: a cell's seeds run in order, so its samples are the same for every -j.
    run_parallel(
        cells.size(), *jobs,
        [&](std::size_t i) { scenarios::run_recovery_cell(scenarios[cells[i].file], cells[i], *seeds); },
        [](std::size_t) {});
    for (const RecoveryCell& c : cells) {
      if (!c.error.empty()) {
        std::cerr << "keel recovery: " << names[c.file] << ": " << c.error << "\n";
        return kExitInternal;
      }
    }
    std::ostringstream page, head;
    page << "Seeds 1.." << *seeds << " per row.\n\n";
    write_table(page, names, scenarios, cells);
    write_headline(head, names, scenarios, cells, *seeds);
    if (out->empty()) std::cout << page.str();
    if (!out->empty() && !write_into(*out, page.str(), kPage)) {
      std::cerr << "keel recovery: cannot write " << *out << "\n";
      return kExitInvalid;
    }
    if (!headline->empty() && !write_into(*headline, head.str(), kHeadline)) {
      std::cerr << "keel recovery: cannot write " << *headline << " (it needs the headline markers)\n";
      return kExitInvalid;
    }
    return kExitOk;
  };
}

}  // namespace keel::cli
