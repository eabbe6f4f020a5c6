// `keel run FILE`: one scenario, one seed; a verdict, a report and a replayable trace.
#include <fstream>
#include <iostream>

#include "commands.h"
#include "keel/live/serve/live_run.h"
#include "keel/scenarios/chrome_trace.h"
#include "keel/scenarios/loader.h"
#include "keel/scenarios/resolve_runtime.h"
#include "keel/scenarios/report_page.h"
#include "keel/scenarios/runner.h"
#include "keel/scenarios/timeline.h"
#include "scenario_args.h"

namespace keel::cli {
namespace {

struct Args {
  std::string file;
  std::optional<std::uint64_t> seed;
  std::string preset;
  bool json = false;
  std::string trace;
  std::string chrome_trace;
  std::string report_data;
  bool live = false;
  double time_scale = 1.0;
  bool stream = false;
};

// The files a run writes besides its report, and the sinks that feed them.
struct Outputs {
  std::ofstream trace_file;
  std::ofstream chrome_file;
  std::optional<scenarios::ChromeTraceWriter> chrome;
  std::ofstream report_data_file;
  std::optional<scenarios::TimelineRecorder> timeline;
  FanoutSink sinks;  // the Chrome trace and the timeline, when both are wanted
};

// Opens every output file asked for and wires its sink into `options`; false (after saying why)
// when one cannot be written or the arguments do not go together.
bool open_outputs(const Args& args, const scenarios::Scenario& scenario, scenarios::RunOptions& options, Outputs& out) {
  if (!args.trace.empty()) {
    out.trace_file.open(args.trace);
    if (!out.trace_file) {
      std::cerr << "keel run: cannot write trace file '" << args.trace << "'\n";
      return false;
    }
    options.trace = &out.trace_file;
  }
  if (!args.chrome_trace.empty()) {
    out.chrome_file.open(args.chrome_trace);
    if (!out.chrome_file) {
      std::cerr << "keel run: cannot write Chrome trace file '" << args.chrome_trace << "'\n";
      return false;
    }
    out.chrome.emplace(out.chrome_file);
    out.chrome->add_faults(scenario);
    options.extra_sink = &*out.chrome;
  }
  if (!args.report_data.empty()) {
    if (args.live) {
      std::cerr << "keel run: --report-data needs a simulated run (not --live)\n";
      return false;
    }
    out.report_data_file.open(args.report_data);
    if (!out.report_data_file) {
      std::cerr << "keel run: cannot write report data file '" << args.report_data << "'\n";
      return false;
    }
    const bool breakers = scenarios::resolve_runtime(scenario, options.preset).manager.breaker.has_value();
    out.timeline.emplace(scenario, breakers);
    out.sinks.add(options.extra_sink);
    out.sinks.add(&*out.timeline);
    options.extra_sink = &out.sinks;
  }
  if (!args.live && (args.stream || args.time_scale != 1.0)) {
    std::cerr << "keel run: --time-scale and --stream need --live\n";
    return false;
  }
  return true;
}

// Completes the Chrome trace and writes the report data; false when the data file failed.
bool finish_outputs(const Args& args, const scenarios::RunReport& report, Outputs& out) {
  if (out.chrome) out.chrome->finish(TimePoint{report.virtual_end});
  if (!out.timeline) return true;
  out.report_data_file << scenarios::report_data(report, out.timeline->to_json(report.virtual_end))
                                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                         << "\n";
  out.report_data_file.close();
  if (!out.report_data_file) {
    std::cerr << "keel run: cannot write report data file '" << args.report_data << "'\n";
    return false;
  }
  return true;
}

}  // namespace

Command add_run(CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("run", "Run a scenario on the simulator (or --live, over HTTP) and check its expectations");
  cmd->add_option("file", args->file, "Scenario file (JSON)")->required();
  cmd->add_option("--seed", args->seed, "Seed (default: the scenario's)")->check(unsigned_integer());
  add_preset_option(cmd, args->preset);
  cmd->add_flag("--json", args->json, "Print the report as one JSON object");
  cmd->add_option("--trace", args->trace, "Write the JSON-lines event trace to this file");
  cmd->add_option("--chrome-trace", args->chrome_trace,
                  "Write a Chrome trace-event JSON file (open it in ui.perfetto.dev or chrome://tracing)");
  cmd->add_option("--report-data", args->report_data,
                  "Write the report JSON plus the run's time series to this file (the input of `keel report`)");
  cmd->add_flag("--live", args->live,
                "Run in real time over HTTP against an in-process `keel serve` of the scenario (loopback)");
  cmd->add_option("--time-scale", args->time_scale,
                  "With --live: real seconds per scenario second (e.g. 0.01 runs 100x faster)")
      ->check(CLI::Range(1e-6, 1e6));
  cmd->add_flag("--stream", args->stream, "With --live: every model request streams (SSE)");
  cmd->footer("Exit status: 0 every expectation holds (a scenario without expectations passes; its verdict says so),\n"
              "1 some expectation failed, 2 invalid file or arguments (with --json, {\"valid\": false, \"errors\": [...]}\n"
              "on stdout), 3 internal error.");
  return [cmd, args]() -> int {
    if (!cmd->parsed()) return -1;
    auto scenario = load_or_report(args->file, args->json);
    if (!scenario) return kExitInvalid;
    scenarios::RunOptions options{.seed = args->seed, .preset = parse_preset(args->preset)};
    Outputs outputs;
    if (!open_outputs(*args, *scenario, options, outputs)) return kExitInvalid;
    Result<scenarios::RunReport> report =
        args->live ? live::serve::run_scenario_live(*scenario, options, {.time_scale = args->time_scale, .stream = args->stream})
                   : scenarios::run_scenario(*scenario, options);
    if (!report) {
      std::cerr << "keel run: " << args->file << ": " << report.error().describe() << "\n";
      return kExitInternal;
    }
    if (!finish_outputs(*args, *report, outputs)) return kExitInternal;
    if (args->json) {
      std::cout << scenarios::to_json(*report).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      print_report(std::cout, *report);
    }
    return report->passed ? kExitOk : kExitFailed;
  };
}

}  // namespace keel::cli
