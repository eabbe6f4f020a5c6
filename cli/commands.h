// cli/commands.h — the `keel` subcommands. Each registers itself on the CLI11 app and returns
// the exit status when run: 0 ok, 1 expectations failed, 2 invalid input or arguments,
// 3 internal error (scenarios/FORMAT.md, "keel run output").
#pragma once

#include <charconv>
#include <cstdint>
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace keel::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitInvalid = 2;
inline constexpr int kExitInternal = 3;

// For every unsigned option: CLI11 alone reads "-1" into a std::uint64_t as
// 18446744073709551615. Accepts decimal digits that fit 64 bits, nothing else.
inline CLI::Validator unsigned_integer() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        std::uint64_t v = 0;
        const char* end = s.data() + s.size();
        const auto [p, ec] = std::from_chars(s.data(), end, v);
        if (s.empty() || ec != std::errc{} || p != end) return "expected a whole number in 0..18446744073709551615, found \"" + s + "\"";
        return {};
      },
      "UINT");
}

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
Command add_call(CLI::App& app);
Command add_config(CLI::App& app);

}  // namespace keel::cli
