// cli/commands.h — the `keel` subcommands. Each registers itself on the CLI11 app and returns
// the exit status when run: 0 ok, 1 expectations failed, 2 invalid input or arguments,
// 3 internal error (SCENARIO-FORMAT.md, "keel run output").
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace keel::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitInvalid = 2;
inline constexpr int kExitInternal = 3;

// Adds a subcommand; the returned function runs it after parsing.
using Command = std::function<int()>;
Command add_demo(CLI::App& app);
Command add_run(CLI::App& app);
Command add_validate(CLI::App& app);
Command add_explore(CLI::App& app);
Command add_shrink(CLI::App& app);
Command add_conformance(CLI::App& app);
Command add_serve(CLI::App& app);
Command add_trace_hash(CLI::App& app);
Command add_recovery(CLI::App& app);
Command add_report(CLI::App& app);

}  // namespace keel::cli
