// keel/scenarios/report_page.h — one run as a self-contained HTML page (`keel report`).
//
// Purpose: see how a run went over virtual time without writing a trace script. Per provider:
// requests, failures and breaker refusals per time bucket, breaker state, latency of successes
// (p50 line, max dots); fault windows shaded; the recovery measures marked (the run JSON's
// `recovery` array, when the run has one); the verdict, expectations, recovery and faults as
// tables.
//
// Report data: the `keel run --json` object plus a "timeline" member (timeline.h) — what
// `keel run FILE --report-data RUN.json` writes and `keel report RUN.json` reads. A plain
// `--json` output has no timeline and is refused with a message saying how to write one.
//
// Contract:
//  - render_report_page(data) is one HTML document with its CSS, JavaScript and data inline:
//    no network access, no external file. The data is embedded as JSON (with every '<'
//    escaped); the script draws SVG from it, then sets `data-render="ok"` on <body> and writes
//    "keel-report: rendered" into #render-status; any script error sets `data-render="error"`
//    and the message there instead (what the headless-browser test checks).
//  - Deterministic: the same data gives the same bytes.
//  - check_report_data() accepts exactly what the page can draw: every field the script reads,
//    with its type and bounds (providers <= kMaxProviders, faults <= kMaxFaults, buckets
//    1..TimelineRecorder::kMaxBuckets and every series that long, recovery <= kMaxFaults);
//    each error names its JSON pointer. report_page_from_file() reads at most kMaxReportFile
//    bytes.
//  - report_page_from_file(path): a scenario file (it has "keel_scenario") is loaded, run on
//    the simulator with `seed`/`preset` and drawn; anything else is read as report data
//    (then seed and preset must be unset). Errors: invalid input (loader or data errors,
//    unreadable file, seed/preset given with report data) or internal (the run failed).
//
// Example:
//   ReportPage page = report_page_from_file("scenarios/suite/breaker_recovers.json", 7, {});
//   if (!page.html) { std::cerr << page.describe(); return page.internal ? 3 : 2; }
//   std::ofstream{"report.html"} << *page.html;
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "keel/core/result.h"
#include "keel/scenarios/loader.h"
#include "keel/scenarios/runner.h"
#include "keel/scenarios/scenario.h"

namespace keel::scenarios {

inline constexpr std::size_t kMaxReportFile = 64u << 20;  // bytes of a RUN.json or scenario file
inline constexpr std::size_t kMaxProviders = 1000;
inline constexpr std::size_t kMaxFaults = 10000;

// Runs `scenario` with a TimelineRecorder beside options.extra_sink and returns the report data
// (to_json(report) + "timeline"). Errors as run_scenario.
Result<nlohmann::json> run_for_report(const Scenario& scenario, const RunOptions& options = {});

// The report data of a finished run: to_json(report) with `timeline` added.
nlohmann::json report_data(const RunReport& report, nlohmann::json timeline);

// Every reason `data` cannot be drawn (empty = it can).
std::vector<ValidationError> check_report_data(const nlohmann::json& data);

// The page. Requires check_report_data(data) to be empty.
std::string render_report_page(const nlohmann::json& data);

struct ReportPage {
  std::string source;
  std::optional<std::string> html;      // engaged iff errors is empty
  std::vector<ValidationError> errors;  // invalid input
  bool internal = false;                // the errors are an internal failure of the run
  // One line per error, "<source>: <error>\n".
  std::string describe() const;
};

ReportPage report_page_from_file(const std::filesystem::path& path, std::optional<std::uint64_t> seed,
                                 std::optional<Preset> preset);

}  // namespace keel::scenarios
