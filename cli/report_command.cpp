// `keel report RUN.json|FILE -o report.html`: one run as a self-contained HTML page.
#include <fstream>
#include <iostream>

#include "commands.h"
#include "keel/scenarios/report_page.h"
#include "scenario_args.h"

namespace keel::cli {

Command add_report(CLI::App& app) {
  struct Args {
    std::string input;
    std::string output;
    std::optional<std::uint64_t> seed;
    std::string preset;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "report", "Draw one run as a self-contained HTML page: a scenario FILE (run on the simulator) or a RUN.json "
                "written by `keel run FILE --report-data RUN.json`");
  cmd->add_option("input", args->input, "Scenario file, or report data from `keel run --report-data`")->required();
  cmd->add_option("-o,--output", args->output, "Write the page to this file")->required();
  cmd->add_option("--seed", args->seed, "Seed (scenario files only; default: the scenario's)")->check(unsigned_integer());
  add_preset_option(cmd, args->preset);
  cmd->footer("Exit status: 0 the page was written, 2 invalid input or arguments or an unwritable output, 3 internal error.");
  return [cmd, args]() -> int {
    if (!cmd->parsed()) return -1;
    const scenarios::ReportPage page =
        scenarios::report_page_from_file(args->input, args->seed, parse_preset(args->preset));
    if (!page.html) {
      std::cerr << page.describe();
      return page.internal ? kExitInternal : kExitInvalid;
    }
    std::ofstream out{args->output, std::ios::binary};
    out << *page.html;
    out.close();
    if (!out) {
      std::cerr << "keel report: cannot write '" << args->output << "'\n";
      return kExitInvalid;
    }
    return kExitOk;
  };
}

}  // namespace keel::cli
