#include "replay.h"

#include <algorithm>

namespace keel::cli {

std::string shell_quote(std::string_view s) {
  const bool safe = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view{"_-./:=@%+,"}.find(c) != std::string_view::npos;
  });
  if (safe) return std::string{s};
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::string replay_command(std::string_view file, std::uint64_t seed, scenarios::Preset preset) {
  return "keel run " + shell_quote(file) + " --seed " + std::to_string(seed) + " --preset " +
         std::string(scenarios::to_string(preset));
}

}  // namespace keel::cli
