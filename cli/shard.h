// cli/shard.h — `--shard K/N`: split a list of runs into N disjoint parts, take part K.
//
// Purpose: let CI matrices and job runners (a GitHub Actions matrix, a Kubernetes indexed job)
// split one large sweep (`keel explore`, `keel conformance`) across machines with no overlap
// and nothing missed.
//
// Contract:
//  - K and N are integers with 1 <= K <= N; anything else ("0/3", "4/3", "2", "a/b", "1/0",
//    "+1/2", " 1/2") is rejected by the option's validator with a message saying so.
//  - Item i (0-based position in the full, ordered list) belongs to shard (i mod N) + 1, so the
//    N shards partition the list exactly; round-robin keeps the shards' sizes within one of
//    each other and spreads slow neighbours (adjacent seeds, similar scenarios) apart.
//
// Example:
//   std::optional<Shard> shard;
//   add_shard_option(cmd, shard);                 // --shard 2/4
//   for (std::uint64_t i = 0; i < n; ++i) if (!shard || shard->owns(i)) run(i);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace keel::cli {

struct Shard {
  std::uint64_t index = 1;  // K, 1-based
  std::uint64_t count = 1;  // N
  bool owns(std::uint64_t position) const noexcept { return position % count == index - 1; }
  std::string to_string() const { return std::to_string(index) + "/" + std::to_string(count); }
};

// "K/N" with 1 <= K <= N, or nullopt with `error` set (when given).
std::optional<Shard> parse_shard(std::string_view text, std::string* error = nullptr);

// Adds `--shard K/N` to `cmd`; a malformed value is a parse error (exit status 2).
void add_shard_option(CLI::App* cmd, std::optional<Shard>& shard);

}  // namespace keel::cli
