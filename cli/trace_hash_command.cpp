// `keel trace-hash FILE`: recompute the trace hash of a JSON-lines trace written by
// `keel run --trace`, to check a kept trace against the hash printed with it; exit 0, or 2 for
// an unreadable or malformed file (the line is named).
#include <fstream>
#include <iostream>

#include "commands.h"
#include "keel/core/trace_writer.h"
#include "keel/scenarios/trace_file.h"

namespace keel::cli {

Command add_trace_hash(CLI::App& app) {
  struct Args {
    std::string file;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("trace-hash", "Recompute the trace hash of a JSON-lines trace (keel run --trace)");
  cmd->add_option("file", args->file, "Trace file (JSON lines)")->required();
  cmd->add_flag("--json", args->json, "Print {\"trace_hash\", \"trace_events\"} as one JSON object");
  cmd->footer("Exit status: 0 ok, 2 a missing file or a line that is not a trace event, 3 internal error.");
  return [cmd, args]() -> int {
    if (!cmd->parsed()) return -1;
    std::ifstream in{args->file, std::ios::binary};
    if (!in) {
      std::cerr << "keel trace-hash: cannot open " << args->file << "\n";
      return kExitInvalid;
    }
    const Result<scenarios::TraceFileHash> h = scenarios::hash_trace_file(in);
    if (!h) {
      std::cerr << "keel trace-hash: " << args->file << ": " << h.error().message << "\n";
      return kExitInvalid;
    }
    if (args->json) {
      std::cout << "{\"trace_hash\":\"" << to_hex16(h->hash) << "\",\"trace_events\":" << h->events << "}\n";
    } else {
      std::cout << to_hex16(h->hash) << "  " << h->events << " events  " << args->file << "\n";
    }
    return kExitOk;
  };
}

}  // namespace keel::cli
