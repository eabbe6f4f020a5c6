#include "shard.h"

#include <charconv>

namespace keel::cli {
namespace {

std::optional<std::uint64_t> parse_positive(std::string_view s) {
  if (s.empty() || s.front() < '0' || s.front() > '9') return std::nullopt;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<Shard> parse_shard(std::string_view text, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<Shard> {
    if (error) *error = "expected K/N with integers 1 <= K <= N (e.g. 2/4), found \"" + std::string(text) + "\": " + why;
    return std::nullopt;
  };
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return fail("no '/'");
  const std::optional<std::uint64_t> k = parse_positive(text.substr(0, slash));
  const std::optional<std::uint64_t> n = parse_positive(text.substr(slash + 1));
  if (!k || !n) return fail("K and N must be decimal integers");
  if (*n < 1) return fail("N must be at least 1");
  if (*k < 1) return fail("K must be at least 1 (shards are numbered from 1)");
  if (*k > *n) return fail("K must not exceed N");
  return Shard{*k, *n};
}

void add_shard_option(CLI::App* cmd, std::optional<Shard>& shard) {
  cmd->add_option_function<std::string>(
         "--shard",
         [&shard](const std::string& value) {
           std::string error;
           shard = parse_shard(value, &error);
           if (!shard) throw CLI::ValidationError("--shard", error);
         },
         "Run only shard K of N (1 <= K <= N): item i of the full list belongs to shard (i mod N) + 1")
      ->type_name("K/N");
}

}  // namespace keel::cli
