// cli/replay.h — the exact `keel run` command line that replays one run.
//
// Purpose: every failure keel prints comes with the command that reproduces it bit for bit
// (same file, seed and preset give the same trace). Paths are shell-quoted when needed.
//
// Example:
//   replay_command("suite/a b.json", 17, Preset::camel_parity)
//     == "keel run 'suite/a b.json' --seed 17 --preset camel_parity"
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "keel/scenarios/scenario.h"

namespace keel::cli {

// `s` unchanged if it only has shell-safe characters, else in single quotes (POSIX sh).
std::string shell_quote(std::string_view s);
std::string replay_command(std::string_view file, std::uint64_t seed, scenarios::Preset preset);

}  // namespace keel::cli
