// `keel recovery FILE...`: the recovery benchmark. Every file (one provider fault each: a
// fault class) runs under both presets for seeds 1..N; for each cell it reports p50/p99/max
// of detect, restore and back_on_primary (FORMAT.md, "Recovery measures"), how often each
// never happened, the calls spent per recovered task, and the floor the configuration allows
// for each measure. `-o FILE` writes the Markdown page (docs/recovery.md is this output:
// regenerate it with scripts/recovery-doc, never edit its tables by hand).
#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include "commands.h"
#include "keel/config/duration.h"
#include "keel/scenarios/loader.h"
#include "keel/scenarios/resolve_runtime.h"
#include "keel/scenarios/runner.h"
#include "parallel_runs.h"

namespace keel::cli {
namespace {

using scenarios::Preset;
using scenarios::RecoveryWindow;
using scenarios::Scenario;

constexpr std::array kPresets = {Preset::keel_default, Preset::camel_parity};

struct Samples {
  std::vector<Duration> values;
  std::int64_t never = 0;
  void add(const std::optional<Duration>& d) {
    if (d) values.push_back(*d);
    else ++never;
  }
};

struct Cell {
  std::size_t file = 0;
  Preset preset = Preset::keel_default;
  Samples detect, restore, back;
  std::int64_t attempts = 0, tasks_ok = 0;  // summed over seeds: calls per recovered task
  std::int64_t runs = 0, passed = 0;
  bool back_applies = false;
  std::string error;
};

// ---- floors: what the configuration allows at best -------------------------------------------

struct Floors {
  bool computed = false;  // false: the target's latency is random (no useful floor)
  std::optional<Duration> detect, restore, back;  // nullopt: cannot happen
};

// The smallest latency the model can draw (nullopt: exponential and lognormal draw near 0, so a
// floor built on them would say nothing).
std::optional<Duration> min_latency(const sim::LatencyModel& l) {
  if (l.kind == sim::LatencyModel::Kind::fixed || l.kind == sim::LatencyModel::Kind::uniform) return l.a;
  return std::nullopt;
}

// When a streamed answer's token `n` (0-based) is due: the first at `latency`, then one per
// token_interval (sim/mock_provider.h, "Streams").
Duration token_due(const scenarios::Provider& target, Duration latency, std::int64_t n) {
  return latency + target.token_interval * n;
}

// The earliest a whole answer is in: a stream's last token (the first at `latency`); a
// non-streamed answer comes one interval later (latency + output_tokens x token_interval).
Duration whole_answer(const scenarios::Provider& p, Duration latency) {
  return token_due(p, latency, std::max<std::int64_t>(p.output_tokens - 1, 0));
}

// How long the target takes to show the fault on one attempt (nullopt: it never does).
std::optional<Duration> failure_latency(const faults::FaultSpec& f, const scenarios::Provider& target, Duration latency,
                                        const scenarios::RuntimeConfig& cfg) {
  using sim::FaultKind;
  const std::int64_t after = f.after_tokens.value_or(target.output_tokens / 2);
  switch (f.kind) {
    // A cut shows when its next token was due; a stall only by the idle limit, or by the
    // close that ends a finite stall; without either it never shows.
    case FaultKind::stream_cut: return token_due(target, latency, after);
    case FaultKind::stream_stall: {
      const Duration silent_from = token_due(target, latency, std::max<std::int64_t>(after - 1, 0));
      if (cfg.manager.stream.idle) return silent_from + *cfg.manager.stream.idle;
      if (f.stall) return silent_from + *f.stall;
      return std::nullopt;
    }
    case FaultKind::server_error:
    case FaultKind::malformed_response: return latency;
    case FaultKind::network_reset: return latency / 2;
    case FaultKind::rate_limit:
    case FaultKind::context_overflow:
    case FaultKind::quota_exhausted:
    case FaultKind::auth_error: return latency / 10;
    case FaultKind::hang: return cfg.manager.attempt_timeout;  // a silent route: only a timeout shows it
    case FaultKind::slow: {
      const Duration slowest = latency + (f.extra_latency ? f.extra_latency->kind == sim::LatencyModel::Kind::fixed
                                                                  ? f.extra_latency->a
                                                                  : Duration::max() / 4
                                                          : Duration{});
      if (cfg.manager.attempt_timeout && slowest > *cfg.manager.attempt_timeout) return cfg.manager.attempt_timeout;
      return std::nullopt;  // every answer arrives: nothing to detect
    }
    default: return latency;
  }
}

ErrorCode code_of(sim::FaultKind k, const scenarios::RuntimeConfig& cfg) {
  using sim::FaultKind;
  switch (k) {
    case FaultKind::stream_stall: return cfg.manager.stream.idle ? ErrorCode::timeout : ErrorCode::network;
    case FaultKind::stream_cut: return ErrorCode::network;
    case FaultKind::rate_limit: return ErrorCode::rate_limited;
    case FaultKind::hang:
    case FaultKind::slow: return ErrorCode::timeout;
    case FaultKind::context_overflow: return ErrorCode::context_overflow;
    case FaultKind::quota_exhausted: return ErrorCode::quota_exhausted;
    case FaultKind::auth_error: return ErrorCode::auth;
    case FaultKind::network_reset: return ErrorCode::network;
    case FaultKind::malformed_response: return ErrorCode::malformed_response;
    default: return ErrorCode::server_error;
  }
}

// The smallest wait before retry n (1-based) the backoff and retry-after allow.
Duration min_backoff(const scenarios::RuntimeConfig& cfg, const faults::FaultSpec& f, int n) {
  const policy::RetryConfig& r = cfg.manager.retry;
  Duration d{};
  if (r.backoff.jitter == policy::Jitter::none || r.backoff.jitter == policy::Jitter::equal) {
    const double c = static_cast<double>(r.backoff.base.count()) * std::pow(r.backoff.multiplier, n - 1);
    d = std::min(Duration{static_cast<std::int64_t>(std::min(c, 1e18))}, r.backoff.max);
    if (r.backoff.jitter == policy::Jitter::equal) d /= 2;
  }
  if (f.kind == sim::FaultKind::rate_limit && r.honor_retry_after && f.retry_after) d = std::max(d, *f.retry_after);
  return d;
}

// Detect: the earlier of one call's fallback (its attempts on the target all failed) and the
// breaker's opening (min_calls failures, the workload's arrivals giving one task per
// interval). Restore: the first task to leave (after its attempts, or refused by the opened
// breaker) is answered by the fallback; with a fault that spares some requests, an answer by
// the target itself. back_on_primary: one whole answer.
Floors floors_of(const Scenario& s, const faults::FaultSpec& f, Preset preset) {
  const scenarios::RuntimeConfig cfg = scenarios::resolve_runtime(s, preset);
  Floors out;
  const scenarios::Provider* target = s.find_provider(f.target);
  const scenarios::Provider* fallback = cfg.models.size() > 1 ? s.find_provider(cfg.models[1]) : nullptr;
  if (!target || !min_latency(target->latency)) return out;
  const Duration latency = *min_latency(target->latency);
  out.computed = true;
  out.back = whole_answer(*target, latency);
  const std::optional<Duration> e = failure_latency(f, *target, latency, cfg);
  if (!e) return out;
  // An overflow is never retried; without the context-window fallback nothing leaves the model.
  if (f.kind == sim::FaultKind::context_overflow && !cfg.manager.context_window_fallback) return out;
  // stream_recovery `fail` ends the call on a stream that broke mid-answer: no retry, no
  // fallback, so nothing ever leaves the model.
  const bool mid_stream = f.kind == sim::FaultKind::stream_cut || f.kind == sim::FaultKind::stream_stall;
  if (mid_stream && cfg.manager.stream.recovery == model::StreamPolicy::Recovery::fail) return out;
  const bool retried = cfg.manager.retry.retryable.contains(code_of(f.kind, cfg));
  const int attempts = retried ? std::max(cfg.manager.retry.max_attempts, 1) : 1;
  Duration one_call = *e * attempts;
  for (int n = 1; n < attempts; ++n) one_call += min_backoff(cfg, f, n);
  Duration detect = one_call;
  const auto* agents = std::get_if<scenarios::AgentsWorkload>(&s.workload);
  if (cfg.manager.breaker && agents && agents->start.kind == scenarios::Start::Kind::every &&
      cfg.manager.breaker->counts_as_failure[code_of(f.kind, cfg)] == policy::BreakerCodeClass::failure) {
    // Task i (arriving at i * every) records its j-th failure no earlier than i * every + j * e.
    const std::uint32_t needed = std::max<std::uint32_t>(1, cfg.manager.breaker->min_calls);
    std::vector<Duration> failures;
    for (std::uint32_t i = 0; i < needed; ++i)
      for (int j = 1; j <= attempts; ++j) failures.push_back(agents->start.every * i + *e * j);
    std::nth_element(failures.begin(), failures.begin() + (needed - 1), failures.end());
    detect = std::min(detect, failures[needed - 1]);
  }
  out.detect = detect;
  if (f.probability < 1.0) {
    out.restore = whole_answer(*target, latency);
  } else if (fallback && cfg.manager.fallback_on_error && min_latency(fallback->latency)) {
    // The first task to leave: the one that spent its attempts, or one refused by the breaker
    // once it opened; then the fallback's whole answer.
    out.restore = std::min(one_call, detect) + whole_answer(*fallback, *min_latency(fallback->latency));
  }
  return out;
}

// ---- running the matrix ----------------------------------------------------------------------

void run_cell_seed(const Scenario& s, Cell& cell, std::uint64_t seed) {
  Result<scenarios::RunReport> r = scenarios::run_scenario(s, {.seed = seed, .preset = cell.preset});
  if (!r) {
    cell.error = r.error().describe();
    return;
  }
  ++cell.runs;
  cell.passed += r->passed ? 1 : 0;
  if (r->recovery.empty()) return;
  const RecoveryWindow& w = r->recovery.front();
  cell.detect.add(w.detect);
  cell.restore.add(w.restore);
  cell.back_applies = w.back_on_primary_applies();
  if (w.back_on_primary_applies()) cell.back.add(w.back_on_primary);
  cell.attempts += w.attempts;
  cell.tasks_ok += w.tasks_ok;
}

// Seconds, 2 decimals below 10 s, 1 above ("3.74s", "16.5s").
std::string secs(Duration d) {
  const double s = static_cast<double>(d.count()) / 1e9;
  std::ostringstream os;
  os << std::fixed << std::setprecision(s < 10 ? 2 : 1) << s << "s";
  return os.str();
}

std::string fmt(const std::optional<Duration>& d) { return d ? secs(*d) : "never"; }

std::string floors_text(const Floors& f) {
  if (!f.computed) return "- (random latency)";
  return fmt(f.detect) + " / " + fmt(f.restore) + " / " + fmt(f.back);
}

Duration rank(const std::vector<Duration>& sorted, double p) {
  const auto i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(i, 1, sorted.size()) - 1];
}

// "p50 / p99 / max" with " (never: n)" when some seeds never got there.
std::string summary(Samples s, bool applies = true) {
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

void write_table(std::ostream& os, const std::vector<std::string>& names, const std::vector<Scenario>& scenarios,
                 const std::vector<Cell>& cells) {
  os << "| class | fault | preset | detect p50 / p99 / max | restore p50 / p99 / max | back_on_primary p50 / p99 / max "
        "| calls per recovered task | floor: detect / restore / back | passed |\n";
  os << "|---|---|---|---|---|---|---|---|---|\n";
  for (const Cell& c : cells) {
    const Scenario& s = scenarios[c.file];
    const faults::FaultSpec& f = s.faults.front();
    const Floors fl = floors_of(s, f, c.preset);
    std::ostringstream calls;
    calls << std::fixed << std::setprecision(2)
          << (c.tasks_ok ? static_cast<double>(c.attempts) / static_cast<double>(c.tasks_ok) : 0.0);
    os << "| " << names[c.file] << " | " << fault_text(f) << " | " << to_string(c.preset) << " | "
       << summary(c.detect) << " | " << summary(c.restore) << " | " << summary(c.back, c.back_applies) << " | "
       << (c.tasks_ok ? calls.str() : "-") << " | " << floors_text(fl) << " | " << c.passed << "/" << c.runs
       << " |\n";
  }
}

constexpr std::string_view kBegin = "<!-- keel recovery: begin (generated, do not edit) -->";
constexpr std::string_view kEnd = "<!-- keel recovery: end -->";

// Writes `generated` into `path` between the markers (the page's prose stays as written), or
// as the whole file when it has no markers yet.
bool write_into(const std::string& path, const std::string& generated) {
  std::string text;
  if (std::ifstream in{path}) text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  const std::string block = std::string(kBegin) + "\n" + generated + std::string(kEnd);
  const std::size_t b = text.find(kBegin);
  const std::size_t e = b == std::string::npos ? std::string::npos : text.find(kEnd, b);
  if (e == std::string::npos) {
    text = block + "\n";
  } else {
    text.replace(b, e + kEnd.size() - b, block);
  }
  std::ofstream out{path};
  out << text;
  return static_cast<bool>(out);
}

}  // namespace

Command add_recovery(CLI::App& app) {
  auto* cmd = app.add_subcommand("recovery", "Recovery benchmark: each file x both presets x seeds 1..N");
  auto files = std::make_shared<std::vector<std::string>>();
  auto seeds = std::make_shared<std::uint64_t>(200);
  auto jobs = std::make_shared<unsigned>(default_jobs());
  auto out = std::make_shared<std::string>();
  cmd->add_option("files", *files, "Scenario files, one provider fault each (a fault class)")->required();
  cmd->add_option("--seeds", *seeds, "Seeds 1..N per file and preset")->check(CLI::Range(1, 100000));
  cmd->add_option("--jobs,-j", *jobs, "Parallel runs")->check(CLI::Range(1, 1024));
  cmd->add_option("-o,--output", *out,
                  "Write the tables into this Markdown file, between its keel-recovery markers (default: stdout)");
  return [cmd, files, seeds, jobs, out]() -> int {
    if (!*cmd) return -1;
    std::vector<Scenario> scenarios;
    std::vector<std::string> names;
    for (const std::string& file : *files) {
      scenarios::LoadResult r = scenarios::load_scenario_file(file);
      if (!r.ok()) {
        std::cerr << r.describe();
        return kExitInvalid;
      }
      if (r.scenario->faults.empty() || faults::is_tool_target(r.scenario->faults.front().target)) {
        std::cerr << file << ": the first fault must be a provider fault (the class being measured)\n";
        return kExitInvalid;
      }
      names.push_back(r.scenario->name);
      scenarios.push_back(std::move(*r.scenario));
    }
    std::vector<Cell> cells;
    for (std::size_t i = 0; i < scenarios.size(); ++i)
      for (Preset p : kPresets) cells.push_back(Cell{.file = i, .preset = p});
    // One job per cell: a cell's seeds run in order, so its samples are the same for every -j.
    run_parallel(
        cells.size(), *jobs,
        [&](std::size_t i) {
          for (std::uint64_t seed = 1; seed <= *seeds && cells[i].error.empty(); ++seed)
            run_cell_seed(scenarios[cells[i].file], cells[i], seed);
        },
        [](std::size_t) {});
    for (const Cell& c : cells) {
      if (!c.error.empty()) {
        std::cerr << "keel recovery: " << names[c.file] << ": " << c.error << "\n";
        return kExitInternal;
      }
    }
    std::ostringstream page;
    page << "Seeds 1.." << *seeds << " per row.\n\n";
    write_table(page, names, scenarios, cells);
    if (out->empty()) {
      std::cout << page.str();
      return kExitOk;
    }
    if (!write_into(*out, page.str())) {
      std::cerr << "keel recovery: cannot write " << *out << "\n";
      return kExitInvalid;
    }
    return kExitOk;
  };
}

}  // namespace keel::cli
