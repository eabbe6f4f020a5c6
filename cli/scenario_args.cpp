#include "scenario_args.h"

#include <iomanip>
#include <iostream>

#include "keel/config/duration.h"
#include "keel/scenarios/loader.h"

namespace keel::cli {

void add_preset_option(CLI::App* cmd, std::string& preset) {
  cmd->add_option("--preset", preset, "Replace the file's runtime.preset")
      ->check(CLI::IsMember({"keel_default", "camel_parity"}));
}

std::optional<scenarios::Preset> parse_preset(const std::string& preset) {
  if (preset.empty()) return std::nullopt;
  return scenarios::preset_from_string(preset);
}

std::optional<scenarios::Scenario> load_or_report(const std::string& file, bool json) {
  scenarios::LoadResult r = scenarios::load_scenario_file(file);
  if (!r.ok()) {
    std::cerr << r.describe();
    if (json) {
      nlohmann::json errors = nlohmann::json::array();
      for (const scenarios::ValidationError& e : r.errors) {
        nlohmann::json one = {{"pointer", e.pointer}, {"message", e.message}};
        if (e.line > 0) {
          one["line"] = e.line;
          one["column"] = e.column;
        }
        errors.push_back(std::move(one));
      }
      const nlohmann::json out = {{"file", file}, {"valid", false}, {"errors", std::move(errors)}};
      std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    return std::nullopt;
  }
  return std::move(*r.scenario);
}

void print_report(std::ostream& os, const scenarios::RunReport& r) {
  auto ms = [](Duration d) { return scenarios::format_duration_human(d); };
  os << (r.passed ? "PASS " : "FAIL ") << r.scenario << "  seed " << r.seed << "  preset " << to_string(r.preset);
  if (r.live) {
    os << "  live (real time: not reproducible, so no trace hash)";
  } else {
    os << "  trace_hash " << r.trace_hash;
  }
  if (r.expectations.empty()) os << "  (no expectations: nothing was checked)";
  os << "\n";
  os << "  tasks " << r.tasks.succeeded << "/" << r.tasks.total << " succeeded, " << r.tasks.failed << " failed, "
     << r.tasks.cancelled << " cancelled";
  if (r.unfinished) os << " (" << r.unfinished << " unfinished at the horizon)";
  os << "; latency p50 " << ms(r.latency_p50) << " p99 " << ms(r.latency_p99) << " max " << ms(r.latency_max)
     << " (succeeded: p50 " << ms(r.latency_ok_p50) << " p99 " << ms(r.latency_ok_p99) << " max "
     << ms(r.latency_ok_max) << "); virtual end " << ms(r.virtual_end) << "\n";
  if (!r.failures.empty()) {
    os << "  failures";
    for (const auto& [cause, n] : r.failures) os << " " << cause << "=" << n;
    os << "\n";
  }
  for (const scenarios::RecoveryWindow& w : r.recovery) {
    auto measure = [&ms](const std::optional<Duration>& d) { return d ? ms(*d) : std::string("never"); };
    os << "  recovery fault " << w.fault << " (" << w.target << ", " << ms(w.from) << ".." << ms(w.until)
       << "): detect " << measure(w.detect) << ", restore " << measure(w.restore) << ", back_on_primary "
       << (w.back_on_primary_applies() ? measure(w.back_on_primary) : std::string("n/a")) << "\n";
  }
  os << "  calls";
  for (const auto& [p, n] : r.calls) os << " " << p << "=" << n;
  os << "; retries " << r.retries << "; fallbacks " << r.fallbacks << "; summarizations " << r.summarizations;
  os << "; breaker opens";
  for (const auto& [p, n] : r.breaker_opens) os << " " << p << "=" << n;
  os << "\n";
  if (r.task_errors.count) {
    os << "  " << r.task_errors.count << " task(s) failed with an internal error, first:";
    for (const std::string& e : r.task_errors.first) os << "\n    " << e;
    os << "\n";
  }
  for (const auto& e : r.expectations) {
    os << "  " << (e.passed ? "ok   " : "FAIL ") << std::left << std::setw(40) << e.name << " " << e.detail << "\n";
  }
}

}  // namespace keel::cli
